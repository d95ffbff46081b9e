# netns.bash: what the two namespace harnesses share, the boot harness's simulated cloud
# (test/appliance/vm.bash) and the multi-site network bed (test/multisite/netbed.bash): the
# OneGate emulator inside a namespace and served at a zone's gateway, waiting for a TCP port,
# and removing every namespace a run made. Needs ROOT (the tree). Root only.

# shellcheck shell=bash

# netns_og_start NETNS WORLD DIR: the OneGate emulator (world WORLD) on a free port of NETNS's
# loopback, in a session of its own so that its process group can be killed: its PID in
# DIR/onegate.pid, its log DIR/logs/onegate.log; sets OG_PORT. 15 s at most for its port (a
# guard against a hang, not a bound).
netns_og_start() {
	local ns=$1 world=$2 dir=$3 _
	rm -f "$dir/onegate.port"
	# Not through a wrapper: $! must be the emulator itself.
	ip netns exec "$ns" setsid python3 "$ROOT/test/onegate/emulator.py" --world "$world" --port 0 \
		--port-file "$dir/onegate.port" >"$dir/logs/onegate.log" 2>&1 </dev/null &
	echo "$!" >"$dir/onegate.pid"
	for _ in $(seq 300); do [ -s "$dir/onegate.port" ] && break; sleep 0.05; done
	[ -s "$dir/onegate.port" ] || { tail -n 5 "$dir/logs/onegate.log" >&2; return 1; }
	OG_PORT=$(<"$dir/onegate.port")
}

# netns_og_gateway NETNS ADDR PIDFILE LOG: OneGate served at ADDR:5030 in NETNS, the address
# the zone's VMs have as ONEGATE_ENDPOINT, through a forwarder to the emulator's port; the
# forwarder's PID appended to PIDFILE.
netns_og_gateway() {
	ip netns exec "$1" setsid python3 "$ROOT/test/appliance/forward.py" "$2" 5030 127.0.0.1 "$OG_PORT" \
		>>"$4" 2>&1 </dev/null &
	echo "$!" >>"$3"
}

# netns_og NETNS METHOD PATH [JSON]: the emulator's control API (test/onegate/README.md).
netns_og() {
	ip netns exec "$1" curl -sf -X "$2" -H 'Content-Type: application/json' ${4:+--data "$4"} \
		"http://127.0.0.1:$OG_PORT$3"
}

# netns_wait_tcp NETNS ADDR PORT: 0 once a TCP connection from NETNS to ADDR:PORT gets
# through; 1 after 5 s of refusals.
netns_wait_tcp() {
	local _
	for _ in $(seq 100); do
		ip netns exec "$1" bash -c "exec 3<>/dev/tcp/$2/$3" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

# netns_kill_groups PIDFILE...: the process group of each PID listed (a line each) terminated.
netns_kill_groups() {
	local f p
	for f in "$@"; do
		[ -s "$f" ] && while read -r p; do kill -TERM -- "-$p" 2>/dev/null; done <"$f"
	done
	return 0
}

# netns_remove TAG: every process in the namespaces named TAG-* killed, the namespaces removed.
netns_remove() {
	local ns p
	for ns in $(ip netns list | awk -v t="$1-" 'index($1, t) == 1 {print $1}'); do
		for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
		ip netns del "$ns" 2>/dev/null
	done
	return 0
}
