#!/usr/bin/env bash
# See pglifeguard work in one command: builds it (./build, no sanitizers),
# puts it in front of a PostgreSQL in transaction pooling, runs a short
# pgbench load through it (20 clients on a pool of 5 for 10 s, prepared
# statements), then shows what it saw: the admin console and
# pglifeguard-cli's top, tables, suggest and pools, and writes the HTML
# report to build/pglifeguard-report.html. Everything it starts is stopped
# and removed at the end.
#
#   bash contrib/quickstart.sh
#
# By default the PostgreSQL is a throwaway local cluster
# (tests/harness/pg.sh). To use one of yours instead, name it with a libpq
# key=value connection string that has a password, or with the usual
# PGHOST, PGPORT, PGDATABASE, PGUSER and PGPASSWORD:
#
#   PGLIFEGUARD_DSN='host=db1 port=5432 dbname=app user=app password=secret' \
#       bash contrib/quickstart.sh
#   PGHOST=db1 PGUSER=app PGPASSWORD=secret PGDATABASE=app bash contrib/quickstart.sh
#
# With a DSN nothing is written to that database: the load is a
# table-free SELECT.
set -u

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$top" || exit 1

say() { printf '\n== %s\n' "$*"; }

bash contrib/deps.sh || exit 1
bash contrib/build.sh || exit 1
export PGLIFEGUARD=$top/build/pglifeguard POOLER=pglifeguard
if [ ! -x "$PGLIFEGUARD" ]; then
	echo "quickstart.sh: the build did not produce $PGLIFEGUARD"
	exit 1
fi

# shellcheck source=tests/harness/pg.sh
. "$top/tests/harness/pg.sh"
# shellcheck source=tests/harness/pooler.sh
. "$top/tests/harness/pooler.sh"
export LG_OWNER_PID=$$
work=$(mktemp -d)
# the store directory must be writable by the pooler (as root it runs as postgres)
mkdir "$work/store" && chmod 1777 "$work/store" && chmod 711 "$work" || exit 1
store=$work/store/pglifeguard.db
cleanup() {
	pooler_stop >/dev/null 2>&1
	[ -n "${PGLIFEGUARD_DSN:-}" ] || pg_stop
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

if [ -z "${PGLIFEGUARD_DSN:-}" ] && [ -n "${PGHOST:-}" ]; then
	PGLIFEGUARD_DSN="host=$PGHOST port=${PGPORT:-5432} dbname=${PGDATABASE:-${PGUSER:-}}"
	PGLIFEGUARD_DSN+=" user=${PGUSER:-} password=${PGPASSWORD:-}"
fi

# dsn_get KEY: the value of KEY in $PGLIFEGUARD_DSN (key=value form).
dsn_get() {
	local item
	for item in $PGLIFEGUARD_DSN; do
		case "$item" in "$1"=*) printf '%s\n' "${item#*=}"; return ;; esac
	done
}

if [ -n "${PGLIFEGUARD_DSN:-}" ]; then
	host=$(dsn_get host) port=$(dsn_get port) db=$(dsn_get dbname)
	user=$(dsn_get user) password=$(dsn_get password)
	host=${host:-127.0.0.1} port=${port:-5432} db=${db:-$user}
	if [ -z "$user" ] || [ -z "$password" ]; then
		echo "quickstart.sh: the PostgreSQL to use needs a user and a password"
		echo "  (user= and password= in PGLIFEGUARD_DSN, or PGUSER and PGPASSWORD)"
		exit 1
	fi
	say "PostgreSQL: $host:$port/$db as $user"
	printf '"%s" "%s"\n"lg_admin" "lg-admin-pw"\n' "$user" "$password" >"$work/userlist.txt"
	export LG_POOLER_USERLIST=$work/userlist.txt
	pooler_start "db:$db=host=$host port=$port dbname=$db" pool_mode=transaction \
		default_pool_size=5 store_path="$store" sample_interval=2 monitor_user="$user" || exit 1
	printf '\\set n random(1, 100000)\nSELECT :n;\n' >"$work/select.sql"
	load=(-f "$work/select.sql")
	advise=$PGLIFEGUARD_DSN
else
	say "starting a throwaway PostgreSQL 15"
	pg_start || exit 1
	echo "port $LG_PG_PORT, data in $LG_PG_DIR"
	db=lgtest user=lg_plain password=$LG_PLAIN_PASSWORD
	pooler_start pool_mode=transaction default_pool_size=5 store_path="$store" sample_interval=2 \
		monitor_user="$user" || exit 1
	load=(-S)
	advise="host=$LG_PG_HOST port=$LG_PG_PORT user=$LG_PG_USER dbname=$db"
fi
echo "pglifeguard listens on 127.0.0.1:$LG_POOLER_PORT (config $LG_POOLER_INI)"

say "pgbench: 20 clients, pool of 5, 10 seconds, prepared statements"
PGPASSWORD=$password "$LG_PG_BINDIR/pgbench" -n -h 127.0.0.1 -p "$LG_POOLER_PORT" -U "$user" \
	-c 20 -j 2 -T 10 -P 2 -M prepared "${load[@]}" "$db" 2>&1 | grep -vE '^(pgbench \(|starting vacuum)'

say "what pglifeguard saw"
admin=("$LG_PG_BINDIR/psql" -X -h 127.0.0.1 -p "$LG_POOLER_PORT" -U lg_admin pgbouncer)
if PGPASSWORD=$LG_ADMIN_PASSWORD PGCONNECT_TIMEOUT=5 "${admin[@]}" -c 'SHOW POOLS' -c 'SHOW STATS'; then
	:
else
	echo "(the admin console did not answer: psql -p $LG_POOLER_PORT -U lg_admin pgbouncer)"
fi
cli=$top/build/pglifeguard-cli
if [ -x "$cli" ]; then
	export PGLIFEGUARD_CONFIG=$LG_POOLER_INI
	sleep 3 # one more sample_interval: the last deltas reach the store
	say "pglifeguard-cli top (pg_stat_statements, sampled every 2 s)"
	"$cli" -s "$store" top --since 1h --limit 10
	say "pglifeguard-cli tables (table and index statistics)"
	"$cli" -s "$store" tables --since 1h --limit 5
	say "pglifeguard-cli suggest (indexes checked with hypopg, query suggestions)"
	"$cli" -s "$store" suggest --since 1h -d "$advise" ||
		echo "(suggest needs hypopg and a role that may create it in $db)"
	say "pglifeguard-cli report"
	"$cli" -s "$store" report --since 1h -d "$advise" -o "$top/build/pglifeguard-report.html" &&
		echo "written: build/pglifeguard-report.html (one file, open it in a browser)"
	say "pglifeguard-cli pools (live, from the admin console)"
	PGPASSWORD=$LG_ADMIN_PASSWORD "$cli" pools -h 127.0.0.1 -p "$LG_POOLER_PORT" -U lg_admin ||
		echo "(the admin console did not answer)"
else
	echo "(pglifeguard-cli is not built: no store view)"
fi

say "stopping and cleaning up"
