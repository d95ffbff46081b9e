#!/usr/bin/env bash
# Image build, step 4: the one-apps layout with flkit's hooks, then the install stage in the
# build VM. From the one-apps checkout (uploaded to /tmp/one-apps): the dispatcher, its lib/
# and net-90-service-appliance. From the flkit package: the role's appliance.sh and flkit's
# net-99-report-ready, which replaces one-apps' (that one needs Ruby's onegate CLI).
# FLKIT_ROLE is superlink or supernode; FLOWER_VERSION picks the images service install pulls.
set -euo pipefail
: "${FLKIT_ROLE:?FLKIT_ROLE must be superlink or supernode}"
case "$FLKIT_ROLE" in superlink | supernode) ;; *)
	echo "FLKIT_ROLE: '$FLKIT_ROLE' is neither superlink nor supernode" >&2
	exit 1
	;;
esac
share=/usr/share/flkit/one-apps
src=/tmp/one-apps

install -d -m 0750 /etc/one-appliance /etc/one-appliance/service.d /etc/one-appliance/lib
install -d -m 0755 /opt/one-appliance /opt/one-appliance/bin /etc/one-context.d
install -m 0750 "$src/service.sh" /etc/one-appliance/service
install -m 0640 "$src/lib/common.sh" "$src/lib/functions.sh" /etc/one-appliance/lib/
install -m 0640 "$share/$FLKIT_ROLE/appliance.sh" /etc/one-appliance/service.d/appliance.sh
install -m 0755 "$src/net-90-service-appliance" /etc/one-context.d/net-90-service-appliance
install -m 0755 "$share/net-99-report-ready" /etc/one-context.d/net-99-report-ready

/etc/one-appliance/service install
status=$(cat /etc/one-appliance/status)
if [ "$status" != install_success ]; then
	echo "service install ended in '$status'; /var/log/one-appliance/install.log:" >&2
	cat /var/log/one-appliance/install.log >&2 || true
	exit 1
fi
