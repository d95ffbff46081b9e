#!/bin/bash
# ready.sh: the READY_SCRIPT of the Flower appliances (READY_SCRIPT_PATH in the VM template):
# exit 0 only when the service really works, by fl-launch health (a SuperLink answers TLS and
# gRPC health; a SuperNode has registered with its SuperLink since it started).

if [ -r /etc/default/flkit ]; then
	set -a
	# shellcheck source=/dev/null
	. /etc/default/flkit
	set +a
fi
# flkit-hooks.sh is checked on its own.
# shellcheck source=/dev/null
. "${FLKIT_SHARE:-/usr/share/flkit}/one-apps/flkit-hooks.sh" || exit 1

flkit_knobs
flkit_health_cmd
exec "${FLKIT_HEALTH[@]}"
