-- pglifeguard store: migration from schema version 4 to 5: what the pooler
-- sees that pg_stat_statements cannot (parameter values, repeated single-row
-- statements, transactions by application) and checkout percentiles.
-- Applied once, inside the transaction that bumps schema_version.

-- Parameter values of statements, sampled by the pooler only when
-- sample_query_params = on (off by default: values can be personal data).
-- Only SELECT, INSERT, UPDATE, DELETE and VALUES statements are sampled.
-- A few recent samples are kept per (database, fingerprint).
CREATE TABLE param_samples (
    id          INTEGER PRIMARY KEY,
    at_us       INTEGER NOT NULL,  -- wall clock, microseconds since the epoch
    database    TEXT    NOT NULL,
    fingerprint TEXT    NOT NULL,  -- libpg_query fingerprint, 16 hex digits
    query       TEXT    NOT NULL,  -- normalized: every constant is $n
    params      TEXT    NOT NULL   -- JSON array, $1 first: text value or null
);
CREATE INDEX param_samples_fp ON param_samples (database, fingerprint, at_us);
CREATE INDEX param_samples_at ON param_samples (at_us);

-- The same statement run many times inside one transaction (or, outside
-- a transaction block, one burst of one checkout), each run returning or
-- changing at most one row: the N+1 pattern. One row per occurrence.
CREATE TABLE repeat_events (
    id               INTEGER PRIMARY KEY,
    at_us            INTEGER NOT NULL,
    database         TEXT    NOT NULL,
    username         TEXT    NOT NULL,
    application_name TEXT    NOT NULL,
    client_addr      TEXT    NOT NULL,
    scope            TEXT    NOT NULL,  -- transaction, checkout
    statement        TEXT    NOT NULL,  -- literals replaced by $n
    executions       INTEGER NOT NULL,
    total_us         INTEGER NOT NULL,  -- server time of those executions
    scope_us         INTEGER NOT NULL   -- the whole transaction or burst
);
CREATE INDEX repeat_events_at ON repeat_events (at_us);

-- Transactions per (pool, application_name) per sample_interval, measured
-- by the pooler: time from the first statement to the end of the
-- transaction block, and the part of it the server spent idle in
-- transaction waiting for the client.
CREATE TABLE xact_samples (
    at_us            INTEGER NOT NULL,  -- end of the interval
    database         TEXT    NOT NULL,
    username         TEXT    NOT NULL,
    application_name TEXT    NOT NULL,
    xacts            INTEGER NOT NULL,  -- transaction blocks ended
    xact_us          INTEGER NOT NULL,
    xact_max_us      INTEGER NOT NULL,
    idle_us          INTEGER NOT NULL,
    idle_max_us      INTEGER NOT NULL   -- the longest single idle gap
);
CREATE INDEX xact_samples_at ON xact_samples (at_us);

-- Checkout durations (a client holding a server connection) that ended in
-- the interval before each pool sample; NULL percentiles: none ended.
ALTER TABLE pool_samples ADD COLUMN checkouts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE pool_samples ADD COLUMN checkout_p50_us INTEGER;
ALTER TABLE pool_samples ADD COLUMN checkout_p95_us INTEGER;
ALTER TABLE pool_samples ADD COLUMN checkout_p99_us INTEGER;
ALTER TABLE pool_samples ADD COLUMN checkout_max_us INTEGER;
