/* pglifeguard-cli: what the subcommands' output shares: durations on the
 * command line, JSON strings, one-line query texts. */
#ifndef PGLG_CLI_OUTPUT_H
#define PGLG_CLI_OUTPUT_H
#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "timeutil.h"

struct store;

/* cli_parse_duration reads "90", "30s", "15m", "1h", "2d" into *OUT
 * (microseconds). Returns false on anything else. */
bool cli_parse_duration(const char *text, usec_t *out);

/* cli_json_string writes S to OUT as a JSON string; NULL writes null. */
void cli_json_string(FILE *out, const char *s);

/* cli_one_line writes TEXT to OUT on one line (runs of white space become
 * one space), cut at WIDTH bytes with "..." (never inside a UTF-8
 * sequence). Returns the bytes written. */
int cli_one_line(FILE *out, const char *text, int width);

/* cli_window_options parses what `top`, `locks` and `tables` share:
 * --since DURATION, --limit N, --json, --help (printing USAGE, a whole
 * usage line). *SINCE and *LIMIT come in with the command's defaults. CMD
 * names the command in error messages. Returns -1 to go on, else the exit
 * status (enum cli_exit) to return. */
int cli_window_options(const char *cmd, const char *usage, int argc, char **argv, usec_t *since,
		       long *limit, bool *json);

/* cli_window_intervals sets *INTERVALS to the sampling intervals of DB
 * (the store) that ended at FROM_US or later, and *LOST to those of them
 * marked lost_data. Returns 0, or -1 (sqlite3_errmsg says why). */
int cli_window_intervals(sqlite3 *db, int64_t from_us, long long *intervals, long long *lost);

/* cli_open_store opens PATH read-only; on failure prints why to stderr
 * and returns NULL (exit with CLI_STORE). */
struct store *cli_open_store(const char *path);

/* cli_connect_db connects to CONNINFO (a libpq string or URI, "" for
 * libpq's PG* variables alone), application_name "pglifeguard-cli CMD"
 * unless CONNINFO names one. Returns the connection, which the caller
 * closes with PQfinish, or NULL after printing why (CMD names the command;
 * never the password) to stderr. */
PGconn *cli_connect_db(const char *cmd, const char *conninfo);

/* cli_human_size writes BYTES to BUF (SIZE bytes) for people: "512 B",
 * "1.5 MB". */
void cli_human_size(double bytes, char *buf, size_t size);
#endif
