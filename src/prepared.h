/* Protocol-level prepared statements in transaction and statement pooling:
 * every client keeps its own statement names whatever server connection it
 * gets. Statements are shared by text (query and parameter types) in a
 * per-loop registry; each server connection keeps an LRU of the statements
 * prepared on it under the pooler's own names ("PGLG_S<n>"), and a queue of
 * the responses it owes, so that messages the pooler adds (a Parse before a
 * Bind, a Close to evict) are swallowed and messages it answers itself
 * (ParseComplete, CloseComplete) reach the client in stream order.
 *
 * Memory: the registry holds one copy of each distinct statement text in
 * use; a server connection holds at most max_prepared_statements entries
 * (a few dozen bytes each, plus statements pinned by its current client);
 * a client holds one entry per name it prepared, as PostgreSQL would. */
#ifndef PGLG_PREPARED_H
#define PGLG_PREPARED_H

#include <stdbool.h>
#include <stdint.h>

#include "conn.h"

struct loop;
struct client;
struct server;

/* One distinct statement: the Parse body after the name (query text, its
 * NUL, the parameter type count and OIDs), then the session parameters it
 * was parsed under (a literal like '03/04/05'::date is read with the
 * DateStyle in force at Parse: clients with other settings get their own
 * statement). */
struct pstmt {
	uint64_t id;
	uint32_t hash;
	uint32_t refs;
	bool stale; /* its result type changed: re-prepared under a new id */
	struct pstmt *hnext;
	char name[24]; /* the server-side name */
	uint32_t tail_len; /* the Parse body part */
	uint32_t key_len; /* tail_len and the session parameters */
	uint8_t tail[];
};

struct ps_registry {
	struct pstmt **buckets;
	uint32_t nbuckets;
	uint32_t count;
	uint64_t next_id;
};

/* A client's names. */
struct ps_name;
struct ps_client {
	struct ps_name **buckets;
	uint32_t nbuckets;
	uint32_t count;
};

/* A server connection's statements and owed responses. */
struct ps_node;
struct ps_req;
struct ps_server {
	struct ps_node *head, *tail; /* most recently used first */
	struct ps_node **buckets;
	uint32_t nbuckets;
	uint32_t count;
	uint64_t epoch; /* bumped at every checkout: entries used in it are pinned */
	struct ps_req *q; /* ring of owed responses */
	uint32_t qcap, qhead, qlen;
	struct pstmt *dealloc; /* named in a client's DEALLOCATE on its way */
	bool skipping; /* the server skips messages until Sync after an error */
	bool emitting; /* re-entrancy guard of ps_emit */
};

/* Per-loop registry. */
void ps_registry_free(struct ps_registry *reg);
uint32_t ps_registry_count(const struct ps_registry *reg);

/* ps_active tells whether CLIENT's statements are translated on SERVER:
 * transaction or statement pooling with max_prepared_statements > 0. */
bool ps_active(const struct client *client);

/* ps_client_text returns the query text (NUL-terminated, borrowed until
 * the name is closed) of CLIENT's statement NAME, or NULL when CLIENT has
 * no such name. */
const char *ps_client_text(struct client *client, const char *name);

/* ps_client_types returns the parameter type OIDs of CLIENT's statement
 * NAME as its Parse carried them (*COUNT big-endian int32, 0 for
 * unspecified; borrowed like ps_client_text's text), or NULL and *COUNT
 * 0 when CLIENT has no such name. */
const uint8_t *ps_client_types(struct client *client, const char *name, int *count);

/* ps_client_free forgets all of CLIENT's names. */
void ps_client_free(struct loop *loop, struct ps_client *pc);
/* ps_server_free forgets SERVER's statements and owed responses. */
void ps_server_free(struct loop *loop, struct ps_server *ps);
/* ps_server_checkout starts a new checkout of SERVER (pins reset). */
void ps_server_checkout(struct ps_server *ps);
/* ps_server_forget: the server dropped all its statements (DISCARD ALL as
 * the reset query). */
void ps_server_forget(struct loop *loop, struct ps_server *ps);
/* ps_server_idle tells whether SERVER owes no response. */
static inline bool ps_server_idle(const struct ps_server *ps)
{
	return ps->qlen == 0;
}

/* What ps_client_message did with a message. */
enum {
	PS_PASS = 0, /* nothing: forward it as usual */
	PS_DONE, /* the returned action is final; the request still counts */
	PS_QUIET, /* final, and the server will not answer it (answered by us,
		   * or ignored by the server until Sync) */
};

/* ps_client_message handles a message from CLIENT to its linked server
 * (ps_active) and sets *HOW. */
enum pkt_action ps_client_message(struct client *client, uint8_t type, uint32_t len,
				  const uint8_t *body, uint32_t avail, int *how);

/* ps_client_unlinked_query answers a DEALLOCATE of CLIENT's names when no
 * server is linked. Returns true when the Query was answered. */
bool ps_client_unlinked_query(struct client *client, uint32_t len, const uint8_t *body,
			      uint32_t avail, enum pkt_action *act);

/* ps_server_message handles a message from SERVER to its linked client
 * while statements are translated. PKT_FORWARD: forward as usual. */
enum pkt_action ps_server_message(struct server *server, uint8_t type, uint32_t len,
				  const uint8_t *body, uint32_t avail);

/* ps_emit sends the answers the pooler owes at the head of SERVER's queue
 * once nothing the server sent is still on its way to the client. */
void ps_emit(struct server *server);

/* A Query that is one DEALLOCATE or DISCARD ALL statement. */
enum sql_kind { SQL_OTHER, SQL_DEALLOCATE, SQL_DEALLOCATE_ALL, SQL_DISCARD_ALL };

/* ps_classify_sql looks at TEXT (LEN bytes, no NUL needed, trailing
 * semicolons and NULs ignored); for DEALLOCATE of one name it copies the
 * name to NAME (identifier rules: folded to lower case unless quoted). A
 * name that does not fit makes it SQL_OTHER. */
enum sql_kind ps_classify_sql(const char *text, size_t len, char *name, size_t name_size);

/* Counts for SHOW CLIENTS / SHOW SERVERS. */
static inline uint32_t ps_client_count(const struct ps_client *pc)
{
	return pc->count;
}
static inline uint32_t ps_server_count(const struct ps_server *ps)
{
	return ps->count;
}

#endif
