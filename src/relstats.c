/* Table and index statistics: reading the sampler's relstats query into
 * snapshots, deltas between two snapshots (a counter that went backwards
 * means a reset: the relation is left out of the interval, which is marked
 * lost_data, never a negative delta) and writing them to the store. */
#include "relstats.h"
#include <stdlib.h>
#include <string.h>
#include "log.h"

#define RELSTATS_COLUMNS 30
#define REFRESH_EVERY (60 * USEC_PER_SEC) /* rewrite every relations row */

struct snap {
	PGresult *res; /* owns the strings of rows */
	struct relstats_row *rows; /* sorted by relid */
	size_t n;
	usec_t at;
	bool valid;
};

struct relstats {
	struct snap prev, cur;
	struct relstats_row *deltas;
	size_t ndeltas;
	bool ready, lost;
	usec_t start, end;
	usec_t refreshed; /* when every relations row was last written */
	sqlite3 *db; /* the statements below belong to it */
	sqlite3_stmt *up_rel, *ins_table, *ins_index;
};

struct relstats *relstats_new(void)
{
	return calloc(1, sizeof(struct relstats));
}

static void snap_clear(struct snap *s)
{
	PQclear(s->res);
	free(s->rows);
	memset(s, 0, sizeof(*s));
}

static void finalize_all(struct relstats *rs)
{
	sqlite3_finalize(rs->up_rel);
	sqlite3_finalize(rs->ins_table);
	sqlite3_finalize(rs->ins_index);
	rs->up_rel = rs->ins_table = rs->ins_index = NULL;
	rs->db = NULL;
}

void relstats_free(struct relstats *rs)
{
	if (!rs)
		return;
	snap_clear(&rs->prev);
	snap_clear(&rs->cur);
	free(rs->deltas);
	finalize_all(rs);
	free(rs);
}

static int64_t col_i(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? 0 : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

static const char *col_s(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

static bool col_b(const PGresult *r, int row, int col)
{
	return !PQgetisnull(r, row, col) && PQgetvalue(r, row, col)[0] == 't';
}

static int relid_cmp(const void *a, const void *b)
{
	const struct relstats_row *x = a, *y = b;
	return x->relid < y->relid ? -1 : x->relid > y->relid;
}

bool relstats_delta(struct relstats_row *d, const struct relstats_row *c,
		    const struct relstats_row *p)
{
	*d = *c;
#define SUB(f)                                                                                     \
	do {                                                                                       \
		if (c->f < p->f)                                                                   \
			return false;                                                              \
		d->f = c->f - p->f;                                                                \
	} while (0)
	SUB(seq_scan);
	SUB(seq_tup_read);
	SUB(idx_scan);
	SUB(idx_tup_read);
	SUB(idx_tup_fetch);
	SUB(n_tup_ins);
	SUB(n_tup_upd);
	SUB(n_tup_del);
	SUB(n_tup_hot_upd);
	SUB(vacuum_count);
	SUB(autovacuum_count);
	SUB(analyze_count);
	SUB(autoanalyze_count);
#undef SUB
	return true;
}

bool relstats_active(const struct relstats_row *d)
{
	return d->seq_scan || d->seq_tup_read || d->idx_scan || d->idx_tup_read ||
	       d->idx_tup_fetch || d->n_tup_ins || d->n_tup_upd || d->n_tup_del ||
	       d->n_tup_hot_upd || d->vacuum_count || d->autovacuum_count || d->analyze_count ||
	       d->autoanalyze_count;
}

static bool parse(struct snap *s, PGresult *res)
{
	int n = PQntuples(res);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQnfields(res) != RELSTATS_COLUMNS)
		return false;
	s->rows = n ? calloc((size_t)n, sizeof(*s->rows)) : NULL;
	if (n && !s->rows)
		return false;
	for (int i = 0; i < n; i++) {
		if (PQgetisnull(res, i, 1))
			continue;
		struct relstats_row *x = &s->rows[s->n++];
		int k = 0;
		x->kind = PQgetvalue(res, i, k++)[0] == 'i' ? 'i' : 't';
		x->relid = col_i(res, i, k++);
		x->table_relid = col_i(res, i, k++);
		x->schemaname = col_s(res, i, k++);
		x->relname = col_s(res, i, k++);
		x->indexdef = col_s(res, i, k++);
		x->is_unique = col_b(res, i, k++);
		x->is_primary = col_b(res, i, k++);
		x->seq_scan = col_i(res, i, k++);
		x->seq_tup_read = col_i(res, i, k++);
		x->idx_scan = col_i(res, i, k++);
		x->idx_tup_read = col_i(res, i, k++);
		x->idx_tup_fetch = col_i(res, i, k++);
		x->n_tup_ins = col_i(res, i, k++);
		x->n_tup_upd = col_i(res, i, k++);
		x->n_tup_del = col_i(res, i, k++);
		x->n_tup_hot_upd = col_i(res, i, k++);
		x->n_live_tup = col_i(res, i, k++);
		x->n_dead_tup = col_i(res, i, k++);
		x->vacuum_count = col_i(res, i, k++);
		x->autovacuum_count = col_i(res, i, k++);
		x->analyze_count = col_i(res, i, k++);
		x->autoanalyze_count = col_i(res, i, k++);
		x->last_vacuum_us = col_i(res, i, k++);
		x->last_autovacuum_us = col_i(res, i, k++);
		x->last_analyze_us = col_i(res, i, k++);
		x->last_autoanalyze_us = col_i(res, i, k++);
		x->relation_size = col_i(res, i, k++);
		x->total_size = col_i(res, i, k++);
		x->indexes_size = col_i(res, i, k++);
		if (!x->schemaname || !x->relname)
			s->n--; /* dropped while we looked */
	}
	if (s->n)
		qsort(s->rows, s->n, sizeof(*s->rows), relid_cmp);
	s->res = res;
	s->valid = true;
	return true;
}

static bool same_str(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

/* changed tells whether the relations row of C differs from that of P. */
static bool changed(const struct relstats_row *c, const struct relstats_row *p)
{
	return c->kind != p->kind || c->table_relid != p->table_relid ||
	       c->is_unique != p->is_unique || c->is_primary != p->is_primary ||
	       c->n_live_tup != p->n_live_tup || c->n_dead_tup != p->n_dead_tup ||
	       c->relation_size != p->relation_size || c->total_size != p->total_size ||
	       c->indexes_size != p->indexes_size || !same_str(c->schemaname, p->schemaname) ||
	       !same_str(c->relname, p->relname) || !same_str(c->indexdef, p->indexdef);
}

/* A relation absent from the previous snapshot appeared during the
 * interval (or its stats were created then): all its counts belong to it. */
static bool compute(struct relstats *rs)
{
	struct snap *p = &rs->prev, *c = &rs->cur;
	free(rs->deltas);
	rs->ndeltas = 0;
	rs->lost = false;
	rs->deltas = c->n ? calloc(c->n, sizeof(*rs->deltas)) : NULL;
	if (c->n && !rs->deltas)
		return false;
	for (size_t i = 0; i < c->n; i++) {
		const struct relstats_row *old =
			p->n ? bsearch(&c->rows[i], p->rows, p->n, sizeof(*p->rows), relid_cmp)
			     : NULL;
		struct relstats_row *d = &rs->deltas[rs->ndeltas];
		c->rows[i].dirty = !old || changed(&c->rows[i], old);
		if (!old)
			*d = c->rows[i];
		else if (!relstats_delta(d, &c->rows[i], old)) {
			rs->lost = true;
			continue;
		}
		if (relstats_active(d))
			rs->ndeltas++;
	}
	rs->start = p->at;
	rs->end = c->at;
	return true;
}

bool relstats_read(struct relstats *rs, PGresult *res, usec_t at)
{
	snap_clear(&rs->cur);
	if (!parse(&rs->cur, res)) {
		snap_clear(&rs->cur);
		PQclear(res);
		return false;
	}
	rs->cur.at = at;
	rs->ready = false;
	if (rs->prev.valid) {
		if (!compute(rs)) {
			snap_clear(&rs->cur);
			return false;
		}
		rs->ready = true;
	}
	snap_clear(&rs->prev);
	rs->prev = rs->cur;
	memset(&rs->cur, 0, sizeof(rs->cur));
	return true;
}

bool relstats_ready(const struct relstats *rs, usec_t *start, usec_t *end, bool *lost)
{
	if (!rs || !rs->ready)
		return false;
	*start = rs->start;
	*end = rs->end;
	*lost = rs->lost;
	return true;
}

void relstats_discard(struct relstats *rs)
{
	if (rs)
		rs->ready = false;
}

static int prepare_all(struct relstats *rs, sqlite3 *db)
{
	if (rs->db == db)
		return 0;
	finalize_all(rs);
	if (sqlite3_prepare_v3(
		    db,
		    "INSERT INTO relations (dbname, relid, kind, schemaname, relname, table_relid,"
		    " indexdef, is_unique, is_primary, first_seen_us, last_seen_us, n_live_tup,"
		    " n_dead_tup, relation_size, total_size, indexes_size)"
		    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10, ?11, ?12, ?13, ?14, "
		    "?15)"
		    " ON CONFLICT (dbname, relid) DO UPDATE SET kind = excluded.kind,"
		    " schemaname = excluded.schemaname, relname = excluded.relname,"
		    " table_relid = excluded.table_relid, indexdef = excluded.indexdef,"
		    " is_unique = excluded.is_unique, is_primary = excluded.is_primary,"
		    " last_seen_us = excluded.last_seen_us, n_live_tup = excluded.n_live_tup,"
		    " n_dead_tup = excluded.n_dead_tup, relation_size = excluded.relation_size,"
		    " total_size = excluded.total_size, indexes_size = excluded.indexes_size",
		    -1, SQLITE_PREPARE_PERSISTENT, &rs->up_rel, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v3(db,
			       "INSERT OR REPLACE INTO table_samples VALUES (?, ?, ?, ?, ?, ?, ?, "
			       "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
			       -1, SQLITE_PREPARE_PERSISTENT, &rs->ins_table, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v3(db, "INSERT OR REPLACE INTO index_samples VALUES (?, ?, ?, ?, ?, ?)",
			       -1, SQLITE_PREPARE_PERSISTENT, &rs->ins_index, NULL) != SQLITE_OK) {
		log_warning("store: %s", sqlite3_errmsg(db));
		finalize_all(rs);
		return -1;
	}
	rs->db = db;
	return 0;
}

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

static void bind_time(sqlite3_stmt *st, int i, int64_t us)
{
	if (us)
		sqlite3_bind_int64(st, i, us);
	else
		sqlite3_bind_null(st, i);
}

static int write_relation(struct relstats *rs, const char *dbname, const struct relstats_row *x,
			  usec_t at)
{
	sqlite3_stmt *st = rs->up_rel;
	bool table = x->kind == 't';
	sqlite3_bind_text(st, 1, dbname, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, x->relid);
	sqlite3_bind_text(st, 3, table ? "t" : "i", 1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, x->schemaname, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, x->relname, -1, SQLITE_STATIC);
	if (!table) {
		sqlite3_bind_int64(st, 6, x->table_relid);
		if (x->indexdef)
			sqlite3_bind_text(st, 7, x->indexdef, -1, SQLITE_STATIC);
	}
	sqlite3_bind_int(st, 8, x->is_unique);
	sqlite3_bind_int(st, 9, x->is_primary);
	sqlite3_bind_int64(st, 10, at);
	if (table) {
		sqlite3_bind_int64(st, 11, x->n_live_tup);
		sqlite3_bind_int64(st, 12, x->n_dead_tup);
		sqlite3_bind_int64(st, 14, x->total_size);
		sqlite3_bind_int64(st, 15, x->indexes_size);
	}
	sqlite3_bind_int64(st, 13, x->relation_size);
	return step(rs->db, st);
}

static int write_delta(struct relstats *rs, int64_t interval_id, const struct relstats_row *d)
{
	sqlite3_stmt *st;
	int i = 1;
	if (d->kind == 'i') {
		st = rs->ins_index;
		sqlite3_bind_int64(st, i++, interval_id);
		sqlite3_bind_int64(st, i++, d->relid);
		sqlite3_bind_int64(st, i++, d->idx_scan);
		sqlite3_bind_int64(st, i++, d->idx_tup_read);
		sqlite3_bind_int64(st, i++, d->idx_tup_fetch);
		sqlite3_bind_int64(st, i++, d->relation_size);
		return step(rs->db, st);
	}
	st = rs->ins_table;
	sqlite3_bind_int64(st, i++, interval_id);
	sqlite3_bind_int64(st, i++, d->relid);
	sqlite3_bind_int64(st, i++, d->seq_scan);
	sqlite3_bind_int64(st, i++, d->seq_tup_read);
	sqlite3_bind_int64(st, i++, d->idx_scan);
	sqlite3_bind_int64(st, i++, d->idx_tup_fetch);
	sqlite3_bind_int64(st, i++, d->n_tup_ins);
	sqlite3_bind_int64(st, i++, d->n_tup_upd);
	sqlite3_bind_int64(st, i++, d->n_tup_del);
	sqlite3_bind_int64(st, i++, d->n_tup_hot_upd);
	sqlite3_bind_int64(st, i++, d->vacuum_count);
	sqlite3_bind_int64(st, i++, d->autovacuum_count);
	sqlite3_bind_int64(st, i++, d->analyze_count);
	sqlite3_bind_int64(st, i++, d->autoanalyze_count);
	sqlite3_bind_int64(st, i++, d->n_live_tup);
	sqlite3_bind_int64(st, i++, d->n_dead_tup);
	sqlite3_bind_int64(st, i++, d->relation_size);
	sqlite3_bind_int64(st, i++, d->total_size);
	sqlite3_bind_int64(st, i++, d->indexes_size);
	bind_time(st, i++, d->last_vacuum_us);
	bind_time(st, i++, d->last_autovacuum_us);
	bind_time(st, i++, d->last_analyze_us);
	bind_time(st, i++, d->last_autoanalyze_us);
	return step(rs->db, st);
}

int relstats_write(struct relstats *rs, struct store *store, int64_t interval_id,
		   const char *dbname)
{
	bool ready = rs->ready;
	rs->ready = false;
	if (!ready)
		return 0;
	if (prepare_all(rs, store_db(store)) < 0)
		return -1;
	bool all = rs->prev.at - rs->refreshed >= REFRESH_EVERY;
	for (size_t i = 0; i < rs->prev.n; i++)
		if ((all || rs->prev.rows[i].dirty) &&
		    write_relation(rs, dbname, &rs->prev.rows[i], rs->prev.at) < 0)
			return -1;
	if (all)
		rs->refreshed = rs->prev.at;
	for (size_t i = 0; i < rs->ndeltas; i++)
		if (write_delta(rs, interval_id, &rs->deltas[i]) < 0)
			return -1;
	return 0;
}

int64_t relstats_expire(struct store *store, int64_t cutoff_us)
{
	sqlite3 *db = store_db(store);
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, "DELETE FROM relations WHERE last_seen_us < ?", -1, &st, NULL) !=
	    SQLITE_OK) {
		log_warning("store: %s", sqlite3_errmsg(db));
		return -1;
	}
	sqlite3_bind_int64(st, 1, cutoff_us);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		log_warning("store: %s", sqlite3_errmsg(db));
		return -1;
	}
	return sqlite3_changes(db);
}
