"""What one client leaves behind must not reach the next one: startup
parameters follow the client from server to server, session state is reset,
and a client that vanishes mid-transaction or mid-COPY commits nothing."""

import contextlib
import time

import pytest

import wire
from support import wait_for

STARTUP_PARAMS = [
    {"application_name": "lg-client-a", "TimeZone": "Asia/Tokyo", "DateStyle": "SQL, DMY"},
    {"application_name": "lg-client-b", "TimeZone": "America/New_York", "DateStyle": "German, DMY"},
    {"application_name": "lg-client-c", "TimeZone": "UTC", "DateStyle": "ISO, MDY"},
]
SHOW = "SHOW application_name; SHOW TimeZone; SHOW DateStyle; SELECT pg_backend_pid()"


def test_startup_parameters_follow_client(make_pooler):
    pooler = make_pooler(pool_mode="transaction", default_pool_size=1)
    clients = []
    try:
        for params in STARTUP_PARAMS:
            w, err = pooler.login(**params)
            assert err is None, err
            clients.append(w)
        pids = []
        for rnd in range(4):
            if rnd == 2:
                # A new server connection, which must get each client's settings.
                pooler.cluster.query("SELECT pg_terminate_backend(pid) FROM unnest(%s) pid",
                                     (pooler.server_pids(),))
                assert wait_for(lambda: pooler.servers() == 0, 5)
            for w, params in zip(clients, STARTUP_PARAMS):
                msgs = w.query(SHOW)
                assert wire.errors(msgs) == []
                values = [r[0] for r in wire.rows(msgs)]
                assert values[:3] == [params["application_name"], params["TimeZone"],
                                      params["DateStyle"]]
                pids.append(values[3])
        # One server connection served all three clients, then another one.
        assert len(set(pids[:6])) == 1 and len(set(pids[6:])) == 1
        assert pids[0] != pids[6]
    finally:
        for w in clients:
            w.close()


def test_parameter_status_reported(make_pooler):
    pooler = make_pooler(pool_mode="transaction", default_pool_size=1)
    w, err = pooler.login(TimeZone="Europe/Paris", application_name="lg-status")
    assert err is None, err
    w.close()
    assert w.parameters.get("TimeZone") == "Europe/Paris"
    assert w.parameters.get("application_name") == "lg-status"
    assert w.parameters.get("client_encoding") == "UTF8"
    assert w.parameters.get("server_version", "").startswith("15")


def test_server_reset_in_session_mode(make_pooler):
    pooler = make_pooler(pool_mode="session", default_pool_size=1)
    with contextlib.closing(pooler.connect()) as conn, conn.cursor() as cur:
        cur.execute("SET work_mem = '7MB'")
        cur.execute("CREATE TEMP TABLE lg_tmp (x int)")
        cur.execute("PREPARE lg_stmt AS SELECT 1")
        cur.execute("SELECT pg_backend_pid()")
        first_pid = cur.fetchone()[0]
    with contextlib.closing(pooler.connect()) as conn, conn.cursor() as cur:
        cur.execute("SELECT pg_backend_pid(), current_setting('work_mem'),"
                    " to_regclass('pg_temp.lg_tmp') IS NULL,"
                    " (SELECT count(*) FROM pg_prepared_statements)")
        pid, work_mem, temp_gone, prepared = cur.fetchone()
    assert pid == first_pid, "the pool of 1 should have reused its server"
    assert (work_mem, temp_gone, prepared) == ("4MB", True, 0)


@pytest.fixture
def victim_table(cluster):
    cluster.query("DROP TABLE IF EXISTS lg_victim; CREATE TABLE lg_victim (v int)")
    yield "lg_victim"
    cluster.query("DROP TABLE IF EXISTS lg_victim")


def assert_clean_next_client(pooler, cluster):
    """The next client gets no transaction and sees nothing committed."""
    with contextlib.closing(pooler.connect()) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM lg_victim")
        assert cur.fetchone() == (0,)
        # Outside a transaction block both are this statement's start; in an
        # inherited transaction now() would be that transaction's start.
        cur.execute("SELECT now() = statement_timestamp(), txid_current_if_assigned()")
        assert cur.fetchone() == (True, None)
        cur.execute("BEGIN")
        cur.execute("ROLLBACK")
        # "there is already a transaction in progress" would show up here.
        assert conn.notices == []
    # Nothing is left waiting on a lock or idle in a transaction.
    assert cluster.query(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = 'lgtest'"
        " AND state LIKE 'idle in transaction%%'") == [(0,)]


@pytest.mark.parametrize("mode", ["session", "transaction"])
@pytest.mark.parametrize("how", ["abort", "close"])
def test_disconnect_mid_transaction(make_pooler, cluster, victim_table, mode, how):
    pooler = make_pooler(pool_mode=mode, default_pool_size=1)
    w, err = pooler.login()
    assert err is None, err
    msgs = w.query("BEGIN; INSERT INTO lg_victim VALUES (1)")
    assert msgs[-1] == ("Z", b"T")
    w.abort() if how == "abort" else w.close()
    time.sleep(0.3)
    assert_clean_next_client(pooler, cluster)


@pytest.mark.parametrize("mode", ["session", "transaction"])
def test_disconnect_mid_copy_in(make_pooler, cluster, victim_table, mode):
    pooler = make_pooler(pool_mode=mode, default_pool_size=1)
    w, err = pooler.login()
    assert err is None, err
    w.send("Q", b"COPY lg_victim FROM STDIN\0")
    mtype, _ = w.recv()
    assert mtype == "G", "expected CopyInResponse"
    w.send("d", b"".join(b"%d\n" % i for i in range(1000)))
    w.abort()
    time.sleep(0.3)
    assert_clean_next_client(pooler, cluster)
