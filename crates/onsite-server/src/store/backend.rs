//! The storage primitives every backend provides, and nothing more: rows in and out, counters,
//! stamps, stored outcomes and visibility membership. The rules that decide what to write
//! live in the engine (`super::engine`), once for every backend.
//!
//! A backend hands the engine a read transaction (one consistent state, never blocked by the
//! apply path) or a write transaction (the serialized apply path; committed when the engine's
//! closure returns `Ok`, rolled back otherwise). Rows travel as the model's JSON text.

use onsite_model::merge::FieldStamp;
use onsite_model::time::Timestamp;
use onsite_model::wire::RowChange;
use onsite_model::{Asset, Customer, DeviceId, User, UserId, WorkOrder, WorkOrderId};
use serde_json::Value;

use super::interface::{DeviceInfo, WorkOrderFilter};
use crate::error::Result;

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

/// The device a token hash belongs to.
#[derive(Clone, Debug)]
pub struct TokenHolder {
    pub device_id: DeviceId,
    pub user_json: String,
    pub revoked: bool,
    pub last_seen: Option<Timestamp>,
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
    /// The outcome (JSON) stored for `(device, seq)`.
    fn stored_outcome(&self, device: DeviceId, seq: u64) -> Result<Option<String>>;
    /// The highest `device_seq` whose changes all lie at or below `high_water`.
    fn acked_through(&self, device: DeviceId, high_water: u64) -> Result<Option<u64>>;

    fn blob_held(&self, sha256: &str) -> Result<bool>;
    /// Whether a live photo or signature on a job assigned to `user` names `sha256`.
    fn blob_on_jobs_of(&self, user: UserId, sha256: &str) -> Result<bool>;
    /// Jobs whose completion waits for `sha256`.
    fn jobs_awaiting(&self, sha256: &str) -> Result<Vec<WorkOrderId>>;
}

pub trait WriteTx: ReadTx {
    /// Adds one to a counter and returns the new value.
    fn bump_counter(&self, name: Counter) -> Result<u64>;
    fn set_counter(&self, name: Counter, value: u64) -> Result<()>;

    /// Inserts or replaces a work order (its query columns and the evidence it waits for).
    fn put_work_order(&self, wo: &WorkOrder, seq: u64) -> Result<()>;
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
    #[allow(clippy::too_many_arguments)]
    fn store_outcome(
        &self,
        device: DeviceId,
        seq: u64,
        op_json: &str,
        outcome_json: &str,
        high_water: u64,
        at: Timestamp,
    ) -> Result<()>;

    fn insert_blob(&self, sha256: &str, size: u64, at: Timestamp) -> Result<()>;
}

/// A database the engine runs on.
pub trait Backend: Send + Sync + 'static {
    /// Random id created with the database; changes when it is restored from a backup.
    fn epoch(&self) -> &str;
    /// Runs `f` in one read transaction.
    fn read<T>(&self, f: impl FnOnce(&dyn ReadTx) -> Result<T>) -> Result<T>;
    /// Runs `f` in the serialized write transaction; commits when it returns `Ok`.
    fn write<T>(&self, f: impl FnOnce(&dyn WriteTx) -> Result<T>) -> Result<T>;
}
