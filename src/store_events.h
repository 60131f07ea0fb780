/* Pooler events in the store (schema version 5): leaks, alerts, pool
 * saturation samples with checkout percentiles, N+1 repeats, transactions
 * by application and sampler leadership changes, written by the monitor
 * thread, expired by age. */
#ifndef PGLG_STORE_EVENTS_H
#define PGLG_STORE_EVENTS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "evqueue.h"
#include "store.h"

/* store_events_write writes EVENTS (N of them, borrowed) in one
 * transaction of its own. A returned leak updates the newest open row of
 * its server connection. Returns 0, or -1 (logged; nothing written). Call
 * outside a transaction, on the store's thread. */
int store_events_write(struct store *store, const struct event *events, size_t n)
	__attribute__((warn_unused_result));

/* store_events_leadership records that this instance became (LEADER) or
 * stopped being the sampler of DBNAME. Returns 0 or -1 (logged). Call
 * outside a transaction. */
int store_events_leadership(struct store *store, const char *dbname, bool leader);

/* store_events_expire deletes event rows older than CUTOFF_US, at most
 * BATCH per table and transaction. Returns the rows deleted, or -1. */
int64_t store_events_expire(struct store *store, int64_t cutoff_us, int batch);
#endif
