# shellcheck shell=bash
# bench/fixtures.sh, sourced by bench/run and bench/context-validate.sh: the fixture set.
# bench_fixtures DIR: copy bench/fixtures/*.context.sh into DIR and derive, for each fixture
# carrying FL_SSL_* lines, a NAME-no-pem variant without them (what is left once the bash side
# starts no openssl process); print the paths, one per line, sorted.
bench_fixtures() {
	local dir=$1 f name
	mkdir -p "$dir" || return 1
	for f in bench/fixtures/*.context.sh; do
		name=${f##*/}
		cp "$f" "$dir/$name" || return 1
		if grep -q '^FL_SSL_' "$f"; then
			grep -v '^FL_SSL_' "$f" >"$dir/${name%.context.sh}-no-pem.context.sh" || return 1
		fi
	done
	printf '%s\n' "$dir"/*.context.sh | sort
}
