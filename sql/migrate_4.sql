-- pglifeguard store: migration from schema version 3 to 4: pooler events (leaks, alerts, saturation) and monitor leadership.
-- Applied once, inside the transaction that bumps schema_version.

-- One row per suspected connection leak, with every field of its log line;
-- returned_* are filled in when the client gives the connection back.
-- last_statement has its literals replaced by $n (or '?').
CREATE TABLE leak_events (
    id                  INTEGER PRIMARY KEY,
    at_us               INTEGER NOT NULL,  -- wall clock, microseconds since the epoch
    database            TEXT    NOT NULL,
    username            TEXT    NOT NULL,
    client_id           INTEGER NOT NULL,  -- C-<id> of the log
    client_addr         TEXT    NOT NULL,
    client_port         INTEGER NOT NULL,
    application_name    TEXT    NOT NULL,
    server_id           INTEGER NOT NULL,  -- S-<id> of the log
    backend_pid         INTEGER NOT NULL,
    state               TEXT    NOT NULL,  -- idle, idle in transaction, ...
    held_s              REAL    NOT NULL,
    idle_s              REAL    NOT NULL,
    xact_start_us       INTEGER,           -- NULL: not in a transaction
    xact_statements     INTEGER NOT NULL,
    last_statement      TEXT,              -- NULL: none
    statement_truncated INTEGER NOT NULL DEFAULT 0,
    returned_at_us      INTEGER,
    returned_after_s    REAL               -- the whole checkout, once returned
);
CREATE INDEX leak_events_at ON leak_events (at_us);

-- One row per alert change (firing or resolved); detail names who held
-- the pool when it fired.
CREATE TABLE alert_events (
    id        INTEGER PRIMARY KEY,
    at_us     INTEGER NOT NULL,
    alert     TEXT    NOT NULL,
    state     TEXT    NOT NULL,  -- firing, resolved
    database  TEXT    NOT NULL,  -- '' for pooler-wide alerts
    username  TEXT    NOT NULL,
    value     REAL    NOT NULL,
    threshold REAL    NOT NULL,
    detail    TEXT
);
CREATE INDEX alert_events_at ON alert_events (at_us);

-- Pool saturation, one row per pool every sample_interval; a pool without
-- clients or servers gets no row (read a missing sample as all zero).
CREATE TABLE pool_samples (
    at_us      INTEGER NOT NULL,
    database   TEXT    NOT NULL,
    username   TEXT    NOT NULL,
    cl_active  INTEGER NOT NULL,
    cl_waiting INTEGER NOT NULL,
    sv_active  INTEGER NOT NULL,
    sv_idle    INTEGER NOT NULL,
    sv_used    INTEGER NOT NULL,
    sv_login   INTEGER NOT NULL,
    pool_size  INTEGER NOT NULL,
    maxwait_us INTEGER NOT NULL
);
CREATE INDEX pool_samples_at ON pool_samples (at_us);

-- Leadership changes of this instance's sampler per monitored database
-- (pg_try_advisory_lock on that database; see pglifeguard.ini(5)).
CREATE TABLE monitor_leadership (
    at_us  INTEGER NOT NULL,
    dbname TEXT    NOT NULL,
    leader INTEGER NOT NULL  -- 1: this instance samples it from now on; 0: it stopped
);
