//! The console's sessions in SQL (the `web_sessions` table): SQL only, the rules are the
//! engine's (`engine/web_sessions.rs`).

use onsite_model::UserId;
use onsite_model::time::{Timestamp, format_ts, parse_ts};
use rusqlite::{Connection, OptionalExtension, params};

use super::super::backend::WebSessionRow;
use crate::error::{Error, Result};

fn ts(s: &str) -> Result<Timestamp> {
    parse_ts(s).map_err(|e| Error::Internal(format!("web_sessions: stored time {s:?}: {e}")))
}

pub(super) fn find(c: &Connection, id_hash: &str) -> Result<Option<WebSessionRow>> {
    let row = c
        .prepare_cached(
            "SELECT u.data, s.created_at, s.last_used_at FROM web_sessions s
             JOIN users u ON u.id = s.user_id WHERE s.id_hash = ?1",
        )?
        .query_row([id_hash], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })
        .optional()?;
    row.map(|(user_json, created, used)| {
        Ok(WebSessionRow {
            user_json,
            created_at: ts(&created)?,
            last_used_at: ts(&used)?,
        })
    })
    .transpose()
}

pub(super) fn insert(c: &Connection, id_hash: &str, user: UserId, at: Timestamp) -> Result<()> {
    let at = format_ts(&at);
    c.prepare_cached(
        "INSERT INTO web_sessions (id_hash, user_id, created_at, last_used_at) VALUES (?1, ?2, ?3, ?3)",
    )?
    .execute(params![id_hash, user.to_string(), at])?;
    Ok(())
}

pub(super) fn touch(c: &Connection, id_hash: &str, at: Timestamp) -> Result<()> {
    c.prepare_cached("UPDATE web_sessions SET last_used_at = ?2 WHERE id_hash = ?1")?
        .execute(params![id_hash, format_ts(&at)])?;
    Ok(())
}

pub(super) fn delete(c: &Connection, id_hash: &str) -> Result<bool> {
    let n = c
        .prepare_cached("DELETE FROM web_sessions WHERE id_hash = ?1")?
        .execute([id_hash])?;
    Ok(n > 0)
}

pub(super) fn delete_before(
    c: &Connection,
    created_before: Timestamp,
    used_before: Timestamp,
) -> Result<u64> {
    // Stored times are fixed-width UTC text, so text order is time order.
    let n = c
        .prepare_cached("DELETE FROM web_sessions WHERE created_at < ?1 OR last_used_at < ?2")?
        .execute(params![format_ts(&created_before), format_ts(&used_before)])?;
    Ok(n as u64)
}
