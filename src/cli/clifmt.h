/* pglifeguard-cli: what the event commands (leaks, alerts) share: JSON rows, the common command
 * (durations and JSON strings are output.h's). */
#ifndef PGLG_CLI_CLIFMT_H
#define PGLG_CLI_CLIFMT_H
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "output.h"
#include "store.h"
#include "timeutil.h"

/* clifmt_json_row writes the current row of ST as one JSON object keyed
 * by the column names: integers and reals as numbers (reals with
 * microsecond precision), text as strings, NULL as null. */
void clifmt_json_row(FILE *out, sqlite3_stmt *st);

/* clifmt_events runs the event command NAME (leaks, alerts) with its own
 * ARGC/ARGV on the store at STORE_PATH: options --since (default 1d) and
 * --json; SQL selects the rows with ?1 bound to the start of the window,
 * KEY names the JSON array, and TABLE prints the current row for people
 * (HEADER first). Returns an enum cli_exit. */
int clifmt_events(const char *store_path, int argc, char **argv, const char *name, const char *sql,
		  const char *key, const char *header, void (*table)(sqlite3_stmt *st));
#endif
