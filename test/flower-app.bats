#!/usr/bin/env bats
# The demo Flower app's checkpoints (share/flower-app/flkit_app/checkpoint.py): saved by
# fl-ckpt's commit protocol (round file, manifest entry, latest link, metadata, under
# .fl-ckpt.lock) and resumed with `fl-ckpt latest --fallback` semantics. Each case runs one
# check of test/flower_app_checkpoint_test.py in the project venv's Python.

# shellcheck disable=SC2154 # status, output and stderr are set by bats run
load helpers

setup() {
	require_flwr
	CK=$BATS_TEST_TMPDIR/ck
}

# ckpt ARGS...: fl-ckpt on $CK succeeds (its stderr apart).
ckpt() {
	run --separate-stderr "$FLKIT_BIN/fl-ckpt" --dir "$CK" "$@"
	[ "$status" -eq 0 ] || printf '%s\n' "$stderr" >&2
	assert_success
}

# check CASE: the Python check CASE on $CK passes.
check() {
	run --separate-stderr "$FLWR_PY" -B "$BATS_TEST_DIRNAME/flower_app_checkpoint_test.py" "$1" "$CK"
	[ "$status" -eq 0 ] || printf '%s\n' "$stderr" >&2
	assert_success
	assert_output ok
}

@test "save: the round file is np.savez's bytes, its manifest entry holds size, SHA-256, arrays, time and metrics" {
	check commit
	# The entry's hash is the file's, as sha256sum computes it.
	run jq -r '.rounds[0].sha256' "$CK/checkpoint_manifest.json"
	assert_output "$(sha256sum "$CK/checkpoint_round_3.npz" | cut -d' ' -f1)"
	run jq -r '.rounds[0].size' "$CK/checkpoint_manifest.json"
	assert_output "$(stat -c %s "$CK/checkpoint_round_3.npz")"
	assert_equal "$(readlink "$CK/checkpoint_latest.npz")" checkpoint_round_3.npz
	# fl-ckpt reads what the saver committed: verified against the manifest, metrics listed.
	ckpt verify --all
	assert_output --partial "checkpoint_round_3.npz	ok	3 arrays"
	ckpt list --json
	run jq -e '.[0] | .round == 3 and .committed and .latest and .valid' <<<"$output"
	assert_success
}

@test "save: the manifest and round file are the fixtures libfl parses, formats back and verifies" {
	# test/unit/test_manifest_saver.c reads the same fixtures with fl_manifest_parse,
	# fl_manifest_format and fl_npz_verify.
	check fixture
	local build=${FLKIT_BUILD:-build}
	[[ $build == /* ]] || build=$FLKIT_SRC/$build
	[ -x "$build/test/test_manifest_saver" ] || skip "$build/test/test_manifest_saver is not built (make all)"
	cd "$FLKIT_SRC"
	run "$build/test/test_manifest_saver"
	assert_success
	refute_output --partial "not ok"
}

@test "resume: 12 arrays come back in numeric order (arr_10 after arr_9)" {
	check numeric_order
}

@test "resume: a corrupted, truncated or missing newest round is skipped for the previous committed round" {
	check corrupt_newest
	# fl-ckpt latest --fallback makes the same choice.
	ckpt latest --fallback
	assert_output "4	$CK/checkpoint_round_4.npz"
}

@test "resume: an uncommitted newest file (no manifest entry) is skipped, even as the link's target" {
	check uncommitted_newest
	ckpt latest --fallback
	assert_output "5	$CK/checkpoint_round_5.npz"
}

@test "resume: the latest link's committed round comes first (a later run restarted its rounds at 1)" {
	check latest_link_first
}

@test "resume: a spec-layout directory (no manifest) resumes from the latest link with a warning" {
	check spec_layout
}

@test "save: a stale temp of a dead pid is removed, a live writer's stays" {
	check stale_temps
}

@test "save: a concurrent holder of .fl-ckpt.lock makes save wait; a bounded wait gives up saying how to find the holder" {
	check lock_wait
}

@test "save: kill -9 at random points, 20 times, always leaves a loadable committed latest" {
	check kill9
	ckpt verify --all
	ckpt latest
}

@test "save: a kill before each file-system call of a save leaves the old round or the new one, whole, and the next save cleans up" {
	check kill_points
	local d
	for d in "$CK"/[0-9]*; do
		run "$FLKIT_BIN/fl-ckpt" --dir "$d" verify --all
		assert_success
	done
}

@test "save: saving the latest link's own round again, a kill before each file-system call never leaves the link on an uncommitted round" {
	check kill_points_resave
}

@test "save: checkpoint-keep K prunes like fl-ckpt prune --keep K (never the latest target nor the highest round)" {
	check retention
}

@test "manifest: malformed, truncated, oversized and hostile manifests are refused with the reason" {
	check hostile_manifest
}

@test "save: symlinks planted for the lock or the manifest are refused, never followed" {
	check symlinks
}

@test "save: the saver and fl-ckpt share .fl-ckpt.lock: fl-ckpt prune gives up with exit 4 while a save holds it" {
	check commit
	# A saver stopped inside its commit, holding the lock, until released.
	"$FLWR_PY" -B - "$FLKIT_SRC/share/flower-app" "$CK" <<'PY' &
import os, sys, time
sys.path.insert(0, sys.argv[1])
from flkit_app import checkpoint as c
d = sys.argv[2]
dfd = c._open_dir(d)
lfd = c._lock(dfd, d, 60)
open(os.path.join(d, "..", "held"), "w").close()
while not os.path.exists(os.path.join(d, "..", "release")):
    time.sleep(0.05)
PY
	local saver=$!
	while [ ! -e "$BATS_TEST_TMPDIR/held" ]; do
		kill -0 "$saver" || fail "the saver died before taking the lock"
		sleep 0.05
	done
	run --separate-stderr "$FLKIT_BIN/fl-ckpt" --dir "$CK" --lock-timeout 0 prune --keep 1
	touch "$BATS_TEST_TMPDIR/release"
	wait "$saver"
	assert_failure 4
	[[ $stderr == *".fl-ckpt.lock"* ]]
}

@test "save: a temp file a killed saver left is removed by the next fl-ckpt command that mutates" {
	check commit
	local dead
	dead=$(sh -c 'echo $$')
	printf partial >"$CK/.fl-ckpt.$dead.0123456789abcdef.tmp"
	ckpt prune --keep 5
	[ ! -e "$CK/.fl-ckpt.$dead.0123456789abcdef.tmp" ]
	ckpt verify --all
}

@test "events: run-config events-enabled=false silences every JSON event; true (the default) emits them" {
	run --separate-stderr "$FLWR_PY" -B -c '
import sys
sys.path.insert(0, sys.argv[1])
from flkit_app import events, server_app
events.emit("round_start", {"round": 1, "num_clients_selected": 2})
events.set_enabled(server_app._flag("false"))
events.emit("round_start", {"round": 2, "num_clients_selected": 2})
events.set_enabled(server_app._flag(True))
events.emit("round_start", {"round": 3, "num_clients_selected": 2})
' "$BATS_TEST_DIRNAME/../share/flower-app"
	assert_success
	[[ $stderr == *'"round":1'* ]]
	[[ $stderr != *'"round":2'* ]]
	[[ $stderr == *'"round":3'* ]]
	grep -q '^events-enabled = true$' "$BATS_TEST_DIRNAME/../share/flower-app/pyproject.toml"
}
