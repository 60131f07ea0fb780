/* Periodic maintenance: every timeout PgBouncer has, idle and old
 * servers, min_pool_size, the reserve pool and retries. */
#include "janitor.h"

#include "alert.h"
#include "client.h"
#include "config.h"
#include "events.h"
#include "leak.h"
#include "log.h"
#include "loop.h"
#include "pool.h"
#include "server.h"

/* Timeouts are checked this often; 1/5 s keeps them within a fraction of
 * a second of their setting at negligible cost. */
#define JANITOR_PERIOD 0.2

static bool expired(usec_t now, usec_t since, usec_t timeout)
{
	return timeout > 0 && since > 0 && now - since >= timeout;
}

static void check_clients(struct loop *loop, struct pool *pool)
{
	const struct config *cfg = loop->cfg;
	usec_t now = loop->now;
	struct list_node *n, *t;

	list_for_each_safe(n, t, &pool->login_clients)
	{
		struct client *c = container_of(n, struct client, node);
		if (expired(now, c->connect_mono, cfg->client_login_timeout))
			client_fail(c, "08P01", "client_login_timeout (server down)");
	}
	list_for_each_safe(n, t, &pool->waiting_clients)
	{
		struct client *c = container_of(n, struct client, node);
		if (expired(now, c->wait_start, cfg->query_wait_timeout))
			client_fail(c, "08P01", "query_wait_timeout");
	}
	list_for_each_safe(n, t, &pool->active_clients)
	{
		struct client *c = container_of(n, struct client, node);
		struct server *s = c->server;
		poolobs_janitor(c, now);
		if (!s) {
			if (expired(now, c->request_time, cfg->client_idle_timeout))
				client_fail(c, "08P01", "client_idle_timeout");
			continue;
		}
		if (leak_check(loop, s))
			continue; /* leak_action = close ended the client */
		if (s->task == TASK_NONE && expired(now, s->query_start, cfg->query_timeout)) {
			/* the server may be mid-result: it cannot be reused */
			client_fail(c, "08P01", "query timeout");
			continue;
		}
		if ((s->txn_status == 'T' || s->txn_status == 'E') && s->pending_rfq == 0 &&
		    expired(now, c->request_time, cfg->idle_transaction_timeout)) {
			client_fail(c, "08P01", "idle transaction timeout");
			continue;
		}
	}
}

static void check_servers(struct loop *loop, struct pool *pool)
{
	const struct config *cfg = loop->cfg;
	usec_t now = loop->now;
	struct list_node *n, *t;

	list_for_each_safe(n, t, &pool->login_servers)
	{
		struct server *s = container_of(n, struct server, node);
		if (expired(now, s->connect_mono, cfg->server_connect_timeout))
			server_close(s, "server_connect_timeout");
	}
	int total = pool_server_count(pool);
	/* idle servers, least recently used last in the list */
	for (struct list_node *node = list_last(&pool->idle_servers); node;) {
		struct list_node *prev = node->prev == &pool->idle_servers.head ? NULL : node->prev;
		struct server *s = container_of(node, struct server, node);
		if (loop->paused || pool->db->paused) {
			server_close(s, "pause");
		} else if (s->close_needed) {
			server_close(s, "configuration changed");
		} else if (expired(now, s->connect_mono, cfg->server_lifetime) &&
			   total > pool->db->min_pool_size) {
			server_close(s, "server lifetime over");
			total--;
		} else if (expired(now, s->request_time, cfg->server_idle_timeout) &&
			   total > pool->db->min_pool_size) {
			server_close(s, "server idle timeout");
			total--;
		}
		node = prev;
	}
	list_for_each_safe(n, t, &pool->tested_servers)
	{
		struct server *s = container_of(n, struct server, node);
		if (expired(now, s->query_start, cfg->server_connect_timeout))
			server_close(s, "internal query timed out");
	}
}

void janitor_run(struct loop *loop)
{
	struct list_node *n, *t;
	const struct config *cfg = loop->cfg;

	loop->now = timeutil_now();
	list_for_each_safe(n, t, &loop->login_clients)
	{
		struct client *c = container_of(n, struct client, node);
		if (expired(loop->now, c->connect_mono, cfg->client_login_timeout))
			client_fail(c, "08P01", "client_login_timeout");
	}
	list_for_each_safe(n, t, &loop->pools)
	{
		struct pool *pool = container_of(n, struct pool, node);
		check_clients(loop, pool);
		check_servers(loop, pool);
		if (!list_empty(&pool->waiting_clients) || !list_empty(&pool->login_clients) ||
		    pool->db->min_pool_size > 0)
			pool_launch_servers(pool);
	}
	alert_evaluate(loop);
	events_sample_pools(loop);
	loop_check_shutdown(loop);
}

static void on_tick(struct ev_loop *ev, ev_timer *w, int revents)
{
	janitor_run(container_of(w, struct loop, janitor));
}

void janitor_start(struct loop *loop)
{
	ev_timer_init(&loop->janitor, on_tick, JANITOR_PERIOD, JANITOR_PERIOD);
	ev_timer_start(loop->ev, &loop->janitor);
}
