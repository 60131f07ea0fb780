"""The admin console (database "pgbouncer"): every SHOW through psql and
psycopg2 with the columns of PgBouncer 1.25 and values checked against
what the test set up, stats_users limited to SHOW, and the control
commands (PAUSE, RESUME, RELOAD, KILL, KILL_CLIENT, DISABLE, ENABLE,
RECONNECT, WAIT_CLOSE, SUSPEND, SHUTDOWN, SET). The last test starts PgBouncer 1.18
beside pglifeguard and checks that every column it has exists in ours."""

import contextlib
import os
import signal
import subprocess
import threading
import time

import psycopg2
import pytest

import support
import wire
from support import ON_PGBOUNCER, pgbouncer_differs, per_pooler, wait_for

# PgBouncer 1.25's columns, in order (see /work/shared/ADMIN-COLUMNS.md).
SOCKET_COLUMNS = [
    "type", "user", "database", "replication", "state", "addr", "port", "local_addr",
    "local_port", "connect_time", "request_time", "wait", "wait_us", "close_needed", "ptr",
    "link", "remote_pid", "tls", "application_name", "prepared_statements", "id",
]
BUFFER_COLUMNS = ["recv_pos", "pkt_pos", "pkt_remain", "send_pos", "send_remain",
                  "pkt_avail", "send_avail"]
COUNTERS = ["server_assignment_count", "xact_count", "query_count", "bytes_received",
            "bytes_sent", "xact_time", "query_time", "wait_time"]
COLUMNS = {
    "POOLS": ["database", "user", "cl_active", "cl_waiting", "cl_active_cancel_req",
              "cl_waiting_cancel_req", "sv_active", "sv_active_cancel", "sv_being_canceled",
              "sv_idle", "sv_used", "sv_tested", "sv_login", "maxwait", "maxwait_us",
              "pool_mode", "load_balance_hosts"],
    "STATS": ["database", "total_server_assignment_count", "total_xact_count",
              "total_query_count", "total_received", "total_sent", "total_xact_time",
              "total_query_time", "total_wait_time", "total_client_parse_count",
              "total_server_parse_count", "total_bind_count", "avg_server_assignment_count",
              "avg_xact_count", "avg_query_count", "avg_recv", "avg_sent", "avg_xact_time",
              "avg_query_time", "avg_wait_time", "avg_client_parse_count",
              "avg_server_parse_count", "avg_bind_count"],
    "STATS_TOTALS": ["database"] + COUNTERS + ["client_parse_count", "server_parse_count",
                                               "bind_count"],
    "STATS_AVERAGES": ["database"] + COUNTERS + ["avg_client_parse_count",
                                                 "avg_server_parse_count", "avg_bind_count"],
    "TOTALS": ["name", "value"],
    "CLIENTS": SOCKET_COLUMNS,
    "SERVERS": SOCKET_COLUMNS,
    "SOCKETS": SOCKET_COLUMNS + BUFFER_COLUMNS,
    "ACTIVE_SOCKETS": SOCKET_COLUMNS + BUFFER_COLUMNS,
    "DATABASES": ["name", "host", "port", "database", "force_user", "pool_size",
                  "min_pool_size", "reserve_pool_size", "server_lifetime", "pool_mode",
                  "load_balance_hosts", "max_connections", "current_connections",
                  "max_client_connections", "current_client_connections", "paused",
                  "disabled"],
    "USERS": ["name", "pool_size", "reserve_pool_size", "pool_mode", "max_user_connections",
              "current_connections", "max_user_client_connections",
              "current_client_connections"],
    "CONFIG": ["key", "value", "default", "changeable"],
    "LISTS": ["list", "items"],
    "MEM": ["name", "size", "used", "free", "memtotal"],
    "FDS": ["fd", "task", "user", "database", "addr", "port", "cancel", "link",
            "client_encoding", "std_strings", "datestyle", "timezone", "password",
            "scram_client_key", "scram_server_key"],
    "VERSION": ["version"],
    "STATE": ["key", "value"],
    "DNS_HOSTS": ["hostname", "ttl", "addrs"],
    "DNS_ZONES": ["zonename", "serial", "count"],
}
# What PgBouncer 1.18 lacks among the commands above.
NOT_IN_118 = {"STATE"}

INT4, INT8, TEXT, NUMERIC = 23, 20, 25, 1700


# --- helpers -------------------------------------------------------------------


def admin_connect(pooler, user="lg_admin"):
    return pooler.connect(user=user, dbname="pgbouncer")


def run(conn, sql):
    """(status tag, rows as dicts or None) of one console command."""
    with conn.cursor() as cur:
        cur.execute(sql)
        if cur.description is None:
            return cur.statusmessage, None
        names = [d[0] for d in cur.description]
        return cur.statusmessage, [dict(zip(names, row)) for row in cur.fetchall()]


def describe(pooler, command):
    """[(column name, type oid)] of a SHOW command."""
    with contextlib.closing(admin_connect(pooler)) as conn, conn.cursor() as cur:
        cur.execute(command)
        return [(d.name, d.type_code) for d in cur.description]


def psql_table(pooler, command, user="lg_admin"):
    """(header, rows) of a console command run by psql -A."""
    r = pooler.psql("-A", "-F", "|", "-c", command, user=user, dbname="pgbouncer")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    body = [line.split("|") for line in lines[1:] if not line.startswith("(")]
    return lines[0].split("|"), body


def one(rows, **match):
    found = [r for r in rows if all(r.get(k) == v for k, v in match.items())]
    assert len(found) == 1, (match, rows)
    return found[0]


def sqlstate(exc):
    return getattr(exc, "pgcode", None)


class Background(threading.Thread):
    """Runs fn() in a thread; .result or .error once done."""

    def __init__(self, fn):
        super().__init__(daemon=True)
        self.fn, self.result, self.error = fn, None, None
        self.start()

    def run(self):
        try:
            self.result = self.fn()
        except Exception as e:  # noqa: BLE001 - handed to the test
            self.error = e


@contextlib.contextmanager
def closing_all(*conns):
    try:
        yield conns
    finally:
        for c in conns:
            with contextlib.suppress(Exception):
                c.close()


# --- SHOW commands ---------------------------------------------------------------


@pytest.mark.parametrize("command", sorted(COLUMNS))
def test_show_columns_psql_and_psycopg2(tx_pooler, command):
    if ON_PGBOUNCER and command in NOT_IN_118:
        pytest.skip("PgBouncer 1.18 has no SHOW " + command)
    with contextlib.closing(tx_pooler.connect()) as conn, conn.cursor() as cur:
        cur.execute("SELECT 1")  # a pool, a client and a server to list
        header, rows = psql_table(tx_pooler, "SHOW " + command)
        names = [d[0] for d in describe(tx_pooler, "SHOW " + command)]
    assert header == names
    if not ON_PGBOUNCER:
        assert names == COLUMNS[command]
    if command in ("POOLS", "DATABASES", "STATS", "CLIENTS", "SERVERS", "CONFIG", "LISTS",
                   "MEM", "VERSION", "TOTALS"):
        assert rows, "SHOW %s returned no rows" % command


@pgbouncer_differs("uses other types for some columns")
def test_show_column_types(tx_pooler):
    types = dict(describe(tx_pooler, "SHOW POOLS"))
    assert types["cl_waiting"] == INT4 and types["database"] == TEXT
    assert {t for n, t in describe(tx_pooler, "SHOW STATS") if n != "database"} == {NUMERIC}
    assert dict(describe(tx_pooler, "SHOW CLIENTS"))["id"] == INT8
    assert dict(describe(tx_pooler, "SHOW DATABASES"))["paused"] == INT4


def test_saturated_pool_waiting_client(make_pooler):
    pooler = make_pooler(pool_mode="transaction", default_pool_size=1)
    holder = pooler.connect(autocommit=False, application_name="lg_holder")
    waiter = pooler.connect(application_name="lg_waiter")
    with closing_all(holder, waiter):
        with holder.cursor() as cur:
            cur.execute("SELECT pg_backend_pid()")
            backend_pid = cur.fetchone()[0]

        def wait_query():
            with waiter.cursor() as cur:
                cur.execute("SELECT 'served'")
                return cur.fetchone()[0]

        job = Background(wait_query)

        def waiting_pool():
            row = one(pooler.admin("SHOW POOLS"), database="lgtest", user="lg_plain")
            return row if row["cl_waiting"] == 1 else None

        pool = wait_for(waiting_pool, 10)
        assert pool, pooler.admin("SHOW POOLS")
        assert (pool["cl_active"], pool["sv_active"], pool["sv_idle"]) == (1, 1, 0)
        assert pool["maxwait"] * 1000000 + pool["maxwait_us"] > 0
        assert pool["pool_mode"] == "transaction"

        clients = [c for c in pooler.admin("SHOW CLIENTS") if c["database"] == "lgtest"]
        states = {c["application_name"]: c["state"] for c in clients}
        assert states == {"lg_holder": "active", "lg_waiter": "waiting"}
        holding = one(clients, application_name="lg_holder")
        server = one(pooler.admin("SHOW SERVERS"), database="lgtest")
        assert server["state"] == "active" and server["user"] == "lg_plain"
        assert server["remote_pid"] == backend_pid
        assert holding["link"] == server["ptr"] and server["link"] == holding["ptr"]
        assert holding["addr"] == "127.0.0.1" and holding["port"] > 0
        assert server["port"] == pooler.cluster.port
        # "YYYY-MM-DD HH:MM:SS TZ", as PgBouncer writes it
        assert len(holding["connect_time"].split()) == 3, holding["connect_time"]
        waiting = one(clients, application_name="lg_waiter")
        assert waiting["link"] == "" and waiting["wait"] * 1000000 + waiting["wait_us"] > 0

        holder.commit()
        job.join(10)
        assert job.result == "served", job.error
        pool = one(pooler.admin("SHOW POOLS"), database="lgtest", user="lg_plain")
        assert pool["cl_waiting"] == 0


def test_show_stats_counters_move(make_pooler):
    pooler = make_pooler(pool_mode="transaction", stats_period=1)

    def stats():
        return one(pooler.admin("SHOW STATS"), database="lgtest")

    before = stats()
    n = 20
    with contextlib.closing(pooler.connect()) as conn, conn.cursor() as cur:
        for i in range(n):
            cur.execute("SELECT %s", (i,))
        cur.execute("BEGIN")  # one transaction of three statements
        cur.execute("SELECT pg_sleep(0.05)")
        cur.execute("COMMIT")
    after = stats()
    assert after["total_query_count"] - before["total_query_count"] >= n
    assert after["total_xact_count"] - before["total_xact_count"] >= n
    assert after["total_received"] > before["total_received"]
    assert after["total_sent"] > before["total_sent"]
    assert after["total_query_time"] - before["total_query_time"] >= 50000
    if not ON_PGBOUNCER:
        assert after["total_server_assignment_count"] > before["total_server_assignment_count"]
        assert after["total_xact_time"] - before["total_xact_time"] >= 50000
        totals = {r["name"]: r["value"] for r in pooler.admin("SHOW TOTALS")}
        assert totals["total_query_count"] >= after["total_query_count"]
        st = one(pooler.admin("SHOW STATS_TOTALS"), database="lgtest")
        assert st["query_count"] >= after["total_query_count"]

    # Averages cover the last complete stats_period: keep querying until one
    # that saw the queries has closed.
    with contextlib.closing(pooler.connect()) as conn, conn.cursor() as cur:
        def averages_moved():
            for _ in range(20):
                cur.execute("SELECT 1")
            avg = one(pooler.admin("SHOW STATS_AVERAGES"), database="lgtest")
            return avg if avg["query_count"] > 0 else None

        avg = wait_for(averages_moved, 15, interval=0.05)
    assert avg, "averages never moved"
    assert avg["bytes_received"] > 0 and avg["bytes_sent"] > 0
    assert avg["query_time"] > 0


@pgbouncer_differs("lists its own internal memory and DNS state")
def test_show_lists_mem_fds_version_state(tx_pooler):
    with contextlib.closing(tx_pooler.connect()) as conn, conn.cursor() as cur:
        cur.execute("SELECT 1")
        lists = {r["list"]: r["items"] for r in tx_pooler.admin("SHOW LISTS")}
        assert lists["databases"] == 2 and lists["pools"] >= 1
        assert lists["used_clients"] >= 2  # this client and the console's
        mem = {r["name"]: r for r in tx_pooler.admin("SHOW MEM")}
        assert mem["clients"]["used"] >= 2
        fds = tx_pooler.admin("SHOW FDS")
        assert {r["task"] for r in fds} >= {"pooler", "client"}
        assert all(r["password"] is None and r["scram_client_key"] is None for r in fds)
    version = tx_pooler.admin("SHOW VERSION")[0]["version"]
    assert version.startswith("PgBouncer 1.25") and "pglifeguard" in version
    state = {r["key"]: r["value"] for r in tx_pooler.admin("SHOW STATE")}
    assert state == {"active": "yes", "paused": "no", "suspended": "no"}


def test_show_databases_and_users(tx_pooler):
    with contextlib.closing(tx_pooler.connect()) as conn, conn.cursor() as cur:
        cur.execute("SELECT 1")
        db = one(tx_pooler.admin("SHOW DATABASES"), name="lgtest")
        assert (db["host"], db["port"], db["database"]) == (
            "127.0.0.1", tx_pooler.cluster.port, "lgtest")
        assert db["pool_size"] == 5 and db["paused"] == 0 and db["disabled"] == 0
        assert db["current_connections"] >= 1
        if not ON_PGBOUNCER:
            assert db["current_client_connections"] == 1
            user = one(tx_pooler.admin("SHOW USERS"), name="lg_plain")
            assert user["current_client_connections"] == 1
            assert user["current_connections"] >= 1


def test_config_set_and_show(make_pooler):
    pooler = make_pooler(pool_mode="transaction", default_pool_size=5)
    with contextlib.closing(admin_connect(pooler)) as conn:
        # PgBouncer tags it "SET default_pool_size=3"; PostgreSQL's tag is "SET"
        assert run(conn, "SET default_pool_size = 3")[0].startswith("SET")
        config = {r["key"]: r for r in run(conn, "SHOW CONFIG")[1]}
        assert config["default_pool_size"]["value"] == "3"
        assert config["default_pool_size"]["changeable"] == "yes"
        assert config["listen_port"]["changeable"] == "no"
        assert one(run(conn, "SHOW DATABASES")[1], name="lgtest")["pool_size"] == 3
        assert run(conn, "SET server_check_query TO 'select 2'")[0].startswith("SET")
        assert one(run(conn, "SHOW CONFIG")[1], key="server_check_query")["value"] == "select 2"
        with pytest.raises(psycopg2.Error) as exc:
            run(conn, "SET default_pool_size = lots")
        if not ON_PGBOUNCER:  # 1.18 says only "SET failed"
            assert "default_pool_size" in str(exc.value)
        with pytest.raises(psycopg2.Error):
            run(conn, "SET lg_no_such_setting = 1")
        if not ON_PGBOUNCER:  # a quoted ';' does not end the statement
            run(conn, "SET server_reset_query = 'DISCARD ALL; SELECT 1'")
            assert one(run(conn, "SHOW CONFIG")[1], key="server_reset_query")["value"] == (
                "DISCARD ALL; SELECT 1")
        assert run(conn, "SHOW VERSION")[1]  # the session goes on


def test_driver_probes_get_fixed_answers(tx_pooler):
    with contextlib.closing(admin_connect(tx_pooler)) as conn:
        assert conn.get_parameter_status("client_encoding") == "UTF8"
        assert conn.get_parameter_status("standard_conforming_strings") == "on"
        assert run(conn, "SHOW client_encoding")[1] == [
            {"client_encoding": per_pooler("UTF8", "UTF-8")}]
        assert list(run(conn, "SHOW standard_conforming_strings")[1][0].values()) == ["on"]
        if not ON_PGBOUNCER:
            assert list(run(conn, "SHOW DateStyle")[1][0].values()) == ["ISO"]
            assert list(run(conn, "SHOW TimeZone")[1][0].values()) == ["GMT"]
            assert list(run(conn, "SHOW default_transaction_isolation")[1][0].values()) == [
                "read committed"]
            assert run(conn, "SET client_encoding = 'UTF8'")[0] == "SET"
            assert run(conn, "SET datestyle TO 'ISO, MDY'")[0] == "SET"
            assert run(conn, "SELECT 1")[1] == [{"?column?": 1}]


# --- the protocol ---------------------------------------------------------------------


def admin_wire(pooler):
    w = pooler.wire()
    assert w.login("lg_admin", "pgbouncer", password=pooler.admin_password) is None
    return w


@pgbouncer_differs("rejects multi-statement and empty queries")
def test_multi_statement_query(tx_pooler):
    w = admin_wire(tx_pooler)
    try:
        msgs = w.query("  show   VERSION ;SELECT state;;")
        assert [t for t, _ in msgs].count("C") == 2 and msgs[-1] == ("Z", b"I")
        assert wire.rows(msgs)[1:] == [("active", "yes"), ("paused", "no"),
                                       ("suspended", "no")]
        # an error stops the rest, as in PostgreSQL
        msgs = w.query("SHOW VERSION; SHOW nothing; SHOW STATE")
        assert [t for t, _ in msgs].count("C") == 1
        assert len(wire.errors(msgs)) == 1 and msgs[-1] == ("Z", b"I")
        # an empty query, and comments as monitoring tools write them
        assert [t for t, _ in w.query(" ; ")] == ["I", "Z"]
        assert [t for t, _ in w.query("-- nothing")] == ["I", "Z"]
        msgs = w.query("/* scraper /* nested */ */ SHOW STATE -- trailing; SHOW nothing\n")
        assert not wire.errors(msgs) and len(wire.rows(msgs)) == 3
        # psql -c with two commands (psql 15 prints every result)
        r = tx_pooler.psql("-A", "-F", "|", "-c", "SHOW POOLS; SHOW LISTS", user="lg_admin",
                           dbname="pgbouncer")
        assert r.returncode == 0, r.stderr
        lines = r.stdout.splitlines()
        assert "|".join(COLUMNS["POOLS"]) in lines and "list|items" in lines
    finally:
        w.close()


@pgbouncer_differs("closes the connection after an extended-protocol message")
def test_extended_protocol_refused_then_usable(tx_pooler):
    w = admin_wire(tx_pooler)
    try:
        w.send("P", b"\0SHOW POOLS\0\0\0")
        w.send("B", b"\0\0\0\0\0\0\0\0")
        w.send("E", b"\0\0\0\0\0")
        w.send("S")
        msgs = w.until_ready()
        assert [e["C"] for e in wire.errors(msgs)] == ["0A000"]
        assert msgs[-1] == ("Z", b"I")
        assert wire.rows(w.query("SHOW VERSION"))
    finally:
        w.close()


def test_unknown_command_keeps_session(tx_pooler):
    with contextlib.closing(admin_connect(tx_pooler)) as conn:
        for bad in ("SHOW nothing", "FROBNICATE", "PAUSE a b c"):
            with pytest.raises(psycopg2.Error):
                run(conn, bad)
        assert run(conn, "show pools;")[0] == "SHOW"
        assert run(conn, "select pools")[1]


# --- who may do what ----------------------------------------------------------------------


def test_stats_user_shows_but_cannot_control(make_pooler):
    pooler = make_pooler(admin_users="lg_admin", stats_users="lg_plain")
    with contextlib.closing(admin_connect(pooler, user="lg_plain")) as conn:
        assert run(conn, "SHOW POOLS")[0] == "SHOW"
        assert run(conn, "SHOW STATS")[1]
        for command in ("PAUSE", "PAUSE lgtest", "RELOAD", "KILL lgtest", "RESUME",
                        "SET default_pool_size = 1", "SHUTDOWN"):
            with pytest.raises(psycopg2.Error) as exc:
                run(conn, command)
            assert "admin access needed" in str(exc.value), command
            assert sqlstate(exc.value) == per_pooler("42501", "08P01")
    assert pooler.alive()
    assert pooler.query("SELECT 1") == [(1,)]
    # neither in admin_users nor in stats_users
    with pytest.raises(psycopg2.OperationalError):
        admin_connect(pooler, user="lg_md5")


# --- control commands -------------------------------------------------------------------------


def test_pause_resume_database(make_pooler):
    pooler = make_pooler(pool_mode="transaction")
    client = pooler.connect(autocommit=False)
    console = admin_connect(pooler)
    with closing_all(client, console):
        with client.cursor() as cur:
            cur.execute("SELECT 1")  # holds a server inside a transaction
        pause = Background(lambda: run(console, "PAUSE lgtest")[0])
        pause.join(1.0)
        assert pause.is_alive(), "PAUSE returned while a transaction held a server"
        client.commit()
        pause.join(10)
        assert pause.result == "PAUSE", pause.error
        assert one(pooler.admin("SHOW DATABASES"), name="lgtest")["paused"] == 1
        assert pooler.servers() == 0 or wait_for(lambda: pooler.servers() == 0, 5)
        # another database is not paused
        assert pooler.query("SELECT 2", dbname="postgres") == [(2,)]

        def query():
            with client.cursor() as cur:
                cur.execute("SELECT 'resumed'")
                return cur.fetchone()[0]

        blocked = Background(query)
        blocked.join(1.0)
        assert blocked.is_alive(), "a query ran on a paused database"
        assert run(console, "RESUME lgtest")[0] == "RESUME"
        blocked.join(10)
        assert blocked.result == "resumed", blocked.error
        client.commit()
        assert one(pooler.admin("SHOW DATABASES"), name="lgtest")["paused"] == 0


@pgbouncer_differs("keeps a PAUSE waiting after RESUME")
def test_pause_canceled_by_resume(make_pooler):
    pooler = make_pooler(pool_mode="transaction")
    client = pooler.connect(autocommit=False)
    pausing = admin_connect(pooler)
    other = admin_connect(pooler)
    with closing_all(client, pausing, other):
        with client.cursor() as cur:
            cur.execute("SELECT 1")  # holds a server: PAUSE cannot finish
        pause = Background(lambda: run(pausing, "PAUSE")[0])
        pause.join(1.0)
        assert pause.is_alive()
        assert run(other, "RESUME")[0] == "RESUME"
        pause.join(10)
        assert not pause.is_alive()
        assert sqlstate(pause.error) == "57014", (pause.result, pause.error)
        client.commit()
        assert run(pausing, "SHOW VERSION")[1]  # the console session goes on
    assert pooler.query("SELECT 1") == [(1,)]


@pgbouncer_differs("has no SHOW STATE")
def test_console_leaves_during_pause(make_pooler):
    pooler = make_pooler(pool_mode="transaction")
    holder = pooler.connect(autocommit=False)
    with holder.cursor() as cur:
        cur.execute("SELECT 1")
    w = admin_wire(pooler)
    w.send("Q", b"PAUSE; SHOW VERSION\0")
    time.sleep(0.3)
    w.abort()  # gone while its PAUSE waits
    holder.commit()
    assert wait_for(lambda: pooler.servers() == 0, 5)
    assert one(pooler.admin("SHOW STATE"), key="paused")["value"] == "yes"
    pooler.admin("RESUME")
    assert pooler.query("SELECT 1") == [(1,)]
    # the pooler stops with a PAUSE still waiting for the holder's
    # transaction: nothing may leak
    with holder.cursor() as cur:
        cur.execute("SELECT 2")
    w = admin_wire(pooler)
    w.send("Q", b"PAUSE\0")
    time.sleep(0.3)
    assert pooler.alive()
    assert one(pooler.admin("SHOW STATE"), key="paused")["value"] == "yes"
    support.finish_pooler(pooler)  # fails on a sanitizer report
    holder.close()
    w.close()


def test_pause_all_and_resume(make_pooler):
    pooler = make_pooler(pool_mode="transaction")
    with contextlib.closing(admin_connect(pooler)) as console:
        assert pooler.query("SELECT 1") == [(1,)]
        assert run(console, "PAUSE")[0] == "PAUSE"
        if not ON_PGBOUNCER:
            assert {r["key"]: r["value"] for r in run(console, "SHOW STATE")[1]}["paused"] == "yes"
        with pytest.raises(psycopg2.Error):
            run(console, "PAUSE")  # already paused
        assert run(console, "RESUME")[0] == "RESUME"
        with pytest.raises(psycopg2.Error):
            run(console, "RESUME")  # not paused
    assert pooler.query("SELECT 2") == [(2,)]


def test_reload_broken_file_reports_and_keeps_serving(make_pooler):
    pooler = make_pooler(pool_mode="transaction", default_pool_size=5)
    with open(pooler.ini) as f:
        good = f.read()
    with contextlib.closing(admin_connect(pooler)) as console:
        with open(pooler.ini, "w") as f:
            f.write(good.replace("pool_mode = transaction", "pool_mode = sometimes"))
        if ON_PGBOUNCER:
            with contextlib.suppress(psycopg2.Error):
                run(console, "RELOAD")
        else:
            with pytest.raises(psycopg2.Error) as exc:
                run(console, "RELOAD")
            assert sqlstate(exc.value) == "F0000"
            assert "pool_mode" in str(exc.value) and "sometimes" in str(exc.value)
            config = {r["key"]: r["value"] for r in run(console, "SHOW CONFIG")[1]}
            assert config["pool_mode"] == "transaction"
        assert pooler.alive()
        assert pooler.query("SELECT 1") == [(1,)]
        with open(pooler.ini, "w") as f:
            f.write(good.replace("default_pool_size = 5", "default_pool_size = 4"))
        assert run(console, "RELOAD")[0] == "RELOAD"
        config = {r["key"]: r["value"] for r in run(console, "SHOW CONFIG")[1]}
        assert config["default_pool_size"] == "4"
    assert pooler.query("SELECT 2") == [(2,)]


@pgbouncer_differs("has no KILL_CLIENT and no client id before 1.24")
def test_kill_client(make_pooler):
    pooler = make_pooler(pool_mode="transaction")
    victim = pooler.connect(application_name="lg_victim")
    bystander = pooler.connect(application_name="lg_bystander")
    console = admin_connect(pooler)
    with closing_all(victim, bystander, console):
        for c in (victim, bystander):
            with c.cursor() as cur:
                cur.execute("SELECT 1")
        clients = run(console, "SHOW CLIENTS")[1]
        target = one(clients, application_name="lg_victim")
        assert run(console, "KILL_CLIENT %d" % target["id"])[0] == "KILL_CLIENT"
        with pytest.raises(psycopg2.OperationalError), victim.cursor() as cur:
            cur.execute("SELECT 1")
        with bystander.cursor() as cur:
            cur.execute("SELECT 'still here'")
            assert cur.fetchone() == ("still here",)
        remaining = [c["application_name"] for c in run(console, "SHOW CLIENTS")[1]]
        assert "lg_victim" not in remaining and "lg_bystander" in remaining
        with pytest.raises(psycopg2.Error):
            run(console, "KILL_CLIENT %d" % target["id"])  # gone already
        mine = one(run(console, "SHOW CLIENTS")[1], database="pgbouncer")
        with pytest.raises(psycopg2.Error):
            run(console, "KILL_CLIENT %d" % mine["id"])  # not the console itself


def test_disable_enable(make_pooler):
    pooler = make_pooler(pool_mode="transaction")
    existing = pooler.connect()
    with closing_all(existing), contextlib.closing(admin_connect(pooler)) as console:
        assert run(console, "DISABLE lgtest")[0] == "DISABLE"
        assert one(run(console, "SHOW DATABASES")[1], name="lgtest")["disabled"] == 1
        with pytest.raises(psycopg2.OperationalError):
            pooler.connect()
        with existing.cursor() as cur:  # connected before: keeps working
            cur.execute("SELECT 1")
        assert run(console, "ENABLE lgtest")[0] == "ENABLE"
        assert pooler.query("SELECT 2") == [(2,)]
        with pytest.raises(psycopg2.Error):
            run(console, "DISABLE lg_no_such_db")


def test_reconnect_and_wait_close(make_pooler):
    pooler = make_pooler(pool_mode="transaction")
    client = pooler.connect(autocommit=False)
    console = admin_connect(pooler)
    waiter = admin_connect(pooler)
    with closing_all(client, console, waiter):
        with client.cursor() as cur:
            cur.execute("SELECT pg_backend_pid()")
            old_pid = cur.fetchone()[0]
        assert run(console, "RECONNECT lgtest")[0] == "RECONNECT"
        server = one(run(console, "SHOW SERVERS")[1], remote_pid=old_pid)
        assert server["close_needed"] == 1
        wait_close = Background(lambda: run(waiter, "WAIT_CLOSE lgtest")[0])
        wait_close.join(1.0)
        assert wait_close.is_alive(), "WAIT_CLOSE returned while a server still had to close"
        client.commit()
        wait_close.join(10)
        assert wait_close.result == "WAIT_CLOSE", wait_close.error
        pids = [s["remote_pid"] for s in run(console, "SHOW SERVERS")[1]]
        assert old_pid not in pids
        with client.cursor() as cur:
            cur.execute("SELECT pg_backend_pid()")
            assert cur.fetchone()[0] != old_pid
        client.commit()
        assert wait_for(lambda: old_pid not in pooler.server_pids(), 5)


def test_kill_database(make_pooler):
    pooler = make_pooler(pool_mode="transaction")
    victim = pooler.connect()
    with closing_all(victim), contextlib.closing(admin_connect(pooler)) as console:
        with victim.cursor() as cur:
            cur.execute("SELECT 1")
        assert run(console, "KILL lgtest")[0] == "KILL"
        with pytest.raises(psycopg2.OperationalError), victim.cursor() as cur:
            cur.execute("SELECT 1")
        assert wait_for(lambda: pooler.servers() == 0, 5)
        # the killed database waits for RESUME; the others are untouched
        assert pooler.query("SELECT 3", dbname="postgres") == [(3,)]
        if not ON_PGBOUNCER:
            later = Background(lambda: pooler.query("SELECT 'after resume'"))
            later.join(1.0)
            assert later.is_alive(), "a killed database served a query before RESUME"
            assert run(console, "RESUME lgtest")[0] == "RESUME"
            later.join(10)
            assert later.result == [("after resume",)], later.error


def state_of(console):
    return {r["key"]: r["value"] for r in run(console, "SHOW STATE")[1]}


def test_suspend_stops_reads_and_accepts_until_resume(make_pooler):
    pooler = make_pooler(pool_mode="transaction")
    client = pooler.connect()
    with closing_all(client), contextlib.closing(admin_connect(pooler)) as console:
        with client.cursor() as cur:
            cur.execute("SELECT 1")
        started = time.monotonic()
        assert run(console, "SUSPEND")[0] == "SUSPEND"
        # nothing was buffered: answered at once
        assert time.monotonic() - started < 2
        if not ON_PGBOUNCER:
            assert state_of(console) == {"active": "no", "paused": "no", "suspended": "yes"}
        with pytest.raises(psycopg2.Error) as exc:
            run(console, "SUSPEND")
        assert sqlstate(exc.value) == ("08P01" if ON_PGBOUNCER else "55000")

        def query():
            with client.cursor() as cur:
                cur.execute("SELECT 'after suspend'")
                return cur.fetchall()

        asked = Background(query)
        newcomer = Background(lambda: pooler.query("SELECT 'new connection'"))
        asked.join(1.5)
        newcomer.join(0.1)
        assert asked.is_alive(), "a query was answered during SUSPEND: %r" % (asked.result,)
        assert newcomer.is_alive(), "a new connection was served during SUSPEND"
        # the console still answers, and the waiting client is still connected
        rows = run(console, "SHOW CLIENTS")[1]
        assert len(rows) >= 1
        assert "SUSPEND" in pooler.log()

        assert run(console, "RESUME")[0] == "RESUME"
        asked.join(10)
        newcomer.join(10)
        assert asked.result == [("after suspend",)], asked.error
        assert newcomer.result == [("new connection",)], newcomer.error
        if not ON_PGBOUNCER:
            assert state_of(console)["suspended"] == "no"
        with pytest.raises(psycopg2.Error) as exc:
            run(console, "RESUME")
        assert sqlstate(exc.value) == ("08P01" if ON_PGBOUNCER else "55000")

        # SIGUSR2 resumes as RESUME does
        assert run(console, "SUSPEND")[0] == "SUSPEND"
        asked = Background(query)
        asked.join(1.0)
        assert asked.is_alive()
        pooler.signal(signal.SIGUSR2)
        asked.join(10)
        assert asked.result == [("after suspend",)], asked.error
    assert pooler.alive()


def test_suspend_drops_clients_that_do_not_read_after_suspend_timeout(make_pooler):
    pooler = make_pooler(pool_mode="transaction", suspend_timeout=2)
    reader = pooler.connect()
    stuck, err = pooler.login()
    assert err is None, err
    with closing_all(reader), contextlib.closing(admin_connect(pooler)) as console:
        try:
            # a result far larger than the socket buffers, never read
            stuck.send("Q", b"SELECT repeat('x', 1000000) FROM generate_series(1, 40)\0")
            time.sleep(1.0)
            started = time.monotonic()
            assert run(console, "SUSPEND")[0] == "SUSPEND"
            took = time.monotonic() - started
            # waited for the buffers, gave up after suspend_timeout
            assert 1.5 <= took < 6, took
            assert "suspend_timeout" in pooler.log()
            assert stuck.is_closed(timeout=5)
            assert run(console, "RESUME")[0] == "RESUME"
            # the client that read everything is untouched
            with reader.cursor() as cur:
                cur.execute("SELECT 'still here'")
                assert cur.fetchone() == ("still here",)
        finally:
            stuck.close()
    assert pooler.alive()


@pgbouncer_differs("SUSPEND then SIGTERM")
def test_sigterm_while_suspended_lets_clients_leave(make_pooler):
    pooler = make_pooler(pool_mode="transaction")
    client, err = pooler.login()
    assert err is None, err
    try:
        with contextlib.closing(admin_connect(pooler)) as console:
            assert wire.rows(client.query("SELECT 1")) == [("1",)]
            assert run(console, "SUSPEND")[0] == "SUSPEND"
            pooler.signal(signal.SIGTERM)
        # the pooler reads again, so the client can finish and leave (a
        # socket.timeout here: still suspended)
        client.sock.settimeout(10)
        assert wire.rows(client.query("SELECT 'before leaving'")) == [("before leaving",)]
        client.send("X")
    finally:
        client.close()
    assert pooler.wait_exit(10), pooler.log()[-2000:]


@pgbouncer_differs("has no SHUTDOWN WAIT_FOR_CLIENTS before 1.23")
def test_shutdown_wait_for_clients(make_pooler):
    pooler = make_pooler(pool_mode="transaction")
    client = pooler.connect()
    with closing_all(client):
        with contextlib.closing(admin_connect(pooler)) as console:
            assert run(console, "SHUTDOWN WAIT_FOR_CLIENTS")[0] == "SHUTDOWN"
        # connected clients are served; new ones are not accepted
        with client.cursor() as cur:
            cur.execute("SELECT 'served'")
            assert cur.fetchone() == ("served",)
        with pytest.raises(psycopg2.OperationalError):
            pooler.connect(connect_timeout=2)
        time.sleep(0.5)
        assert pooler.alive(), "exited while a client was still connected"
    assert pooler.wait_exit(15), "still running after the last client left"


@pgbouncer_differs("exits without answering")
def test_shutdown_now(make_pooler):
    pooler = make_pooler(pool_mode="transaction")
    with contextlib.closing(admin_connect(pooler)) as console:
        with contextlib.suppress(psycopg2.OperationalError):
            assert run(console, "SHUTDOWN")[0] == "SHUTDOWN"
    assert pooler.wait_exit(15), "still running after SHUTDOWN"


# --- PgBouncer 1.18 side by side -------------------------------------------------------


def start_named(cluster, kind, settings):
    """Start pooler KIND ("pglifeguard" or "pgbouncer") whatever POOLER says."""
    args = ["%s=%s" % item for item in settings.items()]
    env = dict(os.environ)
    env.update(cluster.env)
    env["POOLER"] = kind
    proc = subprocess.run(["bash", os.path.join(support.HARNESS, "pooler.sh"), "start", *args],
                          env=env, capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        pytest.fail("could not start %s:\n%s" % (kind, proc.stderr), pytrace=False)
    pooler = support.Pooler(cluster, support.exports(proc.stdout), settings)
    support.ACTIVE_POOLERS.append(pooler)
    return pooler


def result_shape(pooler, command):
    """{column: type oid} and the first column's values."""
    with contextlib.closing(admin_connect(pooler)) as conn, conn.cursor() as cur:
        cur.execute(command)
        cols = {d.name: d.type_code for d in cur.description}
        return cols, [row[0] for row in cur.fetchall()]


def test_every_pgbouncer_118_column_exists(cluster):
    pgbouncer = os.environ.get("PGBOUNCER", "/usr/sbin/pgbouncer")
    ours = os.environ.get("PGLIFEGUARD", "")
    if not os.access(pgbouncer, os.X_OK):
        pytest.skip("PgBouncer is not installed (apt-get install pgbouncer)")
    if not os.access(ours, os.X_OK):
        pytest.skip("no pglifeguard binary (PGLIFEGUARD)")
    settings = {"pool_mode": "transaction"}
    poolers = []
    try:
        poolers = [start_named(cluster, "pgbouncer", settings),
                   start_named(cluster, "pglifeguard", settings)]
        conns = [p.connect(autocommit=False) for p in poolers]
        with closing_all(*conns):
            for c in conns:  # a client and a server on each to list
                with c.cursor() as cur:
                    cur.execute("SELECT 1")
            missing = {}
            for command in sorted(set(COLUMNS) - NOT_IN_118):
                theirs, their_rows = result_shape(poolers[0], "SHOW " + command)
                mine, my_rows = result_shape(poolers[1], "SHOW " + command)
                expected = set(theirs)
                if command == "DATABASES":
                    expected.discard("reserve_pool")  # reserve_pool_size since 1.19
                    assert "reserve_pool_size" in mine
                lacking = sorted(expected - set(mine))
                if lacking:
                    missing[command] = lacking
                if command in ("TOTALS", "LISTS"):  # names are rows here
                    lacking_rows = sorted(set(their_rows) - set(my_rows))
                    if lacking_rows:
                        missing[command + " rows"] = lacking_rows
            assert not missing, "columns PgBouncer 1.18 has and pglifeguard lacks: %r" % missing
    finally:
        for p in poolers:
            support.finish_pooler(p)
