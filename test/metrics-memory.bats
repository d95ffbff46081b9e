#!/usr/bin/env bats
# fl-metrics' memory does not grow with history: the same peak RSS after ten times as many
# events (generated as they are read, never stored). A memory-growth check, not a time bound;
# bench/metrics-memory.sh does the same at 1 and 10 million lines.

load helpers

setup() {
	# The plain build only: valgrind's memory and ASan's quarantine grow with the allocations
	# made, by design (make valgrind, make asan).
	if [ -n "${FLKIT_WRAP:-}" ] || [ -n "${ASAN_OPTIONS:-}" ]; then
		skip "peak RSS is measured on the plain build (make check), not under valgrind or ASan"
	fi
	[ -x /usr/bin/time ] || {
		[ "${CI:-}" = true ] && fail "/usr/bin/time is missing and CI=true: apt-get install time"
		skip "/usr/bin/time is missing (Debian package time)"
	}
	TMP=$(mktemp -d)
}

teardown() {
	rm -rf "$TMP"
}

# peak_kb N: peak RSS (kB) of `fl-metrics parse -` over N event lines (no ordinary lines: all
# 12 kinds, new node ids each run, every fifth in a Docker envelope); the exposition in $TMP/N.
peak_kb() {
	awk -v n="$1" -v chatter=0 -f "$FLKIT_SRC/bench/metrics-events.awk" |
		/usr/bin/time -f %M -o "$TMP/time.$1" "$FLKIT_BIN/fl-metrics" parse - >"$TMP/$1" || return 1
	cat "$TMP/time.$1"
}

@test "parse -: peak RSS after 1 million events is within 1 MiB of that after 100 thousand" {
	run peak_kb 100000
	assert_success
	small=$output
	run peak_kb 1000000
	assert_success
	large=$output
	# Both really read everything: one client_failure per round, about one event in seven.
	run awk '$1 == "fl_clients_failed_total" { print $2 }' "$TMP/100000"
	assert_output --regexp '^[0-9]+$'
	[ "$output" -gt 5000 ]
	small_failed=$output
	run awk '$1 == "fl_clients_failed_total" { print $2 }' "$TMP/1000000"
	[ "$output" -gt $((small_failed * 9)) ]
	echo "# peak RSS: $small kB after 100k events, $large kB after 1M" >&3
	[ $((large - small)) -lt 1024 ]
}
