#!/usr/bin/env bash
# context-validate.sh: time `fl-context validate` against the bash reference
# (bench/reference-validate.sh: source the context, [[ =~ ]], bc -l) on every fixture in
# bench/fixtures/, both commands in ONE hyperfine run per fixture, then time `fl-context
# render`, `run-config` and `--version` alone to show the start-up cost.
#
# Environment: FLKIT_BIN (default build/bin, relative to the repo root), BENCH_RUNS (default
# 100), BENCH_OUT (where the hyperfine JSON goes; default the build directory's bench/).
# bench/run checks the verdicts first; run directly, this script asks bench/run to check.
set -u
cd "$(dirname "$0")/.." || exit 1

# shellcheck source=bench/lib.sh
. bench/lib.sh
bench_setup context-validate.sh fl-context "" ""
runs=${BENCH_RUNS:-100}
warmup=5
export LC_ALL=C

for v in $(compgen -e); do
	case $v in
	FL_* | FLOWER_* | ML_* | ONEAPP_* | FLKIT_CONTEXT) unset "$v" ;;
	esac
done
if [ -z "${FLKIT_BENCH_CHECKED:-}" ]; then
	FLKIT_BIN=$FLKIT_BIN bench/run --check || exit 1
	echo
fi

# q WORD: quoted for hyperfine's --shell=none word splitting.
q() {
	printf '%q' "$1"
}

# ms JSON NAME FIELD: a hyperfine result field (seconds) in milliseconds.
ms() {
	jq -r --arg n "$2" --arg f "$3" '.results[] | select(.command == $n) | .[$f] * 1000' "$1"
}

role_of() {
	case ${1##*/} in
	superlink*) echo superlink ;;
	*) echo supernode ;;
	esac
}

hf() {
	hyperfine --shell=none --warmup "$warmup" --runs "$runs" --style basic "$@"
}

echo "# $(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) CPU(s): $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
echo "# $(uname -sr); $(hyperfine --version); $(bash --version | head -n 1); runs $runs, warmup $warmup"
echo "# hyperfine output and JSON: $out"

# shellcheck source=bench/fixtures.sh
. bench/fixtures.sh
mapfile -t fixtures < <(bench_fixtures "$out/fixtures") || exit 1
rows=()
for f in "${fixtures[@]}"; do
	name=${f##*/}
	base=${name%.context.sh}
	role=$(role_of "$f")
	ignore=()
	case $name in
	*invalid*) ignore=(--ignore-failure) ;; # exit status 1 is the expected verdict
	esac
	if ! hf "${ignore[@]}" --export-json "$out/validate-$base.json" \
		-n fl-context "$(q "$fl") --no-env -c $(q "$f") validate --role $role" \
		-n bash "bash bench/reference-validate.sh --role $role $(q "$f")" >"$out/validate-$base.txt" 2>&1; then
		cat "$out/validate-$base.txt" >&2
		exit 1
	fi
	c=$(ms "$out/validate-$base.json" fl-context mean)
	b=$(ms "$out/validate-$base.json" bash mean)
	ratio=$(echo "$b / $c" | bc -l)
	rows+=("$(printf '%-30s %10.1f %10.1f   %.1fx faster' "$name" "$c" "$b" "$ratio")")
done

echo
echo "validate: fl-context vs bash reference (mean of $runs runs, ms)"
printf '%-30s %10s %10s   %s\n' fixture fl-context bash "ratio (bash/fl-context)"
printf '%s\n' "${rows[@]}"

# Start-up cost: the other verbs alone, no comparison.
sl=bench/fixtures/superlink.context.sh
sn=bench/fixtures/supernode.context.sh
if ! hf --export-json "$out/startup.json" \
	-n "fl-context --version" "$(q "$fl") --version" \
	-n "fl-context run-config (superlink)" "$(q "$fl") --no-env -c $(q "$sl") run-config" \
	-n "fl-context render (superlink)" "$(q "$fl") --no-env -c $(q "$sl") render --role superlink -o $(q "$out/superlink.conf")" \
	-n "fl-context render (supernode)" "$(q "$fl") --no-env -c $(q "$sn") render --role supernode -o $(q "$out/supernode.conf")" \
	>"$out/startup.txt" 2>&1; then
	cat "$out/startup.txt" >&2
	exit 1
fi
echo
echo "start-up: fl-context alone (mean ± σ of $runs runs, ms)"
jq -r '.results[] | [.command, .mean * 1000, .stddev * 1000] | @tsv' "$out/startup.json" |
	while IFS=$'\t' read -r cmd mean sd; do
		printf '%-36s %7.1f ± %.1f\n' "$cmd" "$mean" "$sd"
	done
