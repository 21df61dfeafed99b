//! The office's writes to work orders: create (all or none), update the dispatcher's fields,
//! assign and unassign, cancel and reopen. Each step is a status event in the history.

use onsite_model::merge::FieldStamp;
use onsite_model::ops::field_owner;
use onsite_model::time::Timestamp;
use onsite_model::{
    EntityKind, FieldOwner, Role, SlaPolicy, StatusAction, StatusEvent, StatusEventId, User,
    UserId, WorkOrder, WorkOrderId, WorkOrderStatus,
};
use serde_json::{Map, Value};

use super::super::backend::{Backend, Counter, ReadTx};
use super::super::interface::NewWorkOrder;
use super::context::{Ctx, Engine};
use super::records::{
    insert_status_event, load_asset, load_customer, load_user, require_wo, with_field, write_wo,
};
use super::visibility::{hide_job_from, hide_refs_from, show_job_to, show_refs_to};
use crate::error::{Error, Result};

/// The user a job may be assigned to: an existing technician (dispatchers and admins do
/// not do visits, and a job assigned to one would sit in no technician's day).
fn assignable(tx: &dyn ReadTx, id: UserId) -> Result<User> {
    let user = load_user(tx, id)?
        .ok_or_else(|| Error::unprocessable("unknown_user", format!("no user {id}")))?;
    if user.role != Role::Technician {
        return Err(Error::unprocessable(
            "not_a_technician",
            format!(
                "{} ({}) is a {}; assign work orders to a technician",
                user.name, user.username, user.role
            ),
        ));
    }
    Ok(user)
}

impl<B: Backend> Engine<B> {
    pub(super) fn create_work_orders(&self, new: &[NewWorkOrder]) -> Result<Vec<WorkOrder>> {
        self.write(|ctx| create_rows(ctx, new, 0))
    }

    pub(super) fn update_work_order(
        &self,
        id: WorkOrderId,
        patch: &Map<String, Value>,
    ) -> Result<WorkOrder> {
        for field in patch.keys() {
            match field_owner(EntityKind::WorkOrder, field) {
                Err(e) => return Err(Error::unprocessable("unknown_field", e.to_string())),
                Ok(FieldOwner::Technician) => {
                    return Err(Error::forbidden(
                        "field_not_owned",
                        format!("{field} is recorded by the technician, not the office"),
                    ));
                }
                Ok(_) if field == "assignee_id" => {
                    return Err(Error::unprocessable(
                        "use_assign",
                        "change the assignee with POST /api/v1/work-orders/{id}/assign",
                    ));
                }
                Ok(_) if field == "number" => {
                    return Err(Error::unprocessable(
                        "invalid_value",
                        "the work order number is given by the server",
                    ));
                }
                Ok(_) => {}
            }
        }
        self.write(|ctx| {
            let before = require_wo(ctx.tx, id)?;
            let mut wo = before.clone();
            for (field, value) in patch {
                wo = with_field(&wo, field, value.clone())?;
            }
            wo.validate()
                .map_err(|m| Error::unprocessable("invalid_value", m))?;
            if wo.customer_id != before.customer_id
                && load_customer(ctx.tx, wo.customer_id)?.is_none()
            {
                return Err(Error::unprocessable(
                    "unknown_customer",
                    format!("no customer {}", wo.customer_id),
                ));
            }
            if let Some(a) = wo.asset_id {
                match load_asset(ctx.tx, a)? {
                    None => {
                        return Err(Error::unprocessable(
                            "unknown_asset",
                            format!("no asset {a}"),
                        ));
                    }
                    Some(asset) if asset.customer_id != wo.customer_id => {
                        return Err(Error::unprocessable(
                            "invalid_value",
                            format!("asset {a} belongs to another customer"),
                        ));
                    }
                    Some(_) => {}
                }
            }
            if wo.revisit_of != before.revisit_of
                || wo.customer_id != before.customer_id
                || wo.reported_at != before.reported_at
            {
                check_revisit(ctx.tx, &wo)?;
            }
            let new_customer = (wo.customer_id != before.customer_id).then_some(wo.customer_id);
            let new_asset = if wo.asset_id != before.asset_id {
                wo.asset_id
            } else {
                None
            };
            if let Some(u) = wo.assignee_id {
                show_refs_to(ctx.tx, u, new_customer, new_asset)?;
            }
            let seq = write_wo(ctx.tx, &wo)?;
            stamp_office_fields(ctx, id, patch.keys().map(String::as_str), seq)?;
            if let Some(u) = wo.assignee_id {
                let old_customer = new_customer.map(|_| before.customer_id);
                let old_asset = if wo.asset_id != before.asset_id {
                    before.asset_id
                } else {
                    None
                };
                // The job itself still references the new ones, so only the old can go.
                hide_refs_from(ctx.tx, u, id, old_customer, old_asset)?;
            }
            Ok(wo)
        })
    }

    pub(super) fn assign_work_order(
        &self,
        id: WorkOrderId,
        assignee: Option<UserId>,
    ) -> Result<WorkOrder> {
        self.write(|ctx| {
            let wo = require_wo(ctx.tx, id)?;
            match assignee {
                Some(u) => {
                    assignable(ctx.tx, u)?;
                    if wo.assignee_id == Some(u) && wo.status != WorkOrderStatus::New {
                        return Ok(wo);
                    }
                    office_assign(ctx, wo, u)
                }
                None => {
                    let Some(old) = wo.assignee_id else {
                        return Ok(wo);
                    };
                    let mut next = wo.clone();
                    let from = next.status;
                    next.apply_transition(StatusAction::Unassign, ctx.now)
                        .map_err(|e| Error::conflict("invalid_transition", e.to_string()))?;
                    office_event(ctx, &next, StatusAction::Unassign, from, None)?;
                    hide_job_from(ctx.tx, old, &wo)?;
                    let seq = write_wo(ctx.tx, &next)?;
                    stamp_office_fields(ctx, id, ["assignee_id"], seq)?;
                    Ok(next)
                }
            }
        })
    }

    pub(super) fn office_transition(
        &self,
        id: WorkOrderId,
        action: StatusAction,
        reason: Option<String>,
    ) -> Result<WorkOrder> {
        if !matches!(action, StatusAction::Cancel | StatusAction::Reopen) {
            return Err(Error::unprocessable(
                "invalid_transition",
                format!("{action} is not an office step here"),
            ));
        }
        self.write(|ctx| {
            let mut wo = require_wo(ctx.tx, id)?;
            let from = wo.status;
            wo.apply_transition(action, ctx.now)
                .map_err(|e| Error::conflict("invalid_transition", e.to_string()))?;
            office_event(ctx, &wo, action, from, reason)?;
            write_wo(ctx.tx, &wo)?;
            Ok(wo)
        })
    }
}

/// A work order's display number: `WO-<year>-<counter, six digits>`.
fn work_order_number(now: Timestamp, seq: u64) -> String {
    format!("WO-{}-{seq:06}", now.format("%Y"))
}

/// The work order row `row` of an office request asks for, built and checked by every rule
/// of intake. Reads only, so an import checks all its rows before it writes any.
fn requested(
    tx: &dyn ReadTx,
    n: &NewWorkOrder,
    row: usize,
    now: Timestamp,
    id: WorkOrderId,
    number: String,
) -> Result<WorkOrder> {
    let fail =
        |code: &'static str, msg: String| Error::unprocessable(code, format!("row {row}: {msg}"));
    if load_customer(tx, n.customer_id)?.is_none() {
        return Err(fail(
            "unknown_customer",
            format!("no customer {}", n.customer_id),
        ));
    }
    if let Some(a) = n.asset_id {
        match load_asset(tx, a)? {
            None => return Err(fail("unknown_asset", format!("no asset {a}"))),
            Some(asset) if asset.customer_id != n.customer_id => {
                return Err(fail(
                    "invalid_value",
                    format!("asset {a} belongs to another customer"),
                ));
            }
            Some(_) => {}
        }
    }
    if let Some(u) = n.assignee_id {
        assignable(tx, u).map_err(|e| e.at(&format!("row {row}")))?;
    }
    let reported_at = n.reported_at.unwrap_or(now);
    let (respond_by, resolve_by) = SlaPolicy::for_priority(n.priority).deadlines(reported_at);
    let wo = WorkOrder {
        asset_id: n.asset_id,
        respond_by: n.respond_by.or(Some(respond_by)),
        resolve_by: n.resolve_by.or(Some(resolve_by)),
        appointment_start: n.appointment_start,
        appointment_end: n.appointment_end,
        revisit_of: n.revisit_of,
        ..WorkOrder::new_request(
            id,
            number,
            n.customer_id,
            n.job_type,
            n.priority,
            n.problem.trim().to_owned(),
            reported_at,
        )
    };
    wo.validate().map_err(|m| fail("invalid_value", m))?;
    check_revisit(tx, &wo).map_err(|e| e.at(&format!("row {row}")))?;
    Ok(wo)
}

/// The revisit link's rule: `revisit_of` names an existing work order of the same customer,
/// reported no later than the revisit (so links always point back in time and never loop).
pub(super) fn check_revisit(tx: &dyn ReadTx, wo: &WorkOrder) -> Result<()> {
    let Some(earlier) = wo.revisit_of else {
        return Ok(());
    };
    if earlier == wo.id {
        return Err(Error::unprocessable(
            "invalid_value",
            "a work order cannot be a revisit of itself; name the earlier job",
        ));
    }
    let Some((first, _)) = tx.load_work_order(earlier)? else {
        return Err(Error::unprocessable(
            "unknown_work_order",
            format!("revisit_of names no work order {earlier}"),
        ));
    };
    if first.customer_id != wo.customer_id {
        return Err(Error::unprocessable(
            "invalid_value",
            format!(
                "{} is a job of another customer; a revisit returns to the same customer",
                first.number
            ),
        ));
    }
    if first.reported_at > wo.reported_at {
        return Err(Error::unprocessable(
            "invalid_value",
            format!(
                "{} was reported after this job; a revisit returns to an earlier job",
                first.number
            ),
        ));
    }
    Ok(())
}

/// Checks every row of a request by the intake rules without writing; the first bad row
/// refuses them all, named by its 1-based position.
pub(super) fn check_rows(tx: &dyn ReadTx, new: &[NewWorkOrder], now: Timestamp) -> Result<()> {
    let placeholder = WorkOrderId(uuid::Uuid::nil());
    for (i, n) in new.iter().enumerate() {
        requested(
            tx,
            n,
            i + 1,
            now,
            placeholder,
            work_order_number(now, 999_999),
        )?;
    }
    Ok(())
}

/// Creates the rows of a request (positions counted from `first_row + 1`), each checked by
/// the intake rules, and assigns those that name an assignee.
pub(super) fn create_rows(
    ctx: &mut Ctx<'_>,
    new: &[NewWorkOrder],
    first_row: usize,
) -> Result<Vec<WorkOrder>> {
    let mut out = Vec::with_capacity(new.len());
    for (i, n) in new.iter().enumerate() {
        let number_seq = ctx.tx.bump_counter(Counter::WorkOrderNumber)?;
        let number = work_order_number(ctx.now, number_seq);
        let mut wo = requested(
            ctx.tx,
            n,
            first_row + i + 1,
            ctx.now,
            WorkOrderId::new(ctx.ids),
            number,
        )?;
        write_wo(ctx.tx, &wo)?;
        if let Some(u) = n.assignee_id {
            wo = office_assign(ctx, wo, u)?;
        }
        out.push(wo);
    }
    Ok(out)
}

fn office_event(
    ctx: &Ctx<'_>,
    wo: &WorkOrder,
    action: StatusAction,
    from: WorkOrderStatus,
    reason: Option<String>,
) -> Result<()> {
    insert_status_event(
        ctx.tx,
        &StatusEvent {
            id: StatusEventId::new(ctx.ids),
            work_order_id: wo.id,
            action,
            from,
            to: wo.status,
            at: ctx.now,
            reason,
            clock_correction_ms: None,
        },
    )
}

/// Assigns `wo` (already stored) to `user`: the old assignee's devices get removals, the new
/// one's get the whole job.
fn office_assign(ctx: &mut Ctx<'_>, before: WorkOrder, user: UserId) -> Result<WorkOrder> {
    let mut wo = before.clone();
    let from = wo.status;
    wo.apply_transition(StatusAction::Assign, ctx.now)
        .map_err(|e| Error::conflict("invalid_transition", e.to_string()))?;
    wo.assignee_id = Some(user);
    office_event(ctx, &wo, StatusAction::Assign, from, None)?;
    ctx.tx.record_assignment(wo.id, user, ctx.now)?;
    if let Some(old) = before.assignee_id
        && old != user
    {
        hide_job_from(ctx.tx, old, &before)?;
    }
    let seq = show_job_to(ctx.tx, user, &wo)?;
    stamp_office_fields(ctx, wo.id, ["assignee_id"], seq)?;
    Ok(wo)
}

/// Stamps fields the office just wrote (at `seq`) with one office HLC tick.
fn stamp_office_fields<'f>(
    ctx: &mut Ctx<'_>,
    id: WorkOrderId,
    fields: impl IntoIterator<Item = &'f str>,
    seq: u64,
) -> Result<()> {
    let stamp = FieldStamp {
        version: seq,
        hlc: ctx.office_hlc(),
        device_id: None,
    };
    for field in fields {
        ctx.tx
            .put_field_stamp("work_order", &id.to_string(), field, &stamp)?;
    }
    Ok(())
}
