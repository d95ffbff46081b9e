/* fl_log: the one log line format of every tool, text or JSON, always on stderr. */
#include "fl_log.h"

#include "fl_err.h"

#include "fl_buf.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

static const char *log_tool = "flkit";
static int log_json;
static enum fl_level log_min = FL_INFO;
static FILE *log_stream;

static const char *const level_names[] = {"DEBUG", "INFO", "WARN", "ERROR", "FATAL"};

/* JSON lines use Python's level names, as Flower's JSON formatter does (04 §3.2). */
static const char *json_level(enum fl_level l)
{
	return l == FL_WARN ? "WARNING" : l == FL_FATAL ? "CRITICAL" : fl_log_level_name(l);
}

const char *fl_log_level_name(enum fl_level l)
{
	return (unsigned)l < 5 ? level_names[l] : "INFO";
}

void fl_log_init(const char *tool)
{
	log_tool = tool;
	const char *f = getenv("ONEAPP_FL_LOG_FORMAT");
	if (!f || !*f)
		f = getenv("FL_LOG_FORMAT");
	log_json = f && strcmp(f, "json") == 0;
}

void fl_log_set_json(int on)
{
	log_json = on;
}

void fl_log_set_threshold(enum fl_level min)
{
	log_min = min;
}

void fl_log_set_stream(FILE *f)
{
	log_stream = f;
}

/* Text lines keep printable bytes (UTF-8 included) and escape control characters, C1
 * controls and bytes that are not UTF-8 (messages carry untrusted text). */
static void add_text(struct fl_buf *b, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p >= 0x80) {
			size_t k = fl_buf_utf8_seqlen(p);
			if (k && !(k == 2 && p[0] == 0xc2 && p[1] < 0xa0)) {
				fl_buf_add(b, p, k);
				p += k - 1;
			} else {
				fl_buf_addf(b, "\\x%02x", *p);
			}
		} else if (*p == '\n')
			fl_buf_adds(b, "\\n");
		else if (*p == '\r')
			fl_buf_adds(b, "\\r");
		else if (*p == '\t')
			fl_buf_adds(b, "\\t");
		else if (*p < 0x20 || *p == 0x7f)
			fl_buf_addf(b, "\\x%02x", *p);
		else
			fl_buf_addc(b, (char)*p);
	}
}

void fl_log(enum fl_level l, const char *fmt, ...)
{
	if (l < log_min)
		return;
	struct fl_buf line = FL_BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	char *m = fl_xrealloc(NULL, (size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(m, (size_t)n + 1, fmt, ap);
	va_end(ap);

	struct timeval tv;
	gettimeofday(&tv, NULL);
	struct tm tm;
	char ts[32];
	if (log_json) {
		gmtime_r(&tv.tv_sec, &tm);
		strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
		fl_buf_addf(
		    &line, "{\"timestamp\":\"%s.%03ldZ\",\"level\":\"%s\",\"logger\":\"flkit\",\"tool\":", ts,
		    (long)(tv.tv_usec / 1000), json_level(l));
		fl_buf_add_dq(&line, log_tool);
		fl_buf_adds(&line, ",\"message\":");
		fl_buf_add_dq(&line, m);
		fl_buf_adds(&line, "}\n");
	} else {
		localtime_r(&tv.tv_sec, &tm);
		strftime(ts, sizeof ts, "%Y-%m-%d %H:%M:%S", &tm);
		fl_buf_addf(&line, "[%s] [%s] [%s] ", ts, fl_log_level_name(l), log_tool);
		add_text(&line, m);
		fl_buf_addc(&line, '\n');
	}
	FILE *out = log_stream ? log_stream : stderr;
	fwrite(line.data, 1, line.len, out);
	fflush(out);
	free(m);
	fl_buf_free(&line);
}

int fl_log_err(const struct fl_err *e)
{
	fl_error("%s", e->msg);
	return e->code ? e->code : FL_EXIT_FAIL;
}
