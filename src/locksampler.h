/* Lock waits of one database, read by the sampler (sampler.h) on its own
 * connection while it leads, turned into who waits on whom, with the
 * pglifeguard client behind each backend, in the store's lock tables. */
#ifndef PGLG_LOCKSAMPLER_H
#define PGLG_LOCKSAMPLER_H
#include <ev.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include "backend_owner.h"
#include "store.h"
#include "timeutil.h"

/* The name under which the sampler prepares sql_lock_sample on its
 * connection. */
#define LOCKSAMPLER_STMT "pglifeguard_lock_sample"

struct locksampler;

/* locksampler_new creates the lock sampler of database NAME (the
 * [databases] entry) writing into STORE on loop EV. HOST (NULL: unix
 * socket) and PORT name that PostgreSQL for OWNERS, which tells which
 * pglifeguard client a backend serves (NULL: not asked). Strings are
 * copied; EV, STORE and OWNERS are borrowed until locksampler_free.
 * Returns NULL when out of memory or when the store's statements cannot be
 * prepared. Call only from the thread that runs EV. */
struct locksampler *locksampler_new(struct ev_loop *ev, struct store *store,
				    struct backend_owner *owners, const char *name,
				    const char *host, int port) __attribute__((warn_unused_result));

/* locksampler_ready returns true when LS can take a new sample: the
 * previous one is written (it may still wait for the pooler's answer). */
bool locksampler_ready(const struct locksampler *ls);

/* locksampler_take stores RES, the rows of sql_lock_sample taken at AT
 * (wall clock) by the database user USER (borrowed, for a warning); takes
 * ownership of RES. Call only when locksampler_ready. */
void locksampler_take(struct locksampler *ls, PGresult *res, usec_t at, const char *user);

/* locksampler_failed logs RES (borrowed), an error of the lock query or
 * of its preparation, once until a sample succeeds again; errors of a
 * connection going away are left to the sampler's one line. */
void locksampler_failed(struct locksampler *ls, const PGresult *res);

/* locksampler_free takes back a request to the pooler and frees LS; NULL
 * is fine. */
void locksampler_free(struct locksampler *ls);
#endif
