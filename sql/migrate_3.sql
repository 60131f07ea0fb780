-- pglifeguard store: migration from schema version 2 to 3: table and index statistics, rollups of older samples.
-- Applied once, inside the transaction that bumps schema_version.
--
-- Readers (pglifeguard-cli tables, the advisor): a relation is identified
-- by (dbname, relid) where dbname is the [databases] entry the sampler
-- reached it through (sample_intervals.dbname) and relid its pg_class OID.
-- table_samples and index_samples hang off sample_intervals exactly like
-- statement_samples: join on interval_id, filter on sample_intervals.end_us.

-- A sample_intervals row is either one sampling interval (rollup = 0) or
-- the merge of the raw intervals of one database within one
-- store_rollup_interval bucket (rollup = 1; start_us/end_us span them all).
-- The raw intervals and their samples are deleted in the transaction that
-- writes the rollup, so summing over any window never counts twice.
ALTER TABLE sample_intervals ADD COLUMN rollup INTEGER NOT NULL DEFAULT 0;
CREATE INDEX sample_intervals_rollup ON sample_intervals (rollup, end_us);

-- Every table and index seen by the sampler, with the latest values of its
-- gauges (a row is rewritten in place when they change and at least once a
-- minute, which keeps last_seen_us within a minute; no growth with time).
CREATE TABLE relations (
    dbname        TEXT    NOT NULL,  -- [databases] entry name
    relid         INTEGER NOT NULL,  -- pg_class OID of the table or index
    kind          TEXT    NOT NULL,  -- 't' table, 'i' index
    schemaname    TEXT    NOT NULL,
    relname       TEXT    NOT NULL,  -- table name, or index name for kind 'i'
    table_relid   INTEGER,           -- kind 'i': OID of the indexed table
    indexdef      TEXT,              -- kind 'i': pg_get_indexdef()
    is_unique     INTEGER NOT NULL DEFAULT 0,  -- kind 'i': pg_index.indisunique
    is_primary    INTEGER NOT NULL DEFAULT 0,  -- kind 'i': pg_index.indisprimary
    first_seen_us INTEGER NOT NULL,  -- wall clock, microseconds since the epoch
    last_seen_us  INTEGER NOT NULL,
    n_live_tup    INTEGER,           -- kind 't', latest value
    n_dead_tup    INTEGER,           -- kind 't', latest value
    relation_size INTEGER,           -- bytes, pg_relation_size() (main fork)
    total_size    INTEGER,           -- kind 't': pg_total_relation_size()
    indexes_size  INTEGER,           -- kind 't': pg_indexes_size()
    PRIMARY KEY (dbname, relid)
) WITHOUT ROWID;
CREATE INDEX relations_last_seen ON relations (last_seen_us);

-- Per-interval deltas of pg_stat_user_tables, one row per table that had
-- any activity in the interval. Counters that went backwards (a stats
-- reset) leave the table out of that interval and mark the interval
-- lost_data. Gauges (n_live_tup ... indexes_size) are the values at the
-- end of the interval; in a rollup, the largest of the merged values.
-- last_* are the latest (auto)vacuum/analyze times known, microseconds
-- since the epoch, NULL when never.
CREATE TABLE table_samples (
    interval_id         INTEGER NOT NULL REFERENCES sample_intervals (id),
    relid               INTEGER NOT NULL,  -- relations.relid (same dbname)
    seq_scan            INTEGER NOT NULL,
    seq_tup_read        INTEGER NOT NULL,
    idx_scan            INTEGER NOT NULL,
    idx_tup_fetch       INTEGER NOT NULL,
    n_tup_ins           INTEGER NOT NULL,
    n_tup_upd           INTEGER NOT NULL,
    n_tup_del           INTEGER NOT NULL,
    n_tup_hot_upd       INTEGER NOT NULL,
    vacuum_count        INTEGER NOT NULL,
    autovacuum_count    INTEGER NOT NULL,
    analyze_count       INTEGER NOT NULL,
    autoanalyze_count   INTEGER NOT NULL,
    n_live_tup          INTEGER NOT NULL,
    n_dead_tup          INTEGER NOT NULL,
    relation_size       INTEGER NOT NULL,
    total_size          INTEGER NOT NULL,
    indexes_size        INTEGER NOT NULL,
    last_vacuum_us      INTEGER,
    last_autovacuum_us  INTEGER,
    last_analyze_us     INTEGER,
    last_autoanalyze_us INTEGER,
    PRIMARY KEY (interval_id, relid)
) WITHOUT ROWID;

-- Per-interval deltas of pg_stat_user_indexes, one row per index that was
-- scanned in the interval (same reset rule). An index of relations with no
-- row here over a window was not used in it. size: bytes at the end of the
-- interval (rollup: the largest).
CREATE TABLE index_samples (
    interval_id   INTEGER NOT NULL REFERENCES sample_intervals (id),
    relid         INTEGER NOT NULL,  -- relations.relid of the index
    idx_scan      INTEGER NOT NULL,
    idx_tup_read  INTEGER NOT NULL,
    idx_tup_fetch INTEGER NOT NULL,
    size          INTEGER NOT NULL,
    PRIMARY KEY (interval_id, relid)
) WITHOUT ROWID;
