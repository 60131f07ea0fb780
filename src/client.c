/* Client connections: startup packet, login, waiting for a server,
 * forwarding to it, and closing. */
#include "client.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admin.h"
#include "auth.h"
#include "cancel.h"
#include "config.h"
#include "log.h"
#include "loop.h"
#include "paramtap.h"
#include "pool.h"
#include "proto.h"
#include "server.h"
#include "sessionstate.h"

static enum pkt_action client_packet(struct conn *c, uint8_t type, uint32_t len,
				     const uint8_t *body, uint32_t avail);
static void client_closed(struct conn *c, const char *reason);
static void client_drained(struct conn *c);

static const struct conn_ops client_ops = {
	.packet = client_packet,
	.drained = client_drained,
	.closed = client_closed,
};

static inline struct client *client_of(struct conn *c)
{
	return container_of(c, struct client, conn);
}

void client_log(const struct client *client, int level, const char *fmt, ...)
{
	char msg[1024];
	char prefix[256];
	va_list ap;

	if (!log_enabled(level))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(prefix, sizeof(prefix), "C-%llu: %s/%s@%s:%d", (unsigned long long)client->id,
		 client->db_name ? client->db_name : "(nodb)",
		 client->user_name ? client->user_name : "(nouser)", client->conn.addr_str,
		 client->conn.port);
	log_write(level, prefix, "%s", msg);
}

const char *client_state_name(const struct client *client)
{
	switch (client->state) {
	case CLIENT_LOGIN:
	case CLIENT_WAITING_LOGIN:
		return "login";
	case CLIENT_ACTIVE:
		return client->server ? "active" : "idle";
	case CLIENT_WAITING:
		return "waiting";
	case CLIENT_CLOSED:
		return "closed";
	}
	return "unknown";
}

static struct list *client_list(struct client *client, enum client_state state)
{
	struct loop *loop = client->conn.loop;
	switch (state) {
	case CLIENT_LOGIN:
		return &loop->login_clients;
	case CLIENT_WAITING_LOGIN:
		return &client->pool->login_clients;
	case CLIENT_ACTIVE:
		return client->admin ? &loop->admin_clients : &client->pool->active_clients;
	case CLIENT_WAITING:
		return &client->pool->waiting_clients;
	case CLIENT_CLOSED:
		return &loop->closed_clients;
	}
	return NULL;
}

void client_set_state(struct client *client, enum client_state state)
{
	if (list_node_linked(&client->node))
		list_remove(client_list(client, client->state), &client->node);
	log_noise("C-%llu: %s -> %d", (unsigned long long)client->id, client_state_name(client),
		  (int)state);
	client->state = state;
	list_append(client_list(client, state), &client->node);
}

void client_accept(struct loop *loop, int fd, bool is_unix)
{
	struct client *client = calloc(1, sizeof(*client));
	if (!client) {
		log_error("out of memory accepting a client");
		close(fd);
		return;
	}
	conn_init(&client->conn, loop, &client_ops, fd);
	list_node_init(&client->node);
	client->conn.startup = true;
	client->conn.need_limit = PROTO_MAX_STARTUP;
	client->id = loop_next_id(loop);
	client->connect_time = timeutil_wall();
	client->connect_mono = loop->now;
	client->request_time = loop->now;
	conn_set_addr(&client->conn);
	if (!is_unix) {
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (loop->cfg->tcp_keepalive)
			setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	}
	loop->client_count++;
	client->state = CLIENT_LOGIN;
	list_append(&loop->login_clients, &client->node);
	conn_start_reading(&client->conn);
}

static void client_send_error(struct client *client, const char *severity, const char *sqlstate,
			      const char *msg)
{
	if (!proto_build_error(conn_bufs(&client->conn), &client->conn.wbuf, severity, sqlstate,
			       msg, NULL))
		log_error("out of memory building an error");
}

void client_fail(struct client *client, const char *sqlstate, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (client->state == CLIENT_CLOSED || client->close_after_flush)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (client->conn.loop->cfg->log_pooler_errors)
		client_log(client, LOG_LEVEL_WARNING, "pooler error: %s (%s)", msg, sqlstate);
	/* the linked server must not send anything more to this client */
	if (client->server) {
		struct server *server = client->server;
		conn_unlink(&client->conn);
		client->server = NULL;
		server->client = NULL;
		if (server_is_clean(server) && conn_idle(&client->conn))
			pool_release_server(server);
		else
			server_close(server, "client failed while the server was busy");
	}
	client_send_error(client, "FATAL", sqlstate, msg);
	client->close_after_flush = true;
	conn_pause_reading(&client->conn);
	conn_flush(&client->conn);
	if (!client->conn.dead && iobuf_len(client->conn.wbuf) == 0)
		client_close(client, msg);
}

static void client_drained(struct conn *c)
{
	struct client *client = client_of(c);
	if (client->close_after_flush && client->state != CLIENT_CLOSED)
		client_close(client, "closed after error");
}

void client_close(struct client *client, const char *reason)
{
	struct loop *loop = client->conn.loop;

	if (client->state == CLIENT_CLOSED)
		return;
	if (loop->cfg->log_disconnections && client->state != CLIENT_LOGIN)
		client_log(client, LOG_LEVEL_INFO, "closing because: %s (age=%llds)", reason,
			   (long long)((loop->now - client->connect_mono) / USEC_PER_SEC));
	cancel_unregister(loop, client);
	if (client->server) {
		struct server *server = client->server;
		bool clean = server_is_clean(server) && client->conn.fwd_remain == 0 &&
			     !conn_pending(&server->conn);
		conn_unlink(&client->conn);
		client->server = NULL;
		server->client = NULL;
		if (clean)
			pool_release_server(server);
		else
			server_close(server, "client disconnected while the server was busy");
	}
	if (client->pool && !client->admin) {
		poolobs_client_closed(client);
		client->pool->db->client_count--;
		if (client->user)
			client->user->client_count--;
	}
	if (client->scram) {
		scram_server_free(client->scram);
		free(client->scram);
		client->scram = NULL;
	}
	ps_client_free(loop, &client->ps);
	loop->client_count--;
	client_set_state(client, CLIENT_CLOSED);
	conn_close(&client->conn);
	loop_check_shutdown(loop);
}

void client_free(struct client *client)
{
	params_clear(&client->params);
	free(client->user_name);
	free(client->db_name);
	free(client);
}

static void client_closed(struct conn *c, const char *reason)
{
	client_close(client_of(c), reason);
}

/* --- login --------------------------------------------------------------- */

static bool is_ignored_param(struct client *client, const char *name)
{
	return config_list_contains(client->conn.loop->cfg->ignore_startup_parameters, name);
}

static void handle_startup(struct client *client, const uint8_t *pkt, uint32_t len)
{
	struct loop *loop = client->conn.loop;
	struct proto_startup st;
	char err[128];

	if (proto_parse_startup(pkt, len, &st, err, sizeof(err)) < 0) {
		client_fail(client, "08P01", "invalid startup packet: %s", err);
		return;
	}
	const char *user = proto_startup_get(&st, "user");
	const char *database = proto_startup_get(&st, "database");
	if (!user || !user[0]) {
		proto_startup_free(&st);
		client_fail(client, "28000", "no PostgreSQL user name specified in startup packet");
		return;
	}
	client->user_name = strdup(user);
	client->db_name = strdup(database && database[0] ? database : user);
	if (!client->user_name || !client->db_name) {
		proto_startup_free(&st);
		client_fail(client, "53200", "out of memory");
		return;
	}
	for (int i = 0; i < st.count; i++) {
		const char *name = st.names[i];
		if (strcmp(name, "user") == 0 || strcmp(name, "database") == 0)
			continue;
		int id = params_lookup(name);
		if (id >= 0) {
			if (!params_set(&client->params, id, st.values[i])) {
				proto_startup_free(&st);
				client_fail(client, "53200", "out of memory");
				return;
			}
			continue;
		}
		if (is_ignored_param(client, name))
			continue;
		if (strcmp(name, "replication") == 0) {
			proto_startup_free(&st);
			client_fail(client, "08P01", "replication connections are not supported");
			return;
		}
		client_fail(client, "08P01", "unsupported startup parameter: %.64s", name);
		proto_startup_free(&st);
		return;
	}
	proto_startup_free(&st);
	client->conn.startup = false;
	client->conn.need_limit = 64 * 1024;

	if (loop->shutdown != SHUTDOWN_NONE) {
		client_fail(client, "57P01", "pooler is shutting down");
		return;
	}
	if (loop->client_count > loop->cfg->max_client_conn) {
		client_fail(client, "53300", "no more connections allowed (max_client_conn)");
		return;
	}
	if (admin_is_console_db(client->db_name)) {
		if (!admin_login_allowed(loop, client->user_name)) {
			client_fail(client, "28000",
				    "not allowed to connect to the admin console: user \"%s\" is "
				    "in neither admin_users nor stats_users",
				    client->user_name);
			return;
		}
		client->admin = true;
		client->user = pool_find_user(loop, client->user_name);
		if (!client->user) {
			client_fail(client, "53200", "out of memory");
			return;
		}
		auth_start(client);
		return;
	}
	client->db = pool_find_database(loop, client->db_name);
	if (!client->db) {
		client_fail(client, "3D000", "no such database: %s", client->db_name);
		return;
	}
	if (client->db->disabled) {
		client_fail(client, "57P03", "database \"%s\" is disabled", client->db_name);
		return;
	}
	client->user = pool_find_user(loop, client->user_name);
	if (!client->user) {
		client_fail(client, "53200", "out of memory");
		return;
	}
	auth_start(client);
}

void client_auth_done(struct client *client)
{
	struct loop *loop = client->conn.loop;
	struct database *db = client->db;
	struct user *server_user = client->user;

	client->auth_step = AUTH_STEP_DONE;
	if (client->admin) {
		if (!cancel_register(loop, client)) {
			client_fail(client, "53200", "out of memory");
			return;
		}
		admin_welcome(client);
		return;
	}
	if (db->force_user) {
		server_user = pool_find_user(loop, db->force_user);
		if (!server_user) {
			client_fail(client, "53200", "out of memory");
			return;
		}
	}
	struct pool *pool = pool_get(loop, db, server_user);
	if (!pool) {
		client_fail(client, "53200", "out of memory");
		return;
	}
	if (!cancel_register(loop, client)) {
		client_fail(client, "53200", "out of memory");
		return;
	}
	list_remove(&loop->login_clients, &client->node);
	client->pool = pool;
	db->client_count++;
	client->user->client_count++;
	if (loop->cfg->log_connections)
		client_log(client, LOG_LEVEL_INFO, "login attempt: db=%s user=%s", client->db_name,
			   client->user_name);
	conn_pause_reading(&client->conn);
	client->state = CLIENT_WAITING_LOGIN;
	list_append(&pool->login_clients, &client->node);
	if (pool->welcome_ready) {
		client_send_welcome(client);
		return;
	}
	if (pool->last_connect_failed &&
	    loop->now - pool->last_connect_failed < loop->cfg->server_login_retry) {
		client_fail(client,
			    pool->last_error_sqlstate[0] ? pool->last_error_sqlstate : "08006",
			    "pooler cannot connect to server: %s", pool->last_error);
		return;
	}
	pool_launch_servers(pool);
}

void client_send_welcome(struct client *client)
{
	struct pool *pool = client->pool;
	struct iobuf_pool *bufs = conn_bufs(&client->conn);
	struct iobuf **out = &client->conn.wbuf;
	bool ok = proto_build_auth(bufs, out, AUTH_REQ_OK, NULL, 0);

	for (int i = 0; ok && i < pool->nwelcome; i++) {
		const char *value = pool->welcome_values[i];
		int id = params_lookup(pool->welcome_names[i]);
		if (id >= 0 && client->params.values[id])
			value = client->params.values[id];
		ok = proto_build_param_status(bufs, out, pool->welcome_names[i], value);
	}
	/* tracked parameters the server did not report still reach the client */
	for (int id = 0; ok && id < PARAM_COUNT; id++) {
		bool seen = false;
		for (int i = 0; i < pool->nwelcome; i++)
			if (params_lookup(pool->welcome_names[i]) == id)
				seen = true;
		if (!seen && params_reported(id) && client->params.values[id])
			ok = proto_build_param_status(bufs, out, params_name(id),
						      client->params.values[id]);
	}
	ok = ok && proto_build_backend_key(bufs, out, client->cancel_pid, client->cancel_key);
	ok = ok && proto_build_ready(bufs, out, 'I');
	if (!ok) {
		client_fail(client, "53200", "out of memory");
		return;
	}
	client_set_state(client, CLIENT_ACTIVE);
	client->request_time = client->conn.loop->now;
	conn_flush(&client->conn);
	conn_resume_reading(&client->conn);
}

/* --- after login ----------------------------------------------------------- */

void client_link_server(struct client *client, struct server *server)
{
	struct loop *loop = client->conn.loop;
	struct pool *pool = client->pool;
	struct params want = {{0}};
	char sql[2048];

	client->server = server;
	server->client = client;
	conn_link(&client->conn, &server->conn);
	server_set_state(server, SERVER_ACTIVE);
	client_set_state(client, CLIENT_ACTIVE);
	server->ps_on = ps_active(client);
	if (server->ps_on) {
		ps_server_checkout(&server->ps);
		server->ps.skipping = false;
		/* a named Parse is looked at whole */
		uint32_t limit = (uint32_t)loop->cfg->max_packet_size + 5;
		if (limit < 5)
			limit = UINT32_MAX;
		if (client->conn.need_limit < limit)
			client->conn.need_limit = limit;
	}
	server->link_time = loop->now;
	server->request_time = loop->now;
	leak_checkout_begin(&server->checkout, loop->now);
	pool->server_assignments++;
	if (client->wait_start) {
		pool->wait_time += (uint64_t)(loop->now - client->wait_start);
		histogram_record(&pool->wait_hist, loop->now - client->wait_start);
		client->wait_start = 0;
	}

	/* the client's parameters, else the pool's login defaults */
	for (int i = 0; i < PARAM_COUNT; i++)
		want.values[i] = client->params.values[i] ? client->params.values[i]
							  : pool->defaults.values[i];
	int n = params_build_set(&want, &server->params, sql, sizeof(sql));
	if (n > 0) {
		server_run_task(server, TASK_SET_PARAMS, sql);
		return;
	}
	if (n < 0) {
		client_fail(client, "22023", "startup parameters too long");
		return;
	}
	client_server_ready(client);
}

void client_server_ready(struct client *client)
{
	conn_resume_reading(&client->conn);
}

/* Transaction and statement modes: a statement whose effect outlives the
 * transaction is counted, and warned about once per client and kind. WHOLE
 * tells whether the checkout's statement copy holds the entire text. */
static void note_session_state(struct client *client, struct server *server, bool whole)
{
	const struct checkout *ck = &server->checkout;
	unsigned found = sessionstate_scan(ck->stmt, ck->stmt_len, server->txn_status != 'I',
					   whole && ck->stmt_len < LEAK_STMT_LEN);
	if (!found)
		return;
	for (int k = 0; k < SESSIONSTATE_KIND_COUNT; k++)
		client->pool->session_state_count[k] += (found >> k) & 1;
	server->checkout.session_state |= found;
	unsigned fresh = found & ~client->session_state;
	client->session_state |= found;
	if (!fresh || !log_enabled(LOG_LEVEL_WARNING))
		return;
	const char *app = client->params.values[PARAM_APPLICATION_NAME];
	char kinds[128], stmt[LEAK_STMT_LEN + 1];
	sessionstate_format(fresh, kinds, sizeof(kinds));
	leak_scrub_literals(ck->stmt, stmt, sizeof(stmt));
	const struct config *cfg = client->conn.loop->cfg;
	bool reset =
		cfg->session_state_reset && cfg->server_reset_query && cfg->server_reset_query[0];
	client_log(client, LOG_LEVEL_WARNING,
		   "application_name=%s: statement leaves session state (%s) on server connection "
		   "S-%llu in %s pool mode; %s: %s%s",
		   app && app[0] ? app : "(none)", kinds, (unsigned long long)server->id,
		   client->pool->mode == POOL_MODE_STATEMENT ? "statement" : "transaction",
		   reset ? "server_reset_query undoes it when the server goes back to the pool, "
			   "so this client's next transaction may not see it either"
			 : "the next client of that connection inherits it",
		   stmt, ck->stmt_len >= LEAK_STMT_LEN ? " (truncated)" : "");
}

/* A message for the linked server: keep what release decisions need. */
static enum pkt_action forward_to_server(struct client *client, uint8_t type, uint32_t len,
					 const uint8_t *body, uint32_t avail)
{
	struct server *server = client->server;
	struct loop *loop = client->conn.loop;
	enum pkt_action act = PKT_FORWARD;

	if (loop->cfg->sample_query_params)
		paramtap_note(client, type, len, body, avail);
	if (server->ps_on) {
		int how;
		act = ps_client_message(client, type, len, body, avail, &how);
		if (act == PKT_STOP || act == PKT_NEED_ALL || client->conn.dead)
			return act == PKT_NEED_ALL ? act : PKT_STOP;
		if (how == PS_QUIET) {
			server->request_time = loop->now;
			return act;
		}
	}
	switch (type) {
	case 'Q':
	case 'F':
		server->pending_rfq++;
		client->pool->query_count++;
		if (!server->query_start)
			server->query_start = loop->now;
		break;
	case 'S':
		server->pending_rfq++;
		server->ext_pending = false;
		if (!server->query_start)
			server->query_start = loop->now;
		break;
	case 'E':
		client->pool->query_count++;
		server->ext_pending = true;
		break;
	case 'P':
	case 'B':
	case 'D':
	case 'C':
	case 'H':
		server->ext_pending = true;
		break;
	default:
		break;
	}
	server->request_time = loop->now;
	poolobs_client_message(client, loop->now);
	leak_note_request(&server->checkout, type, body, avail, len, loop->now);
	if ((type == 'Q' || type == 'P') && client->pool->mode != POOL_MODE_SESSION) {
		uint32_t blen = len >= 4 ? len - 4 : 0;
		/* a Parse whose name is not all here copied no new text */
		if (type == 'Q' || memchr(body, '\0', avail < blen ? avail : blen))
			note_session_state(client, server, avail >= blen);
	}
	client->pool->bytes_in += len + 1;
	return act;
}

static enum pkt_action client_packet(struct conn *c, uint8_t type, uint32_t len,
				     const uint8_t *body, uint32_t avail)
{
	struct client *client = client_of(c);
	struct loop *loop = c->loop;

	if (c->startup) {
		if (len == 0) {
			client_fail(client, "08P01", "invalid length of startup packet");
			return PKT_STOP;
		}
		if (avail < len)
			return PKT_NEED_ALL;
		uint32_t code = proto_get_u32(body + 4);
		if (code == PROTO_SSL_CODE || code == PROTO_GSSENC_CODE) {
			if (len != 8) {
				client_fail(client, "08P01",
					    "invalid length of encryption request");
				return PKT_STOP;
			}
			if (conn_buffered(c) > len) {
				/* data after the request before our answer: a protocol violation */
				client_fail(client, "08P01",
					    "received unencrypted data after encryption request");
				return PKT_STOP;
			}
			if (!iobuf_append(conn_bufs(c), &c->wbuf, "N", 1)) {
				client_fail(client, "53200", "out of memory");
				return PKT_STOP;
			}
			conn_flush(c);
			return PKT_SKIP;
		}
		if (code == PROTO_CANCEL_CODE) {
			if (len == 16)
				cancel_request(loop, proto_get_u32(body + 8),
					       proto_get_u32(body + 12));
			client_close(client, "cancel request handled");
			return PKT_STOP;
		}
		if (code >> 16 != 3) {
			client_fail(
				client, "0A000",
				"unsupported frontend protocol %u.%u: server supports 3.0 to 3.0",
				code >> 16, code & 0xffff);
			return PKT_STOP;
		}
		handle_startup(client, body, len);
		return PKT_SKIP;
	}

	if (len == 0) {
		client_fail(client, "08P01", "invalid packet length");
		return PKT_STOP;
	}
	if (len - 4 > (uint32_t)loop->cfg->max_packet_size) {
		client_fail(client, "08P01", "packet too large (max_packet_size)");
		return PKT_STOP;
	}

	if (client->state == CLIENT_LOGIN) {
		if (type != 'p') {
			client_fail(client, "08P01",
				    "expected password response, got message type %d", type);
			return PKT_STOP;
		}
		if (avail < len - 4)
			return PKT_NEED_ALL;
		auth_handle_message(client, body, len - 4);
		return c->dead ? PKT_STOP : PKT_SKIP;
	}
	if (client->state == CLIENT_WAITING_LOGIN || client->close_after_flush)
		return PKT_STOP;

	if (!proto_client_message_known(type)) {
		client_fail(client, "08P01", "unsupported message type %d", type);
		return PKT_STOP;
	}
	client->request_time = loop->now;
	if (type == 'X') {
		client_close(client, "client sent Terminate");
		return PKT_STOP;
	}
	if (client->admin) {
		if (avail < len - 4)
			return PKT_NEED_ALL;
		admin_handle_message(client, type, body, len - 4);
		return c->dead ? PKT_STOP : PKT_SKIP;
	}
	if (client->server)
		return forward_to_server(client, type, len, body, avail);
	if (client->state == CLIENT_WAITING)
		return PKT_STOP;
	if (type == 'Q' && client->ps.count && ps_active(client)) {
		/* DEALLOCATE of the client's own names needs no server */
		enum pkt_action act;
		if (ps_client_unlinked_query(client, len, body, avail, &act))
			return act;
	}

	/* no server yet: wait for one, then see this message again */
	conn_pause_reading(c);
	client->wait_start = loop->now;
	pool_request_server(client->pool, client);
	if (c->dead || !client->server || c->read_paused)
		return PKT_STOP;
	return forward_to_server(client, type, len, body, avail);
}
