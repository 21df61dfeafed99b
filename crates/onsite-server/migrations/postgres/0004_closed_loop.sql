-- The closed loop after a visit: callbacks, complaints and their append-only history, one
-- JSON document per row (the engine's rules, `store/engine/closed_loop.rs`, read and write
-- them). Office records only: no device pulls them, so they carry no server_seq.
CREATE TABLE loop_rows (
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    work_order_id TEXT NOT NULL REFERENCES work_orders (id),
    data TEXT NOT NULL,
    PRIMARY KEY (kind, id)
);
CREATE INDEX loop_rows_by_job ON loop_rows (work_order_id, kind);
