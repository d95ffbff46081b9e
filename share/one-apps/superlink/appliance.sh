# appliance.sh: the one-apps hooks of the Flower SuperLink appliance (installed as
# /etc/one-appliance/service.d/appliance.sh and sourced by the one-apps dispatcher); the
# steps themselves are flkit tools, called from flkit-hooks.sh.

# shellcheck shell=bash
# SC2034: the ONE_SERVICE_* variables are read by the dispatcher.
# shellcheck disable=SC2034

if [ -r /etc/default/flkit ]; then
	set -a
	# shellcheck source=/dev/null
	. /etc/default/flkit
	set +a
fi
# flkit-hooks.sh is checked on its own.
# shellcheck source=/dev/null
. "${FLKIT_SHARE:-/usr/share/flkit}/one-apps/flkit-hooks.sh"

ONE_SERVICE_NAME='Service Flower SuperLink - Federated Learning Coordinator'
ONE_SERVICE_VERSION='0.1.0'
ONE_SERVICE_BUILD=$(date +%s)
ONE_SERVICE_SHORT_DESCRIPTION='Flower SuperLink (federated learning coordinator) run by flkit'
ONE_SERVICE_DESCRIPTION='Flower SuperLink: validates the context (fl-context), keeps its TLS
certificates (fl-certgen), runs Flower under systemd (fl-launch) and publishes FL_READY,
FL_ENDPOINT and the CA to OneGate for the SuperNodes of its service.'
ONE_SERVICE_RECONFIGURABLE=true

# The inputs, from the variable registry (fl-context(5)): NAME STAGE DESCRIPTION USER_INPUT.
# Only help and documentation read them: a failure leaves the list empty, not the stage.
ONE_SERVICE_PARAMS=()
mapfile -t ONE_SERVICE_PARAMS < <(fl-context user-inputs --role superlink --oneapp --format params 2>/dev/null)

service_install() {
	flkit_install superlink
}

service_configure() {
	flkit_superlink_configure
}

service_bootstrap() {
	flkit_superlink_bootstrap
}

service_help() {
	flkit_help superlink
}

# The dispatcher calls this at the end of every stage, success or not: it must not touch the
# service that bootstrap just started.
service_cleanup() {
	:
}
