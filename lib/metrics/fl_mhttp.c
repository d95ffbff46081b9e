/* fl_mhttp: the /metrics server (fl_mhttp.h). The listening socket is ours (socket, bind,
 * listen: the real errno of a port in use), the HTTP is libmicrohttpd's. */
#include "fl_mhttp.h"

#include "fl_buf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define LISTEN_BACKLOG 512

static const char root_page[] =
    "<!DOCTYPE html>\n"
    "<html><head><title>fl-metrics</title></head>\n"
    "<body><h1>fl-metrics</h1><p><a href=\"/metrics\">Metrics</a></p></body></html>\n";
static const char not_found[] = "Not Found: the only paths are /metrics and /\n";
static const char not_allowed[] = "Method Not Allowed: use GET or HEAD\n";
static const char no_snapshot[] = "Service Unavailable: no metrics yet, try again\n";

/* One immutable exposition in both formats, freed by whoever drops the last reference. */
struct snap {
	atomic_uint refs;
	char *body[2]; /* FL_METRICS_PROM, FL_METRICS_OPENMETRICS */
	size_t len[2];
};

struct fl_mhttp {
	struct MHD_Daemon *d;
	pthread_mutex_t lock; /* guards cur (the pointer; a snapshot never changes) */
	struct snap *cur;
	unsigned port;
	struct MHD_Response *root, *r404, *r405, *r503;
};

static void snap_unref(void *cls)
{
	struct snap *s = cls;
	if (!s || atomic_fetch_sub(&s->refs, 1) != 1)
		return;
	free(s->body[0]);
	free(s->body[1]);
	free(s);
}

static struct MHD_Response *fixed(const char *body, size_t len, const char *type, bool allow)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_PERSISTENT);
	if (!r)
		abort(); /* out of memory at start */
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (allow)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	return r;
}

static enum MHD_Result metrics(struct fl_mhttp *h, struct MHD_Connection *c)
{
	pthread_mutex_lock(&h->lock);
	struct snap *s = h->cur;
	if (s)
		atomic_fetch_add(&s->refs, 1);
	pthread_mutex_unlock(&h->lock);
	if (!s)
		return MHD_queue_response(c, MHD_HTTP_SERVICE_UNAVAILABLE, h->r503);
	const char *accept = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT);
	enum fl_metrics_format f =
	    fl_metrics_negotiate(accept) == FL_METRICS_OPENMETRICS ? FL_METRICS_OPENMETRICS : FL_METRICS_PROM;
	int i = f == FL_METRICS_OPENMETRICS;
	struct MHD_Response *r =
	    MHD_create_response_from_buffer_with_free_callback_cls(s->len[i], s->body[i], snap_unref, s);
	if (!r) {
		snap_unref(s);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, fl_metrics_content_type(f));
	enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                              const char *version, const char *upload_data, size_t *upload_data_size,
                              void **req_cls)
{
	(void)version, (void)upload_data, (void)upload_data_size, (void)req_cls;
	struct fl_mhttp *h = cls;
	/* HEAD is answered as GET: libmicrohttpd sends the headers (Content-Length too) only. */
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return MHD_queue_response(c, MHD_HTTP_METHOD_NOT_ALLOWED, h->r405);
	if (strcmp(url, "/metrics") == 0)
		return metrics(h, c);
	if (strcmp(url, "/") == 0)
		return MHD_queue_response(c, MHD_HTTP_OK, h->root);
	return MHD_queue_response(c, MHD_HTTP_NOT_FOUND, h->r404);
}

/* addr:port, [addr]:port for IPv6, for messages. */
static void hostport(char *out, size_t n, const char *addr, unsigned port)
{
	snprintf(out, n, strchr(addr, ':') ? "[%s]:%u" : "%s:%u", addr, port);
}

static int bind_error(int err, const char *where, struct fl_err *e)
{
	const char *fix = NULL;
	if (err == EADDRINUSE)
		fix = "another fl-metrics or the app's own exporter holds it; change FL_METRICS_PORT";
	else if (err == EADDRNOTAVAIL)
		fix = "it is not an address of this machine; pass --bind with one of its addresses";
	else if (err == EACCES)
		fix = "use a port from 1024 (FL_METRICS_PORT)";
	fl_err_sys(e, err, "cannot listen on %s", where);
	return fix ? fl_err_append(e, ": %s", fix) : -1;
}

/* A listening socket on exactly cfg's address; its port into *port. */
static int listen_socket(const struct fl_mhttp_cfg *cfg, unsigned *port, struct fl_err *e)
{
	struct sockaddr_storage ss = {0};
	struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
	socklen_t len;
	char where[INET6_ADDRSTRLEN + 16];
	const char *addr = cfg->addr ? cfg->addr : "";
	if (inet_pton(AF_INET, addr, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)cfg->port);
		len = sizeof *in4;
	} else if (inet_pton(AF_INET6, addr, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)cfg->port);
		len = sizeof *in6;
	} else {
		return fl_err_set(
		    e, FL_EXIT_FAIL,
		    "cannot listen on '%s': not an IP address; pass --bind with an IPv4 or IPv6 "
		    "address of this machine (no brackets, no host name)",
		    addr);
	}
	hostport(where, sizeof where, addr, cfg->port);
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return fl_err_sys(e, errno, "cannot listen on %s: socket", where);
	int one = 1;
	/* SO_REUSEADDR: a restart binds despite TIME_WAIT; a second listener still fails. */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, LISTEN_BACKLOG) < 0) {
		int err = errno;
		close(fd);
		return bind_error(err, where, e);
	}
	len = sizeof ss;
	if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0)
		*port = ntohs(ss.ss_family == AF_INET6 ? in6->sin6_port : in4->sin_port);
	return fd;
}

int fl_mhttp_start(const struct fl_mhttp_cfg *cfg, struct fl_mhttp **out, struct fl_err *e)
{
	*out = NULL;
	unsigned port = cfg->port;
	int fd = listen_socket(cfg, &port, e);
	if (fd < 0)
		return -1;
	struct fl_mhttp *h = fl_xcalloc(1, sizeof *h);
	pthread_mutex_init(&h->lock, NULL);
	h->port = port;
	h->root = fixed(root_page, sizeof root_page - 1, "text/html; charset=utf-8", false);
	h->r404 = fixed(not_found, sizeof not_found - 1, "text/plain; charset=utf-8", false);
	h->r405 = fixed(not_allowed, sizeof not_allowed - 1, "text/plain; charset=utf-8", true);
	h->r503 = fixed(no_snapshot, sizeof no_snapshot - 1, "text/plain; charset=utf-8", false);
	/* Internal threads, each on its own epoll set: a scrape is the send of a ready buffer, so
	 * two threads keep up with 100 connections on two cores (one did half as many requests a
	 * second under load in bench/metrics-scrape.sh). */
	h->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, 0, NULL, NULL, handle, h,
	                        MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_CONNECTION_LIMIT,
	                        (unsigned)(cfg->conn_limit ? cfg->conn_limit : FL_MHTTP_CONN_LIMIT),
	                        MHD_OPTION_CONNECTION_TIMEOUT,
	                        (unsigned)(cfg->timeout_s ? cfg->timeout_s : FL_MHTTP_TIMEOUT_S),
	                        MHD_OPTION_THREAD_POOL_SIZE,
	                        (unsigned)(cfg->threads ? cfg->threads : FL_MHTTP_THREADS), MHD_OPTION_END);
	if (!h->d) {
		char where[INET6_ADDRSTRLEN + 16];
		hostport(where, sizeof where, cfg->addr, port);
		fl_mhttp_stop(h);
		return fl_err_set(e, FL_EXIT_FAIL, "cannot serve on %s: libmicrohttpd did not start", where);
	}
	*out = h;
	return 0;
}

unsigned fl_mhttp_port(const struct fl_mhttp *h)
{
	return h->port;
}

void fl_mhttp_publish_bodies(struct fl_mhttp *h, const char *prom, size_t nprom, const char *om, size_t nom)
{
	struct snap *s = fl_xcalloc(1, sizeof *s);
	atomic_init(&s->refs, 1);
	s->body[0] = fl_xstrndup(prom, nprom);
	s->len[0] = nprom;
	s->body[1] = fl_xstrndup(om, nom);
	s->len[1] = nom;
	pthread_mutex_lock(&h->lock);
	struct snap *old = h->cur;
	h->cur = s;
	pthread_mutex_unlock(&h->lock);
	snap_unref(old);
}

void fl_mhttp_publish(struct fl_mhttp *h, const struct fl_metrics *m)
{
	struct fl_buf prom = FL_BUF_INIT, om = FL_BUF_INIT;
	fl_metrics_render(m, FL_METRICS_PROM, &prom);
	fl_metrics_render(m, FL_METRICS_OPENMETRICS, &om);
	fl_mhttp_publish_bodies(h, fl_buf_str(&prom), prom.len, fl_buf_str(&om), om.len);
	fl_buf_free(&prom);
	fl_buf_free(&om);
}

void fl_mhttp_stop(struct fl_mhttp *h)
{
	if (!h)
		return;
	if (h->d)
		MHD_stop_daemon(h->d); /* closes the listening socket; responses in flight are freed */
	MHD_destroy_response(h->root);
	MHD_destroy_response(h->r404);
	MHD_destroy_response(h->r405);
	MHD_destroy_response(h->r503);
	snap_unref(h->cur);
	pthread_mutex_destroy(&h->lock);
	free(h);
}
