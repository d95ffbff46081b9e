/* fl_launch_job: what one fl-launch verb works on. The command line (fl_launch_args) and the
 * configuration it names become the resolved fl_launch_opts and the plan; the verbs' checks and
 * reports (start's preflight, status, show, health, publication) work on that job.
 *
 * Errors are values. Functions that take a struct fl_diags *d return 0, or -1 with e: d holds
 * what there is to say, in order (notes, warnings, errors); e->code is the exit code and
 * e->msg, when not empty, the last error line. FL_LAUNCH_USAGE (-2) marks a bad command line:
 * e->msg is said with the synopsis. */
#ifndef FL_LAUNCH_JOB_H
#define FL_LAUNCH_JOB_H

#include "fl_cert.h"
#include "fl_ctx.h"
#include "fl_err.h"
#include "fl_launch.h"

#include <stdbool.h>
#include <stddef.h>

#define FL_LAUNCH_USAGE (-2)

/* The command line, checked for form (numbers, enums, ranges) but not yet resolved. NULL or 0:
 * not given, the default applies. */
struct fl_launch_args {
	char **envp;   /* the environment: the configuration's overlay, OneGate's identity (NULL: none) */
	unsigned role; /* 0: the rendered file's */
	enum fl_runtime runtime;
	bool supervisor_set; /* else systemd for docker; for process, systemd when it runs */
	enum fl_supervisor supervisor;
	const char *flower_dir, *unit_dir, *docker, *nginx, *image, *prebaked;
	const char *flower_version; /* parsed when the verb needs a version */
	const char *flower_bin, *addr, *discovery, *owner;
	const char *one_env, *token_file;
	const char *metrics_bin;     /* fl-metrics; NULL: the one beside fl-launch */
	enum fl_launch_gpu_mode gpu; /* --gpu; 0: auto */
	const char *gpu_root;        /* --gpu-root: the tree detection reads (tests, troubleshooting) */
	unsigned appio_port, health_port;
	bool health_port_set;
	/* the options of some verbs only (set by the tool: fl_tool_number) */
	long timeout_s, interval_s, lines;
	bool best_effort, no_publish;
	/* the words */
	const char *verb;
	const char *reason; /* publish-error REASON */
};

/* Everything one verb needs: configuration, options resolved, plan. Zero it, then load j->c. */
struct fl_launch_job {
	struct fl_ctx c;
	struct fl_launch_opts lo;
	struct fl_launch_plan p;
	struct fl_onegate_tls og; /* SN: what --discovery names */
	struct fl_launch_gpu gpu; /* SN: the GPU decision (lo.gpu_decision points here) */
	char exe[4096], vm_addr[64], flower_dir[4096], prebaked[4200], metrics_exe[4096], pyhook[4096];
	char pyhook_why[4400];
	bool loaded, planned;
};

/* How much of the job a verb needs, and how much of the checks it repeats. */
enum fl_launch_job_mode {
	FL_LAUNCH_JOB_PRINT,   /* argv, env, unit, proxy-*: the version needed; warnings */
	FL_LAUNCH_JOB_INSTALL, /* the version needed; every note */
	FL_LAUNCH_JOB_START,   /* docker: wait for the daemon, settle the image's version */
	FL_LAUNCH_JOB_STOP,    /* names and paths: no version asked */
	FL_LAUNCH_JOB_CHECK,   /* status, health ...: run often, errors only, no version asked of docker */
	FL_LAUNCH_JOB_IMAGE,   /* resolved options, no plan */
};

/* --- the command line (fl_launch_args.c) --- */

/* Option name (the long name without "--") given arg (NULL for a flag): checked for form and
 * set in a. 0, or FL_LAUNCH_USAGE with e. Not --lines, --timeout or --interval: the tool sets
 * those counts with the front end's fl_tool_number. */
int fl_launch_args_set(struct fl_launch_args *a, const char *name, const char *arg, struct fl_err *e);
/* Files named by an option (--discovery, --prebaked, --one-env, --token-file): a FIFO or
 * device is refused before anything runs (-1, e). */
int fl_launch_args_check_files(const struct fl_launch_args *a, struct fl_err *e);

/* --- the job (fl_launch_job.c, fl_launch_resolve.c) --- */

/* With j->c loaded (the front end's one rule, fl_tool_load) and j->loaded set: settle the role
 * and validate the configuration for it (the same rules fl-context applies: nothing runs on a
 * configuration it would refuse). Diagnostics of at least min go to d. */
int fl_launch_job_check(struct fl_launch_job *j, const struct fl_launch_args *a, enum fl_level min,
                        struct fl_diags *d, struct fl_err *e);

/* The options into j->lo: runtime and supervisor, paths, owner, the VM address (SL) or the
 * discovered SuperLink (SN), TLS, the executable (process) and, with need_version, the Flower
 * version (--flower-version, docker: FLOWER_VERSION, process: asked of the installed Flower).
 * -1 with e, or FL_LAUNCH_USAGE. */
int fl_launch_resolve(const struct fl_launch_args *a, struct fl_launch_job *j, bool need_version,
                      struct fl_err *e);

/* --owner UID:GID: digits only, below 2^31 ("-1" would mean "leave the owner alone" to chown
 * and a value past 32 bits would wrap to root). 0, or FL_LAUNCH_USAGE. */
int fl_launch_resolve_owner(const char *s, uid_t *uid, gid_t *gid, struct fl_err *e);
/* A path that ends up in unit files and argv: absolute, no blanks, quotes, $, % or ;. */
int fl_launch_resolve_path(const char *path, struct fl_err *e);
/* The SuperLink's VM address: addr (--addr, canonical), else the first of $FLKIT_NET_ADDRS,
 * else the default-route interface's (as fl-certgen); "" when none is found. */
int fl_launch_resolve_vm_addr(const char *addr, char *out, size_t n, struct fl_err *e);
/* What `fl-onegate discover -o FILE` wrote: a regular file (a FIFO would block), 1 MiB at
 * most; "-" is standard input. */
int fl_launch_resolve_discovery(const char *path, struct fl_onegate_tls *og, struct fl_err *e);

/* Check, resolve and plan the loaded configuration as mode says. */
int fl_launch_job_open(struct fl_launch_job *j, const struct fl_launch_args *a, enum fl_launch_job_mode mode,
                       struct fl_diags *d, struct fl_err *e);
void fl_launch_job_free(struct fl_launch_job *j);

/* --image, else flwr/superlink or flwr/supernode. */
const char *fl_launch_job_repo(const struct fl_launch_job *j, const struct fl_launch_args *a);

/* --- the verbs (fl_launch_verb.c) --- */

/* The work of a verb on an opened job: what goes to stdout into out, what to say into d. */
typedef int fl_launch_verb_fn(const struct fl_launch_job *j, const struct fl_launch_args *a,
                              struct fl_buf *out, struct fl_diags *d, struct fl_err *e);

/* A verb that works on a job: how to open it, then its steps (the second, if any, after what
 * the first had to say is said: start says its checks before it may wait for a lock). */
struct fl_launch_verb {
	const char *verbs; /* '|'-separated */
	enum fl_launch_job_mode mode;
	fl_launch_verb_fn *step[2];
};
/* The entry for verb, or NULL (restart, wait-docker: no job of their own). */
const struct fl_launch_verb *fl_launch_verb_find(const char *verb);

/* argv (one element per line), env, unit, proxy-conf or proxy-unit of the plan (a->verb). */
fl_launch_verb_fn fl_launch_verb_print;
/* Directories, env file and unit only. */
fl_launch_verb_fn fl_launch_verb_install;
/* Before a start: the certificates TLS needs are there, the CA verifies the SuperLink. */
fl_launch_verb_fn fl_launch_verb_preflight;
/* Start (idempotent) and say what happened; on failure the last lines of its output. */
fl_launch_verb_fn fl_launch_verb_start;
fl_launch_verb_fn fl_launch_verb_stop;
/* SERVICE=, RUNNING=, PID=, ... (with the Fleet proxy's, if planned); not running: -1,
 * FL_EXIT_FAIL and no message. */
fl_launch_verb_fn fl_launch_verb_status;
/* FL_ENDPOINT, FL_FLEET_ADDRESS ... (SL) or FL_SUPERLINK_ADDRESS (SN), FL_TLS, FL_VERSION. */
fl_launch_verb_fn fl_launch_verb_show;
/* The last --lines lines of its output. */
fl_launch_verb_fn fl_launch_verb_logs;
/* One health check; "NAME healthy" as a note. */
fl_launch_verb_fn fl_launch_verb_health;
/* Check until healthy; on failure its last output and (SL, unless --no-publish) FL_READY=NO
 * FL_ERROR=health_check_timeout (or _failed) published, best effort. e->code FL_EXIT_FAIL when
 * waiting could not help, else FL_EXIT_TIMEOUT. */
fl_launch_verb_fn fl_launch_verb_wait_healthy;
/* The version that will run (pulled, present or the pre-baked one). */
fl_launch_verb_fn fl_launch_verb_image;
/* Health, then readiness (fl_launch_ready_pairs) in one OneGate request. --best-effort: a
 * OneGate failure is a warning and 0. */
fl_launch_verb_fn fl_launch_verb_publish_ready;
/* FL_READY=NO (SN: FL_NODE_READY=NO) and FL_ERROR=a->reason. */
fl_launch_verb_fn fl_launch_verb_publish_error;

/* REASON of publish-error: 1-64 of a-z, 0-9 and _ (FL_LAUNCH_USAGE otherwise). */
int fl_launch_verb_reason_check(const char *reason, struct fl_err *e);

#endif
