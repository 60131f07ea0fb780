/* pglifeguard-cli: durations, JSON strings and one-line texts. */
#include "output.h"
#include <getopt.h>
#include <libpq-fe.h>
#include <stdint.h>
#include <stdlib.h>
#include "cli.h"
#include "store.h"

bool cli_parse_duration(const char *text, usec_t *out)
{
	char *end;
	long long n = strtoll(text, &end, 10);
	if (end == text || n < 0)
		return false;
	long long mult = 1;
	switch (*end) {
	case '\0':
	case 's':
		break;
	case 'm':
		mult = 60;
		break;
	case 'h':
		mult = 3600;
		break;
	case 'd':
		mult = 86400;
		break;
	default:
		return false;
	}
	if (*end && end[1])
		return false;
	if (n > INT64_MAX / USEC_PER_SEC / mult)
		return false;
	*out = (usec_t)n * mult * USEC_PER_SEC;
	return true;
}

void cli_json_string(FILE *out, const char *s)
{
	if (!s) {
		fputs("null", out);
		return;
	}
	fputc('"', out);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(out, "\\%c", *p);
		else if (*p == '\n')
			fputs("\\n", out);
		else if (*p == '\t')
			fputs("\\t", out);
		else if (*p < 0x20)
			fprintf(out, "\\u%04x", *p);
		else
			fputc(*p, out);
	}
	fputc('"', out);
}

int cli_one_line(FILE *out, const char *text, int width)
{
	int n = 0;
	bool space = false;
	for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
		bool ws = *p == ' ' || *p == '\n' || *p == '\t' || *p == '\r';
		if (ws) {
			space = n > 0;
			continue;
		}
		if (space) {
			if (n + 1 >= width)
				break;
			fputc(' ', out);
			n++;
			space = false;
		}
		if (n >= width && (*p & 0xc0) != 0x80) {
			fputs("...", out);
			return n + 3;
		}
		fputc(*p, out);
		n++;
	}
	return n;
}

int cli_window_options(const char *cmd, const char *usage, int argc, char **argv, usec_t *since,
		       long *limit, bool *json)
{
	static const struct option opts[] = {
		{"since", required_argument, NULL, 'S'},
		{"limit", required_argument, NULL, 'n'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;
	while ((c = getopt_long(argc, argv, "S:n:jh", opts, NULL)) != -1) {
		char *end;
		switch (c) {
		case 'S':
			if (!cli_parse_duration(optarg, since)) {
				fprintf(stderr,
					"pglifeguard-cli %s: bad --since \"%s\" "
					"(examples: 30s, 15m, 1h, 2d)\n",
					cmd, optarg);
				return CLI_USAGE;
			}
			break;
		case 'n':
			*limit = strtol(optarg, &end, 10);
			if (end == optarg || *end || *limit < 1 || *limit > 100000) {
				fprintf(stderr, "pglifeguard-cli %s: bad --limit \"%s\"\n", cmd,
					optarg);
				return CLI_USAGE;
			}
			break;
		case 'j':
			*json = true;
			break;
		case 'h':
			fputs(usage, stdout);
			return CLI_OK;
		default:
			fputs(usage, stderr);
			return CLI_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "pglifeguard-cli %s: unexpected argument \"%s\"\n", cmd,
			argv[optind]);
		fputs(usage, stderr);
		return CLI_USAGE;
	}
	return -1;
}

int cli_window_intervals(sqlite3 *db, int64_t from_us, long long *intervals, long long *lost)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;
	if (sqlite3_prepare_v2(db,
			       "SELECT count(*), coalesce(sum(lost_data), 0) FROM sample_intervals"
			       " WHERE end_us >= ?1",
			       -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_bind_int64(st, 1, from_us) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
		*intervals = sqlite3_column_int64(st, 0);
		*lost = sqlite3_column_int64(st, 1);
		rc = 0;
	}
	sqlite3_finalize(st);
	return rc;
}

struct store *cli_open_store(const char *path)
{
	char *err = NULL;
	struct store *store = store_open(path, true, &err, NULL);
	if (!store) {
		fprintf(stderr, "pglifeguard-cli: %s\n", err ? err : "cannot open the store");
		free(err);
	}
	return store;
}

PGconn *cli_connect_db(const char *cmd, const char *conninfo)
{
	char app[64];
	snprintf(app, sizeof(app), "pglifeguard-cli %s", cmd);
	/* CONNINFO may be a string or a URI; libpq's PG* variables fill in */
	const char *keys[] = {"dbname", "fallback_application_name", NULL};
	const char *vals[] = {conninfo, app, NULL};
	PGconn *conn = PQconnectdbParams(keys, vals, 1);
	if (PQstatus(conn) != CONNECTION_OK) {
		/* libpq's message names host and port, never the password */
		fprintf(stderr, "pglifeguard-cli %s: cannot connect: %s", cmd,
			PQerrorMessage(conn));
		PQfinish(conn);
		return NULL;
	}
	return conn;
}

void cli_human_size(double bytes, char *buf, size_t size)
{
	const char *unit[] = {"B", "kB", "MB", "GB", "TB"};
	int u = 0;
	while (bytes >= 1024 && u < 4) {
		bytes /= 1024;
		u++;
	}
	snprintf(buf, size, u ? "%.1f %s" : "%.0f %s", bytes, unit[u]);
}
