//! One open transaction and the read primitives in SQL over it: the same queries as
//! `sqlite/tx.rs`, in PostgreSQL's dialect, with the same ordering so state checksums agree.
//! The write primitives are in `write.rs`.

use std::cell::RefCell;

use onsite_model::merge::FieldStamp;
use onsite_model::time::{format_ts, parse_ts};
use onsite_model::wire::{RowChange, RowKind};
use onsite_model::{DeviceId, UserId, WorkOrder, WorkOrderId};
use tokio::runtime::Handle;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use super::super::backend::{
    Counter, DeviceOwner, DocTable, JobRef, KEYS_PER_QUERY, ReadTx, StoredRow, TokenHolder,
    WebSessionRow,
};
use super::super::columns::{DeviceColumns, field_stamp, ref_column, table, uuid};
use super::super::interface::{DeviceInfo, WorkOrderFilter};
use crate::error::{Error, Result};

type Params<'p> = &'p [&'p (dyn ToSql + Sync)];

/// The open transaction (read or write; the engine only writes through `WriteTx`). Each call
/// blocks the calling thread on one statement, prepared once per connection.
/// A bound value a deferred statement owns until it runs.
type Owned = Box<dyn ToSql + Sync + Send>;

/// A write whose answer nothing waits for, sent with the next statement that is waited for.
struct Deferred {
    sql: &'static str,
    args: Vec<Owned>,
}

pub(super) struct PgTx<'t, 'c> {
    tx: &'t deadpool_postgres::Transaction<'c>,
    rt: &'t Handle,
    /// Row writes not sent yet. Every query sends them first, in order and pipelined (one
    /// round trip for the lot instead of one each), so the transaction reads its own writes;
    /// the backend sends the rest before it commits.
    deferred: RefCell<Vec<Deferred>>,
}

impl<'t, 'c> PgTx<'t, 'c> {
    pub(super) fn new(tx: &'t deadpool_postgres::Transaction<'c>, rt: &'t Handle) -> Self {
        Self {
            tx,
            rt,
            deferred: RefCell::new(Vec::new()),
        }
    }

    pub(super) fn defer(&self, sql: &'static str, args: Vec<Owned>) {
        self.deferred.borrow_mut().push(Deferred { sql, args });
    }

    /// Sends the deferred writes, pipelined, and waits for all of them.
    pub(super) fn flush(&self) -> Result<()> {
        let pending = std::mem::take(&mut *self.deferred.borrow_mut());
        if pending.is_empty() {
            return Ok(());
        }
        self.rt.block_on(async {
            let mut statements = Vec::with_capacity(pending.len());
            for d in &pending {
                statements.push(self.tx.prepare_cached(d.sql).await?);
            }
            let runs = pending.iter().zip(&statements).map(|(d, stmt)| async move {
                let args: Vec<&(dyn ToSql + Sync)> = d
                    .args
                    .iter()
                    .map(|a| a.as_ref() as &(dyn ToSql + Sync))
                    .collect();
                self.tx.execute(stmt, &args).await
            });
            futures::future::try_join_all(runs).await?;
            Ok(())
        })
    }

    pub(super) fn query(&self, sql: &str, params: Params<'_>) -> Result<Vec<Row>> {
        self.flush()?;
        self.rt.block_on(async {
            let stmt = self.tx.prepare_cached(sql).await?;
            Ok(self.tx.query(&stmt, params).await?)
        })
    }

    pub(super) fn opt(&self, sql: &str, params: Params<'_>) -> Result<Option<Row>> {
        self.flush()?;
        self.rt.block_on(async {
            let stmt = self.tx.prepare_cached(sql).await?;
            Ok(self.tx.query_opt(&stmt, params).await?)
        })
    }

    pub(super) fn one(&self, sql: &str, params: Params<'_>) -> Result<Row> {
        self.flush()?;
        self.rt.block_on(async {
            let stmt = self.tx.prepare_cached(sql).await?;
            Ok(self.tx.query_one(&stmt, params).await?)
        })
    }

    pub(super) fn exec(&self, sql: &str, params: Params<'_>) -> Result<u64> {
        self.flush()?;
        self.rt.block_on(async {
            let stmt = self.tx.prepare_cached(sql).await?;
            Ok(self.tx.execute(&stmt, params).await?)
        })
    }

    pub(super) fn strings(&self, sql: &str, params: Params<'_>) -> Result<Vec<String>> {
        self.query(sql, params)?
            .iter()
            .map(|r| Ok(r.try_get(0)?))
            .collect()
    }

    pub(super) fn exists(&self, sql: &str, params: Params<'_>) -> Result<bool> {
        Ok(self.one(sql, params)?.try_get(0)?)
    }
}

pub(super) fn seq(v: u64) -> i64 {
    v.min(i64::MAX as u64) as i64
}

// Each branch stops at the page's size in seq order (the first rows of the union are among
// the first rows of its branches), so a page costs its size, not everything after the cursor.
const VISIBLE_SQL: &str = "
SELECT server_seq, kind, id, data, deleted FROM (
    (SELECT server_seq, 'user'::text AS kind, id, data, false AS deleted FROM users
     WHERE id = $1 AND server_seq > $2)
    UNION ALL
    (SELECT server_seq, 'work_order', id, data, false FROM work_orders
     WHERE assignee_id = $1 AND server_seq > $2 ORDER BY server_seq LIMIT $3)
    UNION ALL
    (SELECT c.server_seq, 'customer', c.id, c.data, false FROM customers c
     WHERE c.server_seq > $2 AND c.id IN (SELECT customer_id FROM work_orders WHERE assignee_id = $1)
     ORDER BY c.server_seq LIMIT $3)
    UNION ALL
    (SELECT a.server_seq, 'asset', a.id, a.data, false FROM assets a
     WHERE a.server_seq > $2 AND a.id IN (SELECT asset_id FROM work_orders WHERE assignee_id = $1 AND asset_id IS NOT NULL)
     ORDER BY a.server_seq LIMIT $3)
    UNION ALL
    (SELECT r.server_seq, r.kind, r.id, r.data, r.deleted FROM job_rows r
     WHERE r.server_seq > $2 AND (NOT r.deleted OR $4::boolean)
       AND r.work_order_id IN (SELECT id FROM work_orders WHERE assignee_id = $1)
     ORDER BY r.server_seq LIMIT $3)
    UNION ALL
    (SELECT server_seq, kind, id, NULL, true FROM removals
     WHERE user_id = $1 AND server_seq > $2 AND $4::boolean ORDER BY server_seq LIMIT $3)
) AS visible
WHERE NOT deleted OR $4::boolean
ORDER BY server_seq
LIMIT $3";

impl ReadTx for PgTx<'_, '_> {
    fn counter(&self, name: Counter) -> Result<u64> {
        let v: i64 = self
            .one(
                "SELECT value FROM counters WHERE name = $1",
                &[&name.as_str()],
            )?
            .try_get(0)?;
        Ok(v as u64)
    }

    fn load_work_order(&self, id: WorkOrderId) -> Result<Option<(WorkOrder, u64)>> {
        self.opt(
            "SELECT data, server_seq FROM work_orders WHERE id = $1",
            &[&id.to_string()],
        )?
        .map(|r| {
            let data: String = r.try_get(0)?;
            let s: i64 = r.try_get(1)?;
            Ok((serde_json::from_str(&data)?, s as u64))
        })
        .transpose()
    }

    fn list_work_orders(&self, filter: &WorkOrderFilter) -> Result<Vec<String>> {
        self.strings(
            "SELECT data FROM work_orders
             WHERE ($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR assignee_id = $2)
               AND ($3::text IS NULL OR appointment_start >= $3) AND ($4::text IS NULL OR appointment_start < $4)
               AND ($5::boolean IS NULL OR needs_review = $5)
               AND ($6::boolean IS NULL OR EXISTS (SELECT 1 FROM awaiting_evidence a WHERE a.work_order_id = work_orders.id) = $6)
             ORDER BY appointment_start IS NULL, appointment_start, number",
            &[
                &filter.status.map(|s| s.as_str()),
                &filter.assignee.map(|u| u.to_string()),
                &filter.from.as_ref().map(format_ts),
                &filter.to.as_ref().map(format_ts),
                &filter.needs_review,
                &filter.awaiting_evidence,
            ],
        )
    }

    fn load_job_row(&self, kind: &str, id: &str) -> Result<Option<StoredRow>> {
        self.opt(
            "SELECT data, deleted, server_seq FROM job_rows WHERE kind = $1 AND id = $2",
            &[&kind, &id],
        )?
        .map(|r| {
            let data: String = r.try_get(0)?;
            let s: i64 = r.try_get(2)?;
            Ok(StoredRow {
                data: serde_json::from_str(&data)?,
                deleted: r.try_get(1)?,
                seq: s as u64,
            })
        })
        .transpose()
    }

    fn load_job_rows(&self, keys: &[(String, String)]) -> Result<Vec<(String, String, StoredRow)>> {
        let mut out = Vec::new();
        for chunk in keys.chunks(KEYS_PER_QUERY) {
            let kinds: Vec<&str> = chunk.iter().map(|(k, _)| k.as_str()).collect();
            let ids: Vec<&str> = chunk.iter().map(|(_, i)| i.as_str()).collect();
            let rows = self.query(
                "SELECT r.kind, r.id, r.data, r.deleted, r.server_seq FROM job_rows r
                 JOIN unnest($1::text[], $2::text[]) AS k(kind, id) ON r.kind = k.kind AND r.id = k.id",
                &[&kinds, &ids],
            )?;
            for r in rows {
                let data: String = r.try_get(2)?;
                let server_seq: i64 = r.try_get(4)?;
                out.push((
                    r.try_get(0)?,
                    r.try_get(1)?,
                    StoredRow {
                        data: serde_json::from_str(&data)?,
                        deleted: r.try_get(3)?,
                        seq: server_seq as u64,
                    },
                ));
            }
        }
        Ok(out)
    }

    fn job_rows(&self, wo: WorkOrderId, kind: &str) -> Result<Vec<String>> {
        self.strings(
            "SELECT data FROM job_rows WHERE work_order_id = $1 AND kind = $2 AND NOT deleted ORDER BY server_seq",
            &[&wo.to_string(), &kind],
        )
    }

    fn rows_of_kind(&self, kind: &str) -> Result<Vec<String>> {
        self.strings(
            "SELECT data FROM job_rows WHERE kind = $1 AND NOT deleted ORDER BY server_seq",
            &[&kind],
        )
    }

    fn job_items(&self, wo: WorkOrderId) -> Result<Vec<(String, String)>> {
        self.query(
            "SELECT kind, id FROM job_rows WHERE work_order_id = $1 AND NOT deleted ORDER BY server_seq",
            &[&wo.to_string()],
        )?
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect()
    }

    fn field_stamp(&self, entity: &str, id: &str, field: &str) -> Result<Option<FieldStamp>> {
        self.opt(
            "SELECT version, hlc, device_id FROM field_stamps WHERE entity = $1 AND entity_id = $2 AND field = $3",
            &[&entity, &id, &field],
        )?
        .map(|r| {
            let v: i64 = r.try_get(0)?;
            let h: String = r.try_get(1)?;
            let d: Option<String> = r.try_get(2)?;
            field_stamp(v, &h, d.as_deref())
        })
        .transpose()
    }

    fn loop_rows(&self, kind: &str, wo: Option<WorkOrderId>) -> Result<Vec<String>> {
        let wo = wo.map(|w| w.to_string());
        self.strings(
            "SELECT data FROM loop_rows WHERE kind = $1 AND ($2::TEXT IS NULL OR work_order_id = $2)
             ORDER BY id COLLATE \"C\"",
            &[&kind, &wo],
        )
    }

    fn load_loop_row(&self, kind: &str, id: &str) -> Result<Option<String>> {
        self.opt(
            "SELECT data FROM loop_rows WHERE kind = $1 AND id = $2",
            &[&kind, &id],
        )?
        .map(|r| Ok(r.try_get(0)?))
        .transpose()
    }

    fn quality_reviews(&self, wo: Option<WorkOrderId>) -> Result<Vec<String>> {
        self.find_quality_reviews(wo)
    }

    fn load_doc(&self, t: DocTable, id: &str) -> Result<Option<String>> {
        let sql = format!("SELECT data FROM {} WHERE id = $1", table(t));
        self.opt(&sql, &[&id])?
            .map(|r| Ok(r.try_get(0)?))
            .transpose()
    }

    fn list_docs(&self, t: DocTable) -> Result<Vec<String>> {
        let order = if t == DocTable::Users {
            "username"
        } else {
            "server_seq"
        };
        self.strings(
            &format!("SELECT data FROM {} ORDER BY {order}", table(t)),
            &[],
        )
    }

    fn user_by_username(&self, username: &str) -> Result<Option<(String, String)>> {
        self.opt(
            "SELECT data, password_hash FROM users WHERE username = $1",
            &[&username],
        )?
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .transpose()
    }

    fn ever_assigned(&self, wo: WorkOrderId, user: UserId) -> Result<bool> {
        self.exists(
            "SELECT EXISTS (SELECT 1 FROM assignment_history WHERE work_order_id = $1 AND user_id = $2)",
            &[&wo.to_string(), &user.to_string()],
        )
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
            "SELECT EXISTS (SELECT 1 FROM work_orders WHERE assignee_id = $1 AND {column} = $2 AND id <> $3)"
        );
        self.exists(&sql, &[&user.to_string(), &id, &except.to_string()])
    }

    fn visible_rows(
        &self,
        user: UserId,
        cursor: u64,
        limit: u64,
        with_removals: bool,
    ) -> Result<Vec<RowChange>> {
        let rows = self.query(
            VISIBLE_SQL,
            &[&user.to_string(), &seq(cursor), &seq(limit), &with_removals],
        )?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let server_seq: i64 = r.try_get(0)?;
            let kind: String = r.try_get(1)?;
            let data: Option<String> = r.try_get(3)?;
            let deleted: bool = r.try_get(4)?;
            let row = match (deleted, data) {
                (false, Some(d)) => Some(serde_json::from_str(&d)?),
                _ => None,
            };
            out.push(RowChange {
                server_seq: server_seq as u64,
                kind: kind
                    .parse::<RowKind>()
                    .map_err(|e| Error::Internal(format!("stored row kind: {e}")))?,
                id: r.try_get(2)?,
                row,
            });
        }
        Ok(out)
    }

    fn device_owner(&self, device: DeviceId) -> Result<Option<DeviceOwner>> {
        self.opt(
            "SELECT user_id, revoked_at FROM devices WHERE id = $1",
            &[&device.to_string()],
        )?
        .map(|r| {
            let user: String = r.try_get(0)?;
            let revoked: Option<String> = r.try_get(1)?;
            Ok(DeviceOwner {
                user_id: UserId(uuid(&user)?),
                revoked: revoked.is_some(),
            })
        })
        .transpose()
    }

    fn device_by_token(&self, token_hash: &str) -> Result<Option<TokenHolder>> {
        self.opt(
            "SELECT d.id, u.data, d.revoked_at, d.last_seen FROM devices d JOIN users u ON u.id = d.user_id
             WHERE d.token_hash = $1",
            &[&token_hash],
        )?
        .map(|r| {
            let device: String = r.try_get(0)?;
            let revoked: Option<String> = r.try_get(2)?;
            let last_seen: Option<String> = r.try_get(3)?;
            Ok(TokenHolder {
                device_id: DeviceId(uuid(&device)?),
                user_json: r.try_get(1)?,
                revoked: revoked.is_some(),
                last_seen: last_seen.and_then(|s| parse_ts(&s).ok()),
            })
        })
        .transpose()
    }

    fn devices(&self, only: Option<DeviceId>) -> Result<Vec<DeviceInfo>> {
        let rows = self.query(
            "SELECT d.id, d.user_id, u.username, d.name, d.registered_at, d.last_seen, d.revoked_at, d.last_acked_seq
             FROM devices d JOIN users u ON u.id = d.user_id
             WHERE $1::text IS NULL OR d.id = $1 ORDER BY u.username, d.registered_at",
            &[&only.map(|d| d.to_string())],
        )?;
        rows.iter()
            .map(|r| {
                DeviceColumns {
                    id: r.try_get(0)?,
                    user_id: r.try_get(1)?,
                    username: r.try_get(2)?,
                    name: r.try_get(3)?,
                    registered_at: r.try_get(4)?,
                    last_seen: r.try_get(5)?,
                    revoked_at: r.try_get(6)?,
                    last_acked_seq: r.try_get(7)?,
                }
                .decode()
            })
            .collect()
    }

    fn device_acked_seq(&self, device: DeviceId) -> Result<u64> {
        let acked: i64 = self
            .one(
                "SELECT last_acked_seq FROM devices WHERE id = $1",
                &[&device.to_string()],
            )?
            .try_get(0)?;
        Ok(acked as u64)
    }

    fn web_session(&self, id_hash: &str) -> Result<Option<WebSessionRow>> {
        self.find_web_session(id_hash)
    }

    fn stored_outcome(&self, device: DeviceId, seq_: u64) -> Result<Option<String>> {
        self.opt(
            "SELECT outcome FROM op_outcomes WHERE device_id = $1 AND device_seq = $2",
            &[&device.to_string(), &seq(seq_)],
        )?
        .map(|r| Ok(r.try_get(0)?))
        .transpose()
    }

    fn acked_through(&self, device: DeviceId, high_water: u64) -> Result<Option<u64>> {
        let acked: Option<i64> = self
            .one(
                "SELECT MAX(device_seq) FROM op_outcomes WHERE device_id = $1 AND high_water <= $2",
                &[&device.to_string(), &seq(high_water)],
            )?
            .try_get(0)?;
        Ok(acked.map(|a| a as u64))
    }

    fn blob_held(&self, sha256: &str) -> Result<bool> {
        self.exists(
            "SELECT EXISTS (SELECT 1 FROM blobs WHERE sha256 = $1)",
            &[&sha256],
        )
    }

    fn blob_uploader(&self, sha256: &str) -> Result<Option<DeviceId>> {
        self.strings(
            "SELECT uploaded_by FROM blobs WHERE sha256 = $1 AND uploaded_by IS NOT NULL",
            &[&sha256],
        )?
        .first()
        .map(|d| Ok(DeviceId(uuid(d)?)))
        .transpose()
    }

    fn jobs_naming_blob(&self, user: UserId, sha256: &str) -> Result<Vec<WorkOrderId>> {
        self.strings(
            "SELECT r.work_order_id FROM job_rows r JOIN work_orders w ON w.id = r.work_order_id
              WHERE w.assignee_id = $1 AND NOT r.deleted
                AND ((r.kind = 'photo' AND ((r.data::jsonb) ->> 'sha256' = $2 OR (r.data::jsonb) ->> 'thumb_sha256' = $2))
                  OR (r.kind = 'signature' AND (r.data::jsonb) ->> 'png_sha256' = $2))
              GROUP BY r.work_order_id ORDER BY r.work_order_id COLLATE \"C\"",
            &[&user.to_string(), &sha256],
        )?
        .iter()
        .map(|id| Ok(WorkOrderId(uuid(id)?)))
        .collect()
    }

    fn jobs_awaiting(&self, sha256: &str) -> Result<Vec<WorkOrderId>> {
        self.strings(
            "SELECT work_order_id FROM awaiting_evidence WHERE sha256 = $1 ORDER BY work_order_id COLLATE \"C\"",
            &[&sha256],
        )?
        .iter()
        .map(|id| Ok(WorkOrderId(uuid(id)?)))
        .collect()
    }

    fn job_row_field_values(&self, kind: &str, field: &str, since_seq: u64) -> Result<Vec<String>> {
        self.strings(
            "SELECT v FROM (SELECT (data::jsonb) -> $2 AS j, (data::jsonb) ->> $2 AS v FROM job_rows
              WHERE kind = $1 AND server_seq > $3) t WHERE jsonb_typeof(j) = 'string'",
            &[&kind, &field, &seq(since_seq)],
        )
    }
}
