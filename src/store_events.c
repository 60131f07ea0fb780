/* Writing pooler events into the store: one transaction per batch, with
 * statements prepared per batch (a batch per sample_interval at most, so
 * preparing is not worth caching). */
#include "store_events.h"
#include <stdio.h>
#include "leak.h"
#include "log.h"
#include "store_params.h"
#include "timeutil.h"

static const char ins_leak[] =
	"INSERT INTO leak_events (at_us, database, username, client_id, client_addr, "
	"client_port, application_name, server_id, backend_pid, state, held_s, idle_s, "
	"xact_start_us, xact_statements, last_statement, statement_truncated) "
	"VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
static const char upd_leak[] =
	"UPDATE leak_events SET returned_at_us = ?1, returned_after_s = ?2 "
	"WHERE id = (SELECT max(id) FROM leak_events WHERE server_id = ?3 AND backend_pid = ?4 "
	"AND returned_at_us IS NULL)";
static const char ins_alert[] =
	"INSERT INTO alert_events (at_us, alert, state, database, username, value, threshold, "
	"detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)";
static const char ins_pool[] =
	"INSERT INTO pool_samples (at_us, database, username, cl_active, cl_waiting, sv_active, "
	"sv_idle, sv_used, sv_login, pool_size, maxwait_us, checkouts, checkout_p50_us, "
	"checkout_p95_us, checkout_p99_us, checkout_max_us) "
	"VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
static const char ins_repeat[] =
	"INSERT INTO repeat_events (at_us, database, username, application_name, client_addr, "
	"scope, statement, executions, total_us, scope_us) "
	"VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
static const char ins_xact[] =
	"INSERT INTO xact_samples (at_us, database, username, application_name, xacts, xact_us, "
	"xact_max_us, idle_us, idle_max_us) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)";
#define NSTMT 6

static int step(sqlite3 *db, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE) {
		log_warning("store: %s", sqlite3_errmsg(db));
		return -1;
	}
	return 0;
}

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
	sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
}

static int write_leak(sqlite3 *db, sqlite3_stmt *st, const struct event *e)
{
	const struct event_leak *l = &e->u.leak;
	char stmt[LEAK_STMT_LEN * 2 + 64];
	int i = 1;
	sqlite3_bind_int64(st, i++, e->at_us);
	bind_text(st, i++, l->database);
	bind_text(st, i++, l->user);
	sqlite3_bind_int64(st, i++, (sqlite3_int64)l->client_id);
	bind_text(st, i++, l->addr);
	sqlite3_bind_int(st, i++, l->client_port);
	bind_text(st, i++, l->application_name);
	sqlite3_bind_int64(st, i++, (sqlite3_int64)l->server_id);
	sqlite3_bind_int64(st, i++, l->backend_pid);
	bind_text(st, i++, l->state);
	sqlite3_bind_double(st, i++, l->held_s);
	sqlite3_bind_double(st, i++, l->idle_s);
	if (l->xact_start_us)
		sqlite3_bind_int64(st, i, l->xact_start_us);
	i++;
	sqlite3_bind_int64(st, i++, l->xact_statements);
	if (l->statement[0]) {
		/* never store literal values: they may be secrets */
		leak_normalize(l->statement, stmt, sizeof(stmt));
		bind_text(st, i, stmt);
	}
	i++;
	sqlite3_bind_int(st, i++, l->truncated);
	return step(db, st);
}

static int write_repeat(sqlite3 *db, sqlite3_stmt *st, const struct event *e)
{
	const struct event_repeat *r = &e->u.repeat;
	char stmt[LEAK_STMT_LEN * 2 + 64];
	/* never store literal values: they may be secrets */
	leak_normalize(r->statement, stmt, sizeof(stmt));
	sqlite3_bind_int64(st, 1, e->at_us);
	bind_text(st, 2, r->database);
	bind_text(st, 3, r->user);
	bind_text(st, 4, r->application_name);
	bind_text(st, 5, r->addr);
	bind_text(st, 6, r->xact ? "transaction" : "checkout");
	bind_text(st, 7, stmt);
	sqlite3_bind_int64(st, 8, r->executions);
	sqlite3_bind_int64(st, 9, r->total_us);
	sqlite3_bind_int64(st, 10, r->scope_us);
	return step(db, st);
}

/* stmt_of returns the statement of ST (in the order of the sql array of
 * store_events_write) that writes events of KIND; NULL: written elsewhere. */
static sqlite3_stmt *stmt_of(sqlite3_stmt *const *st, enum event_kind kind)
{
	switch (kind) {
	case EVENT_LEAK_SUSPECTED:
		return st[0];
	case EVENT_LEAK_RETURNED:
		return st[1];
	case EVENT_ALERT:
		return st[2];
	case EVENT_POOL_SAMPLE:
		return st[3];
	case EVENT_REPEAT:
		return st[4];
	case EVENT_XACT_SAMPLE:
		return st[5];
	case EVENT_PARAM_SAMPLE:
		break;
	}
	return NULL;
}

int store_events_write(struct store *store, const struct event *events, size_t n)
{
	sqlite3 *db = store_db(store);
	sqlite3_stmt *st[NSTMT] = {NULL};
	const char *sql[NSTMT] = {ins_leak, upd_leak, ins_alert, ins_pool, ins_repeat, ins_xact};
	if (!n)
		return 0;
	for (int k = 0; k < NSTMT; k++)
		if (sqlite3_prepare_v2(db, sql[k], -1, &st[k], NULL) != SQLITE_OK) {
			log_warning("store: %s", sqlite3_errmsg(db));
			goto fail_prepare;
		}
	if (store_begin(store) < 0)
		goto fail_prepare;
	for (size_t j = 0; j < n; j++) {
		const struct event *e = &events[j];
		sqlite3_stmt *s = stmt_of(st, e->kind);
		int rc = 0;
		switch (e->kind) {
		case EVENT_LEAK_SUSPECTED:
			rc = write_leak(db, s, e);
			break;
		case EVENT_LEAK_RETURNED:
			sqlite3_bind_int64(s, 1, e->at_us);
			sqlite3_bind_double(s, 2, e->u.leak.held_s);
			sqlite3_bind_int64(s, 3, (sqlite3_int64)e->u.leak.server_id);
			sqlite3_bind_int64(s, 4, e->u.leak.backend_pid);
			rc = step(db, s);
			break;
		case EVENT_ALERT: {
			const struct event_alert *a = &e->u.alert;
			sqlite3_bind_int64(s, 1, e->at_us);
			bind_text(s, 2, a->alert);
			bind_text(s, 3, a->firing ? "firing" : "resolved");
			bind_text(s, 4, a->database);
			bind_text(s, 5, a->user);
			sqlite3_bind_double(s, 6, a->value);
			sqlite3_bind_double(s, 7, a->threshold);
			if (a->detail[0])
				bind_text(s, 8, a->detail);
			rc = step(db, s);
			break;
		}
		case EVENT_PARAM_SAMPLE:
			rc = store_params_write(db, e);
			break;
		case EVENT_POOL_SAMPLE: {
			const struct event_pool *p = &e->u.pool;
			sqlite3_bind_int64(s, 1, e->at_us);
			bind_text(s, 2, p->database);
			bind_text(s, 3, p->user);
			sqlite3_bind_int(s, 4, p->cl_active);
			sqlite3_bind_int(s, 5, p->cl_waiting);
			sqlite3_bind_int(s, 6, p->sv_active);
			sqlite3_bind_int(s, 7, p->sv_idle);
			sqlite3_bind_int(s, 8, p->sv_used);
			sqlite3_bind_int(s, 9, p->sv_login);
			sqlite3_bind_int(s, 10, p->pool_size);
			sqlite3_bind_int64(s, 11, p->maxwait_us);
			sqlite3_bind_int64(s, 12, p->checkouts > 0 ? p->checkouts : 0);
			if (p->checkouts > 0) {
				sqlite3_bind_int64(s, 13, p->checkout_p50_us);
				sqlite3_bind_int64(s, 14, p->checkout_p95_us);
				sqlite3_bind_int64(s, 15, p->checkout_p99_us);
				sqlite3_bind_int64(s, 16, p->checkout_max_us);
			}
			rc = step(db, s);
			break;
		}
		case EVENT_REPEAT:
			rc = write_repeat(db, s, e);
			break;
		case EVENT_XACT_SAMPLE: {
			const struct event_xact *x = &e->u.xact;
			sqlite3_bind_int64(s, 1, e->at_us);
			bind_text(s, 2, x->database);
			bind_text(s, 3, x->user);
			bind_text(s, 4, x->application_name);
			sqlite3_bind_int64(s, 5, x->xacts);
			sqlite3_bind_int64(s, 6, x->xact_us);
			sqlite3_bind_int64(s, 7, x->xact_max_us);
			sqlite3_bind_int64(s, 8, x->idle_us);
			sqlite3_bind_int64(s, 9, x->idle_max_us);
			rc = step(db, s);
			break;
		}
		}
		if (rc < 0)
			goto fail;
	}
	if (store_commit(store) < 0)
		goto fail;
	for (int k = 0; k < NSTMT; k++)
		sqlite3_finalize(st[k]);
	return 0;
fail:
	store_rollback(store);
fail_prepare:
	for (int k = 0; k < NSTMT; k++)
		sqlite3_finalize(st[k]);
	return -1;
}

int store_events_leadership(struct store *store, const char *dbname, bool leader)
{
	sqlite3 *db = store_db(store);
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db,
			       "INSERT INTO monitor_leadership (at_us, dbname, leader) "
			       "VALUES (?, ?, ?)",
			       -1, &st, NULL) != SQLITE_OK) {
		log_warning("store: %s", sqlite3_errmsg(db));
		return -1;
	}
	sqlite3_bind_int64(st, 1, timeutil_wall());
	bind_text(st, 2, dbname);
	sqlite3_bind_int(st, 3, leader);
	int rc = step(db, st);
	sqlite3_finalize(st);
	return rc;
}

int64_t store_events_expire(struct store *store, int64_t cutoff_us, int batch)
{
	static const char *const tables[] = {"leak_events",        "alert_events",  "pool_samples",
					     "monitor_leadership", "param_samples", "repeat_events",
					     "xact_samples"};
	sqlite3 *db = store_db(store);
	int64_t total = 0;
	char sql[256];
	for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++) {
		snprintf(sql, sizeof(sql),
			 "DELETE FROM %s WHERE rowid IN (SELECT rowid FROM %s WHERE at_us < %lld "
			 "LIMIT %d)",
			 tables[t], tables[t], (long long)cutoff_us, batch);
		for (;;) {
			char *msg = NULL;
			if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
				log_warning("store: %s", msg ? msg : sqlite3_errmsg(db));
				sqlite3_free(msg);
				return -1;
			}
			int n = sqlite3_changes(db);
			total += n;
			if (n < batch)
				break;
		}
	}
	return total;
}
