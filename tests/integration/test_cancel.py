"""Cancel requests: a real one stops the query at once; one with a wrong key
or an unknown pid changes nothing."""

import contextlib
import threading
import time

import psycopg2.errors
import pytest

import wire


def test_cancel_long_query(pooler):
    with contextlib.closing(pooler.connect()) as conn, conn.cursor() as cur:
        timer = threading.Timer(0.5, conn.cancel)
        timer.start()
        start = time.monotonic()
        try:
            with pytest.raises(psycopg2.errors.QueryCanceled) as err:
                cur.execute("SELECT pg_sleep(10)")
        finally:
            timer.cancel()
        assert err.value.pgcode == "57014"
        assert time.monotonic() - start < 4
        cur.execute("SELECT 5")
        assert cur.fetchone() == (5,)


def test_cancel_inside_transaction(pooler):
    with contextlib.closing(pooler.connect(autocommit=False)) as conn, conn.cursor() as cur:
        cur.execute("SELECT 1")
        threading.Timer(0.5, conn.cancel).start()
        with pytest.raises(psycopg2.errors.QueryCanceled):
            cur.execute("SELECT pg_sleep(10)")
        conn.rollback()
        cur.execute("SELECT 6")
        assert cur.fetchone() == (6,)
        conn.commit()


def test_cancel_with_wrong_key_does_nothing(pooler):
    w, err = pooler.login()
    assert err is None, err
    try:
        assert w.backend_key is not None, "no BackendKeyData from the pooler"
        pid, key = w.backend_key
        w.send("Q", b"SELECT 'finished' FROM pg_sleep(1.5)\0")
        time.sleep(0.3)
        wire.send_cancel("127.0.0.1", pooler.port, pid, key ^ 0x5A5A5A5A)
        wire.send_cancel("127.0.0.1", pooler.port, pid ^ 0x0F0F0F0F, key)
        wire.send_cancel("127.0.0.1", pooler.port, 0, 0)
        msgs = w.until_ready()
        assert wire.errors(msgs) == []
        assert wire.rows(msgs) == [("finished",)]
        # The right key still works on the same connection afterwards.
        w.send("Q", b"SELECT pg_sleep(10)\0")
        time.sleep(0.3)
        start = time.monotonic()
        wire.send_cancel("127.0.0.1", pooler.port, pid, key)
        msgs = w.until_ready()
        assert [e["C"] for e in wire.errors(msgs)] == ["57014"]
        assert time.monotonic() - start < 4
    finally:
        w.close()


def test_cancel_other_client_unaffected(tx_pooler):
    """Canceling one client's query leaves another client's query alone,
    even when both share the pool."""
    a = tx_pooler.connect()
    b = tx_pooler.connect()
    try:
        result = {}

        def run_b():
            with b.cursor() as cur:
                cur.execute("SELECT 'b done' FROM pg_sleep(1.5)")
                result["b"] = cur.fetchone()

        t = threading.Thread(target=run_b)
        t.start()
        threading.Timer(0.5, a.cancel).start()
        with a.cursor() as cur, pytest.raises(psycopg2.errors.QueryCanceled):
            cur.execute("SELECT pg_sleep(10)")
        t.join(10)
        assert result.get("b") == ("b done",)
    finally:
        a.close()
        b.close()


def test_late_cancel_does_not_hit_next_client(make_pooler):
    """A cancel sent while its client is idle reaches the backend after the
    client has left; the next client of that server connection must not
    see its query cancelled. The pooler keeps the server out of the pool
    until PostgreSQL has read the cancel."""
    pooler = make_pooler(pool_mode="session", default_pool_size=1)
    for _ in range(5):
        first = pooler.connect()
        with first.cursor() as cur:
            cur.execute("SELECT pg_backend_pid()")
            pid = cur.fetchone()[0]
        first.cancel()   # nothing is running: a late cancel for this backend
        first.close()
        with contextlib.closing(pooler.connect()) as second, second.cursor() as cur:
            cur.execute("SELECT pg_backend_pid(), pg_sleep(0.3)")
            assert cur.fetchone()[0] == pid  # the same server connection
