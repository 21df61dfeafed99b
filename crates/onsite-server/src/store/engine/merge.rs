//! The merge rules applied to stored state: field writes under "later HLC wins", checklist
//! answers, conflict rows and their resolution.

use onsite_model::merge::{FIELD_RULE, FieldDecision, FieldStamp, decide_field};
use onsite_model::ops::field_owner;
use onsite_model::time::Timestamp;
use onsite_model::wire::{ConflictRecord, OpResult};
use onsite_model::{AnswerValue, ChecklistAnswer, ConflictId, EntityKind, WorkOrder, WorkOrderId};
use serde_json::Value;

use super::super::backend::ReadTx;
use super::context::Ctx;
use super::records::{put_row, require_wo, rows_of, with_field, write_wo};
use crate::error::{Error, Result};

pub(super) struct NewConflict<'a> {
    pub(super) wo: WorkOrderId,
    pub(super) entity: EntityKind,
    pub(super) entity_id: &'a str,
    pub(super) field: &'a str,
    pub(super) kept: Value,
    pub(super) lost: Value,
    pub(super) rule: &'a str,
    pub(super) detail: String,
}

pub(super) fn insert_conflict(ctx: &Ctx<'_>, n: NewConflict<'_>) -> Result<(u64, ConflictId)> {
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
        ctx.tx,
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
pub(super) fn needs_person(field: &str) -> bool {
    matches!(field, "status" | "row")
}

/// The field rule; a device's own earlier write is not concurrent with its later one (it
/// cannot know the version the server gave its pending write).
pub(super) fn decide(
    tx: &dyn ReadTx,
    entity: &str,
    id: &str,
    field: &str,
    base: Option<u64>,
    incoming: &FieldStamp,
) -> Result<FieldDecision> {
    let current = tx.field_stamp(entity, id, field)?;
    Ok(decide_field(current.as_ref(), base, incoming))
}

pub(super) fn field_conflict_detail(field: &str, decision: FieldDecision) -> String {
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
pub(super) fn set_wo_field(
    ctx: &Ctx<'_>,
    wo: &mut WorkOrder,
    field: &str,
    new: &Value,
    base: Option<u64>,
    incoming: FieldStamp,
) -> Result<OpResult> {
    let id = wo.id.to_string();
    let decision = decide(ctx.tx, "work_order", &id, field, base, &incoming)?;
    let old = serde_json::to_value(&*wo)?[field].clone();
    if decision != FieldDecision::KeepCurrent {
        *wo = with_field(wo, field, new.clone())?;
        let seq = write_wo(ctx.tx, wo)?;
        ctx.tx.put_field_stamp(
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
    }
    field_conflict(
        ctx,
        wo.id,
        EntityKind::WorkOrder,
        &id,
        field,
        field,
        decision,
        new,
        old,
    )
}

/// The conflict row of a field write the rule did not simply apply: the value that stays
/// is in `kept`, the other in `lost`.
#[allow(clippy::too_many_arguments)]
fn field_conflict(
    ctx: &Ctx<'_>,
    wo: WorkOrderId,
    entity: EntityKind,
    entity_id: &str,
    field: &str,
    what: &str,
    decision: FieldDecision,
    new: &Value,
    old: Value,
) -> Result<OpResult> {
    let (kept, lost) = if decision == FieldDecision::KeepCurrent {
        (old, new.clone())
    } else {
        (new.clone(), old)
    };
    let (seq, conflict_id) = insert_conflict(
        ctx,
        NewConflict {
            wo,
            entity,
            entity_id,
            field,
            kept,
            lost,
            rule: FIELD_RULE,
            detail: field_conflict_detail(what, decision),
        },
    )?;
    Ok(OpResult::Conflict {
        server_seq: seq,
        conflict_id,
    })
}

pub(super) fn answer_key(wo: WorkOrderId, entity_id: &str) -> Option<&str> {
    let (w, key) = entity_id.split_once('/')?;
    (w == wo.to_string() && !key.is_empty()).then_some(key)
}

/// One write of a checklist answer under the merge rule; the first answer creates the row.
pub(super) fn set_answer(
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
    let existing = ctx.tx.load_job_row("checklist_answer", entity_id)?;
    let (decision, old) = match &existing {
        None => (FieldDecision::Apply, Value::Null),
        Some(row) => (
            decide(
                ctx.tx,
                "checklist_answer",
                entity_id,
                "value",
                base,
                &incoming,
            )?,
            row.data["value"].clone(),
        ),
    };
    let what = format!("checklist item {key}");
    let conflict = |old: Value| {
        field_conflict(
            ctx,
            wo,
            EntityKind::ChecklistAnswer,
            entity_id,
            "value",
            &what,
            decision,
            new,
            old,
        )
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
                ctx.tx,
                "checklist_answer",
                entity_id,
                wo,
                &serde_json::to_value(&answer)?,
                false,
            )?;
            ctx.tx.put_field_stamp(
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
                conflict(old)
            }
        }
        FieldDecision::KeepCurrent => conflict(old),
    }
}

/// Marks a conflict resolved with the value to keep; a field conflict also sets the field.
pub(super) fn resolve(
    ctx: &mut Ctx<'_>,
    id: ConflictId,
    keep: Value,
) -> Result<(ConflictRecord, u64)> {
    let row = ctx
        .tx
        .load_job_row("conflict", &id.to_string())?
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
    let mut wo = require_wo(ctx.tx, rec.work_order_id)?;
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
        ctx.tx,
        "conflict",
        &id.to_string(),
        rec.work_order_id,
        &serde_json::to_value(&rec)?,
        false,
    )?;
    if wo.needs_review {
        let open: Vec<ConflictRecord> = rows_of(ctx.tx, wo.id, "conflict")?;
        if !open
            .iter()
            .any(|c| c.resolved_at.is_none() && needs_person(&c.field))
        {
            wo.needs_review = false;
            write_wo(ctx.tx, &wo)?;
        }
    }
    Ok((rec, seq))
}
