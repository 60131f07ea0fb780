"""The store survives SIGKILL: the daemon samples every second (with
rollups forced to run at each start) while a workload runs, and is killed
with SIGKILL at random moments 15 times, restarted each time. Afterwards
PRAGMA integrity_check is ok, every sample has its interval, intervals of
a database never overlap (nothing counted twice, raw or rolled up), and
`top --since 7d` agrees with the rows."""

import json
import os
import random
import signal
import sqlite3
import subprocess
import threading
import time

import psycopg2
import pytest

from support import ON_PGBOUNCER, temp_dir, wait_for

pytestmark = pytest.mark.skipif(ON_PGBOUNCER, reason="the store is pglifeguard's own")

CLI = os.environ.get("PGLIFEGUARD_CLI") or os.path.join(
    os.path.dirname(os.environ.get("PGLIFEGUARD", "build/pglifeguard")), "pglifeguard-cli")
KILLS = 15


@pytest.fixture
def store_dir():
    yield from temp_dir("lg-kill.")


def workload(cluster, stop):
    """30 distinct statements and writes to a table, straight to PostgreSQL
    (the pooler is the one being killed)."""
    conn = cluster.connect()
    try:
        with conn.cursor() as cur:
            i = 0
            while not stop.is_set():
                k = i % 30 + 1
                cur.execute("SELECT " + " + ".join(["%s"] * k), list(range(k)))
                cur.execute("INSERT INTO lg_kill_t (v) VALUES (%s)", (i,))
                if i % 10 == 0:
                    cur.execute("UPDATE lg_kill_t SET v = v + 1 WHERE id %% 50 = %s", (i % 50,))
                i += 1
                time.sleep(0.002)
    finally:
        conn.close()



def own_statement(query):
    """src/ownstmt.c's rule: the sampler's, the lock sampler's, the
    advisor's and the leadership query."""
    q = (query or "").lstrip(" \n\t\r")
    return (q.startswith(("-- Sampler:", "-- Lock sampler:", "-- Advisor:"))
            or (q.startswith("SELECT pg_try_advisory_lock(") and "), pg_has_role(" in q))

def test_sigkill_loop_keeps_store_consistent(make_pooler, store_dir, cluster):
    cluster.query("DROP TABLE IF EXISTS lg_kill_t; CREATE TABLE lg_kill_t (id serial PRIMARY KEY, v int)")
    store = os.path.join(store_dir, "store.db")
    stop = threading.Event()
    worker = threading.Thread(target=workload, args=(cluster, stop), daemon=True)
    worker.start()
    rng = random.Random(4)
    try:
        for n in range(KILLS):
            pooler = make_pooler(store_path=store, sample_interval=1, monitor_user="lg_plain",
                                 monitor_databases="lgtest", store_rollup_after=2,
                                 store_rollup_interval=3)
            assert wait_for(lambda: "monitor: sampling" in pooler.log(), 10), pooler.log()[-3000:]
            time.sleep(rng.uniform(0.8, 3.5))
            assert pooler.alive(), pooler.log()[-3000:]
            pooler.signal(signal.SIGKILL)
            assert pooler.wait_exit(10)
    finally:
        stop.set()
        worker.join(10)
        cluster.query("DROP TABLE IF EXISTS lg_kill_t")
    db = sqlite3.connect("file:%s?mode=ro" % store, uri=True)
    try:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []
        assert db.execute("SELECT version FROM schema_version").fetchone()[0] == 5
        for table in ("statement_samples", "table_samples", "index_samples"):
            orphans = db.execute("SELECT count(*) FROM %s WHERE interval_id NOT IN "
                                 "(SELECT id FROM sample_intervals)" % table).fetchone()[0]
            assert orphans == 0, table
        overlaps = db.execute(
            "SELECT count(*) FROM sample_intervals x JOIN sample_intervals y "
            "ON x.dbname = y.dbname AND x.id < y.id "
            "AND x.start_us < y.end_us AND y.start_us < x.end_us").fetchone()[0]
        assert overlaps == 0
        intervals = db.execute("SELECT count(*), sum(rollup) FROM sample_intervals").fetchone()
        # a life shorter than two ticks writes no interval (the first sample
        # is the baseline), and rollups merge intervals: a third of the lives
        # wrote at least one on a loaded machine
        assert intervals[0] >= KILLS // 3 and intervals[1] >= 1, intervals
        assert db.execute("SELECT count(*) FROM sample_intervals WHERE end_us <= start_us").fetchone()[0] == 0
        assert db.execute("SELECT count(*) FROM statement_samples").fetchone()[0] > 0
        assert db.execute("SELECT count(*) FROM table_samples t JOIN relations r "
                          "ON r.relid = t.relid WHERE r.relname = 'lg_kill_t'").fetchone()[0] > 0
        assert db.execute("SELECT min(calls) >= 0 AND min(rows) >= 0 FROM statement_samples").fetchone()[0] == 1
        # top leaves pglifeguard's own statements out (src/ownstmt.c)
        calls = sum(c for c, q in db.execute(
            "SELECT s.calls, t.query FROM statement_samples s LEFT JOIN statements t "
            "USING (queryid, userid, dbid)") if not own_statement(q))
    finally:
        db.close()
    r = subprocess.run([CLI, "-s", store, "top", "--json", "--since", "7d", "--limit", "100000"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert sum(s["calls"] for s in json.loads(r.stdout)["statements"]) == calls
