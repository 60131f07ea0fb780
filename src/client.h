/* Client connections: startup, authentication, waiting for a server,
 * forwarding, and the one exit for a misbehaving client (client_fail). */
#ifndef PGLG_CLIENT_H
#define PGLG_CLIENT_H

#include <stdbool.h>
#include <stdint.h>

#include "conn.h"
#include "list.h"
#include "params.h"
#include "poolobs.h"
#include "prepared.h"
#include "scram.h"
#include "timeutil.h"

struct loop;
struct pool;
struct server;
struct database;
struct user;

enum client_state {
	CLIENT_LOGIN = 0, /* startup and authentication */
	CLIENT_WAITING_LOGIN, /* authenticated; the pool has no welcome yet */
	CLIENT_ACTIVE, /* logged in; linked to a server or idle */
	CLIENT_WAITING, /* wants a server */
	CLIENT_CLOSED,
};

enum client_auth_step {
	AUTH_STEP_NONE = 0,
	AUTH_STEP_PASSWORD, /* waiting for a cleartext or md5 PasswordMessage */
	AUTH_STEP_SASL_INIT, /* waiting for SASLInitialResponse */
	AUTH_STEP_SASL_FINAL, /* waiting for the SASL final response */
	AUTH_STEP_DONE,
};

struct client {
	struct conn conn;
	struct list_node node; /* in the loop's or the pool's state list */
	enum client_state state;
	uint64_t id;
	struct pool *pool;
	struct server *server; /* linked server, or NULL */
	struct database *db;
	struct user *user; /* the client's login user */
	char *user_name;
	char *db_name;
	struct params params; /* what the client asked for or SET */

	/* authentication */
	enum client_auth_step auth_step;
	int auth_method; /* AUTH_REQ_* sent */
	bool auth_user_unknown; /* fake the exchange, then fail */
	uint8_t md5_salt[4];
	struct scram_server *scram;

	uint32_t cancel_pid, cancel_key;
	struct client *cancel_next; /* chain in the loop's cancel map */
	bool cancel_registered;

	usec_t connect_time; /* wall clock, for SHOW CLIENTS */
	usec_t connect_mono;
	usec_t request_time; /* last message from the client */
	usec_t wait_start; /* when it started waiting for a server */
	bool close_after_flush;
	bool admin; /* a client of the admin console (no pool) */
	bool admin_readonly; /* stats_users: SHOW only */
	bool admin_skip_to_sync; /* admin console: an extended-protocol message
				  * failed; drop messages until Sync */
	unsigned session_state; /* sessionstate kinds seen (each warned once) */
	struct ps_client ps; /* its prepared statement names (prepared.c) */
	struct poolobs_client obs; /* N+1 scope, transaction timing (poolobs.c) */
};

/* client_accept takes FD (accepted, non-blocking) and starts the login.
 * IS_UNIX tells the listener kind. */
void client_accept(struct loop *loop, int fd, bool is_unix);

/* client_fail logs, sends an ErrorResponse with SQLSTATE and the message
 * (FATAL), and closes the client once it is written. */
void client_fail(struct client *client, const char *sqlstate, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* client_close closes CLIENT now: the linked server goes back to the pool
 * if clean, else is closed. REASON is logged (log_disconnections). */
void client_close(struct client *client, const char *reason);

/* client_set_state moves CLIENT between its lists and records the state. */
void client_set_state(struct client *client, enum client_state state);

/* client_link_server gives SERVER to CLIENT (the pool calls this) and
 * resumes the client's buffered messages once the server is prepared. */
void client_link_server(struct client *client, struct server *server);

/* client_server_ready resumes CLIENT's forwarding after its server applied
 * the client's parameters. */
void client_server_ready(struct client *client);

/* client_send_welcome finishes the login: AuthenticationOk (if not sent),
 * ParameterStatus, BackendKeyData, ReadyForQuery. */
void client_send_welcome(struct client *client);

/* client_state_name returns the SHOW CLIENTS spelling. */
const char *client_state_name(const struct client *client);

/* client_free releases a closed client (reaper). */
void client_free(struct client *client);

/* client_log writes a log line prefixed with the client's identity. */
void client_log(const struct client *client, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* client_auth_done continues the login once authentication succeeded
 * (called by auth.c): joins the pool, then welcome or wait for it. */
void client_auth_done(struct client *client);

#endif
