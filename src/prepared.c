/* Protocol-level prepared statements in transaction and statement pooling.
 *
 * A client's Parse of a named statement is sent to the server under the
 * pooler's name for that text, or answered with ParseComplete when the
 * server already has it; Bind and Describe of a name are rewritten to the
 * pooler's name, preceded by a Parse when the server lacks it; Close of a
 * name is answered with CloseComplete. The server connection keeps a queue
 * of the responses it owes, in the order it will send them, so that the
 * answers of the pooler's own messages are dropped and the pooler's own
 * answers are inserted at their place. After an error, PostgreSQL skips
 * messages until Sync: the queue does the same and undoes what the skipped
 * messages would have changed. */
#include "prepared.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "log.h"
#include "loop.h"
#include "pool.h"
#include "proto.h"
#include "server.h"

#define SERVER_NAME_PREFIX "PGLG_S"
#define QUERY_PEEK_MAX 256 /* a Query this short is looked at for DEALLOCATE */
#define ERROR_PEEK_MAX 8192 /* as server.c: errors up to this size are seen whole */

/* What a response in the server's stream answers. */
enum rq_kind {
	RQ_PARSE, /* a client's Parse, sent (ParseComplete) */
	RQ_PARSE_DUP, /* a client's Parse of a name it already has */
	RQ_BIND,
	RQ_DESCRIBE,
	RQ_EXECUTE,
	RQ_CLOSE, /* a client's Close of a portal or the unnamed statement */
	RQ_SYNC,
	RQ_QUERY,
	RQ_FUNC,
	RQ_INJ_PARSE, /* our Parse: its ParseComplete is dropped */
	RQ_INJ_CLOSE, /* our Close (eviction): its CloseComplete is dropped */
	RQ_FAKE_PARSE, /* we answer ParseComplete */
	RQ_FAKE_CLOSE, /* we answer CloseComplete */
	RQ_FAKE_DEALLOC, /* we answer a DEALLOCATE Query */
};

#define RQF_LRU_ADDED 1 /* this request put its statement in the server's LRU */
#define RQF_ALL 2 /* DEALLOCATE ALL */

struct ps_req {
	uint8_t kind;
	uint8_t flags;
	struct pstmt *st; /* the statement concerned (a reference) */
	struct pstmt *prev; /* the client's mapping before this request (a reference) */
	char *cname; /* the client's name, when the request changed its mapping */
};

struct ps_name {
	struct ps_name *next;
	struct pstmt *st;
	uint32_t hash;
	char name[];
};

struct ps_node {
	struct pstmt *st;
	struct ps_node *prev, *next; /* LRU order */
	struct ps_node *hnext;
	uint64_t used; /* epoch of the last use */
};

static uint32_t hash_bytes(const void *data, size_t len)
{
	const uint8_t *p = data;
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 16777619u;
	}
	return h;
}

/* --- the registry ---------------------------------------------------------- */

static bool reg_grow(struct ps_registry *reg)
{
	uint32_t nb = reg->nbuckets ? reg->nbuckets * 2 : 64;
	struct pstmt **b = calloc(nb, sizeof(*b));
	if (!b)
		return false;
	for (uint32_t i = 0; i < reg->nbuckets; i++) {
		struct pstmt *p = reg->buckets[i], *next;
		for (; p; p = next) {
			next = p->hnext;
			p->hnext = b[p->hash & (nb - 1)];
			b[p->hash & (nb - 1)] = p;
		}
	}
	free(reg->buckets);
	reg->buckets = b;
	reg->nbuckets = nb;
	return true;
}

/* The session parameters a statement's parse depends on, as the server
 * reported them: "DateStyle\0TimeZone\0..." into BUF. */
static uint32_t parse_params(const struct server *server, char *buf, size_t size)
{
	static const enum param_id ids[] = {PARAM_CLIENT_ENCODING, PARAM_DATESTYLE, PARAM_TIMEZONE,
					    PARAM_INTERVALSTYLE, PARAM_STANDARD_CONFORMING_STRINGS};
	size_t n = 0;
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		const char *v = server->params.values[ids[i]];
		size_t len = v ? strlen(v) : 0;
		if (n + len + 1 > size)
			break;
		memcpy(buf + n, v ? v : "", len);
		n += len;
		buf[n++] = '\0';
	}
	return (uint32_t)n;
}

/* reg_get returns a new reference to the statement with TAIL parsed under
 * SERVER's session parameters, creating it. */
static struct pstmt *reg_get(struct ps_registry *reg, const struct server *server,
			     const uint8_t *tail, uint32_t tlen)
{
	char salt[512];
	uint32_t slen = parse_params(server, salt, sizeof(salt));
	uint32_t len = tlen + slen;
	uint32_t h = hash_bytes(tail, tlen) ^ (hash_bytes(salt, slen) * 31u);
	if (reg->nbuckets) {
		for (struct pstmt *p = reg->buckets[h & (reg->nbuckets - 1)]; p; p = p->hnext)
			if (p->hash == h && p->key_len == len && p->tail_len == tlen &&
			    memcmp(p->tail, tail, tlen) == 0 &&
			    memcmp(p->tail + tlen, salt, slen) == 0) {
				p->refs++;
				return p;
			}
	}
	if (reg->count >= reg->nbuckets && !reg_grow(reg))
		return NULL;
	struct pstmt *p = malloc(sizeof(*p) + len);
	if (!p)
		return NULL;
	p->id = ++reg->next_id;
	p->hash = h;
	p->refs = 1;
	p->stale = false;
	snprintf(p->name, sizeof(p->name), SERVER_NAME_PREFIX "%llu", (unsigned long long)p->id);
	p->tail_len = tlen;
	p->key_len = len;
	memcpy(p->tail, tail, tlen);
	memcpy(p->tail + tlen, salt, slen);
	uint32_t i = h & (reg->nbuckets - 1);
	p->hnext = reg->buckets[i];
	reg->buckets[i] = p;
	reg->count++;
	return p;
}

static void reg_unlink(struct ps_registry *reg, struct pstmt *st)
{
	struct pstmt **pp = &reg->buckets[st->hash & (reg->nbuckets - 1)];
	for (; *pp; pp = &(*pp)->hnext)
		if (*pp == st) {
			*pp = st->hnext;
			reg->count--;
			return;
		}
}

static struct pstmt *st_ref(struct pstmt *st)
{
	if (st)
		st->refs++;
	return st;
}

static void st_unref(struct ps_registry *reg, struct pstmt *st)
{
	if (!st || --st->refs > 0)
		return;
	if (!st->stale)
		reg_unlink(reg, st);
	free(st);
}

/* A statement whose result type changed on the server fails there for
 * good: new uses get a fresh statement (and server-side name). */
static void st_mark_stale(struct ps_registry *reg, struct pstmt *st)
{
	if (st->stale)
		return;
	reg_unlink(reg, st);
	st->stale = true;
}

void ps_registry_free(struct ps_registry *reg)
{
	/* every statement is referenced by a client or server freed before */
	free(reg->buckets);
	memset(reg, 0, sizeof(*reg));
}

uint32_t ps_registry_count(const struct ps_registry *reg)
{
	return reg->count;
}

/* --- a client's names ---------------------------------------------------- */

static struct ps_name **name_slot(struct ps_client *pc, const char *name, uint32_t h)
{
	struct ps_name **pp = &pc->buckets[h & (pc->nbuckets - 1)];
	for (; *pp; pp = &(*pp)->next)
		if ((*pp)->hash == h && strcmp((*pp)->name, name) == 0)
			return pp;
	return pp;
}

static struct pstmt *name_get(struct ps_client *pc, const char *name)
{
	if (!pc->count)
		return NULL;
	struct ps_name *n = *name_slot(pc, name, hash_bytes(name, strlen(name)));
	return n ? n->st : NULL;
}

static bool name_grow(struct ps_client *pc)
{
	uint32_t nb = pc->nbuckets ? pc->nbuckets * 2 : 16;
	struct ps_name **b = calloc(nb, sizeof(*b));
	if (!b)
		return false;
	for (uint32_t i = 0; i < pc->nbuckets; i++) {
		struct ps_name *n = pc->buckets[i], *next;
		for (; n; n = next) {
			next = n->next;
			n->next = b[n->hash & (nb - 1)];
			b[n->hash & (nb - 1)] = n;
		}
	}
	free(pc->buckets);
	pc->buckets = b;
	pc->nbuckets = nb;
	return true;
}

/* name_put maps NAME to ST (a new reference is taken), or forgets NAME
 * when ST is NULL. Returns false when out of memory. */
static bool name_put(struct ps_registry *reg, struct ps_client *pc, const char *name,
		     struct pstmt *st)
{
	uint32_t h = hash_bytes(name, strlen(name));
	if (pc->nbuckets) {
		struct ps_name **pp = name_slot(pc, name, h);
		if (*pp) {
			struct ps_name *n = *pp;
			st_unref(reg, n->st);
			if (st) {
				n->st = st_ref(st);
			} else {
				*pp = n->next;
				free(n);
				pc->count--;
			}
			return true;
		}
	}
	if (!st)
		return true;
	if (pc->count >= pc->nbuckets && !name_grow(pc))
		return false;
	size_t len = strlen(name);
	struct ps_name *n = malloc(sizeof(*n) + len + 1);
	if (!n)
		return false;
	memcpy(n->name, name, len + 1);
	n->hash = h;
	n->st = st_ref(st);
	struct ps_name **head = &pc->buckets[h & (pc->nbuckets - 1)];
	n->next = *head;
	*head = n;
	pc->count++;
	return true;
}

void ps_client_free(struct loop *loop, struct ps_client *pc)
{
	for (uint32_t i = 0; i < pc->nbuckets; i++) {
		struct ps_name *n = pc->buckets[i], *next;
		for (; n; n = next) {
			next = n->next;
			st_unref(&loop->ps_reg, n->st);
			free(n);
		}
	}
	free(pc->buckets);
	memset(pc, 0, sizeof(*pc));
}

/* --- a server's statements (LRU) ----------------------------------------- */

static struct ps_node *lru_find(struct ps_server *ps, const struct pstmt *st)
{
	if (!ps->count)
		return NULL;
	for (struct ps_node *n = ps->buckets[st->id & (ps->nbuckets - 1)]; n; n = n->hnext)
		if (n->st == st)
			return n;
	return NULL;
}

static void lru_unlink_order(struct ps_server *ps, struct ps_node *n)
{
	if (n->prev)
		n->prev->next = n->next;
	else
		ps->head = n->next;
	if (n->next)
		n->next->prev = n->prev;
	else
		ps->tail = n->prev;
	n->prev = n->next = NULL;
}

static void lru_push_front(struct ps_server *ps, struct ps_node *n)
{
	n->prev = NULL;
	n->next = ps->head;
	if (ps->head)
		ps->head->prev = n;
	ps->head = n;
	if (!ps->tail)
		ps->tail = n;
}

static void lru_touch(struct ps_server *ps, struct ps_node *n)
{
	n->used = ps->epoch;
	if (ps->head != n) {
		lru_unlink_order(ps, n);
		lru_push_front(ps, n);
	}
}

static bool lru_grow(struct ps_server *ps)
{
	uint32_t nb = ps->nbuckets ? ps->nbuckets * 2 : 16;
	struct ps_node **b = calloc(nb, sizeof(*b));
	if (!b)
		return false;
	for (struct ps_node *n = ps->head; n; n = n->next) {
		n->hnext = b[n->st->id & (nb - 1)];
		b[n->st->id & (nb - 1)] = n;
	}
	free(ps->buckets);
	ps->buckets = b;
	ps->nbuckets = nb;
	return true;
}

static bool lru_add(struct ps_server *ps, struct pstmt *st)
{
	if (ps->count >= ps->nbuckets && !lru_grow(ps))
		return false;
	struct ps_node *n = calloc(1, sizeof(*n));
	if (!n)
		return false;
	n->st = st_ref(st);
	n->used = ps->epoch;
	struct ps_node **head = &ps->buckets[st->id & (ps->nbuckets - 1)];
	n->hnext = *head;
	*head = n;
	lru_push_front(ps, n);
	ps->count++;
	return true;
}

static void lru_remove(struct ps_registry *reg, struct ps_server *ps, struct ps_node *n)
{
	struct ps_node **pp = &ps->buckets[n->st->id & (ps->nbuckets - 1)];
	for (; *pp; pp = &(*pp)->hnext)
		if (*pp == n) {
			*pp = n->hnext;
			break;
		}
	lru_unlink_order(ps, n);
	st_unref(reg, n->st);
	free(n);
	ps->count--;
}

/* The least recently used statement not used in this checkout: a portal
 * of the current transaction may still need it. */
static struct ps_node *lru_victim(struct ps_server *ps)
{
	for (struct ps_node *n = ps->tail; n; n = n->prev)
		if (n->used != ps->epoch)
			return n;
	return NULL;
}

void ps_server_checkout(struct ps_server *ps)
{
	ps->epoch++;
}

void ps_server_forget(struct loop *loop, struct ps_server *ps)
{
	while (ps->head)
		lru_remove(&loop->ps_reg, ps, ps->head);
}

/* --- the queue of owed responses ------------------------------------------ */

static struct ps_req *q_at(struct ps_server *ps, uint32_t i)
{
	return &ps->q[(ps->qhead + i) & (ps->qcap - 1)];
}

static struct ps_req *q_push(struct ps_server *ps, enum rq_kind kind)
{
	if (ps->qlen == ps->qcap) {
		uint32_t ncap = ps->qcap ? ps->qcap * 2 : 16;
		struct ps_req *nq = malloc(ncap * sizeof(*nq));
		if (!nq)
			return NULL;
		for (uint32_t i = 0; i < ps->qlen; i++)
			nq[i] = *q_at(ps, i);
		free(ps->q);
		ps->q = nq;
		ps->qcap = ncap;
		ps->qhead = 0;
	}
	struct ps_req *r = q_at(ps, ps->qlen++);
	memset(r, 0, sizeof(*r));
	r->kind = (uint8_t)kind;
	return r;
}

static void req_release(struct ps_registry *reg, struct ps_req *r)
{
	st_unref(reg, r->st);
	st_unref(reg, r->prev);
	free(r->cname);
	memset(r, 0, sizeof(*r));
}

static void q_pop(struct ps_registry *reg, struct ps_server *ps)
{
	req_release(reg, q_at(ps, 0));
	ps->qhead = (ps->qhead + 1) & (ps->qcap - 1);
	ps->qlen--;
}

void ps_server_free(struct loop *loop, struct ps_server *ps)
{
	st_unref(&loop->ps_reg, ps->dealloc);
	ps->dealloc = NULL;
	while (ps->qlen)
		q_pop(&loop->ps_reg, ps);
	free(ps->q);
	ps_server_forget(loop, ps);
	free(ps->buckets);
	memset(ps, 0, sizeof(*ps));
}

/* A request PostgreSQL skipped (or that failed) never happened: put back
 * what it changed. */
static void req_undo(struct loop *loop, struct server *server, struct ps_req *r)
{
	struct ps_server *ps = &server->ps;
	struct client *client = server->client;

	if ((r->flags & RQF_LRU_ADDED) && r->st) {
		struct ps_node *n = lru_find(ps, r->st);
		if (n)
			lru_remove(&loop->ps_reg, ps, n);
	}
	if (r->kind == RQ_INJ_CLOSE) {
		/* the statement stays on the server, unknown to us: a later
		 * Parse under its name would fail, so do not reuse this server */
		server->close_needed = true;
	}
	/* RQ_PARSE_DUP keeps the name for its error text only */
	if (r->cname && client && r->kind != RQ_PARSE_DUP)
		name_put(&loop->ps_reg, &client->ps, r->cname, r->prev);
}

/* The request at the head failed: PostgreSQL skips everything up to the
 * next Sync, which the queue then still owes. */
static void fail_to_sync(struct server *server)
{
	struct loop *loop = server->conn.loop;
	struct ps_server *ps = &server->ps;
	uint32_t n = 0;

	while (n < ps->qlen && q_at(ps, n)->kind != RQ_SYNC)
		n++;
	for (uint32_t i = n; i-- > 0;) {
		struct ps_req *r = q_at(ps, i);
		req_undo(loop, server, r);
		/* a Query or FunctionCall sent meanwhile is ignored too: no
		 * ReadyForQuery will come for it */
		if ((r->kind == RQ_QUERY || r->kind == RQ_FUNC) && server->pending_rfq > 0)
			server->pending_rfq--;
	}
	for (uint32_t i = 0; i < n; i++)
		q_pop(&loop->ps_reg, ps);
	if (ps->qlen == 0)
		ps->skipping = true; /* until the client's Sync */
}

static bool is_fake(const struct ps_req *r)
{
	return r->kind == RQ_FAKE_PARSE || r->kind == RQ_FAKE_CLOSE || r->kind == RQ_FAKE_DEALLOC;
}

/* --- building messages ----------------------------------------------------- */

/* put_msg appends a message of TYPE whose body is A then B (each may be
 * empty) to *BUF. */
static bool put_msg(struct iobuf_pool *pool, struct iobuf **buf, uint8_t type, const void *a,
		    uint32_t alen, const void *b, uint32_t blen)
{
	uint32_t total = 1 + 4 + alen + blen;
	if (!iobuf_reserve(pool, buf, total))
		return false;
	uint8_t *p = (*buf)->data + (*buf)->end;
	p[0] = type;
	proto_put_u32(p + 1, 4 + alen + blen);
	if (alen)
		memcpy(p + 5, a, alen);
	if (blen)
		memcpy(p + 5 + alen, b, blen);
	(*buf)->end += total;
	return true;
}

static struct iobuf **server_out(struct server *server)
{
	return &server->conn.wbuf;
}

/* Make room for one more statement on SERVER: Close the least recently
 * used ones beyond max_prepared_statements. */
static bool evict(struct server *server)
{
	struct loop *loop = server->conn.loop;
	struct ps_server *ps = &server->ps;
	int max = loop->cfg->max_prepared_statements;

	while (ps->count >= (uint32_t)max) {
		struct ps_node *victim = lru_victim(ps);
		if (!victim)
			return true; /* all pinned: over the limit until the next checkout */
		char body[1 + sizeof(victim->st->name)];
		body[0] = 'S';
		size_t len = strlen(victim->st->name) + 1;
		memcpy(body + 1, victim->st->name, len);
		struct ps_req *r = q_push(ps, RQ_INJ_CLOSE);
		if (!r || !put_msg(conn_bufs(&server->conn), server_out(server), 'C', body,
				   (uint32_t)(1 + len), NULL, 0))
			return false;
		lru_remove(&loop->ps_reg, ps, victim);
	}
	return true;
}

/* send_parse queues a Parse of ST under its server-side name. */
static bool send_parse(struct server *server, struct pstmt *st)
{
	return put_msg(conn_bufs(&server->conn), server_out(server), 'P', st->name,
		       (uint32_t)strlen(st->name) + 1, st->tail, st->tail_len);
}

/* ensure_prepared makes sure ST exists on SERVER by the time the next
 * queued message arrives there: a Parse of our own if it does not. */
static bool ensure_prepared(struct server *server, struct pstmt *st)
{
	struct ps_server *ps = &server->ps;
	struct ps_node *n = lru_find(ps, st);
	if (n) {
		lru_touch(ps, n);
		return true;
	}
	if (!evict(server))
		return false;
	struct ps_req *r = q_push(ps, RQ_INJ_PARSE);
	if (!r)
		return false;
	r->st = st_ref(st);
	if (!send_parse(server, st) || !lru_add(ps, st))
		return false;
	r->flags |= RQF_LRU_ADDED;
	server->pool->server_parse_count++;
	return true;
}

/* A client's stale mapping moves to a fresh statement of the same text. */
static struct pstmt *refresh(struct loop *loop, struct client *client, const char *name,
			     struct pstmt *st)
{
	if (!st->stale)
		return st;
	struct pstmt *fresh = reg_get(&loop->ps_reg, client->server, st->tail, st->tail_len);
	if (!fresh)
		return NULL;
	bool ok = name_put(&loop->ps_reg, &client->ps, name, fresh);
	st_unref(&loop->ps_reg, fresh);
	return ok ? fresh : NULL;
}

/* --- client messages ---------------------------------------------------- */

const char *ps_client_text(struct client *client, const char *name)
{
	struct pstmt *st = client->ps.count ? name_get(&client->ps, name) : NULL;
	return st ? (const char *)st->tail : NULL;
}

const uint8_t *ps_client_types(struct client *client, const char *name, int *count)
{
	struct pstmt *st = client->ps.count ? name_get(&client->ps, name) : NULL;
	*count = 0;
	if (!st)
		return NULL;
	const uint8_t *z = memchr(st->tail, '\0', st->tail_len);
	uint32_t left = z ? st->tail_len - (uint32_t)(z + 1 - st->tail) : 0;
	if (left < 2)
		return NULL;
	int n = (z[1] << 8) | z[2];
	if (left - 2 < 4 * (uint32_t)n)
		return NULL;
	*count = n;
	return z + 3;
}

bool ps_active(const struct client *client)
{
	return client->pool && client->pool->mode != POOL_MODE_SESSION &&
	       client->conn.loop->cfg->max_prepared_statements > 0;
}

static enum pkt_action oom(struct client *client)
{
	client_fail(client, "53200", "out of memory handling a prepared statement");
	return PKT_STOP;
}

static const char *skip_space(const char *p, const char *end)
{
	while (p < end && isspace((unsigned char)*p))
		p++;
	return p;
}

static const char *match_word(const char *p, const char *end, const char *word)
{
	size_t n = strlen(word);
	if ((size_t)(end - p) < n || strncasecmp(p, word, n) != 0)
		return NULL;
	p += n;
	if (p < end && (isalnum((unsigned char)*p) || *p == '_'))
		return NULL;
	return skip_space(p, end);
}

enum sql_kind ps_classify_sql(const char *text, size_t len, char *name, size_t name_size)
{
	const char *end = text + len;
	while (end > text && (end[-1] == '\0' || end[-1] == ';' || isspace((unsigned char)end[-1])))
		end--;
	const char *p = skip_space(text, end), *q;
	if ((q = match_word(p, end, "DISCARD")))
		return match_word(q, end, "ALL") == end ? SQL_DISCARD_ALL : SQL_OTHER;
	if (!(q = match_word(p, end, "DEALLOCATE")))
		return SQL_OTHER;
	const char *r = match_word(q, end, "PREPARE");
	if (r)
		q = r;
	if (match_word(q, end, "ALL") == end)
		return SQL_DEALLOCATE_ALL;
	size_t n = 0;
	if (q < end && *q == '"') {
		for (q++; q < end; q++) {
			if (*q == '"') {
				if (q + 1 < end && q[1] == '"') {
					q++;
				} else {
					break;
				}
			}
			if (n + 1 >= name_size)
				return SQL_OTHER;
			name[n++] = *q;
		}
		if (q >= end || q + 1 != end)
			return SQL_OTHER;
	} else {
		for (; q < end && (isalnum((unsigned char)*q) || *q == '_' || *q == '$'); q++) {
			if (n + 1 >= name_size)
				return SQL_OTHER;
			name[n++] = (char)tolower((unsigned char)*q);
		}
		if (q != end)
			return SQL_OTHER;
	}
	name[n] = '\0';
	return n ? SQL_DEALLOCATE : SQL_OTHER;
}

/* An unnamed Parse passes, unless it is a DEALLOCATE of one of the
 * client's names: then it deallocates our name for that statement. */
static enum pkt_action on_unnamed_parse(struct client *client, uint32_t blen, const uint8_t *body,
					int *mode)
{
	struct server *server = client->server;
	struct loop *loop = client->conn.loop;
	struct ps_server *ps = &server->ps;
	const uint8_t *text = body + 1;
	const uint8_t *tz = blen > 1 ? memchr(text, '\0', blen - 1) : NULL;
	char name[128];
	struct pstmt *st = NULL;

	if (body[0] == '\0' && tz && tz - text <= QUERY_PEEK_MAX && client->ps.count &&
	    ps_classify_sql((const char *)text, (size_t)(tz - text), name, sizeof(name)) ==
		    SQL_DEALLOCATE)
		st = name_get(&client->ps, name);
	if (!st) {
		if (!q_push(ps, RQ_PARSE))
			return oom(client);
		return PKT_FORWARD;
	}
	*mode = PS_DONE;
	if (!conn_forward_now(&client->conn))
		return PKT_STOP;
	if (!ensure_prepared(server, st))
		return oom(client);
	/* the unnamed statement's name and our DEALLOCATE, then the
	 * parameter types as the client sent them */
	char head[64];
	int n = snprintf(head, sizeof(head), "%cDEALLOCATE \"%s\"", '\0', st->name);
	uint32_t rest = (uint32_t)(body + blen - (tz + 1));
	struct ps_req *r = q_push(ps, RQ_PARSE);
	if (!r || !(r->cname = strdup(name)) ||
	    !put_msg(conn_bufs(&server->conn), server_out(server), 'P', head, (uint32_t)n + 1,
		     tz + 1, rest))
		return oom(client);
	r->prev = st_ref(st);
	name_put(&loop->ps_reg, &client->ps, name, NULL);
	/* our statement leaves the server's LRU when the DEALLOCATE completes */
	st_unref(&loop->ps_reg, ps->dealloc);
	ps->dealloc = st_ref(st);
	return PKT_SKIP;
}

static enum pkt_action on_parse(struct client *client, uint32_t blen, const uint8_t *body,
				int *mode)
{
	struct server *server = client->server;
	struct loop *loop = client->conn.loop;
	struct ps_server *ps = &server->ps;
	const uint8_t *z = memchr(body, '\0', blen);

	if (!z || z == body)
		return on_unnamed_parse(client, blen, body, mode);
	const char *name = (const char *)body;
	const uint8_t *tail = z + 1;
	uint32_t tlen = (uint32_t)(body + blen - tail);
	struct pstmt *old = name_get(&client->ps, name);

	*mode = PS_DONE;
	if (old) {
		/* PostgreSQL refuses a name in use, after parsing the text: send
		 * the text under a name the server has, and say the client's name
		 * in the error */
		if (!conn_forward_now(&client->conn))
			return PKT_STOP;
		client->pool->client_parse_count++;
		if (!ensure_prepared(server, old))
			return oom(client);
		struct ps_req *r = q_push(ps, RQ_PARSE_DUP);
		if (!r || !(r->cname = strdup(name)) ||
		    !put_msg(conn_bufs(&server->conn), server_out(server), 'P', old->name,
			     (uint32_t)strlen(old->name) + 1, tail, tlen))
			return oom(client);
		return PKT_SKIP;
	}
	struct pstmt *st = reg_get(&loop->ps_reg, server, tail, tlen);
	if (!st)
		return oom(client);
	struct ps_node *n = lru_find(ps, st);
	if (n) {
		/* the server has it: answer ParseComplete in turn */
		lru_touch(ps, n);
		client->pool->client_parse_count++;
		struct ps_req *r = q_push(ps, RQ_FAKE_PARSE);
		if (!r) {
			st_unref(&loop->ps_reg, st);
			return oom(client);
		}
		r->st = st;
		if (!(r->cname = strdup(name)) || !name_put(&loop->ps_reg, &client->ps, name, st))
			return oom(client);
		ps_emit(server);
		return PKT_SKIP;
	}
	if (!conn_forward_now(&client->conn)) {
		st_unref(&loop->ps_reg, st);
		return PKT_STOP;
	}
	client->pool->client_parse_count++;
	if (!evict(server)) {
		st_unref(&loop->ps_reg, st);
		return oom(client);
	}
	struct ps_req *r = q_push(ps, RQ_PARSE);
	if (!r) {
		st_unref(&loop->ps_reg, st);
		return oom(client);
	}
	r->st = st;
	if (!(r->cname = strdup(name)) || !send_parse(server, st) || !lru_add(ps, st))
		return oom(client);
	r->flags |= RQF_LRU_ADDED;
	server->pool->server_parse_count++;
	if (!name_put(&loop->ps_reg, &client->ps, name, st))
		return oom(client);
	return PKT_SKIP;
}

static enum pkt_action on_bind(struct client *client, uint32_t len, const uint8_t *body,
			       uint32_t avail, int *mode)
{
	struct server *server = client->server;
	struct loop *loop = client->conn.loop;
	uint32_t blen = len - 4;
	uint32_t have = avail < blen ? avail : blen;
	const uint8_t *z1 = memchr(body, '\0', have);
	const uint8_t *z2 = z1 ? memchr(z1 + 1, '\0', (size_t)(body + have - (z1 + 1))) : NULL;

	if (!z2 && avail < blen) {
		*mode = PS_DONE;
		return PKT_NEED_ALL;
	}
	const char *name = z2 ? (const char *)z1 + 1 : "";
	struct pstmt *st = name[0] ? name_get(&client->ps, name) : NULL;
	if (!st) {
		/* unnamed, or a name the client lacks: the server answers */
		if (!q_push(&server->ps, RQ_BIND))
			return oom(client);
		return PKT_FORWARD;
	}
	*mode = PS_DONE;
	if (!conn_forward_now(&client->conn))
		return PKT_STOP;
	st = refresh(loop, client, name, st);
	if (!st || !ensure_prepared(server, st))
		return oom(client);
	struct ps_req *r = q_push(&server->ps, RQ_BIND);
	if (!r)
		return oom(client);
	r->st = st_ref(st);
	uint32_t portal_len = (uint32_t)(z1 - body) + 1;
	uint32_t old_name_len = (uint32_t)(z2 - z1);
	uint32_t new_name_len = (uint32_t)strlen(st->name) + 1;
	/* the new header, the portal name and our statement name; the rest of
	 * the message follows from the client's buffer */
	uint32_t total = 1 + 4 + portal_len + new_name_len;
	struct iobuf **out = server_out(server);
	if (!iobuf_reserve(conn_bufs(&server->conn), out, total))
		return oom(client);
	uint8_t *p = (*out)->data + (*out)->end;
	p[0] = 'B';
	proto_put_u32(p + 1, len - old_name_len + new_name_len);
	memcpy(p + 5, body, portal_len);
	memcpy(p + 5 + portal_len, st->name, new_name_len);
	(*out)->end += total;
	client->pool->bind_count++;
	/* the text the client sent once: for SHOW CHECKOUTS, leaks and alerts */
	leak_note_statement(&server->checkout, (const char *)st->tail, st->tail_len);
	client->conn.replace_len = 1 + 4 + portal_len + old_name_len;
	return PKT_REPLACE;
}

static enum pkt_action on_describe(struct client *client, uint32_t blen, const uint8_t *body,
				   int *mode)
{
	struct server *server = client->server;
	struct loop *loop = client->conn.loop;
	const char *name = blen >= 2 ? (const char *)body + 1 : "";
	bool terminated = blen >= 2 && body[blen - 1] == '\0';
	struct pstmt *st = NULL;

	if (terminated && body[0] == 'S' && name[0])
		st = name_get(&client->ps, name);
	if (!st) {
		if (!q_push(&server->ps, RQ_DESCRIBE))
			return oom(client);
		return PKT_FORWARD;
	}
	*mode = PS_DONE;
	if (!conn_forward_now(&client->conn))
		return PKT_STOP;
	st = refresh(loop, client, name, st);
	if (!st || !ensure_prepared(server, st))
		return oom(client);
	struct ps_req *r = q_push(&server->ps, RQ_DESCRIBE);
	if (!r)
		return oom(client);
	r->st = st_ref(st);
	if (!put_msg(conn_bufs(&server->conn), server_out(server), 'D', "S", 1, st->name,
		     (uint32_t)strlen(st->name) + 1))
		return oom(client);
	return PKT_SKIP;
}

static enum pkt_action on_close(struct client *client, uint32_t blen, const uint8_t *body,
				int *mode)
{
	struct server *server = client->server;
	struct loop *loop = client->conn.loop;
	const char *name = blen >= 2 ? (const char *)body + 1 : "";
	bool terminated = blen >= 2 && body[blen - 1] == '\0';

	if (!terminated || body[0] != 'S' || !name[0]) {
		if (!q_push(&server->ps, RQ_CLOSE))
			return oom(client);
		return PKT_FORWARD;
	}
	/* closing a name, known or not, is answered CloseComplete; the
	 * statement stays on the servers that have it */
	*mode = PS_DONE;
	struct ps_req *r = q_push(&server->ps, RQ_FAKE_CLOSE);
	if (!r || !(r->cname = strdup(name)))
		return oom(client);
	r->prev = st_ref(name_get(&client->ps, name));
	name_put(&loop->ps_reg, &client->ps, name, NULL);
	ps_emit(server);
	return PKT_SKIP;
}

static enum pkt_action on_query(struct client *client, uint32_t blen, const uint8_t *body,
				uint32_t avail, int *mode)
{
	struct server *server = client->server;
	struct loop *loop = client->conn.loop;
	char name[128];
	enum sql_kind kind = SQL_OTHER;

	if (blen <= QUERY_PEEK_MAX) {
		if (avail < blen) {
			*mode = PS_DONE;
			return PKT_NEED_ALL;
		}
		kind = ps_classify_sql((const char *)body, blen, name, sizeof(name));
	}
	if (kind == SQL_DEALLOCATE && !name_get(&client->ps, name))
		kind = SQL_OTHER; /* perhaps an SQL-level PREPARE: the server's */
	if (kind == SQL_OTHER || kind == SQL_DISCARD_ALL) {
		struct ps_req *r = q_push(&server->ps, RQ_QUERY);
		if (!r)
			return oom(client);
		return PKT_FORWARD;
	}
	*mode = PS_QUIET;
	struct ps_req *r = q_push(&server->ps, RQ_FAKE_DEALLOC);
	if (!r)
		return oom(client);
	if (kind == SQL_DEALLOCATE_ALL) {
		r->flags |= RQF_ALL;
	} else {
		if (!(r->cname = strdup(name)))
			return oom(client);
		r->prev = st_ref(name_get(&client->ps, name));
		name_put(&loop->ps_reg, &client->ps, name, NULL);
	}
	ps_emit(server);
	return PKT_SKIP;
}

enum pkt_action ps_client_message(struct client *client, uint8_t type, uint32_t len,
				  const uint8_t *body, uint32_t avail, int *how)
{
	struct server *server = client->server;
	struct ps_server *ps = &server->ps;
	uint32_t blen = len - 4;
	enum pkt_action act = PKT_FORWARD;
	int mode = PS_PASS;

	if (ps->skipping) {
		/* PostgreSQL ignores everything up to Sync, and owes nothing */
		if (type != 'S') {
			*how = PS_QUIET;
			return PKT_FORWARD;
		}
		ps->skipping = false;
	}
	switch (type) {
	case 'P':
		if (avail < blen) {
			*how = PS_DONE;
			return PKT_NEED_ALL;
		}
		act = on_parse(client, blen, body, &mode);
		break;
	case 'B':
		act = on_bind(client, len, body, avail, &mode);
		break;
	case 'D':
	case 'C':
		if (avail < blen) {
			*how = PS_DONE;
			return PKT_NEED_ALL;
		}
		act = type == 'D' ? on_describe(client, blen, body, &mode)
				  : on_close(client, blen, body, &mode);
		break;
	case 'Q':
		act = on_query(client, blen, body, avail, &mode);
		break;
	case 'E':
	case 'S':
	case 'F':
		if (!q_push(ps, type == 'E' ? RQ_EXECUTE : type == 'S' ? RQ_SYNC : RQ_FUNC))
			act = oom(client);
		break;
	default:
		break;
	}
	if (act == PKT_STOP || act == PKT_NEED_ALL)
		mode = PS_DONE;
	*how = mode;
	return act;
}

bool ps_client_unlinked_query(struct client *client, uint32_t len, const uint8_t *body,
			      uint32_t avail, enum pkt_action *act)
{
	struct loop *loop = client->conn.loop;
	uint32_t blen = len - 4;
	char name[128];

	if (blen > QUERY_PEEK_MAX || !client->ps.count)
		return false;
	if (avail < blen) {
		*act = PKT_NEED_ALL;
		return true;
	}
	enum sql_kind kind = ps_classify_sql((const char *)body, blen, name, sizeof(name));
	if (kind == SQL_DEALLOCATE && name_get(&client->ps, name)) {
		name_put(&loop->ps_reg, &client->ps, name, NULL);
	} else if (kind == SQL_DEALLOCATE_ALL) {
		ps_client_free(loop, &client->ps);
	} else {
		return false;
	}
	const char *tag = kind == SQL_DEALLOCATE_ALL ? "DEALLOCATE ALL" : "DEALLOCATE";
	struct iobuf **out = &client->conn.wbuf;
	if (!put_msg(conn_bufs(&client->conn), out, 'C', tag, (uint32_t)strlen(tag) + 1, NULL, 0) ||
	    !proto_build_ready(conn_bufs(&client->conn), out, 'I')) {
		*act = oom(client);
		return true;
	}
	conn_flush(&client->conn);
	*act = PKT_SKIP;
	return true;
}

/* --- server messages ------------------------------------------------------ */

/* emit_one appends the answer of the fake request R to the client. */
static bool emit_one(struct server *server, struct ps_req *r)
{
	struct client *client = server->client;
	struct loop *loop = server->conn.loop;
	struct iobuf_pool *pool = conn_bufs(&client->conn);
	struct iobuf **out = &client->conn.wbuf;

	switch (r->kind) {
	case RQ_FAKE_PARSE:
		return put_msg(pool, out, '1', NULL, 0, NULL, 0);
	case RQ_FAKE_CLOSE:
		return put_msg(pool, out, '3', NULL, 0, NULL, 0);
	case RQ_FAKE_DEALLOC:
		if (server->txn_status == 'E') {
			req_undo(loop, server, r);
			return proto_build_error(pool, out, "ERROR", "25P02",
						 "current transaction is aborted, commands "
						 "ignored until end of transaction block",
						 NULL) &&
			       proto_build_ready(pool, out, 'E');
		}
		if (r->flags & RQF_ALL) {
			ps_client_free(loop, &client->ps);
			return put_msg(pool, out, 'C', "DEALLOCATE ALL", 15, NULL, 0) &&
			       proto_build_ready(pool, out, server->txn_status);
		}
		return put_msg(pool, out, 'C', "DEALLOCATE", 11, NULL, 0) &&
		       proto_build_ready(pool, out, server->txn_status);
	default:
		return true;
	}
}

void ps_emit(struct server *server)
{
	struct ps_server *ps = &server->ps;
	struct client *client = server->client;
	bool sent = false;

	if (ps->emitting || !client)
		return;
	ps->emitting = true;
	while (ps->qlen && is_fake(q_at(ps, 0))) {
		/* what the server sent before must reach the client first */
		if (conn_pending(&server->conn))
			break;
		if (!emit_one(server, q_at(ps, 0))) {
			ps->emitting = false;
			client_fail(client, "53200", "out of memory");
			return;
		}
		q_pop(&server->conn.loop->ps_reg, ps);
		sent = true;
	}
	ps->emitting = false;
	if (sent)
		conn_flush(&client->conn);
}

/* The client's name in place of ours in "prepared statement ... already
 * exists". */
static bool rewrite_dup_error(struct server *server, const struct ps_req *r)
{
	struct client *client = server->client;
	char msg[300];
	snprintf(msg, sizeof(msg), "prepared statement \"%s\" already exists", r->cname);
	return proto_build_error(conn_bufs(&client->conn), &client->conn.wbuf, "ERROR", "42P05",
				 msg, NULL);
}

enum pkt_action ps_server_message(struct server *server, uint8_t type, uint32_t len,
				  const uint8_t *body, uint32_t avail)
{
	struct loop *loop = server->conn.loop;
	struct ps_server *ps = &server->ps;
	uint32_t blen = len - 4;

	if (type == 'N' || type == 'A' || type == 'S')
		return PKT_FORWARD; /* asynchronous: answers nothing */
	if (ps->qlen && is_fake(q_at(ps, 0))) {
		if (conn_pending(&server->conn))
			return PKT_STOP; /* server_forwarded emits, then we go on */
		ps_emit(server);
		if (server->conn.dead || !server->client)
			return PKT_STOP;
	}
	if (!ps->qlen)
		return PKT_FORWARD;
	struct ps_req *r = q_at(ps, 0);
	switch (type) {
	case 'E': {
		if (r->kind == RQ_QUERY || r->kind == RQ_FUNC || r->kind == RQ_SYNC)
			return PKT_FORWARD; /* not the end of what they owe */
		if (avail < blen && blen <= ERROR_PEEK_MAX)
			return PKT_NEED_ALL;
		struct proto_error_fields ef;
		const char *code = NULL;
		if (avail >= blen && proto_parse_error(body, blen, &ef))
			code = ef.sqlstate;
		if (r->kind == RQ_PARSE_DUP && r->cname && code && strcmp(code, "42P05") == 0) {
			if (conn_pending(&server->conn))
				return PKT_STOP;
			if (!rewrite_dup_error(server, r)) {
				server_close(server, "out of memory");
				return PKT_STOP;
			}
			stats_count_error(&server->pool->errors, "42");
			fail_to_sync(server);
			conn_flush(&server->client->conn);
			return PKT_SKIP;
		}
		if ((r->kind == RQ_BIND || r->kind == RQ_DESCRIBE || r->kind == RQ_INJ_PARSE) &&
		    r->st && code && strcmp(code, "0A000") == 0)
			st_mark_stale(&loop->ps_reg, r->st);
		fail_to_sync(server);
		return PKT_FORWARD;
	}
	case '1':
		if (r->kind == RQ_INJ_PARSE) {
			q_pop(&loop->ps_reg, ps);
			return PKT_SKIP;
		}
		if (r->kind == RQ_PARSE || r->kind == RQ_PARSE_DUP)
			q_pop(&loop->ps_reg, ps);
		break;
	case '2':
		if (r->kind == RQ_BIND)
			q_pop(&loop->ps_reg, ps);
		break;
	case '3':
		if (r->kind == RQ_INJ_CLOSE) {
			q_pop(&loop->ps_reg, ps);
			return PKT_SKIP;
		}
		if (r->kind == RQ_CLOSE)
			q_pop(&loop->ps_reg, ps);
		break;
	case 'T':
	case 'n':
		if (r->kind == RQ_DESCRIBE)
			q_pop(&loop->ps_reg, ps);
		break;
	case 'C':
		if (avail >= blen && ((blen == 12 && memcmp(body, "DISCARD ALL", 12) == 0) ||
				      (blen == 15 && memcmp(body, "DEALLOCATE ALL", 15) == 0))) {
			/* the server dropped every statement, the client its names */
			ps_server_forget(loop, ps);
			if (server->client)
				ps_client_free(loop, &server->client->ps);
		} else if (ps->dealloc && avail >= blen && blen == 11 &&
			   memcmp(body, "DEALLOCATE", 11) == 0) {
			struct ps_node *n = lru_find(ps, ps->dealloc);
			if (n)
				lru_remove(&loop->ps_reg, ps, n);
			st_unref(&loop->ps_reg, ps->dealloc);
			ps->dealloc = NULL;
		}
		/* fall through */
	case 'I':
	case 's':
		if (r->kind == RQ_EXECUTE)
			q_pop(&loop->ps_reg, ps);
		break;
	case 'Z':
		if (avail < 1)
			return PKT_NEED_ALL; /* as server.c will: pop once */
		if (r->kind == RQ_SYNC || r->kind == RQ_QUERY || r->kind == RQ_FUNC)
			q_pop(&loop->ps_reg, ps);
		break;
	default:
		break;
	}
	return PKT_FORWARD;
}
