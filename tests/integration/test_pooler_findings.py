"""What the pooler records for query suggestions (schema 5), through a real
PostgreSQL: repeat_events for the N+1 pattern (psycopg 3 in a transaction,
with and without its automatic prepared statements; a raw extended-protocol
pipeline; an autocommit burst), none for many-row statements or for fewer
runs than repeat_threshold; xact_samples with the idle-in-transaction time
of one application and not of another; checkout percentiles in
pool_samples against known hold times."""

import contextlib
import os
import sqlite3
import struct
import time

import pytest

from support import ON_PGBOUNCER, temp_dir, wait_for

pytestmark = pytest.mark.skipif(ON_PGBOUNCER, reason="the store is pglifeguard's own")
psycopg = pytest.importorskip("psycopg")

QUIET = dict(alert_wait_seconds=0, alert_max_wait_ms=0, alert_pool_utilization=0,
             alert_client_conn_percent=0, alert_leaks=0)
BY_ID = "SELECT v FROM lg_n1 WHERE id = %s"
BY_GROUP = "SELECT v FROM lg_n1 WHERE grp = %s"


def store_rows(store, sql, args=()):
    if not os.path.exists(store):
        return []
    db = sqlite3.connect("file:%s?mode=ro" % store, uri=True)
    try:
        return db.execute(sql, args).fetchall()
    except sqlite3.OperationalError:
        return []  # not created yet
    finally:
        db.close()


@pytest.fixture(scope="module")
def table(cluster):
    cluster.query("DROP TABLE IF EXISTS lg_n1")
    cluster.query("CREATE TABLE lg_n1 (id int PRIMARY KEY, grp int NOT NULL, v text)")
    cluster.query("INSERT INTO lg_n1 SELECT i, i / 5, 'v' || i FROM generate_series(0, 199) i")
    cluster.query("GRANT SELECT, UPDATE ON lg_n1 TO lg_plain")
    yield "lg_n1"
    cluster.query("DROP TABLE IF EXISTS lg_n1")


@pytest.fixture
def store_dir():
    yield from temp_dir("lg-findings.")


def start(make_pooler, store_dir, mode="transaction", **more):
    store = os.path.join(store_dir, "store.db")
    settings = dict(store_path=store, sample_interval=1, lock_sample_interval=0,
                    monitor_user="lg_plain", monitor_databases="lgtest", pool_mode=mode,
                    default_pool_size=4, **QUIET)
    settings.update(more)
    return make_pooler(**settings), store


def connect3(pooler, app, **kw):
    return psycopg.connect(**pooler.dsn(application_name=app), **kw)


def repeats(store, app):
    return store_rows(store, "SELECT statement, executions, scope, total_us, scope_us, "
                      "database, username, client_addr FROM repeat_events "
                      "WHERE application_name = ? ORDER BY id", (app,))


def settle(pooler, store):
    """Waits until the monitor wrote everything queued so far: a marker
    transaction of its own shows up in xact_samples."""
    marker = "marker-%f" % time.time()
    with connect3(pooler, marker) as conn:
        conn.execute("SELECT 1")
        conn.commit()
    assert wait_for(lambda: store_rows(store, "SELECT 1 FROM xact_samples WHERE "
                                       "application_name = ?", (marker,)), 15)


@pytest.mark.parametrize("mode", ["transaction", "session"])
def test_n_plus_one_in_transaction(make_pooler, store_dir, table, mode):
    pooler, store = start(make_pooler, store_dir, mode)
    # prepare_threshold=5 (psycopg's default): from the 6th run the statement
    # is a named prepared statement, bound by name
    with connect3(pooler, "n1-app") as conn:
        for i in range(25):
            assert conn.execute(BY_ID, (i,)).fetchall() == [("v%d" % i,)]
        conn.commit()
    # many rows per run: never an N+1
    with connect3(pooler, "many-rows") as conn:
        for g in range(25):
            assert len(conn.execute(BY_GROUP, (g,)).fetchall()) == 5
        conn.commit()
    # below the threshold
    with connect3(pooler, "nine") as conn:
        for i in range(9):
            conn.execute(BY_ID, (i,)).fetchall()
        conn.commit()
    assert wait_for(lambda: repeats(store, "n1-app"), 15)
    settle(pooler, store)
    rows = repeats(store, "n1-app")
    assert len(rows) == 1, rows
    stmt, executions, scope, total_us, scope_us, db, user, addr = rows[0]
    assert executions == 25
    assert scope == "transaction"
    assert stmt.lower() == "select v from lg_n1 where id = $1"
    assert (db, user, addr) == ("lgtest", "lg_plain", "127.0.0.1")
    assert 0 < total_us <= scope_us
    assert repeats(store, "many-rows") == []
    assert repeats(store, "nine") == []
    if mode == "transaction":
        # the repeats above ran as named statements remapped by prepared.c
        st = [r for r in pooler.admin("SHOW STATS") if r["database"] == "lgtest"]
        assert int(st[0]["total_bind_count"]) >= 20 + 20, st


def test_repeat_threshold(make_pooler, store_dir, table):
    pooler, store = start(make_pooler, store_dir, repeat_threshold=5)
    with connect3(pooler, "five", prepare_threshold=None) as conn:
        for i in range(5):
            conn.execute("UPDATE lg_n1 SET v = v WHERE id = %s", (i,))
        conn.commit()
    with connect3(pooler, "four") as conn:
        for i in range(4):
            conn.execute(BY_ID, (i,)).fetchall()
        conn.commit()
    assert wait_for(lambda: repeats(store, "five"), 15)
    settle(pooler, store)
    rows = repeats(store, "five")
    assert [(r[0].lower(), r[1]) for r in rows] == [
        ("update lg_n1 set v = v where id = $1", 5)]
    assert repeats(store, "four") == []


def test_repeat_threshold_zero_is_off(make_pooler, store_dir, table):
    pooler, store = start(make_pooler, store_dir, repeat_threshold=0)
    with connect3(pooler, "off") as conn:
        for i in range(30):
            conn.execute(BY_ID, (i,)).fetchall()
        conn.commit()
    settle(pooler, store)
    assert repeats(store, "off") == []


def ext_execute(w, param, parse=True):
    """Parse (unnamed), Bind with one text parameter, Execute: not flushed."""
    msgs = b""
    if parse:
        body = b"\0SELECT v FROM lg_n1 WHERE id = $1\0" + struct.pack("!H", 0)
        msgs += b"P" + struct.pack("!I", len(body) + 4) + body
    val = str(param).encode()
    body = b"\0\0" + struct.pack("!HH", 0, 1) + struct.pack("!i", len(val)) + val + \
        struct.pack("!H", 0)
    msgs += b"B" + struct.pack("!I", len(body) + 4) + body
    body = b"\0" + struct.pack("!I", 0)
    msgs += b"E" + struct.pack("!I", len(body) + 4) + body
    w.send_raw(msgs)


def test_extended_protocol_and_bursts(make_pooler, store_dir, table):
    pooler, store = start(make_pooler, store_dir)
    pw = pooler.password("lg_plain")
    # one round trip per execution, inside a transaction block
    w = pooler.wire()
    assert w.login("lg_plain", "lgtest", pw, application_name="wire-xact") is None
    w.query("BEGIN")
    for i in range(12):
        ext_execute(w, i)
        w.send("S")
        msgs = w.until_ready()
        assert [m[0] for m in msgs][-3:] == ["D", "C", "Z"], msgs
    w.query("COMMIT")
    # a pipeline of 14 executions behind one Sync, outside a block
    w.close()
    w = pooler.wire()
    assert w.login("lg_plain", "lgtest", pw, application_name="wire-pipeline") is None
    for i in range(14):
        ext_execute(w, i, parse=(i == 0))
    w.send("S")
    msgs = w.until_ready()
    assert sum(1 for m in msgs if m[0] == "C") == 14
    time.sleep(0.3)  # the burst ends with the client's silence
    w.query("SELECT 1")
    w.close()
    # autocommit simple queries with literals: one burst of the checkout
    w = pooler.wire()
    assert w.login("lg_plain", "lgtest", pw, application_name="wire-burst") is None
    for i in range(15):
        w.query("SELECT v FROM lg_n1 WHERE id = %d" % i)
    time.sleep(0.3)
    for i in range(3):  # a second burst, too short
        w.query("SELECT v FROM lg_n1 WHERE id = %d" % i)
    w.close()  # ends the second burst
    assert wait_for(lambda: repeats(store, "wire-burst"), 15)
    settle(pooler, store)
    rows = repeats(store, "wire-xact")
    assert [(r[0], r[1], r[2]) for r in rows] == [
        ("SELECT v FROM lg_n1 WHERE id = $1", 12, "transaction")]
    rows = repeats(store, "wire-pipeline")
    assert [(r[0], r[1], r[2]) for r in rows] == [
        ("SELECT v FROM lg_n1 WHERE id = $1", 14, "checkout")]
    rows = repeats(store, "wire-burst")
    assert [(r[0], r[1], r[2]) for r in rows] == [
        ("SELECT v FROM lg_n1 WHERE id = $1", 15, "checkout")]


def xacts(store, app):
    return store_rows(store, "SELECT sum(xacts), sum(xact_us), max(xact_max_us), sum(idle_us), "
                      "max(idle_max_us) FROM xact_samples WHERE application_name = ? "
                      "AND database = 'lgtest' AND username = 'lg_plain'", (app,))[0]


@pytest.mark.parametrize("mode", ["transaction", "session"])
def test_idle_in_transaction_by_application(make_pooler, store_dir, table, mode):
    pooler, store = start(make_pooler, store_dir, mode)
    with connect3(pooler, "sleepy") as conn:
        conn.execute(BY_ID, (1,)).fetchall()
        time.sleep(1.5)
        conn.execute(BY_ID, (2,)).fetchall()
        conn.commit()
    with connect3(pooler, "brisk") as conn:
        for i in range(3):
            conn.execute(BY_ID, (i,)).fetchall()
            conn.commit()
    with connect3(pooler, "autocommit", autocommit=True) as conn:
        conn.execute(BY_ID, (1,)).fetchall()
    settle(pooler, store)
    n, total, longest, idle, idle_max = xacts(store, "sleepy")
    assert n == 1
    assert 1_500_000 <= idle_max < 3_000_000
    assert idle_max <= idle <= longest == total
    assert total >= 1_500_000
    n, total, longest, idle, idle_max = xacts(store, "brisk")
    assert n == 3
    assert idle_max < 500_000
    assert longest < 1_000_000
    # no transaction block: no row
    assert xacts(store, "autocommit")[0] is None


def test_checkout_percentiles(make_pooler, store_dir, table):
    pooler, store = start(make_pooler, store_dir, sample_interval=2)
    with connect3(pooler, "holder") as conn:
        for hold in [0.2] * 9 + [1.0]:
            conn.execute(BY_ID, (1,)).fetchall()
            time.sleep(hold)
            conn.commit()

    def samples():
        return store_rows(store, "SELECT checkouts, checkout_p50_us, checkout_p95_us, "
                          "checkout_p99_us, checkout_max_us FROM pool_samples WHERE "
                          "database = 'lgtest' AND username = 'lg_plain' ORDER BY at_us")

    assert wait_for(lambda: sum(s[0] for s in samples()) >= 10, 15)
    rows = samples()
    assert sum(s[0] for s in rows) == 10, rows
    for count, p50, p95, p99, top in rows:
        if count == 0:
            assert (p50, p95, p99, top) == (None, None, None, None)
        else:
            assert 0 < p50 <= p95 <= p99 <= top
    # every 0.2 s checkout shows in the medians, the 1 s one in the max
    assert max(s[4] for s in rows if s[0]) >= 1_000_000
    assert max(s[4] for s in rows if s[0]) < 1_400_000
    medians = [s[1] for s in rows if s[0] >= 3]
    assert medians and all(190_000 <= m < 280_000 for m in medians), rows


def test_idle_client_ends_its_burst(make_pooler, store_dir, table):
    """A client that stays connected and silent after a burst: the janitor
    ends the burst, the row shows up while the client is still there."""
    pooler, store = start(make_pooler, store_dir, mode="session")
    w = pooler.wire()
    assert w.login("lg_plain", "lgtest", pooler.password("lg_plain"),
                   application_name="quiet-after") is None
    for i in range(11):
        w.query("UPDATE lg_n1 SET v = v WHERE id = %d" % i)
    try:
        assert wait_for(lambda: repeats(store, "quiet-after"), 15)
        rows = repeats(store, "quiet-after")
        assert [(r[0], r[1], r[2]) for r in rows] == [
            ("UPDATE lg_n1 SET v = v WHERE id = $1", 11, "checkout")]
    finally:
        w.close()


def test_long_stream_is_not_n_plus_one(make_pooler, store_dir, table):
    """Single-row autocommit lookups without a pause for more than 5 s (a
    busy application reusing its connection, pgbench -S): independent
    requests, not one request's loop; the same lookups in a short burst
    are an N+1 row."""
    pooler, store = start(make_pooler, store_dir)
    with connect3(pooler, "stream", autocommit=True) as conn:
        end = time.monotonic() + 6
        lookups = 0
        while time.monotonic() < end:
            conn.execute(BY_ID, (lookups % 200,))
            lookups += 1
    with connect3(pooler, "short-burst", autocommit=True) as conn:
        for i in range(12):
            conn.execute(BY_ID, (i,))
    settle(pooler, store)
    assert wait_for(lambda: repeats(store, "short-burst"), 15)
    assert [(r[1], r[2]) for r in repeats(store, "short-burst")] == [(12, "checkout")]
    assert lookups > 12 and repeats(store, "stream") == []


def test_suggest_reads_what_the_pooler_saw(make_pooler, store_dir, table, cluster):
    """End to end: the pooler's repeat_events and xact_samples become
    pglifeguard-cli suggest's n_plus_one and idle_in_transaction query
    suggestions, naming the statement and the application."""
    import json
    import subprocess
    cli = os.environ.get("PGLIFEGUARD_CLI", "build/pglifeguard-cli")
    pooler, store = start(make_pooler, store_dir)
    with connect3(pooler, "orders-page") as conn:
        for _ in range(5):
            with conn.transaction():
                for i in range(20):
                    conn.execute(BY_ID, (i,))
    with connect3(pooler, "slow-worker") as conn:
        with conn.transaction():
            conn.execute(BY_GROUP, (1,))
            time.sleep(1.5)
    settle(pooler, store)
    assert wait_for(lambda: len(repeats(store, "orders-page")) == 5, 15)
    conninfo = "host=%s port=%d user=postgres dbname=lgtest" % (cluster.host, cluster.port)
    r = subprocess.run([cli, "-s", store, "suggest", "--json", "--since", "1h", "-d", conninfo],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    found = {(f["kind"], f["subject"]) for f in json.loads(r.stdout)["query_suggestions"]}
    assert ("n_plus_one", "SELECT v FROM lg_n1 WHERE id = $1") in found, found
    assert ("idle_in_transaction", "slow-worker") in found, found
    assert not [f for f in found if f[1] == "orders-page"], found
