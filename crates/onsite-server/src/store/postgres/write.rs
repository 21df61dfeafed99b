//! The write primitives in SQL, over one open write transaction; the same statements as
//! `sqlite/tx.rs`, in PostgreSQL's dialect. Job-row writes are deferred and pipelined
//! (`PgTx::defer`).

use onsite_model::merge::FieldStamp;
use onsite_model::quality::QualityReview;
use onsite_model::time::{Timestamp, format_ts};
use onsite_model::{Asset, Customer, DeviceId, User, UserId, WorkOrder, WorkOrderId};
use serde_json::Value;
use tokio_postgres::types::ToSql;

use super::super::backend::{Counter, DocTable, OUTCOMES_PER_INSERT, StoredOutcome, WriteTx};
use super::super::columns::table;
use super::tx::{PgTx, seq};
use crate::error::Result;
use crate::live::CHANNEL;

impl WriteTx for PgTx<'_, '_> {
    fn bump_counter(&self, name: Counter) -> Result<u64> {
        let v: i64 = self
            .one(
                "UPDATE counters SET value = value + 1 WHERE name = $1 RETURNING value",
                &[&name.as_str()],
            )?
            .try_get(0)?;
        Ok(v as u64)
    }

    fn set_counter(&self, name: Counter, value: u64) -> Result<()> {
        self.exec(
            "UPDATE counters SET value = $2 WHERE name = $1",
            &[&name.as_str(), &seq(value)],
        )?;
        Ok(())
    }

    fn put_work_order(&self, wo: &WorkOrder, s: u64) -> Result<()> {
        let id = wo.id.to_string();
        self.exec(
            "INSERT INTO work_orders (id, number, customer_id, asset_id, assignee_id, status, needs_review,
                                      appointment_start, data, server_seq)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
             ON CONFLICT (id) DO UPDATE SET number = excluded.number, customer_id = excluded.customer_id,
                 asset_id = excluded.asset_id, assignee_id = excluded.assignee_id, status = excluded.status,
                 needs_review = excluded.needs_review, appointment_start = excluded.appointment_start,
                 data = excluded.data, server_seq = excluded.server_seq",
            &[
                &id,
                &wo.number,
                &wo.customer_id.to_string(),
                &wo.asset_id.map(|a| a.to_string()),
                &wo.assignee_id.map(|a| a.to_string()),
                &wo.status.as_str(),
                &wo.needs_review,
                &wo.appointment_start.as_ref().map(format_ts),
                &serde_json::to_string(wo)?,
                &seq(s),
            ],
        )?;
        self.exec(
            "DELETE FROM awaiting_evidence WHERE work_order_id = $1",
            &[&id],
        )?;
        for sha in &wo.awaiting_evidence {
            self.exec(
                "INSERT INTO awaiting_evidence (work_order_id, sha256) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                &[&id, sha],
            )?;
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
        s: u64,
    ) -> Result<()> {
        self.defer(
            "INSERT INTO job_rows (kind, id, work_order_id, data, deleted, server_seq) VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (kind, id) DO UPDATE SET data = excluded.data, deleted = excluded.deleted,
                 server_seq = excluded.server_seq",
            vec![
                Box::new(kind.to_owned()),
                Box::new(id.to_owned()),
                Box::new(wo.to_string()),
                Box::new(serde_json::to_string(data)?),
                Box::new(deleted),
                Box::new(seq(s)),
            ],
        );
        Ok(())
    }

    fn set_job_row_seq(&self, kind: &str, id: &str, s: u64) -> Result<()> {
        self.exec(
            "UPDATE job_rows SET server_seq = $1 WHERE kind = $2 AND id = $3",
            &[&seq(s), &kind, &id],
        )?;
        Ok(())
    }

    fn put_field_stamp(&self, entity: &str, id: &str, field: &str, s: &FieldStamp) -> Result<()> {
        self.exec(
            "INSERT INTO field_stamps (entity, entity_id, field, version, hlc, device_id) VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (entity, entity_id, field) DO UPDATE SET version = excluded.version, hlc = excluded.hlc,
                 device_id = excluded.device_id",
            &[
                &entity,
                &id,
                &field,
                &seq(s.version),
                &s.hlc.to_string(),
                &s.device_id.map(|d| d.to_string()),
            ],
        )?;
        Ok(())
    }

    fn record_assignment(&self, wo: WorkOrderId, user: UserId, at: Timestamp) -> Result<()> {
        self.exec(
            "INSERT INTO assignment_history (work_order_id, user_id, assigned_at) VALUES ($1, $2, $3)
             ON CONFLICT (work_order_id, user_id) DO NOTHING",
            &[&wo.to_string(), &user.to_string(), &format_ts(&at)],
        )?;
        Ok(())
    }

    fn put_removal(&self, user: UserId, kind: &str, id: &str, s: u64) -> Result<()> {
        self.exec(
            "INSERT INTO removals (user_id, kind, id, server_seq) VALUES ($1, $2, $3, $4)
             ON CONFLICT (user_id, kind, id) DO UPDATE SET server_seq = excluded.server_seq",
            &[&user.to_string(), &kind, &id, &seq(s)],
        )?;
        Ok(())
    }

    fn clear_removal(&self, user: UserId, kind: &str, id: &str) -> Result<()> {
        self.exec(
            "DELETE FROM removals WHERE user_id = $1 AND kind = $2 AND id = $3",
            &[&user.to_string(), &kind, &id],
        )?;
        Ok(())
    }

    fn insert_user(&self, user: &User, password_hash: &str, at: Timestamp, s: u64) -> Result<()> {
        self.exec(
            "INSERT INTO users (id, username, role, password_hash, data, created_at, server_seq)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                &user.id.to_string(),
                &user.username,
                &user.role.as_str(),
                &password_hash,
                &serde_json::to_string(user)?,
                &format_ts(&at),
                &seq(s),
            ],
        )?;
        Ok(())
    }

    fn put_loop_row(&self, kind: &str, id: &str, wo: WorkOrderId, data: &str) -> Result<()> {
        self.exec(
            "INSERT INTO loop_rows (kind, id, work_order_id, data) VALUES ($1, $2, $3, $4)
             ON CONFLICT (kind, id) DO UPDATE SET data = excluded.data",
            &[&kind, &id, &wo.to_string(), &data],
        )?;
        Ok(())
    }

    fn insert_quality_review(&self, review: &QualityReview) -> Result<()> {
        self.store_quality_review(review)
    }

    fn put_customer(&self, customer: &Customer, s: u64) -> Result<()> {
        self.exec(
            "INSERT INTO customers (id, data, server_seq) VALUES ($1, $2, $3)
             ON CONFLICT (id) DO UPDATE SET data = excluded.data, server_seq = excluded.server_seq",
            &[
                &customer.id.to_string(),
                &serde_json::to_string(customer)?,
                &seq(s),
            ],
        )?;
        Ok(())
    }

    fn put_asset(&self, asset: &Asset, s: u64) -> Result<()> {
        self.exec(
            "INSERT INTO assets (id, customer_id, data, server_seq) VALUES ($1, $2, $3, $4)
             ON CONFLICT (id) DO UPDATE SET customer_id = excluded.customer_id, data = excluded.data,
                 server_seq = excluded.server_seq",
            &[
                &asset.id.to_string(),
                &asset.customer_id.to_string(),
                &serde_json::to_string(asset)?,
                &seq(s),
            ],
        )?;
        Ok(())
    }

    fn set_doc_seq(&self, t: DocTable, id: &str, s: u64) -> Result<()> {
        let sql = format!("UPDATE {} SET server_seq = $1 WHERE id = $2", table(t));
        self.exec(&sql, &[&seq(s), &id])?;
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
             VALUES ($1, $2, $3, $4, $5, $5)",
            &[
                &device.to_string(),
                &user.to_string(),
                &name,
                &token_hash,
                &format_ts(&at),
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
            "UPDATE devices SET name = $2, token_hash = $3, last_seen = $4 WHERE id = $1",
            &[&device.to_string(), &name, &token_hash, &format_ts(&at)],
        )?;
        Ok(())
    }

    fn touch_device(&self, device: DeviceId, at: Timestamp) -> Result<()> {
        self.exec(
            "UPDATE devices SET last_seen = $2 WHERE id = $1",
            &[&device.to_string(), &format_ts(&at)],
        )?;
        Ok(())
    }

    fn revoke_device(&self, device: DeviceId, at: Timestamp) -> Result<bool> {
        let n = self.exec(
            "UPDATE devices SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1",
            &[&device.to_string(), &format_ts(&at)],
        )?;
        Ok(n > 0)
    }

    fn set_device_acked(&self, device: DeviceId, acked: u64, at: Timestamp) -> Result<()> {
        self.exec(
            "UPDATE devices SET last_acked_seq = $2, last_seen = $3 WHERE id = $1",
            &[&device.to_string(), &seq(acked), &format_ts(&at)],
        )?;
        Ok(())
    }

    fn insert_web_session(&self, id_hash: &str, user: UserId, at: Timestamp) -> Result<()> {
        self.store_web_session(id_hash, user, at)
    }

    fn touch_web_session(&self, id_hash: &str, at: Timestamp) -> Result<()> {
        self.use_web_session(id_hash, at)
    }

    fn delete_web_session(&self, id_hash: &str) -> Result<bool> {
        self.drop_web_session(id_hash)
    }

    fn delete_web_sessions_before(
        &self,
        created_before: Timestamp,
        used_before: Timestamp,
    ) -> Result<u64> {
        self.drop_web_sessions_before(created_before, used_before)
    }

    fn store_outcomes(
        &self,
        device: DeviceId,
        at: Timestamp,
        outcomes: &[StoredOutcome],
    ) -> Result<()> {
        let (device, at) = (device.to_string(), format_ts(&at));
        for chunk in outcomes.chunks(OUTCOMES_PER_INSERT) {
            let values: Vec<String> = (0..chunk.len())
                .map(|i| {
                    let b = i * 6;
                    format!(
                        "(${}, ${}, ${}, ${}, ${}, ${})",
                        b + 1,
                        b + 2,
                        b + 3,
                        b + 4,
                        b + 5,
                        b + 6
                    )
                })
                .collect();
            let sql = format!(
                "INSERT INTO op_outcomes (device_id, device_seq, op, outcome, high_water, applied_at) VALUES {}",
                values.join(", ")
            );
            let numbers: Vec<(i64, i64)> = chunk
                .iter()
                .map(|o| (seq(o.device_seq), seq(o.high_water)))
                .collect();
            let mut args: Vec<&(dyn ToSql + Sync)> = Vec::with_capacity(chunk.len() * 6);
            for (o, (device_seq, high_water)) in chunk.iter().zip(&numbers) {
                args.push(&device);
                args.push(device_seq);
                args.push(&o.op_json);
                args.push(&o.outcome_json);
                args.push(high_water);
                args.push(&at);
            }
            self.exec(&sql, &args)?;
        }
        Ok(())
    }

    fn insert_blob(&self, sha256: &str, size: u64, at: Timestamp) -> Result<()> {
        self.exec(
            "INSERT INTO blobs (sha256, size, stored_at) VALUES ($1, $2, $3) ON CONFLICT (sha256) DO NOTHING",
            &[&sha256, &seq(size), &format_ts(&at)],
        )?;
        Ok(())
    }

    fn set_blob_uploader(&self, sha256: &str, device: DeviceId) -> Result<()> {
        self.exec(
            "UPDATE blobs SET uploaded_by = $2 WHERE sha256 = $1 AND uploaded_by IS NULL",
            &[&sha256, &device.to_string()],
        )?;
        Ok(())
    }

    fn delete_blob(&self, sha256: &str) -> Result<()> {
        self.exec("DELETE FROM blobs WHERE sha256 = $1", &[&sha256])?;
        Ok(())
    }

    /// `NOTIFY` is queued with the transaction and delivered to every listener on commit.
    fn announce(&self, notice: &str) -> Result<()> {
        self.one("SELECT pg_notify($1, $2)", &[&CHANNEL, &notice])?;
        Ok(())
    }
}
