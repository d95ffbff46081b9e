#!/usr/bin/env bats
# share/oneflow: the OneFlow service templates pass OneFlow's own template rules and flkit's
# (test/oneflow_check.py), their user_inputs are what fl-context generates, each variable at
# exactly one level, and every bad fixture is refused with its message. The multi-site
# templates (flower-coordinator.json, flower-training-site.json) are checked as their kind.

# SC2154: $stderr is set by bats' run --separate-stderr; SC2016: python code in single quotes.
# shellcheck disable=SC2154,SC2016
load helpers

FLOW="$FLKIT_SRC/share/oneflow"
CHECK="$BATS_TEST_DIRNAME/oneflow_check.py"
BAD="$FIXTURES/oneflow"

# The message each bad fixture must be refused with, and how many errors it has in all (so a
# fixture breaks one rule, or the one rule and the flkit rule it implies).
declare -gA WANT=(
	[repeated-role]="2|Role name 'supernode' is repeated"
	[role-name]="2|Role 'super-node': 'name' must match ^\\w+\$"
	[min-above-cardinality]="1|Role 'supernode' 'cardinality' must be greater than or equal to 'min_vms'"
	[max-below-cardinality]="1|Role 'supernode' 'cardinality' must be lower than or equal to 'max_vms'"
	[policy-without-bounds]="1|Role 'supernode' with  'elasticity_policies' or 'scheduled_policies'must define both 'min_vms' and 'max_vms'"
	[policy-without-type]="1|Role 'supernode', elasticity policy #0: 'type' is required"
	[policy-without-adjust]="1|Role 'supernode', elasticity policy #0: 'adjust' is required"
	[policy-bad-type]="1|Role 'supernode', elasticity policy #0: 'type' must be one of CHANGE, CARDINALITY, PERCENTAGE_CHANGE"
	[policy-empty-expression]="1|Role 'supernode', elasticity policy #0 'expression' cannot be empty"
	[policy-expression-syntax]="1|Role 'supernode', elasticity policy #0 'expression' parse error: "
	[policy-min-adjust-step]="1|Role 'supernode', elasticity policy #0: 'min_adjust_step' must be greater than or equal to 1"
	[scheduled-both]="1|Role 'supernode', scheduled policy #0 must define 'start_time' or 'recurrence', but not both"
	[scheduled-neither]="1|Role 'supernode', scheduled policy #0 needs to define either 'start_time' or 'recurrence'"
	[scheduled-bad-cron]="1|Role 'supernode', scheduled policy #0 'recurrence' is not a valid cron expression"
	[parent-missing]="1|Role 'supernode' has the parent 'coordinator', which is not a role of the service"
	[parents-cycle]="2|Role 'superlink' is in a parents cycle: superlink -> supernode -> superlink"
	[deployment]="2|service: 'deployment' must be one of none, straight"
	[pre7-vm-template]="2|flkit: Role 'supernode': 'vm_template' is the pre-7 name of 'template_id'"
	[role-type]="1|Unsupported role type \"vr_router\""
	[template-id-type]="1|Role 'superlink': 'template_id' must be of type integer"
	[input-two-levels]="1|flkit: input FL_LOG_LEVEL is defined in the service and in role 'supernode'"
	[input-twice-one-level]="1|flkit: input ML_FRAMEWORK is defined twice in role 'supernode'"
	[infrastructure-input]="1|flkit: ONEAPP_REPORT_READY in the user_inputs of the service: infrastructure variables belong in template_contents"
	[superlink-address-input]="1|flkit: ONEAPP_FL_SUPERLINK_ADDRESS in the user_inputs of role 'supernode': SuperNodes of a service find the SuperLink through OneGate"
	[superlink-address-context]="1|flkit: role 'supernode' CONTEXT sets ONEAPP_FL_SUPERLINK_ADDRESS"
	[input-spec]="1|flkit: input ONEAPP_FL_NUM_ROUNDS of role 'superlink' has the unknown type 'num'"
	[superlink-cardinality]="1|flkit: role 'superlink' must have cardinality, min_vms and max_vms 1"
	[superlink-policies]="1|flkit: role 'superlink' must have no elasticity or scheduled policies"
	[supernode-parent]="1|flkit: role 'supernode' must have the parent 'superlink'"
	[role-names]="1|flkit: the roles must be one 'superlink' and one 'supernode' (SuperNodes discover the role named superlink), not: server, client"
	[expression-attribute]="1|flkit: role 'supernode', elasticity policy #0 names 'CPU', which flkit does not publish (FL_CLIENT_STATUS, FL_TRAINING_ACTIVE, FL_ROUND_NUMBER)"
	[min-vms-strategy]="1|flkit: role 'supernode' min_vms 1 is below the 2 clients the strategy needs"
	[min-vms-krum]="1|flkit: role 'supernode' min_vms 2 is below the 5 clients the strategy needs (FL_MIN_FIT_CLIENTS=2, FL_MIN_EVALUATE_CLIENTS=2, FL_MIN_AVAILABLE_CLIENTS=2, Krum with FL_NUM_MALICIOUS=1 needs 5)"
	[no-token]="1|flkit: role 'supernode' CONTEXT needs TOKEN=\"YES\""
	[no-ready-script]="1|flkit: role 'superlink' CONTEXT needs READY_SCRIPT_PATH"
	[gate-off]="1|flkit: 'ready_status_gate' must be true"
	[network-undefined]="1|Role 'supernode' NIC NETWORK_ID '\$Public' names no network of the service"
	[network-spec]="1|service: network 'Private' is not a network input (M|network|<description>| |id:)"
	# bad-coordinator-* are checked --kind coordinator, bad-site-* --kind training-site.
	[coordinator-supernode-role]="1|flkit: a coordinator has one role, 'superlink' (SuperNodes, zone A's too, go in a training-site service), not: superlink, supernode"
	[coordinator-tls-default]="1|flkit: a coordinator must offer FL_TLS_ENABLED with the default YES"
	[coordinator-superlink-address]="1|flkit: ONEAPP_FL_SUPERLINK_ADDRESS in the user_inputs of role 'superlink': a coordinator has no SuperNode to read it"
	[site-parents]="2|flkit: role 'supernode' of a training site must have no parents"
	[site-superlink-role]="1|flkit: a training site has one role, 'supernode' (the SuperLink is in the coordinator zone's service), not: superlink, supernode"
	[site-address-optional]="1|flkit: a training site must offer FL_SUPERLINK_ADDRESS as a mandatory input (M|)"
	[site-no-ca]="1|flkit: a training site must offer FL_SSL_CA_CERTFILE as a mandatory input (M|)"
	[site-no-tls]="1|flkit: a training site must offer FL_TLS_ENABLED with the default YES"
	[site-no-partitions]="1|flkit: a training site must offer FL_NUM_PARTITIONS"
)

# kind FIXTURE-NAME: the --kind a bad fixture is checked as.
kind() {
	case $1 in
	coordinator-*) echo coordinator ;;
	site-*) echo training-site ;;
	*) echo service ;;
	esac
}

# defaults: the --default arguments with the registry's strategy minimums (fl-context -E get).
defaults() {
	local name value
	for name in FL_MIN_FIT_CLIENTS FL_MIN_EVALUATE_CLIENTS FL_MIN_AVAILABLE_CLIENTS; do
		value=$(flc -E get "$name") || return 1
		printf -- '--default\n%s=%s\n' "$name" "$value"
	done
}

# run_check FILE...: oneflow_check.py with the registry defaults, stderr in $stderr.
run_check() {
	local -a def
	mapfile -t def < <(defaults)
	[ "${#def[@]}" -eq 6 ] || fail "fl-context -E get gave no strategy defaults"
	run --separate-stderr python3 "$CHECK" "${def[@]}" "$@"
}

# registry: the --registry arguments, each role's standalone inputs in a file of the test's.
registry() {
	local role
	for role in superlink supernode; do
		flc user-inputs --role "$role" --oneapp --format json >"$BATS_TEST_TMPDIR/registry-$role.json" || return 1
		printf -- '--registry\n%s=%s\n' "$role" "$BATS_TEST_TMPDIR/registry-$role.json"
	done
}

# inputs ARGS...: the keys of `fl-context user-inputs ARGS --oneapp --format json`, sorted.
inputs() {
	flc user-inputs "$@" --oneapp --format json | python3 -c 'import json,sys; print("\n".join(sorted(json.load(sys.stdin))))'
}

@test "oneflow: the shipped templates pass OneFlow's rules and flkit's, each as its kind, with registry inputs" {
	local -a reg
	mapfile -t reg < <(registry)
	[ "${#reg[@]}" -eq 4 ] || fail "fl-context user-inputs gave no registry"
	run_check "${reg[@]}" "$FLOW/flower-service.json" "$FLOW/flower-service-elastic.json" \
		--kind coordinator "$FLOW/flower-coordinator.json" \
		--kind training-site "$FLOW/flower-training-site.json"
	assert_success
	assert_equal "$stderr" ""
}

@test "oneflow: every template in share/oneflow is checked by the test above" {
	run bash -c 'cd "$1" && ls *.json' _ "$FLOW"
	assert_output "flower-coordinator.json
flower-service-elastic.json
flower-service.json
flower-training-site.json"
}

@test "oneflow: the minimal fixtures the bad ones derive from pass" {
	run_check "$BAD/good-minimal.json" --kind coordinator "$BAD/good-coordinator.json" \
		--kind training-site "$BAD/good-training-site.json"
	assert_success
}

@test "oneflow: the single-site rules refuse a training site, the multi-site ones a single-site service" {
	run_check "$FLOW/flower-training-site.json"
	assert_failure 1
	grep -qF "SuperNodes of a service find the SuperLink through OneGate" <<<"$stderr"
	grep -qF "flkit: role 'supernode' must have the parent 'superlink'" <<<"$stderr"
	run_check --kind coordinator "$FLOW/flower-service.json"
	assert_failure 1
	grep -qF "flkit: a coordinator has one role, 'superlink'" <<<"$stderr"
	run_check --kind training-site "$FLOW/flower-service.json"
	assert_failure 1
	grep -qF "flkit: a training site has one role, 'supernode'" <<<"$stderr"
	grep -qF "must have no parents" <<<"$stderr"
}

@test "oneflow: every bad fixture is refused with its message" {
	local f name count msg n=0
	for f in "$BAD"/bad-*.json; do
		name=${f##*/bad-}
		name=${name%.json}
		[ -n "${WANT[$name]:-}" ] || fail "no expected message for bad-$name.json"
		count=${WANT[$name]%%|*}
		msg=${WANT[$name]#*|}
		run_check --kind "$(kind "$name")" "$f"
		[ "$status" -eq 1 ] || fail "bad-$name.json: exit $status, not 1 ($stderr)"
		grep -qF -- "$f: $msg" <<<"$stderr" || fail "bad-$name.json: no '$msg' in: $stderr"
		[ "$(grep -c . <<<"$stderr")" -eq "$count" ] || fail "bad-$name.json: not $count error(s): $stderr"
		n=$((n + 1))
	done
	assert_equal "$n" "${#WANT[@]}"
}

@test "oneflow: lowering the strategy minimum (fl-context defaults) lets min_vms 1 pass" {
	run --separate-stderr python3 "$CHECK" --default FL_MIN_FIT_CLIENTS=1 \
		--default FL_MIN_EVALUATE_CLIENTS=1 --default FL_MIN_AVAILABLE_CLIENTS=1 \
		"$BAD/bad-min-vms-strategy.json"
	assert_success
}

@test "oneflow: the service inputs and each role's are what fl-context generates" {
	local role
	run python3 -c 'import json,sys; print("\n".join(sorted(json.load(open(sys.argv[1]))["user_inputs"])))' "$FLOW/flower-service.json"
	assert_success
	assert_equal "$output" "$(inputs --role service)"
	for role in superlink supernode; do
		run python3 -c 'import json,sys; t=json.load(open(sys.argv[1])); print("\n".join(sorted(next(r for r in t["roles"] if r["name"]==sys.argv[2])["user_inputs"])))' "$FLOW/flower-service.json" "$role"
		assert_success
		assert_equal "$output" "$(inputs --role "$role" --service)"
	done
}

@test "oneflow: the multi-site inputs are the registry's lines, changed only where the design says" {
	# Every line is the standalone role's registry line but for these (design 04 §2.2).
	registry >/dev/null
	run python3 -c 'import json, sys
flow, reg = sys.argv[1], {r: json.load(open(f"{sys.argv[2]}/registry-{r}.json")) for r in ("superlink", "supernode")}
for name, role in (("flower-coordinator.json", "superlink"), ("flower-training-site.json", "supernode")):
    t = json.load(open(f"{flow}/{name}"))
    assert [r["name"] for r in t["roles"]] == [role]
    for level, ins in (("service", t["user_inputs"]), (role, t["roles"][0]["user_inputs"])):
        for k, v in ins.items():
            if v != reg[role][k]:
                print(name, level, k, v)' "$FLOW" "$BATS_TEST_TMPDIR"
	assert_success
	assert_output "flower-coordinator.json service ONEAPP_FL_TLS_ENABLED O|boolean|Enable TLS encryption||YES
flower-coordinator.json superlink ONEAPP_FL_NUM_ROUNDS O|number|Number of federated learning rounds||10
flower-training-site.json service ONEAPP_FL_TLS_ENABLED O|boolean|Enable TLS encryption||YES
flower-training-site.json supernode ONEAPP_FL_SUPERLINK_ADDRESS M|text|SuperLink Fleet API address (host:port)||
flower-training-site.json supernode ONEAPP_FL_SSL_CA_CERTFILE M|text64|CA certificate (base64 PEM)"
}

@test "oneflow: the multi-site templates offer the design's inputs at the design's level" {
	local want
	run python3 -c 'import json, sys
for name in sys.argv[2:]:
    t = json.load(open(f"{sys.argv[1]}/{name}"))
    print(name, "service", *sorted(k.removeprefix("ONEAPP_") for k in t["user_inputs"]))
    for r in t["roles"]:
        print(name, r["name"], *sorted(k.removeprefix("ONEAPP_") for k in r["user_inputs"]))' \
		"$FLOW" flower-coordinator.json flower-training-site.json
	assert_success
	want="flower-coordinator.json service FLOWER_VERSION FL_LOG_LEVEL FL_TLS_ENABLED
flower-coordinator.json superlink FL_CERT_EXTRA_SAN FL_CHECKPOINT_ENABLED FL_CHECKPOINT_INTERVAL FL_CHECKPOINT_KEEP FL_CHECKPOINT_PATH FL_CHECKPOINT_S3_ENDPOINT FL_CHECKPOINT_S3_REGION FL_CHECKPOINT_S3_URL FL_CLIENT_LR FL_GRPC_KEEPALIVE_TIME FL_GRPC_KEEPALIVE_TIMEOUT FL_MIN_AVAILABLE_CLIENTS FL_MIN_EVALUATE_CLIENTS FL_MIN_FIT_CLIENTS FL_NUM_MALICIOUS FL_NUM_ROUNDS FL_PROXIMAL_MU FL_SERVER_LR FL_SSL_CA_CERTFILE FL_SSL_CERTFILE FL_SSL_KEYFILE FL_STRATEGY FL_TRIM_BETA
flower-training-site.json service FLOWER_VERSION FL_LOG_LEVEL FL_TLS_ENABLED
flower-training-site.json supernode FL_CA_FINGERPRINT FL_GRPC_KEEPALIVE_TIME FL_GRPC_KEEPALIVE_TIMEOUT FL_NODE_CONFIG FL_NUM_PARTITIONS FL_PARTITION_OFFSET FL_SSL_CA_CERTFILE FL_SUPERLINK_ADDRESS FL_USE_CASE ML_FRAMEWORK"
	assert_output "$want"
}

@test "oneflow: --registry refuses an input its role does not read and a line that differs from the registry's" {
	local -a reg
	mapfile -t reg < <(registry)
	python3 -c 'import json, sys
t = json.load(open(sys.argv[1]))
ins = t["roles"][0]["user_inputs"]
ins["ONEAPP_FL_STRATEGY"] = "O|list|Aggregation strategy|FedAvg,FedProx|FedAvg"
ins["ONEAPP_FL_NUM_ROUNDS"] = "O|text|Number of federated learning rounds||10"
ins["ONEAPP_FL_NODE_CONFIG"] = "O|text|Space-separated key=value node config||"
t["user_inputs"]["ONEAPP_FL_LOG_LEVEL"] = "M|list|Log verbosity|DEBUG,INFO,WARNING,ERROR|DEBUG"
json.dump(t, open(sys.argv[2], "w"))' "$FLOW/flower-coordinator.json" "$BATS_TEST_TMPDIR/c.json"
	run_check "${reg[@]}" --kind coordinator "$BATS_TEST_TMPDIR/c.json"
	assert_failure 1
	assert_equal "$(grep -c . <<<"$stderr")" 3
	grep -qF "input ONEAPP_FL_STRATEGY of role 'superlink' is 'O|list|Aggregation strategy|FedAvg,FedProx|FedAvg', the registry's is" <<<"$stderr"
	grep -qF "input ONEAPP_FL_NUM_ROUNDS of role 'superlink' is 'O|text|" <<<"$stderr"
	grep -qF "input ONEAPP_FL_NODE_CONFIG of role 'superlink' is no variable role 'superlink' reads" <<<"$stderr"
}

@test "oneflow: each variable a role reads is offered at one level, FL_SUPERLINK_ADDRESS at none" {
	local role
	for role in superlink supernode; do
		run bash -c 'sort <(printf "%s\n" "$1" "$2" | grep .) | uniq -d' _ \
			"$(inputs --role service)" "$(inputs --role "$role" --service)"
		assert_output ""
		assert_equal "$( (inputs --role service; inputs --role "$role" --service) | sort)" \
			"$(inputs --role "$role" | grep -vx ONEAPP_FL_SUPERLINK_ADDRESS)"
	done
}

@test "oneflow: the elastic policies compare flkit's published values (fl-metrics(1) ELASTICITY)" {
	run python3 -c 'import json,sys
t = json.load(open(sys.argv[1]))
sn = next(r for r in t["roles"] if r["name"] == "supernode")
for p in sn["elasticity_policies"]:
    print(p["adjust"], p["expression"])' "$FLOW/flower-service-elastic.json"
	assert_success
	assert_line "1 FL_CLIENT_STATUS > 1.5"
	assert_line "-1 FL_TRAINING_ACTIVE < 0.01"
	# fl-metrics(1) defines what the means stand for: 0/1/2 and 1/0, not the spec's 1/2/3 and YES/NO.
	man=$(MANWIDTH=200 man -l "$FLKIT_SRC/man/fl-metrics.1" 2>/dev/null)
	grep -Eq '0 +DISCONNECTED' <<<"$man"
	grep -Eq '1 +IDLE' <<<"$man"
	grep -Eq '2 +TRAINING' <<<"$man"
}

@test "oneflow: the committed templates and marketplace files are what scripts/gen-appliance-files writes" {
	FLKIT_BIN=$FLKIT_BIN run --separate-stderr "$FLKIT_SRC/scripts/gen-appliance-files" --check
	assert_success
	assert_output ""
}

@test "oneflow: oneflow_check without a file, or a file that is not JSON" {
	run python3 "$CHECK"
	assert_failure 2
	printf '{"name": ' >"$BATS_TEST_TMPDIR/cut.json"
	run --separate-stderr python3 "$CHECK" "$BATS_TEST_TMPDIR/cut.json"
	assert_failure 1
	[[ $stderr == "$BATS_TEST_TMPDIR/cut.json: "* ]]
}

@test "oneflow: gen-appliance-files rewrites stale generated parts and keeps the hand-written ones" {
	local tree=$BATS_TEST_TMPDIR/tree vmt=share/marketplace/4d407218-cbca-41dd-a515-b76c8850f493.yaml
	mkdir -p "$tree/scripts" "$tree/share"
	cp "$FLKIT_SRC/scripts/gen-appliance-files" "$tree/scripts/"
	cp -R "$FLKIT_SRC/share/oneflow" "$FLKIT_SRC/share/marketplace" "$tree/share/"
	python3 -c 'import json, sys
p = sys.argv[1]
t = json.load(open(p))
del t["user_inputs"]["ONEAPP_FL_LOG_LEVEL"]
t["roles"][1]["user_inputs"]["ONEAPP_FL_LOG_LEVEL"] = "O|list|Log verbosity|DEBUG,INFO|INFO"
t["roles"][1]["cooldown"] = 123
json.dump(t, open(p, "w"), indent=2)' "$tree/share/oneflow/flower-service.json"
	sed -i -e 's/^\(    oneapp_fl_node_config: \).*/\1"O|text|stale||"/' \
		-e "s/^  memory: '8192'/  memory: '9999'/" "$tree/$vmt"

	FLKIT_BIN=$FLKIT_BIN run --separate-stderr "$tree/scripts/gen-appliance-files" --check
	assert_failure 1
	assert_line --partial '+++ share/oneflow/flower-service.json (generated)'
	assert_line --partial "+++ $vmt (generated)"
	FLKIT_BIN=$FLKIT_BIN run --separate-stderr "$tree/scripts/gen-appliance-files"
	assert_success
	# Only the hand-written edits are left: the cooldown and the memory.
	run diff -r "$FLKIT_SRC/share/oneflow" "$tree/share/oneflow"
	assert_failure 1
	assert_equal "$(grep -c '^[<>]' <<<"$output")" 2
	assert_line --regexp '^> +"cooldown": 123,$'
	run diff "$FLKIT_SRC/$vmt" "$tree/$vmt"
	assert_output "36c36
<   memory: '8192'
---
>   memory: '9999'"
}

@test "oneflow: gen-appliance-files refuses an unknown generated block and a missing fl-context" {
	local tree=$BATS_TEST_TMPDIR/tree
	mkdir -p "$tree/scripts" "$tree/share/oneflow" "$tree/share/marketplace"
	cp "$FLKIT_SRC/scripts/gen-appliance-files" "$tree/scripts/"
	printf 'a: 1\n# BEGIN generated inputs worker\n# END generated\n' >"$tree/share/marketplace/x.yaml"
	FLKIT_BIN=$FLKIT_BIN run --separate-stderr "$tree/scripts/gen-appliance-files" --check
	assert_failure 1
	[[ $stderr == *"x.yaml: unknown block 'inputs worker'"* ]]
	FLKIT_BIN=$tree/none run --separate-stderr "$tree/scripts/gen-appliance-files"
	assert_failure 1
	[[ $stderr == *"no fl-context at $tree/none/fl-context"* ]]
}

@test "oneflow: gen-appliance-files keeps the multi-site choices and stops on a name the registry does not offer the role" {
	local tree=$BATS_TEST_TMPDIR/tree
	mkdir -p "$tree/scripts" "$tree/share/oneflow" "$tree/share/marketplace"
	cp "$FLKIT_SRC/scripts/gen-appliance-files" "$tree/scripts/"
	cp "$FLOW/flower-training-site.json" "$tree/share/oneflow/"
	sed -i 's/"M|text64|CA certificate (base64 PEM)"/"O|text64|CA certificate (base64 PEM)"/' \
		"$tree/share/oneflow/flower-training-site.json"
	FLKIT_BIN=$FLKIT_BIN run --separate-stderr "$tree/scripts/gen-appliance-files" --check
	assert_failure 1
	assert_line '+        "ONEAPP_FL_SSL_CA_CERTFILE": "M|text64|CA certificate (base64 PEM)",'
	FLKIT_BIN=$FLKIT_BIN run --separate-stderr "$tree/scripts/gen-appliance-files"
	assert_success
	cmp "$FLOW/flower-training-site.json" "$tree/share/oneflow/flower-training-site.json"
	sed -i 's/"FL_USE_CASE", "FL_NODE_CONFIG"/"FL_USE_CASE", "FL_STRATEGY", "FL_NODE_CONFIG"/' "$tree/scripts/gen-appliance-files"
	FLKIT_BIN=$FLKIT_BIN run --separate-stderr "$tree/scripts/gen-appliance-files" --check
	assert_failure 1
	[[ $stderr == *"flower-training-site.json: the registry offers no FL_STRATEGY to role supernode"* ]]
}

@test "oneflow: a value of the wrong type anywhere in a template is reported, never a traceback" {
	run python3 -B -c 'import copy, json, random, sys
sys.path.insert(0, sys.argv[1])
import oneflow_check
def paths(o, p=()):
    yield p
    for k, v in (o.items() if isinstance(o, dict) else enumerate(o) if isinstance(o, list) else ()):
        yield from paths(v, p + (k,))
wrong = [None, 0, -1, "x", [], {}, [1], {"a": 1}, True, 1.5, "", "$Nope", [{"type": "CHANGE"}]]
registry = {"superlink": {"FL_NUM_ROUNDS": "O|number|Rounds||3"}, "supernode": {}}
for path, kind, rounds in ((sys.argv[2], "service", 3000), (sys.argv[3], "coordinator", 1000),
                           (sys.argv[4], "training-site", 1000)):
    base = json.load(open(path))
    every = [p for p in paths(base) if p]
    rng = random.Random(14)
    for _ in range(rounds):
        t = copy.deepcopy(base)
        for p in rng.sample(every, 2):
            cur = t
            try:
                for k in p[:-1]:
                    cur = cur[k]
                cur[p[-1]] = rng.choice(wrong)
            except (KeyError, IndexError, TypeError):
                pass
        errors = oneflow_check.check_template(t, {"FL_MIN_FIT_CLIENTS": "2"}, kind, registry)
        assert all(isinstance(e, str) for e in errors)
print("no traceback")' "$BATS_TEST_DIRNAME" "$FLOW/flower-service-elastic.json" \
		"$FLOW/flower-coordinator.json" "$FLOW/flower-training-site.json"
	assert_success
	assert_output "no traceback"
}
