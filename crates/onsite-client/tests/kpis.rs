//! The technician's own KPIs on the device: worked out by hand from what the replica recorded.

use std::sync::Arc;

use chrono::Duration;
use onsite_client::sample::{day_of_jobs, sample_technician, work_the_checklist};
use onsite_client::{Replica, ReplicaOptions};
use onsite_model::checklist::AnswerValue;
use onsite_model::clock::{FixedClock, SeqIds};
use onsite_model::kpi::{ConductItem, Rate};
use onsite_model::time::parse_ts;
use onsite_model::{JobType, Priority};

#[test]
fn my_kpis_count_what_this_device_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let now = parse_ts("2026-11-23T08:00:00Z").unwrap();
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
    .unwrap();
    let technician = sample_technician(&*ids);
    let mut file = day_of_jobs(now, &technician, 6, &*ids);
    let inspection = file
        .work_orders
        .iter_mut()
        .find(|w| w.job_type == JobType::Inspection)
        .expect("an inspection in the sample day");
    // Reported at 07:00, normal priority: respond within 24 h.
    inspection.priority = Priority::Normal;
    inspection.reported_at = now - Duration::hours(1);
    inspection.respond_by = None;
    inspection.resolve_by = None;
    let job = inspection.id;
    r.import_json(&serde_json::to_string(&file).unwrap())
        .unwrap();
    let before = r.my_kpis(480).unwrap();
    assert_eq!((before.jobs, before.all.completed), (6, 0));

    // Arrives at 08:00 (an hour after the report), shoe covers "no" with a reason, rated
    // 4 stars and NPS 10, completed at 08:30.
    work_the_checklist(&mut r, job).unwrap();
    r.answer(
        job,
        "shoe_covers",
        AnswerValue::No("The customer asked us to keep shoes on".into()),
    )
    .unwrap();
    clock.set(now + Duration::minutes(30));
    r.add_feedback(job, 4, Some(10), None).unwrap();
    r.complete(job).unwrap();

    let k = r.my_kpis(480).unwrap();
    assert_eq!(k.jobs, 6);
    assert_eq!(k.all.completed, 1);
    assert_eq!(k.all.csat.average_rating, Some(4.0));
    assert_eq!(k.all.csat.satisfied, Rate::of(1, 1));
    assert_eq!(k.all.nps.promoters, 1);
    let item = |i: ConductItem| {
        k.all
            .conduct
            .iter()
            .find(|c| c.item == i)
            .unwrap()
            .compliance
    };
    assert_eq!(item(ConductItem::ShoeCovers), Rate::of(0, 1));
    assert_eq!(item(ConductItem::SiteCleaned), Rate::of(1, 1));
    // The week of 2026-11-23 (a Monday), in China Standard Time.
    let weeks: Vec<(i32, u32, u32)> = k
        .weeks
        .iter()
        .map(|w| (w.year, w.week, w.kpis.completed))
        .collect();
    assert!(weeks.contains(&(2026, 48, 1)), "{weeks:?}");
}
