.\" fl-metrics(1): the serve command (for COMMANDS), then its options.
.TP
.B serve
Follow the sources and serve the metrics over HTTP until
.B SIGTERM
or
.B SIGINT
(exit 0).
It reads the SuperLink configuration.
Unless
.B FL_METRICS_ENABLED
is
.B YES
or
.B \-\-force
is given, it logs
.RI \(dq "FL_METRICS_ENABLED is not YES: not serving /metrics (use \-\-force)" \(dq
at INFO and exits 0.
.IP
.B Port and address.
The port is
.BR \-\-port ,
else
.B FL_METRICS_PORT
(default 9101); either must be 1024\-65535 and not 9091\-9093, else
.RB \(dq "Invalid FL_METRICS_PORT: '<v>'. Must be integer 1024\-65535, not 9091\-9093." \(dq
and exit 1.
It listens on exactly one address:
.BR \-\-bind ,
else the VM address (the first address of the default-route interface, as
.BR fl\-launch (1)
finds it), never every interface unless
.B \-\-bind 0.0.0.0
or
.B \-\-bind ::
says so; with no VM address found it exits 1 asking for
.BR \-\-bind .
A port held by another process (another fl-metrics, or the app's own prometheus_client
exporter) is
.RI \(dq "... Address already in use: another fl\-metrics or the app's own exporter holds it; change FL_METRICS_PORT" \(dq
and exit 1; an address that is not this machine's is exit 1 too.
.IP
.B Sources.
The files of
.B \-\-follow
(read from their start, or with
.B \-\-from\-end
from their end; rotation is followed) and the state database of
.BR \-\-db .
With neither, the SuperLink state database where
.BR fl\-launch (1)
keeps it:
.IR /opt/flower/ FL_DATABASE
(default
.IR /opt/flower/state/state.db ).
Every
.B \-\-poll
seconds (default 1) the sources are read; when anything was read, the state is rendered once in
both formats into a new snapshot.
A source that fails (a database not there yet, not readable, not Flower's) is logged as a
WARNING once per change of its error and read again at every poll; serving goes on.
.B SIGHUP
is ignored.
.IP
.B HTTP
(libmicrohttpd, two threads).
.RS
.TP
.BR GET ", " HEAD " /metrics"
200 with the current snapshot: OpenMetrics 1.0.0
.RB ( "application/openmetrics\-text; version=1.0.0; charset=utf\-8" ,
ending in
.BR "# EOF" )
when the
.B Accept
header names
.B application/openmetrics\-text
with a q above 0, else the text format 0.0.4
.RB ( "text/plain; version=0.0.4; charset=utf\-8" ).
A query string is ignored.
.B HEAD
sends the same headers, with the body's
.BR Content\-Length ,
and no body.
503 only in the moment between binding and the first snapshot.
.TP
.BR GET ", " HEAD " /"
200: a small HTML page linking
.BR /metrics .
.TP
Any other path
404, a one-line text body.
.TP
Any other method
405 with
.BR "Allow: GET, HEAD" .
.RE
.IP
.B Snapshots.
A scrape takes a reference to the newest snapshot (an immutable buffer per format) and sends
it: it never renders, never waits for the sources and never sees an event half applied, so
every body is one consistent state (a histogram's
.B _count
equals its
.B +Inf
bucket, always).
A new snapshot replaces the old one for the scrapes that start after it; the old one is freed
when its last scrape ends.
.IP
.B Limits.
At most 128 connections are served at once; more wait in the kernel's listen backlog (512)
until one ends, and beyond the backlog the kernel refuses or drops them: a flood never stops
the server.
A connection without traffic for 10 seconds (idle between requests, or a slow client that
stops halfway through its request) is closed.
