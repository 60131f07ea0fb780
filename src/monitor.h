/* The monitor thread: its own libev loop, the store (the only writer) and
 * one sampler per monitored database. */
#ifndef PGLG_MONITOR_H
#define PGLG_MONITOR_H
#include "config.h"

struct monitor;
struct backend_owner;

/* monitor_start opens CFG->store_path, plans one sampler per monitored
 * database and starts the thread. CFG is borrowed until return (what the
 * thread needs is copied). OWNERS (may be NULL) tells the lock samplers
 * which pglifeguard client a backend serves; it is borrowed until
 * monitor_stop. Returns the running monitor, or NULL after logging why
 * (the caller treats that as a startup failure). Call after any fork. */
struct monitor *monitor_start(const struct config *cfg, struct backend_owner *owners)
	__attribute__((warn_unused_result));

struct event_queue;

/* monitor_events returns MONITOR's event queue (borrowed until
 * monitor_stop; NULL for a NULL monitor): the pooler pushes leaks, alerts
 * and pool samples onto it. */
struct event_queue *monitor_events(struct monitor *monitor);

/* monitor_store_path returns the store file CFG asks for, in memory the
 * caller frees: store_path itself; when it is empty, pglifeguard.db in the
 * pidfile's directory; NULL when store_path is "off", or empty without a
 * pidfile (the monitor is then not started), or out of memory. */
char *monitor_store_path(const struct config *cfg);

/* monitor_stop asks the thread to stop, joins it and frees MONITOR; NULL is
 * fine. */
void monitor_stop(struct monitor *monitor);
#endif
