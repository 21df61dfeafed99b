//! The embedded SQLite backend: `<data>/onsite.db`, WAL, foreign keys on.
//!
//! One write connection behind a mutex is the serialized apply path: each change takes the
//! next `server_seq` from the `counters` row inside the same transaction. Reads use their
//! own connections, each inside a transaction so a pull sees one consistent state.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use onsite_model::checklist::CompletionEvidence;
use onsite_model::merge::{
    FieldDecision, FieldStamp, TransitionDecision, decide_field, decide_transition,
};
use onsite_model::ops::field_owner;
use onsite_model::status::next_status;
use onsite_model::time::{Timestamp, format_ts, parse_ts};
use onsite_model::wire::{
    ConflictRecord, LoginRequest, LoginResponse, MAX_PULL_LIMIT, MAX_PUSH_OPS, OpOutcome, OpResult,
    PROTOCOL_VERSION, PullResponse, PushRequest, PushResponse, RowChange, RowKind, VisibleRow,
    is_sha256_hex, page_checksum, state_checksum,
};
use onsite_model::{
    AnswerValue, Asset, AssetId, Change, ChecklistAnswer, Clock, ConflictId, Customer, CustomerId,
    DeviceId, EntityKind, Feedback, FieldOwner, Hlc, HlcClock, IdSource, Note, Op, PartUsed, Photo,
    Role, SCHEMA_VERSION, SlaPolicy, SlaState, StatusAction, StatusEvent, StatusEventId, TimeEntry,
    User, UserId, WorkOrder, WorkOrderId, WorkOrderStatus, template_for,
};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use super::{
    DeviceInfo, NewAsset, NewCustomer, NewUser, NewWorkOrder, Principal, Snapshot, Store,
    WorkOrderDetail, WorkOrderFilter,
};
use crate::auth;
use crate::error::{Error, Result};

const MIGRATIONS: &[(&str, &str)] = &[
    (
        "0001_initial",
        include_str!("../../migrations/sqlite/0001_initial.sql"),
    ),
    (
        "0002_blobs",
        include_str!("../../migrations/sqlite/0002_blobs.sql"),
    ),
];

/// The documented rule for concurrent edits of one field.
pub const FIELD_RULE: &str = "later HLC wins, ties by device id";
const TRANSITION_RULE: &str =
    "status is checked against the server's current state; a step it refuses is kept for review";
const DELETE_RULE: &str = "a delete racing an edit keeps the row";
const DEFAULT_PULL_LIMIT: u32 = 500;
/// Most blobs one status step may list as its evidence.
const MAX_EVIDENCE: usize = 500;
/// Entities a device creates with their own ids.
const ROW_ENTITIES: &[EntityKind] = &[
    EntityKind::PartUsed,
    EntityKind::TimeEntry,
    EntityKind::Note,
    EntityKind::Photo,
    EntityKind::Signature,
    EntityKind::Feedback,
];

/// How expensive password hashes are. `Fast` is for tests only.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PasswordCost {
    #[default]
    Standard,
    Fast,
}

#[derive(Clone, Copy, Debug, Default)]
pub struct StoreOptions {
    pub password_cost: PasswordCost,
}

pub struct SqliteStore {
    path: PathBuf,
    writer: Mutex<Writer>,
    readers: Mutex<Vec<Connection>>,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdSource>,
    options: StoreOptions,
    epoch: String,
}

struct Writer {
    conn: Connection,
    hlc: HlcClock,
}

/// What one write transaction can use.
struct Ctx<'a> {
    c: &'a Connection,
    now: Timestamp,
    ids: &'a dyn IdSource,
    hlc: &'a mut HlcClock,
}

impl Ctx<'_> {
    /// A stamp for a write made in the office.
    fn office_hlc(&mut self) -> Hlc {
        self.hlc.tick(self.now.timestamp_millis())
    }
}

fn open_conn(path: &Path) -> Result<Connection> {
    let c = Connection::open(path)?;
    c.busy_timeout(Duration::from_secs(10))?;
    c.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))?;
    c.pragma_update(None, "foreign_keys", true)?;
    c.pragma_update(None, "synchronous", "NORMAL")?;
    Ok(c)
}

fn migrate(c: &mut Connection) -> Result<()> {
    let version: i64 = c.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    for (i, (name, sql)) in MIGRATIONS.iter().enumerate() {
        let n = i as i64 + 1;
        if n <= version {
            continue;
        }
        let tx = c.transaction()?;
        tx.execute_batch(sql)
            .map_err(|e| Error::Internal(format!("migration {name}: {e}")))?;
        tx.pragma_update(None, "user_version", n)?;
        tx.commit()?;
        tracing::info!(migration = name, "applied migration");
    }
    let tx = c.transaction()?;
    for name in ["server_seq", "wo_number", "server_hlc"] {
        tx.execute(
            "INSERT OR IGNORE INTO counters (name, value) VALUES (?1, 0)",
            [name],
        )?;
    }
    tx.execute(
        "INSERT OR IGNORE INTO meta (key, value) VALUES ('epoch', ?1)",
        [auth::new_epoch()],
    )?;
    tx.commit()?;
    Ok(())
}

impl SqliteStore {
    /// Opens (creating when needed) the database in `data_dir`.
    pub fn open(
        data_dir: &Path,
        clock: Arc<dyn Clock>,
        ids: Arc<dyn IdSource>,
        options: StoreOptions,
    ) -> Result<Self> {
        std::fs::create_dir_all(data_dir)?;
        let path = data_dir.join("onsite.db");
        let mut conn = open_conn(&path)?;
        migrate(&mut conn)?;
        let epoch: String =
            conn.query_row("SELECT value FROM meta WHERE key = 'epoch'", [], |r| {
                r.get(0)
            })?;
        let hlc = Hlc::from_u64(counter(&conn, "server_hlc")?);
        Ok(Self {
            path,
            writer: Mutex::new(Writer {
                conn,
                hlc: HlcClock::resume(hlc),
            }),
            readers: Mutex::new(Vec::new()),
            clock,
            ids,
            options,
            epoch,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn lock_writer(&self) -> MutexGuard<'_, Writer> {
        // A panic inside a write rolled its transaction back; the connection is still usable.
        self.writer.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn write<T>(&self, f: impl FnOnce(&mut Ctx<'_>) -> Result<T>) -> Result<T> {
        let mut w = self.lock_writer();
        let Writer { conn, hlc } = &mut *w;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut ctx = Ctx {
            c: &tx,
            now: self.clock.now(),
            ids: self.ids.as_ref(),
            hlc,
        };
        let out = f(&mut ctx)?;
        let last = ctx.hlc.last();
        tx.execute(
            "UPDATE counters SET value = ?1 WHERE name = 'server_hlc'",
            [last.as_u64() as i64],
        )?;
        tx.commit()?;
        Ok(out)
    }

    fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let pooled = self.readers.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let mut conn = match pooled {
            Some(c) => c,
            None => open_conn(&self.path)?,
        };
        let out = {
            let tx = conn.transaction()?;
            let out = f(&tx);
            tx.finish()?;
            out
        };
        self.readers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(conn);
        out
    }

    fn fast_passwords(&self) -> bool {
        self.options.password_cost == PasswordCost::Fast
    }
}

// ---------------------------------------------------------------------------------------
// Row helpers

fn counter(c: &Connection, name: &str) -> Result<u64> {
    Ok(
        c.query_row("SELECT value FROM counters WHERE name = ?1", [name], |r| {
            r.get::<_, i64>(0)
        })? as u64,
    )
}

/// The next global sequence number: every row change gets its own.
fn next_seq(c: &Connection) -> Result<u64> {
    Ok(c.query_row(
        "UPDATE counters SET value = value + 1 WHERE name = 'server_seq' RETURNING value",
        [],
        |r| r.get::<_, i64>(0),
    )? as u64)
}

fn to_json<T: Serialize>(v: &T) -> Result<String> {
    Ok(serde_json::to_string(v)?)
}

fn from_json<T: DeserializeOwned>(s: &str) -> Result<T> {
    Ok(serde_json::from_str(s)?)
}

fn load_wo(c: &Connection, id: WorkOrderId) -> Result<Option<(WorkOrder, u64)>> {
    let row: Option<(String, i64)> = c
        .query_row(
            "SELECT data, server_seq FROM work_orders WHERE id = ?1",
            [id.to_string()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    row.map(|(d, s)| Ok((from_json(&d)?, s as u64))).transpose()
}

fn require_wo(c: &Connection, id: WorkOrderId) -> Result<WorkOrder> {
    load_wo(c, id)?
        .map(|(wo, _)| wo)
        .ok_or_else(|| Error::not_found("unknown_work_order", format!("no work order {id}")))
}

/// Inserts or updates a work order with a fresh `server_seq`.
fn write_wo(c: &Connection, wo: &WorkOrder) -> Result<u64> {
    let seq = next_seq(c)?;
    c.execute(
        "INSERT INTO work_orders (id, number, customer_id, asset_id, assignee_id, status, needs_review,
                                  appointment_start, data, server_seq)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
         ON CONFLICT (id) DO UPDATE SET number = excluded.number, customer_id = excluded.customer_id,
             asset_id = excluded.asset_id, assignee_id = excluded.assignee_id, status = excluded.status,
             needs_review = excluded.needs_review, appointment_start = excluded.appointment_start,
             data = excluded.data, server_seq = excluded.server_seq",
        params![
            wo.id.to_string(),
            wo.number,
            wo.customer_id.to_string(),
            wo.asset_id.map(|a| a.to_string()),
            wo.assignee_id.map(|a| a.to_string()),
            wo.status.as_str(),
            wo.needs_review,
            wo.appointment_start.as_ref().map(format_ts),
            to_json(wo)?,
            seq as i64
        ],
    )?;
    c.execute(
        "DELETE FROM awaiting_evidence WHERE work_order_id = ?1",
        [wo.id.to_string()],
    )?;
    for sha in &wo.awaiting_evidence {
        c.execute(
            "INSERT OR IGNORE INTO awaiting_evidence (work_order_id, sha256) VALUES (?1, ?2)",
            params![wo.id.to_string(), sha],
        )?;
    }
    Ok(seq)
}

/// The hashes of `evidence` the server does not hold yet, sorted and without repeats.
fn missing_evidence(c: &Connection, evidence: &[String]) -> Result<Vec<String>> {
    let mut missing = Vec::new();
    for sha in evidence {
        let held: bool = c.query_row(
            "SELECT EXISTS (SELECT 1 FROM blobs WHERE sha256 = ?1)",
            [sha],
            |r| r.get(0),
        )?;
        if !held {
            missing.push(sha.clone());
        }
    }
    missing.sort();
    missing.dedup();
    Ok(missing)
}

struct StoredRow {
    data: Value,
    deleted: bool,
    seq: u64,
}

fn load_row(c: &Connection, kind: &str, id: &str) -> Result<Option<StoredRow>> {
    let row: Option<(String, bool, i64)> = c
        .query_row(
            "SELECT data, deleted, server_seq FROM job_rows WHERE kind = ?1 AND id = ?2",
            [kind, id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
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

fn put_row(
    c: &Connection,
    kind: &str,
    id: &str,
    wo: WorkOrderId,
    data: &Value,
    deleted: bool,
) -> Result<u64> {
    let seq = next_seq(c)?;
    c.execute(
        "INSERT INTO job_rows (kind, id, work_order_id, data, deleted, server_seq) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (kind, id) DO UPDATE SET data = excluded.data, deleted = excluded.deleted,
             server_seq = excluded.server_seq",
        params![kind, id, wo.to_string(), serde_json::to_string(data)?, deleted, seq as i64],
    )?;
    Ok(seq)
}

fn rows_of<T: DeserializeOwned>(c: &Connection, wo: WorkOrderId, kind: &str) -> Result<Vec<T>> {
    let mut stmt = c.prepare(
        "SELECT data FROM job_rows WHERE work_order_id = ?1 AND kind = ?2 AND deleted = 0 ORDER BY server_seq",
    )?;
    let rows = stmt.query_map(params![wo.to_string(), kind], |r| r.get::<_, String>(0))?;
    rows.map(|d| from_json(&d?)).collect()
}

fn get_stamp(c: &Connection, entity: &str, id: &str, field: &str) -> Result<Option<FieldStamp>> {
    let row: Option<(i64, String, Option<String>)> = c
        .query_row(
            "SELECT version, hlc, device_id FROM field_stamps WHERE entity = ?1 AND entity_id = ?2 AND field = ?3",
            [entity, id, field],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    row.map(|(v, h, d)| {
        Ok(FieldStamp {
            version: v as u64,
            hlc: h
                .parse()
                .map_err(|e| Error::Internal(format!("stored hlc: {e}")))?,
            device_id: d
                .map(|d| d.parse())
                .transpose()
                .map_err(|e| Error::Internal(format!("stored device: {e}")))?,
        })
    })
    .transpose()
}

fn put_stamp(c: &Connection, entity: &str, id: &str, field: &str, s: &FieldStamp) -> Result<()> {
    c.execute(
        "INSERT INTO field_stamps (entity, entity_id, field, version, hlc, device_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (entity, entity_id, field) DO UPDATE SET version = excluded.version, hlc = excluded.hlc,
             device_id = excluded.device_id",
        params![entity, id, field, s.version as i64, s.hlc.to_string(), s.device_id.map(|d| d.to_string())],
    )?;
    Ok(())
}

fn insert_status_event(c: &Connection, ev: &StatusEvent) -> Result<()> {
    if load_row(c, "status_event", &ev.id.to_string())?.is_none() {
        put_row(
            c,
            "status_event",
            &ev.id.to_string(),
            ev.work_order_id,
            &serde_json::to_value(ev)?,
            false,
        )?;
    }
    Ok(())
}

/// A row of a JSON-document table by id.
fn load_doc<T: serde::de::DeserializeOwned>(
    c: &Connection,
    table: &str,
    id: impl std::fmt::Display,
) -> Result<Option<T>> {
    let d: Option<String> = c
        .query_row(
            &format!("SELECT data FROM {table} WHERE id = ?1"),
            [id.to_string()],
            |r| r.get(0),
        )
        .optional()?;
    d.map(|d| from_json(&d)).transpose()
}

fn load_user(c: &Connection, id: UserId) -> Result<Option<User>> {
    load_doc(c, "users", id)
}

fn load_customer(c: &Connection, id: CustomerId) -> Result<Option<Customer>> {
    load_doc(c, "customers", id)
}

fn load_asset(c: &Connection, id: AssetId) -> Result<Option<Asset>> {
    load_doc(c, "assets", id)
}

fn ever_assigned(c: &Connection, wo: WorkOrderId, user: UserId) -> Result<bool> {
    Ok(c.query_row(
        "SELECT EXISTS (SELECT 1 FROM assignment_history WHERE work_order_id = ?1 AND user_id = ?2)",
        [wo.to_string(), user.to_string()],
        |r| r.get(0),
    )?)
}

fn record_assignment(c: &Connection, wo: WorkOrderId, user: UserId, now: Timestamp) -> Result<()> {
    c.execute(
        "INSERT INTO assignment_history (work_order_id, user_id, assigned_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (work_order_id, user_id) DO NOTHING",
        params![wo.to_string(), user.to_string(), format_ts(&now)],
    )?;
    Ok(())
}

/// `wo` with one field replaced, checked by the struct's own deserialisation.
fn with_field(wo: &WorkOrder, field: &str, value: Value) -> Result<WorkOrder> {
    let mut v = serde_json::to_value(wo)?;
    v[field] = value;
    serde_json::from_value(v).map_err(|e| {
        Error::unprocessable(
            "invalid_value",
            format!("value for work order field {field} is not valid: {e}"),
        )
    })
}

// ---------------------------------------------------------------------------------------
// Visibility: what a user's devices see follows the job's assignee.

fn job_items(c: &Connection, wo: WorkOrderId) -> Result<Vec<(String, String)>> {
    let mut stmt =
        c.prepare("SELECT kind, id FROM job_rows WHERE work_order_id = ?1 AND deleted = 0 ORDER BY server_seq")?;
    let rows = stmt.query_map([wo.to_string()], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn emit_removal(c: &Connection, user: UserId, kind: &str, id: &str) -> Result<()> {
    let seq = next_seq(c)?;
    c.execute(
        "INSERT INTO removals (user_id, kind, id, server_seq) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (user_id, kind, id) DO UPDATE SET server_seq = excluded.server_seq",
        params![user.to_string(), kind, id, seq as i64],
    )?;
    Ok(())
}

fn clear_removal(c: &Connection, user: UserId, kind: &str, id: &str) -> Result<()> {
    c.execute(
        "DELETE FROM removals WHERE user_id = ?1 AND kind = ?2 AND id = ?3",
        params![user.to_string(), kind, id],
    )?;
    Ok(())
}

fn still_sees(
    c: &Connection,
    user: UserId,
    column: &str,
    value: &str,
    except: WorkOrderId,
) -> Result<bool> {
    let sql = format!(
        "SELECT EXISTS (SELECT 1 FROM work_orders WHERE assignee_id = ?1 AND {column} = ?2 AND id <> ?3)"
    );
    Ok(c.query_row(
        &sql,
        params![user.to_string(), value, except.to_string()],
        |r| r.get(0),
    )?)
}

/// The job (as it was) leaves `user`'s view: removals for its rows, the job, and the customer
/// and asset when no other job of theirs references them.
fn hide_job_from(c: &Connection, user: UserId, wo: &WorkOrder) -> Result<()> {
    for (kind, id) in job_items(c, wo.id)? {
        emit_removal(c, user, &kind, &id)?;
    }
    emit_removal(c, user, "work_order", &wo.id.to_string())?;
    hide_refs_from(c, user, wo.id, Some(wo.customer_id), wo.asset_id)
}

fn hide_refs_from(
    c: &Connection,
    user: UserId,
    except: WorkOrderId,
    customer: Option<CustomerId>,
    asset: Option<AssetId>,
) -> Result<()> {
    if let Some(cu) = customer
        && !still_sees(c, user, "customer_id", &cu.to_string(), except)?
    {
        emit_removal(c, user, "customer", &cu.to_string())?;
    }
    if let Some(a) = asset
        && !still_sees(c, user, "asset_id", &a.to_string(), except)?
    {
        emit_removal(c, user, "asset", &a.to_string())?;
    }
    Ok(())
}

fn bump(c: &Connection, table: &str, id: &str) -> Result<()> {
    let seq = next_seq(c)?;
    c.execute(
        &format!("UPDATE {table} SET server_seq = ?1 WHERE id = ?2"),
        params![seq as i64, id],
    )?;
    Ok(())
}

fn show_refs_to(
    c: &Connection,
    user: UserId,
    customer: Option<CustomerId>,
    asset: Option<AssetId>,
) -> Result<()> {
    if let Some(cu) = customer {
        clear_removal(c, user, "customer", &cu.to_string())?;
        bump(c, "customers", &cu.to_string())?;
    }
    if let Some(a) = asset {
        clear_removal(c, user, "asset", &a.to_string())?;
        bump(c, "assets", &a.to_string())?;
    }
    Ok(())
}

/// The job enters `user`'s view: its customer, asset, itself and its rows get fresh
/// `server_seq`s (in that order, so a replica sees referenced rows first). Writes `wo`.
fn show_job_to(c: &Connection, user: UserId, wo: &WorkOrder) -> Result<u64> {
    show_refs_to(c, user, Some(wo.customer_id), wo.asset_id)?;
    clear_removal(c, user, "work_order", &wo.id.to_string())?;
    let seq = write_wo(c, wo)?;
    for (kind, id) in job_items(c, wo.id)? {
        clear_removal(c, user, &kind, &id)?;
        let s = next_seq(c)?;
        c.execute(
            "UPDATE job_rows SET server_seq = ?1 WHERE kind = ?2 AND id = ?3",
            params![s as i64, kind, id],
        )?;
    }
    Ok(seq)
}

// ---------------------------------------------------------------------------------------
// The apply path

struct NewConflict<'a> {
    wo: WorkOrderId,
    entity: EntityKind,
    entity_id: &'a str,
    field: &'a str,
    kept: Value,
    lost: Value,
    rule: &'a str,
    detail: String,
}

fn insert_conflict(ctx: &Ctx<'_>, n: NewConflict<'_>) -> Result<(u64, ConflictId)> {
    let rec = ConflictRecord {
        id: ConflictId::new(ctx.ids),
        work_order_id: n.wo,
        entity: n.entity,
        entity_id: n.entity_id.to_owned(),
        field: n.field.to_owned(),
        kept: n.kept,
        lost: n.lost,
        rule: n.rule.to_owned(),
        detail: n.detail,
        created_at: ctx.now,
        resolved_at: None,
        resolution: None,
    };
    let seq = put_row(
        ctx.c,
        "conflict",
        &rec.id.to_string(),
        n.wo,
        &serde_json::to_value(&rec)?,
        false,
    )?;
    Ok((seq, rec.id))
}

/// Whether a conflict of this field flags its job for a person's review. Concurrent field
/// edits are settled by the rule; refused steps and delete-vs-edit races need a person.
fn needs_person(field: &str) -> bool {
    matches!(field, "status" | "row")
}

/// The field rule; a device's own earlier write is not concurrent with its later one (it
/// cannot know the version the server gave its pending write).
fn decide(
    c: &Connection,
    entity: &str,
    id: &str,
    field: &str,
    base: Option<u64>,
    incoming: &FieldStamp,
) -> Result<FieldDecision> {
    let current = get_stamp(c, entity, id, field)?;
    Ok(decide_field(current.as_ref(), base, incoming))
}

fn field_conflict_detail(field: &str, decision: FieldDecision) -> String {
    match decision {
        FieldDecision::ApplyOverConcurrent => {
            format!(
                "{field} was changed on two sides at once; the later change was applied and the earlier value is kept here"
            )
        }
        _ => format!(
            "{field} was changed on two sides at once; the later change stays and this earlier value is kept here"
        ),
    }
}

/// One write of a work-order field under the merge rule.
fn set_wo_field(
    ctx: &Ctx<'_>,
    wo: &mut WorkOrder,
    field: &str,
    new: &Value,
    base: Option<u64>,
    incoming: FieldStamp,
) -> Result<OpResult> {
    let id = wo.id.to_string();
    let decision = decide(ctx.c, "work_order", &id, field, base, &incoming)?;
    let old = serde_json::to_value(&*wo)?[field].clone();
    match decision {
        FieldDecision::Apply | FieldDecision::ApplyOverConcurrent => {
            *wo = with_field(wo, field, new.clone())?;
            let seq = write_wo(ctx.c, wo)?;
            put_stamp(
                ctx.c,
                "work_order",
                &id,
                field,
                &FieldStamp {
                    version: seq,
                    ..incoming
                },
            )?;
            if decision == FieldDecision::Apply {
                return Ok(OpResult::Applied { server_seq: seq });
            }
            let (seq, conflict_id) = insert_conflict(
                ctx,
                NewConflict {
                    wo: wo.id,
                    entity: EntityKind::WorkOrder,
                    entity_id: &id,
                    field,
                    kept: new.clone(),
                    lost: old,
                    rule: FIELD_RULE,
                    detail: field_conflict_detail(field, decision),
                },
            )?;
            Ok(OpResult::Conflict {
                server_seq: seq,
                conflict_id,
            })
        }
        FieldDecision::KeepCurrent => {
            let (seq, conflict_id) = insert_conflict(
                ctx,
                NewConflict {
                    wo: wo.id,
                    entity: EntityKind::WorkOrder,
                    entity_id: &id,
                    field,
                    kept: old,
                    lost: new.clone(),
                    rule: FIELD_RULE,
                    detail: field_conflict_detail(field, decision),
                },
            )?;
            Ok(OpResult::Conflict {
                server_seq: seq,
                conflict_id,
            })
        }
    }
}

fn answer_key(wo: WorkOrderId, entity_id: &str) -> Option<&str> {
    let (w, key) = entity_id.split_once('/')?;
    (w == wo.to_string() && !key.is_empty()).then_some(key)
}

/// One write of a checklist answer under the merge rule; the first answer creates the row.
fn set_answer(
    ctx: &Ctx<'_>,
    wo: WorkOrderId,
    entity_id: &str,
    new: &Value,
    base: Option<u64>,
    incoming: FieldStamp,
    at: Timestamp,
) -> Result<OpResult> {
    let key = answer_key(wo, entity_id).ok_or_else(|| {
        Error::unprocessable(
            "invalid_op",
            format!("checklist answer id {entity_id:?} is not \"{wo}/<item key>\""),
        )
    })?;
    let value: AnswerValue = serde_json::from_value(new.clone()).map_err(|e| {
        Error::unprocessable("invalid_value", format!("checklist answer {key}: {e}"))
    })?;
    let existing = load_row(ctx.c, "checklist_answer", entity_id)?;
    let (decision, old) = match &existing {
        None => (FieldDecision::Apply, Value::Null),
        Some(row) => (
            decide(
                ctx.c,
                "checklist_answer",
                entity_id,
                "value",
                base,
                &incoming,
            )?,
            row.data["value"].clone(),
        ),
    };
    let conflict = |kept: Value, lost: Value| {
        insert_conflict(
            ctx,
            NewConflict {
                wo,
                entity: EntityKind::ChecklistAnswer,
                entity_id,
                field: "value",
                kept,
                lost,
                rule: FIELD_RULE,
                detail: field_conflict_detail(&format!("checklist item {key}"), decision),
            },
        )
        .map(|(seq, conflict_id)| OpResult::Conflict {
            server_seq: seq,
            conflict_id,
        })
    };
    match decision {
        FieldDecision::Apply | FieldDecision::ApplyOverConcurrent => {
            let answer = ChecklistAnswer {
                id: entity_id.to_owned(),
                work_order_id: wo,
                item_key: key.to_owned(),
                value,
                answered_at: at,
            };
            let seq = put_row(
                ctx.c,
                "checklist_answer",
                entity_id,
                wo,
                &serde_json::to_value(&answer)?,
                false,
            )?;
            put_stamp(
                ctx.c,
                "checklist_answer",
                entity_id,
                "value",
                &FieldStamp {
                    version: seq,
                    ..incoming
                },
            )?;
            if decision == FieldDecision::Apply {
                Ok(OpResult::Applied { server_seq: seq })
            } else {
                conflict(new.clone(), old)
            }
        }
        FieldDecision::KeepCurrent => conflict(old, new.clone()),
    }
}

fn completion_check(c: &Connection, wo: &WorkOrder) -> Result<std::result::Result<(), String>> {
    let answers: Vec<ChecklistAnswer> = rows_of(c, wo.id, "checklist_answer")?;
    let photos: Vec<Photo> = rows_of(c, wo.id, "photo")?;
    let signatures: Vec<onsite_model::Signature> = rows_of(c, wo.id, "signature")?;
    let mut evidence = CompletionEvidence::default();
    for a in &answers {
        evidence.answers.insert(a.item_key.as_str(), &a.value);
    }
    evidence.photo_kinds = photos.iter().map(|p| p.kind).collect();
    evidence.signed = !signatures.is_empty();
    Ok(template_for(wo.job_type)
        .check_completion(&evidence)
        .map_err(|e| e.to_string()))
}

/// A status step recorded on a device, checked against the server's current state.
#[allow(clippy::too_many_arguments)]
fn apply_device_transition(
    ctx: &Ctx<'_>,
    who: &Principal,
    wo: &mut WorkOrder,
    event_id: StatusEventId,
    action: StatusAction,
    from: WorkOrderStatus,
    to: WorkOrderStatus,
    at: Timestamp,
    reason: Option<String>,
    evidence: &[String],
) -> Result<OpResult> {
    let ev = StatusEvent {
        id: event_id,
        work_order_id: wo.id,
        action,
        from,
        to,
        at,
        reason,
    };
    // Both stories are kept: the device's step is stored whatever the decision.
    insert_status_event(ctx.c, &ev)?;
    let assigned = wo.assignee_id == Some(who.user.id);
    let current = wo.status;
    let refused = |wo: &mut WorkOrder, detail: String| -> Result<OpResult> {
        wo.needs_review = true;
        write_wo(ctx.c, wo)?;
        let (seq, conflict_id) = insert_conflict(
            ctx,
            NewConflict {
                wo: wo.id,
                entity: EntityKind::WorkOrder,
                entity_id: &wo.id.to_string(),
                field: "status",
                kept: json!(current),
                lost: json!({"action": action, "from": from, "to": to, "at": onsite_model::time::format_ts(&at)}),
                rule: TRANSITION_RULE,
                detail,
            },
        )?;
        Ok(OpResult::Conflict {
            server_seq: seq,
            conflict_id,
        })
    };
    match decide_transition(current, from, action, to, assigned) {
        TransitionDecision::Apply(_) | TransitionDecision::Merged(_) => {
            let merged = current != from;
            if action == StatusAction::Complete
                && let Err(missing) = completion_check(ctx.c, wo)?
            {
                return refused(
                    wo,
                    format!(
                        "completed on the device, but the server's record is incomplete: {missing}"
                    ),
                );
            }
            if let Err(e) = wo.apply_transition(action, at) {
                return refused(wo, e.to_string());
            }
            if action == StatusAction::Complete {
                // The op may arrive before its bytes: the job is completed but not done until
                // every listed blob is here (`record_blob` releases it).
                wo.awaiting_evidence = missing_evidence(ctx.c, evidence)?;
            }
            let seq = write_wo(ctx.c, wo)?;
            Ok(if merged {
                OpResult::Merged { server_seq: seq }
            } else {
                OpResult::Applied { server_seq: seq }
            })
        }
        TransitionDecision::AlreadyThere => Ok(OpResult::Applied {
            server_seq: load_wo(ctx.c, wo.id)?.map_or(0, |(_, s)| s),
        }),
        TransitionDecision::Conflict => {
            let detail = if !assigned && wo.assignee_id.is_some() {
                format!(
                    "the job was reassigned to another technician before this {action} arrived; the step is kept for review"
                )
            } else {
                match next_status(current, action, assigned) {
                    Err(e) => format!("{e}; the device's step is kept for review"),
                    Ok(_) => format!("{action} was refused; the device's step is kept for review"),
                }
            };
            refused(wo, detail)
        }
    }
}

/// Marks a conflict resolved with the value to keep; a field conflict also sets the field.
fn resolve(ctx: &mut Ctx<'_>, id: ConflictId, keep: Value) -> Result<(ConflictRecord, u64)> {
    let row = load_row(ctx.c, "conflict", &id.to_string())?
        .ok_or_else(|| Error::not_found("unknown_conflict", format!("no conflict {id}")))?;
    let mut rec: ConflictRecord = serde_json::from_value(row.data)?;
    if rec.resolved_at.is_some() {
        return Err(Error::conflict(
            "already_resolved",
            format!("conflict {id} was already resolved"),
        ));
    }
    let hlc = ctx.office_hlc();
    let stamp = FieldStamp {
        version: 0,
        hlc,
        device_id: None,
    };
    let mut wo = require_wo(ctx.c, rec.work_order_id)?;
    match rec.entity {
        EntityKind::WorkOrder
            if !needs_person(&rec.field)
                && field_owner(EntityKind::WorkOrder, &rec.field).is_ok() =>
        {
            set_wo_field(ctx, &mut wo, &rec.field, &keep, Some(u64::MAX), stamp)?;
        }
        EntityKind::ChecklistAnswer if rec.field == "value" => {
            set_answer(
                ctx,
                wo.id,
                &rec.entity_id.clone(),
                &keep,
                Some(u64::MAX),
                stamp,
                ctx.now,
            )?;
        }
        _ => {}
    }
    rec.resolved_at = Some(ctx.now);
    rec.resolution = Some(keep);
    let seq = put_row(
        ctx.c,
        "conflict",
        &id.to_string(),
        rec.work_order_id,
        &serde_json::to_value(&rec)?,
        false,
    )?;
    if wo.needs_review {
        let open: Vec<ConflictRecord> = rows_of(ctx.c, wo.id, "conflict")?;
        if !open
            .iter()
            .any(|c| c.resolved_at.is_none() && needs_person(&c.field))
        {
            wo.needs_review = false;
            write_wo(ctx.c, &wo)?;
        }
    }
    Ok((rec, seq))
}

/// Checks one op before anything of its push is stored.
fn validate_op(c: &Connection, who: &Principal, op: &Op) -> Result<()> {
    let role = who.user.role;
    let at = format!("op #{}", op.device_seq);
    if op.schema_version != SCHEMA_VERSION {
        return Err(Error::bad_request(
            "schema_version",
            format!(
                "{at} has schema version {}; this server accepts {SCHEMA_VERSION}; update the app",
                op.schema_version
            ),
        ));
    }
    let wo = match load_wo(c, op.work_order_id)? {
        Some((wo, _)) => wo,
        None if role == Role::Technician => {
            return Err(Error::forbidden(
                "forbidden_job",
                format!(
                    "{at}: work order {} is not assigned to you",
                    op.work_order_id
                ),
            ));
        }
        None => {
            return Err(Error::not_found(
                "unknown_work_order",
                format!("{at}: no work order {}", op.work_order_id),
            ));
        }
    };
    if role == Role::Technician && !ever_assigned(c, wo.id, who.user.id)? {
        return Err(Error::forbidden(
            "forbidden_job",
            format!("{at}: work order {} was never assigned to you", wo.number),
        ));
    }
    let owner_check = |owner: FieldOwner, what: &str| {
        if role.may_write(owner) {
            Ok(())
        } else {
            Err(Error::forbidden(
                "field_not_owned",
                format!("{at}: {what} is not written by a {role}"),
            ))
        }
    };
    let entity_is_job = || {
        if op.entity_id == op.work_order_id.to_string() {
            Ok(())
        } else {
            Err(Error::unprocessable(
                "invalid_op",
                format!(
                    "{at}: entity_id must be the work order id {}",
                    op.work_order_id
                ),
            ))
        }
    };
    match &op.change {
        Change::Set { field, new, .. } => {
            let owner = field_owner(op.entity, field)
                .map_err(|e| Error::unprocessable("unknown_field", format!("{at}: {e}")))?;
            match op.entity {
                EntityKind::WorkOrder => {
                    entity_is_job()?;
                    owner_check(owner, &format!("work order field {field}"))?;
                    // These change who sees the job or what it references: office API only.
                    if matches!(
                        field.as_str(),
                        "assignee_id" | "number" | "customer_id" | "asset_id"
                    ) {
                        return Err(Error::unprocessable(
                            "unsupported_op",
                            format!("{at}: {field} is changed through the office API, not by sync"),
                        ));
                    }
                    with_field(&wo, field, new.clone()).map_err(|e| prefix(e, &at))?;
                }
                EntityKind::ChecklistAnswer => {
                    owner_check(owner, "a checklist answer")?;
                    let key = answer_key(wo.id, &op.entity_id).ok_or_else(|| {
                        Error::unprocessable(
                            "invalid_op",
                            format!(
                                "{at}: checklist answer id {:?} is not \"{}/<item key>\"",
                                op.entity_id, wo.id
                            ),
                        )
                    })?;
                    let value: AnswerValue = serde_json::from_value(new.clone()).map_err(|e| {
                        Error::unprocessable(
                            "invalid_value",
                            format!("{at}: checklist answer {key}: {e}"),
                        )
                    })?;
                    template_for(wo.job_type)
                        .validate_answer(key, &value)
                        .map_err(|e| {
                            Error::unprocessable("invalid_answer", format!("{at}: {e}"))
                        })?;
                }
                other => {
                    return Err(Error::unprocessable(
                        "unsupported_op",
                        format!("{at}: rows of {other} are not edited field by field"),
                    ));
                }
            }
        }
        Change::Insert { row } | Change::Delete { old: row } => {
            let insert = matches!(op.change, Change::Insert { .. });
            if !ROW_ENTITIES.contains(&op.entity) {
                return Err(Error::unprocessable(
                    "unsupported_op",
                    format!(
                        "{at}: {} rows cannot be {}",
                        op.entity,
                        if insert { "inserted" } else { "deleted" }
                    ),
                ));
            }
            let owner = field_owner(op.entity, "row")
                .map_err(|e| Error::unprocessable("unknown_field", e.to_string()))?;
            owner_check(owner, &format!("a {} row", op.entity))?;
            if insert {
                let (id, wo_id) = check_row(op.entity, row)
                    .map_err(|m| Error::unprocessable("invalid_row", format!("{at}: {m}")))?;
                if id != op.entity_id || wo_id != op.work_order_id {
                    return Err(Error::unprocessable(
                        "invalid_row",
                        format!(
                            "{at}: the row's id and work_order_id must match the op's entity_id and work_order_id"
                        ),
                    ));
                }
            }
        }
        Change::Transition {
            action,
            from,
            to,
            evidence,
            ..
        } => {
            entity_is_job()?;
            if evidence.len() > MAX_EVIDENCE {
                return Err(Error::unprocessable(
                    "invalid_op",
                    format!("{at}: a step may list at most {MAX_EVIDENCE} pieces of evidence"),
                ));
            }
            if let Some(bad) = evidence.iter().find(|h| !is_sha256_hex(h)) {
                return Err(Error::unprocessable(
                    "invalid_op",
                    format!("{at}: evidence {bad:?} is not 64 lower-case hex digits"),
                ));
            }
            if action.actor() != Role::Technician {
                return Err(Error::unprocessable(
                    "invalid_transition",
                    format!("{at}: {action} is done in the office, not on a device"),
                ));
            }
            match next_status(*from, *action, true) {
                Ok(next) if next == *to => {}
                Ok(next) => {
                    return Err(Error::unprocessable(
                        "invalid_transition",
                        format!("{at}: {action} from {from} leads to {next}, not {to}"),
                    ));
                }
                Err(e) => {
                    return Err(Error::unprocessable(
                        "invalid_transition",
                        format!("{at}: {e}"),
                    ));
                }
            }
        }
        Change::ResolveConflict { conflict_id, .. } => {
            let owner = field_owner(EntityKind::Conflict, "resolution")
                .map_err(|e| Error::unprocessable("unknown_field", e.to_string()))?;
            owner_check(owner, "a conflict resolution")?;
            let row = load_row(c, "conflict", &conflict_id.to_string())?;
            if row.is_none() {
                return Err(Error::unprocessable(
                    "unknown_conflict",
                    format!("{at}: no conflict {conflict_id}"),
                ));
            }
        }
    }
    Ok(())
}

fn prefix(e: Error, at: &str) -> Error {
    match e {
        Error::Api {
            status,
            code,
            message,
            expected_seq,
        } => Error::Api {
            status,
            code,
            message: format!("{at}: {message}"),
            expected_seq,
        },
        other => other,
    }
}

fn strict<T: DeserializeOwned>(row: &Value) -> std::result::Result<T, String> {
    serde_json::from_value(row.clone()).map_err(|e| e.to_string())
}

/// Parses an inserted row as its model struct and validates it; returns (id, work order).
fn check_row(
    entity: EntityKind,
    row: &Value,
) -> std::result::Result<(String, WorkOrderId), String> {
    Ok(match entity {
        EntityKind::PartUsed => {
            let r: PartUsed = strict(row)?;
            r.validate()?;
            (r.id.to_string(), r.work_order_id)
        }
        EntityKind::TimeEntry => {
            let r: TimeEntry = strict(row)?;
            if r.ended_at < r.started_at {
                return Err("time entry ends before it starts".into());
            }
            (r.id.to_string(), r.work_order_id)
        }
        EntityKind::Note => {
            let r: Note = strict(row)?;
            if r.body.trim().is_empty() {
                return Err("note is empty".into());
            }
            (r.id.to_string(), r.work_order_id)
        }
        EntityKind::Photo => {
            let r: Photo = strict(row)?;
            if r.sha256.len() != 64
                || !r
                    .sha256
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            {
                return Err(format!(
                    "photo sha256 {:?} is not 64 lower-case hex digits",
                    r.sha256
                ));
            }
            (r.id.to_string(), r.work_order_id)
        }
        EntityKind::Signature => {
            let r: onsite_model::Signature = strict(row)?;
            if r.signer_name.trim().is_empty() {
                return Err("signature has no signer name".into());
            }
            (r.id.to_string(), r.work_order_id)
        }
        EntityKind::Feedback => {
            let r: Feedback = strict(row)?;
            r.validate()?;
            (r.id.to_string(), r.work_order_id)
        }
        other => return Err(format!("{other} rows cannot be inserted")),
    })
}

fn apply_op(ctx: &mut Ctx<'_>, who: &Principal, op: &Op) -> Result<OpResult> {
    let mut wo = require_wo(ctx.c, op.work_order_id)?;
    let incoming = FieldStamp {
        version: 0,
        hlc: op.hlc,
        device_id: Some(op.device_id),
    };
    match &op.change {
        Change::Set { field, new, .. } => match op.entity {
            EntityKind::WorkOrder => {
                set_wo_field(ctx, &mut wo, field, new, op.base_version, incoming)
            }
            _ => set_answer(
                ctx,
                wo.id,
                &op.entity_id,
                new,
                op.base_version,
                incoming,
                op.recorded_at,
            ),
        },
        Change::Insert { row } => {
            let kind = op.entity.as_str();
            if let Some(existing) = load_row(ctx.c, kind, &op.entity_id)? {
                return Ok(OpResult::Applied {
                    server_seq: existing.seq,
                });
            }
            Ok(OpResult::Applied {
                server_seq: put_row(ctx.c, kind, &op.entity_id, wo.id, row, false)?,
            })
        }
        Change::Delete { old } => {
            let kind = op.entity.as_str();
            let Some(existing) = load_row(ctx.c, kind, &op.entity_id)? else {
                return Ok(OpResult::Rejected {
                    code: "not_found".into(),
                    reason: format!("no {kind} {} to delete", op.entity_id),
                });
            };
            if existing.deleted {
                return Ok(OpResult::Applied {
                    server_seq: existing.seq,
                });
            }
            if existing.seq > op.base_version.unwrap_or(0) {
                wo.needs_review = true;
                write_wo(ctx.c, &wo)?;
                let (seq, conflict_id) = insert_conflict(
                    ctx,
                    NewConflict {
                        wo: wo.id,
                        entity: op.entity,
                        entity_id: &op.entity_id,
                        field: "row",
                        kept: existing.data,
                        lost: json!({"deleted": true, "old": old}),
                        rule: DELETE_RULE,
                        detail: format!(
                            "the {kind} was changed after this device last saw it; it is kept for review"
                        ),
                    },
                )?;
                return Ok(OpResult::Conflict {
                    server_seq: seq,
                    conflict_id,
                });
            }
            Ok(OpResult::Applied {
                server_seq: put_row(ctx.c, kind, &op.entity_id, wo.id, &existing.data, true)?,
            })
        }
        Change::Transition {
            event_id,
            action,
            from,
            to,
            at,
            reason,
            evidence,
        } => apply_device_transition(
            ctx,
            who,
            &mut wo,
            *event_id,
            *action,
            *from,
            *to,
            *at,
            reason.clone(),
            evidence,
        ),
        Change::ResolveConflict { conflict_id, keep } => {
            match resolve(ctx, *conflict_id, keep.clone()) {
                Ok((_, seq)) => Ok(OpResult::Applied { server_seq: seq }),
                Err(Error::Api { code, message, .. }) => Ok(OpResult::Rejected {
                    code: code.into(),
                    reason: message,
                }),
                Err(e) => Err(e),
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Reads of a device's view

const VISIBLE_SQL: &str = "
SELECT server_seq, kind, id, data, deleted FROM (
    SELECT server_seq, 'user' AS kind, id, data, 0 AS deleted FROM users WHERE id = ?1 AND server_seq > ?2
    UNION ALL
    SELECT server_seq, 'work_order', id, data, 0 FROM work_orders WHERE assignee_id = ?1 AND server_seq > ?2
    UNION ALL
    SELECT c.server_seq, 'customer', c.id, c.data, 0 FROM customers c
     WHERE c.server_seq > ?2 AND c.id IN (SELECT customer_id FROM work_orders WHERE assignee_id = ?1)
    UNION ALL
    SELECT a.server_seq, 'asset', a.id, a.data, 0 FROM assets a
     WHERE a.server_seq > ?2 AND a.id IN (SELECT asset_id FROM work_orders WHERE assignee_id = ?1 AND asset_id IS NOT NULL)
    UNION ALL
    SELECT r.server_seq, r.kind, r.id, r.data, r.deleted FROM job_rows r
     WHERE r.server_seq > ?2 AND r.work_order_id IN (SELECT id FROM work_orders WHERE assignee_id = ?1)
    UNION ALL
    SELECT server_seq, kind, id, NULL, 1 FROM removals WHERE user_id = ?1 AND server_seq > ?2 AND ?4 = 1
) AS visible
WHERE deleted = 0 OR ?4 = 1
ORDER BY server_seq
LIMIT ?3";

fn row_kind(name: &str) -> Result<RowKind> {
    name.parse()
        .map_err(|e| Error::Internal(format!("stored row kind: {e}")))
}

fn visible_rows(
    c: &Connection,
    user: UserId,
    cursor: u64,
    limit: u64,
    with_removals: bool,
) -> Result<Vec<RowChange>> {
    let mut stmt = c.prepare(VISIBLE_SQL)?;
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
            kind: row_kind(&kind)?,
            id,
            row,
        });
    }
    Ok(out)
}

fn user_by_username(c: &Connection, username: &str) -> Result<Option<(User, String)>> {
    let row: Option<(String, String)> = c
        .query_row(
            "SELECT data, password_hash FROM users WHERE username = ?1",
            [username],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    row.map(|(d, h)| Ok((from_json(&d)?, h))).transpose()
}

fn device_info(c: &Connection, id: &str) -> Result<Option<DeviceInfo>> {
    let mut all = devices(c, Some(id))?;
    Ok(all.pop())
}

fn devices(c: &Connection, only: Option<&str>) -> Result<Vec<DeviceInfo>> {
    let mut stmt = c.prepare(
        "SELECT d.id, d.user_id, u.username, d.name, d.registered_at, d.last_seen, d.revoked_at, d.last_acked_seq
         FROM devices d JOIN users u ON u.id = d.user_id
         WHERE ?1 IS NULL OR d.id = ?1 ORDER BY u.username, d.registered_at",
    )?;
    let rows = stmt.query_map([only], |r| {
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
    let ts = |s: &str| parse_ts(s).map_err(|e| Error::Internal(format!("stored time {s:?}: {e}")));
    let uuid = |s: &str| {
        s.parse::<uuid::Uuid>()
            .map_err(|e| Error::Internal(format!("stored id {s:?}: {e}")))
    };
    let mut out = Vec::new();
    for row in rows {
        let (id, user, username, name, reg, seen, revoked, acked) = row?;
        out.push(DeviceInfo {
            id: DeviceId(uuid(&id)?),
            user_id: UserId(uuid(&user)?),
            username,
            name,
            registered_at: ts(&reg)?,
            last_seen: seen.as_deref().map(ts).transpose()?,
            revoked_at: revoked.as_deref().map(ts).transpose()?,
            last_acked_seq: acked as u64,
        });
    }
    Ok(out)
}

fn check_appointment(
    start: Option<Timestamp>,
    end: Option<Timestamp>,
) -> std::result::Result<(), String> {
    match (start, end) {
        (Some(s), Some(e)) if e < s => Err("the appointment window ends before it starts".into()),
        _ => Ok(()),
    }
}

fn apply_patch<T: Serialize + DeserializeOwned>(
    current: &T,
    patch: &Map<String, Value>,
    what: &str,
) -> Result<T> {
    let mut v = serde_json::to_value(current)?;
    if patch.contains_key("id") {
        return Err(Error::unprocessable(
            "invalid_value",
            format!("the id of a {what} cannot change"),
        ));
    }
    for (k, val) in patch {
        v[k] = val.clone();
    }
    serde_json::from_value(v)
        .map_err(|e| Error::unprocessable("invalid_value", format!("{what}: {e}")))
}

fn list_json<T: DeserializeOwned>(c: &Connection, sql: &str) -> Result<Vec<T>> {
    let mut stmt = c.prepare(sql)?;
    let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
    rows.map(|d| from_json(&d?)).collect()
}

impl Store for SqliteStore {
    fn epoch(&self) -> Result<String> {
        Ok(self.epoch.clone())
    }

    fn create_user(&self, new: &NewUser) -> Result<User> {
        let username = new.username.trim();
        if username.is_empty()
            || !username
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '.' | '_' | '-'))
        {
            return Err(Error::unprocessable(
                "invalid_username",
                format!("username {username:?} may use only letters, digits, '.', '_' and '-'"),
            ));
        }
        if new.name.trim().is_empty() {
            return Err(Error::unprocessable(
                "invalid_name",
                "the display name is empty",
            ));
        }
        if new.password.0.chars().count() < 8 {
            return Err(Error::unprocessable(
                "weak_password",
                "the password must have at least 8 characters",
            ));
        }
        let hash = auth::hash_password(&new.password.0, self.fast_passwords())?;
        let user = User {
            id: UserId::new(self.ids.as_ref()),
            username: username.to_owned(),
            name: new.name.trim().to_owned(),
            role: new.role,
            skills: new.skills.clone(),
            phone: new.phone.clone(),
        };
        self.write(|ctx| {
            let exists: bool =
                ctx.c.query_row("SELECT EXISTS (SELECT 1 FROM users WHERE username = ?1)", [username], |r| r.get(0))?;
            if exists {
                return Err(Error::conflict("user_exists", format!("a user named {username:?} already exists")));
            }
            let seq = next_seq(ctx.c)?;
            ctx.c.execute(
                "INSERT INTO users (id, username, role, password_hash, data, created_at, server_seq)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![user.id.to_string(), user.username, user.role.as_str(), hash, to_json(&user)?, format_ts(&ctx.now), seq as i64],
            )?;
            Ok(user.clone())
        })
    }

    fn list_users(&self) -> Result<Vec<User>> {
        self.read(|c| list_json(c, "SELECT data FROM users ORDER BY username"))
    }

    fn login(&self, req: &LoginRequest) -> Result<LoginResponse> {
        let bad = || Error::api(401, "bad_credentials", "wrong username or password");
        let found = self.read(|c| user_by_username(c, req.username.trim()))?;
        let Some((user, hash)) = found else {
            // Spend the same effort as for a known user so timing does not tell them apart.
            let _ = auth::verify_password(
                &req.password,
                &auth::hash_password("not-a-password", self.fast_passwords())?,
            );
            return Err(bad());
        };
        if !auth::verify_password(&req.password, &hash) {
            return Err(bad());
        }
        let token = auth::new_token();
        let token_hash = auth::token_hash(&token);
        let device = req.device_id.to_string();
        let name = if req.device_name.trim().is_empty() {
            "device".to_owned()
        } else {
            req.device_name.trim().to_owned()
        };
        let now = self.write(|ctx| {
            let existing: Option<(String, Option<String>)> = ctx
                .c
                .query_row("SELECT user_id, revoked_at FROM devices WHERE id = ?1", [&device], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?;
            match existing {
                Some((owner, _)) if owner != user.id.to_string() => {
                    return Err(Error::conflict(
                        "device_taken",
                        format!("device {device} is registered to another user; reset the app's data before signing in as someone else"),
                    ));
                }
                Some((_, Some(_))) => {
                    return Err(Error::forbidden(
                        "device_revoked",
                        format!("device {device} was revoked by an administrator; reset the app's data to register it again"),
                    ));
                }
                Some(_) => {
                    ctx.c.execute(
                        "UPDATE devices SET name = ?2, token_hash = ?3, last_seen = ?4 WHERE id = ?1",
                        params![device, name, token_hash, format_ts(&ctx.now)],
                    )?;
                }
                None => {
                    ctx.c.execute(
                        "INSERT INTO devices (id, user_id, name, token_hash, registered_at, last_seen)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
                        params![device, user.id.to_string(), name, token_hash, format_ts(&ctx.now)],
                    )?;
                }
            }
            Ok(ctx.now)
        })?;
        tracing::info!(user = %user.username, device = %req.device_id, "signed in");
        Ok(LoginResponse {
            token,
            user,
            device_id: req.device_id,
            server_time: now,
            epoch: self.epoch.clone(),
        })
    }

    fn authenticate(&self, token: &str) -> Result<Principal> {
        let hash = auth::token_hash(token);
        let found: Option<(String, String, Option<String>, Option<String>)> = self.read(|c| {
            Ok(c.query_row(
                "SELECT d.id, u.data, d.revoked_at, d.last_seen FROM devices d JOIN users u ON u.id = d.user_id
                 WHERE d.token_hash = ?1",
                [&hash],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()?)
        })?;
        let Some((device, user, revoked, last_seen)) = found else {
            return Err(Error::unauthorized(
                "the sign-in token is not valid (expired, replaced or forged); sign in again",
            ));
        };
        if revoked.is_some() {
            return Err(Error::unauthorized(
                "this device was signed out by an administrator; sign in again",
            ));
        }
        let now = self.clock.now();
        let stale = last_seen
            .and_then(|s| parse_ts(&s).ok())
            .is_none_or(|t| (now - t).num_seconds() >= 60);
        if stale {
            self.write(|ctx| {
                ctx.c.execute(
                    "UPDATE devices SET last_seen = ?2 WHERE id = ?1",
                    params![device, format_ts(&ctx.now)],
                )?;
                Ok(())
            })?;
        }
        Ok(Principal {
            user: from_json(&user)?,
            device_id: device
                .parse()
                .map_err(|e| Error::Internal(format!("stored device id: {e}")))?,
        })
    }

    fn list_devices(&self) -> Result<Vec<DeviceInfo>> {
        self.read(|c| devices(c, None))
    }

    fn revoke_device(&self, id: DeviceId) -> Result<DeviceInfo> {
        self.write(|ctx| {
            let n = ctx.c.execute(
                "UPDATE devices SET revoked_at = COALESCE(revoked_at, ?2) WHERE id = ?1",
                params![id.to_string(), format_ts(&ctx.now)],
            )?;
            if n == 0 {
                return Err(Error::not_found(
                    "unknown_device",
                    format!("no device {id}"),
                ));
            }
            device_info(ctx.c, &id.to_string())?
                .ok_or_else(|| Error::Internal("device vanished".into()))
        })
    }

    fn apply_push(&self, who: &Principal, req: &PushRequest) -> Result<PushResponse> {
        if req.protocol != PROTOCOL_VERSION {
            return Err(Error::bad_request(
                "protocol_version",
                format!(
                    "protocol version {} is not supported; this server speaks {PROTOCOL_VERSION}; update the app",
                    req.protocol
                ),
            ));
        }
        if req.device_id != who.device_id {
            return Err(Error::forbidden(
                "wrong_device",
                "the push names a different device than the one signed in; sign in on this device",
            ));
        }
        if req.ops.len() > MAX_PUSH_OPS {
            return Err(Error::api(
                413,
                "too_many_ops",
                format!(
                    "{} ops in one push; send at most {MAX_PUSH_OPS} per push",
                    req.ops.len()
                ),
            ));
        }
        self.write(|ctx| {
            let device = who.device_id.to_string();
            let last_acked: i64 =
                ctx.c.query_row("SELECT last_acked_seq FROM devices WHERE id = ?1", [&device], |r| r.get(0))?;
            let last_acked = last_acked as u64;
            let mut prev: Option<u64> = None;
            for op in &req.ops {
                if op.device_id != req.device_id {
                    return Err(Error::bad_request("device_mismatch", format!("op #{} belongs to device {}, not {}", op.device_seq, op.device_id, req.device_id)));
                }
                if op.device_seq == 0 {
                    return Err(Error::bad_request("invalid_seq", "device_seq starts at 1"));
                }
                match prev {
                    None if op.device_seq > last_acked + 1 => return Err(Error::seq_gap(last_acked + 1, op.device_seq)),
                    Some(p) if op.device_seq <= p => {
                        return Err(Error::bad_request("ops_out_of_order", format!("op #{} follows #{p}; send ops in device_seq order", op.device_seq)));
                    }
                    Some(p) if op.device_seq > p + 1 => return Err(Error::seq_gap(p + 1, op.device_seq)),
                    _ => {}
                }
                prev = Some(op.device_seq);
            }
            for op in req.ops.iter().filter(|op| op.device_seq > last_acked) {
                validate_op(ctx.c, who, op)?;
            }
            let mut outcomes = Vec::with_capacity(req.ops.len());
            let mut acked = last_acked;
            for op in &req.ops {
                if op.device_seq <= last_acked {
                    let stored: Option<String> = ctx
                        .c
                        .query_row(
                            "SELECT outcome FROM op_outcomes WHERE device_id = ?1 AND device_seq = ?2",
                            params![device, op.device_seq as i64],
                            |r| r.get(0),
                        )
                        .optional()?;
                    let result = stored
                        .ok_or_else(|| Error::Internal(format!("no stored outcome for acknowledged op #{}", op.device_seq)))?;
                    outcomes.push(OpOutcome { device_seq: op.device_seq, result: from_json(&result)? });
                    continue;
                }
                ctx.hlc.observe(op.hlc, ctx.now.timestamp_millis());
                let result = apply_op(ctx, who, op)?;
                let high_water = counter(ctx.c, "server_seq")?;
                ctx.c.execute(
                    "INSERT INTO op_outcomes (device_id, device_seq, op, outcome, high_water, applied_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![device, op.device_seq as i64, to_json(op)?, to_json(&result)?, high_water as i64, format_ts(&ctx.now)],
                )?;
                tracing::debug!(op = %op, outcome = ?result, "applied op");
                outcomes.push(OpOutcome { device_seq: op.device_seq, result });
                acked = op.device_seq;
            }
            ctx.c.execute(
                "UPDATE devices SET last_acked_seq = ?2, last_seen = ?3 WHERE id = ?1",
                params![device, acked as i64, format_ts(&ctx.now)],
            )?;
            Ok(PushResponse { outcomes, acked_device_seq: acked, server_time: ctx.now, server_hlc: ctx.hlc.last() })
        })
    }

    fn pull(&self, who: &Principal, cursor: u64, limit: u32) -> Result<PullResponse> {
        let limit = if limit == 0 {
            DEFAULT_PULL_LIMIT
        } else {
            limit.min(MAX_PULL_LIMIT)
        };
        let now = self.clock.now();
        self.read(|c| {
            let high_water = counter(c, "server_seq")?;
            let server_hlc = Hlc::from_u64(counter(c, "server_hlc")?);
            let mut changes = visible_rows(c, who.user.id, cursor, limit as u64 + 1, true)?;
            let has_more = changes.len() > limit as usize;
            changes.truncate(limit as usize);
            let next = if has_more {
                changes.last().map_or(cursor, |r| r.server_seq)
            } else {
                cursor.max(high_water)
            };
            let acked: Option<i64> = c.query_row(
                "SELECT MAX(device_seq) FROM op_outcomes WHERE device_id = ?1 AND high_water <= ?2",
                params![who.device_id.to_string(), next as i64],
                |r| r.get(0),
            )?;
            Ok(PullResponse {
                checksum: page_checksum(&changes),
                changes,
                cursor: next,
                has_more,
                acked_device_seq: acked.unwrap_or(0) as u64,
                server_time: now,
                server_hlc,
                epoch: self.epoch.clone(),
            })
        })
    }

    fn snapshot(&self, who: &Principal) -> Result<Snapshot> {
        self.read(|c| {
            let rows: Vec<VisibleRow> = visible_rows(c, who.user.id, 0, u64::MAX >> 1, false)?
                .into_iter()
                .filter_map(|r| {
                    r.row.map(|row| VisibleRow {
                        kind: r.kind,
                        id: r.id,
                        row,
                    })
                })
                .collect();
            Ok(Snapshot {
                checksum: state_checksum(&rows),
                rows,
            })
        })
    }

    fn create_customer(&self, new: &NewCustomer) -> Result<Customer> {
        if new.name.trim().is_empty() {
            return Err(Error::unprocessable(
                "invalid_value",
                "the customer's name is empty",
            ));
        }
        self.write(|ctx| {
            let customer = Customer {
                id: CustomerId::new(ctx.ids),
                name: new.name.trim().to_owned(),
                phone: new.phone.clone(),
                address: new.address.clone(),
                lat: new.lat,
                lon: new.lon,
                notes: new.notes.clone(),
            };
            let seq = next_seq(ctx.c)?;
            ctx.c.execute(
                "INSERT INTO customers (id, data, server_seq) VALUES (?1, ?2, ?3)",
                params![customer.id.to_string(), to_json(&customer)?, seq as i64],
            )?;
            Ok(customer)
        })
    }

    fn update_customer(&self, id: CustomerId, patch: &Map<String, Value>) -> Result<Customer> {
        self.write(|ctx| {
            let current = load_customer(ctx.c, id)?
                .ok_or_else(|| Error::not_found("unknown_customer", format!("no customer {id}")))?;
            let updated: Customer = apply_patch(&current, patch, "customer")?;
            let seq = next_seq(ctx.c)?;
            ctx.c.execute(
                "UPDATE customers SET data = ?2, server_seq = ?3 WHERE id = ?1",
                params![id.to_string(), to_json(&updated)?, seq as i64],
            )?;
            Ok(updated)
        })
    }

    fn list_customers(&self) -> Result<Vec<Customer>> {
        self.read(|c| list_json(c, "SELECT data FROM customers ORDER BY server_seq"))
    }

    fn create_asset(&self, new: &NewAsset) -> Result<Asset> {
        if new.model.trim().is_empty() {
            return Err(Error::unprocessable(
                "invalid_value",
                "the asset's model is empty",
            ));
        }
        self.write(|ctx| {
            if load_customer(ctx.c, new.customer_id)?.is_none() {
                return Err(Error::unprocessable(
                    "unknown_customer",
                    format!("no customer {}", new.customer_id),
                ));
            }
            let asset = Asset {
                id: AssetId::new(ctx.ids),
                customer_id: new.customer_id,
                model: new.model.trim().to_owned(),
                serial: new.serial.clone(),
                installed_on: new.installed_on,
                warranty_end: new.warranty_end,
            };
            let seq = next_seq(ctx.c)?;
            ctx.c.execute(
                "INSERT INTO assets (id, customer_id, data, server_seq) VALUES (?1, ?2, ?3, ?4)",
                params![
                    asset.id.to_string(),
                    asset.customer_id.to_string(),
                    to_json(&asset)?,
                    seq as i64
                ],
            )?;
            Ok(asset)
        })
    }

    fn update_asset(&self, id: AssetId, patch: &Map<String, Value>) -> Result<Asset> {
        self.write(|ctx| {
            let current = load_asset(ctx.c, id)?
                .ok_or_else(|| Error::not_found("unknown_asset", format!("no asset {id}")))?;
            let updated: Asset = apply_patch(&current, patch, "asset")?;
            if load_customer(ctx.c, updated.customer_id)?.is_none() {
                return Err(Error::unprocessable(
                    "unknown_customer",
                    format!("no customer {}", updated.customer_id),
                ));
            }
            let seq = next_seq(ctx.c)?;
            ctx.c.execute(
                "UPDATE assets SET customer_id = ?2, data = ?3, server_seq = ?4 WHERE id = ?1",
                params![
                    id.to_string(),
                    updated.customer_id.to_string(),
                    to_json(&updated)?,
                    seq as i64
                ],
            )?;
            Ok(updated)
        })
    }

    fn list_assets(&self) -> Result<Vec<Asset>> {
        self.read(|c| list_json(c, "SELECT data FROM assets ORDER BY server_seq"))
    }

    fn create_work_orders(&self, new: &[NewWorkOrder]) -> Result<Vec<WorkOrder>> {
        self.write(|ctx| {
            let mut out = Vec::with_capacity(new.len());
            for (i, n) in new.iter().enumerate() {
                let row = i + 1;
                let fail = |code: &'static str, msg: String| Error::unprocessable(code, format!("row {row}: {msg}"));
                if n.problem.trim().is_empty() {
                    return Err(fail("invalid_value", "the problem description is empty".into()));
                }
                if load_customer(ctx.c, n.customer_id)?.is_none() {
                    return Err(fail("unknown_customer", format!("no customer {}", n.customer_id)));
                }
                if let Some(a) = n.asset_id {
                    match load_asset(ctx.c, a)? {
                        None => return Err(fail("unknown_asset", format!("no asset {a}"))),
                        Some(asset) if asset.customer_id != n.customer_id => {
                            return Err(fail("invalid_value", format!("asset {a} belongs to another customer")));
                        }
                        Some(_) => {}
                    }
                }
                if let Some(u) = n.assignee_id
                    && load_user(ctx.c, u)?.is_none()
                {
                    return Err(fail("unknown_user", format!("no user {u}")));
                }
                check_appointment(n.appointment_start, n.appointment_end).map_err(|m| fail("invalid_value", m))?;
                let reported_at = n.reported_at.unwrap_or(ctx.now);
                let (respond_by, resolve_by) = SlaPolicy::for_priority(n.priority).deadlines(reported_at);
                let number_seq: i64 = ctx.c.query_row(
                    "UPDATE counters SET value = value + 1 WHERE name = 'wo_number' RETURNING value",
                    [],
                    |r| r.get(0),
                )?;
                let mut wo = WorkOrder {
                    asset_id: n.asset_id,
                    respond_by: n.respond_by.or(Some(respond_by)),
                    resolve_by: n.resolve_by.or(Some(resolve_by)),
                    appointment_start: n.appointment_start,
                    appointment_end: n.appointment_end,
                    ..WorkOrder::new_request(
                        WorkOrderId::new(ctx.ids),
                        format!("WO-{}-{number_seq:06}", ctx.now.format("%Y")),
                        n.customer_id,
                        n.job_type,
                        n.priority,
                        n.problem.trim().to_owned(),
                        reported_at,
                    )
                };
                write_wo(ctx.c, &wo)?;
                if let Some(u) = n.assignee_id {
                    wo = office_assign(ctx, wo, u)?;
                }
                out.push(wo);
            }
            Ok(out)
        })
    }

    fn update_work_order(&self, id: WorkOrderId, patch: &Map<String, Value>) -> Result<WorkOrder> {
        for field in patch.keys() {
            match field_owner(EntityKind::WorkOrder, field) {
                Err(e) => return Err(Error::unprocessable("unknown_field", e.to_string())),
                Ok(FieldOwner::Technician) => {
                    return Err(Error::forbidden(
                        "field_not_owned",
                        format!("{field} is recorded by the technician, not the office"),
                    ));
                }
                Ok(_) if field == "assignee_id" => {
                    return Err(Error::unprocessable(
                        "use_assign",
                        "change the assignee with POST /api/v1/work-orders/{id}/assign",
                    ));
                }
                Ok(_) if field == "number" => {
                    return Err(Error::unprocessable(
                        "invalid_value",
                        "the work order number is given by the server",
                    ));
                }
                Ok(_) => {}
            }
        }
        self.write(|ctx| {
            let before = require_wo(ctx.c, id)?;
            let mut wo = before.clone();
            for (field, value) in patch {
                wo = with_field(&wo, field, value.clone())?;
            }
            check_appointment(wo.appointment_start, wo.appointment_end)
                .map_err(|m| Error::unprocessable("invalid_value", m))?;
            if wo.customer_id != before.customer_id
                && load_customer(ctx.c, wo.customer_id)?.is_none()
            {
                return Err(Error::unprocessable(
                    "unknown_customer",
                    format!("no customer {}", wo.customer_id),
                ));
            }
            if let Some(a) = wo.asset_id {
                match load_asset(ctx.c, a)? {
                    None => {
                        return Err(Error::unprocessable(
                            "unknown_asset",
                            format!("no asset {a}"),
                        ));
                    }
                    Some(asset) if asset.customer_id != wo.customer_id => {
                        return Err(Error::unprocessable(
                            "invalid_value",
                            format!("asset {a} belongs to another customer"),
                        ));
                    }
                    Some(_) => {}
                }
            }
            let new_customer = (wo.customer_id != before.customer_id).then_some(wo.customer_id);
            let new_asset = if wo.asset_id != before.asset_id {
                wo.asset_id
            } else {
                None
            };
            if let Some(u) = wo.assignee_id {
                show_refs_to(ctx.c, u, new_customer, new_asset)?;
            }
            let seq = write_wo(ctx.c, &wo)?;
            let hlc = ctx.office_hlc();
            for field in patch.keys() {
                put_stamp(
                    ctx.c,
                    "work_order",
                    &id.to_string(),
                    field,
                    &FieldStamp {
                        version: seq,
                        hlc,
                        device_id: None,
                    },
                )?;
            }
            if let Some(u) = wo.assignee_id {
                let old_customer = new_customer.map(|_| before.customer_id);
                let old_asset = if wo.asset_id != before.asset_id {
                    before.asset_id
                } else {
                    None
                };
                // The job itself still references the new ones, so only the old can go.
                hide_refs_from(ctx.c, u, id, old_customer, old_asset)?;
            }
            Ok(wo)
        })
    }

    fn assign_work_order(&self, id: WorkOrderId, assignee: Option<UserId>) -> Result<WorkOrder> {
        self.write(|ctx| {
            let wo = require_wo(ctx.c, id)?;
            match assignee {
                Some(u) => {
                    if load_user(ctx.c, u)?.is_none() {
                        return Err(Error::unprocessable("unknown_user", format!("no user {u}")));
                    }
                    if wo.assignee_id == Some(u) && wo.status != WorkOrderStatus::New {
                        return Ok(wo);
                    }
                    office_assign(ctx, wo, u)
                }
                None => {
                    let Some(old) = wo.assignee_id else {
                        return Ok(wo);
                    };
                    let mut next = wo.clone();
                    let from = next.status;
                    next.apply_transition(StatusAction::Unassign, ctx.now)
                        .map_err(|e| Error::conflict("invalid_transition", e.to_string()))?;
                    office_event(ctx, &next, StatusAction::Unassign, from, None)?;
                    hide_job_from(ctx.c, old, &wo)?;
                    let seq = write_wo(ctx.c, &next)?;
                    let hlc = ctx.office_hlc();
                    put_stamp(
                        ctx.c,
                        "work_order",
                        &id.to_string(),
                        "assignee_id",
                        &FieldStamp {
                            version: seq,
                            hlc,
                            device_id: None,
                        },
                    )?;
                    Ok(next)
                }
            }
        })
    }

    fn office_transition(
        &self,
        id: WorkOrderId,
        action: StatusAction,
        reason: Option<String>,
    ) -> Result<WorkOrder> {
        if !matches!(action, StatusAction::Cancel | StatusAction::Reopen) {
            return Err(Error::unprocessable(
                "invalid_transition",
                format!("{action} is not an office step here"),
            ));
        }
        self.write(|ctx| {
            let mut wo = require_wo(ctx.c, id)?;
            let from = wo.status;
            wo.apply_transition(action, ctx.now)
                .map_err(|e| Error::conflict("invalid_transition", e.to_string()))?;
            office_event(ctx, &wo, action, from, reason)?;
            write_wo(ctx.c, &wo)?;
            Ok(wo)
        })
    }

    fn get_work_order(&self, id: WorkOrderId) -> Result<WorkOrder> {
        self.read(|c| require_wo(c, id))
    }

    fn list_work_orders(&self, filter: &WorkOrderFilter) -> Result<Vec<WorkOrder>> {
        self.read(|c| {
            let mut stmt = c.prepare(
                "SELECT data FROM work_orders
                 WHERE (?1 IS NULL OR status = ?1) AND (?2 IS NULL OR assignee_id = ?2)
                   AND (?3 IS NULL OR appointment_start >= ?3) AND (?4 IS NULL OR appointment_start < ?4)
                   AND (?5 IS NULL OR needs_review = ?5)
                   AND (?6 IS NULL OR EXISTS (SELECT 1 FROM awaiting_evidence a WHERE a.work_order_id = work_orders.id) = ?6)
                 ORDER BY appointment_start IS NULL, appointment_start, number",
            )?;
            let rows = stmt.query_map(
                params![
                    filter.status.map(|s| s.as_str()),
                    filter.assignee.map(|u| u.to_string()),
                    filter.from.as_ref().map(format_ts),
                    filter.to.as_ref().map(format_ts),
                    filter.needs_review,
                    filter.awaiting_evidence
                ],
                |r| r.get::<_, String>(0),
            )?;
            rows.map(|d| from_json(&d?)).collect()
        })
    }

    fn work_order_detail(&self, id: WorkOrderId) -> Result<WorkOrderDetail> {
        let now = self.clock.now();
        self.read(|c| {
            let work_order = require_wo(c, id)?;
            let mut history: Vec<StatusEvent> = rows_of(c, id, "status_event")?;
            history.sort_by_key(|e| e.at);
            Ok(WorkOrderDetail {
                sla: SlaState::of(&work_order, now),
                history,
                checklist_answers: rows_of(c, id, "checklist_answer")?,
                notes: rows_of(c, id, "note")?,
                parts: rows_of(c, id, "part_used")?,
                time_entries: rows_of(c, id, "time_entry")?,
                feedback: rows_of(c, id, "feedback")?,
                photos: rows_of(c, id, "photo")?,
                signatures: rows_of(c, id, "signature")?,
                conflicts: rows_of(c, id, "conflict")?,
                work_order,
            })
        })
    }

    fn resolve_conflict(&self, id: ConflictId, keep: Value) -> Result<ConflictRecord> {
        self.write(|ctx| resolve(ctx, id, keep).map(|(rec, _)| rec))
    }

    fn record_blob(&self, sha256: &str, size: u64) -> Result<Vec<WorkOrderId>> {
        let known: bool = self.read(|c| {
            Ok(c.query_row(
                "SELECT EXISTS (SELECT 1 FROM blobs WHERE sha256 = ?1)",
                [sha256],
                |r| r.get(0),
            )?)
        })?;
        if known {
            return Ok(Vec::new());
        }
        self.write(|ctx| {
            ctx.c.execute(
                "INSERT INTO blobs (sha256, size, stored_at) VALUES (?1, ?2, ?3) ON CONFLICT (sha256) DO NOTHING",
                params![sha256, size as i64, format_ts(&ctx.now)],
            )?;
            let waiting: Vec<String> = {
                let mut stmt = ctx.c.prepare(
                    "SELECT work_order_id FROM awaiting_evidence WHERE sha256 = ?1 ORDER BY work_order_id",
                )?;
                let rows = stmt.query_map([sha256], |r| r.get(0))?;
                rows.collect::<rusqlite::Result<_>>()?
            };
            let mut released = Vec::new();
            for id in waiting {
                let id: WorkOrderId = id
                    .parse()
                    .map_err(|e| Error::Internal(format!("stored work order id: {e}")))?;
                let mut wo = require_wo(ctx.c, id)?;
                wo.awaiting_evidence.retain(|h| h != sha256);
                // A fresh server_seq: the devices that see the job pull the change.
                write_wo(ctx.c, &wo)?;
                released.push(id);
            }
            Ok(released)
        })
    }

    fn may_read_blob(&self, who: &Principal, sha256: &str) -> Result<bool> {
        if who.user.role != Role::Technician {
            return Ok(true);
        }
        self.read(|c| {
            Ok(c.query_row(
                "SELECT EXISTS (
                     SELECT 1 FROM job_rows r JOIN work_orders w ON w.id = r.work_order_id
                      WHERE w.assignee_id = ?1 AND r.deleted = 0
                        AND ((r.kind = 'photo' AND (r.data ->> '$.sha256' = ?2 OR r.data ->> '$.thumb_sha256' = ?2))
                          OR (r.kind = 'signature' AND r.data ->> '$.png_sha256' = ?2)))",
                params![who.user.id.to_string(), sha256],
                |r| r.get(0),
            )?)
        })
    }

    fn list_conflicts(&self, open_only: bool) -> Result<Vec<ConflictRecord>> {
        let all: Vec<ConflictRecord> = self.read(|c| {
            list_json(
                c,
                "SELECT data FROM job_rows WHERE kind = 'conflict' ORDER BY server_seq",
            )
        })?;
        Ok(all
            .into_iter()
            .filter(|c| !open_only || c.resolved_at.is_none())
            .collect())
    }
}

fn office_event(
    ctx: &Ctx<'_>,
    wo: &WorkOrder,
    action: StatusAction,
    from: WorkOrderStatus,
    reason: Option<String>,
) -> Result<()> {
    insert_status_event(
        ctx.c,
        &StatusEvent {
            id: StatusEventId::new(ctx.ids),
            work_order_id: wo.id,
            action,
            from,
            to: wo.status,
            at: ctx.now,
            reason,
        },
    )
}

/// Assigns `wo` (already stored) to `user`: the old assignee's devices get removals, the new
/// one's get the whole job.
fn office_assign(ctx: &mut Ctx<'_>, before: WorkOrder, user: UserId) -> Result<WorkOrder> {
    let mut wo = before.clone();
    let from = wo.status;
    wo.apply_transition(StatusAction::Assign, ctx.now)
        .map_err(|e| Error::conflict("invalid_transition", e.to_string()))?;
    wo.assignee_id = Some(user);
    office_event(ctx, &wo, StatusAction::Assign, from, None)?;
    record_assignment(ctx.c, wo.id, user, ctx.now)?;
    if let Some(old) = before.assignee_id
        && old != user
    {
        hide_job_from(ctx.c, old, &before)?;
    }
    let seq = show_job_to(ctx.c, user, &wo)?;
    let hlc = ctx.office_hlc();
    put_stamp(
        ctx.c,
        "work_order",
        &wo.id.to_string(),
        "assignee_id",
        &FieldStamp {
            version: seq,
            hlc,
            device_id: None,
        },
    )?;
    Ok(wo)
}
