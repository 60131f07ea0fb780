"""The monitor thread and the store: pg_stat_statements sampled every
second (sample_interval = 1) into store_path, read back with
`pglifeguard-cli top --json` field by field; a pg_stat_statements_reset()
never yields negative or doubled deltas and marks its interval as lost;
the CLI's exit codes for missing and foreign stores; a database without the
extension gets a warning that names the fix."""

import json
import glob
import os
import sqlite3
import subprocess
import time

import pytest

from support import ON_PGBOUNCER, temp_dir, wait_for

pytestmark = pytest.mark.skipif(ON_PGBOUNCER, reason="the store is pglifeguard's own")

CLI = os.environ.get("PGLIFEGUARD_CLI") or os.path.join(
    os.path.dirname(os.environ.get("PGLIFEGUARD", "build/pglifeguard")), "pglifeguard-cli")
# a table of its own: the queryid depends on the relation's OID, not on
# aliases or comments, so no other test's statement shares it
MARKER = "SELECT count(*) FROM lg_store_marker"
MARKER_SQL = "SELECT count(*) FROM lg_store_marker WHERE v = %s"


def cli(*args):
    return subprocess.run([CLI, *args], capture_output=True, text=True, timeout=30)


@pytest.fixture
def store_dir():
    yield from temp_dir("lg-store.")


@pytest.fixture
def monitored(make_pooler, store_dir, cluster):
    cluster.query("DROP TABLE IF EXISTS lg_store_marker; CREATE TABLE lg_store_marker (v int)")
    store = os.path.join(store_dir, "store.db")
    # no monitor_password: the plain-text auth_file entry of lg_plain is used
    pooler = make_pooler(store_path=store, sample_interval=1, monitor_user="lg_plain",
                         monitor_databases="lgtest, postgres")
    yield pooler, store
    cluster.query("DROP TABLE IF EXISTS lg_store_marker")


def top(store):
    r = cli("-s", store, "top", "--json", "--since", "1h", "--limit", "1000")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def marker_rows(doc):
    return [s for s in doc["statements"] if s["query"] and s["query"].startswith(MARKER)]


def marker_calls(store):
    return sum(s["calls"] for s in marker_rows(top(store)))


def store_ready(store):
    # the first sample is only a baseline: wait for one interval after it
    return os.path.exists(store) and top(store)["intervals"] >= 1


def test_top_counts_statements(monitored, cluster):
    pooler, store = monitored
    assert wait_for(lambda: store_ready(store), 20), pooler.log()[-3000:]
    for i in range(7):
        pooler.query(MARKER_SQL, (i,))
    assert wait_for(lambda: marker_calls(store) >= 7, 15), pooler.log()[-3000:]
    time.sleep(2.5)  # more intervals must not count anything twice
    doc = top(store)
    rows = marker_rows(doc)
    assert len(rows) == 1, rows
    row = rows[0]
    queryid, userid, dbid, calls, rows_, query = cluster.query(
        "SELECT queryid, userid::oid::bigint, dbid::oid::bigint, calls, rows, query "
        "FROM pg_stat_statements WHERE query LIKE %s AND toplevel",
        (MARKER + "%",))[0]
    assert row["queryid"] == queryid
    assert row["userid"] == userid == cluster.query(
        "SELECT oid::bigint FROM pg_roles WHERE rolname = 'lg_plain'")[0][0]
    assert row["dbid"] == dbid == cluster.query(
        "SELECT oid::bigint FROM pg_database WHERE datname = 'lgtest'")[0][0]
    assert row["database"] == "lgtest"
    assert row["query"] == query
    assert "$1" in row["query"]
    assert row["calls"] == calls == 7
    assert row["rows"] == rows_ == 7
    assert row["total_exec_time_ms"] >= 0
    assert row["mean_exec_time_ms"] == pytest.approx(row["total_exec_time_ms"] / 7, abs=0.002)
    assert row["shared_blks_hit"] >= 0 and row["shared_blks_read"] >= 0
    if row["shared_blks_hit"] + row["shared_blks_read"]:
        assert 0 <= row["cache_hit_ratio"] <= 1
    else:
        assert row["cache_hit_ratio"] is None
    assert row["temp_blks_written"] == 0
    assert doc["intervals"] >= 3
    # the people's table shows the same statement
    r = cli("-s", store, "top", "--limit", "1000")
    assert r.returncode == 0, r.stderr
    assert "total_ms" in r.stdout.splitlines()[0]
    assert any(MARKER in line and " 7 " in line for line in r.stdout.splitlines()), r.stdout


def test_reset_no_negative_or_doubled(monitored, cluster):
    pooler, store = monitored
    assert wait_for(lambda: store_ready(store), 20), pooler.log()[-3000:]
    for i in range(5):
        pooler.query(MARKER_SQL, (i,))
    assert wait_for(lambda: marker_calls(store) >= 5, 15)
    cluster.query("SELECT pg_stat_statements_reset()")
    assert wait_for(lambda: top(store)["lost_data_intervals"] >= 1, 15)
    for i in range(3):
        pooler.query(MARKER_SQL, (i,))
    assert wait_for(lambda: marker_calls(store) >= 8, 15), pooler.log()[-3000:]
    time.sleep(2.5)
    assert marker_calls(store) == 8
    db = sqlite3.connect("file:%s?mode=ro" % store, uri=True)
    try:
        mins = db.execute(
            "SELECT min(calls), min(total_exec_time), min(rows), min(shared_blks_hit), "
            "min(shared_blks_read), min(wal_bytes), min(plans) FROM statement_samples").fetchone()
        assert all(v is not None and v >= 0 for v in mins), mins
        lost = db.execute("SELECT count(*) FROM sample_intervals WHERE lost_data = 1 "
                          "AND dbname = 'lgtest'").fetchone()[0]
        assert lost >= 1
        # sql/store.sql is version 1, each sql/migrate_N.sql one more
        latest = 1 + len(glob.glob(os.path.join(os.path.dirname(__file__), "..", "..", "sql",
                                                "migrate_*.sql")))
        assert db.execute("SELECT version FROM schema_version").fetchone()[0] == latest
    finally:
        db.close()


def test_missing_extension_warns(monitored):
    pooler, store = monitored
    expected = "CREATE EXTENSION pg_stat_statements"
    assert wait_for(lambda: expected in pooler.log(), 15), pooler.log()[-3000:]
    lines = [l for l in pooler.log().splitlines() if expected in l]
    assert "postgres" in lines[0]
    time.sleep(2.5)
    # one warning, not one per interval
    assert len([l for l in pooler.log().splitlines() if expected in l]) == 1


def test_cli_missing_and_foreign_store(store_dir):
    missing = os.path.join(store_dir, "nope.db")
    r = cli("-s", missing, "top")
    assert r.returncode == 2
    assert "does not exist" in r.stderr and missing in r.stderr
    assert not os.path.exists(missing)
    foreign = os.path.join(store_dir, "foreign.db")
    with open(foreign, "w") as f:
        f.write("not a database\n" * 200)
    r = cli("-s", foreign, "top", "--json")
    assert r.returncode == 2
    assert "not a pglifeguard store" in r.stderr
    assert r.stdout == ""
    r = cli("-s", foreign, "top", "--since", "soon")
    assert r.returncode == 1
    r = cli("frobnicate")
    assert r.returncode == 1


def test_monitor_password_hidden(make_pooler, store_dir):
    store = os.path.join(store_dir, "store.db")
    pooler = make_pooler(store_path=store, sample_interval=1, monitor_user="lg_plain",
                         monitor_password="lg-plain-pw", monitor_databases="lgtest")
    assert wait_for(lambda: store_ready(store), 20), pooler.log()[-3000:]
    rows = {r["key"]: r for r in pooler.admin("SHOW CONFIG")}
    assert rows["monitor_password"]["value"] == "********"
    assert rows["store_path"]["value"] == store
    assert "lg-plain-pw" not in pooler.log()
