/* The SQLite store: opening, schema and migrations, interval writes and
 * retention. Used by the monitor thread (the only writer) and, read-only,
 * by pglifeguard-cli. */
#include "store.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "log.h"
#include "sql_embed.h"

struct store {
	sqlite3 *db;
	bool readonly;
	sqlite3_stmt *ins_interval, *ins_sample, *has_stmt, *ins_stmt;
};

/* Migrations from version N to N+1 live at migrations[N - 1], each in
 * sql/migrate_<N+1>.sql. */
static const char *const migrations[] = {sql_migrate_2, sql_migrate_3, sql_migrate_4,
					     sql_migrate_5};
_Static_assert(sizeof(migrations) / sizeof(migrations[0]) == STORE_SCHEMA_VERSION - 1,
	       "one migration per schema version after 1");

static void set_error(char **err, enum store_error *code, enum store_error c, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void set_error(char **err, enum store_error *code, enum store_error c, const char *fmt, ...)
{
	if (code)
		*code = c;
	if (!err)
		return;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(err, fmt, ap) < 0)
		*err = NULL;
	va_end(ap);
}

/* read_version: 0 when the file has no tables at all, -1 with *FOREIGN set
 * when it has tables but no schema_version, -2 on an SQLite error. */
static int read_version(sqlite3 *db, bool *foreign)
{
	sqlite3_stmt *st;
	*foreign = false;
	if (sqlite3_prepare_v2(db,
			       "SELECT count(*), sum(name = 'schema_version') FROM sqlite_master "
			       "WHERE type = 'table'",
			       -1, &st, NULL) != SQLITE_OK)
		return -2;
	int rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_finalize(st);
		return -2;
	}
	int tables = sqlite3_column_int(st, 0), ours = sqlite3_column_int(st, 1);
	sqlite3_finalize(st);
	if (tables == 0)
		return 0;
	if (!ours) {
		*foreign = true;
		return -1;
	}
	if (sqlite3_prepare_v2(db, "SELECT max(version) FROM schema_version", -1, &st, NULL) !=
	    SQLITE_OK)
		return -2;
	int v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : -2;
	sqlite3_finalize(st);
	if (v <= 0) {
		*foreign = true;
		return -1;
	}
	return v;
}

static int apply_schema(sqlite3 *db, int version, char **errmsg)
{
	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, errmsg) != SQLITE_OK)
		return -1;
	if (version == 0) {
		if (sqlite3_exec(db, sql_store, NULL, NULL, errmsg) != SQLITE_OK)
			goto fail;
		version = 1;
	}
	for (; version < STORE_SCHEMA_VERSION; version++) {
		if (sqlite3_exec(db, migrations[version - 1], NULL, NULL, errmsg) != SQLITE_OK)
			goto fail;
		char sql[80];
		snprintf(sql, sizeof(sql), "UPDATE schema_version SET version = %d", version + 1);
		if (sqlite3_exec(db, sql, NULL, NULL, errmsg) != SQLITE_OK)
			goto fail;
	}
	if (sqlite3_exec(db, "COMMIT", NULL, NULL, errmsg) != SQLITE_OK)
		goto fail;
	return 0;
fail:
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

static int prepare(struct store *s, sqlite3_stmt **st, const char *sql)
{
	return sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) == SQLITE_OK
		       ? 0
		       : -1;
}

struct store *store_open(const char *path, bool readonly, char **err, enum store_error *code)
{
	if (err)
		*err = NULL;
	if (code)
		*code = STORE_OK;
	struct stat sb;
	if (readonly && stat(path, &sb) < 0) {
		set_error(err, code, STORE_MISSING, "store %s does not exist", path);
		return NULL;
	}
	struct store *s = calloc(1, sizeof(*s));
	if (!s) {
		set_error(err, code, STORE_IO, "out of memory");
		return NULL;
	}
	s->readonly = readonly;
	int flags = readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
	if (sqlite3_open_v2(path, &s->db, flags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		set_error(err, code, STORE_IO, "cannot open store %s: %s", path,
			  s->db ? sqlite3_errmsg(s->db) : "out of memory");
		goto fail;
	}
	sqlite3_busy_timeout(s->db, 5000);
	bool foreign;
	int version = read_version(s->db, &foreign);
	if (version == -2) {
		int ec = sqlite3_errcode(s->db);
		bool notdb = ec == SQLITE_NOTADB;
		set_error(err, code, notdb ? STORE_FOREIGN : STORE_IO, "%s %s: %s",
			  notdb ? "not a pglifeguard store:" : "cannot read store", path,
			  sqlite3_errmsg(s->db));
		goto fail;
	}
	if (foreign || (readonly && version == 0)) {
		set_error(err, code, STORE_FOREIGN,
			  "not a pglifeguard store: %s (no schema_version table)", path);
		goto fail;
	}
	if (version > STORE_SCHEMA_VERSION) {
		set_error(err, code, STORE_NEWER,
			  "store %s has schema version %d; this pglifeguard knows up to %d", path,
			  version, STORE_SCHEMA_VERSION);
		goto fail;
	}
	if (readonly) {
		if (version < STORE_SCHEMA_VERSION) {
			set_error(err, code, STORE_NEWER,
				  "store %s has schema version %d; the daemon upgrades it to %d on "
				  "start",
				  path, version, STORE_SCHEMA_VERSION);
			goto fail;
		}
		return s;
	}
	char *msg = NULL;
	if (sqlite3_exec(s->db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL", NULL,
			 NULL, &msg) != SQLITE_OK ||
	    apply_schema(s->db, version, &msg) < 0) {
		set_error(err, code, STORE_IO, "cannot set up store %s: %s", path,
			  msg ? msg : sqlite3_errmsg(s->db));
		sqlite3_free(msg);
		goto fail;
	}
	if (prepare(s, &s->ins_interval,
		    "INSERT INTO sample_intervals (dbname, start_us, end_us, lost_data, "
		    "stats_reset) "
		    "VALUES (?, ?, ?, ?, ?)") < 0 ||
	    prepare(s, &s->ins_sample,
		    "INSERT OR REPLACE INTO statement_samples VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, "
		    "?, "
		    "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)") < 0 ||
	    prepare(s, &s->has_stmt,
		    "SELECT 1 FROM statements WHERE queryid = ? AND userid = ? AND dbid = ?") < 0 ||
	    prepare(s, &s->ins_stmt,
		    "INSERT OR IGNORE INTO statements (queryid, userid, dbid, query, "
		    "first_seen_us) "
		    "VALUES (?, ?, ?, ?, ?)") < 0) {
		set_error(err, code, STORE_IO, "cannot prepare store %s: %s", path,
			  sqlite3_errmsg(s->db));
		goto fail;
	}
	return s;
fail:
	store_close(s);
	return NULL;
}

void store_close(struct store *s)
{
	if (!s)
		return;
	sqlite3_finalize(s->ins_interval);
	sqlite3_finalize(s->ins_sample);
	sqlite3_finalize(s->has_stmt);
	sqlite3_finalize(s->ins_stmt);
	sqlite3_close(s->db);
	free(s);
}

sqlite3 *store_db(struct store *s)
{
	return s->db;
}

static int exec(struct store *s, const char *sql)
{
	char *msg = NULL;
	if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		log_warning("store: %s: %s", sql, msg ? msg : sqlite3_errmsg(s->db));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

int store_begin(struct store *s)
{
	return exec(s, "BEGIN IMMEDIATE");
}

int store_commit(struct store *s)
{
	return exec(s, "COMMIT");
}

void store_rollback(struct store *s)
{
	sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

static int step_done(struct store *s, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE) {
		log_warning("store: %s", sqlite3_errmsg(s->db));
		return -1;
	}
	return 0;
}

int64_t store_add_interval(struct store *s, const char *dbname, int64_t start_us, int64_t end_us,
			   bool lost_data, const char *stats_reset)
{
	sqlite3_stmt *st = s->ins_interval;
	sqlite3_bind_text(st, 1, dbname, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, start_us);
	sqlite3_bind_int64(st, 3, end_us);
	sqlite3_bind_int(st, 4, lost_data);
	if (stats_reset)
		sqlite3_bind_text(st, 5, stats_reset, -1, SQLITE_STATIC);
	if (step_done(s, st) < 0)
		return -1;
	return sqlite3_last_insert_rowid(s->db);
}

int store_add_sample(struct store *s, int64_t interval_id, const struct store_sample *x)
{
	sqlite3_stmt *st = s->ins_sample;
	int i = 1;
	sqlite3_bind_int64(st, i++, interval_id);
	sqlite3_bind_int64(st, i++, x->queryid);
	sqlite3_bind_int64(st, i++, x->userid);
	sqlite3_bind_int64(st, i++, x->dbid);
	sqlite3_bind_int64(st, i++, x->calls);
	sqlite3_bind_double(st, i++, x->total_exec_time);
	sqlite3_bind_double(st, i++, x->calls > 0 ? x->total_exec_time / (double)x->calls : 0.0);
	sqlite3_bind_double(st, i++, x->min_exec_time);
	sqlite3_bind_double(st, i++, x->max_exec_time);
	sqlite3_bind_double(st, i++, x->stddev_exec_time);
	sqlite3_bind_int64(st, i++, x->rows);
	sqlite3_bind_int64(st, i++, x->shared_blks_hit);
	sqlite3_bind_int64(st, i++, x->shared_blks_read);
	sqlite3_bind_int64(st, i++, x->shared_blks_dirtied);
	sqlite3_bind_int64(st, i++, x->shared_blks_written);
	sqlite3_bind_int64(st, i++, x->local_blks_hit);
	sqlite3_bind_int64(st, i++, x->local_blks_read);
	sqlite3_bind_int64(st, i++, x->local_blks_written);
	sqlite3_bind_int64(st, i++, x->temp_blks_read);
	sqlite3_bind_int64(st, i++, x->temp_blks_written);
	sqlite3_bind_double(st, i++, x->blk_read_time);
	sqlite3_bind_double(st, i++, x->blk_write_time);
	sqlite3_bind_int64(st, i++, x->wal_records);
	sqlite3_bind_int64(st, i++, x->wal_fpi);
	sqlite3_bind_int64(st, i++, x->wal_bytes);
	sqlite3_bind_int64(st, i++, x->plans);
	sqlite3_bind_double(st, i++, x->total_plan_time);
	return step_done(s, st);
}

bool store_has_statement(struct store *s, int64_t queryid, int64_t userid, int64_t dbid)
{
	sqlite3_stmt *st = s->has_stmt;
	sqlite3_bind_int64(st, 1, queryid);
	sqlite3_bind_int64(st, 2, userid);
	sqlite3_bind_int64(st, 3, dbid);
	bool found = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_reset(st);
	return found;
}

int store_add_statement(struct store *s, int64_t queryid, int64_t userid, int64_t dbid,
			const char *text, int64_t now_us)
{
	sqlite3_stmt *st = s->ins_stmt;
	sqlite3_bind_int64(st, 1, queryid);
	sqlite3_bind_int64(st, 2, userid);
	sqlite3_bind_int64(st, 3, dbid);
	sqlite3_bind_text(st, 4, text, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, now_us);
	return step_done(s, st);
}

int64_t store_expire(struct store *s, int64_t cutoff_us, int batch)
{
	int64_t total = 0;
	char sql[1024];
	snprintf(sql, sizeof(sql),
		 "CREATE TEMP TABLE IF NOT EXISTS expire_ids (id INTEGER PRIMARY KEY);"
		 "DELETE FROM expire_ids;"
		 "INSERT INTO expire_ids SELECT id FROM sample_intervals WHERE end_us < %lld "
		 "ORDER BY end_us LIMIT %d;"
		 "DELETE FROM statement_samples WHERE interval_id IN (SELECT id FROM expire_ids);"
		 "DELETE FROM table_samples WHERE interval_id IN (SELECT id FROM expire_ids);"
		 "DELETE FROM index_samples WHERE interval_id IN (SELECT id FROM expire_ids);"
		 "DELETE FROM sample_intervals WHERE id IN (SELECT id FROM expire_ids);",
		 (long long)cutoff_us, batch);
	for (;;) {
		if (store_begin(s) < 0)
			return -1;
		if (exec(s, sql) < 0) {
			store_rollback(s);
			return -1;
		}
		int n = sqlite3_changes(s->db);
		if (store_commit(s) < 0) {
			store_rollback(s);
			return -1;
		}
		total += n;
		if (n < batch)
			return total;
	}
}
