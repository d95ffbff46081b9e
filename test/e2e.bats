#!/usr/bin/env bats
# e2e: real Flower federations on loopback, booted through the toolkit as the appliances boot
# (test/e2e/federation.sh: a OneGate emulator; SuperLink chain fl-context -> fl-certgen ->
# fl-launch -> publish-ready; SuperNode chains fl-onegate discover -> fl-certgen -> fl-launch;
# `flwr run` of share/flower-app with `fl-context run-config`), against the project venv's
# Flower (1.41), the spec's 1.25.0 and the newest release (.venv-flwr-1.25 and
# .venv-flwr-newest from scripts/bootstrap), insecure and TLS, with SuperNode and SuperLink
# restarts and a SuperNode given the wrong CA; plus the app's six strategies in-process and
# its checkpoint resume.

# SC2016: $ and ` in single quotes are literal on purpose; SC2030/SC2031: bats runs each test
# in a subshell; SC2154: variables set by bats.
# shellcheck disable=SC2016,SC2030,SC2031,SC2154
bats_require_minimum_version 1.5.0
bats_load_library bats-support
bats_load_library bats-assert

SRC=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
FED=$SRC/test/e2e/federation.sh
APP=$SRC/share/flower-app
V141=$SRC/.venv
V125=$SRC/.venv-flwr-1.25
VNEW=$SRC/.venv-flwr-newest

setup_file() {
	local d
	for d in "${FLKIT_BIN:-}" "$SRC/build-e2e/bin" "$SRC/build/bin"; do
		if [ -n "$d" ] && [ -x "$d/fl-context" ]; then
			export FLKIT_FL_CONTEXT=$d/fl-context FLKIT_BIN=$d
			break
		fi
	done
	# The spec's Flower, in its own venv (PyPI is reachable from CI and dev machines).
	if ! "$V125/bin/python" -c 'import flwr, numpy; assert flwr.__version__ == "1.25.0"' 2>/dev/null; then
		rm -rf "$V125"
		mkdir -p "${V125%/*}"
		if ! { python3 -m venv "$V125" &&
			timeout 300 "$V125/bin/pip" install -q flwr==1.25.0 numpy; } >"$BATS_FILE_TMPDIR/venv-1.25.log" 2>&1; then
			echo "$V125 could not be created (python3 -m venv + pip install flwr==1.25.0 numpy): $(tail -n 1 "$BATS_FILE_TMPDIR/venv-1.25.log")" >"$BATS_FILE_TMPDIR/venv-1.25.skip"
			rm -rf "$V125"
		fi
	fi
}

setup() {
	[ -n "${FLKIT_FL_CONTEXT:-}" ] || skip "no fl-context binary (make BUILD=build-e2e all)"
	W=$BATS_TEST_TMPDIR/fed
	# Only the FL_* variables a test sets reach fl-context.
	while IFS='=' read -r name _; do unset "$name"; done < <(env | grep -E '^(ONEAPP_)?(FL|FLOWER|ML)_')
}

need() { # VENV: skip unless it holds Flower
	if [ "$1" = "$V125" ] && [ -e "$BATS_FILE_TMPDIR/venv-1.25.skip" ]; then
		skip "$(cat "$BATS_FILE_TMPDIR/venv-1.25.skip")"
	fi
	[ -x "$1/bin/flower-superlink" ] || skip "$1 has no Flower (scripts/bootstrap installs it)"
}

# federation [NAME=value]... [federation.sh options] VENV: one federation into $W.
federation() {
	local -a vars=()
	while [[ ${1-} =~ ^[A-Z_]+= ]]; do
		vars+=("$1")
		shift
	done
	run --separate-stderr env "${vars[@]}" "$FED" --deadline 240 "$@" "$W"
	if [ "$status" -ne 0 ]; then
		printf '%s\n' "$stderr" "--- superlink" >&2
		tail -n 20 "$W/logs/superlink.log" >&2
		# What each VM's services wrote (SuperNodes, the Fleet proxy) and the ServerApp.
		local f
		for f in "$W"/vm-*/flower/logs/*.log "$W/serverapp.log"; do
			[ -f "$f" ] || continue
			printf -- '--- %s\n' "${f#"$W"/}" >&2
			tail -n 15 "$f" >&2
		done
	fi
	assert_success
	assert_line "status finished:completed"
}

# assert_events: events.jsonl follows design 04 §3.2 and holds one complete 3-round run
# whose aggregated loss falls every round, starting below the initial model's.
assert_events() {
	local rounds=${1:-3}
	run jq -e -s --argjson n "$rounds" '
		def fields($k): .data as $d | ($d | type == "object") and all($k[]; . as $f | $d | has($f));
		all(.[];
			(.timestamp | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$"))
			and (.level | IN("DEBUG", "INFO", "WARNING", "ERROR"))
			and .logger == "flwr" and .role == "superlink"
			and (.event as $e | .message | startswith($e + ": ")) and (.source | type == "string")
			and (if .event == "training_start" then fields(["strategy", "num_rounds", "min_clients"])
			elif .event == "round_start" then fields(["round", "num_clients_selected", "strategy"])
			elif .event == "round_end" then fields(["round", "num_clients_responded", "aggregated_loss",
				"aggregated_accuracy", "round_duration_seconds"])
			elif .event == "evaluation_result" then fields(["round", "loss", "accuracy", "num_examples"])
			elif .event == "checkpoint_saved" then fields(["round", "path", "size_bytes"])
			elif .event == "training_end" then fields(["total_rounds", "final_loss", "final_accuracy",
				"total_duration_seconds"])
			else false end))
		and ([.[] | select(.event == "training_start")] | length == 1)
		and ([.[] | select(.event == "training_end")] | length == 1)
		and ([.[] | select(.event == "round_start") | .data.round] == [range(1; $n + 1)])
		and ([.[] | select(.event == "round_start") | .data.num_clients_selected] | all(. == 2))
		and ([.[] | select(.event == "round_end")] | map(.data) as $r
			| ($r | map(.round)) == [range(1; $n + 1)]
			and ($r | all(.num_clients_responded == 2))
			and ([range(1; $n) | $r[.].aggregated_loss < $r[. - 1].aggregated_loss] | all))
		and ((first(.[] | select(.event == "evaluation_result" and .data.round == 0)).data.loss)
			> (first(.[] | select(.event == "round_end")).data.aggregated_loss))
	' "$W/events.jsonl"
	if [ "$status" -ne 0 ]; then
		cat "$W/events.jsonl" >&2
	fi
	assert_success
	run grep -c . "$W/events.jsonl"
	[ "$output" -ge $((3 * rounds + 3)) ]
}

result() { # KEY: a value of federation.sh's result.env
	sed -n "s/^$1=//p" "$W/result.env"
}

# assert_checkpoints DIR ROUND...: the round files exist and are committed (a manifest entry
# each, its SHA-256 sha256sum's, the round's loss and accuracy), every round file in DIR is,
# checkpoint_latest.npz is a relative link to the last one, the JSON names it, and numpy loads
# them (the latest = that round's).
assert_checkpoints() {
	local dir=$1 venv=$2 r
	shift 2
	local last=${*: -1}
	for r in "$@"; do
		[ -f "$dir/checkpoint_round_$r.npz" ] || fail "no $dir/checkpoint_round_$r.npz"
		run jq -r --argjson r "$r" '.rounds[] | select(.round == $r)
			| "\(.sha256) \(.size) \(.arrays) \(.metrics | has("loss") and has("accuracy"))"' \
			"$dir/checkpoint_manifest.json"
		assert_output "$(sha256sum "$dir/checkpoint_round_$r.npz" | cut -d' ' -f1) $(stat -c %s "$dir/checkpoint_round_$r.npz") 2 true"
	done
	assert_equal "$(jq -r '[.rounds[].file] | join(" ")' "$dir/checkpoint_manifest.json")" \
		"$(cd "$dir" && find . -maxdepth 1 -name 'checkpoint_round_*.npz' -printf '%f\n' | sort -V | paste -sd' ')"
	[ -L "$dir/checkpoint_latest.npz" ] || fail "$dir/checkpoint_latest.npz is not a symlink"
	assert_equal "$(readlink "$dir/checkpoint_latest.npz")" "checkpoint_round_$last.npz"
	run jq -e --argjson r "$last" '.round == $r and .num_arrays == 2 and (.timestamp | test("\\+00:00$"))' \
		"$dir/checkpoint_latest.json"
	assert_success
	run "$venv/bin/python" -B - "$dir" "$last" <<'EOF'
import os, sys
import numpy as np
d, last = sys.argv[1], sys.argv[2]
with np.load(os.path.join(d, "checkpoint_latest.npz")) as z, \
        np.load(os.path.join(d, f"checkpoint_round_{last}.npz")) as y:
    assert z.files == ["arr_0", "arr_1"], z.files
    assert [z[k].shape for k in z.files] == [(8,), (1,)]
    assert all(np.isfinite(z[k]).all() and (z[k] == y[k]).all() for k in z.files)
    assert np.abs(z["arr_0"]).sum() > 0, "the saved model is still the initial one"
assert not [f for f in os.listdir(d) if f.endswith(".tmp")], os.listdir(d)
print("ok")
EOF
	assert_output ok
	# One checkpoint_saved event per file, with its size.
	for r in "$@"; do
		run jq -e -s --argjson r "$r" --arg p "$dir/checkpoint_round_$r.npz" \
			--argjson s "$(stat -c %s "$dir/checkpoint_round_$r.npz")" \
			'[.[] | select(.event == "checkpoint_saved" and .data.round == $r)] | length == 1 and .[0].data.path == $p and .[0].data.size_bytes == $s' \
			"$W/events.jsonl"
		assert_success
	done
}

assert_all_stopped() {
	local g
	[ -s "$W/pgids" ] || fail "federation.sh recorded no processes"
	# A zombie is not running: where PID 1 reaps orphans late, the exited Flower processes
	# fl-launch started (their parent exits at once) linger as zombies for a while.
	while read -r g; do
		if ps -o stat= -g "$g" 2>/dev/null | grep -qv '^Z'; then
			ps -o pid,stat,args -g "$g" >&2
			fail "process group $g is still running"
		fi
	done <"$W/pgids"
}

# --- fl-metrics and Prometheus (federation.sh --metrics): metrics/prom.json is what
# Prometheus' query API held after the run, for every fl_* series of the fl_training job.

# prom_opt: M=(--metrics) when Prometheus is installed; else M=() and the test's metric checks
# report themselves skipped (under CI=true a missing prometheus fails).
prom_opt() {
	M=()
	if command -v prometheus >/dev/null; then
		M=(--metrics)
	elif [ "${CI:-}" = true ]; then
		fail "prometheus is not installed (apt-get install prometheus; scripts/bootstrap does)"
	fi
}
need_prom() {
	prom_opt
	[ ${#M[@]} -gt 0 ] || skip "prometheus is not installed (apt-get install prometheus)"
}

# pv NAME [LABEL=VALUE]: the value Prometheus had for the series NAME (with that label).
pv() {
	local sel=${2:-}
	jq -r --arg n "$1" --arg k "${sel%%=*}" --arg v "${sel#*=}" '[.result[]
		| select(.metric.__name__ == $n and ($k == "" or .metric[$k] == $v)) | .value[1]]
		| if length == 1 then .[0] else "\(length) series" end' "$W/metrics/prom.json"
}
assert_pv() { # NAME[,LABEL=VALUE] VALUE: numerically equal
	local got
	got=$(pv "${1%%,*}" "$([[ $1 == *,* ]] && echo "${1#*,}")")
	jq -en --arg a "$got" --arg b "$2" '($a | tonumber? // null) == ($b | tonumber)' >/dev/null ||
		fail "Prometheus: $1 is '$got', expected $2 (fl-metrics' log: $(tail -n 3 "$W/logs/fl-metrics.log"))"
}

# assert_scraped: fl-metrics served and Prometheus scraped it, with the target's labels, and
# the exposition passes `promtool check metrics`.
assert_scraped() {
	[ -s "$W/metrics/prom.json" ] || fail "no metrics/prom.json: federation.sh --metrics did not run"
	run jq -r '[.result[].metric | "\(.job) \(.role) \(.deployment) \(.instance | test("^127\\.0\\.0\\.1:[0-9]+$"))"] | unique | .[]' \
		"$W/metrics/prom.json"
	assert_output "fl_training superlink e2e true"
	# fl-launch ran it (FL_METRICS_ENABLED=YES) and published where it serves.
	run jq -r '.VM.USER_TEMPLATE.FL_METRICS_ENDPOINT' "$W/onegate/vm-100.json"
	assert_output "$(jq -r '.result[0].metric.instance' "$W/metrics/prom.json")"
	grep -q '^fl_training_status ' "$W/metrics/exposition.txt" || fail "no exposition from fl-metrics: $(cat "$W/metrics/exposition.txt")"
	# promtool finds nothing but the one lint line the spec's name fl_round_total (a gauge) gets.
	run bash -c 'promtool check metrics <"$1" 2>&1' _ "$W/metrics/exposition.txt"
	run grep -v '^fl_round_total non-counter metrics should not have "_total" suffix$' <<<"$output"
	assert_failure 1
}

# assert_round_moved: during the run Prometheus saw max(fl_round_current) rise to 3 (at least
# two values, never back), and `fl-metrics show` on the same sources says "round 3 of 3".
assert_round_moved() {
	run jq -se '. as $v | ($v | length) > 0 and $v[-1] == 3 and
		([range(1; $v | length) | $v[.] >= $v[. - 1]] | all) and ($v | unique | length) >= 2' \
		"$W/metrics/round_current.txt"
	[ "$status" -eq 0 ] || fail "max(fl_round_current) during the run: $(uniq "$W/metrics/round_current.txt" | paste -sd' ')"
	grep -q 'round 3 of 3' "$W/metrics/show.txt" || fail "fl-metrics show: $(cat "$W/metrics/show.txt")"
}

# assert_metrics_events STRATEGY: with the app's events, after the 3-round run.
assert_metrics_events() {
	local s=$1 loss
	if [ ${#M[@]} -eq 0 ]; then
		echo "# metrics not checked: prometheus is not installed" >&3
		return 0
	fi
	assert_scraped
	assert_pv "fl_round_current,strategy=$s" 3
	assert_pv "fl_round_total,strategy=$s" 3
	assert_pv fl_clients_connected 2
	assert_pv fl_training_status 2
	assert_pv "fl_round_duration_seconds_count,strategy=$s" 3
	loss=$(jq -r 'select(.event == "round_end") | .data.aggregated_loss' "$W/events.jsonl" | tail -n 1)
	run jq -en --arg a "$(pv fl_aggregated_loss "strategy=$s")" --argjson b "$loss" \
		'($a | tonumber) as $x | ($x - $b | fabs) <= 1e-9 * ($b | fabs)'
	assert_success
	assert_round_moved
}

@test "flower 1.41, insecure: FedAvg runs 3 rounds, the loss falls, checkpoints every 2 rounds" {
	need "$V141"
	federation FL_CHECKPOINT_ENABLED=YES FL_CHECKPOINT_INTERVAL=2 \
		FL_CHECKPOINT_PATH="$BATS_TEST_TMPDIR/ckpt" "$V141"
	assert_equal "$(result VERSION)" 1.41.0
	assert_equal "$(result ROUNDS)" 3
	assert_line --regexp '^round 3 loss 0\.[0-9]+ accuracy 0\.[0-9]+$'
	assert_events 3
	assert_checkpoints "$BATS_TEST_TMPDIR/ckpt" "$V141" 2 3
	[ ! -e "$BATS_TEST_TMPDIR/ckpt/checkpoint_round_1.npz" ]
	run grep -c 'No checkpoint found at' "$W/serverapp.log"
	assert_output 1
	run grep -c 'Option `--insecure` was set' "$W/logs/superlink.log"
	assert_output 1
	assert_all_stopped
}

@test "flower 1.41, TLS: FedProx over a CA-signed SuperLink certificate" {
	need "$V141"
	federation FL_STRATEGY=FedProx FL_PROXIMAL_MU=0.1 --tls "$V141"
	assert_equal "$(result TLS)" 1
	assert_events 3
	run jq -r 'select(.event == "training_start") | .data.strategy' "$W/events.jsonl"
	assert_output FedProx
	run grep -c 'Option `--insecure` was set' "$W/logs/superlink.log"
	assert_output 0
	run grep -c 'Uvicorn running on https://127.0.0.1:' "$W/logs/superlink.log"
	assert_output 1
	assert_all_stopped
}

@test "flower 1.25.0, TLS: FedAdam with checkpoints, federation in the app's pyproject; fl-metrics' values reach Prometheus" {
	need "$V125"
	prom_opt
	federation FL_STRATEGY=FedAdam FL_CHECKPOINT_ENABLED=YES FL_CHECKPOINT_INTERVAL=1 \
		FL_CHECKPOINT_PATH="$BATS_TEST_TMPDIR/ckpt" --tls "${M[@]}" "$V125"
	assert_equal "$(result VERSION)" 1.25.0
	assert_equal "$(result ERA)" A
	assert_events 3
	assert_checkpoints "$BATS_TEST_TMPDIR/ckpt" "$V125" 1 2 3
	grep -q '^\[tool.flwr.federations.e2e\]' "$W/app/pyproject.toml"
	run grep -c 'Starting Fleet API (gRPC-rere) on 127.0.0.1:' "$W/logs/superlink.log"
	assert_output 1
	run grep -c 'Option `--insecure` was set' "$W/logs/superlink.log"
	assert_output 0
	# Up to 1.26 the ServerApp writes into the SuperLink's own output too.
	grep -q '"event":"training_end"' "$W/logs/superlink.log"
	assert_metrics_events FedAdam
	[ ${#M[@]} -eq 0 ] || assert_pv fl_checkpoint_saved_total 3
	assert_all_stopped
}

# onegate ATTR VM: what VM published, as the emulator holds it after the boot chains.
onegate() {
	jq -r --arg a "$1" '.VM.USER_TEMPLATE[$a] // "<absent>"' "$W/onegate/vm-$2.json"
}

@test "newest Flower (.venv-flwr-newest), TLS: the boot chain publishes readiness, SuperNodes find it, 3 rounds through the Fleet proxy" {
	need "$VNEW"
	prom_opt
	federation --tls --restart-superlink --second-rounds 1 --deadline 300 "${M[@]}" "$VNEW"
	assert_metrics_events FedAvg
	local v fleet
	v=$("$VNEW/bin/python" -c 'import flwr; print(flwr.__version__)')
	assert_equal "$(result VERSION)" "$v"
	assert_events 3
	# The SuperLink: one PUT with every attribute, FL_CA_CERT = its CA, nothing stale.
	fleet=$(sed -n "s/^FL_FLEET_API_ADDRESS=//p" "$W/vm-100/superlink.conf" | tr -d "'")
	assert_equal "$(onegate FL_READY 100)" YES
	assert_equal "$(onegate FL_ENDPOINT 100)" "$fleet"
	assert_equal "$(onegate FL_ROLE 100)" superlink
	assert_equal "$(onegate FL_TLS 100)" YES
	assert_equal "$(onegate FL_VERSION 100)" "$v"
	assert_equal "$(onegate FL_CA_CERT 100)" "$(base64 -w0 "$W/vm-100/flower/certs/ca.crt")"
	assert_equal "$(onegate FL_ERROR 100)" "<absent>"
	# The SuperNodes: discovered that endpoint, trusted that CA, published their readiness.
	for vm in 101 102; do
		assert_equal "$(onegate FL_NODE_READY $vm)" YES
		assert_equal "$(onegate FL_NODE_ID $vm)" "$vm"
		assert_equal "$(onegate FL_VERSION $vm)" "$v"
		grep -qx "FL_SUPERLINK_ADDRESS=$fleet" "$W/vm-$vm/discovery.env"
		cmp "$W/vm-100/flower/certs/ca.crt" "$W/vm-$vm/flower/certs/ca.crt"
		grep -qx 'FL_TLS=YES' "$W/vm-$vm/trust.env"
	done
	assert_equal "$(sed -n 's/^FL_NODE_CONFIG=//p' "$W/vm-101/supernode.conf")" "'partition-id=0 num-partitions=2'"
	assert_equal "$(sed -n 's/^FL_NODE_CONFIG=//p' "$W/vm-102/supernode.conf")" "'partition-id=1 num-partitions=2'"
	# The key of the CA never left the SuperLink's root-only directory.
	[ ! -e "$W/vm-100/flower/certs/ca.key" ] && [ -f "$W/vm-100/ca/ca.key" ]
	# Flower 1.40+: the Fleet proxy is in the path. Flower listens on 127.0.0.1 at the Control
	# port and nowhere else; nginx alone holds the Fleet port SuperNodes were given.
	local control listen
	control=$(sed -n "s/^FL_CONTROL_API_ADDRESS=//p" "$W/vm-100/superlink.conf" | tr -d "'")
	listen=$(awk '$1 == "LISTEN" {print $4, $NF}' "$W/proxy.txt")
	assert_equal "$(grep -c " " <<<"$listen")" 2
	grep -qx "127\.0\.0\.1:${control##*:} users:((\".*" <<<"$listen"
	if grep -qE "^127\.0\.0\.1:${control##*:} .*nginx" <<<"$listen"; then fail "nginx on the Control port"; fi
	grep -qE "^$fleet users:\(\(\"nginx\"" <<<"$listen"
	# From the published address: Control and Runtime refused (403), a Fleet route reaches Flower.
	run -0 grep -c ' 403$' "$W/proxy.txt"
	assert_output 8
	run -0 grep '^POST /v1/fleet/get-run ' "$W/proxy.txt"
	refute_output --partial ' 403'
	refute_output --partial ' 502'
	# The proxy survived the SuperLink's restart: the never restarted SuperNodes trained again.
	assert_equal "$(result SECOND_STATUS)" finished:completed
	assert_equal "$(result SECOND_ROUNDS)" 1
	assert_all_stopped
}

@test "flower 1.41: a SuperNode restarted mid-run (fl-launch restart) rejoins and the run completes" {
	need "$V141"
	federation --restart-supernode "$V141"
	grep -q '^RESTARTED_SUPERNODE=1$' "$W/restarts.env"
	assert_equal "$(result ROUNDS)" 3
	# The node left during round 2 (or 3) and came back under a new node ID.
	local before after
	before=$(sed -n 's/.*SuperNode ID: \([0-9]*\).*/\1/p' "$W/vm-101/flower/logs/flower-supernode.log.1")
	after=$(sed -n 's/.*SuperNode ID: \([0-9]*\).*/\1/p' "$W/vm-101/flower/logs/flower-supernode.log")
	[ -n "$before" ] && [ -n "$after" ] && [ "$before" != "$after" ]
	run jq -e -s '[.[] | select(.event == "round_end") | .data]
		| length == 3 and .[0].num_clients_responded == 2 and .[2].num_clients_responded == 2
		and all(.num_clients_responded >= 1) and .[2].aggregated_loss < .[0].aggregated_loss' "$W/events.jsonl"
	assert_success
	assert_all_stopped
}

@test "flower 1.25.0, TLS: a restarted SuperLink keeps its SuperNodes and the next run resumes" {
	need "$V125"
	federation FL_CHECKPOINT_ENABLED=YES FL_CHECKPOINT_PATH="$BATS_TEST_TMPDIR/ckpt" \
		--tls --restart-superlink --second-rounds 1 "$V125"
	assert_equal "$(result STATUS)" finished:completed
	assert_equal "$(result SECOND_STATUS)" finished:completed
	assert_equal "$(result SECOND_ROUNDS)" 1
	grep -q 'Resuming from checkpoint: round 3' "$W/serverapp2.log"
	# Both SuperNodes served the second run without being restarted (federation.sh checks
	# their PIDs) and the SuperLink log is a new one.
	run jq -e -s '[.[] | select(.event == "round_end")] | length == 1 and .[0].data.num_clients_responded == 2' \
		"$W/events2.jsonl"
	assert_success
	[ -s "$W/vm-100/flower/logs/flower-superlink.log.1" ]
	assert_all_stopped
}

@test "TLS: a SuperNode given the wrong CA refuses to start and says what to fix" {
	need "$V141"
	run --separate-stderr "$FED" --deadline 120 --tls --wrong-ca "$V141" "$W"
	assert_failure 1
	[[ $stderr == *"certificate verify failed (unable to get local issuer certificate)"* ]]
	[[ $stderr == *"This SuperNode cannot connect with the CA it was given: check FL_SSL_CA_CERTFILE"* ]]
	[[ $stderr == *"not starting flower-supernode"* ]]
	[ ! -e "$W/vm-102/flower/run/flower-supernode.pid" ]
	# SuperNode 0, with the CA from OneGate, booted.
	grep -q 'SuperNode ID:' "$W/vm-101/flower/logs/flower-supernode.log"
	assert_all_stopped
}

@test "resume: a run starts from checkpoint_latest.npz and counts its rounds from 1 again" {
	local v=$V125
	[ -e "$BATS_FILE_TMPDIR/venv-1.25.skip" ] && v=$V141
	need "$v"
	local ck=$BATS_TEST_TMPDIR/ckpt
	# A model trained 40 epochs on partition 0, saved as round 7; its loss on the server's
	# test set is what the resumed run must report for its initial model.
	run "$v/bin/python" -B - "$APP" "$ck" <<'EOF'
import sys
sys.path.insert(0, sys.argv[1])
from flkit_app import checkpoint, task
x, y, _, _ = task.load_partition(2026, 0, 2)
m = task.train(task.initial_arrays(), x, y, 0.1, 40)
checkpoint.save(sys.argv[2], 7, m)
print(task.loss_and_accuracy(m, *task.load_server_testset(2026))[0])
EOF
	assert_success
	local seeded=$output
	federation FL_NUM_ROUNDS=1 FL_CHECKPOINT_ENABLED=YES FL_CHECKPOINT_PATH="$ck" "$v"
	grep -q 'Resuming from checkpoint: round 7 (2 arrays loaded)' "$W/serverapp.log"
	run jq -e -s --argjson l "$seeded" \
		'first(.[] | select(.event == "evaluation_result" and .data.round == 0)).data.loss - $l | fabs < 1e-9' \
		"$W/events.jsonl"
	assert_success
	assert_events 1
	assert_checkpoints "$ck" "$v" 1
	[ -f "$ck/checkpoint_round_7.npz" ]
	assert_all_stopped
}

@test "strategies: all six aggregate the app's replies (flwr 1.41 and 1.25, in-process grid)" {
	local v s n
	need "$V141"
	for v in "$V141" "$V125"; do
		[ -x "$v/bin/python" ] || continue
		for s in FedAvg FedProx FedAdam Krum Bulyan FedTrimmedAvg; do
			# Bulyan needs 4f+3 replies: with 2 nodes it keeps the model, with 3 it trains.
			for n in 2 3; do
				[ "$s" = Bulyan ] || [ "$n" = 2 ] || continue
				# Checkpoint and metrics keys too: every key fl-context emits must be declared.
				run --separate-stderr bash -c 'set -o pipefail
					FL_STRATEGY=$6 FL_CHECKPOINT_ENABLED=YES FL_CHECKPOINT_INTERVAL=1 \
						FL_CHECKPOINT_PATH=$7 FL_METRICS_ENABLED=YES "$1" -E run-config --format toml |
						"$2/bin/python" -B "$3/test/e2e/strategies.py" "$4" "$5"' _ \
					"$FLKIT_FL_CONTEXT" "$v" "$SRC" "$APP" "$n" "$s" "$BATS_TEST_TMPDIR/ck-${v##*/}-$s-$n"
				assert_success
				printf '%s\n' "$output" >"$BATS_TEST_TMPDIR/ev"
				run jq -e -s --arg s "$s" --argjson n "$n" '
					[.[] | select(.event == "round_end") | .data] as $r
					| ($r | length) == 3 and ($r | all(.num_clients_responded == $n))
					and (first(.[] | select(.event == "training_start")).data.strategy == $s)
					and ([.[] | select(.event == "checkpoint_saved") | .data.round] == [1, 2, 3])
					and (if $s == "Bulyan" and $n == 2
						then ($r | map(.aggregated_loss) | unique | length) == 1
						else $r[2].aggregated_loss < $r[1].aggregated_loss
							and $r[1].aggregated_loss < $r[0].aggregated_loss end)' \
					"$BATS_TEST_TMPDIR/ev"
				[ "$status" -eq 0 ] || cat "$BATS_TEST_TMPDIR/ev" >&2
				assert_success "$s with $n nodes on ${v##*/}"
			done
		done
	done
}

@test "strategies: run-config values reach the Flower strategy's parameters" {
	local v s
	need "$V141"
	for s in FedAvg FedProx FedAdam Krum Bulyan FedTrimmedAvg; do
		env FL_STRATEGY=$s FL_PROXIMAL_MU=0.25 FL_SERVER_LR=0.05 FL_CLIENT_LR=0.2 \
			FL_NUM_MALICIOUS=1 FL_MIN_AVAILABLE_CLIENTS=7 FL_MIN_FIT_CLIENTS=7 \
			FL_MIN_EVALUATE_CLIENTS=6 FL_TRIM_BETA=0.3 \
			"$FLKIT_FL_CONTEXT" -E run-config --format toml >"$BATS_TEST_TMPDIR/$s.toml"
	done
	for v in "$V141" "$V125"; do
		[ -x "$v/bin/python" ] || continue
		run "$v/bin/python" -B - "$APP" "$BATS_TEST_TMPDIR" <<'EOF'
import sys, tomllib
sys.path.insert(0, sys.argv[1])
from flkit_app import server_app
want = {
    "FedAvg": {}, "FedProx": {"proximal_mu": 0.25},
    "FedAdam": {"eta": 0.05, "eta_l": 0.2, "beta_1": 0.9, "beta_2": 0.99, "tau": 1e-9},
    "Krum": {"num_malicious_nodes": 1}, "Bulyan": {"num_malicious_nodes": 1},
    "FedTrimmedAvg": {"beta": 0.3},
}
for name, attrs in want.items():
    with open(f"{sys.argv[2]}/{name}.toml", "rb") as f:
        cfg = tomllib.load(f)
    st, got, _ = server_app.build_strategy(cfg, lambda n: server_app.Tracker(n, 3))
    assert got == name and type(st).__name__ == name, (name, got)
    attrs = dict(attrs, min_train_nodes=7, min_evaluate_nodes=6, min_available_nodes=7,
                 fraction_train=1.0, fraction_evaluate=1.0)
    for k, x in attrs.items():
        assert getattr(st, k) == x, (name, k, getattr(st, k), x)
# An unknown name falls back to FedAvg (boot validation should have refused it).
st, got, _ = server_app.build_strategy({"strategy": "FedYogi"}, lambda n: server_app.Tracker(n, 3))
assert got == "FedAvg", got
print("ok")
EOF
		assert_output --partial ok
		assert_success
	done
}

@test "checkpoint: committed files, numeric member order, a regular-file latest is replaced" {
	need "$V141"
	run --separate-stderr "$V141/bin/python" -B - "$APP" "$BATS_TEST_TMPDIR/ck" <<'EOF'
import json, os, sys
import numpy as np
sys.path.insert(0, sys.argv[1])
from flkit_app import checkpoint as c
d = sys.argv[2]
assert c.load_latest(d) is None
assert [r for r in range(13) if c.should_save(r, 5, 12)] == [5, 10, 12]
assert [r for r in range(4) if c.should_save(r, 5, 3)] == [3]
arrays = [np.full(i + 1, i, np.float32) for i in range(12)]  # arr_10, arr_11 sort before arr_2
os.makedirs(d)
open(os.path.join(d, c.LATEST), "wb").close()  # a regular file where the link belongs
path, size = c.save(d, 4, arrays)
assert path == os.path.join(d, "checkpoint_round_4.npz") and size == os.path.getsize(path)
assert os.readlink(os.path.join(d, c.LATEST)) == "checkpoint_round_4.npz"
meta = json.load(open(os.path.join(d, c.META)))
assert meta["round"] == 4 and meta["num_arrays"] == 12, meta
got, rnd = c.load_latest(d)
assert rnd == 4 and all((a == b).all() and a.dtype == b.dtype for a, b in zip(got, arrays))
c.save(d, 5, arrays[:2])
assert c.load_latest(d)[1] == 5 and len(c.load_latest(d)[0]) == 2
assert sorted(os.listdir(d)) == [".fl-ckpt.lock", "checkpoint_latest.json", "checkpoint_latest.npz",
                                 "checkpoint_manifest.json", "checkpoint_round_4.npz",
                                 "checkpoint_round_5.npz"]
m = json.load(open(os.path.join(d, c.MANIFEST)))
assert [(e["round"], e["arrays"]) for e in m["rounds"]] == [(4, 12), (5, 2)], m
os.remove(os.path.join(d, "checkpoint_round_5.npz"))  # the latest round lost: round 4 resumes
got, rnd = c.load_latest(d)
assert rnd == 4 and len(got) == 12
print("ok")
EOF
	assert_success
	assert_output ok
	# The lost round is skipped aloud (on stderr, Flower's log), not silently.
	[[ $stderr == *"round 5: "*"checkpoint_round_5.npz: No such file or directory: skipped"* ]]
}

# assert_metrics_db: the app's events off, what fl-metrics derives from the state database
# alone after the 3-round run reached Prometheus.
assert_metrics_db() {
	assert_scraped
	run grep -c '"event":' "$W/serverapp.log"
	assert_output 0
	assert_pv fl_clients_connected 2
	assert_pv fl_training_status 2
	# Rounds, their durations, loss and accuracy from Flower's own ServerApp lines in the
	# database's logs table.
	assert_pv fl_round_current,strategy=FedAvg 3
	assert_pv fl_round_total,strategy=FedAvg 3
	assert_pv fl_round_duration_seconds_count,strategy=FedAvg 3
	assert_pv fl_clients_responded 2
	run jq -e '[.result[] | select(.metric.__name__ | IN("fl_aggregated_loss", "fl_aggregated_accuracy"))
		| .value[1] | tonumber | . > 0 and . < 1] | length == 2 and all' "$W/metrics/prom.json"
	assert_success
	assert_round_moved
}

@test "metrics, flower 1.25.0, the app's events off: rounds, clients, status, loss from the state database reach Prometheus" {
	need "$V125"
	need_prom
	federation --metrics --run-config events-enabled=false "$V125"
	assert_metrics_db
	assert_all_stopped
}

@test "metrics, newest Flower, the app's events off: rounds, clients, status, loss from the state database reach Prometheus" {
	need "$VNEW"
	need_prom
	federation --metrics --run-config events-enabled=false "$VNEW"
	assert_metrics_db
	assert_all_stopped
}

@test "prom/server.sh: Prometheus scrapes a target every second; value, wait and range read its API" {
	need_prom
	local p=$BATS_TEST_TMPDIR/prom www=$BATS_TEST_TMPDIR/www port
	mkdir -p "$www"
	printf '# TYPE fl_round_current gauge\nfl_round_current{strategy="FedAvg"} 1\nfl_training_status 1\n' >"$www/metrics"
	# A static target: Python's file server on a port the OS picks.
	setsid python3 -c 'import http.server, functools, sys
h = functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[1])
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), h)
open(sys.argv[2], "w").write(str(s.server_port))
s.serve_forever()' "$www" "$BATS_TEST_TMPDIR/port" >/dev/null 2>&1 3>&- &
	local web=$!
	for _ in $(seq 100); do [ -s "$BATS_TEST_TMPDIR/port" ] && break; sleep 0.1; done
	port=$(cat "$BATS_TEST_TMPDIR/port")
	run "$SRC/test/prom/server.sh" start "$p" "127.0.0.1:$port" role=superlink deployment=e2e
	assert_success
	assert_line --regexp '^endpoint=http://127\.0\.0\.1:[0-9]+$'
	assert_line --regexp '^pid=[0-9]+$'
	grep -q 'scrape_interval: 1s' "$p/prometheus.yml"
	run "$SRC/test/prom/server.sh" wait "$p" 'fl_round_current{strategy="FedAvg"}' 1 60
	assert_success
	run "$SRC/test/prom/server.sh" query "$p" fl_training_status
	assert_success
	run jq -r '.result[0].metric | "\(.job) \(.role) \(.deployment)"' <<<"$output"
	assert_output "fl_training superlink e2e"
	sed -i 's/} 1$/} 2/' "$www/metrics"
	run "$SRC/test/prom/server.sh" wait "$p" 'fl_round_current' 2 60
	assert_success
	run "$SRC/test/prom/server.sh" range "$p" 'fl_round_current' "$(($(date +%s) - 60))" "$(($(date +%s) + 1))"
	assert_success
	run jq -sc 'unique' <<<"$output"
	assert_output '[1,2]'
	# A value it never reaches: exit 1, saying what it saw; a bad query: Prometheus' error.
	run --separate-stderr "$SRC/test/prom/server.sh" wait "$p" 'fl_round_current' 5 2
	assert_failure 1
	[[ $stderr == *"is 2, not 5, after 2 attempts"* ]]
	run --separate-stderr "$SRC/test/prom/server.sh" value "$p" 'fl_round_current{'
	assert_failure 1
	[[ $stderr == *"parse error"* ]]
	run --separate-stderr "$SRC/test/prom/server.sh" start "$p" 'no-port' role=x
	assert_failure 1
	[[ $stderr == *"is not HOST:PORT"* ]]
	"$SRC/test/prom/server.sh" stop "$p"
	kill "$web"
	[ ! -e "$p/pid" ]
}

@test "federation.sh: the deadline stops the run with exit 4 and no process left behind" {
	need "$V141"
	run --separate-stderr "$FED" --deadline 8 "$V141" "$W"
	assert_failure 4
	[[ $stderr == *"at the deadline"* ]] || [[ $stderr == *"by the deadline"* ]]
	assert_all_stopped
}

@test "federation.sh: usage errors exit 2" {
	run --separate-stderr "$FED" "$BATS_TEST_TMPDIR/nope" "$W"
	assert_failure 2
	[[ $stderr == *"venv '$BATS_TEST_TMPDIR/nope' does not exist"* ]]
	run --separate-stderr "$FED" --deadline 0 "$V141" "$W"
	assert_failure 2
	run --separate-stderr "$FED" "$V141"
	assert_failure 2
}
