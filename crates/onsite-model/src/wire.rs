//! The versioned HTTP/JSON sync protocol between a device and the server.
//!
//! - `POST /api/v1/auth/login` — [`LoginRequest`] → [`LoginResponse`]: a bearer token scoped
//!   to one device of one user.
//! - `POST /api/v1/sync/push` — [`PushRequest`] → [`PushResponse`]: ops in `device_seq`
//!   order, applied exactly once each. A seq already seen returns its stored outcome; a gap
//!   is refused with `409` and [`ErrorBody::expected_seq`].
//! - `GET /api/v1/sync/pull?cursor=N&limit=M` → [`PullResponse`]: the latest state of every
//!   row the device may see that changed after `cursor`, in `server_seq` order, paged.
//!
//! - Blobs (photo and signature bytes), content-addressed by sha256 and uploaded resumably:
//!   `HEAD /api/v1/blobs/{sha256}` (200 + `Content-Length` when stored, else 404 +
//!   [`UPLOAD_OFFSET`]), `PATCH /api/v1/blobs/{sha256}` (one chunk at [`UPLOAD_OFFSET`] with
//!   [`CHUNK_SHA256`]), `POST /api/v1/blobs/{sha256}/finish` → [`BlobInfo`], and
//!   `GET /api/v1/blobs/{sha256}` with `Range`.
//!
//! Errors are [`ErrorBody`] with a stable `code` and a message that says what to do.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::digest::sha256_hex;
use crate::entities::User;
use crate::hlc::Hlc;
use crate::ids::{ConflictId, DeviceId, WorkOrderId};
use crate::ops::Op;
use crate::time::{Timestamp, serde_ts};

pub const PROTOCOL_VERSION: u32 = 1;
/// Most ops one push may carry; a device with more sends several pushes.
pub const MAX_PUSH_OPS: usize = 500;
/// Most rows one pull page returns.
pub const MAX_PULL_LIMIT: u32 = 1000;

/// Largest blob the server stores.
pub const MAX_BLOB_BYTES: u64 = 50 * 1024 * 1024;
/// Largest chunk one `PATCH` may carry.
pub const MAX_CHUNK_BYTES: u64 = 4 * 1024 * 1024;
/// Header: bytes of an upload the server holds (request: where this chunk starts).
pub const UPLOAD_OFFSET: &str = "upload-offset";
/// Header: lower-case hex sha256 of the chunk in the body.
pub const CHUNK_SHA256: &str = "chunk-sha256";

pub use crate::digest::is_sha256_hex;

/// A blob the server holds in full: the answer to `POST /api/v1/blobs/{sha256}/finish`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlobInfo {
    pub sha256: String,
    pub size: u64,
    /// False when the server already had it (stored once, whoever sent it).
    pub newly_stored: bool,
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
    /// The id the device gave itself when its replica was created.
    pub device_id: DeviceId,
    pub device_name: String,
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginResponse {
    /// Shown once; the server keeps only its hash.
    pub token: String,
    pub user: User,
    pub device_id: DeviceId,
    #[serde(with = "serde_ts")]
    pub server_time: Timestamp,
    /// Changes when the server is restored from a backup: devices then re-push what the
    /// server no longer has and pull from the start.
    pub epoch: String,
}

/// The office console's sign-in: a username and password, no device (the session lives in
/// an HttpOnly cookie the server sets).
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct WebSignInRequest {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for WebSignInRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebSignInRequest")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// A signed-in console session, as the console sees it: who, the token its unsafe requests
/// carry in `X-CSRF-Token`, and when it ends.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct WebSession {
    pub user: User,
    /// Bound to the session: sent back as the `X-CSRF-Token` header of every POST, PATCH,
    /// PUT and DELETE the console makes.
    pub csrf_token: String,
    /// The session's absolute end, whatever the activity.
    #[serde(with = "serde_ts")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub expires_at: Timestamp,
    /// Seconds without a request after which the session ends.
    pub idle_timeout_secs: u64,
}

// Secrets never reach a log through Debug.
impl std::fmt::Debug for LoginRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginRequest")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field("device_id", &self.device_id)
            .field("device_name", &self.device_name)
            .finish()
    }
}

impl std::fmt::Debug for LoginResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginResponse")
            .field("token", &"<redacted>")
            .field("user", &self.user)
            .field("device_id", &self.device_id)
            .field("server_time", &self.server_time)
            .field("epoch", &self.epoch)
            .finish()
    }
}

/// Every row a device may see and their [`state_checksum`]: the server's answer to
/// `GET /api/v1/sync/snapshot`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub rows: Vec<VisibleRow>,
    pub checksum: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PushRequest {
    pub protocol: u32,
    pub device_id: DeviceId,
    pub ops: Vec<Op>,
}

// No deny_unknown_fields here: serde cannot combine it with the flattening in OpOutcome.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum OpResult {
    /// Applied as sent.
    Applied { server_seq: u64 },
    /// Applied after merging with a concurrent change to other fields or a status that had
    /// moved on compatibly.
    Merged { server_seq: u64 },
    /// Concurrent change of the same thing: one value won by the documented rule, the other
    /// is kept in the conflict row (and the job may need review).
    Conflict {
        server_seq: u64,
        conflict_id: ConflictId,
    },
    /// Not applied, with the reason; the op is still acknowledged so later ops go through.
    Rejected { code: String, reason: String },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OpOutcome {
    pub device_seq: u64,
    #[serde(flatten)]
    pub result: OpResult,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PushResponse {
    pub outcomes: Vec<OpOutcome>,
    /// Highest `device_seq` the server holds for this device.
    pub acked_device_seq: u64,
    #[serde(with = "serde_ts")]
    pub server_time: Timestamp,
    pub server_hlc: Hlc,
}

/// Entities a device replicates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RowKind {
    User,
    Customer,
    Asset,
    WorkOrder,
    StatusEvent,
    ChecklistAnswer,
    PartUsed,
    TimeEntry,
    Note,
    Photo,
    Signature,
    Feedback,
    Conflict,
}
crate::text_enum::text_enum!(RowKind {
    User => "user",
    Customer => "customer",
    Asset => "asset",
    WorkOrder => "work_order",
    StatusEvent => "status_event",
    ChecklistAnswer => "checklist_answer",
    PartUsed => "part_used",
    TimeEntry => "time_entry",
    Note => "note",
    Photo => "photo",
    Signature => "signature",
    Feedback => "feedback",
    Conflict => "conflict",
});

impl RowKind {
    /// The replicated row kind an op's entity lives in.
    pub fn of_entity(e: crate::ops::EntityKind) -> RowKind {
        use crate::ops::EntityKind as E;
        match e {
            E::WorkOrder => RowKind::WorkOrder,
            E::ChecklistAnswer => RowKind::ChecklistAnswer,
            E::PartUsed => RowKind::PartUsed,
            E::TimeEntry => RowKind::TimeEntry,
            E::Note => RowKind::Note,
            E::Photo => RowKind::Photo,
            E::Signature => RowKind::Signature,
            E::Feedback => RowKind::Feedback,
            E::Conflict => RowKind::Conflict,
        }
    }

    /// Rows that hang off one work order.
    pub fn is_job_record(self) -> bool {
        !matches!(
            self,
            RowKind::User | RowKind::Customer | RowKind::Asset | RowKind::WorkOrder
        )
    }
}

/// The state of one row after its latest change, or its removal from the device's view.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RowChange {
    pub server_seq: u64,
    pub kind: RowKind,
    pub id: String,
    /// `None` means: delete it locally (a tombstone, or the job left this device).
    pub row: Option<Value>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PullResponse {
    pub changes: Vec<RowChange>,
    /// Where the next pull starts; store it only after the page is stored.
    pub cursor: u64,
    pub has_more: bool,
    /// Hex sha256 of the canonical JSON of `changes`, to detect a damaged page.
    pub checksum: String,
    /// Highest `device_seq` of this device whose effect is included up to `cursor`: pending
    /// ops above it are re-applied on top of the page.
    pub acked_device_seq: u64,
    #[serde(with = "serde_ts")]
    pub server_time: Timestamp,
    pub server_hlc: Hlc,
    pub epoch: String,
}

/// A stored conflict: both stories, which one won and by what rule.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct ConflictRecord {
    pub id: ConflictId,
    pub work_order_id: WorkOrderId,
    pub entity: crate::ops::EntityKind,
    pub entity_id: String,
    /// The field, or `status` for a refused transition, or `row` for delete-vs-edit.
    pub field: String,
    pub kept: Value,
    pub lost: Value,
    pub rule: String,
    pub detail: String,
    #[serde(with = "serde_ts")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub created_at: Timestamp,
    #[serde(default, with = "serde_ts::option")]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub resolved_at: Option<Timestamp>,
    #[serde(default)]
    pub resolution: Option<Value>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub code: String,
    pub message: String,
    /// With `seq_gap`: the `device_seq` the server expects next.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_seq: Option<u64>,
}

/// Hex sha256 of the canonical JSON of a pull page. JSON objects keep sorted keys, so both
/// sides compute the same bytes.
pub fn page_checksum(changes: &[RowChange]) -> String {
    let bytes = serde_json::to_vec(changes).expect("row changes serialise");
    sha256_hex(&bytes)
}

/// One row of a device's visible state, for comparing a replica with the server.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VisibleRow {
    pub kind: RowKind,
    pub id: String,
    pub row: Value,
}

/// Hex sha256 over a visible state, independent of row order: equal on a device and on the
/// server exactly when they hold the same rows with the same content.
pub fn state_checksum(rows: &[VisibleRow]) -> String {
    let mut sorted: Vec<&VisibleRow> = rows.iter().collect();
    sorted.sort_by(|a, b| (a.kind, &a.id).cmp(&(b.kind, &b.id)));
    let bytes = serde_json::to_vec(&sorted).expect("rows serialise");
    sha256_hex(&bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_changes_with_the_content() {
        let mut page = vec![RowChange {
            server_seq: 1,
            kind: RowKind::Note,
            id: "n1".into(),
            row: Some(serde_json::json!({"body": "ok", "a": 1})),
        }];
        let a = page_checksum(&page);
        assert_eq!(a.len(), 64);
        page[0].row = Some(serde_json::json!({"a": 1, "body": "ok"}));
        assert_eq!(page_checksum(&page), a, "key order does not matter");
        page[0].row = Some(serde_json::json!({"a": 1, "body": "ko"}));
        assert_ne!(page_checksum(&page), a);
    }

    #[test]
    fn outcomes_flatten_on_the_wire() {
        let o = OpOutcome {
            device_seq: 4,
            result: OpResult::Applied { server_seq: 9 },
        };
        let v = serde_json::to_value(&o).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"device_seq": 4, "result": "applied", "server_seq": 9})
        );
    }
}
