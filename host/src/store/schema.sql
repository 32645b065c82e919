-- photosync metadata, schema version 1. Photo bytes live in content-addressed files beside
-- this database; rows here point at them by sha256. Later versions change these tables with
-- the migration steps in `mod.rs`, so this file stays at version 1.

CREATE TABLE IF NOT EXISTS photos (
    tenant       TEXT    NOT NULL,
    user_id      TEXT    NOT NULL,
    source       TEXT    NOT NULL CHECK (source IN ('synced', 'manual')),
    sha256       TEXT    NOT NULL,
    content_type TEXT    NOT NULL,
    size         INTEGER NOT NULL,
    width        INTEGER,
    height       INTEGER,
    etag         TEXT,
    updated_at   TEXT    NOT NULL,
    run_id       INTEGER,
    PRIMARY KEY (tenant, user_id)
);

CREATE TABLE IF NOT EXISTS users (
    tenant          TEXT    NOT NULL,
    user_id         TEXT    NOT NULL,
    principal_name  TEXT    NOT NULL,
    display_name    TEXT    NOT NULL,
    mail            TEXT,
    enabled         INTEGER NOT NULL,
    kind            TEXT    NOT NULL,
    excluded_reason TEXT,
    lock_message    TEXT,
    last_run_id     INTEGER NOT NULL,
    PRIMARY KEY (tenant, user_id)
);

CREATE TABLE IF NOT EXISTS runs (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant        TEXT    NOT NULL,
    trigger_kind  TEXT    NOT NULL,
    dry_run       INTEGER NOT NULL,
    status        TEXT    NOT NULL,
    started_at    TEXT    NOT NULL,
    finished_at   TEXT,
    plugin        TEXT,
    listed        INTEGER NOT NULL DEFAULT 0,
    in_scope      INTEGER NOT NULL DEFAULT 0,
    out_of_scope  INTEGER NOT NULL DEFAULT 0,
    unchanged     INTEGER NOT NULL DEFAULT 0,
    downloaded    INTEGER NOT NULL DEFAULT 0,
    removed       INTEGER NOT NULL DEFAULT 0,
    no_photo      INTEGER NOT NULL DEFAULT 0,
    failed        INTEGER NOT NULL DEFAULT 0,
    retries       INTEGER NOT NULL DEFAULT 0,
    error_kind    TEXT,
    error_message TEXT
);
CREATE INDEX IF NOT EXISTS runs_by_tenant ON runs (tenant, id);

CREATE TABLE IF NOT EXISTS run_failures (
    run_id         INTEGER NOT NULL REFERENCES runs (id),
    user_id        TEXT    NOT NULL,
    principal_name TEXT,
    kind           TEXT    NOT NULL,
    message        TEXT    NOT NULL
);
CREATE INDEX IF NOT EXISTS run_failures_by_run ON run_failures (run_id);

CREATE TABLE IF NOT EXISTS leases (
    tenant     TEXT    PRIMARY KEY,
    holder     TEXT    NOT NULL,
    expires_at INTEGER NOT NULL
);
