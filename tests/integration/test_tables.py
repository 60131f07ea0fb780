"""Table and index statistics in the store: pg_stat_user_tables and
pg_stat_user_indexes sampled every sample_interval (1 s here) as deltas,
read back with `pglifeguard-cli tables --json` field by field against
PostgreSQL's own numbers; a table stats reset never yields negative or
doubled deltas; unused-index candidates; store_path's default beside the
pidfile and `off`."""

import json
import os
import sqlite3
import subprocess
import time

import pytest

from support import ON_PGBOUNCER, temp_dir, wait_for

pytestmark = pytest.mark.skipif(ON_PGBOUNCER, reason="the store is pglifeguard's own")

CLI = os.environ.get("PGLIFEGUARD_CLI") or os.path.join(
    os.path.dirname(os.environ.get("PGLIFEGUARD", "build/pglifeguard")), "pglifeguard-cli")
ROWS = 1000


def cli(*args):
    return subprocess.run([CLI, *args], capture_output=True, text=True, timeout=30)


def tables(store, *extra):
    r = cli("-s", store, "tables", "--json", "--since", "1h", "--limit", "1000", *extra)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


@pytest.fixture
def store_dir():
    yield from temp_dir("lg-tables.")


@pytest.fixture
def lg_table(cluster):
    # created before the pooler starts: the sampler's baseline includes the load
    cluster.query(
        "DROP TABLE IF EXISTS lg_tables_t;"
        "CREATE TABLE lg_tables_t (id int PRIMARY KEY, v int, w int);"
        "CREATE INDEX lg_tables_v ON lg_tables_t (v);"
        "CREATE INDEX lg_tables_w ON lg_tables_t (w);"
        "INSERT INTO lg_tables_t SELECT g, g, g %% 7 FROM generate_series(1, %d) g;"
        "ANALYZE lg_tables_t;"
        "GRANT ALL ON lg_tables_t TO lg_plain" % ROWS)
    relid = cluster.query("SELECT 'lg_tables_t'::regclass::oid::bigint")[0][0]
    yield relid
    cluster.query("DROP TABLE IF EXISTS lg_tables_t")


@pytest.fixture
def monitored(make_pooler, store_dir, lg_table):
    store = os.path.join(store_dir, "store.db")
    pooler = make_pooler(store_path=store, sample_interval=1, monitor_user="lg_plain",
                         monitor_databases="lgtest")
    return pooler, store, lg_table


def our_table(doc):
    rows = [t for t in doc["tables"] if t["table"] == "lg_tables_t"]
    assert len(rows) <= 1, rows
    return rows[0] if rows else None


def ready(store):
    return os.path.exists(store) and tables(store)["intervals"] >= 1 and our_table(tables(store))


def pg_table(cluster, relid):
    return cluster.query(
        "SELECT seq_scan, seq_tup_read, idx_scan, idx_tup_fetch, n_tup_ins, n_tup_upd, "
        "n_tup_del, n_tup_hot_upd, n_live_tup, n_dead_tup, pg_relation_size(relid), "
        "pg_total_relation_size(relid), pg_indexes_size(relid) "
        "FROM pg_stat_user_tables WHERE relid = %s", (relid,))[0]


def test_tables_deltas_and_unused_indexes(monitored, cluster):
    pooler, store, relid = monitored
    assert wait_for(lambda: ready(store), 30), pooler.log()[-3000:]
    base = pg_table(cluster, relid)
    # 4 sequential scans of the whole table, 3 lookups through lg_tables_v,
    # then 10 inserts, 5 updates and 2 deletes
    for _ in range(4):
        assert pooler.query("SELECT sum(w) FROM lg_tables_t") == [(sum(g % 7 for g in range(1, ROWS + 1)),)]
    for i in (5, 50, 500):
        assert pooler.query("SELECT id FROM lg_tables_t WHERE v = %s", (i,)) == [(i,)]
    pooler.query("INSERT INTO lg_tables_t SELECT g, g, 0 FROM generate_series(%s, %s) g",
                 (ROWS + 1, ROWS + 10))
    pooler.query("UPDATE lg_tables_t SET w = w + 1 WHERE id <= 5")
    pooler.query("DELETE FROM lg_tables_t WHERE id > %s", (ROWS + 8,))

    def moved():
        t = our_table(tables(store))
        return t and t["seq_scan"] >= 4 and t["n_tup_del"] >= 2 and t["n_tup_upd"] >= 5
    assert wait_for(moved, 40), (tables(store), pooler.log()[-3000:])
    time.sleep(2.5)  # more intervals must not count anything twice
    doc = tables(store)
    t = our_table(doc)
    now = pg_table(cluster, relid)
    names = ["seq_scan", "seq_tup_read", "idx_scan", "idx_tup_fetch", "n_tup_ins", "n_tup_upd",
             "n_tup_del", "n_tup_hot_upd"]
    for i, name in enumerate(names):
        # the store counts from its first sample, which came before `base`
        assert t[name] == now[i] - base[i], (name, t, base, now)
    assert t["seq_tup_read"] >= 4 * ROWS
    assert t["idx_scan"] >= 3
    assert t["n_tup_ins"] == 10 and t["n_tup_upd"] == 5 and t["n_tup_del"] == 2
    assert t["database"] == "lgtest" and t["schema"] == "public" and t["relid"] == relid
    assert t["n_live_tup"] == now[8] and t["n_dead_tup"] == now[9]
    assert t["relation_size"] == now[10] and t["total_size"] == now[11]
    assert t["indexes_size"] == now[12] and now[12] > 0
    assert doc["intervals"] >= 3 and doc["since_seconds"] == 3600
    # lg_tables_w was never scanned: an unused-index candidate; lg_tables_v
    # was, and the primary key is never one
    unused = {u["index"]: u for u in doc["unused_indexes"]}
    assert "lg_tables_w" in unused, doc["unused_indexes"]
    assert "lg_tables_v" not in unused and "lg_tables_t_pkey" not in unused
    w = unused["lg_tables_w"]
    assert w["table"] == "lg_tables_t" and w["schema"] == "public" and w["database"] == "lgtest"
    assert w["size"] == cluster.query("SELECT pg_relation_size('lg_tables_w')")[0][0] > 0
    assert w["indexdef"] == cluster.query("SELECT pg_get_indexdef('lg_tables_w'::regclass)")[0][0]
    assert w["relid"] == cluster.query("SELECT 'lg_tables_w'::regclass::oid::bigint")[0][0]
    assert w["observed_seconds"] >= 2
    # the store's raw rows agree, and the index that was scanned has its rows
    db = sqlite3.connect("file:%s?mode=ro" % store, uri=True)
    try:
        v = db.execute("SELECT sum(x.idx_scan) FROM index_samples x JOIN relations r "
                       "ON r.relid = x.relid WHERE r.relname = 'lg_tables_v'").fetchone()[0]
        assert v == 3
        assert db.execute("SELECT is_primary, is_unique FROM relations "
                          "WHERE relname = 'lg_tables_t_pkey'").fetchone() == (1, 1)
    finally:
        db.close()
    # the people's table
    r = cli("-s", store, "tables")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert "seq_scan" in lines[0] and "seq_tup_read" in lines[0]
    assert any("public.lg_tables_t" in l and l.split()[0] == str(t["seq_scan"]) for l in lines), r.stdout
    assert any("public.lg_tables_w" in l for l in lines), r.stdout
    # usage errors and a missing store, as for top
    assert cli("-s", store, "tables", "--since", "soon").returncode == 1
    assert cli("-s", store, "tables", "extra").returncode == 1
    assert cli("-s", store + ".missing", "tables").returncode == 2


def test_table_stats_reset_no_negative_or_doubled(monitored, cluster):
    pooler, store, relid = monitored
    assert wait_for(lambda: ready(store), 30), pooler.log()[-3000:]
    for _ in range(3):
        pooler.query("SELECT sum(w) FROM lg_tables_t")
    assert wait_for(lambda: our_table(tables(store))["seq_scan"] >= 3, 30)
    lost0 = tables(store)["lost_data_intervals"]
    cluster.query("SELECT pg_stat_reset_single_table_counters(%s)", (relid,))
    assert wait_for(lambda: tables(store)["lost_data_intervals"] > lost0, 30), pooler.log()[-3000:]
    for _ in range(2):
        pooler.query("SELECT sum(w) FROM lg_tables_t")
    assert wait_for(lambda: our_table(tables(store))["seq_scan"] >= 5, 30)
    time.sleep(2.5)
    assert our_table(tables(store))["seq_scan"] == 5
    db = sqlite3.connect("file:%s?mode=ro" % store, uri=True)
    try:
        mins = db.execute(
            "SELECT min(seq_scan), min(seq_tup_read), min(idx_scan), min(idx_tup_fetch), "
            "min(n_tup_ins), min(n_tup_upd), min(n_tup_del), min(vacuum_count) "
            "FROM table_samples").fetchone()
        assert all(v is not None and v >= 0 for v in mins), mins
        assert db.execute("SELECT coalesce(min(idx_scan), 0) FROM index_samples").fetchone()[0] >= 0
    finally:
        db.close()


def test_store_path_default_beside_pidfile(make_pooler, lg_table):
    pooler = make_pooler(sample_interval=1, monitor_user="lg_plain", monitor_databases="lgtest")
    store = os.path.join(pooler.dir, "pglifeguard.db")
    assert wait_for(lambda: os.path.exists(store) and tables(store)["intervals"] >= 1, 30), \
        pooler.log()[-3000:]
    assert store in pooler.log()
    off = make_pooler(store_path="off", sample_interval=1, monitor_user="lg_plain",
                      monitor_databases="lgtest")
    assert off.query("SELECT 1") == [(1,)]
    time.sleep(2)
    assert not os.path.exists(os.path.join(off.dir, "pglifeguard.db"))
    assert "monitor:" not in off.log()


def test_ddl_lock_skips_table_sample_not_statements(monitored, cluster):
    """pg_relation_size() waits behind an ACCESS EXCLUSIVE lock: the
    sampler's lock_timeout turns that into one warning and skipped table
    samples while pg_stat_statements intervals keep coming."""
    pooler, store, relid = monitored
    assert wait_for(lambda: ready(store), 30), pooler.log()[-3000:]
    locker = cluster.connect()
    try:
        locker.autocommit = False
        with locker.cursor() as cur:
            cur.execute("LOCK TABLE lg_tables_t IN ACCESS EXCLUSIVE MODE")
            assert wait_for(lambda: "cannot sample table statistics" in pooler.log(), 20), \
                pooler.log()[-3000:]
            line = [l for l in pooler.log().splitlines() if "cannot sample table statistics" in l][0]
            assert "55P03" in line and "lgtest" in line
            before = tables(store)["intervals"]
            assert wait_for(lambda: tables(store)["intervals"] >= before + 1, 15)
        locker.rollback()
    finally:
        locker.close()
    for _ in range(2):
        pooler.query("SELECT sum(w) FROM lg_tables_t")
    assert wait_for(lambda: our_table(tables(store))["seq_scan"] >= 2, 30), pooler.log()[-3000:]
    time.sleep(2.5)
    assert our_table(tables(store))["seq_scan"] == 2
    assert len([l for l in pooler.log().splitlines() if "cannot sample table statistics" in l]) == 1


def test_rollups_keep_top_and_tables_exact(make_pooler, store_dir, lg_table, cluster):
    """With store_rollup_after = 2 s and 3 s buckets, raw intervals are
    rolled up while statements and scans keep coming: `top` and `tables`
    sums stay equal to PostgreSQL's, nothing counted twice."""
    store = os.path.join(store_dir, "store.db")
    pooler = make_pooler(store_path=store, sample_interval=1, monitor_user="lg_plain",
                         monitor_databases="lgtest", store_rollup_after=2,
                         store_rollup_interval=3)
    assert wait_for(lambda: ready(store), 30), pooler.log()[-3000:]
    marker = "SELECT count(*) FROM lg_tables_t WHERE v + w > %s"
    for i in range(6):
        pooler.query(marker, (i,))
        time.sleep(0.5)

    def marker_calls():
        r = cli("-s", store, "top", "--json", "--since", "7d", "--limit", "1000")
        assert r.returncode == 0, r.stderr
        return sum(s["calls"] for s in json.loads(r.stdout)["statements"]
                   if (s["query"] or "").startswith("SELECT count(*) FROM lg_tables_t WHERE v + w >"))

    def rolled_up():
        db = sqlite3.connect("file:%s?mode=ro" % store, uri=True)
        try:
            return db.execute(
                "SELECT count(*) FROM statement_samples s JOIN sample_intervals i "
                "ON i.id = s.interval_id JOIN statements t USING (queryid, userid, dbid) "
                "WHERE i.rollup = 1 AND t.query LIKE 'SELECT count(*) FROM lg_tables_t%'"
            ).fetchone()[0] > 0
        finally:
            db.close()
    assert wait_for(lambda: marker_calls() == 6 and rolled_up(), 40), pooler.log()[-3000:]
    assert wait_for(lambda: our_table(tables(store, "--since", "7d"))["seq_scan"] >= 6, 30)
    time.sleep(4)  # more rollups must not change the sums
    assert marker_calls() == 6
    t = our_table(tables(store, "--since", "7d"))
    assert t["seq_scan"] == 6 and t["seq_tup_read"] == 6 * ROWS
    db = sqlite3.connect("file:%s?mode=ro" % store, uri=True)
    try:
        assert db.execute("SELECT count(*) FROM sample_intervals WHERE rollup = 1").fetchone()[0] >= 2
        overlaps = db.execute(
            "SELECT count(*) FROM sample_intervals x JOIN sample_intervals y "
            "ON x.dbname = y.dbname AND x.id < y.id "
            "AND x.start_us < y.end_us AND y.start_us < x.end_us").fetchone()[0]
        assert overlaps == 0
    finally:
        db.close()
