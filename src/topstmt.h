/* The statements that used the most server time in the recent window, per
 * pool: a fixed-size heavy-hitter table ("space-saving") of statement
 * fingerprints, in two generations, that saturation alerts read. */
#ifndef PGLG_TOPSTMT_H
#define PGLG_TOPSTMT_H

#include <stdbool.h>
#include <stdint.h>

#include "timeutil.h"

struct checkout;

/* Slots per generation: a statement with more than 1/TOPSTMT_SLOTS of the
 * generation's server time is never evicted. */
#define TOPSTMT_SLOTS 64
/* Bytes of normalized text kept per slot. */
#define TOPSTMT_TEXT_LEN 120
/* Length of a generation: the window is the current generation and the
 * one before it, between one and two of these. */
#define TOPSTMT_WINDOW (60 * USEC_PER_SEC)
/* Slots of the direct-mapped fingerprint -> slot hint (a power of 2). */
#define TOPSTMT_HINTS 128

struct topstmt_slot {
	uint64_t fp; /* topstmt_fingerprint of the text */
	uint64_t time_us; /* server time, an over-estimate by at most error_us */
	uint64_t error_us; /* time inherited from the slot's previous statement */
	uint32_t calls; /* executions since the statement took the slot */
	char text[TOPSTMT_TEXT_LEN + 1]; /* literals replaced by '?' */
};

struct topstmt_gen {
	struct topstmt_slot slot[TOPSTMT_SLOTS];
	uint8_t hint[TOPSTMT_HINTS]; /* slot index + 1 of a recent fp, 0: none */
	int used;
	uint64_t other_us; /* server time of requests whose text was not seen */
};

/* Per pool, embedded in struct pool; all zero is an empty table. About
 * 20 kB. Written by the pooler loop only. */
struct topstmt {
	struct topstmt_gen gen[2];
	int cur; /* index of the current generation */
	usec_t gen_start; /* start of the current generation, 0: nothing yet */
};

/* One statement of the merged view: TEXT is borrowed from the table until
 * it is next written. */
struct topstmt_entry {
	const char *text;
	uint64_t time_us; /* server time in the window (space-saving estimate) */
	uint64_t error_us; /* time_us overstates by at most this */
	uint64_t calls;
};

/* topstmt_fingerprint hashes the statement TEXT (NUL-terminated) in one
 * pass, skipping what differs between executions of one statement: literal
 * values (numbers, quoted and dollar-quoted strings; a comma-separated list
 * of them counts as one), comments, whitespace and the case of unquoted
 * words. Identifiers, keywords, operators and $n placeholders count. Pure;
 * never returns 0. */
uint64_t topstmt_fingerprint(const char *text);

/* topstmt_add adds ELAPSED microseconds of server time of one execution
 * of the statement FP, observed at NOW, to T. TEXT (borrowed until return;
 * NUL-terminated) is copied, literals scrubbed, when the statement takes a
 * slot. When every slot is taken, the statement with the least time gives
 * up its slot and the newcomer inherits that time as its error bound.
 * Rotates the generations when NOW is past the current one. O(1) unless
 * the statement is new to the generation (then O(TOPSTMT_SLOTS));
 * allocates nothing. */
void topstmt_add(struct topstmt *t, uint64_t fp, const char *text, usec_t elapsed, usec_t now);

/* topstmt_add_other adds ELAPSED to the time of requests whose statement
 * text is unknown. */
void topstmt_add_other(struct topstmt *t, usec_t elapsed, usec_t now);

/* topstmt_note is the pooler's hook: a request of the checkout CK ended at
 * NOW after ELAPSED of server time; charges it to CK's last statement
 * (fingerprinted once per text, cached in CK). */
void topstmt_note(struct topstmt *t, struct checkout *ck, usec_t elapsed, usec_t now);

/* topstmt_top fills OUT with up to N statements of the window that ends at
 * NOW, the most server time first, merging both generations; returns how
 * many. *OTHER_US gets the time not attributed to a known text, *SPAN_US
 * how far back the window reaches (0: empty). Report time only:
 * O(TOPSTMT_SLOTS^2). */
int topstmt_top(const struct topstmt *t, usec_t now, struct topstmt_entry *out, int n,
		uint64_t *other_us, usec_t *span_us);

#endif
