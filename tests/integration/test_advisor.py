"""The index advisor (`pglifeguard-cli suggest`): a workload with planted
missing indexes (equality, equality + range, ORDER BY ... LIMIT, lower(email),
a rare status value, a join needing an index on each side, a queue's rare
IS NULL rows) and decoys (a tiny table, low-selectivity predicates, a
write-heavy table, a query an index already serves) runs through pglifeguard,
which samples pg_stat_statements into its store; suggest --json must find
every planted index and nothing for the decoys, each checked with hypopg. The
--apply-sql script then builds the indexes on the real database, after which
suggest has nothing left to say about those tables. Unused and redundant
indexes are listed with their sizes."""

import json
import os
import sqlite3
import subprocess

import pytest

from support import ON_PGBOUNCER, temp_dir, wait_baseline, wait_for

pytestmark = pytest.mark.skipif(ON_PGBOUNCER, reason="the advisor is pglifeguard's own")

CLI = os.environ.get("PGLIFEGUARD_CLI") or os.path.join(
    os.path.dirname(os.environ.get("PGLIFEGUARD", "build/pglifeguard")), "pglifeguard-cli")

TABLES = ["adv_jobs", "adv_customers", "adv_orders", "adv_accounts", "adv_events", "adv_posts", "adv_users", "adv_tickets", "adv_tiny",
          "adv_people", "adv_log", "adv_served"]

SETUP = """
CREATE TABLE adv_accounts (id int PRIMARY KEY, account_no text NOT NULL, balance numeric);
INSERT INTO adv_accounts SELECT g, 'AC' || lpad(g::text, 8, '0'), g % 1000
  FROM generate_series(1, 60000) g;
CREATE TABLE adv_events (id bigint PRIMARY KEY, device_id int NOT NULL,
  ts timestamptz NOT NULL, payload text);
INSERT INTO adv_events SELECT g, g % 1000, '2026-01-01'::timestamptz + g * interval '1 minute',
  repeat('x', 20) FROM generate_series(1, 120000) g;
CREATE TABLE adv_posts (id int PRIMARY KEY, author_id int, published_at timestamptz, title text);
INSERT INTO adv_posts SELECT g, g % 500, '2025-01-01'::timestamptz + (g * 7919 % 100000) * interval '1 minute',
  'post ' || g FROM generate_series(1, 100000) g;
CREATE TABLE adv_users (id int PRIMARY KEY, email text NOT NULL, name text);
INSERT INTO adv_users SELECT g, 'User' || g || '@Example.com', 'user ' || g
  FROM generate_series(1, 60000) g;
CREATE TABLE adv_tickets (id int PRIMARY KEY, status text NOT NULL, subject text)
  WITH (autovacuum_enabled = false);
INSERT INTO adv_tickets SELECT g, CASE WHEN g % 200 = 0 THEN 'open'
  WHEN g % 10 = 1 THEN 'resolved' ELSE 'closed' END, 'ticket ' || g
  FROM generate_series(1, 100000) g;
CREATE TABLE adv_customers (id int PRIMARY KEY, email text NOT NULL);
INSERT INTO adv_customers SELECT g, 'c' || g || '@example.org' FROM generate_series(1, 50000) g;
CREATE TABLE adv_orders (id int PRIMARY KEY, customer_id int NOT NULL, amount numeric);
INSERT INTO adv_orders SELECT g, g % 50000 + 1, g % 100 FROM generate_series(1, 150000) g;
CREATE TABLE adv_jobs (id int PRIMARY KEY, created_at timestamptz NOT NULL,
  processed_at timestamptz);
INSERT INTO adv_jobs SELECT g, '2026-01-01'::timestamptz + g * interval '1 second',
  CASE WHEN g % 250 <> 0 THEN '2026-02-01'::timestamptz END FROM generate_series(1, 100000) g;
CREATE TABLE adv_tiny (id int PRIMARY KEY, code text);
INSERT INTO adv_tiny SELECT g, 'c' || g FROM generate_series(1, 30) g;
CREATE TABLE adv_people (id int PRIMARY KEY, active bool NOT NULL, name text, score int);
INSERT INTO adv_people SELECT g, g % 2 = 0, 'person ' || g, g % 100
  FROM generate_series(1, 100000) g;
CREATE INDEX adv_people_name_idx ON adv_people (name);
CREATE INDEX adv_people_name_id_idx ON adv_people (name, id);
CREATE TABLE adv_log (id serial PRIMARY KEY, session_id int, message text);
INSERT INTO adv_log (session_id, message) SELECT g % 5000, 'boot ' || g
  FROM generate_series(1, 60000) g;
CREATE TABLE adv_served (id int PRIMARY KEY, customer_ref int, created_at timestamptz);
INSERT INTO adv_served SELECT g, g % 3000, now() FROM generate_series(1, 60000) g;
CREATE INDEX adv_served_ref_created ON adv_served (customer_ref, created_at);
"""

# table -> (key, partial predicate)
PLANTED = {
    "public.adv_accounts": ("account_no", None),
    "public.adv_events": ("device_id, ts", None),
    "public.adv_posts": ("published_at", None),
    "public.adv_users": ("lower(email)", None),
    "public.adv_tickets": ("status", "status = 'open'"),
    # a join needs both: the second only pays off once the first exists
    "public.adv_orders": ("customer_id", None),
    "public.adv_customers": ("email", None),
    # a queue: the few rows still to process, oldest first
    "public.adv_jobs": ("created_at", "processed_at IS NULL"),
}
DECOYS = {
    "public.adv_tiny": "tiny table",
    "public.adv_people": "low selectivity: pg_stats says 50% of the rows match",
    "public.adv_log": "write-heavy",
    "public.adv_served": "served by existing index public.adv_served_ref_created",
}


def cli(*args, timeout=120):
    return subprocess.run([CLI, *args], capture_output=True, text=True, timeout=timeout)


def drop_tables(cluster):
    cluster.query("DROP TABLE IF EXISTS %s" % ", ".join(TABLES))


@pytest.fixture(scope="module")
def store_dir():
    yield from temp_dir("lg-advisor.")


def workload(conn):
    cur = conn.cursor()
    for i in range(40):
        cur.execute("SELECT id, balance FROM adv_accounts WHERE account_no = %s",
                    ("AC%08d" % (i * 997 + 1),))
        # `SELECT $1 FROM` once normalized: $1's type comes from nowhere
        cur.execute("SELECT 1 FROM adv_accounts WHERE account_no = %s", ("AC%08d" % i,))
        cur.execute("SELECT count(*) FROM adv_events WHERE device_id = %s AND ts >= %s "
                    "AND ts < %s", (i * 7, "2026-01-10", "2026-01-20"))
        # served by the same index as the statement above: merged into it
        cur.execute("SELECT id, payload FROM adv_events WHERE device_id = %s", (i * 3,))
        cur.execute("SELECT id, title FROM adv_posts ORDER BY published_at DESC LIMIT 10")
        cur.execute("SELECT id, name FROM adv_users WHERE lower(email) = lower(%s)",
                    ("user%d@example.com" % (i * 13 + 5),))
        cur.execute("SELECT id, subject FROM adv_tickets WHERE status = %s", ("open",))
        cur.execute("SELECT o.id, o.amount FROM adv_orders o JOIN adv_customers c "
                    "ON c.id = o.customer_id WHERE c.email = %s", ("c%d@example.org" % i,))
        cur.execute("SELECT id FROM adv_jobs WHERE processed_at IS NULL ORDER BY created_at "
                    "LIMIT 10")
        cur.execute("SELECT * FROM adv_tiny WHERE code = %s", ("c%d" % (i % 30),))
        cur.execute("SELECT count(*) FROM adv_people WHERE active = %s", (i % 2 == 0,))
        cur.execute("SELECT id, created_at FROM adv_served WHERE customer_ref = %s", (i,))
        if i < 10:
            # half of the table per call: no index helps
            cur.execute("SELECT id FROM adv_people WHERE score >= %s", (50,))
        # pgbench's tables: every predicate is served by a primary key
        cur.execute("SELECT abalance FROM pgbench_accounts WHERE aid = %s", (i * 101 + 1,))
        cur.execute("SELECT t.tbalance, b.bbalance FROM pgbench_tellers t JOIN pgbench_branches b "
                    "ON b.bid = t.bid WHERE t.tid = %s", (i % 10 + 1,))
    for i in range(20):
        cur.execute("SELECT id, message FROM adv_log WHERE session_id = %s", (i,))
    for i in range(2000):
        cur.execute("INSERT INTO adv_log (session_id, message) VALUES (%s, %s)",
                    (i % 5000, "event %d" % i))
    cur.close()


def sampled(store):
    r = cli("-s", store, "top", "--json", "--since", "1h", "--limit", "1000")
    if r.returncode != 0:
        return False
    calls = {}
    for s in json.loads(r.stdout)["statements"]:
        for t in TABLES:
            if s["query"] and (" %s " % t) in s["query"] + " ":
                calls[t] = calls.get(t, 0) + s["calls"]
    return (all(calls.get(t, 0) >= 40 for t in TABLES if t != "adv_log")
            and calls.get("adv_log", 0) >= 2020)


@pytest.fixture(scope="module")
def advised(cluster, store_dir):
    from support import running_pooler
    drop_tables(cluster)
    cluster.query(SETUP)
    # adv_tickets is left never analyzed: suggest analyzes it (its partial
    # index needs pg_stats' most common values)
    cluster.query("ANALYZE " + ", ".join(t for t in TABLES if t != "adv_tickets"))
    store = os.path.join(store_dir, "store.db")
    conninfo = "host=%s port=%d user=postgres dbname=lgtest" % (cluster.host, cluster.port)
    try:
        # the application's name for the database is not PostgreSQL's: the
        # store knows it as advapp, suggest -d names lgtest
        with running_pooler(cluster, pool_mode="transaction", store_path=store,
                            sample_interval=1, monitor_user="lg_plain",
                            monitor_databases="advapp",
                            databases={"advapp": "host=127.0.0.1 port=%d dbname=lgtest"
                                       % cluster.port}) as pooler:
            assert wait_baseline(store), pooler.log()[-3000:]
            conn = pooler.connect(dbname="advapp")
            try:
                workload(conn)
            finally:
                conn.close()
            assert wait_for(lambda: sampled(store), 30), pooler.log()[-3000:]
        yield store, conninfo
    finally:
        drop_tables(cluster)


def suggest_json(store, conninfo):
    r = cli("-s", store, "suggest", "--json", "--since", "1h", "-d", conninfo)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_finds_planted_and_no_decoys(advised, cluster):
    store, conninfo = advised
    doc = suggest_json(store, conninfo)
    if os.environ.get("LG_ADVISOR_DUMP"):
        with open(os.environ["LG_ADVISOR_DUMP"], "w") as f:
            json.dump(doc, f, indent=1)
    assert doc["database"] == "lgtest"
    assert doc["analyzed_tables"] == ["public.adv_tickets"]
    # found through the database's OID: the store names it advapp
    db = sqlite3.connect("file:%s?mode=ro" % store, uri=True)
    try:
        names = {r[0] for r in db.execute("SELECT DISTINCT dbname FROM sample_intervals")}
    finally:
        db.close()
    assert names == {"advapp"}
    found = {s["table"]: s for s in doc["suggestions"]}
    assert set(found) == set(PLANTED), json.dumps(doc, indent=1)
    for table, (key, where) in PLANTED.items():
        s = found[table]
        assert (s["columns"], s["where"]) == (key, where), s
        expected = "CREATE INDEX CONCURRENTLY ON %s (%s)%s" % (
            table, key, " WHERE " + where if where else "")
        assert s["create_sql"] == expected
        assert s["estimated_size_bytes"] >= 8192
        assert s["estimated_time_saved_ms"] > 0
        assert s["read_calls"] >= 40
        assert s["statements"], s
        for st in s["statements"]:
            assert table.split(".")[1] in st["query"]
            assert "$1" in st["query"]
            assert st["calls"] >= 40
            assert st["cost_after"] * 2 <= st["cost_before"], st
    accounts = found["public.adv_accounts"]["statements"]
    assert sorted(st["query"].split()[1] for st in accounts) == ["$1", "id,"], accounts
    events = found["public.adv_events"]["statements"]
    assert len(events) == 2, events
    assert {"device_id = $1 AND ts >=" in st["query"] for st in events} == {True, False}
    # ranked by estimated time saved
    saved = [s["estimated_time_saved_ms"] for s in doc["suggestions"]]
    assert saved == sorted(saved, reverse=True)
    # each decoy was considered and turned down for its own reason
    for table, reason in DECOYS.items():
        reasons = [r["reason"] for r in doc["rejected"] if r["table"] == table]
        assert any(reason in r for r in reasons), (table, reasons)
    people = [r["reason"] for r in doc["rejected"] if r["table"] == "public.adv_people"
              and r["columns"] == "score"]
    assert people and "rows returned per call" in people[0], people
    pgbench = {r["table"] for r in doc["rejected"] if "pgbench" in r["table"]}
    assert {"public.pgbench_accounts", "public.pgbench_tellers"} <= pgbench, doc["rejected"]
    # no hypothetical index is left behind
    assert cluster.query("SELECT count(*) FROM hypopg_list_indexes")[0][0] == 0


def test_unused_and_redundant(advised):
    store, conninfo = advised
    doc = suggest_json(store, conninfo)
    unused = {i["index"]: i for i in doc["unused_indexes"]}
    assert "public.adv_people_name_idx" in unused
    assert unused["public.adv_people_name_idx"]["size_bytes"] > 0
    assert unused["public.adv_people_name_idx"]["table"] == "public.adv_people"
    # scanned, unique or primary-key indexes are never unused
    assert "public.adv_served_ref_created" not in unused
    assert not any(i.endswith("_pkey") for i in unused)
    redundant = {i["index"]: i for i in doc["redundant_indexes"]}
    assert redundant["public.adv_people_name_idx"]["covered_by"] == \
        "public.adv_people_name_id_idx"
    assert "public.adv_people_name_id_idx" not in redundant
    assert not any(i.endswith("_pkey") for i in redundant)


def test_table_output(advised):
    store, conninfo = advised
    r = cli("-s", store, "suggest", "-d", conninfo)
    assert r.returncode == 0, r.stderr
    assert "CREATE INDEX CONCURRENTLY ON public.adv_users (lower(email));" in r.stdout
    assert "cost " in r.stdout and "queryid " in r.stdout
    assert "public.adv_people_name_idx on public.adv_people" in r.stdout


def test_errors(advised, cluster):
    store, conninfo = advised
    r = cli("-s", store, "suggest", "-d", "host=127.0.0.1 port=1 connect_timeout=2")
    assert r.returncode == 3 and "cannot connect" in r.stderr
    r = cli("-s", "/nonexistent/store.db", "suggest", "-d", conninfo)
    assert r.returncode == 2
    r = cli("-s", store, "suggest", "--json", "--apply-sql", "-d", conninfo)
    assert r.returncode == 1


def keyset(doc):
    return {(s["table"], s["columns"], s["where"]) for s in doc["suggestions"]}


def test_through_transaction_pooler(advised, cluster, make_pooler):
    """Each advisor check is one short transaction with SET LOCAL: it works
    through a transaction-pooling pooler as a non-superuser once hypopg is
    installed, and gives the same answer."""
    store, conninfo = advised
    direct = suggest_json(store, conninfo)
    pooler = make_pooler(pool_mode="transaction", default_pool_size=2)
    via = "host=127.0.0.1 port=%d user=lg_plain dbname=lgtest password=%s" % (
        pooler.port, cluster.passwords["lg_plain"])
    doc = suggest_json(store, via)
    assert keyset(doc) == keyset(direct)
    assert keyset(doc) >= {(t, k, w) for t, (k, w) in PLANTED.items()}


def test_hypopg_missing(advised, cluster):
    store, _ = advised
    cluster.query("DROP DATABASE IF EXISTS adv_nohypo")
    cluster.query("CREATE DATABASE adv_nohypo")
    try:
        # lg_plain may not create the (untrusted) extension
        r = cli("-s", store, "suggest", "-d",
                "host=127.0.0.1 port=%d user=lg_plain dbname=adv_nohypo password=%s" % (
                    cluster.port, cluster.passwords["lg_plain"]))
        assert r.returncode == 3, (r.stdout, r.stderr)
        assert "hypopg is needed in database adv_nohypo" in r.stderr
        assert "lg-plain-pw" not in r.stderr
        assert cluster.query("SELECT count(*) FROM pg_extension WHERE extname = 'hypopg'",
                             dbname="adv_nohypo")[0][0] == 0
    finally:
        cluster.query("DROP DATABASE IF EXISTS adv_nohypo")


def test_apply_sql_builds_the_indexes(advised, cluster):
    """Last: it changes the database. The script runs as it is with psql;
    afterwards the planted statements are served and nothing is suggested."""
    store, conninfo = advised
    r = cli("-s", store, "suggest", "--apply-sql", "-d", conninfo)
    assert r.returncode == 0, r.stderr
    assert "-- DROP INDEX CONCURRENTLY public.adv_people_name_idx;" in r.stdout
    psql = subprocess.run([os.path.join(cluster.bindir, "psql"), "-X", "-v", "ON_ERROR_STOP=1",
                           "-h", cluster.host, "-p", str(cluster.port), "-U", "postgres",
                           "-d", "lgtest"], input=r.stdout, capture_output=True, text=True,
                          timeout=300)
    assert psql.returncode == 0, psql.stderr
    defs = [row[0] for row in cluster.query(
        "SELECT indexdef FROM pg_indexes WHERE tablename LIKE 'adv\\_%' ")]
    assert any("(lower(email))" in d for d in defs), defs
    assert any("adv_tickets" in d and "WHERE (status = 'open'::text)" in d for d in defs), defs
    assert any("adv_events USING btree (device_id, ts)" in d for d in defs), defs
    # the unused index is only suggested for dropping, in a comment
    assert cluster.query("SELECT to_regclass('adv_people_name_idx') IS NOT NULL")[0][0]
    doc = suggest_json(store, conninfo)
    assert not [s for s in doc["suggestions"] if s["table"] in PLANTED], doc["suggestions"]
