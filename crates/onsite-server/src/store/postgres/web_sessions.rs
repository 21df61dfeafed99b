//! The console's sessions in SQL (the `web_sessions` table), PostgreSQL's dialect of
//! `sqlite/web_sessions.rs`: SQL only, the rules are the engine's (`engine/web_sessions.rs`).

use onsite_model::UserId;
use onsite_model::time::{Timestamp, format_ts, parse_ts};

use super::super::backend::WebSessionRow;
use super::tx::PgTx;
use crate::error::{Error, Result};

fn ts(s: &str) -> Result<Timestamp> {
    parse_ts(s).map_err(|e| Error::Internal(format!("web_sessions: stored time {s:?}: {e}")))
}

impl PgTx<'_, '_> {
    pub(super) fn find_web_session(&self, id_hash: &str) -> Result<Option<WebSessionRow>> {
        self.opt(
            "SELECT u.data, s.created_at, s.last_used_at FROM web_sessions s
             JOIN users u ON u.id = s.user_id WHERE s.id_hash = $1",
            &[&id_hash],
        )?
        .map(|r| {
            let created: String = r.try_get(1)?;
            let used: String = r.try_get(2)?;
            Ok(WebSessionRow {
                user_json: r.try_get(0)?,
                created_at: ts(&created)?,
                last_used_at: ts(&used)?,
            })
        })
        .transpose()
    }

    pub(super) fn store_web_session(
        &self,
        id_hash: &str,
        user: UserId,
        at: Timestamp,
    ) -> Result<()> {
        self.exec(
            "INSERT INTO web_sessions (id_hash, user_id, created_at, last_used_at) VALUES ($1, $2, $3, $3)",
            &[&id_hash, &user.to_string(), &format_ts(&at)],
        )?;
        Ok(())
    }

    pub(super) fn use_web_session(&self, id_hash: &str, at: Timestamp) -> Result<()> {
        self.exec(
            "UPDATE web_sessions SET last_used_at = $2 WHERE id_hash = $1",
            &[&id_hash, &format_ts(&at)],
        )?;
        Ok(())
    }

    pub(super) fn drop_web_session(&self, id_hash: &str) -> Result<bool> {
        let n = self.exec("DELETE FROM web_sessions WHERE id_hash = $1", &[&id_hash])?;
        Ok(n > 0)
    }

    pub(super) fn drop_web_sessions_before(
        &self,
        created_before: Timestamp,
        used_before: Timestamp,
    ) -> Result<u64> {
        // Stored times are fixed-width UTC text in the "C" collation: text order is time order.
        self.exec(
            "DELETE FROM web_sessions WHERE created_at < $1 OR last_used_at < $2",
            &[&format_ts(&created_before), &format_ts(&used_before)],
        )
    }
}
