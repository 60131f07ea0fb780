/* Databases, users and pools keyed by (database, user): checkout and
 * checkin of server connections, the FIFO wait queue, pool limits, the
 * reserve pool and the login "welcome" every client of a pool receives. */
#ifndef PGLG_POOL_H
#define PGLG_POOL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "alert.h"
#include "config.h"
#include "histogram.h"
#include "list.h"
#include "params.h"
#include "poolobs.h"
#include "scram.h"
#include "sessionstate.h"
#include "stats.h"
#include "timeutil.h"
#include "topstmt.h"

struct loop;
struct client;
struct server;

/* A database clients may connect to: a copy of its [databases] entry
 * (taken at load and at each reload) and its connection counts. */
struct database {
	struct list_node node; /* loop->databases */
	char *name;
	char *host; /* NULL: unix socket in unix_socket_dir */
	int port;
	char *dbname; /* on the server */
	char *force_user; /* NULL: the client's user */
	char *force_password;
	char *startup_names[4]; /* client_encoding, datestyle, timezone, application_name */
	char *startup_values[4];
	int nstartup;
	char *connect_query;
	int pool_size; /* resolved with [pgbouncer] defaults */
	int min_pool_size;
	int reserve_pool;
	int max_db_connections; /* 0 = unlimited */
	enum pool_mode mode_override; /* POOL_MODE_INHERIT when unset */
	struct sockaddr_storage addr;
	socklen_t addrlen;
	bool addr_ok;
	bool from_wildcard; /* created from the "*" entry */
	bool paused;
	bool disabled;
	bool removed; /* gone from the config: pools drain and close */
	int server_count; /* every server connection to it */
	int client_count;
};

/* A user as the pooler knows it: limits and SCRAM keys learnt from a
 * client exchange (used to log in to the server when auth_file holds only
 * the SCRAM secret). */
struct user {
	struct list_node node; /* loop->users */
	char *name;
	int server_count;
	int client_count;
	bool have_scram_keys;
	uint8_t scram_client_key[SCRAM_KEY_LEN];
	uint8_t scram_server_key[SCRAM_KEY_LEN];
};

#define POOL_MAX_WELCOME 32

struct pool {
	struct list_node node; /* loop->pools */
	struct loop *loop;
	struct database *db;
	struct user *user; /* the server login user */
	enum pool_mode mode;

	struct list active_clients; /* logged in; linked or idle */
	struct list waiting_clients; /* want a server, FIFO */
	struct list login_clients; /* authenticated, waiting for the welcome */

	struct list idle_servers; /* ready, unlinked */
	struct list active_servers; /* linked to a client */
	struct list used_servers; /* released, need reset or check */
	struct list tested_servers; /* running the reset/check query */
	struct list login_servers; /* connecting or logging in */

	/* ParameterStatus set of the first server login, sent to clients */
	int nwelcome;
	char *welcome_names[POOL_MAX_WELCOME];
	char *welcome_values[POOL_MAX_WELCOME];
	struct params defaults; /* tracked parameters at server login */
	bool welcome_ready;

	usec_t last_connect_failed; /* for server_login_retry; 0 = none */
	char last_error[256];
	char last_error_sqlstate[6];

	/* counters for SHOW STATS */
	uint64_t xact_count, query_count, bytes_in, bytes_out;
	uint64_t xact_time, query_time, wait_time, server_assignments;
	uint64_t leak_count; /* checkouts flagged as suspected leaks */
	/* statements leaving session state, by enum sessionstate_kind */
	uint64_t session_state_count[SESSIONSTATE_KIND_COUNT];
	uint64_t client_parse_count; /* named Parse from clients (prepared.c) */
	uint64_t server_parse_count; /* Parse the pooler sent to servers */
	uint64_t bind_count; /* Bind of a named statement from clients */

	/* latency histograms and error classes for /metrics (http.c) */
	struct histogram query_hist; /* request to its ReadyForQuery */
	struct histogram xact_hist; /* first request to ReadyForQuery 'I' */
	struct histogram wait_hist; /* waiting for a server to getting one */
	struct histogram checkout_hist; /* server linked to released */
	struct stats_errors errors; /* ErrorResponses forwarded to clients */
	struct alert_pool alert; /* alert.c: the rules' hysteresis */
	struct topstmt topstmt; /* topstmt.c: statements by server time, for alerts */
	struct poolobs_pool obs; /* poolobs.c: transactions by application, checkouts */
};

/* pool_find_database returns the database NAME, creating it from the "*"
 * entry if there is one and NAME is not configured. NULL: no such database. */
struct database *pool_find_database(struct loop *loop, const char *name);

/* pool_find_user returns the user NAME, created on first use. */
struct user *pool_find_user(struct loop *loop, const char *name);

/* pool_get returns the pool of (DB, USER), created on first use; NULL when
 * out of memory. */
struct pool *pool_get(struct loop *loop, struct database *db, struct user *user);

/* pool_sync_databases creates, updates and marks removed the databases
 * after a (re)load of the configuration. */
void pool_sync_databases(struct loop *loop, bool reload);

/* pool_database_resolve looks up the server address of DB (at load and
 * reload; never on the hot path). Returns false and logs when it cannot. */
bool pool_database_resolve(struct loop *loop, struct database *db);

/* pool_request_server queues CLIENT for a server connection of its pool:
 * links one at once if one is idle, else waits (and a new connection is
 * launched if the limits allow). */
void pool_request_server(struct pool *pool, struct client *client);

/* pool_release_server takes SERVER back from its client (unlinked by the
 * caller): reset if needed, then to the next waiting client or idle. */
void pool_release_server(struct server *server);

/* pool_server_needs_reset tells whether SERVER, being released, must run
 * server_reset_query first: always in session mode or with
 * server_reset_query_always, else (session_state_reset) when its last client
 * left session state on it. False when server_reset_query is empty. */
bool pool_server_needs_reset(const struct server *server);

/* pool_server_ready is called when SERVER finished login, reset or check:
 * it goes to the first waiting client or to the idle list. */
void pool_server_ready(struct server *server);

/* pool_server_login_failed fails the clients that wait for this pool's
 * first login with the server's error, and records it. */
void pool_server_login_failed(struct pool *pool, const char *sqlstate, const char *message);

/* pool_set_welcome records the ParameterStatus set of the first login. */
void pool_set_welcome(struct pool *pool, int n, char *const *names, char *const *values);

/* pool_launch_servers starts new server connections while clients wait
 * and the limits allow, and keeps min_pool_size. */
void pool_launch_servers(struct pool *pool);

/* pool_mode_of returns the effective pool mode for DB and USER. */
enum pool_mode pool_mode_of(struct loop *loop, const struct database *db, const struct user *user);

/* pool_server_count returns the number of server connections of POOL. */
int pool_server_count(const struct pool *pool);

/* pool_size_limit returns the current size limit, including the reserve
 * when clients waited longer than reserve_pool_timeout. */
int pool_size_limit(const struct pool *pool, bool with_reserve);

/* pool_free releases an empty pool. */
void pool_free(struct pool *pool);

#endif
