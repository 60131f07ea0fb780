/* The N+1 pattern: a small fixed table counting how often each statement
 * (topstmt fingerprint) ran within one scope, counting only runs whose
 * CommandComplete says at most one row. The scope itself (a transaction
 * block, or a burst of requests) is the caller's (poolobs.c). Pure logic:
 * no I/O, no allocation. */
#ifndef PGLG_REPEAT_H
#define PGLG_REPEAT_H

#include <stdbool.h>
#include <stdint.h>

#include "leak.h"

/* Distinct statements counted per scope; when all are taken, the one run
 * the fewest times gives up its slot (unless it already passed the
 * threshold and kept its text). */
#define REPEAT_SLOTS 16
/* Statements per scope whose text is kept once they reach the threshold:
 * more repeated statements than this in one scope are counted in
 * repeat_table.lost and not reported. */
#define REPEAT_TEXTS 3

struct repeat_slot {
	uint64_t fp; /* 0: free */
	uint64_t us; /* server time of the counted runs */
	uint32_t count; /* runs that returned or changed at most one row */
	int8_t text; /* index in repeat_table.text, -1: not kept */
};

/* The counts of one open scope, about 1 kB: held by a client only while
 * it has a scope open, else on its loop's free list (poolobs.c). */
struct repeat_table {
	struct repeat_slot slot[REPEAT_SLOTS];
	char text[REPEAT_TEXTS][LEAK_STMT_LEN + 1];
	uint8_t nslots, ntexts;
	uint32_t lost; /* repeated statements not reported (no text slot) */
	struct repeat_table *next_free;
};

/* The CommandCompletes of the request in flight (all zero: none yet). */
struct repeat_request {
	uint32_t small; /* with a row count of 0 or 1 */
	bool big; /* one with a row count above 1 */
};

/* One statement of an ended scope that ran at least the threshold. TEXT is
 * borrowed from the table until it is reset. */
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

/* repeat_note_complete records in REQ the CommandComplete BODY (LEN bytes)
 * of the request in flight. */
void repeat_note_complete(struct repeat_request *req, const uint8_t *body, uint32_t len);

/* repeat_counts tells whether the request REQ describes counts: every
 * CommandComplete with a row count said 0 or 1, and there was one. */
static inline bool repeat_counts(const struct repeat_request *req)
{
	return req->small && !req->big;
}

/* repeat_add charges a request that counts (REQ) to the statement FP in
 * T, with US of server time. TEXT (NUL-terminated, borrowed until return)
 * is copied when the statement reaches THRESHOLD (> 0). O(REPEAT_SLOTS);
 * allocates nothing. */
void repeat_add(struct repeat_table *t, const struct repeat_request *req, uint64_t fp,
		const char *text, uint64_t us, uint32_t threshold);

/* repeat_collect fills OUT (room for REPEAT_TEXTS) with the statements of
 * T run at least THRESHOLD (> 0) times, returns how many. */
int repeat_collect(const struct repeat_table *t, uint32_t threshold, struct repeat_found *out);

/* repeat_reset empties T. */
void repeat_reset(struct repeat_table *t);

#endif
