#!/usr/bin/env bats
# fl-metrics serve: /metrics over HTTP on loopback (curl): routes, content negotiation, HEAD,
# the port checks, the address bound, FL_METRICS_ENABLED, metrics moving as the followed file
# grows, whole snapshots under concurrent scrapes, a connection flood, and the signals.
#
# The timeout of a half-sent request is proven in test/unit/test_mhttp.c (with a 1 s timeout:
# the tool's 10 s is not an option).
#
# Binaries: $FLKIT_BIN, else build/bin. promtool (Debian prometheus) checks the bodies: the
# tests that need it skip without it, and fail under CI=true.

# SC2030/SC2031: bats runs each test in a subshell on purpose; SC2154: variables set by bats.
# shellcheck disable=SC2030,SC2031,SC2154
bats_require_minimum_version 1.5.0
: "${FLKIT_BIN:=$BATS_TEST_DIRNAME/../${FLKIT_BUILD:-build}/bin}"
load helpers

setup() {
	PORT=$(free_port)
	LOG=$BATS_TEST_TMPDIR/events.log
	ERR=$BATS_TEST_TMPDIR/serve.err
	: >"$LOG"
	SERVE_PID=
}

teardown() {
	if [ -n "$SERVE_PID" ] && kill -0 "$SERVE_PID" 2>/dev/null; then
		kill -TERM "$SERVE_PID"
		wait "$SERVE_PID" || true
	fi
}

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# promtool_clean: stdin passes `promtool check metrics` but for the one lint line the spec's
# name fl_round_total (a gauge) always gets.
promtool_clean() {
	local out
	out=$(promtool check metrics 2>&1) || true
	! grep -v '^fl_round_total non-counter metrics should not have "_total" suffix$' <<<"$out" | grep -q . ||
		{
			echo "$out"
			return 1
		}
}

need_promtool() {
	command -v promtool >/dev/null && return 0
	[ "${CI:-}" = true ] && fail "promtool missing (Debian prometheus): CI=true needs it"
	skip "promtool missing (Debian prometheus)"
}

# fm [NAME=value]... ARGS...: fl-metrics in an environment of only PATH and those variables.
fm() {
	local -a vars=()
	while [ $# -gt 0 ] && [[ $1 =~ ^[A-Za-z_][A-Za-z0-9_]*= ]]; do
		vars+=("$1")
		shift
	done
	env -i PATH="$PATH" "${vars[@]}" "$FLKIT_BIN/fl-metrics" "$@"
}

# start_serve [NAME=value]... [ARGS...]: serve in the background on 127.0.0.1:$PORT following
# $LOG (polled every 0.05 s), metrics enabled; returns once it answers.
start_serve() {
	local -a vars=(FL_METRICS_ENABLED=YES)
	while [ $# -gt 0 ] && [[ $1 =~ ^[A-Za-z_][A-Za-z0-9_]*= ]]; do
		vars+=("$1")
		shift
	done
	# env execs the tool: $! is its pid. fd 3 closed: bats does not wait for it.
	env -i PATH="$PATH" "${vars[@]}" "$FLKIT_BIN/fl-metrics" -E serve --bind 127.0.0.1 --port "$PORT" \
		--follow "$LOG" --poll 0.05 "$@" 2>"$ERR" 3>&- &
	SERVE_PID=$!
	wait_serving
}

wait_serving() { # until GET /metrics is 200 (20 s at most: a guard)
	for _ in $(seq 200); do
		[ "$(get -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/metrics")" = 200 ] && return 0
		kill -0 "$SERVE_PID" 2>/dev/null || break
		sleep 0.1
	done
	cat "$ERR" >&2
	return 1
}

get() { curl --noproxy '*' -s "$@"; }

# wait_for REGEX: until the exposition has a line matching REGEX (20 s at most: a guard).
wait_for() {
	for _ in $(seq 200); do
		get "http://127.0.0.1:$PORT/metrics" | grep -Eq -- "$1" && return 0
		sleep 0.1
	done
	get "http://127.0.0.1:$PORT/metrics" >&2
	return 1
}

event() { # event NAME DATA-JSON: one FL JSON event line
	printf '{"timestamp":"2026-02-09T14:30:05.123Z","level":"INFO","logger":"flwr","event":"%s","data":%s,"message":"x"}\n' "$1" "$2"
}

round_end() { # round_end N
	event round_end "{\"round\":$1,\"num_clients_responded\":4,\"aggregated_loss\":0.2,\"aggregated_accuracy\":0.9,\"round_duration_seconds\":$(($1 % 700)).5}"
}

@test "serve: GET /metrics is 200 with the text format's Content-Type; promtool finds nothing but fl_round_total's name" {
	need_promtool
	event training_start '{"strategy":"FedAvg","num_rounds":3,"min_clients":2}' >>"$LOG"
	start_serve
	wait_for '^fl_round_total\{strategy="FedAvg"\} 3$'
	run get -D "$BATS_TEST_TMPDIR/h" "http://127.0.0.1:$PORT/metrics"
	assert_success
	grep -qix $'content-type: text/plain; version=0.0.4; charset=utf-8\r' "$BATS_TEST_TMPDIR/h"
	grep -qx 'fl_training_status 1' <<<"$output"
	promtool_clean <<<"$output"
}

@test "serve: Accept: application/openmetrics-text gives OpenMetrics, ending in # EOF" {
	start_serve
	run get -D "$BATS_TEST_TMPDIR/h" -H 'Accept: application/openmetrics-text; version=1.0.0' \
		"http://127.0.0.1:$PORT/metrics"
	assert_success
	grep -qi '^content-type: application/openmetrics-text' "$BATS_TEST_TMPDIR/h"
	assert_equal "${lines[-1]}" '# EOF'
	run get "http://127.0.0.1:$PORT/metrics"
	refute_line '# EOF'
}

@test "serve: HEAD /metrics gives the headers (Content-Length of the body) and no body" {
	start_serve
	body=$(get "http://127.0.0.1:$PORT/metrics")
	run get -I "http://127.0.0.1:$PORT/metrics"
	assert_success
	assert_line --partial 'HTTP/1.1 200'
	assert_line --regexp "^Content-Length: $((${#body} + 1))"$'\r$'
	run get -X HEAD --max-time 5 -o "$BATS_TEST_TMPDIR/b" -w '%{size_download}' "http://127.0.0.1:$PORT/metrics"
	assert_output 0
}

@test "serve: GET / is a page linking /metrics; another path is 404; another method is 405 with Allow: GET, HEAD" {
	start_serve
	run get -w '\n%{http_code}' "http://127.0.0.1:$PORT/"
	assert_line --partial 'href="/metrics"'
	assert_line 200
	run get -w '\n%{http_code}' "http://127.0.0.1:$PORT/foo"
	assert_line 404
	run get -D - -o /dev/null -X POST -d x=1 "http://127.0.0.1:$PORT/metrics"
	assert_line --partial 'HTTP/1.1 405'
	assert_line $'Allow: GET, HEAD\r'
	run get -o /dev/null -w '%{http_code}' -X PUT "http://127.0.0.1:$PORT/foo"
	assert_output 405
}

@test "serve: FL_METRICS_PORT=9092 or --port 9092 exits 1 with the spec's message" {
	run --separate-stderr fm FL_METRICS_ENABLED=YES FL_METRICS_PORT=9092 -E serve --bind 127.0.0.1 --follow "$LOG"
	assert_failure 1
	[[ $stderr == *"Invalid FL_METRICS_PORT: '9092'. Must be integer 1024-65535, not 9091-9093."* ]]
	run --separate-stderr fm FL_METRICS_ENABLED=YES -E serve --port 9092 --bind 127.0.0.1 --follow "$LOG"
	assert_failure 1
	[[ $stderr == *"Invalid FL_METRICS_PORT: '9092'. Must be integer 1024-65535, not 9091-9093."* ]]
	run --separate-stderr fm FL_METRICS_ENABLED=YES FL_METRICS_PORT=abc -E serve --bind 127.0.0.1 --follow "$LOG"
	assert_failure 1
	[[ $stderr == *"Invalid FL_METRICS_PORT: 'abc'."* ]]
}

@test "serve: --port 80 exits 1 with the spec's message; --port 0 is a usage error" {
	run --separate-stderr fm FL_METRICS_ENABLED=YES -E serve --port 80 --bind 127.0.0.1 --follow "$LOG"
	assert_failure 1
	[[ $stderr == *"Invalid FL_METRICS_PORT: '80'. Must be integer 1024-65535, not 9091-9093."* ]]
	run --separate-stderr fm FL_METRICS_ENABLED=YES -E serve --port 0 --bind 127.0.0.1 --follow "$LOG"
	assert_failure 2
}

@test "serve: a second serve on the same port exits 1 naming Address already in use; the first goes on" {
	start_serve
	run --separate-stderr fm FL_METRICS_ENABLED=YES -E serve --bind 127.0.0.1 --port "$PORT" --follow "$LOG"
	assert_failure 1
	[[ $stderr == *"127.0.0.1:$PORT: Address already in use: another fl-metrics or the app's own exporter holds it; change FL_METRICS_PORT"* ]]
	run get -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/metrics"
	assert_output 200
}

@test "serve: --bind 127.0.0.1 listens there only: 127.0.0.2 (also loopback) is refused" {
	start_serve
	run get -o /dev/null "http://127.0.0.2:$PORT/metrics"
	assert_failure 7 # curl: could not connect
}

@test "serve: without --bind it listens on the VM address (FLKIT_NET_ADDRS here), not every interface" {
	env -i PATH="$PATH" FL_METRICS_ENABLED=YES FLKIT_NET_ADDRS=127.0.0.3 "$FLKIT_BIN/fl-metrics" -E serve \
		--port "$PORT" --follow "$LOG" 2>"$ERR" 3>&- &
	SERVE_PID=$!
	for _ in $(seq 200); do
		[ "$(get -o /dev/null -w '%{http_code}' "http://127.0.0.3:$PORT/metrics")" = 200 ] && break
		sleep 0.1
	done
	run get -o /dev/null -w '%{http_code}' "http://127.0.0.3:$PORT/metrics"
	assert_output 200
	run get -o /dev/null "http://127.0.0.1:$PORT/metrics"
	assert_failure 7
	grep -q "serving http://127.0.0.3:$PORT/metrics" "$ERR"
}

@test "serve: FL_METRICS_ENABLED=NO exits 0 with the INFO line and serves nothing; --force serves" {
	run --separate-stderr fm FL_METRICS_ENABLED=NO -E serve --bind 127.0.0.1 --port "$PORT" --follow "$LOG"
	assert_success
	[[ $stderr == *"[INFO] [fl-metrics] FL_METRICS_ENABLED is not YES: not serving /metrics (use --force)"* ]]
	run --separate-stderr fm -E serve --bind 127.0.0.1 --port "$PORT" --follow "$LOG"
	assert_success
	start_serve FL_METRICS_ENABLED=NO --force
}

@test "serve: metrics move while serving as lines are appended to the followed file" {
	start_serve
	wait_for '^fl_training_status 0$'
	event training_start '{"strategy":"FedProx","num_rounds":5,"min_clients":2}' >>"$LOG"
	wait_for '^fl_round_total\{strategy="FedProx"\} 5$'
	event round_start '{"round":1,"num_clients_selected":3}' >>"$LOG"
	round_end 1 >>"$LOG"
	wait_for '^fl_round_duration_seconds_count\{strategy="FedProx"\} 1$'
	wait_for '^fl_round_current\{strategy="FedProx"\} 1$'
	printf '%s' "$(round_end 2)" >>"$LOG" # no newline yet: not a line
	sleep 0.3
	run get "http://127.0.0.1:$PORT/metrics"
	assert_line 'fl_round_current{strategy="FedProx"} 1'
	echo >>"$LOG"
	wait_for '^fl_round_current\{strategy="FedProx"\} 2$'
}

@test "serve: 20 concurrent scrapes while 5,000 events are appended: every body is whole" {
	start_serve
	event training_start '{"strategy":"FedAvg","num_rounds":5000,"min_clients":2}' >>"$LOG"
	local dir=$BATS_TEST_TMPDIR/bodies
	mkdir -p "$dir"
	(for i in $(seq 5000); do round_end "$i"; done >>"$LOG") &
	local writer=$!
	local -a pids=()
	for c in $(seq 20); do
		(for i in $(seq 15); do get "http://127.0.0.1:$PORT/metrics" >"$dir/$c.$i"; done) &
		pids+=($!)
	done
	wait "$writer" "${pids[@]}"
	wait_for '^fl_round_duration_seconds_count\{strategy="FedAvg"\} 5000$'
	local n=0 moved=0 f count inf cur
	for f in "$dir"/*; do
		n=$((n + 1))
		[ "$(tail -c 1 "$f" | od -An -c | tr -d ' ')" = '\n' ] || fail "$f does not end in a newline"
		grep -q '^fl_clients_failed_total ' "$f" || fail "$f is not whole"
		count=$(sed -n 's/^fl_round_duration_seconds_count{strategy="FedAvg"} //p' "$f")
		inf=$(sed -n 's/^fl_round_duration_seconds_bucket{le="+Inf",strategy="FedAvg"} //p;s/^fl_round_duration_seconds_bucket{strategy="FedAvg",le="+Inf"} //p' "$f")
		[ "$count" = "$inf" ] || fail "$f: _count $count, +Inf bucket $inf"
		# round_end N sets the round to N and counts one: equal in every whole snapshot.
		cur=$(sed -n 's/^fl_round_current{strategy="FedAvg"} //p' "$f")
		[ "${cur:-0}" = "${count:-0}" ] || fail "$f: round $cur but $count rounds counted"
		[ -z "$count" ] || moved=$((moved + 1))
	done
	assert_equal "$n" 300
	[ "$moved" -gt 0 ]
	if command -v promtool >/dev/null; then
		for f in "$dir"/*; do promtool_clean <"$f" || fail "$f: promtool"; done
	fi
}

@test "serve: a connection flood beyond the connection limit does not stop it; it serves again afterwards" {
	start_serve
	python3 - "$PORT" <<'PY'
import socket, sys
port = int(sys.argv[1])
held = []
for _ in range(400):  # beyond the limit of 128: idle connections, then a half request each
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=2)
        s.send(b"GET /metrics HTTP/1.1\r\nHo")
        held.append(s)
    except OSError:
        break
for s in held:
    s.close()
PY
	kill -0 "$SERVE_PID"
	wait_serving
	run get -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/metrics"
	assert_output 200
}

@test "serve: SIGTERM and SIGINT stop it with exit 0; SIGHUP does not" {
	start_serve
	kill -HUP "$SERVE_PID"
	wait_serving
	kill -TERM "$SERVE_PID"
	local rc=0
	wait "$SERVE_PID" || rc=$?
	assert_equal "$rc" 0
	grep -q 'SIGTERM: stopping' "$ERR"
	start_serve
	kill -INT "$SERVE_PID"
	wait "$SERVE_PID" || rc=$?
	assert_equal "$rc" 0
	grep -q 'SIGINT: stopping' "$ERR"
	SERVE_PID=
}

@test "serve: no source named: the configured state database; missing, it is one WARNING and serving goes on" {
	env -i PATH="$PATH" FL_METRICS_ENABLED=YES FL_DATABASE=state/nope.db "$FLKIT_BIN/fl-metrics" -E serve \
		--bind 127.0.0.1 --port "$PORT" --poll 0.05 2>"$ERR" 3>&- &
	SERVE_PID=$!
	wait_serving
	sleep 0.3 # several polls
	run grep -c 'WARN.*the state database /opt/flower/state/nope.db: No such file or directory' "$ERR"
	assert_output 1
}
