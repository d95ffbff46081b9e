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
