/* fl_launch: how a SuperLink or SuperNode runs. From the resolved configuration it derives
 * the docker argv (or the native flower-* argv), the env file and the systemd unit, and an
 * identity hash of the three so a re-run can tell "unchanged" from "changed: restart".
 * Facts: design 01 §2-4, 04 §1.5 §2.5 §8.2, 05 §2 §6, 07; decisions 9 and 10. */
#ifndef FL_LAUNCH_H
#define FL_LAUNCH_H

#include "fl_buf.h"
#include "fl_ctx.h"
#include "fl_diags.h"
#include "fl_err.h"
#include "fl_flower.h"
#include "fl_proc.h"

#include <stdbool.h>
#include <sys/types.h>

#define FL_LAUNCH_FLOWER_DIR  "/opt/flower"
#define FL_LAUNCH_UNIT_DIR    "/etc/systemd/system"
#define FL_LAUNCH_DOCKER      "/usr/bin/docker"
#define FL_LAUNCH_NGINX       "/usr/sbin/nginx" /* the era C Fleet proxy (Debian nginx-light) */
#define FL_LAUNCH_UID         49999
#define FL_LAUNCH_GID         49999
#define FL_LAUNCH_SERVERAPPIO 9091 /* SuperLink ServerAppIo (era A), container-internal */
#define FL_LAUNCH_CLIENTAPPIO 9094 /* SuperNode ClientAppIo / Runtime API */
#define FL_LAUNCH_HEALTH_PORT 9099 /* SuperLink gRPC health server, loopback only */
#define FL_LAUNCH_ADDR_MAX    300
/* flkit's Python hook (share/python/sitecustomize.py) that applies FL_GRPC_KEEPALIVE_* to
 * Flower's gRPC (Flower 1.25-1.39): where the docker runtime mounts it, read-only. */
#define FL_LAUNCH_PYHOOK_MOUNT "/opt/flkit/python"

enum fl_runtime { FL_RUNTIME_DOCKER, FL_RUNTIME_PROCESS };

/* --gpu: auto (the default) asks fl-gpucheck's verdict in-process (fl_gpu_detect); yes and no
 * are the operator's word (yes: trust that a GPU works; no: CPU). FL_GPU_ENABLED=NO wins over
 * all three: no detection, no GPU flag. */
enum fl_launch_gpu_mode { FL_LAUNCH_GPU_AUTO, FL_LAUNCH_GPU_YES, FL_LAUNCH_GPU_NO };

/* A SuperNode's GPU decision (fl_launch_gpu.c; decision 15): what the plan gives Flower, what
 * start records beside the state file and publish-ready publishes. */
struct fl_launch_gpu {
	bool decided;    /* a SuperNode's decision was made (or read back from the record) */
	bool enabled;    /* FL_GPU_ENABLED=YES */
	bool detected;   /* fl_gpu_detect ran (--gpu auto) */
	bool usable;     /* GPU flags and CUDA variables: FL_GPU_AVAILABLE=YES */
	bool cdi;        /* docker: --device nvidia.com/gpu=all instead of --gpus all */
	char reason[32]; /* FL_GPU_REASON: the verdict's name, no_container_access, operator, disabled */
	char why[2200];  /* not usable: the cause, said after "FL_GPU_ENABLED=YES but " */
	char fix[640];   /* what to do about it; "" when nothing is wrong */
	char name[96];   /* usable and detected: the first usable GPU's */
	long long memory_mb;
	char driver[80];
	unsigned count;
	char event[1200]; /* the spec's gpu_detected / gpu_unavailable line; "" when not detected */
};
enum fl_supervisor { FL_SUPERVISOR_SYSTEMD, FL_SUPERVISOR_NONE };

struct fl_launch_opts {
	unsigned role; /* FL_ROLE_SUPERLINK or FL_ROLE_SUPERNODE */
	enum fl_runtime runtime;
	enum fl_supervisor supervisor;
	const char *flower_dir;    /* state/, certs/, data/, config/, checkpoints/, logs/, run/ */
	const char *unit_dir;      /* where the unit goes */
	const char *docker;        /* absolute path of the docker CLI (the unit needs one) */
	const char *nginx;         /* SL: absolute path of nginx, the era C Fleet proxy (NULL: default) */
	const char *image;         /* repository without tag; NULL: flwr/superlink, flwr/supernode */
	struct fl_version version; /* the Flower that will run: image tag or installed */
	const char *vm_addr;       /* SL: host published in FL_ENDPOINT for a bind-all Fleet address */
	const char *superlink;     /* SN: host[:port], static or discovered */
	bool tls;                  /* SL: FL_TLS_ENABLED; SN: the 02 §2.3 decision */
	bool gpu;                  /* SN: GPU flags and CUDA variables (a usable GPU, or --gpu yes) */
	const struct fl_launch_gpu *gpu_decision; /* SN: why (CDI, the CPU fallback's cause); NULL:
	                                           * o->gpu alone, --gpus all */
	const char *exe;      /* process runtime: absolute path of flower-superlink/-supernode */
	unsigned appio_port;  /* 0: FL_LAUNCH_SERVERAPPIO / FL_LAUNCH_CLIENTAPPIO */
	unsigned health_port; /* SL: 0 none */
	uid_t uid;            /* owner of container-visible directories; process unit User= */
	gid_t gid;
	const char *metrics_exe; /* absolute path of fl-metrics; NULL: no fl-metrics beside Flower */
	bool onegate;            /* SN: OneGate is configured (ONEGATE_ENDPOINT): the publisher runs */
	const char *pyhook;      /* the host directory of flkit's Python keepalive hook (share/python
	                          * installed as SHAREDIR/python); NULL: not found, keepalive stays
	                          * Flower's own */
	/* pyhook NULL: why the hook directory found was not trusted (another user could change it) */
	const char *pyhook_refused;
};

/* Where things are: derived from the configuration, independent of the Flower version. */
struct fl_launch_addrs {
	char fleet_bind[FL_LAUNCH_ADDR_MAX];  /* FL_FLEET_API_ADDRESS as given */
	char fleet_probe[FL_LAUNCH_ADDR_MAX]; /* where to dial it (bind-all -> loopback) */
	char endpoint[FL_LAUNCH_ADDR_MAX];    /* FL_ENDPOINT: vm address:fleet port */
	char control[FL_LAUNCH_ADDR_MAX];     /* where the flwr CLI connects (loopback) */
	char health[FL_LAUNCH_ADDR_MAX];      /* SL gRPC health server, "" when none */
	char superlink[FL_LAUNCH_ADDR_MAX];   /* SN --superlink */
	char proxy[FL_LAUNCH_ADDR_MAX];       /* SL era C: where the Fleet proxy listens, "" none */
	unsigned fleet_port, control_port;
};

struct fl_launch_plan {
	char name[32]; /* flower-superlink / flower-supernode */
	char *unit_path, *env_path, *state_path, *log_path, *pid_path;
	struct fl_launch_addrs a;
	struct fl_argv argv;   /* docker run ... (docker) or the flower-* command (process) */
	struct fl_argv flower; /* the Flower part alone: what follows the image in argv */
	struct fl_buf env;     /* the env file */
	struct fl_buf unit;    /* the systemd unit */
	char *image;           /* repository:tag (docker) */
	char version[32];      /* the Flower version planned for */
	char hash[65];         /* sha256 of argv, env and unit */
	struct fl_argv dirs;   /* directories to create: "MODE OWNER PATH" (owner: 0 root, 1 uid) */
	/* SuperLink, era C (unless FL_CONTROL_API_EXPOSED=YES): Flower listens on 127.0.0.1 only
	 * and nginx faces the network, passing the Fleet routes alone. The names and paths are
	 * set for every SuperLink plan so that stop and a switch of era find a proxy left running. */
	bool proxied;
	char proxy_name[40]; /* flower-superlink-proxy */
	char *proxy_conf_path, *proxy_unit_path, *proxy_pid_path, *proxy_log_path, *proxy_prefix;
	struct fl_argv proxy_argv; /* nginx -c CONF -p PREFIX -e stderr */
	struct fl_buf proxy_conf;  /* nginx.conf */
	struct fl_buf proxy_unit;  /* its systemd unit */
	/* fl-metrics beside Flower (fl_launch_metrics.c): `serve` on a SuperLink with
	 * FL_METRICS_ENABLED=YES, `publish` on a SuperNode with OneGate. Names and paths are set for
	 * every plan so that a start without it stops and removes one left by an earlier start. */
	bool metrics;
	char metrics_name[48];                     /* flower-metrics / flower-metrics-publish */
	char metrics_endpoint[FL_LAUNCH_ADDR_MAX]; /* SL: where Prometheus scrapes, "" none */
	char *metrics_unit_path, *metrics_pid_path, *metrics_log_path, *metrics_state_path;
	struct fl_argv metrics_argv; /* fl-metrics serve|publish ... */
	struct fl_buf metrics_unit;  /* its systemd unit */
	/* SuperNode: the GPU decision recorded at start (config/flower-supernode.gpu, KEY=VALUE) for
	 * publish-ready; NULL on a SuperLink. */
	char *gpu_path;
	/* The DCGM exporter beside a SuperNode with a usable GPU (fl_launch_dcgm.c, design 04
	 * §3.4). The unit's path is set for every docker SuperNode plan so that a start with DCGM off
	 * stops and removes one an earlier start left. */
	bool dcgm;
	char *dcgm_unit_path, *dcgm_image;
	struct fl_buf dcgm_unit; /* dcgm-exporter.service */
};

/* The rules for --image (a docker repository name, no tag) and --flower-dir (no ':' or ','
 * that docker -v would split at) under the docker runtime: 0 ok, -1 with a usage error. */
int fl_launch_check_image(const char *repo, struct fl_err *e);
int fl_launch_check_dir(const char *dir, struct fl_err *e);

/* Addresses alone (health, publication): no version, no files. */
int fl_launch_addrs(const struct fl_ctx *c, const struct fl_launch_opts *o, struct fl_launch_addrs *a,
                    struct fl_diags *d, struct fl_err *e);
/* Everything for o->role; notes and warnings go to d. */
int fl_launch_plan(const struct fl_ctx *c, const struct fl_launch_opts *o, struct fl_launch_plan *p,
                   struct fl_diags *d, struct fl_err *e);
void fl_launch_plan_free(struct fl_launch_plan *p);

/* One argv element as systemd's ExecStart= reads it back ($ -> $$, % -> %%, quoted when it
 * holds blanks, quotes or backslashes). */
void fl_launch_unit_quote(struct fl_buf *b, const char *arg);

/* The two comment lines every unit fl-launch writes opens with (NAME.service, the version, how
 * to change it). */
void fl_launch_unit_header(struct fl_buf *b, const char *name);
/* The state file a start records (hash, then the argv one element per line) and its reading:
 * what changed between two argvs, for the "restarting because" line. */
void fl_launch_state_render(const struct fl_launch_plan *p, struct fl_buf *out);
int fl_launch_state_hash(const char *text, char out[65]);
/* Human summary of argv differences between a state file's text and the plan ("--superlink
 * 10.0.0.5:9092 -> 10.0.0.7:9092", "+--gpus all", "env file", "unit"). */
void fl_launch_state_diff(const char *old_text, const struct fl_launch_plan *p, struct fl_buf *out);

/* fl-metrics beside Flower, into p (after fl_launch_plan): names and paths always; argv and
 * unit when o->metrics_exe is set and the configuration asks for it (SL: FL_METRICS_ENABLED=YES;
 * SN: o->onegate). Notes and warnings go to d. Not part of p->hash: a metrics change restarts
 * fl-metrics, never Flower. */
void fl_launch_metrics_plan(const struct fl_ctx *c, const struct fl_launch_opts *o, struct fl_launch_plan *p,
                            struct fl_diags *d);
/* 1 when fl-metrics runs beside Flower, 0 not, -1 cannot tell (e). */
int fl_launch_metrics_running(const struct fl_launch_plan *p, const struct fl_launch_opts *o, pid_t *pid,
                              struct fl_err *e);

/* --- the GPU (fl_launch_gpu.c) --- */

/* The decision for a SuperNode (o->role, o->runtime) as mode and FL_GPU_ENABLED say; root: the
 * machine's tree for detection (NULL: "/"; tests name a fixture). auto: fl_gpu_detect (with the
 * container scan under docker) in-process; usable but no container access under docker is a
 * CPU fallback too. Notes of the verdict go to d as warnings. Never fails: a machine that
 * cannot be read is a GPU that is not usable. */
void fl_launch_gpu_decide(const struct fl_ctx *c, const struct fl_launch_opts *o,
                          enum fl_launch_gpu_mode mode, const char *root, struct fl_launch_gpu *g,
                          struct fl_diags *d);
/* The record start keeps (FL_GPU_AVAILABLE, FL_GPU_REASON, FL_GPU_NAME, FL_GPU_MEMORY_MB,
 * FL_GPU_DRIVER, FL_GPU_CDI lines), rendered and written atomically (0600). */
void fl_launch_gpu_render(const struct fl_launch_gpu *g, struct fl_buf *out);
int fl_launch_gpu_record(const char *path, const struct fl_launch_gpu *g, struct fl_err *e);
/* Read it back into g (zeroed first): 0, or -1 when there is none or it is not one (a foreign
 * line, a value with control characters, over 4 KiB). */
int fl_launch_gpu_recorded(const char *path, struct fl_launch_gpu *g);
/* What publish-ready adds: FL_GPU_AVAILABLE=YES|NO and, when YES and known, FL_GPU_NAME,
 * FL_GPU_MEMORY_MB, FL_GPU_DRIVER. */
void fl_launch_gpu_pairs(const struct fl_launch_gpu *g, struct fl_argv *pairs);

/* --- the DCGM exporter (fl_launch_dcgm.c) --- */

#define FL_LAUNCH_DCGM_NAME  "dcgm-exporter"
#define FL_LAUNCH_DCGM_IMAGE "nvcr.io/nvidia/k8s/dcgm-exporter:4.5.1-4.8.0-distroless"
#define FL_LAUNCH_DCGM_PORT  9400

/* Into p (after fl_launch_plan): the unit's path for every docker SuperNode; the unit when
 * FL_DCGM_ENABLED=YES, FL_GPU_ENABLED=YES and o->gpu; else the spec's INFO or WARNING line
 * saying why not, into d. Not part of p->hash: a DCGM change never restarts Flower. */
void fl_launch_dcgm_plan(const struct fl_ctx *c, const struct fl_launch_opts *o, struct fl_launch_plan *p,
                         struct fl_diags *d);
/* 1 when the exporter's unit is active, 0 not (or none), -1 cannot tell (e). */
int fl_launch_dcgm_running(const struct fl_launch_plan *p, const struct fl_launch_opts *o, struct fl_err *e);

/* The Fleet API routes (POST) a SuperNode of Flower 1.40+ calls: all the proxy passes. */
extern const char *const fl_launch_fleet_routes[];

/* --- running it (fl_launch_run.c) --- */

/* Directories, env file and unit, each replaced atomically and only when its content
 * differs. *changed tells whether the unit file changed (systemd needs a daemon-reload). */
int fl_launch_install(const struct fl_launch_plan *p, const struct fl_launch_opts *o, bool *unit_changed,
                      struct fl_err *e);

enum fl_launch_action { FL_LAUNCH_STARTED, FL_LAUNCH_UNCHANGED, FL_LAUNCH_RESTARTED };

/* Install, then start the service unless it already runs this plan; when it runs another,
 * restart it and say why in `why` (see fl_launch_state_diff). Idempotent. */
int fl_launch_start(const struct fl_launch_plan *p, const struct fl_launch_opts *o,
                    enum fl_launch_action *act, struct fl_buf *why, struct fl_err *e);
/* Stop it (systemctl stop, or SIGTERM to the process group then SIGKILL after grace_ms). */
int fl_launch_stop(const struct fl_launch_plan *p, const struct fl_launch_opts *o, long grace_ms,
                   struct fl_err *e);
/* 1 running, 0 not, -1 cannot tell (e). *pid gets the process when known. */
int fl_launch_running(const struct fl_launch_plan *p, const struct fl_launch_opts *o, pid_t *pid,
                      struct fl_err *e);
/* The same for the Fleet proxy (0 when the plan has none and none runs). */
int fl_launch_proxy_running(const struct fl_launch_plan *p, const struct fl_launch_opts *o, pid_t *pid,
                            struct fl_err *e);
/* The last lines of its output (docker logs, or the log file), at most max_lines. */
void fl_launch_log_tail(const struct fl_launch_plan *p, const struct fl_launch_opts *o, unsigned max_lines,
                        struct fl_buf *out);

/* `docker info` every interval_ms until it answers or timeout_ms passes (exit code 3). */
int fl_launch_wait_docker(const char *docker, long timeout_ms, long interval_ms, struct fl_err *e);

/* Version override (01 §2 step 10): the requested version if its image is present or can
 * be pulled, else the pre-baked one with a warning. prebaked_file holds "X.Y.Z". */
int fl_launch_image(const char *docker, const char *repo, const char *requested, const char *prebaked_file,
                    long pull_timeout_ms, struct fl_version *effective, struct fl_diags *d, struct fl_err *e);

/* SuperNode with TLS: does the installed CA verify the SuperLink's certificate? -1 when the
 * SuperLink answered with a certificate the CA rejects (final: Flower does not retry that);
 * 0 otherwise, *reached telling whether the SuperLink answered at all. */
int fl_launch_trust_check(const struct fl_launch_plan *p, const struct fl_launch_opts *o, bool *reached,
                          struct fl_err *e);

/* One health check. SuperLink: the Fleet API answers a TLS handshake verified with the CA
 * (TCP connect when insecure) and the gRPC health service says SERVING; in era C with the
 * proxy, the proxy runs and answers on the published address and Flower on its loopback port. SuperNode:
 * running, registered since its last start (the "SuperNode ID:" line) and, with TLS, the SuperLink's
 * certificate verifies with the installed CA. 0 healthy; -1 with e (FL_EXIT_FAIL, and
 * *final set when waiting cannot help: process gone, certificate rejected). */
int fl_launch_health(const struct fl_launch_plan *p, const struct fl_launch_opts *o, bool *final,
                     struct fl_err *e);

/* --- readiness (fl_launch_publish.c) --- */

/* The Flower version that runs: what the last start recorded, else the planned one. */
void fl_launch_running_version(const struct fl_launch_plan *p, char *out, size_t n);
/* What a healthy node publishes. SuperLink: FL_READY=YES, FL_ENDPOINT, FL_VERSION,
 * FL_ROLE=superlink, FL_TLS (+ FL_CA_CERT, base64 of certs/ca.crt); SuperNode:
 * FL_NODE_READY=YES, FL_NODE_ID=vmid, FL_VERSION. The caller checks health first. */
int fl_launch_ready_pairs(const struct fl_launch_plan *p, const struct fl_launch_opts *o, const char *vmid,
                          struct fl_argv *pairs, struct fl_err *e);
/* All pairs in one PUT /vm; with erase_error, an FL_ERROR the VM holds is erased after. */
struct fl_identity;
int fl_launch_publish(const struct fl_identity *id, const struct fl_argv *pairs, bool erase_error,
                      struct fl_err *e);
/* fl_launch_health every interval_ms until healthy (0), a final failure (-1, *final), or
 * timeout_ms (-1, FL_EXIT_TIMEOUT). */
int fl_launch_wait_healthy(const struct fl_launch_plan *p, const struct fl_launch_opts *o, long timeout_ms,
                           long interval_ms, bool *final, struct fl_err *e);
/* bin: the executable, or a directory holding `name`; NULL: look `name` up in PATH. */
int fl_launch_find_exe(const char *bin, const char *name, char *out, size_t n, struct fl_err *e);

#endif
