-- The office console's sign-in sessions. A session id is 32 random bytes held only by the
-- browser (an HttpOnly cookie); the server keeps its sha256, so a copy of the database signs
-- no one in. Expiry is the engine's rule (`store/engine/web_sessions.rs`): idle since
-- `last_used_at`, absolute since `created_at`. Signing out deletes the row.
CREATE TABLE web_sessions (
    id_hash      TEXT COLLATE "C" PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users(id),
    created_at   TEXT COLLATE "C" NOT NULL,
    last_used_at TEXT COLLATE "C" NOT NULL
);
CREATE INDEX web_sessions_user ON web_sessions (user_id);
