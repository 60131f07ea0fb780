/* Per-database statistics: totals are summed from the pools' counters when
 * asked; every stats_period a timer snapshots them and turns the change
 * since the previous snapshot into the averages SHOW STATS reports. */
#include "stats.h"

#include <stdlib.h>

#include "log.h"
#include "loop.h"
#include "pool.h"

/* The last snapshot of one database and the averages it gave. Databases
 * are never freed while the loop runs (removed ones are only marked), so
 * the pointer is a stable key. */
struct stats_entry {
	const struct database *db;
	struct stats_counters last;
	struct stats_counters avg;
};

struct stats_state {
	ev_timer timer;
	struct loop *loop;
	usec_t last_refresh;
	struct stats_entry *entries;
	int count, cap;
	struct stats_counters last_all, avg_all;
};

void stats_pool_add(const struct pool *pool, struct stats_counters *sum)
{
	sum->server_assignments += pool->server_assignments;
	sum->xact_count += pool->xact_count;
	sum->query_count += pool->query_count;
	sum->bytes_in += pool->bytes_in;
	sum->bytes_out += pool->bytes_out;
	sum->xact_time += pool->xact_time;
	sum->query_time += pool->query_time;
	sum->wait_time += pool->wait_time;
	sum->client_parse_count += pool->client_parse_count;
	sum->server_parse_count += pool->server_parse_count;
	sum->bind_count += pool->bind_count;
}

void stats_count_error(struct stats_errors *e, const char *cls)
{
	if (!cls) {
		e->unknown++;
		return;
	}
	for (int i = 0; i < e->n; i++) {
		if (e->cls[i][0] == cls[0] && e->cls[i][1] == cls[1]) {
			e->count[i]++;
			return;
		}
	}
	if (e->n == STATS_ERROR_CLASSES) {
		e->unknown++;
		return;
	}
	e->cls[e->n][0] = cls[0];
	e->cls[e->n][1] = cls[1];
	e->count[e->n++] = 1;
}

void stats_totals(struct loop *loop, const struct database *db, struct stats_counters *out)
{
	struct list_node *n;

	*out = (struct stats_counters){0};
	list_for_each(n, &loop->pools)
	{
		const struct pool *pool = container_of(n, struct pool, node);
		if (!db || pool->db == db)
			stats_pool_add(pool, out);
	}
}

static struct stats_entry *find_entry(struct stats_state *st, const struct database *db,
				      bool create)
{
	for (int i = 0; i < st->count; i++)
		if (st->entries[i].db == db)
			return &st->entries[i];
	if (!create)
		return NULL;
	if (st->count == st->cap) {
		int cap = st->cap ? st->cap * 2 : 16;
		struct stats_entry *e = realloc(st->entries, (size_t)cap * sizeof(*e));
		if (!e)
			return NULL;
		st->entries = e;
		st->cap = cap;
	}
	struct stats_entry *e = &st->entries[st->count++];
	*e = (struct stats_entry){.db = db};
	return e;
}

void stats_averages(struct loop *loop, const struct database *db, struct stats_counters *out)
{
	struct stats_state *st = loop->stats;
	const struct stats_entry *e;

	*out = (struct stats_counters){0};
	if (!st)
		return;
	if (!db) {
		*out = st->avg_all;
		return;
	}
	e = find_entry(st, db, false);
	if (e)
		*out = e->avg;
}

/* A counter only grows; should a pool ever go away, its share must not
 * turn into a huge unsigned difference. */
static uint64_t delta(uint64_t now, uint64_t before)
{
	return now > before ? now - before : 0;
}

static void average(const struct stats_counters *now, const struct stats_counters *before,
		    usec_t elapsed, struct stats_counters *avg)
{
	uint64_t assignments = delta(now->server_assignments, before->server_assignments);
	uint64_t xacts = delta(now->xact_count, before->xact_count);
	uint64_t queries = delta(now->query_count, before->query_count);
	uint64_t us = (uint64_t)elapsed;

	*avg = (struct stats_counters){0};
	if (elapsed <= 0)
		return;
	avg->server_assignments = assignments * USEC_PER_SEC / us;
	avg->xact_count = xacts * USEC_PER_SEC / us;
	avg->query_count = queries * USEC_PER_SEC / us;
	avg->bytes_in = delta(now->bytes_in, before->bytes_in) * USEC_PER_SEC / us;
	avg->bytes_out = delta(now->bytes_out, before->bytes_out) * USEC_PER_SEC / us;
	avg->client_parse_count =
		delta(now->client_parse_count, before->client_parse_count) * USEC_PER_SEC / us;
	avg->server_parse_count =
		delta(now->server_parse_count, before->server_parse_count) * USEC_PER_SEC / us;
	avg->bind_count = delta(now->bind_count, before->bind_count) * USEC_PER_SEC / us;
	if (xacts)
		avg->xact_time = delta(now->xact_time, before->xact_time) / xacts;
	if (queries)
		avg->query_time = delta(now->query_time, before->query_time) / queries;
	if (assignments)
		avg->wait_time = delta(now->wait_time, before->wait_time) / assignments;
}

static void log_averages(const char *name, const struct stats_counters *a)
{
	log_info("stats for %s: %llu xacts/s, %llu queries/s, %llu assignments/s, in %llu B/s, "
		 "out %llu B/s, xact %llu us, query %llu us, wait %llu us",
		 name, (unsigned long long)a->xact_count, (unsigned long long)a->query_count,
		 (unsigned long long)a->server_assignments, (unsigned long long)a->bytes_in,
		 (unsigned long long)a->bytes_out, (unsigned long long)a->xact_time,
		 (unsigned long long)a->query_time, (unsigned long long)a->wait_time);
}

void stats_refresh(struct loop *loop)
{
	struct stats_state *st = loop->stats;
	struct stats_counters all = {0};
	struct list_node *n;
	usec_t now = timeutil_now();

	if (!st)
		return;
	usec_t elapsed = now - st->last_refresh;
	list_for_each(n, &loop->databases)
	{
		const struct database *db = container_of(n, struct database, node);
		struct stats_counters cur;
		struct stats_entry *e = find_entry(st, db, true);

		stats_totals(loop, db, &cur);
		all.server_assignments += cur.server_assignments;
		all.xact_count += cur.xact_count;
		all.query_count += cur.query_count;
		all.bytes_in += cur.bytes_in;
		all.bytes_out += cur.bytes_out;
		all.xact_time += cur.xact_time;
		all.query_time += cur.query_time;
		all.wait_time += cur.wait_time;
		all.client_parse_count += cur.client_parse_count;
		all.server_parse_count += cur.server_parse_count;
		all.bind_count += cur.bind_count;
		if (!e) {
			log_error("out of memory keeping statistics of database %s", db->name);
			continue;
		}
		average(&cur, &e->last, elapsed, &e->avg);
		e->last = cur;
		if (!db->removed && (e->avg.query_count || e->avg.server_assignments ||
				     e->avg.bytes_in || e->avg.bytes_out))
			log_averages(db->name, &e->avg);
	}
	average(&all, &st->last_all, elapsed, &st->avg_all);
	st->last_all = all;
	st->last_refresh = now;
}

static void on_timer(struct ev_loop *ev, ev_timer *w, int revents)
{
	struct stats_state *st = container_of(w, struct stats_state, timer);
	struct loop *loop = st->loop;

	stats_refresh(loop);
	/* a RELOAD or SET may have changed stats_period: the next period uses it */
	w->repeat = (double)loop->cfg->stats_period / USEC_PER_SEC;
	ev_timer_again(ev, w);
}

int stats_start(struct loop *loop)
{
	struct stats_state *st = calloc(1, sizeof(*st));
	if (!st) {
		log_error("out of memory starting statistics");
		return -1;
	}
	double period = (double)loop->cfg->stats_period / USEC_PER_SEC;
	st->loop = loop;
	st->last_refresh = timeutil_now();
	ev_timer_init(&st->timer, on_timer, period, period);
	ev_timer_start(loop->ev, &st->timer);
	loop->stats = st;
	return 0;
}

void stats_stop(struct loop *loop)
{
	struct stats_state *st = loop->stats;
	if (!st)
		return;
	ev_timer_stop(loop->ev, &st->timer);
	free(st->entries);
	free(st);
	loop->stats = NULL;
}
