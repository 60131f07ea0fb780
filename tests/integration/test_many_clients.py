"""1,000 concurrent clients on a pool of 10 server connections."""

import asyncio
import time

import psycopg

CLIENTS = 1000
POOL = 10
QUERIES = 3


def test_thousand_clients_on_pool_of_ten(make_pooler):
    pooler = make_pooler(pool_mode="transaction", default_pool_size=POOL,
                         max_client_conn=CLIENTS + 100)
    dsn = pooler.dsn(connect_timeout=60)
    stats = {"connected": 0, "peak_servers": 0}

    async def client(i, all_connected, connect_slots):
        async with connect_slots:
            conn = await psycopg.AsyncConnection.connect(**dsn, autocommit=True,
                                                         prepare_threshold=None)
        try:
            stats["connected"] += 1
            if stats["connected"] == CLIENTS:
                all_connected.set()
            await asyncio.wait_for(all_connected.wait(), 60)
            results = []
            for q in range(QUERIES):
                cur = await conn.execute("SELECT %s::int * 10 + %s::int, pg_sleep(0.002)", (i, q))
                results.append((await cur.fetchone())[0])
            return results
        finally:
            await conn.close()

    async def watch(done):
        while not done.is_set():
            stats["peak_servers"] = max(stats["peak_servers"], pooler.servers())
            await asyncio.sleep(0.2)

    async def main():
        all_connected = asyncio.Event()
        done = asyncio.Event()
        # Connect in waves so the listen backlog is never the bottleneck;
        # every client stays connected until all 1,000 are.
        connect_slots = asyncio.Semaphore(100)
        watcher = asyncio.create_task(watch(done))
        try:
            results = await asyncio.wait_for(asyncio.gather(
                *(client(i, all_connected, connect_slots) for i in range(CLIENTS)),
                return_exceptions=True), 120)
        finally:
            done.set()
            await watcher
        return results

    start = time.monotonic()
    results = asyncio.run(main())
    elapsed = time.monotonic() - start

    errors = [r for r in results if isinstance(r, BaseException)]
    assert not errors, "%d clients failed, first: %r" % (len(errors), errors[0])
    assert results == [[i * 10 + q for q in range(QUERIES)] for i in range(CLIENTS)]
    assert stats["connected"] == CLIENTS
    assert 1 <= stats["peak_servers"] <= POOL, stats
    assert elapsed < 90, elapsed


def test_admin_console_counts_clients(make_pooler):
    """SHOW POOLS sees every connected client, and no more servers than the pool."""
    pooler = make_pooler(pool_mode="transaction", default_pool_size=2, max_client_conn=300)
    conns = [pooler.connect() for _ in range(200)]
    try:
        for conn in conns[:20]:
            with conn.cursor() as cur:
                cur.execute("SELECT 1")
        pools = [p for p in pooler.admin("SHOW POOLS")
                 if p["database"] == "lgtest" and p["user"] == "lg_plain"]
        assert len(pools) == 1
        pool = pools[0]
        assert pool["cl_active"] + pool["cl_waiting"] == 200
        assert pool["sv_active"] + pool["sv_idle"] + pool["sv_used"] <= 2
        assert pool["pool_mode"] == "transaction"
    finally:
        for conn in conns:
            conn.close()
