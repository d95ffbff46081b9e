#!/usr/bin/env bash
# multisite.sh: a multi-site Flower federation on separate network hosts (netbed.bash): the
# SuperLink in zone A, a SuperNode in each of training sites B and C, booted through the
# tools as the appliances boot them (fl-context render -> fl-certgen -> fl-launch start ->
# wait-healthy -> publish-ready, process runtime, TLS), with real Flower from VENV. The sites
# have a static FL_SUPERLINK_ADDRESS and a static CA (FL_SSL_CA_CERTFILE, the coordinator's
# ca.crt) as design 04 §2 says: site B dials the SuperLink's routed private address, site C,
# behind NAT, its public address 203.0.113.50 (a DNAT on the router), which the SuperLink's
# certificate covers through FL_CERT_EXTRA_SAN. Each site's service numbers its SuperNodes
# from 0; FL_PARTITION_OFFSET / FL_NUM_PARTITIONS give site B partitions 0-1 and C 2-3 of 4.
# Then the phases asked for, in order. Root only (network namespaces, nftables).
#
# usage: multisite.sh [--phases LIST] [--deadline S] [--venv VENV] WORKDIR
#
# Phases (comma-separated, run in this order whatever the order given):
#   edge       before the sites boot, an edge SuperNode of zone A's service (its own network
#              behind the router, FL_EDGE_BACKOFF=exponential) starts discovery while its
#              OneGate is unreachable; OneGate comes back after 25 s; it finds the SuperLink
#              and joins
#   sites      a 3-round run across the zones
#   footprint  the edge-style SuperNode of site B (process runtime, no Docker): resident
#              memory and CPU of its process tree idle (10 s) and during the sites run
#   keepalive  both sites behind a firewall that forgets a connection after 8 s idle and
#              drops its later packets; site B with FL_GRPC_KEEPALIVE_TIME=4, site C with the
#              default 60; one round whose training lasts 30 s (Flower's Fleet channel idles
#              between heartbeats); a packet capture on both links. Flower with a gRPC Fleet
#              API only (1.25-1.39)
#   outage     a 3-round run; site B's link goes down when round 2 starts, for 20 s
#   restart    both sites cut off, the SuperLink restarted (fl-launch restart), the sites back
#              10 s later; a 1-round run that needs every SuperNode
#   lossy      a 2-round run with 30 % packet loss and 300 ms delay (each way) on site B
#
# WORKDIR gets tag (the namespace prefix), world.json, vm-<ID>/ (one_env, rendered config,
# flower/), logs/, faults.log, run<N>.log and events<N>.jsonl per run, capture-<zone>.txt
# (keepalive) and result.env: VERSION, ERA, RESULT=ok, PARTITION_B/C, SAN, and per phase
# its numbers (RUN<N>_ROUNDS, RUN<N>_S, REJOIN_*_S, RESTARTS, FOOTPRINT_*, KA_*, EDGE_*).
# Everything it started is gone when it exits, also on Ctrl-C or failure.
# Exit: 0 every phase's checks passed, 1 a check failed, 2 usage, 4 deadline reached.
set -uo pipefail

prog=${0##*/}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)

# shellcheck source=test/lib/script.bash
. "$(dirname "$0")/../lib/script.bash"
# shellcheck source=test/lib/flwr.bash
. "$(dirname "$0")/../lib/flwr.bash"

phases=sites deadline_s=600 venv=$ROOT/.venv
while [ $# -gt 0 ]; do
	case $1 in
	--phases) phases=${2:?}; shift ;;
	--deadline) deadline_s=${2:?}; shift ;;
	--venv) venv=${2:?}; shift ;;
	-h | --help) usage ;;
	-*) printf '%s: unknown option %s\n' "$prog" "$1" >&2; usage ;;
	*) break ;;
	esac
	shift
done
[ $# -eq 1 ] || usage
declare -A want
IFS=, read -r -a plist <<<"$phases"
for p in "${plist[@]}"; do
	case $p in
	edge | sites | footprint | keepalive | outage | restart | lossy) want[$p]=1 ;;
	*) die "unknown phase '$p' (edge, sites, footprint, keepalive, outage, restart, lossy)" 2 ;;
	esac
done
need_deadline
[ "$(id -u)" = 0 ] || die "the multi-site test bed needs root (network namespaces, nftables)" 2
for t in ip nft tcpdump; do
	command -v "$t" >/dev/null || die "$t is missing (scripts/bootstrap installs it)" 2
done
venv=$(cd "$venv" 2>/dev/null && pwd) || die "venv '$venv' does not exist (scripts/bootstrap makes it)" 2
[ -x "$venv/bin/flower-superlink" ] || die "$venv has no Flower (flower-superlink)" 2
bin=${FLKIT_BIN:-$ROOT/build/bin}
need_tools "$bin" fl-context fl-certgen fl-onegate fl-launch
mkdir -p "$1" || die "cannot create work dir '$1'"
W=$(cd "$1" && pwd)
rm -rf "$W/logs" "$W"/vm-* "$W/result.env" "$W/faults.log" "$W"/run*.log "$W"/events*.jsonl "$W"/capture-* \
	"$W"/*.pid "$W/onegate.port" "$W"/gaps-* "$W"/footprint-*
mkdir -p "$W/logs"
TAG=ms$(od -An -N2 -tx1 /dev/urandom | tr -d ' \n')
echo "$TAG" >"$W/tag"
# shellcheck source=test/multisite/netbed.bash
. "$HERE/netbed.bash"

start_clock
now() { date +%s.%N; }
secs() { jq -rn --argjson a "$1" --argjson b "$2" '($b - $a) * 10 | round / 10'; }
result() { printf '%s=%s\n' "$1" "$2" >>"$W/result.env"; }

export PATH="$venv/bin:$PATH" FLWR_TELEMETRY_ENABLED=0 FLWR_DISABLE_UPDATE_CHECK=1 PYTHONDONTWRITEBYTECODE=1
unset FLWR_HOME VIRTUAL_ENV FLKIT_CONTEXT TOKENTXT ONEGATE_TOKEN VMID ONEGATE_ENDPOINT

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	[ "$rc" != 0 ] && [ -n "${MS_HOLD:-}" ] && sleep "$MS_HOLD"
	nb_down
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

version=$("$venv/bin/python" -c 'import flwr; print(flwr.__version__)') || die "cannot import flwr from $venv"
IFS=. read -r vmaj vmin _ <<<"$version"
vnum=$((vmaj * 1000 + vmin))
if [ "$vnum" -ge 1040 ]; then era=C; elif [ "$vnum" -ge 1036 ]; then era=B; else era=A; fi
[ -n "${want[keepalive]:-}" ] && [ "$era" = C ] &&
	die "phase keepalive: Flower $version reaches the SuperLink over HTTP, not gRPC (1.40+)" 2
result VERSION "$version"
result ERA "$era"
say "Flower $version (era $era), tools in $bin, work dir $W, namespaces $TAG-*"

# --- the clouds: zone A's service 10 (the SuperLink, and the edge SuperNode), site B's
# service 20 and site C's service 30, two SuperNode VMs each (the second never powered on).
cat >"$W/world.json" <<EOF
{
  "vms": {
    "100": {"name": "superlink_0_(service_10)", "nics": [{"IP": "$(nb_host a)", "NAME": "NIC0"}]},
    "101": {"name": "supernode_0_(service_10)", "nics": [{"IP": "$(nb_host e)", "NAME": "NIC0"}]},
    "200": {"name": "supernode_0_(service_20)", "nics": [{"IP": "$(nb_host b)", "NAME": "NIC0"}]},
    "201": {"name": "supernode_1_(service_20)", "nics": [{"IP": "10.10.11.6", "NAME": "NIC0"}]},
    "300": {"name": "supernode_0_(service_30)", "nics": [{"IP": "$(nb_host c)", "NAME": "NIC0"}]},
    "301": {"name": "supernode_1_(service_30)", "nics": [{"IP": "10.10.12.6", "NAME": "NIC0"}]}
  },
  "services": {
    "10": {"name": "Flower Coordinator", "state": 2, "roles": [
      {"name": "superlink", "cardinality": 1, "state": 2, "nodes": [100]},
      {"name": "supernode", "cardinality": 1, "state": 2, "nodes": [101]}]},
    "20": {"name": "Flower Training Site B", "state": 2, "roles": [
      {"name": "supernode", "cardinality": 2, "state": 2, "nodes": [200, 201]}]},
    "30": {"name": "Flower Training Site C", "state": 2, "roles": [
      {"name": "supernode", "cardinality": 2, "state": 2, "nodes": [300, 301]}]}
  }
}
EOF
nb_up || die "the test bed did not come up (see $W/logs)"
declare -A token zone_of
for vm in 100 101 200 300; do
	token[$vm]=$(python3 "$ROOT/test/onegate/emulator.py" --world "$W/world.json" --print-token "$vm") ||
		die "no OneGate token for VM $vm"
done
zone_of=([100]=a [101]=e [200]=b [300]=c)

# What the bed guarantees before anything runs: the sites reach zone A's OneGate-free
# address space only through the router, and not each other.
nb_in b ping -c 1 -W 2 "$(nb_host a)" >/dev/null || die "bed: site B cannot reach zone A"
nb_in b ping -c 1 -W 1 "$(nb_host c)" >/dev/null 2>&1 && die "bed: site B reaches site C directly"
nb_in a ping -c 1 -W 1 "$(nb_host b)" >/dev/null 2>&1 && die "bed: zone A opens connections into site B"

# one_env VM FILE [NAME=VALUE...]: what the context agent writes: the OneGate identity, then
# the context variables.
one_env() {
	local vm=$1 f=$2 kv
	shift 2
	{
		printf 'export ONEGATE_ENDPOINT="http://%s:5030"\nexport VMID="%s"\nexport TOKENTXT="%s"\n' \
			"$(nb_gw "${zone_of[$vm]}")" "$vm" "${token[$vm]}"
		for kv in "$@"; do printf 'export %s="%s"\n' "${kv%%=*}" "${kv#*=}"; done
	} >"$f"
	chmod 600 "$f"
}
# launch VM VERB [OPTIONS]: fl-launch for VM, in its host's namespace.
launch() {
	local vm=$1 d=$W/vm-$1 role=supernode
	shift
	[ "$vm" = 100 ] && role=superlink
	local -a lo=(-c "$d/$role.conf" --runtime process --supervisor none --flower-dir "$d/flower"
		--flower-bin "$venv/bin" --owner 0:0 --one-env "$d/one_env")
	if [ "$vm" = 100 ]; then
		lo+=(--addr "$(nb_host a)")
	elif [ -e "$d/discovery.env" ]; then
		lo+=(--discovery "$d/discovery.env")
	fi
	nb_in "${zone_of[$vm]}" "$bin/fl-launch" "${lo[@]}" "$@"
}
sn_pid() { cut -d' ' -f1 "$W/vm-$1/flower/run/flower-supernode.pid" 2>/dev/null; }

# --- zone A: the coordinator's SuperLink
boot_superlink() {
	local d=$W/vm-100 t0
	mkdir -p "$d"
	t0=$(now)
	one_env 100 "$d/one_env" FL_TLS_ENABLED=YES FL_FLEET_API_ADDRESS=0.0.0.0:9092 \
		FL_CONTROL_API_ADDRESS=127.0.0.1:9093 FL_CERT_EXTRA_SAN="IP:$NB_PUBLIC" "${sl_extra[@]}"
	must "SuperLink: fl-context render" nb_in a "$bin/fl-context" -c "$d/one_env" render --role superlink -o "$d/superlink.conf"
	must "SuperLink: fl-certgen superlink" nb_in a "$bin/fl-certgen" -c "$d/superlink.conf" superlink \
		--dir "$d/flower/certs" --ca-key-dir "$d/ca" --owner 0:0 --ip "$(nb_host a)" >"$d/certgen.env"
	must "SuperLink: fl-launch start" launch 100 start
	must "SuperLink: fl-launch wait-healthy" launch 100 wait-healthy --timeout "$(left)"
	must "SuperLink: fl-launch publish-ready" launch 100 publish-ready
	ln -sf "$d/flower/logs/flower-superlink.log" "$W/logs/superlink.log"
	say "SuperLink booted in $(secs "$t0" "$(now)")s on $(nb_host a):9092 (public $NB_PUBLIC:9092)"
}

# boot_site VM ADDRESS [NAME=VALUE...]: a training site's SuperNode, static address and CA.
boot_site() {
	local vm=$1 addr=$2 d=$W/vm-$1 t0 nc
	shift 2
	mkdir -p "$d"
	t0=$(now)
	one_env "$vm" "$d/one_env" FL_TLS_ENABLED=YES FL_SUPERLINK_ADDRESS="$addr" \
		FL_SSL_CA_CERTFILE="$(base64 -w0 "$W/vm-100/flower/certs/ca.crt")" "$@"
	nc=$(nb_in "${zone_of[$vm]}" "$bin/fl-onegate" -C "$d/one_env" partition) || die "VM $vm: fl-onegate partition failed"
	must "VM $vm: fl-context render" nb_in "${zone_of[$vm]}" env FL_NODE_CONFIG="$nc" \
		"$bin/fl-context" -c "$d/one_env" render --role supernode -o "$d/supernode.conf"
	must "VM $vm: fl-certgen supernode" nb_in "${zone_of[$vm]}" "$bin/fl-certgen" -c "$d/supernode.conf" supernode \
		--dir "$d/flower/certs" --owner 0:0 >"$d/trust.env"
	start_supernode "$vm"
	say "VM $vm (zone ${zone_of[$vm]}) booted in $(secs "$t0" "$(now)")s: $nc, SuperLink $addr"
}
start_supernode() {
	local vm=$1 d=$W/vm-$1
	must "VM $vm: fl-launch start" launch "$vm" start
	must "VM $vm: fl-launch wait-healthy" launch "$vm" wait-healthy --timeout "$(left)"
	must "VM $vm: fl-launch publish-ready" launch "$vm" publish-ready
	ln -sf "$d/flower/logs/flower-supernode.log" "$W/logs/supernode-$vm.log"
}

# --- the operator's CLI, in zone A (07 §3.1: <= 1.25 a federation in the app's pyproject,
# 1.26+ a SuperLink connection in $FLWR_HOME/config.toml)
cli_setup() {
	local control ca=$W/vm-100/flower/certs/ca.crt
	control=$(launch 100 show | sed -n 's/^FL_CONTROL_ADDRESS=//p')
	rm -rf "$W/app" "$W/cli"
	mkdir -p "$W/cli/home"
	flwr_app "$ROOT/share/flower-app" "$W/app"
	flwr_connect "$W/app" "$W/cli" ms "$control" "root-certificates = \"$ca\""
	rc_line=$(nb_in a "$bin/fl-context" -c "$W/vm-100/superlink.conf" run-config) || die "fl-context run-config failed"
}
cli() { nb_in a env HOME="$W/cli/home" FLWR_HOME="$W/cli" timeout "$(left)" flwr "$@"; }

# run_start N [RUN-CONFIG]: submit run N (its log streamed to run<N>.log); sets RUN_ID.
run_start() {
	local n=$1 more=${2:-} out
	local -a a=(--run-config "$rc_line")
	[ -n "$more" ] && a+=(--run-config "$more")
	out=$(cli run "$W/app" ms "${a[@]}" --format json 2>"$W/logs/flwr-run$n.log")
	RUN_ID=$(jq -r 'select(.success == true) | ."run-id"' <<<"$out" 2>/dev/null)
	[ -n "$RUN_ID" ] || die "run $n: flwr run failed: $out $(tail -n 5 "$W/logs/flwr-run$n.log")"
	setsid ip netns exec "$(nb_ns a)" env HOME="$W/cli/home" FLWR_HOME="$W/cli" PATH="$PATH" \
		flwr log "$RUN_ID" "${FLWR_CONN[@]}" --stream >"$W/run$n.log" 2>&1 </dev/null &
	LOG_PID=$!
	RUN_T0=$(now)
	say "run $n: $RUN_ID submitted${more:+ ($more)}"
}
# run_events N: the run's JSON events so far (run<N>.log -> events<N>.jsonl).
run_events() {
	flwr_events "$W/run$1.log" "$W/events$1.jsonl"
}
rounds_done() { run_events "$1"; jq -s '[.[] | select(.event == "round_end")] | length' "$W/events$1.jsonl"; }
# run_wait N: until run N is finished; RUN<N>_ROUNDS, RUN<N>_S, RUN<N>_STATUS in result.env.
run_wait() {
	local n=$1 status=''
	while kill -0 "$LOG_PID" 2>/dev/null; do
		[ "$(date +%s)" -lt "$deadline" ] || die "run $n ($RUN_ID) not finished at the deadline" 4
		sleep 1
	done
	while :; do
		status=$(flwr_status "$RUN_ID" 2>/dev/null)
		case $status in finished:*) break ;; esac
		[ "$(date +%s)" -lt "$deadline" ] || die "run $n ($RUN_ID) still '${status:-unknown}' at the deadline" 4
		sleep 1
	done
	local r
	r=$(rounds_done "$n")
	result "RUN${n}_ROUNDS" "$r"
	result "RUN${n}_S" "$(secs "$RUN_T0" "$(now)")"
	result "RUN${n}_STATUS" "$status"
	say "run $n: $status, $r round(s) in $(secs "$RUN_T0" "$(now)")s"
	[ "$status" = finished:completed ] || die "run $n ended $status: $(tail -n 20 "$W/run$n.log")"
}
# wait_round_start N ROUND: until run N's round ROUND has started.
wait_round_start() {
	while :; do
		run_events "$1"
		jq -e --argjson r "$2" 'select(.event == "round_start" and .data.round == $r)' "$W/events$1.jsonl" >/dev/null && return 0
		[ "$(date +%s)" -lt "$deadline" ] || die "run $1: round $2 did not start by the deadline" 4
		sleep 0.5
	done
}
# rejoin ZONE T0: seconds from T0 until the SuperLink's next packet to ZONE got through the
# router (the site talks to it again).
rejoin() {
	local z=$1 t0=$2 c0
	c0=$(nb_sent "$z")
	while :; do
		[ "$(nb_sent "$z")" != "$c0" ] && break
		[ "$(date +%s)" -lt "$deadline" ] || die "zone $z: no packet from the SuperLink by the deadline" 4
		sleep 0.2
	done
	secs "$t0" "$(now)"
}

sl_extra=()
[ -n "${want[keepalive]:-}" ] && sl_extra=(FL_GRPC_KEEPALIVE_TIME=60 FL_GRPC_KEEPALIVE_TIMEOUT=20)
boot_superlink
openssl x509 -in "$W/vm-100/flower/certs/server.pem" -noout -ext subjectAltName | tail -n 1 | sed 's/^ *//' >"$W/san.txt"
result SAN "\"$(cat "$W/san.txt")\""
grep -q "IP Address:$NB_PUBLIC" "$W/san.txt" || die "the SuperLink's certificate does not cover $NB_PUBLIC: $(cat "$W/san.txt")"
# A real handshake from site C through the NAT to the public address, checked against it (h2
# for a gRPC Fleet API, which refuses other protocols; the verdict is s_client's verify line:
# the server may close right after).
alpn=()
[ "$era" = C ] || alpn=(-alpn h2)
tls_check() { # IP: the verify result of a handshake naming IP
	nb_in c openssl s_client -connect "$NB_PUBLIC:9092" "${alpn[@]}" -CAfile "$W/vm-100/flower/certs/ca.crt" \
		-verify_ip "$1" </dev/null 2>&1 | tee "$W/logs/s_client-$1.log" | sed -n 's/^ *Verify return code: //p' | tail -n 1
}
v=$(tls_check "$NB_PUBLIC")
[ "$v" = "0 (ok)" ] || die "TLS to $NB_PUBLIC:9092 from site C: '$v' (logs/s_client-$NB_PUBLIC.log)"
# ... and an address the certificate does not name is refused (design 04 §2.3's SAN problem).
v=$(tls_check 198.51.100.7)
[[ $v == *"IP address mismatch"* ]] || die "TLS verified 198.51.100.7 against a certificate that does not name it: '$v'"
result TLS_PUBLIC_VERIFY ok

# --- edge: discovery through an unreachable OneGate, exponential backoff, then found
if [ -n "${want[edge]:-}" ]; then
	d=$W/vm-101
	mkdir -p "$d"
	one_env 101 "$d/one_env" FL_EDGE_BACKOFF=exponential FL_EDGE_MAX_BACKOFF=300
	nb_fault e onegate
	edge_t0=$(now)
	nb_in e "$bin/fl-onegate" -C "$d/one_env" discover -o "$d/discovery.env" --deadline "$(left)" \
		>"$W/logs/edge-discover.log" 2>&1 &
	edge_discover=$!
fi

# --- the training sites
ka_b=() ka_c=()
if [ -n "${want[keepalive]:-}" ]; then
	# The firewall is there before the sites connect: conntrack takes a connection's timeout
	# policy when it first sees it.
	nb_fault b idle
	nb_fault c idle
	ka_b=(FL_GRPC_KEEPALIVE_TIME=4 FL_GRPC_KEEPALIVE_TIMEOUT=2)
	ka_c=(FL_GRPC_KEEPALIVE_TIME=60 FL_GRPC_KEEPALIVE_TIMEOUT=20)
fi
boot_site 200 "$(nb_host a):9092" FL_PARTITION_OFFSET=0 FL_NUM_PARTITIONS=4 "${ka_b[@]}"
# Site C also pins the CA by its fingerprint (FL_CA_FINGERPRINT, as fl-certgen printed it).
boot_site 300 "$NB_PUBLIC:9092" FL_PARTITION_OFFSET=2 FL_NUM_PARTITIONS=4 "${ka_c[@]}" \
	FL_CA_FINGERPRINT="$(sed -n 's/^FL_CA_FINGERPRINT=//p' "$W/vm-100/certgen.env")"
node_config() { sed -n 's/^FL_NODE_CONFIG=//p' "$W/vm-$1/supernode.conf" | tr -d "'\""; }
pb=$(node_config 200)
pc=$(node_config 300)
result PARTITION_B "\"$pb\""
result PARTITION_C "\"$pc\""
[ "${pb%% *}" != "${pc%% *}" ] || die "sites B and C got the same partition: '$pb' / '$pc'"

if [ -n "${want[edge]:-}" ]; then
	# OneGate comes back 25 s after the edge SuperNode started looking.
	sleep "$(jq -rn --argjson a "$edge_t0" --argjson b "$(now)" '[25 - ($b - $a), 0] | max')"
	nb_clear e
	edge_back=$(now)
	wait "$edge_discover" || die "edge: fl-onegate discover failed: $(tail -n 5 "$W/logs/edge-discover.log")"
	edge_found=$(now)
	attempts=$(grep -c 'SuperLink not found, retrying' "$W/logs/edge-discover.log")
	waits=$(sed -n 's/.*retrying in \([0-9]*\)s.*/\1/p' "$W/logs/edge-discover.log" | paste -sd' ')
	result EDGE_WAITS "\"$waits\""
	result EDGE_FOUND_S "$(secs "$edge_t0" "$edge_found")"
	result EDGE_AFTER_ONEGATE_S "$(secs "$edge_back" "$edge_found")"
	say "edge: SuperLink found $(secs "$edge_t0" "$edge_found")s after the start, after waits of $waits s"
	[ "$attempts" -ge 2 ] || die "edge: discovery did not retry ($(cat "$W/logs/edge-discover.log"))"
	d=$W/vm-101
	FL_NODE_CONFIG="partition-id=0 num-partitions=1" nb_in e "$bin/fl-context" -c "$d/one_env" \
		render --role supernode -o "$d/supernode.conf" || die "edge: fl-context render failed"
	must "edge: fl-certgen supernode" nb_in e "$bin/fl-certgen" -c "$d/supernode.conf" supernode \
		--onegate-file "$d/discovery.env" --dir "$d/flower/certs" --owner 0:0 >"$d/trust.env"
	start_supernode 101
	result EDGE_JOINED_S "$(secs "$edge_t0" "$(now)")"
fi

cli_setup
nodes=2
[ -n "${want[edge]:-}" ] && nodes=3
pids0="$(sn_pid 200) $(sn_pid 300)"


# --- sites: 3 rounds across the zones (and the footprint, idle before and training during)
if [ -n "${want[sites]:-}" ]; then
	if [ -n "${want[footprint]:-}" ]; then
		python3 "$HERE/footprint.py" "$(sn_pid 200)" 10 >"$W/footprint-idle.txt"
	fi
	run_start 1 "num-server-rounds=3"
	if [ -n "${want[footprint]:-}" ]; then
		# SuperNode B's process tree (footprint.py) until the run is over.
		python3 "$HERE/footprint.py" "$(sn_pid 200)" 0 >"$W/footprint-run.txt" &
		fp=$!
	fi
	run_wait 1
	if [ -n "${want[footprint]:-}" ]; then
		kill -TERM "$fp" 2>/dev/null
		wait "$fp"
		for k in idle run; do
			read -r rss cpu n <"$W/footprint-$k.txt"
			result "FOOTPRINT_${k^^}_RSS_MIB" "$rss"
			result "FOOTPRINT_${k^^}_CPU_PCT" "$cpu"
			result "FOOTPRINT_${k^^}_PROCS" "$n"
		done
	fi
	[ "$(rounds_done 1)" = 3 ] || die "run 1: $(rounds_done 1) rounds, not 3"
fi

# --- keepalive: one long round behind an 8 s idle timeout
if [ -n "${want[keepalive]:-}" ]; then
	for z in b c; do
		setsid ip netns exec "$(nb_ns rt)" tcpdump -n -tt -l -i "r$z" "tcp and host $(nb_host "$z")" \
			>"$W/capture-$z.txt" 2>"$W/logs/tcpdump-$z.log" </dev/null &
		echo "$!" >"$W/tcpdump-$z.pid"
	done
	sleep 1
	stale_b0=$(nb_stale b) stale_c0=$(nb_stale c)
	run_start 2 "num-server-rounds=1 train-delay-s=30"
	wait_round_start 2 1
	ka_t0=$(now)
	sleep 40
	ka_t1=$(now)
	for z in b c; do kill -TERM -- "-$(<"$W/tcpdump-$z.pid")" 2>/dev/null; done
	sleep 0.5
	stale_b=$(($(nb_stale b) - stale_b0)) stale_c=$(($(nb_stale c) - stale_c0))
	# Gaps between packets of each site's connection while its ClientApp trained.
	for z in b c; do
		awk -v a="$ka_t0" -v b="$ka_t1" '$1 >= a && $1 <= b {if (p) {g = $1 - p; if (g > m) m = g}; p = $1; n++}
			END {printf "%d %.1f\n", n, m}' "$W/capture-$z.txt" >"$W/gaps-$z.txt"
	done
	read -r kb_n kb_gap <"$W/gaps-b.txt"
	read -r kc_n kc_gap <"$W/gaps-c.txt"
	# Keepalive pings: site B's small TLS records (a PING frame, 17 bytes, in TLS 1.3) sent
	# after a silence of 3 s or more on its connection; the silence before each is the
	# interval it pinged at.
	awk -v a="$ka_t0" -v b="$ka_t1" -v h="$(nb_host b)" '$1 >= a && $1 <= b {
			if ($3 ~ "^" h "\\." && / length 39$/ && p && $1 - p >= 3) {n++; s += $1 - p}
			p = $1
		} END {printf "%d %.1f\n", n, n ? s / n : 0}' "$W/capture-b.txt" >"$W/pings-b.txt"
	read -r npings interval <"$W/pings-b.txt"
	result KA_B_STALE_DROPS "$stale_b"
	result KA_C_STALE_DROPS "$stale_c"
	result KA_B_PACKETS "$kb_n"
	result KA_B_MAX_GAP_S "$kb_gap"
	result KA_B_PINGS "$npings"
	result KA_B_PING_INTERVAL_S "$interval"
	result KA_C_PACKETS "$kc_n"
	result KA_C_MAX_GAP_S "$kc_gap"
	# Did each site's training reply get through? Flower logs "Sent successfully" once it has.
	for z in b c; do
		vm=$([ "$z" = b ] && echo 200 || echo 300)
		sent=$(grep -E 'Sending: train|Sent successfully' "$W/vm-$vm/flower/logs/flower-supernode.log" | tail -n 1)
		case $sent in *'Sent successfully'*) sent=yes ;; *) sent=no ;; esac
		result "KA_${z^^}_REPLY_SENT" "$sent"
	done
	say "keepalive: site B $kb_n packets, largest gap ${kb_gap}s, $npings pings every ${interval}s, $stale_b stale; site C $kc_n packets, largest gap ${kc_gap}s, $stale_c stale"
fi

# --- outage: site B's link down for 20 s from the start of round 2 (Flower waits for its
# reply: the round takes longer, then B delivers once the link is back)
if [ -n "${want[outage]:-}" ]; then
	run_start 3 "num-server-rounds=3"
	wait_round_start 3 2
	nb_fault b down
	t_down=$(now)
	sleep 20
	nb_clear b
	t_up=$(now)
	result OUTAGE_S "$(secs "$t_down" "$t_up")"
	result REJOIN_OUTAGE_S "$(rejoin b "$t_up")"
	run_wait 3
	run_events 3
	result RUN3_RESPONDED "\"$(jq -r 'select(.event == "round_end") | .data.num_clients_responded' "$W/events3.jsonl" | paste -sd' ')\""
	result RUN3_ROUND_S "\"$(jq -r 'select(.event == "round_end") | .data.round_duration_seconds | . * 10 | round / 10' "$W/events3.jsonl" | paste -sd' ')\""
	[ "$(rounds_done 3)" = 3 ] || die "run 3: $(rounds_done 3) rounds, not 3"
fi

# --- restart: the SuperLink restarts while every site is cut off
if [ -n "${want[restart]:-}" ]; then
	for z in b c; do nb_fault "$z" blackhole; done
	[ -n "${want[edge]:-}" ] && nb_fault e blackhole
	must "SuperLink: fl-launch restart" launch 100 restart
	must "SuperLink: fl-launch wait-healthy after the restart" launch 100 wait-healthy --timeout "$(left)"
	sleep 10
	t_back=$(now)
	for z in b c; do nb_clear "$z"; done
	[ -n "${want[edge]:-}" ] && nb_clear e
	result REJOIN_RESTART_B_S "$(rejoin b "$t_back")"
	result REJOIN_RESTART_C_S "$(rejoin c "$t_back")"
	run_start 4 "num-server-rounds=1 min-available-clients=$nodes min-fit-clients=$nodes min-evaluate-clients=$nodes"
	run_wait 4
fi

# --- lossy: 30 % loss and 300 ms delay each way on site B for a whole run
if [ -n "${want[lossy]:-}" ]; then
	nb_fault b loss 30
	nb_fault b delay 300
	run_start 5 "num-server-rounds=2"
	run_wait 5
	nb_clear b
	run_events 5
	result RUN5_RESPONDED "\"$(jq -r 'select(.event == "round_end") | .data.num_clients_responded' "$W/events5.jsonl" | paste -sd' ')\""
fi

pids1="$(sn_pid 200) $(sn_pid 300)"
restarts=0
[ "$pids0" = "$pids1" ] || restarts=1
result RESTARTS "$restarts"
result SN_PIDS "\"$pids0 -> $pids1\""
[ "$restarts" = 0 ] || [ -n "${want[keepalive]:-}" ] || die "a SuperNode was restarted ($pids0 -> $pids1)"
result TOTAL_S "$(($(date +%s) - ${t_start%.*}))"
result RESULT ok
say "done: $(tr '\n' ' ' <"$W/result.env")"
