/* The startup parameters a pooler must carry from client to whichever
 * server connection it gets: application_name, client_encoding, DateStyle,
 * TimeZone, IntervalStyle, standard_conforming_strings (PostgreSQL reports
 * these six in ParameterStatus, so the pooler always knows both sides), and
 * extra_float_digits, which JDBC sends at startup. */
#ifndef PGLG_PARAMS_H
#define PGLG_PARAMS_H

#include <stdbool.h>
#include <stddef.h>

enum param_id {
	PARAM_APPLICATION_NAME = 0,
	PARAM_CLIENT_ENCODING,
	PARAM_DATESTYLE,
	PARAM_TIMEZONE,
	PARAM_INTERVALSTYLE,
	PARAM_STANDARD_CONFORMING_STRINGS,
	PARAM_EXTRA_FLOAT_DIGITS, /* not reported by PostgreSQL: JDBC sends it */
	PARAM_COUNT,
};

/* A value per tracked parameter; NULL means "not set". Owns its strings. */
struct params {
	char *values[PARAM_COUNT];
};

/* params_lookup returns the id of NAME (case-insensitive, as PostgreSQL
 * treats GUC names) or -1. */
int params_lookup(const char *name);

/* params_name returns the canonical spelling of ID (as PostgreSQL reports it). */
const char *params_name(enum param_id id);

/* params_set copies VALUE (NULL clears) into P. Returns false when out of
 * memory. */
bool params_set(struct params *p, enum param_id id, const char *value);

/* params_clear frees what P owns. */
void params_clear(struct params *p);

/* params_reported tells whether PostgreSQL reports ID in ParameterStatus
 * (so the pooler learns every change); for the others the pooler knows
 * only what it SET itself. */
bool params_reported(enum param_id id);

/* params_build_set writes into OUT (OUTLEN bytes) one SQL string of SET
 * commands that changes SERVER's values to WANT's, where WANT has a value
 * and it differs from SERVER's, and RESETs an unreported parameter WANT
 * leaves unset that SERVER has set. Values are quoted so any text is safe.
 * Returns the length written, 0 when nothing differs, -1 when OUT is too
 * small. */
int params_build_set(const struct params *want, const struct params *server, char *out,
		     size_t outlen);

#endif
