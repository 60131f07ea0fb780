/* pglifeguard-cli pools: SHOW POOLS live from a running pooler's admin
 * console over libpq, as a table or as JSON. */
#include <getopt.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "clifmt.h"

/* int2, int4, int8, oid, numeric: printed as JSON numbers */
static bool numeric_type(Oid type)
{
	return type == 20 || type == 21 || type == 23 || type == 26 || type == 1700;
}

static int column(const PGresult *res, const char *name)
{
	return PQfnumber(res, name);
}

static const char *value(const PGresult *res, int row, const char *name)
{
	int c = column(res, name);
	return c < 0 || PQgetisnull(res, row, c) ? "" : PQgetvalue(res, row, c);
}

static void print_json(const PGresult *res)
{
	int rows = PQntuples(res), cols = PQnfields(res);
	fputs("{\"pools\": [", stdout);
	for (int r = 0; r < rows; r++) {
		fputs(r ? ",\n  {" : "\n  {", stdout);
		for (int c = 0; c < cols; c++) {
			if (c)
				fputs(", ", stdout);
			cli_json_string(stdout, PQfname(res, c));
			fputs(": ", stdout);
			if (PQgetisnull(res, r, c))
				fputs("null", stdout);
			else if (numeric_type(PQftype(res, c)))
				fputs(PQgetvalue(res, r, c), stdout);
			else
				cli_json_string(stdout, PQgetvalue(res, r, c));
		}
		fputc('}', stdout);
	}
	printf("%s]}\n", rows ? "\n" : "");
}

static void print_table(const PGresult *res)
{
	static const char *const cols[] = {"cl_active", "cl_waiting", "sv_active", "sv_idle",
					   "sv_used",   "sv_tested",  "sv_login"};
	printf("%-20s %-16s", "database", "user");
	for (size_t i = 0; i < sizeof(cols) / sizeof(cols[0]); i++)
		printf(" %10s", cols[i]);
	printf(" %12s %-11s\n", "maxwait_s", "pool_mode");
	for (int r = 0; r < PQntuples(res); r++) {
		printf("%-20s %-16s", value(res, r, "database"), value(res, r, "user"));
		for (size_t i = 0; i < sizeof(cols) / sizeof(cols[0]); i++)
			printf(" %10s", value(res, r, cols[i]));
		double wait =
			atof(value(res, r, "maxwait")) + atof(value(res, r, "maxwait_us")) / 1e6;
		printf(" %12.3f %-11s\n", wait, value(res, r, "pool_mode"));
	}
}

static void pools_usage(FILE *out)
{
	fprintf(out, "usage: pglifeguard-cli pools [-h HOST] [-p PORT] [-U USER] [--json]\n"
		     "  defaults: $PGHOST, $PGPORT (else 6432), $PGUSER; database pgbouncer;\n"
		     "  password from $PGPASSWORD or ~/.pgpass\n");
}

int cli_pools(int argc, char **argv)
{
	static const struct option opts[] = {
		{"host", required_argument, NULL, 'h'},     {"port", required_argument, NULL, 'p'},
		{"username", required_argument, NULL, 'U'}, {"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, '?' + 256},     {NULL, 0, NULL, 0},
	};
	const char *host = NULL, *port = NULL, *user = NULL;
	bool json = false;
	int c;
	while ((c = getopt_long(argc, argv, "h:p:U:j", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			host = optarg;
			break;
		case 'p':
			port = optarg;
			break;
		case 'U':
			user = optarg;
			break;
		case 'j':
			json = true;
			break;
		case '?' + 256:
			pools_usage(stdout);
			return CLI_OK;
		default:
			pools_usage(stderr);
			return CLI_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "pglifeguard-cli pools: unexpected argument \"%s\"\n",
			argv[optind]);
		pools_usage(stderr);
		return CLI_USAGE;
	}
	/* libpq reads PGHOST, PGUSER, PGPASSWORD, ... itself; only the port
	 * default differs: the pooler's, not PostgreSQL's */
	if (!port && !getenv("PGPORT"))
		port = "6432";
	const char *keys[] = {"host", "port", "user", "dbname", "application_name", NULL};
	const char *vals[] = {host, port, user, "pgbouncer", "pglifeguard-cli", NULL};
	PGconn *conn = PQconnectdbParams(keys, vals, 0);
	if (!conn || PQstatus(conn) != CONNECTION_OK) {
		char msg[512];
		snprintf(msg, sizeof(msg), "%s", conn ? PQerrorMessage(conn) : "out of memory");
		msg[strcspn(msg, "\n")] = '\0';
		fprintf(stderr,
			"pglifeguard-cli: cannot reach the pglifeguard admin console "
			"(database pgbouncer at %s, port %s): %s\n",
			conn && PQhost(conn) ? PQhost(conn) : (host ? host : "default host"),
			conn && PQport(conn) ? PQport(conn) : (port ? port : "?"), msg);
		PQfinish(conn);
		return CLI_CONNECT;
	}
	PGresult *res = PQexec(conn, "SHOW POOLS");
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		char msg[512];
		snprintf(msg, sizeof(msg), "%s", PQresultErrorMessage(res));
		msg[strcspn(msg, "\n")] = '\0';
		fprintf(stderr, "pglifeguard-cli: SHOW POOLS failed: %s\n", msg);
		PQclear(res);
		PQfinish(conn);
		return CLI_CONNECT;
	}
	if (json)
		print_json(res);
	else
		print_table(res);
	PQclear(res);
	PQfinish(conn);
	return CLI_OK;
}
