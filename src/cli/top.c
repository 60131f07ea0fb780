/* pglifeguard-cli top: statements by total execution time over a window,
 * from the per-interval deltas in the store. */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "output.h"
#include "ownstmt.h"
#include "store.h"
#include "timeutil.h"

#define QUERY_WIDTH 60

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
	" ORDER BY 7 DESC, 6 DESC LIMIT ?2";

static const char usage_line[] =
	"usage: pglifeguard-cli [-s STORE] top [--since DURATION] [--limit N] [--json]\n";

int cli_top(const char *store_path, int argc, char **argv)
{
	usec_t since = 3600 * USEC_PER_SEC;
	long limit = 20;
	bool json = false;
	int opt = cli_window_options("top", usage_line, argc, argv, &since, &limit, &json);
	if (opt >= 0)
		return opt;
	struct store *store = cli_open_store(store_path);
	if (!store)
		return CLI_STORE;
	sqlite3 *db = store_db(store);
	usec_t from = timeutil_wall() - since;
	sqlite3_stmt *st = NULL;
	int rc = CLI_STORE;
	if (ownstmt_register(db) < 0 || sqlite3_prepare_v2(db, top_sql, -1, &st, NULL) != SQLITE_OK)
		goto fail;
	long long intervals, lost;
	if (cli_window_intervals(db, from, &intervals, &lost) < 0)
		goto fail;
	sqlite3_bind_int64(st, 1, from);
	sqlite3_bind_int64(st, 2, limit);
	if (json)
		printf("{\"since_seconds\": %lld, \"intervals\": %lld, \"lost_data_intervals\": "
		       "%lld, "
		       "\"statements\": [",
		       (long long)(since / USEC_PER_SEC), intervals, lost);
	else
		printf("%12s %10s %10s %10s %6s %10s  %-12s %s\n", "total_ms", "calls", "mean_ms",
		       "rows", "hit%", "temp_wr", "database", "query");
	int step, n = 0;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		const char *dbname = (const char *)sqlite3_column_text(st, 3);
		const char *query = (const char *)sqlite3_column_text(st, 4);
		long long calls = sqlite3_column_int64(st, 5);
		double total = sqlite3_column_double(st, 6);
		long long rows = sqlite3_column_int64(st, 7);
		long long hit = sqlite3_column_int64(st, 8), rd = sqlite3_column_int64(st, 9);
		long long temp = sqlite3_column_int64(st, 10);
		double mean = calls ? total / (double)calls : 0.0;
		if (json) {
			printf("%s\n  {\"queryid\": %lld, \"userid\": %lld, \"dbid\": %lld, "
			       "\"database\": ",
			       n ? "," : "", (long long)sqlite3_column_int64(st, 0),
			       (long long)sqlite3_column_int64(st, 1),
			       (long long)sqlite3_column_int64(st, 2));
			cli_json_string(stdout, dbname ? dbname : "");
			fputs(", \"query\": ", stdout);
			if (query)
				cli_json_string(stdout, query);
			else
				fputs("null", stdout);
			printf(", \"calls\": %lld, \"total_exec_time_ms\": %.3f, "
			       "\"mean_exec_time_ms\": %.3f, \"rows\": %lld, "
			       "\"shared_blks_hit\": %lld, \"shared_blks_read\": %lld, "
			       "\"cache_hit_ratio\": ",
			       calls, total, mean, rows, hit, rd);
			if (hit + rd)
				printf("%.4f", (double)hit / (double)(hit + rd));
			else
				fputs("null", stdout);
			printf(", \"temp_blks_written\": %lld}", temp);
		} else {
			char ratio[16];
			if (hit + rd)
				snprintf(ratio, sizeof(ratio), "%.1f",
					 100.0 * (double)hit / (double)(hit + rd));
			else
				snprintf(ratio, sizeof(ratio), "-");
			printf("%12.3f %10lld %10.3f %10lld %6s %10lld  %-12s ", total, calls, mean,
			       rows, ratio, temp, dbname ? dbname : "");
			cli_one_line(stdout, query ? query : "(text not stored yet)", QUERY_WIDTH);
			putchar('\n');
		}
		n++;
	}
	if (step != SQLITE_DONE)
		goto fail;
	if (json)
		printf("%s]}\n", n ? "\n" : "");
	else if (!n)
		printf("(no statements sampled in the window; %lld intervals)\n", intervals);
	rc = CLI_OK;
	goto done;
fail:
	fflush(stdout);
	fprintf(stderr, "pglifeguard-cli: cannot read store %s: %s\n", store_path,
		sqlite3_errmsg(db));
done:
	sqlite3_finalize(st);
	store_close(store);
	return rc;
}
