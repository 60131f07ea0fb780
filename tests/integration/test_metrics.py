"""The metrics_listen HTTP server: /metrics values move with the traffic,
/health, error statuses, hostile requests, and promtool's opinion of the
exposition text. pglifeguard only (PgBouncer has no HTTP endpoint)."""

import contextlib
import re
import shutil
import signal
import socket
import subprocess
import threading
import time

import psycopg2
import pytest

from support import ON_PGBOUNCER, running_pooler, wait_for

pytestmark = pytest.mark.skipif(ON_PGBOUNCER, reason="PgBouncer has no metrics endpoint")

POOL = {"database": "lgtest", "user": "lg_plain"}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_raw(port, data, timeout=10.0, close_write=False):
    """Send DATA, read until the server closes; returns the raw answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        if close_write:
            s.shutdown(socket.SHUT_WR)
        chunks = []
        while True:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)


def parse_response(raw):
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, body


def http(port, method="GET", path="/metrics"):
    raw = http_raw(port, ("%s %s HTTP/1.1\r\nHost: localhost\r\n\r\n" % (method, path)).encode())
    return parse_response(raw)


SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_metrics(text):
    """{(name, frozenset(labels.items())): value}, and {name: type}."""
    samples, types = {}, {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split()
            types[name] = kind
            continue
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        assert m, "bad sample line: %r" % line
        labels = frozenset(LABEL.findall(m.group(2) or ""))
        key = (m.group(1), labels)
        assert key not in samples, "duplicate sample %r" % line
        samples[key] = float(m.group(3))
    return samples, types


def scrape(port):
    status, headers, body = http(port)
    assert status == 200
    assert headers["content-type"].startswith("text/plain; version=0.0.4")
    assert int(headers["content-length"]) == len(body)
    return parse_metrics(body.decode())[0]


def value(samples, name, **labels):
    labels = dict(POOL, **labels) if name.startswith("pglifeguard_pool") else labels
    return samples.get((name, frozenset(labels.items())), 0.0)


@pytest.fixture(scope="module")
def metrics_pooler(cluster):
    port = free_port()
    with running_pooler(cluster, pool_mode="transaction",
                        metrics_listen="127.0.0.1:%d" % port) as pooler:
        pooler.metrics_port = port
        yield pooler


def test_health(metrics_pooler):
    status, headers, body = http(metrics_pooler.metrics_port, path="/health")
    assert (status, body) == (200, b"ok\n")
    assert headers["connection"] == "close"
    status, headers, body = http(metrics_pooler.metrics_port, method="HEAD", path="/health")
    assert (status, body) == (200, b"")
    assert headers["content-length"] == "3"


def test_metrics_move_with_traffic(metrics_pooler):
    port = metrics_pooler.metrics_port
    metrics_pooler.query("SELECT 1")  # the pool exists from here on
    before = scrape(port)
    with contextlib.closing(metrics_pooler.connect()) as conn, conn.cursor() as cur:
        for i in range(3):
            cur.execute("SELECT pg_sleep(0.01), %s", (i,))
        with pytest.raises(psycopg2.errors.UndefinedTable):
            cur.execute("SELECT * FROM lg_no_such_table")
    after = scrape(port)

    def moved(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert value(after, "pglifeguard_up") == 1
    assert value(after, "pglifeguard_max_client_conn") > 0
    assert moved("pglifeguard_pool_transactions_total") >= 4
    assert moved("pglifeguard_pool_queries_total") >= 4
    assert moved("pglifeguard_pool_received_bytes_total") > 0
    assert moved("pglifeguard_pool_sent_bytes_total") > 0
    assert moved("pglifeguard_pool_server_assignments_total") >= 4
    assert moved("pglifeguard_pool_leaks_total") == 0  # exported; nothing leaked here
    assert moved("pglifeguard_pool_errors_total", **{"class": "42"}) == 1
    assert value(after, "pglifeguard_pool_size") == 5  # the harness default
    for hist in ("query", "transaction", "wait", "checkout"):
        name = "pglifeguard_pool_%s_duration_seconds" % hist
        assert moved(name + "_count") >= 4, hist
        assert value(after, name + "_bucket", le="+Inf") == value(after, name + "_count")
    # three queries slept 10 ms each: at least that much query time, and
    # those three are above the 8.192 ms bucket bound
    assert moved("pglifeguard_pool_query_duration_seconds_sum") >= 0.03
    q = "pglifeguard_pool_query_duration_seconds"
    above = moved(q + "_count") - moved(q + "_bucket", le="0.008192")
    assert above >= 3
    # buckets are cumulative
    buckets = sorted((float(dict(k[1])["le"]), v) for k, v in after.items()
                     if k[0] == q + "_bucket" and dict(k[1])["le"] != "+Inf"
                     and dict(k[1])["database"] == "lgtest")
    counts = [v for _, v in buckets]
    assert counts == sorted(counts) and len(counts) == 33


def test_error_classes_small_and_huge(metrics_pooler):
    port = metrics_pooler.metrics_port
    metrics_pooler.query("SELECT 1")
    before = scrape(port)
    with contextlib.closing(metrics_pooler.connect()) as conn, conn.cursor() as cur:
        with pytest.raises(psycopg2.errors.DivisionByZero):
            cur.execute("SELECT 1/0")
        # an ErrorResponse of ~20 kB: its class is read from what arrived first
        with pytest.raises(psycopg2.errors.InvalidTextRepresentation):
            cur.execute("SELECT repeat('x', 20000)::int")
        with pytest.raises(psycopg2.errors.RaiseException):
            cur.execute("DO $$BEGIN RAISE EXCEPTION 'boom'; END$$")
        cur.execute("SELECT 1")
    after = scrape(port)

    def moved(cls):
        name = "pglifeguard_pool_errors_total"
        return value(after, name, **{"class": cls}) - value(before, name, **{"class": cls})

    assert (moved("22"), moved("P0"), moved("??")) == (2, 1, 0)


def test_slow_reader_gets_the_whole_answer(metrics_pooler):
    """A scraper that reads slowly through a tiny receive buffer: the
    server writes as the socket allows, the pooler keeps pooling."""
    port = metrics_pooler.metrics_port
    expected = len(http(port)[2])
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
    s.settimeout(10)
    s.connect(("127.0.0.1", port))
    try:
        s.sendall(b"GET /metrics HTTP/1.1\r\n\r\n")
        time.sleep(0.3)
        assert metrics_pooler.query("SELECT 7") == [(7,)]
        chunks = []
        while True:
            chunk = s.recv(512)
            if not chunk:
                break
            chunks.append(chunk)
            time.sleep(0.001)
    finally:
        s.close()
    status, headers, body = parse_response(b"".join(chunks))
    assert status == 200 and len(body) == int(headers["content-length"])
    assert abs(len(body) - expected) < 200  # counters may have grown a digit or two


def test_saturated_pool_waiting_gauge(make_pooler):
    port = free_port()
    pooler = make_pooler(pool_mode="transaction", default_pool_size=1,
                         metrics_listen="127.0.0.1:%d" % port)
    holder = pooler.connect(autocommit=False)
    waiter = pooler.connect()
    try:
        with holder.cursor() as cur:
            cur.execute("SELECT 1")
        result = {}

        def wait_query():
            with waiter.cursor() as cur:
                cur.execute("SELECT 'served'")
                result["value"] = cur.fetchone()[0]

        job = threading.Thread(target=wait_query)
        job.start()

        def waiting():
            s = scrape(port)
            return s if value(s, "pglifeguard_pool_clients", state="waiting") == 1 else None

        s = wait_for(waiting, 10)
        assert s, "no waiting client in the metrics"
        assert value(s, "pglifeguard_pool_clients", state="active") == 1
        assert value(s, "pglifeguard_pool_servers", state="active") == 1
        assert value(s, "pglifeguard_pool_servers", state="idle") == 0
        assert value(s, "pglifeguard_pool_size") == 1
        time.sleep(0.05)
        s = scrape(port)
        assert 0.05 <= value(s, "pglifeguard_pool_max_wait_seconds") < 10
        before = value(s, "pglifeguard_pool_wait_duration_seconds_sum")
        holder.commit()
        job.join(10)
        assert result.get("value") == "served"
        s = scrape(port)
        assert value(s, "pglifeguard_pool_clients", state="waiting") == 0
        assert value(s, "pglifeguard_pool_max_wait_seconds") == 0
        # the waiter's wait went into the histogram, microsecond resolution
        assert value(s, "pglifeguard_pool_wait_duration_seconds_sum") - before >= 0.05
        checkout = value(s, "pglifeguard_pool_checkout_duration_seconds_sum")
        assert checkout >= 0.05
    finally:
        holder.close()
        waiter.close()


@pytest.mark.parametrize("request_bytes, status", [
    (b"GET /nothing HTTP/1.1\r\n\r\n", 404),
    (b"GET / HTTP/1.0\r\n\r\n", 404),
    (b"POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n", 405),
    (b"DELETE /health HTTP/1.1\r\n\r\n", 405),
    (b"garbage\r\n\r\n", 400),
    (b"GET /metrics HTTP/2.0\r\n\r\n", 400),
    (b"GET metrics HTTP/1.1\r\n\r\n", 400),
    (b"GET /metrics HTTP/1.1\r\nno colon here\r\n\r\n", 400),
    (b"GET /metrics HTTP/1.1\r\nX: \x00\r\n\r\n", 400),
    (b"\r\n\r\n", 400),
    (b"GET /health?verbose=1 HTTP/1.1\n\n", 200),
])
def test_status_codes(metrics_pooler, request_bytes, status):
    raw = http_raw(metrics_pooler.metrics_port, request_bytes)
    got, headers, _ = parse_response(raw)
    assert got == status
    assert headers["connection"] == "close"
    if status == 405:
        assert headers["allow"] == "GET, HEAD"


def test_hostile_requests_do_not_hurt(metrics_pooler):
    port = metrics_pooler.metrics_port
    # larger than the 8 kB limit, never finished
    raw = http_raw(port, b"GET /metrics HTTP/1.1\r\nX-Fill: " + b"a" * 9000)
    assert parse_response(raw)[0] == 431
    # random bytes, then the peer goes away half-way
    http_raw(port, bytes(range(256)) * 4, close_write=True)
    # a request followed by a half-close is answered; an unfinished one is a 400
    raw = http_raw(port, b"GET /health HTTP/1.0\r\n\r\n", close_write=True)
    assert parse_response(raw)[0] == 200
    raw = http_raw(port, b"GET /health HTTP/1.0\r\n", close_write=True)
    assert parse_response(raw)[0] == 400
    # a body we do not read: the answer still arrives before the close
    raw = http_raw(port, b"POST /metrics HTTP/1.1\r\nContent-Length: 20000\r\n\r\n"
                   + b"x" * 20000)
    assert parse_response(raw)[0] == 405
    # connect and leave at once
    socket.create_connection(("127.0.0.1", port), timeout=10).close()
    # a request dribbled in pieces is still served
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        for piece in (b"GET /hea", b"lth HTTP/1.1\r", b"\nHost: x\r\n", b"\r\n"):
            s.sendall(piece)
            time.sleep(0.02)
        assert s.recv(4096).startswith(b"HTTP/1.1 200 OK\r\n")
    # idle connections that send nothing do not block the others
    idle = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(5)]
    try:
        assert http(port, path="/health")[0] == 200
        # the pooler still pools
        assert metrics_pooler.query("SELECT 42") == [(42,)]
    finally:
        for s in idle:
            s.close()
    # many connections at once (more than it serves together) are all answered or closed
    socks = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(80)]
    for s in socks:
        s.close()
    assert http(port, path="/health")[0] == 200
    assert metrics_pooler.alive()


def test_promtool_check_metrics(metrics_pooler):
    promtool = shutil.which("promtool")
    if not promtool:
        pytest.skip("promtool not installed (Debian package: prometheus)")
    with contextlib.closing(metrics_pooler.connect()) as conn, conn.cursor() as cur:
        cur.execute("SELECT 1")
        with pytest.raises(psycopg2.Error):
            cur.execute("SELECT 1/0")
    status, _, body = http(metrics_pooler.metrics_port)
    assert status == 200
    proc = subprocess.run([promtool, "check", "metrics"], input=body, capture_output=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stdout.decode() + proc.stderr.decode()
    assert b"pglifeguard_pool_errors_total" in body and b'class="22"' in body


def test_metrics_listen_bad_value_fails_startup(cluster):
    from support import start_pooler
    with pytest.raises(pytest.fail.Exception) as exc:
        start_pooler(cluster, {"metrics_listen": "no-port-here"})
    assert "metrics_listen" in str(exc.value)


def test_health_503_while_shutting_down(make_pooler):
    port = free_port()
    pooler = make_pooler(pool_mode="session", metrics_listen="127.0.0.1:%d" % port)
    conn = pooler.connect()
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1")
        assert http(port, path="/health")[0] == 200
        # SIGTERM: the pooler waits for its clients, and says so
        pooler.signal(signal.SIGTERM)
        assert wait_for(lambda: http(port, path="/health")[0] == 503, 5)
        status, _, body = http(port, path="/health")
        assert (status, body) == (503, b"shutting down\n")
        s = scrape(port)
        assert value(s, "pglifeguard_shutting_down") == 1
    finally:
        conn.close()
    assert pooler.wait_exit(15), "still running after its last client left"
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


def test_idle_connection_is_closed(metrics_pooler):
    """A peer that connects and sends nothing is let go after 10 s."""
    s = socket.create_connection(("127.0.0.1", metrics_pooler.metrics_port), timeout=20)
    try:
        s.sendall(b"GET /metr")
        start = time.monotonic()
        assert s.recv(100) == b""
        assert 9 <= time.monotonic() - start < 15
    finally:
        s.close()
