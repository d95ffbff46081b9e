# helpers.bash: shared helpers of the flkit bats suites: assertion libraries, a clean way to
# run a tool, log-line assertions, and writers for OpenNebula context files.

# SC2016: $ and ` in single quotes are test data; SC2034/SC2154: variables shared with the
# suites and set by bats (status, output, stderr, stderr_lines).
# shellcheck disable=SC2016,SC2034,SC2154
bats_require_minimum_version 1.5.0
# Found through BATS_LIB_PATH (Debian installs them under /usr/lib/bats).
bats_load_library bats-support
bats_load_library bats-assert
bats_load_library bats-file

: "${FLKIT_BIN:=$BATS_TEST_DIRNAME/../build/bin}"
FLKIT_SRC="$BATS_TEST_DIRNAME/.."
FIXTURES="$BATS_TEST_DIRNAME/fixtures"
FLWR_PY="$FLKIT_SRC/.venv/bin/python"

# The token every generated one_env carries; it must never show up in any output.
ONE_TOKEN='McCWcjnbYN559FvF4X/TKQ=='

# flc [NAME=value]... ARGS...: fl-context in an empty environment that holds only the
# NAME=value words given first (so the caller's FL_* variables never leak in).
flc() {
	local -a vars=()
	while [ $# -gt 0 ] && [[ $1 =~ ^[A-Za-z_][A-Za-z0-9_]*= ]]; do
		vars+=("$1")
		shift
	done
	env -i "${vars[@]}" "$FLKIT_BIN/fl-context" "$@"
}

# run_flc [NAME=value]... ARGS...: flc under bats' run, stdout in $output, stderr in $stderr.
run_flc() {
	run --separate-stderr flc "$@"
}

# validate_as ROLE [NAME=value]...: `validate --role ROLE` on those variables alone, plus the
# NAME=value words of the array WITH when a test sets it.
validate_as() {
	local role=$1
	shift
	run_flc "${WITH[@]}" "$@" --env-only validate --role "$role"
}

LOG_RE='^\[[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\] \[(DEBUG|INFO|WARN|ERROR|FATAL)\] \[fl-context\] (.*)$'

# log_messages LEVEL: the messages of the stderr lines logged at LEVEL, prefix removed.
log_messages() {
	local line
	for line in "${stderr_lines[@]}"; do
		if [[ $line =~ $LOG_RE ]] && [ "${BASH_REMATCH[1]}" = "$1" ]; then
			printf '%s\n' "${BASH_REMATCH[2]}"
		fi
	done
}

# count_log LEVEL: how many stderr lines were logged at LEVEL.
count_log() {
	log_messages "$1" | wc -l
}

# assert_log LEVEL MESSAGE: stderr holds exactly this log line (any timestamp).
assert_log() {
	local m
	while IFS= read -r m; do
		[ "$m" = "$2" ] && return 0
	done < <(log_messages "$1")
	batslib_print_kv_single_or_multi 8 level "$1" message "$2" stderr "$stderr" |
		batslib_decorate 'expected log line not found' | fail
}

# refute_log LEVEL MESSAGE: no such log line.
refute_log() {
	local m
	while IFS= read -r m; do
		if [ "$m" = "$2" ]; then
			batslib_print_kv_single_or_multi 8 level "$1" message "$2" stderr "$stderr" |
				batslib_decorate 'unexpected log line' | fail
			return
		fi
	done < <(log_messages "$1")
}

# refute_log_level LEVEL: nothing was logged at LEVEL.
refute_log_level() {
	local n
	n=$(count_log "$1")
	if [ "$n" -ne 0 ]; then
		batslib_print_kv_single_or_multi 8 level "$1" stderr "$stderr" |
			batslib_decorate "unexpected $1 lines" | fail
	fi
}

assert_stderr_contains() {
	if [[ $stderr != *"$1"* ]]; then
		batslib_print_kv_single_or_multi 8 expected "$1" stderr "$stderr" |
			batslib_decorate 'stderr does not contain' | fail
	fi
}

refute_stderr_contains() {
	if [[ $stderr == *"$1"* ]]; then
		batslib_print_kv_single_or_multi 8 unexpected "$1" stderr "$stderr" |
			batslib_decorate 'stderr contains' | fail
	fi
}

# assert_config_error MESSAGE...: validation failed with exactly these ERROR lines, the
# summary counts them, exit status 1, nothing on stdout.
assert_config_error() {
	assert_failure 1
	assert_output ''
	local m
	for m in "$@"; do
		assert_log ERROR "$m"
	done
	assert_equal "$(count_log ERROR)" "$#"
	assert_log FATAL "$# configuration error(s). Aborting boot."
}

# assert_config_ok: validation passed; warnings and notes are allowed, errors are not.
assert_config_ok() {
	if [ "$status" -ne 0 ]; then
		batslib_print_kv_single_or_multi 8 status "$status" stderr "$stderr" |
			batslib_decorate 'validation failed' | fail
		return
	fi
	assert_output ''
	refute_log_level ERROR
	refute_log_level FATAL
	assert_log INFO 'Configuration validation passed.'
}

# assert_rejects ROLE NAME TEMPLATE VALUE...: each VALUE alone is the one error, reported
# as TEMPLATE with {v} replaced by the value.
assert_rejects() {
	local role=$1 name=$2 template=$3 v
	shift 3
	for v in "$@"; do
		validate_as "$role" "$name=$v"
		assert_config_error "${template//\{v\}/"$v"}"
	done
}

# assert_accepts ROLE NAME VALUE...: each VALUE alone passes validation.
assert_accepts() {
	local role=$1 name=$2 v
	shift 2
	for v in "$@"; do
		validate_as "$role" "$name=$v"
		assert_config_ok
	done
}

# sq VALUE: VALUE in oned's single quotes, every ' written as '\''.
sq() {
	local q="'\\''"
	printf "'%s'" "${1//\'/$q}"
}

# write_context_sh FILE [NAME=value]...: a context.sh exactly as oned writes it: the header
# line, then NAME='value' lines in ascending byte order of NAME.
write_context_sh() {
	local file=$1 kv name
	shift
	local -A vals=()
	for kv in "$@"; do
		vals[${kv%%=*}]=${kv#*=}
	done
	{
		echo '# Context variables generated by OpenNebula'
		while IFS= read -r name; do
			[ -n "$name" ] && printf '%s=%s\n' "$name" "$(sq "${vals[$name]}")"
		done < <(printf '%s\n' "${!vals[@]}" | LC_ALL=C sort)
	} >"$file"
}

# gen_one_env CONTEXT_SH OUT: one_env from a context.sh, by the algorithm of one-apps'
# loc-16-gen-env: three header lines, then `export NAME="raw value"` for every name its
# grep finds (continuation lines of multi-line values included, as the real one does).
# Sourcing is safe here: the input is oned-quoted, which bash reads back literally.
gen_one_env() {
	env -i TOKENTXT="$ONE_TOKEN" CONTEXT_FILE="$1" ENV_FILE="$2" bash -c '
		. "$CONTEXT_FILE"
		echo "export TOKENTXT=\"$TOKENTXT\"" >"$ENV_FILE"
		echo "export VMID=\"$VMID\"" >>"$ENV_FILE"
		echo "export ONEGATE_ENDPOINT=\"$ONEGATE_ENDPOINT\"" >>"$ENV_FILE"
		ONE_VARS=$(grep -E "^[a-zA-Z\-\_0-9]*=" "$CONTEXT_FILE" | sed "s/=.*$//")
		for v in $ONE_VARS; do
			echo "export $v=\"${!v}\"" >>"$ENV_FILE"
		done'
}

# write_one_env FILE [NAME=value]...: a one_env as loc-16-gen-env writes it for a VM whose
# context holds the given variables (plus TOKEN, VMID and ONEGATE_ENDPOINT).
write_one_env() {
	local file=$1
	shift
	write_context_sh "$file.context.sh" TOKEN=YES VMID=12 \
		ONEGATE_ENDPOINT=http://169.254.16.9:5030 "$@"
	gen_one_env "$file.context.sh" "$file"
	rm -f "$file.context.sh"
}

require_flwr() {
	[ -x "$FLWR_PY" ] || skip "flwr venv missing: run scripts/bootstrap"
}

# flower_parse CONFIG...: each config string through Flower's own --run-config/--node-config
# parser; one JSON object {key: [python type, value]} per string.
flower_parse() {
	"$FLWR_PY" -c '
import json, sys
from flwr.common.config import parse_config_args
for arg in sys.argv[1:]:
    cfg = parse_config_args([arg])
    print(json.dumps({k: [type(v).__name__, v] for k, v in cfg.items()}))
' "$@"
}

# toml_parse: stdin as TOML (Python tomllib) printed as JSON {key: [type, value]}.
toml_parse() {
	"$FLWR_PY" -c '
import json, sys, tomllib
cfg = tomllib.loads(sys.stdin.read())
print(json.dumps({k: [type(v).__name__, v] for k, v in cfg.items()}))
'
}

# make_pems DIR: an EC P-256 CA-style self-signed certificate and key; sets CERT_B64, KEY_B64
# (base64 -w0, as OneFlow's text64 inputs carry them) and CERT_PEM, KEY_PEM (paths).
make_pems() {
	local dir=$1
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$dir/key.pem" -out "$dir/cert.pem" -subj /CN=flkit-test -days 2 2>/dev/null
	CERT_PEM=$dir/cert.pem KEY_PEM=$dir/key.pem
	CERT_B64=$(base64 -w0 "$CERT_PEM")
	KEY_B64=$(base64 -w0 "$KEY_PEM")
}
