/* test_metrics: the event to metric mapping of design 04 §8.3 (its tests 1-6), join/leave
 * idempotence, the history ring, runs, strategies, the state database's override, and the
 * exposition's escaping, floats and formats. */
#include "fl_metrics.h"
#include "unit.h"

#include <jansson.h>
#include <math.h>

static struct fl_metrics m;

static void feed(const char *line)
{
	fl_metrics_feed(&m, line, strlen(line), 1000);
}

static void feed_all(const char *const *lines)
{
	for (; *lines; lines++)
		feed(*lines);
}

/* The exposition of m in format f (static: the caller reads it before the next call). */
static const char *render(enum fl_metrics_format f)
{
	static struct fl_buf b = FL_BUF_INIT;
	fl_buf_reset(&b);
	fl_buf_addc(&b, '\n');
	fl_metrics_render(&m, f, &b);
	return fl_buf_str(&b);
}

/* Does the text exposition hold this exact line? */
static bool has(const char *line)
{
	char want[512];
	snprintf(want, sizeof want, "\n%s\n", line);
	return strstr(render(FL_METRICS_PROM), want) != NULL;
}

#define HAS(line) CHECK(has(line), "%s", line)

static const char *const spec[] = {
    "{\"timestamp\":\"2026-02-09T14:30:00.000Z\",\"event\":\"training_start\",\"data\":{\"strategy\":"
    "\"FedAvg\",\"num_rounds\":3}}",
    "{\"timestamp\":\"2026-02-09T14:30:01.000Z\",\"event\":\"round_start\",\"data\":{\"round\":1,\"num_"
    "clients_selected\":2}}",
    "{\"timestamp\":\"2026-02-09T14:30:05.123Z\",\"event\":\"round_end\",\"data\":{\"round\":1,\"num_clients_"
    "responded\":2,\"aggregated_loss\":0.5,"
    "\"aggregated_accuracy\":0.8,\"round_duration_seconds\":12.45}}",
    NULL,
};

static void test_spec_1(void)
{
	fl_metrics_init(&m, NULL);
	feed_all(spec);
	HAS("fl_training_status 1");
	HAS("fl_round_total{strategy=\"FedAvg\"} 3");
	HAS("fl_round_current{strategy=\"FedAvg\"} 1");
	HAS("fl_clients_selected 2");
	HAS("fl_clients_responded 2");
	HAS("fl_aggregated_loss{strategy=\"FedAvg\"} 0.5");
	HAS("fl_aggregated_accuracy{strategy=\"FedAvg\"} 0.8");
	static const char *const le[] = {"1.0",   "5.0",   "10.0",  "30.0", "60.0",
	                                 "120.0", "300.0", "600.0", "+Inf"};
	for (int i = 0; i < 9; i++) {
		char line[128];
		snprintf(line, sizeof line,
		         "fl_round_duration_seconds_bucket{strategy=\"FedAvg\",le=\"%s\"} %d", le[i], i >= 3);
		HAS(line);
	}
	HAS("fl_round_duration_seconds_sum{strategy=\"FedAvg\"} 12.45");
	HAS("fl_round_duration_seconds_count{strategy=\"FedAvg\"} 1");
}

static void test_spec_2(void)
{
	fl_metrics_init(&m, NULL);
	feed_all(spec);
	char *bare = strdup(render(FL_METRICS_PROM));
	fl_metrics_init(&m, NULL);
	for (const char *const *l = spec; *l; l++) {
		char *log = malloc(strlen(*l) + 2);
		sprintf(log, "%s\n", *l);
		json_t *o =
		    json_pack("{ss ss ss}", "log", log, "stream", "stdout", "time", "2026-02-09T14:30:05Z");
		char *s = json_dumps(o, JSON_COMPACT);
		feed(s);
		free(s);
		free(log);
		json_decref(o);
	}
	CHECK_STR(render(FL_METRICS_PROM), bare,
	          "spec test 2: Docker envelopes give the identical exposition");
	free(bare);
}

static void test_spec_3(void)
{
	fl_metrics_init(&m, NULL);
	static const char *const junk[] = {
	    "INFO :      Starting Flower SuperLink",
	    "{\"level\":\"INFO\",\"message\":\"plain\"}",
	    "{\"event\":",
	    "\x01\x02\xff\xfe",
	    "{\"event\":\"warp\"}",
	    NULL,
	};
	feed_all(junk);
	feed_all(spec);
	feed_all(junk);
	HAS("fl_round_current{strategy=\"FedAvg\"} 1");
	HAS("fl_metrics_lines_total 13");
	HAS("fl_metrics_lines_skipped_total{reason=\"not_json\"} 4");
	HAS("fl_metrics_lines_skipped_total{reason=\"no_event\"} 2");
	HAS("fl_metrics_lines_skipped_total{reason=\"malformed\"} 2");
	HAS("fl_metrics_lines_skipped_total{reason=\"unknown_event\"} 2");
}

static void join_leave(const char *ev, const char *node)
{
	char line[256];
	snprintf(line, sizeof line, "{\"event\":\"%s\",\"data\":{\"node_id\":%s}}", ev, node);
	feed(line);
}

static void test_spec_4_to_6(void)
{
	fl_metrics_init(&m, NULL);
	join_leave("client_join", "\"A\"");
	join_leave("client_join", "\"B\"");
	join_leave("client_leave", "\"A\"");
	join_leave("client_leave", "\"A\"");
	HAS("fl_clients_connected 1");
	CHECK(has("fl_clients_connected 1") && m.events[FL_MEV_CLIENT_LEAVE] == 2,
	      "spec test 4: join A, join B, leave A, leave A: connected 1 (both leaves counted as events)");
	join_leave("client_join", "\"B\"");
	join_leave("client_leave", "\"C\"");
	HAS("fl_clients_connected 1");
	join_leave("client_leave", "\"B\"");
	join_leave("client_leave", "\"B\"");
	HAS("fl_clients_connected 0");

	for (int i = 0; i < 3; i++)
		feed("{\"event\":\"client_failure\",\"data\":{\"round\":1,\"node_id\":\"A\",\"error_type\":"
		     "\"X\"}}");
	HAS("fl_clients_failed_total 3");
	feed("{\"event\":\"training_end\",\"data\":{\"total_rounds\":3,\"final_loss\":0.1}}");
	HAS("fl_training_status 2");
	HAS("fl_round_current{strategy=\"FedAvg\"} 3");
	HAS("fl_aggregated_loss{strategy=\"FedAvg\"} 0.1");
	feed("{\"event\":\"checkpoint_saved\",\"data\":{\"round\":3,\"size_bytes\":10}}");
	HAS("fl_checkpoint_saved_total 1");
}

static void test_nodes(void)
{
	fl_metrics_init(&m, NULL);
	char id[32];
	for (int i = 0; i < 3000; i++) {
		snprintf(id, sizeof id, "%d", i);
		join_leave("client_join", id);
		join_leave("client_join", id);
	}
	CHECK_INT(m.clients_connected, 3000, "3000 nodes joined twice: 3000 connected");
	for (int i = 0; i < 3000; i += 2) {
		snprintf(id, sizeof id, "%d", i);
		join_leave("client_leave", id);
	}
	CHECK_INT(m.clients_connected, 1500, "every other one left: 1500 (probing survives the deletions)");
	for (int i = 1; i < 3000; i += 2) {
		snprintf(id, sizeof id, "\"%d\"", i);
		join_leave("client_leave", id);
	}
	CHECK_INT(m.clients_connected, 0, "a string id is the same node as the number");
	for (int i = 0; i < FL_METRICS_NODES_MAX + 10; i++) {
		snprintf(id, sizeof id, "%d", i);
		join_leave("client_join", id);
	}
	CHECK_INT(m.clients_connected, FL_METRICS_NODES_MAX - 1, "the node set is bounded");
	feed("{\"event\":\"client_join\",\"data\":{}}");
	CHECK_INT(m.clients_connected, FL_METRICS_NODES_MAX - 1, "a join without a node id changes nothing");
}

static void round_end(int r, double loss)
{
	char line[256];
	snprintf(line, sizeof line,
	         "{\"event\":\"round_end\",\"data\":{\"round\":%d,\"aggregated_loss\":%.17g,\"round_duration_"
	         "seconds\":2}}",
	         r, loss);
	feed(line);
}

static void test_history(void)
{
	fl_metrics_init(&m, NULL);
	feed("{\"event\":\"round_start\",\"data\":{\"round\":1,\"num_clients_selected\":4}}");
	feed("{\"event\":\"client_failure\",\"data\":{\"round\":1,\"node_id\":\"A\"}}");
	round_end(1, 0.5);
	feed("{\"event\":\"evaluation_result\",\"data\":{\"round\":1,\"loss\":0.9,\"accuracy\":0.7}}");
	const struct fl_metrics_round *h = fl_metrics_history(&m, 0);
	CHECK(m.hist_len == 1 && h->round == 1 && h->selected == 4 && h->failed == 1 && h->loss == 0.5 &&
	          h->accuracy == 0.7 && h->duration == 2 && h->end_ts == 1000,
	      "history: one entry per round from round_start, client_failure, round_end, evaluation_result");
	round_end(1, 0.4);
	CHECK(m.hist_len == 1 && fl_metrics_history(&m, 0)->loss == 0.4,
	      "history: the same round again updates it");
	for (int r = 2; r <= FL_METRICS_HISTORY + 10; r++)
		round_end(r, r);
	CHECK(m.hist_len == FL_METRICS_HISTORY && fl_metrics_history(&m, 0)->round == 11 &&
	          fl_metrics_history(&m, FL_METRICS_HISTORY - 1)->round == FL_METRICS_HISTORY + 10 &&
	          fl_metrics_history(&m, FL_METRICS_HISTORY) == NULL,
	      "history: the ring keeps the last %d rounds, oldest first", FL_METRICS_HISTORY);
	CHECK(m.hist_count == FL_METRICS_HISTORY + 11 && m.bucket[1] == FL_METRICS_HISTORY + 11,
	      "the histogram counts every round_end (2 s: the le=5 bucket)");
}

static void test_runs(void)
{
	fl_metrics_init(&m, "Krum");
	feed("{\"event\":\"round_start\",\"data\":{\"round\":1}}");
	HAS("fl_round_current{strategy=\"Krum\"} 1");
	feed_all(spec);
	feed("{\"event\":\"training_stalled\",\"data\":{\"round\":1,\"required_clients\":3}}");
	HAS("fl_training_stalled 1");
	HAS("fl_clients_min 3");
	feed("{\"event\":\"client_failure\",\"data\":{}}");
	feed("{\"event\":\"training_end\",\"data\":{\"total_rounds\":1}}");
	feed("{\"event\":\"training_start\",\"data\":{\"strategy\":\"FedProx\",\"num_rounds\":9}}");
	const char *out = render(FL_METRICS_PROM);
	CHECK(!strstr(out, "fl_round_current{") && !strstr(out, "fl_aggregated_loss{") &&
	          !strstr(out, "FedAvg") && m.hist_len == 0,
	      "a new training_start: a new run, the old label set gone");
	HAS("fl_training_status 1");
	HAS("fl_round_total{strategy=\"FedProx\"} 9");
	HAS("fl_round_duration_seconds_count{strategy=\"FedProx\"} 1");
	HAS("fl_clients_failed_total 1");
	HAS("fl_training_stalled 0");
	HAS("fl_clients_selected 0");
	feed("{\"event\":\"round_start\",\"data\":{\"round\":1,\"strategy\":\"FedAdam\"}}");
	HAS("fl_round_current{strategy=\"FedAdam\"} 1");
	HAS("fl_round_total{strategy=\"FedAdam\"} 9");
}

static void test_db(void)
{
	fl_metrics_init(&m, NULL);
	join_leave("client_join", "\"A\"");
	fl_metrics_set_connected(&m, 5, 7);
	join_leave("client_join", "\"B\"");
	join_leave("client_leave", "\"A\"");
	HAS("fl_clients_connected 5");
	HAS("fl_clients_registered 7");
	fl_metrics_set_status(&m, FL_MST_COMPLETE);
	feed_all(spec);
	HAS("fl_training_status 2");
	CHECK(m.events[FL_MEV_CLIENT_JOIN] == 2, "db: join/leave still count as events");

	fl_metrics_init(&m, NULL);
	m.mark_failed = true;
	m.status = FL_MST_FAILED;
	feed_all(spec);
	fl_metrics_set_status(&m, FL_MST_RUNNING);
	feed("{\"event\":\"training_end\",\"data\":{}}");
	HAS("fl_training_status 3");
}

static void test_render(void)
{
	fl_metrics_init(&m, "a\\b\"c");
	feed("{\"event\":\"round_start\",\"data\":{\"round\":1}}");
	HAS("fl_round_current{strategy=\"a\\\\b\\\"c\"} 1");
	m.strategy[0] = '\n';
	HAS("fl_round_current{strategy=\"\\n\\\\b\\\"c\"} 1");

	static const double vals[] = {0.1, 1.0 / 3, 1e-300, 123456789.123456789, 2.5e300, -0.0, 5e-324, 0.3};
	for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
		fl_metrics_init(&m, NULL);
		char line[256];
		snprintf(line, sizeof line,
		         "{\"event\":\"round_end\",\"data\":{\"round\":1,\"aggregated_loss\":%.17g}}",
		         vals[i]);
		feed(line);
		const char *p = strstr(render(FL_METRICS_PROM), "fl_aggregated_loss{strategy=\"FedAvg\"} ");
		double back = p ? strtod(p + strlen("fl_aggregated_loss{strategy=\"FedAvg\"} "), NULL) : NAN;
		CHECK(back == vals[i], "float %.17g reads back exactly", vals[i]);
	}
	HAS("fl_aggregated_loss{strategy=\"FedAvg\"} 0.3");
	m.loss = NAN;
	HAS("fl_aggregated_loss{strategy=\"FedAvg\"} NaN");
	m.loss = INFINITY;
	HAS("fl_aggregated_loss{strategy=\"FedAvg\"} +Inf");
	m.loss = -INFINITY;
	HAS("fl_aggregated_loss{strategy=\"FedAvg\"} -Inf");

	fl_metrics_init(&m, NULL);
	const char *out = render(FL_METRICS_PROM);
	CHECK(strstr(out, "# HELP fl_round_current Current training round number\n# TYPE fl_round_current "
	                  "gauge\n# HELP") &&
	          !strstr(out, "\nfl_metrics_last_event_timestamp_seconds ") &&
	          !strstr(out, "\nfl_clients_registered ") && strstr(out, "\nfl_clients_failed_total 0\n") &&
	          strstr(out, "\nfl_checkpoint_saved_total 0\n"),
	      "fresh: labeled families HELP/TYPE only, unlabeled 0, unknown extras absent");
}

static void test_openmetrics(void)
{
	fl_metrics_init(&m, NULL);
	feed_all(spec);
	const char *om = render(FL_METRICS_OPENMETRICS);
	size_t n = strlen(om);
	CHECK(n > 6 && strcmp(om + n - 6, "# EOF\n") == 0, "openmetrics: ends in # EOF");
	CHECK(strstr(om, "\n# TYPE fl_clients_failed counter\nfl_clients_failed_total 0\n") &&
	          strstr(om, "\n# TYPE fl_checkpoint_saved counter\nfl_checkpoint_saved_total 0\n") &&
	          strstr(om, "\n# TYPE fl_metrics_lines counter\nfl_metrics_lines_total 3\n") &&
	          !strstr(om, "# TYPE fl_clients_failed_total"),
	      "openmetrics: counter families without _total, samples with it");
	/* Structure: every sample's family was declared by TYPE just before its samples. */
	char fam[128] = "";
	int bad = 0;
	for (const char *l = om + 1; *l;) {
		const char *e = strchr(l, '\n');
		char line[512];
		snprintf(line, sizeof line, "%.*s", (int)(e - l), l);
		if (strncmp(line, "# TYPE ", 7) == 0)
			sscanf(line + 7, "%127s", fam);
		else if (line[0] != '#' && strncmp(line, fam, strlen(fam)) != 0)
			bad++;
		l = e + 1;
	}
	CHECK(bad == 0, "openmetrics: every sample belongs to the family TYPE declared last");
	CHECK_STR(fl_metrics_content_type(FL_METRICS_PROM), "text/plain; version=0.0.4; charset=utf-8",
	          "content type: text");
	CHECK_STR(fl_metrics_content_type(FL_METRICS_OPENMETRICS),
	          "application/openmetrics-text; version=1.0.0; charset=utf-8", "content type: OpenMetrics");
	CHECK(fl_metrics_negotiate(NULL) == FL_METRICS_PROM &&
	          fl_metrics_negotiate("*/*") == FL_METRICS_PROM &&
	          fl_metrics_negotiate("text/plain") == FL_METRICS_PROM,
	      "negotiate: none, */*, text/plain: text");
	CHECK(fl_metrics_negotiate(
	          "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5") ==
	              FL_METRICS_OPENMETRICS &&
	          fl_metrics_negotiate("text/plain, Application/OpenMetrics-Text; q=0.2") ==
	              FL_METRICS_OPENMETRICS,
	      "negotiate: Prometheus' header and a case-insensitive one: OpenMetrics");
	CHECK(fl_metrics_negotiate("application/openmetrics-text;q=0,text/plain") == FL_METRICS_PROM &&
	          fl_metrics_negotiate("application/openmetrics-text; q=0.000") == FL_METRICS_PROM &&
	          fl_metrics_negotiate("application/openmetrics-textual") == FL_METRICS_PROM,
	      "negotiate: q=0 means no; a longer type is another type");

	struct fl_buf b = FL_BUF_INIT;
	fl_metrics_render(&m, FL_METRICS_JSON, &b);
	json_error_t err;
	json_t *j = json_loads(fl_buf_str(&b), 0, &err);
	CHECK(j && json_real_value(json_object_get(j, "loss")) == 0.5 &&
	          json_integer_value(json_object_get(json_object_get(j, "events"), "round_end")) == 1 &&
	          json_array_size(json_object_get(j, "history")) == 1 &&
	          json_is_null(json_object_get(j, "clients_registered")),
	      "json: the values, the event counts and the history");
	json_decref(j);
	fl_buf_free(&b);
}

/* The same event read through two sources (a SuperLink <= 1.26: its log and the database's logs
 * table) counts once; events that differ in time or data, or carry no time, all count. */
static void test_duplicates(void)
{
	static const char ck[] =
	    "{\"timestamp\":\"2026-02-09T14:30:05.123Z\",\"event\":\"checkpoint_saved\","
	    "\"data\":{\"round\":1,\"path\":\"/app/checkpoints/a.npz\",\"size_bytes\":10}}";
	fl_metrics_init(&m, NULL);
	feed(ck);
	feed(ck);
	/* The same line inside a Docker envelope is the same event. */
	feed("{\"log\":\"{\\\"timestamp\\\":\\\"2026-02-09T14:30:05.123Z\\\",\\\"event\\\":"
	     "\\\"checkpoint_saved\\\",\\\"data\\\":{\\\"round\\\":1,\\\"path\\\":"
	     "\\\"/app/checkpoints/a.npz\\\",\\\"size_bytes\\\":10}}\\n\",\"stream\":\"stderr\"}");
	HAS("fl_checkpoint_saved_total 1");
	HAS("fl_metrics_events_duplicate_total 2");
	feed("{\"timestamp\":\"2026-02-09T14:30:05.124Z\",\"event\":\"checkpoint_saved\",\"data\":{\"round\":"
	     "1}}");
	feed("{\"timestamp\":\"2026-02-09T14:30:05.123Z\",\"event\":\"checkpoint_saved\",\"data\":{\"round\":"
	     "2}}");
	HAS("fl_checkpoint_saved_total 3");
	feed("{\"event\":\"checkpoint_saved\",\"data\":{\"round\":1}}");
	feed("{\"event\":\"checkpoint_saved\",\"data\":{\"round\":1}}");
	HAS("fl_checkpoint_saved_total 5");
	/* The ring forgets: an event seen FL_METRICS_SEEN timestamped events ago counts again. */
	for (int i = 0; i < FL_METRICS_SEEN; i++) {
		char l[256];
		snprintf(l, sizeof l,
		         "{\"timestamp\":\"2026-02-09T15:%02d:%02d.%03dZ\",\"event\":\"client_failure\","
		         "\"data\":{}}",
		         i / 3600 % 60, i / 60 % 60, i % 1000);
		feed(l);
	}
	feed(ck);
	HAS("fl_checkpoint_saved_total 6");
}

int main(void)
{
	json_object_seed(1);
	test_spec_1();
	test_spec_2();
	test_spec_3();
	test_spec_4_to_6();
	test_nodes();
	test_history();
	test_runs();
	test_db();
	test_render();
	test_openmetrics();
	test_duplicates();
	return unit_done();
}
