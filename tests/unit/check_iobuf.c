/* Unit tests for iobuf.c: blocks coming back from the free list, the
 * used/free counters and the free-list bound, and iobuf_reserve's three
 * ways of making room (nothing to do, compaction, a larger unpooled
 * block). */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "iobuf.h"

#define BLOCK 128

/* fill writes N bytes of a known pattern, starting at SEED, at the end of
 * BUF (which has room). */
static void fill(struct iobuf *buf, uint32_t n, uint8_t seed)
{
	for (uint32_t i = 0; i < n; i++)
		buf->data[buf->end + i] = (uint8_t)(seed + i);
	buf->end += n;
}

/* expect_pattern checks that BUF holds N pattern bytes from SEED at start. */
static void expect_pattern(const struct iobuf *buf, uint32_t n, uint8_t seed)
{
	ck_assert_uint_eq(iobuf_len(buf), n);
	for (uint32_t i = 0; i < n; i++)
		ck_assert_uint_eq(buf->data[buf->start + i], (uint8_t)(seed + i));
}

/* --- get and put ------------------------------------------------------------ */

START_TEST(test_get_returns_empty_block)
{
	struct iobuf_pool pool;
	struct iobuf *buf;

	iobuf_pool_init(&pool, BLOCK, 8);
	buf = iobuf_get(&pool);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(buf->cap, BLOCK);
	ck_assert_uint_eq(buf->start, 0);
	ck_assert_uint_eq(buf->end, 0);
	ck_assert_uint_eq(iobuf_len(buf), 0);
	/* the whole capacity is usable (ASan checks the bound) */
	fill(buf, BLOCK, 0);
	expect_pattern(buf, BLOCK, 0);
	iobuf_put(&pool, buf);
	iobuf_pool_destroy(&pool);
}
END_TEST

START_TEST(test_put_then_get_reuses)
{
	struct iobuf_pool pool;
	struct iobuf *a, *b;

	iobuf_pool_init(&pool, BLOCK, 8);
	a = iobuf_get(&pool);
	fill(a, 50, 7);
	a->start = 20;
	iobuf_put(&pool, a);
	b = iobuf_get(&pool);
	ck_assert_ptr_eq(b, a);
	/* reused blocks come back whole and empty, whatever they held */
	ck_assert_uint_eq(b->cap, BLOCK);
	ck_assert_uint_eq(b->start, 0);
	ck_assert_uint_eq(b->end, 0);
	iobuf_put(&pool, b);
	iobuf_pool_destroy(&pool);
}
END_TEST

START_TEST(test_reuse_is_last_in_first_out)
{
	struct iobuf_pool pool;
	struct iobuf *a, *b;

	iobuf_pool_init(&pool, BLOCK, 8);
	a = iobuf_get(&pool);
	b = iobuf_get(&pool);
	ck_assert_ptr_ne(a, b);
	iobuf_put(&pool, a);
	iobuf_put(&pool, b);
	/* the block put back last is the one still warm in the cache */
	ck_assert_ptr_eq(iobuf_get(&pool), b);
	ck_assert_ptr_eq(iobuf_get(&pool), a);
	iobuf_put(&pool, a);
	iobuf_put(&pool, b);
	iobuf_pool_destroy(&pool);
}
END_TEST

START_TEST(test_counters)
{
	struct iobuf_pool pool;
	struct iobuf *bufs[5];

	iobuf_pool_init(&pool, BLOCK, 8);
	ck_assert_int_eq(pool.nused, 0);
	ck_assert_int_eq(pool.nfree, 0);
	for (int i = 0; i < 5; i++) {
		bufs[i] = iobuf_get(&pool);
		ck_assert_int_eq(pool.nused, i + 1);
		ck_assert_int_eq(pool.nfree, 0);
	}
	for (int i = 0; i < 5; i++) {
		iobuf_put(&pool, bufs[i]);
		ck_assert_int_eq(pool.nused, 4 - i);
		ck_assert_int_eq(pool.nfree, i + 1);
	}
	/* getting from the free list moves one back */
	bufs[0] = iobuf_get(&pool);
	ck_assert_int_eq(pool.nused, 1);
	ck_assert_int_eq(pool.nfree, 4);
	/* NULL is accepted and changes nothing */
	iobuf_put(&pool, NULL);
	ck_assert_int_eq(pool.nused, 1);
	ck_assert_int_eq(pool.nfree, 4);
	iobuf_put(&pool, bufs[0]);
	iobuf_pool_destroy(&pool);
	ck_assert_int_eq(pool.nfree, 0);
	ck_assert_ptr_null(pool.free_list);
}
END_TEST

START_TEST(test_max_free_bound)
{
	struct iobuf_pool pool;
	struct iobuf *bufs[6];

	iobuf_pool_init(&pool, BLOCK, 2);
	for (int i = 0; i < 6; i++)
		bufs[i] = iobuf_get(&pool);
	for (int i = 0; i < 6; i++)
		iobuf_put(&pool, bufs[i]);
	/* two kept, the other four freed (LeakSanitizer sees they are) */
	ck_assert_int_eq(pool.nfree, 2);
	ck_assert_int_eq(pool.nused, 0);
	iobuf_pool_destroy(&pool);

	/* max_free 0: nothing is kept */
	iobuf_pool_init(&pool, BLOCK, 0);
	bufs[0] = iobuf_get(&pool);
	iobuf_put(&pool, bufs[0]);
	ck_assert_int_eq(pool.nfree, 0);
	ck_assert_ptr_null(pool.free_list);
	iobuf_pool_destroy(&pool);
}
END_TEST

START_TEST(test_len_of_null)
{
	ck_assert_uint_eq(iobuf_len(NULL), 0);
}
END_TEST

/* --- reserve ------------------------------------------------------------------ */

START_TEST(test_reserve_takes_block)
{
	struct iobuf_pool pool;
	struct iobuf *buf = NULL;

	iobuf_pool_init(&pool, BLOCK, 8);
	ck_assert(iobuf_reserve(&pool, &buf, 10));
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(buf->cap, BLOCK);
	ck_assert_int_eq(pool.nused, 1);
	iobuf_put(&pool, buf);
	iobuf_pool_destroy(&pool);
}
END_TEST

START_TEST(test_reserve_with_room_changes_nothing)
{
	struct iobuf_pool pool;
	struct iobuf *buf = NULL, *before;

	iobuf_pool_init(&pool, BLOCK, 8);
	ck_assert(iobuf_reserve(&pool, &buf, 0));
	fill(buf, 40, 1);
	buf->start = 10;
	before = buf;
	ck_assert(iobuf_reserve(&pool, &buf, BLOCK - 40));
	ck_assert_ptr_eq(buf, before);
	ck_assert_uint_eq(buf->start, 10); /* not compacted: there was room */
	ck_assert_uint_eq(buf->end, 40);
	iobuf_put(&pool, buf);
	iobuf_pool_destroy(&pool);
}
END_TEST

START_TEST(test_reserve_compacts)
{
	struct iobuf_pool pool;
	struct iobuf *buf = NULL, *before;

	iobuf_pool_init(&pool, BLOCK, 8);
	ck_assert(iobuf_reserve(&pool, &buf, BLOCK));
	fill(buf, BLOCK, 0);
	buf->start = BLOCK - 10; /* all but 10 bytes consumed */
	before = buf;
	ck_assert(iobuf_reserve(&pool, &buf, BLOCK - 10));
	ck_assert_ptr_eq(buf, before);
	ck_assert_uint_eq(buf->cap, BLOCK);
	ck_assert_uint_eq(buf->start, 0);
	ck_assert_uint_eq(buf->end, 10);
	expect_pattern(buf, 10, (uint8_t)(BLOCK - 10));
	ck_assert_uint_ge(buf->cap - buf->end, BLOCK - 10);
	ck_assert_int_eq(pool.nused, 1);
	iobuf_put(&pool, buf);
	ck_assert_int_eq(pool.nfree, 1); /* still a standard block */
	iobuf_pool_destroy(&pool);
}
END_TEST

START_TEST(test_compact_direct)
{
	struct iobuf_pool pool;
	struct iobuf *buf;

	iobuf_pool_init(&pool, BLOCK, 8);
	buf = iobuf_get(&pool);
	fill(buf, 30, 5);
	iobuf_compact(buf); /* start 0: nothing to move */
	expect_pattern(buf, 30, 5);
	buf->start = 30; /* everything consumed */
	iobuf_compact(buf);
	ck_assert_uint_eq(buf->start, 0);
	ck_assert_uint_eq(buf->end, 0);
	iobuf_put(&pool, buf);
	iobuf_pool_destroy(&pool);
}
END_TEST

START_TEST(test_reserve_grows)
{
	struct iobuf_pool pool;
	struct iobuf *buf = NULL, *before;

	iobuf_pool_init(&pool, BLOCK, 8);
	ck_assert(iobuf_reserve(&pool, &buf, 100));
	fill(buf, 100, 3);
	buf->start = 20; /* 80 bytes held */
	before = buf;
	ck_assert(iobuf_reserve(&pool, &buf, 3 * BLOCK));
	ck_assert_ptr_ne(buf, before);
	ck_assert_uint_ge(buf->cap, 80 + 3 * BLOCK);
	ck_assert_uint_eq(buf->cap % BLOCK, 0);
	ck_assert_uint_eq(buf->start, 0);
	expect_pattern(buf, 80, 3 + 20);
	ck_assert_uint_ge(buf->cap - buf->end, 3 * BLOCK);
	fill(buf, 3 * BLOCK, 9); /* the promised room is really there */
	/* the standard block went back to the pool; the big one counts as used */
	ck_assert_int_eq(pool.nused, 1);
	ck_assert_int_eq(pool.nfree, 1);
	/* a big block put back is freed, not pooled */
	iobuf_put(&pool, buf);
	ck_assert_int_eq(pool.nused, 0);
	ck_assert_int_eq(pool.nfree, 1);
	/* and the pool still hands out standard blocks */
	buf = iobuf_get(&pool);
	ck_assert_ptr_eq(buf, before);
	ck_assert_uint_eq(buf->cap, BLOCK);
	iobuf_put(&pool, buf);
	iobuf_pool_destroy(&pool);
}
END_TEST

START_TEST(test_reserve_grows_twice)
{
	struct iobuf_pool pool;
	struct iobuf *buf = NULL;

	iobuf_pool_init(&pool, BLOCK, 8);
	ck_assert(iobuf_reserve(&pool, &buf, 2 * BLOCK));
	ck_assert_uint_ge(buf->cap, 2 * BLOCK);
	fill(buf, 2 * BLOCK, 0);
	ck_assert(iobuf_reserve(&pool, &buf, 8 * BLOCK));
	ck_assert_uint_ge(buf->cap, 10 * BLOCK);
	expect_pattern(buf, 2 * BLOCK, 0);
	ck_assert_int_eq(pool.nused, 1);
	iobuf_put(&pool, buf);
	ck_assert_int_eq(pool.nused, 0);
	iobuf_pool_destroy(&pool);
}
END_TEST

START_TEST(test_reserve_refuses_impossible_size)
{
	struct iobuf_pool pool;
	struct iobuf *buf = NULL, *before;

	iobuf_pool_init(&pool, BLOCK, 8);
	ck_assert(iobuf_reserve(&pool, &buf, 1));
	fill(buf, 16, 2);
	before = buf;
	/* a size no block can have: refused, and the buffer is left as it was */
	ck_assert(!iobuf_reserve(&pool, &buf, UINT32_MAX));
	ck_assert_ptr_eq(buf, before);
	expect_pattern(buf, 16, 2);
	ck_assert_int_eq(pool.nused, 1);
	iobuf_put(&pool, buf);
	iobuf_pool_destroy(&pool);
}
END_TEST

/* --- append ---------------------------------------------------------------------- */

START_TEST(test_append)
{
	struct iobuf_pool pool;
	struct iobuf *buf = NULL;
	uint8_t chunk[50];
	uint32_t total = 0;

	iobuf_pool_init(&pool, BLOCK, 8);
	for (int round = 0; round < 20; round++) {
		for (size_t i = 0; i < sizeof(chunk); i++)
			chunk[i] = (uint8_t)(total + i);
		ck_assert(iobuf_append(&pool, &buf, chunk, sizeof(chunk)));
		total += sizeof(chunk);
		ck_assert_uint_eq(iobuf_len(buf), total);
	}
	ck_assert_uint_ge(buf->cap, 1000);
	expect_pattern(buf, total, 0);
	ck_assert(iobuf_append(&pool, &buf, "", 0));
	ck_assert_uint_eq(iobuf_len(buf), total);
	ck_assert_int_eq(pool.nused, 1);
	iobuf_put(&pool, buf);
	ck_assert_int_eq(pool.nused, 0);
	iobuf_pool_destroy(&pool);
}
END_TEST

START_TEST(test_append_after_consume)
{
	/* a consumer keeps taking from the front while a producer appends: the
	 * block never grows because compaction keeps making room */
	struct iobuf_pool pool;
	struct iobuf *buf = NULL, *first;
	uint8_t chunk[40];
	uint8_t next_in = 0, next_out = 0;

	iobuf_pool_init(&pool, BLOCK, 8);
	ck_assert(iobuf_reserve(&pool, &buf, 0));
	first = buf;
	for (int round = 0; round < 100; round++) {
		for (size_t i = 0; i < sizeof(chunk); i++)
			chunk[i] = next_in++;
		ck_assert(iobuf_append(&pool, &buf, chunk, sizeof(chunk)));
		ck_assert_ptr_eq(buf, first);
		for (uint32_t i = 0; i < sizeof(chunk); i++)
			ck_assert_uint_eq(buf->data[buf->start + i], next_out++);
		buf->start += sizeof(chunk);
	}
	ck_assert_uint_eq(buf->cap, BLOCK);
	iobuf_put(&pool, buf);
	iobuf_pool_destroy(&pool);
}
END_TEST

static Suite *iobuf_suite(void)
{
	Suite *s = suite_create("iobuf");
	TCase *tc;

	tc = tcase_create("pool");
	tcase_add_test(tc, test_get_returns_empty_block);
	tcase_add_test(tc, test_put_then_get_reuses);
	tcase_add_test(tc, test_reuse_is_last_in_first_out);
	tcase_add_test(tc, test_counters);
	tcase_add_test(tc, test_max_free_bound);
	tcase_add_test(tc, test_len_of_null);
	suite_add_tcase(s, tc);

	tc = tcase_create("reserve");
	tcase_add_test(tc, test_reserve_takes_block);
	tcase_add_test(tc, test_reserve_with_room_changes_nothing);
	tcase_add_test(tc, test_reserve_compacts);
	tcase_add_test(tc, test_compact_direct);
	tcase_add_test(tc, test_reserve_grows);
	tcase_add_test(tc, test_reserve_grows_twice);
	tcase_add_test(tc, test_reserve_refuses_impossible_size);
	tcase_add_test(tc, test_append);
	tcase_add_test(tc, test_append_after_consume);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(iobuf_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
