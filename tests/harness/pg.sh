#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster for the integration tests, the quickstart
# and the benchmarks: its own temp dir, a free port on 127.0.0.1, a private
# unix socket dir, the test roles and the pgbench database `lgtest`.
#
# Executed:
#   pg.sh start [DIR]     create and start a cluster (in DIR or a new temp dir)
#                         and print `export LG_PG_...=...` lines for eval
#   pg.sh stop DIR        stop it and remove DIR
#   pg.sh restart DIR     fast restart on the same port
#   pg.sh env DIR         print the export lines again
#   pg.sh run CMD [ARG]   start, run CMD with the LG_* variables exported,
#                         stop and remove; exits with CMD's status
# Sourced: pg_start [DIR], pg_stop [DIR], pg_restart [DIR] set and use the
# LG_* variables in the calling shell; the caller traps pg_stop on EXIT.
#
# Variables it exports: LG_PG_DIR, LG_PG_PORT, LG_PG_HOST (socket dir),
# LG_PG_USER (superuser, trust on the socket only), LG_PG_DB, LG_PG_BINDIR and
# the test roles' passwords LG_PLAIN_PASSWORD, LG_MD5_PASSWORD,
# LG_SCRAM_PASSWORD. Roles: lg_plain and lg_scram (SCRAM-stored), lg_md5
# (md5-stored); all may read and write every table and see pg_stat_activity.
#
# Settings from the environment: LG_PG_BINDIR (default
# /usr/lib/postgresql/15/bin), LG_PG_MAX_CONNECTIONS (default 600: direct
# benchmarks open 500 at once), LG_PG_SCALE (pgbench scale, default 1),
# LG_TMPDIR (default /tmp; as root it must be traversable by postgres),
# LG_OWNER_PID (stop the cluster if that process dies without doing so).

_lg_pg_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/harness/common.sh
. "$_lg_pg_here/common.sh"

LG_PG_BINDIR=${LG_PG_BINDIR:-/usr/lib/postgresql/15/bin}

_pg_as() { (cd "$_pg_dir" && lg_as_service "$@"); }

_pg_log() { printf 'pg.sh: %s\n' "$*" >&2; }

_pg_env_lines() {
	lg_export LG_PG_DIR "$_pg_dir"
	lg_export LG_PG_PORT "$_pg_port"
	lg_export LG_PG_HOST "$_pg_dir/sock"
	lg_export LG_PG_USER postgres
	lg_export LG_PG_DB lgtest
	lg_export LG_PG_BINDIR "$LG_PG_BINDIR"
	lg_export LG_PLAIN_PASSWORD lg-plain-pw
	lg_export LG_MD5_PASSWORD lg-md5-pw
	lg_export LG_SCRAM_PASSWORD lg-scram-pw
}

_pg_write_config() {
	cat >"$_pg_dir/data/postgresql.conf" <<EOF
# written by tests/harness/pg.sh
listen_addresses = '127.0.0.1'
port = $_pg_port
unix_socket_directories = '$_pg_dir/sock'
max_connections = ${LG_PG_MAX_CONNECTIONS:-600}
shared_buffers = 128MB
shared_preload_libraries = 'pg_stat_statements'
password_encryption = 'scram-sha-256'
fsync = off
synchronous_commit = off
full_page_writes = off
max_wal_size = 1GB
log_line_prefix = '%m [%p] %q%u@%d '
log_min_messages = warning
datestyle = 'iso, mdy'
timezone = 'UTC'
lc_messages = 'C'
EOF
	cat >"$_pg_dir/data/pg_hba.conf" <<EOF
# written by tests/harness/pg.sh
local all postgres trust
local all all md5
host all lg_md5 127.0.0.1/32 md5
host all all 127.0.0.1/32 scram-sha-256
EOF
}

_pg_setup_sql() {
	cat <<'EOF'
\set ON_ERROR_STOP 1
CREATE ROLE lg_plain LOGIN PASSWORD 'lg-plain-pw';
CREATE ROLE lg_scram LOGIN PASSWORD 'lg-scram-pw';
SET password_encryption = 'md5';
CREATE ROLE lg_md5 LOGIN PASSWORD 'lg-md5-pw';
RESET password_encryption;
GRANT pg_read_all_data, pg_write_all_data, pg_read_all_stats TO lg_plain, lg_scram, lg_md5;
CREATE DATABASE lgtest;
\c lgtest
CREATE EXTENSION pg_stat_statements;
GRANT ALL ON SCHEMA public TO lg_plain, lg_scram, lg_md5;
EOF
}

# pg_start [DIR]: create and start a cluster; sets LG_* in this shell.
pg_start() {
	_pg_dir=${1:-}
	if [ -z "$_pg_dir" ]; then
		_pg_dir=$(mktemp -d "${LG_TMPDIR:-/tmp}/lg-pg.XXXXXX") || return 1
	fi
	mkdir -p "$_pg_dir/sock" && touch "$_pg_dir/.lg-pg" || return 1
	lg_give_dir "$_pg_dir" || return 1
	if ! _pg_as "$LG_PG_BINDIR/initdb" -D "$_pg_dir/data" -U postgres -A trust \
		-E UTF8 --locale=C --no-sync >"$_pg_dir/initdb.log" 2>&1; then
		_pg_log "initdb failed:"; cat "$_pg_dir/initdb.log" >&2
		pg_stop "$_pg_dir"; return 1
	fi
	local try started=0
	for try in 1 2 3 4 5; do
		_pg_port=$(lg_free_port) || break
		_pg_write_config
		lg_give_dir "$_pg_dir"
		if _pg_as "$LG_PG_BINDIR/pg_ctl" -D "$_pg_dir/data" -l "$_pg_dir/postgres.log" \
			-w -t 60 start >/dev/null 2>&1; then
			started=1; break
		fi
		grep -q 'could not \(bind\|create listen\)' "$_pg_dir/postgres.log" 2>/dev/null || break
		_pg_log "port $_pg_port was taken, trying another (attempt $try)"
	done
	if [ "$started" != 1 ]; then
		_pg_log "PostgreSQL did not start:"; tail -n 30 "$_pg_dir/postgres.log" >&2
		pg_stop "$_pg_dir"; return 1
	fi
	local psql=("$LG_PG_BINDIR/psql" -X -q -h "$_pg_dir/sock" -p "$_pg_port" -U postgres)
	if ! _pg_setup_sql | "${psql[@]}" -d postgres >"$_pg_dir/setup.log" 2>&1 ||
		! "$LG_PG_BINDIR/pgbench" -h "$_pg_dir/sock" -p "$_pg_port" -U postgres -i -q \
			-s "${LG_PG_SCALE:-1}" lgtest >>"$_pg_dir/setup.log" 2>&1; then
		_pg_log "setting up the test database failed:"; cat "$_pg_dir/setup.log" >&2
		pg_stop "$_pg_dir"; return 1
	fi
	_pg_env_lines >"$_pg_dir/env.sh"
	eval "$(_pg_env_lines)"
	lg_watchdog "$_pg_dir" bash "$_lg_pg_here/pg.sh" stop "$_pg_dir"
}

# pg_stop [DIR]: stop the cluster in DIR (default $LG_PG_DIR) and remove DIR.
# Only removes directories pg_start made (they hold a .lg-pg marker).
pg_stop() {
	_pg_dir=${1:-${LG_PG_DIR:-}}
	[ -n "$_pg_dir" ] && [ -f "$_pg_dir/.lg-pg" ] || return 0
	local pidfile=$_pg_dir/data/postmaster.pid pid
	if [ -f "$pidfile" ]; then
		pid=$(head -n 1 "$pidfile")
		_pg_as "$LG_PG_BINDIR/pg_ctl" -D "$_pg_dir/data" -m immediate -w -t 30 stop \
			>/dev/null 2>&1
		if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
			kill -KILL "$pid" 2>/dev/null
			sleep 0.5
		fi
	fi
	rm -rf "$_pg_dir"
}

# pg_restart [DIR]: fast restart (terminates sessions) on the same port.
pg_restart() {
	_pg_dir=${1:-${LG_PG_DIR:-}}
	_pg_as "$LG_PG_BINDIR/pg_ctl" -D "$_pg_dir/data" -l "$_pg_dir/postgres.log" \
		-m fast -w -t 60 restart >/dev/null
}

_pg_main() {
	local cmd=${1:-}
	shift || true
	case "$cmd" in
	start)
		trap 'pg_stop "$_pg_dir"; exit 1' INT TERM
		pg_start "${1:-}" || exit 1
		_pg_env_lines
		;;
	stop) pg_stop "${1:?pg.sh stop DIR}" ;;
	restart) pg_restart "${1:?pg.sh restart DIR}" ;;
	env) cat "${1:?pg.sh env DIR}/env.sh" ;;
	run)
		[ $# -gt 0 ] || { echo "usage: pg.sh run CMD [ARG...]" >&2; exit 2; }
		trap 'pg_stop "$_pg_dir"' EXIT
		trap 'exit 130' INT TERM
		pg_start || exit 1
		local rc=0
		"$@" || rc=$?
		exit "$rc"
		;;
	*)
		echo "usage: pg.sh start [DIR] | stop DIR | restart DIR | env DIR | run CMD..." >&2
		exit 2
		;;
	esac
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	_pg_main "$@"
fi
