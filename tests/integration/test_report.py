"""pglifeguard-cli report: a workload through pglifeguard with a store (top
statements, a lock wait, a suspected leak, a saturation alert that fires
and resolves), then `report -o out.html`: a well-formed page with every
section, statement texts and application names escaped, nothing fetched
from elsewhere; headless Chromium renders it (a screenshot that is not
blank and shows the chart colors). Without chromium (contrib/deps.sh
installs it as an optional package) the rendering test is skipped."""

import html.parser
import os
import re
import shutil
import sqlite3
import struct
import subprocess
import tempfile
import threading
import time
import zlib

import pytest

from support import ON_PGBOUNCER, finish_pooler, start_pooler, wait_for

pytestmark = pytest.mark.skipif(ON_PGBOUNCER, reason="the store is pglifeguard's own")

CLI = os.environ.get("PGLIFEGUARD_CLI") or os.path.join(
    os.path.dirname(os.environ.get("PGLIFEGUARD", "build/pglifeguard")), "pglifeguard-cli")
TABLE = "lg_report_t"
# a quoted column name survives pg_stat_statements' normalization: markup
# in a statement text the page must escape
STATEMENT = 'SELECT "a<b&c" FROM lg_report_t WHERE id = %s'
STORED = 'SELECT "a<b&c" FROM lg_report_t WHERE id = $1'
APP = "leaky<app>&co"
QUIET = dict(alert_wait_seconds=0, alert_max_wait_ms=0, alert_pool_utilization=0,
             alert_client_conn_percent=0, alert_leaks=0)


def cli(*args):
    return subprocess.run([CLI, *args], capture_output=True, text=True, timeout=60)


def store_rows(store, sql, args=()):
    if not os.path.exists(store):
        return []
    db = sqlite3.connect("file:%s?mode=ro" % store, uri=True)
    try:
        return db.execute(sql, args).fetchall()
    except sqlite3.OperationalError:
        return []  # not created yet
    finally:
        db.close()


class Page(html.parser.HTMLParser):
    """Checks nesting (void elements aside) and collects what the tests
    look at: tags, attributes, ids, text."""
    VOID = {"meta", "br", "img", "hr", "input", "link"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.errors, self.tags, self.attrs, self.text = [], [], [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs.extend(attrs)
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs.extend(attrs)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append("</%s> closes %s" % (tag, self.stack[-1:]))
        else:
            self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def png_pixels(path):
    """Decodes an 8-bit RGB(A) non-interlaced PNG: (width, height, rows of
    pixel tuples)."""
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat = 8, b""
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    assert depth == 8 and ctype in (2, 6) and interlace == 0, (depth, ctype, interlace)
    bpp = 3 if ctype == 2 else 4
    raw = zlib.decompress(idat)
    stride = w * bpp
    prev = bytearray(stride)
    rows = []
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pr = a if pa <= pb and pa <= pc else b if pb <= pc else c
                line[i] = (line[i] + pr) & 255
        rows.append([tuple(line[i:i + 3]) for i in range(0, stride, bpp)])
        prev = line
    return w, h, rows


@pytest.fixture(scope="module")
def report(cluster):
    """Runs the workload once and writes the report; yields (html text,
    path, store)."""
    d = tempfile.mkdtemp(prefix="lg-report.", dir="/tmp")
    os.chmod(d, 0o777)
    store = os.path.join(d, "store.db")
    cluster.query("DROP TABLE IF EXISTS %s; CREATE TABLE %s (id int PRIMARY KEY, \"a<b&c\" int);"
                  "INSERT INTO %s VALUES (1, 0), (2, 0); GRANT SELECT ON %s TO PUBLIC"
                  % (TABLE, TABLE, TABLE, TABLE))
    settings = dict(QUIET, alert_for_seconds=1, alert_pool_utilization=90)
    pooler = start_pooler(cluster, dict(
        pool_mode="transaction", default_pool_size=1, leak_threshold=1, store_path=store,
        sample_interval=1, lock_sample_interval=0.5, monitor_user="lg_plain",
        monitor_databases="lgtest", **settings))
    try:
        # statements: the first sample is a baseline, then the workload
        assert wait_for(lambda: store_rows(store, "SELECT 1 FROM sample_intervals"), 20), \
            pooler.log()[-3000:]
        conn = pooler.connect()
        try:
            for round_ in range(3):
                with conn.cursor() as cur:
                    for i in range(60):
                        cur.execute(STATEMENT, (i % 2 + 1,))
                time.sleep(1.1)
        finally:
            conn.close()
        assert wait_for(lambda: store_rows(
            store, "SELECT 1 FROM statements WHERE query = ?", (STORED,)), 15), \
            pooler.log()[-3000:]
        # a lock wait, straight on the database: the sampler sees every backend
        a = cluster.connect()
        a.autocommit = False
        b = cluster.connect()
        b.autocommit = False
        try:
            with a.cursor() as cur:
                cur.execute("UPDATE %s SET id = id WHERE id = 1" % TABLE)

            def blocked():
                with b.cursor() as cur:
                    cur.execute("UPDATE %s SET id = id WHERE id = 1" % TABLE)

            t = threading.Thread(target=blocked, daemon=True)
            t.start()
            assert wait_for(lambda: store_rows(
                store, "SELECT 1 FROM lock_samples WHERE waiters > 0"), 15), \
                pooler.log()[-3000:]
            time.sleep(1)
            a.commit()
            t.join(10)
            b.commit()
        finally:
            a.close()
            b.close()
        # a leak that saturates the one-server pool while a client waits
        holder = pooler.connect(autocommit=False, application_name=APP)
        waiter = pooler.connect()
        done = threading.Event()
        try:
            with holder.cursor() as cur:
                cur.execute("SELECT 'held'")

            def wait_for_server():
                with waiter.cursor() as cur:
                    cur.execute("SELECT 1")
                done.set()

            threading.Thread(target=wait_for_server, daemon=True).start()
            assert wait_for(lambda: store_rows(store, "SELECT 1 FROM leak_events"), 10), \
                pooler.log()[-3000:]
            assert wait_for(lambda: store_rows(
                store, "SELECT 1 FROM alert_events WHERE state = 'firing'"), 10), \
                pooler.log()[-3000:]
            holder.commit()
            assert done.wait(5)
            assert wait_for(lambda: store_rows(
                store, "SELECT 1 FROM alert_events WHERE state = 'resolved'"), 10), \
                pooler.log()[-3000:]
        finally:
            holder.close()
            waiter.close()
        time.sleep(1.5)  # a drained pool sample after the alert
    finally:
        finish_pooler(pooler)
        cluster.query("DROP TABLE IF EXISTS %s" % TABLE)
    out = os.path.join(d, "out.html")
    r = cli("-s", store, "report", "-o", out)
    assert r.returncode == 0, r.stderr
    assert "wrote" in r.stdout
    with open(out, encoding="utf-8") as f:
        text = f.read()
    yield text, out, store
    shutil.rmtree(d, ignore_errors=True)


def test_well_formed_and_self_contained(report):
    text, _, _ = report
    p = Page()
    p.feed(text)
    p.close()
    assert not p.errors, p.errors[:5]
    assert p.stack == [], p.stack
    assert text.startswith("<!DOCTYPE html>")
    assert "script" not in p.tags
    for name, value in p.attrs:
        assert name != "src", (name, value)
        if name == "href":
            assert value.startswith("#"), value  # only links within the page
    # the SVG namespace is an identifier, not a fetch; nothing else names a host
    assert not re.search(r"(https?:|//)(?!www\.w3\.org/2000/svg)", text.replace(
        'xmlns="http://www.w3.org/2000/svg"', "")), re.findall(r"https?:\S+", text)
    assert "@import" not in text and "url(" not in text


def test_sections_and_charts(report, cluster):
    text, _, store = report
    for anchor in ("pools", "checkouts", "top", "locks", "leaks", "alerts", "suggestions"):
        assert 'id="%s"' % anchor in text, anchor
    # charts: pools, top statements, lock waits
    assert text.count("<svg ") >= 3, text.count("<svg ")
    assert text.count("<polyline ") >= 3
    pool = text[text.index('id="pools"'):text.index('id="checkouts"')]
    assert "lgtest / lg_plain" in pool and "<svg " in pool
    assert "clients waiting" in pool and "most clients waiting at once: 1" in pool, pool[:500]
    # the pooler recorded this workload's checkouts: the table and its chart
    checkouts = text[text.index('id="checkouts"'):text.index('id="top"')]
    assert "<th>p99 ms (at most)</th>" in checkouts and "<svg " in checkouts, checkouts
    assert "No checkout ended in the window" not in checkouts
    locks = text[text.index('id="locks"'):text.index('id="leaks"')]
    assert "<svg " in locks and "Longest waits" in locks
    assert "UPDATE lg_report_t SET id = id WHERE id = " in locks
    assert "ShareLock" in locks
    leaks = text[text.index('id="leaks"'):text.index('id="alerts"')]
    assert "idle in transaction" in leaks
    alerts = text[text.index('id="alerts"'):text.index('id="suggestions"')]
    assert "pool_utilization" in alerts and "firing" in alerts and "resolved" in alerts
    suggestions = text[text.index('id="suggestions"'):]
    assert "pglifeguard-cli report -d CONNINFO" in suggestions
    assert "pglifeguard-cli suggest -d" in suggestions
    # query suggestions from the store alone are still there without -d
    assert "Query suggestions" in suggestions and "need -d CONNINFO" in suggestions
    assert "Index suggestions for database" not in suggestions
    # the top table agrees with the store: the workload's 180 calls
    top = text[text.index('id="top"'):text.index('id="locks"')]
    calls = store_rows(store, "SELECT sum(s.calls) FROM statement_samples s JOIN statements t"
                       " USING (queryid, userid, dbid) WHERE t.query = ?", (STORED,))[0][0]
    assert calls == 180, calls
    row = [l for l in top.splitlines() if "lg_report_t WHERE id = $1" in l and "<tr>" in l]
    assert len(row) == 1, top[-3000:]
    assert '<td class="n">180</td>' in row[0], row
    # pglifeguard's own statements are in the store, not in the report
    own = store_rows(store, "SELECT count(*) FROM statements WHERE query LIKE '-- Sampler:%'"
                     " OR query LIKE '-- Lock sampler:%'")[0][0]
    assert own > 0
    assert "-- Sampler:" not in top and "-- Lock sampler:" not in top
    # the stacked chart: the top 5, and the rest of the 14 statements as one
    # band on top, so that the stack's edge is the whole workload's time
    chart = top[top.index("<svg "):top.index("</svg>")]
    assert chart.count("<polygon ") == 6, chart.count("<polygon ")
    assert ">all other statements</text>" in chart
    assert "execution ms per interval" in chart


def test_database_text_escaped(report):
    text, _, _ = report
    # statement text and application_name from the database, escaped
    assert 'SELECT &quot;a&lt;b&amp;c&quot; FROM lg_report_t WHERE id = $1' in text
    assert "leaky&lt;app&gt;&amp;co" in text
    assert '"a<b&c"' not in text and "<app>" not in text
    p = Page()
    p.feed(text)
    assert "app" not in p.tags
    assert any(APP in t for t in p.text)
    assert any(STORED in t for t in p.text)


def test_bad_arguments(report):
    _, _, store = report
    r = cli("-s", store, "report")
    assert r.returncode == 1 and "-o FILE.html is required" in r.stderr
    r = cli("-s", store, "report", "-o", "/tmp/x.html", "--since", "soon")
    assert r.returncode == 1 and "bad --since" in r.stderr
    r = cli("-s", "/nonexistent/store.db", "report", "-o", "/tmp/lg-report-none.html")
    assert r.returncode == 2 and not os.path.exists("/tmp/lg-report-none.html")


def test_empty_window(report, tmp_path):
    _, _, store = report
    out = str(tmp_path / "empty.html")
    r = cli("-s", store, "report", "-o", out, "--since", "0s")
    assert r.returncode == 0, r.stderr
    text = open(out, encoding="utf-8").read()
    assert "No pool samples in the window" in text
    assert "No statements sampled in the window" in text
    assert "No lock waits sampled in the window" in text
    assert "No suspected leaks in the window" in text
    assert "No alerts fired or resolved in the window" in text
    assert "No checkout ended in the window" in text
    assert "<svg " not in text


needs_chromium = pytest.mark.skipif(not shutil.which("chromium"),
                                    reason="chromium not installed (optional in contrib/deps.sh)")


def screenshot(path, keep_env=None, height=2400):
    """Renders PATH in headless Chromium: a 1280 x HEIGHT screenshot's
    pixel colors, counted. Copied to $KEEP_ENV when that is set."""
    d = tempfile.mkdtemp(prefix="lg-chromium.", dir="/tmp")
    png = os.path.join(d, "report.png")
    try:
        r = subprocess.run(
            ["chromium", "--headless", "--no-sandbox", "--disable-gpu",
             "--user-data-dir=" + os.path.join(d, "profile"), "--screenshot=" + png,
             "--window-size=1280,%d" % height, "file://" + path],
            capture_output=True, text=True, timeout=120, env=dict(os.environ, HOME=d))
        assert os.path.exists(png), r.stderr[-2000:]
        assert os.path.getsize(png) > 20000, os.path.getsize(png)
        w, h, rows = png_pixels(png)
        assert (w, h) == (1280, height)
        colors = {}
        for row in rows:
            for px in row:
                colors[px] = colors.get(px, 0) + 1
        if keep_env and os.environ.get(keep_env):
            shutil.copy(png, os.environ[keep_env])
        return colors
    finally:
        shutil.rmtree(d, ignore_errors=True)


BLUE, RED, GREEN = (0x1f, 0x77, 0xb4), (0xd6, 0x27, 0x28), (0x2c, 0xa0, 0x2c)


@needs_chromium
def test_renders_in_chromium(report):
    _, path, _ = report
    colors = screenshot(path, "LG_KEEP_SCREENSHOT")
    assert len(colors) > 50, len(colors)
    # series colors: a legend swatch is 120 pixels (12 x 10); blue has one
    # in each of the three charts (360), red and green one in two (240):
    # counts well above that are the lines and the stacked areas themselves
    assert colors.get(RED, 0) >= 240, colors.get(RED, 0)
    assert colors.get(GREEN, 0) >= 2 * 240, colors.get(GREEN, 0)
    assert colors.get(BLUE, 0) >= 1500, colors.get(BLUE, 0)


# Checkout percentiles as the pooler writes them (migrate_5.sql): one row
# per pool sample, NULL percentiles when no checkout ended in the interval.
# (seconds before now, checkouts, p50, p95, p99, max in microseconds)
CHECKOUT_ROWS = [
    (40, 10, 1500, 8000, 12345, 15000),
    (30, 0, None, None, None, None),
    (20, 4, 2500, 3000, 20000, 21000),
    (10, 6, 1000, 2000, 4000, 250000),
]
CHECKOUT_POOL = ("ck<db>", "ck&user")


@pytest.fixture(scope="module")
def checkout_report(report):
    """The report's store copied, plus a pool's checkout percentiles
    inserted straight into pool_samples; yields (html text, path)."""
    _, _, store = report
    d = tempfile.mkdtemp(prefix="lg-report-ck.", dir="/tmp")
    copy = os.path.join(d, "store.db")
    src = sqlite3.connect("file:%s?mode=ro" % store, uri=True)
    dst = sqlite3.connect(copy)
    src.backup(dst)
    src.close()
    now = int(time.time() * 1e6)
    with dst:
        for ago, n, p50, p95, p99, mx in CHECKOUT_ROWS:
            dst.execute(
                "INSERT INTO pool_samples (at_us, database, username, cl_active, cl_waiting,"
                " sv_active, sv_idle, sv_used, sv_login, pool_size, maxwait_us, checkouts,"
                " checkout_p50_us, checkout_p95_us, checkout_p99_us, checkout_max_us)"
                " VALUES (?, ?, ?, 1, 0, 1, 0, 0, 0, 2, 0, ?, ?, ?, ?, ?)",
                (now - ago * 1000000, *CHECKOUT_POOL, n, p50, p95, p99, mx))
    dst.close()
    out = os.path.join(d, "out.html")
    r = cli("-s", copy, "report", "-o", out)
    assert r.returncode == 0, r.stderr
    with open(out, encoding="utf-8") as f:
        text = f.read()
    yield text, out
    shutil.rmtree(d, ignore_errors=True)


def test_checkout_percentiles(checkout_report):
    text, _ = checkout_report
    section = text[text.index('id="checkouts"'):text.index('id="top"')]
    assert "No checkout ended" not in section
    row = [l for l in section.splitlines() if l.startswith("<tr><td>ck&lt;db&gt; / ck&amp;user")]
    assert len(row) == 1, section[:3000]
    # 20 checkouts in 3 intervals (the NULL one had none); the window's
    # percentiles bounded by the highest interval's: p50 2.5 ms (interval
    # 3), p95 8 ms (1), p99 20 ms (3); max exact: 250 ms (4)
    cells = re.findall(r'<td class="n">([^<]*)</td>', row[0])
    assert cells == ["20", "3", "2.500", "8.000", "20.000", "250.000"], row[0]
    assert "upper bound" in section
    # the chart: p50/p95/p99/max in ms, the empty interval a gap (interval 1
    # alone a dot, 3 and 4 a line)
    chart = section[section.index("ck&lt;db&gt; / ck&amp;user: checkout duration"):]
    chart = chart[:chart.index("</svg>")]
    assert "checkout duration, ms (log scale)" in chart
    for name in ("p50", "p95", "p99", "max"):
        assert ">%s</text>" % name in chart, name
    assert chart.count("<polyline ") == 4 and chart.count("<circle ") == 4, chart
    # the log value axis: decades from the smallest value (p50 1 ms) to
    # the max (250 ms)
    assert ">1</text>" in chart and ">1000</text>" in chart, chart
    assert ">0.1</text>" not in chart and ">10000</text>" not in chart
    p = Page()
    p.feed(text)
    p.close()
    assert not p.errors and p.stack == [], (p.errors[:5], p.stack)


@needs_chromium
def test_checkouts_render_in_chromium(report, checkout_report):
    _, path = checkout_report
    colors = screenshot(path, "LG_KEEP_SCREENSHOT_CHECKOUTS", height=3200)
    assert len(colors) > 50, len(colors)
    # the same page without the checkout chart: the chart adds orange (max)
    # and green (p99) lines, dots and legend swatches
    before = screenshot(report[1], height=3200)
    orange = (0xff, 0x7f, 0x0e)
    assert colors.get(orange, 0) >= before.get(orange, 0) + 200, \
        (colors.get(orange, 0), before.get(orange, 0))
    assert colors.get(GREEN, 0) >= before.get(GREEN, 0) + 200, \
        (colors.get(GREEN, 0), before.get(GREEN, 0))


# The index advisor's planted workload (test_advisor.py): its fixtures
# build the tables, run the workload through pglifeguard and sample it.
from test_advisor import PLANTED, advised, store_dir  # noqa: E402,F401


def test_suggestions_with_dbname(advised, tmp_path):
    store, conninfo = advised
    out = str(tmp_path / "advised.html")
    r = cli("-s", store, "report", "-o", out, "--since", "1h", "-d", conninfo)
    assert r.returncode == 0, r.stderr
    text = open(out, encoding="utf-8").read()
    section = text[text.index('id="suggestions"'):]
    assert "Index suggestions for database lgtest" in section
    assert "report -d CONNINFO" not in section
    p = Page()
    p.feed(text)
    p.close()
    assert not p.errors and p.stack == [], (p.errors[:5], p.stack)
    cells = set(t.strip() for t in p.text)
    # every planted index, with its CREATE INDEX CONCURRENTLY statement
    for table, (key, where) in PLANTED.items():
        expected = "CREATE INDEX CONCURRENTLY ON %s (%s)%s;" % (
            table, key, " WHERE %s" % where if where else "")
        assert expected in cells, (expected, section[:4000])
    # escaped on the page: the partial index's quotes
    assert "WHERE status = &#39;open&#39;;" in section
    # the decoys get nothing
    assert "CREATE INDEX CONCURRENTLY ON public.adv_tiny" not in section
    assert "CREATE INDEX CONCURRENTLY ON public.adv_log" not in section
    # statements helped with their costs: the lower(email) one
    helped = section[section.index("public.adv_users (lower(email))"):]
    helped = helped[:helped.index("</table>")]
    assert "lower(email) = lower($1)" in helped
    costs = re.findall(r'<tr><td class="n">-?\d+</td><td class="n">([\d.]+)</td>'
                       r'<td class="n">([\d.]+)</td>', helped)
    assert costs and all(float(b) >= 2 * float(a) for b, a in costs), costs
    # unused and redundant indexes, with their sizes
    unused = section[section.index("<h3>Unused indexes</h3>"):
                     section.index("<h3>Redundant indexes</h3>")]
    assert "<td>public.adv_people_name_idx</td>" in unused, unused
    assert re.search(r'<td class="n">[\d.]+ (kB|MB)</td>', unused), unused
    redundant = section[section.index("<h3>Redundant indexes</h3>"):
                        section.index("Query suggestions")]
    row = [l for l in redundant.splitlines() if "<td>public.adv_people_name_idx</td>" in l]
    assert len(row) == 1 and "<td>public.adv_people_name_id_idx</td>" in row[0], redundant
    # query suggestions, checked against the database this time
    assert "need -d CONNINFO" not in section
    assert "Query suggestions" in section
    if shutil.which("chromium"):
        colors = screenshot(out, "LG_KEEP_SCREENSHOT_ADVISED")
        assert len(colors) > 50, len(colors)


def test_dbname_unreachable(report, tmp_path):
    _, _, store = report
    out = str(tmp_path / "none.html")
    r = cli("-s", store, "report", "-o", out, "-d", "host=127.0.0.1 port=1 dbname=x")
    assert r.returncode == 3 and "cannot connect" in r.stderr, r
    assert not os.path.exists(out)
