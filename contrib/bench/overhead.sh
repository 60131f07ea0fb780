#!/usr/bin/env bash
# The cost of observability: the same pgbench load through two pglifeguard
# processes, one with every configurable monitoring feature on and one with
# them off, interleaved (on off, on off, ...) over ROUNDS rounds so that
# drift on the machine hits both alike. Reports each one's pooler CPU per
# transaction (utime+stime from /proc/PID/stat over the run, divided by the
# transactions pgbench completed) and the ratio on/off. Prints markdown.
#
#   PGLIFEGUARD=build/pglifeguard bash contrib/bench/overhead.sh
#
# on:  leak_threshold = 60 (the default: checkouts are watched for leaks),
#      metrics_listen on a free port and scraped every SCRAPE seconds during
#      the runs, every alert rule at its default, alert_command = /bin/true
#      (so that firing alerts run it).
# off: leak_threshold = 0, metrics_listen empty, every alert rule 0, no
#      alert_command.
# Not switchable, so in both: the checkout bookkeeping and the latency
# histograms (SHOW CHECKOUTS, SHOW LATENCY and SHOW STATS read them), the
# session-state keyword scan of transaction mode and the per-pool table of
# statements by server time (topstmt.c) that saturation alerts read, and
# what poolobs.c records for query suggestions. The ratio is therefore the
# cost of the configurable parts; README gives the cost of the rest, counted
# with callgrind.
#
# Workload: pgbench -S, transaction pooling, default_pool_size=20, as
# lg_md5, CLIENTS clients, -M MODES.
# Environment: ROUNDS (3), DURATION (seconds per run, 8), CLIENTS (50),
# MODES ("simple extended"), SCRAPE (5), SCALE (pgbench scale, 10),
# PGLIFEGUARD (default ./build/pglifeguard).
#
# CALLGRIND=1 measures instructions instead of CPU time, which other load on
# the machine does not disturb: both poolers run under valgrind's callgrind,
# TX (20000) transactions of -M simple go through each, and the user-space
# instructions per transaction (the whole process lifetime, startup included,
# divided by TX) are compared. Valgrind slows the pooler down about 50 times,
# so the periodic work (janitor, alert rules, scrapes) weighs far more per
# transaction than at full speed: that ratio is an upper bound.
# CALLGRIND_OUT=DIR keeps both profiles there.
set -u

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-8}
CLIENTS=${CLIENTS:-50}
MODES=${MODES:-simple extended}
SCRAPE=${SCRAPE:-5}
POOL_SIZE=20
export PGLIFEGUARD=${PGLIFEGUARD:-$top/build/pglifeguard}
export POOLER=pglifeguard

note() { printf 'overhead.sh: %s\n' "$*" >&2; }

if [ ! -x "$PGLIFEGUARD" ]; then
	note "no pglifeguard binary at $PGLIFEGUARD (build it: bash contrib/build.sh)"
	exit 1
fi

# shellcheck source=tests/harness/pg.sh
. "$top/tests/harness/pg.sh"
# shellcheck source=tests/harness/pooler.sh
. "$top/tests/harness/pooler.sh"
export LG_OWNER_PID=$$

work=$(mktemp -d)
chmod 755 "$work"
targets=(on off)
if [ "${CALLGRIND:-0}" = 1 ]; then
	command -v valgrind >/dev/null || { note "CALLGRIND=1 needs valgrind"; exit 1; }
	mkdir -m 777 "$work/cg"
	real=$PGLIFEGUARD
	for t in "${targets[@]}"; do
		printf '#!/bin/sh\nexec valgrind -q --tool=callgrind --callgrind-out-file=%s "%s" "$@"\n' \
			"$work/cg/$t.out" "$real" >"$work/pglifeguard-$t"
		chmod 755 "$work/pglifeguard-$t"
	done
fi
declare -A port pid dir
scraper=
cleanup() {
	local t
	[ -n "$scraper" ] && kill "$scraper" 2>/dev/null
	for t in "${targets[@]}"; do
		[ -n "${dir[$t]:-}" ] && pooler_stop "${dir[$t]}"
	done
	pg_stop
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

free_port() {
	"$LG_PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

note "starting PostgreSQL (pgbench scale ${SCALE:-10})"
LG_PG_SCALE=${SCALE:-10} LG_PG_MAX_CONNECTIONS=200 pg_start || exit 1
common=(pool_mode=transaction default_pool_size=$POOL_SIZE max_client_conn=1000
	log_connections=0 log_disconnections=0)
metrics_port=$(free_port)
[ "${CALLGRIND:-0}" = 1 ] && PGLIFEGUARD=$work/pglifeguard-on
pooler_start "${common[@]}" leak_threshold=60 metrics_listen=127.0.0.1:$metrics_port \
	alert_command=/bin/true || exit 1
port[on]=$LG_POOLER_PORT pid[on]=$LG_POOLER_PID dir[on]=$LG_POOLER_DIR
[ "${CALLGRIND:-0}" = 1 ] && PGLIFEGUARD=$work/pglifeguard-off
pooler_start "${common[@]}" leak_threshold=0 metrics_listen= alert_wait_seconds=0 \
	alert_max_wait_ms=0 alert_pool_utilization=0 alert_client_conn_percent=0 alert_leaks=0 \
	alert_command= || exit 1
port[off]=$LG_POOLER_PORT pid[off]=$LG_POOLER_PID dir[off]=$LG_POOLER_DIR
note "on: pid ${pid[on]}, port ${port[on]}, metrics on $metrics_port; off: pid ${pid[off]}, port ${port[off]}"

# Prometheus' part: a scrape every SCRAPE seconds for the whole benchmark.
(
	while :; do
		"$LG_PYTHON" -c 'import sys, urllib.request
urllib.request.urlopen("http://127.0.0.1:%s/metrics" % sys.argv[1], timeout=5).read()' \
			"$metrics_port" >/dev/null 2>&1
		sleep "$SCRAPE"
	done
) &
scraper=$!

cpu_ticks() { # utime + stime of a pid, in clock ticks
	local stat fields
	read -r stat <"/proc/$1/stat" || { echo 0; return; }
	read -r -a fields <<<"${stat##*) }" # fields[0] is field 3, the state
	echo $((fields[11] + fields[12]))
}
hz=$(getconf CLK_TCK)

# run TARGET MODE: one pgbench run; appends "tps cpu_us_per_tx" to
# $work/TARGET-MODE.
run() {
	local target=$1 mode=$2 out before after tps tx cpu
	before=$(cpu_ticks "${pid[$target]}")
	out=$(PGPASSWORD=$LG_MD5_PASSWORD "$LG_PG_BINDIR/pgbench" -n -S -h 127.0.0.1 \
		-p "${port[$target]}" -U lg_md5 -c "$CLIENTS" -j 2 -M "$mode" -T "$DURATION" \
		lgtest 2>&1)
	local rc=$?
	after=$(cpu_ticks "${pid[$target]}")
	tps=$(sed -n 's/^tps = \([0-9.]*\) (without.*/\1/p' <<<"$out")
	tx=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' <<<"$out")
	if [ "$rc" != 0 ] || [ -z "$tps" ] || [ -z "$tx" ] || [ "$tx" = 0 ]; then
		note "pgbench failed on $target (-M $mode):"
		tail -n 5 <<<"$out" >&2
		return
	fi
	cpu=$(awk -v t=$((after - before)) -v hz="$hz" -v tx="$tx" \
		'BEGIN { printf "%.3f", t / hz / tx * 1e6 }')
	echo "$tps $cpu" >>"$work/$target-$mode"
}

median() { # median of column $1 of file $2 ("-" if none)
	awk -v c="$1" '{ print $c }' "$2" 2>/dev/null | sort -g |
		awk '{ v[NR] = $1 } END { if (NR == 0) { print "-"; exit }
			print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

if [ "${CALLGRIND:-0}" = 1 ]; then
	TX=${TX:-20000}
	per_client=$(((TX + CLIENTS - 1) / CLIENTS))
	declare -A done_tx
	for target in "${targets[@]}"; do
		note "callgrind: $((per_client * CLIENTS)) transactions through observability $target"
		out=$(PGPASSWORD=$LG_MD5_PASSWORD "$LG_PG_BINDIR/pgbench" -n -S -h 127.0.0.1 \
			-p "${port[$target]}" -U lg_md5 -c "$CLIENTS" -j 2 -M simple -t "$per_client" \
			lgtest 2>&1)
		done_tx[$target]=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' <<<"$out")
		[ -n "${done_tx[$target]}" ] || { note "pgbench failed: $(tail -n 3 <<<"$out")"; exit 1; }
	done
	kill "$scraper" 2>/dev/null
	scraper=
	for target in "${targets[@]}"; do
		pooler_stop "${dir[$target]}"
		dir[$target]=
	done
	echo
	echo "## observability on vs off: user-space instructions (callgrind), pgbench -S, $CLIENTS clients"
	echo
	echo "| observability | transactions | instructions | per transaction |"
	echo "|---|---:|---:|---:|"
	declare -A per_tx
	for target in "${targets[@]}"; do
		ir=$(callgrind_annotate "$work/cg/$target.out" 2>/dev/null |
			sed -n 's/^ *\([0-9,]*\) .*PROGRAM TOTALS.*/\1/p' | tr -d ,)
		per_tx[$target]=$(awk -v i="${ir:-0}" -v t="${done_tx[$target]}" 'BEGIN { printf "%.0f", i / t }')
		printf '| %s | %s | %s | %s |\n' "$target" "${done_tx[$target]}" "${ir:--}" "${per_tx[$target]}"
	done
	# CALLGRIND_OUT=DIR keeps the profiles (callgrind_annotate DIR/on.out)
	[ -n "${CALLGRIND_OUT:-}" ] && cp "$work/cg/on.out" "$work/cg/off.out" "$CALLGRIND_OUT/"
	awk -v a="${per_tx[on]}" -v b="${per_tx[off]}" \
		'BEGIN { if (b > 0) printf "\nratio on/off: %.3f (%+d instructions per transaction)\n", a / b, a - b }'
	exit 0
fi

for mode in $MODES; do
	for round in $(seq 1 "$ROUNDS"); do
		# alternate which goes first, so neither always follows the other
		order=("${targets[@]}")
		[ $((round % 2)) = 0 ] && order=(off on)
		for target in "${order[@]}"; do
			note "round $round/$ROUNDS: observability $target, -M $mode"
			run "$target" "$mode"
		done
	done
done

echo
echo "## observability on vs off: pgbench -S, $CLIENTS clients, transaction pooling"
echo "median of $ROUNDS interleaved runs of ${DURATION} s; $(nproc) cores; $(date -u +%Y-%m-%d)"
echo
echo "| protocol | observability | TPS | pooler CPU µs / tx | CPU ratio on/off (medians) | CPU ratio on/off (median of rounds) |"
echo "|---|---|---:|---:|---:|---:|"
for mode in $MODES; do
	on_cpu=$(median 2 "$work/on-$mode")
	off_cpu=$(median 2 "$work/off-$mode")
	ratio=$(awk -v a="$on_cpu" -v b="$off_cpu" \
		'BEGIN { if (a == "-" || b == "-" || b == 0) print "-"; else printf "%.3f", a / b }')
	# each round's on/off pair shares the machine's state of that moment
	paste -d ' ' "$work/on-$mode" "$work/off-$mode" 2>/dev/null |
		awk 'NF == 4 && $4 > 0 { print $2 / $4 }' >"$work/ratio-$mode"
	pratio=$(median 1 "$work/ratio-$mode")
	for target in "${targets[@]}"; do
		tps=$(median 1 "$work/$target-$mode")
		cpu=$(median 2 "$work/$target-$mode")
		r= p=
		[ "$target" = on ] && r=$ratio && p=$(awk -v v="$pratio" 'BEGIN { if (v == "-") print v; else printf "%.3f", v }')
		printf '| %s | %s | %s | %s | %s | %s |\n' "$mode" "$target" \
			"$(awk -v v="$tps" 'BEGIN { if (v == "-") print v; else printf "%.0f", v }')" \
			"$(awk -v v="$cpu" 'BEGIN { if (v == "-") print v; else printf "%.2f", v }')" "$r" "$p"
	done
done
echo
echo "Per round (CPU µs / tx, on then off):"
for mode in $MODES; do
	printf -- '- %s: on %s; off %s\n' "$mode" "$(awk '{ printf "%s ", $2 }' "$work/on-$mode")" \
		"$(awk '{ printf "%s ", $2 }' "$work/off-$mode")"
done
