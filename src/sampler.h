/* Sampling pg_stat_statements and the table and index statistics
 * (relstats.h) of one database over a non-blocking libpq connection driven
 * by the monitor thread's event loop, turned into per-interval deltas in
 * the store, one transaction per interval; the same connection, the only
 * one per database, also reads lock waits for locksampler.h. */
#ifndef PGLG_SAMPLER_H
#define PGLG_SAMPLER_H
#include <ev.h>
#include "store.h"
#include "timeutil.h"

struct sampler;
struct locksampler;

/* sampler_new creates the sampler of database NAME (the [databases] entry
 * name, recorded with each interval) reaching PostgreSQL with CONNINFO,
 * sampling every INTERVAL on loop EV into STORE. With LOCKS (NULL: none)
 * and a LOCK_INTERVAL above 0, the same connection also runs the lock
 * sampler's query every LOCK_INTERVAL, between the other queries, and
 * hands the rows to LOCKS. Only the instance holding the leadership lock
 * runs either. NAME and CONNINFO are copied; EV, STORE and LOCKS are
 * borrowed until sampler_free. The first sample is taken at once. Returns
 * NULL when out of memory. Call only from the thread that runs EV. */
struct sampler *sampler_new(struct ev_loop *ev, struct store *store, const char *name,
			    const char *conninfo, usec_t interval, struct locksampler *locks,
			    usec_t lock_interval);

/* sampler_free stops the watchers, closes the connection and frees
 * SAMPLER; NULL is fine. */
void sampler_free(struct sampler *sampler);
#endif
