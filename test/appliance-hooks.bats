#!/usr/bin/env bats
# appliance-hooks.bats: the one-apps hooks of share/one-apps against stub tools (no Flower, no
# network). Each stage runs as the dispatcher runs it (set -e, umask 0077, its own process) in
# a mount namespace whose /run, /opt, /etc/one-appliance and /etc/default belong to the test;
# the stubs (test/appliance/stubs/stub) record every call and exit as the test scripts them.

# SC2016: the bash -c scripts run on the VM and expand there; SC2030/SC2031: each test adds
# to CTX in its own subshell, on purpose; SC2154: stderr is set by bats' run.
# shellcheck disable=SC2016,SC2030,SC2031,SC2154

load helpers

# The secrets a context may hold; no tool may get them in its argv.
SECRET_KEY='LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0tc2VjcmV0LWtleS1tYXRlcmlhbA=='

setup_file() {
	local t
	export STUBS="$BATS_FILE_TMPDIR/stubs" STUBBIN="$BATS_FILE_TMPDIR/bin"
	export ETC="$BATS_FILE_TMPDIR/etc" FLKIT_SHARE="$BATS_FILE_TMPDIR/share"
	# Copies, so that nothing the namespaces need lives under a directory they hide.
	cp -R "$BATS_TEST_DIRNAME/appliance/stubs" "$STUBS"
	mkdir -p "$STUBBIN" "$FLKIT_SHARE"
	cp -R "$BATS_TEST_DIRNAME/../share/one-apps" "$FLKIT_SHARE/one-apps"
	for t in fl-context fl-certgen fl-onegate fl-launch fl-ckpt fl-metrics fl-gpucheck systemctl docker; do
		ln -s "$STUBS/stub" "$STUBBIN/$t"
	done
	cp -a /etc "$ETC"
	mkdir -p "$ETC/one-appliance" "$ETC/default"
}

setup() {
	VM="$BATS_TEST_TMPDIR/vm"
	STUB_DIR="$BATS_TEST_TMPDIR/stub"
	mkdir -p "$VM/run" "$VM/opt" "$VM/one-appliance" "$VM/default" "$STUB_DIR"
	# The context one-apps exports to the hooks, as NAME=value words; tests add to it.
	CTX=(ONEAPP_FL_SSL_KEYFILE="$SECRET_KEY" ONEGATE_ENDPOINT=http://169.254.16.9:5030 VMID=7)
	REPORT=/etc/one-appliance/config
}

# vm CMD...: CMD on the test's VM, with the stubs first on PATH and the context in the
# environment.
vm() {
	env -i PATH="$STUBBIN:/usr/bin:/bin" HOME=/root LANG=C LC_ALL=C STUB_DIR="$STUB_DIR" \
		FLKIT_SHARE="$FLKIT_SHARE" ONE_SERVICE_REPORT="$REPORT" "${CTX[@]}" \
		"$STUBS/in-vm" "$VM" "$ETC" "$@"
}

# stage ROLE STAGE: one hook, as the dispatcher runs it; status and output in bats' run.
stage() {
	run vm "$STUBS/stage" "$@"
}

# boot ROLE: configure && bootstrap, as net-90 chains them; both must succeed.
boot() {
	stage "$1" configure
	assert_success
	stage "$1" bootstrap
	assert_success
}

# configured ROLE: a VM whose configure ran (and succeeded); the calls are then forgotten.
configured() {
	stage "$1" configure
	assert_success
	rm -f "$STUB_DIR/calls" "$STUB_DIR"/env.*
}

# script TOOL VERB RC [STDOUT]: how the stub answers.
script() {
	printf '%s\n' "$3" >"$STUB_DIR/rc.$1.$2"
	if [ $# -gt 3 ]; then
		printf '%s\n' "$4" >"$STUB_DIR/out.$1.$2"
	fi
}

calls() {
	cat "$STUB_DIR/calls" 2>/dev/null || :
}

# called LINE: the exact call (argv as the stub recorded it: %q words) was made.
assert_called() {
	if ! calls | grep -qFx -- "$1"; then
		batslib_print_kv_single_or_multi 8 expected "$1" calls "$(calls)" |
			batslib_decorate 'call not made' | fail
	fi
}

refute_called() {
	if calls | grep -qFx -- "$1"; then
		batslib_print_kv_single_or_multi 8 unexpected "$1" calls "$(calls)" |
			batslib_decorate 'call made' | fail
	fi
}

# verbs TOOL: the verbs TOOL was called with, in order, one a line (the stub's verb rule:
# the first argument that is one of the tool's verbs).
verbs() {
	local tool=$1 line
	local -a w
	while IFS= read -r line; do
		read -ra w <<<"$line"
		if [ "${w[0]}" = "$tool" ]; then
			local a
			for a in "${w[@]:1}"; do
				case $a in
				start | stop | restart | install | show | health | wait-healthy | publish-ready | \
					publish-error | wait-docker | image | status | publish | discover | partition | \
					vm | render | get | user-inputs | superlink | supernode | daemon-reload)
					printf '%s\n' "$a"
					break
					;;
				esac
			done
		fi
	done < <(calls)
}

# The calls of a successful SuperLink boot.
SL_CONF=/run/flkit/superlink.conf
SN_CONF=/run/flkit/supernode.conf
SN_DISC=/run/flkit/discovery.env

@test "superlink: configure and bootstrap call the tools in the boot order, and succeed" {
	script fl-launch show 0 'FL_ENDPOINT=10.0.0.5:9092'
	boot superlink
	run calls
	assert_output "fl-context user-inputs --role superlink --oneapp --format params
fl-onegate publish --best-effort FL_READY=NO
fl-context render --role superlink -o $SL_CONF
fl-certgen -c $SL_CONF superlink
fl-launch -c $SL_CONF install
fl-launch -c $SL_CONF show
fl-context user-inputs --role superlink --oneapp --format params
fl-launch -c $SL_CONF start
fl-launch -c $SL_CONF wait-healthy
fl-launch -c $SL_CONF --best-effort publish-ready"
	# fl-certgen's FL_TLS lines are kept for the operator.
	run vm cat /run/flkit/tls.env
	assert_success
	# /opt/flower can be entered by a native Flower running as its own user, whatever the umask.
	run stat -c %a "$VM/opt/flower"
	assert_output 755
}

@test "superlink configure: FL_READY=NO is published first, before the context is even read" {
	script fl-context render 1
	stage superlink configure
	assert_failure 1
	run verbs fl-onegate
	assert_line --index 0 publish
	assert_equal "$(calls | sed -n 2p)" "fl-onegate publish --best-effort FL_READY=NO"
}

@test "superlink configure: an invalid context is config_validation_failed through fl-onegate, exit 1" {
	script fl-context render 1
	stage superlink configure
	assert_failure 1
	assert_called "fl-onegate publish --best-effort FL_READY=NO FL_ERROR=config_validation_failed"
	# fl-launch publish-error refuses an invalid context, so it is not asked.
	run verbs fl-launch
	assert_output ''
	run verbs fl-certgen
	assert_output ''
}

@test "superlink configure: a failed fl-certgen (1, or 4 for its lock) is tls_setup_failed, exit 1" {
	local rc
	for rc in 1 4; do
		rm -f "$STUB_DIR/calls"
		script fl-certgen superlink "$rc"
		stage superlink configure
		assert_failure 1
		assert_called "fl-launch -c $SL_CONF --best-effort publish-error tls_setup_failed"
		refute_called "fl-launch -c $SL_CONF install"
	done
}

@test "superlink configure: a failed fl-launch install is install_failed, exit 1" {
	script fl-launch install 1
	stage superlink configure
	assert_failure 1
	assert_called "fl-launch -c $SL_CONF --best-effort publish-error install_failed"
}

@test "superlink bootstrap: a failed start (1 or 3) is docker_start_failed, exit 1, no health wait" {
	configured superlink
	local rc
	for rc in 1 3; do
		rm -f "$STUB_DIR/calls"
		script fl-launch start "$rc"
		stage superlink bootstrap
		assert_failure 1
		assert_output --partial 'FL_ERROR=docker_start_failed'
		assert_called "fl-launch -c $SL_CONF --best-effort publish-error docker_start_failed"
		run verbs fl-launch
		assert_output $'start\npublish-error'
	done
}

@test "superlink bootstrap: wait-healthy's own failures (4 timeout, 1 final) are left to its publication" {
	configured superlink
	local rc
	for rc in 1 4; do
		rm -f "$STUB_DIR/calls"
		script fl-launch wait-healthy "$rc"
		stage superlink bootstrap
		assert_failure 1
		# fl-launch wait-healthy published health_check_timeout/failed itself: nothing twice,
		# and never readiness.
		run verbs fl-launch
		assert_output $'start\nwait-healthy'
		run verbs fl-onegate
		assert_output ''
	done
}

@test "superlink bootstrap: wait-healthy refusing to run (2) is health_check_failed" {
	configured superlink
	script fl-launch wait-healthy 2
	stage superlink bootstrap
	assert_failure 1
	assert_called "fl-launch -c $SL_CONF --best-effort publish-error health_check_failed"
}

@test "superlink bootstrap: a health check that fails in publish-ready is health_check_failed" {
	configured superlink
	script fl-launch publish-ready 1
	stage superlink bootstrap
	assert_failure 1
	assert_called "fl-launch -c $SL_CONF --best-effort publish-error health_check_failed"
}

@test "superlink: an error publication fl-launch refuses falls back to fl-onegate" {
	configured superlink
	script fl-launch start 1
	script fl-launch publish-error 1
	stage superlink bootstrap
	assert_failure 1
	assert_called "fl-launch -c $SL_CONF --best-effort publish-error docker_start_failed"
	assert_called "fl-onegate publish --best-effort FL_READY=NO FL_ERROR=docker_start_failed"
}

@test "superlink with OneGate down: every publication is attempted, the boot degrades and succeeds" {
	CTX+=(STUB_ONEGATE=down)
	boot superlink
	assert_output --partial 'OneGate publication failed'
	assert_called "fl-onegate publish --best-effort FL_READY=NO"
	assert_called "fl-launch -c $SL_CONF --best-effort publish-ready"
}

@test "superlink with OneGate down and an invalid context: the error publication is still attempted" {
	CTX+=(STUB_ONEGATE=down)
	script fl-context render 1
	stage superlink configure
	assert_failure 1
	assert_called "fl-onegate publish --best-effort FL_READY=NO FL_ERROR=config_validation_failed"
}

@test "report: \$ONE_SERVICE_REPORT is written with fl-launch show, mode 0600, also over a 0644 file" {
	script fl-launch show 0 $'FL_ENDPOINT=10.0.0.5:9092\nFL_CONTROL_ADDRESS=127.0.0.1:9093'
	printf 'old\n' >"$VM/one-appliance/config"
	chmod 0644 "$VM/one-appliance/config"
	stage superlink configure
	assert_success
	run stat -c %a "$VM/one-appliance/config"
	assert_output 600
	run cat "$VM/one-appliance/config"
	assert_line --index 0 '[Flower superlink]'
	assert_line 'FL_ENDPOINT=10.0.0.5:9092'
	assert_output --partial 'ssh -L 9093:127.0.0.1:9093'
	refute_output --partial old
}

@test "report: a new report is 0600 under the dispatcher's umask; no ONE_SERVICE_REPORT, no report" {
	stage supernode configure
	assert_success
	run stat -c %a "$VM/one-appliance/config"
	assert_output 600
	REPORT=
	rm "$VM/one-appliance/config"
	stage supernode configure
	assert_success
	assert_file_not_exist "$VM/one-appliance/config"
}

@test "service_cleanup does nothing, after any stage" {
	run --separate-stderr vm bash -c 'set -e; umask 0077; . "$FLKIT_SHARE/one-apps/superlink/appliance.sh"; : >"$STUB_DIR/calls"; service_cleanup; echo done'
	assert_success
	assert_output 'done'
	run calls
	assert_output ''
	run --separate-stderr vm bash -c 'set -e; umask 0077; . "$FLKIT_SHARE/one-apps/supernode/appliance.sh"; : >"$STUB_DIR/calls"; service_cleanup; echo done'
	assert_success
	run calls
	assert_output ''
	run grep -A3 '^service_cleanup()' "$FLKIT_SHARE/one-apps/superlink/appliance.sh" "$FLKIT_SHARE/one-apps/supernode/appliance.sh"
	assert_line --partial $'\t:'
}

@test "re-running configure and bootstrap (every boot, every reconfiguration) never stops or restarts Flower" {
	local role
	for role in superlink supernode; do
		rm -f "$STUB_DIR/calls"
		boot "$role"
		boot "$role"
		boot "$role"
		run verbs fl-launch
		refute_line stop
		refute_line restart
		assert_equal "$(verbs fl-launch | grep -c '^start$')" 3
	done
	# nor does anything else: no other tool is ever asked to stop it.
	run calls
	refute_output --partial ' stop'
	refute_output --partial ' restart'
}

@test "no secret reaches any argv: the context's key and the OneGate token stay with the tools" {
	CTX+=(TOKENTXT="$ONE_TOKEN" ONEGATE_TOKEN="$ONE_TOKEN" FL_SSL_KEYFILE="$SECRET_KEY")
	local role st
	for role in superlink supernode; do
		for st in install configure bootstrap; do
			stage "$role" "$st"
			assert_success
			# nor the stage log
			refute_output --partial "$ONE_TOKEN"
			refute_output --partial "$SECRET_KEY"
		done
	done
	run vm "$FLKIT_SHARE/one-apps/ready.sh"
	run calls
	refute_output --partial "$ONE_TOKEN"
	refute_output --partial "$SECRET_KEY"
	refute_output --partial "secret-key"
	# They are in the context, and the tools read the context themselves.
	run grep -l "FL_SSL_KEYFILE=$SECRET_KEY" "$STUB_DIR"/env.*
	assert_success
}

# --- SuperNode ---------------------------------------------------------------------------

@test "supernode: configure and bootstrap call the tools in the boot order, and succeed" {
	script fl-onegate partition 0 'partition-id=1 num-partitions=2'
	boot supernode
	run calls
	assert_output "fl-context user-inputs --role supernode --oneapp --format params
fl-onegate partition
fl-context render --role supernode -o $SN_CONF
fl-onegate discover -o $SN_DISC
fl-certgen -c $SN_CONF supernode --onegate-file $SN_DISC
fl-launch -c $SN_CONF --discovery $SN_DISC install
fl-launch -c $SN_CONF --discovery $SN_DISC show
fl-context user-inputs --role supernode --oneapp --format params
fl-launch -c $SN_CONF --discovery $SN_DISC start
fl-launch -c $SN_CONF --discovery $SN_DISC wait-healthy
fl-launch -c $SN_CONF --discovery $SN_DISC --best-effort publish-ready
systemctl daemon-reload
systemctl start flkit-rediscover.timer"
}

@test "supernode configure: the partition from OneGate reaches render as FL_NODE_CONFIG" {
	script fl-onegate partition 0 'partition-id=1 num-partitions=2'
	stage supernode configure
	assert_success
	# render is the third call (after user-inputs and partition).
	assert_equal "$(calls | sed -n 3p)" "fl-context render --role supernode -o $SN_CONF"
	run grep -x 'FL_NODE_CONFIG=partition-id=1 num-partitions=2' "$STUB_DIR/env.3"
	assert_success
}

@test "supernode configure: no partition (OneGate unreachable 3, not in the role 1) is a warning only" {
	local rc
	for rc in 3 1; do
		rm -f "$STUB_DIR/calls" "$STUB_DIR"/env.*
		script fl-onegate partition "$rc"
		stage supernode configure
		assert_success
		assert_output --partial "no partition from OneGate (fl-onegate exit $rc)"
		run grep -x 'FL_NODE_CONFIG=' "$STUB_DIR/env.3"
		assert_success
	done
}

@test "supernode configure: a training site (FL_NUM_PARTITIONS set) without a partition is config_validation_failed" {
	script fl-onegate partition 1
	CTX+=(ONEAPP_FL_NUM_PARTITIONS=4)
	stage supernode configure
	assert_failure
	assert_output --partial "no partition in this site's range (fl-onegate exit 1"
	run calls
	refute_output --partial "fl-context render"
}

@test "supernode configure: an invalid context is config_validation_failed with FL_NODE_READY=NO" {
	script fl-context render 1
	stage supernode configure
	assert_failure 1
	assert_called "fl-onegate publish --best-effort FL_NODE_READY=NO FL_ERROR=config_validation_failed"
	run verbs fl-onegate
	refute_line discover
}

@test "supernode configure: discovery failures map to onegate_unreachable (3), discovery_timeout (4), discovery_failed (1)" {
	local rc code
	for rc in 3 4 1 2; do
		case $rc in
		3) code=onegate_unreachable ;;
		4) code=discovery_timeout ;;
		*) code=discovery_failed ;;
		esac
		rm -f "$STUB_DIR/calls"
		script fl-onegate discover "$rc"
		stage supernode configure
		assert_failure 1
		assert_output --partial "FL_ERROR=$code"
		# No SuperLink address yet: fl-launch would refuse, so fl-onegate publishes.
		assert_called "fl-onegate publish --best-effort FL_NODE_READY=NO FL_ERROR=$code"
		run verbs fl-certgen
		assert_output ''
		run verbs fl-launch
		assert_output ''
	done
}

@test "supernode with OneGate down: a static SuperLink boots, a dynamic one fails configure with onegate_unreachable" {
	CTX+=(STUB_ONEGATE=down FL_SUPERLINK_ADDRESS=10.0.0.5:9092)
	# Static: discover makes no request and succeeds.
	script fl-onegate discover 0
	boot supernode
	assert_called "fl-launch -c $SN_CONF --discovery $SN_DISC --best-effort publish-ready"
	# Dynamic: discover's precheck finds OneGate unreachable.
	rm -f "$STUB_DIR/calls" "$STUB_DIR/rc.fl-onegate.discover"
	stage supernode configure
	assert_failure 1
	assert_called "fl-onegate publish --best-effort FL_NODE_READY=NO FL_ERROR=onegate_unreachable"
}

@test "supernode configure: a CA that cannot be trusted is tls_setup_failed (fail closed), exit 1" {
	script fl-certgen supernode 1
	stage supernode configure
	assert_failure 1
	assert_called "fl-launch -c $SN_CONF --discovery $SN_DISC --best-effort publish-error tls_setup_failed"
	run verbs fl-launch
	assert_output publish-error
}

@test "supernode configure: a failed fl-launch install is install_failed" {
	script fl-launch install 1
	stage supernode configure
	assert_failure 1
	assert_called "fl-launch -c $SN_CONF --discovery $SN_DISC --best-effort publish-error install_failed"
}

@test "supernode bootstrap: start 1 or 3 is docker_start_failed; wait-healthy 4 is supernode_not_registered, 1 health_check_failed" {
	configured supernode
	local rc
	for rc in 1 3; do
		rm -f "$STUB_DIR/calls" "$STUB_DIR"/rc.*
		script fl-launch start "$rc"
		stage supernode bootstrap
		assert_failure 1
		assert_called "fl-launch -c $SN_CONF --discovery $SN_DISC --best-effort publish-error docker_start_failed"
	done
	rm -f "$STUB_DIR/calls" "$STUB_DIR"/rc.*
	script fl-launch wait-healthy 4
	stage supernode bootstrap
	assert_failure 1
	assert_called "fl-launch -c $SN_CONF --discovery $SN_DISC --best-effort publish-error supernode_not_registered"
	refute_called "fl-launch -c $SN_CONF --discovery $SN_DISC --best-effort publish-ready"
	rm -f "$STUB_DIR/calls" "$STUB_DIR"/rc.*
	script fl-launch wait-healthy 1
	stage supernode bootstrap
	assert_failure 1
	assert_called "fl-launch -c $SN_CONF --discovery $SN_DISC --best-effort publish-error health_check_failed"
	rm -f "$STUB_DIR/calls" "$STUB_DIR"/rc.*
	script fl-launch publish-ready 1
	stage supernode bootstrap
	assert_failure 1
	assert_called "fl-launch -c $SN_CONF --discovery $SN_DISC --best-effort publish-error health_check_failed"
}

@test "supernode: with one-context's one_env every fl-launch call names it (the elasticity publisher, whoever starts)" {
	mkdir -p "$VM/run/one-context"
	printf 'export TOKENTXT="%s"\nexport VMID="7"\n' "$ONE_TOKEN" >"$VM/run/one-context/one_env"
	boot supernode
	local sn="fl-launch -c $SN_CONF --discovery $SN_DISC --one-env /run/one-context/one_env"
	assert_called "$sn install"
	assert_called "$sn start"
	assert_called "$sn wait-healthy"
	assert_called "$sn --best-effort publish-ready"
	printf 'bootstrap_success\n' >"$VM/one-appliance/status"
	rm -f "$STUB_DIR/calls"
	# The rediscovery timer's environment has no ONEGATE_ENDPOINT; the start is the same.
	CTX=()
	run vm "$FLKIT_SHARE/one-apps/rediscover.sh"
	assert_success
	assert_called "$sn -q start"
}

@test "supernode bootstrap under systemd: the rediscovery timer is installed once and started each time" {
	local d="$VM/run/systemd/system"
	boot supernode
	assert_file_exist "$d/flkit-rediscover.service"
	assert_file_exist "$d/flkit-rediscover.timer"
	run stat -c %a "$d/flkit-rediscover.service" "$d/flkit-rediscover.timer"
	assert_output $'644\n644'
	run grep -x "ExecStart=$FLKIT_SHARE/one-apps/rediscover.sh" "$d/flkit-rediscover.service"
	assert_success
	assert_called "systemctl daemon-reload"
	assert_called "systemctl start flkit-rediscover.timer"
	rm -f "$STUB_DIR/calls"
	stage supernode bootstrap
	assert_success
	# unchanged units: no daemon-reload, the timer start is a no-op for systemd.
	refute_called "systemctl daemon-reload"
	assert_called "systemctl start flkit-rediscover.timer"
}

@test "supernode bootstrap without a supervisor: no timer, the supervisor runs rediscover.sh" {
	CTX+=(FLKIT_RUNTIME=process FLKIT_SUPERVISOR=none)
	boot supernode
	assert_output --partial "no supervisor: run $FLKIT_SHARE/one-apps/rediscover.sh"
	run verbs systemctl
	assert_output ''
	assert_file_not_exist "$VM/run/systemd/system/flkit-rediscover.timer"
}

@test "supernode bootstrap: a timer that cannot be started is only a warning" {
	script systemctl start 1
	boot supernode
	assert_output --partial 'cannot start flkit-rediscover.timer'
}

@test "framework variant: a PREBAKED_FRAMEWORK image runs flower-supernode-<ML_FRAMEWORK> (docker only)" {
	mkdir -p "$VM/opt/flower"
	printf 'pytorch\n' >"$VM/opt/flower/PREBAKED_FRAMEWORK"
	script fl-context get 0 tensorflow
	boot supernode
	assert_called "fl-context -q -c $SN_CONF get ML_FRAMEWORK"
	assert_called "fl-launch -c $SN_CONF --discovery $SN_DISC --image flower-supernode-tensorflow install"
	assert_called "fl-launch -c $SN_CONF --discovery $SN_DISC --image flower-supernode-tensorflow start"
	# A variant the image lacks and cannot pull: the start fails, never another framework.
	rm -f "$STUB_DIR/calls"
	script fl-launch start 1
	stage supernode bootstrap
	assert_failure 1
	assert_output --partial "This QCOW2 may not include the 'tensorflow' variant."
	assert_called "fl-launch -c $SN_CONF --discovery $SN_DISC --best-effort publish-error docker_start_failed"
}

@test "framework variant: the base image and the process runtime keep their own Flower (no --image)" {
	script fl-context get 0 tensorflow
	boot supernode
	run calls
	refute_output --partial -- '--image'
	mkdir -p "$VM/opt/flower"
	printf 'pytorch\n' >"$VM/opt/flower/PREBAKED_FRAMEWORK"
	rm -f "$STUB_DIR/calls"
	CTX+=(FLKIT_RUNTIME=process FLKIT_SUPERVISOR=none)
	boot supernode
	run calls
	refute_output --partial -- '--image'
}

# --- Knobs -------------------------------------------------------------------------------

@test "knobs: FLKIT_RUNTIME, FLKIT_SUPERVISOR, FLKIT_FLOWER_BIN and FLKIT_OWNER become tool options" {
	CTX+=(FLKIT_RUNTIME=process FLKIT_SUPERVISOR=none FLKIT_FLOWER_BIN=/opt/venv/bin FLKIT_OWNER=1000:1000)
	boot superlink
	local k="--runtime process --supervisor none --flower-bin /opt/venv/bin --owner 1000:1000"
	assert_called "fl-launch $k -c $SL_CONF start"
	assert_called "fl-certgen --owner 1000:1000 -c $SL_CONF superlink"
	run vm "$FLKIT_SHARE/one-apps/ready.sh"
	assert_called "fl-launch $k -q health"
}

@test "knobs: /etc/default/flkit is read when present, and the environment's tools see its exports" {
	printf 'FLKIT_RUNTIME=process\nFLKIT_SUPERVISOR=none\nFLKIT_NET_ADDRS=10.9.9.9\n' >"$VM/default/flkit"
	boot superlink
	assert_called "fl-launch --runtime process --supervisor none -c $SL_CONF start"
	run grep -lx 'FLKIT_NET_ADDRS=10.9.9.9' "$STUB_DIR"/env.*
	assert_success
}

# --- ONE_SERVICE_* -----------------------------------------------------------------------

@test "metadata: both appliances are reconfigurable, versioned as flkit (Makefile VERSION), with a cleanup that is a no-op" {
	local role version
	version=$(sed -n 's/^VERSION *:= *//p' "$BATS_TEST_DIRNAME/../Makefile")
	for role in superlink supernode; do
		run --separate-stderr vm bash -c 'set -e; umask 0077; . "$FLKIT_SHARE/one-apps/'"$role"'/appliance.sh"
			printf "%s\n" "$ONE_SERVICE_NAME" "$ONE_SERVICE_VERSION" "$ONE_SERVICE_RECONFIGURABLE" \
				"$ONE_SERVICE_SHORT_DESCRIPTION" "${#ONE_SERVICE_DESCRIPTION}"
			declare -F service_install service_configure service_bootstrap service_help service_cleanup'
		assert_success
		assert_line --index 1 "$version"
		assert_line --index 2 true
		assert_line 'service_cleanup'
	done
	run --separate-stderr vm bash -c '. "$FLKIT_SHARE/one-apps/superlink/appliance.sh"; echo "$ONE_SERVICE_NAME"'
	assert_output 'Service Flower SuperLink - Federated Learning Coordinator'
	run --separate-stderr vm bash -c '. "$FLKIT_SHARE/one-apps/supernode/appliance.sh"; echo "$ONE_SERVICE_NAME"'
	assert_output 'Service Flower SuperNode - KVM'
}

@test "ONE_SERVICE_PARAMS: fl-context's params lines, one array element a line (descriptions keep their blanks)" {
	printf '%s\n' ONEAPP_FL_NUM_ROUNDS configure 'Number of federated rounds' 'O|number|Number of federated rounds||3' \
		ONEAPP_FL_TLS_ENABLED configure 'Enable TLS' 'O|boolean|Enable TLS||YES' >"$STUB_DIR/out.fl-context.user-inputs"
	run --separate-stderr vm bash -c '. "$FLKIT_SHARE/one-apps/superlink/appliance.sh"; echo "${#ONE_SERVICE_PARAMS[@]}"; printf "<%s>\n" "${ONE_SERVICE_PARAMS[@]}"'
	assert_success
	assert_line --index 0 8
	assert_line --index 3 '<Number of federated rounds>'
	assert_line --index 8 '<O|boolean|Enable TLS||YES>'
}

@test "ONE_SERVICE_PARAMS from the real fl-context: stride 4, ONEAPP_ names, stage configure, a USER_INPUTS spec" {
	local role n i
	local -a p
	for role in superlink supernode; do
		run --separate-stderr env -i PATH="$FLKIT_BIN:/usr/bin:/bin" FLKIT_SHARE="$BATS_TEST_DIRNAME/../share" bash -c \
			'set -e; umask 0077; . "$FLKIT_SHARE/one-apps/'"$role"'/appliance.sh"; printf "%s\n" "${#ONE_SERVICE_PARAMS[@]}" "${ONE_SERVICE_PARAMS[@]}"'
		assert_success
		# bats' lines drops empty lines; an empty description is an element too.
		mapfile -t p <<<"$output"
		n=${p[0]}
		[ "$n" -gt 0 ] || fail "no ONE_SERVICE_PARAMS: $("$FLKIT_BIN/fl-context" user-inputs --role "$role" --oneapp --format params 2>&1)"
		assert_equal "${#p[@]}" "$((n + 1))"
		p=("${p[@]:1}")
		assert_equal "$((n % 4))" 0
		for ((i = 0; i < n; i += 4)); do
			[[ ${p[i]} =~ ^ONEAPP_[A-Z][A-Z0-9_]*$ ]] || fail "not an ONEAPP_ name: ${p[i]}"
			[[ ${p[i + 1]} =~ ^(configure|bootstrap)$ ]] || fail "bad stage for ${p[i]}: ${p[i + 1]}"
			[[ ${p[i + 3]} =~ ^O\|[a-z0-9-]+\| ]] || fail "bad USER_INPUTS spec for ${p[i]}: ${p[i + 3]}"
		done
	done
}

@test "service_help: one-apps' parameter list when the dispatcher has it, then flkit's paths and tools" {
	run --separate-stderr vm bash -c 'default_service_help() { echo "PARAMS-LIST"; }; . "$FLKIT_SHARE/one-apps/supernode/appliance.sh"; service_help'
	assert_success
	assert_line --index 0 PARAMS-LIST
	assert_output --partial 'fl-launch status'
	run --separate-stderr vm bash -c 'set -e; . "$FLKIT_SHARE/one-apps/superlink/appliance.sh"; service_help'
	assert_success
	assert_output --partial '/run/flkit/superlink.conf'
}

# --- READY -------------------------------------------------------------------------------

@test "ready.sh: fl-launch -q health, with the discovery result on a SuperNode, and its exit status" {
	run vm "$FLKIT_SHARE/one-apps/ready.sh"
	assert_success
	assert_called "fl-launch -q health"
	mkdir -p "$VM/run/flkit"
	: >"$VM/run/flkit/discovery.env"
	rm -f "$STUB_DIR/calls"
	script fl-launch health 1
	run vm "$FLKIT_SHARE/one-apps/ready.sh"
	assert_failure 1
	assert_called "fl-launch -q --discovery $SN_DISC health"
}

@test "net-99: READY=YES only with REPORT_READY=YES, status exactly bootstrap_success and a passing health" {
	local net99="$FLKIT_SHARE/one-apps/net-99-report-ready"
	CTX+=(REPORT_READY=YES)
	printf 'bootstrap_success\n' >"$VM/one-appliance/status"
	run vm "$net99"
	assert_success
	run calls
	assert_output "fl-launch -q health
fl-onegate vm update --data READY=YES"
	# Any other status: nothing asked, nothing reported.
	local s
	for s in configure_success bootstrap_failure bootstrap_started bootstrap_success_x ''; do
		rm -f "$STUB_DIR/calls"
		printf '%s\n' "$s" >"$VM/one-appliance/status"
		run vm "$net99"
		assert_success
		run calls
		assert_output ''
	done
	rm -f "$VM/one-appliance/status"
	run vm "$net99"
	assert_success
	run calls
	assert_output ''
}

@test "net-99: an unhealthy service is never reported READY; a failed report is exit 1" {
	local net99="$FLKIT_SHARE/one-apps/net-99-report-ready"
	CTX+=(REPORT_READY=YES)
	printf 'bootstrap_success\n' >"$VM/one-appliance/status"
	script fl-launch health 1
	run vm "$net99"
	assert_failure 1
	refute_called "fl-onegate vm update --data READY=YES"
	rm -f "$STUB_DIR"/rc.* "$STUB_DIR/calls"
	script fl-onegate vm 3
	run vm "$net99"
	assert_failure 1
	assert_output --partial 'Failed to report READY'
}

@test "net-99: without REPORT_READY=YES nothing is checked or reported" {
	local v
	printf 'bootstrap_success\n' >"$VM/one-appliance/status"
	for v in NO yes ''; do
		run vm env REPORT_READY="$v" "$FLKIT_SHARE/one-apps/net-99-report-ready"
		assert_success
		run calls
		assert_output ''
	done
}

@test "net-99: the status of a real boot: READY after a successful bootstrap, not after a failed one" {
	CTX+=(REPORT_READY=YES)
	boot supernode
	# The dispatcher writes the status; here the test plays it.
	printf 'bootstrap_success\n' >"$VM/one-appliance/status"
	rm -f "$STUB_DIR/calls"
	run vm "$FLKIT_SHARE/one-apps/net-99-report-ready"
	assert_success
	assert_called "fl-launch -q --discovery $SN_DISC health"
	assert_called "fl-onegate vm update --data READY=YES"
}

# --- Rediscovery -------------------------------------------------------------------------

@test "rediscover.sh: discover, trust the CA, then start (which restarts only on a new address)" {
	boot supernode
	printf 'bootstrap_success\n' >"$VM/one-appliance/status"
	rm -f "$STUB_DIR/calls"
	run vm "$FLKIT_SHARE/one-apps/rediscover.sh"
	assert_success
	run calls
	assert_output "fl-onegate -q discover -o $SN_DISC
fl-certgen -q -c $SN_CONF supernode --onegate-file $SN_DISC
fl-launch -c $SN_CONF --discovery $SN_DISC -q start"
}

@test "rediscover.sh: a failed discovery leaves the SuperNode alone and exits with discover's status" {
	boot supernode
	printf 'bootstrap_success\n' >"$VM/one-appliance/status"
	local rc
	for rc in 3 4; do
		rm -f "$STUB_DIR/calls"
		script fl-onegate discover "$rc"
		run vm "$FLKIT_SHARE/one-apps/rediscover.sh"
		assert_failure "$rc"
		run verbs fl-launch
		assert_output ''
	done
}

@test "rediscover.sh: nothing before this boot's configure and bootstrap" {
	printf 'bootstrap_success\n' >"$VM/one-appliance/status"
	run vm "$FLKIT_SHARE/one-apps/rediscover.sh"
	assert_success
	run calls
	assert_output ''
	boot supernode
	printf 'configure_started\n' >"$VM/one-appliance/status"
	rm -f "$STUB_DIR/calls"
	run vm "$FLKIT_SHARE/one-apps/rediscover.sh"
	assert_success
	run calls
	assert_output ''
}

@test "rediscover.sh: a variant image keeps its framework image (no restart for a changed --image)" {
	mkdir -p "$VM/opt/flower"
	printf 'sklearn\n' >"$VM/opt/flower/PREBAKED_FRAMEWORK"
	script fl-context get 0 sklearn
	boot supernode
	printf 'bootstrap_success\n' >"$VM/one-appliance/status"
	rm -f "$STUB_DIR/calls"
	run vm "$FLKIT_SHARE/one-apps/rediscover.sh"
	assert_success
	assert_called "fl-launch -c $SN_CONF --discovery $SN_DISC --image flower-supernode-sklearn -q start"
}

# --- service_install ---------------------------------------------------------------------

@test "install: pull the role's image, record PREBAKED_VERSION (0644), stop Docker" {
	script fl-launch image 0 1.25.0
	stage superlink install
	assert_success
	run calls
	assert_output "fl-context user-inputs --role superlink --oneapp --format params
systemctl start docker
fl-launch -E -r superlink wait-docker
fl-launch -E -r superlink image
systemctl stop docker"
	run cat "$VM/opt/flower/PREBAKED_VERSION"
	assert_output 1.25.0
	run stat -c %a "$VM/opt/flower/PREBAKED_VERSION" "$VM/opt/flower"
	assert_output $'644\n755'
	assert_file_not_exist "$VM/opt/flower/PREBAKED_FRAMEWORK"
}

@test "install: a framework variant build checks its image and records PREBAKED_FRAMEWORK" {
	script fl-launch image 0 1.25.0
	script fl-context get 0 sklearn
	CTX+=(ML_FRAMEWORK=sklearn)
	stage supernode install
	assert_success
	assert_called "fl-launch -E -r supernode image"
	assert_called "fl-launch -E -r supernode --image flower-supernode-sklearn image"
	run cat "$VM/opt/flower/PREBAKED_FRAMEWORK" "$VM/opt/flower/PREBAKED_VERSION"
	assert_output $'sklearn\n1.25.0'
}

@test "install: no Docker, no image or no variant image fails the build; the process runtime pulls nothing" {
	script fl-launch wait-docker 3
	stage superlink install
	assert_failure 1
	assert_file_not_exist "$VM/opt/flower/PREBAKED_VERSION"
	rm -f "$STUB_DIR"/rc.*
	script fl-launch image 3
	stage supernode install
	assert_failure 1
	assert_file_not_exist "$VM/opt/flower/PREBAKED_VERSION"
	rm -f "$STUB_DIR"/rc.* "$STUB_DIR/calls"
	CTX+=(FLKIT_RUNTIME=process)
	stage supernode install
	assert_success
	run verbs fl-launch
	assert_output ''
	run verbs systemctl
	assert_output ''
}
