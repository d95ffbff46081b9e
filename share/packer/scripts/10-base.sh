#!/usr/bin/env bash
# Image build, step 1: a quiet apt. needrestart goes first: on Ubuntu 24.04 it restarted sshd
# in the middle of an apt run and killed the Packer session ("Script disconnected
# unexpectedly"); the periodic apt jobs would hold the dpkg lock under the next steps.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

systemctl stop unattended-upgrades.service apt-daily.timer apt-daily-upgrade.timer \
	apt-daily.service apt-daily-upgrade.service 2>/dev/null || true
apt_get() {
	apt-get -o DPkg::Lock::Timeout=600 -y -q "$@"
}
# Only when installed: a package apt does not know (no lists yet) would fail the purge.
if dpkg-query -W -f '${Status}' needrestart 2>/dev/null | grep -q ' installed$'; then
	apt_get purge needrestart
fi
apt_get update
apt_get install --no-install-recommends ca-certificates curl gnupg
