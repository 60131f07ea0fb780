/* pglifeguard-cli locks: the blocking trees of the latest lock sample of
 * each database, and over a window the longest waits and the blockers that
 * held up the most waits, from the lock tables of the store. */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "locktree.h"
#include "output.h"
#include "store.h"
#include "timeutil.h"

#define QUERY_WIDTH 50

/* The backend columns every section reads, in this order. */
#define BACKEND_COLS                                                                               \
	"b.pid, b.waiting, b.root_pid, b.datname, b.usename, b.application_name,"                  \
	" b.client_addr, b.client_port, b.state, b.query, b.backend_xid, b.xact_start_us,"         \
	" b.query_start_us, b.wait_start_us, b.locktype, b.mode, b.relation,"                      \
	" b.pooler_client_id, b.pooler_client_addr, b.pooler_client_port, b.pooler_user,"          \
	" b.pooler_database, b.pooler_application_name, b.pooler_server_id"
#define NBACKEND_COLS 24

static const char latest_sql[] = "SELECT id, dbname, at_us, waiters FROM lock_samples"
				 " WHERE id IN (SELECT max(id) FROM lock_samples GROUP BY dbname)"
				 " ORDER BY dbname";

static const char backends_sql[] =
	"SELECT " BACKEND_COLS " FROM lock_backends AS b WHERE b.sample_id = ?1 ORDER BY b.pid";

static const char edges_sql[] =
	"SELECT waiter_pid, blocker_pid FROM lock_edges WHERE sample_id = ?1";

/* one row per wait (database, pid, wait start); details from its last sample */
static const char longest_sql[] =
	"WITH w AS ("
	" SELECT s.dbname, b.pid, b.wait_start_us, max(s.at_us) AS last_us, count(*) AS samples,"
	"  b.sample_id"
	" FROM lock_backends AS b JOIN lock_samples AS s ON s.id = b.sample_id"
	" WHERE b.waiting AND b.wait_start_us IS NOT NULL AND s.at_us >= ?1"
	" GROUP BY s.dbname, b.pid, b.wait_start_us)"
	" SELECT w.dbname, w.last_us - w.wait_start_us, w.samples, w.last_us, "
	"r.query, " BACKEND_COLS
	" FROM w JOIN lock_backends AS b ON b.sample_id = w.sample_id AND b.pid = w.pid"
	" LEFT JOIN lock_backends AS r ON r.sample_id = w.sample_id AND r.pid = b.root_pid"
	" ORDER BY 2 DESC, w.dbname, w.pid LIMIT ?2";

/* one row per root blocker (database, pid, transaction start) */
static const char blockers_sql[] =
	"WITH r AS ("
	" SELECT s.dbname, b.pid, b.xact_start_us, min(s.at_us) AS first_us,"
	"  max(s.at_us) AS last_us, count(*) AS samples, b.sample_id"
	" FROM lock_backends AS b JOIN lock_samples AS s ON s.id = b.sample_id"
	" WHERE NOT b.waiting AND b.root_pid = b.pid AND s.at_us >= ?1"
	" GROUP BY s.dbname, b.pid, b.xact_start_us),"
	" v AS ("
	" SELECT r.dbname, r.pid, r.xact_start_us, w.pid AS wpid, w.wait_start_us,"
	"  max(ws.at_us) - w.wait_start_us AS wait_us"
	" FROM r JOIN lock_samples AS ws ON ws.dbname = r.dbname"
	"  AND ws.at_us BETWEEN r.first_us AND r.last_us"
	" JOIN lock_backends AS w ON w.sample_id = ws.id AND w.waiting AND w.root_pid = r.pid"
	" GROUP BY r.dbname, r.pid, r.xact_start_us, w.pid, w.wait_start_us)"
	" SELECT r.dbname, (SELECT count(*) FROM v WHERE v.dbname = r.dbname AND v.pid = r.pid"
	"   AND v.xact_start_us IS r.xact_start_us),"
	"  (SELECT max(wait_us) FROM v WHERE v.dbname = r.dbname AND v.pid = r.pid"
	"   AND v.xact_start_us IS r.xact_start_us),"
	"  r.samples, r.last_us - r.first_us, r.last_us, " BACKEND_COLS
	" FROM r JOIN lock_backends AS b ON b.sample_id = r.sample_id AND b.pid = r.pid"
	" ORDER BY 2 DESC, 3 DESC, r.dbname, r.pid LIMIT ?2";

/* A backend row, its strings copied out of SQLite. */
struct backend {
	long long pid;
	bool waiting;
	long long root_pid; /* 0: NULL */
	char *datname, *usename, *app, *client_addr, *state, *query, *xid;
	long long client_port;
	bool has_client_port;
	long long xact_start_us, query_start_us, wait_start_us;
	char *locktype, *mode, *relation;
	long long pg_client_id, pg_client_port, pg_server_id;
	char *pg_client_addr, *pg_user, *pg_database, *pg_app;
};

static char *dup_col(sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);
	return t ? strdup((const char *)t) : NULL;
}

static long long ll_col(sqlite3_stmt *st, int col)
{
	return sqlite3_column_type(st, col) == SQLITE_NULL ? 0 : sqlite3_column_int64(st, col);
}

static void read_backend(sqlite3_stmt *st, int k, struct backend *b)
{
	b->pid = ll_col(st, k++);
	b->waiting = ll_col(st, k++) != 0;
	b->root_pid = ll_col(st, k++);
	b->datname = dup_col(st, k++);
	b->usename = dup_col(st, k++);
	b->app = dup_col(st, k++);
	b->client_addr = dup_col(st, k++);
	b->has_client_port = sqlite3_column_type(st, k) != SQLITE_NULL;
	b->client_port = ll_col(st, k++);
	b->state = dup_col(st, k++);
	b->query = dup_col(st, k++);
	b->xid = dup_col(st, k++);
	b->xact_start_us = ll_col(st, k++);
	b->query_start_us = ll_col(st, k++);
	b->wait_start_us = ll_col(st, k++);
	b->locktype = dup_col(st, k++);
	b->mode = dup_col(st, k++);
	b->relation = dup_col(st, k++);
	b->pg_client_id = ll_col(st, k++);
	b->pg_client_addr = dup_col(st, k++);
	b->pg_client_port = ll_col(st, k++);
	b->pg_user = dup_col(st, k++);
	b->pg_database = dup_col(st, k++);
	b->pg_app = dup_col(st, k++);
	b->pg_server_id = ll_col(st, k++);
}

static void free_backend(struct backend *b)
{
	char *s[] = {b->datname,        b->usename, b->app,         b->client_addr, b->state,
		     b->query,          b->xid,     b->locktype,    b->mode,        b->relation,
		     b->pg_client_addr, b->pg_user, b->pg_database, b->pg_app};
	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++)
		free(s[i]);
}

static void json_num_or_null(const char *name, long long v, bool present)
{
	printf(", \"%s\": ", name);
	if (present)
		printf("%lld", v);
	else
		fputs("null", stdout);
}

static void json_str_field(const char *name, const char *v)
{
	printf(", \"%s\": ", name);
	cli_json_string(stdout, v);
}

static void json_seconds(const char *name, long long us, bool present)
{
	printf(", \"%s\": ", name);
	if (present)
		printf("%.3f", (double)us / (double)USEC_PER_SEC);
	else
		fputs("null", stdout);
}

/* json_backend_fields prints a backend's fields after an opening brace
 * that already holds "pid". AT_US: when it was sampled. */
static void json_backend_fields(const struct backend *b, long long at_us)
{
	printf(", \"waiting\": %s", b->waiting ? "true" : "false");
	json_num_or_null("root_pid", b->root_pid, b->root_pid != 0);
	json_str_field("datname", b->datname);
	json_str_field("usename", b->usename);
	json_str_field("application_name", b->app);
	json_str_field("client_addr", b->client_addr);
	json_num_or_null("client_port", b->client_port, b->has_client_port);
	json_str_field("state", b->state);
	json_str_field("query", b->query);
	json_str_field("backend_xid", b->xid);
	json_num_or_null("xact_start_us", b->xact_start_us, b->xact_start_us != 0);
	json_num_or_null("query_start_us", b->query_start_us, b->query_start_us != 0);
	json_num_or_null("wait_start_us", b->wait_start_us, b->wait_start_us != 0);
	json_seconds("wait_seconds", at_us - b->wait_start_us, b->waiting && b->wait_start_us);
	json_seconds("xact_seconds", at_us - b->xact_start_us, b->xact_start_us != 0);
	json_str_field("locktype", b->locktype);
	json_str_field("mode", b->mode);
	json_str_field("relation", b->relation);
	json_num_or_null("pglifeguard_server_id", b->pg_server_id, b->pg_server_id != 0);
	fputs(", \"pglifeguard_client\": ", stdout);
	if (!b->pg_client_id) {
		fputs("null", stdout);
		return;
	}
	printf("{\"id\": %lld, \"addr\": ", b->pg_client_id);
	cli_json_string(stdout, b->pg_client_addr);
	printf(", \"port\": %lld, \"user\": ", b->pg_client_port);
	cli_json_string(stdout, b->pg_user);
	fputs(", \"database\": ", stdout);
	cli_json_string(stdout, b->pg_database);
	fputs(", \"application_name\": ", stdout);
	cli_json_string(stdout, b->pg_app);
	putchar('}');
}

/* text_backend_tail prints the columns after PID and WAIT_S. */
static void text_backend_tail(const struct backend *b)
{
	char lock[96], client[96], via[160];
	if (b->waiting)
		snprintf(lock, sizeof(lock), "%s %s%s%s", b->mode ? b->mode : "?",
			 b->locktype ? b->locktype : "?", b->relation ? " " : "",
			 b->relation ? b->relation : "");
	else
		snprintf(lock, sizeof(lock), "-");
	if (b->client_addr)
		snprintf(client, sizeof(client), "%s:%lld", b->client_addr, b->client_port);
	else
		snprintf(client, sizeof(client), "%s", b->has_client_port ? "unix" : "-");
	if (b->pg_client_id)
		snprintf(via, sizeof(via), "C-%lld %s:%lld %s", b->pg_client_id,
			 b->pg_client_addr ? b->pg_client_addr : "", b->pg_client_port,
			 b->pg_app && b->pg_app[0] ? b->pg_app : "-");
	else if (b->pg_server_id)
		snprintf(via, sizeof(via), "S-%lld (no client)", b->pg_server_id);
	else
		snprintf(via, sizeof(via), "-");
	printf(" %-34.34s %-19.19s %-10.10s %-21.21s %-30.30s ", lock, b->state ? b->state : "-",
	       b->usename ? b->usename : "-", client, via);
	cli_one_line(stdout, b->query ? b->query : "-", QUERY_WIDTH);
	putchar('\n');
}

static void text_header(const char *first, const char *second)
{
	printf("  %-16s %8s %-34s %-19s %-10s %-21s %-30s %s\n", first, second,
	       "lock (waiting for)", "state", "user", "client", "pglifeguard client", "query");
}

static int find_backend(const struct backend *v, size_t n, long long pid)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (v[mid].pid == pid)
			return (int)mid;
		if (v[mid].pid < pid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* print_current prints the trees of one sample; false on an SQLite error. */
static bool print_current(sqlite3 *db, long long id, const char *dbname, long long at_us,
			  long long waiters, bool json, bool first)
{
	sqlite3_stmt *bs = NULL, *es = NULL;
	struct backend *v = NULL;
	size_t n = 0, cap = 0;
	struct locktree_edge *edges = NULL;
	size_t ne = 0, ecap = 0;
	struct locktree_node *nodes = NULL;
	long nn = 0;
	bool ok = false;
	if (sqlite3_prepare_v2(db, backends_sql, -1, &bs, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, edges_sql, -1, &es, NULL) != SQLITE_OK)
		goto done;
	sqlite3_bind_int64(bs, 1, id);
	sqlite3_bind_int64(es, 1, id);
	int rc;
	while ((rc = sqlite3_step(bs)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			struct backend *t = realloc(v, cap * sizeof(*v));
			if (!t)
				goto done;
			v = t;
		}
		read_backend(bs, 0, &v[n++]);
	}
	if (rc != SQLITE_DONE)
		goto done;
	while ((rc = sqlite3_step(es)) == SQLITE_ROW) {
		if (ne == ecap) {
			ecap = ecap ? 2 * ecap : 16;
			struct locktree_edge *t = realloc(edges, ecap * sizeof(*t));
			if (!t)
				goto done;
			edges = t;
		}
		edges[ne].waiter = (int32_t)sqlite3_column_int64(es, 0);
		edges[ne].blocker = (int32_t)sqlite3_column_int64(es, 1);
		ne++;
	}
	if (rc != SQLITE_DONE || (nn = locktree_build(edges, ne, &nodes)) < 0)
		goto done;
	double age = (double)(timeutil_wall() - at_us) / (double)USEC_PER_SEC;
	if (json) {
		printf("%s\n    {\"database\": ", first ? "" : ",");
		cli_json_string(stdout, dbname);
		printf(", \"sampled_at_us\": %lld, \"age_seconds\": %.3f, \"waiters\": %lld, "
		       "\"trees\": [",
		       at_us, age, waiters);
		int trees = 0;
		for (long i = 0; i < nn; i++) {
			if (nodes[i].depth == 0)
				printf("%s\n      {\"root_pid\": %d, \"cycle\": %s, \"backends\": "
				       "[",
				       trees++ ? "]}," : "", nodes[i].pid,
				       nodes[i].cycle ? "true" : "false");
			int k = find_backend(v, n, nodes[i].pid);
			printf("%s\n        {\"pid\": %d, \"depth\": %d", nodes[i].depth ? "," : "",
			       nodes[i].pid, nodes[i].depth);
			json_num_or_null("blocked_by", nodes[i].parent, nodes[i].depth > 0);
			if (k >= 0)
				json_backend_fields(&v[k], at_us);
			putchar('}');
		}
		printf("%s]}", trees ? "]}\n    " : "");
	} else {
		printf("%s: %lld waiting, sampled %.1f s ago\n", dbname, waiters, age);
		if (nn) {
			text_header("pid", "wait_s");
			for (long i = 0; i < nn; i++) {
				char pid[32];
				int d = nodes[i].depth < 6 ? nodes[i].depth : 6;
				snprintf(pid, sizeof(pid), "%*s%s%d%s", 2 * d, "", d ? "└ " : "",
					 nodes[i].pid, nodes[i].cycle ? " (cycle)" : "");
				int k = find_backend(v, n, nodes[i].pid);
				/* "└" is 3 bytes shown as 1 column */
				printf("  %-*s", d ? 18 : 16, pid);
				if (k < 0) {
					printf(" %8s (not sampled)\n", "-");
					continue;
				}
				if (v[k].waiting && v[k].wait_start_us)
					printf(" %8.1f",
					       (double)(at_us - v[k].wait_start_us) / USEC_PER_SEC);
				else
					printf(" %8s", "-");
				text_backend_tail(&v[k]);
			}
		}
	}
	ok = true;
done:
	for (size_t i = 0; i < n; i++)
		free_backend(&v[i]);
	free(v);
	free(edges);
	free(nodes);
	sqlite3_finalize(bs);
	sqlite3_finalize(es);
	return ok;
}

static bool print_longest(sqlite3 *db, usec_t from, long limit, bool json)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, longest_sql, -1, &st, NULL) != SQLITE_OK)
		return false;
	sqlite3_bind_int64(st, 1, from);
	sqlite3_bind_int64(st, 2, limit);
	if (json)
		fputs(",\n  \"longest_waits\": [", stdout);
	else
		printf("\nlongest waits:\n");
	int rc, n = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *dbname = (const char *)sqlite3_column_text(st, 0);
		long long wait_us = ll_col(st, 1), samples = ll_col(st, 2), last_us = ll_col(st, 3);
		const char *root_query = (const char *)sqlite3_column_text(st, 4);
		struct backend b;
		read_backend(st, 5, &b);
		if (json) {
			printf("%s\n    {\"database\": ", n ? "," : "");
			cli_json_string(stdout, dbname);
			printf(", \"pid\": %lld", b.pid);
			json_seconds("longest_wait_seconds", wait_us, true);
			printf(", \"samples\": %lld, \"last_seen_us\": %lld", samples, last_us);
			json_str_field("root_query", root_query);
			json_backend_fields(&b, last_us);
			putchar('}');
		} else {
			if (!n)
				text_header("database/pid", "wait_s");
			char id[64];
			snprintf(id, sizeof(id), "%.8s/%lld", dbname ? dbname : "", b.pid);
			printf("  %-16s %8.1f", id, (double)wait_us / USEC_PER_SEC);
			text_backend_tail(&b);
		}
		free_backend(&b);
		n++;
	}
	if (json)
		printf("%s]", n ? "\n  " : "");
	else if (!n)
		printf("  (none in the window)\n");
	sqlite3_finalize(st);
	return rc == SQLITE_DONE;
}

static bool print_blockers(sqlite3 *db, usec_t from, long limit, bool json)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, blockers_sql, -1, &st, NULL) != SQLITE_OK)
		return false;
	sqlite3_bind_int64(st, 1, from);
	sqlite3_bind_int64(st, 2, limit);
	if (json)
		fputs(",\n  \"top_blockers\": [", stdout);
	else
		printf("\nblockers that held up the most waits:\n");
	int rc, n = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *dbname = (const char *)sqlite3_column_text(st, 0);
		long long waits = ll_col(st, 1), longest = ll_col(st, 2), samples = ll_col(st, 3);
		long long span = ll_col(st, 4), last_us = ll_col(st, 5);
		struct backend b;
		read_backend(st, 6, &b);
		if (json) {
			printf("%s\n    {\"database\": ", n ? "," : "");
			cli_json_string(stdout, dbname);
			printf(", \"pid\": %lld, \"waits_blocked\": %lld", b.pid, waits);
			json_seconds("longest_wait_seconds", longest, true);
			json_seconds("blocking_seconds", span, true);
			printf(", \"samples\": %lld, \"last_seen_us\": %lld", samples, last_us);
			json_backend_fields(&b, last_us);
			putchar('}');
		} else {
			if (!n)
				printf("  %-16s %6s %8s %-34s %-19s %-10s %-21s %-30s %s\n",
				       "database/pid", "waits", "longest", "lock", "state", "user",
				       "client", "pglifeguard client", "query");
			char id[64];
			snprintf(id, sizeof(id), "%.8s/%lld", dbname ? dbname : "", b.pid);
			printf("  %-16s %6lld %8.1f", id, waits, (double)longest / USEC_PER_SEC);
			text_backend_tail(&b);
		}
		free_backend(&b);
		n++;
	}
	if (json)
		printf("%s]", n ? "\n  " : "");
	else if (!n)
		printf("  (none in the window)\n");
	sqlite3_finalize(st);
	return rc == SQLITE_DONE;
}

static const char usage_line[] =
	"usage: pglifeguard-cli [-s STORE] locks [--since DURATION] [--limit N] [--json]\n";

int cli_locks(const char *store_path, int argc, char **argv)
{
	usec_t since = 3600 * USEC_PER_SEC;
	long limit = 10;
	bool json = false;
	int opt = cli_window_options("locks", usage_line, argc, argv, &since, &limit, &json);
	if (opt >= 0)
		return opt;
	struct store *store = cli_open_store(store_path);
	if (!store)
		return CLI_STORE;
	sqlite3 *db = store_db(store);
	usec_t from = timeutil_wall() - since;
	sqlite3_stmt *st = NULL;
	int rc = CLI_STORE;
	if (sqlite3_prepare_v2(db, latest_sql, -1, &st, NULL) != SQLITE_OK)
		goto fail;
	if (json)
		printf("{\"since_seconds\": %lld,\n  \"current\": [",
		       (long long)(since / USEC_PER_SEC));
	else
		printf("current blocking trees (latest lock sample of each database):\n");
	int step, n = 0;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		const char *dbname = (const char *)sqlite3_column_text(st, 1);
		if (!print_current(db, sqlite3_column_int64(st, 0), dbname ? dbname : "",
				   sqlite3_column_int64(st, 2), sqlite3_column_int64(st, 3), json,
				   n == 0))
			goto fail;
		n++;
	}
	if (step != SQLITE_DONE)
		goto fail;
	if (json)
		printf("%s]", n ? "\n  " : "");
	else if (!n)
		printf("  (no lock waits sampled yet)\n");
	if (!json)
		printf("\nover the last %lld s:", (long long)(since / USEC_PER_SEC));
	if (!print_longest(db, from, limit, json) || !print_blockers(db, from, limit, json))
		goto fail;
	if (json)
		fputs("\n}\n", stdout);
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
