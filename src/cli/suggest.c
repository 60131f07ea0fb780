/* pglifeguard-cli suggest: index suggestions for the workload in the store,
 * verified with hypopg on the database named by -d, plus unused and
 * redundant indexes; as a table, JSON or a ready SQL script. */
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "advisor/advisor.h"
#include "advisor/verify.h"
#include "cli.h"
#include "findings_out.h"
#include "output.h"
#include "store.h"
#include "timeutil.h"

#define QUERY_WIDTH 70

static void print_json_verify(const struct advisor_helped *h, const struct verify_stmt *v)
{
	printf(", \"verify\": {\"measured\": %s", v->measured ? "true" : "false");
	if (v->measured)
		printf(", \"runs\": %d, \"before_ms\": %.3f, \"after_ms\": %.3f, "
		       "\"measured_speedup\": %.2f, \"estimated_speedup\": %.2f, "
		       "\"uses_index\": %s",
		       v->runs, v->before_ms, v->after_ms,
		       v->after_ms > 0 ? v->before_ms / v->after_ms : 0,
		       h->cost_after > 0 ? h->cost_before / h->cost_after : 0,
		       v->uses_index ? "true" : "false");
	if (v->measured)
		printf(", \"parameters\": \"%s\"", v->drawn  ? "table"
						   : v->runs ? "sampled"
							     : "none");
	printf(", \"rolled_back_writes\": %s, \"note\": ", v->writes ? "true" : "false");
	cli_json_string(stdout, v->note);
	putchar('}');
}

static void print_json(const struct advisor_result *r, usec_t since,
		       const struct verify_result *ver)
{
	printf("{\"database\": ");
	cli_json_string(stdout, r->database);
	printf(", \"since_seconds\": %lld, \"statements\": %ld, \"analyzed\": %ld,\n"
	       " \"suggestions\": [",
	       (long long)(since / USEC_PER_SEC), r->statements, r->analyzed);
	for (size_t i = 0; i < r->nsuggestions; i++) {
		const struct advisor_suggestion *s = &r->suggestions[i];
		printf("%s\n  {\"table\": ", i ? "," : "");
		cli_json_string(stdout, s->table);
		fputs(", \"columns\": ", stdout);
		cli_json_string(stdout, s->key);
		fputs(", \"where\": ", stdout);
		cli_json_string(stdout, s->where);
		fputs(", \"create_sql\": ", stdout);
		cli_json_string(stdout, s->create_sql);
		printf(", \"estimated_size_bytes\": %.0f, \"estimated_time_saved_ms\": %.3f, "
		       "\"read_calls\": %lld, \"write_calls\": %lld, \"statements\": [",
		       s->size_bytes, s->saved_ms, s->read_calls, s->write_calls);
		for (size_t k = 0; k < s->nhelped; k++) {
			const struct advisor_helped *h = &s->helped[k];
			printf("%s\n    {\"queryid\": %" PRId64 ", \"query\": ", k ? "," : "",
			       h->queryid);
			cli_json_string(stdout, h->query);
			printf(", \"calls\": %lld, \"total_exec_time_ms\": %.3f, \"cost_before\": "
			       "%.2f, \"cost_after\": %.2f, \"planned_with\": \"%s\", "
			       "\"parameter_samples\": %zu",
			       h->calls, h->total_ms, h->cost_before, h->cost_after,
			       h->sampled ? "sampled" : "generic", h->samples.n);
			if (ver && k < ver[i].nstmts)
				print_json_verify(h, &ver[i].stmts[k]);
			putchar('}');
		}
		putchar(']');
		if (ver) {
			printf(", \"verify\": {\"error\": ");
			cli_json_string(stdout, ver[i].error);
			printf(", \"lock_timeout\": %s, \"build_ms\": %.3f, "
			       "\"index_size_bytes\": %lld, \"rolled_back\": true}",
			       ver[i].lock_timeout ? "true" : "false", ver[i].build_ms,
			       ver[i].index_bytes);
		}
		putchar('}');
	}
	printf("%s],\n \"rejected\": [", r->nsuggestions ? "\n " : "");
	for (size_t i = 0; i < r->nrejected; i++) {
		const struct advisor_rejected *x = &r->rejected[i];
		printf("%s\n  {\"table\": ", i ? "," : "");
		cli_json_string(stdout, x->table);
		fputs(", \"columns\": ", stdout);
		cli_json_string(stdout, x->key);
		fputs(", \"where\": ", stdout);
		cli_json_string(stdout, x->where);
		printf(", \"queryid\": %" PRId64 ", \"reason\": ", x->queryid);
		cli_json_string(stdout, x->reason);
		putchar('}');
	}
	const struct advisor_index *lists[2] = {r->unused, r->redundant};
	size_t counts[2] = {r->nunused, r->nredundant};
	for (int l = 0; l < 2; l++) {
		printf("%s],\n \"%s\": [", (l ? counts[0] : r->nrejected) ? "\n " : "",
		       l ? "redundant_indexes" : "unused_indexes");
		for (size_t i = 0; i < counts[l]; i++) {
			const struct advisor_index *x = &lists[l][i];
			printf("%s\n  {\"index\": ", i ? "," : "");
			cli_json_string(stdout, x->index);
			fputs(", \"table\": ", stdout);
			cli_json_string(stdout, x->table);
			fputs(", \"definition\": ", stdout);
			cli_json_string(stdout, x->definition);
			printf(", \"size_bytes\": %lld", x->size_bytes);
			if (l) {
				fputs(", \"covered_by\": ", stdout);
				cli_json_string(stdout, x->covered_by);
			} else {
				printf(", \"scans\": %lld", x->scans);
			}
			putchar('}');
		}
	}
	printf("%s],\n \"analyzed_tables\": [", counts[1] ? "\n " : "");
	for (size_t i = 0; i < r->nanalyzed_tables; i++) {
		fputs(i ? ", " : "", stdout);
		cli_json_string(stdout, r->analyzed_tables[i]);
	}
	printf("]");
}

static void print_table_verify(const struct advisor_helped *h, const struct verify_stmt *v)
{
	if (!v->measured) {
		printf("      verify: %s\n", v->note ? v->note : "not measured");
		return;
	}
	char runs[64];
	if (v->drawn)
		snprintf(runs, sizeof(runs), "no samples: parameters drawn from the table");
	else if (v->runs)
		snprintf(runs, sizeof(runs), "mean of %d sampled parameter set%s", v->runs,
			 v->runs == 1 ? "" : "s");
	else
		snprintf(runs, sizeof(runs), "no parameters");
	printf("      verify: measured %.3f ms -> %.3f ms (%.1fx; hypopg estimated %.1fx), "
	       "%s, index %s%s\n",
	       v->before_ms, v->after_ms, v->after_ms > 0 ? v->before_ms / v->after_ms : 0,
	       h->cost_after > 0 ? h->cost_before / h->cost_after : 0, runs,
	       v->uses_index ? "used" : "NOT used",
	       v->writes ? "; its changes were rolled back" : "");
}

static void print_table(const struct advisor_result *r, usec_t since,
			const struct verify_result *ver)
{
	char size[32];
	printf("Index suggestions for database %s (window %llds: %ld statements, %ld planned)\n",
	       r->database, (long long)(since / USEC_PER_SEC), r->statements, r->analyzed);
	if (!r->statements)
		printf("  (no statements of this database sampled in the window: is it in "
		       "monitor_databases, and pg_stat_statements installed?)\n");
	else if (!r->nsuggestions)
		printf("  (none)\n");
	for (size_t i = 0; i < r->nsuggestions; i++) {
		const struct advisor_suggestion *s = &r->suggestions[i];
		cli_human_size(s->size_bytes, size, sizeof(size));
		printf("\n%zu. %s;\n   saves ~%.1f ms of the window's execution time, size ~%s, "
		       "%lld reads helped, %lld writes to the table\n",
		       i + 1, s->create_sql, s->saved_ms, size, s->read_calls, s->write_calls);
		for (size_t k = 0; k < s->nhelped; k++) {
			const struct advisor_helped *h = &s->helped[k];
			char how[64];
			if (h->sampled)
				snprintf(how, sizeof(how), "mean of %zu sampled parameter set%s",
					 h->samples.n, h->samples.n == 1 ? "" : "s");
			else
				snprintf(how, sizeof(how), "generic plan");
			printf("   queryid %" PRId64
			       ": cost %.1f -> %.1f (%s), %lld calls, %.1f ms: ",
			       h->queryid, h->cost_before, h->cost_after, how, h->calls,
			       h->total_ms);
			cli_one_line(stdout, h->query, QUERY_WIDTH);
			putchar('\n');
			if (ver && k < ver[i].nstmts)
				print_table_verify(h, &ver[i].stmts[k]);
		}
		if (ver && ver[i].error) {
			printf("   verify FAILED: %s\n", ver[i].error);
		} else if (ver) {
			char real[32];
			cli_human_size((double)ver[i].index_bytes, real, sizeof(real));
			printf("   verify: built in %.0f ms, %s (estimated %s), rolled back\n",
			       ver[i].build_ms, real, size);
		}
	}
	if (r->nrejected)
		printf("\n(%zu candidates rejected: --json says why)\n", r->nrejected);
	for (size_t i = 0; i < r->nanalyzed_tables; i++)
		printf("%sran ANALYZE on %s (never analyzed)\n", i ? "" : "\n",
		       r->analyzed_tables[i]);
	printf("\nUnused indexes (no scans since the statistics were reset; not unique):\n");
	if (!r->nunused)
		printf("  (none)\n");
	for (size_t i = 0; i < r->nunused; i++) {
		cli_human_size((double)r->unused[i].size_bytes, size, sizeof(size));
		printf("  %s on %s, %s: %s\n", r->unused[i].index, r->unused[i].table, size,
		       r->unused[i].definition);
	}
	printf("\nRedundant indexes (their keys lead another index):\n");
	if (!r->nredundant)
		printf("  (none)\n");
	for (size_t i = 0; i < r->nredundant; i++) {
		cli_human_size((double)r->redundant[i].size_bytes, size, sizeof(size));
		printf("  %s on %s, %s: covered by %s\n", r->redundant[i].index,
		       r->redundant[i].table, size, r->redundant[i].covered_by);
	}
}

static void print_script(const struct advisor_result *r, usec_t since)
{
	char size[32];
	printf("-- pglifeguard-cli suggest --apply-sql: database %s, window %llds\n"
	       "-- CREATE INDEX CONCURRENTLY cannot run in a transaction block: run this\n"
	       "-- file with psql as it is (no BEGIN, no psql -1).\n"
	       "SET statement_timeout = 0;\n",
	       r->database, (long long)(since / USEC_PER_SEC));
	for (size_t i = 0; i < r->nsuggestions; i++) {
		const struct advisor_suggestion *s = &r->suggestions[i];
		cli_human_size(s->size_bytes, size, sizeof(size));
		printf("\n-- %zu. saves ~%.1f ms per window, ~%s; helps queryid", i + 1,
		       s->saved_ms, size);
		for (size_t k = 0; k < s->nhelped; k++)
			printf("%s %" PRId64, k ? "," : "", s->helped[k].queryid);
		printf("\n%s;\n", s->create_sql);
	}
	if (r->nunused || r->nredundant)
		printf("\n-- Unused and redundant indexes: check replicas and rare jobs, then "
		       "uncomment.\n");
	for (size_t i = 0; i < r->nunused; i++) {
		cli_human_size((double)r->unused[i].size_bytes, size, sizeof(size));
		printf("-- DROP INDEX CONCURRENTLY %s; -- unused, %s\n", r->unused[i].index, size);
	}
	for (size_t i = 0; i < r->nredundant; i++) {
		cli_human_size((double)r->redundant[i].size_bytes, size, sizeof(size));
		printf("-- DROP INDEX CONCURRENTLY %s; -- covered by %s, %s\n",
		       r->redundant[i].index, r->redundant[i].covered_by, size);
	}
}

static void suggest_usage(FILE *out, bool full)
{
	fprintf(out, "usage: pglifeguard-cli [-s STORE] suggest -d CONNINFO [--since DURATION]\n"
		     "           [--limit N] [--timeout MS] [--no-analyze] [--json | --apply-sql]\n"
		     "           [--verify [--build-timeout MS] [--lock-timeout MS]]\n");
	if (!full)
		return;
	fprintf(out,
		"\n"
		"Index suggestions for the statements with the most execution time in the\n"
		"store's window, each checked with hypopg with the parameter values the\n"
		"pooler sampled (sample_query_params) or else on a generic plan, ranked by\n"
		"the estimated time saved; unused and redundant indexes with their sizes;\n"
		"then query suggestions, what no index fixes (see pglifeguard-cli(1)).\n"
		"\n"
		"  -d, --dbname CONNINFO  libpq connection string or URI of the database\n"
		"                 to advise (libpq's PG* variables fill in the rest);\n"
		"                 only statements sampled from it count. Needs the hypopg\n"
		"                 extension there (created if missing: a superuser's job)\n"
		"  --since DURATION  window, like 30m, 1h, 2d (default 1h)\n"
		"  --limit N      statements considered, most expensive first (default 50)\n"
		"  --timeout MS   statement_timeout of each advisor statement (default 5000)\n"
		"  --no-analyze   leave a never-analyzed table alone (by default it is\n"
		"                 ANALYZEd: without statistics every estimate is a guess)\n"
		"  --json         JSON, with the rejected candidates and why\n"
		"  --apply-sql    a script for psql: CREATE INDEX CONCURRENTLY for each\n"
		"                 suggestion; DROP INDEX of unused or redundant ones, commented\n"
		"  --verify       build each suggested index for real in a transaction,\n"
		"                 EXPLAIN ANALYZE the statements it helps (with sampled\n"
		"                 parameters) before and after, then ROLLBACK. The build\n"
		"                 blocks writes to its table until the rollback (not with\n"
		"                 --apply-sql)\n"
		"  --build-timeout MS  statement_timeout of each build (default 60000)\n"
		"  --lock-timeout MS   lock_timeout of every --verify statement (default 1000)\n");
}

int cli_suggest(const char *store_path, int argc, char **argv)
{
	static const struct option opts[] = {
		{"dbname", required_argument, NULL, 'd'},
		{"since", required_argument, NULL, 'S'},
		{"limit", required_argument, NULL, 'n'},
		{"timeout", required_argument, NULL, 't'},
		{"json", no_argument, NULL, 'j'},
		{"apply-sql", no_argument, NULL, 'a'},
		{"no-analyze", no_argument, NULL, 'A'},
		{"verify", no_argument, NULL, 'V'},
		{"build-timeout", required_argument, NULL, 'B'},
		{"lock-timeout", required_argument, NULL, 'L'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	usec_t since = 3600 * USEC_PER_SEC;
	const char *conninfo = "";
	struct advisor_options opt = {.max_statements = 50, .timeout_ms = 5000, .analyze = true};
	bool json = false, script = false, verify = false;
	struct verify_options vopt = {.build_timeout_ms = 60000, .lock_timeout_ms = 1000};
	int c;
	while ((c = getopt_long(argc, argv, "d:S:n:t:jaAVB:L:h", opts, NULL)) != -1) {
		char *end;
		long v;
		switch (c) {
		case 'd':
			conninfo = optarg;
			break;
		case 'S':
			if (!cli_parse_duration(optarg, &since)) {
				fprintf(stderr, "pglifeguard-cli suggest: bad --since \"%s\"\n",
					optarg);
				return CLI_USAGE;
			}
			break;
		case 'n':
		case 't':
		case 'B':
		case 'L':
			v = strtol(optarg, &end, 10);
			if (end == optarg || *end || v < 1 || v > (c == 'n' ? 10000 : 3600000)) {
				fprintf(stderr, "pglifeguard-cli suggest: bad --%s \"%s\"\n",
					c == 'n'   ? "limit"
					: c == 't' ? "timeout"
					: c == 'B' ? "build-timeout"
						   : "lock-timeout",
					optarg);
				return CLI_USAGE;
			}
			if (c == 'n')
				opt.max_statements = v;
			else if (c == 't')
				opt.timeout_ms = (int)v;
			else if (c == 'B')
				vopt.build_timeout_ms = (int)v;
			else
				vopt.lock_timeout_ms = (int)v;
			break;
		case 'V':
			verify = true;
			break;
		case 'j':
			json = true;
			break;
		case 'a':
			script = true;
			break;
		case 'A':
			opt.analyze = false;
			break;
		case 'h':
			suggest_usage(stdout, true);
			return CLI_OK;
		default:
			suggest_usage(stderr, false);
			return CLI_USAGE;
		}
	}
	if (optind < argc || (json && script) || (verify && script)) {
		suggest_usage(stderr, false);
		return CLI_USAGE;
	}
	char *err = NULL;
	struct store *store = cli_open_store(store_path);
	if (!store)
		return CLI_STORE;
	PGconn *conn = cli_connect_db("suggest", conninfo);
	if (!conn) {
		store_close(store);
		return CLI_DB;
	}
	opt.from_us = timeutil_wall() - since;
	vopt.timeout_ms = opt.timeout_ms;
	if (verify)
		fprintf(stderr,
			"pglifeguard-cli suggest --verify: WARNING: each suggested index is built "
			"for real inside a transaction that is then rolled back; while it is "
			"built and measured (up to --build-timeout %d ms for the build) it holds "
			"a SHARE lock that blocks INSERT, UPDATE and DELETE on its table until "
			"the rollback. Measured UPDATE and DELETE statements run and are rolled "
			"back.\n",
			vopt.build_timeout_ms);
	struct advisor_result res;
	struct verify_result *ver = NULL;
	int rc = CLI_OK;
	if (advisor_run(conn, store_db(store), &opt, &res, &err) < 0) {
		fprintf(stderr, "pglifeguard-cli suggest: %s\n", err);
		free(err);
		rc = CLI_DB;
	} else {
		if (verify) {
			ver = calloc(res.nsuggestions + 1, sizeof(*ver));
			if (!ver)
				abort();
			for (size_t i = 0; i < res.nsuggestions; i++)
				if (verify_suggestion(conn, &res.suggestions[i], &vopt, &ver[i]) <
				    0) {
					fprintf(stderr, "pglifeguard-cli suggest --verify: %s\n",
						ver[i].error);
					rc = CLI_VERIFY;
				}
		}
		struct findings_options fopt = {.from_us = opt.from_us,
						.timeout_ms = opt.timeout_ms};
		struct finding *fs = NULL;
		size_t nfs = 0;
		if (!script && findings_run(store_db(store), conn, &fopt, &fs, &nfs, &err) < 0) {
			fprintf(stderr, "pglifeguard-cli suggest: query suggestions: %s\n", err);
			free(err);
		}
		if (json) {
			print_json(&res, since, ver);
			fputs(",\n ", stdout);
			findings_out_json(stdout, fs, nfs);
			fputs("}\n", stdout);
		} else if (script) {
			print_script(&res, since);
		} else {
			print_table(&res, since, ver);
			findings_out_table(stdout, fs, nfs, QUERY_WIDTH);
		}
		findings_free(fs, nfs);
		for (size_t i = 0; ver && i < res.nsuggestions; i++)
			verify_result_free(&ver[i]);
		free(ver);
	}
	advisor_result_free(&res);
	PQfinish(conn);
	store_close(store);
	return rc;
}
