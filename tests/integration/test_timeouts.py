"""The pooler's timeouts: each fires, gives the client a clear error where it
has one to give, and frees what the client held."""

import contextlib
import threading
import time

import psycopg2
import pytest

import wire
from support import wait_for


def fatal_after_idle(w, timeout):
    """Wait up to `timeout` for the pooler to close `w`; return the
    ErrorResponse it sent first, if any."""
    w.sock.settimeout(timeout)
    msgs = w.recv_until_closed()
    errs = [wire.error_fields(p) for t, p in msgs if t == "E"]
    return errs[0] if errs else None


def test_query_wait_timeout(make_pooler):
    pooler = make_pooler(pool_mode="transaction", default_pool_size=1, query_wait_timeout=2)
    holder = pooler.connect(autocommit=False)
    try:
        with holder.cursor() as cur:
            cur.execute("SELECT 1")  # BEGIN ... the only server is now taken
        w, err = pooler.login()
        assert err is None, err
        start = time.monotonic()
        w.send("Q", b"SELECT 'never'\0")
        err = fatal_after_idle(w, 10)
        waited = time.monotonic() - start
        w.close()
        assert err is not None
        assert err["C"] == "08P01", err
        assert "query_wait_timeout" in err["M"], err
        assert 1.5 <= waited < 6, waited
        # The holder is untouched.
        with holder.cursor() as cur:
            cur.execute("SELECT 2")
            assert cur.fetchone() == (2,)
        holder.commit()
        assert pooler.query("SELECT 3") == [(3,)]
    finally:
        holder.close()


def test_idle_transaction_timeout(make_pooler):
    pooler = make_pooler(pool_mode="transaction", idle_transaction_timeout=1)
    w, err = pooler.login()
    assert err is None, err
    try:
        assert w.query("BEGIN; SELECT pg_backend_pid()")[-1] == ("Z", b"T")
        start = time.monotonic()
        err = fatal_after_idle(w, 10)
        assert time.monotonic() - start < 6
        assert err is not None
        assert err["C"] == "08P01", err
        assert "idle transaction timeout" in err["M"], err
    finally:
        w.close()
    # The server connection was closed, not returned mid-transaction.
    assert wait_for(lambda: pooler.servers() == 0, 5)
    assert pooler.query("SELECT txid_current_if_assigned()") == [(None,)]


def test_idle_transaction_timeout_spares_idle_client(make_pooler):
    pooler = make_pooler(pool_mode="transaction", idle_transaction_timeout=1)
    with contextlib.closing(pooler.connect()) as conn, conn.cursor() as cur:
        cur.execute("SELECT 1")
        time.sleep(2.5)
        cur.execute("SELECT 2")  # idle, not in a transaction: still connected
        assert cur.fetchone() == (2,)


def test_client_idle_timeout(make_pooler):
    pooler = make_pooler(pool_mode="transaction", client_idle_timeout=1)
    w, err = pooler.login()
    assert err is None, err
    try:
        w.query("SELECT 1")
        start = time.monotonic()
        err = fatal_after_idle(w, 10)
        assert time.monotonic() - start < 6
        assert err is not None, "closed without an ErrorResponse"
        assert err["C"] == "08P01", err
        assert "client_idle_timeout" in err["M"], err
    finally:
        w.close()
    assert pooler.alive()


def test_query_timeout(make_pooler):
    pooler = make_pooler(pool_mode="transaction", query_timeout=1)
    w, err = pooler.login()
    assert err is None, err
    try:
        w.send("Q", b"SELECT pg_sleep(10)\0")
        start = time.monotonic()
        err = fatal_after_idle(w, 10)
        assert time.monotonic() - start < 6
        assert err is not None, "closed without an ErrorResponse"
        assert err["C"] == "08P01", err
        assert "query timeout" in err["M"], err
    finally:
        w.close()
    # libpq sees the connection end; short queries still work.
    with contextlib.closing(pooler.connect()) as conn, conn.cursor() as cur:
        start = time.monotonic()
        with pytest.raises(psycopg2.OperationalError):
            cur.execute("SELECT pg_sleep(10)")
        assert time.monotonic() - start < 6
    assert pooler.query("SELECT 'quick'") == [("quick",)]


def test_server_idle_timeout(make_pooler):
    pooler = make_pooler(pool_mode="transaction", default_pool_size=4, server_idle_timeout=1)
    conns = [pooler.connect() for _ in range(4)]
    try:
        # Four concurrent queries open four server connections.
        threads = [threading.Thread(target=lambda c=c: c.cursor().execute("SELECT pg_sleep(0.5)"))
                   for c in conns]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert pooler.servers() == 4
        # Idle for longer than server_idle_timeout: closed.
        assert wait_for(lambda: pooler.servers() == 0, 8), pooler.servers()
        # The clients are still connected and get new servers.
        for c in conns:
            with c.cursor() as cur:
                cur.execute("SELECT 1")
                assert cur.fetchone() == (1,)
    finally:
        for c in conns:
            c.close()


def test_server_lifetime(make_pooler):
    pooler = make_pooler(pool_mode="transaction", default_pool_size=1, server_lifetime=1)
    with contextlib.closing(pooler.connect()) as conn, conn.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        first = cur.fetchone()[0]
        time.sleep(3)
        cur.execute("SELECT pg_backend_pid()")
        second = cur.fetchone()[0]
    assert first != second
    assert first not in [r[0] for r in pooler.cluster.query("SELECT pid FROM pg_stat_activity")]


def test_server_lifetime_spares_busy_server(make_pooler):
    """A server past its lifetime is not closed under a running transaction."""
    pooler = make_pooler(pool_mode="transaction", default_pool_size=1, server_lifetime=1)
    with contextlib.closing(pooler.connect(autocommit=False)) as conn, conn.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        pid = cur.fetchone()[0]
        time.sleep(2.5)
        cur.execute("SELECT pg_backend_pid()")
        assert cur.fetchone() == (pid,)
        conn.commit()
