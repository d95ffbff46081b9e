/* fl_launch: the docker argv, native argv, env file and systemd unit of a SuperLink or
 * SuperNode, derived from the typed configuration (design 01 §4, 04 §8.2, 05 §2.1-2.2). The
 * configuration passed fl_validate_ctx for the role, so fields are read as they are; only the
 * addresses a plan binds or dials are confirmed by their registry rule (fl_validate_var), so that
 * a caller that skipped validation gets validation's message rather than a default in their place. */
#include "fl_launch.h"

#include "fl_check.h"
#include "fl_flwrcfg.h"
#include "fl_hostport.h"
#include "fl_log.h"
#include "fl_validate.h"
#include "fl_var.h"

#include <inttypes.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The SuperNode's --superlink from a discovery result (another input than the validated
 * context): a port is appended only to a bare host (decision 9), then the one grammar. */
static int superlink_discovered(const char *in, char *out, size_t n, struct fl_diags *d, struct fl_err *e)
{
	const char *colon = strrchr(in, ':');
	bool bare_v6 = in[0] != '[' && colon && strchr(in, ':') != colon;
	bool bracketed_only = in[0] == '[' && in[strlen(in) - 1] == ']';
	if (bare_v6 || bracketed_only || !colon) {
		if (bare_v6)
			snprintf(out, n, "[%s]:9092", in);
		else
			snprintf(out, n, "%s:9092", in);
		fl_diags_add(d, FL_INFO, "SuperLink address '%.200s' has no port: using %s", in, out);
	} else {
		snprintf(out, n, "%s", in);
	}
	struct fl_hostport hp;
	struct fl_err pe = {0};
	if (fl_hostport_parse(out, &hp, &pe) < 0)
		return fl_err_set(e, FL_EXIT_FAIL, "SuperLink address: %s", pe.msg);
	return 0;
}

/* The SuperNode's --superlink: FL_SUPERLINK_ADDRESS (as parsed), else the discovery result. */
static int supernode_addrs(const struct fl_ctx *c, const struct fl_launch_opts *o, struct fl_launch_addrs *a,
                           struct fl_diags *d, struct fl_err *e)
{
	if (c->conf.set[FLV_FL_SUPERLINK_ADDRESS]) {
		if (fl_validate_var(c, FLV_FL_SUPERLINK_ADDRESS, e) < 0)
			return -1;
		fl_hostport_format(&c->conf.FL_SUPERLINK_ADDRESS, a->superlink, sizeof a->superlink);
		return 0;
	}
	if (!o->superlink || !*o->superlink)
		return fl_err_set(e, FL_EXIT_FAIL,
		                  "No SuperLink address: FL_SUPERLINK_ADDRESS is not set and no discovery "
		                  "result was given (run `fl-onegate discover -o FILE` and pass --discovery "
		                  "FILE)");
	return superlink_discovered(o->superlink, a->superlink, sizeof a->superlink, d, e);
}

/* The SuperLink's ports: Fleet, Control, ServerAppIo and health all distinct. */
static int superlink_ports(const struct fl_launch_opts *o, unsigned fleet, unsigned control, struct fl_err *e)
{
	if (fleet == control)
		return fl_err_set(
		    e, FL_EXIT_FAIL,
		    "FL_FLEET_API_ADDRESS and FL_CONTROL_API_ADDRESS both use port %u; give the "
		    "Control API its own port (default 9093)",
		    fleet);
	unsigned appio = o->appio_port ? o->appio_port : FL_LAUNCH_SERVERAPPIO;
	unsigned health = o->health_port;
	if (appio == fleet || appio == control ||
	    (health && (health == appio || health == fleet || health == control)))
		return fl_err_set(e, FL_EXIT_FAIL,
		                  "port clash between the Fleet (%u), Control (%u), ServerAppIo (%u) and "
		                  "health (%u) ports; choose distinct ports",
		                  fleet, control, appio, health);
	return 0;
}

/* Era C serves the Control API on the Fleet port: unless FL_CONTROL_API_EXPOSED=YES, the proxy
 * listens where the Fleet API is published (never on every interface), Flower itself on
 * 127.0.0.1 at the Control port, where the flwr CLI connects. A native process has no port
 * mapping. */
static void superlink_control(const struct fl_ctx *c, const struct fl_launch_opts *o,
                              struct fl_launch_addrs *a, struct fl_diags *d)
{
	const struct fl_hostport *fleet = &c->conf.FL_FLEET_API_ADDRESS;
	unsigned control = c->conf.FL_CONTROL_API_ADDRESS.port;
	bool shared = o->version.major && fl_flower_version_era(&o->version) == FL_ERA_C;
	if (shared && !c->conf.FL_CONTROL_API_EXPOSED) {
		if (!fleet->is_any)
			fl_hostport_join(a->proxy, sizeof a->proxy, fleet->host, fleet->port);
		else if (o->vm_addr && *o->vm_addr)
			fl_hostport_join(a->proxy, sizeof a->proxy, o->vm_addr, fleet->port);
		else
			fl_hostport_join(a->proxy, sizeof a->proxy, fleet->is_ipv6 ? "::1" : "127.0.0.1",
			                 fleet->port);
		if (fleet->is_any && !a->endpoint[0] && o->runtime == FL_RUNTIME_PROCESS)
			fl_diags_add(d, FL_WARN,
			             "the VM's address is unknown: the Fleet proxy listens on %s only and "
			             "SuperNodes cannot reach it; pass --addr IP or set FL_FLEET_API_ADDRESS "
			             "to the address to serve",
			             a->proxy);
		snprintf(a->fleet_probe, sizeof a->fleet_probe, "%s", a->proxy);
		fl_hostport_join(a->control, sizeof a->control, "127.0.0.1", control);
	} else if (shared && o->runtime == FL_RUNTIME_PROCESS) {
		snprintf(a->control, sizeof a->control, "%s", a->fleet_probe);
	} else {
		fl_hostport_join(a->control, sizeof a->control, "127.0.0.1", control);
	}
}

static int superlink_addrs(const struct fl_ctx *c, const struct fl_launch_opts *o, struct fl_launch_addrs *a,
                           struct fl_diags *d, struct fl_err *e)
{
	/* A listen address, published with docker -p: an IP address, never a name. */
	if (fl_validate_var(c, FLV_FL_FLEET_API_ADDRESS, e) < 0 ||
	    fl_validate_var(c, FLV_FL_CONTROL_API_ADDRESS, e) < 0)
		return -1;
	const struct fl_hostport *fleet = &c->conf.FL_FLEET_API_ADDRESS;
	const struct fl_hostport *control = &c->conf.FL_CONTROL_API_ADDRESS;
	if (superlink_ports(o, fleet->port, control->port, e) < 0)
		return -1;
	a->fleet_port = fleet->port;
	a->control_port = control->port;
	fl_hostport_format(fleet, a->fleet_bind, sizeof a->fleet_bind);
	struct fl_hostport probe = *fleet;
	fl_hostport_loopback(&probe);
	fl_hostport_format(&probe, a->fleet_probe, sizeof a->fleet_probe);
	if (!fleet->is_any)
		fl_hostport_join(a->endpoint, sizeof a->endpoint, fleet->host, fleet->port);
	else if (o->vm_addr && *o->vm_addr)
		fl_hostport_join(a->endpoint, sizeof a->endpoint, o->vm_addr, fleet->port);
	/* else fail closed: no address, nothing a SuperNode could use is claimed. */
	if (fleet->is_any && !a->endpoint[0] && o->runtime == FL_RUNTIME_DOCKER)
		fl_diags_add(d, FL_WARN,
		             "the VM's address is unknown: the Fleet API is published on 127.0.0.1 only and "
		             "SuperNodes cannot reach it; pass --addr IP or set FL_FLEET_API_ADDRESS to the "
		             "address to serve");
	superlink_control(c, o, a, d);
	if (c->conf.set[FLV_FL_CONTROL_API_ADDRESS] && strcmp(control->host, "127.0.0.1") != 0 &&
	    strcmp(control->host, "localhost") != 0)
		fl_diags_add(
		    d, FL_WARN,
		    "FL_CONTROL_API_ADDRESS host '%s' not used: the Control API accepts code to run and "
		    "is served on 127.0.0.1:%u only (reach it with ssh -L %u:127.0.0.1:%u)",
		    control->host, control->port, control->port, control->port);
	if (o->health_port)
		fl_hostport_join(a->health, sizeof a->health, "127.0.0.1", o->health_port);
	return 0;
}

int fl_launch_addrs(const struct fl_ctx *c, const struct fl_launch_opts *o, struct fl_launch_addrs *a,
                    struct fl_diags *d, struct fl_err *e)
{
	memset(a, 0, sizeof *a);
	if (o->role == FL_ROLE_SUPERNODE)
		return supernode_addrs(c, o, a, d, e);
	return superlink_addrs(c, o, a, d, e);
}

int fl_launch_check_image(const char *repo, struct fl_err *e)
{
	if (fl_check_image_repo(repo))
		return 0;
	return fl_err_set(e, FL_EXIT_USAGE,
	                  "--image '%.200s' is not a docker repository name: lower-case letters and "
	                  "digits in parts joined by '/', '.', '_' or '-', optionally after a registry "
	                  "host[:port]/, and no tag (FLOWER_VERSION is the tag); e.g. flwr/superlink or "
	                  "registry.example.com:5000/flwr/superlink",
	                  repo);
}

int fl_launch_check_dir(const char *dir, struct fl_err *e)
{
	if (!strpbrk(dir, ":,"))
		return 0;
	return fl_err_set(e, FL_EXIT_USAGE,
	                  "--flower-dir '%.200s' holds ':' or ',', where docker -v splits its argument "
	                  "(the container would get another directory); choose a directory without them",
	                  dir);
}

static const char *rolename(unsigned role)
{
	return role == FL_ROLE_SUPERLINK ? "superlink" : "supernode";
}

static char *path2(const char *a, const char *b)
{
	char *s = NULL;
	if (asprintf(&s, "%s/%s", a, b) < 0)
		abort();
	return s;
}

static void dir_add(struct fl_launch_plan *p, const char *mode, bool owned, const char *path)
{
	fl_argv_addf(&p->dirs, "%s %d %s", mode, owned ? 1 : 0, path);
}

/* Keepalive (design 04 §2.5). Flower reads no keepalive variable: with a gRPC Fleet API (eras A
 * and B) flkit's Python hook, on PYTHONPATH, applies FLOWER_GRPC_KEEPALIVE_*_MS to its gRPC
 * channels and servers. From 1.40 (era C) the SuperNode reaches the Fleet API over HTTP and
 * closes an idle connection after 5 s (httpx's pool), so gRPC keepalive has nothing to act on:
 * said as a warning when the operator set a value, as a note for the defaults. */
static void keepalive_env(const struct fl_ctx *c, const struct fl_launch_opts *o, struct fl_buf *b,
                          struct fl_diags *d)
{
	const struct fl_conf *k = &c->conf;
	int64_t t_ms = k->FL_GRPC_KEEPALIVE_TIME, to_ms = k->FL_GRPC_KEEPALIVE_TIMEOUT;
	/* Written for the record in every era (the spec's flower.env has them). */
	fl_buf_addf(b, "FLOWER_GRPC_KEEPALIVE_TIME_MS=%" PRId64 "\n", t_ms);
	fl_buf_addf(b, "FLOWER_GRPC_KEEPALIVE_TIMEOUT_MS=%" PRId64 "\n", to_ms);
	char v[32];
	fl_flower_version_format(&o->version, v, sizeof v);
	if (fl_flower_version_era(&o->version) == FL_ERA_C) {
		struct fl_buf why = FL_BUF_INIT;
		if (fl_validate_keepalive_http(c, &o->version, &why))
			fl_diags_add(d, FL_WARN, "%s", fl_buf_str(&why));
		else
			fl_diags_add(d, FL_INFO,
			             "gRPC keepalive: not applied, Flower %s reaches the Fleet API over HTTP",
			             v);
		fl_buf_free(&why);
		return;
	}
	fl_diags_add(d, FL_INFO,
	             "gRPC keepalive: time=%" PRId64 "s (%" PRId64 "ms), timeout=%" PRId64 "s (%" PRId64
	             "ms)",
	             t_ms / 1000, t_ms, to_ms / 1000, to_ms);
	if (o->pyhook)
		fl_buf_addf(b, "PYTHONPATH=%s\n",
		            o->runtime == FL_RUNTIME_DOCKER ? FL_LAUNCH_PYHOOK_MOUNT : o->pyhook);
	else if (o->pyhook_refused)
		fl_diags_add(d, FL_WARN,
		             "flkit's Python hook is not used (Python would run it inside Flower, and %s): "
		             "Flower %s keeps its own gRPC keepalive, FL_GRPC_KEEPALIVE_TIME/_TIMEOUT do "
		             "not reach it; make the hook directory and those above it root's, writable by "
		             "root alone (chown root:, chmod go-w), or reinstall flkit",
		             o->pyhook_refused, v);
	else
		fl_diags_add(d, FL_WARN,
		             "flkit's Python hook (share/python/sitecustomize.py, installed as "
		             "SHAREDIR/python beside fl-launch's BINDIR) was not found: Flower %s keeps its "
		             "own gRPC keepalive, FL_GRPC_KEEPALIVE_TIME/_TIMEOUT do not reach it; reinstall "
		             "flkit",
		             v);
	if (o->role == FL_ROLE_SUPERNODE && t_ms < 30000)
		fl_diags_add(d, FL_WARN,
		             "FL_GRPC_KEEPALIVE_TIME=%" PRId64
		             " is below 30 s: a SuperLink that accepts pings at "
		             "most every 30 s answers with GOAWAY (ENHANCE_YOUR_CALM)",
		             t_ms / 1000);
}

/* The env file: KEY=VALUE lines docker --env-file and systemd EnvironmentFile= both read.
 * Values come from validated variables (enums, numbers), so no quoting is needed. */
static void env_file(const struct fl_ctx *c, const struct fl_launch_opts *o, struct fl_launch_plan *p,
                     struct fl_diags *d)
{
	const struct fl_conf *k = &c->conf;
	struct fl_buf *b = &p->env;
	fl_buf_addf(b, "# %s environment, written by fl-launch %s: do not edit, re-run fl-launch.\n", p->name,
	            FLKIT_VERSION);
	fl_buf_addf(b, "FLWR_LOG_LEVEL=%s\n", fl_ctx_value(c, FLV_FL_LOG_LEVEL));
	keepalive_env(c, o, b, d);
	if (o->role == FL_ROLE_SUPERNODE && o->gpu && k->FL_GPU_ENABLED) {
		fl_buf_addf(b, "FL_GPU_MEMORY_FRACTION=%s\n", fl_ctx_value(c, FLV_FL_GPU_MEMORY_FRACTION));
		if (k->ML_FRAMEWORK == FL_FRAMEWORK_TENSORFLOW)
			fl_buf_adds(b, "TF_FORCE_GPU_ALLOW_GROWTH=true\n");
		const char *cuda = k->FL_CUDA_VISIBLE_DEVICES;
		if (o->runtime == FL_RUNTIME_PROCESS && *cuda && strcmp(cuda, "all") != 0)
			fl_buf_addf(b, "CUDA_VISIBLE_DEVICES=%s\n", cuda);
	}
	if (o->runtime == FL_RUNTIME_PROCESS) {
		/* Flower starts flower-superexec and flwr-* by name: they sit next to exe. */
		const char *slash = strrchr(o->exe, '/');
		fl_buf_addf(b, "PATH=%.*s:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n",
		            (int)(slash - o->exe), o->exe);
		fl_buf_addf(b, "FLWR_HOME=%s/flwr-%s\n", o->flower_dir, rolename(o->role));
		fl_buf_addf(b, "HOME=%s/flwr-%s\n", o->flower_dir, rolename(o->role));
	}
}

static void tls_args(const struct fl_launch_opts *o, struct fl_argv *f)
{
	bool docker = o->runtime == FL_RUNTIME_DOCKER;
	if (!o->tls) {
		fl_argv_add(f, "--insecure");
		return;
	}
	if (o->role == FL_ROLE_SUPERNODE) {
		fl_argv_add(f, "--root-certificates");
		if (docker)
			fl_argv_add(f, "/app/ca.crt");
		else
			fl_argv_addf(f, "%s/certs/ca.crt", o->flower_dir);
		return;
	}
	static const char *const flag[] = {"--ssl-ca-certfile", "--ssl-certfile", "--ssl-keyfile"};
	static const char *const file[] = {"ca.crt", "server.pem", "server.key"};
	for (int i = 0; i < 3; i++) {
		fl_argv_add(f, flag[i]);
		if (docker)
			fl_argv_addf(f, "/app/certificates/%s", file[i]);
		else
			fl_argv_addf(f, "%s/certs/%s", o->flower_dir, file[i]);
	}
}

/* Where Flower listens, by era. In a container Flower binds every interface (what is reachable
 * is decided by -p); a native process binds the Fleet address given and loopback. */
static void superlink_listen(const struct fl_ctx *c, const struct fl_launch_opts *o, struct fl_launch_plan *p,
                             struct fl_diags *d)
{
	struct fl_argv *f = &p->flower;
	bool docker = o->runtime == FL_RUNTIME_DOCKER;
	const struct fl_hostport *fleet = &c->conf.FL_FLEET_API_ADDRESS;
	unsigned appio = o->appio_port ? o->appio_port : FL_LAUNCH_SERVERAPPIO;
	char fleet_bind[FL_LAUNCH_ADDR_MAX], control_bind[FL_LAUNCH_ADDR_MAX];
	if (docker) {
		fl_hostport_join(fleet_bind, sizeof fleet_bind, "0.0.0.0", p->a.fleet_port);
		fl_hostport_join(control_bind, sizeof control_bind, "0.0.0.0", p->a.control_port);
	} else {
		snprintf(fleet_bind, sizeof fleet_bind, "%s", p->a.fleet_bind);
		fl_hostport_join(control_bind, sizeof control_bind, "127.0.0.1", p->a.control_port);
	}
	switch (fl_flower_version_era(&o->version)) {
	case FL_ERA_A:
		fl_argv_add(f, "--fleet-api-address");
		fl_argv_add(f, fleet_bind);
		fl_argv_add(f, "--control-api-address");
		fl_argv_add(f, control_bind);
		fl_argv_add(f, "--serverappio-api-address");
		fl_argv_addf(f, "127.0.0.1:%u", appio);
		break;
	case FL_ERA_B:
		/* 1.35-1.36: the HTTP server carries the Runtime API only (loopback, for the
		 * ServerApp), Control stays gRPC. 1.37+: it carries Control too. Fleet is gRPC. */
		fl_argv_add(f, "--host");
		if (fl_flower_version_at_least(&o->version, 1, 37)) {
			fl_argv_add(f, docker ? "0.0.0.0" : "127.0.0.1");
			fl_argv_add(f, "--port");
			fl_argv_addf(f, "%u", p->a.control_port);
		} else {
			fl_argv_add(f, "127.0.0.1");
			fl_argv_add(f, "--port");
			fl_argv_addf(f, "%u", appio);
			fl_argv_add(f, "--control-api-address");
			fl_argv_add(f, control_bind);
		}
		fl_argv_add(f, "--fleet-api-address");
		fl_argv_add(f, fleet_bind);
		break;
	case FL_ERA_C:
		/* One server for Fleet, Control and Runtime, with no caller authentication: it
		 * listens on loopback only (in a container: published on 127.0.0.1 only) and the
		 * proxy passes the Fleet routes alone; FL_CONTROL_API_EXPOSED=YES is the old way. */
		fl_argv_add(f, "--host");
		if (p->proxied)
			fl_argv_add(f, docker ? "0.0.0.0" : "127.0.0.1");
		else
			fl_argv_add(f, docker ? "0.0.0.0" : fleet->host);
		fl_argv_add(f, "--port");
		fl_argv_addf(f, "%u", p->proxied ? p->a.control_port : p->a.fleet_port);
		if (p->proxied)
			fl_diags_add(
			    d, FL_INFO,
			    "Flower %u.%u serves the Fleet, Control and Runtime APIs on one port: Flower "
			    "listens on %s, the Fleet proxy (nginx) on %s passes the Fleet routes only",
			    o->version.major, o->version.minor, p->a.control, p->a.proxy);
		else
			fl_diags_add(
			    d, FL_WARN,
			    "FL_CONTROL_API_EXPOSED=YES: Flower %u.%u serves the Control and Runtime APIs on "
			    "the Fleet API port %u without authenticating callers: any host that reaches it "
			    "can run code on every SuperNode; set FL_CONTROL_API_EXPOSED=NO to serve the "
			    "Fleet routes only, through the proxy",
			    o->version.major, o->version.minor, p->a.fleet_port);
		break;
	}
}

static void superlink_flower(const struct fl_ctx *c, const struct fl_launch_opts *o, struct fl_launch_plan *p,
                             struct fl_diags *d)
{
	struct fl_argv *f = &p->flower;
	const struct fl_conf *k = &c->conf;
	bool docker = o->runtime == FL_RUNTIME_DOCKER;
	tls_args(o, f);
	fl_argv_add(f, "--isolation");
	fl_argv_add(f, fl_ctx_value(c, FLV_FL_ISOLATION));
	superlink_listen(c, o, p, d);
	fl_argv_add(f, "--database");
	if (docker)
		fl_argv_add(f, k->FL_DATABASE);
	else
		fl_argv_addf(f, "%s/%s", o->flower_dir, k->FL_DATABASE);
	if (o->health_port) {
		fl_argv_add(f, "--health-server-address");
		fl_argv_addf(f, "%s:%u", docker ? "0.0.0.0" : "127.0.0.1", o->health_port);
	}
	/* 1.32+ installs app dependencies per run with `uv sync` unless told not to: an
	 * appliance has no business fetching packages at run time (and often no network). */
	if (fl_flower_version_at_least(&o->version, 1, 32))
		fl_argv_add(f, "--disable-runtime-dependency-installation");
	if (strncmp(k->FL_DATABASE, "state/", 6) != 0)
		fl_diags_add(d, FL_WARN, "FL_DATABASE=%s is outside state/: %s", k->FL_DATABASE,
		             docker ? "it is not on the /app/state volume and is lost with the container"
		                    : "it is not under the state directory");
	if (k->FL_ISOLATION == FL_ISOLATION_PROCESS)
		fl_diags_add(
		    d, FL_WARN,
		    "FL_ISOLATION=process: the SuperLink runs no ServerApp itself; start a SuperExec "
		    "(flower-superexec --plugin-type serverapp) that reaches its ServerAppIo/Runtime API");
}

static int supernode_flower(const struct fl_ctx *c, const struct fl_launch_opts *o, struct fl_launch_plan *p,
                            struct fl_err *e)
{
	struct fl_argv *f = &p->flower;
	const struct fl_conf *k = &c->conf;
	unsigned appio = o->appio_port ? o->appio_port : FL_LAUNCH_CLIENTAPPIO;
	tls_args(o, f);
	fl_argv_add(f, "--superlink");
	fl_argv_add(f, p->a.superlink);
	fl_argv_add(f, "--isolation");
	fl_argv_add(f, fl_ctx_value(c, FLV_FL_ISOLATION));
	/* Flower reads --node-config as TOML values: the converted form, as fl-context prints it. */
	struct fl_buf nc = FL_BUF_INIT;
	if (fl_flwrcfg_node_config(k->FL_NODE_CONFIG, false, false, &nc, e) < 0) {
		fl_buf_free(&nc);
		return -1;
	}
	if (nc.len) {
		fl_argv_add(f, "--node-config");
		fl_argv_add(f, nc.data);
	}
	fl_buf_free(&nc);
	/* Decision 9: 0 means "unlimited", which Flower spells by leaving the flag out. */
	if (k->FL_MAX_RETRIES > 0) {
		fl_argv_add(f, "--max-retries");
		fl_argv_addf(f, "%ld", k->FL_MAX_RETRIES);
	}
	if (k->FL_MAX_WAIT_TIME > 0) {
		fl_argv_add(f, "--max-wait-time");
		fl_argv_addf(f, "%" PRId64, k->FL_MAX_WAIT_TIME / 1000);
	}
	if (fl_flower_version_era(&o->version) == FL_ERA_A) {
		fl_argv_add(f, "--clientappio-api-address");
		fl_argv_addf(f, "127.0.0.1:%u", appio);
	} else {
		fl_argv_add(f, "--host");
		fl_argv_add(f, "127.0.0.1");
		fl_argv_add(f, "--port");
		fl_argv_addf(f, "%u", appio);
	}
	return 0;
}

static void docker_argv(const struct fl_ctx *c, const struct fl_launch_opts *o, struct fl_launch_plan *p,
                        struct fl_diags *d)
{
	const struct fl_conf *k = &c->conf;
	struct fl_argv *v = &p->argv;
	const char *fd = o->flower_dir;
	fl_argv_add(v, o->docker);
	fl_argv_add(v, "run");
	fl_argv_add(v, "--rm");
	fl_argv_add(v, "--name");
	fl_argv_add(v, p->name);
	fl_argv_add(v, "--cap-drop");
	fl_argv_add(v, "ALL");
	fl_argv_add(v, "--security-opt");
	fl_argv_add(v, "no-new-privileges");
	fl_argv_add(v, "--env-file");
	fl_argv_add(v, p->env_path);
	if (o->pyhook && fl_flower_version_era(&o->version) != FL_ERA_C) {
		/* The keepalive hook the env file's PYTHONPATH names (keepalive_env). */
		fl_argv_add(v, "-v");
		fl_argv_addf(v, "%s:" FL_LAUNCH_PYHOOK_MOUNT ":ro", o->pyhook);
	}
	if (o->role == FL_ROLE_SUPERLINK) {
		const struct fl_hostport *fleet = &k->FL_FLEET_API_ADDRESS;
		bool shared = fl_flower_version_era(&o->version) == FL_ERA_C && !p->proxied;
		unsigned cport = shared ? p->a.fleet_port : p->a.control_port;
		/* A bind-all Fleet address is published on the VM's address (what FL_ENDPOINT
		 * names), never on every interface (docker0, tunnels); unknown: loopback only.
		 * With the era C proxy, the proxy alone faces the network. */
		if (!p->proxied) {
			fl_argv_add(v, "-p");
			if (fleet->is_any && o->vm_addr && strchr(o->vm_addr, ':'))
				fl_argv_addf(v, "[%s]:%u:%u", o->vm_addr, fleet->port, fleet->port);
			else if (fleet->is_any && o->vm_addr)
				fl_argv_addf(v, "%s:%u:%u", o->vm_addr, fleet->port, fleet->port);
			else if (fleet->is_any)
				fl_argv_addf(v, "127.0.0.1:%u:%u", fleet->port, fleet->port);
			else if (fleet->is_ipv6)
				fl_argv_addf(v, "[%s]:%u:%u", fleet->host, fleet->port, fleet->port);
			else
				fl_argv_addf(v, "%s:%u:%u", fleet->host, fleet->port, fleet->port);
		}
		fl_argv_add(v, "-p");
		fl_argv_addf(v, "127.0.0.1:%u:%u", p->a.control_port, cport);
		if (o->health_port) {
			fl_argv_add(v, "-p");
			fl_argv_addf(v, "127.0.0.1:%u:%u", o->health_port, o->health_port);
		}
		fl_argv_add(v, "-v");
		fl_argv_addf(v, "%s/state:/app/state", fd);
		if (o->tls) {
			fl_argv_add(v, "-v");
			fl_argv_addf(v, "%s/certs:/app/certificates:ro", fd);
		}
		if (k->FL_CHECKPOINT_ENABLED) {
			fl_argv_add(v, "-v");
			fl_argv_addf(v, "%s/checkpoints:%s", fd, k->FL_CHECKPOINT_PATH);
		}
	} else {
		fl_argv_add(v, "-v");
		fl_argv_addf(v, "%s/data:/app/data:ro", fd);
		if (o->tls) {
			fl_argv_add(v, "-v");
			fl_argv_addf(v, "%s/certs/ca.crt:/app/ca.crt:ro", fd);
		}
		if (k->FL_GPU_ENABLED && o->gpu) {
			/* What the container side has (fl_gpu_container): the nvidia runtime, or CDI. */
			bool cdi = o->gpu_decision && o->gpu_decision->cdi;
			fl_argv_add(v, cdi ? "--device" : "--gpus");
			fl_argv_add(v, cdi ? "nvidia.com/gpu=all" : "all");
			const char *cuda = k->FL_CUDA_VISIBLE_DEVICES;
			/* Decision 9: "all" is not a CUDA_VISIBLE_DEVICES value. */
			if (*cuda && strcmp(cuda, "all") != 0) {
				fl_argv_add(v, "-e");
				fl_argv_addf(v, "CUDA_VISIBLE_DEVICES=%s", cuda);
			}
			fl_diags_add(d, FL_INFO, "GPU passthrough enabled");
		}
	}
	fl_argv_add(v, p->image);
	for (size_t i = 0; i < p->flower.n; i++)
		fl_argv_add(v, p->flower.v[i]);
}

void fl_launch_unit_quote(struct fl_buf *b, const char *arg)
{
	bool quote = !*arg || strpbrk(arg, " \t\"'\\;") != NULL;
	for (const unsigned char *u = (const unsigned char *)arg; *u && !quote; u++)
		quote = *u < 0x20 || *u == 0x7f;
	if (quote)
		fl_buf_addc(b, '"');
	for (const char *s = arg; *s; s++) {
		unsigned char c = (unsigned char)*s;
		switch (c) {
		case '$': fl_buf_adds(b, "$$"); break;
		case '%': fl_buf_adds(b, "%%"); break;
		case '"': fl_buf_adds(b, "\\\""); break;
		case '\\': fl_buf_adds(b, "\\\\"); break;
		case '\n': fl_buf_adds(b, "\\n"); break;
		case '\t': fl_buf_adds(b, "\\t"); break;
		default:
			/* systemd reads C escapes inside quotes: no control byte reaches the file. */
			if (c < 0x20 || c == 0x7f)
				fl_buf_addf(b, "\\x%02x", c);
			else
				fl_buf_addc(b, (char)c);
		}
	}
	if (quote)
		fl_buf_addc(b, '"');
}

static void exec_line(struct fl_buf *b, const char *key, char *const *argv, size_t n)
{
	fl_buf_adds(b, key);
	for (size_t i = 0; i < n; i++) {
		/* One option (with its value) per continuation line keeps diffs readable; the
		 * docker verb stays with the command, the image gets a line of its own. */
		bool opt = argv[i][0] == '-';
		bool value = i > 0 && argv[i - 1][0] == '-' && !opt;
		if (i == 1 && !opt)
			fl_buf_addc(b, ' ');
		else if (i > 0)
			fl_buf_adds(b, value ? " " : " \\\n    ");
		fl_launch_unit_quote(b, argv[i]);
	}
	fl_buf_addc(b, '\n');
}

void fl_launch_unit_header(struct fl_buf *b, const char *name)
{
	fl_buf_addf(b,
	            "# %s.service, written by fl-launch %s: do not edit; change the context and run\n"
	            "# `fl-launch start` again (it restarts the service only when this file changes).\n",
	            name, FLKIT_VERSION);
}

static void unit_file(const struct fl_launch_opts *o, struct fl_launch_plan *p)
{
	struct fl_buf *b = &p->unit;
	bool docker = o->runtime == FL_RUNTIME_DOCKER;
	fl_launch_unit_header(b, p->name);
	fl_buf_addf(b, "[Unit]\nDescription=%s\nDocumentation=man:fl-launch(1)\n",
	            o->role == FL_ROLE_SUPERLINK ? "Flower SuperLink (Federated Learning Coordinator)"
	                                         : "Flower SuperNode (Federated Learning Client)");
	if (docker)
		fl_buf_adds(b, "After=docker.service network-online.target\nRequires=docker.service\n");
	else
		fl_buf_adds(b, "After=network-online.target\n");
	fl_buf_adds(b, "Wants=network-online.target\n");
	/* systemd's own restart limit (01 §2 mentions it; the reference unit lacks it). */
	fl_buf_adds(b, "StartLimitIntervalSec=60\nStartLimitBurst=5\n\n[Service]\nType=simple\n");
	if (docker) {
		/* A container left by a crash would make `docker run --name` fail; the unit's own
		 * container is created by ExecStart, so removing a stale one here is safe. */
		fl_buf_addf(b, "ExecStartPre=-%s rm -f %s\n", o->docker, p->name);
		exec_line(b, "ExecStart=", p->argv.v, p->argv.n);
		fl_buf_addf(b, "ExecStop=%s stop -t 30 %s\n", o->docker, p->name);
	} else {
		fl_buf_addf(b, "User=%lu\nGroup=%lu\n", (unsigned long)o->uid, (unsigned long)o->gid);
		fl_buf_addf(b, "WorkingDirectory=%s\nEnvironmentFile=%s\n", o->flower_dir, p->env_path);
		exec_line(b, "ExecStart=", p->argv.v, p->argv.n);
		fl_buf_addf(b, "StandardOutput=append:%s\nStandardError=inherit\n", p->log_path);
		fl_buf_adds(b, "KillMode=control-group\nNoNewPrivileges=yes\n");
	}
	/* always: a SuperNode that exits 0 after a SuperLink restart must come back too. */
	fl_buf_adds(b, "Restart=always\nRestartSec=10\nTimeoutStartSec=120\nTimeoutStopSec=45\n\n"
	               "[Install]\nWantedBy=multi-user.target\n");
}

/* flwr/superlink/routers/fleet/router.py of Flower 1.41 and 1.42 (prefix /v1/fleet, all POST),
 * each called by the SuperNode's flwr/supernode/fleet_http_client.py. */
const char *const fl_launch_fleet_routes[] = {
    "register-node",
    "activate-node",
    "deactivate-node",
    "unregister-node",
    "send-node-heartbeat",
    "pull-messages",
    "push-messages",
    "get-run",
    "get-fab",
    "push-object",
    "pull-object",
    "confirm-message-received",
    NULL,
};

/* Names and paths of the proxy: set for every SuperLink plan (stop must find one left by an
 * earlier era-C start whatever the version now). */
static void proxy_paths(const struct fl_launch_opts *o, struct fl_launch_plan *p)
{
	snprintf(p->proxy_name, sizeof p->proxy_name, "%s-proxy", p->name);
	char file[80];
	snprintf(file, sizeof file, "%s.service", p->proxy_name);
	p->proxy_unit_path = path2(o->unit_dir, file);
	/* Not in config/ (0750 root): the proxy's user reads its configuration but may not
	 * change it; it writes only under its prefix (pid file, empty temp directories). */
	p->proxy_conf_path = path2(o->flower_dir, "proxy/nginx.conf");
	snprintf(file, sizeof file, "run/%s.pid", p->proxy_name);
	p->proxy_pid_path = path2(o->flower_dir, file);
	snprintf(file, sizeof file, "logs/%s.log", p->proxy_name);
	p->proxy_log_path = path2(o->flower_dir, file);
	p->proxy_prefix = path2(o->flower_dir, "proxy/run/");
}

/* nginx.conf: listen on the published Fleet address, pass the Fleet routes (POST) to Flower
 * on loopback, refuse everything else with 403. Paths are quoted (resolve() keeps quotes,
 * backslashes and $ out of them). */
static void proxy_conf(const struct fl_launch_opts *o, struct fl_launch_plan *p)
{
	struct fl_buf *b = &p->proxy_conf;
	const char *fd = o->flower_dir, *pre = p->proxy_prefix;
	fl_buf_addf(b,
	            "# %s: nginx configuration written by fl-launch %s: do not edit; change the\n"
	            "# context and run `fl-launch start` again. Flower 1.40+ serves its Fleet, Control and\n"
	            "# Runtime APIs on one port without authenticating callers, so Flower listens on\n"
	            "# %s only and this proxy passes the Fleet routes a SuperNode calls (POST);\n"
	            "# everything else gets 403. See fl-launch(1), EXPOSURE.\n",
	            p->proxy_name, FLKIT_VERSION, p->a.control);
	fl_buf_addf(b,
	            "daemon off;\nworker_processes 1;\npid \"%snginx.pid\";\nerror_log stderr warn;\n"
	            "events {\n\tworker_connections 1024;\n}\nhttp {\n\taccess_log off;\n"
	            "\tserver_tokens off;\n",
	            pre);
	/* Never the compiled-in /var/lib/nginx: an unprivileged nginx with a prefix of its own. */
	static const char *const temp[] = {"client_body", "proxy", "fastcgi", "uwsgi", "scgi"};
	for (int i = 0; i < 5; i++)
		fl_buf_addf(b, "\t%s_temp_path \"%s%s\";\n", temp[i], pre, temp[i]);
	fl_buf_addf(b, "\tupstream flower {\n\t\tserver %s;\n\t\tkeepalive 16;\n\t}\n", p->a.control);
	fl_buf_addf(b, "\tserver {\n\t\tlisten %s%s;\n", p->a.proxy, o->tls ? " ssl" : "");
	if (o->tls)
		fl_buf_addf(b,
		            "\t\tssl_certificate \"%s/certs/server.pem\";\n"
		            "\t\tssl_certificate_key \"%s/certs/server.key\";\n"
		            "\t\tssl_protocols TLSv1.2 TLSv1.3;\n",
		            fd, fd);
	fl_buf_adds(b,
	            "\t\t# Parameters travel as objects of up to 5 MiB (FLWR_PRIVATE_MAX_ARRAY_CHUNK_SIZE,\n"
	            "\t\t# settable) and a FAB up to 10 MB: no cap (Flower sets none), streamed both ways,\n"
	            "\t\t# never written to disk. Flower's client waits 30 s per call.\n"
	            "\t\tclient_max_body_size 0;\n\t\tproxy_request_buffering off;\n"
	            "\t\tproxy_max_temp_file_size 0;\n\t\tproxy_http_version 1.1;\n"
	            "\t\tproxy_set_header Connection \"\";\n\t\tproxy_connect_timeout 10s;\n"
	            "\t\tproxy_read_timeout 300s;\n\t\tproxy_send_timeout 300s;\n");
	if (o->tls)
		/* Re-encrypted to Flower on loopback, its certificate verified with the CA (nginx
		 * matches DNS names only: fl-certgen's certificate always names localhost). */
		fl_buf_addf(
		    b,
		    "\t\tproxy_ssl_verify on;\n\t\tproxy_ssl_trusted_certificate \"%s/certs/ca.crt\";\n"
		    "\t\tproxy_ssl_name localhost;\n\t\tproxy_ssl_server_name on;\n"
		    "\t\tproxy_ssl_session_reuse on;\n",
		    fd);
	for (size_t i = 0; fl_launch_fleet_routes[i]; i++)
		fl_buf_addf(b,
		            "\t\tlocation = /v1/fleet/%s {\n\t\t\tlimit_except POST {\n\t\t\t\tdeny all;\n"
		            "\t\t\t}\n\t\t\tproxy_pass %s://flower/v1/fleet/%s;\n\t\t}\n",
		            fl_launch_fleet_routes[i], o->tls ? "https" : "http", fl_launch_fleet_routes[i]);
	fl_buf_adds(b, "\t\tlocation / {\n\t\t\treturn 403;\n\t\t}\n\t}\n}\n");
}

/* The proxy's unit: started with the SuperLink (WantedBy=), stopped and restarted with it
 * (PartOf=), but not stopped when Flower exits: BindsTo= would take the Fleet address down
 * with every Flower crash while Restart= brings Flower back. */
static void proxy_unit(const struct fl_launch_opts *o, struct fl_launch_plan *p)
{
	struct fl_buf *b = &p->proxy_unit;
	fl_launch_unit_header(b, p->proxy_name);
	fl_buf_addf(b,
	            "[Unit]\nDescription=Flower SuperLink Fleet proxy (nginx: the Fleet routes only)\n"
	            "Documentation=man:fl-launch(1)\nAfter=%s.service network-online.target\n"
	            "PartOf=%s.service\nWants=network-online.target\n"
	            "StartLimitIntervalSec=60\nStartLimitBurst=5\n\n[Service]\nType=simple\n",
	            p->name, p->name);
	fl_buf_addf(b, "User=%lu\nGroup=%lu\n", (unsigned long)o->uid, (unsigned long)o->gid);
	struct fl_argv t = FL_ARGV_INIT;
	fl_argv_add(&t, p->proxy_argv.v[0]);
	fl_argv_add(&t, "-t");
	fl_argv_add(&t, "-q");
	for (size_t i = 1; i < p->proxy_argv.n; i++)
		fl_argv_add(&t, p->proxy_argv.v[i]);
	exec_line(b, "ExecStartPre=", t.v, t.n);
	fl_argv_free(&t);
	exec_line(b, "ExecStart=", p->proxy_argv.v, p->proxy_argv.n);
	/* A Fleet port below 1024 needs the one capability; nothing else is granted. */
	fl_buf_addf(b,
	            "AmbientCapabilities=CAP_NET_BIND_SERVICE\nCapabilityBoundingSet=CAP_NET_BIND_SERVICE\n"
	            "NoNewPrivileges=yes\nPrivateTmp=yes\nPrivateDevices=yes\nProtectSystem=strict\n"
	            "ProtectHome=read-only\nReadWritePaths=%s\nProtectKernelTunables=yes\n"
	            "ProtectKernelModules=yes\nProtectControlGroups=yes\n"
	            "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX\nRestrictNamespaces=yes\n"
	            "LockPersonality=yes\nRestart=always\nRestartSec=2\nTimeoutStopSec=15\n\n"
	            "[Install]\nWantedBy=%s.service\n",
	            p->proxy_prefix, p->name);
}

static void proxy_plan(const struct fl_launch_opts *o, struct fl_launch_plan *p)
{
	fl_argv_add(&p->proxy_argv, o->nginx ? o->nginx : FL_LAUNCH_NGINX);
	fl_argv_add(&p->proxy_argv, "-c");
	fl_argv_add(&p->proxy_argv, p->proxy_conf_path);
	fl_argv_add(&p->proxy_argv, "-p");
	fl_argv_add(&p->proxy_argv, p->proxy_prefix);
	fl_argv_add(&p->proxy_argv, "-e");
	fl_argv_add(&p->proxy_argv, "stderr");
	proxy_conf(o, p);
	proxy_unit(o, p);
}

static void hash_plan(struct fl_launch_plan *p)
{
	unsigned char md[32];
	unsigned len = 0;
	EVP_MD_CTX *x = EVP_MD_CTX_new();
	if (!x || EVP_DigestInit_ex(x, EVP_sha256(), NULL) != 1)
		abort();
	for (size_t i = 0; i < p->argv.n; i++)
		EVP_DigestUpdate(x, p->argv.v[i], strlen(p->argv.v[i]) + 1);
	EVP_DigestUpdate(x, fl_buf_str(&p->env), p->env.len + 1);
	EVP_DigestUpdate(x, fl_buf_str(&p->unit), p->unit.len + 1);
	if (p->proxied) {
		/* A changed proxy is a changed plan: start restarts it. */
		for (size_t i = 0; i < p->proxy_argv.n; i++)
			EVP_DigestUpdate(x, p->proxy_argv.v[i], strlen(p->proxy_argv.v[i]) + 1);
		EVP_DigestUpdate(x, fl_buf_str(&p->proxy_conf), p->proxy_conf.len + 1);
		EVP_DigestUpdate(x, fl_buf_str(&p->proxy_unit), p->proxy_unit.len + 1);
	}
	EVP_DigestFinal_ex(x, md, &len);
	EVP_MD_CTX_free(x);
	for (size_t i = 0; i < 32; i++)
		snprintf(p->hash + 2 * i, 3, "%02x", md[i]);
}

/* Check: what the options must satisfy before anything is derived. */
static int plan_check(const struct fl_launch_opts *o, struct fl_err *e)
{
	if (o->role != FL_ROLE_SUPERLINK && o->role != FL_ROLE_SUPERNODE)
		return fl_err_set(e, FL_EXIT_USAGE, "a role is needed: superlink or supernode");
	if (!o->version.major && !o->version.minor)
		return fl_err_set(e, FL_EXIT_USAGE, "the Flower version is unknown; pass --flower-version");
	if (fl_flower_version_supported(&o->version, e) < 0)
		return -1;
	if (o->runtime == FL_RUNTIME_PROCESS && (!o->exe || o->exe[0] != '/'))
		return fl_err_set(e, FL_EXIT_USAGE,
		                  "the process runtime needs the absolute path of flower-%s",
		                  rolename(o->role));
	/* Its directory heads the children's PATH, which ':' would split. */
	if (o->runtime == FL_RUNTIME_PROCESS && memchr(o->exe, ':', (size_t)(strrchr(o->exe, '/') - o->exe)))
		return fl_err_set(e, FL_EXIT_USAGE,
		                  "--flower-bin: the directory of '%.200s' holds ':', which splits the PATH "
		                  "Flower's children get; install Flower in a directory without ':'",
		                  o->exe);
	if (o->runtime == FL_RUNTIME_DOCKER && (fl_launch_check_dir(o->flower_dir, e) < 0 ||
	                                        (o->image && fl_launch_check_image(o->image, e) < 0)))
		return -1;
	return 0;
}

/* Names: the service, its files and the image. */
static void plan_paths(const struct fl_launch_opts *o, struct fl_launch_plan *p)
{
	snprintf(p->name, sizeof p->name, "flower-%s", rolename(o->role));
	char file[64];
	snprintf(file, sizeof file, "config/%s.env", rolename(o->role));
	p->env_path = path2(o->flower_dir, file);
	snprintf(file, sizeof file, "%s.service", p->name);
	p->unit_path = path2(o->unit_dir, file);
	snprintf(file, sizeof file, "config/%s.state", p->name);
	p->state_path = path2(o->flower_dir, file);
	snprintf(file, sizeof file, "logs/%s.log", p->name);
	p->log_path = path2(o->flower_dir, file);
	snprintf(file, sizeof file, "run/%s.pid", p->name);
	p->pid_path = path2(o->flower_dir, file);
	if (o->role == FL_ROLE_SUPERNODE) {
		snprintf(file, sizeof file, "config/%s.gpu", p->name);
		p->gpu_path = path2(o->flower_dir, file);
	}
	fl_flower_version_format(&o->version, p->version, sizeof p->version);
	const char *repo = o->image                       ? o->image
	                   : o->role == FL_ROLE_SUPERLINK ? "flwr/superlink"
	                                                  : "flwr/supernode";
	if (asprintf(&p->image, "%s:%s", repo, p->version) < 0)
		abort();
}

static void dir_under(struct fl_launch_plan *p, const char *mode, bool owned, const char *base,
                      const char *sub)
{
	char *path = path2(base, sub);
	dir_add(p, mode, owned, path);
	free(path);
}

/* The SuperLink's directories and Flower arguments. */
static void plan_superlink(const struct fl_ctx *c, const struct fl_launch_opts *o, struct fl_launch_plan *p,
                           struct fl_diags *d)
{
	proxy_paths(o, p);
	p->proxied = p->a.proxy[0] != '\0';
	if (p->proxied) {
		dir_under(p, "0755", false, o->flower_dir, "proxy");
		/* 0755: an nginx master started as root runs its workers as nobody. */
		dir_add(p, "0755", true, p->proxy_prefix);
	}
	dir_under(p, "0755", true, o->flower_dir, "state");
	/* An owned 0755 directory is fl_fs_mkdir_p(path, 0755, 49999, 49999): what fl-ckpt init
	 * (fl_ckpt_init_dir) does, so both leave the same directory. */
	if (c->conf.FL_CHECKPOINT_ENABLED) {
		if (o->runtime == FL_RUNTIME_DOCKER)
			dir_under(p, "0755", true, o->flower_dir, "checkpoints");
		else
			dir_add(p, "0755", true, c->conf.FL_CHECKPOINT_PATH);
	}
	superlink_flower(c, o, p, d);
}

/* Decide: directories, Flower's arguments and the env file, for the role and runtime. */
static int plan_decide(const struct fl_ctx *c, const struct fl_launch_opts *o, struct fl_launch_plan *p,
                       struct fl_diags *d, struct fl_err *e)
{
	dir_under(p, "0750", false, o->flower_dir, "config");
	if (o->role == FL_ROLE_SUPERLINK) {
		plan_superlink(c, o, p, d);
	} else {
		dir_under(p, "0755", true, o->flower_dir, "data");
		if (supernode_flower(c, o, p, e) < 0)
			return -1;
	}
	if (o->runtime == FL_RUNTIME_PROCESS) {
		dir_under(p, "0755", false, o->flower_dir, "logs");
		dir_under(p, "0755", false, o->flower_dir, "run");
		char sub[64];
		snprintf(sub, sizeof sub, "flwr-%s", rolename(o->role));
		dir_under(p, "0700", true, o->flower_dir, sub);
	}
	env_file(c, o, p, d);
	return 0;
}

/* FL_GPU_ENABLED=YES and no GPU flag (design 04 §1.6: a WARNING, never fatal): the cause and
 * the fix as the verdict names them. */
static void cpu_fallback(const struct fl_ctx *c, const struct fl_launch_opts *o, struct fl_diags *d)
{
	const struct fl_launch_gpu *g = o->gpu_decision;
	const char *why = g && g->why[0] ? g->why : "no usable GPU was detected";
	const char *flag = o->runtime == FL_RUNTIME_DOCKER ? "without --gpus" : "without the GPU variables";
	if (g && g->fix[0])
		fl_diags_add(d, FL_WARN, "FL_GPU_ENABLED=%s but %s: starting on CPU %s; fix: %s",
		             fl_ctx_value(c, FLV_FL_GPU_ENABLED), why, flag, g->fix);
	else
		fl_diags_add(d, FL_WARN,
		             "FL_GPU_ENABLED=%s but %s: starting on CPU %s (the ClientApp must fall back "
		             "to CPU)",
		             fl_ctx_value(c, FLV_FL_GPU_ENABLED), why, flag);
}

/* The command that runs it: docker run ... IMAGE FLOWER-ARGS, or the native flower-* one. */
static int plan_command(const struct fl_ctx *c, const struct fl_launch_opts *o, struct fl_launch_plan *p,
                        struct fl_diags *d, struct fl_err *e)
{
	if (o->runtime == FL_RUNTIME_DOCKER) {
		docker_argv(c, o, p, d);
	} else {
		fl_argv_add(&p->argv, o->exe);
		for (size_t i = 0; i < p->flower.n; i++)
			fl_argv_add(&p->argv, p->flower.v[i]);
		if (o->role == FL_ROLE_SUPERNODE && c->conf.FL_GPU_ENABLED && o->gpu)
			fl_diags_add(d, FL_INFO, "GPU passthrough enabled");
	}
	/* Paths and values end up in a unit file and a line-based state file. */
	for (size_t i = 0; i < p->argv.n; i++)
		for (const unsigned char *u = (const unsigned char *)p->argv.v[i]; *u; u++)
			if (*u < 0x20 || *u == 0x7f)
				return fl_err_set(
				    e, FL_EXIT_USAGE,
				    "argument %zu of the %s command holds a control character; check "
				    "--flower-bin, --flower-dir and the configuration",
				    i, p->name);
	return 0;
}

int fl_launch_plan(const struct fl_ctx *c, const struct fl_launch_opts *o, struct fl_launch_plan *p,
                   struct fl_diags *d, struct fl_err *e)
{
	memset(p, 0, sizeof *p);
	if (plan_check(o, e) < 0 || fl_launch_addrs(c, o, &p->a, d, e) < 0)
		return -1;
	plan_paths(o, p);
	if (o->role == FL_ROLE_SUPERNODE && c->conf.FL_GPU_ENABLED && !o->gpu)
		cpu_fallback(c, o, d);
	if (plan_decide(c, o, p, d, e) < 0 || plan_command(c, o, p, d, e) < 0) {
		fl_launch_plan_free(p);
		return -1;
	}
	unit_file(o, p);
	if (p->proxied)
		proxy_plan(o, p);
	hash_plan(p);
	return 0;
}

void fl_launch_plan_free(struct fl_launch_plan *p)
{
	free(p->unit_path);
	free(p->env_path);
	free(p->state_path);
	free(p->log_path);
	free(p->pid_path);
	free(p->proxy_unit_path);
	free(p->proxy_conf_path);
	free(p->proxy_pid_path);
	free(p->proxy_log_path);
	free(p->proxy_prefix);
	fl_argv_free(&p->proxy_argv);
	fl_buf_free(&p->proxy_conf);
	fl_buf_free(&p->proxy_unit);
	free(p->metrics_unit_path);
	free(p->metrics_pid_path);
	free(p->metrics_log_path);
	free(p->metrics_state_path);
	fl_argv_free(&p->metrics_argv);
	fl_buf_free(&p->metrics_unit);
	free(p->gpu_path);
	free(p->dcgm_unit_path);
	free(p->dcgm_image);
	fl_buf_free(&p->dcgm_unit);
	free(p->image);
	fl_argv_free(&p->argv);
	fl_argv_free(&p->flower);
	fl_argv_free(&p->dirs);
	fl_buf_free(&p->env);
	fl_buf_free(&p->unit);
	memset(p, 0, sizeof *p);
}

void fl_launch_state_render(const struct fl_launch_plan *p, struct fl_buf *out)
{
	fl_buf_addf(out, "hash %s\nversion %s\n", p->hash, p->version);
	for (size_t i = 0; i < p->argv.n; i++)
		fl_buf_addf(out, "argv %s\n", p->argv.v[i]);
	const char *s = fl_buf_str(&p->env);
	while (*s) {
		size_t n = strcspn(s, "\n");
		if (*s != '#')
			fl_buf_addf(out, "env %.*s\n", (int)n, s);
		s += n + (s[n] == '\n');
	}
}

int fl_launch_state_hash(const char *text, char out[65])
{
	if (strncmp(text, "hash ", 5) != 0 || strspn(text + 5, "0123456789abcdef") != 64)
		return -1;
	memcpy(out, text + 5, 64);
	out[64] = '\0';
	return 0;
}

/* Tokens of an argv: an option with its value ("--superlink 10.0.0.5:9092", "-p 9092:9092")
 * or a lone word; env lines as they are. */
struct toks {
	char **v;
	size_t n;
};

static void toks_add(struct toks *t, char *s)
{
	t->v = fl_xrealloc(t->v, (t->n + 1) * sizeof *t->v);
	t->v[t->n++] = s;
}

static void toks_argv(struct toks *t, char *const *v, size_t n, const char *prefix)
{
	for (size_t i = 0; i < n; i++) {
		char *s = NULL;
		bool pair = v[i][0] == '-' && i + 1 < n && v[i + 1][0] != '-';
		if (asprintf(&s, "%s%s%s%s", prefix, v[i], pair ? " " : "", pair ? v[i + 1] : "") < 0)
			abort();
		i += pair;
		toks_add(t, s);
	}
}

static void toks_free(struct toks *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->v[i]);
	free(t->v);
}

static bool toks_has(const struct toks *t, const char *s)
{
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->v[i], s) == 0)
			return true;
	return false;
}

/* The key of a token: the option, or the env name. */
static size_t key_len(const char *s)
{
	const char *sp = strchr(s, s[0] == '-' ? ' ' : '=');
	return sp ? (size_t)(sp - s) : strlen(s);
}

void fl_launch_state_diff(const char *old_text, const struct fl_launch_plan *p, struct fl_buf *out)
{
	struct fl_argv oldv = FL_ARGV_INIT;
	struct toks old = {0}, cur = {0};
	for (const char *s = old_text; *s;) {
		size_t n = strcspn(s, "\n");
		if (strncmp(s, "argv ", 5) == 0) {
			char *el = fl_xstrndup(s + 5, n - 5);
			fl_argv_add(&oldv, el);
			free(el);
		} else if (strncmp(s, "env ", 4) == 0) {
			toks_add(&old, fl_xstrndup(s + 4, n - 4));
		}
		s += n + (s[n] == '\n');
	}
	toks_argv(&old, oldv.v, oldv.n, "");
	fl_argv_free(&oldv);
	for (const char *s = fl_buf_str(&p->env); *s;) {
		size_t n = strcspn(s, "\n");
		if (*s != '#')
			toks_add(&cur, fl_xstrndup(s, n));
		s += n + (s[n] == '\n');
	}
	toks_argv(&cur, p->argv.v, p->argv.n, "");
	size_t before = out->len;
	/* Pair each vanished token with one new token of the same key (used at most once); the
	 * rest are plain removals and additions. */
	bool *used = fl_xcalloc(cur.n + 1, sizeof *used);
	for (size_t i = 0; i < old.n; i++) {
		if (toks_has(&cur, old.v[i]))
			continue;
		size_t k = key_len(old.v[i]);
		const char *repl = NULL;
		for (size_t j = 0; j < cur.n && !repl; j++)
			if (!used[j] && !toks_has(&old, cur.v[j]) && key_len(cur.v[j]) == k &&
			    strncmp(cur.v[j], old.v[i], k) == 0) {
				repl = cur.v[j];
				used[j] = true;
			}
		if (out->len > before)
			fl_buf_adds(out, "; ");
		if (repl)
			fl_buf_addf(out, "%s -> %s", old.v[i], repl + k + 1);
		else
			fl_buf_addf(out, "removed %s", old.v[i]);
	}
	for (size_t j = 0; j < cur.n; j++) {
		if (used[j] || toks_has(&old, cur.v[j]))
			continue;
		if (out->len > before)
			fl_buf_adds(out, "; ");
		fl_buf_addf(out, "added %s", cur.v[j]);
	}
	free(used);
	if (out->len == before)
		fl_buf_adds(out, p->proxied ? "unit file or Fleet proxy" : "unit file");
	toks_free(&old);
	toks_free(&cur);
}
