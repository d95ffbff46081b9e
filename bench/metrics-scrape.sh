#!/usr/bin/env bash
# metrics-scrape.sh: scrape latency of `fl-metrics serve` under load: wrk with BENCH_CONNS
# connections (default 100) on 2 threads for BENCH_SECONDS (default 10) against /metrics on
# loopback, while a writer appends BENCH_RATE events a second (default 1000: round_end with a
# histogram observation, client_failure) to the followed file and serve polls it every 0.1 s
# (each poll that read lines renders and swaps a snapshot). Prints requests/s, p50 and p99.
#
# The same wrk run against the spec's exporter for comparison: prometheus_client's
# start_http_server with the spec's 11 metrics when .venv's python has prometheus_client,
# else (and the output says so) python3's http.server serving the same exposition as a static
# file. The ratio column is fl-metrics / reference. Goal: fl-metrics p99 under 5 ms.
#
# Environment: FLKIT_BIN (default build/bin), BENCH_CONNS, BENCH_SECONDS, BENCH_RATE,
# BENCH_OUT (wrk outputs; default the build directory's bench/).
set -u
cd "$(dirname "$0")/.." || exit 1

# shellcheck source=bench/lib.sh
. bench/lib.sh
bench_setup metrics-scrape.sh fl-metrics "wrk python3 curl" "wrk python3 curl"
conns=${BENCH_CONNS:-100} secs=${BENCH_SECONDS:-10} rate=${BENCH_RATE:-1000}
export LC_ALL=C
work=$(mktemp -d "$out/metrics-scrape.XXXXXX") || exit 1
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	rm -rf "$work"
}
trap cleanup EXIT

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_200() { # wait_200 URL: up to 20 s
	for _ in $(seq 200); do
		[ "$(curl --noproxy '*' -s -o /dev/null -w '%{http_code}' "$1")" = 200 ] && return 0
		sleep 0.1
	done
	echo "metrics-scrape.sh: nothing serves $1" >&2
	exit 1
}

# ms VALUE: a wrk latency (850.00us, 1.20ms, 1.01s) in milliseconds.
ms() {
	awk -v v="$1" 'BEGIN { n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
		if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000
		printf "%.3f", n }'
}

# bench NAME URL: wrk against URL; sets rps, p50, p99 (ms).
bench() {
	local f=$out/metrics-scrape-$1.txt
	if ! wrk -t2 -c"$conns" -d"${secs}s" --latency "$2" >"$f" 2>&1; then
		cat "$f" >&2
		exit 1
	fi
	rps=$(awk '/^Requests\/sec:/ { print $2 }' "$f")
	p50=$(ms "$(awk '$1 == "50%" { print $2 }' "$f")")
	p99=$(ms "$(awk '$1 == "99%" { print $2 }' "$f")")
	local errs
	errs=$(awk '/Non-2xx|Socket errors/' "$f")
	[ -z "$errs" ] || echo "# $1: $errs"
}

echo "# $(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) CPU(s): $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
echo "# $(uname -sr); $(wrk -v 2>&1 | head -n 1); $conns connections, ${secs} s, writer $rate events/s"

log=$work/events.log
: >"$log"
port=$(free_port)
env -i PATH="$PATH" FL_METRICS_ENABLED=YES "$fl" -E serve --bind 127.0.0.1 --port "$port" --follow "$log" \
	--poll 0.1 2>"$work/serve.err" &
pids+=($!)
wait_200 "http://127.0.0.1:$port/metrics"
printf '{"event":"training_start","data":{"strategy":"FedAvg","num_rounds":1000000,"min_clients":2}}\n' >>"$log"

python3 - "$log" "$rate" <<'PY' &
import sys, time
path, rate = sys.argv[1], int(sys.argv[2])
r = 0
with open(path, "a", buffering=1) as f:
    while True:
        t = time.monotonic()
        for _ in range(max(rate // 10, 1)):
            r += 1
            f.write('{"event":"round_end","data":{"round":%d,"num_clients_responded":4,'
                    '"aggregated_loss":0.25,"aggregated_accuracy":0.9,"round_duration_seconds":%d.5}}\n'
                    % (r, r % 700))
            if r % 50 == 0:
                f.write('{"event":"client_failure","data":{"node_id":"n%d","error_type":"timeout"}}\n' % r)
        time.sleep(max(0.0, 0.1 - (time.monotonic() - t)))
PY
pids+=($!)
sleep 1
bench fl-metrics "http://127.0.0.1:$port/metrics"
fl_rps=$rps fl_p50=$p50 fl_p99=$p99
body=$(curl --noproxy '*' -s "http://127.0.0.1:$port/metrics")
rounds=$(sed -n 's/^fl_round_duration_seconds_count{strategy="FedAvg"} //p' <<<"$body")
echo "# fl-metrics: $rounds rounds applied by the end, body $(wc -c <<<"$body") bytes"

rport=$(free_port)
py=.venv/bin/python
if [ -x "$py" ] && "$py" -c 'import prometheus_client' 2>/dev/null; then
	ref="prometheus_client"
	"$py" - "$rport" <<'PY' &
import sys, time
from prometheus_client import Counter, Gauge, Histogram, start_http_server
s = "FedAvg"
Gauge("fl_round_current", "Current training round", ["strategy"]).labels(s).set(3)
Gauge("fl_round_total", "Total configured rounds", ["strategy"]).labels(s).set(10)
Gauge("fl_clients_connected", "Number of connected SuperNodes").set(4)
Gauge("fl_clients_selected", "Clients selected for current round").set(4)
Gauge("fl_clients_responded", "Clients that responded in current round").set(4)
Counter("fl_clients_failed", "Total client failures")
Gauge("fl_aggregated_loss", "Aggregated loss from last round", ["strategy"]).labels(s).set(0.25)
Gauge("fl_aggregated_accuracy", "Aggregated accuracy from last round", ["strategy"]).labels(s).set(0.9)
h = Histogram("fl_round_duration_seconds", "Duration of training rounds", ["strategy"],
              buckets=[1, 5, 10, 30, 60, 120, 300, 600])
h.labels(s).observe(12.5)
Gauge("fl_training_status", "Training status: 0=idle, 1=running, 2=complete, 3=failed").set(1)
Counter("fl_checkpoint_saved", "Total checkpoints saved")
start_http_server(int(sys.argv[1]), addr="127.0.0.1")
while True:
    time.sleep(3600)
PY
	pids+=($!)
else
	ref="python3 http.server (static file; prometheus_client is not in .venv)"
	mkdir -p "$work/static"
	printf '%s\n' "$body" >"$work/static/metrics"
	python3 -m http.server --bind 127.0.0.1 --directory "$work/static" "$rport" >/dev/null 2>&1 &
	pids+=($!)
fi
wait_200 "http://127.0.0.1:$rport/metrics"
bench reference "http://127.0.0.1:$rport/metrics"

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "-" }'; }
echo "# reference: $ref"
echo
printf '%-12s %12s %10s %10s\n' "" "requests/s" "p50 ms" "p99 ms"
printf '%-12s %12s %10s %10s\n' fl-metrics "$fl_rps" "$fl_p50" "$fl_p99"
printf '%-12s %12s %10s %10s\n' reference "$rps" "$p50" "$p99"
printf '%-12s %12s %10s %10s\n' ratio "$(ratio "$fl_rps" "$rps")" "$(ratio "$fl_p50" "$p50")" "$(ratio "$fl_p99" "$p99")"
awk -v p="$fl_p99" 'BEGIN { exit !(p < 5) }' && echo "# goal met: fl-metrics p99 $fl_p99 ms < 5 ms" ||
	echo "# goal missed: fl-metrics p99 $fl_p99 ms >= 5 ms"
