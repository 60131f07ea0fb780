/* Checkout tracking and leak detection: what each linked server connection
 * is doing for its client (executing, idle, idle in transaction), and the
 * rule that calls a quiet, held connection a suspected leak. */
#ifndef PGLG_LEAK_H
#define PGLG_LEAK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "timeutil.h"

struct loop;
struct server;

/* Bytes of the last statement kept per checkout (the rest is dropped). */
#define LEAK_STMT_LEN 200

/* One checkout: the span during which a client holds a server connection.
 * Embedded in struct server; every field is reset when the next one
 * begins. Times are monotonic (loop->now). Updating it costs O(1) and
 * allocates nothing: it runs on every forwarded message. */
struct checkout {
	usec_t start; /* 0: the server is not checked out */
	usec_t exec_time; /* finished spans between a request and its ReadyForQuery */
	usec_t idle_xact_time; /* finished spans idle inside a transaction */
	usec_t busy_since; /* start of the running request span, 0 when none */
	usec_t quiet_since; /* last message from the client or last ReadyForQuery */
	usec_t idle_since; /* end of the last request span (or the start) */
	usec_t xact_start; /* first request of the open transaction, 0 when none */
	uint32_t xact_statements; /* requests (Query, Execute, FunctionCall) in it */
	uint32_t statements; /* requests in the whole checkout */
	char txn_status; /* as of the last ReadyForQuery: 'I', 'T', 'E' */
	bool listen; /* the client ran LISTEN: it may wait quietly */
	bool reported; /* flagged as a suspected leak */
	unsigned session_state; /* sessionstate.h kinds the client left on the server */
	uint16_t stmt_len;
	uint64_t stmt_fp; /* topstmt_fingerprint of stmt, 0: not computed yet */
	char stmt[LEAK_STMT_LEN + 1]; /* start of the last Query or Parse text */
	char who[200]; /* the client, written when reported */
};

/* What the leak rule looks at, apart from the checkout itself. */
struct leak_view {
	bool busy; /* a request is in flight (or an internal query) */
	bool session_mode; /* the pool keeps servers for the whole session */
	usec_t now;
	usec_t threshold; /* leak_threshold; 0 = off */
};

/* leak_checkout_begin starts a new checkout in CK at NOW (the client was
 * just linked). */
void leak_checkout_begin(struct checkout *ck, usec_t now);

/* leak_note_request records a client message of TYPE for the linked
 * server: BODY holds the first AVAIL bytes of its LEN-byte body (borrowed
 * until return). Copies the start of a Query or Parse text. */
void leak_note_request(struct checkout *ck, uint8_t type, const uint8_t *body, uint32_t avail,
		       uint32_t len, usec_t now);

/* leak_note_statement makes TEXT (at most LEN bytes, ends at a NUL;
 * borrowed until return) CK's last statement: the text of a statement
 * prepared earlier that the client now binds (prepared.c). */
void leak_note_statement(struct checkout *ck, const char *text, uint32_t len);

/* leak_note_ready records a forwarded ReadyForQuery with STATUS; IDLE
 * tells whether nothing else is in flight after it. */
void leak_note_ready(struct checkout *ck, char status, bool idle, usec_t now);

/* leak_suspected is the rule: tells whether CK, seen through V, is a
 * suspected leak (quiet for longer than the threshold while idle in a
 * transaction, or, in session mode, idle outside one, LISTEN excepted). */
bool leak_suspected(const struct checkout *ck, const struct leak_view *v);

/* leak_idle_time returns how long CK has been quiet at NOW (0 while busy). */
usec_t leak_idle_time(const struct checkout *ck, bool busy, usec_t now);

/* leak_state_name returns the transaction state of CK as SHOW CHECKOUTS
 * and the log spell it ("active", "idle", "idle in transaction", ...). */
const char *leak_state_name(const struct checkout *ck, bool busy);

/* leak_is_listen tells whether the statement text TEXT (LEN bytes) runs
 * LISTEN in one of its statements (first keyword, any case). */
bool leak_is_listen(const char *text, size_t len);

/* leak_scrub_literals copies TEXT to OUT (OUTLEN bytes, NUL-terminated)
 * with quoted strings and numbers replaced by '?': the fallback when a
 * (truncated) statement cannot be normalized by the parser. */
void leak_scrub_literals(const char *text, char *out, size_t outlen);

/* leak_normalize writes TEXT without literal values to OUT (parser-based,
 * slow: report time only). */
void leak_normalize(const char *text, char *out, size_t outlen);

/* leak_server_busy tells whether SERVER has something in flight. */
bool leak_server_busy(const struct server *server);

/* leak_check applies the rule to SERVER (linked) and, once per checkout,
 * reports it and takes leak_action. May close the client or the server:
 * the caller must not use them after it returns true. */
bool leak_check(struct loop *loop, struct server *server);

/* leak_checkout_end ends SERVER's checkout (release or close): logs the
 * "returned after" line if it was reported. */
void leak_checkout_end(struct server *server);

#endif
