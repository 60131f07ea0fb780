/* pglifeguard-cli: what the subcommands' output shares: durations on the
 * command line, JSON strings, one-line query texts. */
#ifndef PGLG_CLI_OUTPUT_H
#define PGLG_CLI_OUTPUT_H
#include <stdbool.h>
#include <stdio.h>
#include "timeutil.h"

/* cli_parse_duration reads "90", "30s", "15m", "1h", "2d" into *OUT
 * (microseconds). Returns false on anything else. */
bool cli_parse_duration(const char *text, usec_t *out);

/* cli_json_string writes S to OUT as a JSON string; NULL writes null. */
void cli_json_string(FILE *out, const char *s);

/* cli_one_line writes TEXT to OUT on one line (runs of white space become
 * one space), cut at WIDTH bytes with "..." (never inside a UTF-8
 * sequence). Returns the bytes written. */
int cli_one_line(FILE *out, const char *text, int width);
#endif
