/* What the pooler records for query suggestions: the N+1 pattern per
 * client scope (repeat.c), transaction blocks and idle-in-transaction time
 * per pool and application_name (xactapp.c), and the checkout durations of
 * each sample interval. Hooks called on the pooler loop from client.c,
 * server.c, pool.c and janitor.c; O(1) or O(small fixed table), no
 * allocation once the loop's free list of N+1 tables covers the scopes
 * open at once; what the store keeps leaves through the event queue. */
#ifndef PGLG_POOLOBS_H
#define PGLG_POOLOBS_H

#include <stdbool.h>
#include <stdint.h>

#include "histogram.h"
#include "repeat.h"
#include "timeutil.h"
#include "xactapp.h"

struct loop;
struct client;
struct server;
struct pool;
struct event_pool;

/* Client silence that ends a burst of autocommit requests. */
#define POOLOBS_BURST_GAP ((usec_t)100000)
/* A burst longer than this is a stream of independent requests (a busy
 * application or a load test reusing its connection), not one request's
 * loop: its repeats are not reported. Transaction blocks have no limit. */
#define POOLOBS_BURST_MAX ((usec_t)5000000)

enum poolobs_scope {
	POOLOBS_NONE = 0, /* no scope open */
	POOLOBS_BURST, /* autocommit requests, no gap of POOLOBS_BURST_GAP yet */
	POOLOBS_XACT, /* a transaction block */
};

/* Embedded in struct client (about 64 bytes: 10,000 idle clients stay
 * cheap); all zero is the initial state. */
struct poolobs_client {
	struct repeat_table *repeat; /* while a scope counted something */
	struct repeat_request req; /* the request in flight */
	uint8_t scope; /* enum poolobs_scope */
	usec_t scope_start; /* first request of the scope */
	usec_t scope_end; /* last ReadyForQuery of the scope */
	int app_hint; /* xactapp slot of this client's application_name */
	bool in_block; /* the server said 'T' or 'E' last */
	usec_t block_start; /* first request of the transaction block */
	usec_t idle_since; /* ReadyForQuery 'T'/'E' forwarded, 0: not waiting */
};

/* Embedded in struct pool. */
struct poolobs_pool {
	struct xactapp apps;
	/* the pool's checkout_hist at the previous sample: the interval's
	 * checkouts are the difference */
	struct histogram checkouts_before;
	usec_t checkout_max; /* the longest checkout that ended this interval */
};

/* poolobs_client_message notes a message of CLIENT for its linked server
 * at NOW: ends an idle-in-transaction gap, and a burst after
 * POOLOBS_BURST_GAP of silence. */
void poolobs_client_message(struct client *client, usec_t now);

/* poolobs_janitor ends CLIENT's burst once it has been silent for
 * POOLOBS_BURST_GAP at NOW, so that its table goes back to the loop
 * (janitor pass). */
void poolobs_janitor(struct client *client, usec_t now);

/* poolobs_loop_free frees the repeat tables on LOOP's free list (at loop
 * teardown, when no client holds one). */
void poolobs_loop_free(struct loop *loop);

/* poolobs_command_complete notes a CommandComplete (BODY, LEN bytes,
 * borrowed until return) that SERVER forwards to its client. */
void poolobs_command_complete(struct server *server, const uint8_t *body, uint32_t len);

/* poolobs_ready notes the ReadyForQuery with STATUS that ends SERVER's
 * requests in flight at NOW (server->query_start still set): counts the
 * request for its statement, opens and ends scopes and transaction
 * blocks. */
void poolobs_ready(struct server *server, char status, usec_t now);

/* poolobs_client_closed ends CLIENT's open scope and idle gap (it is
 * closing). */
void poolobs_client_closed(struct client *client);

/* poolobs_checkout_ended notes a checkout of POOL that lasted HELD (the
 * pool's checkout_hist counts it): the interval's longest. */
static inline void poolobs_checkout_ended(struct poolobs_pool *obs, usec_t held)
{
	if (held > obs->checkout_max)
		obs->checkout_max = held;
}

/* poolobs_sample_xacts queues POOL's xact_samples rows of the interval
 * that ends at WALL and starts the next interval (every sample_interval). */
void poolobs_sample_xacts(struct loop *loop, struct pool *pool, int64_t wall);

/* poolobs_sample_checkouts fills the checkout fields of S with the
 * checkouts of POOL that ended since the previous call (its checkout_hist
 * now less then), and starts the next interval. */
void poolobs_sample_checkouts(struct pool *pool, struct event_pool *s);

/* poolobs_checkout_stats fills COUNT and the p50, p95, p99 and max of H in
 * microseconds (-1 each when H is empty). Pure. */
void poolobs_checkout_stats(const struct histogram *h, int64_t *count, int64_t *p50, int64_t *p95,
			    int64_t *p99, int64_t *max);

#endif
