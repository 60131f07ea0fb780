/* Parameter samples in the store (param_samples, schema version 5): the
 * monitor thread turns a pooler's raw sample (paramtap.c) into rows with
 * paramsample.c and keeps the newest few per (database, fingerprint). */
#ifndef PGLG_STORE_PARAMS_H
#define PGLG_STORE_PARAMS_H
#include <sqlite3.h>
#include "evqueue.h"

/* Samples kept per (database, fingerprint). */
#define STORE_PARAMS_KEEP 5

/* store_params_write writes the statements of the EVENT_PARAM_SAMPLE
 * event E (borrowed) into DB, inside the caller's transaction, on the
 * store's thread. A statement that is not sampled (utility statements,
 * parse errors) writes nothing. Returns 0, or -1 on a store error
 * (logged). Never logs a value. */
int store_params_write(sqlite3 *db, const struct event *e) __attribute__((warn_unused_result));
#endif
