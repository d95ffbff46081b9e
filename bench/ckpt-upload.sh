#!/usr/bin/env bash
# ckpt-upload.sh: time `fl-ckpt upload` (libcurl SigV4, the payload's SHA-256 from the manifest,
# MD5 computed while sending, the copy verified by HEAD, then the round's JSON) against
# `aws s3 cp` of the same file to the same local S3 server (moto from test/s3/server.sh, every
# signature checked), for a 1 MiB and a 100 MiB round; both commands in ONE hyperfine run per
# size, then the ratio.
#
# Environment: FLKIT_BIN (default build/bin, relative to the repo root), BENCH_RUNS (default
# 10), BENCH_SIZES (MiB, default "1 100"), BENCH_OUT (where the hyperfine JSON goes; default the
# build directory's bench/).
set -u
cd "$(dirname "$0")/.." || exit 1

# shellcheck source=bench/lib.sh
. bench/lib.sh
bench_setup ckpt-upload.sh fl-ckpt "hyperfine jq bc aws" "hyperfine jq bc awscli"
runs=${BENCH_RUNS:-10}
read -r -a sizes <<<"${BENCH_SIZES:-1 100}"
export LC_ALL=C
for v in $(compgen -e); do
	case $v in
	FL_* | FLOWER_* | ML_* | ONEAPP_* | FLKIT_* | AWS_*) unset "$v" ;;
	esac
done

tmp=$(mktemp -d)
cleanup() {
	test/s3/server.sh stop "$tmp/s3"
	rm -rf "$tmp"
}
trap cleanup EXIT
line=$(test/s3/server.sh start "$tmp/s3") || exit 1
ep=${line#endpoint=}
export AWS_SHARED_CREDENTIALS_FILE="$tmp/s3/credentials" AWS_DEFAULT_REGION=us-east-1
aws --endpoint-url "$ep" s3 mb s3://bench >/dev/null || exit 1
owner="$(id -u):$(id -g)"

q() {
	printf '%q' "$1"
}

# ms FILE NAME FIELD: a hyperfine result in milliseconds.
ms() {
	jq -r --arg n "$2" --arg f "$3" '.results[] | select(.command == $n) | .[$f] * 1000' "$1"
}

rows=()
for mib in "${sizes[@]}"; do
	d="$tmp/ckpt-$mib"
	mkdir -p "$d"
	# An npz of one float64 array of mib MiB, as numpy writes it (stored, not compressed).
	.venv/bin/python -c 'import numpy as np, sys; np.savez(sys.argv[1], np.random.default_rng(1).random(int(sys.argv[2]) * 131072))' \
		"$tmp/src-$mib.npz" "$mib" || exit 1
	"$fl" --dir "$d" --owner "$owner" save --round 1 --from "$tmp/src-$mib.npz" >/dev/null 2>&1 || exit 1
	if ! hyperfine --shell=none --warmup 1 --runs "$runs" --style basic \
		--export-json "$out/ckpt-upload-$mib.json" \
		-n fl-ckpt "$(q "$fl") -q --dir $(q "$d") upload --round 1 --url s3://bench/fl --endpoint $ep" \
		-n aws-s3-cp "aws --endpoint-url $ep --only-show-errors s3 cp $(q "$d/checkpoint_round_1.npz") s3://bench/aws/checkpoint_round_1.npz" \
		>"$out/ckpt-upload-$mib.txt" 2>&1; then
		cat "$out/ckpt-upload-$mib.txt" >&2
		exit 1
	fi
	f=$(ms "$out/ckpt-upload-$mib.json" fl-ckpt mean)
	fs=$(ms "$out/ckpt-upload-$mib.json" fl-ckpt stddev)
	a=$(ms "$out/ckpt-upload-$mib.json" aws-s3-cp mean)
	as=$(ms "$out/ckpt-upload-$mib.json" aws-s3-cp stddev)
	ratio=$(echo "$a / $f" | bc -l)
	rows+=("$(printf '%6s %4d %9.1f ± %-7.1f %9.1f ± %-7.1f %9.2fx' "$mib" "$runs" "$f" "$fs" "$a" "$as" "$ratio")")
done

echo
printf '%6s %4s %21s %21s %10s\n' MiB runs "fl-ckpt mean ms" "aws s3 cp mean ms" ratio
printf '%s\n' "${rows[@]}"
echo "(ratio = aws s3 cp time / fl-ckpt upload time; above 1 means fl-ckpt is faster)"
echo
echo "fl-ckpt also verifies the copy (HEAD: size, x-amz-meta-sha256, ETag from the MD5 of the"
echo "bytes sent) and uploads the round's JSON; aws s3 cp sends the file (multipart above 8 MiB,"
echo "10 parts at a time). fl-ckpt sends one PUT up to 200 MiB and parts one at a time above."
