/* test_registry: the variable registry is consistent, and fl_ctx resolves and validates it end to
 * end from a context file and an explicit environment (never the real one). */
#include "fl_buf.h"
#include "fl_check.h"
#include "fl_ctx.h"
#include "fl_render.h"
#include "fl_validate.h"
#include "fl_var.h"
#include "unit.h"

#include <unistd.h>

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static unsigned count_sub(const char *s, const char *sub)
{
	unsigned n = 0;
	for (const char *p = s; (p = strstr(p, sub)) != NULL; p += strlen(sub))
		n++;
	return n;
}

static void test_registry(void)
{
	static const char *const types[] = {"text", "text64", "number", "number-float", "list", "boolean"};
	unsigned dup = 0, bad_msg = 0, bad_type = 0, bad_list = 0, bad_role = 0, bad_text = 0, bad_alias = 0;
	for (size_t i = 0; i < fl_nvars; i++) {
		const struct fl_var *v = &fl_vars[i];
		for (size_t k = i + 1; k < fl_nvars; k++)
			if (strcmp(v->name, fl_vars[k].name) == 0 && ++dup)
				DIAG("duplicate name %s", v->name);
		bool ssl = strncmp(v->name, "FL_SSL_", 7) == 0;
		unsigned n = count_sub(v->message, "{v}");
		if (ssl ? n != 0 : n != 1) {
			bad_msg++;
			DIAG("%s: message has {v} %u times: %s", v->name, n, v->message);
		}
		if ((v->flags & FL_VF_SECRET) && n) {
			bad_msg++;
			DIAG("%s: a secret whose message echoes the value", v->name);
		}
		bool known = false;
		for (size_t t = 0; t < NELEM(types); t++)
			known = known || strcmp(v->type, types[t]) == 0;
		if (!known && ++bad_type)
			DIAG("%s: type %s", v->name, v->type);
		if (strcmp(v->type, "list") == 0 &&
		    (!*v->options || v->check != FL_CK_ENUM || !fl_check_enum(v->options, v->def))) {
			bad_list++;
			DIAG("%s: list with options '%s' and default '%s'", v->name, v->options, v->def);
		}
		if (strcmp(v->type, "list") != 0 && *v->options && ++bad_list)
			DIAG("%s: options on a %s", v->name, v->type);
		if (!(v->roles & (FL_ROLE_SUPERLINK | FL_ROLE_SUPERNODE)) && ++bad_role)
			DIAG("%s: no superlink/supernode role", v->name);
		if ((!*v->label || !*v->doc || !*v->message || strchr(v->label, '|')) && ++bad_text)
			DIAG("%s: empty label/doc/message or '|' in the label", v->name);
		if (v->alias && (fl_var_find(v->alias) || strcmp(v->alias, v->name) == 0) && ++bad_alias)
			DIAG("%s: alias %s is also a variable name", v->name, v->alias);
		size_t nlen = strlen(v->name);
		if ((strspn(v->name, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") != nlen ||
		     nlen + 7 > FL_CTXFILE_MAX_NAME) &&
		    ++bad_text)
			DIAG("%s: not an upper-case context name", v->name);
	}
	CHECK(fl_nvars >= 40, "registry holds %zu variables", fl_nvars);
	CHECK(dup == 0, "registry: names are unique");
	CHECK(bad_msg == 0, "registry: each message has {v} once, FL_SSL_* and secrets never");
	CHECK(bad_type == 0, "registry: types are text, text64, number, number-float, list, boolean");
	CHECK(bad_list == 0, "registry: list types have options and their default is one of them");
	CHECK(bad_role == 0, "registry: every variable has the superlink or supernode role");
	CHECK(bad_text == 0, "registry: labels, docs and messages present; names upper-case");
	CHECK(bad_alias == 0, "registry: aliases do not collide with names");

	const struct fl_var *v = fl_var_find("FL_NUM_ROUNDS");
	CHECK(v && strcmp(v->name, "FL_NUM_ROUNDS") == 0 && &fl_vars[fl_var_index(v)] == v,
	      "fl_var_find / fl_var_index agree");
	CHECK(!fl_var_find("fl_num_rounds") && !fl_var_find("ONEAPP_FL_NUM_ROUNDS") && !fl_var_find("") &&
	          !fl_var_find("FL_NUM_ROUND") && !fl_var_find("FL_FRAMEWORK"),
	      "fl_var_find: exact registry names only");
	CHECK(fl_var_find("FL_SSL_KEYFILE") && (fl_var_find("FL_SSL_KEYFILE")->flags & FL_VF_SECRET),
	      "FL_SSL_KEYFILE is a secret");

	static const unsigned roles[] = {FL_ROLE_SUPERLINK, FL_ROLE_SUPERNODE, FL_ROLE_SERVICE};
	static const char *const names[] = {"superlink", "supernode", "service"};
	for (size_t i = 0; i < 3; i++)
		CHECK(strcmp(fl_var_role_name(roles[i]), names[i]) == 0 &&
		          fl_var_role_parse(names[i]) == roles[i],
		      "role %s round-trips", names[i]);
	CHECK(fl_var_role_parse("SUPERLINK") == 0 && fl_var_role_parse("") == 0 &&
	          fl_var_role_parse("superlinkx") == 0,
	      "fl_var_role_parse: unknown roles are 0");
	CHECK(strcmp(fl_var_role_name(FL_ROLE_SUPERLINK | FL_ROLE_SUPERNODE), "?") == 0,
	      "fl_var_role_name: a mask is '?'");
	/* The OneFlow service level is derived (the variables both roles read), never flagged. */
	static const char *const service_level[] = {"FLOWER_VERSION",
	                                            "FL_ISOLATION",
	                                            "FL_LOG_LEVEL",
	                                            "FL_GRPC_KEEPALIVE_TIME",
	                                            "FL_GRPC_KEEPALIVE_TIMEOUT",
	                                            "FL_LOG_FORMAT",
	                                            "FL_TLS_ENABLED",
	                                            "FL_SSL_CA_CERTFILE"};
	size_t nservice = 0, flagged = 0;
	for (size_t i = 0; i < fl_nvars; i++) {
		nservice += fl_render_service_level(&fl_vars[i]);
		flagged += (fl_vars[i].roles & FL_ROLE_SERVICE) != 0;
	}
	bool listed = nservice == NELEM(service_level);
	for (size_t i = 0; i < NELEM(service_level); i++)
		listed = listed && fl_render_service_level(fl_var_find(service_level[i]));
	CHECK(listed && flagged == 0, "service level: the %zu variables both roles read", nservice);
	CHECK(
	    fl_render_user_input_offered(fl_var_find("FL_SUPERLINK_ADDRESS"), FL_ROLE_SUPERNODE, false) &&
	        !fl_render_user_input_offered(fl_var_find("FL_SUPERLINK_ADDRESS"), FL_ROLE_SUPERNODE, true) &&
	        !fl_render_user_input_offered(fl_var_find("FL_SUPERLINK_ADDRESS"), FL_ROLE_SERVICE, false),
	    "user inputs: FL_SUPERLINK_ADDRESS standalone only");
}

/* ---- fl_ctx end to end ---- */

static char tmpdir[] = "/tmp/fl-registry-XXXXXX";

static char *write_tmp(const char *name, const char *text)
{
	char *path = NULL;
	if (asprintf(&path, "%s/%s", tmpdir, name) < 0)
		abort();
	FILE *f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
	return path;
}

/* Load with envp (NULL-terminated) and an optional context file text. */
static bool load(struct fl_ctx *c, const char *file, char **envp)
{
	struct fl_err e;
	char *path = file ? write_tmp("ctx", file) : NULL;
	struct fl_ctx_opts o = {path, NULL, envp};
	int r = fl_ctx_load(c, &o, &e);
	if (r < 0)
		DIAG("fl_ctx_load: %s", e.msg);
	if (path)
		unlink(path);
	free(path);
	return r == 0;
}

static bool setting_is(const struct fl_ctx *c, const char *name, const char *value, enum fl_src src,
                       const char *from)
{
	const struct fl_setting *s = fl_ctx_setting(c, name);
	bool ok = s && strcmp(s->value, value) == 0 && s->src == src && (!from || strcmp(s->from, from) == 0);
	if (!ok && s)
		DIAG("%s = '%s' from %s as %s", name, s->value, fl_ctx_src_name(s->src),
		     s->from ? s->from : "(null)");
	return ok;
}

static void test_precedence(void)
{
	struct fl_ctx c;
	char *e1[] = {"FL_NUM_ROUNDS=5", "ONEAPP_FL_NUM_ROUNDS=7", NULL};
	CHECK(load(&c, NULL, e1) && setting_is(&c, "FL_NUM_ROUNDS", "7", FL_SRC_ENV, "ONEAPP_FL_NUM_ROUNDS"),
	      "ONEAPP_ form wins over the plain name");
	fl_ctx_free(&c);
	char *e2[] = {"ONEAPP_FL_NUM_ROUNDS=7", "FL_NUM_ROUNDS=5", NULL};
	CHECK(load(&c, NULL, e2) && setting_is(&c, "FL_NUM_ROUNDS", "7", FL_SRC_ENV, "ONEAPP_FL_NUM_ROUNDS"),
	      "ONEAPP_ form wins whatever the order");
	fl_ctx_free(&c);
	char *e3[] = {"ONEAPP_FL_NUM_ROUNDS=", "FL_NUM_ROUNDS=5", NULL};
	CHECK(load(&c, NULL, e3) && setting_is(&c, "FL_NUM_ROUNDS", "5", FL_SRC_ENV, "FL_NUM_ROUNDS"),
	      "an empty ONEAPP_ value is unset: the plain name applies");
	fl_ctx_free(&c);
	char *e4[] = {"FL_NUM_ROUNDS=", "ONEAPP_FL_STRATEGY=", NULL};
	CHECK(load(&c, NULL, e4) && setting_is(&c, "FL_NUM_ROUNDS", "3", FL_SRC_DEFAULT, NULL) &&
	          setting_is(&c, "FL_STRATEGY", "FedAvg", FL_SRC_DEFAULT, NULL) &&
	          !c.conf.set[FLV_FL_NUM_ROUNDS],
	      "empty values are unset: defaults apply");
	fl_ctx_free(&c);
	char *e5[] = {"FL_NUM_ROUNDS=4", NULL};
	CHECK(load(&c, "FL_NUM_ROUNDS='9'\nFL_STRATEGY='Krum'\n", e5) &&
	          setting_is(&c, "FL_NUM_ROUNDS", "4", FL_SRC_ENV, "FL_NUM_ROUNDS") &&
	          setting_is(&c, "FL_STRATEGY", "Krum", FL_SRC_FILE, "FL_STRATEGY"),
	      "the environment overlays the context file");
	fl_ctx_free(&c);
	char *e6[] = {"FL_NUM_ROUNDS=4", NULL};
	CHECK(load(&c, "ONEAPP_FL_NUM_ROUNDS='9'\n", e6) &&
	          setting_is(&c, "FL_NUM_ROUNDS", "4", FL_SRC_ENV, NULL),
	      "the environment wins even over the file's ONEAPP_ form");
	fl_ctx_free(&c);
	char *e7[] = {"FL_NUM_ROUNDS=", NULL};
	CHECK(load(&c, "FL_NUM_ROUNDS='9'\n", e7) && setting_is(&c, "FL_NUM_ROUNDS", "9", FL_SRC_FILE, NULL),
	      "an empty environment value leaves the file's value");
	fl_ctx_free(&c);
	CHECK(load(&c, "FL_NUM_ROUNDS='9'\nFL_NUM_ROUNDS=''\n", NULL) &&
	          setting_is(&c, "FL_NUM_ROUNDS", "3", FL_SRC_DEFAULT, NULL),
	      "in the file the last assignment counts, empty included");
	fl_ctx_free(&c);
	CHECK(load(&c, "export FL_NUM_ROUNDS=\"6\"\nexport ONEAPP_FL_STRATEGY=\"FedProx\"\n", NULL) &&
	          setting_is(&c, "FL_NUM_ROUNDS", "6", FL_SRC_FILE, NULL) &&
	          setting_is(&c, "FL_STRATEGY", "FedProx", FL_SRC_FILE, "ONEAPP_FL_STRATEGY"),
	      "one_env values are read");
	fl_ctx_free(&c);

	char *a1[] = {"FL_FRAMEWORK=sklearn", NULL};
	CHECK(load(&c, NULL, a1) && setting_is(&c, "ML_FRAMEWORK", "sklearn", FL_SRC_ENV, "FL_FRAMEWORK") &&
	          c.unknown.n == 0,
	      "alias FL_FRAMEWORK sets ML_FRAMEWORK and is not unknown");
	fl_ctx_free(&c);
	char *a2[] = {"ONEAPP_FL_FRAMEWORK=tensorflow", NULL};
	CHECK(load(&c, NULL, a2) &&
	          setting_is(&c, "ML_FRAMEWORK", "tensorflow", FL_SRC_ENV, "ONEAPP_FL_FRAMEWORK"),
	      "alias in ONEAPP_ form");
	fl_ctx_free(&c);
	char *a3[] = {"FL_FRAMEWORK=sklearn", "ML_FRAMEWORK=tensorflow", NULL};
	CHECK(load(&c, NULL, a3) && setting_is(&c, "ML_FRAMEWORK", "tensorflow", FL_SRC_ENV, "ML_FRAMEWORK"),
	      "the registry name wins over its alias");
	fl_ctx_free(&c);

	static const struct {
		const char *env, *var, *want;
	} yn[] = {
	    {"FL_GPU_ENABLED=yes", "FL_GPU_ENABLED", "YES"},
	    {"FL_GPU_ENABLED=No", "FL_GPU_ENABLED", "NO"},
	    {"FL_TLS_ENABLED=yEs", "FL_TLS_ENABLED", "YES"},
	    {"ONEAPP_FL_TLS_ENABLED=no", "FL_TLS_ENABLED", "NO"},
	    {"FL_GPU_ENABLED=maybe", "FL_GPU_ENABLED", "maybe"},
	    {"FL_CHECKPOINT_ENABLED=yes", "FL_CHECKPOINT_ENABLED", "yes"},
	};
	for (size_t i = 0; i < NELEM(yn); i++) {
		char *env[] = {(char *)yn[i].env, NULL};
		CHECK(load(&c, NULL, env) && strcmp(fl_ctx_setting(&c, yn[i].var)->value, yn[i].want) == 0,
		      "%s reads as %s", yn[i].env, yn[i].want);
		fl_ctx_free(&c);
	}
	CHECK(load(&c, "FL_GPU_ENABLED='yes'\n", NULL) &&
	          setting_is(&c, "FL_GPU_ENABLED", "YES", FL_SRC_FILE, NULL),
	      "YES/NO normalisation applies to file values too");
	fl_ctx_free(&c);
	CHECK(load(&c, NULL, NULL) && fl_ctx_setting(&c, "FL_NO_SUCH") == NULL,
	      "fl_ctx_setting of an unknown name is NULL");
	fl_ctx_free(&c);
}

static bool unknown_has(const struct fl_ctx *c, const char *name, const char *where)
{
	for (size_t i = 0; i < c->unknown.n; i++)
		if (strcmp(c->unknown.v[i].name, name) == 0)
			return strcmp(c->unknown.v[i].value, where) == 0;
	return false;
}

static void test_unknown(void)
{
	struct fl_ctx c;
	char *env[] = {"FL_NUM_ROUND=5", "ONEAPP_FLOWER_FOO=1", "ML_THING=x",
	               "FL_READY=YES",   "ONEAPP_FL_NODE_ID=3", "PATH=/bin",
	               "HOME=/root",     "FL_NUM_ROUND=6",      "=x",
	               "NOEQUALS",       "ONEAPP_OTHER=1",      NULL};
	CHECK(load(&c, "FL_STRATEGI='Krum'\nFL_NUM_ROUND='1'\nDISK_ID='1'\nONEAPP_K8S_PORT='6443'\n", env),
	      "load with unknown names");
	CHECK(c.unknown.n == 4 && unknown_has(&c, "FL_NUM_ROUND", "context file") &&
	          unknown_has(&c, "FL_STRATEGI", "context file") &&
	          unknown_has(&c, "ONEAPP_FLOWER_FOO", "environment") &&
	          unknown_has(&c, "ML_THING", "environment"),
	      "unknown FL_/FLOWER_/ML_ names collected once each, with where they came from");
	CHECK(!unknown_has(&c, "FL_READY", "environment") &&
	          !unknown_has(&c, "ONEAPP_FL_NODE_ID", "environment"),
	      "published runtime attributes are not unknown");
	struct fl_diags d = FL_DIAGS_INIT;
	fl_validate_ctx(&c, FL_ROLE_SUPERLINK, &d);
	unsigned hint = 0, warn = 0;
	for (size_t i = 0; i < d.n; i++) {
		if (strstr(d.v[i].msg, "Unknown variable FL_NUM_ROUND ") &&
		    strstr(d.v[i].msg, "did you mean FL_NUM_ROUNDS?"))
			hint++;
		if (strstr(d.v[i].msg, "Unknown variable") && d.v[i].level == FL_WARN)
			warn++;
	}
	CHECK(hint == 1 && warn == 4 && d.errors == 0, "unknown names are warnings with a did-you-mean hint");
	fl_diags_free(&d);
	fl_ctx_free(&c);
}

static const char one_env_hdr[] = "export TOKENTXT=\"McCWcjnbYN559FvF4X/TKQ==\"\n"
                                  "export VMID=\"12\"\n"
                                  "export ONEGATE_ENDPOINT=\"http://169.254.16.9:5030\"\n"
                                  "export FL_NUM_ROUNDS=\"5\"\n"
                                  "export VMID=\"12\"\n";

static void test_identity(void)
{
	struct fl_ctx c;
	CHECK(load(&c, one_env_hdr, NULL) && c.id.token &&
	          strcmp(c.id.token, "McCWcjnbYN559FvF4X/TKQ==") == 0 && c.id.vmid &&
	          strcmp(c.id.vmid, "12") == 0 && c.id.endpoint &&
	          strcmp(c.id.endpoint, "http://169.254.16.9:5030") == 0,
	      "identity from the one_env header");
	fl_ctx_free(&c);
	char *env[] = {"VMID=99", "ONEGATE_ENDPOINT=http://gate:5030", "TOKENTXT=envtoken", NULL};
	CHECK(load(&c, one_env_hdr, env) && strcmp(c.id.vmid, "99") == 0 &&
	          strcmp(c.id.token, "envtoken") == 0 && strcmp(c.id.endpoint, "http://gate:5030") == 0,
	      "identity: the environment overlays the file");
	fl_ctx_free(&c);
	char *env2[] = {"VMID=", "ONEGATE_TOKEN=legacy", NULL};
	CHECK(load(&c, NULL, env2) && !c.id.vmid && c.id.token && strcmp(c.id.token, "legacy") == 0 &&
	          !c.id.endpoint,
	      "identity: empty VMID is unset; ONEGATE_TOKEN is read as the token");
	fl_ctx_free(&c);
	char *env3[] = {"TOKENTXT=a\nb", NULL};
	CHECK(load(&c, NULL, env3) && strcmp(c.id.token, "a") == 0,
	      "identity: only the first line of a value is used");
	fl_ctx_free(&c);

	char *tok = write_tmp("token.txt", "filetoken==\n");
	char *ctxp = write_tmp("one_env", "export VMID=\"7\"\nexport ONEGATE_ENDPOINT=\"http://x:5030\"\n");
	struct fl_ctx_opts o = {ctxp, tok, NULL};
	struct fl_err e;
	CHECK(fl_ctx_load(&c, &o, &e) == 0 && c.id.token && strcmp(c.id.token, "filetoken==") == 0 &&
	          strcmp(c.id.vmid, "7") == 0,
	      "identity: token.txt is read when there is no TOKENTXT");
	fl_ctx_free(&c);
	char *env4[] = {"TOKENTXT=envtoken", NULL};
	o.envp = env4;
	CHECK(fl_ctx_load(&c, &o, &e) == 0 && strcmp(c.id.token, "envtoken") == 0,
	      "identity: TOKENTXT wins over token.txt");
	fl_ctx_free(&c);
	o.envp = NULL;
	o.token_file = "/nonexistent/token.txt";
	CHECK(fl_ctx_load(&c, &o, &e) == 0 && !c.id.token, "identity: a missing token file leaves no token");
	fl_ctx_free(&c);
	unlink(tok);
	unlink(ctxp);
	free(tok);
	free(ctxp);

	o.path = "/nonexistent/one_env";
	o.token_file = NULL;
	CHECK(fl_ctx_load(&c, &o, &e) < 0 && strstr(e.msg, "/nonexistent/one_env"),
	      "fl_ctx_load: a missing context file is an error naming it");
	fl_ctx_free(&c);
	char *bad = write_tmp("bad", "A='unterminated\n");
	o.path = bad;
	CHECK(fl_ctx_load(&c, &o, &e) < 0 && strstr(e.msg, bad),
	      "fl_ctx_load: a malformed context file is an error");
	fl_ctx_free(&c);
	unlink(bad);
	free(bad);
}

struct vcase {
	unsigned role;
	const char *env[8];
	unsigned errors;
	const char *expect; /* a diagnostic that must appear, or NULL */
};

static bool has_diag(const struct fl_diags *d, const char *text)
{
	for (size_t i = 0; i < d->n; i++)
		if (strcmp(d->v[i].msg, text) == 0)
			return true;
	return false;
}

static void test_validate(void)
{
	const unsigned SL = FL_ROLE_SUPERLINK, SN = FL_ROLE_SUPERNODE;
	static const struct vcase t[] = {
	    {SL, {NULL}, 0, NULL},
	    {SN, {NULL}, 0, NULL},
	    {SL,
	     {"FL_STRATEGY=Krum", "FL_NUM_MALICIOUS=1", "FL_MIN_AVAILABLE_CLIENTS=2"},
	     1,
	     "Krum requires n >= 2*f+3 clients. FL_MIN_AVAILABLE_CLIENTS=2 but FL_NUM_MALICIOUS=1 requires n "
	     ">= 5."},
	    {SL, {"FL_STRATEGY=Krum", "FL_NUM_MALICIOUS=1"}, 1, NULL},
	    {SL, {"FL_STRATEGY=Krum", "FL_NUM_MALICIOUS=1", "FL_MIN_AVAILABLE_CLIENTS=5"}, 0, NULL},
	    {SL, {"FL_STRATEGY=Krum", "FL_NUM_MALICIOUS=0"}, 0, NULL},
	    {SL, {"FL_STRATEGY=Bulyan", "FL_NUM_MALICIOUS=1", "FL_MIN_AVAILABLE_CLIENTS=6"}, 1, NULL},
	    {SL, {"FL_STRATEGY=Bulyan", "FL_NUM_MALICIOUS=2", "FL_MIN_AVAILABLE_CLIENTS=11"}, 0, NULL},
	    {SL, {"FL_STRATEGY=Bulyan", "FL_NUM_MALICIOUS=2", "FL_MIN_AVAILABLE_CLIENTS=10"}, 1, NULL},
	    {SL, {"FL_STRATEGY=FedAvg", "FL_NUM_MALICIOUS=3"}, 0, NULL},
	    {SL,
	     {"FL_GRPC_KEEPALIVE_TIMEOUT=70"},
	     1,
	     "FL_GRPC_KEEPALIVE_TIMEOUT (70) must be less than FL_GRPC_KEEPALIVE_TIME (60)."},
	    {SN, {"FL_GRPC_KEEPALIVE_TIMEOUT=70"}, 1, NULL},
	    {SN, {"FL_GRPC_KEEPALIVE_TIMEOUT=70", "FL_GRPC_KEEPALIVE_TIME=80"}, 0, NULL},
	    {SL,
	     {"FL_STRATEGY=fedavg"},
	     1,
	     "Unknown FL_STRATEGY: 'fedavg'. Valid options: FedAvg, FedProx, FedAdam, Krum, Bulyan, "
	     "FedTrimmedAvg."},
	    {SL, {"FL_PROXIMAL_MU=0"}, 0, NULL},
	    {SL, {"FL_PROXIMAL_MU=1e-3"}, 1, "Invalid FL_PROXIMAL_MU: '1e-3'. Must be a non-negative float."},
	    {SL, {"FL_SERVER_LR=.0"}, 1, NULL},
	    {SL, {"FL_SERVER_LR=.5"}, 0, NULL},
	    {SL, {"FL_CLIENT_LR=1."}, 1, NULL},
	    {SL, {"FL_TRIM_BETA=0.5"}, 1, NULL},
	    {SL, {"FL_TRIM_BETA=0.49"}, 0, NULL},
	    {SL, {"FL_STRATEGY=FedAvg", "FL_TRIM_BETA=0.7"}, 1, NULL},
	    {SL, {"FL_NUM_MALICIOUS=1.5"}, 1, NULL},
	    {SL, {"FL_CHECKPOINT_ENABLED=yes"}, 1, NULL},
	    {SL, {"FL_CHECKPOINT_ENABLED=NO", "FL_CHECKPOINT_INTERVAL=abc"}, 0, NULL},
	    {SL, {"FL_CHECKPOINT_ENABLED=YES", "FL_CHECKPOINT_INTERVAL=05"}, 1, NULL},
	    {SL,
	     {"FL_STRATEGY=Krum", "FL_NUM_MALICIOUS=1", "FL_PROXIMAL_MU=-1", "FL_TRIM_BETA=0.7"},
	     3,
	     NULL},
	    {SN, {"ML_FRAMEWORK=jax"}, 1, NULL},
	    {SN,
	     {"FL_USE_CASE=llm-fine-tuning", "ML_FRAMEWORK=sklearn"},
	     1,
	     "FL_USE_CASE 'llm-fine-tuning' requires ML_FRAMEWORK 'pytorch', but ML_FRAMEWORK is set to "
	     "'sklearn'"},
	    {SN, {"FL_USE_CASE=anomaly-detection"}, 1, NULL},
	    {SN, {"FL_USE_CASE=image-classification", "ML_FRAMEWORK=tensorflow"}, 0, NULL},
	    {SN, {"FL_USE_CASE=Image-Classification"}, 1, NULL},
	    {SL, {"FL_FLEET_API_ADDRESS=0.0.0.0:9093"}, 1, NULL},
	    {SL, {"FL_METRICS_ENABLED=YES", "FL_METRICS_PORT=9092"}, 1, NULL},
	    {SL,
	     {"FL_METRICS_ENABLED=YES", "FL_METRICS_PORT=9200", "FL_FLEET_API_ADDRESS=[::]:9200"},
	     1,
	     NULL},
	    {SL, {"FL_TLS_ENABLED=yes", "FL_SSL_CERTFILE=Zm9v"}, 2, NULL},
	    {SN,
	     {"FL_NUM_ROUNDS=abc"},
	     0,
	     "FL_NUM_ROUNDS applies to the superlink role; ignored on supernode."},
	    {SN, {"FL_NODE_CONFIG=partition-id=1 num-partitions=1"}, 1, NULL},
	    {SN, {"FL_NODE_CONFIG=a=1 a=2 b=x;y c"}, 3, NULL},
	    {SN, {"FL_NODE_CONFIG=partition-id=0 num-partitions=2"}, 0, NULL},
	    {SL,
	     {"FL_CERT_EXTRA_SAN=IP:10.0.0.1, DNS:x.y ,bad"},
	     1,
	     "Invalid FL_CERT_EXTRA_SAN entry: 'bad'. Expected format: IP:<addr> or DNS:<name>."},
	    {SN, {"FL_GPU_ENABLED=maybe"}, 1, "Invalid FL_GPU_ENABLED: 'maybe'. Must be YES or NO."},
	    {SN, {"FL_SUPERLINK_ADDRESS=::1:9092"}, 1, NULL},
	    {SL, {"FL_DATABASE=/opt/flower/state.db"}, 1, NULL},
	    {SL,
	     {"FLOWER_VERSION=latest", "FL_NUM_ROUNDS=0", "FL_LOG_LEVEL=info", "FL_ISOLATION=thread"},
	     4,
	     NULL},
	    /* Cross-variable rules read the typed field of a value that passed its own rule only:
	     * a bad value is one error, never a second one from the default its field holds. */
	    {SL,
	     {"FL_STRATEGY=Krum", "FL_NUM_MALICIOUS=1", "FL_MIN_AVAILABLE_CLIENTS=two"},
	     1,
	     "Invalid FL_MIN_AVAILABLE_CLIENTS: 'two'. Must be a positive integer."},
	    {SL, {"FL_FLEET_API_ADDRESS=0.0.0.0:99999", "FL_CONTROL_API_ADDRESS=127.0.0.1:9092"}, 1, NULL},
	    {SL, {"FL_GRPC_KEEPALIVE_TIME=abc", "FL_GRPC_KEEPALIVE_TIMEOUT=70"}, 1, NULL},
	    {SN,
	     {"FL_GRPC_KEEPALIVE_TIME=5", "FL_GRPC_KEEPALIVE_TIMEOUT=2"},
	     0,
	     "FL_GRPC_KEEPALIVE_TIME=5 is aggressive and may cause excessive network traffic"},
	    {SN,
	     {"FL_GPU_ENABLED=YES", "FL_GPU_MEMORY_FRACTION=0.5", "ML_FRAMEWORK=PyTorch"},
	     1,
	     "FL_GPU_MEMORY_FRACTION ignored -- applies only to ML_FRAMEWORK=pytorch"},
	    {SN,
	     {"FL_EDGE_BACKOFF=fixed", "FL_EDGE_MAX_BACKOFF=60"},
	     0,
	     "FL_EDGE_MAX_BACKOFF ignored -- FL_EDGE_BACKOFF is fixed"},
	    {SL,
	     {"FL_STRATEGY=FedAvg", "FL_SERVER_LR=0.5"},
	     0,
	     "FL_SERVER_LR is set but FL_STRATEGY is 'FedAvg' (not FedAdam). Parameter will be ignored."},
	    {SL,
	     {"FL_STRATEGY=FedProx", "FL_PROXIMAL_MU=0.0"},
	     0,
	     "FL_PROXIMAL_MU=0.0 makes FedProx identical to FedAvg. Consider using FedAvg directly."},
	};
	for (size_t i = 0; i < NELEM(t); i++) {
		struct fl_ctx c;
		struct fl_buf label = FL_BUF_INIT;
		for (size_t k = 0; t[i].env[k]; k++)
			fl_buf_addf(&label, "%s%s", k ? " " : "", t[i].env[k]);
		if (!label.len)
			fl_buf_adds(&label, "(nothing)");
		if (!CHECK(load(&c, NULL, (char **)t[i].env), "load %s", label.data)) {
			fl_buf_free(&label);
			continue;
		}
		struct fl_diags d = FL_DIAGS_INIT;
		unsigned n = fl_validate_ctx(&c, t[i].role, &d);
		if (!CHECK(n == t[i].errors && d.errors == n, "validate %s on %s: %u error(s)", label.data,
		           fl_var_role_name(t[i].role), t[i].errors))
			for (size_t k = 0; k < d.n; k++)
				DIAG("  [%s] %s", fl_log_level_name(d.v[k].level), d.v[k].msg);
		if (t[i].expect)
			CHECK(has_diag(&d, t[i].expect), "validate %s: says \"%s\"", label.data, t[i].expect);
		fl_diags_free(&d);
		fl_ctx_free(&c);
		fl_buf_free(&label);
	}

	/* Secrets never appear in diagnostics; long values are shortened. */
	struct fl_ctx c;
	char *sec[] = {"FL_TLS_ENABLED=YES",
	               "FL_SSL_KEYFILE=c2VjcmV0LWtleQ==", "FL_SSL_CA_CERTFILE=c2VjcmV0LWNh",
	               "FL_SSL_CERTFILE=c2VjcmV0LWNydA==", NULL};
	load(&c, NULL, sec);
	struct fl_diags d = FL_DIAGS_INIT;
	unsigned n = fl_validate_ctx(&c, FL_ROLE_SUPERLINK, &d);
	bool leak = false;
	for (size_t k = 0; k < d.n; k++)
		leak = leak || strstr(d.v[k].msg, "c2VjcmV0");
	CHECK(n == 3 && !leak, "invalid TLS material: 3 errors, no value echoed");
	fl_diags_free(&d);
	fl_ctx_free(&c);

	struct fl_buf big = FL_BUF_INIT;
	fl_buf_adds(&big, "FL_STRATEGY=");
	for (int i = 0; i < 1000; i++)
		fl_buf_addc(&big, 'x');
	char *longv[] = {big.data, NULL};
	load(&c, NULL, longv);
	n = fl_validate_ctx(&c, FL_ROLE_SUPERLINK, &d);
	CHECK(n == 1 && d.n >= 1 && strlen(d.v[0].msg) < 400 && strstr(d.v[0].msg, "(1000 bytes)"),
	      "a long bad value is shortened in the message");
	fl_diags_free(&d);
	fl_ctx_free(&c);
	fl_buf_free(&big);
}

/* fl_render_file output loads back as the same configuration, explicit values as set. */
static void test_render_roundtrip(void)
{
	struct fl_ctx c;
	char *env[] = {"FL_NUM_ROUNDS=5", "ONEAPP_FL_STRATEGY=FedProx", "FL_CERT_EXTRA_SAN=DNS:it's",
	               "FL_GPU_ENABLED=yes", NULL};
	load(&c, NULL, env);
	struct fl_buf out = FL_BUF_INIT;
	fl_render_file(&c, FL_ROLE_SUPERLINK, &out);
	fl_ctx_free(&c);
	char *path = write_tmp("rendered", out.data);
	struct fl_ctx_opts o = {path, NULL, NULL};
	struct fl_err e;
	CHECK(fl_ctx_load(&c, &o, &e) == 0 && c.rendered_role == FL_ROLE_SUPERLINK,
	      "a rendered file loads back");
	CHECK(setting_is(&c, "FL_NUM_ROUNDS", "5", FL_SRC_FILE, NULL) &&
	          setting_is(&c, "FL_STRATEGY", "FedProx", FL_SRC_FILE, NULL) &&
	          setting_is(&c, "FL_CERT_EXTRA_SAN", "DNS:it's", FL_SRC_FILE, NULL),
	      "rendered file: explicit values keep their source");
	CHECK(setting_is(&c, "FL_MIN_FIT_CLIENTS", "2", FL_SRC_DEFAULT, NULL) &&
	          setting_is(&c, "FL_SERVER_LR", "0.1", FL_SRC_DEFAULT, NULL) && c.unknown.n == 0,
	      "rendered file: defaults stay defaults");
	fl_ctx_free(&c);
	unlink(path);
	free(path);

	/* FL_STRATEGY must not be taken as explicit because FL_STRATEGYX is. */
	path = write_tmp("rendered2", "FLKIT_ROLE='superlink'\nFLKIT_EXPLICIT='FL_NUM_ROUNDSX XFL_STRATEGY'\n"
	                              "FL_NUM_ROUNDS='3'\nFL_STRATEGY='FedAvg'\n");
	o.path = path;
	CHECK(fl_ctx_load(&c, &o, &e) == 0 && !c.conf.set[FLV_FL_NUM_ROUNDS] && !c.conf.set[FLV_FL_STRATEGY],
	      "rendered file: FLKIT_EXPLICIT matches whole names");
	fl_ctx_free(&c);
	unlink(path);
	free(path);
	path = write_tmp("rendered3", "FLKIT_ROLE='both'\n");
	o.path = path;
	CHECK(fl_ctx_load(&c, &o, &e) < 0 && strstr(e.msg, "FLKIT_ROLE"),
	      "a rendered file with a bad FLKIT_ROLE");
	fl_ctx_free(&c);
	unlink(path);
	free(path);
	fl_buf_free(&out);
}

static void test_render(void)
{
	struct fl_ctx c;
	char *env[] = {NULL};
	load(&c, NULL, env);
	struct fl_buf out = FL_BUF_INIT;
	fl_render_run_config(&c, FL_FMT_TEXT, &out);
	CHECK_STR(out.data,
	          "strategy=\"FedAvg\" num-server-rounds=3 min-fit-clients=2 min-evaluate-clients=2 "
	          "min-available-clients=2\n",
	          "run-config of the defaults (03 §7.2)");
	fl_ctx_free(&c);
	fl_buf_reset(&out);
	char *env2[] = {"FL_STRATEGY=FedAdam", "FL_SERVER_LR=.5",           "FL_CLIENT_LR=1",
	                "FL_NUM_ROUNDS=05",    "FL_CHECKPOINT_ENABLED=YES", NULL};
	load(&c, NULL, env2);
	fl_render_run_config(&c, FL_FMT_TEXT, &out);
	CHECK_STR(out.data,
	          "strategy=\"FedAdam\" num-server-rounds=5 min-fit-clients=2 min-evaluate-clients=2 "
	          "min-available-clients=2 server-lr=0.5 client-lr=1.0 checkpoint-enabled=true "
	          "checkpoint-interval=5 "
	          "checkpoint-path=\"/app/checkpoints\"\n",
	          "run-config: FedAdam, checkpoints, numbers in TOML form");
	fl_buf_reset(&out);
	fl_render_run_config(&c, FL_FMT_TOML, &out);
	CHECK(strstr(out.data, "strategy = \"FedAdam\"\n") && strstr(out.data, "server-lr = 0.5\n"),
	      "run-config as a TOML file");
	fl_ctx_free(&c);
	fl_buf_reset(&out);
	fl_render_node_config(
	    "model-name=openlm-research/open_llama_3b quantization=4bit partition-id=0 lr=.5 x=true",
	    FL_FMT_TEXT, &out);
	CHECK_STR(out.data,
	          "model-name=\"openlm-research/open_llama_3b\" quantization=\"4bit\" partition-id=0 lr=0.5 "
	          "x=true\n",
	          "node-config values typed as TOML");
	fl_buf_free(&out);
}

/* The diagnostics list: levels kept in order, errors counted, freed to empty. */
static void test_diags(void)
{
	struct fl_diags d = FL_DIAGS_INIT;
	fl_diags_add(&d, FL_INFO, "note %d", 1);
	fl_diags_add(&d, FL_ERROR, "bad %s", "value");
	fl_diags_add(&d, FL_WARN, "careful");
	fl_diags_add(&d, FL_FATAL, "stop");
	CHECK(d.n == 4 && d.errors == 2, "4 diagnostics, 2 of them errors (ERROR and FATAL)");
	CHECK(d.v[0].level == FL_INFO && strcmp(d.v[0].msg, "note 1") == 0 && d.v[1].level == FL_ERROR &&
	          strcmp(d.v[1].msg, "bad value") == 0 && strcmp(d.v[2].msg, "careful") == 0,
	      "kept in order, formatted");
	for (int i = 0; i < 40; i++)
		fl_diags_add(&d, FL_DEBUG, "more %d", i);
	CHECK(d.n == 44 && strcmp(d.v[43].msg, "more 39") == 0, "the list grows past its first block");
	fl_diags_free(&d);
	CHECK(d.n == 0 && d.v == NULL && d.errors == 0, "freed: empty again");
}

int main(void)
{
	if (!mkdtemp(tmpdir))
		return 1;
	test_diags();
	test_registry();
	test_precedence();
	test_unknown();
	test_identity();
	test_validate();
	test_render_roundtrip();
	test_render();
	rmdir(tmpdir);
	return unit_done();
}
