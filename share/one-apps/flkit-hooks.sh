# flkit-hooks.sh: the one-apps hook steps of the Flower appliances, written only in terms of
# the flkit tools; sourced by superlink/appliance.sh, supernode/appliance.sh, ready.sh,
# net-99-report-ready and rediscover.sh.
#
# The one-apps dispatcher runs the hooks under `set -e` and `umask 0077`, each stage in a
# process of its own, on every boot and every reconfiguration. So: every fallible call is
# tested (in `if` or with `|| rc=$?`), nothing is kept in shell variables from one stage to
# the next (the tools keep their state in /run/flkit and /opt/flower), and a step that finds
# its work done changes nothing (fl-launch start leaves an unchanged Flower alone, fl-certgen
# re-issues only the leaf certificate when the addresses changed). Every failure is logged and
# published as FL_READY=NO (FL_NODE_READY=NO) with FL_ERROR=<code>; README.md lists the codes.
# Secrets never pass through here: the tools read the OneGate token and keys themselves.

# shellcheck shell=bash

FLKIT_RUN=/run/flkit
FLKIT_STATUS_FILE=/etc/one-appliance/status
FLKIT_FLOWER_DIR=/opt/flower
FLKIT_ONE_ENV=/run/one-context/one_env

# flkit_log LEVEL MESSAGE...: one line on stderr in the tools' format (the dispatcher sends the
# hook's stderr to the stage log). Never fails, unlike one-apps' `msg error`.
flkit_log() {
	local level=$1
	shift
	printf '[%(%Y-%m-%d %H:%M:%S)T] [%s] [flkit-hooks] %s\n' -1 "$level" "$*" >&2 || :
}

# flkit_knobs: the command prefixes of the tools, from the optional knobs (environment or
# /etc/default/flkit, unset in production): FLKIT_RUNTIME, FLKIT_SUPERVISOR, FLKIT_FLOWER_BIN,
# FLKIT_OWNER. The tools check the values themselves (a bad one is their usage error).
flkit_knobs() {
	FLKIT_LAUNCH=(fl-launch)
	FLKIT_CERTGEN=(fl-certgen)
	if [ -n "${FLKIT_RUNTIME:-}" ]; then
		FLKIT_LAUNCH+=(--runtime "$FLKIT_RUNTIME")
	fi
	if [ -n "${FLKIT_SUPERVISOR:-}" ]; then
		FLKIT_LAUNCH+=(--supervisor "$FLKIT_SUPERVISOR")
	fi
	if [ -n "${FLKIT_FLOWER_BIN:-}" ]; then
		FLKIT_LAUNCH+=(--flower-bin "$FLKIT_FLOWER_BIN")
	fi
	if [ -n "${FLKIT_OWNER:-}" ]; then
		FLKIT_LAUNCH+=(--owner "$FLKIT_OWNER")
		FLKIT_CERTGEN+=(--owner "$FLKIT_OWNER")
	fi
}

# flkit_runtime: docker (fl-launch's default) or FLKIT_RUNTIME.
flkit_runtime() {
	printf '%s\n' "${FLKIT_RUNTIME:-docker}"
}

# flkit_supervised: true when Flower runs under systemd, by fl-launch's own rule: docker always,
# the process runtime when systemd runs, unless FLKIT_SUPERVISOR says otherwise.
flkit_supervised() {
	if [ -n "${FLKIT_SUPERVISOR:-}" ]; then
		[ "$FLKIT_SUPERVISOR" = systemd ]
	elif [ "${FLKIT_RUNTIME:-docker}" = docker ]; then
		return 0
	else
		[ -d /run/systemd/system ]
	fi
}

# flkit_ready_var ROLE: the attribute that says whether ROLE is ready.
flkit_ready_var() {
	if [ "$1" = supernode ]; then
		printf 'FL_NODE_READY\n'
	else
		printf 'FL_READY\n'
	fi
}

# flkit_publish_onegate ROLE CODE: FL_READY=NO (FL_NODE_READY=NO) FL_ERROR=CODE through
# fl-onegate alone, for failures where fl-launch publish-error would refuse to run (an invalid
# context, a SuperNode without a SuperLink address). Best effort: OneGate may be down.
flkit_publish_onegate() {
	local var
	var=$(flkit_ready_var "$1")
	if ! fl-onegate publish --best-effort "$var=NO" "FL_ERROR=$2"; then
		flkit_log WARN "could not publish $var=NO FL_ERROR=$2"
	fi
}

# flkit_fail ROLE CODE: log the failure and publish it with fl-launch publish-error (which
# knows the role's attribute), or with fl-onegate when fl-launch refuses to run.
flkit_fail() {
	local role=$1 code=$2
	local -a cmd
	flkit_log ERROR "Flower $role boot failed: FL_ERROR=$code (the lines above say why)"
	if [ -r "$FLKIT_RUN/$role.conf" ]; then
		cmd=("${FLKIT_LAUNCH[@]}" -c "$FLKIT_RUN/$role.conf")
		if [ "$role" = supernode ] && [ -r "$FLKIT_RUN/discovery.env" ]; then
			cmd+=(--discovery "$FLKIT_RUN/discovery.env")
		fi
		if "${cmd[@]}" --best-effort publish-error "$code"; then
			return 0
		fi
	fi
	flkit_publish_onegate "$role" "$code"
}

# flkit_dirs: /run/flkit, where the rendered configuration and the discovery result live
# (tmpfs: gone at each boot, rebuilt by configure), and /opt/flower, 0755 whatever the umask:
# the tools create their own directories inside, and a native Flower running as its own user
# (FLKIT_RUNTIME=process) must be able to enter it.
flkit_dirs() {
	if ! mkdir -p "$FLKIT_RUN"; then
		flkit_log ERROR "cannot create $FLKIT_RUN"
		return 1
	fi
	if ! mkdir -p "$FLKIT_FLOWER_DIR" || ! chmod 0755 "$FLKIT_FLOWER_DIR"; then
		flkit_log ERROR "cannot create $FLKIT_FLOWER_DIR with mode 0755"
		return 1
	fi
}

# flkit_image_opts: FLKIT_IMAGE_OPTS, the --image of a framework variant (design 03 §1.3). An
# image with /opt/flower/PREBAKED_FRAMEWORK is a variant QCOW2: its SuperNode runs
# flower-supernode-<ML_FRAMEWORK> (a framework the image lacks is pulled or the start fails,
# never replaced by another); the base image runs flwr/supernode ("bring your own image").
# Docker runtime only: the process runtime runs the Flower it finds.
flkit_image_opts() {
	local fw
	FLKIT_IMAGE_OPTS=()
	FLKIT_FRAMEWORK=
	if [ "$(flkit_runtime)" != docker ] || [ ! -e "$FLKIT_FLOWER_DIR/PREBAKED_FRAMEWORK" ]; then
		return 0
	fi
	if ! fw=$(fl-context -q -c "$FLKIT_RUN/supernode.conf" get ML_FRAMEWORK); then
		return 1
	fi
	FLKIT_FRAMEWORK=$fw
	FLKIT_IMAGE_OPTS=(--image "flower-supernode-$fw")
}

# flkit_sn_launch: FLKIT_SN, the fl-launch prefix of this SuperNode: knobs, its rendered
# configuration, the discovery result, the framework image, and --one-env when one-context
# wrote one_env. fl-launch runs the elasticity publisher (fl-metrics publish) beside a SuperNode
# whose context names OneGate; the rendered file does not carry ONEGATE_ENDPOINT, so without
# --one-env the answer would depend on the caller's environment (the dispatcher's has it, the
# rediscovery timer's does not) and every other start would stop or start the publisher. Where
# one_env names no endpoint the publisher only warns, at most every 5 minutes.
flkit_sn_launch() {
	if ! flkit_image_opts; then
		return 1
	fi
	FLKIT_SN=("${FLKIT_LAUNCH[@]}" -c "$FLKIT_RUN/supernode.conf"
		--discovery "$FLKIT_RUN/discovery.env" "${FLKIT_IMAGE_OPTS[@]}")
	if [ -e "$FLKIT_ONE_ENV" ]; then
		FLKIT_SN+=(--one-env "$FLKIT_ONE_ENV")
	fi
}

# flkit_health_cmd: FLKIT_HEALTH, the READY_SCRIPT check (fl-launch health; the rendered
# configuration of the role found in /run/flkit, and a SuperNode's discovery result).
flkit_health_cmd() {
	FLKIT_HEALTH=("${FLKIT_LAUNCH[@]}" -q)
	if [ -e "$FLKIT_RUN/discovery.env" ]; then
		FLKIT_HEALTH+=(--discovery "$FLKIT_RUN/discovery.env")
	fi
	FLKIT_HEALTH+=(health)
}

# flkit_bootstrapped: the one-apps status is exactly bootstrap_success.
flkit_bootstrapped() {
	local status=
	if [ -r "$FLKIT_STATUS_FILE" ]; then
		status=$(<"$FLKIT_STATUS_FILE") || status=
	fi
	[ "$status" = bootstrap_success ]
}

# flkit_report ROLE LAUNCH...: write $ONE_SERVICE_REPORT (mode 0600; it is shown at login):
# where the service is (fl-launch show) and how to reach it. A failure is only a warning.
flkit_report() {
	local role=$1 f=${ONE_SERVICE_REPORT:-}
	shift
	if [ -z "$f" ]; then
		return 0
	fi
	if [ -e "$f" ] && ! chmod 600 "$f"; then
		flkit_log WARN "cannot restrict $f: no report written"
		return 0
	fi
	if ! {
		printf '[Flower %s]\n' "$role"
		"$@" show || printf '(fl-launch show failed: see the configure log)\n'
		flkit_report_text "$role"
	} >"$f"; then
		flkit_log WARN "cannot write the report $f"
		return 0
	fi
	if ! chmod 600 "$f"; then
		flkit_log WARN "cannot restrict $f"
	fi
}

flkit_report_text() {
	if [ "$1" = superlink ]; then
		cat <<-'EOF'
			Control API: on 127.0.0.1 only; from your machine:
			  ssh -L 9093:127.0.0.1:9093 root@<this VM>, then flwr run . <federation>
			  (CA for the federation's root-certificates: /opt/flower/certs/ca.crt)
			Run config: fl-context -c /run/flkit/superlink.conf run-config
		EOF
	else
		cat <<-'EOF'
			Data: /opt/flower/data (mounted read-only into the SuperNode)
		EOF
	fi
	cat <<-'EOF'
		Status: fl-launch status; logs: fl-launch logs -n 50
		Boot logs: /var/log/one-appliance/configure.log, bootstrap.log
	EOF
}

# --- SuperLink ---------------------------------------------------------------------------

flkit_superlink_configure() {
	local conf=$FLKIT_RUN/superlink.conf
	flkit_knobs
	# A FL_READY=YES published before a reboot or reconfiguration must not survive it: the
	# SuperNodes wait for the YES that bootstrap publishes once Flower is healthy again.
	if ! fl-onegate publish --best-effort FL_READY=NO; then
		flkit_log WARN "could not publish FL_READY=NO"
	fi
	if ! flkit_dirs; then
		flkit_publish_onegate superlink install_failed
		return 1
	fi
	if ! fl-context render --role superlink -o "$conf"; then
		flkit_publish_onegate superlink config_validation_failed
		return 1
	fi
	if ! "${FLKIT_CERTGEN[@]}" -c "$conf" superlink >"$FLKIT_RUN/tls.env"; then
		flkit_fail superlink tls_setup_failed
		return 1
	fi
	if ! "${FLKIT_LAUNCH[@]}" -c "$conf" install; then
		flkit_fail superlink install_failed
		return 1
	fi
	flkit_report superlink "${FLKIT_LAUNCH[@]}" -c "$conf"
}

flkit_superlink_bootstrap() {
	local rc=0
	local -a sl
	flkit_knobs
	sl=("${FLKIT_LAUNCH[@]}" -c "$FLKIT_RUN/superlink.conf")
	# start leaves a Flower that runs this exact configuration alone, and restarts one that
	# runs another, saying why.
	if ! "${sl[@]}" start; then
		flkit_fail superlink docker_start_failed
		return 1
	fi
	"${sl[@]}" wait-healthy || rc=$?
	case $rc in
	0) ;;
	1 | 4)
		# fl-launch published FL_ERROR=health_check_failed or health_check_timeout itself.
		flkit_log ERROR "Flower superlink boot failed: not healthy (see above)"
		return 1
		;;
	*)
		flkit_fail superlink health_check_failed
		return 1
		;;
	esac
	# Best effort: without OneGate the SuperLink still serves static SuperNodes.
	if ! "${sl[@]}" --best-effort publish-ready; then
		flkit_fail superlink health_check_failed
		return 1
	fi
}

# --- SuperNode ---------------------------------------------------------------------------

flkit_supernode_configure() {
	local conf=$FLKIT_RUN/supernode.conf nc="" rc=0
	flkit_knobs
	if ! flkit_dirs; then
		flkit_publish_onegate supernode install_failed
		return 1
	fi
	# The data partition from the node's place in its role (a user FL_NODE_CONFIG comes back
	# as it is); without OneGate the ClientApp partitions by itself.
	nc=$(fl-onegate partition) || rc=$?
	# A training site of a multi-site federation (FL_NUM_PARTITIONS set) must not fall back to
	# the ClientApp's own partitioning: it would collide with the other sites' partitions.
	if [ "$rc" -ne 0 ] && [ -n "${ONEAPP_FL_NUM_PARTITIONS:-${FL_NUM_PARTITIONS:-}}" ] &&
		[ -z "${ONEAPP_FL_NODE_CONFIG:-${FL_NODE_CONFIG:-}}" ]; then
		flkit_log ERROR "no partition in this site's range (fl-onegate exit $rc; see its error): FL_NUM_PARTITIONS is set, so the node does not boot with a colliding one"
		flkit_publish_onegate supernode config_validation_failed
		return 1
	fi
	if [ "$rc" -ne 0 ]; then
		flkit_log WARN "no partition from OneGate (fl-onegate exit $rc): FL_NODE_CONFIG as configured"
		nc=
	fi
	if ! FL_NODE_CONFIG=$nc fl-context render --role supernode -o "$conf"; then
		flkit_publish_onegate supernode config_validation_failed
		return 1
	fi
	rc=0
	fl-onegate discover -o "$FLKIT_RUN/discovery.env" || rc=$?
	case $rc in
	0) ;;
	3)
		flkit_log ERROR "Flower supernode boot failed: FL_ERROR=onegate_unreachable"
		flkit_publish_onegate supernode onegate_unreachable
		return 1
		;;
	4)
		flkit_log ERROR "Flower supernode boot failed: FL_ERROR=discovery_timeout"
		flkit_publish_onegate supernode discovery_timeout
		return 1
		;;
	*)
		flkit_log ERROR "Flower supernode boot failed: FL_ERROR=discovery_failed"
		flkit_publish_onegate supernode discovery_failed
		return 1
		;;
	esac
	# Fail closed: TLS required and no usable CA is an error, never --insecure.
	if ! "${FLKIT_CERTGEN[@]}" -c "$conf" supernode --onegate-file "$FLKIT_RUN/discovery.env" \
		>"$FLKIT_RUN/tls.env"; then
		flkit_fail supernode tls_setup_failed
		return 1
	fi
	if ! flkit_sn_launch || ! "${FLKIT_SN[@]}" install; then
		flkit_fail supernode install_failed
		return 1
	fi
	flkit_report supernode "${FLKIT_SN[@]}"
}

flkit_supernode_bootstrap() {
	local rc=0
	flkit_knobs
	if ! flkit_sn_launch; then
		flkit_fail supernode docker_start_failed
		return 1
	fi
	if ! "${FLKIT_SN[@]}" start; then
		if [ -n "$FLKIT_FRAMEWORK" ]; then
			flkit_log ERROR "This QCOW2 may not include the '$FLKIT_FRAMEWORK' variant."
			flkit_log ERROR "Deploy the correct framework-specific QCOW2 or ensure network access."
		fi
		flkit_fail supernode docker_start_failed
		return 1
	fi
	"${FLKIT_SN[@]}" wait-healthy || rc=$?
	case $rc in
	0) ;;
	4)
		flkit_fail supernode supernode_not_registered
		return 1
		;;
	*)
		flkit_fail supernode health_check_failed
		return 1
		;;
	esac
	# FL_NODE_READY=YES, FL_NODE_ID, FL_VERSION and the GPU decision start recorded
	# (FL_GPU_AVAILABLE); best effort: the node trains without OneGate.
	if ! "${FLKIT_SN[@]}" --best-effort publish-ready; then
		flkit_fail supernode health_check_failed
		return 1
	fi
	flkit_rediscover_timer
}

# flkit_rediscover_timer: under systemd, run rediscover.sh every minute so that the SuperNode
# follows a SuperLink that came back with a new address (fl-launch start restarts it only when
# the address changed). Runtime units (/run/systemd/system): gone at reboot, installed again by
# the next bootstrap, so a timer never fires before this boot's configure. Without a supervisor
# whoever supervises runs rediscover.sh. A failure is only a warning.
flkit_rediscover_timer() {
	local dir=/run/systemd/system changed=0 share=${FLKIT_SHARE:-/usr/share/flkit}
	if ! flkit_supervised; then
		flkit_log INFO "no supervisor: run $share/one-apps/rediscover.sh to follow a SuperLink that moved"
		return 0
	fi
	flkit_unit "$dir/flkit-rediscover.service" <<-EOF || changed=$?
		[Unit]
		Description=flkit: follow the SuperLink to a new address (fl-onegate discover, fl-launch start)
		Documentation=man:fl-onegate(1) man:fl-launch(1)
		After=flower-supernode.service

		[Service]
		Type=oneshot
		ExecStart=$share/one-apps/rediscover.sh
		TimeoutStartSec=900
	EOF
	if [ "$changed" -le 1 ]; then
		flkit_unit "$dir/flkit-rediscover.timer" <<-'EOF' || changed=$?
			[Unit]
			Description=flkit: SuperLink re-discovery every minute

			[Timer]
			OnActiveSec=60
			OnUnitInactiveSec=60
		EOF
	fi
	if [ "$changed" -gt 1 ]; then
		flkit_log WARN "cannot write the flkit-rediscover units in $dir: no re-discovery"
		return 0
	fi
	if [ "$changed" -eq 1 ] && ! systemctl daemon-reload; then
		flkit_log WARN "systemctl daemon-reload failed: no re-discovery"
		return 0
	fi
	if ! systemctl start flkit-rediscover.timer; then
		flkit_log WARN "cannot start flkit-rediscover.timer: no re-discovery"
	fi
}

# flkit_unit FILE < TEXT: write FILE (0644) when its content differs; exit 0 unchanged,
# 1 written, 2 failed.
flkit_unit() {
	local f=$1 text
	text=$(cat) || return 2
	if [ -r "$f" ] && [ "$(<"$f")" = "$text" ]; then
		return 0
	fi
	if ! mkdir -p "${f%/*}" || ! printf '%s\n' "$text" >"$f.tmp" || ! chmod 0644 "$f.tmp" ||
		! mv -f "$f.tmp" "$f"; then
		return 2
	fi
	return 1
}

# --- Image build (service install) --------------------------------------------------------

# flkit_install ROLE: at image build time (no context): pull the role's image for the default
# (or the build environment's) FLOWER_VERSION and record it as PREBAKED_VERSION, which fl-launch
# falls back to when a requested version cannot be pulled. A framework variant build (the
# environment names ML_FRAMEWORK; its flower-supernode-<fw> image built before) also records
# PREBAKED_FRAMEWORK. Docker is stopped at the end so that the image is saved quiescent.
flkit_install() {
	local role=$1 v fw=
	local -a launch
	flkit_knobs
	launch=("${FLKIT_LAUNCH[@]}" -E -r "$role")
	if ! flkit_dirs; then
		return 1
	fi
	if [ "$(flkit_runtime)" != docker ]; then
		flkit_log INFO "runtime $(flkit_runtime): no image to pull; Flower comes with the image"
		return 0
	fi
	if ! systemctl start docker; then
		flkit_log WARN "systemctl start docker failed; waiting for the daemon anyway"
	fi
	if ! "${launch[@]}" wait-docker; then
		return 1
	fi
	if ! v=$("${launch[@]}" image); then
		flkit_log ERROR "cannot pull the $role image"
		return 1
	fi
	if [ "$role" = supernode ] && [ -n "${ONEAPP_ML_FRAMEWORK:-${ML_FRAMEWORK:-${ONEAPP_FL_FRAMEWORK:-${FL_FRAMEWORK:-}}}}" ]; then
		if ! fw=$(fl-context -q -E get ML_FRAMEWORK) ||
			! "${launch[@]}" --image "flower-supernode-$fw" image >/dev/null; then
			flkit_log ERROR "no image flower-supernode-${fw:-?}:$v: build it before service install"
			return 1
		fi
	fi
	if ! flkit_prebaked PREBAKED_VERSION "$v"; then
		return 1
	fi
	if [ -n "$fw" ] && ! flkit_prebaked PREBAKED_FRAMEWORK "$fw"; then
		return 1
	fi
	if ! systemctl stop docker; then
		flkit_log WARN "systemctl stop docker failed"
	fi
}

# flkit_prebaked NAME VALUE: /opt/flower/NAME holding VALUE, readable by all (0644).
flkit_prebaked() {
	local f=$FLKIT_FLOWER_DIR/$1
	if ! printf '%s\n' "$2" >"$f" || ! chmod 0644 "$f"; then
		flkit_log ERROR "cannot write $f"
		return 1
	fi
	flkit_log INFO "$f: $2"
}

# flkit_help ROLE: one-apps' parameter list, then where things are.
flkit_help() {
	if declare -F default_service_help >/dev/null; then
		default_service_help || :
	fi
	cat <<-EOF
		flkit Flower $1: configuration /run/flkit/$1.conf (fl-context render), Flower's
		files under /opt/flower, boot logs in /var/log/one-appliance/. Troubleshooting:
		fl-launch status, fl-launch logs -n 50, fl-launch health, fl-context validate --role $1.
		Ports: Fleet API 9092 (SuperNodes), Control API 127.0.0.1:9093 (flwr CLI, ssh -L).
	EOF
}
