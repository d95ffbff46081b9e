#!/usr/bin/env bash
# ckpt-archive.sh: time `fl-ckpt archive --round N --out F.tar.zst` against `tar --zstd -cf` of
# the same round file, for numpy-made checkpoints of random float32 (np.savez) of each size in
# BENCH_SIZES (MiB; default "1 100 1024"). fl-ckpt also reads the manifest, adds the manifest
# entry and makes the archive durable (fsync of the file and its directory), so `tar --zstd`
# followed by `sync -f` is timed too. Peak RSS of one fl-ckpt archive run per size shows that
# memory stays flat.
#
# Environment: FLKIT_BIN (default build/bin), BENCH_SIZES, BENCH_RUNS (default 10 for files up
# to 100 MiB, 3 above), BENCH_OUT (hyperfine JSON; default the build directory's bench/).
set -u
cd "$(dirname "$0")/.." || exit 1

# shellcheck source=bench/lib.sh
. bench/lib.sh
bench_setup ckpt-archive.sh fl-ckpt "hyperfine jq bc zstd tar" "hyperfine jq bc zstd tar"
py=.venv/bin/python
if [ ! -x "$py" ]; then
	echo "ckpt-archive.sh: $py missing; run scripts/bootstrap (numpy makes the checkpoints)" >&2
	exit 1
fi
sizes=${BENCH_SIZES:-1 100 1024}
export LC_ALL=C
work=$(mktemp -d "$out/ckpt-archive.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT

q() {
	printf '%q' "$1"
}

# mean JSON NAME: a hyperfine result's mean, seconds.
mean() {
	jq -r --arg n "$2" '.results[] | select(.command == $n) | .mean' "$1"
}

echo "# $(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) CPU(s): $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
echo "# $(uname -sr); $(hyperfine --version); $(tar --version | head -n 1); $(zstd --version)"
echo "# hyperfine output and JSON: $out"

rows=()
for mib in $sizes; do
	d=$work/ck-$mib
	mkdir -p "$d"
	"$py" -c 'import sys, numpy as np
np.savez(sys.argv[1], np.random.default_rng(1).random(int(sys.argv[2]) * 262144, dtype=np.float32))' \
		"$work/src.npz" "$mib" || exit 1
	"$fl" --owner "$(id -u):$(id -g)" save --dir "$d" --round 1 --from "$work/src.npz" >/dev/null 2>&1 || exit 1
	rm -f "$work/src.npz"
	runs=${BENCH_RUNS:-$([ "$mib" -le 100 ] && echo 10 || echo 3)}
	a=$work/a.tar.zst b=$work/b.tar.zst
	json=$out/ckpt-archive-$mib.json
	if ! hyperfine --warmup 1 --runs "$runs" --style basic --export-json "$json" \
		-n fl-ckpt "$(q "$fl") archive --dir $(q "$d") --round 1 --out $(q "$a")" \
		-n "tar --zstd" "tar --zstd -cf $(q "$b") -C $(q "$d") checkpoint_round_1.npz" \
		-n "tar --zstd + sync -f" "tar --zstd -cf $(q "$b") -C $(q "$d") checkpoint_round_1.npz && sync -f $(q "$b")" \
		>"$out/ckpt-archive-$mib.txt" 2>&1; then
		cat "$out/ckpt-archive-$mib.txt" >&2
		exit 1
	fi
	f=$(mean "$json" fl-ckpt)
	t=$(mean "$json" "tar --zstd")
	s=$(mean "$json" "tar --zstd + sync -f")
	rss=$(/usr/bin/time -f %M "$fl" archive --dir "$d" --round 1 --out "$a" 2>&1 >/dev/null | tail -n 1)
	rows+=("$(printf '%6s MiB %9.3f %9.3f %9.3f   %5.2fx %5.2fx   %8s' "$mib" "$f" "$t" "$s" \
		"$(echo "$t / $f" | bc -l)" "$(echo "$s / $f" | bc -l)" "$rss")")
	rm -rf "$d" "$a" "$b"
done

echo
echo "archive: fl-ckpt archive vs tar --zstd of the same round file (mean s; ratio tar/fl-ckpt, >= 1 is fl-ckpt faster)"
printf '%10s %9s %9s %9s   %6s %6s   %8s\n' size fl-ckpt tar tar+sync vs-tar vs-sync "RSS KiB"
printf '%s\n' "${rows[@]}"
