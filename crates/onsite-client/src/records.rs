//! Reading and writing replicated rows, and materialising ops into them.
//!
//! The local tables always show the server's rows with this device's pending ops applied on
//! top. A local write and a re-application after a pull go through the same
//! [`apply_op`], so the two can never disagree.

use onsite_model::checklist::AnswerValue;
use onsite_model::entities::{ChecklistAnswer, StatusEvent, WorkOrder};
use onsite_model::ids::WorkOrderId;
use onsite_model::ops::{Change, EntityKind, Op};
use onsite_model::wire::{ConflictRecord, RowKind, VisibleRow};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::db::CachedSql;
use crate::error::{Error, Result};

/// Stores one replicated row as the server (or an import) sent it. `None` removes it.
pub fn store_row(
    conn: &Connection,
    kind: RowKind,
    id: &str,
    row: Option<&Value>,
    version: u64,
) -> Result<()> {
    let Some(row) = row else {
        return remove_row(conn, kind, id);
    };
    let data = serde_json::to_string(row)?;
    match kind {
        RowKind::User | RowKind::Customer | RowKind::Asset | RowKind::WorkOrder => {
            let table = top_table(kind);
            conn.exec(
                &format!(
                    "INSERT INTO {table} (id, version, data) VALUES (?1, ?2, ?3)
                     ON CONFLICT (id) DO UPDATE SET version = excluded.version, data = excluded.data"
                ),
                params![id, version as i64, data],
            )?;
        }
        _ => {
            let wo = row
                .get("work_order_id")
                .and_then(Value::as_str)
                .ok_or_else(|| Error::Invalid(format!("{kind} {id} has no work_order_id")))?;
            conn.exec(
                "INSERT INTO job_record (kind, id, work_order_id, version, data) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (kind, id) DO UPDATE SET work_order_id = excluded.work_order_id,
                     version = excluded.version, data = excluded.data",
                params![kind.as_str(), id, wo, version as i64, data],
            )?;
        }
    }
    Ok(())
}

fn remove_row(conn: &Connection, kind: RowKind, id: &str) -> Result<()> {
    match kind {
        RowKind::WorkOrder => {
            // A job that leaves this device takes its records with it.
            conn.exec("DELETE FROM job_record WHERE work_order_id = ?1", [id])?;
            conn.exec("DELETE FROM work_order WHERE id = ?1", [id])?;
        }
        RowKind::User | RowKind::Customer | RowKind::Asset => {
            conn.exec(
                &format!("DELETE FROM {} WHERE id = ?1", top_table(kind)),
                [id],
            )?;
        }
        _ => {
            conn.exec(
                "DELETE FROM job_record WHERE kind = ?1 AND id = ?2",
                params![kind.as_str(), id],
            )?;
        }
    }
    Ok(())
}

fn top_table(kind: RowKind) -> &'static str {
    match kind {
        RowKind::User => "user_row",
        RowKind::Customer => "customer",
        RowKind::Asset => "asset",
        RowKind::WorkOrder => "work_order",
        _ => unreachable!("{kind} is a job record"),
    }
}

/// A top-level row and the server version it was last seen at.
pub fn load_top<T: DeserializeOwned>(
    conn: &Connection,
    kind: RowKind,
    id: &str,
) -> Result<Option<(T, u64)>> {
    let row: Option<(String, i64)> = conn
        .one(
            &format!(
                "SELECT data, version FROM {} WHERE id = ?1",
                top_table(kind)
            ),
            [id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    row.map(|(data, v)| Ok((serde_json::from_str(&data)?, v as u64)))
        .transpose()
}

pub fn load_work_order(conn: &Connection, id: WorkOrderId) -> Result<(WorkOrder, u64)> {
    load_top(conn, RowKind::WorkOrder, &id.to_string())?
        .ok_or_else(|| Error::UnknownJob(id.to_string()))
}

fn save_work_order(conn: &Connection, wo: &WorkOrder) -> Result<()> {
    conn.exec(
        "UPDATE work_order SET data = ?2 WHERE id = ?1",
        params![wo.id.to_string(), serde_json::to_string(wo)?],
    )?;
    Ok(())
}

/// One job record and its version.
pub fn load_record<T: DeserializeOwned>(
    conn: &Connection,
    kind: RowKind,
    id: &str,
) -> Result<Option<(T, u64)>> {
    let row: Option<(String, i64)> = conn
        .one(
            "SELECT data, version FROM job_record WHERE kind = ?1 AND id = ?2",
            params![kind.as_str(), id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    row.map(|(data, v)| Ok((serde_json::from_str(&data)?, v as u64)))
        .transpose()
}

/// All records of one kind for a job, in id order (UUIDv7: creation order).
pub fn job_records<T: DeserializeOwned>(
    conn: &Connection,
    wo: WorkOrderId,
    kind: RowKind,
) -> Result<Vec<T>> {
    let mut stmt = conn.prepare_cached(
        "SELECT data FROM job_record WHERE work_order_id = ?1 AND kind = ?2 ORDER BY id",
    )?;
    let rows = stmt.query_map(params![wo.to_string(), kind.as_str()], |r| {
        r.get::<_, String>(0)
    })?;
    rows.map(|d| Ok(serde_json::from_str(&d?)?)).collect()
}

/// Adds a new job record written on this device (keeps an existing one: re-applying an
/// insert after a pull must not clobber the server's copy).
fn insert_local_record<T: Serialize>(
    conn: &Connection,
    kind: RowKind,
    id: &str,
    wo: WorkOrderId,
    row: &T,
) -> Result<()> {
    conn.exec(
        "INSERT INTO job_record (kind, id, work_order_id, version, data) VALUES (?1, ?2, ?3, 0, ?4)
         ON CONFLICT (kind, id) DO NOTHING",
        params![
            kind.as_str(),
            id,
            wo.to_string(),
            serde_json::to_string(row)?
        ],
    )?;
    Ok(())
}

fn put_local_record<T: Serialize>(
    conn: &Connection,
    kind: RowKind,
    id: &str,
    wo: WorkOrderId,
    row: &T,
) -> Result<()> {
    conn.exec(
        "INSERT INTO job_record (kind, id, work_order_id, version, data) VALUES (?1, ?2, ?3, 0, ?4)
         ON CONFLICT (kind, id) DO UPDATE SET data = excluded.data",
        params![
            kind.as_str(),
            id,
            wo.to_string(),
            serde_json::to_string(row)?
        ],
    )?;
    Ok(())
}

/// Materialises one op into the local rows. The same function serves a fresh local write
/// and the re-application of pending ops on top of pulled rows.
pub fn apply_op(conn: &Connection, op: &Op) -> Result<()> {
    let wo_id = op.work_order_id;
    match (&op.change, op.entity) {
        (Change::Set { field, new, .. }, EntityKind::WorkOrder) => {
            let (wo, _) = load_work_order(conn, wo_id)?;
            let mut value = serde_json::to_value(&wo)?;
            value[field.as_str()] = new.clone();
            let updated: WorkOrder = serde_json::from_value(value)
                .map_err(|e| Error::Invalid(format!("value for {field} does not fit: {e}")))?;
            save_work_order(conn, &updated)?;
        }
        (Change::Set { new, .. }, EntityKind::ChecklistAnswer) => {
            let item_key = op
                .entity_id
                .split_once('/')
                .map(|(_, k)| k.to_owned())
                .ok_or_else(|| {
                    Error::Invalid(format!("bad checklist answer id {}", op.entity_id))
                })?;
            let value: AnswerValue = serde_json::from_value(new.clone())?;
            let answer = ChecklistAnswer {
                id: op.entity_id.clone(),
                work_order_id: wo_id,
                item_key,
                value,
                answered_at: op.recorded_at,
            };
            put_local_record(
                conn,
                RowKind::ChecklistAnswer,
                &op.entity_id,
                wo_id,
                &answer,
            )?;
        }
        (Change::Set { field, .. }, entity) => {
            return Err(Error::Invalid(format!(
                "{entity} has no field {field} to set"
            )));
        }
        (Change::Insert { row }, entity) => {
            insert_local_record(conn, RowKind::of_entity(entity), &op.entity_id, wo_id, row)?;
        }
        (Change::Delete { .. }, entity) => {
            remove_row(conn, RowKind::of_entity(entity), &op.entity_id)?;
        }
        (
            Change::Transition {
                event_id,
                action,
                from,
                at,
                reason,
                clock_correction_ms,
                ..
            },
            _,
        ) => {
            let (mut wo, _) = load_work_order(conn, wo_id)?;
            let from_now = wo.status;
            let to = wo.apply_transition(*action, *at)?;
            save_work_order(conn, &wo)?;
            let event = StatusEvent {
                id: *event_id,
                work_order_id: wo_id,
                action: *action,
                from: if from_now == *from { *from } else { from_now },
                to,
                at: *at,
                reason: reason.clone(),
                clock_correction_ms: *clock_correction_ms,
            };
            insert_local_record(
                conn,
                RowKind::StatusEvent,
                &event_id.to_string(),
                wo_id,
                &event,
            )?;
        }
        (Change::ResolveConflict { conflict_id, keep }, _) => {
            let id = conflict_id.to_string();
            if let Some((mut c, _)) = load_record::<ConflictRecord>(conn, RowKind::Conflict, &id)? {
                c.resolved_at = Some(op.recorded_at);
                c.resolution = Some(keep.clone());
                put_local_record(conn, RowKind::Conflict, &id, wo_id, &c)?;
            }
        }
    }
    Ok(())
}

/// Every row this replica holds, as the server would list them for this device.
pub fn visible_rows(conn: &Connection) -> Result<Vec<VisibleRow>> {
    let mut out = Vec::new();
    for kind in [
        RowKind::User,
        RowKind::Customer,
        RowKind::Asset,
        RowKind::WorkOrder,
    ] {
        let mut stmt = conn.prepare(&format!("SELECT id, data FROM {}", top_table(kind)))?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
        for row in rows {
            let (id, data) = row?;
            out.push(VisibleRow {
                kind,
                id,
                row: serde_json::from_str(&data)?,
            });
        }
    }
    let mut stmt = conn.prepare("SELECT kind, id, data FROM job_record")?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
        ))
    })?;
    for row in rows {
        let (kind, id, data) = row?;
        let kind = kind
            .parse::<RowKind>()
            .map_err(|e| Error::Invalid(e.to_string()))?;
        out.push(VisibleRow {
            kind,
            id,
            row: serde_json::from_str(&data)?,
        });
    }
    Ok(out)
}

/// What a job has recorded that its completion depends on.
pub struct JobEvidence {
    pub answers: Vec<onsite_model::entities::ChecklistAnswer>,
    pub photos: Vec<onsite_model::entities::Photo>,
    pub signatures: Vec<onsite_model::entities::Signature>,
}

impl JobEvidence {
    pub fn load(conn: &Connection, wo: WorkOrderId) -> Result<JobEvidence> {
        Ok(JobEvidence {
            answers: job_records(conn, wo, RowKind::ChecklistAnswer)?,
            photos: job_records(conn, wo, RowKind::Photo)?,
            signatures: job_records(conn, wo, RowKind::Signature)?,
        })
    }

    /// The completion guard of `job_type`'s template over this evidence.
    pub fn check(
        &self,
        job_type: onsite_model::entities::JobType,
    ) -> std::result::Result<(), onsite_model::checklist::CompletionBlocked> {
        let evidence = onsite_model::checklist::CompletionEvidence {
            answers: self
                .answers
                .iter()
                .map(|a| (a.item_key.as_str(), &a.value))
                .collect(),
            photo_kinds: self.photos.iter().map(|p| p.kind).collect(),
            signed: !self.signatures.is_empty(),
        };
        onsite_model::checklist::template_for(job_type).check_completion(&evidence)
    }

    /// The blobs a completion relies on: photos and signature images, sorted, once each.
    pub fn blob_hashes(&self) -> Vec<String> {
        let mut hashes: Vec<String> = self.photos.iter().map(|p| p.sha256.clone()).collect();
        hashes.extend(self.signatures.iter().filter_map(|s| s.png_sha256.clone()));
        hashes.sort();
        hashes.dedup();
        hashes
    }
}
