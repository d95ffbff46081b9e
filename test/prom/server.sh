#!/usr/bin/env bash
# A Prometheus server for tests and demos: Debian's `prometheus` on a free loopback port,
# scraping one fl-metrics target every second, its TSDB in a directory of the caller's, and a
# client for its HTTP API.
#
#   server.sh start DIR TARGET [NAME=VALUE]...
#                         start it with DIR/prometheus.yml: scrape_interval 1s, one job
#                         fl_training with TARGET (HOST:PORT) and the NAME=VALUE target labels
#                         (e.g. role=superlink deployment=e2e); TSDB in DIR/data, log in
#                         DIR/log, pid in DIR/pid. Prints endpoint=http://127.0.0.1:PORT and
#                         pid=PID once /-/ready answers.
#   server.sh stop DIR    stop the server started in DIR (no error when none runs).
#   server.sh query DIR PROMQL
#                         the instant query's .data as one line of JSON (the HTTP API's own).
#   server.sh value DIR PROMQL
#                         the instant query's one value (a scalar, or a vector of exactly one
#                         series); nothing when it has none (no error: not scraped yet).
#   server.sh wait DIR PROMQL VALUE [ATTEMPTS]
#                         poll `value` every 0.5 s until it equals VALUE (numerically), at
#                         most ATTEMPTS times (default 120); exit 1 with the last value seen.
#   server.sh range DIR PROMQL START END [STEP]
#                         the range query's values (epoch seconds, step default 1s) of its
#                         one series, one per line, oldest first.
#
# Nothing is created outside DIR. Needs prometheus (Debian package prometheus), curl and jq.
# Exit: 0 ok, 1 failure, 2 usage.
set -euo pipefail
prog=server.sh

usage() {
	sed -n 's/^#   server.sh /usage: server.sh /p' "$0" >&2
	exit 2
}
die() {
	echo "$prog: $*" >&2
	exit 1
}

# free_port: a loopback port nothing listens on, below the kernel's ephemeral range (a port
# bind(0) hands out could be taken again between this pick and Prometheus' own bind).
free_port() {
	local first p i
	first=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
	[ "$first" -gt 20100 ] || first=32768
	for ((i = 0; i < 200; i++)); do
		p=$((20000 + RANDOM % (first - 20000)))
		if [ -z "$(ss -Hltn "( sport = :$p )" 2>/dev/null)" ]; then
			echo "$p"
			return 0
		fi
	done
	die "no free loopback port between 20000 and $first"
}

config() { # DIR TARGET LABELS...: DIR/prometheus.yml
	local dir=$1 target=$2 kv
	shift 2
	{
		printf 'global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n'
		printf 'scrape_configs:\n  - job_name: fl_training\n    static_configs:\n'
		printf '      - targets: ["%s"]\n' "$target"
		if [ $# -gt 0 ]; then
			printf '        labels:\n'
			for kv in "$@"; do printf '          %s: "%s"\n' "${kv%%=*}" "${kv#*=}"; done
		fi
	} >"$dir/prometheus.yml"
}

start() {
	local dir=$1 target=$2 kv port pid try i
	shift 2
	command -v prometheus >/dev/null || die "prometheus is not installed (apt-get install prometheus)"
	[[ $target =~ ^[A-Za-z0-9.:_-]+:[0-9]+$ ]] || die "target '$target' is not HOST:PORT (e.g. 127.0.0.1:9101)"
	for kv in "$@"; do
		[[ $kv =~ ^[a-zA-Z_][a-zA-Z0-9_]*=[A-Za-z0-9._:/-]*$ ]] ||
			die "label '$kv' is not NAME=VALUE (NAME a Prometheus label name, VALUE letters, digits and ._:/-)"
	done
	mkdir -p "$dir"
	if [ -s "$dir/pid" ] && kill -0 "$(cat "$dir/pid")" 2>/dev/null; then
		die "a server already runs for $dir (pid $(cat "$dir/pid")); stop it first"
	fi
	config "$dir" "$target" "$@"
	rm -f "$dir/endpoint"
	for try in 1 2 3; do
		port=$(free_port)
		# Its own session, so that the caller's terminal signals and bats' process group leave it be.
		setsid prometheus --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/data" \
			--web.listen-address="127.0.0.1:$port" --log.level=info </dev/null >"$dir/log" 2>&1 &
		pid=$!
		echo "$pid" >"$dir/pid"
		# Until it answers /-/ready (60 s at most: a guard against a hang, not a bound).
		for ((i = 0; i < 600; i++)); do
			if curl -sf -o /dev/null "http://127.0.0.1:$port/-/ready"; then
				echo "http://127.0.0.1:$port" >"$dir/endpoint"
				echo "endpoint=http://127.0.0.1:$port"
				echo "pid=$pid"
				return 0
			fi
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$pid" 2>/dev/null; then
			stop "$dir"
			die "prometheus did not answer http://127.0.0.1:$port/-/ready within 60 s; see $dir/log"
		fi
		grep -q 'address already in use' "$dir/log" || break
		echo "$prog: port $port was taken meanwhile (try $try); picking another" >&2
	done
	rm -f "$dir/pid"
	echo "$prog: prometheus exited at start; its log follows ($dir/log)" >&2
	tail -n 20 "$dir/log" >&2
	exit 1
}

stop() {
	local dir=$1 pid i
	[ -s "$dir/pid" ] || return 0
	pid=$(cat "$dir/pid")
	if kill -TERM "$pid" 2>/dev/null; then
		for ((i = 0; i < 100; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null || true
	fi
	rm -f "$dir/pid"
}

endpoint() { # DIR
	[ -s "$1/endpoint" ] || die "no server started in $1 (server.sh start $1 TARGET first)"
	cat "$1/endpoint"
}

# api DIR PATH CURL-ARGS...: one API call; its .data, or exit 1 with Prometheus' error.
api() {
	local dir=$1 path=$2 url out
	shift 2
	url=$(endpoint "$dir")
	out=$(curl -s -G "$@" "$url$path") || die "$url$path unreachable (is prometheus running? see $dir/log)"
	jq -ce 'if .status == "success" then .data else error(.error) end' <<<"$out" 2>/dev/null ||
		die "$url$path: $(jq -r '.error // empty' <<<"$out" 2>/dev/null || printf '%s' "$out")"
}

query() { api "$1" /api/v1/query --data-urlencode "query=$2"; }

value() {
	query "$1" "$2" | jq -r 'if .resultType == "scalar" then .result[1]
		elif (.result | length) == 1 then .result[0].value[1] else empty end'
}

wait_value() {
	local dir=$1 q=$2 want=$3 n=${4:-120} i got=
	[[ $n =~ ^[1-9][0-9]*$ ]] || die "ATTEMPTS '$n' is not a positive integer"
	for ((i = 0; i < n; i++)); do
		got=$(value "$dir" "$q")
		if [ -n "$got" ] && jq -en --arg a "$got" --arg b "$want" '($a | tonumber) == ($b | tonumber)' >/dev/null 2>&1; then
			echo "$got"
			return 0
		fi
		sleep 0.5
	done
	die "'$q' is ${got:-empty}, not $want, after $n attempts 0.5 s apart"
}

range() {
	local dir=$1 q=$2 from=$3 to=$4 step=${5:-1}
	api "$dir" /api/v1/query_range --data-urlencode "query=$q" --data-urlencode "start=$from" \
		--data-urlencode "end=$to" --data-urlencode "step=$step" | jq -r '.result[0].values[]?[1]'
}

[ $# -ge 2 ] || usage
case $1 in
start) [ $# -ge 3 ] || usage; shift; start "$@" ;;
stop) [ $# -eq 2 ] || usage; stop "$2" ;;
query) [ $# -eq 3 ] || usage; query "$2" "$3" ;;
value) [ $# -eq 3 ] || usage; value "$2" "$3" ;;
wait) [ $# -eq 4 ] || [ $# -eq 5 ] || usage; wait_value "$2" "$3" "$4" "${5:-120}" ;;
range) [ $# -eq 5 ] || [ $# -eq 6 ] || usage; range "$2" "$3" "$4" "$5" "${6:-1}" ;;
*) usage ;;
esac
