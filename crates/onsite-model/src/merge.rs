//! The merge rules, in one place for client and server.
//!
//! - Different fields of a row merge: each field carries the version that last changed it.
//! - The same field changed concurrently (the op's `base_version` is older than the field's
//!   version, and another device or the office wrote it): the change with the higher HLC wins, ties broken by the higher device id. The
//!   rule depends only on the two changes, not on the order they arrive, so every replica
//!   ends with the same value; the losing value is kept in a conflict row.
//! - A status transition is checked against the server's current status, not the one the
//!   device saw: if the machine allows the step from there, it merges; if not, nothing is
//!   dropped — the step is recorded as a conflict and the job is flagged for review.
//! - Deleting a row that was edited after the deleter last saw it keeps the row (evidence is
//!   never lost to a race) and records the delete as a conflict.

use serde::{Deserialize, Serialize};

use crate::hlc::Hlc;
use crate::ids::DeviceId;
use crate::status::{StatusAction, WorkOrderStatus, next_status};

/// The rule for the same field changed concurrently, as shown to people (conflict rows,
/// the server's documentation): the change with the later HLC wins, a tie goes to the
/// higher device id.
pub const FIELD_RULE: &str = "later HLC wins, ties by device id";

/// The rule for status transitions, as shown to people: a step is checked against the
/// status the server holds when it arrives, and a step the machine refuses from there is
/// recorded as a conflict for a person to decide.
pub const TRANSITION_RULE: &str =
    "status is checked against the server's current state; a step it refuses is kept for review";

/// The rule for a delete of a row edited after the deleter last saw it, as shown to
/// people: the row stays and the delete is recorded as a conflict.
pub const DELETE_RULE: &str = "a delete racing an edit keeps the row";

/// Who last wrote a field and when, as the server stores it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldStamp {
    /// `server_seq` of the change that wrote the current value.
    pub version: u64,
    pub hlc: Hlc,
    /// `None` for writes made in the back office.
    pub device_id: Option<DeviceId>,
}

impl FieldStamp {
    /// The total order of the rule: HLC, then device id (office writes sort first).
    fn rank(&self) -> (Hlc, Option<DeviceId>) {
        (self.hlc, self.device_id)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldDecision {
    /// Nobody changed the field since the writer saw it.
    Apply,
    /// Concurrent change; the incoming value wins and the current one is kept as the loser.
    ApplyOverConcurrent,
    /// Concurrent change; the current value stays and the incoming one is kept as the loser.
    KeepCurrent,
}

/// Decides a write of one field. `current` is `None` when the field was never written
/// through the log (e.g. set when the row was created).
pub fn decide_field(
    current: Option<&FieldStamp>,
    base_version: Option<u64>,
    incoming: &FieldStamp,
) -> FieldDecision {
    let Some(current) = current else {
        return FieldDecision::Apply;
    };
    if current.version <= base_version.unwrap_or(0) {
        return FieldDecision::Apply;
    }
    // A device's own earlier write is not concurrent with its later one: its ops arrive in
    // device_seq order, and it could not have seen the version the server gave the first.
    if current.device_id.is_some() && current.device_id == incoming.device_id {
        return FieldDecision::Apply;
    }
    if incoming.rank() > current.rank() {
        FieldDecision::ApplyOverConcurrent
    } else {
        FieldDecision::KeepCurrent
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransitionDecision {
    /// The job was where the device saw it; take the step.
    Apply(WorkOrderStatus),
    /// The job had moved on, but the step is still valid from where it is now.
    Merged(WorkOrderStatus),
    /// The job is already where the step leads (the same step arrived twice or raced an
    /// equal one): nothing to do.
    AlreadyThere,
    /// The step is not valid from the current status: keep the current status, record both
    /// stories, flag the job for review.
    Conflict,
}

pub fn decide_transition(
    current: WorkOrderStatus,
    seen_from: WorkOrderStatus,
    action: StatusAction,
    to: WorkOrderStatus,
    assigned: bool,
) -> TransitionDecision {
    match next_status(current, action, assigned) {
        Ok(next) if current == seen_from => TransitionDecision::Apply(next),
        Ok(next) => TransitionDecision::Merged(next),
        Err(_) if current == to => TransitionDecision::AlreadyThere,
        Err(_) => TransitionDecision::Conflict,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SeqIds;
    use proptest::prelude::*;

    fn stamp(version: u64, hlc: u64, dev: Option<DeviceId>) -> FieldStamp {
        FieldStamp {
            version,
            hlc: Hlc::from_u64(hlc),
            device_id: dev,
        }
    }

    #[test]
    fn unchanged_fields_apply_and_concurrent_ones_use_the_rule() {
        let ids = SeqIds::new(4);
        let a = DeviceId::new(&ids);
        let b = DeviceId::new(&ids);
        let cur = stamp(10, 500, Some(a));
        assert_eq!(
            decide_field(None, None, &stamp(0, 1, Some(b))),
            FieldDecision::Apply
        );
        assert_eq!(
            decide_field(Some(&cur), Some(10), &stamp(0, 1, Some(b))),
            FieldDecision::Apply
        );
        assert_eq!(
            decide_field(Some(&cur), Some(9), &stamp(0, 600, Some(b))),
            FieldDecision::ApplyOverConcurrent
        );
        assert_eq!(
            decide_field(Some(&cur), Some(9), &stamp(0, 400, Some(b))),
            FieldDecision::KeepCurrent
        );
        // The same device editing twice before it pulls: not a conflict with itself.
        assert_eq!(
            decide_field(Some(&cur), Some(2), &stamp(0, 1, Some(a))),
            FieldDecision::Apply
        );
        // Equal HLCs: the higher device id wins.
        assert_eq!(
            decide_field(Some(&cur), None, &stamp(0, 500, Some(b))),
            FieldDecision::ApplyOverConcurrent
        );
    }

    #[test]
    fn a_completion_racing_a_cancel_is_a_conflict() {
        use StatusAction as A;
        use WorkOrderStatus as S;
        assert_eq!(
            decide_transition(S::Cancelled, S::InProgress, A::Complete, S::Completed, true),
            TransitionDecision::Conflict
        );
        assert_eq!(
            decide_transition(
                S::InProgress,
                S::InProgress,
                A::Complete,
                S::Completed,
                true
            ),
            TransitionDecision::Apply(S::Completed)
        );
        assert_eq!(
            decide_transition(S::OnSite, S::EnRoute, A::StartWork, S::InProgress, true),
            TransitionDecision::Merged(S::InProgress)
        );
        assert_eq!(
            decide_transition(S::OnSite, S::OnSite, A::Arrive, S::OnSite, true),
            TransitionDecision::AlreadyThere
        );
    }

    proptest! {
        /// Two concurrent writes of one field from different devices end with the same winner whichever arrives
        /// first: the rule is order-independent, so replicas converge.
        #[test]
        fn the_field_rule_is_order_independent(h1 in 0u64..1000, h2 in 0u64..1000, d1 in 0u8..3, d2 in 0u8..3) {
            let ids = SeqIds::new(6);
            let all: Vec<DeviceId> = (0..3).map(|_| DeviceId::new(&ids)).collect();
            let w1 = stamp(0, h1, Some(all[d1 as usize]));
            let w2 = stamp(0, h2, Some(all[d2 as usize]));
            // Two devices: one device's writes always arrive in its own order.
            prop_assume!(d1 != d2);
            // Both were written against base 0; the first to arrive gets version 1.
            let first_then = |first: FieldStamp, second: FieldStamp| {
                let cur = FieldStamp { version: 1, ..first };
                match decide_field(Some(&cur), Some(0), &second) {
                    FieldDecision::KeepCurrent => first.rank(),
                    _ => second.rank(),
                }
            };
            prop_assert_eq!(first_then(w1, w2), first_then(w2, w1));
        }
    }
}
