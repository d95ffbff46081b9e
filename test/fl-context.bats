#!/usr/bin/env bats
# fl-context(1): reading the OpenNebula context as data, defaults, validation with the spec's
# messages, and the outputs other tools and Flower consume.

# SC2016: $ and ` in single quotes are test data; SC2034/SC2154: WITH is read by validate_as,
# status/output/stderr are set by bats.
# shellcheck disable=SC2016,SC2034,SC2154
load helpers

setup_file() {
	local d=$BATS_FILE_TMPDIR
	make_pems "$d"
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$d/rsa.key" -out "$d/rsa.crt" \
		-subj /CN=flkit-rsa -days 2 2>/dev/null
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -aes-256-cbc \
		-pass pass:hunter2 -out "$d/enc.key" 2>/dev/null
	export CERT_B64 KEY_B64 CERT_PEM KEY_PEM
	export RSA_CERT_B64 RSA_KEY_B64 ENC_KEY_B64 CERT_B64_WRAPPED
	RSA_CERT_B64=$(base64 -w0 "$d/rsa.crt")
	RSA_KEY_B64=$(base64 -w0 "$d/rsa.key")
	ENC_KEY_B64=$(base64 -w0 "$d/enc.key")
	CERT_B64_WRAPPED=$(base64 "$CERT_PEM")
}

# The variables of the design (01 §1.2, 03 §2.1, 04 §6), infrastructure ones excluded.
ALL_VARS=(FLOWER_VERSION FL_NUM_ROUNDS FL_STRATEGY FL_MIN_FIT_CLIENTS FL_MIN_EVALUATE_CLIENTS
	FL_MIN_AVAILABLE_CLIENTS FL_FLEET_API_ADDRESS FL_CONTROL_API_ADDRESS FL_CONTROL_API_EXPOSED FL_ISOLATION FL_DATABASE
	FL_LOG_LEVEL FL_PROXIMAL_MU FL_SERVER_LR FL_CLIENT_LR FL_NUM_MALICIOUS FL_TRIM_BETA
	FL_CHECKPOINT_ENABLED FL_CHECKPOINT_INTERVAL FL_CHECKPOINT_PATH FL_CHECKPOINT_KEEP
	FL_CHECKPOINT_S3_URL FL_CHECKPOINT_S3_ENDPOINT FL_CHECKPOINT_S3_REGION FL_GRPC_KEEPALIVE_TIME
	FL_GRPC_KEEPALIVE_TIMEOUT FL_CERT_EXTRA_SAN FL_METRICS_ENABLED FL_METRICS_PORT
	FL_SUPERLINK_ADDRESS FL_NODE_CONFIG FL_PARTITION_OFFSET FL_NUM_PARTITIONS FL_MAX_RETRIES
	FL_MAX_WAIT_TIME FL_GPU_ENABLED FL_CUDA_VISIBLE_DEVICES FL_GPU_MEMORY_FRACTION FL_DCGM_ENABLED FL_LOG_FORMAT FL_TLS_ENABLED
	FL_SSL_CA_CERTFILE FL_SSL_CERTFILE FL_SSL_KEYFILE ML_FRAMEWORK FL_USE_CASE FL_EDGE_BACKOFF
	FL_EDGE_MAX_BACKOFF)
SUPERLINK_ONLY=(FL_NUM_ROUNDS FL_STRATEGY FL_MIN_FIT_CLIENTS FL_MIN_EVALUATE_CLIENTS
	FL_MIN_AVAILABLE_CLIENTS FL_FLEET_API_ADDRESS FL_CONTROL_API_ADDRESS FL_CONTROL_API_EXPOSED FL_DATABASE
	FL_PROXIMAL_MU FL_SERVER_LR FL_CLIENT_LR FL_NUM_MALICIOUS FL_TRIM_BETA FL_CHECKPOINT_ENABLED
	FL_CHECKPOINT_INTERVAL FL_CHECKPOINT_PATH FL_CHECKPOINT_KEEP FL_CHECKPOINT_S3_URL
	FL_CHECKPOINT_S3_ENDPOINT FL_CHECKPOINT_S3_REGION FL_CERT_EXTRA_SAN FL_METRICS_ENABLED FL_METRICS_PORT
	FL_SSL_CERTFILE FL_SSL_KEYFILE)
SUPERNODE_ONLY=(FL_SUPERLINK_ADDRESS FL_NODE_CONFIG FL_PARTITION_OFFSET FL_NUM_PARTITIONS FL_MAX_RETRIES
	FL_MAX_WAIT_TIME FL_GPU_ENABLED
	FL_CUDA_VISIBLE_DEVICES FL_GPU_MEMORY_FRACTION FL_DCGM_ENABLED ML_FRAMEWORK FL_USE_CASE
	FL_EDGE_BACKOFF FL_EDGE_MAX_BACKOFF)

# ---------------------------------------------------------------------------------------
# validate: the basics

@test "validate: an empty superlink context passes" {
	validate_as superlink
	assert_config_ok
}

@test "validate: an empty supernode context passes" {
	validate_as supernode
	assert_config_ok
}

@test "validate: every log line has the [date time] [LEVEL] [fl-context] form" {
	validate_as superlink FL_NUM_ROUNDS=0 FL_GRPC_KEEPALIVE_TIME=5 FL_GRPC_KEEPALIVE_TIMEOUT=4 \
		FL_PROXIMAL_MU=0.5
	assert_failure 1
	[ "${#stderr_lines[@]}" -ge 4 ]
	local line
	for line in "${stderr_lines[@]}"; do
		assert_regex "$line" "$LOG_RE"
	done
}

@test "validate: -q keeps a passing validation silent" {
	run_flc --env-only -q validate --role superlink
	assert_success
	assert_output ''
	assert_equal "$stderr" ''
}

@test "validate: -q still reports errors" {
	run_flc FL_NUM_ROUNDS=0 --env-only -q validate --role superlink
	assert_config_error "Invalid FL_NUM_ROUNDS: '0'. Must be a positive integer."
}

@test "validate: the role can be given before the verb" {
	run_flc FL_NUM_ROUNDS=0 --role superlink --env-only validate
	assert_config_error "Invalid FL_NUM_ROUNDS: '0'. Must be a positive integer."
}

@test "validate: a value longer than 200 bytes is shortened in the message" {
	local long
	long=$(printf 'x%.0s' {1..300})
	validate_as superlink "FL_NUM_ROUNDS=$long"
	assert_config_error "Invalid FL_NUM_ROUNDS: '${long:0:200}...(300 bytes)'. Must be a positive integer."
}

@test "validate: a newline inside a value does not split the log line" {
	validate_as superlink $'FL_STRATEGY=Fed\nAvg'
	assert_config_error 'Unknown FL_STRATEGY: '"'"'Fed\nAvg'"'"'. Valid options: FedAvg, FedProx, FedAdam, Krum, Bulyan, FedTrimmedAvg.'
	assert_equal "${#stderr_lines[@]}" 2
}

# ---------------------------------------------------------------------------------------
# validate: one variable at a time (01 §1.2, §7)

@test "validate: FLOWER_VERSION accepts X.Y.Z on both roles" {
	assert_accepts superlink FLOWER_VERSION 1.25.0 1.41.0 10.0.123 2.0.0
	assert_accepts supernode FLOWER_VERSION 1.25.0
}

@test "validate: FLOWER_VERSION rejects anything but X.Y.Z" {
	local m="Invalid FLOWER_VERSION: '{v}'. Expected format: X.Y.Z (e.g., 1.25.0)"
	assert_rejects superlink FLOWER_VERSION "$m" 1.25 v1.25.0 1.25.0-rc1 1.25.0.1 latest 1..0 '1.25.0 '
	assert_rejects supernode FLOWER_VERSION "$m" 1.25
}

@test "validate: FL_NUM_ROUNDS rejects 0, 05, -1, 1.5 and 2147483648" {
	assert_rejects superlink FL_NUM_ROUNDS "Invalid FL_NUM_ROUNDS: '{v}'. Must be a positive integer." \
		0 05 -1 1.5 2147483648 99999999999999999999 abc ' 1' '1 ' +1 1e3
}

@test "validate: FL_NUM_ROUNDS accepts 1 and 2147483647" {
	assert_accepts superlink FL_NUM_ROUNDS 1 10 2147483647
}

@test "validate: FL_MIN_FIT_CLIENTS must be a positive integer" {
	assert_rejects superlink FL_MIN_FIT_CLIENTS "Invalid FL_MIN_FIT_CLIENTS: '{v}'. Must be a positive integer." \
		0 05 -1 1.5 2147483648
	assert_accepts superlink FL_MIN_FIT_CLIENTS 1 2
}

@test "validate: FL_MIN_EVALUATE_CLIENTS must be a positive integer" {
	assert_rejects superlink FL_MIN_EVALUATE_CLIENTS \
		"Invalid FL_MIN_EVALUATE_CLIENTS: '{v}'. Must be a positive integer." 0 05 -1 1.5 2147483648
	assert_accepts superlink FL_MIN_EVALUATE_CLIENTS 1 2147483647
}

@test "validate: FL_MIN_AVAILABLE_CLIENTS must be a positive integer" {
	assert_rejects superlink FL_MIN_AVAILABLE_CLIENTS \
		"Invalid FL_MIN_AVAILABLE_CLIENTS: '{v}'. Must be a positive integer." 0 05 -1 1.5 2147483648
	assert_accepts superlink FL_MIN_AVAILABLE_CLIENTS 2 2147483647
}

@test "validate: FL_STRATEGY accepts the six supported strategies" {
	assert_accepts superlink FL_STRATEGY FedAvg FedProx FedAdam Krum Bulyan FedTrimmedAvg
}

@test "validate: FL_STRATEGY is case-sensitive and rejects unsupported strategies" {
	assert_rejects superlink FL_STRATEGY \
		"Unknown FL_STRATEGY: '{v}'. Valid options: FedAvg, FedProx, FedAdam, Krum, Bulyan, FedTrimmedAvg." \
		fedavg FEDAVG FedYogi FedMedian MultiKrum FedAdagrad 'FedAvg '
}

@test "validate: FL_FLEET_API_ADDRESS accepts IPv4 and [IPv6] with a port" {
	assert_accepts superlink FL_FLEET_API_ADDRESS 0.0.0.0:9092 10.0.0.1:1 127.0.0.1:65535 '[::1]:9092' \
		'[fe80::1]:9092' '[::]:9092'
}

@test "validate: FL_FLEET_API_ADDRESS rejects bad ports, missing ports, bad IPv4 and bare IPv6" {
	assert_rejects superlink FL_FLEET_API_ADDRESS \
		"Invalid FL_FLEET_API_ADDRESS: '{v}'. Expected format: host:port, the host an IP address of this VM or 0.0.0.0 (a listen address: docker publishes IP addresses only)." \
		host:0 host:65536 host host: :9092 999.1.1.1:9092 1.2.3:9092 ::1 '[::1]' ::1:9092 \
		'[::1]9092' 'a b:1' -host:1 host:+1 host:9092/x http://host:9092 '[1.2.3.4]:9092'
}

@test "validate: FL_CONTROL_API_ADDRESS accepts host:port" {
	assert_accepts superlink FL_CONTROL_API_ADDRESS 0.0.0.0:9093 127.0.0.1:9093 '[::1]:9093' ctl.example.org:1
}

@test "validate: FL_CONTROL_API_ADDRESS rejects what is not host:port" {
	assert_rejects superlink FL_CONTROL_API_ADDRESS \
		"Invalid FL_CONTROL_API_ADDRESS: '{v}'. Expected format: host:port." \
		host:0 host:65536 9093 999.1.1.1:9093 ::1
}

@test "validate: FL_ISOLATION accepts subprocess and process on both roles" {
	assert_accepts superlink FL_ISOLATION subprocess process
	assert_accepts supernode FL_ISOLATION subprocess process
}

@test "validate: FL_ISOLATION rejects other modes" {
	local m="Unknown FL_ISOLATION: '{v}'. Valid options: subprocess, process."
	assert_rejects superlink FL_ISOLATION "$m" Process thread SUBPROCESS
	assert_rejects supernode FL_ISOLATION "$m" thread
}

@test "validate: FL_DATABASE accepts a path relative to /app" {
	assert_accepts superlink FL_DATABASE state/state.db state/other.db db.sqlite a/b_c-d.1.db
}

@test "validate: FL_DATABASE rejects absolute paths, .. and shell characters" {
	assert_rejects superlink FL_DATABASE \
		"Invalid FL_DATABASE: '{v}'. Must be a path relative to the container workdir /app, of letters, digits, '.', '_', '-' and '/' (e.g., state/state.db)." \
		/opt/flower/state/state.db ../state.db state/../../etc/x 'state/a b.db' 'state/$x.db' 'a;b'
}

@test "validate: FL_LOG_LEVEL accepts DEBUG, INFO, WARNING and ERROR on both roles" {
	assert_accepts superlink FL_LOG_LEVEL DEBUG INFO WARNING ERROR
	assert_accepts supernode FL_LOG_LEVEL DEBUG ERROR
}

@test "validate: FL_LOG_LEVEL rejects WARN and lower case" {
	local m="Unknown FL_LOG_LEVEL: '{v}'. Valid options: DEBUG, INFO, WARNING, ERROR."
	assert_rejects superlink FL_LOG_LEVEL "$m" WARN debug CRITICAL
	assert_rejects supernode FL_LOG_LEVEL "$m" info
}

@test "validate: FL_PROXIMAL_MU accepts non-negative floats of the spec grammar, 0 included" {
	WITH=(FL_STRATEGY=FedProx)
	assert_accepts superlink FL_PROXIMAL_MU 0 0.0 .5 00.1 5 1.0 100 0.001
}

@test "validate: FL_PROXIMAL_MU rejects 1., 1e-3, -0.1 and other non-grammar numbers" {
	assert_rejects superlink FL_PROXIMAL_MU "Invalid FL_PROXIMAL_MU: '{v}'. Must be a non-negative float." \
		1. 1e-3 -0.1 +1 1,5 0x1 . abc ' 1' 1.2.3
}

@test "validate: FL_SERVER_LR accepts positive floats, .5 included" {
	WITH=(FL_STRATEGY=FedAdam)
	assert_accepts superlink FL_SERVER_LR .5 0.001 1 10 00.1
}

@test "validate: FL_SERVER_LR rejects 0, 0.0, .0 and 1." {
	assert_rejects superlink FL_SERVER_LR "Invalid FL_SERVER_LR: '{v}'. Must be a positive float." \
		0 0.0 .0 00.000 1. -0.1 1e-3
}

@test "validate: FL_CLIENT_LR accepts positive floats" {
	WITH=(FL_STRATEGY=FedAdam)
	assert_accepts superlink FL_CLIENT_LR .5 0.01 3
}

@test "validate: FL_CLIENT_LR rejects 0, 1. and negative values" {
	assert_rejects superlink FL_CLIENT_LR "Invalid FL_CLIENT_LR: '{v}'. Must be a positive float." \
		0 0.0 .0 1. -1 1e-2
}

@test "validate: FL_NUM_MALICIOUS accepts non-negative integers" {
	WITH=(FL_STRATEGY=Krum FL_MIN_AVAILABLE_CLIENTS=2147483647)
	assert_accepts superlink FL_NUM_MALICIOUS 0 1 00 100
}

@test "validate: FL_NUM_MALICIOUS rejects 1.5, -1 and 2147483648" {
	assert_rejects superlink FL_NUM_MALICIOUS "Invalid FL_NUM_MALICIOUS: '{v}'. Must be a non-negative integer." \
		1.5 -1 2147483648 abc ' 0'
}

@test "validate: FL_TRIM_BETA accepts 0.49 and other values strictly between 0 and 0.5" {
	WITH=(FL_STRATEGY=FedTrimmedAvg)
	assert_accepts superlink FL_TRIM_BETA 0.49 .1 0.2 0.4999 0.0001
}

@test "validate: FL_TRIM_BETA rejects 0, 0.5 and 0.7" {
	assert_rejects superlink FL_TRIM_BETA \
		"Invalid FL_TRIM_BETA: '{v}'. Must be a float between 0.0 and 0.5 (exclusive)." \
		0 0.0 0.5 .50 0.7 1 -0.1 1e-1 0.2.
}

@test "validate: FL_CHECKPOINT_ENABLED accepts exactly YES and NO" {
	assert_accepts superlink FL_CHECKPOINT_ENABLED YES NO
}

@test "validate: FL_CHECKPOINT_ENABLED is case-sensitive" {
	assert_rejects superlink FL_CHECKPOINT_ENABLED "Invalid FL_CHECKPOINT_ENABLED: '{v}'. Must be YES or NO." \
		yes Yes no true 1 'YES '
}

@test "validate: FL_CHECKPOINT_INTERVAL must be a positive integer when checkpointing is on" {
	WITH=(FL_CHECKPOINT_ENABLED=YES)
	assert_rejects superlink FL_CHECKPOINT_INTERVAL \
		"Invalid FL_CHECKPOINT_INTERVAL: '{v}'. Must be a positive integer." 0 05 -5 1.5 abc 2147483648
	assert_accepts superlink FL_CHECKPOINT_INTERVAL 1 2147483647
}

@test "validate: FL_CHECKPOINT_INTERVAL is not checked while checkpointing is off" {
	validate_as superlink FL_CHECKPOINT_ENABLED=NO FL_CHECKPOINT_INTERVAL=abc
	assert_config_ok
	assert_log INFO 'FL_CHECKPOINT_INTERVAL ignored -- FL_CHECKPOINT_ENABLED is not YES'
}

@test "validate: FL_CHECKPOINT_PATH must be a plain absolute container path when checkpointing is on" {
	WITH=(FL_CHECKPOINT_ENABLED=YES)
	assert_rejects superlink FL_CHECKPOINT_PATH \
		"Invalid FL_CHECKPOINT_PATH: '{v}'. Must be an absolute container path of letters, digits, '.', '_', '-' and '/' (e.g., /app/checkpoints)." \
		checkpoints app/checkpoints /app/../etc '/app/a b' '/app/$(id)'
	assert_accepts superlink FL_CHECKPOINT_PATH /app/checkpoints /app/ckpt/run-1
}

@test "validate: FL_CHECKPOINT_KEEP is a non-negative integer when checkpointing is on" {
	WITH=(FL_CHECKPOINT_ENABLED=YES)
	assert_rejects superlink FL_CHECKPOINT_KEEP \
		"Invalid FL_CHECKPOINT_KEEP: '{v}'. Must be a non-negative integer (0 keeps every round)." -1 1.5 abc 2147483648
	assert_accepts superlink FL_CHECKPOINT_KEEP 0 3 2147483647
}

@test "validate: FL_CHECKPOINT_S3_URL is s3://bucket[/prefix] with S3's bucket naming rules" {
	WITH=(FL_CHECKPOINT_ENABLED=YES)
	assert_rejects superlink FL_CHECKPOINT_S3_URL \
		"Invalid FL_CHECKPOINT_S3_URL: '{v}'. Must be s3://bucket[/prefix] with a bucket name of 3-63 lowercase letters, digits, '.' and '-' (e.g., s3://flower-ckpt/run1)." \
		http://b/x s3://ab s3://Bucket s3://-bucket s3://bucket- s3://a..b s3://192.168.1.1 \
		s3://bucket/a/../b s3://bucket//x 's3://bucket/a b' s3://xn--bucket
	assert_accepts superlink FL_CHECKPOINT_S3_URL s3://flower-ckpt s3://flower-ckpt/ s3://my.bucket-1/run1/ckpt
}

@test "validate: FL_CHECKPOINT_S3_ENDPOINT is http(s)://host[:port]" {
	WITH=(FL_CHECKPOINT_ENABLED=YES)
	assert_rejects superlink FL_CHECKPOINT_S3_ENDPOINT \
		"Invalid FL_CHECKPOINT_S3_ENDPOINT: '{v}'. Must be http(s)://host[:port] (e.g., https://s3.example.com:9000)." \
		ftp://h h:9000 http:// http://h:0 http://h:70000 http://h/path 'http://h x'
	assert_accepts superlink FL_CHECKPOINT_S3_ENDPOINT http://127.0.0.1:5000 https://s3.example.com \
		https://s3.example.com:9000/ 'http://[::1]:9000'
}

@test "validate: FL_CHECKPOINT_S3_REGION is lowercase letters, digits and dashes" {
	WITH=(FL_CHECKPOINT_ENABLED=YES)
	assert_rejects superlink FL_CHECKPOINT_S3_REGION \
		"Invalid FL_CHECKPOINT_S3_REGION: '{v}'. Must be lowercase letters, digits and '-' (e.g., us-east-1)." \
		US-EAST-1 us_east_1 'us east'
	assert_accepts superlink FL_CHECKPOINT_S3_REGION us-east-1 eu-central-2 garage
}

@test "validate: the FL_CHECKPOINT_S3_* and KEEP variables are not checked while checkpointing is off" {
	validate_as superlink FL_CHECKPOINT_ENABLED=NO FL_CHECKPOINT_KEEP=x FL_CHECKPOINT_S3_URL=x
	assert_success
	assert_log INFO 'FL_CHECKPOINT_KEEP ignored -- FL_CHECKPOINT_ENABLED is not YES'
	assert_log INFO 'FL_CHECKPOINT_S3_URL ignored -- FL_CHECKPOINT_ENABLED is not YES'
}

@test "validate: FL_CHECKPOINT_PATH outside /app only warns" {
	validate_as superlink FL_CHECKPOINT_ENABLED=YES FL_CHECKPOINT_PATH=/opt/flower/checkpoints
	assert_config_ok
	assert_log WARN "FL_CHECKPOINT_PATH '/opt/flower/checkpoints' is not under /app; it is a container path (the host directory is /opt/flower/checkpoints). Use e.g. /app/checkpoints."
}

@test "validate: an empty FL_CHECKPOINT_PATH with checkpointing on means the default (empty = unset)" {
	validate_as superlink FL_CHECKPOINT_ENABLED=YES FL_CHECKPOINT_PATH=
	assert_config_ok
	run_flc FL_CHECKPOINT_ENABLED=YES FL_CHECKPOINT_PATH= --env-only get FL_CHECKPOINT_PATH
	assert_output /app/checkpoints
}

@test "validate: FL_GRPC_KEEPALIVE_TIME must be a positive integer on both roles" {
	local m="Invalid FL_GRPC_KEEPALIVE_TIME: '{v}'. Must be a positive integer."
	assert_rejects superlink FL_GRPC_KEEPALIVE_TIME "$m" 0 -1 1.5 2147483648 abc
	assert_rejects supernode FL_GRPC_KEEPALIVE_TIME "$m" 0 abc
	assert_accepts superlink FL_GRPC_KEEPALIVE_TIME 21 60 2147483647
	assert_accepts supernode FL_GRPC_KEEPALIVE_TIME 300
}

@test "validate: FL_GRPC_KEEPALIVE_TIMEOUT must be a positive integer on both roles" {
	local m="Invalid FL_GRPC_KEEPALIVE_TIMEOUT: '{v}'. Must be a positive integer less than FL_GRPC_KEEPALIVE_TIME."
	assert_rejects superlink FL_GRPC_KEEPALIVE_TIMEOUT "$m" 0 05 -1 1.5 abc
	assert_rejects supernode FL_GRPC_KEEPALIVE_TIMEOUT "$m" 0
	assert_accepts superlink FL_GRPC_KEEPALIVE_TIMEOUT 1 59
	assert_accepts supernode FL_GRPC_KEEPALIVE_TIMEOUT 30
}

@test "validate: FL_CERT_EXTRA_SAN accepts IP and DNS entries, trimmed" {
	assert_accepts superlink FL_CERT_EXTRA_SAN IP:10.10.9.0 DNS:flower.example.com \
		'IP:10.10.9.0,DNS:flower.example.com' ' IP:1.2.3.4 , DNS:a.b ' IP:::1 IP:fe80::1 DNS:localhost
}

@test "validate: FL_CERT_EXTRA_SAN reports each bad entry, trimmed" {
	validate_as superlink 'FL_CERT_EXTRA_SAN= IP:999.1.1.1 ,DNS:ok.example, foo ,dns:a.b'
	assert_config_error \
		"Invalid FL_CERT_EXTRA_SAN entry: 'IP:999.1.1.1'. Expected format: IP:<addr> or DNS:<name>." \
		"Invalid FL_CERT_EXTRA_SAN entry: 'foo'. Expected format: IP:<addr> or DNS:<name>." \
		"Invalid FL_CERT_EXTRA_SAN entry: 'dns:a.b'. Expected format: IP:<addr> or DNS:<name>."
}

@test "validate: FL_CERT_EXTRA_SAN rejects an empty entry between commas" {
	validate_as superlink 'FL_CERT_EXTRA_SAN=IP:1.2.3.4,,DNS:a.b'
	assert_config_error "Invalid FL_CERT_EXTRA_SAN entry: ''. Expected format: IP:<addr> or DNS:<name>."
}

@test "validate: FL_CERT_EXTRA_SAN rejects malformed IPs and names" {
	assert_rejects superlink FL_CERT_EXTRA_SAN \
		"Invalid FL_CERT_EXTRA_SAN entry: '{v}'. Expected format: IP:<addr> or DNS:<name>." \
		IP:999.1.1.1 IP:1.2.3 IP: DNS: DNS:bad_name DNS:-a.b 'DNS:a b' URI:http://x email:a@b
}

@test "validate: FL_METRICS_ENABLED accepts exactly YES and NO" {
	assert_accepts superlink FL_METRICS_ENABLED YES NO
	assert_rejects superlink FL_METRICS_ENABLED "Invalid FL_METRICS_ENABLED: '{v}'. Must be YES or NO." \
		yes Yes true 1
}

@test "validate: FL_METRICS_PORT rejects 1023, the Flower ports 9091-9093 and 65536" {
	assert_rejects superlink FL_METRICS_PORT \
		"Invalid FL_METRICS_PORT: '{v}'. Must be integer 1024-65535, not 9091-9093." \
		1023 9091 9092 9093 65536 0 -1 abc 9101.0
}

@test "validate: FL_METRICS_PORT accepts 1024, 9101 and 65535" {
	WITH=(FL_METRICS_ENABLED=YES)
	assert_accepts superlink FL_METRICS_PORT 1024 9090 9094 9101 65535
}

@test "validate: FL_LOG_FORMAT accepts text and rejects other formats on both roles" {
	local m="Invalid FL_LOG_FORMAT: '{v}'. Must be 'text' or 'json'."
	assert_accepts superlink FL_LOG_FORMAT text
	assert_rejects superlink FL_LOG_FORMAT "$m" JSON Text yaml
	assert_rejects supernode FL_LOG_FORMAT "$m" JSON
}

@test "validate: FL_TLS_ENABLED is YES or NO in any case" {
	assert_accepts superlink FL_TLS_ENABLED YES yes Yes NO no nO
	assert_accepts supernode FL_TLS_ENABLED yes
	assert_rejects superlink FL_TLS_ENABLED "Invalid FL_TLS_ENABLED: '{v}'. Must be YES or NO." true 1 y 'YES '
}

@test "validate: FL_SUPERLINK_ADDRESS accepts host:port and [IPv6]:port" {
	assert_accepts supernode FL_SUPERLINK_ADDRESS 192.168.1.100:9092 superlink.example.com:9092 '[::1]:9092'
}

@test "validate: FL_SUPERLINK_ADDRESS rejects what is not host:port" {
	assert_rejects supernode FL_SUPERLINK_ADDRESS \
		"Invalid FL_SUPERLINK_ADDRESS: '{v}'. Expected format: host:port or leave empty for OneGate discovery." \
		192.168.1.100 host:0 host:65536 999.1.1.1:9092 ::1 '[::1]' 'grpc://h:1'
}

@test "validate: a host:port with a leading zero in the port is refused, saying why" {
	validate_as supernode FL_SUPERLINK_ADDRESS=superlink.example.com:09092
	assert_config_error "Invalid FL_SUPERLINK_ADDRESS: 'superlink.example.com:09092'. Expected format: host:port or leave empty for OneGate discovery."
	assert_log INFO "FL_SUPERLINK_ADDRESS: 'superlink.example.com:09092': port '09092' is not a number in 1-65535 written in decimal without sign or leading zeros, e.g. 9092."
	validate_as superlink FL_CONTROL_API_ADDRESS=127.0.0.1:09093
	assert_config_error "Invalid FL_CONTROL_API_ADDRESS: '127.0.0.1:09093'. Expected format: host:port."
	validate_as superlink FL_FLEET_API_ADDRESS=0.0.0.0:09092
	assert_config_error "Invalid FL_FLEET_API_ADDRESS: '0.0.0.0:09092'. Expected format: host:port, the host an IP address of this VM or 0.0.0.0 (a listen address: docker publishes IP addresses only)."
}

@test "validate: an empty FL_SUPERLINK_ADDRESS means OneGate discovery and passes" {
	validate_as supernode FL_SUPERLINK_ADDRESS=
	assert_config_ok
}

@test "validate: FL_MAX_RETRIES accepts 0 and other non-negative integers" {
	assert_accepts supernode FL_MAX_RETRIES 0 00 5 2147483647
	assert_rejects supernode FL_MAX_RETRIES "Invalid FL_MAX_RETRIES: '{v}'. Must be a non-negative integer." \
		-1 1.5 2147483648 abc
}

@test "validate: FL_MAX_WAIT_TIME accepts 0 and other non-negative integers" {
	assert_accepts supernode FL_MAX_WAIT_TIME 0 60 2147483647
	assert_rejects supernode FL_MAX_WAIT_TIME "Invalid FL_MAX_WAIT_TIME: '{v}'. Must be a non-negative integer." \
		-1 1.5 2147483648 ten
}

@test "validate: FL_GPU_ENABLED is YES or NO in any case" {
	assert_accepts supernode FL_GPU_ENABLED YES yes Yes NO no
	assert_rejects supernode FL_GPU_ENABLED "Invalid FL_GPU_ENABLED: '{v}'. Must be YES or NO." true 1 on 'yes '
}

@test "validate: FL_CUDA_VISIBLE_DEVICES accepts all or comma-separated GPU ids" {
	WITH=(FL_GPU_ENABLED=YES)
	assert_accepts supernode FL_CUDA_VISIBLE_DEVICES all 0 0,1 3,2,1
}

@test "validate: FL_CUDA_VISIBLE_DEVICES rejects other lists" {
	assert_rejects supernode FL_CUDA_VISIBLE_DEVICES \
		"Invalid FL_CUDA_VISIBLE_DEVICES: '{v}'. Must be 'all' or comma-separated GPU IDs (e.g., 0,1)." \
		ALL none 0, ,0 '0 1' '0;1' -1 a 0,,1
}

@test "validate: FL_GPU_MEMORY_FRACTION accepts 0.0 to 1.0 inclusive" {
	WITH=(FL_GPU_ENABLED=YES)
	assert_accepts supernode FL_GPU_MEMORY_FRACTION 0 0.0 .5 0.8 1 1.0
}

@test "validate: FL_GPU_MEMORY_FRACTION rejects values above 1 and outside the grammar" {
	assert_rejects supernode FL_GPU_MEMORY_FRACTION \
		"Invalid FL_GPU_MEMORY_FRACTION: '{v}'. Must be a float between 0.0 and 1.0." \
		1.01 1.5 2 -0.1 1e-1 1. 80%
}

@test "validate: FL_DCGM_ENABLED accepts exactly YES and NO" {
	WITH=(FL_GPU_ENABLED=YES)
	assert_accepts supernode FL_DCGM_ENABLED YES NO
	assert_rejects supernode FL_DCGM_ENABLED "Invalid FL_DCGM_ENABLED: '{v}'. Must be YES or NO." yes Yes no 1
}

@test "validate: ML_FRAMEWORK accepts pytorch, tensorflow and sklearn" {
	assert_accepts supernode ML_FRAMEWORK pytorch tensorflow sklearn
}

@test "validate: ML_FRAMEWORK rejects other frameworks" {
	assert_rejects supernode ML_FRAMEWORK "Unknown ML_FRAMEWORK: '{v}'. Valid options: pytorch, tensorflow, sklearn." \
		jax PyTorch torch
}

@test "validate: FL_USE_CASE rejects unknown and miscased use cases" {
	assert_rejects supernode FL_USE_CASE \
		"Unknown FL_USE_CASE: '{v}'. Valid options: none, image-classification, anomaly-detection, llm-fine-tuning." \
		Image-Classification foo NONE
}

@test "validate: FL_EDGE_BACKOFF is exponential or fixed" {
	assert_accepts supernode FL_EDGE_BACKOFF exponential fixed
	assert_rejects supernode FL_EDGE_BACKOFF "Invalid FL_EDGE_BACKOFF: '{v}'. Must be exponential or fixed." \
		linear Exponential
}

@test "validate: FL_EDGE_MAX_BACKOFF must be a positive integer" {
	assert_accepts supernode FL_EDGE_MAX_BACKOFF 1 300 2147483647
	assert_rejects supernode FL_EDGE_MAX_BACKOFF "Invalid FL_EDGE_MAX_BACKOFF: '{v}'. Must be a positive integer." \
		0 05 -1 1.5 2147483648
}

# ---------------------------------------------------------------------------------------
# validate: FL_PARTITION_OFFSET and FL_NUM_PARTITIONS (a training site's range, 04 §2.1)

@test "validate: the training sites' ranges pass (site B offset 0 of 4, site C offset 2 of 4)" {
	validate_as supernode FL_PARTITION_OFFSET=0 FL_NUM_PARTITIONS=4
	assert_config_ok
	validate_as supernode FL_PARTITION_OFFSET=2 FL_NUM_PARTITIONS=4
	assert_config_ok
	validate_as supernode ONEAPP_FL_PARTITION_OFFSET=2 ONEAPP_FL_NUM_PARTITIONS=4
	assert_config_ok
	validate_as supernode FL_PARTITION_OFFSET= FL_NUM_PARTITIONS=
	assert_config_ok
}

@test "validate: FL_PARTITION_OFFSET and FL_NUM_PARTITIONS refuse hostile numbers" {
	local v
	for v in -1 1e3 0x10 99999999999999999999999 ' 1' 1.0 +1; do
		validate_as supernode FL_PARTITION_OFFSET="$v"
		assert_config_error "Invalid FL_PARTITION_OFFSET: '$v'. Must be a non-negative integer: the first partition-id of this training site (e.g., 0 for the first site, the first site's max_vms for the next)."
	done
	for v in 0 -1 1e3 0x10 99999999999999999999999; do
		validate_as supernode FL_NUM_PARTITIONS="$v"
		assert_config_error "Invalid FL_NUM_PARTITIONS: '$v'. Must be a positive integer: the federation's total number of SuperNodes (or empty for this service's SuperNode count)."
	done
}

@test "validate: FL_PARTITION_OFFSET above 0 needs FL_NUM_PARTITIONS, and must be below it" {
	validate_as supernode FL_PARTITION_OFFSET=2
	assert_config_error "FL_PARTITION_OFFSET=2 needs FL_NUM_PARTITIONS: set FL_NUM_PARTITIONS to the federation's total number of SuperNodes (every site the same value)."
	validate_as supernode FL_PARTITION_OFFSET=4 FL_NUM_PARTITIONS=4
	assert_config_error "FL_PARTITION_OFFSET=4 must be less than FL_NUM_PARTITIONS=4: this site's partition-ids start at the offset; set FL_NUM_PARTITIONS to the federation's total number of SuperNodes, above every site's offset."
	# A bad value is one error, not a second one from the cross-check.
	validate_as supernode FL_PARTITION_OFFSET=x FL_NUM_PARTITIONS=4
	assert_failure 1
	assert_equal "$(count_log ERROR)" 1
}

@test "validate: a static FL_NODE_CONFIG wins; the range is ignored with a note, even a bad one" {
	validate_as supernode FL_NODE_CONFIG='partition-id=0 num-partitions=2' FL_PARTITION_OFFSET=-1 FL_NUM_PARTITIONS=2
	assert_config_ok
	assert_log INFO "FL_PARTITION_OFFSET ignored -- FL_NODE_CONFIG is set (a static partition)"
	assert_log INFO "FL_NUM_PARTITIONS ignored -- FL_NODE_CONFIG is set (a static partition)"
}

@test "validate: the range applies to SuperNodes; ignored on the superlink" {
	validate_as superlink FL_PARTITION_OFFSET=2 FL_NUM_PARTITIONS=4
	assert_config_ok
	assert_log INFO "FL_PARTITION_OFFSET applies to the supernode role; ignored on superlink."
}

# validate: FL_NODE_CONFIG (allow-listed key=value tokens)

@test "validate: FL_NODE_CONFIG accepts space-separated key=value pairs" {
	assert_accepts supernode FL_NODE_CONFIG 'partition-id=0 num-partitions=2' \
		'model-name=openlm-research/open_llama_3b quantization=4bit' $'a=1\tb=2  c=x' \
		'lr=0.01 url=host:9 tag=a+b,c@d%e_f'
}

@test "validate: FL_NODE_CONFIG rejects a pair without '='" {
	validate_as supernode 'FL_NODE_CONFIG=partition-id=0 novalue'
	assert_config_error "Invalid FL_NODE_CONFIG pair: 'novalue'. Expected format: key=value."
}

@test "validate: FL_NODE_CONFIG rejects an empty key or value and odd key characters" {
	assert_rejects supernode FL_NODE_CONFIG "Invalid FL_NODE_CONFIG pair: '{v}'. Expected format: key=value." \
		=1 k= bad.key=1 'k$=1'
}

@test "validate: FL_NODE_CONFIG values with shell characters get the 'Values may contain only' message" {
	local m="Invalid FL_NODE_CONFIG pair: '{v}'. Values may contain only letters, digits and . _ / : + , @ % -."
	assert_rejects supernode FL_NODE_CONFIG "$m" 'a=$x' 'a=$(id)' 'a=(x)' 'a=`id`' 'a=b;c' 'a=b|c' \
		'a="q"' "a='q'" 'a=b&c' 'a=b>c' 'a=b\c' 'a=b=c'
}

@test "validate: FL_NODE_CONFIG rejects a duplicate key" {
	validate_as supernode 'FL_NODE_CONFIG=a=1 b=2 a=3'
	assert_config_error "Invalid FL_NODE_CONFIG: key 'a' appears more than once."
}

@test "validate: FL_NODE_CONFIG needs partition-id below num-partitions" {
	validate_as supernode 'FL_NODE_CONFIG=partition-id=2 num-partitions=2'
	assert_config_error 'Invalid FL_NODE_CONFIG: partition-id=2 must be less than num-partitions=2.'
	validate_as supernode 'FL_NODE_CONFIG=num-partitions=2 partition-id=1'
	assert_config_ok
}

@test "validate: FL_NODE_CONFIG partition-id and num-partitions must be integers" {
	validate_as supernode 'FL_NODE_CONFIG=partition-id=x num-partitions=2'
	assert_config_error "Invalid FL_NODE_CONFIG: partition-id must be a non-negative integer without leading zeros, got 'x' (Flower's type: string); e.g. partition-id=0."
	validate_as supernode 'FL_NODE_CONFIG=partition-id=-1 num-partitions=2'
	assert_config_error "Invalid FL_NODE_CONFIG: partition-id must be a non-negative integer without leading zeros, got '-1' (Flower's type: integer); e.g. partition-id=0."
	validate_as supernode 'FL_NODE_CONFIG=num-partitions=0'
	assert_config_error 'Invalid FL_NODE_CONFIG: num-partitions must be at least 1.'
}

@test "validate: FL_NODE_CONFIG reports every bad pair" {
	validate_as supernode 'FL_NODE_CONFIG=a=$(x) lonely ok=1 ok=2'
	assert_config_error \
		"Invalid FL_NODE_CONFIG pair: 'a=\$(x)'. Values may contain only letters, digits and . _ / : + , @ % -." \
		"Invalid FL_NODE_CONFIG pair: 'lonely'. Expected format: key=value." \
		"Invalid FL_NODE_CONFIG: key 'ok' appears more than once."
}

# ---------------------------------------------------------------------------------------
# validate: operator TLS material (base64 PEM)

@test "validate: operator EC certificate, key and CA pass on the superlink" {
	validate_as superlink FL_TLS_ENABLED=YES "FL_SSL_CA_CERTFILE=$CERT_B64" \
		"FL_SSL_CERTFILE=$CERT_B64" "FL_SSL_KEYFILE=$KEY_B64"
	assert_config_ok
}

@test "validate: operator RSA certificate and key pass on the superlink" {
	validate_as superlink FL_TLS_ENABLED=yes "FL_SSL_CA_CERTFILE=$RSA_CERT_B64" \
		"FL_SSL_CERTFILE=$RSA_CERT_B64" "FL_SSL_KEYFILE=$RSA_KEY_B64"
	assert_config_ok
}

@test "validate: base64 with line breaks is accepted" {
	validate_as supernode FL_TLS_ENABLED=YES "FL_SSL_CA_CERTFILE=$CERT_B64_WRAPPED"
	assert_config_ok
}

@test "validate: a supernode may carry only the CA to trust" {
	validate_as supernode FL_TLS_ENABLED=YES "FL_SSL_CA_CERTFILE=$CERT_B64"
	assert_config_ok
}

@test "validate: garbage base64 in a certificate variable is rejected" {
	validate_as supernode 'FL_SSL_CA_CERTFILE=not base64!'
	assert_config_error 'FL_SSL_CA_CERTFILE does not contain a valid base64-encoded PEM certificate.'
	validate_as superlink 'FL_SSL_CERTFILE=%%%'
	assert_config_error 'FL_SSL_CERTFILE does not contain a valid base64-encoded PEM certificate.'
}

@test "validate: base64 of something that is not a PEM certificate is rejected" {
	validate_as supernode "FL_SSL_CA_CERTFILE=$(printf 'hello world\n' | base64 -w0)"
	assert_config_error 'FL_SSL_CA_CERTFILE does not contain a valid base64-encoded PEM certificate.'
	validate_as supernode "FL_SSL_CA_CERTFILE=$KEY_B64"
	assert_config_error 'FL_SSL_CA_CERTFILE does not contain a valid base64-encoded PEM certificate.'
}

@test "validate: raw PEM text instead of base64 is rejected" {
	validate_as supernode "FL_SSL_CA_CERTFILE=$(cat "$CERT_PEM")"
	assert_config_error 'FL_SSL_CA_CERTFILE does not contain a valid base64-encoded PEM certificate.'
}

@test "validate: a certificate in FL_SSL_KEYFILE is not a private key" {
	validate_as superlink FL_TLS_ENABLED=YES "FL_SSL_CA_CERTFILE=$CERT_B64" \
		"FL_SSL_CERTFILE=$CERT_B64" "FL_SSL_KEYFILE=$CERT_B64"
	assert_config_error 'FL_SSL_KEYFILE does not contain a valid base64-encoded PEM private key.'
}

@test "validate: an encrypted private key is rejected without prompting for a passphrase" {
	run --separate-stderr timeout 10 env -i FL_TLS_ENABLED=YES "FL_SSL_CA_CERTFILE=$CERT_B64" \
		"FL_SSL_CERTFILE=$CERT_B64" "FL_SSL_KEYFILE=$ENC_KEY_B64" \
		"$FLKIT_BIN/fl-context" --env-only validate --role superlink </dev/null
	assert_config_error 'FL_SSL_KEYFILE does not contain a valid base64-encoded PEM private key.'
}

@test "validate: the FL_SSL_KEYFILE error never echoes the value" {
	local secret
	secret=$(printf 'TOPSECRET-KEY-MATERIAL' | base64 -w0)
	validate_as superlink "FL_SSL_KEYFILE=$secret"
	assert_config_error 'FL_SSL_KEYFILE does not contain a valid base64-encoded PEM private key.'
	refute_stderr_contains "$secret"
	refute_stderr_contains TOPSECRET
	# a real key that fails the all-or-none rule is not echoed either
	validate_as superlink FL_TLS_ENABLED=YES "FL_SSL_KEYFILE=$KEY_B64"
	assert_failure 1
	refute_stderr_contains "${KEY_B64:0:40}"
	refute_stderr_contains 'PRIVATE KEY'
}

@test "validate: the FL_SSL_KEYFILE error never echoes the value in JSON logs" {
	validate_as superlink FL_LOG_FORMAT=json 'FL_SSL_KEYFILE=U0VDUkVULUtFWQ=='
	assert_failure 1
	refute_stderr_contains U0VDUkVULUtFWQ
}

@test "validate: superlink TLS material is all-or-none: a certificate without a CA" {
	validate_as superlink FL_TLS_ENABLED=YES "FL_SSL_CERTFILE=$CERT_B64" "FL_SSL_KEYFILE=$KEY_B64"
	assert_config_error 'FL_SSL_CA_CERTFILE is required when FL_SSL_CERTFILE or FL_SSL_KEYFILE is provided.'
}

@test "validate: superlink TLS material is all-or-none: a CA alone" {
	validate_as superlink FL_TLS_ENABLED=YES "FL_SSL_CA_CERTFILE=$CERT_B64"
	assert_config_error 'FL_SSL_CERTFILE is required when FL_SSL_CA_CERTFILE is provided.' \
		'FL_SSL_KEYFILE is required when FL_SSL_CA_CERTFILE is provided.'
}

@test "validate: superlink TLS material is all-or-none: a CA and certificate without key" {
	validate_as superlink FL_TLS_ENABLED=YES "FL_SSL_CA_CERTFILE=$CERT_B64" "FL_SSL_CERTFILE=$CERT_B64"
	assert_config_error 'FL_SSL_KEYFILE is required when FL_SSL_CA_CERTFILE is provided.'
}

@test "validate: TLS material with TLS off is noted as ignored" {
	validate_as superlink FL_TLS_ENABLED=NO "FL_SSL_CA_CERTFILE=$CERT_B64"
	assert_config_ok
	assert_log INFO 'FL_SSL_CA_CERTFILE/FL_SSL_CERTFILE/FL_SSL_KEYFILE ignored -- FL_TLS_ENABLED is not YES'
}

@test "validate: FL_CA_FINGERPRINT accepts a SHA-256 fingerprint with or without colons" {
	local fp
	fp=$(openssl x509 -in "$CERT_PEM" -noout -fingerprint -sha256 | sed 's/.*=//')
	assert_accepts supernode FL_CA_FINGERPRINT "$fp" "${fp//:/}" "$(tr 'A-F' 'a-f' <<<"${fp//:/}")"
}

@test "validate: FL_CA_FINGERPRINT rejects what is not 64 hex digits" {
	local hex63
	hex63=$(printf 'a%.0s' {1..63})
	assert_rejects supernode FL_CA_FINGERPRINT \
		"Invalid FL_CA_FINGERPRINT: '{v}'. Expected a SHA-256 fingerprint: 64 hex digits, with or without colons." \
		AB:CD "$hex63" "${hex63}g" "sha256:${hex63}a"
}

# ---------------------------------------------------------------------------------------
# validate: FL_USE_CASE x ML_FRAMEWORK (03 §2.2)

@test "validate: image-classification works with pytorch and tensorflow" {
	local fw
	for fw in pytorch tensorflow; do
		validate_as supernode FL_USE_CASE=image-classification "ML_FRAMEWORK=$fw"
		assert_config_ok
		assert_log INFO "Use case 'image-classification' is compatible with framework '$fw'"
	done
}

@test "validate: image-classification with sklearn fails with the spec's message" {
	validate_as supernode FL_USE_CASE=image-classification ML_FRAMEWORK=sklearn
	assert_config_error "FL_USE_CASE 'image-classification' requires ML_FRAMEWORK 'pytorch' or 'tensorflow', but ML_FRAMEWORK is set to 'sklearn'"
}

@test "validate: anomaly-detection needs sklearn" {
	local fw
	for fw in pytorch tensorflow; do
		validate_as supernode FL_USE_CASE=anomaly-detection "ML_FRAMEWORK=$fw"
		assert_config_error "FL_USE_CASE 'anomaly-detection' requires ML_FRAMEWORK 'sklearn', but ML_FRAMEWORK is set to '$fw'"
	done
	validate_as supernode FL_USE_CASE=anomaly-detection ML_FRAMEWORK=sklearn
	assert_config_ok
	assert_log INFO "Use case 'anomaly-detection' is compatible with framework 'sklearn'"
}

@test "validate: anomaly-detection with ML_FRAMEWORK unset counts as pytorch" {
	validate_as supernode FL_USE_CASE=anomaly-detection
	assert_config_error "FL_USE_CASE 'anomaly-detection' requires ML_FRAMEWORK 'sklearn', but ML_FRAMEWORK is set to 'pytorch'"
	validate_as supernode FL_USE_CASE=anomaly-detection ML_FRAMEWORK=
	assert_config_error "FL_USE_CASE 'anomaly-detection' requires ML_FRAMEWORK 'sklearn', but ML_FRAMEWORK is set to 'pytorch'"
}

@test "validate: llm-fine-tuning needs pytorch" {
	local fw
	for fw in tensorflow sklearn; do
		validate_as supernode FL_USE_CASE=llm-fine-tuning "ML_FRAMEWORK=$fw" FL_GPU_ENABLED=YES
		assert_config_error "FL_USE_CASE 'llm-fine-tuning' requires ML_FRAMEWORK 'pytorch', but ML_FRAMEWORK is set to '$fw'"
	done
	validate_as supernode FL_USE_CASE=llm-fine-tuning FL_GPU_ENABLED=YES
	assert_config_ok
	refute_log_level WARN
}

@test "validate: llm-fine-tuning without a GPU only warns" {
	validate_as supernode FL_USE_CASE=llm-fine-tuning
	assert_config_ok
	assert_log WARN "FL_USE_CASE 'llm-fine-tuning' without FL_GPU_ENABLED=YES trains on the CPU and will be very slow; set FL_GPU_ENABLED=YES on a GPU VM."
}

@test "validate: use case none goes with every framework, without a compatibility note" {
	local fw
	for fw in pytorch tensorflow sklearn; do
		validate_as supernode FL_USE_CASE=none "ML_FRAMEWORK=$fw"
		assert_config_ok
		refute_stderr_contains 'Use case'
	done
}

@test "validate: an unknown framework is one error, not a matrix error too" {
	validate_as supernode FL_USE_CASE=anomaly-detection ML_FRAMEWORK=jax
	assert_config_error "Unknown ML_FRAMEWORK: 'jax'. Valid options: pytorch, tensorflow, sklearn."
}

@test "validate: the FL_FRAMEWORK alias feeds the compatibility matrix" {
	validate_as supernode FL_USE_CASE=anomaly-detection FL_FRAMEWORK=sklearn
	assert_config_ok
	assert_log INFO "Use case 'anomaly-detection' is compatible with framework 'sklearn'"
}

# ---------------------------------------------------------------------------------------
# validate: cross-variable rules

@test "validate: Krum with f=1 needs 5 clients" {
	validate_as superlink FL_STRATEGY=Krum FL_NUM_MALICIOUS=1
	assert_config_error 'Krum requires n >= 2*f+3 clients. FL_MIN_AVAILABLE_CLIENTS=2 but FL_NUM_MALICIOUS=1 requires n >= 5.'
	validate_as superlink FL_STRATEGY=Krum FL_NUM_MALICIOUS=1 FL_MIN_AVAILABLE_CLIENTS=4
	assert_config_error 'Krum requires n >= 2*f+3 clients. FL_MIN_AVAILABLE_CLIENTS=4 but FL_NUM_MALICIOUS=1 requires n >= 5.'
}

@test "validate: Krum with f=1 and n=5 passes" {
	validate_as superlink FL_STRATEGY=Krum FL_NUM_MALICIOUS=1 FL_MIN_AVAILABLE_CLIENTS=5
	assert_config_ok
}

@test "validate: Krum with f=0 skips the client bound" {
	validate_as superlink FL_STRATEGY=Krum FL_NUM_MALICIOUS=0 FL_MIN_AVAILABLE_CLIENTS=2
	assert_config_ok
}

@test "validate: Krum with f=2 needs 7 clients" {
	validate_as superlink FL_STRATEGY=Krum FL_NUM_MALICIOUS=2 FL_MIN_AVAILABLE_CLIENTS=6
	assert_config_error 'Krum requires n >= 2*f+3 clients. FL_MIN_AVAILABLE_CLIENTS=6 but FL_NUM_MALICIOUS=2 requires n >= 7.'
	validate_as superlink FL_STRATEGY=Krum FL_NUM_MALICIOUS=2 FL_MIN_AVAILABLE_CLIENTS=7
	assert_config_ok
}

@test "validate: Bulyan with f=1 and n=6 is rejected (needs 7)" {
	validate_as superlink FL_STRATEGY=Bulyan FL_NUM_MALICIOUS=1 FL_MIN_AVAILABLE_CLIENTS=6
	assert_config_error 'Bulyan requires n >= 4*f+3 clients. FL_MIN_AVAILABLE_CLIENTS=6 but FL_NUM_MALICIOUS=1 requires n >= 7.'
}

@test "validate: Bulyan with f=2 and n=11 passes" {
	validate_as superlink FL_STRATEGY=Bulyan FL_NUM_MALICIOUS=2 FL_MIN_AVAILABLE_CLIENTS=11
	assert_config_ok
}

@test "validate: Bulyan with f=2 and n=10 is rejected" {
	validate_as superlink FL_STRATEGY=Bulyan FL_NUM_MALICIOUS=2 FL_MIN_AVAILABLE_CLIENTS=10
	assert_config_error 'Bulyan requires n >= 4*f+3 clients. FL_MIN_AVAILABLE_CLIENTS=10 but FL_NUM_MALICIOUS=2 requires n >= 11.'
}

@test "validate: FL_NUM_MALICIOUS with leading zeros is decimal, not octal" {
	validate_as superlink FL_STRATEGY=Krum FL_NUM_MALICIOUS=010 FL_MIN_AVAILABLE_CLIENTS=22
	assert_config_error 'Krum requires n >= 2*f+3 clients. FL_MIN_AVAILABLE_CLIENTS=22 but FL_NUM_MALICIOUS=10 requires n >= 23.'
}

@test "validate: FedAvg with f=3 and n=2 passes, the parameter noted as ignored" {
	validate_as superlink FL_STRATEGY=FedAvg FL_NUM_MALICIOUS=3
	assert_config_ok
	assert_log INFO "FL_NUM_MALICIOUS is set but FL_STRATEGY is 'FedAvg' (not Krum or Bulyan). Parameter will be ignored."
}

@test "validate: a malformed FL_MIN_AVAILABLE_CLIENTS is one error, not a Krum error too" {
	validate_as superlink FL_STRATEGY=Krum FL_NUM_MALICIOUS=1 FL_MIN_AVAILABLE_CLIENTS=04
	assert_config_error "Invalid FL_MIN_AVAILABLE_CLIENTS: '04'. Must be a positive integer."
}

@test "validate: keepalive TIMEOUT equal to TIME is rejected" {
	validate_as superlink FL_GRPC_KEEPALIVE_TIME=30 FL_GRPC_KEEPALIVE_TIMEOUT=30
	assert_config_error 'FL_GRPC_KEEPALIVE_TIMEOUT (30) must be less than FL_GRPC_KEEPALIVE_TIME (30).'
}

@test "validate: keepalive TIMEOUT above TIME is rejected on the supernode too" {
	validate_as supernode FL_GRPC_KEEPALIVE_TIME=30 FL_GRPC_KEEPALIVE_TIMEOUT=45
	assert_config_error 'FL_GRPC_KEEPALIVE_TIMEOUT (45) must be less than FL_GRPC_KEEPALIVE_TIME (30).'
}

@test "validate: keepalive TIMEOUT=70 alone is compared with the default TIME of 60" {
	validate_as superlink FL_GRPC_KEEPALIVE_TIMEOUT=70
	assert_config_error 'FL_GRPC_KEEPALIVE_TIMEOUT (70) must be less than FL_GRPC_KEEPALIVE_TIME (60).'
	validate_as superlink FL_GRPC_KEEPALIVE_TIMEOUT=60
	assert_config_error 'FL_GRPC_KEEPALIVE_TIMEOUT (60) must be less than FL_GRPC_KEEPALIVE_TIME (60).'
}

@test "validate: keepalive TIME=20 alone clashes with the default TIMEOUT of 20" {
	validate_as supernode FL_GRPC_KEEPALIVE_TIME=20
	assert_config_error 'FL_GRPC_KEEPALIVE_TIMEOUT (20) must be less than FL_GRPC_KEEPALIVE_TIME (20).'
	validate_as supernode FL_GRPC_KEEPALIVE_TIME=21
	assert_config_ok
}

@test "validate: keepalive TIME below 10 warns" {
	validate_as superlink FL_GRPC_KEEPALIVE_TIME=9 FL_GRPC_KEEPALIVE_TIMEOUT=5
	assert_config_ok
	assert_log WARN 'FL_GRPC_KEEPALIVE_TIME=9 is aggressive and may cause excessive network traffic'
	validate_as superlink FL_GRPC_KEEPALIVE_TIME=10 FL_GRPC_KEEPALIVE_TIMEOUT=5
	assert_config_ok
	refute_log_level WARN
}

# Flower 1.40+: the SuperNode reaches the Fleet API over HTTP (httpx), where gRPC keepalive has
# nothing to act on; said as a warning when the operator set a value, nothing for the defaults.
KA_HTTP=' no effect with Flower 1.41.0: from 1.40 the SuperNode reaches the Fleet API over HTTP, not gRPC, and opens a new connection after 5 s idle, so no idle connection is left for a firewall to time out'

@test "validate: keepalive set with FLOWER_VERSION 1.40+ warns that it has no effect, on both roles" {
	validate_as superlink FLOWER_VERSION=1.41.0 FL_GRPC_KEEPALIVE_TIME=60
	assert_config_ok
	assert_log WARN "FL_GRPC_KEEPALIVE_TIME=60 has$KA_HTTP"
	validate_as supernode FLOWER_VERSION=1.41.0 FL_GRPC_KEEPALIVE_TIMEOUT=10
	assert_config_ok
	assert_log WARN "FL_GRPC_KEEPALIVE_TIMEOUT=10 has$KA_HTTP"
	validate_as supernode FLOWER_VERSION=1.41.0 ONEAPP_FL_GRPC_KEEPALIVE_TIME=120 FL_GRPC_KEEPALIVE_TIMEOUT=30
	assert_config_ok
	assert_log WARN "FL_GRPC_KEEPALIVE_TIME=120 and FL_GRPC_KEEPALIVE_TIMEOUT=30 have$KA_HTTP"
	[ "$(count_log WARN)" -eq 1 ]
}

@test "validate: keepalive defaults with Flower 1.40+, or set with 1.25-1.39, say nothing of it" {
	validate_as supernode FLOWER_VERSION=1.41.0
	assert_config_ok
	refute_log_level WARN
	local v
	for v in 1.25.0 1.39.9; do
		validate_as supernode FLOWER_VERSION=$v FL_GRPC_KEEPALIVE_TIME=60 FL_GRPC_KEEPALIVE_TIMEOUT=20
		assert_config_ok
		refute_log_level WARN
	done
	# A bad value is its error alone.
	validate_as superlink FLOWER_VERSION=1.41.0 FL_GRPC_KEEPALIVE_TIME=30 FL_GRPC_KEEPALIVE_TIMEOUT=30
	assert_config_error 'FL_GRPC_KEEPALIVE_TIMEOUT (30) must be less than FL_GRPC_KEEPALIVE_TIME (30).'
}

@test "validate: a malformed FL_GRPC_KEEPALIVE_TIME is one error, not a keepalive error too" {
	validate_as superlink FL_GRPC_KEEPALIVE_TIME=05
	assert_config_error "Invalid FL_GRPC_KEEPALIVE_TIME: '05'. Must be a positive integer."
}

@test "validate: Fleet and Control API on the same port are rejected" {
	validate_as superlink FL_FLEET_API_ADDRESS=0.0.0.0:9092 FL_CONTROL_API_ADDRESS=127.0.0.1:9092
	assert_config_error 'FL_FLEET_API_ADDRESS and FL_CONTROL_API_ADDRESS both use port 9092; give each API its own port.'
	validate_as superlink FL_CONTROL_API_ADDRESS='[::1]:9092'
	assert_config_error 'FL_FLEET_API_ADDRESS and FL_CONTROL_API_ADDRESS both use port 9092; give each API its own port.'
}

@test "validate: the metrics port may not be the Fleet API port" {
	validate_as superlink FL_METRICS_ENABLED=YES FL_FLEET_API_ADDRESS=0.0.0.0:9200 FL_METRICS_PORT=9200
	assert_config_error 'FL_METRICS_PORT 9200 is also the Fleet API port (FL_FLEET_API_ADDRESS); choose another port.'
}

@test "validate: the metrics port may not be the Control API port" {
	validate_as superlink FL_METRICS_ENABLED=YES FL_CONTROL_API_ADDRESS=0.0.0.0:9300 FL_METRICS_PORT=9300
	assert_config_error 'FL_METRICS_PORT 9300 is also the Control API port (FL_CONTROL_API_ADDRESS); choose another port.'
}

@test "validate: a metrics port on an API port is fine while metrics are disabled" {
	validate_as superlink FL_FLEET_API_ADDRESS=0.0.0.0:9200 FL_METRICS_PORT=9200
	assert_config_ok
	assert_log INFO 'FL_METRICS_PORT ignored -- FL_METRICS_ENABLED is not YES'
}

@test "validate: FL_MIN_FIT_CLIENTS above FL_MIN_AVAILABLE_CLIENTS only warns" {
	validate_as superlink FL_MIN_FIT_CLIENTS=3 FL_MIN_AVAILABLE_CLIENTS=2
	assert_config_ok
	assert_log WARN 'FL_MIN_FIT_CLIENTS (3) is greater than FL_MIN_AVAILABLE_CLIENTS (2); rounds may wait for clients that are not required to connect. Set FL_MIN_FIT_CLIENTS <= FL_MIN_AVAILABLE_CLIENTS.'
}

@test "validate: FL_MIN_FIT_CLIENTS equal to FL_MIN_AVAILABLE_CLIENTS does not warn" {
	validate_as superlink FL_MIN_FIT_CLIENTS=3 FL_MIN_AVAILABLE_CLIENTS=3
	assert_config_ok
	refute_log_level WARN
}

@test "validate: DCGM without GPU warns" {
	validate_as supernode FL_DCGM_ENABLED=YES
	assert_config_ok
	assert_log WARN 'FL_DCGM_ENABLED=YES but FL_GPU_ENABLED is not YES. DCGM will not start.'
}

@test "validate: DCGM with FL_GPU_ENABLED=yes (any case) does not warn" {
	validate_as supernode FL_DCGM_ENABLED=YES FL_GPU_ENABLED=yes
	assert_config_ok
	refute_log_level WARN
}

@test "validate: FedProx reminds about the client proximal term" {
	validate_as superlink FL_STRATEGY=FedProx
	assert_config_ok
	assert_log INFO 'FedProx selected. Pre-built FABs support the proximal term. Custom ClientApps must implement the proximal loss term manually: L += (mu/2) * ||w - w_global||^2.'
}

@test "validate: FedProx with mu=0 warns that it equals FedAvg" {
	local mu
	for mu in 0 0.0 .0; do
		validate_as superlink FL_STRATEGY=FedProx "FL_PROXIMAL_MU=$mu"
		assert_config_ok
		assert_log WARN 'FL_PROXIMAL_MU=0.0 makes FedProx identical to FedAvg. Consider using FedAvg directly.'
	done
}

@test "validate: strategy parameters for another strategy are noted as ignored" {
	validate_as superlink FL_PROXIMAL_MU=0.5 FL_SERVER_LR=0.2 FL_CLIENT_LR=0.3 FL_NUM_MALICIOUS=1 FL_TRIM_BETA=0.3
	assert_config_ok
	assert_log INFO "FL_PROXIMAL_MU is set but FL_STRATEGY is 'FedAvg' (not FedProx). Parameter will be ignored."
	assert_log INFO "FL_SERVER_LR is set but FL_STRATEGY is 'FedAvg' (not FedAdam). Parameter will be ignored."
	assert_log INFO "FL_CLIENT_LR is set but FL_STRATEGY is 'FedAvg' (not FedAdam). Parameter will be ignored."
	assert_log INFO "FL_NUM_MALICIOUS is set but FL_STRATEGY is 'FedAvg' (not Krum or Bulyan). Parameter will be ignored."
	assert_log INFO "FL_TRIM_BETA is set but FL_STRATEGY is 'FedAvg' (not FedTrimmedAvg). Parameter will be ignored."
}

@test "validate: a parameter of the selected strategy is not noted as ignored" {
	validate_as superlink FL_STRATEGY=FedTrimmedAvg FL_TRIM_BETA=0.3 FL_SERVER_LR=0.2
	assert_config_ok
	refute_stderr_contains 'FL_TRIM_BETA is set'
	assert_log INFO "FL_SERVER_LR is set but FL_STRATEGY is 'FedTrimmedAvg' (not FedAdam). Parameter will be ignored."
}

@test "validate: type checks run for parameters the strategy ignores (FedAvg with FL_TRIM_BETA=0.7)" {
	validate_as superlink FL_STRATEGY=FedAvg FL_TRIM_BETA=0.7
	assert_config_error "Invalid FL_TRIM_BETA: '0.7'. Must be a float between 0.0 and 0.5 (exclusive)."
}

@test "validate: checkpoint interval and path while checkpointing is off are noted as ignored" {
	validate_as superlink FL_CHECKPOINT_INTERVAL=3 FL_CHECKPOINT_PATH=/app/ck
	assert_config_ok
	assert_log INFO 'FL_CHECKPOINT_INTERVAL ignored -- FL_CHECKPOINT_ENABLED is not YES'
	assert_log INFO 'FL_CHECKPOINT_PATH ignored -- FL_CHECKPOINT_ENABLED is not YES'
}

@test "validate: a metrics port while metrics are off is noted as ignored, unless it is 9101" {
	validate_as superlink FL_METRICS_PORT=9200
	assert_config_ok
	assert_log INFO 'FL_METRICS_PORT ignored -- FL_METRICS_ENABLED is not YES'
	validate_as superlink FL_METRICS_PORT=9101
	assert_config_ok
	refute_stderr_contains 'FL_METRICS_PORT ignored'
}

@test "validate: GPU variables while the GPU is off are noted as ignored" {
	validate_as supernode FL_CUDA_VISIBLE_DEVICES=0 FL_GPU_MEMORY_FRACTION=0.5
	assert_config_ok
	assert_log INFO 'FL_CUDA_VISIBLE_DEVICES ignored -- FL_GPU_ENABLED is not YES'
	assert_log INFO 'FL_GPU_MEMORY_FRACTION ignored -- FL_GPU_ENABLED is not YES'
}

@test "validate: FL_CUDA_VISIBLE_DEVICES=all while the GPU is off is not noted" {
	validate_as supernode FL_CUDA_VISIBLE_DEVICES=all
	assert_config_ok
	refute_stderr_contains 'FL_CUDA_VISIBLE_DEVICES ignored'
}

@test "validate: the GPU memory fraction is noted as ignored for tensorflow" {
	validate_as supernode FL_GPU_ENABLED=YES ML_FRAMEWORK=tensorflow FL_GPU_MEMORY_FRACTION=0.5
	assert_config_ok
	assert_log INFO 'FL_GPU_MEMORY_FRACTION ignored -- applies only to ML_FRAMEWORK=pytorch'
}

@test "validate: FL_CERT_EXTRA_SAN is noted as ignored without TLS or with operator certificates" {
	validate_as superlink FL_CERT_EXTRA_SAN=DNS:a.example
	assert_config_ok
	assert_log INFO 'FL_CERT_EXTRA_SAN ignored -- FL_TLS_ENABLED is not YES'
	validate_as superlink FL_TLS_ENABLED=YES FL_CERT_EXTRA_SAN=DNS:a.example "FL_SSL_CA_CERTFILE=$CERT_B64" \
		"FL_SSL_CERTFILE=$CERT_B64" "FL_SSL_KEYFILE=$KEY_B64"
	assert_config_ok
	assert_log INFO 'FL_CERT_EXTRA_SAN ignored -- using operator-provided certificates.'
}

@test "validate: FL_EDGE_MAX_BACKOFF with fixed backoff is noted as ignored" {
	validate_as supernode FL_EDGE_BACKOFF=fixed FL_EDGE_MAX_BACKOFF=60
	assert_config_ok
	assert_log INFO 'FL_EDGE_MAX_BACKOFF ignored -- FL_EDGE_BACKOFF is fixed'
}

@test "validate: a superlink variable on a supernode is noted as ignored and not validated" {
	validate_as supernode FL_NUM_ROUNDS=abc FL_STRATEGY=FedYogi
	assert_config_ok
	assert_log INFO 'FL_NUM_ROUNDS applies to the superlink role; ignored on supernode.'
	assert_log INFO 'FL_STRATEGY applies to the superlink role; ignored on supernode.'
}

@test "validate: a supernode variable on a superlink is noted as ignored and not validated" {
	validate_as superlink 'FL_NODE_CONFIG=$(id)' FL_GPU_ENABLED=maybe
	assert_config_ok
	assert_log INFO 'FL_NODE_CONFIG applies to the supernode role; ignored on superlink.'
	assert_log INFO 'FL_GPU_ENABLED applies to the supernode role; ignored on superlink.'
}

@test "validate: several errors at once are all printed and counted" {
	validate_as superlink FL_STRATEGY=Krum FL_NUM_MALICIOUS=1 FL_PROXIMAL_MU=-1 FL_TRIM_BETA=0.5
	assert_config_error \
		"Invalid FL_PROXIMAL_MU: '-1'. Must be a non-negative float." \
		"Invalid FL_TRIM_BETA: '0.5'. Must be a float between 0.0 and 0.5 (exclusive)." \
		'Krum requires n >= 2*f+3 clients. FL_MIN_AVAILABLE_CLIENTS=2 but FL_NUM_MALICIOUS=1 requires n >= 5.'
}

@test "validate: errors from many variables on a supernode are all counted" {
	validate_as supernode FLOWER_VERSION=1 FL_ISOLATION=x FL_MAX_RETRIES=-1 FL_GPU_ENABLED=si \
		FL_CUDA_VISIBLE_DEVICES=x FL_GPU_MEMORY_FRACTION=2 FL_DCGM_ENABLED=yes ML_FRAMEWORK=jax \
		FL_USE_CASE=x FL_EDGE_BACKOFF=x FL_EDGE_MAX_BACKOFF=0 FL_SUPERLINK_ADDRESS=x FL_NODE_CONFIG=x
	assert_failure 1
	assert_equal "$(count_log ERROR)" 13
	assert_log FATAL '13 configuration error(s). Aborting boot.'
}

# ---------------------------------------------------------------------------------------
# Names and precedence

@test "names: ONEAPP_FL_X wins over FL_X when both are non-empty" {
	run_flc ONEAPP_FL_NUM_ROUNDS=7 FL_NUM_ROUNDS=5 --env-only get FL_NUM_ROUNDS
	assert_success
	assert_output 7
	write_one_env "$BATS_TEST_TMPDIR/one_env" FL_STRATEGY=FedProx ONEAPP_FL_STRATEGY=Krum
	run_flc -c "$BATS_TEST_TMPDIR/one_env" get FL_STRATEGY
	assert_output Krum
}

@test "names: an empty ONEAPP_FL_X falls back to FL_X" {
	run_flc ONEAPP_FL_NUM_ROUNDS= FL_NUM_ROUNDS=5 --env-only get FL_NUM_ROUNDS
	assert_output 5
	write_one_env "$BATS_TEST_TMPDIR/one_env" FL_STRATEGY=FedProx ONEAPP_FL_STRATEGY=
	run_flc -c "$BATS_TEST_TMPDIR/one_env" get FL_STRATEGY
	assert_output FedProx
}

@test "names: the ONEAPP_ form is validated with the plain name in the message" {
	validate_as superlink ONEAPP_FL_NUM_ROUNDS=0
	assert_config_error "Invalid FL_NUM_ROUNDS: '0'. Must be a positive integer."
}

@test "names: an empty value means unset: the default applies and it is not validated" {
	validate_as superlink FL_NUM_ROUNDS= FL_STRATEGY= FL_METRICS_PORT= FL_CERT_EXTRA_SAN=
	assert_config_ok
	run_flc FL_NUM_ROUNDS= --env-only get FL_NUM_ROUNDS
	assert_output 3
}

@test "names: an empty value in the context file means unset too" {
	write_context_sh "$BATS_TEST_TMPDIR/context.sh" FL_NUM_ROUNDS= FL_STRATEGY=
	run_flc -c "$BATS_TEST_TMPDIR/context.sh" validate --role superlink
	assert_config_ok
	run_flc -c "$BATS_TEST_TMPDIR/context.sh" show --format json
	assert_equal "$(jq -r '.variables.FL_NUM_ROUNDS | .value + "/" + .source' <<<"$output")" 3/default
}

@test "names: the environment overrides the context file" {
	write_one_env "$BATS_TEST_TMPDIR/one_env" FL_NUM_ROUNDS=4
	run_flc FL_NUM_ROUNDS=5 -c "$BATS_TEST_TMPDIR/one_env" get FL_NUM_ROUNDS
	assert_success
	assert_output 5
}

@test "names: the environment overrides the file whichever spelling the file uses" {
	write_one_env "$BATS_TEST_TMPDIR/one_env" ONEAPP_FL_NUM_ROUNDS=4
	run_flc FL_NUM_ROUNDS=5 -c "$BATS_TEST_TMPDIR/one_env" get FL_NUM_ROUNDS
	assert_output 5
}

@test "names: an empty environment value does not hide the context file's value" {
	write_one_env "$BATS_TEST_TMPDIR/one_env" FL_NUM_ROUNDS=4
	run_flc FL_NUM_ROUNDS= -c "$BATS_TEST_TMPDIR/one_env" get FL_NUM_ROUNDS
	assert_output 4
}

@test "names: --no-env ignores the environment" {
	write_one_env "$BATS_TEST_TMPDIR/one_env" FL_NUM_ROUNDS=4
	run_flc FL_NUM_ROUNDS=5 -c "$BATS_TEST_TMPDIR/one_env" --no-env get FL_NUM_ROUNDS
	assert_output 4
	run_flc FL_NUM_ROUNDS=0 -c "$BATS_TEST_TMPDIR/one_env" --no-env validate --role superlink
	assert_config_ok
}

@test "names: --env-only reads no file, not even \$FLKIT_CONTEXT" {
	run_flc FLKIT_CONTEXT="$BATS_TEST_TMPDIR/missing" FL_NUM_ROUNDS=6 --env-only get FL_NUM_ROUNDS
	assert_success
	assert_output 6
}

@test "names: \$FLKIT_CONTEXT names the context file" {
	write_one_env "$BATS_TEST_TMPDIR/one_env" FL_NUM_ROUNDS=4
	run_flc FLKIT_CONTEXT="$BATS_TEST_TMPDIR/one_env" get FL_NUM_ROUNDS
	assert_success
	assert_output 4
}

@test "names: FL_FRAMEWORK is read as ML_FRAMEWORK" {
	run_flc FL_FRAMEWORK=sklearn --env-only get ML_FRAMEWORK
	assert_output sklearn
	run_flc ONEAPP_FL_FRAMEWORK=tensorflow --env-only get ML_FRAMEWORK
	assert_output tensorflow
	validate_as supernode FL_FRAMEWORK=jax
	assert_config_error "Unknown ML_FRAMEWORK: 'jax'. Valid options: pytorch, tensorflow, sklearn."
}

@test "names: ML_FRAMEWORK wins over its alias FL_FRAMEWORK" {
	run_flc ML_FRAMEWORK=tensorflow FL_FRAMEWORK=sklearn --env-only get ML_FRAMEWORK
	assert_output tensorflow
}

@test "names: an unknown FL_ variable warns with a did-you-mean" {
	validate_as superlink FL_NUM_ROUND=5
	assert_config_ok
	assert_log WARN 'Unknown variable FL_NUM_ROUND in the environment ignored; did you mean FL_NUM_ROUNDS?'
}

@test "names: an unknown ONEAPP_ variable warns with a did-you-mean" {
	validate_as superlink ONEAPP_FL_STRATGY=Krum
	assert_log WARN 'Unknown variable ONEAPP_FL_STRATGY in the environment ignored; did you mean FL_STRATEGY?'
}

@test "names: an unknown variable in the context file names the file as its origin" {
	write_one_env "$BATS_TEST_TMPDIR/one_env" FLOWER_VERSON=1.25.0
	run_flc -c "$BATS_TEST_TMPDIR/one_env" validate --role supernode
	assert_config_ok
	assert_log WARN 'Unknown variable FLOWER_VERSON in the context file ignored; did you mean FLOWER_VERSION?'
}

@test "names: an unknown variable far from every name warns without a suggestion" {
	validate_as superlink FL_COMPLETELY_DIFFERENT=1
	assert_log WARN 'Unknown variable FL_COMPLETELY_DIFFERENT in the environment ignored.'
}

@test "names: other variables and OneGate runtime attributes raise no warning" {
	validate_as superlink HOME=/home/op DISK_ID=1 ONEAPP_K8S_PORT=6443 FL_READY=YES FL_ENDPOINT=1.2.3.4:9092 \
		FLKIT_CONTEXT=x TOKENTXT=abc VMID=3
	assert_config_ok
	refute_log_level WARN
}

# ---------------------------------------------------------------------------------------
# Context files: parsed as data, never executed

@test "context.sh: oned's quoting gives the values back as text" {
	local ctx=$FIXTURES/context/context.sh
	run_flc -c "$ctx" show --format json
	assert_success
	local json=$output
	# shellcheck disable=SC1003 # the value ends in a backslash
	assert_equal "$(jq -j .variables.FL_DATABASE.value <<<"$json")" '$HOME `id` \n \'
	assert_equal "$(jq -j .variables.FL_NODE_CONFIG.value <<<"$json")" "it's a 'test'"
	assert_equal "$(jq -j .variables.FL_SUPERLINK_ADDRESS.value <<<"$json")" '"web-0"'
	assert_equal "$(jq -j .variables.FL_CERT_EXTRA_SAN.value <<<"$json")" 'ñandú ✓'
	jq -j .variables.FL_CHECKPOINT_PATH.value <<<"$json" >"$BATS_TEST_TMPDIR/got"
	printf 'line1\nline2\n' >"$BATS_TEST_TMPDIR/want"
	assert_files_equal "$BATS_TEST_TMPDIR/got" "$BATS_TEST_TMPDIR/want"
	assert_equal "$(jq -r .variables.FL_DATABASE.source <<<"$json")" context
}

@test "one_env: loc-16-gen-env's unescaped values give the same text as context.sh" {
	run_flc -c "$FIXTURES/context/context.sh" show --format json
	local from_ctx=$output
	run_flc -c "$FIXTURES/context/one_env" show --format json
	assert_success
	assert_equal "$(jq -S .variables <<<"$output")" "$(jq -S .variables <<<"$from_ctx")"
}

@test "one_env: a fresh loc-16-gen-env file with quotes, newlines and UTF-8 reads back exactly" {
	local nasty=$'say "hi" it\'s $HOME `id` \\ \n second line\n ñandú ✓'
	write_one_env "$BATS_TEST_TMPDIR/one_env" "FL_DATABASE=$nasty" FL_NUM_ROUNDS=4
	flc -c "$BATS_TEST_TMPDIR/one_env" show --format json | jq -j .variables.FL_DATABASE.value >"$BATS_TEST_TMPDIR/got"
	printf '%s' "$nasty" >"$BATS_TEST_TMPDIR/want"
	assert_files_equal "$BATS_TEST_TMPDIR/got" "$BATS_TEST_TMPDIR/want"
	run_flc -c "$BATS_TEST_TMPDIR/one_env" get FL_NUM_ROUNDS
	assert_output 4
}

@test "one_env: the header's token is never printed" {
	local fmt
	for fmt in text env shell json; do
		run_flc -c "$FIXTURES/context/one_env" show --format "$fmt" --show-secrets
		assert_success
		refute_output --partial "$ONE_TOKEN"
		refute_stderr_contains "$ONE_TOKEN"
	done
}

@test "one_env: \$(...) and backticks in values are never run" {
	local pwn=$BATS_TEST_TMPDIR/pwned f=$BATS_TEST_TMPDIR/one_env
	write_one_env "$f" "FL_DATABASE=\$(touch $pwn.1)" "FL_NODE_CONFIG=\`touch $pwn.2\`" \
		"FL_CHECKPOINT_PATH=\$(touch $pwn.3)\"; touch $pwn.4; \"" "START_SCRIPT=touch $pwn.5"
	run grep -c "touch $pwn" "$f"
	assert_output 4
	local args
	for args in 'validate --role superlink' 'validate --role supernode' 'show --format json' \
		'show --format shell' 'show --format env' 'get FL_DATABASE' run-config node-config \
		'render --role superlink -o '"$BATS_TEST_TMPDIR/r.conf"; do
		# shellcheck disable=SC2086
		run_flc -c "$f" $args
	done
	run_flc -c "$f" get FL_DATABASE
	assert_output "\$(touch $pwn.1)"
	run_flc -c "$f" get FL_NODE_CONFIG
	assert_output "\`touch $pwn.2\`"
	run_flc -c "$f" get FL_CHECKPOINT_PATH
	assert_output "\$(touch $pwn.3)\"; touch $pwn.4; \""
	local i
	for i in 1 2 3 4 5; do
		assert_file_not_exists "$pwn.$i"
	done
}

@test "context.sh: \$(...) and backticks in values are never run" {
	local pwn=$BATS_TEST_TMPDIR/pwned f=$BATS_TEST_TMPDIR/context.sh
	write_context_sh "$f" "FL_DATABASE=\$(touch $pwn.1)" "FL_NODE_CONFIG=\`touch $pwn.2\`" \
		"FL_CHECKPOINT_PATH='; touch $pwn.3; '"
	run_flc -c "$f" validate --role supernode
	run_flc -c "$f" show --format shell
	run_flc -c "$f" get FL_CHECKPOINT_PATH
	assert_output "'; touch $pwn.3; '"
	run_flc -c "$f" get FL_DATABASE
	assert_output "\$(touch $pwn.1)"
	assert_file_not_exists "$pwn.1"
	assert_file_not_exists "$pwn.2"
	assert_file_not_exists "$pwn.3"
}

@test "one_env: the empty exports loc-16-gen-env makes of continuation lines change nothing" {
	write_one_env "$BATS_TEST_TMPDIR/one_env" $'START_SCRIPT=#!/bin/sh\nFL_MAX_RETRIES=5\n' FL_NUM_ROUNDS=4
	grep -qx 'export FL_MAX_RETRIES=""' "$BATS_TEST_TMPDIR/one_env"
	run_flc -c "$BATS_TEST_TMPDIR/one_env" show --format json
	assert_success
	assert_equal "$(jq -r '.variables.FL_MAX_RETRIES | .value + "/" + .source' <<<"$output")" 0/default
	assert_equal "$(jq -r .variables.FL_NUM_ROUNDS.value <<<"$output")" 4
}

@test "one_env: a START_SCRIPT with a quoted line before an export line does not derail the parse" {
	write_one_env "$BATS_TEST_TMPDIR/one_env" $'START_SCRIPT=echo "start"\nexport FOO=1\n' FL_NUM_ROUNDS=4
	run_flc -c "$BATS_TEST_TMPDIR/one_env" get FL_NUM_ROUNDS
	refute_log_level ERROR
	assert_success
	assert_output 4
	flc -c "$BATS_TEST_TMPDIR/one_env" show --format json --role superlink >/dev/null
}

@test "context files: comments, blank lines, bare values and export NAME='v' are accepted" {
	printf "# comment\n\n   \nFL_NUM_ROUNDS=8\nexport FL_STRATEGY='Krum'\n  FL_MIN_FIT_CLIENTS='1'\n" >"$BATS_TEST_TMPDIR/ctx"
	run_flc -c "$BATS_TEST_TMPDIR/ctx" show --format json
	assert_success
	assert_equal "$(jq -r '[.variables.FL_NUM_ROUNDS.value, .variables.FL_STRATEGY.value, .variables.FL_MIN_FIT_CLIENTS.value] | join(",")' <<<"$output")" 8,Krum,1
}

@test "context files: the last assignment of a name wins" {
	printf "export FL_NUM_ROUNDS=\"4\"\nexport FL_NUM_ROUNDS=\"6\"\n" >"$BATS_TEST_TMPDIR/ctx"
	run_flc -c "$BATS_TEST_TMPDIR/ctx" get FL_NUM_ROUNDS
	assert_output 6
}

@test "context files: CRLF line endings are tolerated" {
	printf 'export FL_NUM_ROUNDS="4"\r\nexport FL_STRATEGY="Krum"\r\n' >"$BATS_TEST_TMPDIR/one_env"
	printf "FL_NUM_ROUNDS='4'\r\nFL_STRATEGY='Krum'\r\n" >"$BATS_TEST_TMPDIR/context.sh"
	local f
	for f in one_env context.sh; do
		run_flc -c "$BATS_TEST_TMPDIR/$f" get FL_STRATEGY
		assert_success
		assert_output Krum
	done
}

@test "context files: an empty file gives the defaults" {
	: >"$BATS_TEST_TMPDIR/empty"
	run_flc -c "$BATS_TEST_TMPDIR/empty" validate --role superlink
	assert_config_ok
}

@test "context files: the realistic superlink one_env validates and resolves" {
	run_flc -c "$FIXTURES/context/superlink.one_env" validate --role superlink
	assert_config_ok
	run_flc -c "$FIXTURES/context/superlink.one_env" run-config
	assert_success
	assert_output 'strategy="FedProx" num-server-rounds=10 min-fit-clients=2 min-evaluate-clients=2 min-available-clients=3 proximal-mu=0.5 checkpoint-enabled=true checkpoint-interval=2 checkpoint-path="/app/checkpoints"'
}

@test "context files: the realistic supernode context.sh validates and resolves" {
	run_flc -c "$FIXTURES/context/supernode.context.sh" validate --role supernode
	assert_config_ok
	assert_log INFO "Use case 'image-classification' is compatible with framework 'tensorflow'"
	run_flc -c "$FIXTURES/context/supernode.context.sh" get FL_GPU_ENABLED
	assert_output YES
}

# file_error FILE LINE: fl-context refused FILE (exit 1) naming it (and LINE when given),
# printed nothing on stdout and none of the planted secret.
assert_file_refused() {
	assert_failure 1
	assert_output ''
	assert_stderr_contains "$1${2:+:$2:}"
	refute_stderr_contains SECRET-7f3a
}

@test "context files: a garbage line is refused with its file and line" {
	local f=$BATS_TEST_TMPDIR/bad
	printf "FL_NUM_ROUNDS='4'\nthis is not an assignment SECRET-7f3a\n" >"$f"
	run_flc -c "$f" validate --role superlink
	assert_file_refused "$f" 2
}

@test "context files: the line of an error counts the lines of multi-line values" {
	local f=$BATS_TEST_TMPDIR/bad
	printf "A='1'\nB='x\ny\nz'\n\nC='2'\ngarbage SECRET-7f3a\n" >"$f"
	run_flc -c "$f" show
	assert_file_refused "$f" 7
}

@test "context files: an unterminated single quote is refused" {
	local f=$BATS_TEST_TMPDIR/bad
	printf "FL_NUM_ROUNDS='4'\nFL_STRATEGY='SECRET-7f3a\n" >"$f"
	run_flc -c "$f" show
	assert_file_refused "$f" 2
}

@test "context files: an unterminated double quote is refused" {
	local f=$BATS_TEST_TMPDIR/bad
	printf 'export FL_NUM_ROUNDS="4"\nexport FL_STRATEGY="SECRET-7f3a\n' >"$f"
	run_flc -c "$f" show
	assert_file_refused "$f" 2
}

@test "context files: text after a closing quote is refused" {
	local f=$BATS_TEST_TMPDIR/bad
	printf "FL_STRATEGY='Krum' SECRET-7f3a\n" >"$f"
	run_flc -c "$f" show
	assert_file_refused "$f" 1
}

@test "context files: a NUL byte is refused" {
	local f=$BATS_TEST_TMPDIR/bad
	printf "FL_STRATEGY='Krum'\nFL_X='SECRET-7f3a\0'\n" >"$f"
	run_flc -c "$f" show
	assert_file_refused "$f"
	assert_stderr_contains NUL
}

@test "context files: a variable name over 128 characters is refused" {
	local f=$BATS_TEST_TMPDIR/bad name
	name=FL_$(printf 'A%.0s' {1..126})
	printf "%s='SECRET-7f3a'\n" "$name" >"$f"
	run_flc -c "$f" show
	assert_file_refused "$f" 1
	refute_stderr_contains "$name"
}

@test "context files: a variable name of 128 characters is accepted" {
	local f=$BATS_TEST_TMPDIR/ok
	printf "%s='1'\nFL_NUM_ROUNDS='4'\n" "FL_$(printf 'A%.0s' {1..125})" >"$f"
	run_flc -c "$f" get FL_NUM_ROUNDS
	assert_success
	assert_output 4
}

@test "context files: a directory is refused" {
	run_flc -c "$BATS_TEST_TMPDIR" show
	assert_file_refused "$BATS_TEST_TMPDIR"
}

@test "context files: a missing file is refused" {
	run_flc -c "$BATS_TEST_TMPDIR/missing" validate --role superlink
	assert_file_refused "$BATS_TEST_TMPDIR/missing"
}

@test "context files: a file over 8 MiB is refused" {
	local f=$BATS_TEST_TMPDIR/big
	{
		printf "FL_NUM_ROUNDS='SECRET-7f3a'\n#"
		head -c 8388608 /dev/zero | tr '\0' x
		echo
	} >"$f"
	run_flc -c "$f" show
	assert_file_refused "$f"
}

@test "context files: a file of exactly 8 MiB is read" {
	local f=$BATS_TEST_TMPDIR/big
	{
		printf "FL_NUM_ROUNDS='9'\n#"
		head -c $((8388608 - 20)) /dev/zero | tr '\0' x
		echo
	} >"$f"
	assert_file_size_equals "$f" 8388608
	run_flc -c "$f" get FL_NUM_ROUNDS
	assert_success
	assert_output 9
}

@test "context files: more than 16384 variables are refused" {
	local f=$BATS_TEST_TMPDIR/many
	seq -f "FL_X%g='SECRET-7f3a'" 1 16385 >"$f"
	run_flc -c "$f" show
	assert_file_refused "$f" 16385
	seq -f "FL_X%g='1'" 1 16384 >"$f"
	run_flc -c "$f" get FL_NUM_ROUNDS
	assert_success
	assert_output 3
}

@test "context files: every truncation of the fixtures is read or refused, never a crash" {
	local f n i
	for f in one_env context.sh; do
		n=$(stat -c %s "$FIXTURES/context/$f")
		for ((i = 0; i <= n; i += 2)); do
			head -c "$i" "$FIXTURES/context/$f" >"$BATS_TEST_TMPDIR/cut"
			run flc -c "$BATS_TEST_TMPDIR/cut" show --format json
			if [ "$status" -gt 1 ]; then
				fail "$f cut at $i bytes: exit status $status"
			fi
		done
	done
}

@test "context files: the default one_env missing gives exit 1 and the --context/--env-only hint" {
	[ ! -e /run/one-context/one_env ] || skip "this machine has a real one_env"
	run_flc validate --role superlink
	assert_failure 1
	assert_output ''
	assert_stderr_contains /run/one-context/one_env
	assert_log ERROR 'no usable context file; pass --context FILE, or --env-only to use the environment alone'
}

# ---------------------------------------------------------------------------------------
# show

@test "show: json parses and has a value and a source for every variable" {
	run_flc -c "$FIXTURES/context/superlink.one_env" show --format json
	assert_success
	local n
	n=$(flc --help | grep -cE '^(FL|ML|FLOWER)_[A-Z0-9_]* +(superlink|supernode|both) ')
	jq -e --argjson n "$n" '.variables | length == $n' <<<"$output"
	jq -e '[.variables[] | has("value") and has("source")] | all' <<<"$output"
	jq -e '.role == null' <<<"$output"
	assert_equal "$stderr" ''
}

@test "show: json sources say default, context or environment" {
	write_one_env "$BATS_TEST_TMPDIR/one_env" FL_NUM_ROUNDS=4
	run_flc ONEAPP_FL_STRATEGY=Krum -c "$BATS_TEST_TMPDIR/one_env" show --format json
	assert_success
	assert_equal "$(jq -c .variables.FL_NUM_ROUNDS <<<"$output")" '{"value":"4","source":"context","name":"FL_NUM_ROUNDS"}'
	assert_equal "$(jq -c .variables.FL_STRATEGY <<<"$output")" '{"value":"Krum","source":"environment","name":"ONEAPP_FL_STRATEGY"}'
	assert_equal "$(jq -c .variables.FL_MIN_FIT_CLIENTS <<<"$output")" '{"value":"2","source":"default"}'
}

@test "show: every default is the one of the design" {
	run_flc --env-only show --format json
	assert_success
	local want='{"FLOWER_VERSION":"1.25.0","FL_NUM_ROUNDS":"3","FL_STRATEGY":"FedAvg","FL_MIN_FIT_CLIENTS":"2","FL_MIN_EVALUATE_CLIENTS":"2","FL_MIN_AVAILABLE_CLIENTS":"2","FL_FLEET_API_ADDRESS":"0.0.0.0:9092","FL_CONTROL_API_ADDRESS":"0.0.0.0:9093","FL_ISOLATION":"subprocess","FL_DATABASE":"state/state.db","FL_LOG_LEVEL":"INFO","FL_PROXIMAL_MU":"1.0","FL_SERVER_LR":"0.1","FL_CLIENT_LR":"0.1","FL_NUM_MALICIOUS":"0","FL_TRIM_BETA":"0.2","FL_CHECKPOINT_ENABLED":"NO","FL_CHECKPOINT_INTERVAL":"5","FL_CHECKPOINT_PATH":"/app/checkpoints","FL_GRPC_KEEPALIVE_TIME":"60","FL_GRPC_KEEPALIVE_TIMEOUT":"20","FL_CERT_EXTRA_SAN":"","FL_METRICS_ENABLED":"NO","FL_METRICS_PORT":"9101","FL_SUPERLINK_ADDRESS":"","FL_NODE_CONFIG":"","FL_MAX_RETRIES":"0","FL_MAX_WAIT_TIME":"0","FL_GPU_ENABLED":"NO","FL_CUDA_VISIBLE_DEVICES":"all","FL_GPU_MEMORY_FRACTION":"0.8","FL_DCGM_ENABLED":"NO","FL_LOG_FORMAT":"text","FL_TLS_ENABLED":"NO","FL_SSL_CA_CERTFILE":"","FL_SSL_CERTFILE":"","FL_SSL_KEYFILE":"","ML_FRAMEWORK":"pytorch","FL_USE_CASE":"none","FL_EDGE_BACKOFF":"exponential","FL_EDGE_MAX_BACKOFF":"300"}'
	assert_equal "$(jq -Sc --argjson want "$want" \
		'.variables | with_entries(select(.key | in($want))) | map_values(.value)' <<<"$output")" \
		"$(jq -Sc . <<<"$want")"
	jq -e '[.variables[] | .source == "default"] | all' <<<"$output"
}

@test "show: --role superlink lists only superlink variables" {
	run_flc --env-only show --role superlink --format json
	assert_success
	jq -e '.role == "superlink"' <<<"$output"
	local v
	for v in "${SUPERNODE_ONLY[@]}"; do
		jq -e --arg v "$v" '.variables | has($v) | not' <<<"$output"
	done
	for v in "${SUPERLINK_ONLY[@]}" FLOWER_VERSION FL_LOG_FORMAT FL_SSL_CA_CERTFILE; do
		jq -e --arg v "$v" '.variables | has($v)' <<<"$output"
	done
}

@test "show: --role supernode lists only supernode variables" {
	run_flc --env-only show --role supernode --format json
	assert_success
	local v
	for v in "${SUPERLINK_ONLY[@]}"; do
		jq -e --arg v "$v" '.variables | has($v) | not' <<<"$output"
	done
	for v in "${SUPERNODE_ONLY[@]}" FL_GRPC_KEEPALIVE_TIME FL_TLS_ENABLED; do
		jq -e --arg v "$v" '.variables | has($v)' <<<"$output"
	done
}

@test "show: FL_SSL_KEYFILE is redacted in every format" {
	local fmt
	for fmt in text env shell json; do
		run_flc "FL_SSL_KEYFILE=$KEY_B64" --env-only show --format "$fmt"
		assert_success
		refute_output --partial "${KEY_B64:0:40}"
		assert_output --partial "<secret: ${#KEY_B64} bytes>"
	done
}

@test "show: --show-secrets prints FL_SSL_KEYFILE" {
	run_flc "FL_SSL_KEYFILE=$KEY_B64" --env-only show --format json --show-secrets
	assert_success
	assert_equal "$(jq -r .variables.FL_SSL_KEYFILE.value <<<"$output")" "$KEY_B64"
}

@test "show: text format is a table of name, source and value" {
	write_one_env "$BATS_TEST_TMPDIR/one_env" ONEAPP_FL_NUM_ROUNDS=4
	run_flc -c "$BATS_TEST_TMPDIR/one_env" show --role superlink
	assert_success
	assert_line --index 0 "# context: $BATS_TEST_TMPDIR/one_env"
	assert_line --regexp '^NAME +SOURCE +VALUE$'
	assert_line --regexp '^FL_NUM_ROUNDS +context +4  \(as ONEAPP_FL_NUM_ROUNDS\)$'
	assert_line --regexp '^FL_STRATEGY +default +FedAvg$'
}

@test "show: env format is NAME=value, one line per variable" {
	run_flc FL_NUM_ROUNDS=4 $'FL_DATABASE=a\nb' --env-only show --role superlink --format env
	assert_success
	assert_line FL_NUM_ROUNDS=4
	assert_line 'FL_DATABASE=a\nb'
	local n
	n=$(flc --env-only show --role superlink --format json | jq '.variables | length')
	assert_equal "${#lines[@]}" "$n"
}

@test "show: shell format round-trips nasty values through bash's source" {
	local nasty=$'it\'s "q" $HOME `id` \\ \\n\n line2\n ñandú ✓ \'\'\''
	flc "FL_DATABASE=$nasty" "FL_NODE_CONFIG=\$(touch $BATS_TEST_TMPDIR/pwned)" --env-only \
		show --format shell >"$BATS_TEST_TMPDIR/vars.sh"
	env -i bash -c 'source "$1"; printf %s "$FL_DATABASE"' _ "$BATS_TEST_TMPDIR/vars.sh" >"$BATS_TEST_TMPDIR/got"
	printf '%s' "$nasty" >"$BATS_TEST_TMPDIR/want"
	assert_files_equal "$BATS_TEST_TMPDIR/got" "$BATS_TEST_TMPDIR/want"
	run env -i bash -c 'source "$1"; printf %s "$FL_NODE_CONFIG"' _ "$BATS_TEST_TMPDIR/vars.sh"
	assert_output "\$(touch $BATS_TEST_TMPDIR/pwned)"
	assert_file_not_exists "$BATS_TEST_TMPDIR/pwned"
}

@test "show: json replaces invalid UTF-8 and still parses" {
	run_flc $'FL_DATABASE=a\xffb' --env-only show --format json
	assert_success
	assert_equal "$(jq -r .variables.FL_DATABASE.value <<<"$output")" $'a\xef\xbf\xbdb'
}

@test "show: shows invalid values without validating them" {
	run_flc FL_NUM_ROUNDS=zero --env-only show --format json
	assert_success
	assert_equal "$(jq -r .variables.FL_NUM_ROUNDS.value <<<"$output")" zero
}

@test "show: ONEAPP_ spellings are normalised, YES/NO of case-insensitive booleans upper-cased" {
	run_flc ONEAPP_FL_GPU_ENABLED=yes ONEAPP_FL_TLS_ENABLED=no --env-only show --format json
	assert_success
	assert_equal "$(jq -r '.variables.FL_GPU_ENABLED.value + .variables.FL_TLS_ENABLED.value' <<<"$output")" YESNO
}

# ---------------------------------------------------------------------------------------
# get

@test "get: prints the default when unset" {
	run_flc --env-only get FL_STRATEGY
	assert_success
	assert_output FedAvg
	assert_equal "$stderr" ''
}

@test "get: prints the value from the context file" {
	run_flc -c "$FIXTURES/context/superlink.one_env" get FL_NUM_ROUNDS
	assert_success
	assert_output 10
}

@test "get: accepts the ONEAPP_ form of the name" {
	run_flc FL_NUM_ROUNDS=8 --env-only get ONEAPP_FL_NUM_ROUNDS
	assert_success
	assert_output 8
}

@test "get: a multi-line value comes out as it is" {
	flc -c "$FIXTURES/context/one_env" get FL_CHECKPOINT_PATH >"$BATS_TEST_TMPDIR/got"
	printf 'line1\nline2\n\n' >"$BATS_TEST_TMPDIR/want"
	assert_files_equal "$BATS_TEST_TMPDIR/got" "$BATS_TEST_TMPDIR/want"
}

@test "get: an unknown name is a usage error" {
	run_flc --env-only get FL_BOGUS
	assert_failure 2
	assert_output ''
	assert_stderr_contains "unknown variable 'FL_BOGUS'"
	run_flc --env-only get fl_num_rounds
	assert_failure 2
}

@test "get: does not validate" {
	run_flc FL_NUM_ROUNDS=abc --env-only get FL_NUM_ROUNDS
	assert_success
	assert_output abc
}

# ---------------------------------------------------------------------------------------
# render

@test "render: writes the file with mode 0600 and prints nothing on stdout" {
	local out=$BATS_TEST_TMPDIR/superlink.conf
	run_flc FL_NUM_ROUNDS=7 --env-only render --role superlink -o "$out"
	assert_success
	assert_output ''
	assert_file_exists "$out"
	assert_equal "$(stat -c %a "$out")" 600
	assert_log INFO "Wrote the superlink configuration to $out"
}

@test "render: the mode is 0600 whatever the umask" {
	local out=$BATS_TEST_TMPDIR/superlink.conf
	(umask 000 && flc --env-only render --role superlink -o "$out")
	assert_equal "$(stat -c %a "$out")" 600
}

@test "render: leaves no temporary file behind" {
	mkdir "$BATS_TEST_TMPDIR/out"
	flc FL_NUM_ROUNDS=7 --env-only render --role superlink -o "$BATS_TEST_TMPDIR/out/sl.conf"
	flc FL_NUM_ROUNDS=8 --env-only render --role superlink -o "$BATS_TEST_TMPDIR/out/sl.conf"
	run ls -A "$BATS_TEST_TMPDIR/out"
	assert_output sl.conf
}

@test "render: a rendered file's value that is not the default is validated even when not listed as explicit" {
	local out=$BATS_TEST_TMPDIR/superlink.conf
	flc --env-only render --role superlink -o "$out"
	# An edited file: FL_NUM_ROUNDS changed, FLKIT_EXPLICIT still says "defaults only".
	sed -i "s/^FL_NUM_ROUNDS=.*/FL_NUM_ROUNDS='5x'/" "$out"
	run_flc -c "$out" run-config
	assert_failure 1
	assert_log ERROR "Invalid FL_NUM_ROUNDS: '5x'. Must be a positive integer."
	# The unchanged defaults still count as defaults (show names their source).
	run_flc -c "$out" show --format json
	assert_success
}

@test "render: refuses to write an invalid configuration" {
	local out=$BATS_TEST_TMPDIR/superlink.conf
	run_flc FL_NUM_ROUNDS=0 --env-only render --role superlink -o "$out"
	assert_failure 1
	assert_output ''
	assert_log ERROR "Invalid FL_NUM_ROUNDS: '0'. Must be a positive integer."
	assert_log FATAL '1 configuration error(s). Aborting boot.'
	assert_log ERROR 'nothing written: fix the configuration and run render again'
	assert_file_not_exists "$out"
}

@test "render: an invalid configuration keeps the previous file" {
	local out=$BATS_TEST_TMPDIR/superlink.conf
	flc FL_NUM_ROUNDS=7 --env-only render --role superlink -o "$out"
	cp "$out" "$BATS_TEST_TMPDIR/before"
	run_flc FL_NUM_ROUNDS=x --env-only render --role superlink -o "$out"
	assert_failure 1
	assert_files_equal "$out" "$BATS_TEST_TMPDIR/before"
}

@test "render: needs a role" {
	run_flc --env-only render -o "$BATS_TEST_TMPDIR/x.conf"
	assert_failure 2
	assert_file_not_exists "$BATS_TEST_TMPDIR/x.conf"
}

@test "render: a directory that does not exist is an error" {
	run_flc --env-only render --role supernode -o "$BATS_TEST_TMPDIR/nope/sn.conf"
	assert_failure 1
	assert_output ''
}

@test "render: the rendered file reads back as the same resolution" {
	local out=$BATS_TEST_TMPDIR/superlink.conf
	local -a vars=(FL_NUM_ROUNDS=7 ONEAPP_FL_STRATEGY=FedProx FL_PROXIMAL_MU=.5
		"FL_CERT_EXTRA_SAN= IP:1.2.3.4 , DNS:a.b" FL_TLS_ENABLED=yes "FL_SSL_CA_CERTFILE=$CERT_B64"
		"FL_SSL_CERTFILE=$CERT_B64" "FL_SSL_KEYFILE=$KEY_B64")
	flc "${vars[@]}" --env-only render --role superlink -o "$out"
	run_flc "${vars[@]}" --env-only show --role superlink --format json --show-secrets
	local want=$output
	run_flc -c "$out" --no-env show --format json --show-secrets
	assert_success
	jq -e '.role == "superlink"' <<<"$output"
	assert_equal "$(jq -Sc '.variables | map_values(.value)' <<<"$output")" \
		"$(jq -Sc '.variables | map_values(.value)' <<<"$want")"
	assert_equal "$(jq -Sc '.variables | map_values(.source == "default")' <<<"$output")" \
		"$(jq -Sc '.variables | map_values(.source == "default")' <<<"$want")"
}

@test "render: reading a rendered file takes the role from it" {
	local out=$BATS_TEST_TMPDIR/supernode.conf
	flc FL_NODE_CONFIG='partition-id=0 num-partitions=2' --env-only render --role supernode -o "$out"
	run_flc -c "$out" --no-env validate
	assert_config_ok
	run_flc -c "$out" --no-env show --format json
	jq -e '.role == "supernode"' <<<"$output"
	jq -e '.variables | has("FL_NUM_ROUNDS") | not' <<<"$output"
	run_flc -c "$out" --no-env node-config
	assert_output 'partition-id=0 num-partitions=2'
}

@test "render: a supernode file holds no superlink variable" {
	local out=$BATS_TEST_TMPDIR/supernode.conf
	flc FL_NUM_ROUNDS=9 --env-only render --role supernode -o "$out"
	local v
	for v in "${SUPERLINK_ONLY[@]}"; do
		run grep -c "^$v=" "$out"
		assert_output 0
	done
}

@test "render: a rendered file with an unknown FLKIT_ROLE is refused" {
	local out=$BATS_TEST_TMPDIR/superlink.conf
	flc --env-only render --role superlink -o "$out"
	sed -i "s/^FLKIT_ROLE=.*/FLKIT_ROLE='worker'/" "$out"
	run_flc -c "$out" --no-env show
	assert_failure 1
	assert_stderr_contains FLKIT_ROLE
}

# ---------------------------------------------------------------------------------------
# run-config (03 §3.2)

@test "run-config: FedAvg gives the common keys only" {
	run_flc --env-only run-config
	assert_success
	assert_output 'strategy="FedAvg" num-server-rounds=3 min-fit-clients=2 min-evaluate-clients=2 min-available-clients=2'
}

@test "run-config: proximal-mu only for FedProx" {
	run_flc FL_STRATEGY=FedProx FL_PROXIMAL_MU=0.1 FL_NUM_ROUNDS=10 --env-only run-config
	assert_output 'strategy="FedProx" num-server-rounds=10 min-fit-clients=2 min-evaluate-clients=2 min-available-clients=2 proximal-mu=0.1'
	run_flc FL_PROXIMAL_MU=0.1 --env-only run-config
	refute_output --partial proximal-mu
}

@test "run-config: server-lr and client-lr only for FedAdam" {
	run_flc FL_STRATEGY=FedAdam --env-only run-config
	assert_output 'strategy="FedAdam" num-server-rounds=3 min-fit-clients=2 min-evaluate-clients=2 min-available-clients=2 server-lr=0.1 client-lr=0.1'
	run_flc FL_SERVER_LR=0.5 FL_CLIENT_LR=0.5 FL_STRATEGY=FedProx --env-only run-config
	refute_output --partial -lr=
}

@test "run-config: num-malicious for Krum and Bulyan" {
	local s
	for s in Krum Bulyan; do
		run_flc "FL_STRATEGY=$s" --env-only run-config
		assert_output "strategy=\"$s\" num-server-rounds=3 min-fit-clients=2 min-evaluate-clients=2 min-available-clients=2 num-malicious=0"
	done
	run_flc FL_NUM_MALICIOUS=1 --env-only run-config
	refute_output --partial num-malicious
}

@test "run-config: trim-beta only for FedTrimmedAvg" {
	run_flc FL_STRATEGY=FedTrimmedAvg FL_TRIM_BETA=.25 --env-only run-config
	assert_output 'strategy="FedTrimmedAvg" num-server-rounds=3 min-fit-clients=2 min-evaluate-clients=2 min-available-clients=2 trim-beta=0.25'
	run_flc FL_TRIM_BETA=0.25 FL_STRATEGY=Krum --env-only run-config
	refute_output --partial trim-beta
}

@test "run-config: floats become TOML floats (.5 -> 0.5, 1 -> 1.0, 00.5 -> 0.5)" {
	run_flc FL_STRATEGY=FedAdam FL_SERVER_LR=.5 FL_CLIENT_LR=1 --env-only run-config
	assert_output --partial ' server-lr=0.5 client-lr=1.0'
	run_flc FL_STRATEGY=FedProx FL_PROXIMAL_MU=00.5 --env-only run-config
	assert_output --partial ' proximal-mu=0.5'
	run_flc FL_STRATEGY=FedProx FL_PROXIMAL_MU=0 --env-only run-config
	assert_output --partial ' proximal-mu=0.0'
}

@test "run-config: integers lose leading zeros (num-malicious=010 -> 10)" {
	run_flc FL_STRATEGY=Krum FL_NUM_MALICIOUS=010 FL_MIN_AVAILABLE_CLIENTS=23 --env-only run-config
	assert_success
	assert_output --partial ' num-malicious=10'
}

@test "run-config: checkpoint keys only when FL_CHECKPOINT_ENABLED=YES" {
	run_flc FL_CHECKPOINT_ENABLED=YES FL_CHECKPOINT_INTERVAL=2 FL_CHECKPOINT_PATH=/app/ck --env-only run-config
	assert_output 'strategy="FedAvg" num-server-rounds=3 min-fit-clients=2 min-evaluate-clients=2 min-available-clients=2 checkpoint-enabled=true checkpoint-interval=2 checkpoint-path="/app/ck"'
	run_flc FL_CHECKPOINT_ENABLED=NO FL_CHECKPOINT_INTERVAL=2 --env-only run-config
	refute_output --partial checkpoint
}

@test "run-config: metrics keys only when FL_METRICS_ENABLED=YES" {
	run_flc FL_METRICS_ENABLED=YES FL_METRICS_PORT=9200 --env-only run-config
	assert_output 'strategy="FedAvg" num-server-rounds=3 min-fit-clients=2 min-evaluate-clients=2 min-available-clients=2 metrics-enabled=true metrics-port=9200'
	run_flc FL_METRICS_PORT=9200 --env-only run-config
	refute_output --partial metrics
}

@test "run-config: an invalid configuration exits 1 with nothing on stdout" {
	run_flc FL_STRATEGY=FedYogi --env-only run-config
	assert_config_error "Unknown FL_STRATEGY: 'FedYogi'. Valid options: FedAvg, FedProx, FedAdam, Krum, Bulyan, FedTrimmedAvg."
	run_flc FL_STRATEGY=Krum FL_NUM_MALICIOUS=1 --env-only run-config
	assert_failure 1
	assert_output ''
}

@test "run-config: notes stay off stderr, warnings stay off stdout" {
	run_flc FL_PROXIMAL_MU=0.3 FL_MIN_FIT_CLIENTS=3 --env-only run-config
	assert_success
	assert_output 'strategy="FedAvg" num-server-rounds=3 min-fit-clients=3 min-evaluate-clients=2 min-available-clients=2'
	refute_log_level INFO
	assert_equal "$(count_log WARN)" 1
}

@test "run-config: Flower's parser accepts it for every strategy, with the right types" {
	require_flwr
	local s args=()
	for s in FedAvg FedProx FedAdam Krum Bulyan FedTrimmedAvg; do
		args+=("$(flc "FL_STRATEGY=$s" FL_CHECKPOINT_ENABLED=YES FL_METRICS_ENABLED=YES \
			FL_MIN_AVAILABLE_CLIENTS=12 --env-only run-config)")
	done
	run flower_parse "${args[@]}"
	assert_success
	assert_equal "${#lines[@]}" 6
	local line
	for line in "${lines[@]}"; do
		jq -e '.strategy[0] == "str" and .["num-server-rounds"] == ["int", 3]
			and .["min-fit-clients"] == ["int", 2] and .["min-available-clients"] == ["int", 12]
			and .["checkpoint-enabled"] == ["bool", true] and .["checkpoint-interval"] == ["int", 5]
			and .["checkpoint-path"] == ["str", "/app/checkpoints"]
			and .["metrics-enabled"] == ["bool", true] and .["metrics-port"] == ["int", 9101]' <<<"$line"
	done
	jq -e '.strategy == ["str", "FedAvg"] and (keys | length) == 10' <<<"${lines[0]}"
	jq -e '.["proximal-mu"] == ["float", 1.0]' <<<"${lines[1]}"
	jq -e '.["server-lr"] == ["float", 0.1] and .["client-lr"] == ["float", 0.1]' <<<"${lines[2]}"
	jq -e '.["num-malicious"] == ["int", 0]' <<<"${lines[3]}"
	jq -e '.["num-malicious"] == ["int", 0] and .strategy == ["str", "Bulyan"]' <<<"${lines[4]}"
	jq -e '.["trim-beta"] == ["float", 0.2]' <<<"${lines[5]}"
}

@test "run-config: Flower reads .5 as the float 0.5 and 1 as the float 1.0" {
	require_flwr
	local cfg
	cfg=$(flc FL_STRATEGY=FedAdam FL_SERVER_LR=.5 FL_CLIENT_LR=1 --env-only run-config)
	run flower_parse "$cfg"
	assert_success
	jq -e '.["server-lr"] == ["float", 0.5] and .["client-lr"] == ["float", 1.0]' <<<"$output"
}

@test "run-config: --format toml parses as TOML with the same keys and types" {
	require_flwr
	local toml text
	toml=$(flc FL_STRATEGY=FedTrimmedAvg FL_TRIM_BETA=.3 FL_CHECKPOINT_ENABLED=YES --env-only run-config --format toml)
	text=$(flc FL_STRATEGY=FedTrimmedAvg FL_TRIM_BETA=.3 FL_CHECKPOINT_ENABLED=YES --env-only run-config)
	run toml_parse <<<"$toml"
	assert_success
	local from_toml=$output
	run flower_parse "$text"
	assert_success
	assert_equal "$(jq -Sc . <<<"$from_toml")" "$(jq -Sc . <<<"$output")"
	jq -e '.["trim-beta"] == ["float", 0.3] and .strategy == ["str", "FedTrimmedAvg"]' <<<"$from_toml"
}

@test "run-config: --format toml writes one key = value per line" {
	run_flc --env-only run-config --format toml
	assert_success
	assert_line --index 0 'strategy = "FedAvg"'
	assert_line --index 1 'num-server-rounds = 3'
	assert_equal "${#lines[@]}" 5
}

# ---------------------------------------------------------------------------------------
# node-config

@test "node-config: integers and floats stay bare, strings are quoted" {
	run_flc 'FL_NODE_CONFIG=partition-id=0 num-partitions=2 lr=.5 f=1.50 model-name=openlm-research/open_llama_3b quantization=4bit neg=-3 on=true z=007' \
		--env-only node-config
	assert_success
	assert_output 'partition-id=0 num-partitions=2 lr=0.5 f=1.50 model-name="openlm-research/open_llama_3b" quantization="4bit" neg=-3 on=true z="007"'
}

@test "node-config: Flower's parser accepts it with the right types" {
	require_flwr
	local cfg
	cfg=$(flc 'FL_NODE_CONFIG=partition-id=1 num-partitions=3 lr=.5 model-name=openlm-research/open_llama_3b quantization=4bit on=true url=host:9092 tag=a+b,c@d%e' \
		--env-only node-config)
	run flower_parse "$cfg"
	assert_success
	jq -e '. == {"partition-id": ["int", 1], "num-partitions": ["int", 3], "lr": ["float", 0.5],
		"model-name": ["str", "openlm-research/open_llama_3b"], "quantization": ["str", "4bit"],
		"on": ["bool", true], "url": ["str", "host:9092"], "tag": ["str", "a+b,c@d%e"]}' <<<"$output"
}

@test "node-config: --format toml parses as TOML" {
	require_flwr
	local toml
	toml=$(flc 'FL_NODE_CONFIG=partition-id=1 num-partitions=3 name=x/y' --env-only node-config --format toml)
	run toml_parse <<<"$toml"
	assert_success
	jq -e '. == {"partition-id": ["int", 1], "num-partitions": ["int", 3], "name": ["str", "x/y"]}' <<<"$output"
}

@test "node-config: an empty FL_NODE_CONFIG prints nothing" {
	run_flc FL_NODE_CONFIG= --env-only node-config
	assert_success
	assert_output ''
	assert_equal "$stderr" ''
}

@test "node-config: --partition-id and --num-partitions synthesise the pair" {
	run_flc --env-only node-config --partition-id 1 --num-partitions 3
	assert_success
	assert_output 'partition-id=1 num-partitions=3'
}

@test "node-config: FL_NODE_CONFIG wins over --partition-id and --num-partitions" {
	run_flc 'FL_NODE_CONFIG=partition-id=0 num-partitions=2' --env-only node-config --partition-id 1 --num-partitions 3
	assert_success
	assert_output 'partition-id=0 num-partitions=2'
}

@test "node-config: bad --partition-id/--num-partitions combinations are usage errors" {
	local bad
	for bad in '--partition-id 1' '--num-partitions 3' '--partition-id 3 --num-partitions 3' \
		'--partition-id 4 --num-partitions 3' '--partition-id x --num-partitions 3' \
		'--partition-id -1 --num-partitions 3' '--partition-id 0 --num-partitions 0'; do
		# shellcheck disable=SC2086
		run_flc --env-only node-config $bad
		assert_failure 2
		assert_output ''
		assert_stderr_contains 'usage: fl-context'
	done
}

@test "node-config: an invalid FL_NODE_CONFIG exits 1 with nothing on stdout" {
	run_flc 'FL_NODE_CONFIG=a=$(id)' --env-only node-config
	assert_config_error "Invalid FL_NODE_CONFIG pair: 'a=\$(id)'. Values may contain only letters, digits and . _ / : + , @ % -."
}

# ---------------------------------------------------------------------------------------
# user-inputs (01 §1.2; levels and formats: fl-context(1) user-inputs)
#
# Golden files: test/golden/user-inputs/LEVEL.FORMAT hold what `fl-context user-inputs` prints
# for each level (superlink, supernode: standalone; superlink-service, supernode-service: the
# role in a OneFlow service; service: the service level) and each format, compared byte for
# byte. After a deliberate change to the registry, rewrite them and review the diff:
#     FLKIT_UPDATE_GOLDEN=1 bats test/fl-context.bats -f golden

UI_LEVELS=(superlink superlink-service supernode supernode-service service)
UI_FORMATS=(block params json)
# The USER_INPUTS grammar of 05 §3.3; text64 carries no options and no default.
UI_TYPES='text|text64|password|number|number-float|range|range-float|list|list-multiple|boolean|fixed'
UI_SPEC_RE="^[MO]\|($UI_TYPES)\|[^|]+\|[^|]*\|[^|]*$"
UI_TEXT64_RE='^[MO]\|text64\|[^|]+$'

# ui_args LEVEL: the options of LEVEL, one a line.
ui_args() {
	case $1 in
	*-service) printf '%s\n' --role "${1%-service}" --service ;;
	*) printf '%s\n' --role "$1" ;;
	esac
}

# ui LEVEL [ARGS...]: user-inputs of LEVEL under run (with ARGS, e.g. --format json).
ui() {
	local -a level
	mapfile -t level < <(ui_args "$1")
	shift
	run_flc user-inputs "${level[@]}" "$@"
}

# ui_names LEVEL: the names of the block of LEVEL, one a line.
ui_names() {
	local -a args
	mapfile -t args < <(ui_args "$1")
	flc user-inputs "${args[@]}" | sed -n 's/^  \([A-Z0-9_]*\) = ".*/\1/p'
}

@test "user-inputs: golden files, every level in every format, byte for byte" {
	local dir=$BATS_TEST_DIRNAME/golden/user-inputs out=$BATS_TEST_TMPDIR/out level f n=0 diffs=
	local -a args
	[ -z "${FLKIT_UPDATE_GOLDEN:-}" ] || mkdir -p "$dir"
	for level in "${UI_LEVELS[@]}"; do
		mapfile -t args < <(ui_args "$level")
		for f in "${UI_FORMATS[@]}"; do
			flc user-inputs "${args[@]}" --format "$f" >"$out"
			[ -z "${FLKIT_UPDATE_GOLDEN:-}" ] || cp "$out" "$dir/$level.$f"
			cmp -s "$out" "$dir/$level.$f" || diffs+=$(diff -u "$dir/$level.$f" "$out" 2>&1)$'\n'
			n=$((n + 1))
		done
		# Block is the default format.
		flc user-inputs "${args[@]}" >"$out"
		cmp -s "$out" "$dir/$level.block" || diffs+="$level: the default is not block"$'\n'
	done
	[ -z "$diffs" ] || {
		echo "golden files differ (FLKIT_UPDATE_GOLDEN=1 rewrites them; review the diff)"
		echo "$diffs"
		false
	}
	assert_equal "$n" 15
}

@test "user-inputs: superlink lines are the spec's USER_INPUT strings" {
	run_flc user-inputs --role superlink
	assert_success
	assert_line --index 0 'USER_INPUTS = ['
	assert_line '  FLOWER_VERSION = "O|text|Flower Docker image version tag||1.25.0",'
	assert_line '  FL_NUM_ROUNDS = "O|number|Number of federated learning rounds||3",'
	assert_line '  FL_STRATEGY = "O|list|Aggregation strategy|FedAvg,FedProx,FedAdam,Krum,Bulyan,FedTrimmedAvg|FedAvg",'
	assert_line '  FL_FLEET_API_ADDRESS = "O|text|Fleet API listen address (host:port)||0.0.0.0:9092",'
	assert_line '  FL_ISOLATION = "O|list|App execution isolation mode|subprocess,process|subprocess",'
	assert_line '  FL_DATABASE = "O|text|Database path for state persistence||state/state.db",'
	assert_line '  FL_LOG_LEVEL = "O|list|Log verbosity|DEBUG,INFO,WARNING,ERROR|INFO",'
	assert_line '  FL_PROXIMAL_MU = "O|number-float|FedProx proximal term (mu)||1.0",'
	assert_line '  FL_TRIM_BETA = "O|number-float|Trim fraction per tail (FedTrimmedAvg)||0.2",'
	assert_line '  FL_CHECKPOINT_ENABLED = "O|boolean|Enable model checkpointing||NO",'
	assert_line '  FL_CHECKPOINT_PATH = "O|text|Checkpoint directory (container path)||/app/checkpoints",'
	assert_line '  FL_GRPC_KEEPALIVE_TIMEOUT = "O|number|gRPC keepalive ACK timeout in seconds||20",'
	assert_line '  FL_CERT_EXTRA_SAN = "O|text|Additional SAN entries for auto-generated cert (comma-separated)||",'
	assert_line '  FL_METRICS_PORT = "O|number|Prometheus metrics exporter port||9101",'
	assert_line '  FL_LOG_FORMAT = "O|list|Log output format|text,json|text",'
	assert_line '  FL_SSL_KEYFILE = "O|text64|Server private key (base64 PEM)"'
	assert_line --index $((${#lines[@]} - 1)) ']'
}

@test "user-inputs: the superlink block starts with the spec's 24 entries in order" {
	run_flc user-inputs --role superlink
	assert_success
	local want=(FLOWER_VERSION FL_NUM_ROUNDS FL_STRATEGY FL_MIN_FIT_CLIENTS FL_MIN_EVALUATE_CLIENTS
		FL_MIN_AVAILABLE_CLIENTS FL_FLEET_API_ADDRESS FL_CONTROL_API_ADDRESS FL_ISOLATION FL_DATABASE
		FL_LOG_LEVEL FL_PROXIMAL_MU FL_SERVER_LR FL_CLIENT_LR FL_NUM_MALICIOUS FL_TRIM_BETA
		FL_CHECKPOINT_ENABLED FL_CHECKPOINT_INTERVAL FL_CHECKPOINT_PATH FL_GRPC_KEEPALIVE_TIME
		FL_GRPC_KEEPALIVE_TIMEOUT FL_CERT_EXTRA_SAN FL_METRICS_ENABLED FL_METRICS_PORT)
	local got
	got=$(sed -n 's/^  \([A-Z0-9_]*\) = .*/\1/p' <<<"$output" | head -n 24 | tr '\n' ' ')
	assert_equal "$got" "${want[*]} "
}

@test "user-inputs: supernode lines are the spec's and hold no superlink-only variable" {
	run_flc user-inputs --role supernode
	assert_success
	assert_line '  FL_SUPERLINK_ADDRESS = "O|text|SuperLink Fleet API address (host:port)||",'
	assert_line '  FL_NODE_CONFIG = "O|text|Space-separated key=value node config||",'
	assert_line '  FL_MAX_RETRIES = "O|number|Max reconnection attempts (0=unlimited)||0",'
	assert_line '  FL_GPU_ENABLED = "O|boolean|Enable GPU passthrough (requires GPU-enabled VM template)||NO",'
	assert_line '  FL_CUDA_VISIBLE_DEVICES = "O|text|GPU device IDs visible to container (e.g., 0 or 0,1)||all",'
	assert_line '  FL_GPU_MEMORY_FRACTION = "O|number-float|GPU memory fraction for PyTorch (0.0-1.0)||0.8",'
	assert_line '  FL_DCGM_ENABLED = "O|boolean|Enable DCGM GPU metrics exporter||NO",'
	assert_line '  FL_LOG_FORMAT = "O|list|Log output format|text,json|text",'
	assert_line '  ML_FRAMEWORK = "O|list|ML framework|pytorch,tensorflow,sklearn|pytorch",'
	assert_line '  FL_USE_CASE = "O|list|Pre-built use case template|none,image-classification,anomaly-detection,llm-fine-tuning|none",'
	assert_line '  FL_EDGE_BACKOFF = "O|list|Edge discovery retry backoff strategy|exponential,fixed|exponential",'
	assert_line '  FL_EDGE_MAX_BACKOFF = "O|number|Maximum backoff interval in seconds for edge discovery||300"'
	assert_line '  FL_SSL_CA_CERTFILE = "O|text64|CA certificate (base64 PEM)",'
	local v
	for v in "${SUPERLINK_ONLY[@]}"; do
		refute_output --partial " $v = "
	done
}

@test "user-inputs: standalone, every variable of a role appears once, and every input is optional" {
	local role v
	for role in superlink supernode; do
		run_flc user-inputs --role "$role"
		assert_success
		local -n only=${role^^}_ONLY
		for v in "${only[@]}" FLOWER_VERSION FL_ISOLATION FL_LOG_LEVEL FL_GRPC_KEEPALIVE_TIME \
			FL_GRPC_KEEPALIVE_TIMEOUT FL_LOG_FORMAT FL_TLS_ENABLED FL_SSL_CA_CERTFILE; do
			assert_equal "$(grep -c "^  $v = \"O|" <<<"$output")" 1
		done
		assert_equal "$(grep -c '^  [A-Z0-9_]* = "' <<<"$output")" "$(grep -c '^  [A-Z0-9_]* = "O|' <<<"$output")"
	done
}

@test "user-inputs: the service level is the variables both roles read" {
	local both
	# The reference's ROLE column, an oracle apart from user-inputs.
	run_flc reference
	assert_success
	both=$(awk '$2 == "both" { print $1 }' <<<"$output")
	assert_equal "$(ui_names service)" "$both"
	assert_equal "$both" "$(printf '%s\n' FLOWER_VERSION FL_ISOLATION FL_LOG_LEVEL FL_GRPC_KEEPALIVE_TIME \
		FL_GRPC_KEEPALIVE_TIMEOUT FL_LOG_FORMAT FL_TLS_ENABLED FL_SSL_CA_CERTFILE)"
}

@test "user-inputs: in a service a role offers no service-level variable; the levels add up to the standalone role" {
	local role service own all
	service=$(ui_names service)
	[ -n "$service" ]
	for role in superlink supernode; do
		own=$(ui_names "$role-service")
		all=$(ui_names "$role")
		[ -n "$own" ]
		[ -n "$all" ]
		# Disjoint.
		assert_equal "$(comm -12 <(sort <<<"$service") <(sort <<<"$own"))" ''
		# Together: the standalone role less FL_SUPERLINK_ADDRESS.
		assert_equal "$(sort <<<"$service"$'\n'"$own")" "$(grep -vx FL_SUPERLINK_ADDRESS <<<"$all" | sort)"
		# Each level keeps registry order: the standalone order filtered.
		assert_equal "$own" "$(grep -vxF -f <(echo "$service"; echo FL_SUPERLINK_ADDRESS) <<<"$all")"
	done
	assert_equal "$(ui_names supernode | grep -cx FL_SUPERLINK_ADDRESS)" 1
	assert_equal "$(ui_names supernode-service | grep -cx FL_SUPERLINK_ADDRESS)" 0
	assert_equal "$(grep -cx FL_SUPERLINK_ADDRESS <<<"$service")" 0
}

@test "user-inputs: every spec follows the USER_INPUTS grammar; text64 has no options or default" {
	local level name spec n=0 type opts def
	for level in "${UI_LEVELS[@]}"; do
		ui "$level" --format json
		assert_success
		while IFS=$'\t' read -r name spec; do
			n=$((n + 1))
			[[ $name =~ ^[A-Z][A-Z0-9_]*$ ]] || { echo "$level: name '$name'"; false; }
			IFS='|' read -r _ type _ opts def <<<"$spec"
			if [ "$type" = text64 ]; then
				[[ $spec =~ $UI_TEXT64_RE ]] || { echo "$level: $name: '$spec'"; false; }
				continue
			fi
			[[ $spec =~ $UI_SPEC_RE ]] || { echo "$level: $name: '$spec'"; false; }
			[[ $spec == O\|* ]] || { echo "$level: $name is not optional: '$spec'"; false; }
			case $type in
			list) [[ ,$opts, == *,"$def",* ]] || { echo "$level: $name: default not an option"; false; } ;;
			boolean) [[ $def == YES || $def == NO ]] || { echo "$level: $name: boolean '$def'"; false; } ;;
			*) [ -z "$opts" ] || { echo "$level: $name: options on a $type"; false; } ;;
			esac
		done < <(jq -r 'to_entries[] | "\(.key)\t\(.value)"' <<<"$output")
	done
	[ "$n" -gt 40 ]
}

@test "user-inputs: json and params hold the block's names, in order, with the block's specs" {
	local level block json params names specs labels i
	for level in "${UI_LEVELS[@]}"; do
		ui "$level" --format block
		assert_success
		block=$output
		names=$(sed -n 's/^  \([A-Z0-9_]*\) = ".*/\1/p' <<<"$block")
		specs=$(sed -n 's/^  [A-Z0-9_]* = "\(.*\)",\{0,1\}$/\1/p' <<<"$block")
		[ -n "$names" ]
		assert_equal "$(wc -l <<<"$specs")" "$(wc -l <<<"$names")"

		ui "$level" --format json
		assert_success
		json=$output
		jq -e 'type == "object"' <<<"$json" >/dev/null
		assert_equal "$(jq -r 'keys_unsorted[]' <<<"$json")" "$names"
		assert_equal "$(jq -r '.[]' <<<"$json")" "$specs"

		ui "$level" --format params
		assert_success
		params=("${lines[@]}")
		assert_equal "${#params[@]}" $((4 * $(wc -l <<<"$names")))
		assert_equal "$(printf '%s\n' "$output" | wc -l)" "${#params[@]}"
		assert_equal "$(for ((i = 0; i < ${#params[@]}; i += 4)); do echo "${params[i]}"; done)" "$names"
		assert_equal "$(for ((i = 3; i < ${#params[@]}; i += 4)); do echo "${params[i]}"; done)" "$specs"
		assert_equal "$(for ((i = 1; i < ${#params[@]}; i += 4)); do echo "${params[i]}"; done | sort -u)" configure
		# The description is the input's label.
		labels=$(cut -d'|' -f3 <<<"$specs")
		assert_equal "$(for ((i = 2; i < ${#params[@]}; i += 4)); do echo "${params[i]}"; done)" "$labels"
	done
}

@test "user-inputs: --oneapp names the inputs ONEAPP_<NAME> in every format, nothing else changes" {
	run_flc user-inputs --role supernode --oneapp
	assert_success
	assert_line '  ONEAPP_FL_NODE_CONFIG = "O|text|Space-separated key=value node config||",'
	assert_equal "$(grep -c '^  [A-Z0-9_]* = ' <<<"$output")" "$(grep -c '^  ONEAPP_[A-Z0-9_]* = ' <<<"$output")"
	local level plain
	for level in "${UI_LEVELS[@]}"; do
		ui "$level" --format block
		plain=$(awk '{ sub(/^  /, "  ONEAPP_") } 1' <<<"$output")
		ui "$level" --format block --oneapp
		assert_equal "$output" "$plain"
		ui "$level" --format json
		plain=$(awk '{ sub(/^  "/, "  \"ONEAPP_") } 1' <<<"$output")
		ui "$level" --format json --oneapp
		assert_equal "$output" "$plain"
		ui "$level" --format params
		plain=$(awk 'NR % 4 == 1 { $0 = "ONEAPP_" $0 } 1' <<<"$output")
		ui "$level" --format params --oneapp
		assert_equal "$output" "$plain"
	done
}

@test "user-inputs: params fills ONE_SERVICE_PARAMS through mapfile (stride 4)" {
	local -a ONE_SERVICE_PARAMS
	mapfile -t ONE_SERVICE_PARAMS < <(flc user-inputs --role superlink --oneapp --format params)
	[ "${#ONE_SERVICE_PARAMS[@]}" -gt 0 ]
	assert_equal $((${#ONE_SERVICE_PARAMS[@]} % 4)) 0
	assert_equal "${ONE_SERVICE_PARAMS[*]:0:4}" \
		'ONEAPP_FLOWER_VERSION configure Flower Docker image version tag O|text|Flower Docker image version tag||1.25.0'
	assert_equal "${ONE_SERVICE_PARAMS[-4]}" ONEAPP_FL_SSL_KEYFILE
	assert_equal "${ONE_SERVICE_PARAMS[-1]}" 'O|text64|Server private key (base64 PEM)'
}

@test "user-inputs: needs a role" {
	run_flc user-inputs
	assert_failure 2
	assert_output ''
	assert_stderr_contains 'usage: fl-context'
}

@test "user-inputs: a format it does not write, or --service with --role service, is a usage error naming the allowed values" {
	local f
	for f in yaml text env man BLOCK ''; do
		run_flc user-inputs --role superlink --format "$f"
		assert_failure 2
		assert_output ''
		assert_stderr_contains 'fl-context: user-inputs: '
		assert_stderr_contains '--format is block, params or json'
		assert_stderr_contains 'usage: fl-context'
	done
	run_flc user-inputs --role superlink --format yaml
	assert_stderr_contains "unknown format 'yaml'"
	run_flc user-inputs --role service --service
	assert_failure 2
	assert_output ''
	assert_stderr_contains 'fl-context: user-inputs: --service goes with --role superlink or supernode'
	assert_stderr_contains 'not service'
	run_flc --env-only show --service
	assert_failure 2
	assert_stderr_contains 'fl-context: --service is an option of user-inputs, not of show'
	run_flc --env-only show --format params
	assert_failure 2
	assert_stderr_contains 'show: --format is text, env, shell or json, not params'
}

@test "user-inputs: reads no context" {
	run_flc FLKIT_CONTEXT="$BATS_TEST_TMPDIR/missing" user-inputs --role superlink
	assert_success
	run_flc FLKIT_CONTEXT="$BATS_TEST_TMPDIR/missing" user-inputs --role service --format json
	assert_success
}

# ---------------------------------------------------------------------------------------
# Usage, help, version, reference

# assert_usage_error: exit 2, nothing on stdout, the synopsis on stderr.
assert_usage_error() {
	assert_failure 2
	assert_output ''
	assert_stderr_contains 'usage: fl-context'
}

@test "usage: an unknown verb" {
	run_flc --env-only frobnicate
	assert_usage_error
	assert_stderr_contains "unknown verb 'frobnicate'"
}

@test "usage: an unknown role" {
	run_flc --env-only validate --role worker
	assert_usage_error
	assert_stderr_contains "unknown role 'worker'"
}

@test "usage: validate without --role" {
	run_flc --env-only validate
	assert_failure 2
	assert_output ''
	assert_stderr_contains 'validate needs --role superlink or --role supernode'
}

@test "usage: validate --role service is not a validation role" {
	run_flc --env-only validate --role service
	assert_failure 2
}

@test "usage: an unknown format" {
	run_flc --env-only show --format yaml
	assert_usage_error
	assert_stderr_contains "unknown format 'yaml'"
}

@test "usage: a format the verb does not write" {
	local args
	for args in 'show --format toml' 'run-config --format json' 'node-config --format env' \
		'reference --format json'; do
		# shellcheck disable=SC2086
		run_flc --env-only $args
		assert_usage_error
	done
}

@test "usage: extra arguments" {
	run_flc --env-only validate --role superlink extra
	assert_usage_error
	assert_stderr_contains "unexpected argument 'extra'"
	run_flc --env-only get FL_NUM_ROUNDS FL_STRATEGY
	assert_usage_error
	run_flc --env-only get
	assert_usage_error
}

@test "usage: no verb at all" {
	run_flc --env-only
	assert_usage_error
}

@test "usage: an unknown option" {
	run_flc --env-only --frobnicate show
	assert_usage_error
}

@test "usage: --context and --env-only exclude each other" {
	run_flc --env-only -c "$FIXTURES/context/one_env" show
	assert_usage_error
}

@test "usage: --env-only and --no-env leave nothing to read" {
	run_flc --env-only --no-env show
	assert_usage_error
}

@test "help: exits 0 and lists every variable of the registry" {
	run_flc --help
	assert_success
	assert_equal "$stderr" ''
	assert_line --index 0 --partial 'usage: fl-context'
	local v registry
	registry=$(sed -n 's/^FL_VAR(\([A-Z0-9_]*\),.*/\1/p' "$FLKIT_SRC/lib/conf/fl_vars.def")
	[ "$(wc -l <<<"$registry")" -ge 41 ]
	for v in $registry "${ALL_VARS[@]}"; do
		assert_line --regexp "^$v +(superlink|supernode|both) "
	done
}

@test "help: the registry holds every variable of the design, each once" {
	run_flc --help
	local v
	for v in "${ALL_VARS[@]}"; do
		assert_equal "$(grep -cE "^$v +(superlink|supernode|both) " <<<"$output")" 1
	done
}

@test "help: -h is --help" {
	run_flc -h
	assert_success
	assert_line --partial 'exit status: 0 ok, 1 invalid configuration or unreadable context, 2 usage error.'
}

@test "help: every option of the synopsis is described under options, and the common ones" {
	run_flc --help
	assert_success
	local opt synopsis
	synopsis=$(sed -n '/^usage:/,/^$/p' <<<"$output" | grep -o -- '--[a-z][a-z-]*' | sort -u)
	for opt in $synopsis --context --env-only --no-env --output --quiet --verbose --help --version; do
		assert_line --regexp "^  (-[a-zA-Z], |    )$opt( |\$)"
	done
}

@test "usage: --partition-id and --num-partitions are counts" {
	run_flc -E node-config --partition-id x --num-partitions 2
	assert_usage_error
	assert_stderr_contains "fl-context: --partition-id 'x' is not a count; give a whole number from 0 to "
	run_flc -E node-config --partition-id 0 --num-partitions -2
	assert_usage_error
	assert_stderr_contains "fl-context: --num-partitions '-2' is not a count"
}

@test "version: prints the tool and its version" {
	run_flc --version
	assert_success
	assert_output --regexp '^fl-context [0-9]+\.[0-9]+\.[0-9]+$'
	run_flc -V
	assert_success
}

@test "reference: the checked-in fl-context(5) matches the registry" {
	flc reference --format man >"$BATS_TEST_TMPDIR/fl-context.5"
	assert_files_equal "$BATS_TEST_TMPDIR/fl-context.5" "$FLKIT_SRC/man/fl-context.5"
}

# ---------------------------------------------------------------------------------------
# Log format

@test "log: FL_LOG_FORMAT=json makes every log line a JSON object with level and message" {
	validate_as superlink FL_LOG_FORMAT=json FL_NUM_ROUNDS=0 FL_GRPC_KEEPALIVE_TIME=5 FL_GRPC_KEEPALIVE_TIMEOUT=1
	assert_failure 1
	assert_output ''
	local line
	for line in "${stderr_lines[@]}"; do
		jq -e 'type == "object" and (.level | IN("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"))
			and (.message | type == "string")
			and (.timestamp | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$"))' <<<"$line"
	done
	jq -se 'map(select(.level == "ERROR") | .message) == ["Invalid FL_NUM_ROUNDS: '"'0'"'. Must be a positive integer."]' <<<"$stderr"
	jq -se 'map(select(.level == "WARNING") | .message) | length == 1' <<<"$stderr"
	jq -se 'map(select(.level == "CRITICAL") | .message) == ["1 configuration error(s). Aborting boot."]' <<<"$stderr"
}

@test "log: JSON lines keep quotes, backslashes and newlines of values intact" {
	validate_as superlink FL_LOG_FORMAT=json $'FL_STRATEGY=a"b\\c\nd'
	assert_failure 1
	assert_equal "$(jq -rs 'map(select(.level == "ERROR"))[0].message' <<<"$stderr")" \
		"Unknown FL_STRATEGY: 'a\"b\\c"$'\n'"d'. Valid options: FedAvg, FedProx, FedAdam, Krum, Bulyan, FedTrimmedAvg."
}

@test "log: ONEAPP_FL_LOG_FORMAT wins over FL_LOG_FORMAT for the log format" {
	validate_as superlink ONEAPP_FL_LOG_FORMAT=json FL_LOG_FORMAT=text
	assert_success
	jq -e '.message == "Configuration validation passed."' <<<"${stderr_lines[0]}"
}

@test "log: FL_LOG_FORMAT=json in the context file makes the log JSON" {
	write_one_env "$BATS_TEST_TMPDIR/one_env" FL_LOG_FORMAT=json
	run_flc -c "$BATS_TEST_TMPDIR/one_env" validate --role superlink
	assert_success
	assert_stderr_contains '"message":"Configuration validation passed."'
	jq -e '.level == "INFO" and .message == "Configuration validation passed."' <<<"${stderr_lines[0]}"
}

@test "log: context file errors are JSON lines too" {
	run_flc FL_LOG_FORMAT=json -c "$BATS_TEST_TMPDIR/missing" show
	assert_failure 1
	jq -e '.level == "ERROR" and (.message | contains("missing"))' <<<"${stderr_lines[0]}"
}

# ---------------------------------------------------------------------------------------
# Values in Flower's config syntax: one conversion, checked against Flower's own parser

# flower_pythons: the interpreters of the Flower 1.25 and newest venvs (the test skips
# when either is missing).
flower_pythons() {
	local v
	for v in .venv-flwr-1.25 .venv-flwr-newest; do
		[ -x "$FLKIT_SRC/$v/bin/python" ] || skip "$v missing: run scripts/bootstrap"
		FLOWER_PYTHONS+=("$FLKIT_SRC/$v/bin/python")
	done
}

# shapes_load: NC (FL_NODE_CONFIG with key kN for row N of the shapes table) and WANT (the
# JSON of what Flower must read).
shapes_load() {
	local value type json i=0
	NC='' WANT='{'
	while IFS=$'\t' read -r value type json; do
		[[ -z $value || $value == '#'* ]] && continue
		NC+=" k$i=$value"
		WANT+="\"k$i\": [\"$type\", $json],"
		i=$((i + 1))
	done <"$FIXTURES/node-config-shapes.tsv"
	WANT="${WANT%,}}"
}

# flower_check CONFIG: CONFIG through every Flower's parser equals WANT.
flower_check() {
	local py
	for py in "${FLOWER_PYTHONS[@]}"; do
		run "$py" "$BATS_TEST_DIRNAME/flower_config_check.py" "$1" <<<"$WANT"
		assert_success
	done
}

@test "node-config: every value shape validate accepts reaches Flower 1.25 and the newest as meant" {
	local FLOWER_PYTHONS=() NC WANT cfg
	flower_pythons
	shapes_load
	validate_as supernode "FL_NODE_CONFIG=$NC"
	assert_config_ok
	cfg=$(flc "FL_NODE_CONFIG=$NC" --env-only node-config)
	flower_check "$cfg"
}

@test "node-config: --format toml gives Flower 1.25 and the newest the same values" {
	local FLOWER_PYTHONS=() NC WANT
	flower_pythons
	shapes_load
	flc "FL_NODE_CONFIG=$NC" --env-only node-config --format toml >"$BATS_TEST_TMPDIR/node.toml"
	flower_check "$BATS_TEST_TMPDIR/node.toml"
}

@test "node-config: the typing table (00012 stays a string, True is a boolean, 1.5e3 a float)" {
	run_flc 'FL_NODE_CONFIG=id=00012 on=True n=+5 x=.5 y=5. e=1.5e3 neg=-1.5 d=cifar10 k=a,b r=1:2 p=/a%b@c' \
		--env-only node-config
	assert_success
	assert_output 'id="00012" on=true n=5 x=0.5 y=5.0 e=1.5e3 neg=-1.5 d="cifar10" k="a,b" r="1:2" p="/a%b@c"'
}

@test "validate: an FL_NODE_CONFIG value Flower cannot represent is refused, naming key and value" {
	validate_as supernode 'FL_NODE_CONFIG=big=99999999999999999999 huge=1e999 tiny=1e-400'
	assert_config_error \
		"Invalid FL_NODE_CONFIG pair: 'big=99999999999999999999'. Flower cannot represent it: an integer beyond 64 bits (Flower carries -9223372036854775808 to 9223372036854775807); use a smaller number." \
		"Invalid FL_NODE_CONFIG pair: 'huge=1e999'. Flower cannot represent it: a number beyond the range of a double (about 1.8e308); use a smaller exponent." \
		"Invalid FL_NODE_CONFIG pair: 'tiny=1e-400'. Flower cannot represent it: a number too small for a double: Flower would read 0.0; write 0 or a smaller negative exponent."
	run_flc 'FL_NODE_CONFIG=big=99999999999999999999' --env-only node-config
	assert_failure 1
	assert_output ''
}

@test "validate: partition-id and num-partitions must be integers as Flower reads them" {
	validate_as supernode 'FL_NODE_CONFIG=partition-id=007 num-partitions=2.0'
	assert_config_error \
		"Invalid FL_NODE_CONFIG: partition-id must be a non-negative integer without leading zeros, got '007' (Flower's type: string); e.g. partition-id=0." \
		"Invalid FL_NODE_CONFIG: num-partitions must be a non-negative integer without leading zeros, got '2.0' (Flower's type: float); e.g. num-partitions=0."
	validate_as supernode 'FL_NODE_CONFIG=partition-id=+1 num-partitions=2'
	assert_config_ok
}

@test "validate: FL_NODE_CONFIG yes/no values warn that the ClientApp gets a string" {
	validate_as supernode 'FL_NODE_CONFIG=use-gpu=NO'
	assert_config_ok
	assert_log WARN 'FL_NODE_CONFIG: use-gpu=NO reaches the ClientApp as the string "NO" (true in Python, whatever it says); write use-gpu=true or use-gpu=false for a boolean.'
}

@test "run-config: every float and integer spelling reaches Flower 1.25 and the newest as a number" {
	local FLOWER_PYTHONS=() WANT cfg mu
	flower_pythons
	for mu in .5:0.5 00.5:0.5 1:1.0 0:0.0 10.25:10.25; do
		WANT="{\"strategy\": [\"str\", \"FedProx\"], \"num-server-rounds\": [\"int\", 7],
			\"min-fit-clients\": [\"int\", 2], \"min-evaluate-clients\": [\"int\", 2],
			\"min-available-clients\": [\"int\", 10], \"proximal-mu\": [\"float\", ${mu#*:}],
			\"checkpoint-enabled\": [\"bool\", true], \"checkpoint-interval\": [\"int\", 5],
			\"checkpoint-path\": [\"str\", \"/app/ck\"]}"
		cfg=$(flc FL_STRATEGY=FedProx "FL_PROXIMAL_MU=${mu%%:*}" FL_NUM_ROUNDS=7 FL_MIN_AVAILABLE_CLIENTS=10 \
			FL_CHECKPOINT_ENABLED=YES FL_CHECKPOINT_PATH=/app/ck --env-only run-config)
		flower_check "$cfg"
	done
}

@test "validate: FL_FLEET_API_ADDRESS with a host name is refused (docker -p publishes IP addresses only)" {
	assert_rejects superlink FL_FLEET_API_ADDRESS \
		"Invalid FL_FLEET_API_ADDRESS: '{v}'. Expected format: host:port, the host an IP address of this VM or 0.0.0.0 (a listen address: docker publishes IP addresses only)." \
		host.name:9092 localhost:8080 superlink.example.com:65535 my-host_1:9092
}

@test "validate: FLOWER_VERSION older than 1.25.0 is refused with fl-launch's words" {
	local v
	for v in 1.24.9 0.0.0 1.0.0; do
		validate_as supernode "FLOWER_VERSION=$v"
		assert_config_error "Invalid FLOWER_VERSION: '$v'. Flower $v is older than 1.25.0, the oldest version flkit drives; set FLOWER_VERSION (or --flower-version) to 1.25.0 or newer."
	done
}

# ---------------------------------------------------------------------------------------------
# Files named by an option are regular files: a FIFO is refused at once, never waited on.

@test "file options: a FIFO as --context is refused at once, exit 1, naming the option" {
	mkfifo "$BATS_TEST_TMPDIR/fifo"
	run --separate-stderr env -i timeout 10 "$FLKIT_BIN/fl-context" --context "$BATS_TEST_TMPDIR/fifo" show
	assert_failure 1
	assert_stderr_contains "--context $BATS_TEST_TMPDIR/fifo is not a regular file (a FIFO); give a regular file"
}

# ---------------------------------------------------------------------------------------------
# render: what a killed render left (its 0600 temp file, FL_SSL_KEYFILE for a SuperLink) is
# removed by the next one. A kill is landed exactly between the temp file and the rename with
# strace's fault injection (the rename syscall is answered with SIGKILL); the stale-file test
# proves the same without strace.

@test "render: a temporary file a killed render left (.NAME.XXXXXX) is removed by the next render" {
	local d=$BATS_TEST_TMPDIR/out
	mkdir "$d"
	printf 'FL_SSL_KEYFILE=secret\n' >"$d/.sl.conf.AbC123"
	chmod 0600 "$d/.sl.conf.AbC123"
	# Not render's: other names, a symlink of the pattern.
	touch "$d/.sl.conf.keep" "$d/.other.conf.AbC123" "$BATS_TEST_TMPDIR/target"
	ln -s "$BATS_TEST_TMPDIR/target" "$d/.sl.conf.Link12"
	run_flc FL_NUM_ROUNDS=7 --env-only render --role superlink -o "$d/sl.conf"
	assert_success
	run ls -A "$d"
	assert_output $'.other.conf.AbC123\n.sl.conf.Link12\n.sl.conf.keep\nsl.conf'
	[ -e "$BATS_TEST_TMPDIR/target" ]
}

@test "render: killed at the rename (kill -9), the next render removes the temporary file" {
	command -v strace >/dev/null || skip "strace missing"
	local d=$BATS_TEST_TMPDIR/out
	mkdir "$d"
	run env -i FL_NUM_ROUNDS=7 strace -f -o /dev/null -e trace=rename,renameat,renameat2 \
		-e inject=rename,renameat,renameat2:signal=KILL "$FLKIT_BIN/fl-context" --env-only render --role superlink -o "$d/sl.conf"
	[ "$status" -eq 137 ] || skip "strace cannot inject here (status $status)"
	# The kill landed: the temp file is there, not the result.
	run ls -A "$d"
	[[ $output =~ ^\.sl\.conf\.[A-Za-z0-9]{6}$ ]]
	[ "$(stat -c %a "$d/$output")" = 600 ]
	run_flc FL_NUM_ROUNDS=7 --env-only render --role superlink -o "$d/sl.conf"
	assert_success
	run ls -A "$d"
	assert_output sl.conf
}

# ---------------------------------------------------------------------------------------------
# Options may come before or after the verb (whatever POSIXLY_CORRECT says); an option of
# another verb is a usage error naming it.

@test "options: an option of another verb is refused, exit 2, naming the option and its verbs" {
	run_flc --env-only show --oneapp
	assert_failure 2
	assert_stderr_contains "fl-context: --oneapp is an option of user-inputs, not of show"
	run_flc --env-only get FL_NUM_ROUNDS --format json
	assert_failure 2
	assert_stderr_contains "--format is an option of show, run-config, node-config, reference or user-inputs, not of get"
	run_flc --env-only -o "$BATS_TEST_TMPDIR/x.conf" validate --role superlink
	assert_failure 2
	assert_stderr_contains "--output is an option of render, not of validate"
	[ ! -e "$BATS_TEST_TMPDIR/x.conf" ]
}

@test "options: options follow the verb also with POSIXLY_CORRECT set" {
	run_flc POSIXLY_CORRECT=1 FL_NUM_ROUNDS=7 --env-only get FL_NUM_ROUNDS
	assert_success
	assert_output 7
	run_flc POSIXLY_CORRECT=1 --env-only validate --role superlink
	assert_success
}

# ---------------------------------------------------------------------------------------
# The common options and the configuration rule of every flkit tool (flkit(7)).

@test "configuration: \$FLKIT_CONTEXT naming a missing file is exit 1 with the --context hint" {
	run_flc FLKIT_CONTEXT="$BATS_TEST_TMPDIR/missing" validate --role superlink
	assert_failure 1
	assert_output ''
	assert_stderr_contains "$BATS_TEST_TMPDIR/missing"
	assert_log ERROR 'no usable context file; pass --context FILE, or --env-only to use the environment alone'
}

@test "options: -V prints the tool and the version; an unknown verb names itself" {
	run_flc -V
	assert_success
	assert_output --regexp '^fl-context [0-9]+\.[0-9]+\.[0-9]+$'
	run_flc frobnicate
	assert_failure 2
	assert_stderr_contains "fl-context: unknown verb 'frobnicate'"
}
