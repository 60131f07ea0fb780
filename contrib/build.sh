#!/usr/bin/env bash
# Builds pglifeguard out of tree in ./build: autoreconf -fi, configure with
# the given options (e.g. --enable-sanitizers), make -j2. Used by test.sh
# and quickstart.sh, which share ./build: when the sanitizer choice changes,
# the old objects are cleaned first (sanitized and plain objects do not
# link together).
set -u

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$top" || exit 1

say() { printf 'build.sh: %s\n' "$*"; }

autoreconf -fi || { say "autoreconf failed"; exit 1; }
mkdir -p build && cd build || exit 1
case " $* " in *" --enable-sanitizers "*) want=yes ;; *) want=no ;; esac
if [ -f config.status ] && [ -f Makefile ]; then
	case "$(./config.status --config 2>/dev/null)" in
	*--enable-sanitizers*) have=yes ;;
	*) have=no ;;
	esac
	if [ "$have" != "$want" ]; then
		say "sanitizers were '$have', now '$want': cleaning the old objects"
		make clean >/dev/null 2>&1 || true
	fi
fi
if ! ../configure "$@"; then
	say "configure failed; the end of config.log:"
	tail -n 40 config.log
	exit 1
fi
make -j2 || { say "the build failed"; exit 1; }
