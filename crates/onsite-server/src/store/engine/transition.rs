//! Status steps recorded on a device, checked against the server's current state, and the
//! completion guard (the record and the evidence it lists).

use onsite_model::checklist::CompletionEvidence;
use onsite_model::merge::{TRANSITION_RULE, TransitionDecision, decide_transition};
use onsite_model::status::next_status;
use onsite_model::time::Timestamp;
use onsite_model::wire::OpResult;
use onsite_model::{
    ChecklistAnswer, EntityKind, Photo, StatusAction, StatusEvent, StatusEventId, WorkOrder,
    WorkOrderStatus, template_for,
};
use serde_json::json;

use super::super::backend::ReadTx;
use super::super::interface::Principal;
use super::context::Ctx;
use super::merge::{NewConflict, insert_conflict};
use super::records::{insert_status_event, rows_of, write_wo};
use crate::error::Result;

/// The hashes of `evidence` the server does not hold yet, sorted and without repeats.
pub(super) fn missing_evidence(tx: &dyn ReadTx, evidence: &[String]) -> Result<Vec<String>> {
    let mut missing = Vec::new();
    for sha in evidence {
        if !tx.blob_held(sha)? {
            missing.push(sha.clone());
        }
    }
    missing.sort();
    missing.dedup();
    Ok(missing)
}

fn completion_check(tx: &dyn ReadTx, wo: &WorkOrder) -> Result<std::result::Result<(), String>> {
    let answers: Vec<ChecklistAnswer> = rows_of(tx, wo.id, "checklist_answer")?;
    let photos: Vec<Photo> = rows_of(tx, wo.id, "photo")?;
    let signatures: Vec<onsite_model::Signature> = rows_of(tx, wo.id, "signature")?;
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

/// A step as a device recorded it, its time already bounded by the server's receipt.
pub(super) struct DeviceStep {
    pub(super) event_id: StatusEventId,
    pub(super) action: StatusAction,
    pub(super) from: WorkOrderStatus,
    pub(super) to: WorkOrderStatus,
    pub(super) at: Timestamp,
    pub(super) clock_correction_ms: Option<i64>,
    pub(super) reason: Option<String>,
}

/// A status step recorded on a device, checked against the server's current state.
pub(super) fn apply_device_transition(
    ctx: &Ctx<'_>,
    who: &Principal,
    wo: &mut WorkOrder,
    step: DeviceStep,
    evidence: &[String],
) -> Result<OpResult> {
    let DeviceStep {
        event_id,
        action,
        from,
        to,
        at,
        clock_correction_ms,
        reason,
    } = step;
    let ev = StatusEvent {
        id: event_id,
        work_order_id: wo.id,
        action,
        from,
        to,
        at,
        reason,
        clock_correction_ms,
    };
    // Both stories are kept: the device's step is stored whatever the decision.
    insert_status_event(ctx.tx, &ev)?;
    let assigned = wo.assignee_id == Some(who.user.id);
    let current = wo.status;
    let refused = |wo: &mut WorkOrder, detail: String| -> Result<OpResult> {
        wo.needs_review = true;
        write_wo(ctx.tx, wo)?;
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
                && let Err(missing) = completion_check(ctx.tx, wo)?
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
                wo.awaiting_evidence = missing_evidence(ctx.tx, evidence)?;
            }
            let seq = write_wo(ctx.tx, wo)?;
            if action == StatusAction::Complete {
                // Every completed job gets its callback, in this same transaction.
                super::closed_loop::open_callback(ctx, wo)?;
            }
            Ok(if merged {
                OpResult::Merged { server_seq: seq }
            } else {
                OpResult::Applied { server_seq: seq }
            })
        }
        TransitionDecision::AlreadyThere => Ok(OpResult::Applied {
            server_seq: ctx.tx.load_work_order(wo.id)?.map_or(0, |(_, s)| s),
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
