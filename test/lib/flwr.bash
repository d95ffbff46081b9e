# flwr.bash: the Flower CLI side of the test drivers (test/e2e/federation.sh,
# test/appliance/boot.sh, test/multisite/multisite.sh): the demo app, the connection to a
# SuperLink by Flower version, a run's status and its JSON events. The driver defines cli (flwr
# with its HOME, FLWR_HOME and time limit, where the SuperLink is reachable) and sets vnum
# (major * 1000 + minor of the Flower it runs).

# shellcheck shell=bash
# shellcheck disable=SC2154 # vnum is the driver's

# flwr_app SRC DEST: the app (share/flower-app) copied to DEST, without byte-code.
flwr_app() {
	mkdir -p "$2" && (cd "$1" && tar --exclude=__pycache__ --exclude='*.pyc' -cf - .) | (cd "$2" && tar -xf -)
}

# flwr_connect APP CLI NAME ADDRESS TLS: the CLI's connection NAME to the Control API at
# ADDRESS (design 07 §3.1): Flower <= 1.25 a federation in APP's pyproject.toml, 1.26+ a
# SuperLink in CLI/config.toml ($FLWR_HOME). TLS is the line that says how to trust it
# (root-certificates = "...", or insecure = true). Sets FLWR_CONN, the arguments that name
# the connection to flwr log, ls and list.
flwr_connect() {
	local app=$1 home=$2 name=$3 address=$4 tls=$5
	if [ "$vnum" -le 1025 ]; then
		printf '\n[tool.flwr.federations]\ndefault = "%s"\n\n[tool.flwr.federations.%s]\naddress = "%s"\n%s\n' \
			"$name" "$name" "$address" "$tls" >>"$app/pyproject.toml"
		FLWR_CONN=("$app" "$name")
	else
		mkdir -p "$home"
		printf '[superlink]\ndefault = "%s"\n\n[superlink.%s]\naddress = "%s"\n%s\n' \
			"$name" "$name" "$address" "$tls" >"$home/config.toml"
		FLWR_CONN=("$name")
	fi
}

# flwr_status RUN_ID: the run's status (finished:completed ...), empty when unknown
# (`flwr ls` up to 1.25, `flwr list` later); the CLI's complaints on stderr.
flwr_status() {
	local verb=list
	[ "$vnum" -le 1025 ] && verb='ls'
	cli "$verb" "${FLWR_CONN[@]}" --run-id "$1" --format json | jq -r '.runs[0].status // empty' 2>/dev/null
}

# flwr_events LOG OUT: the app's JSON events in a run's log, one per line (Flower may colour
# or prefix lines; an event is one JSON object on a line of its own).
flwr_events() {
	grep -o '{"timestamp".*}' "$1" 2>/dev/null | jq -c 'select(.event != null)' >"$2" 2>/dev/null
	return 0
}
