/* The pooler's side of query suggestions: scopes of repeated single-row
 * statements per client, transactions per application_name and checkout
 * durations per pool, turned into monitor events. Everything here runs on
 * the pooler loop for forwarded messages: fixed tables; the only
 * allocation grows the loop's free list of N+1 tables to the most scopes
 * open at once (a client holds one only while its scope is open). */
#include "poolobs.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "config.h"
#include "evqueue.h"
#include "loop.h"
#include "params.h"
#include "pool.h"
#include "server.h"
#include "topstmt.h"

static void copy(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src ? src : "");
}

static const char *app_name(const struct client *client)
{
	return client->params.values[PARAM_APPLICATION_NAME];
}

/* A table for CLIENT's scope: from the loop's free list, else a new one
 * (the list grows to the most scopes open at once, and stays). NULL when
 * out of memory: that scope is not counted. */
static struct repeat_table *take_table(struct loop *loop)
{
	struct repeat_table *t = loop->repeat_free;
	if (t) {
		loop->repeat_free = t->next_free;
		t->next_free = NULL;
		return t;
	}
	t = calloc(1, sizeof(*t));
	if (t)
		repeat_reset(t);
	return t;
}

void poolobs_loop_free(struct loop *loop)
{
	while (loop->repeat_free) {
		struct repeat_table *t = loop->repeat_free;
		loop->repeat_free = t->next_free;
		free(t);
	}
}

/* Ends CLIENT's repeat scope: one event per statement that ran at least
 * repeat_threshold times; the table goes back to the loop. */
static void end_scope(struct client *client)
{
	struct poolobs_client *o = &client->obs;
	struct repeat_table *r = o->repeat;
	struct loop *loop = client->conn.loop;
	struct repeat_found found[REPEAT_TEXTS];
	bool stream =
		o->scope == POOLOBS_BURST && o->scope_end - o->scope_start > POOLOBS_BURST_MAX;
	int n = r && !stream ? repeat_collect(r, (uint32_t)loop->cfg->repeat_threshold, found) : 0;

	if (n > 0 && loop->events) {
		int64_t wall = timeutil_wall();
		for (int i = 0; i < n; i++) {
			struct event e;
			memset(&e, 0, offsetof(struct event, u) + sizeof(e.u.repeat));
			e.kind = EVENT_REPEAT;
			e.at_us = wall - (loop->now - o->scope_end);
			struct event_repeat *ev = &e.u.repeat;
			ev->xact = o->scope == POOLOBS_XACT;
			ev->executions = found[i].count;
			ev->total_us = (int64_t)found[i].us;
			ev->scope_us =
				o->scope_end > o->scope_start ? o->scope_end - o->scope_start : 0;
			copy(ev->database, sizeof(ev->database), client->db_name);
			copy(ev->user, sizeof(ev->user), client->user_name);
			copy(ev->addr, sizeof(ev->addr), client->conn.addr_str);
			copy(ev->application_name, sizeof(ev->application_name), app_name(client));
			copy(ev->statement, sizeof(ev->statement), found[i].text);
			evqueue_push(loop->events, &e);
		}
	}
	if (r) {
		repeat_reset(r);
		r->next_free = loop->repeat_free;
		loop->repeat_free = r;
		o->repeat = NULL;
	}
	o->scope = POOLOBS_NONE;
}

static void end_idle_gap(struct client *client, usec_t now)
{
	struct poolobs_client *o = &client->obs;
	if (!o->idle_since || !client->pool)
		return;
	struct xactapp_row *row =
		xactapp_row(&client->pool->obs.apps, app_name(client), &o->app_hint);
	xactapp_idle(row, now - o->idle_since);
	o->idle_since = 0;
}

void poolobs_client_message(struct client *client, usec_t now)
{
	struct poolobs_client *o = &client->obs;
	if (o->idle_since)
		end_idle_gap(client, now);
	if (o->scope == POOLOBS_BURST && now - o->scope_end >= POOLOBS_BURST_GAP)
		end_scope(client);
}

void poolobs_janitor(struct client *client, usec_t now)
{
	struct poolobs_client *o = &client->obs;
	if (o->scope == POOLOBS_BURST && now - o->scope_end >= POOLOBS_BURST_GAP)
		end_scope(client);
}

void poolobs_command_complete(struct server *server, const uint8_t *body, uint32_t len)
{
	if (server->client)
		repeat_note_complete(&server->client->obs.req, body, len);
}

void poolobs_ready(struct server *server, char status, usec_t now)
{
	struct client *client = server->client;
	if (!client || !client->pool)
		return;
	struct poolobs_client *o = &client->obs;
	struct loop *loop = client->conn.loop;
	usec_t req_start = server->query_start ? server->query_start : now;
	bool in_xact = status == 'T' || status == 'E';
	struct repeat_request req = o->req;
	o->req = (struct repeat_request){0, false};

	if (in_xact && !o->in_block) {
		o->in_block = true;
		o->block_start = req_start;
	} else if (!in_xact && o->in_block) {
		o->in_block = false;
		struct xactapp_row *row =
			xactapp_row(&client->pool->obs.apps, app_name(client), &o->app_hint);
		xactapp_xact_ended(row, now - o->block_start);
	}
	o->idle_since = in_xact ? now : 0;

	uint32_t threshold = (uint32_t)loop->cfg->repeat_threshold;
	if (!threshold) {
		if (o->scope != POOLOBS_NONE)
			end_scope(client);
		return;
	}
	if (in_xact && o->scope != POOLOBS_XACT) {
		/* autocommit requests before the block are a burst of their own */
		if (o->scope != POOLOBS_NONE)
			end_scope(client);
		o->scope = POOLOBS_XACT;
		o->scope_start = o->block_start;
	}
	if (o->scope == POOLOBS_NONE) {
		o->scope = POOLOBS_BURST;
		o->scope_start = req_start;
	}
	o->scope_end = now;
	struct checkout *ck = &server->checkout;
	if (repeat_counts(&req) && ck->stmt[0]) {
		if (!o->repeat)
			o->repeat = take_table(loop);
		if (!ck->stmt_fp)
			ck->stmt_fp = topstmt_fingerprint(ck->stmt);
		if (o->repeat)
			repeat_add(o->repeat, &req, ck->stmt_fp, ck->stmt,
				   (uint64_t)(now - req_start), threshold);
	}
	if (!in_xact && o->scope == POOLOBS_XACT)
		end_scope(client);
}

void poolobs_client_closed(struct client *client)
{
	struct loop *loop = client->conn.loop;
	end_idle_gap(client, loop->now);
	if (client->obs.scope != POOLOBS_NONE)
		end_scope(client);
}

void poolobs_checkout_stats(const struct histogram *h, int64_t *count, int64_t *p50, int64_t *p95,
			    int64_t *p99, int64_t *max)
{
	*count = (int64_t)h->count;
	if (!h->count) {
		*p50 = *p95 = *p99 = *max = -1;
		return;
	}
	*p50 = (int64_t)(histogram_quantile(h, 0.50) + 0.5);
	*p95 = (int64_t)(histogram_quantile(h, 0.95) + 0.5);
	*p99 = (int64_t)(histogram_quantile(h, 0.99) + 0.5);
	*max = (int64_t)h->max;
}

void poolobs_sample_xacts(struct loop *loop, struct pool *pool, int64_t wall)
{
	struct xactapp *apps = &pool->obs.apps;
	for (int i = 0; i <= XACTAPP_NAMES && loop->events; i++) {
		const struct xactapp_row *row = &apps->row[i];
		if (!row->used || (!row->xacts && !row->idle_us))
			continue;
		struct event e;
		memset(&e, 0, offsetof(struct event, u) + sizeof(e.u.xact));
		e.kind = EVENT_XACT_SAMPLE;
		e.at_us = wall;
		struct event_xact *x = &e.u.xact;
		x->xacts = (int64_t)row->xacts;
		x->xact_us = (int64_t)row->xact_us;
		x->xact_max_us = (int64_t)row->xact_max_us;
		x->idle_us = (int64_t)row->idle_us;
		x->idle_max_us = (int64_t)row->idle_max_us;
		copy(x->database, sizeof(x->database), pool->db->name);
		copy(x->user, sizeof(x->user), pool->user->name);
		copy(x->application_name, sizeof(x->application_name), row->name);
		evqueue_push(loop->events, &e);
	}
	xactapp_next_interval(apps);
}

void poolobs_sample_checkouts(struct pool *pool, struct event_pool *s)
{
	struct poolobs_pool *obs = &pool->obs;
	const struct histogram *now = &pool->checkout_hist, *before = &obs->checkouts_before;
	struct histogram d = {.count = now->count - before->count,
			      .sum = now->sum - before->sum,
			      .max = obs->checkout_max};
	for (int i = 0; i < HISTOGRAM_BUCKETS; i++)
		d.buckets[i] = now->buckets[i] - before->buckets[i];
	poolobs_checkout_stats(&d, &s->checkouts, &s->checkout_p50_us, &s->checkout_p95_us,
			       &s->checkout_p99_us, &s->checkout_max_us);
	obs->checkouts_before = *now;
	obs->checkout_max = 0;
}
