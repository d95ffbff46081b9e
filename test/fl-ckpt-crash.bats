#!/usr/bin/env bats
# fl-ckpt under crashes, a full disk and concurrency: kill -9 at random moments of save,
# restore, prune and unarchive (test/ckpt/crash.sh drives the kills and checks each state), a tmpfs too
# small for the next round or for the manifest, and concurrent saves serialized on the lock.
# A kill at each step of a save's commit is also placed exactly, with strace's fault injection,
# for a new round and for the round the latest link names (the link steps aside meanwhile).
#
# After every kill `latest` resolves to a committed round that verifies (or, before any link
# was made, exits 1 with no link), the manifest parses, a final-name round file is whole, and
# the next mutating command completes and leaves no temp file. Each kill test prints a TAP
# comment: "# save: 340 kills, 0 bad states (the phases the kills left the directory in ...)".
#
# The .npz files are made at setup by numpy (test/ckpt/make-npz.py with the project venv's
# Python). CRASH_KILLS (default 300 per verb, 150 for unarchive: 1050 in all) and CRASH_SEED (replays a failure's delays)
# reach crash.sh. The disk-full tests mount a tmpfs and the commit-step test uses strace: they
# need root (CI runs them as root) and strace.
#
# Binaries: $FLKIT_BIN, else build/bin, or $FLKIT_BUILD/bin.

# SC2030/SC2031: bats runs each test in a subshell on purpose; SC2154: variables set by bats.
# shellcheck disable=SC2030,SC2031,SC2154
bats_require_minimum_version 1.5.0
: "${FLKIT_BIN:=$BATS_TEST_DIRNAME/../${FLKIT_BUILD:-build}/bin}"
load helpers

setup_file() {
	local py=$FLWR_PY npz=$BATS_FILE_TMPDIR/npz
	[ -x "$py" ] || py=python3
	mkdir -p "$npz"
	# SRC: 4 MiB in 4 arrays, so kills land in the middle of the 1 MiB copy blocks; SMALL:
	# the 6 rounds of each prune; BIG: more than the 2 MiB tmpfs holds.
	"$py" "$BATS_TEST_DIRNAME/ckpt/make-npz.py" "$npz/src.npz" 4 --seed 1 &&
		"$py" "$BATS_TEST_DIRNAME/ckpt/make-npz.py" "$npz/small.npz" 0.25 --seed 2 &&
		"$py" "$BATS_TEST_DIRNAME/ckpt/make-npz.py" "$npz/mid.npz" 0.5 --seed 3 &&
		"$py" "$BATS_TEST_DIRNAME/ckpt/make-npz.py" "$npz/big.npz" 3 --seed 4 || {
		echo "fl-ckpt-crash.bats: cannot make the .npz fixtures with $py (numpy; scripts/bootstrap makes .venv)" >&2
		return 1
	}
	export SRC=$npz/src.npz SMALL=$npz/small.npz MID=$npz/mid.npz BIG=$npz/big.npz
	export KILLS_LOG=$BATS_FILE_TMPDIR/kills
	: >"$KILLS_LOG"
}

setup() {
	OWNER="$(id -u):$(id -g)"
	D=$BATS_TEST_TMPDIR/ckpt
	MNT=
}

teardown() {
	if [ -n "$MNT" ] && mountpoint -q "$MNT"; then
		umount "$MNT"
	fi
}

ck() {
	"$FLKIT_BIN/fl-ckpt" --dir "$D" --owner "$OWNER" "$@"
}

# crash VERB PHASE: crash.sh's kills of VERB, some of which must have left the directory in
# PHASE (the kills landed inside the run, not only before or after it); its summary line becomes a TAP comment and joins
# KILLS_LOG for the total. The directory is on a tmpfs: a kill -9 ends the process the same
# on any file system, and without the disk's fsync latency the kills spread over the copy,
# hash and verify phases instead of mostly landing in fsync (CRASH_ON_DISK=1: on disk).
crash() {
	local verb=$1 want=$2 n=${CRASH_KILLS:-300} work=$BATS_TEST_TMPDIR/work where="on disk"
	[ "$verb" != unarchive ] || n=${CRASH_KILLS:-150}
	mkdir -p "$work"
	if [ -z "${CRASH_ON_DISK:-}" ] && mount -t tmpfs -o size=256m,mode=0755 flkit-crash "$work" 2>/dev/null; then
		MNT=$work where="on a tmpfs"
	fi
	run --separate-stderr env CRASH_SRC="$SRC" CRASH_SMALL="$SMALL" FLKIT_BIN="$FLKIT_BIN" \
		"$BATS_TEST_DIRNAME/ckpt/crash.sh" "$verb" "$n" "$work"
	echo "# ${output:-$verb: crash.sh printed no summary (exit $status)} ($where)" >&3
	[ -z "$stderr" ] || printf '%s\n' "$stderr" | head -n 60 | sed 's/^/# /' >&3
	if [[ $output =~ ^$verb:\ ([0-9]+)\ kills,\ ([0-9]+)\ bad ]]; then
		echo "$verb ${BASH_REMATCH[1]} ${BASH_REMATCH[2]}" >>"$KILLS_LOG"
	fi
	assert_success
	[[ $output == "$verb: $n kills, 0 bad states "* ]]
	local re="[(,] ?$want [1-9]"
	[[ $output =~ $re ]] || fail "no kill left the directory in the phase '$want'"
}

# snapshot: what must not change: every entry's type, target and SHA-256.
snapshot() {
	local f
	for f in "$D"/* "$D"/.[!.]*; do
		[ -e "$f" ] || [ -L "$f" ] || continue
		case ${f##*/} in .fl-ckpt.lock) continue ;; esac
		if [ -L "$f" ]; then
			printf '%s -> %s\n' "${f##*/}" "$(readlink "$f")"
		else
			printf '%s %s\n' "${f##*/}" "$(sha256sum <"$f" | cut -d' ' -f1)"
		fi
	done
}

# no_temps: no hidden entry but the lock is left in the directory.
no_temps() {
	run find "$D" -mindepth 1 -maxdepth 1 -name '.*' ! -name .fl-ckpt.lock
	assert_success
	assert_output ''
}

# small_fs SIZE: a tmpfs of SIZE at MNT (unmounted by teardown) holding D, initialized.
small_fs() {
	MNT=$BATS_TEST_TMPDIR/mnt
	mkdir -p "$MNT"
	if ! mount -t tmpfs -o "size=$1,mode=0755" flkit-crash "$MNT"; then
		MNT=
		skip "cannot mount a tmpfs (needs root): the disk-full cases did not run"
	fi
	D=$MNT/ckpt
	run ck init
	assert_success
}

@test "save: kill -9 at random moments (mid-copy too) leaves latest verifying; the next save cleans up" {
	crash save "temp left"
}

@test "restore --round: kill -9 at random moments leaves latest at the old or the new round, verifying" {
	crash restore "latest not swapped"
}

@test "prune --keep: kill -9 at random moments never loses a committed round's file; the next prune finishes" {
	crash prune "nothing removed"
}

@test "unarchive: kill -9 at random moments never loses a committed round; the next unarchive finishes" {
	crash unarchive "no round committed yet"
}

@test "crash: at least 1000 kills in total across the verbs, no bad state after any" {
	local verb k b total=0 bad=0 verbs=
	while read -r verb k b; do
		total=$((total + k)) bad=$((bad + b)) verbs+=" $verb"
	done <"$KILLS_LOG"
	echo "# total: $total kills ($verbs ), $bad bad states" >&3
	[ "$verbs" = " save restore prune unarchive" ] || fail "the kill tests that ran:$verbs (run the whole file)"
	[ "$bad" -eq 0 ]
	[ "$total" -ge 1000 ]
}

# kill_at SYSCALL N ARGS...: fl-ckpt ARGS killed (SIGKILL, strace fault injection) as it enters
# the N-th SYSCALL: a kill at a chosen step of the commit, deterministically.
kill_at() {
	local sc=$1 n=$2
	shift 2
	run strace -qq -f -o /dev/null -e trace="$sc" -e inject="$sc:signal=KILL:when=$n" \
		"$FLKIT_BIN/fl-ckpt" --dir "$D" --owner "$OWNER" "$@"
	assert_equal "$status" 137
}

# after_kill LATEST ROUND2 JSON TEMP: the state a killed `save --round 2` left: latest's round,
# round 2's file (absent, uncommitted, committed), checkpoint_latest.json's round, and whether
# a temp is left; then the next save cleans up and commits.
after_kill() {
	run ck latest
	assert_success
	assert_output "$1	$D/checkpoint_round_$1.npz"
	run ck verify --round "$1"
	assert_success
	local state=absent
	if [ -e "$D/checkpoint_round_2.npz" ]; then
		state=uncommitted
		jq -e '.rounds[] | select(.round == 2)' "$D/checkpoint_manifest.json" >/dev/null && state=committed
	fi
	assert_equal "round 2 $state" "round 2 $2"
	assert_equal "json $(jq .round "$D/checkpoint_latest.json")" "json $3"
	run find "$D" -mindepth 1 -maxdepth 1 -name '.*' ! -name .fl-ckpt.lock
	if [ "$4" = temp ]; then
		[ -n "$output" ] || fail "no temp left: the kill did not land where it was meant to"
	else
		assert_output ''
	fi
	run ck save --round 3 --from "$SMALL"
	assert_success
	no_temps
}

@test "save: a kill at each commit step leaves the state that step allows; the next save cleans up" {
	command -v strace >/dev/null || fail "strace is missing (Debian: apt-get install strace)"
	local step
	# step: SYSCALL N, then the state: latest, round 2, JSON round, temp left.
	for step in "renameat 1 1 absent 1 temp" "rename 1 1 uncommitted 1 temp" \
		"symlinkat 1 1 committed 1 none" "renameat 2 1 committed 1 temp" "rename 2 2 committed 1 temp"; do
		# shellcheck disable=SC2086 # the words of step
		set -- $step
		rm -rf "$D"
		run ck init
		run ck save --round 1 --from "$SMALL"
		assert_success
		kill_at "$1" "$2" save --round 2 --from "$MID"
		after_kill "$3" "$4" "$5" "$6"
	done
}

@test "save of the latest round: a kill at each commit step never leaves latest on an uncommitted file" {
	command -v strace >/dev/null || fail "strace is missing (Debian: apt-get install strace)"
	local step
	# Rounds 1 and 2 committed, latest at 2, round 2 saved again: the link steps aside to 1 (link,
	# JSON) before round 2's entry goes, and comes back after its new entry is in.
	# step: SYSCALL N, then the state: latest, round 2, JSON round, temp left.
	for step in "symlinkat 1 2 committed 2 temp" "renameat 1 2 committed 2 temp" \
		"rename 1 1 committed 2 temp" "rename 2 1 committed 1 temp" \
		"renameat 2 1 uncommitted 1 temp" "rename 3 1 uncommitted 1 temp" \
		"symlinkat 2 1 committed 1 none" "renameat 3 1 committed 1 temp" \
		"rename 4 2 committed 1 temp"; do
		# shellcheck disable=SC2086 # the words of step
		set -- $step
		rm -rf "$D"
		run ck init
		run ck save --round 1 --from "$SMALL"
		assert_success
		run ck save --round 2 --from "$SMALL"
		assert_success
		kill_at "$1" "$2" save --round 2 --from "$MID" --no-latest
		after_kill "$3" "$4" "$5" "$6"
	done
}

@test "save of the latest round when it is the only one: a kill while it is uncommitted leaves no link" {
	command -v strace >/dev/null || fail "strace is missing (Debian: apt-get install strace)"
	run ck init
	run ck save --round 1 --from "$SMALL"
	assert_success
	# No other committed round: the link and the JSON go before the entry; the first renameat
	# is the data file's.
	kill_at renameat 1 save --round 1 --from "$MID"
	[ ! -L "$D/checkpoint_latest.npz" ] || fail "the link is left: $(readlink "$D/checkpoint_latest.npz")"
	[ ! -e "$D/checkpoint_latest.json" ]
	run --separate-stderr ck latest
	assert_failure 1
	[[ $stderr == *"does not exist"* ]] || fail "latest does not say why: $stderr"
	run --separate-stderr ck latest --fallback
	assert_failure 1
	# The next save of the round commits it and links it again.
	run ck save --round 1 --from "$MID"
	assert_success
	run ck latest
	assert_success
	assert_output "1	$D/checkpoint_round_1.npz"
	run ck verify --round 1
	assert_success
	no_temps
}

@test "save: a full disk is exit 1 naming ENOSPC and the file; the old state stays, no temp file" {
	small_fs 2m
	run ck save --round 1 --from "$SMALL"
	assert_success
	local before
	before=$(snapshot)
	run --separate-stderr ck save --round 2 --from "$BIG"
	assert_failure 1
	[[ $stderr == *"No space left on device"* ]] || fail "no ENOSPC in: $stderr"
	[[ $stderr == *checkpoint_round_2.npz* ]] || fail "the file is not named in: $stderr"
	assert_equal "$(snapshot)" "$before"
	no_temps
	run ck latest
	assert_success
	assert_output "1	$D/checkpoint_round_1.npz"
	# With the space back the next save commits.
	run ck save --round 2 --from "$SMALL"
	assert_success
	run ck verify --all
	assert_success
}

@test "save: a manifest that no longer fits is exit 1 naming it; latest and the manifest stay, no temp file" {
	small_fs 2m
	run ck save --round 1 --from "$SMALL"
	assert_success
	# Fill the fs so that round 2's data fits to the page and the manifest's temp does not.
	local avail need size
	size=$(stat -c %s "$MID")
	need=$(((size + 4095) / 4096 * 4096))
	avail=$(stat -f -c '%a * %S' "$MNT")
	avail=$((avail))
	[ "$avail" -gt "$need" ] || fail "the tmpfs has $avail bytes free, under the $need round 2 needs"
	head -c $((avail - need)) /dev/zero >"$MNT/filler"
	assert_equal "$(($(stat -f -c '%a * %S' "$MNT")))" "$need"
	local before
	before=$(snapshot)
	run --separate-stderr ck save --round 2 --from "$MID"
	assert_failure 1
	[[ $stderr == *"No space left on device"* ]] || fail "no ENOSPC in: $stderr"
	[[ $stderr == *checkpoint_manifest.json* ]] || fail "the manifest is not named in: $stderr"
	no_temps
	run ck latest
	assert_success
	assert_output "1	$D/checkpoint_round_1.npz"
	# Round 2's file may stay, whole but uncommitted; everything else is as it was.
	assert_equal "$(snapshot | grep -v '^checkpoint_round_2.npz ')" "$before"
	if [ -e "$D/checkpoint_round_2.npz" ]; then
		cmp "$MID" "$D/checkpoint_round_2.npz"
		run --separate-stderr ck list --json
		assert_success
		assert_equal "$(jq -r '.[] | select(.round == 2) | .committed' <<<"$output")" false
	fi
	rm "$MNT/filler"
	run ck save --round 3 --from "$SMALL"
	assert_success
	no_temps
}

@test "save: 8 concurrent saves of different rounds all commit, one at a time under the lock" {
	run ck init
	assert_success
	local r pids=()
	for r in 1 2 3 4 5 6 7 8; do
		ck save --round "$r" --from "$SRC" --lock-timeout 120 >"$BATS_TEST_TMPDIR/out.$r" 2>"$BATS_TEST_TMPDIR/err.$r" 3>&- &
		pids+=($!)
	done
	for r in 1 2 3 4 5 6 7 8; do
		wait "${pids[r - 1]}" || fail "save --round $r: exit $?: $(cat "$BATS_TEST_TMPDIR/err.$r")"
	done
	run jq -c '[.rounds[].round]' "$D/checkpoint_manifest.json"
	assert_output '[1,2,3,4,5,6,7,8]'
	run ck verify --all
	assert_success
	no_temps
	# Each rename set its file's ctime; under the lock the last rename is the last commit,
	# and latest is that save's round.
	local last
	last=$(stat -c '%.9Z %n' "$D"/checkpoint_round_*.npz | sort -n | tail -n 1)
	last=${last##*checkpoint_round_}
	run ck latest
	assert_success
	assert_output "${last%.npz}	$D/checkpoint_round_${last%.npz}.npz"
	# They met on the lock: some said they waited for it.
	run grep -l 'waiting for .* to release .*/\.fl-ckpt\.lock' "$BATS_TEST_TMPDIR"/err.*
	assert_success
}

@test "save: --lock-timeout 0.1 while another process holds .fl-ckpt.lock exits 4 naming the lock" {
	run ck init
	assert_success
	local lfd
	exec {lfd}>>"$D/.fl-ckpt.lock"
	flock -n "$lfd"
	run --separate-stderr ck save --round 1 --from "$SMALL" --lock-timeout 0.1
	flock -u "$lfd"
	exec {lfd}>&-
	assert_failure 4
	[[ $stderr == *.fl-ckpt.lock* ]] || fail "the lock is not named in: $stderr"
	[ ! -e "$D/checkpoint_round_1.npz" ]
	no_temps
}
