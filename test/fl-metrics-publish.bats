#!/usr/bin/env bats
# fl-metrics publish against the OneGate emulator: the initial PUTs (one attribute each, form
# body, both headers), change-only with the periodic refresh, the rate bound on a flapping
# log, an outage and a refused token (warnings, no exit, recovery), --once's exit codes, the
# SuperLink refused, DISCONNECTED when the SuperNode's process dies. Daemons run with short
# --poll and the shortest --interval (5 s); waits are bounded guards, never assertions.

# shellcheck disable=SC2030,SC2031 # PUB_PID is per test: bats runs each in a subshell
bats_require_minimum_version 1.5.0

setup_file() {
	load onegate/lib
	export BIN="${FLKIT_BIN:-$BATS_TEST_DIRNAME/../build/bin}"
	og_start "$OG_FIXTURES/world-flower.json"
	export F_PID=$OG_PID OG_URL
	export T101 TBAD
	T101=$(og_token "$OG_FIXTURES/world-flower.json" 101)
	TBAD=$(python3 "$OG_EMULATOR" --make-token 101:1700009999)
	export ENV101=$BATS_FILE_TMPDIR/env101 ENVBAD=$BATS_FILE_TMPDIR/envbad ENVDOWN=$BATS_FILE_TMPDIR/envdown
	og_env "$ENV101" "$T101" 101 "$OG_URL"
	og_env "$ENVBAD" "$TBAD" 101 "$OG_URL"
	local down
	down=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	og_env "$ENVDOWN" "$T101" 101 "http://127.0.0.1:$down"
}

teardown_file() {
	kill "$F_PID" 2>/dev/null || true
}

setup() {
	load onegate/lib
	og_ctl POST reset >/dev/null
	LOG=$BATS_TEST_TMPDIR/supernode.log
	ERR=$BATS_TEST_TMPDIR/stderr
	PUB_PID=
	FAKE_PID=
}

teardown() {
	[ -n "${PUB_PID:-}" ] && kill "$PUB_PID" 2>/dev/null
	[ -n "${FAKE_PID:-}" ] && kill "$FAKE_PID" 2>/dev/null
	local t
	for t in "$T101" "$TBAD"; do
		if [[ "${output:-}" == *"$t"* || "${stderr:-}" == *"$t"* ]] || grep -qF "$t" "$ERR" 2>/dev/null; then
			echo "a OneGate token leaked into the output" >&2
			return 1
		fi
	done
}

# pub ENVFILE ARGS...: fl-metrics publish with only that one_env.
pub() {
	local envf=$1
	shift
	env -i PATH="$PATH" timeout 60 "$BIN/fl-metrics" -c "$envf" publish "$@"
}

# pub_bg ENVFILE ARGS...: the daemon in the background (stderr to $ERR); PUB_PID.
pub_bg() {
	local envf=$1
	shift
	env -i PATH="$PATH" "$BIN/fl-metrics" -c "$envf" publish "$@" 2>"$ERR" 3>&- &
	PUB_PID=$!
}

# The SuperNode's output, as Flower prints it.
started() { printf 'INFO :      Starting Flower SuperNode\n' >>"$LOG"; }
registered() { printf 'INFO :      SuperNode ID: 8119443921573957379\n' >>"$LOG"; }
train() { printf 'INFO :      [RUN 4410, ROUND %s]\nINFO :      Receiving: train message (ID: 6bd2)\n' "$1" >>"$LOG"; }
replied() { printf 'INFO :      Sending: train message (ID: 77aa)\nINFO :      Sent successfully\n' >>"$LOG"; }

# attr NAME: VM 101's attribute in the emulator ("" when absent).
attr() { og_ctl GET state | jq -r --arg k "$1" '.vms["101"][$k] // ""'; }
# nput: the PUTs the emulator received.
nput() { og_requests '[.[] | select(.method == "PUT")] | length'; }

# wait_for CMD...: until CMD succeeds, 20 s at most (a guard against a hang).
wait_for() {
	local i
	for ((i = 0; i < 200; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	echo "timed out waiting for: $*" >&2
	return 1
}
attr_is() { [ "$(attr "$1")" = "$2" ]; }
nput_ge() { [ "$(nput)" -ge "$1" ]; }
err_has() { grep -qF -- "$1" "$ERR"; }

@test "publish --once: FL_CLIENT_STATUS and FL_TRAINING_ACTIVE, each in its own PUT /vm, form body, both headers" {
	started
	registered
	run --separate-stderr pub "$ENV101" --once --log "$LOG"
	[ "$status" -eq 0 ]
	run og_requests '.[] | [.method, .path, .content_type, .body, .vmid, .has_token, .token_ok, .status]'
	[ "${lines[0]}" = '["PUT","/vm","application/x-www-form-urlencoded","data=FL_CLIENT_STATUS%3D1&type=1","101",true,true,200]' ]
	[ "${lines[1]}" = '["PUT","/vm","application/x-www-form-urlencoded","data=FL_TRAINING_ACTIVE%3D0&type=1","101",true,true,200]' ]
	[ "${#lines[@]}" -eq 2 ]
	attr_is FL_CLIENT_STATUS 1
	attr_is FL_TRAINING_ACTIVE 0
}

@test "publish --once: the state from a Docker json-file log: TRAINING 2, active 1, the last round taken part in" {
	local l
	for l in 'INFO :      Starting Flower SuperNode' 'INFO :      SuperNode ID: 77' \
		'INFO :      [RUN 9, ROUND 1]' 'INFO :      Receiving: train message (ID: 1)' \
		'INFO :      Sent successfully' 'INFO :      [RUN 9, ROUND 2]' \
		'\u001b[92mINFO \u001b[0m:      Received: evaluate message 2'; do
		printf '{"log":"%s\\n","stream":"stderr","time":"2026-12-03T07:00:00.1Z"}\n' "$l" >>"$LOG"
	done
	run --separate-stderr pub "$ENV101" --once --log "$LOG"
	[ "$status" -eq 0 ]
	attr_is FL_CLIENT_STATUS 2
	attr_is FL_TRAINING_ACTIVE 1
	attr_is FL_ROUND_NUMBER 1
}

@test "publish --once: not registered since its last start is DISCONNECTED 0" {
	started
	registered
	started
	run --separate-stderr pub "$ENV101" --once --log "$LOG"
	[ "$status" -eq 0 ]
	attr_is FL_CLIENT_STATUS 0
	attr_is FL_TRAINING_ACTIVE 0
}

@test "publish --once: exit 3 when OneGate is unreachable, with the warning's words" {
	started
	registered
	run --separate-stderr pub "$ENVDOWN" --once --log "$LOG"
	[ "$status" -eq 3 ]
	[[ "$stderr" == *"Failed to publish FL_CLIENT_STATUS=1 to OneGate"* ]]
}

@test "publish --once: exit 1 when OneGate refuses the token (401), naming where the token came from" {
	started
	registered
	run --separate-stderr pub "$ENVBAD" --once --log "$LOG"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"Failed to publish FL_CLIENT_STATUS=1 to OneGate"* ]]
	[[ "$stderr" == *"TOKENTXT in $ENVBAD"* ]]
}

@test "publish --once: exit 1 when OneGate answers 500" {
	started
	registered
	og_ctl POST faults '{"error_rate": 1.0, "error_status": 500}' >/dev/null
	run --separate-stderr pub "$ENV101" --once --log "$LOG"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"Failed to publish FL_CLIENT_STATUS=1 to OneGate"* ]]
}

@test "publish --once: output that cannot be followed (a directory) is a warning and DISCONNECTED 0" {
	run --separate-stderr pub "$ENV101" --once --log "$BATS_TEST_TMPDIR"
	[ "$status" -eq 0 ]
	[[ "$stderr" == *"cannot follow the SuperNode's output"* ]]
	attr_is FL_CLIENT_STATUS 0
}

@test "publish: refused on the SuperLink's configuration (exit 1), nothing sent" {
	local f=$BATS_TEST_TMPDIR/superlink.conf
	{ printf "FLKIT_ROLE='superlink'\n"; cat "$ENV101"; } >"$f"
	run --separate-stderr pub "$f" --once --log "$LOG"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"publish runs on SuperNodes only"* ]]
	[[ "$stderr" == *"never act on the SuperLink"* ]]
	[ "$(nput)" -eq 0 ]
}

@test "publish: --interval outside 5 to 3600 seconds is a usage error" {
	run --separate-stderr pub "$ENV101" --interval 2 --log "$LOG"
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"--interval must be 5 to 3600 seconds"* ]]
	run --separate-stderr pub "$ENV101" --interval 3601 --log "$LOG"
	[ "$status" -eq 2 ]
}

@test "publish: the initial state, then nothing while nothing changes, then all values at the refresh" {
	started
	registered
	pub_bg "$ENV101" --interval 5 --poll 0.1 --log "$LOG"
	wait_for nput_ge 2
	sleep 2
	[ "$(nput)" -eq 2 ]
	wait_for nput_ge 4
	run og_requests '[.[] | select(.method == "PUT") | .body]'
	[ "$output" = '["data=FL_CLIENT_STATUS%3D1&type=1","data=FL_TRAINING_ACTIVE%3D0&type=1","data=FL_CLIENT_STATUS%3D1&type=1","data=FL_TRAINING_ACTIVE%3D0&type=1"]' ]
	kill -TERM "$PUB_PID"
	local st=0
	wait "$PUB_PID" || st=$?
	PUB_PID=
	[ "$st" -eq 0 ]
	grep -qF "stopping: 4 request(s) sent" "$ERR"
}

@test "publish: a round: TRAINING on the train message, IDLE and FL_ROUND_NUMBER when the reply is sent" {
	started
	registered
	pub_bg "$ENV101" --interval 60 --poll 0.1 --log "$LOG"
	wait_for attr_is FL_CLIENT_STATUS 1
	train 1
	wait_for attr_is FL_CLIENT_STATUS 2
	wait_for attr_is FL_TRAINING_ACTIVE 1
	[ "$(attr FL_ROUND_NUMBER)" = "" ]
	replied
	wait_for attr_is FL_ROUND_NUMBER 1
	wait_for attr_is FL_CLIENT_STATUS 1
	attr_is FL_TRAINING_ACTIVE 0
	kill -0 "$PUB_PID"
}

@test "publish: a flapping log is published at a bounded rate, and its final value once" {
	started
	registered
	pub_bg "$ENV101" --interval 60 --poll 0.05 --log "$LOG"
	wait_for nput_ge 2
	og_ctl DELETE requests >/dev/null
	local i t0 t1
	t0=$(now_ms)
	for ((i = 1; i <= 40; i++)); do
		train "$i"
		replied
		sleep 0.05
	done
	train 41
	# The final values arrive (on a loaded machine the rate bound may queue them a while).
	wait_for attr_is FL_CLIENT_STATUS 2
	wait_for attr_is FL_TRAINING_ACTIVE 1
	wait_for attr_is FL_ROUND_NUMBER 40
	local n secs
	n=$(nput)
	t1=$(now_ms)
	secs=$(((t1 - t0) / 1000 + 1))
	echo "PUTs $n over about $secs s" >&2
	# At most the burst of 3 plus one a second, however long the flapping and settling took.
	[ "$n" -le $((3 + secs)) ]
}

@test "publish: OneGate answering 500: one warning, no exit, and the current values once it recovers" {
	started
	registered
	og_ctl POST faults '{"error_rate": 1.0, "error_status": 500}' >/dev/null
	pub_bg "$ENV101" --interval 60 --poll 0.1 --log "$LOG"
	wait_for err_has "Failed to publish FL_CLIENT_STATUS=1 to OneGate"
	train 1
	sleep 2
	kill -0 "$PUB_PID"
	[ "$(grep -c 'Failed to publish' "$ERR")" -eq 1 ]
	og_ctl POST faults '{}' >/dev/null
	wait_for attr_is FL_CLIENT_STATUS 2
	wait_for attr_is FL_TRAINING_ACTIVE 1
	wait_for err_has "OneGate takes updates again"
	kill -0 "$PUB_PID"
}

@test "publish: OneGate down: a warning, no exit, and publishing once it is back" {
	started
	registered
	og_ctl POST faults '{"reset_rate": 1.0}' >/dev/null
	pub_bg "$ENV101" --interval 60 --poll 0.1 --log "$LOG"
	wait_for err_has "Failed to publish"
	sleep 1
	kill -0 "$PUB_PID"
	og_ctl POST faults '{}' >/dev/null
	wait_for attr_is FL_CLIENT_STATUS 1
	wait_for attr_is FL_TRAINING_ACTIVE 0
}

@test "publish: a refused token (401) is a warning naming where the token came from; the replaced token is used" {
	local envf=$BATS_TEST_TMPDIR/env
	cp "$ENVBAD" "$envf"
	started
	registered
	pub_bg "$envf" --interval 5 --poll 0.1 --log "$LOG"
	wait_for err_has "Failed to publish FL_CLIENT_STATUS=1 to OneGate"
	err_has "TOKENTXT in $envf"
	err_has "at each refresh interval"
	sleep 1
	kill -0 "$PUB_PID"
	# Tried again only at the refresh interval: one request so far.
	[ "$(nput)" -eq 1 ]
	# The token is replaced: the next try reads it again and succeeds.
	og_env "$envf" "$T101" 101 "$OG_URL"
	wait_for attr_is FL_CLIENT_STATUS 1
	wait_for attr_is FL_TRAINING_ACTIVE 0
	wait_for err_has "OneGate takes updates again"
}

@test "publish --pidfile: DISCONNECTED 0 once the SuperNode's process dies" {
	local fake=$BATS_TEST_TMPDIR/flower-supernode
	printf '#!/bin/bash\nwhile :; do sleep 0.2; done\n' >"$fake"
	chmod +x "$fake"
	bash "$fake" 3>&- &
	FAKE_PID=$!
	# The pid file names the script's process: bash with flower-supernode as argv[1].
	sleep 0.2
	echo "$FAKE_PID" >"$BATS_TEST_TMPDIR/pid"
	started
	registered
	pub_bg "$ENV101" --interval 60 --poll 0.1 --pidfile "$BATS_TEST_TMPDIR/pid" --log "$LOG"
	wait_for attr_is FL_CLIENT_STATUS 1
	kill "$FAKE_PID"
	wait "$FAKE_PID" 2>/dev/null || true
	FAKE_PID=
	wait_for attr_is FL_CLIENT_STATUS 0
	attr_is FL_TRAINING_ACTIVE 0
}

@test "publish --pidfile: a live pid that is not a flower-supernode (reused) counts as DISCONNECTED" {
	sleep 600 3>&- &
	FAKE_PID=$!
	echo "$FAKE_PID" >"$BATS_TEST_TMPDIR/pid"
	started
	registered
	run --separate-stderr pub "$ENV101" --once --pidfile "$BATS_TEST_TMPDIR/pid" --log "$LOG"
	[ "$status" -eq 0 ]
	attr_is FL_CLIENT_STATUS 0
}

@test "publish --container: docker inspect gives the json-file log and the running state; a stopped container is DISCONNECTED" {
	local fb=$BATS_TEST_TMPDIR/fakebin state=$BATS_TEST_TMPDIR/running
	mkdir -p "$fb"
	# A docker that answers inspect from two files and records its argv (no shell strings).
	cat >"$fb/docker" <<-SH
		#!/bin/bash
		printf '%s\n' "\$*" >>"$BATS_TEST_TMPDIR/docker.argv"
		env >>"$BATS_TEST_TMPDIR/docker.env"
		[ "\$1 \$2" = "inspect --format" ] && [ "\$4" = sn1 ] || { echo "Error: No such object: \$4" >&2; exit 1; }
		printf '%s %s\n' "\$(cat "$state")" "$LOG"
	SH
	chmod +x "$fb/docker"
	echo true >"$state"
	local l
	for l in 'Starting Flower SuperNode' 'SuperNode ID: 5' '[RUN 3, ROUND 7]' 'Receiving: train message (ID: 1)'; do
		printf '{"log":"INFO :      %s\\n","stream":"stderr","time":"2026-12-03T07:00:00.1Z"}\n' "$l" >>"$LOG"
	done
	PATH="$fb:$PATH" pub_bg "$ENV101" --interval 60 --poll 0.1 --container sn1
	wait_for attr_is FL_CLIENT_STATUS 2
	wait_for attr_is FL_TRAINING_ACTIVE 1
	echo false >"$state"
	wait_for attr_is FL_CLIENT_STATUS 0
	wait_for attr_is FL_TRAINING_ACTIVE 0
	grep -qx 'inspect --format {{.State.Running}} {{.LogPath}} sn1' "$BATS_TEST_TMPDIR/docker.argv"
	# docker gets a built environment: no OneGate identity.
	run grep -E 'TOKENTXT|ONEGATE|VMID' "$BATS_TEST_TMPDIR/docker.env"
	[ "$status" -eq 1 ]
	run ! grep -qF "$T101" "$BATS_TEST_TMPDIR/docker.env"
	kill -0 "$PUB_PID"
}
