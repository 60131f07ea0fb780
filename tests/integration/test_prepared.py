"""Protocol-level prepared statements in transaction pooling
(max_prepared_statements): every client keeps its own statement names,
whatever server connection it gets.

The oracle for exact protocol behaviour is the same message sequence sent
through session pooling, where every byte passes unchanged between client
and PostgreSQL: the transaction pooler must answer with the same messages
(types, SQLSTATEs, error texts and rows)."""

import contextlib
import os
import re
import struct
import subprocess
import threading

import psycopg
import psycopg2
import pytest

from support import POOLER, running_pooler, wait_for
import wire

pytestmark = pytest.mark.skipif(POOLER != "pglifeguard",
                                reason="PgBouncer 1.18 has no max_prepared_statements")

POOL = 2


@pytest.fixture(scope="module")
def txp(cluster):
    with running_pooler(cluster, pool_mode="transaction", default_pool_size=POOL,
                        max_client_conn=200) as pooler:
        yield pooler


@pytest.fixture(scope="module")
def sessp(cluster):
    with running_pooler(cluster, pool_mode="session", default_pool_size=POOL) as pooler:
        yield pooler


# --- raw protocol ------------------------------------------------------------

def cstr(s):
    return s.encode() + b"\0"


def parse(name, sql, types=()):
    return ("P", cstr(name) + cstr(sql) + struct.pack("!H", len(types)) +
            b"".join(struct.pack("!I", t) for t in types))


def bind(name, params=(), portal=""):
    body = cstr(portal) + cstr(name) + struct.pack("!H", 0) + struct.pack("!H", len(params))
    for p in params:
        if p is None:
            body += struct.pack("!i", -1)
        else:
            v = str(p).encode()
            body += struct.pack("!i", len(v)) + v
    return ("B", body + struct.pack("!H", 0))


def execute(portal=""):
    return ("E", cstr(portal) + struct.pack("!I", 0))


def describe(kind, name):
    return ("D", kind.encode() + cstr(name))


def close(kind, name):
    return ("C", kind.encode() + cstr(name))


SYNC = ("S", b"")
FLUSH = ("H", b"")


def query(sql):
    return ("Q", cstr(sql))


def summary(msgs):
    """Comparable form of responses: type, and for errors the SQLSTATE and
    message, for data rows the values, for CommandComplete the tag."""
    out = []
    for mtype, payload in msgs:
        if mtype == "E":
            f = wire.error_fields(payload)
            out.append(("E", f.get("C"), f.get("M")))
        elif mtype == "D":
            out.append(("D", tuple(wire.rows([(mtype, payload)])[0])))
        elif mtype == "C":
            out.append(("C", payload.rstrip(b"\0").decode()))
        elif mtype == "Z":
            out.append(("Z", payload.decode()))
        elif mtype in "NS":
            continue  # notices and parameter changes are not compared
        else:
            out.append((mtype,))
    return out


class Client:
    def __init__(self, pooler):
        self.w = pooler.wire()
        err = self.w.login("lg_plain", "lgtest", pooler.password("lg_plain"))
        assert err is None, err

    def run(self, *msgs, readies=None):
        """Send MSGS at once, read until as many ReadyForQuery as Syncs and
        Queries were sent (or READIES)."""
        for m in msgs:
            self.w.send(*m)
        want = readies if readies is not None else sum(1 for m in msgs if m[0] in "SQ")
        out = []
        while want:
            m = self.w.recv()
            out.append(m)
            if m[0] == "Z":
                want -= 1
        return summary(out)

    def recv_n(self, n):
        return summary([self.w.recv() for _ in range(n)])

    def close(self):
        self.w.send("X")
        self.w.close()


@contextlib.contextmanager
def clients(pooler, n=1):
    cs = [Client(pooler) for _ in range(n)]
    try:
        yield cs if n > 1 else cs[0]
    finally:
        for c in cs:
            c.close()


def both(txp, sessp, script):
    """Run SCRIPT(client) through both poolers; return both summaries."""
    with clients(sessp) as c:
        want = script(c)
    with clients(txp) as c:
        got = script(c)
    return want, got


def hold_servers(pooler, n):
    """N connections each holding a server in an open transaction."""
    conns = []
    for _ in range(n):
        c = pooler.connect(autocommit=False)
        c.cursor().execute("SELECT 1")
        conns.append(c)
    return conns


def test_parse_bind_across_servers(txp, sessp):
    """A statement prepared on one server connection is executed on
    another one: the pooler prepares it there first, in the same round
    trip, and the client sees only its own messages."""
    def script(c):
        out = c.run(parse("s1", "SELECT $1::int + 1"), bind("s1", [41]), execute(), SYNC)
        # the pooled server that prepared it is now taken by someone else
        held = hold_servers(c.pooler, 1) if hasattr(c, "pooler") else []
        try:
            out += c.run(bind("s1", [1]), execute(), SYNC)
            out += c.run(describe("S", "s1"), SYNC)
        finally:
            for h in held:
                h.rollback()
                h.close()
        return out

    with clients(sessp) as c:
        want = script(c)
    assert want[:6] == [("1",), ("2",), ("D", ("42",)), ("C", "SELECT 1"), ("Z", "I"), ("2",)], want
    before = stats(txp)
    with clients(txp) as c:
        c.pooler = txp
        got = script(c)
    assert got == want
    after = stats(txp)
    assert after["total_client_parse_count"] - before["total_client_parse_count"] == 1
    # prepared on the first server, then again on the one it got next
    assert after["total_server_parse_count"] - before["total_server_parse_count"] == 2
    assert after["total_bind_count"] - before["total_bind_count"] == 2


def stats(pooler):
    rows = pooler.admin("SHOW STATS")
    row = next(r for r in rows if r["database"] == "lgtest")
    return {k: int(v) for k, v in row.items() if k != "database"}


def test_server_side_names_are_the_poolers(txp):
    """The client's names never reach PostgreSQL: the statement exists on
    the server under the pooler's own name."""
    with clients(txp) as c:
        c.run(parse("my_name", "SELECT 7"), SYNC)
        got = c.run(query("BEGIN"), bind("my_name"), execute(), SYNC)
        assert ("D", ("7",)) in got
        names = c.run(query("SELECT name, statement FROM pg_prepared_statements "
                            "WHERE statement = 'SELECT 7'"))
        c.run(query("COMMIT"))
    rows = [r[1] for r in names if r[0] == "D"]
    assert rows and all(r[0].startswith("PGLG_S") for r in rows), names
    assert not any(r[0] == "my_name" for r in rows)


def test_shared_by_text_across_clients(txp):
    """Many clients preparing the same statement under their own names
    share one server-side statement per server connection."""
    before = stats(txp)
    with clients(txp, 10) as cs:
        for i, c in enumerate(cs):
            got = c.run(parse("q%d" % i, "SELECT $1::int * 3 AS shared"), bind("q%d" % i, [i]),
                        execute(), SYNC)
            assert ("D", (str(3 * i),)) in got
        for i, c in enumerate(cs):
            got = c.run(bind("q%d" % i, [i + 1]), execute(), SYNC)
            assert ("D", (str(3 * (i + 1)),)) in got
    after = stats(txp)
    assert after["total_client_parse_count"] - before["total_client_parse_count"] == 10
    assert after["total_server_parse_count"] - before["total_server_parse_count"] <= POOL


def test_pipeline_error_in_the_middle(txp, sessp):
    """Several Parse/Bind/Execute before one Sync, the middle one failing:
    PostgreSQL skips to Sync, the statements parsed after the error never
    exist, and the ones before do."""
    def script(c):
        out = c.run(parse("a", "SELECT 1"), bind("a"), execute(),
                    parse("b", "SELECT 1/$1::int"), bind("b", [0]), execute(),
                    parse("c", "SELECT 3"), bind("c"), execute(), close("S", "a"), SYNC)
        out += c.run(bind("c"), execute(), SYNC)
        out += c.run(bind("a"), execute(), SYNC)
        out += c.run(bind("b", [1]), execute(), SYNC)
        return out

    want, got = both(txp, sessp, script)
    assert ("E", "22012", "division by zero") in want
    assert ("E", "26000", 'prepared statement "c" does not exist') in want
    assert got == want


def test_failed_parse_is_not_remembered(txp, sessp):
    def script(c):
        out = c.run(parse("bad", "SELEC 1"), SYNC)
        out += c.run(bind("bad"), execute(), SYNC)
        out += c.run(parse("bad", "SELECT 'now good'"), bind("bad"), execute(), SYNC)
        return out

    want, got = both(txp, sessp, script)
    assert want[0][:2] == ("E", "42601")
    assert got == want


def test_duplicate_name(txp, sessp):
    def script(c):
        out = c.run(parse("dup", "SELECT 1"), SYNC)
        out += c.run(parse("dup", "SELECT 2"), bind("dup"), execute(), SYNC)
        out += c.run(query("BEGIN"), parse("dup", "SELECT 3"), SYNC, query("SELECT 1"),
                     query("ROLLBACK"))
        out += c.run(bind("dup"), execute(), SYNC)
        return out

    want, got = both(txp, sessp, script)
    assert ("E", "42P05", 'prepared statement "dup" already exists') in want
    assert ("Z", "E") in want  # the failed Parse aborted the transaction
    assert got == want


def test_close_then_parse_other_text(txp, sessp):
    def script(c):
        out = c.run(parse("x", "SELECT 'first'"), bind("x"), execute(), SYNC)
        out += c.run(close("S", "x"), parse("x", "SELECT 'second'"), bind("x"), execute(), SYNC)
        out += c.run(close("S", "x"), SYNC)
        out += c.run(bind("x"), execute(), SYNC)
        out += c.run(close("S", "never_prepared"), close("P", ""), SYNC)
        return out

    want, got = both(txp, sessp, script)
    assert ("D", ("second",)) in want
    assert got == want


def test_describe_and_flush(txp, sessp):
    """Answers the pooler gives itself keep their place in the stream,
    also when the client asks with Flush instead of Sync."""
    def script(c):
        out = c.run(parse("d", "SELECT $1::int AS v, 'x'::text AS w"), SYNC)
        c.w.send(*parse("e", "SELECT 5"))
        c.w.send(*describe("S", "d"))
        c.w.send(*FLUSH)
        out += c.recv_n(3)  # ParseComplete, ParameterDescription, RowDescription
        out += c.run(bind("d", [3]), execute(), parse("d2", "SELECT $1::int AS v, 'x'::text AS w"),
                     describe("S", "d2"), SYNC)
        return out

    want, got = both(txp, sessp, script)
    assert got == want


def test_flush_only_parse_of_known_statement(txp):
    """A Parse the server already has is answered by the pooler at once,
    even when only a Flush follows."""
    with clients(txp, 2) as (a, b):
        a.run(parse("k", "SELECT 'known'"), SYNC)
        b.w.send(*parse("k2", "SELECT 'known'"))
        b.w.send(*FLUSH)
        assert b.recv_n(1) == [("1",)]
        assert b.run(bind("k2"), execute(), SYNC) == [("2",), ("D", ("known",)), ("C", "SELECT 1"),
                                                      ("Z", "I")]


def test_deallocate_and_discard(txp, sessp):
    def script(c):
        out = c.run(parse("p1", "SELECT 1"), parse("p2", "SELECT 2"), SYNC)
        out += c.run(query("DEALLOCATE p1"))
        out += c.run(bind("p1"), execute(), SYNC)
        out += c.run(bind("p2"), execute(), SYNC)
        out += c.run(query("DEALLOCATE nonexistent"))
        out += c.run(query("deallocate all"))
        out += c.run(bind("p2"), execute(), SYNC)
        out += c.run(parse("p3", "SELECT 3"), SYNC, query("DISCARD ALL"))
        out += c.run(bind("p3"), execute(), SYNC)
        out += c.run(parse("p3", "SELECT 33"), bind("p3"), execute(), SYNC)
        out += c.run(query("BEGIN"), query("SELECT 1/0"), query("DEALLOCATE p3"),
                     query("ROLLBACK"))
        out += c.run(bind("p3"), execute(), SYNC)
        return out

    want, got = both(txp, sessp, script)
    assert ("C", "DEALLOCATE") in want and ("C", "DEALLOCATE ALL") in want
    assert ("E", "26000", 'prepared statement "p3" does not exist') in want
    assert got == want


def test_eviction(cluster):
    """max_prepared_statements = 2 with 10 statements in rotation: every
    execution is right and no server keeps more than 2."""
    with running_pooler(cluster, pool_mode="transaction", default_pool_size=1,
                        max_prepared_statements=2) as p:
        with clients(p) as c:
            for i in range(10):
                c.run(parse("r%d" % i, "SELECT %d AS n, $1::int AS p" % i), SYNC)
            for rnd in range(3):
                for i in range(10):
                    got = c.run(bind("r%d" % i, [rnd]), execute(), SYNC)
                    assert got == [("2",), ("D", (str(i), str(rnd))), ("C", "SELECT 1"),
                                   ("Z", "I")], (rnd, i, got)
            on_server = c.run(query("SELECT count(*) FROM pg_prepared_statements"))
            assert on_server[1] == ("D", ("2",)) or on_server[1] == ("D", ("1",)), on_server
        servers = p.admin("SHOW SERVERS")
        assert servers and all(int(s["prepared_statements"]) <= 2 for s in servers), servers
        st = stats(p)
        assert st["total_client_parse_count"] == 10
        assert st["total_bind_count"] == 30
        assert st["total_server_parse_count"] >= 30


def test_result_type_change(txp, cluster):
    """DDL that changes a result type between two executions: the one
    execution fails with 0A000, the next one is prepared again and sees
    the new shape."""
    cluster.query("DROP TABLE IF EXISTS ps_shape")
    cluster.query("CREATE TABLE ps_shape (a int)")
    cluster.query("INSERT INTO ps_shape VALUES (1)")
    cluster.query("GRANT ALL ON ps_shape TO lg_plain")
    with clients(txp) as c:
        assert ("D", ("1",)) in c.run(parse("shape", "SELECT * FROM ps_shape"), bind("shape"),
                                      execute(), SYNC)
        cluster.query("ALTER TABLE ps_shape ADD COLUMN b int DEFAULT 2")
        got = c.run(bind("shape"), execute(), SYNC)
        assert got[0][:2] == ("E", "0A000"), got
        got = c.run(bind("shape"), execute(), SYNC)
        assert ("D", ("1", "2")) in got, got


def test_show_columns(txp):
    with clients(txp) as c:
        c.run(parse("sc1", "SELECT 'sc1'"), parse("sc2", "SELECT 'sc2'"), SYNC)
        rows = txp.admin("SHOW CLIENTS")
        mine = [r for r in rows if int(r["prepared_statements"]) == 2]
        assert mine, rows
    servers = txp.admin("SHOW SERVERS")
    assert any(int(s["prepared_statements"]) >= 2 for s in servers), servers


def test_psycopg3_pipeline_with_error(txp):
    """libpq pipeline mode (psycopg 3) with server-side prepared
    statements and a failing statement in the middle."""
    with psycopg.connect(**txp.dsn(), autocommit=True, prepare_threshold=0) as conn:
        with pytest.raises(psycopg.errors.DivisionByZero):
            with conn.pipeline():
                conn.execute("SELECT %s::int + 1", [1], prepare=True)
                conn.execute("SELECT 1 / %s::int", [0], prepare=True)
                conn.execute("SELECT %s::text", ["after"], prepare=True)
        # the connection works afterwards, its prepared statements too (not
        # the one after the error: psycopg 3.1 believes it prepared, also
        # directly against PostgreSQL)
        for i in range(5):
            assert conn.execute("SELECT %s::int + 1", [i], prepare=True).fetchone() == (i + 1,)
            assert conn.execute("SELECT 1 / %s::int", [1], prepare=True).fetchone() == (1,)
        with conn.pipeline():
            cs = [conn.execute("SELECT %s::int * 10", [i], prepare=True) for i in range(20)]
        assert [c.fetchone() for c in cs] == [(i * 10,) for i in range(20)]


def test_many_clients_psycopg3(txp):
    """Four times more clients than server connections, each preparing
    and running statements over many transactions."""
    errors = []

    def worker(k):
        try:
            with psycopg.connect(**txp.dsn(), autocommit=True, prepare_threshold=0) as conn:
                for i in range(30):
                    r = conn.execute("SELECT %s::int * 2, %s::text", [i + k, "w%d" % k],
                                     prepare=True).fetchone()
                    assert r == ((i + k) * 2, "w%d" % k), r
                    with conn.transaction():
                        r = conn.execute("SELECT %s::int + 100", [i], prepare=True).fetchone()
                        assert r == (i + 100,)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(repr(e))

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(POOL * 4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors


@pytest.mark.parametrize("script", ["select-only", "tpcb-like"])
def test_pgbench_prepared(cluster, script):
    """pgbench -M prepared, four times more clients than servers. One
    thread per client: pgbench prepares with the blocking PQprepare, so a
    thread whose client waits for a server stalls its other clients, which
    may hold the servers in open transactions (with any transaction
    pooler)."""
    clients_n, pool = 20, 5
    with running_pooler(cluster, pool_mode="transaction", default_pool_size=pool,
                        max_client_conn=100) as p:
        cmd = [os.path.join(cluster.bindir, "pgbench"), "-n", "-b", script, "-M", "prepared",
               "-c", str(clients_n), "-j", str(clients_n), "-t", "100"]
        r = subprocess.run(cmd, env=p.client_env(), capture_output=True, text=True, timeout=300)
        out = r.stdout + r.stderr
        assert r.returncode == 0, out
        total = clients_n * 100
        assert "number of transactions actually processed: %d/%d" % (total, total) in out, out
        failed = re.search(r"number of failed transactions: (\d+)", out)
        assert failed and failed.group(1) == "0", out
        st = stats(p)
        assert st["total_bind_count"] >= total
        # each statement prepared once per client, and at most once per
        # statement on each server connection
        assert st["total_server_parse_count"] <= st["total_client_parse_count"]


def test_sql_deallocate_in_extended_protocol(txp, sessp):
    """psycopg 3 sends DEALLOCATE ALL (after a ROLLBACK) and DEALLOCATE
    name as unnamed extended-protocol statements."""
    def script(c):
        out = c.run(parse("e1", "SELECT 'e1'"), parse("e2", "SELECT 'e2'"), SYNC)
        out += c.run(parse("", "DEALLOCATE e1"), bind(""), describe("P", ""), execute(), SYNC)
        out += c.run(bind("e1"), execute(), SYNC)
        out += c.run(bind("e2"), execute(), SYNC)
        out += c.run(parse("", "DEALLOCATE ALL"), bind(""), execute(), SYNC)
        out += c.run(bind("e2"), execute(), SYNC)
        out += c.run(parse("e2", "SELECT 'e2 again'"), bind("e2"), execute(), SYNC)
        return out

    # another client's statements on the same servers survive its DEALLOCATE ALL
    with clients(txp) as other:
        other.run(parse("o1", "SELECT 'o1'"), SYNC)
        want, got = both(txp, sessp, script)
        assert ("C", "DEALLOCATE ALL") in want and ("D", ("e2 again",)) in want
        assert got == want
        assert other.run(bind("o1"), execute(), SYNC)[1] == ("D", ("o1",))


def test_counters_in_metrics(cluster):
    from test_metrics import free_port, scrape, value
    port = free_port()
    with running_pooler(cluster, pool_mode="transaction", default_pool_size=1,
                        metrics_listen="127.0.0.1:%d" % port) as p:
        with clients(p, 2) as (a, b):
            a.run(parse("m1", "SELECT 'm'"), bind("m1"), execute(), SYNC)
            b.run(parse("m2", "SELECT 'm'"), bind("m2"), execute(), SYNC)
            b.run(bind("m2"), execute(), SYNC)
        samples = scrape(port)
        assert value(samples, "pglifeguard_pool_client_parses_total") == 2
        assert value(samples, "pglifeguard_pool_server_parses_total") == 1  # one server
        assert value(samples, "pglifeguard_pool_binds_total") == 3


def test_query_ignored_after_error_until_sync(txp, sessp):
    """A simple Query sent after an extended-protocol error but before Sync
    is ignored by PostgreSQL, and owes no ReadyForQuery: the server
    connection must still go back to the pool."""
    def script(c):
        out = c.run(parse("q1", "SELECT $1::int"), SYNC)
        # in one write, so that the pooler forwards the Query before the
        # error comes back
        c.w.send_raw(b"".join(m[0].encode() + struct.pack("!I", len(m[1]) + 4) + m[1]
                              for m in (bind("q1", ["not a number"]), execute(),
                                        query("SELECT 'ignored'"), SYNC)))
        out += c.recv_n(2)  # the error, then the Sync's ReadyForQuery
        out += c.run(bind("q1", [5]), execute(), SYNC)
        return out

    with clients(sessp) as c:
        want = script(c)
    assert want[2][:2] == ("E", "22P02") and want[3] == ("Z", "I"), want
    with clients(txp) as c:
        assert script(c) == want
        # idle between transactions: it holds no server connection
        mine = [r for r in txp.admin("SHOW CLIENTS") if r["link"]]
        assert not mine, mine
