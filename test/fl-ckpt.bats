#!/usr/bin/env bats
# fl-ckpt: the checkpoint directory's lifecycle against numpy's own .npz files (test/fixtures/npz,
# made by numpy): commit protocol, list, latest, verify, save, restore, prune, the lock, and
# what the spec's unmodified ServerApp leaves behind.

load helpers

GOOD="$FIXTURES/npz/good"
BAD="$FIXTURES/npz/bad"

setup() {
	D=$BATS_TEST_TMPDIR/ckpt
	mkdir -p "$D"
	ME="$(id -u):$(id -g)"
}

# ck ARGS...: fl-ckpt on $D, owned by the caller, under bats' run (stdout and stderr apart).
ck() {
	run --separate-stderr "$FLKIT_BIN/fl-ckpt" --dir "$D" --owner "$ME" "$@"
}

# spec_save N SRC: what the spec's Python saver does: the file, the JSON, the link; no manifest.
spec_save() {
	cp "$2" "$D/checkpoint_round_$1.npz"
	printf '{\n  "round": %s,\n  "timestamp": "2026-01-01T00:00:00+00:00",\n  "num_arrays": 3\n}' "$1" \
		>"$D/checkpoint_latest.json"
	ln -sfn "checkpoint_round_$1.npz" "$D/checkpoint_latest.npz"
}

sha() {
	sha256sum "$1" | cut -d' ' -f1
}

@test "verify: numpy's 3-array npz is valid and list shows 3 arrays" {
	ck save --round 1 --from "$GOOD/three.npz"
	assert_success
	ck verify "$GOOD/three.npz"
	assert_success
	assert_output --partial "ok	3 arrays"
	ck list --json
	assert_success
	[ "$(jq -r '.[0].num_arrays' <<<"$output")" = 3 ]
}

@test "verify: every numpy-made good fixture verifies" {
	for f in "$GOOD"/*.npz; do
		ck verify "$f"
		assert_success
	done
}

@test "verify: a copy missing its last 100 bytes is invalid" {
	head -c -100 "$GOOD/three.npz" >"$BATS_TEST_TMPDIR/t.npz"
	ck verify "$BATS_TEST_TMPDIR/t.npz"
	assert_failure 1
}

@test "verify: a flipped data byte is a CRC error naming the member" {
	cp "$GOOD/flip.npz" "$BATS_TEST_TMPDIR/f.npz"
	# The last byte of arr_0.npy's data: 64-byte-aligned header, then 256 bytes of <f4.
	off=$(python3 -c 'import sys; d=open(sys.argv[1],"rb").read(); print(d.index(b"arr_1.npy") - 31)' \
		"$BATS_TEST_TMPDIR/f.npz")
	printf '\x55' | dd of="$BATS_TEST_TMPDIR/f.npz" bs=1 seek="$off" conv=notrunc status=none
	ck verify "$BATS_TEST_TMPDIR/f.npz"
	assert_failure 1
	[[ $stderr == *arr_0.npy*CRC* ]]
}

@test "verify: a gap in the member names is invalid" {
	ck verify "$BAD/gap.npz"
	assert_failure 1
	[[ $stderr == *arr_1.npy* ]]
}

@test "verify: a declared shape larger than the data is invalid" {
	ck verify "$BAD/size-mismatch.npz"
	assert_failure 1
}

@test "verify: an object (pickled) array is refused" {
	ck verify "$BAD/object.npz"
	assert_failure 1
	[[ $stderr == *pickle* ]]
}

@test "verify: 12 arrays are valid, with the warning about the spec's lexicographic resume order" {
	ck verify "$GOOD/twelve.npz"
	assert_success
	[[ $stderr == *"[WARN]"*"sorted(data.files)"* ]]
}

@test "verify: every bad fixture is invalid" {
	for f in "$BAD"/*.npz; do
		ck verify "$f"
		assert_failure 1
	done
}

@test "save: rounds 5, 10, 12 after the spec's saver: the link is relative to round 12, the JSON says 12" {
	spec_save 1 "$GOOD/three.npz"
	spec_save 2 "$GOOD/three.npz"
	for r in 5 10 12; do
		ck save --round "$r" --from "$GOOD/three.npz"
		assert_success
		assert_output "$r	$D/checkpoint_round_$r.npz"
	done
	[ -L "$D/checkpoint_latest.npz" ]
	[ "$(readlink "$D/checkpoint_latest.npz")" = checkpoint_round_12.npz ]
	[ "$(jq -r .round "$D/checkpoint_latest.json")" = 12 ]
	[ "$(jq -r .num_arrays "$D/checkpoint_latest.json")" = 3 ]
	[[ $(jq -r .timestamp "$D/checkpoint_latest.json") =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+\+00:00$ ]]
	[ "$(jq -r '.rounds | map(.round) | join(",")' "$D/checkpoint_manifest.json")" = 5,10,12 ]
	[ "$(jq -r '.rounds[2].sha256' "$D/checkpoint_manifest.json")" = "$(sha "$GOOD/three.npz")" ]
	cmp "$GOOD/three.npz" "$D/checkpoint_round_12.npz"
	[ "$(stat -c %a "$D/checkpoint_round_12.npz")" = 644 ]
}

@test "save: what it writes is owned by 49999:49999 by default, the link too" {
	[ "$(id -u)" = 0 ] || skip "needs root to give files away"
	run "$FLKIT_BIN/fl-ckpt" --dir "$D" save --round 3 --from "$GOOD/three.npz"
	assert_success
	for f in checkpoint_round_3.npz checkpoint_latest.npz checkpoint_latest.json checkpoint_manifest.json \
		.fl-ckpt.lock; do
		[ "$(stat -c %u:%g "$D/$f")" = 49999:49999 ]
	done
}

@test "save: an invalid source leaves the directory as it was, no temp file" {
	ck save --round 1 --from "$GOOD/three.npz"
	before=$(ls -A "$D" | sort; cat "$D/checkpoint_manifest.json")
	ck save --round 2 --from "$BAD/object.npz"
	assert_failure 1
	[[ $stderr == *"nothing was changed"* ]]
	[ "$(ls -A "$D" | sort; cat "$D/checkpoint_manifest.json")" = "$before" ]
}

@test "save: --no-latest commits without moving the link" {
	ck save --round 1 --from "$GOOD/three.npz"
	ck save --round 2 --from "$GOOD/one.npz" --no-latest
	assert_success
	[ "$(readlink "$D/checkpoint_latest.npz")" = checkpoint_round_1.npz ]
	ck list --json
	[ "$(jq -r '.[1].committed' <<<"$output")" = true ]
}

@test "save: --round and --from are required; round 0 is not a round" {
	ck save --from "$GOOD/three.npz"
	assert_failure 2
	ck save --round 0 --from "$GOOD/three.npz"
	assert_failure 2
	ck save --round 1
	assert_failure 2
}

@test "save: a FIFO as --from is refused without blocking" {
	mkfifo "$BATS_TEST_TMPDIR/p"
	run --separate-stderr timeout 10 "$FLKIT_BIN/fl-ckpt" --dir "$D" --owner "$ME" save --round 1 --from "$BATS_TEST_TMPDIR/p"
	assert_failure 1
	[[ $stderr == *"not a regular file"* ]]
}

@test "save: np.load reads what save wrote, arrays equal" {
	[ -x "$FLWR_PY" ] || skip "no project venv"
	ck save --round 4 --from "$GOOD/twelve.npz"
	run "$FLWR_PY" -c '
import sys, numpy as np
a, b = np.load(sys.argv[1]), np.load(sys.argv[2])
assert a.files == b.files and all(np.array_equal(a[k], b[k]) for k in a.files)
print(len(a.files))' "$D/checkpoint_latest.npz" "$GOOD/twelve.npz"
	assert_success
	assert_output 12
}

@test "save: concurrent saves serialize on the lock; the second waits" {
	flock "$D/.fl-ckpt.lock" sleep 1 &
	sleep 0.2
	ck save --round 1 --from "$GOOD/three.npz"
	wait
	assert_success
	[[ $stderr == *"waiting for"* ]]
}

@test "save: with the lock held and --lock-timeout 0.2 it exits 4" {
	flock "$D/.fl-ckpt.lock" sleep 3 &
	sleep 0.3
	ck --lock-timeout 0.2 save --round 1 --from "$GOOD/three.npz"
	assert_failure 4
	[ ! -e "$D/checkpoint_round_1.npz" ]
	kill %1 2>/dev/null || true
	wait || true
}

@test "save: stale temp files of dead processes are removed, a live one's stays" {
	dead=$(sh -c 'echo $$')
	touch "$D/.fl-ckpt.$dead.x.tmp" "$D/.fl-ckpt.$$.y.tmp" "$D/.checkpoint_manifest.json.AbC123"
	mkdir "$D/.fl-ckpt.$dead.stage.tmp"
	touch "$D/.fl-ckpt.$dead.stage.tmp/a" "$D/.fl-ckpt.$dead.stage.tmp/b"
	ln -s /etc/passwd "$D/.fl-ckpt.$dead.stage.tmp/c"
	ck save --round 1 --from "$GOOD/three.npz"
	assert_success
	[ ! -e "$D/.fl-ckpt.$dead.x.tmp" ]
	[ ! -e "$D/.fl-ckpt.$dead.stage.tmp" ]
	[ ! -e "$D/.checkpoint_manifest.json.AbC123" ]
	[ -e "$D/.fl-ckpt.$$.y.tmp" ]
	[ -e /etc/passwd ]
}

@test "latest: prints N<TAB>path of the link's target" {
	ck save --round 7 --from "$GOOD/three.npz"
	ck latest
	assert_success
	assert_output "7	$D/checkpoint_round_7.npz"
}

@test "latest: a missing or dangling link is exit 1; --fallback gives the highest round that verifies" {
	ck latest
	assert_failure 1
	for r in 5 10 15; do ck save --round "$r" --from "$GOOD/three.npz"; done
	rm "$D/checkpoint_round_15.npz"
	ck latest
	assert_failure 1
	[[ $stderr == *dangling* ]]
	ck latest --fallback
	assert_success
	assert_output "10	$D/checkpoint_round_10.npz"
}

@test "latest: --fallback skips a committed round whose file was changed (SHA-256)" {
	for r in 5 10; do ck save --round "$r" --from "$GOOD/three.npz"; done
	cp "$GOOD/one.npz" "$D/checkpoint_round_10.npz"
	ck latest --fallback
	assert_success
	assert_output "5	$D/checkpoint_round_5.npz"
}

@test "latest: the spec saver's layout is listed as uncommitted and never latest --fallback" {
	spec_save 1 "$GOOD/three.npz"
	spec_save 2 "$GOOD/three.npz"
	ck list --json
	assert_success
	[ "$(jq -r 'map(.committed) | join(",")' <<<"$output")" = false,false ]
	[ "$(jq -r 'map(.latest) | join(",")' <<<"$output")" = false,true ]
	ck latest
	assert_success
	assert_output "2	$D/checkpoint_round_2.npz"
	ck latest --fallback
	assert_failure 1
	[[ $stderr == *"no committed round"* ]]
}

@test "latest: a link planted to /etc/passwd or ../x is refused" {
	ln -s /etc/passwd "$D/checkpoint_latest.npz"
	ck latest
	assert_failure 1
	[[ $stderr == *"/etc/passwd"* ]]
	ln -sfn ../checkpoint_round_1.npz "$D/checkpoint_latest.npz"
	ck latest
	assert_failure 1
}

@test "latest: a FIFO named checkpoint_round_3.npz is never opened" {
	mkfifo "$D/checkpoint_round_3.npz"
	ln -s checkpoint_round_3.npz "$D/checkpoint_latest.npz"
	run --separate-stderr timeout 10 "$FLKIT_BIN/fl-ckpt" --dir "$D" latest
	assert_failure 1
	run --separate-stderr timeout 10 "$FLKIT_BIN/fl-ckpt" --dir "$D" verify --round 3
	assert_failure 1
	run --separate-stderr timeout 10 "$FLKIT_BIN/fl-ckpt" --dir "$D" list
	assert_success
	[[ $output == *"3	"*INVALID* ]]
}

@test "latest: a regular file as checkpoint_latest.npz is refused with the fix" {
	cp "$GOOD/three.npz" "$D/checkpoint_latest.npz"
	ck latest
	assert_failure 1
	[[ $stderr == *"not a symbolic link"* ]]
}

@test "verify: a manifest that lies about the SHA-256 fails naming the SHA-256 check" {
	ck save --round 3 --from "$GOOD/three.npz"
	jq '.rounds[0].sha256 = "'"$(printf '0%.0s' {1..64})"'"' "$D/checkpoint_manifest.json" >"$D/m"
	mv "$D/m" "$D/checkpoint_manifest.json"
	ck verify --round 3
	assert_failure 1
	[[ $stderr == *"SHA-256 check"* ]]
}

@test "verify: --all checks every round, the latest by default; one bad round fails the whole" {
	for r in 1 2 3; do ck save --round "$r" --from "$GOOD/three.npz"; done
	ck verify
	assert_success
	assert_output "$D/checkpoint_round_3.npz	ok	3 arrays"
	ck verify --all
	assert_success
	[ "${#lines[@]}" = 3 ]
	printf 'x' | dd of="$D/checkpoint_round_2.npz" bs=1 seek=200 conv=notrunc status=none
	ck verify --all
	assert_failure 1
	[[ $stderr == *checkpoint_round_2.npz* ]]
}

@test "verify: the metadata's num_arrays must match when it names the round" {
	ck save --round 3 --from "$GOOD/three.npz"
	jq '.num_arrays = 4' "$D/checkpoint_latest.json" >"$D/j" && mv "$D/j" "$D/checkpoint_latest.json"
	ck verify --round 3
	assert_failure 1
	[[ $stderr == *"metadata check"* ]]
}

@test "list: rounds in numeric order (10 after 9) with the latest marked" {
	for r in 9 10 2; do ck save --round "$r" --from "$GOOD/three.npz"; done
	ck list
	assert_success
	[ "$(cut -f1 <<<"$output" | tr '\n' ' ')" = "round 2 9 10 " ]
	[[ ${lines[1]} == *committed,latest* ]]
}
