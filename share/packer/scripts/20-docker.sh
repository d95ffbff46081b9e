#!/usr/bin/env bash
# Image build, step 2: Docker CE from Docker's repository, its signing key checked against the
# pinned fingerprint before apt trusts it. DOCKER_BUILDX=yes adds the buildx plugin (the
# framework variants build an image; the edge image does not).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
DOCKER_KEY_FPR=9DC858229FC7DD38854AE2D88D81803C0EBFCD88

install -m 0755 -d /etc/apt/keyrings
key=$(mktemp)
trap 'rm -f "$key"' EXIT
curl -fsSL --retry 3 -o "$key" https://download.docker.com/linux/ubuntu/gpg
gpg --batch --yes --dearmor -o /etc/apt/keyrings/docker.gpg "$key"
fprs=$(gpg --batch --show-keys --with-colons --with-fingerprint /etc/apt/keyrings/docker.gpg |
	awk -F: '$1 == "fpr" { print $10 }')
if ! grep -qx "$DOCKER_KEY_FPR" <<<"$fprs"; then
	echo "Docker's signing key is not $DOCKER_KEY_FPR (got: ${fprs:-none}); refusing it" >&2
	rm -f /etc/apt/keyrings/docker.gpg
	exit 1
fi
chmod 0644 /etc/apt/keyrings/docker.gpg

# shellcheck source=/dev/null
. /etc/os-release
printf 'deb [arch=%s signed-by=/etc/apt/keyrings/docker.gpg] https://download.docker.com/linux/ubuntu %s stable\n' \
	"$(dpkg --print-architecture)" "$VERSION_CODENAME" >/etc/apt/sources.list.d/docker.list

pkgs=(docker-ce docker-ce-cli containerd.io)
[ "${DOCKER_BUILDX:-no}" = yes ] && pkgs+=(docker-buildx-plugin)
apt-get -o DPkg::Lock::Timeout=600 -y -q update
apt-get -o DPkg::Lock::Timeout=600 -y -q install --no-install-recommends "${pkgs[@]}"
systemctl enable --now docker.service
