#!/usr/bin/env bash
# metrics-parse.sh: event ingestion of `fl-metrics parse FILE` against Debian's mtail running
# bench/metrics.mtail (the same event-to-metric mapping as an mtail program) with --one_shot
# on the same file: lines per second and peak RSS of each, as ratios from one run. The file:
# BENCH_METRICS_LINES (default 1000000) lines from bench/metrics-events.awk, about 90%
# ordinary JSON log lines and 10% events of all 12 kinds, every fifth line in Docker's
# json-file envelope. Before timing, both must compute the same values (counters, gauges and
# the histogram) from the file, else nothing is timed.
#
# Environment: FLKIT_BIN (default build/bin), BENCH_METRICS_LINES, BENCH_OUT (the outputs of
# both, default the build directory's bench/), TMPDIR (the file: about 300 MiB per million).
set -u
cd "$(dirname "$0")/.." || exit 1

# shellcheck source=bench/lib.sh
. bench/lib.sh
bench_setup metrics-parse.sh fl-metrics "mtail jq awk" "mtail jq mawk"
fl=$(cd "$FLKIT_BIN" && pwd)/fl-metrics
if [ ! -x /usr/bin/time ]; then
	echo "metrics-parse.sh: /usr/bin/time is missing (Debian: apt-get install time)" >&2
	exit 1
fi
n=${BENCH_METRICS_LINES:-1000000}
case $n in
'' | *[!0-9]* | 0)
	echo "metrics-parse.sh: BENCH_METRICS_LINES is a line count above 0, not '$n'" >&2
	exit 2
	;;
esac
export LC_ALL=C
for v in $(compgen -e); do
	case $v in
	FL_* | FLOWER_* | ML_* | ONEAPP_*) unset "$v" ;;
	esac
done
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/progs" && cp bench/metrics.mtail "$tmp/progs/" || exit 1
log=$tmp/events.log
awk -v n="$n" -f bench/metrics-events.awk >"$log" || exit 1
bytes=$(stat -c %s "$log")

echo "# $(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) CPU(s): $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
echo "# $(uname -sr); $(mtail --version 2>&1 | head -n 1); $n lines, $((bytes / 1048576)) MiB; outputs in $out"

# timed NAME COMMAND...: run once under GNU time; stdout to $out/metrics-parse-NAME.out;
# sets secs (wall clock), cpu (user + system) and kb (peak RSS).
timed() {
	local name=$1
	shift
	if ! /usr/bin/time -f '%e %U %S %M' -o "$tmp/time" "$@" >"$out/metrics-parse-$name.out" 2>"$out/metrics-parse-$name.err"; then
		echo "metrics-parse.sh: $name failed:" >&2
		tail -n 5 "$out/metrics-parse-$name.err" >&2
		exit 1
	fi
	read -r secs user sys kb <"$tmp/time"
	cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')
}

# fl-metrics first, twice: the first run warms the page cache and is the one checked.
timed fl-metrics "$fl" parse --format prom "$log"
timed fl-metrics "$fl" parse --format prom "$log"
fl_secs=$secs fl_cpu=$cpu fl_kb=$kb
timed mtail mtail --one_shot --progs "$tmp/progs" --logs "$log" --logtostderr
mt_secs=$secs mt_cpu=$cpu mt_kb=$kb

# The values each computed, as "name{labels} value" lines sorted, then compared.
prom() {
	awk '$1 ~ /^fl_(training_status|round_current|round_total|aggregated_loss|aggregated_accuracy|clients_selected|clients_responded|clients_connected|clients_failed_total|checkpoint_saved_total|round_duration_seconds_(sum|count|bucket))({|$)/ { printf "%s %.10g\n", $1, $2 }' \
		"$out/metrics-parse-fl-metrics.out" | sed -E 's/le="([0-9]+)\.0"/le="\1"/' | sort
}
mtail_values() {
	jq -r '
		def lbl($v): if (.Keys // []) == [] then "" else "{" + ([.Keys, $v.Labels] | transpose | map(.[0] + "=\"" + .[1] + "\"") | join(",")) + "}" end;
		to_entries[] | select(.key | test("^fl_metrics_") | not) | .value[0] as $m | $m.LabelValues[] as $v |
		if ($v.Value | type) == "object" and ($v.Value | has("Buckets")) then
			($v.Value.Buckets | to_entries | map({le: .key, c: .value})) as $b |
			($b[] | .le as $le | "\($m.Name)_bucket\("{" + ([$m.Keys, $v.Labels] | transpose | map(.[0] + "=\"" + .[1] + "\"") | join(",")) + ",le=\"" + $le + "\"}") \([$b[] | select((.le | if . == "+Inf" then infinite else tonumber end) <= ($le | if . == "+Inf" then infinite else tonumber end)) | .c] | add)"),
			"\($m.Name)_sum\($m | lbl($v)) \($v.Value.Sum)",
			"\($m.Name)_count\($m | lbl($v)) \($v.Value.Count)"
		else "\($m.Name)\($m | lbl($v)) \($v.Value.Value)" end' "$out/metrics-parse-mtail.out" |
		awk '{ printf "%s %.10g\n", $1, $2 }' | sort
}
prom >"$tmp/fl.values"
mtail_values >"$tmp/mtail.values"
if ! diff -u "$tmp/fl.values" "$tmp/mtail.values" >"$out/metrics-parse-values.diff" || [ ! -s "$tmp/fl.values" ]; then
	echo "metrics-parse.sh: fl-metrics and mtail computed different values (or none); not reporting times:" >&2
	cat "$out/metrics-parse-values.diff" >&2
	exit 1
fi

rate() {
	awk -v n="$n" -v s="$1" 'BEGIN { printf "%.0f", (s > 0) ? n / s : 0 }'
}
echo
echo "same values from both: $(wc -l <"$tmp/fl.values") series ($(grep -m1 '^fl_clients_failed_total' "$tmp/fl.values"), $(grep -m1 '^fl_round_duration_seconds_count' "$tmp/fl.values"))"
printf '%-12s %10s %12s %10s %12s %14s\n' "" "wall s" "lines/s" "CPU s" "lines/CPU-s" "peak RSS kB"
for side in fl-metrics mtail; do
	if [ "$side" = fl-metrics ]; then set -- "$fl_secs" "$fl_cpu" "$fl_kb"; else set -- "$mt_secs" "$mt_cpu" "$mt_kb"; fi
	printf '%-12s %10s %12s %10s %12s %14s\n' "$side" "$1" "$(rate "$1")" "$2" "$(rate "$2")" "$3"
done
awk -v a="$mt_secs" -v b="$fl_secs" -v c="$mt_cpu" -v d="$fl_cpu" -v e="$fl_kb" -v f="$mt_kb" 'BEGIN {
	printf "rate: fl-metrics %.1fx mtail by wall clock, %.1fx by CPU time (goal >= 2x); peak RSS: fl-metrics %.2fx mtail (goal < 1x)\n",
		(b > 0) ? a / b : 0, (d > 0) ? c / d : 0, (f > 0) ? e / f : 0 }'
