/* pglifeguard-cli report: one self-contained HTML file (inline CSS and
 * SVG, no script, nothing fetched) with the store's window: pools,
 * checkout percentiles, top statements, lock waits, leaks, alerts, and
 * suggestions (index ones with -d). */
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cli.h"
#include "clifmt.h"
#include "output.h"
#include "ownstmt.h"
#include "svg.h"
#include "advisor/advisor.h"
#include "advisor/findings.h"

#define CHART_W 1000
#define CHART_H 260
#define MAX_POOLS 8
#define TOP_CHART 5
#define TOP_TABLE 20
#define MAX_ROWS 200

/* A growable series owned by the report. */
struct series {
	char *name;
	double *x, *y;
	size_t n, cap;
};

static bool series_add(struct series *s, double x, double y)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		double *nx = realloc(s->x, cap * sizeof(*nx));
		if (!nx)
			return false;
		s->x = nx;
		double *ny = realloc(s->y, cap * sizeof(*ny));
		if (!ny)
			return false;
		s->y = ny;
		s->cap = cap;
	}
	s->x[s->n] = x;
	s->y[s->n] = y;
	s->n++;
	return true;
}

static void series_free(struct series *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(s[i].name);
		free(s[i].x);
		free(s[i].y);
	}
}

struct report {
	FILE *out;
	sqlite3 *db;
	usec_t from, to;
	PGconn *conn; /* -d: the database to advise, else NULL */
	int timeout_ms; /* statement_timeout of the advisors' statements */
	bool failed;
};

static sqlite3_stmt *prepare(struct report *r, const char *sql)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(r->db, sql, -1, &st, NULL) != SQLITE_OK) {
		fprintf(stderr, "pglifeguard-cli report: cannot read the store: %s\n",
			sqlite3_errmsg(r->db));
		r->failed = true;
		return NULL;
	}
	sqlite3_bind_int64(st, 1, (sqlite3_int64)r->from);
	return st;
}

static void finish(struct report *r, sqlite3_stmt *st, int step)
{
	if (step != SQLITE_DONE && !r->failed) {
		fprintf(stderr, "pglifeguard-cli report: cannot read the store: %s\n",
			sqlite3_errmsg(r->db));
		r->failed = true;
	}
	sqlite3_finalize(st);
}

enum chart_kind { CHART_LINE, CHART_LOG, CHART_STACKED };

/* chart_of writes a chart of the N series S over the time they span: lines
 * (on a log value axis with CHART_LOG) or stacked areas. */
static void chart_of(struct report *r, const char *y_label, struct series *s, size_t n,
		     enum chart_kind kind)
{
	struct svg_series v[16];
	if (n > 16)
		n = 16;
	for (size_t i = 0; i < n; i++)
		v[i] = (struct svg_series){s[i].name, s[i].x, s[i].y, s[i].n};
	/* the time axis spans the samples, not the whole window: a daemon that
	 * ran ten minutes of a day still gets a readable chart */
	double lo = 0, hi = 0;
	bool any = false;
	for (size_t i = 0; i < n; i++)
		if (s[i].n) {
			if (!any || s[i].x[0] < lo)
				lo = s[i].x[0];
			if (!any || s[i].x[s[i].n - 1] > hi)
				hi = s[i].x[s[i].n - 1];
			any = true;
		}
	if (!any) {
		lo = (double)r->from;
		hi = (double)r->to;
	} else if (hi - lo < 60e6) {
		lo -= (60e6 - (hi - lo)) / 2;
		hi = lo + 60e6;
	}
	struct svg_chart c = {CHART_W, CHART_H, lo, hi, y_label, kind == CHART_LOG};
	fputs("<div class=\"chart\">", r->out);
	if (kind == CHART_STACKED)
		svg_area_chart(r->out, &c, v, n);
	else
		svg_line_chart(r->out, &c, v, n);
	fputs("</div>\n", r->out);
}

static void chart(struct report *r, const char *y_label, struct series *s, size_t n)
{
	chart_of(r, y_label, s, n, CHART_LINE);
}

static void text(struct report *r, const char *s)
{
	svg_escape(r->out, s, 0);
}

static void time_cell(struct report *r, sqlite3_int64 us)
{
	time_t t = (time_t)(us / 1000000);
	struct tm tm;
	char buf[32];
	gmtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm);
	fprintf(r->out, "<td class=\"t\">%s</td>", buf);
}

static void text_cell(struct report *r, sqlite3_stmt *st, int col, size_t max)
{
	fputs("<td>", r->out);
	const char *s = (const char *)sqlite3_column_text(st, col);
	if (s)
		svg_escape(r->out, s, max);
	else
		fputs("<span class=\"dim\">none</span>", r->out);
	fputs("</td>", r->out);
}

static void empty(struct report *r, const char *why)
{
	fputs("<p class=\"empty\">", r->out);
	text(r, why);
	fputs("</p>\n", r->out);
}

/* fill_gaps puts VALUE into S across gaps of more than twice its shortest
 * sample spacing: a pool without clients or servers writes no sample, and
 * a line straight across the gap would claim it stayed busy (VALUE 0) or
 * that checkouts went on ending (VALUE NaN: the line breaks there). */
static void fill_gaps(struct series *s, double value)
{
	double step = 0;
	for (size_t i = 1; i < s->n; i++) {
		double d = s->x[i] - s->x[i - 1];
		if (d > 0 && (step == 0 || d < step))
			step = d;
	}
	if (step == 0)
		return;
	struct series z = {.name = s->name};
	for (size_t i = 0; i < s->n; i++) {
		if (i && s->x[i] - s->x[i - 1] > 2 * step) {
			series_add(&z, s->x[i - 1] + step, value);
			series_add(&z, s->x[i] - step, value);
		}
		series_add(&z, s->x[i], s->y[i]);
	}
	free(s->x);
	free(s->y);
	*s = z;
}

/* Pools: clients active and waiting, servers active, pool_size. */
static void section_pools(struct report *r)
{
	fputs("<h2 id=\"pools\">Pool utilization and waiting clients</h2>\n", r->out);
	sqlite3_stmt *pools =
		prepare(r, "SELECT database, username, max(cl_waiting), "
			   "max(maxwait_us) FROM pool_samples WHERE at_us >= ?1 "
			   "GROUP BY database, username "
			   "ORDER BY max(cl_waiting) DESC, max(sv_active) DESC, 1, 2");
	sqlite3_stmt *st = prepare(r, "SELECT at_us, cl_active, cl_waiting, sv_active, pool_size "
				      "FROM pool_samples WHERE at_us >= ?1 AND database = ?2 "
				      "AND username = ?3 ORDER BY at_us");
	if (!pools || !st) {
		sqlite3_finalize(pools);
		sqlite3_finalize(st);
		return;
	}
	int step, n = 0;
	while ((step = sqlite3_step(pools)) == SQLITE_ROW) {
		if (n++ >= MAX_POOLS)
			continue;
		const char *dbname = (const char *)sqlite3_column_text(pools, 0);
		const char *user = (const char *)sqlite3_column_text(pools, 1);
		fputs("<h3>", r->out);
		text(r, dbname);
		fputs(" / ", r->out);
		text(r, user);
		fprintf(r->out,
			"</h3>\n<p>most clients waiting at once: %d; longest wait: %.3f s</p>\n",
			sqlite3_column_int(pools, 2), sqlite3_column_int64(pools, 3) / 1e6);
		struct series s[4] = {{.name = "clients active"},
				      {.name = "clients waiting"},
				      {.name = "servers active"},
				      {.name = "pool_size"}};
		sqlite3_reset(st);
		sqlite3_bind_text(st, 2, dbname, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 3, user, -1, SQLITE_TRANSIENT);
		int s2;
		while ((s2 = sqlite3_step(st)) == SQLITE_ROW)
			for (int i = 0; i < 4; i++)
				series_add(&s[i], (double)sqlite3_column_int64(st, 0),
					   sqlite3_column_double(st, i + 1));
		if (s2 != SQLITE_DONE)
			r->failed = true;
		for (int i = 0; i < 4; i++)
			fill_gaps(&s[i], 0);
		chart(r, "connections", s, 4);
		for (int i = 0; i < 4; i++) {
			free(s[i].x);
			free(s[i].y);
		}
	}
	if (!n)
		empty(r, "No pool samples in the window (pools without clients or servers are "
			 "not sampled; is store_path set and the pooler running?).");
	else if (n > MAX_POOLS)
		fprintf(r->out, "<p>%d more pools not charted.</p>\n", n - MAX_POOLS);
	sqlite3_finalize(st);
	finish(r, pools, step);
}

/* ms_cell writes microseconds column COL of ST as milliseconds, or "-"
 * when NULL. */
static void ms_cell(struct report *r, sqlite3_stmt *st, int col)
{
	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		fputs("<td class=\"n\">-</td>", r->out);
	else
		fprintf(r->out, "<td class=\"n\">%.3f</td>",
			(double)sqlite3_column_int64(st, col) / 1e3);
}

/* Checkouts: the pooler's per-interval percentiles of the time clients
 * held a server connection, one chart per pool and a table. */
static void section_checkouts(struct report *r)
{
	fputs("<h2 id=\"checkouts\">Checkout duration percentiles</h2>\n", r->out);
	sqlite3_stmt *pools =
		prepare(r, "SELECT database, username, sum(checkouts), count(checkout_p50_us),"
			   " max(checkout_p50_us), max(checkout_p95_us), max(checkout_p99_us),"
			   " max(checkout_max_us) FROM pool_samples WHERE at_us >= ?1"
			   " GROUP BY database, username"
			   " HAVING sum(checkouts) > 0 OR count(checkout_p50_us) > 0"
			   " ORDER BY max(checkout_p99_us) DESC, 1, 2");
	sqlite3_stmt *st = prepare(r, "SELECT at_us, checkout_p50_us, checkout_p95_us,"
				      " checkout_p99_us, checkout_max_us FROM pool_samples"
				      " WHERE at_us >= ?1 AND database = ?2 AND username = ?3"
				      " ORDER BY at_us");
	if (!pools || !st) {
		sqlite3_finalize(pools);
		sqlite3_finalize(st);
		return;
	}
	int step, n = 0;
	while ((step = sqlite3_step(pools)) == SQLITE_ROW) {
		if (n++ == 0)
			fputs("<p>Each pool sample carries the percentiles of the checkouts (a "
			      "client holding a server connection) that ended in the "
			      "sample_interval before it. Percentiles of different intervals "
			      "do not add up to the window's percentile: the table shows the "
			      "highest per-interval value, an upper bound of the window's (no "
			      "interval had more than 1% of its checkouts above the highest p99, "
			      "so neither had the window); max is exact.</p>\n"
			      "<table><tr><th>database / user</th><th>checkouts</th>"
			      "<th>intervals with checkouts</th><th>p50 ms (at most)</th>"
			      "<th>p95 ms (at most)</th><th>p99 ms (at most)</th>"
			      "<th>max ms</th></tr>\n",
			      r->out);
		fputs("<tr><td>", r->out);
		text(r, (const char *)sqlite3_column_text(pools, 0));
		fputs(" / ", r->out);
		text(r, (const char *)sqlite3_column_text(pools, 1));
		fprintf(r->out, "</td><td class=\"n\">%lld</td><td class=\"n\">%lld</td>",
			(long long)sqlite3_column_int64(pools, 2),
			(long long)sqlite3_column_int64(pools, 3));
		for (int c = 4; c < 8; c++)
			ms_cell(r, pools, c);
		fputs("</tr>\n", r->out);
	}
	if (n)
		fputs("</table>\n", r->out);
	else
		empty(r, "No checkout ended in the window (or the pooler writing the store does "
			 "not record checkout durations). Live percentiles are in the pooler's "
			 "/metrics (histogram pglifeguard_pool_checkout_duration_seconds).");
	finish(r, pools, step);
	if (r->failed || !n) {
		sqlite3_finalize(st);
		return;
	}
	/* the charts, same order as the table */
	pools = prepare(r, "SELECT database, username FROM pool_samples WHERE at_us >= ?1"
			   " GROUP BY database, username"
			   " HAVING sum(checkouts) > 0 OR count(checkout_p50_us) > 0"
			   " ORDER BY max(checkout_p99_us) DESC, 1, 2");
	if (!pools) {
		sqlite3_finalize(st);
		return;
	}
	n = 0;
	while ((step = sqlite3_step(pools)) == SQLITE_ROW) {
		if (n++ >= MAX_POOLS)
			continue;
		const char *dbname = (const char *)sqlite3_column_text(pools, 0);
		const char *user = (const char *)sqlite3_column_text(pools, 1);
		fputs("<h3>", r->out);
		text(r, dbname);
		fputs(" / ", r->out);
		text(r, user);
		fputs(": checkout duration per interval</h3>\n", r->out);
		struct series s[4] = {
			{.name = "p50"}, {.name = "p95"}, {.name = "p99"}, {.name = "max"}};
		sqlite3_reset(st);
		sqlite3_bind_text(st, 2, dbname, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 3, user, -1, SQLITE_TRANSIENT);
		int s2;
		while ((s2 = sqlite3_step(st)) == SQLITE_ROW)
			for (int i = 0; i < 4; i++)
				series_add(&s[i], (double)sqlite3_column_int64(st, 0),
					   sqlite3_column_type(st, i + 1) == SQLITE_NULL
						   ? NAN
						   : (double)sqlite3_column_int64(st, i + 1) / 1e3);
		if (s2 != SQLITE_DONE)
			r->failed = true;
		for (int i = 0; i < 4; i++)
			fill_gaps(&s[i], NAN);
		/* log scale: a p50 of 1 ms and a max of minutes both read */
		chart_of(r, "checkout duration, ms (log scale)", s, 4, CHART_LOG);
		for (int i = 0; i < 4; i++) {
			free(s[i].x);
			free(s[i].y);
		}
	}
	if (n > MAX_POOLS)
		fprintf(r->out, "<p>%d more pools not charted.</p>\n", n - MAX_POOLS);
	sqlite3_finalize(st);
	finish(r, pools, step);
}

/* others fills *OTHER with what the N top series S leave of every
 * interval's execution time (all statements) and returns whether any is
 * left: the stack's top edge is then the whole workload's time. */
static bool others(struct report *r, const struct series *s, size_t n, struct series *other)
{
	sqlite3_stmt *st = prepare(r, "SELECT i.end_us, sum(s.total_exec_time)"
				      " FROM statement_samples AS s"
				      " JOIN sample_intervals AS i ON i.id = s.interval_id"
				      " LEFT JOIN statements AS t ON t.queryid = s.queryid"
				      "  AND t.userid = s.userid AND t.dbid = s.dbid"
				      " WHERE i.end_us >= ?1 AND NOT pglg_own_statement(t.query)"
				      " GROUP BY i.end_us ORDER BY i.end_us");
	if (!st)
		return false;
	struct svg_series v[TOP_CHART];
	for (size_t i = 0; i < n && i < TOP_CHART; i++)
		v[i] = (struct svg_series){s[i].name, s[i].x, s[i].y, s[i].n};
	double *x, *y;
	size_t u = svg_stack(v, n, &x, &y), k = 0;
	bool any = false;
	int step;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		double at = (double)sqlite3_column_int64(st, 0);
		double rest = sqlite3_column_double(st, 1);
		while (k < u && x[k] < at)
			k++;
		if (k < u && x[k] == at)
			rest -= y[(n - 1) * u + k];
		if (rest < 1e-6) /* rounding: the top statements are all of it */
			rest = 0;
		else
			any = true;
		series_add(other, at, rest);
	}
	finish(r, st, step);
	free(x);
	free(y);
	if (any && !(other->name = strdup("all other statements")))
		any = false;
	if (!any) {
		free(other->x);
		free(other->y);
		memset(other, 0, sizeof(*other));
	}
	return any;
}

static const char top_sql[] =
	"SELECT s.queryid, s.userid, s.dbid, i.dbname, t.query,"
	" sum(s.calls), sum(s.total_exec_time), sum(s.rows),"
	" sum(s.shared_blks_hit), sum(s.shared_blks_read), sum(s.temp_blks_written)"
	" FROM statement_samples AS s"
	" JOIN sample_intervals AS i ON i.id = s.interval_id"
	" LEFT JOIN statements AS t"
	"  ON t.queryid = s.queryid AND t.userid = s.userid AND t.dbid = s.dbid"
	" WHERE i.end_us >= ?1 AND NOT pglg_own_statement(t.query)"
	" GROUP BY s.queryid, s.userid, s.dbid, i.dbname"
	" ORDER BY 7 DESC, 6 DESC LIMIT " /* TOP_TABLE */ "20";

static void section_top(struct report *r)
{
	fputs("<h2 id=\"top\">Top statements</h2>\n", r->out);
	sqlite3_stmt *st = prepare(r, top_sql);
	sqlite3_stmt *ts = prepare(r, "SELECT i.end_us, sum(s.total_exec_time)"
				      " FROM statement_samples AS s"
				      " JOIN sample_intervals AS i ON i.id = s.interval_id"
				      " WHERE i.end_us >= ?1 AND s.queryid = ?2 AND s.userid = ?3"
				      " AND s.dbid = ?4 GROUP BY i.end_us ORDER BY i.end_us");
	if (!st || !ts) {
		sqlite3_finalize(st);
		sqlite3_finalize(ts);
		return;
	}
	struct series s[TOP_CHART + 1];
	memset(s, 0, sizeof(s));
	size_t ns = 0;
	int step, n = 0;
	char *table = NULL;
	size_t table_len = 0;
	FILE *t = open_memstream(&table, &table_len);
	if (!t) {
		r->failed = true;
		sqlite3_finalize(st);
		sqlite3_finalize(ts);
		return;
	}
	FILE *out = r->out;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		n++;
		const char *query = (const char *)sqlite3_column_text(st, 4);
		long long calls = sqlite3_column_int64(st, 5);
		double total = sqlite3_column_double(st, 6);
		long long hit = sqlite3_column_int64(st, 8), rd = sqlite3_column_int64(st, 9);
		r->out = t;
		fprintf(t,
			"<tr><td class=\"n\">%d</td><td class=\"n\">%.1f</td>"
			"<td class=\"n\">%lld</td><td class=\"n\">%.3f</td>"
			"<td class=\"n\">%lld</td><td class=\"n\">",
			n, total, calls, calls ? total / (double)calls : 0.0,
			(long long)sqlite3_column_int64(st, 7));
		if (hit + rd)
			fprintf(t, "%.1f", 100.0 * (double)hit / (double)(hit + rd));
		else
			fputs("-", t);
		fputs("</td>", t);
		text_cell(r, st, 3, 0);
		fputs("<td class=\"q\">", t);
		svg_escape(t, query ? query : "(text not stored yet)", 400);
		fputs("</td></tr>\n", t);
		r->out = out;
		if (ns < TOP_CHART) {
			char *name = NULL;
			size_t len = 0;
			FILE *m = open_memstream(&name, &len);
			if (m) {
				/* raw text: the chart escapes legends */
				fprintf(m, "#%d (%.0f ms) %.100s", n, total,
					query ? query : "(text not stored yet)");
				fclose(m);
			}
			s[ns].name = name;
			sqlite3_reset(ts);
			for (int k = 0; k < 3; k++)
				sqlite3_bind_int64(ts, k + 2, sqlite3_column_int64(st, k));
			int s2;
			while ((s2 = sqlite3_step(ts)) == SQLITE_ROW)
				series_add(&s[ns], (double)sqlite3_column_int64(ts, 0),
					   sqlite3_column_double(ts, 1));
			if (s2 != SQLITE_DONE)
				r->failed = true;
			ns++;
		}
	}
	fclose(t);
	if (n) {
		fprintf(out,
			"<h3>Execution time per sampling interval, top %zu by total time, "
			"stacked</h3>\n",
			ns);
		if (ns && others(r, s, ns, &s[ns]))
			ns++;
		chart_of(r, "execution ms per interval", s, ns, CHART_STACKED);
		fputs("<h3>Top 20 by total execution time</h3>\n<table><tr><th>#</th>"
		      "<th>total ms</th><th>calls</th><th>mean ms</th><th>rows</th><th>hit%</th>"
		      "<th>database</th><th>statement</th></tr>\n",
		      out);
		fwrite(table, 1, table_len, out);
		fputs("</table>\n", out);
	} else
		empty(r, "No statements sampled in the window (pg_stat_statements installed? "
			 "sample_interval elapsed twice?).");
	free(table);
	series_free(s, ns);
	sqlite3_finalize(ts);
	finish(r, st, step);
}

static void section_locks(struct report *r)
{
	fputs("<h2 id=\"locks\">Lock waits</h2>\n", r->out);
	sqlite3_stmt *st = prepare(r, "SELECT dbname, at_us, waiters FROM lock_samples "
				      "WHERE at_us >= ?1 ORDER BY dbname, at_us");
	if (!st)
		return;
	struct series s[8];
	memset(s, 0, sizeof(s));
	size_t ns = 0;
	int step;
	bool waited = false;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		const char *dbname = (const char *)sqlite3_column_text(st, 0);
		if (!ns || strcmp(s[ns - 1].name, dbname)) {
			if (ns == 8)
				continue;
			if (!(s[ns].name = strdup(dbname ? dbname : "")))
				break;
			ns++;
		}
		if (sqlite3_column_int(st, 2))
			waited = true;
		series_add(&s[ns - 1], (double)sqlite3_column_int64(st, 1),
			   sqlite3_column_double(st, 2));
	}
	finish(r, st, step);
	if (!waited) {
		empty(r, "No lock waits sampled in the window.");
		series_free(s, ns);
		return;
	}
	fputs("<h3>Backends waiting on a lock</h3>\n", r->out);
	chart(r, "waiting backends", s, ns);
	series_free(s, ns);
	/* the longest waits: one wait is one (pid, wait_start_us) over samples */
	st = prepare(r, "SELECT min(l.at_us), max(l.at_us) - b.wait_start_us, l.dbname, b.pid,"
			" b.mode, b.relation, b.application_name, b.query"
			" FROM lock_backends AS b JOIN lock_samples AS l ON l.id = b.sample_id"
			" WHERE l.at_us >= ?1 AND b.waiting"
			" GROUP BY l.dbname, b.pid, b.wait_start_us ORDER BY 2 DESC LIMIT 20");
	if (!st)
		return;
	fputs("<h3>Longest waits</h3>\n<table><tr><th>first seen (UTC)</th><th>waited s</th>"
	      "<th>database</th><th>pid</th><th>mode</th><th>relation</th>"
	      "<th>application_name</th><th>statement</th></tr>\n",
	      r->out);
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		fputs("<tr>", r->out);
		time_cell(r, sqlite3_column_int64(st, 0));
		fprintf(r->out, "<td class=\"n\">%.1f</td>", sqlite3_column_int64(st, 1) / 1e6);
		text_cell(r, st, 2, 0);
		fprintf(r->out, "<td class=\"n\">%d</td>", sqlite3_column_int(st, 3));
		text_cell(r, st, 4, 0);
		text_cell(r, st, 5, 0);
		text_cell(r, st, 6, 0);
		fputs("<td class=\"q\">", r->out);
		svg_escape(r->out, (const char *)sqlite3_column_text(st, 7), 300);
		fputs("</td></tr>\n", r->out);
	}
	fputs("</table>\n", r->out);
	finish(r, st, step);
}

/* event_list writes the rows SQL (?1: the window's start) selects, at
 * most MAX_ROWS of them, one per call of ROW, under the table HEADER; NONE
 * when there is none, and how many more CMD (a pglifeguard-cli command)
 * lists when there are more. */
static void event_list(struct report *r, const char *sql, const char *header,
		       void (*row)(struct report *r, sqlite3_stmt *st), const char *none,
		       const char *cmd)
{
	sqlite3_stmt *st = prepare(r, sql);
	if (!st)
		return;
	int step, n = 0;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		if (n++ == MAX_ROWS)
			continue;
		if (n == 1)
			fprintf(r->out, "<table><tr>%s</tr>\n", header);
		row(r, st);
	}
	if (n)
		fputs("</table>\n", r->out);
	else
		empty(r, none);
	if (n > MAX_ROWS)
		fprintf(r->out, "<p>%d more not shown (pglifeguard-cli %s lists all).</p>\n",
			n - MAX_ROWS, cmd);
	finish(r, st, step);
}

static void leak_row(struct report *r, sqlite3_stmt *st)
{
	fputs("<tr class=\"bad\">", r->out);
	time_cell(r, sqlite3_column_int64(st, 0));
	text_cell(r, st, 1, 0);
	text_cell(r, st, 2, 0);
	fprintf(r->out, "<td>C-%lld ", (long long)sqlite3_column_int64(st, 3));
	text(r, (const char *)sqlite3_column_text(st, 4));
	fprintf(r->out, ":%d</td>", sqlite3_column_int(st, 5));
	text_cell(r, st, 6, 0);
	text_cell(r, st, 7, 0);
	fprintf(r->out, "<td class=\"n\">%.1f</td><td class=\"n\">%.1f</td>",
		sqlite3_column_double(st, 8), sqlite3_column_double(st, 9));
	if (sqlite3_column_type(st, 10) == SQLITE_NULL)
		fputs("<td>still held</td>", r->out);
	else
		fprintf(r->out, "<td class=\"n\">%.1f</td>", sqlite3_column_double(st, 10));
	fputs("<td class=\"q\">", r->out);
	svg_escape(r->out, (const char *)sqlite3_column_text(st, 11), 300);
	fputs("</td></tr>\n", r->out);
}

static void section_leaks(struct report *r)
{
	fputs("<h2 id=\"leaks\">Suspected connection leaks</h2>\n", r->out);
	event_list(r,
		   "SELECT at_us, database, username, client_id, client_addr, client_port,"
		   " application_name, state, held_s, idle_s, returned_after_s, last_statement"
		   " FROM leak_events WHERE at_us >= ?1 ORDER BY at_us, id",
		   "<th>at (UTC)</th><th>database</th><th>user</th><th>client</th>"
		   "<th>application_name</th><th>state</th><th>held s</th><th>idle s</th>"
		   "<th>returned after s</th><th>last statement</th>",
		   leak_row, "No suspected leaks in the window.", "leaks");
}

static void alert_row(struct report *r, sqlite3_stmt *st)
{
	const char *state = (const char *)sqlite3_column_text(st, 2);
	fprintf(r->out, "<tr class=\"%s\">", state && !strcmp(state, "firing") ? "bad" : "ok");
	time_cell(r, sqlite3_column_int64(st, 0));
	for (int k = 1; k <= 4; k++)
		text_cell(r, st, k, 0);
	fprintf(r->out, "<td class=\"n\">%g</td><td class=\"n\">%g</td>",
		sqlite3_column_double(st, 5), sqlite3_column_double(st, 6));
	fputs("<td class=\"q\">", r->out);
	svg_escape(r->out, (const char *)sqlite3_column_text(st, 7), 500);
	fputs("</td></tr>\n", r->out);
}

static void section_alerts(struct report *r)
{
	fputs("<h2 id=\"alerts\">Alerts</h2>\n", r->out);
	event_list(r,
		   "SELECT at_us, alert, state, database, username, value, threshold, detail"
		   " FROM alert_events WHERE at_us >= ?1 ORDER BY at_us, id",
		   "<th>at (UTC)</th><th>alert</th><th>state</th><th>database</th><th>user</th>"
		   "<th>value</th><th>threshold</th><th>detail</th>",
		   alert_row, "No alerts fired or resolved in the window.", "alerts");
}

/* The advisor's index suggestions (advisor.h), with -d only. */

/* index_table writes TITLE and a table of the N existing indexes XS worth
 * dropping: unused (their scans) or REDUNDANT (what covers them); NONE
 * when there is none. */
static void index_table(struct report *r, const char *title, const char *none,
			const struct advisor_index *xs, size_t n, bool redundant)
{
	char size[32];
	fprintf(r->out, "<h3>%s</h3>\n", title);
	if (!n) {
		empty(r, none);
		return;
	}
	fprintf(r->out,
		"<table><tr><th>index</th><th>table</th><th>size</th><th>%s</th>"
		"<th>definition</th></tr>\n",
		redundant ? "covered by" : "scans");
	for (size_t i = 0; i < n; i++) {
		const struct advisor_index *x = &xs[i];
		cli_human_size((double)x->size_bytes, size, sizeof(size));
		fputs("<tr><td>", r->out);
		text(r, x->index);
		fputs("</td><td>", r->out);
		text(r, x->table);
		fprintf(r->out, "</td><td class=\"n\">%s</td>", size);
		if (redundant) {
			fputs("<td>", r->out);
			text(r, x->covered_by);
		} else {
			fprintf(r->out, "<td class=\"n\">%lld", x->scans);
		}
		fputs("</td><td class=\"q\">", r->out);
		text(r, x->definition);
		fputs("</td></tr>\n", r->out);
	}
	fputs("</table>\n", r->out);
}

static void index_suggestions(struct report *r, const struct advisor_result *a)
{
	char size[32];
	fputs("<h3>Index suggestions for database ", r->out);
	text(r, a->database);
	fprintf(r->out,
		"</h3>\n<p>%ld statements of this database in the window, %ld of them parsed "
		"and planned; each suggestion was checked with hypopg: the planner's cost of "
		"the statements it helps dropped at least %gx with it.</p>\n",
		a->statements, a->analyzed, ADVISOR_MIN_GAIN);
	if (!a->statements)
		empty(r, "No statements of this database sampled in the window (is it in "
			 "monitor_databases, and pg_stat_statements installed?).");
	else if (!a->nsuggestions)
		empty(r, "No index would make the window's statements meaningfully cheaper.");
	else
		fputs("<table><tr><th>#</th><th>to run</th><th>saved ms (est.)</th>"
		      "<th>size (est.)</th><th>reads helped</th><th>writes to the table</th>"
		      "</tr>\n",
		      r->out);
	for (size_t i = 0; i < a->nsuggestions; i++) {
		const struct advisor_suggestion *s = &a->suggestions[i];
		cli_human_size(s->size_bytes, size, sizeof(size));
		fprintf(r->out, "<tr><td class=\"n\">%zu</td><td class=\"q\">", i + 1);
		text(r, s->create_sql);
		fprintf(r->out,
			";</td><td class=\"n\">%.1f</td><td class=\"n\">%s</td>"
			"<td class=\"n\">%lld</td><td class=\"n\">%lld</td></tr>\n"
			"<tr><td></td><td colspan=\"5\"><table class=\"sub\"><tr><th>queryid</th>"
			"<th>cost before</th><th>cost after</th><th>calls</th><th>total ms</th>"
			"<th>statement helped</th></tr>\n",
			s->saved_ms, size, s->read_calls, s->write_calls);
		for (size_t k = 0; k < s->nhelped; k++) {
			const struct advisor_helped *h = &s->helped[k];
			fprintf(r->out,
				"<tr><td class=\"n\">%" PRId64 "</td><td class=\"n\">%.1f</td>"
				"<td class=\"n\">%.1f</td><td class=\"n\">%lld</td>"
				"<td class=\"n\">%.1f</td><td class=\"q\">",
				h->queryid, h->cost_before, h->cost_after, h->calls, h->total_ms);
			svg_escape(r->out, h->query, 300);
			fputs("</td></tr>\n", r->out);
		}
		fputs("</table></td></tr>\n", r->out);
	}
	if (a->nsuggestions)
		fputs("</table>\n<p>CREATE INDEX CONCURRENTLY cannot run in a transaction block; "
		      "pglifeguard-cli suggest --apply-sql writes them as a script.</p>\n",
		      r->out);
	if (a->nrejected)
		fprintf(r->out,
			"<p>%zu candidates rejected (pglifeguard-cli suggest --json says "
			"why).</p>\n",
			a->nrejected);
	for (size_t i = 0; i < a->nanalyzed_tables; i++) {
		fputs("<p>Ran ANALYZE on ", r->out);
		text(r, a->analyzed_tables[i]);
		fputs(" (never analyzed).</p>\n", r->out);
	}
	index_table(r, "Unused indexes",
		    "None (no index without scans since the statistics were reset, unique "
		    "ones aside).",
		    a->unused, a->nunused, false);
	index_table(r, "Redundant indexes", "None (no index whose keys lead another index).",
		    a->redundant, a->nredundant, true);
}

/* Query suggestions (findings.h): from the store alone without -d. */
static void query_suggestions(struct report *r)
{
	fputs("<h3 id=\"findings\">Query suggestions</h3>\n", r->out);
	struct findings_options fo = {.from_us = (int64_t)r->from, .timeout_ms = r->timeout_ms};
	struct finding *f = NULL;
	size_t n = 0;
	char *err = NULL;
	if (findings_run(r->db, r->conn, &fo, &f, &n, &err) < 0) {
		fprintf(stderr, "pglifeguard-cli report: query suggestions: %s\n",
			err ? err : "failed");
		fputs("<p class=\"bad\">Query suggestions failed: ", r->out);
		text(r, err ? err : "unknown error");
		fputs("</p>\n", r->out);
		free(err);
		return;
	}
	if (!r->conn)
		fputs("<p>Without -d only the suggestions the store alone supports are shown; "
		      "those that check the live catalog (a function on an indexed column) "
		      "need -d CONNINFO.</p>\n",
		      r->out);
	if (!n)
		empty(r, "No query suggestions for the window.");
	else
		fputs("<table><tr><th>kind</th><th>database</th><th>subject</th>"
		      "<th>evidence</th><th>fix</th><th>time at stake ms</th></tr>\n",
		      r->out);
	for (size_t i = 0; i < n; i++) {
		fputs("<tr><td>", r->out);
		text(r, finding_kind_name(f[i].kind));
		fputs("</td><td>", r->out);
		text(r, f[i].database);
		fputs("</td><td class=\"q\">", r->out);
		svg_escape(r->out, f[i].subject, 300);
		fputs("</td><td>", r->out);
		text(r, f[i].evidence);
		fputs("</td><td>", r->out);
		text(r, f[i].fix);
		fprintf(r->out, "</td><td class=\"n\">%.1f</td></tr>\n", f[i].impact_ms);
	}
	if (n)
		fputs("</table>\n", r->out);
	findings_free(f, n);
}

static void section_suggestions(struct report *r)
{
	fputs("<h2 id=\"suggestions\">Suggestions</h2>\n", r->out);
	if (!r->conn)
		empty(r, "Index suggestions are checked live against the database: run "
			 "pglifeguard-cli report -d CONNINFO (or pglifeguard-cli suggest -d "
			 "CONNINFO, same --since) for index suggestions, unused and redundant "
			 "indexes.");
	else {
		struct advisor_options opt = {.from_us = (int64_t)r->from,
					      .max_statements = 50,
					      .timeout_ms = r->timeout_ms,
					      .analyze = true};
		struct advisor_result a;
		char *err = NULL;
		if (advisor_run(r->conn, r->db, &opt, &a, &err) < 0) {
			fprintf(stderr, "pglifeguard-cli report: index suggestions: %s\n",
				err ? err : "failed");
			fputs("<p class=\"bad\">The index advisor failed: ", r->out);
			text(r, err ? err : "unknown error");
			fputs("</p>\n", r->out);
			free(err);
		} else
			index_suggestions(r, &a);
		advisor_result_free(&a);
	}
	query_suggestions(r);
}

static const char css[] =
	"body{font-family:sans-serif;margin:24px;color:#222;max-width:1100px}"
	"h1{font-size:22px}h2{font-size:18px;border-bottom:1px solid #ccc;margin-top:32px}"
	"h3{font-size:14px}table{border-collapse:collapse;font-size:12px;width:100%}"
	"th,td{border:1px solid #ddd;padding:3px 6px;text-align:left;vertical-align:top}"
	"th{background:#f3f3f3}td.n{text-align:right;font-variant-numeric:tabular-nums}"
	"td.t{white-space:nowrap}td.q{font-family:monospace;word-break:break-all}"
	"tr.bad td{background:#fff3f3}tr.ok td{background:#f3fff3}"
	".empty{color:#666;font-style:italic}.dim{color:#999}nav a{margin-right:12px}"
	".chart{overflow-x:auto}table.sub{font-size:11px}table.sub th{background:#fafafa}"
	"p.bad{color:#a00}";

static void write_report(struct report *r, const char *store_path)
{
	char from[32], to[32];
	time_t t = (time_t)(r->from / USEC_PER_SEC);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(from, sizeof(from), "%Y-%m-%d %H:%M:%S", &tm);
	t = (time_t)(r->to / USEC_PER_SEC);
	gmtime_r(&t, &tm);
	strftime(to, sizeof(to), "%Y-%m-%d %H:%M:%S", &tm);
	fprintf(r->out,
		"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
		"<title>pglifeguard report %s to %s UTC</title><style>%s</style></head>\n"
		"<body>\n<h1>pglifeguard report</h1>\n<p>Store ",
		from, to, css);
	text(r, store_path);
	fprintf(r->out,
		", window %s to %s UTC.</p>\n<nav><a href=\"#pools\">Pools</a>"
		"<a href=\"#checkouts\">Checkouts</a><a href=\"#top\">Top statements</a>"
		"<a href=\"#locks\">Lock waits</a><a href=\"#leaks\">Leaks</a>"
		"<a href=\"#alerts\">Alerts</a><a href=\"#suggestions\">Suggestions</a></nav>\n",
		from, to);
	section_pools(r);
	section_checkouts(r);
	section_top(r);
	section_locks(r);
	section_leaks(r);
	section_alerts(r);
	section_suggestions(r);
	fputs("</body></html>\n", r->out);
}

static void report_usage(FILE *out)
{
	fprintf(out, "usage: pglifeguard-cli [-s STORE] report -o FILE.html [--since DURATION]\n"
		     "           [-d CONNINFO]\n");
}

int cli_report(const char *store_path, int argc, char **argv)
{
	static const struct option opts[] = {
		{"output", required_argument, NULL, 'o'},
		{"since", required_argument, NULL, 'S'},
		{"dbname", required_argument, NULL, 'd'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	usec_t since = 86400 * USEC_PER_SEC;
	const char *path = NULL, *conninfo = NULL;
	int c;
	while ((c = getopt_long(argc, argv, "o:S:d:h", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			conninfo = optarg;
			break;
		case 'o':
			path = optarg;
			break;
		case 'S':
			if (!cli_parse_duration(optarg, &since)) {
				fprintf(stderr,
					"pglifeguard-cli report: bad --since \"%s\" "
					"(examples: 30s, 15m, 1h, 2d)\n",
					optarg);
				return CLI_USAGE;
			}
			break;
		case 'h':
			report_usage(stdout);
			return CLI_OK;
		default:
			report_usage(stderr);
			return CLI_USAGE;
		}
	}
	if (optind < argc || !path || !path[0]) {
		if (optind < argc)
			fprintf(stderr, "pglifeguard-cli report: unexpected argument \"%s\"\n",
				argv[optind]);
		else
			fprintf(stderr, "pglifeguard-cli report: -o FILE.html is required\n");
		report_usage(stderr);
		return CLI_USAGE;
	}
	struct store *store = cli_open_store(store_path);
	if (!store)
		return CLI_STORE;
	struct report r = {.db = store_db(store), .to = timeutil_wall(), .timeout_ms = 5000};
	r.from = r.to - since;
	if (ownstmt_register(r.db) < 0) {
		fprintf(stderr, "pglifeguard-cli report: %s\n", sqlite3_errmsg(r.db));
		store_close(store);
		return CLI_STORE;
	}
	if (conninfo && !(r.conn = cli_connect_db("report", conninfo))) {
		store_close(store);
		return CLI_DB;
	}
	/* write beside the target, rename when complete: never a half report */
	size_t len = strlen(path) + 8;
	char *tmp = malloc(len);
	if (!tmp) {
		PQfinish(r.conn);
		store_close(store);
		return CLI_STORE;
	}
	snprintf(tmp, len, "%s.tmp", path);
	r.out = fopen(tmp, "w");
	if (!r.out) {
		perror(tmp);
		free(tmp);
		PQfinish(r.conn);
		store_close(store);
		return CLI_USAGE;
	}
	write_report(&r, store_path);
	bool write_failed = ferror(r.out) != 0;
	if (fclose(r.out) != 0)
		write_failed = true;
	PQfinish(r.conn);
	store_close(store);
	int rc = CLI_OK;
	if (write_failed) {
		fprintf(stderr, "pglifeguard-cli report: cannot write %s\n", tmp);
		rc = CLI_USAGE;
	} else if (r.failed)
		rc = CLI_STORE;
	else if (rename(tmp, path) != 0) {
		perror(path);
		rc = CLI_USAGE;
	}
	if (rc != CLI_OK)
		remove(tmp);
	else
		printf("pglifeguard-cli report: wrote %s\n", path);
	free(tmp);
	return rc;
}
