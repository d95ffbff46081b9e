/* test_flowerlog: Flower's own ServerApp lines -> synthetic events: the real output of a Flower
 * 1.25 and a 1.42 run (ANSI colours, tree drawing, blank chunks), legacy strategy lines, failures,
 * and garbage that must give nothing. */
#include "fl_flowerlog.h"
#include "unit.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define MAXEV 64

struct rec {
	struct fl_mevent ev[MAXEV];
	int n, total, by[FL_MEV_COUNT];
};

static void rec_emit(void *ctx, const struct fl_mevent *ev)
{
	struct rec *r = ctx;
	if (r->n < MAXEV)
		r->ev[r->n++] = *ev;
	r->total++;
	r->by[ev->type]++;
}

static int feed(struct fl_flowerlog *p, struct rec *r, const char *line, double ts)
{
	return fl_flowerlog_feed(p, line, strlen(line), ts, rec_emit, r);
}

/* Every line of a captured ServerApp output, line times 1 s apart. */
static void feed_file(struct fl_flowerlog *p, struct rec *r, const char *path)
{
	FILE *f = fopen(path, "r");
	CHECK(f != NULL, "%s opens", path);
	if (!f)
		return;
	char line[8192];
	double ts = 1000;
	while (fgets(line, sizeof line, f)) {
		line[strcspn(line, "\n")] = '\0';
		if (line[0] != '{') /* the JSON events are fl_mevent's */
			feed(p, r, line, ts);
		ts += 1;
	}
	fclose(f);
}

static int count(const struct rec *r, enum fl_mevent_type t)
{
	int c = 0;
	for (int i = 0; i < r->n; i++)
		c += r->ev[i].type == t;
	return c;
}

static const struct fl_mevent *nth(const struct rec *r, enum fl_mevent_type t, int k)
{
	for (int i = 0; i < r->n; i++)
		if (r->ev[i].type == t && k-- == 0)
			return &r->ev[i];
	return NULL;
}

static void real_run(const char *path, const char *version)
{
	struct fl_flowerlog p;
	struct rec r = {0};
	fl_flowerlog_init(&p);
	feed_file(&p, &r, path);
	fl_flowerlog_flush(&p, NAN, rec_emit, &r);
	CHECK_INT(count(&r, FL_MEV_TRAINING_START), 1, "%s: one training_start", version);
	const struct fl_mevent *ts = nth(&r, FL_MEV_TRAINING_START, 0);
	CHECK(ts && strcmp(ts->strategy, "FedAvg") == 0 && ts->num_rounds == 3, "%s: FedAvg, 3 rounds",
	      version);
	CHECK_INT(count(&r, FL_MEV_ROUND_START), 3, "%s: three round_start", version);
	CHECK_INT(count(&r, FL_MEV_ROUND_END), 3, "%s: three round_end", version);
	CHECK_INT(count(&r, FL_MEV_TRAINING_END), 1, "%s: one training_end", version);
	CHECK_INT(count(&r, FL_MEV_CLIENT_FAILURE), 0, "%s: no failure", version);
	CHECK_INT(r.n, 8, "%s: nothing else", version);
	const struct fl_mevent *s1 = nth(&r, FL_MEV_ROUND_START, 0), *e3 = nth(&r, FL_MEV_ROUND_END, 2);
	CHECK(s1 && s1->round == 1 && s1->selected == 2, "%s: round 1 selected 2", version);
	CHECK(e3 && e3->round == 3 && e3->responded == 2, "%s: round 3 responded 2", version);
	CHECK(e3 && fabs(e3->loss - 0.5366766077855644) < 1e-12, "%s: round 3 loss is the eval loss",
	      version);
	CHECK(e3 && fabs(e3->accuracy - 0.895) < 1e-12, "%s: round 3 accuracy is eval_accuracy", version);
	CHECK(e3 && e3->duration > 0, "%s: round 3 has a duration from line times", version);
	const struct fl_mevent *te = nth(&r, FL_MEV_TRAINING_END, 0);
	CHECK(te && te->round == 3 && te->duration > 30, "%s: training_end round 3 with the strategy's time",
	      version);
	/* Order: start, (round_start, round_end) x 3, end. */
	CHECK(r.ev[0].type == FL_MEV_TRAINING_START && r.ev[1].type == FL_MEV_ROUND_START &&
	          r.ev[2].type == FL_MEV_ROUND_END && r.ev[7].type == FL_MEV_TRAINING_END,
	      "%s: events in order", version);
}

static void failures(void)
{
	struct fl_flowerlog p;
	struct rec r = {0};
	fl_flowerlog_init(&p);
	feed(&p, &r, "INFO :      [ROUND 2/5]", 10);
	feed(&p, &r, "INFO :      configure_train: Sampled 3 nodes (out of 4)", 10);
	feed(&p, &r, "INFO :      aggregate_train: Received 1 results and 2 failures", 20);
	feed(&p, &r, "INFO :      \t> Received error in reply from node 123: boom", 20);
	feed(&p, &r,
	     "INFO :      \t\xe2\x94\x94\xe2\x94\x80\xe2\x94\x80> Aggregated MetricRecord: {'train_loss': "
	     "0.25}",
	     20);
	CHECK_INT(count(&r, FL_MEV_CLIENT_FAILURE), 2, "aggregate_train f failures: f client_failure events");
	const struct fl_mevent *f1 = nth(&r, FL_MEV_CLIENT_FAILURE, 0),
	                       *f2 = nth(&r, FL_MEV_CLIENT_FAILURE, 1);
	CHECK(f1 && f2 && strcmp(f1->node_id, f2->node_id) != 0, "failures get distinct synthetic node ids");
	/* No evaluate phase: the next [ROUND ends the round, with the train loss. */
	feed(&p, &r, "INFO :      [ROUND 3/5]", 30);
	const struct fl_mevent *e = nth(&r, FL_MEV_ROUND_END, 0);
	CHECK(e && e->round == 2 && e->responded == 1 && e->loss == 0.25,
	      "round without evaluate: ends at the next round");
	CHECK(e && e->duration == 20, "duration from the line times");
	int before = r.by[FL_MEV_CLIENT_FAILURE];
	feed(&p, &r, "INFO :      aggregate_train: Received 0 results and 99999999999 failures", 31);
	CHECK_INT(r.by[FL_MEV_CLIENT_FAILURE] - before, FL_FLOWERLOG_FAIL_MAX,
	          "at most FL_FLOWERLOG_FAIL_MAX failures from one line");
	CHECK_INT(count(&r, FL_MEV_TRAINING_START), 1, "[ROUND n/N] without the banner: training_start once");
}

static void legacy(void)
{
	struct fl_flowerlog p;
	struct rec r = {0};
	static const char *const lines[] = {
	    "\x1b[92mINFO \x1b[0m:      Starting Flower ServerApp, config: num_rounds=2, no round_timeout",
	    "\x1b[92mINFO \x1b[0m:      ",
	    "\x1b[92mINFO \x1b[0m:      [INIT]",
	    "\x1b[92mINFO \x1b[0m:      Requesting initial parameters from one random client",
	    "\x1b[92mINFO \x1b[0m:      [ROUND 1]",
	    "\x1b[92mINFO \x1b[0m:      configure_fit: strategy sampled 2 clients (out of 2)",
	    "\x1b[92mINFO \x1b[0m:      aggregate_fit: received 2 results and 0 failures",
	    "\x1b[92mINFO \x1b[0m:      fit progress: (1, 0.52, {'accuracy': 0.8}, 3.2)",
	    "\x1b[92mINFO \x1b[0m:      configure_evaluate: strategy sampled 2 clients (out of 2)",
	    "\x1b[92mINFO \x1b[0m:      aggregate_evaluate: received 2 results and 0 failures",
	    "\x1b[92mINFO \x1b[0m:      [ROUND 2]",
	    "\x1b[92mINFO \x1b[0m:      configure_fit: strategy sampled 2 clients (out of 2)",
	    "\x1b[92mINFO \x1b[0m:      aggregate_fit: received 1 results and 1 failures",
	    "\x1b[92mINFO \x1b[0m:      aggregate_evaluate: received 2 results and 0 failures",
	    "\x1b[92mINFO \x1b[0m:      [SUMMARY]",
	    "\x1b[92mINFO \x1b[0m:      Run finished 2 round(s) in 12.34s",
	    "\x1b[92mINFO \x1b[0m:      \tHistory (loss, distributed):",
	    "\x1b[92mINFO \x1b[0m:      \t\tround 1: 0.52",
	};
	fl_flowerlog_init(&p);
	for (size_t i = 0; i < sizeof lines / sizeof *lines; i++)
		feed(&p, &r, lines[i], NAN);
	const struct fl_mevent *ts = nth(&r, FL_MEV_TRAINING_START, 0);
	CHECK(ts && ts->num_rounds == 2 && ts->strategy[0] == '\0',
	      "legacy: training_start with num_rounds, no strategy");
	CHECK_INT(count(&r, FL_MEV_ROUND_START), 2, "legacy: [ROUND n] starts rounds");
	CHECK_INT(count(&r, FL_MEV_ROUND_END), 2, "legacy: aggregate_evaluate ends them");
	const struct fl_mevent *e1 = nth(&r, FL_MEV_ROUND_END, 0), *e2 = nth(&r, FL_MEV_ROUND_END, 1);
	CHECK(e1 && e1->loss == 0.52 && isnan(e1->duration),
	      "legacy: fit progress gives the loss; no line times, no duration");
	CHECK(e2 && e2->responded == 1, "legacy: round 2 responded 1");
	CHECK_INT(count(&r, FL_MEV_CLIENT_FAILURE), 1, "legacy: aggregate_fit failures");
	const struct fl_mevent *te = nth(&r, FL_MEV_TRAINING_END, 0);
	CHECK(te && te->round == 2 && te->duration == 12.34, "legacy: Run finished 2 round(s) in 12.34s");
}

static void garbage(void)
{
	struct fl_flowerlog p;
	struct rec r = {0};
	static const char *const lines[] = {
	    "",
	    "\x1b[",
	    "\x1b[92",
	    "INFO",
	    "INFO :",
	    "[ROUND ]",
	    "[ROUND x/3]",
	    "[ROUND 1/x]",
	    "[ROUND 99999999999999999999999]",
	    "[ROUND -1]",
	    "configure_train: Sampled -2 nodes",
	    "aggregate_train: Received 2 results",
	    "aggregate_train: Received x results and 0 failures",
	    "Starting  strategy:",
	    "Starting Fed Avg strategy:",
	    "Starting FedAvgFedAvgFedAvgFedAvgFedAvgFedAvgFedAvgFedAvgFedAvgFedAvgFedAvg strategy:",
	    "Aggregated MetricRecord: {'eval_loss': nan}",
	    "Strategy execution finished in",
	    "fit progress: (",
	    "\xff\xfe\x80 random bytes \x01\x02",
	    "{\"event\":\"round_start\"}",
	};
	fl_flowerlog_init(&p);
	for (size_t i = 0; i < sizeof lines / sizeof *lines; i++)
		feed(&p, &r, lines[i], 5);
	int starts =
	    count(&r, FL_MEV_TRAINING_START) + count(&r, FL_MEV_ROUND_START) + count(&r, FL_MEV_ROUND_END);
	CHECK_INT(starts, 0, "garbage, malformed and truncated lines give no training or round event");
	CHECK_INT(count(&r, FL_MEV_TRAINING_END), 1,
	          "only 'Strategy execution finished' (no time) ends training");
	CHECK(isnan(nth(&r, FL_MEV_TRAINING_END, 0)->duration), "and without a duration");

	/* A line longer than the bound: read only its start, no overflow. */
	static char big[100000];
	memset(big, 'A', sizeof big - 1);
	memcpy(big, "[ROUND 7/9]", 11);
	fl_flowerlog_init(&p);
	r.n = r.total = 0;
	fl_flowerlog_feed(&p, big, sizeof big - 1, 1, rec_emit, &r);
	fl_flowerlog_feed(&p, "configure_train: Sampled 1 nodes (out of 1)", 43, 1, rec_emit, &r);
	CHECK_INT(r.n, 0, "an oversized line is not a round marker (its end was not read)");
	/* NUL bytes inside a line are skipped. */
	fl_flowerlog_feed(&p, "[ROUND\0 4/9]", 12, 1, rec_emit, &r);
	fl_flowerlog_feed(&p, "configure_train: Sampled 1 nodes (out of 1)", 43, 1, rec_emit, &r);
	const struct fl_mevent *rs = nth(&r, FL_MEV_ROUND_START, 0);
	CHECK(rs && rs->round == 4 && rs->selected == 1, "NUL bytes are dropped, the line still reads");
	CHECK(nth(&r, FL_MEV_TRAINING_START, 0) && nth(&r, FL_MEV_TRAINING_START, 0)->num_rounds == 9,
	      "[ROUND 4/9] read from the middle: training_start of 9 rounds");
	CHECK_INT(fl_flowerlog_feed(&p, NULL, 5, 1, rec_emit, &r), 0, "a NULL line gives nothing");
}

/* `Waiting for nodes to connect` for a minute is a training_stalled event with the counts, once
 * per wait; a shorter wait is none. */
static void stalled(void)
{
	struct fl_flowerlog p;
	struct rec r = {0};
	static const char wait[] =
	    "\x1b[92mINFO \x1b[0m:      Waiting for nodes to connect: 1 connected (minimum "
	    "required: 3).";
	fl_flowerlog_init(&p);
	feed(&p, &r, "Starting FedAvg strategy:", 100);
	feed(&p, &r, "\t\u251c\u2500\u2500 Number of rounds: 3", 100);
	for (int i = 0; i < 30; i++)
		feed(&p, &r, wait, 100 + i);
	CHECK_INT(count(&r, FL_MEV_TRAINING_STALLED), 0, "a 30 s wait is no stall");
	for (int i = 30; i < 90; i++)
		feed(&p, &r, wait, 100 + i);
	CHECK_INT(count(&r, FL_MEV_TRAINING_STALLED), 1, "a wait of a minute is one training_stalled");
	const struct fl_mevent *ev = nth(&r, FL_MEV_TRAINING_STALLED, 0);
	if (ev) {
		CHECK_INT(ev->connected, 1, "stalled: connected_clients");
		CHECK_INT(ev->min_clients, 3, "stalled: required_clients");
		CHECK(ev->waiting >= 59 && ev->waiting <= 60, "stalled: waiting_since_seconds %g",
		      ev->waiting);
	}
	feed(&p, &r, "[ROUND 1/3]", 200);
	for (int i = 0; i < 60; i++)
		feed(&p, &r, wait, NAN);
	CHECK_INT(count(&r, FL_MEV_TRAINING_STALLED), 2,
	          "a new wait of 60 lines without times reports again");
	feed(&p, &r, "Waiting for nodes to connect: x connected", NAN);
	CHECK_INT(count(&r, FL_MEV_TRAINING_STALLED), 2, "a malformed wait line is ignored");
}

int main(void)
{
	real_run("test/fixtures/linkdb/serverapp-1.25.log", "Flower 1.25");
	stalled();
	real_run("test/fixtures/linkdb/serverapp-1.42.log", "Flower 1.42");
	failures();
	legacy();
	garbage();
	return unit_done();
}
