//! What the KPIs read: one [`JobFacts`] per work order, filled from recorded rows by the
//! server's engine or by a device, and the [`KpiOptions`] that set the windows.
//!
//! Every time here is an event time: when the thing happened, as recorded on the device
//! and already skew-corrected upstream (`clock::corrected_time` on the device,
//! `clock::bounded_event_time` on the server). A sync time never appears, so a job synced
//! three days late counts exactly as one synced at once.

use std::collections::HashMap;

use chrono::Duration;
use serde::{Deserialize, Serialize};

use crate::checklist::AnswerValue;
use crate::entities::{ChecklistAnswer, Feedback, WorkOrder};
use crate::ids::{CustomerId, UserId, WorkOrderId};
use crate::kinds::{JobType, Priority};
use crate::sla::SlaPolicy;
use crate::status::WorkOrderStatus;
use crate::text_enum::text_enum;
use crate::time::{Timestamp, serde_ts};

/// The recorded facts of one work order that the KPIs read.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobFacts {
    pub id: WorkOrderId,
    /// Human number, e.g. `WO-2026-000123`: for drill-down lists, not for arithmetic.
    pub number: String,
    pub customer_id: CustomerId,
    pub job_type: JobType,
    pub priority: Priority,
    /// The technician the job is (or was last) assigned to.
    #[serde(default)]
    pub assignee_id: Option<UserId>,
    #[serde(with = "serde_ts")]
    pub reported_at: Timestamp,
    /// Agreed deadlines; when absent the [`SlaPolicy`] default of the priority applies
    /// (the same default the office gives a new job).
    #[serde(default, with = "serde_ts::option")]
    pub respond_by: Option<Timestamp>,
    #[serde(default, with = "serde_ts::option")]
    pub resolve_by: Option<Timestamp>,
    #[serde(default, with = "serde_ts::option")]
    pub appointment_start: Option<Timestamp>,
    #[serde(default, with = "serde_ts::option")]
    pub appointment_end: Option<Timestamp>,
    /// First arrival on site (`WorkOrder::arrived_at`).
    #[serde(default, with = "serde_ts::option")]
    pub arrived_at: Option<Timestamp>,
    /// The completion's event time, set only once the job counts as done
    /// (`WorkOrder::is_done`: completed, with all its evidence on the server).
    #[serde(default, with = "serde_ts::option")]
    pub completed_at: Option<Timestamp>,
    #[serde(default)]
    pub cancelled: bool,
    /// The technician's verdict at completion.
    #[serde(default)]
    pub result: Option<JobResult>,
    /// The earlier job this one revisits. This is the revisit link: a revisit is a work
    /// order whose `revisit_of` names the earlier job (created, for instance, when a
    /// callback finds the problem back). The earlier job then loses its first-time fix if
    /// the revisit was reported within [`KpiOptions::revisit_window_days`] of its completion.
    #[serde(default)]
    pub revisit_of: Option<WorkOrderId>,
    /// The customer's rating, 1 to 5 stars; `None` when the customer gave none.
    #[serde(default)]
    pub rating: Option<u8>,
    /// The customer's recommendation score, 0 to 10; `None` when not answered.
    #[serde(default)]
    pub nps: Option<u8>,
    #[serde(default)]
    pub conduct: ConductFacts,
    #[serde(default)]
    pub callbacks: Vec<CallbackFacts>,
    #[serde(default)]
    pub complaints: Vec<ComplaintFacts>,
}

impl JobFacts {
    /// The facts of one job as its rows record them: the work order, its checklist answers
    /// and the customer's feedback (the latest counts). Times are the recorded event times,
    /// so a job synced days late gives the same facts as one synced at once.
    ///
    /// - `completed_at` is set only once the job is done ([`WorkOrder::is_done`]).
    /// - `result`: a completed job with a follow-up visit needed was not fixed on this visit;
    ///   otherwise it was.
    /// - `revisit_of`: the work order's own revisit link ([`WorkOrder::revisit_of`]).
    /// - Not recorded on these rows, left for their callers: callbacks, complaints and
    ///   review marks.
    pub fn of_job<'a>(
        wo: &WorkOrder,
        answers: impl IntoIterator<Item = &'a ChecklistAnswer>,
        feedback: &[Feedback],
    ) -> Self {
        let mut f = Self::reported(
            wo.id,
            wo.customer_id,
            wo.job_type,
            wo.priority,
            wo.reported_at,
        );
        f.number = wo.number.clone();
        f.assignee_id = wo.assignee_id;
        f.respond_by = wo.respond_by;
        f.resolve_by = wo.resolve_by;
        f.appointment_start = wo.appointment_start;
        f.appointment_end = wo.appointment_end;
        f.arrived_at = wo.arrived_at;
        f.revisit_of = wo.revisit_of;
        f.cancelled = wo.status == WorkOrderStatus::Cancelled;
        if wo.is_done() {
            f.completed_at = wo.completed_at;
            f.result = Some(if wo.follow_up_needed {
                JobResult::NotFixed
            } else {
                JobResult::Fixed
            });
        }
        if let Some(latest) = feedback.iter().max_by_key(|fb| (fb.created_at, fb.id)) {
            f.rating = Some(latest.rating);
            f.nps = latest.nps;
        }
        f.conduct = ConductFacts::from_answers(
            answers.into_iter().map(|a| (a.item_key.as_str(), &a.value)),
        );
        f
    }

    /// [`JobFacts::of_job`] for each of `jobs`, its answers and feedback picked out of
    /// `answers` and `feedback` (rows of any jobs, in any order).
    pub fn of_jobs(
        jobs: &[WorkOrder],
        answers: Vec<ChecklistAnswer>,
        feedback: Vec<Feedback>,
    ) -> Vec<Self> {
        let mut answers_of: HashMap<WorkOrderId, Vec<ChecklistAnswer>> = HashMap::new();
        for a in answers {
            answers_of.entry(a.work_order_id).or_default().push(a);
        }
        let mut feedback_of: HashMap<WorkOrderId, Vec<Feedback>> = HashMap::new();
        for f in feedback {
            feedback_of.entry(f.work_order_id).or_default().push(f);
        }
        jobs.iter()
            .map(|wo| {
                Self::of_job(
                    wo,
                    answers_of.get(&wo.id).into_iter().flatten(),
                    feedback_of.get(&wo.id).map_or(&[][..], Vec::as_slice),
                )
            })
            .collect()
    }

    /// Completed (and so done) and not cancelled: the jobs outcome KPIs are measured over.
    pub fn is_completed(&self) -> bool {
        self.completed_at.is_some() && !self.cancelled
    }

    /// `(respond_by, resolve_by)`: the agreed deadlines, or the priority's defaults.
    pub fn deadlines(&self) -> (Timestamp, Timestamp) {
        let (respond, resolve) = SlaPolicy::for_priority(self.priority).deadlines(self.reported_at);
        (
            self.respond_by.unwrap_or(respond),
            self.resolve_by.unwrap_or(resolve),
        )
    }

    /// A job with nothing recorded beyond the request itself: the starting point for
    /// callers (and tests) that set the recorded facts on top.
    pub fn reported(
        id: WorkOrderId,
        customer_id: CustomerId,
        job_type: JobType,
        priority: Priority,
        reported_at: Timestamp,
    ) -> Self {
        Self {
            id,
            number: String::new(),
            customer_id,
            job_type,
            priority,
            assignee_id: None,
            reported_at,
            respond_by: None,
            resolve_by: None,
            appointment_start: None,
            appointment_end: None,
            arrived_at: None,
            completed_at: None,
            cancelled: false,
            result: None,
            revisit_of: None,
            rating: None,
            nps: None,
            conduct: ConductFacts::default(),
            callbacks: Vec::new(),
            complaints: Vec::new(),
        }
    }
}

/// Whether the visit fixed the problem, as the technician recorded at completion.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobResult {
    Fixed,
    NotFixed,
}
text_enum!(JobResult { Fixed => "fixed", NotFixed => "not_fixed" });

/// The four conduct standards of every visit, keyed as in the default checklists.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum ConductItem {
    AppointmentConfirmed,
    ShoeCovers,
    SiteCleaned,
    FaultExplained,
}
text_enum!(ConductItem {
    AppointmentConfirmed => "appointment_confirmed",
    ShoeCovers => "shoe_covers",
    SiteCleaned => "site_cleaned",
    FaultExplained => "fault_explained",
});

/// The technician's answer to one conduct item.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "answer", rename_all = "snake_case")]
pub enum ConductAnswer {
    Yes,
    /// Not done, with the short reason the technician gave.
    No {
        reason: String,
    },
    #[default]
    Unanswered,
}

/// A quality reviewer's mark on one conduct item of a reviewed job.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewMark {
    Pass,
    Fail,
}

/// What was recorded for one conduct item: the answer and, if the job was reviewed, the mark.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemConduct {
    #[serde(default)]
    pub answer: ConductAnswer,
    #[serde(default)]
    pub review: Option<ReviewMark>,
}

/// The conduct record of one job, one entry per [`ConductItem`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConductFacts {
    #[serde(default)]
    pub appointment_confirmed: ItemConduct,
    #[serde(default)]
    pub shoe_covers: ItemConduct,
    #[serde(default)]
    pub site_cleaned: ItemConduct,
    #[serde(default)]
    pub fault_explained: ItemConduct,
}

impl ConductFacts {
    pub fn get(&self, item: ConductItem) -> &ItemConduct {
        match item {
            ConductItem::AppointmentConfirmed => &self.appointment_confirmed,
            ConductItem::ShoeCovers => &self.shoe_covers,
            ConductItem::SiteCleaned => &self.site_cleaned,
            ConductItem::FaultExplained => &self.fault_explained,
        }
    }

    pub fn get_mut(&mut self, item: ConductItem) -> &mut ItemConduct {
        match item {
            ConductItem::AppointmentConfirmed => &mut self.appointment_confirmed,
            ConductItem::ShoeCovers => &mut self.shoe_covers,
            ConductItem::SiteCleaned => &mut self.site_cleaned,
            ConductItem::FaultExplained => &mut self.fault_explained,
        }
    }

    /// The technician's conduct answers as recorded on the job's checklist: `Check(true)` is
    /// a yes, `No(reason)` a no; anything else (or nothing) is unanswered.
    pub fn from_answers<'a>(answers: impl IntoIterator<Item = (&'a str, &'a AnswerValue)>) -> Self {
        let mut facts = Self::default();
        for (key, value) in answers {
            let Ok(item) = key.parse::<ConductItem>() else {
                continue;
            };
            facts.get_mut(item).answer = match value {
                AnswerValue::Check(true) => ConductAnswer::Yes,
                AnswerValue::No(reason) => ConductAnswer::No {
                    reason: reason.clone(),
                },
                _ => ConductAnswer::Unanswered,
            };
        }
        facts
    }

    /// Every item answered "yes" (none reviewed yet).
    pub fn all_yes() -> Self {
        let yes = ItemConduct {
            answer: ConductAnswer::Yes,
            review: None,
        };
        Self {
            appointment_confirmed: yes.clone(),
            shoe_covers: yes.clone(),
            site_cleaned: yes.clone(),
            fault_explained: yes,
        }
    }
}

/// How a callback call ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallbackOutcome {
    Satisfied,
    Complaint,
    RevisitNeeded,
}

/// One callback task of a job. `done_at` is when the call reached the customer and closed
/// the task; an attempt that did not reach anyone leaves it open (`None`) for a retry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallbackFacts {
    #[serde(with = "serde_ts")]
    pub due_at: Timestamp,
    #[serde(default, with = "serde_ts::option")]
    pub done_at: Option<Timestamp>,
    #[serde(default)]
    pub outcome: Option<CallbackOutcome>,
}

/// One complaint about a job, from the closed loop.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComplaintFacts {
    #[serde(with = "serde_ts")]
    pub opened_at: Timestamp,
    #[serde(default, with = "serde_ts::option")]
    pub resolved_at: Option<Timestamp>,
    #[serde(default)]
    pub owner_id: Option<UserId>,
    #[serde(default, with = "serde_ts::option")]
    pub deadline: Option<Timestamp>,
}

/// The windows and the moment the KPIs are computed at.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KpiOptions {
    /// "Now", passed in: deadlines that passed before it without the event count as missed;
    /// callbacks due by it count in the completion rate.
    #[serde(with = "serde_ts")]
    pub now: Timestamp,
    /// A revisit reported within this many days of the earlier job's completion takes
    /// that job's first-time fix away. Default 30.
    pub revisit_window_days: u32,
    /// Minutes either side of the appointment window that still count as on time. Default 0.
    pub arrival_grace_minutes: u32,
    /// The UTC offset, in minutes, whose calendar days and ISO weeks the period groups use
    /// (e.g. 480 for China Standard Time). Default 0.
    pub utc_offset_minutes: i32,
}

impl KpiOptions {
    pub const DEFAULT_REVISIT_WINDOW_DAYS: u32 = 30;

    /// The default windows, computed at `now`.
    pub fn at(now: Timestamp) -> Self {
        Self {
            now,
            revisit_window_days: Self::DEFAULT_REVISIT_WINDOW_DAYS,
            arrival_grace_minutes: 0,
            utc_offset_minutes: 0,
        }
    }

    pub(crate) fn revisit_window(&self) -> Duration {
        Duration::days(i64::from(self.revisit_window_days))
    }

    pub(crate) fn arrival_grace(&self) -> Duration {
        Duration::minutes(i64::from(self.arrival_grace_minutes))
    }
}
