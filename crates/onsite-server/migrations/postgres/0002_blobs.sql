-- Blobs the blob store holds in full (what the evidence gate reads), and the evidence each
-- completed job still waits for. The blob bytes live in the blob store, not here.

CREATE TABLE blobs (
    sha256    TEXT PRIMARY KEY,
    size      BIGINT NOT NULL,
    stored_at TEXT NOT NULL
);

-- Mirrors `awaiting_evidence` in the work order's JSON, so "who waits for this blob" is an
-- index lookup. Written with the work order by `write_wo`.
CREATE TABLE awaiting_evidence (
    work_order_id TEXT NOT NULL REFERENCES work_orders(id),
    sha256        TEXT NOT NULL,
    PRIMARY KEY (work_order_id, sha256)
);
CREATE INDEX awaiting_evidence_sha ON awaiting_evidence(sha256);
