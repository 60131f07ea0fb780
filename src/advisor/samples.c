/* Sampled parameter values: the store lookup by fingerprint, the JSON of
 * param_samples.params, and their substitution into statement texts. */
#include "advisor/samples.h"
#include "advisor/util.h"
#include <json-c/json.h>
#include <pg_query.h>
#include <stdlib.h>
#include <string.h>

void samples_one_free(struct samples_one *s)
{
	for (int i = 0; i < s->n; i++)
		free(s->values[i]);
	free(s->values);
	s->values = NULL;
	s->n = 0;
}

int samples_parse(const char *json, int nparams, struct samples_one *out)
{
	out->values = NULL;
	out->n = 0;
	if (!json || nparams < 0)
		return -1;
	enum json_tokener_error jerr;
	json_object *root = json_tokener_parse_verbose(json, &jerr);
	if (!root || !json_object_is_type(root, json_type_array) ||
	    (int)json_object_array_length(root) != nparams) {
		json_object_put(root);
		return -1;
	}
	out->values = xrealloc(NULL, (size_t)nparams * sizeof(char *));
	for (int i = 0; i < nparams; i++) {
		json_object *v = json_object_array_get_idx(root, (size_t)i);
		if (v && !json_object_is_type(v, json_type_string)) {
			json_object_put(root);
			samples_one_free(out);
			return -1;
		}
		out->values[out->n++] = v ? xstrdup(json_object_get_string(v)) : NULL;
	}
	json_object_put(root);
	return 0;
}

bool samples_same(const struct samples_one *a, const struct samples_one *b)
{
	if (a->n != b->n)
		return false;
	for (int i = 0; i < a->n; i++) {
		if (!a->values[i] != !b->values[i])
			return false;
		if (a->values[i] && strcmp(a->values[i], b->values[i]))
			return false;
	}
	return true;
}

char *samples_fingerprint(const char *query)
{
	PgQueryFingerprintResult r = pg_query_fingerprint(query);
	char *fp = !r.error && r.fingerprint_str ? xstrdup(r.fingerprint_str) : NULL;
	pg_query_free_fingerprint_result(r);
	return fp;
}

/* the pooler names databases as its [databases] section does: the names
 * under which statements of PostgreSQL database ?3 were sampled count */
static const char names_sql[] = "SELECT ?1 UNION SELECT DISTINCT i.dbname"
				" FROM sample_intervals i JOIN statement_samples s"
				"  ON s.interval_id = i.id"
				" WHERE i.end_us >= ?2 AND s.dbid = ?3";

int samples_databases(sqlite3 *db, const char *dbname, int64_t dbid, int64_t from_us, char ***names,
		      size_t *n, char **err)
{
	*names = NULL;
	*n = 0;
	*err = NULL;
	sqlite3_stmt *q = NULL;
	if (sqlite3_prepare_v2(db, names_sql, -1, &q, NULL) != SQLITE_OK) {
		if (asprintf(err, "cannot read the store: %s", sqlite3_errmsg(db)) < 0)
			abort();
		return -1;
	}
	sqlite3_bind_text(q, 1, dbname, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(q, 2, from_us);
	sqlite3_bind_int64(q, 3, dbid);
	int rc;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(q, 0);
		if (!name)
			continue;
		*names = xrealloc(*names, (*n + 1) * sizeof(char *));
		(*names)[(*n)++] = xstrdup(name);
	}
	if (rc != SQLITE_DONE) {
		if (asprintf(err, "cannot read the store: %s", sqlite3_errmsg(db)) < 0)
			abort();
		sqlite3_finalize(q);
		for (size_t i = 0; i < *n; i++)
			free((*names)[i]);
		free(*names);
		*names = NULL;
		*n = 0;
		return -1;
	}
	sqlite3_finalize(q);
	return 0;
}

int samples_load(sqlite3 *db, char *const *databases, size_t ndatabases, int64_t from_us,
		 const char *query, int nparams, struct samples_set *out, char **err)
{
	out->s = NULL;
	out->n = 0;
	*err = NULL;
	if (!ndatabases)
		return 0;
	char *fp = samples_fingerprint(query);
	if (!fp)
		return 0;
	/* one lookup of the (database, fingerprint, at_us) index per name */
	size_t cap = 200 + ndatabases * 24;
	char *sql = xrealloc(NULL, cap);
	snprintf(sql, cap,
		 "SELECT params FROM param_samples WHERE fingerprint = ?1 AND at_us >= ?2"
		 " AND database IN (");
	for (size_t i = 0; i < ndatabases; i++) {
		size_t len = strlen(sql);
		snprintf(sql + len, cap - len, "%s?%zu", i ? ", " : "", i + 3);
	}
	strcat(sql, ") ORDER BY at_us DESC, id DESC LIMIT 50");
	sqlite3_stmt *q = NULL;
	int prc = sqlite3_prepare_v2(db, sql, -1, &q, NULL);
	free(sql);
	if (prc != SQLITE_OK) {
		free(fp);
		/* a store older than schema 5 has no param_samples */
		if (strstr(sqlite3_errmsg(db), "no such table"))
			return 0;
		if (asprintf(err, "cannot read param_samples: %s", sqlite3_errmsg(db)) < 0)
			abort();
		return -1;
	}
	sqlite3_bind_text(q, 1, fp, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(q, 2, from_us);
	for (size_t i = 0; i < ndatabases; i++)
		sqlite3_bind_text(q, (int)i + 3, databases[i], -1, SQLITE_TRANSIENT);
	free(fp);
	int rc = SQLITE_DONE;
	while (out->n < SAMPLES_MAX && (rc = sqlite3_step(q)) == SQLITE_ROW) {
		struct samples_one one;
		if (samples_parse((const char *)sqlite3_column_text(q, 0), nparams, &one) < 0)
			continue;
		bool dup = false;
		for (size_t i = 0; i < out->n && !dup; i++)
			dup = samples_same(&out->s[i], &one);
		if (dup) {
			samples_one_free(&one);
			continue;
		}
		out->s = xrealloc(out->s, (out->n + 1) * sizeof(*out->s));
		out->s[out->n++] = one;
	}
	if (out->n < SAMPLES_MAX && rc != SQLITE_DONE) {
		if (asprintf(err, "cannot read param_samples: %s", sqlite3_errmsg(db)) < 0)
			abort();
		sqlite3_finalize(q);
		samples_set_free(out);
		return -1;
	}
	sqlite3_finalize(q);
	return 0;
}

void samples_set_free(struct samples_set *set)
{
	for (size_t i = 0; i < set->n; i++)
		samples_one_free(&set->s[i]);
	free(set->s);
	set->s = NULL;
	set->n = 0;
}

struct samples_set samples_copy(const struct samples_set *set)
{
	struct samples_set c = {NULL, 0};
	if (!set->n)
		return c;
	c.s = xrealloc(NULL, set->n * sizeof(*c.s));
	for (size_t i = 0; i < set->n; i++) {
		const struct samples_one *o = &set->s[i];
		c.s[i].n = o->n;
		c.s[i].values = xrealloc(NULL, (size_t)o->n * sizeof(char *));
		for (int k = 0; k < o->n; k++)
			c.s[i].values[k] = o->values[k] ? xstrdup(o->values[k]) : NULL;
	}
	c.n = set->n;
	return c;
}

char *samples_bind(PGconn *conn, const struct candidates_stmt *st, const char *query,
		   const struct samples_one *s)
{
	if (s->n != st->max_param)
		return NULL;
	int *nums = xrealloc(NULL, (size_t)s->n * sizeof(int));
	char **lits = xrealloc(NULL, (size_t)s->n * sizeof(char *));
	memset(lits, 0, (size_t)s->n * sizeof(char *));
	bool ok = true;
	for (int i = 0; i < s->n; i++) {
		nums[i] = i + 1;
		if (!s->values[i]) {
			lits[i] = xstrdup("NULL");
			continue;
		}
		char *e = PQescapeLiteral(conn, s->values[i], strlen(s->values[i]));
		if (!e) {
			ok = false;
			break;
		}
		lits[i] = xstrdup(e);
		PQfreemem(e);
	}
	char *text = ok ? candidates_bind(st, query, nums, (const char *const *)lits, (size_t)s->n)
			: NULL;
	for (int i = 0; i < s->n; i++)
		free(lits[i]);
	free(lits);
	free(nums);
	return text;
}
