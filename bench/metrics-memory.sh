#!/usr/bin/env bash
# metrics-memory.sh: fl-metrics' memory does not grow with history. bench/metrics-events.awk
# makes the lines as they are read (through a pipe, nothing stored) for `fl-metrics parse -`:
# 1 million lines, then 10 million (BENCH_METRICS_MEMORY_LINES), about 10% of them events
# (100,000 rounds' worth and 10 times that, new node ids in every run); the peak RSS of each
# run (GNU time) and their difference in pages. Flat means equal within a few pages.
#
# Environment: FLKIT_BIN (default build/bin), BENCH_METRICS_MEMORY_LINES (default
# "1000000 10000000"), BENCH_OUT (the expositions; default the build directory's bench/).
set -u
cd "$(dirname "$0")/.." || exit 1

# shellcheck source=bench/lib.sh
. bench/lib.sh
bench_setup metrics-memory.sh fl-metrics "awk" "mawk"
fl=$(cd "$FLKIT_BIN" && pwd)/fl-metrics
if [ ! -x /usr/bin/time ]; then
	echo "metrics-memory.sh: /usr/bin/time is missing (Debian: apt-get install time)" >&2
	exit 1
fi
counts=${BENCH_METRICS_MEMORY_LINES:-1000000 10000000}
export LC_ALL=C
for v in $(compgen -e); do
	case $v in
	FL_* | FLOWER_* | ML_* | ONEAPP_*) unset "$v" ;;
	esac
done
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
page_kb=$(($(getconf PAGESIZE) / 1024))

echo "# $(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) CPU(s); $(uname -sr); page $page_kb kB; expositions in $out"
printf '%12s %10s %14s %s\n' lines seconds "peak RSS kB" "fl_clients_failed_total (one per round)"
first=
for n in $counts; do
	case $n in
	'' | *[!0-9]* | 0)
		echo "metrics-memory.sh: BENCH_METRICS_MEMORY_LINES holds line counts above 0, not '$n'" >&2
		exit 2
		;;
	esac
	if ! awk -v n="$n" -f bench/metrics-events.awk |
		/usr/bin/time -f '%e %M' -o "$tmp/time" "$fl" parse --format prom - >"$out/metrics-memory-$n.prom"; then
		echo "metrics-memory.sh: fl-metrics parse - failed on $n lines" >&2
		exit 1
	fi
	read -r secs kb <"$tmp/time"
	printf '%12s %10s %14s %s\n' "$n" "$secs" "$kb" "$(awk '$1 == "fl_clients_failed_total" { print $2 }' "$out/metrics-memory-$n.prom")"
	if [ -z "$first" ]; then
		first=$kb first_n=$n
	else
		echo "peak RSS at $n lines - at $first_n: $((kb - first)) kB ($(((kb - first) / page_kb)) pages of $page_kb kB)"
	fi
done
