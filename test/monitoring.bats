#!/usr/bin/env bats
# share/monitoring: what operators install on their monitoring VM. The Prometheus config and
# rules pass promtool, each alert fires in the rule tests and the spec's fix is shown, the
# Grafana dashboards are provisionable, and every PromQL expression names only metrics that
# fl-metrics (or DCGM) exports.

load helpers

MON="$FLKIT_SRC/share/monitoring"
PROM="$MON/prometheus"
DASH=("$MON"/grafana/dashboards/*.json)

# need CMD WHAT: skip naming the component when CMD is missing; under CI=true, fail instead.
need() {
	command -v "$1" >/dev/null 2>&1 && return 0
	[ "${CI:-}" = true ] && fail "$1 is missing ($2) and CI=true: install it (scripts/bootstrap)"
	skip "$1 is missing ($2): install it (scripts/bootstrap)"
}

# A python with PyYAML (the venv's, else Debian's python3-yaml) in $PY.
need_yaml_python() {
	local p
	for p in "$FLKIT_SRC/.venv/bin/python" /usr/bin/python3 python3; do
		if "$p" -c 'import yaml' 2>/dev/null; then
			PY=$p
			return 0
		fi
	done
	[ "${CI:-}" = true ] && fail "no python3 with PyYAML and CI=true: apt-get install python3-yaml"
	skip "no python3 with PyYAML: apt-get install python3-yaml"
}

names() {
	"$PY" "$FLKIT_SRC/test/monitoring/promql_names.py" "$@"
}

setup() {
	TMP=$(mktemp -d)
}

teardown() {
	rm -rf "$TMP"
}

@test "prometheus.yml: promtool check config accepts it and the rule file it names" {
	need promtool "Debian package prometheus"
	run promtool check config "$PROM/prometheus.yml"
	assert_success
	assert_output --partial "SUCCESS: 1 rule files found"
	assert_output --partial "SUCCESS: 8 rules found"
}

@test "prometheus.yml: scrapes fl_training on 9101 and dcgm_gpu on 9400 every 15s with role and deployment" {
	need_yaml_python
	run "$PY" -c '
import sys, yaml
c = yaml.safe_load(open(sys.argv[1]))
for j in c["scrape_configs"]:
    s = j["static_configs"][0]
    print(j["job_name"], j["scrape_interval"], " ".join(s["targets"]),
          s["labels"]["role"], s["labels"]["deployment"])
print(" ".join(c["rule_files"]))' "$PROM/prometheus.yml"
	assert_success
	assert_output - <<-'OUT'
	fl_training 15s <superlink_ip>:9101 superlink flower-opennebula
	dcgm_gpu 15s <supernode_1_ip>:9400 <supernode_2_ip>:9400 supernode flower-opennebula
	fl-alerts.yml
	OUT
}

@test "fl-alerts.yml: promtool check rules finds the 8 alerts, lint clean" {
	need promtool "Debian package prometheus"
	run promtool check rules --lint=all --lint-fatal "$PROM/fl-alerts.yml"
	assert_success
	assert_output --partial "SUCCESS: 8 rules found"
}

@test "fl-alerts.yml: the 8 alerts of the spec with their severity and summary" {
	need_yaml_python
	run "$PY" -c '
import sys, yaml
for g in yaml.safe_load(open(sys.argv[1]))["groups"]:
    for r in g["rules"]:
        print(g["name"], r["alert"], r.get("for", "0s"), r["labels"]["severity"], r["annotations"]["summary"])
' "$PROM/fl-alerts.yml"
	assert_success
	assert_output - <<-'OUT'
	fl_training_alerts FLTrainingStalled 0s critical FL training stalled -- no round progress in 15 minutes
	fl_training_alerts FLExcessiveClientDropout 5m warning More than 50% of selected clients have dropped
	fl_training_alerts FLClientFailureRate 5m warning High client failure rate
	fl_training_alerts FLTrainingNotStarted 30m warning FL training configured but not started
	gpu_health_alerts GPUMemoryExhaustion 2m critical GPU memory nearly exhausted (< 10% free)
	gpu_health_alerts GPUUtilizationDrop 10m warning GPU allocated but idle
	gpu_health_alerts GPUTemperatureCritical 2m critical GPU temperature critical (> 90C)
	gpu_health_alerts GPUXIDError 1m critical GPU XID error detected
	OUT
}

@test "fl-alerts.test.yml: promtool test rules passes: each alert fires on its series, silent on healthy ones" {
	need promtool "Debian package prometheus"
	run promtool test rules "$PROM/fl-alerts.test.yml"
	assert_success
	assert_output --partial "SUCCESS"
}

@test "fl-alerts.test.yml: every alert of fl-alerts.yml fires in some test, and is expected silent in another" {
	need_yaml_python
	run "$PY" -c '
import sys, yaml
rules = [r["alert"] for g in yaml.safe_load(open(sys.argv[1]))["groups"] for r in g["rules"]]
fires, silent = set(), set()
for t in yaml.safe_load(open(sys.argv[2]))["tests"]:
    for a in t.get("alert_rule_test", []):
        (fires if a.get("exp_alerts") else silent).add(a["alertname"])
for r in rules:
    print(r, "fires" if r in fires else "NEVER FIRES", "silent" if r in silent else "NEVER SILENT")
' "$PROM/fl-alerts.yml" "$PROM/fl-alerts.test.yml"
	assert_success
	refute_output --partial NEVER
	assert_equal "${#lines[@]}" 8
}

@test "fl-alerts.test.yml: with the spec's plain 'and' back, FLTrainingStalled and FLTrainingNotStarted stop firing" {
	need promtool "Debian package prometheus"
	sed 's/and ignoring(strategy) /and /' "$PROM/fl-alerts.yml" >"$TMP/fl-alerts.yml"
	cp "$PROM/fl-alerts.test.yml" "$TMP/"
	run promtool test rules "$TMP/fl-alerts.test.yml"
	assert_failure
	assert_output --partial "alertname: FLTrainingStalled, time: 20m"
	assert_output --partial "alertname: FLTrainingNotStarted, time: 35m"
	# Both tests fail on "got: []": the alerts found nothing, not a different annotation.
	[ "$(grep -c '^ *got:\[\]' <<<"$output")" -eq 2 ]
}

@test "fl-alerts.test.yml: with the spec's counter name fl_clients_failed, FLClientFailureRate stops firing" {
	need promtool "Debian package prometheus"
	sed 's/fl_clients_failed_total\[/fl_clients_failed[/' "$PROM/fl-alerts.yml" >"$TMP/fl-alerts.yml"
	cp "$PROM/fl-alerts.test.yml" "$TMP/"
	run promtool test rules "$TMP/fl-alerts.test.yml"
	assert_failure
	assert_output --partial "alertname: FLClientFailureRate, time: 15m"
}

@test "fl-alerts.yml: the spec's stall rule (offset 10m, for 15m; labels fixed) fires only after 25 minutes without progress" {
	need promtool "Debian package prometheus"
	run promtool test rules "$FLKIT_SRC/test/monitoring/spec-stalled.test.yml"
	assert_success
}

@test "dashboards: every PromQL expression parses (promtool, as recording rules)" {
	need promtool "Debian package prometheus"
	need jq "Debian package jq"
	{
		echo 'groups:'
		echo '  - name: dashboards'
		echo '    rules:'
		jq -r '[.. | objects | select(has("expr")) | .expr] | .[] | @json' "${DASH[@]}" |
			awk '{ printf "      - record: dashboard:expr_%d\n        expr: %s\n", NR, $0 }'
	} >"$TMP/dash-rules.yml"
	run promtool check rules "$TMP/dash-rules.yml"
	assert_success
	assert_output --partial "SUCCESS: 16 rules found"
}

@test "dashboards: provisionable: fixed datasource uid flkit-prometheus, no \${DS_ placeholder, no __inputs" {
	need jq "Debian package jq"
	local f
	for f in "${DASH[@]}"; do
		run grep -c '\${DS_' "$f"
		assert_output 0
		run jq -e 'has("__inputs") | not' "$f"
		assert_success
		# Every datasource object anywhere in the dashboard, panels and targets alike.
		run jq -r '[.. | objects | select(has("datasource")) | .datasource | tojson] | unique | .[]' "$f"
		assert_success
		assert_output '{"type":"prometheus","uid":"flkit-prometheus"}'
	done
	run grep -h 'uid:' "$MON/grafana/provisioning/datasources/prometheus.yaml"
	assert_output '    uid: flkit-prometheus'
}

@test "dashboards: valid Grafana JSON: uid, title, schemaVersion, panels with id, gridPos and targets with refId and expr" {
	need jq "Debian package jq"
	local f
	for f in "${DASH[@]}"; do
		run jq -e '
			(.uid | type == "string") and (.title | type == "string") and
			(.schemaVersion | type == "number") and (.panels | length > 0) and
			all(.panels[]; (.id | type == "number") and
				(.gridPos | has("h") and has("w") and has("x") and has("y")) and
				(.targets | length > 0) and
				all(.targets[]; (.refId | type == "string") and (.expr | length > 0))) and
			([.panels[].id] | length == (unique | length))' "$f"
		assert_success
	done
	run jq -r '.title + ": " + ([.panels[].title] | join(", "))' "${DASH[@]}"
	assert_output - <<-'OUT'
	Client Health: Connected Clients, Client Failures, Client Participation Rate, Client Response Time
	FL Training Overview: Training Progress, Training Status, Client Participation, Loss Convergence Curve, Accuracy Convergence Curve, Round Duration
	GPU Health: GPU Utilization, GPU Memory Usage, GPU Temperature, Power Usage, XID Errors, Free Memory
	OUT
}

@test "grafana provisioning: the provider reads /var/lib/grafana/dashboards into folder Flower FL Monitoring" {
	need_yaml_python
	run "$PY" -c '
import sys, yaml
d = yaml.safe_load(open(sys.argv[1]))["datasources"][0]
p = yaml.safe_load(open(sys.argv[2]))["providers"][0]
print(d["name"], d["type"], d["access"], d["url"], d["isDefault"], d["editable"], d["uid"])
print(p["name"], p["orgId"], p["folder"], p["type"], p["options"]["path"])' \
		"$MON/grafana/provisioning/datasources/prometheus.yaml" \
		"$MON/grafana/provisioning/dashboards/dashboards.yaml"
	assert_success
	assert_output - <<-'OUT'
	Prometheus prometheus proxy http://prometheus:9090 True False flkit-prometheus
	Flower-OpenNebula 1 Flower FL Monitoring file /var/lib/grafana/dashboards
	OUT
}

@test "names: the extractor finds metric names, not functions, keywords, labels, strings or durations" {
	need_yaml_python
	run names --extract \
		'sum by (le) (increase(fl_round_duration_seconds_bucket[1h]))' \
		'fl_round_current == fl_round_current offset 10m and ignoring(strategy) fl_training_status == 1' \
		'rate(fl_clients_failed_total{job="a",x=~"b}c"}[5m:1m]) > 0.5e3' \
		'{__name__="fl_x",job="y"} + on(instance) group_left(strategy) fl_y' \
		'count_values("count", fl_z) or vector(1) * Inf unless topk(3, DCGM_FI_DEV_GPU_UTIL)'
	assert_success
	assert_output - <<-'OUT'
	fl_round_duration_seconds_bucket
	fl_round_current fl_round_current fl_training_status
	fl_clients_failed_total
	fl_x fl_y
	fl_z DCGM_FI_DEV_GPU_UTIL
	OUT
}

@test "names: a metric fl-metrics does not export is reported with its file and expression" {
	need_yaml_python
	printf '# TYPE fl_round_duration_seconds histogram\n# TYPE fl_clients_failed_total counter\n' >"$TMP/expo"
	cat >"$TMP/rules.yml" <<-'YML'
	groups:
	  - name: g
	    rules:
	      - alert: A
	        expr: rate(fl_clients_failed[10m]) > 0.5 or fl_round_duration_seconds > 1
	      - alert: B
	        expr: rate(fl_clients_failed_total[10m]) > fl_round_duration_seconds_count
	YML
	run names "$TMP/expo" "$TMP/rules.yml"
	assert_failure 1
	assert_output "$TMP/rules.yml: rate(fl_clients_failed[10m]) > 0.5 or fl_round_duration_seconds > 1: not exported: fl_clients_failed, fl_round_duration_seconds"
}

@test "names: every PromQL expression in the rules and dashboards, and every series of the rule tests, names only metrics fl-metrics or DCGM exports" {
	need_yaml_python
	# The exported families: the # TYPE lines of fl-metrics' own exposition of no events.
	run --separate-stderr "$FLKIT_BIN/fl-metrics" parse --format prom - </dev/null
	assert_success
	printf '%s\n' "$output" >"$TMP/expo"
	for m in fl_round_current fl_round_total fl_round_duration_seconds fl_aggregated_loss \
		fl_aggregated_accuracy fl_clients_connected fl_clients_selected fl_clients_responded \
		fl_clients_failed_total fl_checkpoint_saved_total fl_training_status; do
		grep -q "^# TYPE $m " "$TMP/expo" || fail "fl-metrics parse exports no $m"
	done
	run names "$TMP/expo" "$PROM/fl-alerts.yml" "$PROM/fl-alerts.test.yml" \
		"$FLKIT_SRC/test/monitoring/spec-stalled.test.yml" "${DASH[@]}"
	assert_success
	assert_output ""
}
