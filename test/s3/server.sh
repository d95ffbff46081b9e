#!/usr/bin/env bash
# A local S3 store for tests, demos and benchmarks: moto in server mode on a free loopback port,
# with every request authenticated (SigV4 signatures checked against an IAM access key).
#
#   server.sh start DIR   start it; prints endpoint=http://127.0.0.1:PORT once it answers.
#                         DIR/credentials (0600, AWS credentials-file format, profile
#                         "default") holds the only key it accepts; DIR/pid its process id.
#   server.sh stop DIR    stop the server started in DIR (no error when none runs).
#
# Nothing is created outside DIR. Needs moto[server] in the project's .venv (scripts/bootstrap),
# or FLKIT_PYTHON naming a Python that has it.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
py=${FLKIT_PYTHON:-$here/../../.venv/bin/python}

usage() {
	echo "usage: server.sh start|stop DIR" >&2
	exit 2
}

start() {
	local dir=$1 i pid
	mkdir -p "$dir"
	if [ -s "$dir/pid" ] && kill -0 "$(cat "$dir/pid")" 2>/dev/null; then
		echo "server.sh: a server already runs for $dir (pid $(cat "$dir/pid")); stop it first" >&2
		exit 1
	fi
	rm -f "$dir/endpoint" "$dir/credentials"
	# Its own session, so that the caller's terminal signals and bats' process group leave it be.
	setsid "$py" "$here/moto_server.py" "$dir" </dev/null >"$dir/log" 2>&1 &
	pid=$!
	echo "$pid" >"$dir/pid"
	for ((i = 0; i < 300; i++)); do
		if [ -s "$dir/endpoint" ] && curl -s -o /dev/null "$(cat "$dir/endpoint")/"; then
			echo "endpoint=$(cat "$dir/endpoint")"
			return 0
		fi
		if ! kill -0 "$pid" 2>/dev/null; then
			echo "server.sh: moto exited at start; its log follows ($dir/log)" >&2
			cat "$dir/log" >&2
			exit 1
		fi
		sleep 0.1
	done
	echo "server.sh: moto did not answer within 30 s; see $dir/log" >&2
	stop "$dir"
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

[ $# -eq 2 ] || usage
case $1 in
start) start "$2" ;;
stop) stop "$2" ;;
*) usage ;;
esac
