#!/usr/bin/env bash
# gpucheck-detect.sh: the boot-time GPU check, `fl-gpucheck detect` (sysfs, /proc, /dev, NVML by
# dlopen, one process) against the spec's light check in bash (`grep -q '^nvidia ' /proc/modules
# && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader`): both in ONE
# hyperfine run, then the ratio (goal: detect at least 10x faster; it runs on every boot and in
# health checks).
#
# Without a GPU (the usual case here) both sides read the h100 fixture tree: fl-gpucheck with
# --root and the stub libnvidia-ml.so.1 the build makes, the bash side the tree's proc/modules
# and a fake nvidia-smi (test/gpu/fake-nvidia-smi) that prints what detect found. That compares
# process start-up and file reading only: the stub and the fake answer at once, where the real
# NVML and nvidia-smi talk to the driver. The real ratio comes from bench/gpu-device-check.sh on
# a GPU machine. When nvidia-smi works here and the nvidia module is loaded, the real ones are
# compared instead (root /, the system's NVML and nvidia-smi).
#
# Before timing, both sides must agree on the GPU's name, memory and driver, else nothing is
# timed.
#
# Environment: FLKIT_BIN (default build/bin), FLKIT_BUILD (where the stub is; default
# FLKIT_BIN/..), BENCH_RUNS (default 200), BENCH_OUT (the hyperfine output and JSON; default
# the build directory's bench/), BENCH_GPU_REAL=0 (use the fixture even on a GPU machine).
set -u
cd "$(dirname "$0")/.." || exit 1

# shellcheck source=bench/lib.sh
. bench/lib.sh
bench_setup gpucheck-detect.sh fl-gpucheck "hyperfine jq bc" "hyperfine jq bc"
fl=$(cd "$FLKIT_BIN" && pwd)/fl-gpucheck
runs=${BENCH_RUNS:-200}
case $runs in
'' | *[!0-9]* | 0)
	echo "gpucheck-detect.sh: BENCH_RUNS is a count above 0, not '$runs'" >&2
	exit 2
	;;
esac
export LC_ALL=C
for v in $(compgen -e); do
	case $v in
	FL_* | FLOWER_* | ML_* | ONEAPP_* | FLKIT_CONTEXT | FLKIT_NVML_STUB | FAKE_SMI_*) unset "$v" ;;
	esac
done

tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

q() {
	printf '%q' "$1"
}

# env_value KEY FILE: the value of KEY='...' in detect --env's output (one level of quotes).
env_value() {
	sed -n "s/^$1='\\(.*\\)'\$/\\1/p" "$2" | sed "s/'\\\\''/'/g"
}

real=0
if [ "${BENCH_GPU_REAL:-1}" != 0 ] && command -v nvidia-smi >/dev/null 2>&1 &&
	grep -q '^nvidia ' /proc/modules 2>/dev/null &&
	nvidia-smi --query-gpu=name --format=csv,noheader >/dev/null 2>&1; then
	real=1
fi

if [ "$real" = 1 ]; then
	root=/
	smi=$(command -v nvidia-smi)
	fl_cmd="$(q "$fl") -E -q detect"
	mode="a real GPU: the system's NVML and $smi"
else
	root=$PWD/test/fixtures/gpu/h100
	build=${FLKIT_BUILD:-$(cd "$FLKIT_BIN/.." && pwd)}
	stub_dir=$build/test/nvml
	if [ ! -e "$stub_dir/libnvidia-ml.so.1" ]; then
		echo "gpucheck-detect.sh: $stub_dir/libnvidia-ml.so.1 not found; build first (make, or set FLKIT_BUILD)" >&2
		exit 1
	fi
	# The tool's own dlopen("libnvidia-ml.so.1") finds the stub, as production finds the driver's.
	export LD_LIBRARY_PATH=$stub_dir
	mkdir "$tmp/bin" || exit 1
	if [ -x test/gpu/fake-nvidia-smi ]; then
		ln -s "$PWD/test/gpu/fake-nvidia-smi" "$tmp/bin/nvidia-smi" || exit 1
	else
		# A stand-in until the test suite's fake exists: the same two knobs.
		# shellcheck disable=SC2016 # expanded by the stand-in, not here
		printf '#!/bin/sh\nprintf "%%s\\n" "${FAKE_SMI_OUTPUT:-NVIDIA A100-SXM4-40GB, 40960 MiB, 550.54.15}"; exit "${FAKE_SMI_RC:-0}"\n' >"$tmp/bin/nvidia-smi" &&
			chmod 755 "$tmp/bin/nvidia-smi" || exit 1
	fi
	smi=$tmp/bin/nvidia-smi
	fl_cmd="$(q "$fl") -E -q --root $(q "$root") --nvidia-smi '' detect"
	mode="NO GPU: the h100 fixture, the stub NVML ($stub_dir) and a fake nvidia-smi (process cost only; the real ratio comes from bench/gpu-device-check.sh on a GPU machine)"
fi
modules=/proc/modules
[ "$real" = 1 ] || modules=$root/proc/modules
sh_cmd="bash -c $(q "grep -q '^nvidia ' $(q "$modules") && $(q "$smi") --query-gpu=name,memory.total,driver_version --format=csv,noheader")"

# What detect finds, then the bash side told (fake) or asked (real) the same.
if ! eval "$fl_cmd --env" >"$tmp/detect.env" 2>"$tmp/detect.err"; then
	echo "gpucheck-detect.sh: fl-gpucheck detect failed on $root; not timing anything:" >&2
	cat "$tmp/detect.env" "$tmp/detect.err" >&2
	exit 1
fi
name=$(env_value FL_GPU_NAME "$tmp/detect.env")
mem=$(env_value FL_GPU_MEMORY_MB "$tmp/detect.env")
drv=$(env_value FL_GPU_DRIVER "$tmp/detect.env")
if ! grep -qx 'FL_GPU_AVAILABLE=YES' "$tmp/detect.env" || [ -z "$name" ]; then
	echo "gpucheck-detect.sh: fl-gpucheck detect finds no usable GPU on $root; not timing anything:" >&2
	cat "$tmp/detect.env" "$tmp/detect.err" >&2
	exit 1
fi
[ "$real" = 1 ] || export FAKE_SMI_OUTPUT="$name, $mem MiB, $drv" FAKE_SMI_RC=0
if ! eval "$sh_cmd" >"$tmp/smi.out" 2>&1; then
	echo "gpucheck-detect.sh: the bash light check failed; not timing anything:" >&2
	cat "$tmp/smi.out" >&2
	exit 1
fi
IFS=, read -r s_name s_mem s_drv <"$tmp/smi.out"
s_mem=${s_mem# }
s_mem=${s_mem% MiB}
s_drv=${s_drv# }
if [ "$s_name" != "$name" ] || [ "$s_mem" != "$mem" ] || [ "$s_drv" != "$drv" ]; then
	echo "gpucheck-detect.sh: the two sides disagree; not timing anything" >&2
	echo "  fl-gpucheck: $name, $mem MiB, $drv" >&2
	echo "  nvidia-smi:  $(head -n 1 "$tmp/smi.out")" >&2
	exit 1
fi

echo "# $(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) CPU(s): $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
echo "# $(uname -sr); $(hyperfine --version); hyperfine output and JSON: $out"
echo "# compared on $mode"
echo "# both found: $name, $mem MiB, driver $drv"

if ! hyperfine --shell=none --warmup 5 --runs "$runs" --style basic \
	--export-json "$out/gpucheck-detect.json" \
	-n fl-gpucheck "$fl_cmd" \
	-n bash-nvidia-smi "$sh_cmd" \
	>"$out/gpucheck-detect.txt" 2>&1; then
	cat "$out/gpucheck-detect.txt" >&2
	exit 1
fi

ms() {
	jq -r --arg n "$1" --arg f "$2" '.results[] | select(.command == $n) | .[$f] * 1000' "$out/gpucheck-detect.json"
}
f=$(ms fl-gpucheck mean) fs=$(ms fl-gpucheck stddev) fm=$(ms fl-gpucheck median)
b=$(ms bash-nvidia-smi mean) bs=$(ms bash-nvidia-smi stddev) bm=$(ms bash-nvidia-smi median)
echo
printf '%-16s %6s %18s %10s\n' "" runs "mean ms" "median ms"
printf '%-16s %6d %9.2f ± %-6.2f %10.2f\n' fl-gpucheck "$runs" "$f" "$fs" "$fm"
printf '%-16s %6d %9.2f ± %-6.2f %10.2f\n' bash-nvidia-smi "$runs" "$b" "$bs" "$bm"
printf 'ratio: fl-gpucheck detect %.1fx faster than the light check by mean, %.1fx by median (goal >= 10x)\n' \
	"$(echo "$b / $f" | bc -l)" "$(echo "$bm / $fm" | bc -l)"
if [ "$real" = 0 ]; then
	echo "note: no GPU here, so this is against the stub NVML and a fake nvidia-smi: it measures process"
	echo "      start-up and file reading, not the driver. Run bench/gpu-device-check.sh on a GPU machine"
	echo "      for the real ratio."
fi
