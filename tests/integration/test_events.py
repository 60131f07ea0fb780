"""Pooler events in the store: a suspected leak and its return, an alert
that fires and resolves, and pool saturation samples end up in the store
(schema 4) and in `pglifeguard-cli leaks/alerts --json`, checked field by
field against what the pooler showed live; the dropped-event counter of a
tiny queue; `pglifeguard-cli pools` against a live daemon and an absent
one; sampler leadership between two daemons on one database (only the
leader samples statements and lock waits, each daemon holds one sampling
connection); one log line when a monitored database goes down and one when
it comes back."""

import contextlib
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import threading
import time
import urllib.request

import pytest

from support import ON_PGBOUNCER, temp_dir, wait_for

pytestmark = pytest.mark.skipif(ON_PGBOUNCER, reason="the store is pglifeguard's own")

CLI = os.environ.get("PGLIFEGUARD_CLI") or os.path.join(
    os.path.dirname(os.environ.get("PGLIFEGUARD", "build/pglifeguard")), "pglifeguard-cli")
QUIET = dict(alert_wait_seconds=0, alert_max_wait_ms=0, alert_pool_utilization=0,
             alert_client_conn_percent=0, alert_leaks=0)


def cli(*args, env=None):
    return subprocess.run([CLI, *args], capture_output=True, text=True, timeout=30, env=env)


def cli_json(store, cmd, *args):
    r = cli("-s", store, cmd, "--json", *args)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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


@pytest.fixture
def store_dir():
    yield from temp_dir("lg-events.")


def monitor_settings(store, **more):
    settings = dict(store_path=store, sample_interval=1, monitor_user="lg_plain",
                    monitor_databases="lgtest")
    settings.update(more)
    return settings


def iso(at_us):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at_us // 1000000))


def test_leak_in_store_and_cli(make_pooler, store_dir, cluster):
    store = os.path.join(store_dir, "store.db")
    pooler = make_pooler(pool_mode="transaction", leak_threshold=1,
                         **monitor_settings(store, **QUIET))
    before_us = int(time.time() * 1e6)
    conn = pooler.connect(autocommit=False, application_name="leaky_app")
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM pg_class WHERE relname = 'secret_literal'")
            cur.execute("SELECT 42")
        quiet_us = int(time.time() * 1e6)
        assert wait_for(lambda: [l for l in pooler.log().splitlines()
                                 if "suspected connection leak" in l and "holds" in l], 5)
        client = [r for r in pooler.admin("SHOW CLIENTS")
                  if r["application_name"] == "leaky_app"][0]
        server = [r for r in pooler.admin("SHOW SERVERS") if r["state"] == "active"
                  and r["database"] == "lgtest"][0]
        # not server_pids(): the sampler logs in as lg_plain too
        backend_pid = cluster.query("SELECT pid FROM pg_stat_activity "
                                    "WHERE application_name = 'leaky_app'")[0][0]
        # written within one sample_interval, still held
        doc = wait_for(lambda: cli_json(store, "leaks")["leaks"], 5)
        assert len(doc) == 1, doc
        held = doc[0]
        assert held["returned_at_us"] is None and held["returned_after_s"] is None, held
        time.sleep(0.5)
        conn.commit()
    finally:
        conn.close()
    returned_us = int(time.time() * 1e6)
    doc = wait_for(lambda: [r for r in cli_json(store, "leaks", "--since", "10m")["leaks"]
                            if r["returned_at_us"] is not None], 5)
    assert len(doc) == 1, doc
    row = doc[0]
    assert row["database"] == "lgtest"
    assert row["user"] == "lg_plain"
    assert row["client_id"] == client["id"]
    assert row["client_addr"] == client["addr"] == "127.0.0.1"
    assert row["client_port"] == client["port"]
    assert row["application_name"] == "leaky_app"
    assert row["server_id"] == server["id"]
    assert row["backend_pid"] == backend_pid == server["remote_pid"]
    assert row["state"] == "idle in transaction"
    assert 1.0 <= row["idle_s"] < 3.0, row
    assert row["held_s"] >= row["idle_s"]
    # BEGIN, then the two queries: as in the log line
    assert row["xact_statements"] == 3
    assert before_us <= row["xact_start_us"] <= quiet_us, (before_us, row, quiet_us)
    assert row["last_statement"] == "SELECT $1"
    assert row["statement_truncated"] == 0
    assert before_us <= row["at_us"] <= returned_us
    assert row["at"] == iso(row["at_us"])
    assert row["at_us"] < row["returned_at_us"] <= returned_us + 1000000
    assert row["returned_after_s"] >= row["held_s"] + 0.4, row
    line = [l for l in pooler.log().splitlines() if "suspected connection leak" in l
            and "holds" in l][0]
    assert "C-%d " % row["client_id"] in line and "S-%d " % row["server_id"] in line, line
    assert "backend pid %d" % row["backend_pid"] in line, line
    # no literal value reaches the store, not even in the raw table
    assert not store_rows(store, "SELECT 1 FROM leak_events WHERE last_statement LIKE '%42%'")
    # the people's table
    r = cli("-s", store, "leaks")
    assert r.returncode == 0, r.stderr
    assert "leaky_app" in r.stdout and "idle in transaction" in r.stdout, r.stdout
    # a window that ends before the leak: nothing
    r = cli("-s", store, "leaks", "--json", "--since", "0s")
    assert r.returncode == 0 and json.loads(r.stdout)["leaks"] == [], r.stdout


def test_alert_in_store_and_cli(make_pooler, store_dir):
    store = os.path.join(store_dir, "store.db")
    settings = dict(QUIET, alert_for_seconds=1, alert_pool_utilization=90)
    pooler = make_pooler(pool_mode="transaction", default_pool_size=1,
                         **monitor_settings(store, **settings))
    holder = pooler.connect(autocommit=False, application_name="hog_app")
    waiter = pooler.connect()
    done = threading.Event()
    try:
        with holder.cursor() as cur:
            cur.execute("SELECT 'hog statement'")

        def wait_for_server():
            with waiter.cursor() as cur:
                cur.execute("SELECT 1")
            done.set()

        threading.Thread(target=wait_for_server, daemon=True).start()
        live = wait_for(lambda: [r for r in pooler.admin("SHOW ALERTS")
                                 if r["alert"] == "pool_utilization"
                                 and r["state"] == "firing"], 6, interval=0.1)
        assert live, pooler.log()[-3000:]
        fired = wait_for(lambda: cli_json(store, "alerts")["alerts"], 5)
        assert len(fired) == 1, fired
        # the pool at its busiest, one sample_interval apart at most
        assert wait_for(lambda: store_rows(
            store, "SELECT cl_active, cl_waiting, sv_active, pool_size, maxwait_us "
            "FROM pool_samples WHERE database = 'lgtest' AND username = 'lg_plain' "
            "AND sv_active = 1 AND cl_waiting = 1 AND pool_size = 1 AND maxwait_us > 0"), 5)
        holder.commit()
        assert done.wait(5)
        resolved = wait_for(lambda: [r for r in cli_json(store, "alerts")["alerts"]
                                     if r["state"] == "resolved"], 8)
        assert resolved, pooler.log()[-3000:]
    finally:
        holder.close()
        waiter.close()
    rows = cli_json(store, "alerts", "--since", "1h")["alerts"]
    assert [r["state"] for r in rows] == ["firing", "resolved"], rows
    f, r = rows
    live = live[0]
    assert f["alert"] == r["alert"] == "pool_utilization"
    assert f["database"] == r["database"] == "lgtest"
    assert f["user"] == r["user"] == "lg_plain"
    assert f["value"] == pytest.approx(float(live["value"])) == pytest.approx(100.0)
    assert f["threshold"] == r["threshold"] == pytest.approx(90.0)
    assert r["value"] <= 90.0
    assert "application_name=hog_app" in f["detail"] and "hog statement" in f["detail"], f
    assert f["detail"] == live["detail"]
    # and the statement with the most server time in the window, literals scrubbed
    assert "| top statements by server time in the last " in f["detail"], f
    assert re.search(r"s in 1: SELECT \?($|;)", f["detail"]), f
    assert f["at_us"] < r["at_us"] and f["at"] == iso(f["at_us"])
    # later samples show the pool drained: nobody waits any more
    assert wait_for(lambda: store_rows(
        store, "SELECT 1 FROM pool_samples WHERE database = 'lgtest' AND at_us > ? "
        "AND cl_waiting = 0 AND sv_active = 0", (r["at_us"],)), 5)
    out = cli("-s", store, "alerts")
    assert out.returncode == 0 and "pool_utilization" in out.stdout and "resolved" in out.stdout


def metrics(port):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=10) as f:
        text = f.read().decode()
    return {m.group(1): float(m.group(2))
            for m in re.finditer(r"^(pglifeguard_monitor_events\w*) (\S+)$", text, re.M)}


def test_tiny_queue_drops_and_counts(make_pooler, store_dir, cluster):
    store = os.path.join(store_dir, "store.db")
    port = free_port()
    # one queue slot; four pools sampled in one janitor pass every second
    pooler = make_pooler(pool_mode="session", monitor_queue_size=1,
                         metrics_listen="127.0.0.1:%d" % port, **monitor_settings(store, **QUIET))
    conns = [pooler.connect(user=u) for u in ("lg_plain", "lg_md5", "lg_scram")]
    conns.append(pooler.connect(dbname="postgres"))
    try:
        m = wait_for(lambda: (lambda v: v if v.get(
            "pglifeguard_monitor_events_dropped_total", 0) > 0 else None)(metrics(port)), 15)
        assert m, (metrics(port), pooler.log()[-2000:])
        assert m["pglifeguard_monitor_events_total"] > 0
    finally:
        for c in conns:
            c.close()
    # what was not dropped reaches the store, nothing more
    time.sleep(1.5)
    m = metrics(port)
    stored = store_rows(store, "SELECT count(*) FROM pool_samples")[0][0]
    assert 0 < stored <= m["pglifeguard_monitor_events_total"], (stored, m)


def test_pools_live(make_pooler, store_dir):
    pooler = make_pooler(pool_mode="session")
    env = dict(os.environ, PGPASSWORD=pooler.admin_password)
    env.pop("PGPORT", None)
    env.pop("PGHOST", None)
    conn = pooler.connect()
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1")  # the session holds its server from here on
        r = cli("pools", "-h", "127.0.0.1", "-p", str(pooler.port), "-U", "lg_admin", "--json",
                env=env)
        assert r.returncode == 0, r.stderr
        doc = json.loads(r.stdout)
        live = {(p["database"], p["user"]): p for p in pooler.admin("SHOW POOLS")}
        rows = {(p["database"], p["user"]): p for p in doc["pools"]}
        assert set(rows) == set(live)
        row = rows[("lgtest", "lg_plain")]
        assert list(row) == list(live[("lgtest", "lg_plain")])
        assert len(row) == 17
        assert row["cl_active"] == 1 and row["sv_active"] == 1 and row["cl_waiting"] == 0
        assert row["pool_mode"] == "session" and row["load_balance_hosts"] is None
        for key in ("sv_idle", "sv_used", "sv_tested", "sv_login", "maxwait", "maxwait_us"):
            assert row[key] == live[("lgtest", "lg_plain")][key], key
        # environment defaults, like psql; and the table for people
        env2 = dict(env, PGHOST="127.0.0.1", PGPORT=str(pooler.port), PGUSER="lg_admin")
        r = cli("pools", env=env2)
        assert r.returncode == 0, r.stderr
        lines = r.stdout.splitlines()
        assert lines[0].split()[:4] == ["database", "user", "cl_active", "cl_waiting"]
        assert any(l.split()[:5] == ["lgtest", "lg_plain", "1", "0", "1"] for l in lines), lines
    finally:
        conn.close()
    # nobody listening: a clear error and its own exit status
    closed = free_port()
    r = cli("pools", "-h", "127.0.0.1", "-p", str(closed), "-U", "lg_admin", env=env)
    assert r.returncode == 3, (r.returncode, r.stderr)
    assert "cannot reach the pglifeguard admin console" in r.stderr and str(closed) in r.stderr
    assert r.stdout == ""
    # a wrong password is refused by the console: same status, the reason shown
    r = cli("pools", "-h", "127.0.0.1", "-p", str(pooler.port), "-U", "lg_admin",
            env=dict(env, PGPASSWORD="wrong"))
    assert r.returncode == 3 and "password" in r.stderr, r.stderr
    r = cli("pools", "--bogus")
    assert r.returncode == 1


def test_event_commands_store_errors(store_dir):
    missing = os.path.join(store_dir, "nope.db")
    for cmd in ("leaks", "alerts"):
        r = cli("-s", missing, cmd, "--json")
        assert r.returncode == 2 and "does not exist" in r.stderr and r.stdout == ""
        r = cli("-s", missing, cmd, "--since", "soon")
        assert r.returncode == 1
    foreign = os.path.join(store_dir, "foreign.db")
    db = sqlite3.connect(foreign)
    db.execute("CREATE TABLE t (x)")
    db.commit()
    db.close()
    r = cli("-s", foreign, "alerts")
    assert r.returncode == 2 and "not a pglifeguard store" in r.stderr


def intervals(store):
    rows = store_rows(store, "SELECT count(*) FROM sample_intervals WHERE dbname = 'lgtest'")
    return rows[0][0] if rows else 0


def lines(pooler, text):
    """The log lines with TEXT."""
    return [l for l in pooler.log().splitlines() if text in l]


def lock_samples(store, waiters=0):
    rows = store_rows(store, "SELECT count(*) FROM lock_samples WHERE dbname = 'lgtest' "
                      "AND waiters >= ?", (waiters,))
    return rows[0][0] if rows else 0


def monitor_backends(pooler, cluster):
    """The pids of POOLER's sampling connections to lgtest."""
    ports = pooler._server_ports()
    return [r[0] for r in cluster.query(
        "SELECT pid FROM pg_stat_activity WHERE application_name = 'pglifeguard monitor' "
        "AND datname = 'lgtest' AND client_port = ANY(%s)", (ports,))] if ports else []


@pytest.fixture
def lock_wait(cluster):
    """A backend waiting on a row lock another one holds, both straight to
    PostgreSQL, until the test ends."""
    cluster.query("DROP TABLE IF EXISTS lg_leader_t; CREATE TABLE lg_leader_t (id int);"
                  "INSERT INTO lg_leader_t VALUES (1)")
    holder, waiter = cluster.connect(), cluster.connect()
    holder.autocommit = False
    with holder.cursor() as cur:
        cur.execute("UPDATE lg_leader_t SET id = 1")
    waiter_pid = waiter.get_backend_pid()

    def wait():
        with contextlib.suppress(Exception), waiter.cursor() as cur:
            cur.execute("UPDATE lg_leader_t SET id = 2")

    t = threading.Thread(target=wait, daemon=True)
    t.start()
    assert wait_for(lambda: cluster.query(
        "SELECT 1 FROM pg_stat_activity WHERE pid = %s AND wait_event_type = 'Lock'",
        (waiter_pid,)), 10)
    try:
        yield waiter_pid
    finally:
        holder.rollback()
        t.join(10)
        holder.close()
        waiter.close()
        cluster.query("DROP TABLE IF EXISTS lg_leader_t")


def test_leadership_one_sampler(make_pooler, store_dir, cluster, lock_wait):
    stores = [os.path.join(store_dir, "a.db"), os.path.join(store_dir, "b.db")]
    more = dict(QUIET, lock_sample_interval=0.5)
    first = make_pooler(**monitor_settings(stores[0], **more))
    assert wait_for(lambda: lines(first, "this instance samples it now"), 10), first.log()
    second = make_pooler(**monitor_settings(stores[1], **more))
    assert wait_for(lambda: lines(second, "standing by"), 10), second.log()
    assert wait_for(lambda: intervals(stores[0]) >= 3, 10)
    # the leader samples the lock wait too
    assert wait_for(lambda: lock_samples(stores[0], 1) >= 3, 10), first.log()[-2000:]
    time.sleep(2)
    # the second one writes no samples, neither statements nor lock waits,
    # and logs standing by once
    assert intervals(stores[1]) == 0
    assert lock_samples(stores[1]) == 0
    assert len(lines(second, "standing by")) == 1
    assert not lines(second, "samples it now")
    holders = cluster.query(
        "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
        "WHERE l.locktype = 'advisory' AND l.objid = 1885826151 AND l.granted "
        "AND d.datname = 'lgtest'")
    assert holders[0][0] == 1
    # one sampling connection per daemon, the leader's holding the lock
    firsts, seconds = monitor_backends(first, cluster), monitor_backends(second, cluster)
    assert len(firsts) == 1 and len(seconds) == 1, (firsts, seconds)
    assert cluster.query(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pglifeguard monitor' "
        "AND datname = 'lgtest'")[0][0] == 2
    assert cluster.query(
        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objid = 1885826151 "
        "AND granted") == [(firsts[0],)]
    # what the leader's lock samples saw waiting: the waiter
    rows = store_rows(stores[0], "SELECT DISTINCT pid FROM lock_backends WHERE waiting = 1")
    assert rows == [(lock_wait,)], rows
    first.signal(signal.SIGKILL)
    assert first.wait_exit(5)
    assert wait_for(lambda: lines(second, "this instance samples it now"), 10), second.log()
    assert wait_for(lambda: intervals(stores[1]) >= 2, 10), second.log()[-2000:]
    # and the lock waits with it
    assert wait_for(lambda: lock_samples(stores[1], 1) >= 2, 10), second.log()[-2000:]
    assert len(monitor_backends(second, cluster)) == 1
    rows = store_rows(stores[1], "SELECT dbname, leader FROM monitor_leadership")
    assert rows == [("lgtest", 1)], rows


def test_database_down_logged_once(make_pooler, store_dir):
    store = os.path.join(store_dir, "store.db")
    closed = free_port()
    pooler = make_pooler(**monitor_settings(
        store, monitor_databases="downdb",
        databases={"downdb": "host=127.0.0.1 port=%d dbname=lgtest" % closed}))
    assert wait_for(lambda: lines(pooler, "database downdb"), 10), pooler.log()
    time.sleep(6)  # tries at 1, 2, 4... seconds
    found = lines(pooler, "database downdb")
    assert len(found) == 1, found
    assert "retrying with backoff" in found[0] and "WARNING" in found[0].upper(), found
    # the pooler itself goes on
    assert pooler.query("SELECT 1") == [(1,)]


def test_database_restart_logged_once_each_way(make_pooler, store_dir, cluster):
    store = os.path.join(store_dir, "store.db")
    pooler = make_pooler(**monitor_settings(store, **QUIET))
    assert wait_for(lambda: intervals(store) >= 1, 15), pooler.log()[-3000:]
    cluster.restart()
    assert wait_for(lambda: lines(pooler, "database lgtest: connected again"), 20), \
        pooler.log()[-3000:]
    n = intervals(store)
    assert wait_for(lambda: intervals(store) >= n + 2, 10)
    down = [l for l in lines(pooler, "database lgtest") if "retrying with backoff" in l]
    assert len(down) == 1, pooler.log()[-3000:]
    # and nothing else about the outage: one line down, one line back,
    # though lock waits are sampled too (lock_sample_interval = 1 s)
    assert not lines(pooler, "lock sampler")
    assert not [l for l in lines(pooler, "database lgtest")
                if "WARNING" in l.upper() and "retrying with backoff" not in l], pooler.log()
    assert len(lines(pooler, "database lgtest: connected again")) == 1
    # it leads again after the reconnection
    assert len(lines(pooler, "this instance samples it now")) == 2


def test_privilege_warning_once(make_pooler, store_dir, cluster):
    grant = "GRANT pg_read_all_stats TO lg_plain"
    store = os.path.join(store_dir, "store.db")
    # the harness grants it: with it, no warning
    pooler = make_pooler(**monitor_settings(store, **QUIET))
    assert wait_for(lambda: intervals(store) >= 2, 10), pooler.log()[-3000:]
    assert lines(pooler, "this instance samples it now")
    assert not lines(pooler, grant)
    finish = pooler.stop()
    assert finish[0] == 0, finish
    cluster.query("REVOKE pg_read_all_stats FROM lg_plain")
    try:
        pooler = make_pooler(**monitor_settings(store, **QUIET))
        assert wait_for(lambda: lines(pooler, grant), 10), pooler.log()[-3000:]
        assert "user lg_plain cannot see other users' statements" in lines(pooler, grant)[0]
        n = intervals(store)
        # sampling goes on, and the warning is not repeated
        assert wait_for(lambda: intervals(store) >= n + 3, 10)
        assert len(lines(pooler, grant)) == 1
    finally:
        cluster.query(grant)
