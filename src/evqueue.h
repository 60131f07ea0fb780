/* The bounded queue of pooler events (leaks, alerts, pool samples) from
 * the pooler loop(s) to the monitor thread: a fixed ring under a short
 * mutex, allocated once. A full ring drops the new event and counts it;
 * a producer never waits for the consumer and never allocates. */
#ifndef PGLG_EVQUEUE_H
#define PGLG_EVQUEUE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "leak.h"

enum event_kind {
	EVENT_LEAK_SUSPECTED = 0,
	EVENT_LEAK_RETURNED,
	EVENT_ALERT,
	EVENT_POOL_SAMPLE,
	EVENT_PARAM_SAMPLE,
	EVENT_REPEAT,
	EVENT_XACT_SAMPLE,
};

/* A suspected leak, with every field of its log line; a returned leak
 * fills server_id, who and held_s only. statement is the raw start of the
 * last statement: the monitor strips its literals before storing it. */
struct event_leak {
	uint64_t client_id, server_id;
	uint32_t backend_pid, xact_statements;
	int client_port;
	bool truncated;
	double held_s, idle_s;
	int64_t xact_start_us; /* wall clock; 0: no transaction */
	char database[64], user[64], addr[64], application_name[64], state[32];
	char who[200];
	char statement[LEAK_STMT_LEN + 1];
};

/* An alert that fired or resolved, with who held the pool (detail). */
struct event_alert {
	bool firing;
	double value, threshold;
	char alert[32], database[64], user[64];
	char detail[2048];
};

/* One pool's saturation at one instant. */
struct event_pool {
	int cl_active, cl_waiting, sv_active, sv_idle, sv_used, sv_login, pool_size;
	int64_t maxwait_us;
	char database[64], user[64];
	/* checkouts that ended since the previous sample; -1: none ended */
	int64_t checkouts, checkout_p50_us, checkout_p95_us, checkout_p99_us, checkout_max_us;
};

/* A statement repeated within one scope (N+1, poolobs.c): statement is
 * the raw text; the monitor strips its literals before storing it. */
struct event_repeat {
	bool xact; /* scope: a transaction block, else a burst of a checkout */
	uint32_t executions;
	int64_t total_us, scope_us;
	char database[64], user[64], addr[64], application_name[64];
	char statement[LEAK_STMT_LEN + 1];
};

/* Transactions of one (pool, application_name) in one sample interval. */
struct event_xact {
	int64_t xacts, xact_us, xact_max_us, idle_us, idle_max_us;
	char database[64], user[64], application_name[64];
};

/* Bytes of statement text and Bind values one parameter sample carries. */
#define EVENT_PARAMS_DATA 4000

/* A statement whose parameter values are sampled (sample_query_params):
 * the raw text, then, for a Bind, each value as a native int32 length
 * (-1: NULL or an unknown binary value), a native uint32 type OID (0: text
 * format) and its bytes. paramtap.c writes it,
 * store_params.c reads it; the monitor parses it, never the pooler. */
struct event_params {
	char database[64];
	bool query; /* a Query string (maybe several statements), not a Parse */
	int16_t nvalues; /* Bind values after the text */
	uint16_t text_len; /* the text at data, NUL-terminated */
	uint16_t used; /* bytes of data in use */
	char data[EVENT_PARAMS_DATA];
};

struct event {
	enum event_kind kind;
	int64_t at_us; /* wall clock */
	union {
		struct event_leak leak;
		struct event_alert alert;
		struct event_pool pool;
		struct event_params params;
		struct event_repeat repeat;
		struct event_xact xact;
	} u;
};

struct event_queue;

/* evqueue_new returns a queue of CAPACITY (>= 1) events, allocated at
 * once, that the caller frees with evqueue_free; NULL when out of memory.
 * WAKE (may be NULL) is called with ARG after each successful push, from
 * the producer's thread: it must be thread-safe (ev_async_send is). */
struct event_queue *evqueue_new(size_t capacity, void (*wake)(void *arg), void *arg)
	__attribute__((warn_unused_result));

/* evqueue_free frees QUEUE; NULL is fine. No producer may still use it. */
void evqueue_free(struct event_queue *queue);

/* evqueue_push copies EVENT (borrowed until return) into QUEUE. Returns
 * false, and counts the event as dropped, when the queue is full. Never
 * blocks for longer than another thread's copy of one event; any thread. */
bool evqueue_push(struct event_queue *queue, const struct event *event);

/* evqueue_pop moves up to MAX events, oldest first, into OUT. Returns how
 * many. Any thread. */
size_t evqueue_pop(struct event_queue *queue, struct event *out, size_t max);

/* evqueue_drop counts N events dropped after they left the queue (the
 * consumer could not keep them). */
void evqueue_drop(struct event_queue *queue, uint64_t n);

/* evqueue_dropped returns the events dropped since the start;
 * evqueue_pushed those accepted. Any thread. */
uint64_t evqueue_dropped(const struct event_queue *queue);
uint64_t evqueue_pushed(const struct event_queue *queue);

/* evqueue_capacity returns the capacity QUEUE was made with. */
size_t evqueue_capacity(const struct event_queue *queue);
#endif
