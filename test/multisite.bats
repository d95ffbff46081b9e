#!/usr/bin/env bats
# multisite.bats: multi-site and edge federations on separate network hosts (test/multisite/,
# README.md there). First the test bed alone (routing, NAT, faults, clean-up), then two
# sessions of multisite.sh with real Flower and TLS across the zones: Flower 1.25.0 (gRPC
# Fleet API: the sites, then keepalive behind an idle-timeout firewall) and the newest Flower
# (HTTP Fleet API: edge discovery, the sites, footprint, a link outage, a SuperLink restart
# while the sites are cut off, loss and delay). Each scenario's numbers are printed as TAP
# comments. Root only (network namespaces, nftables): skipped with the reason outside CI when
# not root, a failure in CI.

# SC2030/SC2031: bats' run sets status and output for the test.
# shellcheck disable=SC2030,SC2031

load helpers

MS="$BATS_TEST_DIRNAME/multisite"
V125="$BATS_TEST_DIRNAME/../.venv-flwr-1.25"
VNEW="$BATS_TEST_DIRNAME/../.venv-flwr-newest"

need_root() {
	[ "$(id -u)" = 0 ] && return 0
	[ -n "${CI:-}" ] && {
		echo "the multi-site test bed needs root (network namespaces, nftables); CI must run as root" >&2
		return 1
	}
	skip "the multi-site test bed needs root (network namespaces, nftables); CI runs as root"
}

# The two sessions take minutes each, and most of it is Flower waiting (polls, backoff, the
# faults' timers): setup_file starts both at once in the background, in beds of their own
# (different tags); the tests that need one wait for it. Each session's exit status goes to
# $BATS_FILE_TMPDIR/NAME/rc, its log to .../NAME.log.
setup_file() {
	[ "$(id -u)" = 0 ] || return 0
	start_session grpc "$V125" sites,keepalive
	start_session http "$VNEW" edge,sites,footprint,outage,restart,lossy
}
start_session() {
	local d=$BATS_FILE_TMPDIR/$1
	mkdir -p "$d"
	(
		rc=0
		"$MS/multisite.sh" --venv "$2" --phases "$3" --deadline 480 "$d/w" >"$d.log" 2>&1 || rc=$?
		echo "$rc" >"$d/rc.tmp" && mv "$d/rc.tmp" "$d/rc"
	) 3>&- </dev/null &
}
# session NAME: until that session has ended (its own deadline bounds the wait).
session() {
	while [ ! -e "$BATS_FILE_TMPDIR/$1/rc" ]; do sleep 1; done
}
# res NAME KEY: a value of that session's result.env, quotes dropped.
res() { sed -n "s/^$2=//p" "$BATS_FILE_TMPDIR/$1/w/result.env" | tail -n 1 | tr -d '"'; }
# ok_session NAME: the session ended well, or the test fails with its log's tail.
ok_session() {
	if [ "$(cat "$BATS_FILE_TMPDIR/$1/rc")" != 0 ]; then
		tail -n 40 "$BATS_FILE_TMPDIR/$1.log" >&2
		return 1
	fi
	assert_equal "$(res "$1" RESULT)" ok
}
# clean SESSION: none of the session's namespaces or processes is left.
clean() {
	local tag
	tag=$(cat "$BATS_FILE_TMPDIR/$1/w/tag")
	run bash -c "ip netns list | grep '^$tag-'; pgrep -af -- '$BATS_FILE_TMPDIR/$1/w/' | grep -v pgrep"
	assert_output ''
}
comment() { echo "# $*" >&3; }

grpc() { session grpc; }
http() { session http; }

setup() {
	need_root
}

@test "bed: sites reach zone A only through the router, C through NAT and the public address; faults apply, clear, and nothing is left" {
	run bash -c '
		set -u
		export TAG=msbt$$ W=$1 ROOT=$2 HERE=$2/test/multisite
		mkdir -p "$W/logs"
		echo "{\"vms\": {}, \"services\": {}}" >"$W/world.json"
		. "$HERE/netbed.bash"
		trap nb_down EXIT
		nb_up || exit 9
		# A listener in zone A on the Fleet port: it prints the address each connection came from.
		nb_in a python3 -c "
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind((\"0.0.0.0\", 9092)); s.listen()
while True:
    c, a = s.accept(); c.sendall((a[0] + \"\\n\").encode()); c.close()" >/dev/null 2>&1 &
		for _ in $(seq 50); do nb_reach b 10.10.10.5 9092 && break; sleep 0.1; done
		peer() { nb_in "$1" timeout 3 bash -c "exec 3<>/dev/tcp/$2/9092; head -n 1 <&3" 2>/dev/null; }
		echo "b->a $(peer b 10.10.10.5)"
		echo "c->public $(peer c 203.0.113.50)"
		nb_reach b 10.10.12.5 22 && echo "b->c open" || echo "b->c closed"
		nb_reach a 10.10.11.5 22 && echo "a->b open" || echo "a->b closed"
		nb_fault b blackhole; echo "blackhole $(peer b 10.10.10.5 || echo none)"; nb_clear b
		nb_fault b down; echo "down $(peer b 10.10.10.5 || echo none)"; nb_clear b
		# The gateway'"'"'s neighbour entry may have failed while the link was down: a few tries.
		for _ in 1 2 3 4 5; do p=$(peer b 10.10.10.5) && break; sleep 1; done
		echo "cleared $p"
		nb_fault b loss 100; echo "loss100 $(peer b 10.10.10.5 || echo none)"; nb_clear b
		nb_fault b delay 300
		t0=$(date +%s%N); p=$(peer b 10.10.10.5); t1=$(date +%s%N)
		echo "delay $p $(( (t1 - t0) / 1000000 >= 300 ? 1 : 0 ))"
		nb_clear b
		nb_fault b onegate; nb_reach b 10.10.11.1 5030 && echo "onegate open" || echo "onegate closed"; nb_clear b
		nb_reach b 10.10.11.1 5030 && echo "onegate back"
		nb_in rt nft list chain inet nb fault | grep -c comment || true
		nb_down
		echo "left: $(nb_leftovers | wc -l)"
	' _ "$BATS_TEST_TMPDIR/bed" "$BATS_TEST_DIRNAME/.."
	assert_success
	assert_line "b->a 10.10.11.5"
	# Site C is masqueraded: zone A sees the router's address.
	assert_line "c->public 10.10.10.1"
	assert_line "b->c closed"
	assert_line "a->b closed"
	assert_line "blackhole none"
	assert_line "down none"
	assert_line "cleared 10.10.11.5"
	assert_line "loss100 none"
	# Through the relay, the connection comes from the router's zone A address, and the
	# listener's line arrives 300 ms late at least.
	assert_line "delay 10.10.10.1 1"
	assert_line "onegate closed"
	assert_line "onegate back"
	assert_line "0"
	assert_line "left: 0"
}

@test "bed: an interrupted session (Ctrl-C) leaves no namespace, rule or process behind" {
	local w=$BATS_TEST_TMPDIR/int
	# A background job of a script ignores SIGINT: python gives it back the default first,
	# as a terminal's foreground job has it.
	python3 -c 'import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execv(sys.argv[1], sys.argv[1:])' \
		"$MS/multisite.sh" --venv "$VNEW" --phases sites "$w" >"$BATS_TEST_TMPDIR/int.log" 2>&1 &
	local p=$!
	# Until the SuperLink runs in zone A (the bed, the emulator and Flower are all up).
	for _ in $(seq 300); do
		[ -s "$w/vm-100/flower/run/flower-superlink.pid" ] && break
		sleep 0.1
	done
	[ -s "$w/vm-100/flower/run/flower-superlink.pid" ]
	kill -INT "$p"
	local rc=0
	wait "$p" || rc=$?
	assert_equal "$rc" 130
	local tag
	tag=$(cat "$w/tag")
	run bash -c "ip netns list | grep '^$tag-'; pgrep -af -- '$w/' | grep -v pgrep"
	assert_output ''
}

@test "sites, Flower 1.25.0: 3 TLS rounds across zones A, B and C; B dials the private address, C the public one through NAT; partitions 0 and 2 of 4" {
	grpc
	ok_session grpc
	assert_equal "$(res grpc RUN1_ROUNDS)" 3
	assert_equal "$(res grpc PARTITION_B)" "partition-id=0 num-partitions=4"
	assert_equal "$(res grpc PARTITION_C)" "partition-id=2 num-partitions=4"
	[[ "$(res grpc SAN)" == *"IP Address:203.0.113.50"* ]]
	assert_equal "$(res grpc TLS_PUBLIC_VERIFY)" ok
	comment "Flower $(res grpc VERSION): 3 rounds in $(res grpc RUN1_S) s; SAN $(res grpc SAN)"
}

@test "keepalive, Flower 1.25.0: behind an 8 s idle timeout, site B's 4 s keepalive pings keep its connection through a 30 s training; site C's (60 s) is cut" {
	grpc
	ok_session grpc
	# Site B: pings after ~4 s of silence, no gap the firewall acts on, its reply delivered.
	[ "$(res grpc KA_B_PINGS)" -ge 4 ]
	awk -v i="$(res grpc KA_B_PING_INTERVAL_S)" 'BEGIN {exit !(i >= 3.5 && i <= 5)}'
	awk -v g="$(res grpc KA_B_MAX_GAP_S)" 'BEGIN {exit !(g < 8)}'
	assert_equal "$(res grpc KA_B_STALE_DROPS)" 0
	assert_equal "$(res grpc KA_B_REPLY_SENT)" yes
	# Site C: its connection idled past the timeout; its next packets were dropped as stale and
	# its reply never arrived.
	awk -v g="$(res grpc KA_C_MAX_GAP_S)" 'BEGIN {exit !(g >= 8)}'
	[ "$(res grpc KA_C_STALE_DROPS)" -gt 0 ]
	assert_equal "$(res grpc KA_C_REPLY_SENT)" no
	comment "site B (keepalive 4 s): $(res grpc KA_B_PINGS) pings, each after $(res grpc KA_B_PING_INTERVAL_S) s of silence, largest gap $(res grpc KA_B_MAX_GAP_S) s, reply sent"
	comment "site C (keepalive 60 s): largest gap $(res grpc KA_C_MAX_GAP_S) s, $(res grpc KA_C_STALE_DROPS) stale packets dropped, reply not sent"
	clean grpc
}

@test "edge, newest Flower: discovery backs off (10 s, 20 s) while OneGate is unreachable, finds the SuperLink once it is back, and the edge SuperNode joins" {
	http
	ok_session http
	assert_equal "$(res http EDGE_WAITS)" "10 20"
	comment "found $(res http EDGE_FOUND_S) s after the start ($(res http EDGE_AFTER_ONEGATE_S) s after OneGate came back), joined at $(res http EDGE_JOINED_S) s"
}

@test "sites, newest Flower: 3 TLS rounds across the zones with the edge SuperNode; partitions 0 and 2 of 4" {
	http
	ok_session http
	assert_equal "$(res http RUN1_ROUNDS)" 3
	assert_equal "$(res http PARTITION_B)" "partition-id=0 num-partitions=4"
	assert_equal "$(res http PARTITION_C)" "partition-id=2 num-partitions=4"
	comment "Flower $(res http VERSION): 3 rounds in $(res http RUN1_S) s"
}

@test "footprint: a native (process runtime) SuperNode idle and training stays within the edge targets (2 vCPU, 2 GB)" {
	http
	ok_session http
	[ "$(res http FOOTPRINT_IDLE_RSS_MIB)" -lt 2048 ]
	[ "$(res http FOOTPRINT_RUN_RSS_MIB)" -lt 2048 ]
	awk -v c="$(res http FOOTPRINT_RUN_CPU_PCT)" 'BEGIN {exit !(c < 200)}'
	comment "idle: $(res http FOOTPRINT_IDLE_RSS_MIB) MiB, $(res http FOOTPRINT_IDLE_CPU_PCT) % CPU; training: $(res http FOOTPRINT_RUN_RSS_MIB) MiB peak ($(res http FOOTPRINT_RUN_PROCS) processes), $(res http FOOTPRINT_RUN_CPU_PCT) % CPU"
}

@test "outage: site B's link down 20 s during round 2; the run completes all 3 rounds and B rejoins without a restart" {
	http
	ok_session http
	assert_equal "$(res http RUN3_ROUNDS)" 3
	assert_equal "$(res http RESTARTS)" 0
	comment "3 rounds in $(res http RUN3_S) s (per round: $(res http RUN3_ROUND_S) s); clients responded per round: $(res http RUN3_RESPONDED); B rejoined $(res http REJOIN_OUTAGE_S) s after the link came back"
}

@test "restart: the SuperLink restarts while every site is cut off; the sites rejoin by themselves and a run needing all of them completes" {
	http
	ok_session http
	assert_equal "$(res http RUN4_ROUNDS)" 1
	assert_equal "$(res http RESTARTS)" 0
	comment "rejoined after the links came back: B $(res http REJOIN_RESTART_B_S) s, C $(res http REJOIN_RESTART_C_S) s; the run took $(res http RUN4_S) s"
}

@test "lossy: 30 % packet loss and 300 ms delay each way on site B for a whole 2-round run" {
	http
	ok_session http
	assert_equal "$(res http RUN5_ROUNDS)" 2
	comment "2 rounds in $(res http RUN5_S) s; clients responded per round: $(res http RUN5_RESPONDED)"
	clean http
}

@test "multisite.sh: usage errors exit 2" {
	run "$MS/multisite.sh" --phases nope /tmp/x
	assert_failure 2
	assert_output --partial "unknown phase 'nope'"
	run "$MS/multisite.sh" --deadline 0 /tmp/x
	assert_failure 2
	run "$MS/multisite.sh"
	assert_failure 2
	assert_output --partial usage
	run "$MS/multisite.sh" --venv "$VNEW" --phases keepalive "$BATS_TEST_TMPDIR/ka"
	assert_failure 2
	assert_output --partial "over HTTP, not gRPC"
}
