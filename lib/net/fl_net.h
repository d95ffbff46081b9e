/* fl_net: the VM's own addresses, as SuperNodes see them: every address of the interface
 * that carries the default route (never docker0's), IPv4 first. */
#ifndef FL_NET_H
#define FL_NET_H

#include "fl_err.h"

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>

#define FL_NET_MAX_ADDRS 64

/* A list of canonical textual addresses ("192.0.2.2", "fd00::2"), no duplicates. */
struct fl_addrs {
	char **v;
	size_t n, cap;
};

#define FL_ADDRS_INIT                                                                                        \
	{                                                                                                    \
		NULL, 0, 0                                                                                   \
	}

/* Add one literal address (IPv4 or IPv6, no brackets, no zone); it is canonicalised.
 * Returns 0, or -1 when s is not an address or the list is full. Duplicates are skipped. */
int fl_net_addrs_add(struct fl_addrs *a, const char *s, struct fl_err *e);
/* A comma- or space-separated list, e.g. FLKIT_NET_ADDRS="192.0.2.2,fd00::2". */
int fl_net_addrs_parse(struct fl_addrs *a, const char *list, const char *what, struct fl_err *e);
bool fl_net_addrs_has(const struct fl_addrs *a, const char *canonical);
void fl_net_addrs_free(struct fl_addrs *a);

/* Canonical text of an address literal into out (INET6_ADDRSTRLEN); -1 when not one. */
int fl_net_canonical(const char *s, char *out, size_t outlen);

/* The default-route interface from /proc/net/route (IPv4) text, then /proc/net/ipv6_route
 * text when IPv4 has none; either may be NULL. Lowest metric wins; lo and docker0 never.
 * Returns 0 with ifname filled, -1 when there is no default route. */
int fl_net_default_iface(const char *route4, const char *route6, char ifname[IF_NAMESIZE]);

/* Usable IPv6 addresses of ifname from /proc/net/if_inet6 text: global scope, not
 * temporary, deprecated or failed duplicate detection. */
void fl_net_inet6_addrs(const char *if_inet6, const char *ifname, struct fl_addrs *out);

/* The VM's addresses as described above, from /proc and getifaddrs. IPv4 link-local
 * (169.254/16) and loopback are skipped. Fails with "Cannot detect VM IP for certificate
 * SAN" when there is no default route or it has no usable address. ifname may be NULL. */
int fl_net_vm_addrs(struct fl_addrs *out, char ifname[IF_NAMESIZE], struct fl_err *e);

#endif
