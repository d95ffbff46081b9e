/* test_metrics_show: the text of `fl-metrics show`: the UTF-8 decision, the bars, the "ago"
 * wording, and the whole text of hand-filled states (unknown values, stalled, hidden rounds). */
#include "fl_metrics.h"
#include "fl_metrics_show.h"
#include "unit.h"

#include <math.h>

static struct fl_metrics m;

static const char *bar(double frac, unsigned width, bool utf8)
{
	static struct fl_buf b = FL_BUF_INIT;
	fl_buf_reset(&b);
	fl_metrics_show_bar(&b, frac, width, utf8);
	return fl_buf_str(&b);
}

static const char *ago(double s)
{
	static struct fl_buf b = FL_BUF_INIT;
	fl_buf_reset(&b);
	fl_metrics_show_ago(&b, s);
	return fl_buf_str(&b);
}

static const char *text(double now, bool utf8)
{
	static struct fl_buf b = FL_BUF_INIT;
	fl_buf_reset(&b);
	fl_metrics_show_text(&m, now, utf8, &b);
	return fl_buf_str(&b);
}

static void feed(const char *line)
{
	fl_metrics_feed(&m, line, strlen(line), 1000);
}

static void test_utf8(void)
{
	CHECK(fl_metrics_show_utf8(NULL, NULL, "en_US.UTF-8"), "LANG en_US.UTF-8");
	CHECK(fl_metrics_show_utf8(NULL, NULL, "C.utf8"), "LANG C.utf8");
	CHECK(!fl_metrics_show_utf8(NULL, NULL, NULL), "nothing set: ASCII");
	CHECK(!fl_metrics_show_utf8("C", NULL, "en_US.UTF-8"), "LC_ALL=C wins over LANG");
	CHECK(fl_metrics_show_utf8("", "de_DE.UTF-8", "C"), "empty LC_ALL: LC_CTYPE");
	CHECK(!fl_metrics_show_utf8(NULL, NULL, "POSIX"), "POSIX: ASCII");
}

static void test_bar(void)
{
	CHECK_STR(bar(0.5, 10, false), "#####", "half of 10 in #");
	CHECK_STR(bar(1.7, 4, false), "####", "clamped at 1");
	CHECK_STR(bar(NAN, 10, true), "", "NAN: nothing");
	CHECK_STR(bar(-1, 10, true), "", "negative: nothing");
	CHECK_STR(bar(0, 10, false), "", "zero: nothing");
	CHECK_STR(bar(1, 2, true), "\u2588\u2588", "two full blocks");
	CHECK_STR(bar(0.5625, 2, true), "\u2588\u258f", "nine eighths: a full block and one eighth");
	CHECK_STR(bar(0.01, 20, true), "\u258e", "a small value still shows a sliver");
}

static void test_ago(void)
{
	CHECK_STR(ago(0), "0 s", "0");
	CHECK_STR(ago(-5), "0 s", "clock skew: 0");
	CHECK_STR(ago(119.9), "119 s", "under two minutes in seconds");
	CHECK_STR(ago(600), "10 min", "minutes");
	CHECK_STR(ago(3 * 3600 + 7 * 60), "3 h 7 min", "hours");
	CHECK_STR(ago(4 * 86400 + 5), "4 days", "days");
}

static void test_empty(void)
{
	fl_metrics_init(&m, NULL);
	CHECK_STR(text(1000, false),
	          "Training: not started (FedAvg)\n"
	          "Clients: 0 connected, 0 selected, 0 responded, 0 failed\n"
	          "Checkpoints saved: 0\n"
	          "No round has ended yet.\n"
	          "No event yet.\n",
	          "a fresh state");
}

static void test_running(void)
{
	fl_metrics_init(&m, "FedProx");
	feed("{\"timestamp\":\"2026-02-09T14:30:00Z\",\"event\":\"training_start\",\"data\":{\"strategy\":"
	     "\"FedAvg\","
	     "\"num_rounds\":3,\"min_clients\":2}}");
	feed("{\"event\":\"round_start\",\"data\":{\"round\":1,\"num_clients_selected\":2}}");
	feed("{\"event\":\"round_end\",\"data\":{\"round\":1,\"num_clients_responded\":2,\"aggregated_loss\":"
	     "0.5,"
	     "\"aggregated_accuracy\":0.8}}");
	feed("{\"event\":\"round_start\",\"data\":{\"round\":2,\"num_clients_selected\":2}}");
	feed("{\"event\":\"round_end\",\"data\":{\"round\":2,\"num_clients_responded\":1,\"aggregated_loss\":"
	     "0.25}}");
	feed("{\"event\":\"training_stalled\",\"data\":{\"round\":2}}");
	fl_metrics_set_connected(&m, 2, 3);
	const char *t = text(m.last_event_ts + 42, false);
	CHECK(strstr(t, "Training: running, round 2 of 3 (FedAvg)\n") == t, "status line: %s", t);
	CHECK(strstr(t, "Clients: 2 connected, 2 selected, 1 responded, 0 failed (registered 3, min 2)\n"),
	      "clients line");
	CHECK(strstr(t, "Warning: training stalled in round 2"), "stalled warning");
	CHECK(strstr(t, "    1  0.5000    0.8000    ################\n"), "round 1: accuracy bar");
	/* No accuracy: the loss against the largest loss shown (0.25 / 0.5). */
	CHECK(strstr(t, "    2  0.2500    -         ##########\n"), "round 2: loss bar, - for accuracy");
	CHECK(strstr(t, "Last event: 42 s ago\n"), "time since the last event");
}

static void test_hidden(void)
{
	fl_metrics_init(&m, NULL);
	char line[200];
	for (int r = 1; r <= 23; r++) {
		snprintf(line, sizeof line,
		         "{\"event\":\"round_end\",\"data\":{\"round\":%d,\"aggregated_loss\":1}}", r);
		feed(line);
	}
	const char *t = text(1000, true);
	CHECK(strstr(t, "(3 earlier rounds not shown)\n"), "says how many are hidden: %s", t);
	CHECK(!strstr(t, "\n    3  "), "round 3 is hidden");
	CHECK(strstr(t, "\n    4  1.0000    -         \u2588"), "round 4 is the first shown");
	CHECK(strstr(t, "\n   23  "), "round 23 is shown");
}

int main(void)
{
	test_utf8();
	test_bar();
	test_ago();
	test_empty();
	test_running();
	test_hidden();
	return unit_done();
}
