#!/usr/bin/env bash
# boot.sh: boot a whole simulated Flower service the way OpenNebula does, through the one-apps
# hooks of share/one-apps, and run one scenario on it. Each VM is a network, PID and mount
# namespace of its own (vm.bash, vm-init): its image built by `service install`, its context
# from the OneFlow template share/oneflow/flower-service.json (world_from_template.py), its
# boot one-contextd local + network (net-90-service-appliance: service configure &&
# bootstrap; net-99-report-ready), the OneGate emulator as OneGate, real Flower (the
# process runtime, no supervisor) from VENV. Root only (namespaces, mounts).
#
# usage: boot.sh [--scenario NAME] [--deadline S] [--venv VENV] WORKDIR
#
#   clean          OneFlow's straight deployment: the SuperLink, READY=YES, then 2 SuperNodes;
#                  a 3-round TLS run, during which every VM's hooks run again (one-context
#                  force) and leave Flower alone
#   early          the SuperNodes are powered on first, the SuperLink 15 s later; a 2-round run
#   reboot         a 5-round run; when round 2 ended every VM is powered off and on again; the
#                  service comes back (same CA) and the next run (3 rounds) resumes from the
#                  latest checkpoint
#   new-ip         the SuperLink reboots with another address: a new leaf certificate for it,
#                  the same CA, the SuperNodes follow it (rediscover.sh); a 1-round run
#   invalid        a SuperLink context with two invalid values: configure fails with both in
#                  the log, FL_ERROR=config_validation_failed, no Flower, no READY
#   onegate-down   OneGate unreachable while the service boots: the SuperLink boots with a
#                  warning (nothing published, no READY), a SuperNode with static
#                  FL_SUPERLINK_ADDRESS and CA registers, a dynamic one keeps retrying
#                  discovery; OneGate comes back, the SuperLink's context runs again (force):
#                  READY, the dynamic SuperNode finds it; a 1-round run
#   scale-up       after a first run, a third SuperNode is added to the role (OneFlow scale):
#                  it joins the running federation; a run needing 3 clients completes
#   ckpt-resume    a 3-round run with checkpoints, then the SuperLink alone reboots; the next
#                  run (2 rounds) resumes from round 3's checkpoint
#   multisite      two zones routed by the world namespace, a OneFlow service each: zone A
#                  the coordinator (share/oneflow/flower-coordinator.json), zone B a training
#                  site (flower-training-site.json) deployed once the SuperLink is READY, with
#                  its address and CA (base64 of the SuperLink's ca.crt) as the mandatory
#                  inputs and partitions 2-3 of 4; a 3-round TLS run across the zones
#
# WORKDIR gets tag (the prefix of this run's namespace names), world.json, vms.tsv, boots.tsv (VM, boot number, power-on epoch), vm-<ID>/
# (cdrom/, disk/ = the VM's /etc /var /opt changes, console.log, build.log), logs/,
# requests.json (every OneGate request, with its time), report.txt and result.env: SCENARIO,
# VERSION, RESULT (ok), FIRST_ROUND_S, RUN<n>_ROUNDS and RUN<n>_RESUMED_FROM per run,
# and per VM and boot VM<ID>_B<N>_FL_READY_S / _READY_S (seconds from power-on to FL_READY=YES
# or FL_NODE_READY=YES, and to READY=YES; empty when never) and _REQUESTS (OneGate requests).
# Exit: 0 the scenario's checks passed, 1 a check failed, 2 usage, 4 deadline reached.
set -uo pipefail

prog=${0##*/}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)

# shellcheck source=test/lib/script.bash
. "$(dirname "$0")/../lib/script.bash"
# shellcheck source=test/lib/flwr.bash
. "$(dirname "$0")/../lib/flwr.bash"

scenario=clean deadline_s=300 VENV=$ROOT/.venv
while [ $# -gt 0 ]; do
	case $1 in
	--scenario) scenario=${2:?}; shift ;;
	--deadline) deadline_s=${2:?}; shift ;;
	--venv) VENV=${2:?}; shift ;;
	-h | --help) usage ;;
	-*) printf '%s: unknown option %s\n' "$prog" "$1" >&2; usage ;;
	*) break ;;
	esac
	shift
done
[ $# -eq 1 ] || usage
case $scenario in
clean | early | reboot | new-ip | invalid | onegate-down | scale-up | ckpt-resume | multisite) ;;
*) die "unknown scenario '$scenario' (clean, early, reboot, new-ip, invalid, onegate-down, scale-up, ckpt-resume, multisite)" 2 ;;
esac
need_deadline
[ "$(id -u)" = 0 ] || die "the boot harness needs root (network, PID and mount namespaces)" 2
VENV=$(cd "$VENV" 2>/dev/null && pwd) || die "venv '$VENV' does not exist (scripts/bootstrap makes it)" 2
[ -x "$VENV/bin/flower-superlink" ] || die "$VENV has no Flower (flower-superlink)" 2
FLKIT_BIN=${FLKIT_BIN:-$ROOT/build/bin}
FLKIT_SHARE=${FLKIT_SHARE:-$ROOT/share}
need_tools "$FLKIT_BIN" fl-context fl-certgen fl-onegate fl-launch fl-ckpt fl-metrics fl-gpucheck
[ -r "$FLKIT_SHARE/one-apps/flkit-hooks.sh" ] || die "no one-apps hooks in $FLKIT_SHARE (FLKIT_SHARE)" 2
export FLKIT_BIN FLKIT_SHARE FLKIT_FLOWER_BIN=$VENV/bin VM_REDISCOVER_S=${VM_REDISCOVER_S:-5}
export FLWR_TELEMETRY_ENABLED=0 FLWR_DISABLE_UPDATE_CHECK=1 PYTHONDONTWRITEBYTECODE=1

mkdir -p "$1" || die "cannot create '$1'"
W=$(cd "$1" && pwd)
rm -rf "${W:?}"/vm-* "$W/logs" "$W/app" "$W/cli" "$W"/*.tsv "$W"/*.env "$W"/*.json "$W"/*.jsonl \
	"$W"/*.log "$W/onegate.port" "$W/report.txt" "$W/tag"
mkdir -p "$W/logs"
TAG=fh$(printf '%04x' $(($$ % 65536)))
echo "$TAG" >"$W/tag"
NET=10.66.0
# shellcheck source=test/appliance/vm.bash
. "$HERE/vm.bash"

start_clock

finish() {
	local rc=$?
	trap - EXIT INT TERM
	[ -n "$OG_PORT" ] && og GET /_emulator/requests >"$W/requests.json" 2>/dev/null
	report || :
	world_down
	exit "$rc"
}
trap finish EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

version=$("$VENV/bin/python" -c 'import flwr; print(flwr.__version__)') || die "cannot import flwr from $VENV"
IFS=. read -r vmaj vmin _ <<<"$version"
vnum=$((vmaj * 1000 + vmin))
say "scenario $scenario: Flower $version ($VENV), tools $FLKIT_BIN, hooks $FLKIT_SHARE, work $W"

# --- the service: OneFlow's template, its inputs as a user would give them
sets=(--set "ONEAPP_FLOWER_VERSION=$version" --set ONEAPP_FL_TLS_ENABLED=YES)
case $scenario in
invalid) sets+=(--set superlink:ONEAPP_FL_NUM_ROUNDS=three --set superlink:ONEAPP_FL_STRATEGY=FedMagic) ;;
reboot | ckpt-resume) sets+=(--set superlink:ONEAPP_FL_CHECKPOINT_ENABLED=YES --set superlink:ONEAPP_FL_CHECKPOINT_INTERVAL=1) ;;
onegate-down) sets+=(--set superlink:ONEAPP_FL_MIN_FIT_CLIENTS=1 --set superlink:ONEAPP_FL_MIN_EVALUATE_CLIENTS=1
	--set superlink:ONEAPP_FL_MIN_AVAILABLE_CLIENTS=1) ;;
esac
if [ "$scenario" = multisite ]; then
	# Zone A's coordinator service 10, zone B's training site service 20 (VMs 200-201 on
	# NET2); one emulator holds both worlds, each zone reaches it at its own gateway.
	NET2=10.67.0
	python3 "$HERE/world_from_template.py" "$ROOT/share/oneflow/flower-coordinator.json" "$W" --net "$NET" \
		--service-id 10 --onegate "http://$NET.1:5030" "${sets[@]}" || die "world_from_template.py failed (coordinator)"
	# site_world DIR CA: the training site's world and contexts; the CA is known once the
	# SuperLink booted (design 04 §2.6), so the contexts are written again then.
	site_world() {
		python3 "$HERE/world_from_template.py" "$ROOT/share/oneflow/flower-training-site.json" "$1" \
			--net "$NET2" --service-id 20 --first-vmid 200 --onegate "http://$NET2.1:5030" \
			--set "ONEAPP_FLOWER_VERSION=$version" --set "ONEAPP_FL_SUPERLINK_ADDRESS=$NET.10:9092" \
			--set "ONEAPP_FL_SSL_CA_CERTFILE=$2" --set ONEAPP_FL_PARTITION_OFFSET=2 \
			--set ONEAPP_FL_NUM_PARTITIONS=4
	}
	site_world "$W/site" pending || die "world_from_template.py failed (training site)"
	jq -s '.[0] + {vms: (.[0].vms + .[1].vms), services: (.[0].services + .[1].services)}' \
		"$W/world.json" "$W/site/world.json" >"$W/world.all.json" && mv "$W/world.all.json" "$W/world.json"
	cat "$W/site/vms.tsv" >>"$W/vms.tsv"
	mv "$W"/site/vm-* "$W/"
	rm -rf "$W/site"
else
	python3 "$HERE/world_from_template.py" "$ROOT/share/oneflow/flower-service.json" "$W" --net "$NET" \
		--onegate "http://$NET.1:5030" "${sets[@]}" || die "world_from_template.py failed"
fi
world_up || die "cannot make the service network and the OneGate emulator"
SL='' SNS=()
while IFS=$'\t' read -r id role _ ip mac; do
	vm_create "$id" "$role" "$ip" "$mac" || die "VM $id: image build failed: $(tail -n 5 "$W/vm-$id/build.log")"
	[ "$(vm_status "$id")" = install_success ] || die "VM $id: service install did not end in install_success: $(tail -n 5 "$W/vm-$id/build.log")"
	if [ "$role" = superlink ]; then SL=$id; else SNS+=("$id"); fi
done <"$W/vms.tsv"
say "service: SuperLink VM $SL (${VM_IP[$SL]}), SuperNode VMs ${SNS[*]}; images built (service install)"

# --- helpers
attr() { og GET /_emulator/state | jq -r --arg id "$1" --arg k "$2" '.vms[$id][$k] // empty'; }
# wait_until WHAT CMD...: poll CMD every 0.5 s until it succeeds or the deadline.
wait_until() {
	local what=$1
	shift
	until "$@"; do
		[ "$(date +%s)" -lt "$deadline" ] || die "$what: not by the deadline (${deadline_s}s)" 4
		sleep 0.5
	done
}
is_ready() { [ "$(attr "$1" READY)" = YES ]; }
is_status() { [ "$(vm_status "$1")" = "$2" ]; }
contextualized() { [ -e "$W/vm-$1/contextualized" ]; }
# boot_failed ID: the VM's boot ended in a failure status: print its logs and fail.
check_boot() {
	local s
	s=$(vm_status "$1")
	case $s in
	*_failure)
		tail -n 40 "$W/vm-$1/disk/var/log/one-appliance/"{configure,bootstrap}.log >&2 2>/dev/null
		die "VM $1 (${VM_ROLE[$1]}): $s, FL_ERROR=$(attr "$1" FL_ERROR)"
		;;
	esac
	contextualized "$1" && is_ready "$1" && [ "$s" = bootstrap_success ]
}
wait_ready() { local id; for id in "$@"; do wait_until "VM $id READY=YES" check_boot "$id"; done; }
sn_registered() { vm_exec "$1" "$FLKIT_SHARE/one-apps/ready.sh" >/dev/null 2>&1; }
flower_pids() { vm_exec "$1" pgrep -f 'flower-(superlink|supernode)' 2>/dev/null | paste -sd' '; }
ca_fp() { openssl x509 -noout -fingerprint -sha256 -in "$W/vm-$SL/disk/opt/flower/certs/ca.crt" | cut -d= -f2; }
leaf_serial() { openssl x509 -noout -serial -in "$W/vm-$SL/disk/opt/flower/certs/server.pem" | cut -d= -f2; }

# deploy_straight: OneFlow's straight deployment with ready_status_gate: the SuperLink role,
# once its VMs report READY=YES, then the SuperNode role.
deploy_straight() {
	vm_power_on "$SL"
	wait_ready "$SL"
	say "SuperLink VM $SL READY (FL_ENDPOINT $(attr "$SL" FL_ENDPOINT))"
	local id
	for id in "${SNS[@]}"; do vm_power_on "$id"; done
	wait_ready "${SNS[@]}"
	say "SuperNode VMs ${SNS[*]} READY"
}

# --- a Flower run from the SuperLink VM (its Control API listens on its loopback)
runs=0
cli() {
	vm_exec "$SL" env HOME="$W/cli/home" FLWR_HOME="$W/cli" timeout "$(left)" flwr "$@"
}
setup_cli() {
	local control ca
	control=$(vm_exec "$SL" bash -c '. /etc/default/flkit; fl-launch --runtime process --supervisor none -c /run/flkit/superlink.conf show' |
		sed -n 's/^FL_CONTROL_ADDRESS=//p')
	[ -n "$control" ] || die "fl-launch show names no FL_CONTROL_ADDRESS on the SuperLink VM"
	ca="$W/cli/ca.crt"
	rm -rf "$W/app" "$W/cli"
	mkdir -p "$W/cli/home"
	cp "$W/vm-$SL/disk/opt/flower/certs/ca.crt" "$ca" || die "no CA on the SuperLink VM"
	flwr_app "$ROOT/share/flower-app" "$W/app"
	flwr_connect "$W/app" "$W/cli" vm "$control" "root-certificates = \"$ca\""
}
# flwr_run ROUNDS [RUN-CONFIG] [--at-round R FUNC]: one run, which must complete; RUN_ROUNDS,
# RUN_RESUMED (the checkpoint round its model started from, empty for a fresh model) and
# RUN_EVENTS (file) say what it did. With --at-round, FUNC runs once round R ended; when FUNC fails (it took the run
# away, e.g. by powering the VMs off) flwr_run returns at once.
flwr_run() {
	local rounds=$1 more=${2:-} at_round=${4:-} at_func=${5:-} out run_id rc_line tag
	runs=$((runs + 1))
	tag=$runs
	if [ "$runs" = 1 ] || [ ! -d "$W/cli" ]; then
		setup_cli
	fi
	rc_line=$(vm_exec "$SL" fl-context -c /run/flkit/superlink.conf run-config) || die "fl-context run-config failed on the SuperLink VM"
	local -a rc=(--run-config "$rc_line" --run-config "num-server-rounds=$rounds")
	[ -n "$more" ] && rc+=(--run-config "$more")
	out=$(cli run "$W/app" "${FLWR_CONN[@]}" "${rc[@]}" --format json 2>"$W/logs/flwr-run$tag.log")
	run_id=$(jq -r 'select(.success == true) | ."run-id"' <<<"$out" 2>/dev/null)
	[ -n "$run_id" ] || die "flwr run failed: $out $(tail -n 5 "$W/logs/flwr-run$tag.log")"
	say "run $tag: $run_id submitted ($rounds rounds${more:+, $more})"
	RUN_EVENTS=$W/events$tag.jsonl
	local log=$W/logs/serverapp$tag.log status=
	cli log "$run_id" "${FLWR_CONN[@]}" --stream >"$log" 2>&1 &
	local lpid=$!
	while kill -0 "$lpid" 2>/dev/null; do
		if [ -n "$at_round" ] && [ "$(grep -c '"event":"round_end"' "$log")" -ge "$at_round" ]; then
			at_round=
			if ! "$at_func"; then
				kill "$lpid" 2>/dev/null
				wait "$lpid" 2>/dev/null
				events "$log"
				return 0
			fi
		fi
		[ "$(date +%s)" -lt "$deadline" ] || die "run $run_id not finished at the deadline (${deadline_s}s)" 4
		sleep 1
	done
	for _ in $(seq 60); do
		status=$(flwr_status "$run_id" 2>/dev/null)
		case $status in finished:*) break ;; esac
		[ "$(date +%s)" -lt "$deadline" ] || die "run $run_id '$status' at the deadline" 4
		sleep 1
	done
	events "$log"
	say "run $tag: $status, $RUN_ROUNDS round(s)"
	[ "$status" = finished:completed ] || { tail -n 30 "$log" >&2; die "run $run_id: $status"; }
}
events() {
	flwr_events "$1" "$RUN_EVENTS"
	RUN_ROUNDS=$(jq -s '[.[] | select(.event == "round_end")] | length' "$RUN_EVENTS")
	# The app resumes from the latest checkpoint and counts its rounds from 1 again.
	RUN_RESUMED=$(sed -n 's/.*Resuming from checkpoint: round \([0-9]*\).*/\1/p' "$1" | head -n 1)
	printf 'RUN%s_ROUNDS=%s\nRUN%s_RESUMED_FROM=%s\n' "$runs" "$RUN_ROUNDS" "$runs" "$RUN_RESUMED" >>"$W/result.env"
}

# report: result.env and report.txt from boots.tsv, the OneGate request log and the events.
report() {
	[ -s "$W/boots.tsv" ] || return 0
	python3 "$HERE/report.py" "$W" >>"$W/result.env" && cat "$W/report.txt" >&2
}

printf 'SCENARIO=%s\nVERSION=%s\n' "$scenario" "$version" >>"$W/result.env"
fl_ready_of() { attr "$1" "$([ "${VM_ROLE[$1]}" = superlink ] && echo FL_READY || echo FL_NODE_READY)"; }
all_fl_ready() { local id; for id in "$SL" "${SNS[@]}"; do [ "$(fl_ready_of "$id")" = YES ] || return 1; done; }

# --- the scenarios
case $scenario in
clean)
	deploy_straight
	# one-context-force (a disk resize, a NIC hot-plug, `onevm updateconf`) while training:
	# configure and bootstrap run again on every VM and must leave Flower alone.
	recontext_all() {
		local id
		before=$(for id in "$SL" "${SNS[@]}"; do flower_pids "$id"; done)
		for id in "$SL" "${SNS[@]}"; do
			vm_exec "$id" env ONE_CONTEXT_CDROM="$W/vm-$id/cdrom" "$HERE/one-contextd" network force
			is_status "$id" bootstrap_success || die "VM $id: status $(vm_status "$id") after the forced contextualization"
		done
		after=$(for id in "$SL" "${SNS[@]}"; do flower_pids "$id"; done)
		[ "$before" = "$after" ] || die "re-running the hooks restarted Flower ($before -> $after)"
		say "round 1 ended: the hooks ran again on every VM (one-context-force); Flower left alone ($after)"
	}
	flwr_run 3 "" --at-round 1 recontext_all
	[ "$RUN_ROUNDS" = 3 ] || die "3 rounds expected, $RUN_ROUNDS ran"
	for id in "$SL" "${SNS[@]}"; do
		is_status "$id" bootstrap_success || die "VM $id: status $(vm_status "$id")"
		grep -q 'All set and ready to serve' "$W/vm-$id/disk/etc/motd" || die "VM $id: no success MOTD"
		[ -s "$W/vm-$id/disk/var/log/one-appliance/configure.log" ] || die "VM $id: no configure.log"
	done
	;;
early)
	for id in "${SNS[@]}"; do vm_power_on "$id"; done
	sleep 15
	for id in "${SNS[@]}"; do
		[ "$(vm_status "$id")" != bootstrap_success ] || die "VM $id bootstrapped before any SuperLink existed"
	done
	say "SuperNodes waiting for a SuperLink ($(for id in "${SNS[@]}"; do printf '%s:%s ' "$id" "$(vm_status "$id")"; done)); powering the SuperLink on"
	vm_power_on "$SL"
	wait_ready "$SL" "${SNS[@]}"
	flwr_run 2
	;;
reboot)
	deploy_straight
	fp=$(ca_fp)
	power_cycle_all() {
		say "round 2 ended: powering every VM off and on"
		for id in "$SL" "${SNS[@]}"; do vm_power_off "$id"; done
		for id in "$SL" "${SNS[@]}"; do vm_power_on "$id"; done
		return 1
	}
	flwr_run 5 "" --at-round 2 power_cycle_all
	wait_ready "$SL" "${SNS[@]}"
	[ "$(ca_fp)" = "$fp" ] || die "the CA changed across the reboot"
	flwr_run 3
	[ "${RUN_RESUMED:-0}" -ge 2 ] || die "the run after the reboot did not resume from a checkpoint of round 2 or later (${RUN_RESUMED:-none})"
	say "after the reboot: the run resumed from the checkpoint of round $RUN_RESUMED"
	;;
ckpt-resume)
	deploy_straight
	flwr_run 3
	sn_before=$(for id in "${SNS[@]}"; do flower_pids "$id"; done)
	vm_power_off "$SL"
	vm_power_on "$SL"
	wait_ready "$SL"
	wait_until "SuperNodes registered again" all_fl_ready
	sn_after=$(for id in "${SNS[@]}"; do flower_pids "$id"; done)
	[ "$sn_before" = "$sn_after" ] || say "note: SuperNode processes changed ($sn_before -> $sn_after)"
	flwr_run 2
	[ "$RUN_RESUMED" = 3 ] || die "the run after the SuperLink's reboot did not resume from round 3's checkpoint (${RUN_RESUMED:-none})"
	say "after the SuperLink's reboot: the run resumed from round 3's checkpoint"
	;;
multisite)
	vm_power_on "$SL"
	wait_ready "$SL"
	say "zone A: SuperLink VM $SL READY; its CA goes into the training site's FL_SSL_CA_CERTFILE"
	site_world "$W/site" "$(base64 -w0 "$W/vm-$SL/disk/opt/flower/certs/ca.crt")" || die "world_from_template.py failed (training site)"
	for id in "${SNS[@]}"; do cp "$W/site/vm-$id/cdrom/context.sh" "$W/vm-$id/cdrom/context.sh"; done
	rm -rf "$W/site"
	for id in "${SNS[@]}"; do vm_power_on "$id"; done
	wait_ready "${SNS[@]}"
	parts=''
	for id in "${SNS[@]}"; do
		parts+="$(vm_exec "$id" sed -n 's/^FL_NODE_CONFIG=//p' /run/flkit/supernode.conf | tr -d "'\""),"
	done
	printf 'PARTITIONS="%s"\n' "${parts%,}" >>"$W/result.env"
	say "zone B: SuperNode VMs ${SNS[*]} READY (${VM_IP[${SNS[0]}]}...), partitions ${parts%,}"
	flwr_run 3
	[ "$RUN_ROUNDS" = 3 ] || die "3 rounds expected, $RUN_ROUNDS ran"
	;;
new-ip)
	deploy_straight
	fp=$(ca_fp) serial=$(leaf_serial) old=${VM_IP[$SL]}
	vm_power_off "$SL"
	vm_set_ip "$SL" "$NET.99"
	vm_power_on "$SL"
	wait_ready "$SL"
	[ "$(ca_fp)" = "$fp" ] || die "the CA changed with the address"
	[ "$(leaf_serial)" != "$serial" ] || die "the server certificate was not re-issued for the new address"
	openssl x509 -noout -ext subjectAltName -in "$W/vm-$SL/disk/opt/flower/certs/server.pem" | grep -q "IP Address:$NET.99" ||
		die "the new server certificate does not name $NET.99"
	say "SuperLink $old -> $NET.99: same CA, new leaf certificate; waiting for the SuperNodes to follow"
	follows() { vm_exec "$1" grep -q "$NET.99" /run/flkit/discovery.env; }
	for id in "${SNS[@]}"; do wait_until "SuperNode $id follows the SuperLink to $NET.99" follows "$id"; done
	for id in "${SNS[@]}"; do wait_until "SuperNode $id registered with the moved SuperLink" sn_registered "$id"; done
	flwr_run 1
	;;
invalid)
	vm_power_on "$SL"
	wait_until "the SuperLink's boot" contextualized "$SL"
	[ "$(vm_status "$SL")" = configure_failure ] || die "status $(vm_status "$SL"), not configure_failure"
	log=$W/vm-$SL/disk/var/log/one-appliance/configure.log
	if ! grep -q 'FL_NUM_ROUNDS' "$log" || ! grep -q 'FL_STRATEGY' "$log"; then
		die "configure.log does not name both invalid variables"
	fi
	[ "$(attr "$SL" FL_ERROR)" = config_validation_failed ] || die "FL_ERROR is '$(attr "$SL" FL_ERROR)'"
	[ "$(attr "$SL" FL_READY)" = NO ] || die "FL_READY is '$(attr "$SL" FL_READY)'"
	[ -z "$(attr "$SL" READY)" ] || die "READY was reported"
	[ -z "$(flower_pids "$SL")" ] || die "Flower runs on a VM whose configuration is invalid"
	[ ! -e "$W/vm-$SL/disk/var/log/one-appliance/bootstrap.log" ] || die "bootstrap ran after a failed configure"
	say "invalid context: configure_failure, FL_ERROR=config_validation_failed, both variables in the log, nothing started"
	;;
onegate-down)
	onegate_down || die "cannot take OneGate down"
	vm_power_on "$SL"
	wait_until "the SuperLink's boot" contextualized "$SL"
	[ "$(vm_status "$SL")" = bootstrap_success ] || die "SuperLink: status $(vm_status "$SL") without OneGate"
	grep -q 'SuperNodes must use static FL_SUPERLINK_ADDRESS' "$W/vm-$SL/disk/var/log/one-appliance/bootstrap.log" ||
		die "the SuperLink's bootstrap.log does not say that publishing failed"
	# SuperNode 0: static address and CA, as a user gives them when OneGate cannot help;
	# SuperNode 1 discovers dynamically: the edge schedule retries while OneGate is down.
	sn0=${SNS[0]} sn1=${SNS[1]}
	ca64=$(base64 -w0 "$W/vm-$SL/disk/opt/flower/certs/ca.crt")
	printf "ONEAPP_FL_SUPERLINK_ADDRESS='%s:9092'\nONEAPP_FL_SSL_CA_CERTFILE='%s'\n" "${VM_IP[$SL]}" "$ca64" >>"$W/vm-$sn0/cdrom/context.sh"
	vm_power_on "$sn0"
	vm_power_on "$sn1"
	wait_until "the static SuperNode's boot" contextualized "$sn0"
	[ "$(vm_status "$sn0")" = bootstrap_success ] || die "static SuperNode: status $(vm_status "$sn0")"
	sn_registered "$sn0" || die "the static SuperNode is not registered with the SuperLink"
	retrying() { [ "$(grep -c 'OneGate error on attempt' "$W/vm-$sn1/disk/var/log/one-appliance/configure.log" 2>/dev/null)" -ge 2 ]; }
	wait_until "the dynamic SuperNode retrying discovery" retrying
	[ "$(vm_status "$sn1")" = configure_started ] || die "dynamic SuperNode: status $(vm_status "$sn1") while OneGate is down"
	if [ -n "$(attr "$SL" READY)$(attr "$SL" FL_READY)" ]; then
		die "something was published while OneGate was down"
	fi
	say "OneGate down: SuperLink bootstrapped (publication failed, a warning), static SuperNode registered, dynamic one retrying; OneGate back, SuperLink contextualized again (one-context-force)"
	onegate_up || die "cannot bring OneGate back"
	vm_exec "$SL" env ONE_CONTEXT_CDROM="$W/vm-$SL/cdrom" "$HERE/one-contextd" network force
	wait_ready "$SL" "$sn1"
	flwr_run 1
	;;
scale-up)
	deploy_straight
	flwr_run 1
	new=$(( $(printf '%s\n' "$SL" "${SNS[@]}" | sort -n | tail -n 1) + 1 ))
	ip3=$NET.$((10 + ${#SNS[@]} + 1))
	mac=02:00:0a:42:00:$(printf '%02x' $((10 + ${#SNS[@]} + 1)))
	mkdir -p "$W/vm-$new/cdrom"
	sed -e "s/^VMID=.*/VMID='$new'/" -e "s/^ETH0_IP=.*/ETH0_IP='$ip3'/" -e "s/^ETH0_MAC=.*/ETH0_MAC='$mac'/" \
		"$W/vm-${SNS[0]}/cdrom/context.sh" >"$W/vm-$new/cdrom/context.sh"
	og POST "/_emulator/service/7" "{\"add_node\":{\"id\":$new,\"role\":\"supernode\",\"name\":\"supernode_2_(service_7)\",\"stime\":$((1760000000 + new)),\"nics\":[{\"IP\":\"$ip3\",\"NAME\":\"NIC0\",\"NETWORK\":\"Private\"}]}}" >/dev/null ||
		die "the emulator refused the new SuperNode"
	python3 - "$W/world.json" "$new" "$ip3" <<-'EOF' || die "cannot add VM $new to world.json"
		import json, sys
		w = json.load(open(sys.argv[1]))
		w["vms"][sys.argv[2]] = {"name": "supernode_2_(service_7)", "stime": 1760000000 + int(sys.argv[2]),
		                         "nics": [{"IP": sys.argv[3], "NAME": "NIC0"}]}
		json.dump(w, open(sys.argv[1], "w"))
	EOF
	vm_create "$new" supernode "$ip3" "$mac" || die "VM $new: image build failed"
	printf '%s\tsupernode\t%s\t%s\t%s\n' "$new" "${#SNS[@]}" "$ip3" "$mac" >>"$W/vms.tsv"
	SNS+=("$new")
	vm_power_on "$new"
	wait_ready "$new"
	say "SuperNode VM $new joined: $(attr "$new" FL_NODE_ID) ($(vm_exec "$new" sed -n 's/^FL_NODE_CONFIG=//p' /run/flkit/supernode.conf))"
	flwr_run 1 "min-fit-clients=3 min-available-clients=3 min-evaluate-clients=3"
	;;
esac
echo "RESULT=ok" >>"$W/result.env"
say "scenario $scenario: ok"
