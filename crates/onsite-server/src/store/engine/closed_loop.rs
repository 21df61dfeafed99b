//! The closed loop's store rules: the callback a completion opens (in the push's own
//! transaction), the office's calls and what each leads to, complaints and their history.
//! The timings, the urgency and the orders are the model's (`onsite_model::closed_loop`);
//! a callback's due time is derived from the job's current record whenever it is read.

use std::collections::HashMap;

use onsite_model::closed_loop::{
    CallFollowUp, CallReport, Callback, CallbackSignals, Complaint, LoopEvent, LoopEventKind,
    LoopPolicy, QueuePlace, check_resolution, check_summary, complaint_deadline, complaint_order,
    plan_call, queue_order,
};
use onsite_model::kpi::JobFacts;
use onsite_model::time::Timestamp;
use onsite_model::{
    CallbackId, ComplaintId, Feedback, LoopEventId, Role, UserId, WorkOrder, WorkOrderId,
};
use serde_json::{Value, json};

use super::super::backend::{Backend, ReadTx, WriteTx};
use super::super::interface::{
    CallRecorded, CallbackFilter, CallbackItem, ComplaintFilter, ComplaintItem, ComplaintPatch,
    LoopRecord, NewComplaint, NewWorkOrder, RecordCall,
};
use super::context::{Ctx, Engine};
use super::office::create_rows;
use super::records::{all_json, from_json, load_user, require_wo, rows_of, to_json};
use crate::error::{Error, Result};

const CALLBACK: &str = "callback";
const COMPLAINT: &str = "complaint";
const EVENT: &str = "loop_event";

fn put<T: serde::Serialize>(
    tx: &dyn WriteTx,
    kind: &str,
    id: &str,
    wo: WorkOrderId,
    row: &T,
) -> Result<()> {
    tx.put_loop_row(kind, id, wo, &to_json(row)?)
}

/// Appends one entry to the job's loop history.
fn event(
    ctx: &Ctx<'_>,
    wo: WorkOrderId,
    by: Option<UserId>,
    kind: LoopEventKind,
    ids: (Option<CallbackId>, Option<ComplaintId>),
    detail: Value,
) -> Result<()> {
    let ev = LoopEvent {
        id: LoopEventId::new(ctx.ids),
        work_order_id: wo,
        at: ctx.now,
        by,
        kind,
        callback_id: ids.0,
        complaint_id: ids.1,
        detail,
    };
    put(ctx.tx, EVENT, &ev.id.to_string(), wo, &ev)
}

/// Opens the callback of a job just completed, in the transaction that stores the
/// completion. A job completed again after a reopen keeps its callback while that is open.
pub(super) fn open_callback(ctx: &Ctx<'_>, wo: &WorkOrder) -> Result<()> {
    let Some(completed_at) = wo.completed_at else {
        return Ok(());
    };
    let existing: Vec<Callback> = all_json(ctx.tx.loop_rows(CALLBACK, Some(wo.id))?)?;
    if existing.iter().any(Callback::is_open) {
        return Ok(());
    }
    let cb = Callback::new(CallbackId::new(ctx.ids), wo.id, completed_at);
    put(ctx.tx, CALLBACK, &cb.id.to_string(), wo.id, &cb)?;
    event(
        ctx,
        wo.id,
        None,
        LoopEventKind::CallbackOpened,
        (Some(cb.id), None),
        json!({ "completed_at": onsite_model::time::format_ts(&completed_at) }),
    )
}

/// The signals of a job's callback from its record: the latest feedback, the follow-up
/// flag and the earliest open complaint.
pub(super) fn signals(
    wo: &WorkOrder,
    cb: &Callback,
    feedback: &[Feedback],
    complaints: &[Complaint],
) -> CallbackSignals {
    let latest = feedback.iter().max_by_key(|f| (f.created_at, f.id));
    CallbackSignals {
        completed_at: cb.completed_at,
        rating: latest.map(|f| f.rating),
        nps: latest.and_then(|f| f.nps),
        feedback_at: latest.map(|f| f.created_at),
        follow_up_needed: wo.follow_up_needed,
        open_complaint_since: complaints
            .iter()
            .filter(|c| c.is_open())
            .map(|c| c.opened_at)
            .min(),
    }
}

fn callback_item(
    wo: &WorkOrder,
    cb: Callback,
    feedback: &[Feedback],
    complaints: &[Complaint],
    policy: &LoopPolicy,
    now: Timestamp,
) -> CallbackItem {
    let s = signals(wo, &cb, feedback, complaints);
    let reasons = s.urgent_reasons();
    let due_at = cb.due_at(&s, policy);
    CallbackItem {
        number: wo.number.clone(),
        customer_id: wo.customer_id,
        assignee_id: wo.assignee_id,
        due_at,
        urgent: cb.is_open() && !reasons.is_empty(),
        urgent_reasons: reasons,
        overdue: cb.is_open() && now > due_at,
        callback: cb,
    }
}

fn complaint_item(number: &str, c: Complaint, now: Timestamp) -> ComplaintItem {
    ComplaintItem {
        number: number.to_owned(),
        escalated: c.is_escalated(now),
        complaint: c,
    }
}

/// Everything of the loop on one job, for its record.
pub(super) fn loop_record(
    tx: &dyn ReadTx,
    wo: &WorkOrder,
    policy: &LoopPolicy,
    now: Timestamp,
) -> Result<LoopRecord> {
    let feedback: Vec<Feedback> = rows_of(tx, wo.id, "feedback")?;
    let complaints: Vec<Complaint> = all_json(tx.loop_rows(COMPLAINT, Some(wo.id))?)?;
    let callbacks: Vec<Callback> = all_json(tx.loop_rows(CALLBACK, Some(wo.id))?)?;
    let mut events: Vec<LoopEvent> = all_json(tx.loop_rows(EVENT, Some(wo.id))?)?;
    events.sort_by_key(|e| (e.at, e.id));
    Ok(LoopRecord {
        callbacks: callbacks
            .into_iter()
            .map(|cb| callback_item(wo, cb, &feedback, &complaints, policy, now))
            .collect(),
        complaints: complaints
            .into_iter()
            .map(|c| complaint_item(&wo.number, c, now))
            .collect(),
        events,
    })
}

/// Rows grouped by the job they belong to.
type ByJob<T> = HashMap<WorkOrderId, Vec<T>>;

/// The callbacks and complaints of every job, grouped by job: what the KPIs read.
pub(super) fn loop_rows_by_job(tx: &dyn ReadTx) -> Result<(ByJob<Callback>, ByJob<Complaint>)> {
    let mut callbacks: ByJob<Callback> = HashMap::new();
    for cb in all_json::<Callback>(tx.loop_rows(CALLBACK, None)?)? {
        callbacks.entry(cb.work_order_id).or_default().push(cb);
    }
    let mut complaints: ByJob<Complaint> = HashMap::new();
    for c in all_json::<Complaint>(tx.loop_rows(COMPLAINT, None)?)? {
        complaints.entry(c.work_order_id).or_default().push(c);
    }
    Ok((callbacks, complaints))
}

/// Fills the callbacks and complaints of `facts` (one per job of `jobs`, in order) from the
/// stored loop: each callback's due time from its job's current record, as the queue shows.
pub(super) fn add_loop_facts(
    tx: &dyn ReadTx,
    facts: &mut [JobFacts],
    jobs: &[WorkOrder],
    feedback: Vec<Feedback>,
    policy: &LoopPolicy,
) -> Result<()> {
    let (callbacks, complaints) = loop_rows_by_job(tx)?;
    let mut feedback_of: HashMap<WorkOrderId, Vec<Feedback>> = HashMap::new();
    for f in feedback {
        feedback_of.entry(f.work_order_id).or_default().push(f);
    }
    for (f, wo) in facts.iter_mut().zip(jobs) {
        let cs = complaints.get(&wo.id).map_or(&[][..], Vec::as_slice);
        let fb = feedback_of.get(&wo.id).map_or(&[][..], Vec::as_slice);
        f.complaints = cs.iter().map(Complaint::facts).collect();
        f.callbacks = callbacks
            .get(&wo.id)
            .into_iter()
            .flatten()
            .map(|cb| cb.facts(&signals(wo, cb, fb, cs), policy))
            .collect();
    }
    Ok(())
}

fn load_callback(tx: &dyn ReadTx, id: CallbackId) -> Result<Callback> {
    let row = tx
        .load_loop_row(CALLBACK, &id.to_string())?
        .ok_or_else(|| Error::not_found("unknown_callback", format!("no callback {id}")))?;
    from_json(&row)
}

fn load_complaint(tx: &dyn ReadTx, id: ComplaintId) -> Result<Complaint> {
    let row = tx
        .load_loop_row(COMPLAINT, &id.to_string())?
        .ok_or_else(|| Error::not_found("unknown_complaint", format!("no complaint {id}")))?;
    from_json(&row)
}

/// A complaint's owner: an office user (dispatcher or administrator), who answers for it.
fn check_owner(tx: &dyn ReadTx, id: UserId) -> Result<()> {
    let user = load_user(tx, id)?
        .ok_or_else(|| Error::bad_request("unknown_user", format!("no user {id}")))?;
    if user.role == Role::Technician {
        return Err(Error::bad_request(
            "owner_not_office",
            format!(
                "{} ({}) is a technician; a complaint is owned by a dispatcher or an administrator",
                user.name, user.username
            ),
        ));
    }
    Ok(())
}

fn invalid(m: String) -> Error {
    Error::bad_request("invalid_value", m)
}

/// Opens a complaint on `wo` in the write `ctx`, owned by `new.owner_id` or the caller.
fn insert_complaint(
    ctx: &Ctx<'_>,
    by: UserId,
    wo: &WorkOrder,
    callback: Option<CallbackId>,
    new: &NewComplaint,
    policy: &LoopPolicy,
) -> Result<Complaint> {
    check_summary(&new.summary).map_err(invalid)?;
    let owner = new.owner_id.unwrap_or(by);
    check_owner(ctx.tx, owner)?;
    let deadline = complaint_deadline(ctx.now, new.deadline, ctx.now, policy).map_err(invalid)?;
    let c = Complaint {
        id: ComplaintId::new(ctx.ids),
        work_order_id: wo.id,
        callback_id: callback,
        summary: new.summary.trim().to_owned(),
        owner_id: owner,
        deadline,
        opened_at: ctx.now,
        opened_by: by,
        resolved_at: None,
        resolved_by: None,
        resolution: None,
    };
    put(ctx.tx, COMPLAINT, &c.id.to_string(), wo.id, &c)?;
    event(
        ctx,
        wo.id,
        Some(by),
        LoopEventKind::ComplaintOpened,
        (callback, Some(c.id)),
        json!({ "summary": c.summary, "owner_id": c.owner_id,
                "deadline": onsite_model::time::format_ts(&c.deadline) }),
    )?;
    Ok(c)
}

/// The revisit a call asks for: the same customer, asset, job type and priority, reported
/// now, unassigned (assigned as usual afterwards).
fn revisit_of(wo: &WorkOrder, problem: Option<&str>) -> NewWorkOrder {
    let problem = problem
        .map(str::to_owned)
        .unwrap_or_else(|| format!("Revisit of {}: {}", wo.number, wo.problem));
    NewWorkOrder {
        customer_id: wo.customer_id,
        asset_id: wo.asset_id,
        job_type: wo.job_type,
        priority: wo.priority,
        problem,
        reported_at: None,
        respond_by: None,
        resolve_by: None,
        appointment_start: None,
        appointment_end: None,
        assignee_id: None,
        revisit_of: Some(wo.id),
    }
}

impl<B: Backend> Engine<B> {
    pub(super) fn list_callbacks(&self, filter: &CallbackFilter) -> Result<Vec<CallbackItem>> {
        let now = self.clock.now();
        let policy = self.loop_policy();
        let mut items = self.read(|tx| {
            let mut out = Vec::new();
            let (callbacks, complaints) = loop_rows_by_job(tx)?;
            // One read of every rating, rather than one per job.
            let mut feedback_of: ByJob<Feedback> = HashMap::new();
            for f in all_json::<Feedback>(tx.rows_of_kind("feedback")?)? {
                feedback_of.entry(f.work_order_id).or_default().push(f);
            }
            for (job, cbs) in callbacks {
                if filter.work_order.is_some_and(|w| w != job) {
                    continue;
                }
                let wo = require_wo(tx, job)?;
                if filter.assignee.is_some() && wo.assignee_id != filter.assignee {
                    continue;
                }
                let feedback = feedback_of.get(&job).map_or(&[][..], Vec::as_slice);
                let open = complaints.get(&job).map_or(&[][..], Vec::as_slice);
                for cb in cbs {
                    out.push(callback_item(&wo, cb, feedback, open, &policy, now));
                }
            }
            Ok(out)
        })?;
        items.retain(|i| {
            filter.open.is_none_or(|o| i.callback.is_open() == o)
                && filter.urgent.is_none_or(|u| i.urgent == u)
                && filter.overdue.is_none_or(|o| i.overdue == o)
        });
        items.sort_by(|a, b| queue_order(&place(a), &place(b)));
        Ok(items)
    }

    pub(super) fn record_call(
        &self,
        by: UserId,
        id: CallbackId,
        call: &RecordCall,
    ) -> Result<CallRecorded> {
        let policy = self.loop_policy();
        self.write(|ctx| {
            let mut cb = load_callback(ctx.tx, id)?;
            let wo = require_wo(ctx.tx, cb.work_order_id)?;
            let feedback: Vec<Feedback> = rows_of(ctx.tx, wo.id, "feedback")?;
            let complaints: Vec<Complaint> = all_json(ctx.tx.loop_rows(COMPLAINT, Some(wo.id))?)?;
            let urgent = !signals(&wo, &cb, &feedback, &complaints)
                .urgent_reasons()
                .is_empty();
            let report = CallReport {
                reached: call.reached,
                outcome: call.outcome,
                next_attempt_at: call.next_attempt_at,
                note: call.note.clone(),
            };
            let (attempt, follow_up) =
                plan_call(&cb, &report, urgent, by, ctx.now, &policy).map_err(invalid)?;
            if follow_up != CallFollowUp::OpenComplaint && call.complaint.is_some() {
                return Err(invalid(
                    "a complaint is opened by a call whose outcome is complaint".into(),
                ));
            }
            if follow_up != CallFollowUp::CreateRevisit && call.revisit_problem.is_some() {
                return Err(invalid(
                    "a revisit is created by a call whose outcome is revisit_needed".into(),
                ));
            }
            let detail = serde_json::to_value(&attempt)?;
            cb.attempts.push(attempt);
            let mut complaint = None;
            let mut revisit = None;
            match follow_up {
                CallFollowUp::Retry(_) => {}
                CallFollowUp::Close => {}
                CallFollowUp::OpenComplaint => {
                    let new = call.complaint.as_ref().ok_or_else(|| {
                        invalid("a complaint needs its summary: send complaint.summary".into())
                    })?;
                    let c = insert_complaint(ctx, by, &wo, Some(cb.id), new, &policy)?;
                    cb.complaint_id = Some(c.id);
                    complaint = Some(c);
                }
                CallFollowUp::CreateRevisit => {
                    let new = revisit_of(&wo, call.revisit_problem.as_deref());
                    let created = create_rows(ctx, &[new], 0)?
                        .pop()
                        .ok_or_else(|| Error::Internal("the revisit was not created".into()))?;
                    cb.revisit_id = Some(created.id);
                    event(
                        ctx,
                        wo.id,
                        Some(by),
                        LoopEventKind::RevisitCreated,
                        (Some(cb.id), None),
                        json!({ "revisit_id": created.id, "number": created.number }),
                    )?;
                    revisit = Some(created);
                }
            }
            if !matches!(follow_up, CallFollowUp::Retry(_)) {
                cb.done_at = Some(ctx.now);
                cb.outcome = call.outcome;
            }
            put(ctx.tx, CALLBACK, &cb.id.to_string(), wo.id, &cb)?;
            event(
                ctx,
                wo.id,
                Some(by),
                LoopEventKind::CallRecorded,
                (Some(cb.id), None),
                detail,
            )?;
            let complaints: Vec<Complaint> = all_json(ctx.tx.loop_rows(COMPLAINT, Some(wo.id))?)?;
            Ok(CallRecorded {
                callback: callback_item(&wo, cb, &feedback, &complaints, &policy, ctx.now),
                complaint: complaint.map(|c| complaint_item(&wo.number, c, ctx.now)),
                revisit,
            })
        })
    }

    pub(super) fn list_complaints(&self, filter: &ComplaintFilter) -> Result<Vec<ComplaintItem>> {
        let now = self.clock.now();
        let mut all: Vec<(String, Complaint)> = self.read(|tx| {
            let mut numbers: HashMap<WorkOrderId, String> = HashMap::new();
            let mut out = Vec::new();
            for c in all_json::<Complaint>(tx.loop_rows(COMPLAINT, filter.work_order)?)? {
                if !numbers.contains_key(&c.work_order_id) {
                    let wo = require_wo(tx, c.work_order_id)?;
                    numbers.insert(wo.id, wo.number);
                }
                out.push((numbers[&c.work_order_id].clone(), c));
            }
            Ok(out)
        })?;
        all.retain(|(_, c)| {
            filter.open.is_none_or(|o| c.is_open() == o)
                && filter.escalated.is_none_or(|e| c.is_escalated(now) == e)
                && filter.owner.is_none_or(|o| c.owner_id == o)
        });
        all.sort_by(|a, b| complaint_order(&a.1, &b.1, now));
        Ok(all
            .into_iter()
            .map(|(n, c)| complaint_item(&n, c, now))
            .collect())
    }

    pub(super) fn get_complaint(&self, id: ComplaintId) -> Result<ComplaintItem> {
        let now = self.clock.now();
        self.read(|tx| {
            let c = load_complaint(tx, id)?;
            let wo = require_wo(tx, c.work_order_id)?;
            Ok(complaint_item(&wo.number, c, now))
        })
    }

    pub(super) fn open_complaint(
        &self,
        by: UserId,
        job: WorkOrderId,
        new: &NewComplaint,
    ) -> Result<ComplaintItem> {
        let policy = self.loop_policy();
        self.write(|ctx| {
            let wo = require_wo(ctx.tx, job)?;
            let c = insert_complaint(ctx, by, &wo, None, new, &policy)?;
            Ok(complaint_item(&wo.number, c, ctx.now))
        })
    }

    pub(super) fn update_complaint(
        &self,
        by: UserId,
        id: ComplaintId,
        patch: &ComplaintPatch,
    ) -> Result<ComplaintItem> {
        let policy = self.loop_policy();
        self.write(|ctx| {
            let mut c = load_complaint(ctx.tx, id)?;
            if !c.is_open() {
                return Err(Error::conflict(
                    "complaint_resolved",
                    "this complaint is resolved; open a new one if the customer complains again",
                ));
            }
            if patch.owner_id.is_none() && patch.deadline.is_none() {
                return Err(invalid("send owner_id, deadline or both".into()));
            }
            if let Some(owner) = patch.owner_id {
                check_owner(ctx.tx, owner)?;
                c.owner_id = owner;
            }
            if let Some(d) = patch.deadline {
                c.deadline =
                    complaint_deadline(c.opened_at, Some(d), ctx.now, &policy).map_err(invalid)?;
            }
            put(ctx.tx, COMPLAINT, &c.id.to_string(), c.work_order_id, &c)?;
            event(
                ctx,
                c.work_order_id,
                Some(by),
                LoopEventKind::ComplaintUpdated,
                (c.callback_id, Some(c.id)),
                json!({ "owner_id": patch.owner_id,
                        "deadline": patch.deadline.map(|d| onsite_model::time::format_ts(&d)) }),
            )?;
            let wo = require_wo(ctx.tx, c.work_order_id)?;
            Ok(complaint_item(&wo.number, c, ctx.now))
        })
    }

    pub(super) fn resolve_complaint(
        &self,
        by: UserId,
        id: ComplaintId,
        resolution: &str,
    ) -> Result<ComplaintItem> {
        self.write(|ctx| {
            let mut c = load_complaint(ctx.tx, id)?;
            if !c.is_open() {
                return Err(Error::conflict(
                    "complaint_resolved",
                    "this complaint is resolved already",
                ));
            }
            check_resolution(resolution).map_err(invalid)?;
            c.resolved_at = Some(ctx.now);
            c.resolved_by = Some(by);
            c.resolution = Some(resolution.trim().to_owned());
            put(ctx.tx, COMPLAINT, &c.id.to_string(), c.work_order_id, &c)?;
            event(
                ctx,
                c.work_order_id,
                Some(by),
                LoopEventKind::ComplaintResolved,
                (c.callback_id, Some(c.id)),
                json!({ "resolution": c.resolution, "minutes": c.resolution_minutes() }),
            )?;
            let wo = require_wo(ctx.tx, c.work_order_id)?;
            Ok(complaint_item(&wo.number, c, ctx.now))
        })
    }
}

fn place(i: &CallbackItem) -> QueuePlace<'_> {
    QueuePlace {
        open: i.callback.is_open(),
        urgent: i.urgent,
        due_at: i.due_at,
        number: &i.number,
    }
}
