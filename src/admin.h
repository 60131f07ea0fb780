/* The admin console: the virtual database "pgbouncer" (alias
 * "pglifeguard") answering PgBouncer's SHOW and control commands over the
 * simple-query protocol. */
#ifndef PGLG_ADMIN_H
#define PGLG_ADMIN_H

#include <stdbool.h>
#include <stdint.h>

struct client;
struct loop;

/* admin_is_console_db tells whether NAME is the admin console's database. */
bool admin_is_console_db(const char *name);

/* admin_login_allowed tells whether USER may open the console: listed in
 * admin_users (everything) or stats_users (SHOW only). */
bool admin_login_allowed(struct loop *loop, const char *user);

/* admin_welcome finishes an admin client's login (after authentication):
 * AuthenticationOk, fixed ParameterStatus set, BackendKeyData,
 * ReadyForQuery; the client becomes CLIENT_ACTIVE with no pool. */
void admin_welcome(struct client *client);

/* admin_handle_message handles one message of an admin client (TYPE, its
 * body of LEN bytes, complete; client.c handles Terminate). Query ('Q')
 * runs its statements in turn; an extended-protocol message gets an error
 * and, as in PostgreSQL, what follows is dropped up to Sync, which gets
 * ReadyForQuery; anything else is an error. The session goes on after
 * errors; only a malformed Query closes it. Writes the response into the
 * client's wbuf and flushes; a command that waits (PAUSE, WAIT_CLOSE)
 * parks the client's reading until it completes. */
void admin_handle_message(struct client *client, uint8_t type, const uint8_t *body, uint32_t len);

/* admin_destroy drops the commands still waiting to complete (PAUSE,
 * WAIT_CLOSE) and stops their timer; loop_destroy calls it. */
void admin_destroy(struct loop *loop);

#endif
