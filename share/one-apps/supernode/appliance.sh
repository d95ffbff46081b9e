# appliance.sh: the one-apps hooks of the Flower SuperNode appliance (installed as
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

ONE_SERVICE_NAME='Service Flower SuperNode - KVM'
ONE_SERVICE_VERSION='0.1.0'
ONE_SERVICE_BUILD=$(date +%s)
ONE_SERVICE_SHORT_DESCRIPTION='Flower SuperNode (federated learning client) run by flkit'
ONE_SERVICE_DESCRIPTION='Flower SuperNode: validates the context (fl-context), finds its SuperLink
and data partition through OneGate (fl-onegate), trusts the SuperLink CA (fl-certgen), runs
Flower under systemd with the GPU when one is usable (fl-launch) and publishes FL_NODE_READY.'
ONE_SERVICE_RECONFIGURABLE=true

# The inputs, from the variable registry (fl-context(5)): NAME STAGE DESCRIPTION USER_INPUT.
# Only help and documentation read them: a failure leaves the list empty, not the stage.
ONE_SERVICE_PARAMS=()
mapfile -t ONE_SERVICE_PARAMS < <(fl-context user-inputs --role supernode --oneapp --format params 2>/dev/null)

service_install() {
	flkit_install supernode
}

service_configure() {
	flkit_supernode_configure
}

service_bootstrap() {
	flkit_supernode_bootstrap
}

service_help() {
	flkit_help supernode
}

# The dispatcher calls this at the end of every stage, success or not: it must not touch the
# service that bootstrap just started.
service_cleanup() {
	:
}
