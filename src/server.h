/* Server connections: connect, login (md5, SCRAM with a password or with
 * keys from the client's exchange), internal queries (parameter SETs,
 * reset, check), health, and the one exit for a broken server. */
#ifndef PGLG_SERVER_H
#define PGLG_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include "conn.h"
#include "leak.h"
#include "list.h"
#include "params.h"
#include "prepared.h"
#include "scram.h"
#include "timeutil.h"

struct pool;
struct client;

enum server_state {
	SERVER_LOGIN = 0, /* connecting or authenticating */
	SERVER_IDLE, /* ready in the pool */
	SERVER_ACTIVE, /* linked to a client */
	SERVER_USED, /* released, waiting for reset or check */
	SERVER_TESTED, /* running the reset or check query */
	SERVER_CLOSED,
};

/* An internal query in flight; its responses are consumed, not forwarded. */
enum server_task {
	TASK_NONE = 0,
	TASK_CONNECT_QUERY,
	TASK_SET_PARAMS, /* linked: the client's parameters */
	TASK_RESET, /* server_reset_query */
	TASK_CHECK, /* server_check_query */
	TASK_ROLLBACK, /* leak_action = close: then released as usual */
};

struct server {
	struct conn conn;
	struct list_node node; /* in its pool's state list */
	enum server_state state;
	enum server_task task;
	uint64_t id;
	struct pool *pool;
	struct client *client; /* linked client, or NULL */

	uint32_t backend_pid, backend_key;
	struct params params; /* the server session's tracked values */

	/* login */
	struct scram_client *scram;
	char *password; /* owned copy for this login, cleared after */
	bool password_is_md5;
	int nlogin_params;
	char *login_names[32];
	char *login_values[32];

	/* protocol state while linked */
	char txn_status; /* last ReadyForQuery status: 'I', 'T', 'E' */
	int pending_rfq; /* Query/Sync/FunctionCall sent, ReadyForQuery not yet */
	bool ext_pending; /* extended-protocol messages sent since the last Sync */
	bool release_check; /* a ReadyForQuery was forwarded: maybe release */
	bool close_needed; /* close instead of reusing (reload, RECONNECT) */
	bool login_failure_reported;
	int cancels_in_flight; /* CancelRequests on their way to this backend */
	bool release_after_cancel; /* released while a cancel was on its way */
	char task_error[256]; /* first error of an internal query */
	char task_sqlstate[6];

	usec_t connect_time; /* wall clock */
	usec_t connect_mono;
	usec_t link_time; /* when the current client got it */
	usec_t request_time; /* last activity */
	usec_t query_start; /* first unanswered request, 0 when none */
	usec_t xact_start;

	struct checkout checkout; /* leak.c: the current client's use of it */
	struct ps_server ps; /* statements prepared on it, responses owed (prepared.c) */
	bool ps_on; /* the linked client's statements are translated */
};

/* server_launch opens a new connection for POOL. Returns the server (in
 * SERVER_LOGIN) or NULL (logged; the pool records the failure). */
struct server *server_launch(struct pool *pool);

/* server_close closes SERVER (if linked, the client is failed with
 * REASON as the error). */
void server_close(struct server *server, const char *reason);

/* server_set_state moves SERVER between its pool's lists. */
void server_set_state(struct server *server, enum server_state state);

/* server_run_task sends SQL as an internal query of kind TASK. */
void server_run_task(struct server *server, enum server_task task, const char *sql);

/* server_is_clean tells whether SERVER can be reused: idle transaction
 * status, nothing in flight either way. */
bool server_is_clean(const struct server *server);

/* server_state_name returns the SHOW SERVERS spelling. */
const char *server_state_name(const struct server *server);

/* server_free releases a closed server (reaper). */
void server_free(struct server *server);

void server_log(const struct server *server, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
