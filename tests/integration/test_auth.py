"""Client authentication against userlist.txt for every auth_type and kind
of stored secret (plain text, md5, SCRAM), and the pooler's own login to
PostgreSQL with the same secret, including SCRAM pass-through."""

import contextlib

import psycopg2
import pytest

from support import pgbouncer_differs, per_pooler, running_pooler

# AuthenticationRequest codes.
OK, CLEARTEXT, MD5, SASL = 0, 3, 5, 10

# PgBouncer 1.18 answers every login failure with its own 08P01.
BAD_PASSWORD = per_pooler("28P01", "08P01")
NO_DATABASE = per_pooler("3D000", "08P01")

AUTH_TYPES = ["trust", "plain", "md5", "scram-sha-256"]


@pytest.fixture(scope="module", params=AUTH_TYPES)
def auth_pooler(request, cluster):
    with running_pooler(cluster, auth_type=request.param, pool_mode="transaction") as pooler:
        yield pooler


def auth_type(pooler):
    return pooler.settings["auth_type"]


# (auth_type, user) -> the AuthenticationRequest the pooler must send.
CHALLENGE = {
    ("trust", "lg_plain"): OK, ("trust", "lg_md5"): OK,
    ("plain", "lg_plain"): CLEARTEXT, ("plain", "lg_md5"): CLEARTEXT,
    ("plain", "lg_scram"): CLEARTEXT,
    ("md5", "lg_plain"): MD5, ("md5", "lg_md5"): MD5,
    # md5 with a SCRAM secret in userlist: SCRAM is used instead.
    ("md5", "lg_scram"): SASL,
    ("scram-sha-256", "lg_plain"): SASL, ("scram-sha-256", "lg_scram"): SASL,
}


@pytest.mark.parametrize("auth_pooler, user", list(CHALLENGE), indirect=["auth_pooler"])
def test_challenge_type(auth_pooler, user):
    w = auth_pooler.wire()
    try:
        assert w.auth_request(user, "lgtest") == CHALLENGE[(auth_type(auth_pooler), user)]
    finally:
        w.close()


# The combinations that must log in, and then reach PostgreSQL with the
# secret from userlist.txt. trust/lg_scram is missing: with no password from
# the client, a SCRAM secret alone cannot log in to the server.
LOGINS = [
    ("trust", "lg_plain"), ("trust", "lg_md5"),
    ("plain", "lg_plain"), ("plain", "lg_md5"),
    # The cleartext password the client sent, checked against the SCRAM
    # secret, is enough to log in to PostgreSQL with SCRAM.
    pytest.param("plain", "lg_scram", marks=pgbouncer_differs(
        "cannot log in to the server with a SCRAM secret after plain client auth"
        " ('server login failed: wrong password type')")),
    ("md5", "lg_plain"), ("md5", "lg_md5"), ("md5", "lg_scram"),
    ("scram-sha-256", "lg_plain"), ("scram-sha-256", "lg_scram"),
]


@pytest.mark.parametrize("auth_pooler, user", LOGINS, indirect=["auth_pooler"])
def test_login_and_query(auth_pooler, user):
    pooler = auth_pooler
    w, err = pooler.login(user)
    assert err is None, err
    try:
        msgs = w.query("SELECT current_user, pg_backend_pid()")
        rows = [r for t, r in msgs if t == "D"]
        assert len(rows) == 1 and user.encode() in rows[0]
    finally:
        w.close()
    # And through libpq, which picks the method on its own.
    assert pooler.query("SELECT current_user", user=user) == [(user,)]


@pytest.mark.parametrize("user", ["lg_plain", "lg_md5", "lg_scram"])
def test_wrong_password(auth_pooler, user):
    if auth_type(auth_pooler) == "trust":
        w, err = auth_pooler.login("lg_plain", password="not-the-password")
        assert err is None, "trust ignores the password"
        w.close()
        return
    _, err = auth_pooler.login(user, password="not-the-password")
    assert err is not None
    assert err["C"] == BAD_PASSWORD, err
    assert "authentication failed" in err["M"], err
    with pytest.raises(psycopg2.OperationalError) as exc:
        auth_pooler.connect(user=user, password="not-the-password")
    assert "authentication failed" in str(exc.value)


def test_unknown_user(auth_pooler):
    _, err = auth_pooler.login("lg_nobody", password="whatever")
    assert err is not None
    if auth_type(auth_pooler) == "trust":
        assert err["C"] == per_pooler("28000", "08P01"), err
        assert "authentication failed" in err["M"], err
    else:
        # Same answer as a wrong password: user names are not revealed.
        assert err["C"] == BAD_PASSWORD, err
        assert "authentication failed" in err["M"], err


def test_unknown_database(auth_pooler):
    _, err = auth_pooler.login("lg_plain", dbname="lg_no_such_db")
    assert err is not None
    assert err["C"] == NO_DATABASE, err
    assert "no such database" in err["M"], err


def test_scram_auth_with_md5_secret_fails(make_pooler):
    pooler = make_pooler(auth_type="scram-sha-256")
    _, err = pooler.login("lg_md5")
    assert err is not None
    assert err["C"] == BAD_PASSWORD, err


def test_trust_with_scram_secret_cannot_log_in_to_server(make_pooler):
    """Without a password from the client a SCRAM secret cannot answer the
    server's challenge: the client gets an error, not a hang."""
    pooler = make_pooler(auth_type="trust")
    _, err = pooler.login("lg_scram")
    assert err is not None
    assert err["C"][:2] in ("08", "28"), err


def test_scram_pass_through_uses_client_proof(make_pooler):
    """userlist holds only lg_scram's SCRAM secret, yet the pooler logs in
    to PostgreSQL (which demands scram-sha-256) as lg_scram."""
    pooler = make_pooler(auth_type="scram-sha-256", pool_mode="session")
    with contextlib.closing(pooler.connect(user="lg_scram")) as conn, conn.cursor() as cur:
        cur.execute("SELECT current_user, pg_backend_pid()")
        user, pid = cur.fetchone()
        assert user == "lg_scram"
        # pg_hba.conf of the test cluster accepts lg_scram over TCP with
        # scram-sha-256 only, so this server connection used SCRAM.
        assert pooler.server_pids(usename="lg_scram") == [pid]


def test_admin_console_needs_admin_user(make_pooler):
    pooler = make_pooler()
    rows = pooler.admin("SHOW DATABASES")
    assert {"lgtest", "postgres", "pgbouncer"} <= {r["name"] for r in rows}
    with pytest.raises(psycopg2.Error):
        with contextlib.closing(pooler.connect(dbname="pgbouncer")) as conn, conn.cursor() as cur:
            cur.execute("SHOW POOLS")
