"""Clients that misbehave, limits that are reached, a server that restarts:
each gets a clear error and the pooler goes on serving everyone else."""

import contextlib
import struct
import threading
import time

import psycopg2
import pytest

import wire
from support import pgbouncer_differs, per_pooler, wait_for


def assert_still_serving(pooler):
    assert pooler.alive()
    assert pooler.query("SELECT 'still here'") == [("still here",)]


def first_error(msgs):
    errs = [wire.error_fields(p) for t, p in msgs if t == "E"]
    return errs[0] if errs else None


def test_max_client_conn(make_pooler):
    pooler = make_pooler(max_client_conn=5)
    held = []
    try:
        for _ in range(5):
            w, err = pooler.login()
            assert err is None, err
            held.append(w)
        _, err = pooler.login()
        assert err is not None
        assert err["C"] == per_pooler("53300", "08P01"), err
        assert "no more connections allowed" in err["M"], err
        with pytest.raises(psycopg2.OperationalError) as exc:
            pooler.connect()
        assert "no more connections allowed" in str(exc.value)
        # One leaves: a new client gets in.
        held.pop().close()
        w = wait_for(lambda: pooler.login()[0], 5)
        assert w is not None
        held.append(w)
        assert wire.rows(w.query("SELECT 1")) == [("1",)]
    finally:
        for w in held:
            w.close()


# Startup packets no server accepts. Each must get an ErrorResponse and a
# closed connection, and leave the pooler serving.
BAD_STARTUP = {
    "length below minimum": struct.pack("!II", 4, wire.PROTOCOL_3),
    "protocol 4.0": wire.startup_packet("lg_plain", "lgtest", protocol=4 << 16),
    "protocol 2.0": wire.startup_packet("lg_plain", "lgtest", protocol=2 << 16),
    # Beside the codes of CancelRequest (1234.5678), SSLRequest (.5679)
    # and GSSENCRequest (.5680).
    "protocol 1234.5555": wire.startup_packet("lg_plain", "lgtest", protocol=(1234 << 16) | 5555),
    "oversized 100 kB": struct.pack("!II", 100000, wire.PROTOCOL_3) + b"x" * 99992,
    "oversized header 1 GB": struct.pack("!II", 1 << 30, wire.PROTOCOL_3),
    "no user": struct.pack("!II", 23, wire.PROTOCOL_3) + b"database\0lgtest\0\0",
    "unterminated parameters": struct.pack("!II", 16, wire.PROTOCOL_3) + b"user\0lg_p",
    "http request": b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n",
}


@pytest.mark.parametrize("packet", list(BAD_STARTUP), ids=list(BAD_STARTUP))
def test_malformed_startup_packet(tx_pooler, packet):
    w = tx_pooler.wire(timeout=5)
    try:
        w.send_raw(BAD_STARTUP[packet])
        msgs = w.recv_until_closed()
    finally:
        w.close()
    err = first_error(msgs)
    assert err is not None, "no ErrorResponse, got %r" % msgs
    assert err["C"] in ("08P01", "0A000"), err
    assert err["S"] == "FATAL"
    assert_still_serving(tx_pooler)


def test_malformed_cancel_request_closed(tx_pooler):
    """A CancelRequest gets no reply, even a malformed one (as in PostgreSQL):
    the connection is just closed."""
    w = tx_pooler.wire(timeout=5)
    try:
        w.send_raw(struct.pack("!IIIII", 20, wire.CANCEL_REQUEST, 1, 2, 3))
        assert w.recv_until_closed() == []
    finally:
        w.close()
    assert_still_serving(tx_pooler)


@pgbouncer_differs("rejects a startup packet that arrives in pieces"
                   " ('client sent partial pkt in startup phase')")
def test_startup_sent_byte_by_byte(tx_pooler):
    """A slow client: the startup packet arrives in 1-byte pieces."""
    w = tx_pooler.wire()
    try:
        for b in wire.startup_packet("lg_plain", "lgtest"):
            w.send_raw(bytes([b]))
            time.sleep(0.002)
        mtype, payload = w.recv()
        assert mtype == "R"
    finally:
        w.close()


@pytest.mark.parametrize("mtype", ["y", "\x01", "A"])
def test_unknown_message_after_login(tx_pooler, mtype):
    w, err = tx_pooler.login()
    assert err is None, err
    try:
        w.send(mtype, b"junk")
        msgs = w.recv_until_closed()
    finally:
        w.close()
    err = first_error(msgs)
    assert err is not None, msgs
    assert err["C"] == "08P01", err
    assert_still_serving(tx_pooler)


def test_bad_message_length_after_login(tx_pooler):
    w, err = tx_pooler.login()
    assert err is None, err
    try:
        w.send_raw(b"Q" + struct.pack("!I", 2))  # shorter than its own length field
        msgs = w.recv_until_closed()
    finally:
        w.close()
    err = first_error(msgs)
    assert err is not None and err["C"] == "08P01", msgs
    assert_still_serving(tx_pooler)


def test_ssl_request_answered_n(tx_pooler):
    w = tx_pooler.wire()
    try:
        w.send_raw(struct.pack("!II", 8, wire.SSL_REQUEST))
        assert w.recv_bytes(1) == b"N"
        # The same connection goes on in plain text.
        assert w.login("lg_plain", "lgtest", tx_pooler.password("lg_plain")) is None
        assert wire.rows(w.query("SELECT 'plain'")) == [("plain",)]
    finally:
        w.close()


def test_gssenc_request_answered_n(tx_pooler):
    w = tx_pooler.wire()
    try:
        w.send_raw(struct.pack("!II", 8, wire.GSSENC_REQUEST))
        assert w.recv_bytes(1) == b"N"
        assert w.login("lg_plain", "lgtest", tx_pooler.password("lg_plain")) is None
    finally:
        w.close()


def test_silent_client_closed_by_login_timeout(make_pooler):
    pooler = make_pooler(client_login_timeout=1)
    silent = pooler.wire()
    half = pooler.wire()
    try:
        # `half` starts but never answers the password request.
        half.send_raw(wire.startup_packet("lg_plain", "lgtest"))
        assert half.recv()[0] == "R"
        start = time.monotonic()
        assert silent.is_closed(8), "a silent client was not closed"
        assert half.is_closed(8), "a client stuck in authentication was not closed"
        assert time.monotonic() - start < 8
    finally:
        silent.close()
        half.close()
    assert_still_serving(pooler)


def test_postgres_restart(make_pooler, cluster):
    pooler = make_pooler(pool_mode="transaction", server_login_retry=1)
    busy = pooler.connect()
    idle = pooler.connect()
    try:
        with idle.cursor() as cur:
            cur.execute("SELECT 1")
        failure = {}

        def long_query():
            try:
                with busy.cursor() as cur:
                    cur.execute("SELECT pg_sleep(30)")
            except psycopg2.Error as e:
                failure["error"] = e

        t = threading.Thread(target=long_query)
        t.start()
        time.sleep(0.5)
        cluster.restart()
        t.join(30)
        assert not t.is_alive()
        # The client whose query was running gets an error, not a hang.
        assert "error" in failure

        def works():
            try:
                return pooler.query("SELECT 'back'") == [("back",)]
            except psycopg2.Error:
                return False

        assert wait_for(works, 20, interval=0.5), "the pool did not recover"
        # A client that was idle during the restart can go on (transaction
        # pooling held no server for it), possibly after one error.
        for _ in range(10):
            try:
                with idle.cursor() as cur:
                    cur.execute("SELECT 2")
                    assert cur.fetchone() == (2,)
                    break
            except psycopg2.OperationalError:
                idle.close()
                idle = pooler.connect()
        else:
            pytest.fail("idle client never got a working connection")
    finally:
        busy.close()
        idle.close()


def test_abrupt_disconnects_during_queries(tx_pooler):
    """Clients that vanish with a query in flight."""
    for _ in range(10):
        w, err = tx_pooler.login()
        assert err is None, err
        w.send("Q", b"SELECT pg_sleep(0.2), repeat('x', 100000) FROM generate_series(1, 20)\0")
        w.abort()
    assert_still_serving(tx_pooler)
    assert wait_for(lambda: tx_pooler.servers() <= 5, 5)


def test_many_bad_clients_then_good(tx_pooler):
    for i in range(50):
        with contextlib.closing(tx_pooler.wire(timeout=5)) as w:
            w.send_raw(BAD_STARTUP["http request"] if i % 2 else b"\0\0\0\x08\0\0")
            w.abort()
    assert_still_serving(tx_pooler)
