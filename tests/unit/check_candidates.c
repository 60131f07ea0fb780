/* Unit tests for advisor/candidates.c: each predicate shape gives the
 * expected index keys in the right order (equality before range, then
 * ORDER BY ... LIMIT), aliases and joins resolve to their tables,
 * expressions and partial candidates, parameter binding. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "advisor/candidates.h"

static struct candidates_stmt *parse(const char *sql)
{
	char *err = NULL;
	struct candidates_stmt *st = candidates_parse(sql, &err);
	ck_assert_msg(st != NULL, "%s: %s", sql, err ? err : "");
	return st;
}

/* keys writes every candidate as "table(key)[ WHERE col]" separated by "; " */
static void keys(const struct candidates_stmt *st, char *buf, size_t size)
{
	struct candidates_index *c;
	size_t n = candidates_build(st, &c);
	buf[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		char *k = candidates_key(&c[i]);
		size_t len = strlen(buf);
		snprintf(buf + len, size - len, "%s%s(%s)%s%s%s", i ? "; " : "",
			 st->tables[c[i].table].name, k, c[i].partial_col ? " WHERE " : "",
			 c[i].partial_col ? c[i].partial_col : "",
			 c[i].partial_use == CANDIDATES_ISNULL    ? " IS NULL"
			 : c[i].partial_use == CANDIDATES_NOTNULL ? " IS NOT NULL"
			 : c[i].partial_use == CANDIDATES_ISTRUE  ? " IS TRUE"
			 : c[i].partial_use == CANDIDATES_ISFALSE ? " IS FALSE"
								  : "");
		free(k);
	}
	free(c);
}

#define CHECK_KEYS(sql, expected)                                                                  \
	do {                                                                                       \
		struct candidates_stmt *st_ = parse(sql);                                          \
		char buf_[2048];                                                                   \
		keys(st_, buf_, sizeof(buf_));                                                     \
		ck_assert_str_eq(buf_, expected);                                                  \
		candidates_stmt_free(st_);                                                         \
	} while (0)

START_TEST(test_equality)
{
	CHECK_KEYS("SELECT * FROM accounts WHERE account_no = $1",
		   "accounts(account_no); accounts(account_no) WHERE account_no");
	/* IN and = ANY are equality; no partial candidate for a list */
	CHECK_KEYS("SELECT * FROM t WHERE a IN ($1, $2, $3)", "t(a)");
	CHECK_KEYS("SELECT * FROM t WHERE a = ANY($1)", "t(a)");
	/* constants on the left, casts of parameters */
	CHECK_KEYS("SELECT 1 FROM t WHERE $1::int = a", "t(a); t(a) WHERE a");
}
END_TEST

START_TEST(test_equality_before_range)
{
	CHECK_KEYS("SELECT * FROM events WHERE ts >= $1 AND device_id = $2 AND ts < $3",
		   "events(device_id, ts); events(device_id); events(ts); "
		   "events(ts) WHERE device_id");
	CHECK_KEYS("SELECT * FROM e WHERE ts BETWEEN $1 AND $2 AND a = $3 AND b IN ($4, $5)",
		   "e(a, b, ts); e(a); e(b); e(ts); e(b, ts) WHERE a");
	/* OR cannot be served by one key: one per arm, checked together */
	CHECK_KEYS("SELECT * FROM t WHERE a = $1 OR b = $2", "t(a); t(b)");
}
END_TEST

START_TEST(test_order_by_limit)
{
	CHECK_KEYS("SELECT id FROM posts ORDER BY published_at DESC LIMIT $1",
		   "posts(published_at)");
	CHECK_KEYS("SELECT id FROM posts WHERE author_id = $1 ORDER BY published_at DESC "
		   "LIMIT $2",
		   "posts(author_id, published_at); posts(author_id); "
		   "posts(published_at) WHERE author_id");
	/* mixed directions keep DESC where it is needed */
	CHECK_KEYS("SELECT id FROM posts ORDER BY a DESC, b LIMIT 10", "posts(a DESC, b)");
	/* without LIMIT the sort is not a candidate */
	CHECK_KEYS("SELECT id FROM posts ORDER BY published_at", "");
	/* range and order: both orders are candidates */
	CHECK_KEYS("SELECT id FROM p WHERE a = $1 AND b > $2 ORDER BY c LIMIT 5",
		   "p(a, b); p(a, c); p(a); p(b); p(b) WHERE a");
	struct candidates_stmt *st = parse("SELECT id FROM p ORDER BY c LIMIT $1");
	ck_assert(st->has_limit);
	ck_assert_int_eq(st->limit_param, 1);
	candidates_stmt_free(st);
}
END_TEST

START_TEST(test_null_tests)
{
	/* a queue: the rare unprocessed rows, oldest first */
	CHECK_KEYS("SELECT id FROM jobs WHERE processed_at IS NULL ORDER BY created_at LIMIT $1",
		   "jobs(created_at); jobs(created_at) WHERE processed_at IS NULL");
	CHECK_KEYS("SELECT id FROM jobs WHERE error IS NOT NULL AND kind = $1",
		   "jobs(kind); jobs(kind) WHERE error IS NOT NULL; jobs(kind) WHERE kind");
	CHECK_KEYS("SELECT id FROM jobs WHERE lower(a) IS NULL", "");
}
END_TEST

START_TEST(test_expression)
{
	CHECK_KEYS("SELECT id FROM users WHERE lower(email) = $1", "users(lower(email))");
	CHECK_KEYS("SELECT id FROM users u WHERE lower(u.email) = lower($1) AND u.org = $2",
		   "users(lower(email), org); users(lower(email)); users(org); "
		   "users(lower(email)) WHERE org");
	/* aggregates are not index expressions */
	CHECK_KEYS("SELECT 1 FROM t GROUP BY a HAVING count(a) = $1", "");
}
END_TEST

START_TEST(test_aliases_and_joins)
{
	struct candidates_stmt *st = parse(
		"SELECT o.id FROM public.orders o JOIN customers AS c ON c.id = o.customer_id "
		"WHERE c.email = $1 AND o.created_at > $2");
	ck_assert_int_eq(st->ntables, 2);
	ck_assert_str_eq(st->tables[0].schema, "public");
	ck_assert_str_eq(st->tables[0].name, "orders");
	ck_assert_str_eq(st->tables[0].alias, "o");
	ck_assert_ptr_null(st->tables[1].schema);
	char buf[2048];
	keys(st, buf, sizeof(buf));
	ck_assert_str_eq(buf, "orders(customer_id, created_at); orders(customer_id); "
			      "orders(created_at); customers(id, email); customers(id); "
			      "customers(email); customers(id) WHERE email");
	candidates_stmt_free(st);
	/* a table name without alias qualifies its columns */
	CHECK_KEYS("SELECT 1 FROM a, b WHERE a.x = b.y AND b.z = $1",
		   "a(x); b(y, z); b(y); b(z); b(y) WHERE z");
	/* a subquery in WHERE is its own scope; the IN column is probed */
	CHECK_KEYS("SELECT 1 FROM a WHERE a.k IN (SELECT k FROM b WHERE b.v = $1)",
		   "a(k); b(v); b(v) WHERE v");
}
END_TEST

static bool has_column(void *ctx, const struct candidates_table *t, const char *col)
{
	(void)ctx;
	return (!strcmp(t->name, "orders") && !strcmp(col, "status")) ||
	       (!strcmp(t->name, "customers") && !strcmp(col, "Email"));
}

START_TEST(test_ambiguous_columns)
{
	struct candidates_stmt *st =
		parse("SELECT 1 FROM orders JOIN customers ON customers.id = orders.cid "
		      "WHERE status = $1 AND \"Email\" = $2 AND nowhere = $3");
	int status = -2, email = -2, nowhere = -2;
	candidates_resolve_columns(st, has_column, NULL);
	for (size_t i = 0; i < st->nrefs; i++) {
		if (!strcmp(st->refs[i].expr, "status"))
			status = st->refs[i].table;
		if (!strcmp(st->refs[i].expr, "\"Email\""))
			email = st->refs[i].table;
		if (!strcmp(st->refs[i].expr, "nowhere"))
			nowhere = st->refs[i].table;
	}
	ck_assert_int_eq(status, 0);
	ck_assert_int_eq(email, 1);
	ck_assert_int_eq(nowhere, -1);
	candidates_stmt_free(st);
}
END_TEST

START_TEST(test_write_statements)
{
	struct candidates_stmt *st = parse("INSERT INTO app.log (a, b) VALUES ($1, $2)");
	ck_assert_int_eq(st->kind, CANDIDATES_INSERT);
	ck_assert_int_eq(st->target, 0);
	ck_assert_str_eq(st->tables[0].name, "log");
	ck_assert_int_eq(st->max_param, 2);
	candidates_stmt_free(st);
	st = parse("UPDATE jobs SET state = $1 WHERE id = $2");
	ck_assert_int_eq(st->kind, CANDIDATES_UPDATE);
	ck_assert_int_eq(st->target, 0);
	candidates_stmt_free(st);
	CHECK_KEYS("DELETE FROM jobs j USING runs r WHERE r.job = j.id AND r.at < $1",
		   "jobs(id); runs(job, at); runs(job); runs(at)");
	st = parse("VACUUM t");
	ck_assert_int_eq(st->kind, CANDIDATES_OTHER);
	candidates_stmt_free(st);
	char *err = NULL;
	ck_assert_ptr_null(candidates_parse("SELECT FROM WHERE", &err));
	ck_assert_ptr_nonnull(err);
	free(err);
	ck_assert_ptr_null(candidates_parse("SELECT 1; SELECT 2", &err));
	free(err);
}
END_TEST

START_TEST(test_sql_and_quoting)
{
	struct candidates_stmt *st =
		parse("SELECT 1 FROM t WHERE \"Order\" = $1 AND \"user\" > $2 AND x = $3");
	struct candidates_index *c;
	size_t n = candidates_build(st, &c);
	ck_assert_uint_ge(n, 1);
	char *sql = candidates_index_sql(&c[0], "public.t", NULL, true);
	ck_assert_str_eq(sql, "CREATE INDEX CONCURRENTLY ON public.t (\"Order\", x, \"user\")");
	free(sql);
	sql = candidates_index_sql(&c[0], "t", "status = 'new'", false);
	ck_assert_str_eq(sql, "CREATE INDEX ON t (\"Order\", x, \"user\") WHERE status = 'new'");
	free(sql);
	free(c);
	candidates_stmt_free(st);
	char *q = candidates_quote_ident("a\"b");
	ck_assert_str_eq(q, "\"a\"\"b\"");
	free(q);
}
END_TEST

START_TEST(test_bind)
{
	const char *sql = "SELECT * FROM t WHERE a = $1 AND b = $2 AND c = $3 ORDER BY d LIMIT $4";
	struct candidates_stmt *st = parse(sql);
	ck_assert_int_eq(st->max_param, 4);
	int nums[] = {2, 4};
	const char *lits[] = {"'x''y'", "100"};
	char *out = candidates_bind(st, sql, nums, lits, 2);
	ck_assert_str_eq(out, "SELECT * FROM t WHERE a = $1 AND b = 'x''y' AND c = $2 ORDER BY d "
			      "LIMIT 100");
	free(out);
	out = candidates_bind(st, sql, NULL, NULL, 0);
	ck_assert_str_eq(out, sql);
	free(out);
	candidates_stmt_free(st);
	/* the same parameter twice, and $10 after $1 */
	sql = "SELECT 1 FROM t WHERE a = $1 OR b = $1 OR c = $10";
	st = parse(sql);
	nums[0] = 1;
	out = candidates_bind(st, sql, nums, lits, 1);
	ck_assert_str_eq(out, "SELECT 1 FROM t WHERE a = 'x''y' OR b = 'x''y' OR c = $9");
	free(out);
	candidates_stmt_free(st);
}
END_TEST

START_TEST(test_many_shapes)
{
	/* whatever the shape, parsing and building neither crash nor leak */
	static const char *const sqls[] = {
		"WITH r AS (SELECT id FROM a WHERE x = $1) SELECT * FROM r JOIN b ON b.id = r.id",
		"SELECT * FROM a WHERE x = $1 UNION ALL SELECT * FROM b WHERE y > $2",
		"SELECT count(*) OVER (PARTITION BY a), b FROM t WHERE c = $1 ORDER BY 1 LIMIT 5",
		"SELECT * FROM (SELECT a, b FROM t WHERE c = $1) s WHERE s.a > $2",
		"SELECT * FROM generate_series($1::int, $2) g JOIN t ON t.id = g",
		"SELECT t.* FROM t, LATERAL (SELECT * FROM u WHERE u.t_id = t.id LIMIT 1) x",
		"UPDATE pgbench_accounts SET abalance = abalance + $1 WHERE aid = $2",
		"INSERT INTO t SELECT * FROM u WHERE v = $1 ON CONFLICT (id) DO NOTHING",
		"DELETE FROM t WHERE id IN (SELECT id FROM t WHERE ts < now() - $1::interval)",
		"SELECT * FROM s.t x WHERE x.a = $1 AND s.t.b = $2 AND x.c IS NULL",
		"SELECT * FROM t WHERE (a, b) = ($1, $2) AND c = ANY(ARRAY[$3, $4])",
		"SELECT * FROM t WHERE a = b AND c = c",
		"SELECT * FROM t ORDER BY a LIMIT ALL",
		"SELECT * FROM t ORDER BY a LIMIT NULL",
		"SELECT 1",
		"BEGIN",
		"COPY t FROM STDIN",
		"SELECT * FROM t WHERE f(a, b) = $1 AND g(t.c, $2) = $3",
		"SELECT * FROM t1 JOIN t2 USING (id) JOIN t3 ON t3.k = t2.k WHERE t1.x = $1",
	};
	for (size_t i = 0; i < sizeof(sqls) / sizeof(sqls[0]); i++) {
		struct candidates_stmt *st = parse(sqls[i]);
		candidates_resolve_columns(st, has_column, NULL);
		struct candidates_index *c;
		size_t n = candidates_build(st, &c);
		for (size_t k = 0; k < n; k++) {
			char *sql = candidates_index_sql(&c[k], "x", NULL, false);
			ck_assert_ptr_nonnull(strstr(sql, "CREATE INDEX ON x ("));
			free(sql);
		}
		free(c);
		char *b = candidates_bind(st, sqls[i], NULL, NULL, 0);
		/* the same text, but for = ANY(ARRAY[...]) planned as IN (...) */
		if (strstr(sqls[i], "ANY(ARRAY"))
			ck_assert_str_eq(b, "SELECT * FROM t WHERE (a, b) = ($1, $2) AND c IN ("
					    "        $3, $4) ");
		else
			ck_assert_str_eq(b, sqls[i]);
		free(b);
		candidates_stmt_free(st);
	}
	CHECK_KEYS("SELECT * FROM t1 JOIN t2 USING (id) JOIN t3 ON t3.k = t2.k WHERE t1.x = $1",
		   "t1(x); t1(x) WHERE x; t2(k); t3(k)");
}
END_TEST

START_TEST(test_array_and_cast)
{
	/* psycopg2 sends a Python list as ARRAY[...]: equality, like IN */
	CHECK_KEYS("SELECT id FROM parcels WHERE tracking_no = ANY(ARRAY[$1, $2, $3])",
		   "parcels(tracking_no)");
	/* planned as an IN list of the same length, whose parameters take the
	 * column's type (ARRAY[$1, $2] alone would be text[]) */
	const char *q = "SELECT id FROM p WHERE tracking_no = ANY (ARRAY[$1, $2]) AND k = $3";
	struct candidates_stmt *st = parse(q);
	int nums[1] = {3};
	const char *lits[1] = {"'x'"};
	char *b = candidates_bind(st, q, nums, lits, 1);
	ck_assert_str_eq(b, "SELECT id FROM p WHERE tracking_no IN (         $1, $2)  AND k = 'x'");
	free(b);
	candidates_stmt_free(st);
	q = "SELECT 1 FROM p WHERE a = any(array['a]', $1]) AND b = ANY($2)";
	st = parse(q);
	b = candidates_bind(st, q, NULL, NULL, 0);
	ck_assert_str_eq(b, "SELECT 1 FROM p WHERE a IN (        'a]', $1)  AND b = ANY($2)");
	free(b);
	candidates_stmt_free(st);
	/* a cast of a column is an index expression, parenthesized for CREATE INDEX */
	CHECK_KEYS("SELECT count(*) FROM visits WHERE visited_at::date = $1",
		   "visits((visited_at::date))");
	CHECK_KEYS("SELECT 1 FROM v WHERE CAST(\"At\" AS date) >= $1", "v((\"At\"::date))");
	/* casts with a type modifier or of an expression are not taken */
	CHECK_KEYS("SELECT 1 FROM v WHERE a::varchar(3) = $1", "");
	CHECK_KEYS("SELECT 1 FROM v WHERE (a + 1)::int = $1", "");
}
END_TEST

START_TEST(test_order_eq)
{
	struct candidates_stmt *st =
		parse("SELECT 1 FROM m WHERE tenant_id = $1 AND role = $2 AND external_ref = $3 "
		      "AND created_at >= $4");
	struct candidates_index *c;
	size_t n = candidates_build(st, &c);
	ck_assert_uint_ge(n, 1);
	ck_assert_int_eq(c[0].neq, 3);
	/* most selective first, the unknown (-1) last; the range key stays */
	double sel[3] = {0.05, -1, 0.0001};
	candidates_order_eq(&c[0], sel);
	char *k = candidates_key(&c[0]);
	ck_assert_str_eq(k, "external_ref, tenant_id, role, created_at");
	free(k);
	/* ties keep their order */
	double same[3] = {0.1, 0.1, 0.1};
	candidates_order_eq(&c[0], same);
	k = candidates_key(&c[0]);
	ck_assert_str_eq(k, "external_ref, tenant_id, role, created_at");
	free(k);
	free(c);
	candidates_stmt_free(st);
}
END_TEST

START_TEST(test_like_prefix)
{
	/* plain (C collation), then text_pattern_ops (any other) */
	CHECK_KEYS("SELECT id FROM products WHERE sku LIKE $1",
		   "products(sku); products(sku text_pattern_ops)");
	CHECK_KEYS("SELECT id FROM p WHERE shop_id = $1 AND name LIKE $2 LIMIT $3",
		   "p(shop_id, name); p(shop_id, name text_pattern_ops); p(shop_id); p(name); "
		   "p(name text_pattern_ops); p(name) WHERE shop_id");
	/* ILIKE and NOT LIKE: no btree serves them */
	CHECK_KEYS("SELECT id FROM products WHERE sku ILIKE $1", "");
	CHECK_KEYS("SELECT id FROM products WHERE sku NOT LIKE $1", "");
	struct candidates_stmt *st = parse("SELECT id FROM products WHERE sku LIKE $1");
	struct candidates_index *c;
	size_t n = candidates_build(st, &c);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(c[1].like_col, "sku");
	ck_assert_int_eq(c[1].like_param, 1);
	char *sql = candidates_index_sql(&c[1], "public.products", NULL, true);
	ck_assert_str_eq(sql,
			 "CREATE INDEX CONCURRENTLY ON public.products (sku text_pattern_ops)");
	free(sql);
	free(c);
	candidates_stmt_free(st);
	char *pat = candidates_like_prefix("SKU-0001234", NULL);
	ck_assert_str_eq(pat, "SKU-0001%");
	free(pat);
	/* the next histogram bound shares "contact 05": one more character */
	pat = candidates_like_prefix("contact 050123", "contact 051087");
	ck_assert_str_eq(pat, "contact 050%");
	free(pat);
	pat = candidates_like_prefix("abc", "abc");
	ck_assert_str_eq(pat, "abc%");
	free(pat);
	pat = candidates_like_prefix("a_b%c\\d", "b");
	ck_assert_str_eq(pat, "a\\_b\\%c%");
	free(pat);
	pat = candidates_like_prefix("x", NULL);
	ck_assert_str_eq(pat, "x%");
	free(pat);
	/* not inside a UTF-8 character: "ééé" is 6 bytes, 4 kept */
	pat = candidates_like_prefix("\xc3\xa9\xc3\xa9\xc3\xa9", NULL);
	ck_assert_str_eq(pat, "\xc3\xa9\xc3\xa9%");
	free(pat);
}
END_TEST

START_TEST(test_flags)
{
	/* Django's filter(processed=False) and filter(active=True) */
	CHECK_KEYS("SELECT \"t\".\"id\" FROM \"app_task\" \"t\" WHERE NOT \"t\".\"processed\" "
		   "ORDER BY \"t\".\"queued_at\" ASC LIMIT 21",
		   "app_task(queued_at); app_task(queued_at) WHERE processed IS FALSE");
	CHECK_KEYS("SELECT id FROM users WHERE active AND email = $1",
		   "users(email); users(email) WHERE active IS TRUE; users(email) WHERE email");
	/* a boolean literal kept in the text is the same flag */
	CHECK_KEYS("SELECT id FROM t WHERE processed = false ORDER BY ts LIMIT 5",
		   "t(ts); t(ts) WHERE processed IS FALSE");
	CHECK_KEYS("SELECT id FROM t WHERE a = $1 AND processed = true",
		   "t(a); t(a) WHERE a; t(a) WHERE processed IS TRUE");
	/* NOT of anything else, or of an expression: nothing */
	CHECK_KEYS("SELECT id FROM t WHERE NOT (a = $1 AND b = $2)", "");
	CHECK_KEYS("SELECT id FROM t WHERE NOT lower(a)", "");
}
END_TEST

START_TEST(test_or)
{
	struct candidates_stmt *st = parse("SELECT id FROM c WHERE c.tenant = $1 AND "
					   "(c.email = $2 OR (c.phone = $3 AND c.ts > $4))");
	struct candidates_index *c;
	size_t n = candidates_build(st, &c);
	/* the AND-ed condition as usual, then the arms */
	ck_assert_uint_eq(n, 4);
	char *k = candidates_key(&c[2]);
	ck_assert_str_eq(k, "email");
	ck_assert(c[2].or_group == 1 && c[2].or_first);
	free(k);
	k = candidates_key(&c[3]);
	ck_assert_str_eq(k, "phone, ts");
	ck_assert(c[3].or_group == 1 && !c[3].or_first);
	free(k);
	free(c);
	candidates_stmt_free(st);
	CHECK_KEYS("SELECT * FROM c WHERE tenant = $1", "c(tenant); c(tenant) WHERE tenant");
	/* an arm without a key, arms on two tables, the same column twice */
	CHECK_KEYS("SELECT * FROM t WHERE a = $1 OR b IS NULL", "");
	CHECK_KEYS("SELECT * FROM t JOIN u ON u.id = t.u WHERE t.a = $1 OR u.b = $2",
		   "t(u); u(id)");
	CHECK_KEYS("SELECT * FROM t WHERE a = $1 OR a = $2", "t(a)");
}
END_TEST

START_TEST(test_correlated)
{
	/* a subquery in the select list, and one compared in WHERE */
	CHECK_KEYS("SELECT a.id, (SELECT count(*) FROM comments c WHERE c.article_id = a.id) "
		   "FROM articles a WHERE a.id = $1",
		   "articles(id); articles(id) WHERE id; comments(article_id)");
	CHECK_KEYS("SELECT id FROM t WHERE (SELECT max(x.ts) FROM x WHERE x.t_id = t.id) > $1",
		   "t(id); x(t_id)");
}
END_TEST

START_TEST(test_expression_constants)
{
	/* pg_stat_statements' texts: the application's constants are $n */
	CHECK_KEYS("SELECT id FROM docs WHERE data->>$1 = $2", "docs((data ->> $1))");
	CHECK_KEYS("SELECT count(*) FROM ev WHERE date_trunc($1, created_at) = $2",
		   "ev(date_trunc($1, created_at))");
	CHECK_KEYS("SELECT 1 FROM d WHERE (data -> $1) ->> $2 = $3 AND k = $4",
		   "d(((data -> $1) ->> $2), k); d(((data -> $1) ->> $2)); d(k); "
		   "d(((data -> $1) ->> $2)) WHERE k");
	CHECK_KEYS("SELECT 1 FROM t WHERE date_trunc($1::text, ts) > $2",
		   "t(date_trunc($1::text, ts))");
	/* literals, as a text not from pg_stat_statements has them */
	CHECK_KEYS("SELECT 1 FROM t WHERE substr(code, 1, 3) = $1 AND data->>'it''s' = $2",
		   "t(substr(code, 1, 3), (data ->> 'it''s')); t(substr(code, 1, 3)); "
		   "t((data ->> 'it''s'))");
	/* no column: a value, not an index key */
	CHECK_KEYS("UPDATE s SET x = 1 WHERE token = md5($1)", "s(token)");
	CHECK_KEYS("SELECT 1 FROM t WHERE a = date_trunc($1, $2::timestamp)", "t(a)");

	ck_assert_int_eq(candidates_expr_param("(data ->> $12)"), 12);
	ck_assert_int_eq(candidates_expr_param("date_trunc('$1', \"$2\")"), 0);
	ck_assert_int_eq(candidates_expr_param("lower(email)"), 0);

	struct candidates_stmt *st =
		parse("SELECT 1 FROM t WHERE data->>$1 = $2 AND date_trunc($3, ts) > $4 "
		      "ORDER BY data->>$1 LIMIT $5");
	char *lit = candidates_literal("ki'nd$3", "text");
	ck_assert_str_eq(lit, "'ki''nd$3'");
	candidates_set_param(st, 1, lit);
	free(lit);
	candidates_set_param(st, 3, "'day'");
	char buf[2048];
	keys(st, buf, sizeof(buf));
	ck_assert_str_eq(buf, "t((data ->> 'ki''nd$3'), date_trunc('day', ts)); "
			      "t((data ->> 'ki''nd$3')); t(date_trunc('day', ts))");
	candidates_stmt_free(st);

	const char *const cases[][3] = {
		{"kind", "text", "'kind'"},
		{"kind", NULL, "'kind'"},
		{"3", "integer", "3"},
		{"-2.5e3", "numeric", "(-2.5e3)"},
		{"1.2.3", "numeric", "'1.2.3'::numeric"},
		{"a\\b", "text", "E'a\\\\b'"},
		{"2026-01-01", "timestamp without time zone",
		 "'2026-01-01'::timestamp without time zone"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *l = candidates_literal(cases[i][0], cases[i][1]);
		ck_assert_str_eq(l, cases[i][2]);
		free(l);
	}
}
END_TEST

static Suite *candidates_suite(void)
{
	Suite *s = suite_create("candidates");
	TCase *tc = tcase_create("build");

	tcase_add_test(tc, test_equality);
	tcase_add_test(tc, test_equality_before_range);
	tcase_add_test(tc, test_order_by_limit);
	tcase_add_test(tc, test_null_tests);
	tcase_add_test(tc, test_expression);
	tcase_add_test(tc, test_expression_constants);
	tcase_add_test(tc, test_aliases_and_joins);
	tcase_add_test(tc, test_ambiguous_columns);
	tcase_add_test(tc, test_write_statements);
	tcase_add_test(tc, test_sql_and_quoting);
	tcase_add_test(tc, test_bind);
	tcase_add_test(tc, test_many_shapes);
	tcase_add_test(tc, test_array_and_cast);
	tcase_add_test(tc, test_order_eq);
	tcase_add_test(tc, test_like_prefix);
	tcase_add_test(tc, test_flags);
	tcase_add_test(tc, test_or);
	tcase_add_test(tc, test_correlated);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(candidates_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
