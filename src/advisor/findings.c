/* Query suggestions: see findings.h. Statement rules read the window's
 * pg_stat_statements deltas; n_plus_one, long_transactions and
 * idle_in_transaction read what the pooler stored (repeat_events,
 * xact_samples); function_on_indexed_column asks the live catalog. */
#include "advisor/findings.h"
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "advisor/findings_internal.h"
#include "advisor/qshape.h"
#include "ownstmt.h"
#include "advisor/util.h"

#define BLOCK_BYTES 8192.0
#define MB (1024.0 * 1024.0)

const char *finding_kind_name(enum finding_kind kind)
{
	switch (kind) {
	case FINDING_REPEATED:
		return "n_plus_one";
	case FINDING_TEMP_SPILL:
		return "temp_spill";
	case FINDING_CACHE_MISS:
		return "low_cache_hit_ratio";
	case FINDING_NO_LIMIT:
		return "large_result_without_limit";
	case FINDING_MANY_ROWS:
		return "many_rows_per_call";
	case FINDING_DEFEATED_INDEX:
		return "function_on_indexed_column";
	case FINDING_LONG_XACT:
		return "long_transactions";
	case FINDING_IDLE_IN_XACT:
		return "idle_in_transaction";
	}
	return "unknown";
}

/* --- pure rules ------------------------------------------------------------ */

unsigned findings_rate(const struct findings_stmt *s, const struct qshape *q)
{
	unsigned kinds = 0;
	if (s->calls <= 0)
		return 0;
	double calls = (double)s->calls;
	if ((double)s->temp_written / calls >= FINDINGS_SPILL_MIN_BLKS_PER_CALL)
		kinds |= 1u << FINDING_TEMP_SPILL;
	long long blks = s->blks_hit + s->blks_read;
	if (s->blks_read >= FINDINGS_CACHE_MIN_READ_BLKS && blks > 0 &&
	    (double)s->blks_hit / (double)blks < FINDINGS_CACHE_MAX_HIT_RATIO)
		kinds |= 1u << FINDING_CACHE_MISS;
	double rows = (double)s->rows / calls;
	if (q && q->kind == QSHAPE_SELECT && !q->has_limit &&
	    rows >= FINDINGS_NO_LIMIT_MIN_ROWS_PER_CALL)
		kinds |= 1u << FINDING_NO_LIMIT;
	else if (rows >= FINDINGS_MANY_ROWS_MIN_ROWS_PER_CALL)
		kinds |= 1u << FINDING_MANY_ROWS;
	return kinds;
}

long findings_work_mem_mb(double spill_bytes)
{
	double need = spill_bytes * FINDINGS_SPILL_MEMORY_FACTOR / MB;
	long mb = 1;
	while ((double)mb < need && mb <= FINDINGS_WORK_MEM_MAX_MB)
		mb *= 2;
	return mb > FINDINGS_WORK_MEM_MAX_MB ? 0 : mb;
}

bool findings_long_xact(int64_t xact_max_us)
{
	return xact_max_us >= FINDINGS_LONG_XACT_US;
}

bool findings_idle(int64_t xact_us, int64_t idle_us, int64_t idle_max_us)
{
	if (idle_us < FINDINGS_IDLE_MIN_US)
		return false;
	return (xact_us > 0 && (double)idle_us >= FINDINGS_IDLE_MIN_SHARE * (double)xact_us) ||
	       idle_max_us >= FINDINGS_IDLE_GAP_US;
}

char *findings_any_rewrite(const char *st)
{
	const char *hit = NULL;
	for (const char *p = strstr(st, "= $"); p; p = strstr(p + 1, "= $")) {
		if (!isdigit((unsigned char)p[3]))
			continue;
		if (hit)
			return NULL;
		hit = p;
	}
	if (!hit)
		return NULL;
	const char *end = hit + 3;
	while (isdigit((unsigned char)*end))
		end++;
	return xprintf("%.*s= ANY(%.*s)%s", (int)(hit - st), st, (int)(end - hit - 2), hit + 2,
		       end);
}

/* word_in says whether WORD occurs in TEXT as a whole identifier, case
 * folded. */
static bool word_in(const char *text, const char *word)
{
	size_t n = strlen(word);
	if (!n)
		return false;
	for (const char *p = strcasestr(text, word); p; p = strcasestr(p + 1, word)) {
		bool before = p > text && (isalnum((unsigned char)p[-1]) || p[-1] == '_');
		bool after = isalnum((unsigned char)p[n]) || p[n] == '_';
		if (!before && !after)
			return true;
	}
	return false;
}

bool findings_index_matches(const char *key, const struct qshape_wrap *w)
{
	if (!word_in(key, w->column) || !word_in(key, w->func))
		return false;
	/* date(col) and col::date are the same expression to PostgreSQL, which
	 * prints either way */
	char call[128], cast[128];
	snprintf(call, sizeof(call), "%s(", w->func);
	snprintf(cast, sizeof(cast), "::%s", w->func);
	return strcasestr(key, call) || strcasestr(key, cast);
}

/* --- results ------------------------------------------------------------- */

struct run {
	struct finding *out;
	size_t n;
	sqlite3 *db;
	PGconn *conn;
	const struct findings_options *opt;
	int64_t dbid; /* of CONN's database, -1 without CONN */
	char *dbname; /* its name, NULL without CONN */
	char *shared_buffers;
	char *work_mem; /* the server's default, NULL without CONN */
	char *err;
};

/* add takes ownership of EVIDENCE and FIX. */
static void add(struct run *r, enum finding_kind kind, int64_t queryid, const char *database,
		const char *subject, char *evidence, char *fix, double impact_ms)
{
	struct finding *f = realloc(r->out, (r->n + 1) * sizeof(*r->out));
	if (!f)
		abort();
	r->out = f;
	r->out[r->n++] = (struct finding){
		.kind = kind,
		.queryid = queryid,
		.database = xstrdup(database),
		.subject = xstrdup(subject),
		.evidence = evidence,
		.fix = fix,
		.impact_ms = impact_ms,
	};
}

static void store_fail(struct run *r)
{
	if (!r->err)
		r->err = xprintf("cannot read the store: %s", sqlite3_errmsg(r->db));
}

/* --- the live catalog ------------------------------------------------------ */

/* query runs SQL with text PARAMS in its own read-only transaction with
 * the options' statement_timeout; returns the result (the caller
 * PQclear()s it) or NULL with r->err set. */
static PGresult *query(struct run *r, const char *sql, int n, const char *const *params)
{
	char *begin = xprintf("BEGIN READ ONLY; SET LOCAL statement_timeout = %d",
			      r->opt->timeout_ms > 0 ? r->opt->timeout_ms : 5000);
	PGresult *b = PQexec(r->conn, begin);
	free(begin);
	bool ok = PQresultStatus(b) == PGRES_COMMAND_OK;
	PQclear(b);
	PGresult *res = NULL;
	if (ok) {
		res = PQexecParams(r->conn, sql, n, NULL, params, NULL, NULL, 0);
		if (PQresultStatus(res) != PGRES_TUPLES_OK) {
			PQclear(res);
			res = NULL;
		}
	}
	if (!res && !r->err)
		r->err = xprintf("catalog query failed: %s", PQerrorMessage(r->conn));
	if (PQtransactionStatus(r->conn) != PQTRANS_IDLE)
		PQclear(PQexec(r->conn, res ? "COMMIT" : "ROLLBACK"));
	return res;
}

static const char db_sql[] =
	OWNSTMT_ADVISOR_PREFIX " the database and its settings\n"
			       "SELECT d.oid, current_database(),"
			       " current_setting('shared_buffers'), current_setting('work_mem')"
			       " FROM pg_database d WHERE d.datname = current_database()";

static const char role_sql[] = OWNSTMT_ADVISOR_PREFIX " a role's name\n"
						      "SELECT quote_ident(rolname) FROM pg_roles"
						      " WHERE oid = $1::oid";

/* The table of a wrapped column, its size, the btree indexes it leads,
 * the first keys of the table's expression indexes, whether the cast to
 * $4 (NULL for a function) keeps the column's index usable. */
static const char column_sql[] = OWNSTMT_ADVISOR_PREFIX
	" indexes of a column\n"
	"SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname),"
	" pg_relation_size(c.oid) / current_setting('block_size')::int,"
	" (SELECT string_agg(quote_ident(ic.relname), ', ' ORDER BY ic.relname)"
	"  FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid"
	"  JOIN pg_am am ON am.oid = ic.relam"
	"  WHERE i.indrelid = c.oid AND am.amname = 'btree' AND i.indisvalid"
	"  AND i.indpred IS NULL AND i.indkey[0] = a.attnum),"
	" (SELECT string_agg(pg_get_indexdef(i.indexrelid, 1, true), E'\\n')"
	"  FROM pg_index i WHERE i.indrelid = c.oid AND i.indisvalid"
	"  AND i.indkey[0] = 0),"
	/* a cast to the column's own type, or a binary-compatible one
	 * (varchar to text), leaves the index usable */
	" coalesce(a.atttypid = to_regtype($4) OR EXISTS (SELECT 1 FROM pg_cast"
	"  WHERE castsource = a.atttypid AND casttarget = to_regtype($4)"
	"  AND castmethod = 'b'), false)"
	" FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
	" JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = $3"
	"  AND a.attnum > 0 AND NOT a.attisdropped"
	" WHERE c.oid = to_regclass(CASE WHEN $1 = '' THEN quote_ident($2)"
	" ELSE quote_ident($1) || '.' || quote_ident($2) END)";

/* unqualified returns EXPR with "alias.COLUMN" turned into COLUMN. */
static char *unqualified(const char *expr, const char *column)
{
	char *out = xstrdup(expr);
	size_t n = strlen(column);
	char *p = out;
	while ((p = strstr(p, column))) {
		bool whole = !(isalnum((unsigned char)p[n]) || p[n] == '_');
		if (whole && p > out && p[-1] == '.') {
			char *q = p - 1;
			while (q > out && (isalnum((unsigned char)q[-1]) || q[-1] == '_' ||
					   q[-1] == '"' || q[-1] == '.'))
				q--;
			memmove(q, p, strlen(p) + 1);
			p = q + n;
		} else {
			p += n;
		}
	}
	return out;
}

static char *defeated_fix(const struct qshape_wrap *w, const char *table)
{
	char *e = unqualified(w->expr, w->column);
	char *fix;
	if (!strcasecmp(w->func, "date")) {
		fix = xprintf("compare %s itself: %s >= $1 AND %s < $1 + interval '1 day' "
			      "instead of %s = $1; the index on %s then serves it",
			      w->column, w->column, w->column, e, w->column);
	} else if (!strcasecmp(w->func, "date_trunc")) {
		fix = xprintf("compare %s itself with a range: %s >= start AND %s < end, the "
			      "bounds computed from the parameter; the index on %s then "
			      "serves it",
			      w->column, w->column, w->column, w->column);
	} else if (w->cast) {
		fix = xprintf("cast the other side instead (%s = $1::<type of %s>), or CREATE "
			      "INDEX CONCURRENTLY ON %s ((%s))",
			      w->column, w->column, table, e);
	} else {
		fix = xprintf("CREATE INDEX CONCURRENTLY ON %s (%s) (the function must be "
			      "IMMUTABLE), or store the value as compared and test %s itself",
			      table, e, w->column);
	}
	free(e);
	return fix;
}

/* defeated checks each wrapped column of Q in the catalog: a finding when
 * its table is not tiny, a btree index leads with the column, and no
 * expression index serves the call. */
static int defeated(struct run *r, int64_t queryid, const char *database, const char *text,
		    const struct qshape *q, const struct findings_stmt *s)
{
	for (size_t i = 0; i < q->nwraps; i++) {
		const struct qshape_wrap *w = &q->wraps[i];
		for (size_t t = 0; t < w->ntables; t++) {
			const char *p[4] = {w->tables[t].schema ? w->tables[t].schema : "",
					    w->tables[t].name, w->column, w->cast ? w->func : NULL};
			PGresult *res = query(r, column_sql, 4, p);
			if (!res) {
				if (PQstatus(r->conn) != CONNECTION_OK)
					return -1;
				/* a timeout on one table: the others may answer */
				free(r->err);
				r->err = NULL;
				continue;
			}
			if (PQntuples(res) != 1) { /* not this table's column */
				PQclear(res);
				continue;
			}
			if (PQgetisnull(res, 0, 2) || !strcmp(PQgetvalue(res, 0, 4), "t")) {
				PQclear(res);
				break;
			}
			const char *table = PQgetvalue(res, 0, 0);
			long long pages = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
			const char *indexes = PQgetvalue(res, 0, 2);
			bool served = false;
			if (!PQgetisnull(res, 0, 3)) {
				char *keys = xstrdup(PQgetvalue(res, 0, 3)), *save = NULL;
				for (char *k = strtok_r(keys, "\n", &save); k && !served;
				     k = strtok_r(NULL, "\n", &save))
					served = findings_index_matches(k, w);
				free(keys);
			}
			if (!served && pages >= FINDINGS_DEFEATED_MIN_PAGES) {
				add(r, FINDING_DEFEATED_INDEX, queryid, database, text,
				    xprintf("%s hides %s from index %s of %s (%.0f MB); %lld "
					    "calls, "
					    "%.1f ms per call",
					    w->expr, w->column, indexes, table,
					    (double)pages * BLOCK_BYTES / MB, s->calls,
					    s->total_ms / (double)s->calls),
				    defeated_fix(w, table), s->total_ms);
			}
			PQclear(res);
			break; /* the column's table was found */
		}
	}
	return 0;
}

/* role_name returns the name of role USERID, in memory the caller frees. */
static char *role_name(struct run *r, int64_t userid)
{
	if (r->conn) {
		char oid[24];
		snprintf(oid, sizeof(oid), "%lld", (long long)userid);
		const char *p[1] = {oid};
		char *save = r->err;
		r->err = NULL;
		PGresult *res = query(r, role_sql, 1, p);
		free(r->err);
		r->err = save;
		if (res && PQntuples(res) == 1) {
			char *name = xstrdup(PQgetvalue(res, 0, 0));
			PQclear(res);
			return name;
		}
		PQclear(res);
	}
	return xprintf("<role %lld>", (long long)userid);
}

/* --- statements ------------------------------------------------------------ */

static const char stmt_sql[] =
	"SELECT s.queryid, s.userid, max(i.dbname), t.query, sum(s.calls),"
	" sum(s.total_exec_time), sum(s.rows), sum(s.shared_blks_hit), sum(s.shared_blks_read),"
	" sum(s.temp_blks_written), sum(s.blk_read_time)"
	" FROM statement_samples AS s"
	" JOIN sample_intervals AS i ON i.id = s.interval_id"
	" JOIN statements AS t"
	"  ON t.queryid = s.queryid AND t.userid = s.userid AND t.dbid = s.dbid"
	" WHERE i.end_us >= ?1 AND (?2 < 0 OR s.dbid = ?2 OR i.dbname = ?3)"
	" GROUP BY s.queryid, s.userid, s.dbid HAVING sum(s.calls) > 0";

static void spill(struct run *r, int64_t queryid, int64_t userid, const char *database,
		  const char *text, const struct findings_stmt *s)
{
	double per_call = (double)s->temp_written * BLOCK_BYTES / (double)s->calls;
	long mb = findings_work_mem_mb(per_call);
	char *role = role_name(r, userid);
	char *fix;
	if (mb)
		fix = xprintf("SET LOCAL work_mem = '%ldMB' in the transaction that runs it (or "
			      "ALTER ROLE %s SET work_mem = '%ldMB' if that role runs only such "
			      "statements); an index that returns the rows in order avoids the "
			      "sort",
			      mb, role, mb);
	else
		fix = xprintf("too large for work_mem: sort or hash less (an index that returns "
			      "the rows in order, a narrower select list, aggregate earlier)");
	add(r, FINDING_TEMP_SPILL, queryid, database, text,
	    xprintf("%lld calls wrote %.1f MB to temp files per call (%.1f MB in all); %.1f ms "
		    "per call; the server's work_mem is %s",
		    s->calls, per_call / MB, (double)s->temp_written * BLOCK_BYTES / MB,
		    s->total_ms / (double)s->calls, r->work_mem ? r->work_mem : "unknown here"),
	    fix, s->total_ms);
	free(role);
}

static void cache_miss(struct run *r, int64_t queryid, const char *database, const char *text,
		       const struct findings_stmt *s)
{
	double ratio = (double)s->blks_hit / (double)(s->blks_hit + s->blks_read);
	double impact = s->read_ms > 0 ? s->read_ms : s->total_ms * (1 - ratio);
	char timing[64] = "";
	if (s->read_ms > 0 && s->total_ms > 0)
		snprintf(timing, sizeof(timing), "; %.0f%% of its time reading",
			 100 * s->read_ms / s->total_ms);
	add(r, FINDING_CACHE_MISS, queryid, database, text,
	    xprintf("hit ratio %.1f%%: %lld blocks (%.1f MB) read from outside "
		    "shared_buffers, %.1f MB per call over %lld calls%s",
		    100 * ratio, s->blks_read, (double)s->blks_read * BLOCK_BYTES / MB,
		    (double)s->blks_read * BLOCK_BYTES / MB / (double)s->calls, s->calls, timing),
	    xprintf("make it read fewer pages (an index for its predicate: see the index "
		    "suggestions), or raise shared_buffers (now %s) if the data it reads should "
		    "stay in memory",
		    r->shared_buffers ? r->shared_buffers : "unknown"),
	    impact);
}

static void rows_finding(struct run *r, enum finding_kind kind, int64_t queryid,
			 const char *database, const char *text, const struct qshape *q,
			 const struct findings_stmt *s)
{
	double rows = (double)s->rows / (double)s->calls;
	if (kind == FINDING_NO_LIMIT) {
		add(r, kind, queryid, database, text,
		    xprintf("%.0f rows per call without LIMIT (%lld calls, %lld rows); %.1f ms "
			    "per call",
			    rows, s->calls, s->rows, s->total_ms / (double)s->calls),
		    xprintf("fetch a page at a time: ORDER BY a key and LIMIT n, the next page "
			    "WHERE key > the last one seen (keyset pagination); or aggregate in "
			    "SQL if the client only summarizes the rows"),
		    s->total_ms);
		return;
	}
	enum qshape_kind k = q ? q->kind : QSHAPE_OTHER;
	const char *verb = k == QSHAPE_UPDATE   ? "changes"
			   : k == QSHAPE_DELETE ? "deletes"
			   : k == QSHAPE_INSERT ? "inserts"
			   : k == QSHAPE_SELECT ? "returns"
						: "processes";
	char *fix;
	if (k == QSHAPE_UPDATE || k == QSHAPE_DELETE)
		fix = xprintf("work in batches of a few thousand rows (WHERE id IN (SELECT id ... "
			      "LIMIT 5000) in a loop, each batch its own transaction): fewer row "
			      "locks held at once, less WAL in one go, less for autovacuum at "
			      "once; and check that the WHERE clause matches only the rows meant");
	else if (k == QSHAPE_INSERT)
		fix = xprintf("bulk loads are faster with COPY; if this copies a table, check "
			      "that it has to");
	else if (k == QSHAPE_SELECT)
		fix = xprintf("lower the LIMIT and fetch the rest a page at a time (keyset "
			      "pagination), or aggregate in SQL");
	else
		fix = xprintf("check that it has to touch that many rows each time");
	add(r, FINDING_MANY_ROWS, queryid, database, text,
	    xprintf("%s %.0f rows per call (%lld calls, %lld rows); %.1f ms per call", verb, rows,
		    s->calls, s->rows, s->total_ms / (double)s->calls),
	    fix, s->total_ms);
}

static int statements(struct run *r)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(r->db, stmt_sql, -1, &st, NULL) != SQLITE_OK) {
		store_fail(r);
		return -1;
	}
	sqlite3_bind_int64(st, 1, r->opt->from_us);
	sqlite3_bind_int64(st, 2, r->dbid);
	sqlite3_bind_text(st, 3, r->dbname ? r->dbname : "", -1, SQLITE_TRANSIENT);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *text = (const char *)sqlite3_column_text(st, 3);
		if (!text || ownstmt_is_own(text))
			continue;
		int64_t queryid = sqlite3_column_int64(st, 0), userid = sqlite3_column_int64(st, 1);
		const char *database = (const char *)sqlite3_column_text(st, 2);
		struct findings_stmt s = {
			.calls = sqlite3_column_int64(st, 4),
			.total_ms = sqlite3_column_double(st, 5),
			.rows = sqlite3_column_int64(st, 6),
			.blks_hit = sqlite3_column_int64(st, 7),
			.blks_read = sqlite3_column_int64(st, 8),
			.temp_written = sqlite3_column_int64(st, 9),
			.read_ms = sqlite3_column_double(st, 10),
		};
		char *perr = NULL;
		struct qshape *q = qshape_parse(text, &perr);
		free(perr);
		unsigned kinds = findings_rate(&s, q);
		if (kinds & (1u << FINDING_TEMP_SPILL))
			spill(r, queryid, userid, database, text, &s);
		if (kinds & (1u << FINDING_CACHE_MISS))
			cache_miss(r, queryid, database, text, &s);
		if (kinds & (1u << FINDING_NO_LIMIT))
			rows_finding(r, FINDING_NO_LIMIT, queryid, database, text, q, &s);
		if (kinds & (1u << FINDING_MANY_ROWS))
			rows_finding(r, FINDING_MANY_ROWS, queryid, database, text, q, &s);
		int drc =
			r->conn && q && q->nwraps ? defeated(r, queryid, database, text, q, &s) : 0;
		qshape_free(q);
		if (drc < 0) {
			sqlite3_finalize(st);
			return -1;
		}
	}
	if (rc != SQLITE_DONE) {
		store_fail(r);
		sqlite3_finalize(st);
		return -1;
	}
	sqlite3_finalize(st);
	return 0;
}

/* --- what the pooler saw --------------------------------------------------- */

/* The pooler names databases as its [databases] section does: with a
 * connection, its database under any name whose samples carry its OID. */
#define POOL_DB_FILTER                                                                             \
	" (?2 < 0 OR database = ?3 OR database IN (SELECT i.dbname FROM sample_intervals AS i"     \
	" JOIN statement_samples AS s ON s.interval_id = i.id WHERE s.dbid = ?2"                   \
	" AND i.end_us >= ?1))"

static const char repeat_sql[] =
	"SELECT database, statement, count(*), sum(executions), max(executions), sum(total_us),"
	" sum(scope_us), group_concat(DISTINCT application_name)"
	" FROM repeat_events WHERE at_us >= ?1 AND executions >= ?4 AND" POOL_DB_FILTER
	" GROUP BY database, statement HAVING count(*) >= ?5";

static const char xact_sql[] =
	"SELECT database, application_name, sum(xacts), sum(xact_us), max(xact_max_us),"
	" sum(idle_us), max(idle_max_us),"
	" sum(CASE WHEN xact_max_us >= ?4 THEN 1 ELSE 0 END)"
	" FROM xact_samples WHERE at_us >= ?1 AND" POOL_DB_FILTER
	" GROUP BY database, application_name";

static sqlite3_stmt *pool_prepare(struct run *r, const char *sql)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(r->db, sql, -1, &st, NULL) != SQLITE_OK) {
		store_fail(r);
		return NULL;
	}
	sqlite3_bind_int64(st, 1, r->opt->from_us);
	sqlite3_bind_int64(st, 2, r->dbid);
	sqlite3_bind_text(st, 3, r->dbname ? r->dbname : "", -1, SQLITE_TRANSIENT);
	return st;
}

static int repeats(struct run *r)
{
	sqlite3_stmt *st = pool_prepare(r, repeat_sql);
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 4, FINDINGS_REPEAT_MIN_EXECUTIONS);
	sqlite3_bind_int64(st, 5, FINDINGS_REPEAT_MIN_XACTS);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *database = (const char *)sqlite3_column_text(st, 0);
		const char *text = (const char *)sqlite3_column_text(st, 1);
		long long scopes = sqlite3_column_int64(st, 2), execs = sqlite3_column_int64(st, 3);
		long long max = sqlite3_column_int64(st, 4);
		double total_ms = (double)sqlite3_column_int64(st, 5) / 1000.0;
		double scope_ms = (double)sqlite3_column_int64(st, 6) / 1000.0;
		const char *apps = (const char *)sqlite3_column_text(st, 7);
		char *any = findings_any_rewrite(text ? text : "");
		char *fix;
		if (any)
			fix = xprintf(
				"fetch all the rows in one query: %s with an array of the keys "
				"(or JOIN it into the query that produced the keys)",
				any);
		else
			fix = xprintf(
				"fetch all the rows in one query: pass the keys as an array "
				"(col = ANY($1)) or JOIN it into the query that produced them");
		free(any);
		add(r, FINDING_REPEATED, 0, database, text,
		    xprintf("run %.0f times per transaction (max %lld) in %lld transactions of %s; "
			    "%.1f ms of server time per transaction, %.0f%% of the transaction",
			    (double)execs / (double)scopes, max, scopes,
			    apps && *apps ? apps : "(no application_name)",
			    total_ms / (double)scopes,
			    scope_ms > 0 ? 100 * total_ms / scope_ms : 0),
		    fix, total_ms);
	}
	if (rc != SQLITE_DONE) {
		store_fail(r);
		sqlite3_finalize(st);
		return -1;
	}
	sqlite3_finalize(st);
	return 0;
}

static int xacts(struct run *r)
{
	sqlite3_stmt *st = pool_prepare(r, xact_sql);
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 4, FINDINGS_LONG_XACT_US);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *database = (const char *)sqlite3_column_text(st, 0);
		const char *app = (const char *)sqlite3_column_text(st, 1);
		long long n = sqlite3_column_int64(st, 2);
		int64_t xact_us = sqlite3_column_int64(st, 3), max_us = sqlite3_column_int64(st, 4);
		int64_t idle_us = sqlite3_column_int64(st, 5), gap_us = sqlite3_column_int64(st, 6);
		long long long_intervals = sqlite3_column_int64(st, 7);
		const char *name = app && *app ? app : "(no application_name)";
		if (findings_long_xact(max_us))
			add(r, FINDING_LONG_XACT, 0, database, name,
			    xprintf("longest transaction %.1f s; sample intervals with one over "
				    "%.0f s: %lld; %lld transactions, %.1f ms on average",
				    (double)max_us / 1e6, (double)FINDINGS_LONG_XACT_US / 1e6,
				    long_intervals, n,
				    n ? (double)xact_us / 1000.0 / (double)n : 0),
			    xprintf("application %s holds transactions open for seconds: commit "
				    "in smaller units of work and keep slow work (remote calls, "
				    "file I/O, user input) out of them; each one holds a server "
				    "connection, its locks and the xmin horizon that vacuum waits "
				    "on",
				    name),
			    (double)max_us / 1000.0 * (double)long_intervals);
		if (findings_idle(xact_us, idle_us, gap_us))
			add(r, FINDING_IDLE_IN_XACT, 0, database, name,
			    xprintf("idle in transaction %.1f s in all, %.0f%% of its transaction "
				    "time, longest gap %.1f s; %lld transactions",
				    (double)idle_us / 1e6,
				    xact_us ? 100.0 * (double)idle_us / (double)xact_us : 0,
				    (double)gap_us / 1e6, n),
			    xprintf("application %s keeps transactions open while it works "
				    "elsewhere: send the statements of a transaction together and "
				    "commit before waiting on anything else; ALTER ROLE ... SET "
				    "idle_in_transaction_session_timeout caps the damage",
				    name),
			    (double)idle_us / 1000.0);
	}
	if (rc != SQLITE_DONE) {
		store_fail(r);
		sqlite3_finalize(st);
		return -1;
	}
	sqlite3_finalize(st);
	return 0;
}

/* --- entry points ---------------------------------------------------------- */

static int by_impact(const void *a, const void *b)
{
	const struct finding *x = a, *y = b;
	if (x->impact_ms != y->impact_ms)
		return x->impact_ms < y->impact_ms ? 1 : -1;
	if (x->kind != y->kind)
		return (int)x->kind - (int)y->kind;
	return strcmp(x->subject, y->subject);
}

int findings_run(sqlite3 *db, PGconn *conn, const struct findings_options *options,
		 struct finding **out, size_t *n, char **err)
{
	struct run r = {.db = db, .conn = conn, .opt = options, .dbid = -1};
	*out = NULL;
	*n = 0;
	*err = NULL;
	if (conn) {
		PGresult *res = query(&r, db_sql, 0, NULL);
		if (!res)
			goto fail;
		if (PQntuples(res) == 1) {
			r.dbid = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
			r.dbname = xstrdup(PQgetvalue(res, 0, 1));
			r.shared_buffers = xstrdup(PQgetvalue(res, 0, 2));
			r.work_mem = xstrdup(PQgetvalue(res, 0, 3));
		}
		PQclear(res);
	}
	if (statements(&r) < 0 || repeats(&r) < 0 || xacts(&r) < 0)
		goto fail;
	if (r.n)
		qsort(r.out, r.n, sizeof(*r.out), by_impact);
	*out = r.out;
	*n = r.n;
	free(r.dbname);
	free(r.shared_buffers);
	free(r.work_mem);
	return 0;
fail:
	findings_free(r.out, r.n);
	free(r.dbname);
	free(r.shared_buffers);
	free(r.work_mem);
	*err = r.err ? r.err : xstrdup("query suggestions failed");
	return -1;
}

void findings_free(struct finding *findings, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(findings[i].database);
		free(findings[i].subject);
		free(findings[i].evidence);
		free(findings[i].fix);
	}
	free(findings);
}
