#!/usr/bin/env bash
# Builds pglifeguard with sanitizers in ./build and runs every test (unit
# tests and the integration suite against a throwaway PostgreSQL), then
# prints "N passed, N failed" over automake's results. CI runs this.
#
#   bash contrib/test.sh
set -u

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$top" || exit 1

say() { printf 'test.sh: %s\n' "$*"; }

bash contrib/deps.sh || exit 1
bash contrib/build.sh --enable-sanitizers || exit 1
cd build || exit 1

# LeakSanitizer stops the world with ptrace. Where a sandbox forbids that,
# every sanitized program would fail at exit: check once with a tiny
# program, as the user the daemon runs as in the tests.
lsan_works() {
	local dir out rc
	dir=$(mktemp -d) || return 0
	printf 'int main(void) { return 0; }\n' >"$dir/t.c"
	if ! ${CC:-cc} -fsanitize=address -o "$dir/t" "$dir/t.c" 2>/dev/null; then
		rm -rf "$dir"
		return 0
	fi
	chmod -R a+rX "$dir"
	if [ "$(id -u)" = 0 ] && id postgres >/dev/null 2>&1; then
		out=$(setpriv --reuid=postgres --regid=postgres --init-groups -- "$dir/t" 2>&1)
	else
		out=$("$dir/t" 2>&1)
	fi
	rc=$?
	rm -rf "$dir"
	[ "$rc" = 0 ] || ! printf '%s' "$out" | grep -q 'LeakSanitizer'
}
if ! lsan_works; then
	say "note: LeakSanitizer cannot run here (ptrace is not allowed); leak checks are off"
	export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0
fi
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}

make -j2 check
rc=$?

# Unit tests and corpus replays count one each; the integration suite
# counts its pytest tests, not as one automake test.
results() {
	find . -name '*.trs' ! -path './tests/integration/*' -exec cat {} + |
		sed -n 's/^:test-result: //p'
}
count() { results | grep -c "^$1\$"; }
passed=$(($(count PASS) + $(count XFAIL)))
failed=$(($(count FAIL) + $(count XPASS) + $(count ERROR)))
skipped=$(count SKIP)
pytest_count() {
	grep -hoE "[0-9]+ $1" tests/integration/run.sh.log 2>/dev/null | tail -n 1 | grep -oE '^[0-9]+' ||
		echo 0
}
if [ -f tests/integration/run.sh.log ]; then
	passed=$((passed + $(pytest_count passed) + $(pytest_count xfailed)))
	failed=$((failed + $(pytest_count failed) + $(pytest_count error)))
	skipped=$((skipped + $(pytest_count skipped)))
	grep -q '^:test-result: PASS' tests/integration/run.sh.trs 2>/dev/null ||
		[ "$(pytest_count failed)" != 0 ] || failed=$((failed + 1))
fi

if [ "$rc" != 0 ]; then
	while IFS= read -r trs; do
		if grep -qE '^:test-result: (FAIL|XPASS|ERROR)' "$trs"; then
			log=${trs%.trs}.log
			echo
			echo "======== ${log#./} ========"
			if [ "$(wc -l <"$log")" -gt 3000 ]; then
				echo "(first 200 and last 2500 lines)"
				head -n 200 "$log"; echo "[...]"; tail -n 2500 "$log"
			else
				cat "$log"
			fi
		fi
	done < <(find . -name '*.trs' | sort)
	# A failure before any test ran (a check program that does not build).
	[ "$failed" = 0 ] && failed=1
fi
integration=$(grep -h '^run.sh: .*(exit [0-9]*)$' tests/integration/run.sh.log 2>/dev/null | tail -n 1)
[ -n "$integration" ] && say "integration suite: ${integration#run.sh: }"
echo "$passed passed, $failed failed, $skipped skipped"
exit "$rc"
