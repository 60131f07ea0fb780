-- Sampler: pg_stat_user_tables and pg_stat_user_indexes of the current
-- database in one query, one row per relation, with sizes. Column order is
-- read by position in src/relstats.c. Times are microseconds since the epoch.
SELECT 't', t.relid::bigint, NULL::bigint, t.schemaname::text, t.relname::text,
       NULL::text, false, false,
       t.seq_scan, t.seq_tup_read, coalesce(t.idx_scan, 0), 0,
       coalesce(t.idx_tup_fetch, 0),
       t.n_tup_ins, t.n_tup_upd, t.n_tup_del, t.n_tup_hot_upd,
       t.n_live_tup, t.n_dead_tup,
       t.vacuum_count, t.autovacuum_count, t.analyze_count, t.autoanalyze_count,
       (extract(epoch FROM t.last_vacuum) * 1000000)::bigint,
       (extract(epoch FROM t.last_autovacuum) * 1000000)::bigint,
       (extract(epoch FROM t.last_analyze) * 1000000)::bigint,
       (extract(epoch FROM t.last_autoanalyze) * 1000000)::bigint,
       pg_relation_size(t.relid), pg_total_relation_size(t.relid),
       pg_indexes_size(t.relid)
FROM pg_stat_user_tables AS t
UNION ALL
SELECT 'i', i.indexrelid::bigint, i.relid::bigint, i.schemaname::text,
       i.indexrelname::text, pg_get_indexdef(i.indexrelid), x.indisunique,
       x.indisprimary,
       0, 0, i.idx_scan, i.idx_tup_read, i.idx_tup_fetch,
       0, 0, 0, 0, 0, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL,
       pg_relation_size(i.indexrelid), NULL, NULL
FROM pg_stat_user_indexes AS i
JOIN pg_index AS x ON x.indexrelid = i.indexrelid
