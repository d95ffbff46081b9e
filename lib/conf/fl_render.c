/* fl_render: the resolved configuration written out: for people, for shells, for JSON
 * consumers, for Flower (run-config, node-config) and for OpenNebula (USER_INPUTS). */
#include "fl_render.h"

#include "fl_check.h"
#include "fl_flwrcfg.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

int fl_render_format_parse(const char *s)
{
	static const char *const names[] = {"text", "env", "shell", "json", "toml", "man", "block", "params"};
	for (int i = 0; i < (int)(sizeof names / sizeof names[0]); i++)
		if (strcmp(s, names[i]) == 0)
			return i;
	return -1;
}

static bool in_role(const struct fl_var *v, unsigned role)
{
	return role == 0 || (role == FL_ROLE_SERVICE ? fl_render_service_level(v) : (v->roles & role));
}

/* Valid UTF-8 copy (stray bytes become U+FFFD): jansson accepts only that. */
static char *utf8_clean(const char *s)
{
	struct fl_buf b = FL_BUF_INIT;
	for (const unsigned char *p = (const unsigned char *)s; *p;) {
		size_t n = fl_buf_utf8_seqlen(p);
		if (n == 0) {
			fl_buf_adds(&b, "\xef\xbf\xbd");
			p++;
		} else {
			fl_buf_add(&b, p, n);
			p += n;
		}
	}
	fl_buf_add(&b, "", 0);
	return b.data;
}

static const char *shown_value(const struct fl_var *v, const char *value, bool show_secrets, char *tmp,
                               size_t tmplen)
{
	if ((v->flags & FL_VF_SECRET) && !show_secrets && *value) {
		snprintf(tmp, tmplen, "<secret: %zu bytes>", strlen(value));
		return tmp;
	}
	return value;
}

void fl_render_show(const struct fl_ctx *c, unsigned role, enum fl_format f, bool show_secrets,
                    struct fl_buf *out)
{
	char tmp[64];
	if (f == FL_FMT_JSON) {
		json_t *root = json_object(), *vars = json_object();
		json_object_set_new(root, "role", role ? json_string(fl_var_role_name(role)) : json_null());
		json_object_set_new(root, "context", c->path ? json_string(c->path) : json_null());
		for (size_t i = 0; i < fl_nvars; i++) {
			const struct fl_var *v = &fl_vars[i];
			if (!in_role(v, role))
				continue;
			const struct fl_setting *s = &c->set[i];
			char *clean = utf8_clean(shown_value(v, s->value, show_secrets, tmp, sizeof tmp));
			json_t *o = json_object();
			json_object_set_new(o, "value", json_string(clean));
			json_object_set_new(o, "source", json_string(fl_ctx_src_name(s->src)));
			if (s->src != FL_SRC_DEFAULT)
				json_object_set_new(o, "name", json_string(s->from));
			json_object_set_new(vars, v->name, o);
			free(clean);
		}
		json_object_set_new(root, "variables", vars);
		char *txt = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		fl_buf_adds(out, txt);
		fl_buf_addc(out, '\n');
		free(txt);
		json_decref(root);
		return;
	}
	if (f == FL_FMT_TEXT) {
		if (c->path)
			fl_buf_addf(out, "# context: %s\n", c->path);
		fl_buf_addf(out, "%-26s %-11s %s\n", "NAME", "SOURCE", "VALUE");
	}
	for (size_t i = 0; i < fl_nvars; i++) {
		const struct fl_var *v = &fl_vars[i];
		if (!in_role(v, role))
			continue;
		const struct fl_setting *s = &c->set[i];
		const char *value = shown_value(v, s->value, show_secrets, tmp, sizeof tmp);
		switch (f) {
		case FL_FMT_TEXT: {
			char big[64];
			if (strcmp(v->type, "text64") == 0 && strlen(value) > 40 && value != tmp) {
				snprintf(big, sizeof big, "<base64: %zu bytes>", strlen(value));
				value = big;
			}
			const char *src = fl_ctx_src_name(s->src);
			if (s->src != FL_SRC_DEFAULT && strcmp(s->from, v->name) != 0)
				fl_buf_addf(out, "%-26s %-11s %s  (as %s)\n", v->name, src, value, s->from);
			else
				fl_buf_addf(out, "%-26s %-11s %s\n", v->name, src, value);
			break;
		}
		case FL_FMT_SHELL:
			fl_buf_addf(out, "%s=", v->name);
			fl_buf_add_sq(out, value);
			fl_buf_addc(out, '\n');
			break;
		default: /* env: KEY=VALUE, one line each; newlines escaped so a line stays a line */
			fl_buf_addf(out, "%s=", v->name);
			for (const char *p = value; *p; p++) {
				if (*p == '\n')
					fl_buf_adds(out, "\\n");
				else
					fl_buf_addc(out, *p);
			}
			fl_buf_addc(out, '\n');
		}
	}
}

void fl_render_file(const struct fl_ctx *c, unsigned role, struct fl_buf *out)
{
	fl_buf_adds(out, "# flkit resolved configuration, written by fl-context render.\n"
	                 "# Read as data by the flkit tools; regenerate instead of editing.\n");
	fl_buf_addf(out, "FLKIT_ROLE='%s'\n", fl_var_role_name(role));
	if (c->path) {
		fl_buf_adds(out, "FLKIT_CONTEXT=");
		fl_buf_add_sq(out, c->path);
		fl_buf_addc(out, '\n');
	}
	fl_buf_adds(out, "FLKIT_EXPLICIT='");
	const char *sep = "";
	for (size_t i = 0; i < fl_nvars; i++)
		if (in_role(&fl_vars[i], role) && c->set[i].src != FL_SRC_DEFAULT) {
			fl_buf_addf(out, "%s%s", sep, fl_vars[i].name);
			sep = " ";
		}
	fl_buf_adds(out, "'\n");
	fl_render_show(c, role, FL_FMT_SHELL, true, out);
}

/* Values come from validated variables of known types: the conversion cannot fail. */
static void pair(struct fl_buf *out, enum fl_format f, const char *key, const char *v, enum fl_cfg_type t)
{
	fl_flwrcfg_pair(out, f == FL_FMT_TOML, key, v, t, NULL);
}

/* Keys of the run-config and where their values come from: the text as resolved (Flower
 * reads 1.0 and 1 differently), for the strategies in mask (0: every strategy). */
static const struct run_key {
	const char *key;
	enum fl_var_id var;
	enum fl_cfg_type type;
	unsigned strategies;
} run_keys[] = {
    {"strategy", FLV_FL_STRATEGY, FL_CFG_STRING, 0},
    {"num-server-rounds", FLV_FL_NUM_ROUNDS, FL_CFG_INT, 0},
    {"min-fit-clients", FLV_FL_MIN_FIT_CLIENTS, FL_CFG_INT, 0},
    {"min-evaluate-clients", FLV_FL_MIN_EVALUATE_CLIENTS, FL_CFG_INT, 0},
    {"min-available-clients", FLV_FL_MIN_AVAILABLE_CLIENTS, FL_CFG_INT, 0},
    {"proximal-mu", FLV_FL_PROXIMAL_MU, FL_CFG_FLOAT, 1u << FL_STRATEGY_FEDPROX},
    {"server-lr", FLV_FL_SERVER_LR, FL_CFG_FLOAT, 1u << FL_STRATEGY_FEDADAM},
    {"client-lr", FLV_FL_CLIENT_LR, FL_CFG_FLOAT, 1u << FL_STRATEGY_FEDADAM},
    {"num-malicious", FLV_FL_NUM_MALICIOUS, FL_CFG_INT, 1u << FL_STRATEGY_KRUM | 1u << FL_STRATEGY_BULYAN},
    {"trim-beta", FLV_FL_TRIM_BETA, FL_CFG_FLOAT, 1u << FL_STRATEGY_FEDTRIMMEDAVG},
};

void fl_render_run_config(const struct fl_ctx *c, enum fl_format f, struct fl_buf *out)
{
	const struct fl_conf *k = &c->conf;
	for (size_t i = 0; i < sizeof run_keys / sizeof run_keys[0]; i++) {
		const struct run_key *r = &run_keys[i];
		if (!r->strategies || (r->strategies & (1u << k->FL_STRATEGY)))
			pair(out, f, r->key, fl_ctx_value(c, r->var), r->type);
	}
	if (k->FL_CHECKPOINT_ENABLED) {
		pair(out, f, "checkpoint-enabled", "true", FL_CFG_BOOL);
		pair(out, f, "checkpoint-interval", fl_ctx_value(c, FLV_FL_CHECKPOINT_INTERVAL), FL_CFG_INT);
		pair(out, f, "checkpoint-path", k->FL_CHECKPOINT_PATH, FL_CFG_STRING);
	}
	if (k->FL_METRICS_ENABLED) {
		pair(out, f, "metrics-enabled", "true", FL_CFG_BOOL);
		pair(out, f, "metrics-port", fl_ctx_value(c, FLV_FL_METRICS_PORT), FL_CFG_INT);
	}
	if (f != FL_FMT_TOML && out->len)
		fl_buf_addc(out, '\n');
}

int fl_render_node_config(const char *value, enum fl_format f, struct fl_buf *out)
{
	return fl_flwrcfg_node_config(value, f == FL_FMT_TOML, true, out, NULL);
}

static void user_input_line(const struct fl_var *v, struct fl_buf *out)
{
	if (strcmp(v->type, "text64") == 0)
		fl_buf_addf(out, "O|%s|%s", v->type, v->label);
	else
		fl_buf_addf(out, "O|%s|%s|%s|%s", v->type, v->label, v->options, v->def);
}

bool fl_render_service_level(const struct fl_var *v)
{
	unsigned both = FL_ROLE_SUPERLINK | FL_ROLE_SUPERNODE;
	return (v->roles & both) == both;
}

bool fl_render_user_input_offered(const struct fl_var *v, unsigned role, bool in_service)
{
	if (role == FL_ROLE_SERVICE)
		return fl_render_service_level(v);
	if (!(v->roles & role))
		return false;
	/* Inside a service the SuperNode finds the SuperLink through OneGate (02 §4.6 #6). */
	return !in_service || (!fl_render_service_level(v) && v != fl_var_get(FLV_FL_SUPERLINK_ADDRESS));
}

void fl_render_user_inputs(unsigned role, bool in_service, bool oneapp, enum fl_format f, struct fl_buf *out)
{
	const char *prefix = oneapp ? "ONEAPP_" : "";
	json_t *root = f == FL_FMT_JSON ? json_object() : NULL;
	const char *sep = "";
	if (f == FL_FMT_BLOCK)
		fl_buf_adds(out, "USER_INPUTS = [\n");
	for (size_t i = 0; i < fl_nvars; i++) {
		const struct fl_var *v = &fl_vars[i];
		if (!fl_render_user_input_offered(v, role, in_service))
			continue;
		struct fl_buf spec = FL_BUF_INIT;
		user_input_line(v, &spec);
		if (f == FL_FMT_JSON) {
			struct fl_buf key = FL_BUF_INIT;
			fl_buf_addf(&key, "%s%s", prefix, v->name);
			json_object_set_new(root, key.data, json_string(spec.data));
			fl_buf_free(&key);
		} else if (f == FL_FMT_PARAMS) {
			fl_buf_addf(out, "%s%s\nconfigure\n%s\n%s\n", prefix, v->name, v->label, spec.data);
		} else {
			fl_buf_addf(out, "%s  %s%s = \"%s\"", sep, prefix, v->name, spec.data);
			sep = ",\n";
		}
		fl_buf_free(&spec);
	}
	if (f == FL_FMT_BLOCK)
		fl_buf_adds(out, "\n]\n");
	if (root) {
		char *txt = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		fl_buf_adds(out, txt);
		fl_buf_addc(out, '\n');
		free(txt);
		json_decref(root);
	}
}

/* roff needs backslashes doubled and a leading dot or quote escaped. */
static void roff(struct fl_buf *out, const char *s)
{
	if (*s == '.' || *s == '\'')
		fl_buf_adds(out, "\\&");
	for (; *s; s++) {
		if (*s == '\\')
			fl_buf_adds(out, "\\e");
		else if (*s == '-')
			fl_buf_adds(out, "\\-");
		else
			fl_buf_addc(out, *s);
	}
}

static const char *roles_words(unsigned r)
{
	r &= FL_ROLE_SUPERLINK | FL_ROLE_SUPERNODE;
	return r == (FL_ROLE_SUPERLINK | FL_ROLE_SUPERNODE) ? "SuperLink and SuperNode"
	       : r == FL_ROLE_SUPERLINK                     ? "SuperLink"
	                                                    : "SuperNode";
}

/* The host:port grammar of fl_hostport.h, for the man page. */
static void man_hostport(struct fl_buf *out)
{
	fl_buf_adds(
	    out, ".SS Addresses (host:port)\n"
	         "FL_FLEET_API_ADDRESS, FL_CONTROL_API_ADDRESS and FL_SUPERLINK_ADDRESS, the\n"
	         "FL_ENDPOINT a SuperLink publishes and every address the tools probe follow one grammar:\n"
	         ".IP \\(bu 2\n"
	         "\\fIIPv4\\fB:\\fIport\\fR: four decimal numbers 0\\-255 without leading zeros\n"
	         "(10.0.0.1, not 010.0.0.1 or 10.1); 0.0.0.0 listens on every interface;\n"
	         ".IP \\(bu 2\n"
	         "\\fB[\\fIIPv6\\fB]:\\fIport\\fR: brackets are mandatory, no zone id (%eth0);\n"
	         "[::] listens on every interface;\n"
	         ".IP \\(bu 2\n"
	         "\\fIname\\fB:\\fIport\\fR: a DNS name (RFC 1123): labels of 1\\-63 letters, digits,\n"
	         "\\(aq\\-\\(aq and \\(aq_\\(aq joined by dots, none starting or ending with \\(aq\\-\\(aq,\n"
	         "at most 253 characters, no trailing dot, the last label not all digits.\n"
	         ".PP\n"
	         "The port is 1\\-65535 in decimal without sign or leading zeros (9092, not 09092).\n"
	         "Nothing else is accepted: no scheme, path, whitespace or empty host.\n"
	         "Validation follows a refused address with a note that says what is wrong with it.\n"
	         "A listen address (FL_FLEET_API_ADDRESS) must have an IP address for its host.\n");
}

/* One variable's entry in fl-context(5). */
static void man_var(const struct fl_var *v, struct fl_buf *out)
{
	fl_buf_adds(out, ".TP\n.B ");
	fl_buf_adds(out, v->name);
	fl_buf_adds(out, "\n");
	fl_buf_addf(out, "%s; %s%s", roles_words(v->roles), v->type,
	            fl_render_service_level(v) ? "; set at OneFlow service level" : "");
	if (*v->options) {
		fl_buf_adds(out, "; one of ");
		roff(out, v->options);
	}
	fl_buf_adds(out, "; default ");
	if (*v->def) {
		fl_buf_adds(out, "\\fB");
		roff(out, v->def);
		fl_buf_adds(out, "\\fR");
	} else {
		fl_buf_adds(out, "empty");
	}
	if (v->alias)
		fl_buf_addf(out, "; also read as %s", v->alias);
	fl_buf_adds(out, ".\n.br\n");
	roff(out, v->doc);
	fl_buf_adds(out, "\n.br\nOn a bad value: ");
	roff(out, v->message);
	fl_buf_adds(out, "\n");
}

void fl_render_reference(enum fl_format f, struct fl_buf *out)
{
	if (f != FL_FMT_MAN) {
		fl_buf_addf(out, "%-26s %-9s %-13s %s\n", "NAME", "ROLE", "TYPE", "DEFAULT");
		for (size_t i = 0; i < fl_nvars; i++) {
			const struct fl_var *v = &fl_vars[i];
			unsigned r = v->roles & (FL_ROLE_SUPERLINK | FL_ROLE_SUPERNODE);
			fl_buf_addf(out, "%-26s %-9s %-13s %s\n", v->name,
			            r == (FL_ROLE_SUPERLINK | FL_ROLE_SUPERNODE) ? "both"
			                                                         : fl_var_role_name(r),
			            v->type, *v->def ? v->def : "(empty)");
		}
		return;
	}
	fl_buf_adds(
	    out, ".\\\" Generated by `fl-context reference --format man` from the variable registry.\n"
	         ".\\\" Do not edit: change lib/conf/fl_vars.def and run `make man`.\n"
	         ".TH FL-CONTEXT 5 \"" FLKIT_VERSION_DATE "\" \"flkit " FLKIT_VERSION "\" \"File Formats\"\n"
	         ".SH NAME\n"
	         "fl-context \\- context variables of the flkit Flower appliances\n"
	         ".SH DESCRIPTION\n"
	         "OpenNebula passes these variables to the SuperLink and SuperNode VMs through the\n"
	         "context (\\fI/run/one-context/one_env\\fR or \\fIcontext.sh\\fR).\n"
	         ".BR fl-context (1)\n"
	         "reads them as data (never by running the file), applies the defaults below and\n"
	         "validates them; the other flkit tools read the file that\n"
	         ".B fl-context render\n"
	         "writes.\n"
	         ".SS Names and precedence\n"
	         "Every variable may also be given as \\fBONEAPP_\\fR\\fINAME\\fR, the one-apps form.\n"
	         "When both spellings are non-empty the \\fBONEAPP_\\fR form wins.\n"
	         "Values from the process environment override the context file.\n"
	         "An empty value means unset (OneFlow passes \\(dq\\(dq for attributes a service does not\n"
	         "define): the default applies and the value is not validated.\n"
	         "Names with the prefixes FL_, FLOWER_ or ML_ that are not listed here are reported as\n"
	         "unknown, with the nearest known name.\n"
	         ".SS Validation\n"
	         "Every variable that applies to the role is checked; every error is reported with the\n"
	         "message shown below, then\n"
	         ".RS\n"
	         "N configuration error(s). Aborting boot.\n"
	         ".RE\n"
	         "and the exit status is 1.\n"
	         "Cross-variable rules: Krum needs FL_MIN_AVAILABLE_CLIENTS >= 2*FL_NUM_MALICIOUS+3 and\n"
	         "Bulyan >= 4*FL_NUM_MALICIOUS+3 (when FL_NUM_MALICIOUS > 0);\n"
	         "FL_GRPC_KEEPALIVE_TIMEOUT must be less than FL_GRPC_KEEPALIVE_TIME (defaults count);\n"
	         "the Fleet, Control and metrics ports must differ;\n"
	         "FL_SSL_CA_CERTFILE, FL_SSL_CERTFILE and FL_SSL_KEYFILE are all-or-none on the SuperLink;\n"
	         "FL_USE_CASE must suit ML_FRAMEWORK (image-classification: pytorch or tensorflow;\n"
	         "anomaly-detection: sklearn; llm-fine-tuning: pytorch).\n"
	         "Warnings (not errors): FL_MIN_FIT_CLIENTS above FL_MIN_AVAILABLE_CLIENTS,\n"
	         "FL_GRPC_KEEPALIVE_TIME below 10, FL_GRPC_KEEPALIVE_TIME or _TIMEOUT set with\n"
	         "FLOWER_VERSION 1.40 or newer (no effect there), FedProx with FL_PROXIMAL_MU=0,\n"
	         "FL_DCGM_ENABLED=YES without FL_GPU_ENABLED=YES, a checkpoint path outside /app,\n"
	         "llm-fine-tuning without a GPU, unknown variables.\n"
	         "A variable set for a strategy, role or feature that is not in use is noted as ignored.\n");
	man_hostport(out);
	fl_buf_adds(out, ".SH VARIABLES\n");
	for (size_t i = 0; i < fl_nvars; i++)
		man_var(&fl_vars[i], out);
	fl_buf_adds(out, ".SH USER_INPUTS\n"
	                 "The OpenNebula USER_INPUTS (VM template, one-apps ONE_SERVICE_PARAMS, OneFlow\n"
	                 "service and role) come from the same table:\n"
	                 ".B fl\\-context user\\-inputs \\-\\-role superlink|supernode|service\n"
	                 ".RB [ \\-\\-service ]\n"
	                 ".RB [ \\-\\-format\n"
	                 ".IR block | params | json ].\n"
	                 "The variables set at OneFlow service level, those both roles read, are the\n"
	                 "service's inputs; a role of the service offers the others (see\n"
	                 ".BR fl\\-context (1),\n"
	                 "user\\-inputs).\n"
	                 ".SH SEE ALSO\n"
	                 ".BR fl-context (1)\n");
}
