-- Where this device stands with the server, and the blobs its records refer to.

CREATE TABLE sync_state (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    server_url      TEXT,
    username        TEXT,
    user_id         TEXT,
    token           TEXT,
    epoch           TEXT,
    -- Highest server_seq stored locally: the next pull starts after it.
    pull_cursor     INTEGER NOT NULL DEFAULT 0,
    -- Highest device_seq the server has acknowledged: never sent again as new.
    pushed_seq      INTEGER NOT NULL DEFAULT 0,
    -- Highest device_seq whose effect is in the pulled rows: ops above it are re-applied.
    confirmed_seq   INTEGER NOT NULL DEFAULT 0,
    last_attempt_at TEXT,
    last_success_at TEXT,
    last_error      TEXT,
    server_skew_ms  INTEGER
) STRICT;

INSERT INTO sync_state (id) VALUES (1);

-- The server's answer to each pushed op (applied, merged, conflict, rejected).
CREATE TABLE op_outcome (
    device_seq INTEGER PRIMARY KEY REFERENCES oplog (device_seq),
    result     TEXT NOT NULL CHECK (json_valid(result))
) STRICT;

-- Content-addressed bytes under blobs/ (photos, signature images). A blob is kept until
-- the server has confirmed it.
CREATE TABLE blob (
    sha256      TEXT PRIMARY KEY,
    size_bytes  INTEGER NOT NULL,
    media_type  TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    uploaded_at TEXT
) STRICT;
