/* Unit tests for repeat.c: the row count of CommandComplete tags and the
 * per-scope table of repeated single-row statements (N+1). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "repeat.h"

static int64_t rows(const char *tag)
{
	/* as on the wire: the tag and its NUL */
	return repeat_command_rows((const uint8_t *)tag, (uint32_t)strlen(tag) + 1);
}

/* One request whose CommandCompletes carry TAGS (NULL-terminated). */
static void request(struct repeat_table *r, uint64_t fp, const char *text, uint64_t us,
		    uint32_t threshold, const char *const *tags)
{
	struct repeat_request req = {0, false};
	for (; *tags; tags++)
		repeat_note_complete(&req, (const uint8_t *)*tags, (uint32_t)strlen(*tags) + 1);
	repeat_add(r, &req, fp, text, us, threshold);
}

static void empty(struct repeat_table *r)
{
	memset(r, 0, sizeof(*r));
	repeat_reset(r);
}

static const char *const one[] = {"SELECT 1", NULL};

START_TEST(test_command_rows)
{
	ck_assert_int_eq(rows("SELECT 0"), 0);
	ck_assert_int_eq(rows("SELECT 1"), 1);
	ck_assert_int_eq(rows("SELECT 5"), 5);
	ck_assert_int_eq(rows("SELECT 123456789"), 123456789);
	ck_assert_int_eq(rows("UPDATE 0"), 0);
	ck_assert_int_eq(rows("UPDATE 1"), 1);
	ck_assert_int_eq(rows("DELETE 1"), 1);
	ck_assert_int_eq(rows("DELETE 7"), 7);
	ck_assert_int_eq(rows("INSERT 0 1"), 1);
	ck_assert_int_eq(rows("INSERT 0 2"), 2);
	ck_assert_int_eq(rows("INSERT 16384 1"), 1);
	ck_assert_int_eq(rows("MERGE 1"), 1);
	/* no row count, or not one that N+1 is about */
	ck_assert_int_eq(rows("BEGIN"), -1);
	ck_assert_int_eq(rows("COMMIT"), -1);
	ck_assert_int_eq(rows("SET"), -1);
	ck_assert_int_eq(rows("FETCH 1"), -1);
	ck_assert_int_eq(rows("COPY 1"), -1);
	ck_assert_int_eq(rows("CREATE TABLE"), -1);
	/* malformed */
	ck_assert_int_eq(rows("SELECT"), -1);
	ck_assert_int_eq(rows("SELECT "), -1);
	ck_assert_int_eq(rows("SELECT x"), -1);
	ck_assert_int_eq(rows("SELECT 1x"), -1);
	ck_assert_int_eq(rows("INSERT 1"), -1);
	ck_assert_int_eq(rows("INSERT 0 "), -1);
	ck_assert_int_eq(rows("SELECT 99999999999999999999999"), -1);
	ck_assert_int_eq(rows("select 1"), -1);
	/* without the NUL (a partial body), and with bytes after it */
	ck_assert_int_eq(repeat_command_rows((const uint8_t *)"SELECT 1", 8), 1);
	ck_assert_int_eq(repeat_command_rows((const uint8_t *)"SELECT 1\0junk", 13), 1);
	ck_assert_int_eq(repeat_command_rows((const uint8_t *)"SELECT 12", 8), 1);
	ck_assert_int_eq(repeat_command_rows((const uint8_t *)"", 0), -1);
}
END_TEST

START_TEST(test_counts_single_row_runs)
{
	struct repeat_table r;
	struct repeat_found f[REPEAT_TEXTS];
	empty(&r);

	for (int i = 0; i < 25; i++)
		request(&r, 42, "SELECT v FROM t WHERE id = 1", 100, 10, one);
	/* another statement, below the threshold */
	for (int i = 0; i < 9; i++)
		request(&r, 43, "SELECT w FROM u WHERE id = 1", 50, 10, one);
	ck_assert_int_eq(repeat_collect(&r, 10, f), 1);
	ck_assert_uint_eq(f[0].count, 25);
	ck_assert_uint_eq(f[0].us, 2500);
	ck_assert_str_eq(f[0].text, "SELECT v FROM t WHERE id = 1");
	/* one more run of the second reaches it */
	request(&r, 43, "SELECT w FROM u WHERE id = 2", 50, 10, one);
	ck_assert_int_eq(repeat_collect(&r, 10, f), 2);
	ck_assert_uint_eq(f[1].count, 10);
	ck_assert_str_eq(f[1].text, "SELECT w FROM u WHERE id = 2");
	repeat_reset(&r);
	ck_assert_int_eq(repeat_collect(&r, 10, f), 0);
	ck_assert_int_eq(r.nslots, 0);
}
END_TEST

START_TEST(test_many_rows_never_count)
{
	struct repeat_table r;
	struct repeat_found f[REPEAT_TEXTS];
	static const char *const five[] = {"SELECT 5", NULL};
	static const char *const mixed[] = {"SELECT 1", "UPDATE 3", NULL};
	static const char *const none[] = {"BEGIN", NULL};
	static const char *const with_begin[] = {"BEGIN", "SELECT 1", NULL};
	empty(&r);

	for (int i = 0; i < 30; i++)
		request(&r, 1, "SELECT v FROM t WHERE g = 1", 10, 10, five);
	for (int i = 0; i < 30; i++)
		request(&r, 2, "SELECT 1; UPDATE t SET v = 1", 10, 10, mixed);
	for (int i = 0; i < 30; i++)
		request(&r, 3, "BEGIN", 10, 10, none);
	ck_assert_int_eq(repeat_collect(&r, 10, f), 0);
	/* tags without a row count do not spoil the request */
	for (int i = 0; i < 10; i++)
		request(&r, 4, "BEGIN; SELECT 1", 10, 10, with_begin);
	ck_assert_int_eq(repeat_collect(&r, 10, f), 1);
	ck_assert_uint_eq(f[0].count, 10);
	struct repeat_request req = {0, false};
	ck_assert(!repeat_counts(&req));
	repeat_note_complete(&req, (const uint8_t *)"SELECT 1", 9);
	ck_assert(repeat_counts(&req));
	repeat_note_complete(&req, (const uint8_t *)"SELECT 2", 9);
	ck_assert(!repeat_counts(&req));
}
END_TEST

START_TEST(test_pipeline_counts_each_execution)
{
	struct repeat_table r;
	struct repeat_found f[REPEAT_TEXTS];
	static const char *const twelve[] = {
		"SELECT 1", "SELECT 1", "SELECT 0", "SELECT 1", "SELECT 1", "SELECT 1", "SELECT 1",
		"SELECT 1", "SELECT 1", "SELECT 1", "SELECT 1", "SELECT 1", NULL};
	empty(&r);
	request(&r, 7, "SELECT v FROM t WHERE id = $1", 300, 10, twelve);
	ck_assert_int_eq(repeat_collect(&r, 10, f), 1);
	ck_assert_uint_eq(f[0].count, 12);
	ck_assert_uint_eq(f[0].us, 300);
}
END_TEST

START_TEST(test_threshold_zero_and_unknown_text)
{
	struct repeat_table r;
	struct repeat_found f[REPEAT_TEXTS];
	empty(&r);
	for (int i = 0; i < 20; i++)
		request(&r, 5, "SELECT 1", 1, 0, one);
	ck_assert_int_eq(repeat_collect(&r, 0, f), 0);
	ck_assert_int_eq(r.nslots, 0);
	/* fingerprint 0: no statement text was seen */
	for (int i = 0; i < 20; i++)
		request(&r, 0, "", 1, 10, one);
	ck_assert_int_eq(repeat_collect(&r, 10, f), 0);
}
END_TEST

START_TEST(test_full_table_and_text_limit)
{
	struct repeat_table r;
	struct repeat_found f[REPEAT_TEXTS];
	char text[64];
	empty(&r);

	/* many distinct statements run once, then the repeated one */
	for (int i = 0; i < 3 * REPEAT_SLOTS; i++) {
		snprintf(text, sizeof(text), "SELECT c%d FROM t", i);
		request(&r, 1000 + (uint64_t)i, text, 1, 10, one);
	}
	for (int i = 0; i < 10; i++)
		request(&r, 9, "SELECT v FROM t WHERE id = 1", 1, 10, one);
	ck_assert_int_eq(r.nslots, REPEAT_SLOTS);
	ck_assert_int_eq(repeat_collect(&r, 10, f), 1);
	ck_assert_uint_eq(f[0].count, 10);

	/* more repeated statements than texts kept: the first ones win */
	repeat_reset(&r);
	for (int s = 0; s < REPEAT_TEXTS + 2; s++) {
		snprintf(text, sizeof(text), "SELECT v%d FROM t WHERE id = 1", s);
		for (int i = 0; i < 10; i++)
			request(&r, 100 + (uint64_t)s, text, 1, 10, one);
	}
	ck_assert_int_eq(repeat_collect(&r, 10, f), REPEAT_TEXTS);
	ck_assert_str_eq(f[0].text, "SELECT v0 FROM t WHERE id = 1");
	ck_assert_uint_eq(r.lost, 2);
	/* a statement with a kept text is never evicted */
	for (int i = 0; i < 3 * REPEAT_SLOTS; i++)
		request(&r, 5000 + (uint64_t)i, "SELECT 2", 1, 10, one);
	ck_assert_int_eq(repeat_collect(&r, 10, f), REPEAT_TEXTS);

	/* a long text is cut at LEAK_STMT_LEN */
	char longtext[LEAK_STMT_LEN * 2];
	memset(longtext, 'x', sizeof(longtext) - 1);
	longtext[sizeof(longtext) - 1] = '\0';
	repeat_reset(&r);
	for (int i = 0; i < 10; i++)
		request(&r, 77, longtext, 1, 10, one);
	ck_assert_int_eq(repeat_collect(&r, 10, f), 1);
	ck_assert_uint_eq(strlen(f[0].text), LEAK_STMT_LEN);
}
END_TEST

static Suite *repeat_suite(void)
{
	Suite *s = suite_create("repeat");
	TCase *tc = tcase_create("repeat");
	tcase_add_test(tc, test_command_rows);
	tcase_add_test(tc, test_counts_single_row_runs);
	tcase_add_test(tc, test_many_rows_never_count);
	tcase_add_test(tc, test_pipeline_counts_each_execution);
	tcase_add_test(tc, test_threshold_zero_and_unknown_text);
	tcase_add_test(tc, test_full_table_and_text_limit);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(repeat_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
