#!/usr/bin/env bash
# Installs the Debian 12 packages that building and testing pglifeguard
# need, if any is missing: one `apt-get update`, then one `apt-get install`.
# As root it installs; as a normal user it uses sudo when sudo works without
# a prompt it cannot answer, else prints the command to run and exits 1.
set -u

PACKAGES=(
	# build
	gcc make autoconf automake pkg-config
	libev-dev libinih-dev libpq-dev libssl-dev libsqlite3-dev libpg-query-dev libjson-c-dev check
	# integration tests, quickstart and benchmarks
	postgresql-15 postgresql-contrib postgresql-15-hypopg pgbouncer
	python3 python3-psycopg2 python3-psycopg python3-pytest python3-pytest-timeout
	# real drivers run through the pooler by tests/integration/test_drivers.py
	python3-asyncpg libpostgresql-jdbc-java openjdk-17-jdk-headless
	# promtool checks the /metrics output
	prometheus
)
# node-postgres: optional (its test is skipped without it). Debian's node-pg
# needs Debian's nodejs; where another nodejs is pinned it cannot install.
# chromium: optional (about 290 MB installed); test_report.py renders the
# HTML report with it and is skipped without it.
OPTIONAL=(node-pg chromium)

missing=()
for pkg in "${PACKAGES[@]}"; do
	dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' ||
		missing+=("$pkg")
done
missing_optional=()
for pkg in "${OPTIONAL[@]}"; do
	dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' ||
		missing_optional+=("$pkg")
done
if [ ${#missing[@]} -eq 0 ] && [ ${#missing_optional[@]} -eq 0 ]; then
	echo "deps.sh: all ${#PACKAGES[@]} packages are installed"
	exit 0
fi

echo "deps.sh: installing ${missing[*]} ${missing_optional[*]}"
if [ "$(id -u)" = 0 ]; then
	sudo=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
	sudo=(sudo -n)
elif command -v sudo >/dev/null 2>&1 && [ -t 0 ]; then
	sudo=(sudo)
else
	echo "deps.sh: not root and no usable sudo; run as root:"
	echo "  apt-get update && apt-get install -y ${missing[*]}"
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q || exit 1
if [ ${#missing[@]} -gt 0 ]; then
	"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" || exit 1
fi
# The tests run PgBouncer's binary on ports of their own; the service the
# package starts where an init system runs (port 6432) is not wanted.
case " ${missing[*]} " in
*" pgbouncer "*)
	if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet pgbouncer 2>/dev/null; then
		"${sudo[@]}" systemctl disable --now pgbouncer
	elif [ -x /etc/init.d/pgbouncer ]; then
		"${sudo[@]}" /etc/init.d/pgbouncer stop >/dev/null 2>&1 || true
	fi
	;;
esac
for pkg in "${missing_optional[@]}"; do
	"${sudo[@]}" apt-get install -y -q --no-install-recommends "$pkg" >/dev/null 2>&1 ||
		echo "deps.sh: optional $pkg cannot be installed here: its tests will be skipped"
done
echo "deps.sh: done"
