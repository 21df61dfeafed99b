//! A technician's morning as the core answers it, recorded from a real replica on a fixed
//! clock and sequential ids so the output is the same on every run. The UI's tests and its
//! design preview replay these answers instead of imitating the core's rules.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::Duration;
use onsite_client::sample::{day_of_jobs, sample_technician, work_the_checklist};
use onsite_client::{Day, JobDetail, JobScope, JobSummary, Replica, ReplicaOptions};
use onsite_model::checklist::AnswerValue;
use onsite_model::clock::{FixedClock, SeqIds};
use onsite_model::entities::{JobType, Priority};
use onsite_model::ids::WorkOrderId;
use onsite_model::ops::Role;
use onsite_model::time::{Timestamp, parse_ts};
use serde::Serialize;

use crate::wire::{AppSyncStatus, Session};

/// What the UI's commands answered on the recorded morning.
#[derive(Serialize, ts_rs::TS)]
pub struct RecordedDay {
    /// The device's clock when the answers below were given.
    pub recorded_at: String,
    pub session: Session,
    pub sync_status: AppSyncStatus,
    /// `jobs {scope}` for today, upcoming and done.
    pub jobs: BTreeMap<String, Vec<JobSummary>>,
    /// `jobs {scope: "today"}` again, [`LATER_MINUTES`] minutes on.
    pub jobs_later: Vec<JobSummary>,
    pub later_at: String,
    /// `job {jobId}` for every job, by id.
    pub details: BTreeMap<String, JobDetail>,
    /// The job being worked, as the change commands answered along the way.
    pub worked: WorkedJob,
    /// `service_report_html {jobId}` of the completed job.
    pub report_html: BTreeMap<String, String>,
    /// `my_kpis` at the end of the morning (weeks in UTC).
    pub my_kpis: onsite_client::MyKpis,
}

/// One maintenance job in progress, before and after a technician's changes.
#[derive(Serialize, ts_rs::TS)]
pub struct WorkedJob {
    /// In progress, nothing answered yet: completion is still missing everything.
    pub started: JobDetail,
    /// `answer` of the `shoe_covers` item.
    pub shoe_covers_ticked: JobDetail,
    /// `step {action: "hold"}` afterwards.
    pub on_hold: JobDetail,
}

const NOW: &str = "2026-11-22T08:00:00Z";
const LATER_MINUTES: i64 = 25;

fn t(s: &str) -> Timestamp {
    parse_ts(s).expect("timestamp")
}

fn ts(t: Timestamp) -> String {
    onsite_model::time::format_ts(&t)
}

/// The morning: an urgent repair whose arrival is overdue, a job already on site, one
/// whose arrival falls due in ten minutes, a maintenance job being worked, a completed
/// inspection, and one job tomorrow.
pub fn record() -> RecordedDay {
    let dir = tempfile::tempdir().expect("temp dir");
    let now = t(NOW);
    let clock = Arc::new(FixedClock::new(now));
    let ids = Arc::new(SeqIds::new(1));
    let mut r = Replica::open(
        dir.path(),
        ReplicaOptions {
            clock: clock.clone(),
            ids: ids.clone(),
            schema_upto: None,
        },
    )
    .expect("replica");
    let technician = sample_technician(&*ids);
    let mut file = day_of_jobs(now, &technician, 6, &*ids);
    let hours = |h: i64| Some(now + Duration::hours(h));
    let minutes = |m: i64| Some(now + Duration::minutes(m));
    {
        let w = &mut file.work_orders;
        // 0: urgent repair, arrival overdue by half an hour.
        w[0].priority = Priority::Urgent;
        w[0].respond_by = minutes(-30);
        w[0].resolve_by = hours(20);
        w[0].appointment_start = minutes(30);
        w[0].appointment_end = minutes(150);
        // 1: arrived before nine; resolution due in five hours.
        w[1].respond_by = hours(1);
        w[1].resolve_by = hours(5);
        w[1].appointment_start = hours(5);
        w[1].appointment_end = hours(7);
        // 2: maintenance, being worked.
        assert_eq!(w[2].job_type, JobType::Maintenance);
        // 3: arrival due in ten minutes, no resolution deadline agreed.
        w[3].respond_by = minutes(10);
        w[3].resolve_by = None;
        // 4: an inspection, completed this morning.
        assert_eq!(w[4].job_type, JobType::Inspection);
        // 5: tomorrow.
        w[5].appointment_start = hours(25);
        w[5].appointment_end = hours(27);
    }
    let job = |i: usize| file.work_orders[i].id;
    let (on_site, worked, inspection) = (job(1), job(2), job(4));
    r.import_json(&serde_json::to_string(&file).expect("json"))
        .expect("import");

    let at = |m: i64| clock.set(now + Duration::minutes(m));
    at(-40);
    r.start_travel(on_site).expect("travel");
    at(-10);
    r.arrive(on_site).expect("arrive");

    at(-90);
    work_the_checklist(&mut r, inspection).expect("inspection");
    at(-60);
    r.complete(inspection).expect("complete");

    at(-20);
    r.start_travel(worked).expect("travel");
    at(-5);
    r.arrive(worked).expect("arrive");
    r.start_work(worked).expect("work");
    at(0);
    let detail = |r: &Replica, id: WorkOrderId| r.job(id).expect("job");
    let started = detail(&r, worked);
    r.answer(worked, "shoe_covers", AnswerValue::Check(true))
        .expect("answer");
    let shoe_covers_ticked = detail(&r, worked);
    r.answer(
        worked,
        "appointment_confirmed",
        AnswerValue::No("The customer called us in the same morning".into()),
    )
    .expect("answer");
    r.hold(worked, "Waiting for a filter cartridge")
        .expect("hold");
    let on_hold = detail(&r, worked);
    r.resume(worked).expect("resume");

    let day = Day {
        end: t("2026-11-23T00:00:00Z"),
    };
    let list = |r: &Replica, scope| r.jobs(scope, day).expect("jobs");
    let jobs = BTreeMap::from([
        ("today".to_owned(), list(&r, JobScope::Today)),
        ("upcoming".to_owned(), list(&r, JobScope::Upcoming)),
        ("done".to_owned(), list(&r, JobScope::Done)),
    ]);
    let details = list(&r, JobScope::All)
        .iter()
        .map(|j| (j.id.to_string(), detail(&r, j.id)))
        .collect();
    let report_html = BTreeMap::from([(
        inspection.to_string(),
        r.service_report_html(inspection).expect("report"),
    )]);
    let mut status = r.sync_status().expect("sync status");
    status.signed_in = true;
    status.server_url = Some("https://onsite.example.com".into());
    status.username = Some(technician.username.clone());
    let session = Session {
        device_id: r.device_id().to_string(),
        signed_in: true,
        username: Some(technician.username.clone()),
        user_name: Some(technician.name.clone()),
        role: Some(Role::Technician),
        server_url: status.server_url.clone(),
    };

    at(LATER_MINUTES);
    let jobs_later = list(&r, JobScope::Today);
    RecordedDay {
        recorded_at: ts(now),
        session,
        sync_status: AppSyncStatus {
            status,
            online: true,
            syncing: false,
            live: false,
        },
        jobs,
        jobs_later,
        later_at: ts(now + Duration::minutes(LATER_MINUTES)),
        details,
        worked: WorkedJob {
            started,
            shoe_covers_ticked,
            on_hold,
        },
        report_html,
        my_kpis: r.my_kpis(0).expect("kpis"),
    }
}
