# appliance.sh of a toy appliance, for the dispatcher's own tests (test/appliance.bats): each
# hook appends "<hook> <umask>" to /var/lib/toy/calls, prints a line on stdout and one on
# stderr; TOY_FAIL=<stage> makes that hook fail halfway (a plain failing command under
# set -e), TOY_RECONF sets ONE_SERVICE_RECONFIGURABLE (default true).

# shellcheck shell=bash
# SC2034: the ONE_SERVICE_* variables are read by the dispatcher.
# shellcheck disable=SC2034

ONE_SERVICE_NAME='Toy appliance'
ONE_SERVICE_VERSION=1.0
ONE_SERVICE_BUILD=1
ONE_SERVICE_SHORT_DESCRIPTION='the dispatcher test appliance'
ONE_SERVICE_DESCRIPTION='Records its hook calls.'
ONE_SERVICE_RECONFIGURABLE=${TOY_RECONF:-true}

toy_hook() {
	mkdir -p /var/lib/toy
	echo "$1 $(umask)" >>/var/lib/toy/calls
	echo "toy $1: on stdout"
	echo "toy $1: on stderr" >&2
	if [ "${TOY_FAIL:-}" = "$1" ]; then
		false
		echo "toy $1: not reached" >>/var/lib/toy/calls
	fi
	touch "/var/lib/toy/$1.done"
}

service_install() { toy_hook install; }
service_configure() { toy_hook configure; }
service_bootstrap() { toy_hook bootstrap; }
service_help() { echo "toy help"; }
service_cleanup() { echo "cleanup $(cat /etc/one-appliance/status)" >>/var/lib/toy/calls; }
