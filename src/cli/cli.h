/* pglifeguard-cli: what the subcommands share (exit codes, the store). */
#ifndef PGLG_CLI_H
#define PGLG_CLI_H
#include <stdbool.h>
#include "timeutil.h"

enum cli_exit {
	CLI_OK = 0,
	CLI_USAGE = 1, /* bad arguments */
	CLI_STORE = 2, /* store missing, foreign or unreadable */
};

/* cli_top runs `top` with its own ARGC/ARGV (argv[0] is "top") on the
 * store at STORE_PATH. Returns an enum cli_exit. */
int cli_top(const char *store_path, int argc, char **argv);

/* cli_tables runs `tables` (tables by sequential scans, unused indexes)
 * like cli_top. */
int cli_tables(const char *store_path, int argc, char **argv);

/* cli_parse_duration reads "90", "30s", "15m", "1h", "2d" into *OUT
 * (microseconds); returns false on anything else. */
bool cli_parse_duration(const char *text, usec_t *out);

/* cli_json_string prints S (borrowed) to stdout as a JSON string. */
void cli_json_string(const char *s);
#endif
