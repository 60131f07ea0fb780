/* advisor.c's pure helpers, exposed for tests/unit/check_advisor.c. */
#ifndef PGLG_ADVISOR_INTERNAL_H
#define PGLG_ADVISOR_INTERNAL_H
#include <stdbool.h>
#include <stddef.h>
#include "advisor/candidates.h"

/* An existing btree index of a table: its key columns or expressions as
 * pg_get_indexdef(oid, k, true) prints them. */
struct tinfo_index {
	char *name;
	char *keys[CANDIDATES_MAX_COLS * 2];
	int nkeys;
	bool partial;
};

/* advisor_norm_key writes IN reduced for comparison into OUT (SIZE bytes):
 * no blanks, quotes, parentheses, casts or trailing DESC, so that
 * "lower((email)::text)" and "lower(email)" compare equal. */
void advisor_norm_key(const char *in, char *out, size_t size);

/* advisor_served_by returns the name (borrowed) of the first of the N
 * non-partial INDEXES whose leading keys are candidate C's columns (the
 * equality columns in any order, then the others in order), or NULL. */
const char *advisor_served_by(const struct tinfo_index *indexes, size_t n,
			      const struct candidates_index *c);
#endif
