/* fuzz_mevent: libFuzzer target for log lines read as untrusted bytes (fl_mevent_parse through
 * fl_metrics_feed): each line of the input is fed to one state, which is then rendered in the
 * three formats: every line is counted once, the text exposition is lines of HELP, TYPE or
 * "name[{labels}] value", label values hold no raw newline, OpenMetrics ends in # EOF and the
 * JSON parses. */
#include "fuzz.h"
#include "fl_buf.h"
#include "fl_metrics.h"

#include <jansson.h>
#include <string.h>

FUZZ_FIXED_JSON_SEED()

static void check_text(const struct fl_buf *b, bool om)
{
	REQUIRE(b->len > 0 && b->data[b->len - 1] == '\n');
	REQUIRE(strlen(b->data) == b->len);
	for (const char *l = b->data; *l;) {
		const char *e = strchr(l, '\n');
		REQUIRE(e);
		if (*l == '#')
			REQUIRE(strncmp(l, "# HELP ", 7) == 0 || strncmp(l, "# TYPE ", 7) == 0 ||
			        (om && strcmp(l, "# EOF\n") == 0));
		else {
			/* name{label="value",...} number: quotes balance outside escapes. */
			const char *sp = NULL;
			bool in = false;
			for (const char *p = l; p < e; p++) {
				if (in && *p == '\\')
					p++;
				else if (*p == '"')
					in = !in;
				else if (!in && *p == ' ')
					sp = p;
			}
			REQUIRE(!in && sp && sp > l && sp + 1 < e);
		}
		l = e + 1;
	}
	if (om)
		REQUIRE(b->len >= 6 && strcmp(b->data + b->len - 6, "# EOF\n") == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fl_metrics m;
	fl_metrics_init(&m, "FedAvg");
	const char *s = (const char *)data;
	uint64_t lines = 0;
	for (size_t i = 0; i <= size;) {
		const char *nl = memchr(s + i, '\n', size - i);
		size_t n = nl ? (size_t)(nl - (s + i)) : size - i;
		if (!nl && n == 0)
			break;
		enum fl_mevent_skip r = fl_metrics_feed(&m, s + i, n, 0);
		REQUIRE(r >= FL_MEV_OK && r <= FL_MEV_TOO_LONG);
		lines++;
		i += n + 1;
	}
	uint64_t sum = 0;
	for (int t = 0; t < FL_MEV_COUNT; t++)
		sum += m.events[t];
	for (int r = 0; r <= FL_MEV_TOO_LONG; r++)
		sum += m.skipped[r];
	/* Every line is an event, a skip, or a repeat of a recent event. */
	sum += m.duplicates;
	REQUIRE(m.lines == lines && sum == lines);
	REQUIRE(m.clients_connected >= 0 && m.nnodes < FL_METRICS_NODES_MAX);
	REQUIRE(m.hist_len <= FL_METRICS_HISTORY);

	struct fl_buf b = FL_BUF_INIT;
	fl_metrics_render(&m, FL_METRICS_PROM, &b);
	check_text(&b, false);
	fl_buf_reset(&b);
	fl_metrics_render(&m, FL_METRICS_OPENMETRICS, &b);
	check_text(&b, true);
	fl_buf_reset(&b);
	fl_metrics_render(&m, FL_METRICS_JSON, &b);
	json_t *j = json_loadb(b.data, b.len, 0, NULL);
	REQUIRE(json_is_object(j));
	json_decref(j);
	fl_buf_free(&b);
	return 0;
}
