/* Query suggestions (advisor/findings.h) as text and as JSON, for suggest
 * and any other subcommand that shows them. */
#ifndef PGLG_FINDINGS_OUT_H
#define PGLG_FINDINGS_OUT_H
#include <stddef.h>
#include <stdio.h>
#include "advisor/findings.h"

/* findings_out_table writes the "Query suggestions" section to OUT: one
 * entry per finding (kind, database, the subject on one line) with its
 * evidence and fix below, the subject cut at WIDTH bytes. Borrows F until
 * return. */
void findings_out_table(FILE *out, const struct finding *f, size_t n, int width);

/* findings_out_json writes the JSON member "query_suggestions": [...]
 * (no comma before it) to OUT. Borrows F until return. */
void findings_out_json(FILE *out, const struct finding *f, size_t n);
#endif
