/* suggest --verify: real index builds measured inside a rolled-back
 * transaction. */
#include "advisor/verify.h"
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "advisor/candidates.h"
#include "advisor/samples.h"
#include "advisor/util.h"

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

double verify_execution_ms(const char *plan, const char *name, bool *uses)
{
	if (uses)
		*uses = false;
	json_object *root = plan ? json_tokener_parse(plan) : NULL;
	json_object *top = root && json_object_is_type(root, json_type_array) &&
					   json_object_array_length(root) > 0
				   ? json_object_array_get_idx(root, 0)
				   : NULL;
	json_object *t = NULL;
	double ms = -1;
	if (top && json_object_object_get_ex(top, "Execution Time", &t) &&
	    (json_object_is_type(t, json_type_double) || json_object_is_type(t, json_type_int)))
		ms = json_object_get_double(t);
	json_object_put(root);
	if (uses && name && ms >= 0) {
		char *needle = xprintf("\"Index Name\": \"%s\"", name);
		*uses = strstr(plan, needle) != NULL;
		free(needle);
	}
	return ms;
}

static bool run(PGconn *conn, const char *sql)
{
	PGresult *r = PQexec(conn, sql);
	bool ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
	PQclear(r);
	return ok;
}

static bool set_timeout(PGconn *conn, int ms)
{
	char sql[64];
	snprintf(sql, sizeof(sql), "SET LOCAL statement_timeout = %d", ms);
	return run(conn, sql);
}

/* What a failed statement means for the verification. */
enum outcome { OK, TIMED_OUT, LOCKED, FAILED };

static enum outcome classify(PGresult *r)
{
	ExecStatusType st = PQresultStatus(r);
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return OK;
	const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
	if (state && !strcmp(state, "55P03"))
		return LOCKED;
	if (state && !strcmp(state, "57014"))
		return TIMED_OUT;
	return FAILED;
}

static char *error_text(PGresult *r, PGconn *conn)
{
	const char *m = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	char *s = xprintf("%s", m ? m : PQerrorMessage(conn));
	size_t n = strlen(s);
	while (n && (s[n - 1] == '\n' || s[n - 1] == ' '))
		s[--n] = '\0';
	return s;
}

/* measure runs TEXT under EXPLAIN ANALYZE twice inside a savepoint that
 * is rolled back each time (a DELETE deletes the same rows both times),
 * and returns the faster execution time (the first run warms the cache);
 * *MSG is set (caller frees) when it fails. */
static enum outcome measure(PGconn *conn, const char *text, double *ms, bool *uses, char **msg)
{
	char *sql = xprintf("EXPLAIN (ANALYZE, BUFFERS off, TIMING on, FORMAT JSON) %s", text);
	enum outcome out = OK;
	*ms = -1;
	*uses = false;
	for (int i = 0; i < 2 && out == OK; i++) {
		if (!run(conn, "SAVEPOINT lg_verify")) {
			out = FAILED;
			*msg = error_text(NULL, conn);
			break;
		}
		PGresult *r = PQexec(conn, sql);
		out = classify(r);
		if (out == OK && PQntuples(r) >= 1) {
			bool u = false;
			double t = verify_execution_ms(PQgetvalue(r, 0, 0), VERIFY_INDEX_NAME, &u);
			if (t < 0) {
				out = FAILED;
				*msg = xprintf("no execution time in the EXPLAIN output");
			} else if (*ms < 0 || t < *ms) {
				*ms = t;
			}
			*uses = *uses || u;
		} else if (out == OK) {
			out = FAILED;
			*msg = xprintf("EXPLAIN returned nothing");
		} else {
			*msg = error_text(r, conn);
		}
		PQclear(r);
		if (!run(conn, "ROLLBACK TO SAVEPOINT lg_verify") && out == OK) {
			out = FAILED;
			*msg = error_text(NULL, conn);
		}
	}
	free(sql);
	return out;
}

/* one statement with savepoint protection; the result or NULL */
static PGresult *try_query(PGconn *conn, const char *sql, int n, const char *const *params)
{
	if (!run(conn, "SAVEPOINT lg_verify_draw"))
		return NULL;
	PGresult *r = PQexecParams(conn, sql, n, NULL, params, NULL, NULL, 0);
	bool ok = PQresultStatus(r) == PGRES_TUPLES_OK;
	run(conn, ok ? "RELEASE SAVEPOINT lg_verify_draw" : "ROLLBACK TO SAVEPOINT lg_verify_draw");
	if (ok)
		return r;
	PQclear(r);
	return NULL;
}

static char *table_name(const struct candidates_table *t)
{
	char *name = candidates_quote_ident(t->name);
	if (!t->schema)
		return name;
	char *schema = candidates_quote_ident(t->schema);
	char *q = xprintf("%s.%s", schema, name);
	free(schema);
	free(name);
	return q;
}

static bool has_column(void *ctx, const struct candidates_table *t, const char *col)
{
	char *name = table_name(t);
	const char *p[2] = {name, col};
	PGresult *r = try_query(ctx,
				"SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass($1)"
				" AND attname = $2 AND attnum > 0 AND NOT attisdropped",
				2, p);
	bool yes = r && PQntuples(r) == 1;
	PQclear(r);
	free(name);
	return yes;
}

/* draw fills *OUT with values for every parameter of ST taken from the
 * first row found of each table whose column the parameter is compared
 * with (`col = $n`; a row matching S's predicate on S's table), LIMIT $n
 * as ADVISOR_LIMIT_GUESS. False, with *WHY (caller frees), when some
 * parameter is used otherwise (a range, an expression) or no row fits. */
static bool draw(PGconn *conn, const struct advisor_suggestion *s, struct candidates_stmt *st,
		 struct samples_one *out, char **why)
{
	candidates_resolve_columns(st, has_column, conn);
	out->n = st->max_param;
	out->values = calloc((size_t)st->max_param + 1, sizeof(char *));
	int *ref_of = calloc((size_t)st->max_param + 1, sizeof(int));
	if (!out->values || !ref_of)
		abort();
	bool ok = true;
	for (int n = 1; n <= st->max_param && ok; n++) {
		ref_of[n] = -1;
		if (n == st->limit_param)
			continue;
		for (size_t k = 0; k < st->nrefs && ref_of[n] < 0; k++) {
			const struct candidates_ref *r = &st->refs[k];
			if (r->param == n && r->use == CANDIDATES_EQ && !r->is_expr && !r->join &&
			    r->table >= 0)
				ref_of[n] = (int)k;
		}
		if (ref_of[n] < 0) {
			*why = xprintf("$%d is not compared with a column", n);
			ok = false;
		}
	}
	for (int n = 1; n <= st->max_param && ok; n++) {
		if (n == st->limit_param) {
			out->values[n - 1] = xprintf("%s", ADVISOR_LIMIT_GUESS);
			continue;
		}
		if (out->values[n - 1])
			continue;
		/* one row of this parameter's table gives all of its parameters */
		int t = st->refs[ref_of[n]].table;
		char *tname = table_name(&st->tables[t]);
		const char *cp[2] = {tname, s->table};
		PGresult *same = try_query(conn, "SELECT to_regclass($1) = to_regclass($2)", 2, cp);
		bool on_index_table =
			same && PQntuples(same) == 1 && PQgetvalue(same, 0, 0)[0] == 't';
		PQclear(same);
		char *cols = xprintf("%s", ""), *conds = xprintf("%s", "true");
		int params[64], np = 0;
		for (int m = n; m <= st->max_param && np < 64; m++) {
			if (m == st->limit_param || st->refs[ref_of[m]].table != t)
				continue;
			const char *col = st->refs[ref_of[m]].expr;
			char *c2 = xprintf("%s%s%s::text", cols, np ? ", " : "", col);
			char *d2 = xprintf("%s AND %s IS NOT NULL", conds, col);
			free(cols);
			free(conds);
			cols = c2;
			conds = d2;
			params[np++] = m;
		}
		char *sql = xprintf("SELECT %s FROM %s WHERE %s%s%s%s LIMIT 1", cols, tname, conds,
				    on_index_table && s->where ? " AND (" : "",
				    on_index_table && s->where ? s->where : "",
				    on_index_table && s->where ? ")" : "");
		PGresult *r = try_query(conn, sql, 0, NULL);
		if (r && PQntuples(r) == 1) {
			for (int i = 0; i < np; i++)
				out->values[params[i] - 1] = xprintf("%s", PQgetvalue(r, 0, i));
		} else {
			*why = xprintf("no row of %s to draw $%d from", tname, n);
			ok = false;
		}
		PQclear(r);
		free(sql);
		free(cols);
		free(conds);
		free(tname);
	}
	free(ref_of);
	if (!ok)
		samples_one_free(out);
	return ok;
}

/* the texts a statement is measured with: each sample substituted, else
 * values drawn from the tables (*DRAWN), or the text itself when it has no
 * parameters; NULL with *NOTE when none */
static char **texts_of(PGconn *conn, const struct advisor_suggestion *sg,
		       const struct advisor_helped *h, size_t *n, bool *writes, bool *drawn,
		       char **note)
{
	*drawn = false;
	*n = 0;
	*writes = false;
	char *perr = NULL;
	struct candidates_stmt *st = candidates_parse(h->query, &perr);
	if (!st) {
		*note = xprintf("cannot parse it: %s", perr ? perr : "?");
		free(perr);
		return NULL;
	}
	*writes = st->kind == CANDIDATES_UPDATE || st->kind == CANDIDATES_DELETE ||
		  st->kind == CANDIDATES_INSERT;
	char **texts = calloc(SAMPLES_MAX + 1, sizeof(char *));
	if (!texts)
		abort();
	if (st->max_param == 0) {
		texts[(*n)++] = xprintf("%s", h->query);
	} else {
		for (size_t i = 0; i < h->samples.n && *n < SAMPLES_MAX; i++) {
			char *t = samples_bind(conn, st, h->query, &h->samples.s[i]);
			if (t)
				texts[(*n)++] = t;
		}
		struct samples_one one = {NULL, 0};
		char *why = NULL;
		if (!*n && draw(conn, sg, st, &one, &why)) {
			char *t = samples_bind(conn, st, h->query, &one);
			if (t) {
				texts[(*n)++] = t;
				*drawn = true;
			}
			samples_one_free(&one);
		}
		if (!*n)
			*note = xprintf("no sampled parameters: not measured%s%s%s",
					why ? " (" : "", why ? why : "", why ? ")" : "");
		free(why);
	}
	candidates_stmt_free(st);
	if (!*n) {
		free(texts);
		return NULL;
	}
	return texts;
}

/* the statement of S's build with the index named VERIFY_INDEX_NAME */
static char *named_build(const struct advisor_suggestion *s)
{
	const char *sql = s->build_sql;
	const char *prefix = "CREATE INDEX ";
	if (!sql || strncmp(sql, prefix, strlen(prefix)))
		return NULL;
	return xprintf("CREATE INDEX %s %s", VERIFY_INDEX_NAME, sql + strlen(prefix));
}

static void fail_with(struct verify_result *out, const struct advisor_suggestion *s, enum outcome o,
		      const char *what, PGresult *r, PGconn *conn, const struct verify_options *opt)
{
	if (out->error)
		return;
	char *m = error_text(r, conn);
	if (o == LOCKED) {
		out->lock_timeout = true;
		out->error = xprintf("%s: could not lock table %s within lock_timeout (%d ms): "
				     "another session holds a conflicting lock; nothing was "
				     "changed (%s)",
				     what, s->table, opt->lock_timeout_ms, m);
	} else if (o == TIMED_OUT) {
		out->error = xprintf("%s on %s: canceled by statement_timeout (%d ms); nothing "
				     "was changed",
				     what, s->table, opt->build_timeout_ms);
	} else {
		out->error = xprintf("%s on %s failed: %s", what, s->table, m);
	}
	free(m);
}

int verify_suggestion(PGconn *conn, const struct advisor_suggestion *s,
		      const struct verify_options *o, struct verify_result *out)
{
	memset(out, 0, sizeof(*out));
	out->nstmts = s->nhelped;
	out->stmts = calloc(s->nhelped + 1, sizeof(*out->stmts));
	char ***texts = calloc(s->nhelped + 1, sizeof(char **));
	size_t *ntexts = calloc(s->nhelped + 1, sizeof(size_t));
	double *before = calloc(s->nhelped + 1, sizeof(double));
	if (!out->stmts || !texts || !ntexts || !before)
		abort();
	char *build = named_build(s);
	char sql[160];
	snprintf(sql, sizeof(sql),
		 "BEGIN; SET LOCAL statement_timeout = %d; SET LOCAL lock_timeout = %d",
		 o->timeout_ms, o->lock_timeout_ms);
	if (!build) {
		out->error = xprintf("no CREATE INDEX statement for %s", s->table);
		goto done;
	}
	if (!run(conn, sql)) {
		out->error = xprintf("cannot start a transaction: %s", PQerrorMessage(conn));
		goto done;
	}
	for (size_t i = 0; i < s->nhelped && !out->error; i++) {
		struct verify_stmt *v = &out->stmts[i];
		texts[i] = texts_of(conn, s, &s->helped[i], &ntexts[i], &v->writes, &v->drawn,
				    &v->note);
		double sum = 0;
		for (size_t k = 0; k < ntexts[i] && !v->note; k++) {
			double ms;
			bool uses;
			char *msg = NULL;
			enum outcome oc = measure(conn, texts[i][k], &ms, &uses, &msg);
			if (oc == LOCKED) {
				out->lock_timeout = true;
				out->error = xprintf(
					"measuring before the build: could not lock table %s "
					"within lock_timeout (%d ms): another session holds a "
					"conflicting lock; nothing was changed (%s)",
					s->table, o->lock_timeout_ms, msg);
			} else if (oc == TIMED_OUT) {
				v->note = xprintf("canceled by statement_timeout (%d ms) "
						  "before the build: not measured",
						  o->timeout_ms);
			} else if (oc == FAILED) {
				v->note = xprintf("EXPLAIN ANALYZE failed: %s", msg);
			}
			free(msg);
			sum += ms;
		}
		if (!v->note && ntexts[i]) {
			before[i] = sum / (double)ntexts[i];
			v->runs = s->helped[i].samples.n || v->drawn ? (int)ntexts[i] : 0;
		}
	}
	if (out->error)
		goto rollback;
	if (!set_timeout(conn, o->build_timeout_ms)) {
		out->error = xprintf("cannot set statement_timeout: %s", PQerrorMessage(conn));
		goto rollback;
	}
	double t0 = now_ms();
	PGresult *r = PQexec(conn, build);
	enum outcome oc = classify(r);
	out->build_ms = now_ms() - t0;
	if (oc != OK) {
		fail_with(out, s, oc, "building the index", r, conn, o);
		PQclear(r);
		goto rollback;
	}
	PQclear(r);
	const char *p[1] = {s->table};
	r = PQexecParams(conn,
			 "SELECT pg_relation_size(c.oid) FROM pg_class c WHERE c.relname = "
			 "'" VERIFY_INDEX_NAME
			 "' AND c.relnamespace = (SELECT relnamespace FROM pg_class"
			 " WHERE oid = $1::regclass)",
			 1, NULL, p, NULL, NULL, 0);
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
		out->index_bytes = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	if (!set_timeout(conn, o->timeout_ms)) {
		out->error = xprintf("cannot set statement_timeout: %s", PQerrorMessage(conn));
		goto rollback;
	}
	for (size_t i = 0; i < s->nhelped && !out->error; i++) {
		struct verify_stmt *v = &out->stmts[i];
		if (v->note || !ntexts[i])
			continue;
		double sum = 0;
		for (size_t k = 0; k < ntexts[i] && !v->note; k++) {
			double ms;
			bool uses;
			char *msg = NULL;
			enum outcome m = measure(conn, texts[i][k], &ms, &uses, &msg);
			if (m == LOCKED || m == FAILED)
				v->note = xprintf("EXPLAIN ANALYZE with the index failed: %s", msg);
			else if (m == TIMED_OUT)
				v->note = xprintf("canceled by statement_timeout (%d ms) with the "
						  "index: not measured",
						  o->timeout_ms);
			free(msg);
			sum += ms;
			v->uses_index = v->uses_index || uses;
		}
		if (!v->note) {
			v->measured = true;
			v->before_ms = before[i];
			v->after_ms = sum / (double)ntexts[i];
		}
	}
rollback:
	if (PQtransactionStatus(conn) != PQTRANS_IDLE && !run(conn, "ROLLBACK") && !out->error)
		out->error = xprintf("ROLLBACK failed: %s", PQerrorMessage(conn));
done:
	for (size_t i = 0; out->error && i < s->nhelped; i++)
		if (!out->stmts[i].note) {
			out->stmts[i].measured = false;
			out->stmts[i].note =
				xprintf("not measured: the index could not be verified");
		}
	for (size_t i = 0; i < s->nhelped; i++) {
		for (size_t k = 0; k < ntexts[i]; k++)
			free(texts[i][k]);
		free(texts[i]);
	}
	free(texts);
	free(ntexts);
	free(before);
	free(build);
	return out->error ? -1 : 0;
}

void verify_result_free(struct verify_result *r)
{
	for (size_t i = 0; i < r->nstmts; i++)
		free(r->stmts[i].note);
	free(r->stmts);
	free(r->error);
	memset(r, 0, sizeof(*r));
}
