/* pglifeguard-cli: global options and dispatch to one file per subcommand. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

#define DEFAULT_STORE "pglifeguard.db"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: pglifeguard-cli [-s STORE] COMMAND [OPTIONS]\n"
		"\n"
		"  -s, --store STORE   SQLite store written by pglifeguard (store_path);\n"
		"                      default $PGLIFEGUARD_STORE, else ./" DEFAULT_STORE "\n"
		"  -h, --help          this help\n"
		"\n"
		"commands:\n"
		"  top [--since DURATION] [--limit N] [--json]\n"
		"                      statements by total execution time over a window\n"
		"                      (DURATION like 30s, 15m, 1h, 2d; default 1h)\n"
		"  locks [--since DURATION] [--limit N] [--json]\n"
		"                      blocking trees of the latest lock sample, then the\n"
		"                      longest waits and the blockers that held up most\n"
		"                      waits over the window (default 1h, 10 rows each)\n"
		"  leaks [--since DURATION] [--json]\n"
		"                      suspected connection leaks (default: last 1d)\n"
		"  alerts [--since DURATION] [--json]\n"
		"                      alerts fired and resolved (default: last 1d)\n"
		"  pools [-h HOST] [-p PORT] [-U USER] [--json]\n"
		"                      SHOW POOLS, live from the admin console\n"
		"  suggest -d CONNINFO [--since DURATION] [--limit N] [--timeout MS]\n"
		"          [--no-analyze] [--json | --apply-sql] [--verify]\n"
		"                      index suggestions for the window's most expensive\n"
		"                      statements, checked with hypopg on the database\n"
		"                      CONNINFO names (its statements only); unused and\n"
		"                      redundant indexes\n"
		"  tables [--since DURATION] [--limit N] [--json]\n"
		"                      tables by rows read in sequential scans, writes,\n"
		"                      sizes, dead tuples; indexes not scanned in the window\n"
		"  report -o FILE.html [--since DURATION] [-d CONNINFO]\n"
		"                      one self-contained HTML page with charts: pools,\n"
		"                      checkouts, top statements, lock waits, leaks, alerts\n"
		"                      (default 1d), suggestions (index ones with -d)\n"
		"\n"
		"exit status: 0 ok, 1 usage error, 2 store missing, foreign or unreadable,\n"
		"             3 admin console (pools) or database (suggest) unreachable\n"
		"             or refusing, 4 suggest --verify could not verify some index\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"store", required_argument, NULL, 's'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *store = getenv("PGLIFEGUARD_STORE");
	if (!store || !store[0])
		store = DEFAULT_STORE;
	int c;
	/* "+": stop at the command, its options are its own */
	while ((c = getopt_long(argc, argv, "+s:h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			store = optarg;
			break;
		case 'h':
			usage(stdout);
			return CLI_OK;
		default:
			usage(stderr);
			return CLI_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return CLI_USAGE;
	}
	const char *cmd = argv[optind];
	int sub_argc = argc - optind;
	char **sub_argv = argv + optind;
	optind = 0; /* reset getopt for the subcommand (glibc: 0 reinitialises) */
	if (!strcmp(cmd, "top"))
		return cli_top(store, sub_argc, sub_argv);
	if (!strcmp(cmd, "locks"))
		return cli_locks(store, sub_argc, sub_argv);
	if (!strcmp(cmd, "leaks"))
		return cli_leaks(store, sub_argc, sub_argv);
	if (!strcmp(cmd, "alerts"))
		return cli_alerts(store, sub_argc, sub_argv);
	if (!strcmp(cmd, "pools"))
		return cli_pools(sub_argc, sub_argv);
	if (!strcmp(cmd, "suggest"))
		return cli_suggest(store, sub_argc, sub_argv);
	if (!strcmp(cmd, "tables"))
		return cli_tables(store, sub_argc, sub_argv);
	if (!strcmp(cmd, "report"))
		return cli_report(store, sub_argc, sub_argv);
	fprintf(stderr, "pglifeguard-cli: unknown command \"%s\"\n", cmd);
	usage(stderr);
	return CLI_USAGE;
}
