/* fl_context_verb: what fl-context's verbs do once the options are known. */
#include "fl_context_verb.h"

#include "fl_diags.h"
#include "fl_validate.h"

#include "fl_flwrcfg.h"
#include "fl_log.h"
#include "fl_output.h"
#include "fl_render.h"

#include <stdio.h>
#include <string.h>

unsigned fl_context_verb_report(const struct fl_ctx *c, unsigned role, bool quiet_ok)
{
	struct fl_diags d = FL_DIAGS_INIT;
	unsigned errors = fl_validate_ctx(c, role, &d);
	for (size_t i = 0; i < d.n; i++)
		if (!quiet_ok || d.v[i].level >= FL_WARN)
			fl_log(d.v[i].level, "%s", d.v[i].msg);
	if (errors)
		fl_fatal("%u configuration error(s). Aborting boot.", errors);
	else if (!quiet_ok)
		fl_info("Configuration validation passed.");
	fl_diags_free(&d);
	return errors;
}

int fl_context_verb_render(const struct fl_ctx *c, unsigned role, const char *output)
{
	if (fl_context_verb_report(c, role, true)) {
		fl_error("nothing written: fix the configuration and run render again");
		return FL_EXIT_FAIL;
	}
	char def[64];
	snprintf(def, sizeof def, FL_CTX_RENDERED_DIR "/%s.conf", fl_var_role_name(role));
	const char *out = output ? output : def;
	struct fl_buf b = FL_BUF_INIT;
	struct fl_err e = {0};
	int rc = FL_EXIT_OK;
	fl_render_file(c, role, &b);
	/* The SuperLink's file holds FL_SSL_KEYFILE: 0600, and no temp file left behind. */
	if (fl_output_write(out, b.data, b.len, 0600, !output, &e) < 0) {
		fl_error("%s", e.msg);
		rc = FL_EXIT_FAIL;
	} else {
		fl_info("Wrote the %s configuration to %s", fl_var_role_name(role), out);
	}
	explicit_bzero(b.data, b.len);
	fl_buf_free(&b);
	return rc;
}

int fl_context_verb_node_config(const struct fl_ctx *c, long pid, long npart, bool toml, struct fl_buf *out)
{
	const char *nc = fl_ctx_value(c, FLV_FL_NODE_CONFIG);
	char gen[64] = "";
	if (!*nc && pid >= 0)
		snprintf(gen, sizeof gen, "partition-id=%ld num-partitions=%ld", pid, npart);
	struct fl_err e = {0};
	if (fl_flwrcfg_node_config(*nc ? nc : gen, toml, true, out, &e) < 0)
		return fl_log_err(&e);
	return FL_EXIT_OK;
}
