/* Writes and retention of lock samples: lock_samples, lock_backends and
 * lock_edges of sql/migrate_2.sql. */
#include "store_locks.h"
#include <stdio.h>
#include <stdlib.h>
#include "log.h"

struct store_locks {
	sqlite3 *db;
	sqlite3_stmt *ins_sample, *ins_backend, *ins_edge;
};

struct store_locks *store_locks_new(struct store *store)
{
	struct store_locks *sl = calloc(1, sizeof(*sl));
	if (!sl)
		return NULL;
	sl->db = store_db(store);
	static const char *const sql[] = {
		"INSERT INTO lock_samples (dbname, at_us, waiters) VALUES (?, ?, ?)",
		"INSERT OR REPLACE INTO lock_backends (sample_id, pid, waiting, root_pid, datname,"
		" usename, application_name, client_addr, client_port, state, query, backend_xid,"
		" xact_start_us, query_start_us, wait_start_us, locktype, mode, relation,"
		" pooler_client_id, pooler_client_addr, pooler_client_port, pooler_user,"
		" pooler_database, pooler_application_name, pooler_server_id)"
		" VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
		"?)",
		"INSERT OR IGNORE INTO lock_edges (sample_id, waiter_pid, blocker_pid)"
		" VALUES (?, ?, ?)",
	};
	sqlite3_stmt **st[] = {&sl->ins_sample, &sl->ins_backend, &sl->ins_edge};
	for (size_t i = 0; i < 3; i++)
		if (sqlite3_prepare_v3(sl->db, sql[i], -1, SQLITE_PREPARE_PERSISTENT, st[i],
				       NULL) != SQLITE_OK) {
			log_error("store: cannot prepare the lock statements: %s",
				  sqlite3_errmsg(sl->db));
			store_locks_free(sl);
			return NULL;
		}
	return sl;
}

void store_locks_free(struct store_locks *sl)
{
	if (!sl)
		return;
	sqlite3_finalize(sl->ins_sample);
	sqlite3_finalize(sl->ins_backend);
	sqlite3_finalize(sl->ins_edge);
	free(sl);
}

static int step_done(struct store_locks *sl, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE) {
		log_warning("store: %s", sqlite3_errmsg(sl->db));
		return -1;
	}
	return 0;
}

int64_t store_locks_add_sample(struct store_locks *sl, const char *dbname, int64_t at_us,
			       int waiters)
{
	sqlite3_bind_text(sl->ins_sample, 1, dbname, -1, SQLITE_STATIC);
	sqlite3_bind_int64(sl->ins_sample, 2, at_us);
	sqlite3_bind_int(sl->ins_sample, 3, waiters);
	if (step_done(sl, sl->ins_sample) < 0)
		return -1;
	return sqlite3_last_insert_rowid(sl->db);
}

/* unbound parameters are NULL: bind only what is there */
static void text(sqlite3_stmt *st, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
}

static void num(sqlite3_stmt *st, int i, int64_t v)
{
	if (v)
		sqlite3_bind_int64(st, i, v);
}

int store_locks_add_backend(struct store_locks *sl, int64_t sample_id,
			    const struct store_lock_backend *b)
{
	sqlite3_stmt *st = sl->ins_backend;
	int i = 1;
	sqlite3_bind_int64(st, i++, sample_id);
	sqlite3_bind_int(st, i++, b->pid);
	sqlite3_bind_int(st, i++, b->waiting);
	num(st, i++, b->root_pid);
	text(st, i++, b->datname);
	text(st, i++, b->usename);
	text(st, i++, b->application_name);
	text(st, i++, b->client_addr);
	if (b->has_client_port)
		sqlite3_bind_int(st, i, b->client_port);
	i++;
	text(st, i++, b->state);
	text(st, i++, b->query);
	text(st, i++, b->backend_xid);
	num(st, i++, b->xact_start_us);
	num(st, i++, b->query_start_us);
	num(st, i++, b->wait_start_us);
	text(st, i++, b->locktype);
	text(st, i++, b->mode);
	text(st, i++, b->relation);
	if (b->pooler_server_id) {
		num(st, i++, (int64_t)b->pooler_client_id);
		if (b->pooler_client_id) {
			text(st, i++, b->pooler_client_addr);
			sqlite3_bind_int(st, i++, b->pooler_client_port);
			text(st, i++, b->pooler_user);
			text(st, i++, b->pooler_database);
			text(st, i++, b->pooler_application_name);
		} else {
			i += 5;
		}
		num(st, i++, (int64_t)b->pooler_server_id);
	}
	return step_done(sl, st);
}

int store_locks_add_edge(struct store_locks *sl, int64_t sample_id, int32_t waiter, int32_t blocker)
{
	sqlite3_bind_int64(sl->ins_edge, 1, sample_id);
	sqlite3_bind_int(sl->ins_edge, 2, waiter);
	sqlite3_bind_int(sl->ins_edge, 3, blocker);
	return step_done(sl, sl->ins_edge);
}

int64_t store_locks_expire(struct store *store, int64_t cutoff_us, int batch)
{
	sqlite3 *db = store_db(store);
	char sql[640];
	snprintf(sql, sizeof(sql),
		 "CREATE TEMP TABLE IF NOT EXISTS expire_lock_ids (id INTEGER PRIMARY KEY);"
		 "DELETE FROM expire_lock_ids;"
		 "INSERT INTO expire_lock_ids SELECT id FROM lock_samples WHERE at_us < %lld "
		 "ORDER BY at_us LIMIT %d;"
		 "DELETE FROM lock_edges WHERE sample_id IN (SELECT id FROM expire_lock_ids);"
		 "DELETE FROM lock_backends WHERE sample_id IN (SELECT id FROM expire_lock_ids);"
		 "DELETE FROM lock_samples WHERE id IN (SELECT id FROM expire_lock_ids);",
		 (long long)cutoff_us, batch);
	int64_t total = 0;
	for (;;) {
		if (store_begin(store) < 0)
			return -1;
		char *msg = NULL;
		if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
			log_warning("store: lock retention: %s", msg ? msg : sqlite3_errmsg(db));
			sqlite3_free(msg);
			store_rollback(store);
			return -1;
		}
		int n = sqlite3_changes(db);
		if (store_commit(store) < 0) {
			store_rollback(store);
			return -1;
		}
		total += n;
		if (n < batch)
			return total;
	}
}
