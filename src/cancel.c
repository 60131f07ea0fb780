/* Cancel keys and CancelRequest forwarding. The map chains through the
 * clients themselves: registering a key allocates nothing. */
#include "cancel.h"

#include <errno.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "log.h"
#include "loop.h"
#include "pool.h"
#include "proto.h"
#include "server.h"

#define CANCEL_BUCKETS 16384

struct cancel_map {
	struct client *buckets[CANCEL_BUCKETS];
};

/* One CancelRequest on its way to a server. */
struct cancel_req {
	struct conn conn;
	struct list_node node;
	struct server *server; /* not reused while the cancel is on its way */
	usec_t start;
	uint32_t pid, key;
	bool done;
};

static unsigned bucket_of(uint32_t pid, uint32_t key)
{
	uint64_t h = ((uint64_t)pid << 32 | key) * 0x9E3779B97F4A7C15ULL;
	return (unsigned)(h >> 50) % CANCEL_BUCKETS;
}

struct cancel_map *cancel_map_new(void)
{
	return calloc(1, sizeof(struct cancel_map));
}

void cancel_map_free(struct cancel_map *map)
{
	free(map);
}

static struct client *find(struct cancel_map *map, uint32_t pid, uint32_t key)
{
	for (struct client *c = map->buckets[bucket_of(pid, key)]; c; c = c->cancel_next)
		if (c->cancel_pid == pid && c->cancel_key == key)
			return c;
	return NULL;
}

bool cancel_register(struct loop *loop, struct client *client)
{
	struct cancel_map *map = loop->cancel_keys;
	uint32_t r[2];

	do {
		if (RAND_bytes((unsigned char *)r, sizeof(r)) != 1)
			return false;
	} while (find(map, r[0], r[1]));
	client->cancel_pid = r[0];
	client->cancel_key = r[1];
	unsigned b = bucket_of(r[0], r[1]);
	client->cancel_next = map->buckets[b];
	map->buckets[b] = client;
	client->cancel_registered = true;
	return true;
}

void cancel_unregister(struct loop *loop, struct client *client)
{
	if (!client->cancel_registered)
		return;
	struct client **pp =
		&loop->cancel_keys->buckets[bucket_of(client->cancel_pid, client->cancel_key)];
	for (; *pp; pp = &(*pp)->cancel_next) {
		if (*pp == client) {
			*pp = client->cancel_next;
			break;
		}
	}
	client->cancel_registered = false;
}

static void req_finish(struct cancel_req *req)
{
	if (req->done)
		return;
	req->done = true;
	conn_close(&req->conn);
	struct server *server = req->server;
	req->server = NULL;
	if (server && --server->cancels_in_flight == 0 && server->release_after_cancel) {
		/* PostgreSQL has read the cancel (or we gave up): the server can
		 * serve another client without that client's query being hit */
		server->release_after_cancel = false;
		pool_release_server(server);
	}
}

static enum pkt_action req_packet(struct conn *c, uint8_t type, uint32_t len, const uint8_t *body,
				  uint32_t avail)
{
	return PKT_SKIP;
}

static void req_drained(struct conn *c)
{
	/* the server closes the connection after reading the request; keep
	 * reading until it does so it is not reset early */
}

static void req_closed(struct conn *c, const char *reason)
{
	req_finish(container_of(c, struct cancel_req, conn));
}

static void req_connected(struct conn *c, int err)
{
	struct cancel_req *req = container_of(c, struct cancel_req, conn);
	if (err || !proto_build_cancel(conn_bufs(c), &c->wbuf, req->pid, req->key)) {
		log_warning("cannot send cancel request to server: %s",
			    err ? strerror(err) : "out of memory");
		req_finish(req);
		return;
	}
	c->startup = true;
	conn_start_reading(c);
	conn_flush(c);
}

static const struct conn_ops req_ops = {
	.packet = req_packet,
	.drained = req_drained,
	.closed = req_closed,
	.connected = req_connected,
};

void cancel_request(struct loop *loop, uint32_t pid, uint32_t key)
{
	struct client *client = find(loop->cancel_keys, pid, key);

	if (!client) {
		log_debug("cancel request with an unknown key ignored");
		return;
	}
	struct server *server = client->server;
	if (!server || server->state != SERVER_ACTIVE) {
		client_log(client, LOG_LEVEL_DEBUG, "cancel request: no query in progress");
		return;
	}
	client_log(client, LOG_LEVEL_DEBUG, "forwarding cancel request to S-%llu",
		   (unsigned long long)server->id);
	cancel_server(loop, server);
}

void cancel_server(struct loop *loop, struct server *server)
{
	struct database *db = server->pool->db;
	struct cancel_req *req = calloc(1, sizeof(*req));
	if (!req)
		return;
	conn_init(&req->conn, loop, &req_ops, -1);
	/* suspend.c does not list cancel requests: let them finish */
	req->conn.no_suspend = true;
	req->pid = server->backend_pid;
	req->key = server->backend_key;
	req->server = server;
	req->start = loop->now;
	server->cancels_in_flight++;
	list_append(&loop->cancels, &req->node);
	if (conn_connect(&req->conn, (struct sockaddr *)&db->addr, db->addrlen) < 0) {
		log_warning("cannot connect to send cancel request: %s", strerror(errno));
		req_finish(req);
	}
}

/* Called by the reaper: free finished requests. */
void cancel_reap(struct loop *loop, bool all)
{
	struct list_node *n, *t;
	usec_t limit = loop->cfg->server_connect_timeout ? loop->cfg->server_connect_timeout
							 : 15 * USEC_PER_SEC;
	list_for_each_safe(n, t, &loop->cancels)
	{
		struct cancel_req *req = container_of(n, struct cancel_req, node);
		if (all || (!req->done && loop->now - req->start > limit))
			req_finish(req);
		if (req->done) {
			list_remove(&loop->cancels, &req->node);
			free(req);
		}
	}
}

void cancel_forget_server(struct loop *loop, struct server *server)
{
	struct list_node *n;
	list_for_each(n, &loop->cancels)
	{
		struct cancel_req *req = container_of(n, struct cancel_req, node);
		if (req->server == server)
			req->server = NULL;
	}
	server->cancels_in_flight = 0;
	server->release_after_cancel = false;
}

void cancel_abort_all(struct loop *loop)
{
	cancel_reap(loop, true);
}
