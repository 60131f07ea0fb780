/* pglifeguard-cli: what the subcommands share (exit codes, the store). */
#ifndef PGLG_CLI_H
#define PGLG_CLI_H

enum cli_exit {
	CLI_OK = 0,
	CLI_USAGE = 1, /* bad arguments */
	CLI_STORE = 2, /* store missing, foreign or unreadable */
};

/* cli_top runs `top` with its own ARGC/ARGV (argv[0] is "top") on the
 * store at STORE_PATH. Returns an enum cli_exit. */
int cli_top(const char *store_path, int argc, char **argv);

/* cli_locks runs `locks` (argv[0] is "locks") on the store at STORE_PATH.
 * Returns an enum cli_exit. */
int cli_locks(const char *store_path, int argc, char **argv);
#endif
