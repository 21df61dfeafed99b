//! The storage primitives every backend provides, and nothing more: rows in and out, counters,
//! stamps, stored outcomes and visibility membership. The rules that decide what to write
//! live in the engine (`super::engine`), once for every backend.
//!
//! A backend hands the engine a read transaction (one consistent state, never blocked by the
//! apply path) or a write transaction (the serialized apply path; committed when the engine's
//! closure returns `Ok`, rolled back otherwise). Rows travel as the model's JSON text.

use std::sync::Arc;

use onsite_model::merge::FieldStamp;
use onsite_model::quality::QualityReview;
use onsite_model::time::Timestamp;
use onsite_model::wire::RowChange;
use onsite_model::{Asset, Customer, DeviceId, User, UserId, WorkOrder, WorkOrderId};
use serde_json::Value;

use super::interface::{DeviceInfo, WorkOrderFilter};
use crate::error::Result;
use crate::live::ChangeFeed;

/// A named counter row. `ServerSeq` orders every change; taking it inside the write
/// transaction is what keeps `server_seq` commit-ordered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Counter {
    ServerSeq,
    WorkOrderNumber,
    ServerHlc,
}

impl Counter {
    pub fn as_str(self) -> &'static str {
        match self {
            Counter::ServerSeq => "server_seq",
            Counter::WorkOrderNumber => "wo_number",
            Counter::ServerHlc => "server_hlc",
        }
    }
}

/// The reference tables a job points at (and the users), stored as JSON documents.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DocTable {
    Users,
    Customers,
    Assets,
}

/// What a job references that a user may also see through another job.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobRef {
    Customer,
    Asset,
}

/// A row a device creates under a job (part, note, photo, …), a status event or a conflict.
#[derive(Clone, Debug)]
pub struct StoredRow {
    pub data: Value,
    pub deleted: bool,
    pub seq: u64,
}

/// The stored answer to one op: the idempotency record a repeated push is answered from.
#[derive(Clone, Debug)]
pub struct StoredOutcome {
    pub device_seq: u64,
    pub op_json: String,
    pub outcome_json: String,
    /// The global `server_seq` once the op was applied.
    pub high_water: u64,
}

/// Ops whose outcomes go into one INSERT (six values each, far below either backend's limit
/// on bound values).
pub const OUTCOMES_PER_INSERT: usize = 500;

/// Keys looked up by one `load_job_rows` query.
pub const KEYS_PER_QUERY: usize = 400;

/// The device a token hash belongs to.
#[derive(Clone, Debug)]
pub struct TokenHolder {
    pub device_id: DeviceId,
    pub user_json: String,
    pub revoked: bool,
    pub last_seen: Option<Timestamp>,
}

/// A console session found by the hash of its id.
#[derive(Clone, Debug)]
pub struct WebSessionRow {
    pub user_json: String,
    pub created_at: Timestamp,
    pub last_used_at: Timestamp,
}

/// Who a device id is registered to.
#[derive(Clone, Copy, Debug)]
pub struct DeviceOwner {
    pub user_id: UserId,
    pub revoked: bool,
}

pub trait ReadTx {
    fn counter(&self, name: Counter) -> Result<u64>;

    fn load_work_order(&self, id: WorkOrderId) -> Result<Option<(WorkOrder, u64)>>;
    /// Work orders (JSON) matching the filter, in appointment order.
    fn list_work_orders(&self, filter: &WorkOrderFilter) -> Result<Vec<String>>;
    fn load_job_row(&self, kind: &str, id: &str) -> Result<Option<StoredRow>>;
    /// The stored rows among `(kind, id)` keys, in one query (or a few, for many keys);
    /// keys with no row are left out.
    fn load_job_rows(&self, keys: &[(String, String)]) -> Result<Vec<(String, String, StoredRow)>>;
    /// The job's live rows of one kind (JSON), in `server_seq` order.
    fn job_rows(&self, wo: WorkOrderId, kind: &str) -> Result<Vec<String>>;
    /// Every live row of one kind across jobs (JSON), in `server_seq` order.
    fn rows_of_kind(&self, kind: &str) -> Result<Vec<String>>;
    /// `(kind, id)` of the job's live rows, in `server_seq` order.
    fn job_items(&self, wo: WorkOrderId) -> Result<Vec<(String, String)>>;
    fn field_stamp(&self, entity: &str, id: &str, field: &str) -> Result<Option<FieldStamp>>;

    fn load_doc(&self, table: DocTable, id: &str) -> Result<Option<String>>;
    /// Users by username; customers and assets in `server_seq` order.
    fn list_docs(&self, table: DocTable) -> Result<Vec<String>>;
    fn user_by_username(&self, username: &str) -> Result<Option<(String, String)>>;

    fn ever_assigned(&self, wo: WorkOrderId, user: UserId) -> Result<bool>;
    /// Whether another job assigned to `user` than `except` references `id`.
    fn referenced_elsewhere(
        &self,
        user: UserId,
        what: JobRef,
        id: &str,
        except: WorkOrderId,
    ) -> Result<bool>;
    /// Rows a user's devices may see with `server_seq > cursor`, removals included on request.
    fn visible_rows(
        &self,
        user: UserId,
        cursor: u64,
        limit: u64,
        with_removals: bool,
    ) -> Result<Vec<RowChange>>;

    fn device_owner(&self, device: DeviceId) -> Result<Option<DeviceOwner>>;
    fn device_by_token(&self, token_hash: &str) -> Result<Option<TokenHolder>>;
    fn devices(&self, only: Option<DeviceId>) -> Result<Vec<DeviceInfo>>;
    fn device_acked_seq(&self, device: DeviceId) -> Result<u64>;
    /// The console session whose id hashes to `id_hash`, with its user.
    fn web_session(&self, id_hash: &str) -> Result<Option<WebSessionRow>>;
    /// The outcome (JSON) stored for `(device, seq)`.
    fn stored_outcome(&self, device: DeviceId, seq: u64) -> Result<Option<String>>;
    /// The highest `device_seq` whose changes all lie at or below `high_water`.
    fn acked_through(&self, device: DeviceId, high_water: u64) -> Result<Option<u64>>;

    fn blob_held(&self, sha256: &str) -> Result<bool>;
    /// Jobs whose completion waits for `sha256`.
    fn jobs_awaiting(&self, sha256: &str) -> Result<Vec<WorkOrderId>>;
    /// The device whose upload stored `sha256`, when it is known.
    fn blob_uploader(&self, sha256: &str) -> Result<Option<DeviceId>>;
    /// Jobs assigned to `user` now with a live photo or signature naming `sha256`.
    fn jobs_naming_blob(&self, user: UserId, sha256: &str) -> Result<Vec<WorkOrderId>>;
    /// The quality reviews (JSON) of one job or of all, by `reviewed_at` then id.
    fn quality_reviews(&self, wo: Option<WorkOrderId>) -> Result<Vec<String>>;
    /// The closed loop's rows of `kind` (`callback`, `complaint`, `loop_event`), of one job
    /// or of all, by id (ids are UUIDv7, so in order of creation).
    fn loop_rows(&self, kind: &str, wo: Option<WorkOrderId>) -> Result<Vec<String>>;
    fn load_loop_row(&self, kind: &str, id: &str) -> Result<Option<String>>;
    /// The text at JSON `field` of every `kind` row, tombstones included, written after
    /// `since_seq` (0: all of them); rows without it are skipped. Garbage collection asks it
    /// of a backend's own transaction; a wrapper need not pass it through.
    fn job_row_field_values(
        &self,
        _kind: &str,
        _field: &str,
        _since_seq: u64,
    ) -> Result<Vec<String>> {
        Err(crate::error::Error::Internal(
            "job_row_field_values is answered by a backend's own transaction".into(),
        ))
    }
}

pub trait WriteTx: ReadTx {
    /// Adds one to a counter and returns the new value.
    fn bump_counter(&self, name: Counter) -> Result<u64>;
    fn set_counter(&self, name: Counter, value: u64) -> Result<()>;

    /// Inserts or replaces a work order (its query columns and the evidence it waits for).
    fn put_work_order(&self, wo: &WorkOrder, seq: u64) -> Result<()>;
    /// Adds one quality review (office data: no `server_seq`); reviews are never replaced.
    fn insert_quality_review(&self, review: &QualityReview) -> Result<()>;
    /// Inserts or replaces one of the closed loop's rows (office records: no `server_seq`).
    fn put_loop_row(&self, kind: &str, id: &str, wo: WorkOrderId, data: &str) -> Result<()>;
    fn put_job_row(
        &self,
        kind: &str,
        id: &str,
        wo: WorkOrderId,
        data: &Value,
        deleted: bool,
        seq: u64,
    ) -> Result<()>;
    fn set_job_row_seq(&self, kind: &str, id: &str, seq: u64) -> Result<()>;
    fn put_field_stamp(&self, entity: &str, id: &str, field: &str, s: &FieldStamp) -> Result<()>;
    fn record_assignment(&self, wo: WorkOrderId, user: UserId, at: Timestamp) -> Result<()>;
    fn put_removal(&self, user: UserId, kind: &str, id: &str, seq: u64) -> Result<()>;
    fn clear_removal(&self, user: UserId, kind: &str, id: &str) -> Result<()>;

    fn insert_user(&self, user: &User, password_hash: &str, at: Timestamp, seq: u64) -> Result<()>;
    fn put_customer(&self, customer: &Customer, seq: u64) -> Result<()>;
    fn put_asset(&self, asset: &Asset, seq: u64) -> Result<()>;
    fn set_doc_seq(&self, table: DocTable, id: &str, seq: u64) -> Result<()>;

    fn insert_device(
        &self,
        device: DeviceId,
        user: UserId,
        name: &str,
        token_hash: &str,
        at: Timestamp,
    ) -> Result<()>;
    fn reissue_device_token(
        &self,
        device: DeviceId,
        name: &str,
        token_hash: &str,
        at: Timestamp,
    ) -> Result<()>;
    fn touch_device(&self, device: DeviceId, at: Timestamp) -> Result<()>;
    /// Marks the device revoked (keeping an earlier revocation time); false when unknown.
    fn revoke_device(&self, device: DeviceId, at: Timestamp) -> Result<bool>;
    fn set_device_acked(&self, device: DeviceId, acked: u64, at: Timestamp) -> Result<()>;
    fn insert_web_session(&self, id_hash: &str, user: UserId, at: Timestamp) -> Result<()>;
    fn touch_web_session(&self, id_hash: &str, at: Timestamp) -> Result<()>;
    /// False when no such session was stored.
    fn delete_web_session(&self, id_hash: &str) -> Result<bool>;
    /// Deletes the sessions created before `created_before` or last used before
    /// `used_before`; returns how many.
    fn delete_web_sessions_before(
        &self,
        created_before: Timestamp,
        used_before: Timestamp,
    ) -> Result<u64>;
    /// Stores the outcomes of one push's new ops, in as few statements as the backend can.
    fn store_outcomes(
        &self,
        device: DeviceId,
        at: Timestamp,
        outcomes: &[StoredOutcome],
    ) -> Result<()>;

    fn insert_blob(&self, sha256: &str, size: u64, at: Timestamp) -> Result<()>;
    /// Records the device whose upload stored `sha256`, unless one is recorded already.
    fn set_blob_uploader(&self, sha256: &str, device: DeviceId) -> Result<()>;
    /// Drops the catalogue entry of a blob whose bytes are being removed. Garbage collection
    /// asks it of a backend's own transaction; a wrapper need not pass it through.
    fn delete_blob(&self, _sha256: &str) -> Result<()> {
        Err(crate::error::Error::Internal(
            "delete_blob is answered by a backend's own transaction".into(),
        ))
    }

    /// Carries a change notice (the engine's text, at most `live::MAX_NOTICE_BYTES`) to every
    /// instance's [`ChangeFeed`] if and only if this transaction commits.
    fn announce(&self, notice: &str) -> Result<()>;
}

/// A database the engine runs on.
pub trait Backend: Send + Sync + 'static {
    /// Random id created with the database; changes when it is restored from a backup.
    fn epoch(&self) -> &str;
    /// Runs `f` in one read transaction.
    fn read<T>(&self, f: impl FnOnce(&dyn ReadTx) -> Result<T>) -> Result<T>;
    /// Runs `f` in the serialized write transaction; commits when it returns `Ok`.
    fn write<T>(&self, f: impl FnOnce(&dyn WriteTx) -> Result<T>) -> Result<T>;
    /// Where this instance hears the notices of committed writes, its own and (on a shared
    /// database) every other instance's.
    fn feed(&self) -> &Arc<ChangeFeed>;
}

/// A table of the schema, as the bulk copy of a whole store sees it (`migrate`, and the
/// checksums that verify a copy). The names and columns are the same on every backend; a
/// migration that adds a table or a column adds it here too (a test compares this list with
/// each backend's schema).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Table {
    Meta,
    Counters,
    Users,
    Devices,
    Customers,
    Assets,
    WorkOrders,
    AssignmentHistory,
    JobRows,
    FieldStamps,
    OpOutcomes,
    Removals,
    Blobs,
    AwaitingEvidence,
    QualityReviews,
    LoopRows,
    WebSessions,
}

/// How a column is stored: SQLite keeps booleans as integers, PostgreSQL as `BOOLEAN`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColumnKind {
    Text,
    Int,
    Bool,
}

/// One value of an exported row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cell {
    Null,
    Int(i64),
    Bool(bool),
    Text(String),
}

impl Table {
    /// Every table, each after the tables its foreign keys point at.
    pub const ALL: [Table; 17] = [
        Table::Meta,
        Table::Counters,
        Table::Users,
        Table::Devices,
        Table::Customers,
        Table::Assets,
        Table::WorkOrders,
        Table::AssignmentHistory,
        Table::JobRows,
        Table::FieldStamps,
        Table::OpOutcomes,
        Table::Removals,
        Table::Blobs,
        Table::AwaitingEvidence,
        Table::QualityReviews,
        Table::LoopRows,
        Table::WebSessions,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Table::Meta => "meta",
            Table::Counters => "counters",
            Table::Users => "users",
            Table::Devices => "devices",
            Table::Customers => "customers",
            Table::Assets => "assets",
            Table::WorkOrders => "work_orders",
            Table::AssignmentHistory => "assignment_history",
            Table::JobRows => "job_rows",
            Table::FieldStamps => "field_stamps",
            Table::OpOutcomes => "op_outcomes",
            Table::Removals => "removals",
            Table::Blobs => "blobs",
            Table::AwaitingEvidence => "awaiting_evidence",
            Table::QualityReviews => "quality_reviews",
            Table::LoopRows => "loop_rows",
            Table::WebSessions => "web_sessions",
        }
    }

    /// The columns, in schema order.
    pub fn columns(self) -> &'static [(&'static str, ColumnKind)] {
        use ColumnKind::{Bool, Int, Text};
        match self {
            Table::Meta => &[("key", Text), ("value", Text)],
            Table::Counters => &[("name", Text), ("value", Int)],
            Table::Users => &[
                ("id", Text),
                ("username", Text),
                ("role", Text),
                ("password_hash", Text),
                ("data", Text),
                ("created_at", Text),
                ("server_seq", Int),
            ],
            Table::Devices => &[
                ("id", Text),
                ("user_id", Text),
                ("name", Text),
                ("token_hash", Text),
                ("registered_at", Text),
                ("last_seen", Text),
                ("revoked_at", Text),
                ("last_acked_seq", Int),
            ],
            Table::Customers => &[("id", Text), ("data", Text), ("server_seq", Int)],
            Table::Assets => &[
                ("id", Text),
                ("customer_id", Text),
                ("data", Text),
                ("server_seq", Int),
            ],
            Table::WorkOrders => &[
                ("id", Text),
                ("number", Text),
                ("customer_id", Text),
                ("asset_id", Text),
                ("assignee_id", Text),
                ("status", Text),
                ("needs_review", Bool),
                ("appointment_start", Text),
                ("data", Text),
                ("server_seq", Int),
            ],
            Table::AssignmentHistory => &[
                ("work_order_id", Text),
                ("user_id", Text),
                ("assigned_at", Text),
            ],
            Table::JobRows => &[
                ("kind", Text),
                ("id", Text),
                ("work_order_id", Text),
                ("data", Text),
                ("deleted", Bool),
                ("server_seq", Int),
            ],
            Table::FieldStamps => &[
                ("entity", Text),
                ("entity_id", Text),
                ("field", Text),
                ("version", Int),
                ("hlc", Text),
                ("device_id", Text),
            ],
            Table::OpOutcomes => &[
                ("device_id", Text),
                ("device_seq", Int),
                ("op", Text),
                ("outcome", Text),
                ("high_water", Int),
                ("applied_at", Text),
            ],
            Table::Removals => &[
                ("user_id", Text),
                ("kind", Text),
                ("id", Text),
                ("server_seq", Int),
            ],
            Table::Blobs => &[
                ("sha256", Text),
                ("size", Int),
                ("stored_at", Text),
                ("uploaded_by", Text),
            ],
            Table::AwaitingEvidence => &[("work_order_id", Text), ("sha256", Text)],
            Table::QualityReviews => &[
                ("id", Text),
                ("work_order_id", Text),
                ("reviewer_id", Text),
                ("reviewed_at", Text),
                ("data", Text),
            ],
            Table::LoopRows => &[
                ("kind", Text),
                ("id", Text),
                ("work_order_id", Text),
                ("data", Text),
            ],
            Table::WebSessions => &[
                ("id_hash", Text),
                ("user_id", Text),
                ("created_at", Text),
                ("last_used_at", Text),
            ],
        }
    }

    /// How many leading columns form the primary key: rows are exported in that order
    /// (text compared byte by byte), so both backends list a table identically.
    pub fn key_len(self) -> usize {
        match self {
            Table::AssignmentHistory | Table::JobRows | Table::OpOutcomes => 2,
            Table::FieldStamps | Table::Removals => 3,
            Table::AwaitingEvidence | Table::LoopRows => 2,
            _ => 1,
        }
    }
}

/// Whole tables out of one consistent state, in key order.
pub trait TableExport {
    fn row_count(&self, table: Table) -> Result<u64>;
    /// Calls `each` with every row of `table` (cells in `Table::columns` order).
    fn export_rows(
        &self,
        table: Table,
        each: &mut dyn FnMut(Vec<Cell>) -> Result<()>,
    ) -> Result<()>;
}

/// Whole tables into one write transaction (the serialized write path).
pub trait TableImport: TableExport {
    /// Inserts rows given in `Table::columns` order.
    fn import_rows(&self, table: Table, rows: &[Vec<Cell>]) -> Result<()>;
    /// Deletes every row: for `meta` and `counters`, which a new database seeds.
    fn clear_table(&self, table: Table) -> Result<()>;
    /// Gives the database a new epoch (devices that see it push their log again and pull
    /// everything).
    fn set_epoch(&self, epoch: &str) -> Result<()>;
}

/// A database whose tables can be copied whole: the bulk primitives behind `migrate`.
pub trait BulkBackend: Backend {
    /// Runs `f` in one read transaction.
    fn export<T>(&self, f: impl FnOnce(&dyn TableExport) -> Result<T>) -> Result<T>;
    /// Runs `f` in the serialized write transaction; commits when it returns `Ok`.
    fn import<T>(&self, f: impl FnOnce(&dyn TableImport) -> Result<T>) -> Result<T>;
}
