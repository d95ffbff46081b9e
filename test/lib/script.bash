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
