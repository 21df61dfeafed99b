//! The device's replica and the domain verbs a technician uses.
//!
//! Every verb validates against the domain rules first, then, in ONE SQLite transaction,
//! materialises its ops into the local rows and appends them to the change log. Either both
//! are stored or neither is.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use onsite_model::checklist::{AnswerValue, template_for};
use onsite_model::clock::{Clock, IdSource, SystemClock, SystemIds, corrected_time};
use onsite_model::entities::{
    Feedback, Note, PartUsed, Photo, StatusEvent, TimeEntry, TimeKind, WorkOrder,
};
use onsite_model::hlc::{Hlc, HlcClock};
use onsite_model::ids::*;
use onsite_model::ops::{Change, EntityKind, Op, SCHEMA_VERSION, checklist_answer_id};
use onsite_model::status::{StatusAction, WorkOrderStatus, next_status};
use onsite_model::time::Timestamp;
use onsite_model::wire::RowKind;
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use serde::Serialize;
use serde_json::Value;

use crate::db;
use crate::db::CachedSql;
use crate::error::{Error, Result};
use crate::records::{JobEvidence, apply_op, job_records, load_record, load_work_order};

/// Where in the write path a fault can be injected, to prove a write and its ops are atomic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultPoint {
    /// The data change is materialised, the ops are not yet in the log.
    AfterData,
    /// Data and ops are written, the transaction is not yet committed.
    BeforeCommit,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The write fails with [`Error::InjectedFault`].
    Fail(FaultPoint),
    /// The write sleeps, so a test can kill the process mid-transaction.
    Stall(FaultPoint, std::time::Duration),
}

impl Fault {
    /// Reads `ONSITE_FAULT` (`after-data:fail`, `before-commit:stall:5000`); used by
    /// whole-system tests that kill the CLI mid-write.
    pub fn from_env() -> Option<Fault> {
        let spec = std::env::var("ONSITE_FAULT").ok()?;
        let mut parts = spec.split(':');
        let point = match parts.next()? {
            "after-data" => FaultPoint::AfterData,
            "before-commit" => FaultPoint::BeforeCommit,
            _ => return None,
        };
        match (parts.next()?, parts.next()) {
            ("fail", None) => Some(Fault::Fail(point)),
            ("stall", Some(ms)) => Some(Fault::Stall(
                point,
                std::time::Duration::from_millis(ms.parse().ok()?),
            )),
            _ => None,
        }
    }
}

pub struct ReplicaOptions {
    pub clock: Arc<dyn Clock>,
    pub ids: Arc<dyn IdSource>,
    /// Schema migrations to apply at most (tests build older replicas with it).
    pub schema_upto: Option<u32>,
}

impl Default for ReplicaOptions {
    fn default() -> Self {
        Self {
            clock: Arc::new(SystemClock),
            ids: Arc::new(SystemIds),
            schema_upto: None,
        }
    }
}

pub struct Replica {
    pub(crate) conn: Connection,
    dir: PathBuf,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) ids: Arc<dyn IdSource>,
    device_id: DeviceId,
    fault: Option<Fault>,
}

pub const DB_FILE: &str = "replica.db";

impl Replica {
    /// Opens the replica in `dir`, creating the folder, the database and this device's
    /// identity on first use.
    pub fn open(dir: &Path, opts: ReplicaOptions) -> Result<Replica> {
        std::fs::create_dir_all(dir).map_err(|e| Error::File {
            path: dir.to_owned(),
            source: e,
        })?;
        let path = dir.join(DB_FILE);
        let mut conn = db::open(&path, opts.schema_upto)?;
        let device_id = {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let existing = meta(&tx, "device_id")?;
            let id = match existing {
                Some(id) => id.parse().map_err(|_| Error::Corrupt {
                    path: path.clone(),
                    detail: "bad device id".into(),
                })?,
                None => {
                    let id = DeviceId::new(opts.ids.as_ref());
                    set_meta(&tx, "device_id", &id.to_string())?;
                    set_meta(
                        &tx,
                        "created_at",
                        &onsite_model::time::format_ts(&opts.clock.now()),
                    )?;
                    id
                }
            };
            tx.commit()?;
            id
        };
        Ok(Replica {
            conn,
            dir: dir.to_owned(),
            clock: opts.clock,
            ids: opts.ids,
            device_id,
            fault: None,
        })
    }

    pub fn device_id(&self) -> DeviceId {
        self.device_id
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    pub fn inject_fault(&mut self, fault: Option<Fault>) {
        self.fault = fault;
    }

    /// Runs `build` in one immediate transaction; the ops it records are materialised as
    /// they are added and appended to the change log before commit.
    pub(crate) fn write<T>(
        &mut self,
        build: impl FnOnce(&mut Writer<'_>) -> Result<T>,
    ) -> Result<T> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let (now, clock_correction_ms) = corrected_time(self.clock.now(), measured_skew(&tx)?);
        let last_seq: u64 = meta(&tx, "last_device_seq")?
            .map(|s| s.parse().unwrap_or(0))
            .unwrap_or(0);
        let hlc = HlcClock::resume(
            meta(&tx, "hlc")?
                .and_then(|s| s.parse::<Hlc>().ok())
                .unwrap_or_default(),
        );
        let mut w = Writer {
            tx: &tx,
            device_id: self.device_id,
            tx_id: TxId::new(self.ids.as_ref()),
            now,
            clock_correction_ms,
            ids: self.ids.as_ref(),
            hlc,
            next_seq: last_seq + 1,
            ops: Vec::new(),
        };
        let out = build(&mut w)?;
        let Writer {
            ops, hlc, next_seq, ..
        } = w;
        inject(self.fault, FaultPoint::AfterData)?;
        for op in &ops {
            tx.exec(
                "INSERT INTO oplog (device_seq, tx_id, work_order_id, op) VALUES (?1, ?2, ?3, ?4)",
                params![
                    op.device_seq as i64,
                    op.tx_id.to_string(),
                    op.work_order_id.to_string(),
                    serde_json::to_string(op)?
                ],
            )?;
        }
        set_meta(&tx, "last_device_seq", &(next_seq - 1).to_string())?;
        set_meta(&tx, "hlc", &hlc.last().to_string())?;
        inject(self.fault, FaultPoint::BeforeCommit)?;
        tx.commit()?;
        Ok(out)
    }

    // ---- the technician's verbs -------------------------------------------------------

    pub fn start_travel(&mut self, job: WorkOrderId) -> Result<StatusEvent> {
        self.transition(job, StatusAction::StartTravel, None)
    }

    pub fn arrive(&mut self, job: WorkOrderId) -> Result<StatusEvent> {
        self.transition(job, StatusAction::Arrive, None)
    }

    pub fn start_work(&mut self, job: WorkOrderId) -> Result<StatusEvent> {
        self.transition(job, StatusAction::StartWork, None)
    }

    pub fn hold(&mut self, job: WorkOrderId, reason: &str) -> Result<StatusEvent> {
        if reason.trim().is_empty() {
            return Err(Error::Invalid(
                "say why the job is on hold (e.g. waiting for a part)".into(),
            ));
        }
        self.transition(job, StatusAction::Hold, Some(reason.trim().to_owned()))
    }

    pub fn resume(&mut self, job: WorkOrderId) -> Result<StatusEvent> {
        self.transition(job, StatusAction::Resume, None)
    }

    /// Completes the job if every required checklist item, the signature and the photos the
    /// template asks for are there; otherwise nothing changes and the error names each
    /// missing thing.
    pub fn complete(&mut self, job: WorkOrderId) -> Result<StatusEvent> {
        self.transition(job, StatusAction::Complete, None)
    }

    fn transition(
        &mut self,
        job: WorkOrderId,
        action: StatusAction,
        reason: Option<String>,
    ) -> Result<StatusEvent> {
        self.write(|w| {
            let (wo, version) = load_work_order(w.tx, job)?;
            let to = next_status(wo.status, action, wo.assignee_id.is_some())?;
            let mut evidence = Vec::new();
            if action == StatusAction::Complete {
                evidence = check_completion(w.tx, &wo)?;
            }
            // Time on the job is recorded from the visit's own steps.
            match action {
                StatusAction::Arrive if wo.status == WorkOrderStatus::EnRoute => {
                    if let Some(since) = last_event_at(w.tx, job, &[StatusAction::StartTravel])? {
                        w.add_time_entry(job, TimeKind::Travel, since)?;
                    }
                }
                StatusAction::Hold | StatusAction::Complete
                    if wo.status == WorkOrderStatus::InProgress =>
                {
                    if let Some(since) =
                        last_event_at(w.tx, job, &[StatusAction::StartWork, StatusAction::Resume])?
                    {
                        w.add_time_entry(job, TimeKind::Work, since)?;
                    }
                }
                _ => {}
            }
            let event_id = StatusEventId::new(w.ids);
            let at = w.now;
            w.record(
                EntityKind::WorkOrder,
                job.to_string(),
                job,
                Change::Transition {
                    event_id,
                    action,
                    from: wo.status,
                    to,
                    at,
                    reason: reason.clone(),
                    evidence,
                    clock_correction_ms: w.clock_correction_ms,
                },
                Some(version),
            )?;
            Ok(StatusEvent {
                id: event_id,
                work_order_id: job,
                action,
                from: wo.status,
                to,
                at,
                reason,
                clock_correction_ms: w.clock_correction_ms,
            })
        })
    }

    /// Answers (or re-answers) one checklist item.
    pub fn answer(&mut self, job: WorkOrderId, item_key: &str, value: AnswerValue) -> Result<()> {
        self.write(|w| {
            let (wo, _) = open_job(w.tx, job)?;
            template_for(wo.job_type)
                .validate_answer(item_key, &value)
                .map_err(Error::Invalid)?;
            if let AnswerValue::Photo(photo) = &value
                && load_record::<Photo>(w.tx, RowKind::Photo, &photo.to_string())?.is_none()
            {
                return Err(Error::Invalid(format!(
                    "photo {photo} is not on job {}",
                    wo.number
                )));
            }
            let id = checklist_answer_id(job, item_key);
            let current = load_record::<onsite_model::entities::ChecklistAnswer>(
                w.tx,
                RowKind::ChecklistAnswer,
                &id,
            )?;
            let (old, base) = match current {
                Some((a, v)) => (serde_json::to_value(&a.value)?, (v > 0).then_some(v)),
                None => (Value::Null, None),
            };
            let new = serde_json::to_value(&value)?;
            if old == new {
                return Ok(());
            }
            w.record(
                EntityKind::ChecklistAnswer,
                id,
                job,
                Change::Set {
                    field: "value".into(),
                    old,
                    new,
                },
                base,
            )
        })
    }

    pub fn set_diagnosis(&mut self, job: WorkOrderId, text: &str) -> Result<()> {
        self.set_text_field(job, "diagnosis", text)
    }

    pub fn set_work_done(&mut self, job: WorkOrderId, text: &str) -> Result<()> {
        self.set_text_field(job, "work_done", text)
    }

    pub fn set_result(&mut self, job: WorkOrderId, text: &str) -> Result<()> {
        self.set_text_field(job, "result", text)
    }

    pub fn set_follow_up_needed(&mut self, job: WorkOrderId, needed: bool) -> Result<()> {
        self.set_field(job, "follow_up_needed", Value::Bool(needed))
    }

    fn set_text_field(&mut self, job: WorkOrderId, field: &str, text: &str) -> Result<()> {
        let text = text.trim();
        self.set_field(
            job,
            field,
            if text.is_empty() {
                Value::Null
            } else {
                Value::String(text.to_owned())
            },
        )
    }

    pub(crate) fn set_field(&mut self, job: WorkOrderId, field: &str, new: Value) -> Result<()> {
        self.write(|w| {
            let (wo, version) = open_job(w.tx, job)?;
            let mut next = serde_json::to_value(&wo)?;
            let old = next[field].clone();
            if old == new {
                return Ok(());
            }
            // The model's rule for the field, the one the server runs on the pushed op.
            next[field] = new.clone();
            serde_json::from_value::<WorkOrder>(next)?
                .validate_field(field)
                .map_err(Error::Invalid)?;
            w.record(
                EntityKind::WorkOrder,
                job.to_string(),
                job,
                Change::Set {
                    field: field.into(),
                    old,
                    new,
                },
                Some(version),
            )
        })
    }

    pub fn add_note(&mut self, job: WorkOrderId, body: &str) -> Result<Note> {
        self.write(|w| {
            let note = Note {
                id: NoteId::new(w.ids),
                work_order_id: job,
                body: body.trim().to_owned(),
                author_id: None,
                created_at: w.now,
            };
            note.validate().map_err(Error::Invalid)?;
            // Notes may be added to a closed job too: they are the job's timeline.
            let _ = load_work_order(w.tx, job)?;
            w.insert(EntityKind::Note, note.id.to_string(), job, &note)?;
            Ok(note)
        })
    }

    pub fn add_part(
        &mut self,
        job: WorkOrderId,
        part_no: &str,
        description: &str,
        quantity: f64,
    ) -> Result<PartUsed> {
        self.write(|w| {
            open_job(w.tx, job)?;
            let part = PartUsed {
                id: PartUsedId::new(w.ids),
                work_order_id: job,
                part_no: part_no.trim().to_owned(),
                description: description.trim().to_owned(),
                quantity,
                created_at: w.now,
            };
            part.validate().map_err(Error::Invalid)?;
            w.insert(EntityKind::PartUsed, part.id.to_string(), job, &part)?;
            Ok(part)
        })
    }

    /// Removes a part recorded by mistake (a tombstone that syncs).
    pub fn remove_part(&mut self, job: WorkOrderId, part: PartUsedId) -> Result<()> {
        self.write(|w| {
            open_job(w.tx, job)?;
            let id = part.to_string();
            let (old, version) = load_record::<PartUsed>(w.tx, RowKind::PartUsed, &id)?
                .filter(|(p, _)| p.work_order_id == job)
                .ok_or_else(|| Error::Invalid(format!("no part {id} on this job")))?;
            w.record(
                EntityKind::PartUsed,
                id,
                job,
                Change::Delete {
                    old: serde_json::to_value(&old)?,
                },
                (version > 0).then_some(version),
            )
        })
    }

    pub fn add_feedback(
        &mut self,
        job: WorkOrderId,
        rating: u8,
        nps: Option<u8>,
        comment: Option<&str>,
    ) -> Result<Feedback> {
        self.write(|w| {
            let _ = load_work_order(w.tx, job)?;
            let feedback = Feedback {
                id: FeedbackId::new(w.ids),
                work_order_id: job,
                rating,
                nps,
                comment: comment
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                    .map(str::to_owned),
                created_at: w.now,
            };
            feedback.validate().map_err(Error::Invalid)?;
            w.insert(
                EntityKind::Feedback,
                feedback.id.to_string(),
                job,
                &feedback,
            )?;
            Ok(feedback)
        })
    }

    // ---- lookups ---------------------------------------------------------------------

    /// Finds a job by id, by number (`WO-2026-000123`), or by the number's unique tail
    /// (`123`).
    pub fn resolve_job(&self, reference: &str) -> Result<WorkOrderId> {
        let reference = reference.trim();
        if let Ok(id) = reference.parse::<WorkOrderId>() {
            load_work_order(&self.conn, id)?;
            return Ok(id);
        }
        let exact: Option<String> = self
            .conn
            .one(
                "SELECT id FROM work_order WHERE number = ?1 COLLATE NOCASE",
                [reference],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(id) = exact {
            return id
                .parse()
                .map_err(|_| Error::UnknownJob(reference.to_owned()));
        }
        if !reference.is_empty() && reference.chars().all(|c| c.is_ascii_digit()) {
            let mut stmt = self.conn.prepare("SELECT id, number FROM work_order")?;
            let hits: Vec<String> = stmt
                .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?
                .filter_map(|r| r.ok())
                .filter(|(_, number)| {
                    number.rsplit('-').next().is_some_and(|tail| {
                        tail.trim_start_matches('0') == reference.trim_start_matches('0')
                    })
                })
                .map(|(id, _)| id)
                .collect();
            if let [id] = hits.as_slice() {
                return id
                    .parse()
                    .map_err(|_| Error::UnknownJob(reference.to_owned()));
            }
        }
        Err(Error::UnknownJob(reference.to_owned()))
    }

    /// This device's clock corrected by the skew it last measured against the server: the
    /// time every verb records and every SLA countdown reads.
    pub fn now(&self) -> Timestamp {
        let skew = measured_skew(&self.conn).unwrap_or(None);
        corrected_time(self.clock.now(), skew).0
    }
}

/// What `write` hands to a verb: the open transaction and the ops recorded so far.
pub(crate) struct Writer<'a> {
    pub tx: &'a Transaction<'a>,
    pub device_id: DeviceId,
    pub tx_id: TxId,
    /// The corrected time of this write (see [`Replica::now`]).
    pub now: Timestamp,
    /// The skew correction in `now`, recorded with the status steps it times.
    pub clock_correction_ms: Option<i64>,
    pub ids: &'a dyn IdSource,
    pub hlc: HlcClock,
    pub next_seq: u64,
    pub ops: Vec<Op>,
}

impl Writer<'_> {
    /// Adds an op: it gets the next `device_seq` and HLC and is materialised at once.
    pub fn record(
        &mut self,
        entity: EntityKind,
        entity_id: String,
        work_order_id: WorkOrderId,
        change: Change,
        base_version: Option<u64>,
    ) -> Result<()> {
        let op = Op {
            device_id: self.device_id,
            device_seq: self.next_seq,
            tx_id: self.tx_id,
            entity,
            entity_id,
            work_order_id,
            change,
            base_version,
            hlc: self.hlc.tick(self.now.timestamp_millis()),
            recorded_at: self.now,
            schema_version: SCHEMA_VERSION,
        };
        apply_op(self.tx, &op)?;
        self.next_seq += 1;
        self.ops.push(op);
        Ok(())
    }

    pub fn insert<T: Serialize>(
        &mut self,
        entity: EntityKind,
        id: String,
        job: WorkOrderId,
        row: &T,
    ) -> Result<()> {
        self.record(
            entity,
            id,
            job,
            Change::Insert {
                row: serde_json::to_value(row)?,
            },
            None,
        )
    }

    fn add_time_entry(&mut self, job: WorkOrderId, kind: TimeKind, since: Timestamp) -> Result<()> {
        let entry = TimeEntry {
            id: TimeEntryId::new(self.ids),
            work_order_id: job,
            kind,
            started_at: since,
            ended_at: self.now.max(since),
        };
        entry.validate().map_err(Error::Invalid)?;
        self.insert(EntityKind::TimeEntry, entry.id.to_string(), job, &entry)
    }
}

fn inject(fault: Option<Fault>, here: FaultPoint) -> Result<()> {
    match fault {
        Some(Fault::Fail(p)) if p == here => Err(Error::InjectedFault(match p {
            FaultPoint::AfterData => "after-data",
            FaultPoint::BeforeCommit => "before-commit",
        })),
        Some(Fault::Stall(p, d)) if p == here => {
            std::thread::sleep(d);
            Ok(())
        }
        _ => Ok(()),
    }
}

/// A job that may still be worked on.
pub(crate) fn open_job(conn: &Connection, job: WorkOrderId) -> Result<(WorkOrder, u64)> {
    let (wo, version) = load_work_order(conn, job)?;
    if wo.status.is_closed() {
        return Err(Error::JobClosed {
            number: wo.number,
            status: wo.status.to_string(),
        });
    }
    Ok((wo, version))
}

/// Runs the completion guard on what the replica holds; returns the evidence the
/// completion relies on (photo and signature image hashes).
fn check_completion(conn: &Connection, wo: &WorkOrder) -> Result<Vec<String>> {
    let evidence = JobEvidence::load(conn, wo.id)?;
    evidence.check(wo.job_type)?;
    Ok(evidence.blob_hashes())
}

fn last_event_at(
    conn: &Connection,
    job: WorkOrderId,
    actions: &[StatusAction],
) -> Result<Option<Timestamp>> {
    let events: Vec<StatusEvent> = job_records(conn, job, RowKind::StatusEvent)?;
    Ok(events
        .iter()
        .filter(|e| actions.contains(&e.action))
        .map(|e| e.at)
        .max())
}

pub(crate) fn meta(conn: &Connection, key: &str) -> Result<Option<String>> {
    Ok(conn
        .one(
            "SELECT value FROM replica_meta WHERE key = ?1",
            [key],
            |r| r.get(0),
        )
        .optional()?)
}

pub(crate) fn set_meta(conn: &Connection, key: &str, value: &str) -> Result<()> {
    conn.exec(
        "INSERT INTO replica_meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )?;
    Ok(())
}

/// The skew this device last measured against the server (server minus device, ms).
pub(crate) fn measured_skew(conn: &Connection) -> Result<Option<i64>> {
    Ok(conn
        .one(
            "SELECT server_skew_ms FROM sync_state WHERE id = 1",
            [],
            |r| r.get::<_, Option<i64>>(0),
        )
        .optional()?
        .flatten())
}
