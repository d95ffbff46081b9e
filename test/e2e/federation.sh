#!/usr/bin/env bash
# federation.sh: one real Flower federation on loopback, booted the way the appliances boot,
# through the toolkit: a OneGate emulator holds a service (SuperLink VM 100, SuperNode VMs 101
# and 102); the SuperLink chain is fl-context render -> fl-certgen superlink -> fl-launch start
# -> fl-launch wait-healthy -> fl-launch publish-ready; each SuperNode chain is fl-onegate
# partition -> fl-context render -> fl-onegate discover -> fl-certgen supernode -> fl-launch
# start -> wait-healthy -> publish-ready (process runtime, no supervisor). Then `flwr run` of
# share/flower-app with `fl-context run-config`, and the per-round loss. Every process it
# started is stopped on exit, also on Ctrl-C or failure.
#
# usage: federation.sh [options] VENV WORKDIR
#
#   VENV      a virtualenv with flwr (its bin/ must hold flwr, flower-superlink, ...)
#   WORKDIR   created if missing; gets onegate/ (world, log), vm-100/ vm-101/ vm-102/ (each
#             VM's one_env, rendered configuration, flower dir with certs/ logs/ state/),
#             logs/ (links to every process log), app/, cli/ and:
#               result.env     VERSION ERA TLS RUN_ID STATUS ROUNDS FIRST_ROUND_S (after this
#                              script's start) FIRST_ROUND_AT (epoch) TOTAL_S SL_BOOT_S
#                              SN_BOOT_S (boot chains: the tools + Flower start-up)
#               pgids          the process groups it started (all gone when it exits)
#               proxy.txt      Flower 1.40+ (the Fleet proxy): after the SuperLink's boot, what
#                              listens on the Fleet and Control ports (`ss -Hltnp`), then
#                              `METHOD PATH STATUS` of requests to the published Fleet address
#               events.jsonl   the ServerApp's JSON events
#               serverapp.log  the run's log (`flwr log RUN_ID --stream`)
#   --tls                FL_TLS_ENABLED=YES on the SuperLink: fl-certgen makes the CA and server
#                        certificate; the SuperNodes learn TLS and the CA from OneGate
#   --deadline S         overall limit in seconds (default 180); exit 4 when reached
#   --run-config R       extra run-config pairs after fl-context's (app-only keys, overrides)
#   --restart-supernode  restart SuperNode 0 (fl-launch restart) once round 1 has ended
#   --restart-superlink  after the run: restart the SuperLink, then run again (rounds from
#                        --second-rounds, default 1) with the same, never restarted SuperNodes
#   --wrong-ca           SuperNode 1 is given another CA (FL_SSL_CA_CERTFILE): its boot must
#                        fail; exits 1 after SuperNode 1's wait-healthy
#   --boot-only          stop after the boot chains (no run)
#   --metrics            FL_METRICS_ENABLED=YES on the SuperLink (FL_METRICS_PORT a free port):
#                        fl-launch runs `fl-metrics serve` beside it (its state database and
#                        log); Prometheus scrapes it every second (test/prom/server.sh); after
#                        the (first) run, once Prometheus saw fl_training_status 2 (or 30 s),
#                        metrics/ holds prom.json (every fl_* series Prometheus has then, the
#                        query API's .data), round_current.txt (max(fl_round_current) each
#                        second of the run), queries.txt (a few PromQL expressions and their
#                        values), exposition.txt (GET /metrics), show.txt (`fl-metrics show`
#                        on the same sources), argv.txt (fl-launch metrics-argv) and prom/
#                        (config, TSDB, log)
#
# FL_* variables in the environment reach every VM's context (environment overlay), so
# FL_STRATEGY, FL_NUM_ROUNDS, FL_CHECKPOINT_* ... choose the strategy, rounds and checkpoints.
# Tools come from $FLKIT_BIN (default build-e2e/bin or build/bin of this tree).
# stdout: `round N loss L accuracy A` lines, then `status STATUS` (twice with
# --restart-superlink). Logs go to stderr. Exit: 0 run finished:completed, 1 failure,
# 2 usage, 4 deadline reached.
set -uo pipefail

prog=${0##*/}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

# shellcheck source=test/lib/script.bash
. "$(dirname "$0")/../lib/script.bash"
# shellcheck source=test/lib/flwr.bash
. "$(dirname "$0")/../lib/flwr.bash"

tls=0 deadline_s=180 extra_rc='' restart_sn=0 restart_sl=0 wrong_ca=0 boot_only=0 second_rounds=1 metrics=0
while [ $# -gt 0 ]; do
	case $1 in
	--tls) tls=1 ;;
	--deadline) deadline_s=${2:?}; shift ;;
	--run-config) extra_rc=${2?}; shift ;;
	--restart-supernode) restart_sn=1 ;;
	--restart-superlink) restart_sl=1 ;;
	--second-rounds) second_rounds=${2:?}; shift ;;
	--wrong-ca) wrong_ca=1 ;;
	--boot-only) boot_only=1 ;;
	--metrics) metrics=1 ;;
	-h | --help) usage ;;
	--) shift; break ;;
	-*) printf '%s: unknown option %s\n' "$prog" "$1" >&2; usage ;;
	*) break ;;
	esac
	shift
done
[ $# -eq 2 ] || usage
need_deadline
[[ $second_rounds =~ ^[1-9][0-9]*$ ]] || die "--second-rounds '$second_rounds' is not a positive integer" 2
venv=$(cd "$1" 2>/dev/null && pwd) || die "venv '$1' does not exist" 2
mkdir -p "$2" || die "cannot create work dir '$2'"
work=$(cd "$2" && pwd)
for t in flwr flower-superlink flower-supernode python; do
	[ -x "$venv/bin/$t" ] || die "$venv/bin/$t is missing; install flwr into the venv ($venv/bin/pip install flwr numpy)" 2
done
bin=${FLKIT_BIN:-}
if [ -z "$bin" ]; then
	for d in "$root/build-e2e/bin" "$root/build/bin"; do
		[ -x "$d/fl-launch" ] && bin=$d && break
	done
fi
need_tools "$bin" fl-context fl-certgen fl-onegate fl-launch
if [ "$metrics" = 1 ]; then
	[ -x "$bin/fl-metrics" ] || die "--metrics: $bin/fl-metrics not found; build the tools (make all) or set FLKIT_BIN" 2
	command -v prometheus >/dev/null || die "--metrics: prometheus is not installed (apt-get install prometheus)" 2
fi

start_clock
since() { jq -rn --argjson a "$1" --argjson b "$(date +%s.%N)" '($b - $a) * 10 | round / 10'; }

export PATH="$venv/bin:$PATH" FLWR_TELEMETRY_ENABLED=0 FLWR_DISABLE_UPDATE_CHECK=1 PYTHONDONTWRITEBYTECODE=1
unset FLWR_HOME VIRTUAL_ENV FLKIT_CONTEXT TOKENTXT ONEGATE_TOKEN VMID ONEGATE_ENDPOINT

rm -rf "$work/pgids" "$work/logs" "$work/app" "$work/cli" "$work/onegate" "$work"/vm-* \
	"$work/result.env" "$work/events.jsonl" "$work/serverapp.log" "$work/metrics"
mkdir -p "$work/logs" "$work/onegate"

# --- processes: the emulator and CLI helpers are ours (own sessions); Flower processes are
# fl-launch's (process runtime without a supervisor: a session each, stopped by fl-launch).
pgids=() launched=()
cleanup() {
	local rc=$? g i
	trap - EXIT INT TERM
	for ((i = ${#launched[@]} - 1; i >= 0; i--)); do
		opts "${launched[i]}"
		"$bin/fl-launch" -q "${LO[@]}" stop 2>/dev/null
	done
	[ "$metrics" = 1 ] && "$root/test/prom/server.sh" stop "$work/metrics/prom" 2>/dev/null
	for g in "${pgids[@]}"; do kill -TERM -- "-$g" 2>/dev/null; done
	for _ in $(seq 50); do
		running=0
		for g in "${pgids[@]}"; do kill -0 -- "-$g" 2>/dev/null && running=1; done
		[ "$running" = 0 ] && break
		sleep 0.1
	done
	for g in "${pgids[@]}"; do kill -KILL -- "-$g" 2>/dev/null; done
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

declare -A pid
bg() { # NAME OUT CMD...: run CMD in a session of its own, output to OUT
	local name=$1 out=$2
	shift 2
	setsid "$@" >"$out" 2>&1 </dev/null &
	pid[$name]=$!
	pgids+=("$!")
	echo "$!" >>"$work/pgids"
}

version=$("$venv/bin/python" -c 'import flwr; print(flwr.__version__)') || die "cannot import flwr from $venv"
IFS=. read -r vmaj vmin _ <<<"$version"
vnum=$((vmaj * 1000 + vmin))
if [ "$vnum" -ge 1040 ]; then era=C; elif [ "$vnum" -ge 1036 ]; then era=B; else era=A; fi
say "Flower $version in $venv (era $era); tools in $bin; work dir $work"

# --- free loopback ports, held open together so they differ, and taken below the kernel's
# ephemeral range: a port bind(0) hands out (the OneGate emulator, any outgoing connection)
# could be handed out again between this pick and the service's own bind.
read -r -a ports < <("$venv/bin/python" - <<'EOF'
import random, socket
with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
    first = int(f.read().split()[0])
lo, hi = 20000, max(20100, min(first, 32768))
socks, tried = [], set()
while len(socks) < 7 and len(tried) < hi - lo:
    p = random.randrange(lo, hi)
    if p in tried:
        continue
    tried.add(p)
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
    except OSError:
        s.close()
        continue
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
)
[ "${#ports[@]}" -eq 7 ] || die "could not pick free ports"
fleet_port=${ports[0]} control_port=${ports[1]} appio_port=${ports[2]} health_port=${ports[3]}

# --- OneGate: a service with one SuperLink and two SuperNodes, all on 127.0.0.1
world=$work/onegate/world.json
cat >"$world" <<'EOF'
{
  "vms": {
    "100": {"name": "superlink_0_(service_9)", "nics": [{"IP": "127.0.0.1", "NAME": "NIC0"}]},
    "101": {"name": "supernode_0_(service_9)", "nics": [{"IP": "127.0.0.1", "NAME": "NIC0"}]},
    "102": {"name": "supernode_1_(service_9)", "nics": [{"IP": "127.0.0.1", "NAME": "NIC0"}]}
  },
  "services": {
    "9": {"name": "flkit e2e", "state": 2, "roles": [
      {"name": "superlink", "cardinality": 1, "state": 2, "nodes": [100]},
      {"name": "supernode", "cardinality": 2, "state": 2, "nodes": [101, 102]}
    ]}
  }
}
EOF
bg onegate "$work/logs/onegate.log" python3 "$root/test/onegate/emulator.py" --world "$world" --port 0 \
	--port-file "$work/onegate/port"
# Until the emulator wrote its port (30 s at most: a guard against a hang, not a bound).
for _ in $(seq 600); do [ -s "$work/onegate/port" ] && break; sleep 0.05; done
[ -s "$work/onegate/port" ] || die "the OneGate emulator did not start: $(tail -n 3 "$work/logs/onegate.log")"
og_url=http://127.0.0.1:$(<"$work/onegate/port")
mapfile -t tokens < <(python3 "$root/test/onegate/emulator.py" --world "$world" --print-token 100,101,102)
[ "${#tokens[@]}" -eq 3 ] || die "no OneGate tokens from the emulator"

# one_env VMID TOKEN FILE [NAME=VALUE...]: what the context agent writes: the OneGate
# identity first (as loc-16-gen-env does), then the context variables.
one_env() {
	local vm=$1 token=$2 f=$3 kv
	shift 3
	{
		printf 'export ONEGATE_ENDPOINT="%s"\nexport VMID="%s"\nexport TOKENTXT="%s"\n' "$og_url" "$vm" "$token"
		for kv in "$@"; do printf 'export %s="%s"\n' "${kv%%=*}" "${kv#*=}"; done
	} >"$f"
	chmod 600 "$f"
}
owner="$(id -u):$(id -g)"

# --- the SuperLink VM (100)
sl=$work/vm-100
mkdir -p "$sl"
sl_tls=NO
[ "$tls" = 1 ] && sl_tls=YES
sl_metrics=()
[ "$metrics" = 1 ] && sl_metrics=(FL_METRICS_ENABLED=YES FL_METRICS_PORT="${ports[6]}")
one_env 100 "${tokens[0]}" "$sl/one_env" FL_TLS_ENABLED="$sl_tls" \
	FL_FLEET_API_ADDRESS="127.0.0.1:$fleet_port" FL_CONTROL_API_ADDRESS="127.0.0.1:$control_port" "${sl_metrics[@]}"
# opts NODE: LO=the fl-launch options of NODE (sl, sn0, sn1).
opts() {
	local d
	case $1 in
	sl)
		LO=(-c "$sl/superlink.conf" --runtime process --supervisor none --flower-dir "$sl/flower"
			--flower-bin "$venv/bin" --owner "$owner" --addr 127.0.0.1 --appio-port "$appio_port"
			--health-port "$health_port" --one-env "$sl/one_env")
		;;
	sn*)
		d=$work/vm-$((101 + ${1#sn}))
		LO=(-c "$d/supernode.conf" --runtime process --supervisor none --flower-dir "$d/flower"
			--flower-bin "$venv/bin" --owner "$owner" --appio-port "${ports[$((4 + ${1#sn}))]}"
			--discovery "$d/discovery.env" --one-env "$d/one_env")
		;;
	esac
}
launch() { # NODE VERB [OPTIONS]: fl-launch for NODE
	local node=$1
	shift
	opts "$node"
	"$bin/fl-launch" "${LO[@]}" "$@"
}
t0=$(date +%s.%N)
must "SuperLink: fl-context render" "$bin/fl-context" -c "$sl/one_env" render --role superlink -o "$sl/superlink.conf"
must "SuperLink: fl-certgen superlink" "$bin/fl-certgen" -c "$sl/superlink.conf" superlink --dir "$sl/flower/certs" \
	--ca-key-dir "$sl/ca" --owner "$owner" --ip 127.0.0.1 >"$sl/certgen.env"
launched+=(sl)
must "SuperLink: fl-launch start" launch sl start
ln -sf "$sl/flower/logs/flower-superlink.log" "$work/logs/superlink.log"
sl_pgids() { # the SuperLink's process groups: Flower, and from 1.40 its Fleet proxy
	local f
	for f in "$sl/flower/run/flower-superlink.pid" "$sl/flower/run/flower-superlink-proxy.pid" \
		"$sl/flower/run/flower-metrics.pid"; do
		[ -e "$f" ] && cut -d' ' -f1 "$f" >>"$work/pgids"
	done
	return 0
}
sl_pgids
must "SuperLink: fl-launch wait-healthy" launch sl wait-healthy --timeout "$(left)"
must "SuperLink: fl-launch publish-ready" launch sl publish-ready
sl_boot=$(since "$t0")
say "SuperLink booted in ${sl_boot}s (fleet 127.0.0.1:$fleet_port, TLS $sl_tls)"
if [ "$era" = C ]; then
	# What faces the Fleet address: the proxy, passing the Fleet routes only.
	ss -Hltnp "( sport = :$fleet_port or sport = :$control_port )" >"$work/proxy.txt"
	scheme=http curl_tls=()
	[ "$tls" = 1 ] && scheme=https curl_tls=(--cacert "$sl/flower/certs/ca.crt")
	for req in "POST /v1/control/start-run" "POST /v1/control/list-runs" "POST /v1/runtime/get-nodes" \
		"POST /v1/runtime/push-task-output" "GET /docs" "POST /" "GET /v1/fleet/get-run" \
		"POST /v1/fleet/get-run/../../control/list-runs" "POST /v1/fleet/get-run"; do
		code=$(curl -s -o /dev/null -w '%{http_code}' --path-as-is "${curl_tls[@]}" -X "${req%% *}" \
			-H 'content-type: application/protobuf' --data-binary '' "$scheme://127.0.0.1:$fleet_port${req#* }")
		echo "$req $code" >>"$work/proxy.txt"
	done
fi

# --- fl-metrics, which fl-launch runs beside the SuperLink, and Prometheus scraping it
if [ "$metrics" = 1 ]; then
	mkdir -p "$work/metrics"
	ln -sf "$sl/flower/logs/flower-metrics.log" "$work/logs/fl-metrics.log"
	[ "$(launch sl status | sed -n 's/^METRICS_RUNNING=//p')" = yes ] ||
		die "--metrics: fl-launch runs no fl-metrics beside the SuperLink: $(launch sl status | tr '\n' ' ') $(tail -n 3 "$sl/flower/logs/flower-metrics.log" 2>/dev/null)"
	m_addr=$(launch sl show | sed -n 's/^FL_METRICS_ENDPOINT=//p')
	[ -n "$m_addr" ] || die "--metrics: fl-launch show prints no FL_METRICS_ENDPOINT"
	launch sl metrics-argv >"$work/metrics/argv.txt" || die "--metrics: fl-launch metrics-argv failed"
	# `fl-metrics show` reads the sources serve reads.
	m_src=()
	mapfile -t m_argv <"$work/metrics/argv.txt"
	for ((k = 0; k < ${#m_argv[@]} - 1; k++)); do
		case ${m_argv[k]} in --db | --follow | --strategy) m_src+=("${m_argv[k]}" "${m_argv[k + 1]}") ;; esac
	done
	prom=$("$root/test/prom/server.sh" start "$work/metrics/prom" "$m_addr" role=superlink deployment=e2e) ||
		die "--metrics: Prometheus did not start (test/prom/server.sh)"
	prom_pid=$(sed -n 's/^pid=//p' <<<"$prom")
	pgids+=("$prom_pid")
	echo "$prom_pid" >>"$work/pgids"
	ln -sf "$work/metrics/prom/log" "$work/logs/prometheus.log"
	say "fl-metrics serve on $m_addr (${m_src[*]}); Prometheus $(sed -n 's/^endpoint=//p' <<<"$prom")"
fi

# metrics_snapshot T0: what Prometheus scraped once the run is over (see --metrics).
metrics_snapshot() {
	local t0=$1 t1 m=$work/metrics ps=$root/test/prom/server.sh
	t1=$(date +%s)
	"$ps" wait "$m/prom" fl_training_status 2 60 >/dev/null ||
		say "Prometheus has no fl_training_status 2 (see $work/logs/fl-metrics.log)"
	# A scrape that fl-metrics served at least two polls (1 s each) after the run's log was
	# complete: every line of it read.
	"$ps" wait "$m/prom" "count(timestamp(up{job=\"fl_training\"}) > $((t1 + 2)))" 1 40 >/dev/null ||
		say "Prometheus scraped nothing after the run"
	"$ps" query "$m/prom" '{job="fl_training",__name__=~"fl_.*"}' >"$m/prom.json"
	"$ps" range "$m/prom" 'max(fl_round_current)' "$t0" "$(date +%s)" 1 >"$m/round_current.txt"
	local q v
	for q in fl_round_current fl_round_total fl_training_status fl_clients_connected fl_clients_responded \
		fl_aggregated_loss fl_aggregated_accuracy fl_checkpoint_saved_total \
		'fl_round_duration_seconds_sum / fl_round_duration_seconds_count' 'max_over_time(fl_round_current[10m])'; do
		v=$("$ps" value "$m/prom" "$q" 2>/dev/null) || v='(query failed)'
		printf '%-64s %s\n' "$q" "${v:-(no value)}"
	done >"$m/queries.txt"
	curl -s "http://$m_addr/metrics" >"$m/exposition.txt"
	"$bin/fl-metrics" show "${m_src[@]}" >"$m/show.txt" 2>&1
	say "metrics: $(jq -r '[.result[] | select(.metric.__name__ | IN("fl_round_current", "fl_training_status", "fl_clients_connected"))
		| "\(.metric.__name__) \(.value[1])"] | join(", ")' "$m/prom.json"); round_current over the run: $(uniq "$m/round_current.txt" | paste -sd' ')"
}

# --- the SuperNode VMs (101, 102), booted one after the other like OneFlow's straight policy
sn_boot=
boot_supernode() { # I
	local i=$1 vm=$((101 + $1)) d t1
	d=$work/vm-$vm
	mkdir -p "$d"
	local -a extra=()
	if [ "$wrong_ca" = 1 ] && [ "$i" = 1 ]; then
		FL_TLS_ENABLED=YES "$bin/fl-certgen" -E superlink --dir "$work/other-ca" --ca-key-dir "$work/other-ca-key" \
			--owner "$owner" --ip 127.0.0.1 >/dev/null 2>&1 || die "cannot make the other CA"
		extra=(FL_TLS_ENABLED=YES FL_SSL_CA_CERTFILE="$(base64 -w0 "$work/other-ca/ca.crt")")
	fi
	one_env "$vm" "${tokens[$((1 + i))]}" "$d/one_env" "${extra[@]}"
	t1=$(date +%s.%N)
	FL_NODE_CONFIG=$("$bin/fl-onegate" -C "$d/one_env" partition) || die "SuperNode $i: fl-onegate partition failed"
	must "SuperNode $i: fl-context render" env FL_NODE_CONFIG="$FL_NODE_CONFIG" \
		"$bin/fl-context" -c "$d/one_env" render --role supernode -o "$d/supernode.conf"
	must "SuperNode $i: fl-onegate discover" "$bin/fl-onegate" -C "$d/one_env" discover -o "$d/discovery.env" --deadline "$(left)"
	must "SuperNode $i: fl-certgen supernode" "$bin/fl-certgen" -c "$d/supernode.conf" supernode \
		--onegate-file "$d/discovery.env" --dir "$d/flower/certs" --owner "$owner" >"$d/trust.env"
	launched+=("sn$i")
	must "SuperNode $i: fl-launch start" launch "sn$i" start
	ln -sf "$d/flower/logs/flower-supernode.log" "$work/logs/supernode-$i.log"
	cut -d' ' -f1 "$d/flower/run/flower-supernode.pid" >>"$work/pgids"
	must "SuperNode $i: fl-launch wait-healthy" launch "sn$i" wait-healthy --timeout "$(left)"
	must "SuperNode $i: fl-launch publish-ready" launch "sn$i" publish-ready
	sn_boot=$(since "$t1")
	say "SuperNode $i booted in ${sn_boot}s ($(sed -n 's/^FL_NODE_CONFIG=//p' "$d/supernode.conf"))"
}
boot_supernode 0
boot_supernode 1
# What OneGate holds now: what each VM published (FL_READY, FL_ENDPOINT, FL_NODE_READY ...).
for vm in 100 101 102; do
	"$bin/fl-onegate" -q -C "$work/vm-$vm/one_env" vm show --json >"$work/onegate/vm-$vm.json" ||
		die "cannot read VM $vm back from OneGate"
done

if [ "$boot_only" = 1 ]; then
	printf 'VERSION=%s\nERA=%s\nTLS=%s\nSL_BOOT_S=%s\nSN_BOOT_S=%s\n' "$version" "$era" "$tls" "$sl_boot" \
		"$sn_boot" >"$work/result.env"
	say "boot only: done"
	exit 0
fi

# --- the app and the CLI connection (07 §3.1): <= 1.25 a federation in the app's
# pyproject.toml; 1.26+ a SuperLink connection in $FLWR_HOME/config.toml.
control=$(launch sl show | sed -n 's/^FL_CONTROL_ADDRESS=//p')
mkdir -p "$work/cli/home"
flwr_app "$root/share/flower-app" "$work/app"
if [ "$tls" = 1 ]; then
	conn_tls="root-certificates = \"$sl/flower/certs/ca.crt\""
else
	conn_tls="insecure = true"
fi
flwr_connect "$work/app" "$work/cli" e2e "$control" "$conn_tls"
cli() { HOME=$work/cli/home FLWR_HOME=$work/cli timeout "$(left)" flwr "$@"; }

alive() { # fail with the log tail when a Flower process has exited
	local n
	for n in sl sn0 sn1; do
		launch "$n" -q status >/dev/null && continue
		launch "$n" logs -n 30 >&2
		die "a Flower process exited early ($n: $(launch "$n" status | sed -n 's/^LOG=//p'))"
	done
}

rc_line=$("$bin/fl-context" -c "$sl/superlink.conf" run-config) || die "fl-context run-config failed"

# run_once TAG [extra run-config]: submit, wait, write events; prints round lines and status.
run_once() {
	local tag=$1 more=${2:-} out run_id status=
	say "run-config: $rc_line${extra_rc:+ $extra_rc}${more:+ $more}"
	local -a rc_args=(--run-config "$rc_line")
	[ -n "$extra_rc" ] && rc_args+=(--run-config "$extra_rc")
	[ -n "$more" ] && rc_args+=(--run-config "$more")
	out=$(cli run "$work/app" e2e "${rc_args[@]}" --format json 2>"$work/logs/flwr-run$tag.log")
	run_id=$(jq -r 'select(.success == true) | ."run-id"' <<<"$out" 2>/dev/null)
	[ -n "$run_id" ] || [ "$(date +%s)" -lt "$deadline" ] || die "flwr run did not return by the deadline (${deadline_s}s)" 4
	[ -n "$run_id" ] || die "flwr run failed: $out $(tail -n 5 "$work/logs/flwr-run$tag.log")"
	say "run $run_id submitted"
	# `flwr log --stream` returns when the run is finished (one CLI process instead of one
	# per poll); then `flwr list` gives the status.
	bg "logstream$tag" "$work/serverapp$tag.log" env HOME="$work/cli/home" FLWR_HOME="$work/cli" flwr log "$run_id" "${FLWR_CONN[@]}" --stream
	local restarted=0
	while kill -0 "${pid[logstream$tag]}" 2>/dev/null; do
		if [ "$restart_sn" = 1 ] && [ "$restarted" = 0 ] && [ -z "$tag" ] &&
			grep -q '"event":"round_end"' "$work/serverapp$tag.log"; then
			say "round 1 ended: restarting SuperNode 0 (fl-launch restart)"
			must "SuperNode 0: fl-launch restart" launch sn0 restart
			cut -d' ' -f1 "$work/vm-101/flower/run/flower-supernode.pid" >>"$work/pgids"
			must "SuperNode 0: fl-launch wait-healthy after the restart" launch sn0 wait-healthy --timeout "$(left)"
			restarted=1
			echo "RESTARTED_SUPERNODE=1" >>"$work/restarts.env"
		fi
		# Three status checks cost a few ms of C each; Flower needs the cores.
		alive
		[ "$(date +%s)" -lt "$deadline" ] || die "run $run_id not finished at the deadline (${deadline_s}s)" 4
		sleep 1
	done
	while :; do
		status=$(flwr_status "$run_id" 2>>"$work/logs/flwr-list.log")
		case $status in finished:*) break ;; esac
		alive
		[ "$(date +%s)" -lt "$deadline" ] || die "run $run_id still '${status:-unknown}' at the deadline (${deadline_s}s)" 4
		sleep 1
	done
	grep -q '"event":"training_end"' "$work/serverapp$tag.log" ||
		cli log "$run_id" "${FLWR_CONN[@]}" --show >"$work/serverapp$tag.log" 2>&1
	flwr_events "$work/serverapp$tag.log" "$work/events$tag.jsonl"
	jq -r 'select(.event == "round_end") | "round \(.data.round) loss \(.data.aggregated_loss) accuracy \(.data.aggregated_accuracy)"' "$work/events$tag.jsonl"
	echo "status $status"
	RUN_ID=$run_id STATUS=$status
}

t_run=$(date +%s)
run_once ""
t_end=$(date +%s.%N)
[ "$metrics" = 1 ] && metrics_snapshot "$t_run"
first_round=$(jq -r 'select(.event == "round_start" and .data.round == 1) | .timestamp' "$work/events.jsonl" | head -n 1)
first_s='' first_at=''
if [ -n "$first_round" ]; then
	first_at=$(jq -rn --arg ts "$first_round" \
		'($ts | sub("\\.(?<ms>[0-9]+)Z$"; "Z") | fromdateiso8601) + (($ts | capture("\\.(?<ms>[0-9]+)Z$").ms | tonumber) / 1000)')
	first_s=$(jq -rn --argjson at "$first_at" --argjson t0 "$t_start" '($at - $t0) * 10 | round / 10')
fi
total_s=$(jq -rn --argjson a "$t_start" --argjson b "$t_end" '($b - $a) * 10 | round / 10')
rounds=$(jq -s '[.[] | select(.event == "round_end")] | length' "$work/events.jsonl")
printf 'VERSION=%s\nERA=%s\nTLS=%s\nRUN_ID=%s\nSTATUS=%s\nROUNDS=%s\nFIRST_ROUND_S=%s\nFIRST_ROUND_AT=%s\nTOTAL_S=%s\nSL_BOOT_S=%s\nSN_BOOT_S=%s\n' \
	"$version" "$era" "$tls" "$RUN_ID" "$STATUS" "$rounds" "$first_s" "$first_at" "$total_s" "$sl_boot" "$sn_boot" >"$work/result.env"
say "run $RUN_ID $STATUS: $rounds round(s); first round after ${first_s:-?}s, finished after ${total_s}s"
[ "$STATUS" = finished:completed ] || {
	tail -n 40 "$work/serverapp.log" >&2
	exit 1
}

if [ "$restart_sl" = 1 ]; then
	sn_pids=$(cat "$work"/vm-10[12]/flower/run/flower-supernode.pid | cut -d' ' -f1 | tr '\n' ' ')
	say "restarting the SuperLink (fl-launch restart); SuperNodes $sn_pids keep running"
	must "SuperLink: fl-launch restart" launch sl restart
	sl_pgids
	must "SuperLink: fl-launch wait-healthy after the restart" launch sl wait-healthy --timeout "$(left)"
	run_once 2 "num-server-rounds=$second_rounds"
	now=$(cat "$work"/vm-10[12]/flower/run/flower-supernode.pid | cut -d' ' -f1 | tr '\n' ' ')
	[ "$now" = "$sn_pids" ] || die "the SuperNodes were restarted ($sn_pids -> $now)"
	printf 'SECOND_RUN_ID=%s\nSECOND_STATUS=%s\nSECOND_ROUNDS=%s\n' "$RUN_ID" "$STATUS" \
		"$(jq -s '[.[] | select(.event == "round_end")] | length' "$work/events2.jsonl")" >>"$work/result.env"
	[ "$STATUS" = finished:completed ] || {
		tail -n 40 "$work/serverapp2.log" >&2
		exit 1
	}
fi
