/* fl_gpu_container: can a container use the GPU? Docker's daemon.json (runtimes.nvidia, parsed
 * with jansson), a CDI spec for nvidia.com/gpu in /etc/cdi or /var/run/cdi, the docker flags
 * that follow, the optional container smoke test, and nvidia-smi as a cross-check. Facts:
 * design 04 §1.4 §1.5 §8.1, 08 §3. */
#ifndef FL_GPU_CONTAINER_H
#define FL_GPU_CONTAINER_H

#include "fl_argv.h"
#include "fl_buf.h"
#include "fl_gpu.h"

#include <stdbool.h>
#include <stddef.h>

/* The smoke test's default image (spec: nvidia/cuda:12.0-base, a tag that does not exist). */
#define FL_GPU_SMOKE_IMAGE "nvidia/cuda:12.0.0-base-ubuntu22.04"

enum fl_gpu_access {
	FL_GPU_ACCESS_NONE,    /* neither: a container would see no GPU */
	FL_GPU_ACCESS_RUNTIME, /* runtimes.nvidia in daemon.json: --gpus all */
	FL_GPU_ACCESS_CDI,     /* a CDI spec and Docker's CDI feature: --device nvidia.com/gpu=all */
};

struct fl_gpu_container {
	char daemon_path[512];
	int daemon_json;     /* 1 read and parsed, 0 absent, -1 unreadable or not JSON (error) */
	bool runtime_nvidia; /* runtimes.nvidia with a path */
	bool default_nvidia; /* default-runtime is nvidia */
	bool cdi_feature;    /* features.cdi is true */
	char cdi_spec[512];  /* the first CDI spec declaring kind nvidia.com/gpu; "" none */
	enum fl_gpu_access access;
	char error[512]; /* why daemon.json or a CDI spec could not be used; "" */
};

/* Read daemon.json and the CDI directories under env (c zeroed first); decide access. */
void fl_gpu_container_scan(const struct fl_gpu_env *env, struct fl_gpu_container *c);
/* daemon.json's bytes into c (fuzzed): 0, or -1 with c->error (line and column of bad JSON). */
int fl_gpu_container_parse_daemon(const char *text, size_t n, struct fl_gpu_container *c);
/* A CDI spec's bytes (YAML or JSON): true when it declares kind nvidia.com/gpu (fuzzed). */
bool fl_gpu_container_parse_cdi(const char *text, size_t n);
/* The docker run flags for c->access, appended to v ("--gpus" "all" / "--device"
 * "nvidia.com/gpu=all"; none for NONE). */
void fl_gpu_container_flags(const struct fl_gpu_container *c, struct fl_argv *v);
/* `docker run --rm FLAGS IMAGE nvidia-smi -L` with a built environment and env->timeout_ms:
 * 0 ok; -1 with the reason and the output's last lines in msg; 3 in *code when docker is
 * absent or its daemon does not answer, else 1. */
int fl_gpu_container_smoke(const struct fl_gpu_env *env, const struct fl_gpu_container *c, int *code,
                           char *msg, size_t n);

/* nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader */
struct fl_gpu_smi {
	int status;     /* 0 ran and parsed, -1 not installed, 1 failed (rc, output) */
	int rc;         /* its exit status */
	unsigned count; /* lines parsed */
	char name[96];  /* first GPU */
	long long memory_mb;
	char driver[80];
	char output[256]; /* its first line of output when it failed */
};
/* Run it (env->nvidia_smi; "" or absent: status -1) and parse the first line. */
void fl_gpu_smi_query(const struct fl_gpu_env *env, struct fl_gpu_smi *s);
/* Its CSV output (fuzzed): 0, or -1 when the first line is not "name, N MiB, version". */
int fl_gpu_smi_parse(const char *text, size_t n, struct fl_gpu_smi *s);

#endif
