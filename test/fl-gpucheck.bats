#!/usr/bin/env bats
# fl-gpucheck: the verdict on the fixture trees of test/fixtures/gpu (sysfs, /proc, /dev under
# --root). These cases are decided before NVML is asked or with NVML absent (--nvml
# /nonexistent), so the machine's own driver never matters; nvidia-smi is never run.

load helpers

G="$FIXTURES/gpu"

# gc TREE ARGS...: fl-gpucheck on a fixture tree, no NVML, no nvidia-smi, stdout and stderr apart.
gc() {
	local tree=$1
	shift
	run --separate-stderr "$FLKIT_BIN/fl-gpucheck" --root "$G/$tree" --nvml /nonexistent --nvidia-smi "" "$@"
}

# json_ok: $output is one JSON document.
json_ok() {
	if command -v jq >/dev/null; then
		jq -e . <<<"$output" >/dev/null
	else
		python3 -m json.tool <<<"$output" >/dev/null
	fi
}

@test "detect: no GPU is FL_GPU_AVAILABLE=NO, exit 0, and says training runs on CPU" {
	gc none detect
	[ "$status" -eq 0 ]
	[ "$output" = "FL_GPU_AVAILABLE=NO" ]
	[[ "$stderr" == *"no NVIDIA GPU on this machine: training runs on CPU (not an error; --require makes it one)"* ]]
}

@test "detect: no GPU with --require is a failure" {
	gc none detect --require
	[ "$status" -eq 1 ]
	[ "$output" = "FL_GPU_AVAILABLE=NO" ]
	[[ "$stderr" == *"no NVIDIA GPU on the PCI bus"* ]]
}

@test "detect: no GPU with --events prints a valid gpu_unavailable event after the KEY=VALUE lines" {
	gc none detect --env --events
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "FL_GPU_AVAILABLE=NO" ]
	[ "${lines[5]}" = "FL_GPU_REASON='none'" ]
	[ "${lines[6]}" = "FL_GPU_DOCKER_FLAGS=''" ]
	output=${lines[7]}
	json_ok
	[[ "$output" == *'"level":"WARNING","logger":"flwr","role":"supernode","event":"gpu_unavailable","data":{"fallback_device":"cpu","reason":"none"}'* ]]
	[[ "$output" == *"\"message\":\"gpu_unavailable: {'fallback_device': 'cpu', 'reason': 'none'}\""* ]]
}

@test "detect: GPU bound to vfio-pci in the VM is a failure with the driverctl fix" {
	gc vfio detect --env
	[ "$status" -eq 1 ]
	[ "${lines[0]}" = "FL_GPU_AVAILABLE=NO" ]
	[[ "$output" == *"FL_GPU_REASON='vfio'"* ]]
	[[ "$stderr" == *"0000:e1:00.0 (H100 SXM5 80GB) is bound to vfio-pci: that is the KVM host's setting; in this VM the nvidia driver must own it"* ]]
	[[ "$stderr" == *"fix: driverctl unset-override 0000:e1:00.0 (or remove the vfio-pci ids= option), install the NVIDIA driver and reboot"* ]]
}

@test "detect: GPU bound to nouveau is a failure with the blacklist fix" {
	gc nouveau detect --env
	[ "$status" -eq 1 ]
	[[ "$output" == *"FL_GPU_REASON='nouveau'"* ]]
	[[ "$stderr" == *"is bound to nouveau"* ]]
	[[ "$stderr" == *"fix: blacklist nouveau (echo 'blacklist nouveau' > /etc/modprobe.d/blacklist-nouveau.conf; update-initramfs -u), install the NVIDIA driver, reboot"* ]]
}

@test "detect: the nvidia module not loaded is module_missing, never nvml_missing" {
	gc no-module detect --env
	[ "$status" -eq 1 ]
	[[ "$output" == *"FL_GPU_REASON='module_missing'"* ]]
	[[ "$stderr" == *"the nvidia kernel module is not loaded"* ]]
	[[ "$stderr" == *"fix: install the driver (apt install nvidia-driver) and reboot, or modprobe nvidia"* ]]
}

@test "detect: module loaded without /dev nodes names nvidia-modprobe" {
	gc no-devnodes detect --env
	[ "$status" -eq 1 ]
	[[ "$output" == *"FL_GPU_REASON='no_device_nodes'"* ]]
	[[ "$stderr" == *"fix: nvidia-modprobe -u -c=0 (or run nvidia-smi once as root); check udev"* ]]
}

@test "detect: module loaded, GPU bound to no driver is no_driver" {
	gc no-driver detect --env
	[ "$status" -eq 1 ]
	[[ "$output" == *"FL_GPU_REASON='no_driver'"* ]]
	[[ "$stderr" == *"is bound to no driver although nvidia"* ]]
}

@test "detect: NVML missing (--nvml /nonexistent) with the module loaded names the user-space packages" {
	gc h100 detect --env
	[ "$status" -eq 1 ]
	[[ "$output" == *"FL_GPU_REASON='nvml_missing'"* ]]
	[[ "$stderr" == *"fix: install the user-space driver matching the kernel module 550.54.15"* ]]
}

@test "detect: the audio function beside a GPU is never a GPU" {
	gc audio detect --json
	json_ok
	# Only display functions are listed: the GPU at .0, not the audio function at .1.
	[[ "$output" == *'"bdf": "0000:e1:00.0"'* ]]
	[[ "$output" != *'"bdf": "0000:e1:00.1"'* ]]
}

@test "detect --json: one valid object with the schema's keys and the verdict" {
	gc vfio detect --json
	[ "$status" -eq 1 ]
	json_ok
	for k in mode result errors warnings checks gpu verdict message fix gpus docker_flags; do
		[[ "$output" == *"\"$k\":"* ]]
	done
	[[ "$output" == *'"mode": "detect"'* ]]
	[[ "$output" == *'"result": "FAIL"'* ]]
	[[ "$output" == *'"verdict": "vfio"'* ]]
	[[ "$output" == *'"gpu": null'* ]]
	[ -z "$stderr" ]
}

@test "detect --json: no GPU passes with an INFO check" {
	gc none detect --json
	[ "$status" -eq 0 ]
	json_ok
	[[ "$output" == *'"result": "PASS"'* ]]
	[[ "$output" == *'"status": "INFO"'* ]]
}

@test "usage: an unknown verb, an option of another verb, no verb are usage errors (exit 2)" {
	gc none frobnicate
	[ "$status" -eq 2 ]
	gc none host --require
	[ "$status" -eq 2 ]
	gc none
	[ "$status" -eq 2 ]
}

@test "detect: --root pointing at a missing directory finds no GPU" {
	run --separate-stderr "$FLKIT_BIN/fl-gpucheck" --root "$BATS_TEST_TMPDIR/absent" --nvml /nonexistent \
		--nvidia-smi "" detect --require
	[ "$status" -eq 1 ]
	[ "$output" = "FL_GPU_AVAILABLE=NO" ]
}

# --- vm, host and detect with the stub NVML (test/gpu/README), a fake nvidia-smi and a fake
# docker (test/gpu): every spec test of design 04 §8.1 and each NVML failure mode.

NVML="$BATS_TEST_DIRNAME/../${FLKIT_BUILD:-build}/test/nvml/libnvidia-ml.so.1"

# stub KEY=VALUE...: the stub NVML's knob file for this test.
stub() {
	printf '%s\n' "$@" >"$BATS_TEST_TMPDIR/nvml.conf"
	export FLKIT_NVML_STUB="$BATS_TEST_TMPDIR/nvml.conf"
}

# fakes [SMI_KEY=VALUE...]: nvidia-smi and docker fakes in $BATS_TEST_TMPDIR/bin; knobs go to
# their .env files (the tool gives children a built environment).
fakes() {
	local b="$BATS_TEST_TMPDIR/bin"
	mkdir -p "$b"
	ln -sf "$BATS_TEST_DIRNAME/gpu/fake-nvidia-smi" "$b/nvidia-smi"
	ln -sf "$BATS_TEST_DIRNAME/gpu/fake-docker" "$b/docker"
	: >"$b/nvidia-smi.env"
	: >"$b/docker.env"
	echo "FAKE_DOCKER_LOG=$BATS_TEST_TMPDIR/docker.argv" >>"$b/docker.env"
}

# gv TREE ARGS...: fl-gpucheck with the stub NVML, the fakes, and the tree's daemon.json unless
# ARGS name another.
gv() {
	local tree=$1
	shift
	[ -d "$BATS_TEST_TMPDIR/bin" ] || fakes
	run --separate-stderr "$FLKIT_BIN/fl-gpucheck" --root "$G/$tree" --nvml "$NVML" \
		--nvidia-smi "$BATS_TEST_TMPDIR/bin/nvidia-smi" --docker "$BATS_TEST_TMPDIR/bin/docker" "$@"
}

# results: the result lines of the text report without the timestamps ("OK: ...").
results() {
	sed -n 's/^\[[0-9-]* [0-9:]*\]   \([A-Z]*: .*\)$/\1/p' <<<"$output"
}

h100_smi() {
	echo "FAKE_SMI_OUTPUT='NVIDIA H100 80GB HBM3, 81559 MiB, 550.54.15'" >"$BATS_TEST_TMPDIR/bin/nvidia-smi.env"
}

@test "vm: everything passes: the spec's four OK lines and the INFO line, the PASSED summary, exit 0" {
	fakes
	h100_smi
	gv h100 vm
	[ "$status" -eq 0 ]
	spec=$(results | grep -v '\[extra\]')
	[ "$spec" = "OK: nvidia module loaded
OK: GPU detected - NVIDIA H100 80GB HBM3 (81559 MiB)
OK: Docker configured for NVIDIA runtime
OK: Docker containers can access GPU
INFO: Driver version: 550.54.15" ]
	# every line is the spec's log() line; a blank line before the summary
	[[ "${lines[0]}" =~ ^\[[0-9]{4}-[0-9]{2}-[0-9]{2}\ [0-9]{2}:[0-9]{2}:[0-9]{2}\]\ Checking\ NVIDIA\ kernel\ module\.\.\.$ ]]
	[[ "$output" == *$'\n\n['*'] GPU validation PASSED: All checks successful' ]]
	# no [extra] check complained: nvidia-smi agrees with NVML
	! results | grep -q '^WARNING'
	# the smoke test ran docker with the runtime's flags and the default image
	[ "$(tr '\n' ' ' <"$BATS_TEST_TMPDIR/docker.argv")" = "$BATS_TEST_TMPDIR/bin/docker run --rm --gpus all nvidia/cuda:12.0.0-base-ubuntu22.04 nvidia-smi -L " ]
}

@test "vm: no nvidia module and nvidia-smi exiting 9 is 2 errors with --no-docker, exit 1" {
	fakes
	echo "FAKE_SMI_RC=9" >"$BATS_TEST_TMPDIR/bin/nvidia-smi.env"
	gv no-module vm --no-docker --daemon-json "$FIXTURES/gpu-ctr/runtime/etc/docker/daemon.json"
	[ "$status" -eq 1 ]
	results | grep -qx 'ERROR: nvidia module not loaded'
	results | grep -q '^ERROR: the nvidia kernel module is not loaded'
	results | grep -qx 'INFO: Docker GPU access not tested (--no-docker; not a check of the spec)'
	[[ "${lines[-1]}" == *"] GPU validation FAILED: 2 error(s) detected" ]]
	# each ERROR has its FIX line
	[[ "$output" == *"FIX: install the driver (apt install nvidia-driver) and reboot, or modprobe nvidia"* ]]
	[ ! -e "$BATS_TEST_TMPDIR/docker.argv" ]
}

@test "vm: daemon.json without the nvidia runtime is one error at check 3, and docker is not tried" {
	fakes
	h100_smi
	echo '{"log-driver": "json-file", "note": "nvidia"}' >"$BATS_TEST_TMPDIR/daemon.json"
	gv h100 vm --daemon-json "$BATS_TEST_TMPDIR/daemon.json"
	[ "$status" -eq 1 ]
	results | grep -q "^ERROR: Docker not configured for NVIDIA runtime (no runtimes.nvidia in $BATS_TEST_TMPDIR/daemon.json"
	results | grep -q '^ERROR: Docker GPU access failed: not tried, neither an NVIDIA runtime nor a CDI specification (check 3)'
	[[ "$output" == *"FIX: configure the NVIDIA Container Toolkit: nvidia-ctk runtime configure --runtime=docker && systemctl restart docker"* ]]
	[ ! -e "$BATS_TEST_TMPDIR/docker.argv" ]
	gv h100 vm --daemon-json "$BATS_TEST_TMPDIR/daemon.json" --no-docker
	[ "$status" -eq 1 ]
	[[ "${lines[-1]}" == *"] GPU validation FAILED: 1 error(s) detected" ]]
}

@test "vm --json: an A100 with 40960 MiB and driver 550.54.15 in gpu, the checks with ids, valid JSON" {
	fakes
	stub "gpu0.name=NVIDIA A100-SXM4-40GB" gpu0.memory_mb=40960 driver=550.54.15
	gv h100 vm --json --no-docker
	[ "$status" -eq 0 ]
	json_ok
	[ "$(jq -c .gpu <<<"$output")" = '{"name":"NVIDIA A100-SXM4-40GB","memory_mb":40960,"driver_version":"550.54.15"}' ]
	[ "$(jq -r '.mode, .result, .errors' <<<"$output" | tr '\n' ' ')" = "vm PASS 0 " ]
	[ "$(jq -r '[.checks[] | select(.id <= 5) | .name] | join(" ")' <<<"$output")" = "nvidia_module gpu container_toolkit docker_access driver_version" ]
	[ "$(jq -r '.checks[] | select(.name == "nvidia_smi") | .status' <<<"$output")" = OK ]
	[ -z "$stderr" ]
}

@test "vm: a GPU bound to vfio-pci passes host and fails vm" {
	fakes
	gc vfio host
	[ "$status" -eq 0 ]
	gv vfio vm --no-docker
	[ "$status" -eq 1 ]
	results | grep -q '^ERROR: 0000:e1:00.0 (H100 SXM5 80GB) is bound to vfio-pci'
	[[ "$output" == *"FIX: driverctl unset-override 0000:e1:00.0"* ]]
}

@test "vm: docker that cannot select the nvidia driver is an error with the nvidia-ctk fix" {
	fakes
	h100_smi
	cat >>"$BATS_TEST_TMPDIR/bin/docker.env" <<-'E'
		FAKE_DOCKER_RC=125
		FAKE_DOCKER_OUTPUT='docker: Error response from daemon: could not select device driver "nvidia" with capabilities: [[gpu]].'
	E
	gv h100 vm
	[ "$status" -eq 1 ]
	results | grep -q '^ERROR: Docker GPU access failed: docker run nvidia/cuda:12.0.0-base-ubuntu22.04 nvidia-smi -L exited 125: Docker has no NVIDIA runtime'
	[[ "$output" == *"FIX: restart Docker and re-run nvidia-ctk runtime configure --runtime=docker"* ]]
	[[ "${lines[-1]}" == *"GPU validation FAILED: 1 error(s) detected" ]]
}

@test "vm: no docker is an error of check 4 (not exit 3) naming --no-docker; --image is used" {
	fakes
	h100_smi
	gv h100 vm --docker "$BATS_TEST_TMPDIR/absent-docker"
	[ "$status" -eq 1 ]
	[[ "$output" == *"FIX: install Docker or start it (systemctl start docker), or skip this check with --no-docker"* ]]
	gv h100 vm --image registry.local/cuda:12.4.1-base
	[ "$status" -eq 0 ]
	grep -qx 'registry.local/cuda:12.4.1-base' "$BATS_TEST_TMPDIR/docker.argv"
}

@test "vm: nvidia-smi disagreeing with NVML is an [extra] WARNING, an error only with --strict" {
	fakes
	gv h100 vm --no-docker
	[ "$status" -eq 0 ]
	results | grep -q "^WARNING: \[extra\] nvidia-smi names GPU 0 'NVIDIA A100-SXM4-40GB', NVML 'NVIDIA H100 80GB HBM3'"
	[[ "${lines[-1]}" == *"GPU validation PASSED: All checks successful" ]]
	gv h100 vm --no-docker --strict
	[ "$status" -eq 1 ]
	results | grep -q "^ERROR: \[extra\] nvidia-smi names GPU 0"
}

@test "vm --events: the gpu_detected event line after the summary" {
	fakes
	h100_smi
	gv h100 vm --no-docker --events
	[ "$status" -eq 0 ]
	output=${lines[-1]}
	json_ok
	[[ "$output" == *'"event":"gpu_detected","data":{"gpu_name":"NVIDIA H100 80GB HBM3","gpu_memory_mb":81559,"driver_version":"550.54.15"}'* ]]
}

@test "host: a kernel command line without an IOMMU is an ERROR with its FIX line, exit 1, all six checks run" {
	gc host-noiommu host
	[ "$status" -eq 1 ]
	grep -q '^\[.*\]   ERROR: IOMMU not enabled in kernel parameters$' <<<"$output"
	grep -q '^\[.*\]   FIX: add intel_iommu=on iommu=pt (Intel) or amd_iommu=on iommu=pt (AMD) to GRUB_CMDLINE_LINUX_DEFAULT' <<<"$output"
	grep -q '^\[.*\]   ERROR: No IOMMU groups found$' <<<"$output"
	[ "$(grep -c '\] Checking ' <<<"$output")" -eq 6 ]
	[[ "${lines[-1]}" == *"] Host GPU passthrough validation FAILED: 2 error(s), 3 warning(s)" ]]
}

@test "host: only warnings (vfio-pci not loaded, no udev rule) pass with exit 0" {
	gc host-warn host
	[ "$status" -eq 0 ]
	grep -q 'WARNING: vfio-pci module not loaded' <<<"$output"
	grep -q 'WARNING: VFIO udev rules not found' <<<"$output"
	[[ "${lines[-1]}" == *"] Host GPU passthrough validation PASSED with WARNINGS: 2 warning(s)" ]]
}

@test "host: a GPU bound to nouveau is an ERROR with the driverctl fix" {
	gc host-nouveau host
	[ "$status" -eq 1 ]
	grep -q 'ERROR: 0000:e1:00.0 (H100 SXM5 80GB) bound to nouveau (should be vfio-pci)$' <<<"$output"
	grep -q 'FIX: driverctl set-override 0000:e1:00.0 vfio-pci$' <<<"$output"
}

@test "host: a healthy host passes; the audio function is skipped; --json is one object" {
	gc vfio host
	[ "$status" -eq 0 ]
	[[ "${lines[-1]}" == *"] Host GPU passthrough validation PASSED: All checks successful" ]]
	[ "$(grep -c 'bound to' <<<"$output")" -eq 1 ]
	gc vfio host --json
	[ "$status" -eq 0 ]
	json_ok
	[ "$(jq -r '[.mode, .result, .errors, .warnings, (.checks | length)] | join(" ")' <<<"$output")" = "host PASS 0 0 6" ]
	gc none host
	[ "$status" -eq 1 ]
	grep -q 'WARNING: No NVIDIA GPUs found$' <<<"$output"
}

@test "detect: a usable H100 from NVML: the env lines, the runtime's flags, exit 0" {
	fakes
	gv h100 detect --env
	[ "$status" -eq 0 ]
	[ "$output" = "FL_GPU_AVAILABLE=YES
FL_GPU_NAME='NVIDIA H100 80GB HBM3'
FL_GPU_MEMORY_MB='81559'
FL_GPU_DRIVER='550.54.15'
FL_GPU_COUNT='1'
FL_GPU_REASON='usable'
FL_GPU_DOCKER_FLAGS='--gpus all'" ]
}

@test "detect: a CDI specification without the runtime gives --device nvidia.com/gpu=all" {
	cp -r "$G/h100" "$BATS_TEST_TMPDIR/root"
	cp -r "$FIXTURES/gpu-ctr/cdi-etc/etc/." "$BATS_TEST_TMPDIR/root/etc/"
	run --separate-stderr "$FLKIT_BIN/fl-gpucheck" --root "$BATS_TEST_TMPDIR/root" --nvml "$NVML" --nvidia-smi "" detect --env
	[ "$status" -eq 0 ]
	[[ "$output" == *"FL_GPU_DOCKER_FLAGS='--device nvidia.com/gpu=all'"* ]]
}

@test "detect: a usable GPU without container access is YES with the nvidia-ctk WARNING" {
	echo '{}' >"$BATS_TEST_TMPDIR/daemon.json"
	gv h100 detect --env --daemon-json "$BATS_TEST_TMPDIR/daemon.json"
	[ "$status" -eq 0 ]
	[[ "$output" == *"FL_GPU_DOCKER_FLAGS=''"* ]]
	[[ "$stderr" == *"[WARN]"*"no container access"*"nvidia-ctk runtime configure --runtime=docker"* ]]
}

# stub_case KNOBS... -- REASON TEXT FIX: detect on the h100 tree with the stub's knobs fails with
# FL_GPU_REASON=REASON, TEXT and "fix: FIX" on stderr.
stub_case() {
	local knobs=()
	while [ "$1" != -- ]; do
		knobs+=("$1")
		shift
	done
	shift
	stub "${knobs[@]}"
	gv h100 detect --env --timeout 2
	[ "$status" -eq 1 ] || { echo "status $status: $stderr"; return 1; }
	[[ "$output" == *"FL_GPU_AVAILABLE=NO"* ]]
	[[ "$output" == *"FL_GPU_REASON='$1'"* ]] || { echo "$output"; return 1; }
	[[ "$stderr" == *"$2"* ]] || { echo "$stderr"; return 1; }
	[[ "$stderr" == *"fix: $3"* ]] || { echo "$stderr"; return 1; }
}

@test "detect: NVML's driver/library mismatch (18) names both versions and the reboot" {
	stub_case init=18 -- mismatch "Driver/library version mismatch" "reboot to load the upgraded kernel module"
}

@test "detect: a lost GPU (NVML 15) is gpu_lost with Xid 79 in the fix" {
	stub_case gpu0.lost=1 -- gpu_lost "has fallen off the bus" "reboot the VM; if it recurs, check the host (dmesg Xid 79"
}

@test "detect: NVML refusing this user (4) is no_permission" {
	stub_case init=4 -- no_permission "" "run as root or add the user to the group owning /dev/nvidia*"
}

@test "detect: MIG enabled without instances is mig_no_instances" {
	stub_case gpu0.mig=1 gpu0.mig_instances=0 -- mig_no_instances "has MIG enabled and no GPU instance" "create instances (nvidia-smi mig -cgi"
}

@test "detect: uncorrectable ECC errors and a failed row remap are ecc" {
	stub_case gpu0.ecc_uncorrected=3 -- ecc "3 uncorrectable ECC error(s)" "drain the node, reset the GPU"
	stub_case gpu0.remap_failure=1 -- ecc "row remapping failed" "drain the node, reset the GPU (nvidia-smi -r -i 0) or reboot; a row-remap failure means the GPU needs service (RMA)"
}

@test "detect: an NVML that hangs is killed after --timeout and is nvml_error, never a hang" {
	stub_case init=hang -- nvml_error "did not answer within" "dmesg | grep -i nvrm"
}

@test "detect: two GPUs, the second lost: the verdict is about the broken one" {
	stub count=2 "gpu0.pci=00000000:41:00.0" "gpu1.pci=00000000:C1:00.0" gpu1.lost=1
	gv two-gpus detect --env
	[ "$status" -eq 1 ]
	[[ "$output" == *"FL_GPU_REASON='gpu_lost'"* ]]
	[[ "$stderr" == *"GPU 1 (0000:c1:00.0)"* ]]
}

@test "vm: a hung nvidia-smi is killed after --timeout and is one [extra] WARNING, never a hang" {
	fakes
	echo "FAKE_SMI_OUTPUT=''; sleep 60" >"$BATS_TEST_TMPDIR/bin/nvidia-smi.env"
	gv h100 vm --no-docker --timeout 1
	[ "$status" -eq 0 ]
	[ "$(results | grep -c 'nvidia-smi failed')" -eq 1 ]
	results | grep -qx 'WARNING: \[extra\] nvidia-smi failed: did not answer within 1000 ms; killed it'
	echo "FAKE_SMI_RC=9; FAKE_SMI_OUTPUT='NVIDIA-SMI has failed because it could not communicate with the NVIDIA driver.'" >"$BATS_TEST_TMPDIR/bin/nvidia-smi.env"
	gv h100 vm --no-docker
	results | grep -qx 'WARNING: \[extra\] nvidia-smi failed (exit 9): NVIDIA-SMI has failed because it could not communicate with the NVIDIA driver.'
}
