"""pgbench through transaction pooling with four times more clients than
server connections, in the simple and the extended query protocol."""

import os
import re
import subprocess
import threading

import pytest

from support import running_pooler

CLIENTS = 20
POOL = 5
TX_PER_CLIENT = 100


@pytest.fixture(scope="module")
def bench_pooler(cluster):
    with running_pooler(cluster, pool_mode="transaction", default_pool_size=POOL,
                        max_client_conn=100) as pooler:
        yield pooler


def run_pgbench(pooler, *args, timeout=180):
    cmd = [os.path.join(pooler.cluster.bindir, "pgbench"), "-n", *args]
    return subprocess.run(cmd, env=pooler.client_env(), capture_output=True, text=True,
                          timeout=timeout)


@pytest.mark.parametrize("protocol", ["simple", "extended"])
@pytest.mark.parametrize("script", ["select-only", "tpcb-like"])
def test_pgbench(bench_pooler, protocol, script):
    peak = []
    done = threading.Event()

    def watch():
        while not done.is_set():
            peak.append(bench_pooler.servers())
            done.wait(0.2)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        r = run_pgbench(bench_pooler, "-b", script, "-M", protocol, "-c", str(CLIENTS),
                        "-j", "2", "-t", str(TX_PER_CLIENT))
    finally:
        done.set()
        watcher.join()
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    total = CLIENTS * TX_PER_CLIENT
    assert "number of transactions actually processed: %d/%d" % (total, total) in out, out
    failed = re.search(r"number of failed transactions: (\d+)", out)
    assert failed and failed.group(1) == "0", out
    assert "query mode: %s" % protocol in out
    # Never more server connections than the pool allows.
    assert max(peak) <= POOL, peak


def test_pgbench_timed_run(bench_pooler):
    r = run_pgbench(bench_pooler, "-S", "-M", "extended", "-c", str(CLIENTS), "-j", "2", "-T", "3")
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    processed = re.search(r"number of transactions actually processed: (\d+)\n", out)
    assert processed and int(processed.group(1)) > 100, out
    assert re.search(r"number of failed transactions: 0 ", out), out
