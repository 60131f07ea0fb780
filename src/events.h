/* Pooler-side producers of monitor events: they read pooler objects on the
 * pooler loop, copy what the store keeps into a struct event and push it
 * onto loop->events (nothing happens when the monitor is off). */
#ifndef PGLG_EVENTS_H
#define PGLG_EVENTS_H
#include <stdbool.h>

struct loop;
struct server;

/* events_leak_suspected queues the suspected leak of SERVER (linked to its
 * client; its checkout's who was just written). */
void events_leak_suspected(struct loop *loop, const struct server *server);

/* events_leak_returned queues the end of SERVER's reported checkout. */
void events_leak_returned(struct loop *loop, const struct server *server);

/* events_alert queues an alert change: FIRING, or resolved. Strings are
 * borrowed until return; DETAIL may be NULL. */
void events_alert(struct loop *loop, const char *alert, const char *database, const char *user,
		  double value, double threshold, const char *detail, bool firing);

/* events_sample_pools queues one saturation sample per pool when
 * sample_interval has passed since the last ones (janitor pass). */
void events_sample_pools(struct loop *loop);
#endif
