/* SUSPEND and its RESUME (PgBouncer's semantics): flush every socket
 * buffer, then stop accepting and stop reading from clients and servers,
 * the admin console excepted. There is no online restart (-R) to hand the
 * sockets to: SUSPEND exists for scripts written for PgBouncer. */
#ifndef PGLG_SUSPEND_H
#define PGLG_SUSPEND_H

#include <stdbool.h>

struct loop;

/* suspend_begin suspends LOOP: listeners stop accepting (new connections
 * wait in the backlog) and no client or server socket is read any more;
 * what is already buffered is still written out. Call with LOOP not
 * suspended. */
void suspend_begin(struct loop *loop);

/* suspend_poll tells whether every buffer of a suspended LOOP has been
 * written out. Past suspend_timeout since suspend_begin, it first drops
 * the clients whose bytes (or their servers' bytes) still wait, so that
 * it then returns true. Cheap enough for a 50 ms timer (a walk of the
 * connections). */
bool suspend_poll(struct loop *loop);

/* suspend_end resumes a suspended LOOP: listeners accept again and every
 * connection that was not parked for its own reasons reads again. */
void suspend_end(struct loop *loop);

#endif
