/* Session state in transaction pooling: a cheap keyword scan of the start
 * of Query and Parse texts that spots statements whose effect outlives the
 * transaction (and so reaches the next client of the server connection). */
#ifndef PGLG_SESSIONSTATE_H
#define PGLG_SESSIONSTATE_H

#include <stdbool.h>
#include <stddef.h>

/* The kinds of statement that leave session state behind; bits of a mask. */
enum sessionstate_kind {
	SESSIONSTATE_SET = 0, /* SET without LOCAL, of an untracked parameter */
	SESSIONSTATE_RESET, /* RESET of an untracked parameter */
	SESSIONSTATE_LISTEN, /* LISTEN */
	SESSIONSTATE_PREPARE, /* SQL-level PREPARE */
	SESSIONSTATE_ADVISORY_LOCK, /* session-level advisory lock outside a transaction */
	SESSIONSTATE_TEMP, /* CREATE TEMP TABLE, VIEW, SEQUENCE */
	SESSIONSTATE_HOLD_CURSOR, /* DECLARE ... WITH HOLD */
	SESSIONSTATE_LOAD, /* LOAD of a shared library */
	SESSIONSTATE_KIND_COUNT,
};

#define SESSIONSTATE_BIT(kind) (1u << (kind))

/* sessionstate_scan looks at the statement text TEXT (LEN bytes, borrowed
 * until return; need not be NUL-terminated) and returns the mask of the
 * kinds found at its statement starts. IN_XACT tells whether the server is
 * inside a transaction block when the text arrives (advisory locks count
 * only outside one). COMPLETE is false when TEXT is only the start of the
 * statement: a word cut at the end then does not count. Skips whitespace,
 * comments and quoted text; allocates nothing. */
unsigned sessionstate_scan(const char *text, size_t len, bool in_xact, bool complete);

/* sessionstate_kind_name returns the name of KIND as logs, SHOW CHECKOUTS
 * and metrics spell it ("set", "listen", "advisory_lock", ...). */
const char *sessionstate_kind_name(enum sessionstate_kind kind);

/* sessionstate_format writes the names of the kinds in MASK to OUT (OUTLEN
 * bytes, NUL-terminated), comma-separated; "" when MASK is 0. */
void sessionstate_format(unsigned mask, char *out, size_t outlen);

#endif
