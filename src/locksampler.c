/* The lock sampler: the sampler runs one prepared query per tick
 * (sql/lock_sample.sql) on its connection and hands the rows over here;
 * the query costs one pass over pg_stat_activity when nothing waits. When
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

#define OWNERS_TIMEOUT 1.0 /* seconds the pooler has to answer */
#define NCOLS 17

enum locksampler_state {
	LOCKS_IDLE, /* waiting for the sampler's next rows */
	LOCKS_OWNERS, /* waiting for the pooler's answer about the backends */
};

struct locksampler {
	struct ev_loop *ev;
	struct store *store;
	struct store_locks *sl;
	struct backend_owner *owners;
	struct backend_owner_req req;
	char *name, *host;
	int port;
	ev_timer owners_timer;
	enum locksampler_state state;
	PGresult *res; /* the sample being built, until written */
	usec_t at; /* when it was taken, wall clock */
	struct store_lock_backend *backends;
	size_t nbackends, capbackends;
	struct locktree_edge *edges;
	size_t nedges, capedges;
	int last_waiters; /* of the last sample written */
	bool warned_query; /* since the last success */
	bool warned_privilege; /* once */
};

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

void locksampler_failed(struct locksampler *s, const PGresult *res)
{
	const char *code = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	/* a shutdown or a lost connection (classes 57, 08): the sampler logs
	 * it once, with its backoff */
	if (s->warned_query || (code && (!strncmp(code, "57", 2) || !strncmp(code, "08", 2))))
		return;
	s->warned_query = true;
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
static bool read_sample(struct locksampler *s, const char *user)
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
		log_warning("monitor: database %s: lock waits: user %s sees "
			    "\"<insufficient privilege>\" instead of other users' queries and "
			    "clients; run GRANT pg_read_all_stats TO %s",
			    s->name, user, user);
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

bool locksampler_ready(const struct locksampler *s)
{
	return s->state == LOCKS_IDLE && !s->res;
}

void locksampler_take(struct locksampler *s, PGresult *res, usec_t at, const char *user)
{
	if (!locksampler_ready(s)) {
		PQclear(res);
		return;
	}
	s->res = res;
	s->at = at;
	s->warned_query = false;
	if (!read_sample(s, user)) {
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

struct locksampler *locksampler_new(struct ev_loop *ev, struct store *store,
				    struct backend_owner *owners, const char *name,
				    const char *host, int port)
{
	struct locksampler *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->ev = ev;
	s->store = store;
	s->owners = owners;
	s->port = port;
	s->name = strdup(name);
	s->host = strdup(host ? host : "");
	ev_timer_init(&s->owners_timer, owners_timeout_cb, OWNERS_TIMEOUT, 0.0);
	if (!s->name || !s->host || !(s->sl = store_locks_new(store))) {
		locksampler_free(s);
		return NULL;
	}
	return s;
}

void locksampler_free(struct locksampler *s)
{
	if (!s)
		return;
	drop_sample(s);
	s->state = LOCKS_IDLE;
	backend_owner_req_free(&s->req);
	store_locks_free(s->sl);
	free(s->backends);
	free(s->edges);
	free(s->name);
	free(s->host);
	free(s);
}
