/* Unit tests for paramsample.c: fingerprints, normalized text and the JSON
 * values of sampled statements, and refused utility statements. */
#include <check.h>
#include <pg_query.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evqueue.h"
#include "paramsample.h"
#include "paramtap.h"

/* ok extracts STMT (no Bind values) and checks its params JSON. */
static void ok(const char *stmt, const char *query, const char *params)
{
	struct paramsample s;
	ck_assert_int_eq(paramsample_extract(stmt, NULL, 0, &s), PARAMSAMPLE_OK);
	ck_assert_str_eq(s.query, query);
	ck_assert_str_eq(s.params, params);
	ck_assert_uint_eq(strlen(s.fingerprint), 16);
	paramsample_clear(&s);
}

static void fingerprint_of(const char *stmt, char out[17])
{
	PgQueryFingerprintResult f = pg_query_fingerprint(stmt);
	ck_assert_ptr_null(f.error);
	memcpy(out, f.fingerprint_str, 17);
	pg_query_free_fingerprint_result(f);
}

START_TEST(test_fingerprint_matches_pg_stat_statements_text)
{
	struct paramsample s;
	char want[17];
	ck_assert_int_eq(paramsample_extract("SELECT * FROM t WHERE a = 42", NULL, 0, &s),
			 PARAMSAMPLE_OK);
	fingerprint_of("SELECT * FROM t WHERE a = $1", want);
	ck_assert_str_eq(s.fingerprint, want);
	ck_assert_str_eq(s.query, "SELECT * FROM t WHERE a = $1");
	ck_assert_str_eq(s.params, "[\"42\"]");
	paramsample_clear(&s);
}
END_TEST

START_TEST(test_strings)
{
	ok("SELECT * FROM t WHERE name = 'O''Brien'", "SELECT * FROM t WHERE name = $1",
	   "[\"O'Brien\"]");
	ok("SELECT * FROM t WHERE name = E'a\\nb\\'c'", "SELECT * FROM t WHERE name = $1",
	   "[\"a\\u000ab'c\"]");
	ok("SELECT * FROM t WHERE name = $$x'y$$", "SELECT * FROM t WHERE name = $1", "[\"x'y\"]");
	ok("SELECT * FROM t WHERE name = '' AND b = 'say \"hi\" \\'",
	   "SELECT * FROM t WHERE name = $1 AND b = $2", "[\"\",\"say \\\"hi\\\" \\\\\"]");
	ok("SELECT * FROM t WHERE name = 'é'", "SELECT * FROM t WHERE name = $1", "[\"é\"]");
}
END_TEST

START_TEST(test_numbers)
{
	ok("SELECT * FROM t WHERE a = -5 AND b = 0 AND c = - 7",
	   "SELECT * FROM t WHERE a = $1 AND b = $2 AND c = $3", "[\"-5\",\"0\",\"-7\"]");
	ok("SELECT * FROM t WHERE a = 1.5 AND b = -2.25 AND c = 12345678901 AND d = 1e3",
	   "SELECT * FROM t WHERE a = $1 AND b = $2 AND c = $3 AND d = $4",
	   "[\"1.5\",\"-2.25\",\"12345678901\",\"1e3\"]");
	ok("SELECT a - 1 FROM t", "SELECT a - $1 FROM t", "[\"1\"]");
}
END_TEST

START_TEST(test_null_bool_typed)
{
	ok("UPDATE t SET a = NULL, b = true, c = false WHERE d = DATE '2024-01-01'",
	   "UPDATE t SET a = $1, b = $2, c = $3 WHERE d = DATE $4",
	   "[null,\"true\",\"false\",\"2024-01-01\"]");
	/* the typmod is not a parameter */
	ok("SELECT 'abc'::varchar(10), interval '1 day'", "SELECT $1::varchar(10), interval $2",
	   "[\"abc\",\"1 day\"]");
	ok("SELECT * FROM t WHERE e IS NULL", "SELECT * FROM t WHERE e IS NULL", "[]");
}
END_TEST

START_TEST(test_in_list_limit_values_with)
{
	/* numbered in text order as pg_stat_statements does (libpg_query's
	 * normalize walks OFFSET before LIMIT) */
	ok("SELECT * FROM t WHERE id IN (1, 2, 3) ORDER BY id LIMIT 10 OFFSET 20",
	   "SELECT * FROM t WHERE id IN ($1, $2, $3) ORDER BY id LIMIT $4 OFFSET $5",
	   "[\"1\",\"2\",\"3\",\"10\",\"20\"]");
	/* positions in GROUP BY and ORDER BY stay as they are */
	ok("SELECT 1 FROM t WHERE a = 2 GROUP BY 3 HAVING 4 > 5 ORDER BY 6",
	   "SELECT $1 FROM t WHERE a = $2 GROUP BY 3 HAVING $3 > $4 ORDER BY 6",
	   "[\"1\",\"2\",\"4\",\"5\"]");
	ok("VALUES (1, 'a'), (2, 'b')", "VALUES ($1, $2), ($3, $4)", "[\"1\",\"a\",\"2\",\"b\"]");
	ok("WITH x AS (SELECT 1 AS v) SELECT * FROM x WHERE v = 2",
	   "WITH x AS (SELECT $1 AS v) SELECT * FROM x WHERE v = $2", "[\"1\",\"2\"]");
	ok("INSERT INTO t (a, b) VALUES (7, 'x')", "INSERT INTO t (a, b) VALUES ($1, $2)",
	   "[\"7\",\"x\"]");
	ok("DELETE FROM t WHERE a = 3 /* comment 4 */",
	   "DELETE FROM t WHERE a = $1 /* comment 4 */", "[\"3\"]");
}
END_TEST

START_TEST(test_bind_values_and_literals)
{
	struct paramsample s;
	struct paramsample_value v[2] = {{"42", 2}, {NULL, -1}};
	ck_assert_int_eq(paramsample_extract("SELECT * FROM t WHERE a = $1 AND b = $2 AND c = 'x'",
					     v, 2, &s),
			 PARAMSAMPLE_OK);
	ck_assert_str_eq(s.query, "SELECT * FROM t WHERE a = $1 AND b = $2 AND c = $3");
	ck_assert_str_eq(s.params, "[\"42\",null,\"x\"]");
	paramsample_clear(&s);
	/* out of order and missing values */
	ck_assert_int_eq(paramsample_extract("SELECT $2, 5, $1", v, 1, &s), PARAMSAMPLE_OK);
	ck_assert_str_eq(s.query, "SELECT $2, $3, $1");
	ck_assert_str_eq(s.params, "[\"42\",null,\"5\"]");
	paramsample_clear(&s);
	/* a value that is not UTF-8 is unknown */
	struct paramsample_value bad = {"\xff\xfe", 2};
	ck_assert_int_eq(paramsample_extract("SELECT $1", &bad, 1, &s), PARAMSAMPLE_OK);
	ck_assert_str_eq(s.params, "[null]");
	paramsample_clear(&s);
	/* binary values: converted by type, unknown types are null */
	struct paramsample_value bin[3] = {
		{"\xff\xff\xff\xfe", 4, 23}, {"\x01", 1, 16}, {"\x01\x02", 2, 17}};
	ck_assert_int_eq(paramsample_extract("SELECT $1, $2, $3", bin, 3, &s), PARAMSAMPLE_OK);
	ck_assert_str_eq(s.params, "[\"-2\",\"true\",null]");
	paramsample_clear(&s);
	/* a binary text value that is not UTF-8 */
	struct paramsample_value bintext = {"\xff", 1, 25};
	ck_assert_int_eq(paramsample_extract("SELECT $1", &bintext, 1, &s), PARAMSAMPLE_OK);
	ck_assert_str_eq(s.params, "[null]");
	paramsample_clear(&s);
}
END_TEST

START_TEST(test_utility_statements_refused)
{
	struct paramsample s;
	ck_assert_int_eq(paramsample_extract("ALTER ROLE bob PASSWORD 'secret'", NULL, 0, &s),
			 PARAMSAMPLE_REFUSED);
	ck_assert_ptr_null(s.query);
	ck_assert_ptr_null(s.params);
	ck_assert_int_eq(paramsample_extract("SET work_mem = '64MB'", NULL, 0, &s),
			 PARAMSAMPLE_REFUSED);
	ck_assert_int_eq(paramsample_extract("COPY t FROM STDIN", NULL, 0, &s),
			 PARAMSAMPLE_REFUSED);
	ck_assert_int_eq(paramsample_extract("EXPLAIN SELECT 1", NULL, 0, &s), PARAMSAMPLE_REFUSED);
	ck_assert_int_eq(paramsample_extract("SELEC 1", NULL, 0, &s), PARAMSAMPLE_FAILED);
	ck_assert_int_eq(paramsample_extract("SELECT 1; SELECT 2", NULL, 0, &s),
			 PARAMSAMPLE_FAILED);
}
END_TEST

struct collected {
	int n;
	char params[4][64];
	char query[4][64];
};

static void collect(void *arg, const struct paramsample *s)
{
	struct collected *c = arg;
	if (c->n < 4) {
		snprintf(c->params[c->n], sizeof(c->params[0]), "%s", s->params);
		snprintf(c->query[c->n], sizeof(c->query[0]), "%s", s->query);
	}
	c->n++;
}

START_TEST(test_query_string_split)
{
	struct collected c = {0};
	ck_assert_int_eq(paramsample_extract_query("BEGIN; SELECT 1; ALTER ROLE x PASSWORD 'pw'; "
						   "UPDATE t SET a = 'z' WHERE b = 2; COMMIT",
						   collect, &c),
			 2);
	ck_assert_int_eq(c.n, 2);
	ck_assert_str_eq(c.params[0], "[\"1\"]");
	ck_assert_str_eq(c.params[1], "[\"z\",\"2\"]");
	ck_assert_str_eq(c.query[1], "UPDATE t SET a = $1 WHERE b = $2");
	ck_assert_int_eq(paramsample_extract_query("SELECT 'unterminated", collect, &c), -1);
}
END_TEST

START_TEST(test_tap_sampled_kind)
{
	const char *yes[] = {"SELECT 1",
			     "  select 1",
			     "(SELECT 1) UNION (SELECT 2)",
			     "/* app */ UPDATE t SET a = 1",
			     "-- x\nDELETE FROM t",
			     "Insert into t values (1)",
			     "VALUES (1)",
			     "with x as (select 1) select * from x",
			     "select"};
	const char *no[] = {"ALTER ROLE x PASSWORD 'y'",
			    "SET a = 1",
			    "COPY t FROM STDIN",
			    "selected",
			    "BEGIN; SELECT 1",
			    "EXPLAIN SELECT 1",
			    "/* open comment",
			    "",
			    "withdraw"};
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		ck_assert_msg(paramtap_sampled_kind(yes[i], (uint32_t)strlen(yes[i])), "%s",
			      yes[i]);
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		ck_assert_msg(!paramtap_sampled_kind(no[i], (uint32_t)strlen(no[i])), "%s", no[i]);
	/* LEN bounds the look: "SEL" of "SELECT" is not a keyword */
	ck_assert(!paramtap_sampled_kind("SELECT", 3));
}
END_TEST

/* value reads the Ith encoded value of P (after its text) and its OID. */
static int32_t value(const struct event_params *p, int i, const char **data, uint32_t *oid)
{
	size_t at = (size_t)p->text_len + 1;
	int32_t len = 0;
	for (int k = 0; k <= i; k++) {
		memcpy(&len, p->data + at, 4);
		memcpy(oid, p->data + at + 4, 4);
		at += 8;
		*data = p->data + at;
		if (len > 0 && k < i)
			at += (size_t)len;
	}
	return len;
}

START_TEST(test_tap_encode_values)
{
	static struct event_params p;
	const char *d;
	uint32_t oid;
	memcpy(p.data, "SELECT $1, $2, $3", 18);
	p.text_len = 17;
	p.used = 18;
	/* portal "", statement "s", formats (text, binary, text), 3 values:
	 * "42", 4 binary bytes, NULL; no result formats */
	static const uint8_t bind[] = {0, 's', 0, 0, 3, 0,    0,    0,    1,    0, 0,
				       0, 3,   0, 0, 0, 2,    '4',  '2',  0,    0, 0,
				       4, 0,   0, 0, 7, 0xff, 0xff, 0xff, 0xff, 0, 0};
	ck_assert(paramtap_encode_values(&p, bind, sizeof(bind), NULL, 0));
	ck_assert_int_eq(p.nvalues, 3);
	ck_assert_int_eq(value(&p, 0, &d, &oid), 2);
	ck_assert(!memcmp(d, "42", 2));
	ck_assert_uint_eq(oid, 0);
	ck_assert_int_eq(value(&p, 1, &d, &oid), -1); /* binary of unspecified type: unknown */
	ck_assert_int_eq(value(&p, 2, &d, &oid), -1); /* NULL */
	ck_assert_uint_eq(p.used, 18 + 8 + 2 + 8 + 8);
	/* with the Parse's types: $2 is an int4, kept with its OID; $1 is
	 * text format whatever its type */
	static const uint8_t types[] = {0, 0, 0, 23, 0, 0, 0, 23, 0, 0, 0, 25};
	p.used = 18;
	ck_assert(paramtap_encode_values(&p, bind, sizeof(bind), types, 3));
	ck_assert_int_eq(value(&p, 0, &d, &oid), 2);
	ck_assert_uint_eq(oid, 0);
	ck_assert_int_eq(value(&p, 1, &d, &oid), 4);
	ck_assert_uint_eq(oid, 23);
	ck_assert(!memcmp(d, "\0\0\0\7", 4));
	ck_assert_int_eq(value(&p, 2, &d, &oid), -1);
	ck_assert_uint_eq(p.used, 18 + 8 + 2 + 8 + 4 + 8);
	/* one format code for all: binary; not copied for an unspecified
	 * type or one paramconv does not convert (bytea) */
	static const uint8_t bytea[] = {0, 0, 0, 17};
	static const uint8_t all_binary[] = {0, 0, 0, 1, 0, 1, 0, 1, 0, 0, 0, 1, 'x', 0, 0};
	p.used = 18;
	ck_assert(paramtap_encode_values(&p, all_binary, sizeof(all_binary), NULL, 0));
	ck_assert_int_eq(value(&p, 0, &d, &oid), -1);
	p.used = 18;
	ck_assert(paramtap_encode_values(&p, all_binary, sizeof(all_binary), bytea, 1));
	ck_assert_int_eq(value(&p, 0, &d, &oid), -1);
	static const uint8_t bool_type[] = {0, 0, 0, 16};
	p.used = 18;
	ck_assert(paramtap_encode_values(&p, all_binary, sizeof(all_binary), bool_type, 1));
	ck_assert_int_eq(value(&p, 0, &d, &oid), 1);
	ck_assert_uint_eq(oid, 16);
	/* truncated and inconsistent bodies */
	p.used = 18;
	ck_assert(!paramtap_encode_values(&p, bind, 20, NULL, 0));
	static const uint8_t bad_count[] = {0, 0, 0, 2, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 'x'};
	ck_assert(!paramtap_encode_values(&p, bad_count, sizeof(bad_count), NULL, 0));
	static const uint8_t huge_len[] = {0, 0, 0, 0, 0, 1, 0x7f, 0xff, 0xff, 0xff, 'x'};
	ck_assert(!paramtap_encode_values(&p, huge_len, sizeof(huge_len), NULL, 0));
	/* values that do not fit in the event */
	static uint8_t big[8 + EVENT_PARAMS_DATA];
	big[0] = 0;
	big[1] = 0;
	big[2] = 0;
	big[3] = 0; /* no format codes */
	big[4] = 0;
	big[5] = 1;
	uint32_t n = EVENT_PARAMS_DATA - 10;
	big[6] = (uint8_t)(n >> 24);
	big[7] = (uint8_t)(n >> 16);
	big[8] = (uint8_t)(n >> 8);
	big[9] = (uint8_t)n;
	ck_assert(!paramtap_encode_values(&p, big, 10 + n, NULL, 0));
}
END_TEST

static Suite *paramsample_suite(void)
{
	Suite *s = suite_create("paramsample");
	TCase *tc = tcase_create("paramsample");
	tcase_add_test(tc, test_fingerprint_matches_pg_stat_statements_text);
	tcase_add_test(tc, test_strings);
	tcase_add_test(tc, test_numbers);
	tcase_add_test(tc, test_null_bool_typed);
	tcase_add_test(tc, test_in_list_limit_values_with);
	tcase_add_test(tc, test_bind_values_and_literals);
	tcase_add_test(tc, test_utility_statements_refused);
	tcase_add_test(tc, test_query_string_split);
	tcase_add_test(tc, test_tap_sampled_kind);
	tcase_add_test(tc, test_tap_encode_values);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(paramsample_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
