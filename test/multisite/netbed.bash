# netbed.bash: the multi-site network test bed, sourced by multisite.sh. Separate network
# hosts made of network namespaces, all named "<TAG>-*" and all made here:
#
#   <TAG>-a  zone A, the coordinator: SuperLink host 10.10.10.5/24
#   <TAG>-b  zone B, a training site: SuperNode host 10.10.11.5/24
#   <TAG>-c  zone C, a training site behind NAT: SuperNode host 10.10.12.5/24
#   <TAG>-e  an edge SuperNode of zone A's service on a network of its own: 10.10.13.5/24
#   <TAG>-rt the router between them: 10.10.1X.1 on each zone's link (veth "rX"), forwarding
#            only what a hub-and-spoke WAN allows (nftables table "inet nb"): new TCP
#            connections from a site to zone A, nothing between sites, nothing new into a
#            site; zone C is masqueraded (NAT) towards zone A; the SuperLink's public address
#            203.0.113.50:9092 is a DNAT to 10.10.10.5:9092; each zone's OneGate is the
#            emulator on the router's loopback, reached at 10.10.1X.1:5030 through a forwarder
#            (OneGate is zone-local: a token only sees its own service).
#
# Faults, on a zone's link at the router (nb_fault ZONE ...): link down/up, a blackhole (every
# packet dropped, both ways), random loss with numgen, a short conntrack idle timeout with
# stale packets dropped (an edge firewall), and delay: the kernel here has no netem, so delay
# is a relay on the router (test/appliance/forward.py with a delay) that holds every chunk for
# the given time, with the zone's SuperLink connections DNATed to it. nb_down removes every namespace and process and
# nb_leftovers prints what would have been left behind.
#
# Needs: TAG (short, unique), W (the work dir), ROOT (the tree). Root only.

# shellcheck shell=bash

# shellcheck source=test/lib/netns.bash
. "$ROOT/test/lib/netns.bash"

NB_ZONES="a b c e"
NB_PUBLIC=203.0.113.50

nb_ns() { printf '%s-%s' "$TAG" "$1"; }
nb_net() { # ZONE: the zone's /24 prefix
	case $1 in a) echo 10.10.10 ;; b) echo 10.10.11 ;; c) echo 10.10.12 ;; e) echo 10.10.13 ;; esac
}
nb_host() { printf '%s.5' "$(nb_net "$1")"; }
nb_gw() { printf '%s.1' "$(nb_net "$1")"; }
nb_in() { # ZONE|rt CMD...: CMD in that namespace
	local ns=$1
	shift
	ip netns exec "$(nb_ns "$ns")" "$@"
}

# nb_up: the namespaces, links, routes, the router's rules, the OneGate emulator (world
# $W/world.json) and its per-zone forwarders.
nb_up() {
	local rt z ns
	rt=$(nb_ns rt)
	ip netns add "$rt" || return 1
	ip -n "$rt" link set lo up
	nb_in rt sysctl -qw net.ipv4.ip_forward=1
	for z in $NB_ZONES; do
		ns=$(nb_ns "$z")
		ip netns add "$ns" || return 1
		ip -n "$ns" link set lo up
		ip -n "$rt" link add "r$z" type veth peer name eth0 netns "$ns"
		ip -n "$rt" addr add "$(nb_gw "$z")/24" dev "r$z"
		ip -n "$rt" link set "r$z" up
		ip -n "$ns" addr add "$(nb_host "$z")/24" dev eth0
		ip -n "$ns" link set eth0 up
		ip -n "$ns" route add default via "$(nb_gw "$z")"
	done
	nb_in rt nft -f - <<EOF || return 1
table inet nb {
	counter stale {
	}
	counter stale_b {
	}
	counter stale_c {
	}
	counter to_b {
	}
	counter to_c {
	}
	counter to_e {
	}
	ct timeout idle_short {
		protocol tcp
		l3proto ip
		policy = { established: 8 }
	}
	chain ct_pre {
		type filter hook prerouting priority filter; policy accept
		jump fault_ct
	}
	chain fault_ct {
	}
	chain nat_pre {
		type nat hook prerouting priority dstnat; policy accept
		jump fault_nat
		ip daddr $NB_PUBLIC tcp dport 9092 dnat ip to $(nb_host a):9092
	}
	chain fault_nat {
	}
	chain nat_post {
		type nat hook postrouting priority srcnat; policy accept
		ip saddr $(nb_net c).0/24 oifname "ra" masquerade
	}
	chain through {
		type filter hook forward priority filter; policy drop
		jump fault
		ct state invalid counter drop
		ct state new tcp flags & (syn | ack) != syn iifname "rb" counter name stale_b drop
		ct state new tcp flags & (syn | ack) != syn iifname "rc" counter name stale_c drop
		ct state new tcp flags & (syn | ack) != syn counter name stale drop
		iifname "ra" oifname "rb" counter name to_b
		iifname "ra" oifname "rc" counter name to_c
		iifname "ra" oifname "re" counter name to_e
		ct state established,related accept
		iifname { "rb", "rc", "re" } oifname "ra" ct state new accept
		icmp type echo-request iifname { "rb", "rc", "re" } oifname "ra" accept
	}
	chain inbound {
		type filter hook input priority filter; policy accept
		jump fault
	}
	chain outbound {
		type filter hook output priority filter; policy accept
		jump fault_out
	}
	chain fault {
	}
	chain fault_out {
	}
}
EOF
	netns_og_start "$rt" "$W/world.json" "$W" || return 1
	rm -f "$W/forward.pid"
	for z in $NB_ZONES; do
		netns_og_gateway "$rt" "$(nb_gw "$z")" "$W/forward.pid" "$W/logs/forward-$z.log"
	done
	for z in $NB_ZONES; do netns_wait_tcp "$(nb_ns "$z")" "$(nb_gw "$z")" 5030; done
}

# nb_reach FROM_ZONE ADDR PORT: 0 when a TCP connection from that zone's host gets through
# within 2 s.
nb_reach() {
	nb_in "$1" timeout 2 bash -c "exec 3<>/dev/tcp/$2/$3" 2>/dev/null
}

# nb_fault ZONE KIND [ARG]: a fault on ZONE's link at the router, until nb_clear ZONE.
#   down          the router's end of the link down (no carrier on the zone's side)
#   blackhole     every packet from or to the zone dropped (a WAN outage)
#   loss PERCENT  that share of packets from or to the zone dropped, each way
#   idle          the zone's connections forgotten by conntrack after 8 s idle, and their
#                 later packets dropped as stale (an edge firewall's idle timeout)
#   delay MS      every byte between the zone and the SuperLink held MS ms, each way
#   onegate       the zone's OneGate unreachable (its connections to port 5030 reset)
nb_fault() {
	local z=$1 kind=$2 arg=${3:-} rx="r$1" port
	case $kind in
	down) ip -n "$(nb_ns rt)" link set "$rx" down ;;
	blackhole)
		nb_rule fault "iifname \"$rx\" drop"
		nb_rule fault "oifname \"$rx\" drop"
		nb_rule fault_out "oifname \"$rx\" drop"
		;;
	loss)
		local m="numgen random mod 100 < $arg"
		[ "$arg" -ge 100 ] && m=''
		nb_rule fault "iifname \"$rx\" $m drop"
		nb_rule fault "oifname \"$rx\" $m drop"
		nb_rule fault_out "oifname \"$rx\" $m drop"
		;;
	idle)
		nb_rule fault_ct "iifname \"$rx\" ct timeout set \"idle_short\""
		;;
	delay)
		port=$((19000 + $(printf '%d' "'$z")))
		ip netns exec "$(nb_ns rt)" setsid python3 "$ROOT/test/appliance/forward.py" "$(nb_gw "$z")" "$port" "$(nb_host a)" 9092 \
			"$arg" >>"$W/logs/delay-$z.log" 2>&1 </dev/null &
		echo "$!" >"$W/delay-$z.pid"
		local _
		for _ in $(seq 100); do
			nb_in rt bash -c "exec 3<>/dev/tcp/$(nb_gw "$z")/$port" 2>/dev/null && break
			sleep 0.05
		done
		nb_rule fault_nat "iifname \"$rx\" tcp dport 9092 dnat ip to $(nb_gw "$z"):$port"
		;;
	onegate) nb_rule fault "iifname \"$rx\" tcp dport 5030 reject with tcp reset" ;;
	*) return 2 ;;
	esac
	printf '%s %s %s %s\n' "$(date +%s.%N)" "$z" "$kind" "$arg" >>"$W/faults.log"
}
nb_rule() { # CHAIN RULE: a fault rule, commented with the zone's link so nb_clear finds it
	nb_in rt nft add rule inet nb "$1" "$2" comment "\"fault\""
}

# nb_clear ZONE: every fault on ZONE's link gone (established connections stay as they are).
nb_clear() {
	local z=$1 rx="r$1" c h _
	ip -n "$(nb_ns rt)" link set "$rx" up
	# The zone's end has its carrier back (a moment after the router's end is up).
	for _ in $(seq 50); do
		ip -n "$(nb_ns "$z")" link show eth0 | grep -q LOWER_UP && break
		sleep 0.1
	done
	for c in fault fault_out fault_ct fault_nat; do
		for h in $(nb_in rt nft -a list chain inet nb "$c" | awk -v rx="\"$rx\"" -v gw="$(nb_gw "$z")" \
			'($0 ~ rx || index($0, gw)) && /handle/ {print $NF}'); do
			nb_in rt nft delete rule inet nb "$c" handle "$h"
		done
	done
	if [ -s "$W/delay-$z.pid" ]; then
		kill -TERM -- "-$(<"$W/delay-$z.pid")" 2>/dev/null
		rm -f "$W/delay-$z.pid"
	fi
	printf '%s %s clear\n' "$(date +%s.%N)" "$z" >>"$W/faults.log"
}

# nb_stale [ZONE]: packets the router dropped as stale (their conntrack entry had expired):
# those that came from ZONE (b or c), or from anywhere else.
nb_stale() {
	nb_in rt nft list counter inet nb "stale${1:+_$1}" | awk '/packets/ {print $2}'
}

# nb_sent ZONE: packets from zone A that the router passed on to ZONE so far.
nb_sent() {
	nb_in rt nft list counter inet nb "to_$1" | awk '/packets/ {print $2}'
}

# nb_down: every process in the bed's namespaces killed, the namespaces removed.
nb_down() {
	netns_kill_groups "$W"/delay-*.pid "$W/forward.pid" "$W/onegate.pid"
	netns_remove "$TAG"
}

# nb_leftovers: namespaces named <TAG>-* and processes whose command line names $W, one per
# line; nothing when the bed is gone.
nb_leftovers() {
	ip netns list | awk -v t="$TAG-" 'index($1, t) == 1 {print "netns " $1}'
	pgrep -af -- "$W/" | grep -v -e pgrep -e "^$$ " | sed 's/^/process /'
	return 0
}
