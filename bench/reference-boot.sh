#!/usr/bin/env bash
# reference-boot.sh: the reference bash SuperLink appliance's boot steps (design 05 §2.1:
# service_configure, then the OneGate publication of service_bootstrap), the alternative
# bench/boot-chain.sh compares the flkit chain with; flkit never runs it.
#
#   bench/reference-boot.sh rsa:4096|p256 ONE_ENV FLOWER_DIR UNIT_DIR CA_KEY_DIR VM_IP UID:GID
#
# 1. source ONE_ENV (the context and the OneGate identity);
# 2. validate_config: bench/reference-validate.sh, sourced in a subshell (the appliance runs it
#    as a function of the same script, not as a new bash);
# 3. dirs with mkdir/chown/chmod, then TLS: keep the set when ca.crt, server.pem and server.key
#    exist, `openssl verify` passes, `openssl x509 -checkend 86400` passes and `openssl x509
#    -text` contains the VM address (the reference's reuse check); otherwise generate it with
#    the openssl CLI (bench/reference-certgen.sh, sourced in a subshell, key type as given);
# 4. the env file and the unit from heredocs, each value through `tr -d '\r\n'` as the
#    reference does, the ExecStart array joined with " \" and newlines, chmod, then
#    `systemctl daemon-reload` (whatever systemctl is first in PATH);
# 5. publish_to_onegate: one `curl -X PUT` per attribute (FL_READY, FL_ENDPOINT, FL_VERSION,
#    FL_ROLE, FL_TLS, FL_CA_CERT = base64 -w0 of ca.crt), as its `onegate vm update --data K=V`
#    loop does one request per attribute; the headers go on stdin so the token stays out of
#    argv. curl is cheaper than the reference's Ruby onegate CLI, which is not installed here.
#    The reference only warns when OneGate fails; here that exits 1 so a broken bench shows.
# The firewall and the ONE_SERVICE_REPORT file are left out: the flkit chain does neither.
set -eu

[ $# -eq 7 ] || {
	echo "usage: $0 rsa:4096|p256 ONE_ENV FLOWER_DIR UNIT_DIR CA_KEY_DIR VM_IP UID:GID" >&2
	exit 2
}
_kt=$1 _one_env=$2 _fd=$3 _unit_dir=$4 _cadir=$5 _ip=$6 _owner=$7
_bench=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

log() {
	echo "[$(date '+%Y-%m-%d %H:%M:%S')] [$1] [flower-superlink] $2" >&2
}

# 1. The context and the identity. The internal names start with _ so that it cannot
# clobber them.
# shellcheck source=/dev/null  # the one_env boot-chain.sh wrote
. "$_one_env"

# 2. Validation, exit 1 on errors.
(
	set +e
	set -- --role superlink "$_one_env"
	# shellcheck source=bench/reference-validate.sh
	. "$_bench/reference-validate.sh"
) || exit 1

FLOWER_VERSION=${FLOWER_VERSION:-1.25.0}
FL_ISOLATION=${FL_ISOLATION:-subprocess}
FL_DATABASE=${FL_DATABASE:-state/state.db}
FL_LOG_LEVEL=${FL_LOG_LEVEL:-INFO}
FL_TLS_ENABLED=${FL_TLS_ENABLED:-NO}
FL_FLEET_API_ADDRESS=${FL_FLEET_API_ADDRESS:-0.0.0.0:9092}
FL_CONTROL_API_ADDRESS=${FL_CONTROL_API_ADDRESS:-0.0.0.0:9093}
_fleet_port=${FL_FLEET_API_ADDRESS##*:}
_control_port=${FL_CONTROL_API_ADDRESS##*:}

# 3. Directories, then TLS.
mkdir -p "$_fd/state" "$_fd/certs" "$_fd/config" "$_unit_dir"
chown "$_owner" "$_fd/state" "$_fd/certs"
chmod 0700 "$_fd/certs"
chmod 0750 "$_fd/config"
_certs=$_fd/certs
if [ "$FL_TLS_ENABLED" = YES ]; then
	if [ -f "$_certs/ca.crt" ] && [ -f "$_certs/server.pem" ] && [ -f "$_certs/server.key" ] &&
		openssl verify -CAfile "$_certs/ca.crt" "$_certs/server.pem" >/dev/null 2>&1 &&
		openssl x509 -in "$_certs/server.pem" -noout -checkend 86400 >/dev/null 2>&1 &&
		openssl x509 -in "$_certs/server.pem" -noout -text 2>/dev/null | grep -qF "$_ip"; then
		log INFO "Existing TLS certificates are valid for $_ip; reusing them"
	else
		log INFO "Generating TLS certificates ($_kt)"
		(
			set -- "$_kt" "$_certs" "$_cadir" "$_ip" "$_owner"
			# shellcheck source=bench/reference-certgen.sh
			. "$_bench/reference-certgen.sh"
		) || {
			log ERROR "TLS certificate generation failed"
			exit 1
		}
	fi
fi

# 4. Env file and unit; every interpolated value through tr -d '\r\n' (defence in depth).
_v=$(printf '%s' "$FLOWER_VERSION" | tr -d '\r\n')
_iso=$(printf '%s' "$FL_ISOLATION" | tr -d '\r\n')
_db=$(printf '%s' "$FL_DATABASE" | tr -d '\r\n')
_level=$(printf '%s' "$FL_LOG_LEVEL" | tr -d '\r\n')
_env_file=$_fd/config/superlink.env
cat >"$_env_file" <<EOF
# Flower SuperLink environment, generated $(printf '%(%Y-%m-%d %H:%M:%S UTC)T' -1)
FLWR_LOG_LEVEL=$_level
EOF
chmod 0640 "$_env_file"
log INFO "Wrote $_env_file"

_exec=(/usr/bin/docker run --name flower-superlink
	--cap-drop ALL --security-opt no-new-privileges
	--env-file "$_env_file"
	-p "$_ip:$_fleet_port:$_fleet_port" -p "127.0.0.1:$_control_port:$_control_port"
	-v "$_fd/state:/app/state")
[ "$FL_TLS_ENABLED" = YES ] && _exec+=(-v "$_fd/certs:/app/certificates:ro")
_exec+=("flwr/superlink:$_v")
if [ "$FL_TLS_ENABLED" = YES ]; then
	_exec+=(--ssl-ca-certfile /app/certificates/ca.crt --ssl-certfile /app/certificates/server.pem
		--ssl-keyfile /app/certificates/server.key)
else
	_exec+=(--insecure)
fi
_exec+=(--isolation "$_iso" --fleet-api-address "0.0.0.0:$_fleet_port" --database "$_db")
_exec_start=
for _a in "${_exec[@]}"; do
	_exec_start+="${_exec_start:+ \\
    }$_a"
done
_unit=$_unit_dir/flower-superlink.service
cat >"$_unit" <<EOF
[Unit]
Description=Flower SuperLink (Federated Learning Coordinator)
After=docker.service
Requires=docker.service

[Service]
Type=simple
Restart=always
RestartSec=10
TimeoutStartSec=120
ExecStartPre=-/usr/bin/docker rm -f flower-superlink
ExecStart=$_exec_start
ExecStop=/usr/bin/docker stop flower-superlink

[Install]
WantedBy=multi-user.target
EOF
systemctl daemon-reload
log INFO "Wrote $_unit"

# 5. One request per attribute.
_put() {
	printf 'X-ONEGATE-TOKEN: %s\nX-ONEGATE-VMID: %s\n' "$TOKENTXT" "$VMID" |
		curl -sSf --max-time 10 -X PUT "$ONEGATE_ENDPOINT/vm" -H @- \
			--data-urlencode "data=$1" --data "type=1" >/dev/null
}
log INFO "Publishing SuperLink readiness to OneGate"
_attrs=("FL_READY=YES" "FL_ENDPOINT=$_ip:$_fleet_port" "FL_VERSION=$_v" "FL_ROLE=superlink")
if [ "$FL_TLS_ENABLED" = YES ]; then
	_attrs+=("FL_TLS=YES" "FL_CA_CERT=$(base64 -w0 "$_certs/ca.crt")")
fi
for _kv in "${_attrs[@]}"; do
	_put "$_kv" || {
		log WARN "OneGate publication failed. SuperNodes must use static FL_SUPERLINK_ADDRESS."
		exit 1
	}
done
