#!/usr/bin/env bash
# ckpt.sh: fl-ckpt's throughput against the plain tools doing less: `fl-ckpt save` (copy and
# SHA-256 in one pass, fsync, verify, rename, manifest, link, metadata) against `cp` then
# `sync -f` (a durable copy, no hash); `fl-ckpt verify --round N` of the saved round (zip and
# NPY structure, CRC-32, and the SHA-256 against the manifest, in one pass) against `sha256sum`. Files of random float32 written by numpy's np.savez, 1 MiB,
# 100 MiB and 1 GiB by default; both commands of a pair in ONE hyperfine run, the source in
# the page cache (warm-up runs), the copies on the same file system as the source. Then the
# peak RSS of save and verify of the largest file (/usr/bin/time -v).
#
# Environment: FLKIT_BIN (default build/bin, relative to the repo root), BENCH_CKPT_SIZES
# (MiB, default "1 100 1024"), BENCH_CKPT_DIR (where the files go; default a new directory
# made by mktemp -d ($TMPDIR), removed at the end; it needs 3 x the largest size free), BENCH_OUT
# (hyperfine's JSON; default the build directory's bench/).
set -u
cd "$(dirname "$0")/.." || exit 1

# shellcheck source=bench/lib.sh
. bench/lib.sh
bench_setup ckpt.sh fl-ckpt "hyperfine jq bc" "hyperfine jq bc"
fl=$(cd "$FLKIT_BIN" && pwd)/fl-ckpt
py=.venv/bin/python
[ -x "$py" ] || py=python3
if ! "$py" -c 'import numpy' 2>/dev/null; then
	echo "ckpt.sh: $py has no numpy (scripts/bootstrap makes .venv; Debian: python3-numpy)" >&2
	exit 1
fi
sizes=${BENCH_CKPT_SIZES:-1 100 1024}
export LC_ALL=C
for v in $(compgen -e); do
	case $v in
	FL_* | FLOWER_* | ML_* | ONEAPP_* | FLKIT_*) unset "$v" ;;
	esac
done

max=0
for s in $sizes; do
	case $s in
	'' | *[!0-9]* | 0)
		echo "ckpt.sh: BENCH_CKPT_SIZES holds whole MiB counts above 0, not '$s'" >&2
		exit 2
		;;
	esac
	[ "$s" -gt "$max" ] && max=$s
done
if [ -n "${BENCH_CKPT_DIR:-}" ]; then
	tmp=$BENCH_CKPT_DIR/ckpt-bench.$$
	mkdir -p "$tmp" || exit 1
else
	tmp=$(mktemp -d) || exit 1
fi
trap 'rm -rf "$tmp"' EXIT
free_mib=$(($(df -Pk "$tmp" | awk 'NR == 2 { print $4 }') / 1024))
if [ "$free_mib" -lt $((3 * max + 64)) ]; then
	echo "ckpt.sh: $tmp has $free_mib MiB free; the $max MiB case needs $((3 * max + 64)) (set BENCH_CKPT_DIR or BENCH_CKPT_SIZES)" >&2
	exit 1
fi

q() {
	printf '%q' "$1"
}

ms() {
	jq -r --arg n "$2" --arg f "$3" '.results[] | select(.command == $n) | .[$f] * 1000' "$1"
}

# runs MIB: fewer runs for bigger files (each 1 GiB save writes and syncs 1 GiB).
runs() {
	if [ "$1" -ge 512 ]; then
		echo 3
	elif [ "$1" -ge 64 ]; then
		echo 5
	else
		echo 30
	fi
}

echo "# $(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) CPU(s): $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
echo "# $(uname -sr); $(hyperfine --version); files under $tmp ($(df -PT "$tmp" | awk 'NR == 2 { print $2 }'))"
echo "# hyperfine output and JSON: $out"

owner="$(id -u):$(id -g)"
save_rows=() verify_rows=()
for s in $sizes; do
	f=$tmp/src-$s.npz
	"$py" test/ckpt/make-npz.py "$f" "$s" || exit 1
	bytes=$(stat -c %s "$f")
	mib=$(echo "$bytes / 1048576" | bc -l)
	# Both must work before anything is timed.
	if ! "$fl" verify "$f" >/dev/null 2>&1 || ! "$fl" --dir "$tmp/check" --owner "$owner" init >/dev/null 2>&1 ||
		! "$fl" --dir "$tmp/check" --owner "$owner" save --round 1 --from "$f" >/dev/null 2>&1 ||
		! cmp -s "$f" "$tmp/check/checkpoint_round_1.npz"; then
		echo "ckpt.sh: fl-ckpt does not verify or save $f; not timing anything" >&2
		exit 1
	fi
	n=$(runs "$s")
	json=$out/ckpt-save-$s.json
	if ! hyperfine --warmup 1 --runs "$n" --style basic --export-json "$json" \
		--prepare "rm -rf $(q "$tmp/dst") && mkdir $(q "$tmp/dst")" \
		-n fl-ckpt-save "$(q "$fl") --dir $(q "$tmp/dst") --owner $owner save --round 1 --from $(q "$f")" \
		-n cp-sync "cp $(q "$f") $(q "$tmp/dst/copy.npz") && sync -f $(q "$tmp/dst/copy.npz")" \
		>"$out/ckpt-save-$s.txt" 2>&1; then
		cat "$out/ckpt-save-$s.txt" >&2
		exit 1
	fi
	a=$(ms "$json" fl-ckpt-save mean)
	b=$(ms "$json" cp-sync mean)
	save_rows+=("$(printf '%8d %5d %12.1f %10.1f %12.1f %10.1f %9.2fx' "$s" "$n" "$a" "$(echo "$mib * 1000 / $a" | bc -l)" \
		"$b" "$(echo "$mib * 1000 / $b" | bc -l)" "$(echo "$b / $a" | bc -l)")")
	json=$out/ckpt-verify-$s.json
	if ! hyperfine --warmup 2 --runs "$n" --style basic --export-json "$json" \
		-n fl-ckpt-verify "$(q "$fl") --dir $(q "$tmp/check") verify --round 1" \
		-n sha256sum "sha256sum $(q "$tmp/check/checkpoint_round_1.npz")" \
		>"$out/ckpt-verify-$s.txt" 2>&1; then
		cat "$out/ckpt-verify-$s.txt" >&2
		exit 1
	fi
	a=$(ms "$json" fl-ckpt-verify mean)
	b=$(ms "$json" sha256sum mean)
	verify_rows+=("$(printf '%8d %5d %12.1f %10.1f %12.1f %10.1f %9.2fx' "$s" "$n" "$a" "$(echo "$mib * 1000 / $a" | bc -l)" \
		"$b" "$(echo "$mib * 1000 / $b" | bc -l)" "$(echo "$b / $a" | bc -l)")")
	rm -rf "$tmp/check"
	[ "$s" -eq "$max" ] || rm -f "$f"
done

# Peak RSS (kB) of COMMAND...: /usr/bin/time -v, else Python's getrusage of the child.
peak_rss() {
	if [ -x /usr/bin/time ]; then
		/usr/bin/time -v "$@" 2>&1 >/dev/null | sed -n 's/^[[:space:]]*Maximum resident set size (kbytes): //p'
	else
		"$py" -c 'import resource, subprocess, sys
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)' "$@"
	fi
}
f=$tmp/src-$max.npz
rm -rf "$tmp/dst" && mkdir "$tmp/dst"
rss_save=$(peak_rss "$fl" --dir "$tmp/dst" --owner "$owner" save --round 1 --from "$f")
rss_verify=$(peak_rss "$fl" --dir "$tmp/dst" verify --round 1)
rss_sha=$(peak_rss sha256sum "$f")

# Where a save's time goes (no perf here): the wall-clock time inside each system call
# (strace -c -w), the rest being user-space work (SHA-256, CRC-32, inflate) and scheduling.
phases=
if command -v strace >/dev/null 2>&1; then
	rm -rf "$tmp/dst" && mkdir "$tmp/dst"
	now=${EPOCHREALTIME/./}
	strace -f -c -w -o "$out/ckpt-save-$max.strace" "$fl" --dir "$tmp/dst" --owner "$owner" save --round 1 \
		--from "$f" >/dev/null 2>&1
	total=$(((${EPOCHREALTIME/./} - now) / 1000))
	phases=$(awk -v total="$total" '$NF ~ /^(read|write|fsync|fdatasync|renameat|renameat2|openat|pread64|close|flock|mmap|munmap)$/ {
		printf "%s %.0f ms, ", $NF, $2 * 1000 } END { printf "wall %d ms under strace", total }' "$out/ckpt-save-$max.strace")
fi
rm -rf "$tmp/dst" "$f"

echo
echo "save: fl-ckpt save vs cp + sync -f (mean of the runs; ms and MiB/s)"
printf '%8s %5s %12s %10s %12s %10s %10s\n' MiB runs "fl-ckpt ms" "MiB/s" "cp+sync ms" "MiB/s" ratio
printf '%s\n' "${save_rows[@]}"
echo "(ratio = cp+sync time / fl-ckpt save time: fl-ckpt's share of the durable copy's throughput; goal >= 0.9)"
echo
echo "verify: fl-ckpt verify vs sha256sum (page cache; ms and MiB/s)"
printf '%8s %5s %12s %10s %12s %10s %10s\n' MiB runs "fl-ckpt ms" "MiB/s" "sha256sum ms" "MiB/s" ratio
printf '%s\n' "${verify_rows[@]}"
echo "(ratio = sha256sum time / fl-ckpt verify time; goal >= 1.0)"
echo
echo "peak RSS, $max MiB file (kB): fl-ckpt save $rss_save, fl-ckpt verify $rss_verify, sha256sum $rss_sha"
[ -z "$phases" ] || echo "save of $max MiB, time in system calls: $phases"
