#!/usr/bin/env bats
# share/oneflow: the OneFlow service templates pass OneFlow's own template rules and flkit's
# (test/oneflow_check.py), their user_inputs are what fl-context generates, each variable at
# exactly one level, and every bad fixture is refused with its message.

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
)

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

# inputs ARGS...: the keys of `fl-context user-inputs ARGS --oneapp --format json`, sorted.
inputs() {
	flc user-inputs "$@" --oneapp --format json | python3 -c 'import json,sys; print("\n".join(sorted(json.load(sys.stdin))))'
}

@test "oneflow: the shipped templates pass OneFlow's rules and flkit's" {
	run_check "$FLOW/flower-service.json" "$FLOW/flower-service-elastic.json"
	assert_success
	assert_equal "$stderr" ""
}

@test "oneflow: the minimal fixture the bad ones derive from passes" {
	run_check "$BAD/good-minimal.json"
	assert_success
}

@test "oneflow: every bad fixture is refused with its message" {
	local f name count msg n=0
	for f in "$BAD"/bad-*.json; do
		name=${f##*/bad-}
		name=${name%.json}
		[ -n "${WANT[$name]:-}" ] || fail "no expected message for bad-$name.json"
		count=${WANT[$name]%%|*}
		msg=${WANT[$name]#*|}
		run_check "$f"
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

@test "oneflow: a value of the wrong type anywhere in a template is reported, never a traceback" {
	run python3 -B -c 'import copy, json, random, sys
sys.path.insert(0, sys.argv[1])
import oneflow_check
base = json.load(open(sys.argv[2]))
def paths(o, p=()):
    yield p
    for k, v in (o.items() if isinstance(o, dict) else enumerate(o) if isinstance(o, list) else ()):
        yield from paths(v, p + (k,))
every = [p for p in paths(base) if p]
wrong = [None, 0, -1, "x", [], {}, [1], {"a": 1}, True, 1.5, "", "$Nope", [{"type": "CHANGE"}]]
rng = random.Random(14)
for _ in range(3000):
    t = copy.deepcopy(base)
    for p in rng.sample(every, 2):
        cur = t
        try:
            for k in p[:-1]:
                cur = cur[k]
            cur[p[-1]] = rng.choice(wrong)
        except (KeyError, IndexError, TypeError):
            pass
    assert all(isinstance(e, str) for e in oneflow_check.check_template(t, {"FL_MIN_FIT_CLIENTS": "2"}))
print("no traceback")' "$BATS_TEST_DIRNAME" "$FLOW/flower-service-elastic.json"
	assert_success
	assert_output "no traceback"
}
