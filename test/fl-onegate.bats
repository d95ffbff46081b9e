#!/usr/bin/env bats
# fl-onegate against the OneGate emulator: every verb, every fault knob, the discovery
# scenarios and schedules, partitions. Each run is bounded (timeout, --deadline); no output or
# log line may ever hold a token (checked after every test).

bats_require_minimum_version 1.5.0

setup_file() {
	load onegate/lib
	export BIN="${FLKIT_BIN:-$BATS_TEST_DIRNAME/../build/bin}"
	og_start "$OG_FIXTURES/world-7.4.json"
	export A_PID=$OG_PID A_URL=$OG_URL
	og_start "$OG_FIXTURES/world-flower.json"
	export F_PID=$OG_PID F_URL=$OG_URL
	local d=$BATS_FILE_TMPDIR
	export T12 T13 T20 T101 T102 T103 T100 T200 TBAD
	{ read -r T12 && read -r T13 && read -r T20; } < <(og_token "$OG_FIXTURES/world-7.4.json" 12,13,20)
	{ read -r T100 && read -r T101 && read -r T102 && read -r T103 && read -r T200; } \
		< <(og_token "$OG_FIXTURES/world-flower.json" 100,101,102,103,200)
	# VM 101's ID with the wrong STIME: a token OneGate rejects (06 §7.1).
	TBAD=$(python3 "$OG_EMULATOR" --make-token 101:1700009999)
	export ENV12=$d/env12 ENV13=$d/env13 ENV20=$d/env20 ENV100=$d/env100 ENV101=$d/env101 ENV102=$d/env102
	export ENV103=$d/env103 ENV200=$d/env200 ENVBAD=$d/envbad ENVDOWN=$d/envdown
	og_env "$ENV12" "$T12" 12 "$A_URL"
	og_env "$ENV13" "$T13" 13 "$A_URL"
	og_env "$ENV20" "$T20" 20 "$A_URL"
	for v in 100 101 102 103 200; do
		local t="T$v" e="ENV$v"
		og_env "${!e}" "${!t}" "$v" "$F_URL"
	done
	og_env "$ENVBAD" "$TBAD" 101 "$F_URL"
	# A port nothing listens on: OneGate down.
	local down
	down=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	export DOWN_URL="http://127.0.0.1:$down"
	og_env "$ENVDOWN" "$T101" 101 "$DOWN_URL"
	export CA_B64
	CA_B64=$(<"$OG_FIXTURES/ca.crt.b64")
}

teardown_file() {
	kill "$A_PID" "$F_PID" 2>/dev/null || true
}

setup() {
	load onegate/lib
	OG_URL=$A_URL og_ctl POST reset >/dev/null
	OG_URL=$F_URL og_ctl POST reset >/dev/null
	EXTRA_PID=
}

teardown() {
	[ -n "${EXTRA_PID:-}" ] && kill "$EXTRA_PID" 2>/dev/null
	local t
	for t in "$T12" "$T13" "$T20" "$T100" "$T101" "$T102" "$T103" "$T200" "$TBAD"; do
		if [[ "${output:-}" == *"$t"* || "${stderr:-}" == *"$t"* ]]; then
			echo "a OneGate token leaked into the output" >&2
			return 1
		fi
	done
}

# og ENVFILE [NAME=value]... ARGS...: fl-onegate with only that one_env and those variables.
og() {
	local envf=$1
	shift
	local -a vars=()
	while [ $# -gt 0 ] && [[ $1 =~ ^[A-Za-z_][A-Za-z0-9_]*= ]]; do
		vars+=("$1")
		shift
	done
	env -i PATH="$PATH" "${vars[@]}" timeout 60 "$BIN/fl-onegate" -C "$envf" "$@"
}

run_og() {
	run --separate-stderr og "$@"
}

ctl_a() { OG_URL=$A_URL og_ctl "$@"; }
ctl_f() { OG_URL=$F_URL og_ctl "$@"; }
requests_a() { OG_URL=$A_URL og_requests "$@"; }
requests_f() { OG_URL=$F_URL og_requests "$@"; }

# SuperLink VM 100 publishes (as itself, through the control API).
publish_superlink() {
	ctl_f POST vm/100 "{\"FL_READY\":\"YES\",\"FL_ENDPOINT\":\"10.0.7.100:9092\",\"FL_VERSION\":\"1.25.0\",\"FL_ROLE\":\"superlink\",\"FL_TLS\":\"${1:-YES}\",\"FL_CA_CERT\":\"${2-$CA_B64}\"}" >/dev/null
}

# wait_until CMD...: run CMD every 0.05 s until it succeeds. It gives up after about 30 s, which
# only keeps a broken test from hanging: no test depends on how long the wait takes.
wait_until() {
	local i
	for ((i = 0; i < 600; i++)); do
		"$@" && return 0
		sleep 0.05
	done
	echo "wait_until: '$*' still false after 30 s" >&2
	return 1
}

# count_a/count_f JQ_SELECT N: at least N logged requests of emulator A/F match the jq condition.
count_a() { [ "$(requests_a "[.[] | select($1)] | length")" -ge "$2" ]; }
count_f() { [ "$(requests_f "[.[] | select($1)] | length")" -ge "$2" ]; }

has() { # has TEXT: stderr contains TEXT
	[[ "$stderr" == *"$1"* ]] || {
		echo "stderr lacks: $1"
		echo "stderr: $stderr"
		return 1
	}
}

is_status() {
	[ "$status" -eq "$1" ] || {
		echo "status $status, want $1"
		echo "stdout: $output"
		echo "stderr: $stderr"
		return 1
	}
}

# ---------------------------------------------------------------------------------------------
# The onegate CLI's verbs (06 §3, §7.5)

@test "vm show: the onegate CLI's text, trailing spaces included (06 §7.5)" {
	run_og "$ENV12" vm show
	is_status 0
	[ "$output" = "VM 12
NAME                : web_0_(service_5)   " ]
}

@test "vm show --json: JSON.pretty_generate's form, byte for byte" {
	og "$ENV12" vm show --json >"$BATS_TEST_TMPDIR/out"
	cmp "$BATS_TEST_TMPDIR/out" "$OG_FIXTURES/vm12.pretty.json"
}

@test "vm show ID: another VM of the service through GET /vms/ID" {
	run_og "$ENV12" vm show 13
	is_status 0
	[ "$output" = "VM 13
NAME                : db_0_(service_5)    " ]
	[ "$(requests_a '[.[].path]')" = '["/vms/13"]' ]
}

@test "vm show ID: a VM outside the service is exit 1 with OneGate's text" {
	run_og "$ENV12" vm show 99
	is_status 1
	has "OneGate answered 400 to GET /vms/99: Service 5 does not contain VM 99."
	[ -z "$output" ]
}

@test "vm show ID: from a VM in no service, exit 1 with OneGate's text" {
	run_og "$ENV20" vm show 13
	is_status 1
	has "This VM does not belong to any Virtual Router or Service"
}

@test "vm update --data: one form-encoded PUT /vm, data=...&type=1 (06 §7.2)" {
	run_og "$ENV12" vm update --data READY=YES
	is_status 0
	[ "$(requests_a '[.[] | [.method, .path, .content_type, .body]]')" = '[["PUT","/vm","application/x-www-form-urlencoded","data=READY%3DYES&type=1"]]' ]
	[ "$(og "$ENV12" get READY)" = YES ]
}

@test "vm update: several --data are one request, newline-joined, encoded like Ruby" {
	run_og "$ENV12" vm update -d 'SSHKEY=ssh-rsa AAAA+/b== u@h' -d X=~tilde
	is_status 0
	[ "$(requests_a '.[0].body')" = '"data=SSHKEY%3Dssh-rsa+AAAA%2B%2Fb%3D%3D+u%40h%0AX%3D%7Etilde&type=1"' ]
	[ "$(og "$ENV12" get SSHKEY)" = "ssh-rsa AAAA+/b== u@h" ]
}

@test "vm update ID --data: PUT /vms/ID updates the other VM" {
	run_og "$ENV12" vm update 13 --data ACTIVE=YES
	is_status 0
	[ "$(requests_a '.[0].path')" = '"/vms/13"' ]
	[ "$(ctl_a GET state | jq -r '.vms["13"].ACTIVE')" = YES ]
}

@test "vm update --erase: data=KEY&type=2 removes the attribute" {
	og "$ENV12" vm update --data APP=1
	run_og "$ENV12" vm update --erase APP
	is_status 0
	[ "$(requests_a '.[1].body')" = '"data=APP&type=2"' ]
	run_og "$ENV12" get APP
	is_status 1
}

@test "vm update --erase of an absent attribute: exit 1 with the server's 500 text" {
	run_og "$ENV12" --retries 0 vm update --erase NOPE
	is_status 1
	has "answered 500 to PUT /vm: attribute not found"
}

@test "vm update --data SERVICE_ID=9: warned, then OneGate's 403 and exit 1" {
	run_og "$ENV12" vm update --data SERVICE_ID=9
	is_status 1
	has "[WARN] [fl-onegate] SERVICE_ID is managed by OpenNebula"
	has "OneGate answered 403 to PUT /vm: Attribute (SERVICE_ID) cannot be modified"
}

@test "vm update --data with a comma: warned (base64 suggested), sent as the Ruby CLI would" {
	run_og "$ENV12" --retries 0 vm update --data LIST=a,b
	is_status 1
	has "LIST: the value contains a comma"
	has "base64"
	has "[one.vm.update] Parse error"
}

@test "vm update --raw: a raw body for OneGate before 5.10" {
	run_og "$ENV12" vm update --raw --data APP=1
	is_status 0
	[ "$(requests_a '.[0] | [.content_type, .body]')" = '["text/plain","APP=1"]' ]
	[ "$(og "$ENV12" get APP)" = 1 ]
}

@test "vm update without --data or --erase: usage error like the Ruby CLI's message" {
	run_og "$ENV12" vm update
	is_status 2
	has "You have to provide the data as a param (--data, --erase)"
	[ "$(requests_a 'length')" = 0 ]
}

@test "service show: the onegate CLI's text (06 §7.5)" {
	og "$ENV12" service show >"$BATS_TEST_TMPDIR/out"
	printf 'SERVICE 5\nNAME                : myapp               \nSTATE               : RUNNING             \n\nROLE web\nVM 12\nNAME                : web_0_(service_5)   \n\nROLE db\nVM 13\nNAME                : db_0_(service_5)    \n\n' >"$BATS_TEST_TMPDIR/want"
	cmp "$BATS_TEST_TMPDIR/out" "$BATS_TEST_TMPDIR/want"
}

@test "service show --extended: STATE and IP from the full vm_info (06 §7.5)" {
	og "$ENV12" service show --extended >"$BATS_TEST_TMPDIR/out"
	printf 'SERVICE 5\nNAME                : myapp               \nSTATE               : RUNNING             \n\nROLE web\nVM 12\nNAME                : web_0_(service_5)   \nSTATE               : RUNNING             \nIP                  : 10.0.0.12           \n\nROLE db\nVM 13\nNAME                : db_0_(service_5)    \nSTATE               : POWEROFF            \nIP                  : 10.0.0.13           \n\n' >"$BATS_TEST_TMPDIR/want"
	cmp "$BATS_TEST_TMPDIR/out" "$BATS_TEST_TMPDIR/want"
	[ "$(requests_a '.[0] | .path + "?" + .query')" = '"/service?extended=true"' ]
}

@test "service show --json: the stub view, pretty" {
	og "$ENV12" service show --json >"$BATS_TEST_TMPDIR/out"
	cmp "$BATS_TEST_TMPDIR/out" "$OG_FIXTURES/service5.pretty.json"
}

@test "service show: a VM in no service gets exit 1, Empty or invalid SERVICE_ID" {
	run_og "$ENV20" service show
	is_status 1
	has "Empty or invalid SERVICE_ID"
}

@test "service scale: PUT /service/role/R with the cardinality as a JSON string" {
	run_og "$ENV12" service scale --role web --cardinality 2
	is_status 0
	[ "$(requests_a '.[0] | [.method, .path, .content_type, .body]')" = '["PUT","/service/role/web","application/json","{\"cardinality\":\"2\"}"]' ]
	[ "$(ctl_a GET state | jq -c '.scale_requests[0].body')" = '{"cardinality":"2","role_name":"web","force":false}' ]
}

@test "service scale: an unknown role, or a service in COOLDOWN, is exit 1 with OneGate's text" {
	run_og "$ENV12" service scale -r nope --cardinality 2
	is_status 1
	has "Error performing action on service 5 role nope"
	ctl_a POST service/5 '{"state":10}'
	run_og "$ENV12" service scale -r web --cardinality 2
	is_status 1
	has "Error performing action on service 5 role web"
}

@test "service scale without --cardinality: usage error, nothing sent (the Ruby CLI would scale to 0)" {
	run_og "$ENV12" service scale --role web
	is_status 2
	run_og "$ENV12" service scale --role web --cardinality -1
	is_status 2
	[ "$(requests_a 'length')" = 0 ]
}

# ---------------------------------------------------------------------------------------------
# publish and get

@test "publish: every key in one form-encoded PUT /vm" {
	run_og "$ENV12" publish FL_READY=YES FL_ENDPOINT=10.0.0.12:9092 FL_VERSION=1.25.0 FL_ROLE=superlink
	is_status 0
	[ "$(requests_a 'length')" = 1 ]
	[ "$(requests_a '.[0] | [.method, .path, .content_type, .body]')" = '["PUT","/vm","application/x-www-form-urlencoded","data=FL_READY%3DYES%0AFL_ENDPOINT%3D10.0.0.12%3A9092%0AFL_VERSION%3D1.25.0%0AFL_ROLE%3Dsuperlink&type=1"]' ]
	[ "$(ctl_a GET state | jq -c '.vms["12"] | [.FL_READY, .FL_ENDPOINT, .FL_VERSION, .FL_ROLE]')" = '["YES","10.0.0.12:9092","1.25.0","superlink"]' ]
	has "Published FL_READY FL_ENDPOINT FL_VERSION FL_ROLE to OneGate"
}

@test "publish: a base64 PEM CA and a 3 KiB base64 value arrive intact" {
	big=$(head -c 2300 /dev/urandom | base64 -w0)
	run_og "$ENV12" publish "FL_CA_CERT=$CA_B64" "BIG=$big"
	is_status 0
	[ "$(og "$ENV12" get FL_CA_CERT)" = "$CA_B64" ]
	[ "$(og "$ENV12" get BIG)" = "$big" ]
}

@test "publish K=: an empty value is stored empty (sent as K=\"\")" {
	run_og "$ENV12" publish FL_ERROR= FL_READY=YES
	is_status 0
	[ "$(ctl_a GET state | jq -c '.vms["12"] | [.FL_ERROR, .FL_READY]')" = '["","YES"]' ]
}

@test "publish refuses values OneGate's parser mangles, suggests base64, sends nothing" {
	for kv in 'L=a,b' 'Q=say "hi"' 'W=C:\dir' 'V=[x]' "N=a
b" 'S= lead'; do
		run_og "$ENV12" publish FL_READY=YES "$kv"
		is_status 2
		has "base64"
	done
	[ "$(requests_a 'length')" = 0 ]
}

@test "publish refuses restricted, lower-case, duplicate and malformed names" {
	for kv in SERVICE_ID=1 ROLE_NAME=x fl_ready=YES 9X=1 'A B=1' XMLX=1 NOEQUALS; do
		run_og "$ENV12" publish "$kv"
		is_status 2
	done
	run_og "$ENV12" publish A=1 A=2
	is_status 2
	has "given twice"
	[ "$(requests_a 'length')" = 0 ]
}

@test "publish with OneGate down: exit 3; --best-effort makes it the spec's warning and exit 0" {
	run_og "$ENVDOWN" --deadline 3 publish FL_READY=YES FL_ENDPOINT=10.0.0.1:9092
	is_status 3
	has "OneGate unreachable at $DOWN_URL"
	run_og "$ENVDOWN" --deadline 3 publish --best-effort FL_READY=YES FL_ENDPOINT=10.0.0.1:9092
	is_status 0
	has "[WARN] [fl-onegate] OneGate publication failed. SuperNodes must use static FL_SUPERLINK_ADDRESS."
	run --separate-stderr env -i PATH="$PATH" "$BIN/fl-onegate" --env-only publish --best-effort FL_NODE_READY=YES
	is_status 0
	has "OneGate is not configured"
	has "OneGate publication failed; continuing without it."
}

@test "get ATTR: the own VM's attribute, any case; absent is exit 1 with nothing on stdout" {
	run_og "$ENV12" get ROLE_NAME
	is_status 0
	[ "$output" = web ]
	run_og "$ENV12" get role_name
	[ "$output" = web ]
	run_og "$ENV12" get NOPE
	is_status 1
	[ -z "$output" ]
	has "NOPE is not set"
	run_og "$ENV12" get 'A;B'
	is_status 2
}

# ---------------------------------------------------------------------------------------------
# Identity and transport

@test "identity from one_env: both headers sent, the token valid, never in argv" {
	run_og "$ENV12" vm show
	is_status 0
	[ "$(requests_a '.[0] | [.vmid, .has_token, .token_ok]')" = '["12",true,true]' ]
}

@test "identity: the environment overlays one_env; --vmid and --token-file override both" {
	run_og "$ENV12" VMID=13 TOKENTXT="$T13" vm show
	[ "${lines[0]}" = "VM 13" ]
	printf '%s\n' "$T20" >"$BATS_TEST_TMPDIR/token"
	run_og "$ENV12" --vmid 20 --token-file "$BATS_TEST_TMPDIR/token" vm show
	is_status 0
	[ "${lines[0]}" = "VM 20" ]
}

@test "identity: a one_env the full parser refuses still gives its three header lines" {
	cp "$ENV12" "$BATS_TEST_TMPDIR/env"
	chmod 0600 "$BATS_TEST_TMPDIR/env"
	printf 'export BROKEN="never closed\n\x00junk\n' >>"$BATS_TEST_TMPDIR/env"
	run_og "$BATS_TEST_TMPDIR/env" vm show
	is_status 0
	[ "${lines[0]}" = "VM 12" ]
	has "using only its OneGate header lines"
}

@test "identity: no ONEGATE_ENDPOINT, no token: exit 3, OneGate is not configured" {
	run --separate-stderr env -i PATH="$PATH" "$BIN/fl-onegate" --env-only vm show
	is_status 3
	has "OneGate is not configured: no ONEGATE_ENDPOINT"
	run --separate-stderr env -i PATH="$PATH" ONEGATE_ENDPOINT="$A_URL" VMID=12 "$BIN/fl-onegate" --env-only --token-file /nonexistent vm show
	is_status 1
	run --separate-stderr env -i PATH="$PATH" ONEGATE_ENDPOINT="$A_URL" VMID=12 "$BIN/fl-onegate" --env-only vm show
	is_status 3
	has "no token"
}

@test "transport: the endpoint's path is ignored like the Ruby client does; --keep-path keeps it" {
	run_og "$ENV12" --endpoint "$A_URL/some/prefix" vm show
	is_status 0
	run_og "$ENV12" --endpoint "$A_URL/some/prefix" --keep-path vm show
	is_status 1
	has "OneGate server doesn't support this feature"
	run_og "$ENV12" --endpoint "ftp://127.0.0.1/" vm show
	is_status 1
	has "not an http:// or https:// URL"
}

@test "transport: the token is in no process argument while a request is in flight" {
	ctl_a POST faults '{"hang":true}'
	env -i PATH="$PATH" "$BIN/fl-onegate" -C "$ENV12" --timeout 60 --retries 0 vm show 3>&- >/dev/null 2>&1 &
	pid=$!
	# In flight: the emulator logs the request, then holds it until the test kills the client.
	wait_until count_a '.fault == "hang"' 1
	args=$(tr '\0' ' ' <"/proc/$pid/cmdline")
	environ=$(tr '\0' '\n' <"/proc/$pid/environ")
	kill "$pid"
	wait "$pid" || true
	[[ "$args" == *"vm show"* ]]
	[[ "$args" != *"$T12"* ]]
	[[ "$environ" != *"$T12"* ]]
}

@test "logs: FL_LOG_FORMAT=json gives one JSON object per line" {
	run_og "$ENV12" FL_LOG_FORMAT=json get NOPE
	is_status 1
	echo "$stderr" | jq -e 'select(.tool == "fl-onegate" and .level == "ERROR") | .message | test("NOPE is not set")'
}

# ---------------------------------------------------------------------------------------------
# Fault knobs: no crash, no hang past the deadline, the right exit code and message

@test "fault latency below the timeout: the answer arrives" {
	ctl_a POST faults '{"latency_ms":300}'
	run_og "$ENV12" --timeout 2 vm show
	is_status 0
}

@test "fault latency above the timeout: exit 3 at the deadline" {
	# Answers after 600 s, far past og's 60 s guard, and retries enough to outlast it: only the
	# per-request timeout and the deadline together can end this with exit 3.
	ctl_a POST faults '{"latency_ms":600000}'
	run_og "$ENV12" --timeout 0.5 --deadline 2 --retries 100 vm show
	is_status 3
	has "timed out"
}

@test "fault 5xx on two requests: retried with backoff, then the answer" {
	ctl_a POST faults '{"error_rate":1,"count":2}'
	run_og "$ENV12" vm show
	is_status 0
	[ "$(requests_a '[.[].fault]')" = '["error","error",null]' ]
}

@test "fault 5xx on every request: exit 3 after 4 attempts, the status in the message" {
	ctl_a POST faults '{"error_rate":1}'
	run_og "$ENV12" vm show
	is_status 3
	has "answered 503 to GET /vm: Service Unavailable (4 attempts)"
	[ "$(requests_a 'length')" = 4 ]
}

@test "fault 500 on every request: a definite error, exit 1; --retries 0 sends one request" {
	ctl_a POST faults '{"error_rate":1,"error_status":500}'
	run_og "$ENV12" --retries 0 vm show
	is_status 1
	has "answered 500"
	[ "$(requests_a 'length')" = 1 ]
}

@test "fault 5xx at a seeded 50% rate: every verb still succeeds through the retries" {
	ctl_a POST faults '{"error_rate":0.5,"seed":3}'
	for verb in "vm show" "service show" "get ROLE_NAME"; do
		# shellcheck disable=SC2086
		run_og "$ENV12" --retries 8 $verb
		is_status 0
	done
	run_og "$ENV12" --retries 8 publish FL_READY=YES
	is_status 0
}

@test "fault malformed JSON: every mode is exit 1 or a clean answer, never a crash" {
	for mode in truncate garbage wrong_type deep oversize empty nul; do
		ctl_a POST faults "{\"malformed\":\"$mode\"}" >/dev/null
		for verb in "vm show" "vm show --json" "service show" "service show --extended" "get ROLE_NAME"; do
			# shellcheck disable=SC2086
			run_og "$ENV12" --deadline 10 $verb
			[ "$status" -eq 0 ] || [ "$status" -eq 1 ] || {
				echo "$mode $verb: status $status"
				echo "$stderr"
				false
			}
			if [ "$mode" != wrong_type ]; then
				[ "$status" -eq 1 ] || { echo "$mode $verb: status $status"; false; }
				[[ "$stderr" == *"not valid JSON"* || "$stderr" == *"larger than 16 MiB"* ]] || {
					echo "$mode $verb: $stderr"
					false
				}
			fi
		done
	done
}

@test "fault connection reset once: retried, then the answer" {
	ctl_a POST faults '{"reset_rate":1,"count":1}'
	run_og "$ENV12" vm show
	is_status 0
}

@test "fault connection reset always: exit 3 once the retries are spent" {
	ctl_a POST faults '{"reset_rate":1}'
	run_og "$ENV12" --deadline 30 vm show
	is_status 3
	has "OneGate unreachable at $A_URL"
	[ "$(requests_a '[.[].fault]')" = '["reset","reset","reset","reset"]' ]
}

@test "fault hanging request: exit 3 at the deadline, not later" {
	# Every request hangs for 600 s; 100 retries of 1 s each would outlast og's 60 s guard.
	ctl_a POST faults '{"hang":true}'
	run_og "$ENV12" --timeout 1 --deadline 2.5 --retries 100 vm show
	is_status 3
	has "timed out"
	# Each request took its whole second and each retry waits first (250 ms doubling, half of it
	# jitter): a fourth request could not start before 2.5 s, so the deadline ended the retries.
	n=$(requests_a '[.[] | select(.fault == "hang")] | length')
	[ "$n" -ge 1 ] && [ "$n" -le 3 ]
	[ "$(requests_a 'length')" = "$n" ]
}

@test "fault hanging request: publish and service scale are bounded too" {
	ctl_a POST faults '{"hang":true}'
	run_og "$ENV12" --timeout 0.5 --deadline 1 --retries 100 publish FL_READY=YES
	is_status 3
	has "timed out"
	run_og "$ENV12" --timeout 0.5 --deadline 1 --retries 100 service scale -r web --cardinality 2
	is_status 3
	has "timed out"
}

# ---------------------------------------------------------------------------------------------
# discover (01 §3.1, 02 §2.2, 04 §4.3)

@test "discover: a static FL_SUPERLINK_ADDRESS is used as is, no OneGate request" {
	run_og "$ENV101" FL_SUPERLINK_ADDRESS=192.168.1.100:9092 discover
	is_status 0
	[ "$output" = "FL_SUPERLINK_ADDRESS=192.168.1.100:9092
FL_TLS=
FL_CA_CERT=
FL_VERSION=" ]
	[ "$(requests_f 'length')" = 0 ]
	run_og "$ENVDOWN" ONEAPP_FL_SUPERLINK_ADDRESS='[fd00::1]:9092' discover
	is_status 0
	[ "${lines[0]}" = "FL_SUPERLINK_ADDRESS=[fd00::1]:9092" ]
}

@test "discover: a static address that is not host:port is exit 1" {
	run_og "$ENV101" FL_SUPERLINK_ADDRESS=192.168.1.100 discover
	is_status 1
	has "FL_SUPERLINK_ADDRESS '192.168.1.100' is not host:port"
}

@test "discover: a static address with a leading zero in the port is exit 1, saying why" {
	run_og "$ENV101" FL_SUPERLINK_ADDRESS=192.168.1.100:09092 discover
	is_status 1
	has "FL_SUPERLINK_ADDRESS '192.168.1.100:09092' is not host:port"
	has "port '09092' is not a number in 1-65535 written in decimal without sign or leading zeros"
}

@test "discover: a published SuperLink gives the four KEY=VALUE lines and the spec's log" {
	publish_superlink YES
	run_og "$ENV101" discover
	is_status 0
	[ "$output" = "FL_SUPERLINK_ADDRESS=10.0.7.100:9092
FL_TLS=YES
FL_CA_CERT=$CA_B64
FL_VERSION=1.25.0" ]
	has "[INFO] [fl-onegate] OneGate connectivity verified"
	has "[INFO] [fl-onegate] Discovered SuperLink at 10.0.7.100:9092 (attempt 1)"
	[ "$(requests_f '[.[].path]')" = '["/vm","/service","/vms/100"]' ]
}

@test "discover: not yet published, then published: found by a later poll" {
	# The SuperLink publishes once discover has read it unready; how soon the next poll comes
	# is the schedule's (test_onegate checks it on a virtual clock).
	(
		wait_until count_f '.path == "/vms/100"' 1 &&
			ctl_f POST vm/100 '{"FL_READY":"YES","FL_ENDPOINT":"10.0.7.100:9092","FL_TLS":"NO"}' >/dev/null
	) 3>&- &
	EXTRA_PID=$!
	run_og "$ENV101" discover
	is_status 0
	[ "${lines[0]}" = "FL_SUPERLINK_ADDRESS=10.0.7.100:9092" ]
	has "SuperLink not ready, waiting... (attempt 1)"
	[[ "$stderr" =~ Discovered\ SuperLink\ at\ 10\.0\.7\.100:9092\ \(attempt\ ([0-9]+)\) ]]
	[ "${BASH_REMATCH[1]}" -ge 2 ]
	# It stopped at the read that found it ready.
	[ "$(requests_f '.[-1] | .path + " " + (.status | tostring)')" = '"/vms/100 200"' ]
}

@test "discover: FL_READY=NO is waited on until the deadline, then exit 4 with the spec's line" {
	ctl_f POST vm/100 '{"FL_READY":"NO","FL_ENDPOINT":"10.0.7.100:9092","FL_ERROR":"health_check_timeout"}'
	# The default deadline (5 minutes) is past og's 60 s guard: exit 4 means --deadline 2 ended it.
	run_og "$ENV101" --deadline 2 discover
	is_status 4
	[ -z "$output" ]
	has "SuperLink not ready, waiting... (attempt 1)"
	[[ "$stderr" =~ \[ERROR\]\ \[fl-onegate\]\ SuperLink\ discovery\ timed\ out\ after\ [0-9]+\ attempts\ \(2\ seconds\) ]]
}

@test "discover: a bad FL_ENDPOINT is refused with one warning and never printed" {
	# shellcheck disable=SC2016 # a hostile value, not an expansion
	ctl_f POST vm/100 '{"FL_READY":"YES","FL_ENDPOINT":"$(reboot):9092"}'
	run_og "$ENV101" --deadline 2 discover
	is_status 4
	[ -z "$output" ]
	has "[WARN] [fl-onegate] SuperLink VM 100 is not usable: FL_ENDPOINT '\$(reboot):9092' is not host:port"
	[ "$(grep -c 'is not usable' <<<"$stderr")" -eq 1 ]
	ctl_f POST vm/100 "{\"FL_READY\":\"YES\",\"FL_ENDPOINT\":\"10.0.7.100:9092\",\"FL_TLS\":\"YES\",\"FL_CA_CERT\":\"bm90IGEgY2VydA==\"}"
	run_og "$ENV101" --deadline 1 discover
	is_status 4
	has "FL_CA_CERT is not a base64-encoded PEM certificate"
}

@test "discover: several SuperLink VMs: the first ready one wins, all values from that VM" {
	ctl_f POST service/7 "{\"add_node\":{\"id\":104,\"role\":\"superlink\",\"name\":\"superlink_1\",\"user_template\":{\"FL_READY\":\"YES\",\"FL_ENDPOINT\":\"10.0.7.104:9092\",\"FL_VERSION\":\"1.26.0\",\"FL_TLS\":\"YES\",\"FL_CA_CERT\":\"$CA_B64\"}}}"
	ctl_f POST vm/100 '{"FL_READY":"NO","FL_ENDPOINT":"10.0.7.100:9092","FL_VERSION":"1.25.0","FL_TLS":"NO"}'
	run_og "$ENV101" discover
	is_status 0
	[ "$output" = "FL_SUPERLINK_ADDRESS=10.0.7.104:9092
FL_TLS=YES
FL_CA_CERT=$CA_B64
FL_VERSION=1.26.0" ]
}

@test "discover: OneGate down at start: the precheck's two ERROR lines, exit 3, no waiting" {
	run_og "$ENVDOWN" discover
	is_status 3
	has "[ERROR] [fl-onegate] OneGate unreachable at $DOWN_URL (HTTP 000)"
	has "[ERROR] [fl-onegate] Dynamic discovery requires OneGate. Set FL_SUPERLINK_ADDRESS for static mode."
	[[ "$stderr" != *"not ready"* && "$stderr" != *"retrying in"* ]]
}

@test "discover: token rejected: exit 1 with HTTP 401 and Not authorized" {
	run_og "$ENVBAD" discover
	is_status 1
	has "OneGate unreachable at $F_URL (HTTP 401)"
	has "Not authorized"
	[[ "$stderr" != *"$TBAD"* ]]
}

@test "discover: a VM in no service fails at once with exit 1" {
	run_og "$ENV200" --deadline 10 discover
	is_status 1
	has "not part of a OneFlow service"
	[ "$(requests_f 'length')" = 2 ]
}

@test "discover: no static address and no OneGate: exit 3 with the spec's lines" {
	run --separate-stderr env -i PATH="$PATH" "$BIN/fl-onegate" --env-only discover
	is_status 3
	has "[WARN] [fl-onegate] ONEGATE_ENDPOINT not configured"
	has "[ERROR] [fl-onegate] No SuperLink address provided and OneGate not available"
}

@test "discover --schedule fixed: 30 attempts, the spec's lines, exit 4" {
	run_og "$ENV101" discover --schedule fixed --interval 0.01
	is_status 4
	has "[INFO] [fl-onegate] SuperLink not ready, waiting... (attempt 1/30)"
	has "[INFO] [fl-onegate] SuperLink not ready, waiting... (attempt 30/30)"
	has "[ERROR] [fl-onegate] SuperLink discovery timed out after 30 attempts"
	[ "$(grep -c 'not ready, waiting' <<<"$stderr")" -eq 30 ]
	run_og "$ENV101" FL_EDGE_BACKOFF=fixed discover --interval 0.01 --attempts 3
	is_status 4
	has "(attempt 3/3)"
}

@test "discover FL_EDGE_BACKOFF=exponential: doubling waits to the cap, the spec's line" {
	run_og "$ENV101" FL_EDGE_BACKOFF=exponential discover --interval 0.05 --max-interval 0.2 --deadline 1.2
	is_status 4
	has "[INFO] [fl-onegate] SuperLink not found, retrying in 0.05s (attempt 1, strategy=exponential)"
	has "SuperLink not found, retrying in 0.1s (attempt 2, strategy=exponential)"
	has "SuperLink not found, retrying in 0.2s (attempt 3, strategy=exponential)"
	has "SuperLink not found, retrying in 0.2s (attempt 4, strategy=exponential)"
	run_og "$ENV101" FL_EDGE_BACKOFF=sideways discover
	is_status 1
	has "Invalid FL_EDGE_BACKOFF: 'sideways'. Must be exponential or fixed."
}

@test "discover exponential: OneGate down at boot is a warning and the loop goes on" {
	run_og "$ENVDOWN" --timeout 0.3 discover --schedule exponential --interval 0.1 --max-interval 0.2 --deadline 1.5
	is_status 4
	has "[WARN] [fl-onegate] OneGate unreachable at $DOWN_URL (HTTP 000)"
	has "[WARN] [fl-onegate] OneGate error on attempt 1: 000"
}

@test "discover: 5xx during the wait: 'OneGate error on attempt N: 503', then found" {
	publish_superlink NO ""
	ctl_f POST faults '{"error_rate":1,"count":3,"paths":["^/service$"]}'
	run_og "$ENV101" discover --interval 0.05
	is_status 0
	has "[WARN] [fl-onegate] OneGate error on attempt 1: 503"
	has "OneGate error on attempt 3: 503"
	has "Discovered SuperLink at 10.0.7.100:9092 (attempt 4)"
}

@test "discover: malformed JSON, a reset and a hanging request during the wait are survived" {
	publish_superlink NO ""
	ctl_f POST faults '{"malformed":"truncate","count":2,"paths":["^/service$"]}'
	run_og "$ENV101" discover --interval 0.05
	is_status 0
	has "OneGate error on attempt 1: 200 (invalid answer)"
	ctl_f POST faults '{"reset_rate":1,"count":2,"paths":["^/vms/"]}'
	run_og "$ENV101" discover --interval 0.05
	is_status 0
	# The hang (600 s) outlasts og's 60 s guard: success means the 1 s timeout cut it off.
	ctl_f POST faults '{"hang":true,"count":1,"paths":["^/vms/"]}'
	run_og "$ENV101" --timeout 1 discover --interval 0.05
	is_status 0
	[ "$(requests_f '[.[] | select(.fault == "hang")] | length')" = 1 ]
}

@test "discover: a hanging OneGate never holds it past --deadline" {
	# Requests hang for 600 s, the default timeout is 10 s and og's guard 60 s: exit 4 is the
	# deadline's doing.
	ctl_f POST faults '{"hang":true,"paths":["^/service$"]}'
	run_og "$ENV101" discover --deadline 2
	is_status 4
	has "timed out"
}

@test "discover -o FILE and --json; the file feeds fl-certgen --onegate-file" {
	publish_superlink YES
	run_og "$ENV101" discover -o "$BATS_TEST_TMPDIR/superlink.env"
	is_status 0
	[ -z "$output" ]
	grep -qx "FL_CA_CERT=$CA_B64" "$BATS_TEST_TMPDIR/superlink.env"
	grep -qx "FL_TLS=YES" "$BATS_TEST_TMPDIR/superlink.env"
	run_og "$ENV101" discover --json
	[ "$(jq -r '.FL_SUPERLINK_ADDRESS + " " + .FL_TLS + " " + .FL_VERSION' <<<"$output")" = "10.0.7.100:9092 YES 1.25.0" ]
	if [ -x "$BIN/fl-certgen" ] && "$BIN/fl-certgen" --help 2>&1 | grep -q -- --onegate-file; then
		mkdir -p "$BATS_TEST_TMPDIR/certs"
		run --separate-stderr env -i PATH="$PATH" "$BIN/fl-certgen" --env-only supernode \
			--onegate-file "$BATS_TEST_TMPDIR/superlink.env" --dir "$BATS_TEST_TMPDIR/certs" \
			--owner "$(id -u):$(id -g)"
		is_status 0
		cmp "$BATS_TEST_TMPDIR/certs/ca.crt" "$OG_FIXTURES/ca.crt"
		og "$ENV101" discover | env -i PATH="$PATH" "$BIN/fl-certgen" --env-only supernode --onegate-file - \
			--dir "$BATS_TEST_TMPDIR/certs" --owner "$(id -u):$(id -g)"
	else
		skip "fl-certgen --onegate-file is not built"
	fi
}

@test "discover and partition among 5000 SuperNodes: the right partition, the time reported" {
	og_start "$OG_FIXTURES/world-big.json"
	EXTRA_PID=$OG_PID
	og_env "$BATS_TEST_TMPDIR/env3000" "$(og_token "$OG_FIXTURES/world-big.json" 3000)" 3000 "$OG_URL"
	og "$BATS_TEST_TMPDIR/env3000" service show --json >/dev/null # warm the emulator
	t0=$(now_ms)
	run_og "$BATS_TEST_TMPDIR/env3000" discover
	t1=$(now_ms)
	is_status 0
	[ "${lines[0]}" = "FL_SUPERLINK_ADDRESS=10.0.9.100:9092" ]
	run_og "$BATS_TEST_TMPDIR/env3000" partition
	t2=$(now_ms)
	is_status 0
	[ "$output" = "partition-id=2000 num-partitions=5000" ]
	bytes=$(og "$BATS_TEST_TMPDIR/env3000" service show --json | wc -c)
	# Reported, not asserted: the time depends on the machine and its load.
	echo "# 5001-VM service (${bytes} bytes pretty): discover $((t1 - t0)) ms, partition $((t2 - t1)) ms, emulator included" >&3
}

# ---------------------------------------------------------------------------------------------
# partition (02 §4.3)

@test "partition: the position among the sorted supernode VM IDs, whatever the listed order" {
	run_og "$ENV101" partition
	is_status 0
	[ "$output" = "partition-id=0 num-partitions=3" ]
	has "Auto-computed FL_NODE_CONFIG: partition-id=0 num-partitions=3"
	run_og "$ENV102" partition
	[ "$output" = "partition-id=1 num-partitions=3" ]
	run_og "$ENV103" partition --json
	[ "$output" = '{"partition-id":2,"num-partitions":3}' ]
}

@test "partition: FL_NODE_CONFIG set is printed as is, without asking OneGate" {
	run_og "$ENV101" FL_NODE_CONFIG="partition-id=3 num-partitions=8" partition
	is_status 0
	[ "$output" = "partition-id=3 num-partitions=8" ]
	has "FL_NODE_CONFIG provided by user: partition-id=3 num-partitions=8 (skipping auto-computation)"
	[ "$(requests_f 'length')" = 0 ]
}

@test "partition: a training site's range: FL_PARTITION_OFFSET + place, of FL_NUM_PARTITIONS" {
	# Site B of a 6-node federation: this 3-VM service holds ids 0-2.
	run_og "$ENV101" FL_NUM_PARTITIONS=6 partition
	is_status 0
	[ "$output" = "partition-id=0 num-partitions=6" ]
	has "Auto-computed FL_NODE_CONFIG: partition-id=0 num-partitions=6"
	# Site C: ids 3-5, never site B's (ONEAPP_ spellings, as OneFlow passes them).
	run_og "$ENV101" ONEAPP_FL_PARTITION_OFFSET=3 ONEAPP_FL_NUM_PARTITIONS=6 partition
	[ "$output" = "partition-id=3 num-partitions=6" ]
	run_og "$ENV103" FL_PARTITION_OFFSET=3 FL_NUM_PARTITIONS=6 partition --json
	[ "$output" = '{"partition-id":5,"num-partitions":6}' ]
	# Empty is unset: this service's count.
	run_og "$ENV102" FL_PARTITION_OFFSET= FL_NUM_PARTITIONS= partition
	[ "$output" = "partition-id=1 num-partitions=3" ]
}

@test "partition: a site with more VMs than its range fails, naming both variables, never a colliding id" {
	run_og "$ENV102" FL_PARTITION_OFFSET=2 FL_NUM_PARTITIONS=4 partition
	is_status 0
	[ "$output" = "partition-id=3 num-partitions=4" ]
	run_og "$ENV103" FL_PARTITION_OFFSET=2 FL_NUM_PARTITIONS=4 partition
	is_status 1
	[ -z "$output" ]
	has "[ERROR] [fl-onegate] partition-id 4 (FL_PARTITION_OFFSET=2 + this VM's place 2 among 3 SuperNodes) is not below FL_NUM_PARTITIONS=4: this site has more VMs than its range; scale the role back to 2 VM(s), or raise FL_NUM_PARTITIONS"
	[[ $stderr != *"Auto-computed"* && $stderr != *"ClientApp must handle partitioning"* ]]
}

@test "partition: a lying site OneGate (phantom VMs, a duplicate, a huge id) never gives an id outside the site's range" {
	# Site C holds 2-3 of 4; VM 101 is first among 101-103, so partition 2.
	run_og "$ENV101" FL_PARTITION_OFFSET=2 FL_NUM_PARTITIONS=4 partition
	[ "$output" = "partition-id=2 num-partitions=4" ]
	# A VM id past 32 bits, listed after this VM's, and VM 102 listed twice: the place stays 0.
	ctl_f POST service/7 '{"add_node":{"id":4294967296,"role":"supernode"}}' >/dev/null
	ctl_f POST service/7 '{"add_node":{"id":102,"role":"supernode"}}' >/dev/null
	run_og "$ENV101" FL_PARTITION_OFFSET=2 FL_NUM_PARTITIONS=4 partition
	is_status 0
	[ "$output" = "partition-id=2 num-partitions=4" ]
	# Two phantom VMs listed before it push VM 101 to place 2: past site C's range, so exit 1
	# naming the fix, never site B's id 0 or 1 and never a partition 4 of 4.
	ctl_f POST service/7 '{"add_node":{"id":1,"role":"supernode"}}' >/dev/null
	ctl_f POST service/7 '{"add_node":{"id":2,"role":"supernode"}}' >/dev/null
	run_og "$ENV101" FL_PARTITION_OFFSET=2 FL_NUM_PARTITIONS=4 partition
	is_status 1
	[ -z "$output" ]
	has "partition-id 4 (FL_PARTITION_OFFSET=2 + this VM's place 2 among 6 SuperNodes) is not below FL_NUM_PARTITIONS=4"
	# Without a range it is this service's own numbering, as the spec has it.
	run_og "$ENV101" partition
	[ "$output" = "partition-id=2 num-partitions=6" ]
}

@test "partition: a bad range is refused before OneGate is asked (exit 1)" {
	local bad
	for bad in "FL_PARTITION_OFFSET=2" "FL_PARTITION_OFFSET=4 FL_NUM_PARTITIONS=4" "FL_PARTITION_OFFSET=-1" \
		"FL_PARTITION_OFFSET=1e3" "FL_NUM_PARTITIONS=0x10" "FL_NUM_PARTITIONS=99999999999999999999999" \
		"FL_NUM_PARTITIONS=0"; do
		# shellcheck disable=SC2086 # the words are VAR=value pairs
		run_og "$ENV101" $bad partition
		[ "$status" -eq 1 ] || fail "$bad: exit $status"
		[ -z "$output" ] || fail "$bad: printed $output"
	done
	[ "$(requests_f 'length')" = 0 ]
	run_og "$ENV101" FL_PARTITION_OFFSET=2 partition
	has "FL_PARTITION_OFFSET=2 needs FL_NUM_PARTITIONS: set FL_NUM_PARTITIONS to the federation's total number of SuperNodes"
	run_og "$ENV101" FL_PARTITION_OFFSET=4 FL_NUM_PARTITIONS=4 partition
	has "FL_PARTITION_OFFSET=4 must be less than FL_NUM_PARTITIONS=4"
	run_og "$ENV101" FL_NUM_PARTITIONS=1e3 partition
	has "Invalid FL_NUM_PARTITIONS: '1e3'. Must be a positive integer"
}

@test "partition: a static FL_NODE_CONFIG wins over the range, which is noted as ignored" {
	run_og "$ENV101" FL_NODE_CONFIG="partition-id=3 num-partitions=8" FL_PARTITION_OFFSET=-1 FL_NUM_PARTITIONS=2 partition
	is_status 0
	[ "$output" = "partition-id=3 num-partitions=8" ]
	has "FL_PARTITION_OFFSET ignored -- FL_NODE_CONFIG is set (a static partition)"
	has "FL_NUM_PARTITIONS ignored -- FL_NODE_CONFIG is set (a static partition)"
}

@test "partition: a VM in no service prints nothing and exits 0 with the spec's note" {
	run_og "$ENV200" partition
	is_status 0
	[ -z "$output" ]
	has "Not part of a OneFlow service; FL_NODE_CONFIG must be set manually if data partitioning is required."
}

@test "partition: a VM outside the supernode role: exit 1 and the spec's two warnings" {
	run_og "$ENV100" partition
	is_status 1
	[ -z "$output" ]
	has "[WARN] [fl-onegate] Could not determine partition-id from OneGate service response"
	has "[WARN] [fl-onegate] FL_NODE_CONFIG left empty; ClientApp must handle partitioning internally"
	run_og "$ENV100" partition --role-name superlink
	[ "$output" = "partition-id=0 num-partitions=1" ]
}

# ---------------------------------------------------------------------------------------------
# precheck and usage

@test "precheck: exit 0 with OneGate up, 3 when down, 1 when the token is refused" {
	run_og "$ENV101" precheck
	is_status 0
	has "OneGate connectivity verified"
	run_og "$ENVDOWN" precheck
	is_status 3
	run_og "$ENVBAD" precheck
	is_status 1
}

@test "usage: no verb, unknown verbs and options, bad values are exit 2" {
	run "$BIN/fl-onegate"
	[ "$status" -eq 2 ]
	for args in "frobnicate" "vm" "vm reboot 12" "service" "vm show abc" "vm show 1 2" "get" "--nope vm show" \
		"--timeout x vm show" "discover --schedule sideways" "discover extra" "--interval 2 --max-interval 1 discover"; do
		# shellcheck disable=SC2086
		run "$BIN/fl-onegate" $args
		[ "$status" -eq 2 ] || {
			echo "$args: $status"
			false
		}
	done
}

@test "--help names every verb and the exit codes; --version" {
	run "$BIN/fl-onegate" --help
	[ "$status" -eq 0 ]
	for verb in "vm show" "vm update" "service show" "service scale" publish get discover partition precheck; do
		[[ "$output" == *"fl-onegate [options] $verb"* ]] || {
			echo "missing $verb"
			false
		}
	done
	[[ "$output" == *"3 OneGate absent or unreachable"* ]]
	run "$BIN/fl-onegate" --version
	[[ "$output" == "fl-onegate "* ]]
}

@test "discover: an FL_CA_CERT with a private key, comments or text around the certificates is refused" {
	pem=$(base64 -d <<<"$CA_B64")
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$BATS_TEST_TMPDIR/k.pem" 2>/dev/null
	key=$(<"$BATS_TEST_TMPDIR/k.pem")
	for v in "$pem"$'\n'"$key" "# our CA"$'\n'"$pem" "$pem"$'\n'"garbage" "$pem"$'\n'"note"$'\n'"$pem"; do
		publish_superlink YES "$(printf '%s\n' "$v" | base64 -w0)"
		run_og "$ENV101" --deadline 1 discover
		is_status 4
		[ -z "$output" ]
		has "FL_CA_CERT holds more than certificates (line "
		has "refusing it; the SuperLink must publish its CA certificate(s) only"
		[[ $stderr != *"$(sed -n 2p "$BATS_TEST_TMPDIR/k.pem")"* ]]
	done
	publish_superlink YES "$(printf '%s\n%s\n' "$pem" "$pem" | base64 -w0)"
	run_og "$ENV101" discover
	is_status 0
}

# ---------------------------------------------------------------------------------------------
# Files named by an option are regular files: a FIFO is refused at once, never waited on.

@test "file options: a FIFO as --context or --token-file is refused at once, exit 1" {
	mkfifo "$BATS_TEST_TMPDIR/fifo"
	local opt
	for opt in --context --token-file; do
		run --separate-stderr env -i PATH="$PATH" timeout 10 "$BIN/fl-onegate" "$opt" "$BATS_TEST_TMPDIR/fifo" vm show
		is_status 1
		has "$opt $BATS_TEST_TMPDIR/fifo is not a regular file (a FIFO); give a regular file"
	done
}

@test "discover -o FILE: a temporary file a killed run left beside FILE is removed" {
	mkdir "$BATS_TEST_TMPDIR/out"
	touch "$BATS_TEST_TMPDIR/out/.superlink.env.Zz9Yy8"
	publish_superlink YES
	run_og "$ENV101" discover -o "$BATS_TEST_TMPDIR/out/superlink.env"
	is_status 0
	run ls -A "$BATS_TEST_TMPDIR/out"
	[ "$output" = superlink.env ]
}

# ---------------------------------------------------------------------------------------------
# Options: -c/--context and -E/--env-only mean what they mean in every flkit tool; options may
# come before or after the verb (whatever POSIXLY_CORRECT says); an option of another verb is a
# usage error; messages name what is wrong.

@test "options: -c FILE is --context (fl-onegate -c FILE discover reads the file)" {
	printf 'export FL_SUPERLINK_ADDRESS="10.1.2.3:9092"\n' >"$BATS_TEST_TMPDIR/context.sh"
	run --separate-stderr env -i PATH="$PATH" timeout 60 "$BIN/fl-onegate" -c "$BATS_TEST_TMPDIR/context.sh" discover
	is_status 0
	[[ $output == *"FL_SUPERLINK_ADDRESS=10.1.2.3:9092"* ]]
	# -C stays an older spelling of -c.
	run --separate-stderr env -i PATH="$PATH" timeout 60 "$BIN/fl-onegate" -C "$BATS_TEST_TMPDIR/context.sh" discover
	is_status 0
}

@test "options: -E is --env-only" {
	run --separate-stderr env -i PATH="$PATH" FL_SUPERLINK_ADDRESS=10.1.2.4:9092 timeout 60 "$BIN/fl-onegate" -E discover
	is_status 0
	[[ $output == *"FL_SUPERLINK_ADDRESS=10.1.2.4:9092"* ]]
}

@test "options: --cardinality is long only; service scale still takes it" {
	run_og "$ENV12" service scale --role web --cardinality 2
	is_status 0
}

@test "options: vm show --erase X is refused, exit 2, naming the option and its verb; nothing sent" {
	run_og "$ENV12" vm show --erase X
	is_status 2
	has "fl-onegate: --erase is an option of vm update, not of vm show"
	run_og "$ENV12" get FOO --json
	is_status 2
	has "--json is an option of vm show, service show, discover or partition, not of get"
	run_og "$ENV12" discover --cardinality 3
	is_status 2
	has "--cardinality is an option of service scale, not of discover"
	[ "$(requests_a 'length')" = 0 ]
}

@test "options: options follow the verb also with POSIXLY_CORRECT set" {
	publish_superlink YES
	run_og "$ENV101" POSIXLY_CORRECT=1 discover --json
	is_status 0
	[ "$(jq -r .FL_SUPERLINK_ADDRESS <<<"$output")" = 10.0.7.100:9092 ]
}

@test "endpoint: a port out of range is named as such, not 'not an http:// URL'" {
	run --separate-stderr env -i PATH="$PATH" ONEGATE_ENDPOINT=http://127.0.0.1:99999 VMID=12 TOKENTXT=tok \
		timeout 60 "$BIN/fl-onegate" -E vm show
	is_status 1
	has "ONEGATE_ENDPOINT: the port is not a number 1-65535"
	[[ $stderr != *"not an http"* ]]
}

@test "context: a context.sh that does not parse is blamed with its line, not CONTEXT TOKEN=YES" {
	printf 'ONEGATE_ENDPOINT="%s"\nVMID="12"\nFL_X="unterminated\n' "$A_URL" >"$BATS_TEST_TMPDIR/context.sh"
	run --separate-stderr env -i PATH="$PATH" timeout 60 "$BIN/fl-onegate" -c "$BATS_TEST_TMPDIR/context.sh" vm show
	is_status 1
	has "$BATS_TEST_TMPDIR/context.sh:3: value of FL_X has no closing quote"
	has "the OneGate identity (ONEGATE_ENDPOINT, VMID, TOKENTXT) is incomplete because this file does not parse"
	[[ $stderr != *"TOKEN=YES"* ]]
}

# ---------------------------------------------------------------------------------------------
# The common options of every flkit tool (flkit(7)): --no-env and --format too.

@test "options: --format json is --json; --format text the default; another format is exit 2" {
	og "$ENV12" vm show --format json >"$BATS_TEST_TMPDIR/out"
	cmp "$BATS_TEST_TMPDIR/out" "$OG_FIXTURES/vm12.pretty.json"
	run_og "$ENV12" vm show -f text
	is_status 0
	[ "${lines[0]}" = "VM 12" ]
	local sent
	sent=$(requests_a 'length')
	run_og "$ENV12" vm show --format yaml
	is_status 2
	has "fl-onegate: unknown format 'yaml': use text or json"
	run_og "$ENV12" get FOO --format json
	is_status 2
	has "--format is an option of vm show, service show, discover or partition, not of get"
	[ "$(requests_a 'length')" = "$sent" ] # the refused ones sent nothing
}

@test "options: --no-env reads no identity from the environment" {
	printf 'export FL_NUM_ROUNDS="3"\n' >"$BATS_TEST_TMPDIR/context.sh"
	local -a id=(ONEGATE_ENDPOINT="$A_URL" VMID=12 TOKENTXT="$T12")
	run --separate-stderr env -i PATH="$PATH" "${id[@]}" timeout 60 "$BIN/fl-onegate" -c "$BATS_TEST_TMPDIR/context.sh" vm show
	is_status 0
	[ "${lines[0]}" = "VM 12" ]
	run --separate-stderr env -i PATH="$PATH" "${id[@]}" timeout 60 "$BIN/fl-onegate" -c "$BATS_TEST_TMPDIR/context.sh" --no-env vm show
	is_status 3
	has "OneGate is not configured: no ONEGATE_ENDPOINT"
	run --separate-stderr env -i PATH="$PATH" "$BIN/fl-onegate" -E --no-env vm show
	is_status 2
	has "fl-onegate: --env-only and --no-env leave nothing to read"
}

@test "options: -V prints the tool and the version; -h the usage on stdout" {
	run --separate-stderr "$BIN/fl-onegate" -V
	is_status 0
	[[ $output =~ ^fl-onegate\ [0-9]+\.[0-9]+\.[0-9]+$ ]]
	run --separate-stderr "$BIN/fl-onegate" -h
	is_status 0
	[[ ${lines[0]} == "usage: fl-onegate "* ]]
	[ -z "$stderr" ]
}

@test "options: a value that is not a number of seconds, a count or a schedule is a usage error naming it" {
	local sent
	sent=$(requests_a 'length')
	run_og "$ENV12" --timeout x vm show
	is_status 2
	has "fl-onegate: --timeout 'x' is not a number of seconds; give 0 to 10000000 (fractions allowed)"
	run_og "$ENV12" --retries -1 vm show
	is_status 2
	has "fl-onegate: --retries '-1' is not a count; give a whole number from 0 to "
	run_og "$ENV12" --attempts 1.5 discover
	is_status 2
	has "fl-onegate: --attempts '1.5' is not a count"
	run_og "$ENV12" --schedule slow discover
	is_status 2
	has "fl-onegate: unknown schedule 'slow': use fast, fixed or exponential"
	[ "$(requests_a 'length')" = "$sent" ] # the refused ones sent nothing
}

@test "--help: every option of the synopsis is described under options, and the common ones" {
	run --separate-stderr "$BIN/fl-onegate" --help
	is_status 0
	local opt synopsis
	synopsis=$(sed -n '/^usage:/,/^$/p' <<<"$output" | grep -o -- '--[a-z][a-z-]*' | sort -u)
	for opt in $synopsis --context --env-only --no-env --format --quiet --verbose --help --version; do
		grep -qE -- "^  (-[a-zA-Z], |    )$opt( |$)" <<<"$output" || {
			echo "not described: $opt"
			false
		}
	done
}
