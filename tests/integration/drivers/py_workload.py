"""The driver workload of test_drivers.py for the Python drivers: psycopg2,
psycopg (3) and asyncpg. The same workload exists as pg_workload.js
(node-postgres) and JdbcWorkload.java (JDBC); test_drivers.py describes it.

Settings come from the environment: LGW_DRIVER (psycopg2, psycopg3,
asyncpg), LGW_HOST, LGW_PORT, LGW_USER, LGW_PASSWORD, LGW_DB, LGW_TABLE,
LGW_MODE (session or transaction), LGW_NAMED (0: the driver uses no named
server-side statements, for poolers that cannot carry them in transaction
mode; else the driver's defaults), LGW_WORKERS (parallel connections).

Output: one JSON object per line, {"w": worker, "step": name, "v": value}
or {"w": worker, "step": name, "error": {...}} when a step failed."""

import asyncio
import datetime
import decimal
import hashlib
import json
import os
import sys
import threading

DRIVER = os.environ["LGW_DRIVER"]
HOST = os.environ["LGW_HOST"]
PORT = int(os.environ["LGW_PORT"])
USER = os.environ["LGW_USER"]
PASSWORD = os.environ["LGW_PASSWORD"]
DB = os.environ["LGW_DB"]
TABLE = os.environ["LGW_TABLE"]
MODE = os.environ["LGW_MODE"]
NAMED = os.environ.get("LGW_NAMED", "1") != "0"
WORKERS = int(os.environ.get("LGW_WORKERS", "20"))

ROWS = 8
TIMEZONES = ["Asia/Tokyo", "America/New_York", "Europe/Berlin", "UTC", "Australia/Adelaide"]
# libpq drivers parse timestamps only in ISO output; the field order still
# changes how '03/04/2024' is read.
ISO_DATESTYLES = ["ISO, MDY", "ISO, DMY", "ISO, YMD"]
# asyncpg reads binary values, so any output style works for it.
ANY_DATESTYLES = ["ISO, MDY", "SQL, DMY", "German, DMY", "Postgres, MDY", "ISO, YMD"]
REPORTED = ["application_name", "client_encoding", "DateStyle", "TimeZone", "IntervalStyle",
            "integer_datetimes", "standard_conforming_strings", "server_encoding",
            "server_version"]
SHOWN = ["application_name", "TimeZone", "DateStyle", "client_encoding", "extra_float_digits",
         "IntervalStyle", "standard_conforming_strings"]
FLOATS = [0.30000000000000004, 0.3333333333333333, 1.2345678901234567e300,
          -2.2250738585072014e-308, 5e-324, 123456789.12345679, 3.141592653589793, -1e-7]
LARGE_SQL = ("SELECT g, md5(g::text), repeat(chr(65 + g % 26), g % 97)"
             " FROM generate_series(1, 10000) AS g ORDER BY g")
REPEAT_SQL = "SELECT count(*), min(id), max(id) FROM {table} WHERE worker = {} AND id >= {}"
PREPARED_SQL = "SELECT string_agg(name, ',' ORDER BY name) FROM pg_prepared_statements"
COLUMNS = "id, worker, i4, i8, num, txt, bin, ts, flag, nul, f8, doc"

OUT_LOCK = threading.Lock()


def emit(w, step, value=None, error=None):
    rec = {"w": w, "step": step}
    if error is not None:
        rec["error"] = error
    else:
        rec["v"] = value
    line = json.dumps(rec, sort_keys=True, ensure_ascii=True)
    with OUT_LOCK:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def row_values(w, k):
    """The parameters of row k of worker w, as Python values."""
    i4 = 2147483647 if k == 0 else -2147483648 if k == 1 else w * 1000 + k
    i8 = (9223372036854775807 if k == 0 else -9223372036854775808 if k == 1
          else 9007199254740993 + w * 1000 + k)
    num = decimal.Decimal("%s1234567890123456789012345.%02d%d000000001"
                          % ("-" if k % 2 else "", w, k))
    txt = ("O'Reilly \"quoted\" back\\slash tab\t nl\n \u00fcn\u00efc\u00f8d\u00e9 \u2713 \U0001F418"
           " w%dk%d" % (w, k))
    binary = bytes((w * 7 + k * 13 + i) % 256 for i in range(300))
    ts = (datetime.datetime(2024, 2, 29, 13, 45, 56, 789000, tzinfo=datetime.timezone.utc)
          + datetime.timedelta(hours=w, minutes=k))
    doc = json.dumps({"w": w, "k": k, "s": "\u00fc'\"\\", "a": [1, 2.5, None, True]})
    return [w * 100 + k, w, i4, i8, num, txt, binary, ts, k % 2 == 0, None, FLOATS[k], doc]


def rollback_row(w):
    """Row 0 of worker w under a new id: inserted, then rolled back."""
    return [w * 100 + 99] + row_values(w, 0)[1:]


def canon(value):
    """A JSON-able form of a value as the driver returned it."""
    if isinstance(value, decimal.Decimal):
        return "numeric:" + str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "bytes:" + bytes(value).hex()
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return type(value).__name__ + ":" + value.isoformat()
    if isinstance(value, float):
        return "float:" + repr(value)
    if isinstance(value, (list, tuple)):
        return [canon(v) for v in value]
    if isinstance(value, dict):
        return {k: canon(v) for k, v in value.items()}
    return value


def large_digest(rows):
    h = hashlib.sha256()
    total = 0
    for g, md5, pad in rows:
        total += g
        h.update(("%d|%s|%s\n" % (g, md5, pad)).encode())
    rows = list(rows)
    return {"n": len(rows), "sum": total, "first": canon(list(rows[0])) if rows else None,
            "last": canon(list(rows[-1])) if rows else None, "sha256": h.hexdigest()}


def error_of(exc):
    state = getattr(exc, "sqlstate", None) or getattr(exc, "pgcode", None)
    return {"sqlstate": state, "type": type(exc).__name__, "message": str(exc).strip()[:300]}


def sqlstate(exc):
    return getattr(exc, "sqlstate", None) or getattr(exc, "pgcode", None)


# --- libpq drivers (threads) ----------------------------------------------

# libpq sends PGTZ and PGDATESTYLE as startup parameters; the environment
# is per process, so connections are opened one at a time.
CONNECT_LOCK = threading.Lock()


def libpq_connect(w, connect):
    with CONNECT_LOCK:
        os.environ["PGTZ"] = TIMEZONES[w % len(TIMEZONES)]
        os.environ["PGDATESTYLE"] = ISO_DATESTYLES[w % len(ISO_DATESTYLES)]
        try:
            return connect()
        finally:
            del os.environ["PGTZ"], os.environ["PGDATESTYLE"]


class Steps:
    """Runs named steps, turning an exception into an error record."""

    def __init__(self, w):
        self.w = w

    def run(self, step, fn, reset=None):
        try:
            emit(self.w, step, fn())
        except Exception as exc:  # noqa: BLE001 - recorded, compared in the test
            emit(self.w, step, error=error_of(exc))
            if reset:
                try:
                    reset()
                except Exception:  # noqa: BLE001
                    pass


def psycopg2_worker(w):
    import psycopg2
    import psycopg2.extras

    app = "lg-psycopg2-%d" % w
    conn = libpq_connect(w, lambda: psycopg2.connect(
        host=HOST, port=PORT, user=USER, password=PASSWORD, dbname=DB,
        application_name=app, connect_timeout=10))
    s = Steps(w)
    insert = "INSERT INTO %s (%s) VALUES (%s)" % (
        TABLE, COLUMNS, ", ".join(["%s"] * 11 + ["%s::json"]))

    def adapt(values):
        values = list(values)
        values[6] = psycopg2.Binary(values[6])
        return values

    def one(sql, args=None):
        with conn.cursor() as cur:
            cur.execute(sql, args)
            return cur.fetchone()

    s.run("startup", lambda: {n: conn.get_parameter_status(n) for n in REPORTED})

    def show():
        out = {}
        for name in SHOWN:
            out[name] = one("SHOW " + name)[0]
        conn.commit()
        return out
    s.run("show", show, conn.rollback)

    def do_insert():
        with conn.cursor() as cur:
            n = 0
            for k in range(ROWS // 2):
                cur.execute(insert, adapt(row_values(w, k)))
                n += cur.rowcount
            cur.executemany(insert, [adapt(row_values(w, k)) for k in range(ROWS // 2, ROWS)])
            n += cur.rowcount
        conn.commit()
        return n
    s.run("insert", do_insert, conn.rollback)

    def select():
        with conn.cursor() as cur:
            cur.execute("SELECT %s FROM %s WHERE worker = %%s ORDER BY id" % (COLUMNS, TABLE), (w,))
            rows = [canon(list(r)) for r in cur.fetchall()]
        conn.commit()
        return rows
    s.run("select", select, conn.rollback)

    def select_text():
        with conn.cursor() as cur:
            cur.execute("SELECT ts::text, '03/04/05'::date::text, f8::text, num::text FROM %s"
                        " WHERE worker = %%s ORDER BY id" % TABLE, (w,))
            rows = [list(r) for r in cur.fetchall()]
        conn.commit()
        return rows
    s.run("select_text", select_text, conn.rollback)

    def repeat():
        out = [list(one(REPEAT_SQL.format("%s", "%s", table=TABLE), (w, w * 100 + i)))
               for i in range(6)]
        conn.commit()
        return out
    s.run("repeat", repeat, conn.rollback)

    def prepared():
        value = one(PREPARED_SQL)[0]
        conn.commit()
        return value
    s.run("prepared", prepared, conn.rollback)

    def rollback():
        with conn.cursor() as cur:
            cur.execute(insert, adapt(rollback_row(w)))
            cur.execute("SELECT count(*) FROM %s WHERE worker = %%s" % TABLE, (w,))
            inside = cur.fetchone()[0]
            conn.rollback()
            cur.execute("SELECT count(*) FROM %s WHERE worker = %%s" % TABLE, (w,))
            after = cur.fetchone()[0]
        conn.commit()
        return [inside, after]
    s.run("rollback", rollback, conn.rollback)

    def unique():
        state = None
        try:
            with conn.cursor() as cur:
                cur.execute(insert, adapt(row_values(w, 0)))
        except psycopg2.Error as exc:
            state = sqlstate(exc)
        conn.rollback()
        value = one("SELECT 1")[0]
        conn.commit()
        return [state, value]
    s.run("unique", unique, conn.rollback)

    def divzero():
        state = None
        try:
            one("SELECT 1 / %s", (0,))
        except psycopg2.Error as exc:
            state = sqlstate(exc)
        conn.rollback()
        value = one("SELECT count(*) FROM %s WHERE worker = %%s" % TABLE, (w,))[0]
        conn.commit()
        return [state, value]
    s.run("divzero", divzero, conn.rollback)

    def txerror():
        states = []
        for sql in ("SELECT 1 / 0", "SELECT 1"):
            try:
                one(sql)
            except psycopg2.Error as exc:
                states.append(sqlstate(exc))
        conn.rollback()
        value = one("SELECT 2")[0]
        conn.commit()
        return states + [value]
    s.run("txerror", txerror, conn.rollback)

    def large():
        # A server-side cursor (DECLARE ... FETCH) inside a transaction.
        with conn.cursor(name="lg_large") as cur:
            cur.itersize = 1000
            cur.execute(LARGE_SQL)
            out = large_digest(list(cur))
        conn.commit()
        return out
    s.run("large", large, conn.rollback)

    def final():
        value = list(one("SELECT count(*), sum(i8)::text FROM %s WHERE worker = %%s" % TABLE, (w,)))
        conn.commit()
        return value
    s.run("final", final, conn.rollback)
    conn.close()
    emit(w, "done", True)


def psycopg3_worker(w):
    import psycopg

    app = "lg-psycopg3-%d" % w
    kwargs = {}
    if not NAMED:
        kwargs["prepare_threshold"] = None
    conn = libpq_connect(w, lambda: psycopg.connect(
        host=HOST, port=PORT, user=USER, password=PASSWORD, dbname=DB,
        application_name=app, connect_timeout=10, autocommit=True, **kwargs))
    s = Steps(w)
    insert = "INSERT INTO %s (%s) VALUES (%s)" % (
        TABLE, COLUMNS, ", ".join(["%s"] * 11 + ["%s::json"]))

    def one(sql, args=None):
        return conn.execute(sql, args).fetchone()

    s.run("startup", lambda: {n: conn.info.parameter_status(n) for n in REPORTED})
    s.run("show", lambda: {n: one("SHOW " + n)[0] for n in SHOWN})

    def do_insert():
        n = 0
        with conn.cursor() as cur:
            for k in range(ROWS // 2):
                cur.execute(insert, row_values(w, k))
                n += cur.rowcount
            # executemany runs in pipeline mode.
            cur.executemany(insert, [row_values(w, k) for k in range(ROWS // 2, ROWS)])
            n += cur.rowcount
        return n
    s.run("insert", do_insert)
    s.run("select", lambda: [canon(list(r)) for r in conn.execute(
        "SELECT %s FROM %s WHERE worker = %%s ORDER BY id" % (COLUMNS, TABLE), (w,))])
    s.run("select_text", lambda: [list(r) for r in conn.execute(
        "SELECT ts::text, '03/04/05'::date::text, f8::text, num::text FROM %s"
        " WHERE worker = %%s ORDER BY id" % TABLE, (w,))])
    # Run often enough to be prepared on the server (prepare_threshold).
    s.run("repeat", lambda: [list(one(REPEAT_SQL.format("%s", "%s", table=TABLE), (w, w * 100 + i)))
                             for i in range(6)])
    s.run("prepared", lambda: one(PREPARED_SQL)[0])

    class Rollback(Exception):
        pass

    def rollback():
        inside = None
        try:
            with conn.transaction():
                conn.execute(insert, rollback_row(w))
                inside = one("SELECT count(*) FROM %s WHERE worker = %%s" % TABLE, (w,))[0]
                raise Rollback()
        except Rollback:
            pass
        return [inside, one("SELECT count(*) FROM %s WHERE worker = %%s" % TABLE, (w,))[0]]
    s.run("rollback", rollback)

    def unique():
        state = None
        try:
            conn.execute(insert, row_values(w, 0))
        except psycopg.Error as exc:
            state = sqlstate(exc)
        return [state, one("SELECT 1")[0]]
    s.run("unique", unique)

    def divzero():
        state = None
        try:
            one("SELECT 1 / %s", (0,))
        except psycopg.Error as exc:
            state = sqlstate(exc)
        return [state, one("SELECT count(*) FROM %s WHERE worker = %%s" % TABLE, (w,))[0]]
    s.run("divzero", divzero)

    def txerror():
        states = []
        try:
            with conn.transaction():
                for sql in ("SELECT 1 / 0", "SELECT 1"):
                    try:
                        one(sql)
                    except psycopg.Error as exc:
                        states.append(sqlstate(exc))
        except psycopg.Error as exc:
            states.append("exit:" + str(sqlstate(exc)))
        return states + [one("SELECT 2")[0]]
    s.run("txerror", txerror)
    s.run("large", lambda: large_digest(conn.execute(LARGE_SQL).fetchall()))
    s.run("final", lambda: list(one(
        "SELECT count(*), sum(i8)::text FROM %s WHERE worker = %%s" % TABLE, (w,))))
    conn.close()
    emit(w, "done", True)


def run_threads(worker):
    def guarded(w):
        try:
            worker(w)
        except Exception as exc:  # noqa: BLE001 - e.g. a failed connect
            emit(w, "fatal", error=error_of(exc))

    threads = [threading.Thread(target=guarded, args=(w,)) for w in range(WORKERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


# --- asyncpg ---------------------------------------------------------------

async def asyncpg_worker(w):
    import asyncpg

    kwargs = {}
    if not NAMED:
        kwargs["statement_cache_size"] = 0
    conn = await asyncpg.connect(
        host=HOST, port=PORT, user=USER, password=PASSWORD, database=DB, ssl=False, timeout=10,
        server_settings={"application_name": "lg-asyncpg-%d" % w,
                         "TimeZone": TIMEZONES[w % len(TIMEZONES)],
                         "DateStyle": ANY_DATESTYLES[w % len(ANY_DATESTYLES)]},
        **kwargs)
    insert = "INSERT INTO %s (%s) VALUES (%s)" % (
        TABLE, COLUMNS, ", ".join(["$%d" % i for i in range(1, 12)] + ["$12::json"]))

    async def step(name, coro_fn):
        try:
            emit(w, name, await coro_fn())
        except Exception as exc:  # noqa: BLE001
            emit(w, name, error=error_of(exc))

    async def startup():
        settings = conn.get_settings()
        return {n: getattr(settings, n, None) for n in REPORTED}
    await step("startup", startup)

    async def show():
        return {n: await conn.fetchval("SHOW " + n) for n in SHOWN}
    await step("show", show)

    async def do_insert():
        n = 0
        for k in range(ROWS // 2):
            status = await conn.execute(insert, *row_values(w, k))
            n += int(status.split()[-1])
        await conn.executemany(insert, [row_values(w, k) for k in range(ROWS // 2, ROWS)])
        return n + ROWS - ROWS // 2
    await step("insert", do_insert)

    async def select():
        rows = await conn.fetch("SELECT %s FROM %s WHERE worker = $1 ORDER BY id"
                                % (COLUMNS, TABLE), w)
        return [canon(list(r.values())) for r in rows]
    await step("select", select)

    async def select_text():
        rows = await conn.fetch("SELECT ts::text, '03/04/05'::date::text, f8::text, num::text"
                                " FROM %s WHERE worker = $1 ORDER BY id" % TABLE, w)
        return [list(r.values()) for r in rows]
    await step("select_text", select_text)

    async def repeat():
        sql = REPEAT_SQL.format("$1", "$2", table=TABLE)
        return [list((await conn.fetchrow(sql, w, w * 100 + i)).values()) for i in range(6)]
    await step("repeat", repeat)

    async def prepared():
        return await conn.fetchval(PREPARED_SQL)
    await step("prepared", prepared)

    count_sql = "SELECT count(*) FROM %s WHERE worker = $1" % TABLE

    async def rollback():
        tr = conn.transaction()
        await tr.start()
        try:
            await conn.execute(insert, *(rollback_row(w)))
            inside = await conn.fetchval(count_sql, w)
        finally:
            await tr.rollback()
        return [inside, await conn.fetchval(count_sql, w)]
    await step("rollback", rollback)

    async def unique():
        state = None
        try:
            await conn.execute(insert, *row_values(w, 0))
        except asyncpg.PostgresError as exc:
            state = exc.sqlstate
        return [state, await conn.fetchval("SELECT 1")]
    await step("unique", unique)

    async def divzero():
        state = None
        try:
            await conn.fetchval("SELECT 1 / $1::int", 0)
        except asyncpg.PostgresError as exc:
            state = exc.sqlstate
        return [state, await conn.fetchval(count_sql, w)]
    await step("divzero", divzero)

    async def txerror():
        states = []
        tr = conn.transaction()
        await tr.start()
        try:
            for sql in ("SELECT 1 / 0", "SELECT 1"):
                try:
                    await conn.fetchval(sql)
                except asyncpg.PostgresError as exc:
                    states.append(exc.sqlstate)
        finally:
            await tr.rollback()
        return states + [await conn.fetchval("SELECT 2")]
    await step("txerror", txerror)

    async def large():
        return large_digest([tuple(r.values()) for r in await conn.fetch(LARGE_SQL)])
    await step("large", large)

    async def final():
        return list((await conn.fetchrow(
            "SELECT count(*), sum(i8)::text FROM %s WHERE worker = $1" % TABLE, w)).values())
    await step("final", final)
    await conn.close()
    emit(w, "done", True)


async def run_asyncpg():
    async def guarded(w):
        try:
            await asyncpg_worker(w)
        except Exception as exc:  # noqa: BLE001
            emit(w, "fatal", error=error_of(exc))

    await asyncio.gather(*(guarded(w) for w in range(WORKERS)))


def main():
    if DRIVER == "psycopg2":
        run_threads(psycopg2_worker)
    elif DRIVER == "psycopg3":
        run_threads(psycopg3_worker)
    elif DRIVER == "asyncpg":
        asyncio.run(run_asyncpg())
    else:
        sys.exit("unknown LGW_DRIVER %r" % DRIVER)


if __name__ == "__main__":
    main()
