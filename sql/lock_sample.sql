-- Lock sampler: every backend that waits on a lock (wait_event_type =
-- 'Lock') with the pids blocking it, and every backend blocking one, as
-- one row each. pg_blocking_pids() runs only for waiting backends and
-- pg_locks is read only when one exists (the EXISTS is a one-time filter):
-- when nothing waits, this is one pass over pg_stat_activity. A user
-- without pg_read_all_stats does not see other users' wait events: for it
-- the waiters are the pids with a lock not granted in pg_locks (readable
-- by all), which costs a pass over pg_locks per sample. Times are
-- microseconds since the epoch. Only waiters in the sampled database are
-- read (their blockers wherever they are), so that two monitored databases
-- of one cluster do not record the same waits twice. Column order is read
-- by position in src/locksampler.c.
WITH waiting AS MATERIALIZED (
    SELECT pid, pg_blocking_pids(pid) AS blockers
    FROM pg_stat_activity
    WHERE pid <> pg_backend_pid() AND datname = current_database()
      AND (wait_event_type = 'Lock'
           OR (NOT (SELECT pg_has_role('pg_read_all_stats', 'USAGE'))
               AND pid IN (SELECT pid FROM pg_locks WHERE NOT granted)))
), locks AS MATERIALIZED (
    SELECT DISTINCT ON (pid) pid, locktype, mode, relation, waitstart
    FROM pg_locks
    WHERE NOT granted AND EXISTS (SELECT 1 FROM waiting)
    ORDER BY pid, waitstart
), involved AS (
    SELECT pid FROM waiting
    UNION
    SELECT unnest(blockers) FROM waiting
)
SELECT i.pid, w.pid IS NOT NULL, w.blockers::text,
       a.datname, a.usename, a.application_name, host(a.client_addr), a.client_port,
       a.state, a.query, a.backend_xid::text,
       (extract(epoch FROM a.xact_start) * 1000000)::bigint,
       (extract(epoch FROM a.query_start) * 1000000)::bigint,
       CASE WHEN w.pid IS NOT NULL THEN
           (extract(epoch FROM coalesce(l.waitstart, a.query_start)) * 1000000)::bigint
       END,
       l.locktype, l.mode, l.relation::regclass::text
FROM involved AS i
LEFT JOIN pg_stat_activity AS a ON a.pid = i.pid
LEFT JOIN waiting AS w ON w.pid = i.pid
LEFT JOIN locks AS l ON l.pid = w.pid
ORDER BY i.pid
