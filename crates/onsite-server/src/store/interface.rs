//! What handlers call: the `Store` trait, one method per domain operation, and the types
//! that cross it.

use std::fmt;
use std::sync::Arc;

use chrono::NaiveDate;
use onsite_model::wire::{
    ConflictRecord, LoginRequest, LoginResponse, PullResponse, PushRequest, PushResponse,
};
use onsite_model::{
    Asset, AssetId, ChecklistAnswer, ConflictId, Customer, CustomerId, DeviceId, Feedback, JobType,
    Note, PartUsed, Photo, Priority, Role, SlaState, StatusAction, StatusEvent, TimeEntry, User,
    UserId, WorkOrder, WorkOrderId, WorkOrderStatus,
    time::{Timestamp, serde_ts},
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::Result;
use crate::live::ChangeFeed;

/// Who is calling: the signed-in user and the device their token belongs to. For a console
/// session (`Store::web_session`) `device_id` is an id derived from the session, naming no
/// registered device: the console never pushes, pulls or uploads (those endpoints take a
/// device's bearer token only).
#[derive(Clone, Debug, PartialEq)]
pub struct Principal {
    pub user: User,
    pub device_id: DeviceId,
}

/// How long a console session lasts: `idle` without a request, `lifetime` at most.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WebSessionPolicy {
    pub idle: std::time::Duration,
    pub lifetime: std::time::Duration,
}

impl Default for WebSessionPolicy {
    /// Two idle hours (a dispatcher away from the desk for a meeting stays signed in) and a
    /// working day at most.
    fn default() -> Self {
        WebSessionPolicy {
            idle: std::time::Duration::from_secs(2 * 3600),
            lifetime: std::time::Duration::from_secs(12 * 3600),
        }
    }
}

/// A console sign-in: the new session's secret id (for the cookie only) and what the
/// console is told.
#[derive(Clone)]
pub struct WebSignIn {
    pub session_id: String,
    pub session: onsite_model::wire::WebSession,
}

impl fmt::Debug for WebSignIn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebSignIn")
            .field("session_id", &"<redacted>")
            .field("session", &self.session)
            .finish()
    }
}

/// A password in memory; never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(pub String);

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

#[derive(Clone, Debug)]
pub struct NewUser {
    pub username: String,
    pub name: String,
    pub role: Role,
    pub password: Password,
    pub skills: Vec<String>,
    pub phone: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeviceInfo {
    pub id: DeviceId,
    pub user_id: UserId,
    pub username: String,
    pub name: String,
    #[serde(with = "serde_ts")]
    pub registered_at: Timestamp,
    #[serde(default, with = "serde_ts::option")]
    pub last_seen: Option<Timestamp>,
    #[serde(default, with = "serde_ts::option")]
    pub revoked_at: Option<Timestamp>,
    pub last_acked_seq: u64,
}

pub use onsite_model::wire::Snapshot;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewCustomer {
    pub name: String,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub lat: Option<f64>,
    #[serde(default)]
    pub lon: Option<f64>,
    #[serde(default)]
    pub notes: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewAsset {
    pub customer_id: CustomerId,
    pub model: String,
    #[serde(default)]
    pub serial: Option<String>,
    #[serde(default)]
    pub installed_on: Option<NaiveDate>,
    #[serde(default)]
    pub warranty_end: Option<NaiveDate>,
}

/// A work order as the office creates it; the server fills in id, number, status and the
/// SLA deadlines it is not given.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewWorkOrder {
    pub customer_id: CustomerId,
    #[serde(default)]
    pub asset_id: Option<AssetId>,
    pub job_type: JobType,
    #[serde(default = "normal_priority")]
    pub priority: Priority,
    pub problem: String,
    #[serde(default, with = "serde_ts::option")]
    pub reported_at: Option<Timestamp>,
    #[serde(default, with = "serde_ts::option")]
    pub respond_by: Option<Timestamp>,
    #[serde(default, with = "serde_ts::option")]
    pub resolve_by: Option<Timestamp>,
    #[serde(default, with = "serde_ts::option")]
    pub appointment_start: Option<Timestamp>,
    #[serde(default, with = "serde_ts::option")]
    pub appointment_end: Option<Timestamp>,
    #[serde(default)]
    pub assignee_id: Option<UserId>,
    /// The earlier job this one revisits: an existing work order of the same customer.
    #[serde(default)]
    pub revisit_of: Option<WorkOrderId>,
}

fn normal_priority() -> Priority {
    Priority::Normal
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WorkOrderFilter {
    #[serde(default)]
    pub status: Option<WorkOrderStatus>,
    #[serde(default)]
    pub assignee: Option<UserId>,
    /// Appointment starting at or after this time.
    #[serde(default, with = "serde_ts::option")]
    pub from: Option<Timestamp>,
    /// Appointment starting before this time.
    #[serde(default, with = "serde_ts::option")]
    pub to: Option<Timestamp>,
    #[serde(default)]
    pub needs_review: Option<bool>,
    /// Completed jobs whose evidence has not all arrived (`true`), or the others (`false`).
    #[serde(default)]
    pub awaiting_evidence: Option<bool>,
}

/// Which jobs of the quality-review queue to list.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QueueState {
    /// Queued and not reviewed yet.
    #[default]
    Pending,
    /// Reviewed at least once.
    Reviewed,
    All,
}

/// The query of the quality-review queue; every part optional.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QualityQueueFilter {
    #[serde(default)]
    pub state: Option<QueueState>,
    /// One technician's completed jobs only.
    #[serde(default)]
    pub technician: Option<UserId>,
}

/// The service KPIs of the jobs a caller may see (`onsite_model::kpi`), overall and, when
/// asked, per group.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KpiReport {
    /// Work orders the figures were computed over (any status).
    pub jobs: usize,
    pub all: onsite_model::kpi::Kpis,
    /// One entry per group with jobs, in key order (oldest period first); empty when no
    /// grouping was asked for.
    pub groups: Vec<KpiGroup>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KpiGroup {
    pub key: onsite_model::kpi::GroupKey,
    pub kpis: onsite_model::kpi::Kpis,
}

/// One work order with everything recorded on it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WorkOrderDetail {
    pub work_order: WorkOrder,
    pub sla: SlaState,
    pub history: Vec<StatusEvent>,
    pub checklist_answers: Vec<ChecklistAnswer>,
    pub notes: Vec<Note>,
    pub parts: Vec<PartUsed>,
    pub time_entries: Vec<TimeEntry>,
    pub feedback: Vec<Feedback>,
    pub photos: Vec<Photo>,
    pub signatures: Vec<onsite_model::Signature>,
    pub conflicts: Vec<ConflictRecord>,
    /// Callbacks, complaints and their history: the office's, absent for a technician.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_loop: Option<LoopRecord>,
    /// The quality reviews, oldest first (the last one counts): the office's, absent for a
    /// technician.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quality_reviews: Option<Vec<onsite_model::quality::QualityReview>>,
    /// The sign-off text as the record reads now, and whether each signature still matches
    /// the text it bound (`onsite_model::sign_off`).
    #[serde(default)]
    pub sign_off: onsite_model::sign_off::SignOffCheck,
}

/// One callback as the office's queue shows it: the stored task, and what the job's current
/// record makes of it (due time, urgency and why).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CallbackItem {
    pub callback: onsite_model::closed_loop::Callback,
    pub number: String,
    pub customer_id: CustomerId,
    #[serde(default)]
    pub assignee_id: Option<UserId>,
    #[serde(with = "serde_ts")]
    pub due_at: Timestamp,
    pub urgent: bool,
    pub urgent_reasons: Vec<onsite_model::closed_loop::UrgentReason>,
    pub overdue: bool,
}

/// Which callbacks to list (all when empty).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallbackFilter {
    /// Open (`true`) or done (`false`).
    #[serde(default)]
    pub open: Option<bool>,
    #[serde(default)]
    pub urgent: Option<bool>,
    #[serde(default)]
    pub overdue: Option<bool>,
    /// The job's technician.
    #[serde(default)]
    pub assignee: Option<UserId>,
    #[serde(default)]
    pub work_order: Option<WorkOrderId>,
}

/// A call the office records on a callback. Who and when come from the token and the
/// server's clock.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordCall {
    pub reached: bool,
    /// For a reached call: `satisfied`, `complaint` or `revisit_needed`.
    #[serde(default)]
    pub outcome: Option<onsite_model::kpi::CallbackOutcome>,
    /// For a call that reached nobody: when to try again (default: the policy's retry).
    #[serde(default, with = "serde_ts::option")]
    pub next_attempt_at: Option<Timestamp>,
    #[serde(default)]
    pub note: Option<String>,
    /// The complaint a `complaint` outcome opens.
    #[serde(default)]
    pub complaint: Option<NewComplaint>,
    /// The revisit's problem text for a `revisit_needed` outcome (default: "Revisit of …").
    #[serde(default)]
    pub revisit_problem: Option<String>,
}

/// What a recorded call led to.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CallRecorded {
    pub callback: CallbackItem,
    #[serde(default)]
    pub complaint: Option<ComplaintItem>,
    /// The linked work order a `revisit_needed` outcome created (unassigned).
    #[serde(default)]
    pub revisit: Option<WorkOrder>,
}

/// A complaint the office opens: on a job directly, or from a call.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewComplaint {
    pub summary: String,
    /// An office user; default: whoever opens it.
    #[serde(default)]
    pub owner_id: Option<UserId>,
    /// Must lie ahead; default: the policy's deadline after opening.
    #[serde(default, with = "serde_ts::option")]
    pub deadline: Option<Timestamp>,
}

/// A new owner or deadline for an open complaint.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComplaintPatch {
    #[serde(default)]
    pub owner_id: Option<UserId>,
    #[serde(default, with = "serde_ts::option")]
    pub deadline: Option<Timestamp>,
}

/// One complaint as the office's list shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ComplaintItem {
    pub complaint: onsite_model::closed_loop::Complaint,
    pub number: String,
    /// Open past its deadline.
    pub escalated: bool,
}

/// Which complaints to list (all when empty).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComplaintFilter {
    /// Open (`true`) or resolved (`false`).
    #[serde(default)]
    pub open: Option<bool>,
    #[serde(default)]
    pub escalated: Option<bool>,
    #[serde(default)]
    pub owner: Option<UserId>,
    #[serde(default)]
    pub work_order: Option<WorkOrderId>,
}

/// The closed loop of one job: its callbacks, complaints and their whole history.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LoopRecord {
    pub callbacks: Vec<CallbackItem>,
    pub complaints: Vec<ComplaintItem>,
    pub events: Vec<onsite_model::closed_loop::LoopEvent>,
}

/// The blobs rows name, read at `server_seq` `as_of`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BlobReferences {
    pub hashes: std::collections::HashSet<String>,
    pub as_of: u64,
}

/// The server's storage, one method per domain operation.
pub trait Store: Send + Sync {
    /// Random id created with the database; changes when it is restored from a backup.
    fn epoch(&self) -> Result<String>;

    fn create_user(&self, new: &NewUser) -> Result<User>;
    fn list_users(&self) -> Result<Vec<User>>;
    /// Checks the password, registers the device to the user and issues a fresh token.
    fn login(&self, req: &LoginRequest) -> Result<LoginResponse>;
    /// The principal a bearer token belongs to; refuses unknown and revoked tokens.
    fn authenticate(&self, token: &str) -> Result<Principal>;
    fn list_devices(&self) -> Result<Vec<DeviceInfo>>;
    /// Checks the password of an office user (technicians are refused) and opens a new
    /// console session; `replaces`, the id of a session the browser still held, is ended.
    fn web_sign_in(
        &self,
        req: &onsite_model::wire::WebSignInRequest,
        policy: WebSessionPolicy,
        replaces: Option<&str>,
    ) -> Result<WebSignIn>;
    /// The principal of a live console session (refusing ended and expired ones), noting
    /// its use.
    fn web_session(
        &self,
        session_id: &str,
        policy: WebSessionPolicy,
    ) -> Result<(Principal, onsite_model::wire::WebSession)>;
    /// Ends a console session on the server; false when it was not stored.
    fn web_sign_out(&self, session_id: &str) -> Result<bool>;
    fn revoke_device(&self, id: DeviceId) -> Result<DeviceInfo>;
    /// Writes the `last_seen` of devices heard from since the last write (requests only note
    /// it; `serve` calls this every half minute).
    fn flush_seen(&self) -> Result<()>;

    fn apply_push(&self, who: &Principal, req: &PushRequest) -> Result<PushResponse>;
    /// The latest `server_seq`: a device whose cursor is below it may have something to pull.
    fn current_seq(&self) -> Result<u64>;
    /// Where this instance hears of committed changes, each naming the users it concerns.
    fn changes(&self) -> &Arc<ChangeFeed>;
    fn pull(&self, who: &Principal, cursor: u64, limit: u32) -> Result<PullResponse>;
    fn snapshot(&self, who: &Principal) -> Result<Snapshot>;

    fn create_customer(&self, new: &NewCustomer) -> Result<Customer>;
    fn update_customer(&self, id: CustomerId, patch: &Map<String, Value>) -> Result<Customer>;
    fn list_customers(&self) -> Result<Vec<Customer>>;
    fn create_asset(&self, new: &NewAsset) -> Result<Asset>;
    fn update_asset(&self, id: AssetId, patch: &Map<String, Value>) -> Result<Asset>;
    fn list_assets(&self) -> Result<Vec<Asset>>;

    /// Creates all or none; errors name the 1-based position of the offending entry.
    fn create_work_orders(&self, new: &[NewWorkOrder]) -> Result<Vec<WorkOrder>>;
    /// Creates all or none like `create_work_orders`, for files of any size: every row is
    /// checked first without holding the write path, then stored in short chunks, so pushes
    /// and reads go on meanwhile (`engine::import`).
    fn import_work_orders(&self, new: &[NewWorkOrder]) -> Result<Vec<WorkOrder>>;
    /// Sets dispatcher-owned fields (schedule, SLA, facts of the request).
    fn update_work_order(&self, id: WorkOrderId, patch: &Map<String, Value>) -> Result<WorkOrder>;
    /// Assigns, reassigns (`Some`) or unassigns (`None`).
    fn assign_work_order(&self, id: WorkOrderId, assignee: Option<UserId>) -> Result<WorkOrder>;
    /// An office step of the status machine (cancel, reopen).
    fn office_transition(
        &self,
        id: WorkOrderId,
        action: StatusAction,
        reason: Option<String>,
    ) -> Result<WorkOrder>;
    fn get_work_order(&self, id: WorkOrderId) -> Result<WorkOrder>;
    fn list_work_orders(&self, filter: &WorkOrderFilter) -> Result<Vec<WorkOrder>>;
    /// The work orders `who` may list: technicians only their own.
    fn list_work_orders_for(
        &self,
        who: &Principal,
        filter: WorkOrderFilter,
    ) -> Result<Vec<WorkOrder>>;
    fn work_order_detail(&self, id: WorkOrderId) -> Result<WorkOrderDetail>;
    /// One job's record, if `who` may see it.
    fn work_order_detail_for(&self, who: &Principal, id: WorkOrderId) -> Result<WorkOrderDetail>;
    fn resolve_conflict(&self, id: ConflictId, keep: Value) -> Result<ConflictRecord>;
    fn list_conflicts(&self, open_only: bool) -> Result<Vec<ConflictRecord>>;
    /// The KPIs of the jobs `who` may see (technicians their own), at the store's clock
    /// (`opts.now` is replaced by it), grouped by `group` when given.
    fn kpis_for(
        &self,
        who: &Principal,
        opts: onsite_model::kpi::KpiOptions,
        group: Option<onsite_model::kpi::Group>,
    ) -> Result<KpiReport>;

    /// The callback queue: open first, urgent on top, then by due time.
    fn list_callbacks(&self, filter: &CallbackFilter) -> Result<Vec<CallbackItem>>;
    /// Records a call `by` made on a callback, and in the same transaction what it leads to
    /// (a retry, a complaint, a linked revisit).
    fn record_call(
        &self,
        by: UserId,
        id: onsite_model::CallbackId,
        call: &RecordCall,
    ) -> Result<CallRecorded>;
    /// Complaints: escalated first, then open by deadline, then resolved.
    fn list_complaints(&self, filter: &ComplaintFilter) -> Result<Vec<ComplaintItem>>;
    fn get_complaint(&self, id: onsite_model::ComplaintId) -> Result<ComplaintItem>;
    fn open_complaint(
        &self,
        by: UserId,
        job: WorkOrderId,
        new: &NewComplaint,
    ) -> Result<ComplaintItem>;
    fn update_complaint(
        &self,
        by: UserId,
        id: onsite_model::ComplaintId,
        patch: &ComplaintPatch,
    ) -> Result<ComplaintItem>;
    fn resolve_complaint(
        &self,
        by: UserId,
        id: onsite_model::ComplaintId,
        resolution: &str,
    ) -> Result<ComplaintItem>;

    /// Notes that the blob store now holds `sha256` in full and releases every completed job
    /// that was waiting for it (each gets a fresh `server_seq`). Idempotent. Returns the jobs
    /// released.
    fn record_blob(&self, sha256: &str, size: u64) -> Result<Vec<WorkOrderId>>;
    /// [`Store::record_blob`] for bytes `uploader`'s upload just stored: they belong to the
    /// jobs of that device's user, and its rows may name them.
    fn record_blob_upload(
        &self,
        sha256: &str,
        size: u64,
        uploader: DeviceId,
    ) -> Result<Vec<WorkOrderId>>;
    /// Office roles may read every blob; a technician those referenced by a photo or
    /// signature on a job currently assigned to them.
    fn may_read_blob(&self, who: &Principal, sha256: &str) -> Result<bool>;
    /// Every blob a row names (photos, signatures, tombstones included), as of one
    /// consistent read: what garbage collection must keep.
    fn blob_references(&self) -> Result<BlobReferences>;
    /// Drops from the catalogue those of `unreferenced` (not named as of `as_of`) that no row
    /// written since names and no job waits for, on the apply path so no push slips between;
    /// returns them: their bytes may then be removed.
    fn forget_blobs(&self, unreferenced: &[String], as_of: u64) -> Result<Vec<String>>;

    /// Every technician ranked for one open job (skills, distance from their previous job
    /// that day, load), each with its reasons; days at `utc_offset_minutes`, at the store's
    /// clock.
    fn suggestions(
        &self,
        id: WorkOrderId,
        utc_offset_minutes: i32,
    ) -> Result<onsite_model::dispatch::Suggestions>;
    /// The dispatch board over `[from, to)` (default: today and the next six days at
    /// `utc_offset_minutes`): each technician's jobs, the unassigned queue, SLA-risk flags
    /// at the store's clock.
    fn dispatch_board(
        &self,
        from: Option<Timestamp>,
        to: Option<Timestamp>,
        utc_offset_minutes: i32,
    ) -> Result<onsite_model::dispatch::Board>;

    /// The quality-review queue (office only): completed jobs sampled, rated low or with a
    /// conduct "no", and those reviewed, with the reasons and the counts per technician.
    fn quality_queue(
        &self,
        who: &Principal,
        filter: &QualityQueueFilter,
    ) -> Result<onsite_model::quality::ReviewQueue>;
    /// Stores `who`'s review of a completed job (office only); earlier reviews are kept.
    fn review_work_order(
        &self,
        who: &Principal,
        id: WorkOrderId,
        input: &onsite_model::quality::ReviewInput,
    ) -> Result<onsite_model::quality::QualityReview>;
    /// Every review of one job, oldest first (office only).
    fn quality_reviews(
        &self,
        who: &Principal,
        id: WorkOrderId,
    ) -> Result<Vec<onsite_model::quality::QualityReview>>;
}
