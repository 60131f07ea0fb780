/* The admin console: login, the simple-query protocol loop, statement
 * parsing and dispatch, the control commands (PAUSE, RESUME, KILL, RELOAD,
 * SET, SHUTDOWN, ...) and the commands that complete later (PAUSE,
 * WAIT_CLOSE). The SHOW tables are in admin_show.c. */
#include "admin.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "admin_internal.h"
#include "client.h"
#include "config.h"
#include "conn.h"
#include "log.h"
#include "loop.h"
#include "params.h"
#include "pool.h"
#include "proto.h"
#include "server.h"
#include "suspend.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* How often commands that wait (PAUSE, WAIT_CLOSE) look again. */
#define WAIT_CHECK_PERIOD 0.05

/* Longest word of a command (a database name, a client id). */
#define WORD_MAX 256
#define MAX_WORDS 3

enum outcome {
	DONE, /* answered; go on with the next statement */
	FAILED, /* an ErrorResponse was sent: skip the rest of the query */
	WAITING, /* completes later: the rest of the query waits with it */
	GONE, /* the client was closed or must get nothing more */
};

enum wait_kind { WAIT_PAUSE, WAIT_CLOSE, WAIT_SUSPEND };

/* A command that completes once a condition holds. The client is found
 * again by id when checking: it may have disconnected meanwhile. */
struct admin_wait {
	struct list_node node;
	uint64_t client_id;
	enum wait_kind kind;
	struct database *db; /* NULL: every database (never freed while running) */
	char *rest; /* the statements after the waiting one */
};

struct admin_state {
	struct loop *loop;
	struct list waits;
	ev_timer timer;
};

static void run_statements(struct client *client, const char *sql, bool whole_query);

/* --- login ------------------------------------------------------------------ */

bool admin_is_console_db(const char *name)
{
	return strcmp(name, "pgbouncer") == 0 || strcmp(name, "pglifeguard") == 0;
}

static bool is_admin_user(struct loop *loop, const char *user)
{
	return config_list_contains(loop->cfg->admin_users, user);
}

bool admin_login_allowed(struct loop *loop, const char *user)
{
	return is_admin_user(loop, user) || config_list_contains(loop->cfg->stats_users, user);
}

void admin_welcome(struct client *client)
{
	/* what drivers read at login; the values match SHOW's fixed answers */
	static const char *const reported[] = {
		"server_version",    "server_encoding", "client_encoding",
		"DateStyle",         "TimeZone",        "standard_conforming_strings",
		"integer_datetimes",
	};
	struct loop *loop = client->conn.loop;
	struct iobuf_pool *bufs = conn_bufs(&client->conn);
	struct iobuf **out = &client->conn.wbuf;
	const char *app = client->params.values[PARAM_APPLICATION_NAME];

	client->admin_readonly = !is_admin_user(loop, client->user_name);
	client->conn.no_suspend = true;
	bool ok = proto_build_auth(bufs, out, AUTH_REQ_OK, NULL, 0);
	for (size_t i = 0; ok && i < ARRAY_SIZE(reported); i++)
		ok = proto_build_param_status(bufs, out, reported[i],
					      admin_fixed_param(reported[i]));
	ok = ok && proto_build_param_status(bufs, out, "is_superuser", "on");
	ok = ok && proto_build_param_status(bufs, out, "application_name", app ? app : "");
	ok = ok && proto_build_backend_key(bufs, out, client->cancel_pid, client->cancel_key);
	ok = ok && proto_build_ready(bufs, out, 'I');
	if (!ok) {
		client_fail(client, "53200", "out of memory");
		return;
	}
	client_set_state(client, CLIENT_ACTIVE);
	client->request_time = loop->now;
	if (loop->cfg->log_connections)
		client_log(client, LOG_LEVEL_INFO, "admin console login (%s)",
			   client->admin_readonly ? "stats_users: SHOW only" : "admin_users");
	conn_flush(&client->conn);
	conn_resume_reading(&client->conn);
}

/* --- responses ---------------------------------------------------------------- */

static bool client_gone(const struct client *client)
{
	return client->conn.dead || client->close_after_flush || client->state == CLIENT_CLOSED;
}

static enum outcome out_of_memory(struct client *client)
{
	client_fail(client, "53200", "out of memory");
	return GONE;
}

static enum outcome send_error(struct client *client, const char *sqlstate, const char *detail,
			       const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* An ErrorResponse (severity ERROR: the session goes on). */
static enum outcome send_error(struct client *client, const char *sqlstate, const char *detail,
			       const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!proto_build_error(conn_bufs(&client->conn), &client->conn.wbuf, "ERROR", sqlstate, msg,
			       detail))
		return out_of_memory(client);
	return FAILED;
}

/* The end of a query's response: ReadyForQuery, flush, read the next. */
static void finish(struct client *client)
{
	if (!proto_build_ready(conn_bufs(&client->conn), &client->conn.wbuf, 'I')) {
		out_of_memory(client);
		return;
	}
	conn_flush(&client->conn);
	if (!client_gone(client))
		conn_resume_reading(&client->conn);
}

/* --- statements and words ---------------------------------------------------- */

/* Blank out the SQL comments of S (-- to the end of the line, nested
 * slash-star blocks) outside quotes: tools tag their queries with them. */
static void blank_comments(char *s)
{
	char quote = 0;
	int depth = 0;

	for (; *s; s++) {
		if (depth) {
			if (s[0] == '*' && s[1] == '/') {
				depth--;
				*s++ = ' ';
			} else if (s[0] == '/' && s[1] == '*') {
				depth++;
				*s++ = ' ';
			}
			*s = ' ';
		} else if (quote) {
			if (*s == quote)
				quote = 0;
		} else if (*s == '\'' || *s == '"') {
			quote = *s;
		} else if (s[0] == '-' && s[1] == '-') {
			while (*s && *s != '\n')
				*s++ = ' ';
			if (!*s)
				return;
		} else if (s[0] == '/' && s[1] == '*') {
			depth = 1;
			*s++ = ' ';
			*s = ' ';
		}
	}
}

/* Length of the statement at S: up to a ';' outside quotes, or the end. */
static size_t statement_length(const char *s)
{
	char quote = 0;
	size_t i;

	for (i = 0; s[i]; i++) {
		if (quote) {
			if (s[i] == quote)
				quote = 0; /* a doubled quote reopens at once: same result */
		} else if (s[i] == '\'' || s[i] == '"') {
			quote = s[i];
		} else if (s[i] == ';') {
			break;
		}
	}
	return i;
}

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	size_t n = strlen(s);
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	return s;
}

/* One quoted token at *P (opening quote Q): copies its text, with doubled
 * quotes undoubled, into OUT and moves *P past it. False if unterminated or
 * longer than OUTLEN. */
static bool read_quoted(const char **p, char q, char *out, size_t outlen)
{
	const char *s = *p + 1;
	size_t n = 0;

	for (;;) {
		if (!*s)
			return false;
		if (*s == q) {
			if (s[1] != q)
				break;
			s++;
		}
		if (n + 1 >= outlen)
			return false;
		out[n++] = *s++;
	}
	out[n] = '\0';
	*p = s + 1;
	return true;
}

struct words {
	int n;
	char w[MAX_WORDS][WORD_MAX];
};

/* Split STMT into words: bare words end at whitespace, "quoted" ones keep
 * their case and may hold anything. False on an unterminated quote, more
 * than MAX_WORDS words or a word too long. */
static bool split_words(const char *s, struct words *out)
{
	out->n = 0;
	for (;;) {
		while (isspace((unsigned char)*s))
			s++;
		if (!*s)
			return true;
		if (out->n == MAX_WORDS)
			return false;
		char *w = out->w[out->n++];
		if (*s == '"') {
			if (!read_quoted(&s, '"', w, WORD_MAX))
				return false;
			continue;
		}
		size_t n = 0;
		while (*s && !isspace((unsigned char)*s)) {
			if (n + 1 >= WORD_MAX)
				return false;
			w[n++] = *s++;
		}
		w[n] = '\0';
	}
}

/* The database named NAME: exact match first, else the only one whose name
 * differs in case alone (bare words are typed in any case). */
static struct database *find_database(struct loop *loop, const char *name)
{
	struct database *loose = NULL;
	int nloose = 0;
	struct list_node *n;

	list_for_each(n, &loop->databases)
	{
		struct database *db = container_of(n, struct database, node);
		if (db->removed)
			continue;
		if (strcmp(db->name, name) == 0)
			return db;
		if (strcasecmp(db->name, name) == 0) {
			loose = db;
			nloose++;
		}
	}
	return nloose == 1 ? loose : NULL;
}

/* Resolve the optional database argument ARG of a command. */
static enum outcome resolve_db(struct reply *r, const char *cmd, const char *arg,
			       struct database **db)
{
	*db = NULL;
	if (!arg)
		return DONE;
	if (admin_is_console_db(arg))
		return send_error(r->client, "0A000", NULL,
				  "%s does not apply to the admin console", cmd);
	*db = find_database(r->client->conn.loop, arg);
	if (!*db)
		return send_error(r->client, "3D000", NULL, "no such database: %s", arg);
	return DONE;
}

/* --- commands that wait --------------------------------------------------------- */

static struct admin_state *admin_state(struct loop *loop);

static bool pool_of(const struct pool *pool, const struct database *db)
{
	return !db || pool->db == db;
}

/* 1 when W may complete, 0 not yet, -1 when it was canceled. */
static int wait_status(struct loop *loop, const struct admin_wait *w)
{
	struct list_node *n, *m;

	if (w->kind == WAIT_PAUSE && !(w->db ? w->db->paused : loop->paused))
		return -1;
	if (w->kind == WAIT_SUSPEND)
		return !loop->suspended ? -1 : suspend_poll(loop) ? 1 : 0;
	list_for_each(n, &loop->pools)
	{
		struct pool *pool = container_of(n, struct pool, node);
		if (!pool_of(pool, w->db))
			continue;
		if (w->kind == WAIT_PAUSE) {
			if (pool_server_count(pool) > 0)
				return 0;
			continue;
		}
		struct list *lists[] = {&pool->active_servers, &pool->idle_servers,
					&pool->used_servers, &pool->tested_servers,
					&pool->login_servers};
		for (size_t i = 0; i < ARRAY_SIZE(lists); i++)
			list_for_each(m, lists[i]) if (container_of(m, struct server, node)
							       ->close_needed) return 0;
	}
	return 1;
}

static const char *wait_tag(enum wait_kind kind)
{
	return kind == WAIT_PAUSE ? "PAUSE" : kind == WAIT_SUSPEND ? "SUSPEND" : "WAIT_CLOSE";
}

/* Answer the command KIND (waiting or not) once its condition holds, else
 * park the client with the rest of its query. */
static enum outcome wait_for(struct reply *r, enum wait_kind kind, struct database *db,
			     const char *rest)
{
	struct client *client = r->client;
	struct loop *loop = client->conn.loop;
	struct admin_wait probe = {.kind = kind, .db = db};

	if (wait_status(loop, &probe) > 0) {
		reply_complete(r, wait_tag(kind));
		return DONE;
	}
	struct admin_state *st = admin_state(loop);
	struct admin_wait *w = calloc(1, sizeof(*w));
	char *copy = strdup(rest);
	if (!st || !w || !copy) {
		free(w);
		free(copy);
		return out_of_memory(client);
	}
	*w = probe;
	w->client_id = client->id;
	w->rest = copy;
	list_append(&st->waits, &w->node);
	if (!ev_is_active(&st->timer))
		ev_timer_start(loop->ev, &st->timer);
	/* what the earlier statements produced goes out now; reading waits */
	conn_flush(&client->conn);
	conn_pause_reading(&client->conn);
	return WAITING;
}

static struct client *find_admin_client(struct loop *loop, uint64_t id)
{
	struct list_node *n;
	list_for_each(n, &loop->admin_clients)
	{
		struct client *c = container_of(n, struct client, node);
		if (c->id == id)
			return client_gone(c) ? NULL : c;
	}
	return NULL;
}

static void complete_wait(struct client *client, const struct admin_wait *w, int status)
{
	struct reply r;

	if (status < 0) {
		if (send_error(client, "57014", NULL, "%s canceled: RESUME was issued before %s",
			       wait_tag(w->kind),
			       w->kind == WAIT_SUSPEND ? "the buffers were flushed"
						       : "the servers closed") == GONE)
			return;
		finish(client);
		return;
	}
	reply_init(&r, client);
	reply_complete(&r, wait_tag(w->kind));
	if (!reply_done(&r)) {
		out_of_memory(client);
		return;
	}
	run_statements(client, w->rest, false);
}

static void check_waits(struct admin_state *st)
{
	struct loop *loop = st->loop;
	struct list_node *n, *t;

	list_for_each_safe(n, t, &st->waits)
	{
		struct admin_wait *w = container_of(n, struct admin_wait, node);
		struct client *client = find_admin_client(loop, w->client_id);
		int status = client ? wait_status(loop, w) : -1;
		if (client && status == 0)
			continue;
		list_remove(&st->waits, &w->node);
		if (client)
			complete_wait(client, w, status);
		free(w->rest);
		free(w);
	}
	if (list_empty(&st->waits))
		ev_timer_stop(loop->ev, &st->timer);
}

static void on_wait_timer(struct ev_loop *ev, ev_timer *w, int revents)
{
	check_waits(container_of(w, struct admin_state, timer));
}

static struct admin_state *admin_state(struct loop *loop)
{
	if (loop->admin)
		return loop->admin;
	struct admin_state *st = calloc(1, sizeof(*st));
	if (!st)
		return NULL;
	st->loop = loop;
	list_init(&st->waits);
	ev_timer_init(&st->timer, on_wait_timer, WAIT_CHECK_PERIOD, WAIT_CHECK_PERIOD);
	loop->admin = st;
	return st;
}

void admin_destroy(struct loop *loop)
{
	struct admin_state *st = loop->admin;
	struct list_node *n, *t;

	if (!st)
		return;
	ev_timer_stop(loop->ev, &st->timer);
	list_for_each_safe(n, t, &st->waits)
	{
		struct admin_wait *w = container_of(n, struct admin_wait, node);
		list_remove(&st->waits, n);
		free(w->rest);
		free(w);
	}
	free(st);
	loop->admin = NULL;
}

/* --- control commands --------------------------------------------------------- */

/* The five server lists of POOL, as an array initializer. */
#define SERVER_LISTS(pool)                                                                         \
	{                                                                                          \
		&(pool)->active_servers, &(pool)->idle_servers, &(pool)->used_servers,             \
			&(pool)->tested_servers, &(pool)->login_servers                            \
	}

static void close_idle_servers(struct loop *loop, const struct database *db, const char *reason)
{
	struct list_node *n, *m, *t;
	list_for_each(n, &loop->pools)
	{
		struct pool *pool = container_of(n, struct pool, node);
		if (pool_of(pool, db))
			list_for_each_safe(m, t, &pool->idle_servers)
				server_close(container_of(m, struct server, node), reason);
	}
}

static void launch_servers(struct loop *loop, const struct database *db)
{
	struct list_node *n;
	list_for_each(n, &loop->pools)
	{
		struct pool *pool = container_of(n, struct pool, node);
		if (pool_of(pool, db))
			pool_launch_servers(pool);
	}
}

static enum outcome cmd_pause(struct reply *r, const char *arg, const char *rest)
{
	struct loop *loop = r->client->conn.loop;
	struct database *db;

	if (resolve_db(r, "PAUSE", arg, &db) != DONE)
		return FAILED;
	if (loop->paused)
		return send_error(r->client, "55000", NULL, "the pooler is already paused");
	if (db && db->paused)
		return send_error(r->client, "55000", NULL, "database %s is already paused",
				  db->name);
	if (db) {
		/* new queries wait; servers close as they are released */
		db->paused = true;
		log_info("database %s paused from the admin console", db->name);
		close_idle_servers(loop, db, "pause");
	} else {
		loop_pause(loop);
	}
	return wait_for(r, WAIT_PAUSE, db, rest);
}

static enum outcome cmd_resume(struct reply *r, const char *arg, const char *rest)
{
	struct loop *loop = r->client->conn.loop;
	struct database *db;
	struct list_node *n;

	if (resolve_db(r, "RESUME", arg, &db) != DONE)
		return FAILED;
	if (loop->suspended) {
		/* PgBouncer: a RESUME after SUSPEND undoes only the SUSPEND */
		if (db)
			return send_error(r->client, "55000", NULL,
					  "the pooler is suspended: use RESUME alone");
		suspend_end(loop);
		reply_complete(r, "RESUME");
		return DONE;
	}
	if (db) {
		if (!db->paused)
			return send_error(
				r->client, "55000", NULL, "database %s is not paused%s", db->name,
				loop->paused ? " (the whole pooler is: use RESUME alone)" : "");
		db->paused = false;
		log_info("database %s resumed from the admin console", db->name);
		launch_servers(loop, db);
		reply_complete(r, "RESUME");
		return DONE;
	}
	bool any = loop->paused;
	list_for_each(n, &loop->databases)
	{
		db = container_of(n, struct database, node);
		any = any || db->paused;
		db->paused = false;
	}
	if (!any)
		return send_error(r->client, "55000", NULL, "the pooler is not paused");
	if (loop->paused)
		loop_resume(loop);
	else
		launch_servers(loop, NULL);
	reply_complete(r, "RESUME");
	return DONE;
}

/* KILL: every client and server of DB goes now; DB stays paused until
 * RESUME, so new clients wait instead of failing. */
static void kill_database(struct loop *loop, struct database *db)
{
	struct list_node *n, *m, *t;

	db->paused = true;
	log_info("database %s killed from the admin console", db->name);
	list_for_each(n, &loop->pools)
	{
		struct pool *pool = container_of(n, struct pool, node);
		if (pool->db != db)
			continue;
		struct list *clients[] = {&pool->active_clients, &pool->waiting_clients,
					  &pool->login_clients};
		struct list *servers[] = SERVER_LISTS(pool);
		for (size_t i = 0; i < ARRAY_SIZE(clients); i++)
			list_for_each_safe(m, t, clients[i]) client_fail(
				container_of(m, struct client, node), "57P01",
				"database %s was killed from the admin console", db->name);
		for (size_t i = 0; i < ARRAY_SIZE(servers); i++)
			list_for_each_safe(m, t, servers[i])
				server_close(container_of(m, struct server, node),
					     "killed from the admin console");
	}
}

static enum outcome cmd_kill(struct reply *r, const char *arg, const char *rest)
{
	struct loop *loop = r->client->conn.loop;
	struct database *db;
	struct list_node *n;

	if (resolve_db(r, "KILL", arg, &db) != DONE)
		return FAILED;
	if (db) {
		kill_database(loop, db);
	} else {
		list_for_each(n, &loop->databases)
		{
			db = container_of(n, struct database, node);
			if (!db->removed)
				kill_database(loop, db);
		}
	}
	reply_complete(r, "KILL");
	return DONE;
}

static struct client *find_client(struct loop *loop, uint64_t id)
{
	struct list_node *n, *m;
	struct list *loop_lists[] = {&loop->admin_clients, &loop->login_clients};

	for (size_t i = 0; i < ARRAY_SIZE(loop_lists); i++)
		list_for_each(n, loop_lists[i])
		{
			struct client *c = container_of(n, struct client, node);
			if (c->id == id)
				return c;
		}
	list_for_each(n, &loop->pools)
	{
		struct pool *pool = container_of(n, struct pool, node);
		struct list *lists[] = {&pool->active_clients, &pool->waiting_clients,
					&pool->login_clients};
		for (size_t i = 0; i < ARRAY_SIZE(lists); i++)
			list_for_each(m, lists[i])
			{
				struct client *c = container_of(m, struct client, node);
				if (c->id == id)
					return c;
			}
	}
	return NULL;
}

static enum outcome cmd_kill_client(struct reply *r, const char *arg, const char *rest)
{
	struct loop *loop = r->client->conn.loop;
	char *end;

	errno = 0;
	unsigned long long id = strtoull(arg, &end, 10);
	if (errno || end == arg || *end || arg[0] == '-')
		return send_error(r->client, "22023", NULL,
				  "KILL_CLIENT needs a client id from SHOW CLIENTS, not \"%s\"",
				  arg);
	struct client *victim = find_client(loop, id);
	if (!victim || client_gone(victim))
		return send_error(r->client, "42704", NULL, "no client with id %llu", id);
	if (victim == r->client)
		return send_error(r->client, "55000", NULL,
				  "KILL_CLIENT cannot end the connection it runs on");
	client_log(victim, LOG_LEVEL_INFO, "killed from the admin console by %s",
		   r->client->user_name);
	client_fail(victim, "57P01", "connection terminated from the admin console (KILL_CLIENT)");
	reply_complete(r, "KILL_CLIENT");
	return DONE;
}

/* PgBouncer's SUSPEND, answered once every buffer is flushed (or the
 * clients holding them were dropped after suspend_timeout). There is no -R
 * takeover to hand the sockets to; RESUME undoes it. */
static enum outcome cmd_suspend(struct reply *r, const char *arg, const char *rest)
{
	struct loop *loop = r->client->conn.loop;

	if (loop->suspended)
		return send_error(r->client, "55000", NULL, "the pooler is already suspended");
	log_info("SUSPEND from the admin console by %s", r->client->user_name);
	suspend_begin(loop);
	return wait_for(r, WAIT_SUSPEND, NULL, rest);
}

static enum outcome set_disabled(struct reply *r, const char *cmd, const char *arg, bool disabled)
{
	struct database *db;

	if (resolve_db(r, cmd, arg, &db) != DONE)
		return FAILED;
	db->disabled = disabled;
	log_info("database %s %s from the admin console", db->name,
		 disabled ? "disabled" : "enabled");
	reply_complete(r, cmd);
	return DONE;
}

static enum outcome cmd_disable(struct reply *r, const char *arg, const char *rest)
{
	return set_disabled(r, "DISABLE", arg, true);
}

static enum outcome cmd_enable(struct reply *r, const char *arg, const char *rest)
{
	return set_disabled(r, "ENABLE", arg, false);
}

static enum outcome cmd_reconnect(struct reply *r, const char *arg, const char *rest)
{
	struct loop *loop = r->client->conn.loop;
	struct database *db;
	struct list_node *n, *m;

	if (resolve_db(r, "RECONNECT", arg, &db) != DONE)
		return FAILED;
	list_for_each(n, &loop->pools)
	{
		struct pool *pool = container_of(n, struct pool, node);
		if (!pool_of(pool, db))
			continue;
		struct list *servers[] = SERVER_LISTS(pool);
		for (size_t i = 0; i < ARRAY_SIZE(servers); i++)
			list_for_each(m, servers[i]) container_of(m, struct server, node)
				->close_needed = true;
	}
	/* idle ones go now; the others when their clients release them */
	close_idle_servers(loop, db, "RECONNECT from the admin console");
	launch_servers(loop, db);
	reply_complete(r, "RECONNECT");
	return DONE;
}

static enum outcome cmd_wait_close(struct reply *r, const char *arg, const char *rest)
{
	struct database *db;

	if (resolve_db(r, "WAIT_CLOSE", arg, &db) != DONE)
		return FAILED;
	return wait_for(r, WAIT_CLOSE, db, rest);
}

static enum outcome cmd_shutdown(struct reply *r, const char *arg, const char *rest)
{
	struct client *client = r->client;
	enum shutdown_mode mode = SHUTDOWN_NOW;

	if (arg && strcasecmp(arg, "wait_for_servers") == 0)
		mode = SHUTDOWN_WAIT_FOR_SERVERS;
	else if (arg && strcasecmp(arg, "wait_for_clients") == 0)
		mode = SHUTDOWN_WAIT_FOR_CLIENTS;
	else if (arg)
		return send_error(
			client, "42601", NULL,
			"SHUTDOWN takes WAIT_FOR_SERVERS, WAIT_FOR_CLIENTS or nothing, not \"%s\"",
			arg);
	/* answer first: the loop may stop before this client is served again */
	reply_complete(r, "SHUTDOWN");
	if (!reply_done(r))
		return out_of_memory(client);
	finish(client);
	client_log(client, LOG_LEVEL_INFO, "SHUTDOWN%s%s from the admin console", arg ? " " : "",
		   arg ? arg : "");
	loop_shutdown(client->conn.loop, mode);
	return GONE;
}

/* RELOAD: problems go to the client as an error (the old configuration
 * stays) or as a warning (it was applied). */
static enum outcome cmd_reload(struct reply *r, const char *arg, const char *rest)
{
	struct loop *loop = r->client->conn.loop;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		return out_of_memory(r->client);
	int rc = loop_reload(loop, f);
	fclose(f);
	while (len > 0 && text[len - 1] == '\n')
		text[--len] = '\0';
	enum outcome o = DONE;
	if (rc < 0) {
		size_t first = strcspn(text, "\n");
		o = send_error(r->client, "F0000", text[first] ? text : NULL,
			       "RELOAD failed, the configuration in force is unchanged: %.*s",
			       (int)first, len ? text : "see the log");
	} else {
		if (len)
			reply_notice(r, "WARNING", "RELOAD applied the configuration with warnings",
				     text);
		reply_complete(r, "RELOAD");
	}
	free(text);
	return o;
}

/* SET of the session parameters drivers send: accepted, no effect (the
 * console answers with fixed values). */
static bool is_probe_param(const char *name)
{
	static const char *const extra[] = {"application_name", "extra_float_digits",
					    "intervalstyle", "search_path"};
	if (admin_fixed_param(name))
		return true;
	for (size_t i = 0; i < ARRAY_SIZE(extra); i++)
		if (strcasecmp(name, extra[i]) == 0)
			return true;
	return false;
}

/* SET name = value | SET name TO value; TEXT follows "SET". */
static enum outcome cmd_set(struct reply *r, char *text)
{
	struct client *client = r->client;
	struct loop *loop = client->conn.loop;
	char name[WORD_MAX], value[1024], err[256];
	const char *p = text;
	size_t n = 0;

	while (isspace((unsigned char)*p))
		p++;
	while (*p && (isalnum((unsigned char)*p) || *p == '_' || *p == '.') && n + 1 < sizeof(name))
		name[n++] = *p++;
	name[n] = '\0';
	while (isspace((unsigned char)*p))
		p++;
	if (*p == '=')
		p++;
	else if (strncasecmp(p, "to", 2) == 0 && isspace((unsigned char)p[2]))
		p += 2;
	else
		return send_error(client, "42601", NULL, "syntax: SET name = value");
	char *v = trim((char *)p);
	if (!name[0] || !v[0])
		return send_error(client, "42601", NULL, "syntax: SET name = value");
	if (is_probe_param(name)) {
		reply_complete(r, "SET");
		return DONE;
	}
	if (!is_admin_user(loop, client->user_name))
		return send_error(client, "42501", NULL, "admin access needed");
	if (*v == '\'') {
		const char *q = v;
		if (!read_quoted(&q, '\'', value, sizeof(value)) || *trim((char *)q))
			return send_error(client, "42601", NULL, "bad quoted value for %s", name);
	} else if (strlen(v) < sizeof(value)) {
		strcpy(value, v);
	} else {
		return send_error(client, "22023", NULL, "value for %s too long", name);
	}
	if (config_set(loop->cfg, name, value, err, sizeof(err)) < 0) {
		int reloadable = config_setting_reloadable(name);
		return send_error(client,
				  reloadable < 0 ? "42704"
				  : reloadable   ? "22023"
						 : "55P02",
				  NULL, "%s", err);
	}
	client_log(client, LOG_LEVEL_INFO, "SET %s = %s from the admin console", name, value);
	/* pool sizes and modes are resolved per database: recompute them */
	pool_sync_databases(loop, true);
	reply_complete(r, "SET");
	return DONE;
}

/* --- dispatch ------------------------------------------------------------------- */

enum arg_rule { ARG_NONE, ARG_OPTIONAL, ARG_REQUIRED };

static const struct command {
	const char *name; /* also the CommandComplete tag, upper-cased */
	enum outcome (*fn)(struct reply *r, const char *arg, const char *rest);
	enum arg_rule arg;
} commands[] = {
	{"DISABLE", cmd_disable, ARG_REQUIRED},
	{"ENABLE", cmd_enable, ARG_REQUIRED},
	{"KILL", cmd_kill, ARG_OPTIONAL},
	{"KILL_CLIENT", cmd_kill_client, ARG_REQUIRED},
	{"PAUSE", cmd_pause, ARG_OPTIONAL},
	{"RECONNECT", cmd_reconnect, ARG_OPTIONAL},
	{"RELOAD", cmd_reload, ARG_NONE},
	{"RESUME", cmd_resume, ARG_OPTIONAL},
	{"SHUTDOWN", cmd_shutdown, ARG_OPTIONAL},
	{"SUSPEND", cmd_suspend, ARG_NONE},
	{"WAIT_CLOSE", cmd_wait_close, ARG_OPTIONAL},
};

static enum outcome exec_show(struct reply *r, const struct words *w)
{
	if (w->n != 2)
		return send_error(r->client, "42601", NULL,
				  "%s needs one item (SHOW HELP lists them)", w->w[0]);
	if (strcasecmp(w->w[0], "select") == 0 && strcmp(w->w[1], "1") == 0) {
		/* the connection check of pools and drivers */
		static const struct admin_column col = {"?column?", COL_INT4};
		reply_header(r, &col, 1);
		reply_row(r);
		reply_int(r, 1);
		reply_row_end(r);
		reply_complete(r, "SELECT 1");
		return DONE;
	}
	if (!admin_show(r, w->w[1]))
		return send_error(r->client, "42704", NULL,
				  "unrecognized SHOW item \"%s\" (SHOW HELP lists them)", w->w[1]);
	return DONE;
}

/* Run one statement STMT (trimmed, not empty); REST is what follows it. */
static enum outcome exec_statement(struct client *client, char *stmt, const char *rest)
{
	struct loop *loop = client->conn.loop;
	struct words w;
	struct reply r;
	enum outcome o;

	reply_init(&r, client);
	if (strncasecmp(stmt, "set", 3) == 0 && isspace((unsigned char)stmt[3])) {
		o = cmd_set(&r, stmt + 3);
		goto out;
	}
	if (!split_words(stmt, &w)) {
		o = send_error(client, "42601", NULL,
			       "syntax error in \"%.64s\" (SHOW HELP lists the commands)", stmt);
		goto out;
	}
	if (strcasecmp(w.w[0], "show") == 0 || strcasecmp(w.w[0], "select") == 0) {
		o = exec_show(&r, &w);
		goto out;
	}
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
		const struct command *c = &commands[i];
		if (strcasecmp(w.w[0], c->name) != 0)
			continue;
		if (!is_admin_user(loop, client->user_name)) {
			o = send_error(client, "42501", NULL, "admin access needed");
			goto out;
		}
		if ((c->arg == ARG_NONE && w.n > 1) || (c->arg == ARG_REQUIRED && w.n != 2) ||
		    w.n > 2) {
			o = send_error(client, "42601", NULL, "syntax: %s%s", c->name,
				       c->arg == ARG_NONE       ? ""
				       : c->arg == ARG_OPTIONAL ? " [argument]"
								: " argument");
			goto out;
		}
		client_log(client, LOG_LEVEL_INFO, "admin command: %.200s", stmt);
		o = c->fn(&r, w.n > 1 ? w.w[1] : NULL, rest);
		goto out;
	}
	o = send_error(client, "42601", NULL,
		       "unrecognized command \"%.64s\" (SHOW HELP lists the commands)", w.w[0]);
out:
	if (!reply_done(&r) && o != GONE)
		o = out_of_memory(client);
	return o;
}

/* Run the statements of SQL (separated by ';') in turn; stop at the first
 * error, as PostgreSQL does. WHOLE_QUERY: SQL is a Query's whole text (an
 * empty one gets EmptyQueryResponse), not the rest after a wait. */
static void run_statements(struct client *client, const char *sql, bool whole_query)
{
	const char *p = sql;
	bool any = false;

	while (*p) {
		size_t n = statement_length(p);
		char *copy = strndup(p, n);
		if (!copy) {
			out_of_memory(client);
			return;
		}
		p += n;
		if (*p == ';')
			p++;
		char *stmt = trim(copy);
		if (!stmt[0]) {
			free(copy);
			continue;
		}
		any = true;
		enum outcome o = exec_statement(client, stmt, p);
		free(copy);
		if (o == WAITING || o == GONE || client_gone(client))
			return;
		if (o == FAILED)
			break;
	}
	if (!any && whole_query &&
	    !proto_build_raw(conn_bufs(&client->conn), &client->conn.wbuf, 'I', NULL, 0)) {
		out_of_memory(client);
		return;
	}
	finish(client);
}

void admin_handle_message(struct client *client, uint8_t type, const uint8_t *body, uint32_t len)
{
	/* after an extended-protocol message failed, as PostgreSQL does:
	 * everything up to Sync is dropped, Sync gets ReadyForQuery */
	if (client->admin_skip_to_sync) {
		if (type == 'S') {
			client->admin_skip_to_sync = false;
			finish(client);
		}
		return;
	}
	switch (type) {
	case 'Q': {
		if (len == 0 || memchr(body, '\0', len) != body + len - 1) {
			client_fail(client, "08P01", "malformed Query message");
			return;
		}
		char *sql = strdup((const char *)body);
		if (!sql) {
			out_of_memory(client);
			return;
		}
		blank_comments(sql);
		run_statements(client, sql, true);
		free(sql);
		return;
	}
	case 'S':
		finish(client);
		return;
	case 'H':
		conn_flush(&client->conn);
		return;
	case 'd':
	case 'c':
	case 'f':
		return; /* COPY messages outside COPY: ignored, as PostgreSQL does */
	case 'P':
	case 'B':
	case 'D':
	case 'E':
	case 'C':
		client->admin_skip_to_sync = true;
		if (send_error(client, "0A000", NULL,
			       "the admin console supports only the simple query protocol") != GONE)
			conn_flush(&client->conn);
		return;
	default:
		if (send_error(client, "0A000", NULL,
			       "the admin console does not support message type '%c'",
			       isprint(type) ? type : '?') != GONE)
			finish(client);
		return;
	}
}
