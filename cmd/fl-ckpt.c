/* fl-ckpt: the checkpoint directory's lifecycle: commit, list, latest, verify, restore, prune. */
#include "fl_buf.h"
#include "fl_ckpt.h"
#include "fl_ckpt_archive_verb.h"
#include "fl_ckpt_s3.h"
#include "fl_ckpt_verb.h"
#include "fl_ctx.h"
#include "fl_fs.h"
#include "fl_log.h"
#include "fl_output.h"
#include "fl_tool.h"
#include "fl_validate.h"

#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
    "usage: fl-ckpt [options] init\n"
    "       fl-ckpt [options] list [--json]\n"
    "       fl-ckpt [options] latest [--fallback]\n"
    "       fl-ckpt [options] verify [FILE | --round N | --all]\n"
    "       fl-ckpt [options] save --round N --from SRC.npz [--no-latest] [--metric NAME=VALUE]...\n"
    "       fl-ckpt [options] restore --round N\n"
    "       fl-ckpt [options] restore --from-archive F [--round N]\n"
    "       fl-ckpt [options] restore --from-s3 s3://BUCKET[/PREFIX]/checkpoint_round_N.npz [S3 options]\n"
    "       fl-ckpt [options] prune [--keep N] [--keep-every K] [--keep-best METRIC [--best min|max]]\n"
    "                               [--dry-run]\n"
    "       fl-ckpt [options] archive --out F.tar.zst|F.tar.gz|F.tar [--round N | --all]\n"
    "       fl-ckpt [options] unarchive F\n"
    "       fl-ckpt [options] upload [--round N] [--url s3://BUCKET[/PREFIX]] [S3 options]\n"
    "       fl-ckpt [options] download --round N [--url s3://BUCKET[/PREFIX]] [S3 options]\n";

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
    "archive  committed rounds, the latest link and the manifest as one tar (zstd, gzip, none)\n"
    "unarchive  commit the rounds of an archive fl-ckpt wrote, each verified; hostile entries\n"
    "         are refused\n"
    "upload   copy a committed round (default: the latest) and its manifest entry to S3,\n"
    "         verified there (size, SHA-256, ETag); an interrupted multipart upload resumes\n"
    "download fetch round N from S3, check its SHA-256 and commit it (restore --from-s3:\n"
    "         and make it latest); credentials: AWS_* variables or a 0600 credentials file\n"
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
	const char *out, *from_archive; /* archive --out, restore --from-archive */
	char host[4096];
	struct fl_ckpt_s3 s3; /* upload, download, restore --from-s3 */
	const char *from_s3;
	char *s3_strings[3]; /* FL_CHECKPOINT_S3_* taken from the configuration */
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

static int restore_s3(struct fl_tool *t, struct opts *o);

static int restore(struct fl_tool *t, char **args, int n)
{
	(void)args, (void)n;
	struct opts *o = t->data;
	if (o->from_archive) {
		struct fl_buf b = FL_BUF_INIT;
		int rc = fl_ckpt_verb_unarchive(&o->v, o->from_archive, true, &b);
		fl_output_stdout(&b);
		return rc;
	}
	if (o->from_s3)
		return restore_s3(t, o);
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

static int archive(struct fl_tool *t, char **args, int n)
{
	(void)args, (void)n;
	const struct opts *o = t->data;
	if (!o->out)
		return fl_tool_usage_error(t, "archive needs --out F.tar.zst, F.tar.gz or F.tar");
	if (o->v.round && o->v.all)
		return fl_tool_usage_error(t, "archive: --round and --all exclude each other");
	struct fl_buf b = FL_BUF_INIT;
	int rc = fl_ckpt_verb_archive(&o->v, o->out, &b);
	fl_output_stdout(&b);
	return rc;
}

static int unarchive(struct fl_tool *t, char **args, int n)
{
	(void)n;
	const struct opts *o = t->data;
	struct fl_buf b = FL_BUF_INIT;
	int rc = fl_ckpt_verb_unarchive(&o->v, args[0], false, &b);
	fl_output_stdout(&b);
	return rc;
}

/* --url/--endpoint/--region as given; without --url, FL_CHECKPOINT_S3_URL, _ENDPOINT and
 * _REGION of the configuration (the URL and its endpoint go together). */
static int s3_target(struct fl_tool *t, struct opts *o)
{
	o->s3.dir = o->v.dir;
	o->s3.uid = o->v.uid;
	o->s3.gid = o->v.gid;
	o->s3.lock_timeout_ms = o->v.lock_timeout_ms;
#ifdef FLKIT_TEST_CLOCK
	/* build/test-bin only: stop a multipart upload after this many parts (the resume test). */
	const char *stop = getenv("FLKIT_TEST_S3_STOP_AFTER_PARTS");
	if (stop)
		o->s3.s3.stop_after_parts = (int)strtol(stop, NULL, 10);
#endif
	if (o->s3.url)
		return 0;
	struct fl_ctx c;
	int rc = fl_tool_load(t, FL_ROLE_SUPERLINK, &c);
	if (rc)
		return rc;
	const char *v[3] = {c.conf.FL_CHECKPOINT_S3_URL, c.conf.FL_CHECKPOINT_S3_ENDPOINT,
	                    c.conf.FL_CHECKPOINT_S3_REGION};
	for (int i = 0; i < 3; i++)
		o->s3_strings[i] = v[i] && *v[i] ? fl_xstrdup(v[i]) : NULL;
	fl_ctx_free(&c);
	o->s3.url = o->s3_strings[0];
	if (!o->s3.endpoint)
		o->s3.endpoint = o->s3_strings[1];
	if (!o->s3.region)
		o->s3.region = o->s3_strings[2];
	if (!o->s3.url)
		return fl_tool_usage_error(t, "no S3 target: give --url s3://BUCKET[/PREFIX] or set "
		                              "FL_CHECKPOINT_S3_URL");
	return 0;
}

static int upload(struct fl_tool *t, char **args, int n)
{
	(void)args, (void)n;
	struct opts *o = t->data;
	struct fl_err e = {0};
	struct fl_buf b = FL_BUF_INIT;
	int rc = s3_target(t, o);
	if (rc)
		return rc;
	if (fl_ckpt_s3_upload(&o->s3, o->v.round, &b, &e) < 0) {
		fl_buf_free(&b);
		return fl_log_err(&e);
	}
	fl_output_stdout(&b);
	return 0;
}

static int download(struct fl_tool *t, char **args, int n)
{
	(void)args, (void)n;
	struct opts *o = t->data;
	struct fl_err e = {0};
	struct fl_buf b = FL_BUF_INIT;
	if (!o->v.round)
		return fl_tool_usage_error(t, "download needs --round N");
	int rc = s3_target(t, o);
	if (rc)
		return rc;
	if (fl_ckpt_s3_download(&o->s3, o->v.round, false, &b, &e) < 0) {
		fl_buf_free(&b);
		return fl_log_err(&e);
	}
	fl_output_stdout(&b);
	return 0;
}

static int restore_s3(struct fl_tool *t, struct opts *o)
{
	struct fl_err e = {0};
	struct fl_buf b = FL_BUF_INIT;
	char *url;
	long round;
	if (o->v.round || o->s3.url)
		return fl_tool_usage_error(t, "restore --from-s3 names the round and the target itself: "
		                              "no --round or --url");
	if (fl_ckpt_s3_object(o->from_s3, &url, &round, &e) < 0)
		return fl_tool_usage_error(t, "%s", e.msg);
	o->s3.url = url;
	int rc = s3_target(t, o);
	if (!rc && fl_ckpt_s3_download(&o->s3, round, true, &b, &e) < 0)
		rc = fl_log_err(&e);
	if (!rc)
		fl_output_stdout(&b);
	fl_buf_free(&b);
	free(url);
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
	OPT_OUT,
	OPT_FROM_ARCHIVE,
	OPT_URL,
	OPT_ENDPOINT,
	OPT_REGION,
	OPT_VIRTUAL_HOST,
	OPT_CA_FILE,
	OPT_FROM_S3,
	OPT_DEADLINE,
	OPT_PART_SIZE,
	OPT_THRESHOLD,
};

/* The S3 options (upload, download, restore --from-s3). */
static int s3_option(struct fl_tool *t, struct opts *o, int ch, const char *arg)
{
	struct fl_err e = {0};
	uint64_t ms;
	long mib;
	switch (ch) {
	case OPT_URL: o->s3.url = arg; break;
	case OPT_ENDPOINT: o->s3.endpoint = arg; break;
	case OPT_REGION: o->s3.region = arg; break;
	case OPT_VIRTUAL_HOST: o->s3.virtual_host = true; break;
	case OPT_CA_FILE:
		if (fl_fs_check_regular("--ca-file", arg, &e) < 0)
			return fl_tool_usage_error(t, "%s", e.msg);
		o->s3.s3.ca_file = arg;
		break;
	case OPT_FROM_S3: o->from_s3 = arg; break;
	case OPT_DEADLINE:
		if (fl_tool_seconds(t, "--deadline", arg, &ms))
			return FL_EXIT_USAGE;
		o->s3.s3.deadline_ms = ms ? ms : 1;
		break;
	case OPT_PART_SIZE:
		if (fl_tool_number(t, "--part-size", arg, 5, 5120, "MiB", &mib))
			return FL_EXIT_USAGE;
		o->s3.s3.part_size = mib * 1024 * 1024;
		break;
	case OPT_THRESHOLD:
		if (fl_tool_number(t, "--threshold", arg, 5, 5120, "MiB", &mib))
			return FL_EXIT_USAGE;
		o->s3.s3.threshold = mib * 1024 * 1024;
		break;
	}
	return 0;
}

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
	case OPT_OUT: o->out = arg; break;
	case OPT_FROM_ARCHIVE: o->from_archive = arg; break;
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
	case OPT_URL:
	case OPT_ENDPOINT:
	case OPT_REGION:
	case OPT_VIRTUAL_HOST:
	case OPT_CA_FILE:
	case OPT_FROM_S3:
	case OPT_DEADLINE:
	case OPT_PART_SIZE:
	case OPT_THRESHOLD: return s3_option(t, o, ch, arg);
	case OPT_METRIC:
		if (fl_ckpt_verb_metric(&o->v, arg, &e) < 0)
			return fl_tool_usage_error(t, "%s", e.msg);
		break;
	}
	return 0;
}

/* What the options say together; FL_TOOL_GO when they agree. */
static int check_options(struct fl_tool *t)
{
	struct opts *o = t->data;
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
    {"round", 1, OPT_ROUND, "verify|save|restore|archive|upload|download", "N", "the round (1-999999999)"},
    {"from", 1, OPT_FROM, "save", "SRC", "save: the .npz to commit"},
    {"no-latest", 0, OPT_NO_LATEST, "save", NULL, "save: commit without moving the latest link"},
    {"metric", 1, OPT_METRIC, "save", "NAME=VALUE", "save: record a metric of the round (repeatable)"},
    {"fallback", 0, OPT_FALLBACK, "latest", NULL,
     "latest: the newest committed round that verifies when the\nlink's does not"},
    {"all", 0, OPT_ALL, "verify|archive", NULL, "verify: every round file; archive: every committed round"},
    {"keep", 1, OPT_KEEP, "prune", "N", "prune: keep the newest N rounds (default FL_CHECKPOINT_KEEP)"},
    {"keep-every", 1, OPT_KEEP_EVERY, "prune", "K", "prune: also keep every round divisible by K"},
    {"keep-best", 1, OPT_KEEP_BEST, "prune", "METRIC", "prune: also keep the round with the best METRIC"},
    {"best", 1, OPT_BEST, "prune", "min|max",
     "prune: lower or higher is better (default: min for names\nending in loss or error, else max)"},
    {"dry-run", 0, OPT_DRY_RUN, "prune", NULL, "prune: print what would go, remove nothing"},
    {"out", 1, OPT_OUT, "archive", "F", "archive: the file to write (.tar.zst, .tar.gz, .tgz or .tar)"},
    {"from-archive", 1, OPT_FROM_ARCHIVE, "restore", "F",
     "restore: commit round N (default all) of an archive, make it latest"},
    {"url", 1, OPT_URL, "upload|download", "s3://B[/P]", "S3 target (default FL_CHECKPOINT_S3_URL)"},
    {"endpoint", 1, OPT_ENDPOINT, "upload|download|restore", "URL",
     "S3 endpoint http(s)://HOST[:PORT] (default FL_CHECKPOINT_S3_ENDPOINT\nwithout --url, else AWS)"},
    {"region", 1, OPT_REGION, "upload|download|restore", "R",
     "region signed into requests (default FL_CHECKPOINT_S3_REGION\nwithout --url, else us-east-1)"},
    {"virtual-host", 0, OPT_VIRTUAL_HOST, "upload|download|restore", NULL,
     "bucket.host/key URLs instead of host/bucket/key"},
    {"ca-file", 1, OPT_CA_FILE, "upload|download|restore", "FILE", "CA bundle of a self-signed endpoint"},
    {"from-s3", 1, OPT_FROM_S3, "restore", "OBJECT", "restore: download s3://B[/P]/checkpoint_round_N.npz"},
    {"deadline", 1, OPT_DEADLINE, "upload|download|restore", "SECONDS",
     "retry an unreachable store this long per request (60; exit 3)"},
    {"part-size", 1, OPT_PART_SIZE, "upload", "MIB", "upload: multipart part size (16, at least 5)"},
    {"threshold", 1, OPT_THRESHOLD, "upload", "MIB", "upload: multipart above this size (200)"},
};

static const struct fl_tool_verb verbs[] = {
    {"init", 0, 0, NULL, init},
    {"list", 0, 0, NULL, list},
    {"latest", 0, 0, NULL, latest},
    {"verify", 0, 1, "verify takes at most one FILE", verify},
    {"save", 0, 0, NULL, save},
    {"restore", 0, 0, NULL, restore},
    {"prune", 0, 0, NULL, prune},
    {"archive", 0, 0, NULL, archive},
    {"unarchive", 1, 1, "unarchive takes one archive F", unarchive},
    {"upload", 0, 0, NULL, upload},
    {"download", 0, 0, NULL, download},
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
	    FL_TOOL_TABLES(opts, verbs),
	    .flags = FL_TOOL_RENDERED | FL_TOOL_ENV_FALLBACK,
	    .declines = FL_TOOL_C_FORMAT,
	    .decline_why = "fl-ckpt list takes --json",
	    .option = option,
	    .check = check_options,
	    .data = &o,
	};
	int rc = fl_tool_main(&t, argc, argv);
	for (int i = 0; i < 3; i++)
		free(o.s3_strings[i]);
	return rc;
}
