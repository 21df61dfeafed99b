//! What the device knows about its exchange with the server, and every SQL statement over
//! it: the session (server, user, token, epoch), how far the push and the pull have got
//! (`pushed_seq`, `confirmed_seq`, `pull_cursor`), the outcome of each pushed op, the last
//! attempt and error, and the clock skew.

use onsite_model::clock::corrected_time;
use onsite_model::hlc::{Hlc, HlcClock};
use onsite_model::ops::Op;
use onsite_model::time::{Timestamp, ts_from_ms};
use onsite_model::wire::OpResult;
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use crate::db::CachedSql;
use crate::error::{Error, Result};
use crate::replica::{Replica, meta, set_meta};
use crate::transport::SyncError;

#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SyncStatus {
    pub server_url: Option<String>,
    pub username: Option<String>,
    pub signed_in: bool,
    pub pending_ops: u64,
    pub pull_cursor: u64,
    pub last_attempt_at: Option<String>,
    pub last_success_at: Option<String>,
    pub last_error: Option<String>,
    /// Server time minus this device's clock, from the last exchange.
    pub server_skew_ms: Option<i64>,
}

/// Where this device syncs to, and as whom.
#[derive(Debug)]
pub(crate) struct Session {
    pub(crate) url: String,
    pub(crate) token: String,
    pub(crate) epoch: Option<String>,
}

impl Replica {
    pub fn sync_status(&self) -> Result<SyncStatus> {
        let pending = self.pending_op_count()?;
        Ok(self.conn.one(
            "SELECT server_url, username, token IS NOT NULL, pull_cursor, last_attempt_at, last_success_at, last_error, server_skew_ms
             FROM sync_state WHERE id = 1",
            [],
            |r| {
                Ok(SyncStatus {
                    server_url: r.get(0)?,
                    username: r.get(1)?,
                    signed_in: r.get(2)?,
                    pending_ops: pending,
                    pull_cursor: r.get::<_, i64>(3)? as u64,
                    last_attempt_at: r.get(4)?,
                    last_success_at: r.get(5)?,
                    last_error: r.get(6)?,
                    server_skew_ms: r.get(7)?,
                })
            },
        )?)
    }

    pub(crate) fn session(&self) -> Result<Session, SyncError> {
        let row: Option<(Option<String>, Option<String>, Option<String>)> = self
            .conn
            .one(
                "SELECT server_url, token, epoch FROM sync_state WHERE id = 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()
            .map_err(Error::from)?;
        match row {
            Some((Some(url), Some(token), epoch)) => Ok(Session { url, token, epoch }),
            _ => Err(SyncError::NotSignedIn),
        }
    }

    /// Replaces the stored sync session (tests: a revoked or forged token).
    pub fn set_token(&mut self, token: &str) -> Result<()> {
        self.conn
            .exec("UPDATE sync_state SET token = ?1 WHERE id = 1", [token])?;
        Ok(())
    }

    /// Ops the server has answered, with their outcome.
    pub fn op_outcome(&self, device_seq: u64) -> Result<Option<OpResult>> {
        let r: Option<String> = self
            .conn
            .one(
                "SELECT result FROM op_outcome WHERE device_seq = ?1",
                [device_seq as i64],
                |r| r.get(0),
            )
            .optional()?;
        Ok(r.map(|s| serde_json::from_str(&s)).transpose()?)
    }

    /// A sync starts at `now` (a timestamp as stored).
    pub(crate) fn note_sync_attempt(&self, now: &str) -> Result<()> {
        self.conn.exec(
            "UPDATE sync_state SET last_attempt_at = ?1 WHERE id = 1",
            [now],
        )?;
        Ok(())
    }

    /// A sync ended at `done_at`, with `error` or successfully.
    pub(crate) fn note_sync_outcome(&self, error: Option<&str>, done_at: &str) -> Result<()> {
        self.conn.exec(
            "UPDATE sync_state SET last_error = ?1, last_success_at = CASE WHEN ?1 IS NULL THEN ?2 ELSE last_success_at END WHERE id = 1",
            params![error, done_at],
        )?;
        Ok(())
    }

    /// The last `device_seq` the server acknowledged.
    pub(crate) fn pushed_seq(&self) -> Result<u64> {
        Ok(self
            .conn
            .one("SELECT pushed_seq FROM sync_state WHERE id = 1", [], |r| {
                r.get::<_, i64>(0)
            })? as u64)
    }

    /// Up to `limit` ops of the log after `seq`, in order.
    pub(crate) fn ops_after(&self, seq: u64, limit: usize) -> Result<Vec<Op>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT op FROM oplog WHERE device_seq > ?1 ORDER BY device_seq LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![seq as i64, limit as i64], |r| r.get::<_, String>(0))?;
        rows.map(|r| Ok(serde_json::from_str(&r?)?)).collect()
    }

    /// The push starts again from the first op.
    pub(crate) fn rewind_push(&mut self) -> Result<()> {
        self.conn
            .exec("UPDATE sync_state SET pushed_seq = 0 WHERE id = 1", [])?;
        Ok(())
    }

    /// Where the next pull starts.
    pub(crate) fn pull_cursor(&self) -> Result<u64> {
        Ok(self
            .conn
            .one("SELECT pull_cursor FROM sync_state WHERE id = 1", [], |r| {
                r.get::<_, i64>(0)
            })? as u64)
    }

    /// After a server restore: forget the server's rows' positions and push everything
    /// again (the server applies each op once; what it still has returns its stored outcome).
    pub(crate) fn start_over(&mut self, epoch: &str) -> Result<()> {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        tx.exec("UPDATE sync_state SET pull_cursor = 0, pushed_seq = 0, confirmed_seq = 0, epoch = ?1 WHERE id = 1", [epoch])?;
        tx.commit()?;
        Ok(())
    }
}

/// The user this replica was signed in as, if any.
pub(crate) fn signed_in_user_id(conn: &Connection) -> Result<Option<String>> {
    Ok(
        conn.one("SELECT user_id FROM sync_state WHERE id = 1", [], |r| {
            r.get(0)
        })?,
    )
}

/// Stores a new sign-in (and clears the last error).
pub(crate) fn store_sign_in(
    conn: &Connection,
    server_url: &str,
    username: &str,
    user_id: &str,
    token: &str,
) -> Result<()> {
    conn.exec(
        "UPDATE sync_state SET server_url = ?1, username = ?2, user_id = ?3, token = ?4, last_error = NULL WHERE id = 1",
        params![server_url, username, user_id, token],
    )?;
    Ok(())
}

/// Records the server's epoch; a different one than known means the server was restored,
/// so push and pull start over.
pub(crate) fn note_epoch(conn: &Connection, epoch: &str) -> Result<()> {
    let current: Option<String> =
        conn.one("SELECT epoch FROM sync_state WHERE id = 1", [], |r| {
            r.get(0)
        })?;
    match current {
        None => {
            conn.exec("UPDATE sync_state SET epoch = ?1 WHERE id = 1", [epoch])?;
        }
        Some(e) if e != epoch => {
            conn.exec(
                "UPDATE sync_state SET epoch = ?1, pull_cursor = 0, pushed_seq = 0, confirmed_seq = 0 WHERE id = 1",
                [epoch],
            )?;
        }
        Some(_) => {}
    }
    Ok(())
}

/// Stores the server's answer to one pushed op.
pub(crate) fn store_op_outcome(
    conn: &Connection,
    device_seq: u64,
    result: &OpResult,
) -> Result<()> {
    conn.exec(
        "INSERT INTO op_outcome (device_seq, result) VALUES (?1, ?2)
         ON CONFLICT (device_seq) DO UPDATE SET result = excluded.result",
        params![device_seq as i64, serde_json::to_string(result)?],
    )?;
    Ok(())
}

/// The last `device_seq` this device has written.
pub(crate) fn last_device_seq(conn: &Connection) -> Result<u64> {
    Ok(meta(conn, "last_device_seq")?
        .and_then(|s| s.parse().ok())
        .unwrap_or(0))
}

/// Moves `pushed_seq` forward to `acked` (never back).
pub(crate) fn advance_pushed_seq(conn: &Connection, acked: u64) -> Result<()> {
    conn.exec(
        "UPDATE sync_state SET pushed_seq = max(pushed_seq, ?1) WHERE id = 1",
        [acked as i64],
    )?;
    Ok(())
}

/// This device's ops after `seq`, in order: the ones the server has not confirmed.
pub(crate) fn pending_ops_after(conn: &Connection, seq: u64) -> Result<Vec<Op>> {
    let mut stmt =
        conn.prepare("SELECT op FROM oplog WHERE device_seq > ?1 ORDER BY device_seq")?;
    let pending = stmt
        .query_map([seq as i64], |r| r.get::<_, String>(0))?
        .map(|r| Ok(serde_json::from_str(&r?)?))
        .collect::<Result<_>>()?;
    Ok(pending)
}

/// Moves the pull cursor with the page it ends, and `confirmed_seq` forward.
pub(crate) fn move_cursor(conn: &Connection, cursor: u64, confirmed: u64) -> Result<()> {
    conn.exec(
        "UPDATE sync_state SET pull_cursor = ?1, confirmed_seq = max(confirmed_seq, ?2) WHERE id = 1",
        params![cursor as i64, confirmed as i64],
    )?;
    Ok(())
}

/// Advances the HLC by the server's and records how far this device's clock is off. The HLC
/// follows the corrected clock, so a tablet set hours ahead does not carry its error into
/// the order of its writes.
pub(crate) fn observe_server(
    conn: &Connection,
    server_hlc: Hlc,
    server_time: Timestamp,
    now_ms: i64,
) -> Result<()> {
    let mut hlc = HlcClock::resume(
        meta(conn, "hlc")?
            .and_then(|s| s.parse().ok())
            .unwrap_or_default(),
    );
    let skew = server_time.timestamp_millis() - now_ms;
    let (wall, _) = corrected_time(ts_from_ms(now_ms), Some(skew));
    hlc.observe(server_hlc, wall.timestamp_millis());
    set_meta(conn, "hlc", &hlc.last().to_string())?;
    conn.exec(
        "UPDATE sync_state SET server_skew_ms = ?1 WHERE id = 1",
        [skew],
    )?;
    Ok(())
}
