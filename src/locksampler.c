/* The lock sampler: one prepared query per tick (sql/lock_sample.sql),
 * which costs one pass over pg_stat_activity when nothing waits. When
 * something waits, the pooler is asked which of its clients the backends
 * serve, then the sample is written in one transaction: the backends, the
 * edges and each waiter's root blocker. A database without waits writes
 * nothing, except one empty sample when the waits end. */
#include "locksampler.h"
#include <libpq-fe.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "list.h"
#include "locktree.h"
#include "log.h"
#include "sql_embed.h"
#include "store_locks.h"

#define BACKOFF_MAX (300 * USEC_PER_SEC)
#define OWNERS_TIMEOUT 1.0 /* seconds the pooler has to answer */
#define STMT_NAME "pglifeguard_lock_sample"
#define NCOLS 17

enum locksampler_state {
	LOCKS_DOWN, /* no connection; next attempt at next_try */
	LOCKS_CONNECTING, /* PQconnectPoll in progress */
	LOCKS_PREPARING, /* the sample query is being prepared */
	LOCKS_IDLE, /* connected, waiting for the next tick */
	LOCKS_QUERY, /* the sample query is running */
	LOCKS_OWNERS, /* waiting for the pooler's answer about the backends */
};

struct locksampler {
	struct ev_loop *ev;
	struct store *store;
	struct store_locks *sl;
	struct backend_owner *owners;
	struct backend_owner_req req;
	char *name, *conninfo, *host;
	int port;
	usec_t interval;
	ev_timer timer;
	ev_timer owners_timer;
	ev_io io;
	PGconn *conn;
	enum locksampler_state state;
	bool query_failed;
	PGresult *res; /* the sample being built, until written */
	usec_t at; /* when it was taken, wall clock */
	struct store_lock_backend *backends;
	size_t nbackends, capbackends;
	struct locktree_edge *edges;
	size_t nedges, capedges;
	int last_waiters; /* of the last sample written */
	int failures;
	usec_t next_try; /* monotonic */
	bool warned_query; /* since the last success */
	bool warned_privilege; /* once */
};

static void watch(struct locksampler *s, int events)
{
	ev_io_stop(s->ev, &s->io);
	if (!s->conn || PQsocket(s->conn) < 0 || !events)
		return;
	ev_io_set(&s->io, PQsocket(s->conn), events);
	ev_io_start(s->ev, &s->io);
}

static void drop_sample(struct locksampler *s)
{
	ev_timer_stop(s->ev, &s->owners_timer);
	if (s->owners)
		backend_owner_cancel(s->owners, &s->req);
	if (s->res)
		PQclear(s->res);
	s->res = NULL;
	s->nbackends = s->nedges = 0;
}

static void disconnect(struct locksampler *s)
{
	ev_io_stop(s->ev, &s->io);
	drop_sample(s);
	if (s->conn)
		PQfinish(s->conn);
	s->conn = NULL;
	s->state = LOCKS_DOWN;
}

/* conn_failed: the first failure of a streak is a warning, the rest debug;
 * attempts back off exponentially up to five minutes. */
static void conn_failed(struct locksampler *s, const char *what)
{
	char msg[256];
	snprintf(msg, sizeof(msg), "%s", s->conn ? PQerrorMessage(s->conn) : "out of memory");
	msg[strcspn(msg, "\n")] = '\0';
	disconnect(s);
	usec_t backoff = s->interval << (s->failures < 8 ? s->failures : 8);
	if (backoff > BACKOFF_MAX)
		backoff = BACKOFF_MAX;
	if (s->failures == 0)
		log_warning("monitor: database %s: lock sampler: %s: %s; retrying with backoff",
			    s->name, what, msg);
	else
		log_debug("monitor: database %s: lock sampler: %s: %s; next try in %lld s", s->name,
			  what, msg, (long long)(backoff / USEC_PER_SEC));
	s->failures++;
	s->next_try = timeutil_now() + backoff;
}

static void connect_start(struct locksampler *s)
{
	s->conn = PQconnectStart(s->conninfo);
	if (!s->conn || PQstatus(s->conn) == CONNECTION_BAD) {
		conn_failed(s, "cannot connect");
		return;
	}
	s->state = LOCKS_CONNECTING;
	watch(s, EV_WRITE);
}

static void sent(struct locksampler *s, enum locksampler_state state, bool ok)
{
	if (!ok) {
		conn_failed(s, "cannot send the lock query");
		return;
	}
	s->state = state;
	s->query_failed = false;
	int r = PQflush(s->conn);
	if (r < 0) {
		conn_failed(s, "cannot send the lock query");
		return;
	}
	watch(s, EV_READ | (r ? EV_WRITE : 0));
}

static void timer_cb(struct ev_loop *ev, ev_timer *w, int revents)
{
	struct locksampler *s = container_of(w, struct locksampler, timer);
	switch (s->state) {
	case LOCKS_DOWN:
		if (timeutil_now() >= s->next_try)
			connect_start(s);
		break;
	case LOCKS_IDLE:
		s->at = timeutil_wall();
		sent(s, LOCKS_QUERY,
		     PQsendQueryPrepared(s->conn, STMT_NAME, 0, NULL, NULL, NULL, 0) == 1);
		break;
	default:
		log_debug("monitor: database %s: previous lock sample still running, tick "
			  "skipped",
			  s->name);
		break;
	}
}

static void query_warning(struct locksampler *s, const PGresult *res)
{
	if (s->warned_query)
		return;
	s->warned_query = true;
	const char *code = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	log_warning("monitor: database %s: cannot sample lock waits: %s (SQLSTATE %s)", s->name,
		    msg ? msg : "error", code ? code : "?");
}

static const char *col_s(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

static long long col_ll(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? 0 : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

static bool add_edge(struct locksampler *s, int32_t waiter, int32_t blocker)
{
	if (s->nedges == s->capedges) {
		size_t cap = s->capedges ? 2 * s->capedges : 16;
		struct locktree_edge *e = realloc(s->edges, cap * sizeof(*e));
		if (!e)
			return false;
		s->edges = e;
		s->capedges = cap;
	}
	s->edges[s->nedges++] = (struct locktree_edge){.waiter = waiter, .blocker = blocker};
	return true;
}

/* read_sample turns s->res into backends and edges; false when out of
 * memory or the result has an unexpected shape. */
static bool read_sample(struct locksampler *s)
{
	const PGresult *r = s->res;
	int n = PQntuples(r);
	if (PQnfields(r) != NCOLS)
		return false;
	if ((size_t)n > s->capbackends) {
		struct store_lock_backend *b = realloc(s->backends, (size_t)n * sizeof(*b));
		if (!b)
			return false;
		s->backends = b;
		s->capbackends = (size_t)n;
	}
	s->nbackends = s->nedges = 0;
	bool hidden = false;
	for (int i = 0; i < n; i++) {
		struct store_lock_backend *b = &s->backends[s->nbackends++];
		memset(b, 0, sizeof(*b));
		int k = 0;
		b->pid = (int32_t)col_ll(r, i, k++);
		b->waiting = !strcmp(PQgetvalue(r, i, k++), "t");
		const char *blockers = col_s(r, i, k++);
		b->datname = col_s(r, i, k++);
		b->usename = col_s(r, i, k++);
		b->application_name = col_s(r, i, k++);
		b->client_addr = col_s(r, i, k++);
		b->has_client_port = !PQgetisnull(r, i, k);
		b->client_port = (int)col_ll(r, i, k++);
		b->state = col_s(r, i, k++);
		b->query = col_s(r, i, k++);
		b->backend_xid = col_s(r, i, k++);
		b->xact_start_us = col_ll(r, i, k++);
		b->query_start_us = col_ll(r, i, k++);
		b->wait_start_us = col_ll(r, i, k++);
		b->locktype = col_s(r, i, k++);
		b->mode = col_s(r, i, k++);
		b->relation = col_s(r, i, k++);
		if (b->query && !strcmp(b->query, "<insufficient privilege>"))
			hidden = true;
		/* "{12,34}" */
		for (const char *p = blockers; p && *p;) {
			p += strcspn(p, "0123456789");
			if (!*p)
				break;
			char *end;
			long pid = strtol(p, &end, 10);
			if (pid > 0 && !add_edge(s, b->pid, (int32_t)pid))
				return false;
			p = end;
		}
	}
	if (hidden && !s->warned_privilege) {
		s->warned_privilege = true;
		log_warning("monitor: database %s: the lock sampler's user %s sees "
			    "\"<insufficient privilege>\" instead of other users' queries and "
			    "clients; run GRANT pg_read_all_stats TO %s",
			    s->name, PQuser(s->conn), PQuser(s->conn));
	}
	return true;
}

static void write_sample(struct locksampler *s)
{
	ev_timer_stop(s->ev, &s->owners_timer);
	struct locktree_node *nodes = NULL;
	long nnodes = locktree_build(s->edges, s->nedges, &nodes);
	if (nnodes < 0) {
		log_warning("monitor: database %s: out of memory, lock sample dropped", s->name);
		drop_sample(s);
		return;
	}
	int waiters = 0;
	for (size_t i = 0; i < s->nbackends; i++) {
		struct store_lock_backend *b = &s->backends[i];
		waiters += b->waiting;
		b->root_pid = locktree_root_of(nodes, nnodes, b->pid);
	}
	free(nodes);
	struct store *st = s->store;
	if (store_begin(st) < 0) {
		drop_sample(s);
		return;
	}
	int64_t id = store_locks_add_sample(s->sl, s->name, s->at, waiters);
	if (id < 0)
		goto fail;
	for (size_t i = 0; i < s->nbackends; i++)
		if (store_locks_add_backend(s->sl, id, &s->backends[i]) < 0)
			goto fail;
	for (size_t i = 0; i < s->nedges; i++)
		if (store_locks_add_edge(s->sl, id, s->edges[i].waiter, s->edges[i].blocker) < 0)
			goto fail;
	if (store_commit(st) < 0)
		goto fail;
	if (waiters || s->last_waiters)
		log_debug("monitor: database %s: %d backend(s) waiting on locks", s->name, waiters);
	s->last_waiters = waiters;
	drop_sample(s);
	return;
fail:
	store_rollback(st);
	log_warning("monitor: database %s: lock sample not stored", s->name);
	drop_sample(s);
}

static void owners_cb(struct backend_owner_req *req, void *arg,
		      const struct backend_owner_entry *entries, size_t n)
{
	struct locksampler *s = arg;
	if (s->state != LOCKS_OWNERS)
		return;
	s->state = LOCKS_IDLE;
	/* both sorted by pid */
	size_t j = 0;
	for (size_t i = 0; i < s->nbackends; i++) {
		struct store_lock_backend *b = &s->backends[i];
		while (j < n && entries[j].pid < b->pid)
			j++;
		if (j == n || entries[j].pid != b->pid || !entries[j].server_id)
			continue;
		const struct backend_owner_entry *e = &entries[j];
		b->pooler_server_id = e->server_id;
		b->pooler_client_id = e->client_id;
		b->pooler_client_addr = e->client_addr;
		b->pooler_client_port = e->client_port;
		b->pooler_user = e->user;
		b->pooler_database = e->database;
		b->pooler_application_name = e->application_name;
	}
	write_sample(s); /* ENTRIES stay valid until we return */
}

static void owners_timeout_cb(struct ev_loop *ev, ev_timer *w, int revents)
{
	struct locksampler *s = container_of(w, struct locksampler, owners_timer);
	if (s->state != LOCKS_OWNERS)
		return;
	backend_owner_cancel(s->owners, &s->req);
	log_debug("monitor: database %s: the pooler did not say in time which clients the "
		  "backends serve",
		  s->name);
	s->state = LOCKS_IDLE;
	write_sample(s);
}

/* sample_done runs once the sample query returned; s->res holds it. */
static void sample_done(struct locksampler *s)
{
	s->warned_query = false;
	if (!read_sample(s)) {
		log_warning("monitor: database %s: unexpected lock sample result", s->name);
		drop_sample(s);
		return;
	}
	if (!s->nbackends) {
		if (s->last_waiters)
			write_sample(s); /* the waits ended */
		else
			drop_sample(s);
		return;
	}
	if (s->owners) {
		int32_t *pids = malloc(s->nbackends * sizeof(*pids));
		bool ok = pids != NULL;
		for (size_t i = 0; ok && i < s->nbackends; i++)
			pids[i] = s->backends[i].pid;
		ok = ok && backend_owner_ask(s->owners, &s->req, s->host, s->port, pids,
					     s->nbackends, owners_cb, s);
		free(pids);
		if (ok) {
			s->state = LOCKS_OWNERS;
			ev_timer_set(&s->owners_timer, OWNERS_TIMEOUT, 0.0);
			ev_timer_start(s->ev, &s->owners_timer);
			return;
		}
	}
	write_sample(s);
}

static void query_done(struct locksampler *s)
{
	enum locksampler_state was = s->state;
	s->state = LOCKS_IDLE;
	watch(s, EV_READ); /* notice the server closing the connection */
	if (s->query_failed) {
		drop_sample(s);
		if (was == LOCKS_PREPARING)
			conn_failed(s, "cannot prepare the lock query");
		return;
	}
	if (was == LOCKS_QUERY && s->res)
		sample_done(s);
}

static void handle_result(struct locksampler *s, PGresult *res)
{
	ExecStatusType st = PQresultStatus(res);
	if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
		s->query_failed = true;
		query_warning(s, res);
		PQclear(res);
		return;
	}
	if (s->state == LOCKS_QUERY && st == PGRES_TUPLES_OK && !s->res)
		s->res = res;
	else
		PQclear(res);
}

static void io_cb(struct ev_loop *ev, ev_io *w, int revents)
{
	struct locksampler *s = container_of(w, struct locksampler, io);
	if (s->state == LOCKS_CONNECTING) {
		switch (PQconnectPoll(s->conn)) {
		case PGRES_POLLING_READING:
			watch(s, EV_READ);
			return;
		case PGRES_POLLING_WRITING:
			watch(s, EV_WRITE);
			return;
		case PGRES_POLLING_OK:
			if (PQsetnonblocking(s->conn, 1) < 0) {
				conn_failed(s, "cannot make the connection non-blocking");
				return;
			}
			if (s->failures)
				log_info("monitor: database %s: lock sampler connected again",
					 s->name);
			s->failures = 0;
			sent(s, LOCKS_PREPARING,
			     PQsendPrepare(s->conn, STMT_NAME, sql_lock_sample, 0, NULL) == 1);
			return;
		default:
			conn_failed(s, "cannot connect");
			return;
		}
	}
	if ((revents & EV_WRITE) && s->conn) {
		int r = PQflush(s->conn);
		if (r < 0) {
			conn_failed(s, "connection lost");
			return;
		}
		if (r == 0)
			watch(s, EV_READ);
	}
	if (!(revents & EV_READ) || !s->conn)
		return;
	if (!PQconsumeInput(s->conn)) {
		conn_failed(s, "connection lost");
		return;
	}
	if (s->state != LOCKS_QUERY && s->state != LOCKS_PREPARING) {
		PGnotify *n;
		while ((n = PQnotifies(s->conn)))
			PQfreemem(n);
		if (PQstatus(s->conn) == CONNECTION_BAD)
			conn_failed(s, "connection lost");
		return;
	}
	while (!PQisBusy(s->conn)) {
		PGresult *res = PQgetResult(s->conn);
		if (!res) {
			query_done(s);
			return;
		}
		handle_result(s, res);
	}
}

struct locksampler *locksampler_new(struct ev_loop *ev, struct store *store,
				    struct backend_owner *owners, const char *name,
				    const char *conninfo, const char *host, int port,
				    usec_t interval)
{
	struct locksampler *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->ev = ev;
	s->store = store;
	s->owners = owners;
	s->interval = interval;
	s->port = port;
	s->name = strdup(name);
	s->conninfo = strdup(conninfo);
	s->host = strdup(host ? host : "");
	ev_io_init(&s->io, io_cb, -1, 0);
	ev_timer_init(&s->owners_timer, owners_timeout_cb, OWNERS_TIMEOUT, 0.0);
	double secs = (double)interval / (double)USEC_PER_SEC;
	ev_timer_init(&s->timer, timer_cb, secs, secs);
	if (!s->name || !s->conninfo || !s->host || !(s->sl = store_locks_new(store))) {
		locksampler_free(s);
		return NULL;
	}
	ev_timer_start(ev, &s->timer);
	connect_start(s);
	return s;
}

void locksampler_free(struct locksampler *s)
{
	if (!s)
		return;
	ev_timer_stop(s->ev, &s->timer);
	disconnect(s);
	backend_owner_req_free(&s->req);
	store_locks_free(s->sl);
	free(s->backends);
	free(s->edges);
	free(s->name);
	free(s->conninfo);
	free(s->host);
	free(s);
}
