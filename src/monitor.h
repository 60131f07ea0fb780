/* The monitor thread: its own libev loop, the store (the only writer) and
 * one sampler per monitored database. */
#ifndef PGLG_MONITOR_H
#define PGLG_MONITOR_H
#include "config.h"

struct monitor;

/* monitor_start opens CFG->store_path, plans one sampler per monitored
 * database and starts the thread. CFG is borrowed until return (what the
 * thread needs is copied). Returns the running monitor, or NULL after
 * logging why (the caller treats that as a startup failure). Call after any
 * fork. */
struct monitor *monitor_start(const struct config *cfg) __attribute__((warn_unused_result));

/* monitor_store_path returns the store file CFG asks for, in memory the
 * caller frees: store_path itself; when it is empty, pglifeguard.db in the
 * pidfile's directory; NULL when store_path is "off", or empty without a
 * pidfile (the monitor is then not started), or out of memory. */
char *monitor_store_path(const struct config *cfg);

/* monitor_stop asks the thread to stop, joins it and frees MONITOR; NULL is
 * fine. */
void monitor_stop(struct monitor *monitor);
#endif
