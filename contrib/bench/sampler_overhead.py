#!/usr/bin/env python3
"""The sampler's share of database time, measured with pg_stat_statements
itself: a throwaway PostgreSQL 15 (tests/harness/pg.sh), pglifeguard in
front of it sampling at the default sample_interval, pgbench through the
pooler for DURATION seconds, then the sampler's own statements'
total_exec_time against every statement's.

    PGLIFEGUARD=build/pglifeguard DURATION=120 CLIENTS=4 \\
        python3 contrib/bench/sampler_overhead.py

The sampler's statements are told apart by their text (they read
pg_stat_statements and pg_stat_statements_info, or take the leadership
lock); pgbench's by theirs. Prints both totals, their ratio and the
sampler's cost per interval. With STATEMENTS=N, N distinct statements are
then added and the sample query is timed with that many rows to read."""

import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "integration"))

from support import HARNESS, Cluster, exports, finish_pooler, start_pooler  # noqa: E402

DURATION = int(os.environ.get("DURATION", "120"))
CLIENTS = int(os.environ.get("CLIENTS", "4"))
INTERVAL = int(os.environ.get("SAMPLE_INTERVAL", "10"))
# then fill pg_stat_statements with this many distinct statements and time
# the sample query by hand: its cost grows with the rows it reads
STATEMENTS = int(os.environ.get("STATEMENTS", "0"))

SAMPLER = ("query LIKE '%pg_stat_statements_info%' OR query LIKE '%pg_try_advisory_lock%' "
           "OR query LIKE '%FROM pg_stat_statements(%'")


def fill_and_time(cluster):
    here = os.path.join(HERE, "..", "..", "sql", "pgss_sample.sql")
    with open(here) as f:
        sample = f.read()
    conn = cluster.connect()
    with conn.cursor() as cur:
        # IN lists of different lengths are different statements
        for k in range(1, STATEMENTS + 1):
            cur.execute("SELECT 1 WHERE 1 IN (%s)" % ",".join(["1"] * k))
        cur.execute("SELECT count(*) FROM pg_stat_statements")
        n = cur.fetchone()[0]
        cur.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sample)
        times = []
        for _ in range(10):
            cur.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sample)
            times.append(cur.fetchone()[0][0]["Execution Time"])
    conn.close()
    times.sort()
    print("sample query with %d statements tracked: median %.2f ms (min %.2f, max %.2f), "
          "%.4f %% of one core at sample_interval = %d s"
          % (n, times[5], times[0], times[-1], times[5] / (INTERVAL * 10.0), INTERVAL))


def main():
    proc = subprocess.run(["bash", os.path.join(HARNESS, "pg.sh"), "start"],
                          env=dict(os.environ, LG_OWNER_PID=str(os.getpid())),
                          capture_output=True, text=True, timeout=300, check=True)
    env = exports(proc.stdout)
    cluster = Cluster(env)
    store_dir = tempfile.mkdtemp(prefix="lg-overhead.", dir="/tmp")
    os.chmod(store_dir, 0o777)
    pooler = None
    try:
        pooler = start_pooler(cluster, dict(
            pool_mode="transaction", default_pool_size=CLIENTS, max_client_conn=100,
            store_path=os.path.join(store_dir, "store.db"), sample_interval=INTERVAL,
            monitor_user="lg_plain", monitor_databases="lgtest"))
        cluster.query("SELECT pg_stat_statements_reset()")
        bench = subprocess.run(
            [os.path.join(cluster.bindir, "pgbench"), "-n", "-c", str(CLIENTS), "-j", "2",
             "-T", str(DURATION), "-P", "30"],
            env=pooler.client_env(), capture_output=True, text=True, timeout=DURATION + 120)
        if bench.returncode != 0:
            sys.exit("pgbench failed:\n" + bench.stderr)
        tps = [l for l in bench.stdout.splitlines() if l.startswith("tps")]
        total, = cluster.query("SELECT sum(total_exec_time), sum(calls) FROM pg_stat_statements")
        own = cluster.query(
            "SELECT sum(total_exec_time), sum(calls), count(*) FROM pg_stat_statements WHERE "
            + SAMPLER)[0]
        nstmts = cluster.query("SELECT count(*) FROM pg_stat_statements")[0][0]
        samples = cluster.query(
            "SELECT calls, total_exec_time FROM pg_stat_statements "
            "WHERE query LIKE '%FROM pg_stat_statements_info%'")
        print("pgbench: %d clients, %d s: %s" % (CLIENTS, DURATION, "; ".join(tps)))
        print("database time, all statements: %.1f ms in %d calls (%d statements tracked)"
              % (total[0], total[1], nstmts))
        print("database time, sampler: %.1f ms in %d calls (%d statements)"
              % (own[0] or 0, own[1] or 0, own[2]))
        print("sampler share: %.4f %%" % (100.0 * (own[0] or 0) / total[0]))
        for calls, ms in samples:
            print("sample query: %d calls, %.2f ms each, %.3f ms per second of wall time"
                  % (calls, ms / calls, ms / DURATION))
        if STATEMENTS:
            fill_and_time(cluster)
    finally:
        if pooler:
            finish_pooler(pooler)
        subprocess.run(["bash", os.path.join(HARNESS, "pg.sh"), "stop", env["LG_PG_DIR"]],
                       timeout=120)
        subprocess.run(["rm", "-rf", store_dir])


if __name__ == "__main__":
    main()
