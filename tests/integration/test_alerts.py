"""Saturation and leak alerts: a client waiting behind a held pool fires
the waiting_clients alert (log line naming the holder, SHOW ALERTS row,
pglifeguard_alert_active gauge, alert_command with environment and JSON
on stdin) and it resolves once the holder commits; a flagged leak fires the
leaks alert; SHOW LATENCY gives sane percentiles; the Prometheus rules in
contrib/prometheus/alerts.yml pass promtool."""

import contextlib
import glob
import json
import os
import pathlib
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request

import pytest

from support import ON_PGBOUNCER, wait_for

pytestmark = pytest.mark.skipif(ON_PGBOUNCER, reason="alerts are pglifeguard's own")

SRCDIR = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

QUIET = dict(alert_max_wait_ms=0, alert_pool_utilization=0, alert_client_conn_percent=0,
             alert_leaks=0)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def alert_dir():
    """A directory the pooler (which may run as another OS user) can use."""
    path = tempfile.mkdtemp(prefix="lg-alerts-")
    os.chmod(path, 0o777)
    yield pathlib.Path(path)
    shutil.rmtree(path, ignore_errors=True)


def alert_script(tmp_path):
    """A command that writes its PGLIFEGUARD_* environment and its stdin
    to one file per run under tmp_path/runs."""
    runs = tmp_path / "runs"
    runs.mkdir()
    os.chmod(runs, 0o777)
    script = tmp_path / "on_alert.sh"
    script.write_text("#!/bin/sh\n"
                      "out=\"%s/run.$$\"\n"
                      "env | grep '^PGLIFEGUARD_' | grep -v '^PGLIFEGUARD_DETAIL=' > \"$out.tmp\"\n"
                      "echo '--- stdin' >> \"$out.tmp\"\n"
                      "cat >> \"$out.tmp\"\n"
                      "mv \"$out.tmp\" \"$out\"\n" % runs)
    script.chmod(0o755)
    return script, runs


def read_runs(runs):
    result = []
    for path in sorted(glob.glob(str(runs / "run.*"))):
        if path.endswith(".tmp"):
            continue
        text = open(path).read()
        head, _, body = text.partition("--- stdin\n")
        env = dict(line.split("=", 1) for line in head.splitlines() if "=" in line)
        result.append((env, json.loads(body)))
    return result


def alerts(pooler, name):
    return [r for r in pooler.admin("SHOW ALERTS") if r["alert"] == name]


def metric(port, name, labels):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=10) as f:
        body = f.read().decode()
    for line in body.splitlines():
        if line.startswith(name + "{") and all('%s="%s"' % kv in line for kv in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return None


def test_waiting_clients_alert_fires_and_resolves(make_pooler, alert_dir):
    script, runs = alert_script(alert_dir)
    port = free_port()
    pooler = make_pooler(pool_mode="transaction", default_pool_size=1, alert_wait_seconds=1,
                         alert_for_seconds=1, alert_command=str(script),
                         metrics_listen="127.0.0.1:%d" % port, **QUIET)
    labels = {"alert": "waiting_clients", "database": "lgtest", "user": "lg_plain"}
    holder = pooler.connect(autocommit=False, application_name="holder_app")
    waiter = pooler.connect(application_name="waiter_app")
    done = threading.Event()
    try:
        with holder.cursor() as cur:
            cur.execute("SELECT 'held by holder_app'")

        def wait_for_server():
            with waiter.cursor() as cur:
                cur.execute("SELECT 1")
            done.set()

        t = threading.Thread(target=wait_for_server, daemon=True)
        started = time.monotonic()
        t.start()
        rows = wait_for(lambda: [r for r in alerts(pooler, "waiting_clients")
                                 if r["state"] == "firing"], 6, interval=0.1)
        fired_after = time.monotonic() - started
        # waited more than 1 s, and that held for 1 s more
        assert 1.9 <= fired_after < 4.5, fired_after
        assert not done.is_set()
        row = rows[0]
        assert row["database"] == "lgtest" and row["user"] == "lg_plain", row
        assert float(row["value"]) == 1 and float(row["threshold"]) == 1, row
        assert "application_name=holder_app" in row["detail"], row
        assert "held by holder_app" in row["detail"], row

        lines = [l for l in pooler.log().splitlines() if "alert waiting_clients firing" in l]
        assert len(lines) == 1, pooler.log()
        assert " WARNING alert" in lines[0] and "application_name=holder_app" in lines[0], lines
        assert "lgtest/lg_plain" in lines[0], lines
        assert metric(port, "pglifeguard_alert_active", labels) == 1

        fired = wait_for(lambda: read_runs(runs), 5)
        env, doc = fired[0]
        assert env["PGLIFEGUARD_ALERT"] == "waiting_clients", env
        assert env["PGLIFEGUARD_ALERT_STATE"] == "firing", env
        assert env["PGLIFEGUARD_DATABASE"] == "lgtest", env
        assert env["PGLIFEGUARD_USER"] == "lg_plain", env
        assert env["PGLIFEGUARD_VALUE"] == "1" and env["PGLIFEGUARD_THRESHOLD"] == "1", env
        assert doc["alert"] == "waiting_clients" and doc["state"] == "firing", doc
        assert doc["database"] == "lgtest" and doc["user"] == "lg_plain", doc
        assert doc["value"] == 1 and doc["threshold"] == 1, doc
        assert "holder_app" in doc["detail"], doc
        # the statements of the window come through alert_command too
        assert "| top statements by server time in the last " in doc["detail"], doc
        assert ": SELECT ?" in doc["detail"], doc
        assert abs(doc["since"] - time.time()) < 30, doc

        holder.commit()
        assert done.wait(5)
        freed = time.monotonic()
        wait_for(lambda: [r for r in alerts(pooler, "waiting_clients")
                          if r["state"] == "resolved"], 5, interval=0.1)
        assert 0.9 <= time.monotonic() - freed < 3.5
        assert not [r for r in alerts(pooler, "waiting_clients") if r["state"] == "firing"]
        # info level, spelled LOG as PgBouncer does
        assert any(" LOG alert waiting_clients resolved for lgtest/lg_plain" in l
                   for l in pooler.log().splitlines()), pooler.log()
        assert metric(port, "pglifeguard_alert_active", labels) == 0
        both = wait_for(lambda: len(read_runs(runs)) >= 2 and read_runs(runs), 5)
        states = sorted(doc["state"] for _, doc in both)
        assert states == ["firing", "resolved"], both
        # fired once only
        assert len([l for l in pooler.log().splitlines()
                    if "alert waiting_clients firing" in l]) == 1
        assert pooler.alive()
    finally:
        holder.close()
        waiter.close()


def test_leak_alert(make_pooler):
    pooler = make_pooler(pool_mode="transaction", leak_threshold=1, alert_for_seconds=1,
                         alert_leaks=1, alert_wait_seconds=0, alert_max_wait_ms=0,
                         alert_pool_utilization=0, alert_client_conn_percent=0)
    conn = pooler.connect(autocommit=False, application_name="leaky_app")
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1")
        rows = wait_for(lambda: [r for r in alerts(pooler, "leaks") if r["state"] == "firing"],
                        5, interval=0.1)
        assert rows[0]["database"] == "lgtest" and float(rows[0]["value"]) == 1, rows
        assert any("alert leaks firing" in l for l in pooler.log().splitlines())
        # resolves when no new leak was flagged for alert_for_seconds
        wait_for(lambda: [r for r in alerts(pooler, "leaks") if r["state"] == "resolved"], 5)
    finally:
        conn.close()


def test_alert_command_missing_is_logged(make_pooler, alert_dir):
    pooler = make_pooler(pool_mode="transaction", leak_threshold=1, alert_for_seconds=1,
                         alert_command=str(alert_dir / "no-such-program"), **dict(QUIET, alert_leaks=1))
    conn = pooler.connect(autocommit=False)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1")
        wait_for(lambda: [l for l in pooler.log().splitlines()
                          if "alert_command" in l and "no-such-program" in l], 5)
        assert pooler.alive()
        with conn.cursor() as cur:
            cur.execute("SELECT 2")
            assert cur.fetchone() == (2,)
        conn.commit()
    finally:
        conn.close()


def test_show_latency(make_pooler):
    pooler = make_pooler(pool_mode="transaction")
    with contextlib.closing(pooler.connect()) as conn, conn.cursor() as cur:
        for _ in range(10):
            cur.execute("SELECT pg_sleep(0.02)")
    rows = [r for r in pooler.admin("SHOW LATENCY")
            if r["database"] == "lgtest" and r["user"] == "lg_plain"]
    assert len(rows) == 1, rows
    row = rows[0]
    for kind in ("query", "xact", "wait", "checkout"):
        p50, p90, p99, top = (row["%s_%s_us" % (kind, q)] for q in ("p50", "p90", "p99", "max"))
        assert 0 <= p50 <= p90 <= p99 <= top, (kind, row)
        assert row["%s_count" % kind] >= 10, (kind, row)
    assert 15000 <= row["query_p50_us"] <= 500000, row
    assert row["query_max_us"] >= 20000, row
    assert row["checkout_p50_us"] >= row["query_p50_us"] * 0.5, row
    assert row["wait_max_us"] < 1000000, row


def test_promtool_check_rules():
    promtool = shutil.which("promtool")
    if not promtool:
        pytest.skip("promtool not installed (Debian package: prometheus)")
    path = os.path.join(SRCDIR, "contrib", "prometheus", "alerts.yml")
    proc = subprocess.run([promtool, "check", "rules", path], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS" in proc.stdout + proc.stderr


@pytest.mark.parametrize("rule,settings", [
    ("pool_utilization", dict(alert_pool_utilization=90)),
    ("max_wait", dict(alert_max_wait_ms=500)),
])
def test_saturation_alert_names_holder(make_pooler, rule, settings):
    conf = dict(QUIET, alert_wait_seconds=0, alert_for_seconds=1)
    conf.update(settings)
    pooler = make_pooler(pool_mode="transaction", default_pool_size=1, **conf)
    holder = pooler.connect(autocommit=False, application_name="hog_app")
    waiter = pooler.connect()
    done = threading.Event()
    try:
        with holder.cursor() as cur:
            cur.execute("SELECT 'hog statement'")

        def wait_for_server():
            with waiter.cursor() as cur:
                cur.execute("SELECT 1")
            done.set()

        threading.Thread(target=wait_for_server, daemon=True).start()
        rows = wait_for(lambda: [r for r in alerts(pooler, rule) if r["state"] == "firing"], 6,
                        interval=0.1)
        assert "application_name=hog_app" in rows[0]["detail"], rows
        assert "hog statement" in rows[0]["detail"], rows
        holder.commit()
        assert done.wait(5)
        wait_for(lambda: [r for r in alerts(pooler, rule) if r["state"] == "resolved"], 5)
        assert not [r for r in alerts(pooler, rule) if r["state"] == "firing"]
    finally:
        holder.close()
        waiter.close()


def top_statements(detail):
    """The (seconds, executions, text) list of an alert's top statements."""
    head, sep, tail = detail.partition(" | top statements by server time in the last ")
    assert sep, detail
    span, _, rest = tail.partition(" s:")
    result = []
    for item in rest.split(";"):
        m = re.match(r"^\s*([\d.]+) s in (\d+): (.*)$", item)
        if m:
            result.append((float(m.group(1)), int(m.group(2)), m.group(3).strip()))
    return float(span), result


def saturate(pooler):
    """Two clients hold both servers of a pool of 2 with a fast statement
    while a third waits: returns the detail of the pool_utilization alert."""
    assert not alerts(pooler, "pool_utilization")
    holders = [pooler.connect(autocommit=False, application_name="hog_app") for _ in range(2)]
    waiter = pooler.connect()
    done = threading.Event()
    try:
        for conn in holders:
            with conn.cursor() as cur:
                cur.execute("SELECT 'hog statement'")

        def wait_for_server():
            with waiter.cursor() as cur:
                cur.execute("SELECT 1")
            done.set()

        threading.Thread(target=wait_for_server, daemon=True).start()
        rows = wait_for(lambda: [r for r in alerts(pooler, "pool_utilization")
                                 if r["state"] == "firing"], 6, interval=0.1)
        holders[0].commit()
        assert done.wait(5)
        return rows[0]["detail"]
    finally:
        for conn in holders:
            conn.close()
        waiter.close()


SATURATION = dict(QUIET, alert_wait_seconds=0, alert_for_seconds=1, alert_pool_utilization=90)


def test_saturation_alert_names_top_statement_of_window(make_pooler):
    """The statement that used most server time in the window comes first
    even though nobody runs it when the pool saturates: a slow statement
    ran three times (different literals: one statement) and finished, then
    two clients hold both servers with a fast one. While the slow one ran,
    one of the two servers was in use: no alert then."""
    pooler = make_pooler(pool_mode="transaction", default_pool_size=2, **SATURATION)
    with contextlib.closing(pooler.connect(application_name="slow_app")) as slow, \
            slow.cursor() as cur:
        for delay in ("0.4", "0.5", "0.6"):
            cur.execute("SELECT pg_sleep(%s) FROM (SELECT 'slow statement') s" % delay)
        for i in range(20):
            cur.execute("SELECT %d AS quick" % i)
    detail = saturate(pooler)
    # the holders are named by their checkouts, as before
    holders = detail.split(" | ")[0]
    assert "application_name=hog_app" in holders and "slow_app" not in holders, detail
    span, stmts = top_statements(detail)
    assert 1 <= span <= 130, detail
    # and the holders' two statements (psycopg2 sends BEGIN on its own)
    assert len(stmts) == 4 and ("BEGIN", 2) in [(s[2], s[1]) for s in stmts], detail
    seconds, calls, text = stmts[0]
    assert text == "SELECT pg_sleep(?) FROM (SELECT ?) s", detail
    assert calls == 3 and 1.45 <= seconds < 3.0, detail
    # the twenty quick ones are one statement too, and far behind
    assert stmts[1:] == sorted(stmts[1:], reverse=True), detail
    quick = [s for s in stmts if s[2] == "SELECT ? AS quick"]
    assert quick and quick[0][1] == 20 and quick[0][0] < 0.5, detail
    assert any(s[2] == "SELECT ?" and s[1] == 2 for s in stmts), detail
    assert "not seen" not in detail, detail
    # the log line carries the same detail
    lines = [l for l in pooler.log().splitlines() if "alert pool_utilization firing" in l]
    assert len(lines) == 1 and "pg_sleep(?)" in lines[0], lines


def test_saturation_alert_names_prepared_statement(make_pooler):
    """A statement prepared once and then only bound (Parse answered by the
    pooler, max_prepared_statements) is named by its text too."""
    psycopg = pytest.importorskip("psycopg")
    pooler = make_pooler(pool_mode="transaction", default_pool_size=2, **SATURATION)
    with psycopg.connect(**pooler.dsn(), autocommit=True, prepare_threshold=0) as conn:
        for delay in (0.4, 0.5, 0.6):
            conn.execute("SELECT pg_sleep(%s) AS prepared_sleep", [delay], prepare=True)
    detail = saturate(pooler)
    span, stmts = top_statements(detail)
    assert stmts[0][2] == "SELECT pg_sleep($1) AS prepared_sleep", detail
    # psycopg prepares in a round trip of its own (Parse, Describe, Sync):
    # one request more than the three executions
    assert stmts[0][1] == 4 and 1.45 <= stmts[0][0] < 3.0, detail
    assert "not seen" not in detail, detail


def test_client_conn_alert(make_pooler):
    pooler = make_pooler(max_client_conn=10, alert_for_seconds=1,
                         **dict(QUIET, alert_client_conn_percent=20, alert_wait_seconds=0))
    conns = [pooler.connect() for _ in range(3)]
    try:
        rows = wait_for(lambda: [r for r in alerts(pooler, "client_conn")
                                 if r["state"] == "firing"], 5, interval=0.1)
        assert float(rows[0]["value"]) >= 30 and float(rows[0]["threshold"]) == 20, rows
        assert rows[0]["database"] == "" and rows[0]["user"] == "", rows
    finally:
        for c in conns:
            c.close()
    wait_for(lambda: [r for r in alerts(pooler, "client_conn") if r["state"] == "resolved"], 5)


def slow_script(tmp_path):
    """A command that records its start, starts a grandchild (as a script
    calling curl would) and hangs until killed."""
    runs = tmp_path / "runs"
    runs.mkdir()
    os.chmod(runs, 0o777)
    script = tmp_path / "slow_alert.sh"
    script.write_text("#!/bin/sh\n"
                      "sleep 60 &\n"
                      "echo \"$$ $! $PGLIFEGUARD_ALERT $PGLIFEGUARD_ALERT_STATE\" > \"%s/started.$$\"\n"
                      "wait\n" % runs)
    script.chmod(0o755)
    return script, runs


def started_runs(runs):
    result = []
    for path in sorted(glob.glob(str(runs / "started.*"))):
        words = open(path).read().split()
        if len(words) == 4:
            result.append((int(words[0]), int(words[1]), words[2], words[3]))
    return result


def process_gone(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(") ")[1][0] in "ZX"
    except OSError:
        return True


def test_alert_command_timeout_kills_it_and_its_children(make_pooler, alert_dir):
    script, runs = slow_script(alert_dir)
    port = free_port()
    pooler = make_pooler(pool_mode="transaction", leak_threshold=1, alert_for_seconds=1,
                         alert_command=str(script), alert_command_timeout=2,
                         metrics_listen="127.0.0.1:%d" % port, **dict(QUIET, alert_leaks=1))
    conn = pooler.connect(autocommit=False)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1")
        started = wait_for(lambda: started_runs(runs), 6)
        shell, grandchild, alert, state = started[0]
        assert (alert, state) == ("leaks", "firing"), started
        t0 = time.monotonic()
        assert not process_gone(shell) and not process_gone(grandchild)
        wait_for(lambda: process_gone(shell) and process_gone(grandchild), 6)
        # killed by the timeout (2 s after its start), not earlier
        assert time.monotonic() - t0 >= 0.5
        lines = [l for l in pooler.log().splitlines()
                 if "alert_command (pid %d) still running after 2 s" % shell in l]
        assert len(lines) == 1 and "killed" in lines[0], pooler.log()
        assert wait_for(lambda: metric_plain(port, "pglifeguard_alert_commands_killed_total")
                        >= 1, 3)
        assert pooler.alive()
        conn.rollback()
    finally:
        conn.close()


def metric_plain(port, name):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=10) as f:
        body = f.read().decode()
    for line in body.splitlines():
        if line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    return None


def test_alert_command_max_drops_extra_alerts(make_pooler, alert_dir):
    script, runs = slow_script(alert_dir)
    port = free_port()
    pooler = make_pooler(pool_mode="transaction", leak_threshold=1, alert_for_seconds=1,
                         alert_command=str(script), alert_command_max=1,
                         alert_command_timeout=6, metrics_listen="127.0.0.1:%d" % port,
                         **dict(QUIET, alert_leaks=1))
    conn = pooler.connect(autocommit=False)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1")
        wait_for(lambda: started_runs(runs), 6)
        assert metric_plain(port, "pglifeguard_alert_commands_dropped_total") == 0
        # the leaks alert resolves while the first command still runs: not run
        wait_for(lambda: [r for r in alerts(pooler, "leaks") if r["state"] == "resolved"], 6)
        lines = wait_for(lambda: [l for l in pooler.log().splitlines()
                                  if "alert_command not run for alert leaks resolved" in l], 3)
        assert "1 still running (alert_command_max)" in lines[0], lines
        assert metric_plain(port, "pglifeguard_alert_commands_dropped_total") == 1
        assert [r[3] for r in started_runs(runs)] == ["firing"]
        # the limit counts running commands only: once the first is gone, the
        # next alert runs its command again
        wait_for(lambda: metric_plain(port, "pglifeguard_alert_commands_killed_total") == 1, 8)
        conn.rollback()
        with conn.cursor() as cur:
            cur.execute("SELECT 2")
        wait_for(lambda: len(started_runs(runs)) == 2, 8)
        assert metric_plain(port, "pglifeguard_alert_commands_dropped_total") == 1
        assert pooler.alive()
        conn.rollback()
        wait_for(lambda: all(process_gone(p) for r in started_runs(runs) for p in r[:2]), 10)
    finally:
        conn.close()
