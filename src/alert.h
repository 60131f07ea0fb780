/* Saturation and leak alerts: rules over each pool's state with
 * hysteresis, the SHOW ALERTS list, and alert_command. */
#ifndef PGLG_ALERT_H
#define PGLG_ALERT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "timeutil.h"

struct loop;
struct pool;

enum alert_kind {
	ALERT_WAITING_CLIENTS = 0, /* clients waiting longer than alert_wait_seconds */
	ALERT_MAX_WAIT, /* oldest waiter beyond alert_max_wait_ms */
	ALERT_POOL_UTILIZATION, /* active servers above alert_pool_utilization % */
	ALERT_LEAKS, /* leak_count grew within alert_for_seconds */
	ALERT_POOL_KINDS, /* the rules above are per pool */
	ALERT_CLIENT_CONN = ALERT_POOL_KINDS, /* the whole pooler */
	ALERT_KINDS,
};

/* The hysteresis of one rule for one subject. Zeroed: quiet. */
struct alert_hyst {
	usec_t true_since; /* start of the current run of true conditions, 0: none */
	usec_t false_since; /* start of the current run of false conditions, 0: none */
	bool firing;
};

enum alert_change { ALERT_UNCHANGED = 0, ALERT_FIRED, ALERT_RESOLVED };

/* alert_step feeds COND, observed at NOW, to H: returns ALERT_FIRED when
 * COND has now been true without a break for FIRE_AFTER, ALERT_RESOLVED when
 * a firing H has seen COND false without a break for RESOLVE_AFTER, else
 * ALERT_UNCHANGED. A condition that flips restarts the other clock, so a
 * value hovering at a threshold changes nothing. Pure; no allocation. */
enum alert_change alert_step(struct alert_hyst *h, bool cond, usec_t now, usec_t fire_after,
			     usec_t resolve_after);

/* Per-pool rule state, embedded in struct pool. */
struct alert_pool {
	struct alert_hyst hyst[ALERT_POOL_KINDS];
	uint64_t leaks_seen; /* pool->leak_count at the last evaluation */
	usec_t last_leak; /* when leak_count last grew, 0: never */
};

/* alert_kind_name returns the label of KIND ("waiting_clients", ...). */
const char *alert_kind_name(enum alert_kind kind);

/* alert_start prepares LOOP's alert list. Returns 0 or -1 (out of memory). */
int alert_start(struct loop *loop);

/* alert_stop frees the list; running alert_command children are left to
 * run, their pipes closed. */
void alert_stop(struct loop *loop);

/* alert_evaluate applies every rule to every pool of LOOP (janitor pass:
 * a few comparisons per pool), and reports changes. */
void alert_evaluate(struct loop *loop);

/* alert_pool_gone resolves the active alerts of POOL before it is freed. */
void alert_pool_gone(struct loop *loop, const struct pool *pool);

/* One row of SHOW ALERTS, borrowed until alert_foreach returns. */
struct alert_row {
	const char *alert, *database, *user, *state, *detail;
	double value, threshold;
	time_t since; /* wall clock: fired, or resolved */
	bool active;
	bool latest; /* the newest record of its (alert, database, user) */
};

/* alert_foreach calls FN for each active then recently resolved alert. */
void alert_foreach(struct loop *loop, void (*fn)(void *arg, const struct alert_row *row),
		   void *arg);

/* alert_write_metrics writes the pglifeguard_alert_active family to OUT. */
void alert_write_metrics(struct loop *loop, FILE *out);

#endif
