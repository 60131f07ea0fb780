/* Cancel keys: each client gets its own random BackendKeyData; a
 * CancelRequest carrying it is sent to the server connection that client
 * holds, with that server's key. Only the key's owner can cancel. */
#ifndef PGLG_CANCEL_H
#define PGLG_CANCEL_H

#include <stdbool.h>
#include <stdint.h>

struct loop;
struct client;
struct server;

/* cancel_map_new returns an empty map the caller frees with cancel_map_free. */
struct cancel_map *cancel_map_new(void);
void cancel_map_free(struct cancel_map *map);

/* cancel_register gives CLIENT a fresh random key and records it. */
bool cancel_register(struct loop *loop, struct client *client);
/* cancel_unregister forgets CLIENT's key. */
void cancel_unregister(struct loop *loop, struct client *client);

/* cancel_request handles a CancelRequest for (PID, KEY): when it matches a
 * client linked to a server, a new connection carries the cancel to that
 * server. Unknown keys are ignored, as PostgreSQL does. */
void cancel_request(struct loop *loop, uint32_t pid, uint32_t key);

/* cancel_server sends a CancelRequest with SERVER's backend key over a
 * new connection (leak_action = cancel). Logged on failure. */
void cancel_server(struct loop *loop, struct server *server);

/* cancel_reap frees finished cancel requests (ALL: every one, finished
 * or not). */
void cancel_reap(struct loop *loop, bool all);

/* cancel_forget_server detaches the cancels in flight to SERVER (it is
 * being closed). */
void cancel_forget_server(struct loop *loop, struct server *server);

/* cancel_abort_all drops cancels in flight (shutdown). */
void cancel_abort_all(struct loop *loop);

#endif
