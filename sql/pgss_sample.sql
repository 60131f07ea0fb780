-- Sampler: every counter of pg_stat_statements (PostgreSQL 15) without the
-- text, plus the reset time and eviction count of pg_stat_statements_info.
-- Column order is read by position in src/sampler.c.
SELECT i.stats_reset::text, i.dealloc,
       s.queryid, s.userid::oid::bigint, s.dbid::oid::bigint,
       s.calls, s.total_exec_time, s.min_exec_time, s.max_exec_time,
       s.stddev_exec_time, s.rows,
       s.shared_blks_hit, s.shared_blks_read, s.shared_blks_dirtied,
       s.shared_blks_written, s.local_blks_hit, s.local_blks_read,
       s.local_blks_written, s.temp_blks_read, s.temp_blks_written,
       s.blk_read_time, s.blk_write_time,
       s.wal_records, s.wal_fpi, s.wal_bytes::bigint,
       s.plans, s.total_plan_time
FROM pg_stat_statements_info AS i
LEFT JOIN pg_stat_statements(false) AS s ON s.queryid IS NOT NULL AND s.toplevel
