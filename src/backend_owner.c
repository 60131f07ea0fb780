/* The pooler side and the monitor side of backend pid -> pglifeguard client
 * lookups. Requests queue under a mutex that only these callbacks and the
 * monitor's asks take; the pooler answers in its own loop, so its
 * structures are only ever read on its thread. */
#include "backend_owner.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "client.h"
#include "conn.h"
#include "list.h"
#include "loop.h"
#include "params.h"
#include "pool.h"
#include "server.h"

struct backend_owner {
	pthread_mutex_t mu;
	struct loop *loop; /* the pooler's; read only in ask_cb */
	struct ev_loop *pooler_ev;
	ev_async ask; /* on the pooler's loop */
	ev_async answer; /* on the monitor's loop */
	struct ev_loop *monitor_ev; /* NULL until attached */
	struct backend_owner_req *todo, *done; /* under mu */
};

static int pid_cmp(const void *a, const void *b)
{
	const struct backend_owner_entry *x = a, *y = b;
	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

static void copy(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src ? src : "");
}

static bool same_server(const struct database *db, const struct backend_owner_req *req)
{
	const char *host = db->host ? db->host : "";
	return db->port == req->port && !strcmp(host, req->host);
}

static void fill_from(struct backend_owner_req *req, const struct server *sv)
{
	struct backend_owner_entry key = {.pid = (int32_t)sv->backend_pid};
	struct backend_owner_entry *e =
		bsearch(&key, req->entries, req->n, sizeof(*req->entries), pid_cmp);
	if (!e)
		return;
	e->server_id = sv->id;
	const struct client *c = sv->client;
	if (!c)
		return;
	e->client_id = c->id;
	copy(e->client_addr, sizeof(e->client_addr), c->conn.addr_str);
	e->client_port = c->conn.port;
	copy(e->user, sizeof(e->user), c->user_name);
	copy(e->database, sizeof(e->database), c->db_name);
	copy(e->application_name, sizeof(e->application_name),
	     c->params.values[PARAM_APPLICATION_NAME]);
}

static void answer_one(struct loop *loop, struct backend_owner_req *req)
{
	struct list_node *n;
	list_for_each(n, &loop->pools)
	{
		struct pool *pool = container_of(n, struct pool, node);
		if (!same_server(pool->db, req))
			continue;
		const struct list *lists[] = {&pool->active_servers, &pool->idle_servers,
					      &pool->used_servers, &pool->tested_servers,
					      &pool->login_servers};
		for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
			struct list_node *m;
			list_for_each(m, lists[i])
			{
				fill_from(req, container_of(m, struct server, node));
			}
		}
	}
}

/* ask_cb runs on the pooler's loop. */
static void ask_cb(struct ev_loop *ev, ev_async *w, int revents)
{
	struct backend_owner *bo = container_of(w, struct backend_owner, ask);
	pthread_mutex_lock(&bo->mu);
	struct backend_owner_req *req;
	bool answered = false;
	while ((req = bo->todo)) {
		bo->todo = req->next;
		answer_one(bo->loop, req);
		req->next = bo->done;
		bo->done = req;
		answered = true;
	}
	if (answered && bo->monitor_ev)
		ev_async_send(bo->monitor_ev, &bo->answer);
	pthread_mutex_unlock(&bo->mu);
}

/* answer_cb runs on the monitor's loop. */
static void answer_cb(struct ev_loop *ev, ev_async *w, int revents)
{
	struct backend_owner *bo = container_of(w, struct backend_owner, answer);
	pthread_mutex_lock(&bo->mu);
	struct backend_owner_req *list = bo->done, *req;
	bo->done = NULL;
	for (req = list; req; req = req->next)
		req->in_flight = false;
	pthread_mutex_unlock(&bo->mu);
	/* only this thread cancels or asks again, so the list is ours now */
	while ((req = list)) {
		list = req->next;
		req->next = NULL;
		req->cb(req, req->arg, req->entries, req->n);
	}
}

struct backend_owner *backend_owner_new(struct loop *loop)
{
	struct backend_owner *bo = calloc(1, sizeof(*bo));
	if (!bo)
		return NULL;
	if (pthread_mutex_init(&bo->mu, NULL) != 0) {
		free(bo);
		return NULL;
	}
	bo->loop = loop;
	bo->pooler_ev = loop->ev;
	ev_async_init(&bo->ask, ask_cb);
	ev_async_start(loop->ev, &bo->ask);
	ev_async_init(&bo->answer, answer_cb);
	return bo;
}

void backend_owner_attach(struct backend_owner *bo, struct ev_loop *ev)
{
	pthread_mutex_lock(&bo->mu);
	bo->monitor_ev = ev;
	ev_async_start(ev, &bo->answer);
	pthread_mutex_unlock(&bo->mu);
}

void backend_owner_detach(struct backend_owner *bo)
{
	pthread_mutex_lock(&bo->mu);
	if (bo->monitor_ev)
		ev_async_stop(bo->monitor_ev, &bo->answer);
	bo->monitor_ev = NULL;
	for (struct backend_owner_req *r = bo->todo; r; r = r->next)
		r->in_flight = false;
	for (struct backend_owner_req *r = bo->done; r; r = r->next)
		r->in_flight = false;
	bo->todo = bo->done = NULL;
	pthread_mutex_unlock(&bo->mu);
}

void backend_owner_free(struct backend_owner *bo)
{
	if (!bo)
		return;
	ev_async_stop(bo->pooler_ev, &bo->ask);
	pthread_mutex_destroy(&bo->mu);
	free(bo);
}

bool backend_owner_ask(struct backend_owner *bo, struct backend_owner_req *req, const char *host,
		       int port, const int32_t *pids, size_t n, backend_owner_cb cb, void *arg)
{
	if (n > req->cap) {
		struct backend_owner_entry *e = realloc(req->entries, n * sizeof(*e));
		if (!e)
			return false;
		req->entries = e;
		req->cap = n;
	}
	/* the pooler reads the request only under the mutex, once it is queued */
	memset(req->entries, 0, n * sizeof(*req->entries));
	for (size_t i = 0; i < n; i++)
		req->entries[i].pid = pids[i];
	qsort(req->entries, n, sizeof(*req->entries), pid_cmp);
	req->n = n;
	copy(req->host, sizeof(req->host), host);
	req->port = port;
	req->cb = cb;
	req->arg = arg;
	pthread_mutex_lock(&bo->mu);
	req->in_flight = true;
	req->next = bo->todo;
	bo->todo = req;
	pthread_mutex_unlock(&bo->mu);
	ev_async_send(bo->pooler_ev, &bo->ask);
	return true;
}

static void unlink_req(struct backend_owner_req **list, struct backend_owner_req *req)
{
	for (; *list; list = &(*list)->next)
		if (*list == req) {
			*list = req->next;
			return;
		}
}

void backend_owner_cancel(struct backend_owner *bo, struct backend_owner_req *req)
{
	pthread_mutex_lock(&bo->mu);
	if (req->in_flight) {
		unlink_req(&bo->todo, req);
		unlink_req(&bo->done, req);
		req->in_flight = false;
	}
	req->next = NULL;
	pthread_mutex_unlock(&bo->mu);
}

void backend_owner_req_free(struct backend_owner_req *req)
{
	free(req->entries);
	req->entries = NULL;
	req->n = req->cap = 0;
}
