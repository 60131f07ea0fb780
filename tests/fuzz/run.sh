#!/bin/sh
# Build the fuzz targets with clang's libFuzzer, ASan and UBSan, and fuzz
# each for a while, starting from its seed corpus.
#
#   tests/fuzz/run.sh [SECONDS] [TARGET...]
#
# SECONDS per target defaults to 60; TARGET defaults to all of them
# (fuzz_startup fuzz_messages fuzz_scram fuzz_authfile fuzz_http fuzz_topstmt fuzz_paramsample). Work goes to $OUT
# (default: $TMPDIR/pglifeguard-fuzz): the binaries, the corpus each run
# grows (the checked-in seeds are only read), and crash artifacts. Exits 1
# if a target crashed; the artifact replays with
#   $OUT/bin/TARGET ARTIFACT
# libFuzzer's runtime comes with clang; on Debian/Ubuntu it is in
# libclang-rt-NN-dev when not installed with clang itself.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
secs=${1:-60}
[ $# -gt 0 ] && shift
targets=${*:-fuzz_startup fuzz_messages fuzz_scram fuzz_authfile fuzz_http fuzz_topstmt fuzz_paramsample}
out=${OUT:-${TMPDIR:-/tmp}/pglifeguard-fuzz}
cc=${CC_FUZZ:-clang}

case $secs in
*[!0-9]* | '') echo "usage: $0 [SECONDS] [TARGET...]" >&2; exit 2 ;;
esac
command -v "$cc" >/dev/null || { echo "$0: $cc not found" >&2; exit 2; }

deps=$(pkg-config --cflags --libs libpq libssl libcrypto inih)
san="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
cflags="-std=gnu11 -D_GNU_SOURCE -g -O1 $san -I$top/src"
# what configure passes on the command line (admin_show.c prints it)
version='-DPACKAGE_VERSION="fuzz"'
# $deps, $san and $cflags are word lists: split on purpose below.

mkdir -p "$out/obj" "$out/bin" "$out/artifacts"

# The library with coverage instrumentation, as an archive: each target
# links only the objects it uses, so a module that does not compile (work
# in progress) only matters to a target that needs it.
rm -f "$out/obj"/*.o "$out/libfuzz.a"
for src in "$top"/src/*.c; do
	name=$(basename "$src" .c)
	[ "$name" = main ] && continue
	# shellcheck disable=SC2046,SC2086
	if ! $cc $cflags "$version" -fsanitize=fuzzer-no-link $(pkg-config --cflags libpq libssl inih) \
		-c "$src" -o "$out/obj/$name.o" 2>"$out/obj/$name.err"; then
		echo "$0: warning: src/$name.c does not compile; skipped (see $out/obj/$name.err)" >&2
	else
		rm -f "$out/obj/$name.err"
	fi
done
ar rcs "$out/libfuzz.a" "$out/obj"/*.o

status=0
for t in $targets; do
	[ -f "$here/$t.c" ] || { echo "$0: no target $t" >&2; exit 2; }
	# shellcheck disable=SC2086
	$cc $cflags -fsanitize=fuzzer -o "$out/bin/$t" "$here/$t.c" "$out/libfuzz.a" $deps -lev -lpg_query -lsqlite3 -ljson-c -lpthread -lm
	mkdir -p "$out/corpus/$t"
	echo "== $t: fuzzing for $secs s"
	if ! "$out/bin/$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$out/artifacts/$t-" \
		"$out/corpus/$t" "$here/corpus/$t"; then
		echo "== $t: FAILED; artifacts:" >&2
		ls "$out/artifacts/$t-"* >&2 2>/dev/null || true
		status=1
	fi
done
exit $status
