//! The replicated records (work orders, customers, assets, answers, parts, times, notes,
//! photos, signatures, feedback) as they travel between replica, wire and server, each
//! with the `validate()` both sides run before storing it.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::digest::is_sha256_hex;
use crate::ids::*;
pub use crate::kinds::{JobType, PhotoKind, Priority, TimeKind};
use crate::roles::Role;
use crate::status::{StatusAction, TransitionError, WorkOrderStatus, next_status};
pub use crate::text_enum::UnknownValue;
use crate::time::{Timestamp, serde_ts};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct User {
    pub id: UserId,
    pub username: String,
    pub name: String,
    pub role: Role,
    #[serde(default)]
    pub skills: Vec<String>,
    #[serde(default)]
    pub phone: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct Customer {
    pub id: CustomerId,
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
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct Asset {
    pub id: AssetId,
    pub customer_id: CustomerId,
    pub model: String,
    #[serde(default)]
    pub serial: Option<String>,
    #[serde(default)]
    pub installed_on: Option<NaiveDate>,
    #[serde(default)]
    pub warranty_end: Option<NaiveDate>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct WorkOrder {
    pub id: WorkOrderId,
    /// Human number for display, e.g. `WO-2026-000123`.
    pub number: String,
    pub customer_id: CustomerId,
    #[serde(default)]
    pub asset_id: Option<AssetId>,
    pub job_type: JobType,
    pub priority: Priority,
    pub problem: String,
    #[serde(with = "serde_ts")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub reported_at: Timestamp,
    #[serde(default, with = "serde_ts::option")]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub respond_by: Option<Timestamp>,
    #[serde(default, with = "serde_ts::option")]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub resolve_by: Option<Timestamp>,
    #[serde(default, with = "serde_ts::option")]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub appointment_start: Option<Timestamp>,
    #[serde(default, with = "serde_ts::option")]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub appointment_end: Option<Timestamp>,
    #[serde(default)]
    pub assignee_id: Option<UserId>,
    /// The earlier job this one returns to (the revisit link, set by the office): an
    /// existing, different work order of the same customer. The earlier job loses its
    /// first-time fix when this one is reported within the revisit window (docs/KPIS.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revisit_of: Option<WorkOrderId>,
    pub status: WorkOrderStatus,
    #[serde(default)]
    pub diagnosis: Option<String>,
    #[serde(default)]
    pub work_done: Option<String>,
    #[serde(default)]
    pub result: Option<String>,
    #[serde(default)]
    pub follow_up_needed: bool,
    /// The serial the technician read off the asset's plate on this visit and accepted,
    /// where the asset had none recorded (see the serial-plate scan on the device). The
    /// office's asset record is never overwritten by a device.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plate_serial: Option<String>,
    #[serde(default, with = "serde_ts::option")]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub en_route_at: Option<Timestamp>,
    /// First arrival on site: the response time is measured here.
    #[serde(default, with = "serde_ts::option")]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub arrived_at: Option<Timestamp>,
    #[serde(default, with = "serde_ts::option")]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub started_at: Option<Timestamp>,
    #[serde(default, with = "serde_ts::option")]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub completed_at: Option<Timestamp>,
    #[serde(default, with = "serde_ts::option")]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub cancelled_at: Option<Timestamp>,
    /// Set when a transition raced another one (e.g. completed offline while cancelled in
    /// the office): a person decides, nothing is dropped.
    #[serde(default)]
    pub needs_review: bool,
    /// sha256 of evidence a completion listed whose bytes the server does not hold yet. The
    /// job counts as done (KPIs, "completed" lists) only once this is empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub awaiting_evidence: Vec<String>,
}

impl WorkOrder {
    /// A new, unassigned request with nothing recorded yet; callers set the schedule, SLA
    /// deadlines and assignment on top.
    pub fn new_request(
        id: WorkOrderId,
        number: String,
        customer_id: CustomerId,
        job_type: JobType,
        priority: Priority,
        problem: String,
        reported_at: Timestamp,
    ) -> WorkOrder {
        WorkOrder {
            id,
            number,
            customer_id,
            asset_id: None,
            job_type,
            priority,
            problem,
            reported_at,
            respond_by: None,
            resolve_by: None,
            appointment_start: None,
            appointment_end: None,
            assignee_id: None,
            revisit_of: None,
            status: WorkOrderStatus::New,
            diagnosis: None,
            work_done: None,
            result: None,
            follow_up_needed: false,
            plate_serial: None,
            en_route_at: None,
            arrived_at: None,
            started_at: None,
            completed_at: None,
            cancelled_at: None,
            needs_review: false,
            awaiting_evidence: Vec::new(),
        }
    }

    /// Completed, with every piece of evidence the completion listed on the server.
    pub fn is_done(&self) -> bool {
        self.status == WorkOrderStatus::Completed && self.awaiting_evidence.is_empty()
    }

    /// Takes one step of the status machine at event time `at`, recording the times the
    /// SLA clocks read. A refused step leaves the work order exactly as it was.
    pub fn apply_transition(
        &mut self,
        action: StatusAction,
        at: Timestamp,
    ) -> Result<WorkOrderStatus, TransitionError> {
        let next = next_status(self.status, action, self.assignee_id.is_some())?;
        match action {
            StatusAction::StartTravel => {
                self.en_route_at.get_or_insert(at);
            }
            StatusAction::Arrive => {
                self.arrived_at.get_or_insert(at);
            }
            // Hold is allowed straight from arrival, so resuming may be when work starts.
            StatusAction::StartWork | StatusAction::Resume => {
                self.started_at.get_or_insert(at);
            }
            StatusAction::Complete => self.completed_at = Some(at),
            StatusAction::Cancel => self.cancelled_at = Some(at),
            StatusAction::Reopen => {
                self.completed_at = None;
                self.cancelled_at = None;
                self.awaiting_evidence.clear();
            }
            StatusAction::Unassign => self.assignee_id = None,
            StatusAction::Assign | StatusAction::Hold => {}
        }
        self.status = next;
        Ok(next)
    }
}

/// Longest customer or asset name (the customer's name, the asset's model), in characters.
pub const NAME_MAX_CHARS: usize = 200;
/// Longest phone number or serial number, in characters.
pub const SHORT_TEXT_MAX_CHARS: usize = 100;
/// Longest address, in characters.
pub const ADDRESS_MAX_CHARS: usize = 500;
/// Longest free text on a record: a problem description, the customer's notes, the
/// technician's diagnosis, work done and result (the same limit as one note).
pub const TEXT_MAX_CHARS: usize = NOTE_MAX_CHARS;

/// Refuses text longer than `max` characters, naming what it is.
fn check_len(what: &str, text: Option<&str>, max: usize) -> Result<(), String> {
    match text.map(|t| t.chars().count()) {
        Some(n) if n > max => Err(format!(
            "{what} is limited to {max} characters (this one has {n}); shorten it"
        )),
        _ => Ok(()),
    }
}

/// Refuses text that is empty once trimmed.
fn check_present(what: &str, text: &str) -> Result<(), String> {
    if text.trim().is_empty() {
        return Err(format!("{what} is empty; enter it"));
    }
    Ok(())
}

/// Refuses a latitude or longitude outside the globe.
fn check_coordinates(what: &str, lat: Option<f64>, lon: Option<f64>) -> Result<(), String> {
    for (axis, value, max) in [("latitude", lat, 90.0), ("longitude", lon, 180.0)] {
        if let Some(v) = value
            && !(v.is_finite() && v.abs() <= max)
        {
            return Err(format!(
                "{what} {axis} {v} is not between -{max} and {max}; enter degrees, or leave it empty"
            ));
        }
    }
    Ok(())
}

impl Customer {
    /// What the office may store for a customer, on create, update and import alike.
    pub fn validate(&self) -> Result<(), String> {
        check_present("the customer's name", &self.name)?;
        check_len("the customer's name", Some(&self.name), NAME_MAX_CHARS)?;
        check_len(
            "the customer's phone",
            self.phone.as_deref(),
            SHORT_TEXT_MAX_CHARS,
        )?;
        check_len(
            "the customer's address",
            self.address.as_deref(),
            ADDRESS_MAX_CHARS,
        )?;
        check_len(
            "the customer's notes",
            self.notes.as_deref(),
            TEXT_MAX_CHARS,
        )?;
        check_coordinates("the customer's", self.lat, self.lon)
    }
}

impl Asset {
    /// What the office may store for an asset, on create, update and import alike.
    pub fn validate(&self) -> Result<(), String> {
        check_present("the asset's model", &self.model)?;
        check_len("the asset's model", Some(&self.model), NAME_MAX_CHARS)?;
        check_len(
            "the asset's serial",
            self.serial.as_deref(),
            SHORT_TEXT_MAX_CHARS,
        )?;
        if let (Some(installed), Some(end)) = (self.installed_on, self.warranty_end)
            && end < installed
        {
            return Err(format!(
                "the warranty ends ({end}) before the asset was installed ({installed}); check both dates"
            ));
        }
        Ok(())
    }
}

/// Work-order fields with a rule of their own in [`WorkOrder::validate_field`].
const CHECKED_FIELDS: &[&str] = &[
    "problem",
    "reported_at",
    "appointment_start",
    "diagnosis",
    "work_done",
    "result",
    "plate_serial",
    "revisit_of",
];

impl WorkOrder {
    /// The whole work order as the office creates, updates or imports it.
    pub fn validate(&self) -> Result<(), String> {
        CHECKED_FIELDS
            .iter()
            .try_for_each(|f| self.validate_field(f))
    }

    /// The rule that concerns `field` (and the fields it is compared with): what a write of
    /// that one field checks, from the office or from a device.
    pub fn validate_field(&self, field: &str) -> Result<(), String> {
        match field {
            "problem" => {
                check_present("the problem description", &self.problem)?;
                check_len(
                    "the problem description",
                    Some(&self.problem),
                    TEXT_MAX_CHARS,
                )
            }
            "diagnosis" => check_len("the diagnosis", self.diagnosis.as_deref(), TEXT_MAX_CHARS),
            "work_done" => check_len("the work done", self.work_done.as_deref(), TEXT_MAX_CHARS),
            "result" => check_len("the result", self.result.as_deref(), TEXT_MAX_CHARS),
            "plate_serial" => {
                if let Some(serial) = &self.plate_serial {
                    check_present("the serial read from the plate", serial)?;
                }
                check_len(
                    "the serial read from the plate",
                    self.plate_serial.as_deref(),
                    SHORT_TEXT_MAX_CHARS,
                )
            }
            "reported_at" | "respond_by" | "resolve_by" => {
                for (what, due) in [
                    ("respond by", self.respond_by),
                    ("resolve by", self.resolve_by),
                ] {
                    if let Some(due) = due
                        && due < self.reported_at
                    {
                        return Err(format!(
                            "{what} ({}) is before the problem was reported ({}); a deadline follows the report",
                            crate::time::format_ts(&due),
                            crate::time::format_ts(&self.reported_at)
                        ));
                    }
                }
                Ok(())
            }
            "revisit_of" if self.revisit_of == Some(self.id) => {
                Err("a work order cannot be a revisit of itself; name the earlier job".into())
            }
            "appointment_start" | "appointment_end" => {
                match (self.appointment_start, self.appointment_end) {
                    (Some(s), Some(e)) if e < s => {
                        Err("the appointment window ends before it starts".into())
                    }
                    _ => Ok(()),
                }
            }
            _ => Ok(()),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct StatusEvent {
    pub id: StatusEventId,
    pub work_order_id: WorkOrderId,
    pub action: StatusAction,
    pub from: WorkOrderStatus,
    pub to: WorkOrderStatus,
    #[serde(with = "serde_ts")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub at: Timestamp,
    #[serde(default)]
    pub reason: Option<String>,
    /// How far `at` was moved from the device's own wall-clock reading, in milliseconds:
    /// the skew the device had measured against the server, plus the server's bound (no
    /// event after the server received it). Absent when `at` is the device's reading.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub clock_correction_ms: Option<i64>,
}

/// The answer to one checklist item of one job (one row per job and item; its id is
/// [`crate::ops::checklist_answer_id`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct ChecklistAnswer {
    pub id: String,
    pub work_order_id: WorkOrderId,
    pub item_key: String,
    pub value: crate::checklist::AnswerValue,
    #[serde(with = "serde_ts")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub answered_at: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct PartUsed {
    pub id: PartUsedId,
    pub work_order_id: WorkOrderId,
    pub part_no: String,
    pub description: String,
    pub quantity: f64,
    #[serde(with = "serde_ts")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub created_at: Timestamp,
}

/// Longest part number, in characters.
pub const PART_NO_MAX_CHARS: usize = 100;
/// Longest part description, in characters.
pub const PART_DESCRIPTION_MAX_CHARS: usize = 1000;

impl PartUsed {
    pub fn validate(&self) -> Result<(), String> {
        if self.part_no.trim().is_empty() {
            return Err("part number is empty; enter the number printed on the part".into());
        }
        if self.part_no.chars().count() > PART_NO_MAX_CHARS {
            return Err(format!(
                "part number is longer than {PART_NO_MAX_CHARS} characters; enter the number printed on the part"
            ));
        }
        if self.description.chars().count() > PART_DESCRIPTION_MAX_CHARS {
            return Err(format!(
                "part description is longer than {PART_DESCRIPTION_MAX_CHARS} characters; shorten it"
            ));
        }
        if !(self.quantity.is_finite() && self.quantity > 0.0 && self.quantity <= 10_000.0) {
            return Err(format!(
                "quantity {} is not valid; enter a positive number up to 10000",
                self.quantity
            ));
        }
        Ok(())
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct TimeEntry {
    pub id: TimeEntryId,
    pub work_order_id: WorkOrderId,
    pub kind: TimeKind,
    #[serde(with = "serde_ts")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub started_at: Timestamp,
    #[serde(with = "serde_ts")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub ended_at: Timestamp,
}

impl TimeEntry {
    pub fn validate(&self) -> Result<(), String> {
        if self.ended_at < self.started_at {
            return Err("time entry ends before it starts".into());
        }
        Ok(())
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct Note {
    pub id: NoteId,
    pub work_order_id: WorkOrderId,
    pub body: String,
    #[serde(default)]
    pub author_id: Option<UserId>,
    #[serde(with = "serde_ts")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub created_at: Timestamp,
}

/// Longest note body, in characters.
pub const NOTE_MAX_CHARS: usize = 8000;

impl Note {
    pub fn validate(&self) -> Result<(), String> {
        if self.body.trim().is_empty() {
            return Err("note is empty".into());
        }
        let chars = self.body.chars().count();
        if chars > NOTE_MAX_CHARS {
            return Err(format!(
                "a note is limited to {NOTE_MAX_CHARS} characters (this one has {chars}); split it into several notes"
            ));
        }
        Ok(())
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct Photo {
    pub id: PhotoId,
    pub work_order_id: WorkOrderId,
    /// Content address of the stored bytes (lower-case hex sha256).
    pub sha256: String,
    pub kind: PhotoKind,
    #[serde(default)]
    pub caption: Option<String>,
    #[serde(default, with = "serde_ts::option")]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub taken_at: Option<Timestamp>,
    #[serde(default)]
    pub lat: Option<f64>,
    #[serde(default)]
    pub lon: Option<f64>,
    #[serde(default)]
    pub width: Option<u32>,
    #[serde(default)]
    pub height: Option<u32>,
    pub size_bytes: u64,
    #[serde(with = "serde_ts")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub created_at: Timestamp,
    /// Content address of the thumbnail (a small JPEG made on the device), when one was made.
    #[serde(default)]
    pub thumb_sha256: Option<String>,
}

/// Longest photo caption, in characters.
pub const CAPTION_MAX_CHARS: usize = 500;

impl Photo {
    pub fn validate(&self) -> Result<(), String> {
        if !is_sha256_hex(&self.sha256) {
            return Err(format!(
                "photo sha256 {:?} is not 64 lower-case hex digits",
                self.sha256
            ));
        }
        if let Some(thumb) = &self.thumb_sha256
            && !is_sha256_hex(thumb)
        {
            return Err(format!(
                "photo thumbnail sha256 {thumb:?} is not 64 lower-case hex digits"
            ));
        }
        if self
            .caption
            .as_ref()
            .is_some_and(|c| c.chars().count() > CAPTION_MAX_CHARS)
        {
            return Err(format!(
                "a photo caption is limited to {CAPTION_MAX_CHARS} characters; shorten it"
            ));
        }
        for (what, value, max) in [("latitude", self.lat, 90.0), ("longitude", self.lon, 180.0)] {
            if let Some(v) = value
                && !(v.is_finite() && v.abs() <= max)
            {
                return Err(format!(
                    "photo {what} {v} is not between -{max} and {max}; attach the photo without a location"
                ));
            }
        }
        Ok(())
    }
}

/// A point of a signature stroke: position on the pad and milliseconds since the first point.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct StrokePoint {
    pub x: f32,
    pub y: f32,
    pub t: u32,
}

/// No signature pad is this large; larger coordinates are a bug or a forged payload.
pub const STROKE_MAX_COORD: f32 = 100_000.0;
/// Most points one signature may have.
pub const SIGNATURE_MAX_POINTS: usize = 50_000;
/// Most strokes one signature may have.
pub const SIGNATURE_MAX_STROKES: usize = 1_000;
/// Longest signer name, in characters.
pub const SIGNER_NAME_MAX_CHARS: usize = 200;

/// Refuses strokes a pad cannot produce: non-finite or absurd coordinates, too many points,
/// or an empty signature.
pub fn validate_strokes(strokes: &[Vec<StrokePoint>]) -> Result<(), String> {
    let points: usize = strokes.iter().map(Vec::len).sum();
    if points < 2 {
        return Err("the signature is empty; ask the customer to sign on the pad".into());
    }
    if strokes.len() > SIGNATURE_MAX_STROKES || points > SIGNATURE_MAX_POINTS {
        return Err(format!(
            "the signature has {} strokes and {points} points; the limit is {SIGNATURE_MAX_STROKES} strokes and {SIGNATURE_MAX_POINTS} points — clear the pad and sign again",
            strokes.len()
        ));
    }
    if let Some(p) = strokes.iter().flatten().find(|p| {
        !(p.x.is_finite() && p.y.is_finite())
            || p.x.abs() > STROKE_MAX_COORD
            || p.y.abs() > STROKE_MAX_COORD
    }) {
        return Err(format!(
            "the signature has a point at ({}, {}), outside any signature pad; clear the pad and sign again",
            p.x, p.y
        ));
    }
    Ok(())
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct Signature {
    pub id: SignatureId,
    pub work_order_id: WorkOrderId,
    pub signer_name: String,
    #[serde(with = "serde_ts")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub signed_at: Timestamp,
    pub strokes: Vec<Vec<StrokePoint>>,
    /// sha256 of the rendered PNG, once rendered.
    #[serde(default)]
    pub png_sha256: Option<String>,
    /// sha256 of the report text shown to the signer.
    pub report_sha256: String,
}

impl Signature {
    pub fn validate(&self) -> Result<(), String> {
        Signature::validate_signer_name(&self.signer_name)?;
        validate_strokes(&self.strokes)?;
        if let Some(png) = &self.png_sha256
            && !is_sha256_hex(png)
        {
            return Err(format!(
                "signature image sha256 {png:?} is not 64 lower-case hex digits"
            ));
        }
        if !is_sha256_hex(&self.report_sha256) {
            return Err(format!(
                "signature report sha256 {:?} is not 64 lower-case hex digits",
                self.report_sha256
            ));
        }
        Ok(())
    }

    /// The part of [`Signature::validate`] about the name, for checking it before the
    /// strokes are rendered.
    pub fn validate_signer_name(name: &str) -> Result<(), String> {
        if name.trim().is_empty() {
            return Err("signature has no signer name".into());
        }
        if name.chars().count() > SIGNER_NAME_MAX_CHARS {
            return Err(format!(
                "the signer's name is limited to {SIGNER_NAME_MAX_CHARS} characters; shorten it"
            ));
        }
        Ok(())
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct Feedback {
    pub id: FeedbackId,
    pub work_order_id: WorkOrderId,
    /// 1 (poor) to 5 (excellent).
    pub rating: u8,
    /// Net promoter score answer, 0 to 10.
    #[serde(default)]
    pub nps: Option<u8>,
    #[serde(default)]
    pub comment: Option<String>,
    #[serde(with = "serde_ts")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub created_at: Timestamp,
}

/// Longest feedback comment, in characters.
pub const FEEDBACK_COMMENT_MAX_CHARS: usize = 2000;

impl Feedback {
    pub fn validate(&self) -> Result<(), String> {
        if !(1..=5).contains(&self.rating) {
            return Err(format!(
                "rating {} is out of range; choose 1 to 5 stars",
                self.rating
            ));
        }
        if let Some(nps) = self.nps
            && nps > 10
        {
            return Err(format!(
                "recommendation score {nps} is out of range; choose 0 to 10"
            ));
        }
        if self
            .comment
            .as_ref()
            .is_some_and(|c| c.chars().count() > FEEDBACK_COMMENT_MAX_CHARS)
        {
            return Err(format!(
                "the comment is limited to {FEEDBACK_COMMENT_MAX_CHARS} characters; shorten it"
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests;
