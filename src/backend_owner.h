/* Which pglifeguard client a PostgreSQL backend serves: the monitor thread
 * asks the pooler loop about a few backend pids and gets the answer back on
 * its own loop, through two ev_async watchers. Nothing on the pooler's hot
 * path takes a lock: the pooler takes the mutex only in the callback of a
 * request, and requests are only sent while backends wait on locks. One
 * backend_owner serves one pooler loop; with several loops, the asker
 * would ask each one's and merge the answers. */
#ifndef PGLG_BACKEND_OWNER_H
#define PGLG_BACKEND_OWNER_H
#include <ev.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct loop;
struct backend_owner;

/* What the pooler knows of one backend. server_id is 0 when no server
 * connection of pglifeguard reaches that backend; client_id is 0 when the
 * server is not linked to a client. Strings are NUL-terminated, cut to fit. */
struct backend_owner_entry {
	int32_t pid;
	uint64_t server_id;
	uint64_t client_id;
	char client_addr[64];
	int client_port;
	char user[64];
	char database[64];
	char application_name[64];
};

struct backend_owner_req;

/* The answer to a request: ENTRIES holds one entry per asked pid, sorted
 * by pid, borrowed until the callback returns. Runs on the monitor's loop. */
typedef void (*backend_owner_cb)(struct backend_owner_req *req, void *arg,
				 const struct backend_owner_entry *entries, size_t n);

/* One request. The asker embeds it (zeroed) and owns it; it is in flight
 * from backend_owner_ask until its callback runs or backend_owner_cancel
 * returns. */
struct backend_owner_req {
	struct backend_owner_req *next;
	char host[256]; /* the PostgreSQL asked about: [databases] host ("" = unix socket) */
	int port;
	struct backend_owner_entry *entries; /* owned by the request */
	size_t n, cap;
	backend_owner_cb cb;
	void *arg;
	bool in_flight;
};

/* backend_owner_new creates the link and starts its watcher on LOOP's
 * libev loop; LOOP is borrowed until backend_owner_free. Call on the pooler
 * thread before the monitor starts. Returns NULL when out of memory. */
struct backend_owner *backend_owner_new(struct loop *loop) __attribute__((warn_unused_result));

/* backend_owner_attach starts the answer watcher on the monitor's loop EV
 * (borrowed until backend_owner_detach). Call before the monitor thread
 * starts running EV, or on that thread. */
void backend_owner_attach(struct backend_owner *bo, struct ev_loop *ev);

/* backend_owner_detach stops the answer watcher; requests still in flight
 * are dropped without their callbacks. Call on the monitor thread (or once
 * it stopped) before its loop is destroyed. */
void backend_owner_detach(struct backend_owner *bo);

/* backend_owner_free stops the pooler-side watcher and frees BO; NULL is
 * fine. Call on the pooler thread once the monitor thread stopped. */
void backend_owner_free(struct backend_owner *bo);

/* backend_owner_ask asks about the N backend PIDS (copied) of the
 * PostgreSQL at HOST (NULL or "" for the unix socket) and PORT; CB runs
 * with ARG on the monitor's loop once the pooler answered. REQ must not be
 * in flight. Returns false (nothing sent) when out of memory. Call on the
 * monitor thread. */
bool backend_owner_ask(struct backend_owner *bo, struct backend_owner_req *req, const char *host,
		       int port, const int32_t *pids, size_t n, backend_owner_cb cb, void *arg)
	__attribute__((warn_unused_result));

/* backend_owner_cancel takes REQ back if it is in flight: its callback will
 * not run. Call on the monitor thread. */
void backend_owner_cancel(struct backend_owner *bo, struct backend_owner_req *req);

/* backend_owner_req_free frees what REQ holds (not REQ itself); cancel it
 * first. */
void backend_owner_req_free(struct backend_owner_req *req);
#endif
