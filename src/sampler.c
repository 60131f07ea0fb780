/* Sampling pg_stat_statements: connection handling with backoff, the
 * sample and text queries, and the delta rules that keep resets, evictions
 * and restarts from producing negative or doubled numbers. The same
 * connection runs the lock sampler's query (locksampler.c) between them. */
#include "sampler.h"
#include <libpq-fe.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "locksampler.h"
#include "log.h"
#include "relstats.h"
#include "sql_embed.h"
#include "store_events.h"

#define BACKOFF_MAX (60 * USEC_PER_SEC)

/* The session advisory lock that elects one sampler per database among
 * pglifeguard instances: the bytes of "pglg". Documented in
 * pglifeguard.ini(5). */
#define LEADER_LOCK_KEY "1885826151"

enum sampler_state {
	SAMPLER_DOWN, /* no connection; next attempt at next_try */
	SAMPLER_CONNECTING, /* PQconnectPoll in progress */
	SAMPLER_IDLE, /* connected, waiting for the next tick */
	/* the states below have a query running */
	SAMPLER_PREPARE, /* the lock sampler's query is being prepared */
	SAMPLER_LOCK, /* pg_try_advisory_lock is running */
	SAMPLER_SAMPLE, /* the sample query is running */
	SAMPLER_TEXTS, /* the text query is running */
	SAMPLER_RELS, /* the table and index statistics query is running */
	SAMPLER_LOCKS, /* the lock sampler's query is running */
};

/* Cumulative counters of one sample, sorted by key. */
struct snapshot {
	struct store_sample *rows;
	size_t n, cap;
	char *stats_reset;
	long long dealloc;
	usec_t at; /* wall clock */
	bool valid;
};

struct sampler {
	struct ev_loop *ev;
	struct store *store;
	char *name, *conninfo;
	usec_t interval;
	ev_timer timer;
	ev_io io;
	PGconn *conn;
	enum sampler_state state;
	struct snapshot prev, cur;
	bool query_failed; /* an error result arrived for the running query */
	PGresult *texts; /* result of the text query, until written */
	struct store_sample *deltas; /* the interval being built */
	size_t ndeltas;
	bool lost;
	usec_t start_us, end_us;
	int failures; /* consecutive connection failures */
	usec_t next_try; /* monotonic */
	bool warned_query; /* a query warning was logged since the last success */
	bool leader; /* holds the leadership lock on this connection */
	bool got_lock; /* the lock query answered true */
	bool standby_logged; /* "another instance samples" was logged */
	bool was_standby; /* another instance held the lock since we last led */
	bool read_all; /* the lock query: the user sees every user's statements */
	bool warned_privilege; /* the pg_read_all_stats warning was logged */
	char user[64]; /* the lock query: current_user */
	bool pgss_ready; /* deltas hold this tick's pg_stat_statements interval */
	struct relstats *rels; /* table and index statistics (relstats.c) */
	bool warned_rels;
	/* lock waits: one query per lock_timer tick while leading, run when
	 * the connection is idle, else right after the running query chain */
	struct locksampler *locks; /* borrowed; NULL: lock waits not sampled */
	ev_timer lock_timer;
	bool lock_prepared; /* on this connection */
	bool lock_due; /* a lock tick came while a sample ran */
	bool sample_due; /* a sample tick came while the lock query ran */
	usec_t lock_at; /* when the lock query was sent, wall clock */
	PGresult *lockres; /* its rows, until it completes */
};

static void io_cb(struct ev_loop *ev, ev_io *w, int revents);

static int key_cmp(const void *a, const void *b)
{
	const struct store_sample *x = a, *y = b;
	if (x->queryid != y->queryid)
		return x->queryid < y->queryid ? -1 : 1;
	if (x->userid != y->userid)
		return x->userid < y->userid ? -1 : 1;
	if (x->dbid != y->dbid)
		return x->dbid < y->dbid ? -1 : 1;
	return 0;
}

static void snapshot_clear(struct snapshot *s)
{
	free(s->stats_reset);
	s->stats_reset = NULL;
	s->n = 0;
	s->valid = false;
}

static void watch(struct sampler *s, int events)
{
	ev_io_stop(s->ev, &s->io);
	if (!s->conn || PQsocket(s->conn) < 0 || !events)
		return;
	ev_io_set(&s->io, PQsocket(s->conn), events);
	ev_io_start(s->ev, &s->io);
}

static void disconnect(struct sampler *s)
{
	s->leader = false; /* a session lock goes with its connection */
	ev_io_stop(s->ev, &s->io);
	if (s->texts) {
		PQclear(s->texts);
		s->texts = NULL;
	}
	if (s->lockres) {
		PQclear(s->lockres);
		s->lockres = NULL;
	}
	s->lock_prepared = s->lock_due = s->sample_due = false;
	if (s->conn)
		PQfinish(s->conn);
	s->conn = NULL;
	s->state = SAMPLER_DOWN;
}

/* conn_failed logs the first failure of a streak as a warning and the
 * rest at debug, so that a database that stays down does not flood the
 * log; attempts back off exponentially up to a minute. */
static void conn_failed(struct sampler *s, const char *what)
{
	char msg[256];
	snprintf(msg, sizeof(msg), "%s", s->conn ? PQerrorMessage(s->conn) : "out of memory");
	msg[strcspn(msg, "\n")] = '\0';
	if (s->leader) {
		log_info("monitor: database %s: no longer sampled by this instance (the sampling "
			 "lock went with the connection)",
			 s->name);
		(void)store_events_leadership(s->store, s->name, false);
		s->standby_logged = false;
	}
	disconnect(s);
	usec_t backoff = s->interval << (s->failures < 5 ? s->failures : 5);
	if (backoff > BACKOFF_MAX)
		backoff = BACKOFF_MAX;
	if (s->failures == 0)
		log_warning("monitor: database %s: %s: %s; retrying with backoff", s->name, what,
			    msg);
	else
		log_debug("monitor: database %s: %s: %s; next try in %lld s", s->name, what, msg,
			  (long long)(backoff / USEC_PER_SEC));
	s->failures++;
	s->next_try = timeutil_now() + backoff;
}

static void connect_start(struct sampler *s)
{
	s->conn = PQconnectStart(s->conninfo);
	if (!s->conn || PQstatus(s->conn) == CONNECTION_BAD) {
		conn_failed(s, "cannot connect");
		return;
	}
	s->state = SAMPLER_CONNECTING;
	watch(s, EV_WRITE);
}

static void send_query(struct sampler *s, enum sampler_state state, bool ok)
{
	if (!ok) {
		conn_failed(s, "cannot send the sampling query");
		return;
	}
	s->state = state;
	s->query_failed = false;
	int r = PQflush(s->conn);
	if (r < 0) {
		conn_failed(s, "cannot send the sampling query");
		return;
	}
	watch(s, EV_READ | (r ? EV_WRITE : 0));
}

static void sample_start(struct sampler *s)
{
	send_query(s, SAMPLER_SAMPLE, PQsendQuery(s->conn, sql_pgss_sample) == 1);
}

/* lock_start asks for the leadership lock; a sampler that holds it
 * samples, the others keep asking at each tick. */
static void lock_start(struct sampler *s)
{
	s->got_lock = false;
	send_query(s, SAMPLER_LOCK,
		   PQsendQuery(s->conn,
			       "SELECT pg_try_advisory_lock(" LEADER_LOCK_KEY "), "
			       "pg_has_role('pg_read_all_stats', 'USAGE'), current_user") == 1);
}

/* locks_start sends the lock sampler's query, unless its previous sample
 * still waits for the pooler's answer. */
static void locks_start(struct sampler *s)
{
	s->lock_due = false;
	if (!s->lock_prepared)
		return;
	if (!locksampler_ready(s->locks)) {
		log_debug("monitor: database %s: previous lock sample not written yet, tick "
			  "skipped",
			  s->name);
		return;
	}
	s->lock_at = timeutil_wall();
	send_query(s, SAMPLER_LOCKS,
		   PQsendQueryPrepared(s->conn, LOCKSAMPLER_STMT, 0, NULL, NULL, NULL, 0) == 1);
}

/* tick starts what a sample_interval brings: the sample for a leader,
 * another try at the leadership lock for a standby. */
static void tick(struct sampler *s)
{
	if (s->leader)
		sample_start(s);
	else
		lock_start(s);
}

/* lock_timer_cb: only a leader samples lock waits, never two queries at
 * once: a tick during a sample runs right after it. */
static void lock_timer_cb(struct ev_loop *ev, ev_timer *w, int revents)
{
	struct sampler *s = (struct sampler *)((char *)w - offsetof(struct sampler, lock_timer));
	if (!s->leader)
		return;
	if (s->state == SAMPLER_IDLE)
		locks_start(s);
	else if (s->state == SAMPLER_LOCKS)
		log_debug("monitor: database %s: previous lock sample still running, tick "
			  "skipped",
			  s->name);
	else
		s->lock_due = true;
}

static void timer_cb(struct ev_loop *ev, ev_timer *w, int revents)
{
	struct sampler *s = (struct sampler *)((char *)w - offsetof(struct sampler, timer));
	switch (s->state) {
	case SAMPLER_DOWN:
		if (timeutil_now() >= s->next_try)
			connect_start(s);
		break;
	case SAMPLER_IDLE:
		tick(s);
		break;
	case SAMPLER_LOCKS:
		s->sample_due = true; /* the lock query is short: right after it */
		break;
	default:
		log_debug("monitor: database %s: previous sample still running, tick skipped",
			  s->name);
		break;
	}
}

/* query_warning names what to run for the usual causes. */
static void query_warning(struct sampler *s, const PGresult *res)
{
	const char *code = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	/* a shutdown or a lost connection (classes 57, 08) is the
	 * connection's business: conn_failed logs it once, with the backoff */
	if (s->warned_query || (code && (!strncmp(code, "57", 2) || !strncmp(code, "08", 2))))
		return;
	s->warned_query = true;
	const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	const char *hint = "";
	if (code && (!strcmp(code, "42P01") || !strcmp(code, "42883")))
		hint = "; run CREATE EXTENSION pg_stat_statements in that database";
	else if (code && !strcmp(code, "55000"))
		hint = "; add pg_stat_statements to shared_preload_libraries and restart "
		       "PostgreSQL";
	else if (code && !strcmp(code, "42501"))
		hint = "; run GRANT pg_read_all_stats TO the monitor user";
	log_warning("monitor: database %s: cannot sample pg_stat_statements: %s (SQLSTATE %s)%s",
		    s->name, msg ? msg : "error", code ? code : "?", hint);
}

static long long col_ll(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? 0 : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

static double col_d(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? 0.0 : strtod(PQgetvalue(r, row, col), NULL);
}

static bool read_snapshot(struct sampler *s, const PGresult *r)
{
	struct snapshot *c = &s->cur;
	snapshot_clear(c);
	int n = PQntuples(r);
	if (PQnfields(r) != 27 || n < 1)
		return false;
	if (!PQgetisnull(r, 0, 0) && !(c->stats_reset = strdup(PQgetvalue(r, 0, 0))))
		return false;
	c->dealloc = col_ll(r, 0, 1);
	if ((size_t)n > c->cap) {
		struct store_sample *rows = realloc(c->rows, (size_t)n * sizeof(*rows));
		if (!rows)
			return false;
		c->rows = rows;
		c->cap = (size_t)n;
	}
	for (int i = 0; i < n; i++) {
		if (PQgetisnull(r, i, 2))
			continue; /* no statements at all, or one hidden from us */
		struct store_sample *x = &c->rows[c->n++];
		int k = 2;
		x->queryid = col_ll(r, i, k++);
		x->userid = col_ll(r, i, k++);
		x->dbid = col_ll(r, i, k++);
		x->calls = col_ll(r, i, k++);
		x->total_exec_time = col_d(r, i, k++);
		x->min_exec_time = col_d(r, i, k++);
		x->max_exec_time = col_d(r, i, k++);
		x->stddev_exec_time = col_d(r, i, k++);
		x->rows = col_ll(r, i, k++);
		x->shared_blks_hit = col_ll(r, i, k++);
		x->shared_blks_read = col_ll(r, i, k++);
		x->shared_blks_dirtied = col_ll(r, i, k++);
		x->shared_blks_written = col_ll(r, i, k++);
		x->local_blks_hit = col_ll(r, i, k++);
		x->local_blks_read = col_ll(r, i, k++);
		x->local_blks_written = col_ll(r, i, k++);
		x->temp_blks_read = col_ll(r, i, k++);
		x->temp_blks_written = col_ll(r, i, k++);
		x->blk_read_time = col_d(r, i, k++);
		x->blk_write_time = col_d(r, i, k++);
		x->wal_records = col_ll(r, i, k++);
		x->wal_fpi = col_ll(r, i, k++);
		x->wal_bytes = col_ll(r, i, k++);
		x->plans = col_ll(r, i, k++);
		x->total_plan_time = col_d(r, i, k++);
	}
	qsort(c->rows, c->n, sizeof(*c->rows), key_cmp);
	c->at = timeutil_wall();
	c->valid = true;
	return true;
}

/* delta sets D = C - P and returns false when any counter went backwards
 * (times are compared with a little slack for float rounding). */
static bool delta(struct store_sample *d, const struct store_sample *c,
		  const struct store_sample *p)
{
	*d = *c;
#define SUB(f)                                                                                     \
	do {                                                                                       \
		if (c->f < p->f)                                                                   \
			return false;                                                              \
		d->f = c->f - p->f;                                                                \
	} while (0)
#define SUBT(f)                                                                                    \
	do {                                                                                       \
		if (c->f < p->f - 1e-6)                                                            \
			return false;                                                              \
		d->f = c->f > p->f ? c->f - p->f : 0.0;                                            \
	} while (0)
	SUB(calls);
	SUBT(total_exec_time);
	SUB(rows);
	SUB(shared_blks_hit);
	SUB(shared_blks_read);
	SUB(shared_blks_dirtied);
	SUB(shared_blks_written);
	SUB(local_blks_hit);
	SUB(local_blks_read);
	SUB(local_blks_written);
	SUB(temp_blks_read);
	SUB(temp_blks_written);
	SUBT(blk_read_time);
	SUBT(blk_write_time);
	SUB(wal_records);
	SUB(wal_fpi);
	SUB(wal_bytes);
	SUB(plans);
	SUBT(total_plan_time);
#undef SUB
#undef SUBT
	return true;
}

/* compute_deltas fills s->deltas from s->prev and s->cur. A changed
 * stats_reset means the counters restarted at an unknown point of the
 * interval: nothing of it is usable. A key that vanished was evicted; a
 * new key started inside the interval, so all its counts belong to it. */
static bool compute_deltas(struct sampler *s)
{
	struct snapshot *p = &s->prev, *c = &s->cur;
	s->ndeltas = 0;
	s->lost = false;
	s->start_us = p->at;
	s->end_us = c->at;
	bool same_reset =
		(!p->stats_reset && !c->stats_reset) ||
		(p->stats_reset && c->stats_reset && !strcmp(p->stats_reset, c->stats_reset));
	if (!same_reset || c->dealloc != p->dealloc)
		s->lost = true;
	if (!same_reset)
		return true;
	free(s->deltas);
	s->deltas = c->n ? calloc(c->n, sizeof(*s->deltas)) : NULL;
	if (c->n && !s->deltas)
		return false;
	size_t matched = 0;
	for (size_t i = 0; i < c->n; i++) {
		const struct store_sample *old =
			bsearch(&c->rows[i], p->rows, p->n, sizeof(*p->rows), key_cmp);
		struct store_sample *d = &s->deltas[s->ndeltas];
		if (old) {
			matched++;
			if (!delta(d, &c->rows[i], old)) {
				s->lost = true;
				continue;
			}
		} else {
			*d = c->rows[i];
		}
		if (d->calls || d->plans)
			s->ndeltas++;
	}
	if (matched < p->n)
		s->lost = true;
	return true;
}

static void write_interval(struct sampler *s)
{
	struct store *st = s->store;
	usec_t rstart, rend;
	bool rlost, rels = relstats_ready(s->rels, &rstart, &rend, &rlost);
	if (!s->pgss_ready && !rels)
		return;
	if (!s->pgss_ready) {
		s->ndeltas = 0;
		s->lost = false;
		s->start_us = rstart;
		s->end_us = rend;
	}
	if (store_begin(st) < 0) {
		relstats_discard(s->rels);
		return;
	}
	usec_t now = timeutil_wall();
	int n = s->texts ? PQntuples(s->texts) : 0;
	for (int i = 0; i < n; i++)
		if (store_add_statement(st, col_ll(s->texts, i, 0), col_ll(s->texts, i, 1),
					col_ll(s->texts, i, 2), PQgetvalue(s->texts, i, 3),
					now) < 0)
			goto fail;
	int64_t id =
		store_add_interval(st, s->name, s->start_us, s->end_us, s->lost || (rels && rlost),
				   s->pgss_ready ? s->prev.stats_reset : NULL);
	if (id < 0)
		goto fail;
	for (size_t i = 0; i < s->ndeltas; i++)
		if (store_add_sample(st, id, &s->deltas[i]) < 0)
			goto fail;
	if (relstats_write(s->rels, st, id, s->name) < 0)
		goto fail;
	if (store_commit(st) < 0)
		goto fail;
	log_debug("monitor: database %s: %zu statements sampled%s", s->name, s->ndeltas,
		  s->lost ? ", some data lost" : "");
	return;
fail:
	store_rollback(st);
	relstats_discard(s->rels);
	log_warning("monitor: database %s: interval not stored", s->name);
}

/* texts_start asks for the texts of the sampled keys the store lacks;
 * returns false when there are none. */
static bool texts_start(struct sampler *s)
{
	size_t len = 3, count = 0;
	for (size_t i = 0; i < s->ndeltas; i++)
		if (!store_has_statement(s->store, s->deltas[i].queryid, s->deltas[i].userid,
					 s->deltas[i].dbid))
			len += 22, count++;
	if (!count)
		return false;
	char *arr = malloc(len);
	if (!arr)
		return false;
	char *w = arr;
	*w++ = '{';
	for (size_t i = 0; i < s->ndeltas; i++) {
		const struct store_sample *d = &s->deltas[i];
		if (store_has_statement(s->store, d->queryid, d->userid, d->dbid))
			continue;
		w += sprintf(w, "%s%lld", w[-1] == '{' ? "" : ",", (long long)d->queryid);
	}
	*w++ = '}';
	*w = '\0';
	const char *params[1] = {arr};
	int ok = PQsendQueryParams(s->conn, sql_pgss_texts, 1, NULL, params, NULL, NULL, 0);
	free(arr);
	send_query(s, SAMPLER_TEXTS, ok == 1);
	return true;
}

static void swap_snapshots(struct sampler *s)
{
	struct snapshot t = s->prev;
	s->prev = s->cur;
	s->cur = t;
	snapshot_clear(&s->cur);
}

static void rels_start(struct sampler *s)
{
	send_query(s, SAMPLER_RELS, PQsendQuery(s->conn, sql_relstats_sample) == 1);
}

/* query_step runs once the running query returned all its results. A
 * tick runs the sample query, the text query when texts are missing, then
 * the table and index statistics query, and writes one interval; a failed
 * pg_stat_statements query does not stop the table statistics. */
static void query_step(struct sampler *s)
{
	enum sampler_state was = s->state;
	s->state = SAMPLER_IDLE;
	watch(s, EV_READ); /* notice the server closing the connection */
	if (was == SAMPLER_PREPARE) {
		s->lock_prepared = !s->query_failed;
		lock_start(s);
		return;
	}
	if (was == SAMPLER_LOCKS) {
		PGresult *res = s->lockres;
		s->lockres = NULL;
		if (res && !s->query_failed)
			locksampler_take(s->locks, res, s->lock_at, s->user);
		else if (res)
			PQclear(res);
		return;
	}
	if (was == SAMPLER_LOCK) {
		if (s->query_failed)
			return;
		if (!s->got_lock) {
			if (!s->standby_logged)
				log_info("monitor: database %s: another pglifeguard instance "
					 "samples "
					 "it (it holds advisory lock " LEADER_LOCK_KEY
					 "); standing by",
					 s->name);
			s->standby_logged = true;
			s->was_standby = true;
			return;
		}
		s->leader = true;
		s->standby_logged = false;
		log_info("monitor: database %s: this instance samples it now (advisory "
			 "lock " LEADER_LOCK_KEY ")",
			 s->name);
		(void)store_events_leadership(s->store, s->name, true);
		/* without it, other users' statements come back without a
		 * queryid and are left out: say so once, and sample the rest */
		if (!s->read_all && !s->warned_privilege) {
			log_warning(
				"monitor: database %s: user %s cannot see other users' "
				"statements in pg_stat_statements, they are left out; run GRANT "
				"pg_read_all_stats TO %s",
				s->name, s->user, s->user);
			s->warned_privilege = true;
		}
		/* counters seen before another instance sampled are no baseline:
		 * its store holds the interval in between. After a mere
		 * reconnection they are: the interval spans the outage. */
		if (s->was_standby)
			snapshot_clear(&s->prev);
		s->was_standby = false;
		sample_start(s);
		return;
	}
	if (was == SAMPLER_SAMPLE) {
		s->pgss_ready = false;
		if (!s->query_failed && s->cur.valid) {
			s->warned_query = false;
			bool have_prev = s->prev.valid;
			if (have_prev && !compute_deltas(s)) {
				log_warning("monitor: database %s: out of memory", s->name);
				have_prev = false;
			}
			swap_snapshots(s);
			s->pgss_ready = have_prev; /* the first sample is the baseline */
			if (have_prev && texts_start(s))
				return;
		}
		rels_start(s);
	} else if (was == SAMPLER_TEXTS) {
		rels_start(s);
	} else if (was == SAMPLER_RELS) {
		if (!s->query_failed)
			s->warned_rels = false;
		write_interval(s);
		s->pgss_ready = false;
		if (s->texts) {
			PQclear(s->texts);
			s->texts = NULL;
		}
	}
}

/* query_done: once a chain of queries ends, what came due during it. */
static void query_done(struct sampler *s)
{
	query_step(s);
	if (s->state != SAMPLER_IDLE)
		return;
	if (s->sample_due) {
		s->sample_due = false;
		tick(s);
	} else if (s->lock_due) {
		locks_start(s);
	}
}

static void handle_result(struct sampler *s, PGresult *res)
{
	if (s->state == SAMPLER_PREPARE || s->state == SAMPLER_LOCKS) {
		ExecStatusType st = PQresultStatus(res);
		if (st == PGRES_TUPLES_OK && s->state == SAMPLER_LOCKS && !s->lockres) {
			s->lockres = res;
			return;
		}
		if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
			s->query_failed = true;
			locksampler_failed(s->locks, res);
		}
		PQclear(res);
		return;
	}
	if (PQresultStatus(res) != PGRES_TUPLES_OK && s->state == SAMPLER_RELS) {
		s->query_failed = true;
		if (!s->warned_rels) {
			const char *code = PQresultErrorField(res, PG_DIAG_SQLSTATE);
			const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
			log_warning("monitor: database %s: cannot sample table statistics: %s "
				    "(SQLSTATE %s)",
				    s->name, msg ? msg : "error", code ? code : "?");
			s->warned_rels = true;
		}
		PQclear(res);
		return;
	}
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		s->query_failed = true;
		query_warning(s, res);
		PQclear(res);
		return;
	}
	if (s->state == SAMPLER_RELS) {
		if (!relstats_read(s->rels, res, timeutil_wall()))
			log_warning("monitor: database %s: unexpected table statistics result",
				    s->name);
		return;
	}
	if (s->state == SAMPLER_LOCK) {
		bool one = PQntuples(res) == 1 && PQnfields(res) == 3;
		s->got_lock = one && !strcmp(PQgetvalue(res, 0, 0), "t");
		s->read_all = !one || !strcmp(PQgetvalue(res, 0, 1), "t");
		snprintf(s->user, sizeof(s->user), "%s", one ? PQgetvalue(res, 0, 2) : "");
		PQclear(res);
	} else if (s->state == SAMPLER_SAMPLE) {
		if (!read_snapshot(s, res)) {
			log_warning("monitor: database %s: unexpected sample result", s->name);
			snapshot_clear(&s->cur);
		}
		PQclear(res);
	} else if (s->state == SAMPLER_TEXTS && !s->texts) {
		s->texts = res;
	} else {
		PQclear(res);
	}
}

static void io_cb(struct ev_loop *ev, ev_io *w, int revents)
{
	struct sampler *s = (struct sampler *)((char *)w - offsetof(struct sampler, io));
	if (s->state == SAMPLER_CONNECTING) {
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
				log_info("monitor: database %s: connected again", s->name);
			s->failures = 0;
			if (s->locks)
				send_query(s, SAMPLER_PREPARE,
					   PQsendPrepare(s->conn, LOCKSAMPLER_STMT, sql_lock_sample,
							 0, NULL) == 1);
			else
				lock_start(s);
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
	if (s->state <= SAMPLER_IDLE) {
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

struct sampler *sampler_new(struct ev_loop *ev, struct store *store, const char *name,
			    const char *conninfo, usec_t interval, struct locksampler *locks,
			    usec_t lock_interval)
{
	struct sampler *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->ev = ev;
	s->store = store;
	s->interval = interval;
	s->name = strdup(name);
	s->conninfo = strdup(conninfo);
	s->rels = relstats_new();
	if (!s->name || !s->conninfo || !s->rels) {
		sampler_free(s);
		return NULL;
	}
	ev_io_init(&s->io, io_cb, -1, 0);
	double secs = (double)interval / (double)USEC_PER_SEC;
	ev_timer_init(&s->timer, timer_cb, secs, secs);
	ev_timer_start(ev, &s->timer);
	secs = (double)lock_interval / (double)USEC_PER_SEC;
	ev_timer_init(&s->lock_timer, lock_timer_cb, secs, secs);
	if (locks && lock_interval > 0) {
		s->locks = locks;
		ev_timer_start(ev, &s->lock_timer);
	}
	connect_start(s);
	return s;
}

void sampler_free(struct sampler *s)
{
	if (!s)
		return;
	if (s->ev) {
		ev_timer_stop(s->ev, &s->timer);
		ev_timer_stop(s->ev, &s->lock_timer);
	}
	disconnect(s);
	snapshot_clear(&s->prev);
	snapshot_clear(&s->cur);
	free(s->prev.rows);
	free(s->cur.rows);
	free(s->deltas);
	relstats_free(s->rels);
	free(s->name);
	free(s->conninfo);
	free(s);
}
