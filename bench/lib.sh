# bench/lib.sh: the start every bench script shares; sourced from the repository root.
# shellcheck shell=bash

# bench_setup NAME TOOLS COMMANDS PACKAGES: $FLKIT_BIN (default build/bin) must hold each flkit
# tool of TOOLS and PATH each of COMMANDS (both space-separated), else exit 1 naming what is
# missing (for a command, with the Debian PACKAGES that bring them). Sets fl to the first
# tool's path and out to BENCH_OUT (default the build directory's bench/), made and absolute.
# shellcheck disable=SC2034 # fl and out are for the script that sources this
bench_setup() {
	local me=$1 t
	FLKIT_BIN=${FLKIT_BIN:-build/bin}
	fl=
	for t in $2; do
		if [ ! -x "$FLKIT_BIN/$t" ]; then
			echo "$me: $FLKIT_BIN/$t not found; build first (make bench, or set FLKIT_BIN)" >&2
			exit 1
		fi
		[ -n "$fl" ] || fl=$FLKIT_BIN/$t
	done
	for t in $3; do
		command -v "$t" >/dev/null 2>&1 || {
			echo "$me: $t is missing (Debian: apt-get install $4)" >&2
			exit 1
		}
	done
	out=${BENCH_OUT:-$FLKIT_BIN/../bench}
	mkdir -p "$out" && out=$(cd "$out" && pwd) || exit 1
}
