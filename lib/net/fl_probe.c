/* fl_probe: is a Flower endpoint up? What the probes report (fl_probe_tcp.c, fl_probe_tls.c,
 * fl_probe_grpc.c hold the probes themselves). */
#include "fl_probe.h"

const char *fl_probe_fail_name(enum fl_probe_fail why)
{
	switch (why) {
	case FL_PROBE_OK: return "ok";
	case FL_PROBE_SETUP: return "setup";
	case FL_PROBE_UNREACHABLE: return "unreachable";
	case FL_PROBE_TIMEOUT: return "timeout";
	case FL_PROBE_HANDSHAKE: return "handshake";
	case FL_PROBE_VERIFY: return "verify";
	case FL_PROBE_HOSTNAME: return "hostname";
	case FL_PROBE_PROTOCOL: return "protocol";
	case FL_PROBE_NOT_SERVING: return "not-serving";
	}
	return "unknown";
}
