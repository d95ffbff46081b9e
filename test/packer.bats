#!/usr/bin/env bats
# share/packer: the appliance image templates and their provisioning scripts. The images cannot
# be built here (KVM, network, hours); what can be checked is. Debian 12's packer (1.6.6, the
# qemu builder built in) validates every template for real: the qemu builder's own argument
# checks, the variables, and that every script and file the provisioners upload exists. The
# one-apps step runs as root in a mount namespace (overlays on /etc, /opt and /usr/share), so
# the layout it leaves is checked on disk; the other scripts pass shellcheck.

bats_require_minimum_version 1.5.0
bats_load_library bats-support
bats_load_library bats-assert

PACKER_DIR="$BATS_TEST_DIRNAME/../share/packer"
VARIANTS=(superlink supernode supernode-pytorch supernode-tensorflow supernode-sklearn supernode-edge)

# A one-apps checkout and a package as the templates want them (validate checks that every
# uploaded file exists), and the variables that have no default.
setup_file() {
	local f="$BATS_FILE_TMPDIR/fixture"
	mkdir -p "$f/one-apps/appliances/lib" "$f/one-apps/appliances/scripts"
	touch "$f/one-apps/appliances/service.sh" "$f/one-apps/appliances/lib/common.sh" \
		"$f/one-apps/appliances/lib/functions.sh" "$f/one-apps/appliances/scripts/net-90-service-appliance" \
		"$f/flkit_0.1.0_amd64.deb"
	local zeros
	zeros=$(printf '0%.0s' {1..64})
	printf '%s\n' "-var" "flkit_deb=$f/flkit_0.1.0_amd64.deb" "-var" "one_apps_dir=$f/one-apps" \
		"-var" "base_image_url=https://marketplace.example/ubuntu2404.qcow2" \
		"-var" "base_image_checksum=sha256:$zeros" \
		"-var" "edge_image_url=https://marketplace.example/ubuntu2404min.qcow2" \
		"-var" "edge_image_checksum=sha256:$zeros" >"$BATS_FILE_TMPDIR/vars"
	export CHECKPOINT_DISABLE=1 PACKER_CACHE_DIR="$BATS_FILE_TMPDIR/packer-cache"
}

# packer_validate DIR [ARGS...]: packer validate with the fixture's variables, under run.
packer_validate() {
	local dir=$1 vars
	shift
	mapfile -t vars <"$BATS_FILE_TMPDIR/vars"
	run packer validate "${vars[@]}" "$@" "$dir"
}

# variant_dir NAME: a directory with the shared files and that variant's template only.
variant_dir() {
	local d="$BATS_TEST_TMPDIR/$1" x
	mkdir -p "$d"
	cp "$PACKER_DIR/variables.pkr.hcl" "$PACKER_DIR/source.pkr.hcl" "$PACKER_DIR/$1.pkr.hcl" "$d/"
	for x in scripts context docker; do
		ln -s "$PACKER_DIR/$x" "$d/$x"
	done
	echo "$d"
}

@test "packer: one template per variant, and nothing else beside the shared files" {
	local v
	for v in "${VARIANTS[@]}"; do
		[ -f "$PACKER_DIR/$v.pkr.hcl" ] || { echo "no $v.pkr.hcl"; false; }
	done
	run bash -c "cd '$PACKER_DIR' && ls *.pkr.hcl"
	assert_equal "${#lines[@]}" $((${#VARIANTS[@]} + 2))
}

@test "packer validate: the whole directory (all six builds)" {
	packer_validate "$PACKER_DIR"
	assert_success
}

@test "packer validate: each variant with only the shared variables and source" {
	local v
	for v in "${VARIANTS[@]}"; do
		packer_validate "$(variant_dir "$v")"
		[ "$status" -eq 0 ] || { echo "$v: $output"; false; }
	done
}

@test "packer validate: a misspelled qemu argument and a missing upload fail (the check is real)" {
	local d
	d=$(variant_dir superlink)
	sed -i 's/disk_size /disk_sise /' "$d/superlink.pkr.hcl"
	packer_validate "$d"
	assert_failure
	assert_output --partial 'disk_sise'
	d=$(variant_dir supernode)
	rm "$BATS_FILE_TMPDIR/fixture/one-apps/appliances/lib/functions.sh"
	packer_validate "$d"
	touch "$BATS_FILE_TMPDIR/fixture/one-apps/appliances/lib/functions.sh"
	assert_failure
	assert_output --partial 'functions.sh'
}

@test "packer fmt: every template is in packer's canonical format" {
	run packer fmt -check "$PACKER_DIR"
	assert_success
	assert_output ''
}

@test "packer validate -only=qemu.<variant>: selects that variant's build and no other" {
	local v other d
	for v in "${VARIANTS[@]}"; do
		d="$BATS_TEST_TMPDIR/only-$v"
		cp -R "$PACKER_DIR" "$d"
		sed -i 's/disk_size /disk_sise /' "$d/$v.pkr.hcl"
		packer_validate "$d" -only="qemu.$v"
		[ "$status" -ne 0 ] || { echo "-only=qemu.$v did not select $v.pkr.hcl"; false; }
		for other in "${VARIANTS[@]}"; do
			[ "$other" = "$v" ] && continue
			packer_validate "$d" -only="qemu.$other"
			[ "$status" -eq 0 ] || { echo "-only=qemu.$other selected $v.pkr.hcl too: $output"; false; }
		done
	done
}

@test "packer: each variant's build name, its image flower-<variant>.qcow2, the disk sizes" {
	local v want
	for v in "${VARIANTS[@]}"; do
		case $v in superlink) want=10000M ;; supernode-edge) want=6000M ;; *) want=12000M ;; esac
		run grep -c "name *= \"$v\"" "$PACKER_DIR/$v.pkr.hcl"
		assert_output 1
		grep -q "vm_name *= \"flower-$v.qcow2\"" "$PACKER_DIR/$v.pkr.hcl"
		grep -q "disk_size *= \"$want\"" "$PACKER_DIR/$v.pkr.hcl" || { echo "$v: not $want"; false; }
		grep -q "FLKIT_ROLE=${v%%-*}\"" "$PACKER_DIR/$v.pkr.hcl" || { echo "$v: wrong role"; false; }
	done
	grep -q 'iso_url *= var.edge_image_url' "$PACKER_DIR/supernode-edge.pkr.hcl"
	grep -q 'disk_compression *= true' "$PACKER_DIR/source.pkr.hcl"
}

@test "packer: framework variants build their Dockerfile; only the edge runs the edge step" {
	local v fw
	for v in "${VARIANTS[@]}"; do
		fw=${v#supernode-}
		case $v in
		supernode-pytorch | supernode-tensorflow | supernode-sklearn)
			grep -q "ML_FRAMEWORK=$fw\"" "$PACKER_DIR/$v.pkr.hcl"
			grep -q "scripts/50-framework.sh" "$PACKER_DIR/$v.pkr.hcl"
			grep -q "docker/supernode-$fw\"" "$PACKER_DIR/$v.pkr.hcl"
			# shellcheck disable=SC2016
			grep -q '^FROM flwr/supernode:${FLOWER_VERSION}$' "$PACKER_DIR/docker/supernode-$fw/Dockerfile"
			;;
		*)
			run grep -E 'ML_FRAMEWORK|50-framework|docker/' "$PACKER_DIR/$v.pkr.hcl"
			assert_output ''
			;;
		esac
		if [ "$v" = supernode-edge ]; then
			grep -q 'scripts/60-edge.sh' "$PACKER_DIR/$v.pkr.hcl"
		else
			run grep 60-edge "$PACKER_DIR/$v.pkr.hcl"
			assert_output ''
		fi
	done
}

@test "scripts: shellcheck-clean and executable; Docker's key pinned" {
	run shellcheck "$PACKER_DIR"/scripts/*.sh
	assert_success
	local s
	for s in "$PACKER_DIR"/scripts/*.sh; do
		[ -x "$s" ] || { echo "$s: not executable"; false; }
	done
	grep -q '^DOCKER_KEY_FPR=9DC858229FC7DD38854AE2D88D81803C0EBFCD88$' "$PACKER_DIR/scripts/20-docker.sh"
}

# one_apps_step ROLE STATUS: scripts/40-one-apps.sh as root in a mount namespace with
# overlays on /etc, /opt and /usr/share and a fresh /tmp: a one-apps checkout and the flkit
# hooks as fixtures, and a dispatcher that records its arguments and FLOWER_VERSION, then
# writes STATUS. Prints the modes of what the step placed.
one_apps_step() {
	local role=$1 status=$2 t="$BATS_TEST_TMPDIR"
	cp "$PACKER_DIR/scripts/40-one-apps.sh" "$t/step.sh"
	cat >"$t/ns.sh" <<-EOF
		set -eu
		mount --make-rprivate /
		mount -t tmpfs tmpfs /mnt
		cp "$t/step.sh" /mnt/step.sh
		for d in etc opt usr/share; do
			mkdir -p "/mnt/up/\$d" "/mnt/work/\$d"
			mount -t overlay overlay -o "lowerdir=/\$d,upperdir=/mnt/up/\$d,workdir=/mnt/work/\$d" "/\$d"
		done
		mount -t tmpfs tmpfs /tmp
		rm -rf /etc/one-appliance /etc/one-context.d /opt/one-appliance /usr/share/flkit
		mkdir -p /tmp/one-apps/lib /usr/share/flkit/one-apps/$role
		printf '%s\n' '#!/bin/bash' 'echo "\$* FLOWER_VERSION=\$FLOWER_VERSION" >/etc/one-appliance/service.args' \
			'echo $status >/etc/one-appliance/status' 'mkdir -p /var/log/one-appliance' \
			'echo "install log line" >/var/log/one-appliance/install.log' >/tmp/one-apps/service.sh
		echo common >/tmp/one-apps/lib/common.sh
		echo functions >/tmp/one-apps/lib/functions.sh
		echo net-90 >/tmp/one-apps/net-90-service-appliance
		echo "$role hooks" >/usr/share/flkit/one-apps/$role/appliance.sh
		echo flkit-net-99 >/usr/share/flkit/one-apps/net-99-report-ready
		rc=0
		FLKIT_ROLE=$role FLOWER_VERSION=1.26.0 bash /mnt/step.sh || rc=\$?
		echo "rc=\$rc"
		cat /etc/one-appliance/service.args
		stat -c '%a %n' /etc/one-appliance /etc/one-appliance/service.d /etc/one-appliance/lib \
			/etc/one-appliance/service /etc/one-appliance/lib/common.sh /etc/one-appliance/lib/functions.sh \
			/etc/one-appliance/service.d/appliance.sh /opt/one-appliance /opt/one-appliance/bin \
			/etc/one-context.d/net-90-service-appliance /etc/one-context.d/net-99-report-ready
		cat /etc/one-appliance/service.d/appliance.sh /etc/one-context.d/net-99-report-ready
	EOF
	unshare --mount --propagation private bash "$t/ns.sh"
}

@test "40-one-apps.sh: the one-apps layout with flkit's hook and net-99, then service install" {
	[ "$(id -u)" -eq 0 ] || { echo "needs root (mount namespace, overlays)"; false; }
	run one_apps_step supernode install_success
	assert_success
	assert_line 'rc=0'
	assert_line 'install FLOWER_VERSION=1.26.0'
	assert_line '750 /etc/one-appliance'
	assert_line '750 /etc/one-appliance/service.d'
	assert_line '750 /etc/one-appliance/lib'
	assert_line '750 /etc/one-appliance/service'
	assert_line '640 /etc/one-appliance/lib/common.sh'
	assert_line '640 /etc/one-appliance/service.d/appliance.sh'
	assert_line '755 /opt/one-appliance'
	assert_line '755 /opt/one-appliance/bin'
	assert_line '755 /etc/one-context.d/net-90-service-appliance'
	assert_line '755 /etc/one-context.d/net-99-report-ready'
	# The role's hook from the package, and flkit's net-99 in place of one-apps' own.
	assert_line 'supernode hooks'
	assert_line 'flkit-net-99'
}

@test "40-one-apps.sh: an install stage that does not end in install_success fails the build, with its log" {
	[ "$(id -u)" -eq 0 ] || { echo "needs root (mount namespace, overlays)"; false; }
	run one_apps_step superlink install_failure
	assert_line 'rc=1'
	assert_output --partial "service install ended in 'install_failure'"
	assert_output --partial 'install log line'
}

@test "40-one-apps.sh: a role other than superlink or supernode is refused" {
	run env FLKIT_ROLE=edge bash "$PACKER_DIR/scripts/40-one-apps.sh"
	assert_failure
	assert_output --partial "FLKIT_ROLE: 'edge' is neither superlink nor supernode"
}

# stub_step SCRIPT IMAGES [NAME=VALUE...]: share/packer/scripts/SCRIPT as root in a mount
# namespace (overlays on /opt and /etc, a fresh /tmp, its own GNUPGHOME) with docker,
# systemctl, apt-get, dpkg-query and curl stubs first on PATH that log their argv; `docker image ls` lists IMAGES (space-separated),
# dpkg-query prints FAKE_DPKG_STATUS (fails when it is empty: package unknown), curl downloads
# the file FAKE_KEY. Prints rc=N, the
# log, and /opt/flower/PREBAKED_FRAMEWORK with its mode when the step wrote it.
# SC2016: the stubs' $ are for the stubs' shell.
# shellcheck disable=SC2016
stub_step() {
	local script=$1 images=$2 t="$BATS_TEST_TMPDIR" envs
	shift 2
	envs=''
	[ $# -eq 0 ] || envs=$(printf '%q ' "$@")
	mkdir -p "$t/stubs"
	cp "$PACKER_DIR/scripts/$script" "$t/step.sh"
	printf '%s\n' '#!/bin/sh' 'echo "docker $*" >>/mnt/calls.log' \
		'[ "$1 $2" = "image ls" ] && for i in $FAKE_IMAGES; do echo "$i"; done' 'exit 0' >"$t/stubs/docker"
	printf '%s\n' '#!/bin/sh' "echo \"\${0##*/} \$*\" >>/mnt/calls.log" >"$t/stubs/systemctl"
	cp "$t/stubs/systemctl" "$t/stubs/apt-get"
	# curl -fsSL --retry 3 -o FILE URL: FILE gets FAKE_KEY.
	printf '%s\n' '#!/bin/sh' 'echo "curl $*" >>/mnt/calls.log' 'cp "$FAKE_KEY" "$5"' >"$t/stubs/curl"
	printf '%s\n' '#!/bin/sh' 'echo "dpkg-query $*" >>/mnt/calls.log' \
		'[ -n "$FAKE_DPKG_STATUS" ] || exit 1' 'printf %s "$FAKE_DPKG_STATUS"' >"$t/stubs/dpkg-query"
	chmod 0755 "$t/stubs"/*
	cat >"$t/ns.sh" <<-EOF
		set -eu
		mount --make-rprivate /
		mount -t tmpfs tmpfs /mnt
		cp -R "$t/stubs" /mnt/stubs
		cp "$t/step.sh" /mnt/step.sh
		for d in opt etc; do
			mkdir -p "/mnt/up/\$d" "/mnt/work/\$d"
			mount -t overlay overlay -o "lowerdir=/\$d,upperdir=/mnt/up/\$d,workdir=/mnt/work/\$d" "/\$d"
		done
		rm -rf /opt/flower /etc/apt/keyrings/docker.gpg /etc/apt/sources.list.d/docker.list
		mkdir -m 0700 /mnt/gnupg
		export GNUPGHOME=/mnt/gnupg
		mount -t tmpfs tmpfs /tmp
		mkdir -p /tmp/docker/supernode-pytorch /tmp/docker/supernode-sklearn
		rc=0
		env PATH="/mnt/stubs:\$PATH" FAKE_IMAGES="$images" FAKE_DPKG_STATUS= $envs bash /mnt/step.sh || rc=\$?
		echo "rc=\$rc"
		cat /mnt/calls.log
		ls /etc/apt/keyrings/docker.gpg /etc/apt/sources.list.d/docker.list 2>/dev/null || true
		if [ -e /opt/flower/PREBAKED_FRAMEWORK ]; then
			echo "PREBAKED_FRAMEWORK \$(stat -c %a /opt/flower/PREBAKED_FRAMEWORK) \$(cat /opt/flower/PREBAKED_FRAMEWORK)"
		fi
	EOF
	unshare --mount --propagation private bash "$t/ns.sh"
}

@test "50-framework.sh: builds flower-supernode-<fw>:<version> with Docker started, then records PREBAKED_FRAMEWORK" {
	[ "$(id -u)" -eq 0 ] || { echo "needs root (mount namespace, overlays)"; false; }
	run stub_step 50-framework.sh '' ML_FRAMEWORK=pytorch FLOWER_VERSION=1.26.0
	assert_success
	assert_line 'rc=0'
	assert_line 'docker build --pull=false --build-arg FLOWER_VERSION=1.26.0 -t flower-supernode-pytorch:1.26.0 /tmp/docker/supernode-pytorch'
	assert_line 'PREBAKED_FRAMEWORK 644 pytorch'
	# Docker runs for the build only: started before it, stopped after it.
	assert_equal "${lines[1]}" 'systemctl start docker.service'
	assert_equal "${lines[${#lines[@]} - 2]}" 'systemctl stop docker.service docker.socket'
}

@test "50-framework.sh: an unknown framework is refused before Docker starts" {
	[ "$(id -u)" -eq 0 ] || { echo "needs root (mount namespace, overlays)"; false; }
	run stub_step 50-framework.sh '' ML_FRAMEWORK=jax FLOWER_VERSION=1.25.0
	assert_line 'rc=1'
	assert_output --partial "ML_FRAMEWORK: 'jax' is not pytorch, tensorflow or sklearn"
	refute_output --partial 'docker '
	refute_output --partial PREBAKED_FRAMEWORK
}

@test "10-base.sh: needrestart is purged before any other apt-get command, and only when installed" {
	[ "$(id -u)" -eq 0 ] || { echo "needs root (mount namespace, overlays)"; false; }
	run stub_step 10-base.sh '' 'FAKE_DPKG_STATUS=install ok installed'
	assert_line 'rc=0'
	run grep '^apt-get' <<<"$output"
	assert_equal "${lines[0]}" 'apt-get -o DPkg::Lock::Timeout=600 -y -q purge needrestart'
	assert_equal "${lines[1]}" 'apt-get -o DPkg::Lock::Timeout=600 -y -q update'
	run stub_step 10-base.sh ''
	assert_line 'rc=0'
	refute_output --partial 'purge needrestart'
	assert_line 'apt-get -o DPkg::Lock::Timeout=600 -y -q install --no-install-recommends ca-certificates curl gnupg'
}

@test "20-docker.sh: a signing key whose fingerprint is not Docker's pinned one is refused before apt trusts it" {
	[ "$(id -u)" -eq 0 ] || { echo "needs root (mount namespace, overlays)"; false; }
	local g="$BATS_TEST_TMPDIR/gnupg" fpr
	mkdir -m 0700 "$g"
	GNUPGHOME=$g gpg --batch --quiet --passphrase '' --quick-gen-key 'Not Docker <nobody@example.invalid>' \
		ed25519 sign never 2>/dev/null
	# stub_step's stubs folder is copied into the namespace (its /tmp is a new one).
	mkdir -p "$BATS_TEST_TMPDIR/stubs"
	GNUPGHOME=$g gpg --batch --armor --export >"$BATS_TEST_TMPDIR/stubs/key.asc"
	fpr=$(GNUPGHOME=$g gpg --batch --with-colons --list-keys | awk -F: '$1 == "fpr" { print $10; exit }')
	GNUPGHOME=$g gpgconf --kill gpg-agent
	run stub_step 20-docker.sh '' FAKE_KEY=/mnt/stubs/key.asc
	assert_line 'rc=1'
	assert_line --regexp '^curl -fsSL --retry 3 -o [^ ]+ https://download\.docker\.com/linux/ubuntu/gpg$'
	assert_output --partial "Docker's signing key is not 9DC858229FC7DD38854AE2D88D81803C0EBFCD88 (got: $fpr); refusing it"
	# Neither the keyring nor the repository is left for apt, and nothing was installed.
	refute_output --partial /etc/apt/keyrings/docker.gpg
	refute_output --partial /etc/apt/sources.list.d/docker.list
	refute_output --partial 'apt-get'
}

@test "60-edge.sh: passes with only flwr/supernode:<version>, fails when Docker holds anything else" {
	[ "$(id -u)" -eq 0 ] || { echo "needs root (mount namespace, overlays)"; false; }
	run stub_step 60-edge.sh 'flwr/supernode:1.25.0' FLOWER_VERSION=1.25.0
	assert_line 'rc=0'
	assert_line 'docker builder prune -af'
	assert_line 'apt-get -o DPkg::Lock::Timeout=600 -y -q autoremove --purge'
	run stub_step 60-edge.sh 'flwr/supernode:1.25.0 flower-supernode-pytorch:1.25.0' FLOWER_VERSION=1.25.0
	assert_line 'rc=1'
	assert_output --partial 'the edge image must hold only flwr/supernode:1.25.0; Docker has:'
	assert_line 'flower-supernode-pytorch:1.25.0'
}
