#!/usr/bin/env bats
# fl-launch: the docker argv, env file and systemd unit of a SuperLink or SuperNode (golden
# files, systemd-analyze verify), starting and restarting it through stub `docker` and
# `systemctl` commands, the native process runtime with stub flower-* programs, health checks
# and readiness publication against the OneGate emulator.
#
# Golden files: test/golden/launch/CASE.{argv,unit,env} hold what `fl-launch -E -r ROLE
# [options] argv|unit|env` prints for each configuration of golden_case below, compared byte
# for byte. After an intended change, regenerate them and review the diff:
#
#     FLKIT_UPDATE_GOLDEN=1 bats test/fl-launch.bats -f golden
#
# The process-runtime cases name a stub Flower install under the test's temporary directory;
# its path is written as @FLOWER@ in the golden files, the keepalive hook's as @PYHOOK@.
#
# Binaries: $FLKIT_BIN, else build/bin, or $FLKIT_BUILD/bin (FLKIT_BUILD=build-lt bats ...).
# No test starts a real container, unit or Flower: docker and systemctl are stubs first in
# PATH that log their argv and answer from files the test controls.

# SC2030/SC2031: bats runs each test in a subshell on purpose; SC2016: $ in single quotes is
# test data; SC2154: variables set by bats (output, stderr, status, lines).
# SC2054: commas inside values (CUDA device lists) are data.
# shellcheck disable=SC2016,SC2030,SC2031,SC2054,SC2154
bats_require_minimum_version 1.5.0
: "${FLKIT_BIN:=$BATS_TEST_DIRNAME/../${FLKIT_BUILD:-build}/bin}"
load helpers
load onegate/lib

GOLDEN="$BATS_TEST_DIRNAME/golden/launch"
# flkit's Python keepalive hook as fl-launch finds it beside itself (installed: SHAREDIR/python;
# in the tree: share/python), written as @PYHOOK@ in the golden files.
for PYHOOK in "$FLKIT_BIN/../share/flkit/python" "$FLKIT_BIN/../../share/python"; do
	[ -e "$PYHOOK/sitecustomize.py" ] && break
done
PYHOOK=$(realpath "$PYHOOK")
LFIX="$BATS_TEST_DIRNAME/fixtures/launch"
SN_STATIC=FL_SUPERLINK_ADDRESS=10.0.0.7:9092

setup_file() {
	local d=$BATS_FILE_TMPDIR
	# Operator TLS material (CA, server certificate signed by it, key), openssl CLI only.
	export OPS=$d/operator
	mkdir -p "$OPS"
	(
		cd "$OPS" || exit 1
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.crt \
			-subj "/O=Operator/CN=Operator CA" -days 3650 -addext basicConstraints=critical,CA:TRUE \
			-addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout server.key -out server.csr \
			-subj "/O=Operator/CN=flower.example.com" 2>/dev/null
		printf 'subjectAltName=IP:10.0.0.5,DNS:flower.example.com\nbasicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth\n' >server.ext
		openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 365 -sha256 \
			-extfile server.ext -out server.pem 2>/dev/null
		# What fl-certgen issues: the same CA, loopback in the SAN too.
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout lo.key -out lo.csr \
			-subj "/O=Operator/CN=flower.example.com" 2>/dev/null
		printf 'subjectAltName=IP:10.0.0.5,IP:127.0.0.1\nbasicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth\n' >lo.ext
		openssl x509 -req -in lo.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 365 -sha256 \
			-extfile lo.ext -out lo.pem 2>/dev/null
		# A certificate of another CA, loopback included: the CA rejects it.
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout other.key -out other.pem \
			-subj "/O=Elsewhere/CN=other" -days 30 -addext subjectAltName=IP:127.0.0.1 2>/dev/null
	) || return 1
	export OP_CA_B64 OP_CERT_B64 OP_KEY_B64
	OP_CA_B64=$(base64 -w0 "$OPS/ca.crt")
	OP_CERT_B64=$(base64 -w0 "$OPS/server.pem")
	OP_KEY_B64=$(base64 -w0 "$OPS/server.key")

	# A stub Flower install: flower-superlink / flower-supernode and flwr-1.41.0.dist-info,
	# which is how fl-launch tells the installed version without running Python.
	export FLOWER_STUB=$d/flower-stub
	mkdir -p "$FLOWER_STUB/bin" "$FLOWER_STUB/lib/python3.11/site-packages/flwr-1.41.0.dist-info"
	cat >"$FLOWER_STUB/bin/flower-supernode" <<'EOF'
#!/bin/bash
# A SuperNode as far as fl-launch can tell: the start banner, a child it spawned (like
# flower-superexec), the registration line; then it waits. Told by files in its directory (an
# unknown variable would not reach it): stub.exit, exit at once with that status; stub.noreg,
# never register.
[ -e stub.exit ] && { echo "stub: exiting"; exit "$(cat stub.exit)"; }
printf '\033[92mINFO \033[0m:      Starting Flower SuperNode\n'
sleep 300 &
echo "$!" >child.pid
[ ! -e stub.noreg ] && printf '\033[92mINFO \033[0m:      SuperNode ID: 42\n'
printf '\033[92mINFO \033[0m:      args: %s\n' "$*"
wait
EOF
	cat >"$FLOWER_STUB/bin/flower-superlink" <<'EOF'
#!/usr/bin/env python3
# A SuperLink as far as fl-launch can tell: it accepts TCP connections on the Fleet address
# (--fleet-api-address, else --host/--port as era C has it) and prints Flower-like lines.
import socket, sys
a = sys.argv[1:]
def val(flag):
    return a[a.index(flag) + 1] if flag in a else None
if val("--fleet-api-address"):
    host, port = val("--fleet-api-address").rsplit(":", 1)
    host = host.strip("[]")
else:
    host, port = val("--host"), val("--port")
print("\x1b[92mINFO \x1b[0m:      Starting Flower SuperLink", flush=True)
s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((host, int(port)))
s.listen(16)
print(f"\x1b[92mINFO \x1b[0m:      Fleet API listening on {host}:{port}", flush=True)
while True:
    c, _ = s.accept()
    c.close()
EOF
	chmod 0755 "$FLOWER_STUB/bin/flower-supernode" "$FLOWER_STUB/bin/flower-superlink"

	# What `systemd-analyze verify` needs: a docker.service it can load (the defaults follow the
	# trailing colon) and a man page for Documentation=man:fl-launch(1).
	export VERIFY_UNITS=$d/verify-units
	mkdir -p "$VERIFY_UNITS"
	printf '[Unit]\nDescription=Docker Application Container Engine (test stand-in)\n\n[Service]\nExecStart=/bin/true\n' \
		>"$VERIFY_UNITS/docker.service"
	export VERIFY_MAN=$BATS_TEST_DIRNAME/../man
	if [ ! -e "$VERIFY_MAN/man1/fl-launch.1" ] && [ ! -e "$VERIFY_MAN/fl-launch.1" ]; then
		# man/fl-launch.1 is not written yet: a stand-in so the Documentation= line resolves.
		VERIFY_MAN=$d/man
		mkdir -p "$VERIFY_MAN/man1"
		printf '.TH FL-LAUNCH 1\n.SH NAME\nfl-launch \\- run a Flower SuperLink or SuperNode\n' \
			>"$VERIFY_MAN/man1/fl-launch.1"
	elif [ -e "$VERIFY_MAN/fl-launch.1" ] && [ ! -e "$VERIFY_MAN/man1/fl-launch.1" ]; then
		# The repository keeps pages flat (man/fl-launch.1); man(1) wants man1/.
		mkdir -p "$d/man/man1"
		cp "$VERIFY_MAN/fl-launch.1" "$d/man/man1/"
		VERIFY_MAN=$d/man
	fi
	# fl-metrics' units name man:fl-metrics(1) too (a stand-in until the page is written).
	if [ "$VERIFY_MAN" = "$d/man" ] && [ -e "$BATS_TEST_DIRNAME/../man/fl-metrics.1" ]; then
		cp "$BATS_TEST_DIRNAME/../man/fl-metrics.1" "$VERIFY_MAN/man1/"
	elif [ "$VERIFY_MAN" = "$d/man" ]; then
		printf '.TH FL-METRICS 1\n.SH NAME\nfl-metrics \\- training metrics\n' >"$VERIFY_MAN/man1/fl-metrics.1"
	fi

	# GPU machines for the verdict (fl_gpu_detect): the fixture trees of fl-gpucheck, and the
	# stub libnvidia-ml.so.1 loaded through the same dlopen("libnvidia-ml.so.1") as in production.
	export GPUFIX=$BATS_TEST_DIRNAME/fixtures/gpu
	export NVML_LIB=$BATS_TEST_DIRNAME/../${FLKIT_BUILD:-build}/test/nvml
	# An H100 reached through CDI (a spec for nvidia.com/gpu, Docker's CDI feature on, no nvidia
	# runtime), and one no container can reach (no daemon.json, no CDI spec).
	export GPU_CDI=$d/gpu-cdi GPU_NOCTK=$d/gpu-noctk
	cp -a "$GPUFIX/h100" "$GPU_CDI"
	cp -a "$GPUFIX/h100" "$GPU_NOCTK"
	rm "$GPU_NOCTK/etc/docker/daemon.json"
	printf '{"features":{"cdi":true}}\n' >"$GPU_CDI/etc/docker/daemon.json"
	mkdir -p "$GPU_CDI/etc/cdi"
	printf 'cdiVersion: 0.5.0\nkind: nvidia.com/gpu\ndevices:\n- name: all\n' >"$GPU_CDI/etc/cdi/nvidia.yaml"
	# The stub's knob for "Failed to initialize NVML: Driver/library version mismatch".
	export NVML_MISMATCH=$d/nvml-mismatch
	printf 'init=18\n' >"$NVML_MISMATCH"

	# The OneGate emulator: the Flower service (SuperLink VM 100, SuperNodes 101-103).
	og_start "$OG_FIXTURES/world-flower.json"
	export OG_PID OG_URL
	export T100 T101
	{ read -r T100 && read -r T101; } < <(og_token "$OG_FIXTURES/world-flower.json" 100,101)
	local down
	down=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	export DOWN_URL="http://127.0.0.1:$down"
}

teardown_file() {
	og_stop
}

setup() {
	T=$BATS_TEST_TMPDIR
	S=$T/stub
	FD=$T/flower
	UD=$T/units
	OWNER="$(id -u):$(id -g)"
	mkdir -p "$S" "$T/bin"
	# docker: logs its argv to stub/docker.log; answers from stub/: info.fail or info.ok_after N
	# (`docker info` fails until attempt N+1), images (present references), pull.fail,
	# running (what inspect prints; absent: no such container), logs (docker logs output;
	# logs.N, when present, is added to it by the Nth `docker logs`, before it answers).
	cat >"$T/bin/docker" <<EOF
#!/bin/bash
S='$S'
printf '%s\n' "\$*" >>"\$S/docker.log"
case \$1 in
info)
	n=\$((\$(cat "\$S/info.count" 2>/dev/null || echo 0) + 1))
	echo "\$n" >"\$S/info.count"
	if [ -e "\$S/info.fail" ] || [ "\$n" -le "\$(cat "\$S/info.ok_after" 2>/dev/null || echo 0)" ]; then
		echo 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?' >&2
		exit 1
	fi
	echo 27.3.1 ;;
image)
	if grep -qxF -- "\${*: -1}" "\$S/images" 2>/dev/null; then echo sha256:0123; else echo "Error: No such image: \${*: -1}" >&2; exit 1; fi ;;
pull)
	if [ -e "\$S/pull.fail" ]; then echo "Error response from daemon: manifest for \$2 not found: manifest unknown" >&2; exit 1; fi
	echo "\$2" >>"\$S/images"
	echo "Status: Downloaded newer image for \$2" ;;
inspect)
	if [ -e "\$S/running" ]; then cat "\$S/running"; else echo "Error: No such object: \${*: -1}" >&2; exit 1; fi ;;
logs)
	n=\$((\$(cat "\$S/logs.count" 2>/dev/null || echo 0) + 1))
	echo "\$n" >"\$S/logs.count"
	[ -e "\$S/logs.\$n" ] && cat "\$S/logs.\$n" >>"\$S/logs"
	[ -e "\$S/logs" ] && cat "\$S/logs" ;;
esac
exit 0
EOF
	# systemctl: logs its argv to stub/systemctl.log; start/restart make docker inspect say
	# true (unless start.fail exists), stop makes it say false.
	cat >"$T/bin/systemctl" <<EOF
#!/bin/bash
S='$S'
printf '%s\n' "\$*" >>"\$S/systemctl.log"
case \$1 in
start | restart)
	if [ -e "\$S/start.fail" ]; then
		echo "Job for \$2 failed because the control process exited with error code." >&2
		exit 1
	fi
	echo true >"\$S/running" ;;
stop) echo false >"\$S/running" ;;
is-active) [ "\$(cat "\$S/running" 2>/dev/null)" = true ] || exit 3 ;;
esac
exit 0
EOF
	chmod 0755 "$T/bin/docker" "$T/bin/systemctl"
	EXTRA_PIDS=()
}

teardown() {
	# Process groups the process runtime started (never anything else), stray helpers.
	local f pid
	for f in "$FD"/run/*.pid; do
		[ -e "$f" ] || continue
		read -r pid _ <"$f" || true
		# Only a group this test's stub Flower or Fleet proxy (nginx -c $FD/proxy/...) leads.
		if [[ $pid =~ ^[0-9]+$ ]] && [ "$pid" -gt 1 ] &&
			grep -qF -e "$FLOWER_STUB" -e "$FD/proxy/" "/proc/$pid/cmdline" 2>/dev/null &&
			[ "$(ps -o pgid= -p "$pid" | tr -d ' ')" = "$pid" ]; then
			kill -KILL -- "-$pid" 2>/dev/null
		fi
	done
	for pid in "${EXTRA_PIDS[@]}"; do
		kill -KILL "$pid" 2>/dev/null
	done
	# A OneGate token must never show up in any output.
	local t
	for t in "$T100" "$T101"; do
		if [[ "${output:-}" == *"$t"* || "${stderr:-}" == *"$t"* ]]; then
			echo "a OneGate token leaked into the output" >&2
			return 1
		fi
	done
	return 0
}

# fll [NAME=value]... ARGS...: fl-launch -E in an environment holding only PATH (stubs first)
# and the NAME=value words, with this test's flower and unit directories, owner and docker stub.
fll() {
	local -a vars=()
	while [ $# -gt 0 ] && [[ $1 =~ ^[A-Za-z_][A-Za-z0-9_]*= ]]; do
		vars+=("$1")
		shift
	done
	# fd 3 is bats' own: a process left running while holding it would make bats wait.
	env -i PATH="$T/bin:$PATH" "${vars[@]}" timeout 120 "$FLKIT_BIN/fl-launch" -E --flower-dir "$FD" \
		--unit-dir "$UD" --owner "$OWNER" --docker "$T/bin/docker" "$@" 3>&-
}

run_fll() {
	run --separate-stderr fll "$@"
}

# flx [NAME=value]... ARGS...: fl-launch with only PATH and those variables, no default options.
flx() {
	local -a vars=()
	while [ $# -gt 0 ] && [[ $1 =~ ^[A-Za-z_][A-Za-z0-9_]*= ]]; do
		vars+=("$1")
		shift
	done
	env -i PATH="$T/bin:$PATH" "${vars[@]}" timeout 120 "$FLKIT_BIN/fl-launch" "$@" 3>&-
}

LOG_LAUNCH_RE='^\[[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\] \[(DEBUG|INFO|WARN|ERROR|FATAL)\] \[fl-launch\] (.*)$'

# has_log LEVEL MESSAGE: stderr holds this fl-launch log line (any timestamp).
has_log() {
	local line
	for line in "${stderr_lines[@]}"; do
		if [[ $line =~ $LOG_LAUNCH_RE ]] && [ "${BASH_REMATCH[1]}" = "$1" ] && [ "${BASH_REMATCH[2]}" = "$2" ]; then
			return 0
		fi
	done
	batslib_print_kv_single_or_multi 8 level "$1" message "$2" stderr "$stderr" |
		batslib_decorate 'expected log line not found' | fail
}

# has TEXT: stderr contains TEXT.
has() {
	assert_stderr_contains "$1"
}

is_status() {
	if [ "$status" -ne "$1" ]; then
		batslib_print_kv_single_or_multi 8 status "$status" want "$1" stdout "$output" stderr "$stderr" |
			batslib_decorate 'unexpected exit status' | fail
	fi
}

# calls TOOL: the argv lines the stub TOOL (docker, systemctl) logged, "" when none.
calls() {
	cat "$S/$1.log" 2>/dev/null || true
}

# no_call TOOL PATTERN: no logged call of TOOL matches the extended regex PATTERN.
no_call() {
	if calls "$1" | grep -Eq -- "$2"; then
		batslib_print_kv_single_or_multi 8 pattern "$2" calls "$(calls "$1")" |
			batslib_decorate "unexpected $1 call" | fail
	fi
}

# has_call TOOL LINE: TOOL was called with exactly these arguments.
has_call() {
	if ! calls "$1" | grep -qxF -- "$2"; then
		batslib_print_kv_single_or_multi 8 expected "$2" calls "$(calls "$1")" |
			batslib_decorate "missing $1 call" | fail
	fi
}

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# ---------------------------------------------------------------------------------------------
# Golden argv, unit and env files

# golden_case NAME: sets ROLE, VARS (NAME=value words) and OPTS (options) of that case.
golden_case() {
	ROLE=superlink VARS=() OPTS=(--addr 10.0.0.5) PROXY='' METRICS='' DCGM=''
	local sn=(FL_SUPERLINK_ADDRESS=10.0.7.100:9092) og=(ONEGATE_ENDPOINT=http://169.254.16.9:5030 VMID=7)
	local nvml=("LD_LIBRARY_PATH=$NVML_LIB")
	local mbin=(--metrics-bin /usr/bin/fl-metrics)
	case $1 in
	sl-metrics) VARS=(FL_METRICS_ENABLED=YES FL_METRICS_PORT=9101 FL_STRATEGY=FedProx) OPTS+=("${mbin[@]}") METRICS=1 ;;
	sl-metrics-v6)
		VARS=(FL_METRICS_ENABLED=YES FL_METRICS_PORT=9200 "FL_FLEET_API_ADDRESS=[::]:9092")
		OPTS=(--addr fd00::5 "${mbin[@]}") METRICS=1 ;;
	sl-metrics-process)
		VARS=(FL_METRICS_ENABLED=YES) METRICS=1
		OPTS+=(--runtime process --supervisor systemd --flower-bin "$FLOWER_STUB/bin" "${mbin[@]}") ;;
	sn-metrics-publish) ROLE=supernode VARS=("${sn[@]}" "${og[@]}") OPTS+=("${mbin[@]}") METRICS=1 ;;
	sn-metrics-publish-process)
		ROLE=supernode VARS=("${sn[@]}" "${og[@]}") METRICS=1
		OPTS+=(--runtime process --supervisor none --flower-bin "$FLOWER_STUB/bin" "${mbin[@]}") ;;
	sl-insecure) ;;
	sl-tls) VARS=(FL_TLS_ENABLED=YES) ;;
	sl-tls-operator)
		VARS=(FL_TLS_ENABLED=YES "FL_SSL_CA_CERTFILE=$OP_CA_B64" "FL_SSL_CERTFILE=$OP_CERT_B64"
			"FL_SSL_KEYFILE=$OP_KEY_B64") ;;
	sl-checkpoint) VARS=(FL_CHECKPOINT_ENABLED=YES FL_CHECKPOINT_PATH=/app/ckpt) ;;
	sl-ipv6-any) VARS=("FL_FLEET_API_ADDRESS=[::]:9092") ;;
	sl-ipv6-host) VARS=("FL_FLEET_API_ADDRESS=[fd00::5]:9092") ;;
	sl-fleet-host) VARS=(FL_FLEET_API_ADDRESS=10.0.0.9:9095 FL_LOG_LEVEL=DEBUG) ;;
	sl-1.38) VARS=(FLOWER_VERSION=1.38.0) ;;
	sl-1.41-tls) VARS=(FLOWER_VERSION=1.41.0 FL_TLS_ENABLED=YES) PROXY=1 ;;
	sl-1.41-exposed) VARS=(FLOWER_VERSION=1.41.0 FL_TLS_ENABLED=YES FL_CONTROL_API_EXPOSED=YES) ;;
	sl-1.41-process-tls)
		VARS=(FL_TLS_ENABLED=YES "FL_FLEET_API_ADDRESS=[::]:9092") PROXY=1
		OPTS=(--addr fd00::5 --runtime process --supervisor none --flower-bin "$FLOWER_STUB/bin") ;;
	sl-health-off) OPTS+=(--health-port 0 --image registry.example.com/flwr/superlink) ;;
	sl-process) OPTS+=(--runtime process --supervisor systemd --flower-bin "$FLOWER_STUB/bin") PROXY=1 ;;
	sl-process-1.25-tls)
		VARS=(FL_TLS_ENABLED=YES FL_CHECKPOINT_ENABLED=YES)
		OPTS+=(--runtime process --supervisor systemd --flower-bin "$FLOWER_STUB/bin" --flower-version 1.25.0) ;;
	sn-static) ROLE=supernode VARS=("${sn[@]}") ;;
	sn-1.38) ROLE=supernode VARS=("${sn[@]}" FLOWER_VERSION=1.38.0) ;;
	sn-1.41) ROLE=supernode VARS=("${sn[@]}" FLOWER_VERSION=1.41.0) ;;
	sn-discovery-tls) ROLE=supernode OPTS+=(--discovery "$LFIX/discovery-tls.env") ;;
	sn-discovery-tls-off) ROLE=supernode VARS=(FL_TLS_ENABLED=NO) OPTS+=(--discovery "$LFIX/discovery-tls.env") ;;
	sn-discovery-bare) ROLE=supernode OPTS+=(--discovery "$LFIX/discovery-bare.env") ;;
	sn-discovery-v6) ROLE=supernode OPTS+=(--discovery "$LFIX/discovery-v6.env") ;;
	# The GPU cases: the verdict of --gpu auto (the default) on a fixture tree and the NVML stub.
	sn-gpu)
		ROLE=supernode VARS=("${sn[@]}" FL_GPU_ENABLED=YES FL_CUDA_VISIBLE_DEVICES=0,1 ML_FRAMEWORK=tensorflow "${nvml[@]}")
		OPTS+=(--gpu-root "$GPUFIX/h100") ;;
	sn-gpu-all)
		ROLE=supernode VARS=("${sn[@]}" FL_GPU_ENABLED=yes FL_GPU_MEMORY_FRACTION=0.5 "${nvml[@]}")
		OPTS+=(--gpu-root "$GPUFIX/h100") ;;
	sn-gpu-cdi)
		ROLE=supernode VARS=("${sn[@]}" FL_GPU_ENABLED=YES FL_CUDA_VISIBLE_DEVICES=0 "${nvml[@]}")
		OPTS+=(--gpu-root "$GPU_CDI") ;;
	sn-gpu-undetected)
		ROLE=supernode VARS=("${sn[@]}" FL_GPU_ENABLED=YES FL_CUDA_VISIBLE_DEVICES=0,1 ML_FRAMEWORK=tensorflow "${nvml[@]}")
		OPTS+=(--gpu-root "$GPUFIX/none") ;;
	sn-gpu-mismatch)
		ROLE=supernode VARS=("${sn[@]}" FL_GPU_ENABLED=YES FL_CUDA_VISIBLE_DEVICES=0,1 ML_FRAMEWORK=tensorflow "${nvml[@]}"
			"FLKIT_NVML_STUB=$NVML_MISMATCH")
		OPTS+=(--gpu-root "$GPUFIX/h100") ;;
	sn-dcgm)
		ROLE=supernode VARS=("${sn[@]}" FL_GPU_ENABLED=YES FL_DCGM_ENABLED=YES "${nvml[@]}") DCGM=1
		OPTS+=(--gpu-root "$GPUFIX/h100") ;;
	sn-dcgm-cdi)
		ROLE=supernode VARS=("${sn[@]}" FL_GPU_ENABLED=YES FL_DCGM_ENABLED=YES "${nvml[@]}") DCGM=1
		OPTS+=(--gpu-root "$GPU_CDI") ;;
	sn-retries)
		ROLE=supernode
		VARS=("${sn[@]}" FL_MAX_RETRIES=5 FL_MAX_WAIT_TIME=30 "FL_NODE_CONFIG=partition-id=0 num-partitions=4") ;;
	sn-retries-0) ROLE=supernode VARS=("${sn[@]}" FL_MAX_RETRIES=0 FL_MAX_WAIT_TIME=0) ;;
	sn-process)
		ROLE=supernode VARS=("${sn[@]}" FL_GPU_ENABLED=YES FL_CUDA_VISIBLE_DEVICES=1 "${nvml[@]}")
		OPTS+=(--runtime process --supervisor systemd --flower-bin "$FLOWER_STUB/bin" --gpu-root "$GPUFIX/h100") ;;
	*) return 1 ;;
	esac
}

GOLDEN_CASES=(sl-insecure sl-tls sl-tls-operator sl-checkpoint sl-ipv6-any sl-ipv6-host sl-fleet-host sl-1.38
	sl-1.41-tls sl-1.41-exposed sl-1.41-process-tls sl-health-off sl-process sl-process-1.25-tls sn-static sn-1.38 sn-1.41 sn-discovery-tls
	sn-discovery-tls-off sn-discovery-bare sn-discovery-v6 sn-gpu sn-gpu-all sn-gpu-cdi sn-gpu-undetected sn-gpu-mismatch
	sn-dcgm sn-dcgm-cdi sn-retries
	sn-retries-0 sn-process sl-metrics sl-metrics-v6 sl-metrics-process sn-metrics-publish
	sn-metrics-publish-process)

# golden_out CASE WHAT [--docker PATH]: what `fl-launch -E -r ROLE OPTS WHAT` prints for the case,
# the stub Flower directory written as @FLOWER@, the keepalive hook as @PYHOOK@.
golden_out() {
	local name=$1 what=$2
	shift 2
	golden_case "$name" || return 1
	env -i PATH="$PATH" "${VARS[@]}" "$FLKIT_BIN/fl-launch" -E -r "$ROLE" "${OPTS[@]}" "$@" "$what" \
		2>"$T/golden.err" | sed -e "s|$FLOWER_STUB|@FLOWER@|g" -e "s|$PYHOOK|@PYHOOK@|g"
	return "${PIPESTATUS[0]}"
}

# check_golden CASE: argv, unit and env of CASE equal their golden files (or rewrite them); for
# an era C SuperLink also the Fleet proxy's nginx configuration and unit.
check_golden() {
	local name=$1 what out diffs=""
	golden_case "$name" || return 1
	for what in argv unit env ${PROXY:+proxy-conf proxy-unit} ${METRICS:+metrics-argv metrics-unit} ${DCGM:+dcgm-unit}; do
		out=$T/$name.$what
		golden_out "$name" "$what" >"$out" || {
			echo "fl-launch $what failed for $name:" >&2
			cat "$T/golden.err" >&2
			return 1
		}
		if [ -n "${FLKIT_UPDATE_GOLDEN:-}" ]; then
			cp "$out" "$GOLDEN/$name.$what"
		elif ! cmp -s "$out" "$GOLDEN/$name.$what"; then
			diffs+="$(diff -u "$GOLDEN/$name.$what" "$out" 2>&1)"$'\n'
		fi
	done
	if [ -n "$diffs" ]; then
		printf '%s' "$diffs" >&2
		echo "golden files differ (FLKIT_UPDATE_GOLDEN=1 rewrites them; review the diff)" >&2
		return 1
	fi
}

@test "golden: SuperLink, TLS off (the 1.25.0 defaults)" { check_golden sl-insecure; }
@test "golden: SuperLink, TLS on: certificates mounted read-only, --ssl-* flags" { check_golden sl-tls; }
@test "golden: SuperLink, operator-provided certificates: same argv, no PEM in any output" {
	check_golden sl-tls-operator
	run -1 grep -rlF -e "$OP_KEY_B64" -e "$OP_CERT_B64" -e "$OP_CA_B64" "$T"
	refute_output
	run -0 diff "$GOLDEN/sl-tls.argv" "$GOLDEN/sl-tls-operator.argv"
}
@test "golden: SuperLink, checkpoints on: the checkpoint directory at FL_CHECKPOINT_PATH" { check_golden sl-checkpoint; }
@test "golden: SuperLink, Fleet on [::]:9092" { check_golden sl-ipv6-any; }
@test "golden: SuperLink, Fleet on [fd00::5]:9092: published on that address only" { check_golden sl-ipv6-host; }
@test "golden: SuperLink, a specific Fleet host and port" { check_golden sl-fleet-host; }
@test "golden: SuperLink, Flower 1.38.0 (era B: --host/--port for the Control API)" { check_golden sl-1.38; }
@test "golden: SuperLink, Flower 1.41.0 with TLS (era C: Flower on loopback, nginx passes the Fleet routes)" {
	check_golden sl-1.41-tls
}
@test "golden: SuperLink, Flower 1.41.0, FL_CONTROL_API_EXPOSED=YES: one server published on the Fleet port" {
	check_golden sl-1.41-exposed
}
@test "golden: SuperLink, Flower 1.41.0, process runtime without systemd, TLS, Fleet on [::]:9092" {
	check_golden sl-1.41-process-tls
}
@test "golden: SuperLink, --health-port 0 and --image REPO" { check_golden sl-health-off; }
@test "golden: SuperLink, process runtime under systemd (Flower 1.41.0 detected)" { check_golden sl-process; }
@test "golden: SuperLink, process runtime, --flower-version 1.25.0, TLS and checkpoints" {
	check_golden sl-process-1.25-tls
}
@test "golden: SuperNode, static FL_SUPERLINK_ADDRESS" { check_golden sn-static; }
@test "golden: SuperNode, Flower 1.38.0 (era B: --host/--port)" { check_golden sn-1.38; }
@test "golden: SuperNode, Flower 1.41.0 (era C)" { check_golden sn-1.41; }
@test "golden: SuperNode, discovery file with FL_TLS=YES: TLS on, CA mounted" { check_golden sn-discovery-tls; }
@test "golden: SuperNode, FL_TLS_ENABLED=NO wins over the discovery file's FL_TLS=YES" {
	check_golden sn-discovery-tls-off
}
@test "golden: SuperNode, a bare discovered host gets :9092" { check_golden sn-discovery-bare; }
@test "golden: SuperNode, a bare discovered IPv6 host is bracketed, then :9092" { check_golden sn-discovery-v6; }
@test "golden: SuperNode, GPU detected (H100, nvidia runtime), CUDA 0,1, tensorflow" { check_golden sn-gpu; }
@test "golden: SuperNode, GPU detected, CUDA all: no CUDA_VISIBLE_DEVICES" { check_golden sn-gpu-all; }
@test "golden: SuperNode, GPU detected through CDI: --device nvidia.com/gpu=all" { check_golden sn-gpu-cdi; }
@test "golden: SuperNode, GPU enabled but none on the machine: CPU, no GPU flags" { check_golden sn-gpu-undetected; }
@test "golden: SuperNode, GPU broken (driver/library mismatch): CPU, no GPU flags" { check_golden sn-gpu-mismatch; }
@test "golden: SuperNode, DCGM on with a usable GPU: dcgm-exporter.service" { check_golden sn-dcgm; }
@test "golden: SuperNode, DCGM on, GPU through CDI: the exporter gets the CDI device" { check_golden sn-dcgm-cdi; }
@test "golden: SuperNode, retries, wait time and node config set" { check_golden sn-retries; }
@test "golden: SuperNode, FL_MAX_RETRIES=0 FL_MAX_WAIT_TIME=0: both flags omitted" { check_golden sn-retries-0; }
@test "golden: SuperNode, process runtime under systemd, GPU 1" { check_golden sn-process; }
@test "golden: SuperLink, FL_METRICS_ENABLED=YES: fl-metrics serve on the VM address, the state database" {
	check_golden sl-metrics
}
@test "golden: SuperLink, metrics on an IPv6 VM address" { check_golden sl-metrics-v6; }
@test "golden: SuperLink, metrics, process runtime under systemd: fl-metrics also follows Flower's log" {
	check_golden sl-metrics-process
}
@test "golden: SuperNode with OneGate: fl-metrics publish watches the container" { check_golden sn-metrics-publish; }
@test "golden: SuperNode with OneGate, process runtime without systemd: publish reads the pid file and log" {
	check_golden sn-metrics-publish-process
}

@test "golden: every case has its three files and no file is left over" {
	[ -z "${FLKIT_UPDATE_GOLDEN:-}" ] || skip "rewriting golden files"
	local name what f missing="" extra=""
	for name in "${GOLDEN_CASES[@]}"; do
		golden_case "$name"
		for what in argv unit env ${PROXY:+proxy-conf proxy-unit} ${METRICS:+metrics-argv metrics-unit} ${DCGM:+dcgm-unit}; do
			[ -f "$GOLDEN/$name.$what" ] || missing+=" $name.$what"
		done
	done
	for f in "$GOLDEN"/*; do
		f=${f##*/}
		[[ " ${GOLDEN_CASES[*]} " == *" ${f%.*} "* ]] || extra+=" $f"
	done
	[ -z "$missing$extra" ] || {
		echo "missing:$missing" >&2
		echo "extra:$extra" >&2
		return 1
	}
	# One @test per case: the list above and the tests agree.
	[ "$(grep -c '^@test "golden: Super' "$BATS_TEST_FILENAME")" -eq "${#GOLDEN_CASES[@]}" ]
}

@test "golden: the files hold no machine-specific path" {
	run grep -rlE '/tmp/|/root/|/home/|bats-run' "$GOLDEN"
	refute_output
}

@test "golden: the SuperNode with GPU differs from the undetected one by exactly the GPU flags" {
	run diff "$GOLDEN/sn-gpu-undetected.argv" "$GOLDEN/sn-gpu.argv"
	assert_output $'15a16,19\n> --gpus\n> all\n> -e\n> CUDA_VISIBLE_DEVICES=0,1'
}

@test "unit: every golden configuration's unit passes systemd-analyze verify" {
	command -v systemd-analyze >/dev/null ||
		skip "systemd-analyze is not installed (Debian/Ubuntu package systemd)"
	local name unit dir failed=0 out
	for name in "${GOLDEN_CASES[@]}"; do
		golden_case "$name"
		dir=$T/verify/$name
		mkdir -p "$dir"
		unit=$dir/flower-$ROLE.service
		# ExecStart must name an executable that exists: the docker stub, or the stub Flower.
		env -i PATH="$PATH" "${VARS[@]}" "$FLKIT_BIN/fl-launch" -E -r "$ROLE" "${OPTS[@]}" --docker "$T/bin/docker" \
			unit >"$unit" 2>/dev/null || {
			echo "$name: fl-launch unit failed" >&2
			failed=1
			continue
		}
		local units=("$unit")
		if [ -n "$PROXY" ]; then
			# The Fleet proxy's unit, next to the SuperLink's it is bound to (nginx: a stub).
			units+=("$dir/flower-superlink-proxy.service")
			env -i PATH="$PATH" "${VARS[@]}" "$FLKIT_BIN/fl-launch" -E -r "$ROLE" "${OPTS[@]}" \
				--docker "$T/bin/docker" --nginx "$T/bin/docker" proxy-unit >"${units[1]}" 2>/dev/null
		fi
		if [ -n "$METRICS" ]; then
			# fl-metrics' unit beside Flower's (fl-metrics: a stub that exists).
			local m=$dir/flower-metrics.service
			[ "$ROLE" = superlink ] || m=$dir/flower-metrics-publish.service
			env -i PATH="$PATH" "${VARS[@]}" "$FLKIT_BIN/fl-launch" -E -r "$ROLE" "${OPTS[@]}" \
				--docker "$T/bin/docker" --metrics-bin "$T/bin/docker" metrics-unit >"$m" 2>/dev/null
			units+=("$m")
		fi
		if [ -n "$DCGM" ]; then
			# The DCGM exporter's unit beside the SuperNode's it is part of.
			env -i PATH="$PATH" "${VARS[@]}" "$FLKIT_BIN/fl-launch" -E -r "$ROLE" "${OPTS[@]}" \
				--docker "$T/bin/docker" dcgm-unit >"$dir/dcgm-exporter.service" 2>/dev/null
			units+=("$dir/dcgm-exporter.service")
		fi
		if ! out=$(cd "$dir" && SYSTEMD_UNIT_PATH="$VERIFY_UNITS:$dir:" MANPATH="$VERIFY_MAN" systemd-analyze verify "${units[@]}" 2>&1) ||
			[ -n "$out" ]; then
			printf '%s: systemd-analyze verify:\n%s\n' "$name" "$out" >&2
			failed=1
		fi
	done
	[ "$failed" -eq 0 ]
}

@test "unit: systemd reads ExecStart back as the argv, element for element" {
	command -v systemd-analyze >/dev/null ||
		skip "systemd-analyze is not installed (Debian/Ubuntu package systemd)"
	# A node config with blanks, a discovery host, GPU list: what systemd parses must be the argv.
	local name
	for name in sn-retries sn-gpu sl-tls-operator sn-process; do
		golden_case "$name"
		local unit=$T/flower-$ROLE.service
		env -i PATH="$PATH" "${VARS[@]}" "$FLKIT_BIN/fl-launch" -E -r "$ROLE" "${OPTS[@]}" --docker "$T/bin/docker" \
			unit >"$unit" 2>/dev/null
		env -i PATH="$PATH" "${VARS[@]}" "$FLKIT_BIN/fl-launch" -E -r "$ROLE" "${OPTS[@]}" --docker "$T/bin/docker" \
			argv >"$T/want" 2>/dev/null
		# systemd's own parser: `systemd-analyze dump` needs a manager; `cat-config` does not
		# parse; so read ExecStart= back with the documented quoting rules (python shlex in
		# POSIX mode applies them for "..." with \" and \\ escapes), $$ -> $ and %% -> %.
		python3 - "$unit" >"$T/got" <<'EOF'
import shlex, sys
text = open(sys.argv[1]).read().replace("\\\n", " ")
line = next(l for l in text.splitlines() if l.startswith("ExecStart="))
for w in shlex.split(line[len("ExecStart="):], posix=True):
    print(w.replace("$$", "$").replace("%%", "%"))
EOF
		diff -u "$T/want" "$T/got" || {
			echo "case $name: ExecStart does not read back as the argv" >&2
			return 1
		}
	done
}

# ---------------------------------------------------------------------------------------------
# Docker: the daemon, the image, start and restart

@test "wait-docker: retries \`docker info\` until the daemon answers" {
	echo 2 >"$S/info.ok_after"
	run_fll --timeout 10 --interval 1 wait-docker
	is_status 0
	[ "$(calls docker | grep -c '^info ')" -eq 3 ]
	has "Docker daemon ready (server 27.3.1, attempt 3)"
}

@test "wait-docker: a daemon that never answers is exit 3 'Docker daemon not available.'" {
	touch "$S/info.fail"
	# Without --timeout it would retry until fll's 120 s guard: exit 3 is the timeout's doing.
	run_fll --timeout 2 --interval 1 wait-docker
	is_status 3
	has "Docker daemon not available."
	has "systemctl status docker"
	[ "$(calls docker | grep -c '^info ')" -ge 2 ]
}

@test "image: the pre-baked version is used as is: no inspect, no pull" {
	echo 1.25.0 >"$T/prebaked"
	run_fll -r superlink --prebaked "$T/prebaked" image
	is_status 0
	assert_output 1.25.0
	has_log INFO "Using pre-baked version 1.25.0"
	no_call docker '^(pull|image) '
}

@test "image: FLOWER_VERSION defaults to 1.25.0 and PREBAKED_VERSION is read from --flower-dir" {
	mkdir -p "$FD"
	printf '1.25.0\n' >"$FD/PREBAKED_VERSION"
	run_fll -r supernode image
	is_status 0
	assert_output 1.25.0
	no_call docker '^pull '
}

@test "image: a requested version whose image is present is used without a pull" {
	mkdir -p "$FD"
	echo 1.25.0 >"$FD/PREBAKED_VERSION"
	echo flwr/superlink:1.38.0 >"$S/images"
	run_fll FLOWER_VERSION=1.38.0 -r superlink image
	is_status 0
	assert_output 1.38.0
	has_log INFO "Requested version 1.38.0 differs from pre-baked 1.25.0"
	has_log INFO "Image flwr/superlink:1.38.0 is present"
	no_call docker '^pull '
}

@test "image: a requested version that differs is pulled: 'Successfully pulled version'" {
	mkdir -p "$FD"
	echo 1.25.0 >"$FD/PREBAKED_VERSION"
	run_fll FLOWER_VERSION=1.38.0 -r supernode image
	is_status 0
	assert_output 1.38.0
	has_log INFO "Pulling flwr/supernode:1.38.0..."
	has_log INFO "Successfully pulled version 1.38.0"
	has_call docker "pull flwr/supernode:1.38.0"
}

@test "image: a failed pull falls back to the pre-baked version with the spec's WARN" {
	mkdir -p "$FD"
	echo 1.25.0 >"$FD/PREBAKED_VERSION"
	touch "$S/pull.fail"
	run_fll FLOWER_VERSION=1.38.0 -r superlink image
	is_status 0
	assert_output 1.25.0
	has "[WARN] [fl-launch] Failed to pull version 1.38.0 -- falling back to pre-baked 1.25.0"
	has "manifest unknown"
}

@test "image: no PREBAKED_VERSION and a failed pull is exit 3" {
	touch "$S/pull.fail"
	run_fll FLOWER_VERSION=1.38.0 -r superlink image
	is_status 3
	assert_output ''
	has "cannot pull flwr/superlink:1.38.0 and there is no pre-baked image to fall back to"
}

@test "image: a PREBAKED_VERSION that is not X.Y.Z is ignored with a warning" {
	mkdir -p "$FD"
	echo latest >"$FD/PREBAKED_VERSION"
	run_fll FLOWER_VERSION=1.38.0 -r superlink image
	is_status 0
	assert_output 1.38.0
	has "PREBAKED_VERSION does not hold a version X.Y.Z: ignored"
}

@test "image: --image REPO is the repository inspected and pulled" {
	run_fll FLOWER_VERSION=1.38.0 -r superlink --image registry.example.com/flwr/superlink image
	is_status 0
	has_call docker "pull registry.example.com/flwr/superlink:1.38.0"
}

@test "start: waits for the Docker daemon before anything else" {
	echo 1 >"$S/info.ok_after"
	run_fll -r superlink --addr 10.0.0.5 start
	is_status 0
	[ "$(calls docker | head -n 2 | grep -c '^info ')" -eq 2 ]
	has "Docker daemon ready (server 27.3.1, attempt 2)"
}

@test "start: writes the env file (0600) and the unit, reloads, enables and starts" {
	mkdir -p "$FD"
	echo 1.25.0 >"$FD/PREBAKED_VERSION"
	run_fll -r superlink --addr 10.0.0.5 start
	is_status 0
	assert_output ''
	has_log INFO "started flower-superlink"
	[ "$(stat -c %a "$FD/config/superlink.env")" = 600 ]
	[ "$(stat -c %a "$UD/flower-superlink.service")" = 644 ]
	[ "$(stat -c %a "$FD/config")" = 750 ]
	[ "$(stat -c %a "$FD/state")" = 755 ]
	[ "$(stat -c %u:%g "$FD/state")" = "$OWNER" ]
	# What `fl-launch unit` prints is what start installed.
	diff "$UD/flower-superlink.service" <(fll -r superlink --addr 10.0.0.5 unit 2>/dev/null)
	diff "$FD/config/superlink.env" <(fll -r superlink env 2>/dev/null)
	[ "$(calls systemctl)" = $'daemon-reload\nenable flower-superlink.service\nstart flower-superlink.service' ]
	# The record of what runs: hash, version, argv.
	[ "$(stat -c %a "$FD/config/flower-superlink.state")" = 600 ]
	run -0 sed -n 2p "$FD/config/flower-superlink.state"
	assert_output "version 1.25.0"
	no_call docker '^pull '
}

@test "start: the second start with the same configuration is left alone" {
	run_fll -r superlink --addr 10.0.0.5 start
	is_status 0
	: >"$S/systemctl.log"
	run_fll -r superlink --addr 10.0.0.5 start
	is_status 0
	has_log INFO "flower-superlink already runs this configuration: left alone (not restarted)"
	assert_equal "$(calls systemctl)" ''
	refute_stderr_contains "wrote "
}

@test "start: a changed FL_LOG_LEVEL restarts and says what changed; the unit is not reloaded" {
	run_fll -r superlink --addr 10.0.0.5 start
	is_status 0
	: >"$S/systemctl.log"
	run_fll FL_LOG_LEVEL=DEBUG -r superlink --addr 10.0.0.5 start
	is_status 0
	has_log WARN "configuration changed (FLWR_LOG_LEVEL=INFO -> DEBUG): restarted flower-superlink"
	[ "$(calls systemctl)" = $'enable flower-superlink.service\nrestart flower-superlink.service' ]
	grep -qx FLWR_LOG_LEVEL=DEBUG "$FD/config/superlink.env"
}

@test "start: a changed FL_SUPERLINK_ADDRESS restarts the SuperNode: --superlink A -> B" {
	run_fll FL_SUPERLINK_ADDRESS=10.0.0.5:9092 -r supernode start
	is_status 0
	: >"$S/systemctl.log"
	run_fll FL_SUPERLINK_ADDRESS=10.0.0.7:9092 -r supernode start
	is_status 0
	has_log WARN "configuration changed (--superlink 10.0.0.5:9092 -> 10.0.0.7:9092): restarted flower-supernode"
	[ "$(calls systemctl)" = $'daemon-reload\nenable flower-supernode.service\nrestart flower-supernode.service' ]
	grep -q -- '--superlink 10.0.0.7:9092' "$UD/flower-supernode.service"
}

@test "start: a stopped service with an unchanged configuration is started, not left alone" {
	run_fll -r superlink --addr 10.0.0.5 start
	echo false >"$S/running"
	: >"$S/systemctl.log"
	run_fll -r superlink --addr 10.0.0.5 start
	is_status 0
	has_log INFO "started flower-superlink"
	[ "$(calls systemctl)" = $'enable flower-superlink.service\nstart flower-superlink.service' ]
}

@test "start: a service running without a record is restarted (its configuration is unknown)" {
	echo true >"$S/running"
	run_fll -r superlink --addr 10.0.0.5 start
	is_status 0
	has_log WARN "configuration changed (no record of the running configuration): restarted flower-superlink"
	has_call systemctl "restart flower-superlink.service"
}

@test "start: a failed pull starts the pre-baked tag" {
	mkdir -p "$FD"
	echo 1.25.0 >"$FD/PREBAKED_VERSION"
	touch "$S/pull.fail"
	run_fll FLOWER_VERSION=1.38.0 -r superlink --addr 10.0.0.5 start
	is_status 0
	has "Failed to pull version 1.38.0 -- falling back to pre-baked 1.25.0"
	grep -qxF "    flwr/superlink:1.25.0 \\" "$UD/flower-superlink.service"
	# ... with the flags of the version that runs (1.25: era A), not of the one requested.
	grep -q -- '--serverappio-api-address' "$UD/flower-superlink.service"
	run -0 sed -n 2p "$FD/config/flower-superlink.state"
	assert_output "version 1.25.0"
}

@test "start: a pulled version starts with its own flags (1.38.0: --host/--port)" {
	run_fll FLOWER_VERSION=1.38.0 -r superlink --addr 10.0.0.5 start
	is_status 0
	grep -qxF "    flwr/superlink:1.38.0 \\" "$UD/flower-superlink.service"
	grep -qxF -- "    --port 9093 \\" "$UD/flower-superlink.service"
	has "Flower 1.38.0, era B"
}

@test "start: no PREBAKED_VERSION and a failed pull is exit 3, nothing started" {
	touch "$S/pull.fail"
	run_fll FLOWER_VERSION=1.38.0 -r superlink --addr 10.0.0.5 start
	is_status 3
	no_call systemctl 'start'
	[ ! -e "$UD/flower-superlink.service" ]
}

@test "start: a failing \`systemctl start\` is exit 1 with the last log lines, and no record stays" {
	touch "$S/start.fail"
	printf 'Error: bind: address already in use\n' >"$S/logs"
	run_fll -r superlink --addr 10.0.0.5 start
	is_status 1
	has "failed because the control process exited with error code"
	has "Error: bind: address already in use"
	[ ! -e "$FD/config/flower-superlink.state" ]
	# The next start tries again instead of leaving it alone.
	rm "$S/start.fail"
	run_fll -r superlink --addr 10.0.0.5 start
	is_status 0
	has_log INFO "started flower-superlink"
}

@test "start: a SuperNode gets its data directory owned by --owner, no state directory" {
	run_fll FL_SUPERLINK_ADDRESS=10.0.0.7:9092 -r supernode start
	is_status 0
	[ "$(stat -c %a:%u:%g "$FD/data")" = "755:$OWNER" ]
	[ ! -e "$FD/state" ]
	[ "$(stat -c %a "$FD/config/supernode.env")" = 600 ]
}

@test "start: checkpoints on creates the checkpoint directory" {
	run_fll FL_CHECKPOINT_ENABLED=YES -r superlink --addr 10.0.0.5 start
	is_status 0
	[ "$(stat -c %a:%u:%g "$FD/checkpoints")" = "755:$OWNER" ]
}

@test "restart: stops, then starts again" {
	run_fll -r superlink --addr 10.0.0.5 start
	: >"$S/systemctl.log"
	run_fll -r superlink --addr 10.0.0.5 restart
	is_status 0
	[ "$(calls systemctl)" = $'stop flower-superlink.service\nenable flower-superlink.service\nstart flower-superlink.service' ]
	[ -f "$FD/config/flower-superlink.state" ]
}

@test "start: FL_LOG_FORMAT=json makes every log line a JSON object" {
	run_fll FL_LOG_FORMAT=json -r superlink --addr 10.0.0.5 start
	is_status 0
	[ "${#stderr_lines[@]}" -gt 3 ]
	local line
	for line in "${stderr_lines[@]}"; do
		jq -e '.level and .message and .tool == "fl-launch"' <<<"$line" >/dev/null || fail "not a JSON log line: $line"
	done
}

@test "install: writes the files and reloads systemd, starts nothing" {
	run_fll -r superlink --addr 10.0.0.5 install
	is_status 0
	[ -f "$UD/flower-superlink.service" ] && [ -f "$FD/config/superlink.env" ]
	[ "$(calls systemctl)" = daemon-reload ]
	no_call docker '.'
	# Unchanged: no second reload.
	run_fll -r superlink --addr 10.0.0.5 install
	[ "$(calls systemctl)" = daemon-reload ]
}

@test "stop: systemctl stop, and the record is dropped" {
	run_fll -r superlink --addr 10.0.0.5 start
	: >"$S/systemctl.log"
	run_fll -r superlink --addr 10.0.0.5 stop
	is_status 0
	[ "$(calls systemctl)" = "stop flower-superlink.service" ]
	[ ! -e "$FD/config/flower-superlink.state" ]
}

@test "status: docker runtime, RUNNING from docker inspect" {
	echo true >"$S/running"
	run_fll FL_SUPERLINK_ADDRESS=10.0.0.7:9092 -r supernode status
	is_status 0
	assert_line SERVICE=flower-supernode
	assert_line RUNNING=yes
	assert_line RUNTIME=docker
	assert_line SUPERVISOR=systemd
	echo false >"$S/running"
	run_fll FL_SUPERLINK_ADDRESS=10.0.0.7:9092 -r supernode status
	is_status 1
	assert_line RUNNING=no
}

@test "show: the SuperLink's endpoint, Fleet, Control and health addresses" {
	run_fll -r superlink --addr 10.0.0.5 show
	is_status 0
	assert_output $'FL_ENDPOINT=10.0.0.5:9092\nFL_FLEET_ADDRESS=127.0.0.1:9092\nFL_CONTROL_ADDRESS=127.0.0.1:9093\nFL_HEALTH_ADDRESS=127.0.0.1:9099\nFL_TLS=NO\nFL_VERSION=1.25.0'
}

@test "show: the SuperNode's SuperLink address from a discovery file, TLS from its FL_TLS" {
	run_fll -r supernode --discovery "$LFIX/discovery-tls.env" show
	is_status 0
	assert_output $'FL_SUPERLINK_ADDRESS=10.0.7.100:9092\nFL_TLS=YES\nFL_VERSION=1.25.0'
}

@test "show: a discovered SuperLink address with a leading zero in the port is exit 1, saying why" {
	printf 'FL_SUPERLINK_ADDRESS=10.0.7.100:09092\nFL_TLS=NO\nFL_VERSION=1.25.0\n' >"$T/discovery.env"
	run_fll -r supernode --discovery "$T/discovery.env" show
	is_status 1
	has "SuperLink address: '10.0.7.100:09092': port '09092' is not a number in 1-65535 written in decimal without sign or leading zeros"
}

# ---------------------------------------------------------------------------------------------
# Flower 1.40+ (era C): Flower on loopback, the Fleet proxy (nginx) faces the network

# sl41 ARGS...: fl-launch for a docker SuperLink of Flower 1.41.0, nginx a stub.
sl41() {
	printf '#!/bin/sh\nexit 0\n' >"$T/bin/nginx"
	chmod 0755 "$T/bin/nginx"
	local -a vars=()
	while [ $# -gt 0 ] && [[ $1 =~ ^[A-Za-z_][A-Za-z0-9_]*= ]]; do
		vars+=("$1")
		shift
	done
	run_fll "${vars[@]}" -r superlink --addr 10.0.0.5 --flower-version 1.41.0 --nginx "$T/bin/nginx" "$@"
}

@test "start: a Flower 1.41 SuperLink starts its Fleet proxy after it (config 0644, unit bound to the SuperLink's)" {
	sl41 start
	is_status 0
	[ "$(calls systemctl)" = $'daemon-reload\nenable flower-superlink.service\nstart flower-superlink.service\nenable flower-superlink-proxy.service\nrestart flower-superlink-proxy.service' ]
	[ "$(stat -c %a "$FD/proxy/nginx.conf")" = 644 ]
	[ "$(stat -c %a "$FD/proxy")" = 755 ]
	[ "$(stat -c %u:%g "$FD/proxy/run")" = "$OWNER" ]
	[ "$(stat -c %a "$UD/flower-superlink-proxy.service")" = 644 ]
	diff "$FD/proxy/nginx.conf" <(fll -r superlink --addr 10.0.0.5 --flower-version 1.41.0 --nginx "$T/bin/nginx" proxy-conf 2>/dev/null)
	diff "$UD/flower-superlink-proxy.service" <(fll -r superlink --addr 10.0.0.5 --flower-version 1.41.0 --nginx "$T/bin/nginx" proxy-unit 2>/dev/null)
	# Flower publishes nothing on the VM address: the proxy listens there.
	run -1 grep -F '10.0.0.5:9092' "$UD/flower-superlink.service"
	grep -qx '		listen 10.0.0.5:9092;' "$FD/proxy/nginx.conf"
	grep -qF -- '-p 127.0.0.1:9093:9093' "$UD/flower-superlink.service"
	refute_stderr_contains "FL_CONTROL_API_EXPOSED"
}

@test "start: an unchanged era C plan leaves the running proxy alone; stop stops the proxy, then the SuperLink" {
	sl41 start
	: >"$S/systemctl.log"
	sl41 start
	is_status 0
	has_log INFO "flower-superlink already runs this configuration: left alone (not restarted)"
	# systemctl start of an active unit changes nothing; a proxy that died is started again.
	[ "$(calls systemctl)" = $'enable flower-superlink-proxy.service\nstart flower-superlink-proxy.service' ]
	: >"$S/systemctl.log"
	sl41 stop
	is_status 0
	[ "$(calls systemctl)" = $'stop flower-superlink-proxy.service\nstop flower-superlink.service' ]
}

@test "start: a changed era C plan restarts the SuperLink, and its proxy with it (PartOf=)" {
	sl41 start
	: >"$S/systemctl.log"
	sl41 FL_LOG_LEVEL=DEBUG start
	is_status 0
	[ "$(calls systemctl)" = $'enable flower-superlink.service\nrestart flower-superlink.service\nenable flower-superlink-proxy.service\nstart flower-superlink-proxy.service' ]
}

@test "start: a change of the Fleet proxy alone restarts it and says so" {
	sl41 start
	cp "$T/bin/nginx" "$T/bin/nginx2"
	: >"$S/systemctl.log"
	run_fll -r superlink --addr 10.0.0.5 --flower-version 1.41.0 --nginx "$T/bin/nginx2" start
	is_status 0
	has_log WARN "configuration changed (unit file or Fleet proxy): restarted flower-superlink"
	grep -qF "ExecStart=$T/bin/nginx2 " "$UD/flower-superlink-proxy.service"
	[ "$(calls systemctl)" = $'daemon-reload\nenable flower-superlink.service\nrestart flower-superlink.service\nenable flower-superlink-proxy.service\nstart flower-superlink-proxy.service' ]
}

@test "start: FL_CONTROL_API_EXPOSED=YES publishes Flower on the Fleet port with a warning and removes the proxy" {
	sl41 start
	[ -e "$UD/flower-superlink-proxy.service" ]
	: >"$S/systemctl.log"
	sl41 FL_CONTROL_API_EXPOSED=YES start
	is_status 0
	has_log WARN "FL_CONTROL_API_EXPOSED=YES: Flower 1.41 serves the Control and Runtime APIs on the Fleet API port 9092 without authenticating callers: any host that reaches it can run code on every SuperNode; set FL_CONTROL_API_EXPOSED=NO to serve the Fleet routes only, through the proxy"
	has_call systemctl "stop flower-superlink-proxy.service"
	has_call systemctl "disable flower-superlink-proxy.service"
	[ ! -e "$UD/flower-superlink-proxy.service" ]
	grep -qF -- '-p 10.0.0.5:9092:9092' "$UD/flower-superlink.service"
	# Every start says it again.
	sl41 FL_CONTROL_API_EXPOSED=YES start
	has "FL_CONTROL_API_EXPOSED=YES: Flower 1.41 serves the Control and Runtime APIs"
}

@test "start: no nginx is exit 1 naming the package and --nginx; nothing is started" {
	run_fll -r superlink --addr 10.0.0.5 --flower-version 1.41.0 --nginx "$T/no/nginx" start
	is_status 1
	has "the Fleet proxy needs nginx, not found at $T/no/nginx: install Debian's nginx-light (apt-get install nginx-light) or pass --nginx PATH"
	no_call systemctl '^(start|restart) '
}

@test "start: TLS with a server certificate that does not name localhost is exit 1 (the proxy verifies Flower by that name)" {
	mkdir -p "$FD/certs"
	cp "$OPS/ca.crt" "$FD/certs/ca.crt"
	cp "$OPS/server.pem" "$FD/certs/server.pem"
	cp "$OPS/server.key" "$FD/certs/server.key"
	sl41 FL_TLS_ENABLED=YES start
	is_status 1
	has "$FD/certs/server.pem does not name localhost (DNS:localhost): the Fleet proxy flower-superlink-proxy verifies Flower's certificate on loopback by that name"
	no_call systemctl '^(start|restart) '
}

@test "proxy-conf: only a SuperLink of Flower 1.40+ without FL_CONTROL_API_EXPOSED=YES has a proxy" {
	run_fll -r superlink --addr 10.0.0.5 --flower-version 1.38.0 proxy-conf
	is_status 1
	has "this plan has no Fleet proxy"
	run_fll FL_CONTROL_API_EXPOSED=YES -r superlink --addr 10.0.0.5 --flower-version 1.41.0 proxy-unit
	is_status 1
}

# sl_c ARGS...: fl-launch for a native era C SuperLink of the stub install (1.41.0): Fleet on
# 127.0.0.1:$PORT (the proxy, a real nginx), Flower on 127.0.0.1:$CPORT.
sl_c() {
	run_fll "FL_FLEET_API_ADDRESS=127.0.0.1:$PORT" "FL_CONTROL_API_ADDRESS=127.0.0.1:$CPORT" -r superlink \
		--runtime process --supervisor none --flower-bin "$FLOWER_STUB/bin" --health-port 0 --addr 127.0.0.1 "$@"
}

need_nginx() {
	[ -x /usr/sbin/nginx ] || skip "nginx is not installed (Debian package nginx-light; scripts/bootstrap installs it)"
	PORT=$(free_port)
	CPORT=$(free_port)
	[ "$PORT" != "$CPORT" ] || CPORT=$(free_port)
}

# code METHOD PATH: the HTTP status the Fleet address answers.
code() {
	curl -s -o /dev/null -w '%{http_code}' --path-as-is -X "$1" -H 'content-type: application/protobuf' \
		${3:+--data-binary ''} "http://127.0.0.1:$PORT$2"
}

@test "process: era C: Flower listens on 127.0.0.1 only; the proxy passes the Fleet routes, 403 for the rest" {
	need_nginx
	sl_c start
	is_status 0
	wait_listen "$CPORT"
	wait_listen "$PORT"
	# Flower's own socket is bound to loopback at the Control port, nothing else on the Fleet port.
	run -0 ss -Hltn "sport = :$CPORT"
	assert_output --regexp "127\.0\.0\.1:$CPORT "
	sl_c status
	is_status 0
	assert_line PROXY=flower-superlink-proxy
	assert_line PROXY_RUNNING=yes
	assert_line "PROXY_ADDRESS=127.0.0.1:$PORT"
	sl_c show
	assert_line "FL_CONTROL_ADDRESS=127.0.0.1:$CPORT"
	sl_c health
	is_status 0
	local p
	for p in /v1/control/start-run /v1/control/list-runs /v1/runtime/get-nodes /v1/runtime/push-task-output / \
		/docs /v1/fleet /v1/fleet/ /v1/fleet/get-run/ /V1/FLEET/GET-RUN /v1/fleet/get-run/../../control/start-run \
		'/v1/fleet/get-run%2F..%2F..%2Fcontrol%2Fstart-run' /v1/fleet/../control/list-runs; do
		assert_equal "$p $(code POST "$p" 1)" "$p 403"
	done
	assert_equal "$(code GET /v1/fleet/get-run)" 403
	# A Fleet route reaches Flower (the stub closes the connection: 502 from the proxy).
	assert_equal "$(code POST /v1/fleet/get-run 1)" 502
	sl_c stop
	is_status 0
	[ ! -e "$FD/run/flower-superlink-proxy.pid" ] && [ ! -e "$FD/run/flower-superlink.pid" ]
	# stop returns once the processes are gone: the port is closed now, not eventually.
	run -1 accepts "$PORT"
}

@test "process: Flower and its proxy keep no descriptor of fl-launch's caller (a pipe read for its output would never end)" {
	need_nginx
	local held=$BATS_TEST_TMPDIR/held p f
	exec 7>"$held"
	sl_c start
	exec 7>&-
	is_status 0
	wait_listen "$PORT"
	for f in "$FD/run/flower-superlink.pid" "$FD/run/flower-superlink-proxy.pid"; do
		read -r p _ <"$f"
		[ -d "/proc/$p/fd" ]
		run -1 bash -c "ls -l /proc/$p/fd | grep -F '$held'"
	done
	sl_c stop
}

@test "process: era C: a dead proxy is unhealthy and says so; start brings it back and leaves Flower alone" {
	need_nginx
	sl_c start
	is_status 0
	wait_listen "$PORT"
	local flower proxy
	read -r flower _ <"$FD/run/flower-superlink.pid"
	read -r proxy _ <"$FD/run/flower-superlink-proxy.pid"
	kill -KILL -- "-$proxy"
	sl_c health
	is_status 1
	has "the Fleet proxy flower-superlink-proxy is not running: SuperNodes cannot reach the SuperLink on 127.0.0.1:$PORT; \`fl-launch start\` starts it again (its output: $FD/logs/flower-superlink-proxy.log)"
	sl_c status
	is_status 1
	assert_line RUNNING=yes
	assert_line PROXY_RUNNING=no
	sl_c start
	is_status 0
	has_log INFO "flower-superlink already runs this configuration: left alone (not restarted)"
	assert_equal "$(cut -d' ' -f1 "$FD/run/flower-superlink.pid")" "$flower"
	sl_c health
	is_status 0
	# An unchanged plan leaves the running proxy alone.
	read -r proxy _ <"$FD/run/flower-superlink-proxy.pid"
	sl_c start
	assert_equal "$(cut -d' ' -f1 "$FD/run/flower-superlink-proxy.pid")" "$proxy"
	sl_c stop
}

@test "process: era C: after a SuperLink restart the proxy serves again" {
	need_nginx
	sl_c start
	is_status 0
	sl_c restart
	is_status 0
	wait_listen "$PORT"
	sl_c health
	is_status 0
	assert_equal "$(code POST /v1/control/start-run 1)" 403
	# Flower alone gone and started again (no supervisor): the proxy kept serving throughout.
	local flower proxy
	read -r flower _ <"$FD/run/flower-superlink.pid"
	read -r proxy _ <"$FD/run/flower-superlink-proxy.pid"
	kill -KILL -- "-$flower"
	sl_c start
	is_status 0
	assert_equal "$(cut -d' ' -f1 "$FD/run/flower-superlink-proxy.pid")" "$proxy"
	wait_listen "$CPORT"
	sl_c health
	is_status 0
	sl_c stop
}

# ---------------------------------------------------------------------------------------------
# Refusals: configuration, certificates, usage

@test "start: TLS on without certificates is exit 1: run \`fl-certgen superlink\` first" {
	run_fll FL_TLS_ENABLED=YES -r superlink --addr 10.0.0.5 start
	is_status 1
	has "run \`fl-certgen superlink\` first"
	has "$FD/certs/server.pem"
	no_call systemctl 'start'
}

@test "start: a SuperNode with TLS and no ca.crt is exit 1: run \`fl-certgen supernode\` first" {
	tls_discovery "$(free_port)"
	run_fll -r supernode --discovery "$T/discovery.env" start
	is_status 1
	has "run \`fl-certgen supernode\` first"
	has "$FD/certs/ca.crt"
	no_call systemctl 'start'
}

# tls_discovery PORT: a discovery file naming 127.0.0.1:PORT with FL_TLS=YES (never a real host:
# start probes the SuperLink's certificate before it starts a TLS SuperNode).
tls_discovery() {
	printf 'FL_SUPERLINK_ADDRESS=127.0.0.1:%s\nFL_TLS=YES\nFL_CA_CERT=%s\nFL_VERSION=1.25.0\n' "$1" "$OP_CA_B64" \
		>"$T/discovery.env"
}

@test "start: a TLS SuperNode whose SuperLink does not answer yet is started (Flower retries)" {
	mkdir -p "$FD/certs"
	cp "$OPS/ca.crt" "$FD/certs/ca.crt"
	tls_discovery "$(free_port)"
	run_fll -r supernode --discovery "$T/discovery.env" start
	is_status 0
	has "does not answer yet; Flower keeps trying once started"
	has_call systemctl "start flower-supernode.service"
	grep -q -- '--root-certificates /app/ca.crt' "$UD/flower-supernode.service"
}

@test "start: a TLS SuperNode whose SuperLink certificate verifies is started" {
	tls_superlink "$OPS/lo.pem" "$OPS/lo.key"
	tls_discovery "$PORT"
	run_fll -r supernode --discovery "$T/discovery.env" start
	is_status 0
	refute_stderr_contains "does not answer"
	has_call systemctl "start flower-supernode.service"
}

@test "start: a TLS SuperNode whose SuperLink certificate the CA rejects is not started" {
	tls_superlink "$OPS/other.pem" "$OPS/other.key"
	tls_discovery "$PORT"
	run_fll -r supernode --discovery "$T/discovery.env" start
	is_status 1
	has "This SuperNode cannot connect with the CA it was given"
	has "not starting flower-supernode: it could never connect"
	no_call systemctl 'start'
}

@test "a SuperNode without any SuperLink address is exit 1 with the fl-onegate discover hint" {
	run_fll -r supernode argv
	is_status 1
	assert_output ''
	has "No SuperLink address: FL_SUPERLINK_ADDRESS is not set and no discovery result was given"
	has "fl-onegate discover -o FILE"
	run_fll -r supernode start
	is_status 1
	no_call systemctl '.'
}

@test "an invalid context is exit 1 with fl-context's messages and 'Aborting boot.'" {
	local -a bad=(FL_NUM_ROUNDS=abc FL_LOG_LEVEL=LOUD)
	run --separate-stderr env -i "${bad[@]}" "$FLKIT_BIN/fl-context" -E validate --role superlink
	local want=()
	local line
	for line in "${stderr_lines[@]}"; do
		[[ $line =~ \[ERROR\]\ \[fl-context\]\ (.*)$ ]] && want+=("${BASH_REMATCH[1]}")
	done
	[ "${#want[@]}" -eq 2 ]
	run_fll "${bad[@]}" -r superlink --addr 10.0.0.5 start
	is_status 1
	assert_output ''
	for line in "${want[@]}"; do
		has_log ERROR "$line"
	done
	has_log FATAL "2 configuration error(s). Aborting boot."
	no_call docker '.'
	no_call systemctl '.'
	[ ! -e "$FD" ]
}

@test "a discovery file that is not KEY=VALUE lines is refused" {
	printf 'FL_SUPERLINK_ADDRESS=10.0.0.7:9092\nthis is not a pair\n' >"$T/disc"
	run_fll -r supernode --discovery "$T/disc" argv
	is_status 1
	has "is not ATTRIBUTE=VALUE"
}

@test "reads the configuration from a one_env with -c; the environment overrides it" {
	write_one_env "$T/one_env" FL_SUPERLINK_ADDRESS=10.0.0.8:9092 FL_MAX_RETRIES=7
	run --separate-stderr flx -c "$T/one_env" -r supernode argv
	is_status 0
	assert_line 10.0.0.8:9092
	[ "$(grep -x -A1 -e --max-retries <<<"$output" | tail -n 1)" = 7 ]
	run --separate-stderr flx FL_MAX_RETRIES=3 -c "$T/one_env" -r supernode argv
	is_status 0
	[ "$(grep -x -A1 -e --max-retries <<<"$output" | tail -n 1)" = 3 ]
}

@test "no context file and no -E: exit 1 with the --context hint" {
	run --separate-stderr flx FLKIT_CONTEXT="$T/missing" -r superlink argv
	is_status 1
	has "$T/missing"
	has "pass --context FILE"
}

# ---------------------------------------------------------------------------------------------
# The GPU: fl-gpucheck's verdict (fl_gpu_detect in-process) on fixture trees and the NVML stub

# gpu_fll ROOT [NAME=value]... ARGS...: a SuperNode with FL_GPU_ENABLED=YES on the machine tree
# ROOT (a fixture name or a directory), NVML the stub.
gpu_fll() {
	local root=$1
	shift
	[[ $root == /* ]] || root=$GPUFIX/$root
	run_fll "LD_LIBRARY_PATH=$NVML_LIB" "$SN_STATIC" FL_GPU_ENABLED=YES "$@" -r supernode --gpu-root "$root" \
		"${GPU_VERB[@]}"
}

# event NAME: the one stderr line that is the spec's NAME event (gpu_detected, gpu_unavailable),
# printed as JSON on stdout of this function.
event() {
	local line n=0 found=''
	for line in "${stderr_lines[@]}"; do
		if [[ $line == '{'* ]] && [ "$(jq -r .event <<<"$line" 2>/dev/null)" = "$1" ]; then
			found=$line
			n=$((n + 1))
		fi
	done
	[ "$n" -eq 1 ] || {
		echo "want one $1 line on stderr, found $n: $stderr" >&2
		return 1
	}
	printf '%s\n' "$found"
}

@test "design 04 §8.2 test 1: FL_GPU_ENABLED=NO on an H100 machine: no --gpus, and no detection" {
	GPU_VERB=(install)
	gpu_fll h100 FL_GPU_ENABLED=NO FLKIT_NVML_STUB=/nonexistent
	is_status 0
	run -1 grep -e '--gpus' "$UD/flower-supernode.service"
	refute_stderr_contains "nvml_stub"
	refute_stderr_contains "GPU available"
	# The same machine with the GPU on: NVML is asked (the stub says its knob file is missing).
	gpu_fll h100 FLKIT_NVML_STUB=/nonexistent
	has "nvml_stub: cannot open FLKIT_NVML_STUB=/nonexistent"
}

@test "design 04 §8.2 test 4: GPU enabled, no GPU on the machine: no --gpus, a WARNING on stderr" {
	GPU_VERB=(argv)
	gpu_fll none
	is_status 0
	refute_line -- --gpus
	refute_line -- --device
	has "[WARN] [fl-launch] FL_GPU_ENABLED=YES but no usable GPU was detected (no NVIDIA GPU"
	has "starting on CPU without --gpus (the ClientApp must fall back to CPU)"
}

@test "gpu: an H100 with the nvidia runtime gets --gpus all and the memory variables (auto is the default)" {
	GPU_VERB=(argv)
	gpu_fll h100 FL_CUDA_VISIBLE_DEVICES=1
	is_status 0
	[ "$(grep -A1 -x -e --gpus <<<"$output" | tail -n 1)" = all ]
	assert_line CUDA_VISIBLE_DEVICES=1
	refute_stderr_contains "starting on CPU"
	GPU_VERB=(env)
	gpu_fll h100 ML_FRAMEWORK=tensorflow
	assert_line FL_GPU_MEMORY_FRACTION=0.8
	assert_line TF_FORCE_GPU_ALLOW_GROWTH=true
}

@test "gpu: a broken GPU (driver/library mismatch) starts on CPU: the cause and fix in the WARNING, gpu_unavailable at start" {
	mkdir -p "$FD"
	echo 1.25.0 >"$FD/PREBAKED_VERSION"
	GPU_VERB=(start)
	gpu_fll h100 "FLKIT_NVML_STUB=$NVML_MISMATCH" ML_FRAMEWORK=tensorflow
	is_status 0
	has "FL_GPU_ENABLED=YES but the GPU is not usable: Failed to initialize NVML: Driver/library version mismatch"
	has "starting on CPU without --gpus; fix: reboot to load the upgraded kernel module"
	run -1 grep -e '--gpus' -e 'FL_GPU_MEMORY_FRACTION' -e TF_FORCE "$UD/flower-supernode.service" "$FD/config/supernode.env"
	run -0 event gpu_unavailable
	[ "$(jq -r '.level, .role, .data.fallback_device, .data.reason' <<<"$output" | paste -sd' ')" = \
		"WARNING supernode cpu mismatch" ]
	# The decision recorded beside the state file, for publish-ready.
	[ "$(stat -c %a "$FD/config/flower-supernode.gpu")" = 600 ]
	run -0 cat "$FD/config/flower-supernode.gpu"
	assert_output $'FL_GPU_AVAILABLE=NO\nFL_GPU_REASON=mismatch'
}

@test "gpu: a usable GPU at start: gpu_detected with its name, memory and driver, and the record" {
	mkdir -p "$FD"
	echo 1.25.0 >"$FD/PREBAKED_VERSION"
	GPU_VERB=(start)
	gpu_fll h100
	is_status 0
	grep -q -e '--gpus all' "$UD/flower-supernode.service"
	run -0 event gpu_detected
	[ "$(jq -r '.level, .data.gpu_name, .data.gpu_memory_mb, .data.driver_version' <<<"$output" | paste -sd'|')" = \
		"INFO|NVIDIA H100 80GB HBM3|81559|550.54.15" ]
	run -0 cat "$FD/config/flower-supernode.gpu"
	assert_output $'FL_GPU_AVAILABLE=YES\nFL_GPU_REASON=usable\nFL_GPU_NAME=NVIDIA H100 80GB HBM3\nFL_GPU_MEMORY_MB=81559\nFL_GPU_DRIVER=550.54.15'
}

@test "gpu: a usable GPU no container can reach (no toolkit for Docker) starts on CPU with the nvidia-ctk fix" {
	GPU_VERB=(argv)
	gpu_fll "$GPU_NOCTK"
	is_status 0
	refute_line -- --gpus
	refute_line -- --device
	has "FL_GPU_ENABLED=YES but the NVIDIA Container Toolkit is not configured for Docker"
	has "fix: nvidia-ctk runtime configure --runtime=docker && systemctl restart docker"
	# The process runtime needs no container toolkit: the same machine trains on the GPU.
	GPU_VERB=(--runtime process --supervisor systemd --flower-bin "$FLOWER_STUB/bin" env)
	gpu_fll "$GPU_NOCTK"
	is_status 0
	assert_line FL_GPU_MEMORY_FRACTION=0.8
	refute_stderr_contains "starting on CPU"
}

@test "gpu: process runtime: the GPU variables reach Flower's environment only with a usable GPU" {
	GPU_VERB=(--runtime process --supervisor systemd --flower-bin "$FLOWER_STUB/bin" env)
	gpu_fll h100 FL_CUDA_VISIBLE_DEVICES=0
	is_status 0
	assert_line FL_GPU_MEMORY_FRACTION=0.8
	assert_line CUDA_VISIBLE_DEVICES=0
	gpu_fll nouveau FL_CUDA_VISIBLE_DEVICES=0
	is_status 0
	refute_line --partial FL_GPU_MEMORY_FRACTION
	refute_line --partial CUDA_VISIBLE_DEVICES
	has "FL_GPU_ENABLED=YES but the GPU is not usable:"
	has "starting on CPU without the GPU variables; fix:"
}

@test "gpu: --gpu yes trusts the operator (--gpus all without NVML); --gpu no is CPU on a healthy H100" {
	GPU_VERB=(--gpu yes argv)
	gpu_fll none FLKIT_NVML_STUB=/nonexistent
	is_status 0
	[ "$(grep -A1 -x -e --gpus <<<"$output" | tail -n 1)" = all ]
	refute_stderr_contains "nvml_stub"
	GPU_VERB=(--gpu yes argv)
	gpu_fll "$GPU_CDI"
	assert_line nvidia.com/gpu=all
	GPU_VERB=(--gpu no argv)
	gpu_fll h100
	is_status 0
	refute_line -- --gpus
	has "FL_GPU_ENABLED=YES but --gpu no: starting on CPU without --gpus"
}

@test "gpu: status, health, stop and logs never detect (no NVML)" {
	local v
	for v in status health stop logs show; do
		GPU_VERB=("$v")
		gpu_fll h100 FLKIT_NVML_STUB=/nonexistent
		refute_stderr_contains "nvml_stub"
	done
}

@test "gpu: --gpu maybe and a relative --gpu-root are usage errors" {
	run_fll "$SN_STATIC" -r supernode --gpu maybe argv
	is_status 2
	has "--gpu 'maybe': auto, yes or no"
	run_fll "$SN_STATIC" -r supernode --gpu-root fixtures/h100 argv
	is_status 2
	has "--gpu-root: an absolute directory"
}

# ---------------------------------------------------------------------------------------------
# The DCGM exporter (design 04 §3.4)

@test "dcgm: a usable GPU: the image pulled, the unit written, reloaded, enabled and started after Flower" {
	mkdir -p "$FD"
	echo 1.25.0 >"$FD/PREBAKED_VERSION"
	GPU_VERB=(start)
	gpu_fll h100 FL_DCGM_ENABLED=YES
	is_status 0
	has_call docker "pull nvcr.io/nvidia/k8s/dcgm-exporter:4.5.1-4.8.0-distroless"
	has_log INFO "DCGM Exporter started on port 9400"
	[ "$(stat -c %a "$UD/dcgm-exporter.service")" = 644 ]
	fll "LD_LIBRARY_PATH=$NVML_LIB" "$SN_STATIC" FL_GPU_ENABLED=YES FL_DCGM_ENABLED=YES -r supernode \
		--gpu-root "$GPUFIX/h100" dcgm-unit 2>/dev/null | diff "$UD/dcgm-exporter.service" -
	[ "$(calls systemctl)" = $'daemon-reload\nenable flower-supernode.service\nstart flower-supernode.service\ndaemon-reload\nenable --now dcgm-exporter.service' ]
	# A second start: the image is there, the unit unchanged: no pull, no reload, no restart.
	: >"$S/systemctl.log"
	: >"$S/docker.log"
	gpu_fll h100 FL_DCGM_ENABLED=YES
	is_status 0
	no_call docker '^pull '
	[ "$(calls systemctl)" = 'enable --now dcgm-exporter.service' ]
}

@test "design 04 §8.2 test 18: the DCGM image pull fails: a WARNING, exit 0, Flower started, no unit" {
	mkdir -p "$FD"
	echo 1.25.0 >"$FD/PREBAKED_VERSION"
	touch "$S/pull.fail"
	GPU_VERB=(start)
	gpu_fll h100 FL_DCGM_ENABLED=YES
	is_status 0
	has_log WARN "DCGM Exporter image pull failed. GPU metrics unavailable."
	has_log INFO "started flower-supernode"
	[ ! -e "$UD/dcgm-exporter.service" ]
	no_call systemctl 'dcgm'
}

@test "design 04 §8.2 test 17: DCGM on, GPU off: no docker call for it, the spec's lines" {
	mkdir -p "$FD"
	echo 1.25.0 >"$FD/PREBAKED_VERSION"
	GPU_VERB=(start)
	gpu_fll h100 FL_GPU_ENABLED=NO FL_DCGM_ENABLED=YES
	is_status 0
	has "FL_DCGM_ENABLED=YES but FL_GPU_ENABLED is not YES. DCGM will not start."
	has_log INFO "FL_GPU_ENABLED is not YES, DCGM Exporter not applicable"
	no_call docker 'dcgm'
	no_call systemctl 'dcgm'
	# No GPU on the machine: the spec's WARNING; DCGM off: its INFO.
	gpu_fll none FL_DCGM_ENABLED=YES
	has_log WARN "GPU not available, DCGM Exporter will not start"
	gpu_fll h100
	has_log INFO "FL_DCGM_ENABLED is not YES, skipping DCGM Exporter"
	no_call docker 'dcgm'
	GPU_VERB=(dcgm-unit)
	gpu_fll none FL_DCGM_ENABLED=YES
	is_status 1
	has "this plan runs no DCGM Exporter"
}

@test "dcgm: process runtime: no exporter, the INFO says why" {
	GPU_VERB=(--runtime process --supervisor systemd --flower-bin "$FLOWER_STUB/bin" install)
	gpu_fll h100 FL_DCGM_ENABLED=YES
	is_status 0
	has "DCGM Exporter runs as a container: not with --runtime process"
	[ ! -e "$UD/dcgm-exporter.service" ]
}

@test "dcgm: turned off on a later start: stopped, disabled, removed; Flower is not restarted" {
	mkdir -p "$FD"
	echo 1.25.0 >"$FD/PREBAKED_VERSION"
	GPU_VERB=(start)
	gpu_fll h100 FL_DCGM_ENABLED=YES
	is_status 0
	: >"$S/systemctl.log"
	gpu_fll h100 FL_DCGM_ENABLED=NO
	is_status 0
	has_log INFO "flower-supernode already runs this configuration: left alone (not restarted)"
	[ ! -e "$UD/dcgm-exporter.service" ]
	[ "$(calls systemctl)" = $'stop dcgm-exporter.service\ndisable dcgm-exporter.service\ndaemon-reload' ]
}

@test "dcgm: status says the GPU decision the start recorded and whether the exporter runs (no detection)" {
	mkdir -p "$FD"
	echo 1.25.0 >"$FD/PREBAKED_VERSION"
	GPU_VERB=(start)
	gpu_fll h100 FL_DCGM_ENABLED=YES
	GPU_VERB=(status)
	gpu_fll h100 FL_DCGM_ENABLED=YES FLKIT_NVML_STUB=/nonexistent
	is_status 0
	assert_line GPU_AVAILABLE=YES
	assert_line GPU_REASON=usable
	assert_line DCGM=dcgm-exporter
	assert_line DCGM_RUNNING=yes
	refute_stderr_contains nvml_stub
}

@test "dcgm: stop stops the exporter with the SuperNode" {
	mkdir -p "$FD"
	echo 1.25.0 >"$FD/PREBAKED_VERSION"
	GPU_VERB=(start)
	gpu_fll h100 FL_DCGM_ENABLED=YES
	: >"$S/systemctl.log"
	GPU_VERB=(stop)
	gpu_fll h100 FL_DCGM_ENABLED=YES
	is_status 0
	[ "$(calls systemctl)" = $'stop dcgm-exporter.service\nstop flower-supernode.service' ]
}

@test "design 04 §8.2 tests 5, 7, 9: CUDA 0,a, keepalive 60/60, 0 and abc are exit 1" {
	local kv
	for kv in FL_CUDA_VISIBLE_DEVICES=0,a "FL_GRPC_KEEPALIVE_TIMEOUT=60" FL_GRPC_KEEPALIVE_TIME=0 FL_GRPC_KEEPALIVE_TIME=abc; do
		run_fll "$SN_STATIC" FL_GPU_ENABLED=YES "$kv" -r supernode --gpu yes --gpu-root "$GPUFIX/h100" argv
		is_status 1
		assert_output ''
		has "1 configuration error(s). Aborting boot."
	done
	run_fll "$SN_STATIC" FL_GRPC_KEEPALIVE_TIME=60 FL_GRPC_KEEPALIVE_TIMEOUT=60 -r supernode argv
	has "must be less than"
}

@test "design 04 §8.2 test 8: keepalive 5/2 is warned (GOAWAY) and exit 0, in ms in the env file" {
	run_fll "$SN_STATIC" FL_GRPC_KEEPALIVE_TIME=5 FL_GRPC_KEEPALIVE_TIMEOUT=2 -r supernode env
	is_status 0
	assert_line FLOWER_GRPC_KEEPALIVE_TIME_MS=5000
	assert_line FLOWER_GRPC_KEEPALIVE_TIMEOUT_MS=2000
	has "FL_GRPC_KEEPALIVE_TIME=5 is below 30 s"
}

# Keepalive reaches Flower 1.25-1.39 through flkit's Python hook (share/python) on PYTHONPATH;
# from 1.40 the Fleet API is HTTP and there is nothing for it to do (design 04 §2.5).
KA_HTTP='FL_GRPC_KEEPALIVE_TIME=60 has no effect with Flower 1.41.0: from 1.40 the SuperNode reaches the Fleet API over HTTP, not gRPC, and opens a new connection after 5 s idle, so no idle connection is left for a firewall to time out'

@test "keepalive: Flower 1.25 under docker: the hook mounted read-only at /opt/flkit/python, PYTHONPATH names it" {
	[ -e "$PYHOOK/sitecustomize.py" ] && [ -e "$PYHOOK/flkit_grpc_keepalive.py" ]
	local role
	for role in superlink supernode; do
		run_fll "$SN_STATIC" -r $role argv
		is_status 0
		assert_line "$PYHOOK:/opt/flkit/python:ro"
		run_fll "$SN_STATIC" -r $role env
		assert_line PYTHONPATH=/opt/flkit/python
	done
}

@test "keepalive: process runtime, Flower 1.25: PYTHONPATH names the hook, and Python started so has gRPC keepalive" {
	run_fll "$SN_STATIC" FL_GRPC_KEEPALIVE_TIME=45 -r supernode --runtime process --supervisor none \
		--flower-bin "$FLOWER_STUB/bin" --flower-version 1.25.0 env
	is_status 0
	assert_line "PYTHONPATH=$PYHOOK"
	local py=$FLKIT_SRC/.venv-flwr-1.25/bin/python
	[ -x "$py" ] || skip "no $py (scripts/bootstrap makes it)"
	# The env file's environment, as the process runtime gives it to Flower.
	local -a envs
	mapfile -t envs < <(grep -E '^(PYTHONPATH|FLOWER_GRPC_KEEPALIVE_[A-Z_]+)=' <<<"$output")
	run env -i "${envs[@]}" "$py" -c 'import grpc; print(grpc.insecure_channel.flkit_keepalive, grpc.server.flkit_keepalive)'
	assert_output 'True True'
}

@test "keepalive: Flower 1.40+: set, a warning that it has no effect; defaults, a note; no hook either way" {
	run_fll "$SN_STATIC" FLOWER_VERSION=1.41.0 FL_GRPC_KEEPALIVE_TIME=60 -r supernode install
	is_status 0
	has_log WARN "$KA_HTTP"
	# Validation and the plan say it once together.
	[ "$(grep -c 'has no effect with Flower' <<<"$stderr")" -eq 1 ]
	run_fll "$SN_STATIC" FLOWER_VERSION=1.41.0 -r supernode install
	is_status 0
	has_log INFO "gRPC keepalive: not applied, Flower 1.41.0 reaches the Fleet API over HTTP"
	refute_stderr_contains "no effect"
	refute_stderr_contains "gRPC keepalive: time="
	local role
	for role in superlink supernode; do
		run_fll "$SN_STATIC" FLOWER_VERSION=1.41.0 -r $role argv
		refute_output --partial /opt/flkit/python
		run_fll "$SN_STATIC" FLOWER_VERSION=1.41.0 -r $role env
		refute_output --partial PYTHONPATH
		assert_line FLOWER_GRPC_KEEPALIVE_TIME_MS=60000
	done
}

@test "keepalive: fl-launch without flkit's share/ beside it warns that keepalive does not reach Flower" {
	[ "$(head -c 2 "$FLKIT_BIN/fl-launch")" != '#!' ] || skip "FLKIT_BIN holds wrapper scripts"
	mkdir -p "$T/lone/bin"
	cp "$FLKIT_BIN/fl-launch" "$T/lone/bin/"
	run --separate-stderr env -i PATH="$PATH" "$SN_STATIC" "$T/lone/bin/fl-launch" -E -r supernode env
	is_status 0
	refute_output --partial PYTHONPATH
	has "flkit's Python hook (share/python/sitecustomize.py, installed as SHAREDIR/python beside fl-launch's BINDIR) was not found: Flower 1.25.0 keeps its own gRPC keepalive"
}

# The hook runs inside Flower, ahead of Python's own library: a hook directory another user could
# change (a file, __pycache__ or a directory above it writable by group or others, owned by
# someone else, a link or a FIFO where a file belongs) is refused with the reason, never used.
@test "keepalive: a hook directory another user could change is not used, and the warning says why" {
	[ "$(head -c 2 "$FLKIT_BIN/fl-launch")" != '#!' ] || skip "FLKIT_BIN holds wrapper scripts"
	local inst=$T/inst hook=$T/inst/share/flkit/python
	mkdir -p "$inst/bin" "$hook"
	chmod 755 "$T" "$inst" "$inst/share" "$inst/share/flkit" "$hook"
	cp "$FLKIT_BIN/fl-launch" "$inst/bin/"
	cp "$PYHOOK/sitecustomize.py" "$PYHOOK/flkit_grpc_keepalive.py" "$hook/"
	chmod 644 "$hook"/*.py
	fll_inst() {
		run --separate-stderr env -i PATH="$PATH" "$SN_STATIC" "$inst/bin/fl-launch" -E -r supernode \
			--runtime process --supervisor none --flower-bin "$FLOWER_STUB/bin" --flower-version 1.25.0 env
		is_status 0
	}
	refused() {
		fll_inst
		refute_output --partial PYTHONPATH
		has "flkit's Python hook is not used (Python would run it inside Flower, and $1): Flower 1.25.0 keeps its own gRPC keepalive"
	}
	fll_inst
	assert_line "PYTHONPATH=$hook"

	chmod g+w "$hook/flkit_grpc_keepalive.py"
	refused "$hook/flkit_grpc_keepalive.py is writable by group or others"
	chmod g-w "$hook/flkit_grpc_keepalive.py"
	chmod o+w "$inst/share"
	refused "$inst/share is writable by group or others"
	chmod o-w "$inst/share"
	ln -s /etc/hostname "$hook/json.py"
	refused "$hook/json.py is not a regular file"
	rm "$hook/json.py"
	mkfifo "$hook/grpc.py"
	refused "$hook/grpc.py is not a regular file"
	rm "$hook/grpc.py"
	mkdir -m 777 "$hook/__pycache__"
	refused "$hook/__pycache__ is writable by group or others"
	chmod 755 "$hook/__pycache__"
	fll_inst
	assert_line "PYTHONPATH=$hook"
	# Another owner: only root can make one.
	if [ "$(id -u)" = 0 ]; then
		touch "$hook/__pycache__/sitecustomize.cpython-311.pyc"
		chown 4242 "$hook/__pycache__/sitecustomize.cpython-311.pyc"
		refused "$hook/__pycache__/sitecustomize.cpython-311.pyc is owned by UID 4242, neither root nor fl-launch's user"
	fi
}

@test "Flower older than 1.25.0 is refused with exit 1" {
	run_fll FLOWER_VERSION=1.24.0 -r superlink argv
	is_status 1
	has "Flower 1.24.0 is older than 1.25.0"
}

@test "usage errors are exit 2 with the synopsis" {
	local -a cases=(
		""
		"frobnicate"
		"-E -r superlink --runtime podman argv"
		"-E -r superlink --supervisor none argv"
		"-E -r superlink --supervisor sometimes argv"
		"-E -r superlink --owner abc argv"
		"-E -r superlink --owner 1:2:3 argv"
		"-E -r superlink --flower-dir opt/flower argv"
		"-E -r superlink --unit-dir etc/systemd argv"
		"-E -r superlink --docker docker argv"
		"-E -r supernode --gpu maybe argv"
		"-E -r superlink --image flwr/superlink:1.25.0 argv"
		"-E -r superlink --image flwr/superlink@sha256:00 argv"
		"-E -r superlink --health-port 70000 argv"
		"-E -r superlink --appio-port 0 argv"
		"-E -r superlink --timeout 0 wait-healthy"
		"-E -r superlink --interval x wait-healthy"
		"-E -r superlink -n 0 logs"
		"-E -r superlink --addr not-an-ip show"
		"-E -r superlink --flower-version 1.25 argv"
		"-E -r hub argv"
		"-E -r superlink publish-error"
		"-E -r superlink publish-error Bad-Reason"
		"-E -r superlink publish-error a b"
		"-E -r superlink argv extra"
		"-E -r superlink logs --role hub"
		"--no-such-option argv"
	)
	local c
	for c in "${cases[@]}"; do
		# shellcheck disable=SC2086 # word splitting of the case is intended
		run --separate-stderr flx FL_SUPERLINK_ADDRESS=10.0.0.7:9092 $c
		if [ "$status" -ne 2 ] || [[ $stderr != *"usage: fl-launch"* ]]; then
			echo "fl-launch $c: status $status, stderr: $stderr" >&2
			return 1
		fi
		assert_output ''
	done
}

@test "options go before the verb: one after it is a usage error (exit 2)" {
	run --separate-stderr flx FL_SUPERLINK_ADDRESS=10.0.0.7:9092 argv -E --role supernode --gpu no
	is_status 2
	has "options go before the verb: '-E' follows it"
	run --separate-stderr flx FL_SUPERLINK_ADDRESS=10.0.0.7:9092 -E --role supernode --gpu no argv
	is_status 0
	assert_line --index 0 /usr/bin/docker
	assert_line 10.0.0.7:9092
}

@test "usage: --timeout, --interval and -n take whole numbers, said in the form every tool uses" {
	local -a cases=(
		"--timeout 0 wait-healthy|--timeout '0' is not a number of seconds; give a whole number from 1 to 2147483647"
		"--interval 1.5 wait-docker|--interval '1.5' is not a number of seconds; give a whole number from 1 to 2147483647"
		"--timeout 2147483648 wait-healthy|--timeout '2147483648' is not a number of seconds; give a whole number from 1 to 2147483647"
		"-n 0 logs|--lines '0' is not a number of lines; give a whole number from 1 to 10000"
		"logs --lines 10001|--lines '10001' is not a number of lines; give a whole number from 1 to 10000"
	)
	local c
	for c in "${cases[@]}"; do
		# shellcheck disable=SC2086 # word splitting of the case is intended
		run --separate-stderr flx FL_SUPERLINK_ADDRESS=10.0.0.7:9092 -E -r superlink ${c%%|*}
		is_status 2
		has "fl-launch: ${c#*|}"
		has "usage: fl-launch [options] start | stop | restart | status | show"
		assert_output ''
	done
}

@test "usage: a negative or oversized --owner is refused (exit 2)" {
	# -1 would mean "leave the owner alone" to chown; 2^32 would wrap to root.
	local o
	for o in -1:-1 4294967296:0; do
		run --separate-stderr flx -E -r superlink --owner "$o" argv
		is_status 2
	done
}

@test "usage: --format does not apply to fl-launch (exit 2, the common front end says why)" {
	run --separate-stderr flx FL_SUPERLINK_ADDRESS=10.0.0.7:9092 -E -r supernode --format json status
	is_status 2
	has "fl-launch: --format does not apply to fl-launch: its reports are KEY=VALUE lines and its other output the files themselves"
	has "usage: fl-launch [options] start | stop | restart | status | show"
	assert_output ''
}

@test "usage: --context and --env-only exclude each other (exit 2)" {
	write_one_env "$T/one_env" FL_SUPERLINK_ADDRESS=10.0.0.8:9092
	run --separate-stderr flx -c "$T/one_env" -E -r supernode argv
	is_status 2
	has "fl-launch: --context and --env-only exclude each other"
	assert_output ''
}

@test "--no-env: the context file alone, the environment ignored" {
	write_one_env "$T/one_env" FL_SUPERLINK_ADDRESS=10.0.0.8:9092
	run --separate-stderr flx FL_SUPERLINK_ADDRESS=10.0.0.9:9092 -c "$T/one_env" -r supernode \
		--flower-dir "$FD" argv
	is_status 0
	assert_line 10.0.0.9:9092
	run --separate-stderr flx FL_SUPERLINK_ADDRESS=10.0.0.9:9092 -c "$T/one_env" --no-env -r supernode \
		--flower-dir "$FD" argv
	is_status 0
	assert_line 10.0.0.8:9092
	refute_line 10.0.0.9:9092
}

@test "--help exits 0 and lists every verb and option" {
	run --separate-stderr "$FLKIT_BIN/fl-launch" --help
	is_status 0
	local v
	for v in start stop restart status show argv env unit install health wait-healthy publish-ready \
		publish-error logs wait-docker image; do
		# In the synopsis, and described in the verbs section ("  stop, restart  ...").
		grep -Eq "^ *(usage: )?fl-launch \[options\] (.* )?$v( |$)" <<<"$output" || fail "synopsis lacks $v"
		grep -Eq "^  ([a-z-]+, )*$v(,| )" <<<"$output" || fail "verbs section lacks $v"
	done
	for v in --context --env-only --no-env --role --runtime --supervisor --flower-dir --unit-dir --docker --image \
		--flower-version --flower-bin --addr --discovery --gpu --appio-port --health-port --owner --prebaked \
		--timeout --interval --one-env --token-file --best-effort --no-publish --lines --quiet --verbose; do
		assert_output --partial -- "$v"
	done
	assert_output --partial "exit status: 0 ok; 1 failure"
	# The options are listed once, from the option table, each with what it does.
	[ "$(grep -c '^options:$' <<<"$output")" -eq 1 ]
	[ "$(grep -c -e '--owner UID:GID' <<<"$output")" -eq 1 ]
	assert_line --regexp '^      --timeout S +wait-healthy, wait-docker: the limit in seconds$'
}

@test "-V prints the version" {
	run --separate-stderr "$FLKIT_BIN/fl-launch" -V
	is_status 0
	assert_output --regexp '^fl-launch [0-9]+\.[0-9]+\.[0-9]+$'
	run --separate-stderr "$FLKIT_BIN/fl-launch" --version
	assert_output --regexp '^fl-launch [0-9]+\.[0-9]+\.[0-9]+$'
}

# ---------------------------------------------------------------------------------------------
# Health (docker runtime)

@test "health: a SuperNode whose container is not running is exit 1 'not running'" {
	echo false >"$S/running"
	run_fll "$SN_STATIC" -r supernode health
	is_status 1
	has "flower-supernode is not running"
	rm "$S/running"
	run_fll "$SN_STATIC" -r supernode health
	is_status 1
	has "flower-supernode is not running"
}

@test "health: a running SuperNode registered since its last start is exit 0" {
	echo true >"$S/running"
	printf 'INFO :      Starting Flower SuperNode\nINFO :      SuperNode ID: 123\n' >"$S/logs"
	run_fll "$SN_STATIC" -r supernode health
	is_status 0
	has_log INFO "flower-supernode healthy"
	has_call docker "inspect --format {{.State.Running}} flower-supernode"
	has_call docker "logs --tail 5000 flower-supernode"
}

@test "health: an ID from before the last 'Starting Flower SuperNode' does not count" {
	echo true >"$S/running"
	printf '%s\n' 'INFO :      Starting Flower SuperNode' 'INFO :      SuperNode ID: 123' \
		'INFO :      Disconnected' 'INFO :      Starting Flower SuperNode' 'INFO :      Connecting...' >"$S/logs"
	run_fll "$SN_STATIC" -r supernode health
	is_status 1
	has "flower-supernode runs but has not registered with the SuperLink at 10.0.0.7:9092 yet"
}

@test "wait-healthy: a SuperNode that never registers is exit 4 with its last log lines" {
	echo true >"$S/running"
	printf '%s\n' 'INFO :      Starting Flower SuperNode' 'WARNING :   Connection attempt failed, retrying in 4.12 seconds' >"$S/logs"
	run_fll "$SN_STATIC" -r supernode --timeout 2 --interval 1 wait-healthy
	is_status 4
	has "SuperNode health check timed out after 2s"
	has "Connection attempt failed, retrying in 4.12 seconds"
	has "has not registered with the SuperLink at 10.0.0.7:9092 yet"
	[ "$(calls docker | grep -c '^inspect ')" -ge 2 ]
}

@test "wait-healthy: a SuperNode that registers on the second check is exit 0" {
	echo true >"$S/running"
	printf 'INFO :      Starting Flower SuperNode\n' >"$S/logs"
	# The registration shows in the output the second `docker logs` reads, not before.
	echo 'INFO :      SuperNode ID: 77' >"$S/logs.2"
	run_fll "$SN_STATIC" -v -r supernode --timeout 60 --interval 1 wait-healthy
	is_status 0
	has "flower-supernode healthy after"
	has "(check 2)"
	has "check 1: flower-supernode runs but has not registered with the SuperLink at 10.0.0.7:9092 yet"
	[ "$(calls docker | grep -c '^logs ')" -eq 2 ]
}

@test "logs: the docker logs of the service, the last -n lines" {
	printf 'one\ntwo\n\033[92mthree\033[0m\n' >"$S/logs"
	run_fll "$SN_STATIC" -r supernode logs -n 2
	is_status 0
	assert_output $'two\nthree'
}

# ---------------------------------------------------------------------------------------------
# Process runtime without a supervisor (stub flower-supernode / flower-superlink)

# sn_proc ARGS...: fl-launch for a native SuperNode of the stub install, no supervisor.
sn_proc() {
	run_fll "$SN_STATIC" ${SN_ENV:+"$SN_ENV"} -r supernode --runtime process --supervisor none \
		--flower-bin "$FLOWER_STUB/bin" "$@"
}

# wait_for FILE: until FILE exists and is not empty (30 s at most: a guard, not a bound).
wait_for() {
	local i
	for ((i = 0; i < 600; i++)); do
		[ -s "$1" ] && return 0
		sleep 0.05
	done
	echo "$1 did not appear" >&2
	return 1
}

# gone PID: the process does not exist any more, or is a zombie nobody reaped yet.
gone() {
	local st
	st=$(ps -o stat= -p "$1" 2>/dev/null) || return 0
	[[ $st == Z* ]]
}

@test "process: start writes run/<name>.pid and status says RUNNING=yes" {
	sn_proc start
	is_status 0
	has "flower-supernode: pid "
	[ -f "$FD/run/flower-supernode.pid" ]
	local pid st
	read -r pid st <"$FD/run/flower-supernode.pid"
	[[ $pid =~ ^[0-9]+$ && $st =~ ^[0-9]+$ ]]
	kill -0 "$pid"
	# Its own session and process group: one signal reaches its children.
	[ "$(ps -o pgid= -p "$pid" | tr -d ' ')" = "$pid" ]
	[ "$(ps -o sid= -p "$pid" | tr -d ' ')" = "$pid" ]
	sn_proc status
	is_status 0
	assert_line RUNNING=yes
	assert_line "PID=$pid"
	assert_line RUNTIME=process
	assert_line SUPERVISOR=none
	assert_line "LOG=$FD/logs/flower-supernode.log"
	no_call systemctl '.'
}

@test "process: the env file's variables reach the process, run in the flower directory" {
	SN_ENV=FL_LOG_LEVEL=DEBUG sn_proc start
	is_status 0
	local pid
	read -r pid _ <"$FD/run/flower-supernode.pid"
	tr '\0' '\n' <"/proc/$pid/environ" >"$T/environ"
	grep -qx FLWR_LOG_LEVEL=DEBUG "$T/environ"
	grep -qx "FLWR_HOME=$FD/flwr-supernode" "$T/environ"
	grep -q "^PATH=$FLOWER_STUB/bin:" "$T/environ"
	[ "$(readlink "/proc/$pid/cwd")" = "$FD" ]
}

@test "process: a second start with the same configuration is left alone" {
	sn_proc start
	local pid1 pid2
	read -r pid1 _ <"$FD/run/flower-supernode.pid"
	sn_proc start
	is_status 0
	has_log INFO "flower-supernode already runs this configuration: left alone (not restarted)"
	read -r pid2 _ <"$FD/run/flower-supernode.pid"
	[ "$pid1" = "$pid2" ]
	kill -0 "$pid1"
}

@test "process: a changed configuration stops the old group and starts a new one" {
	sn_proc start
	local pid1 child1 pid2
	read -r pid1 _ <"$FD/run/flower-supernode.pid"
	wait_for "$FD/child.pid"
	child1=$(<"$FD/child.pid")
	rm "$FD/child.pid"
	SN_ENV=FL_MAX_RETRIES=4 sn_proc start
	is_status 0
	has "configuration changed (added --max-retries 4): restarted flower-supernode"
	read -r pid2 _ <"$FD/run/flower-supernode.pid"
	[ "$pid1" != "$pid2" ]
	gone "$pid1"
	gone "$child1"
	kill -0 "$pid2"
	# The previous run's output is kept as .1.
	[ -f "$FD/logs/flower-supernode.log.1" ]
}

@test "process: stop kills the process group, its child too; status then says RUNNING=no" {
	sn_proc start
	local pid child
	read -r pid _ <"$FD/run/flower-supernode.pid"
	wait_for "$FD/child.pid"
	child=$(<"$FD/child.pid")
	kill -0 "$child"
	sn_proc stop
	is_status 0
	has "stopped flower-supernode (pid $pid)"
	gone "$pid"
	gone "$child"
	[ ! -e "$FD/run/flower-supernode.pid" ]
	sn_proc status
	is_status 1
	assert_line RUNNING=no
	refute_line --partial PID=
}

@test "process: stop when nothing runs is exit 0" {
	sn_proc stop
	is_status 0
}

@test "process: logs -n 2 prints the last two lines, ANSI colours stripped" {
	sn_proc start
	wait_for "$FD/child.pid"
	local i
	for ((i = 0; i < 600; i++)); do
		grep -q 'args:' "$FD/logs/flower-supernode.log" && break
		sleep 0.05
	done
	sn_proc logs -n 2
	is_status 0
	assert_output $'INFO :      SuperNode ID: 42\nINFO :      args: --insecure --superlink 10.0.0.7:9092 --isolation subprocess --host 127.0.0.1 --port 9094'
	[[ $output != *$'\033'* ]]
	sn_proc -n 1 logs
	assert_output --partial 'args: --insecure'
	[ "${#lines[@]}" -eq 1 ]
}

@test "process: a pid file naming an unrelated process is not taken as running, and stop spares it" {
	mkdir -p "$FD/run"
	sleep 300 3>&- &
	local other=$!
	EXTRA_PIDS+=("$other")
	disown "$other"
	# The PID exists but its start time does not match: a recycled PID.
	echo "$other 1" >"$FD/run/flower-supernode.pid"
	sn_proc status
	is_status 1
	assert_line RUNNING=no
	sn_proc stop
	is_status 0
	kill -0 "$other"
	# A pid file with the PID alone (no start time) is not trusted either.
	echo "$other" >"$FD/run/flower-supernode.pid"
	sn_proc status
	is_status 1
	assert_line RUNNING=no
}

@test "process: a pid file naming a dead process is not taken as running; start starts anew" {
	mkdir -p "$FD/run"
	sh -c 'exit 0' &
	local dead=$!
	wait "$dead"
	echo "$dead 12345" >"$FD/run/flower-supernode.pid"
	sn_proc status
	is_status 1
	assert_line RUNNING=no
	sn_proc start
	is_status 0
	has_log INFO "started flower-supernode"
	local pid
	read -r pid _ <"$FD/run/flower-supernode.pid"
	[ "$pid" != "$dead" ]
	kill -0 "$pid"
}

@test "process: health of a registered SuperNode is exit 0" {
	sn_proc start
	wait_for "$FD/child.pid"
	sn_proc health
	is_status 0
	has_log INFO "flower-supernode healthy"
}

@test "process: wait-healthy for a SuperNode that exited is exit 1 at once, not a timeout" {
	mkdir -p "$FD"
	echo 3 >"$FD/stub.exit"
	sn_proc start
	is_status 0
	sn_proc -v --timeout 30 --interval 1 wait-healthy
	is_status 1
	has "flower-supernode is not running"
	has "stub: exiting"
	refute_stderr_contains "timed out"
	# At once: the first check is the last.
	[ "$(grep -c '\] check [0-9]*: ' <<<"$stderr")" -eq 1 ]
	has "check 1: flower-supernode is not running"
}

@test "process: wait-healthy for a SuperNode that never registers is exit 4" {
	mkdir -p "$FD"
	touch "$FD/stub.noreg"
	sn_proc start
	is_status 0
	sn_proc --timeout 2 --interval 1 wait-healthy
	is_status 4
	has "SuperNode health check timed out after 2s"
	has "Starting Flower SuperNode"
}

@test "process: the Flower version is read from the install (flwr-1.41.0.dist-info)" {
	sn_proc argv
	is_status 0
	assert_line --index 0 "$FLOWER_STUB/bin/flower-supernode"
	grep -qx -e --host <<<"$output"
	[ "$(grep -cx -e --clientappio-api-address <<<"$output")" -eq 0 ]
	sn_proc --flower-version 1.25.0 argv
	is_status 0
	grep -qx -e --clientappio-api-address <<<"$output"
}

@test "process: a --flower-bin that is not executable is exit 1" {
	run_fll "$SN_STATIC" -r supernode --runtime process --supervisor none --flower-bin "$T/nowhere/flower-supernode" argv
	is_status 1
	has "is not an executable given by an absolute path"
}

@test "process under systemd: start installs the unit and starts it; status asks systemctl" {
	run_fll "$SN_STATIC" -r supernode --runtime process --supervisor systemd --flower-bin "$FLOWER_STUB/bin" start
	is_status 0
	[ "$(calls systemctl)" = $'daemon-reload\nis-active --quiet flower-supernode.service\nenable flower-supernode.service\nstart flower-supernode.service' ]
	[ ! -e "$FD/run/flower-supernode.pid" ]
	grep -qx "User=${OWNER%%:*}" "$UD/flower-supernode.service"
	grep -qx "Group=${OWNER##*:}" "$UD/flower-supernode.service"
	grep -qxF "ExecStart=$FLOWER_STUB/bin/flower-supernode \\" "$UD/flower-supernode.service"
	[ "$(stat -c %a "$FD/flwr-supernode")" = 700 ]
	run_fll "$SN_STATIC" -r supernode --runtime process --supervisor systemd --flower-bin "$FLOWER_STUB/bin" status
	is_status 0
	assert_line RUNNING=yes
	assert_line SUPERVISOR=systemd
	has_call systemctl "is-active --quiet flower-supernode.service"
	no_call docker '.'
}

# sl_proc ARGS...: fl-launch for a native SuperLink of the stub install on Fleet port $PORT, Flower
# 1.38.0 (era B: the Fleet port is Flower's own; era C's proxy has tests of its own).
sl_proc() {
	run_fll "FL_FLEET_API_ADDRESS=0.0.0.0:$PORT" "${OG_ID[@]}" -r superlink --runtime process --supervisor none \
		--flower-bin "$FLOWER_STUB/bin" --health-port 0 --addr 10.0.0.5 --flower-version "${SL_VERSION:-1.38.0}" "$@"
}

# accepts PORT: something accepts a connection on 127.0.0.1:PORT now.
accepts() {
	python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' "$1" 2>/dev/null
}

# wait_listen PORT: until something accepts on 127.0.0.1:PORT (30 s at most: a guard, not a bound).
wait_listen() {
	local i
	for ((i = 0; i < 600; i++)); do
		accepts "$1" && return 0
		sleep 0.05
	done
	return 1
}

@test "process: a SuperLink whose Fleet port accepts is healthy (--health-port 0: TCP only)" {
	PORT=$(free_port)
	OG_ID=()
	sl_proc health
	is_status 1
	has "flower-superlink is not running"
	sl_proc start
	is_status 0
	wait_listen "$PORT"
	sl_proc health
	is_status 0
	has_log INFO "flower-superlink healthy"
	sl_proc --timeout 5 wait-healthy
	is_status 0
}

# tls_superlink CERT KEY: an `openssl s_server` on a free port ($PORT) with that certificate,
# recorded in run/flower-superlink.pid as if the process runtime had started it.
tls_superlink() {
	PORT=$(free_port)
	openssl s_server -quiet -accept "$PORT" -cert "$1" -key "$2" </dev/null >/dev/null 2>&1 3>&- &
	SRV_PID=$!
	EXTRA_PIDS+=("$SRV_PID")
	disown "$SRV_PID"
	wait_listen "$PORT" || return 1
	mkdir -p "$FD/run" "$FD/certs"
	echo "$SRV_PID $(awk '{print $22}' "/proc/$SRV_PID/stat")" >"$FD/run/flower-superlink.pid"
	cp "$OPS/ca.crt" "$FD/certs/ca.crt"
}

@test "health: a TLS SuperLink is healthy when its certificate verifies with certs/ca.crt" {
	tls_superlink "$OPS/lo.pem" "$OPS/lo.key"
	OG_ID=(FL_TLS_ENABLED=YES)
	sl_proc health
	is_status 0
	has_log INFO "flower-superlink healthy"
}

@test "wait-healthy: a SuperLink certificate the CA rejects is exit 1 at once, health_check_failed" {
	og_ctl POST reset >/dev/null
	tls_superlink "$OPS/other.pem" "$OPS/other.key"
	OG_ID=(FL_TLS_ENABLED=YES "ONEGATE_ENDPOINT=$OG_URL" VMID=100 "TOKENTXT=$T100")
	sl_proc -v --timeout 30 wait-healthy
	is_status 1
	refute_stderr_contains "timed out"
	# At once: the first check is the last.
	[ "$(grep -c '\] check [0-9]*: ' <<<"$stderr")" -eq 1 ]
	run -0 put_bodies
	assert_output "FL_READY=NO|FL_ERROR=health_check_failed type=1"
}

@test "health: a TLS SuperLink with an operator certificate for its VM address is healthy" {
	# Its chain verifies; that it names the VM address and not 127.0.0.1 is said, not fatal.
	tls_superlink "$OPS/server.pem" "$OPS/server.key"
	OG_ID=(FL_TLS_ENABLED=YES)
	sl_proc health
	is_status 0
}

@test "health: a TLS SuperNode whose SuperLink certificate the CA rejects: exit 1, says which CA" {
	tls_superlink "$OPS/other.pem" "$OPS/other.key"
	echo true >"$S/running"
	printf 'INFO :      Starting Flower SuperNode\nINFO :      SuperNode ID: 5\n' >"$S/logs"
	run_fll FL_TLS_ENABLED=YES "FL_SUPERLINK_ADDRESS=127.0.0.1:$PORT" -r supernode health
	is_status 1
	has "This SuperNode cannot connect with the CA it was given"
	# With the right certificate it is healthy.
	kill "$SRV_PID"
	tls_superlink "$OPS/lo.pem" "$OPS/lo.key"
	run_fll FL_TLS_ENABLED=YES "FL_SUPERLINK_ADDRESS=127.0.0.1:$PORT" -r supernode health
	is_status 0
}

# ---------------------------------------------------------------------------------------------
# Readiness publication (OneGate emulator)

# form_keys: the decoded data=... of the emulator's PUT /vm requests, one request a line, keys
# and values as KEY=VALUE joined by '|', then the type.
put_bodies() {
	og_requests '[.[] | select(.method=="PUT" and .path=="/vm") | .body]' | python3 -c '
import json, sys, urllib.parse
for body in json.load(sys.stdin):
    q = urllib.parse.parse_qs(body, keep_blank_values=True)
    print("|".join(q["data"][0].split("\n")) + " type=" + q["type"][0])
'
}

@test "publish-ready: a running SuperLink publishes every attribute in one PUT and erases FL_ERROR" {
	og_ctl POST reset >/dev/null
	og_ctl POST vm/100 '{"FL_ERROR":"health_check_timeout","FL_READY":"NO"}' >/dev/null
	og_ctl DELETE requests >/dev/null
	PORT=$(free_port)
	OG_ID=("ONEGATE_ENDPOINT=$OG_URL" VMID=100 "TOKENTXT=$T100")
	sl_proc start
	is_status 0
	wait_listen "$PORT"
	sl_proc publish-ready
	is_status 0
	has "Published FL_READY FL_ENDPOINT FL_VERSION FL_ROLE FL_TLS to OneGate"
	run -0 put_bodies
	assert_output "FL_READY=YES|FL_ENDPOINT=10.0.0.5:$PORT|FL_VERSION=1.38.0|FL_ROLE=superlink|FL_TLS=NO type=1
FL_ERROR type=2"
	run -0 og_ctl GET state
	[ "$(jq -r '.vms["100"].FL_READY' <<<"$output")" = YES ]
	[ "$(jq -r '.vms["100"].FL_ENDPOINT' <<<"$output")" = "10.0.0.5:$PORT" ]
	[ "$(jq -r '.vms["100"] | has("FL_ERROR")' <<<"$output")" = false ]
}

@test "publish-ready: no FL_ERROR on the VM, none is erased" {
	og_ctl POST reset >/dev/null
	PORT=$(free_port)
	OG_ID=("ONEGATE_ENDPOINT=$OG_URL" VMID=100 "TOKENTXT=$T100")
	sl_proc start
	wait_listen "$PORT"
	sl_proc publish-ready
	is_status 0
	run -0 put_bodies
	[ "${#lines[@]}" -eq 1 ]
	[[ ${lines[0]} == *" type=1" ]]
}

@test "publish-ready: a SuperLink that is not running is exit 1 and nothing is published" {
	og_ctl POST reset >/dev/null
	PORT=$(free_port)
	OG_ID=("ONEGATE_ENDPOINT=$OG_URL" VMID=100 "TOKENTXT=$T100")
	sl_proc publish-ready
	is_status 1
	has "flower-superlink is not running: not publishing readiness"
	[ "$(og_requests '[.[] | select(.method=="PUT")] | length')" = 0 ]
	[ "$(og_ctl GET state | jq -r '.vms["100"].FL_READY // "absent"')" = absent ]
}

# fake_running_superlink: a pid file naming a live process that listens nowhere: the
# SuperLink "runs" but its Fleet port does not accept.
fake_running_superlink() {
	sleep 300 3>&- &
	EXTRA_PIDS+=($!)
	disown $!
	mkdir -p "$FD/run"
	echo "$! $(awk '{print $22}' "/proc/$!/stat")" >"$FD/run/flower-superlink.pid"
}

@test "publish-ready: a SuperLink whose Fleet port does not accept is exit 1, nothing published" {
	og_ctl POST reset >/dev/null
	PORT=$(free_port)
	OG_ID=("ONEGATE_ENDPOINT=$OG_URL" VMID=100 "TOKENTXT=$T100")
	# Running (the pid file is right) but listening elsewhere: the stub takes its port from argv.
	fake_running_superlink
	sl_proc publish-ready
	is_status 1
	has "not publishing readiness"
	[ "$(og_requests '[.[] | select(.method=="PUT")] | length')" = 0 ]
}

@test "publish-ready: a TLS SuperLink also publishes FL_TLS=YES and its CA (FL_CA_CERT)" {
	og_ctl POST reset >/dev/null
	tls_superlink "$OPS/lo.pem" "$OPS/lo.key"
	OG_ID=(FL_TLS_ENABLED=YES "ONEGATE_ENDPOINT=$OG_URL" VMID=100 "TOKENTXT=$T100")
	sl_proc publish-ready
	is_status 0
	run -0 put_bodies
	assert_output "FL_READY=YES|FL_ENDPOINT=10.0.0.5:$PORT|FL_VERSION=1.38.0|FL_ROLE=superlink|FL_TLS=YES|FL_CA_CERT=$OP_CA_B64 type=1"
	[ "$(og_ctl GET state | jq -r '.vms["100"].FL_CA_CERT')" = "$OP_CA_B64" ]
}

@test "publish-error: FL_READY=NO and FL_ERROR=REASON in one PUT" {
	og_ctl POST reset >/dev/null
	run_fll "ONEGATE_ENDPOINT=$OG_URL" VMID=100 "TOKENTXT=$T100" -r superlink publish-error docker_start_failed
	is_status 0
	has "Published FL_READY FL_ERROR to OneGate"
	run -0 put_bodies
	assert_output "FL_READY=NO|FL_ERROR=docker_start_failed type=1"
	run -0 og_ctl GET state
	[ "$(jq -r '.vms["100"].FL_READY' <<<"$output")" = NO ]
	[ "$(jq -r '.vms["100"].FL_ERROR' <<<"$output")" = docker_start_failed ]
}

@test "publish-error: a SuperNode publishes FL_NODE_READY=NO" {
	og_ctl POST reset >/dev/null
	run_fll "ONEGATE_ENDPOINT=$OG_URL" VMID=101 "TOKENTXT=$T101" "$SN_STATIC" -r supernode publish-error discovery_failed
	is_status 0
	run -0 put_bodies
	assert_output "FL_NODE_READY=NO|FL_ERROR=discovery_failed type=1"
}

@test "publish-error: OneGate down is exit 3; --best-effort makes it a warning and exit 0" {
	run_fll "ONEGATE_ENDPOINT=$DOWN_URL" VMID=100 "TOKENTXT=$T100" -r superlink publish-error docker_start_failed
	is_status 3
	has "OneGate publication failed."
	run_fll "ONEGATE_ENDPOINT=$DOWN_URL" VMID=100 "TOKENTXT=$T100" -r superlink --best-effort \
		publish-error docker_start_failed
	is_status 0
	has "[WARN] [fl-launch] OneGate publication failed."
	refute_stderr_contains "[ERROR]"
}

@test "publish-ready: OneGate down with --best-effort: the spec's SuperLink warning, exit 0" {
	PORT=$(free_port)
	OG_ID=("ONEGATE_ENDPOINT=$DOWN_URL" VMID=100 "TOKENTXT=$T100")
	sl_proc start
	wait_listen "$PORT"
	sl_proc --best-effort publish-ready
	is_status 0
	has "[WARN] [fl-launch] OneGate publication failed. SuperNodes must use static FL_SUPERLINK_ADDRESS."
	sl_proc publish-ready
	is_status 3
}

@test "publish-error: a wrong token is OneGate's 401, exit 1, and the token is not shown" {
	run_fll "ONEGATE_ENDPOINT=$OG_URL" VMID=100 "TOKENTXT=$T101" -r superlink publish-error docker_start_failed
	[ "$status" -ne 0 ]
	refute_stderr_contains "$T101"
}

@test "publish-ready: a registered SuperNode publishes FL_NODE_READY=YES, FL_NODE_ID, FL_VERSION" {
	og_ctl POST reset >/dev/null
	SN_ENV=""
	sn_proc start
	wait_for "$FD/child.pid"
	run_fll "ONEGATE_ENDPOINT=$OG_URL" VMID=101 "TOKENTXT=$T101" "$SN_STATIC" -r supernode --runtime process \
		--supervisor none --flower-bin "$FLOWER_STUB/bin" publish-ready
	is_status 0
	run -0 put_bodies
	assert_output "FL_NODE_READY=YES|FL_NODE_ID=101|FL_VERSION=1.41.0|FL_GPU_AVAILABLE=NO type=1"
	[ "$(og_ctl GET state | jq -r '.vms["101"].FL_NODE_READY')" = YES ]
}

@test "publish-ready: a SuperNode erases a stale FL_ERROR of an earlier boot too" {
	og_ctl POST reset >/dev/null
	og_ctl POST vm/101 '{"FL_ERROR":"discovery_timeout","FL_NODE_READY":"NO"}' >/dev/null
	og_ctl DELETE requests >/dev/null
	SN_ENV=""
	sn_proc start
	wait_for "$FD/child.pid"
	run_fll "ONEGATE_ENDPOINT=$OG_URL" VMID=101 "TOKENTXT=$T101" "$SN_STATIC" -r supernode --runtime process \
		--supervisor none --flower-bin "$FLOWER_STUB/bin" publish-ready
	is_status 0
	run -0 put_bodies
	assert_output "FL_NODE_READY=YES|FL_NODE_ID=101|FL_VERSION=1.41.0|FL_GPU_AVAILABLE=NO type=1
FL_ERROR type=2"
	run -0 og_ctl GET state
	[ "$(jq -r '.vms["101"].FL_NODE_READY' <<<"$output")" = YES ]
	[ "$(jq -r '.vms["101"] | has("FL_ERROR")' <<<"$output")" = false ]
}

@test "publish-ready: the identity may come from a one_env file (--one-env)" {
	og_ctl POST reset >/dev/null
	og_env "$T/one_env" "$T101" 101 "$OG_URL"
	echo true >"$S/running"
	printf 'INFO :      Starting Flower SuperNode\nINFO :      SuperNode ID: 9\n' >"$S/logs"
	run_fll "$SN_STATIC" FLOWER_VERSION=1.38.0 -r supernode --one-env "$T/one_env" publish-ready
	is_status 0
	run -0 put_bodies
	assert_output "FL_NODE_READY=YES|FL_NODE_ID=101|FL_VERSION=1.38.0|FL_GPU_AVAILABLE=NO type=1"
}

@test "publish-ready: a SuperNode started with a usable GPU publishes FL_GPU_AVAILABLE=YES, name, memory, driver in the one PUT" {
	og_ctl POST reset >/dev/null
	mkdir -p "$FD"
	echo 1.38.0 >"$FD/PREBAKED_VERSION"
	GPU_VERB=(start)
	gpu_fll h100 FLOWER_VERSION=1.38.0
	is_status 0
	printf 'INFO :      Starting Flower SuperNode\nINFO :      SuperNode ID: 9\n' >"$S/logs"
	# What start recorded is published: no --gpu-root, no NVML now.
	run_fll "ONEGATE_ENDPOINT=$OG_URL" VMID=101 "TOKENTXT=$T101" "$SN_STATIC" FL_GPU_ENABLED=YES FLOWER_VERSION=1.38.0 \
		FLKIT_NVML_STUB=/nonexistent -r supernode publish-ready
	is_status 0
	refute_stderr_contains nvml_stub
	run -0 put_bodies
	assert_output "FL_NODE_READY=YES|FL_NODE_ID=101|FL_VERSION=1.38.0|FL_GPU_AVAILABLE=YES|FL_GPU_NAME=NVIDIA H100 80GB HBM3|FL_GPU_MEMORY_MB=81559|FL_GPU_DRIVER=550.54.15 type=1"
	[ "$(og_ctl GET state | jq -r '.vms["101"] | .FL_GPU_AVAILABLE + "|" + .FL_GPU_NAME')" = "YES|NVIDIA H100 80GB HBM3" ]
}

@test "publish-ready: a SuperNode on CPU after a broken GPU publishes FL_GPU_AVAILABLE=NO and nothing of the GPU" {
	og_ctl POST reset >/dev/null
	mkdir -p "$FD"
	echo 1.38.0 >"$FD/PREBAKED_VERSION"
	GPU_VERB=(start)
	gpu_fll h100 FLOWER_VERSION=1.38.0 "FLKIT_NVML_STUB=$NVML_MISMATCH"
	is_status 0
	printf 'INFO :      Starting Flower SuperNode\nINFO :      SuperNode ID: 9\n' >"$S/logs"
	run_fll "ONEGATE_ENDPOINT=$OG_URL" VMID=101 "TOKENTXT=$T101" "$SN_STATIC" FL_GPU_ENABLED=YES FLOWER_VERSION=1.38.0 \
		-r supernode publish-ready
	is_status 0
	run -0 put_bodies
	assert_output "FL_NODE_READY=YES|FL_NODE_ID=101|FL_VERSION=1.38.0|FL_GPU_AVAILABLE=NO type=1"
}

@test "publish-ready: without a record of a start the SuperNode decides now (a foreign record is ignored)" {
	og_ctl POST reset >/dev/null
	echo true >"$S/running"
	printf 'INFO :      Starting Flower SuperNode\nINFO :      SuperNode ID: 9\n' >"$S/logs"
	mkdir -p "$FD/config"
	printf 'FL_GPU_AVAILABLE=YES\nFL_GPU_NAME=x\nPATH=/evil\n' >"$FD/config/flower-supernode.gpu"
	run_fll "ONEGATE_ENDPOINT=$OG_URL" VMID=101 "TOKENTXT=$T101" "LD_LIBRARY_PATH=$NVML_LIB" "$SN_STATIC" \
		FL_GPU_ENABLED=YES FLOWER_VERSION=1.38.0 -r supernode --gpu-root "$GPUFIX/none" publish-ready
	is_status 0
	run -0 put_bodies
	assert_output "FL_NODE_READY=YES|FL_NODE_ID=101|FL_VERSION=1.38.0|FL_GPU_AVAILABLE=NO type=1"
}

@test "publish-ready: a SuperNode that has not registered publishes nothing" {
	og_ctl POST reset >/dev/null
	echo true >"$S/running"
	printf 'INFO :      Starting Flower SuperNode\n' >"$S/logs"
	run_fll "ONEGATE_ENDPOINT=$OG_URL" VMID=101 "TOKENTXT=$T101" "$SN_STATIC" -r supernode publish-ready
	is_status 1
	has "not publishing readiness"
	[ "$(og_requests '[.[] | select(.method=="PUT")] | length')" = 0 ]
}

@test "wait-healthy: a SuperLink that never answers publishes FL_READY=NO health_check_timeout, exit 4" {
	og_ctl POST reset >/dev/null
	PORT=$(free_port)
	OG_ID=("ONEGATE_ENDPOINT=$OG_URL" VMID=100 "TOKENTXT=$T100")
	fake_running_superlink
	sl_proc --timeout 2 --interval 1 wait-healthy
	is_status 4
	has "SuperLink health check timed out after 2s"
	run -0 put_bodies
	assert_output "FL_READY=NO|FL_ERROR=health_check_timeout type=1"
}

@test "wait-healthy --no-publish: the failure is not published" {
	og_ctl POST reset >/dev/null
	PORT=$(free_port)
	OG_ID=("ONEGATE_ENDPOINT=$OG_URL" VMID=100 "TOKENTXT=$T100")
	sl_proc --timeout 1 --interval 1 --no-publish wait-healthy
	[ "$status" -ne 0 ]
	[ "$(og_requests '[.[] | select(.method=="PUT")] | length')" = 0 ]
}

# ---------------------------------------------------------------------------------------------
# What the children get: a built environment, the owner's identity, files of the documented
# owner and mode

# plant: LEAK holds what must reach no child (the OneGate identity, a server key, cloud
# credentials, an unknown variable with a fake secret); KEEP what every child gets. Every
# planted value holds $SECRET.
plant() {
	SECRET="fake-secret-$RANDOM$RANDOM"
	UNKNOWN="FLKIT_TEST_$RANDOM"
	LEAK=("TOKENTXT=$SECRET-token" "ONEGATE_TOKEN=$SECRET-token" "VMID=7$RANDOM"
		"ONEGATE_ENDPOINT=http://$SECRET.invalid:5030" "AWS_SECRET_ACCESS_KEY=$SECRET-aws"
		"AWS_ACCESS_KEY_ID=$SECRET-id" "S3_SECRET_KEY=$SECRET-s3" "$UNKNOWN=$SECRET")
	KEEP=(LANG=C.UTF-8 LC_MESSAGES=C TZ=UTC FLWR_TELEMETRY_ENABLED=0 "https_proxy=http://proxy.example:3128")
	LEAKED_NAMES="^(TOKENTXT|ONEGATE_TOKEN|VMID|ONEGATE_ENDPOINT|AWS_[A-Z_]*|S3_[A-Z_]*|$UNKNOWN|FL_SSL_[A-Z_]*|ONEAPP_[A-Z_]*)="
}

# The operator's certificate and key in the context: FL_SSL_KEYFILE must reach no child either.
SL_KEY=()
sl_key() {
	SL_KEY=(FL_TLS_ENABLED=YES "FL_SSL_CA_CERTFILE=$OP_CA_B64" "FL_SSL_CERTFILE=$OP_CERT_B64"
		"FL_SSL_KEYFILE=$OP_KEY_B64")
	mkdir -p "$FD/certs"
	cp "$OPS/ca.crt" "$FD/certs/ca.crt"
	cp "$OPS/server.pem" "$FD/certs/server.pem"
	cp "$OPS/server.key" "$FD/certs/server.key"
}

# no_leak FILE...: no planted secret, no key and no secret name in FILE; KEEP and PATH there.
no_leak() {
	local f kv
	for f in "$@"; do
		[ -s "$f" ] || { echo "$f is empty or missing" >&2 && return 1; }
		if grep -n -e "$SECRET" -e "${OP_KEY_B64:0:40}" -e 'PRIVATE KEY' "$f" || grep -nE "$LEAKED_NAMES" "$f"; then
			echo "a secret reached a child ($f)" >&2
			return 1
		fi
		grep -q '^PATH=/' "$f" || { echo "no PATH in $f" >&2 && return 1; }
		for kv in "${KEEP[@]}"; do
			grep -qxF -- "$kv" "$f" || { echo "$kv did not reach the child ($f)" >&2 && return 1; }
		done
	done
}

# dump_stubs: docker and systemctl append their environment to stub/TOOL.env, then run the stub.
dump_stubs() {
	local tool
	for tool in docker systemctl; do
		mv "$T/bin/$tool" "$T/bin/$tool.real"
		printf '#!/bin/bash\n{ env; echo "--- %s $*"; } >>%q\nexec %q "$@"\n' "$tool" "$S/$tool.env" \
			"$T/bin/$tool.real" >"$T/bin/$tool"
		chmod 0755 "$T/bin/$tool"
	done
}

# fake_flower [DIR]: flower-superlink and flower-supernode in DIR ($T/fake) print their
# environment, ids and groups to their output (the log file), then exit.
fake_flower() {
	local r d=${1:-$T/fake}
	mkdir -p "$d"
	for r in superlink supernode; do
		printf '#!/bin/sh\nenv\necho "ID=$(id -u):$(id -g) GROUPS=$(id -G)"\necho END-OF-DUMP\n' >"$d/flower-$r"
		chmod 0755 "$d/flower-$r"
	done
}

# dump_of NAME: the log of fake NAME (flower-superlink, flower-supernode) once complete.
dump_of() {
	local i f=$FD/logs/$1.log
	for ((i = 0; i < 600; i++)); do
		grep -q END-OF-DUMP "$f" 2>/dev/null && break
		sleep 0.05
	done
	grep -q END-OF-DUMP "$f" || { echo "$f: no dump" >&2 && return 1; }
	cp "$f" "$T/$1.dump"
	echo "$T/$1.dump"
}

@test "start: the Flower process gets no OneGate identity, key, credential or unknown variable (process runtime)" {
	plant
	fake_flower
	run_fll "$SN_STATIC" "${LEAK[@]}" "${KEEP[@]}" -r supernode --runtime process --supervisor none \
		--flower-bin "$T/fake" --flower-version 1.41.0 start
	is_status 0
	local dump
	dump=$(dump_of flower-supernode)
	no_leak "$dump"
	grep -qx "FLWR_HOME=$FD/flwr-supernode" "$dump"
	grep -qx "HOME=$FD/flwr-supernode" "$dump"
	sl_key
	# 1.38: Flower alone (from 1.40 the Fleet proxy starts too; its environment is PATH only).
	run_fll "${LEAK[@]}" "${KEEP[@]}" "${SL_KEY[@]}" -r superlink --runtime process --supervisor none \
		--flower-bin "$T/fake" --flower-version 1.38.0 --addr 10.0.0.5 --health-port 0 start
	is_status 0
	dump=$(dump_of flower-superlink)
	no_leak "$dump"
	grep -q '^FLWR_LOG_LEVEL=' "$dump"
}

@test "restart: the restarted Flower process gets the built environment too" {
	plant
	fake_flower
	run_fll "$SN_STATIC" "${LEAK[@]}" "${KEEP[@]}" -r supernode --runtime process --supervisor none \
		--flower-bin "$T/fake" --flower-version 1.41.0 restart
	is_status 0
	no_leak "$(dump_of flower-supernode)"
}

@test "every docker and systemctl call gets the built environment: no identity, key or unknown variable" {
	plant
	sl_key
	dump_stubs
	echo 1.25.0 >"$T/prebaked"
	mkdir -p "$FD"
	echo 1.25.0 >"$FD/PREBAKED_VERSION"
	local verb
	for verb in wait-docker image install start status health wait-healthy logs stop restart; do
		# The options of each verb alone: another verb's option is a usage error.
		local -a vo=()
		case $verb in
		wait-healthy) vo=(--timeout 1 --interval 1 --no-publish) ;;
		wait-docker) vo=(--timeout 1 --interval 1) ;;
		esac
		run_fll FLOWER_VERSION=1.38.0 "${LEAK[@]}" "${KEEP[@]}" "${SL_KEY[@]}" -r superlink --addr 10.0.0.5 \
			"${vo[@]}" "$verb"
		[ "$status" -le 1 ] || [ "$status" = 4 ] || { echo "$verb: exit $status: $stderr" >&2 && return 1; }
		run_fll "$SN_STATIC" "${LEAK[@]}" "${KEEP[@]}" -r supernode "${vo[@]}" "$verb"
		[ "$status" -le 1 ] || [ "$status" = 4 ] || { echo "$verb: exit $status: $stderr" >&2 && return 1; }
	done
	# Every verb above called docker or systemctl: all of them with the built environment.
	for verb in info image pull inspect logs daemon-reload enable start stop; do
		grep -qE -- "^--- (docker|systemctl) $verb( |$)" "$S/docker.env" "$S/systemctl.env" ||
			{ echo "no call of $verb" >&2 && return 1; }
	done
	no_leak "$S/docker.env" "$S/systemctl.env"
	# Nor do the files docker and systemd read hold a secret.
	no_leak_file "$FD/config/superlink.env" "$FD/config/supernode.env" "$UD/flower-superlink.service" \
		"$UD/flower-supernode.service"
}

# no_leak_file FILE...: FILE names no secret and holds none.
no_leak_file() {
	local f
	for f in "$@"; do
		[ -s "$f" ] || { echo "$f is empty or missing" >&2 && return 1; }
		if grep -n -e "$SECRET" -e "${OP_KEY_B64:0:40}" -e 'PRIVATE KEY' "$f" || grep -nE "$LEAKED_NAMES" "$f"; then
			echo "a secret is in $f" >&2
			return 1
		fi
	done
}

@test "process under systemd: systemctl gets the built environment" {
	plant
	dump_stubs
	run_fll "$SN_STATIC" "${LEAK[@]}" "${KEEP[@]}" -r supernode --runtime process --supervisor systemd \
		--flower-bin "$FLOWER_STUB/bin" start
	is_status 0
	no_leak "$S/systemctl.env"
	no_leak_file "$FD/config/supernode.env" "$UD/flower-supernode.service"
}

@test "start: --supervisor none runs Flower as --owner (user, group, no other group)" {
	[ "$(id -u)" = 0 ] || skip "needs root to change user"
	# A directory the owner can reach (the test's own is root's, 0700).
	local d
	d=$(mktemp -d /tmp/fl-launch-owner.XXXXXX)
	chmod 0755 "$d"
	FD=$d/flower
	fake_flower "$d/fake"
	run_fll "$SN_STATIC" -r supernode --runtime process --supervisor none --flower-bin "$d/fake" \
		--flower-version 1.41.0 --owner 12345:23456 start
	is_status 0
	local dump
	dump=$(dump_of flower-supernode)
	grep -qx 'ID=12345:23456 GROUPS=23456' "$dump"
	# HOME is FLWR_HOME, the owner's own directory.
	grep -qx "HOME=$FD/flwr-supernode" "$dump"
	[ "$(stat -c %u:%g:%a "$FD/flwr-supernode")" = 12345:23456:700 ]
	rm -rf "$d"
	# The systemd unit runs the same user.
	run_fll "$SN_STATIC" -r supernode --runtime process --supervisor systemd --flower-bin "$FLOWER_STUB/bin" \
		--owner 12345:23456 unit
	assert_line User=12345
	assert_line Group=23456
}

@test "start: an owner who cannot enter the flower directory is exit 1 naming it" {
	[ "$(id -u)" = 0 ] || skip "needs root to change user"
	fake_flower
	mkdir -p "$FD"
	chmod 0700 "$FD"
	run_fll "$SN_STATIC" -r supernode --runtime process --supervisor none --flower-bin "$T/fake" \
		--flower-version 1.41.0 --owner 12345:23456 start
	is_status 1
	has "as 12345:23456: cannot change to directory $FD: Permission denied"
}

@test "start: --supervisor none with another --owner without root is exit 1, nothing touched" {
	[ "$(id -u)" = 0 ] || skip "needs root to run as another user"
	local d
	d=$(mktemp -d /tmp/fl-launch-owner.XXXXXX)
	chmod 0755 "$d"
	mkdir "$d/fake" "$d/flower"
	chmod 0777 "$d/flower"
	printf '#!/bin/sh\necho ran >%q\n' "$d/ran" >"$d/fake/flower-supernode"
	chmod 0755 "$d/fake/flower-supernode"
	run --separate-stderr env -i PATH="$PATH" "$SN_STATIC" setpriv --reuid 65534 --regid 65534 --clear-groups \
		"$FLKIT_BIN/fl-launch" -E -r supernode --runtime process --supervisor none --flower-dir "$d/flower" \
		--flower-bin "$d/fake" --flower-version 1.41.0 --owner 12345:12345 start
	local left
	left=$(find "$d/flower" -mindepth 1 | wc -l)
	rm -rf "$d"
	is_status 1
	has "--owner 12345:12345"
	has "root"
	[ "$left" = 0 ]
}

@test "install: a foreign-owned 0644 env file with the right content is made root's, 0600" {
	[ "$(id -u)" = 0 ] || skip "needs root to chown"
	run_fll "$SN_STATIC" -r supernode --owner 0:0 env
	is_status 0
	mkdir -p "$FD/config" "$UD"
	printf '%s\n' "$output" >"$FD/config/supernode.env"
	chown 12345:12345 "$FD/config/supernode.env"
	chmod 0644 "$FD/config/supernode.env"
	chown 12345:12345 "$FD/config"
	chmod 0777 "$FD/config"
	run_fll "$SN_STATIC" -r supernode --owner 0:0 unit
	printf '%s\n' "$output" >"$UD/flower-supernode.service"
	chown 12345:12345 "$UD/flower-supernode.service"
	chmod 0666 "$UD/flower-supernode.service"
	run_fll "$SN_STATIC" -r supernode --owner 0:0 install
	is_status 0
	[ "$(stat -c %u:%g:%a "$FD/config/supernode.env")" = 0:0:600 ]
	[ "$(stat -c %u:%g:%a "$FD/config")" = 0:0:750 ]
	[ "$(stat -c %u:%g:%a "$UD/flower-supernode.service")" = 0:0:644 ]
}

@test "install: an env file that is a symlink or has another hard link is replaced, its target untouched" {
	run_fll "$SN_STATIC" -r supernode env
	is_status 0
	local envtext=$output
	mkdir -p "$FD/config" "$T/elsewhere"
	printf '%s\n' "$envtext" >"$T/elsewhere/target"
	chmod 0644 "$T/elsewhere/target"
	ln -s "$T/elsewhere/target" "$FD/config/supernode.env"
	run_fll "$SN_STATIC" -r supernode install
	is_status 0
	[ ! -L "$FD/config/supernode.env" ]
	[ "$(stat -c %h:%a "$FD/config/supernode.env")" = 1:600 ]
	[ "$(stat -c %a "$T/elsewhere/target")" = 644 ]
	rm "$FD/config/supernode.env"
	ln "$T/elsewhere/target" "$FD/config/supernode.env"
	run_fll "$SN_STATIC" -r supernode install
	is_status 0
	[ "$(stat -c %h:%a "$FD/config/supernode.env")" = 1:600 ]
	[ "$(stat -c %h:%a "$T/elsewhere/target")" = 1:644 ]
	[ "$(cat "$FD/config/supernode.env")" = "$envtext" ]
}

@test "install: a --flower-dir another user owns or anyone may write is refused, nothing written" {
	[ "$(id -u)" = 0 ] || skip "needs root to chown"
	mkdir -p "$FD"
	chown 12345:12345 "$FD"
	run_fll "$SN_STATIC" -r supernode install
	is_status 1
	has "--flower-dir $FD is not safe (owner 12345:12345, mode 0755)"
	has "chown root:root, chmod go-w"
	[ ! -e "$FD/config" ]
	chown 0:0 "$FD"
	chmod 0777 "$FD"
	run_fll "$SN_STATIC" -r supernode start
	is_status 1
	has "(owner 0:0, mode 0777)"
	[ ! -e "$FD/config" ]
	no_call systemctl .
	chmod 0755 "$FD"
	mkdir -p "$UD"
	chmod 0777 "$UD"
	run_fll "$SN_STATIC" -r supernode install
	is_status 1
	has "--unit-dir $UD is not safe"
	[ ! -e "$UD/flower-supernode.service" ]
}

# Values that pass validation reach docker and Flower in a form they accept

# after_flag FLAG: the argv line that follows FLAG in $output.
after_flag() {
	awk -v f="$1" 'hit { print; exit } $0 == f { hit = 1 }' <<<"$output"
}

@test "argv: --node-config carries Flower's config syntax, as fl-context node-config prints it" {
	local nc='partition-id=1 num-partitions=3 dataset=cifar10 x=00012 y=.5 on=True k=a,b r=1:2 p=/a%b@c'
	local want='partition-id=1 num-partitions=3 dataset="cifar10" x="00012" y=0.5 on=true k="a,b" r="1:2" p="/a%b@c"'
	run -0 env -i "FL_NODE_CONFIG=$nc" "$FLKIT_BIN/fl-context" --env-only node-config
	assert_output "$want"
	run_fll "$SN_STATIC" "FL_NODE_CONFIG=$nc" -r supernode argv
	is_status 0
	assert_equal "$(after_flag --node-config)" "$want"
	run_fll "$SN_STATIC" "FL_NODE_CONFIG=$nc" -r supernode --runtime process --supervisor systemd \
		--flower-bin "$FLOWER_STUB/bin" argv
	is_status 0
	assert_equal "$(after_flag --node-config)" "$want"
	local py
	for py in "$FLKIT_SRC/.venv-flwr-1.25/bin/python" "$FLKIT_SRC/.venv-flwr-newest/bin/python"; do
		[ -x "$py" ] || continue
		run "$py" "$BATS_TEST_DIRNAME/flower_config_check.py" "$want" <<<'{"partition-id": ["int", 1],
			"num-partitions": ["int", 3], "dataset": ["str", "cifar10"], "x": ["str", "00012"],
			"y": ["float", 0.5], "on": ["bool", true], "k": ["str", "a,b"], "r": ["str", "1:2"],
			"p": ["str", "/a%b@c"]}'
		assert_success
	done
}

@test "unit: ExecStart carries the converted --node-config, quoted for systemd" {
	run_fll "$SN_STATIC" 'FL_NODE_CONFIG=dataset=cifar10 p=/a%b@c' -r supernode unit
	is_status 0
	assert_output --partial '    --node-config "dataset=\"cifar10\" p=\"/a%%b@c\"" \'
	run_fll "$SN_STATIC" 'FL_NODE_CONFIG=dataset=cifar10' -r supernode --runtime process --supervisor systemd \
		--flower-bin "$FLOWER_STUB/bin" unit
	is_status 0
	assert_output --partial '    --node-config "dataset=\"cifar10\"" \'
}

@test "start: a node-config value Flower cannot represent is refused before anything runs" {
	run_fll "$SN_STATIC" 'FL_NODE_CONFIG=x=99999999999999999999' -r supernode start
	is_status 1
	has "Invalid FL_NODE_CONFIG pair: 'x=99999999999999999999'. Flower cannot represent it"
	assert_equal "$(calls docker)" ''
}

@test "--image: a docker option, a tag or an upper-case repository is refused before anything runs" {
	local img
	for img in --privileged -v Flwr/superlink flwr/SuperLink flwr/superlink:1.25.0 flwr//superlink \
		flwr/superlink- _flwr/superlink 'flwr/super link' registry.example.com:0/flwr/superlink; do
		run_fll -r superlink --image "$img" start
		is_status 2
		has "--image '$img' is not a docker repository name"
		has 'usage: fl-launch'
		assert_equal "$(calls docker)" ''
	done
}

@test "--image: registry hosts, ports and docker's separators are accepted" {
	local img
	for img in flwr/superlink registry.example.com:5000/flwr/superlink localhost/my_org/super__link \
		Registry.Example.com/flwr/super-link 10.0.0.1:5000/flwr.dev/superlink superlink; do
		run_fll -r superlink --addr 10.0.0.5 --image "$img" argv
		is_status 0
		assert_line "$img:1.25.0"
	done
}

@test "--flower-dir: ':' or ',' is refused under docker, which would bind another directory" {
	local dir
	for dir in /tmp/a:/etc /tmp/a,b; do
		run_fll -r superlink --flower-dir "$dir" start
		is_status 2
		has "--flower-dir '$dir' holds ':' or ',', where docker -v splits its argument"
		assert_equal "$(calls docker)" ''
	done
	mkdir -p "$T/a,b"
	run_fll "$SN_STATIC" -r supernode --runtime process --supervisor systemd --flower-bin "$FLOWER_STUB/bin" \
		--flower-dir "$T/a,b" argv
	is_status 0
}

@test "--flower-bin: a directory with ':' is refused (it would split the children's PATH)" {
	mkdir -p "$T/fl:wr"
	cp "$FLOWER_STUB/bin/flower-supernode" "$T/fl:wr/"
	run_fll "$SN_STATIC" -r supernode --runtime process --supervisor systemd --flower-bin "$T/fl:wr" \
		--flower-version 1.41.0 argv
	is_status 2
	has "--flower-bin: the directory of '$T/fl:wr/flower-supernode' holds ':'"
}

@test "start: a Fleet address with a host name is refused: docker -p publishes IP addresses only" {
	run_fll FL_FLEET_API_ADDRESS=host.name:9092 -r superlink start
	is_status 1
	has "Invalid FL_FLEET_API_ADDRESS: 'host.name:9092'. Expected format: host:port, the host an IP address of this VM or 0.0.0.0"
	assert_equal "$(calls docker)" ''
}

@test "FLOWER_VERSION older than 1.25.0: fl-context validate and fl-launch refuse it with the same words" {
	local words='Flower 1.24.9 is older than 1.25.0, the oldest version flkit drives; set FLOWER_VERSION (or --flower-version) to 1.25.0 or newer'
	run --separate-stderr env -i FLOWER_VERSION=1.24.9 "$FLKIT_BIN/fl-context" -E validate --role supernode
	is_status 1
	has "Invalid FLOWER_VERSION: '1.24.9'. $words."
	run_fll FLOWER_VERSION=1.24.9 "$SN_STATIC" -r supernode start
	is_status 1
	has "Invalid FLOWER_VERSION: '1.24.9'. $words."
	assert_equal "$(calls docker)" ''
	run_fll "$SN_STATIC" -r supernode --flower-version 1.24.9 argv
	is_status 1
	has "$words"
}

@test "publish-ready: only the certificates of certs/ca.crt are published, never a key or text beside them" {
	og_ctl POST reset >/dev/null
	tls_superlink "$OPS/lo.pem" "$OPS/lo.key"
	{
		echo '# the operator CA'
		cat "$OPS/ca.crt"
		echo 'a note'
		cat "$OPS/lo.key"
	} >"$FD/certs/ca.crt"
	OG_ID=(FL_TLS_ENABLED=YES "ONEGATE_ENDPOINT=$OG_URL" VMID=100 "TOKENTXT=$T100")
	sl_proc publish-ready
	is_status 0
	has "$FD/certs/ca.crt holds more than certificates (line 1 is text outside a certificate block): only its certificates are published as FL_CA_CERT"
	run -0 put_bodies
	assert_output "FL_READY=YES|FL_ENDPOINT=10.0.0.5:$PORT|FL_VERSION=1.38.0|FL_ROLE=superlink|FL_TLS=YES|FL_CA_CERT=$OP_CA_B64 type=1"
	og_ctl GET state | jq -r '.vms["100"].FL_CA_CERT' | base64 -d | cmp - "$OPS/ca.crt"
	refute_stderr_contains "$(sed -n 2p "$OPS/lo.key")"
}

# ---------------------------------------------------------------------------------------------
# The service's output is untrusted bytes (ClientApp output goes there): NUL, invalid UTF-8,
# long lines and escapes neither fool health nor hide or smuggle anything through `logs`.

# hostile_restart FILE: a registration, a NUL, then a restart that has not registered yet.
hostile_restart() {
	printf 'INFO :      Starting Flower SuperNode\nINFO :      SuperNode ID: 123\nuser: \000 a NUL\nINFO :      Starting Flower SuperNode\nINFO :      Connecting...\n' >"$1"
}

@test "health: a NUL byte does not hide the last start (docker logs)" {
	echo true >"$S/running"
	hostile_restart "$S/logs"
	run_fll "$SN_STATIC" -r supernode health
	is_status 1
	has "flower-supernode runs but has not registered with the SuperLink at 10.0.0.7:9092 yet"
}

# sn_proc_started: a running stub SuperNode that has written all it writes at start (its last
# line is "args: ..."), so that a test may replace its log file.
sn_proc_started() {
	sn_proc start
	is_status 0
	local i
	for ((i = 0; i < 600; i++)); do
		grep -aq 'args:' "$FD/logs/flower-supernode.log" 2>/dev/null && return 0
		sleep 0.05
	done
	echo "the stub SuperNode wrote no args: line" >&2
	return 1
}

@test "health: a NUL byte does not hide the last start (process log file)" {
	sn_proc_started
	hostile_restart "$FD/logs/flower-supernode.log"
	sn_proc health
	is_status 1
	has "has not registered with the SuperLink at 10.0.0.7:9092 yet"
}

@test "health: a start line glued to user output without a newline still ends the old registration" {
	echo true >"$S/running"
	printf 'INFO :      Starting Flower SuperNode\nINFO :      SuperNode ID: 123\npartial line\xff\033[0mINFO :      Starting Flower SuperNode\n' >"$S/logs"
	run_fll "$SN_STATIC" -r supernode health
	is_status 1
	has "has not registered"
}

@test "health: a registration followed by megabytes of output is still found, memory bounded (process log file)" {
	sn_proc_started
	local log=$FD/logs/flower-supernode.log
	{
		printf 'INFO :      Starting Flower SuperNode\nINFO :      SuperNode ID: 7\n'
		head -c 3000000 /dev/zero | tr '\0' 'x'
		printf '\n'
		head -c 1000000 /dev/zero
	} >"$log"
	sn_proc health
	is_status 0
	has "flower-supernode healthy"
	# A start at the very end after all of it: not registered.
	printf 'INFO :      Starting Flower SuperNode\n' >>"$log"
	sn_proc health
	is_status 1
}

@test "health: docker output larger than the capture cannot prove a registration" {
	echo true >"$S/running"
	{
		printf 'INFO :      Starting Flower SuperNode\nINFO :      SuperNode ID: 123\n'
		head -c 100000 /dev/zero | tr '\0' 'y'
		printf '\nINFO :      Starting Flower SuperNode\n'
	} >"$S/logs"
	run_fll "$SN_STATIC" -r supernode health
	is_status 1
	has "has not registered"
}

# docker_since TIMESTAMP: the docker stub also answers `inspect --format {{.State.StartedAt}}`
# with TIMESTAMP and `logs --since TIMESTAMP NAME` with stub/logs.since (the container's output
# since it started); everything else as before.
docker_since() {
	mv "$T/bin/docker" "$T/bin/docker.orig"
	cat >"$T/bin/docker" <<EOF
#!/bin/bash
if [ "\$1 \$3" = "inspect {{.State.StartedAt}}" ]; then printf '%s\n' '$1'; exit 0; fi
if [ "\$1 \$2 \$3" = "logs --since $1" ]; then printf '%s\n' "\$*" >>'$S/docker.log'; cat '$S/logs.since'; exit 0; fi
exec '$T/bin/docker.orig' "\$@"
EOF
	chmod 0755 "$T/bin/docker"
}

@test "health: docker: only the output since the container started counts, however much there is" {
	docker_since 2026-12-03T07:00:00.123456789Z
	echo true >"$S/running"
	# The whole log: an old run that registered. Since the start: a run that has not.
	printf 'INFO :      Starting Flower SuperNode\nINFO :      SuperNode ID: 1\n' >"$S/logs"
	printf 'INFO :      Starting Flower SuperNode\nINFO :      Connecting...\n' >"$S/logs.since"
	run_fll "$SN_STATIC" -r supernode health
	is_status 1
	has "has not registered"
	has_call docker "logs --since 2026-12-03T07:00:00.123456789Z flower-supernode"
	# A busy SuperNode: registered, then far more output than one capture holds.
	{
		printf 'INFO :      Starting Flower SuperNode\nINFO :      SuperNode ID: 7\n'
		head -c 200000 /dev/zero | tr '\0' 'z'
		printf '\n'
	} >"$S/logs.since"
	cp "$S/logs.since" "$S/logs"
	run_fll "$SN_STATIC" -r supernode health
	is_status 0
	has "flower-supernode healthy"
}

@test "health: a forged start line printed after the registration only makes it unhealthy" {
	echo true >"$S/running"
	printf 'INFO :      Starting Flower SuperNode\nINFO :      SuperNode ID: 5\nuser: Starting Flower SuperNode\n' >"$S/logs"
	run_fll "$SN_STATIC" -r supernode health
	is_status 1
}

# The hostile lines and how `logs` shows them.
hostile_lines() {
	printf 'one\000two\n\033]0;owned\007title\n\033[92mgreen\033[0m\tTAB\nbad \xff\xfe utf8, good \xc3\xa9, C1 \xc2\x9b[2J\nback\\slash\rCR\nlast\n'
}
HOSTILE_SHOWN='one\x00two
\e]0;owned\x07title
green	TAB
bad \xff\xfe utf8, good é, C1 \xc2\x9b[2J
back\\slash\x0dCR
last'

@test "logs: control characters are shown escaped, NUL does not cut the output (docker logs)" {
	hostile_lines >"$S/logs"
	run_fll "$SN_STATIC" -r supernode logs -n 5
	is_status 0
	assert_output "$(printf '%s' "$HOSTILE_SHOWN" | tail -n 5)"
	run_fll "$SN_STATIC" -r supernode logs -n 6
	assert_output "$HOSTILE_SHOWN"
}

@test "logs: control characters are shown escaped, NUL does not cut the output (process log file)" {
	sn_proc_started
	hostile_lines >"$FD/logs/flower-supernode.log"
	sn_proc logs -n 6
	is_status 0
	assert_output "$HOSTILE_SHOWN"
}

@test "logs -n N asks docker for the last N lines (a capture of 5000 long lines would hold only the first)" {
	printf 'one\ntwo\nthree\n' >"$S/logs"
	run_fll "$SN_STATIC" -r supernode logs -n 3
	is_status 0
	has_call docker "logs --tail 3 flower-supernode"
}

@test "wait-healthy: the log lines shown on failure are escaped too" {
	echo true >"$S/running"
	printf 'INFO :      Starting Flower SuperNode\nuser \033]52;c;Zm9v\007 clipboard\n' >"$S/logs"
	run_fll "$SN_STATIC" -r supernode --timeout 1 --interval 1 wait-healthy
	is_status 4
	has 'user \e]52;c;Zm9v\x07 clipboard'
	[[ $stderr != *$'\033]52'* ]]
}

# ---------------------------------------------------------------------------------------------
# Files named by an option are regular files: a FIFO or device is refused at once, never
# waited on (timeout 10: a regression fails instead of hanging).

@test "file options: a FIFO or directory as --discovery, --context, --prebaked, --one-env or --token-file is refused at once, exit 1" {
	mkfifo "$T/fifo"
	mkdir -p "$T/dir"
	local opt verb env_only
	for opt in --discovery --context --prebaked --one-env --token-file; do
		verb=argv
		[[ $opt == --one-env || $opt == --token-file ]] && verb=publish-ready
		# --context and --env-only exclude each other (a usage error of its own).
		env_only=-E
		[[ $opt == --context ]] && env_only=--no-env
		run --separate-stderr env -i PATH="$T/bin:$PATH" "$SN_STATIC" timeout 10 "$FLKIT_BIN/fl-launch" \
			"$env_only" --flower-dir "$FD" -r supernode "$opt" "$T/fifo" "$verb" 3>&-
		is_status 1
		has "$opt $T/fifo is not a regular file (a FIFO); give a regular file"
		run --separate-stderr env -i PATH="$T/bin:$PATH" "$SN_STATIC" timeout 10 "$FLKIT_BIN/fl-launch" \
			"$env_only" --flower-dir "$FD" -r supernode "$opt" "$T/dir" "$verb" 3>&-
		is_status 1
		has "$opt $T/dir is not a regular file (a directory)"
	done
}

@test "file options: --discovery still reads a regular file" {
	printf 'FL_SUPERLINK_ADDRESS=10.0.0.9:9092\n' >"$T/discovery.env"
	run_fll -r supernode --discovery "$T/discovery.env" --flower-version 1.25.0 argv
	is_status 0
	assert_line 10.0.0.9:9092
}

# ---------------------------------------------------------------------------------------------
# Options go before the verb (as fl-launch(1) says); only the verb's own options may follow it,
# whatever POSIXLY_CORRECT says; an option of another verb is a usage error.

@test "options: an option after the verb that is not the verb's own is exit 2, as documented" {
	run_fll "$SN_STATIC" -r supernode status --runtime process
	is_status 2
	has "fl-launch: options go before the verb: '--runtime' follows it"
	run_fll "$SN_STATIC" -r supernode argv -q
	is_status 2
	has "options go before the verb: '-q' follows it"
}

@test "options: an option of another verb is refused, exit 2, naming the option and its verbs" {
	run_fll "$SN_STATIC" -r supernode --best-effort start
	is_status 2
	has "fl-launch: --best-effort is an option of publish-ready or publish-error, not of start"
	no_call systemctl '.'
	run_fll "$SN_STATIC" -r supernode status --timeout 5
	is_status 2
	has "--timeout is an option of wait-healthy or wait-docker, not of status"
}

@test "options: the verb's own options may follow it, also with POSIXLY_CORRECT set" {
	printf 'one\ntwo\nthree\n' >"$S/logs"
	run_fll POSIXLY_CORRECT=1 "$SN_STATIC" -r supernode logs -n 2
	is_status 0
	assert_output $'two\nthree'
	echo true >"$S/running"
	printf 'INFO :      Starting Flower SuperNode\n' >"$S/logs"
	run_fll POSIXLY_CORRECT=1 "$SN_STATIC" -r supernode wait-healthy --timeout 1 --interval 1
	is_status 4
}

# ---------------------------------------------------------------------------------------------
# One fl-launch at a time changes a service; what a killed run left is cleaned up.

@test "start: two concurrent starts run one Flower process, the second waits for the first" {
	local i
	for i in 1 2 3 4; do
		fll "$SN_STATIC" -r supernode --runtime process --supervisor none --flower-bin "$FLOWER_STUB/bin" \
			start >"$T/out.$i" 2>"$T/err.$i" &
	done
	wait
	# Exactly one started it; the others found it running this configuration.
	[ "$(cat "$T"/err.* | grep -c 'flower-supernode: pid ')" = 1 ]
	[ "$(cat "$T"/err.* | grep -c 'already runs this configuration')" = 3 ]
	local pid
	read -r pid _ <"$FD/run/flower-supernode.pid"
	kill -0 "$pid"
	[ "$(pgrep -f -c "$FLOWER_STUB/bin/flower-supernode")" = 1 ]
}

@test "start: a held service lock is waited for, and said so" {
	sn_proc install
	is_status 0
	# Another fl-launch holds config/ (flock(1) on the same directory) until the start says it
	# waits (60 s at most, a guard against a hang), then lets go.
	flock "$FD/config" -c "echo held >'$T/held'; for i in \$(seq 1200); do grep -q 'waiting for another fl-launch' '$T/start.err' 2>/dev/null && exit 0; sleep 0.05; done; exit 1" &
	local holder=$!
	wait_for "$T/held"
	fll "$SN_STATIC" -r supernode --runtime process --supervisor none --flower-bin "$FLOWER_STUB/bin" \
		start >"$T/start.out" 2>"$T/start.err"
	wait "$holder"
	grep -qF "[INFO] [fl-launch] waiting for another fl-launch to release the lock on $FD/config (at most 120 s)" "$T/start.err"
	grep -q "flower-supernode: pid " "$T/start.err"
}

@test "install, start, stop: temporary files a killed run left beside env file, unit and state are removed" {
	sn_proc install
	is_status 0
	# What fl_fs_write_atomic leaves when killed before its rename (0600, possibly secrets).
	local f
	for f in "$FD/config/.supernode.env.Ab12Cd" "$FD/run/.flower-supernode.pid.x1Y2z3" \
		"$FD/config/.flower-supernode.state.QwErTy"; do
		printf 'TOKENTXT=leftover\n' >"$f"
		chmod 0600 "$f"
	done
	# Names that are not ours, and a symlink of a temp name, stay.
	touch "$FD/config/.supernode.env.toolong1" "$FD/config/notes"
	ln -s /etc/hostname "$FD/config/.supernode.env.LnK123"
	sn_proc start
	is_status 0
	[ ! -e "$FD/config/.supernode.env.Ab12Cd" ]
	[ ! -e "$FD/run/.flower-supernode.pid.x1Y2z3" ]
	[ ! -e "$FD/config/.flower-supernode.state.QwErTy" ]
	[ -e "$FD/config/.supernode.env.toolong1" ] && [ -e "$FD/config/notes" ] && [ -L "$FD/config/.supernode.env.LnK123" ]
	[ -e /etc/hostname ]
}

# ---------------------------------------------------------------------------------------------
# fl-metrics beside Flower: `serve` on a SuperLink with FL_METRICS_ENABLED=YES, `publish` on a
# SuperNode with OneGate. A stub fl-metrics records its argv and waits; fl-metrics itself has
# its own suites.

# metrics_stub: $T/bin/fl-metrics-stub, which writes its argv to $FD/metrics.argv and sleeps.
metrics_stub() {
	cat >"$T/bin/fl-metrics-stub" <<STUB
#!/bin/sh
printf '%s\n' "\$@" >"$FD/metrics.argv"
exec sleep 1000
STUB
	chmod 0755 "$T/bin/fl-metrics-stub"
}

# slm [NAME=value]... ARGS: a docker SuperLink with metrics on, the stub as fl-metrics.
slm() {
	metrics_stub
	run_fll FL_METRICS_ENABLED=YES FL_METRICS_PORT=9101 "$@"
}

@test "metrics: a SuperLink with FL_METRICS_ENABLED=YES installs flower-metrics.service and starts it after Flower" {
	slm -r superlink --addr 10.0.0.5 --metrics-bin "$T/bin/fl-metrics-stub" start
	is_status 0
	[ "$(stat -c %a "$UD/flower-metrics.service")" = 644 ]
	diff "$UD/flower-metrics.service" <(fll FL_METRICS_ENABLED=YES FL_METRICS_PORT=9101 -r superlink --addr 10.0.0.5 \
		--metrics-bin "$T/bin/fl-metrics-stub" metrics-unit 2>/dev/null)
	[ "$(calls systemctl)" = $'daemon-reload\nenable flower-superlink.service\nstart flower-superlink.service\nenable flower-metrics.service\nrestart flower-metrics.service' ]
	grep -qx "ExecStart=$T/bin/fl-metrics-stub serve --port 9101 --bind 10.0.0.5 --db $FD/state/state.db --strategy FedAvg --force" \
		"$UD/flower-metrics.service"
	grep -qx 'PartOf=flower-superlink.service' "$UD/flower-metrics.service"
	grep -qx 'WantedBy=flower-superlink.service' "$UD/flower-metrics.service"
	grep -qx "User=${OWNER%%:*}" "$UD/flower-metrics.service"
	# Nothing of the environment reaches the unit (decision 12).
	run -1 grep -E '^Environment' "$UD/flower-metrics.service"
}

@test "metrics: a second start leaves the unit alone: no write, no daemon-reload, fl-metrics not restarted" {
	slm -r superlink --addr 10.0.0.5 --metrics-bin "$T/bin/fl-metrics-stub" start
	is_status 0
	: >"$S/systemctl.log"
	slm -r superlink --addr 10.0.0.5 --metrics-bin "$T/bin/fl-metrics-stub" start
	is_status 0
	refute_stderr_contains "wrote "
	# `start` of an active unit changes nothing; one that died is started again.
	[ "$(calls systemctl)" = $'enable flower-metrics.service\nstart flower-metrics.service' ]
}

@test "metrics: a changed FL_METRICS_PORT restarts fl-metrics alone, never Flower" {
	slm -r superlink --addr 10.0.0.5 --metrics-bin "$T/bin/fl-metrics-stub" start
	: >"$S/systemctl.log"
	slm FL_METRICS_PORT=9200 -r superlink --addr 10.0.0.5 --metrics-bin "$T/bin/fl-metrics-stub" start
	is_status 0
	has_log INFO "flower-superlink already runs this configuration: left alone (not restarted)"
	[ "$(calls systemctl)" = $'daemon-reload\nenable flower-metrics.service\nrestart flower-metrics.service' ]
	grep -q -- '--port 9200 ' "$UD/flower-metrics.service"
}

@test "metrics: turned off on a later start, the unit is stopped, disabled and removed" {
	slm -r superlink --addr 10.0.0.5 --metrics-bin "$T/bin/fl-metrics-stub" start
	is_status 0
	: >"$S/systemctl.log"
	run_fll -r superlink --addr 10.0.0.5 --metrics-bin "$T/bin/fl-metrics-stub" start
	is_status 0
	[ ! -e "$UD/flower-metrics.service" ]
	has "removed $UD/flower-metrics.service: this plan runs no fl-metrics"
	has_call systemctl "stop flower-metrics.service"
	has_call systemctl "disable flower-metrics.service"
	has_call systemctl "daemon-reload"
	# Off from the start: no unit, no call.
	: >"$S/systemctl.log"
	run_fll -r superlink --addr 10.0.0.5 --metrics-bin "$T/bin/fl-metrics-stub" start
	no_call systemctl 'metrics'
}

@test "metrics: stop stops fl-metrics, then Flower" {
	slm -r superlink --addr 10.0.0.5 --metrics-bin "$T/bin/fl-metrics-stub" start
	: >"$S/systemctl.log"
	slm -r superlink --addr 10.0.0.5 --metrics-bin "$T/bin/fl-metrics-stub" stop
	is_status 0
	[ "$(calls systemctl)" = $'stop flower-metrics.service\nstop flower-superlink.service' ]
}

@test "metrics: show and metrics-argv: FL_METRICS_ENDPOINT is the VM address and FL_METRICS_PORT" {
	slm -r superlink --addr 10.0.0.5 --metrics-bin "$T/bin/fl-metrics-stub" show
	is_status 0
	assert_line FL_METRICS_ENDPOINT=10.0.0.5:9101
	run_fll -r superlink --addr 10.0.0.5 show
	refute_line --partial FL_METRICS_ENDPOINT
	run_fll -r superlink --addr 10.0.0.5 metrics-argv
	is_status 1
	has "this plan runs no fl-metrics"
}

@test "metrics: without fl-metrics installed, metrics stay off with a warning naming --metrics-bin" {
	mkdir -p "$T/alone"
	cp "$FLKIT_BIN/fl-launch" "$T/alone/"
	run --separate-stderr env -i PATH="$T/bin:$PATH" FL_METRICS_ENABLED=YES "$T/alone/fl-launch" -E -r superlink \
		--addr 10.0.0.5 --flower-dir "$FD" --unit-dir "$UD" --docker "$T/bin/docker" unit
	is_status 0
	has "fl-metrics is not installed beside fl-launch"
	has "--metrics-bin"
}

@test "metrics: a SuperNode with OneGate runs flower-metrics-publish.service for its container; without OneGate none" {
	metrics_stub
	run_fll "$SN_STATIC" ONEGATE_ENDPOINT=http://127.0.0.1:1 VMID=101 -r supernode --metrics-bin "$T/bin/fl-metrics-stub" start
	is_status 0
	grep -qx "ExecStart=$T/bin/fl-metrics-stub publish --container flower-supernode" "$UD/flower-metrics-publish.service"
	grep -qx 'PartOf=flower-supernode.service' "$UD/flower-metrics-publish.service"
	has_call systemctl "enable flower-metrics-publish.service"
	# The token never in argv or the unit.
	run -1 grep -iE 'token|Environment' "$UD/flower-metrics-publish.service"
	: >"$S/systemctl.log"
	run_fll "$SN_STATIC" -r supernode --metrics-bin "$T/bin/fl-metrics-stub" start
	is_status 0
	[ ! -e "$UD/flower-metrics-publish.service" ]
	has_call systemctl "disable flower-metrics-publish.service"
}

@test "metrics: process runtime: fl-metrics runs beside the SuperLink, follows its log, and stops with it" {
	metrics_stub
	PORT=$(free_port)
	OG_ID=(FL_METRICS_ENABLED=YES FL_METRICS_PORT=9101)
	sl_proc --metrics-bin "$T/bin/fl-metrics-stub" start
	is_status 0
	has "flower-metrics: pid "
	wait_for "$FD/metrics.argv"
	local mpid
	read -r mpid _ <"$FD/run/flower-metrics.pid"
	kill -0 "$mpid"
	run -0 cat "$FD/metrics.argv"
	assert_output "serve
--port
9101
--bind
10.0.0.5
--db
$FD/state/state.db
--follow
$FD/logs/flower-superlink.log
--strategy
FedAvg
--force"
	sl_proc --metrics-bin "$T/bin/fl-metrics-stub" status
	is_status 0
	assert_line METRICS=flower-metrics
	assert_line METRICS_RUNNING=yes
	assert_line "METRICS_PID=$mpid"
	# A second start leaves it alone.
	sl_proc --metrics-bin "$T/bin/fl-metrics-stub" start
	is_status 0
	local again
	read -r again _ <"$FD/run/flower-metrics.pid"
	[ "$again" = "$mpid" ]
	sl_proc --metrics-bin "$T/bin/fl-metrics-stub" stop
	is_status 0
	has "stopped flower-metrics (pid $mpid)"
	gone "$mpid"
	[ ! -e "$FD/run/flower-metrics.pid" ]
}

@test "metrics: process runtime: a changed port restarts fl-metrics; metrics off stops it" {
	metrics_stub
	PORT=$(free_port)
	OG_ID=(FL_METRICS_ENABLED=YES FL_METRICS_PORT=9101)
	sl_proc --metrics-bin "$T/bin/fl-metrics-stub" start
	is_status 0
	local m1 m2
	read -r m1 _ <"$FD/run/flower-metrics.pid"
	OG_ID=(FL_METRICS_ENABLED=YES FL_METRICS_PORT=9102)
	sl_proc --metrics-bin "$T/bin/fl-metrics-stub" start
	is_status 0
	read -r m2 _ <"$FD/run/flower-metrics.pid"
	[ "$m1" != "$m2" ]
	gone "$m1"
	OG_ID=()
	sl_proc --metrics-bin "$T/bin/fl-metrics-stub" start
	is_status 0
	has "stopped flower-metrics (pid $m2)"
	gone "$m2"
	sl_proc stop
}

@test "metrics: publish-ready adds FL_METRICS_ENDPOINT when fl-metrics serves" {
	og_ctl POST reset >/dev/null
	og_ctl DELETE requests >/dev/null
	metrics_stub
	PORT=$(free_port)
	OG_ID=("ONEGATE_ENDPOINT=$OG_URL" VMID=100 "TOKENTXT=$T100" FL_METRICS_ENABLED=YES FL_METRICS_PORT=9101)
	sl_proc --metrics-bin "$T/bin/fl-metrics-stub" start
	is_status 0
	wait_listen "$PORT"
	sl_proc --metrics-bin "$T/bin/fl-metrics-stub" publish-ready
	is_status 0
	run -0 put_bodies
	assert_line --partial "FL_TLS=NO|FL_METRICS_ENDPOINT=10.0.0.5:9101 type=1"
	sl_proc --metrics-bin "$T/bin/fl-metrics-stub" stop
}

@test "metrics: process runtime: the real fl-metrics answers /metrics on the VM address beside the SuperLink" {
	PORT=$(free_port)
	local mport
	mport=$(free_port)
	OG_ID=(FL_METRICS_ENABLED=YES "FL_METRICS_PORT=$mport")
	# fl-metrics installed beside fl-launch: no --metrics-bin.
	sl_proc --addr 127.0.0.1 start
	is_status 0
	wait_listen "$mport"
	run -0 curl -sS "http://127.0.0.1:$mport/metrics"
	assert_line --partial 'fl_training_status'
	sl_proc --addr 127.0.0.1 stop
	is_status 0
	! accepts "$mport"
}
