#!/usr/bin/env bash
# boot-chain.sh: time the flkit SuperLink boot chain (fl-context render, fl-certgen superlink,
# fl-launch install, fl-onegate publish) against the same steps of the reference bash appliance
# (bench/reference-boot.sh: source one_env, bash validation, openssl CLI, heredocs, one curl PUT
# per attribute), both against the OneGate emulator, both commands in ONE hyperfine run per
# scenario, then the ratios.
#
#   bench/boot-chain.sh                          the benchmark
#   bench/boot-chain.sh --chain BIN ONE_ENV RUN DIR IP OWNER ENDPOINT
#                                                the flkit chain alone (what hyperfine runs)
#
# Scenarios: first boot (empty directories before each run) with P-256 keys on both sides;
# reboot (everything already in place); first boot with each side's default key type (the
# reference's RSA-4096 against flkit's P-256).
#
# Environment: FLKIT_BIN (default build/bin, relative to the repo root), BENCH_RUNS (default
# 100, P-256), BENCH_RUNS_RSA (default 15: RSA-4096 key generation dominates and varies a lot),
# BENCH_OUT (where the hyperfine JSON goes; default the build directory's bench/).
set -u

# The flkit chain as a boot hook runs it: four processes, the certificate values passed from
# fl-certgen's output to fl-onegate by bash builtins (no base64 process). RUN stands for
# /run/flkit (it exists at boot), DIR for the persistent /opt/flower, /opt/flower/ca and
# /etc/systemd/system.
chain() {
	local bin=$1 one_env=$2 run=$3 w=$4 ip=$5 owner=$6 endpoint=$7 line
	local -a tls=()
	"$bin/fl-context" --no-env -c "$one_env" render --role superlink -o "$run/superlink.conf" || return 1
	"$bin/fl-certgen" -c "$run/superlink.conf" --dir "$w/flower/certs" --ca-key-dir "$w/ca" \
		--owner "$owner" --ip "$ip" superlink >"$run/tls.env" || return 1
	"$bin/fl-launch" -c "$run/superlink.conf" --flower-dir "$w/flower" --unit-dir "$w/units" \
		--owner "$owner" --addr "$ip" --flower-version 1.25.0 install || return 1
	while IFS= read -r line; do
		case $line in
		FL_TLS=* | FL_CA_CERT=*) tls+=("$line") ;;
		esac
	done <"$run/tls.env"
	"$bin/fl-onegate" -C "$one_env" publish FL_READY=YES "FL_ENDPOINT=$endpoint" FL_VERSION=1.25.0 \
		FL_ROLE=superlink "${tls[@]}"
}

if [ "${1:-}" = --chain ]; then
	shift
	[ $# -eq 7 ] || {
		echo "usage: $0 --chain BIN ONE_ENV RUN DIR IP OWNER ENDPOINT" >&2
		exit 2
	}
	chain "$@"
	exit
fi

cd "$(dirname "$0")/.." || exit 1
# shellcheck source=bench/lib.sh
. bench/lib.sh
bench_setup boot-chain.sh "fl-context fl-certgen fl-launch fl-onegate" "hyperfine jq bc openssl curl python3 base64" \
	"hyperfine jq bc openssl curl python3"
runs_ec=${BENCH_RUNS:-100}
runs_rsa=${BENCH_RUNS_RSA:-15}
bin=$(cd "$FLKIT_BIN" && pwd)
export LC_ALL=C
for v in $(compgen -e); do
	case $v in
	FL_* | FLOWER_* | ML_* | ONEAPP_* | FLKIT_* | TOKENTXT | ONEGATE_* | VMID) unset "$v" ;;
	esac
done

tmp=$(mktemp -d)
pid=
cleanup() {
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

ip=10.10.9.10 # ETH0_IP of the fixture
owner="$(id -u):$(id -g)"

# systemctl daemon-reload on both sides goes to this stub.
mkdir -p "$tmp/stub"
printf '#!/bin/sh\nexit 0\n' >"$tmp/stub/systemctl"
chmod +x "$tmp/stub/systemctl"
export PATH="$tmp/stub:$PATH"

world=test/fixtures/onegate/world-7.4.json
python3 test/onegate/emulator.py --world "$world" --port 0 --port-file "$tmp/port" >"$tmp/emulator.log" 2>&1 &
pid=$!
for _ in $(seq 100); do
	[ -s "$tmp/port" ] && break
	sleep 0.05
done
[ -s "$tmp/port" ] || {
	echo "boot-chain.sh: the OneGate emulator did not start" >&2
	cat "$tmp/emulator.log" >&2
	exit 1
}
port=$(<"$tmp/port")
token=$(python3 test/onegate/emulator.py --world "$world" --print-token 12)

# The SuperLink context: the full fixture without operator TLS material (so both sides
# generate the certificates) and without FL_CERT_EXTRA_SAN (the reference has none), Flower
# 1.25.0, VM 12 of the emulator; then the one_env loc-16-gen-env makes of it.
# shellcheck source=bench/fixtures.sh
. bench/fixtures.sh
bench_fixtures "$tmp/fixtures" >/dev/null || exit 1
sed -e '/^FL_CERT_EXTRA_SAN=/d' -e "s|^FLOWER_VERSION=.*|FLOWER_VERSION='1.25.0'|" \
	-e "s|^VMID=.*|VMID='12'|" -e "s|^ONEGATE_ENDPOINT=.*|ONEGATE_ENDPOINT='http://127.0.0.1:$port'|" \
	"$tmp/fixtures/superlink-no-pem.context.sh" >"$tmp/context.sh"
# shellcheck disable=SC2016 # expanded by the inner bash
env -i TOKENTXT="$token" CONTEXT_FILE="$tmp/context.sh" ENV_FILE="$tmp/one_env" bash -c '
	. "$CONTEXT_FILE"
	{
		echo "export TOKENTXT=\"$TOKENTXT\""
		echo "export VMID=\"$VMID\""
		echo "export ONEGATE_ENDPOINT=\"$ONEGATE_ENDPOINT\""
		for v in $(grep -E "^[a-zA-Z\-\_0-9]*=" "$CONTEXT_FILE" | sed "s/=.*$//"); do
			echo "export $v=\"${!v}\""
		done
	} >"$ENV_FILE"' || exit 1
chmod 0400 "$tmp/one_env"
endpoint="$ip:$(sed -n "s/^FL_FLEET_API_ADDRESS='.*:\([0-9]*\)'$/\1/p" "$tmp/context.sh")"

q() {
	printf '%q' "$1"
}

ms() {
	jq -r --arg n "$2" --arg f "$3" '.results[] | select(.command == $n) | .[$f] * 1000' "$1"
}

# vm_attr NAME: the attribute of VM 12 as the emulator holds it.
vm_attr() {
	printf 'X-ONEGATE-TOKEN: %s\nX-ONEGATE-VMID: 12\n' "$token" |
		curl -sSf --max-time 10 "http://127.0.0.1:$port/vm" -H @- | jq -r --arg n "$1" '.VM.USER_TEMPLATE[$n] // ""'
}

flkit_cmd() { # DIR
	mkdir -p "$1.run"
	echo "bash bench/boot-chain.sh --chain $(q "$bin") $(q "$tmp/one_env") $(q "$1.run") $(q "$1") $ip $owner $endpoint"
}

bash_cmd() { # KEY_TYPE DIR
	echo "bash bench/reference-boot.sh $1 $(q "$tmp/one_env") $(q "$2/flower") $(q "$2/units") $(q "$2/ca") $ip $owner"
}

# Both sides must leave a set openssl accepts, an env file and unit, and OneGate holding
# FL_READY=YES and their CA before anything is timed.
check() { # NAME DIR COMMAND
	local name=$1 d=$2 attr
	rm -rf "$d" && mkdir -p "$d"
	if ! eval "$3" >"$d.log" 2>&1; then
		echo "boot-chain.sh: the $name chain failed; not timing anything" >&2
		cat "$d.log" >&2
		exit 1
	fi
	attr=$(vm_attr FL_CA_CERT)
	if ! openssl verify -purpose sslserver -CAfile "$d/flower/certs/ca.crt" "$d/flower/certs/server.pem" >/dev/null ||
		! grep -q '^FLWR_LOG_LEVEL=DEBUG$' "$d/flower/config/superlink.env" ||
		! grep -q 'flwr/superlink:1.25.0' "$d/units/flower-superlink.service" ||
		[ "$(vm_attr FL_READY)" != YES ] || [ "$(vm_attr FL_ENDPOINT)" != "$endpoint" ] ||
		[ "$attr" != "$(base64 -w0 "$d/flower/certs/ca.crt")" ]; then
		echo "boot-chain.sh: the $name chain did not produce what it should; not timing anything" >&2
		cat "$d.log" >&2
		exit 1
	fi
}

echo "# $(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) CPU(s): $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
echo "# $(uname -sr); $(hyperfine --version); $(openssl version); $(bash --version | head -n 1)"
echo "# hyperfine output and JSON: $out"

check flkit "$tmp/check-fl" "$(flkit_cmd "$tmp/check-fl")"
check bash "$tmp/check-sh" "$(bash_cmd p256 "$tmp/check-sh")"

rows=()
# scenario name, label, reference key type, runs, warm-ups, fresh (empty: files stay in place)
for spec in "first-boot|first boot|p256|$runs_ec|3|yes" "reboot|reboot, files in place|p256|$runs_ec|3|" \
	"first-boot-rsa|first boot, spec defaults|rsa:4096|$runs_rsa|1|yes"; do
	IFS='|' read -r name label kt runs warmup fresh <<<"$spec"
	# Every run gets a prepare step, so runs are never back to back (a boot is not).
	if [ -n "$fresh" ]; then
		prep=(--prepare "rm -rf $(q "$tmp/fl") $(q "$tmp/sh")")
	else
		rm -rf "$tmp/fl" "$tmp/sh"
		prep=(--prepare true)
	fi
	if ! hyperfine --shell=none --warmup "$warmup" --runs "$runs" --style basic "${prep[@]}" \
		--export-json "$out/boot-chain-$name.json" \
		-n flkit "$(flkit_cmd "$tmp/fl")" \
		-n bash "$(bash_cmd "$kt" "$tmp/sh")" \
		>"$out/boot-chain-$name.txt" 2>&1; then
		cat "$out/boot-chain-$name.txt" >&2
		exit 1
	fi
	f=$(ms "$out/boot-chain-$name.json" flkit mean)
	fs=$(ms "$out/boot-chain-$name.json" flkit stddev)
	fm=$(ms "$out/boot-chain-$name.json" flkit median)
	b=$(ms "$out/boot-chain-$name.json" bash mean)
	bs=$(ms "$out/boot-chain-$name.json" bash stddev)
	bm=$(ms "$out/boot-chain-$name.json" bash median)
	ratio=$(echo "$b / $f" | bc -l)
	mratio=$(echo "$bm / $fm" | bc -l)
	rows+=("$(printf '%-26s %-14s %4d %8.1f ± %-6.1f %7.1f %9.1f ± %-7.1f %8.1f %8.1fx %7.1fx' "$label" \
		"$kt/p256" "$runs" "$f" "$fs" "$fm" "$b" "$bs" "$bm" "$ratio" "$mratio")")
done

# The flkit steps alone, files in place (what the last scenario left): where the time goes.
ca_line=$(grep '^FL_CA_CERT=' "$tmp/fl.run/tls.env")
conf=$tmp/fl.run/superlink.conf
if ! hyperfine --shell=none --warmup 3 --runs "$runs_ec" --style basic --export-json "$out/boot-chain-steps.json" \
	-n "fl-context render" "$(q "$bin/fl-context") --no-env -c $(q "$tmp/one_env") render --role superlink -o $(q "$conf")" \
	-n "fl-certgen superlink (kept)" "$(q "$bin/fl-certgen") -c $(q "$conf") --dir $(q "$tmp/fl/flower/certs") --ca-key-dir $(q "$tmp/fl/ca") --owner $owner --ip $ip superlink" \
	-n "fl-launch install (unchanged)" "$(q "$bin/fl-launch") -c $(q "$conf") --flower-dir $(q "$tmp/fl/flower") --unit-dir $(q "$tmp/fl/units") --owner $owner --addr $ip --flower-version 1.25.0 install" \
	-n "fl-onegate publish (6 attributes)" "$(q "$bin/fl-onegate") -C $(q "$tmp/one_env") publish FL_READY=YES FL_ENDPOINT=$endpoint FL_VERSION=1.25.0 FL_ROLE=superlink FL_TLS=YES $ca_line" \
	>"$out/boot-chain-steps.txt" 2>&1; then
	cat "$out/boot-chain-steps.txt" >&2
	exit 1
fi

echo
echo "SuperLink boot chain: flkit vs the reference bash (ms)"
printf '%-26s %-14s %4s %17s %7s %19s %8s %9s %8s\n' scenario "keys bash/fl" runs "flkit mean" median \
	"bash mean" median "mean ratio" median
printf '%s\n' "${rows[@]}"
echo "(ratio = bash reference time / flkit time; above 1 means the flkit chain is faster)"
echo
echo "flkit: fl-context render, fl-certgen superlink, fl-launch install (docker runtime, stub"
echo "systemctl), fl-onegate publish of 6 attributes in one PUT. bash: source one_env, the"
echo "reference's validation, openssl CLI certificates, heredoc env file and unit, systemctl"
echo "daemon-reload, one curl PUT per attribute. Both against the OneGate emulator on loopback."
echo
echo "flkit steps alone, files in place (mean ± σ of $runs_ec runs, ms)"
jq -r '.results[] | [.command, .mean * 1000, .stddev * 1000] | @tsv' "$out/boot-chain-steps.json" |
	while IFS=$'\t' read -r cmd mean sd; do
		printf '%-36s %7.1f ± %.1f\n' "$cmd" "$mean" "$sd"
	done
