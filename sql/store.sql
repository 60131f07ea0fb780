-- pglifeguard store, schema version 1 (SQLite). Applied once to a new file
-- by src/store.c; later versions add migrations there, never edit this text
-- in a way that changes version 1.
CREATE TABLE schema_version (
    version INTEGER NOT NULL
);

-- One row per sampling interval of one monitored database. lost_data: some
-- rows could not be turned into deltas (reset, eviction, counters that went
-- backwards); those rows are absent from statement_samples.
CREATE TABLE sample_intervals (
    id          INTEGER PRIMARY KEY,
    dbname      TEXT    NOT NULL,
    start_us    INTEGER NOT NULL,  -- wall clock, microseconds since the epoch
    end_us      INTEGER NOT NULL,
    lost_data   INTEGER NOT NULL DEFAULT 0,
    stats_reset TEXT
);
CREATE INDEX sample_intervals_end ON sample_intervals (end_us);

-- Normalized statement text, stored once per (queryid, userid, dbid).
CREATE TABLE statements (
    queryid       INTEGER NOT NULL,
    userid        INTEGER NOT NULL,
    dbid          INTEGER NOT NULL,
    query         TEXT    NOT NULL,
    first_seen_us INTEGER NOT NULL,
    PRIMARY KEY (queryid, userid, dbid)
) WITHOUT ROWID;

-- Per-interval deltas of pg_stat_statements (PostgreSQL 15 columns).
-- min/max/stddev cannot be differenced: they are the cumulative values at
-- the end of the interval. mean_exec_time is the interval's own mean.
CREATE TABLE statement_samples (
    interval_id         INTEGER NOT NULL REFERENCES sample_intervals (id),
    queryid             INTEGER NOT NULL,
    userid              INTEGER NOT NULL,
    dbid                INTEGER NOT NULL,
    calls               INTEGER NOT NULL,
    total_exec_time     REAL    NOT NULL,
    mean_exec_time      REAL    NOT NULL,
    min_exec_time       REAL,
    max_exec_time       REAL,
    stddev_exec_time    REAL,
    rows                INTEGER NOT NULL,
    shared_blks_hit     INTEGER NOT NULL,
    shared_blks_read    INTEGER NOT NULL,
    shared_blks_dirtied INTEGER NOT NULL,
    shared_blks_written INTEGER NOT NULL,
    local_blks_hit      INTEGER NOT NULL,
    local_blks_read     INTEGER NOT NULL,
    local_blks_written  INTEGER NOT NULL,
    temp_blks_read      INTEGER NOT NULL,
    temp_blks_written   INTEGER NOT NULL,
    blk_read_time       REAL    NOT NULL,
    blk_write_time      REAL    NOT NULL,
    wal_records         INTEGER NOT NULL,
    wal_fpi             INTEGER NOT NULL,
    wal_bytes           INTEGER NOT NULL,
    plans               INTEGER NOT NULL,
    total_plan_time     REAL    NOT NULL,
    PRIMARY KEY (interval_id, queryid, userid, dbid)
) WITHOUT ROWID;

-- Pooler events (leaks, alerts, saturation); written by a later version.
CREATE TABLE pool_events (
    id       INTEGER PRIMARY KEY,
    at_us    INTEGER NOT NULL,
    kind     TEXT    NOT NULL,
    database TEXT,
    username TEXT,
    detail   TEXT
);
CREATE INDEX pool_events_at ON pool_events (at_us);

INSERT INTO schema_version (version) VALUES (1);
