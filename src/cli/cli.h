/* pglifeguard-cli: what the subcommands share (exit codes, the store). */
#ifndef PGLG_CLI_H
#define PGLG_CLI_H
#include <stdbool.h>
#include "timeutil.h"

enum cli_exit {
	CLI_OK = 0,
	CLI_USAGE = 1, /* bad arguments */
	CLI_STORE = 2, /* store missing, foreign or unreadable */
	CLI_CONNECT = 3, /* the pooler's admin console unreachable or refusing */
	CLI_DB = 3, /* the database unreachable or unusable (suggest) */
	CLI_VERIFY = 4, /* suggest --verify: a suggestion could not be measured */
};

/* cli_top runs `top` with its own ARGC/ARGV (argv[0] is "top") on the
 * store at STORE_PATH. Returns an enum cli_exit. */
int cli_top(const char *store_path, int argc, char **argv);

/* cli_locks runs `locks` (argv[0] is "locks") on the store at STORE_PATH.
 * Returns an enum cli_exit. */
int cli_locks(const char *store_path, int argc, char **argv);
/* cli_leaks and cli_alerts run `leaks` and `alerts` (leaks.c, alerts.c)
 * like cli_top; cli_pools runs `pools` (pools.c) against the admin
 * console, no store. Return an enum cli_exit. */
int cli_leaks(const char *store_path, int argc, char **argv);
int cli_alerts(const char *store_path, int argc, char **argv);
int cli_pools(int argc, char **argv);
/* cli_suggest runs `suggest` (argv[0] is "suggest") on the store at
 * STORE_PATH against the database its -d names. Returns an enum cli_exit. */
int cli_suggest(const char *store_path, int argc, char **argv);
/* cli_tables runs `tables` (tables by sequential scans, unused indexes)
 * like cli_top. */
int cli_tables(const char *store_path, int argc, char **argv);
/* cli_report runs `report` (report.c): the HTML report of the store's
 * window, written to the file its -o names. Returns an enum cli_exit. */
int cli_report(const char *store_path, int argc, char **argv);
#endif
