-- pglifeguard store: migration from schema version 1 to 2: lock waits and blocking chains (sampler, pglifeguard-cli locks).
-- Applied once, inside the transaction that bumps schema_version.

-- One row per lock sample of one monitored database that saw a backend
-- waiting on a lock, plus one row with waiters = 0 when the waits ended, so
-- that the latest sample of a database tells whether anything still waits.
CREATE TABLE lock_samples (
    id      INTEGER PRIMARY KEY,
    dbname  TEXT    NOT NULL,  -- the [databases] entry sampled
    at_us   INTEGER NOT NULL,  -- wall clock, microseconds since the epoch
    waiters INTEGER NOT NULL   -- backends waiting on a lock
);
CREATE INDEX lock_samples_at ON lock_samples (at_us);

-- Every backend of a sample that waits on a lock or blocks one, once per
-- sample however many it blocks. A wait is the same wait over several
-- samples while (pid, wait_start_us) stays the same: its duration is the
-- last sample's at_us minus wait_start_us. root_pid: the backend at the
-- top of the first chain this one is part of (one that does not wait; in a
-- deadlock cycle, the cycle's lowest pid); a root's own pid; NULL for a
-- waiter whose blockers were gone when sampled. pooler_*: the pglifeguard
-- client linked to that backend's server connection when the sample was
-- taken (pooler_server_id alone: an unlinked pglifeguard server).
CREATE TABLE lock_backends (
    sample_id        INTEGER NOT NULL REFERENCES lock_samples (id),
    pid              INTEGER NOT NULL,
    waiting          INTEGER NOT NULL,  -- wait_event_type = 'Lock'
    root_pid         INTEGER,
    datname          TEXT,
    usename          TEXT,
    application_name TEXT,
    client_addr      TEXT,
    client_port      INTEGER,
    state            TEXT,
    query            TEXT,
    backend_xid      TEXT,
    xact_start_us    INTEGER,
    query_start_us   INTEGER,
    wait_start_us    INTEGER,  -- pg_locks.waitstart (else query_start)
    locktype         TEXT,     -- of the lock waited for
    mode             TEXT,
    relation         TEXT,
    pooler_client_id        INTEGER,
    pooler_client_addr      TEXT,
    pooler_client_port      INTEGER,
    pooler_user             TEXT,
    pooler_database         TEXT,
    pooler_application_name TEXT,
    pooler_server_id        INTEGER,
    PRIMARY KEY (sample_id, pid)
) WITHOUT ROWID;

-- Who waits on whom in a sample (pg_blocking_pids of each waiter).
CREATE TABLE lock_edges (
    sample_id   INTEGER NOT NULL REFERENCES lock_samples (id),
    waiter_pid  INTEGER NOT NULL,
    blocker_pid INTEGER NOT NULL,
    PRIMARY KEY (sample_id, waiter_pid, blocker_pid)
) WITHOUT ROWID;
