"""What the integration tests share: the pooler under test, per-pooler
expectations, and handles on the PostgreSQL cluster and on a pooler.

POOLER=pglifeguard (default, binary $PGLIFEGUARD) or POOLER=pgbouncer runs
the same tests against PgBouncer 1.18; `per_pooler(...)` holds the few
expected values where 1.18 answers differently (it sends SQLSTATE 08P01 for
every error of its own) and `pgbouncer_differs(reason)` skips assertions
PgBouncer 1.18 cannot meet."""

import contextlib
import os
import resource
import shlex
import signal
import socket
import subprocess
import time

import psycopg2
import pytest

import wire

HERE = os.path.dirname(os.path.abspath(__file__))
HARNESS = os.path.join(os.path.dirname(HERE), "harness")
POOLER = os.environ.get("POOLER", "pglifeguard")
ON_PGBOUNCER = POOLER == "pgbouncer"


def per_pooler(pglifeguard, pgbouncer):
    """The expected value for the pooler under test."""
    return pgbouncer if ON_PGBOUNCER else pglifeguard


def pgbouncer_differs(reason):
    """Skip a test (or parameter) that PgBouncer 1.18 fails for a real reason."""
    return pytest.mark.skipif(ON_PGBOUNCER, reason="PgBouncer 1.18 " + reason)


def exports(text):
    env = {}
    for line in text.splitlines():
        if line.startswith("export "):
            key, _, value = line[len("export ") :].partition("=")
            env[key] = shlex.split(value)[0] if value else ""
    return env


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def wait_for(predicate, timeout, interval=0.1):
    """Poll `predicate` until it returns a true value or `timeout` passes;
    returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


def temp_dir(prefix):
    """Yields a new directory under /tmp that the pooler can write (it may
    run as postgres when the harness runs as root), removed afterwards:
    the body of the store_dir fixtures."""
    import shutil
    import tempfile
    d = tempfile.mkdtemp(prefix=prefix, dir="/tmp")
    os.chmod(d, 0o777)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def wait_baseline(store, timeout=30):
    """Waits until the monitor writing STORE has taken its first
    pg_stat_statements sample (the baseline: calls made before it are not
    counted) and written an interval after it. A workload meant to be
    counted starts after this."""
    import sqlite3

    def ready():
        if not os.path.exists(store):
            return False
        db = sqlite3.connect("file:%s?mode=ro" % store, uri=True)
        try:
            return db.execute("SELECT count(*) FROM sample_intervals").fetchone()[0] > 0
        except sqlite3.Error:
            return False
        finally:
            db.close()
    return wait_for(ready, timeout)


class Cluster:
    """The PostgreSQL cluster of pg.sh. The superuser connects over its
    private unix socket with trust; the test roles over TCP with passwords."""

    def __init__(self, env):
        self.env = {k: v for k, v in env.items() if k.startswith("LG_")}
        self.dir = env["LG_PG_DIR"]
        self.port = int(env["LG_PG_PORT"])
        self.host = env["LG_PG_HOST"]
        self.bindir = env["LG_PG_BINDIR"]
        self.passwords = {
            "lg_plain": env["LG_PLAIN_PASSWORD"],
            "lg_md5": env["LG_MD5_PASSWORD"],
            "lg_scram": env["LG_SCRAM_PASSWORD"],
        }

    def connect(self, dbname="lgtest"):
        conn = psycopg2.connect(host=self.host, port=self.port, user="postgres",
                                dbname=dbname, connect_timeout=10)
        conn.autocommit = True
        return conn

    def query(self, sql, args=None, dbname="lgtest"):
        with contextlib.closing(self.connect(dbname)) as conn, conn.cursor() as cur:
            cur.execute(sql, args)
            return cur.fetchall() if cur.description else None

    def restart(self):
        subprocess.run(["bash", os.path.join(HARNESS, "pg.sh"), "restart", self.dir],
                       check=True, timeout=120)


class Pooler:
    """One running pooler. Connections default to lg_plain on lgtest."""

    def __init__(self, cluster, env, settings):
        self.cluster = cluster
        self.settings = settings
        self.dir = env["LG_POOLER_DIR"]
        self.port = int(env["LG_POOLER_PORT"])
        self.pid = int(env["LG_POOLER_PID"])
        self.sockdir = env["LG_POOLER_SOCKDIR"]
        self.ini = env["LG_POOLER_INI"]
        self.logfile = env["LG_POOLER_LOG"]
        self.admin_password = env["LG_ADMIN_PASSWORD"]
        self.stopped = False

    # connections

    def password(self, user):
        return self.cluster.passwords.get(user, self.admin_password)

    def dsn(self, user="lg_plain", dbname="lgtest", password=None, **kw):
        params = dict(host="127.0.0.1", port=self.port, user=user, dbname=dbname,
                      password=self.password(user) if password is None else password,
                      connect_timeout=10)
        params.update(kw)
        return params

    def connect(self, user="lg_plain", dbname="lgtest", password=None, autocommit=True, **kw):
        """A psycopg2 connection through the pooler (autocommit unless told)."""
        conn = psycopg2.connect(**self.dsn(user, dbname, password, **kw))
        conn.autocommit = autocommit
        return conn

    def query(self, sql, args=None, **kw):
        """Run one statement on a fresh connection and return its rows."""
        with contextlib.closing(self.connect(**kw)) as conn, conn.cursor() as cur:
            cur.execute(sql, args)
            return cur.fetchall() if cur.description else None

    def admin(self, command):
        """Rows of an admin-console command as dicts (simple protocol)."""
        with contextlib.closing(self.connect(user="lg_admin", dbname="pgbouncer")) as conn:
            with conn.cursor() as cur:
                cur.execute(command)
                if cur.description is None:
                    return []
                names = [d[0] for d in cur.description]
                return [dict(zip(names, row)) for row in cur.fetchall()]

    def wire(self, timeout=10.0):
        return wire.Wire("127.0.0.1", self.port, timeout=timeout)

    def client_env(self, user="lg_plain", dbname="lgtest"):
        """Environment for psql and pgbench through the pooler."""
        env = dict(os.environ, PGHOST="127.0.0.1", PGPORT=str(self.port), PGUSER=user,
                   PGDATABASE=dbname, PGPASSWORD=self.password(user), PGCONNECT_TIMEOUT="10")
        env.pop("PGSERVICE", None)
        return env

    def psql(self, *args, user="lg_plain", dbname="lgtest", timeout=60):
        return subprocess.run([os.path.join(self.cluster.bindir, "psql"), "-X", *args],
                              env=self.client_env(user, dbname), capture_output=True,
                              text=True, timeout=timeout)

    # process

    def log(self):
        try:
            with open(self.logfile, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def alive(self):
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        # A zombie (exited, not yet reaped by init) counts as gone.
        try:
            with open("/proc/%d/stat" % self.pid) as f:
                return f.read().split(") ")[1][0] != "Z"
        except OSError:
            return False

    def wait_exit(self, timeout):
        return wait_for(lambda: not self.alive(), timeout)

    def signal(self, sig):
        os.kill(self.pid, sig)

    def _server_ports(self):
        """Local ports of this pooler's TCP connections to the cluster,
        found through /proc (pid's socket inodes in /proc/net/tcp)."""
        inodes = set()
        fddir = "/proc/%d/fd" % self.pid
        for fd in os.listdir(fddir):
            try:
                link = os.readlink(os.path.join(fddir, fd))
            except OSError:
                continue
            if link.startswith("socket:["):
                inodes.add(link[len("socket:["):-1])
        ports = []
        with open("/proc/net/tcp") as f:
            for line in f.readlines()[1:]:
                cols = line.split()
                local, remote, state, inode = cols[1], cols[2], cols[3], cols[9]
                if (inode in inodes and state == "01"
                        and int(remote.split(":")[1], 16) == self.cluster.port):
                    ports.append(int(local.split(":")[1], 16))
        return ports

    def server_pids(self, usename="lg_plain", dbname="lgtest"):
        """Backend pids of this pooler's server connections for usename/dbname."""
        ports = self._server_ports()
        if not ports:
            return []
        rows = self.cluster.query(
            "SELECT pid FROM pg_stat_activity WHERE client_port = ANY(%s)"
            " AND client_addr = '127.0.0.1' AND usename = %s AND datname = %s",
            (ports, usename, dbname))
        return sorted(r[0] for r in rows)

    def servers(self, usename="lg_plain", dbname="lgtest"):
        """How many server connections this pooler holds for usename/dbname."""
        return len(self.server_pids(usename, dbname))

    def login(self, user="lg_plain", dbname="lgtest", password=None, **params):
        """Log in with the raw client; returns (Wire, None) or (None, error
        fields) when the pooler refuses the login."""
        w = self.wire()
        try:
            err = w.login(user, dbname, self.password(user) if password is None else password,
                          **params)
        except wire.Closed:
            err = {"C": None, "M": "closed without an ErrorResponse"}
        if err is not None:
            w.close()
            return None, err
        return w, None

    def accepts(self):
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
            return True
        except OSError:
            return False

    def reload(self, databases=None):
        """Add `databases` ({name: connstr}) to [databases] and send SIGHUP."""
        with open(self.ini) as f:
            text = f.read()
        extra = "".join("%s = %s\n" % item for item in (databases or {}).items())
        text = text.replace("[databases]\n", "[databases]\n" + extra, 1)
        with open(self.ini, "w") as f:
            f.write(text)
        self.signal(signal.SIGHUP)

    def stop(self):
        """Stop and clean up; returns pooler.sh's status and its stderr."""
        if self.stopped:
            return 0, ""
        self.stopped = True
        proc = subprocess.run(["bash", os.path.join(HARNESS, "pooler.sh"), "stop", self.dir],
                              capture_output=True, text=True, timeout=60)
        return proc.returncode, proc.stderr


ACTIVE_POOLERS = []


def start_pooler(cluster, settings):
    """Start a pooler with `settings`: {key: value} for [pgbouncer], plus
    optional 'databases' {name: connstr} and 'users' {name: settings}."""
    settings = dict(settings)
    args = ["db:%s=%s" % item for item in settings.pop("databases", {}).items()]
    args += ["user:%s=%s" % item for item in settings.pop("users", {}).items()]
    args += ["%s=%s" % item for item in settings.items()]
    env = dict(os.environ)
    env.update(cluster.env)
    env["POOLER"] = POOLER
    env["LG_OWNER_PID"] = str(os.getpid())
    proc = subprocess.run(["bash", os.path.join(HARNESS, "pooler.sh"), "start", *args],
                          env=env, capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        pytest.fail("could not start %s:\n%s" % (POOLER, proc.stderr), pytrace=False)
    pooler = Pooler(cluster, exports(proc.stdout), settings)
    ACTIVE_POOLERS.append(pooler)
    return pooler


def finish_pooler(pooler):
    """Stop `pooler`; fails the test if its log holds a sanitizer report."""
    if pooler in ACTIVE_POOLERS:
        ACTIVE_POOLERS.remove(pooler)
    log = pooler.log()
    rc, err = pooler.stop()
    if rc != 0:
        pytest.fail("%s did not stop cleanly (pooler.sh stop: %d):\n%s\n--- log tail ---\n%s"
                    % (POOLER, rc, err, log[-4000:]), pytrace=False)


@contextlib.contextmanager
def running_pooler(cluster, **settings):
    """A pooler for the duration of a `with` block (module fixtures)."""
    pooler = start_pooler(cluster, settings)
    try:
        yield pooler
    finally:
        finish_pooler(pooler)
