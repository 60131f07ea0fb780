/* The bounded event queue: a ring of preallocated slots under a mutex held
 * only to copy one event in or out. A mutex rather than a lock-free ring
 * because more pooler loops may produce into one queue later; the copy is
 * a few kilobytes at most, so nobody waits long. */
#include "evqueue.h"
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

struct event_queue {
	pthread_mutex_t mu;
	size_t cap, head, count; /* head: the oldest event */
	_Atomic uint64_t dropped, pushed;
	void (*wake)(void *arg);
	void *wake_arg;
	struct event *slots;
};

struct event_queue *evqueue_new(size_t capacity, void (*wake)(void *arg), void *arg)
{
	if (capacity < 1)
		return NULL;
	struct event_queue *q = calloc(1, sizeof(*q));
	if (!q)
		return NULL;
	q->slots = calloc(capacity, sizeof(*q->slots));
	if (!q->slots || pthread_mutex_init(&q->mu, NULL) != 0) {
		free(q->slots);
		free(q);
		return NULL;
	}
	q->cap = capacity;
	q->wake = wake;
	q->wake_arg = arg;
	return q;
}

void evqueue_free(struct event_queue *q)
{
	if (!q)
		return;
	pthread_mutex_destroy(&q->mu);
	free(q->slots);
	free(q);
}

bool evqueue_push(struct event_queue *q, const struct event *e)
{
	pthread_mutex_lock(&q->mu);
	if (q->count == q->cap) {
		pthread_mutex_unlock(&q->mu);
		atomic_fetch_add_explicit(&q->dropped, 1, memory_order_relaxed);
		return false;
	}
	memcpy(&q->slots[(q->head + q->count) % q->cap], e, sizeof(*e));
	q->count++;
	pthread_mutex_unlock(&q->mu);
	atomic_fetch_add_explicit(&q->pushed, 1, memory_order_relaxed);
	if (q->wake)
		q->wake(q->wake_arg);
	return true;
}

size_t evqueue_pop(struct event_queue *q, struct event *out, size_t max)
{
	size_t n = 0;
	pthread_mutex_lock(&q->mu);
	while (n < max && q->count > 0) {
		memcpy(&out[n++], &q->slots[q->head], sizeof(*out));
		q->head = (q->head + 1) % q->cap;
		q->count--;
	}
	pthread_mutex_unlock(&q->mu);
	return n;
}

void evqueue_drop(struct event_queue *q, uint64_t n)
{
	atomic_fetch_add_explicit(&q->dropped, n, memory_order_relaxed);
}

uint64_t evqueue_dropped(const struct event_queue *q)
{
	return atomic_load_explicit(&((struct event_queue *)q)->dropped, memory_order_relaxed);
}

uint64_t evqueue_pushed(const struct event_queue *q)
{
	return atomic_load_explicit(&((struct event_queue *)q)->pushed, memory_order_relaxed);
}

size_t evqueue_capacity(const struct event_queue *q)
{
	return q->cap;
}
