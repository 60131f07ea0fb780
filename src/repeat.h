/* The N+1 pattern: per client, a small fixed table counting how often each
 * statement (topstmt fingerprint) ran within one scope, counting only runs
 * whose CommandComplete says at most one row. A scope is a transaction
 * block, or outside one a burst of requests separated by less than
 * REPEAT_BURST_GAP of client silence. Pure logic: no I/O, no allocation. */
#ifndef PGLG_REPEAT_H
#define PGLG_REPEAT_H

#include <stdbool.h>
#include <stdint.h>

#include "leak.h"
#include "timeutil.h"

/* Distinct statements counted per scope; when all are taken, the one run
 * the fewest times gives up its slot (unless it already passed the
 * threshold and kept its text). */
#define REPEAT_SLOTS 16
/* Statements per scope whose text is kept once they reach the threshold:
 * more repeated statements than this in one scope are counted in
 * repeat_scope.lost and not reported. */
#define REPEAT_TEXTS 3
/* Client silence that ends a burst of autocommit requests. */
#define REPEAT_BURST_GAP ((usec_t)100000)

enum repeat_kind {
	REPEAT_NONE = 0, /* no scope open */
	REPEAT_BURST, /* autocommit requests, no gap of REPEAT_BURST_GAP yet */
	REPEAT_XACT, /* a transaction block */
};

struct repeat_slot {
	uint64_t fp; /* 0: free */
	uint64_t us; /* server time of the counted runs */
	uint32_t count; /* runs that returned or changed at most one row */
	int8_t text; /* index in repeat_scope.text, -1: not kept */
};

/* Embedded in struct client; all zero is an empty table. About 1 kB. */
struct repeat_scope {
	struct repeat_slot slot[REPEAT_SLOTS];
	char text[REPEAT_TEXTS][LEAK_STMT_LEN + 1];
	uint8_t nslots, ntexts;
	uint8_t kind; /* enum repeat_kind */
	uint32_t lost; /* repeated statements not reported (no text slot) */
	usec_t start; /* first request of the scope */
	usec_t last_end; /* last ReadyForQuery of the scope */
	/* the request in flight: CommandCompletes seen since it began */
	uint32_t req_small; /* with a row count of 0 or 1 */
	bool req_big; /* one with a row count above 1 */
};

/* One statement of an ended scope that ran at least the threshold. TEXT is
 * borrowed from the scope until it is reset. */
struct repeat_found {
	const char *text;
	uint32_t count;
	uint64_t us;
};

/* repeat_command_rows returns the row count of the CommandComplete tag
 * BODY (LEN bytes, a NUL ends it early) for SELECT, INSERT, UPDATE,
 * DELETE and MERGE ("INSERT 0 1" gives 1), or -1 for any other tag or a
 * malformed one. Pure. */
int64_t repeat_command_rows(const uint8_t *body, uint32_t len);

/* repeat_note_complete records the CommandComplete BODY (LEN bytes) of
 * the request in flight. */
void repeat_note_complete(struct repeat_scope *r, const uint8_t *body, uint32_t len);

/* repeat_add charges the request that just ended (its CommandCompletes
 * noted so far) to the statement FP: counted when every CommandComplete
 * with a row count said 0 or 1 and there was at least one, with US of
 * server time. TEXT (NUL-terminated, borrowed until return) is copied when
 * the statement reaches THRESHOLD (> 0). Clears the request's notes.
 * O(REPEAT_SLOTS); allocates nothing. */
void repeat_add(struct repeat_scope *r, uint64_t fp, const char *text, uint64_t us,
		uint32_t threshold);

/* repeat_collect fills OUT (room for REPEAT_TEXTS) with the statements of
 * the scope run at least THRESHOLD (> 0) times, returns how many. */
int repeat_collect(const struct repeat_scope *r, uint32_t threshold, struct repeat_found *out);

/* repeat_reset empties the table and closes the scope. */
void repeat_reset(struct repeat_scope *r);

#endif
