/* fl_net: the VM's own addresses: the default-route interface from /proc/net/route (or
 * ipv6_route), its IPv4 addresses from getifaddrs, its IPv6 ones from /proc/net/if_inet6
 * (which, unlike getifaddrs, says which are temporary or deprecated). */
#include "fl_net.h"

#include "fl_buf.h"
#include "fl_fs.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define PROC_MAX (1u << 20)

int fl_net_canonical(const char *s, char *out, size_t outlen)
{
	unsigned char bin[sizeof(struct in6_addr)];
	if (strlen(s) >= INET6_ADDRSTRLEN)
		return -1;
	if (inet_pton(AF_INET, s, bin) == 1)
		return inet_ntop(AF_INET, bin, out, (socklen_t)outlen) ? 0 : -1;
	if (inet_pton(AF_INET6, s, bin) == 1)
		return inet_ntop(AF_INET6, bin, out, (socklen_t)outlen) ? 0 : -1;
	return -1;
}

bool fl_net_addrs_has(const struct fl_addrs *a, const char *canonical)
{
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->v[i], canonical) == 0)
			return true;
	return false;
}

int fl_net_addrs_add(struct fl_addrs *a, const char *s, struct fl_err *e)
{
	char c[INET6_ADDRSTRLEN];
	if (fl_net_canonical(s, c, sizeof c) < 0)
		return fl_err_set(e, FL_EXIT_USAGE, "'%.64s' is not an IPv4 or IPv6 address", s);
	if (fl_net_addrs_has(a, c))
		return 0;
	if (a->n >= FL_NET_MAX_ADDRS)
		return fl_err_set(e, FL_EXIT_USAGE,
		                  "more than %d addresses; the limit keeps certificates small",
		                  FL_NET_MAX_ADDRS);
	if (a->n == a->cap) {
		a->cap = a->cap ? a->cap * 2 : 8;
		a->v = fl_xrealloc(a->v, a->cap * sizeof *a->v);
	}
	a->v[a->n++] = fl_xstrdup(c);
	return 0;
}

int fl_net_addrs_parse(struct fl_addrs *a, const char *list, const char *what, struct fl_err *e)
{
	const char *p = list;
	while (*p) {
		size_t skip = strspn(p, ", \t\n");
		p += skip;
		size_t n = strcspn(p, ", \t\n");
		if (n == 0)
			break;
		char tok[INET6_ADDRSTRLEN];
		if (n >= sizeof tok)
			return fl_err_set(e, FL_EXIT_USAGE, "%s: '%.*s...' is not an IPv4 or IPv6 address",
			                  what, 40, p);
		memcpy(tok, p, n);
		tok[n] = '\0';
		if (fl_net_addrs_add(a, tok, e) < 0)
			return fl_err_set(e, FL_EXIT_USAGE, "%s: '%s' is not an IPv4 or IPv6 address", what,
			                  tok);
		p += n;
	}
	return 0;
}

void fl_net_addrs_free(struct fl_addrs *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->v[i]);
	free(a->v);
	memset(a, 0, sizeof *a);
}

/* Interfaces whose address a SuperNode can never use to reach this VM. */
static bool iface_excluded(const char *name)
{
	return strcmp(name, "lo") == 0 || strcmp(name, "docker0") == 0;
}

/* Next line of text into line (truncated to size); returns the rest, NULL at the end. */
static const char *next_line(const char *p, char *line, size_t size)
{
	if (!p || !*p)
		return NULL;
	size_t n = strcspn(p, "\n");
	size_t k = n < size - 1 ? n : size - 1;
	memcpy(line, p, k);
	line[k] = '\0';
	return p[n] ? p + n + 1 : p + n;
}

#define MAX_FIELDS 12

/* Split line at blanks into at most MAX_FIELDS fields (line is modified); the count. */
static int fields(char *line, char *f[MAX_FIELDS])
{
	int n = 0;
	for (char *save = NULL, *t = strtok_r(line, " \t\r", &save); t && n < MAX_FIELDS;
	     t = strtok_r(NULL, " \t\r", &save))
		f[n++] = t;
	return n;
}

/* A whole field as a number in base (16 or 10); false when it is not one. */
static bool num(const char *s, int base, unsigned long *out)
{
	if (!*s || strspn(s, base == 16 ? "0123456789abcdefABCDEF" : "0123456789") != strlen(s) ||
	    strlen(s) > 16)
		return false;
	errno = 0;
	char *end;
	*out = strtoul(s, &end, base);
	return errno == 0 && *end == '\0';
}

/* Keep the lowest metric among usable default routes. */
static void consider(const char *dev, unsigned long metric, char ifname[IF_NAMESIZE], unsigned long *best,
                     bool *found)
{
	if (strlen(dev) >= IF_NAMESIZE || iface_excluded(dev))
		return;
	if (!*found || metric < *best) {
		snprintf(ifname, IF_NAMESIZE, "%s", dev);
		*best = metric;
		*found = true;
	}
}

int fl_net_default_iface(const char *route4, const char *route6, char ifname[IF_NAMESIZE])
{
	char line[512];
	char *f[MAX_FIELDS];
	unsigned long best = ULONG_MAX;
	bool found = false;
	/* Iface Destination Gateway Flags RefCnt Use Metric Mask ... (hex except the counters). */
	for (const char *p = route4; (p = next_line(p, line, sizeof line));) {
		unsigned long dest, flags, metric, mask;
		if (fields(line, f) < 8 || !num(f[1], 16, &dest) || !num(f[3], 16, &flags) ||
		    !num(f[6], 10, &metric) || !num(f[7], 16, &mask))
			continue; /* the header, or noise */
		if (dest == 0 && mask == 0 && (flags & 0x1))
			consider(f[0], metric, ifname, &best, &found);
	}
	if (found)
		return 0;
	/* dest plen src splen nexthop metric refcnt use flags dev; RTF_UP 0x1, RTF_REJECT 0x200. */
	for (const char *p = route6; (p = next_line(p, line, sizeof line));) {
		unsigned long plen, metric, flags;
		if (fields(line, f) < 10 || strlen(f[0]) != 32 || !num(f[1], 16, &plen) ||
		    !num(f[5], 16, &metric) || !num(f[8], 16, &flags))
			continue;
		if (strspn(f[0], "0") == 32 && plen == 0 && (flags & 0x1) && !(flags & 0x200))
			consider(f[9], metric, ifname, &best, &found);
	}
	return found ? 0 : -1;
}

void fl_net_inet6_addrs(const char *if_inet6, const char *ifname, struct fl_addrs *out)
{
	char line[256];
	char *f[MAX_FIELDS];
	/* address ifindex prefixlen scope flags devname, all hex but the name. */
	for (const char *p = if_inet6; (p = next_line(p, line, sizeof line));) {
		unsigned long scope, flags;
		if (fields(line, f) < 6 || strcmp(f[5], ifname) != 0 || strlen(f[0]) != 32 ||
		    strspn(f[0], "0123456789abcdefABCDEF") != 32 || !num(f[3], 16, &scope) ||
		    !num(f[4], 16, &flags))
			continue;
		/* Global scope only; not IFA_F_TEMPORARY (0x01), DADFAILED (0x08), DEPRECATED (0x20):
		 * a temporary address changes daily and would force a new certificate each boot. */
		if (scope != 0 || (flags & (0x01 | 0x08 | 0x20)))
			continue;
		unsigned char bin[16];
		for (size_t i = 0; i < 16; i++) {
			char pair[3] = {f[0][2 * i], f[0][2 * i + 1], '\0'};
			bin[i] = (unsigned char)strtoul(pair, NULL, 16);
		}
		char text[INET6_ADDRSTRLEN];
		if (inet_ntop(AF_INET6, bin, text, sizeof text))
			fl_net_addrs_add(out, text, NULL);
	}
}

static char *read_proc(const char *path)
{
	char *buf = NULL;
	size_t len;
	if (fl_fs_read(path, PROC_MAX, &buf, &len, NULL) < 0)
		return NULL;
	return buf;
}

int fl_net_vm_addrs(struct fl_addrs *out, char ifname[IF_NAMESIZE], struct fl_err *e)
{
	char dev[IF_NAMESIZE] = "";
	char *r4 = read_proc("/proc/net/route"), *r6 = read_proc("/proc/net/ipv6_route");
	int found = fl_net_default_iface(r4, r6, dev);
	free(r4);
	free(r6);
	if (found < 0)
		return fl_err_set(e, FL_EXIT_FAIL,
		                  "Cannot detect VM IP for certificate SAN: there is no default route. Check "
		                  "NETWORK=YES in the VM context, or give the address with --ip");
	if (ifname)
		snprintf(ifname, IF_NAMESIZE, "%s", dev);

	struct ifaddrs *ifs = NULL;
	if (getifaddrs(&ifs) == 0) {
		size_t dl = strlen(dev);
		for (struct ifaddrs *i = ifs; i; i = i->ifa_next) {
			/* IPv4 alias labels appear as eth0:1. */
			if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET ||
			    strncmp(i->ifa_name, dev, dl) != 0 ||
			    (i->ifa_name[dl] != '\0' && i->ifa_name[dl] != ':'))
				continue;
			const struct in_addr *a =
			    &((const struct sockaddr_in *)(const void *)i->ifa_addr)->sin_addr;
			uint32_t h = ntohl(a->s_addr);
			if ((h >> 24) == 127 || (h >> 16) == 0xa9fe || h == 0)
				continue;
			char text[INET_ADDRSTRLEN];
			if (inet_ntop(AF_INET, a, text, sizeof text))
				fl_net_addrs_add(out, text, NULL);
		}
		freeifaddrs(ifs);
	}
	char *i6 = read_proc("/proc/net/if_inet6");
	if (i6) {
		fl_net_inet6_addrs(i6, dev, out);
		free(i6);
	}
	if (out->n == 0)
		return fl_err_set(
		    e, FL_EXIT_FAIL,
		    "Cannot detect VM IP for certificate SAN: the default-route interface %s has no "
		    "usable address. Check NETWORK=YES in the VM context, or give the address with --ip",
		    dev);
	return 0;
}
