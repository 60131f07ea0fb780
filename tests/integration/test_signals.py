"""Signals, as PgBouncer defines them: SIGHUP reloads the config, SIGINT
shuts down once running queries finish, SIGTERM stops, SIGUSR1 pauses and
SIGUSR2 resumes."""

import contextlib
import os
import signal
import threading
import time

import psycopg2
import pytest

from support import wait_for


def test_sighup_adds_database(make_pooler):
    pooler = make_pooler(pool_mode="transaction")
    with pytest.raises(psycopg2.OperationalError) as exc:
        pooler.connect(dbname="lg_added")
    assert "no such database" in str(exc.value)
    kept = pooler.connect(autocommit=False)
    try:
        with kept.cursor() as cur:
            cur.execute("SELECT 1")  # a transaction open across the reload
        pooler.reload({"lg_added": "host=127.0.0.1 port=%d dbname=lgtest" % pooler.cluster.port})

        def added_works():
            try:
                return pooler.query("SELECT current_database()", dbname="lg_added")
            except psycopg2.OperationalError:
                return None

        assert wait_for(added_works, 10) == [("lgtest",)]
        assert "lg_added" in {r["name"] for r in pooler.admin("SHOW DATABASES")}
        # The client connected before the reload kept its connection and
        # its transaction.
        with kept.cursor() as cur:
            cur.execute("SELECT 2")
            assert cur.fetchone() == (2,)
        kept.commit()
        assert pooler.alive()
    finally:
        kept.close()


def test_sighup_changes_setting(make_pooler):
    pooler = make_pooler(pool_mode="transaction", default_pool_size=5)
    with open(pooler.ini) as f:
        text = f.read()
    with open(pooler.ini, "w") as f:
        f.write(text.replace("default_pool_size = 5", "default_pool_size = 7"))
    pooler.signal(signal.SIGHUP)

    def pool_size():
        rows = [r for r in pooler.admin("SHOW CONFIG") if r["key"] == "default_pool_size"]
        return rows and rows[0]["value"] == "7"

    assert wait_for(pool_size, 10)


def test_sigint_lets_running_query_finish(make_pooler):
    pooler = make_pooler(pool_mode="transaction")
    conn = pooler.connect()
    result = {}

    def run():
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT 'finished' FROM pg_sleep(1.5)")
                result["row"] = cur.fetchone()
        except psycopg2.Error as e:
            result["error"] = e

    t = threading.Thread(target=run)
    t.start()
    time.sleep(0.5)
    pooler.signal(signal.SIGINT)
    t.join(15)
    conn.close()
    assert result.get("row") == ("finished",), result
    assert pooler.wait_exit(15), "still running after SIGINT"
    assert not pooler.accepts()


def test_sigterm_stops(make_pooler):
    pooler = make_pooler(pool_mode="transaction")
    assert pooler.query("SELECT 1") == [(1,)]
    pidfile = os.path.join(pooler.dir, "pooler.pid")
    assert os.path.exists(pidfile)
    with open(pidfile) as f:
        assert int(f.read().strip()) == pooler.pid
    pooler.signal(signal.SIGTERM)
    assert pooler.wait_exit(15), "still running after SIGTERM"
    assert not pooler.accepts()
    assert not os.path.exists(pidfile), "pidfile left behind"
    assert not os.path.exists(os.path.join(pooler.sockdir, ".s.PGSQL.%d" % pooler.port))


def test_sigusr1_pauses_sigusr2_resumes(make_pooler):
    pooler = make_pooler(pool_mode="transaction")
    conn = pooler.connect()
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1")
        pooler.signal(signal.SIGUSR1)
        time.sleep(0.5)
        result = {}

        def run():
            start = time.monotonic()
            with conn.cursor() as cur:
                cur.execute("SELECT 'after resume'")
                result["row"] = cur.fetchone()
            result["waited"] = time.monotonic() - start

        t = threading.Thread(target=run)
        t.start()
        t.join(2)
        assert t.is_alive(), "the query ran while the pooler was paused"
        pooler.signal(signal.SIGUSR2)
        t.join(10)
        assert result.get("row") == ("after resume",), result
        assert result["waited"] >= 2
        # New clients are served again.
        with contextlib.closing(pooler.connect()) as other, other.cursor() as cur:
            cur.execute("SELECT 3")
            assert cur.fetchone() == (3,)
    finally:
        conn.close()
