"""Lock waits: a 3-session blocking chain (A holds a row lock and idles in
transaction, B waits on A while holding a row C needs, C waits on B), A and
B through pglifeguard and C straight to PostgreSQL, sampled every half
second into the store and read back from the tables and from
`pglifeguard-cli locks --json` field by field: the root blocker, both
waiters, the lock mode, a wait duration that grows, and the pglifeguard
client behind each backend. A relation lock (LOCK TABLE) records the
relation. A monitor user without pg_read_all_stats gets one warning naming
the GRANT and the sampler keeps working."""

import contextlib
import json
import os
import socket
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
TABLE = "lg_locks_t"


def cli(*args):
    return subprocess.run([CLI, *args], capture_output=True, text=True, timeout=30)


def locks_json(store, *args):
    r = cli("-s", store, "locks", "--json", *args)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


@pytest.fixture
def store_dir():
    yield from temp_dir("lg-store.")


@pytest.fixture
def table(cluster):
    cluster.query("DROP TABLE IF EXISTS %s; CREATE TABLE %s (id int PRIMARY KEY, v int);"
                  "INSERT INTO %s VALUES (1, 0), (2, 0)" % (TABLE, TABLE, TABLE))
    yield TABLE
    cluster.query("DROP TABLE IF EXISTS %s" % TABLE)


class Blocked(threading.Thread):
    """Runs one statement that is expected to block; keeps the error."""

    def __init__(self, conn, sql):
        super().__init__(daemon=True)
        self.conn, self.sql, self.error = conn, sql, None

    def run(self):
        try:
            with self.conn.cursor() as cur:
                cur.execute(self.sql)
        except psycopg2.Error as e:
            self.error = e


def local_port(conn):
    s = socket.socket(fileno=os.dup(conn.fileno()))
    try:
        return s.getsockname()[1]
    finally:
        s.close()


def one(conn, sql):
    with conn.cursor() as cur:
        cur.execute(sql)
        return cur.fetchone()[0]


def db_rows(store, sql, args=()):
    db = sqlite3.connect("file:%s?mode=ro" % store, uri=True)
    try:
        db.row_factory = sqlite3.Row
        return [dict(r) for r in db.execute(sql, args).fetchall()]
    finally:
        db.close()


def latest(store):
    if not os.path.exists(store):
        return None
    try:
        rows = db_rows(store, "SELECT * FROM lock_samples WHERE dbname = 'lgtest'"
                       " ORDER BY id DESC LIMIT 1")
    except sqlite3.OperationalError:  # not created yet
        return None
    return rows[0] if rows else None


def backends(store, sample_id):
    return {r["pid"]: r for r in db_rows(
        store, "SELECT * FROM lock_backends WHERE sample_id = ?", (sample_id,))}


def tree_of(doc, dbname="lgtest"):
    cur = [c for c in doc["current"] if c["database"] == dbname]
    assert len(cur) == 1, doc["current"]
    return cur[0]


@pytest.fixture
def monitored(make_pooler, store_dir, table):
    store = os.path.join(store_dir, "store.db")
    # two databases of one cluster: each records only its own waiters
    pooler = make_pooler(store_path=store, sample_interval=60, lock_sample_interval=0.5,
                         monitor_user="lg_plain", monitor_databases="lgtest, postgres")
    return pooler, store


def test_three_session_chain(monitored, cluster):
    pooler, store = monitored
    a = pooler.connect(autocommit=False, application_name="lg-locks-A")
    b = pooler.connect(autocommit=False, application_name="lg-locks-B")
    c = psycopg2.connect(host="127.0.0.1", port=cluster.port, user="lg_scram", dbname="lgtest",
                         password=cluster.passwords["lg_scram"], application_name="lg-locks-C")
    c.autocommit = False
    threads = []
    try:
        # A: holds row 1 and idles in transaction
        a_pid = one(a, "SELECT pg_backend_pid()")
        one(a, "UPDATE %s SET v = v + 1 WHERE id = 1 RETURNING v" % TABLE)
        # B: holds row 2, then waits for row 1
        b_pid = one(b, "SELECT pg_backend_pid()")
        one(b, "UPDATE %s SET v = v + 1 WHERE id = 2 RETURNING v" % TABLE)
        c_pid = one(c, "SELECT pg_backend_pid()")
        assert len({a_pid, b_pid, c_pid}) == 3
        threads.append(Blocked(b, "UPDATE %s SET v = v + 10 WHERE id = 1" % TABLE))
        threads[-1].start()
        assert wait_for(lambda: cluster.query(
            "SELECT 1 FROM pg_stat_activity WHERE pid = %s AND wait_event_type = 'Lock'",
            (b_pid,)), 10)
        # C: waits for row 2, which B holds
        threads.append(Blocked(c, "UPDATE %s SET v = v + 100 WHERE id = 2" % TABLE))
        threads[-1].start()

        s = wait_for(lambda: (lambda x: x if x and x["waiters"] == 2 else None)(latest(store)),
                     15)
        assert s, pooler.log()[-3000:]
        # --- the store, field by field
        rows = backends(store, s["id"])
        assert set(rows) == {a_pid, b_pid, c_pid}, rows
        ra, rb, rc = rows[a_pid], rows[b_pid], rows[c_pid]
        assert (ra["waiting"], rb["waiting"], rc["waiting"]) == (0, 1, 1)
        assert ra["root_pid"] == rb["root_pid"] == rc["root_pid"] == a_pid
        edges = db_rows(store, "SELECT waiter_pid, blocker_pid FROM lock_edges"
                        " WHERE sample_id = ? ORDER BY waiter_pid", (s["id"],))
        assert sorted((e["waiter_pid"], e["blocker_pid"]) for e in edges) == sorted(
            [(b_pid, a_pid), (c_pid, b_pid)])
        assert ra["state"] == "idle in transaction"
        assert ra["query"].startswith("UPDATE %s SET v = v + 1 WHERE id = 1" % TABLE)
        assert ra["usename"] == "lg_plain" and ra["datname"] == "lgtest"
        assert ra["application_name"] == "lg-locks-A"
        assert ra["xact_start_us"] > 0 and ra["wait_start_us"] is None
        assert ra["locktype"] is None and ra["mode"] is None
        for r in (rb, rc):
            assert r["state"] == "active"
            assert r["locktype"] == "transactionid" and r["mode"] == "ShareLock", r
            assert 0 < r["wait_start_us"] <= s["at_us"]
        assert rb["query"] == "UPDATE %s SET v = v + 10 WHERE id = 1" % TABLE
        assert rc["query"] == "UPDATE %s SET v = v + 100 WHERE id = 2" % TABLE
        assert rc["usename"] == "lg_scram" and rc["application_name"] == "lg-locks-C"
        assert rc["client_addr"] == "127.0.0.1" and rc["client_port"] == local_port(c)
        # the pglifeguard clients behind A's and B's backends; C is direct
        assert ra["pooler_client_addr"] == "127.0.0.1"
        assert ra["pooler_client_port"] == local_port(a)
        assert ra["pooler_application_name"] == "lg-locks-A"
        assert ra["pooler_user"] == "lg_plain" and ra["pooler_database"] == "lgtest"
        assert ra["pooler_client_id"] > 0 and ra["pooler_server_id"] > 0
        assert rb["pooler_client_port"] == local_port(b)
        assert rb["pooler_application_name"] == "lg-locks-B"
        assert rb["pooler_client_id"] != ra["pooler_client_id"]
        assert rc["pooler_client_id"] is None and rc["pooler_server_id"] is None
        # the pooler's own view agrees on A's client id
        ck = [r for r in pooler.admin("SHOW CHECKOUTS") if r.get("backend_pid") == a_pid]
        if ck and "client_id" in ck[0]:
            assert ck[0]["client_id"] == ra["pooler_client_id"]

        # --- the CLI, field by field
        doc1 = locks_json(store)
        cur = tree_of(doc1)
        assert cur["waiters"] == 2 and cur["age_seconds"] < 10
        assert len(cur["trees"]) == 1
        tree = cur["trees"][0]
        assert tree["root_pid"] == a_pid and tree["cycle"] is False
        nodes = tree["backends"]
        assert [(n["pid"], n["depth"], n["blocked_by"]) for n in nodes] == [
            (a_pid, 0, None), (b_pid, 1, a_pid), (c_pid, 2, b_pid)]
        na, nb, nc = nodes
        assert na["waiting"] is False and na["wait_seconds"] is None
        assert na["state"] == "idle in transaction"
        assert na["pglifeguard_client"] == {
            "id": ra["pooler_client_id"], "addr": "127.0.0.1", "port": local_port(a),
            "user": "lg_plain", "database": "lgtest", "application_name": "lg-locks-A"}
        assert nb["pglifeguard_client"]["application_name"] == "lg-locks-B"
        assert nc["pglifeguard_client"] is None and nc["pglifeguard_server_id"] is None
        for n in (nb, nc):
            assert n["waiting"] is True and n["root_pid"] == a_pid
            assert n["mode"] == "ShareLock" and n["locktype"] == "transactionid"
            assert n["wait_seconds"] >= 0
        assert nc["usename"] == "lg_scram" and nc["client_port"] == local_port(c)
        # the wait grows from sample to sample and stays one wait
        def grown():
            doc = locks_json(store)
            node = tree_of(doc)["trees"][0]["backends"][1]
            return (doc, node) if node["wait_seconds"] >= nb["wait_seconds"] + 1.0 else None
        grown_doc = wait_for(grown, 10)
        assert grown_doc, pooler.log()[-3000:]
        doc2, nb2 = grown_doc
        assert nb2["pid"] == b_pid
        assert nb2["wait_start_us"] == nb["wait_start_us"]
        assert nb2["wait_seconds"] >= nb["wait_seconds"] + 1.0, (nb, nb2)
        longest = {w["pid"]: w for w in doc2["longest_waits"] if w["database"] == "lgtest"}
        assert set(longest) >= {b_pid, c_pid}
        assert longest[b_pid]["samples"] >= 2
        assert longest[b_pid]["longest_wait_seconds"] >= nb2["wait_seconds"] - 0.001
        assert longest[b_pid]["root_pid"] == a_pid
        assert longest[b_pid]["root_query"].startswith("UPDATE %s" % TABLE)
        assert longest[c_pid]["mode"] == "ShareLock"
        blockers = [x for x in doc2["top_blockers"] if x["database"] == "lgtest"]
        assert blockers[0]["pid"] == a_pid
        assert blockers[0]["waits_blocked"] == 2
        assert blockers[0]["pglifeguard_client"]["application_name"] == "lg-locks-A"
        assert blockers[0]["samples"] >= 2
        assert blockers[0]["xact_seconds"] >= nb2["wait_seconds"]
        assert blockers[0]["longest_wait_seconds"] >= nb2["wait_seconds"] - 0.001
        # the people's view
        r = cli("-s", store, "locks")
        assert r.returncode == 0, r.stderr
        assert "lgtest: 2 waiting" in r.stdout, r.stdout
        assert "lg-locks-A" in r.stdout and "ShareLock transactionid" in r.stdout

        # A ends: B gets row 1 and finishes its statement, C still waits on B
        a.rollback()
        threads[0].join(10)
        assert not threads[0].is_alive() and threads[0].error is None
        s2 = wait_for(lambda: (lambda x: x if x and x["waiters"] == 1 else None)(
            latest(store)), 10)
        assert s2, pooler.log()[-3000:]
        rows = backends(store, s2["id"])
        assert set(rows) == {b_pid, c_pid}
        assert rows[b_pid]["waiting"] == 0 and rows[b_pid]["root_pid"] == b_pid
        assert rows[c_pid]["root_pid"] == b_pid
        # B ends: nothing waits, and the latest sample says so
        b.rollback()
        threads[1].join(10)
        assert not threads[1].is_alive() and threads[1].error is None
        s3 = wait_for(lambda: (lambda x: x if x and x["waiters"] == 0 else None)(
            latest(store)), 10)
        assert s3, pooler.log()[-3000:]
        assert backends(store, s3["id"]) == {}
        cur = tree_of(locks_json(store))
        assert cur["waiters"] == 0 and cur["trees"] == []
        # nothing more is written while nothing waits
        time.sleep(1.5)
        assert latest(store)["id"] == s3["id"]
        # the other monitored database of the cluster recorded none of it
        assert db_rows(store, "SELECT count(*) AS n FROM lock_samples"
                       " WHERE dbname = 'postgres'")[0]["n"] == 0
        assert [c["database"] for c in locks_json(store)["current"]] == ["lgtest"]
    finally:
        for conn in (a, b, c):
            with contextlib.suppress(Exception):
                conn.rollback()
        for t in threads:
            t.join(10)
        for conn in (a, b, c):
            conn.close()


def test_relation_lock(monitored, cluster):
    pooler, store = monitored
    a = pooler.connect(autocommit=False, application_name="lg-locks-lock")
    b = pooler.connect(autocommit=False)
    t = Blocked(b, "SELECT count(*) FROM %s" % TABLE)
    try:
        a_pid = one(a, "SELECT pg_backend_pid()")
        with a.cursor() as cur:
            cur.execute("LOCK TABLE %s IN ACCESS EXCLUSIVE MODE" % TABLE)
        b_pid = one(b, "SELECT pg_backend_pid()")
        t.start()
        s = wait_for(lambda: (lambda x: x if x and x["waiters"] == 1 else None)(latest(store)),
                     15)
        assert s, pooler.log()[-3000:]
        rows = backends(store, s["id"])
        assert rows[b_pid]["locktype"] == "relation"
        assert rows[b_pid]["mode"] == "AccessShareLock"
        assert rows[b_pid]["relation"] == TABLE
        assert rows[b_pid]["root_pid"] == a_pid
        assert rows[a_pid]["query"].startswith("LOCK TABLE")
        assert rows[a_pid]["pooler_application_name"] == "lg-locks-lock"
    finally:
        a.rollback()
        t.join(10)
        b.rollback()
        a.close()
        b.close()


@pytest.fixture
def nostats_role(cluster):
    cluster.query("DROP ROLE IF EXISTS lg_nostats")
    cluster.query("CREATE ROLE lg_nostats LOGIN PASSWORD 'lg-nostats-pw'")
    yield "lg_nostats"
    cluster.query("DROP ROLE IF EXISTS lg_nostats")


def test_without_read_all_stats_warns_once(make_pooler, store_dir, table, nostats_role,
                                           cluster):
    store = os.path.join(store_dir, "store.db")
    pooler = make_pooler(store_path=store, sample_interval=60, lock_sample_interval=0.5,
                         monitor_user=nostats_role, monitor_password="lg-nostats-pw",
                         monitor_databases="lgtest")
    a = pooler.connect(autocommit=False)
    b = pooler.connect(autocommit=False)
    t = Blocked(b, "UPDATE %s SET v = 5 WHERE id = 1" % TABLE)
    grant = "GRANT pg_read_all_stats TO lg_nostats"
    try:
        a_pid = one(a, "SELECT pg_backend_pid()")
        one(a, "UPDATE %s SET v = 4 WHERE id = 1 RETURNING v" % TABLE)
        b_pid = one(b, "SELECT pg_backend_pid()")
        t.start()
        assert wait_for(lambda: grant in pooler.log(), 15), pooler.log()[-3000:]
        first = wait_for(lambda: (lambda x: x if x and x["waiters"] == 1 else None)(
            latest(store)), 10)
        assert first, pooler.log()[-3000:]
        # still sampling: the same wait, seen again, with what a plain role may see
        s = wait_for(lambda: (lambda x: x if x["id"] > first["id"] + 1 else None)(
            latest(store)), 10)
        assert s and s["waiters"] == 1
        rows = backends(store, s["id"])
        assert set(rows) == {a_pid, b_pid}
        assert rows[a_pid]["query"] == "<insufficient privilege>"
        assert rows[b_pid]["root_pid"] == a_pid and rows[b_pid]["mode"] == "ShareLock"
        # the client behind the backend comes from the pooler, not from PostgreSQL
        assert rows[a_pid]["pooler_client_port"] == local_port(a)
        # the lock sampler's warning (the statements sampler has its own)
        lines = [line for line in pooler.log().splitlines()
                 if grant in line and "<insufficient privilege>" in line]
        assert len(lines) == 1, lines
        assert "lgtest" in lines[0]
    finally:
        a.rollback()
        t.join(10)
        b.rollback()
        a.close()
        b.close()


def test_cli_exit_codes(store_dir):
    missing = os.path.join(store_dir, "missing.db")
    r = cli("-s", missing, "locks", "--json")
    assert r.returncode == 2 and "does not exist" in r.stderr and r.stdout == ""
    foreign = os.path.join(store_dir, "foreign.db")
    db = sqlite3.connect(foreign)
    db.execute("CREATE TABLE t (x int)")
    db.commit()
    db.close()
    r = cli("-s", foreign, "locks")
    assert r.returncode == 2 and "not a pglifeguard store" in r.stderr
    r = cli("-s", foreign, "locks", "--since", "1y")
    assert r.returncode == 1 and "--since" in r.stderr
    r = cli("-s", foreign, "locks", "extra")
    assert r.returncode == 1
    r = cli("locks", "--help")
    assert r.returncode == 0 and "--since" in r.stdout
    r = cli("--help")
    assert r.returncode == 0 and "locks [--since DURATION]" in r.stdout
