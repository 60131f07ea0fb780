"""Session state in transaction pooling: statements whose effect outlives
the transaction (SET without LOCAL, LISTEN, PREPARE, session advisory
locks, temp tables) are warned about once per client and kind, with the
client's identity, counted per pool (/metrics) and listed in SHOW
CHECKOUTS; SET LOCAL and tracked parameters are not; session mode flags
nothing."""

import re
import socket
import urllib.request

import pytest

from support import ON_PGBOUNCER, wait_for

pytestmark = pytest.mark.skipif(ON_PGBOUNCER, reason="session-state detection is pglifeguard's own")

WARNED = "statement leaves session state"


def warnings(pooler, needle=""):
    return [l for l in pooler.log().splitlines() if WARNED in l and needle in l]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def session_state_total(port):
    body = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=5).read().decode()
    total = 0.0
    for line in body.splitlines():
        m = re.match(r'pglifeguard_pool_session_state_total\{([^}]*)\} (\S+)$', line)
        if m and 'database="lgtest"' in m.group(1):
            total += float(m.group(2))
    return total


def checkout_kinds(pooler, app):
    rows = [r for r in pooler.admin("SHOW CHECKOUTS") if r["application_name"] == app]
    return rows[0]["session_state"] if rows else None


def test_set_warned_once_and_listed(make_pooler):
    port = free_port()
    pooler = make_pooler(pool_mode="transaction", metrics_listen="127.0.0.1:%d" % port)
    conn = pooler.connect(autocommit=False, application_name="stateful_app")
    try:
        with conn.cursor() as cur:
            cur.execute("SET search_path = x")
            # linked while the transaction is open: listed with its kinds
            assert checkout_kinds(pooler, "stateful_app") == "set"
        conn.commit()
        lines = wait_for(lambda: warnings(pooler, "stateful_app"), 3)
        assert len(lines) == 1, pooler.log()
        line = lines[0]
        assert "application_name=stateful_app" in line, line
        assert "lg_plain" in line and "lgtest" in line and "127.0.0.1:" in line, line
        assert "(set)" in line and "SET search_path = x" in line, line
        assert "transaction pool mode" in line, line

        with conn.cursor() as cur:
            cur.execute("SET search_path = x")
        conn.commit()
        # counted again, not warned again
        assert wait_for(lambda: session_state_total(port) == 2, 3), session_state_total(port)
        assert len(warnings(pooler, "stateful_app")) == 1, pooler.log()

        # transaction-scoped and tracked settings are fine
        with conn.cursor() as cur:
            cur.execute("SET LOCAL work_mem = '2MB'")
            cur.execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
        conn.commit()
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("SET application_name = 'renamed_app'")
            cur.execute("SELECT pg_advisory_xact_lock(11)")
            cur.execute("SELECT 1")
        assert session_state_total(port) == 2
        assert len(warnings(pooler)) == 1, pooler.log()
    finally:
        conn.close()


@pytest.mark.parametrize("kind,sql", [
    ("listen", "LISTEN lg_channel"),
    ("prepare", "PREPARE lg_stmt AS SELECT 1"),
    ("temp", "CREATE TEMP TABLE lg_temp (a int)"),
    ("advisory_lock", "SELECT pg_advisory_lock(4242)"),
])
def test_each_kind_detected(make_pooler, kind, sql):
    pooler = make_pooler(pool_mode="transaction")
    conn = pooler.connect(autocommit=False, application_name="kind_app")
    try:
        with conn.cursor() as cur:
            if kind == "advisory_lock":
                # outside a transaction: psycopg2 would open one first
                conn.autocommit = True
                cur.execute("SELECT 1; " + sql)
                conn.autocommit = False
                cur.execute("SELECT 1")
            else:
                cur.execute(sql)
            assert checkout_kinds(pooler, "kind_app") == kind
        lines = wait_for(lambda: warnings(pooler, "kind_app"), 3)
        assert len(lines) == 1 and "(%s)" % kind in lines[0], pooler.log()
        conn.rollback()
        if kind == "advisory_lock":
            with conn.cursor() as cur:
                cur.execute("SELECT pg_advisory_unlock_all()")
            conn.commit()
    finally:
        conn.close()


def test_advisory_lock_inside_transaction_not_flagged(make_pooler):
    pooler = make_pooler(pool_mode="transaction")
    conn = pooler.connect(autocommit=False, application_name="xact_lock_app")
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_lock(77)")
            cur.execute("SELECT pg_advisory_unlock(77)")
        conn.commit()
    finally:
        conn.close()
    assert warnings(pooler) == [], pooler.log()


def test_session_mode_flags_nothing(make_pooler):
    pooler = make_pooler(pool_mode="session")
    conn = pooler.connect(autocommit=True, application_name="session_app")
    try:
        with conn.cursor() as cur:
            cur.execute("SET search_path = x")
            cur.execute("LISTEN lg_channel")
            cur.execute("PREPARE lg_stmt AS SELECT 1")
            cur.execute("CREATE TEMP TABLE lg_temp (a int)")
            cur.execute("SELECT pg_advisory_lock(4243)")
            assert checkout_kinds(pooler, "session_app") == ""
    finally:
        conn.close()
    assert warnings(pooler) == [], pooler.log()


def session_state_by_kind(port):
    body = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=5).read().decode()
    kinds = {}
    for line in body.splitlines():
        m = re.match(r'pglifeguard_pool_session_state_total\{([^}]*)\} (\S+)$', line)
        if m and 'database="lgtest"' in m.group(1) and 'user="lg_plain"' in m.group(1):
            kind = re.search(r'kind="([^"]*)"', m.group(1))
            assert kind, line
            kinds[kind.group(1)] = float(m.group(2))
    return kinds, body


def test_counted_per_kind(make_pooler):
    import shutil
    import subprocess
    port = free_port()
    pooler = make_pooler(pool_mode="transaction", metrics_listen="127.0.0.1:%d" % port)
    conn = pooler.connect(autocommit=True, application_name="kinds_app")
    try:
        kinds, _ = session_state_by_kind(port)
        # every kind is exported from the start, at 0
        assert kinds == {k: 0 for k in ("set", "reset", "listen", "prepare", "advisory_lock",
                                        "temp", "hold_cursor", "load")}, kinds
        with conn.cursor() as cur:
            cur.execute("SET search_path = public")
            cur.execute("SET work_mem = '8MB'")
            cur.execute("LISTEN lg_kinds")
            cur.execute("PREPARE lg_kinds_stmt AS SELECT 1")
            cur.execute("SELECT pg_advisory_lock(99); SELECT pg_advisory_unlock(99)")
            cur.execute("CREATE TEMP TABLE lg_kinds_t (a int)")
            cur.execute("BEGIN; DECLARE lg_c CURSOR WITH HOLD FOR SELECT 1; COMMIT")
            cur.execute("SELECT 1")
        kinds, body = session_state_by_kind(port)
        assert kinds == {"set": 2, "reset": 0, "listen": 1, "prepare": 1, "advisory_lock": 1,
                         "temp": 1, "hold_cursor": 1, "load": 0}, kinds
        promtool = shutil.which("promtool")
        if promtool:
            proc = subprocess.run([promtool, "check", "metrics"], input=body.encode(),
                                  capture_output=True, timeout=60)
            assert proc.returncode == 0, proc.stdout.decode() + proc.stderr.decode()
    finally:
        conn.close()


def backend_state(pooler, cur):
    cur.execute("SELECT pg_backend_pid(), current_setting('search_path'),"
                " (SELECT count(*) FROM pg_prepared_statements),"
                " (SELECT count(*) FROM pg_listening_channels()),"
                " (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
                "  AND pid = pg_backend_pid()),"
                " (SELECT count(*) FROM pg_class WHERE relpersistence = 't'"
                "  AND relname = 'lg_reset_t')")
    return cur.fetchone()


def last_query(pooler, pid):
    return pooler.cluster.query("SELECT query FROM pg_stat_activity WHERE pid = %s",
                                (pid,))[0][0]


@pytest.mark.parametrize("reset", [1, 0])
def test_next_client_does_not_inherit_session_state(make_pooler, reset):
    pooler = make_pooler(pool_mode="transaction", default_pool_size=1,
                         session_state_reset=reset)
    first = pooler.connect(autocommit=True, application_name="dirty_app")
    second = pooler.connect(autocommit=True, application_name="next_app")
    try:
        with second.cursor() as cur:
            pid, default_path, *_ = backend_state(pooler, cur)
        # a clean transaction does not cost a reset
        with first.cursor() as cur:
            cur.execute("SELECT 1")
        assert last_query(pooler, pid) == "SELECT 1"
        with first.cursor() as cur:
            # one implicit transaction, so that nothing is reset in between
            cur.execute("SET search_path = lg_elsewhere, public;"
                        " PREPARE lg_reset_stmt AS SELECT 1; LISTEN lg_reset_channel;"
                        " SELECT pg_advisory_lock(4711); CREATE TEMP TABLE lg_reset_t (a int)")
        wait_for(lambda: last_query(pooler, pid) != "SELECT 1", 3)
        if reset:
            # reset as it went back to the pool, before anyone asked for it
            assert wait_for(lambda: last_query(pooler, pid) == "DISCARD ALL", 3)
        else:
            assert last_query(pooler, pid).startswith("SET search_path")
        with second.cursor() as cur:
            state = backend_state(pooler, cur)
        # the same server connection either way (reset, not closed)
        assert state[0] == pid
        lines = warnings(pooler, "dirty_app")
        assert lines, pooler.log()
        if reset:
            assert state == (pid, default_path, 0, 0, 0, 0), state
            assert all("server_reset_query undoes it" in l for l in lines), lines
        else:
            # PgBouncer's behaviour: the next client inherits it all
            assert state == (pid, "lg_elsewhere, public", 1, 1, 1, 1), state
            assert all("the next client of that connection inherits it" in l
                       for l in lines), lines
    finally:
        first.close()
        second.close()
