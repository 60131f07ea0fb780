/* TCP and unix-socket listeners: bind, accept, so_reuseport, and a pause
 * when the process runs out of file descriptors. */
#ifndef PGLG_LISTENER_H
#define PGLG_LISTENER_H

#include <ev.h>
#include <stdbool.h>

#include "list.h"

struct loop;

struct listener {
	struct list_node node;
	struct loop *loop;
	ev_io io;
	ev_timer backoff;
	int fd;
	bool is_unix;
	char path[256]; /* unix socket path, to unlink at exit */
	char desc[128];
};

/* listener_start_all binds every listen_addr and the unix socket of the
 * configuration. Returns 0, or -1 (logged) if any bind fails. */
int listener_start_all(struct loop *loop);

/* listener_log_all logs one line per listening socket (once the log
 * sinks of the configuration are open). */
void listener_log_all(struct loop *loop);

/* listener_set_accepting starts (ON) or stops accepting on every listener
 * without closing them: connections wait in the backlog meanwhile. */
void listener_set_accepting(struct loop *loop, bool on);

/* listener_stop_all stops accepting (shutdown) and, if CLOSE, closes the
 * sockets and removes the unix socket file. */
void listener_stop_all(struct loop *loop, bool close_sockets);

#endif
