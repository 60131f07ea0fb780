/* The pooler's side of sample_query_params: copies the raw text of a
 * statement and its raw Bind values (binary ones with their type OID)
 * into a monitor event, at
 * most once per statement per sample_query_params_interval. Never parses
 * SQL (the monitor does, paramsample.c) and never allocates per statement. */
#ifndef PGLG_PARAMTAP_H
#define PGLG_PARAMTAP_H
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct loop;
struct client;
struct event_params;

/* Slots of the per-loop table of recently sampled statements. */
#define PARAMTAP_SLOTS 1024

/* Parameter types of a Parse kept for its Bind; later ones count as
 * unspecified. */
#define PARAMTAP_OIDS 256

/* Counters of one loop, for /metrics. */
struct paramtap_stats {
	uint64_t sampled; /* events queued */
	uint64_t too_long; /* text and values over EVENT_PARAMS_DATA */
	uint64_t partial; /* Query, Parse or Bind not entirely buffered: not looked at */
};

/* paramtap_note looks at a message of TYPE ('Q', 'P' or 'B'; others are
 * ignored) of LEN (with the length word) from CLIENT to its server, of
 * which AVAIL body bytes are at BODY (borrowed until return). Queues a
 * sample when sample_query_params is on and the statement is due. Call
 * once per message, before the prepared-statement translation. */
void paramtap_note(struct client *client, uint8_t type, uint32_t len, const uint8_t *body,
		   uint32_t avail);

/* paramtap_stats returns LOOP's counters (zeros when nothing was sampled). */
struct paramtap_stats paramtap_stats(const struct loop *loop);

/* paramtap_write_metrics writes the pglifeguard_param_samples families
 * of LOOP to OUT (nothing while sample_query_params is off and nothing
 * was sampled). */
void paramtap_write_metrics(const struct loop *loop, FILE *out);

/* paramtap_free frees what LOOP's sampler holds; at loop destruction. */
void paramtap_free(struct loop *loop);

/* paramtap_sampled_kind tells whether TEXT (LEN bytes) starts, after
 * blanks, comments and parentheses, with SELECT, INSERT, UPDATE, DELETE,
 * VALUES or WITH (any case). A cheap filter: the monitor decides from the
 * parse tree. */
bool paramtap_sampled_kind(const char *text, uint32_t len);

/* paramtap_encode_values appends the Bind values of the Bind body BODY
 * (BLEN bytes, entire) to P: each as a native int32 length (-1 for NULL
 * or a binary-format value of a type paramconv does not convert), a
 * native uint32 type OID (0: text format; else the binary value's type),
 * then its bytes. OIDS (NOIDS big-endian int32, borrowed until return;
 * may be NULL when NOIDS is 0) are the statement's parameter types from
 * its Parse. Returns false when the body is malformed or the values do
 * not fit in EVENT_PARAMS_DATA (P unchanged then but for garbage past
 * p->used). */
bool paramtap_encode_values(struct event_params *p, const uint8_t *body, uint32_t blen,
			    const uint8_t *oids, int noids);
#endif
