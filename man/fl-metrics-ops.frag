.SH MONITORING FILES
flkit installs what an operator puts on the monitoring VM under
.I share/flkit/monitoring/
of the installation prefix
.RI ( /usr/local
by default):
.TP
.I prometheus/prometheus.yml
scrape configuration: job
.B fl_training
on the SuperLink's port 9101 (labels
.BR role=superlink ,
.BR deployment=flower-opennebula ),
job
.B dcgm_gpu
on the SuperNodes' port 9400, every 15 s (5 s for rounds shorter than 5 s), a commented
.B file_sd_configs
alternative, and
.B rule_files
naming the alert rules.
.TP
.I prometheus/fl-alerts.yml
the eight alerts of groups
.B fl_training_alerts
and
.BR gpu_health_alerts ,
with
.I prometheus/fl-alerts.test.yml
for
.BR "promtool test rules" .
.TP
.I grafana/provisioning/
the Prometheus datasource with the fixed uid
.B flkit-prometheus
and the dashboard provider;
.I grafana/dashboards/
the FL Training Overview, GPU Health and Client Health dashboards, whose panels name that uid
(no
.B ${DS_PROMETHEUS}
placeholder).
.PP
The rules differ from the specification's where it was wrong:
.B FLTrainingStalled
and
.B FLTrainingNotStarted
joined
.B fl_training_status
(no labels) with the
.BR strategy -labelled
round gauges by a plain
.B and
and could never fire; they match
.BR "ignoring(strategy)" .
.B FLTrainingStalled
now fires after 15 minutes without round progress
.RB ( "changes(fl_round_current[15m]) == 0" ),
where the specification's
.B offset 10m
with
.B for: 15m
took 25.
.B FLClientFailureRate
rates
.BR fl_clients_failed_total .
