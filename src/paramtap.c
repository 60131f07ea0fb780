/* Sampling parameter values on the pooler loop: a direct-mapped table of
 * recently sampled statements (by topstmt's literal-blind fingerprint)
 * keeps the cost of a statement sampled recently to one pass over its
 * text; a due Parse is copied into one per-loop pending event that the
 * same client's next Bind of that statement completes and queues. */
#include "paramtap.h"
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "client.h"
#include "evqueue.h"
#include "loop.h"
#include "paramconv.h"
#include "pool.h"
#include "prepared.h"
#include "proto.h"
#include "topstmt.h"

struct paramtap {
	uint64_t fp[PARAMTAP_SLOTS];
	usec_t at[PARAMTAP_SLOTS]; /* when fp was last queued */
	/* a due Parse waiting for its Bind */
	bool pending;
	uint64_t pending_client, pending_fp;
	char pending_name[64];
	uint8_t pending_oids[4 * PARAMTAP_OIDS]; /* its parameter types, as sent */
	int pending_noids;
	struct event ev;
	struct paramtap_stats stats;
};

static bool word_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || (unsigned char)c >= 0x80;
}

bool paramtap_sampled_kind(const char *text, uint32_t len)
{
	static const char *const words[] = {"select", "insert", "update",
					    "delete", "values", "with"};
	const char *p = text, *end = text + len;
	for (;;) {
		while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' ||
				   *p == '\f' || *p == '('))
			p++;
		if (end - p >= 2 && p[0] == '-' && p[1] == '-') {
			while (p < end && *p != '\n')
				p++;
		} else if (end - p >= 2 && p[0] == '/' && p[1] == '*') {
			const char *q = p + 2;
			while (q + 1 < end && !(q[0] == '*' && q[1] == '/'))
				q++;
			if (q + 1 >= end)
				return false;
			p = q + 2;
		} else {
			break;
		}
	}
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		size_t n = strlen(words[i]);
		if ((size_t)(end - p) < n)
			continue;
		size_t k = 0;
		while (k < n && (p[k] | 0x20) == words[i][k])
			k++;
		if (k == n && (p + n == end || !word_char(p[n])))
			return true;
	}
	return false;
}

bool paramtap_encode_values(struct event_params *p, const uint8_t *body, uint32_t blen,
			    const uint8_t *oids, int noids)
{
	const uint8_t *q = body, *end = body + blen;
	/* portal and statement names */
	for (int i = 0; i < 2; i++) {
		const uint8_t *z = memchr(q, '\0', (size_t)(end - q));
		if (!z)
			return false;
		q = z + 1;
	}
	if (end - q < 2)
		return false;
	int nfmt = (q[0] << 8) | q[1];
	q += 2;
	if (end - q < 2 * nfmt)
		return false;
	const uint8_t *fmts = q;
	q += 2 * nfmt;
	if (end - q < 2)
		return false;
	int nval = (q[0] << 8) | q[1];
	q += 2;
	if (nfmt > 1 && nfmt != nval)
		return false;
	size_t used = p->used;
	for (int i = 0; i < nval; i++) {
		if (end - q < 4)
			return false;
		int32_t vlen = (int32_t)proto_get_u32(q);
		q += 4;
		if (vlen > 0 && end - q < vlen)
			return false;
		int fi = nfmt == 0 ? -1 : nfmt == 1 ? 0 : i;
		bool binary = fi >= 0 && ((fmts[2 * fi] << 8) | fmts[2 * fi + 1]) != 0;
		uint32_t oid = binary && i < noids ? (uint32_t)proto_get_u32(oids + 4 * i) : 0;
		int32_t keep = vlen < 0 || (binary && !paramconv_supported(oid)) ? -1 : vlen;
		if (used + 8 + (size_t)(keep > 0 ? keep : 0) > EVENT_PARAMS_DATA)
			return false;
		memcpy(p->data + used, &keep, 4);
		memcpy(p->data + used + 4, &oid, 4);
		used += 8;
		if (keep > 0) {
			memcpy(p->data + used, q, (size_t)keep);
			used += (size_t)keep;
		}
		if (vlen > 0)
			q += vlen;
	}
	p->nvalues = (int16_t)nval;
	p->used = (uint16_t)used;
	return true;
}

static struct paramtap *tap_of(struct loop *loop)
{
	if (!loop->paramtap)
		loop->paramtap = calloc(1, sizeof(*loop->paramtap)); /* once per loop */
	return loop->paramtap;
}

/* due tells whether the statement FP was not queued within the interval. */
static bool due(struct paramtap *t, uint64_t fp, usec_t now, usec_t interval)
{
	size_t i = fp & (PARAMTAP_SLOTS - 1);
	return t->fp[i] != fp || now - t->at[i] >= interval;
}

static void queue(struct loop *loop, struct paramtap *t, uint64_t fp)
{
	size_t i = fp & (PARAMTAP_SLOTS - 1);
	t->fp[i] = fp;
	t->at[i] = loop->now;
	t->ev.at_us = timeutil_wall();
	if (evqueue_push(loop->events, &t->ev))
		t->stats.sampled++;
}

/* start fills the pending event with TEXT (LEN bytes, no NUL needed).
 * Returns false when it does not fit. */
static bool start(struct paramtap *t, struct client *client, const char *text, size_t len,
		  bool query)
{
	if (len + 1 > EVENT_PARAMS_DATA) {
		t->stats.too_long++;
		return false;
	}
	struct event_params *p = &t->ev.u.params;
	t->ev.kind = EVENT_PARAM_SAMPLE;
	const char *db = client->pool->db->name;
	size_t dl = strlen(db);
	if (dl >= sizeof(p->database))
		dl = sizeof(p->database) - 1;
	memcpy(p->database, db, dl);
	p->database[dl] = '\0';
	p->query = query;
	p->nvalues = 0;
	memcpy(p->data, text, len);
	p->data[len] = '\0';
	p->text_len = (uint16_t)len;
	p->used = (uint16_t)(len + 1);
	return true;
}

static void on_bind(struct loop *loop, struct paramtap *t, struct client *client,
		    const uint8_t *body, uint32_t blen)
{
	const uint8_t *z = memchr(body, '\0', blen);
	if (!z)
		return;
	const char *name = (const char *)z + 1;
	if (!memchr(name, '\0', blen - (uint32_t)(z + 1 - body)))
		return;
	uint64_t fp;
	const uint8_t *oids;
	int noids;
	if (t->pending && t->pending_client == client->id && !strcmp(t->pending_name, name)) {
		t->pending = false;
		fp = t->pending_fp;
		oids = t->pending_oids;
		noids = t->pending_noids;
	} else {
		/* a statement prepared earlier: its text, when the pooler
		 * translates statement names */
		if (t->pending && t->pending_client == client->id)
			t->pending = false; /* its Parse was not for this Bind */
		const char *text =
			name[0] && ps_active(client) ? ps_client_text(client, name) : NULL;
		if (!text || !paramtap_sampled_kind(text, (uint32_t)strlen(text)))
			return;
		fp = topstmt_fingerprint(text);
		if (!due(t, fp, loop->now, loop->cfg->sample_query_params_interval))
			return;
		t->pending = false; /* the event is taken: another client's Parse is lost */
		if (!start(t, client, text, strlen(text), false))
			return;
		oids = ps_client_types(client, name, &noids);
	}
	if (!paramtap_encode_values(&t->ev.u.params, body, blen, oids, noids)) {
		t->stats.too_long++;
		return;
	}
	queue(loop, t, fp);
}

void paramtap_note(struct client *client, uint8_t type, uint32_t len, const uint8_t *body,
		   uint32_t avail)
{
	struct loop *loop = client->conn.loop;
	if (!loop->cfg->sample_query_params || !loop->events ||
	    (type != 'Q' && type != 'P' && type != 'B'))
		return;
	struct paramtap *t = tap_of(loop);
	if (!t)
		return;
	uint32_t blen = len >= 4 ? len - 4 : 0;
	if (avail < blen) {
		t->stats.partial++;
		return;
	}
	if (type == 'B') {
		if (t->pending || client->ps.count)
			on_bind(loop, t, client, body, blen);
		return;
	}
	const char *text = (const char *)body;
	const char *name = "";
	if (type == 'P') {
		const uint8_t *z = memchr(body, '\0', blen);
		if (!z)
			return;
		name = (const char *)body;
		text = (const char *)z + 1;
	}
	const uint8_t *tz = memchr(text, '\0', blen - (uint32_t)((const uint8_t *)text - body));
	if (!tz)
		return;
	uint32_t tlen = (uint32_t)((const char *)tz - text);
	if (!paramtap_sampled_kind(text, tlen))
		return;
	uint64_t fp = topstmt_fingerprint(text);
	if (!due(t, fp, loop->now, loop->cfg->sample_query_params_interval))
		return;
	if (type == 'P' && strlen(name) >= sizeof(t->pending_name))
		return;
	t->pending = false;
	if (!start(t, client, text, tlen, type == 'Q'))
		return;
	if (type == 'Q') {
		queue(loop, t, fp);
		return;
	}
	/* the parameter types after the text: int16 count, int32 OIDs */
	const uint8_t *ty = tz + 1, *end = body + blen;
	int noids = end - ty >= 2 ? (ty[0] << 8) | ty[1] : 0;
	if (noids > PARAMTAP_OIDS)
		noids = PARAMTAP_OIDS; /* the others: unspecified */
	if ((end - ty) - 2 < 4 * noids)
		noids = 0;
	memcpy(t->pending_oids, ty + 2, 4 * (size_t)noids);
	t->pending_noids = noids;
	t->pending = true;
	t->pending_client = client->id;
	t->pending_fp = fp;
	strcpy(t->pending_name, name);
}

struct paramtap_stats paramtap_stats(const struct loop *loop)
{
	struct paramtap_stats zero = {0};
	return loop->paramtap ? loop->paramtap->stats : zero;
}

void paramtap_write_metrics(const struct loop *loop, FILE *out)
{
	if (!loop->paramtap && !loop->cfg->sample_query_params)
		return;
	struct paramtap_stats st = paramtap_stats(loop);
	fprintf(out,
		"# HELP pglifeguard_param_samples_total Statements whose parameter values were "
		"queued for the store (sample_query_params).\n"
		"# TYPE pglifeguard_param_samples_total counter\n"
		"pglifeguard_param_samples_total %llu\n"
		"# HELP pglifeguard_param_samples_skipped_total Statements not sampled: too_long "
		"(a due statement whose text and values exceed 4000 bytes), partial (a Query, "
		"Parse or Bind message not entirely buffered, not looked at).\n"
		"# TYPE pglifeguard_param_samples_skipped_total counter\n"
		"pglifeguard_param_samples_skipped_total{reason=\"too_long\"} %llu\n"
		"pglifeguard_param_samples_skipped_total{reason=\"partial\"} %llu\n",
		(unsigned long long)st.sampled, (unsigned long long)st.too_long,
		(unsigned long long)st.partial);
}

void paramtap_free(struct loop *loop)
{
	free(loop->paramtap);
	loop->paramtap = NULL;
}
