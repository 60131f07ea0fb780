#!/usr/bin/env bash
# The integration suite as one automake TEST: starts a throwaway PostgreSQL
# (tests/harness/pg.sh), runs pytest on tests/integration against $POOLER
# (pglifeguard by default; POOLER=pgbouncer checks the tests themselves
# against PgBouncer), prints pytest's summary line and exits with pytest's
# status ("no tests ran" counts as a failure).
#
#   make check                                   # from any build dir
#   POOLER=pgbouncer tests/integration/run.sh    # from the source tree
#   tests/integration/run.sh -k auth -x          # extra arguments go to pytest
#
# Environment: abs_top_srcdir, abs_top_builddir and PGLIFEGUARD (set by
# automake), POOLER, LG_TEST_TIMEOUT (seconds per test, default 300) and
# LG_SUITE_TIMEOUT (seconds for the suite, default 2400).
set -u

srcdir=${abs_top_srcdir:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
builddir=${abs_top_builddir:-$srcdir/build}
export POOLER=${POOLER:-pglifeguard}
python=${LG_PYTHON:-/usr/bin/python3}

say() { printf 'run.sh: %s\n' "$*"; }

case "$POOLER" in
pglifeguard)
	export PGLIFEGUARD=${PGLIFEGUARD:-$builddir/pglifeguard}
	if [ ! -x "$PGLIFEGUARD" ]; then
		say "the pglifeguard binary is missing: $PGLIFEGUARD"
		say "build it first (make), or set PGLIFEGUARD=/path/to/pglifeguard"
		exit 1
	fi
	;;
pgbouncer)
	export PGBOUNCER=${PGBOUNCER:-/usr/sbin/pgbouncer}
	if [ ! -x "$PGBOUNCER" ]; then
		say "PgBouncer is missing: $PGBOUNCER (apt-get install pgbouncer)"
		exit 1
	fi
	;;
*)
	say "POOLER must be pglifeguard or pgbouncer, not '$POOLER'"
	exit 1
	;;
esac

missing=
"$python" -c 'import pytest' 2>/dev/null || missing="$missing python3-pytest"
"$python" -c 'import psycopg2' 2>/dev/null || missing="$missing python3-psycopg2"
"$python" -c 'import psycopg' 2>/dev/null || missing="$missing python3-psycopg"
[ -x /usr/lib/postgresql/15/bin/initdb ] || [ -n "${LG_PG_BINDIR:-}" ] || missing="$missing postgresql-15"
if [ -n "$missing" ]; then
	say "missing packages:$missing (contrib/deps.sh installs them)"
	exit 1
fi

# shellcheck source=tests/harness/pg.sh
. "$srcdir/tests/harness/pg.sh"
# Should this script be killed outright, the cluster stops all the same.
export LG_OWNER_PID=$$
trap 'pg_stop' EXIT
trap 'exit 130' INT TERM HUP
pg_start || { say "could not start PostgreSQL"; exit 1; }
say "PostgreSQL on port $LG_PG_PORT ($LG_PG_DIR), testing $POOLER"

opts=(-rs -q)
if "$python" -c 'import pytest_timeout' 2>/dev/null; then
	opts+=(--timeout="${LG_TEST_TIMEOUT:-300}")
fi
log=$(mktemp "${LG_TMPDIR:-/tmp}/lg-pytest.XXXXXX")
rc=0
# No __pycache__ in the source tree (VPATH builds, read-only sources).
PYTHONDONTWRITEBYTECODE=1 timeout -k 30 "${LG_SUITE_TIMEOUT:-2400}" \
	"$python" -m pytest "${opts[@]}" --rootdir="$srcdir/tests/integration" \
	"$srcdir/tests/integration" "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
summary=$(grep -E '^=* ?[0-9]+ (passed|failed|skipped|error|errors|deselected)|^=* ?no tests ran' "$log" | tail -n 1)
rm -f "$log"
case "$rc" in
0) ;;
5) say "pytest collected no tests: that is a failure"; rc=1 ;;
124 | 137) say "the suite took longer than ${LG_SUITE_TIMEOUT:-2400} s and was stopped" ;;
esac
say "$POOLER: ${summary:-no pytest summary line} (exit $rc)"
exit "$rc"
