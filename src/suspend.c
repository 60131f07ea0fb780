/* SUSPEND: the listeners stop, and conn.c's reader stops itself on every
 * non-console connection while loop->suspended is set (so that a watcher
 * restarted by back-pressure or by a state change stays harmless); RESUME
 * restarts what was stopped. */
#include "suspend.h"

#include "client.h"
#include "config.h"
#include "conn.h"
#include "listener.h"
#include "list.h"
#include "log.h"
#include "loop.h"
#include "pool.h"
#include "server.h"

/* Bytes of ours, or forwarded ones, that still wait for C's socket or
 * for C's peer's socket. */
static bool conn_unflushed(const struct conn *c)
{
	if (c->dead)
		return false;
	if (c->wbuf && c->wbuf->start < c->wbuf->end)
		return true;
	return conn_pending(c) && c->peer && !c->peer->dead;
}

typedef void (*conn_fn)(struct loop *loop, struct conn *c, struct client *client,
			struct server *server, void *arg);

/* FN for every client (the admin console excepted) and every server. */
static void for_each_conn(struct loop *loop, conn_fn fn, void *arg)
{
	struct list_node *n, *m, *t;

	list_for_each_safe(m, t, &loop->login_clients)
	{
		struct client *c = container_of(m, struct client, node);
		fn(loop, &c->conn, c, NULL, arg);
	}
	list_for_each(n, &loop->pools)
	{
		struct pool *pool = container_of(n, struct pool, node);
		struct list *clients[] = {&pool->active_clients, &pool->waiting_clients,
					  &pool->login_clients};
		struct list *servers[] = {&pool->active_servers, &pool->idle_servers,
					  &pool->used_servers, &pool->tested_servers,
					  &pool->login_servers};
		for (size_t i = 0; i < sizeof(clients) / sizeof(clients[0]); i++)
			list_for_each_safe(m, t, clients[i])
			{
				struct client *c = container_of(m, struct client, node);
				fn(loop, &c->conn, c, NULL, arg);
			}
		for (size_t i = 0; i < sizeof(servers) / sizeof(servers[0]); i++)
			list_for_each_safe(m, t, servers[i])
			{
				struct server *s = container_of(m, struct server, node);
				fn(loop, &s->conn, NULL, s, arg);
			}
	}
}

static void stop_reading(struct loop *loop, struct conn *c, struct client *client,
			 struct server *server, void *arg)
{
	if (!c->no_suspend)
		ev_io_stop(loop->ev, &c->rio);
}

void suspend_begin(struct loop *loop)
{
	loop->suspended = true;
	loop->suspend_start = timeutil_now();
	listener_set_accepting(loop, false);
	for_each_conn(loop, stop_reading, NULL);
	log_info("suspending: no new connections, no more reads; flushing buffers");
}

static void count_unflushed(struct loop *loop, struct conn *c, struct client *client,
			    struct server *server, void *arg)
{
	if (!c->no_suspend && conn_unflushed(c))
		(*(int *)arg)++;
}

/* Drop the client on either end of a buffer that would not drain. */
static void drop_unflushed(struct loop *loop, struct conn *c, struct client *client,
			   struct server *server, void *arg)
{
	if (c->no_suspend || !conn_unflushed(c))
		return;
	if (server)
		client = server->client;
	if (client && !client->conn.dead) {
		client_log(client, LOG_LEVEL_WARNING,
			   "buffers not flushed within suspend_timeout: closing");
		client_close(client, "suspend_timeout");
	} else if (server && !server->conn.dead) {
		server_close(server, "buffers not flushed within suspend_timeout");
	}
}

bool suspend_poll(struct loop *loop)
{
	int unflushed = 0;

	for_each_conn(loop, count_unflushed, &unflushed);
	if (unflushed == 0)
		return true;
	usec_t timeout = loop->cfg->suspend_timeout;
	if (timeout > 0 && timeutil_now() - loop->suspend_start >= timeout) {
		for_each_conn(loop, drop_unflushed, NULL);
		return true;
	}
	return false;
}

static void start_reading(struct loop *loop, struct conn *c, struct client *client,
			  struct server *server, void *arg)
{
	if (!c->dead && c->fd >= 0 && !c->connecting && !c->read_paused && !c->blocked)
		ev_io_start(loop->ev, &c->rio);
}

void suspend_end(struct loop *loop)
{
	loop->suspended = false;
	listener_set_accepting(loop, true);
	for_each_conn(loop, start_reading, NULL);
	log_info("resuming after SUSPEND");
}
