#!/usr/bin/env bats
# fl-metrics --db: the SuperLink state database as a source, on databases built from the SQL of
# real Flower 1.25 and 1.42 runs (test/fixtures/linkdb): what each version gives, and the errors.

# SC2154: bats sets stderr and output.
# shellcheck disable=SC2154
load helpers

L="$FIXTURES/linkdb"
FUTURE=4102444800 # 2100-01-01: online_until that has not passed when the test runs

fm() {
	env -i PATH="$PATH" "$FLKIT_BIN/fl-metrics" --env-only "$@"
}

run_fm() {
	run --separate-stderr fm "$@"
}

# require_sqlite3: skip naming sqlite3 when it is missing (fail under CI=true).
require_sqlite3() {
	command -v sqlite3 >/dev/null && return 0
	[ "${CI:-}" != true ] || { echo "sqlite3 missing (CI=true): install sqlite3" >&2; return 1; }
	skip "sqlite3 missing: install sqlite3 (scripts/bootstrap)"
}

# mkdb VERSION [SQL]: $BATS_TEST_TMPDIR/db/state.db from the fixture, then SQL.
mkdb() {
	require_sqlite3 || return 1
	mkdir -p "$BATS_TEST_TMPDIR/db"
	DB=$BATS_TEST_TMPDIR/db/state.db
	rm -f "$DB"
	{ cat "$L/flower-$1.sql"; printf '%s\n' "${2:-}"; } | sqlite3 "$DB"
}

@test "parse --db: a finished Flower 1.25 run of the demo app gives rounds, loss, status 2 and no SuperNode" {
	mkdb 1.25
	run_fm parse --db "$DB"
	assert_success
	assert_line 'fl_round_current{strategy="FedAvg"} 3'
	assert_line 'fl_round_total{strategy="FedAvg"} 3'
	assert_line 'fl_aggregated_loss{strategy="FedAvg"} 0.5366766077855644'
	assert_line 'fl_round_duration_seconds_count{strategy="FedAvg"} 3'
	assert_line 'fl_training_status 2'
	assert_line 'fl_clients_connected 0'
	assert_line 'fl_clients_registered 0'
	# JSON events and Flower's lines describe the same rounds: counted once.
	assert_line 'fl_metrics_events_total{event="round_end"} 3'
	assert_equal "$stderr" ""
}

@test "parse --db: a finished Flower 1.42 run (status and output in task, task_logs) gives the same" {
	mkdb 1.42
	run_fm parse --db "$DB"
	assert_success
	assert_line 'fl_round_current{strategy="FedAvg"} 3'
	assert_line 'fl_aggregated_loss{strategy="FedAvg"} 0.5366766077855644'
	assert_line 'fl_training_status 2'
	assert_line 'fl_metrics_events_total{event="round_end"} 3'
}

@test "parse --db: an app without JSON events gets its rounds from Flower's own lines" {
	# The demo app with events-enabled=false: only Flower's lines are in the run's output.
	mkdb 1.25 "UPDATE logs SET log = replace(log, '{\"timestamp\"', 'x{');"
	run_fm parse --db "$DB"
	assert_success
	assert_line 'fl_round_current{strategy="FedAvg"} 3'
	assert_line 'fl_round_total{strategy="FedAvg"} 3'
	assert_line 'fl_clients_selected 2'
	assert_line 'fl_clients_responded 2'
	assert_line 'fl_aggregated_accuracy{strategy="FedAvg"} 0.895'
	assert_line 'fl_metrics_events_total{event="round_end"} 3'
	assert_line 'fl_metrics_events_total{event="evaluation_result"} 0'
}

@test "parse --db: SuperNodes online until a future time are connected; a passed online_until is not" {
	mkdb 1.25 "UPDATE node SET status = 'online', online_until = $FUTURE;
		UPDATE node SET online_until = 1 WHERE node_id = -3882942292514061809;
		UPDATE run SET finished_at = '', sub_status = '';"
	run_fm parse --db "$DB"
	assert_success
	assert_line 'fl_clients_connected 1'
	assert_line 'fl_clients_registered 2'
	assert_line 'fl_metrics_events_total{event="client_join"} 1'
	assert_line 'fl_training_status 1'
}

@test "parse --db: a failed run is fl_training_status 3, no run is 0" {
	mkdb 1.42 "UPDATE task SET sub_status = 'failed';"
	run_fm parse --db "$DB"
	assert_success
	assert_line 'fl_training_status 3'
	mkdb 1.25 "DELETE FROM logs; DELETE FROM run;"
	run_fm parse --db "$DB"
	assert_success
	assert_line 'fl_training_status 0'
}

@test "parse --db: a version without a logs table says once what it cannot derive" {
	mkdb 1.25 "DROP TABLE logs;"
	run_fm parse --db "$DB"
	assert_success
	assert_line 'fl_training_status 2'
	[[ $stderr == *"cannot give: rounds, selected, responded, failures and loss (no logs or task_logs table"* ]]
	[ "$(grep -c 'cannot give' <<<"$stderr")" = 1 ]
}

@test "parse --db: a file that is not SQLite is exit 1, named" {
	printf 'INFO :      [ROUND 1/3]\n' >"$BATS_TEST_TMPDIR/log.db"
	run_fm parse --db "$BATS_TEST_TMPDIR/log.db"
	assert_failure 1
	[[ $stderr == *"$BATS_TEST_TMPDIR/log.db is not an SQLite database"* ]]
}

@test "parse --db: an SQLite file that is not Flower's state database is exit 1, named" {
	require_sqlite3
	sqlite3 "$BATS_TEST_TMPDIR/other.db" 'CREATE TABLE t(x)'
	run_fm parse --db "$BATS_TEST_TMPDIR/other.db"
	assert_failure 1
	[[ $stderr == *"other.db is an SQLite database but not Flower's SuperLink state database"* ]]
}

@test "parse --db: a missing file is exit 1, named, and not created" {
	run_fm parse --db "$BATS_TEST_TMPDIR/none.db"
	assert_failure 1
	[[ $stderr == *"none.db: cannot read the SuperLink state database"* ]]
	[ ! -e "$BATS_TEST_TMPDIR/none.db" ]
}

@test "parse --db: reading leaves the database's bytes and directory as they were" {
	mkdb 1.42
	local sum before
	sum=$(sha256sum <"$DB")
	before=$(ls -lA --time-style=full-iso "$BATS_TEST_TMPDIR/db")
	run_fm parse --db "$DB"
	assert_success
	assert_equal "$(sha256sum <"$DB")" "$sum"
	assert_equal "$(ls -lA --time-style=full-iso "$BATS_TEST_TMPDIR/db")" "$before"
}

@test "parse --db with a FILE: the database and the log together" {
	mkdb 1.25 "UPDATE node SET status = 'online', online_until = $FUTURE;"
	run_fm parse --db "$DB" "$FIXTURES/metrics/spec.jsonl"
	assert_success
	assert_line 'fl_clients_connected 2'
	assert_line 'fl_training_status 2'
}

@test "parse FILE: a SuperLink log with Flower's own lines only gives the rounds" {
	grep -v '^{' "$L/serverapp-1.25.log" >"$BATS_TEST_TMPDIR/superlink.log"
	run_fm parse "$BATS_TEST_TMPDIR/superlink.log"
	assert_success
	assert_line 'fl_round_current{strategy="FedAvg"} 3'
	assert_line 'fl_round_total{strategy="FedAvg"} 3'
	assert_line 'fl_aggregated_loss{strategy="FedAvg"} 0.5366766077855644'
	assert_line 'fl_training_status 2'
	assert_line 'fl_metrics_events_total{event="round_end"} 3'
}

@test "parse FILE: a log with the app's JSON events counts each round once, not also from Flower's lines" {
	run_fm parse "$L/serverapp-1.42.log"
	assert_success
	assert_line 'fl_round_current{strategy="FedAvg"} 3'
	assert_line 'fl_metrics_events_total{event="round_start"} 3'
	assert_line 'fl_metrics_events_total{event="round_end"} 3'
	assert_line 'fl_metrics_events_total{event="training_start"} 1'
}

@test "parse --db: a long run's output is read to its end (more rows than one poll reads)" {
	mkdb 1.25 "DELETE FROM logs;
		WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r WHERE i < 2500)
		INSERT INTO logs SELECT 1796324183 + i, -3730709671619866575, 0,
			'INFO :      [ROUND ' || i || '/2500]' || char(10) FROM r;"
	run_fm parse --db "$DB"
	assert_success
	assert_line 'fl_round_current{strategy="FedAvg"} 2500'
	assert_line 'fl_round_total{strategy="FedAvg"} 2500'
}

@test "parse --db with the log of a SuperLink <= 1.26: the ServerApp's events in both count once" {
	# Flower 1.25 writes the ServerApp's output to its own log and to the database's logs table.
	mkdb 1.25
	run_fm parse --db "$DB" "$L/serverapp-1.25.log"
	assert_success
	assert_line 'fl_round_duration_seconds_count{strategy="FedAvg"} 3'
	assert_line 'fl_metrics_events_total{event="round_end"} 3'
	assert_line 'fl_metrics_events_total{event="training_start"} 1'
	assert_line 'fl_metrics_events_duplicate_total 12'
}
