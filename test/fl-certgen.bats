#!/usr/bin/env bats
# fl-certgen: the SuperLink's CA and server certificate (generated or operator-provided), the
# SuperNode's trusted CA, inspection. Certificates are checked with the openssl CLI, which
# shares no code path with fl-certgen's EVP/X509 calls; handshakes use s_server/s_client and,
# when the project venv has Flower, a real SuperLink and SuperNode.

# SC2030/SC2031: bats runs each test in a subshell on purpose; SC2016: $(...) in single quotes
# is test data; SC2153/SC2154: variables set by eval of fl-certgen's output and by bats.
# shellcheck disable=SC2016,SC2030,SC2031,SC2153,SC2154
bats_require_minimum_version 1.5.0
bats_load_library bats-support
bats_load_library bats-assert

: "${FLKIT_BIN:=$BATS_TEST_DIRNAME/../build-cert/bin}"
# The test build (make all builds it beside bin/): the only one whose clock FLKIT_NOW moves.
: "${FLKIT_TEST_BIN:=$FLKIT_BIN/../test-bin}"
SRC="$BATS_TEST_DIRNAME/.."
VM_IP=192.0.2.10

setup_file() {
	export FIX="$BATS_FILE_TMPDIR/fix"
	mkdir -p "$FIX"
	cd "$FIX" || return 1
	# Operator material made with the openssl CLI only.
	mkca() { # name keyalg subject [issuer]
		local n=$1 subj=$3
		local -a alg
		read -r -a alg <<<"$2"
		openssl genpkey "${alg[@]}" -out "$n.key" 2>/dev/null
		if [ -z "${4-}" ]; then
			openssl req -x509 -new -key "$n.key" -sha256 -days 3650 -subj "$subj" \
				-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
				-out "$n.crt" 2>/dev/null
		else
			openssl req -new -key "$n.key" -subj "$subj" -out "$n.csr" 2>/dev/null
			printf 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n' >"$n.ext"
			openssl x509 -req -in "$n.csr" -CA "$4.crt" -CAkey "$4.key" -CAcreateserial -days 3000 -sha256 \
				-extfile "$n.ext" -out "$n.crt" 2>/dev/null
		fi
	}
	mkleaf() { # name keyalg|@existing-key ca days san [eku]
		local n=$1 ca=$3 days=$4 san=$5 eku=${6:-serverAuth}
		local -a alg
		read -r -a alg <<<"$2"
		if [[ $2 == @* ]]; then cp "${2#@}" "$n.key"; else openssl genpkey "${alg[@]}" -out "$n.key" 2>/dev/null; fi
		openssl req -new -key "$n.key" -subj "/O=Operator/CN=flower.example.com" -out "$n.csr" 2>/dev/null
		printf 'subjectAltName=%s\nextendedKeyUsage=%s\nbasicConstraints=critical,CA:FALSE\n' "$san" "$eku" >"$n.ext"
		openssl x509 -req -in "$n.csr" -CA "$ca.crt" -CAkey "$ca.key" -CAcreateserial -days "$days" -sha256 \
			-extfile "$n.ext" -out "$n.crt" 2>/dev/null
	}
	local ec='-algorithm EC -pkeyopt ec_paramgen_curve:P-256' rsa='-algorithm RSA -pkeyopt rsa_keygen_bits:2048'
	mkca ec-ca "$ec" "/O=Operator/CN=Operator EC CA"
	mkleaf ec-srv "$ec" ec-ca 90 "DNS:flower.example.com,IP:10.10.9.10"
	mkca rsa-ca "$rsa" "/O=Operator/CN=Operator RSA CA"
	mkleaf rsa-srv "$rsa" rsa-ca 365 "DNS:flower.example.com,IP:10.10.9.10"
	mkca other-ca "$ec" "/O=Elsewhere/CN=Other CA"
	mkleaf other-srv "@ec-srv.key" other-ca 365 "IP:10.10.9.10"
	mkleaf client-srv "$ec" ec-ca 365 "IP:10.10.9.10" clientAuth
	mkleaf weak-srv '-algorithm RSA -pkeyopt rsa_keygen_bits:1024' rsa-ca 365 "IP:10.10.9.10"
	mkca root-ca "$ec" "/O=Operator/CN=Root CA"
	mkca inter-ca "$ec" "/O=Operator/CN=Intermediate CA" root-ca
	mkleaf inter-srv "$ec" inter-ca 365 "IP:10.10.9.10"
	cat inter-srv.crt inter-ca.crt >inter-fullchain.crt
	openssl pkey -in ec-srv.key -aes256 -passout pass:secret -out ec-srv.enc.key 2>/dev/null
	openssl x509 -in ec-ca.crt -outform der -out ec-ca.der 2>/dev/null
}

setup() {
	T=$BATS_TEST_TMPDIR
	D=$T/certs
	K=$T/ca
	NET=$VM_IP
	PIDS=()
}

teardown() {
	local p m
	for p in "${PIDS[@]}"; do
		kill -- "-$p" 2>/dev/null || kill "$p" 2>/dev/null
	done
	if [ -f "$T/mounts" ]; then
		while read -r m; do
			umount -l "$m" 2>/dev/null
		done <"$T/mounts"
	fi
	return 0
}

# cg [NAME=value]... ARGS...: fl-certgen in an environment of only those variables, on the
# test's directories, with the VM address $NET (FLKIT_NET_ADDRS). CG=$FLKIT_TEST_BIN runs the
# test build, whose clock FLKIT_NOW moves.
cg() {
	local -a vars=()
	while [ $# -gt 0 ] && [[ $1 =~ ^[A-Za-z_][A-Za-z0-9_]*= ]]; do
		vars+=("$1")
		shift
	done
	env -i PATH="$PATH" FLKIT_NET_ADDRS="$NET" "${vars[@]}" "${CG:-$FLKIT_BIN}/fl-certgen" --env-only --dir "$D" \
		--ca-key-dir "$K" "$@"
}

run_cg() {
	run --separate-stderr cg "$@"
}

b64() {
	base64 -w0 "$1"
}

LOG_RE='^\[[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\] \[(DEBUG|INFO|WARN|ERROR|FATAL)\] \[fl-certgen\] (.*)$'

# messages LEVEL: the stderr messages logged at LEVEL; any other stderr line fails the test.
messages() {
	local line
	for line in "${stderr_lines[@]}"; do
		if [[ $line =~ $LOG_RE ]]; then
			[ "${BASH_REMATCH[1]}" = "$1" ] && printf '%s\n' "${BASH_REMATCH[2]}"
		else
			echo "stderr line not in the log format: $line" >&2
			return 1
		fi
	done
}

# logged LEVEL TEXT: a line at LEVEL is exactly TEXT. logged_has LEVEL TEXT: contains TEXT.
logged() {
	local m
	while IFS= read -r m; do
		[ "$m" = "$2" ] && return 0
	done < <(messages "$1")
	printf 'no %s line "%s" in:\n%s\n' "$1" "$2" "$stderr" >&2
	return 1
}

logged_has() {
	local m
	while IFS= read -r m; do
		[[ $m == *"$2"* ]] && return 0
	done < <(messages "$1")
	printf 'no %s line containing "%s" in:\n%s\n' "$1" "$2" "$stderr" >&2
	return 1
}

names() { # the entries of a directory, sorted, space-terminated
	find "$1" -mindepth 1 -maxdepth 1 -printf '%f\n' | LC_ALL=C sort | tr '\n' ' '
}

owner_mode() {
	stat -c '%u:%g %a' "$1"
}

# snapshot DIR...: content, owner, mode and inode of every file, for "nothing changed" checks.
snapshot() {
	local f
	for f in "$@"; do
		find "$f" -type f -print0 2>/dev/null | sort -z | while IFS= read -r -d '' x; do
			printf '%s %s %s\n' "$x" "$(sha256sum <"$x" | cut -c1-64)" "$(stat -c '%u:%g %a %i' "$x")"
		done
	done
}

fp() { # fingerprint as openssl prints it
	openssl x509 -in "$1" -noout -fingerprint -sha256 | sed 's/^.*=//'
}

out_value() { # KEY from KEY=VALUE lines in $output
	sed -n "s/^$1=//p" <<<"$output"
}

# extension NAME CERT: openssl's text of that extension ("critical" on its own line first).
extensions_of() {
	openssl x509 -in "$1" -noout -text | sed -n '/X509v3 extensions:/,/Signature Algorithm/p' | tail -n +2 |
		sed -n 's/^ *X509v3 \(.*\):\( critical\)\{0,1\} *$/\1\2/p'
}

ext_value() {
	openssl x509 -in "$2" -noout -ext "$1" | tail -n +2 | sed 's/^ *//'
}

new_set() { # a generated set for tests that start from one
	run_cg FL_TLS_ENABLED=YES "$@" superlink
	assert_success
}

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_tls() { # wait_tls PORT: until a TLS server there presents a certificate (30 s at most: a guard)
	for _ in $(seq 300); do
		openssl s_client -connect "127.0.0.1:$1" </dev/null 2>/dev/null | grep -q -- '-----BEGIN CERTIFICATE-----' &&
			return 0
		sleep 0.1
	done
	return 1
}

wait_port() { # wait_port PORT: up to 20 s for a listener
	for _ in $(seq 200); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# ---------------------------------------------------------------------------------------------
# SuperLink: off
# ---------------------------------------------------------------------------------------------

@test "superlink: FL_TLS_ENABLED unset means insecure: the spec's line, FL_TLS=NO, nothing written" {
	run_cg superlink
	assert_success
	assert_output 'FL_TLS=NO'
	logged INFO 'TLS disabled (FL_TLS_ENABLED=NO). Using --insecure mode.'
	[ ! -e "$D" ] && [ ! -e "$K" ]
}

@test "superlink: FL_TLS_ENABLED=no (any case) is NO; operator variables are then ignored" {
	run_cg FL_TLS_ENABLED=no FL_SSL_CA_CERTFILE=x superlink
	assert_success
	assert_output 'FL_TLS=NO'
	logged INFO 'TLS disabled (FL_TLS_ENABLED=NO). Using --insecure mode.'
	logged INFO 'FL_SSL_CA_CERTFILE/FL_SSL_CERTFILE/FL_SSL_KEYFILE ignored -- FL_TLS_ENABLED is not YES'
}

@test "superlink: an invalid FL_TLS_ENABLED is the spec's error, exit 1" {
	run_cg FL_TLS_ENABLED=maybe superlink
	assert_failure 1
	assert_output ''
	logged ERROR "Invalid FL_TLS_ENABLED: 'maybe'. Must be YES or NO."
}

@test "superlink: ONEAPP_FL_TLS_ENABLED and a context file are read like fl-context reads them" {
	printf "%s\n" "FL_TLS_ENABLED='NO'" "ONEAPP_FL_TLS_ENABLED='yes'" >"$T/context.sh"
	run --separate-stderr env -i PATH="$PATH" FLKIT_NET_ADDRS=$VM_IP "$FLKIT_BIN/fl-certgen" -c "$T/context.sh" \
		--no-env --dir "$D" --ca-key-dir "$K" superlink
	assert_success
	assert_line 'FL_TLS=YES'
}

@test "superlink: FL_LOG_FORMAT=json from the context gives JSON log lines" {
	run_cg FL_LOG_FORMAT=json superlink
	assert_success
	assert_output 'FL_TLS=NO'
	assert_equal "$(jq -r .message <<<"$stderr")" 'TLS disabled (FL_TLS_ENABLED=NO). Using --insecure mode.'
	assert_equal "$(jq -r .tool <<<"$stderr")" fl-certgen
}

# ---------------------------------------------------------------------------------------------
# SuperLink: generated certificates
# ---------------------------------------------------------------------------------------------

@test "superlink: creates a CA and server certificate that openssl verifies for sslserver" {
	run_cg FL_TLS_ENABLED=YES superlink
	assert_success
	run openssl verify -purpose sslserver -CAfile "$D/ca.crt" "$D/server.pem"
	assert_success
	assert_output "$D/server.pem: OK"
}

@test "superlink: prints FL_TLS, FL_CA_CERT (base64 -w0 of ca.crt) and the CA's SHA-256, never a key" {
	run_cg FL_TLS_ENABLED=YES superlink
	assert_success
	assert_equal "${#lines[@]}" 3
	assert_line --index 0 'FL_TLS=YES'
	assert_equal "$(out_value FL_CA_CERT)" "$(b64 "$D/ca.crt")"
	assert_equal "$(out_value FL_CA_FINGERPRINT)" "$(fp "$D/ca.crt")"
	out_value FL_CA_CERT | base64 -d | cmp - "$D/ca.crt"
	refute_output --partial 'PRIVATE'
	for k in "$D/server.key" "$K/ca.key"; do
		body=$(sed -n 2p "$k")
		[[ $output != *"$body"* && $stderr != *"$body"* ]]
		[[ $output != *"$(b64 "$k" | cut -c 30-80)"* ]]
	done
	logged INFO 'Certificate chain verified successfully'
	logged_has INFO 'TLS certificates created (there is no CA yet)'
}

@test "superlink: --format json gives the same values" {
	run_cg FL_TLS_ENABLED=YES superlink --format json
	assert_success
	assert_equal "$(jq -r .FL_TLS <<<"$output")" YES
	assert_equal "$(jq -r .FL_CA_CERT <<<"$output")" "$(b64 "$D/ca.crt")"
	assert_equal "$(jq -r .FL_CA_FINGERPRINT <<<"$output")" "$(fp "$D/ca.crt")"
	assert_equal "$(jq -r .action <<<"$output")" created
}

@test "superlink: server SAN is localhost, 127.0.0.1, ::1, the VM addresses, then FL_CERT_EXTRA_SAN" {
	NET="$VM_IP fd00::2"
	run_cg FL_TLS_ENABLED=YES FL_CERT_EXTRA_SAN=' IP:10.10.9.0, DNS:flower.example.com,IP:192.0.2.10' superlink
	assert_success
	assert_equal "$(ext_value subjectAltName "$D/server.pem")" \
		"DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, IP Address:192.0.2.10, IP Address:FD00:0:0:0:0:0:0:2, IP Address:10.10.9.0, DNS:flower.example.com"
	assert_equal "$(openssl x509 -in "$D/server.pem" -noout -subject)" "subject=O = Flower FL, CN = 192.0.2.10"
	assert_equal "$(openssl x509 -in "$D/ca.crt" -noout -subject)" "subject=O = Flower FL, CN = Flower CA"
	assert_equal "$(openssl x509 -in "$D/ca.crt" -noout -issuer)" "issuer=O = Flower FL, CN = Flower CA"
	assert_equal "$(openssl x509 -in "$D/server.pem" -noout -issuer)" "issuer=O = Flower FL, CN = Flower CA"
}

@test "superlink: extensions are exactly the listed ones, with the listed criticality" {
	new_set
	assert_equal "$(extensions_of "$D/ca.crt" | tr '\n' '|')" \
		"Basic Constraints critical|Key Usage critical|Subject Key Identifier|Authority Key Identifier|"
	assert_equal "$(ext_value basicConstraints "$D/ca.crt")" "CA:TRUE"
	assert_equal "$(ext_value keyUsage "$D/ca.crt")" "Certificate Sign, CRL Sign"
	assert_equal "$(extensions_of "$D/server.pem" | tr '\n' '|')" \
		"Basic Constraints critical|Key Usage critical|Extended Key Usage|Subject Alternative Name|Subject Key Identifier|Authority Key Identifier|"
	assert_equal "$(ext_value basicConstraints "$D/server.pem")" "CA:FALSE"
	assert_equal "$(ext_value keyUsage "$D/server.pem")" "Digital Signature"
	assert_equal "$(ext_value extendedKeyUsage "$D/server.pem")" "TLS Web Server Authentication"
	# AKI of the leaf is the CA's SKI; the CA's own AKI points at itself.
	ca_ski=$(ext_value subjectKeyIdentifier "$D/ca.crt")
	assert_equal "$(ext_value authorityKeyIdentifier "$D/server.pem")" "$ca_ski"
	assert_equal "$(ext_value authorityKeyIdentifier "$D/ca.crt")" "$ca_ski"
	[ "$(ext_value subjectKeyIdentifier "$D/server.pem")" != "$ca_ski" ]
}

@test "superlink: ECDSA P-256 and SHA-256 by default, X.509 v3, PKCS#8 keys that match" {
	new_set
	for c in ca.crt server.pem; do
		text=$(openssl x509 -in "$D/$c" -noout -text)
		[[ $text == *"Version: 3 (0x2)"* ]]
		[[ $text == *"Signature Algorithm: ecdsa-with-SHA256"* ]]
		[[ $text == *"NIST CURVE: P-256"* ]]
	done
	assert_equal "$(head -n 1 "$D/server.key")" '-----BEGIN PRIVATE KEY-----'
	assert_equal "$(head -n 1 "$K/ca.key")" '-----BEGIN PRIVATE KEY-----'
	assert_equal "$(openssl x509 -in "$D/server.pem" -noout -pubkey)" "$(openssl pkey -in "$D/server.key" -pubout)"
	assert_equal "$(openssl x509 -in "$D/ca.crt" -noout -pubkey)" "$(openssl pkey -in "$K/ca.key" -pubout)"
}

@test "superlink: --key-type rsa:2048/rsa:3072 gives RSA keys, sha256WithRSAEncryption, keyEncipherment" {
	for bits in 2048 3072; do
		rm -rf "$D" "$K"
		new_set --key-type "rsa:$bits"
		for f in "$D/server.key" "$K/ca.key"; do
			openssl pkey -in "$f" -noout -text | grep -q "Private-Key: ($bits bit, 2 primes)"
		done
		openssl x509 -in "$D/server.pem" -noout -text | grep -q 'Signature Algorithm: sha256WithRSAEncryption'
		assert_equal "$(ext_value keyUsage "$D/server.pem")" "Digital Signature, Key Encipherment"
		openssl verify -purpose sslserver -CAfile "$D/ca.crt" "$D/server.pem"
	done
}

@test "superlink: --key-type rsa:4096 is the spec's RSA-4096" {
	new_set -k rsa:4096
	openssl pkey -in "$D/server.key" -noout -text | grep -q 'Private-Key: (4096 bit, 2 primes)'
	openssl pkey -in "$K/ca.key" -noout -text | grep -q 'Private-Key: (4096 bit, 2 primes)'
	openssl x509 -in "$D/ca.crt" -noout -text | grep -q 'Public-Key: (4096 bit)'
}

@test "superlink: the CA lives 10 years, the server certificate 1 year, both from one hour ago" {
	# On the test clock (FLKIT_NOW), so "one hour ago" is exact, whatever the run takes.
	CG=$FLKIT_TEST_BIN
	now=1767225600
	new_set "FLKIT_NOW=$now"
	for c in ca.crt:3650 server.pem:365; do
		nb=$(date -d "$(openssl x509 -in "$D/${c%%:*}" -noout -startdate | cut -d= -f2)" +%s)
		na=$(date -d "$(openssl x509 -in "$D/${c%%:*}" -noout -enddate | cut -d= -f2)" +%s)
		assert_equal "$((na - nb))" "$((${c#*:} * 86400 + 3600))"
		assert_equal "$nb" "$((now - 3600))"
	done
}

@test "superlink: serial numbers are random, positive and 128 bits" {
	new_set
	a=$(openssl x509 -in "$D/ca.crt" -noout -serial | cut -d= -f2)
	b=$(openssl x509 -in "$D/server.pem" -noout -serial | cut -d= -f2)
	for s in "$a" "$b"; do
		[[ $s =~ ^[89A-F][0-9A-F]{31}$ ]] || { echo "serial $s"; false; }
	done
	[ "$a" != "$b" ]
	# DER: INTEGER of 17 bytes, the leading 00 keeping it positive.
	openssl x509 -in "$D/ca.crt" -outform der | openssl asn1parse -inform der | sed -n 5p |
		grep -Eq 'l= *17 prim: INTEGER +:[89A-F][0-9A-F]{31} *$'
}

# A directory every user can traverse (bats' own temporary directories are root-only).
open_dir() {
	W=$(mktemp -d /tmp/fl-certgen-test.XXXXXX)
	chmod 0711 "$W"
	echo "$W" >>"$BATS_FILE_TMPDIR/open-dirs"
}

teardown_file() {
	local w
	while read -r w; do
		case $w in /tmp/fl-certgen-test.*) rm -rf "$w" ;; esac
	done <"$BATS_FILE_TMPDIR/open-dirs" 2>/dev/null
	return 0
}

@test "superlink: files, owners and modes: certs 49999 0700/0644/0644/0600, ca.key root 0600 outside" {
	open_dir
	D=$W/certs K=$W/ca
	new_set
	assert_equal "$(owner_mode "$D")" "49999:49999 700"
	assert_equal "$(owner_mode "$D/ca.crt")" "49999:49999 644"
	assert_equal "$(owner_mode "$D/server.pem")" "49999:49999 644"
	assert_equal "$(owner_mode "$D/server.key")" "49999:49999 600"
	assert_equal "$(owner_mode "$K")" "0:0 700"
	assert_equal "$(owner_mode "$K/ca.key")" "0:0 600"
	assert_equal "$(names "$D")" "ca.crt server.key server.pem "
	run setpriv --reuid=49999 --regid=49999 --clear-groups cat "$K/ca.key"
	assert_failure
	run setpriv --reuid=49999 --regid=49999 --clear-groups cat "$D/server.key"
	assert_success
}

@test "superlink: --owner sets the owner of the container-visible files" {
	new_set --owner 1234:5678
	for f in "$D" "$D/ca.crt" "$D/server.pem" "$D/server.key"; do
		[ "$(stat -c '%u:%g' "$f")" = 1234:5678 ]
	done
	assert_equal "$(owner_mode "$K/ca.key")" "0:0 600"
}

@test "superlink: a second run keeps every file byte for byte and says kept" {
	new_set
	first=$(out_value FL_CA_FINGERPRINT)
	before=$(snapshot "$D" "$K")
	run_cg FL_TLS_ENABLED=YES superlink
	assert_success
	assert_equal "$(out_value FL_CA_FINGERPRINT)" "$first"
	assert_equal "$(snapshot "$D" "$K")" "$before"
	logged_has INFO "TLS certificates kept: CA SHA-256 $first"
}

@test "superlink: re-applies owners and modes on every run" {
	new_set
	chmod 0666 "$D/server.key" "$D/ca.crt"
	chown 0:0 "$D/server.pem"
	chmod 0755 "$D" "$K"
	chmod 0400 "$K/ca.key"
	new_set
	assert_equal "$(owner_mode "$D/server.key")" "49999:49999 600"
	assert_equal "$(owner_mode "$D/ca.crt")" "49999:49999 644"
	assert_equal "$(owner_mode "$D/server.pem")" "49999:49999 644"
	assert_equal "$(owner_mode "$D")" "49999:49999 700"
	assert_equal "$(owner_mode "$K")" "0:0 700"
	assert_equal "$(owner_mode "$K/ca.key")" "0:0 600"
}

@test "superlink: a new VM address reissues only the server certificate, under the same CA" {
	new_set
	fp1=$(out_value FL_CA_FINGERPRINT)
	cp "$D/ca.crt" "$T/old-ca.crt"
	ca_key=$(sha256sum <"$K/ca.key")
	old_key=$(sha256sum <"$D/server.key")
	NET=192.0.2.11
	run_cg FL_TLS_ENABLED=YES superlink
	assert_success
	assert_equal "$(out_value FL_CA_FINGERPRINT)" "$fp1"
	cmp "$D/ca.crt" "$T/old-ca.crt"
	assert_equal "$(sha256sum <"$K/ca.key")" "$ca_key"
	[ "$(sha256sum <"$D/server.key")" != "$old_key" ]
	logged_has INFO "TLS server certificate reissued from the existing CA (SHA-256 $fp1) because its SAN does not cover IP:192.0.2.11"
	openssl verify -purpose sslserver -CAfile "$T/old-ca.crt" "$D/server.pem"
	ext_value subjectAltName "$D/server.pem" | grep -q 'IP Address:192.0.2.11$'
	assert_equal "$(owner_mode "$D/server.key")" "49999:49999 600"
}

@test "superlink: a new FL_CERT_EXTRA_SAN entry reissues; dropping one keeps the certificate" {
	new_set
	run_cg FL_TLS_ENABLED=YES FL_CERT_EXTRA_SAN=DNS:flower.example.com superlink
	assert_success
	logged_has INFO 'because its SAN does not cover DNS:flower.example.com'
	before=$(snapshot "$D")
	run_cg FL_TLS_ENABLED=YES superlink
	assert_success
	logged_has INFO 'TLS certificates kept'
	assert_equal "$(snapshot "$D")" "$before"
}

@test "superlink: a server certificate within 30 days of expiry is reissued under the same CA" {
	new_set --server-days 20 --renew-days 10
	fp1=$(out_value FL_CA_FINGERPRINT)
	run_cg FL_TLS_ENABLED=YES --server-days 40 superlink
	assert_success
	assert_equal "$(out_value FL_CA_FINGERPRINT)" "$fp1"
	logged_has INFO 'because the server certificate expires in '
	logged_has INFO ' days (renewal window 30 days)'
	openssl x509 -in "$D/server.pem" -noout -checkend $((35 * 86400))
	run_cg FL_TLS_ENABLED=YES --server-days 40 superlink
	assert_success
	logged_has INFO 'TLS certificates kept'
}

@test "superlink: --renew-days at or above --server-days or --ca-days is refused before anything is touched" {
	for args in "--renew-days 365" "--renew-days 400" "--server-days 20" "--renew-days 3650 --server-days 3650" \
		"--ca-days 100 --server-days 200 --renew-days 150"; do
		# shellcheck disable=SC2086
		run_cg FL_TLS_ENABLED=YES $args superlink
		assert_failure 2
		[[ $stderr == *"--renew-days "*" must be less than --"*"-days ("* ]] || { echo "args: $args"; false; }
		[[ $stderr == *usage:* ]]
		[ ! -e "$D" ] && [ ! -e "$K" ]
	done
	run_cg FL_TLS_ENABLED=YES --renew-days 364 superlink
	assert_success
	before=$(snapshot "$D" "$K")
	run_cg FL_TLS_ENABLED=YES --renew-days 364 superlink
	assert_success
	logged_has INFO 'TLS certificates kept'
	assert_equal "$(snapshot "$D" "$K")" "$before"
}

@test "superlink: as time passes (FLKIT_NOW) the server certificate is reissued, the CA kept until it expires" {
	CG=$FLKIT_TEST_BIN
	now=$(date +%s)
	new_set
	fp1=$(out_value FL_CA_FINGERPRINT)
	run_cg FL_TLS_ENABLED=YES FLKIT_NOW=$((now + 200 * 86400)) superlink
	assert_success
	logged_has INFO 'TLS certificates kept'
	run_cg FL_TLS_ENABLED=YES FLKIT_NOW=$((now + 340 * 86400)) superlink
	assert_success
	assert_equal "$(out_value FL_CA_FINGERPRINT)" "$fp1"
	logged_has INFO 'because the server certificate expires in 25 days'
	run_cg FL_TLS_ENABLED=YES FLKIT_NOW=$((now + 3640 * 86400)) superlink
	assert_success
	assert_equal "$(out_value FL_CA_FINGERPRINT)" "$fp1"
	logged_has WARN "The CA in $D/ca.crt expires in "
	logged_has WARN 'it is kept because SuperNodes trust it. Plan the change: fl-certgen superlink --force makes a new CA'
	run_cg FL_TLS_ENABLED=YES FLKIT_NOW=$((now + 3645 * 86400)) superlink
	assert_success
	assert_equal "$(out_value FL_CA_FINGERPRINT)" "$fp1"
	logged_has INFO 'TLS certificates kept'
	run_cg FL_TLS_ENABLED=YES FLKIT_NOW=$((now + 3660 * 86400)) superlink
	assert_success
	[ "$(out_value FL_CA_FINGERPRINT)" != "$fp1" ]
	logged_has INFO 'TLS certificates created (the CA has expired)'
}

@test "superlink: a clock before the CA's start is an error, never a new CA" {
	CG=$FLKIT_TEST_BIN
	new_set
	before=$(snapshot "$D" "$K")
	run_cg FL_TLS_ENABLED=YES FLKIT_NOW=$(($(date +%s) - 2 * 86400)) superlink
	assert_failure 1
	assert_output ''
	logged_has ERROR 'after the system clock'"'"'s time: fix the clock (NTP) and run again'
	assert_equal "$(snapshot "$D" "$K")" "$before"
}

@test "clock: the installed fl-certgen ignores FLKIT_NOW; only the test build reads it" {
	new_set
	before=$(snapshot "$D" "$K")
	later=$(($(date +%s) + 360 * 86400))
	run_cg FL_TLS_ENABLED=YES FLKIT_NOW=$later superlink
	assert_success
	logged_has INFO 'TLS certificates kept'
	assert_equal "$(snapshot "$D" "$K")" "$before"
	run_cg FLKIT_NOW=yesterday check
	assert_success
	CG=$FLKIT_TEST_BIN run_cg FL_TLS_ENABLED=YES FLKIT_NOW=$later superlink
	assert_success
	logged_has INFO 'TLS server certificate reissued from the existing CA'
}

@test "superlink: --force creates a new CA" {
	new_set
	fp1=$(out_value FL_CA_FINGERPRINT)
	run_cg FL_TLS_ENABLED=YES superlink --force
	assert_success
	[ "$(out_value FL_CA_FINGERPRINT)" != "$fp1" ]
	logged_has INFO 'TLS certificates created (--force)'
}

@test "superlink: a missing or foreign server.key is repaired by a reissue under the same CA" {
	new_set
	fp1=$(out_value FL_CA_FINGERPRINT)
	rm "$D/server.key"
	run_cg FL_TLS_ENABLED=YES superlink
	assert_success
	logged_has INFO 'because server.key is missing or unusable'
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$D/server.key" 2>/dev/null
	run_cg FL_TLS_ENABLED=YES superlink
	assert_success
	logged_has INFO 'because server.key does not match server.pem'
	assert_equal "$(out_value FL_CA_FINGERPRINT)" "$fp1"
	assert_equal "$(openssl x509 -in "$D/server.pem" -noout -pubkey)" "$(openssl pkey -in "$D/server.key" -pubout)"
}

@test "superlink: a CA that cannot sign any more (key lost, corrupt or foreign) means a new set" {
	new_set
	rm "$K/ca.key"
	run_cg FL_TLS_ENABLED=YES superlink
	assert_success
	logged_has INFO "TLS certificates created (the CA key $K/ca.key is missing or unusable)"
	echo garbage >"$K/ca.key"
	run_cg FL_TLS_ENABLED=YES superlink
	assert_success
	logged_has INFO 'TLS certificates created (the CA key'
	cp "$FIX/ec-ca.key" "$K/ca.key"
	run_cg FL_TLS_ENABLED=YES superlink
	assert_success
	logged_has INFO 'TLS certificates created (the CA key does not match ca.crt)'
	echo '-----BEGIN CERTIFICATE-----' >"$D/ca.crt"
	run_cg FL_TLS_ENABLED=YES superlink
	assert_success
	logged_has INFO 'TLS certificates created ('
	openssl verify -purpose sslserver -CAfile "$D/ca.crt" "$D/server.pem"
}

@test "superlink: the log names why the set was replaced or the server certificate reissued" {
	new_set
	cp "$D/ca.crt" "$T/ca.crt"
	cat "$T/ca.crt" "$T/ca.crt" >"$D/ca.crt"
	run_cg FL_TLS_ENABLED=YES superlink
	assert_success
	logged_has INFO 'TLS certificates created (ca.crt holds 2 certificates, a generated CA has one): new CA'
	cp "$D/server.pem" "$D/ca.crt"
	run_cg FL_TLS_ENABLED=YES superlink
	assert_success
	logged_has INFO 'TLS certificates created (ca.crt is not a self-signed CA certificate): new CA'
	echo garbage >"$D/ca.crt"
	run_cg FL_TLS_ENABLED=YES superlink
	assert_success
	logged_has INFO "TLS certificates created ($D/ca.crt does not contain a valid PEM certificate: it is text without a PEM block"
	rm "$D/server.pem"
	run_cg FL_TLS_ENABLED=YES superlink
	assert_success
	logged_has INFO ') because server.pem is missing: '
	cp "$D/server.pem" "$D/server.key" "$T/"
	run_cg FL_TLS_ENABLED=YES superlink --force
	assert_success
	cp "$T/server.pem" "$T/server.key" "$D/"
	run_cg FL_TLS_ENABLED=YES superlink
	assert_success
	logged_has INFO ') because server.pem does not verify against ca.crt: unable to get local issuer certificate: '
	openssl verify -purpose sslserver -CAfile "$D/ca.crt" "$D/server.pem"
}

@test "superlink: a CA valid only from a later date is a wrong clock: refused, exit 1, nothing replaced" {
	CG=$FLKIT_TEST_BIN
	new_set
	before=$(snapshot "$D" "$K")
	run_cg FL_TLS_ENABLED=YES FLKIT_NOW=$(($(date +%s) - 3 * 86400)) superlink
	assert_failure 1
	assert_output ''
	logged_has ERROR "The CA in $D/ca.crt is valid only from "
	logged_has ERROR ", after the system clock's time: fix the clock (NTP) and run again; --force replaces the CA"
	assert_equal "$(snapshot "$D" "$K")" "$before"
}

@test "superlink: the spec's ca.key inside the mounted directory is moved out, the CA kept" {
	new_set
	fp1=$(out_value FL_CA_FINGERPRINT)
	mv "$K/ca.key" "$D/ca.key"
	run_cg FL_TLS_ENABLED=YES superlink
	assert_success
	assert_equal "$(out_value FL_CA_FINGERPRINT)" "$fp1"
	[ ! -e "$D/ca.key" ]
	assert_equal "$(owner_mode "$K/ca.key")" "0:0 600"
	logged WARN "Moved the CA key out of $D (mounted into the container) to $K/ca.key; it must stay outside"
	cp "$K/ca.key" "$D/ca.key"
	new_set
	[ ! -e "$D/ca.key" ]
	logged WARN "Removed $D/ca.key: a CA key must not sit in the directory mounted into the container (the CA key is $K/ca.key)"
}

@test "superlink: the CN is the first IPv4 address, whatever the order" {
	NET="fd00::2 198.51.100.4 192.0.2.10"
	new_set
	assert_equal "$(openssl x509 -in "$D/server.pem" -noout -subject)" "subject=O = Flower FL, CN = 198.51.100.4"
	rm -rf "$D" "$K"
	NET="fd00::2"
	new_set
	assert_equal "$(openssl x509 -in "$D/server.pem" -noout -subject)" "subject=O = Flower FL, CN = fd00::2"
}

@test "superlink: a symlinked server.key is not followed: replaced by a real file, target untouched" {
	new_set
	echo "not a key" >"$T/elsewhere"
	chmod 0640 "$T/elsewhere"
	rm "$D/server.key"
	ln -s "$T/elsewhere" "$D/server.key"
	run_cg FL_TLS_ENABLED=YES superlink
	assert_success
	logged_has INFO 'because server.key is missing or unusable'
	[ ! -L "$D/server.key" ] && [ -f "$D/server.key" ]
	assert_equal "$(cat "$T/elsewhere")" "not a key"
	assert_equal "$(stat -c %a "$T/elsewhere")" 640
}

@test "superlink: leftovers of a killed run are cleaned up" {
	new_set
	touch "$D/.server.pem.fl-new" "$D/.ca.crt.fl-prev" "$D/.server.key.Ab12Cd" "$K/..ca.key.fl-new.Zz99Yy"
	new_set
	assert_equal "$(names "$D")" "ca.crt server.key server.pem "
	assert_equal "$(names "$K")" ".fl-certgen.lock ca.key "
}

@test "superlink: --ca-key-dir inside --dir is refused before anything is written (exit 2)" {
	run --separate-stderr env -i PATH="$PATH" FL_TLS_ENABLED=YES FLKIT_NET_ADDRS=$VM_IP "$FLKIT_BIN/fl-certgen" -E \
		--dir "$D" --ca-key-dir "$D/ca" superlink
	assert_failure 2
	logged_has ERROR "the CA key directory $D/ca is inside $D, which is mounted into the container"
	[ ! -e "$D" ]
	ln -s "$D" "$T/alias"
	mkdir -p "$D"
	run --separate-stderr env -i PATH="$PATH" FL_TLS_ENABLED=YES FLKIT_NET_ADDRS=$VM_IP "$FLKIT_BIN/fl-certgen" -E \
		--dir "$D/" --ca-key-dir "$T/alias/" superlink
	assert_failure
	[ ! -e "$D/ca.crt" ] && [ ! -e "$D/ca.key" ]
}

@test "superlink: an invalid FL_CERT_EXTRA_SAN entry is the spec's error and writes nothing" {
	for v in 'IP:999.1.1.1' 'DNS:bad_name' 'URI:http://x' 'DNS:ok.example,'; do
		run_cg FL_TLS_ENABLED=YES "FL_CERT_EXTRA_SAN=$v" superlink
		assert_failure 1
		assert_output ''
		logged_has ERROR "Invalid FL_CERT_EXTRA_SAN entry: '"
		logged_has ERROR "'. Expected format: IP:<addr> or DNS:<name>."
		[ ! -e "$D" ]
	done
}

canon() { # canonical IP addresses, one a line
	python3 -c 'import sys, ipaddress
for l in sys.stdin:
    if l.strip():
        print(ipaddress.ip_address(l.strip()))'
}

@test "superlink: the VM addresses are every address of the default-route interface when not given" {
	dev=$(ip route show default | awk '{print $5; exit}')
	[ -n "$dev" ] || skip "no default route here"
	run --separate-stderr env -i PATH="$PATH" FL_TLS_ENABLED=YES "$FLKIT_BIN/fl-certgen" -E --dir "$D" \
		--ca-key-dir "$K" superlink
	assert_success
	want=$(ip -o addr show dev "$dev" scope global | awk '!/temporary|deprecated|dadfailed/ {print $4}' |
		cut -d/ -f1 | grep -v '^169\.254\.' | canon | sort)
	got=$(ext_value subjectAltName "$D/server.pem" | tr ',' '\n' | sed -n 's/^ *IP Address://p' | tail -n +3 |
		canon | sort)
	assert_equal "$got" "$want"
	first4=$(ip -o -4 addr show dev "$dev" scope global | awk '{print $4; exit}' | cut -d/ -f1)
	[ -z "$first4" ] || assert_equal "$(openssl x509 -in "$D/server.pem" -noout -subject)" \
		"subject=O = Flower FL, CN = $first4"
}

@test "superlink: --ip wins over FLKIT_NET_ADDRS; a bad address is a usage error" {
	run_cg FL_TLS_ENABLED=YES superlink --ip 198.51.100.7 --ip 2001:db8::7
	assert_success
	assert_equal "$(ext_value subjectAltName "$D/server.pem")" \
		"DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, IP Address:198.51.100.7, IP Address:2001:DB8:0:0:0:0:0:7"
	run_cg FL_TLS_ENABLED=YES superlink --ip 300.1.1.1
	assert_failure 2
	NET=not-an-ip
	run_cg FL_TLS_ENABLED=YES superlink
	assert_failure 2
	logged ERROR "FLKIT_NET_ADDRS: 'not-an-ip' is not an IPv4 or IPv6 address"
}

@test "superlink: a failed commit rolls back: the previous set stays byte for byte" {
	new_set
	rm "$D/server.pem"
	mkdir "$D/server.pem"
	touch "$D/server.pem/x"
	before=$(snapshot "$D" "$K")
	run_cg FL_TLS_ENABLED=YES superlink --force
	assert_failure 1
	assert_output ''
	logged_has ERROR "cannot keep the previous $D/server.pem while replacing it"
	assert_equal "$(snapshot "$D" "$K")" "$before"
	assert_equal "$(names "$D")" "ca.crt server.key server.pem "
	assert_equal "$(names "$K")" ".fl-certgen.lock ca.key "
}

# mount_or_skip ARGS...: mount, remembered for teardown; skip when mounting is not allowed.
mount_or_skip() {
	mount "$@" 2>/dev/null || skip "cannot mount here (needs CAP_SYS_ADMIN)"
	echo "${*: -1}" >>"$T/mounts"
}

@test "superlink: a read-only directory fails before any file changes" {
	new_set
	before=$(snapshot "$D" "$K")
	mount_or_skip --bind "$D" "$D"
	mount -o remount,ro,bind "$D"
	run_cg FL_TLS_ENABLED=YES superlink --force
	assert_failure 1
	assert_output ''
	logged_has ERROR 'Read-only file system'
	umount "$D"
	assert_equal "$(snapshot "$D" "$K")" "$before"
	assert_equal "$(names "$D")" "ca.crt server.key server.pem "
}

@test "superlink: a full disk fails while staging; the previous set stays, nothing half-written" {
	mkdir -p "$T/small"
	mount_or_skip -t tmpfs -o size=256k tmpfs "$T/small"
	D=$T/small/certs K=$T/small/ca
	new_set -k rsa:2048
	before=$(snapshot "$D" "$K")
	dd if=/dev/zero of="$T/small/fill" bs=4k 2>/dev/null || true
	run_cg FL_TLS_ENABLED=YES superlink --force -k rsa:2048
	assert_failure 1
	logged_has ERROR 'No space left on device'
	rm -f "$T/small/fill"
	assert_equal "$(snapshot "$D" "$K")" "$before"
	assert_equal "$(names "$D")" "ca.crt server.key server.pem "
	assert_equal "$(names "$K")" ".fl-certgen.lock ca.key "
	run_cg FL_TLS_ENABLED=YES superlink
	assert_success
	logged_has INFO 'TLS certificates kept'
}

# cg_fsize KIB ARGS...: cg with files limited to KIB KiB and no core file: the first write past
# the limit kills fl-certgen with SIGXFSZ inside that write.
cg_fsize() {
	local kib=$1
	shift
	(
		ulimit -c 0 && ulimit -f "$kib" && cg "$@"
	)
}

@test "superlink: killed during generation, the previous set is intact and the next run keeps it" {
	new_set
	before=$(snapshot "$D" "$K")
	# RSA-4096 keys take 3 KiB, more than the 1 KiB allowed: the run dies writing its first key,
	# after its temporary file got 1 KiB and before any rename.
	run --separate-stderr cg_fsize 1 FL_TLS_ENABLED=YES superlink --force -k rsa:4096
	assert_equal "$status" $((128 + $(kill -l XFSZ)))
	run -0 find "$D" "$K" -type f -name '.*.??????' -size 1024c
	assert_equal "${#lines[@]}" 1
	# Only that temporary file is new; everything else is as it was.
	assert_equal "$(snapshot "$D" "$K" | grep -vF "${lines[0]} ")" "$before"
	run_cg FL_TLS_ENABLED=YES superlink
	assert_success
	logged_has INFO 'TLS certificates kept'
	assert_equal "$(snapshot "$D" "$K")" "$before"
	assert_equal "$(names "$D")" "ca.crt server.key server.pem "
}

@test "superlink: two runs at once serialise on the lock and agree on one CA" {
	cg FL_TLS_ENABLED=YES superlink >"$T/a.out" 2>/dev/null &
	a=$!
	cg FL_TLS_ENABLED=YES superlink >"$T/b.out" 2>/dev/null &
	b=$!
	wait "$a"
	wait "$b"
	assert_equal "$(sed -n 's/^FL_CA_FINGERPRINT=//p' "$T/a.out")" "$(sed -n 's/^FL_CA_FINGERPRINT=//p' "$T/b.out")"
	openssl verify -purpose sslserver -CAfile "$D/ca.crt" "$D/server.pem"
}

# ---------------------------------------------------------------------------------------------
# Handshakes
# ---------------------------------------------------------------------------------------------

# handshake VERSION ARGS...: s_client against the running s_server on $port.
handshake() {
	local v=$1
	shift
	openssl s_client -connect "127.0.0.1:$port" "$v" -CAfile "$D/ca.crt" -verify_return_error "$@" </dev/null 2>&1
}

serve() {
	port=$(free_port)
	setsid openssl s_server -quiet -accept "127.0.0.1:$port" -cert "$D/server.pem" -key "$D/server.key" \
		</dev/null >/dev/null 2>&1 &
	PIDS+=($!)
	wait_port "$port"
}

@test "handshake: TLS 1.3 and 1.2 against s_server verify with the CA, by IP and by name" {
	for kt in p256 rsa:2048; do
		rm -rf "$D" "$K"
		new_set -k "$kt"
		serve
		for v in -tls1_3 -tls1_2; do
			run handshake "$v" -verify_ip 127.0.0.1
			assert_success
			assert_output --partial 'Verify return code: 0 (ok)'
			assert_output --partial "New, TLSv1.${v#-tls1_}"
			run handshake "$v" -verify_hostname localhost
			assert_success
		done
		kill -- "-${PIDS[-1]}"
	done
}

@test "handshake: an address or name outside the SAN, or another CA, is refused" {
	new_set
	serve
	run handshake -tls1_3 -verify_ip 192.0.2.99
	assert_failure
	assert_output --partial 'IP address mismatch'
	run handshake -tls1_3 -verify_hostname flower.example.com
	assert_failure
	run openssl s_client -connect "127.0.0.1:$port" -CAfile "$FIX/other-ca.crt" -verify_return_error </dev/null
	assert_failure
}

@test "handshake: a real Flower SuperLink serves the generated set and a SuperNode connects with the CA" {
	bin=$SRC/.venv/bin
	[ -x "$bin/flower-superlink" ] && [ -x "$bin/flower-supernode" ] || skip "Flower is not installed in .venv"
	new_set
	sl_port=$(free_port)
	sn_port=$(free_port)
	export FLWR_TELEMETRY_ENABLED=0 FLWR_DISABLE_UPDATE_CHECK=1 PATH="$bin:$PATH"
	if "$bin/flower-superlink" --help 2>/dev/null | grep -q -- '--port PORT'; then
		sl_args=(--host 127.0.0.1 --port "$sl_port")
		sn_args=(--host 127.0.0.1 --port "$sn_port")
	else
		sl_args=(--fleet-api-address "127.0.0.1:$sl_port" --control-api-address "127.0.0.1:$(free_port)"
			--serverappio-api-address "127.0.0.1:$(free_port)")
		sn_args=(--clientappio-api-address "127.0.0.1:$sn_port")
	fi
	FLWR_HOME=$T/sl setsid "$bin/flower-superlink" --ssl-ca-certfile "$D/ca.crt" --ssl-certfile "$D/server.pem" \
		--ssl-keyfile "$D/server.key" "${sl_args[@]}" >"$T/sl.log" 2>&1 &
	PIDS+=($!)
	# A port that accepts is not yet one that speaks TLS (one run read plaintext there): wait for
	# a certificate before asserting on the handshake.
	wait_tls "$sl_port" || { cat "$T/sl.log"; false; }
	port=$sl_port
	run handshake -tls1_3 -verify_ip 127.0.0.1
	assert_success
	assert_output --partial 'Verify return code: 0 (ok)'
	FLWR_HOME=$T/sn setsid "$bin/flower-supernode" --root-certificates "$D/ca.crt" --superlink "127.0.0.1:$sl_port" \
		"${sn_args[@]}" >"$T/sn.log" 2>&1 &
	PIDS+=($!)
	for _ in $(seq 300); do
		grep -aq 'SuperNode ID:\|Activated node' "$T/sn.log" "$T/sl.log" && break
		sleep 0.1
	done
	grep -aq 'SuperNode ID:\|Activated node' "$T/sn.log" "$T/sl.log" || { tail -n 20 "$T/sn.log" "$T/sl.log"; false; }
	if grep -aqi 'certificate verify failed\|handshake failed' "$T/sn.log"; then
		false
	fi
}

# ---------------------------------------------------------------------------------------------
# SuperLink: operator-provided certificates
# ---------------------------------------------------------------------------------------------

op() { # op SET [EXTRA NAME=value...]: run superlink with FIX/SET-ca, SET-srv material
	local set=$1
	shift
	run_cg FL_TLS_ENABLED=YES "FL_SSL_CA_CERTFILE=$(b64 "$FIX/${set}-ca.crt")" \
		"FL_SSL_CERTFILE=$(b64 "$FIX/${set}-srv.crt")" "FL_SSL_KEYFILE=$(b64 "$FIX/${set}-srv.key")" "$@" superlink
}

@test "operator: an EC set is checked and installed with the container's owner and modes" {
	NET=10.10.9.10
	op ec FL_CERT_EXTRA_SAN=DNS:ignored.example
	assert_success
	logged INFO 'FL_CERT_EXTRA_SAN ignored -- using operator-provided certificates.'
	logged INFO 'CA certificate decoded from FL_SSL_CA_CERTFILE'
	logged INFO 'Operator-provided certificates decoded and validated'
	assert_equal "$(messages WARN)" ''
	assert_equal "$(owner_mode "$D/ca.crt")" "49999:49999 644"
	assert_equal "$(owner_mode "$D/server.pem")" "49999:49999 644"
	assert_equal "$(owner_mode "$D/server.key")" "49999:49999 600"
	[ ! -e "$K/ca.key" ] && [ ! -e "$D/ca.key" ]
	openssl verify -purpose sslserver -CAfile "$D/ca.crt" "$D/server.pem"
	assert_equal "$(openssl x509 -in "$D/ca.crt" -outform der | sha256sum)" \
		"$(openssl x509 -in "$FIX/ec-ca.crt" -outform der | sha256sum)"
	assert_equal "$(out_value FL_CA_CERT)" "$(b64 "$D/ca.crt")"
	assert_equal "$(out_value FL_CA_FINGERPRINT)" "$(fp "$FIX/ec-ca.crt")"
	assert_equal "$(openssl pkey -in "$D/server.key" -pubout)" "$(openssl pkey -in "$FIX/ec-srv.key" -pubout)"
}

@test "operator: an RSA set is accepted; a SAN without the VM address is only a warning" {
	op rsa
	assert_success
	logged WARN "Server certificate SAN (DNS:flower.example.com, IP:10.10.9.10) does not cover the VM address IP:$VM_IP; SuperNodes must connect with a name or address the SAN lists"
	openssl verify -purpose sslserver -CAfile "$D/ca.crt" "$D/server.pem"
}

@test "operator: a second run with the same values rewrites nothing" {
	op ec
	assert_success
	before=$(snapshot "$D")
	op ec
	assert_success
	logged_has INFO 'Operator-provided certificates already installed'
	assert_equal "$(snapshot "$D")" "$before"
}

@test "operator: a chain through an intermediate CA verifies and is installed whole" {
	run_cg FL_TLS_ENABLED=YES "FL_SSL_CA_CERTFILE=$(b64 "$FIX/root-ca.crt")" \
		"FL_SSL_CERTFILE=$(b64 "$FIX/inter-fullchain.crt")" "FL_SSL_KEYFILE=$(b64 "$FIX/inter-srv.key")" superlink
	assert_success
	assert_equal "$(grep -c 'BEGIN CERTIFICATE' "$D/server.pem")" 2
	openssl verify -purpose sslserver -CAfile "$D/ca.crt" -untrusted "$D/server.pem" "$D/server.pem"
}

@test "operator: all-or-none, with the spec's messages" {
	run_cg FL_TLS_ENABLED=YES "FL_SSL_CA_CERTFILE=$(b64 "$FIX/ec-ca.crt")" superlink
	assert_failure 1
	logged ERROR 'FL_SSL_CERTFILE is required when FL_SSL_CA_CERTFILE is provided.'
	logged ERROR 'FL_SSL_KEYFILE is required when FL_SSL_CA_CERTFILE is provided.'
	run_cg FL_TLS_ENABLED=YES "FL_SSL_CERTFILE=$(b64 "$FIX/ec-srv.crt")" superlink
	assert_failure 1
	logged ERROR 'FL_SSL_CA_CERTFILE is required when FL_SSL_CERTFILE or FL_SSL_KEYFILE is provided.'
	[ ! -e "$D" ]
}

# operator_fails MESSAGE CA CERT KEY: exit 1 with MESSAGE in an ERROR line, the previous
# (generated) set untouched, no key material in any output.
operator_fails() {
	local want=$1
	run_cg FL_TLS_ENABLED=YES "FL_SSL_CA_CERTFILE=$2" "FL_SSL_CERTFILE=$3" "FL_SSL_KEYFILE=$4" superlink
	assert_failure 1
	assert_output ''
	logged_has ERROR "$want"
	assert_equal "$(snapshot "$D" "$K")" "$before"
	local body
	body=$(sed -n 2p "$FIX/ec-srv.key")
	[[ $stderr != *"$body"* ]]
	[ "${#4}" -lt 50 ] || [[ $stderr != *"${4:10:40}"* ]]
}

@test "operator: malformed base64, raw PEM, not PEM, DER, truncated and oversized values are refused" {
	new_set
	before=$(snapshot "$D" "$K")
	ca=$(b64 "$FIX/ec-ca.crt") crt=$(b64 "$FIX/ec-srv.crt") key=$(b64 "$FIX/ec-srv.key")
	operator_fails "FL_SSL_CA_CERTFILE does not contain a valid base64-encoded PEM certificate: byte 1 ('!') is not in the base64 alphabet" \
		'!!notbase64' "$crt" "$key"
	operator_fails "FL_SSL_CA_CERTFILE does not contain a valid PEM certificate: certificate #1 is truncated or corrupt" \
		"${ca:0:200}" "$crt" "$key"
	operator_fails "not a multiple of 4: the value is truncated or lacks its '=' padding" "${ca%?}" "$crt" "$key"
	operator_fails "FL_SSL_CA_CERTFILE does not contain a valid base64-encoded PEM certificate: it holds raw PEM text" \
		"$(cat "$FIX/ec-ca.crt")" "$crt" "$key"
	operator_fails "FL_SSL_CERTFILE does not contain a valid PEM certificate: it is text without a PEM block" \
		"$ca" "$(printf 'hello\n' | base64 -w0)" "$key"
	operator_fails "FL_SSL_CA_CERTFILE does not contain a valid PEM certificate: it is binary data" \
		"$(b64 "$FIX/ec-ca.der")" "$crt" "$key"
	operator_fails "FL_SSL_CERTFILE does not contain a valid PEM certificate: certificate #1 is truncated or corrupt" \
		"$ca" "$(head -c 300 "$FIX/ec-srv.crt" | base64 -w0)" "$key"
	operator_fails "FL_SSL_KEYFILE does not contain a valid PEM private key: the key block is truncated or corrupt" \
		"$ca" "$crt" "$(head -c 150 "$FIX/ec-srv.key" | base64 -w0)"
	operator_fails "FL_SSL_KEYFILE is empty" "$ca" "$crt" "   "
	operator_fails "FL_SSL_KEYFILE does not contain a valid base64-encoded PEM private key: byte 5 is not in the base64 alphabet" \
		"$ca" "$crt" "${key:0:4}%${key:5}"
}

@test "operator: an oversized value (only a context file can carry one) is refused" {
	{
		echo "FL_TLS_ENABLED='YES'"
		printf "FL_SSL_CA_CERTFILE='"
		head -c 150000 /dev/zero | base64 -w0
		echo "'"
		echo "FL_SSL_CERTFILE='$(b64 "$FIX/ec-srv.crt")'"
		echo "FL_SSL_KEYFILE='$(b64 "$FIX/ec-srv.key")'"
	} >"$T/context.sh"
	run --separate-stderr env -i PATH="$PATH" FLKIT_NET_ADDRS=$VM_IP "$FLKIT_BIN/fl-certgen" -c "$T/context.sh" \
		--dir "$D" --ca-key-dir "$K" superlink
	assert_failure 1
	logged ERROR "FL_SSL_CA_CERTFILE does not contain a valid base64-encoded PEM certificate: it is 200000 bytes, more than the 131072 a PEM certificate needs; check that it holds base64 -w0 of the PEM file"
	[ ! -e "$D" ]
}

@test "operator: hostile content: a key in a certificate variable, a certificate as key, encrypted keys" {
	new_set
	before=$(snapshot "$D" "$K")
	ca=$(b64 "$FIX/ec-ca.crt") crt=$(b64 "$FIX/ec-srv.crt") key=$(b64 "$FIX/ec-srv.key")
	operator_fails "FL_SSL_CERTFILE holds a private key; it must hold certificates only" \
		"$ca" "$(cat "$FIX/ec-srv.crt" "$FIX/ec-srv.key" | base64 -w0)" "$key"
	operator_fails "FL_SSL_KEYFILE does not contain a valid PEM private key: it holds a certificate, not a private key" \
		"$ca" "$crt" "$crt"
	operator_fails "FL_SSL_KEYFILE does not contain a valid PEM private key: the key is encrypted" \
		"$ca" "$crt" "$(b64 "$FIX/ec-srv.enc.key")"
	operator_fails "FL_SSL_KEYFILE does not contain a valid PEM private key: it holds 2 private keys" \
		"$ca" "$crt" "$(cat "$FIX/ec-srv.key" "$FIX/rsa-srv.key" | base64 -w0)"
	operator_fails "FL_SSL_CA_CERTFILE does not contain a valid CA certificate: certificate #1 (O = Operator, CN = flower.example.com) has no basicConstraints CA:TRUE" \
		"$crt" "$crt" "$key"
	operator_fails "FL_SSL_KEYFILE holds an RSA 1024 key; RSA keys need 2048 bits or more" \
		"$(b64 "$FIX/rsa-ca.crt")" "$(b64 "$FIX/weak-srv.crt")" "$(b64 "$FIX/weak-srv.key")"
}

@test "operator: key/cert mismatch, wrong CA, wrong purpose are refused with the spec's messages" {
	new_set
	before=$(snapshot "$D" "$K")
	ca=$(b64 "$FIX/ec-ca.crt") crt=$(b64 "$FIX/ec-srv.crt") key=$(b64 "$FIX/ec-srv.key")
	operator_fails "FL_SSL_KEYFILE does not match FL_SSL_CERTFILE: the private key belongs to another certificate" \
		"$ca" "$crt" "$(b64 "$FIX/rsa-srv.key")"
	operator_fails "Server certificate is not signed by the provided CA certificate (unable to get local issuer certificate)" \
		"$ca" "$(b64 "$FIX/other-srv.crt")" "$key"
	operator_fails "Server certificate is not signed by the provided CA certificate" \
		"$(b64 "$FIX/inter-ca.crt")" "$(b64 "$FIX/inter-srv.crt")" "$(b64 "$FIX/inter-srv.key")"
	operator_fails "FL_SSL_CERTFILE is not a TLS server certificate (unsuitable certificate purpose)" \
		"$ca" "$(b64 "$FIX/client-srv.crt")" "$(b64 "$FIX/client-srv.key")"
}

@test "operator: expired and not-yet-valid certificates are refused; near expiry warns" {
	CG=$FLKIT_TEST_BIN
	new_set
	before=$(snapshot "$D" "$K")
	ca=$(b64 "$FIX/ec-ca.crt") crt=$(b64 "$FIX/ec-srv.crt") key=$(b64 "$FIX/ec-srv.key")
	now=$(date +%s)
	run_cg FL_TLS_ENABLED=YES FLKIT_NOW=$((now + 100 * 86400)) "FL_SSL_CA_CERTFILE=$ca" "FL_SSL_CERTFILE=$crt" \
		"FL_SSL_KEYFILE=$key" superlink
	assert_failure 1
	logged_has ERROR "FL_SSL_CERTFILE has expired (on "
	run_cg FL_TLS_ENABLED=YES FLKIT_NOW=$((now + 4000 * 86400)) "FL_SSL_CA_CERTFILE=$ca" "FL_SSL_CERTFILE=$crt" \
		"FL_SSL_KEYFILE=$key" superlink
	assert_failure 1
	logged_has ERROR "FL_SSL_CA_CERTFILE has expired (on "
	run_cg FL_TLS_ENABLED=YES FLKIT_NOW=$((now - 86400)) "FL_SSL_CA_CERTFILE=$ca" "FL_SSL_CERTFILE=$crt" \
		"FL_SSL_KEYFILE=$key" superlink
	assert_failure 1
	logged_has ERROR "is not valid yet (valid from "
	assert_equal "$(snapshot "$D" "$K")" "$before"
	NET=10.10.9.10
	op ec FLKIT_NOW=$((now + 70 * 86400))
	assert_success
	logged_has WARN 'FL_SSL_CERTFILE expires in 19 days; renew it and update FL_SSL_CERTFILE'
}

@test "operator: from a context file, the key never reaches a log line" {
	key=$(b64 "$FIX/ec-srv.key")
	printf "%s\n" "FL_TLS_ENABLED='YES'" "FL_SSL_CA_CERTFILE='$(b64 "$FIX/ec-ca.crt")'" \
		"FL_SSL_CERTFILE='$(b64 "$FIX/ec-srv.crt")'" "FL_SSL_KEYFILE='$key'" >"$T/context.sh"
	run --separate-stderr env -i PATH="$PATH" FLKIT_NET_ADDRS=10.10.9.10 "$FLKIT_BIN/fl-certgen" -v \
		-c "$T/context.sh" --dir "$D" --ca-key-dir "$K" superlink
	assert_success
	[[ $stderr != *"${key:20:40}"* && $output != *"${key:20:40}"* ]]
	[[ $stderr != *PRIVATE* && $output != *PRIVATE* ]]
}

@test "operator: a context file with FL_SSL_KEYFILE that others can read is warned about" {
	printf "%s\n" "FL_TLS_ENABLED='YES'" "FL_SSL_CA_CERTFILE='$(b64 "$FIX/ec-ca.crt")'" \
		"FL_SSL_CERTFILE='$(b64 "$FIX/ec-srv.crt")'" "FL_SSL_KEYFILE='$(b64 "$FIX/ec-srv.key")'" >"$T/context.sh"
	chmod 0644 "$T/context.sh"
	run --separate-stderr env -i PATH="$PATH" FLKIT_NET_ADDRS=10.10.9.10 "$FLKIT_BIN/fl-certgen" \
		-c "$T/context.sh" --dir "$D" --ca-key-dir "$K" superlink
	assert_success
	logged WARN "$T/context.sh has mode 0644 (owner UID 0): every user can read it, and it holds FL_SSL_KEYFILE: the server key may be known to someone else; make the file 0600 and owned by root (fl-context render writes it so), and replace the key if others could have read it"
	chmod 0600 "$T/context.sh"
	run --separate-stderr env -i PATH="$PATH" FLKIT_NET_ADDRS=10.10.9.10 "$FLKIT_BIN/fl-certgen" \
		-c "$T/context.sh" --dir "$D" --ca-key-dir "$K" superlink
	assert_success
	[[ $stderr != *"holds FL_SSL_KEYFILE"* ]]
}

# ---------------------------------------------------------------------------------------------
# SuperNode
# ---------------------------------------------------------------------------------------------

sn() { # sn [NAME=value]... ARGS: the supernode verb
	run_cg "$@" supernode
}

@test "supernode: YES + CONTEXT CA: TLS, CONTEXT wins over OneGate's CA (mismatch warned)" {
	sn FL_TLS_ENABLED=YES "FL_SSL_CA_CERTFILE=$(b64 "$FIX/ec-ca.crt")" --onegate-tls YES \
		--onegate-ca-cert "$(b64 "$FIX/other-ca.crt")"
	assert_success
	logged INFO 'TLS explicitly enabled via FL_TLS_ENABLED=YES'
	logged INFO 'CA certificate decoded from FL_SSL_CA_CERTFILE (CONTEXT wins: the FL_CA_CERT published in OneGate is ignored)'
	logged_has WARN "The CONTEXT CA (SHA-256 $(fp "$FIX/ec-ca.crt")) differs from the CA the SuperLink publishes ($(fp "$FIX/other-ca.crt"))"
	logged INFO 'CA certificate validated: O = Operator, CN = Operator EC CA'
	assert_line 'FL_TLS=YES'
	assert_line "FL_CA_PATH='$D/ca.crt'"
	assert_line 'FL_CA_SOURCE=context'
	assert_line "FL_CA_FINGERPRINT=$(fp "$FIX/ec-ca.crt")"
	assert_equal "$(openssl x509 -in "$D/ca.crt" -outform der | sha256sum)" \
		"$(openssl x509 -in "$FIX/ec-ca.crt" -outform der | sha256sum)"
	assert_equal "$(owner_mode "$D/ca.crt")" "49999:49999 644"
	assert_equal "$(owner_mode "$D")" "49999:49999 700"
}

@test "supernode: YES + OneGate CA: TLS from OneGate" {
	sn FL_TLS_ENABLED=yes --onegate-tls YES --onegate-ca-cert "$(b64 "$FIX/ec-ca.crt")"
	assert_success
	assert_line 'FL_CA_SOURCE=onegate'
	logged_has INFO 'CA certificate retrieved from OneGate (FL_CA_CERT, '
	cmp <(openssl x509 -in "$D/ca.crt") <(openssl x509 -in "$FIX/ec-ca.crt")
}

@test "supernode: YES without any CA fails closed with the spec's lines" {
	sn FL_TLS_ENABLED=YES --onegate-tls YES
	assert_failure 1
	assert_output ''
	logged ERROR 'SuperLink has FL_TLS=YES but FL_CA_CERT not published'
	logged ERROR 'SuperLink may still be publishing or publication failed'
	logged_has ERROR 'No CA certificate for TLS; refusing to fall back to insecure mode. Workaround: set FL_SSL_CA_CERTFILE'
	[ ! -e "$D/ca.crt" ]
	sn FL_TLS_ENABLED=YES
	assert_failure 1
	logged ERROR 'FL_TLS_ENABLED=YES but FL_SSL_CA_CERTFILE not provided'
	sn FL_TLS_ENABLED=YES --onegate-tls NO
	assert_failure 1
	logged WARN 'FL_TLS_ENABLED=YES but SuperLink advertises FL_TLS=NO via OneGate. Connection will fail unless the SuperLink serves TLS.'
	logged ERROR 'FL_TLS_ENABLED=YES but FL_SSL_CA_CERTFILE not provided and the SuperLink publishes no FL_CA_CERT (FL_TLS=NO)'
}

@test "supernode: NO while the SuperLink advertises TLS: insecure with the three WARN lines" {
	sn FL_TLS_ENABLED=NO --onegate-tls YES --onegate-ca-cert "$(b64 "$FIX/ec-ca.crt")"
	assert_success
	assert_output 'FL_TLS=NO'
	logged INFO 'TLS explicitly disabled via FL_TLS_ENABLED=NO'
	assert_equal "$(messages WARN)" "FL_TLS_ENABLED=NO but SuperLink advertises FL_TLS=YES via OneGate.
This SuperNode will connect in insecure mode. Connection will fail if SuperLink requires TLS.
Remove FL_TLS_ENABLED=NO or set FL_TLS_ENABLED=YES to match SuperLink TLS mode."
	logged INFO 'TLS not enabled. Using --insecure mode (Phase 1 behavior).'
	[ ! -e "$D" ]
}

@test "supernode: unset + OneGate FL_TLS=YES with a CA: auto-detected TLS" {
	sn --onegate-tls yes --onegate-ca-cert "$(b64 "$FIX/rsa-ca.crt")"
	assert_success
	logged INFO 'TLS auto-detected from OneGate (FL_TLS=YES on SuperLink)'
	assert_line 'FL_TLS=YES'
	assert_line 'FL_CA_SOURCE=onegate'
}

@test "supernode: unset + OneGate FL_TLS=YES without a CA fails closed" {
	sn --onegate-tls YES --onegate-ca-cert ''
	assert_failure 1
	logged ERROR 'SuperLink has FL_TLS=YES but FL_CA_CERT not published'
	refute_output --partial 'FL_TLS'
}

@test "supernode: unset + OneGate FL_TLS=NO or absent: insecure, the spec's lines" {
	sn --onegate-tls NO
	assert_success
	assert_output 'FL_TLS=NO'
	logged INFO 'SuperLink not advertising TLS (FL_TLS=NO). Using insecure mode.'
	logged INFO 'TLS not enabled. Using --insecure mode (Phase 1 behavior).'
	printf 'FL_ENDPOINT=192.0.2.10:9092\n' >"$T/og"
	sn --onegate-file "$T/og"
	assert_success
	logged INFO 'SuperLink not advertising TLS (FL_TLS=not set). Using insecure mode.'
}

@test "supernode: unset and no OneGate: insecure" {
	sn "FL_SSL_CA_CERTFILE=$(b64 "$FIX/ec-ca.crt")"
	assert_success
	assert_output 'FL_TLS=NO'
	logged INFO 'TLS not enabled. Using --insecure mode (Phase 1 behavior).'
	logged INFO 'FL_SSL_CA_CERTFILE ignored -- TLS is not enabled (FL_TLS_ENABLED=YES forces it)'
	[ ! -e "$D" ]
}

@test "supernode: static FL_SUPERLINK_ADDRESS: YES needs the CONTEXT CA, OneGate is not used" {
	sn FL_TLS_ENABLED=YES FL_SUPERLINK_ADDRESS=192.0.2.10:9092 --onegate-tls YES \
		--onegate-ca-cert "$(b64 "$FIX/ec-ca.crt")"
	assert_failure 1
	logged ERROR 'FL_TLS_ENABLED=YES but FL_SSL_CA_CERTFILE not provided'
	logged ERROR 'Static TLS mode requires FL_SSL_CA_CERTFILE (base64-encoded PEM CA cert)'
	logged ERROR 'Static TLS mode requires FL_SSL_CA_CERTFILE. No OneGate available for auto-retrieval.'
	sn FL_TLS_ENABLED=YES FL_SUPERLINK_ADDRESS=192.0.2.10:9092 "FL_SSL_CA_CERTFILE=$(b64 "$FIX/rsa-ca.crt")"
	assert_success
	assert_line 'FL_CA_SOURCE=context'
	sn FL_SUPERLINK_ADDRESS=192.0.2.10:9092 --onegate-tls YES --onegate-ca-cert "$(b64 "$FIX/ec-ca.crt")"
	assert_success
	assert_output 'FL_TLS=NO'
}

@test "supernode: reads fl-onegate's FL_SUPERLINK_ADDRESS/FL_TLS/FL_CA_CERT lines from a file or stdin" {
	printf 'FL_SUPERLINK_ADDRESS=192.0.2.10:9092\nFL_TLS=YES\nFL_CA_CERT=%s\nFL_VERSION=1.25.0\n' \
		"$(b64 "$FIX/ec-ca.crt")" >"$T/og"
	sn --onegate-file "$T/og"
	assert_success
	assert_line 'FL_CA_SOURCE=onegate'
	rm -rf "$D"
	run --separate-stderr bash -c 'cat "$1" | "${@:2}"' _ "$T/og" env -i PATH="$PATH" "$FLKIT_BIN/fl-certgen" -E \
		--dir "$D" supernode --onegate-file - --format json
	assert_success
	assert_equal "$(jq -r .FL_CA_SOURCE <<<"$output")" onegate
	assert_equal "$(jq -r .FL_CA_PATH <<<"$output")" "$D/ca.crt"
}

@test "supernode: hostile OneGate data is refused: NUL, duplicates, non-attribute lines, oversize" {
	printf 'FL_TLS=YES\0\n' >"$T/og1"
	printf 'FL_TLS=YES\nFL_TLS=NO\n' >"$T/og2"
	printf 'FL_TLS=YES\n<html>oops</html>\n' >"$T/og3"
	{
		printf 'FL_CA_CERT='
		head -c 1100000 /dev/zero | tr '\0' A
	} >"$T/og4"
	for f in og1:'contains a NUL byte' og2:'gives FL_TLS twice (line 2)' og3:'line 2 is not ATTRIBUTE=VALUE' \
		og4:'is more than 1048576 bytes; refusing it'; do
		sn FL_TLS_ENABLED=YES --onegate-file "$T/${f%%:*}"
		assert_failure 1
		logged_has ERROR "${f#*:}"
		[ ! -e "$D" ]
	done
	sn --onegate-file "$T/og1" --onegate-tls YES
	assert_failure 2
}

@test "supernode: a bad CA value fails Step 7b with the spec's lines; the installed CA stays" {
	sn FL_TLS_ENABLED=YES "FL_SSL_CA_CERTFILE=$(b64 "$FIX/ec-ca.crt")"
	assert_success
	before=$(snapshot "$D")
	for v in '%%%' "$(cat "$FIX/rsa-ca.crt")" "$(printf 'hello' | base64 -w0)" "$(head -c 200 "$FIX/rsa-ca.crt" | base64 -w0)"; do
		sn --onegate-tls YES --onegate-ca-cert "$v"
		assert_failure 1
		logged ERROR 'CA certificate from OneGate FL_CA_CERT is not valid PEM format'
		logged ERROR 'Check FL_SSL_CA_CERTFILE encoding or SuperLink FL_CA_CERT publication'
		logged ERROR 'Expected: base64-encoded PEM certificate (-----BEGIN CERTIFICATE-----)'
		logged_has ERROR 'OneGate FL_CA_CERT does not contain a valid '
		assert_equal "$(snapshot "$D")" "$before"
	done
}

@test "supernode: a server certificate or a key is not accepted as the CA" {
	sn FL_TLS_ENABLED=YES "FL_SSL_CA_CERTFILE=$(b64 "$FIX/ec-srv.crt")"
	assert_failure 1
	logged ERROR 'FL_SSL_CA_CERTFILE is not a CA certificate: O = Operator, CN = flower.example.com has no basicConstraints CA:TRUE. Trust the CA (ca.crt), not the server certificate (server.pem)'
	sn FL_TLS_ENABLED=YES "FL_SSL_CA_CERTFILE=$(b64 "$FIX/ec-srv.key")"
	assert_failure 1
	logged_has ERROR 'FL_SSL_CA_CERTFILE holds a private key'
	[[ $stderr != *"$(sed -n 2p "$FIX/ec-srv.key")"* ]]
	[ ! -e "$D/ca.crt" ]
}

@test "supernode: FL_CA_FINGERPRINT pins the CA, with or without colons, any case" {
	want=$(fp "$FIX/ec-ca.crt")
	for pin in "$want" "$(tr -d : <<<"$want" | tr 'A-F' 'a-f')"; do
		rm -rf "$D"
		sn "FL_CA_FINGERPRINT=$pin" --onegate-tls YES --onegate-ca-cert "$(b64 "$FIX/ec-ca.crt")"
		assert_success
		logged INFO 'CA certificate matches the pinned FL_CA_FINGERPRINT'
	done
	sn "FL_CA_FINGERPRINT=$want" --onegate-tls YES --onegate-ca-cert "$(b64 "$FIX/other-ca.crt")"
	assert_failure 1
	logged ERROR "CA certificate from OneGate FL_CA_CERT has SHA-256 fingerprint $(fp "$FIX/other-ca.crt"), but FL_CA_FINGERPRINT pins $want; refusing it. If the SuperLink's CA was replaced on purpose, update FL_CA_FINGERPRINT (fl-certgen show on the SuperLink prints it)"
	cmp <(openssl x509 -in "$D/ca.crt") <(openssl x509 -in "$FIX/ec-ca.crt")
	sn "FL_CA_FINGERPRINT=$want" FL_TLS_ENABLED=YES \
		"FL_SSL_CA_CERTFILE=$(cat "$FIX/ec-ca.crt" "$FIX/rsa-ca.crt" | base64 -w0)"
	assert_failure 1
	logged_has ERROR 'FL_CA_FINGERPRINT pins one CA certificate, but FL_SSL_CA_CERTFILE holds 2'
	sn FL_CA_FINGERPRINT=12:34 --onegate-tls YES --onegate-ca-cert "$(b64 "$FIX/ec-ca.crt")"
	assert_failure 1
	logged ERROR "Invalid FL_CA_FINGERPRINT: '12:34'. Expected a SHA-256 fingerprint: 64 hex digits, with or without colons."
}

@test "supernode: the same CA again is kept; the pin the SuperLink prints is accepted" {
	new_set
	pin=$(out_value FL_CA_FINGERPRINT)
	cacert=$(out_value FL_CA_CERT)
	D=$T/sn-certs
	sn "FL_CA_FINGERPRINT=$pin" --onegate-tls YES --onegate-ca-cert "$cacert"
	assert_success
	before=$(snapshot "$D")
	sn "FL_CA_FINGERPRINT=$pin" --onegate-tls YES --onegate-ca-cert "$cacert"
	assert_success
	logged_has INFO 'CA certificate already installed at'
	assert_equal "$(snapshot "$D")" "$before"
	cmp "$D/ca.crt" "$T/certs/ca.crt"
}

@test "supernode: a CA outside its validity is installed, with a warning naming the date" {
	CG=$FLKIT_TEST_BIN
	now=$(date +%s)
	sn FL_TLS_ENABLED=YES "FL_SSL_CA_CERTFILE=$(b64 "$FIX/ec-ca.crt")" FLKIT_NOW=$((now + 4000 * 86400))
	assert_success
	logged WARN "CA certificate expired on $(date -u -d "$(openssl x509 -in "$FIX/ec-ca.crt" -noout -enddate | cut -d= -f2)" +%Y-%m-%dT%H:%M:%SZ): the TLS handshake will fail until the SuperLink's CA is renewed"
	assert_line 'FL_TLS=YES'
	sn FL_TLS_ENABLED=YES "FL_SSL_CA_CERTFILE=$(b64 "$FIX/ec-ca.crt")" FLKIT_NOW=$((now - 2 * 86400))
	assert_success
	logged WARN "CA certificate is valid only from $(date -u -d "$(openssl x509 -in "$FIX/ec-ca.crt" -noout -startdate | cut -d= -f2)" +%Y-%m-%dT%H:%M:%SZ): check the system clock"
	logged INFO 'CA certificate already installed at '"$D/ca.crt (SHA-256 $(fp "$FIX/ec-ca.crt"))"
}

# ---------------------------------------------------------------------------------------------
# show / check
# ---------------------------------------------------------------------------------------------

@test "show: subject, SAN, validity, days left, fingerprint, key type and chain status" {
	new_set
	run_cg show
	assert_success
	assert_line 'ca: '"$D/ca.crt"
	assert_line '  subject:     O = Flower FL, CN = Flower CA'
	assert_line '  san:         DNS:localhost, IP:127.0.0.1, IP:::1, IP:192.0.2.10'
	assert_line "  sha256:      $(fp "$D/ca.crt")"
	assert_line '  key:         EC P-256'
	assert_line --regexp '^  not after:   [0-9T:-]+Z \((364|365) days left\)$'
	assert_line '  serial:      '"$(openssl x509 -in "$D/server.pem" -noout -serial | cut -d= -f2)"
	assert_line 'server key:    match (EC P-256)'
	assert_line 'chain:         ok'
	assert_line 'vm addresses:  covered'
	assert_line 'status:        ok'
}

@test "show: --format json and env carry the same facts" {
	new_set -k rsa:2048
	run_cg show --format json
	assert_success
	assert_equal "$(jq -r .ca.sha256 <<<"$output")" "$(fp "$D/ca.crt")"
	assert_equal "$(jq -r .server.key_type <<<"$output")" "RSA 2048"
	assert_equal "$(jq -r '.server.san | join(",")' <<<"$output")" "DNS:localhost,IP:127.0.0.1,IP:::1,IP:192.0.2.10"
	assert_equal "$(jq -r .chain <<<"$output")" ok
	assert_equal "$(jq -r .server_key <<<"$output")" match
	assert_equal "$(jq -r .status <<<"$output")" ok
	assert_equal "$(jq -r .ca.is_ca <<<"$output")" true
	run_cg show --format env
	assert_success
	eval "$output"
	assert_equal "$CA_FINGERPRINT" "$(fp "$D/ca.crt")"
	assert_equal "$SERVER_SUBJECT" "O = Flower FL, CN = 192.0.2.10"
	assert_equal "$STATUS" ok
	[ "$SERVER_DAYS_LEFT" -ge 364 ]
}

@test "show: a hostile operator subject stays one line in text and valid JSON" {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/h.key" -days 5 \
		-subj "/O=a\"b\\\\c/CN=x'\$(id)\`y" -addext basicConstraints=critical,CA:TRUE -out "$T/h.crt" 2>/dev/null
	run_cg show --file "$T/h.crt" --format json
	assert_success
	jq -e . <<<"$output" >/dev/null
	run_cg show --file "$T/h.crt" --format env
	assert_success
	eval "$output"
	[[ $CERT_SUBJECT == *'$(id)'* ]]
}

@test "show: names with newlines, terminal escapes and a malformed SAN IP are escaped (fixture)" {
	f=$BATS_TEST_DIRNAME/fixtures/certs/hostile-names.crt
	run_cg show --file "$f"
	assert_success
	assert_line '  subject:     O = Hostile\0AOrg, CN = "\1B]0;title\07cn"'
	assert_line "  san:         DNS:evil\\x0aname.example, DNS:\\x1b[31mred\\x1b[0m, DNS:x'\$(id)'y, IP:<malformed>, IP:192.0.2.10"
	[[ $output != *$'\e'* && $output != *$'\a'* ]]
	assert_equal "${#lines[@]}" 10
	run_cg show --file "$f" --format json
	assert_success
	assert_equal "$(jq -r '.certificate.san[3]' <<<"$output")" 'IP:<malformed>'
	run_cg check --file "$f"
	assert_success
}

@test "check: 0 when valid, 4 when a certificate expires within --warn-days, 1 when invalid" {
	new_set
	run_cg check
	assert_success
	logged INFO "certificates in $D are valid for more than 30 days"
	run_cg check --warn-days 400
	assert_failure 4
	logged_has WARN 'the server certificate expires in 36'
	rm -rf "$D" "$K"
	new_set --server-days 20 --renew-days 10
	run_cg check
	assert_failure 4
	run_cg check --warn-days 10
	assert_success
	CG=$FLKIT_TEST_BIN run_cg FLKIT_NOW=$(($(date +%s) + 40 * 86400)) check
	assert_failure 1
	logged_has ERROR 'the server certificate expired on'
	logged_has ERROR 'does not verify against'
}

@test "check: a foreign key, a foreign CA, a missing file or directory is invalid (1)" {
	new_set
	cp "$D/server.key" "$T/key.bak"
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$D/server.key" 2>/dev/null
	run_cg check
	assert_failure 1
	logged ERROR "$D/server.key does not match $D/server.pem"
	cp "$T/key.bak" "$D/server.key"
	cp "$FIX/other-ca.crt" "$D/ca.crt"
	run_cg check --format json
	assert_failure 1
	assert_equal "$(jq -r .chain <<<"$output")" 'unable to get local issuer certificate'
	assert_equal "$(jq -r .status <<<"$output")" invalid
	rm "$D/ca.crt"
	run_cg check
	assert_failure 1
	logged ERROR "$D/ca.crt is missing"
	run_cg --dir "$T/nowhere" check
	assert_failure 1
	logged_has ERROR "holds no ca.crt and no server.pem"
}

@test "check: warns when the server SAN no longer covers the VM address" {
	new_set
	NET=192.0.2.77
	run_cg check
	assert_success
	logged WARN 'the server certificate SAN does not cover IP:192.0.2.77; SuperNodes connecting there fail (fl-certgen superlink reissues it)'
}

@test "check: a SuperNode directory (ca.crt only) and a single --file" {
	sn FL_TLS_ENABLED=YES "FL_SSL_CA_CERTFILE=$(b64 "$FIX/ec-ca.crt")"
	run_cg check
	assert_success
	run_cg check --file "$FIX/ec-srv.crt" --warn-days 100
	assert_failure 4
	run_cg check --file "$FIX/ec-srv.crt" --warn-days 5
	assert_success
	run_cg check --file "$FIX/ec-srv.key"
	assert_failure 1
}

# ---------------------------------------------------------------------------------------------
# Hostile files, owners, locks
# ---------------------------------------------------------------------------------------------

@test "superlink: a CA key another user owns, or others can read, is refused as compromised (exit 1)" {
	new_set
	fp1=$(out_value FL_CA_FINGERPRINT)
	before=$(snapshot "$D" "$K")
	chown 12345 "$K/ca.key"
	run_cg FL_TLS_ENABLED=YES superlink
	assert_failure 1
	assert_output ''
	logged_has ERROR "$K/ca.key is owned by UID 12345 (mode 0600), not by UID 0, so the CA key $K/ca.key may be known to someone else: treated as compromised"
	logged_has ERROR 'Run fl-certgen superlink --force to make a new CA'
	logged_has ERROR 'or pass --accept-ca-key'
	chown 0 "$K/ca.key"
	chmod 0644 "$K/ca.key"
	run_cg FL_TLS_ENABLED=YES superlink
	assert_failure 1
	logged_has ERROR "$K/ca.key has mode 0644 (owner UID 0): every user can read it"
	chmod 0640 "$K/ca.key"
	run_cg FL_TLS_ENABLED=YES superlink
	assert_failure 1
	logged_has ERROR "$K/ca.key has mode 0640 (owner UID 0): its group can read it"
	chmod 0600 "$K/ca.key"
	assert_equal "$(snapshot "$D" "$K")" "$before"
	run_cg FL_TLS_ENABLED=YES --accept-ca-key superlink
	assert_success
	assert_equal "$(out_value FL_CA_FINGERPRINT)" "$fp1"
}

@test "superlink: the spec's ca.key in --dir that the container user owns is refused as compromised, not moved" {
	new_set
	mv "$K/ca.key" "$D/ca.key"
	chown 49999:49999 "$D/ca.key"
	run_cg FL_TLS_ENABLED=YES superlink
	assert_failure 1
	logged_has ERROR "$D/ca.key is owned by UID 49999 (mode 0600), not by UID 0, so the CA key $D/ca.key may be known to someone else: treated as compromised"
	[ -e "$D/ca.key" ] && [ ! -e "$K/ca.key" ]
	run_cg FL_TLS_ENABLED=YES --force superlink
	assert_success
	[ ! -e "$D/ca.key" ]
	assert_equal "$(owner_mode "$K/ca.key")" "0:0 600"
}

@test "superlink: a --ca-key-dir another user owns or others can write is refused; --accept-ca-key keeps, --force replaces" {
	new_set
	fp1=$(out_value FL_CA_FINGERPRINT)
	chown 12345:12345 "$K"
	chmod 0777 "$K"
	before=$(stat -c '%u:%g %a %i' "$K" "$K/ca.key")
	run_cg FL_TLS_ENABLED=YES superlink
	assert_failure 1
	logged_has ERROR "$K is owned by UID 12345 (mode 0777), not by UID 0, so the CA key $K/ca.key may be known to someone else"
	assert_equal "$(stat -c '%u:%g %a %i' "$K" "$K/ca.key")" "$before"
	chown 0:0 "$K"
	run_cg FL_TLS_ENABLED=YES superlink
	assert_failure 1
	logged_has ERROR "$K has mode 0777 (owner UID 0): every user can write to it"
	chmod 0770 "$K"
	run_cg FL_TLS_ENABLED=YES superlink
	assert_failure 1
	logged_has ERROR "$K has mode 0770 (owner UID 0): its group can write to it"
	run_cg FL_TLS_ENABLED=YES --accept-ca-key superlink
	assert_success
	logged_has WARN "$K has mode 0770 (owner UID 0): its group can write to it; keeping the CA key because --accept-ca-key says no one else used it"
	assert_equal "$(out_value FL_CA_FINGERPRINT)" "$fp1"
	assert_equal "$(owner_mode "$K")" "0:0 700"
	chown 12345:12345 "$K"
	chmod 0777 "$K"
	run_cg FL_TLS_ENABLED=YES --force superlink
	assert_success
	[ "$(out_value FL_CA_FINGERPRINT)" != "$fp1" ]
	assert_equal "$(owner_mode "$K")" "0:0 700"
	assert_equal "$(owner_mode "$K/ca.key")" "0:0 600"
}

@test "superlink: a new --ca-key-dir that others can write to is refused before a key is written" {
	mkdir -m 0777 "$K"
	run_cg FL_TLS_ENABLED=YES superlink
	assert_failure 1
	logged_has ERROR "$K has mode 0777 (owner UID 0): every user can write to it: a CA key written there could be read or replaced by someone else"
	[ ! -e "$D" ]
	assert_equal "$(names "$K")" ""
}

@test "superlink: a server key others could read, or in a directory others could write, is replaced under the same CA" {
	new_set
	fp1=$(out_value FL_CA_FINGERPRINT)
	old_key=$(sha256sum <"$D/server.key")
	chmod 0644 "$D/server.key"
	run_cg FL_TLS_ENABLED=YES superlink
	assert_success
	logged_has INFO "because the server key may be known to someone else ($D/server.key has mode 0644 (owner UID 49999): every user can read it)"
	assert_equal "$(out_value FL_CA_FINGERPRINT)" "$fp1"
	[ "$(sha256sum <"$D/server.key")" != "$old_key" ]
	assert_equal "$(owner_mode "$D/server.key")" "49999:49999 600"
	chown 12345 "$D"
	chmod 0777 "$D"
	run_cg FL_TLS_ENABLED=YES superlink
	assert_success
	logged_has INFO "because the server key may be known to someone else ($D is owned by UID 12345 (mode 0777)"
	assert_equal "$(owner_mode "$D")" "49999:49999 700"
	run_cg FL_TLS_ENABLED=YES superlink
	assert_success
	logged_has INFO 'TLS certificates kept'
}

@test "operator: a server key others could read is warned about (replace it), then rewritten 0600" {
	NET=10.10.9.10
	op ec
	assert_success
	chmod 0644 "$D/server.key"
	op ec
	assert_success
	logged_has WARN "$D/server.key has mode 0644 (owner UID 49999): every user can read it, so the operator's server key may be known to someone else"
	assert_equal "$(owner_mode "$D/server.key")" "49999:49999 600"
}

@test "superlink: files with more than one hard link are refused; the other name keeps its owner and mode" {
	new_set
	printf 'root only\n' >"$T/victim"
	chmod 0600 "$T/victim"
	for f in ca.crt server.pem server.key; do
		cp -p "$D/$f" "$T/$f.bak"
		rm "$D/$f"
		ln "$T/victim" "$D/$f"
		run_cg FL_TLS_ENABLED=YES superlink
		assert_failure 1
		logged_has ERROR "$D/$f has 2 hard links: another name of it may be a file elsewhere whose owner and mode would change; refusing to touch it"
		assert_equal "$(owner_mode "$T/victim")" "0:0 600"
		assert_equal "$(cat "$T/victim")" 'root only'
		rm "$D/$f"
		cp -p "$T/$f.bak" "$D/$f"
	done
	ln "$K/ca.key" "$T/ca.key.link"
	run_cg FL_TLS_ENABLED=YES superlink
	assert_failure 1
	logged_has ERROR "$K/ca.key has 2 hard links"
	rm "$T/ca.key.link"
	op_ca=$(b64 "$FIX/ec-ca.crt")
	rm "$D/server.key"
	ln "$T/victim" "$D/server.key"
	NET=10.10.9.10
	op ec
	assert_failure 1
	logged_has ERROR "$D/server.key has 2 hard links"
	assert_equal "$(owner_mode "$T/victim")" "0:0 600"
	rm -rf "$D"
	mkdir -p "$D"
	ln "$T/victim" "$D/ca.crt"
	sn FL_TLS_ENABLED=YES "FL_SSL_CA_CERTFILE=$op_ca"
	assert_failure 1
	logged_has ERROR "$D/ca.crt has 2 hard links"
	assert_equal "$(owner_mode "$T/victim")" "0:0 600"
	assert_equal "$(owner_mode "$D")" "0:0 755"
}

@test "superlink: a held lock is waited for with a log line, at most --lock-timeout, then exit 4" {
	new_set
	before=$(snapshot "$D" "$K")
	setsid flock "$K/.fl-certgen.lock" sleep 120 &
	holder=$!
	PIDS+=("$holder")
	# Until the holder has the lock (30 s at most: a guard against a hang).
	for _ in $(seq 300); do
		flock -n "$K/.fl-certgen.lock" true || break
		sleep 0.1
	done
	run_cg FL_TLS_ENABLED=YES --lock-timeout 1 superlink
	assert_failure 4
	assert_output ''
	logged INFO "waiting up to 1 s for the lock $K/.fl-certgen.lock, held by process $holder (another fl-certgen run, --lock-timeout)"
	logged_has ERROR "the lock $K/.fl-certgen.lock is still held by process $holder after 1 s; let that fl-certgen run finish (or stop it) and run again, or wait longer with --lock-timeout"
	assert_equal "$(snapshot "$D" "$K")" "$before"
	run_cg FL_TLS_ENABLED=YES --lock-timeout 0 superlink
	assert_failure 4
	kill -- "-$holder"
	wait "$holder" 2>/dev/null || true
	run_cg FL_TLS_ENABLED=YES --lock-timeout 0 superlink
	assert_success
}

@test "superlink: text beside the certificate in ca.crt is never published: the file is rewritten, the CA kept" {
	new_set
	fp1=$(out_value FL_CA_FINGERPRINT)
	cp "$D/ca.crt" "$T/ca.clean"
	{
		echo '# note from an operator'
		cat "$T/ca.clean"
		echo 'trailing words'
	} >"$D/ca.crt"
	run_cg FL_TLS_ENABLED=YES superlink
	assert_success
	assert_equal "$(out_value FL_CA_FINGERPRINT)" "$fp1"
	out_value FL_CA_CERT | base64 -d | cmp - "$T/ca.clean"
	cmp "$D/ca.crt" "$T/ca.clean"
	logged WARN "$D/ca.crt held more than the CA certificate (text or blocks beside it); rewritten with the certificate alone, which is what is published"
	assert_equal "$(owner_mode "$D/ca.crt")" "49999:49999 644"
}

@test "superlink: a usage error has no side effects: --ca-key-dir through a symlink into --dir" {
	mkdir -p "$D"
	chmod 0755 "$D"
	ln -s "$D" "$T/link"
	before=$(stat -c '%u:%g %a %i %Y' "$D")
	run_cg FL_TLS_ENABLED=YES --ca-key-dir "$T/link/k" superlink
	assert_failure 2
	logged_has ERROR "the CA key directory $T/link/k is inside $D (resolved: $D/k), which is mounted into the container"
	assert_equal "$(names "$D")" ""
	assert_equal "$(stat -c '%u:%g %a %i %Y' "$D")" "$before"
	run_cg FL_TLS_ENABLED=YES --ca-key-dir "$T/link/a/b/c" superlink
	assert_failure 2
	assert_equal "$(names "$D")" ""
	assert_equal "$(stat -c '%u:%g %a %i %Y' "$D")" "$before"
}

@test "superlink: not root, the files cannot go to the container owner: the message names --owner" {
	open_dir
	mkdir -p "$W/nr"
	chown 1234:1234 "$W/nr"
	D=$W/nr/certs K=$W/nr/ca
	run --separate-stderr setpriv --reuid=1234 --regid=1234 --clear-groups env -i PATH="$PATH" FL_TLS_ENABLED=YES \
		FLKIT_NET_ADDRS=$VM_IP "$FLKIT_BIN/fl-certgen" -E --dir "$D" --ca-key-dir "$K" superlink
	assert_failure 1
	logged_has ERROR 'cannot give the certificate files to the container owner UID 49999: changing an owner needs root. Run as root, or pass --owner 1234:1234 (your own UID:GID)'
	[ ! -e "$D" ] && [ ! -e "$K" ]
	run --separate-stderr setpriv --reuid=1234 --regid=1234 --clear-groups env -i PATH="$PATH" FL_TLS_ENABLED=YES \
		FLKIT_NET_ADDRS=$VM_IP "$FLKIT_BIN/fl-certgen" -E --dir "$D" --ca-key-dir "$K" --owner 1234:1234 superlink
	assert_success
	assert_equal "$(owner_mode "$K/ca.key")" "1234:1234 600"
	run --separate-stderr setpriv --reuid=1234 --regid=1234 --clear-groups env -i PATH="$PATH" FL_TLS_ENABLED=YES \
		"FL_SSL_CA_CERTFILE=$(b64 "$FIX/ec-ca.crt")" "$FLKIT_BIN/fl-certgen" -E --dir "$W/nr/sn" supernode
	assert_failure 1
	logged_has ERROR 'changing an owner needs root. Run as root, or pass --owner 1234:1234'
}

@test "supernode: a FIFO, directory or device as --onegate-file is refused at once (exit 1)" {
	mkfifo "$T/fifo"
	mkdir "$T/dir"
	for f in "$T/fifo" "$T/dir" /dev/null; do
		run --separate-stderr timeout 20 env -i PATH="$PATH" FL_TLS_ENABLED=YES "$FLKIT_BIN/fl-certgen" -E --dir "$D" \
			supernode --onegate-file "$f"
		assert_failure 1
		logged_has ERROR "$f is not a regular file (a FIFO, device or directory); give a file with fl-onegate's output, or - for standard input"
	done
	[ ! -e "$D" ]
}

@test "supernode: a OneGate FL_CA_CERT with a key, comments or text around the certificate is refused" {
	ca=$(cat "$FIX/ec-ca.crt")
	for v in "$ca"$'\n'"$(cat "$FIX/ec-ca.key")" "# the CA"$'\n'"$ca" "$ca"$'\nsee you\n' \
		"$ca"$'\nhello\n'"$(cat "$FIX/rsa-ca.crt")"; do
		sn FL_TLS_ENABLED=YES --onegate-tls YES --onegate-ca-cert "$(printf '%s\n' "$v" | base64 -w0)"
		assert_failure 1
		logged_has ERROR 'OneGate FL_CA_CERT holds '
		[[ $stderr != *"$(sed -n 2p "$FIX/ec-ca.key")"* ]]
		[ ! -e "$D/ca.crt" ]
	done
	sn FL_TLS_ENABLED=YES --onegate-tls YES --onegate-ca-cert "$(cat "$FIX/ec-ca.crt" "$FIX/rsa-ca.crt" | base64 -w0)"
	assert_success
}

@test "show/check: a FIFO, a directory or a private key as --file is refused (exit 1), never read" {
	new_set
	mkfifo "$T/fifo"
	for f in "$T/fifo" "$D"; do
		for verb in show check; do
			run --separate-stderr timeout 20 env -i PATH="$PATH" "$FLKIT_BIN/fl-certgen" "$verb" --file "$f"
			assert_failure 1
			logged_has ERROR "$f is not a regular file; --file takes a certificate file (PEM)"
		done
	done
	run_cg show --file "$D/server.key"
	assert_failure 1
	assert_output ''
	logged ERROR "$D/server.key is a private key: show and check read certificates only, and a private key is never shown or published; give the certificate (server.pem or ca.crt)"
}

# ---------------------------------------------------------------------------------------------
# Usage
# ---------------------------------------------------------------------------------------------

@test "usage: bad options and verbs exit 2; --help names every verb; --version" {
	for args in "" "frobnicate" "superlink extra" "--key-type dsa superlink" "--owner 49999 superlink" \
		"--owner a:b superlink" "--server-days 0 superlink" "--warn-days -1 check" "--format toml show" \
		"--format text superlink" "-E -c x superlink"; do
		# shellcheck disable=SC2086
		run --separate-stderr env -i PATH="$PATH" "$FLKIT_BIN/fl-certgen" $args
		assert_failure 2
		[[ $stderr == *usage:* ]] || { echo "args: $args"; false; }
	done
	run --separate-stderr env -i PATH="$PATH" FLKIT_NOW=yesterday "$FLKIT_TEST_BIN/fl-certgen" check
	assert_failure 2
	for args in "--lock-timeout -1 superlink" "--lock-timeout x superlink" "--lock-timeout 86401 superlink"; do
		# shellcheck disable=SC2086
		run --separate-stderr env -i PATH="$PATH" "$FLKIT_BIN/fl-certgen" $args
		assert_failure 2
		[[ $stderr == *"--lock-timeout '"*"' is not a number of seconds; give a whole number from 0 to 86400"* ]]
	done
	run "$FLKIT_BIN/fl-certgen" --help
	assert_success
	for verb in superlink supernode show check; do
		assert_line --partial "fl-certgen [options] $verb"
	done
	run "$FLKIT_BIN/fl-certgen" --version
	assert_output --regexp '^fl-certgen [0-9]+\.[0-9]+\.[0-9]+$'
}

@test "usage: a count of days out of range names the option, the value and the range" {
	for args in "--ca-days 1 superlink" "--server-days x superlink" "--warn-days 99999999 check"; do
		# shellcheck disable=SC2086
		run --separate-stderr env -i PATH="$PATH" "$FLKIT_BIN/fl-certgen" $args
		assert_failure 2
		read -r opt val _ <<<"$args"
		[[ $stderr == *"fl-certgen: $opt '$val' is not a number of days; give a whole number from "* ]] ||
			{ echo "args: $args: $stderr"; false; }
	done
}

@test "--help: every option of the synopsis is described under options, and the common ones" {
	run "$FLKIT_BIN/fl-certgen" --help
	assert_success
	local opt synopsis
	synopsis=$(sed -n '/^usage:/,/^$/p' <<<"$output" | grep -o -- '--[a-z][a-z-]*' | sort -u)
	for opt in $synopsis --context --env-only --no-env --quiet --verbose --help --version; do
		assert_line --regexp "^  (-[a-zA-Z], |    )$opt( |\$)"
	done
}

@test "docs: fl-certgen(1) describes every verb, option and exit status" {
	page=$(MANWIDTH=200 man -l "$SRC/man/fl-certgen.1" 2>/dev/null)
	for verb in superlink supernode show check; do
		grep -q "^       $verb" <<<"$page" || { echo "verb $verb"; false; }
	done
	for opt in $("$FLKIT_BIN/fl-certgen" --help | grep -o -- '--[a-z][a-z-]*' | sort -u); do
		grep -q -- "$opt" <<<"$page" || { echo "option $opt"; false; }
	done
	for code in 0 1 2 4; do
		grep -q "^       $code" <<<"$page" || { echo "exit $code"; false; }
	done
	grep -q 'FL_CA_FINGERPRINT' <<<"$page"
	[ -z "$(MANWIDTH=80 man --warnings -l "$SRC/man/fl-certgen.1" 2>&1 >/dev/null)" ]
}

# ---------------------------------------------------------------------------------------------
# The common options and the configuration rule of every flkit tool (flkit(7)).

@test "options: an option of another verb is exit 2, naming the verbs it belongs to" {
	run_cg show --force
	assert_failure 2
	assert_output ''
	[[ $stderr == *"fl-certgen: --force is an option of superlink, not of show"* ]]
	run_cg superlink --onegate-tls YES
	assert_failure 2
	[[ $stderr == *"fl-certgen: --onegate-tls is an option of supernode, not of superlink"* ]]
	run_cg supernode --warn-days 3
	assert_failure 2
	[[ $stderr == *"--warn-days is an option of show or check, not of supernode"* ]]
	[ ! -e "$D" ]
}

@test "options: --no-env: the environment's FL_TLS_ENABLED does not count, the file's does" {
	printf "%s\n" "FL_TLS_ENABLED='NO'" >"$T/context.sh"
	run --separate-stderr env -i PATH="$PATH" FLKIT_NET_ADDRS=$VM_IP FL_TLS_ENABLED=YES "$FLKIT_BIN/fl-certgen" \
		-c "$T/context.sh" --dir "$D" --ca-key-dir "$K" superlink
	assert_success
	assert_line 'FL_TLS=YES'
	run --separate-stderr env -i PATH="$PATH" FLKIT_NET_ADDRS=$VM_IP FL_TLS_ENABLED=YES "$FLKIT_BIN/fl-certgen" \
		-c "$T/context.sh" --no-env --dir "$D" --ca-key-dir "$K" superlink
	assert_success
	assert_output 'FL_TLS=NO'
}

@test "configuration: a named file that is missing is exit 1 with the --context hint; -E excludes -c" {
	run --separate-stderr env -i PATH="$PATH" FLKIT_CONTEXT="$T/missing" "$FLKIT_BIN/fl-certgen" --dir "$D" \
		--ca-key-dir "$K" superlink
	assert_failure 1
	[[ $stderr == *"$T/missing"* ]]
	[[ $stderr == *"pass --context FILE, or --env-only"* ]]
	run --separate-stderr env -i PATH="$PATH" "$FLKIT_BIN/fl-certgen" -E -c "$T/missing" superlink
	assert_failure 2
	[[ $stderr == *"fl-certgen: --context and --env-only exclude each other"* ]]
}
