"""COPY in both directions (psycopg2 and psycopg 3) and large results and
queries: data that spans many buffers in both directions."""

import contextlib
import io

import psycopg
import psycopg2.errors
import pytest


@pytest.fixture
def table(pooler, cluster):
    name = "lg_copy_%s" % pooler.settings["pool_mode"]
    cluster.query("DROP TABLE IF EXISTS %s; CREATE TABLE %s (id int, payload text)" % (name, name))
    yield name
    cluster.query("DROP TABLE IF EXISTS %s" % name)


def test_copy_out_psycopg2(pooler):
    buf = io.StringIO()
    with contextlib.closing(pooler.connect()) as conn, conn.cursor() as cur:
        cur.copy_expert("COPY (SELECT g, md5(g::text) FROM generate_series(1, 200000) g)"
                        " TO STDOUT", buf)
        cur.execute("SELECT 1")
        assert cur.fetchone() == (1,)
    lines = buf.getvalue().splitlines()
    assert len(lines) == 200000
    assert lines[0].split("\t")[0] == "1"
    assert lines[-1].split("\t")[0] == "200000"


def test_copy_in_psycopg2(pooler, cluster, table):
    rows = "".join("%d\t%s\n" % (i, "p" * (i % 300)) for i in range(100000))
    with contextlib.closing(pooler.connect()) as conn, conn.cursor() as cur:
        cur.copy_expert("COPY %s FROM STDIN" % table, io.StringIO(rows))
        assert cur.rowcount == 100000
        cur.execute("SELECT 1")
        assert cur.fetchone() == (1,)
    assert cluster.query("SELECT count(*), sum(id), sum(length(payload)) FROM %s" % table) == [
        (100000, sum(range(100000)), sum(i % 300 for i in range(100000)))]


def test_copy_in_error_keeps_connection(pooler, cluster, table):
    with contextlib.closing(pooler.connect()) as conn, conn.cursor() as cur:
        with pytest.raises(psycopg2.errors.InvalidTextRepresentation) as err:
            cur.copy_expert("COPY %s FROM STDIN" % table, io.StringIO("1\tok\nnot-a-number\tx\n"))
        assert err.value.pgcode == "22P02"
        cur.execute("SELECT count(*) FROM %s" % table)
        assert cur.fetchone() == (0,)


def psycopg3_connect(pooler):
    return psycopg.connect(**pooler.dsn(), autocommit=True, prepare_threshold=None)


def test_copy_psycopg3(pooler, cluster, table):
    with psycopg3_connect(pooler) as conn:
        with conn.cursor() as cur:
            with cur.copy("COPY %s (id, payload) FROM STDIN" % table) as copy:
                for i in range(50000):
                    copy.write_row((i, "row %d" % i))
            with cur.copy("COPY (SELECT id, payload FROM %s ORDER BY id) TO STDOUT" % table) as copy:
                out = list(copy.rows())
    assert len(out) == 50000
    assert out[0] == ("0", "row 0") and out[-1] == ("49999", "row 49999")
    assert cluster.query("SELECT count(*) FROM %s" % table) == [(50000,)]


def test_ten_megabyte_value(pooler):
    size = 10 * 1024 * 1024
    with contextlib.closing(pooler.connect()) as conn, conn.cursor() as cur:
        cur.execute("SELECT repeat('x', %s)", (size,))
        value = cur.fetchone()[0]
        assert len(value) == size and value.count("x") == size
        cur.execute("SELECT 2")
        assert cur.fetchone() == (2,)


def test_many_rows(pooler):
    with contextlib.closing(pooler.connect()) as conn, conn.cursor() as cur:
        cur.execute("SELECT g, repeat('y', 50) FROM generate_series(1, 500000) g")
        rows = cur.fetchall()
    assert len(rows) == 500000
    assert sum(r[0] for r in rows) == 500000 * 500001 // 2


def test_large_query_text_and_parameter(pooler):
    big = "z" * (5 * 1024 * 1024)
    with contextlib.closing(pooler.connect()) as conn, conn.cursor() as cur:
        # psycopg2 inlines the value: one 5 MB Query message.
        cur.execute("SELECT length(%s), md5(%s) = md5(repeat('z', 5242880))", (big, big))
        assert cur.fetchone() == (len(big), True)
    with psycopg3_connect(pooler) as conn:
        # psycopg 3 binds it: a 5 MB Bind message.
        row = conn.execute("SELECT length(%s::text)", (big,)).fetchone()
        assert row == (len(big),)
