//! Finding jobs and moving them through their status steps.

use chrono::Local;
use onsite_client::{Day, JobDetail, JobSummary, Replica, end_of_local_day};
use onsite_model::entities::StatusEvent;
use onsite_model::ids::WorkOrderId;

use crate::cli::Scope;
use crate::output::Output;
use crate::render;

pub fn list(r: &Replica, out: Output, scope: Scope) -> anyhow::Result<()> {
    let day = Day {
        end: end_of_local_day(r.now()),
    };
    let jobs = r.jobs(scope.into(), day)?;
    out.print(&jobs, |jobs: &Vec<JobSummary>| render::job_list(jobs))
}

pub fn show(r: &Replica, out: Output, job: &str) -> anyhow::Result<()> {
    let id = r.resolve_job(job)?;
    let detail = r.job(id)?;
    out.print(&detail, |d: &JobDetail| render::job_detail(d))
}

/// One status step (travel, arrive, start, hold, resume, complete), printed as the event
/// it recorded.
pub fn step(
    r: &mut Replica,
    out: Output,
    job: &str,
    f: impl FnOnce(&mut Replica, WorkOrderId) -> onsite_client::Result<StatusEvent>,
) -> anyhow::Result<()> {
    let id = r.resolve_job(job)?;
    let event = f(r, id)?;
    out.print(&event, |e| {
        format!(
            "{}: {} → {} at {}\n",
            e.action,
            e.from,
            e.to,
            e.at.with_timezone(&Local).format("%H:%M")
        )
    })
}
