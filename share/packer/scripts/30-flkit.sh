#!/usr/bin/env bash
# Image build, step 3: the flkit package (the tools on PATH, the hooks under /usr/share/flkit),
# uploaded by the template to /tmp/flkit.deb.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

apt-get -o DPkg::Lock::Timeout=600 -y -q install /tmp/flkit.deb
fl-context --version
