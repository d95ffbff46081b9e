#!/usr/bin/env bats
# The Debian package: dpkg-buildpackage in a copy of the tree (it writes the .deb, .changes and
# .buildinfo to the parent directory), lintian, dpkg -i, the installed files and their modes,
# hardening, the version, the boot harness against the installed package, and dpkg --purge
# leaving nothing behind. Installs a package, so it runs as root (CI does); a flkit package
# already installed is purged first.

bats_require_minimum_version 1.5.0
bats_load_library bats-support
bats_load_library bats-assert

ROOT="$BATS_TEST_DIRNAME/.."
TOOLS=(fl-context fl-certgen fl-onegate fl-launch fl-ckpt fl-metrics fl-gpucheck)

# clean_env: no make or compiler setting of the caller's (a parent make's MAKEFLAGS, CFLAGS,
# WERROR=0, CC) reaches the package build.
clean_env() {
	unset MAKEFLAGS MFLAGS MAKELEVEL CC CPPFLAGS CFLAGS LDFLAGS LDLIBS EXTRA_CFLAGS EXTRA_LDFLAGS \
		WERROR PKGS PKG_CONFIG BUILD DESTDIR PREFIX DEB_BUILD_OPTIONS DEB_BUILD_MAINT_OPTIONS
}

# copy_tree DIR: the files git knows (tracked, or new and not ignored) of the tree: no build
# output, virtual environment or byte-code cache, as a clean checkout would have them.
copy_tree() {
	mkdir -p "$1"
	git -C "$ROOT" ls-files -z --cached --others --exclude-standard -- . ':(exclude)shared' |
		(cd "$ROOT" && tar --null --ignore-failed-read -T - -cf -) | tar -xf - -C "$1"
}

# share_files: the files of the copy's share/ that the package ships (install leaves out
# byte-code caches and editor leftovers), as ./path lines.
share_files() {
	(cd "$SRC/share" && find . \( -name __pycache__ -o -name '*.py[co]' -o -name '*~' -o -name '.*.sw?' \
		-o -name '.#*' -o -name '#*#' -o -name '*.orig' -o -name '*.rej' -o -name '*.bak' \
		-o -name .DS_Store \) -prune -o ! -type d -print | LC_ALL=C sort)
}

# want_mode ./PATH: the mode the package gives a share/ file: 0755 for the one-apps hooks,
# the net-* context scripts and any file that starts with #!, 0644 for the rest.
want_mode() {
	case "$1" in
	./one-apps/*.sh | ./one-apps/net-*) echo 755 ;;
	*) if [ "$(head -c 2 "$SRC/share/$1")" = '#!' ]; then echo 755; else echo 644; fi ;;
	esac
}

# purge_and_check: dpkg --purge flkit, then every file of the dpkg -L snapshot is gone, and
# every directory is gone or still belongs to another package.
purge_and_check() {
	if dpkg-query -W flkit >/dev/null 2>&1; then
		dpkg --purge flkit || return 1
	fi
	! dpkg-query -W flkit >/dev/null 2>&1 || { echo "flkit still known to dpkg"; return 1; }
	local p left=0
	while IFS= read -r p; do
		[ "$p" = /. ] && continue
		if [ -d "$p" ] && [ ! -L "$p" ]; then
			dpkg -S "$p" >/dev/null 2>&1 && continue
			echo "left behind: $p/ (no package owns it)"
			left=1
		elif [ -e "$p" ] || [ -L "$p" ]; then
			echo "left behind: $p"
			left=1
		fi
	done <"$BATS_FILE_TMPDIR/dpkg-L.txt"
	[ ! -e /usr/share/flkit ] || { echo "left behind: /usr/share/flkit"; left=1; }
	[ ! -e /usr/share/doc/flkit ] || { echo "left behind: /usr/share/doc/flkit"; left=1; }
	return "$left"
}

setup_file() {
	clean_env
	[ "$(id -u)" -eq 0 ] || { echo "deb.bats installs a package: run it as root" >&2; return 1; }
	VERSION=$(sed -n 's/^VERSION *:= *//p' "$ROOT/Makefile")
	export VERSION SRC="$BATS_FILE_TMPDIR/flkit-$VERSION" OUT="$BATS_FILE_TMPDIR"
	: >"$OUT/dpkg-L.txt"
	if dpkg-query -W flkit >/dev/null 2>&1; then
		dpkg --purge flkit >"$OUT/pre-purge.log" 2>&1 || { cat "$OUT/pre-purge.log" >&2; return 1; }
	fi
	copy_tree "$SRC"
	local rc=0
	(cd "$SRC" && DEB_BUILD_OPTIONS=parallel=2 dpkg-buildpackage -b -us -uc) >"$OUT/build.log" 2>&1 || rc=$?
	echo "$rc" >"$OUT/build.rc"
	local debs=("$OUT"/flkit_"$VERSION"_*.deb)
	export DEB=${debs[0]}
	if [ "$rc" -ne 0 ] || [ ! -f "$DEB" ]; then
		return 0
	fi
	rc=0
	# The .changes: the package, its -dbgsym package and the .buildinfo.
	lintian --fail-on error,warning --tag-display-limit 0 "${DEB%.deb}.changes" >"$OUT/lintian.log" 2>&1 ||
		rc=$?
	echo "$rc" >"$OUT/lintian.rc"
	rc=0
	dpkg -i "$DEB" >"$OUT/install.log" 2>&1 || rc=$?
	echo "$rc" >"$OUT/install.rc"
	dpkg -L flkit >"$OUT/dpkg-L.txt" 2>/dev/null || true
}

teardown_file() {
	[ -n "${OUT:-}" ] || return 0
	purge_and_check
}

# step_ok NAME: the setup_file step NAME ran and succeeded; its log is shown otherwise.
step_ok() {
	[ "$(cat "$OUT/$1.rc" 2>/dev/null)" = 0 ] || { cat "$OUT/$1.log" 2>/dev/null; false; }
}

@test "deb: dpkg-buildpackage -b builds flkit_VERSION_ARCH.deb beside the copy, versioned from the Makefile" {
	step_ok build
	[[ $VERSION =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]]
	[ "$DEB" = "$OUT/flkit_${VERSION}_$(dpkg --print-architecture).deb" ]
	[ -s "$OUT/flkit_${VERSION}_$(dpkg --print-architecture).changes" ]
	run dpkg-parsechangelog -l "$SRC/debian/changelog" -S Version
	assert_output "$VERSION"
	run dpkg-deb -f "$DEB" Package Version Architecture
	assert_output "Package: flkit
Version: $VERSION
Architecture: $(dpkg --print-architecture)"
}

@test "deb: the build makes only the tools and the man pages, and runs no test suite" {
	step_ok build
	run cat "$OUT/build.log"
	assert_line --regexp '^[[:space:]]*make -j2 .*tools$'
	refute_line --regexp '^[[:space:]]*make .* (all|check)( |$)'
	refute_output --partial 'test/run'
	[ -x "$SRC/build/bin/fl-context" ]
	[ ! -e "$SRC/build/test" ]
	[ ! -e "$SRC/build/test-bin" ]
}

@test "deb: Depends names the shared libraries the tools link" {
	step_ok build
	run dpkg-deb -f "$DEB" Depends
	local lib
	for lib in libc6 libssl3 libcurl4 libjansson4 libarchive13 libmicrohttpd12 libsqlite3-0 zlib1g; do
		assert_output --regexp "(^|, )$lib(t64)? \("
	done
}

@test "lintian: no error and no warning on the .changes (package, -dbgsym, .buildinfo)" {
	step_ok build
	run cat "$OUT/lintian.rc"
	[ "$output" = 0 ] || { cat "$OUT/lintian.log"; false; }
	run grep -E '^[EW]: ' "$OUT/lintian.log"
	assert_output ''
}

@test "dpkg -i: the tools land in /usr/bin (0755) and report the package version" {
	step_ok install
	local t
	for t in "${TOOLS[@]}"; do
		grep -qx "/usr/bin/$t" "$OUT/dpkg-L.txt" || { echo "$t not in dpkg -L"; false; }
		[ "$(stat -c '%a %U:%G' "/usr/bin/$t")" = '755 root:root' ] || { echo "$t: $(stat -c '%a %U:%G' "/usr/bin/$t")"; false; }
		run "/usr/bin/$t" --version
		assert_success
		assert_output "$t $VERSION"
	done
	run dpkg-query -W -f '${Version}' flkit
	assert_output "$VERSION"
}

@test "dpkg -i: every man page, compressed, with the package version on its .TH line" {
	step_ok install
	local src page n=0
	for src in "$SRC"/man/*.[157]; do
		page="/usr/share/man/man${src##*.}/${src##*/}.gz"
		grep -qx "$page" "$OUT/dpkg-L.txt" || { echo "$page not in dpkg -L"; false; }
		[ "$(stat -c %a "$page")" = 644 ]
		zcat "$page" | grep -q "^\.TH .* \"flkit $VERSION\"" || { echo "$page: $(zcat "$page" | grep '^\.TH')"; false; }
		n=$((n + 1))
	done
	# A page per tool, fl-context(5) and flkit(7).
	[ "$n" -eq $((${#TOOLS[@]} + 2)) ]
	run man -w fl-launch
	assert_output /usr/share/man/man1/fl-launch.1.gz
}

@test "dpkg -i: /usr/share/flkit is share/ of the tree, hooks and scripts 0755, the rest 0644, directories 0755" {
	step_ok install
	local f n=0
	while IFS= read -r f; do
		cmp "$SRC/share/$f" "/usr/share/flkit/$f" || { echo "share/$f not installed"; false; }
		grep -qxF "/usr/share/flkit/${f#./}" "$OUT/dpkg-L.txt" || { echo "$f not in dpkg -L"; false; }
		[ "$(stat -c '%a %U:%G' "/usr/share/flkit/$f")" = "$(want_mode "$f") root:root" ] ||
			{ echo "$f: $(stat -c %a "/usr/share/flkit/$f"), want $(want_mode "$f")"; false; }
		n=$((n + 1))
	done < <(share_files)
	[ "$n" -gt 0 ]
	# Nothing else: no byte-code cache, no editor leftover, no file the tree does not have.
	[ "$(find /usr/share/flkit ! -type d | wc -l)" -eq "$n" ]
	run find /usr/share/flkit -type d ! -perm 0755
	assert_output ''
	run grep -E '__pycache__|\.py[co]$|~$' "$OUT/dpkg-L.txt"
	assert_output ''
}

@test "dpkg -i: the one-apps files of the contract are installed, executable ones 0755" {
	step_ok install
	local f
	for f in superlink/appliance.sh supernode/appliance.sh flkit-hooks.sh ready.sh rediscover.sh \
		net-99-report-ready; do
		[ "$(stat -c %a "/usr/share/flkit/one-apps/$f")" = 755 ] ||
			{ echo "/usr/share/flkit/one-apps/$f: missing or not 0755"; false; }
	done
}

@test "dpkg -i: the installed tools are hardened (PIE, full RELRO, stack protector, fortified calls)" {
	step_ok install
	local t bin
	for t in "${TOOLS[@]}"; do
		bin=/usr/bin/$t
		readelf -hW "$bin" | grep -qE 'Type:[[:space:]]+DYN' || { echo "$bin: not PIE"; false; }
		readelf -lW "$bin" | grep -q GNU_RELRO || { echo "$bin: no RELRO"; false; }
		readelf -dW "$bin" | grep -qE 'BIND_NOW|FLAGS.*NOW' || { echo "$bin: no BIND_NOW"; false; }
		nm -D "$bin" | grep -q ' U __stack_chk_fail' || { echo "$bin: no stack protector"; false; }
		nm -D "$bin" | grep -qE ' U __[a-z_]+_chk' || { echo "$bin: no fortified call"; false; }
	done
}

# The boot harness (test/appliance/boot.sh, its CLI at its top) once, against the installed
# package: its `clean` scenario (the OneFlow service boots, TLS, a 3-round run).
HARNESS_SCENARIO=clean

@test "harness: the boot harness passes against the installed package (/usr/bin, /usr/share/flkit)" {
	step_ok install
	local boot="$ROOT/test/appliance/boot.sh" work="$BATS_TEST_TMPDIR/harness"
	local rc=0
	FLKIT_BIN=/usr/bin FLKIT_SHARE=/usr/share/flkit "$boot" --scenario "$HARNESS_SCENARIO" \
		--deadline 600 "$work" >"$BATS_TEST_TMPDIR/harness.log" 2>&1 || rc=$?
	[ "$rc" -eq 0 ] || { tail -n 60 "$BATS_TEST_TMPDIR/harness.log"; echo "boot.sh exited $rc"; false; }
	run grep -x 'RESULT=ok' "$work/result.env"
	assert_success
}

@test "purge: dpkg --purge flkit removes every file it installed and /usr/share/flkit" {
	step_ok install
	[ -s "$OUT/dpkg-L.txt" ]
	purge_and_check
}
