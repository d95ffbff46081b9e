#!/usr/bin/env bash
# certgen.sh: time `fl-certgen superlink --force` (one process, OpenSSL's EVP/X509 API)
# against the equivalent openssl CLI sequence (bench/reference-certgen.sh: the spec's 8 steps,
# six openssl processes) for RSA-4096 (the spec's choice) and ECDSA P-256 (flkit's default):
# both commands in ONE hyperfine run per key type, then the ratios.
#
# Environment: FLKIT_BIN (default build/bin, relative to the repo root), BENCH_RUNS_RSA
# (default 15: RSA-4096 key generation dominates and varies a lot), BENCH_RUNS (default 100,
# P-256), BENCH_OUT (where the hyperfine JSON goes; default the build directory's bench/).
set -u
cd "$(dirname "$0")/.." || exit 1

# shellcheck source=bench/lib.sh
. bench/lib.sh
bench_setup certgen.sh fl-certgen "hyperfine jq bc openssl" "hyperfine jq bc openssl"
runs_rsa=${BENCH_RUNS_RSA:-15}
runs_ec=${BENCH_RUNS:-100}
export LC_ALL=C
for v in $(compgen -e); do
	case $v in
	FL_* | FLOWER_* | ML_* | ONEAPP_* | FLKIT_*) unset "$v" ;;
	esac
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ip=192.0.2.10
owner="$(id -u):$(id -g)"

q() {
	printf '%q' "$1"
}

ms() {
	jq -r --arg n "$2" --arg f "$3" '.results[] | select(.command == $n) | .[$f] * 1000' "$1"
}

# Both sides must produce a set openssl accepts before anything is timed.
check() {
	local kt=$1
	if ! env FL_TLS_ENABLED=YES FLKIT_NET_ADDRS=$ip "$fl" -E -q --dir "$tmp/check-fl/certs" \
		--ca-key-dir "$tmp/check-fl/ca" --owner "$owner" -k "$kt" superlink >/dev/null ||
		! openssl verify -purpose sslserver -CAfile "$tmp/check-fl/certs/ca.crt" \
			"$tmp/check-fl/certs/server.pem" >/dev/null ||
		! bash bench/reference-certgen.sh "$kt" "$tmp/check-sh/certs" "$tmp/check-sh/ca" "$ip" "$owner"; then
		echo "certgen.sh: the $kt sets do not verify; not timing anything" >&2
		exit 1
	fi
}

echo "# $(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) CPU(s): $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
echo "# $(uname -sr); $(hyperfine --version); $(openssl version)"
echo "# hyperfine output and JSON: $out"

rows=()
for spec in "rsa:4096 $runs_rsa 1" "p256 $runs_ec 3"; do
	read -r kt runs warmup <<<"$spec"
	check "$kt"
	name=${kt/:/-}
	if ! hyperfine --shell=none --warmup "$warmup" --runs "$runs" --style basic \
		--export-json "$out/certgen-$name.json" \
		-n fl-certgen "env FL_TLS_ENABLED=YES FLKIT_NET_ADDRS=$ip $(q "$fl") -E -q --dir $(q "$tmp/fl/certs") --ca-key-dir $(q "$tmp/fl/ca") --owner $owner -k $kt --force superlink" \
		-n openssl-cli "bash bench/reference-certgen.sh $kt $(q "$tmp/sh/certs") $(q "$tmp/sh/ca") $ip $owner" \
		>"$out/certgen-$name.txt" 2>&1; then
		cat "$out/certgen-$name.txt" >&2
		exit 1
	fi
	c=$(ms "$out/certgen-$name.json" fl-certgen mean)
	cs=$(ms "$out/certgen-$name.json" fl-certgen stddev)
	o=$(ms "$out/certgen-$name.json" openssl-cli mean)
	os=$(ms "$out/certgen-$name.json" openssl-cli stddev)
	cm=$(ms "$out/certgen-$name.json" fl-certgen median)
	om=$(ms "$out/certgen-$name.json" openssl-cli median)
	ratio=$(echo "$o / $c" | bc -l)
	mratio=$(echo "$om / $cm" | bc -l)
	rows+=("$(printf '%-9s %4d %9.1f ± %-7.1f %9.1f %9.1f ± %-7.1f %9.1f %9.2fx %9.2fx' "$kt" "$runs" "$c" "$cs" "$cm" \
		"$o" "$os" "$om" "$ratio" "$mratio")")
done

echo
printf '%-9s %4s %21s %9s %21s %9s %10s %10s\n' "key type" runs "fl-certgen mean ms" median \
	"openssl CLI mean ms" median "mean ratio" "median"
printf '%s\n' "${rows[@]}"
echo "(ratio = openssl CLI time / fl-certgen time; above 1 means fl-certgen is faster)"
echo
echo "Both sides generate two keys, a CA and a server certificate, write PKCS#8 keys with owners"
echo "and modes and verify the chain. RSA-4096 time is mostly prime search, which varies run to"
echo "run; P-256 shows the cost of six openssl processes and temporary files against one process."
