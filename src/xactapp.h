/* Transaction blocks per application_name of one pool, per sample
 * interval: how many ended, their total and longest duration, and the time
 * the server spent idle in transaction waiting for the client (total and
 * longest gap). A fixed table of XACTAPP_NAMES names per pool; the names
 * beyond it share one "(other)" row. Pure logic: no allocation. */
#ifndef PGLG_XACTAPP_H
#define PGLG_XACTAPP_H

#include <stdbool.h>
#include <stdint.h>

#include "timeutil.h"

/* Names per pool with a row of their own. */
#define XACTAPP_NAMES 32
/* Bytes of application_name kept (PostgreSQL keeps 63). */
#define XACTAPP_NAME_LEN 63
/* The row of the names that found no slot. */
#define XACTAPP_OTHER "(other)"

struct xactapp_row {
	char name[XACTAPP_NAME_LEN + 1];
	bool used; /* name assigned, this interval or an earlier one */
	bool active; /* something counted this interval */
	uint64_t xacts, xact_us, xact_max_us, idle_us, idle_max_us;
};

/* Embedded in struct pool; all zero is empty. About 3.5 kB. Written by
 * the pooler loop only. */
struct xactapp {
	struct xactapp_row row[XACTAPP_NAMES + 1]; /* the last one: (other) */
};

/* xactapp_row returns the row of application NAME (NULL or "" is the
 * empty name) in T, taking a free slot for a new name, else the (other)
 * row. HINT (may be NULL) caches the slot index between calls for one
 * client: checked first. O(1) on a hint hit, else O(XACTAPP_NAMES). */
struct xactapp_row *xactapp_row(struct xactapp *t, const char *name, int *hint);

/* xactapp_xact_ended counts one transaction block of DURATION in ROW. */
void xactapp_xact_ended(struct xactapp_row *row, usec_t duration);

/* xactapp_idle counts one idle-in-transaction gap of GAP in ROW. */
void xactapp_idle(struct xactapp_row *row, usec_t gap);

/* xactapp_next_interval zeroes the counters of T after they were read;
 * names unused for a whole interval give up their slot. */
void xactapp_next_interval(struct xactapp *t);

#endif
