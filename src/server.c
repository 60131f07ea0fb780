/* Server connections: connect, login, internal queries, forwarding
 * results to the linked client and deciding when the server goes back. */
#include "server.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authfile.h"
#include "cancel.h"
#include "client.h"
#include "config.h"
#include "log.h"
#include "loop.h"
#include "pool.h"
#include "proto.h"
#include "stats.h"

/* ErrorResponses up to this size are buffered whole to read their SQLSTATE. */
#define SERVER_ERROR_PEEK_MAX 8192

static enum pkt_action server_packet(struct conn *c, uint8_t type, uint32_t len,
				     const uint8_t *body, uint32_t avail);
static void server_forwarded(struct conn *c);
static void server_closed(struct conn *c, const char *reason);
static void server_connected(struct conn *c, int err);

static const struct conn_ops server_ops = {
	.packet = server_packet,
	.forwarded = server_forwarded,
	.closed = server_closed,
	.connected = server_connected,
};

static inline struct server *server_of(struct conn *c)
{
	return container_of(c, struct server, conn);
}

void server_log(const struct server *server, int level, const char *fmt, ...)
{
	char msg[1024];
	char prefix[256];
	va_list ap;

	if (!log_enabled(level))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(prefix, sizeof(prefix), "S-%llu: %s/%s@%s:%d", (unsigned long long)server->id,
		 server->pool->db->name, server->pool->user->name, server->conn.addr_str,
		 server->conn.port);
	log_write(level, prefix, "%s", msg);
}

const char *server_state_name(const struct server *server)
{
	switch (server->state) {
	case SERVER_LOGIN:
		return "new";
	case SERVER_IDLE:
		return "idle";
	case SERVER_ACTIVE:
		return "active";
	case SERVER_USED:
		return "used";
	case SERVER_TESTED:
		return "tested";
	case SERVER_CLOSED:
		return "closed";
	}
	return "unknown";
}

static struct list *server_list(struct server *server, enum server_state state)
{
	struct pool *pool = server->pool;
	switch (state) {
	case SERVER_LOGIN:
		return &pool->login_servers;
	case SERVER_IDLE:
		return &pool->idle_servers;
	case SERVER_ACTIVE:
		return &pool->active_servers;
	case SERVER_USED:
		return &pool->used_servers;
	case SERVER_TESTED:
		return &pool->tested_servers;
	case SERVER_CLOSED:
		return &server->conn.loop->closed_servers;
	}
	return NULL;
}

void server_set_state(struct server *server, enum server_state state)
{
	if (list_node_linked(&server->node))
		list_remove(server_list(server, server->state), &server->node);
	server->state = state;
	/* idle servers are reused most-recently-used first, so the others
	 * age out through server_idle_timeout */
	if (state == SERVER_IDLE)
		list_prepend(server_list(server, state), &server->node);
	else
		list_append(server_list(server, state), &server->node);
}

bool server_is_clean(const struct server *server)
{
	return server->state != SERVER_CLOSED && server->txn_status == 'I' &&
	       server->pending_rfq == 0 && !server->ext_pending && server->task == TASK_NONE &&
	       !server->close_needed && server->conn.fwd_remain == 0 &&
	       server->conn.skip_remain == 0 && conn_buffered(&server->conn) == 0 &&
	       ps_server_idle(&server->ps);
}

static void free_login_params(struct server *server)
{
	for (int i = 0; i < server->nlogin_params; i++) {
		free(server->login_names[i]);
		free(server->login_values[i]);
	}
	server->nlogin_params = 0;
}

static void clear_secret(struct server *server)
{
	if (server->password) {
		explicit_bzero(server->password, strlen(server->password));
		free(server->password);
		server->password = NULL;
	}
	if (server->scram) {
		scram_client_free(server->scram);
		free(server->scram);
		server->scram = NULL;
	}
}

struct server *server_launch(struct pool *pool)
{
	struct loop *loop = pool->loop;
	struct database *db = pool->db;
	struct server *server = calloc(1, sizeof(*server));

	if (!server) {
		log_error("out of memory launching a server connection");
		return NULL;
	}
	conn_init(&server->conn, loop, &server_ops, -1);
	list_node_init(&server->node);
	server->id = loop_next_id(loop);
	server->pool = pool;
	server->txn_status = 'I';
	server->connect_time = timeutil_wall();
	server->connect_mono = loop->now;
	server->request_time = loop->now;
	db->server_count++;
	pool->user->server_count++;
	server->state = SERVER_LOGIN;
	list_append(&pool->login_servers, &server->node);
	strcpy(server->conn.addr_str, db->host ? db->host : "unix");
	server->conn.port = db->port;

	if (!db->addr_ok && !pool_database_resolve(loop, db)) {
		server_close(server, "cannot resolve the server address");
		return NULL;
	}
	if (conn_connect(&server->conn, (struct sockaddr *)&db->addr, db->addrlen) < 0) {
		char reason[128];
		snprintf(reason, sizeof(reason), "connect failed: %s", strerror(errno));
		server_close(server, reason);
		return NULL;
	}
	server_log(server, LOG_LEVEL_DEBUG, "new connection to server");
	return server;
}

static void server_connected(struct conn *c, int err)
{
	struct server *server = server_of(c);
	struct pool *pool = server->pool;
	struct database *db = pool->db;
	const char *names[8];
	const char *values[8];
	int n = 0;

	if (err) {
		char reason[128];
		snprintf(reason, sizeof(reason), "connect failed: %s", strerror(err));
		server_close(server, reason);
		return;
	}
	names[n] = "user";
	values[n++] = pool->user->name;
	names[n] = "database";
	values[n++] = db->dbname;
	for (int i = 0; i < db->nstartup; i++) {
		names[n] = db->startup_names[i];
		values[n++] = db->startup_values[i];
	}
	if (!proto_build_startup(conn_bufs(c), &c->wbuf, names, values, n)) {
		server_close(server, "out of memory");
		return;
	}
	conn_start_reading(c);
	conn_flush(c);
}

/* --- login ------------------------------------------------------------ */

/* Where the password to log in to the server comes from: the database
 * entry's password= for its user=, else auth_file. Sets *KIND. Returns a
 * borrowed secret or NULL. */
static const char *login_secret(struct server *server, enum secret_kind *kind)
{
	struct loop *loop = server->conn.loop;
	struct database *db = server->pool->db;

	if (db->force_user && db->force_password) {
		*kind = authfile_secret_kind(db->force_password);
		return db->force_password;
	}
	if (!loop->authfile)
		return NULL;
	const struct authfile_entry *e = authfile_find(loop->authfile, server->pool->user->name);
	if (!e)
		return NULL;
	*kind = e->kind;
	return e->secret;
}

static void login_fail(struct server *server, const char *sqlstate, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void login_fail(struct server *server, const char *sqlstate, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	server_log(server, LOG_LEVEL_WARNING, "login failed: %s", msg);
	server->login_failure_reported = true;
	pool_server_login_failed(server->pool, sqlstate, msg);
	server_close(server, "login failed");
}

static bool send_password(struct server *server, const void *data, uint32_t len)
{
	if (!proto_build_password(conn_bufs(&server->conn), &server->conn.wbuf, data, len))
		return false;
	conn_flush(&server->conn);
	return true;
}

static void handle_auth(struct server *server, const uint8_t *body, uint32_t len)
{
	uint32_t code;
	const uint8_t *data;
	size_t dlen;
	enum secret_kind kind = SECRET_PLAIN;
	const char *secret;
	const char *user = server->pool->user->name;

	if (!proto_parse_auth(body, len, &code, &data, &dlen)) {
		login_fail(server, "08P01", "malformed authentication request from server");
		return;
	}
	switch (code) {
	case AUTH_REQ_OK:
		clear_secret(server);
		return;
	case AUTH_REQ_CLEARTEXT:
		secret = login_secret(server, &kind);
		if (!secret || kind != SECRET_PLAIN) {
			login_fail(server, "28P01",
				   "server asks for a cleartext password and none is known for "
				   "user \"%s\"",
				   user);
			return;
		}
		if (!send_password(server, secret, (uint32_t)strlen(secret) + 1))
			login_fail(server, "53200", "out of memory");
		return;
	case AUTH_REQ_MD5: {
		char hash[36], resp[36];
		if (dlen != 4) {
			login_fail(server, "08P01", "malformed md5 request from server");
			return;
		}
		secret = login_secret(server, &kind);
		if (!secret || kind == SECRET_SCRAM) {
			login_fail(server, "28P01",
				   "server asks for md5 authentication and no password or md5 "
				   "secret is known for user \"%s\"",
				   user);
			return;
		}
		if (kind == SECRET_PLAIN) {
			md5_password_hash(secret, user, hash);
			secret = hash;
		}
		md5_salted_response(secret, data, resp);
		if (!send_password(server, resp, (uint32_t)strlen(resp) + 1))
			login_fail(server, "53200", "out of memory");
		return;
	}
	case AUTH_REQ_SASL: {
		bool offered = false;
		struct proto_reader r;
		proto_reader_init(&r, data, dlen);
		for (;;) {
			const char *mech = proto_reader_string(&r);
			if (!mech || !mech[0])
				break;
			if (strcmp(mech, "SCRAM-SHA-256") == 0)
				offered = true;
		}
		if (!offered) {
			login_fail(server, "28000", "server offers no SASL mechanism we support");
			return;
		}
		server->scram = calloc(1, sizeof(*server->scram));
		if (!server->scram) {
			login_fail(server, "53200", "out of memory");
			return;
		}
		secret = login_secret(server, &kind);
		bool ok = false;
		if (secret && kind == SECRET_PLAIN)
			ok = scram_client_init_password(server->scram, secret);
		else if (secret && kind == SECRET_SCRAM && server->pool->user->have_scram_keys)
			ok = scram_client_init_keys(server->scram,
						    server->pool->user->scram_client_key,
						    server->pool->user->scram_server_key);
		if (!ok) {
			login_fail(server, "28P01",
				   "server asks for SCRAM authentication and no password for user "
				   "\"%s\" is known%s",
				   user,
				   secret && kind == SECRET_SCRAM
					   ? " (auth_file has a SCRAM secret: a client must log in "
					     "with SCRAM first)"
					   : "");
			return;
		}
		char *first = scram_client_first(server->scram);
		if (!first ||
		    !proto_build_sasl_initial(conn_bufs(&server->conn), &server->conn.wbuf,
					      "SCRAM-SHA-256", first, (uint32_t)strlen(first))) {
			free(first);
			login_fail(server, "53200", "out of memory");
			return;
		}
		free(first);
		conn_flush(&server->conn);
		return;
	}
	case AUTH_REQ_SASL_CONTINUE: {
		char *final = server->scram
				      ? scram_client_final(server->scram, (const char *)data, dlen)
				      : NULL;
		if (!final) {
			login_fail(server, "08P01", "invalid SCRAM message from server");
			return;
		}
		bool ok = send_password(server, final, (uint32_t)strlen(final));
		free(final);
		if (!ok)
			login_fail(server, "53200", "out of memory");
		return;
	}
	case AUTH_REQ_SASL_FINAL:
		if (!server->scram ||
		    !scram_client_verify(server->scram, (const char *)data, dlen)) {
			login_fail(server, "08P01", "server's SCRAM signature is invalid");
			return;
		}
		return;
	default:
		login_fail(server, "28000", "server asks for unsupported authentication method %u",
			   code);
		return;
	}
}

static void remember_param(struct server *server, const uint8_t *body, uint32_t len, bool login)
{
	const char *name, *value;

	if (!proto_parse_param_status(body, len, &name, &value))
		return;
	int id = params_lookup(name);
	if (id >= 0) {
		params_set(&server->params, id, value);
		if (server->client && !login)
			params_set(&server->client->params, id, value);
	}
	if (!login)
		return;
	for (int i = 0; i < server->nlogin_params; i++) {
		if (strcmp(server->login_names[i], name) == 0) {
			char *v = strdup(value);
			if (v) {
				free(server->login_values[i]);
				server->login_values[i] = v;
			}
			return;
		}
	}
	if (server->nlogin_params <
	    (int)(sizeof(server->login_names) / sizeof(server->login_names[0]))) {
		char *n = strdup(name), *v = strdup(value);
		if (!n || !v) {
			free(n);
			free(v);
			return;
		}
		server->login_names[server->nlogin_params] = n;
		server->login_values[server->nlogin_params] = v;
		server->nlogin_params++;
	}
}

static void login_complete(struct server *server)
{
	struct pool *pool = server->pool;
	struct loop *loop = server->conn.loop;

	clear_secret(server);
	if (!pool->welcome_ready)
		pool_set_welcome(pool, server->nlogin_params, server->login_names,
				 server->login_values);
	free_login_params(server);
	pool->last_connect_failed = 0;
	if (loop->cfg->log_connections)
		server_log(server, LOG_LEVEL_INFO, "new server connection");
	if (pool->db->connect_query) {
		server_set_state(server, SERVER_TESTED);
		server_run_task(server, TASK_CONNECT_QUERY, pool->db->connect_query);
		return;
	}
	pool_server_ready(server);
}

static enum pkt_action login_packet(struct server *server, uint8_t type, uint32_t len,
				    const uint8_t *body)
{
	struct proto_error_fields ef;

	switch (type) {
	case 'R':
		handle_auth(server, body, len - 4);
		break;
	case 'E':
		if (!proto_parse_error(body, len - 4, &ef) || !ef.message)
			login_fail(server, "08P01", "malformed error from server during login");
		else
			login_fail(server, ef.sqlstate ? ef.sqlstate : "08P01", "%s", ef.message);
		return PKT_STOP;
	case 'S':
		remember_param(server, body, len - 4, true);
		break;
	case 'K':
		if (!proto_parse_backend_key(body, len - 4, &server->backend_pid,
					     &server->backend_key)) {
			login_fail(server, "08P01", "malformed BackendKeyData from server");
			return PKT_STOP;
		}
		break;
	case 'N':
	case 'v': /* NegotiateProtocolVersion: we ask for nothing optional */
		break;
	case 'Z':
		login_complete(server);
		break;
	default:
		login_fail(server, "08P01", "unexpected message type %d from server during login",
			   type);
		return PKT_STOP;
	}
	return server->conn.dead ? PKT_STOP : PKT_SKIP;
}

/* --- internal queries ------------------------------------------------------- */

void server_run_task(struct server *server, enum server_task task, const char *sql)
{
	server->task = task;
	server->task_error[0] = '\0';
	server->task_sqlstate[0] = '\0';
	server->query_start = server->conn.loop->now;
	if (!proto_build_query(conn_bufs(&server->conn), &server->conn.wbuf, sql)) {
		server_close(server, "out of memory");
		return;
	}
	conn_flush(&server->conn);
}

static void task_done(struct server *server, char status)
{
	enum server_task task = server->task;
	struct client *client = server->client;

	server->task = TASK_NONE;
	server->query_start = 0;
	server->txn_status = status;
	if (task == TASK_SET_PARAMS && client) {
		if (server->task_error[0]) {
			client_fail(client,
				    server->task_sqlstate[0] ? server->task_sqlstate : "22023",
				    "%s", server->task_error);
			return;
		}
		if (status != 'I') {
			server_close(server, "parameter SET left a transaction open");
			return;
		}
		/* the server does not report these: it now has the client's */
		for (int i = 0; i < PARAM_COUNT; i++)
			if (!params_reported(i))
				params_set(&server->params, i, client->params.values[i]);
		client_server_ready(client);
		return;
	}
	if (server->task_error[0] || status != 'I') {
		server_log(server, LOG_LEVEL_WARNING, "internal query failed: %s",
			   server->task_error[0] ? server->task_error : "left a transaction open");
		server_close(server, "internal query failed");
		return;
	}
	/* DISCARD ALL / RESET ALL put unreported parameters back to their
	 * defaults without telling us */
	if (task == TASK_RESET)
		ps_server_forget(server->conn.loop, &server->ps); /* DISCARD ALL, DEALLOCATE ALL */
	if (task == TASK_RESET)
		for (int i = 0; i < PARAM_COUNT; i++)
			if (!params_reported(i))
				params_set(&server->params, i, NULL);
	if (task == TASK_ROLLBACK) {
		/* then as on any release, the reset query if the mode wants it
		 * (not pool_release_server: this ReadyForQuery is still buffered) */
		if (pool_server_needs_reset(server)) {
			server_run_task(server, TASK_RESET,
					server->conn.loop->cfg->server_reset_query);
			return;
		}
	}
	pool_server_ready(server);
}

/* The SET carrying a client's parameter made PostgreSQL report its own
 * spelling ("utf-8" becomes "UTF8", "ISO" becomes "ISO, MDY"): the client
 * saw its raw value at login, so it gets the normalized one now, before its
 * first result. */
static void forward_normalized(struct server *server, const uint8_t *body, uint32_t len)
{
	struct client *client = server->client;
	const char *name, *value;

	if (!proto_parse_param_status(body, len, &name, &value))
		return;
	int id = params_lookup(name);
	if (id < 0 || !client->params.values[id] || strcmp(client->params.values[id], value) == 0)
		return;
	if (!proto_build_param_status(conn_bufs(&client->conn), &client->conn.wbuf, name, value))
		log_error("out of memory forwarding a parameter");
}

static enum pkt_action task_packet(struct server *server, uint8_t type, uint32_t len,
				   const uint8_t *body)
{
	struct proto_error_fields ef;

	switch (type) {
	case 'E':
		if (!server->task_error[0] && proto_parse_error(body, len - 4, &ef)) {
			snprintf(server->task_error, sizeof(server->task_error), "%s",
				 ef.message ? ef.message : "error");
			snprintf(server->task_sqlstate, sizeof(server->task_sqlstate), "%s",
				 ef.sqlstate ? ef.sqlstate : "");
		}
		break;
	case 'S':
		if (server->task == TASK_SET_PARAMS && server->client)
			forward_normalized(server, body, len - 4);
		remember_param(server, body, len - 4, false);
		break;
	case 'Z':
		if (len != 5) {
			server_close(server, "malformed ReadyForQuery");
			return PKT_STOP;
		}
		/* the message is dropped after we return; handing the server on
		 * from here is safe: nothing else reads this buffer meanwhile */
		task_done(server, (char)body[0]);
		return PKT_SKIP;
	default:
		break;
	}
	return PKT_SKIP;
}

/* --- forwarding --------------------------------------------------------- */

static enum pkt_action server_packet(struct conn *c, uint8_t type, uint32_t len,
				     const uint8_t *body, uint32_t avail)
{
	struct server *server = server_of(c);
	uint32_t blen = len ? len - 4 : 0;

	if (len == 0) {
		server_close(server, "invalid packet from server");
		return PKT_STOP;
	}
	server->request_time = c->loop->now;

	if (server->state == SERVER_LOGIN) {
		if (avail < blen)
			return PKT_NEED_ALL;
		return login_packet(server, type, len, body);
	}
	if (server->task != TASK_NONE) {
		bool small = type == 'E' || type == 'S' || type == 'Z';
		if (small && avail < blen)
			return PKT_NEED_ALL;
		return task_packet(server, type, len, body);
	}
	if (!server->client) {
		/* unlinked: only asynchronous messages are expected */
		switch (type) {
		case 'S':
			if (avail < blen)
				return PKT_NEED_ALL;
			remember_param(server, body, blen, false);
			return PKT_SKIP;
		case 'N':
		case 'A':
			return PKT_SKIP;
		case 'E':
			server_close(server, "server sent an error while idle");
			return PKT_STOP;
		default:
			server_close(server, "unexpected message from idle server");
			return PKT_STOP;
		}
	}

	if (server->ps_on) {
		enum pkt_action act = ps_server_message(server, type, len, body, avail);
		if (act != PKT_FORWARD)
			return act;
	}
	switch (type) {
	case 'Z':
		if (avail < 1)
			return PKT_NEED_ALL;
		if (blen != 1) {
			server_close(server, "malformed ReadyForQuery");
			return PKT_STOP;
		}
		if (server->pending_rfq > 0)
			server->pending_rfq--;
		/* a transaction spans from its first request to the 'I' that ends it */
		if (!server->xact_start)
			server->xact_start = server->query_start;
		if (body[0] == 'I') {
			server->pool->xact_count++;
			if (server->xact_start)
				server->pool->xact_time +=
					(uint64_t)(c->loop->now - server->xact_start);
			if (server->xact_start)
				histogram_record(&server->pool->xact_hist,
						 c->loop->now - server->xact_start);
			server->xact_start = 0;
		}
		server->txn_status = (char)body[0];
		leak_note_ready(&server->checkout, (char)body[0],
				server->pending_rfq == 0 && !server->ext_pending, c->loop->now);
		if (server->pending_rfq == 0) {
			if (server->query_start)
				server->pool->query_time +=
					(uint64_t)(c->loop->now - server->query_start);
			if (server->query_start)
				histogram_record(&server->pool->query_hist,
						 c->loop->now - server->query_start);
			if (server->query_start)
				topstmt_note(&server->pool->topstmt, &server->checkout,
					     c->loop->now - server->query_start, c->loop->now);
			poolobs_ready(server, (char)body[0], c->loop->now);
			server->query_start = 0;
		}
		server->release_check = true;
		break;
	case 'S':
		if (avail < blen)
			return PKT_NEED_ALL;
		remember_param(server, body, blen, false);
		break;
	case 'C':
		/* CommandComplete tags are short: the row count decides N+1 */
		if (avail < blen && blen <= 64)
			return PKT_NEED_ALL;
		poolobs_command_complete(server, body, avail < blen ? avail : blen);
		break;
	case 'E':
		/* the SQLSTATE comes early in the body: wait for the whole
		 * message only when it is small, else look at what arrived */
		if (avail < blen && blen <= SERVER_ERROR_PEEK_MAX)
			return PKT_NEED_ALL;
		stats_count_error(&server->pool->errors,
				  proto_error_class(body, avail < blen ? avail : blen));
		break;
	default:
		break;
	}
	server->pool->bytes_out += len + 1;
	return PKT_FORWARD;
}

/* Everything forwarded so far reached the client: if the last message was
 * ReadyForQuery, this may be the end of a transaction. */
static void server_forwarded(struct conn *c)
{
	struct server *server = server_of(c);
	struct client *client = server->client;

	if (client && server->ps_on)
		ps_emit(server); /* our answers that waited for these bytes */
	if (!server->release_check || !client || client->conn.dead || c->dead)
		return;
	server->release_check = false;
	if (server->pending_rfq > 0 || server->ext_pending || client->conn.fwd_remain ||
	    !ps_server_idle(&server->ps))
		return;
	enum pool_mode mode = server->pool->mode;
	if (mode == POOL_MODE_SESSION)
		return;
	if (server->txn_status != 'I') {
		if (mode == POOL_MODE_STATEMENT)
			client_fail(client, "08P01",
				    "transaction blocks not allowed in statement pooling mode");
		return;
	}
	conn_unlink(&client->conn);
	client->server = NULL;
	server->client = NULL;
	pool_release_server(server);
	/* a request the client pipelined behind this one wants a server now */
	if (!client->conn.dead && conn_buffered(&client->conn) && !client->conn.read_paused)
		conn_process(&client->conn);
}

static void server_closed(struct conn *c, const char *reason)
{
	server_close(server_of(c), reason);
}

void server_close(struct server *server, const char *reason)
{
	struct loop *loop = server->conn.loop;
	struct pool *pool = server->pool;

	if (server->state == SERVER_CLOSED)
		return;
	bool was_login = server->state == SERVER_LOGIN;
	leak_checkout_end(server);
	if (loop->cfg->log_disconnections || was_login)
		server_log(server, was_login ? LOG_LEVEL_WARNING : LOG_LEVEL_INFO,
			   "closing because: %s (age=%llds)", reason,
			   (long long)((loop->now - server->connect_mono) / USEC_PER_SEC));
	struct client *client = server->client;
	if (client) {
		conn_unlink(&server->conn);
		client->server = NULL;
		server->client = NULL;
		client_fail(client, "08006", "server connection lost: %s", reason);
	}
	if (server->cancels_in_flight)
		cancel_forget_server(loop, server);
	ps_server_free(loop, &server->ps);
	clear_secret(server);
	free_login_params(server);
	pool->db->server_count--;
	pool->user->server_count--;
	server_set_state(server, SERVER_CLOSED);
	conn_close(&server->conn);
	if (was_login && !server->login_failure_reported)
		pool_server_login_failed(pool, "08006", reason);
	loop_check_shutdown(loop);
}

void server_free(struct server *server)
{
	params_clear(&server->params);
	free(server);
}
