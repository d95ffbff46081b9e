.\" fl-metrics(1), the publish verb and its values: stitched into man/fl-metrics.1 by the lead.
.SS publish
.B fl-metrics publish
.RB [ \-\-onegate ]
.RB [ \-\-interval
.IR SECONDS ]
.RB [ \-\-poll
.IR SECONDS ]
.RB [ \-\-once ]
.RB [ \-\-log
.IR FILE ]
.RB [ \-\-container
.I NAME
|
.B \-\-pidfile
.IR FILE ]
.PP
On a SuperNode VM, from the host: publishes
.BR FL_CLIENT_STATUS ,
.B FL_TRAINING_ACTIVE
and
.B FL_ROUND_NUMBER
to OneGate for OneFlow elasticity (see
.BR "ELASTICITY VALUES" ).
The state comes from the SuperNode's own output and whether it runs:
.TP
.BI \-\-container " NAME"
(the default, with
.IR NAME " " flower\-supernode
when neither
.B \-\-log
nor
.B \-\-pidfile
is given): each poll runs
.B docker inspect
(no shell, a built environment without the OneGate identity) for
.B .State.Running
and the container's json-file
.BR .LogPath ,
which is followed (from its start; again from the start when the path changes: a new container).
.TP
.BI \-\-pidfile " FILE"
the process runtime: running when the pid in
.I FILE
is alive and its command line names
.B flower\-supernode
(argv[0], [1] or [2]; a reused pid running something else counts as not running).
.TP
.BI \-\-log " FILE"
the SuperNode's output (Flower's text lines, or Docker json-file envelopes); with
.B \-\-container
it replaces the LogPath. Alone, the output is the only source.
.PP
Followed across rotation (rename and copytruncate). Lines read:
.B Starting Flower SuperNode
(and
.BR "SuperNode terminated" ):
not registered;
.B "SuperNode ID: "\c
.IR digits :
registered;
.BI "[RUN " r ", ROUND " n ]\c
: the round of the next message;
.B "Receiving: train message"
or
.B evaluate
(also
.BR "Received: " ):
a message in flight;
.BR "Sent successfully" :
the reply sent, and its round becomes
.BR FL_ROUND_NUMBER ;
.B "Failed to receive message"
or a run not in
.BR RUNNING :
nothing in flight.
.PP
Publishing: each attribute in its own
.B PUT /vm
through libfl's OneGate client (form body
.BI data= K = V &type=1\c
, the identity as for
.BR fl\-onegate (1):
TOKENTXT, VMID and ONEGATE_ENDPOINT from the context, else the token from
.IR /run/one\-context/token.txt ;
the token never appears in argv, logs or a child's environment).
At start: the observed state (not blindly IDLE), then
.B FL_ROUND_NUMBER
once a round is known. Afterwards only what changed, and every
.B \-\-interval
(default 30, 5 to 3600 accepted, 30 to 60 recommended) all known values again.
At most 3 requests back to back and 1 per second sustained; values are read when sent, so a
status that flaps between polls goes out once, with its final value.
.B \-\-poll
(default 1) is how often the sources are read.
.PP
Failures never stop the daemon (nor training): the warning
.BI "Failed to publish " K = V " to OneGate: " reason
once per distinct reason, then
.B still failing
at most every 5 minutes, and
.B OneGate takes updates again
when one succeeds. Unsent values are retried at the next poll; after 401 or 403 (the
message names where the token came from: TOKENTXT in the context file, the environment or
the token file, and what to check: the VM template's
.B TOKEN=YES
and VMID) the configuration and token are read again and the request retried at each
refresh interval. SIGTERM or SIGINT: exit 0.
.B \-\-once
reads the output there is now, publishes each current value once (with the client's
retries, 30 s in all) and exits 0, 3 when OneGate is unreachable (or the identity is
incomplete), 1 when it answers an error (401, 403, 4xx, 500).
.PP
Refused (exit 1) when the configuration is the SuperLink's
.RB ( FLKIT_ROLE=superlink
in the rendered file): elasticity never acts on the SuperLink, a singleton. Exit 3 also in
daemon mode when the OneGate identity is incomplete at start.
.SH ELASTICITY VALUES
OneFlow averages each attribute over the running VMs of the role and compares the mean, so
every value is a number whose mean means what a rule says.
.TP
.B FL_CLIENT_STATUS
.BR 0 " DISCONNECTED"
(not running, or not registered since its last start),
.BR 1 " IDLE"
(registered, no message in flight),
.BR 2 " TRAINING"
(a train or evaluate message received, its reply not yet sent). The spec's 1/2/3 with 3 for
DISCONNECTED made
.B "FL_CLIENT_STATUS > 1.5"
fire when nodes died (2, 2, 3 average 2.33): here a node that is gone pulls the mean down.
With T training, I idle and D disconnected VMs, the mean is (2T + I) / (T + I + D), and
.B "> 1.5"
holds exactly when T > I + 3D: with every node connected, more than half are training.
Examples: 2, 2, 1 \(-> 1.67 (true); 2, 2, 0 \(-> 1.33 (false: one node gone, so "most
training" is no longer a reason to add one; replacing lost nodes is min_vms' job); 2, 1, 1
\(-> 1.33 (false); 2, 2, 2, 0 \(-> 1.5 (false, not greater); 2, 2, 2, 2, 0 \(-> 1.6 (true).
.TP
.B FL_TRAINING_ACTIVE
.B 1
while TRAINING, else
.BR 0 .
The spec's YES/NO cannot be averaged, so it is not published (nor under another name). Its
mean is the share of the role's VMs training: 1, 1, 0 \(-> 0.67.
.TP
.B FL_ROUND_NUMBER
the last round this node sent a reply in (an integer, from its first reply on). For progress
and per-VM views
.RB ( "fl\-onegate vm show" );
its mean over nodes that joined at different rounds is no rule input.
.PP
The role's elasticity policies an operator copies (period and cooldown as design 04 \(sc5.1
recommends; every SuperNode VM must run the publisher, or the mean is over fewer values):
.PP
.nf
.ft CW
"elasticity_policies": [
  {"type":"CHANGE","adjust":1,"expression":"FL_CLIENT_STATUS > 1.5",
   "period_number":3,"period":60,"cooldown":300},
  {"type":"CHANGE","adjust":-1,"expression":"FL_TRAINING_ACTIVE < 0.01",
   "period_number":10,"period":60,"cooldown":600}]
.ft
.fi
.PP
The first adds a SuperNode when most nodes are busy training for 3 minutes; the second
removes one only after 10 minutes in which no node of the role was training (a mean below
0.01 is all zeros for up to 100 VMs), so a scale-down never lands inside a round. A laxer
protection,
.BR "FL_TRAINING_ACTIVE < 0.5" ,
allows removal while fewer than half train. Keep min_vms at least FL_MIN_FIT_CLIENTS.
