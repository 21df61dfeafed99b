//! The storage primitives in SQL, over one open transaction.

use std::cell::RefCell;

use onsite_model::merge::FieldStamp;
use onsite_model::quality::QualityReview;
use onsite_model::time::{Timestamp, format_ts, parse_ts};
use onsite_model::wire::{RowChange, RowKind};
use onsite_model::{Asset, Customer, DeviceId, User, UserId, WorkOrder, WorkOrderId};
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::Value;

use super::super::backend::{
    Counter, DeviceOwner, DocTable, JobRef, KEYS_PER_QUERY, OUTCOMES_PER_INSERT, ReadTx,
    StoredOutcome, StoredRow, TokenHolder, WebSessionRow, WriteTx,
};
use super::super::columns::{DeviceColumns, field_stamp, ref_column, table, uuid};
use super::super::interface::{DeviceInfo, WorkOrderFilter};
use crate::error::{Error, Result};

/// The open transaction (read or write; the engine only writes through `WriteTx`), and the
/// change notice the backend publishes once a write commits.
pub(super) struct SqliteTx<'a>(pub &'a Connection, pub RefCell<Option<String>>);

impl<'a> SqliteTx<'a> {
    pub(super) fn new(conn: &'a Connection) -> Self {
        Self(conn, RefCell::new(None))
    }

    /// One row of a statement kept prepared on the connection (every primitive runs on each
    /// push, so none is parsed twice).
    fn one<T>(
        &self,
        sql: &str,
        args: impl rusqlite::Params,
        f: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T> {
        self.0.prepare_cached(sql)?.query_row(args, f)
    }

    /// A statement kept prepared on the connection, executed.
    fn exec(&self, sql: &str, args: impl rusqlite::Params) -> rusqlite::Result<usize> {
        self.0.prepare_cached(sql)?.execute(args)
    }
}

fn strings(c: &Connection, sql: &str, args: impl rusqlite::Params) -> Result<Vec<String>> {
    let mut stmt = c.prepare_cached(sql)?;
    let rows = stmt.query_map(args, |r| r.get::<_, String>(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

// Each branch stops at the page's size in seq order (the first rows of the union are among
// the first rows of its branches), so a page costs its size, not everything after the cursor.
const VISIBLE_SQL: &str = "
SELECT server_seq, kind, id, data, deleted FROM (
    SELECT * FROM (SELECT server_seq, 'user' AS kind, id, data, 0 AS deleted FROM users
     WHERE id = ?1 AND server_seq > ?2)
    UNION ALL
    SELECT * FROM (SELECT server_seq, 'work_order', id, data, 0 FROM work_orders
     WHERE assignee_id = ?1 AND server_seq > ?2 ORDER BY server_seq LIMIT ?3)
    UNION ALL
    SELECT * FROM (SELECT c.server_seq, 'customer', c.id, c.data, 0 FROM customers c
     WHERE c.server_seq > ?2 AND c.id IN (SELECT customer_id FROM work_orders WHERE assignee_id = ?1)
     ORDER BY c.server_seq LIMIT ?3)
    UNION ALL
    SELECT * FROM (SELECT a.server_seq, 'asset', a.id, a.data, 0 FROM assets a
     WHERE a.server_seq > ?2 AND a.id IN (SELECT asset_id FROM work_orders WHERE assignee_id = ?1 AND asset_id IS NOT NULL)
     ORDER BY a.server_seq LIMIT ?3)
    UNION ALL
    SELECT * FROM (SELECT r.server_seq, r.kind, r.id, r.data, r.deleted FROM job_rows r
     WHERE r.server_seq > ?2 AND (r.deleted = 0 OR ?4 = 1)
       AND r.work_order_id IN (SELECT id FROM work_orders WHERE assignee_id = ?1)
     ORDER BY r.server_seq LIMIT ?3)
    UNION ALL
    SELECT * FROM (SELECT server_seq, kind, id, NULL, 1 FROM removals
     WHERE user_id = ?1 AND server_seq > ?2 AND ?4 = 1 ORDER BY server_seq LIMIT ?3)
) AS visible
WHERE deleted = 0 OR ?4 = 1
ORDER BY server_seq
LIMIT ?3";

impl ReadTx for SqliteTx<'_> {
    fn counter(&self, name: Counter) -> Result<u64> {
        Ok(self.one(
            "SELECT value FROM counters WHERE name = ?1",
            [name.as_str()],
            |r| r.get::<_, i64>(0),
        )? as u64)
    }

    fn load_work_order(&self, id: WorkOrderId) -> Result<Option<(WorkOrder, u64)>> {
        let row: Option<(String, i64)> = self
            .0
            .prepare_cached("SELECT data, server_seq FROM work_orders WHERE id = ?1")?
            .query_row([id.to_string()], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        row.map(|(d, s)| Ok((serde_json::from_str(&d)?, s as u64)))
            .transpose()
    }

    fn list_work_orders(&self, filter: &WorkOrderFilter) -> Result<Vec<String>> {
        strings(
            self.0,
            "SELECT data FROM work_orders
             WHERE (?1 IS NULL OR status = ?1) AND (?2 IS NULL OR assignee_id = ?2)
               AND (?3 IS NULL OR appointment_start >= ?3) AND (?4 IS NULL OR appointment_start < ?4)
               AND (?5 IS NULL OR needs_review = ?5)
               AND (?6 IS NULL OR EXISTS (SELECT 1 FROM awaiting_evidence a WHERE a.work_order_id = work_orders.id) = ?6)
             ORDER BY appointment_start IS NULL, appointment_start, number",
            params![
                filter.status.map(|s| s.as_str()),
                filter.assignee.map(|u| u.to_string()),
                filter.from.as_ref().map(format_ts),
                filter.to.as_ref().map(format_ts),
                filter.needs_review,
                filter.awaiting_evidence
            ],
        )
    }

    fn load_job_row(&self, kind: &str, id: &str) -> Result<Option<StoredRow>> {
        let row: Option<(String, bool, i64)> = self
            .0
            .prepare_cached(
                "SELECT data, deleted, server_seq FROM job_rows WHERE kind = ?1 AND id = ?2",
            )?
            .query_row([kind, id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?;
        row.map(|(d, deleted, s)| {
            Ok(StoredRow {
                data: serde_json::from_str(&d)?,
                deleted,
                seq: s as u64,
            })
        })
        .transpose()
    }

    fn load_job_rows(&self, keys: &[(String, String)]) -> Result<Vec<(String, String, StoredRow)>> {
        let mut out = Vec::new();
        for chunk in keys.chunks(KEYS_PER_QUERY) {
            let values = vec!["(?, ?)"; chunk.len()].join(", ");
            let sql = format!(
                "SELECT kind, id, data, deleted, server_seq FROM job_rows WHERE (kind, id) IN (VALUES {values})"
            );
            let mut stmt = self.0.prepare_cached(&sql)?;
            let args = chunk.iter().flat_map(|(k, i)| [k, i]);
            let rows = stmt.query_map(rusqlite::params_from_iter(args), |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, bool>(3)?,
                    r.get::<_, i64>(4)?,
                ))
            })?;
            for row in rows {
                let (kind, id, data, deleted, seq) = row?;
                let row = StoredRow {
                    data: serde_json::from_str(&data)?,
                    deleted,
                    seq: seq as u64,
                };
                out.push((kind, id, row));
            }
        }
        Ok(out)
    }

    fn job_rows(&self, wo: WorkOrderId, kind: &str) -> Result<Vec<String>> {
        strings(
            self.0,
            "SELECT data FROM job_rows WHERE work_order_id = ?1 AND kind = ?2 AND deleted = 0 ORDER BY server_seq",
            params![wo.to_string(), kind],
        )
    }

    fn rows_of_kind(&self, kind: &str) -> Result<Vec<String>> {
        strings(
            self.0,
            "SELECT data FROM job_rows WHERE kind = ?1 AND deleted = 0 ORDER BY server_seq",
            [kind],
        )
    }

    fn job_items(&self, wo: WorkOrderId) -> Result<Vec<(String, String)>> {
        let mut stmt = self.0.prepare_cached(
            "SELECT kind, id FROM job_rows WHERE work_order_id = ?1 AND deleted = 0 ORDER BY server_seq",
        )?;
        let rows = stmt.query_map([wo.to_string()], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn field_stamp(&self, entity: &str, id: &str, field: &str) -> Result<Option<FieldStamp>> {
        let row: Option<(i64, String, Option<String>)> = self
            .0
            .prepare_cached(
                "SELECT version, hlc, device_id FROM field_stamps WHERE entity = ?1 AND entity_id = ?2 AND field = ?3",
            )?
            .query_row([entity, id, field], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?;
        row.map(|(v, h, d)| field_stamp(v, &h, d.as_deref()))
            .transpose()
    }

    fn loop_rows(&self, kind: &str, wo: Option<WorkOrderId>) -> Result<Vec<String>> {
        let sql = "SELECT data FROM loop_rows WHERE kind = ?1 AND (?2 IS NULL OR work_order_id = ?2) ORDER BY id";
        strings(self.0, sql, params![kind, wo.map(|w| w.to_string())])
    }

    fn load_loop_row(&self, kind: &str, id: &str) -> Result<Option<String>> {
        let sql = "SELECT data FROM loop_rows WHERE kind = ?1 AND id = ?2";
        Ok(self.one(sql, [kind, id], |r| r.get(0)).optional()?)
    }

    fn quality_reviews(&self, wo: Option<WorkOrderId>) -> Result<Vec<String>> {
        super::quality::reviews(self.0, wo)
    }

    fn load_doc(&self, t: DocTable, id: &str) -> Result<Option<String>> {
        let sql = format!("SELECT data FROM {} WHERE id = ?1", table(t));
        Ok(self
            .0
            .prepare_cached(&sql)?
            .query_row([id], |r| r.get(0))
            .optional()?)
    }

    fn list_docs(&self, t: DocTable) -> Result<Vec<String>> {
        let order = if t == DocTable::Users {
            "username"
        } else {
            "server_seq"
        };
        strings(
            self.0,
            &format!("SELECT data FROM {} ORDER BY {order}", table(t)),
            [],
        )
    }

    fn user_by_username(&self, username: &str) -> Result<Option<(String, String)>> {
        Ok(self
            .one(
                "SELECT data, password_hash FROM users WHERE username = ?1",
                [username],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
    }

    fn ever_assigned(&self, wo: WorkOrderId, user: UserId) -> Result<bool> {
        Ok(self.0.prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM assignment_history WHERE work_order_id = ?1 AND user_id = ?2)",
        )?
        .query_row([wo.to_string(), user.to_string()], |r| r.get(0))?)
    }

    fn referenced_elsewhere(
        &self,
        user: UserId,
        what: JobRef,
        id: &str,
        except: WorkOrderId,
    ) -> Result<bool> {
        let column = ref_column(what);
        let sql = format!(
            "SELECT EXISTS (SELECT 1 FROM work_orders WHERE assignee_id = ?1 AND {column} = ?2 AND id <> ?3)"
        );
        Ok(self
            .0
            .prepare_cached(&sql)?
            .query_row(params![user.to_string(), id, except.to_string()], |r| {
                r.get(0)
            })?)
    }

    fn visible_rows(
        &self,
        user: UserId,
        cursor: u64,
        limit: u64,
        with_removals: bool,
    ) -> Result<Vec<RowChange>> {
        let mut stmt = self.0.prepare_cached(VISIBLE_SQL)?;
        let rows = stmt.query_map(
            params![
                user.to_string(),
                cursor as i64,
                limit.min(i64::MAX as u64) as i64,
                with_removals as i64
            ],
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, bool>(4)?,
                ))
            },
        )?;
        let mut out = Vec::new();
        for row in rows {
            let (seq, kind, id, data, deleted) = row?;
            let row = match (deleted, data) {
                (false, Some(d)) => Some(serde_json::from_str(&d)?),
                _ => None,
            };
            out.push(RowChange {
                server_seq: seq as u64,
                kind: kind
                    .parse::<RowKind>()
                    .map_err(|e| Error::Internal(format!("stored row kind: {e}")))?,
                id,
                row,
            });
        }
        Ok(out)
    }

    fn device_owner(&self, device: DeviceId) -> Result<Option<DeviceOwner>> {
        let row: Option<(String, Option<String>)> = self
            .one(
                "SELECT user_id, revoked_at FROM devices WHERE id = ?1",
                [device.to_string()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        row.map(|(user, revoked)| {
            Ok(DeviceOwner {
                user_id: UserId(uuid(&user)?),
                revoked: revoked.is_some(),
            })
        })
        .transpose()
    }

    fn device_by_token(&self, token_hash: &str) -> Result<Option<TokenHolder>> {
        let row: Option<(String, String, Option<String>, Option<String>)> = self
            .0
            .prepare_cached(
                "SELECT d.id, u.data, d.revoked_at, d.last_seen FROM devices d JOIN users u ON u.id = d.user_id
                 WHERE d.token_hash = ?1",
            )?
            .query_row([token_hash], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .optional()?;
        row.map(|(device, user_json, revoked, last_seen)| {
            Ok(TokenHolder {
                device_id: DeviceId(uuid(&device)?),
                user_json,
                revoked: revoked.is_some(),
                last_seen: last_seen.and_then(|s| parse_ts(&s).ok()),
            })
        })
        .transpose()
    }

    fn devices(&self, only: Option<DeviceId>) -> Result<Vec<DeviceInfo>> {
        let mut stmt = self.0.prepare_cached(
            "SELECT d.id, d.user_id, u.username, d.name, d.registered_at, d.last_seen, d.revoked_at, d.last_acked_seq
             FROM devices d JOIN users u ON u.id = d.user_id
             WHERE ?1 IS NULL OR d.id = ?1 ORDER BY u.username, d.registered_at",
        )?;
        let rows = stmt.query_map([only.map(|d| d.to_string())], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, Option<String>>(5)?,
                r.get::<_, Option<String>>(6)?,
                r.get::<_, i64>(7)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, user_id, username, name, registered_at, last_seen, revoked_at, acked) = row?;
            out.push(
                DeviceColumns {
                    id,
                    user_id,
                    username,
                    name,
                    registered_at,
                    last_seen,
                    revoked_at,
                    last_acked_seq: acked,
                }
                .decode()?,
            );
        }
        Ok(out)
    }

    fn device_acked_seq(&self, device: DeviceId) -> Result<u64> {
        Ok(self.one(
            "SELECT last_acked_seq FROM devices WHERE id = ?1",
            [device.to_string()],
            |r| r.get::<_, i64>(0),
        )? as u64)
    }

    fn web_session(&self, id_hash: &str) -> Result<Option<WebSessionRow>> {
        super::web_sessions::find(self.0, id_hash)
    }

    fn stored_outcome(&self, device: DeviceId, seq: u64) -> Result<Option<String>> {
        Ok(self
            .0
            .prepare_cached(
                "SELECT outcome FROM op_outcomes WHERE device_id = ?1 AND device_seq = ?2",
            )?
            .query_row(params![device.to_string(), seq as i64], |r| r.get(0))
            .optional()?)
    }

    fn acked_through(&self, device: DeviceId, high_water: u64) -> Result<Option<u64>> {
        let acked: Option<i64> = self.one(
            "SELECT MAX(device_seq) FROM op_outcomes WHERE device_id = ?1 AND high_water <= ?2",
            params![device.to_string(), high_water as i64],
            |r| r.get(0),
        )?;
        Ok(acked.map(|a| a as u64))
    }

    fn blob_held(&self, sha256: &str) -> Result<bool> {
        Ok(self
            .0
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM blobs WHERE sha256 = ?1)")?
            .query_row([sha256], |r| r.get(0))?)
    }

    fn blob_uploader(&self, sha256: &str) -> Result<Option<DeviceId>> {
        strings(
            self.0,
            "SELECT uploaded_by FROM blobs WHERE sha256 = ?1 AND uploaded_by IS NOT NULL",
            [sha256],
        )?
        .first()
        .map(|d| Ok(DeviceId(uuid(d)?)))
        .transpose()
    }

    fn jobs_naming_blob(&self, user: UserId, sha256: &str) -> Result<Vec<WorkOrderId>> {
        strings(
            self.0,
            "SELECT DISTINCT r.work_order_id FROM job_rows r JOIN work_orders w ON w.id = r.work_order_id
              WHERE w.assignee_id = ?1 AND r.deleted = 0
                AND ((r.kind = 'photo' AND (r.data ->> '$.sha256' = ?2 OR r.data ->> '$.thumb_sha256' = ?2))
                  OR (r.kind = 'signature' AND r.data ->> '$.png_sha256' = ?2))
              ORDER BY r.work_order_id",
            params![user.to_string(), sha256],
        )?
        .iter()
        .map(|id| Ok(WorkOrderId(uuid(id)?)))
        .collect()
    }

    fn jobs_awaiting(&self, sha256: &str) -> Result<Vec<WorkOrderId>> {
        strings(
            self.0,
            "SELECT work_order_id FROM awaiting_evidence WHERE sha256 = ?1 ORDER BY work_order_id",
            [sha256],
        )?
        .iter()
        .map(|id| Ok(WorkOrderId(uuid(id)?)))
        .collect()
    }

    fn job_row_field_values(&self, kind: &str, field: &str, since_seq: u64) -> Result<Vec<String>> {
        strings(
            self.0,
            "SELECT v FROM (SELECT json_extract(data, '$.' || ?2) AS v FROM job_rows
              WHERE kind = ?1 AND server_seq > ?3) WHERE typeof(v) = 'text'",
            params![kind, field, since_seq.min(i64::MAX as u64) as i64],
        )
    }
}

impl WriteTx for SqliteTx<'_> {
    fn bump_counter(&self, name: Counter) -> Result<u64> {
        Ok(self
            .0
            .prepare_cached(
                "UPDATE counters SET value = value + 1 WHERE name = ?1 RETURNING value",
            )?
            .query_row([name.as_str()], |r| r.get::<_, i64>(0))? as u64)
    }

    fn set_counter(&self, name: Counter, value: u64) -> Result<()> {
        self.0
            .prepare_cached("UPDATE counters SET value = ?2 WHERE name = ?1")?
            .execute(params![name.as_str(), value as i64])?;
        Ok(())
    }

    fn put_work_order(&self, wo: &WorkOrder, seq: u64) -> Result<()> {
        let c = self.0;
        c.prepare_cached(
            "INSERT INTO work_orders (id, number, customer_id, asset_id, assignee_id, status, needs_review,
                                      appointment_start, data, server_seq)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
             ON CONFLICT (id) DO UPDATE SET number = excluded.number, customer_id = excluded.customer_id,
                 asset_id = excluded.asset_id, assignee_id = excluded.assignee_id, status = excluded.status,
                 needs_review = excluded.needs_review, appointment_start = excluded.appointment_start,
                 data = excluded.data, server_seq = excluded.server_seq",
        )?
        .execute(params![
            wo.id.to_string(),
            wo.number,
            wo.customer_id.to_string(),
            wo.asset_id.map(|a| a.to_string()),
            wo.assignee_id.map(|a| a.to_string()),
            wo.status.as_str(),
            wo.needs_review,
            wo.appointment_start.as_ref().map(format_ts),
            serde_json::to_string(wo)?,
            seq as i64
        ])?;
        c.prepare_cached("DELETE FROM awaiting_evidence WHERE work_order_id = ?1")?
            .execute([wo.id.to_string()])?;
        for sha in &wo.awaiting_evidence {
            c.prepare_cached(
                "INSERT OR IGNORE INTO awaiting_evidence (work_order_id, sha256) VALUES (?1, ?2)",
            )?
            .execute(params![wo.id.to_string(), sha])?;
        }
        Ok(())
    }

    fn put_job_row(
        &self,
        kind: &str,
        id: &str,
        wo: WorkOrderId,
        data: &Value,
        deleted: bool,
        seq: u64,
    ) -> Result<()> {
        self.0.prepare_cached(
            "INSERT INTO job_rows (kind, id, work_order_id, data, deleted, server_seq) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (kind, id) DO UPDATE SET data = excluded.data, deleted = excluded.deleted,
                 server_seq = excluded.server_seq",
        )?
        .execute(params![kind, id, wo.to_string(), serde_json::to_string(data)?, deleted, seq as i64])?;
        Ok(())
    }

    fn set_job_row_seq(&self, kind: &str, id: &str, seq: u64) -> Result<()> {
        self.0
            .prepare_cached("UPDATE job_rows SET server_seq = ?1 WHERE kind = ?2 AND id = ?3")?
            .execute(params![seq as i64, kind, id])?;
        Ok(())
    }

    fn put_field_stamp(&self, entity: &str, id: &str, field: &str, s: &FieldStamp) -> Result<()> {
        self.0.prepare_cached(
            "INSERT INTO field_stamps (entity, entity_id, field, version, hlc, device_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (entity, entity_id, field) DO UPDATE SET version = excluded.version, hlc = excluded.hlc,
                 device_id = excluded.device_id",
        )?
        .execute(params![entity, id, field, s.version as i64, s.hlc.to_string(), s.device_id.map(|d| d.to_string())])?;
        Ok(())
    }

    fn record_assignment(&self, wo: WorkOrderId, user: UserId, at: Timestamp) -> Result<()> {
        self.exec(
            "INSERT INTO assignment_history (work_order_id, user_id, assigned_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (work_order_id, user_id) DO NOTHING",
            params![wo.to_string(), user.to_string(), format_ts(&at)],
        )?;
        Ok(())
    }

    fn put_removal(&self, user: UserId, kind: &str, id: &str, seq: u64) -> Result<()> {
        self.0
            .prepare_cached(
                "INSERT INTO removals (user_id, kind, id, server_seq) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (user_id, kind, id) DO UPDATE SET server_seq = excluded.server_seq",
            )?
            .execute(params![user.to_string(), kind, id, seq as i64])?;
        Ok(())
    }

    fn clear_removal(&self, user: UserId, kind: &str, id: &str) -> Result<()> {
        self.0
            .prepare_cached("DELETE FROM removals WHERE user_id = ?1 AND kind = ?2 AND id = ?3")?
            .execute(params![user.to_string(), kind, id])?;
        Ok(())
    }

    fn insert_user(&self, user: &User, password_hash: &str, at: Timestamp, seq: u64) -> Result<()> {
        self.exec(
            "INSERT INTO users (id, username, role, password_hash, data, created_at, server_seq)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                user.id.to_string(),
                user.username,
                user.role.as_str(),
                password_hash,
                serde_json::to_string(user)?,
                format_ts(&at),
                seq as i64
            ],
        )?;
        Ok(())
    }

    fn put_loop_row(&self, kind: &str, id: &str, wo: WorkOrderId, data: &str) -> Result<()> {
        self.exec(
            "INSERT INTO loop_rows (kind, id, work_order_id, data) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (kind, id) DO UPDATE SET data = excluded.data",
            params![kind, id, wo.to_string(), data],
        )?;
        Ok(())
    }

    fn insert_quality_review(&self, review: &QualityReview) -> Result<()> {
        super::quality::insert(self.0, review)
    }

    fn put_customer(&self, customer: &Customer, seq: u64) -> Result<()> {
        self.exec(
            "INSERT INTO customers (id, data, server_seq) VALUES (?1, ?2, ?3)
             ON CONFLICT (id) DO UPDATE SET data = excluded.data, server_seq = excluded.server_seq",
            params![
                customer.id.to_string(),
                serde_json::to_string(customer)?,
                seq as i64
            ],
        )?;
        Ok(())
    }

    fn put_asset(&self, asset: &Asset, seq: u64) -> Result<()> {
        self.exec(
            "INSERT INTO assets (id, customer_id, data, server_seq) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (id) DO UPDATE SET customer_id = excluded.customer_id, data = excluded.data,
                 server_seq = excluded.server_seq",
            params![
                asset.id.to_string(),
                asset.customer_id.to_string(),
                serde_json::to_string(asset)?,
                seq as i64
            ],
        )?;
        Ok(())
    }

    fn set_doc_seq(&self, t: DocTable, id: &str, seq: u64) -> Result<()> {
        let sql = format!("UPDATE {} SET server_seq = ?1 WHERE id = ?2", table(t));
        self.0
            .prepare_cached(&sql)?
            .execute(params![seq as i64, id])?;
        Ok(())
    }

    fn insert_device(
        &self,
        device: DeviceId,
        user: UserId,
        name: &str,
        token_hash: &str,
        at: Timestamp,
    ) -> Result<()> {
        self.exec(
            "INSERT INTO devices (id, user_id, name, token_hash, registered_at, last_seen)
             VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
            params![
                device.to_string(),
                user.to_string(),
                name,
                token_hash,
                format_ts(&at)
            ],
        )?;
        Ok(())
    }

    fn reissue_device_token(
        &self,
        device: DeviceId,
        name: &str,
        token_hash: &str,
        at: Timestamp,
    ) -> Result<()> {
        self.exec(
            "UPDATE devices SET name = ?2, token_hash = ?3, last_seen = ?4 WHERE id = ?1",
            params![device.to_string(), name, token_hash, format_ts(&at)],
        )?;
        Ok(())
    }

    fn touch_device(&self, device: DeviceId, at: Timestamp) -> Result<()> {
        self.exec(
            "UPDATE devices SET last_seen = ?2 WHERE id = ?1",
            params![device.to_string(), format_ts(&at)],
        )?;
        Ok(())
    }

    fn revoke_device(&self, device: DeviceId, at: Timestamp) -> Result<bool> {
        let n = self.exec(
            "UPDATE devices SET revoked_at = COALESCE(revoked_at, ?2) WHERE id = ?1",
            params![device.to_string(), format_ts(&at)],
        )?;
        Ok(n > 0)
    }

    fn set_device_acked(&self, device: DeviceId, acked: u64, at: Timestamp) -> Result<()> {
        self.0
            .prepare_cached("UPDATE devices SET last_acked_seq = ?2, last_seen = ?3 WHERE id = ?1")?
            .execute(params![device.to_string(), acked as i64, format_ts(&at)])?;
        Ok(())
    }

    fn insert_web_session(&self, id_hash: &str, user: UserId, at: Timestamp) -> Result<()> {
        super::web_sessions::insert(self.0, id_hash, user, at)
    }

    fn touch_web_session(&self, id_hash: &str, at: Timestamp) -> Result<()> {
        super::web_sessions::touch(self.0, id_hash, at)
    }

    fn delete_web_session(&self, id_hash: &str) -> Result<bool> {
        super::web_sessions::delete(self.0, id_hash)
    }

    fn delete_web_sessions_before(
        &self,
        created_before: Timestamp,
        used_before: Timestamp,
    ) -> Result<u64> {
        super::web_sessions::delete_before(self.0, created_before, used_before)
    }

    fn store_outcomes(
        &self,
        device: DeviceId,
        at: Timestamp,
        outcomes: &[StoredOutcome],
    ) -> Result<()> {
        let (device, at) = (device.to_string(), format_ts(&at));
        for chunk in outcomes.chunks(OUTCOMES_PER_INSERT) {
            let values = vec!["(?, ?, ?, ?, ?, ?)"; chunk.len()].join(", ");
            let sql = format!(
                "INSERT INTO op_outcomes (device_id, device_seq, op, outcome, high_water, applied_at) VALUES {values}"
            );
            let mut args: Vec<rusqlite::types::Value> = Vec::with_capacity(chunk.len() * 6);
            for o in chunk {
                args.push(device.clone().into());
                args.push((o.device_seq as i64).into());
                args.push(o.op_json.clone().into());
                args.push(o.outcome_json.clone().into());
                args.push((o.high_water as i64).into());
                args.push(at.clone().into());
            }
            self.exec(&sql, rusqlite::params_from_iter(args))?;
        }
        Ok(())
    }

    fn insert_blob(&self, sha256: &str, size: u64, at: Timestamp) -> Result<()> {
        self.exec(
            "INSERT INTO blobs (sha256, size, stored_at) VALUES (?1, ?2, ?3) ON CONFLICT (sha256) DO NOTHING",
            params![sha256, size as i64, format_ts(&at)],
        )?;
        Ok(())
    }

    fn set_blob_uploader(&self, sha256: &str, device: DeviceId) -> Result<()> {
        self.exec(
            "UPDATE blobs SET uploaded_by = ?2 WHERE sha256 = ?1 AND uploaded_by IS NULL",
            params![sha256, device.to_string()],
        )?;
        Ok(())
    }

    fn delete_blob(&self, sha256: &str) -> Result<()> {
        self.exec("DELETE FROM blobs WHERE sha256 = ?1", [sha256])?;
        Ok(())
    }

    /// Held until the backend has committed: SQLite's notices stay in this process.
    fn announce(&self, notice: &str) -> Result<()> {
        *self.1.borrow_mut() = Some(notice.to_owned());
        Ok(())
    }
}
