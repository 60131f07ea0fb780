-- Sampler: texts of the statements not yet in the store ($1: bigint[]).
SELECT queryid, userid::oid::bigint, dbid::oid::bigint, query
FROM pg_stat_statements(true)
WHERE queryid = ANY ($1::bigint[]) AND toplevel
