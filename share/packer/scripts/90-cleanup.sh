#!/usr/bin/env bash
# Image build, last step: what the build VM leaves behind goes (its root login, apt lists,
# logs, machine-id, SSH host keys: each deployed VM makes its own), then the free space is
# zero-filled so that qemu-img convert -c (disk_compression) drops it.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

apt-get -o DPkg::Lock::Timeout=600 -y -q autoremove --purge
apt-get clean
rm -rf /var/lib/apt/lists/* /tmp/flkit.deb /tmp/one-apps /tmp/docker

# The login context.sh opened for the build.
rm -f /etc/ssh/sshd_config.d/00-flkit-build.conf
usermod -p '*' root

# SSH host keys are generated on the first boot of each VM, before sshd starts.
rm -f /etc/ssh/ssh_host_*
cat >/etc/systemd/system/flkit-ssh-hostkeys.service <<'UNIT'
[Unit]
Description=Generate the SSH host keys of this VM
Before=ssh.service ssh.socket
ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key

[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -A

[Install]
WantedBy=multi-user.target ssh.service ssh.socket
UNIT
systemctl enable flkit-ssh-hostkeys.service

truncate -s 0 /etc/machine-id
rm -f /var/lib/dbus/machine-id
journalctl --rotate >/dev/null 2>&1 || true
journalctl --vacuum-time=1s >/dev/null 2>&1 || true
# The one-apps stage logs stay: install.log tells how the image was made.
find /var/log -path /var/log/one-appliance -prune -o -type f \( -name '*.gz' -o -name '*.[0-9]' \) -delete
find /var/log -path /var/log/one-appliance -prune -o -type f -exec truncate -s 0 {} +
rm -f /root/.bash_history

# dd ends with "No space left on device": that is the point.
dd if=/dev/zero of=/zero.fill bs=1M status=none 2>/dev/null || true
rm -f /zero.fill
sync
