#!/usr/bin/env bats
# The documentation stays in step with the code: generated pages are current, every page
# renders cleanly, the README opens with the two commands.

setup() {
	ROOT="$BATS_TEST_DIRNAME/.."
	BIN="${FLKIT_BIN:-$ROOT/build/bin}"
}

@test "docs: man/fl-context.5 is what the registry generates (run make man if not)" {
	run diff -u "$ROOT/man/fl-context.5" <("$BIN/fl-context" reference --format man)
	[ "$status" -eq 0 ] || { echo "$output"; false; }
}

@test "docs: every man page renders without groff warnings" {
	for page in "$ROOT"/man/*.[15]; do
		out=$(MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null)
		[ -z "$out" ] || { echo "$page: $out"; false; }
	done
}

@test "docs: fl-context(5) documents every registry variable with its default" {
	page=$(MANWIDTH=200 man -l "$ROOT/man/fl-context.5" 2>/dev/null)
	while read -r name _ _ def; do
		[ "$name" = NAME ] && continue
		grep -q "^ *$name\$" <<<"$page" || { echo "missing $name"; false; }
		[ "$def" = "(empty)" ] || grep -A1 "^ *$name\$" <<<"$page" | grep -qF "default $def" ||
			{ echo "$name: default $def not shown"; false; }
	done < <("$BIN/fl-context" reference)
}

@test "docs: fl-context(1) describes every verb of the usage text" {
	page=$(MANWIDTH=200 man -l "$ROOT/man/fl-context.1" 2>/dev/null)
	for verb in validate show get render run-config node-config user-inputs reference; do
		grep -q "^       $verb" <<<"$page" || { echo "verb $verb missing from COMMANDS"; false; }
		"$BIN/fl-context" --help | grep -q "fl-context .*$verb" || { echo "verb $verb missing from --help"; false; }
	done
}

@test "docs: the README opens with make demo and make check" {
	head -n 12 "$ROOT/README.md" | grep -q '^make demo'
	head -n 12 "$ROOT/README.md" | grep -q '^make check'
}

@test "docs: every tool has a section 1 man page" {
	for tool in "$BIN"/fl-*; do
		[ -f "$ROOT/man/$(basename "$tool").1" ] || { echo "no man page for $tool"; false; }
	done
}
