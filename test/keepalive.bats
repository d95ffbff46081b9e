#!/usr/bin/env bats
# The gRPC keepalive hook (share/python: sitecustomize.py + flkit_grpc_keepalive.py) that
# fl-launch puts on PYTHONPATH for Flower 1.25-1.39: the option merging without grpcio, then on
# loopback with real Flower and grpcio, an idle connection made by Flower's own create_channel
# and generic_create_grpc_server sends keepalive pings every FLOWER_GRPC_KEEPALIVE_TIME_MS, as
# gRPC's own trace shows; without the variables, none.

# SC2154: variables set by bats (output, stderr, status, lines).
# shellcheck disable=SC2154
bats_require_minimum_version 1.5.0
load helpers

HOOK_DIR="$FLKIT_SRC/share/python"
V125="$FLKIT_SRC/.venv-flwr-1.25/bin/python"

setup() {
	T=$(mktemp -d "$BATS_TEST_TMPDIR/ka.XXXXXX")
}

# idle_connection PYTHON [NAME=value]...: the loopback script under PYTHON with the hook on
# PYTHONPATH, the gRPC keepalive trace on, 4 s idle; its stderr in $T/trace.
idle_connection() {
	local py=$1
	shift
	[ -x "$py" ] || skip "no $py (scripts/bootstrap makes it)"
	env -i PATH="$PATH" HOME="$T" PYTHONPATH="$HOOK_DIR" GRPC_VERBOSITY=debug GRPC_TRACE=http_keepalive "$@" \
		"$py" "$BATS_TEST_DIRNAME/keepalive_loopback.py" 4 >"$T/out" 2>"$T/trace"
	grep -q 'health: SERVING' "$T/out"
}

# pings SIDE: the times (ms since the transport started) of the pings SIDE (CLIENT or SERVER)
# sent, one a line, as the trace says: "CLIENT[0x...]: Ping N sent [...]: ..., last_ping_sent_time_: @1179ms".
# A connection's first ping or two are gRPC's own (settings, BDP), keepalive or not.
pings() {
	sed -n "s/.* $1\[[^]]*\]: Ping [0-9]* sent .*last_ping_sent_time_: @\([0-9]*\)ms.*/\1/p" "$T/trace"
}

# keepalives SIDE: how many keepalive pings SIDE (client or server) saw answered ("PEER: Finish
# keepalive ping": the client's peer is the server's address).
keepalives() {
	local addr
	addr=$(sed -n 's/^address: //p' "$T/out")
	if [ "$1" = client ]; then
		grep -cF "ipv4:$addr: Finish keepalive ping" "$T/trace"
	else
		grep "Finish keepalive ping" "$T/trace" | grep -vcF "ipv4:$addr:"
	fi
}

@test "hook: options merged, bad values ignored with one line, chained, nothing patched unset" {
	run python3 "$BATS_TEST_DIRNAME/keepalive_hook_test.py"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
}

@test "Flower 1.25 on loopback: keepalive 1 s / 0.5 s makes the idle channel ping about every second" {
	idle_connection "$V125" FLOWER_GRPC_KEEPALIVE_TIME_MS=1000 FLOWER_GRPC_KEEPALIVE_TIMEOUT_MS=500
	run keepalives client
	echo "client keepalive pings answered: $output"
	[ "$output" -ge 2 ]
	run pings CLIENT
	echo "client pings at (ms): ${lines[*]}"
	# Intervals loosely: well under Flower's 210 s and gRPC's 2 h, never the 5 min a server
	# without the hook would demand between pings.
	local prev='' t
	for t in "${lines[@]}"; do
		[ -z "$prev" ] || [ $((t - prev)) -lt 3000 ]
		prev=$t
	done
	# The server's side: its own pings (keepalive_time replaced) and no ping strike, GOAWAY
	# or "too many pings" for the client's.
	run keepalives server
	[ "$output" -ge 2 ]
	run grep -cE 'ping_strikes=[1-9]|GOAWAY|too_many_pings|ENHANCE_YOUR_CALM' "$T/trace"
	[ "$output" = 0 ]
}

@test "Flower 1.25 on loopback: without the variables the idle channel sends no keepalive ping" {
	idle_connection "$V125"
	run keepalives client
	[ "$output" = 0 ]
	run keepalives server
	[ "$output" = 0 ]
	# The client's pings (gRPC's own at connection start) use gRPC's defaults, not the hook's.
	run grep -c 'CLIENT.*Ping [0-9]* sent .*max_pings_without_data: 0' "$T/trace"
	[ "$output" = 0 ]
}

@test "Flower 1.41 (flwr.supercore.grpc) on loopback: the same hook reaches its gRPC helpers" {
	idle_connection "$FLWR_PY" FLOWER_GRPC_KEEPALIVE_TIME_MS=1000 FLOWER_GRPC_KEEPALIVE_TIMEOUT_MS=500
	run keepalives client
	[ "$output" -ge 2 ]
}
