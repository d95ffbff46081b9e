#!/usr/bin/env bash
# bench/onegate.sh: `fl-onegate publish` + `fl-onegate vm show --json` against the OneGate
# emulator, versus the Ruby-free bash equivalent (source one_env, curl PUT, curl GET | jq), in
# one hyperfine run; prints both means and the ratio.
#
#   FLKIT_BIN=build/bin bench/onegate.sh [--runs N]
#   bench/onegate.sh --reference ONE_ENV    the bash equivalent alone (what hyperfine runs)
#
# Both sides do the same work: read the identity from one_env, PUT one attribute as a form
# body, GET /vm and pretty-print the JSON. The bash side passes the headers on stdin (-H @-)
# so that the token stays out of argv, as fl-onegate does.
set -euo pipefail

reference() {
	# shellcheck disable=SC1090 # the one_env this script wrote itself
	. "$1"
	printf 'X-ONEGATE-TOKEN: %s\nX-ONEGATE-VMID: %s\n' "$TOKENTXT" "$VMID" |
		curl -sSf --max-time 10 -X PUT "$ONEGATE_ENDPOINT/vm" -H @- \
			--data-urlencode "data=FL_BENCH=1" --data "type=1" >/dev/null
	printf 'X-ONEGATE-TOKEN: %s\nX-ONEGATE-VMID: %s\n' "$TOKENTXT" "$VMID" |
		curl -sSf --max-time 10 "$ONEGATE_ENDPOINT/vm" -H @- | jq . >/dev/null
}

if [ "${1:-}" = --reference ]; then
	reference "$2"
	exit 0
fi

root=$(cd "$(dirname "$0")/.." && pwd)
bin=${FLKIT_BIN:-$root/build/bin}
runs=100
while [ $# -gt 0 ]; do
	case $1 in
	--runs) runs=$2; shift 2 ;;
	*) echo "usage: $0 [--runs N]" >&2; exit 2 ;;
	esac
done
for tool in hyperfine curl jq python3; do
	command -v "$tool" >/dev/null || { echo "$0: $tool is needed" >&2; exit 3; }
done
[ -x "$bin/fl-onegate" ] || { echo "$0: no $bin/fl-onegate; run make or set FLKIT_BIN" >&2; exit 3; }

tmp=$(mktemp -d)
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

world=$root/test/fixtures/onegate/world-7.4.json
python3 "$root/test/onegate/emulator.py" --world "$world" --port 0 --port-file "$tmp/port" &
pid=$!
for _ in $(seq 100); do
	[ -s "$tmp/port" ] && break
	sleep 0.05
done
[ -s "$tmp/port" ] || { echo "$0: the emulator did not start" >&2; exit 1; }
port=$(<"$tmp/port")
token=$(python3 "$root/test/onegate/emulator.py" --world "$world" --print-token 12)
umask 077
printf 'export TOKENTXT="%s"\nexport VMID="12"\nexport ONEGATE_ENDPOINT="http://127.0.0.1:%s"\n' \
	"$token" "$port" >"$tmp/one_env"

fl="'$bin/fl-onegate' -C '$tmp/one_env' publish FL_BENCH=1 && '$bin/fl-onegate' -C '$tmp/one_env' vm show --json >/dev/null"
ref="bash '$root/bench/onegate.sh' --reference '$tmp/one_env'"
# Both must work before they are timed.
sh -c "$fl" && sh -c "$ref"

hyperfine --warmup 5 --runs "$runs" --export-json "$tmp/result.json" -n fl-onegate "$fl" -n curl+jq "$ref"
jq -r '.results as $r | ($r[0].mean * 1000) as $fl | ($r[1].mean * 1000) as $ref |
	"fl-onegate publish + vm show: \($fl * 100 | round / 100) ms; curl + jq: \($ref * 100 | round / 100) ms; " +
	"ratio curl+jq / fl-onegate = \($ref / $fl * 100 | round / 100)"' "$tmp/result.json"
