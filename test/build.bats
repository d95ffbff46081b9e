#!/usr/bin/env bats
# The build as a packager runs it: the caller's CPPFLAGS/CFLAGS/LDFLAGS on every compile and
# link, -Werror switchable, no half-written targets, install and uninstall, one version, a
# missing library named. Each test runs make in a copy of the sources with its own BUILD, so the
# tree's own build is never touched.

bats_require_minimum_version 1.5.0
bats_load_library bats-support
bats_load_library bats-assert

# Debian 12's dpkg-buildflags with hardening=+all, written out so that the test does not depend
# on dpkg-dev or on the caller's DEB_BUILD_MAINT_OPTIONS.
HARD_CPPFLAGS="-Wdate-time -D_FORTIFY_SOURCE=2"
HARD_CFLAGS="-g -O2 -fstack-protector-strong -Wformat -Werror=format-security"
HARD_LDFLAGS="-Wl,-z,relro -Wl,-z,now"

# clean_env: no make or compiler setting of the caller's (a parent make's MAKEFLAGS, CFLAGS,
# WERROR=0, CC) changes what these tests prove.
clean_env() {
	unset MAKEFLAGS MFLAGS MAKELEVEL CC CPPFLAGS CFLAGS LDFLAGS LDLIBS EXTRA_CFLAGS EXTRA_LDFLAGS \
		WERROR PKGS PKG_CONFIG BUILD DESTDIR PREFIX
}

# copy_src DIR: the files the build reads, without any build output.
copy_src() {
	local root="$BATS_TEST_DIRNAME/.." d
	mkdir -p "$1/test"
	for d in Makefile lib cmd man share; do
		cp -R "$root/$d" "$1/"
	done
	cp -R "$root/test/unit" "$1/test/"
	rm -f "$1"/lib/*.o
}

# plant_share DIR: what install must leave out (byte-code caches, editor leftovers) and files
# whose modes install must set whatever the checkout's are: a hook and a net-* script under
# one-apps/, a script with #! elsewhere, a plain file, all 0600 in the copy.
plant_share() {
	mkdir -p "$1/flower-app/flkit_app/__pycache__" "$1/one-apps/fixture"
	echo x >"$1/flower-app/flkit_app/__pycache__/task.cpython-311.pyc"
	echo x >"$1/flower-app/flkit_app/task.pyc"
	echo x >"$1/examples/superlink.one_env~"
	echo x >"$1/examples/.superlink.one_env.swp"
	echo x >"$1/examples/fixture.orig"
	echo 'fixture_hook() { :; }' >"$1/one-apps/fixture/hook.sh"
	printf '#!/bin/sh\nexit 0\n' >"$1/one-apps/net-98-fixture"
	printf '#!/bin/sh\nexit 0\n' >"$1/examples/fixture-script"
	echo 'not a script' >"$1/examples/fixture.txt"
	chmod 0600 "$1/one-apps/fixture/hook.sh" "$1/one-apps/net-98-fixture" "$1/examples/fixture-script" \
		"$1/examples/fixture.txt"
	chmod 0700 "$1/one-apps/fixture"
}

# share_installed: the files of the copy's share/ that install ships, as ./path lines.
share_installed() {
	(cd "$SRC/share" && find . \( -name __pycache__ -o -name '*.py[co]' -o -name '*~' -o -name '.*.sw?' \
		-o -name '*.orig' \) -prune -o -type f -print)
}

# The one build of this file, as a packager does it: the hardening flags in the environment,
# `make install` into a DESTDIR, then a unit test and a test-only binary in the same BUILD.
setup_file() {
	clean_env
	export SRC="$BATS_FILE_TMPDIR/src" B="$BATS_FILE_TMPDIR/build" D="$BATS_FILE_TMPDIR/dest"
	copy_src "$SRC"
	plant_share "$SRC/share"
	local rc=0
	CPPFLAGS="$HARD_CPPFLAGS" CFLAGS="$HARD_CFLAGS" LDFLAGS="$HARD_LDFLAGS" \
		make -C "$SRC" -j2 BUILD="$B" DESTDIR="$D" PREFIX=/usr install >"$BATS_FILE_TMPDIR/install.log" 2>&1 ||
		rc=$?
	echo "$rc" >"$BATS_FILE_TMPDIR/install.rc"
	mkdir -p "$B"
	(cd "$B" && find . -type f | sort) >"$BATS_FILE_TMPDIR/installed-build.txt"
	rc=0
	CPPFLAGS="$HARD_CPPFLAGS" CFLAGS="$HARD_CFLAGS" LDFLAGS="$HARD_LDFLAGS" \
		make -C "$SRC" -j2 BUILD="$B" "$B/test/test_buf" "$B/test-bin/fl-certgen" \
		>"$BATS_FILE_TMPDIR/test.log" 2>&1 || rc=$?
	echo "$rc" >"$BATS_FILE_TMPDIR/test.rc"
}

setup() {
	clean_env
	VERSION=$(sed -n 's/^VERSION *:= *//p' "$SRC/Makefile")
	VERSION_DATE=$(sed -n 's/^VERSION_DATE *:= *//p' "$SRC/Makefile")
}

# compiler_lines LOG: the compile and link commands make ran (they start with the compiler).
compiler_lines() {
	grep -E '^(cc|gcc|clang)[[:space:]]' "$1"
}

@test "make: CPPFLAGS, CFLAGS and LDFLAGS from the environment reach every compile and link" {
	[ "$(cat "$BATS_FILE_TMPDIR/install.rc")" = 0 ] || { cat "$BATS_FILE_TMPDIR/install.log"; false; }
	[ "$(cat "$BATS_FILE_TMPDIR/test.rc")" = 0 ] || { cat "$BATS_FILE_TMPDIR/test.log"; false; }
	local log n=0 links=0 line f
	for log in install test; do
		while IFS= read -r line; do
			n=$((n + 1))
			for f in $HARD_CPPFLAGS $HARD_CFLAGS; do
				[[ " $line " == *" $f "* ]] || { echo "no $f in: $line"; false; }
			done
			[[ " $line " == *" -c "* ]] && continue
			links=$((links + 1))
			for f in $HARD_LDFLAGS; do
				[[ " $line " == *" $f "* ]] || { echo "no $f in: $line"; false; }
			done
		done < <(compiler_lines "$BATS_FILE_TMPDIR/$log.log")
	done
	# The library's objects, the seven tools, one unit test and one test-only binary.
	[ "$(find "$SRC/lib" -name '*.c' | wc -l)" -lt "$n" ]
	[ "$links" -eq 9 ]
}

@test "make: the hardening flags show in the binaries (fortified calls, full RELRO)" {
	local bin
	for bin in "$B/bin/fl-context" "$B/test/test_buf" "$B/test-bin/fl-certgen"; do
		nm -D "$bin" | grep -qE ' U __[a-z_]+_chk' || { echo "$bin: no fortified call"; false; }
		readelf -lW "$bin" | grep -q GNU_RELRO || { echo "$bin: no RELRO"; false; }
		readelf -dW "$bin" | grep -qE 'BIND_NOW|FLAGS.*NOW' || { echo "$bin: no BIND_NOW"; false; }
	done
}

@test "install: builds the tools and the man pages, no unit test or test-only binary" {
	run cat "$BATS_FILE_TMPDIR/installed-build.txt"
	assert_line ./bin/fl-context
	assert_line ./man/fl-launch.1
	refute_line --regexp '^\./test/'
	refute_line --regexp '^\./test-bin/'
}

@test "install: the tools, section 1 and 5 pages and share/ land under DESTDIR and PREFIX" {
	local t page
	for t in fl-context fl-certgen fl-onegate fl-launch fl-ckpt; do
		[ "$(stat -c %a "$D/usr/bin/$t")" = 755 ] || { echo "$t: not installed 0755"; false; }
		[ "$(stat -c %a "$D/usr/share/man/man1/$t.1")" = 644 ] || { echo "$t.1: not installed 0644"; false; }
	done
	[ "$(stat -c %a "$D/usr/share/man/man5/fl-context.5")" = 644 ]
	while IFS= read -r f; do
		cmp "$SRC/share/$f" "$D/usr/share/flkit/$f" || { echo "share/$f not installed"; false; }
	done < <(share_installed)
	for page in "$D"/usr/share/man/man1/*.1; do
		grep -q "^\.TH [A-Z-]* 1 \"$VERSION_DATE\" \"flkit $VERSION\" " "$page" ||
			{ echo "$page: $(grep '^\.TH' "$page")"; false; }
	done
}

@test "install: share/ modes are set, not copied: scripts and hooks 0755, the rest 0644, directories 0755" {
	local d="$D/usr/share/flkit"
	[ "$(stat -c %a "$d/one-apps/fixture/hook.sh")" = 755 ]
	[ "$(stat -c %a "$d/one-apps/net-98-fixture")" = 755 ]
	[ "$(stat -c %a "$d/examples/fixture-script")" = 755 ]
	[ "$(stat -c %a "$d/examples/fixture.txt")" = 644 ]
	[ "$(stat -c %a "$d/examples/superlink.one_env")" = 644 ]
	run find "$d" -type d ! -perm 0755
	assert_output ''
	run find "$d" -type f ! -perm 0644 ! -perm 0755
	assert_output ''
}

@test "install: no byte-code cache or editor leftover from share/" {
	run find "$D/usr/share/flkit" \( -name __pycache__ -o -name '*.pyc' -o -name '*~' -o -name '.*.swp' \
		-o -name '*.orig' \)
	assert_output ''
	[ "$(find "$D/usr/share/flkit" -type f | wc -l)" -eq "$(share_installed | wc -l)" ]
}

@test "make: the tools and every man page carry the Makefile's VERSION and VERSION_DATE" {
	local t
	[[ $VERSION =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]]
	[[ $VERSION_DATE =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}$ ]]
	for t in fl-context fl-certgen fl-onegate fl-launch fl-ckpt; do
		run "$D/usr/bin/$t" -V
		assert_success
		assert_output "$t $VERSION"
	done
	run grep -h '^\.TH' "$D"/usr/share/man/man1/fl-context.1 "$D"/usr/share/man/man5/fl-context.5
	assert_line ".TH FL-CONTEXT 1 \"$VERSION_DATE\" \"flkit $VERSION\" \"User Commands\""
	assert_line ".TH FL-CONTEXT 5 \"$VERSION_DATE\" \"flkit $VERSION\" \"File Formats\""
	# No second copy to drift: the sources take the version from the build only.
	run grep -rlE '#[[:space:]]*define[[:space:]]+FLKIT_VERSION' "$SRC/lib" "$SRC/cmd" "$SRC/test/unit"
	assert_output ''
}

@test "uninstall: removes every file install wrote and flkit's share directory" {
	local d="$BATS_TEST_TMPDIR/dest"
	cp -a "$D" "$d"
	run make -C "$SRC" BUILD="$B" DESTDIR="$d" PREFIX=/usr uninstall
	assert_success
	run find "$d" ! -type d
	assert_output ''
	[ ! -e "$d/usr/share/flkit" ]
}

@test "make: warnings are errors, and WERROR=0 lets them through" {
	local src="$BATS_TEST_TMPDIR/src" b="$BATS_TEST_TMPDIR/build"
	copy_src "$src"
	printf '%s\n' '/* A warning on purpose. */' 'int fl_warn_demo(void);' \
		'int fl_warn_demo(void) { int unused; return 0; }' >"$src/lib/base/fl_warn_demo.c"
	run make -C "$src" BUILD="$b" "$b/lib/fl_warn_demo.o"
	assert_failure
	assert_output --partial 'unused variable'
	[ ! -e "$b/lib/fl_warn_demo.o" ]
	run make -C "$src" BUILD="$b" WERROR=0 "$b/lib/fl_warn_demo.o"
	assert_success
	assert_output --partial 'unused variable'
	refute_output --partial -- '-Werror '
	[ -s "$b/lib/fl_warn_demo.o" ]
}

@test "make: a command that fails leaves no half-written target behind" {
	local b="$BATS_TEST_TMPDIR/build" cc="$BATS_TEST_TMPDIR/broken-cc"
	# A compiler that writes part of its output, then fails.
	# shellcheck disable=SC2016
	printf '%s\n' '#!/bin/sh' 'while [ $# -gt 0 ]; do' \
		'	[ "$1" = -o ] && echo partial >"$2"' '	shift' 'done' 'exit 1' >"$cc"
	chmod +x "$cc"
	run make -C "$SRC" BUILD="$b" CC="$cc" "$b/lib/fl_buf.o"
	assert_failure
	assert_output --partial "Deleting file '$b/lib/fl_buf.o'"
	[ ! -e "$b/lib/fl_buf.o" ]
}

@test "make: a library pkg-config does not find stops the build, named with its package" {
	local pc="$BATS_TEST_TMPDIR/pc" b="$BATS_TEST_TMPDIR/build" dir dirs
	# Every .pc file pkg-config knows but libmicrohttpd's.
	mkdir -p "$pc"
	IFS=: read -r -a dirs <<<"${PKG_CONFIG_PATH:-}:$(pkg-config --variable pc_path pkg-config)"
	for dir in "${dirs[@]}"; do
		if [ -n "$dir" ] && [ -d "$dir" ]; then
			find "$dir" -maxdepth 1 -name '*.pc' ! -name libmicrohttpd.pc -exec cp -n {} "$pc"/ \;
		fi
	done
	PKG_CONFIG_LIBDIR="$pc" PKG_CONFIG_PATH='' run make -C "$SRC" BUILD="$b" "$b/lib/fl_buf.o"
	assert_failure
	# Only the missing one is named.
	assert_output --partial 'pkg-config finds no libmicrohttpd: install the development files (Debian: libmicrohttpd-dev;'
	assert_output --partial 'add the directory of libmicrohttpd.pc to PKG_CONFIG_PATH'
	[ ! -e "$b/lib/fl_buf.o" ]
	# A PKGS list with an unknown name fails the same way.
	run make -C "$SRC" BUILD="$b" PKGS='jansson flkit-no-such-lib' "$b/lib/fl_buf.o"
	assert_failure
	assert_output --partial 'pkg-config finds no flkit-no-such-lib'
}

@test "make: clean needs no library (pkg-config is asked only to compile or link)" {
	run make -C "$SRC" BUILD="$BATS_TEST_TMPDIR/build" PKGS='flkit-no-such-lib' clean
	assert_success
	refute_output --partial 'pkg-config finds no'
}
