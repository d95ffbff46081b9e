/* fuzz_s3xml: libFuzzer target for the S3 reply scanner (fl_s3_xml_text, fl_s3_xml_error,
 * fl_s3_xml_parts), fed what a hostile or broken store may answer. Whatever it returns is
 * bounded by the buffer given, NUL-terminated, and the parts come ascending within 1-10000. */
#include "fuzz.h"
#include "fl_s3.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct seen {
	int last;
};

static int on_part(void *ctx, int number, const char *etag, long long size)
{
	struct seen *s = ctx;
	REQUIRE(number > s->last && number >= 1 && number <= FL_S3_PARTS_MAX);
	REQUIRE(size >= 0 && size <= FL_S3_PART_MAX);
	REQUIRE(strlen(etag) < 128);
	s->last = number;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *xml = (const char *)data;
	char out[64], msg[700];
	static const char *tags[] = {"Code", "UploadId", "ETag", "Part"};
	for (size_t i = 0; i < sizeof tags / sizeof tags[0]; i++) {
		memset(out, 'x', sizeof out);
		if (fl_s3_xml_text(xml, size, tags[i], out, sizeof out) == 0)
			REQUIRE(memchr(out, '\0', sizeof out));
	}
	if (fl_s3_xml_error(xml, size, msg, sizeof msg) == 0) {
		REQUIRE(memchr(msg, '\0', sizeof msg));
		for (const unsigned char *p = (const unsigned char *)msg; *p; p++)
			REQUIRE(*p >= 0x20 && *p != 0x7f);
	}
	struct seen s = {0};
	bool more;
	fl_s3_xml_parts(xml, size, on_part, &s, &more);
	return 0;
}
