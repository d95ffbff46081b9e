#!/usr/bin/env bats
# share/marketplace: the appliance YAMLs follow the marketplace schema (design 05 §3,
# test/marketplace_check.py), offer the inputs fl-context generates for their role, and every
# kind of mistake the check knows is refused with its message.

# SC2016: python code and $ONEAPP_ references in single quotes; SC2154: $stderr is set by
# bats' run --separate-stderr.
# shellcheck disable=SC2016,SC2154
load helpers

MKT="$FLKIT_SRC/share/marketplace"
CHECK="$BATS_TEST_DIRNAME/marketplace_check.py"
SL_OS=43d51ffb-f169-41cd-9fd3-4c916775bacf.yaml
SL_VMT=70b43a2b-86db-4fc9-a776-69528711be96.yaml
SN_OS=de5d0ac5-d2f0-4818-8305-cc65c4687dcc.yaml
SN_VMT=4d407218-cbca-41dd-a515-b76c8850f493.yaml
PYTORCH=c0e6a965-4099-4e0c-a650-a075ceefc08a.yaml
TENSORFLOW=088ee219-c29a-4fe8-9926-2ade3bfdac0b.yaml
SKLEARN=bcb4e400-7069-40b4-8f73-e4ee57e65d63.yaml
EDGE=950bf145-f90e-49c4-90ec-389ec7aba812.yaml
SERVICE=1e839f25-1ab4-416c-aed1-0312ff30ebdf.yaml

setup() {
	python3 -c 'import yaml' || fail "python3 has no PyYAML: apt-get install python3-yaml (scripts/bootstrap)"
	DEF=()
	local name
	for name in FL_MIN_FIT_CLIENTS FL_MIN_EVALUATE_CLIENTS FL_MIN_AVAILABLE_CLIENTS; do
		DEF+=(--default "$name=$(flc -E get "$name")")
	done
	COPY="$BATS_TEST_TMPDIR/marketplace"
	mkdir "$COPY"
	cp "$MKT"/*.yaml "$COPY/"
}

# run_check PATH...: the check with the registry's strategy defaults.
run_check() {
	run --separate-stderr python3 "$CHECK" "${DEF[@]}" "$@"
}

# mutate FILE PYTHON: load the copy of FILE, run the PYTHON statements on it as d, write it back.
mutate() {
	python3 -c 'import sys, yaml
path = sys.argv[1]
d = yaml.safe_load(open(path))
t = d.get("opennebula_template")
exec(sys.argv[2])
yaml.safe_dump(d, open(path, "w"), sort_keys=False)' "$COPY/$1" "$2"
}

# refused FILE MESSAGE: the check of the copy fails, with MESSAGE on a line of FILE's.
refused() {
	run_check "$COPY"
	assert_failure 1
	grep -F -- "$COPY/$1: " <<<"$stderr" | grep -qF -- "$2" || fail "no '$1: ... $2' in: $stderr"
}

# keys FILE: the user_inputs keys of FILE's opennebula_template, one a line.
keys() {
	python3 -c 'import sys, yaml; print("\n".join(yaml.safe_load(open(sys.argv[1]))["opennebula_template"]["user_inputs"]))' "$MKT/$1"
}

# generated ARGS...: the keys fl-context generates for ARGS, lower-case, one a line.
generated() {
	flc user-inputs "$@" --oneapp --format json | python3 -c 'import json, sys; print("\n".join(k.lower() for k in json.load(sys.stdin)))'
}

@test "marketplace: the shipped appliances pass the schema check" {
	run_check "$MKT"
	assert_success
	assert_equal "$stderr" ""
	run ls "$MKT"
	assert_equal "$(grep -c '\.yaml$' <<<"$output")" 9
}

@test "marketplace: the standalone templates offer every variable of their role, the service's SuperNode no SuperLink address" {
	assert_equal "$(keys "$SL_OS")" "$(generated --role superlink)"
	assert_equal "$(keys "$SL_VMT")" "$(generated --role superlink)"
	assert_equal "$(keys "$SN_OS")" "$(generated --role supernode)"
	assert_equal "$(keys "$SN_VMT")" "$(generated --role supernode | grep -vx oneapp_fl_superlink_address)"
	keys "$SN_OS" | grep -qx oneapp_fl_superlink_address
	keys "$EDGE" | grep -qx oneapp_fl_superlink_address
}

@test "marketplace: each framework variant fixes ML_FRAMEWORK to its framework, the Edge has none" {
	local f fw
	for f in "$PYTORCH:pytorch" "$TENSORFLOW:tensorflow" "$SKLEARN:sklearn"; do
		fw=${f#*:}
		run python3 -c 'import sys, yaml
t = yaml.safe_load(open(sys.argv[1]))["opennebula_template"]
print(t["context"]["oneapp_ml_framework"], "oneapp_ml_framework" in t["user_inputs"])' "$MKT/${f%%:*}"
		assert_output "$fw False"
		run grep -c "flower-supernode-$fw.qcow2" "$MKT/${f%%:*}"
		assert_output 1
	done
	run keys "$EDGE"
	refute_line oneapp_ml_framework
	refute_line oneapp_fl_dcgm_enabled
	run python3 -c 'import sys, yaml; t = yaml.safe_load(open(sys.argv[1]))["opennebula_template"]; print(t["cpu"], t["memory"])' "$MKT/$EDGE"
	assert_output "2 2048"
}

@test "marketplace: the service app carries share/oneflow/flower-service.json and names the VM template apps" {
	run python3 -c 'import json, sys, yaml
d = yaml.safe_load(open(sys.argv[1]))
print(json.loads(d["opennebula_template"]) == json.load(open(sys.argv[2])))
print(d["roles"]["superlink"], "/", d["roles"]["supernode"])' "$MKT/$SERVICE" "$FLKIT_SRC/share/oneflow/flower-service.json"
	assert_success
	assert_output "True
Flower SuperLink - VM Template / Flower SuperNode - VM Template"
}

@test "marketplace: version, creation_time and required keys" {
	mutate "$SL_OS" 'd["version"] = "1.25.0"'
	mutate "$SL_VMT" 'd["creation_time"] = "2026-12-03"'
	mutate "$SN_OS" 'd["creation_time"] = 1700'
	mutate "$SN_VMT" 'del d["publisher"]'
	mutate "$PYTORCH" 'd["format"] = "raw"'
	mutate "$TENSORFLOW" 'd["opennebula_version"] = "7"'
	refused "$SL_OS" "'version' '1.25.0' is not <upstream X.Y.Z>-<revision>"
	refused "$SL_VMT" "'creation_time' must be an integer"
	refused "$SN_OS" "'creation_time' 1700 is not an epoch"
	refused "$SN_VMT" "'publisher' is required"
	refused "$PYTORCH" "'format' must be qcow2, not 'raw'"
	refused "$TENSORFLOW" "'opennebula_version' '7' is not a comma list of X.Y versions"
}

@test "marketplace: user_inputs grammar, optional inputs, lower-case oneapp_* keys" {
	mutate "$SL_OS" 't["user_inputs"]["oneapp_fl_num_rounds"] = "O|number"'
	mutate "$SL_VMT" 't["user_inputs"]["oneapp_fl_ssl_certfile"] = "O|text64|Server certificate (base64 PEM)||x"'
	mutate "$SN_OS" 't["user_inputs"]["oneapp_ml_framework"] = "O|list|ML framework|pytorch,tensorflow|jax"'
	mutate "$SN_VMT" 't["user_inputs"]["oneapp_fl_node_config"] = "M|text|Node config||"'
	mutate "$EDGE" 't["user_inputs"]["oneapp_fl_max_retries"] = "O|number|Max reconnection attempts||lots"'
	mutate "$SKLEARN" 't["user_inputs"]["ONEAPP_FL_LOG_LEVEL"] = t["user_inputs"].pop("oneapp_fl_log_level")'
	refused "$SL_OS" "user input oneapp_fl_num_rounds is not M|O|type|label[|options|default]"
	refused "$SL_VMT" "user input oneapp_fl_ssl_certfile is text64 and has options or a default"
	refused "$SN_OS" "user input oneapp_ml_framework has the default 'jax', not one of its options"
	refused "$SN_VMT" "user input oneapp_fl_node_config must be optional (O|...)"
	refused "$EDGE" "user input oneapp_fl_max_retries is a number with the default 'lots'"
	refused "$SKLEARN" "user input 'ONEAPP_FL_LOG_LEVEL' is not a lower-case oneapp_* name"
}

@test "marketplace: inputs_order is the user_inputs keys upper-cased, the context references every input" {
	mutate "$SL_OS" 'o = t["inputs_order"].split(","); o[0], o[1] = o[1], o[0]; t["inputs_order"] = ",".join(o)'
	mutate "$SN_OS" 'del t["context"]["oneapp_fl_node_config"]'
	mutate "$SL_VMT" 't["context"]["oneapp_fl_rounds"] = "$ONEAPP_FL_ROUNDS"'
	mutate "$SN_VMT" 't["context"]["token"] = "NO"'
	mutate "$EDGE" 't["user_inputs"]["oneapp_token"] = "O|boolean|Token||YES"; t["context"]["oneapp_token"] = "$ONEAPP_TOKEN"; t["inputs_order"] += ",ONEAPP_TOKEN"'
	refused "$SL_OS" "opennebula_template: 'inputs_order' must be the user_inputs keys upper-cased, in order"
	refused "$SN_OS" "context must reference user input oneapp_fl_node_config as oneapp_fl_node_config: \$ONEAPP_FL_NODE_CONFIG"
	refused "$SL_VMT" "context oneapp_fl_rounds references \$ONEAPP_FL_ROUNDS, which is no user input"
	refused "$SN_VMT" "context needs token: 'YES'"
	refused "$EDGE" "user input 'oneapp_token' is an infrastructure variable"
}

@test "marketplace: OS disk images, VMTEMPLATE disks and SERVICE_TEMPLATE roles" {
	mutate "$SL_OS" 'd["images"][0]["url"] = "http://PUBLISH_URL/flower-superlink.qcow2"'
	mutate "$SN_OS" 'del d["images"][0]["checksum"]["sha256"]'
	mutate "$PYTORCH" 'd["images"][0]["size"] = 0'
	mutate "$TENSORFLOW" 'd["images"] = []'
	mutate "$SL_VMT" 'd["disks"] = ["Flower SuperLink 9"]'
	mutate "$SKLEARN" 'd["type"] = "IMAGE"'
	refused "$SL_OS" "images[0]: 'url' 'http://PUBLISH_URL/flower-superlink.qcow2' is not https://HOST/FILE.qcow2"
	refused "$SN_OS" "images[0]: 'checksum' needs sha256 as 64 lower-case hex digits"
	refused "$PYTORCH" "images[0]: 'size' must be a positive number of bytes"
	refused "$TENSORFLOW" "an OS disk app needs at least one entry in 'images'"
	refused "$SL_VMT" "disk 'Flower SuperLink 9' is not an OS disk app of this marketplace"
	refused "$SKLEARN" "'type' must be VMTEMPLATE or SERVICE_TEMPLATE (or absent for an OS disk), not 'IMAGE'"
}

@test "marketplace: the service's SuperNode template must not offer FL_SUPERLINK_ADDRESS" {
	mutate "$SERVICE" 'd["roles"]["supernode"] = "Flower SuperNode - VM Template"'
	mutate "$SN_VMT" 't["user_inputs"]["oneapp_fl_superlink_address"] = "O|text|SuperLink Fleet API address (host:port)||"; t["context"]["oneapp_fl_superlink_address"] = "$ONEAPP_FL_SUPERLINK_ADDRESS"; t["inputs_order"] += ",ONEAPP_FL_SUPERLINK_ADDRESS"'
	refused "$SERVICE" "role 'supernode' uses 'Flower SuperNode - VM Template', which offers oneapp_fl_superlink_address"
}

@test "marketplace: the service body goes through the OneFlow and flkit rules" {
	mutate "$SERVICE" 'import json; b = json.loads(t); b["roles"][0]["cardinality"] = 2; b["roles"][0]["max_vms"] = 2; d["opennebula_template"] = json.dumps(b)'
	refused "$SERVICE" "opennebula_template: flkit: role 'superlink' must have cardinality, min_vms and max_vms 1"
	cp "$MKT/$SERVICE" "$COPY/$SERVICE"
	mutate "$SERVICE" 'd["roles"]["worker"] = d["roles"].pop("supernode")'
	refused "$SERVICE" "'roles' names ['superlink', 'worker'], the OneFlow body ['superlink', 'supernode']"
	cp "$MKT/$SERVICE" "$COPY/$SERVICE"
	mutate "$SERVICE" 'd["opennebula_template"] = "{\"name\": "'
	refused "$SERVICE" "opennebula_template: the OneFlow body is not JSON"
}

@test "marketplace: names unique, files named by UUID, YAML that does not parse" {
	mutate "$PYTORCH" 'd["name"] = "Flower SuperNode - TensorFlow"'
	mv "$COPY/$EDGE" "$COPY/flower-supernode-edge.yaml"
	printf 'name: [unclosed\n' >"$COPY/00000000-0000-4000-8000-000000000000.yaml"
	run_check "$COPY"
	assert_failure 1
	grep -qF "the name 'Flower SuperNode - TensorFlow' is also the name of" <<<"$stderr"
	grep -qF "$COPY/flower-supernode-edge.yaml: the file name 'flower-supernode-edge.yaml' is not <uuid>.yaml" <<<"$stderr"
	grep -qF "$COPY/00000000-0000-4000-8000-000000000000.yaml: " <<<"$stderr"
}

@test "marketplace: marketplace_check without a path is a usage error" {
	run python3 "$CHECK"
	assert_failure 2
}
