#!/usr/bin/env bash
# Image build, step 6 (edge variant): nothing but flwr/supernode:<FLOWER_VERSION> in Docker's
# store, no build cache, and no package the edge node does not run.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
: "${FLOWER_VERSION:?FLOWER_VERSION is not set}"

systemctl start docker.service
docker builder prune -af
docker image prune -f
want="flwr/supernode:$FLOWER_VERSION"
images=$(docker image ls --format '{{.Repository}}:{{.Tag}}')
if [ "$images" != "$want" ]; then
	echo "the edge image must hold only $want; Docker has:" >&2
	printf '%s\n' "$images" >&2
	exit 1
fi
systemctl stop docker.service docker.socket
apt-get -o DPkg::Lock::Timeout=600 -y -q autoremove --purge
