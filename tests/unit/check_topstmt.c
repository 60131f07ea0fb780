/* Unit tests for topstmt.c: the fingerprint, the space-saving table under
 * churn, and the two generations of the window. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "leak.h"
#include "topstmt.h"

#define S(x) ((usec_t)((x)*1000000.0))

static uint64_t fp(const char *s)
{
	return topstmt_fingerprint(s);
}

START_TEST(test_fingerprint_ignores_literals)
{
	ck_assert_uint_eq(fp("SELECT * FROM t WHERE id = 5"), fp("SELECT * FROM t WHERE id = 7"));
	ck_assert_uint_eq(fp("SELECT * FROM t WHERE id = 5"),
			  fp("SELECT * FROM t WHERE id = 123456"));
	ck_assert_uint_eq(fp("SELECT * FROM t WHERE id = 5"),
			  fp(" select  *\n from t where id = 1.5e3 "));
	ck_assert_uint_eq(fp("SELECT * FROM t WHERE id=5"), fp("SELECT * FROM T WHERE ID=6"));
	ck_assert_uint_eq(fp("UPDATE t SET name = 'bob' WHERE x = 1"),
			  fp("UPDATE t SET name = 'it''s' WHERE x = 2"));
	ck_assert_uint_eq(fp("SELECT E'a\\'b' FROM t"), fp("SELECT E'zz' FROM t"));
	ck_assert_uint_eq(fp("SELECT $$a;b$$, $q$x$q$"), fp("SELECT $$ other $$, $q$ $$ $q$"));
	ck_assert_uint_eq(fp("SELECT 1 /* id=5 */ -- tail 7\n"), fp("SELECT 2"));
	/* an IN list of any length is one statement */
	ck_assert_uint_eq(fp("SELECT * FROM t WHERE id IN (1, 2, 3)"),
			  fp("SELECT * FROM t WHERE id IN (4)"));
	ck_assert_uint_eq(fp("SELECT * FROM t WHERE id IN ('a','b')"),
			  fp("SELECT * FROM t WHERE id IN ('c', 'd', 'e', 'f')"));
}
END_TEST

START_TEST(test_fingerprint_keeps_identifiers)
{
	ck_assert_uint_ne(fp("SELECT * FROM t WHERE id = 5"), fp("SELECT * FROM u WHERE id = 5"));
	ck_assert_uint_ne(fp("SELECT * FROM t WHERE id = 5"), fp("SELECT * FROM t WHERE idx = 5"));
	ck_assert_uint_ne(fp("SELECT * FROM t1 WHERE id = 5"), fp("SELECT * FROM t2 WHERE id = 5"));
	ck_assert_uint_ne(fp("SELECT a FROM t"), fp("SELECT ab FROM t"));
	ck_assert_uint_ne(fp("SELECT a b FROM t"), fp("SELECT ab FROM t"));
	ck_assert_uint_ne(fp("SELECT abcdefghij FROM t"), fp("SELECT abcdefghik FROM t"));
	ck_assert_uint_ne(fp("SELECT * FROM tab_a"), fp("SELECT * FROM tab_b"));
	ck_assert_uint_ne(fp("SELECT * FROM t WHERE id = $1"), fp("SELECT * FROM t WHERE id = $2"));
	ck_assert_uint_ne(fp("SELECT * FROM t WHERE id = 5"), fp("SELECT * FROM t WHERE id > 5"));
	ck_assert_uint_ne(fp("SELECT \"Foo\" FROM t"), fp("SELECT \"foo\" FROM t"));
	ck_assert_uint_ne(fp("SELECT a, b FROM t"), fp("SELECT a FROM t"));
	ck_assert_uint_ne(fp("SELECT 1"), fp("SELECT 1; SELECT 2"));
	/* unquoted words fold case, as PostgreSQL does */
	ck_assert_uint_eq(fp("select ID from T"), fp("SELECT id FROM t"));
	/* a literal is not an identifier */
	ck_assert_uint_ne(fp("SELECT 'x' FROM t"), fp("SELECT x FROM t"));
	ck_assert_uint_ne(fp(""), 0);
}
END_TEST

START_TEST(test_fingerprint_stays_in_bounds)
{
	/* every prefix of texts that end inside a token, copied to a buffer of
	 * exactly that size and its NUL (the sanitizers see any read past it) */
	const char *texts[] = {
		"SELECT 'it''s', E'a\\'b', $tag$ x $tag$, $$y$$, $1 FROM \"Q\"\"t\" -- c",
		"SELECT /* c */ 1.5e3, x1, IN (1, 2), $ab, $",
		"\"unterminated",
		"'open",
		"/*",
		"--",
	};
	for (size_t t = 0; t < sizeof(texts) / sizeof(texts[0]); t++) {
		size_t len = strlen(texts[t]);
		for (size_t n = 0; n <= len; n++) {
			char *copy = strndup(texts[t], n);
			ck_assert_ptr_nonnull(copy);
			ck_assert_uint_ne(topstmt_fingerprint(copy), 0);
			free(copy);
		}
	}
	ck_assert_uint_eq(fp("SELECT $1, $$a$$"), fp("SELECT $1, $x$b$x$"));
	ck_assert_uint_ne(fp("SELECT $1"), fp("SELECT 1"));
}
END_TEST

START_TEST(test_space_saving_keeps_heavy_hitter_under_churn)
{
	static struct topstmt t; /* 20 kB: not on the stack */
	memset(&t, 0, sizeof(t));
	usec_t now = S(1000);
	const char *heavy = "SELECT pg_sleep(0.2) FROM heavy WHERE k = 42";
	uint64_t hfp = fp(heavy), light = 0;
	char text[64];

	/* 1,000 distinct statements of 1 ms each, one execution of the heavy
	 * one (20 ms) every 10 of them: it has 2/3 of the time */
	for (int i = 0; i < 1000; i++) {
		snprintf(text, sizeof(text), "SELECT * FROM churn_%d", i);
		topstmt_add(&t, fp(text), text, 1000, now);
		light += 1000;
		if (i % 10 == 0)
			topstmt_add(&t, hfp, heavy, 20000, now);
	}
	struct topstmt_entry top[5];
	uint64_t other;
	usec_t span;
	int n = topstmt_top(&t, now, top, 5, &other, &span);
	ck_assert_int_eq(n, 5);
	ck_assert_str_eq(top[0].text, "SELECT pg_sleep(?) FROM heavy WHERE k = ?");
	ck_assert_uint_eq(top[0].time_us, 100 * 20000);
	ck_assert_uint_eq(top[0].error_us, 0);
	ck_assert_uint_eq(top[0].calls, 100);
	/* the others are estimates: each within its error bound of the truth */
	for (int i = 1; i < n; i++) {
		ck_assert_uint_le(top[i].time_us, top[0].time_us);
		ck_assert_uint_ge(top[i].time_us, top[i].error_us);
		ck_assert_uint_le(top[i].time_us - top[i].error_us, 1000);
	}
	ck_assert(other == 0);
	ck_assert_uint_eq(span, TOPSTMT_WINDOW);
	/* the table never holds more than its slots, and its sum is exact */
	const struct topstmt_gen *g = &t.gen[t.cur];
	ck_assert_int_eq(g->used, TOPSTMT_SLOTS);
	uint64_t sum = 0;
	for (int i = 0; i < g->used; i++)
		sum += g->slot[i].time_us;
	ck_assert_uint_eq(sum, light + 100 * 20000);
}
END_TEST

START_TEST(test_rotation_forgets_old_windows)
{
	static struct topstmt t;
	memset(&t, 0, sizeof(t));
	struct topstmt_entry top[5];
	uint64_t other;
	usec_t span, t0 = S(500), w = TOPSTMT_WINDOW;

	topstmt_add(&t, fp("SELECT old()"), "SELECT old()", S(10), t0);
	topstmt_add_other(&t, S(1), t0);
	/* in the next generation: both count, merged */
	topstmt_add(&t, fp("SELECT new()"), "SELECT new()", S(1), t0 + w + S(1));
	topstmt_add(&t, fp("SELECT old()"), "SELECT old()", S(2), t0 + w + S(2));
	int n = topstmt_top(&t, t0 + w + S(3), top, 5, &other, &span);
	ck_assert_int_eq(n, 2);
	ck_assert_str_eq(top[0].text, "SELECT old()");
	ck_assert_uint_eq(top[0].time_us, S(12));
	ck_assert_uint_eq(top[0].calls, 2);
	ck_assert_uint_eq(top[1].time_us, S(1));
	ck_assert_uint_eq(other, S(1));
	ck_assert_uint_eq(span, w + S(3));
	/* a generation later the first one is gone, without a write */
	n = topstmt_top(&t, t0 + 2 * w + S(3), top, 5, &other, &span);
	ck_assert_int_eq(n, 2);
	ck_assert_str_eq(top[0].text, "SELECT old()");
	ck_assert_uint_eq(top[0].time_us, S(2));
	ck_assert_uint_eq(other, 0);
	/* a write rotates the same way */
	topstmt_add(&t, fp("SELECT newer()"), "SELECT newer()", S(3), t0 + 2 * w + S(4));
	n = topstmt_top(&t, t0 + 2 * w + S(5), top, 5, &other, &span);
	ck_assert_int_eq(n, 3);
	ck_assert_str_eq(top[0].text, "SELECT newer()");
	ck_assert_uint_eq(top[1].time_us, S(2));
	/* idle for two windows: nothing */
	n = topstmt_top(&t, t0 + 5 * w, top, 5, &other, &span);
	ck_assert_int_eq(n, 0);
	ck_assert_uint_eq(span, 0);
	topstmt_add(&t, fp("SELECT later()"), "SELECT later()", S(1), t0 + 5 * w);
	n = topstmt_top(&t, t0 + 5 * w + S(1), top, 5, &other, &span);
	ck_assert_int_eq(n, 1);
	ck_assert_str_eq(top[0].text, "SELECT later()");
}
END_TEST

START_TEST(test_note_caches_fingerprint)
{
	static struct topstmt t;
	struct checkout ck;
	const char *q1 = "SELECT * FROM t WHERE id = 1", *q2 = "SELECT * FROM t WHERE id = 2";
	struct topstmt_entry top[5];
	uint64_t other;
	usec_t span;

	memset(&t, 0, sizeof(t));
	leak_checkout_begin(&ck, S(10));
	topstmt_note(&t, &ck, 500, S(10)); /* no text yet */
	leak_note_request(&ck, 'Q', (const uint8_t *)q1, (uint32_t)strlen(q1) + 1,
			  (uint32_t)strlen(q1) + 5, S(10));
	ck_assert_uint_eq(ck.stmt_fp, 0);
	topstmt_note(&t, &ck, 1000, S(11));
	ck_assert_uint_eq(ck.stmt_fp, fp(q1));
	leak_note_request(&ck, 'Q', (const uint8_t *)q2, (uint32_t)strlen(q2) + 1,
			  (uint32_t)strlen(q2) + 5, S(12));
	ck_assert_uint_eq(ck.stmt_fp, 0);
	topstmt_note(&t, &ck, 2000, S(12));
	int n = topstmt_top(&t, S(13), top, 5, &other, &span);
	ck_assert_int_eq(n, 1);
	ck_assert_str_eq(top[0].text, "SELECT * FROM t WHERE id = ?");
	ck_assert_uint_eq(top[0].time_us, 3000);
	ck_assert_uint_eq(top[0].calls, 2);
	ck_assert_uint_eq(other, 500);
}
END_TEST

static Suite *topstmt_suite(void)
{
	Suite *s = suite_create("topstmt");
	TCase *tc = tcase_create("topstmt");
	tcase_add_test(tc, test_fingerprint_ignores_literals);
	tcase_add_test(tc, test_fingerprint_keeps_identifiers);
	tcase_add_test(tc, test_fingerprint_stays_in_bounds);
	tcase_add_test(tc, test_space_saving_keeps_heavy_hitter_under_churn);
	tcase_add_test(tc, test_rotation_forgets_old_windows);
	tcase_add_test(tc, test_note_caches_fingerprint);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(topstmt_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
