"""The advisor with sampled parameter values, and `suggest --verify`.

The planted workload of test_advisor.py runs through pglifeguard, plus two
tables whose right answer depends on the parameter values: adv_feed's
`created_at > $1` is not worth an index on a generic plan (a third of the
rows, the planner's default guess) but is with the recent timestamps the
application really asks for; adv_skew's `owner_id = $1` looks selective on a
generic plan, but the application asks for the owner of 90% of the rows.
The workload runs with sample_query_params on: one test reads what the
pooler sampled; the others replace the samples, in a copy of the store, by
chosen ones keyed by libpg_query fingerprint (or by none: generic plans).
--verify builds each suggestion for real in a rolled-back transaction."""

import json
import os
import shutil
import sqlite3
import subprocess
import time

import pytest

from support import ON_PGBOUNCER, running_pooler, temp_dir, wait_baseline, wait_for
from test_advisor import PLANTED, SETUP, TABLES, cli, keyset, sampled, workload

pytestmark = pytest.mark.skipif(ON_PGBOUNCER, reason="the advisor is pglifeguard's own")

FINGERPRINT = os.path.join(os.path.dirname(os.environ.get("PGLIFEGUARD", "build/pglifeguard")),
                           "tests", "tools", "fingerprint")

EXTRA = ["adv_feed", "adv_skew"]
EXTRA_SETUP = """
CREATE TABLE adv_feed (id int PRIMARY KEY, created_at timestamptz NOT NULL, body text);
INSERT INTO adv_feed SELECT g, '2026-01-01'::timestamptz + g * interval '1 minute',
  'post ' || g FROM generate_series(1, 100000) g;
CREATE TABLE adv_skew (id int PRIMARY KEY, owner_id int NOT NULL, note text);
INSERT INTO adv_skew SELECT g, CASE WHEN g % 10 = 0 THEN g ELSE 0 END, 'n' || g
  FROM generate_series(1, 100000) g;
"""
# the last ten minutes of adv_feed
RECENT = "2026-03-11 10:30:00+00"
MARKER = "verify must not change this"


def extra_workload(conn):
    cur = conn.cursor()
    for i in range(40):
        cur.execute("SELECT id, body FROM adv_feed WHERE created_at > %s", (RECENT,))
        cur.execute("SELECT count(*) FROM adv_skew WHERE owner_id = %s", (i * 10 + 10,))
    for i in range(5):
        cur.execute("UPDATE adv_feed SET body = %s WHERE created_at > %s", ("w%d" % i, RECENT))
    cur.close()


def drop_all(cluster):
    cluster.query("DROP TABLE IF EXISTS %s" % ", ".join(TABLES + EXTRA))


@pytest.fixture(scope="module")
def store_dir():
    yield from temp_dir("lg-verify.")


@pytest.fixture(scope="module")
def advised(cluster, store_dir):
    drop_all(cluster)
    cluster.query(SETUP + EXTRA_SETUP)
    cluster.query("ANALYZE " + ", ".join(t for t in TABLES + EXTRA if t != "adv_tickets"))
    store = os.path.join(store_dir, "store.db")
    conninfo = "host=%s port=%d user=postgres dbname=lgtest" % (cluster.host, cluster.port)

    def extra_sampled():
        db = sqlite3.connect("file:%s?mode=ro" % store, uri=True)
        try:
            return db.execute("SELECT count(*) FROM statements WHERE query LIKE "
                              "'UPDATE adv_feed%' OR query LIKE '%FROM adv_skew%'"
                              ).fetchone()[0] >= 2
        except sqlite3.Error:
            return False
        finally:
            db.close()
    try:
        with running_pooler(cluster, pool_mode="transaction", store_path=store,
                            sample_interval=1, monitor_user="lg_plain",
                            sample_query_params=1,
                            monitor_databases="advapp",
                            databases={"advapp": "host=127.0.0.1 port=%d dbname=lgtest"
                                       % cluster.port}) as pooler:
            assert wait_baseline(store), pooler.log()[-3000:]
            conn = pooler.connect(dbname="advapp")
            try:
                workload(conn)
                extra_workload(conn)
            finally:
                conn.close()
            assert wait_for(lambda: sampled(store) and extra_sampled(), 30), \
                pooler.log()[-3000:]
        yield store, conninfo
    finally:
        drop_all(cluster)


def statement(store, like):
    db = sqlite3.connect("file:%s?mode=ro" % store, uri=True)
    try:
        rows = {r[0] for r in db.execute("SELECT query FROM statements WHERE query LIKE ?",
                                         (like,))}
    finally:
        db.close()
    assert len(rows) == 1, (like, rows)
    return rows.pop()


def fingerprint(query):
    out = subprocess.run([FINGERPRINT, query], capture_output=True, text=True, check=True)
    return out.stdout.strip()


def with_samples(store, dest, samples, database="advapp"):
    """A copy of STORE with SAMPLES ({LIKE pattern: [params, ...]}) in
    param_samples instead of what the pooler sampled."""
    shutil.copy(store, dest)
    db = sqlite3.connect(dest)
    try:
        db.execute("DELETE FROM param_samples")
        now = int(time.time() * 1e6)
        for like, params_list in samples.items():
            q = statement(store, like)
            for k, params in enumerate(params_list):
                db.execute("INSERT INTO param_samples (at_us, database, fingerprint, query, params)"
                           " VALUES (?, ?, ?, ?, ?)",
                           (now - k, database, fingerprint(q), q, json.dumps(params)))
        db.commit()
    finally:
        db.close()
    return dest


def suggest(store, conninfo, *extra):
    r = cli("-s", store, "suggest", "--json", "--since", "1h", "-d", conninfo, *extra,
            timeout=300)
    return r, (json.loads(r.stdout) if r.stdout.strip() else None)


FEED_SELECT = "SELECT id, body FROM adv_feed WHERE created_at > $1"
FEED_UPDATE = "UPDATE adv_feed SET body = $1 WHERE created_at > $2"
SKEW = "SELECT count(*) FROM adv_skew WHERE owner_id = $1"
ACCOUNTS = "SELECT id, balance FROM adv_accounts WHERE account_no = $1"

SAMPLES = {
    FEED_SELECT: [[RECENT], ["2026-03-11 10:35:00+00"]],
    FEED_UPDATE: [[MARKER, RECENT]],
    # the owner of 90% of the rows, twice (one distinct sample) and a sample
    # with another number of parameters (an IN list): ignored
    SKEW: [["0"], ["0"], ["0", "1"]],
    ACCOUNTS: [["AC00000998"], ["AC00010968"]],
}


@pytest.fixture(scope="module")
def sampled_store(advised, store_dir):
    store, conninfo = advised
    return with_samples(store, os.path.join(store_dir, "sampled.db"), SAMPLES), conninfo


@pytest.fixture(scope="module")
def generic_store(advised, store_dir):
    store, conninfo = advised
    return with_samples(store, os.path.join(store_dir, "generic.db"), {}), conninfo


def helped(doc, table):
    return {st["query"]: st for s in doc["suggestions"] if s["table"] == table
            for st in s["statements"]}


def test_generic_without_samples(generic_store):
    store, conninfo = generic_store
    r, doc = suggest(store, conninfo)
    assert r.returncode == 0, r.stderr
    planted = {(t, k, w) for t, (k, w) in PLANTED.items()}
    # generic plans: adv_skew's owner_id looks selective, adv_feed's range not
    assert keyset(doc) == planted | {("public.adv_skew", "owner_id", None)}, keyset(doc)
    feed = [x["reason"] for x in doc["rejected"] if x["table"] == "public.adv_feed"]
    assert feed and all("less than 2x cheaper" in x or "does not use it" in x
                        for x in feed), feed
    for s in doc["suggestions"]:
        for st in s["statements"]:
            assert (st["planned_with"], st["parameter_samples"]) == ("generic", 0), st
            assert "verify" not in st
        assert "verify" not in s


def test_sampled_values_decide(sampled_store, cluster):
    store, conninfo = sampled_store
    r, doc = suggest(store, conninfo)
    assert r.returncode == 0, r.stderr
    planted = {(t, k, w) for t, (k, w) in PLANTED.items()}
    # the recent timestamps make adv_feed's index worth it; the common owner
    # makes adv_skew's useless; the planted set is unchanged
    assert keyset(doc) == planted | {("public.adv_feed", "created_at", None)}, keyset(doc)
    feed = helped(doc, "public.adv_feed")
    assert set(feed) == {FEED_SELECT, FEED_UPDATE}, feed
    assert feed[FEED_SELECT]["planned_with"] == "sampled"
    assert feed[FEED_SELECT]["parameter_samples"] == 2
    assert feed[FEED_UPDATE]["parameter_samples"] == 1
    assert feed[FEED_SELECT]["cost_after"] * 2 <= feed[FEED_SELECT]["cost_before"]
    skew = [x["reason"] for x in doc["rejected"] if x["table"] == "public.adv_skew"]
    assert any("does not use it" in x for x in skew), skew
    accounts = helped(doc, "public.adv_accounts")
    assert accounts[ACCOUNTS]["planned_with"] == "sampled"
    others = [st for s in doc["suggestions"] for st in s["statements"]
              if st["query"] not in SAMPLES]
    assert others and all(st["planned_with"] == "generic" for st in others), others
    # the table says which plans used sampled values
    r = cli("-s", store, "suggest", "--since", "1h", "-d", conninfo)
    assert r.returncode == 0, r.stderr
    assert "(mean of 2 sampled parameter sets)" in r.stdout
    assert "(generic plan)" in r.stdout
    assert cluster.query("SELECT count(*) FROM hypopg_list_indexes")[0][0] == 0


def test_samples_of_another_database_ignored(advised, store_dir):
    # (with_samples drops what the pooler sampled)
    store, conninfo = advised
    other = with_samples(store, os.path.join(store_dir, "otherdb.db"), SAMPLES,
                         database="someotherapp")
    r, doc = suggest(other, conninfo)
    assert r.returncode == 0, r.stderr
    assert ("public.adv_skew", "owner_id", None) in keyset(doc)
    assert not [s for s in doc["suggestions"] if s["table"] == "public.adv_feed"]


def no_leftovers(cluster):
    assert cluster.query("SELECT count(*) FROM pg_indexes WHERE indexname = "
                         "'pglifeguard_verify' OR (tablename LIKE 'adv\\_%%' AND "
                         "indexname NOT LIKE '%%\\_pkey' AND indexname NOT IN "
                         "('adv_people_name_idx', 'adv_people_name_id_idx', "
                         "'adv_served_ref_created'))")[0][0] == 0
    assert cluster.query("SELECT count(*) FROM adv_feed WHERE body = %s", (MARKER,))[0][0] == 0


def test_verify_measures_and_rolls_back(sampled_store, cluster):
    store, conninfo = sampled_store
    r, doc = suggest(store, conninfo, "--verify")
    assert r.returncode == 0, r.stderr
    assert "WARNING" in r.stderr and "blocks INSERT, UPDATE and DELETE" in r.stderr
    by_table = {s["table"]: s for s in doc["suggestions"]}
    for s in doc["suggestions"]:
        v = s["verify"]
        assert v["error"] is None and v["lock_timeout"] is False, s
        assert v["build_ms"] > 0 and v["index_size_bytes"] >= 8192, v
        assert v["rolled_back"] is True
    acc = helped(doc, "public.adv_accounts")
    m = acc[ACCOUNTS]["verify"]
    assert m["measured"] and m["runs"] == 2 and m["uses_index"], m
    assert 0 <= m["after_ms"] < m["before_ms"], m
    assert m["measured_speedup"] > 1 and m["estimated_speedup"] >= 2, m
    assert m["parameters"] == "sampled"
    # no samples, and $1 is in the select list: said so, not guessed
    other = [st for q, st in acc.items() if q != ACCOUNTS][0]["verify"]
    assert other == {"measured": False, "rolled_back_writes": False,
                     "note": "no sampled parameters: not measured "
                             "($1 is not compared with a column)"}, other
    events = helped(doc, "public.adv_events")
    ranged = [st["verify"] for q, st in events.items() if "ts >=" in q][0]
    assert ranged["note"] == ("no sampled parameters: not measured "
                              "($2 is not compared with a column)"), ranged
    # no samples, equality parameters: a row of the table gives the values;
    # for the partial index, a row its predicate matches
    for table in ("public.adv_tickets", "public.adv_posts"):
        (st,) = helped(doc, table).values()
        v = st["verify"]
        assert v["measured"] and v["parameters"] == "table" and v["uses_index"], (table, v)
        assert v["after_ms"] < v["before_ms"], (table, v)
    feed = helped(doc, "public.adv_feed")
    sel = feed[FEED_SELECT]["verify"]
    assert sel["measured"] and sel["after_ms"] < sel["before_ms"] and sel["uses_index"], sel
    upd = feed[FEED_UPDATE]["verify"]
    assert upd["measured"] and upd["rolled_back_writes"] is True, upd
    assert upd["before_ms"] > 0 and upd["after_ms"] > 0
    assert by_table["public.adv_feed"]["verify"]["error"] is None
    # nothing remains: no index, no changed row, no hypothetical index
    no_leftovers(cluster)
    assert cluster.query("SELECT count(*) FROM hypopg_list_indexes")[0][0] == 0


def test_verify_table_output(sampled_store, cluster):
    store, conninfo = sampled_store
    r = cli("-s", store, "suggest", "--verify", "--since", "1h", "-d", conninfo, timeout=300)
    assert r.returncode == 0, r.stderr
    if os.environ.get("LG_ADVISOR_DUMP"):
        with open(os.environ["LG_ADVISOR_DUMP"], "w") as f:
            f.write(r.stderr + r.stdout)
    assert "verify: measured " in r.stdout and "hypopg estimated" in r.stdout
    assert "verify: no sampled parameters: not measured ($1 is not" in r.stdout
    assert "no samples: parameters drawn from the table, index used" in r.stdout
    assert "its changes were rolled back" in r.stdout
    assert ", rolled back" in r.stdout
    no_leftovers(cluster)


def test_verify_lock_timeout(sampled_store, cluster):
    """An open write transaction on adv_accounts: the build cannot get its
    SHARE lock within --lock-timeout; verify says so, goes on with the other
    suggestions and exits 4."""
    store, conninfo = sampled_store
    blocker = cluster.connect()
    try:
        blocker.autocommit = False
        cur = blocker.cursor()
        cur.execute("UPDATE adv_accounts SET balance = balance WHERE id = 1")
        t0 = time.monotonic()
        r, doc = suggest(store, conninfo, "--verify", "--lock-timeout", "300")
        elapsed = time.monotonic() - t0
    finally:
        blocker.rollback()
        blocker.close()
    assert r.returncode == 4, (r.returncode, r.stderr)
    assert ("could not lock table public.adv_accounts within lock_timeout (300 ms): another "
            "session holds a conflicting lock; nothing was changed") in r.stderr, r.stderr
    by_table = {s["table"]: s for s in doc["suggestions"]}
    acc = by_table["public.adv_accounts"]["verify"]
    assert acc["lock_timeout"] is True and "lock_timeout" in acc["error"], acc
    for st in by_table["public.adv_accounts"]["statements"]:
        assert not st["verify"]["measured"], st
        assert st["verify"]["note"].startswith(("not measured", "no sampled")), st
    feed = by_table["public.adv_feed"]
    assert feed["verify"]["error"] is None
    assert feed["statements"][0]["verify"]["measured"] or feed["statements"][1]["verify"]["measured"]
    assert elapsed < 120
    no_leftovers(cluster)


def test_verify_options(sampled_store):
    store, conninfo = sampled_store
    r = cli("-s", store, "suggest", "--verify", "--apply-sql", "-d", conninfo)
    assert r.returncode == 1
    r = cli("-s", store, "suggest", "--verify", "--lock-timeout", "0", "-d", conninfo)
    assert r.returncode == 1 and "bad --lock-timeout" in r.stderr
    r = cli("-s", store, "suggest", "--verify", "--build-timeout", "x", "-d", conninfo)
    assert r.returncode == 1 and "bad --build-timeout" in r.stderr


def test_samples_that_do_not_plan(advised, store_dir):
    """A sampled value the column's type rejects: that statement falls back
    to the generic plan (and is suggested as without samples)."""
    store, conninfo = advised
    bad = with_samples(store, os.path.join(store_dir, "bad.db"), {SKEW: [["not a number"]]})
    r, doc = suggest(bad, conninfo)
    assert r.returncode == 0, r.stderr
    skew = helped(doc, "public.adv_skew")
    assert skew[SKEW]["planned_with"] == "generic", skew
    assert skew[SKEW]["parameter_samples"] == 0


def test_verify_through_transaction_pooler(sampled_store, cluster, make_pooler):
    """Through a transaction pooler with one server connection: the
    verification holds (one transaction) and leaves no session state on
    that connection. lg_plain may build indexes on adv_accounts only: the
    other builds fail (must be owner) and say so."""
    store, conninfo = sampled_store
    pooler = make_pooler(pool_mode="transaction", default_pool_size=1)
    via = "host=127.0.0.1 port=%d user=lg_plain dbname=lgtest password=%s" % (
        pooler.port, cluster.passwords["lg_plain"])
    cluster.query("ALTER TABLE adv_accounts OWNER TO lg_plain")
    try:
        r, doc = suggest(store, via, "--verify")
    finally:
        cluster.query("ALTER TABLE adv_accounts OWNER TO postgres")
    assert r.returncode == 4, (r.returncode, r.stderr)
    by_table = {s["table"]: s for s in doc["suggestions"]}
    assert by_table["public.adv_accounts"]["verify"]["error"] is None
    m = helped(doc, "public.adv_accounts")[ACCOUNTS]["verify"]
    assert m["measured"] and m["after_ms"] < m["before_ms"], m
    posts = by_table["public.adv_posts"]["verify"]
    assert "must be owner" in posts["error"] and not posts["lock_timeout"], posts
    assert cluster.passwords["lg_plain"] not in r.stderr + r.stdout
    conn = pooler.connect()
    try:
        cur = conn.cursor()
        cur.execute("SELECT current_setting('statement_timeout'), "
                    "current_setting('lock_timeout'), "
                    "(SELECT count(*) FROM pg_prepared_statements)")
        assert cur.fetchone() == ("0", "0", 0)
    finally:
        conn.close()
    no_leftovers(cluster)


def test_verify_build_timeout(sampled_store, cluster):
    """A build canceled by --build-timeout is reported per suggestion,
    exit 4, and nothing remains."""
    store, conninfo = sampled_store
    r, doc = suggest(store, conninfo, "--verify", "--build-timeout", "1")
    assert r.returncode == 4, (r.returncode, r.stderr)
    assert "canceled by statement_timeout (1 ms)" in r.stderr, r.stderr
    errors = [s["verify"]["error"] for s in doc["suggestions"]]
    assert errors and all(e and "building the index" in e for e in errors), errors
    assert not any(st["verify"]["measured"] for s in doc["suggestions"]
                   for st in s["statements"])
    no_leftovers(cluster)


def test_pooler_samples(advised, cluster):
    """What the pooler sampled (sample_query_params = 1) reaches the
    advisor: the statements are planned with the application's values. The
    application asks adv_feed for recent rows and adv_skew for rare owners,
    so both indexes pay off (with adv_skew's common owner they would not:
    test_sampled_values_decide); the planted set is still found."""
    store, conninfo = advised
    db = sqlite3.connect("file:%s?mode=ro" % store, uri=True)
    try:
        rows = db.execute("SELECT database, fingerprint, query, params FROM param_samples"
                          ).fetchall()
    finally:
        db.close()
    by_query = {}
    for database, fp, query, params in rows:
        assert database == "advapp"
        by_query.setdefault(query, []).append((fp, json.loads(params)))
    # the same fingerprint and $n as pg_stat_statements' text
    for q in (FEED_SELECT, FEED_UPDATE, SKEW, ACCOUNTS):
        assert q in by_query, sorted(by_query)
        assert {fp for fp, _ in by_query[q]} == {fingerprint(statement(store, q))}
    assert [p for _, p in by_query[FEED_SELECT]] == [[RECENT]]
    assert by_query[FEED_UPDATE][0][1][1] == RECENT
    r, doc = suggest(store, conninfo)
    assert r.returncode == 0, r.stderr
    planted = {(t, k, w) for t, (k, w) in PLANTED.items()}
    assert keyset(doc) == planted | {("public.adv_feed", "created_at", None),
                                     ("public.adv_skew", "owner_id", None)}, keyset(doc)
    feed = helped(doc, "public.adv_feed")
    assert feed[FEED_SELECT]["planned_with"] == "sampled", feed
    assert feed[FEED_SELECT]["cost_after"] * 2 <= feed[FEED_SELECT]["cost_before"]
    assert helped(doc, "public.adv_skew")[SKEW]["planned_with"] == "sampled"
    assert helped(doc, "public.adv_accounts")[ACCOUNTS]["planned_with"] == "sampled"
