//! What a support bundle says about the device: its sync state and a summary of its change
//! log. Both are counts, ids, kinds and times: no field values, no customer's words, and
//! never the token.

use onsite_model::time::format_ts;
use rusqlite::params;
use serde::Serialize;

use crate::db::CachedSql;
use crate::error::Result;
use crate::replica::{Replica, meta};

/// The device's exchange with the server, as support needs to see it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SupportSyncStatus {
    pub device_id: String,
    pub server_url: Option<String>,
    pub username: Option<String>,
    pub user_id: Option<String>,
    /// A token is stored (the token itself never leaves the device).
    pub signed_in: bool,
    /// The server's epoch this device last saw (a restore changes it).
    pub epoch: Option<String>,
    pub pull_cursor: u64,
    /// Highest `device_seq` the server acknowledged.
    pub pushed_seq: u64,
    /// Highest `device_seq` whose effect is in the pulled rows.
    pub confirmed_seq: u64,
    /// Highest `device_seq` written on this device.
    pub last_device_seq: u64,
    pub pending_ops: u64,
    /// Photo and signature files the server has not confirmed yet.
    pub pending_uploads: u64,
    pub pending_upload_bytes: u64,
    pub last_attempt_at: Option<String>,
    pub last_success_at: Option<String>,
    pub last_error: Option<String>,
    /// Server time minus this device's clock, from the last exchange.
    pub server_skew_ms: Option<i64>,
    pub conflicts_open: u64,
    pub conflicts_resolved: u64,
    pub jobs_needing_review: u64,
}

/// Ops of one entity and kind (`work_order` + `set`, `photo` + `insert`, …).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OpKindCount {
    pub entity: String,
    pub kind: String,
    pub total: u64,
    pub pending: u64,
}

/// The server's answers to the ops it acknowledged.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct OutcomeCounts {
    pub applied: u64,
    pub merged: u64,
    pub conflict: u64,
    pub rejected: u64,
    /// Acknowledged ops with no stored answer (e.g. acknowledged by a pull after a restore).
    pub unanswered: u64,
}

/// The oldest op still waiting to reach the server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OldestPending {
    pub device_seq: u64,
    pub entity: String,
    pub kind: String,
    pub work_order_id: String,
    pub recorded_at: String,
}

/// One job's share of the change log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct JobOps {
    pub work_order_id: String,
    /// The display number (`WO-2026-000123`), when the job is on the device.
    pub number: Option<String>,
    pub status: Option<String>,
    pub ops: u64,
    pub pending: u64,
    pub oldest_pending_at: Option<String>,
}

/// The change log in numbers.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ChangeLogSummary {
    pub total_ops: u64,
    pub acknowledged: u64,
    pub pending: u64,
    pub by_kind: Vec<OpKindCount>,
    pub outcomes: OutcomeCounts,
    pub oldest_pending: Option<OldestPending>,
    /// Jobs with any op, the ones with pending ops first, then by number.
    pub jobs: Vec<JobOps>,
    /// Ops whose server answer was a rejection: seq, entity, kind and the server's code.
    pub rejected: Vec<RejectedOp>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RejectedOp {
    pub device_seq: u64,
    pub entity: String,
    pub kind: String,
    pub code: String,
}

fn count(v: i64) -> u64 {
    v.max(0) as u64
}

impl Replica {
    /// The sync state for a support bundle (never the token).
    pub fn support_sync_status(&self) -> Result<SupportSyncStatus> {
        let uploads = self.pending_blobs()?;
        let (open, resolved): (i64, i64) = self.conn.one(
            "SELECT count(*) FILTER (WHERE data ->> '$.resolved_at' IS NULL),
                    count(*) FILTER (WHERE data ->> '$.resolved_at' IS NOT NULL)
               FROM job_record WHERE kind = 'conflict'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let review: i64 = self.conn.one(
            "SELECT count(*) FROM work_order WHERE data ->> '$.needs_review' = 1",
            [],
            |r| r.get(0),
        )?;
        let last_device_seq = meta(&self.conn, "last_device_seq")?
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let pending_ops = self.pending_op_count()?;
        Ok(self.conn.one(
            "SELECT server_url, username, user_id, token IS NOT NULL, epoch, pull_cursor,
                    pushed_seq, confirmed_seq, last_attempt_at, last_success_at, last_error,
                    server_skew_ms
               FROM sync_state WHERE id = 1",
            [],
            |r| {
                Ok(SupportSyncStatus {
                    device_id: self.device_id().to_string(),
                    server_url: r.get(0)?,
                    username: r.get(1)?,
                    user_id: r.get(2)?,
                    signed_in: r.get(3)?,
                    epoch: r.get(4)?,
                    pull_cursor: count(r.get(5)?),
                    pushed_seq: count(r.get(6)?),
                    confirmed_seq: count(r.get(7)?),
                    last_device_seq,
                    pending_ops,
                    pending_uploads: uploads.len() as u64,
                    pending_upload_bytes: uploads.iter().map(|b| b.size_bytes).sum(),
                    last_attempt_at: r.get(8)?,
                    last_success_at: r.get(9)?,
                    last_error: r.get(10)?,
                    server_skew_ms: r.get(11)?,
                    conflicts_open: count(open),
                    conflicts_resolved: count(resolved),
                    jobs_needing_review: count(review),
                })
            },
        )?)
    }

    /// The change log in numbers: per entity and kind, pending against acknowledged, the
    /// server's answers, the oldest pending op and each job's share.
    pub fn change_log_summary(&self) -> Result<ChangeLogSummary> {
        let pushed = self.pushed_seq()? as i64;
        let mut by_kind = Vec::new();
        {
            let mut stmt = self.conn.prepare(
                "SELECT op ->> '$.entity', op ->> '$.change.kind', count(*),
                        count(*) FILTER (WHERE device_seq > ?1)
                   FROM oplog GROUP BY 1, 2 ORDER BY 1, 2",
            )?;
            let rows = stmt.query_map([pushed], |r| {
                Ok(OpKindCount {
                    entity: r.get(0)?,
                    kind: r.get(1)?,
                    total: count(r.get(2)?),
                    pending: count(r.get(3)?),
                })
            })?;
            for row in rows {
                by_kind.push(row?);
            }
        }
        let total_ops: u64 = by_kind.iter().map(|k| k.total).sum();
        let pending: u64 = by_kind.iter().map(|k| k.pending).sum();

        let mut outcomes = OutcomeCounts::default();
        {
            let mut stmt = self.conn.prepare(
                "SELECT r.result ->> '$.result', count(*) FROM oplog o
                   LEFT JOIN op_outcome r ON r.device_seq = o.device_seq
                  WHERE o.device_seq <= ?1 GROUP BY 1",
            )?;
            let rows = stmt.query_map([pushed], |r| {
                Ok((r.get::<_, Option<String>>(0)?, count(r.get(1)?)))
            })?;
            for row in rows {
                let (result, n) = row?;
                match result.as_deref() {
                    Some("applied") => outcomes.applied += n,
                    Some("merged") => outcomes.merged += n,
                    Some("conflict") => outcomes.conflict += n,
                    Some("rejected") => outcomes.rejected += n,
                    _ => outcomes.unanswered += n,
                }
            }
        }

        let oldest_pending = {
            let mut stmt = self.conn.prepare(
                "SELECT device_seq, op ->> '$.entity', op ->> '$.change.kind', work_order_id,
                        op ->> '$.recorded_at'
                   FROM oplog WHERE device_seq > ?1 ORDER BY device_seq LIMIT 1",
            )?;
            let mut rows = stmt.query_map([pushed], |r| {
                Ok(OldestPending {
                    device_seq: count(r.get(0)?),
                    entity: r.get(1)?,
                    kind: r.get(2)?,
                    work_order_id: r.get(3)?,
                    recorded_at: r.get(4)?,
                })
            })?;
            rows.next().transpose()?
        };

        let mut jobs = Vec::new();
        {
            let mut stmt = self.conn.prepare(
                "SELECT o.work_order_id, w.number, w.status, count(*),
                        count(*) FILTER (WHERE o.device_seq > ?1),
                        min(CASE WHEN o.device_seq > ?1 THEN o.op ->> '$.recorded_at' END)
                   FROM oplog o LEFT JOIN work_order w ON w.id = o.work_order_id
                  GROUP BY o.work_order_id
                  ORDER BY count(*) FILTER (WHERE o.device_seq > ?1) = 0, w.number, o.work_order_id",
            )?;
            let rows = stmt.query_map([pushed], |r| {
                Ok(JobOps {
                    work_order_id: r.get(0)?,
                    number: r.get(1)?,
                    status: r.get(2)?,
                    ops: count(r.get(3)?),
                    pending: count(r.get(4)?),
                    oldest_pending_at: r.get(5)?,
                })
            })?;
            for row in rows {
                jobs.push(row?);
            }
        }

        let mut rejected = Vec::new();
        {
            let mut stmt = self.conn.prepare(
                "SELECT o.device_seq, o.op ->> '$.entity', o.op ->> '$.change.kind',
                        r.result ->> '$.code'
                   FROM op_outcome r JOIN oplog o ON o.device_seq = r.device_seq
                  WHERE r.result ->> '$.result' = 'rejected' ORDER BY o.device_seq",
            )?;
            let rows = stmt.query_map(params![], |r| {
                Ok(RejectedOp {
                    device_seq: count(r.get(0)?),
                    entity: r.get(1)?,
                    kind: r.get(2)?,
                    code: r.get::<_, Option<String>>(3)?.unwrap_or_default(),
                })
            })?;
            for row in rows {
                rejected.push(row?);
            }
        }

        Ok(ChangeLogSummary {
            total_ops,
            acknowledged: total_ops - pending,
            pending,
            by_kind,
            outcomes,
            oldest_pending,
            jobs,
            rejected,
        })
    }

    /// Facts about the replica itself: schema, when it was made, its size on disk and the
    /// blobs it holds (counted, never read).
    pub(crate) fn replica_facts(&self) -> Result<serde_json::Value> {
        let (blobs, blob_bytes, uploaded): (i64, i64, i64) = self.conn.one(
            "SELECT count(*), coalesce(sum(size_bytes), 0), count(uploaded_at) FROM blob",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        let (jobs, open_jobs): (i64, i64) = self.conn.one(
            "SELECT count(*), count(*) FILTER (WHERE status NOT IN ('completed', 'cancelled'))
               FROM work_order",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let db_bytes = std::fs::metadata(self.dir().join(crate::replica::DB_FILE))
            .map(|m| m.len())
            .unwrap_or(0);
        Ok(serde_json::json!({
            "schema_version": crate::db::schema_version(),
            "created_at": meta(&self.conn, "created_at")?,
            "database_bytes": db_bytes,
            "jobs": count(jobs),
            "open_jobs": count(open_jobs),
            "blobs": count(blobs),
            "blob_bytes": count(blob_bytes),
            "blobs_confirmed_by_server": count(uploaded),
            "clock_now": format_ts(&self.now()),
        }))
    }
}
