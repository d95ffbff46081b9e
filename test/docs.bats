#!/usr/bin/env bats
# The documentation stays in step with the code: generated pages are current, every page
# renders cleanly, the README opens with the two commands.

setup() {
	ROOT="$BATS_TEST_DIRNAME/.."
	BIN="${FLKIT_BIN:-$ROOT/build/bin}"
}

# tools: the tools the sources define (cmd/fl-*.c), one a line; never empty.
tools() {
	local src n=0
	for src in "$ROOT"/cmd/fl-*.c; do
		[ -e "$src" ] || continue
		src=${src##*/}
		echo "${src%.c}"
		n=$((n + 1))
	done
	[ "$n" -gt 0 ] || { echo "no cmd/fl-*.c" >&2 && return 1; }
}

# usage_verbs TOOL: the verbs of the synopsis lines on stdin ("usage: TOOL [options] VERB ...",
# "       TOOL ..."), one a line: the lower-case words after the tool name up to the first
# argument or option ("vm show", "run-config"), for each alternative of "a | b | c".
usage_verbs() {
	awk -v t="$1" '
		{
			line = $0
			sub(/^usage: /, "", line)
			sub(/^ +/, "", line)
			if (index(line, t " ") != 1) next
			line = substr(line, length(t) + 2)
			sub(/^\[options\] /, "", line)
			n = split(line, alt, / \| /)
			for (i = 1; i <= n; i++) {
				m = split(alt[i], w, " ")
				v = ""
				for (j = 1; j <= m && w[j] ~ /^[a-z][a-z0-9-]*$/; j++)
					v = v (v == "" ? "" : " ") w[j]
				if (v != "") print v
			}
		}' | sort -u
}

# section_tags TITLE: the tag lines (indented 7 columns) of section TITLE of a rendered page on stdin.
section_tags() {
	awk -v s="$1" '/^[A-Z]/ { on = ($0 == s); next } on && /^       [^ ]/ { sub(/^       /, ""); print }'
}

@test "docs: man/fl-context.5 is what the registry generates (run make man if not)" {
	run diff -u "$ROOT/man/fl-context.5" <("$BIN/fl-context" reference --format man)
	[ "$status" -eq 0 ] || { echo "$output"; false; }
}

@test "docs: every man page renders without groff warnings" {
	for page in "$ROOT"/man/*.[157]; do
		out=$(MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null)
		[ -z "$out" ] || { echo "$page: $out"; false; }
	done
}

@test "docs: fl-context(5) documents every registry variable with its default" {
	page=$(MANWIDTH=200 man -l "$ROOT/man/fl-context.5" 2>/dev/null)
	ref=$("$BIN/fl-context" reference) || { echo "fl-context reference failed"; false; }
	# A header and at least one variable: an empty reference must not pass.
	[ "$(head -n 1 <<<"$ref" | awk '{print $1}')" = NAME ] || { echo "reference: no header: $ref"; false; }
	n=0
	while read -r name _ _ def; do
		[ "$name" = NAME ] && continue
		n=$((n + 1))
		grep -q "^ *$name\$" <<<"$page" || { echo "missing $name"; false; }
		[ "$def" = "(empty)" ] || grep -A1 "^ *$name\$" <<<"$page" | grep -qF "default $def" ||
			{ echo "$name: default $def not shown"; false; }
	done <<<"$ref"
	[ "$n" -gt 0 ] || { echo "fl-context reference lists no variable"; false; }
}

@test "docs: each tool's man page has the verbs of its --help, in SYNOPSIS and described" {
	for tool in $(tools); do
		help=$("$BIN/$tool" --help 2>&1) || { echo "$tool --help failed"; false; }
		verbs=$(usage_verbs "$tool" <<<"$help")
		[ -n "$verbs" ] || { echo "$tool --help: no verb found in: $help"; false; }
		page=$(MANWIDTH=200 man -l "$ROOT/man/$tool.1" 2>/dev/null)
		synopsis=$(awk '/^[A-Z]/ { on = ($0 == "SYNOPSIS"); next } on' <<<"$page" | usage_verbs "$tool")
		[ "$synopsis" = "$verbs" ] || {
			echo "$tool: the man page's SYNOPSIS and --help name different verbs"
			diff <(echo "$verbs") <(echo "$synopsis")
			false
		}
		tags=$(section_tags COMMANDS <<<"$page"; section_tags VERBS <<<"$page")
		while IFS= read -r verb; do
			# A tag names the verb alone, with its arguments, or among others ("a, b").
			awk -v v="$verb" '{ n = split($0, a, /, /); for (i = 1; i <= n; i++)
				if (a[i] == v || index(a[i], v " ") == 1) found = 1 } END { exit !found }' <<<"$tags" ||
				{ echo "$tool: verb '$verb' is not described under COMMANDS or VERBS"; false; }
		done <<<"$verbs"
	done
}

@test "docs: the README opens with make demo and make check" {
	head -n 12 "$ROOT/README.md" | grep -q '^make demo'
	head -n 12 "$ROOT/README.md" | grep -q '^make check'
}

@test "docs: every tool has a section 1 man page" {
	for tool in $(tools); do
		[ -x "$BIN/$tool" ] || { echo "$tool is not built in $BIN"; false; }
		[ -f "$ROOT/man/$tool.1" ] || { echo "no man page for $tool"; false; }
	done
}

# The common options as a man page source spells them.
COMMON_OPTS=('\-c' '\-E' '\-\-no\-env' '\-\-format' '\-q' '\-v' '\-h' '\-V')

@test "docs: every tool's man page points to flkit(7) and names the common options" {
	n=0
	for tool in $(tools); do
		n=$((n + 1))
		src="$ROOT/man/$tool.1"
		awk '/^\.SH/ { on = ($0 == ".SH SEE ALSO"); next } on' "$src" | grep -qx '\.BR flkit (7),\?' ||
			{ echo "$tool.1: no flkit(7) under SEE ALSO"; false; }
		grep -q 'flkit (7)' <(awk '/^\.SH/ { on = ($0 == ".SH OPTIONS"); next } on' "$src") ||
			{ echo "$tool.1: OPTIONS does not point to flkit(7)"; false; }
		for opt in "${COMMON_OPTS[@]}"; do
			grep -qF -- "$opt" "$src" || { echo "$tool.1: the common option $opt is not named"; false; }
		done
	done
	[ "$n" -gt 0 ]
}

@test "docs: flkit(7) documents the common options and the configuration rule once, for every tool" {
	src="$ROOT/man/flkit.7"
	grep -qx '\.SH CONFIGURATION' "$src"
	grep -qx '\.SH COMMON OPTIONS' "$src"
	for opt in "${COMMON_OPTS[@]}"; do
		grep -qF -- "$opt" "$src" || { echo "flkit.7: $opt is not documented"; false; }
	done
	for tool in $(tools); do
		grep -qx "\.BR $tool (1),\?" "$src" || { echo "flkit.7: $tool(1) is not under SEE ALSO"; false; }
	done
	# Told once: no tool page repeats the rule's list of places.
	for tool in $(tools); do
		! grep -q 'the first that applies' "$ROOT/man/$tool.1" || { echo "$tool.1 repeats the rule"; false; }
	done
}
