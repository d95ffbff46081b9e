/* test_identity: the OneGate identity comes from the environment, the one_env header lines
 * only, then token.txt; a broken value later in one_env must not hide it. */
#include "fl_ctx.h"
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char dir[] = "/tmp/fl-identity-XXXXXX";

static const char *write_file(const char *name, const char *content)
{
	static char path[256];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	fputs(content, f);
	fclose(f);
	return path;
}

int main(void)
{
	if (!mkdtemp(dir))
		return 1;
	struct fl_identity id;
	struct fl_err e = {0};
	char *path = strdup(write_file("one_env", "export TOKENTXT=\"tok+/==\"\n"
	                                          "export VMID=\"12\"\n"
	                                          "export ONEGATE_ENDPOINT=\"http://169.254.16.9:5030\"\n"
	                                          "export BROKEN=\"never closed\n"
	                                          "export SET_HOSTNAME=\"\"web\"\"\n"
	                                          "export VMID=\"99\n"));

	CHECK(fl_identity_load(&id, path, NULL, NULL, &e) == 0,
	      "header of a one_env with a broken value later");
	CHECK_STR(id.token, "tok+/==", "token from TOKENTXT");
	CHECK_STR(id.vmid, "12", "VMID from the header, not a later line");
	CHECK_STR(id.endpoint, "http://169.254.16.9:5030", "endpoint from the header");
	fl_identity_free(&id);

	char *envp[] = {"VMID=7", "ONEGATE_TOKEN=envtok", "PATH=/bin", NULL};
	CHECK(fl_identity_load(&id, path, NULL, envp, &e) == 0, "environment and header combined");
	CHECK_STR(id.vmid, "7", "environment VMID overrides the file");
	CHECK_STR(id.token, "envtok", "ONEGATE_TOKEN from the environment");
	CHECK_STR(id.endpoint, "http://169.254.16.9:5030", "endpoint still from the file");
	fl_identity_free(&id);

	char *tokfile = strdup(write_file("token.txt", "filetok\n"));
	char *noheader = strdup(write_file("noheader", "export SOMETHING=\"x\"\nexport TOKENTXT=\"late\"\n"));
	char *envp2[] = {"VMID=3", "ONEGATE_ENDPOINT=http://127.0.0.1:5030", NULL};
	CHECK(fl_identity_load(&id, noheader, tokfile, envp2, &e) == 0,
	      "token file when one_env has no header");
	CHECK_STR(id.token, "filetok", "token.txt, trailing newline stripped");
	fl_identity_free(&id);

	char *envp3[] = {"VMID=3", NULL};
	CHECK(fl_identity_load(&id, "/nonexistent/one_env", NULL, envp3, &e) < 0,
	      "no endpoint anywhere fails");
	CHECK_INT(e.code, FL_EXIT_UNAVAILABLE, "missing endpoint is 'service unavailable' (3)");
	CHECK(strstr(e.msg, "ONEGATE_ENDPOINT") != NULL, "message names ONEGATE_ENDPOINT");
	fl_identity_free(&id);

	char *envp4[] = {"VMID=3", "ONEGATE_ENDPOINT=http://127.0.0.1:5030", NULL};
	CHECK(fl_identity_load(&id, NULL, "/nonexistent/token.txt", envp4, &e) < 0,
	      "no token anywhere fails");
	CHECK(strstr(e.msg, "token") != NULL, "message says the token is missing");
	fl_identity_free(&id);

	free(path);
	free(tokfile);
	free(noheader);
	static const char *const files[] = {"one_env", "token.txt", "noheader"};
	for (size_t i = 0; i < 3; i++) {
		char p[300];
		snprintf(p, sizeof p, "%s/%s", dir, files[i]);
		unlink(p);
	}
	rmdir(dir);
	return unit_done();
}
