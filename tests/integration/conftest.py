"""Fixtures for the integration tests: one throwaway PostgreSQL per session
(tests/harness/pg.sh, or the one run.sh started and exported as LG_PG_*),
and poolers started per module or per test through tests/harness/pooler.sh
with the settings each test needs. See support.py for POOLER."""

import os
import subprocess

import pytest

from support import (ACTIVE_POOLERS, HARNESS, POOLER, Cluster, exports, finish_pooler,
                     raise_nofile, running_pooler, start_pooler)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed and rep.when == "call":
        for pooler in ACTIVE_POOLERS:
            rep.sections.append(("%s log (port %d)" % (POOLER, pooler.port),
                                 "\n".join(pooler.log().splitlines()[-60:])))


@pytest.fixture(scope="session")
def cluster():
    raise_nofile()
    if os.environ.get("LG_PG_PORT"):
        yield Cluster(os.environ)
        return
    proc = subprocess.run(["bash", os.path.join(HARNESS, "pg.sh"), "start"],
                          env=dict(os.environ, LG_OWNER_PID=str(os.getpid())),
                          capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        pytest.exit("could not start PostgreSQL:\n" + proc.stderr, returncode=1)
    env = exports(proc.stdout)
    try:
        yield Cluster(env)
    finally:
        subprocess.run(["bash", os.path.join(HARNESS, "pg.sh"), "stop", env["LG_PG_DIR"]],
                       timeout=120)


@pytest.fixture
def make_pooler(cluster):
    """Factory: make_pooler(pool_mode='session', default_pool_size=1, ...)
    starts a pooler for this test; all are stopped at teardown."""
    started = []

    def make(**settings):
        pooler = start_pooler(cluster, settings)
        started.append(pooler)
        return pooler

    yield make
    for pooler in started:
        finish_pooler(pooler)


@pytest.fixture(scope="module")
def tx_pooler(cluster):
    """Transaction pooling, default_pool_size=5, auth_type=md5."""
    with running_pooler(cluster, pool_mode="transaction") as pooler:
        yield pooler


@pytest.fixture(scope="module")
def session_pooler(cluster):
    """Session pooling, default_pool_size=5, auth_type=md5."""
    with running_pooler(cluster, pool_mode="session") as pooler:
        yield pooler


@pytest.fixture(scope="module", params=["session", "transaction"])
def pooler(request, cluster):
    """The same tests in session and in transaction pooling."""
    with running_pooler(cluster, pool_mode=request.param) as pooler:
        yield pooler

