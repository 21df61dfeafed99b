-- Quality reviews: a reviewer's pass / fail marks on the four conduct standards of a
-- completed job, with comments. Every review is kept (a job reviewed again keeps its
-- history); the latest, by reviewed_at then id, counts. Reviewer and time are set by the
-- server. Office data: never pulled by devices, so no server_seq.
CREATE TABLE quality_reviews (
    id            TEXT PRIMARY KEY,
    work_order_id TEXT NOT NULL REFERENCES work_orders(id),
    reviewer_id   TEXT NOT NULL REFERENCES users(id),
    reviewed_at   TEXT NOT NULL,
    data          TEXT NOT NULL
);
CREATE INDEX quality_reviews_job ON quality_reviews(work_order_id, reviewed_at);
