/* Writing parameter samples: decode the pooler's event, extract with
 * libpg_query, insert, and trim the (database, fingerprint) to the newest
 * STORE_PARAMS_KEEP rows. */
#include "store_params.h"
#include <stdbool.h>
#include <string.h>
#include "log.h"
#include "paramsample.h"

static const char ins_sql[] =
	"INSERT INTO param_samples (at_us, database, fingerprint, query, params) "
	"VALUES (?1, ?2, ?3, ?4, ?5)";
static const char trim_sql[] =
	"DELETE FROM param_samples WHERE database = ?1 AND fingerprint = ?2 AND id NOT IN "
	"(SELECT id FROM param_samples WHERE database = ?1 AND fingerprint = ?2 "
	"ORDER BY at_us DESC, id DESC LIMIT ?3)";

struct writer {
	sqlite3 *db;
	int64_t at_us;
	const char *database;
	int rc;
};

static int run(sqlite3 *db, const char *sql, const struct writer *w, const struct paramsample *s)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		log_warning("store: %s", sqlite3_errmsg(db));
		return -1;
	}
	if (sql == ins_sql) {
		sqlite3_bind_int64(st, 1, w->at_us);
		sqlite3_bind_text(st, 4, s->query, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, s->params, -1, SQLITE_STATIC);
	} else {
		sqlite3_bind_int(st, 3, STORE_PARAMS_KEEP);
	}
	sqlite3_bind_text(st, 2, w->database, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, sql == ins_sql ? 3 : 2, s->fingerprint, -1, SQLITE_STATIC);
	if (sql != ins_sql)
		sqlite3_bind_text(st, 1, w->database, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
	if (rc < 0)
		log_warning("store: %s", sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return rc;
}

static void write_one(void *arg, const struct paramsample *s)
{
	struct writer *w = arg;
	if (w->rc == 0 && (run(w->db, ins_sql, w, s) < 0 || run(w->db, trim_sql, w, s) < 0))
		w->rc = -1;
}

int store_params_write(sqlite3 *db, const struct event *e)
{
	const struct event_params *p = &e->u.params;
	char database[sizeof(p->database) + 1];
	memcpy(database, p->database, sizeof(p->database));
	database[sizeof(p->database)] = '\0';
	struct writer w = {db, e->at_us, database, 0};
	if (p->text_len >= EVENT_PARAMS_DATA || p->data[p->text_len] != '\0' ||
	    p->used > EVENT_PARAMS_DATA)
		return 0; /* not from paramtap.c: nothing to trust */
	if (p->query) {
		paramsample_extract_query(p->data, write_one, &w);
		return w.rc;
	}
	struct paramsample_value values[256];
	int n = 0;
	size_t at = (size_t)p->text_len + 1;
	for (int i = 0; i < p->nvalues && n < (int)(sizeof(values) / sizeof(values[0])); i++) {
		int32_t len;
		uint32_t oid;
		if (at + 8 > p->used)
			return 0;
		memcpy(&len, p->data + at, 4);
		memcpy(&oid, p->data + at + 4, 4);
		at += 8;
		if (len > 0 && at + (size_t)len > p->used)
			return 0;
		values[n].data = p->data + at;
		values[n].len = len;
		values[n].binary_oid = oid;
		n++;
		if (len > 0)
			at += (size_t)len;
	}
	struct paramsample s;
	if (paramsample_extract(p->data, values, n, &s) != PARAMSAMPLE_OK)
		return 0;
	write_one(&w, &s);
	paramsample_clear(&s);
	return w.rc;
}
