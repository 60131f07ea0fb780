/* The admin console's result sets: PgBouncer 1.25's SHOW tables (the column
 * names, order and types monitoring tools rely on) built from the loop's
 * lists, the fixed answers drivers' parameter probes expect, and the
 * builder that writes them into the admin client's output buffer. */
#include "admin_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "alert.h"
#include "client.h"
#include "histogram.h"
#include "config.h"
#include "conn.h"
#include "leak.h"
#include "listener.h"
#include "loop.h"
#include "params.h"
#include "pool.h"
#include "proto.h"
#include "server.h"
#include "sessionstate.h"
#include "stats.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define COLS(a) (a), (int)ARRAY_SIZE(a)

/* The admin console poses as database "pgbouncer" with one pool of user
 * "pgbouncer", as PgBouncer lists it; tools that skip it by name keep
 * working. */
#define CONSOLE_NAME "pgbouncer"

/* --- the reply builder ----------------------------------------------------- */

/* A row larger than this is refused rather than grown further. */
#define REPLY_MAX_ROW (1U << 30)

void reply_init(struct reply *r, struct client *client)
{
	*r = (struct reply){.client = client, .ok = true};
}

bool reply_done(struct reply *r)
{
	free(r->row);
	r->row = NULL;
	r->len = r->cap = 0;
	return r->ok;
}

static void put(struct reply *r, const void *p, uint32_t n)
{
	if (!r->ok)
		return;
	if (n > REPLY_MAX_ROW - r->len) {
		r->ok = false;
		return;
	}
	if (r->len + n > r->cap) {
		uint32_t cap = r->cap ? r->cap : 256;
		while (cap < r->len + n)
			cap *= 2;
		uint8_t *row = realloc(r->row, cap);
		if (!row) {
			r->ok = false;
			return;
		}
		r->row = row;
		r->cap = cap;
	}
	memcpy(r->row + r->len, p, n);
	r->len += n;
}

static void put_u32(struct reply *r, uint32_t v)
{
	uint8_t b[4];
	proto_put_u32(b, v);
	put(r, b, 4);
}

static void put_u16(struct reply *r, uint16_t v)
{
	uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
	put(r, b, 2);
}

static void put_str(struct reply *r, const char *s)
{
	put(r, s, (uint32_t)strlen(s) + 1);
}

/* Send the scratch space as one message of TYPE and empty it. */
static void send_msg(struct reply *r, uint8_t type)
{
	struct conn *c = &r->client->conn;
	if (r->ok && !proto_build_raw(conn_bufs(c), &c->wbuf, type, r->row, r->len))
		r->ok = false;
	r->len = 0;
}

void reply_header(struct reply *r, const struct admin_column *cols, int n)
{
	r->len = 0;
	put_u16(r, (uint16_t)n);
	for (int i = 0; i < n; i++) {
		int16_t typlen = cols[i].type == COL_INT4 ? 4 : cols[i].type == COL_INT8 ? 8 : -1;
		put_str(r, cols[i].name);
		put_u32(r, 0); /* no table */
		put_u16(r, 0); /* no column of it */
		put_u32(r, (uint32_t)cols[i].type);
		put_u16(r, (uint16_t)typlen);
		put_u32(r, UINT32_MAX); /* typmod -1 */
		put_u16(r, 0); /* text format */
	}
	send_msg(r, 'T');
}

void reply_row(struct reply *r)
{
	r->len = 0;
	r->ncols = 0;
	put_u16(r, 0); /* the count, filled in by reply_row_end */
}

void reply_null(struct reply *r)
{
	put_u32(r, UINT32_MAX);
	r->ncols++;
}

void reply_text(struct reply *r, const char *s)
{
	if (!s) {
		reply_null(r);
		return;
	}
	uint32_t n = (uint32_t)strlen(s);
	put_u32(r, n);
	put(r, s, n);
	r->ncols++;
}

void reply_int(struct reply *r, long long v)
{
	char b[24];
	snprintf(b, sizeof(b), "%lld", v);
	reply_text(r, b);
}

void reply_u64(struct reply *r, uint64_t v)
{
	char b[24];
	snprintf(b, sizeof(b), "%llu", (unsigned long long)v);
	reply_text(r, b);
}

void reply_row_end(struct reply *r)
{
	if (r->ok && r->len >= 2) {
		r->row[0] = (uint8_t)(r->ncols >> 8);
		r->row[1] = (uint8_t)r->ncols;
	}
	send_msg(r, 'D');
}

void reply_complete(struct reply *r, const char *tag)
{
	r->len = 0;
	put_str(r, tag);
	send_msg(r, 'C');
}

void reply_notice(struct reply *r, const char *severity, const char *message, const char *detail)
{
	r->len = 0;
	put(r, "S", 1);
	put_str(r, severity);
	put(r, "V", 1);
	put_str(r, severity);
	put(r, "C", 1);
	put_str(r, strcmp(severity, "WARNING") == 0 ? "01000" : "00000");
	put(r, "M", 1);
	put_str(r, message);
	if (detail) {
		put(r, "D", 1);
		put_str(r, detail);
	}
	put(r, "", 1);
	send_msg(r, 'N');
}

/* --- shared helpers --------------------------------------------------------- */

static struct loop *loop_of(const struct reply *r)
{
	return r->client->conn.loop;
}

/* The time format PgBouncer's SHOW CLIENTS uses: local time with zone. */
static void fmt_wall(usec_t wall, char *buf, size_t len)
{
	time_t t = (time_t)(wall / USEC_PER_SEC);
	struct tm tm;

	if (wall <= 0 || !localtime_r(&t, &tm) || !strftime(buf, len, "%Y-%m-%d %H:%M:%S %Z", &tm))
		buf[0] = '\0';
}

/* Wall-clock time of the monotonic instant MONO. */
static usec_t wall_of(const struct loop *loop, usec_t mono)
{
	return mono ? timeutil_wall() - (loop->now - mono) : 0;
}

static const char *mode_or_null(enum pool_mode mode)
{
	return mode == POOL_MODE_INHERIT ? NULL : config_pool_mode_name(mode);
}

/* Each list of a pool's clients and servers, in SHOW order. */
static void pool_client_lists(struct pool *pool, struct list *out[3])
{
	out[0] = &pool->active_clients;
	out[1] = &pool->waiting_clients;
	out[2] = &pool->login_clients;
}

static void pool_server_lists(struct pool *pool, struct list *out[5])
{
	out[0] = &pool->active_servers;
	out[1] = &pool->idle_servers;
	out[2] = &pool->used_servers;
	out[3] = &pool->tested_servers;
	out[4] = &pool->login_servers;
}

/* --- SHOW CLIENTS, SERVERS, SOCKETS, ACTIVE_SOCKETS ------------------------- */

static const struct admin_column socket_cols[] = {
	{"type", COL_TEXT},
	{"user", COL_TEXT},
	{"database", COL_TEXT},
	{"replication", COL_TEXT},
	{"state", COL_TEXT},
	{"addr", COL_TEXT},
	{"port", COL_INT4},
	{"local_addr", COL_TEXT},
	{"local_port", COL_INT4},
	{"connect_time", COL_TEXT},
	{"request_time", COL_TEXT},
	{"wait", COL_INT4},
	{"wait_us", COL_INT4},
	{"close_needed", COL_INT4},
	{"ptr", COL_TEXT},
	{"link", COL_TEXT},
	{"remote_pid", COL_INT4},
	{"tls", COL_TEXT},
	{"application_name", COL_TEXT},
	{"prepared_statements", COL_INT4},
	{"id", COL_INT8},
	/* SHOW SOCKETS and ACTIVE_SOCKETS add the buffer positions */
	{"recv_pos", COL_INT4},
	{"pkt_pos", COL_INT4},
	{"pkt_remain", COL_INT4},
	{"send_pos", COL_INT4},
	{"send_remain", COL_INT4},
	{"pkt_avail", COL_INT4},
	{"send_avail", COL_INT4},
};
#define SOCKET_COLS_BASIC 21

/* Which sockets a listing wants, and how their state is spelled. */
enum sock_filter {
	SOCK_CLIENTS = 1,
	SOCK_SERVERS = 2,
	SOCK_BUFFERS = 4, /* the extra columns and cl_/sv_ prefixed states */
	SOCK_ACTIVE = 8, /* only sockets holding buffered bytes */
};

struct sock_row {
	const char *type, *user, *db, *state, *app;
	const struct conn *conn;
	usec_t connect_wall, request_mono, wait;
	bool close_needed;
	const void *ptr, *link;
	int remote_pid;
	uint32_t prepared; /* prepared statements: the client's names, the server's LRU */
	uint64_t id;
};

/* The pid of the process at the other end of a unix socket, else 0. */
static int peer_pid(const struct conn *c)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (c->fd < 0 || !conn_is_unix(c) ||
	    getsockopt(c->fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return 0;
	return (int)cred.pid;
}

static void socket_row(struct reply *r, const struct sock_row *s, unsigned filter)
{
	const struct conn *c = s->conn;
	char ptr[32], link[32] = "", connected[64], requested[64], state[32];

	if ((filter & SOCK_ACTIVE) && !c->rbuf && !c->wbuf)
		return;
	snprintf(ptr, sizeof(ptr), "%p", s->ptr);
	if (s->link)
		snprintf(link, sizeof(link), "%p", s->link);
	fmt_wall(s->connect_wall, connected, sizeof(connected));
	fmt_wall(wall_of(loop_of(r), s->request_mono), requested, sizeof(requested));
	snprintf(state, sizeof(state), "%s%s",
		 !(filter & SOCK_BUFFERS) ? ""
		 : s->type[0] == 'C'      ? "cl_"
					  : "sv_",
		 s->state);
	reply_row(r);
	reply_text(r, s->type);
	reply_text(r, s->user);
	reply_text(r, s->db);
	reply_text(r, "none");
	reply_text(r, state);
	reply_text(r, c->addr_str);
	reply_int(r, c->port);
	reply_text(r, c->local_addr_str);
	reply_int(r, c->local_port);
	reply_text(r, connected);
	reply_text(r, requested);
	reply_int(r, s->wait / USEC_PER_SEC);
	reply_int(r, s->wait % USEC_PER_SEC);
	reply_int(r, s->close_needed);
	reply_text(r, ptr);
	reply_text(r, link);
	reply_int(r, s->remote_pid);
	reply_text(r, "");
	reply_text(r, s->app ? s->app : "");
	reply_int(r, s->prepared);
	reply_u64(r, s->id);
	if (filter & SOCK_BUFFERS) {
		const struct iobuf *b = c->rbuf;
		reply_int(r, b ? b->end : 0);
		reply_int(r, c->pkt_pos);
		reply_int(r, (long long)c->fwd_remain + c->skip_remain);
		reply_int(r, b ? b->start : 0);
		reply_int(r, b ? c->send_end - b->start : 0);
		reply_int(r, conn_buffered(c));
		reply_int(r, iobuf_len(c->wbuf));
	}
	reply_row_end(r);
}

static const char *client_show_state(const struct client *c)
{
	switch (c->state) {
	case CLIENT_ACTIVE:
		/* an admin client is running the command that lists it */
		return c->server || c->admin ? "active" : "idle";
	case CLIENT_WAITING:
	case CLIENT_WAITING_LOGIN:
		return "waiting";
	default:
		return client_state_name(c);
	}
}

static void client_row(struct reply *r, const struct client *c, unsigned filter)
{
	const struct loop *loop = loop_of(r);
	struct sock_row s = {
		.type = "C",
		.user = c->user_name,
		.db = c->db_name,
		.state = client_show_state(c),
		.app = c->params.values[PARAM_APPLICATION_NAME],
		.conn = &c->conn,
		.connect_wall = c->connect_time,
		.request_mono = c->request_time,
		.ptr = c,
		.link = c->server,
		.remote_pid = peer_pid(&c->conn),
		.prepared = ps_client_count(&c->ps),
		.id = c->id,
	};
	if (c->state == CLIENT_WAITING && c->wait_start)
		s.wait = loop->now - c->wait_start;
	else if (c->state == CLIENT_WAITING_LOGIN)
		s.wait = loop->now - c->connect_mono;
	socket_row(r, &s, filter);
}

static void server_row(struct reply *r, const struct server *sv, unsigned filter)
{
	struct sock_row s = {
		.type = "S",
		.user = sv->pool->user->name,
		.db = sv->pool->db->name,
		.state = server_state_name(sv),
		.app = sv->client ? sv->client->params.values[PARAM_APPLICATION_NAME] : NULL,
		.conn = &sv->conn,
		.connect_wall = sv->connect_time,
		.request_mono = sv->request_time,
		.close_needed = sv->close_needed,
		.ptr = sv,
		.link = sv->client,
		.remote_pid = (int)sv->backend_pid,
		.prepared = ps_server_count(&sv->ps),
		.id = sv->id,
	};
	socket_row(r, &s, filter);
}

static void show_sockets_of(struct reply *r, unsigned filter)
{
	struct loop *loop = loop_of(r);
	struct list_node *n, *m;

	reply_header(r, socket_cols,
		     (filter & SOCK_BUFFERS) ? (int)ARRAY_SIZE(socket_cols) : SOCKET_COLS_BASIC);
	list_for_each(n, &loop->pools)
	{
		struct pool *pool = container_of(n, struct pool, node);
		struct list *clients[3], *servers[5];
		pool_client_lists(pool, clients);
		pool_server_lists(pool, servers);
		for (int i = 0; (filter & SOCK_CLIENTS) && i < 3; i++)
			list_for_each(m, clients[i])
				client_row(r, container_of(m, struct client, node), filter);
		for (int i = 0; (filter & SOCK_SERVERS) && i < 5; i++)
			list_for_each(m, servers[i])
				server_row(r, container_of(m, struct server, node), filter);
	}
	if (filter & SOCK_CLIENTS)
		list_for_each(n, &loop->admin_clients)
			client_row(r, container_of(n, struct client, node), filter);
}

static void show_clients(struct reply *r)
{
	show_sockets_of(r, SOCK_CLIENTS);
}

static void show_servers(struct reply *r)
{
	show_sockets_of(r, SOCK_SERVERS);
}

static void show_sockets(struct reply *r)
{
	show_sockets_of(r, SOCK_CLIENTS | SOCK_SERVERS | SOCK_BUFFERS);
}

static void show_active_sockets(struct reply *r)
{
	show_sockets_of(r, SOCK_CLIENTS | SOCK_SERVERS | SOCK_BUFFERS | SOCK_ACTIVE);
}

/* --- SHOW POOLS --------------------------------------------------------------- */

static const struct admin_column pool_cols[] = {
	{"database", COL_TEXT},
	{"user", COL_TEXT},
	{"cl_active", COL_INT4},
	{"cl_waiting", COL_INT4},
	{"cl_active_cancel_req", COL_INT4},
	{"cl_waiting_cancel_req", COL_INT4},
	{"sv_active", COL_INT4},
	{"sv_active_cancel", COL_INT4},
	{"sv_being_canceled", COL_INT4},
	{"sv_idle", COL_INT4},
	{"sv_used", COL_INT4},
	{"sv_tested", COL_INT4},
	{"sv_login", COL_INT4},
	{"maxwait", COL_INT4},
	{"maxwait_us", COL_INT4},
	{"pool_mode", COL_TEXT},
	{"load_balance_hosts", COL_TEXT},
};

/* How long the oldest client of POOL has waited for a server. */
static usec_t pool_maxwait(const struct pool *pool)
{
	usec_t now = pool->loop->now, wait = 0;
	struct list_node *first = list_first(&pool->waiting_clients);

	if (first) {
		const struct client *c = container_of(first, struct client, node);
		if (c->wait_start)
			wait = now - c->wait_start;
	}
	first = list_first(&pool->login_clients);
	if (first) {
		const struct client *c = container_of(first, struct client, node);
		if (now - c->connect_mono > wait)
			wait = now - c->connect_mono;
	}
	return wait;
}

static void pool_row(struct reply *r, const char *db, const char *user, const int counts[11],
		     usec_t maxwait, const char *mode)
{
	reply_row(r);
	reply_text(r, db);
	reply_text(r, user);
	for (int i = 0; i < 11; i++)
		reply_int(r, counts[i]);
	reply_int(r, maxwait / USEC_PER_SEC);
	reply_int(r, maxwait % USEC_PER_SEC);
	reply_text(r, mode);
	reply_null(r);
	reply_row_end(r);
}

static void show_pools(struct reply *r)
{
	struct loop *loop = loop_of(r);
	struct list_node *n;

	reply_header(r, COLS(pool_cols));
	list_for_each(n, &loop->pools)
	{
		const struct pool *p = container_of(n, struct pool, node);
		/* clients waiting for the pool's first login wait for a server too */
		int counts[11] = {p->active_clients.count,
				  p->waiting_clients.count + p->login_clients.count,
				  0,
				  0,
				  p->active_servers.count,
				  0,
				  0,
				  p->idle_servers.count,
				  p->used_servers.count,
				  p->tested_servers.count,
				  p->login_servers.count};
		pool_row(r, p->db->name, p->user->name, counts, pool_maxwait(p),
			 config_pool_mode_name(p->mode));
	}
	int console[11] = {loop->admin_clients.count};
	pool_row(r, CONSOLE_NAME, CONSOLE_NAME, console, 0, "statement");
}

/* --- SHOW STATS, STATS_TOTALS, STATS_AVERAGES, TOTALS ------------------------- */

static const struct admin_column stats_cols[] = {
	{"database", COL_TEXT},
	{"total_server_assignment_count", COL_NUMERIC},
	{"total_xact_count", COL_NUMERIC},
	{"total_query_count", COL_NUMERIC},
	{"total_received", COL_NUMERIC},
	{"total_sent", COL_NUMERIC},
	{"total_xact_time", COL_NUMERIC},
	{"total_query_time", COL_NUMERIC},
	{"total_wait_time", COL_NUMERIC},
	{"total_client_parse_count", COL_NUMERIC},
	{"total_server_parse_count", COL_NUMERIC},
	{"total_bind_count", COL_NUMERIC},
	{"avg_server_assignment_count", COL_NUMERIC},
	{"avg_xact_count", COL_NUMERIC},
	{"avg_query_count", COL_NUMERIC},
	{"avg_recv", COL_NUMERIC},
	{"avg_sent", COL_NUMERIC},
	{"avg_xact_time", COL_NUMERIC},
	{"avg_query_time", COL_NUMERIC},
	{"avg_wait_time", COL_NUMERIC},
	{"avg_client_parse_count", COL_NUMERIC},
	{"avg_server_parse_count", COL_NUMERIC},
	{"avg_bind_count", COL_NUMERIC},
};

static const struct admin_column stats_totals_cols[] = {
	{"database", COL_TEXT},
	{"server_assignment_count", COL_NUMERIC},
	{"xact_count", COL_NUMERIC},
	{"query_count", COL_NUMERIC},
	{"bytes_received", COL_NUMERIC},
	{"bytes_sent", COL_NUMERIC},
	{"xact_time", COL_NUMERIC},
	{"query_time", COL_NUMERIC},
	{"wait_time", COL_NUMERIC},
	{"client_parse_count", COL_NUMERIC},
	{"server_parse_count", COL_NUMERIC},
	{"bind_count", COL_NUMERIC},
};

static const struct admin_column stats_averages_cols[] = {
	{"database", COL_TEXT},
	{"server_assignment_count", COL_NUMERIC},
	{"xact_count", COL_NUMERIC},
	{"query_count", COL_NUMERIC},
	{"bytes_received", COL_NUMERIC},
	{"bytes_sent", COL_NUMERIC},
	{"xact_time", COL_NUMERIC},
	{"query_time", COL_NUMERIC},
	{"wait_time", COL_NUMERIC},
	{"avg_client_parse_count", COL_NUMERIC},
	{"avg_server_parse_count", COL_NUMERIC},
	{"avg_bind_count", COL_NUMERIC},
};

/* The eleven values of a counter set, in column order. */
static void reply_counters(struct reply *r, const struct stats_counters *c)
{
	const uint64_t v[] = {c->server_assignments, c->xact_count, c->query_count,
			      c->bytes_in,           c->bytes_out,  c->xact_time,
			      c->query_time,         c->wait_time,  c->client_parse_count,
			      c->server_parse_count, c->bind_count};
	for (size_t i = 0; i < ARRAY_SIZE(v); i++)
		reply_u64(r, v[i]);
}

enum stats_part { PART_BOTH, PART_TOTALS, PART_AVERAGES };

static void show_stats_part(struct reply *r, enum stats_part part)
{
	struct loop *loop = loop_of(r);
	const struct stats_counters zero = {0};
	struct list_node *n;

	if (part == PART_BOTH)
		reply_header(r, COLS(stats_cols));
	else if (part == PART_TOTALS)
		reply_header(r, COLS(stats_totals_cols));
	else
		reply_header(r, COLS(stats_averages_cols));
	list_for_each(n, &loop->databases)
	{
		const struct database *db = container_of(n, struct database, node);
		struct stats_counters totals, avg;
		if (db->removed)
			continue;
		stats_totals(loop, db, &totals);
		stats_averages(loop, db, &avg);
		reply_row(r);
		reply_text(r, db->name);
		if (part != PART_AVERAGES)
			reply_counters(r, &totals);
		if (part != PART_TOTALS)
			reply_counters(r, &avg);
		reply_row_end(r);
	}
	reply_row(r);
	reply_text(r, CONSOLE_NAME);
	reply_counters(r, &zero);
	if (part == PART_BOTH)
		reply_counters(r, &zero);
	reply_row_end(r);
}

static void show_stats(struct reply *r)
{
	show_stats_part(r, PART_BOTH);
}

static void show_stats_totals(struct reply *r)
{
	show_stats_part(r, PART_TOTALS);
}

static void show_stats_averages(struct reply *r)
{
	show_stats_part(r, PART_AVERAGES);
}

static void show_totals(struct reply *r)
{
	static const struct admin_column cols[] = {{"name", COL_TEXT}, {"value", COL_NUMERIC}};
	static const char *const names[] = {
		"server_assignment_count",
		"xact_count",
		"query_count",
		"client_bytes",
		"server_bytes",
		"xact_time",
		"query_time",
		"wait_time",
		"ps_client_parse_count",
		"ps_server_parse_count",
		"ps_bind_count",
	};
	struct stats_counters sets[2];
	char name[64];

	stats_totals(loop_of(r), NULL, &sets[0]);
	stats_averages(loop_of(r), NULL, &sets[1]);
	reply_header(r, COLS(cols));
	for (int s = 0; s < 2; s++) {
		const struct stats_counters *c = &sets[s];
		const uint64_t v[] = {c->server_assignments, c->xact_count, c->query_count,
				      c->bytes_in,           c->bytes_out,  c->xact_time,
				      c->query_time,         c->wait_time,  c->client_parse_count,
				      c->server_parse_count, c->bind_count};
		for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
			snprintf(name, sizeof(name), "%s_%s", s ? "avg" : "total", names[i]);
			reply_row(r);
			reply_text(r, name);
			reply_u64(r, v[i]);
			reply_row_end(r);
		}
	}
}

/* --- SHOW DATABASES, USERS, CONFIG -------------------------------------------- */

static const struct admin_column database_cols[] = {
	{"name", COL_TEXT},
	{"host", COL_TEXT},
	{"port", COL_INT4},
	{"database", COL_TEXT},
	{"force_user", COL_TEXT},
	{"pool_size", COL_INT4},
	{"min_pool_size", COL_INT4},
	{"reserve_pool_size", COL_INT4},
	{"server_lifetime", COL_INT4},
	{"pool_mode", COL_TEXT},
	{"load_balance_hosts", COL_TEXT},
	{"max_connections", COL_INT4},
	{"current_connections", COL_INT4},
	{"max_client_connections", COL_INT4},
	{"current_client_connections", COL_INT4},
	{"paused", COL_INT4},
	{"disabled", COL_INT4},
};

static void show_databases(struct reply *r)
{
	struct loop *loop = loop_of(r);
	long long lifetime = loop->cfg->server_lifetime / USEC_PER_SEC;
	struct list_node *n;

	reply_header(r, COLS(database_cols));
	list_for_each(n, &loop->databases)
	{
		const struct database *db = container_of(n, struct database, node);
		if (db->removed)
			continue;
		reply_row(r);
		reply_text(r, db->name);
		reply_text(r, db->host);
		reply_int(r, db->port);
		reply_text(r, db->dbname);
		reply_text(r, db->force_user);
		reply_int(r, db->pool_size);
		reply_int(r, db->min_pool_size);
		reply_int(r, db->reserve_pool);
		reply_int(r, lifetime);
		reply_text(r, mode_or_null(db->mode_override));
		reply_null(r);
		reply_int(r, db->max_db_connections);
		reply_int(r, db->server_count);
		reply_int(r, 0);
		reply_int(r, db->client_count);
		reply_int(r, db->paused);
		reply_int(r, db->disabled);
		reply_row_end(r);
	}
	reply_row(r);
	reply_text(r, CONSOLE_NAME);
	reply_null(r);
	reply_int(r, loop->cfg->listen_port);
	reply_text(r, CONSOLE_NAME);
	reply_text(r, CONSOLE_NAME);
	for (int i = 0; i < 4; i++) /* pool_size .. server_lifetime */
		reply_int(r, i == 0 ? 2 : 0);
	reply_text(r, "statement");
	reply_null(r);
	reply_int(r, 0);
	reply_int(r, 0);
	reply_int(r, 0);
	reply_int(r, loop->admin_clients.count);
	reply_int(r, 0);
	reply_int(r, 0);
	reply_row_end(r);
}

static void show_users(struct reply *r)
{
	static const struct admin_column cols[] = {
		{"name", COL_TEXT},
		{"pool_size", COL_TEXT},
		{"reserve_pool_size", COL_TEXT},
		{"pool_mode", COL_TEXT},
		{"max_user_connections", COL_INT4},
		{"current_connections", COL_INT4},
		{"max_user_client_connections", COL_INT4},
		{"current_client_connections", COL_INT4},
	};
	struct loop *loop = loop_of(r);
	struct list_node *n;

	reply_header(r, COLS(cols));
	list_for_each(n, &loop->users)
	{
		const struct user *u = container_of(n, struct user, node);
		const struct user_config *uc = config_find_user(loop->cfg, u->name);
		reply_row(r);
		reply_text(r, u->name);
		reply_null(r); /* no per-user pool_size or reserve_pool_size yet */
		reply_null(r);
		reply_text(r, uc ? mode_or_null(uc->pool_mode) : NULL);
		reply_int(r, uc && uc->max_user_connections >= 0 ? uc->max_user_connections
								 : loop->cfg->max_user_connections);
		reply_int(r, u->server_count);
		reply_int(r, 0);
		reply_int(r, u->client_count);
		reply_row_end(r);
	}
}

static void config_row(void *arg, const char *name, const char *value, const char *default_value,
		       bool reloadable)
{
	struct reply *r = arg;
	reply_row(r);
	reply_text(r, name);
	reply_text(r, value);
	reply_text(r, default_value);
	reply_text(r, reloadable ? "yes" : "no");
	reply_row_end(r);
}

static void show_config(struct reply *r)
{
	static const struct admin_column cols[] = {{"key", COL_TEXT},
						   {"value", COL_TEXT},
						   {"default", COL_TEXT},
						   {"changeable", COL_TEXT}};
	reply_header(r, COLS(cols));
	config_show(loop_of(r)->cfg, config_row, r);
}

/* --- SHOW LISTS, MEM, FDS ----------------------------------------------------- */

static int server_total(struct loop *loop)
{
	struct list_node *n;
	int total = 0;
	list_for_each(n, &loop->pools) total +=
		pool_server_count(container_of(n, struct pool, node));
	return total;
}

static int database_total(struct loop *loop)
{
	struct list_node *n;
	int total = 0;
	list_for_each(n, &loop->databases) total +=
		!container_of(n, struct database, node)->removed;
	return total;
}

static void name_value_row(struct reply *r, const char *name, long long value)
{
	reply_row(r);
	reply_text(r, name);
	reply_int(r, value);
	reply_row_end(r);
}

static void show_lists(struct reply *r)
{
	static const struct admin_column cols[] = {{"list", COL_TEXT}, {"items", COL_INT4}};
	struct loop *loop = loop_of(r);
	const struct {
		const char *name;
		int items;
	} rows[] = {
		{"databases", database_total(loop)},
		{"users", loop->users.count},
		{"peers", 0},
		{"pools", loop->pools.count},
		{"peer_pools", 0},
		{"free_clients", 0}, /* clients and servers are not cached after close */
		{"used_clients", loop->client_count},
		{"login_clients", loop->login_clients.count},
		{"free_servers", 0},
		{"used_servers", server_total(loop)},
		{"dns_names", 0}, /* names are resolved at load and reload only */
		{"dns_zones", 0},
		{"dns_queries", 0},
		{"dns_pending", 0},
	};
	reply_header(r, COLS(cols));
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++)
		name_value_row(r, rows[i].name, rows[i].items);
}

static void mem_row(struct reply *r, const char *name, long long size, long long used,
		    long long nfree)
{
	reply_row(r);
	reply_text(r, name);
	reply_int(r, size);
	reply_int(r, used);
	reply_int(r, nfree);
	reply_int(r, size * (used + nfree));
	reply_row_end(r);
}

static void show_mem(struct reply *r)
{
	static const struct admin_column cols[] = {{"name", COL_TEXT},
						   {"size", COL_INT4},
						   {"used", COL_INT4},
						   {"free", COL_INT4},
						   {"memtotal", COL_INT4}};
	struct loop *loop = loop_of(r);

	reply_header(r, COLS(cols));
	mem_row(r, "clients", sizeof(struct client), loop->client_count, 0);
	mem_row(r, "servers", sizeof(struct server), server_total(loop), 0);
	mem_row(r, "pools", sizeof(struct pool), loop->pools.count, 0);
	mem_row(r, "databases", sizeof(struct database), loop->databases.count, 0);
	mem_row(r, "users", sizeof(struct user), loop->users.count, 0);
	mem_row(r, "iobufs", loop->bufs.size, loop->bufs.nused, loop->bufs.nfree);
}

static const struct admin_column fd_cols[] = {
	{"fd", COL_INT4},
	{"task", COL_TEXT},
	{"user", COL_TEXT},
	{"database", COL_TEXT},
	{"addr", COL_TEXT},
	{"port", COL_INT4},
	{"cancel", COL_INT8},
	{"link", COL_INT4},
	{"client_encoding", COL_TEXT},
	{"std_strings", COL_TEXT},
	{"datestyle", COL_TEXT},
	{"timezone", COL_TEXT},
	{"password", COL_TEXT},
	{"scram_client_key", COL_BYTEA},
	{"scram_server_key", COL_BYTEA},
};

/* One FDS row. Cancel keys, passwords and SCRAM keys are never shown:
 * SHOW FDS exists for PgBouncer's online restart, which we do not do. */
static void fd_row(struct reply *r, const char *task, const char *user, const char *db,
		   const struct conn *c, const struct params *params)
{
	reply_row(r);
	reply_int(r, c->fd);
	reply_text(r, task);
	reply_text(r, user);
	reply_text(r, db);
	reply_text(r, c->addr_str);
	reply_int(r, c->port);
	reply_null(r);
	if (c->peer)
		reply_int(r, c->peer->fd);
	else
		reply_null(r);
	reply_text(r, params->values[PARAM_CLIENT_ENCODING]);
	reply_text(r, params->values[PARAM_STANDARD_CONFORMING_STRINGS]);
	reply_text(r, params->values[PARAM_DATESTYLE]);
	reply_text(r, params->values[PARAM_TIMEZONE]);
	for (int i = 0; i < 3; i++)
		reply_null(r);
	reply_row_end(r);
}

static void show_fds(struct reply *r)
{
	struct loop *loop = loop_of(r);
	struct list_node *n, *m;

	reply_header(r, COLS(fd_cols));
	list_for_each(n, &loop->listeners)
	{
		const struct listener *l = container_of(n, struct listener, node);
		char addr[128];
		snprintf(addr, sizeof(addr), "%s", l->is_unix ? "unix" : l->desc);
		char *colon = strrchr(addr, ':');
		if (colon && !l->is_unix)
			*colon = '\0';
		reply_row(r);
		reply_int(r, l->fd);
		reply_text(r, "pooler");
		reply_null(r);
		reply_null(r);
		reply_text(r, addr);
		reply_int(r, loop->cfg->listen_port);
		reply_int(r, 0);
		reply_int(r, 0);
		for (int i = 0; i < 7; i++)
			reply_null(r);
		reply_row_end(r);
	}
	list_for_each(n, &loop->pools)
	{
		struct pool *pool = container_of(n, struct pool, node);
		struct list *clients[3], *servers[5];
		pool_client_lists(pool, clients);
		pool_server_lists(pool, servers);
		for (int i = 0; i < 3; i++)
			list_for_each(m, clients[i])
			{
				const struct client *c = container_of(m, struct client, node);
				fd_row(r, "client", c->user_name, c->db_name, &c->conn, &c->params);
			}
		for (int i = 0; i < 5; i++)
			list_for_each(m, servers[i])
			{
				const struct server *s = container_of(m, struct server, node);
				fd_row(r, "server", pool->user->name, pool->db->name, &s->conn,
				       &s->params);
			}
	}
	list_for_each(n, &loop->admin_clients)
	{
		const struct client *c = container_of(n, struct client, node);
		fd_row(r, "client", c->user_name, c->db_name, &c->conn, &c->params);
	}
}

/* --- SHOW HELP, VERSION, STATE, and the empty DNS and peer tables -------------- */

static void show_help(struct reply *r)
{
	reply_notice(r, "NOTICE", "Console usage",
		     "\n\tSHOW HELP|CONFIG|DATABASES|POOLS|CLIENTS|SERVERS|USERS|VERSION|STATE"
		     "\n\tSHOW PEERS|PEER_POOLS"
		     "\n\tSHOW FDS|SOCKETS|ACTIVE_SOCKETS|LISTS|MEM"
		     "\n\tSHOW DNS_HOSTS|DNS_ZONES"
		     "\n\tSHOW STATS|STATS_TOTALS|STATS_AVERAGES|TOTALS"
		     "\n\tSHOW CHECKOUTS|LEAKS|ALERTS|LATENCY"
		     "\n\tSET key = arg"
		     "\n\tRELOAD"
		     "\n\tPAUSE [<db>]"
		     "\n\tRESUME [<db>]"
		     "\n\tDISABLE <db>"
		     "\n\tENABLE <db>"
		     "\n\tRECONNECT [<db>]"
		     "\n\tKILL [<db>]"
		     "\n\tKILL_CLIENT <id>"
		     "\n\tSUSPEND"
		     "\n\tSHUTDOWN [WAIT_FOR_SERVERS|WAIT_FOR_CLIENTS]"
		     "\n\tWAIT_CLOSE [<db>]");
}

static void show_version(struct reply *r)
{
	static const struct admin_column cols[] = {{"version", COL_TEXT}};
	reply_header(r, COLS(cols));
	reply_row(r);
	reply_text(r, "PgBouncer " ADMIN_COMPAT_VERSION " (pglifeguard " PACKAGE_VERSION ")");
	reply_row_end(r);
}

static void show_state(struct reply *r)
{
	static const struct admin_column cols[] = {{"key", COL_TEXT}, {"value", COL_TEXT}};
	bool paused = loop_of(r)->paused;
	const char *rows[][2] = {
		{"active", paused || loop_of(r)->suspended ? "no" : "yes"},
		{"paused", paused ? "yes" : "no"},
		{"suspended", loop_of(r)->suspended ? "yes" : "no"},
	};
	reply_header(r, COLS(cols));
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		reply_row(r);
		reply_text(r, rows[i][0]);
		reply_text(r, rows[i][1]);
		reply_row_end(r);
	}
}

static void show_dns_hosts(struct reply *r)
{
	static const struct admin_column cols[] = {
		{"hostname", COL_TEXT}, {"ttl", COL_INT8}, {"addrs", COL_TEXT}};
	reply_header(r, COLS(cols));
}

static void show_dns_zones(struct reply *r)
{
	static const struct admin_column cols[] = {
		{"zonename", COL_TEXT}, {"serial", COL_INT8}, {"count", COL_INT4}};
	reply_header(r, COLS(cols));
}

static void show_peers(struct reply *r)
{
	static const struct admin_column cols[] = {{"peer_id", COL_INT4},
						   {"host", COL_TEXT},
						   {"port", COL_INT4},
						   {"pool_size", COL_INT4}};
	reply_header(r, COLS(cols));
}

static void show_peer_pools(struct reply *r)
{
	static const struct admin_column cols[] = {{"database", COL_TEXT},
						   {"cl_active_cancel_req", COL_INT4},
						   {"cl_waiting_cancel_req", COL_INT4},
						   {"sv_active_cancel", COL_INT4},
						   {"sv_login", COL_INT4}};
	reply_header(r, COLS(cols));
}

/* --- SHOW CHECKOUTS, LEAKS (ours; times in microseconds) ------------------- */

static const struct admin_column checkout_cols[] = {
	{"database", COL_TEXT},
	{"user", COL_TEXT},
	{"client_id", COL_INT8},
	{"addr", COL_TEXT},
	{"port", COL_INT4},
	{"application_name", COL_TEXT},
	{"server_id", COL_INT8},
	{"backend_pid", COL_INT4},
	{"started", COL_TEXT},
	{"held_us", COL_INT8},
	{"executing_us", COL_INT8},
	{"idle_in_transaction_us", COL_INT8},
	{"idle_us", COL_INT8},
	{"state", COL_TEXT},
	{"transaction_statements", COL_INT8},
	{"statements", COL_INT8},
	{"listen", COL_TEXT},
	{"suspected_leak", COL_TEXT},
	{"last_statement", COL_TEXT},
	{"session_state", COL_TEXT},
};

static void checkout_row(struct reply *r, const struct server *sv)
{
	const struct loop *loop = loop_of(r);
	const struct checkout *ck = &sv->checkout;
	const struct client *c = sv->client;
	bool busy = leak_server_busy(sv);
	usec_t exec = ck->exec_time + (ck->busy_since ? loop->now - ck->busy_since : 0);
	usec_t idle_xact = ck->idle_xact_time;
	char started[64], kinds[128];

	sessionstate_format(c->session_state, kinds, sizeof(kinds));
	if (!busy && (ck->txn_status == 'T' || ck->txn_status == 'E'))
		idle_xact += loop->now - ck->idle_since;
	fmt_wall(wall_of(loop, ck->start), started, sizeof(started));
	reply_row(r);
	reply_text(r, sv->pool->db->name);
	reply_text(r, c->user_name);
	reply_u64(r, c->id);
	reply_text(r, c->conn.addr_str);
	reply_int(r, c->conn.port);
	reply_text(r, c->params.values[PARAM_APPLICATION_NAME]);
	reply_u64(r, sv->id);
	reply_int(r, (long long)sv->backend_pid);
	reply_text(r, started);
	reply_int(r, (long long)(loop->now - ck->start));
	reply_int(r, (long long)exec);
	reply_int(r, (long long)idle_xact);
	reply_int(r, (long long)leak_idle_time(ck, busy, loop->now));
	reply_text(r, leak_state_name(ck, busy));
	reply_int(r, ck->xact_statements);
	reply_int(r, ck->statements);
	reply_text(r, ck->listen ? "yes" : "no");
	reply_text(r, ck->reported ? "yes" : "no");
	reply_text(r, ck->stmt);
	reply_text(r, kinds);
	reply_row_end(r);
}

static void show_checkouts(struct reply *r)
{
	struct list_node *n, *m;

	reply_header(r, COLS(checkout_cols));
	list_for_each(n, &loop_of(r)->pools)
	{
		struct pool *pool = container_of(n, struct pool, node);
		list_for_each(m, &pool->active_servers)
		{
			struct server *sv = container_of(m, struct server, node);
			if (sv->client && sv->checkout.start)
				checkout_row(r, sv);
		}
	}
}

/* One row per pool (leaks: flagged since start; suspected: now), then
 * one per checkout flagged and not yet returned, with the client. */
static void show_leaks(struct reply *r)
{
	static const struct admin_column cols[] = {
		{"type", COL_TEXT},
		{"database", COL_TEXT},
		{"user", COL_TEXT},
		{"leaks", COL_INT8},
		{"suspected", COL_INT8},
		{"client_id", COL_INT8},
		{"addr", COL_TEXT},
		{"port", COL_INT4},
		{"application_name", COL_TEXT},
		{"backend_pid", COL_INT4},
		{"held_us", COL_INT8},
		{"idle_us", COL_INT8},
		{"state", COL_TEXT},
		{"last_statement", COL_TEXT},
	};
	const struct loop *loop = loop_of(r);
	struct list_node *n, *m;

	reply_header(r, COLS(cols));
	list_for_each(n, &loop->pools)
	{
		struct pool *pool = container_of(n, struct pool, node);
		int suspected = 0;
		list_for_each(m, &pool->active_servers) if (container_of(m, struct server, node)
								    ->checkout.reported)
			suspected++;
		reply_row(r);
		reply_text(r, "pool");
		reply_text(r, pool->db->name);
		reply_text(r, pool->user->name);
		reply_u64(r, pool->leak_count);
		reply_int(r, suspected);
		for (int i = 0; i < 9; i++)
			reply_null(r);
		reply_row_end(r);
	}
	list_for_each(n, &loop->pools)
	{
		struct pool *pool = container_of(n, struct pool, node);
		list_for_each(m, &pool->active_servers)
		{
			const struct server *sv = container_of(m, struct server, node);
			const struct checkout *ck = &sv->checkout;
			const struct client *c = sv->client;
			if (!c || !ck->start || !ck->reported)
				continue;
			bool busy = leak_server_busy(sv);
			reply_row(r);
			reply_text(r, "checkout");
			reply_text(r, pool->db->name);
			reply_text(r, c->user_name);
			reply_null(r);
			reply_null(r);
			reply_u64(r, c->id);
			reply_text(r, c->conn.addr_str);
			reply_int(r, c->conn.port);
			reply_text(r, c->params.values[PARAM_APPLICATION_NAME]);
			reply_int(r, (long long)sv->backend_pid);
			reply_int(r, (long long)(loop->now - ck->start));
			reply_int(r, (long long)leak_idle_time(ck, busy, loop->now));
			reply_text(r, leak_state_name(ck, busy));
			reply_text(r, ck->stmt);
			reply_row_end(r);
		}
	}
}

/* Active alerts, then the recently resolved ones (alert.c keeps them). */
static void alert_row(void *arg, const struct alert_row *a)
{
	struct reply *r = arg;
	char buf[64];

	reply_row(r);
	reply_text(r, a->alert);
	reply_text(r, a->database);
	reply_text(r, a->user);
	reply_text(r, a->state);
	fmt_wall((usec_t)a->since * USEC_PER_SEC, buf, sizeof(buf));
	reply_text(r, buf);
	snprintf(buf, sizeof(buf), "%.3f", a->value);
	reply_text(r, buf);
	snprintf(buf, sizeof(buf), "%.3f", a->threshold);
	reply_text(r, buf);
	reply_text(r, a->detail);
	reply_row_end(r);
}

static void show_alerts(struct reply *r)
{
	static const struct admin_column cols[] = {
		{"alert", COL_TEXT},        {"database", COL_TEXT}, {"user", COL_TEXT},
		{"state", COL_TEXT},        {"since", COL_TEXT},    {"value", COL_NUMERIC},
		{"threshold", COL_NUMERIC}, {"detail", COL_TEXT},
	};

	reply_header(r, COLS(cols));
	alert_foreach(loop_of(r), alert_row, r);
}

/* Percentiles of each pool's histograms, in microseconds. */
static void show_latency(struct reply *r)
{
	static const struct admin_column cols[] = {
		{"database", COL_TEXT},        {"user", COL_TEXT},
		{"query_count", COL_INT8},     {"query_p50_us", COL_INT8},
		{"query_p90_us", COL_INT8},    {"query_p99_us", COL_INT8},
		{"query_max_us", COL_INT8},    {"xact_count", COL_INT8},
		{"xact_p50_us", COL_INT8},     {"xact_p90_us", COL_INT8},
		{"xact_p99_us", COL_INT8},     {"xact_max_us", COL_INT8},
		{"wait_count", COL_INT8},      {"wait_p50_us", COL_INT8},
		{"wait_p90_us", COL_INT8},     {"wait_p99_us", COL_INT8},
		{"wait_max_us", COL_INT8},     {"checkout_count", COL_INT8},
		{"checkout_p50_us", COL_INT8}, {"checkout_p90_us", COL_INT8},
		{"checkout_p99_us", COL_INT8}, {"checkout_max_us", COL_INT8},
	};
	static const double qs[] = {0.5, 0.9, 0.99};
	struct list_node *n;

	reply_header(r, COLS(cols));
	list_for_each(n, &loop_of(r)->pools)
	{
		const struct pool *pool = container_of(n, struct pool, node);
		const struct histogram *hs[] = {&pool->query_hist, &pool->xact_hist,
						&pool->wait_hist, &pool->checkout_hist};
		reply_row(r);
		reply_text(r, pool->db->name);
		reply_text(r, pool->user->name);
		for (int i = 0; i < 4; i++) {
			reply_u64(r, hs[i]->count);
			for (int q = 0; q < 3; q++)
				reply_u64(r, (uint64_t)(histogram_quantile(hs[i], qs[q]) + 0.5));
			reply_u64(r, hs[i]->max);
		}
		reply_row_end(r);
	}
}

/* --- dispatch ------------------------------------------------------------------- */

static const struct {
	const char *name;
	void (*fn)(struct reply *r);
} shows[] = {
	{"active_sockets", show_active_sockets},
	{"alerts", show_alerts},
	{"checkouts", show_checkouts},
	{"clients", show_clients},
	{"config", show_config},
	{"databases", show_databases},
	{"dns_hosts", show_dns_hosts},
	{"dns_zones", show_dns_zones},
	{"fds", show_fds},
	{"help", show_help},
	{"latency", show_latency},
	{"leaks", show_leaks},
	{"lists", show_lists},
	{"mem", show_mem},
	{"peer_pools", show_peer_pools},
	{"peers", show_peers},
	{"pools", show_pools},
	{"servers", show_servers},
	{"sockets", show_sockets},
	{"state", show_state},
	{"stats", show_stats},
	{"stats_averages", show_stats_averages},
	{"stats_totals", show_stats_totals},
	{"totals", show_totals},
	{"users", show_users},
	{"version", show_version},
};

/* What drivers ask a server they connect to; the console answers as a
 * UTF-8, ISO-dates, GMT server would, matching its ParameterStatus. */
static const struct {
	const char *name; /* spelled as PostgreSQL names the column */
	const char *value;
} fixed_params[] = {
	{"client_encoding", "UTF8"},
	{"server_encoding", "UTF8"},
	{"DateStyle", "ISO"},
	{"TimeZone", "GMT"},
	{"standard_conforming_strings", "on"},
	{"default_transaction_isolation", "read committed"},
	{"transaction_isolation", "read committed"},
	{"integer_datetimes", "on"},
	{"server_version", ADMIN_SERVER_VERSION},
};

const char *admin_fixed_param(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(fixed_params); i++)
		if (strcasecmp(name, fixed_params[i].name) == 0)
			return fixed_params[i].value;
	return NULL;
}

bool admin_show(struct reply *r, const char *what)
{
	for (size_t i = 0; i < ARRAY_SIZE(shows); i++) {
		if (strcasecmp(what, shows[i].name) == 0) {
			shows[i].fn(r);
			reply_complete(r, "SHOW");
			return true;
		}
	}
	for (size_t i = 0; i < ARRAY_SIZE(fixed_params); i++) {
		if (strcasecmp(what, fixed_params[i].name) == 0) {
			const struct admin_column col = {fixed_params[i].name, COL_TEXT};
			reply_header(r, &col, 1);
			reply_row(r);
			reply_text(r, fixed_params[i].value);
			reply_row_end(r);
			reply_complete(r, "SHOW");
			return true;
		}
	}
	return false;
}
