-- The device's replica. Replicated rows keep the full record as JSON in `data` (the model's
-- serde form, identical to the server's) plus the columns the app queries by. They carry no
-- foreign keys: the server is the authority for references and may send rows in any order.

CREATE TABLE replica_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

CREATE TABLE user_row (
    id      TEXT PRIMARY KEY,
    version INTEGER NOT NULL DEFAULT 0,
    data    TEXT NOT NULL CHECK (json_valid(data))
) STRICT;

CREATE TABLE customer (
    id      TEXT PRIMARY KEY,
    version INTEGER NOT NULL DEFAULT 0,
    data    TEXT NOT NULL CHECK (json_valid(data))
) STRICT;

CREATE TABLE asset (
    id      TEXT PRIMARY KEY,
    version INTEGER NOT NULL DEFAULT 0,
    data    TEXT NOT NULL CHECK (json_valid(data))
) STRICT;

CREATE TABLE work_order (
    id                TEXT PRIMARY KEY,
    version           INTEGER NOT NULL DEFAULT 0,
    data              TEXT NOT NULL CHECK (json_valid(data)),
    number            TEXT GENERATED ALWAYS AS (data ->> '$.number') VIRTUAL,
    status            TEXT GENERATED ALWAYS AS (data ->> '$.status') VIRTUAL,
    appointment_start TEXT GENERATED ALWAYS AS (data ->> '$.appointment_start') VIRTUAL,
    resolve_by        TEXT GENERATED ALWAYS AS (data ->> '$.resolve_by') VIRTUAL
) STRICT;

CREATE INDEX work_order_number ON work_order (number);
CREATE INDEX work_order_schedule ON work_order (status, appointment_start);

-- Everything that hangs off a work order and has its own id: status events, checklist
-- answers, parts, time entries, notes, photos, signatures, feedback, conflicts.
CREATE TABLE job_record (
    kind          TEXT NOT NULL,
    id            TEXT NOT NULL,
    work_order_id TEXT NOT NULL,
    version       INTEGER NOT NULL DEFAULT 0,
    data          TEXT NOT NULL CHECK (json_valid(data)),
    PRIMARY KEY (kind, id)
) STRICT;

CREATE INDEX job_record_by_job ON job_record (work_order_id, kind);

-- The change log: every local write appends its ops here in the same transaction.
CREATE TABLE oplog (
    device_seq    INTEGER PRIMARY KEY,
    tx_id         TEXT NOT NULL,
    work_order_id TEXT NOT NULL,
    op            TEXT NOT NULL CHECK (json_valid(op))
) STRICT;

CREATE INDEX oplog_by_job ON oplog (work_order_id);
