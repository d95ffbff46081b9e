# vm.bash: the simulated cloud of the boot harness, sourced by boot.sh. One world: a network
# namespace "<tag>-net" with the service network's bridge (gateway PREFIX.1, a fixed MAC so
# that it does not change as VMs join), the OneGate emulator on its loopback and a forwarder
# at PREFIX.1:5030 (ONEGATE_ENDPOINT); per VM a network namespace "<tag>-vm<ID>" with eth0 on
# that bridge, and while powered on a PID and mount namespace run by vm-init. Nothing outside
# these namespaces is ever addressed. world_down removes every namespace, link and process.
#
# Needs: W (the work dir), HERE (test/appliance), ROOT (the tree), TAG (short, unique), NET
# (the /24 prefix), VENV, FLKIT_BIN, FLKIT_SHARE. With NET2 (another /24 prefix) the world
# namespace is also the router of a second zone: bridge br1 (gateway NET2.1, a OneGate
# forwarder there too: OneGate is zone-local, a token sees its own service only) and IP
# forwarding between the two; a VM whose address is in NET2 is on br1.

# shellcheck shell=bash
# SC2034: VM_IP is read by boot.sh; SC2153: NET and NET2 are set by boot.sh.
# shellcheck disable=SC2034,SC2153

# shellcheck source=test/lib/netns.bash
. "$ROOT/test/lib/netns.bash"

OG_PORT=
declare -A VM_PID VM_ROLE VM_IP

world_net() { printf '%s-net' "$TAG"; }
vm_ns() { printf '%s-vm%s' "$TAG" "$1"; }
in_net() { ip netns exec "$(world_net)" "$@"; }

# world_up: the network namespace, its bridge, the emulator (world $W/world.json) and the
# forwarder.
world_up() {
	local net
	net=$(world_net)
	rm -f "$W/forward.pid"
	ip netns add "$net" || return 1
	ip -n "$net" link set lo up
	ip -n "$net" link add br0 address 02:00:00:00:00:01 type bridge
	ip -n "$net" addr add "$NET.1/24" dev br0
	ip -n "$net" link set br0 up
	if [ -n "${NET2:-}" ]; then
		ip -n "$net" link add br1 address 02:00:00:00:00:02 type bridge
		ip -n "$net" addr add "$NET2.1/24" dev br1
		ip -n "$net" link set br1 up
		in_net sysctl -qw net.ipv4.ip_forward=1
	fi
	netns_og_start "$net" "$W/world.json" "$W" || return 1
	onegate_up
}

# onegate_up / onegate_down: OneGate reachable from the VMs or not (connection refused), at
# each zone's gateway.
onegate_up() {
	local gw
	for gw in "$NET.1" ${NET2:+"$NET2.1"}; do
		netns_og_gateway "$(world_net)" "$gw" "$W/forward.pid" "$W/logs/forward.log"
	done
	for gw in "$NET.1" ${NET2:+"$NET2.1"}; do
		netns_wait_tcp "$(world_net)" "$gw" 5030 || return 1
	done
}
onegate_down() {
	local _
	netns_kill_groups "$W/forward.pid"
	rm -f "$W/forward.pid"
	for _ in $(seq 100); do
		in_net bash -c "exec 3<>/dev/tcp/$NET.1/5030" 2>/dev/null || return 0
		sleep 0.05
	done
	return 1
}

# og METHOD PATH [JSON]: the emulator's control API (test/onegate/README.md).
og() { netns_og "$(world_net)" "$@"; }

# vm_create ID ROLE IP MAC: the VM's network namespace on the bridge, its CONTEXT CD token, and
# the image build (vm-init build).
vm_create() {
	local id=$1 ns
	ns=$(vm_ns "$id")
	VM_ROLE[$id]=$2
	VM_IP[$id]=$3
	ip netns add "$ns" || return 1
	ip -n "$ns" link set lo up
	local br=br0 gw=$NET.1
	[ -n "${NET2:-}" ] && [ "${3%.*}" = "$NET2" ] && br=br1 gw=$NET2.1
	ip -n "$(world_net)" link add "v$id" type veth peer name eth0 netns "$ns"
	ip -n "$(world_net)" link set "v$id" master "$br" up
	ip -n "$ns" link set eth0 address "$4"
	ip -n "$ns" addr add "$3/24" dev eth0
	ip -n "$ns" link set eth0 up
	ip -n "$ns" route add default via "$gw"
	mkdir -p "$W/vm-$id/cdrom"
	python3 "$ROOT/test/onegate/emulator.py" --world "$W/world.json" --print-token "$id" \
		>"$W/vm-$id/cdrom/token.txt" || return 1
	vm_run "$id" build >"$W/vm-$id/build.log" 2>&1
}

# vm_set_ip ID IP: a new address for a powered-off VM (the NIC and what OneGate shows).
vm_set_ip() {
	local id=$1 ns
	ns=$(vm_ns "$id")
	ip -n "$ns" addr flush dev eth0
	ip -n "$ns" addr add "$2/24" dev eth0
	ip -n "$ns" route add default via "$NET.1"
	VM_IP[$id]=$2
	sed -i "s/^ETH0_IP=.*/ETH0_IP='$2'/" "$W/vm-$id/cdrom/context.sh"
	og POST "/_emulator/nics/$id" "{\"nics\":[{\"IP\":\"$2\",\"NAME\":\"NIC0\",\"NETWORK\":\"Private\"}]}" >/dev/null
}

# vm_run ID MODE: vm-init MODE in the VM's namespaces, in the foreground.
vm_run() {
	ip netns exec "$(vm_ns "$1")" unshare --mount --pid --fork --kill-child --mount-proc \
		--propagation private "$HERE/vm-init" "$2" "$W/vm-$1" "${VM_ROLE[$1]}"
}

# vm_power_on ID: boot the VM (vm-init boot in the background); the power-on time goes to
# $W/boots.tsv (ID BOOT_NUMBER EPOCH).
vm_power_on() {
	local id=$1 n
	rm -f "$W/vm-$id/contextualized"
	n=$(awk -v id="$id" '$1 == id' "$W/boots.tsv" 2>/dev/null | wc -l)
	printf '%s\t%s\t%s\n' "$id" "$((n + 1))" "$(date +%s.%N)" >>"$W/boots.tsv"
	setsid bash -c "$(declare -f vm_run vm_ns); $(declare -p VM_ROLE W HERE TAG); vm_run $id boot" \
		>>"$W/vm-$id/console.log" 2>&1 </dev/null &
	VM_PID[$id]=$!
	disown "$!"
}

# vm_power_off ID: pull the plug: every process of the VM dies at once.
vm_power_off() {
	local id=$1 p=${VM_PID[$1]:-} _
	[ -n "$p" ] || return 0
	kill -KILL -- "-$p" 2>/dev/null
	for _ in $(seq 100); do
		kill -0 "$p" 2>/dev/null || break
		sleep 0.05
	done
	# The namespace's processes are gone once no process is left in its network namespace.
	for _ in $(seq 100); do
		[ -z "$(ip netns pids "$(vm_ns "$id")" 2>/dev/null)" ] && break
		sleep 0.05
	done
	VM_PID[$id]=
}

# vm_init_pid ID: the host PID of the VM's PID 1.
vm_init_pid() {
	local p
	p=$(pgrep -P "$(pgrep -P "${VM_PID[$1]}" -x unshare | head -n 1)" | head -n 1)
	[ -n "$p" ] && echo "$p"
}

# vm_exec ID CMD...: CMD inside the running VM (its mounts, network and PIDs).
vm_exec() {
	local id=$1 p
	shift
	p=$(vm_init_pid "$id") || return 1
	nsenter -t "$p" -m -n -p -- env PATH="$FLKIT_BIN:$VENV/bin:/usr/sbin:/usr/bin:/sbin:/bin" "$@"
}

# vm_status ID: the one-apps status of the VM (its disk), or nothing.
vm_status() {
	cat "$W/vm-$1/disk/etc/one-appliance/status" 2>/dev/null
}

# world_down: power every VM off, stop the emulator and the forwarder, remove the namespaces.
world_down() {
	local id
	for id in "${!VM_PID[@]}"; do vm_power_off "$id"; done
	netns_kill_groups "$W/forward.pid" "$W/onegate.pid"
	netns_remove "$TAG"
}
