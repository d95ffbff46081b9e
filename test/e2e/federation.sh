#!/usr/bin/env bash
# federation.sh: one real Flower federation on loopback (process runtime): a SuperLink, two
# SuperNodes (partition-id 0/1 of 2) and `flwr run` of share/flower-app with the run-config of
# `fl-context run-config`, then the per-round loss; every process it started is stopped on exit.
#
# usage: federation.sh [--tls] [--deadline SECONDS] [--run-config 'k=v ...'] VENV WORKDIR
#
#   VENV      a virtualenv with flwr (its bin/ must hold flwr, flower-superlink, ...)
#   WORKDIR   created if missing; gets one directory per process (its HOME and FLWR_HOME),
#             logs/, certs/ (with --tls), app/ (the copy of the app that is run) and:
#               result.env     VERSION ERA TLS RUN_ID STATUS ROUNDS FIRST_ROUND_S TOTAL_S
#               pgids          the process groups it started (all gone when it exits)
#               events.jsonl   the ServerApp's JSON events
#               serverapp.log  the run's log (`flwr log RUN_ID --stream`)
#   --tls            CA + server certificate for 127.0.0.1/localhost made with openssl;
#                    SuperLink --ssl-*, SuperNodes and CLI --root-certificates
#   --deadline S     overall limit in seconds (default 180); exit 4 when reached
#   --run-config R   extra run-config pairs after fl-context's (app-only keys, overrides)
#
# The run-config comes from `$FLKIT_FL_CONTEXT -E run-config` (default: the fl-context next to this
# tree in $FLKIT_BIN, build-e2e/bin or build/bin), so FL_STRATEGY, FL_NUM_ROUNDS,
# FL_CHECKPOINT_* ... in the environment choose the strategy, rounds and checkpoints.
# stdout: `round N loss L accuracy A` lines, then `status STATUS`. Logs go to stderr.
# Exit: 0 run finished:completed, 1 failure, 2 usage, 4 deadline reached.
set -uo pipefail

prog=${0##*/}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

say() { printf '[%s] [INFO] [%s] %s\n' "$(date '+%F %T')" "$prog" "$*" >&2; }
die() {
	printf '[%s] [ERROR] [%s] %s\n' "$(date '+%F %T')" "$prog" "$*" >&2
	exit "${2:-1}"
}
usage() {
	sed -n 's/^# usage: /usage: /p' "$0" >&2
	exit 2
}

tls=0 deadline_s=180 extra_rc=
while [ $# -gt 0 ]; do
	case $1 in
	--tls) tls=1 ;;
	--deadline) deadline_s=${2:?}; shift ;;
	--run-config) extra_rc=${2?}; shift ;;
	-h | --help) usage ;;
	--) shift; break ;;
	-*) printf '%s: unknown option %s\n' "$prog" "$1" >&2; usage ;;
	*) break ;;
	esac
	shift
done
[ $# -eq 2 ] || usage
[[ $deadline_s =~ ^[1-9][0-9]*$ ]] || die "--deadline '$deadline_s' is not a positive integer" 2
venv=$(cd "$1" 2>/dev/null && pwd) || die "venv '$1' does not exist" 2
mkdir -p "$2" || die "cannot create work dir '$2'"
work=$(cd "$2" && pwd)
for t in flwr flower-superlink flower-supernode python; do
	[ -x "$venv/bin/$t" ] || die "$venv/bin/$t is missing; install flwr into the venv ($venv/bin/pip install flwr numpy)" 2
done
if [ -z "${FLKIT_FL_CONTEXT:-}" ]; then
	for d in "${FLKIT_BIN:-}" "$root/build-e2e/bin" "$root/build/bin"; do
		[ -n "$d" ] && [ -x "$d/fl-context" ] && FLKIT_FL_CONTEXT=$d/fl-context && break
	done
fi
[ -x "${FLKIT_FL_CONTEXT:-}" ] || die "fl-context not found; build it (make BUILD=build-e2e all) or set FLKIT_FL_CONTEXT" 2

t_start=$(date +%s.%N)
deadline=$((${t_start%.*} + deadline_s))
left() { # seconds to the deadline, at least 1 (timeout 0 would mean no limit)
	local l=$((deadline - $(date +%s)))
	echo $((l > 0 ? l : 1))
}

# --- processes: each in its own session, so one kill reaches the SuperExec and app
# children too; only these groups are ever signalled.
pgids=()
cleanup() {
	local rc=$? g i
	trap - EXIT INT TERM
	for ((i = ${#pgids[@]} - 1; i >= 0; i--)); do
		kill -TERM -- "-${pgids[i]}" 2>/dev/null
	done
	# Flower shuts down within ~5 s (its own watchdog); then what is left gets SIGKILL.
	for _ in $(seq 100); do
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

# start NAME HOMEDIR OUT CMD...: run CMD in a session of its own with HOME and FLWR_HOME under
# $work/HOMEDIR, output to OUT.
declare -A pid
start() {
	local name=$1 home=$work/$2 out=$3
	shift 3
	mkdir -p "$home/home"
	HOME=$home/home FLWR_HOME=$home setsid "$@" >"$out" 2>&1 </dev/null &
	pid[$name]=$!
	pgids+=("$!")
	echo "$!" >>"$work/pgids"
}
alive() { # NAME: fail with the log tail when a started process has exited
	kill -0 "${pid[$1]}" 2>/dev/null && return 0
	tail -n 30 "$work/logs/$1.log" >&2
	die "$1 exited early (log: $work/logs/$1.log)"
}

export PATH="$venv/bin:$PATH" FLWR_TELEMETRY_ENABLED=0 FLWR_DISABLE_UPDATE_CHECK=1 \
	FLWR_DISABLE_RUNTIME_DEPENDENCY_INSTALLATION=1 PYTHONDONTWRITEBYTECODE=1
unset FLWR_HOME VIRTUAL_ENV

version=$("$venv/bin/python" -c 'import flwr; print(flwr.__version__)') || die "cannot import flwr from $venv"
IFS=. read -r vmaj vmin _ <<<"$version"
vnum=$((vmaj * 1000 + vmin))
say "Flower $version in $venv; work dir $work"

rm -rf "$work/pgids" "$work/logs" "$work/app" "$work/superlink" "$work/supernode-0" \
	"$work/supernode-1" "$work/cli" "$work/result.env" "$work/events.jsonl" "$work/serverapp.log"
mkdir -p "$work/logs"

# --- free loopback ports, held open together so they differ; a race with another process
# taking one before Flower binds it shows up as a SuperLink/SuperNode exiting early.
read -r -a ports < <("$venv/bin/python" - <<'EOF'
import socket
socks = []
for _ in range(5):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
)
[ "${#ports[@]}" -eq 5 ] || die "could not pick free ports"

# --- TLS material (openssl CLI until fl-certgen takes over)
tls_sl=() tls_sn=()
if [ "$tls" = 1 ]; then
	c=$work/certs
	rm -rf "$c" && mkdir -p "$c"
	{
		openssl ecparam -name prime256v1 -genkey -noout -out "$c/ca.key" &&
			openssl req -x509 -new -key "$c/ca.key" -sha256 -days 3650 -subj "/CN=flkit e2e CA" \
				-addext basicConstraints=critical,CA:TRUE \
				-addext keyUsage=critical,keyCertSign,cRLSign -out "$c/ca.crt" &&
			openssl ecparam -name prime256v1 -genkey -noout -out "$c/server.key" &&
			openssl req -new -key "$c/server.key" -subj "/CN=localhost" -out "$c/server.csr" &&
			printf '%s\n' 'basicConstraints=critical,CA:FALSE' \
				'keyUsage=critical,digitalSignature,keyEncipherment' 'extendedKeyUsage=serverAuth' \
				'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1' >"$c/server.ext" &&
			openssl x509 -req -in "$c/server.csr" -CA "$c/ca.crt" -CAkey "$c/ca.key" \
				-CAcreateserial -days 365 -sha256 -extfile "$c/server.ext" -out "$c/server.pem"
	} >"$work/logs/openssl.log" 2>&1 || die "openssl failed: $(tail -n 3 "$work/logs/openssl.log")"
	chmod 600 "$c/ca.key" "$c/server.key"
	tls_sl=(--ssl-ca-certfile "$c/ca.crt" --ssl-certfile "$c/server.pem" --ssl-keyfile "$c/server.key")
	tls_sn=(--root-certificates "$c/ca.crt")
else
	tls_sl=(--insecure) tls_sn=(--insecure)
fi

# --- flags by era (design 07 §0): A <= 1.35 all gRPC; B 1.36-1.39 HTTP runtime/control +
# gRPC Fleet [untested]; C >= 1.40 one HTTP server for Runtime, Control and Fleet.
lo=127.0.0.1
if [ "$vnum" -ge 1040 ]; then
	era=C control=$lo:${ports[0]} fleet=$lo:${ports[0]}
	sl_args=(--host "$lo" --port "${ports[0]}")
	sn_api() { echo "--host $lo --port ${ports[$((3 + $1))]}"; }
elif [ "$vnum" -ge 1036 ]; then
	era=B control=$lo:${ports[0]} fleet=$lo:${ports[1]}
	sl_args=(--host "$lo" --port "${ports[0]}" --fleet-api-address "$fleet")
	sn_api() { echo "--host $lo --port ${ports[$((3 + $1))]}"; }
else
	era=A control=$lo:${ports[0]} fleet=$lo:${ports[1]}
	sl_args=(--control-api-address "$control" --fleet-api-address "$fleet"
		--serverappio-api-address "$lo:${ports[2]}")
	sn_api() { echo "--clientappio-api-address $lo:${ports[$((3 + $1))]}"; }
fi
# 1.32+: the SuperLink `uv sync`s app dependencies per run by default (needs the network).
[ "$vnum" -ge 1032 ] && sl_args+=(--disable-runtime-dependency-installation)

# --- SuperLink, ready when its Control and Fleet ports accept connections
start superlink superlink "$work/logs/superlink.log" flower-superlink "${tls_sl[@]}" "${sl_args[@]}" --database "$work/superlink/state.db"
port_open() { (exec 3<>"/dev/tcp/${1%:*}/${1##*:}") 2>/dev/null; }
until port_open "$control" && port_open "$fleet"; do
	alive superlink
	[ "$(date +%s)" -lt "$deadline" ] || die "SuperLink not listening on $control/$fleet by the deadline" 4
	sleep 0.2
done
say "SuperLink up (era $era, control $control, fleet $fleet, tls=$tls)"

for i in 0 1; do
	# shellcheck disable=SC2046 # sn_api prints flag words
	start "supernode-$i" "supernode-$i" "$work/logs/supernode-$i.log" flower-supernode "${tls_sn[@]}" --superlink "$fleet" $(sn_api "$i") \
		--node-config "partition-id=$i num-partitions=2"
done

# --- the app and the CLI connection (07 §3.1): <= 1.25 a federation in the app's
# pyproject.toml; 1.26+ a SuperLink connection in $FLWR_HOME/config.toml.
mkdir -p "$work/app" "$work/cli/home"
(cd "$root/share/flower-app" && tar --exclude=__pycache__ --exclude='*.pyc' -cf - .) | (cd "$work/app" && tar -xf -)
if [ "$tls" = 1 ]; then
	conn_tls="root-certificates = \"$work/certs/ca.crt\""
else
	conn_tls="insecure = true"
fi
if [ "$vnum" -le 1025 ]; then
	printf '\n[tool.flwr.federations]\ndefault = "e2e"\n\n[tool.flwr.federations.e2e]\naddress = "%s"\n%s\n' \
		"$control" "$conn_tls" >>"$work/app/pyproject.toml"
	conn=("$work/app" e2e)
else
	printf '[superlink]\ndefault = "e2e"\n\n[superlink.e2e]\naddress = "%s"\n%s\n' \
		"$control" "$conn_tls" >"$work/cli/config.toml"
	conn=(e2e)
fi
cli() { HOME=$work/cli/home FLWR_HOME=$work/cli timeout "$(left)" flwr "$@"; }

rc_line=$("$FLKIT_FL_CONTEXT" -E run-config) || die "fl-context run-config failed"
say "run-config: $rc_line${extra_rc:+ $extra_rc}"
rc_args=(--run-config "$rc_line")
[ -n "$extra_rc" ] && rc_args+=(--run-config "$extra_rc")

out=$(cli run "$work/app" e2e "${rc_args[@]}" --format json 2>"$work/logs/flwr-run.log")
run_id=$(jq -r 'select(.success == true) | ."run-id"' <<<"$out" 2>/dev/null)
[ -n "$run_id" ] || [ "$(date +%s)" -lt "$deadline" ] || die "flwr run did not return by the deadline (${deadline_s}s)" 4
[ -n "$run_id" ] || die "flwr run failed: $out $(tail -n 5 "$work/logs/flwr-run.log")"
say "run $run_id submitted"

# --- wait: `flwr log --stream` returns when the run is finished (one CLI process instead
# of one per poll, which costs a core on a small machine); then `flwr list` gives the status.
start logstream cli "$work/serverapp.log" flwr log "$run_id" "${conn[@]}" --stream
while kill -0 "${pid[logstream]}" 2>/dev/null; do
	for p in superlink supernode-0 supernode-1; do alive "$p"; done
	[ "$(date +%s)" -lt "$deadline" ] || die "run $run_id not finished at the deadline (${deadline_s}s)" 4
	sleep 0.5
done
list_run() {
	if [ "$vnum" -le 1025 ]; then
		cli ls "${conn[@]}" --run-id "$run_id" --format json
	else
		cli list "${conn[@]}" --run-id "$run_id" --format json
	fi
}
status=
while :; do
	status=$(list_run 2>>"$work/logs/flwr-list.log" | jq -r '.runs[0].status // empty' 2>/dev/null)
	case $status in finished:*) break ;; esac
	for p in superlink supernode-0 supernode-1; do alive "$p"; done
	[ "$(date +%s)" -lt "$deadline" ] || die "run $run_id still '${status:-unknown}' at the deadline (${deadline_s}s)" 4
	sleep 1
done
t_end=$(date +%s.%N)

# --- the ServerApp's output and its JSON events (fetched again if the stream broke off)
grep -q '"event":"training_end"' "$work/serverapp.log" ||
	cli log "$run_id" "${conn[@]}" --show >"$work/serverapp.log" 2>&1
# Flower may colour or prefix lines; an event line is one JSON object on a line of its own.
grep -o '{"timestamp".*}' "$work/serverapp.log" | jq -c 'select(.event != null)' >"$work/events.jsonl" 2>/dev/null
first_round=$(jq -r 'select(.event == "round_start" and .data.round == 1) | .timestamp' "$work/events.jsonl" | head -n 1)
first_s=
if [ -n "$first_round" ]; then
	first_s=$(jq -rn --arg ts "$first_round" --argjson t0 "$t_start" \
		'($ts | sub("\\.(?<ms>[0-9]+)Z$"; "Z") | fromdateiso8601) + (($ts | capture("\\.(?<ms>[0-9]+)Z$").ms | tonumber) / 1000) - $t0 | . * 10 | round / 10')
fi
total_s=$(jq -rn --argjson a "$t_start" --argjson b "$t_end" '($b - $a) * 10 | round / 10')
rounds=$(jq -s '[.[] | select(.event == "round_end")] | length' "$work/events.jsonl")
jq -r 'select(.event == "round_end") | "round \(.data.round) loss \(.data.aggregated_loss) accuracy \(.data.aggregated_accuracy)"' "$work/events.jsonl"
echo "status $status"
printf 'VERSION=%s\nERA=%s\nTLS=%s\nRUN_ID=%s\nSTATUS=%s\nROUNDS=%s\nFIRST_ROUND_S=%s\nTOTAL_S=%s\n' \
	"$version" "$era" "$tls" "$run_id" "$status" "$rounds" "$first_s" "$total_s" >"$work/result.env"
say "run $run_id $status: $rounds round(s); first round after ${first_s:-?}s, finished after ${total_s}s"
[ "$status" = finished:completed ] || {
	tail -n 40 "$work/serverapp.log" >&2
	exit 1
}
