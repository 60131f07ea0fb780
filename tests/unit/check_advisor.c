/* Unit tests for advisor.c's pure helpers: index keys compared through
 * quoting and casts, and when an existing index serves a candidate. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "advisor/advisor_internal.h"

static const char *norm(const char *in)
{
	static char buf[256];
	advisor_norm_key(in, buf, sizeof(buf));
	return buf;
}

START_TEST(test_norm_key)
{
	ck_assert_str_eq(norm("lower((email)::text)"), "loweremail");
	ck_assert_str_eq(norm("lower(email)"), "loweremail");
	ck_assert_str_eq(norm("\"Order\""), "Order");
	ck_assert_str_eq(norm("created_at DESC"), "created_at");
	ck_assert_str_eq(norm("(a)::character varying"), "a");
	ck_assert_str_eq(norm("date_trunc('day'::text, ts)"), "date_trunc'day',ts");
}
END_TEST

static struct candidates_index cand(int ncols, int neq, const char *c0, const char *c1,
				    const char *c2)
{
	struct candidates_index c = {.ncols = ncols, .neq = neq};
	c.cols[0] = c0;
	c.cols[1] = c1;
	c.cols[2] = c2;
	return c;
}

START_TEST(test_served_by)
{
	struct tinfo_index idx[3] = {
		{.name = "t_pkey", .keys = {"id"}, .nkeys = 1},
		{.name = "t_b_a_ts", .keys = {"b", "a", "ts"}, .nkeys = 3},
		{.name = "t_partial", .keys = {"status"}, .nkeys = 1, .partial = true},
	};
	struct candidates_index c = cand(1, 1, "id", NULL, NULL);
	ck_assert_str_eq(advisor_served_by(idx, 3, &c), "t_pkey");
	/* a leading prefix serves */
	c = cand(1, 1, "b", NULL, NULL);
	ck_assert_str_eq(advisor_served_by(idx, 3, &c), "t_b_a_ts");
	/* equality columns in any order */
	c = cand(3, 2, "a", "b", "ts");
	ck_assert_str_eq(advisor_served_by(idx, 3, &c), "t_b_a_ts");
	/* a non-leading column does not */
	c = cand(1, 1, "a", NULL, NULL);
	ck_assert_ptr_null(advisor_served_by(idx, 3, &c));
	/* the range column must come right after the equality columns */
	c = cand(2, 1, "b", "ts", NULL);
	ck_assert_ptr_null(advisor_served_by(idx, 3, &c));
	/* a partial index serves only its own predicate: not counted */
	c = cand(1, 1, "status", NULL, NULL);
	ck_assert_ptr_null(advisor_served_by(idx, 3, &c));
	/* longer than the index */
	c = cand(2, 2, "id", "b", NULL);
	ck_assert_ptr_null(advisor_served_by(idx, 3, &c));
	/* expressions through pg_get_indexdef's casts */
	struct tinfo_index e = {.name = "u_lower", .keys = {"lower(email::text)"}, .nkeys = 1};
	c = cand(1, 1, "lower(email)", NULL, NULL);
	ck_assert_str_eq(advisor_served_by(&e, 1, &c), "u_lower");
	/* a cast of a column is not the column, either way round */
	struct tinfo_index v = {.name = "v_at", .keys = {"visited_at"}, .nkeys = 1};
	c = cand(1, 1, "(visited_at::date)", NULL, NULL);
	ck_assert_ptr_null(advisor_served_by(&v, 1, &c));
	struct tinfo_index vd = {.name = "v_day", .keys = {"(visited_at::date)"}, .nkeys = 1};
	ck_assert_str_eq(advisor_served_by(&vd, 1, &c), "v_day");
	c = cand(1, 1, "visited_at", NULL, NULL);
	ck_assert_ptr_null(advisor_served_by(&vd, 1, &c));
	ck_assert_str_eq(advisor_served_by(&v, 1, &c), "v_at");
}
END_TEST

static Suite *advisor_suite(void)
{
	Suite *s = suite_create("advisor");
	TCase *tc = tcase_create("helpers");

	tcase_add_test(tc, test_norm_key);
	tcase_add_test(tc, test_served_by);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(advisor_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
