#!/usr/bin/env bash
# pgbench through pglifeguard, through PgBouncer (same generated ini) and
# straight to PostgreSQL, interleaved (A B C, A B C, ...) over ROUNDS rounds
# so that drift on the machine hits all three alike; then the poolers' memory
# with 10,000 idle clients. Prints markdown tables.
#
#   bash contrib/bench/compare.sh
#
# Workload: select-only (pgbench -S) at 50 and 500 clients, -M simple,
# extended and prepared (not through PgBouncer 1.18, which cannot carry
# prepared statements in transaction pooling), transaction pooling with default_pool_size=20, as lg_md5 (md5
# everywhere: 500 direct SCRAM logins would take seconds of the run). Reported per
# target: median TPS, median average latency and, for the poolers, CPU
# seconds (utime+stime from /proc/PID/stat) per 1,000 transactions.
#
# Environment: ROUNDS (3), DURATION (seconds per run, 10), CLIENTS ("50 500"),
# MODES ("simple extended prepared"), IDLE_CLIENTS (10000), SCALE (pgbench scale, 10),
# PGLIFEGUARD (default ./build/pglifeguard; skipped with a note if missing),
# PGBOUNCER (/usr/sbin/pgbouncer).
set -u

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
CLIENTS=${CLIENTS:-50 500}
MODES=${MODES:-simple extended prepared}
IDLE_CLIENTS=${IDLE_CLIENTS:-10000}
POOL_SIZE=20
export PGLIFEGUARD=${PGLIFEGUARD:-$top/build/pglifeguard}
export PGBOUNCER=${PGBOUNCER:-/usr/sbin/pgbouncer}

note() { printf 'compare.sh: %s\n' "$*" >&2; }

# shellcheck source=tests/harness/pg.sh
. "$top/tests/harness/pg.sh"
# shellcheck source=tests/harness/pooler.sh
. "$top/tests/harness/pooler.sh"
export LG_OWNER_PID=$$

poolers=()
if [ -x "$PGLIFEGUARD" ]; then
	poolers+=(pglifeguard)
else
	note "no pglifeguard binary at $PGLIFEGUARD (build it: bash contrib/build.sh): skipping it"
fi
if [ -x "$PGBOUNCER" ]; then
	poolers+=(pgbouncer)
else
	note "no PgBouncer at $PGBOUNCER (apt-get install pgbouncer): skipping it"
fi
targets=("${poolers[@]}" direct)

lg_raise_nofile
need=$((IDLE_CLIENTS + 200))
if [ "$(ulimit -n)" -lt "$need" ]; then
	IDLE_CLIENTS=$(($(ulimit -n) - 200))
	note "open-file limit $(ulimit -n): the memory test opens $IDLE_CLIENTS clients"
fi

work=$(mktemp -d)
declare -A port pid dir
cleanup() {
	local p
	for p in "${poolers[@]}"; do
		[ -n "${dir[$p]:-}" ] && pooler_stop "${dir[$p]}"
	done
	pg_stop
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

note "starting PostgreSQL (pgbench scale ${SCALE:-10})"
LG_PG_SCALE=${SCALE:-10} LG_PG_MAX_CONNECTIONS=600 pg_start || exit 1
for p in "${poolers[@]}"; do
	POOLER=$p pooler_start pool_mode=transaction default_pool_size=$POOL_SIZE \
		max_client_conn=$((IDLE_CLIENTS + 100)) log_connections=0 log_disconnections=0 ||
		exit 1
	port[$p]=$LG_POOLER_PORT pid[$p]=$LG_POOLER_PID dir[$p]=$LG_POOLER_DIR
	note "$p: pid ${pid[$p]}, port ${port[$p]}"
done
port[direct]=$LG_PG_PORT

cpu_ticks() { # utime + stime of a pid, in clock ticks
	local stat fields
	read -r stat <"/proc/$1/stat" || { echo 0; return; }
	read -r -a fields <<<"${stat##*) }" # fields[0] is field 3, the state
	echo $((fields[11] + fields[12]))
}
hz=$(getconf CLK_TCK)

# pgbench_lg TARGET CLIENTS ARGS...: pgbench -S through TARGET.
pgbench_lg() {
	local target=$1 clients=$2
	shift 2
	PGPASSWORD=$LG_MD5_PASSWORD "$LG_PG_BINDIR/pgbench" -n -S -h 127.0.0.1 \
		-p "${port[$target]}" -U lg_md5 -c "$clients" -j 2 "$@" lgtest
}

# calibrate TARGET CLIENTS: seconds to add to -T for connecting (twice the
# measured time, plus one), in connect_s[TARGET-CLIENTS].
declare -A connect_s
calibrate() {
	local ms
	ms=$(pgbench_lg "$1" "$2" -t 1 2>&1 | sed -n 's/^initial connection time = \([0-9.]*\) ms/\1/p')
	connect_s[$1-$2]=$(awk -v ms="${ms:-}" -v c="$2" \
		'BEGIN { if (ms == "") print int(c / 10) + 1; else print int(ms * 2 / 1000) + 1 }')
}

# run TARGET CLIENTS MODE: one pgbench run; appends "tps latency cpu_per_1000"
# to $work/TARGET-CLIENTS-MODE.
run() {
	local target=$1 clients=$2 mode=$3 out before after tps lat tx cpu
	before=0
	[ "$target" != direct ] && before=$(cpu_ticks "${pid[$target]}")
	# pgbench's -T clock runs while the clients connect, which takes
	# seconds for 500 direct backends: each target and client count gets
	# the connection time calibrate() measured on top (pgbench's TPS leaves
	# it out). -P enables per-transaction latency statistics.
	out=$(pgbench_lg "$target" "$clients" -M "$mode" \
		-T $((DURATION + connect_s[$target-$clients])) -P 100000 2>&1)
	local rc=$?
	[ "$target" != direct ] && after=$(cpu_ticks "${pid[$target]}")
	tps=$(sed -n 's/^tps = \([0-9.]*\) (without.*/\1/p' <<<"$out")
	lat=$(sed -n 's/^latency average = \([0-9.]*\) ms/\1/p' <<<"$out")
	tx=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' <<<"$out")
	if [ "$rc" != 0 ] || [ -z "$tps" ] || [ -z "$tx" ] || [ "$tx" = 0 ]; then
		note "pgbench failed on $target ($clients clients, $mode):"
		tail -n 5 <<<"$out" >&2
		return
	fi
	cpu=-
	if [ "$target" != direct ]; then
		cpu=$(awk -v t=$((after - before)) -v hz="$hz" -v tx="$tx" \
			'BEGIN { printf "%.4f", t / hz / tx * 1000 }')
	fi
	echo "$tps $lat $cpu" >>"$work/$target-$clients-$mode"
}

median() { # median of column $2 of file $3, printed with format $1; "-" if none
	awk -v c="$2" '$c != "-" { print $c }' "$3" 2>/dev/null | sort -g |
		awk -v fmt="$1" '{ v[NR] = $1 } END { if (NR == 0) { print "-"; exit }
			m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
			printf fmt "\n", m }'
}

for clients in $CLIENTS; do
	for target in "${targets[@]}"; do
		calibrate "$target" "$clients"
		note "$target, $clients clients: ${connect_s[$target-$clients]} s added for connecting"
	done
done
for clients in $CLIENTS; do
	for mode in $MODES; do
		for round in $(seq 1 "$ROUNDS"); do
			for target in "${targets[@]}"; do
				# PgBouncer 1.18 passes named statements through unchanged:
				# in transaction pooling they land on the wrong servers
				[ "$mode" = prepared ] && [ "$target" = pgbouncer ] && continue
				note "round $round/$ROUNDS: $target, $clients clients, -M $mode"
				run "$target" "$clients" "$mode"
			done
		done
	done
done

# Memory: idle clients held open while VmRSS is read.
for p in "${poolers[@]}"; do
	note "$p: opening $IDLE_CLIENTS idle clients"
	"$LG_PYTHON" "$top/contrib/bench/idle_clients.py" --port "${port[$p]}" --pid "${pid[$p]}" \
		--user lg_md5 --password "$LG_MD5_PASSWORD" --dbname lgtest \
		--count "$IDLE_CLIENTS" >"$work/mem-$p" || note "$p: the idle-client test failed"
done

echo
echo "## pgbench -S, transaction pooling, default_pool_size=$POOL_SIZE"
echo "median of $ROUNDS runs of ${DURATION} s; $(nproc) cores; $(date -u +%Y-%m-%d)"
echo
echo "| clients | protocol | target | TPS | latency (ms) | CPU s / 1,000 tx |"
echo "|---:|---|---|---:|---:|---:|"
for clients in $CLIENTS; do
	for mode in $MODES; do
		for target in "${targets[@]}"; do
			f=$work/$target-$clients-$mode
			printf '| %s | %s | %s | %s | %s | %s |\n' "$clients" "$mode" "$target" \
				"$(median %.0f 1 "$f")" "$(median %.2f 2 "$f")" "$(median %.4f 3 "$f")"
		done
	done
done
echo
echo "## memory with $IDLE_CLIENTS idle clients (VmRSS)"
echo
echo "| pooler | clients connected | RSS before (MB) | RSS with clients (MB) | per client (KB) |"
echo "|---|---:|---:|---:|---:|"
for p in "${poolers[@]}"; do
	line=$(grep '^connected=' "$work/mem-$p" 2>/dev/null)
	if [ -z "$line" ]; then
		echo "| $p | failed | - | - | - |"
		continue
	fi
	eval "$(tr ' ' '\n' <<<"$line" | sed 's/^/local_/')"
	# shellcheck disable=SC2154
	awk -v p="$p" -v n="$local_connected" -v f="$local_failed" -v b="$local_rss_before_kb" \
		-v a="$local_rss_after_kb" 'BEGIN {
		printf "| %s | %d%s | %.1f | %.1f | %.2f |\n", p, n, (f > 0 ? " (" f " failed)" : ""),
			b / 1024, a / 1024, (n > 0 ? (a - b) / n : 0) }'
done
