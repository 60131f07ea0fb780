/* Pooler-side producers of monitor events: copy fixed-size fields out of
 * clients, servers, pools and alerts into one struct event on the stack
 * and hand it to the bounded queue. No allocation, no I/O. */
#include "events.h"
#include <stdio.h>
#include <string.h>
#include "client.h"
#include "config.h"
#include "evqueue.h"
#include "leak.h"
#include "loop.h"
#include "params.h"
#include "pool.h"
#include "server.h"

static void copy(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src ? src : "");
}

static double secs(usec_t t)
{
	return (double)t / (double)USEC_PER_SEC;
}

void events_leak_suspected(struct loop *loop, const struct server *server)
{
	if (!loop->events || !server->client)
		return;
	const struct checkout *ck = &server->checkout;
	const struct client *client = server->client;
	struct event e;
	memset(&e, 0, offsetof(struct event, u) + sizeof(e.u.leak));
	e.kind = EVENT_LEAK_SUSPECTED;
	e.at_us = timeutil_wall();
	struct event_leak *l = &e.u.leak;
	l->client_id = client->id;
	l->server_id = server->id;
	l->backend_pid = server->backend_pid;
	l->client_port = client->conn.port;
	copy(l->database, sizeof(l->database), client->db_name);
	copy(l->user, sizeof(l->user), client->user_name);
	copy(l->addr, sizeof(l->addr), client->conn.addr_str);
	copy(l->application_name, sizeof(l->application_name),
	     client->params.values[PARAM_APPLICATION_NAME]);
	copy(l->state, sizeof(l->state), leak_state_name(ck, false));
	copy(l->who, sizeof(l->who), ck->who);
	l->held_s = secs(loop->now - ck->start);
	l->idle_s = secs(loop->now - ck->quiet_since);
	/* a fresh monotonic reading: loop->now lags the wall clock just read */
	l->xact_start_us = ck->xact_start ? e.at_us - (timeutil_now() - ck->xact_start) : 0;
	l->xact_statements = ck->xact_statements;
	l->truncated = ck->stmt_len >= LEAK_STMT_LEN;
	memcpy(l->statement, ck->stmt, sizeof(l->statement));
	evqueue_push(loop->events, &e);
}

void events_leak_returned(struct loop *loop, const struct server *server)
{
	if (!loop->events)
		return;
	const struct checkout *ck = &server->checkout;
	struct event e;
	memset(&e, 0, offsetof(struct event, u) + sizeof(e.u.leak));
	e.kind = EVENT_LEAK_RETURNED;
	e.at_us = timeutil_wall();
	e.u.leak.server_id = server->id;
	e.u.leak.backend_pid = server->backend_pid;
	e.u.leak.held_s = secs(loop->now - ck->start);
	copy(e.u.leak.who, sizeof(e.u.leak.who), ck->who);
	evqueue_push(loop->events, &e);
}

void events_alert(struct loop *loop, const char *alert, const char *database, const char *user,
		  double value, double threshold, const char *detail, bool firing)
{
	if (!loop->events)
		return;
	struct event e;
	memset(&e, 0, offsetof(struct event, u) + offsetof(struct event_alert, detail) + 1);
	e.kind = EVENT_ALERT;
	e.at_us = timeutil_wall();
	struct event_alert *a = &e.u.alert;
	a->firing = firing;
	a->value = value;
	a->threshold = threshold;
	copy(a->alert, sizeof(a->alert), alert);
	copy(a->database, sizeof(a->database), database);
	copy(a->user, sizeof(a->user), user);
	copy(a->detail, sizeof(a->detail), detail);
	evqueue_push(loop->events, &e);
}

/* Like SHOW POOLS' maxwait: the oldest waiting or first-login client. */
static usec_t max_wait(const struct pool *pool, usec_t now)
{
	usec_t wait = 0;
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

void events_sample_pools(struct loop *loop)
{
	if (!loop->events)
		return;
	usec_t interval = loop->cfg->sample_interval;
	if (loop->pool_sample_at && loop->now - loop->pool_sample_at < interval)
		return;
	loop->pool_sample_at = loop->now;
	usec_t wall = timeutil_wall();
	struct list_node *n;
	list_for_each(n, &loop->pools)
	{
		struct pool *p = container_of(n, struct pool, node);
		poolobs_sample_xacts(loop, p, wall);
		/* a pool with no client and no server has nothing to chart:
		 * no row means all zero, and keeps the store small */
		if (!p->active_clients.count && !p->waiting_clients.count &&
		    !p->login_clients.count && !p->active_servers.count && !p->idle_servers.count &&
		    !p->used_servers.count && !p->tested_servers.count && !p->login_servers.count)
			continue;
		struct event e;
		memset(&e, 0, offsetof(struct event, u) + sizeof(e.u.pool));
		e.kind = EVENT_POOL_SAMPLE;
		e.at_us = wall;
		struct event_pool *s = &e.u.pool;
		s->cl_active = p->active_clients.count;
		s->cl_waiting = p->waiting_clients.count + p->login_clients.count;
		s->sv_active = p->active_servers.count;
		s->sv_idle = p->idle_servers.count;
		s->sv_used = p->used_servers.count + p->tested_servers.count;
		s->sv_login = p->login_servers.count;
		s->pool_size = pool_size_limit(p, false);
		s->maxwait_us = max_wait(p, loop->now);
		copy(s->database, sizeof(s->database), p->db->name);
		copy(s->user, sizeof(s->user), p->user->name);
		poolobs_sample_checkouts(p, s);
		evqueue_push(loop->events, &e);
	}
}
