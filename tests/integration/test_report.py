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
    assert "Not available" in text[text.index('id="checkouts"'):text.index('id="top"')]
    locks = text[text.index('id="locks"'):text.index('id="leaks"')]
    assert "<svg " in locks and "Longest waits" in locks
    assert "UPDATE lg_report_t SET id = id WHERE id = " in locks
    assert "ShareLock" in locks
    leaks = text[text.index('id="leaks"'):text.index('id="alerts"')]
    assert "idle in transaction" in leaks
    alerts = text[text.index('id="alerts"'):text.index('id="suggestions"')]
    assert "pool_utilization" in alerts and "firing" in alerts and "resolved" in alerts
    assert "pglifeguard-cli suggest -d" in text[text.index('id="suggestions"'):]
    # the top table agrees with the store: the workload's 180 calls
    top = text[text.index('id="top"'):text.index('id="locks"')]
    calls = store_rows(store, "SELECT sum(s.calls) FROM statement_samples s JOIN statements t"
                       " USING (queryid, userid, dbid) WHERE t.query = ?", (STORED,))[0][0]
    assert calls == 180, calls
    row = [l for l in top.splitlines() if "lg_report_t WHERE id = $1" in l and "<tr>" in l]
    assert len(row) == 1, top[-3000:]
    assert '<td class="n">180</td>' in row[0], row


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
    assert "<svg " not in text


@pytest.mark.skipif(not shutil.which("chromium"),
                    reason="chromium not installed (optional in contrib/deps.sh)")
def test_renders_in_chromium(report):
    _, path, _ = report
    d = tempfile.mkdtemp(prefix="lg-chromium.", dir="/tmp")
    png = os.path.join(d, "report.png")
    try:
        r = subprocess.run(
            ["chromium", "--headless", "--no-sandbox", "--disable-gpu",
             "--user-data-dir=" + os.path.join(d, "profile"), "--screenshot=" + png,
             "--window-size=1280,2400", "file://" + path],
            capture_output=True, text=True, timeout=120, env=dict(os.environ, HOME=d))
        assert os.path.exists(png), r.stderr[-2000:]
        assert os.path.getsize(png) > 20000, os.path.getsize(png)
        w, h, rows = png_pixels(png)
        assert (w, h) == (1280, 2400)
        colors = {}
        for row in rows:
            for px in row:
                colors[px] = colors.get(px, 0) + 1
        assert len(colors) > 50, len(colors)
        # series colors: a legend swatch is 120 pixels (12 x 10); blue has
        # one in each of the three charts (360), red and green one in two
        # (240): counts well above that are the lines themselves
        blue, red, green = (0x1f, 0x77, 0xb4), (0xd6, 0x27, 0x28), (0x2c, 0xa0, 0x2c)
        assert colors.get(red, 0) >= 240, colors.get(red, 0)
        assert colors.get(green, 0) >= 2 * 240, colors.get(green, 0)
        assert colors.get(blue, 0) >= 1500, colors.get(blue, 0)
        if os.environ.get("LG_KEEP_SCREENSHOT"):
            shutil.copy(png, os.environ["LG_KEEP_SCREENSHOT"])
    finally:
        shutil.rmtree(d, ignore_errors=True)
