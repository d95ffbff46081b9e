#!/usr/bin/env bash
# test/ckpt/crash.sh: kill -9 one fl-ckpt verb at random moments, again and again, and check
# after every kill that the checkpoint directory is in a state the commit protocol allows
# (fl-ckpt(1) COMMIT PROTOCOL); then that the next mutating command completes and leaves no
# temp file. Driven by test/fl-ckpt-crash.bats.
#
#   crash.sh VERB KILLS WORKDIR
#
# VERB is save, restore, prune or unarchive; KILLS how many runs must be killed while they ran
# (runs that end before their kill are counted apart; at most 3 x KILLS runs). The delay
# between the start and the kill is random from 0 to 1.25 times the verb's measured duration
# (see pick_delay), and 0 for every tenth run. WORKDIR (empty or absent) holds the directory
# under test.
#
# Environment: FLKIT_BIN (fl-ckpt's folder), CRASH_SRC (an .npz of a few MiB, saved and
# restored), CRASH_SMALL (a small .npz, the rounds prune removes), CRASH_SEED (bash's RANDOM
# seed, default random; a failure names it, and the same seed replays the same delays).
#
# Output: per bad state, a description on stderr; last line on stdout
#   VERB: K kills, B bad states (phase n, ...; the run's duration as measured and adapted; seed S)
# where each phase counts the kills that left the directory in it, which shows where the kills
# landed. Exit 0 when B is 0 and K kills landed.
set -u
export LC_ALL=C

verb=${1:?usage: crash.sh VERB KILLS WORKDIR} want=${2:?} work=${3:?}
bin=${FLKIT_BIN:?FLKIT_BIN must name the folder of fl-ckpt}/fl-ckpt
src=${CRASH_SRC:?CRASH_SRC must name an .npz of a few MiB}
small=${CRASH_SMALL:-$src}
seed=${CRASH_SEED:-$((SRANDOM % 32768))}
RANDOM=$seed
owner="$(id -u):$(id -g)"
d=$work/ckpt
mkdir -p "$work" || exit 1
err=$work/stderr

# A sleep without a fork: read with a time-out on a FIFO nobody writes to.
mkfifo "$work/sleep.fifo" || exit 1
exec {sleepfd}<>"$work/sleep.fifo"
pause_us() {
	local s
	printf -v s '%d.%06d' $(($1 / 1000000)) $(($1 % 1000000))
	read -r -t "$s" -u "$sleepfd" _
}
now_us() {
	local t=${EPOCHREALTIME/./}
	_now=$((10#$t))
}

ck() {
	"$bin" --dir "$d" --owner "$owner" "$@"
}

kills=0 early=0 bad=0 i=0 delay=0 ever_linked=0
declare -A phase=()

bad_state() {
	bad=$((bad + 1))
	echo "crash.sh: $verb run $i (delay ${delay} us, CRASH_SEED=$seed): $*" >&2
	if [ "$bad" -le 3 ]; then
		find "$d" -mindepth 1 -maxdepth 1 -printf '    %M %8s %f %l\n' >&2
		[ -e "$d/checkpoint_manifest.json" ] && sed 's/^/    manifest: /' "$d/checkpoint_manifest.json" >&2
		[ -s "$err" ] && sed 's/^/    stderr: /' "$err" >&2
	fi
}

# must DESCRIPTION CMD...: run CMD (a step the test needs, never killed); a failure is a bad
# state and returns 1.
must() {
	local what=$1
	shift
	if ! "$@" >"$work/out" 2>"$err"; then
		bad_state "$what failed: $*"
		return 1
	fi
}

# run_killed DELAY_US ARGS...: start fl-ckpt ARGS, kill -9 it DELAY_US later; krc is its wait
# status (137: the kill landed).
run_killed() {
	local delay_us=$1 pid
	shift
	"$bin" --dir "$d" --owner "$owner" "$@" >/dev/null 2>"$err" &
	pid=$!
	[ "$delay_us" -gt 0 ] && pause_us "$delay_us"
	kill -KILL "$pid" 2>/dev/null
	# Quietly: bash would report the job "Killed" on its stderr.
	wait "$pid" 2>/dev/null
	krc=$?
}

# measure: the shortest duration (us) of 5 unkilled runs of the verb (timed_run K runs the
# K-th, after what it needs beforehand, and sets start): on a loaded machine the mean would
# put many kills after the end of a run.
measure() {
	local k
	dur=
	for k in 1 2 3 4 5; do
		timed_run "$k" || return 1
		now_us
		if [ -z "$dur" ] || [ $((_now - start)) -lt "$dur" ]; then
			dur=$((_now - start))
		fi
	done
}

# pick_delay: 0 for every tenth run; uniform in [0, 1.25] x dur for most (dur adapts, see
# loop); every fourth run
# aims at the commit steps (rename, manifest, link, metadata), which take well under a
# millisecond at the end of a run whose length varies with the machine's load: `aim` moves
# towards them, later after a kill that landed before them, earlier after a run that ended
# before its kill, and the delay is aim +- 2 steps.
aim=0 step=0
pick_delay() {
	local r=$(((RANDOM << 15) | RANDOM))
	aiming=
	if [ $((i % 10)) -eq 1 ]; then
		delay=0
	elif [ $((i % 4)) -eq 0 ]; then
		aiming=1
		delay=$((aim - 2 * step + r % (4 * step + 1)))
		[ "$delay" -lt 0 ] && delay=0
	else
		delay=$((r % (dur * 5 / 4 + 1)))
	fi
}

# temps: the directory's hidden entries other than the lock: what a killed command left.
shopt -s nullglob
temps() {
	local f
	for f in "$d"/.[!.]* "$d"/..?*; do
		[ "$f" = "$d/.fl-ckpt.lock" ] || printf '%s\n' "${f##*/}"
	done
}

# read_manifest: mrounds (the committed rounds) and msha[round]; absent file: none. The
# manifest is replaced atomically, so it is always whole: it starts with its version, ends with
# its closing brace, and has a round, file and SHA-256 per entry, in fl_manifest_format's
# layout (one key a line). fl-ckpt's strict parser reads it too, in every verify and latest of
# the checks. (jq would add a process per check; the suite times that.)
read_manifest() {
	mrounds=()
	msha=()
	local -a l
	local k r='' re_r='^      "round": ([0-9]+),$' re_s='^      "sha256": "([0-9a-f]{64})",$'
	[ -e "$d/checkpoint_manifest.json" ] || return 0
	mapfile -t l <"$d/checkpoint_manifest.json"
	if [ "${l[0]-}" != "{" ] || [ "${l[1]-}" != '  "version": 1,' ] || [ "${l[-1]-}" != "}" ]; then
		bad_state "the manifest is not whole: ${#l[@]} lines, first '${l[0]-}', last '${l[-1]-}'"
		return 1
	fi
	for k in "${l[@]}"; do
		if [[ $k =~ $re_r ]]; then
			r=${BASH_REMATCH[1]}
			mrounds+=("$r")
		elif [[ $k =~ $re_s ]]; then
			msha[r]=${BASH_REMATCH[1]}
		fi
	done
	for r in "${mrounds[@]}"; do
		[ -n "${msha[r]-}" ] || {
			bad_state "the manifest entry of round $r has no SHA-256"
			return 1
		}
	done
}

committed() {
	[ -n "${msha[$1]+x}" ]
}

file_of() {
	printf '%s/checkpoint_round_%s.npz' "$d" "$1"
}

# orig_of ROUND: the .npz every file of ROUND is a copy of (each verb saves the same sources).
orig_of() {
	case $verb:$1 in
	prune:* | unarchive:9) echo "$small" ;;
	*) echo "$src" ;;
	esac
}
read -r src_sha _ < <(sha256sum "$src")
read -r small_sha _ < <(sha256sum "$small")

# check_committed ROUND: its file exists, fl-ckpt verify accepts it (structure, CRC, the
# manifest's size and SHA-256), and the manifest's SHA-256 is the original's, as sha256sum
# gave it: so the file holds the original's bytes.
check_committed() {
	local f want=$src_sha
	f=$(file_of "$1")
	if [ ! -f "$f" ]; then
		bad_state "round $1 is in the manifest but its file is missing"
		return 1
	fi
	must "verify --round $1 of a committed round" ck verify --round "$1" || return 1
	[ "$(orig_of "$1")" = "$small" ] && want=$small_sha
	if [ "${msha[$1]}" != "$want" ]; then
		bad_state "round $1: the manifest says SHA-256 ${msha[$1]}, the original's is $want"
		return 1
	fi
}

# check_all_committed: check_committed for every manifest entry, with one `verify --all`.
check_all_committed() {
	local r want
	for r in "${mrounds[@]}"; do
		want=$src_sha
		[ "$(orig_of "$r")" = "$small" ] && want=$small_sha
		if [ ! -f "$(file_of "$r")" ]; then
			bad_state "round $r is in the manifest but its file is missing"
			return 1
		elif [ "${msha[$r]}" != "$want" ]; then
			bad_state "round $r: the manifest says SHA-256 ${msha[$r]}, the original's is $want"
			return 1
		fi
	done
	must "verify --all" ck verify --all
}

# check_uncommitted ROUND: a final-name file without a manifest entry is whole (the same bytes
# as its original: it was renamed only once written) and list reports it uncommitted.
check_uncommitted() {
	local f c
	f=$(file_of "$1")
	if ! cmp -s "$(orig_of "$1")" "$f"; then
		bad_state "round $1 has a final-name file that is not a whole copy (torn) and no manifest entry"
		return 1
	fi
	must "list --json" ck list --json || return 1
	c=$(jq -r --argjson r "$1" '.[] | select(.round == $r) | .committed' "$work/out" 2>/dev/null)
	if [ "$c" != false ]; then
		bad_state "list --json reports uncommitted round $1 with committed=$c"
		return 1
	fi
}

# latest_is ROUND WHAT: after the completed command WHAT, the link names ROUND's file (the next
# check_latest resolves and verifies it).
latest_is() {
	local out
	out=$(readlink "$d/checkpoint_latest.npz")
	if [ "$out" != "checkpoint_round_$1.npz" ]; then
		bad_state "after $2 the latest link is '$out', not round $1's file"
		return 1
	fi
	ever_linked=1
}

# check_latest: `latest` resolves to a committed round that verifies (lround), or, while no
# link was ever made, exits 1 with no link and --fallback finds a committed, verified round
# when the manifest has one (lround 0).
check_latest() {
	local rc out
	lround=0
	out=$(ck latest 2>"$err")
	rc=$?
	if [ "$rc" -eq 0 ]; then
		lround=${out%%$'\t'*}
		ever_linked=1
		if ! committed "$lround"; then
			bad_state "latest is round $lround, which has no manifest entry"
			return 1
		fi
		check_committed "$lround"
		return
	fi
	if [ "$rc" -ne 1 ] || [ -L "$d/checkpoint_latest.npz" ] || [ "$ever_linked" -eq 1 ]; then
		bad_state "latest exit $rc (link: $(readlink "$d/checkpoint_latest.npz" 2>&1)) after a link had been made"
		return 1
	fi
	[ "${#mrounds[@]}" -eq 0 ] && return 0
	out=$(ck latest --fallback 2>"$err")
	rc=$?
	if [ "$rc" -ne 0 ] || ! committed "${out%%$'\t'*}"; then
		bad_state "no link yet, the manifest has rounds ${mrounds[*]}, latest --fallback exit $rc: $out"
		return 1
	fi
}

# json_round: the round of checkpoint_latest.json, "" when absent. It is replaced atomically,
# so it is always whole: its closing brace and a round (fl-ckpt's own format, indent 2).
json_round() {
	local j re='^\{.*"round": ([0-9]+),.*\}$'
	jround=
	[ -e "$d/checkpoint_latest.json" ] || return 0
	j=$(tr '\n' ' ' <"$d/checkpoint_latest.json")
	if ! [[ ${j% } =~ $re ]]; then
		bad_state "checkpoint_latest.json is not whole: $j"
		return 1
	fi
	jround=${BASH_REMATCH[1]}
}

# no_temps: after a completed mutating command nothing a killed one left remains.
no_temps() {
	local t
	t=$(temps)
	if [ -n "$t" ]; then
		bad_state "temp files remain after the next mutating command: $(echo "$t" | tr '\n' ' ')"
		return 1
	fi
}

# count PHASE [early]: one more kill left the directory in PHASE; "early": a phase before the
# commit steps (see pick_delay).
count() {
	phase[$1]=$((${phase[$1]:-0} + 1))
	[ "${2-}" = early ] && too_early=1
}

# loop BODY: run BODY (which starts one killed run) until `want` kills landed, at most 3 x want
# runs; the kills that came after the command ended are counted apart.
loop() {
	local runs=0
	while [ "$kills" -lt "$want" ] && [ "$runs" -lt $((3 * want)) ]; do
		i=$((i + 1))
		runs=$((runs + 1))
		too_early=
		"$1"
		if [ -n "$aiming" ] && [ "$krc" -eq 0 ]; then
			aim=$((aim > step ? aim - step : 0))
		elif [ -n "$aiming" ] && [ -n "$too_early" ]; then
			aim=$((aim + step))
		elif [ -z "$aiming" ] && [ "$delay" -gt 0 ]; then
			# dur follows the load: down 2 % after a run that ended before its kill, up
			# 0.5 % after a kill that landed, so about a fifth of the runs end first.
			if [ "$krc" -eq 0 ]; then
				dur=$((dur - dur / 50))
			else
				dur=$((dur + dur / 200 + 1))
			fi
		fi
		case $krc in
		137) kills=$((kills + 1)) ;;
		0) early=$((early + 1)) ;;
		*) bad_state "the killed command exited $krc, not 0 or 137 (SIGKILL)" ;;
		esac
	done
}

# --- save ----------------------------------------------------------------------------------
# Every 10 runs the directory starts over: empty for odd epochs (nothing ever committed),
# one committed round for even ones. Each run kills `save --round r`, checks, then completes
# `save --round r+1`, which must clean up and become latest.
next=1
save_epoch() {
	rm -rf "$d"
	ever_linked=0
	must "init" ck init || return 1
	next=2
	if [ $(((i / 10) % 2)) -eq 0 ]; then
		must "save --round 1" ck save --round 1 --from "$src" || return 1
		ever_linked=1
	fi
}

timed_save() {
	[ "$1" -eq 1 ] && { rm -rf "$d" && mkdir -p "$d"; }
	now_us
	start=$_now
	must "save while measuring" ck save --round "$1" --from "$src"
}

save_run() {
	local r t
	[ $((i % 10)) -eq 1 ] && { save_epoch || return; }
	r=$next
	next=$((r + 2))
	pick_delay
	run_killed "$delay" save --round "$r" --from "$src"
	t=$(temps)
	read_manifest || return
	json_round || return
	check_latest || return
	if [ "$krc" -eq 0 ]; then
		:
	elif [ -n "$t" ]; then
		count "temp left" early
	elif [ -e "$(file_of "$r")" ] && ! committed "$r"; then
		count "renamed, no manifest entry"
	elif committed "$r" && [ "$lround" != "$r" ]; then
		count "in the manifest, latest not swapped"
	elif [ "$lround" = "$r" ] && [ "$jround" != "$r" ]; then
		count "latest swapped, metadata not written"
	elif [ "$lround" = "$r" ]; then
		count "complete, killed before exit"
	else
		count "nothing written" early
	fi
	if [ -e "$(file_of "$r")" ]; then
		if committed "$r"; then
			check_committed "$r" || return
		else
			check_uncommitted "$r" || return
		fi
	fi
	# A run that ended by itself must have left nothing either; a killed one, the next save.
	if [ "$krc" -ne 0 ]; then
		must "the next save (round $((r + 1)) after a kill)" ck save --round "$((r + 1))" --from "$src" || return
		r=$((r + 1))
	fi
	no_temps || return
	latest_is "$r" "save --round $r"
}

# --- restore -------------------------------------------------------------------------------
# Rounds 1-3 committed; each run kills `restore --round t` (t not the current latest), checks
# that latest is the old or the new round and the metadata one of them, then completes the
# restore.
cur=3
restore_setup() {
	rm -rf "$d"
	must "init" ck init || return 1
	local r
	for r in 1 2 3; do
		must "save --round $r" ck save --round "$r" --from "$src" || return 1
	done
	ever_linked=1
}

timed_restore() {
	now_us
	start=$_now
	must "restore while measuring" ck restore --round $(($1 % 3 + 1))
}

restore_run() {
	local t
	t=$((1 + RANDOM % 2))
	[ "$t" -ge "$cur" ] && t=$((t + 1))
	pick_delay
	run_killed "$delay" restore --round "$t"
	local tl
	tl=$(temps)
	read_manifest || return
	json_round || return
	check_latest || return
	if [ "$lround" != "$cur" ] && [ "$lround" != "$t" ]; then
		bad_state "after a killed restore from $cur to $t latest is $lround"
		return
	fi
	if [ -n "$jround" ] && [ "$jround" != "$cur" ] && [ "$jround" != "$t" ]; then
		bad_state "after a killed restore from $cur to $t checkpoint_latest.json has round $jround"
		return
	fi
	if [ "$krc" -eq 0 ]; then
		:
	elif [ -n "$tl" ]; then
		count "temp left"
	elif [ "$lround" = "$cur" ]; then
		count "latest not swapped" early
	elif [ "$jround" != "$t" ]; then
		count "latest swapped, metadata not written"
	else
		count "complete, killed before exit"
	fi
	if [ "$krc" -ne 0 ]; then
		must "the next restore --round $t (after a kill)" ck restore --round "$t" || return
	fi
	no_temps || return
	cur=$t
	latest_is "$t" "restore --round $t" || return
	json_round || return
	[ "$jround" = "$t" ] || bad_state "after restore --round $t checkpoint_latest.json has round $jround"
}

# --- prune ---------------------------------------------------------------------------------
# Two templates of rounds 1-6 (small files): latest at 6 (prune --keep 2 keeps 5 6) and
# latest at 3 (keeps 3 5 6). Each run copies one, kills `prune --keep 2`, checks that every
# manifest entry still has its whole file and latest verifies, then completes the prune.
prune_templates() {
	local tpl r
	for tpl in a b; do
		d=$work/tpl-$tpl
		must "init" ck init || return 1
		for r in 1 2 3 4 5 6; do
			must "save --round $r" ck save --round "$r" --from "$small" || return 1
		done
		[ "$tpl" = b ] && { must "restore --round 3" ck restore --round 3 || return 1; }
	done
	d=$work/ckpt
}

prune_copy() {
	rm -rf "$d"
	cp -a "$work/tpl-$1" "$d"
}

timed_prune() {
	prune_copy a || return
	now_us
	start=$_now
	must "prune while measuring" ck prune --keep 2
}

prune_run() {
	local tpl=a keep="5 6" r files=() tl
	[ $((RANDOM % 2)) -eq 1 ] && tpl=b keep="3 5 6"
	prune_copy "$tpl" || return
	ever_linked=1
	pick_delay
	run_killed "$delay" prune --keep 2
	tl=$(temps)
	read_manifest || return
	json_round || return
	check_latest || return
	for r in 1 2 3 4 5 6; do
		[ -e "$(file_of "$r")" ] && files+=("$r")
	done
	check_all_committed || return
	for r in $keep; do
		committed "$r" || {
			bad_state "prune --keep 2 (killed) removed round $r, which it must keep"
			return
		}
	done
	for r in "${files[@]}"; do
		committed "$r" || check_uncommitted "$r" || return
	done
	if [ "$krc" -eq 0 ]; then
		:
	elif [ -n "$tl" ]; then
		count "temp left"
	elif [ "${#mrounds[@]}" -eq 6 ]; then
		count "nothing removed" early
	elif [ "${#files[@]}" -gt "${#mrounds[@]}" ]; then
		count "manifest saved, files not all removed"
	else
		count "complete, killed before exit"
	fi
	if [ "$krc" -ne 0 ]; then
		must "the next prune --keep 2 (after a kill)" ck prune --keep 2 || return
	fi
	no_temps || return
	read_manifest || return
	latest_is "${lround}" "prune --keep 2" || return
	files=()
	for r in 1 2 3 4 5 6; do
		[ -e "$(file_of "$r")" ] && files+=("$r")
	done
	if [ "${mrounds[*]}" != "$keep" ] || [ "${files[*]}" != "$keep" ]; then
		bad_state "after prune --keep 2 the manifest has rounds '${mrounds[*]}' and the files '${files[*]}', not '$keep'"
	fi
}

# --- unarchive -----------------------------------------------------------------------------
# An archive of rounds 1-3 (latest 3). Each run unarchives it into an empty directory, or into
# one holding a committed round 9 (the template), killed; checks; then completes the unarchive,
# after which rounds 1-3 are committed and latest is the archive's 3.
arch=$work/rounds.tar.gz
unarchive_setup() {
	d=$work/arch-src
	must "init" ck init || return 1
	local r
	for r in 1 2 3; do
		must "save --round $r" ck save --round "$r" --from "$src" || return 1
	done
	must "archive --all" ck archive --out "$arch" --all || return 1
	d=$work/tpl-9
	must "init" ck init || return 1
	must "save --round 9" ck save --round 9 --from "$small" || return 1
	d=$work/ckpt
}

unarchive_fresh() {
	rm -rf "$d"
	if [ "$1" = empty ]; then
		ever_linked=0
		mkdir -p "$d"
	else
		ever_linked=1
		cp -a "$work/tpl-9" "$d"
	fi
}

timed_unarchive() {
	unarchive_fresh empty
	now_us
	start=$_now
	must "unarchive while measuring" ck unarchive "$arch"
}

unarchive_run() {
	local how=empty r n=0 tl
	[ $((RANDOM % 2)) -eq 1 ] && how=nine
	unarchive_fresh "$how" || return
	pick_delay
	run_killed "$delay" unarchive "$arch"
	tl=$(temps)
	read_manifest || return
	json_round || return
	check_latest || return
	check_all_committed || return
	for r in 1 2 3; do
		[ -e "$(file_of "$r")" ] || continue
		if committed "$r"; then
			n=$((n + 1))
		else
			check_uncommitted "$r" || return
		fi
	done
	if [ "$how" = nine ] && ! committed 9; then
		bad_state "a killed unarchive lost the committed round 9 already there"
		return
	fi
	if [ "$krc" -eq 0 ]; then
		:
	elif [ "$n" -eq 0 ]; then
		count "no round committed yet" early
	elif [ "$n" -lt 3 ]; then
		count "$n of 3 rounds committed"
	elif [ "$lround" != 3 ]; then
		count "3 rounds committed, latest not swapped"
	else
		count "complete, killed before exit"
	fi
	if [ "$krc" -ne 0 ]; then
		must "the next unarchive (after a kill)" ck unarchive "$arch" || return
	fi
	no_temps || return
	read_manifest || return
	for r in 1 2 3; do
		committed "$r" || bad_state "after unarchive round $r is not committed"
	done
	latest_is 3 "unarchive (the archive's latest)"
}

case $verb in
save) ;;
restore) restore_setup || exit 1 ;;
prune) prune_templates || exit 1 ;;
unarchive) unarchive_setup || exit 1 ;;
*)
	echo "crash.sh: unknown verb '$verb' (save, restore, prune, unarchive)" >&2
	exit 2
	;;
esac
timed_run() {
	"timed_$verb" "$@"
}
measure || exit 1
dur0=$dur aim=$dur step=$((dur / 25 > 50 ? dur / 25 : 50))
loop "${verb}_run"

summary=
for p in "${!phase[@]}"; do
	summary+="$p ${phase[$p]}, "
done
printf '%s: %d kills, %d bad states (%s%d ended before the kill; run %.1f ms measured, %.1f at the end; seed %d)\n' \
	"$verb" "$kills" "$bad" "$summary" "$early" "$((dur0 / 1000)).$((dur0 / 100 % 10))" \
	"$((dur / 1000)).$((dur / 100 % 10))" "$seed"
[ "$bad" -eq 0 ] && [ "$kills" -ge "$want" ]
