/* Sampling lock waits of one database over a non-blocking libpq connection
 * driven by the monitor thread's loop: who waits on whom, with the
 * pglifeguard client behind each backend, into the store's lock tables. */
#ifndef PGLG_LOCKSAMPLER_H
#define PGLG_LOCKSAMPLER_H
#include <ev.h>
#include "backend_owner.h"
#include "store.h"
#include "timeutil.h"

struct locksampler;

/* locksampler_new creates the lock sampler of database NAME (the
 * [databases] entry) reaching PostgreSQL with CONNINFO, sampling every
 * INTERVAL on loop EV into STORE. HOST (NULL: unix socket) and PORT name
 * that PostgreSQL for OWNERS, which tells which pglifeguard client a
 * backend serves (NULL: not asked). Strings are copied; EV, STORE and
 * OWNERS are borrowed until locksampler_free. Returns NULL when out of
 * memory or when the store's statements cannot be prepared. Call only from
 * the thread that runs EV. */
struct locksampler *locksampler_new(struct ev_loop *ev, struct store *store,
				    struct backend_owner *owners, const char *name,
				    const char *conninfo, const char *host, int port,
				    usec_t interval) __attribute__((warn_unused_result));

/* locksampler_free stops the watchers, takes back a request to the pooler,
 * closes the connection and frees LS; NULL is fine. */
void locksampler_free(struct locksampler *ls);
#endif
