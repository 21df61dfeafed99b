//! The change log: what one local write records so the server can replay it exactly once.
//!
//! Every op concerns one work order (its own fields or a record hanging off it), which is
//! also what the server authorises against.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::hlc::Hlc;
use crate::ids::{ConflictId, DeviceId, StatusEventId, TxId, WorkOrderId};
pub use crate::roles::{FieldOwner, Role};
use crate::status::{StatusAction, WorkOrderStatus};
use crate::text_enum::text_enum;
use crate::time::{Timestamp, serde_ts};

/// Version of the op and row shapes. Bumped when a shape changes; the server refuses ops
/// of a version it does not know, with the version it expects.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum EntityKind {
    WorkOrder,
    ChecklistAnswer,
    PartUsed,
    TimeEntry,
    Note,
    Photo,
    Signature,
    Feedback,
    Conflict,
}
text_enum!(EntityKind {
    WorkOrder => "work_order",
    ChecklistAnswer => "checklist_answer",
    PartUsed => "part_used",
    TimeEntry => "time_entry",
    Note => "note",
    Photo => "photo",
    Signature => "signature",
    Feedback => "feedback",
    Conflict => "conflict",
});

/// Work-order fields a dispatcher owns: the schedule, the assignment, the SLA and the facts
/// of the request.
pub const DISPATCHER_FIELDS: &[&str] = &[
    "number",
    "customer_id",
    "asset_id",
    "job_type",
    "priority",
    "problem",
    "reported_at",
    "respond_by",
    "resolve_by",
    "appointment_start",
    "appointment_end",
    "assignee_id",
    "revisit_of",
];

/// Work-order fields a technician owns: what they found and did.
pub const TECHNICIAN_FIELDS: &[&str] = &[
    "diagnosis",
    "work_done",
    "result",
    "follow_up_needed",
    "plate_serial",
];

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{entity} has no field {field:?} that can be set; settable fields: {}", settable.join(", "))]
pub struct UnknownField {
    pub entity: EntityKind,
    pub field: String,
    pub settable: Vec<&'static str>,
}

/// Who owns `field` of `entity`. The status and its times are not fields: they change only
/// through transitions.
pub fn field_owner(entity: EntityKind, field: &str) -> Result<FieldOwner, UnknownField> {
    let unknown = |settable: &[&'static str]| UnknownField {
        entity,
        field: field.to_owned(),
        settable: settable.to_vec(),
    };
    match entity {
        EntityKind::WorkOrder => {
            if DISPATCHER_FIELDS.contains(&field) {
                Ok(FieldOwner::Dispatcher)
            } else if TECHNICIAN_FIELDS.contains(&field) {
                Ok(FieldOwner::Technician)
            } else {
                Err(unknown(&[DISPATCHER_FIELDS, TECHNICIAN_FIELDS].concat()))
            }
        }
        EntityKind::ChecklistAnswer if field == "value" => Ok(FieldOwner::Technician),
        EntityKind::ChecklistAnswer => Err(unknown(&["value"])),
        EntityKind::Note => Ok(FieldOwner::Anyone),
        EntityKind::Conflict => Ok(FieldOwner::Dispatcher),
        EntityKind::PartUsed
        | EntityKind::TimeEntry
        | EntityKind::Photo
        | EntityKind::Signature
        | EntityKind::Feedback => Ok(FieldOwner::Technician),
    }
}

/// What an op does.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Change {
    /// One field of an existing row, with the value it replaced.
    Set {
        field: String,
        old: Value,
        new: Value,
    },
    /// A new row with its own id (notes, parts, photos, …): adding never conflicts.
    Insert { row: Value },
    /// A tombstone; `old` keeps what was removed.
    Delete { old: Value },
    /// A step of the status machine, checked against the server's current state.
    Transition {
        /// Id of the status-event row the step creates, so every replica has the same one.
        event_id: StatusEventId,
        action: StatusAction,
        from: WorkOrderStatus,
        to: WorkOrderStatus,
        #[serde(with = "serde_ts")]
        at: Timestamp,
        #[serde(default)]
        reason: Option<String>,
        /// sha256 of every blob the step relies on (completion lists its evidence).
        #[serde(default)]
        evidence: Vec<String>,
        /// The skew correction the device applied to `at` (see
        /// [`crate::clock::corrected_time`]); absent when `at` is its own clock's reading.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        clock_correction_ms: Option<i64>,
    },
    /// A person's decision on a conflict: the value to keep.
    ResolveConflict {
        conflict_id: ConflictId,
        keep: Value,
    },
}

impl Change {
    pub fn kind_name(&self) -> &'static str {
        match self {
            Change::Set { .. } => "set",
            Change::Insert { .. } => "insert",
            Change::Delete { .. } => "delete",
            Change::Transition { .. } => "transition",
            Change::ResolveConflict { .. } => "resolve_conflict",
        }
    }
}

/// An op as the domain describes it, before the log gives it a place.
#[derive(Clone, Debug, PartialEq)]
pub struct OpDraft {
    pub entity: EntityKind,
    pub entity_id: String,
    pub work_order_id: WorkOrderId,
    pub change: Change,
    pub base_version: Option<u64>,
}

/// One entry of a device's change log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Op {
    pub device_id: DeviceId,
    /// Contiguous from 1 per device: the idempotency key.
    pub device_seq: u64,
    pub tx_id: TxId,
    pub entity: EntityKind,
    pub entity_id: String,
    pub work_order_id: WorkOrderId,
    pub change: Change,
    /// The last server version of the row this device had seen; `None` for a new row.
    #[serde(default)]
    pub base_version: Option<u64>,
    pub hlc: Hlc,
    /// The device's wall-clock time when the op was written.
    #[serde(with = "serde_ts")]
    pub recorded_at: Timestamp,
    pub schema_version: u32,
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "#{} {} {} {}",
            self.device_seq,
            self.change.kind_name(),
            self.entity,
            self.entity_id
        )?;
        if let Change::Set { field, .. } = &self.change {
            write!(f, ".{field}")?;
        }
        if let Change::Transition { action, .. } = &self.change {
            write!(f, " {action}")?;
        }
        Ok(())
    }
}

/// The entity id of a checklist answer: one row per work order and item.
pub fn checklist_answer_id(work_order_id: WorkOrderId, item_key: &str) -> String {
    format!("{work_order_id}/{item_key}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SeqIds;
    use crate::time::parse_ts;

    #[test]
    fn ownership_splits_the_work_order_between_roles() {
        assert_eq!(
            field_owner(EntityKind::WorkOrder, "appointment_start").unwrap(),
            FieldOwner::Dispatcher
        );
        assert_eq!(
            field_owner(EntityKind::WorkOrder, "diagnosis").unwrap(),
            FieldOwner::Technician
        );
        let err = field_owner(EntityKind::WorkOrder, "status").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("work_order has no field \"status\" that can be set")
        );
        assert!(Role::Technician.may_write(FieldOwner::Technician));
        assert!(!Role::Technician.may_write(FieldOwner::Dispatcher));
        assert!(Role::Admin.may_write(FieldOwner::Dispatcher));
        assert!(!Role::Dispatcher.may_write(FieldOwner::Technician));
        assert!(Role::Dispatcher.may_write(FieldOwner::Anyone));
    }

    #[test]
    fn op_wire_form_is_stable() {
        let ids = SeqIds::new(1);
        let op = Op {
            device_id: DeviceId::new(&ids),
            device_seq: 3,
            tx_id: TxId::new(&ids),
            entity: EntityKind::WorkOrder,
            entity_id: "x".into(),
            work_order_id: WorkOrderId::new(&ids),
            change: Change::Set {
                field: "diagnosis".into(),
                old: Value::Null,
                new: "worn belt".into(),
            },
            base_version: Some(4),
            hlc: Hlc::new(5, 1),
            recorded_at: parse_ts("2026-11-22T08:00:00Z").unwrap(),
            schema_version: SCHEMA_VERSION,
        };
        let v = serde_json::to_value(&op).unwrap();
        assert_eq!(v["change"]["kind"], "set");
        assert_eq!(v["hlc"], "0000000000050001");
        assert_eq!(v["recorded_at"], "2026-11-22T08:00:00.000Z");
        let back: Op = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(back, op);
        let mut bad = v;
        bad["change"]["colour"] = "red".into();
        assert!(serde_json::from_value::<Op>(bad).is_err());
        assert_eq!(op.to_string(), "#3 set work_order x.diagnosis");
    }
}
