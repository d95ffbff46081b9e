/* unit.h: a tiny TAP harness for the libfl unit tests: one CHECK is one TAP line. */
#ifndef UNIT_H
#define UNIT_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int unit_count;   /* TAP lines printed */
static int unit_failed;  /* of which "not ok" */
static int unit_planned; /* from PLAN(n), 0 when the plan comes at the end */

/* Write s on one diagnostic line, control and non-ASCII bytes as \xNN, at most max bytes. */
static inline void unit_show(const char *label, const char *s, size_t max)
{
	printf("#   %s: ", label);
	if (!s) {
		printf("(null)\n");
		return;
	}
	putchar('"');
	size_t i = 0;
	for (; s[i] && i < max; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\\' || c == '"')
			printf("\\%c", c);
		else if (c == '\n')
			printf("\\n");
		else if (c < 0x20 || c >= 0x7f)
			printf("\\x%02x", c);
		else
			putchar(c);
	}
	printf(s[i] ? "\"...\n" : "\"\n");
}

static inline __attribute__((format(printf, 4, 0))) int unit_vcheck(int ok, const char *file, int line,
                                                                    const char *fmt, va_list ap)
{
	unit_count++;
	char name[512];
	vsnprintf(name, sizeof name, fmt, ap);
	printf("%s %d - ", ok ? "ok" : "not ok", unit_count);
	/* A name is one TAP line: escape what would break it or read as a directive. */
	for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
		if (*p == '\n')
			printf("\\n");
		else if (*p == '#')
			printf("\\#");
		else if (*p < 0x20 || *p == 0x7f)
			printf("\\x%02x", *p);
		else
			putchar(*p);
	}
	putchar('\n');
	if (!ok) {
		unit_failed++;
		printf("#   failed at %s:%d\n", file, line);
	}
	/* Tests fork: nothing may stay buffered for a child to print twice. */
	fflush(stdout);
	return ok;
}

static inline __attribute__((format(printf, 4, 5))) int unit_check(int ok, const char *file, int line,
                                                                   const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	unit_vcheck(ok, file, line, fmt, ap);
	va_end(ap);
	return ok;
}

static inline __attribute__((format(printf, 5, 6))) int
unit_check_str(const char *got, const char *want, const char *file, int line, const char *fmt, ...)
{
	int ok = got && want ? strcmp(got, want) == 0 : got == want;
	va_list ap;
	va_start(ap, fmt);
	unit_vcheck(ok, file, line, fmt, ap);
	va_end(ap);
	if (!ok) {
		unit_show("got ", got, 400);
		unit_show("want", want, 400);
		fflush(stdout);
	}
	return ok;
}

static inline __attribute__((format(printf, 5, 6))) int unit_check_long(long got, long want, const char *file,
                                                                        int line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	unit_vcheck(got == want, file, line, fmt, ap);
	va_end(ap);
	if (got != want) {
		printf("#   got  %ld\n#   want %ld\n", got, want);
		fflush(stdout);
	}
	return got == want;
}

/* CHECK(cond, "name %d", ...) prints ok/not ok; each returns cond so tests can stop early. */
#define CHECK(cond, ...)          unit_check(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
#define CHECK_STR(got, want, ...) unit_check_str((got), (want), __FILE__, __LINE__, __VA_ARGS__)
#define CHECK_INT(got, want, ...) unit_check_long((long)(got), (long)(want), __FILE__, __LINE__, __VA_ARGS__)
/* A diagnostic line (TAP comment). */
#define DIAG(...) (printf("# "), printf(__VA_ARGS__), putchar('\n'), fflush(stdout))
/* A skipped test: counts as a TAP line with the SKIP directive. */
#define SKIP(why, ...)                                                                                       \
	(unit_count++, printf("ok %d - ", unit_count), printf(__VA_ARGS__), printf(" # skip %s\n", why),     \
	 fflush(stdout))

/* Announce the number of tests up front (optional). */
static inline void PLAN(int n)
{
	unit_planned = n;
	printf("1..%d\n", n);
	fflush(stdout);
}

/* Print the plan when none was announced; the exit status is 0 only when all passed. */
static inline int unit_done(void)
{
	if (!unit_planned)
		printf("1..%d\n", unit_count);
	else if (unit_planned != unit_count)
		printf("# planned %d tests but ran %d\n", unit_planned, unit_count);
	if (unit_failed)
		printf("# %d of %d tests failed\n", unit_failed, unit_count);
	fflush(stdout);
	return unit_failed || (unit_planned && unit_planned != unit_count) ? 1 : 0;
}

#endif
