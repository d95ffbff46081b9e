#!/usr/bin/env bats
# fl-ckpt archive, unarchive and restore --from-archive: checkpoints as one tar (plain, gzip,
# zstd) and back. Round files are numpy's own np.savez output; GNU tar lists what archive
# wrote; np.load reads what unarchive committed; hostile tars are built with Python's tarfile,
# which shares no code with libarchive.

# shellcheck disable=SC2154
bats_require_minimum_version 1.5.0
bats_load_library bats-support
bats_load_library bats-assert

: "${FLKIT_BIN:=$BATS_TEST_DIRNAME/../build/bin}"
PY="$BATS_TEST_DIRNAME/../.venv/bin/python"

setup_file() {
	export NPZ="$BATS_FILE_TMPDIR/npz"
	mkdir -p "$NPZ"
	"$PY" - "$NPZ" <<'EOF'
import sys
import numpy as np
d = sys.argv[1]
rng = np.random.default_rng(11)
for r in (1, 2, 3):
    np.savez(f"{d}/r{r}.npz", rng.random((4, 5), dtype=np.float32) + r, np.arange(r * 10), np.float64(r))
EOF
}

setup() {
	D="$BATS_TEST_TMPDIR/ck"
	OUT="$BATS_TEST_TMPDIR/out"
	mkdir -p "$D" "$OUT"
}

ckpt() {
	"$FLKIT_BIN/fl-ckpt" --owner "$(id -u):$(id -g)" "$@"
}

# fill: rounds 1-3 saved into $D, latest at 3.
fill() {
	local r
	for r in 1 2 3; do
		ckpt save --dir "$D" --round "$r" --from "$NPZ/r$r.npz" 2>/dev/null || return 1
	done
}

# listing DIR: the names in DIR, hidden ones too, one a line.
listing() {
	(cd "$1" && find . -mindepth 1 -printf '%P %y\n' | LC_ALL=C sort)
}

@test "archive then unarchive into an empty directory: the files are byte-identical, the link is a link, verify passes" {
	fill
	for f in a.tar a.tar.gz a.tar.zst; do
		run ckpt archive --dir "$D" --all --out "$OUT/$f"
		assert_success
		E="$BATS_TEST_TMPDIR/e-$f"
		mkdir "$E"
		run ckpt unarchive --dir "$E" "$OUT/$f"
		assert_success
		for r in 1 2 3; do
			[ "$(sha256sum <"$D/checkpoint_round_$r.npz")" = "$(sha256sum <"$E/checkpoint_round_$r.npz")" ]
		done
		[ -L "$E/checkpoint_latest.npz" ]
		[ "$(readlink "$E/checkpoint_latest.npz")" = checkpoint_round_3.npz ]
		run ckpt verify --dir "$E" --all
		assert_success
		run ckpt latest --dir "$E"
		assert_output --partial 3
		# no stage directory left behind
		run bash -c "ls -A '$E' | grep -c stage"
		assert_output 0
	done
}

@test "archive: GNU tar lists the entries owned by 49999, and checkpoint_latest.npz as a link" {
	fill
	run ckpt archive --dir "$D" --out "$OUT/l.tar.gz"
	assert_success
	run tar --numeric-owner -tvzf "$OUT/l.tar.gz"
	assert_success
	assert_line --regexp '^-rw-r--r-- 49999/49999 .* checkpoint_round_3\.npz$'
	assert_line --regexp '^lrwxrwxrwx 49999/49999 .* checkpoint_latest\.npz -> checkpoint_round_3\.npz$'
	assert_line --regexp '^-rw-r--r-- 49999/49999 .* checkpoint_manifest\.json$'
	refute_line --partial checkpoint_round_1.npz
	run tar -tvf "$OUT/l.tar.gz"
	assert_line --regexp '^-rw-r--r-- flower/flower '
	run tar --zstd -tf /dev/null
	ckpt archive --dir "$D" --round 2 --out "$OUT/two.tar.zst"
	run tar --zstd -tf "$OUT/two.tar.zst"
	assert_output "checkpoint_round_2.npz
checkpoint_manifest.json"
}

@test "unarchive: np.load reads the rounds it committed, arrays in order" {
	fill
	ckpt archive --dir "$D" --all --out "$OUT/a.tar.zst"
	E="$BATS_TEST_TMPDIR/e"
	mkdir "$E"
	run ckpt unarchive --dir "$E" "$OUT/a.tar.zst"
	assert_success
	run "$PY" -c '
import sys, numpy as np
for r in (1, 2, 3):
    a = np.load(sys.argv[1] + "/checkpoint_round_%d.npz" % r)
    b = np.load(sys.argv[2] + "/r%d.npz" % r)
    assert a.files == b.files, (a.files, b.files)
    for k in a.files:
        assert (a[k] == b[k]).all()
l = np.load(sys.argv[1] + "/checkpoint_latest.npz")
print(len(l.files), float(l["arr_2"]))
' "$E" "$NPZ"
	assert_success
	assert_output "3 3.0"
}

@test "archive: the default is the latest committed round; --round N takes N" {
	fill
	ckpt restore --dir "$D" --round 2 2>/dev/null
	run ckpt archive --dir "$D" --out "$OUT/d.tar"
	assert_success
	run tar -tf "$OUT/d.tar"
	assert_output "checkpoint_round_2.npz
checkpoint_latest.npz
checkpoint_latest.json
checkpoint_manifest.json"
}

@test "archive: an unknown suffix is a usage error naming the suffixes (exit 2)" {
	fill
	run --separate-stderr ckpt archive --dir "$D" --out "$OUT/a.zip"
	assert_failure 2
	[[ $stderr == *.tar.zst*.tar.gz* ]]
	[ -z "$(ls -A "$OUT")" ]
}

@test "archive: an uncommitted round is refused (exit 1), naming it" {
	fill
	cp "$NPZ/r1.npz" "$D/checkpoint_round_7.npz"
	run --separate-stderr ckpt archive --dir "$D" --round 7 --out "$OUT/a.tar"
	assert_failure 1
	[[ $stderr == *"round 7"* ]]
	[ -z "$(ls -A "$OUT")" ]
}

# hostile NAME KIND: a tar written by Python's tarfile holding one good round file and one
# hostile entry.
hostile() {
	"$PY" - "$1" "$2" "$NPZ/r1.npz" <<'EOF'
import io, sys, tarfile
out, kind, good = sys.argv[1:]
with tarfile.open(out, "w") as t:
    t.add(good, arcname="checkpoint_round_1.npz")
    ti = tarfile.TarInfo()
    if kind == "dotdot":
        ti.name = "../x"; ti.size = 1; t.addfile(ti, io.BytesIO(b"x"))
    elif kind == "absolute":
        ti.name = "/etc/passwd"; ti.size = 1; t.addfile(ti, io.BytesIO(b"x"))
    elif kind == "symlink":
        ti.name = "checkpoint_latest.npz"; ti.type = tarfile.SYMTYPE; ti.linkname = "/etc/shadow"; t.addfile(ti)
    elif kind == "hardlink":
        ti.name = "checkpoint_round_2.npz"; ti.type = tarfile.LNKTYPE; ti.linkname = "/etc/passwd"; t.addfile(ti)
    elif kind == "device":
        ti.name = "checkpoint_round_2.npz"; ti.type = tarfile.CHRTYPE; ti.devmajor = 1; ti.devminor = 3; t.addfile(ti)
EOF
}

@test "unarchive: a malicious tar (../x, /etc/passwd, a symlink to /etc/shadow, a hard link, a device) is refused with exit 1 and nothing written outside D" {
	fill
	before=$(listing "$D")
	for kind in dotdot absolute symlink hardlink device; do
		hostile "$OUT/$kind.tar" "$kind"
		run --separate-stderr ckpt unarchive --dir "$D" "$OUT/$kind.tar"
		assert_failure 1
		[[ $stderr == *"refused"* ]]
		[ "$(listing "$D")" = "$before" ]
		[ ! -e "$BATS_TEST_TMPDIR/x" ]
		[ ! -e "$D/../x" ]
	done
	run ckpt verify --dir "$D" --all
	assert_success
}

@test "unarchive: a round file whose bytes were changed is refused and the directory stays as it was" {
	fill
	ckpt archive --dir "$D" --round 1 --out "$OUT/a.tar"
	# flip one byte inside the round file's data (it starts after the first 512-byte header)
	printf '\xff' | dd of="$OUT/a.tar" bs=1 seek=700 conv=notrunc status=none
	E="$BATS_TEST_TMPDIR/e"
	mkdir "$E"
	run --separate-stderr ckpt unarchive --dir "$E" "$OUT/a.tar"
	assert_failure 1
	[[ $stderr == *"checkpoint_round_1.npz"* ]]
	run bash -c "ls -A '$E' | grep -v '^.fl-ckpt.lock$' | grep -c ."
	assert_output 0
}

@test "restore --from-archive F --round N: commits round N and makes it latest" {
	fill
	ckpt archive --dir "$D" --all --out "$OUT/a.tar.gz"
	E="$BATS_TEST_TMPDIR/e"
	mkdir "$E"
	run ckpt restore --dir "$E" --from-archive "$OUT/a.tar.gz" --round 2
	assert_success
	[ "$(readlink "$E/checkpoint_latest.npz")" = checkpoint_round_2.npz ]
	[ ! -e "$E/checkpoint_round_1.npz" ]
	run ckpt verify --dir "$E" --all
	assert_success
	run --separate-stderr ckpt restore --dir "$E" --from-archive "$OUT/a.tar.gz" --round 9
	assert_failure 1
	[[ $stderr == *"no round 9"* ]]
}

@test "unarchive: a stale stage directory of a process that is gone is removed" {
	fill
	ckpt archive --dir "$D" --round 1 --out "$OUT/a.tar"
	E="$BATS_TEST_TMPDIR/e"
	mkdir -p "$E/.fl-ckpt.99999999.stage.tmp"
	echo x >"$E/.fl-ckpt.99999999.stage.tmp/checkpoint_round_1.npz"
	run ckpt unarchive --dir "$E" "$OUT/a.tar"
	assert_success
	[ ! -e "$E/.fl-ckpt.99999999.stage.tmp" ]
}

@test "unarchive: a round file that is not a valid npz is refused by the commit's verification, even with a matching manifest" {
	E="$BATS_TEST_TMPDIR/e"
	mkdir "$E"
	"$PY" - "$OUT/bad.tar" <<'EOF2'
import hashlib, io, json, sys, tarfile
data = b"PK\x03\x04 not a zip at all, but the manifest's hash matches" * 4
man = {"version": 1, "rounds": [{"round": 1, "file": "checkpoint_round_1.npz", "size": len(data),
       "sha256": hashlib.sha256(data).hexdigest(), "arrays": 1, "time": "2026-12-03T10:00:00Z"}]}
with tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT) as t:
    for name, b in (("checkpoint_round_1.npz", data), ("checkpoint_manifest.json", json.dumps(man).encode())):
        ti = tarfile.TarInfo(name); ti.size = len(b); t.addfile(ti, io.BytesIO(b))
EOF2
	run --separate-stderr ckpt unarchive --dir "$E" "$OUT/bad.tar"
	assert_failure 1
	[[ $stderr == *"checkpoint_round_1.npz"* ]]
	run bash -c "ls -A '$E' | grep -v '^.fl-ckpt.lock$' | grep -c ."
	assert_output 0
}

@test "unarchive: the rounds' metrics travel with the archive into the manifest" {
	ckpt save --dir "$D" --round 1 --from "$NPZ/r1.npz" --metric loss=0.25 2>/dev/null
	ckpt save --dir "$D" --round 2 --from "$NPZ/r2.npz" --metric loss=0.5 2>/dev/null
	ckpt archive --dir "$D" --all --out "$OUT/m.tar.zst" 2>/dev/null
	E="$BATS_TEST_TMPDIR/e"
	mkdir "$E"
	run ckpt unarchive --dir "$E" "$OUT/m.tar.zst"
	assert_success
	run "$PY" -c 'import json, sys; m = json.load(open(sys.argv[1])); print([r.get("metrics") for r in m["rounds"]])' \
		"$E/checkpoint_manifest.json"
	assert_output "[{'loss': 0.25}, {'loss': 0.5}]"
}
