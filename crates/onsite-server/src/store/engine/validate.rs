//! Checks of a pushed op before anything of its push is stored: schema, the job and who may
//! write to it, field ownership, the row's shape, the step's shape.

use onsite_model::ops::field_owner;
use onsite_model::status::next_status;
use onsite_model::wire::is_sha256_hex;
use onsite_model::{
    AnswerValue, Change, EntityKind, Feedback, FieldOwner, Note, Op, PartUsed, Photo,
    SCHEMA_VERSION, Signature, TimeEntry, WorkOrderId, template_for,
};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::super::backend::ReadTx;
use super::super::interface::Principal;
use super::access;
use super::blob_owners;
use super::merge::answer_key;
use super::records::with_field;
use crate::error::{Error, Result};

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

/// Checks one op before anything of its push is stored.
pub(super) fn validate_op(tx: &dyn ReadTx, who: &Principal, op: &Op) -> Result<()> {
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
    let wo = access::job_to_write(tx, who, op.work_order_id).map_err(|e| e.at(&at))?;
    let owner_check = |owner: FieldOwner, what: &str| {
        access::may_write_field(who, owner, what).map_err(|e| e.at(&at))
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
                    with_field(&wo, field, new.clone())
                        .map_err(|e| e.at(&at))?
                        .validate_field(field)
                        .map_err(|m| Error::unprocessable("invalid_value", format!("{at}: {m}")))?;
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
            if let Some(stored) = tx.load_job_row(op.entity.as_str(), &op.entity_id)? {
                access::row_on_job(op.entity.as_str(), &op.entity_id, &stored, &wo)
                    .map_err(|e| e.at(&at))?;
            }
            if insert {
                blob_owners::check_row_blobs(tx, who, op.entity, row, &wo)
                    .map_err(|e| e.at(&at))?;
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
            access::may_take_step(who, *action).map_err(|e| e.at(&at))?;
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
            let id = conflict_id.to_string();
            let Some(row) = tx.load_job_row("conflict", &id)? else {
                return Err(Error::unprocessable(
                    "unknown_conflict",
                    format!("{at}: no conflict {conflict_id}"),
                ));
            };
            access::row_on_job("conflict", &id, &row, &wo).map_err(|e| e.at(&at))?;
        }
    }
    Ok(())
}

fn strict<T: DeserializeOwned>(row: &Value) -> std::result::Result<T, String> {
    serde_json::from_value(row.clone()).map_err(|e| e.to_string())
}

/// Parses an inserted row as its model struct and validates it; returns (id, work order).
fn check_row(
    entity: EntityKind,
    row: &Value,
) -> std::result::Result<(String, WorkOrderId), String> {
    /// Parses the row as its model struct and runs the model's own checks.
    fn parsed<T: DeserializeOwned>(
        row: &Value,
        validate: impl Fn(&T) -> std::result::Result<(), String>,
        ids: impl Fn(&T) -> (String, WorkOrderId),
    ) -> std::result::Result<(String, WorkOrderId), String> {
        let r: T = strict(row)?;
        validate(&r)?;
        Ok(ids(&r))
    }
    match entity {
        EntityKind::PartUsed => parsed(row, PartUsed::validate, |r| {
            (r.id.to_string(), r.work_order_id)
        }),
        EntityKind::TimeEntry => parsed(row, TimeEntry::validate, |r| {
            (r.id.to_string(), r.work_order_id)
        }),
        EntityKind::Note => parsed(row, Note::validate, |r| (r.id.to_string(), r.work_order_id)),
        EntityKind::Photo => parsed(row, Photo::validate, |r| {
            (r.id.to_string(), r.work_order_id)
        }),
        EntityKind::Signature => parsed(row, Signature::validate, |r| {
            (r.id.to_string(), r.work_order_id)
        }),
        EntityKind::Feedback => parsed(row, Feedback::validate, |r| {
            (r.id.to_string(), r.work_order_id)
        }),
        other => Err(format!("{other} rows cannot be inserted")),
    }
}
