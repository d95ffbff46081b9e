#!/usr/bin/env bats
# fl-ckpt upload, download and restore --from-s3 against a real S3 server (moto, every request's
# SigV4 signature checked: test/s3/server.sh), with the AWS CLI as the independent client that
# reads back what fl-ckpt uploaded and uploads what fl-ckpt downloads.

load helpers

: "${FLKIT_TEST_BIN:=$FLKIT_BIN/../test-bin}"
GOOD="$FIXTURES/npz/good"

setup_file() {
	command -v aws >/dev/null || skip "the AWS CLI is missing: run scripts/bootstrap (awscli)"
	[ -x "$FLKIT_SRC/.venv/bin/moto_server" ] || skip "moto is missing from .venv: run scripts/bootstrap"
	export S3DIR="$BATS_FILE_TMPDIR/s3"
	local line
	line=$("$FLKIT_SRC/test/s3/server.sh" start "$S3DIR")
	export EP=${line#endpoint=}
	export AWS_SHARED_CREDENTIALS_FILE="$S3DIR/credentials" AWS_DEFAULT_REGION=us-east-1
	unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE
	aws --endpoint-url "$EP" s3 mb s3://flkit-ckpt >/dev/null
}

teardown_file() {
	[ -n "${S3DIR:-}" ] && "$FLKIT_SRC/test/s3/server.sh" stop "$S3DIR"
	return 0
}

setup() {
	D=$BATS_TEST_TMPDIR/ckpt
	mkdir -p "$D"
	ME="$(id -u):$(id -g)"
	PFX="t$BATS_TEST_NUMBER"
	SECRET=$(awk '$1 == "aws_secret_access_key" {print $3}' "$S3DIR/credentials")
	KEYID=$(awk '$1 == "aws_access_key_id" {print $3}' "$S3DIR/credentials")
}

# ck ARGS...: fl-ckpt on $D, owned by the caller, under bats' run (stdout and stderr apart).
ck() {
	run --separate-stderr "$FLKIT_BIN/fl-ckpt" --dir "$D" --owner "$ME" "$@"
}

s3() {
	aws --endpoint-url "$EP" s3 "$@"
}

sha() {
	sha256sum "$1" | cut -d' ' -f1
}

# save N SRC: commit SRC as round N.
save() {
	"$FLKIT_BIN/fl-ckpt" --dir "$D" --owner "$ME" save --round "$1" --from "$2" >/dev/null 2>&1
}

# big F: a ~12 MiB npz made by numpy.
big() {
	"$FLWR_PY" -c 'import numpy as np, sys; np.savez(sys.argv[1], np.arange(1572864, dtype="<f8"), np.ones(7))' "$1"
}

@test "upload: the round file reaches the store and the AWS CLI reads back the same bytes" {
	save 3 "$GOOD/three.npz"
	ck upload --round 3 --url "s3://flkit-ckpt/$PFX" --endpoint "$EP"
	assert_success
	assert_line "s3://flkit-ckpt/$PFX/checkpoint_round_3.npz"
	assert_line "s3://flkit-ckpt/$PFX/checkpoint_round_3.json"
	s3 cp "s3://flkit-ckpt/$PFX/checkpoint_round_3.npz" "$BATS_TEST_TMPDIR/back.npz" >/dev/null
	cmp "$GOOD/three.npz" "$BATS_TEST_TMPDIR/back.npz"
	s3 cp "s3://flkit-ckpt/$PFX/checkpoint_round_3.json" "$BATS_TEST_TMPDIR/back.json" >/dev/null
	[ "$(jq -r .sha256 "$BATS_TEST_TMPDIR/back.json")" = "$(sha "$GOOD/three.npz")" ]
	[ "$(jq -r .round "$BATS_TEST_TMPDIR/back.json")" = 3 ]
	run aws --endpoint-url "$EP" s3api head-object --bucket flkit-ckpt --key "$PFX/checkpoint_round_3.npz"
	[ "$(jq -r .Metadata.sha256 <<<"$output")" = "$(sha "$GOOD/three.npz")" ]
}

@test "upload, download: --virtual-host addresses bucket.host (curl resolves *.localhost to loopback)" {
	save 3 "$GOOD/three.npz"
	local vh="http://localhost:${EP##*:}"
	ck upload --round 3 --url "s3://flkit-ckpt/$PFX" --endpoint "$vh" --virtual-host
	assert_success
	s3 cp "s3://flkit-ckpt/$PFX/checkpoint_round_3.npz" "$BATS_TEST_TMPDIR/back.npz" >/dev/null
	cmp "$GOOD/three.npz" "$BATS_TEST_TMPDIR/back.npz"
	rm -rf "$D" && mkdir -p "$D"
	ck download --round 3 --url "s3://flkit-ckpt/$PFX" --endpoint "$vh" --virtual-host
	assert_success
	cmp "$GOOD/three.npz" "$D/checkpoint_round_3.npz"
}

@test "upload: without --round it uploads the latest link's round" {
	save 1 "$GOOD/three.npz"
	save 2 "$GOOD/one.npz"
	ck upload --url "s3://flkit-ckpt/$PFX" --endpoint "$EP"
	assert_success
	assert_line "s3://flkit-ckpt/$PFX/checkpoint_round_2.npz"
}

@test "upload: an uncommitted round (no manifest entry) is refused, nothing sent" {
	cp "$GOOD/three.npz" "$D/checkpoint_round_4.npz"
	ck upload --round 4 --url "s3://flkit-ckpt/$PFX" --endpoint "$EP"
	assert_failure 1
	assert_stderr_contains "round 4"
	assert_stderr_contains "not committed"
	run aws --endpoint-url "$EP" s3 ls "s3://flkit-ckpt/$PFX/"
	refute_output --partial checkpoint_round_4
}

@test "upload: the target defaults to FL_CHECKPOINT_S3_URL, _ENDPOINT and _REGION" {
	save 5 "$GOOD/three.npz"
	run --separate-stderr env FL_CHECKPOINT_ENABLED=YES FL_CHECKPOINT_S3_URL="s3://flkit-ckpt/$PFX" \
		FL_CHECKPOINT_S3_ENDPOINT="$EP" FL_CHECKPOINT_S3_REGION=us-east-1 \
		"$FLKIT_BIN/fl-ckpt" --dir "$D" --owner "$ME" upload
	assert_success
	assert_line "s3://flkit-ckpt/$PFX/checkpoint_round_5.npz"
}

@test "download: a checkpoint the AWS CLI uploaded is committed, verified and numpy loads it" {
	s3 cp "$GOOD/three.npz" "s3://flkit-ckpt/$PFX/checkpoint_round_7.npz" \
		--metadata "sha256=$(sha "$GOOD/three.npz")" >/dev/null
	ck download --round 7 --url "s3://flkit-ckpt/$PFX" --endpoint "$EP"
	assert_success
	cmp "$GOOD/three.npz" "$D/checkpoint_round_7.npz"
	ck verify --round 7
	assert_success
	ck list --json
	[ "$(jq -r '.[] | select(.round == 7) | .committed' <<<"$output")" = true ]
	"$FLWR_PY" -c 'import numpy as np, sys; d = np.load(sys.argv[1]); assert len(d.files) == 3' \
		"$D/checkpoint_round_7.npz"
}

@test "download: an object without x-amz-meta-sha256 is refused and nothing is committed" {
	s3 cp "$GOOD/three.npz" "s3://flkit-ckpt/$PFX/checkpoint_round_8.npz" >/dev/null
	ck download --round 8 --url "s3://flkit-ckpt/$PFX" --endpoint "$EP"
	assert_failure 1
	assert_stderr_contains "no x-amz-meta-sha256"
	assert_not_exists "$D/checkpoint_round_8.npz"
	run ls -A "$D"
	refute_output --partial "checkpoint_round"
}

@test "download: bytes that do not match the stored SHA-256 are refused and nothing is committed" {
	s3 cp "$GOOD/three.npz" "s3://flkit-ckpt/$PFX/checkpoint_round_9.npz" \
		--metadata "sha256=$(sha "$GOOD/one.npz")" >/dev/null
	ck download --round 9 --url "s3://flkit-ckpt/$PFX" --endpoint "$EP"
	assert_failure 1
	assert_stderr_contains "corrupt"
	assert_not_exists "$D/checkpoint_round_9.npz"
}

@test "download: a missing object is exit 1 with the store's NoSuchKey" {
	ck download --round 99 --url "s3://flkit-ckpt/$PFX" --endpoint "$EP"
	assert_failure 1
	assert_stderr_contains "404"
}

@test "restore --from-s3: the round is downloaded, committed and made latest" {
	save 1 "$GOOD/one.npz"
	s3 cp "$GOOD/three.npz" "s3://flkit-ckpt/$PFX/checkpoint_round_12.npz" \
		--metadata "sha256=$(sha "$GOOD/three.npz")" >/dev/null
	ck restore --from-s3 "s3://flkit-ckpt/$PFX/checkpoint_round_12.npz" --endpoint "$EP"
	assert_success
	[ "$(readlink "$D/checkpoint_latest.npz")" = checkpoint_round_12.npz ]
	[ "$(jq -r .round "$D/checkpoint_latest.json")" = 12 ]
}

@test "restore --from-s3: an object that is not a round file is a usage error" {
	ck restore --from-s3 "s3://flkit-ckpt/$PFX/other.npz" --endpoint "$EP"
	assert_failure 2
	assert_stderr_contains "checkpoint_round_N.npz"
}

@test "upload: a wrong secret is exit 1 with the store's SignatureDoesNotMatch, the secret never shown" {
	save 3 "$GOOD/three.npz"
	run --separate-stderr env AWS_ACCESS_KEY_ID="$KEYID" AWS_SECRET_ACCESS_KEY="wrong$SECRET" \
		"$FLKIT_BIN/fl-ckpt" --dir "$D" --owner "$ME" upload --round 3 --url "s3://flkit-ckpt/$PFX" \
		--endpoint "$EP"
	assert_failure 1
	assert_stderr_contains "SignatureDoesNotMatch"
	refute_output --partial "$SECRET"
	[[ $stderr != *"$SECRET"* ]]
}

@test "upload: an unknown access key is exit 1 with the store's InvalidAccessKeyId" {
	save 3 "$GOOD/three.npz"
	run --separate-stderr env AWS_ACCESS_KEY_ID=AKIANOSUCHKEY0000000 AWS_SECRET_ACCESS_KEY="$SECRET" \
		"$FLKIT_BIN/fl-ckpt" --dir "$D" --owner "$ME" upload --round 3 --url "s3://flkit-ckpt/$PFX" \
		--endpoint "$EP"
	assert_failure 1
	assert_stderr_contains "InvalidAccessKeyId"
	[[ $stderr != *"$SECRET"* ]]
}

@test "upload: a stopped store is exit 3 once the deadline has passed" {
	local dead="$BATS_TEST_TMPDIR/dead" line
	line=$("$FLKIT_SRC/test/s3/server.sh" start "$dead")
	"$FLKIT_SRC/test/s3/server.sh" stop "$dead"
	save 3 "$GOOD/three.npz"
	ck upload --round 3 --url "s3://flkit-ckpt/$PFX" --endpoint "${line#endpoint=}" --deadline 2
	assert_failure 3
	assert_stderr_contains "unreachable"
}

# fault STATUS CODE: a store answering every request with STATUS and <Code>CODE</Code>; sets FEP.
fault() {
	local dir="$BATS_TEST_TMPDIR/fault" i
	mkdir -p "$dir"
	python3 "$FLKIT_SRC/test/s3/fault.py" "$dir" "$1" "$2" 3>&- &
	FAULT_PID=$!
	for ((i = 0; i < 100; i++)); do
		[ -s "$dir/endpoint" ] && break
		sleep 0.1
	done
	FEP=$(cat "$dir/endpoint")
	FREQ="$dir/requests"
}

@test "upload: a store answering 503 SlowDown is retried with backoff, then exit 3 at the deadline" {
	save 3 "$GOOD/three.npz"
	fault 503 SlowDown
	ck upload --round 3 --url "s3://flkit-ckpt/$PFX" --endpoint "$FEP" --deadline 2
	kill "$FAULT_PID"
	assert_failure 3
	assert_stderr_contains "unreachable"
	assert_stderr_contains "SlowDown"
	[ "$(wc -l <"$FREQ")" -ge 3 ]
}

@test "upload: a refusal (403) is not retried: exit 1 with the store's Code and Message" {
	save 3 "$GOOD/three.npz"
	fault 403 AccessDenied
	ck upload --round 3 --url "s3://flkit-ckpt/$PFX" --endpoint "$FEP" --deadline 5
	kill "$FAULT_PID"
	assert_failure 1
	assert_stderr_contains "AccessDenied: fault injected by the test"
	[ "$(wc -l <"$FREQ")" -eq 1 ]
}

@test "upload: x-amz-content-sha256 is the real SHA-256 of every body sent (moto does not check it)" {
	save 3 "$GOOD/three.npz"
	fault 200 none
	ck upload --round 3 --url "s3://flkit-ckpt/$PFX" --endpoint "$FEP" --deadline 5
	kill "$FAULT_PID"
	# The fake store does not hold what was sent, so the upload does not count: exit 1.
	assert_failure 1
	assert_stderr_contains "after the upload"
	run awk '$1 == "PUT" { print $3, $4 }' "$FREQ"
	assert_output "$(sha "$GOOD/three.npz") $(sha "$GOOD/three.npz")"
	run awk '$1 != "PUT" { print $3, $4 }' "$FREQ"
	assert_output "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
}

@test "upload: the credentials are in no output and no process's argv" {
	save 3 "$GOOD/three.npz"
	"$FLKIT_BIN/fl-ckpt" --dir "$D" --owner "$ME" upload --round 3 --url "s3://flkit-ckpt/$PFX" \
		--endpoint "$EP" >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" &
	local pid=$! seen=
	while kill -0 "$pid" 2>/dev/null; do
		seen+=$(ps -eo args 2>/dev/null)
	done
	wait "$pid"
	run grep -qF -- "$SECRET" "$BATS_TEST_TMPDIR/out" "$BATS_TEST_TMPDIR/err"
	assert_failure 1
	[[ $seen != *"$SECRET"* ]]
}

@test "upload: a credentials file readable by others (0644) is refused with chmod 600" {
	save 3 "$GOOD/three.npz"
	cp "$S3DIR/credentials" "$BATS_TEST_TMPDIR/creds"
	chmod 644 "$BATS_TEST_TMPDIR/creds"
	run --separate-stderr env AWS_SHARED_CREDENTIALS_FILE="$BATS_TEST_TMPDIR/creds" \
		"$FLKIT_BIN/fl-ckpt" --dir "$D" --owner "$ME" upload --round 3 --url "s3://flkit-ckpt/$PFX" \
		--endpoint "$EP"
	assert_failure 1
	assert_stderr_contains "chmod 600"
	[[ $stderr != *"$SECRET"* ]]
}

@test "upload: a credentials file that is a symlink is refused" {
	save 3 "$GOOD/three.npz"
	ln -s "$S3DIR/credentials" "$BATS_TEST_TMPDIR/creds"
	run --separate-stderr env AWS_SHARED_CREDENTIALS_FILE="$BATS_TEST_TMPDIR/creds" \
		"$FLKIT_BIN/fl-ckpt" --dir "$D" --owner "$ME" upload --round 3 --url "s3://flkit-ckpt/$PFX" \
		--endpoint "$EP"
	assert_failure 1
	assert_stderr_contains "symlink"
}

@test "upload: a multipart upload stopped after one part resumes with the missing parts only" {
	[ -x "$FLKIT_TEST_BIN/fl-ckpt" ] || skip "no test build of fl-ckpt (make all)"
	big "$BATS_TEST_TMPDIR/big.npz"
	save 6 "$BATS_TEST_TMPDIR/big.npz"
	run --separate-stderr env FLKIT_TEST_S3_STOP_AFTER_PARTS=1 "$FLKIT_TEST_BIN/fl-ckpt" --dir "$D" \
		--owner "$ME" upload --round 6 --url "s3://flkit-ckpt/$PFX" --endpoint "$EP" --part-size 5 \
		--threshold 5
	assert_failure 1
	assert_stderr_contains "part 1 of 3 uploaded"
	assert_stderr_contains "stopped after 1 part"
	assert_exists "$D/.fl-ckpt-upload.6.json"
	local id
	id=$(jq -r .upload_id "$D/.fl-ckpt-upload.6.json")
	run aws --endpoint-url "$EP" s3api list-parts --bucket flkit-ckpt --key "$PFX/checkpoint_round_6.npz" \
		--upload-id "$id"
	[ "$(jq '.Parts | length' <<<"$output")" = 1 ]
	ck upload --round 6 --url "s3://flkit-ckpt/$PFX" --endpoint "$EP" --part-size 5 --threshold 5
	assert_success
	assert_stderr_contains "resuming upload"
	refute_stderr_contains "part 1 of 3 uploaded"
	assert_stderr_contains "part 2 of 3 uploaded"
	assert_stderr_contains "part 3 of 3 uploaded"
	assert_stderr_contains "3 part(s), 1 resumed"
	assert_not_exists "$D/.fl-ckpt-upload.6.json"
	s3 cp "s3://flkit-ckpt/$PFX/checkpoint_round_6.npz" "$BATS_TEST_TMPDIR/back.npz" >/dev/null
	cmp "$D/checkpoint_round_6.npz" "$BATS_TEST_TMPDIR/back.npz"
	run aws --endpoint-url "$EP" s3api head-object --bucket flkit-ckpt --key "$PFX/checkpoint_round_6.npz"
	[[ $(jq -r .ETag <<<"$output") == *-3\" ]]
}

@test "upload: a resumed upload whose file changed starts over instead of mixing parts" {
	[ -x "$FLKIT_TEST_BIN/fl-ckpt" ] || skip "no test build of fl-ckpt (make all)"
	big "$BATS_TEST_TMPDIR/big.npz"
	save 6 "$BATS_TEST_TMPDIR/big.npz"
	run --separate-stderr env FLKIT_TEST_S3_STOP_AFTER_PARTS=1 "$FLKIT_TEST_BIN/fl-ckpt" --dir "$D" \
		--owner "$ME" upload --round 6 --url "s3://flkit-ckpt/$PFX" --endpoint "$EP" --part-size 5 \
		--threshold 5
	assert_failure 1
	"$FLWR_PY" -c 'import numpy as np, sys; np.savez(sys.argv[1], np.arange(1572864, dtype="<f8") + 1)' \
		"$BATS_TEST_TMPDIR/big2.npz"
	save 6 "$BATS_TEST_TMPDIR/big2.npz"
	ck upload --round 6 --url "s3://flkit-ckpt/$PFX" --endpoint "$EP" --part-size 5 --threshold 5
	assert_success
	refute_stderr_contains "resuming"
	s3 cp "s3://flkit-ckpt/$PFX/checkpoint_round_6.npz" "$BATS_TEST_TMPDIR/back.npz" >/dev/null
	cmp "$BATS_TEST_TMPDIR/big2.npz" "$BATS_TEST_TMPDIR/back.npz"
}

@test "upload: a multipart upload is read back identical by the AWS CLI" {
	big "$BATS_TEST_TMPDIR/big.npz"
	save 2 "$BATS_TEST_TMPDIR/big.npz"
	ck upload --round 2 --url "s3://flkit-ckpt/$PFX" --endpoint "$EP" --part-size 5 --threshold 5
	assert_success
	s3 cp "s3://flkit-ckpt/$PFX/checkpoint_round_2.npz" "$BATS_TEST_TMPDIR/back.npz" >/dev/null
	cmp "$BATS_TEST_TMPDIR/big.npz" "$BATS_TEST_TMPDIR/back.npz"
}
