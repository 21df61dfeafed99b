//! The closed loop after a visit (问题-处理-反馈-改进): the callback every completed job
//! gets, the calls the office records on it, and the complaints they open. The rules are
//! here, once; the server's engine stores the rows and asks these functions what follows.
//!
//! A callback's due time and urgency are not stored: they are derived from the job's
//! current record ([`CallbackSignals`]) every time they are read, so a rating that arrives
//! in a later push than the completion makes the callback urgent at once, with nothing to
//! recompute (docs/CLOSED_LOOP.md).

use std::cmp::Ordering;

use chrono::Duration;
use serde::{Deserialize, Serialize};

use crate::ids::{CallbackId, ComplaintId, LoopEventId, UserId, WorkOrderId};
use crate::kpi::{CallbackFacts, CallbackOutcome, ComplaintFacts};
use crate::time::{Timestamp, format_ts, serde_ts};

/// The loop's timings, from the server's configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoopPolicy {
    /// A callback is due this many hours after the completion. Default 48.
    pub callback_due_hours: u32,
    /// An urgent callback is due this many hours after what made it urgent (and never later
    /// than an ordinary one). Default 4.
    pub urgent_due_hours: u32,
    /// A call that did not reach the customer is tried again this many hours later when the
    /// office names no time; an urgent callback after `urgent_due_hours`. Default 24.
    pub retry_hours: u32,
    /// A complaint is to be resolved within this many hours of being opened, unless the
    /// office sets its deadline. Default 72.
    pub complaint_deadline_hours: u32,
}

impl LoopPolicy {
    pub const DEFAULT: LoopPolicy = LoopPolicy {
        callback_due_hours: 48,
        urgent_due_hours: 4,
        retry_hours: 24,
        complaint_deadline_hours: 72,
    };
}

impl Default for LoopPolicy {
    fn default() -> Self {
        Self::DEFAULT
    }
}

fn hours(h: u32) -> Duration {
    Duration::hours(i64::from(h))
}

/// A rating the office must hear about: 3 stars or fewer, or a recommendation score of 6
/// or less (a detractor).
pub fn is_low_rating(rating: Option<u8>, nps: Option<u8>) -> bool {
    rating.is_some_and(|r| r <= 3) || nps.is_some_and(|n| n <= 6)
}

/// Why a callback is urgent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UrgentReason {
    LowRating,
    FollowUpNeeded,
    OpenComplaint,
}

/// What the job's current record says that bears on its callback.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CallbackSignals {
    /// The completion's event time.
    pub completed_at: Timestamp,
    /// The customer's latest rating and score, and when they gave them.
    pub rating: Option<u8>,
    pub nps: Option<u8>,
    pub feedback_at: Option<Timestamp>,
    /// The technician recorded that a follow-up visit is needed.
    pub follow_up_needed: bool,
    /// When the earliest complaint still open on the job was opened.
    pub open_complaint_since: Option<Timestamp>,
}

impl CallbackSignals {
    /// What makes the callback urgent, in a fixed order; empty when nothing does.
    pub fn urgent_reasons(&self) -> Vec<UrgentReason> {
        let mut out = Vec::new();
        if is_low_rating(self.rating, self.nps) {
            out.push(UrgentReason::LowRating);
        }
        if self.follow_up_needed {
            out.push(UrgentReason::FollowUpNeeded);
        }
        if self.open_complaint_since.is_some() {
            out.push(UrgentReason::OpenComplaint);
        }
        out
    }

    /// When the callback became urgent: the earliest of its reasons, none before the
    /// completion (a rating given on the device before the job was closed counts from the
    /// completion).
    pub fn urgent_since(&self) -> Option<Timestamp> {
        let low = is_low_rating(self.rating, self.nps)
            .then(|| self.feedback_at.unwrap_or(self.completed_at));
        let follow_up = self.follow_up_needed.then_some(self.completed_at);
        [low, follow_up, self.open_complaint_since]
            .into_iter()
            .flatten()
            .min()
            .map(|t| t.max(self.completed_at))
    }
}

/// One call the office made on a callback. Who and when are the server's, never the body's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallAttempt {
    #[serde(with = "serde_ts")]
    pub at: Timestamp,
    pub by: UserId,
    pub reached: bool,
    /// How a reached call ended; `None` for one that reached nobody.
    #[serde(default)]
    pub outcome: Option<CallbackOutcome>,
    /// For a call that reached nobody: when to try again.
    #[serde(default, with = "serde_ts::option")]
    pub next_attempt_at: Option<Timestamp>,
    #[serde(default)]
    pub note: Option<String>,
}

/// The callback task of one completed job.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Callback {
    pub id: CallbackId,
    pub work_order_id: WorkOrderId,
    /// The completion it follows (event time): the due time counts from here.
    #[serde(with = "serde_ts")]
    pub completed_at: Timestamp,
    #[serde(default)]
    pub attempts: Vec<CallAttempt>,
    /// The reached call that closed the task.
    #[serde(default, with = "serde_ts::option")]
    pub done_at: Option<Timestamp>,
    #[serde(default)]
    pub outcome: Option<CallbackOutcome>,
    /// The complaint or the revisit the closing call opened.
    #[serde(default)]
    pub complaint_id: Option<ComplaintId>,
    #[serde(default)]
    pub revisit_id: Option<WorkOrderId>,
}

impl Callback {
    pub fn new(id: CallbackId, work_order_id: WorkOrderId, completed_at: Timestamp) -> Self {
        Self {
            id,
            work_order_id,
            completed_at,
            attempts: Vec::new(),
            done_at: None,
            outcome: None,
            complaint_id: None,
            revisit_id: None,
        }
    }

    pub fn is_open(&self) -> bool {
        self.done_at.is_none()
    }

    /// When the call is due, from the job's current record:
    /// - ordinarily `callback_due_hours` after the completion;
    /// - urgent: `urgent_due_hours` after it became urgent, if that is sooner;
    /// - after a call that reached nobody: the retry time it set, or sooner if the job
    ///   became urgent only after that call (the office did not know of it then).
    pub fn due_at(&self, signals: &CallbackSignals, policy: &LoopPolicy) -> Timestamp {
        let urgent_due = signals
            .urgent_since()
            .map(|since| since + hours(policy.urgent_due_hours));
        let retry = self
            .attempts
            .iter()
            .rev()
            .find(|a| !a.reached)
            .and_then(|a| a.next_attempt_at.map(|next| (a.at, next)));
        match (retry, urgent_due) {
            (Some((called, next)), Some(urgent)) if signals.urgent_since() > Some(called) => {
                next.min(urgent)
            }
            (Some((_, next)), _) => next,
            (None, urgent) => {
                let ordinary = self.completed_at + hours(policy.callback_due_hours);
                urgent.map_or(ordinary, |u| u.min(ordinary))
            }
        }
    }

    /// The callback as the KPIs count it.
    pub fn facts(&self, signals: &CallbackSignals, policy: &LoopPolicy) -> CallbackFacts {
        CallbackFacts {
            due_at: self.due_at(signals, policy),
            done_at: self.done_at,
            outcome: self.outcome,
        }
    }
}

/// What a call's record asks for, as the office sends it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallReport {
    pub reached: bool,
    #[serde(default)]
    pub outcome: Option<CallbackOutcome>,
    #[serde(default, with = "serde_ts::option")]
    pub next_attempt_at: Option<Timestamp>,
    #[serde(default)]
    pub note: Option<String>,
}

/// Longest note on a call, complaint summary or resolution, in characters.
pub const LOOP_TEXT_MAX_CHARS: usize = 4000;

fn check_text(what: &str, text: &str) -> Result<(), String> {
    if text.trim().is_empty() {
        return Err(format!("{what} is empty; enter it"));
    }
    let n = text.chars().count();
    if n > LOOP_TEXT_MAX_CHARS {
        return Err(format!(
            "{what} is limited to {LOOP_TEXT_MAX_CHARS} characters (this one has {n}); shorten it"
        ));
    }
    Ok(())
}

/// What a recorded call leads to, besides the attempt itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallFollowUp {
    /// Not reached: the callback stays open, due again at this time.
    Retry(Timestamp),
    /// Reached and satisfied: the callback is done.
    Close,
    /// Reached, and the customer complains: done, and a complaint opens.
    OpenComplaint,
    /// Reached, and the problem is back: done, and a revisit is created.
    CreateRevisit,
}

/// Checks a call `by` makes at `now` on `callback` (urgent or not) and says what follows.
pub fn plan_call(
    callback: &Callback,
    report: &CallReport,
    urgent: bool,
    by: UserId,
    now: Timestamp,
    policy: &LoopPolicy,
) -> Result<(CallAttempt, CallFollowUp), String> {
    if !callback.is_open() {
        return Err(format!(
            "this callback was closed at {}; its call is recorded",
            format_ts(&callback.done_at.unwrap_or(now))
        ));
    }
    if let Some(note) = &report.note {
        check_text("the call's note", note)?;
    }
    let follow_up = match (report.reached, report.outcome) {
        (true, None) => {
            return Err(
                "a call that reached the customer needs its outcome: satisfied, complaint or revisit_needed"
                    .into(),
            );
        }
        (false, Some(o)) => {
            return Err(format!(
                "a call that reached nobody has no outcome (got {o:?}); send reached: true, or no outcome"
            ));
        }
        (true, Some(_)) if report.next_attempt_at.is_some() => {
            return Err("a call that reached the customer needs no next attempt".into());
        }
        (true, Some(CallbackOutcome::Satisfied)) => CallFollowUp::Close,
        (true, Some(CallbackOutcome::Complaint)) => CallFollowUp::OpenComplaint,
        (true, Some(CallbackOutcome::RevisitNeeded)) => CallFollowUp::CreateRevisit,
        (false, None) => {
            let wait = if urgent {
                policy.urgent_due_hours
            } else {
                policy.retry_hours
            };
            let next = report.next_attempt_at.unwrap_or(now + hours(wait));
            if next <= now {
                return Err(format!(
                    "the next attempt ({}) is not after now ({}); choose a later time",
                    format_ts(&next),
                    format_ts(&now)
                ));
            }
            CallFollowUp::Retry(next)
        }
    };
    let attempt = CallAttempt {
        at: now,
        by,
        reached: report.reached,
        outcome: report.outcome,
        next_attempt_at: match follow_up {
            CallFollowUp::Retry(next) => Some(next),
            _ => None,
        },
        note: report.note.clone(),
    };
    Ok((attempt, follow_up))
}

/// Where a callback stands in the office's queue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueuePlace<'a> {
    pub open: bool,
    pub urgent: bool,
    pub due_at: Timestamp,
    /// The job's number: the last tie-break, so the order is the same every time.
    pub number: &'a str,
}

/// The callback queue's order: open before done, urgent on top, then the soonest due.
pub fn queue_order(a: &QueuePlace<'_>, b: &QueuePlace<'_>) -> Ordering {
    b.open
        .cmp(&a.open)
        .then(b.urgent.cmp(&a.urgent))
        .then(a.due_at.cmp(&b.due_at))
        .then(a.number.cmp(b.number))
}

/// A complaint about a job, with the office user who owns it until it is resolved.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Complaint {
    pub id: ComplaintId,
    pub work_order_id: WorkOrderId,
    /// The callback whose call opened it; `None` when the office opened it directly.
    #[serde(default)]
    pub callback_id: Option<CallbackId>,
    pub summary: String,
    pub owner_id: UserId,
    #[serde(with = "serde_ts")]
    pub deadline: Timestamp,
    #[serde(with = "serde_ts")]
    pub opened_at: Timestamp,
    pub opened_by: UserId,
    #[serde(default, with = "serde_ts::option")]
    pub resolved_at: Option<Timestamp>,
    #[serde(default)]
    pub resolved_by: Option<UserId>,
    #[serde(default)]
    pub resolution: Option<String>,
}

impl Complaint {
    pub fn is_open(&self) -> bool {
        self.resolved_at.is_none()
    }

    /// Open past its deadline: shown as escalated and sorted first.
    pub fn is_escalated(&self, now: Timestamp) -> bool {
        self.is_open() && now > self.deadline
    }

    /// The complaint as the KPIs count it.
    pub fn facts(&self) -> ComplaintFacts {
        ComplaintFacts {
            opened_at: self.opened_at,
            resolved_at: self.resolved_at,
            owner_id: Some(self.owner_id),
            deadline: Some(self.deadline),
        }
    }

    /// Minutes from opened to resolved, once resolved.
    pub fn resolution_minutes(&self) -> Option<i64> {
        self.resolved_at
            .map(|at| (at - self.opened_at).num_minutes())
    }
}

/// A complaint's summary, checked.
pub fn check_summary(summary: &str) -> Result<(), String> {
    check_text("the complaint's summary", summary)
}

/// A resolution's text, checked.
pub fn check_resolution(resolution: &str) -> Result<(), String> {
    check_text("the resolution", resolution)
}

/// The deadline of a complaint opened (or re-dated) at `now`: the one the office gives,
/// which must lie ahead, or `complaint_deadline_hours` after `opened_at`.
pub fn complaint_deadline(
    opened_at: Timestamp,
    given: Option<Timestamp>,
    now: Timestamp,
    policy: &LoopPolicy,
) -> Result<Timestamp, String> {
    match given {
        Some(d) if d <= now => Err(format!(
            "the deadline ({}) is not after now ({}); choose a later time",
            format_ts(&d),
            format_ts(&now)
        )),
        Some(d) => Ok(d),
        None => Ok(opened_at + hours(policy.complaint_deadline_hours)),
    }
}

/// The complaint list's order at `now`: escalated first, then open by deadline, then the
/// resolved, latest resolution first.
pub fn complaint_order(a: &Complaint, b: &Complaint, now: Timestamp) -> Ordering {
    b.is_escalated(now)
        .cmp(&a.is_escalated(now))
        .then(b.is_open().cmp(&a.is_open()))
        .then_with(|| {
            if a.is_open() {
                a.deadline.cmp(&b.deadline)
            } else {
                b.resolved_at.cmp(&a.resolved_at)
            }
        })
        .then(a.id.cmp(&b.id))
}

/// What one entry of the loop's history records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LoopEventKind {
    CallbackOpened,
    CallRecorded,
    ComplaintOpened,
    ComplaintUpdated,
    ComplaintResolved,
    RevisitCreated,
}

/// One append-only entry of a job's closed loop: who did what, when. `by` is `None` for the
/// server's own steps (a callback opened by a completion).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LoopEvent {
    pub id: LoopEventId,
    pub work_order_id: WorkOrderId,
    #[serde(with = "serde_ts")]
    pub at: Timestamp,
    #[serde(default)]
    pub by: Option<UserId>,
    pub kind: LoopEventKind,
    #[serde(default)]
    pub callback_id: Option<CallbackId>,
    #[serde(default)]
    pub complaint_id: Option<ComplaintId>,
    /// What changed: the call's attempt, the complaint's new owner and deadline, the
    /// revisit's id.
    #[serde(default)]
    pub detail: serde_json::Value,
}

#[cfg(test)]
mod tests;
