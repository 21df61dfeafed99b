-- Onsite server schema for PostgreSQL, first cut: the same tables, columns and indexes as
-- migrations/sqlite/0001_initial.sql.
--
-- Every replicated row carries `server_seq`: the global sequence number of its latest change,
-- assigned by the one serialized apply path from the `counters` row `server_seq`. Pull reads
-- `server_seq > cursor ORDER BY server_seq`, so each change gets its own number.
-- Row contents are stored as the JSON text of the domain struct, exactly as devices receive
-- them (TEXT, not JSONB: JSONB would reorder keys and normalise numbers).
-- Text the store sorts or compares by range (numbers, usernames, timestamps formatted by
-- `format_ts`, ids) is `COLLATE "C"`: byte order, as SQLite compares, so both backends list
-- rows in the same order whatever the database's locale.

CREATE TABLE counters (
    name  TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    username      TEXT COLLATE "C" NOT NULL UNIQUE,
    role          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    data          TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    server_seq    BIGINT NOT NULL
);

CREATE TABLE devices (
    id             TEXT PRIMARY KEY,
    user_id        TEXT NOT NULL REFERENCES users(id),
    name           TEXT NOT NULL,
    token_hash     TEXT UNIQUE,
    registered_at  TEXT COLLATE "C" NOT NULL,
    last_seen      TEXT,
    revoked_at     TEXT,
    last_acked_seq BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE customers (
    id         TEXT PRIMARY KEY,
    data       TEXT NOT NULL,
    server_seq BIGINT NOT NULL
);

CREATE TABLE assets (
    id          TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL REFERENCES customers(id),
    data        TEXT NOT NULL,
    server_seq  BIGINT NOT NULL
);

CREATE TABLE work_orders (
    id                TEXT PRIMARY KEY,
    number            TEXT COLLATE "C" NOT NULL UNIQUE,
    customer_id       TEXT NOT NULL REFERENCES customers(id),
    asset_id          TEXT REFERENCES assets(id),
    assignee_id       TEXT REFERENCES users(id),
    status            TEXT NOT NULL,
    needs_review      BOOLEAN NOT NULL DEFAULT FALSE,
    appointment_start TEXT COLLATE "C",
    data              TEXT NOT NULL,
    server_seq        BIGINT NOT NULL
);
CREATE INDEX work_orders_assignee ON work_orders(assignee_id, server_seq);
CREATE INDEX work_orders_seq ON work_orders(server_seq);

-- Everyone a job was ever assigned to: their devices' ops on it are still accepted after a
-- reassignment.
CREATE TABLE assignment_history (
    work_order_id TEXT NOT NULL REFERENCES work_orders(id),
    user_id       TEXT NOT NULL REFERENCES users(id),
    assigned_at   TEXT NOT NULL,
    PRIMARY KEY (work_order_id, user_id)
);

-- Rows hanging off a work order: status_event, checklist_answer, part_used, time_entry, note,
-- photo, signature, feedback, conflict. `deleted` marks a tombstone.
CREATE TABLE job_rows (
    kind          TEXT NOT NULL,
    id            TEXT NOT NULL,
    work_order_id TEXT NOT NULL REFERENCES work_orders(id),
    data          TEXT NOT NULL,
    deleted       BOOLEAN NOT NULL DEFAULT FALSE,
    server_seq    BIGINT NOT NULL,
    PRIMARY KEY (kind, id)
);
CREATE INDEX job_rows_work_order ON job_rows(work_order_id, server_seq);
CREATE INDEX job_rows_seq ON job_rows(server_seq);

-- Who last wrote each field, for the merge rule.
CREATE TABLE field_stamps (
    entity    TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    field     TEXT NOT NULL,
    version   BIGINT NOT NULL,
    hlc       TEXT NOT NULL,
    device_id TEXT,
    PRIMARY KEY (entity, entity_id, field)
);

-- The stored outcome of every op a device pushed: the idempotency record. `high_water` is
-- the global server_seq after the op was applied.
CREATE TABLE op_outcomes (
    device_id  TEXT NOT NULL REFERENCES devices(id),
    device_seq BIGINT NOT NULL,
    op         TEXT NOT NULL,
    outcome    TEXT NOT NULL,
    high_water BIGINT NOT NULL,
    applied_at TEXT NOT NULL,
    PRIMARY KEY (device_id, device_seq)
);

-- Per-user removal feed: rows that left a user's view (job reassigned away).
CREATE TABLE removals (
    user_id    TEXT NOT NULL REFERENCES users(id),
    kind       TEXT NOT NULL,
    id         TEXT NOT NULL,
    server_seq BIGINT NOT NULL,
    PRIMARY KEY (user_id, kind, id)
);
CREATE INDEX removals_seq ON removals(user_id, server_seq);
