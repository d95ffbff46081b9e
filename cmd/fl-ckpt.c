/* fl-ckpt: the checkpoint directory's lifecycle: commit, list, latest, verify, restore, prune. */
#include "fl_buf.h"
#include "fl_ckpt.h"
#include "fl_ckpt_verb.h"
#include "fl_ctx.h"
#include "fl_log.h"
#include "fl_output.h"
#include "fl_tool.h"
#include "fl_validate.h"

#include <string.h>

static const char usage_text[] =
    "usage: fl-ckpt [options] init\n"
    "       fl-ckpt [options] list [--json]\n"
    "       fl-ckpt [options] latest [--fallback]\n"
    "       fl-ckpt [options] verify [FILE | --round N | --all]\n"
    "       fl-ckpt [options] save --round N --from SRC.npz [--no-latest] [--metric NAME=VALUE]...\n"
    "       fl-ckpt [options] restore --round N\n"
    "       fl-ckpt [options] prune [--keep N] [--keep-every K] [--keep-best METRIC [--best min|max]]\n"
    "                               [--dry-run]\n";

static const char help_text[] =
    "\n"
    "init     create the checkpoint directory (mode 0755, --owner); idempotent\n"
    "list     round files in numeric order: size, arrays, mtime, committed, latest, valid\n"
    "latest   the latest link's round and file (N<TAB>path); --fallback: the newest committed\n"
    "         round that verifies when the link's does not\n"
    "verify   structure, CRC and the manifest's SHA-256 of a round (default: the latest)\n"
    "save     commit SRC as round N: temp, fsync, verify, rename, manifest, latest link, JSON\n"
    "restore  point the latest link and checkpoint_latest.json at committed round N\n"
    "prune    remove old rounds (never the latest target or the highest round)\n"
    "\n";

static const char help_end[] =
    "\n"
    "exit status: 0 ok, 1 failure (a check failed, nothing to resolve), 2 usage error,\n"
    "             3 a needed service (the S3 store) unreachable, 4 the lock stayed held for\n"
    "             --lock-timeout.\n";

struct opts {
	struct fl_ckpt_verb v;
	const char *container_path;
	bool keep_given, dir_given;
	char host[4096];
};

static int init(struct fl_tool *t, char **args, int n)
{
	(void)args, (void)n;
	const struct opts *o = t->data;
	return fl_ckpt_verb_init(&o->v);
}

static int list(struct fl_tool *t, char **args, int n)
{
	(void)args, (void)n;
	const struct opts *o = t->data;
	struct fl_buf b = FL_BUF_INIT;
	int rc = fl_ckpt_verb_list(&o->v, &b);
	fl_output_stdout(&b);
	return rc;
}

static int latest(struct fl_tool *t, char **args, int n)
{
	(void)args, (void)n;
	const struct opts *o = t->data;
	struct fl_buf b = FL_BUF_INIT;
	int rc = fl_ckpt_verb_latest(&o->v, &b);
	fl_output_stdout(&b);
	return rc;
}

static int verify(struct fl_tool *t, char **args, int n)
{
	const struct opts *o = t->data;
	if (n && (o->v.round || o->v.all))
		return fl_tool_usage_error(t, "verify: give FILE, --round N or --all, not two of them");
	if (o->v.round && o->v.all)
		return fl_tool_usage_error(t, "verify: --round and --all exclude each other");
	struct fl_buf b = FL_BUF_INIT;
	int rc = fl_ckpt_verb_verify(&o->v, n ? args[0] : NULL, &b);
	fl_output_stdout(&b);
	return rc;
}

static int save(struct fl_tool *t, char **args, int n)
{
	(void)args, (void)n;
	const struct opts *o = t->data;
	if (!o->v.round || !o->v.from)
		return fl_tool_usage_error(t, "save needs --round N and --from SRC.npz");
	struct fl_buf b = FL_BUF_INIT;
	int rc = fl_ckpt_verb_save(&o->v, &b);
	fl_output_stdout(&b);
	return rc;
}

static int restore(struct fl_tool *t, char **args, int n)
{
	(void)args, (void)n;
	const struct opts *o = t->data;
	if (!o->v.round)
		return fl_tool_usage_error(t, "restore needs --round N");
	struct fl_buf b = FL_BUF_INIT;
	int rc = fl_ckpt_verb_restore(&o->v, &b);
	fl_output_stdout(&b);
	return rc;
}

/* Without --keep: FL_CHECKPOINT_KEEP of the configuration (0: keep all). */
static int keep_from_context(struct fl_tool *t, struct opts *o)
{
	struct fl_ctx c;
	int rc = fl_tool_load(t, FL_ROLE_SUPERLINK, &c);
	if (rc)
		return rc;
	struct fl_err e = {0};
	if (fl_validate_var(&c, FLV_FL_CHECKPOINT_KEEP, &e) < 0) {
		fl_ctx_free(&c);
		return fl_log_err(&e);
	}
	o->v.prune.keep = c.conf.FL_CHECKPOINT_KEEP;
	fl_ctx_free(&c);
	if (o->v.prune.keep == 0 && !o->v.prune.keep_every && !o->v.prune.keep_best) {
		fl_info(
		    "FL_CHECKPOINT_KEEP is 0 (keep every round) and no --keep was given: nothing to prune");
		return -1;
	}
	return 0;
}

static int prune(struct fl_tool *t, char **args, int n)
{
	(void)args, (void)n;
	struct opts *o = t->data;
	if (o->v.prune.best != FL_CKPT_BEST_AUTO && !o->v.prune.keep_best)
		return fl_tool_usage_error(t, "prune: --best goes with --keep-best METRIC");
	if (!o->keep_given) {
		int rc = keep_from_context(t, o);
		if (rc)
			return rc < 0 ? 0 : rc;
	}
	struct fl_buf b = FL_BUF_INIT;
	int rc = fl_ckpt_verb_prune(&o->v, &b);
	fl_output_stdout(&b);
	return rc;
}

enum {
	OPT_CONTAINER_PATH = FL_TOOL_OWN,
	OPT_OWNER,
	OPT_LOCK_TIMEOUT,
	OPT_JSON,
	OPT_ROUND,
	OPT_FROM,
	OPT_NO_LATEST,
	OPT_METRIC,
	OPT_FALLBACK,
	OPT_ALL,
	OPT_KEEP,
	OPT_KEEP_EVERY,
	OPT_KEEP_BEST,
	OPT_BEST,
	OPT_DRY_RUN,
};

static int option(struct fl_tool *t, int ch, const char *arg)
{
	struct opts *o = t->data;
	struct fl_err e = {0};
	uint64_t ms;
	switch (ch) {
	case 'd': o->v.dir = arg, o->dir_given = true; break;
	case OPT_CONTAINER_PATH: o->container_path = arg; break;
	case OPT_JSON: o->v.json = true; break;
	case OPT_FROM: o->v.from = arg; break;
	case OPT_NO_LATEST: o->v.no_latest = true; break;
	case OPT_FALLBACK: o->v.fallback = true; break;
	case OPT_ALL: o->v.all = true; break;
	case OPT_DRY_RUN: o->v.prune.dry_run = true; break;
	case OPT_KEEP_BEST:
		if (fl_manifest_metric_name_ok(arg) < 0)
			return fl_tool_usage_error(
			    t, "--keep-best '%s' is not a metric name (1-64 of [A-Za-z0-9_.-])", arg);
		o->v.prune.keep_best = arg;
		break;
	case OPT_OWNER:
		if (fl_tool_owner(arg, &o->v.uid, &o->v.gid) == 0)
			return 0;
		return fl_tool_usage_error(t, "--owner needs numeric UID:GID, not '%s'", arg);
	case OPT_LOCK_TIMEOUT:
		if (fl_tool_seconds(t, "--lock-timeout", arg, &ms))
			return FL_EXIT_USAGE;
		o->v.lock_timeout_ms = (long)ms;
		break;
	case OPT_ROUND: return fl_tool_number(t, "--round", arg, 1, FL_MANIFEST_ROUND_MAX, NULL, &o->v.round);
	case OPT_KEEP:
		o->keep_given = true;
		return fl_tool_number(t, "--keep", arg, 1, FL_MANIFEST_ENTRIES_MAX, "rounds",
		                      &o->v.prune.keep);
	case OPT_KEEP_EVERY:
		return fl_tool_number(t, "--keep-every", arg, 1, FL_MANIFEST_ROUND_MAX, "rounds",
		                      &o->v.prune.keep_every);
	case OPT_BEST: {
		int i;
		if (fl_tool_keyword(t, "--best", arg, (const char *const[]){"min", "max", NULL}, &i))
			return FL_EXIT_USAGE;
		o->v.prune.best = i == 0 ? FL_CKPT_BEST_MIN : FL_CKPT_BEST_MAX;
		break;
	}
	case OPT_METRIC:
		if (fl_ckpt_verb_metric(&o->v, arg, &e) < 0)
			return fl_tool_usage_error(t, "%s", e.msg);
		break;
	}
	return 0;
}

/* What the options say together; FL_TOOL_GO when they agree. */
static int check_options(const struct fl_tool *t, struct opts *o)
{
	struct fl_err e = {0};
	if (o->container_path && o->dir_given)
		return fl_tool_usage_error(t, "--dir and --container-path exclude each other");
	if (o->container_path) {
		if (fl_ckpt_host_path(o->container_path, o->host, sizeof o->host, &e) < 0)
			return fl_tool_usage_error(t, "%s", e.msg);
		o->v.dir = o->host;
	}
	return FL_TOOL_GO;
}

static const struct fl_tool_opt opts[] = {
    {"context", 1, 'c', NULL, "FILE",
     "context or rendered file for FL_CHECKPOINT_* (default $FLKIT_CONTEXT,\n"
     "else /run/flkit/superlink.conf, else " FL_CTX_DEFAULT_PATH ", else\nthe environment)"},
    {"dir", 1, 'd', NULL, "DIR", "the checkpoint directory (default " FL_CKPT_HOST_DIR ")"},
    {"container-path", 1, OPT_CONTAINER_PATH, NULL, "P",
     "the directory as the container names it (FL_CHECKPOINT_PATH):\n" FL_CKPT_CONTAINER_DIR
     "[/SUB] is " FL_CKPT_HOST_DIR "[/SUB]"},
    {"owner", 1, OPT_OWNER, NULL, "UID:GID", "owner of what is written (default 49999:49999)"},
    {"lock-timeout", 1, OPT_LOCK_TIMEOUT, NULL, "SECONDS",
     "wait at most this long for another fl-ckpt's lock (30; exit 4)"},
    {"json", 0, OPT_JSON, "list", NULL, "list: a JSON array"},
    {"round", 1, OPT_ROUND, "verify|save|restore", "N", "the round (1-999999999)"},
    {"from", 1, OPT_FROM, "save", "SRC", "save: the .npz to commit"},
    {"no-latest", 0, OPT_NO_LATEST, "save", NULL, "save: commit without moving the latest link"},
    {"metric", 1, OPT_METRIC, "save", "NAME=VALUE", "save: record a metric of the round (repeatable)"},
    {"fallback", 0, OPT_FALLBACK, "latest", NULL,
     "latest: the newest committed round that verifies when the\nlink's does not"},
    {"all", 0, OPT_ALL, "verify", NULL, "verify: every round file"},
    {"keep", 1, OPT_KEEP, "prune", "N", "prune: keep the newest N rounds (default FL_CHECKPOINT_KEEP)"},
    {"keep-every", 1, OPT_KEEP_EVERY, "prune", "K", "prune: also keep every round divisible by K"},
    {"keep-best", 1, OPT_KEEP_BEST, "prune", "METRIC", "prune: also keep the round with the best METRIC"},
    {"best", 1, OPT_BEST, "prune", "min|max",
     "prune: lower or higher is better (default: min for names\nending in loss or error, else max)"},
    {"dry-run", 0, OPT_DRY_RUN, "prune", NULL, "prune: print what would go, remove nothing"},
};

static const struct fl_tool_verb verbs[] = {
    {"init", 0, 0, NULL, init},     {"list", 0, 0, NULL, list},
    {"latest", 0, 0, NULL, latest}, {"verify", 0, 1, "verify takes at most one FILE", verify},
    {"save", 0, 0, NULL, save},     {"restore", 0, 0, NULL, restore},
    {"prune", 0, 0, NULL, prune},
};

int main(int argc, char **argv)
{
	static struct opts o = {
	    .v =
	        {
	            .dir = FL_CKPT_HOST_DIR,
	            .uid = FL_CKPT_UID,
	            .gid = FL_CKPT_GID,
	            .lock_timeout_ms = 30000,
	        },
	};
	static struct fl_tool t = {
	    .name = "fl-ckpt",
	    .usage = usage_text,
	    .help = help_text,
	    .help_end = help_end,
	    .opts = opts,
	    .nopts = sizeof opts / sizeof opts[0],
	    .verbs = verbs,
	    .nverbs = sizeof verbs / sizeof verbs[0],
	    .flags = FL_TOOL_RENDERED | FL_TOOL_ENV_FALLBACK,
	    .declines = FL_TOOL_C_FORMAT,
	    .decline_why = "fl-ckpt list takes --json",
	    .option = option,
	    .data = &o,
	};
	int rc = fl_tool_parse(&t, argc, argv);
	if (rc == FL_TOOL_GO)
		rc = check_options(&t, &o);
	if (rc == FL_TOOL_GO)
		rc = fl_tool_dispatch(&t);
	fl_tool_free(&t);
	return rc;
}
