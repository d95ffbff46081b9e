/* test_elastic: the publisher's decisions on a fake clock (a number): the node's state from
 * SuperNode output, the initial PUTs, change-only, the refresh, the rate bound with
 * coalescing, holding off after failures, and which failures are logged. */
#include "fl_elastic.h"
#include "unit.h"

#include <string.h>

static void feed(struct fl_elastic_node *n, const char *line)
{
	fl_elastic_node_line(n, line, strlen(line));
}

static void test_node(void)
{
	struct fl_elastic_node n = {0};
	CHECK_INT(fl_elastic_node_status(&n, true), FL_ELASTIC_DISCONNECTED,
	          "node: running but not registered yet is DISCONNECTED");
	feed(&n, "\x1b[92mINFO \x1b[0m:      Starting Flower SuperNode");
	feed(&n, "INFO :      SuperNode ID: 8119443921573957379");
	CHECK_INT(fl_elastic_node_status(&n, true), FL_ELASTIC_IDLE, "node: registered is IDLE");
	CHECK_INT(fl_elastic_node_status(&n, false), FL_ELASTIC_DISCONNECTED,
	          "node: registered but not running is DISCONNECTED");
	feed(&n, "INFO :      [RUN 4410, ROUND 1]");
	feed(&n, "INFO :      Receiving: train message (ID: 6bd2f0a1)");
	CHECK_INT(fl_elastic_node_status(&n, true), FL_ELASTIC_TRAINING,
	          "node: a train message received is TRAINING");
	CHECK_INT(n.last_round, 0, "node: no round taken part in before the reply is sent");
	feed(&n, "INFO :      Received successfully");
	CHECK_INT(fl_elastic_node_status(&n, true), FL_ELASTIC_TRAINING,
	          "node: 'Received successfully' does not end the message");
	feed(&n, "INFO :      Sending: train message (ID: 77aa)");
	feed(&n, "INFO :      Sent successfully");
	CHECK_INT(fl_elastic_node_status(&n, true), FL_ELASTIC_IDLE, "node: the reply sent is IDLE again");
	CHECK_INT(n.last_round, 1, "node: the round of the reply is the last round taken part in");
	feed(&n, "INFO :      [RUN 4410, ROUND 2]");
	feed(&n, "INFO :      Received: evaluate message 99");
	CHECK_INT(fl_elastic_node_status(&n, true), FL_ELASTIC_TRAINING,
	          "node: an evaluate message is TRAINING too");
	feed(&n, "INFO :      Sent successfully");
	CHECK_INT(n.last_round, 2, "node: round 2 after its evaluate reply");
	feed(&n, "INFO :      [RUN 4410, ROUND 3]");
	feed(&n, "INFO :      Receiving: query message (ID: 1)");
	CHECK_INT(fl_elastic_node_status(&n, true), FL_ELASTIC_IDLE, "node: a query message is not training");
	feed(&n, "INFO :      Sent successfully");
	CHECK_INT(n.last_round, 2, "node: a query reply does not count as taking part in a round");
	feed(&n, "INFO :      Receiving: train message (ID: 2)");
	feed(&n, "ERROR :     Failed to receive message: connection refused");
	CHECK_INT(fl_elastic_node_status(&n, true), FL_ELASTIC_IDLE,
	          "node: a failed pull ends the message in flight");
	feed(&n, "INFO :      Starting Flower SuperNode");
	CHECK_INT(fl_elastic_node_status(&n, true), FL_ELASTIC_DISCONNECTED,
	          "node: a restart is DISCONNECTED until it registers again");
	CHECK_INT(n.last_round, 2, "node: a restart keeps the last round");
	feed(&n, "SuperNode ID: x");
	CHECK_INT(fl_elastic_node_status(&n, true), FL_ELASTIC_DISCONNECTED,
	          "node: 'SuperNode ID: ' without a digit is no registration");
	feed(&n, "[RUN 1, ROUND 99999999999999999999]");
	CHECK(n.round >= 0 && n.round <= 999999999, "node: an oversized round number stays bounded");
	feed(&n, "[RUN 1, ROUND ");
	feed(&n, "[RUN , ROUND]");
	feed(&n, "");
	static char big[1 << 20];
	memset(big, 'A', sizeof big);
	memcpy(big + sizeof big - 20, "SuperNode ID: 42", 16);
	fl_elastic_node_line(&n, big, sizeof big - 4);
	CHECK(n.registered, "node: a 1 MiB line is read to its end (the registration at its tail)");
	feed(&n, "Starting Flower SuperNode");
	char nul[] = "Sent\0successfully SuperNode ID: \0 7";
	fl_elastic_node_line(&n, nul, sizeof nul - 1);
	CHECK_INT(fl_elastic_node_status(&n, true), FL_ELASTIC_DISCONNECTED,
	          "node: truncated, empty and NUL-cut lines change nothing");
}

static struct fl_elastic el;
static const struct fl_elastic_opts opts = {
    .interval_ms = 30000, .gap_ms = 1000, .burst = 3, .retry_ms = 1000};

/* Send what is due at now, all OK; the attributes sent as a string "SAR" etc. */
static void drain(uint64_t now, char *got, size_t n, enum fl_elastic_outcome out)
{
	size_t k = 0;
	long v;
	uint64_t w;
	int a;
	while (k + 1 < n && (a = fl_elastic_next(&el, now, &v, &w)) >= 0) {
		got[k++] = "SAR"[a];
		fl_elastic_sent(&el, a, v, out, now);
	}
	got[k] = '\0';
}

static void test_schedule(void)
{
	char got[64];
	long v;
	uint64_t w;
	fl_elastic_init(&el, &opts);
	CHECK_INT(fl_elastic_next(&el, 1000, &v, &w), -1, "schedule: nothing is due before a state is known");
	fl_elastic_init(&el, &opts);
	fl_elastic_observe(&el, FL_ELASTIC_TRAINING, 0);
	CHECK_INT(fl_elastic_next(&el, 1000, &v, &w), FL_ELASTIC_STATUS, "start: FL_CLIENT_STATUS first");
	CHECK_INT(v, 2, "start: the initial state as observed (TRAINING), not blindly IDLE");
	fl_elastic_sent(&el, FL_ELASTIC_STATUS, v, FL_ELASTIC_OK, 1000);
	CHECK_INT(fl_elastic_next(&el, 1000, &v, &w), FL_ELASTIC_ACTIVE, "start: then FL_TRAINING_ACTIVE");
	CHECK_INT(v, 1, "start: FL_TRAINING_ACTIVE 1 while training");
	fl_elastic_sent(&el, FL_ELASTIC_ACTIVE, v, FL_ELASTIC_OK, 1000);
	CHECK_INT(fl_elastic_next(&el, 1000, &v, &w), -1,
	          "start: no FL_ROUND_NUMBER before a round is known");
	CHECK_INT(w, 30000, "start: the next thing due is the refresh, an interval later");

	drain(20000, got, sizeof got, FL_ELASTIC_OK);
	CHECK_STR(got, "", "change-only: nothing is sent while nothing changes");
	fl_elastic_observe(&el, FL_ELASTIC_IDLE, 1);
	drain(20000, got, sizeof got, FL_ELASTIC_OK);
	CHECK_STR(got, "SAR", "change: status, active and the new round go at once (within the burst)");
	CHECK_INT(el.sent[FL_ELASTIC_ROUND], 1, "change: FL_ROUND_NUMBER 1");
	drain(25000, got, sizeof got, FL_ELASTIC_OK);
	CHECK_STR(got, "", "change-only: still nothing");
	drain(31000, got, sizeof got, FL_ELASTIC_OK);
	CHECK_STR(got, "SAR", "refresh: every known attribute again after the interval");
	drain(32000, got, sizeof got, FL_ELASTIC_OK);
	CHECK_STR(got, "", "refresh: once per interval");
	drain(61000, got, sizeof got, FL_ELASTIC_OK);
	CHECK_STR(got, "SAR", "refresh: the next interval");
}

static void test_rate(void)
{
	fl_elastic_init(&el, &opts);
	fl_elastic_observe(&el, FL_ELASTIC_IDLE, 0);
	char got[64];
	drain(0, got, sizeof got, FL_ELASTIC_OK);
	/* Flapping TRAINING/IDLE every 10 ms for 10 s: at most burst + 10 requests. */
	unsigned before = el.requests;
	long v;
	uint64_t w;
	for (uint64_t t = 5000; t < 15000; t += 10) {
		fl_elastic_observe(&el, (t / 10) % 2 ? FL_ELASTIC_TRAINING : FL_ELASTIC_IDLE, 0);
		int a = fl_elastic_next(&el, t, &v, &w);
		if (a >= 0)
			fl_elastic_sent(&el, a, v, FL_ELASTIC_OK, t);
	}
	unsigned n = el.requests - before;
	CHECK(n <= 3 + 10, "rate: a flapping status sends at most burst + 1/s (%u in 10 s)", n);
	CHECK(n >= 5, "rate: but the changes do go out (%u)", n);
	/* It settles on TRAINING: the final value goes once, then nothing. */
	fl_elastic_observe(&el, FL_ELASTIC_TRAINING, 0);
	before = el.requests;
	for (uint64_t t = 15000; t < 25000; t += 10) {
		int a = fl_elastic_next(&el, t, &v, &w);
		if (a >= 0)
			fl_elastic_sent(&el, a, v, FL_ELASTIC_OK, t);
	}
	CHECK(el.sent[FL_ELASTIC_STATUS] == 2 && el.sent[FL_ELASTIC_ACTIVE] == 1,
	      "rate: the final values are what OneGate holds");
	CHECK(el.requests - before <= 2, "rate: the settled values go once each (%u)", el.requests - before);

	/* Ten flaps within one gap, after the burst is spent: one request with the final value. */
	fl_elastic_init(&el, &(struct fl_elastic_opts){.interval_ms = 30000, .gap_ms = 1000, .burst = 1});
	fl_elastic_observe(&el, FL_ELASTIC_IDLE, 0);
	int a = fl_elastic_next(&el, 0, &v, &w);
	fl_elastic_sent(&el, a, v, FL_ELASTIC_OK, 0);
	a = fl_elastic_next(&el, 0, &v, &w);
	CHECK_INT(a, -1, "rate: burst 1 holds the second request");
	CHECK_INT(w, 1000, "rate: for one gap");
	fl_elastic_sent(&el, FL_ELASTIC_ACTIVE, 0, FL_ELASTIC_OK, 1000);
	for (int i = 0; i < 10; i++)
		fl_elastic_observe(&el, i % 2 ? FL_ELASTIC_IDLE : FL_ELASTIC_TRAINING, 0);
	CHECK_INT(fl_elastic_next(&el, 1500, &v, &w), -1, "rate: flaps within the gap wait");
	CHECK_INT(fl_elastic_next(&el, 2000, &v, &w), -1,
	          "rate: and having flapped back to the published value, nothing is sent at all");
}

static void test_failure(void)
{
	fl_elastic_init(&el, &opts);
	fl_elastic_observe(&el, FL_ELASTIC_IDLE, 3);
	long v;
	uint64_t w;
	int a = fl_elastic_next(&el, 0, &v, &w);
	fl_elastic_sent(&el, a, v, FL_ELASTIC_FAILED, 0);
	CHECK_INT(fl_elastic_next(&el, 500, &v, &w), -1, "failure: nothing is sent during retry_ms");
	CHECK_INT(w, 500, "failure: the wait ends with retry_ms");
	CHECK_INT(fl_elastic_next(&el, 1000, &v, &w), FL_ELASTIC_STATUS,
	          "failure: the unsent value is retried");
	fl_elastic_sent(&el, FL_ELASTIC_STATUS, v, FL_ELASTIC_DENIED, 1000);
	CHECK_INT(fl_elastic_next(&el, 30000, &v, &w), -1, "401/403: nothing for an interval");
	CHECK_INT(fl_elastic_next(&el, 31000, &v, &w), FL_ELASTIC_STATUS,
	          "401/403: tried again an interval later");
	fl_elastic_observe(&el, FL_ELASTIC_DISCONNECTED, 3);
	CHECK_INT(v, 1, "a value is read when it is sent: the next call has the new one");
	CHECK(fl_elastic_next(&el, 31000, &v, &w) == FL_ELASTIC_STATUS && v == 0,
	      "recovery: the current value (DISCONNECTED 0) goes, not the one that failed");

	struct fl_elastic_warn wn = {.every_ms = 300000};
	CHECK_INT(fl_elastic_warn_ok(&wn), FL_ELASTIC_QUIET, "warn: success without failures says nothing");
	CHECK_INT(fl_elastic_warn_fail(&wn, "connection refused", 0), FL_ELASTIC_NEW,
	          "warn: a first failure is logged");
	CHECK_INT(fl_elastic_warn_fail(&wn, "connection refused", 1000), FL_ELASTIC_QUIET,
	          "warn: the same again is quiet");
	CHECK_INT(fl_elastic_warn_fail(&wn, "connection refused", 200000), FL_ELASTIC_QUIET,
	          "warn: still quiet");
	CHECK_INT(fl_elastic_warn_fail(&wn, "connection refused", 300000), FL_ELASTIC_STILL,
	          "warn: a summary every_ms after the last line");
	CHECK_INT(wn.said, 3, "warn: the summary counts the failures it stands for");
	CHECK_INT(fl_elastic_warn_fail(&wn, "HTTP 500", 300001), FL_ELASTIC_NEW,
	          "warn: a distinct failure is logged");
	CHECK_INT(wn.since, 0, "warn: the failure started with the first one");
	CHECK_INT(fl_elastic_warn_ok(&wn), FL_ELASTIC_RECOVER,
	          "warn: the first success after failures is said");
	CHECK_INT(fl_elastic_warn_ok(&wn), FL_ELASTIC_QUIET, "warn: once");
	CHECK_INT(fl_elastic_warn_fail(&wn, "connection refused", 400000), FL_ELASTIC_NEW,
	          "warn: a failure after recovery is new again");

	char kv[64];
	fl_elastic_format(FL_ELASTIC_ROUND, 12, kv, sizeof kv);
	CHECK_STR(kv, "FL_ROUND_NUMBER=12", "format: KEY=VALUE");
}

static void test_average(void)
{
	/* What OneFlow computes: the mean over the role. */
	double a = (2 + 2 + 1) / 3.0, b = (2 + 2 + 0) / 3.0, c = (2 + 1 + 0) / 3.0;
	CHECK(a > 1.5, "average: 2, 2, 1 -> 1.67 > 1.5 (most nodes training)");
	CHECK(b < 1.5, "average: 2, 2, 0 -> 1.33: a disconnected node pulls the mean down, never up");
	CHECK(c < 1.5, "average: 2, 1, 0 -> 1.00");
}

int main(void)
{
	test_node();
	test_schedule();
	test_rate();
	test_failure();
	test_average();
	return unit_done();
}
