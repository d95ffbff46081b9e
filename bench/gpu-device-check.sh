#!/usr/bin/env bash
# gpu-device-check.sh: the real-hardware check of fl-gpucheck, ONE short script for a borrowed
# GPU machine (a copy of this tree; it need not have the project's Debian packages). It builds
# fl-gpucheck, prints what nvidia-smi says (name, memory, driver) and what fl-gpucheck says
# (detect --env, detect --json, vm --no-docker and its --json, detect --events), whether the two
# agree, and times `fl-gpucheck detect` against nvidia-smi's query and the spec's light check
# (hyperfine when installed, else 50 runs of each timed with date +%s%N): the real ratio that
# bench/gpucheck-detect.sh can only approximate without a GPU.
#
# The build, in order: $FLKIT_BIN/fl-gpucheck when FLKIT_BIN names one (a binary carried over);
# else `make build/bin/fl-gpucheck` (in a temporary BUILD) when pkg-config finds every library
# of the Makefile; else a minimal build of the sources that compile, linked with jansson,
# libcrypto and libdl only (what fl-gpucheck needs). What is missing is printed; with root and
# apt-get, the two development packages are tried (no network is fine: it says so and goes on).
#
# Output: everything it prints, in $OUT/gpu-device-check.txt, with the JSON and the timings beside
# it; $OUT when set, else a temporary directory (printed). The build goes to a temporary
# directory. Every step has a time limit; the whole takes a minute or two (under 5).
#
# Environment: OUT, FLKIT_BIN, BENCH_RUNS (default 30 with hyperfine, 50 without), JOBS (16),
# GPUCHECK_BUILD=minimal (skip make: test the minimal build), BENCH_HYPERFINE=0 (the date loop).
set -u
cd "$(dirname "$0")/.." || exit 1
export LC_ALL=C

out=${OUT:-}
if [ -z "$out" ]; then
	out=$(mktemp -d) || exit 1
fi
mkdir -p "$out" && out=$(cd "$out" && pwd) || exit 1
work=$(mktemp -d) || exit 1
trap 'rm -rf "$work"' EXIT
exec > >(tee "$out/gpu-device-check.txt") 2>&1
jobs=${JOBS:-16}
started=$(date +%s)

step() {
	echo
	echo "== $* ($(($(date +%s) - started)) s)"
}

# run SECONDS COMMAND...: the command with its exit status shown, killed after SECONDS.
run() {
	local limit=$1 rc
	shift
	echo "\$ $*" >&2
	timeout -k 5 "$limit" "$@"
	rc=$?
	[ "$rc" = 0 ] || echo "(exit $rc$([ "$rc" = 124 ] && echo ": timed out after ${limit} s"))" >&2
	return "$rc"
}

step "machine"
echo "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "kernel: $(uname -srm)"
echo "os: $(sed -n 's/^PRETTY_NAME=//p' /etc/os-release 2>/dev/null | tr -d '"')"
echo "cpus: $(nproc) x $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
echo "user: $(id -un 2>/dev/null || id -u)"
echo "output: $out"

step "the driver as the system shows it"
run 5 cat /proc/driver/nvidia/version
grep -E '^(nvidia|nvidia_uvm|nvidia_drm|nvidia_modeset|nouveau|vfio_pci) ' /proc/modules | cut -d ' ' -f 1-3
stat -c '%A %U:%G %t:%T %n' /dev/nvidia* 2>&1 | head -n 12
ldconfig -p 2>/dev/null | grep -F 'libnvidia-ml.so' || echo "ldconfig: no libnvidia-ml.so in the cache"
smi=$(command -v nvidia-smi || true)
smi_line=
if [ -n "$smi" ]; then
	run 60 "$smi" --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$work/smi.csv"
	smi_line=$(head -n 1 "$work/smi.csv")
	run 30 "$smi" --query-gpu=index,pci.bus_id,persistence_mode,mig.mode.current,ecc.mode.current --format=csv
	run 30 "$smi" -L
else
	echo "nvidia-smi: not installed (the comparison below has nothing to compare with)"
fi

step "build fl-gpucheck"
fl=
if [ -n "${FLKIT_BIN:-}" ] && [ -x "$FLKIT_BIN/fl-gpucheck" ]; then
	fl=$(cd "$FLKIT_BIN" && pwd)/fl-gpucheck
	echo "using $fl (FLKIT_BIN)"
fi
cc=${CC:-}
for c in cc gcc clang; do
	[ -n "$cc" ] && break
	command -v "$c" >/dev/null 2>&1 && cc=$c
done
# have_header NAME: whether the compiler finds <NAME>.
have_header() {
	[ -n "$cc" ] && printf '#include <%s>\n' "$1" | "$cc" -E -x c - >/dev/null 2>&1
}
if [ -z "$fl" ]; then
	missing=
	[ -n "$cc" ] || missing="$missing a C compiler (build-essential)"
	command -v make >/dev/null 2>&1 || missing="$missing make"
	have_header jansson.h || missing="$missing jansson.h (libjansson-dev)"
	have_header openssl/evp.h || missing="$missing openssl/evp.h (libssl-dev)"
	if [ -n "$missing" ]; then
		echo "missing:$missing"
		if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
			echo "trying apt-get (without network this fails; the build below says what it can do)"
			timeout -k 5 90 env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
				build-essential pkg-config libjansson-dev libssl-dev >"$out/apt.log" 2>&1 ||
				{ echo "apt-get failed (exit $?); its last lines:"; tail -n 3 "$out/apt.log"; }
		fi
	fi
	if [ "${GPUCHECK_BUILD:-auto}" != minimal ] && command -v make >/dev/null 2>&1 && command -v pkg-config >/dev/null 2>&1 &&
		pkg-config --exists libcrypto libssl libcurl jansson libarchive libmicrohttpd sqlite3 zlib 2>/dev/null; then
		echo "\$ make -j$jobs BUILD=\$tmp/build \$tmp/build/bin/fl-gpucheck"
		if timeout -k 5 180 make -j"$jobs" BUILD="$work/build" "$work/build/bin/fl-gpucheck" >"$out/build.log" 2>&1; then
			fl=$work/build/bin/fl-gpucheck
		else
			echo "make failed; its last lines:"
			tail -n 8 "$out/build.log"
		fi
	elif [ "${GPUCHECK_BUILD:-auto}" = minimal ]; then
		echo "GPUCHECK_BUILD=minimal: a minimal build (jansson, libcrypto, libdl)"
	else
		echo "pkg-config does not find every library of the Makefile: a minimal build (jansson, libcrypto, libdl)"
	fi
fi
if [ -z "$fl" ] && [ -n "$cc" ] && have_header jansson.h && have_header openssl/evp.h; then
	ver=$(sed -n 's/^VERSION[[:space:]]*:=[[:space:]]*//p' Makefile)
	date_=$(sed -n 's/^VERSION_DATE[[:space:]]*:=[[:space:]]*//p' Makefile)
	incs=()
	for d in lib/*/; do
		incs+=("-I$d")
	done
	flags=(-std=gnu11 -O2 -D_GNU_SOURCE "-DFLKIT_VERSION=\"$ver\"" "-DFLKIT_VERSION_DATE=\"$date_\"" "${incs[@]}")
	mkdir -p "$work/min"
	# Every library source that compiles here (those needing curl, libarchive, ... do not, and
	# fl-gpucheck does not need them), then only the objects the link asks for.
	# shellcheck disable=SC2016 # expanded by the sh of each compile
	printf '%s\n' lib/*/*.c | timeout -k 5 180 xargs -P "$jobs" -I{} sh -c \
		'dir=$1 src=$2; shift 2; o="$dir/$(basename "$src" .c).o"; "$@" -c -o "$o" "$src" 2>"$o.err" || rm -f "$o"' \
		sh "$work/min" {} "$cc" "${flags[@]}"
	echo "compiled $(find "$work/min" -name '*.o' | wc -l) of $(printf '%s\n' lib/*/*.c | wc -l) library sources"
	if ar rcs "$work/min/libfl.a" "$work/min"/*.o 2>"$out/build.log" &&
		timeout -k 5 60 "$cc" "${flags[@]}" -o "$work/min/fl-gpucheck" cmd/fl-gpucheck.c "$work/min/libfl.a" \
			-ljansson -lcrypto -ldl >>"$out/build.log" 2>&1; then
		fl=$work/min/fl-gpucheck
	else
		echo "the minimal build failed; its last lines:"
		tail -n 8 "$out/build.log"
	fi
fi
if [ -z "$fl" ]; then
	echo "no fl-gpucheck: nothing more to do (carry a built one and set FLKIT_BIN)"
	exit 1
fi
run 5 "$fl" -V

step "fl-gpucheck detect --env"
run 60 "$fl" detect --env | tee "$work/detect.env"
step "fl-gpucheck detect --json"
run 60 "$fl" detect --json | tee "$out/detect.json"
step "fl-gpucheck detect --env --json (the JSON wins)"
run 60 "$fl" detect --env --json >"$out/detect-env.json"
echo "(in $out/detect-env.json: $(wc -c <"$out/detect-env.json") bytes)"
step "fl-gpucheck vm --no-docker"
run 120 "$fl" vm --no-docker
step "fl-gpucheck vm --no-docker --json"
run 120 "$fl" vm --no-docker --json | tee "$out/vm.json"
step "fl-gpucheck detect --events"
run 60 "$fl" detect --events
step "fl-gpucheck host (this is no KVM host: a GPU on nvidia is its ERROR; shown for the lines)"
run 60 "$fl" host

step "comparison with nvidia-smi"
# val KEY: the value of KEY='...' in detect --env's output.
val() {
	sed -n "s/^$1='\\(.*\\)'\$/\\1/p" "$work/detect.env" | sed "s/'\\\\''/'/g"
}
name=$(val FL_GPU_NAME) mem=$(val FL_GPU_MEMORY_MB) drv=$(val FL_GPU_DRIVER)
echo "fl-gpucheck: ${name:-?}, ${mem:-?} MiB, ${drv:-?}"
echo "nvidia-smi:  ${smi_line:-(none)}"
IFS=, read -r s_name s_mem s_drv <<<"$smi_line"
s_mem=${s_mem# }
s_mem=${s_mem% MiB}
s_drv=${s_drv# }
if [ -n "$smi_line" ] && [ -n "$name" ] && [ "$s_name" = "$name" ] && [ "$s_mem" = "$mem" ] && [ "$s_drv" = "$drv" ]; then
	agree=yes
else
	agree=no
fi
echo "name/memory/driver agree: $agree"

step "timing: fl-gpucheck detect vs nvidia-smi"
light="grep -q '^nvidia ' /proc/modules && $smi --query-gpu=name,memory.total,driver_version --format=csv,noheader"
if [ -z "$smi" ]; then
	echo "no nvidia-smi: nothing to time against"
elif [ "${BENCH_HYPERFINE:-1}" != 0 ] && command -v hyperfine >/dev/null 2>&1; then
	runs=${BENCH_RUNS:-30}
	run 240 hyperfine --shell=none --ignore-failure --warmup 3 --runs "$runs" --style basic --export-json "$out/bench.json" \
		-n fl-gpucheck "$fl -q detect" \
		-n nvidia-smi "$smi --query-gpu=name,memory.total,driver_version --format=csv,noheader" \
		-n light-check "bash -c \"$light\""
	if command -v jq >/dev/null 2>&1 && [ -s "$out/bench.json" ]; then
		jq -r '(.results[] | select(.command == "fl-gpucheck") | .mean) as $f
			| .results[] | "\(.command): mean \(.mean * 1000 | . * 100 | round / 100) ms, median \(.median * 1000 | . * 100 | round / 100) ms, \($f as $x | .mean / $x | . * 10 | round / 10)x fl-gpucheck"' "$out/bench.json"
	fi
else
	runs=${BENCH_RUNS:-50}
	echo "no hyperfine: $runs runs of each, timed with date +%s%N (ms: mean, median)"
	# times NAME COMMAND...: run it $runs times, one duration in ms per line into $work/NAME.ms.
	times() {
		local name=$1 i t0 t1
		shift
		: >"$work/$name.ms"
		for ((i = 0; i < runs; i++)); do
			t0=$(date +%s%N)
			"$@" >/dev/null 2>&1
			t1=$(date +%s%N)
			echo $(((t1 - t0) / 1000)) >>"$work/$name.ms"
		done
	}
	stats() {
		sort -n "$work/$1.ms" | awk '{ v[NR] = $1 / 1000; s += v[NR] }
			END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.2f %.2f", s / NR, m }'
	}
	times fl-gpucheck timeout 60 "$fl" -q detect
	times nvidia-smi timeout 60 "$smi" --query-gpu=name,memory.total,driver_version --format=csv,noheader
	times light-check timeout 60 bash -c "$light"
	read -r fmean _ <<<"$(stats fl-gpucheck)"
	for n in fl-gpucheck nvidia-smi light-check; do
		read -r mean med <<<"$(stats "$n")"
		awk -v n="$n" -v a="$mean" -v m="$med" -v f="$fmean" \
			'BEGIN { printf "%s: mean %.2f ms, median %.2f ms, %.1fx fl-gpucheck\n", n, a, m, (f > 0) ? a / f : 0 }'
	done
fi
echo
echo "name/memory/driver agree: $agree"
echo "done in $(($(date +%s) - started)) s; output in $out"
