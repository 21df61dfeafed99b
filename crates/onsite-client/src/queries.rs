//! What a technician reads: the day's jobs, one job in full, the change log, sync state.

use onsite_model::checklist::{
    AnswerValue, ChecklistItem, ChecklistTemplate, ConductException, Missing, template_for,
};
use onsite_model::entities::{
    Asset, Customer, Feedback, Note, PartUsed, Photo, Priority, Signature, StatusEvent, TimeEntry,
    WorkOrder,
};
use onsite_model::ids::WorkOrderId;
use onsite_model::ops::Op;
use onsite_model::ops::Role;
use onsite_model::sla::{SlaClock, SlaState};
use onsite_model::status::{StatusAction, WorkOrderStatus, next_status};
use onsite_model::time::{Timestamp, format_ts};
use onsite_model::wire::{ConflictRecord, RowKind, VisibleRow, state_checksum};
use rusqlite::params;
use serde::{Deserialize, Serialize};

use crate::db::CachedSql;
use crate::error::{Error, Result};
use crate::records::{JobEvidence, job_records, load_top, load_work_order, visible_rows};
use crate::replica::Replica;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum JobScope {
    /// Open jobs due today, plus open ones left over from earlier days or never scheduled.
    Today,
    /// Open jobs with an appointment after today.
    Upcoming,
    /// Completed and cancelled jobs.
    Done,
    All,
}

/// The end of the technician's day, in UTC (the caller knows the local time zone): jobs
/// before it are today's, jobs after it are upcoming.
#[derive(Clone, Copy, Debug)]
pub struct Day {
    pub end: Timestamp,
}

#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct JobSummary {
    pub id: WorkOrderId,
    pub number: String,
    pub status: WorkOrderStatus,
    pub priority: Priority,
    pub job_type: onsite_model::entities::JobType,
    pub problem: String,
    pub customer_name: String,
    pub address: Option<String>,
    pub phone: Option<String>,
    #[serde(with = "onsite_model::time::serde_ts::option")]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub appointment_start: Option<Timestamp>,
    #[serde(with = "onsite_model::time::serde_ts::option")]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub appointment_end: Option<Timestamp>,
    pub sla: SlaState,
    /// The clock to show on the job's card, or none when neither matters.
    pub sla_view: Option<SlaView>,
    pub needs_review: bool,
    pub pending_ops: u64,
}

/// Which of a job's two SLA clocks a technician is shown, and how urgent it reads.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SlaView {
    pub clock: SlaClockName,
    pub tone: SlaTone,
    /// When this view changes by the passing of time alone (a running clock turns to a
    /// warning, then to a breach); none when only an event can change it. Ask again then.
    #[serde(with = "onsite_model::time::serde_ts::option")]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub changes_at: Option<Timestamp>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum SlaClockName {
    Respond,
    Resolve,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum SlaTone {
    /// Running, with time to spare.
    Ok,
    /// Running, with less than [`SLA_SOON`] left.
    Soon,
    /// Past its deadline: still running late, or the event came late (missed).
    Breached,
    Met,
}

/// A running clock with less than this left is shown as a warning.
pub const SLA_SOON: chrono::Duration = chrono::Duration::hours(1);

impl SlaView {
    /// Before the technician arrives the respond clock is what matters; after that, the
    /// resolve clock. Clocks without a deadline (or of a cancelled job) are not shown.
    pub fn of(sla: &SlaState) -> Option<SlaView> {
        let (clock, state) = match sla.respond {
            SlaClock::Running { .. } | SlaClock::Breached { .. } => {
                (SlaClockName::Respond, &sla.respond)
            }
            _ => (SlaClockName::Resolve, &sla.resolve),
        };
        let view = |tone, changes_at| {
            Some(SlaView {
                clock,
                tone,
                changes_at,
            })
        };
        match *state {
            SlaClock::NotSet | SlaClock::NotApplicable => None,
            SlaClock::Running { due, left_ms } if left_ms < SLA_SOON.num_milliseconds() => {
                view(SlaTone::Soon, Some(due))
            }
            SlaClock::Running { due, .. } => view(SlaTone::Ok, Some(due - SLA_SOON)),
            SlaClock::Breached { .. } | SlaClock::Missed { .. } => view(SlaTone::Breached, None),
            SlaClock::Met { .. } => view(SlaTone::Met, None),
        }
    }
}

/// The technician's steps the status machine allows from the job's status now, in the
/// order the screen offers them (resuming the visit first). Completion is offered once work
/// is in progress; what it still needs is `missing_for_completion`.
fn allowed_steps(wo: &WorkOrder) -> Vec<StatusAction> {
    let mut steps: Vec<StatusAction> = StatusAction::ALL
        .into_iter()
        .filter(|a| a.actor() == Role::Technician)
        .filter(|a| next_status(wo.status, *a, wo.assignee_id.is_some()).is_ok())
        .collect();
    steps.sort_by_key(|a| *a != StatusAction::Resume);
    steps
}

#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ChecklistLine {
    pub item: ChecklistItem,
    pub answer: Option<AnswerValue>,
    /// Answered as completion counts it: a conduct "no" with its reason is; an unticked
    /// check is not.
    pub answered: bool,
}

#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ChecklistProgress {
    pub required_done: usize,
    pub required_total: usize,
    pub answered: usize,
    pub total: usize,
}

#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct JobDetail {
    pub work_order: WorkOrder,
    pub customer: Option<Customer>,
    pub asset: Option<Asset>,
    pub sla: SlaState,
    /// The clock to show, or none when neither matters.
    pub sla_view: Option<SlaView>,
    /// Completed or cancelled: only notes may still be added until the office reopens it.
    pub closed: bool,
    /// The status steps the technician may take now (the `step` command's actions).
    pub allowed_actions: Vec<StatusAction>,
    pub checklist: Vec<ChecklistLine>,
    pub progress: ChecklistProgress,
    /// What completion would still refuse for; empty when the job can be completed.
    pub missing_for_completion: Vec<Missing>,
    /// Conduct items answered "no", with their reasons: the job goes to quality review.
    pub conduct_exceptions: Vec<ConductException>,
    /// The summary the customer reads before signing (see [`Replica::sign_off_text`]).
    pub sign_off_text: String,
    pub history: Vec<StatusEvent>,
    pub notes: Vec<Note>,
    pub parts: Vec<PartUsed>,
    pub time_entries: Vec<TimeEntry>,
    pub photos: Vec<Photo>,
    pub signatures: Vec<Signature>,
    pub feedback: Vec<Feedback>,
    pub conflicts: Vec<ConflictRecord>,
    pub pending_ops: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct LoggedOp {
    pub op: Op,
    /// Acknowledged by the server (never sent again as new).
    pub acknowledged: bool,
    /// The server's answer, when it gave one.
    pub outcome: Option<serde_json::Value>,
}

impl Replica {
    /// Jobs in appointment order (unscheduled last, then by resolve-by), with SLA state.
    pub fn jobs(&self, scope: JobScope, day: Day) -> Result<Vec<JobSummary>> {
        // ?1 is the end of the day; every scope binds it so the statement shape is one.
        let end = format_ts(&day.end);
        let condition = match scope {
            JobScope::Today => {
                "status NOT IN ('completed', 'cancelled') AND (appointment_start IS NULL OR appointment_start < ?1)"
            }
            JobScope::Upcoming => {
                "status NOT IN ('completed', 'cancelled') AND appointment_start >= ?1"
            }
            JobScope::Done => "status IN ('completed', 'cancelled') AND ?1 IS NOT NULL",
            JobScope::All => "?1 IS NOT NULL",
        };
        let sql = format!(
            "SELECT id FROM work_order WHERE {condition}
             ORDER BY appointment_start IS NULL, appointment_start, resolve_by IS NULL, resolve_by, number"
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let ids: Vec<String> = stmt
            .query_map(params![end], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        let now = self.now();
        let pending = self.pending_by_job()?;
        ids.iter()
            .map(|id| {
                let id: WorkOrderId = id.parse().map_err(|_| Error::UnknownJob(id.clone()))?;
                let (wo, _) = load_work_order(&self.conn, id)?;
                let sla = SlaState::of(&wo, now);
                let customer: Option<Customer> =
                    load_top(&self.conn, RowKind::Customer, &wo.customer_id.to_string())?
                        .map(|(c, _)| c);
                Ok(JobSummary {
                    id,
                    number: wo.number.clone(),
                    status: wo.status,
                    priority: wo.priority,
                    job_type: wo.job_type,
                    problem: wo.problem.clone(),
                    customer_name: customer
                        .as_ref()
                        .map(|c| c.name.clone())
                        .unwrap_or_default(),
                    address: customer.as_ref().and_then(|c| c.address.clone()),
                    phone: customer.as_ref().and_then(|c| c.phone.clone()),
                    appointment_start: wo.appointment_start,
                    appointment_end: wo.appointment_end,
                    sla_view: SlaView::of(&sla),
                    sla,
                    needs_review: wo.needs_review,
                    pending_ops: pending
                        .iter()
                        .find(|(j, _)| *j == id.to_string())
                        .map(|(_, n)| *n)
                        .unwrap_or(0),
                })
            })
            .collect()
    }

    pub fn job(&self, id: WorkOrderId) -> Result<JobDetail> {
        let (wo, _) = load_work_order(&self.conn, id)?;
        let template = template_for(wo.job_type);
        let evidence = JobEvidence::load(&self.conn, id)?;
        let missing_for_completion = match evidence.check(wo.job_type) {
            Ok(()) => vec![],
            Err(blocked) => blocked.missing,
        };
        let JobEvidence {
            answers,
            photos,
            signatures,
        } = evidence;
        let checklist: Vec<ChecklistLine> = template
            .items
            .iter()
            .map(|item| {
                let answer = answers
                    .iter()
                    .find(|a| a.item_key == item.key)
                    .map(|a| a.value.clone());
                ChecklistLine {
                    answered: ChecklistTemplate::satisfied(item, answer.as_ref()),
                    item: item.clone(),
                    answer,
                }
            })
            .collect();
        let conduct_exceptions = template.conduct_exceptions(
            &answers
                .iter()
                .map(|a| (a.item_key.as_str(), &a.value))
                .collect(),
        );
        let required_missing = missing_for_completion
            .iter()
            .filter(|m| matches!(m, Missing::ChecklistItem { .. }))
            .count();
        let required_total = template.items.iter().filter(|i| i.required).count();
        let progress = ChecklistProgress {
            required_done: required_total - required_missing,
            required_total,
            answered: checklist.iter().filter(|l| l.answer.is_some()).count(),
            total: checklist.len(),
        };
        let mut history: Vec<StatusEvent> = job_records(&self.conn, id, RowKind::StatusEvent)?;
        history.sort_by_key(|e| e.at);
        let pending_ops = self
            .pending_by_job()?
            .into_iter()
            .find(|(j, _)| *j == id.to_string())
            .map(|(_, n)| n)
            .unwrap_or(0);
        let customer: Option<Customer> =
            load_top(&self.conn, RowKind::Customer, &wo.customer_id.to_string())?.map(|(c, _)| c);
        let asset: Option<Asset> = match wo.asset_id {
            Some(a) => load_top(&self.conn, RowKind::Asset, &a.to_string())?.map(|(a, _)| a),
            None => None,
        };
        let parts: Vec<PartUsed> = job_records(&self.conn, id, RowKind::PartUsed)?;
        let sla = SlaState::of(&wo, self.now());
        Ok(JobDetail {
            sign_off_text: onsite_model::sign_off::sign_off_text(
                &wo,
                customer.as_ref(),
                asset.as_ref(),
                &parts,
            ),
            customer,
            asset,
            sla_view: SlaView::of(&sla),
            sla,
            closed: wo.status.is_closed(),
            allowed_actions: allowed_steps(&wo),
            checklist,
            progress,
            missing_for_completion,
            conduct_exceptions,
            history,
            notes: job_records(&self.conn, id, RowKind::Note)?,
            parts,
            time_entries: job_records(&self.conn, id, RowKind::TimeEntry)?,
            photos,
            signatures,
            feedback: job_records(&self.conn, id, RowKind::Feedback)?,
            conflicts: job_records(&self.conn, id, RowKind::Conflict)?,
            pending_ops,
            work_order: wo,
        })
    }

    /// Ops written on this device that the server has not acknowledged yet.
    pub fn pending_op_count(&self) -> Result<u64> {
        let n: i64 = self.conn.one(
            "SELECT count(*) FROM oplog WHERE device_seq > (SELECT pushed_seq FROM sync_state WHERE id = 1)",
            [],
            |r| r.get(0),
        )?;
        Ok(n as u64)
    }

    fn pending_by_job(&self) -> Result<Vec<(String, u64)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT work_order_id, count(*) FROM oplog
             WHERE device_seq > (SELECT pushed_seq FROM sync_state WHERE id = 1) GROUP BY work_order_id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The change log, newest first.
    pub fn oplog(&self, limit: usize) -> Result<Vec<LoggedOp>> {
        let mut stmt = self.conn.prepare(
            "SELECT o.op, o.device_seq <= s.pushed_seq, r.result FROM oplog o
             JOIN sync_state s ON s.id = 1
             LEFT JOIN op_outcome r ON r.device_seq = o.device_seq
             ORDER BY o.device_seq DESC LIMIT ?1",
        )?;
        let rows = stmt.query_map([limit as i64], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, bool>(1)?,
                r.get::<_, Option<String>>(2)?,
            ))
        })?;
        rows.map(|row| {
            let (op, acknowledged, outcome) = row?;
            Ok(LoggedOp {
                op: serde_json::from_str(&op)?,
                acknowledged,
                outcome: outcome.map(|o| serde_json::from_str(&o)).transpose()?,
            })
        })
        .collect()
    }

    /// Every row this device holds, and its checksum: equal to the server's view of this
    /// device once both are in sync.
    pub fn visible_state(&self) -> Result<(Vec<VisibleRow>, String)> {
        let rows = visible_rows(&self.conn)?;
        let sum = state_checksum(&rows);
        Ok((rows, sum))
    }
}

impl Replica {
    /// The plain-text summary a customer reads before signing: who, what, what was done,
    /// with which parts. The signature binds its sha256, so a later edit shows.
    pub fn sign_off_text(&self, id: WorkOrderId) -> Result<String> {
        Ok(self.job(id)?.sign_off_text)
    }
}

impl Replica {
    /// The user this device is signed in as, as the server described them at sign-in.
    pub fn signed_in_user(&self) -> Result<Option<onsite_model::entities::User>> {
        let id: Option<String> =
            self.conn
                .one("SELECT user_id FROM sync_state WHERE id = 1", [], |r| {
                    r.get(0)
                })?;
        match id {
            Some(id) => Ok(load_top(&self.conn, RowKind::User, &id)?.map(|(u, _)| u)),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chrono::Duration;
    use onsite_model::clock::{FixedClock, SeqIds};
    use onsite_model::time::parse_ts;

    use super::*;
    use crate::ReplicaOptions;
    use crate::sample::{day_of_jobs, sample_technician, sign_as_customer, work_the_checklist};

    fn t(s: &str) -> Timestamp {
        parse_ts(s).unwrap()
    }

    fn running(due: &str, left: Duration) -> SlaClock {
        SlaClock::Running {
            due: t(due),
            left_ms: left.num_milliseconds(),
        }
    }

    #[test]
    fn the_respond_clock_shows_until_arrival_then_the_resolve_clock() {
        let due = "2026-11-22T12:00:00Z";
        let sla = SlaState {
            respond: running(due, Duration::hours(3)),
            resolve: running("2026-11-23T08:00:00Z", Duration::hours(23)),
        };
        assert_eq!(
            SlaView::of(&sla),
            Some(SlaView {
                clock: SlaClockName::Respond,
                tone: SlaTone::Ok,
                changes_at: Some(t("2026-11-22T11:00:00Z")),
            })
        );
        let soon = SlaState {
            respond: running(due, Duration::minutes(10)),
            ..sla.clone()
        };
        let view = SlaView::of(&soon).unwrap();
        assert_eq!((view.tone, view.changes_at), (SlaTone::Soon, Some(t(due))));

        let arrived = SlaState {
            respond: SlaClock::Met {
                due: t(due),
                at: t("2026-11-22T11:50:00Z"),
                margin_ms: 600_000,
            },
            resolve: SlaClock::Breached {
                due: t("2026-11-22T11:55:00Z"),
                over_ms: 1,
            },
        };
        let view = SlaView::of(&arrived).unwrap();
        assert_eq!(
            (view.clock, view.tone, view.changes_at),
            (SlaClockName::Resolve, SlaTone::Breached, None)
        );
        let unset = SlaState {
            respond: arrived.respond.clone(),
            resolve: SlaClock::NotSet,
        };
        assert_eq!(SlaView::of(&unset), None);
    }

    fn replica(dir: &std::path::Path, now: Timestamp) -> (Replica, Vec<WorkOrderId>) {
        let ids = Arc::new(SeqIds::new(1));
        let mut r = Replica::open(
            dir,
            ReplicaOptions {
                clock: Arc::new(FixedClock::new(now)),
                ids: ids.clone(),
                schema_upto: None,
            },
        )
        .unwrap();
        let file = day_of_jobs(now, &sample_technician(&*ids), 3, &*ids);
        let jobs = file.work_orders.iter().map(|w| w.id).collect();
        r.import_json(&serde_json::to_string(&file).unwrap())
            .unwrap();
        (r, jobs)
    }

    #[test]
    fn the_detail_offers_the_steps_the_status_machine_allows() {
        let dir = tempfile::tempdir().unwrap();
        let (mut r, jobs) = replica(dir.path(), t("2026-11-22T07:00:00Z"));
        let job = jobs[0];
        let steps = |r: &Replica| r.job(job).unwrap().allowed_actions;
        use StatusAction as A;
        assert_eq!(steps(&r), [A::StartTravel, A::Arrive]);
        r.start_travel(job).unwrap();
        assert_eq!(steps(&r), [A::Arrive]);
        r.arrive(job).unwrap();
        assert_eq!(steps(&r), [A::StartWork, A::Hold]);
        r.start_work(job).unwrap();
        assert_eq!(steps(&r), [A::Hold, A::Complete]);
        r.hold(job, "waiting for a part").unwrap();
        assert_eq!(steps(&r), [A::Resume, A::StartTravel, A::Arrive]);
        assert!(!r.job(job).unwrap().closed);

        work_the_checklist(&mut r, job).unwrap();
        sign_as_customer(&mut r, job).unwrap();
        let d = r.job(job).unwrap();
        assert_eq!(d.sign_off_text, r.sign_off_text(job).unwrap());
        assert!(d.sign_off_text.starts_with("Job: WO-2026-000100\n"));
    }

    #[test]
    fn jobs_with_the_same_appointment_are_ordered_by_resolve_deadline() {
        let dir = tempfile::tempdir().unwrap();
        let ids = SeqIds::new(1);
        let mut file = day_of_jobs(t("2026-11-22T07:00:00Z"), &sample_technician(&ids), 3, &ids);
        for (wo, resolve_by) in file
            .work_orders
            .iter_mut()
            .zip(["2026-11-23T00:00:00Z", "2026-11-22T12:00:00Z"])
        {
            wo.appointment_start = Some(t("2026-11-22T09:00:00Z"));
            wo.resolve_by = Some(t(resolve_by));
        }
        let mut r = Replica::open(dir.path(), ReplicaOptions::default()).unwrap();
        r.import_json(&serde_json::to_string(&file).unwrap())
            .unwrap();
        let day = Day {
            end: t("2026-11-23T00:00:00Z"),
        };
        let numbers: Vec<String> = r
            .jobs(JobScope::All, day)
            .unwrap()
            .into_iter()
            .map(|j| j.number)
            .collect();
        assert_eq!(
            numbers,
            ["WO-2026-000101", "WO-2026-000100", "WO-2026-000102"]
        );
    }
}
