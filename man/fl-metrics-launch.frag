.SS Run by fl-launch
On a SuperLink with
.BR FL_METRICS_ENABLED=YES ,
.BR "fl-launch start"
runs
.B fl-metrics serve
beside Flower under the same supervision: the unit
.B flower\-metrics.service
(After=, PartOf= and WantedBy= flower\-superlink.service; Restart=on\-failure; as
.BR \-\-owner ,
the owner of the state database; no Environment=), or, without a supervisor, a process group
of its own started after Flower and stopped before it.
It binds the VM address fl-launch publishes
.B FL_ENDPOINT
on
.RB ( \-\-bind ),
on
.BR FL_METRICS_PORT ,
and reads the state database
.RB ( \-\-db )
and, for a native SuperLink, Flower's log file
.RB ( \-\-follow ).
.B fl-launch publish\-ready
adds
.BI FL_METRICS_ENDPOINT= ADDRESS : PORT
to the SuperLink's OneGate attributes.
On a SuperNode whose context names OneGate, fl-launch runs
.B fl-metrics publish
the same way
.RB ( flower\-metrics\-publish.service ,
.B \-\-container flower\-supernode
or
.BR "\-\-pidfile \-\-log" ).
fl-launch keeps passing
.B metrics\-enabled
and
.B metrics\-port
in the run config: the demo app opens no port and only emits its events; an app with an
exporter of its own must be given another port.
See fl-launch(1),
.BR METRICS .
