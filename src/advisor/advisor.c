/* The index advisor: workload from the store, candidates filtered with the
 * live catalog and pg_stats, verified with hypopg, merged and ranked. */
#include "advisor/advisor.h"
#include <json-c/json.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "advisor/advisor_internal.h"
#include "advisor/candidates.h"
#include "advisor/samples.h"
#include "ownstmt.h"
#include "advisor/util.h"

/* What the catalog says about one table, looked up once. */
struct tinfo {
	char *written; /* schema.name as the statement wrote it */
	bool missing; /* not an ordinary table we can index */
	unsigned oid;
	char *nspname, *relname, *qualified;
	double pages, reltuples;
	char **columns;
	size_t ncolumns;
	struct tinfo_index *indexes;
	size_t nindexes;
	long long write_calls;
};

struct wstmt {
	int64_t queryid;
	char *query;
	long long calls;
	double total_ms;
	long long rows;
	struct candidates_stmt *st;
	int *tmap; /* statement table index -> tinfo index, -1 */
	double cost_before; /* stmt_cost without index; <0: not plannable */
	struct samples_set samples; /* sampled parameters: planned with these */
};

/* A verified candidate: one statement, one index. */
struct verified {
	size_t stmt;
	int tinfo;
	struct candidates_index cand;
	char *key, *where;
	double before, after, size;
	bool sampled; /* planned with the statement's sampled parameters */
	bool used; /* taken into a suggestion */
};

struct advisor {
	PGconn *conn;
	const struct advisor_options *opt;
	struct tinfo *tables;
	size_t ntables;
	struct wstmt *stmts;
	size_t nstmts;
	struct verified *ver;
	size_t nver;
	struct advisor_result *out;
	char *err;
	int depth; /* nesting of tx_begin */
};

/* exec runs SQL with text PARAMS; returns the result on success (the
 * caller PQclear()s it) or NULL. Inside a transaction a savepoint keeps a
 * failed statement (a statement that cannot be prepared, an index hypopg
 * refuses) from aborting the rest. */
static PGresult *exec(struct advisor *a, const char *sql, int n, const char *const *params)
{
	bool sp = a->depth > 0;
	if (sp)
		PQclear(PQexec(a->conn, "SAVEPOINT lg_advisor"));
	PGresult *r = PQexecParams(a->conn, sql, n, NULL, params, NULL, NULL, 0);
	ExecStatusType s = PQresultStatus(r);
	bool ok = s == PGRES_TUPLES_OK || s == PGRES_COMMAND_OK;
	if (sp)
		PQclear(PQexec(a->conn, ok ? "RELEASE SAVEPOINT lg_advisor"
					   : "ROLLBACK TO SAVEPOINT lg_advisor"));
	if (ok)
		return r;
	PQclear(r);
	return NULL;
}

/* tx_begin opens a short transaction (nested calls join it) with the
 * advisor's settings local to it: nothing it sets outlives it, and it
 * works through a transaction-pooling pooler, where consecutive
 * transactions may reach different server connections. */
static bool tx_begin(struct advisor *a)
{
	if (a->depth++ > 0)
		return true;
	char *sql = xprintf("BEGIN; SET LOCAL statement_timeout = %d;"
			    " SET LOCAL lock_timeout = '1s';"
			    " SET LOCAL plan_cache_mode = force_generic_plan",
			    a->opt->timeout_ms);
	PGresult *r = PQexec(a->conn, sql);
	free(sql);
	bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	PQclear(r);
	if (!ok && PQtransactionStatus(a->conn) != PQTRANS_IDLE)
		PQclear(PQexec(a->conn, "ROLLBACK"));
	if (!ok)
		a->depth--;
	return ok;
}

/* tx_end ends the transaction of the outermost tx_begin: rolled back (the
 * advisor changes nothing) unless COMMIT. */
static bool tx_end(struct advisor *a, bool commit)
{
	if (a->depth <= 0) /* its tx_begin failed */
		return false;
	if (--a->depth > 0)
		return true;
	PGresult *r = PQexec(a->conn, commit ? "COMMIT" : "ROLLBACK");
	bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	PQclear(r);
	return ok;
}

static bool exec_ok(struct advisor *a, const char *sql)
{
	PGresult *r = exec(a, sql, 0, NULL);
	PQclear(r);
	return r != NULL;
}

static void fail(struct advisor *a, const char *what)
{
	if (!a->err)
		a->err = xprintf("%s: %s", what, PQerrorMessage(a->conn));
}

/* --- the catalog ------------------------------------------------------- */

static const char table_sql[] =
	"SELECT c.oid, n.nspname, c.relname, c.relkind,"
	" pg_relation_size(c.oid) / current_setting('block_size')::float8, c.reltuples,"
	" quote_ident(n.nspname) || '.' || quote_ident(c.relname)"
	" FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
	" WHERE c.oid = to_regclass(CASE WHEN $1 = '' THEN quote_ident($2)"
	" ELSE quote_ident($1) || '.' || quote_ident($2) END)";
static const char columns_sql[] = "SELECT attname FROM pg_attribute WHERE attrelid = $1"
				  " AND attnum > 0 AND NOT attisdropped";
static const char indexes_sql[] =
	"SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname), k,"
	" pg_get_indexdef(i.indexrelid, k, true), i.indpred IS NOT NULL"
	" FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
	" JOIN pg_namespace n ON n.oid = c.relnamespace"
	" JOIN pg_am am ON am.oid = c.relam,"
	" generate_series(1, i.indnkeyatts) AS k"
	" WHERE i.indrelid = $1 AND am.amname = 'btree' AND i.indisvalid"
	" ORDER BY i.indexrelid, k";

static int table_lookup(struct advisor *a, const struct candidates_table *t)
{
	char *written = xprintf("%s.%s", t->schema ? t->schema : "", t->name);
	for (size_t i = 0; i < a->ntables; i++)
		if (!strcmp(a->tables[i].written, written)) {
			free(written);
			return (int)i;
		}
	a->tables = xrealloc(a->tables, (a->ntables + 1) * sizeof(*a->tables));
	struct tinfo *ti = &a->tables[a->ntables];
	memset(ti, 0, sizeof(*ti));
	ti->written = written;
	ti->missing = true;
	const char *p[2] = {t->schema ? t->schema : "", t->name};
	if (!tx_begin(a))
		return (int)a->ntables++;
	PGresult *r = exec(a, table_sql, 2, p);
	if (r && PQntuples(r) == 1) {
		const char *kind = PQgetvalue(r, 0, 3);
		ti->oid = (unsigned)strtoul(PQgetvalue(r, 0, 0), NULL, 10);
		ti->nspname = xstrdup(PQgetvalue(r, 0, 1));
		ti->relname = xstrdup(PQgetvalue(r, 0, 2));
		ti->pages = strtod(PQgetvalue(r, 0, 4), NULL);
		ti->reltuples = strtod(PQgetvalue(r, 0, 5), NULL);
		ti->qualified = xstrdup(PQgetvalue(r, 0, 6));
		ti->missing = !(kind[0] == 'r' || kind[0] == 'm') ||
			      !strcmp(ti->nspname, "pg_catalog") ||
			      !strcmp(ti->nspname, "information_schema");
	}
	PQclear(r);
	if (!ti->missing) {
		char oid[16];
		snprintf(oid, sizeof(oid), "%u", ti->oid);
		const char *op[1] = {oid};
		r = exec(a, columns_sql, 1, op);
		for (int i = 0; r && i < PQntuples(r); i++) {
			ti->columns = xrealloc(ti->columns, (ti->ncolumns + 1) * sizeof(char *));
			ti->columns[ti->ncolumns++] = xstrdup(PQgetvalue(r, i, 0));
		}
		PQclear(r);
		r = exec(a, indexes_sql, 1, op);
		for (int i = 0; r && i < PQntuples(r); i++) {
			const char *name = PQgetvalue(r, i, 0);
			if (!ti->nindexes || strcmp(ti->indexes[ti->nindexes - 1].name, name)) {
				ti->indexes = xrealloc(ti->indexes,
						       (ti->nindexes + 1) * sizeof(*ti->indexes));
				struct tinfo_index *x = &ti->indexes[ti->nindexes++];
				memset(x, 0, sizeof(*x));
				x->name = xstrdup(name);
				x->partial = PQgetvalue(r, i, 3)[0] == 't';
			}
			struct tinfo_index *x = &ti->indexes[ti->nindexes - 1];
			if (x->nkeys < CANDIDATES_MAX_COLS * 2)
				x->keys[x->nkeys++] = xstrdup(PQgetvalue(r, i, 2));
		}
		PQclear(r);
	}
	tx_end(a, false);
	/* never analyzed (reltuples -1): without pg_stats every estimate is a
	 * default; ANALYZE reads a sample and blocks neither reads nor writes */
	if (!ti->missing && ti->reltuples < 0 && ti->pages >= ADVISOR_MIN_PAGES &&
	    a->opt->analyze && tx_begin(a)) {
		char *sql = xprintf("ANALYZE %s", ti->qualified);
		bool ok = exec_ok(a, sql);
		free(sql);
		/* a role that may not analyze it gets a warning, not an error */
		if (tx_end(a, ok) && ok && tx_begin(a)) {
			r = exec(a, table_sql, 2, p);
			if (r && PQntuples(r) == 1)
				ti->reltuples = strtod(PQgetvalue(r, 0, 5), NULL);
			PQclear(r);
			tx_end(a, false);
		}
		if (ti->reltuples >= 0) {
			struct advisor_result *o = a->out;
			o->analyzed_tables = xrealloc(o->analyzed_tables,
						      (o->nanalyzed_tables + 1) * sizeof(char *));
			o->analyzed_tables[o->nanalyzed_tables++] = xstrdup(ti->qualified);
		}
	}
	return (int)a->ntables++;
}

static bool has_column(void *ctx, const struct candidates_table *t, const char *col)
{
	struct advisor *a = ctx;
	int i = table_lookup(a, t);
	for (size_t k = 0; k < a->tables[i].ncolumns; k++)
		if (!strcmp(a->tables[i].columns[k], col))
			return true;
	return false;
}

void advisor_norm_key(const char *in, char *out, size_t size)
{
	size_t n = 0;
	for (const char *p = in; *p && n + 1 < size; p++) {
		if (*p == ':' && p[1] == ':') {
			p += 2;
			while (*p &&
			       (*p == ' ' || *p == '"' || (*p >= 'a' && *p <= 'z') ||
				(*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_'))
				p++;
			p--;
			continue;
		}
		if (*p == ' ' || *p == '"' || *p == '(' || *p == ')')
			continue;
		out[n++] = *p;
	}
	out[n] = '\0';
	char *d = strstr(out, "DESC");
	if (d && d[4] == '\0')
		*d = '\0';
}

/* same_key compares candidate key WANT with existing index key HAVE (as
 * pg_get_indexdef prints it): normalized alike, and both expressions or
 * both plain columns, since normalizing drops casts ("(ts::date)" is not
 * the column ts). */
static bool same_key(const char *want, const char *have)
{
	char w[256], h[256];
	bool wx = strchr(want, '(') || strstr(want, "::");
	bool hx = strchr(have, '(') || strstr(have, "::");
	if (wx != hx)
		return false;
	advisor_norm_key(want, w, sizeof(w));
	advisor_norm_key(have, h, sizeof(h));
	return !strcmp(w, h);
}

const char *advisor_served_by(const struct tinfo_index *indexes, size_t n,
			      const struct candidates_index *c)
{
	for (size_t i = 0; i < n; i++) {
		const struct tinfo_index *x = &indexes[i];
		if (x->partial || x->nkeys < c->ncols)
			continue;
		bool ok = true;
		for (int k = 0; k < c->ncols && ok; k++) {
			if (k < c->neq) {
				bool found = false;
				for (int j = 0; j < c->neq && !found; j++)
					found = same_key(c->cols[k], x->keys[j]);
				ok = found;
			} else {
				ok = same_key(c->cols[k], x->keys[k]);
			}
		}
		if (ok)
			return x->name;
	}
	return NULL;
}

/* --- pg_stats ------------------------------------------------------------ */

static const char stats_sql[] = "SELECT null_frac, n_distinct FROM pg_stats"
				" WHERE schemaname = $1 AND tablename = $2 AND attname = $3";
static const char mcv_sql[] =
	"SELECT u.v, u.f FROM pg_stats s,"
	" unnest(s.most_common_vals::text::text[], s.most_common_freqs) AS u(v, f)"
	" WHERE s.schemaname = $1 AND s.tablename = $2 AND s.attname = $3 ORDER BY u.f";

static char *unquote(const char *ident)
{
	char *name = xstrdup(ident);
	if (name[0] != '"')
		return name;
	char *o = name;
	for (const char *p = ident + 1; *p; p++) {
		if (*p == '"' && p[1] == '"')
			p++;
		else if (*p == '"')
			break;
		*o++ = *p;
	}
	*o = '\0';
	return name;
}

/* selectivity estimates the fraction of rows `col = value` matches from
 * pg_stats, or -1 when there are no statistics. */
static double selectivity(struct advisor *a, const struct tinfo *ti, const char *col)
{
	char *name = unquote(col);
	const char *p[3] = {ti->nspname, ti->relname, name};
	PGresult *r = tx_begin(a) ? exec(a, stats_sql, 3, p) : NULL;
	double sel = -1;
	if (r && PQntuples(r) == 1) {
		double nullf = strtod(PQgetvalue(r, 0, 0), NULL);
		double nd = strtod(PQgetvalue(r, 0, 1), NULL);
		if (nd < 0)
			nd = -nd * (ti->reltuples > 0 ? ti->reltuples : 1);
		if (nd >= 1)
			sel = (1 - nullf) / nd;
	}
	PQclear(r);
	tx_end(a, false);
	free(name);
	return sel;
}

/* null_frac returns pg_stats' null_frac of COL, or -1. */
static double null_frac(struct advisor *a, const struct tinfo *ti, const char *col)
{
	char *name = unquote(col);
	const char *p[3] = {ti->nspname, ti->relname, name};
	PGresult *r = tx_begin(a) ? exec(a, stats_sql, 3, p) : NULL;
	double nf = r && PQntuples(r) == 1 ? strtod(PQgetvalue(r, 0, 0), NULL) : -1;
	PQclear(r);
	tx_end(a, false);
	free(name);
	return nf;
}

/* bool_column tells whether COL of TI is a boolean column. */
static bool bool_column(struct advisor *a, const struct tinfo *ti, const char *col)
{
	char *name = unquote(col);
	char oid[16];
	snprintf(oid, sizeof(oid), "%u", ti->oid);
	const char *p[2] = {oid, name};
	PGresult *r = tx_begin(a) ? exec(a,
					 "SELECT 1 FROM pg_attribute WHERE attrelid = $1 AND"
					 " attname = $2 AND atttypid = 'boolean'::regtype",
					 2, p)
				  : NULL;
	bool yes = r && PQntuples(r) == 1;
	PQclear(r);
	tx_end(a, false);
	free(name);
	return yes;
}

/* flag_share returns the fraction of the rows of boolean column COL of TI
 * that are true (ISTRUE) or false, from pg_stats, or -1 (no statistics,
 * not a boolean column). */
static double flag_share(struct advisor *a, const struct tinfo *ti, const char *col, bool istrue)
{
	if (!bool_column(a, ti, col))
		return -1;
	char *name = unquote(col);
	const char *p[3] = {ti->nspname, ti->relname, name};
	PGresult *r = tx_begin(a) ? exec(a, mcv_sql, 3, p) : NULL;
	double share = r && PQntuples(r) ? 0 : -1; /* not a common value: rare */
	for (int i = 0; r && i < PQntuples(r); i++)
		if (PQgetvalue(r, i, 0)[0] == (istrue ? 't' : 'f'))
			share = strtod(PQgetvalue(r, i, 1), NULL);
	PQclear(r);
	tx_end(a, false);
	free(name);
	return share;
}

/* like_pattern returns, as a quoted SQL literal the caller frees, a
 * prefix pattern (candidates_like_prefix) of the middle value of COL's
 * histogram (or most common values) in pg_stats and the neighbour that
 * shares the longer start with it, or NULL. */
static char *like_pattern(struct advisor *a, const struct tinfo *ti, const char *col)
{
	char *name = unquote(col);
	const char *p[3] = {ti->nspname, ti->relname, name};
	PGresult *r = tx_begin(a) ? exec(a,
					 "SELECT u.v FROM pg_stats s, unnest(coalesce("
					 "s.histogram_bounds, s.most_common_vals)::text::text[])"
					 " AS u(v) WHERE s.schemaname = $1 AND s.tablename = $2"
					 " AND s.attname = $3",
					 3, p)
				  : NULL;
	char *lit = NULL;
	if (r && PQntuples(r) > 0) {
		/* the neighbour sharing the longer start: a carry between the
		 * middle bound and one neighbour ("...49876", "...50912") would
		 * make the pattern match ten buckets */
		int mid = PQntuples(r) / 2;
		const char *v = PQgetvalue(r, mid, 0), *near = NULL;
		size_t best = 0;
		for (int k = mid - 1; k <= mid + 1; k += 2) {
			if (k < 0 || k >= PQntuples(r))
				continue;
			const char *u = PQgetvalue(r, k, 0);
			size_t common = 0;
			while (v[common] && v[common] == u[common])
				common++;
			if (!near || common > best) {
				near = u;
				best = common;
			}
		}
		char *pat = candidates_like_prefix(v, near);
		char *q = PQescapeLiteral(a->conn, pat, strlen(pat));
		if (q)
			lit = xstrdup(q);
		PQfreemem(q);
		free(pat);
	}
	PQclear(r);
	tx_end(a, false);
	free(name);
	return lit;
}

/* rare_values returns the SQL literals (quoted) of the values of COL rarer
 * than ADVISOR_RARE_FREQ in a low-cardinality column whose common values
 * are not rare, rarest first, at most 5; their count in *N. */
static char **rare_values(struct advisor *a, const struct tinfo *ti, const char *col, int *n,
			  double *rarest_freq)
{
	*n = 0;
	char *name = unquote(col);
	const char *p[3] = {ti->nspname, ti->relname, name};
	PGresult *r = tx_begin(a) ? exec(a, mcv_sql, 3, p) : NULL;
	char **vals = NULL;
	double total = 0, maxf = 0;
	for (int i = 0; r && i < PQntuples(r); i++) {
		double f = strtod(PQgetvalue(r, i, 1), NULL);
		total += f;
		if (f > maxf)
			maxf = f;
	}
	/* the MCVs cover the column (low cardinality) and some value is common */
	if (r && total >= 0.95 && maxf >= 0.25) {
		for (int i = 0; i < PQntuples(r) && *n < 5; i++) {
			double f = strtod(PQgetvalue(r, i, 1), NULL);
			if (f >= ADVISOR_RARE_FREQ)
				break;
			const char *v = PQgetvalue(r, i, 0);
			char *lit = PQescapeLiteral(a->conn, v, strlen(v));
			if (!lit)
				break;
			vals = xrealloc(vals, (*n + 1) * sizeof(char *));
			vals[(*n)++] = xstrdup(lit);
			PQfreemem(lit);
			if (*n == 1)
				*rarest_freq = f;
		}
	}
	PQclear(r);
	tx_end(a, false);
	free(name);
	return vals;
}

/* --- plans ------------------------------------------------------------- */

/* prepare prepares TEXT as lg_advisor inside the current transaction. A
 * parameter whose type the text does not determine (`SELECT $1 FROM t
 * WHERE ...`, from a normalized `SELECT 1`) is declared text and the
 * PREPARE retried; the others stay unknown, that is inferred. */
static bool prepare(struct advisor *a, const char *text, int nparams)
{
	bool *as_text = calloc((size_t)nparams + 1, sizeof(bool));
	if (!as_text)
		abort();
	bool ok = false;
	for (int attempt = 0; attempt <= nparams && attempt < 32; attempt++) {
		size_t cap = strlen(text) + 64 + (size_t)nparams * 10;
		char *sql = xrealloc(NULL, cap);
		strcpy(sql, "PREPARE lg_advisor");
		for (int i = 1; i <= nparams && attempt > 0; i++) {
			strcat(sql, i == 1 ? "(" : ", ");
			strcat(sql, as_text[i] ? "text" : "unknown");
		}
		if (nparams && attempt > 0)
			strcat(sql, ")");
		strcat(sql, " AS ");
		strcat(sql, text);
		PQclear(PQexec(a->conn, "SAVEPOINT lg_advisor"));
		PGresult *r = PQexec(a->conn, sql);
		free(sql);
		ok = PQresultStatus(r) == PGRES_COMMAND_OK;
		PQclear(PQexec(a->conn, ok ? "RELEASE SAVEPOINT lg_advisor"
					   : "ROLLBACK TO SAVEPOINT lg_advisor"));
		const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
		const char *msg = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
		const char *dollar = msg ? strchr(msg, '$') : NULL;
		int n = dollar ? atoi(dollar + 1) : 0;
		bool retry = !ok && state && !strcmp(state, "42P18") && n >= 1 && n <= nparams &&
			     !as_text[n];
		PQclear(r);
		if (!retry)
			break;
		as_text[n] = true;
	}
	free(as_text);
	return ok;
}

/* plan_cost plans TEXT (with NPARAMS parameters) as a generic plan and
 * returns its total cost, or -1; *USES tells whether index INDEX_NAME (may
 * be NULL) appears in the plan. */
static double plan_cost(struct advisor *a, const char *text, int nparams, const char *index_name,
			bool *uses)
{
	if (uses)
		*uses = false;
	if (!tx_begin(a))
		return -1;
	if (!prepare(a, text, nparams)) {
		tx_end(a, false);
		return -1;
	}
	size_t cap = 64 + (size_t)nparams * 6;
	char *ex = xrealloc(NULL, cap);
	strcpy(ex, "EXPLAIN (FORMAT JSON) EXECUTE lg_advisor");
	for (int i = 0; i < nparams; i++)
		strcat(ex, i ? ", NULL" : "(NULL");
	if (nparams)
		strcat(ex, ")");
	PGresult *r = exec(a, ex, 0, NULL);
	free(ex);
	double cost = -1;
	if (r && PQntuples(r) >= 1) {
		const char *plan = PQgetvalue(r, 0, 0);
		json_object *root = json_tokener_parse(plan);
		json_object *top = root && json_object_is_type(root, json_type_array)
					   ? json_object_array_get_idx(root, 0)
					   : NULL;
		json_object *p = NULL, *c = NULL;
		if (top && json_object_object_get_ex(top, "Plan", &p) &&
		    json_object_object_get_ex(p, "Total Cost", &c))
			cost = json_object_get_double(c);
		json_object_put(root);
		if (uses && index_name) {
			char *needle = xprintf("\"Index Name\": \"%s\"", index_name);
			*uses = strstr(plan, needle) != NULL;
			free(needle);
		}
	}
	PQclear(r);
	exec_ok(a, "DEALLOCATE lg_advisor");
	tx_end(a, false);
	return cost;
}

static char *bound_text(const struct wstmt *w, int param, const char *literal, int *nparams);

/* stmt_cost plans statement W: with each of its sampled parameter sets
 * substituted (a custom plan) and returns their mean cost, so that one
 * rare value does not decide; without samples as a generic plan. -1 if it
 * cannot be planned; *USES: some plan uses index INDEX_NAME. */
static double stmt_cost(struct advisor *a, const struct wstmt *w, const char *index_name,
			bool *uses)
{
	if (uses)
		*uses = false;
	if (!w->samples.n) {
		int np;
		char *text = bound_text(w, 0, NULL, &np);
		double cost = plan_cost(a, text, np, index_name, uses);
		free(text);
		return cost;
	}
	double sum = 0;
	for (size_t i = 0; i < w->samples.n; i++) {
		char *text = samples_bind(a->conn, w->st, w->query, &w->samples.s[i]);
		bool u = false;
		double cost = text ? plan_cost(a, text, 0, index_name, &u) : -1;
		free(text);
		if (cost < 0)
			return -1;
		sum += cost;
		if (uses && u)
			*uses = true;
	}
	return sum / (double)w->samples.n;
}

/* hypo_cost creates the hypothetical index INDEX_SQL, plans TEXT (NPARAMS
 * parameters; NULL: statement W as stmt_cost does) with it and drops it.
 * Returns the cost or -1; *USES and *SIZE as found. */
static double hypo_cost(struct advisor *a, const char *index_sql, const struct wstmt *w,
			const char *text, int nparams, bool *uses, double *size)
{
	const char *p[1] = {index_sql};
	*uses = false;
	if (!tx_begin(a))
		return -1;
	PGresult *r = exec(a, "SELECT indexrelid, indexname FROM hypopg_create_index($1)", 1, p);
	if (!r || PQntuples(r) != 1) {
		PQclear(r);
		tx_end(a, false);
		return -1;
	}
	char *oid = xstrdup(PQgetvalue(r, 0, 0));
	char *name = xstrdup(PQgetvalue(r, 0, 1));
	PQclear(r);
	double cost = text ? plan_cost(a, text, nparams, name, uses) : stmt_cost(a, w, name, uses);
	const char *op[1] = {oid};
	if (size) {
		r = exec(a, "SELECT hypopg_relation_size($1::oid)", 1, op);
		*size = r && PQntuples(r) == 1 ? strtod(PQgetvalue(r, 0, 0), NULL) : 0;
		PQclear(r);
	}
	PQclear(exec(a, "SELECT hypopg_drop_index($1::oid)", 1, op));
	tx_end(a, false);
	free(oid);
	free(name);
	return cost;
}

/* --- constants in expression keys ------------------------------------------ */

/* param_types returns the types (format_type's names) PostgreSQL infers
 * for W's parameters, *N of them, in memory the caller frees (each and
 * the array); NULL when the statement does not prepare. */
static char **param_types(struct advisor *a, const struct wstmt *w, int *n)
{
	*n = 0;
	if (!tx_begin(a))
		return NULL;
	char **types = NULL;
	if (prepare(a, w->query, w->st->max_param)) {
		PGresult *r = exec(a,
				   "SELECT format_type(u.t, NULL) FROM pg_prepared_statements,"
				   " unnest(parameter_types::oid[]) WITH ORDINALITY AS u(t, i)"
				   " WHERE name = 'lg_advisor' ORDER BY u.i",
				   0, NULL);
		if (r && PQntuples(r) > 0) {
			*n = PQntuples(r);
			types = xrealloc(NULL, (size_t)*n * sizeof(char *));
			for (int i = 0; i < *n; i++)
				types[i] = xstrdup(PQgetvalue(r, i, 0));
		}
		PQclear(r);
		exec_ok(a, "DEALLOCATE lg_advisor");
	}
	tx_end(a, false);
	return types;
}

/* expr_constants writes into W's expression keys (date_trunc($1, ts),
 * data ->> $1) the value every sample of W gives such a parameter: a
 * constant of the application's code, which pg_stat_statements hid. A
 * parameter the samples disagree on stays, and the key is turned down. */
static void expr_constants(struct advisor *a, struct wstmt *w)
{
	char **types = NULL;
	int ntypes = -1;
	for (size_t i = 0; i < w->st->nrefs && w->samples.n; i++) {
		int p;
		while (w->st->refs[i].is_expr && (p = candidates_expr_param(w->st->refs[i].expr))) {
			const char *v =
				p <= w->samples.s[0].n ? w->samples.s[0].values[p - 1] : NULL;
			for (size_t k = 1; k < w->samples.n && v; k++)
				if (p > w->samples.s[k].n || !w->samples.s[k].values[p - 1] ||
				    strcmp(w->samples.s[k].values[p - 1], v))
					v = NULL;
			if (!v)
				break;
			if (ntypes < 0)
				types = param_types(a, w, &ntypes);
			char *lit = candidates_literal(v, p <= ntypes ? types[p - 1] : NULL);
			candidates_set_param(w->st, p, lit);
			free(lit);
		}
	}
	for (int i = 0; i < ntypes; i++)
		free(types[i]);
	free(types);
}

/* expr_param_reason returns why candidate C of W cannot be an index when
 * one of its expression keys still has a parameter (memory the caller
 * frees), else NULL. */
static char *expr_param_reason(const struct wstmt *w, const struct candidates_index *c)
{
	for (int k = 0; k < c->ncols; k++) {
		int p = c->is_expr[k] ? candidates_expr_param(c->cols[k]) : 0;
		if (p)
			return xprintf(w->samples.n ? "expression has parameter $%d: its sampled "
						      "values differ, it is not a constant"
						    : "expression has parameter $%d: needs sampled "
						      "values (sample_query_params)",
				       p);
	}
	return NULL;
}

/* --- the workload -------------------------------------------------------- */

static const char workload_sql[] =
	"SELECT s.queryid, t.query, sum(s.calls), sum(s.total_exec_time), sum(s.rows)"
	" FROM statement_samples AS s"
	" JOIN sample_intervals AS i ON i.id = s.interval_id"
	" JOIN statements AS t"
	"  ON t.queryid = s.queryid AND t.userid = s.userid AND t.dbid = s.dbid"
	" WHERE i.end_us >= ?1 AND (s.dbid = ?3 OR i.dbname = ?2)"
	" GROUP BY s.queryid, t.query ORDER BY 4 DESC";

static void free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* load_workload reads the window's statements of the database the
 * connection is on: by its OID (whatever name the pooler's [databases]
 * gives it) or, for a copy of it elsewhere, by name. */
static int load_workload(struct advisor *a, sqlite3 *db)
{
	int64_t dbid = -1;
	if (tx_begin(a)) {
		PGresult *r =
			exec(a, "SELECT oid FROM pg_database WHERE datname = current_database()", 0,
			     NULL);
		if (r && PQntuples(r) == 1)
			dbid = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
		PQclear(r);
		tx_end(a, false);
	}
	char **names = NULL;
	size_t nnames = 0;
	if (samples_databases(db, PQdb(a->conn), dbid, a->opt->from_us, &names, &nnames, &a->err) <
	    0)
		return -1;
	sqlite3_stmt *q = NULL;
	if (sqlite3_prepare_v2(db, workload_sql, -1, &q, NULL) != SQLITE_OK) {
		a->err = xprintf("cannot read the store: %s", sqlite3_errmsg(db));
		free_names(names, nnames);
		return -1;
	}
	sqlite3_bind_int64(q, 1, a->opt->from_us);
	sqlite3_bind_text(q, 2, PQdb(a->conn), -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(q, 3, dbid);
	int rc;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		const char *text = (const char *)sqlite3_column_text(q, 1);
		if (!text || ownstmt_is_own(text))
			continue;
		char *perr = NULL;
		struct candidates_stmt *st = candidates_parse(text, &perr);
		free(perr);
		if (!st)
			continue;
		if (st->kind == CANDIDATES_OTHER) {
			candidates_stmt_free(st);
			continue;
		}
		a->stmts = xrealloc(a->stmts, (a->nstmts + 1) * sizeof(*a->stmts));
		struct wstmt *w = &a->stmts[a->nstmts++];
		memset(w, 0, sizeof(*w));
		w->queryid = sqlite3_column_int64(q, 0);
		w->query = xstrdup(text);
		w->calls = sqlite3_column_int64(q, 2);
		w->total_ms = sqlite3_column_double(q, 3);
		w->rows = sqlite3_column_int64(q, 4);
		w->st = st;
		w->cost_before = -1;
		char *serr = NULL;
		if (samples_load(db, names, nnames, a->opt->from_us, text, st->max_param,
				 &w->samples, &serr) < 0) {
			a->err = serr;
			sqlite3_finalize(q);
			free_names(names, nnames);
			return -1;
		}
	}
	free_names(names, nnames);
	if (rc != SQLITE_DONE) {
		a->err = xprintf("cannot read the store: %s", sqlite3_errmsg(db));
		sqlite3_finalize(q);
		return -1;
	}
	sqlite3_finalize(q);
	return 0;
}

static void reject(struct advisor *a, const struct tinfo *ti, const char *key, const char *where,
		   int64_t queryid, const char *reason)
{
	struct advisor_result *o = a->out;
	for (size_t i = 0; i < o->nrejected; i++) {
		struct advisor_rejected *r = &o->rejected[i];
		if (!strcmp(r->table, ti->qualified) && !strcmp(r->key, key) &&
		    !strcmp(r->where ? r->where : "", where ? where : "") && r->queryid == queryid)
			return;
	}
	o->rejected = xrealloc(o->rejected, (o->nrejected + 1) * sizeof(*o->rejected));
	struct advisor_rejected *r = &o->rejected[o->nrejected++];
	r->table = xstrdup(ti->qualified);
	r->key = xstrdup(key);
	r->where = where ? xstrdup(where) : NULL;
	r->reason = xstrdup(reason);
	r->queryid = queryid;
}

/* bound_text returns the statement's text with LIMIT $n and, if PARAM > 0,
 * $PARAM bound to LITERAL; *NPARAMS is what is left. */
static char *bound_text(const struct wstmt *w, int param, const char *literal, int *nparams)
{
	int nums[2];
	const char *lits[2];
	size_t n = 0;
	if (w->st->limit_param) {
		nums[n] = w->st->limit_param;
		lits[n++] = ADVISOR_LIMIT_GUESS;
	}
	if (param > 0 && param != w->st->limit_param) {
		nums[n] = param;
		lits[n++] = literal;
	}
	*nparams = w->st->max_param - (int)n;
	return candidates_bind(w->st, w->query, nums, lits, n);
}

static void unreject(struct advisor *a, const char *table, const char *key, const char *where,
		     int64_t queryid)
{
	struct advisor_result *o = a->out;
	size_t kept = 0;
	for (size_t i = 0; i < o->nrejected; i++) {
		struct advisor_rejected *r = &o->rejected[i];
		if (!strcmp(r->table, table) && !strcmp(r->key, key) &&
		    !strcmp(r->where ? r->where : "", where ? where : "") &&
		    r->queryid == queryid) {
			free(r->table);
			free(r->key);
			free(r->where);
			free(r->reason);
			continue;
		}
		o->rejected[kept++] = *r;
	}
	o->nrejected = kept;
}

/* verify_or checks the arms of OR GROUP of statement SI on table TIX
 * together: the indexes of the arms no existing index serves, all
 * hypothetical at once, must all be used (a BitmapOr) and make the plan
 * ADVISOR_MIN_GAIN times cheaper; then each is a verified candidate. */
static void verify_or(struct advisor *a, size_t si, int group, int tix)
{
	struct wstmt *w = &a->stmts[si];
	struct tinfo *ti = &a->tables[tix];
	struct candidates_index *all;
	size_t n = candidates_build(w->st, &all), narms = 0;
	size_t arm[CANDIDATES_MAX_COLS];
	char *oid[CANDIDATES_MAX_COLS] = {0}, *name[CANDIDATES_MAX_COLS] = {0};
	double size[CANDIDATES_MAX_COLS] = {0};
	for (size_t k = 0; k < n; k++) {
		if (all[k].or_group != group ||
		    advisor_served_by(ti->indexes, ti->nindexes, &all[k]))
			continue;
		if (narms < CANDIDATES_MAX_COLS)
			arm[narms++] = k;
	}
	double before = w->cost_before, after = -1;
	bool used = narms > 0;
	char *unbound = NULL;
	for (size_t k = 0; k < narms && !unbound; k++)
		unbound = expr_param_reason(w, &all[arm[k]]);
	if (unbound) {
		/* no index per branch can be written: say why, for each */
		for (size_t k = 0; k < narms; k++) {
			char *key = candidates_key(&all[arm[k]]);
			reject(a, ti, key, NULL, w->queryid, unbound);
			free(key);
		}
		free(unbound);
		narms = 0;
	}
	if (!narms || before <= 0 || ti->pages < ADVISOR_MIN_PAGES || !tx_begin(a))
		goto out;
	for (size_t k = 0; k < narms && used; k++) {
		char *isql = candidates_index_sql(&all[arm[k]], ti->qualified, NULL, false);
		const char *p[1] = {isql};
		PGresult *r =
			exec(a, "SELECT indexrelid, indexname FROM hypopg_create_index($1)", 1, p);
		used = r && PQntuples(r) == 1;
		if (used) {
			oid[k] = xstrdup(PQgetvalue(r, 0, 0));
			name[k] = xstrdup(PQgetvalue(r, 0, 1));
			const char *op[1] = {oid[k]};
			PGresult *z = exec(a, "SELECT hypopg_relation_size($1::oid)", 1, op);
			size[k] = z && PQntuples(z) == 1 ? strtod(PQgetvalue(z, 0, 0), NULL) : 0;
			PQclear(z);
		}
		PQclear(r);
		free(isql);
	}
	for (size_t k = 0; k < narms && used; k++) {
		bool uses = false;
		after = stmt_cost(a, w, name[k], &uses); /* sampled values, as before */
		used = after > 0 && uses;
	}
	for (size_t k = 0; k < narms; k++) {
		if (!oid[k])
			continue;
		const char *op[1] = {oid[k]};
		PQclear(exec(a, "SELECT hypopg_drop_index($1::oid)", 1, op));
	}
	tx_end(a, false);
out:
	for (size_t k = 0; k < narms; k++) {
		char *key = candidates_key(&all[arm[k]]);
		if (used && after > 0 && after * ADVISOR_MIN_GAIN <= before) {
			a->ver = xrealloc(a->ver, (a->nver + 1) * sizeof(*a->ver));
			struct verified *v = &a->ver[a->nver++];
			memset(v, 0, sizeof(*v));
			v->stmt = si;
			v->tinfo = tix;
			v->cand = all[arm[k]];
			v->key = key;
			v->before = before;
			v->after = after;
			v->size = size[k];
			continue;
		}
		if (before > 0 && ti->pages >= ADVISOR_MIN_PAGES) {
			char *why =
				used && after > 0
					? xprintf("OR: cost %.1f -> %.1f with an index per branch: "
						  "less than %.0fx cheaper",
						  before, after, ADVISOR_MIN_GAIN)
					: xprintf("OR: the planner does not use an index per "
						  "branch "
						  "together (cost %.1f)",
						  before);
			reject(a, ti, key, NULL, w->queryid, why);
			free(why);
		}
		free(key);
	}
	for (size_t k = 0; k < CANDIDATES_MAX_COLS; k++) {
		free(oid[k]);
		free(name[k]);
	}
	free(all);
}

/* verify_candidate checks candidate C of statement SI: catalog, pg_stats,
 * then hypopg against the statement's cost BASE (its own cost when BASE
 * is negative; the cost with other hypothetical indexes in place in the
 * second pass). */
static void verify_candidate(struct advisor *a, size_t si, const struct candidates_index *c,
			     double base)
{
	struct wstmt *w = &a->stmts[si];
	int tix = w->tmap[c->table];
	if (tix < 0)
		return;
	if (c->or_group) { /* the first arm checks them all, once */
		if (c->or_first && base <= 0)
			verify_or(a, si, c->or_group, tix);
		return;
	}
	/* equality keys, most selective first (pg_stats) */
	struct candidates_index ordered = *c;
	if (c->neq > 1) {
		double sel[CANDIDATES_MAX_COLS];
		for (int k = 0; k < c->neq; k++)
			sel[k] = c->is_expr[k] ? -1 : selectivity(a, &a->tables[tix], c->cols[k]);
		candidates_order_eq(&ordered, sel);
		c = &ordered;
	}
	struct tinfo *ti = &a->tables[tix];
	char *key = candidates_key(c);
	char *where = NULL;
	char *text = NULL; /* NULL: the statement as stmt_cost plans it */
	int nparams = 0;
	double before = base > 0 ? base : w->cost_before;
	char *unbound = expr_param_reason(w, c);
	if (unbound) {
		reject(a, ti, key, NULL, w->queryid, unbound);
		free(unbound);
		goto done;
	}
	if (ti->pages < ADVISOR_MIN_PAGES) {
		reject(a, ti, key, NULL, w->queryid, "tiny table: a sequential scan is cheap");
		goto done;
	}
	const char *by = advisor_served_by(ti->indexes, ti->nindexes, c);
	if (by) {
		char *why = xprintf("served by existing index %s", by);
		reject(a, ti, key, NULL, w->queryid, why);
		free(why);
		goto done;
	}
	if (c->partial_use == CANDIDATES_ISTRUE || c->partial_use == CANDIDATES_ISFALSE) {
		bool istrue = c->partial_use == CANDIDATES_ISTRUE;
		double share = flag_share(a, ti, c->partial_col, istrue);
		bool fits = share >= 0 && share < ADVISOR_RARE_FREQ && w->calls > 0 &&
			    (double)w->rows / (double)w->calls <=
				    (ti->reltuples > 0 ? ti->reltuples : 0) * ADVISOR_RARE_FREQ;
		if (!fits)
			goto done; /* not rare: nothing to say */
		where = xprintf("%s%s", istrue ? "" : "NOT ", c->partial_col);
	} else if (c->partial_col && c->partial_use != CANDIDATES_EQ) {
		bool isnull = c->partial_use == CANDIDATES_ISNULL;
		double nf = null_frac(a, ti, c->partial_col);
		double share = isnull ? nf : 1 - nf;
		bool fits = nf >= 0 && share < ADVISOR_RARE_FREQ && w->calls > 0 &&
			    (double)w->rows / (double)w->calls <=
				    (ti->reltuples > 0 ? ti->reltuples : 0) * ADVISOR_RARE_FREQ;
		if (!fits)
			goto done; /* not rare: nothing to say */
		where = xprintf("%s IS %sNULL", c->partial_col, isnull ? "" : "NOT ");
	} else if (c->partial_col) {
		int n = 0;
		double freq = 0;
		char **vals = rare_values(a, ti, c->partial_col, &n, &freq);
		/* the statement must look like it asks for the rare values */
		bool fits = n > 0 && w->calls > 0 &&
			    (double)w->rows / (double)w->calls <=
				    (ti->reltuples > 0 ? ti->reltuples : 0) * ADVISOR_RARE_FREQ;
		if (fits) {
			size_t cap = strlen(c->partial_col) + 16;
			for (int i = 0; i < n; i++)
				cap += strlen(vals[i]) + 2;
			where = xrealloc(NULL, cap);
			if (n == 1 && bool_column(a, ti, c->partial_col)) {
				/* the planner proves a partial index from `NOT flag`, the
				 * form it gives flag = false; not from flag = 'f' */
				snprintf(where, cap, "%s%s", vals[0][1] == 't' ? "" : "NOT ",
					 c->partial_col);
			} else if (n == 1) {
				snprintf(where, cap, "%s = %s", c->partial_col, vals[0]);
			} else {
				snprintf(where, cap, "%s IN (", c->partial_col);
				for (int i = 0; i < n; i++) {
					if (i)
						strcat(where, ", ");
					strcat(where, vals[i]);
				}
				strcat(where, ")");
			}
			text = bound_text(w, c->partial_param, vals[0], &nparams);
			before = plan_cost(a, text, nparams, NULL, NULL);
		}
		for (int i = 0; i < n; i++)
			free(vals[i]);
		free(vals);
		if (!fits)
			goto done; /* no rare value: nothing to say */
	} else {
		/* pg_stats' average guess: sampled values let the planner say */
		if (c->neq == c->ncols && !w->samples.n) {
			double sel = 1;
			bool known = true;
			for (int k = 0; k < c->neq && known; k++) {
				double s = c->is_expr[k] ? -1 : selectivity(a, ti, c->cols[k]);
				if (s < 0)
					known = false;
				else
					sel *= s;
			}
			if (known && sel > ADVISOR_MAX_SELECTIVITY) {
				char *why =
					xprintf("low selectivity: pg_stats says %.0f%% of the rows "
						"match, a sequential scan is right",
						100 * sel);
				reject(a, ti, key, NULL, w->queryid, why);
				free(why);
				goto done;
			}
		}
		/* a one-table SELECT that returns a large part of the table per
		 * call reads it all anyway */
		if (w->st->kind == CANDIDATES_SELECT && w->st->ntables == 1 && w->calls > 0 &&
		    ti->reltuples > 0 &&
		    (double)w->rows / (double)w->calls > ADVISOR_MAX_SELECTIVITY * ti->reltuples) {
			char *why =
				xprintf("low selectivity: %.0f%% of the table's rows returned "
					"per call, a sequential scan is right",
					100 * (double)w->rows / (double)w->calls / ti->reltuples);
			reject(a, ti, key, NULL, w->queryid, why);
			free(why);
			goto done;
		}
		/* col LIKE $n without samples: planned with a prefix pattern, a
		 * generic plan uses no index */
		char *pattern = c->like_col && base <= 0 && !w->samples.n
					? like_pattern(a, ti, c->like_col)
					: NULL;
		if (pattern) {
			text = bound_text(w, c->like_param, pattern, &nparams);
			before = plan_cost(a, text, nparams, NULL, NULL);
			free(pattern);
		}
	}
	if (before <= 0)
		goto done;
	char *isql = candidates_index_sql(c, ti->qualified, where, false);
	bool uses;
	double size = 0;
	double after = hypo_cost(a, isql, w, text, nparams, &uses, &size);
	free(isql);
	if (after < 0) {
		reject(a, ti, key, where, w->queryid, "hypopg could not plan with it");
		goto done;
	}
	if (!uses || after * ADVISOR_MIN_GAIN > before) {
		char *why = uses ? xprintf("cost %.1f -> %.1f: less than %.0fx cheaper", before,
					   after, ADVISOR_MIN_GAIN)
				 : xprintf("the planner does not use it (cost %.1f)", before);
		reject(a, ti, key, where, w->queryid, why);
		free(why);
		goto done;
	}
	a->ver = xrealloc(a->ver, (a->nver + 1) * sizeof(*a->ver));
	struct verified *v = &a->ver[a->nver++];
	v->stmt = si;
	v->tinfo = tix;
	v->cand = *c;
	v->key = key;
	v->where = where;
	v->before = before;
	v->after = after;
	v->size = size;
	v->sampled = !text && w->samples.n > 0;
	v->used = false;
	if (base > 0)
		unreject(a, ti->qualified, key, where, w->queryid);
	key = where = NULL;
done:
	free(key);
	free(where);
	free(text);
}

static void add_helped(struct advisor_suggestion *s, const struct wstmt *w, double before,
		       double after, bool sampled)
{
	for (size_t i = 0; i < s->nhelped; i++)
		if (s->helped[i].queryid == w->queryid)
			return;
	s->helped = xrealloc(s->helped, (s->nhelped + 1) * sizeof(*s->helped));
	struct advisor_helped *h = &s->helped[s->nhelped++];
	h->queryid = w->queryid;
	h->query = xstrdup(w->query);
	h->calls = w->calls;
	h->total_ms = w->total_ms;
	h->cost_before = before;
	h->cost_after = after;
	h->sampled = sampled;
	h->samples = samples_copy(&w->samples);
	s->read_calls += w->calls;
	/* against the statement's own cost: in the second pass BEFORE already
	 * counts another suggestion's saving, which must not count twice */
	double orig = w->cost_before > before ? w->cost_before : before;
	s->saved_ms += w->total_ms * (before - after) / orig;
}

static void free_suggestion(struct advisor_suggestion *s)
{
	free(s->table);
	free(s->key);
	free(s->where);
	free(s->create_sql);
	free(s->build_sql);
	for (size_t i = 0; i < s->nhelped; i++) {
		free(s->helped[i].query);
		samples_set_free(&s->helped[i].samples);
	}
	free(s->helped);
}

static int cmp_saved(const void *x, const void *y)
{
	const struct advisor_suggestion *a = x, *b = y;
	return a->saved_ms < b->saved_ms ? 1 : a->saved_ms > b->saved_ms ? -1 : 0;
}

/* is_prefix: every key of A leads B's keys (same table and predicate). */
static bool is_prefix(const struct verified *a, const struct verified *b)
{
	if (a->tinfo != b->tinfo || a->cand.ncols >= b->cand.ncols ||
	    strcmp(a->where ? a->where : "", b->where ? b->where : ""))
		return false;
	for (int k = 0; k < a->cand.ncols; k++)
		if (strcmp(a->cand.cols[k], b->cand.cols[k]))
			return false;
	return true;
}

static void build_suggestions(struct advisor *a)
{
	/* the best index per statement and table: of those within
	 * ADVISOR_EXTRA_KEY_GAIN of the cheapest, the fewest key columns, then
	 * the cheapest (within 1%: the smallest, as a partial index beside the
	 * same key on all rows; then the first) */
	for (size_t i = 0; i < a->nver; i++) {
		struct verified *v = &a->ver[i];
		if (v->cand.or_group) { /* the arms of an OR serve it together */
			v->used = true;
			continue;
		}
		double cheapest = v->after;
		for (size_t j = 0; j < a->nver; j++)
			if (a->ver[j].stmt == v->stmt && a->ver[j].tinfo == v->tinfo &&
			    !a->ver[j].cand.or_group && a->ver[j].after < cheapest)
				cheapest = a->ver[j].after;
		bool best = v->after <= cheapest * ADVISOR_EXTRA_KEY_GAIN;
		for (size_t j = 0; j < a->nver && best; j++) {
			struct verified *u = &a->ver[j];
			if (j == i || u->stmt != v->stmt || u->tinfo != v->tinfo ||
			    u->cand.or_group || u->after > cheapest * ADVISOR_EXTRA_KEY_GAIN)
				continue;
			bool tie = fabs(u->after - v->after) <= v->after * 0.01;
			if (u->cand.ncols < v->cand.ncols ||
			    (u->cand.ncols == v->cand.ncols &&
			     (u->after < v->after * 0.99 ||
			      (tie && (u->size < v->size || (u->size == v->size && j < i))))))
				best = false;
		}
		v->used = best;
	}
	/* a prefix index merges into a longer one that serves its statements */
	for (size_t i = 0; i < a->nver; i++) {
		struct verified *v = &a->ver[i];
		/* a partial index is planned with its rare value bound: not merged */
		if (!v->used || v->where)
			continue;
		for (size_t j = 0; j < a->nver; j++) {
			struct verified *b = &a->ver[j];
			if (!b->used || !is_prefix(v, b))
				continue;
			struct wstmt *w = &a->stmts[v->stmt];
			char *isql = candidates_index_sql(&b->cand, a->tables[b->tinfo].qualified,
							  b->where, false);
			bool uses = false;
			double after = hypo_cost(a, isql, w, NULL, 0, &uses, NULL);
			free(isql);
			if (after > 0 && uses && after * ADVISOR_MIN_GAIN <= v->before) {
				v->used = false;
				/* b takes v's statement with the cost it measured */
				a->ver = xrealloc(a->ver, (a->nver + 1) * sizeof(*a->ver));
				v = &a->ver[i];
				b = &a->ver[j];
				struct verified *m = &a->ver[a->nver++];
				*m = *b;
				m->stmt = v->stmt;
				m->before = v->before;
				m->after = after;
				m->key = xstrdup(b->key);
				m->where = b->where ? xstrdup(b->where) : NULL;
				m->sampled = w->samples.n > 0;
				m->used = true;
				break;
			}
		}
	}
	struct advisor_result *o = a->out;
	for (size_t i = 0; i < a->nver; i++) {
		struct verified *v = &a->ver[i];
		if (!v->used)
			continue;
		struct tinfo *ti = &a->tables[v->tinfo];
		struct advisor_suggestion *s = NULL;
		for (size_t k = 0; k < o->nsuggestions && !s; k++)
			if (!strcmp(o->suggestions[k].table, ti->qualified) &&
			    !strcmp(o->suggestions[k].key, v->key) &&
			    !strcmp(o->suggestions[k].where ? o->suggestions[k].where : "",
				    v->where ? v->where : ""))
				s = &o->suggestions[k];
		if (!s) {
			o->suggestions =
				xrealloc(o->suggestions, (o->nsuggestions + 1) * sizeof(*s));
			s = &o->suggestions[o->nsuggestions++];
			memset(s, 0, sizeof(*s));
			s->table = xstrdup(ti->qualified);
			s->key = xstrdup(v->key);
			s->where = v->where ? xstrdup(v->where) : NULL;
			s->create_sql =
				candidates_index_sql(&v->cand, ti->qualified, v->where, true);
			s->build_sql =
				candidates_index_sql(&v->cand, ti->qualified, v->where, false);
			s->write_calls = ti->write_calls;
		}
		if (v->size > s->size_bytes)
			s->size_bytes = v->size;
		add_helped(s, &a->stmts[v->stmt], v->before, v->after, v->sampled);
	}
	/* writes: an index on a table written far more often than it helps */
	size_t kept = 0;
	for (size_t k = 0; k < o->nsuggestions; k++) {
		struct advisor_suggestion *s = &o->suggestions[k];
		if ((double)s->write_calls > ADVISOR_WRITE_RATIO * (double)s->read_calls) {
			struct advisor_rejected *r;
			o->rejected = xrealloc(o->rejected, (o->nrejected + 1) * sizeof(*r));
			r = &o->rejected[o->nrejected++];
			r->table = xstrdup(s->table);
			r->key = xstrdup(s->key);
			r->where = s->where ? xstrdup(s->where) : NULL;
			r->reason =
				xprintf("write-heavy table: %lld writes for %lld reads it helps",
					s->write_calls, s->read_calls);
			r->queryid = s->nhelped ? s->helped[0].queryid : 0;
			free_suggestion(s);
			continue;
		}
		o->suggestions[kept++] = *s;
	}
	o->nsuggestions = kept;
	if (o->nsuggestions > 1)
		qsort(o->suggestions, o->nsuggestions, sizeof(*o->suggestions), cmp_saved);
}

/* second_pass: a join may need an index on each side before either pays
 * off. With the best verified index of each table of statement SI in
 * place (hypothetically), the candidates of its other tables are checked
 * against that lower cost. */
static void second_pass(struct advisor *a, size_t si, const struct candidates_index *cands,
			size_t n)
{
	struct wstmt *w = &a->stmts[si];
	if (w->st->ntables < 2 || w->cost_before <= 0)
		return;
	size_t best[16];
	size_t nbest = 0;
	for (size_t i = 0; i < a->nver; i++) {
		struct verified *v = &a->ver[i];
		if (v->stmt != si || v->where)
			continue;
		size_t k;
		for (k = 0; k < nbest; k++)
			if (a->ver[best[k]].tinfo == v->tinfo)
				break;
		if (k < nbest) {
			if (v->after < a->ver[best[k]].after)
				best[k] = i;
		} else if (nbest < sizeof(best) / sizeof(best[0])) {
			best[nbest++] = i;
		}
	}
	if (!nbest)
		return;
	bool others = false;
	for (size_t k = 0; k < n; k++) {
		int t = w->tmap[cands[k].table];
		bool covered = t < 0 || cands[k].partial_col;
		for (size_t b = 0; b < nbest && !covered; b++)
			covered = a->ver[best[b]].tinfo == t;
		others = others || !covered;
	}
	if (!others)
		return;
	if (!tx_begin(a))
		return;
	bool ok = true;
	for (size_t b = 0; b < nbest && ok; b++) {
		struct verified *v = &a->ver[best[b]];
		char *isql =
			candidates_index_sql(&v->cand, a->tables[v->tinfo].qualified, NULL, false);
		const char *p[1] = {isql};
		PGresult *r = exec(a, "SELECT hypopg_create_index($1)", 1, p);
		ok = r != NULL;
		PQclear(r);
		free(isql);
	}
	double base = ok ? stmt_cost(a, w, NULL, NULL) : -1;
	for (size_t k = 0; k < n && base > 0; k++) {
		int t = w->tmap[cands[k].table];
		bool covered = t < 0 || cands[k].partial_col;
		for (size_t b = 0; b < nbest && !covered; b++)
			covered = a->ver[best[b]].tinfo == t;
		if (!covered)
			verify_candidate(a, si, &cands[k], base);
	}
	exec_ok(a, "SELECT hypopg_reset()");
	tx_end(a, false);
}

/* --- existing indexes ---------------------------------------------------- */

static const char unused_sql[] =
	"SELECT quote_ident(s.schemaname) || '.' || quote_ident(s.indexrelname),"
	" quote_ident(s.schemaname) || '.' || quote_ident(s.relname),"
	" pg_get_indexdef(s.indexrelid), pg_relation_size(s.indexrelid), s.idx_scan"
	" FROM pg_stat_user_indexes s JOIN pg_index i ON i.indexrelid = s.indexrelid"
	" WHERE s.idx_scan = 0 AND NOT i.indisunique AND NOT i.indisprimary"
	" AND NOT i.indisexclusion AND i.indisvalid"
	" ORDER BY 4 DESC, 1";

/* index A is redundant with index B: same table, method and predicate (none),
 * A's keys (and operator classes and expressions) lead B's; a unique A only
 * when B is unique on the same keys; of two identical, the newer one. */
static const char redundant_sql[] =
	"SELECT quote_ident(n.nspname) || '.' || quote_ident(ca.relname),"
	" (SELECT quote_ident(nt.nspname) || '.' || quote_ident(t.relname) FROM pg_class t"
	"  JOIN pg_namespace nt ON nt.oid = t.relnamespace WHERE t.oid = a.indrelid),"
	" pg_get_indexdef(a.indexrelid),"
	" pg_relation_size(a.indexrelid),"
	" (SELECT quote_ident(nb.nspname) || '.' || quote_ident(cb.relname)"
	"  FROM pg_namespace nb WHERE nb.oid = cb.relnamespace)"
	" FROM pg_index a JOIN pg_index b ON b.indrelid = a.indrelid"
	"  AND b.indexrelid <> a.indexrelid"
	" JOIN pg_class ca ON ca.oid = a.indexrelid JOIN pg_class cb ON cb.oid = b.indexrelid"
	" JOIN pg_namespace n ON n.oid = ca.relnamespace"
	" WHERE ca.relam = cb.relam AND a.indpred IS NULL AND b.indpred IS NULL"
	" AND a.indisvalid AND b.indisvalid AND NOT a.indisprimary"
	" AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
	" AND n.nspname !~ '^pg_toast'"
	" AND coalesce(pg_get_expr(a.indexprs, a.indrelid), '')"
	"  = coalesce(pg_get_expr(b.indexprs, b.indrelid), '')"
	" AND a.indnkeyatts <= b.indnkeyatts"
	" AND (string_to_array(b.indkey::text, ' '))[1:a.indnkeyatts]"
	"  = (string_to_array(a.indkey::text, ' '))[1:a.indnkeyatts]"
	" AND (string_to_array(b.indclass::text, ' '))[1:a.indnkeyatts]"
	"  = (string_to_array(a.indclass::text, ' '))[1:a.indnkeyatts]"
	" AND (string_to_array(b.indoption::text, ' '))[1:a.indnkeyatts]"
	"  = (string_to_array(a.indoption::text, ' '))[1:a.indnkeyatts]"
	" AND (NOT a.indisunique OR (b.indisunique AND a.indnkeyatts = b.indnkeyatts))"
	" AND (a.indnkeyatts < b.indnkeyatts OR a.indisunique < b.indisunique"
	"  OR (a.indisunique = b.indisunique AND a.indexrelid > b.indexrelid))"
	" AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = a.indexrelid)"
	" ORDER BY 4 DESC, 1";

static int load_indexes(struct advisor *a, const char *sql, struct advisor_index **out, size_t *n,
			bool redundant)
{
	PGresult *r = tx_begin(a) ? exec(a, sql, 0, NULL) : NULL;
	if (!r) {
		fail(a, redundant ? "cannot list redundant indexes" : "cannot list unused indexes");
		tx_end(a, false);
		return -1;
	}
	for (int i = 0; i < PQntuples(r); i++) {
		/* one row per redundant index, even when several indexes cover it */
		if (redundant && *n && !strcmp((*out)[*n - 1].index, PQgetvalue(r, i, 0)))
			continue;
		*out = xrealloc(*out, (*n + 1) * sizeof(**out));
		struct advisor_index *x = &(*out)[(*n)++];
		memset(x, 0, sizeof(*x));
		x->index = xstrdup(PQgetvalue(r, i, 0));
		x->table = xstrdup(PQgetvalue(r, i, 1));
		x->definition = xstrdup(PQgetvalue(r, i, 2));
		x->size_bytes = strtoll(PQgetvalue(r, i, 3), NULL, 10);
		if (redundant)
			x->covered_by = xstrdup(PQgetvalue(r, i, 4));
		else
			x->scans = strtoll(PQgetvalue(r, i, 4), NULL, 10);
	}
	PQclear(r);
	tx_end(a, false);
	return 0;
}

/* --- the run ------------------------------------------------------------- */

/* reject_negligible says why statement W, run too rarely to matter, gets
 * no index: one rejection per table it reads. */
static void reject_negligible(struct advisor *a, const struct wstmt *w, double window_ms)
{
	char *why = xprintf("negligible: %lld calls, %.1f ms of the window's %.1f ms", w->calls,
			    w->total_ms, window_ms);
	for (size_t t = 0; t < w->st->ntables; t++)
		if (w->tmap[t] >= 0)
			reject(a, &a->tables[w->tmap[t]], "", NULL, w->queryid, why);
	free(why);
}

static int setup(struct advisor *a)
{
	if (!tx_begin(a)) {
		fail(a, "cannot start a transaction");
		return -1;
	}
	PGresult *r = exec(a, "SELECT 1 FROM pg_extension WHERE extname = 'hypopg'", 0, NULL);
	bool have = r && PQntuples(r) == 1;
	PQclear(r);
	char *why = NULL;
	if (!have) {
		PGresult *c = PQexec(a->conn, "CREATE EXTENSION IF NOT EXISTS hypopg");
		have = PQresultStatus(c) == PGRES_COMMAND_OK;
		if (!have)
			why = xstrdup(PQresultErrorMessage(c));
		PQclear(c);
	}
	if (!tx_end(a, have) && have)
		why = xstrdup(PQerrorMessage(a->conn));
	if (why) {
		a->err = xprintf("hypopg is needed in database %s: install it (Debian: "
				 "postgresql-15-hypopg) and run CREATE EXTENSION hypopg there "
				 "as a superuser: %s",
				 PQdb(a->conn), why);
		free(why);
		return -1;
	}
	return 0;
}

int advisor_run(PGconn *conn, sqlite3 *db, const struct advisor_options *opt,
		struct advisor_result *out, char **err)
{
	struct advisor a = {.conn = conn, .opt = opt, .out = out};
	memset(out, 0, sizeof(*out));
	out->database = xstrdup(PQdb(conn));
	*err = NULL;
	if (setup(&a) < 0 || load_workload(&a, db) < 0)
		goto done;
	out->statements = (long)a.nstmts;
	/* writes per table over the whole window */
	for (size_t i = 0; i < a.nstmts; i++) {
		struct wstmt *w = &a.stmts[i];
		w->tmap = xrealloc(NULL, (w->st->ntables + 1) * sizeof(int));
		for (size_t t = 0; t < w->st->ntables; t++) {
			int ti = table_lookup(&a, &w->st->tables[t]);
			w->tmap[t] = a.tables[ti].missing ? -1 : ti;
		}
		if (w->st->target >= 0 && w->tmap[w->st->target] >= 0)
			a.tables[w->tmap[w->st->target]].write_calls += w->calls;
	}
	/* the most expensive reads and writes-with-WHERE get candidates */
	double window_ms = 0;
	for (size_t i = 0; i < a.nstmts; i++)
		window_ms += a.stmts[i].total_ms;
	long considered = 0;
	for (size_t i = 0; i < a.nstmts && considered < opt->max_statements; i++) {
		struct wstmt *w = &a.stmts[i];
		if (w->st->kind == CANDIDATES_INSERT)
			continue;
		considered++;
		if (w->calls < ADVISOR_MIN_CALLS && w->total_ms < ADVISOR_MIN_SHARE * window_ms) {
			reject_negligible(&a, w, window_ms);
			continue;
		}
		candidates_resolve_columns(w->st, has_column, &a);
		expr_constants(&a, w);
		struct candidates_index *cands;
		size_t n = candidates_build(w->st, &cands);
		if (n) {
			w->cost_before = stmt_cost(&a, w, NULL, NULL);
			/* samples that do not plan (a value the column's type
			 * rejects): the generic plan, for every candidate alike */
			if (w->cost_before < 0 && w->samples.n) {
				samples_set_free(&w->samples);
				w->cost_before = stmt_cost(&a, w, NULL, NULL);
			}
			if (w->cost_before > 0)
				out->analyzed++;
		}
		for (size_t k = 0; k < n; k++)
			verify_candidate(&a, i, &cands[k], -1);
		second_pass(&a, i, cands, n);
		free(cands);
		if (PQstatus(conn) != CONNECTION_OK) {
			fail(&a, "lost the connection");
			goto done;
		}
	}
	build_suggestions(&a);
	if (load_indexes(&a, unused_sql, &out->unused, &out->nunused, false) < 0 ||
	    load_indexes(&a, redundant_sql, &out->redundant, &out->nredundant, true) < 0)
		goto done;
done:
	for (size_t i = 0; i < a.nver; i++) {
		free(a.ver[i].key);
		free(a.ver[i].where);
	}
	free(a.ver);
	for (size_t i = 0; i < a.nstmts; i++) {
		free(a.stmts[i].query);
		free(a.stmts[i].tmap);
		samples_set_free(&a.stmts[i].samples);
		candidates_stmt_free(a.stmts[i].st);
	}
	free(a.stmts);
	for (size_t i = 0; i < a.ntables; i++) {
		struct tinfo *ti = &a.tables[i];
		free(ti->written);
		free(ti->nspname);
		free(ti->relname);
		free(ti->qualified);
		for (size_t k = 0; k < ti->ncolumns; k++)
			free(ti->columns[k]);
		free(ti->columns);
		for (size_t k = 0; k < ti->nindexes; k++) {
			free(ti->indexes[k].name);
			for (int j = 0; j < ti->indexes[k].nkeys; j++)
				free(ti->indexes[k].keys[j]);
		}
		free(ti->indexes);
	}
	free(a.tables);
	if (a.err) {
		*err = a.err;
		return -1;
	}
	return 0;
}

void advisor_result_free(struct advisor_result *o)
{
	free(o->database);
	for (size_t i = 0; i < o->nsuggestions; i++)
		free_suggestion(&o->suggestions[i]);
	free(o->suggestions);
	for (size_t i = 0; i < o->nrejected; i++) {
		free(o->rejected[i].table);
		free(o->rejected[i].key);
		free(o->rejected[i].where);
		free(o->rejected[i].reason);
	}
	free(o->rejected);
	for (size_t i = 0; i < o->nanalyzed_tables; i++)
		free(o->analyzed_tables[i]);
	free(o->analyzed_tables);
	struct advisor_index *lists[2] = {o->unused, o->redundant};
	size_t counts[2] = {o->nunused, o->nredundant};
	for (int l = 0; l < 2; l++) {
		for (size_t i = 0; i < counts[l]; i++) {
			free(lists[l][i].index);
			free(lists[l][i].table);
			free(lists[l][i].definition);
			free(lists[l][i].covered_by);
		}
		free(lists[l]);
	}
	memset(o, 0, sizeof(*o));
}
