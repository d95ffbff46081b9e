#!/bin/bash
# rediscover.sh: make a running SuperNode follow a SuperLink that came back with a new address
# (run every minute by flkit-rediscover.timer, which the SuperNode bootstrap starts, or by
# whoever supervises without systemd). Discovery, CA trust and start are the configure and
# bootstrap steps again; fl-launch start restarts the SuperNode only when its configuration
# (the SuperLink address) changed, and leaves it alone otherwise.

if [ -r /etc/default/flkit ]; then
	set -a
	# shellcheck source=/dev/null
	. /etc/default/flkit
	set +a
fi
# flkit-hooks.sh is checked on its own.
# shellcheck source=/dev/null
. "${FLKIT_SHARE:-/usr/share/flkit}/one-apps/flkit-hooks.sh" || exit 1

# Only a SuperNode this boot configured and bootstrapped: before that, configure and
# bootstrap are the ones to run the steps.
if ! flkit_bootstrapped || [ ! -r "$FLKIT_RUN/supernode.conf" ] ||
	[ ! -r "$FLKIT_RUN/discovery.env" ]; then
	flkit_log INFO "rediscover: no bootstrapped SuperNode; nothing to do"
	exit 0
fi
flkit_knobs
rc=0
fl-onegate -q discover -o "$FLKIT_RUN/discovery.env" || rc=$?
if [ "$rc" -ne 0 ]; then
	flkit_log WARN "rediscover: discovery failed (fl-onegate exit $rc); the SuperNode is left as it is"
	exit "$rc"
fi
if ! "${FLKIT_CERTGEN[@]}" -q -c "$FLKIT_RUN/supernode.conf" supernode \
	--onegate-file "$FLKIT_RUN/discovery.env" >"$FLKIT_RUN/tls.env"; then
	flkit_log WARN "rediscover: fl-certgen supernode failed; the SuperNode is left as it is"
	exit 1
fi
if ! flkit_sn_launch || ! "${FLKIT_SN[@]}" -q start; then
	flkit_log ERROR "rediscover: fl-launch start failed"
	exit 1
fi
