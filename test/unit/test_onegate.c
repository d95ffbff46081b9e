/* test_onegate: the OneGate client on a virtual clock and canned answers: wire format (06 §7.2),
 * answers and the CLI's output (06 §7.4, §7.5), hostile JSON, retries, the three discovery
 * schedules with their log lines, partitions, and a 10000-node service. */
#include "fl_buf.h"
#include "fl_discover.h"
#include "fl_log.h"
#include "fl_onegate.h"
#include "unit.h"

#include <limits.h>

#include <stdint.h>
#include <time.h>

static const char ca_b64[] =
    "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUJwVENDQVV1Z0F3SUJBZ0lVRkNibjQ2dHFFb0JOeng2VEFWMEl3Y0l1enZZ"
    "d0NnWUlLb1pJemowRUF3SXcKS0RFU01CQUdBMVVFQ2d3SlJteHZkMlZ5SUVaTU1SSXdFQVlEVlFRRERBbEdiRzkzWlhJZ1EwRXdI"
    "aGNOTWpZeApNVEl6TVRNeE5UVXlXaGNOTXpZeE1USXdNVE14TlRVeVdqQW9NUkl3RUFZRFZRUUtEQWxHYkc5M1pYSWdSa3d4CkVq"
    "QVFCZ05WQkFNTUNVWnNiM2RsY2lCRFFUQlpNQk1HQnlxR1NNNDlBZ0VHQ0NxR1NNNDlBd0VIQTBJQUJONmwKMm10eFh0TFQrU3p2"
    "QWR4QjdYeHhSVC9rOEdwMDI4MHRvMjNkalg3S212YzRXK0JDRnJiaHJhQU9UcDFSWkR1bgptQktQWjBuZW5rVDNWMmROeHBlalV6"
    "QlJNQjBHQTFVZERnUVdCQlRkRkUrdTc5aFNQN090UTRCeTEvSEJ6NVJTCkNEQWZCZ05WSFNNRUdEQVdnQlRkRkUrdTc5aFNQN090"
    "UTRCeTEvSEJ6NVJTQ0RBUEJnTlZIUk1CQWY4RUJUQUQKQVFIL01Bb0dDQ3FHU000OUJBTUNBMGdBTUVVQ0lRRFBxR0lSaUxuOVUw"
    "SlZ1bTE3NVpVM2Q2MXd2WG9tdnNvTwpkV2RaUjhtTlFnSWdlalpveTFuamd6eGtlOTFwT2tqR2U3cktwMFJ0T0J3d0d1REtXb1Rl"
    "UzBJPQotLS0tLUVORCBDRVJUSUZJQ0FURS0tLS0tCg==";

#define TOKEN "McCWcjnbYN559FvF4X/TKQ=="

/* 06 §7.4 #4 and #12. */
static const char vm12[] = "{\"VM\":{\"NAME\":\"web_0_(service_5)\",\"ID\":\"12\",\"STATE\":\"3\",\"LCM_"
                           "STATE\":\"3\",\"USER_TEMPLATE\":"
                           "{\"ROLE_NAME\":\"web\",\"SERVICE_ID\":\"5\"},\"TEMPLATE\":{\"NIC\":[{\"IP\":\"10."
                           "0.0.12\",\"MAC\":\"02:00:0a:"
                           "00:00:0c\",\"NAME\":\"NIC0\",\"NETWORK\":\"private\"}],\"NIC_ALIAS\":[]}}}";
static const char service5[] = "{\"SERVICE\":{\"name\":\"myapp\",\"id\":\"5\",\"state\":2,\"roles\":[{"
                               "\"name\":\"web\",\"cardinality\":1,"
                               "\"state\":2,\"nodes\":[{\"deploy_id\":12,\"running\":null,\"vm_info\":{"
                               "\"VM\":{\"ID\":\"12\",\"UID\":\"0\","
                               "\"GID\":\"0\",\"UNAME\":\"oneadmin\",\"GNAME\":\"oneadmin\",\"NAME\":\"web_0_"
                               "(service_5)\"}}}]},{\"name\":"
                               "\"db\",\"cardinality\":1,\"state\":2,\"nodes\":[{\"deploy_id\":13,"
                               "\"running\":null,\"vm_info\":{\"VM\":{\"ID\":"
                               "\"13\",\"UID\":\"0\",\"GID\":\"0\",\"UNAME\":\"oneadmin\",\"GNAME\":"
                               "\"oneadmin\",\"NAME\":\"db_0_(service_5)\"}}}"
                               "]}]}}";
/* #13: full vm_info, NIC an object for one NIC, an array for two. */
static const char service5_ext[] =
    "{\"SERVICE\":{\"name\":\"myapp\",\"id\":\"5\",\"state\":2,\"roles\":[{\"name\":\"web\",\"cardinality\":"
    "1,"
    "\"state\":2,\"nodes\":[{\"deploy_id\":12,\"running\":null,\"vm_info\":{\"VM\":{\"ID\":\"12\",\"NAME\":"
    "\"web_0_"
    "(service_5)\",\"STATE\":\"3\",\"LCM_STATE\":\"3\",\"TEMPLATE\":{\"CONTEXT\":{},\"NIC\":{\"IP\":\"10.0.0."
    "12\"}},"
    "\"USER_TEMPLATE\":{}}}}]},{\"name\":\"db\",\"cardinality\":1,\"state\":2,\"nodes\":[{\"deploy_id\":13,"
    "\"running\":null,\"vm_info\":{\"VM\":{\"ID\":\"13\",\"NAME\":\"db_0_(service_5)\",\"STATE\":\"8\",\"LCM_"
    "STATE\":"
    "\"0\",\"TEMPLATE\":{\"NIC\":[{\"IP\":\"10.0.0.13\"}]}}}}]}]}}";

/* --- a virtual world: clock, canned OneGate --- */

struct fake {
	uint64_t now;
	uint64_t cost;       /* ms one request takes */
	uint64_t publish_at; /* when VM 100 turns ready; UINT64_MAX: never */
	unsigned nreq, nsleep;
	uint64_t sleeps[4096];
	uint64_t req_at[4096];
	long script[16]; /* statuses for the next requests (-1: transport error), then normal */
	uint64_t outage_from, outage_to; /* every request in [from, to) gets 503 */
	unsigned nscript, iscript;
	const char *service;        /* GET /service body */
	long service_status;        /* when not 200 */
	const char *service_text;   /* its body */
	const char *ready_template; /* VM 100's USER_TEMPLATE once published */
	char *big;
};

static uint64_t v_now(void *ctx)
{
	return ((struct fake *)ctx)->now;
}

static void v_sleep(void *ctx, uint64_t ms)
{
	struct fake *f = ctx;
	if (f->nsleep < 4096)
		f->sleeps[f->nsleep++] = ms;
	f->now += ms;
}

static const char flower_service[] =
    "{\"SERVICE\":{\"name\":\"flower\",\"id\":\"7\",\"state\":2,\"roles\":[{\"name\":\"superlink\","
    "\"cardinality\":1,"
    "\"state\":2,\"nodes\":[{\"deploy_id\":100,\"running\":null,\"vm_info\":{\"VM\":{\"ID\":\"100\",\"NAME\":"
    "\"sl\"}}}"
    "]},{\"name\":\"supernode\",\"cardinality\":3,\"state\":2,\"nodes\":[{\"deploy_id\":102,\"running\":null,"
    "\"vm_info\":null},{\"deploy_id\":\"101\",\"running\":null,\"vm_info\":null},{\"running\":null,\"vm_"
    "info\":{"
    "\"VM\":{\"ID\":\"103\"}}}]}]}}";

static void fake_send(void *ctx, const struct fl_onegate_request *rq, long timeout_ms,
                      struct fl_onegate_response *rs)
{
	struct fake *f = ctx;
	if (f->nreq < 4096)
		f->req_at[f->nreq] = f->now;
	f->nreq++;
	if (f->cost > (uint64_t)timeout_ms) {
		f->now += (uint64_t)timeout_ms;
		snprintf(rs->error, sizeof rs->error, "Operation timed out after %ld milliseconds",
		         timeout_ms);
		return;
	}
	f->now += f->cost;
	if (f->now >= f->outage_from && f->now < f->outage_to) {
		rs->status = 503;
		fl_buf_adds(&rs->body, "Service Unavailable");
		return;
	}
	if (f->iscript < f->nscript) {
		long st = f->script[f->iscript++];
		if (st < 0) {
			snprintf(rs->error, sizeof rs->error, "Connection refused");
			return;
		}
		rs->status = st;
		fl_buf_adds(&rs->body, st >= 500 ? "Service Unavailable" : "Not authorized");
		return;
	}
	rs->status = 200;
	if (strcmp(rq->path, "/vm") == 0) {
		fl_buf_adds(&rs->body, "{\"VM\":{\"ID\":\"101\",\"NAME\":\"sn\",\"USER_TEMPLATE\":{}}}");
	} else if (strncmp(rq->path, "/service", 8) == 0) {
		if (f->service_status) {
			rs->status = f->service_status;
			fl_buf_adds(&rs->body, f->service_text);
			return;
		}
		fl_buf_adds(&rs->body, f->service ? f->service : flower_service);
	} else if (strcmp(rq->path, "/vms/100") == 0) {
		fl_buf_adds(&rs->body, "{\"VM\":{\"ID\":\"100\",\"NAME\":\"sl\",\"USER_TEMPLATE\":");
		fl_buf_adds(&rs->body, f->now >= f->publish_at ? f->ready_template : "{\"FL_READY\":\"NO\"}");
		fl_buf_adds(&rs->body, "}}");
	} else {
		rs->status = 400;
		fl_buf_adds(&rs->body, "OneGate server doesn't support this feature");
	}
}

static struct fake F;
static struct fl_clock vclock = {v_now, v_sleep, &F};

static void fake_reset(void)
{
	free(F.big);
	memset(&F, 0, sizeof F);
	F.cost = 20;
	F.publish_at = UINT64_MAX;
	F.now = 1000000;
	F.ready_template =
	    "{\"FL_READY\":\"YES\",\"FL_ENDPOINT\":\"10.0.7.100:9092\",\"FL_VERSION\":\"1.25.0\","
	    "\"FL_TLS\":\"NO\"}";
}

static struct fl_onegate_opts gate(void)
{
	struct fl_onegate_opts o = {.endpoint = "http://onegate.test:5030/ignored/path",
	                            .vmid = "101",
	                            .token = TOKEN "\n",
	                            .clock = &vclock,
	                            .send = fake_send,
	                            .send_ctx = &F};
	return o;
}

/* Logs go to a memory stream so lines can be checked (and searched for the token). */
static char *logbuf;
static size_t loglen;
static FILE *logstream;

static void log_start(void)
{
	free(logbuf);
	logbuf = NULL;
	logstream = open_memstream(&logbuf, &loglen);
	fl_log_set_stream(logstream);
}

static const char *log_end(void)
{
	fl_log_set_stream(NULL);
	fclose(logstream);
	return logbuf ? logbuf : "";
}

/* --- wire format --- */

static void test_form(void)
{
	static const struct {
		const char *data;
		int type;
		const char *want;
	} v[] = {
	    {"READY=YES", 1, "data=READY%3DYES&type=1"},
	    {"KEY=value with spaces", 1, "data=KEY%3Dvalue+with+spaces&type=1"},
	    {"A=1\nB=2", 1, "data=A%3D1%0AB%3D2&type=1"},
	    {"A=1\\nB=2", 1, "data=A%3D1%5CnB%3D2&type=1"},
	    {"SSHKEY=ssh-rsa AAAA+/b== u@h", 1, "data=SSHKEY%3Dssh-rsa+AAAA%2B%2Fb%3D%3D+u%40h&type=1"},
	    {"X=~tilde", 1, "data=X%3D%7Etilde&type=1"},
	    {"READY", 2, "data=READY&type=2"},
	};
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		struct fl_buf b = FL_BUF_INIT;
		fl_onegate_form_body(&b, v[i].data, v[i].type);
		CHECK_STR(fl_buf_str(&b), v[i].want, "06 §7.2 form encoding #%zu like Ruby's encode_www_form",
		          i + 1);
		fl_buf_free(&b);
	}
}

static void test_publish_checks(void)
{
	char *ok[] = {"FL_READY=YES",
	              "FL_ENDPOINT=10.0.0.12:9092",
	              "FL_CA_CERT="
	              "YWJj+/==",
	              "FL_ERROR=",
	              "MSG=\xc3\xb1"
	              "and\xc3\xba"
	              " ok & fine?",
	              "URL=http://x/?a=1&b=2"};
	struct fl_buf d = FL_BUF_INIT;
	struct fl_err e = {0};
	CHECK(fl_onegate_publish_data(ok, 6, &d, &e) == 0, "publish: safe values pass: %s", e.msg);
	CHECK_STR(fl_buf_str(&d),
	          "FL_READY=YES\nFL_ENDPOINT=10.0.0.12:9092\nFL_CA_CERT=YWJj+/==\nFL_ERROR=\"\"\n"
	          "MSG=\xc3\xb1"
	          "and\xc3\xba"
	          " ok & fine?\nURL=http://x/?a=1&b=2",
	          "publish: one newline-joined body; an empty value goes as K=\"\"");
	fl_buf_free(&d);

	static const struct {
		const char *kv, *says;
	} bad[] = {
	    {"LIST=a,b", "comma"},
	    {"MSG=say \"hi\"", "double quote"},
	    {"WIN=C:\\dir", "backslash"},
	    {"V=[A=1]", "'['"},
	    {"X=]", "']'"},
	    {"NL=a\nb", "newline"},
	    {"T=a\tb", "tab"},
	    {"APP_LOAD= 9.7", "leading blank"},
	    {"BIN=\xff\xfe", "not UTF-8"},
	    {"fl_ready=YES", "upper case"},
	    {"APP LOAD=9", "not an attribute name"},
	    {"1ABC=9", "not an attribute name"},
	    {"XMLDATA=1", "XML"},
	    {"SERVICE_ID=9", "managed by OpenNebula"},
	    {"ROLE_NAME=x", "managed by OpenNebula"},
	    {"NOEQUALS", "not KEY=VALUE"},
	    {"=v", "not KEY=VALUE"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		fl_err_clear(&e);
		int rc = fl_onegate_check_pair(bad[i].kv, &e);
		CHECK(rc < 0 && e.code == FL_EXIT_USAGE && strstr(e.msg, bad[i].says),
		      "publish refuses %s (%s)", bad[i].says, e.msg);
	}
	fl_err_clear(&e);
	fl_onegate_check_pair("LIST=a,b", &e);
	CHECK(strstr(e.msg, "base64") != NULL, "publish: the refusal suggests base64: %s", e.msg);
	char *dup[] = {"A=1", "B=2", "A=3"};
	struct fl_buf d2 = FL_BUF_INIT;
	CHECK(fl_onegate_publish_data(dup, 3, &d2, &e) < 0 && strstr(e.msg, "twice"),
	      "publish: a key given twice is refused");
	fl_buf_free(&d2);
	char big[FL_ONEGATE_MAX_VALUE + 16];
	memcpy(big, "BIG=", 4);
	memset(big + 4, 'A', FL_ONEGATE_MAX_VALUE + 1);
	big[FL_ONEGATE_MAX_VALUE + 5] = '\0';
	CHECK(fl_onegate_check_pair(big, &e) < 0, "publish: a value over 1 MiB is refused");
}

/* --- answers and output --- */

static void test_vm(void)
{
	struct fl_onegate_vm vm;
	struct fl_err e = {0};
	CHECK(fl_onegate_vm_parse(vm12, sizeof vm12 - 1, &vm, &e) == 0, "vm: 06 §7.4 #4 parses: %s", e.msg);
	CHECK_STR(vm.id, "12", "vm: ID is the string \"12\"");
	CHECK_INT(vm.state * 100 + vm.lcm_state, 303, "vm: STATE and LCM_STATE read from strings");
	CHECK_STR(fl_onegate_vm_attr(&vm, "ROLE_NAME"), "web", "vm: USER_TEMPLATE attribute");
	CHECK(fl_onegate_vm_attr(&vm, "NOPE") == NULL, "vm: an absent attribute is NULL");
	struct fl_buf b = FL_BUF_INIT;
	fl_onegate_render_vm(&vm, false, &b);
	CHECK_STR(fl_buf_str(&b), "VM 12\nNAME                : web_0_(service_5)   \n",
	          "vm show: 06 §7.5 output");
	fl_buf_reset(&b);
	fl_onegate_render_vm(&vm, true, &b);
	CHECK(strncmp(fl_buf_str(&b), "\033[1m\033[4mVM 12      ", 16) == 0 &&
	          strstr(fl_buf_str(&b), "\033[0m\n"),
	      "vm show on a TTY: bold, underlined, 80 columns");
	fl_buf_reset(&b);
	fl_onegate_render_json(vm.root, &b);
	CHECK_STR(fl_buf_str(&b),
	          "{\n  \"VM\": {\n    \"NAME\": \"web_0_(service_5)\",\n    \"ID\": \"12\",\n    \"STATE\": "
	          "\"3\",\n"
	          "    \"LCM_STATE\": \"3\",\n    \"USER_TEMPLATE\": {\n      \"ROLE_NAME\": \"web\",\n"
	          "      \"SERVICE_ID\": \"5\"\n    },\n    \"TEMPLATE\": {\n      \"NIC\": [\n        {\n"
	          "          \"IP\": \"10.0.0.12\",\n          \"MAC\": \"02:00:0a:00:00:0c\",\n"
	          "          \"NAME\": \"NIC0\",\n          \"NETWORK\": \"private\"\n        }\n      ],\n"
	          "      \"NIC_ALIAS\": []\n    }\n  }\n}\n",
	          "vm show --json: JSON.pretty_generate's form (06 §7.5)");
	fl_buf_free(&b);
	fl_onegate_vm_free(&vm);

	const char utf[] = "{\"VM\":{\"ID\":12,\"NAME\":\"\xc3\xb1"
	                   "and\xc3\xba"
	                   "\\u0007x\"}}";
	CHECK(fl_onegate_vm_parse(utf, sizeof utf - 1, &vm, &e) == 0,
	      "vm: an integer ID is accepted (type drift)");
	fl_onegate_render_vm(&vm, false, &b);
	CHECK_STR(fl_buf_str(&b),
	          "VM 12\nNAME                : \xc3\xb1"
	          "and\xc3\xba"
	          "?x             \n",
	          "vm show: padding counts characters like Ruby; control characters are masked");
	fl_buf_free(&b);
	fl_onegate_vm_free(&vm);

	/* U+009B is CSI on many terminals: a C1 control is masked like a C0 one. */
	const char c1[] = "{\"VM\":{\"ID\":12,\"NAME\":\"a\\u009b[2Jb\"}}";
	CHECK(fl_onegate_vm_parse(c1, sizeof c1 - 1, &vm, &e) == 0, "vm: a C1 control parses");
	fl_onegate_render_vm(&vm, false, &b);
	CHECK_STR(fl_buf_str(&b), "VM 12\nNAME                : a?[2Jb              \n",
	          "vm show: C1 control characters are masked too");
	fl_buf_free(&b);
	fl_onegate_vm_free(&vm);
}

static void test_service(void)
{
	struct fl_onegate_service s;
	struct fl_err e = {0};
	CHECK(fl_onegate_service_parse(service5, sizeof service5 - 1, &s, &e) == 0,
	      "service: 06 §7.4 #12 parses");
	CHECK(s.nroles == 2 && s.roles[0].nnodes == 1 && s.roles[0].nodes[0].vmid == 12 &&
	          s.roles[1].nodes[0].vmid == 13,
	      "service: roles and deploy_id");
	CHECK(s.state == 2 && strcmp(s.id, "5") == 0 && s.roles[0].cardinality == 1,
	      "service: state, id, cardinality");
	struct fl_buf b = FL_BUF_INIT;
	fl_onegate_render_service(&s, false, false, &b);
	CHECK_STR(fl_buf_str(&b),
	          "SERVICE 5\nNAME                : myapp               \nSTATE               : RUNNING      "
	          "       \n\n"
	          "ROLE web\nVM 12\nNAME                : web_0_(service_5)   \n\nROLE db\nVM 13\n"
	          "NAME                : db_0_(service_5)    \n\n",
	          "service show: 06 §7.5 output");
	fl_buf_free(&b);
	fl_onegate_service_free(&s);
	CHECK(fl_onegate_service_parse(service5_ext, sizeof service5_ext - 1, &s, &e) == 0,
	      "service: extended parses");
	fl_onegate_render_service(&s, true, false, &b);
	CHECK_STR(
	    fl_buf_str(&b),
	    "SERVICE 5\nNAME                : myapp               \nSTATE               : RUNNING            "
	    " \n\n"
	    "ROLE web\nVM 12\nNAME                : web_0_(service_5)   \nSTATE               : RUNNING      "
	    "       \n"
	    "IP                  : 10.0.0.12           \n\nROLE db\nVM 13\nNAME                : "
	    "db_0_(service_5)    \n"
	    "STATE               : POWEROFF            \nIP                  : 10.0.0.13           \n\n",
	    "service show --extended: 06 §7.5 output, NIC as object or array");
	fl_buf_free(&b);
	fl_onegate_service_free(&s);
	CHECK(fl_onegate_service_parse(flower_service, sizeof flower_service - 1, &s, &e) == 0 &&
	          s.roles[1].nnodes == 3 && s.roles[1].nodes[1].vmid == 101 &&
	          s.roles[1].nodes[2].vmid == 103 && s.roles[1].nodes[0].vm_info == NULL,
	      "service: deploy_id as a string, or from vm_info.VM.ID; vm_info null");
	struct fl_partition p;
	CHECK(fl_discover_partition_compute(&s, "supernode", 101, NULL, &p, &e) == 0 && p.id == 0 &&
	          p.num == 3,
	      "partition: VM 101 is first among 101 102 103 though listed second");
	CHECK(fl_discover_partition_compute(&s, "supernode", 103, NULL, &p, &e) == 0 && p.id == 2,
	      "partition: VM 103 is third");
	CHECK(fl_discover_partition_compute(&s, "supernode", 999, NULL, &p, &e) < 0 && e.code == FL_EXIT_FAIL,
	      "partition: a VM not in the role is an error");
	CHECK(fl_discover_partition_compute(&s, "nope", 101, NULL, &p, &e) < 0,
	      "partition: a missing role is an error");
	fl_onegate_service_free(&s);
}

/* A training site of 2 SuperNodes (VMs 31, 30), listed unsorted. */
static const char site_service[] =
    "{\"SERVICE\":{\"name\":\"site\",\"id\":\"9\",\"roles\":[{\"name\":\"supernode\",\"nodes\":["
    "{\"deploy_id\":31,\"vm_info\":null},{\"deploy_id\":30,\"vm_info\":null}]}]}}";

/* Multi-site ranges (04 §2.1): offset + place, out of the federation's total; a VM past its
 * site's range fails and names the variables rather than collide with the next site's ids. */
static void test_partition_range(void)
{
	struct fl_onegate_service s;
	struct fl_err e = {0};
	struct fl_partition p;
	if (!CHECK(fl_onegate_service_parse(site_service, sizeof site_service - 1, &s, &e) == 0,
	           "site service parses"))
		return;
	const struct fl_partition_range b = {0, 4}, c = {2, 4}, single = {0, 0}, narrow = {3, 4},
	                                huge = {LONG_MAX - 1, LONG_MAX};
	CHECK(fl_discover_partition_compute(&s, "supernode", 30, &b, &p, &e) == 0 && p.id == 0 &&
	          p.num == 4 && fl_discover_partition_compute(&s, "supernode", 31, &b, &p, &e) == 0 &&
	          p.id == 1 && p.num == 4,
	      "site B (offset 0 of 4): ids 0 and 1 of 4");
	CHECK(fl_discover_partition_compute(&s, "supernode", 30, &c, &p, &e) == 0 && p.id == 2 &&
	          p.num == 4 && fl_discover_partition_compute(&s, "supernode", 31, &c, &p, &e) == 0 &&
	          p.id == 3 && p.num == 4,
	      "site C (offset 2 of 4): ids 2 and 3 of 4");
	CHECK(fl_discover_partition_compute(&s, "supernode", 31, &single, &p, &e) == 0 && p.id == 1 &&
	          p.num == 2,
	      "no total: the role's count, as without a range");
	CHECK(fl_discover_partition_compute(&s, "supernode", 30, &narrow, &p, &e) == 0 && p.id == 3,
	      "a range of one: the first VM fits");
	memset(&e, 0, sizeof e);
	CHECK(fl_discover_partition_compute(&s, "supernode", 31, &narrow, &p, &e) < 0 &&
	          e.code == FL_EXIT_FAIL &&
	          strstr(e.msg, "partition-id 4 (FL_PARTITION_OFFSET=3 + this VM's place 1 among 2 "
	                        "SuperNodes) is not below FL_NUM_PARTITIONS=4") &&
	          strstr(e.msg, "scale the role back to 1 VM(s)"),
	      "more VMs than the range: an error naming the offset, the total, the id and the fix");
	CHECK(fl_discover_partition_compute(&s, "supernode", 31, &huge, &p, &e) < 0,
	      "an offset at the edge of long: refused, no overflow");
	fl_onegate_service_free(&s);
}

static void test_hostile(void)
{
	static const char *const docs[] = {
	    "",
	    "null",
	    "[]",
	    "\"VM\"",
	    "{",
	    "{\"VM\":",
	    "{\"VM\":\"x\"}",
	    "{\"VM\":[]}",
	    "{\"VM\":{\"ID\":null,\"NAME\":12,\"STATE\":\"-1\",\"USER_TEMPLATE\":[]}}",
	    "{\"VM\":{\"ID\":\"99999999999999999999999\",\"STATE\":99999999999999999999}}",
	    "{\"VM\":{\"NAME\":\"a\\u0000b\"}}",
	    "{\"VM\":{\"NAME\":\"\xff\xfe\"}}",
	    "{\"SERVICE\":null}",
	    "{\"SERVICE\":{\"roles\":\"x\"}}",
	    "{\"SERVICE\":{\"roles\":[null,1,\"x\",{\"nodes\":\"y\"},{\"name\":7,\"nodes\":[null,1,{\"deploy_"
	    "id\":-4},"
	    "{\"deploy_id\":\"abc\",\"vm_info\":{\"VM\":\"z\"}},{\"vm_info\":{\"VM\":{\"ID\":[],\"TEMPLATE\":"
	    "{\"NIC\":7}}}}]}]}}",
	    "{\"SERVICE\":{\"id\":5.5,\"state\":\"RUNNING\",\"roles\":[{\"name\":\"superlink\",\"nodes\":[{"
	    "\"deploy_id\":1,"
	    "\"vm_info\":{\"VM\":{\"USER_TEMPLATE\":{\"FL_READY\":\"YES\",\"FL_ENDPOINT\":[\"x\"]}}}}]}]}}",
	    "{\"a\":1,\"a\":2}",
	    "{\"VM\":{}} trailing",
	};
	struct fl_err e;
	for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
		struct fl_onegate_vm vm;
		struct fl_onegate_service s;
		struct fl_buf b = FL_BUF_INIT;
		int r1 = fl_onegate_vm_parse(docs[i], strlen(docs[i]), &vm, &e);
		if (r1 == 0) {
			fl_onegate_render_vm(&vm, false, &b);
			fl_onegate_render_json(vm.root, &b);
			fl_onegate_vm_free(&vm);
		}
		int r2 = fl_onegate_service_parse(docs[i], strlen(docs[i]), &s, &e);
		if (r2 == 0) {
			struct fl_partition p;
			fl_onegate_render_service(&s, true, true, &b);
			fl_discover_partition_compute(&s, "superlink", 1, NULL, &p, &e);
			for (size_t k = 0; k < s.nroles; k++)
				for (size_t n = 0; n < s.roles[k].nnodes; n++) {
					struct fl_superlink sl = {0};
					char why[200];
					json_t *v = json_object_get(s.roles[k].nodes[n].vm_info, "VM");
					fl_discover_candidate(json_object_get(v, "USER_TEMPLATE"), &sl, why,
					                      sizeof why);
					fl_discover_superlink_free(&sl);
				}
			fl_onegate_service_free(&s);
		}
		CHECK(r1 <= 0 && r2 <= 0, "hostile answer #%zu handled (vm %d, service %d)", i + 1, r1, r2);
		fl_buf_free(&b);
	}
	/* 100000 nested arrays: jansson's depth limit, no stack overflow. */
	size_t n = 200000;
	char *deep = malloc(n);
	memset(deep, '[', n / 2);
	memset(deep + n / 2, ']', n / 2);
	struct fl_onegate_vm vm;
	CHECK(fl_onegate_vm_parse(deep, n, &vm, &e) < 0, "hostile: 100000 nested arrays are refused: %s",
	      e.msg);
	free(deep);
}

static void test_candidate(void)
{
	static const struct {
		const char *ut;
		int want;
		const char *why;
	} v[] = {
	    {"{}", 0, "not published"},
	    {"{\"FL_READY\":\"NO\",\"FL_ENDPOINT\":\"1.2.3.4:9092\"}", 0, "not YES"},
	    {"{\"FL_READY\":\"yes\",\"FL_ENDPOINT\":\"1.2.3.4:9092\"}", 0, "not YES"},
	    {"{\"FL_READY\":\"YES\"}", -1, "FL_ENDPOINT is not published"},
	    {"{\"FL_READY\":\"YES\",\"FL_ENDPOINT\":\"1.2.3.4\"}", -1, "not host:port"},
	    {"{\"FL_READY\":\"YES\",\"FL_ENDPOINT\":\"1.2.3.4:99999\"}", -1, "not host:port"},
	    {"{\"FL_READY\":\"YES\",\"FL_ENDPOINT\":\"1.2.3.4:09092\"}", -1, "without sign or leading zeros"},
	    {"{\"FL_READY\":\"YES\",\"FL_ENDPOINT\":\"$(reboot):9092\"}", -1, "not host:port"},
	    {"{\"FL_READY\":\"YES\",\"FL_ENDPOINT\":\"1.2.3.4:9092\\nX=1\"}", -1, "not host:port"},
	    {"{\"FL_READY\":\"YES\",\"FL_ENDPOINT\":\"1.2.3.4:9092\",\"FL_TLS\":\"maybe\"}", -1, "FL_TLS"},
	    {"{\"FL_READY\":\"YES\",\"FL_ENDPOINT\":\"1.2.3.4:9092\",\"FL_CA_CERT\":\"bm90IGEgY2VydA==\"}",
	     -1, "FL_CA_CERT"},
	    {"{\"FL_READY\":\"YES\",\"FL_ENDPOINT\":\"[fd00::1]:9092\",\"FL_TLS\":\"yes\"}", 1, ""},
	    {"{\"FL_READY\":\"YES\",\"FL_ENDPOINT\":\"sl.example.com:9092\",\"FL_VERSION\":\"1.x\"}", 1,
	     "FL_VERSION"},
	};
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		json_t *ut = json_loads(v[i].ut, 0, NULL);
		struct fl_superlink sl = {0};
		char why[200];
		int r = fl_discover_candidate(ut, &sl, why, sizeof why);
		CHECK(r == v[i].want && strstr(why, v[i].why), "candidate #%zu: %d (%s)", i + 1, r, why);
		fl_discover_superlink_free(&sl);
		json_decref(ut);
	}
	struct fl_buf doc = FL_BUF_INIT;
	fl_buf_addf(&doc,
	            "{\"FL_READY\":\"YES\",\"FL_ENDPOINT\":\"10.0.7.100:9092\",\"FL_TLS\":\"YES\",\"FL_CA_"
	            "CERT\":\"%s\","
	            "\"FL_VERSION\":\"1.25.0\"}",
	            ca_b64);
	json_t *ut = json_loads(doc.data, 0, NULL);
	struct fl_superlink sl = {0};
	char why[200];
	CHECK(fl_discover_candidate(ut, &sl, why, sizeof why) == 1 && sl.ca_cert &&
	          strcmp(sl.ca_cert, ca_b64) == 0,
	      "candidate: a real base64 PEM CA is accepted");
	struct fl_buf out = FL_BUF_INIT;
	fl_discover_superlink_render(&sl, false, &out);
	CHECK(strncmp(fl_buf_str(&out), "FL_SUPERLINK_ADDRESS=10.0.7.100:9092\nFL_TLS=YES\nFL_CA_CERT=LS0t",
	              60) == 0 &&
	          strstr(fl_buf_str(&out), "==\nFL_VERSION=1.25.0\n"),
	      "discover output: the KEY=VALUE lines fl-certgen --onegate-file reads");
	fl_buf_free(&out);
	fl_buf_free(&doc);
	fl_discover_superlink_free(&sl);
	json_decref(ut);
}

/* --- requests --- */

static void script(const long *st, unsigned n)
{
	memcpy(F.script, st, n * sizeof *st);
	F.nscript = n;
	F.iscript = 0;
}

static void test_request(void)
{
	struct fl_onegate g;
	struct fl_err e = {0};
	struct fl_onegate_opts o = gate();
	fake_reset();
	CHECK(fl_onegate_open(&g, &o, &e) == 0, "open: identity accepted: %s", e.msg);
	CHECK_STR(g.base, "http://onegate.test:5030",
	          "open: the endpoint's path is dropped like the Ruby client does");
	CHECK_STR(g.token, TOKEN, "open: the token's trailing newline is trimmed");
	struct fl_onegate_vm vm;
	int rc;
	script((long[]){503, -1, 200}, 2);
	log_start();
	CHECK(fl_onegate_vm_get(&g, NULL, &vm, &e) == 0 && F.nreq == 3,
	      "request: 503, refused, then 200: 3 requests");
	fl_onegate_vm_free(&vm);
	CHECK(F.nsleep == 2 && F.sleeps[0] >= 125 && F.sleeps[0] <= 250 && F.sleeps[1] >= 250 &&
	          F.sleeps[1] <= 500,
	      "request: backoff 250 ms doubling, jittered (%llu, %llu)", (unsigned long long)F.sleeps[0],
	      (unsigned long long)F.sleeps[1]);
	fake_reset();
	script((long[]){503, 503, 503, 503, 503}, 5);
	CHECK(fl_onegate_vm_get(&g, NULL, &vm, &e) < 0 && e.code == FL_EXIT_UNAVAILABLE && F.nreq == 4,
	      "request: 503 four times: exit 3 after 4 attempts: %s", e.msg);
	fake_reset();
	script((long[]){500, 500, 500, 500}, 4);
	CHECK(fl_onegate_vm_get(&g, NULL, &vm, &e) < 0 && e.code == FL_EXIT_FAIL,
	      "request: persistent 500 is a definite error");
	fake_reset();
	script((long[]){-1, -1, -1, -1}, 4);
	CHECK(fl_onegate_vm_get(&g, NULL, &vm, &e) < 0 && e.code == FL_EXIT_UNAVAILABLE &&
	          strstr(e.msg, "refused"),
	      "request: connection refused throughout: exit 3: %s", e.msg);
	fake_reset();
	script((long[]){401}, 1);
	CHECK(fl_onegate_vm_get(&g, NULL, &vm, &e) < 0 && e.code == FL_EXIT_FAIL && F.nreq == 1 &&
	          strstr(e.msg, "401") && strstr(e.msg, "Not authorized"),
	      "request: 401 is not retried, the server's text is kept: %s", e.msg);
	const char *logs = log_end();
	CHECK(!strstr(logs, TOKEN), "request: the token never reaches the log");
	fl_onegate_close(&g);

	/* A hanging OneGate: each request takes its whole timeout; the deadline stops it. */
	fake_reset();
	F.cost = 60000;
	o.deadline_ms = 25000;
	o.timeout_ms = 10000;
	fl_onegate_open(&g, &o, &e);
	uint64_t t0 = F.now;
	log_start();
	rc = fl_onegate_vm_get(&g, NULL, &vm, &e);
	log_end();
	uint64_t took = F.now - t0;
	CHECK(rc < 0 && e.code == FL_EXIT_UNAVAILABLE && took <= 25000 && strstr(e.msg, "timed out"),
	      "request: a hanging server ends at the deadline (%llu ms): %s", (unsigned long long)took,
	      e.msg);
	fl_onegate_close(&g);

	struct fl_onegate_opts bad = gate();
	bad.endpoint = "";
	CHECK(fl_onegate_open(&g, &bad, &e) < 0 && e.code == FL_EXIT_UNAVAILABLE,
	      "open: no endpoint is exit 3");
	bad = gate();
	bad.token = NULL;
	CHECK(fl_onegate_open(&g, &bad, &e) < 0 && e.code == FL_EXIT_UNAVAILABLE, "open: no token is exit 3");
	bad = gate();
	bad.endpoint = "ftp://user:secret@x/";
	CHECK(fl_onegate_open(&g, &bad, &e) < 0 && e.code == FL_EXIT_FAIL && !strstr(e.msg, "secret"),
	      "open: a non-http endpoint is refused without echoing it");
	bad = gate();
	bad.vmid = "12; rm";
	CHECK(fl_onegate_open(&g, &bad, &e) < 0, "open: a VMID must be digits");
	bad = gate();
	bad.token = "abc\r\nX-Evil: 1";
	CHECK(fl_onegate_open(&g, &bad, &e) < 0 && !strstr(e.msg, "Evil"),
	      "open: a token with CR/LF is refused");
}

/* --- discovery --- */

static struct fl_discover_opts dopts(enum fl_discover_schedule s)
{
	struct fl_discover_opts o = {.schedule = s};
	return o;
}

static void test_discover_fixed(void)
{
	struct fl_onegate_opts go = gate();
	struct fl_discover_opts o = dopts(FL_DISCOVER_FIXED);
	struct fl_superlink sl;
	struct fl_err e = {0};
	fake_reset();
	log_start();
	uint64_t t0 = F.now;
	int rc = fl_discover_superlink(&go, &o, &sl, &e);
	const char *logs = log_end();
	CHECK(rc < 0 && e.code == FL_EXIT_TIMEOUT, "fixed: never ready: exit 4");
	uint64_t slept = 0;
	for (unsigned i = 0; i < F.nsleep; i++)
		slept += F.sleeps[i];
	CHECK(F.nsleep == 29 && slept == 290000, "fixed: 30 attempts, 29 sleeps of 10 s (%u sleeps, %llu ms)",
	      F.nsleep, (unsigned long long)slept);
	DIAG("fixed schedule: %u requests over %llu virtual seconds", F.nreq,
	     (unsigned long long)((F.now - t0) / 1000));
	CHECK(strstr(logs, "[INFO] [test] OneGate connectivity verified\n") != NULL,
	      "fixed: the precheck line");
	CHECK(strstr(logs, "[INFO] [test] SuperLink not ready, waiting... (attempt 1/30)\n") &&
	          strstr(logs, "[INFO] [test] SuperLink not ready, waiting... (attempt 30/30)\n"),
	      "fixed: 'SuperLink not ready, waiting... (attempt N/30)'");
	CHECK(strstr(logs, "[ERROR] [test] SuperLink discovery timed out after 30 attempts (5 minutes)\n") !=
	          NULL,
	      "fixed: 'SuperLink discovery timed out after 30 attempts (5 minutes)'");

	/* OneGate fails around attempt 3; the SuperLink publishes before attempt 7. */
	fake_reset();
	F.outage_from = F.now + 15000;
	F.outage_to = F.now + 25000;
	F.publish_at = F.now + 55000;
	log_start();
	rc = fl_discover_superlink(&go, &o, &sl, &e);
	logs = log_end();
	CHECK(strstr(logs, "[WARN] [test] OneGate error on attempt 3: 503\n") &&
	          strstr(logs, "SuperLink not ready, waiting... (attempt 4/30)\n") &&
	          !strstr(logs, "(attempt 3/30)"),
	      "fixed: 'OneGate error on attempt 3: 503' and no 'not ready' line for that attempt");
	CHECK(rc == 0 && strcmp(sl.endpoint, "10.0.7.100:9092") == 0 && strcmp(sl.version, "1.25.0") == 0 &&
	          strcmp(sl.tls, "NO") == 0 && sl.vmid == 100,
	      "fixed: found once published: %s", e.msg);
	CHECK(strstr(logs, "Discovered SuperLink at 10.0.7.100:9092 (attempt 7)\n") != NULL,
	      "fixed: 'Discovered SuperLink at 10.0.7.100:9092 (attempt 7)'");
	fl_discover_superlink_free(&sl);
}

static void test_discover_errors(void)
{
	struct fl_onegate_opts go = gate();
	struct fl_discover_opts o = dopts(FL_DISCOVER_FIXED);
	struct fl_superlink sl;
	struct fl_err e = {0};

	/* OneGate answers 503 on the first /service reads, then the SuperLink is ready. */
	fake_reset();
	F.publish_at = 0;
	F.service_status = 503;
	F.service_text = "Service Unavailable";
	o.interval_ms = 1000;
	log_start();
	int rc = fl_discover_superlink(&go, &o, &sl, &e);
	const char *logs = log_end();
	CHECK(rc < 0 && e.code == FL_EXIT_TIMEOUT &&
	          strstr(logs, "[WARN] [test] OneGate error on attempt 1: 503\n") &&
	          strstr(logs, "OneGate error on attempt 30: 503\n") && !strstr(logs, "not ready"),
	      "fixed: /service failing throughout: 'OneGate error on attempt N: 503' 30 times, then exit 4");

	fake_reset();
	F.service_status = 400;
	F.service_text = "Empty or invalid SERVICE_ID";
	log_start();
	rc = fl_discover_superlink(&go, &o, &sl, &e);
	logs = log_end();
	CHECK(rc < 0 && e.code == FL_EXIT_FAIL && strstr(e.msg, "not part of a OneFlow service") &&
	          F.nreq == 2,
	      "discover: a VM outside any service fails at once (exit 1): %s", e.msg);

	fake_reset();
	script((long[]){401}, 1);
	log_start();
	rc = fl_discover_superlink(&go, &o, &sl, &e);
	logs = log_end();
	CHECK(rc < 0 && e.code == FL_EXIT_FAIL, "precheck: token rejected: exit 1");
	CHECK(
	    strstr(logs, "[ERROR] [test] OneGate unreachable at http://onegate.test:5030 (HTTP 401)\n") &&
	        strstr(
	            logs,
	            "[ERROR] [test] Dynamic discovery requires OneGate. Set FL_SUPERLINK_ADDRESS for static "
	            "mode.\n") &&
	        strstr(logs, "Not authorized"),
	    "precheck: the two ERROR lines of 01 §3.1 and the server's text");
	CHECK(!strstr(logs, TOKEN), "precheck: the token never reaches the log");

	fake_reset();
	script((long[]){-1, -1, -1, -1}, 4);
	log_start();
	rc = fl_discover_superlink(&go, &o, &sl, &e);
	logs = log_end();
	CHECK(rc < 0 && e.code == FL_EXIT_UNAVAILABLE && strstr(logs, "(HTTP 000)"),
	      "precheck: OneGate down at start: exit 3, HTTP 000");

	struct fl_onegate_opts none = gate();
	none.endpoint = NULL;
	log_start();
	rc = fl_discover_superlink(&none, &o, &sl, &e);
	logs = log_end();
	CHECK(rc < 0 && e.code == FL_EXIT_UNAVAILABLE &&
	          strstr(logs, "[WARN] [test] ONEGATE_ENDPOINT not configured\n") &&
	          strstr(logs, "[ERROR] [test] No SuperLink address provided and OneGate not available\n"),
	      "discover: no OneGate and no static address: exit 3 with the spec's lines");

	o.static_address = "192.168.1.100:9092";
	fake_reset();
	log_start();
	rc = fl_discover_superlink(&none, &o, &sl, &e);
	logs = log_end();
	CHECK(rc == 0 && sl.is_static && strcmp(sl.endpoint, "192.168.1.100:9092") == 0 && F.nreq == 0,
	      "discover: a static FL_SUPERLINK_ADDRESS wins, no request");
	o.static_address = "192.168.1.100";
	log_start();
	rc = fl_discover_superlink(&none, &o, &sl, &e);
	logs = log_end();
	CHECK(rc < 0 && e.code == FL_EXIT_FAIL && strstr(logs, "is not host:port"),
	      "discover: a static address without a port is refused, and logged");
}

static void test_discover_exponential(void)
{
	struct fl_onegate_opts go = gate();
	struct fl_discover_opts o = dopts(FL_DISCOVER_EXPONENTIAL);
	struct fl_superlink sl;
	struct fl_err e = {0};
	fake_reset();
	o.deadline_ms = 3600000;
	log_start();
	int rc = fl_discover_superlink(&go, &o, &sl, &e);
	const char *logs = log_end();
	static const uint64_t want[] = {10000, 20000, 40000, 80000, 160000, 300000, 300000, 300000};
	bool ok = F.nsleep > 8;
	for (unsigned i = 0; ok && i < 8; i++)
		ok = F.sleeps[i] == want[i];
	CHECK(rc < 0 && e.code == FL_EXIT_TIMEOUT && ok,
	      "exponential: waits 10 20 40 80 160 300 300 300 s (04 §4.3)");
	CHECK(strstr(
	          logs,
	          "[INFO] [test] SuperLink not found, retrying in 10s (attempt 1, strategy=exponential)\n") &&
	          strstr(logs, "SuperLink not found, retrying in 20s (attempt 2, strategy=exponential)\n") &&
	          strstr(logs, "SuperLink not found, retrying in 300s (attempt 6, strategy=exponential)\n"),
	      "exponential: 'SuperLink not found, retrying in Ns (attempt N, strategy=exponential)'");
	unsigned per_hour = 0;
	for (unsigned i = 0; i < F.nreq; i++)
		per_hour += F.req_at[i] >= F.now - 3600000 + 1200000;
	DIAG("exponential: %u requests in the last 40 virtual minutes", per_hour);

	fake_reset();
	o.max_interval_ms = 5000;
	o.deadline_ms = 60000;
	log_start();
	fl_discover_superlink(&go, &o, &sl, &e);
	log_end();
	CHECK(F.nsleep > 2 && F.sleeps[0] == 5000 && F.sleeps[1] == 5000,
	      "exponential: FL_EDGE_MAX_BACKOFF below 10 s gives MAX from the start");

	/* OneGate down when the edge node boots: warn, keep trying, find it. */
	fake_reset();
	script((long[]){-1, -1, -1, -1, -1}, 5);
	F.publish_at = 0;
	o.max_interval_ms = 0;
	o.deadline_ms = 0;
	log_start();
	rc = fl_discover_superlink(&go, &o, &sl, &e);
	logs = log_end();
	CHECK(rc == 0 && strstr(logs, "[WARN] [test] OneGate unreachable at") &&
	          strstr(logs, "[WARN] [test] OneGate error on attempt 1: 000\n"),
	      "exponential: OneGate down at boot is a warning, the loop goes on and finds it");
	fl_discover_superlink_free(&sl);
}

static void test_discover_fast(void)
{
	struct fl_onegate_opts go = gate();
	struct fl_discover_opts o = dopts(FL_DISCOVER_FAST);
	struct fl_superlink sl;
	struct fl_err e = {0};
	fake_reset();
	uint64_t start = F.now;
	F.publish_at = start + 37300;
	log_start();
	int rc = fl_discover_superlink(&go, &o, &sl, &e);
	const char *logs = log_end();
	uint64_t lag = F.now - F.publish_at;
	CHECK(rc == 0 && lag <= 2100, "fast: found %llu ms after the SuperLink published (<= ~2 s)",
	      (unsigned long long)lag);
	unsigned window = 0;
	for (unsigned i = 0; i < F.nreq; i++)
		window += F.req_at[i] >= start + 10000 && F.req_at[i] < start + 37000;
	CHECK(window <= 19, "fast: at most 0.67 requests/s per node while waiting (%u in 27 s)", window);
	uint64_t max = 0;
	for (unsigned i = 0; i < F.nsleep; i++)
		max = F.sleeps[i] > max ? F.sleeps[i] : max;
	CHECK(F.sleeps[0] >= 375 && F.sleeps[0] <= 500 && max <= 2000 && max >= 1500,
	      "fast: 0.5 s first, capped at 2 s, jitter 25%% (first %llu, max %llu)",
	      (unsigned long long)F.sleeps[0], (unsigned long long)max);
	CHECK(strstr(logs, "SuperLink not ready, waiting... (attempt 1)\n") &&
	          strstr(logs, "Discovered SuperLink at"),
	      "fast: logs the first wait and the discovery");
	fl_discover_superlink_free(&sl);

	fake_reset();
	log_start();
	rc = fl_discover_superlink(&go, &o, &sl, &e);
	log_end();
	CHECK(rc < 0 && e.code == FL_EXIT_TIMEOUT && strstr(e.msg, "(5 minutes)") &&
	          F.now - 1000000 <= 300000 + 100,
	      "fast: gives up at the 5 minute deadline: %s", e.msg);

	/* 5000 SuperNodes: the per-node interval stretches so the service stays under 500 requests/s. */
	fake_reset();
	struct fl_buf big = FL_BUF_INIT;
	fl_buf_adds(
	    &big,
	    "{\"SERVICE\":{\"name\":\"big\",\"id\":\"9\",\"state\":2,\"roles\":[{\"name\":\"superlink\","
	    "\"cardinality\":1,\"state\":2,\"nodes\":[{\"deploy_id\":100,\"running\":null,\"vm_info\":null}]}"
	    ","
	    "{\"name\":\"supernode\",\"cardinality\":5000,\"state\":2,\"nodes\":[");
	for (int i = 0; i < 5000; i++)
		fl_buf_addf(&big, "%s{\"deploy_id\":%d,\"running\":null,\"vm_info\":null}", i ? "," : "",
		            1000 + i);
	fl_buf_adds(&big, "]}]}}");
	F.big = big.data;
	F.service = F.big;
	o.deadline_ms = 120000;
	log_start();
	fl_discover_superlink(&go, &o, &sl, &e);
	log_end();
	max = 0;
	for (unsigned i = 0; i < F.nsleep; i++)
		max = F.sleeps[i] > max ? F.sleeps[i] : max;
	CHECK(max > 7500 && max <= 10020,
	      "fast: 5001 VMs in the service: polls every <= %llu ms (budget 500/s)",
	      (unsigned long long)max);
}

/* A service with 10000 SuperNodes (~1 MB) parses and partitions; the time is a diagnostic. */
static void test_parse_time(void)
{
	struct fl_buf b = FL_BUF_INIT;
	fl_buf_adds(
	    &b, "{\"SERVICE\":{\"name\":\"big\",\"id\":\"9\",\"state\":2,\"roles\":[{\"name\":\"supernode\","
	        "\"cardinality\":10000,\"state\":2,\"nodes\":[");
	for (int i = 0; i < 10000; i++)
		fl_buf_addf(&b,
		            "%s{\"deploy_id\":%d,\"running\":null,\"vm_info\":{\"VM\":{\"ID\":\"%d\",\"UID\":"
		            "\"0\",\"GID\":"
		            "\"0\",\"UNAME\":\"oneadmin\",\"GNAME\":\"oneadmin\",\"NAME\":\"supernode_%d_("
		            "service_9)\"}}}",
		            i ? "," : "", 19999 - i, 19999 - i, i);
	fl_buf_adds(&b, "]}]}}");
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	struct fl_onegate_service s;
	struct fl_err e;
	struct fl_partition p;
	int ok = fl_onegate_service_parse(b.data, b.len, &s, &e) == 0 &&
	         fl_discover_partition_compute(&s, "supernode", 10000, NULL, &p, &e) == 0;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	DIAG("parse + partition of a 10000-node service (%zu KiB): %.1f ms", b.len >> 10, ms);
	/* The time is reported, not asserted: it depends on the machine and its load (bench/). */
	CHECK(ok && p.id == 0 && p.num == 10000, "10000 nodes: partition of the lowest VM ID is 0 of 10000");
	if (ok)
		fl_onegate_service_free(&s);
	fl_buf_free(&b);
}

int main(void)
{
	fl_log_init("test");
	fl_log_set_threshold(FL_DEBUG);
	test_form();
	test_publish_checks();
	test_vm();
	test_service();
	test_partition_range();
	test_hostile();
	test_candidate();
	test_request();
	test_discover_fixed();
	test_discover_errors();
	test_discover_exponential();
	test_discover_fast();
	test_parse_time();
	fake_reset();
	free(logbuf);
	return unit_done();
}
