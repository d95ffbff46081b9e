/* test_identity: the OneGate identity comes from the environment, a parsed context file or
 * only the one_env header lines, then token.txt; a broken value later in one_env must not
 * hide it. */
#include "fl_ctxfile.h"
#include "fl_identity.h"
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TOKEN "McCWcjnbYN559FvF4X/TKQ=="

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

static void test_header(void)
{
	static const char env[] = "export TOKENTXT=\"" TOKEN "\"\nexport VMID=\"12\"\n"
	                          "export ONEGATE_ENDPOINT=\"http://169.254.16.9:5030\"\n"
	                          "export BROKEN=\"say \"hi\"\nexport X=\"$(id)\"\n";
	struct fl_identity id = {0};
	fl_identity_read_header(&id, env, sizeof env - 1);
	CHECK_STR(id.token, TOKEN, "one_env header: TOKENTXT from line 1");
	CHECK_STR(id.vmid, "12", "one_env header: VMID from line 2");
	CHECK_STR(id.endpoint, "http://169.254.16.9:5030", "one_env header: ONEGATE_ENDPOINT from line 3");
	fl_identity_free(&id);
	static const char quoted[] = "export VMID=\"1\"2\"\nexport TOKENTXT=\"x\"";
	fl_identity_read_header(&id, quoted, sizeof quoted - 1);
	CHECK(id.vmid == NULL && id.token && strcmp(id.token, "x") == 0,
	      "one_env header: a value with a quote inside is not taken");
	fl_identity_free(&id);
	static const char other[] = "export SOMETHING=\"x\"\nexport TOKENTXT=\"late\"\n";
	fl_identity_read_header(&id, other, sizeof other - 1);
	CHECK(id.token == NULL, "one_env header: ends at the first line that is not the identity");
	static const char empty[] = "export VMID=\"\"\nexport VMID=\"4\"\n";
	fl_identity_read_header(&id, empty, sizeof empty - 1);
	CHECK_STR(id.vmid, "4", "one_env header: an empty value is unset");
	fl_identity_free(&id);
	/* Found by fuzz_onegate: NUL bytes inside the quotes made an empty VMID. */
	static const char nul[] = "export VMID=\"\0\0\0\x80"
	                          "06\"\nexport VMID=\"5\"\n";
	fl_identity_read_header(&id, nul, sizeof nul - 1);
	CHECK_STR(id.vmid, "5", "one_env header: a value with a NUL byte is not taken");
	fl_identity_free(&id);
}

static void test_file_and_token_file(const char *tokfile)
{
	struct fl_kvlist file = FL_KVLIST_INIT;
	struct fl_err e = {0};
	static const char ctx[] = "export TOKENTXT=\"filetoken\nsecond line\"\nexport VMID=\"5\"\n"
	                          "export ONEGATE_ENDPOINT=\"http://10.0.0.1:5030\"\nexport VMID=\"6\"\n";
	CHECK(fl_ctxfile_parse(ctx, sizeof ctx - 1, "ctx", &file, &e) == 0, "context parses: %s", e.msg);
	char *envp[] = {"ONEGATE_ENDPOINT=http://127.0.0.1:5030", NULL};
	struct fl_identity id = {0};
	struct fl_identity_src s = {envp, &file, NULL, "/nonexistent/token.txt", false, true};
	CHECK(fl_identity_load(&id, &s, &e) == 0, "context file and environment: %s", e.msg);
	CHECK_STR(id.token, "filetoken", "token: the first line of a value spanning lines");
	CHECK_STR(id.vmid, "6", "VMID: the file's last assignment");
	CHECK_STR(id.endpoint, "http://127.0.0.1:5030", "the environment overlays the file");
	fl_identity_free(&id);

	s.token_file = tokfile;
	s.token_file_first = true;
	CHECK(fl_identity_load(&id, &s, &e) == 0, "a token file that replaces the token");
	CHECK_STR(id.token, "filetok", "token_file_first: the token file wins over the context");
	fl_identity_free(&id);

	s.token_file = "/nonexistent/token.txt";
	CHECK(fl_identity_load(&id, &s, &e) < 0, "token_file_first: an unreadable token file fails");
	CHECK_INT(e.code, FL_EXIT_FAIL, "an unreadable token file is a failure (1)");
	CHECK(strstr(e.msg, "/nonexistent/token.txt") != NULL, "the message names the token file");
	fl_identity_free(&id);

	s.complete = false;
	s.token_file_first = false;
	s.file = NULL;
	CHECK(fl_identity_load(&id, &s, &e) == 0 && id.endpoint && !id.vmid && !id.token,
	      "without complete, a partial identity is no failure");
	fl_identity_free(&id);
	fl_kvlist_free(&file);
}

static void test_one_env(const char *path, const char *tokfile, const char *noheader)
{
	struct fl_identity id = {0};
	struct fl_err e = {0};
	struct fl_identity_src s = {NULL, NULL, path, NULL, false, true};
	CHECK(fl_identity_load(&id, &s, &e) == 0, "header of a one_env with a broken value later");
	CHECK_STR(id.token, "tok+/==", "token from TOKENTXT");
	CHECK_STR(id.vmid, "12", "VMID from the header, not a later line");
	CHECK_STR(id.endpoint, "http://169.254.16.9:5030", "endpoint from the header");
	fl_identity_free(&id);

	char *envp[] = {"VMID=7", "ONEGATE_TOKEN=envtok", "PATH=/bin", NULL};
	s.envp = envp;
	CHECK(fl_identity_load(&id, &s, &e) == 0, "environment and header combined");
	CHECK_STR(id.vmid, "7", "environment VMID overrides the file");
	CHECK_STR(id.token, "envtok", "ONEGATE_TOKEN from the environment");
	CHECK_STR(id.endpoint, "http://169.254.16.9:5030", "endpoint still from the file");
	fl_identity_free(&id);

	char *envp2[] = {"VMID=3", "ONEGATE_ENDPOINT=http://127.0.0.1:5030", NULL};
	s = (struct fl_identity_src){envp2, NULL, noheader, tokfile, false, true};
	CHECK(fl_identity_load(&id, &s, &e) == 0, "token file when one_env has no header");
	CHECK_STR(id.token, "filetok", "token.txt, trailing newline stripped");
	fl_identity_free(&id);

	s = (struct fl_identity_src){NULL, NULL, path, tokfile, false, true};
	CHECK(fl_identity_load(&id, &s, &e) == 0, "header and token file");
	CHECK_STR(id.token, "tok+/==", "the header's token comes before token.txt");
	fl_identity_free(&id);

	char *envp3[] = {"VMID=3", NULL};
	s = (struct fl_identity_src){envp3, NULL, "/nonexistent/one_env", NULL, false, true};
	CHECK(fl_identity_load(&id, &s, &e) < 0, "no endpoint anywhere fails");
	CHECK_INT(e.code, FL_EXIT_UNAVAILABLE, "missing endpoint is 'service unavailable' (3)");
	CHECK(strstr(e.msg, "ONEGATE_ENDPOINT") != NULL, "message names ONEGATE_ENDPOINT");
	fl_identity_free(&id);

	s = (struct fl_identity_src){envp2, NULL, NULL, "/nonexistent/token.txt", false, true};
	CHECK(fl_identity_load(&id, &s, &e) < 0, "no token anywhere fails");
	CHECK(strstr(e.msg, "token") != NULL, "message says the token is missing");
	fl_identity_free(&id);
}

int main(void)
{
	if (!mkdtemp(dir))
		return 1;
	char *path = strdup(write_file("one_env", "export TOKENTXT=\"tok+/==\"\n"
	                                          "export VMID=\"12\"\n"
	                                          "export ONEGATE_ENDPOINT=\"http://169.254.16.9:5030\"\n"
	                                          "export BROKEN=\"never closed\n"
	                                          "export SET_HOSTNAME=\"\"web\"\"\n"
	                                          "export VMID=\"99\n"));
	char *tokfile = strdup(write_file("token.txt", "filetok\n"));
	char *noheader = strdup(write_file("noheader", "export SOMETHING=\"x\"\nexport TOKENTXT=\"late\"\n"));

	test_header();
	test_one_env(path, tokfile, noheader);
	test_file_and_token_file(tokfile);

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
