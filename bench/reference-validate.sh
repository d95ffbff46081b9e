#!/usr/bin/env bash
# reference-validate.sh: the spec's boot-time validation of the Flower context, written the
# way the spec pseudocode and the bash appliances do it. It is the alternative the benchmark
# compares `fl-context validate` with; it is not used by flkit itself.
#
#   bench/reference-validate.sh --role superlink|supernode CONTEXT_FILE
#
# Like configure.sh it sources the context file (context.sh or one_env), applies
# ${VAR:-default}, checks every variable of the role with [[ =~ ]] regexes and `bc -l` for
# floats, collects the errors, and ends with "N configuration error(s). Aborting boot."
# (exit 1) or "Configuration validation passed." (exit 0). Usage errors exit 2.
#
# Rules and messages: spec/03 §8 (design 01 §1.2, §7), Phase 5 (design 03 §3.3), monitoring
# (design 04 §3.8), framework and use case (design 03 §1.3, §2.2), edge (design 04 §6) and the
# TLS material (design 02 §1.6, §5). Pseudocode quirks are kept on purpose, e.g. the keepalive
# comparison runs only when both values are set, FL_CHECKPOINT_PATH is tested raw with -z, the
# Byzantine bound uses bash arithmetic, FL_CERT_EXTRA_SAN's IP pattern has no end anchor.
# Certificates and keys are only parsed (openssl x509 / pkey -noout), as fl-context does.

set -o pipefail

# Internal names start with _ so that the sourced context cannot clobber them.
_role=
_ctx=
while [ $# -gt 0 ]; do
	case $1 in
	--role) _role=${2-}; shift 2 || shift ;;
	--role=*) _role=${1#--role=}; shift ;;
	-h | --help)
		echo "usage: $0 --role superlink|supernode CONTEXT_FILE"
		exit 0
		;;
	-*) echo "$0: unknown option '$1'" >&2; exit 2 ;;
	*)
		[ -z "$_ctx" ] || { echo "$0: more than one context file" >&2; exit 2; }
		_ctx=$1
		shift
		;;
	esac
done
case $_role in
superlink | supernode) ;;
*) echo "usage: $0 --role superlink|supernode CONTEXT_FILE" >&2; exit 2 ;;
esac
[ -n "$_ctx" ] || { echo "usage: $0 --role superlink|supernode CONTEXT_FILE" >&2; exit 2; }

log() {
	echo "[$(date '+%Y-%m-%d %H:%M:%S')] [$1] [flower-configure] $2" >&2
}

_errors=0
error() {
	log ERROR "$1"
	_errors=$((_errors + 1))
}

# Step 3: source the context variables (a missing file is fatal).
if [ ! -r "$_ctx" ]; then
	log FATAL "Context file $_ctx not found or not readable."
	exit 1
fi
# shellcheck source=/dev/null  # the OpenNebula context is generated per VM
. "$_ctx"

_re_semver='^[0-9]+\.[0-9]+\.[0-9]+$'
_re_posint='^[1-9][0-9]*$'
_re_nonneg='^[0-9]+$'
_re_float='^[0-9]*\.?[0-9]+$'
_re_hostport='^[^:]+:([0-9]+)$'
_re_node_pair='^[a-zA-Z0-9_-]+=.+$'
_re_san_ip='^IP:[0-9.]+'
_re_san_dns='^DNS:[a-zA-Z0-9.-]+$'
_re_cuda='^[0-9]+(,[0-9]+)*$'

# check_posint NAME DEFAULT: ^[1-9][0-9]*$
check_posint() {
	local v=${!1:-$2}
	[[ $v =~ $_re_posint ]] || error "Invalid $1: '$v'. Must be a positive integer."
}

# check_nonneg NAME DEFAULT: ^[0-9]+$
check_nonneg() {
	local v=${!1:-$2}
	[[ $v =~ $_re_nonneg ]] || error "Invalid $1: '$v'. Must be a non-negative integer."
}

# hostport_ok VALUE: ^[^:]+:[0-9]+$ and port 1-65535 (the tables state the range; a
# number test that cannot even parse the port counts as a failure).
hostport_ok() {
	[[ $1 =~ $_re_hostport ]] && [ "${BASH_REMATCH[1]}" -ge 1 ] 2>/dev/null && [ "${BASH_REMATCH[1]}" -le 65535 ]
}

# check_hostport NAME DEFAULT
check_hostport() {
	local v=${!1:-$2}
	hostport_ok "$v" || error "Invalid $1: '$v'. Expected format: host:port."
}

# check_yesno NAME DEFAULT: YES or NO, case-sensitive.
check_yesno() {
	local v=${!1:-$2}
	[[ $v == YES || $v == NO ]] || error "Invalid $1: '$v'. Must be YES or NO."
}

# bc_true EXPR: is the bc -l expression true?
bc_true() {
	[ "$(echo "$1" | bc -l)" = 1 ]
}

# check_pem NAME x509|pkey MESSAGE: base64 of a PEM certificate or private key.
check_pem() {
	local v=${!1:-}
	[ -n "$v" ] || return 0
	if ! base64 -d <<<"$v" 2>/dev/null | openssl "$2" -noout 2>/dev/null; then
		error "$3"
	fi
}

# ---- variables of both roles -------------------------------------------------------------
validate_common() {
	local v t to
	v=${FLOWER_VERSION:-1.25.0}
	[[ $v =~ $_re_semver ]] || error "Invalid FLOWER_VERSION: '$v'. Expected format: X.Y.Z (e.g., 1.25.0)"

	v=${FL_ISOLATION:-subprocess}
	[[ $v == subprocess || $v == process ]] || error "Unknown FL_ISOLATION: '$v'. Valid options: subprocess, process."

	v=${FL_LOG_LEVEL:-INFO}
	case $v in
	DEBUG | INFO | WARNING | ERROR) ;;
	*) error "Unknown FL_LOG_LEVEL: '$v'. Valid options: DEBUG, INFO, WARNING, ERROR." ;;
	esac

	v=${FL_LOG_FORMAT:-text}
	[[ $v == text || $v == json ]] || error "Invalid FL_LOG_FORMAT: '$v'. Must be 'text' or 'json'."

	# gRPC keepalive (Phase 7).
	t=${FL_GRPC_KEEPALIVE_TIME:-60}
	if [[ ! $t =~ $_re_posint ]]; then
		error "Invalid FL_GRPC_KEEPALIVE_TIME: '$t'. Must be a positive integer."
	elif [ "$t" -lt 10 ] 2>/dev/null; then
		log WARN "FL_GRPC_KEEPALIVE_TIME=$t is aggressive and may cause excessive network traffic"
	fi
	to=${FL_GRPC_KEEPALIVE_TIMEOUT:-20}
	if [[ ! $to =~ $_re_posint ]]; then
		error "Invalid FL_GRPC_KEEPALIVE_TIMEOUT: '$to'. Must be a positive integer less than FL_GRPC_KEEPALIVE_TIME."
	elif [ -n "${FL_GRPC_KEEPALIVE_TIME:-}" ] && [[ $t =~ $_re_posint ]] && [ "$to" -ge "$t" ] 2>/dev/null; then
		error "FL_GRPC_KEEPALIVE_TIMEOUT ($to) must be less than FL_GRPC_KEEPALIVE_TIME ($t)."
	fi

	# TLS switch and CA (Phase 2).
	v=${FL_TLS_ENABLED:-NO}
	v=${v^^}
	[[ $v == YES || $v == NO ]] || error "Invalid FL_TLS_ENABLED: '${FL_TLS_ENABLED}'. Must be YES or NO."
	check_pem FL_SSL_CA_CERTFILE x509 "FL_SSL_CA_CERTFILE does not contain a valid base64-encoded PEM certificate."
}

# ---- SuperLink ---------------------------------------------------------------------------
validate_superlink() {
	local v strategy n f min_n k entry tls san
	local -a entries

	# Phase 1.
	check_posint FL_NUM_ROUNDS 3
	strategy=${FL_STRATEGY:-FedAvg}
	case $strategy in
	FedAvg | FedProx | FedAdam | Krum | Bulyan | FedTrimmedAvg) ;;
	*) error "Unknown FL_STRATEGY: '$strategy'. Valid options: FedAvg, FedProx, FedAdam, Krum, Bulyan, FedTrimmedAvg." ;;
	esac
	check_posint FL_MIN_FIT_CLIENTS 2
	check_posint FL_MIN_EVALUATE_CLIENTS 2
	check_posint FL_MIN_AVAILABLE_CLIENTS 2
	check_hostport FL_FLEET_API_ADDRESS 0.0.0.0:9092
	check_hostport FL_CONTROL_API_ADDRESS 0.0.0.0:9093
	[ -n "${FL_DATABASE:-state/state.db}" ] || error "FL_DATABASE cannot be empty."
	if [[ ${FL_MIN_FIT_CLIENTS:-2} =~ $_re_posint && ${FL_MIN_AVAILABLE_CLIENTS:-2} =~ $_re_posint ]] &&
		[ "${FL_MIN_FIT_CLIENTS:-2}" -gt "${FL_MIN_AVAILABLE_CLIENTS:-2}" ] 2>/dev/null; then
		log WARN "FL_MIN_FIT_CLIENTS (${FL_MIN_FIT_CLIENTS:-2}) is greater than FL_MIN_AVAILABLE_CLIENTS (${FL_MIN_AVAILABLE_CLIENTS:-2})."
	fi

	# Phase 5 strategy parameters: type checks always run, whatever the strategy.
	if [ -n "${FL_PROXIMAL_MU:-}" ]; then
		[[ $FL_PROXIMAL_MU =~ $_re_float ]] || error "Invalid FL_PROXIMAL_MU: '$FL_PROXIMAL_MU'. Must be a non-negative float."
		[ "$strategy" = FedProx ] || log INFO "FL_PROXIMAL_MU is set but FL_STRATEGY is '$strategy' (not FedProx). Parameter will be ignored."
	fi
	if [ -n "${FL_SERVER_LR:-}" ]; then
		if [[ ! $FL_SERVER_LR =~ $_re_float ]] || ! bc_true "$FL_SERVER_LR > 0"; then
			error "Invalid FL_SERVER_LR: '$FL_SERVER_LR'. Must be a positive float."
		fi
		[ "$strategy" = FedAdam ] || log INFO "FL_SERVER_LR is set but FL_STRATEGY is '$strategy' (not FedAdam). Parameter will be ignored."
	fi
	if [ -n "${FL_CLIENT_LR:-}" ]; then
		if [[ ! $FL_CLIENT_LR =~ $_re_float ]] || ! bc_true "$FL_CLIENT_LR > 0"; then
			error "Invalid FL_CLIENT_LR: '$FL_CLIENT_LR'. Must be a positive float."
		fi
		[ "$strategy" = FedAdam ] || log INFO "FL_CLIENT_LR is set but FL_STRATEGY is '$strategy' (not FedAdam). Parameter will be ignored."
	fi
	if [ -n "${FL_NUM_MALICIOUS:-}" ]; then
		[[ $FL_NUM_MALICIOUS =~ $_re_nonneg ]] || error "Invalid FL_NUM_MALICIOUS: '$FL_NUM_MALICIOUS'. Must be a non-negative integer."
		[[ $strategy == Krum || $strategy == Bulyan ]] ||
			log INFO "FL_NUM_MALICIOUS is set but FL_STRATEGY is '$strategy' (not Krum or Bulyan). Parameter will be ignored."
	fi
	if [ -n "${FL_TRIM_BETA:-}" ]; then
		if [[ ! $FL_TRIM_BETA =~ $_re_float ]] || ! bc_true "$FL_TRIM_BETA > 0 && $FL_TRIM_BETA < 0.5"; then
			error "Invalid FL_TRIM_BETA: '$FL_TRIM_BETA'. Must be a float between 0.0 and 0.5 (exclusive)."
		fi
		[ "$strategy" = FedTrimmedAvg ] ||
			log INFO "FL_TRIM_BETA is set but FL_STRATEGY is '$strategy' (not FedTrimmedAvg). Parameter will be ignored."
	fi
	if [ "$strategy" = FedProx ]; then
		log INFO "FedProx selected. Pre-built FABs support the proximal term. Custom ClientApps must implement the proximal loss term manually: L += (mu/2) * ||w - w_global||^2."
		v=${FL_PROXIMAL_MU:-1.0}
		if [[ $v =~ $_re_float ]] && bc_true "$v == 0"; then
			log WARN "FL_PROXIMAL_MU=0.0 makes FedProx identical to FedAvg. Consider using FedAvg directly."
		fi
	fi

	# Byzantine bounds: n = FL_MIN_AVAILABLE_CLIENTS, checked only when f > 0.
	n=${FL_MIN_AVAILABLE_CLIENTS:-2}
	f=${FL_NUM_MALICIOUS:-0}
	if [[ $strategy == Krum || $strategy == Bulyan ]] && [ "$f" -gt 0 ] 2>/dev/null; then
		if [ "$strategy" = Krum ]; then k=2; else k=4; fi
		min_n=$((k * f + 3))
		if [ "$n" -lt "$min_n" ] 2>/dev/null; then
			error "$strategy requires n >= $k*f+3 clients. FL_MIN_AVAILABLE_CLIENTS=$n but FL_NUM_MALICIOUS=$f requires n >= $min_n."
		fi
	fi

	# Phase 5 checkpointing.
	v=${FL_CHECKPOINT_ENABLED:-NO}
	if [[ $v != YES && $v != NO ]]; then
		error "Invalid FL_CHECKPOINT_ENABLED: '$v'. Must be YES or NO."
	elif [ "$v" = YES ]; then
		if [ -n "${FL_CHECKPOINT_INTERVAL:-}" ] && [[ ! $FL_CHECKPOINT_INTERVAL =~ $_re_posint ]]; then
			error "Invalid FL_CHECKPOINT_INTERVAL: '$FL_CHECKPOINT_INTERVAL'. Must be a positive integer."
		fi
		[ -n "${FL_CHECKPOINT_PATH-}" ] || error "FL_CHECKPOINT_PATH cannot be empty when FL_CHECKPOINT_ENABLED=YES."
	fi

	# Phase 7: extra SAN entries, split on commas and trimmed.
	san=${FL_CERT_EXTRA_SAN:-}
	if [ -n "$san" ]; then
		IFS=, read -r -a entries <<<"$san"
		for entry in "${entries[@]}"; do
			entry=${entry#"${entry%%[![:space:]]*}"}
			entry=${entry%"${entry##*[![:space:]]}"}
			if [[ ! $entry =~ $_re_san_ip && ! $entry =~ $_re_san_dns ]]; then
				error "Invalid FL_CERT_EXTRA_SAN entry: '$entry'. Expected format: IP:<addr> or DNS:<name>."
			fi
		done
	fi

	# Phase 8 metrics.
	check_yesno FL_METRICS_ENABLED NO
	v=${FL_METRICS_PORT:-9101}
	if ! { [[ $v =~ $_re_nonneg ]] && [ "$v" -ge 1024 ] 2>/dev/null && [ "$v" -le 65535 ] &&
		! { [ "$v" -ge 9091 ] && [ "$v" -le 9093 ]; }; }; then
		error "Invalid FL_METRICS_PORT: '$v'. Must be integer 1024-65535, not 9091-9093."
	fi
	if [ "${FL_METRICS_ENABLED:-NO}" != YES ] && [ -n "${FL_METRICS_PORT:-}" ] && [ "$FL_METRICS_PORT" != 9101 ]; then
		log INFO "FL_METRICS_PORT ignored -- FL_METRICS_ENABLED is not YES"
	fi

	# Phase 2 TLS material: decoded and parsed; all-or-none once the CA is given.
	tls=${FL_TLS_ENABLED:-NO}
	tls=${tls^^}
	check_pem FL_SSL_CERTFILE x509 "FL_SSL_CERTFILE does not contain a valid base64-encoded PEM certificate."
	check_pem FL_SSL_KEYFILE pkey "FL_SSL_KEYFILE does not contain a valid base64-encoded PEM private key."
	if [ "$tls" = YES ] && [ -n "${FL_SSL_CA_CERTFILE:-}" ]; then
		[ -n "${FL_SSL_CERTFILE:-}" ] || error "FL_SSL_CERTFILE is required when FL_SSL_CA_CERTFILE is provided."
		[ -n "${FL_SSL_KEYFILE:-}" ] || error "FL_SSL_KEYFILE is required when FL_SSL_CA_CERTFILE is provided."
	fi
	if [ -n "$san" ] && [ "$tls" = YES ] && [ -n "${FL_SSL_CERTFILE:-}" ]; then
		log INFO "FL_CERT_EXTRA_SAN ignored -- using operator-provided certificates."
	fi
}

# ---- SuperNode ---------------------------------------------------------------------------
validate_supernode() {
	local v gpu fw uc pair
	local -a pairs

	v=${FL_SUPERLINK_ADDRESS:-}
	if [ -n "$v" ]; then
		hostport_ok "$v" || error "Invalid FL_SUPERLINK_ADDRESS: '$v'. Expected format: host:port or leave empty for OneGate discovery."
	fi
	if [ -n "${FL_NODE_CONFIG:-}" ]; then
		IFS=$' \t\n' read -r -d '' -a pairs <<<"$FL_NODE_CONFIG"
		for pair in "${pairs[@]}"; do
			[[ $pair =~ $_re_node_pair ]] || error "Invalid FL_NODE_CONFIG pair: '$pair'. Expected format: key=value."
		done
	fi
	check_nonneg FL_MAX_RETRIES 0
	check_nonneg FL_MAX_WAIT_TIME 0

	# Phase 6 GPU: FL_GPU_ENABLED is upper-cased before the check.
	gpu=${FL_GPU_ENABLED:-NO}
	gpu=${gpu^^}
	[[ $gpu == YES || $gpu == NO ]] || error "Invalid FL_GPU_ENABLED: '${FL_GPU_ENABLED}'. Must be YES or NO."
	v=${FL_CUDA_VISIBLE_DEVICES:-all}
	[[ $v == all || $v =~ $_re_cuda ]] || error "Invalid FL_CUDA_VISIBLE_DEVICES: '$v'. Must be 'all' or comma-separated GPU IDs (e.g., 0,1)."
	v=${FL_GPU_MEMORY_FRACTION:-0.8}
	if [[ ! $v =~ $_re_float ]] || ! bc_true "$v >= 0 && $v <= 1"; then
		error "Invalid FL_GPU_MEMORY_FRACTION: '$v'. Must be a float between 0.0 and 1.0."
	fi
	check_yesno FL_DCGM_ENABLED NO
	if [ "$gpu" != YES ]; then
		[ "${FL_CUDA_VISIBLE_DEVICES:-all}" = all ] || log INFO "FL_CUDA_VISIBLE_DEVICES ignored -- FL_GPU_ENABLED is not YES"
		[ -z "${FL_GPU_MEMORY_FRACTION:-}" ] || log INFO "FL_GPU_MEMORY_FRACTION ignored -- FL_GPU_ENABLED is not YES"
		[ "${FL_DCGM_ENABLED:-NO}" != YES ] || log WARN "FL_DCGM_ENABLED=YES but FL_GPU_ENABLED is not YES. DCGM will not start."
	fi

	# Phase 3 framework variant and use case, then the compatibility matrix.
	fw=${ML_FRAMEWORK:-pytorch}
	case $fw in
	pytorch | tensorflow | sklearn) ;;
	*) error "Unknown ML_FRAMEWORK: '$fw'. Valid options: pytorch, tensorflow, sklearn." ;;
	esac
	uc=${FL_USE_CASE:-none}
	case $uc in
	none) ;;
	image-classification)
		if [[ $fw == pytorch || $fw == tensorflow ]]; then
			log INFO "Use case '$uc' is compatible with framework '$fw'"
		else
			error "FL_USE_CASE '$uc' requires ML_FRAMEWORK 'pytorch' or 'tensorflow', but ML_FRAMEWORK is set to '$fw'"
		fi
		;;
	anomaly-detection)
		if [ "$fw" = sklearn ]; then
			log INFO "Use case '$uc' is compatible with framework '$fw'"
		else
			error "FL_USE_CASE '$uc' requires ML_FRAMEWORK 'sklearn', but ML_FRAMEWORK is set to '$fw'"
		fi
		;;
	llm-fine-tuning)
		if [ "$fw" = pytorch ]; then
			log INFO "Use case '$uc' is compatible with framework '$fw'"
		else
			error "FL_USE_CASE '$uc' requires ML_FRAMEWORK 'pytorch', but ML_FRAMEWORK is set to '$fw'"
		fi
		;;
	*) error "Unknown FL_USE_CASE: '$uc'. Valid options: none, image-classification, anomaly-detection, llm-fine-tuning." ;;
	esac

	# Phase 9 edge discovery.
	v=${FL_EDGE_BACKOFF:-exponential}
	[[ $v == exponential || $v == fixed ]] || error "Invalid FL_EDGE_BACKOFF: '$v'. Must be exponential or fixed."
	check_posint FL_EDGE_MAX_BACKOFF 300
}

validate_common
if [ "$_role" = superlink ]; then
	validate_superlink
else
	validate_supernode
fi

if [ "$_errors" -gt 0 ]; then
	log FATAL "$_errors configuration error(s). Aborting boot."
	exit 1
fi
log INFO "Configuration validation passed."
exit 0
