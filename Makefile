# flkit: C toolkit for Flower federated learning on OpenNebula.
# make            build bin/ and the generated man pages
# make check      bootstrap (idempotent) and run every test suite
# make demo       bootstrap and run the end-to-end demo
# make asan       every suite under AddressSanitizer + UBSan
# make valgrind   every suite with the tools under valgrind
# make lint       clang-tidy, cppcheck, shellcheck, clang-format check
# make install    PREFIX=/usr/local DESTDIR=

VERSION    := 0.1.0
PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
MANDIR     ?= $(PREFIX)/share/man
SHAREDIR   ?= $(PREFIX)/share/flkit
BUILD      ?= build

PKGS       := libcrypto libssl libcurl jansson libarchive libmicrohttpd sqlite3
CC         ?= cc
CFLAGS     ?= -O2 -g
WARN       := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 -Wno-format-nonliteral
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
ALL_CFLAGS := -std=gnu11 $(WARN) -D_GNU_SOURCE -DFLKIT_VERSION='"$(VERSION)"' -Ilib $(PKG_CFLAGS) $(CFLAGS) $(EXTRA_CFLAGS)
ALL_LDFLAGS:= -Wl,--as-needed $(LDFLAGS) $(EXTRA_LDFLAGS)

TOOLS      := fl-context fl-certgen fl-onegate fl-launch
LIB_SRC    := $(wildcard lib/*.c)
LIB_OBJ    := $(patsubst lib/%.c,$(BUILD)/lib/%.o,$(LIB_SRC))
LIBFL      := $(BUILD)/libfl.a
BINS       := $(addprefix $(BUILD)/bin/,$(TOOLS))
UNIT_SRC   := $(wildcard test/unit/test_*.c)
UNIT_BINS  := $(patsubst test/unit/%.c,$(BUILD)/test/%,$(UNIT_SRC))
MAN_GEN    := man/fl-context.5

.PHONY: all check demo asan valgrind lint install clean man bootstrap fuzz bench

# Test-only builds of tools whose clock the tests move (FLKIT_NOW); never installed.
TEST_BINS  := $(BUILD)/test-bin/fl-certgen

all: $(BINS) $(UNIT_BINS) $(TEST_BINS)

$(BUILD)/lib/%.o: lib/%.c $(wildcard lib/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(LIBFL): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/bin/%: cmd/%.c $(LIBFL)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LIBFL) $(ALL_LDFLAGS) $(PKG_LIBS)

$(BUILD)/test-bin/%: cmd/%.c $(LIBFL)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -DFLKIT_TEST_CLOCK -o $@ $< $(LIBFL) $(ALL_LDFLAGS) $(PKG_LIBS)

$(BUILD)/test/%: test/unit/%.c test/unit/unit.h $(LIBFL)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itest/unit -o $@ $< $(LIBFL) $(ALL_LDFLAGS) $(PKG_LIBS)

# The variable reference page is generated from the registry; `make man` refreshes the
# checked-in copy and the test suite fails when it is stale.
man: $(BUILD)/bin/fl-context
	$(BUILD)/bin/fl-context reference --format man > man/fl-context.5

bootstrap:
	scripts/bootstrap

check: bootstrap
	$(MAKE) all
	test/run

# The clock starts when make starts, so the demo can report the time to the first round.
demo: export FLKIT_DEMO_T0 := $(shell date +%s.%N)
demo: bootstrap
	$(MAKE) all
	scripts/demo

asan:
	$(MAKE) BUILD=build-asan CC=clang CFLAGS='-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all' all
	FLKIT_BUILD=build-asan ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 test/run

# Every suite with each tool and unit binary under valgrind (memcheck, leaks are errors).
VALGRIND := valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect
valgrind: all
	@mkdir -p $(BUILD)/valgrind-bin
	@for t in $(TOOLS); do \
		printf '#!/bin/sh\nexec $(VALGRIND) "%s" "$$@"\n' "$(CURDIR)/$(BUILD)/bin/$$t" > $(BUILD)/valgrind-bin/$$t; \
		chmod +x $(BUILD)/valgrind-bin/$$t; done
	FLKIT_BIN=$(CURDIR)/$(BUILD)/valgrind-bin FLKIT_WRAP="$(VALGRIND)" FLKIT_NO_FUZZ=1 test/run

# make check runs each fuzz target from a fixed seed; make fuzz runs random campaigns of
# FUZZ_SECONDS per target on a corpus kept in build-fuzz/corpus.
FUZZ_SECONDS ?= 600
fuzz:
	test/fuzz/run --campaign $(FUZZ_SECONDS)

bench: all
	bench/run

lint:
	clang-tidy --quiet $(LIB_SRC) cmd/*.c -- $(ALL_CFLAGS)
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability --inline-suppr -Ilib lib cmd
	shellcheck scripts/bootstrap scripts/demo .ci/run test/run test/fuzz/run test/e2e/*.sh bench/run bench/*.sh
	clang-format --dry-run --Werror lib/*.[ch] cmd/*.c test/unit/*.[ch] test/fuzz/*.c

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(SHAREDIR)
	install -m 0755 $(BINS) $(DESTDIR)$(BINDIR)/
	install -m 0644 man/*.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 man/*.5 $(DESTDIR)$(MANDIR)/man5/
	cp -R share/. $(DESTDIR)$(SHAREDIR)/

clean:
	rm -rf build build-asan build-fuzz
