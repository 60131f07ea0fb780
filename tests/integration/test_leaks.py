"""Leak detection with leak_threshold = 1 s: a client that holds a server
while quiet inside a transaction (or, in session mode, while idle) is
reported once, listed by SHOW LEAKS / SHOW CHECKOUTS, and reported again
when it lets go; long queries, busy transactions, COPY streams and LISTEN
sessions are not leaks; leak_action = close ends the client and gives the
server back, rolled back."""

import os
import subprocess
import threading
import time

import pytest

import wire
from support import ON_PGBOUNCER, wait_for

pytestmark = pytest.mark.skipif(ON_PGBOUNCER, reason="leak detection is pglifeguard's own")

FLAGGED = "suspected connection leak"


def leak_lines(pooler, needle=""):
    return [l for l in pooler.log().splitlines() if FLAGGED in l and needle in l]


def test_idle_in_transaction_flagged(make_pooler):
    pooler = make_pooler(pool_mode="transaction", leak_threshold=1)
    conn = pooler.connect(autocommit=False, application_name="leaky_app")
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM pg_class WHERE relname = 'secret_literal'")
            cur.execute("SELECT 42")
        quiet = time.monotonic()
        lines = wait_for(lambda: leak_lines(pooler, "holds"), 4, interval=0.05)
        flagged_after = time.monotonic() - quiet
        assert len(lines) == 1, pooler.log()
        # within 1 s of crossing the threshold
        assert 1.0 <= flagged_after < 2.0, flagged_after
        line = lines[0]
        assert "application_name=leaky_app" in line, line
        assert "lg_plain" in line and "lgtest" in line and "127.0.0.1:" in line, line
        assert "idle in transaction" in line, line
        # BEGIN (psycopg2 opens the transaction), then the two queries
        assert "3 statements in the transaction" in line, line
        assert "backend pid " in line and "backend pid 0" not in line, line
        # normalized: no literal values
        assert "SELECT $1" in line, line
        assert "42" not in line.split("last statement")[1], line

        leaks = pooler.admin("SHOW LEAKS")
        pools = [r for r in leaks if r["type"] == "pool" and r["database"] == "lgtest"]
        assert pools and pools[0]["leaks"] == 1 and pools[0]["suspected"] == 1, leaks
        suspects = [r for r in leaks if r["type"] == "checkout"]
        assert len(suspects) == 1, leaks
        assert suspects[0]["application_name"] == "leaky_app", suspects
        assert suspects[0]["idle_us"] >= 1000000, suspects

        rows = [r for r in pooler.admin("SHOW CHECKOUTS")
                if r["application_name"] == "leaky_app"]
        assert len(rows) == 1, rows
        row = rows[0]
        assert row["state"] == "idle in transaction", row
        assert row["suspected_leak"] == "yes", row
        assert row["transaction_statements"] == 3, row
        assert row["held_us"] >= row["idle_us"] >= 1000000, row
        assert row["last_statement"] == "SELECT 42", row

        time.sleep(max(0, 3 - (time.monotonic() - quiet)))
        # reported once, however long it stays
        assert len(leak_lines(pooler, "holds")) == 1
        # leak_action = log: the client goes on
        with conn.cursor() as cur:
            cur.execute("SELECT 1")
            assert cur.fetchone() == (1,)
        conn.commit()
    finally:
        conn.close()
    returned = wait_for(lambda: leak_lines(pooler, "returned"), 3)
    assert len(returned) == 1 and "returned S-" in returned[0], pooler.log()
    assert "application_name=leaky_app" in returned[0]
    assert "after 3." in returned[0] or "after 4." in returned[0], returned[0]
    assert [r for r in pooler.admin("SHOW LEAKS") if r["type"] == "checkout"] == []


def test_long_query_not_flagged(make_pooler):
    pooler = make_pooler(pool_mode="transaction", leak_threshold=1)
    conn = pooler.connect(autocommit=False)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1")  # inside a transaction from here
            done = []
            t = threading.Thread(target=lambda: (cur.execute("SELECT pg_sleep(10)"),
                                                 done.append(1)))
            t.start()
            time.sleep(2)
            rows = pooler.admin("SHOW CHECKOUTS")
            assert len(rows) == 1 and rows[0]["state"] == "active", rows
            assert rows[0]["suspected_leak"] == "no", rows
            t.join(20)
            assert done
            cur.execute("SELECT 2")  # back-to-back in the same transaction
        conn.commit()
    finally:
        conn.close()
    time.sleep(0.5)
    assert leak_lines(pooler) == [], pooler.log()


def test_pgbench_short_transactions_not_flagged(make_pooler, tmp_path):
    pooler = make_pooler(pool_mode="transaction", leak_threshold=1, default_pool_size=4)
    script = tmp_path / "short.sql"
    script.write_text("BEGIN;\nSELECT 1;\nSELECT now();\nCOMMIT;\n")
    for protocol in ("simple", "extended"):
        cmd = [os.path.join(pooler.cluster.bindir, "pgbench"), "-n", "-f", str(script),
               "-M", protocol, "-c", "8", "-j", "2", "-T", "3"]
        r = subprocess.run(cmd, env=pooler.client_env(), capture_output=True, text=True,
                           timeout=60)
        assert r.returncode == 0, r.stderr
    assert leak_lines(pooler) == [], pooler.log()


class SlowRows:
    """A file for copy_expert that yields one row every 0.25 s."""

    def __init__(self, n):
        self.n = n

    def read(self, size=-1):
        if self.n == 0:
            return ""
        time.sleep(0.25)
        self.n -= 1
        return "%d\tslow\n" % self.n

    readline = read


def test_copy_stream_not_flagged(make_pooler):
    pooler = make_pooler(pool_mode="transaction", leak_threshold=1)
    conn = pooler.connect(autocommit=False)
    try:
        with conn.cursor() as cur:
            cur.execute("CREATE TEMP TABLE copied (id int, v text) ON COMMIT DROP")
            start = time.monotonic()
            cur.copy_expert("COPY copied FROM STDIN", SlowRows(10))
            assert time.monotonic() - start > 2
            cur.execute("SELECT count(*) FROM copied")
            assert cur.fetchone() == (10,)
        conn.commit()
    finally:
        conn.close()
    assert leak_lines(pooler) == [], pooler.log()


def test_session_mode_listen_not_flagged(make_pooler):
    pooler = make_pooler(pool_mode="session", leak_threshold=1)
    listener = pooler.connect(application_name="listener")
    idler = pooler.connect(application_name="idler")
    try:
        with listener.cursor() as cur:
            cur.execute("LISTEN some_channel")
        with idler.cursor() as cur:
            cur.execute("SELECT 1")
        # the session-mode rule flags the idle session, not the listener
        lines = wait_for(lambda: leak_lines(pooler, "application_name=idler"), 4)
        assert len(lines) == 1 and "holds" in lines[0] and " idle;" in lines[0], lines
        time.sleep(1.5)
        assert leak_lines(pooler, "application_name=listener") == [], pooler.log()
        rows = {r["application_name"]: r for r in pooler.admin("SHOW CHECKOUTS")}
        assert rows["listener"]["listen"] == "yes" and rows["listener"]["suspected_leak"] == "no"
        assert rows["idler"]["suspected_leak"] == "yes"
    finally:
        listener.close()
        idler.close()
    assert wait_for(lambda: leak_lines(pooler, "returned"), 3)


def test_leak_action_close(make_pooler):
    pooler = make_pooler(pool_mode="transaction", leak_threshold=1, leak_action="close",
                         default_pool_size=1)
    w, err = pooler.login(application_name="closeme")
    assert err is None, err
    try:
        msgs = w.query("BEGIN; SELECT pg_backend_pid()")
        assert msgs[-1] == ("Z", b"T")
        pid = wire.rows(msgs)[0][0]
        start = time.monotonic()
        w.sock.settimeout(5)
        msgs = w.recv_until_closed()
        assert time.monotonic() - start < 3
        errs = wire.errors(msgs)
        assert len(errs) == 1, msgs
        assert errs[0]["C"] == "25P03", errs
        assert "leak_threshold" in errs[0]["M"] and "rolled back" in errs[0]["M"], errs
    finally:
        w.close()
    # the server went back to the pool, out of the transaction
    assert wait_for(lambda: leak_lines(pooler, "returned"), 3), pooler.log()
    rows = pooler.query("SELECT pg_backend_pid(), now() = statement_timestamp()")
    assert rows == [(int(pid), True)], rows
    assert len(leak_lines(pooler, "application_name=closeme")) == 2


def test_leak_action_close_idle_session(make_pooler):
    pooler = make_pooler(pool_mode="session", leak_threshold=1, leak_action="close",
                         default_pool_size=1)
    w, err = pooler.login(application_name="idle_session")
    assert err is None, err
    try:
        msgs = w.query("SET work_mem = '7MB'; SELECT pg_backend_pid()")
        assert msgs[-1] == ("Z", b"I")
        pid = wire.rows(msgs)[0][0]
        w.sock.settimeout(5)
        errs = wire.errors(w.recv_until_closed())
        assert len(errs) == 1 and errs[0]["C"] == "57P05", errs
        assert "leak_threshold" in errs[0]["M"], errs
    finally:
        w.close()
    # same server, reset by server_reset_query
    rows = pooler.query("SELECT pg_backend_pid(), current_setting('work_mem')")
    assert rows[0][0] == int(pid) and rows[0][1] != "7MB", rows


def test_leak_action_cancel(make_pooler):
    pooler = make_pooler(pool_mode="transaction", leak_threshold=1, leak_action="cancel")
    conn = pooler.connect(autocommit=False, application_name="cancelme")
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1")
            assert wait_for(lambda: [l for l in pooler.log().splitlines()
                                     if "leak_action cancel" in l and "cancelme" in l], 4)
            time.sleep(0.3)
            # an idle backend ignores the cancel: the transaction goes on
            cur.execute("SELECT 2")
            assert cur.fetchone() == (2,)
        conn.commit()
    finally:
        conn.close()
    assert wait_for(lambda: leak_lines(pooler, "returned"), 3)
