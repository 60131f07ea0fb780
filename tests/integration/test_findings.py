"""Query suggestions (`pglifeguard-cli suggest`, "Query suggestions" and
"query_suggestions"): a workload with planted problems runs through
pglifeguard, which samples pg_stat_statements into its store: a sort that
spills with a small work_mem, a SELECT of thousands of rows without LIMIT, an
UPDATE of many rows, lower(email) and date(created_at) on plain-indexed
columns, scans of a table too big for shared_buffers' ring. Decoys must not be
reported: a sort that fits in work_mem, a SELECT with LIMIT, single-row
SELECTs by primary key, a function on a column no index leads, a cast on the
constant side, a cast to the column's own type, a call an expression index
serves. The pooler-side rules (N+1, long and idle transactions by
application_name) read rows this test writes into the store itself, each with
decoys under its thresholds and a database that is not the one advised."""

import json
import os
import sqlite3
import subprocess
import time

import pytest

from support import ON_PGBOUNCER, running_pooler, temp_dir, wait_baseline, wait_for

pytestmark = pytest.mark.skipif(ON_PGBOUNCER, reason="the advisor is pglifeguard's own")

CLI = os.environ.get("PGLIFEGUARD_CLI") or os.path.join(
    os.path.dirname(os.environ.get("PGLIFEGUARD", "build/pglifeguard")), "pglifeguard-cli")

TABLES = ["fnd_sort", "fnd_small", "fnd_users", "fnd_big"]

SETUP = """
CREATE TABLE fnd_sort (id int PRIMARY KEY, payload text NOT NULL);
INSERT INTO fnd_sort SELECT g, md5(g::text) FROM generate_series(1, 200000) g;
CREATE TABLE fnd_small (id int PRIMARY KEY, code text NOT NULL);
INSERT INTO fnd_small SELECT g, 'code ' || g FROM generate_series(1, 200) g;
CREATE TABLE fnd_users (id int PRIMARY KEY, email text NOT NULL, nick text NOT NULL,
  created_at timestamp NOT NULL, code text NOT NULL);
INSERT INTO fnd_users SELECT g, 'User' || g || '@Example.com', 'nick' || g,
  '2026-01-01'::timestamp + g * interval '10 minutes', 'c' || g
  FROM generate_series(1, 200000) g;
CREATE INDEX fnd_users_email ON fnd_users (email);
CREATE INDEX fnd_users_code ON fnd_users (code);
CREATE INDEX fnd_users_upper_code ON fnd_users (upper(code));
CREATE INDEX fnd_users_created_at ON fnd_users (created_at);
-- written through a bulk-write ring: most of it is not left in shared_buffers,
-- and a sequential scan of a table over a quarter of shared_buffers reads
-- through a small ring too, so every scan reads most of it again
CREATE TABLE fnd_big AS SELECT g AS id, g % 1000 AS n, repeat('x', 200) AS filler
  FROM generate_series(1, 300000) g;
"""

# (kind, a piece of the statement or the application_name) that must be
# reported, and nothing else about these tables and applications
EXPECTED = {
    ("temp_spill", "count(DISTINCT payload) FROM fnd_sort"),
    ("large_result_without_limit", "FROM fnd_users WHERE id <= $1"),
    ("many_rows_per_call", "UPDATE fnd_sort"),
    ("function_on_indexed_column", "lower(email) = lower($1)"),
    ("function_on_indexed_column", "date(created_at) = $1"),
    ("low_cache_hit_ratio", "FROM fnd_big"),
    ("n_plus_one", "FROM fnd_items"),
    ("long_transactions", "fnd-billing"),
    ("idle_in_transaction", "fnd-web"),
}
# what the decoys must show in pg_stat_statements (sampled before suggest)
DECOYS = [
    "count(DISTINCT code) FROM fnd_small",
    "ORDER BY id LIMIT $1",
    "email FROM fnd_users WHERE id = $1",
    "lower(nick) = $1",
    "created_at >= $1::timestamp",
    "email::text = $1",
    "upper(code) = $1",
]


def cli(*args, timeout=300):
    return subprocess.run([CLI, *args], capture_output=True, text=True, timeout=timeout)


def workload(conn):
    cur = conn.cursor()
    for i in range(3):
        # a sort of 200,000 md5s in 64 kB spills; 200 short codes do not
        cur.execute("BEGIN")
        cur.execute("SET LOCAL work_mem = '64kB'")
        cur.execute("SELECT count(DISTINCT payload) FROM fnd_sort WHERE id > %s", (i,))
        cur.execute("SELECT count(DISTINCT code) FROM fnd_small WHERE id > %s", (i,))
        cur.execute("COMMIT")
        cur.execute("UPDATE fnd_sort SET payload = payload WHERE id <= %s", (20000,))
    for i in range(5):
        cur.execute("SELECT id, email FROM fnd_users WHERE id <= %s", (3000 + i,))
        cur.fetchall()
        cur.execute("SELECT id, email FROM fnd_users ORDER BY id LIMIT %s", (3000,))
        cur.fetchall()
    for i in range(6):
        cur.execute("SELECT count(*) FROM fnd_big WHERE n = %s", (i,))
    for i in range(20):
        cur.execute("SELECT email FROM fnd_users WHERE id = %s", (i * 97 + 1,))
        cur.execute("SELECT id FROM fnd_users WHERE lower(email) = lower(%s)",
                    ("user%d@example.com" % (i * 31 + 7),))
        cur.execute("SELECT id FROM fnd_users WHERE date(created_at) = %s",
                    ("2026-01-%02d" % (i + 2),))
        cur.execute("SELECT id FROM fnd_users WHERE lower(nick) = %s", ("nick%d" % i,))
        cur.execute("SELECT id FROM fnd_users WHERE created_at >= %s::timestamp "
                    "AND created_at < %s::timestamp",
                    ("2026-01-%02d" % (i + 2), "2026-01-%02d 01:00" % (i + 2)))
        # a cast to the column's own type; a call an expression index serves
        cur.execute("SELECT id FROM fnd_users WHERE email::text = %s",
                    ("User%d@Example.com" % i,))
        cur.execute("SELECT id FROM fnd_users WHERE upper(code) = %s", ("C%d" % i,))
    cur.close()


def top(store):
    r = cli("-s", store, "top", "--json", "--since", "1h", "--limit", "1000")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)["statements"]


def sampled(store):
    calls = {}
    for s in top(store):
        for key in [k for _, k in EXPECTED] + DECOYS:
            if s["query"] and key in s["query"]:
                calls[key] = calls.get(key, 0) + s["calls"]
    need = {"count(DISTINCT payload) FROM fnd_sort": 3, "UPDATE fnd_sort": 3,
            "FROM fnd_big": 6, "FROM fnd_users WHERE id <= $1": 5, "ORDER BY id LIMIT $1": 5,
            "lower(email) = lower($1)": 20, "date(created_at) = $1": 20,
            "count(DISTINCT code) FROM fnd_small": 3, "email FROM fnd_users WHERE id = $1": 20,
            "lower(nick) = $1": 20, "created_at >= $1::timestamp": 20,
            "email::text = $1": 20, "upper(code) = $1": 20}
    return all(calls.get(k, 0) >= n for k, n in need.items())


def plant_pooler_rows(store):
    """Rows the pooler writes (repeat_events, xact_samples), as it would."""
    now = int(time.time() * 1e6)
    db = sqlite3.connect(store)
    try:
        rep = ("INSERT INTO repeat_events (at_us, database, username, application_name,"
               " client_addr, scope, statement, executions, total_us, scope_us)"
               " VALUES (?, ?, 'lg_plain', ?, '127.0.0.1', 'transaction', ?, ?, ?, ?)")
        for i in range(6):  # N+1: 25 runs in each of 6 transactions
            db.execute(rep, (now - i, "fndapp", "fnd-shop", "SELECT * FROM fnd_items WHERE id = $1",
                             25, 5000, 9000))
        for i in range(2):  # decoy: many runs, too few transactions
            db.execute(rep, (now - i, "fndapp", "fnd-shop", "SELECT * FROM fnd_prices WHERE id = $1",
                             40, 8000, 9000))
        for i in range(10):  # decoy: too few runs per transaction
            db.execute(rep, (now - i, "fndapp", "fnd-shop", "SELECT * FROM fnd_taxes WHERE id = $1",
                             3, 300, 900))
        for i in range(6):  # decoy: another database
            db.execute(rep, (now - i, "otherdb", "fnd-shop", "SELECT * FROM fnd_other WHERE id = $1",
                             25, 5000, 9000))
        xact = "INSERT INTO xact_samples VALUES (?, ?, 'lg_plain', ?, ?, ?, ?, ?, ?)"
        # at_us, database, application_name, xacts, xact_us, xact_max_us, idle_us, idle_max_us
        db.execute(xact, (now, "fndapp", "fnd-billing", 3, 9000000, 8000000, 100000, 50000))
        db.execute(xact, (now, "fndapp", "fnd-web", 200, 4000000, 300000, 2000000, 200000))
        db.execute(xact, (now, "fndapp", "fnd-api", 500, 9000000, 900000, 200000, 20000))
        db.execute(xact, (now, "otherdb", "fnd-other", 1, 60000000, 60000000, 50000000, 50000000))
        db.commit()
    finally:
        db.close()


@pytest.fixture(scope="module")
def store_dir():
    yield from temp_dir("lg-findings.")


@pytest.fixture(scope="module")
def planted(cluster, store_dir):
    cluster.query("DROP TABLE IF EXISTS %s" % ", ".join(TABLES))
    cluster.query(SETUP)
    cluster.query("ANALYZE " + ", ".join(TABLES))
    store = os.path.join(store_dir, "store.db")
    conninfo = "host=%s port=%d user=postgres dbname=lgtest" % (cluster.host, cluster.port)
    try:
        with running_pooler(cluster, pool_mode="transaction", store_path=store,
                            sample_interval=1, monitor_user="lg_plain",
                            monitor_databases="fndapp",
                            databases={"fndapp": "host=127.0.0.1 port=%d dbname=lgtest"
                                       % cluster.port}) as pooler:
            assert wait_baseline(store), pooler.log()[-3000:]
            conn = pooler.connect(dbname="fndapp")
            try:
                workload(conn)
            finally:
                conn.close()
            assert wait_for(lambda: sampled(store), 60), pooler.log()[-3000:]
        plant_pooler_rows(store)
        yield store, conninfo
    finally:
        cluster.query("DROP TABLE IF EXISTS %s" % ", ".join(TABLES))


def ours(finding):
    return "fnd_" in finding["subject"] or "fnd-" in finding["subject"]


def key_of(finding):
    for kind, key in EXPECTED:
        if kind == finding["kind"] and key in finding["subject"]:
            return (kind, key)
    return (finding["kind"], finding["subject"])


def test_exact_findings(planted):
    store, conninfo = planted
    r = cli("-s", store, "suggest", "--json", "--since", "1h", "-d", conninfo)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    found = [f for f in doc["query_suggestions"] if ours(f)]
    keys = [key_of(f) for f in found]
    assert sorted(keys) == sorted(EXPECTED), json.dumps(found, indent=1)
    impacts = [f["impact_ms"] for f in doc["query_suggestions"]]
    assert impacts == sorted(impacts, reverse=True)
    by = {key_of(f): f for f in found}
    for f in found:
        assert f["database"] in ("fndapp", "lgtest"), f
        assert f["evidence"] and f["fix"] and f["impact_ms"] > 0, f
        assert (f["queryid"] is None) == (f["kind"] in (
            "n_plus_one", "long_transactions", "idle_in_transaction")), f

    spill = by[("temp_spill", "count(DISTINCT payload) FROM fnd_sort")]
    assert "MB to temp files per call" in spill["evidence"], spill
    mb = float(spill["evidence"].split(" MB to temp files")[0].split()[-1])
    assert 1 <= mb <= 64, spill
    assert spill["evidence"].endswith("the server's work_mem is 4MB"), spill
    assert "work_mem = '" in spill["fix"] and "lg_plain" in spill["fix"], spill
    setting = int(spill["fix"].split("work_mem = '")[1].split("MB'")[0])
    assert setting >= 2 * mb and setting & (setting - 1) == 0, spill

    nolimit = by[("large_result_without_limit", "FROM fnd_users WHERE id <= $1")]
    assert nolimit["evidence"].startswith("3002 rows per call without LIMIT (5 calls"), nolimit
    update = by[("many_rows_per_call", "UPDATE fnd_sort")]
    assert update["evidence"].startswith("changes 20000 rows per call (3 calls"), update

    lower = by[("function_on_indexed_column", "lower(email) = lower($1)")]
    assert "index fnd_users_email of public.fnd_users" in lower["evidence"], lower
    assert "CREATE INDEX CONCURRENTLY ON public.fnd_users (lower(email))" in lower["fix"], lower
    date = by[("function_on_indexed_column", "date(created_at) = $1")]
    assert "index fnd_users_created_at" in date["evidence"], date
    assert ("created_at >= $1 AND created_at < $1 + interval '1 day'" in date["fix"]), date

    cache = by[("low_cache_hit_ratio", "FROM fnd_big")]
    ratio = float(cache["evidence"].split("hit ratio ")[1].split("%")[0])
    assert ratio < 90, cache
    assert "shared_buffers (now 128MB)" in cache["fix"], cache

    n1 = by[("n_plus_one", "FROM fnd_items")]
    assert n1["evidence"].startswith("run 25 times per transaction (max 25) in 6 transactions "
                                     "of fnd-shop; 5.0 ms"), n1
    assert "SELECT * FROM fnd_items WHERE id = ANY($1)" in n1["fix"], n1
    long = by[("long_transactions", "fnd-billing")]
    assert long["evidence"].startswith("longest transaction 8.0 s"), long
    assert "application fnd-billing" in long["fix"], long
    idle = by[("idle_in_transaction", "fnd-web")]
    assert idle["evidence"].startswith("idle in transaction 2.0 s in all, 50%"), idle


def test_table_output(planted):
    store, conninfo = planted
    r = cli("-s", store, "suggest", "--since", "1h", "-d", conninfo)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    if os.environ.get("LG_FINDINGS_DUMP"):
        with open(os.environ["LG_FINDINGS_DUMP"], "w") as f:
            f.write(out)
    assert out.index("Index suggestions") < out.index("Query suggestions"), out
    section = out[out.index("Query suggestions"):]
    for kind, key in EXPECTED:
        assert kind in section, (kind, section)
    assert "fix: SET LOCAL work_mem" in section, section
    assert "fnd-billing" in section and "fnd-web" in section, section


def test_own_statements_left_out(planted):
    store, _ = planted
    db = sqlite3.connect("file:%s?mode=ro" % store, uri=True)
    try:
        own = [r[0] for r in db.execute(
            "SELECT query FROM statements WHERE query LIKE '-- Sampler:%' "
            "OR query LIKE 'SELECT pg_try_advisory_lock(%'")]
    finally:
        db.close()
    # the sampler's statements are in the store: top leaves them out
    assert own
    texts = [s["query"] or "" for s in top(store)]
    assert texts and not [t for t in texts if t.startswith("-- Sampler:")
                          or t.startswith("SELECT pg_try_advisory_lock(")], texts
