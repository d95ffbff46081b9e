#!/usr/bin/env bats
# fl-metrics show: the training as a person reads it, from event files read once: status and
# round, clients, checkpoints, stalled, loss and accuracy per round with a text chart, the time
# since the last event; --format json; sources that cannot be read.

# SC2154: bats sets stderr and output.
# shellcheck disable=SC2154
load helpers

M="$FIXTURES/metrics"

# fm [NAME=value]... ARGS...: fl-metrics in an empty environment but for those variables.
fm() {
	local -a vars=()
	while [ $# -gt 0 ] && [[ $1 =~ ^[A-Za-z_][A-Za-z0-9_]*= ]]; do
		vars+=("$1")
		shift
	done
	env -i PATH="$PATH" "${vars[@]}" "$FLKIT_BIN/fl-metrics" --env-only "$@"
}

run_fm() {
	run --separate-stderr fm "$@"
}

@test "show: round x of y, clients, checkpoints, then loss and accuracy per round with a # chart" {
	run_fm show --follow "$M/show-2of3.jsonl"
	assert_success
	assert_equal "${#lines[@]}" 7
	assert_line -n 0 'Training: running, round 2 of 3 (FedAvg)'
	assert_line -n 1 'Clients: 2 connected, 2 selected, 2 responded, 0 failed (min 2)'
	assert_line -n 2 'Checkpoints saved: 2'
	assert_line -n 3 'Round  Loss      Accuracy'
	assert_line -n 4 '    1  0.9100    0.5200    ##########'
	assert_line -n 5 '    2  0.6200    0.7100    ##############'
	assert_line -n 6 --regexp '^Last event: [0-9]+ (days|h [0-9]+ min|min|s) ago$'
	assert_equal "$stderr" ''
}

@test "show: a UTF-8 terminal (LANG) gets Unicode block bars, LC_ALL=C gets #" {
	run_fm LANG=C.UTF-8 show --follow "$M/show-2of3.jsonl"
	assert_success
	assert_line -n 4 '    1  0.9100    0.5200    ██████████▍'
	run_fm LANG=C.UTF-8 LC_ALL=C show --follow "$M/show-2of3.jsonl"
	assert_line -n 4 '    1  0.9100    0.5200    ##########'
}

@test "show: a Docker envelope gives the same text as the bare lines" {
	run_fm show --follow "$M/spec.jsonl"
	assert_success
	local bare=$output
	run_fm show --follow "$M/spec-docker.log"
	assert_success
	assert_equal "$(grep -v '^Last event' <<<"$output")" "$(grep -v '^Last event' <<<"$bare")"
	assert_line -n 0 'Training: running, round 1 of 3 (FedAvg)'
}

@test "show: --format json prints the state parse --format json prints" {
	run_fm show --format json --follow "$M/show-2of3.jsonl"
	assert_success
	local shown=$output
	jq -e . <<<"$shown" >/dev/null
	run_fm parse --format json "$M/show-2of3.jsonl"
	assert_success
	# The same state; only the wall clock of the read may differ.
	assert_equal "$(jq -S 'del(.. | .now?)' <<<"$shown")" "$(jq -S 'del(.. | .now?)' <<<"$output")"
}

@test "show: at most the last 20 rounds, and how many are hidden" {
	local r
	for ((r = 1; r <= 25; r++)); do
		printf '{"event":"round_end","data":{"round":%d,"aggregated_loss":%d.5,"aggregated_accuracy":0.%02d}}\n' \
			"$r" $((30 - r)) $((r * 3))
	done >"$BATS_TEST_TMPDIR/long.jsonl"
	run_fm show --follow "$BATS_TEST_TMPDIR/long.jsonl"
	assert_success
	assert_line '(5 earlier rounds not shown)'
	refute_line --regexp '^ +5  '
	assert_line '    6  24.5000   0.1800    ####'
	assert_line '   25  5.5000    0.7500    ###############'
	[ "$(grep -cE '^ +[0-9]+  ' <<<"$output")" -eq 20 ]
}

@test "show: a stalled round is a warning line; a failed client counts" {
	{
		cat "$M/show-2of3.jsonl"
		echo '{"event":"round_start","data":{"round":3,"num_clients_selected":2}}'
		echo '{"event":"client_failure","data":{"round":3,"node_id":"b","error_type":"Timeout"}}'
		echo '{"event":"training_stalled","data":{"round":3}}'
	} >"$BATS_TEST_TMPDIR/stalled.jsonl"
	run_fm show --follow "$BATS_TEST_TMPDIR/stalled.jsonl"
	assert_success
	assert_line -n 0 'Training: running, round 3 of 3 (FedAvg)'
	assert_line --partial ' 1 failed'
	assert_line --regexp '^Warning: training stalled in round 3'
}

@test "show: nothing happened yet: not started, no round, no event" {
	: >"$BATS_TEST_TMPDIR/empty.log"
	run_fm show --follow "$BATS_TEST_TMPDIR/empty.log" --strategy FedProx
	assert_success
	assert_output 'Training: not started (FedProx)
Clients: 0 connected, 0 selected, 0 responded, 0 failed
Checkpoints saved: 0
No round has ended yet.
No event yet.'
}

@test "show: hostile input (garbage, NUL bytes, a truncated line, a 2 MiB line) is skipped, the rest shown" {
	local f=$BATS_TEST_TMPDIR/hostile.log
	{
		cat "$M/mixed.log"
		printf 'a\0b\0{"event":\n'
		head -c 2097152 /dev/zero | tr '\0' x
		echo
		cat "$M/show-2of3.jsonl"
		printf '{"event":"round_end","data":{"round":9'
	} >"$f"
	run_fm show --follow "$f"
	assert_success
	assert_line -n 0 'Training: running, round 2 of 3 (FedAvg)'
	assert_line '    2  0.6200    0.7100    ##############'
}

@test "show: no source can be read: exit 1 naming each, and the fix" {
	run_fm show --follow "$BATS_TEST_TMPDIR/nope.log" --db "$BATS_TEST_TMPDIR/nope.db"
	assert_failure 1
	assert_output ''
	assert_stderr_contains "$BATS_TEST_TMPDIR/nope.log: cannot read the log: No such file or directory"
	assert_stderr_contains "$BATS_TEST_TMPDIR/nope.db: cannot read the state database"
	assert_stderr_contains "no source could be read"
	assert_stderr_contains "--follow FILE"
}

@test "show: without --follow or --db, the configuration's state database (FLOWER_DIR/FL_DATABASE)" {
	[ ! -e /opt/flower/state/other.db ] || skip "this machine has /opt/flower/state/other.db"
	run_fm FL_DATABASE=state/other.db show
	assert_failure 1
	assert_stderr_contains "/opt/flower/state/other.db: cannot read the state database"
}

@test "show: one readable source of two is enough (the other is a warning)" {
	run_fm show --follow "$BATS_TEST_TMPDIR/nope.log" --follow "$M/show-2of3.jsonl"
	assert_success
	assert_stderr_contains "nope.log: cannot read the log"
	assert_line -n 0 'Training: running, round 2 of 3 (FedAvg)'
}

@test "show: --format other than text or json is a usage error" {
	run_fm show --format yaml --follow "$M/show-2of3.jsonl"
	assert_failure 2
	assert_stderr_contains "--format 'yaml' is not text or json"
}
