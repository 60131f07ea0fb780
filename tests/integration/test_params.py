"""sample_query_params: statements sent through the pooler (simple Query,
psycopg 3's extended protocol, a prepared statement in transaction mode)
end up in the store's param_samples with their values in the numbering of
the normalized text, and with the fingerprint libpg_query gives the
pg_stat_statements text of the same statement; binary Bind values of the
common types are converted to text PostgreSQL reads back as the same value,
other binary values and NULL are null; utility statements (a password in ALTER ROLE) are never stored
nor logged; nothing is stored with the setting off, and sampling starts at reload."""

import contextlib
import ctypes
import ctypes.util
import datetime
import decimal
import json
import os
import signal
import socket
import sqlite3
import time
import urllib.request
import uuid

import pytest

from support import ON_PGBOUNCER, temp_dir, wait_for

pytestmark = pytest.mark.skipif(ON_PGBOUNCER, reason="the store is pglifeguard's own")
psycopg = pytest.importorskip("psycopg")

SECRET = "Tr0ub4dor-lg-params-secret"


class _Fingerprint(ctypes.Structure):
    _fields_ = [("fingerprint", ctypes.c_uint64), ("fingerprint_str", ctypes.c_char_p),
                ("stderr_buffer", ctypes.c_char_p), ("error", ctypes.c_void_p)]


_lib = ctypes.CDLL(ctypes.util.find_library("pg_query") or "libpg_query.so")
_lib.pg_query_fingerprint.restype = _Fingerprint
_lib.pg_query_fingerprint.argtypes = [ctypes.c_char_p]


def fingerprint(text):
    """libpg_query's fingerprint_str of `text` (what the advisor computes
    for a pg_stat_statements entry)."""
    r = _lib.pg_query_fingerprint(text.encode())
    assert not r.error, text
    return r.fingerprint_str.decode()


@pytest.fixture
def store_dir():
    yield from temp_dir("lg-params.")


@pytest.fixture
def table(cluster):
    cluster.query("DROP TABLE IF EXISTS lg_params; "
                  "CREATE TABLE lg_params (a int, b text, d date); "
                  "GRANT ALL ON lg_params TO PUBLIC; "
                  "INSERT INTO lg_params VALUES (42, 'O''Brien', '2024-01-01')")
    yield
    cluster.query("DROP TABLE IF EXISTS lg_params")


def rows(store, sql, args=()):
    if not os.path.exists(store):
        return []
    db = sqlite3.connect("file:%s?mode=ro" % store, uri=True)
    try:
        return db.execute(sql, args).fetchall()
    except sqlite3.OperationalError:
        return []  # not created yet
    finally:
        db.close()


def samples(store, like):
    return [(fp, q, json.loads(p)) for fp, q, p in rows(
        store, "SELECT fingerprint, query, params FROM param_samples WHERE query LIKE ? "
        "ORDER BY id", (like,))]


def wait_sample(store, like, count=1):
    assert wait_for(lambda: len(samples(store, like)) >= count, 15), (
        like, rows(store, "SELECT query, params FROM param_samples"))
    return samples(store, like)


def flushed_after(store, t0):
    """Wait until the monitor wrote a pool sample taken after `t0` (so the
    events queued before it are in the store too)."""
    assert wait_for(lambda: rows(store, "SELECT 1 FROM pool_samples WHERE at_us > ?",
                                 (int(t0 * 1e6) + 1_100_000,)), 15)


def settings(store, **more):
    s = dict(store_path=store, sample_interval=1, monitor_user="lg_plain",
             monitor_databases="lgtest", sample_query_params=1,
             sample_query_params_interval=0)
    s.update(more)
    return s


def pgss_text(cluster, like):
    r = cluster.query("SELECT query FROM pg_stat_statements WHERE query LIKE %s", (like,))
    assert len(r) == 1, r
    return r[0][0]


def test_simple_query_values_and_fingerprint(make_pooler, store_dir, table, cluster):
    store = os.path.join(store_dir, "store.db")
    pooler = make_pooler(pool_mode="transaction", **settings(store))
    assert pooler.query("SELECT a FROM lg_params WHERE b = 'O''Brien' AND a > -5 "
                        "AND d = DATE '2024-01-01' AND a IN (41, 42) LIMIT 10") == [(42,)]
    got = wait_sample(store, "SELECT a FROM lg_params WHERE b = %")
    fp, query, params = got[0]
    assert query == ("SELECT a FROM lg_params WHERE b = $1 AND a > $2 "
                     "AND d = DATE $3 AND a IN ($4, $5) LIMIT $6")
    assert params == ["O'Brien", "-5", "2024-01-01", "41", "42", "10"]
    # the pg_stat_statements entry of that statement has the same fingerprint
    assert fp == fingerprint(pgss_text(cluster, "SELECT a FROM lg_params WHERE b = $1%"))
    assert fp == fingerprint(query)


def test_multi_statement_query(make_pooler, store_dir, table, cluster):
    store = os.path.join(store_dir, "store.db")
    pooler = make_pooler(pool_mode="session", **settings(store))
    with contextlib.closing(pooler.connect()) as conn, conn.cursor() as cur:
        cur.execute("UPDATE lg_params SET b = 'x' WHERE a = 7; SELECT a FROM lg_params WHERE a = 8")
    got = wait_sample(store, "SELECT a FROM lg_params WHERE a = $1")
    assert got[0][2] == ["8"]
    got = wait_sample(store, "UPDATE lg_params SET b = $1 WHERE a = $2")
    assert got[0][2] == ["x", "7"]


def test_extended_protocol_psycopg3(make_pooler, store_dir, table, cluster):
    store = os.path.join(store_dir, "store.db")
    pooler = make_pooler(pool_mode="transaction", **settings(store))
    with psycopg.connect(**pooler.dsn(), autocommit=True, prepare_threshold=None) as conn:
        # %t: text format (psycopg 3 sends an int in binary for %s)
        cur = conn.execute("SELECT a FROM lg_params WHERE a = %t AND b = 'O''Brien' "
                           "AND b IS DISTINCT FROM %s LIMIT 5", (42, None))
        assert cur.fetchall() == [(42,)]
        # %b: the value goes in binary format, with its type in the Parse
        cur = conn.execute("SELECT b FROM lg_params WHERE a = %b AND b <> %s", (42, "zz"))
        assert cur.fetchall() == [("O'Brien",)]
        # binary of a type not converted (bytea): unknown
        cur = conn.execute("SELECT b FROM lg_params WHERE a = 42 AND b::bytea <> %b",
                           (b"\x00\x01",))
        assert cur.fetchall() == [("O'Brien",)]
    got = wait_sample(store, "SELECT a FROM lg_params WHERE a = $1 AND b = $3%")
    fp, query, params = got[0]
    assert query == ("SELECT a FROM lg_params WHERE a = $1 AND b = $3 "
                     "AND b IS DISTINCT FROM $2 LIMIT $4")
    assert params == ["42", None, "O'Brien", "5"]
    assert fp == fingerprint(pgss_text(cluster, "SELECT a FROM lg_params WHERE a = $1 AND b = $%"))
    got = wait_sample(store, "SELECT b FROM lg_params WHERE a = $1 AND b <> $2")
    assert got[0][2] == ["42", "zz"]
    got = wait_sample(store, "SELECT b FROM lg_params WHERE a = $2 AND b::bytea <> $1")
    assert got[0][2] == [None, "42"]


# Values psycopg 3 sends in binary with %b, and the type each one's text is
# cast to in PostgreSQL to compare it with the original.
BINARY_VALUES = [
    (42, "numeric"), (-(2 ** 40), "numeric"), (2 ** 63 - 1, "numeric"),
    (-(2 ** 63), "numeric"), (2 ** 70, "numeric"),
    (decimal.Decimal("-123.4500"), "numeric"), (decimal.Decimal("0"), "numeric"),
    (decimal.Decimal("1E-20"), "numeric"), (decimal.Decimal("NaN"), "numeric"),
    (decimal.Decimal("123456789012345678901234567890.5"), "numeric"),
    (decimal.Decimal("-0.000123"), "numeric"),
    (True, "bool"), (False, "bool"),
    (0.1, "float8"), (-1e300, "float8"), (float("inf"), "float8"), (float("nan"), "float8"),
    ("O'Brien \u00e9 \"x\"\\", "text"),
    (uuid.UUID("12345678-9abc-def0-0123-456789abcdef"), "uuid"),
    (datetime.date(2024, 2, 29), "date"), (datetime.date(1, 1, 1), "date"),
    (datetime.date(1969, 7, 20), "date"),
    (datetime.datetime(1999, 12, 31, 23, 59, 59, 500000), "timestamp"),
    (datetime.datetime(2026, 11, 23, 17, 31, 17, 123), "timestamp"),
    (datetime.datetime(1900, 1, 1), "timestamp"),
    (datetime.datetime(2024, 6, 1, 12, 34, 56, 789000,
                       tzinfo=datetime.timezone(datetime.timedelta(hours=5, minutes=30))),
     "timestamptz"),
    (datetime.datetime(1950, 1, 1, tzinfo=datetime.timezone.utc), "timestamptz"),
    (None, "text"),
]


@pytest.mark.parametrize("max_prepared_statements", [0, 200])
def test_binary_values_psycopg3(make_pooler, store_dir, table, cluster, max_prepared_statements):
    store = os.path.join(store_dir, "store.db")
    pooler = make_pooler(pool_mode="transaction", max_prepared_statements=max_prepared_statements,
                         **settings(store))
    sql = "SELECT " + ", ".join("%%b AS v%d" % i for i in range(len(BINARY_VALUES)))
    args = [v for v, _ in BINARY_VALUES]
    prepared = max_prepared_statements > 0
    with psycopg.connect(**pooler.dsn(), autocommit=True, prepare_threshold=None) as conn:
        # with prepared statements translated, the second run is a Bind
        # of the name alone: its types come from the Parse kept for it
        for _ in range(2 if prepared else 1):
            row = conn.execute(sql, args, prepare=prepared).fetchone()
            assert len(row) == len(args)
            args = args[:4] + [args[4] + 1] + args[5:]
    got = wait_sample(store, "SELECT $1 AS v0, $2 AS v1,%", 2 if prepared else 1)
    with psycopg.connect(host=cluster.host, port=cluster.port, user="postgres",
                         dbname="lgtest", autocommit=True) as direct:
        for n, (_, _, params) in enumerate(got):
            assert len(params) == len(BINARY_VALUES), params
            for i, (value, typ) in enumerate(BINARY_VALUES):
                if i == 4:
                    value += n  # the value of that run
                if value is None:
                    assert params[i] is None
                    continue
                assert params[i] is not None, (i, value, params)
                # the stored text, a literal of that type, is the value sent
                same = direct.execute("SELECT %%t::%s = %%b" % typ, (params[i], value)).fetchone()
                assert same == (True,), (value, typ, params[i])
    if prepared:
        assert [p[4] for _, _, p in got] == [str(2 ** 70), str(2 ** 70 + 1)]


def test_prepared_statement_transaction_mode(make_pooler, store_dir, table, cluster):
    store = os.path.join(store_dir, "store.db")
    pooler = make_pooler(pool_mode="transaction", **settings(store))
    with psycopg.connect(**pooler.dsn(), autocommit=True) as conn:
        for v in (40, 41, 42):
            cur = conn.execute("SELECT count(*) FROM lg_params WHERE a >= %t", (v,),
                               prepare=True)
            assert cur.fetchall() == [(1,)]
    got = wait_sample(store, "SELECT count(*) FROM lg_params WHERE a >= $1", 3)
    assert [p for _, _, p in got] == [["40"], ["41"], ["42"]]
    assert got[0][0] == fingerprint(pgss_text(cluster, "SELECT count(*) FROM lg_params WHERE a >= $1"))


def test_rate_limit_and_newest_kept(make_pooler, store_dir, table, cluster):
    store = os.path.join(store_dir, "store.db")
    pooler = make_pooler(pool_mode="session", **settings(store, sample_query_params_interval=3600))
    with contextlib.closing(pooler.connect()) as conn, conn.cursor() as cur:
        for v in range(5):
            cur.execute("SELECT a FROM lg_params WHERE a = %d" % (100 + v))
    t0 = time.time()
    flushed_after(store, t0)
    got = samples(store, "SELECT a FROM lg_params WHERE a = $1")
    assert [p for _, _, p in got] == [["100"]]  # once per statement per interval

    store2 = os.path.join(store_dir, "store2.db")
    pooler2 = make_pooler(pool_mode="session", **settings(store2))
    with pooler2.connect() as conn, conn.cursor() as cur:
        for v in range(8):
            cur.execute("SELECT a FROM lg_params WHERE a = %d" % (200 + v))
    wait_sample(store2, "SELECT a FROM lg_params WHERE a = $1", 1)
    flushed_after(store2, time.time())
    got = samples(store2, "SELECT a FROM lg_params WHERE a = $1")
    assert [p for _, _, p in got] == [[str(200 + v)] for v in range(3, 8)]  # the newest 5


def test_utility_statements_never_stored_nor_logged(make_pooler, store_dir, table, cluster):
    store = os.path.join(store_dir, "store.db")
    pooler = make_pooler(pool_mode="session", **settings(store))
    with contextlib.closing(pooler.connect()) as conn, conn.cursor() as cur:
        for sql in ("ALTER ROLE lg_params_nobody PASSWORD '%s'" % SECRET,
                    "SELECT 1; ALTER ROLE lg_params_nobody PASSWORD '%s'" % SECRET):
            with pytest.raises(Exception):
                cur.execute(sql)
        cur.execute("SELECT a FROM lg_params WHERE a = 1234")
    with psycopg.connect(**pooler.dsn(), autocommit=True) as conn:
        with pytest.raises(psycopg.Error):
            conn.execute("ALTER ROLE lg_params_nobody PASSWORD %s", (SECRET,))
    wait_sample(store, "SELECT a FROM lg_params WHERE a = $1")
    flushed_after(store, time.time())
    everything = rows(store, "SELECT query || params FROM param_samples")
    assert everything, "nothing sampled at all"
    assert not [r for r in everything if SECRET in r[0] or "ROLE" in r[0].upper()]
    # "SELECT 1" of the multi-statement string was sampled on its own
    assert samples(store, "SELECT $1")[0][2] == ["1"]
    for path in (store, store + "-wal"):
        if os.path.exists(path):
            with open(path, "rb") as f:
                assert SECRET.encode() not in f.read()
    assert SECRET not in pooler.log()


def test_setting_off_stores_nothing(make_pooler, store_dir, table, cluster):
    store = os.path.join(store_dir, "store.db")
    pooler = make_pooler(pool_mode="transaction", **settings(store, sample_query_params=0))
    t0 = time.time()
    assert pooler.query("SELECT a FROM lg_params WHERE a = 42") == [(42,)]
    with psycopg.connect(**pooler.dsn(), autocommit=True) as conn:
        conn.execute("SELECT a FROM lg_params WHERE a = %s", (42,)).fetchall()
    flushed_after(store, t0)
    assert rows(store, "SELECT count(*) FROM param_samples") == [(0,)]

    # on at reload: the next statements are sampled
    with open(pooler.ini) as f:
        text = f.read()
    assert "sample_query_params = 0\n" in text
    with open(pooler.ini, "w") as f:
        f.write(text.replace("sample_query_params = 0\n", "sample_query_params = 1\n"))
    pooler.signal(signal.SIGHUP)
    assert wait_for(lambda: pooler.query("SELECT a FROM lg_params WHERE a = 42") == [(42,)]
                    and samples(store, "SELECT a FROM lg_params WHERE a = $1"), 15)
    assert samples(store, "SELECT a FROM lg_params WHERE a = $1")[0][2] == ["42"]


def test_too_long_skipped_and_counted(make_pooler, store_dir, table, cluster):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    store = os.path.join(store_dir, "store.db")
    # pkt_buf: the messages arrive whole, so they are too long rather than
    # partial (both skipped, counted apart)
    pooler = make_pooler(pool_mode="session", metrics_listen="127.0.0.1:%d" % port,
                         pkt_buf=65536, **settings(store))

    def metric(name):
        text = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=10).read()
        for line in text.decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
        return None

    assert metric("pglifeguard_param_samples_total") == 0
    long_value = "y" * 5000
    assert pooler.query("SELECT a FROM lg_params WHERE b = '%s'" % long_value) == []
    with psycopg.connect(**pooler.dsn(), autocommit=True) as conn:
        assert conn.execute("SELECT a FROM lg_params WHERE b = %s", (long_value,)).fetchall() == []
    assert pooler.query("SELECT a FROM lg_params WHERE a = 42") == [(42,)]
    wait_sample(store, "SELECT a FROM lg_params WHERE a = $1")
    flushed_after(store, time.time())
    assert samples(store, "SELECT a FROM lg_params WHERE b = $1") == []
    assert metric('pglifeguard_param_samples_skipped_total{reason="too_long"}') == 2
    assert metric("pglifeguard_param_samples_total") == 1
