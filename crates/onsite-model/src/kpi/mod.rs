//! The service KPIs, as pure functions over recorded facts, so the server and a device
//! compute the same figures from the same jobs and a technician can see their own.
//!
//! The definitions (formulas, windows, the revisit link, what counts as "no") are written
//! out for readers in `docs/KPIS.md`; the code below is their one implementation.
//!
//! [`compute`] reads a slice of [`JobFacts`] once. [`compute_by`] splits it into groups
//! (period, technician, job type, priority, customer) in the same pass. Whether a job was
//! revisited within the window is decided over the whole slice first, so a revisit falling
//! in another week, or assigned to another technician, still counts against the job it
//! revisits and against that job's group. Both run in O(n log n) (sorting the durations
//! whose medians they report), so a hundred thousand jobs take milliseconds.

mod facts;
mod report;
mod tally;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_groups;
#[cfg(test)]
mod tests_records;

use std::collections::HashMap;

use chrono::{Datelike, Duration};

pub use facts::{
    CallbackFacts, CallbackOutcome, ComplaintFacts, ConductAnswer, ConductFacts, ConductItem,
    ItemConduct, JobFacts, JobResult, KpiOptions, ReviewMark,
};
pub use report::{
    ArrivalKpis, CallbackKpis, ComplaintKpis, ConductKpis, CsatKpis, DurationStats, Group,
    GroupKey, Kpis, NpsKpis, PriorityKpis, Rate,
};

use crate::ids::WorkOrderId;
use crate::time::Timestamp;
use tally::Tally;

/// The KPIs of all of `facts`.
pub fn compute(facts: &[JobFacts], opts: &KpiOptions) -> Kpis {
    let revisited = revisited_jobs(facts);
    let mut tally = Tally::default();
    for job in facts {
        tally.add(job, revisited.was_revisited(job, opts), opts);
    }
    tally.into_kpis()
}

/// The KPIs of each group of `facts`, in the order of their keys (oldest period first).
/// Groups without jobs are absent.
pub fn compute_by(facts: &[JobFacts], opts: &KpiOptions, group: Group) -> Vec<(GroupKey, Kpis)> {
    let revisited = revisited_jobs(facts);
    let mut tallies: HashMap<GroupKey, Tally> = HashMap::new();
    for job in facts {
        tallies.entry(group_key(job, group, opts)).or_default().add(
            job,
            revisited.was_revisited(job, opts),
            opts,
        );
    }
    let mut groups: Vec<(GroupKey, Kpis)> = tallies
        .into_iter()
        .map(|(key, tally)| (key, tally.into_kpis()))
        .collect();
    groups.sort_unstable_by_key(|(key, _)| *key);
    groups
}

/// The time that places a job in a period: its completion when it is completed, otherwise
/// when it was reported.
pub fn period_time(job: &JobFacts) -> Timestamp {
    job.completed_at
        .filter(|_| job.is_completed())
        .unwrap_or(job.reported_at)
}

/// The group `job` falls in.
pub fn group_key(job: &JobFacts, group: Group, opts: &KpiOptions) -> GroupKey {
    let local_date =
        || (period_time(job) + Duration::minutes(i64::from(opts.utc_offset_minutes))).date_naive();
    match group {
        Group::Day => GroupKey::Day { date: local_date() },
        Group::IsoWeek => {
            let week = local_date().iso_week();
            GroupKey::IsoWeek {
                year: week.year(),
                week: week.week(),
            }
        }
        Group::Technician => GroupKey::Technician {
            id: job.assignee_id,
        },
        Group::JobType => GroupKey::JobType {
            job_type: job.job_type,
        },
        Group::Priority => GroupKey::Priority {
            priority: job.priority,
        },
        Group::Customer => GroupKey::Customer {
            id: job.customer_id,
        },
    }
}

/// For each job that a (not cancelled) revisit names, the earliest time such a revisit
/// was reported.
struct Revisits(HashMap<WorkOrderId, Timestamp>);

fn revisited_jobs(facts: &[JobFacts]) -> Revisits {
    let mut first: HashMap<WorkOrderId, Timestamp> = HashMap::new();
    for job in facts.iter().filter(|j| !j.cancelled) {
        if let Some(earlier) = job.revisit_of {
            first
                .entry(earlier)
                .and_modify(|t| *t = (*t).min(job.reported_at))
                .or_insert(job.reported_at);
        }
    }
    Revisits(first)
}

impl Revisits {
    /// A completed job is revisited when a revisit of it was reported no later than
    /// `revisit_window_days` after its completion.
    fn was_revisited(&self, job: &JobFacts, opts: &KpiOptions) -> bool {
        match (job.completed_at, self.0.get(&job.id)) {
            (Some(done), Some(&reported)) => reported <= done + opts.revisit_window(),
            _ => false,
        }
    }
}
