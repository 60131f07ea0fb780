"""Expression indexes whose expression holds a constant of the application.

pg_stat_statements stores `data->>'kind' = 'invoice'` as `data ->> $1 = $2`
and `date_trunc('day', created_at) = '2026-01-01'` as `date_trunc($1,
created_at) = $2`: the index the application needs cannot be written from
that text. With the values the pooler sampled (sample_query_params = 1)
it can: every sample gives $1 the same value, so it is a constant and goes
into the expression key. Without samples, or when they disagree, the
candidate is turned down with that reason."""

import json
import os
import shutil
import sqlite3
import time

import pytest

from support import ON_PGBOUNCER, running_pooler, temp_dir, wait_baseline, wait_for
from test_advisor import cli
from test_advisor_verify import fingerprint

pytestmark = pytest.mark.skipif(ON_PGBOUNCER, reason="the advisor is pglifeguard's own")

TABLES = ["ex_docs", "ex_events"]
SETUP = """
CREATE TABLE ex_docs (id int PRIMARY KEY, data jsonb NOT NULL);
INSERT INTO ex_docs SELECT g, jsonb_build_object('kind', 'k' || (g % 1000), 'n', g)
  FROM generate_series(1, 100000) g;
CREATE TABLE ex_events (id int PRIMARY KEY, created_at timestamp NOT NULL, note text);
INSERT INTO ex_events SELECT g, '2024-01-01'::timestamp + g * interval '15 minutes', 'e' || g
  FROM generate_series(1, 100000) g;
"""
DOCS = "SELECT id FROM ex_docs WHERE data->>$1 = $2"
EVENTS = "SELECT count(*) FROM ex_events WHERE date_trunc($1, created_at) = $2"
DOCS_KEY = "(data ->> 'kind')"
EVENTS_KEY = "date_trunc('day', created_at)"
REASON = "expression has parameter $1: needs sampled values (sample_query_params)"


def workload(conn):
    cur = conn.cursor()
    # two rounds a few seconds apart: sample_query_params_interval = 1
    # gives each statement several samples, all with the same constant
    for rnd in range(3):
        for i in range(15):
            cur.execute("SELECT id FROM ex_docs WHERE data->>'kind' = %s",
                        ("k%d" % (rnd * 100 + i * 7),))
            cur.execute("SELECT count(*) FROM ex_events WHERE date_trunc('day', created_at) = %s",
                        ("2024-%02d-%02d" % (rnd * 3 + 1, i + 1),))
        time.sleep(1.2)
    cur.close()


def drop_all(cluster):
    cluster.query("DROP TABLE IF EXISTS %s" % ", ".join(TABLES))


def statements(store):
    db = sqlite3.connect("file:%s?mode=ro" % store, uri=True)
    try:
        return {r[0] for r in db.execute("SELECT query FROM statements")}
    except sqlite3.Error:
        return set()
    finally:
        db.close()


def samples(store):
    db = sqlite3.connect("file:%s?mode=ro" % store, uri=True)
    try:
        rows = db.execute("SELECT query, params FROM param_samples").fetchall()
    except sqlite3.Error:
        return {}
    finally:
        db.close()
    out = {}
    for q, p in rows:
        out.setdefault(q, []).append(json.loads(p))
    return out


@pytest.fixture(scope="module")
def store_dir():
    yield from temp_dir("lg-exprconst.")


@pytest.fixture(scope="module")
def advised(cluster, store_dir):
    drop_all(cluster)
    cluster.query(SETUP)
    cluster.query("ANALYZE " + ", ".join(TABLES))
    store = os.path.join(store_dir, "store.db")
    conninfo = "host=%s port=%d user=postgres dbname=lgtest" % (cluster.host, cluster.port)
    try:
        with running_pooler(cluster, pool_mode="transaction", store_path=store,
                            sample_interval=1, monitor_user="lg_plain",
                            sample_query_params=1, sample_query_params_interval=1,
                            monitor_databases="exapp",
                            databases={"exapp": "host=127.0.0.1 port=%d dbname=lgtest"
                                       % cluster.port}) as pooler:
            assert wait_baseline(store), pooler.log()[-3000:]
            conn = pooler.connect(dbname="exapp")
            try:
                workload(conn)
            finally:
                conn.close()
            assert wait_for(lambda: {DOCS, EVENTS} <= statements(store)
                            and len(samples(store).get(DOCS, [])) >= 2
                            and len(samples(store).get(EVENTS, [])) >= 2, 30), \
                pooler.log()[-3000:]
        yield store, conninfo
    finally:
        drop_all(cluster)


def suggest(store, conninfo):
    r = cli("-s", store, "suggest", "--json", "--since", "1h", "-d", conninfo, timeout=300)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def copy_with_samples(store, dest, chosen):
    """A copy of STORE whose param_samples are CHOSEN ({query: [params]})."""
    shutil.copy(store, dest)
    db = sqlite3.connect(dest)
    try:
        db.execute("DELETE FROM param_samples")
        now = int(time.time() * 1e6)
        for q, plist in chosen.items():
            for k, params in enumerate(plist):
                db.execute("INSERT INTO param_samples (at_us, database, fingerprint, query,"
                           " params) VALUES (?, ?, ?, ?, ?)",
                           (now - k, "exapp", fingerprint(q), q, json.dumps(params)))
        db.commit()
    finally:
        db.close()
    return dest


def mine(doc):
    return {s["table"]: s for s in doc["suggestions"] if s["table"] in
            ("public.ex_docs", "public.ex_events")}


def test_pooler_samples_hold_the_constants(advised):
    store, _ = advised
    got = samples(store)
    assert {p[0] for p in got[DOCS]} == {"kind"}, got[DOCS]
    assert len({p[1] for p in got[DOCS]}) >= 2, got[DOCS]
    assert {p[0] for p in got[EVENTS]} == {"day"}, got[EVENTS]


def test_expression_indexes_with_constants(advised, cluster):
    store, conninfo = advised
    doc = suggest(store, conninfo)
    found = mine(doc)
    assert set(found) == {"public.ex_docs", "public.ex_events"}, \
        json.dumps(doc["suggestions"] + doc["rejected"], indent=1)
    docs, events = found["public.ex_docs"], found["public.ex_events"]
    assert docs["columns"] == DOCS_KEY and docs["where"] is None
    assert docs["create_sql"].startswith("CREATE INDEX CONCURRENTLY")
    assert docs["create_sql"].endswith("ON public.ex_docs ((data ->> 'kind'))"), docs
    assert events["columns"] == EVENTS_KEY, events
    assert events["create_sql"].endswith("ON public.ex_events (date_trunc('day', created_at))")
    for s, q in ((docs, DOCS), (events, EVENTS)):
        (st,) = s["statements"]
        assert st["query"] == q
        assert st["planned_with"] == "sampled", st
        assert st["cost_after"] * 2 <= st["cost_before"], st
    # the statements as the application sends them use the real indexes
    try:
        for s in (docs, events):
            cluster.query(s["create_sql"])
        plan = cluster.query("EXPLAIN SELECT id FROM ex_docs WHERE data->>'kind' = 'k7'")
        assert "Index" in " ".join(r[0] for r in plan), plan
        plan = cluster.query("EXPLAIN SELECT count(*) FROM ex_events"
                             " WHERE date_trunc('day', created_at) = '2024-02-03'")
        assert "Index" in " ".join(r[0] for r in plan), plan
        # and once they exist, nothing more is suggested for them
        again = suggest(store, conninfo)
        assert not mine(again), again["suggestions"]
        served = {(r["table"], r["columns"]): r["reason"] for r in again["rejected"]}
        assert served[("public.ex_docs", DOCS_KEY)].startswith("served by existing index")
    finally:
        cluster.query("DROP INDEX IF EXISTS ex_docs_expr_idx, ex_events_date_trunc_idx")


def test_without_samples_the_reason(advised, store_dir):
    store, conninfo = advised
    bare = copy_with_samples(store, os.path.join(store_dir, "bare.db"), {})
    doc = suggest(bare, conninfo)
    assert not mine(doc), doc["suggestions"]
    reasons = {(r["table"], r["columns"]): r["reason"] for r in doc["rejected"]}
    assert reasons[("public.ex_docs", "(data ->> $1)")] == REASON, reasons
    assert reasons[("public.ex_events", "date_trunc($1, created_at)")] == REASON, reasons


def test_disagreeing_samples_are_no_constant(advised, store_dir):
    """Samples that give $1 different values: it is not a constant of the
    code, and no expression can be written."""
    store, conninfo = advised
    mixed = copy_with_samples(store, os.path.join(store_dir, "mixed.db"), {
        DOCS: [["kind", "k7"], ["owner", "k7"]],
        EVENTS: [["day", "2024-02-03"], ["day", "2024-02-04"]],
    })
    doc = suggest(mixed, conninfo)
    found = mine(doc)
    assert set(found) == {"public.ex_events"}, doc["suggestions"]
    assert found["public.ex_events"]["columns"] == EVENTS_KEY
    reasons = {(r["table"], r["columns"]): r["reason"] for r in doc["rejected"]}
    assert "not a constant" in reasons[("public.ex_docs", "(data ->> $1)")], reasons
