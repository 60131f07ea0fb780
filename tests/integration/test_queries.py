"""Plain queries through the pooler in session and transaction pooling:
psql, multi-statement queries, errors and their SQLSTATEs, failed
transactions, and connections that stay usable after errors."""

import contextlib

import psycopg2
import psycopg2.errors
import pytest

import wire


def test_psql_select(pooler):
    r = pooler.psql("-At", "-c", "SELECT 40 + 2", "-c", "SELECT current_user, current_database()")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["42", "lg_plain|lgtest"]


def test_psql_multi_statement(pooler):
    # psql -c sends both statements in one Query message.
    r = pooler.psql("-At", "-c", "SELECT 1; SELECT 2")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["1", "2"]


def test_multi_statement_one_query_message(pooler):
    w = pooler.wire()
    try:
        assert w.login("lg_plain", "lgtest", password=pooler.password("lg_plain")) is None
        msgs = w.query("SELECT 1; SELECT 'two'; SELECT 3")
        assert wire.rows(msgs) == [("1",), ("two",), ("3",)]
        assert [t for t, _ in msgs].count("C") == 3
        assert [t for t, _ in msgs].count("Z") == 1
        assert msgs[-1] == ("Z", b"I")
        # An error in the middle stops the rest, as in PostgreSQL.
        msgs = w.query("SELECT 1; SELECT 1/0; SELECT 3")
        assert wire.rows(msgs) == [("1",)]
        assert [e["C"] for e in wire.errors(msgs)] == ["22012"]
        assert msgs[-1] == ("Z", b"I")
    finally:
        w.close()


def test_psql_error_exit_status(pooler):
    r = pooler.psql("-v", "ON_ERROR_STOP=1", "-c", "SELECT * FROM lg_no_such_table")
    assert r.returncode == 1
    assert 'relation "lg_no_such_table" does not exist' in r.stderr


@pytest.mark.parametrize("sql, sqlstate, exc", [
    ("SELECT * FROM lg_no_such_table", "42P01", psycopg2.errors.UndefinedTable),
    ("SELECT 1/0", "22012", psycopg2.errors.DivisionByZero),
    ("SELEC 1", "42601", psycopg2.errors.SyntaxError),
    ("SELECT 'x'::int", "22P02", psycopg2.errors.InvalidTextRepresentation),
])
def test_error_sqlstate_and_reuse(pooler, sql, sqlstate, exc):
    with contextlib.closing(pooler.connect()) as conn, conn.cursor() as cur:
        with pytest.raises(exc) as err:
            cur.execute(sql)
        assert err.value.pgcode == sqlstate
        cur.execute("SELECT 7")
        assert cur.fetchone() == (7,)


def test_error_inside_transaction(pooler):
    with contextlib.closing(pooler.connect(autocommit=False)) as conn, conn.cursor() as cur:
        cur.execute("SELECT 1")
        with pytest.raises(psycopg2.errors.DivisionByZero):
            cur.execute("SELECT 1/0")
        assert conn.info.transaction_status == psycopg2.extensions.TRANSACTION_STATUS_INERROR
        with pytest.raises(psycopg2.errors.InFailedSqlTransaction) as err:
            cur.execute("SELECT 2")
        assert err.value.pgcode == "25P02"
        conn.rollback()
        assert conn.info.transaction_status == psycopg2.extensions.TRANSACTION_STATUS_IDLE
        cur.execute("SELECT 3")
        assert cur.fetchone() == (3,)
        conn.commit()


def test_transaction_commit_and_rollback(pooler, cluster):
    table = "lg_tx_%s" % pooler.settings["pool_mode"]
    cluster.query("DROP TABLE IF EXISTS %s; CREATE TABLE %s (v int)" % (table, table))
    cluster.query("GRANT ALL ON %s TO PUBLIC" % table)
    try:
        with contextlib.closing(pooler.connect(autocommit=False)) as conn, conn.cursor() as cur:
            cur.execute("INSERT INTO %s VALUES (1)" % table)
            conn.commit()
            cur.execute("INSERT INTO %s VALUES (2)" % table)
            conn.rollback()
            cur.execute("INSERT INTO %s VALUES (3)" % table)
            cur.execute("SELECT array_agg(v ORDER BY v) FROM %s" % table)
            assert cur.fetchone() == ([1, 3],)
            conn.commit()
        assert cluster.query("SELECT array_agg(v ORDER BY v) FROM %s" % table) == [([1, 3],)]
    finally:
        cluster.query("DROP TABLE %s" % table)


def test_many_sequential_connections(pooler):
    for i in range(50):
        assert pooler.query("SELECT %s::int * 2", (i,)) == [(i * 2,)]


def test_transaction_pooling_shares_servers(tx_pooler):
    """20 clients, each in turn running a transaction, on a pool of 5."""
    conns = [tx_pooler.connect() for _ in range(20)]
    try:
        pids = set()
        for _ in range(3):
            for conn in conns:
                with conn.cursor() as cur:
                    cur.execute("SELECT pg_backend_pid()")
                    pids.add(cur.fetchone()[0])
        assert 1 <= len(pids) <= 5
        assert 1 <= tx_pooler.servers() <= 5
    finally:
        for conn in conns:
            conn.close()


def test_session_pooling_keeps_server(session_pooler):
    with contextlib.closing(session_pooler.connect()) as conn, conn.cursor() as cur:
        cur.execute("SET work_mem = '3MB'")
        cur.execute("SELECT pg_backend_pid()")
        pid = cur.fetchone()[0]
        for _ in range(5):
            cur.execute("SELECT pg_backend_pid(), current_setting('work_mem')")
            assert cur.fetchone() == (pid, "3MB")
