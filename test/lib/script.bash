# script.bash: the logging and exit helpers of the test drivers (test/e2e/federation.sh,
# test/appliance/boot.sh, test/multisite/multisite.sh), sourced after they set prog. Log lines
# look like the tools' own: [date time] [LEVEL] [prog] message, on stderr. Exit codes: 1 a
# failure, 2 usage, 4 the deadline ($deadline_s seconds, when the driver has one) reached.

# shellcheck shell=bash
# shellcheck disable=SC2154 # prog and deadline_s are the driver's

say() { printf '[%s] [INFO] [%s] %s\n' "$(date '+%F %T')" "$prog" "$*" >&2; }
die() {
	printf '[%s] [ERROR] [%s] %s\n' "$(date '+%F %T')" "$prog" "$1" >&2
	exit "${2:-1}"
}
# usage: the driver's "# usage: " comment line, exit 2.
usage() {
	sed -n 's/^# usage: /usage: /p' "$0" >&2
	exit 2
}
# must WHAT CMD...: run a boot step; exit 4 when it ran out of time (the tools exit 4), else 1.
must() {
	local what=$1 rc
	shift
	"$@"
	rc=$?
	[ "$rc" = 0 ] && return 0
	[ "$rc" = 4 ] && die "$what: not done by the deadline${deadline_s:+ (${deadline_s}s)}" 4
	die "$what failed (exit $rc)"
}
# need_deadline: --deadline ($deadline_s) a positive integer, else exit 2.
need_deadline() {
	[[ $deadline_s =~ ^[1-9][0-9]*$ ]] || die "--deadline '$deadline_s' is not a positive integer" 2
}
# need_tools DIR TOOL...: each of flkit's tools built in DIR, else exit 2 naming the fix.
need_tools() {
	local dir=$1 t
	shift
	for t in "$@"; do
		[ -x "$dir/$t" ] || die "$dir/$t not found; build the tools (make all) or set FLKIT_BIN" 2
	done
}
# start_clock: t_start now (epoch seconds, with nanoseconds) and deadline $deadline_s from it;
# left prints the seconds to the deadline, at least 1 (timeout 0 would mean no limit).
start_clock() {
	t_start=$(date +%s.%N)
	deadline=$((${t_start%.*} + deadline_s))
}
left() {
	local l=$((deadline - $(date +%s)))
	echo $((l > 0 ? l : 1))
}
