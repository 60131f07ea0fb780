/* Unit tests for pool.c's checkout logic with real loop, pool, client and
 * server objects but no PostgreSQL: servers and clients are socketpair ends
 * put in their states by hand. Covers linking an idle server at once, the
 * FIFO wait queue, most-recently-released reuse, pause, size limits and the
 * reserve, the check and SET paths, and pool mode precedence. Every server
 * address points at a directory with no socket in it, so a launch fails at
 * once and harmlessly. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "client.h"
#include "config.h"
#include "conn.h"
#include "log.h"
#include "loop.h"
#include "pool.h"
#include "proto.h"
#include "server.h"

#define MAX_FAKES 32

static char tmpdir[] = "/tmp/check_pool.XXXXXX";
static char ini_path[512];
static struct loop loop;

/* Our socket ends and the test's ends, to see what was written. */
static struct {
	struct conn *conn;
	int peer;
} fakes[MAX_FAKES];
static int nfakes;

/* The pooler never sees traffic here (the loop is not run): these only
 * have to be safe if called. */
static enum pkt_action fake_packet(struct conn *c, uint8_t type, uint32_t len,
				   const uint8_t *body, uint32_t avail)
{
	return PKT_STOP;
}

static void fake_client_closed(struct conn *c, const char *reason)
{
	client_close(container_of(c, struct client, conn), reason);
}

static void fake_server_closed(struct conn *c, const char *reason)
{
	server_close(container_of(c, struct server, conn), reason);
}

static const struct conn_ops fake_client_ops = {
	.packet = fake_packet,
	.closed = fake_client_closed,
};

static const struct conn_ops fake_server_ops = {
	.packet = fake_packet,
	.closed = fake_server_closed,
};

static void setup(void)
{
	static const char ini[] =
		"[pgbouncer]\n"
		"auth_type = trust\n"
		"pool_mode = transaction\n"
		"default_pool_size = 7\n"
		"reserve_pool_size = 2\n"
		"reserve_pool_timeout = 1\n"
		"server_check_query =\n"
		"server_reset_query =\n"
		"server_lifetime = 0\n"
		"log_connections = 0\n"
		"log_disconnections = 0\n"
		"log_pooler_errors = 0\n"
		"\n"
		"[databases]\n"
		"fifo = host=%1$s pool_size=2 reserve_pool=0\n"
		"reserve = host=%1$s pool_size=1 reserve_pool=1\n"
		"wide = host=%1$s pool_size=5 reserve_pool=0\n"
		"capped = host=%1$s pool_size=5 reserve_pool=0 max_db_connections=1\n"
		"defaults = host=%1$s\n"
		"stmt = host=%1$s pool_mode=statement\n"
		"\n"
		"[users]\n"
		"sess = pool_mode=session\n"
		"plain = max_user_connections=3\n";
	struct config *cfg;
	FILE *f;

	log_max_level = LOG_LEVEL_ERROR;
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(ini_path, sizeof(ini_path), "%s/pglifeguard.ini", tmpdir);
	f = fopen(ini_path, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, ini, tmpdir);
	ck_assert_int_eq(fclose(f), 0);
	cfg = config_load(ini_path, stderr, stderr);
	ck_assert_msg(cfg != NULL, "config_load failed on %s", ini_path);
	ck_assert_int_eq(loop_init(&loop, cfg), 0);
	nfakes = 0;
}

static void teardown(void)
{
	loop_destroy(&loop);
	for (int i = 0; i < nfakes; i++)
		close(fakes[i].peer);
	nfakes = 0;
	unlink(ini_path);
	rmdir(tmpdir);
	strcpy(tmpdir, "/tmp/check_pool.XXXXXX");
}

/* --- fake objects ------------------------------------------------------------- */

/* new_socket returns our end of a fresh socketpair and records the other
 * end beside CONN. */
static int new_socket(struct conn *conn)
{
	int sv[2];

	ck_assert_int_lt(nfakes, MAX_FAKES);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
	fakes[nfakes].conn = conn;
	fakes[nfakes].peer = sv[1];
	nfakes++;
	return sv[0];
}

static int peer_of(const struct conn *conn)
{
	for (int i = 0; i < nfakes; i++)
		if (fakes[i].conn == conn)
			return fakes[i].peer;
	ck_abort_msg("no socket for this connection");
	return -1;
}

/* received reads what the pooler wrote to CONN's socket into BUF (at most
 * CAP bytes). Returns the byte count, 0 when nothing was written. */
static size_t received(const struct conn *conn, uint8_t *buf, size_t cap)
{
	ssize_t n = read(peer_of(conn), buf, cap);

	if (n < 0) {
		ck_assert_int_eq(errno, EAGAIN);
		return 0;
	}
	return (size_t)n;
}

static void expect_nothing_sent(const struct conn *conn)
{
	uint8_t buf[64];

	ck_assert_uint_eq(received(conn, buf, sizeof(buf)), 0);
}

/* get_pool returns the pool of DBNAME and USERNAME with its welcome ready
 * (as after a first server login). */
static struct pool *get_pool(const char *dbname, const char *username)
{
	struct database *db = pool_find_database(&loop, dbname);
	struct user *user;
	struct pool *pool;

	ck_assert_ptr_nonnull(db);
	user = pool_find_user(&loop, username);
	ck_assert_ptr_nonnull(user);
	pool = pool_get(&loop, db, user);
	ck_assert_ptr_nonnull(pool);
	pool->welcome_ready = true;
	return pool;
}

/* fake_server makes a logged-in server connection of POOL, idle. */
static struct server *fake_server(struct pool *pool)
{
	struct server *s = calloc(1, sizeof(*s));

	ck_assert_ptr_nonnull(s);
	conn_init(&s->conn, &loop, &fake_server_ops, new_socket(&s->conn));
	list_node_init(&s->node); /* not in any list yet */
	s->id = loop_next_id(&loop);
	s->pool = pool;
	s->txn_status = 'I';
	s->connect_mono = loop.now;
	s->request_time = loop.now;
	pool->db->server_count++;
	pool->user->server_count++;
	server_set_state(s, SERVER_IDLE);
	return s;
}

/* fake_client makes a logged-in client of POOL with no server. */
static struct client *fake_client(struct pool *pool)
{
	struct client *c = calloc(1, sizeof(*c));

	ck_assert_ptr_nonnull(c);
	conn_init(&c->conn, &loop, &fake_client_ops, new_socket(&c->conn));
	list_node_init(&c->node);
	c->id = loop_next_id(&loop);
	c->pool = pool;
	c->db = pool->db;
	c->user = pool->user;
	c->connect_mono = loop.now;
	c->request_time = loop.now;
	loop.client_count++;
	pool->db->client_count++;
	pool->user->client_count++;
	client_set_state(c, CLIENT_ACTIVE);
	return c;
}

/* release does what the end of a transaction does: unlink CLIENT from its
 * server and give the server back to the pool. Returns that server. */
static struct server *release(struct client *c)
{
	struct server *s = c->server;

	ck_assert_ptr_nonnull(s);
	conn_unlink(&c->conn);
	c->server = NULL;
	s->client = NULL;
	pool_release_server(s);
	return s;
}

static void expect_linked(const struct client *c, const struct server *s)
{
	ck_assert_int_eq(c->state, CLIENT_ACTIVE);
	ck_assert_ptr_eq(c->server, s);
	ck_assert_ptr_eq(s->client, c);
	ck_assert_int_eq(s->state, SERVER_ACTIVE);
	ck_assert_ptr_eq(c->conn.peer, &s->conn);
	ck_assert_ptr_eq(s->conn.peer, &c->conn);
}

static void expect_waiting(const struct client *c)
{
	ck_assert_int_eq(c->state, CLIENT_WAITING);
	ck_assert_ptr_null(c->server);
}

/* nth_waiting returns the I-th client of POOL's wait queue. */
static struct client *nth_waiting(struct pool *pool, int i)
{
	struct list_node *n = list_first(&pool->waiting_clients);

	while (n && i-- > 0)
		n = n->next == &pool->waiting_clients.head ? NULL : n->next;
	ck_assert_ptr_nonnull(n);
	return container_of(n, struct client, node);
}

/* --- checkout ------------------------------------------------------------------- */

START_TEST(test_idle_server_links_at_once)
{
	struct pool *pool = get_pool("fifo", "alice");
	struct server *s = fake_server(pool);
	struct client *c = fake_client(pool);

	ck_assert_int_eq(pool->idle_servers.count, 1);
	pool_request_server(pool, c);
	expect_linked(c, s);
	ck_assert_int_eq(pool->idle_servers.count, 0);
	ck_assert_int_eq(pool->active_servers.count, 1);
	ck_assert_int_eq(pool->waiting_clients.count, 0);
	ck_assert_int_eq(pool->active_clients.count, 1);
	ck_assert_uint_eq(pool->server_assignments, 1);
	ck_assert_int_eq(c->wait_start, 0);
	/* no check query, no SET, no new connection */
	expect_nothing_sent(&s->conn);
	ck_assert_int_eq(s->task, TASK_NONE);
	ck_assert_int_eq(pool->login_servers.count, 0);
	ck_assert_int_eq(pool->db->server_count, 1);
}
END_TEST

START_TEST(test_waiters_served_fifo)
{
	struct pool *pool = get_pool("fifo", "alice");
	struct client *c[5];
	struct server *s;

	fake_server(pool);
	fake_server(pool);
	for (int i = 0; i < 5; i++)
		c[i] = fake_client(pool);
	for (int i = 0; i < 5; i++)
		pool_request_server(pool, c[i]);
	ck_assert_ptr_nonnull(c[0]->server);
	ck_assert_ptr_nonnull(c[1]->server);
	for (int i = 2; i < 5; i++) {
		expect_waiting(c[i]);
		ck_assert_ptr_eq(nth_waiting(pool, i - 2), c[i]);
	}
	/* at pool_size, before the reserve timeout: no new connection tried */
	ck_assert_int_eq(pool->login_servers.count, 0);
	ck_assert_int_eq(pool->last_connect_failed, 0);
	ck_assert_int_eq(pool_server_count(pool), 2);

	/* each released server goes to the longest waiter */
	s = release(c[0]);
	expect_linked(c[2], s);
	ck_assert_ptr_null(c[0]->server);
	ck_assert_int_eq(c[0]->state, CLIENT_ACTIVE);
	expect_waiting(c[3]);
	expect_waiting(c[4]);
	ck_assert_int_eq(c[2]->wait_start, 0);

	s = release(c[1]);
	expect_linked(c[3], s);
	expect_waiting(c[4]);

	s = release(c[2]);
	expect_linked(c[4], s);
	ck_assert_int_eq(pool->waiting_clients.count, 0);

	/* nobody waits any more: back to idle */
	s = release(c[3]);
	ck_assert_int_eq(s->state, SERVER_IDLE);
	release(c[4]);
	ck_assert_int_eq(pool->idle_servers.count, 2);
	ck_assert_int_eq(pool->active_servers.count, 0);
	ck_assert_uint_eq(pool->server_assignments, 5);
}
END_TEST

START_TEST(test_most_recently_released_reused_first)
{
	struct pool *pool = get_pool("wide", "alice");
	struct client *c[6];
	struct server *sa, *sb, *sc;

	for (int i = 0; i < 3; i++)
		fake_server(pool);
	for (int i = 0; i < 6; i++)
		c[i] = fake_client(pool);
	for (int i = 0; i < 3; i++)
		pool_request_server(pool, c[i]);
	/* released in the order a, c, b */
	sa = release(c[0]);
	sc = release(c[2]);
	sb = release(c[1]);
	ck_assert_int_eq(pool->idle_servers.count, 3);
	/* handed out in the reverse order: the idle list is a stack, so the
	 * servers at the bottom age out through server_idle_timeout */
	pool_request_server(pool, c[3]);
	expect_linked(c[3], sb);
	pool_request_server(pool, c[4]);
	expect_linked(c[4], sc);
	pool_request_server(pool, c[5]);
	expect_linked(c[5], sa);
}
END_TEST

START_TEST(test_server_needing_close_skipped)
{
	struct pool *pool = get_pool("wide", "alice");
	struct server *first, *other;
	struct client *c;

	fake_server(pool);
	fake_server(pool);
	first = container_of(list_first(&pool->idle_servers), struct server, node);
	other = container_of(list_last(&pool->idle_servers), struct server, node);
	first->close_needed = true; /* e.g. the database entry changed on reload */
	c = fake_client(pool);
	pool_request_server(pool, c);
	ck_assert_int_eq(first->state, SERVER_CLOSED);
	expect_linked(c, other);
	ck_assert_int_eq(pool->db->server_count, 1);
}
END_TEST

/* --- release ---------------------------------------------------------------------- */

START_TEST(test_release_while_paused_closes)
{
	struct pool *pool = get_pool("fifo", "alice");
	struct server *s1 = fake_server(pool);
	struct server *s2;
	struct client *a = fake_client(pool);
	struct client *b = fake_client(pool);

	pool_request_server(pool, a);
	expect_linked(a, s1);
	s2 = fake_server(pool);
	loop_pause(&loop);
	/* PAUSE closes idle servers at once and the busy ones when released */
	ck_assert_int_eq(s2->state, SERVER_CLOSED);
	ck_assert_int_eq(s1->state, SERVER_ACTIVE);

	/* a new request waits, and no connection is opened for it */
	pool_request_server(pool, b);
	expect_waiting(b);
	ck_assert_int_eq(pool->login_servers.count, 0);
	ck_assert_int_eq(pool->last_connect_failed, 0);

	/* the released server is closed, not handed to the waiter */
	release(a);
	ck_assert_int_eq(s1->state, SERVER_CLOSED);
	expect_waiting(b);
	ck_assert_int_eq(pool_server_count(pool), 0);
	ck_assert_int_eq(pool->db->server_count, 0);
	ck_assert_int_eq(pool->user->server_count, 0);
	ck_assert_int_eq(loop.closed_servers.count, 2);
}
END_TEST

START_TEST(test_release_while_database_paused_closes)
{
	struct pool *pool = get_pool("fifo", "alice");
	struct pool *other_pool = get_pool("wide", "alice");
	struct server *s = fake_server(pool);
	struct server *other = fake_server(other_pool);
	struct client *a = fake_client(pool);
	struct client *b = fake_client(other_pool);

	pool_request_server(pool, a);
	pool_request_server(other_pool, b);
	pool->db->paused = true; /* PAUSE fifo */
	release(a);
	ck_assert_int_eq(s->state, SERVER_CLOSED);
	/* other databases are not affected */
	release(b);
	ck_assert_int_eq(other->state, SERVER_IDLE);
}
END_TEST

START_TEST(test_unclean_server_closed_on_release)
{
	struct pool *pool = get_pool("fifo", "alice");
	struct server *s = fake_server(pool);
	struct client *a = fake_client(pool);
	struct client *b = fake_client(pool);
	struct server *s2 = fake_server(pool);

	pool_request_server(pool, a);
	pool_request_server(pool, b);
	ck_assert_ptr_nonnull(a->server);
	ck_assert_ptr_nonnull(b->server);
	/* still in a transaction: never reused by someone else */
	a->server->txn_status = 'T';
	s = release(a);
	ck_assert_int_eq(s->state, SERVER_CLOSED);
	/* a request in flight is just as bad */
	b->server->pending_rfq = 1;
	s2 = release(b);
	ck_assert_int_eq(s2->state, SERVER_CLOSED);
	ck_assert_int_eq(pool_server_count(pool), 0);
}
END_TEST

/* --- limits -------------------------------------------------------------------------- */

START_TEST(test_size_limit)
{
	struct pool *fifo = get_pool("fifo", "alice");
	struct pool *reserve = get_pool("reserve", "alice");
	struct pool *defaults = get_pool("defaults", "alice");

	ck_assert_int_eq(pool_size_limit(fifo, false), 2);
	ck_assert_int_eq(pool_size_limit(fifo, true), 2);
	ck_assert_int_eq(pool_size_limit(reserve, false), 1);
	ck_assert_int_eq(pool_size_limit(reserve, true), 2);
	/* default_pool_size and reserve_pool_size from [pgbouncer] */
	ck_assert_int_eq(pool_size_limit(defaults, false), 7);
	ck_assert_int_eq(pool_size_limit(defaults, true), 9);
}
END_TEST

START_TEST(test_reserve_used_after_timeout)
{
	struct pool *pool = get_pool("reserve", "alice");
	struct server *s = fake_server(pool);
	struct client *a = fake_client(pool);
	struct client *b = fake_client(pool);

	pool_request_server(pool, a);
	expect_linked(a, s);
	pool_request_server(pool, b);
	expect_waiting(b);
	/* pool_size reached, the waiter is fresh: no new connection */
	ck_assert_int_eq(pool->last_connect_failed, 0);
	ck_assert_int_eq(pool->db->server_count, 1);

	/* once the first waiter waited longer than reserve_pool_timeout the
	 * reserve allows one more connection; it is tried (and fails at once:
	 * there is no server socket in tmpdir) */
	b->wait_start = loop.now - 2 * USEC_PER_SEC;
	pool_launch_servers(pool);
	ck_assert_int_ne(pool->last_connect_failed, 0);
	ck_assert_msg(strstr(pool->last_error, "connect failed") != NULL, "last_error: %s",
		      pool->last_error);
	/* a server is still usable, so the waiter keeps waiting */
	expect_waiting(b);
	ck_assert_int_eq(pool->db->server_count, 1);
	ck_assert_int_eq(pool->login_servers.count, 0);
	ck_assert_int_eq(loop.closed_servers.count, 1);
}
END_TEST

START_TEST(test_max_db_connections_stops_launch)
{
	struct pool *pool = get_pool("capped", "alice");
	struct server *s = fake_server(pool);
	struct client *a = fake_client(pool);
	struct client *b = fake_client(pool);

	pool_request_server(pool, a);
	expect_linked(a, s);
	pool_request_server(pool, b);
	expect_waiting(b);
	/* pool_size 5 would allow more, max_db_connections 1 does not: not
	 * even an attempt */
	ck_assert_int_eq(pool->last_connect_failed, 0);
	ck_assert_int_eq(loop.closed_servers.count, 0);
}
END_TEST

START_TEST(test_launch_failure_fails_waiter)
{
	struct pool *pool = get_pool("wide", "alice");
	struct client *c = fake_client(pool);
	struct proto_error_fields ef;
	uint8_t buf[512];
	uint8_t type;
	uint32_t len;
	size_t n;

	/* no server at all: the request launches one, the connect fails at
	 * once, and with nothing usable the waiter gets the error */
	pool_request_server(pool, c);
	ck_assert_int_eq(c->state, CLIENT_CLOSED);
	ck_assert_int_ne(pool->last_connect_failed, 0);
	ck_assert_int_eq(pool_server_count(pool), 0);
	ck_assert_int_eq(pool->db->server_count, 0);
	ck_assert_int_eq(loop.client_count, 0);

	n = received(&c->conn, buf, sizeof(buf));
	ck_assert_int_eq(proto_read_header(buf, n, &type, &len), 1);
	ck_assert_int_eq(type, 'E');
	ck_assert_uint_eq(n, len + 1);
	ck_assert(proto_parse_error(buf + PROTO_HDR_LEN, len - 4, &ef));
	ck_assert_str_eq(ef.severity, "FATAL");
	ck_assert_str_eq(ef.sqlstate, "08006");
	ck_assert_msg(strstr(ef.message, "pooler cannot connect to server") != NULL, "message: %s",
		      ef.message);
}
END_TEST

/* --- what a checkout sends ------------------------------------------------------------- */

START_TEST(test_check_query_on_stale_server)
{
	struct pool *pool = get_pool("fifo", "alice");
	struct server *s = fake_server(pool);
	struct client *c = fake_client(pool);
	char err[128];
	uint8_t buf[256];
	uint8_t type;
	uint32_t len;
	size_t n;

	ck_assert_int_eq(config_set(loop.cfg, "server_check_query", "select 1", err, sizeof(err)), 0);
	ck_assert_int_eq(config_set(loop.cfg, "server_check_delay", "0", err, sizeof(err)), 0);
	pool_request_server(pool, c);
	/* the server is checked first; its answer would hand it to the client */
	ck_assert_int_eq(s->state, SERVER_TESTED);
	ck_assert_int_eq(s->task, TASK_CHECK);
	expect_waiting(c);
	n = received(&s->conn, buf, sizeof(buf));
	ck_assert_int_eq(proto_read_header(buf, n, &type, &len), 1);
	ck_assert_int_eq(type, 'Q');
	ck_assert_uint_eq(n, len + 1);
	ck_assert_str_eq((const char *)buf + PROTO_HDR_LEN, "select 1");
}
END_TEST

START_TEST(test_no_check_on_fresh_server)
{
	struct pool *pool = get_pool("fifo", "alice");
	struct server *s = fake_server(pool);
	struct client *c = fake_client(pool);
	char err[128];

	ck_assert_int_eq(config_set(loop.cfg, "server_check_query", "select 1", err, sizeof(err)), 0);
	ck_assert_int_eq(config_set(loop.cfg, "server_check_delay", "30", err, sizeof(err)), 0);
	pool_request_server(pool, c);
	expect_linked(c, s);
	expect_nothing_sent(&s->conn);
}
END_TEST

START_TEST(test_client_params_sent_on_link)
{
	struct pool *pool = get_pool("fifo", "alice");
	struct server *s = fake_server(pool);
	struct client *c = fake_client(pool);
	static const char want[] = "SET application_name = E'app';";
	uint8_t buf[256];
	uint8_t type;
	uint32_t len;
	size_t n;

	ck_assert(params_set(&pool->defaults, PARAM_TIMEZONE, "UTC"));
	ck_assert(params_set(&s->params, PARAM_TIMEZONE, "UTC"));
	ck_assert(params_set(&s->params, PARAM_APPLICATION_NAME, "previous client"));
	ck_assert(params_set(&c->params, PARAM_APPLICATION_NAME, "app"));
	pool_request_server(pool, c);
	expect_linked(c, s);
	/* only what differs is sent, before the client's own traffic */
	ck_assert_int_eq(s->task, TASK_SET_PARAMS);
	n = received(&s->conn, buf, sizeof(buf));
	ck_assert_int_eq(proto_read_header(buf, n, &type, &len), 1);
	ck_assert_int_eq(type, 'Q');
	ck_assert_uint_eq(len - 4, sizeof(want));
	ck_assert_str_eq((const char *)buf + PROTO_HDR_LEN, want);
}
END_TEST

/* --- pool mode ------------------------------------------------------------------------- */

START_TEST(test_pool_mode_precedence)
{
	struct database *plain_db = pool_find_database(&loop, "defaults");
	struct database *stmt_db = pool_find_database(&loop, "stmt");
	struct user *nobody = pool_find_user(&loop, "nobody");     /* no [users] entry */
	struct user *sess = pool_find_user(&loop, "sess");         /* pool_mode=session */
	struct user *plain = pool_find_user(&loop, "plain");       /* entry, no pool_mode */

	ck_assert_ptr_nonnull(plain_db);
	ck_assert_ptr_nonnull(stmt_db);
	/* [pgbouncer] when nothing overrides it */
	ck_assert_int_eq(pool_mode_of(&loop, plain_db, nobody), POOL_MODE_TRANSACTION);
	ck_assert_int_eq(pool_mode_of(&loop, plain_db, plain), POOL_MODE_TRANSACTION);
	/* [databases] over [pgbouncer] */
	ck_assert_int_eq(pool_mode_of(&loop, stmt_db, nobody), POOL_MODE_STATEMENT);
	ck_assert_int_eq(pool_mode_of(&loop, stmt_db, plain), POOL_MODE_STATEMENT);
	/* [users] over both */
	ck_assert_int_eq(pool_mode_of(&loop, plain_db, sess), POOL_MODE_SESSION);
	ck_assert_int_eq(pool_mode_of(&loop, stmt_db, sess), POOL_MODE_SESSION);
	/* and a new pool takes the effective mode */
	ck_assert_int_eq(pool_get(&loop, stmt_db, nobody)->mode, POOL_MODE_STATEMENT);
	ck_assert_int_eq(pool_get(&loop, stmt_db, sess)->mode, POOL_MODE_SESSION);
	ck_assert_int_eq(pool_get(&loop, plain_db, nobody)->mode, POOL_MODE_TRANSACTION);
}
END_TEST

START_TEST(test_find_objects)
{
	struct database *db = pool_find_database(&loop, "fifo");
	struct user *u = pool_find_user(&loop, "alice");

	ck_assert_ptr_nonnull(db);
	ck_assert_int_eq(db->pool_size, 2);
	/* the same objects come back; pools are per (database, user) */
	ck_assert_ptr_eq(pool_find_database(&loop, "fifo"), db);
	ck_assert_ptr_eq(pool_find_user(&loop, "alice"), u);
	ck_assert_ptr_eq(pool_get(&loop, db, u), pool_get(&loop, db, u));
	ck_assert_ptr_ne(pool_get(&loop, db, u), pool_get(&loop, db, pool_find_user(&loop, "bob")));
	/* no "*" entry: unknown names are refused */
	ck_assert_ptr_null(pool_find_database(&loop, "nosuchdb"));
}
END_TEST

static Suite *pool_suite(void)
{
	Suite *s = suite_create("pool");
	TCase *tc;

	tc = tcase_create("checkout");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_idle_server_links_at_once);
	tcase_add_test(tc, test_waiters_served_fifo);
	tcase_add_test(tc, test_most_recently_released_reused_first);
	tcase_add_test(tc, test_server_needing_close_skipped);
	tcase_add_test(tc, test_check_query_on_stale_server);
	tcase_add_test(tc, test_no_check_on_fresh_server);
	tcase_add_test(tc, test_client_params_sent_on_link);
	suite_add_tcase(s, tc);

	tc = tcase_create("release");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_release_while_paused_closes);
	tcase_add_test(tc, test_release_while_database_paused_closes);
	tcase_add_test(tc, test_unclean_server_closed_on_release);
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_size_limit);
	tcase_add_test(tc, test_reserve_used_after_timeout);
	tcase_add_test(tc, test_max_db_connections_stops_launch);
	tcase_add_test(tc, test_launch_failure_fails_waiter);
	suite_add_tcase(s, tc);

	tc = tcase_create("config");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_pool_mode_precedence);
	tcase_add_test(tc, test_find_objects);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(pool_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
