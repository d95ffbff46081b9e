#!/usr/bin/env bats
# The OneGate emulator against design 06 §7: token crypto, form bodies, escape_attr, the fixture
# world's request vectors, fault knobs and the control API. test/onegate/test_emulator.py runs
# every vector once (setup_file); each test here checks one of them by id.

setup_file() {
	export EMU_TAP="$BATS_FILE_TMPDIR/emulator.tap"
	timeout 120 python3 "$BATS_TEST_DIRNAME/onegate/test_emulator.py" >"$EMU_TAP" 2>&1 || true
}

# vector ID: that vector passed; otherwise show its line and diagnostics.
vector() {
	grep -q "^ok [0-9]* - $1 " "$EMU_TAP" && return 0
	grep -A4 -- " - $1 " "$EMU_TAP" || tail -n 20 "$EMU_TAP"
	return 1
}

@test "emulator: the vector script ran every vector it lists, and each has a test here" {
	n=$(python3 "$BATS_TEST_DIRNAME/onegate/test_emulator.py" --list | wc -l)
	grep -qx "1..$n" "$EMU_TAP"
	[ "$(grep -c '^\(not \)\?ok ' "$EMU_TAP")" -eq "$n" ]
	while read -r id _; do
		grep -q "{ vector $id; }" "$BATS_TEST_FILENAME" || {
			echo "no test for vector $id"
			false
		}
	done < <(python3 "$BATS_TEST_DIRNAME/onegate/test_emulator.py" --list)
}

@test "emulator t7.1-1: token 12:1700000000 <-> McCWcjnbYN559FvF4X/TKQ== (AES-256-CBC, zero IV)" { vector t7.1-1; }
@test "emulator t7.1-2: token 13:1700000100 <-> HrahQzwO9y4IF1ub7wu0+A== (AES-256-CBC, zero IV)" { vector t7.1-2; }
@test "emulator t7.1-3: token 20:1700000200 <-> iroiNE2zRDK8Njjn7Ov76w== (AES-256-CBC, zero IV)" { vector t7.1-3; }
@test "emulator t7.1-4: token 0:1712345678 <-> IaM4/GsWoZsLv+P2m0weDg== (AES-256-CBC, zero IV)" { vector t7.1-4; }
@test "emulator t7.1-5: token 42:1699999999 <-> ys/O29iKczo/fZq++HsRPw== (AES-256-CBC, zero IV)" { vector t7.1-5; }
@test "emulator t7.1-6: token 12:1700000001 <-> Etl9gTFKCJlg4Y1J7VEc5w== (AES-256-CBC, zero IV)" { vector t7.1-6; }
@test "emulator t7.1-7: a token with bad padding or base64 decrypts to nothing" { vector t7.1-7; }
@test "emulator t7.1-8: VM 13 and VM 20 authenticate with their real tokens" { vector t7.1-8; }
@test "emulator f7.2-1: PUT /vm form body data=READY%3DYES&type=1 stores {'READY': 'YES'}" { vector f7.2-1; }
@test "emulator f7.2-2: PUT /vm form body data=KEY%3Dvalue+with+spaces&type=1 stores {'KEY': 'value with spaces'}" { vector f7.2-2; }
@test "emulator f7.2-3: PUT /vm form body data=A%3D1%0AB%3D2&type=1 stores {'A': '1', 'B': '2'}" { vector f7.2-3; }
@test "emulator f7.2-4: PUT /vm form body data=A%3D1%5CnB%3D2&type=1 stores {'A': '1', 'B': '2'}" { vector f7.2-4; }
@test "emulator f7.2-5: PUT /vm form body data=SSHKEY%3Dssh-rsa+AAAA%2B%2Fb%3D%3D+u%40h&type=1 stores {'SSHKEY': 'ssh-rsa AAAA+/b== u@h'}" { vector f7.2-5; }
@test "emulator f7.2-6: PUT /vm form body data=X%3D%7Etilde&type=1 stores {'X': '~tilde'}" { vector f7.2-6; }
@test "emulator f7.2-7: PUT /vm form body data=Y%3Dv%20w~&type=1 stores {'Y': 'v w~'}" { vector f7.2-7; }
@test "emulator f7.2-8: --erase READY: data=READY&type=2 removes it" { vector f7.2-8; }
@test "emulator f7.2-9: service show --extended: a GET form body extended=true gives the full vm_info" { vector f7.2-9; }
@test "emulator e7.3-01: escape_attr('READY=YES') = 'READY=\"YES\"'" { vector e7.3-01; }
@test "emulator s7.3-01: PUT /vm raw 'READY=YES': {'READY': 'YES'}" { vector s7.3-01; }
@test "emulator e7.3-02: escape_attr('KEY=value with spaces') = 'KEY=\"value with spaces\"'" { vector e7.3-02; }
@test "emulator s7.3-02: PUT /vm raw 'KEY=value with spaces': {'KEY': 'value with spaces'}" { vector s7.3-02; }
@test "emulator e7.3-03: escape_attr('A=1\\nB=2') = 'A=\"1\"\\nB=\"2\"'" { vector e7.3-03; }
@test "emulator s7.3-03: PUT /vm raw 'A=1\\nB=2': {'A': '1', 'B': '2'}" { vector s7.3-03; }
@test "emulator e7.3-04: escape_attr('A=1\\\\nB=2') = 'A=\"1\"\\nB=\"2\"'" { vector e7.3-04; }
@test "emulator s7.3-04: PUT /vm raw 'A=1\\\\nB=2': {'A': '1', 'B': '2'}" { vector s7.3-04; }
@test "emulator e7.3-05: escape_attr('B64=aGVsbG8=') = 'B64=\"aGVsbG8=\"'" { vector e7.3-05; }
@test "emulator s7.3-05: PUT /vm raw 'B64=aGVsbG8=': {'B64': 'aGVsbG8='}" { vector s7.3-05; }
@test "emulator e7.3-06: escape_attr('SSH=ssh-rsa AAAA== user@host') = 'SSH=\"ssh-rsa AAAA== user@host\"'" { vector e7.3-06; }
@test "emulator s7.3-06: PUT /vm raw 'SSH=ssh-rsa AAAA== user@host': {'SSH': 'ssh-rsa AAAA== user@host'}" { vector s7.3-06; }
@test "emulator e7.3-07: escape_attr('URL=http://x/?a=1&b=2') = 'URL=\"http://x/?a=1&b=2\"'" { vector e7.3-07; }
@test "emulator s7.3-07: PUT /vm raw 'URL=http://x/?a=1&b=2': {'URL': 'http://x/?a=1&b=2'}" { vector s7.3-07; }
@test "emulator e7.3-08: escape_attr('APP_LOAD = 9.7') = 'APP_LOAD =\" 9.7\"'" { vector e7.3-08; }
@test "emulator s7.3-08: PUT /vm raw 'APP_LOAD = 9.7': {'APP_LOAD': ' 9.7'}" { vector s7.3-08; }
@test "emulator e7.3-09: escape_attr('KEY=') = 'KEY=\"'" { vector e7.3-09; }
@test "emulator s7.3-09: PUT /vm raw 'KEY=': {'KEY': '\"'}" { vector s7.3-09; }
@test "emulator e7.3-10: escape_attr('KEY=\"\"') = 'KEY=\"\"'" { vector e7.3-10; }
@test "emulator s7.3-10: PUT /vm raw 'KEY=\"\"': {'KEY': ''}" { vector s7.3-10; }
@test "emulator e7.3-11: escape_attr('KEY=\"already quoted\"') = 'KEY=\"already quoted\"'" { vector e7.3-11; }
@test "emulator s7.3-11: PUT /vm raw 'KEY=\"already quoted\"': {'KEY': 'already quoted'}" { vector s7.3-11; }
@test "emulator e7.3-12: escape_attr('LIST=a,b') = 'LIST=\"a\",b\"'" { vector e7.3-12; }
@test "emulator s7.3-12: PUT /vm raw 'LIST=a,b': 500" { vector s7.3-12; }
@test "emulator e7.3-13: escape_attr('V=[A=1,B=2]') = 'V=[A=\"1\",B=2\"]'" { vector e7.3-13; }
@test "emulator s7.3-13: PUT /vm raw 'V=[A=1,B=2]': {'V': {'A': '1', 'B': '2\"'}}" { vector s7.3-13; }
@test "emulator e7.3-14: escape_attr('MSG=say \"hi\"') = 'MSG=\"say \"hi\"'" { vector e7.3-14; }
@test "emulator s7.3-14: PUT /vm raw 'MSG=say \"hi\"': 500" { vector s7.3-14; }
@test "emulator e7.3-15: escape_attr('WIN=C:\\\\dir') = 'WIN=\"C:\"\\\\dir'" { vector e7.3-15; }
@test "emulator s7.3-15: PUT /vm raw 'WIN=C:\\\\dir': 500" { vector s7.3-15; }
@test "emulator e7.3-16: escape_attr('X=[]') = 'X=[\"]'" { vector e7.3-16; }
@test "emulator s7.3-16: PUT /vm raw 'X=[]': 500" { vector s7.3-16; }
@test "emulator e7.3-17: escape_attr('APP_LOAD') = 'APP_LOAD'" { vector e7.3-17; }
@test "emulator s7.3-17: PUT /vm raw 'APP_LOAD': erase" { vector s7.3-17; }
@test "emulator e7.3-18: escape_attr('SERVICE_ID=9') = 'SERVICE_ID=\"9\"'" { vector e7.3-18; }
@test "emulator s7.3-18: PUT /vm raw 'SERVICE_ID=9': Attribute (SERVICE_ID) cannot be modified" { vector s7.3-18; }
@test "emulator e7.3-19: escape_attr('service_id=1') = 'service_id=\"1\"'" { vector e7.3-19; }
@test "emulator s7.3-19: PUT /vm raw 'service_id=1': Attribute (service_id) cannot be modified" { vector s7.3-19; }
@test "emulator e7.3-20: escape_attr(' SERVICE_ID=1') = ' SERVICE_ID=\"1\"'" { vector e7.3-20; }
@test "emulator s7.3-20: PUT /vm raw ' SERVICE_ID=1': ok" { vector s7.3-20; }
@test "emulator s7.3-21: server_version 7.2: explicit 500 bodies become 'Internal server error' (Q10)" { vector s7.3-21; }
@test "emulator s7.3-22: a repeated name in one request is stored as a list; names are upper-cased, 1X gets ONE_" { vector s7.3-22; }
@test "emulator w7.4-01: GET /vm without headers: 401 Not authorized" { vector w7.4-01; }
@test "emulator w7.4-02: GET /vm, VMID 12 with the wrong-STIME token: 401" { vector w7.4-02; }
@test "emulator w7.4-03: GET /vm, VMID 13 with VM 12's token: 401" { vector w7.4-03; }
@test "emulator w7.4-04: GET /vm, H12: the view, byte for byte" { vector w7.4-04; }
@test "emulator w7.4-05: PUT /vm form data=READY%3DYES&type=1: 200 empty, USER_TEMPLATE stays alphabetical" { vector w7.4-05; }
@test "emulator w7.4-06: PUT /vm form content type, raw body APP=1: APP=\"1\"" { vector w7.4-06; }
@test "emulator w7.4-07: PUT /vm?type=2 raw body APP: removed" { vector w7.4-07; }
@test "emulator w7.4-08: erase an absent attribute: 500 attribute not found" { vector w7.4-08; }
@test "emulator w7.4-09: data=SERVICE_ID%3D9&type=1: 403 Attribute (SERVICE_ID) cannot be modified" { vector w7.4-09; }
@test "emulator w7.4-10: data=ROLE_NAME&type=2: 403 Attribute (ROLE_NAME) cannot be deleted" { vector w7.4-10; }
@test "emulator w7.4-11: a form body sent as application/json is stored as DATA (Q2)" { vector w7.4-11; }
@test "emulator w7.4-12: GET /service, H12: the stub view, byte for byte" { vector w7.4-12; }
@test "emulator w7.4-13: GET /service?extended=true: the full oned VM hash in vm_info" { vector w7.4-13; }
@test "emulator w7.4-13b: extended=false still means extended (Q3)" { vector w7.4-13b; }
@test "emulator w7.4-14: GET /service, H20: 400 Empty or invalid SERVICE_ID" { vector w7.4-14; }
@test "emulator w7.4-15: GET /vms/13, H12: VM 13's view" { vector w7.4-15; }
@test "emulator w7.4-16: GET /vms/99, H12: 400 Service 5 does not contain VM 99." { vector w7.4-16; }
@test "emulator w7.4-17: GET /vms/13, H20: 400 not in a service or virtual router" { vector w7.4-17; }
@test "emulator w7.4-18: GET /vms/20, H20: its own view, empty USER_TEMPLATE and NIC arrays" { vector w7.4-18; }
@test "emulator w7.4-19: PUT /vms/13, H12, data=ACTIVE%3DYES: VM 13 gets ACTIVE=YES" { vector w7.4-19; }
@test "emulator w7.4-20: PUT /service/role/web {\"cardinality\":\"2\"}: 200, forwarded to OneFlow scale" { vector w7.4-20; }
@test "emulator w7.4-21: PUT /service/role/nope: 400 Error performing action on service 5 role nope" { vector w7.4-21; }
@test "emulator w7.4-21b: scaling while the service is COOLDOWN (10): 400" { vector w7.4-21b; }
@test "emulator w7.4-22: PUT /service/role/web, H20: 400 Empty or invalid SERVICE_ID" { vector w7.4-22; }
@test "emulator w7.4-23: POST /vms/13/action hold: 204, no body" { vector w7.4-23; }
@test "emulator w7.4-24: POST /vms/13/action reboot: 403 not allowed" { vector w7.4-24; }
@test "emulator w7.4-25: POST /vms/13/action {\"foo\":1}: 400 Wrong resource type" { vector w7.4-25; }
@test "emulator w7.4-26: POST /vms/13/action with single-quoted pseudo-JSON: 400" { vector w7.4-26; }
@test "emulator w7.4-27: POST /vms/13/action fly: 500 (two spaces in the text)" { vector w7.4-27; }
@test "emulator w7.4-28: GET /vrouter, H12: 400 Empty or invalid VROUTER_ID" { vector w7.4-28; }
@test "emulator w7.4-29: GET /vnet/abc: 400 Invalid id format" { vector w7.4-29; }
@test "emulator w7.4-30: GET /vnet/0 from a non-router VM: 400" { vector w7.4-30; }
@test "emulator w7.4-31: unknown paths, wrong methods and trailing slashes: the catch-all 400" { vector w7.4-31; }
@test "emulator w7.4-32: GET / with Host gate:5030: the links" { vector w7.4-32; }
@test "emulator w7.4-33: a disabled permission answers 403 before authentication" { vector w7.4-33; }
@test "emulator w7.4-34: the VRouter fixture: GET /vrouter from VM 115" { vector w7.4-34; }
@test "emulator w7.4-35: the deprecated ?id= fallback when X-ONEGATE-VMID is missing" { vector w7.4-35; }
@test "emulator w7.4-36: HEAD /vm: 200 with the JSON content type and no body" { vector w7.4-36; }
@test "emulator w7.4-37: GET /vms/abc is VM 0 (Ruby to_i): not in the service" { vector w7.4-37; }
@test "emulator k-latency: latency_ms delays every answer" { vector k-latency; }
@test "emulator k-error: error_rate 1 answers error_status (503 default, 500 as 'Internal server error')" { vector k-error; }
@test "emulator k-error-rate: error_rate 0.5 with a seed: a repeatable mix" { vector k-error-rate; }
@test "emulator k-malformed: malformed: truncate, garbage, wrong_type, deep, oversize, empty, nul" { vector k-malformed; }
@test "emulator k-malformed-put: malformed leaves empty PUT answers alone" { vector k-malformed-put; }
@test "emulator k-reset: reset_rate 1 resets the connection without an answer" { vector k-reset; }
@test "emulator k-hang: hang keeps the request open without answering" { vector k-hang; }
@test "emulator k-count: count limits the faults to the next N requests" { vector k-count; }
@test "emulator k-paths: paths limits the faults to matching routes" { vector k-paths; }
@test "emulator k-control-exempt: faults never touch the control API" { vector k-control-exempt; }
@test "emulator k-unknown: an unknown knob is refused with 400" { vector k-unknown; }
@test "emulator k-cli: knobs from the command line; refuses a non-loopback bind" { vector k-cli; }
@test "emulator c-vm: POST /_emulator/vm/13 sets attributes as VM 13 would; null erases" { vector c-vm; }
@test "emulator c-node: POST /_emulator/service/5 add_node / remove_node" { vector c-node; }
@test "emulator c-log: the request log records method, path, body, token validity and time, never the token" { vector c-log; }
@test "emulator c-nics: POST /_emulator/nics/12 replaces the VM's NICs (a VM that came back with a new address)" { vector c-nics; }
@test "emulator c-reset: POST /_emulator/reset restores the world and clears faults" { vector c-reset; }
@test "emulator c-big: a generated world of 5000 SuperNodes: every node listed (the time reported)" { vector c-big; }
