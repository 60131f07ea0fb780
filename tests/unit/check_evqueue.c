/* Unit tests for evqueue.c: the bounded ring drops and counts when full,
 * keeps order across wrap-around, and wakes the consumer per push. */
#include <check.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "evqueue.h"

static int wakes;
static void count_wake(void *arg)
{
	(void)arg;
	wakes++;
}

static struct event make(int64_t at)
{
	struct event e;
	memset(&e, 0, sizeof(e));
	e.kind = EVENT_POOL_SAMPLE;
	e.at_us = at;
	e.u.pool.cl_active = (int)at;
	return e;
}

START_TEST(test_full_drops_and_counts)
{
	wakes = 0;
	struct event_queue *q = evqueue_new(3, count_wake, NULL);
	ck_assert_ptr_nonnull(q);
	ck_assert_uint_eq(evqueue_capacity(q), 3);
	for (int i = 1; i <= 5; i++) {
		struct event e = make(i);
		ck_assert(evqueue_push(q, &e) == (i <= 3));
	}
	ck_assert_uint_eq(evqueue_pushed(q), 3);
	ck_assert_uint_eq(evqueue_dropped(q), 2);
	ck_assert_int_eq(wakes, 3);
	struct event out[8];
	ck_assert_uint_eq(evqueue_pop(q, out, 8), 3);
	/* the oldest stay, the newest were dropped */
	ck_assert_int_eq(out[0].at_us, 1);
	ck_assert_int_eq(out[2].at_us, 3);
	ck_assert_int_eq(out[2].u.pool.cl_active, 3);
	ck_assert_uint_eq(evqueue_pop(q, out, 8), 0);
	evqueue_drop(q, 4);
	ck_assert_uint_eq(evqueue_dropped(q), 6);
	evqueue_free(q);
}
END_TEST

START_TEST(test_order_across_wrap)
{
	struct event_queue *q = evqueue_new(4, NULL, NULL);
	struct event out[4];
	int64_t next_in = 0, next_out = 0;
	for (int round = 0; round < 50; round++) {
		int in = 1 + round % 4, take = 1 + (round * 3) % 4;
		for (int i = 0; i < in; i++) {
			struct event e = make(next_in);
			if (evqueue_push(q, &e))
				next_in++;
		}
		size_t n = evqueue_pop(q, out, (size_t)take);
		for (size_t i = 0; i < n; i++)
			ck_assert_int_eq(out[i].at_us, next_out++);
	}
	size_t n;
	while ((n = evqueue_pop(q, out, 4)) > 0)
		for (size_t i = 0; i < n; i++)
			ck_assert_int_eq(out[i].at_us, next_out++);
	ck_assert_int_eq(next_out, next_in);
	ck_assert_uint_eq(evqueue_pushed(q) + evqueue_dropped(q), 123); /* sum of 1 + round % 4 */
	evqueue_free(q);
}
END_TEST

struct producer {
	struct event_queue *q;
	int n, accepted;
};

static void *produce(void *arg)
{
	struct producer *p = arg;
	for (int i = 0; i < p->n; i++) {
		struct event e = make(i);
		if (evqueue_push(p->q, &e))
			p->accepted++;
	}
	return NULL;
}

START_TEST(test_two_threads_lose_nothing_uncounted)
{
	struct event_queue *q = evqueue_new(64, NULL, NULL);
	struct producer p = {q, 100000, 0};
	pthread_t t;
	ck_assert_int_eq(pthread_create(&t, NULL, produce, &p), 0);
	struct event out[16];
	long popped = 0;
	int64_t last = -1;
	for (;;) {
		size_t n = evqueue_pop(q, out, 16);
		for (size_t i = 0; i < n; i++) {
			/* one producer: what arrives is in order */
			ck_assert_int_gt(out[i].at_us, last);
			last = out[i].at_us;
		}
		popped += (long)n;
		if (!n && (long)(evqueue_pushed(q) + evqueue_dropped(q)) == p.n)
			break;
	}
	pthread_join(t, NULL);
	/* the producer may have filled the ring after the last empty pop */
	size_t n;
	while ((n = evqueue_pop(q, out, 16)) > 0) {
		for (size_t i = 0; i < n; i++) {
			ck_assert_int_gt(out[i].at_us, last);
			last = out[i].at_us;
		}
		popped += (long)n;
	}
	ck_assert_int_eq(popped, p.accepted);
	ck_assert_uint_eq(evqueue_pushed(q) + evqueue_dropped(q), 100000);
	evqueue_free(q);
}
END_TEST

START_TEST(test_zero_capacity_refused)
{
	ck_assert_ptr_null(evqueue_new(0, NULL, NULL));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("evqueue");
	TCase *tc = tcase_create("ring");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_full_drops_and_counts);
	tcase_add_test(tc, test_order_across_wrap);
	tcase_add_test(tc, test_two_threads_lose_nothing_uncounted);
	tcase_add_test(tc, test_zero_capacity_refused);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
