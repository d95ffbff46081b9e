# shellcheck shell=bash
# test/onegate/lib.bash: start and stop the OneGate emulator from bats, talk to its control
# API, and write one_env files. Sourced by test/fl-onegate.bats and test/onegate-emulator.bats.

OG_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
OG_EMULATOR="$OG_ROOT/test/onegate/emulator.py"
# shellcheck disable=SC2034 # used by the suites that load this file
OG_FIXTURES="$OG_ROOT/test/fixtures/onegate"

# og_start WORLD [emulator options]: start an emulator on a free loopback port; sets OG_PID,
# OG_PORT and OG_URL. The caller stops it with og_stop (teardown / teardown_file).
og_start() {
	local world=$1 pf
	shift
	pf=$(mktemp "${BATS_FILE_TMPDIR:-${TMPDIR:-/tmp}}/og-port.XXXXXX")
	rm -f "$pf"
	# fd 3 is bats' own: a background process holding it would make bats wait forever.
	python3 "$OG_EMULATOR" --world "$world" --port 0 --port-file "$pf" "$@" 3>&- &
	OG_PID=$!
	local i
	# Until the emulator wrote its port (30 s at most: a guard against a hang, not a bound).
	for ((i = 0; i < 600; i++)); do
		[ -s "$pf" ] && break
		kill -0 "$OG_PID" 2>/dev/null || {
			echo "emulator exited at start" >&2
			return 1
		}
		sleep 0.05
	done
	[ -s "$pf" ] || {
		echo "emulator did not start" >&2
		return 1
	}
	OG_PORT=$(<"$pf")
	OG_URL="http://127.0.0.1:$OG_PORT"
	rm -f "$pf"
}

og_stop() {
	if [ -n "${OG_PID:-}" ]; then
		kill "$OG_PID" 2>/dev/null || true
		wait "$OG_PID" 2>/dev/null || true
		OG_PID=
	fi
}

# og_ctl METHOD PATH [JSON]: call the control API (/_emulator/PATH), print its answer.
og_ctl() {
	local method=$1 path=$2 body=${3:-}
	if [ -n "$body" ]; then
		curl -sS --max-time 10 -X "$method" -H 'Content-Type: application/json' --data-binary "$body" \
			"$OG_URL/_emulator/$path"
	else
		curl -sS --max-time 10 -X "$method" "$OG_URL/_emulator/$path"
	fi
}

# og_token WORLD VMID[,VMID...]: the VMs' real OneGate tokens, one a line (AES-256-CBC, 06 §7.1).
og_token() {
	python3 "$OG_EMULATOR" --world "$1" --print-token "$2"
}

# og_env FILE TOKEN VMID [ENDPOINT]: write a one_env as loc-16-gen-env does (header lines first).
og_env() {
	local file=$1 token=$2 vmid=$3 ep=${4:-$OG_URL}
	{
		printf 'export TOKENTXT="%s"\n' "$token"
		printf 'export VMID="%s"\n' "$vmid"
		printf 'export ONEGATE_ENDPOINT="%s"\n' "$ep"
		printf 'export DISK_ID="1"\n'
		printf 'export VMID="%s"\n' "$vmid"
	} >"$file"
	chmod 0400 "$file"
}

# og_requests [JQ FILTER]: the emulator's request log through jq.
og_requests() {
	og_ctl GET requests | jq -c "${1:-.}"
}

# now_ms: wall clock in milliseconds.
now_ms() {
	local t
	t=$(date +%s%N)
	echo $((t / 1000000))
}
