//! The push policy and the apply path: exactly once per `(device, device_seq)`, gaps refused
//! with the expected seq, every new op validated before any is stored, then each applied
//! under the merge rules with its outcome stored.

use onsite_model::clock::bounded_event_time;
use onsite_model::hlc::bound_remote;
use onsite_model::merge::{DELETE_RULE, FieldStamp};
use onsite_model::time::{Timestamp, format_ts, parse_ts};
use onsite_model::wire::{
    MAX_PUSH_OPS, OpOutcome, OpResult, PROTOCOL_VERSION, PushRequest, PushResponse,
};
use onsite_model::{Change, EntityKind, Hlc, Op};
use serde_json::{Value, json};

use super::super::backend::{Counter, StoredOutcome};
use super::super::interface::Principal;
use super::access;
use super::context::Ctx;
use super::merge::{NewConflict, insert_conflict, resolve, set_answer, set_wo_field};
use super::records::{from_json, put_row, require_wo, to_json, write_wo};
use super::transition::{DeviceStep, apply_device_transition};
use super::validate::validate_op;
use crate::error::{Error, Result};

/// What can be refused before the write transaction starts.
pub(super) fn check_request(who: &Principal, req: &PushRequest) -> Result<()> {
    if req.protocol != PROTOCOL_VERSION {
        return Err(Error::bad_request(
            "protocol_version",
            format!(
                "protocol version {} is not supported; this server speaks {PROTOCOL_VERSION}; update the app",
                req.protocol
            ),
        ));
    }
    if req.device_id != who.device_id {
        return Err(Error::forbidden(
            "wrong_device",
            "the push names a different device than the one signed in; sign in on this device",
        ));
    }
    if req.ops.len() > MAX_PUSH_OPS {
        return Err(Error::too_large(
            "too_many_ops",
            format!(
                "{} ops in one push; send at most {MAX_PUSH_OPS} per push",
                req.ops.len()
            ),
        ));
    }
    Ok(())
}

/// Checks the ops' sequence against what the device has had acknowledged.
fn check_sequence(req: &PushRequest, last_acked: u64) -> Result<()> {
    let mut prev: Option<u64> = None;
    for op in &req.ops {
        if op.device_id != req.device_id {
            return Err(Error::bad_request(
                "device_mismatch",
                format!(
                    "op #{} belongs to device {}, not {}",
                    op.device_seq, op.device_id, req.device_id
                ),
            ));
        }
        if op.device_seq == 0 {
            return Err(Error::bad_request("invalid_seq", "device_seq starts at 1"));
        }
        match prev {
            None if op.device_seq > last_acked + 1 => {
                return Err(Error::seq_gap(last_acked + 1, op.device_seq));
            }
            Some(p) if op.device_seq <= p => {
                return Err(Error::bad_request(
                    "ops_out_of_order",
                    format!(
                        "op #{} follows #{p}; send ops in device_seq order",
                        op.device_seq
                    ),
                ));
            }
            Some(p) if op.device_seq > p + 1 => return Err(Error::seq_gap(p + 1, op.device_seq)),
            _ => {}
        }
        prev = Some(op.device_seq);
    }
    Ok(())
}

/// The whole push inside the write transaction.
pub(super) fn apply_push(
    ctx: &mut Ctx<'_>,
    who: &Principal,
    req: &PushRequest,
) -> Result<PushResponse> {
    let device = who.device_id;
    let last_acked = ctx.tx.device_acked_seq(device)?;
    check_sequence(req, last_acked)?;
    // The rows the new inserts and deletes name, read in one query instead of one per op.
    let named = req
        .ops
        .iter()
        .filter(|op| op.device_seq > last_acked)
        .filter(|op| matches!(op.change, Change::Insert { .. } | Change::Delete { .. }))
        .map(|op| (op.entity.as_str().to_owned(), op.entity_id.clone()))
        .collect();
    ctx.view.prime_job_rows(named)?;
    for op in req.ops.iter().filter(|op| op.device_seq > last_acked) {
        validate_op(ctx.tx, who, op)?;
    }
    let mut outcomes = Vec::with_capacity(req.ops.len());
    let mut stored = Vec::with_capacity(req.ops.len());
    let mut acked = last_acked;
    for op in &req.ops {
        if op.device_seq <= last_acked {
            let stored = ctx
                .tx
                .stored_outcome(device, op.device_seq)?
                .ok_or_else(|| {
                    Error::Internal(format!(
                        "no stored outcome for acknowledged op #{}",
                        op.device_seq
                    ))
                })?;
            outcomes.push(OpOutcome {
                device_seq: op.device_seq,
                result: from_json(&stored)?,
            });
            continue;
        }
        // A device's clock is bounded before it can order anything or move the server's.
        let hlc = bound_remote(op.hlc, ctx.now.timestamp_millis());
        ctx.hlc.observe(hlc, ctx.now.timestamp_millis());
        let result = apply_op(ctx, who, op, hlc)?;
        stored.push(StoredOutcome {
            device_seq: op.device_seq,
            op_json: to_json(op)?,
            outcome_json: to_json(&result)?,
            high_water: ctx.tx.counter(Counter::ServerSeq)?,
        });
        tracing::debug!(op = %op, outcome = ?result, "applied op");
        outcomes.push(OpOutcome {
            device_seq: op.device_seq,
            result,
        });
        acked = op.device_seq;
    }
    // One statement for the push's outcomes: nothing in this push reads them back (a repeat
    // is answered from outcomes of earlier pushes, up to `last_acked`).
    ctx.tx.store_outcomes(device, ctx.now, &stored)?;
    ctx.tx.set_device_acked(device, acked, ctx.now)?;
    Ok(PushResponse {
        outcomes,
        acked_device_seq: acked,
        server_time: ctx.now,
        server_hlc: ctx.hlc.last(),
    })
}

/// One validated op under the merge rules, ordered by its bounded HLC.
fn apply_op(ctx: &mut Ctx<'_>, who: &Principal, op: &Op, hlc: Hlc) -> Result<OpResult> {
    let mut wo = require_wo(ctx.tx, op.work_order_id)?;
    let incoming = FieldStamp {
        version: 0,
        hlc,
        device_id: Some(op.device_id),
    };
    // Rows may have been written earlier in this push: the job check runs again here.
    let stored = match &op.change {
        Change::Insert { .. } | Change::Delete { .. } => {
            let stored = ctx.tx.load_job_row(op.entity.as_str(), &op.entity_id)?;
            if let Some(row) = &stored {
                access::row_on_job(op.entity.as_str(), &op.entity_id, row, &wo)
                    .map_err(|e| e.at(&format!("op #{}", op.device_seq)))?;
            }
            stored
        }
        _ => None,
    };
    match &op.change {
        Change::Set { field, new, .. } => match op.entity {
            EntityKind::WorkOrder => {
                set_wo_field(ctx, &mut wo, field, new, op.base_version, incoming)
            }
            _ => set_answer(
                ctx,
                wo.id,
                &op.entity_id,
                new,
                op.base_version,
                incoming,
                bounded_event_time(op.recorded_at, ctx.now, None).0,
            ),
        },
        Change::Insert { row } => {
            let kind = op.entity.as_str();
            if let Some(existing) = stored {
                return Ok(OpResult::Applied {
                    server_seq: existing.seq,
                });
            }
            let row = server_facts(op.entity, row, who, ctx.now);
            Ok(OpResult::Applied {
                server_seq: put_row(ctx.tx, kind, &op.entity_id, wo.id, &row, false)?,
            })
        }
        Change::Delete { old } => {
            let kind = op.entity.as_str();
            let Some(existing) = stored else {
                return Ok(OpResult::Rejected {
                    code: "not_found".into(),
                    reason: format!("no {kind} {} to delete", op.entity_id),
                });
            };
            if existing.deleted {
                return Ok(OpResult::Applied {
                    server_seq: existing.seq,
                });
            }
            if existing.seq > op.base_version.unwrap_or(0) {
                wo.needs_review = true;
                write_wo(ctx.tx, &wo)?;
                let (seq, conflict_id) = insert_conflict(
                    ctx,
                    NewConflict {
                        wo: wo.id,
                        entity: op.entity,
                        entity_id: &op.entity_id,
                        field: "row",
                        kept: existing.data,
                        lost: json!({"deleted": true, "old": old}),
                        rule: DELETE_RULE,
                        detail: format!(
                            "the {kind} was changed after this device last saw it; it is kept for review"
                        ),
                    },
                )?;
                return Ok(OpResult::Conflict {
                    server_seq: seq,
                    conflict_id,
                });
            }
            Ok(OpResult::Applied {
                server_seq: put_row(ctx.tx, kind, &op.entity_id, wo.id, &existing.data, true)?,
            })
        }
        Change::Transition {
            event_id,
            action,
            from,
            to,
            at,
            reason,
            evidence,
            clock_correction_ms,
        } => {
            let (at, correction) = bounded_event_time(*at, ctx.now, *clock_correction_ms);
            apply_device_transition(
                ctx,
                who,
                &mut wo,
                DeviceStep {
                    event_id: *event_id,
                    action: *action,
                    from: *from,
                    to: *to,
                    at,
                    clock_correction_ms: correction,
                    reason: reason.clone(),
                },
                evidence,
            )
        }
        Change::ResolveConflict { conflict_id, keep } => {
            match resolve(ctx, *conflict_id, keep.clone()) {
                Ok((_, seq)) => Ok(OpResult::Applied { server_seq: seq }),
                Err(Error::Refused { code, message, .. }) => Ok(OpResult::Rejected {
                    code: code.into(),
                    reason: message,
                }),
                Err(e) => Err(e),
            }
        }
    }
}

/// Event-time fields of rows a device inserts.
const ROW_TIMES: &[&str] = &[
    "created_at",
    "taken_at",
    "signed_at",
    "started_at",
    "ended_at",
];

/// A pushed row with what the server decides rather than the device: who wrote it (a note's
/// author is the signed-in user, whatever the row says) and times no later than the
/// server's receipt (nothing happened after the server heard of it).
fn server_facts(entity: EntityKind, row: &Value, who: &Principal, now: Timestamp) -> Value {
    let mut row = row.clone();
    if entity == EntityKind::Note {
        row["author_id"] = json!(who.user.id);
    }
    for field in ROW_TIMES {
        let at = row.get(*field).and_then(Value::as_str).map(parse_ts);
        if let Some(Ok(at)) = at
            && at > now
        {
            row[*field] = json!(format_ts(&bounded_event_time(at, now, None).0));
        }
    }
    row
}
