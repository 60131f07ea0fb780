/* The per-loop context: the libev loop, the object lists, the buffer pool
 * and the configuration in force. No process globals: everything a pooler
 * loop touches hangs off struct loop. */
#ifndef PGLG_LOOP_H
#define PGLG_LOOP_H

#include <ev.h>
#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "iobuf.h"
#include "list.h"
#include "prepared.h"
#include "timeutil.h"

struct admin_state;
struct alert_state;
struct authfile;
struct cancel_map;
struct event_queue;
struct http_server;
struct stats_state;

enum shutdown_mode {
	SHUTDOWN_NONE = 0,
	SHUTDOWN_WAIT_FOR_CLIENTS, /* SIGTERM: wait until every client left */
	SHUTDOWN_WAIT_FOR_SERVERS, /* SIGINT: wait until no server is in use */
	SHUTDOWN_NOW,
};

struct loop {
	struct ev_loop *ev;
	struct config *cfg; /* owned; swapped on reload */
	struct authfile *authfile; /* owned; reloaded with cfg */

	struct iobuf_pool bufs;
	struct repeat_table *repeat_free; /* poolobs.c: tables of no open scope */

	struct list databases; /* struct database */
	struct list users; /* struct user */
	struct list pools; /* struct pool */
	struct list login_clients; /* clients not yet in a pool */
	struct list admin_clients; /* logged-in admin console clients */
	struct list listeners; /* struct listener */
	struct list cancels; /* struct cancel_req in flight */

	/* Objects closed during this loop turn; freed by the ev_check watcher. */
	struct list closed_clients;
	struct list closed_servers;
	ev_check reaper;
	ev_timer janitor;
	ev_signal sig_hup, sig_term, sig_int, sig_quit, sig_usr1, sig_usr2;

	struct cancel_map *cancel_keys;
	struct admin_state *admin; /* admin.c: commands waiting to complete */
	struct stats_state *stats; /* stats.c: stats_period snapshots */
	struct http_server *http; /* http.c: metrics_listen, NULL when off */
	struct alert_state *alerts; /* alert.c: rules' state, SHOW ALERTS */
	struct event_queue *events; /* to the monitor thread; NULL when it is off */
	usec_t pool_sample_at; /* events.c: last pool saturation samples */
	struct paramtap *paramtap; /* paramtap.c: sample_query_params; NULL until used */

	int client_count; /* every client connection, for max_client_conn */
	uint64_t next_id; /* C-/S- ids */
	bool paused; /* PAUSE / SIGUSR1 */
	bool suspended; /* SUSPEND (suspend.c): no accepts, no reads but the console's */
	usec_t suspend_start;
	enum shutdown_mode shutdown;
	usec_t now; /* cached per loop turn */
	struct ps_registry ps_reg; /* prepared statements by text (prepared.c) */
};

/* loop_init prepares LOOP with CFG (takes ownership) on a new libev loop.
 * Returns 0 or -1 (logged). */
int loop_init(struct loop *loop, struct config *cfg);

/* loop_run runs until shutdown completes. */
void loop_run(struct loop *loop);

/* loop_destroy frees everything LOOP owns. */
void loop_destroy(struct loop *loop);

/* loop_reload reads the config file again, checks it, swaps it in and
 * applies it to databases and pools. Returns 0 or -1 (the old config stays;
 * problems logged, and written to ERRORS if not NULL). */
int loop_reload(struct loop *loop, FILE *errors);

/* loop_next_id returns a new connection id. */
static inline uint64_t loop_next_id(struct loop *loop)
{
	return ++loop->next_id;
}

/* loop_check_shutdown exits the loop when the shutdown mode's condition
 * is met. */
void loop_check_shutdown(struct loop *loop);

/* loop_shutdown starts a shutdown in MODE, as the signals do (asked
 * again while one is under way: at once). */
void loop_shutdown(struct loop *loop, enum shutdown_mode mode);

/* loop_pause / loop_resume: PgBouncer's PAUSE and RESUME for all databases. */
void loop_pause(struct loop *loop);
void loop_resume(struct loop *loop);

#endif
