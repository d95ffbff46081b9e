#!/usr/bin/env bash
# Image build, step 5 (framework variants): flower-supernode-<fw>:<FLOWER_VERSION> built from
# the Dockerfile the template uploaded to /tmp/docker/supernode-<fw>/, on top of the
# flwr/supernode image service install pulled; /opt/flower/PREBAKED_FRAMEWORK records it.
set -euo pipefail
: "${ML_FRAMEWORK:?ML_FRAMEWORK must be pytorch, tensorflow or sklearn}"
: "${FLOWER_VERSION:?FLOWER_VERSION is not set}"
case "$ML_FRAMEWORK" in pytorch | tensorflow | sklearn) ;; *)
	echo "ML_FRAMEWORK: '$ML_FRAMEWORK' is not pytorch, tensorflow or sklearn" >&2
	exit 1
	;;
esac
ctx=/tmp/docker/supernode-$ML_FRAMEWORK

# service install leaves Docker stopped; it is stopped again once the image is built.
systemctl start docker.service
docker build --pull=false --build-arg "FLOWER_VERSION=$FLOWER_VERSION" \
	-t "flower-supernode-$ML_FRAMEWORK:$FLOWER_VERSION" "$ctx"
docker builder prune -af
install -d -m 0755 /opt/flower
printf '%s\n' "$ML_FRAMEWORK" >/opt/flower/PREBAKED_FRAMEWORK
chmod 0644 /opt/flower/PREBAKED_FRAMEWORK
systemctl stop docker.service docker.socket
