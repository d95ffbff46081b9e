#!/usr/bin/env bats
# fl-metrics: the exposition read from event lines (FL JSON or Docker json-file envelopes), the
# parse verb's formats and errors (design 04 §8.3 "Tests" 1-6 end to end).

# SC2016: $ in single quotes is for the inner shell; SC2154: bats sets stderr and output.
# shellcheck disable=SC2016,SC2154
load helpers

M="$FIXTURES/metrics"

# fm ARGS...: fl-metrics in an empty environment (no FL_* of the caller), the environment alone.
fm() {
	env -i PATH="$PATH" "$FLKIT_BIN/fl-metrics" --env-only "$@"
}

run_fm() {
	run --separate-stderr fm "$@"
}

# require_promtool: skip naming promtool when it is missing (fail under CI=true).
require_promtool() {
	command -v promtool >/dev/null && return 0
	[ "${CI:-}" != true ] || { echo "promtool missing (CI=true): install prometheus" >&2; return 1; }
	skip "promtool missing: install prometheus (scripts/bootstrap)"
}

# promtool_clean: stdin passes `promtool check metrics` but for the one lint line the spec's
# name fl_round_total (a gauge) always gets.
promtool_clean() {
	local out
	out=$(promtool check metrics 2>&1) || true
	! grep -v '^fl_round_total non-counter metrics should not have "_total" suffix$' <<<"$out" | grep -q . ||
		{ echo "$out"; return 1; }
}

@test "parse: the spec's example gives the spec's exposition (design 04 §8.3 test 1)" {
	run_fm parse "$M/spec.jsonl"
	assert_success
	local want
	for want in \
		'fl_training_status 1' \
		'fl_round_total{strategy="FedAvg"} 3' \
		'fl_round_current{strategy="FedAvg"} 1' \
		'fl_clients_selected 2' \
		'fl_clients_responded 2' \
		'fl_aggregated_loss{strategy="FedAvg"} 0.5' \
		'fl_aggregated_accuracy{strategy="FedAvg"} 0.8' \
		'fl_round_duration_seconds_bucket{strategy="FedAvg",le="1.0"} 0' \
		'fl_round_duration_seconds_bucket{strategy="FedAvg",le="5.0"} 0' \
		'fl_round_duration_seconds_bucket{strategy="FedAvg",le="10.0"} 0' \
		'fl_round_duration_seconds_bucket{strategy="FedAvg",le="30.0"} 1' \
		'fl_round_duration_seconds_bucket{strategy="FedAvg",le="60.0"} 1' \
		'fl_round_duration_seconds_bucket{strategy="FedAvg",le="120.0"} 1' \
		'fl_round_duration_seconds_bucket{strategy="FedAvg",le="300.0"} 1' \
		'fl_round_duration_seconds_bucket{strategy="FedAvg",le="600.0"} 1' \
		'fl_round_duration_seconds_bucket{strategy="FedAvg",le="+Inf"} 1' \
		'fl_round_duration_seconds_sum{strategy="FedAvg"} 12.45' \
		'fl_round_duration_seconds_count{strategy="FedAvg"} 1' \
		'# TYPE fl_clients_failed_total counter' \
		'fl_clients_failed_total 0' \
		'# TYPE fl_checkpoint_saved_total counter' \
		'fl_checkpoint_saved_total 0' \
		'fl_clients_connected 0' \
		'# HELP fl_training_status Training status: 0=idle, 1=running, 2=complete, 3=failed'; do
		grep -qxF -- "$want" <<<"$output" || { echo "missing: $want"; echo "$output"; false; }
	done
	assert_equal "$stderr" ""
}

@test "parse: a Docker envelope gives the same exposition as the bare line (test 2)" {
	run_fm parse "$M/spec.jsonl"
	local bare=$output
	run_fm parse "$M/spec-docker.log"
	assert_success
	assert_equal "$output" "$bare"
}

@test "parse: text lines and garbage are skipped and counted, never an error (test 3)" {
	run_fm parse "$M/mixed.log"
	assert_success
	assert_line 'fl_metrics_lines_total 10'
	assert_line 'fl_metrics_lines_skipped_total{reason="not_json"} 4'
	assert_line 'fl_metrics_lines_skipped_total{reason="no_event"} 1'
	assert_line 'fl_metrics_lines_skipped_total{reason="unknown_event"} 1'
	assert_line 'fl_metrics_lines_skipped_total{reason="malformed"} 3'
	assert_line 'fl_clients_failed_total 1'
	# Flower's own line "Starting Flower ServerApp, config: num_rounds=3" (before any JSON event)
	# is a training_start (fl_flowerlog).
	assert_line 'fl_training_status 1'
}

@test "parse: standard input when no FILE is named, and - names it" {
	run --separate-stderr bash -c 'env -i PATH="$PATH" "$1/fl-metrics" -E parse <"$2"' _ "$FLKIT_BIN" "$M/spec.jsonl"
	assert_success
	assert_line 'fl_round_current{strategy="FedAvg"} 1'
	run --separate-stderr bash -c 'env -i PATH="$PATH" "$1/fl-metrics" -E parse - <"$2"' _ "$FLKIT_BIN" "$M/spec.jsonl"
	assert_success
	assert_line 'fl_round_current{strategy="FedAvg"} 1'
}

@test "parse: join A, join B, leave A, leave A leaves one client connected (test 4)" {
	printf '%s\n' '{"event":"client_join","data":{"node_id":"A"}}' '{"event":"client_join","data":{"node_id":"B"}}' \
		'{"event":"client_leave","data":{"node_id":"A"}}' '{"event":"client_leave","data":{"node_id":"A"}}' \
		'{"event":"client_join","data":{"node_id":"B"}}' >"$BATS_TEST_TMPDIR/l"
	run_fm parse "$BATS_TEST_TMPDIR/l"
	assert_success
	assert_line 'fl_clients_connected 1'
}

@test "parse: three client failures count 3, training_end sets status 2 (tests 5, 6)" {
	{
		cat "$M/spec.jsonl"
		for n in 1 2 3; do
			printf '{"event":"client_failure","data":{"round":1,"node_id":%d,"error_type":"X"}}\n' "$n"
		done
		echo '{"event":"training_end","data":{"total_rounds":3,"final_loss":0.25,"final_accuracy":0.9}}'
	} >"$BATS_TEST_TMPDIR/l"
	run_fm parse "$BATS_TEST_TMPDIR/l"
	assert_success
	assert_line 'fl_clients_failed_total 3'
	assert_line 'fl_training_status 2'
	assert_line 'fl_round_current{strategy="FedAvg"} 3'
	assert_line 'fl_aggregated_loss{strategy="FedAvg"} 0.25'
}

@test "parse: before any event labeled families show only HELP and TYPE, the others 0" {
	: >"$BATS_TEST_TMPDIR/empty"
	run_fm parse "$BATS_TEST_TMPDIR/empty"
	assert_success
	refute_line --regexp '^fl_round_(current|total)\{'
	refute_line --regexp '^fl_round_duration_seconds_'
	refute_line --regexp '^fl_aggregated_'
	assert_line '# TYPE fl_round_current gauge'
	assert_line 'fl_clients_connected 0'
	assert_line 'fl_training_status 0'
}

@test "parse: --strategy is the label until an event names one; --mark-failed is status 3" {
	echo '{"event":"round_end","data":{"round":2,"aggregated_loss":1e-7}}' >"$BATS_TEST_TMPDIR/l"
	run_fm parse --strategy 'Fed"Prox' --mark-failed "$BATS_TEST_TMPDIR/l"
	assert_success
	assert_line 'fl_round_current{strategy="Fed\"Prox"} 2'
	assert_line 'fl_aggregated_loss{strategy="Fed\"Prox"} 1e-07'
	assert_line 'fl_training_status 3'
	run_fm parse "$M/spec.jsonl"
	assert_line 'fl_round_current{strategy="FedAvg"} 1'
}

@test "parse: the strategy label defaults to FL_STRATEGY of the environment" {
	echo '{"event":"round_start","data":{"round":1}}' >"$BATS_TEST_TMPDIR/l"
	run --separate-stderr env -i PATH="$PATH" FL_STRATEGY=Krum "$FLKIT_BIN/fl-metrics" parse "$BATS_TEST_TMPDIR/l"
	assert_success
	assert_line 'fl_round_current{strategy="Krum"} 1'
}

@test "parse: promtool check metrics finds nothing but the spec's fl_round_total name" {
	require_promtool
	fm parse "$M/spec.jsonl" | promtool_clean
	fm parse "$M/mixed.log" | promtool_clean
	fm parse - </dev/null | promtool_clean
}

@test "parse: --format openmetrics names the counters without _total and ends in # EOF" {
	run_fm parse --format openmetrics "$M/spec.jsonl"
	assert_success
	assert_line '# TYPE fl_clients_failed counter'
	assert_line 'fl_clients_failed_total 0'
	assert_line '# TYPE fl_checkpoint_saved counter'
	assert_line 'fl_checkpoint_saved_total 0'
	assert_equal "${lines[-1]}" '# EOF'
	refute_line '# TYPE fl_clients_failed_total counter'
}

@test "parse: --format json holds the values and the rounds" {
	run_fm parse --format json "$M/spec.jsonl"
	assert_success
	assert_equal "$(jq -r '[.status, .round_current, .round_total, .loss, .history[0].duration] | @tsv' <<<"$output")" \
		"$(printf 'running\t1\t3\t0.5\t12.45')"
}

@test "parse: an unknown --format is a usage error naming the three" {
	run_fm parse --format yaml "$M/spec.jsonl"
	assert_failure 2
	assert_equal "$output" ""
	[[ $stderr == *"--format 'yaml' is not prom, openmetrics or json"* ]]
}

@test "parse: a FILE that cannot be read is exit 1, named" {
	run_fm parse "$M/spec.jsonl" "$BATS_TEST_TMPDIR/missing.log"
	assert_failure 1
	assert_equal "$output" ""
	[[ $stderr == *"$BATS_TEST_TMPDIR/missing.log: cannot read the log"* ]]
	run_fm parse "$BATS_TEST_TMPDIR"
	assert_failure 1
	[[ $stderr == *"is a directory"* ]]
	if [ "$(id -u)" != 0 ]; then
		cp "$M/spec.jsonl" "$BATS_TEST_TMPDIR/secret.log"
		chmod 000 "$BATS_TEST_TMPDIR/secret.log"
		run_fm parse "$BATS_TEST_TMPDIR/secret.log"
		assert_failure 1
		[[ $stderr == *"$BATS_TEST_TMPDIR/secret.log: cannot open the log: Permission denied"* ]]
	fi
	ln -s "$M/spec.jsonl" "$BATS_TEST_TMPDIR/link"
	run_fm parse "$BATS_TEST_TMPDIR/link"
	assert_failure 1
	[[ $stderr == *"symbolic link"* ]]
}

@test "parse: -h shows the four verbs and the options of parse" {
	run_fm -h
	assert_success
	assert_output --partial 'fl-metrics [options] parse [--format prom|openmetrics|json]'
	assert_output --partial '--mark-failed'
	run_fm parse --port 9101
	assert_failure 2
}
