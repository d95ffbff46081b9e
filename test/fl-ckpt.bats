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
	touch "$D/.fl-ckpt.$dead.x.tmp" "$D/.fl-ckpt.$dead.tmp" "$D/.fl-ckpt.$$.y.tmp" \
		"$D/.checkpoint_manifest.json.AbC123" "$D/.checkpoint_latest.json.XyZ789"
	mkdir "$D/.fl-ckpt.$dead.stage.tmp"
	touch "$D/.fl-ckpt.$dead.stage.tmp/a" "$D/.fl-ckpt.$dead.stage.tmp/b"
	ln -s /etc/passwd "$D/.fl-ckpt.$dead.stage.tmp/c"
	ck save --round 1 --from "$GOOD/three.npz"
	assert_success
	[ ! -e "$D/.fl-ckpt.$dead.x.tmp" ]
	[ ! -e "$D/.fl-ckpt.$dead.tmp" ]
	[ ! -e "$D/.checkpoint_latest.json.XyZ789" ]
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

@test "init: run twice, the directory is 0755 and owned by 49999:49999" {
	[ "$(id -u)" = 0 ] || skip "needs root to give the directory away"
	run "$FLKIT_BIN/fl-ckpt" --dir "$D/a/b" init
	assert_success
	run "$FLKIT_BIN/fl-ckpt" --dir "$D/a/b" init
	assert_success
	[ "$(stat -c %u:%g:%a "$D/a/b")" = 49999:49999:755 ]
}

@test "init: a symbolic link in place of the directory is refused" {
	ln -s /etc "$D/link"
	ck --dir "$D/link" init
	assert_failure 1
	[[ $stderr == *"symlink"* ]]
}

@test "--container-path: /app/checkpoints[/sub] maps to /opt/flower/checkpoints[/sub]; others are refused" {
	run --separate-stderr "$FLKIT_BIN/fl-ckpt" --container-path /app/checkpoints/run1 --owner "$ME" latest
	assert_failure 1
	[[ $stderr == *"/opt/flower/checkpoints/run1"* ]]
	for p in /tmp/x /opt/flower/checkpoints /app/checkpoints/../etc; do
		run --separate-stderr "$FLKIT_BIN/fl-ckpt" --container-path "$p" latest
		assert_failure 2
		[[ $stderr == *"$p"* ]]
	done
	run --separate-stderr "$FLKIT_BIN/fl-ckpt" --dir "$D" --container-path /app/checkpoints latest
	assert_failure 2
}

@test "save: an interrupted save (temp written, never renamed) leaves latest unchanged; the next command cleans up" {
	ck save --round 5 --from "$GOOD/three.npz"
	# What a save killed between the copy and the rename leaves: its temp file.
	dead=$(sh -c 'echo $$')
	cp "$GOOD/one.npz" "$D/.fl-ckpt.$dead.0123456789abcdef.tmp"
	ck latest
	assert_output "5	$D/checkpoint_round_5.npz"
	[ ! -e "$D/checkpoint_round_6.npz" ]
	ck save --round 6 --from "$GOOD/one.npz" --no-latest
	assert_success
	[ ! -e "$D/.fl-ckpt.$dead.0123456789abcdef.tmp" ]
	ck latest
	assert_output "5	$D/checkpoint_round_5.npz"
}

@test "save: adopting an uncommitted file of the spec's saver commits it in place" {
	spec_save 3 "$GOOD/three.npz"
	ck save --round 3 --from "$D/checkpoint_round_3.npz"
	assert_success
	cmp "$GOOD/three.npz" "$D/checkpoint_round_3.npz"
	ck latest --fallback
	assert_success
	assert_output "3	$D/checkpoint_round_3.npz"
}

@test "restore: repoints the link and the JSON to round N (timestamp = file mtime) with the FL_NUM_ROUNDS reminder" {
	for r in 5 10; do ck save --round "$r" --from "$GOOD/three.npz"; done
	touch -d '2026-02-03 04:05:06.25 UTC' "$D/checkpoint_round_5.npz"
	ck restore --round 5
	assert_success
	assert_output "5	$D/checkpoint_round_5.npz"
	[[ $stderr == *FL_NUM_ROUNDS* ]]
	[ "$(readlink "$D/checkpoint_latest.npz")" = checkpoint_round_5.npz ]
	[ "$(jq -r .round "$D/checkpoint_latest.json")" = 5 ]
	[ "$(jq -r .timestamp "$D/checkpoint_latest.json")" = 2026-02-03T04:05:06.250000+00:00 ]
	ck latest --fallback
	assert_output "5	$D/checkpoint_round_5.npz"
}

@test "restore: an uncommitted or missing round is refused, the link unchanged" {
	ck save --round 5 --from "$GOOD/three.npz"
	cp "$GOOD/three.npz" "$D/checkpoint_round_7.npz"
	ck restore --round 7
	assert_failure 1
	[[ $stderr == *"not committed"* ]]
	ck restore --round 9
	assert_failure 1
	[ "$(readlink "$D/checkpoint_latest.npz")" = checkpoint_round_5.npz ]
	ck restore
	assert_failure 2
}

@test "restore: np.load reads the restored latest link" {
	[ -x "$FLWR_PY" ] || skip "no project venv"
	ck save --round 1 --from "$GOOD/three.npz"
	ck save --round 2 --from "$GOOD/twelve.npz"
	ck restore --round 1
	run "$FLWR_PY" -c 'import sys, numpy as np; print(len(np.load(sys.argv[1]).files))' "$D/checkpoint_latest.npz"
	assert_success
	assert_output 3
}

@test "prune: --keep 2 of {5,10,15,20} with latest at 15 removes 5 and 10" {
	for r in 5 10 20 15; do ck save --round "$r" --from "$GOOD/three.npz"; done
	ck prune --keep 2
	assert_success
	assert_output "5	$D/checkpoint_round_5.npz
10	$D/checkpoint_round_10.npz"
	[ "$(cd "$D" && echo checkpoint_round_*.npz)" = "checkpoint_round_15.npz checkpoint_round_20.npz" ]
	[ "$(jq -r '.rounds | map(.round) | join(",")' "$D/checkpoint_manifest.json")" = 15,20 ]
}

@test "prune: --keep 2 with latest at 5 removes only 10 (the latest target is never pruned)" {
	for r in 10 15 20 5; do ck save --round "$r" --from "$GOOD/three.npz"; done
	ck prune --keep 2
	assert_success
	assert_output "10	$D/checkpoint_round_10.npz"
	[ "$(cd "$D" && echo checkpoint_round_*.npz)" = \
		"checkpoint_round_15.npz checkpoint_round_20.npz checkpoint_round_5.npz" ]
}

@test "prune: --dry-run prints what would go and removes nothing" {
	for r in 1 2 3; do ck save --round "$r" --from "$GOOD/three.npz"; done
	before=$(sha256sum "$D"/checkpoint_*)
	ck prune --keep 1 --dry-run
	assert_success
	assert_output "1	$D/checkpoint_round_1.npz
2	$D/checkpoint_round_2.npz"
	[ "$(sha256sum "$D"/checkpoint_*)" = "$before" ]
}

@test "prune: --keep-every keeps every K-th round, --keep-best the best val_loss" {
	for r in 1 2 3 4 5 6 7 8; do
		ck save --round "$r" --from "$GOOD/one.npz" --metric "val_loss=0.$((9 - r))" --metric accuracy=0.5
	done
	ck save --round 3 --from "$GOOD/one.npz" --metric val_loss=0.01 --no-latest
	ck prune --keep 1 --keep-every 4 --keep-best val_loss
	assert_success
	[ "$(cut -f1 <<<"$output" | tr '\n' ' ')" = "1 2 5 6 7 " ]
	[ "$(jq -c '.rounds[0].metrics' "$D/checkpoint_manifest.json")" = '{"val_loss":0.01}' ]
}

@test "prune: --keep below 1 and --best without --keep-best are usage errors" {
	ck prune --keep 0
	assert_failure 2
	ck prune --keep 1 --best min
	assert_failure 2
	ck prune --keep 1 --keep-best 'bad name'
	assert_failure 2
}

@test "prune: without --keep it keeps FL_CHECKPOINT_KEEP rounds; 0 keeps all" {
	for r in 1 2 3; do ck save --round "$r" --from "$GOOD/three.npz"; done
	run --separate-stderr env -i FL_CHECKPOINT_ENABLED=YES FL_CHECKPOINT_KEEP=0 \
		"$FLKIT_BIN/fl-ckpt" --dir "$D" --owner "$ME" prune
	assert_success
	assert_output ''
	run --separate-stderr env -i FL_CHECKPOINT_ENABLED=YES FL_CHECKPOINT_KEEP=2 \
		"$FLKIT_BIN/fl-ckpt" --dir "$D" --owner "$ME" prune
	assert_success
	assert_output "1	$D/checkpoint_round_1.npz"
	run --separate-stderr env -i FL_CHECKPOINT_KEEP=abc "$FLKIT_BIN/fl-ckpt" --dir "$D" --owner "$ME" prune
	assert_failure 1
	[[ $stderr == *"Invalid FL_CHECKPOINT_KEEP: 'abc'. Must be a non-negative integer"* ]]
}

@test "prune: an orphan left by a killed prune (entry gone, file still there) goes next time" {
	for r in 1 2 3; do ck save --round "$r" --from "$GOOD/three.npz"; done
	jq '.rounds |= map(select(.round != 1))' "$D/checkpoint_manifest.json" >"$D/m"
	mv "$D/m" "$D/checkpoint_manifest.json"
	ck prune --keep 2
	assert_success
	assert_output "1	$D/checkpoint_round_1.npz"
	[ ! -e "$D/checkpoint_round_1.npz" ]
}

@test "save: --metric must be NAME=finite number" {
	for m in x 'a b=1' '=1' 'loss=' 'loss=nan' 'loss=inf' 'loss=1x'; do
		ck save --round 1 --from "$GOOD/three.npz" --metric "$m"
		assert_failure 2
	done
}

@test "list: a corrupt manifest is an error naming the file and the fix" {
	echo '{"version": 1, "rounds": [' >"$D/checkpoint_manifest.json"
	ck list
	assert_failure 1
	[[ $stderr == *checkpoint_manifest.json* ]]
}

@test "help: exits 0 and names every verb" {
	run "$FLKIT_BIN/fl-ckpt" --help
	assert_success
	for v in init list latest verify save restore prune; do
		assert_output --partial "fl-ckpt [options] $v"
	done
}

@test "save: a link planted under the round file's name is replaced, never followed" {
	echo keep >"$BATS_TEST_TMPDIR/target"
	ln -s "$BATS_TEST_TMPDIR/target" "$D/checkpoint_round_2.npz"
	ck verify --round 2
	assert_failure 1
	[[ $stderr == *"symbolic link"* ]]
	ck save --round 2 --from "$GOOD/three.npz"
	assert_success
	[ ! -L "$D/checkpoint_round_2.npz" ]
	[ "$(cat "$BATS_TEST_TMPDIR/target")" = keep ]
}

@test "open: a symbolic link as --dir is refused" {
	ln -s "$D" "$BATS_TEST_TMPDIR/dirlink"
	run --separate-stderr "$FLKIT_BIN/fl-ckpt" --dir "$BATS_TEST_TMPDIR/dirlink" list
	assert_failure 1
	[[ $stderr == *"symbolic link"* ]]
}

@test "save: saving a committed round again replaces file and entry together" {
	ck save --round 1 --from "$GOOD/three.npz"
	ck save --round 1 --from "$GOOD/one.npz"
	assert_success
	[ "$(jq -r '.rounds[0].sha256' "$D/checkpoint_manifest.json")" = "$(sha "$GOOD/one.npz")" ]
	[ "$(jq -r '.rounds | length' "$D/checkpoint_manifest.json")" = 1 ]
	ck verify --round 1
	assert_success
	assert_output "$D/checkpoint_round_1.npz	ok	1 arrays"
}

@test "save: --no-latest of the link's own round rewrites the metadata, so it keeps agreeing" {
	ck save --round 5 --from "$GOOD/three.npz"
	ck save --round 5 --from "$GOOD/one.npz" --no-latest
	assert_success
	[ "$(jq -r .num_arrays "$D/checkpoint_latest.json")" = 1 ]
	ck verify --round 5
	assert_success
}
