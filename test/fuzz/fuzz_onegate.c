/* fuzz_onegate: libFuzzer target for everything that reads OneGate's answers: the /vm and
 * /service parsers, the CLI renderings, SuperLink candidates, partitions, one_env headers and
 * the publish value checks. Hostile input must parse into sane values or fail cleanly. */
#include "fuzz.h"
#include "fl_buf.h"
#include "fl_check.h"
#include "fl_discover.h"
#include "fl_onegate.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

FUZZ_FIXED_JSON_SEED()

static void candidate(const json_t *ut)
{
	struct fl_superlink sl = {0};
	char why[200];
	int r = fl_discover_candidate(ut, &sl, why, sizeof why);
	REQUIRE(r >= -1 && r <= 1);
	if (r == 1) {
		/* Whatever is printed for the other tools must be safe KEY=VALUE material. */
		REQUIRE(fl_check_hostport(sl.endpoint, NULL));
		REQUIRE(!sl.tls[0] || strcmp(sl.tls, "YES") == 0 || strcmp(sl.tls, "NO") == 0);
		REQUIRE(!sl.version[0] || fl_check_version(sl.version));
		REQUIRE(!sl.ca_cert || !strpbrk(sl.ca_cert, "\n\r\"'$`"));
		struct fl_buf out = FL_BUF_INIT;
		fl_discover_superlink_render(&sl, false, &out);
		unsigned nl = 0;
		for (size_t i = 0; i < out.len; i++)
			nl += out.data[i] == '\n';
		REQUIRE(nl == 4);
		fl_discover_superlink_render(&sl, true, &out);
		fl_buf_free(&out);
	} else {
		REQUIRE(why[0]);
	}
	fl_discover_superlink_free(&sl);
}

static void vm(const char *buf, size_t size)
{
	struct fl_onegate_vm v;
	struct fl_err e;
	if (fl_onegate_vm_parse(buf, size, &v, &e) < 0) {
		REQUIRE(e.code == FL_EXIT_FAIL && e.msg[0]);
		return;
	}
	REQUIRE(v.root && v.vm);
	struct fl_buf b = FL_BUF_INIT;
	fl_onegate_render_vm(&v, false, &b);
	fl_onegate_render_vm(&v, true, &b);
	fl_onegate_render_json(v.root, &b);
	for (size_t i = 0; i < b.len; i++)
		REQUIRE(b.data[i] != '\0');
	fl_onegate_vm_attr(&v, "FL_READY");
	candidate(v.user_template);
	fl_buf_free(&b);
	fl_onegate_vm_free(&v);
}

static void service(const char *buf, size_t size)
{
	struct fl_onegate_service s;
	struct fl_err e;
	if (fl_onegate_service_parse(buf, size, &s, &e) < 0) {
		REQUIRE(e.code == FL_EXIT_FAIL && e.msg[0]);
		return;
	}
	struct fl_buf b = FL_BUF_INIT;
	fl_onegate_render_service(&s, false, false, &b);
	fl_onegate_render_service(&s, true, true, &b);
	fl_onegate_render_json(s.root, &b);
	fl_buf_free(&b);
	for (size_t i = 0; i < s.nroles; i++) {
		const struct fl_onegate_role *r = &s.roles[i];
		REQUIRE(r->name);
		for (size_t k = 0; k < r->nnodes; k++) {
			struct fl_partition p;
			if (r->nodes[k].vmid >= 0 && fl_onegate_service_role(&s, r->name) == r) {
				REQUIRE(fl_discover_partition_compute(&s, r->name, r->nodes[k].vmid, NULL, &p,
				                                      &e) == 0);
				REQUIRE(p.id >= 0 && p.id < p.num && (size_t)p.num <= r->nnodes);
			}
			json_t *v = r->nodes[k].vm_info ? json_object_get(r->nodes[k].vm_info, "VM") : NULL;
			if (json_is_object(v))
				candidate(json_object_get(v, "USER_TEMPLATE"));
		}
	}
	fl_onegate_service_free(&s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	vm(buf, size);
	service(buf, size);

	struct fl_identity id = {0};
	fl_identity_read_header(&id, buf, size);
	REQUIRE(!id.vmid || (*id.vmid && !strchr(id.vmid, '"')));
	fl_identity_free(&id);

	char *s = malloc(size + 1);
	memcpy(s, data, size);
	s[size] = '\0';
	struct fl_err e;
	if (fl_onegate_check_pair(s, &e) == 0) {
		/* A value that passed must survive escape_attr unchanged in meaning. */
		const char *v = strchr(s, '=') + 1;
		REQUIRE(!strpbrk(v, ",\"\\[]\n\r\t"));
		REQUIRE(v[0] != ' ');
	} else {
		REQUIRE(e.code == FL_EXIT_USAGE && e.msg[0]);
	}
	struct fl_buf b = FL_BUF_INIT;
	fl_onegate_form_escape(&b, s, strlen(s));
	for (size_t i = 0; i < b.len; i++)
		REQUIRE(strchr("*-._+%", b.data[i]) || (b.data[i] >= '0' && b.data[i] <= '9') ||
		        (b.data[i] >= 'A' && b.data[i] <= 'Z') || (b.data[i] >= 'a' && b.data[i] <= 'z'));
	fl_buf_free(&b);
	struct fl_onegate_response rs = {.status = 400};
	fl_buf_add(&rs.body, data, size);
	char text[208];
	fl_onegate_response_text(&rs, text, sizeof text);
	REQUIRE(strlen(text) <= 200 && !strchr(text, '\n'));
	fl_onegate_response_free(&rs);
	free(s);
	return 0;
}
