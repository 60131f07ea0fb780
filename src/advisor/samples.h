/* Parameter values the pooler sampled for a statement (store table
 * param_samples, keyed by libpg_query fingerprint): looked up for a
 * normalized statement, checked against its number of parameters, and
 * substituted into its text as literals so the planner sees real values. */
#ifndef PGLG_SAMPLES_H
#define PGLG_SAMPLES_H
#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "advisor/candidates.h"

/* SAMPLES_MAX: the most samples a statement is planned or measured with;
 * their mean cost decides, so one rare value does not. */
#define SAMPLES_MAX 3

/* One sample: VALUES[i] is the text of $(i+1), NULL for a null. */
struct samples_one {
	char **values;
	int n;
};

struct samples_set {
	struct samples_one *s;
	size_t n;
};

/* samples_parse parses JSON (a param_samples.params array: strings or
 * nulls, $1 first) into *OUT (the caller frees it with samples_one_free).
 * Returns 0, or -1 when JSON is not such an array or does not hold exactly
 * NPARAMS values (a sample of another statement with the same
 * fingerprint, e.g. an IN list of another length); *OUT is then empty. */
int samples_parse(const char *json, int nparams, struct samples_one *out)
	__attribute__((warn_unused_result));

void samples_one_free(struct samples_one *s);

/* samples_same returns whether A and B hold the same values. */
bool samples_same(const struct samples_one *a, const struct samples_one *b);

/* samples_fingerprint returns libpg_query's fingerprint (16 hex digits)
 * of QUERY in memory the caller frees, or NULL if it does not parse. */
char *samples_fingerprint(const char *query);

/* samples_databases returns in *NAMES (N of them; the caller frees each
 * and the array) the database names samples of one PostgreSQL database
 * may be stored under: DBNAME, and every pooler database name whose
 * statements in the store at or after FROM_US have OID DBID. DB is
 * borrowed. Returns 0, or -1 with *ERR set (caller frees). */
int samples_databases(sqlite3 *db, const char *dbname, int64_t dbid, int64_t from_us, char ***names,
		      size_t *n, char **err) __attribute__((warn_unused_result));

/* samples_load fills *OUT (freed with samples_set_free) with at most
 * SAMPLES_MAX distinct samples of QUERY (NPARAMS parameters), most recent
 * first, taken at or after FROM_US and stored under one of the NDATABASES
 * names DATABASES (borrowed). DB is borrowed. Returns 0, or -1 with *ERR
 * set to a message the caller frees (the store could not be read; a store
 * from before schema 5 simply has no samples). */
int samples_load(sqlite3 *db, char *const *databases, size_t ndatabases, int64_t from_us,
		 const char *query, int nparams, struct samples_set *out, char **err)
	__attribute__((warn_unused_result));

void samples_set_free(struct samples_set *set);

/* samples_copy returns a deep copy of SET. */
struct samples_set samples_copy(const struct samples_set *set);

/* samples_bind returns QUERY (the text ST was parsed from) with each $n
 * replaced by S's value as a quoted literal (NULL for a null), escaped for
 * CONN (borrowed). Memory the caller frees; NULL if a value cannot be
 * escaped or S does not have ST's parameters. */
char *samples_bind(PGconn *conn, const struct candidates_stmt *st, const char *query,
		   const struct samples_one *s);
#endif
