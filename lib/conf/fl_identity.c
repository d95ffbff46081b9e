/* fl_identity: the OneGate identity from the environment, a context file or its header
 * lines, and the token file. */
#include "fl_identity.h"

#include "fl_buf.h"
#include "fl_ctxfile.h"
#include "fl_fs.h"

#include <stdlib.h>
#include <string.h>

#define TOKEN_FILE_MAX ((size_t)64 * 1024)

static const char *const header_names[] = {"TOKENTXT", "VMID", "ONEGATE_ENDPOINT"};

/* Values may span lines in a context file; an identity is one line. */
static char *first_line(const char *s, size_t len)
{
	size_t n = 0;
	while (n < len && s[n] != '\n' && s[n] != '\r')
		n++;
	return fl_xstrndup(s, n);
}

/* The value of the last NAME=value of envp, or NULL. */
static const char *env_get(char **envp, const char *name)
{
	const char *found = NULL;
	size_t n = strlen(name);
	for (char **p = envp; p && *p; p++)
		if (strncmp(*p, name, n) == 0 && (*p)[n] == '=')
			found = *p + n + 1;
	return found;
}

static void take(char **slot, const char *v)
{
	if (!*slot && v && *v)
		*slot = first_line(v, strlen(v));
}

/* The environment overlays the file: each layer for every name before the next layer. */
static void from_layers(struct fl_identity *id, const struct fl_identity_src *s)
{
	static const struct {
		const char *names[2];
		size_t off;
	} ids[] = {
	    {{"TOKENTXT", "ONEGATE_TOKEN"}, offsetof(struct fl_identity, token)},
	    {{"VMID", NULL}, offsetof(struct fl_identity, vmid)},
	    {{"ONEGATE_ENDPOINT", NULL}, offsetof(struct fl_identity, endpoint)},
	};
	for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
		char **slot = (char **)((char *)id + ids[i].off);
		for (int k = 0; k < 2 && ids[i].names[k]; k++)
			take(slot, env_get(s->envp, ids[i].names[k]));
		for (int k = 0; k < 2 && ids[i].names[k] && s->file; k++)
			take(slot, fl_kvlist_get(s->file, ids[i].names[k]));
	}
}

/* The token file's first line, when it is not empty. */
static int read_token(struct fl_identity *id, const char *path, struct fl_err *e)
{
	char *buf;
	size_t len;
	if (fl_fs_read(path, TOKEN_FILE_MAX, &buf, &len, e) < 0)
		return -1;
	if (!id->token && len && buf[0] != '\n' && buf[0] != '\r')
		id->token = first_line(buf, len);
	explicit_bzero(buf, len);
	free(buf);
	return 0;
}

static void from_header(struct fl_identity *id, const char *path)
{
	char *buf;
	size_t len;
	if (fl_fs_read(path, FL_CTXFILE_MAX_BYTES, &buf, &len, NULL) < 0)
		return;
	fl_identity_read_header(id, buf, len);
	explicit_bzero(buf, len);
	free(buf);
}

static int check_complete(const struct fl_identity *id, const struct fl_identity_src *s, struct fl_err *e)
{
	const char *where = s->one_env ? s->one_env : "one_env";
	if (!id->endpoint)
		return fl_err_set(e, FL_EXIT_UNAVAILABLE,
		                  "ONEGATE_ENDPOINT not configured: set TOKEN=YES in the VM context (or "
		                  "export ONEGATE_ENDPOINT)");
	if (!id->vmid)
		return fl_err_set(e, FL_EXIT_UNAVAILABLE, "VMID not found in the environment or %s", where);
	if (!id->token)
		return fl_err_set(e, FL_EXIT_UNAVAILABLE,
		                  "no OneGate token: TOKENTXT is not in %s and %s is unreadable; set "
		                  "TOKEN=YES in the VM context",
		                  where, s->token_file ? s->token_file : "token.txt");
	return 0;
}

int fl_identity_load(struct fl_identity *id, const struct fl_identity_src *s, struct fl_err *e)
{
	from_layers(id, s);
	if (s->one_env)
		from_header(id, s->one_env);
	if (s->token_file && s->token_file_first) {
		struct fl_identity t = {0};
		if (read_token(&t, s->token_file, e) < 0)
			return -1;
		if (id->token)
			explicit_bzero(id->token, strlen(id->token));
		free(id->token);
		id->token = t.token;
	} else if (s->token_file && !id->token) {
		(void)read_token(id, s->token_file, NULL);
	}
	return s->complete ? check_complete(id, s, e) : 0;
}

/* The index in header_names of the name `export NAME="value"` assigns in [q, eol), or -1. */
static int header_name(const char *q, const char *eol)
{
	if ((size_t)(eol - q) < 7 || memcmp(q, "export ", 7) != 0)
		return -1;
	q += 7;
	for (int k = 0; k < 3; k++) {
		size_t n = strlen(header_names[k]);
		if ((size_t)(eol - q) >= n + 3 && memcmp(q, header_names[k], n) == 0 && q[n] == '=' &&
		    q[n + 1] == '"' && eol[-1] == '"')
			return k;
	}
	return -1;
}

void fl_identity_read_header(struct fl_identity *id, const char *buf, size_t len)
{
	char **slots[] = {&id->token, &id->vmid, &id->endpoint};
	const char *p = buf, *end = buf + len;
	for (int line = 0; line < 3 && p < end; line++) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl : end;
		int k = header_name(p, eol);
		if (k < 0)
			break;
		const char *v = p + 7 + strlen(header_names[k]) + 2;
		size_t vn = (size_t)(eol - 1 - v);
		p = nl ? nl + 1 : end;
		/* A NUL would cut the value short (or to nothing): such a line is not a value. */
		if (vn && !memchr(v, '"', vn) && !memchr(v, '\0', vn) && !*slots[k])
			*slots[k] = fl_xstrndup(v, vn);
	}
}

void fl_identity_free(struct fl_identity *id)
{
	if (id->token)
		explicit_bzero(id->token, strlen(id->token));
	free(id->token);
	free(id->vmid);
	free(id->endpoint);
	memset(id, 0, sizeof *id);
}
