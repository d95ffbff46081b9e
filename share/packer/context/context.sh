# Context of the Packer build VM only, in one-context's format (read from the CONTEXT CD the
# templates attach): DHCP on the NIC the templates give this MAC, and a root password login on
# the SSH port Packer forwards to 127.0.0.1. scripts/90-cleanup.sh removes the login (password,
# sshd drop-in) before the image is saved; a deployed VM gets its context from OpenNebula.
ETH0_MAC='00:11:22:33:44:55'
ETH0_METHOD='dhcp'
NETWORK='YES'
PASSWORD='flkit-build'
# printf "PermitRootLogin yes\nPasswordAuthentication yes\n" >/etc/ssh/sshd_config.d/00-flkit-build.conf
# systemctl reload ssh || systemctl restart ssh
START_SCRIPT_BASE64='cHJpbnRmICJQZXJtaXRSb290TG9naW4geWVzXG5QYXNzd29yZEF1dGhlbnRpY2F0aW9uIHllc1xuIiA+L2V0Yy9zc2gvc3NoZF9jb25maWcuZC8wMC1mbGtpdC1idWlsZC5jb25mCnN5c3RlbWN0bCByZWxvYWQgc3NoIHx8IHN5c3RlbWN0bCByZXN0YXJ0IHNzaAo='
