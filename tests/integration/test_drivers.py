"""Real drivers judge a drop-in pooler: psycopg2, psycopg 3, asyncpg,
node-postgres and JDBC run one workload through the pooler, in session and
in transaction pooling, and the results must equal, value by value, those
of the same workload run directly against PostgreSQL.

The workload (drivers/py_workload.py, drivers/pg_workload.js,
drivers/JdbcWorkload.java) opens WORKERS connections at once (more than
default_pool_size, so clients queue in session mode and share servers in
transaction mode). Each worker, on its own connection:
  startup      the ParameterStatus values the driver received at login
  show         SHOW application_name, TimeZone, DateStyle, ... as the
               driver set them in its startup packet
  insert       8 rows of int, bigint, numeric, text (quotes, backslash,
               unicode), bytea, timestamptz, boolean, NULL, float8 with
               many digits and json, sent as parameters
  select       those rows as the driver decodes them
  select_text  the server's text output, which TimeZone, DateStyle and
               extra_float_digits decide
  repeat       one query six times with new parameters (in session mode
               the drivers prepare it on the server by then)
  prepared     the names in pg_prepared_statements on the server it is on
  rollback     a row inserted in a transaction, seen, rolled back
  unique       a duplicate key (23505), then the connection is used again
  divzero      a division by zero (22012), then the connection is used again
  txerror      22012 in a transaction, then 25P02, ROLLBACK, then a query
  large        10,000 rows (about 0.5 MB), digested
  final        the worker's row count and bigint sum
and prints one JSON line per step. The drivers keep their defaults, named
server-side statements included (JDBC with prepareThreshold=1 in transaction
mode), except through PgBouncer 1.18 in transaction mode, which cannot carry
them: there they use none. In transaction mode the "prepared" step shows
the pooler's own statement names on whichever server the query ran, so it
is compared only in session mode; the pooler's counters show instead that
the drivers' named statements went through it."""

import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import sys

import pytest

from support import ON_PGBOUNCER, POOLER, per_pooler, running_pooler

HERE = os.path.dirname(os.path.abspath(__file__))
DRIVERS_DIR = os.path.join(HERE, "drivers")
WORKERS = 20
POOL_SIZE = 5
RUN_TIMEOUT = 90
JDBC_JAR = "/usr/share/java/postgresql.jar"
NODE = "/usr/bin/node"  # Debian's node: its modules live in /usr/share/nodejs
NODE_PATH = "/usr/share/nodejs"
JAVA_TIMEZONE = "Asia/Kolkata"

DRIVERS = ["psycopg2", "psycopg3", "asyncpg", "node-pg", "jdbc"]
STEPS = ["startup", "show", "insert", "select", "select_text", "repeat", "prepared", "rollback",
         "unique", "divzero", "txerror", "large", "final", "done"]
# What each driver asks for at login (see the workload programs).
TIMEZONES = ["Asia/Tokyo", "America/New_York", "Europe/Berlin", "UTC", "Australia/Adelaide"]
ISO_DATESTYLES = ["ISO, MDY", "ISO, DMY", "ISO, YMD"]
ANY_DATESTYLES = ["ISO, MDY", "SQL, DMY", "German, DMY", "Postgres, MDY", "ISO, YMD"]

TABLE_DDL = """CREATE TABLE {name} (
    id int PRIMARY KEY, worker int NOT NULL, i4 int, i8 bigint, num numeric, txt text,
    bin bytea, ts timestamptz, flag boolean, nul text, f8 float8, doc json)"""
TABLE_DUMP = ("SELECT id, worker, i4, i8, num::text, txt, encode(bin, 'hex'), ts, flag, nul,"
              " f8::text, doc::text FROM {name} ORDER BY id")


def large_sha256():
    h = hashlib.sha256()
    for g in range(1, 10001):
        pad = chr(65 + g % 26) * (g % 97)
        h.update(("%d|%s|%s\n" % (g, hashlib.md5(str(g).encode()).hexdigest(), pad)).encode())
    return h.hexdigest()


LARGE_SHA256 = large_sha256()


def expected_session(driver, w):
    """(application_name, TimeZone, DateStyle, extra_float_digits) that
    worker w of `driver` asked for, as SHOW prints them on PostgreSQL."""
    app = "lg-%s-%d" % (driver, w)
    if driver in ("psycopg2", "psycopg3"):
        return app, TIMEZONES[w % 5], ISO_DATESTYLES[w % 3], "1"
    if driver == "asyncpg":
        return app, TIMEZONES[w % 5], ANY_DATESTYLES[w % 5], "1"
    if driver == "jdbc":
        return app, JAVA_TIMEZONE, "ISO, MDY", "3"
    return app, "UTC", "ISO, MDY", "1"  # node-pg sends neither; the server's defaults


# --- fixtures ---------------------------------------------------------------

@pytest.fixture(scope="module", params=["session", "transaction"])
def drivers_pooler(request, cluster):
    """A pooler with POOL_SIZE servers for WORKERS clients. PgBouncer 1.18
    refuses JDBC's extra_float_digits unless told to ignore it; pglifeguard
    tracks it like the other startup parameters and gets no such help."""
    with running_pooler(cluster, pool_mode=request.param, default_pool_size=POOL_SIZE,
                        max_client_conn=200,
                        ignore_startup_parameters=per_pooler("", "extra_float_digits")) as pooler:
        yield pooler


@pytest.fixture(scope="session")
def node_command():
    if not os.path.exists(NODE):
        pytest.skip("Debian's nodejs is not installed (apt-get install node-pg)")
    env = dict(os.environ, NODE_PATH=NODE_PATH)
    probe = subprocess.run([NODE, "-e", "require('pg')"], env=env, capture_output=True,
                           text=True, timeout=60)
    if probe.returncode != 0:
        pytest.skip("%s cannot require('pg') (apt-get install node-pg): %s"
                    % (NODE, probe.stderr.strip()[-300:]))
    return [NODE, os.path.join(DRIVERS_DIR, "pg_workload.js")], {"NODE_PATH": NODE_PATH}


@pytest.fixture(scope="session")
def jdbc_command(tmp_path_factory):
    javac, java = shutil.which("javac"), shutil.which("java")
    if not (javac and java):
        pytest.skip("javac/java not found (a JDK 17: openjdk-17-jdk-headless)")
    if not os.path.exists(JDBC_JAR):
        pytest.skip("%s is missing (apt-get install libpostgresql-jdbc-java)" % JDBC_JAR)
    out = str(tmp_path_factory.mktemp("jdbc"))
    proc = subprocess.run([javac, "-d", out, "-cp", JDBC_JAR,
                           os.path.join(DRIVERS_DIR, "JdbcWorkload.java")],
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, "javac failed:\n" + proc.stderr
    return [java, "-Duser.timezone=" + JAVA_TIMEZONE, "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1", "-cp", JDBC_JAR + os.pathsep + out, "JdbcWorkload"], {}


def driver_command(request, driver):
    if driver in ("psycopg2", "psycopg3", "asyncpg"):
        module = {"psycopg3": "psycopg"}.get(driver, driver)
        pytest.importorskip(module, reason="python3-%s is not installed" % module)
        return [sys.executable, os.path.join(DRIVERS_DIR, "py_workload.py")], {"LGW_DRIVER": driver}
    if driver == "node-pg":
        return request.getfixturevalue("node_command")
    return request.getfixturevalue("jdbc_command")


@contextlib.contextmanager
def fresh_tables(cluster, *names):
    for name in names:
        cluster.query("DROP TABLE IF EXISTS %s; %s" % (name, TABLE_DDL.format(name=name)))
    try:
        yield
    finally:
        for name in names:
            cluster.query("DROP TABLE IF EXISTS %s" % name)


# --- running and comparing ----------------------------------------------------

def named_statements(mode):
    """Whether the drivers use named server-side statements."""
    return mode == "session" or not ON_PGBOUNCER


def run_workload(command, extra_env, port, table, mode, password):
    env = dict(os.environ, LGW_HOST="127.0.0.1", LGW_PORT=str(port), LGW_USER="lg_plain",
               LGW_PASSWORD=password, LGW_DB="lgtest", LGW_TABLE=table, LGW_MODE=mode,
               LGW_NAMED="1" if named_statements(mode) else "0", LGW_WORKERS=str(WORKERS),
               **extra_env)
    for var in ("PGTZ", "PGDATESTYLE", "PGOPTIONS", "PGAPPNAME", "PGSERVICE"):
        env.pop(var, None)
    try:
        proc = subprocess.run(command, env=env, capture_output=True, text=True,
                              timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode(errors="replace") if isinstance(exc.stdout, bytes) else exc.stdout
        pytest.fail("the workload on port %d did not finish in %d s; its last lines:\n%s"
                    % (port, RUN_TIMEOUT, "\n".join((out or "").splitlines()[-20:])))
    assert proc.returncode == 0, "the workload failed (%d):\n%s\n%s" % (
        proc.returncode, proc.stderr[-3000:], proc.stdout[-2000:])
    results = {}
    for line in proc.stdout.splitlines():
        rec = json.loads(line)
        results[(rec["w"], rec["step"])] = rec
    return results


def comparable(rec, mode):
    """A record without what may differ for no fault: error messages, and
    the names of prepared statements (asyncpg numbers them per process, in
    the order its connections happen to prepare), of which the count
    stays in session mode."""
    if rec is None:
        return None
    if "error" in rec:
        return {"error": {k: rec["error"].get(k) for k in ("sqlstate", "type")}}
    if rec["step"] == "prepared":
        if mode != "session":
            return {"v": "not compared"}
        return {"v": len(rec["v"].split(",")) if rec["v"] else 0}
    return {"v": rec["v"]}


def shown(rec):
    if rec is None:
        return "(missing)"
    text = json.dumps(rec.get("error", rec.get("v")), ensure_ascii=False, sort_keys=True)
    return text if len(text) <= 400 else text[:400] + "..."


def only_differing(a, b):
    """For two dict values, the entries that differ; else both whole."""
    va, vb = (a or {}).get("v"), (b or {}).get("v")
    if isinstance(va, dict) and isinstance(vb, dict):
        keys = [k for k in sorted(set(va) | set(vb)) if va.get(k) != vb.get(k)]
        return ({"v": {k: va.get(k) for k in keys}}, {"v": {k: vb.get(k) for k in keys}})
    return a, b


def differences(direct, pooled, mode):
    order = {s: i for i, s in enumerate(STEPS)}
    keys = sorted(set(direct) | set(pooled), key=lambda k: (k[0], order.get(k[1], 99), k[1]))
    out = []
    for w, step in keys:
        a, b = direct.get((w, step)), pooled.get((w, step))
        if comparable(a, mode) != comparable(b, mode):
            a, b = only_differing(a, b)
            out.append("worker %d, %s:\n    direct: %s\n    pooled: %s"
                       % (w, step, shown(a), shown(b)))
    return out


def check_direct(driver, mode, direct):
    """The direct run itself must show that the workload did what it says;
    else equal results would prove nothing."""
    problems = []
    for w in range(WORKERS):
        for step in STEPS:
            rec = direct.get((w, step))
            if rec is None or "error" in rec:
                problems.append("worker %d, %s: %s" % (w, step, shown(rec)))
        if problems:
            continue
        v = {step: direct[(w, step)]["v"] for step in STEPS}
        app, tz, datestyle, efd = expected_session(driver, w)
        want = {"application_name": app, "TimeZone": tz, "DateStyle": datestyle,
                "extra_float_digits": efd}
        got = {k: v["show"][k] for k in want}
        checks = [
            (got == want, "SHOW %s, expected %s" % (got, want)),
            (v["startup"]["application_name"] == app, "startup %s" % v["startup"]),
            (v["insert"] == 8, "insert %s" % v["insert"]),
            ([int(x) for x in v["rollback"]] == [9, 8], "rollback %s" % v["rollback"]),
            (v["unique"][0] == "23505", "unique %s" % v["unique"]),
            (v["divzero"][0] == "22012", "divzero %s" % v["divzero"]),
            (v["txerror"][:2] == ["22012", "25P02"], "txerror %s" % v["txerror"]),
            (v["large"]["n"] == 10000 and v["large"]["sha256"] == LARGE_SHA256,
             "large %s" % v["large"]),
            (int(v["final"][0]) == 8, "final %s" % v["final"]),
            # psycopg2 never prepares on the server; the others do unless
            # told not to.
            (bool(v["prepared"]) == (named_statements(mode) and driver != "psycopg2"),
             "prepared statements %r in %s mode" % (v["prepared"], mode)),
        ]
        problems += ["worker %d: %s" % (w, msg) for ok, msg in checks if not ok]
    assert not problems, "the direct run is not what the workload promises:\n" + "\n".join(
        problems[:20])


# Startup parameters as the drivers spell them in their startup packets.
# PostgreSQL answers with its own spelling ("UTF8", "ISO, MDY"); PgBouncer
# 1.18 echoes the client's at login.
RAW_STARTUP = {"asyncpg": {"client_encoding": "'utf-8'"}, "jdbc": {"DateStyle": "ISO"}}


def known_pgbouncer_differences(driver, direct, pooled):
    """What the poolers are known to do differently, replaced by the direct
    value so that the rest is compared. Both echo the client's spelling of
    startup parameters in their ParameterStatus at login (the server's
    normalized spelling is only known once a server applied the value;
    pglifeguard then forwards it). PgBouncer 1.18 also ignores JDBC's
    extra_float_digits=3 (we tell it to), so the server keeps its default, 1;
    pglifeguard carries it and gets no allowance for it."""
    for w in range(WORKERS):
        for step, raw in (("startup", RAW_STARTUP.get(driver, {})),
                          ("show", {"extra_float_digits": "1"}
                           if driver == "jdbc" and ON_PGBOUNCER else {})):
            rec, want = pooled.get((w, step)), direct.get((w, step))
            if not (rec and want and "v" in rec and "v" in want):
                continue
            for name, value in raw.items():
                if rec["v"].get(name) == value:
                    rec["v"][name] = want["v"].get(name)


@pytest.mark.parametrize("driver", DRIVERS)
def test_driver_workload(request, cluster, drivers_pooler, driver):
    pooler = drivers_pooler
    mode = pooler.settings["pool_mode"]
    command, extra_env = driver_command(request, driver)
    base = "lg_drv_%s_%s" % (driver.replace("-", "_"), mode[:2])
    direct_table, pooled_table = base + "_direct", base + "_pooled"
    with fresh_tables(cluster, direct_table, pooled_table):
        direct = run_workload(command, extra_env, cluster.port, direct_table, mode,
                              cluster.passwords["lg_plain"])
        check_direct(driver, mode, direct)
        parses = client_parses(pooler)
        pooled = run_workload(command, extra_env, pooler.port, pooled_table, mode,
                              pooler.password("lg_plain"))
        assert pooler.alive(), "%s died during the workload" % POOLER
        known_pgbouncer_differences(driver, direct, pooled)
        diffs = differences(direct, pooled, mode)
        assert not diffs, "%d results differ through %s (%s mode):\n%s" % (
            len(diffs), POOLER, mode, "\n".join(diffs[:15]))
        # What the server stored is the same too.
        assert (cluster.query(TABLE_DUMP.format(name=pooled_table))
                == cluster.query(TABLE_DUMP.format(name=direct_table)))
    # The pool was shared, not bypassed.
    assert pooler.servers() <= POOL_SIZE
    if mode == "transaction" and named_statements(mode) and driver != "psycopg2":
        # the drivers' named statements went through the pooler's translation
        assert client_parses(pooler) - parses >= WORKERS, "no named Parse went through"


def client_parses(pooler):
    if ON_PGBOUNCER:
        return 0
    return sum(int(r["total_client_parse_count"]) for r in pooler.admin("SHOW STATS"))
