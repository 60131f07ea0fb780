/* pglifeguard-cli helpers shared by the event commands. */
#include "clifmt.h"
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

void clifmt_json_row(FILE *out, sqlite3_stmt *st)
{
	fputc('{', out);
	for (int i = 0; i < sqlite3_column_count(st); i++) {
		if (i)
			fputs(", ", out);
		cli_json_string(out, sqlite3_column_name(st, i));
		fputs(": ", out);
		switch (sqlite3_column_type(st, i)) {
		case SQLITE_INTEGER:
			fprintf(out, "%lld", (long long)sqlite3_column_int64(st, i));
			break;
		case SQLITE_FLOAT:
			fprintf(out, "%.6f", sqlite3_column_double(st, i));
			break;
		case SQLITE_NULL:
			fputs("null", out);
			break;
		default:
			cli_json_string(out, (const char *)sqlite3_column_text(st, i));
			break;
		}
	}
	fputc('}', out);
}

static void events_usage(FILE *out, const char *name)
{
	fprintf(out, "usage: pglifeguard-cli [-s STORE] %s [--since DURATION] [--json]\n", name);
}

int clifmt_events(const char *store_path, int argc, char **argv, const char *name, const char *sql,
		  const char *key, const char *header, void (*table)(sqlite3_stmt *st))
{
	static const struct option opts[] = {
		{"since", required_argument, NULL, 'S'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	usec_t since = 86400 * USEC_PER_SEC;
	bool json = false;
	int c;
	while ((c = getopt_long(argc, argv, "S:jh", opts, NULL)) != -1) {
		switch (c) {
		case 'S':
			if (!cli_parse_duration(optarg, &since)) {
				fprintf(stderr,
					"pglifeguard-cli %s: bad --since \"%s\" "
					"(examples: 30s, 15m, 1h, 2d)\n",
					name, optarg);
				return CLI_USAGE;
			}
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			events_usage(stdout, name);
			return CLI_OK;
		default:
			events_usage(stderr, name);
			return CLI_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "pglifeguard-cli %s: unexpected argument \"%s\"\n", name,
			argv[optind]);
		events_usage(stderr, name);
		return CLI_USAGE;
	}
	struct store *store = cli_open_store(store_path);
	if (!store)
		return CLI_STORE;
	sqlite3 *db = store_db(store);
	sqlite3_stmt *st = NULL;
	int rc = CLI_STORE, step, n = 0;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		goto fail;
	sqlite3_bind_int64(st, 1, timeutil_wall() - since);
	if (json)
		printf("{\"since_seconds\": %lld, \"%s\": [", (long long)(since / USEC_PER_SEC),
		       key);
	else
		printf("%s\n", header);
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		if (json) {
			fputs(n ? ",\n  " : "\n  ", stdout);
			clifmt_json_row(stdout, st);
		} else {
			table(st);
		}
		n++;
	}
	if (step != SQLITE_DONE)
		goto fail;
	if (json)
		printf("%s]}\n", n ? "\n" : "");
	else if (!n)
		printf("(no %s in the last %lld s)\n", key, (long long)(since / USEC_PER_SEC));
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
