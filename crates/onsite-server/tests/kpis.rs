//! The service KPIs the server computes over its stored jobs, on every backend: figures
//! worked out by hand from what a technician's pushes recorded, and who sees whose.

mod common;

use common::{Device, TestBackend, Visit, World, work_to_completion, world_on};
use onsite_model::JobType;
use onsite_model::kpi::{ConductItem, Group, GroupKey, KpiOptions, Rate};
use onsite_model::time::parse_ts;

/// Works an inspection from arrival to completion, shoe covers answered "no" with a reason,
/// and records the customer's 2 stars and NPS 5.
fn inspect_with_a_conduct_no(w: &World, dev: &mut Device, job: &onsite_model::WorkOrder) {
    let visit = Visit {
        no: Some("shoe_covers"),
        rating: Some((2, 5)),
        comment: Some("Mud on the carpet"),
    };
    work_to_completion(w, dev, job, visit);
}

fn kpis_are_computed_from_the_stored_record_and_technicians_see_their_own<B: TestBackend>() {
    let w = world_on::<B>();
    // Reported at 08:00 (the store's clock), high priority: respond within 4 h.
    let done = w.job(JobType::Inspection, Some(&w.alice));
    let _open = w.job(JobType::Repair, Some(&w.alice));
    let _bobs = w.job(JobType::Repair, Some(&w.bob));
    w.clock.set(parse_ts("2026-11-22T10:00:00Z").unwrap());
    let mut dev = w.device(&w.alice);
    inspect_with_a_conduct_no(&w, &mut dev, &done);

    let office = w.device(&w.dana);
    let opts = KpiOptions::at(parse_ts("2026-01-01T00:00:00Z").unwrap());
    let all = w
        .store
        .kpis_for(&office.principal, opts.clone(), Some(Group::Technician))
        .unwrap();
    // By hand: three jobs, one completed (arrived 09:30, 90 min after the report, inside
    // 4 h), rated 2 (CSAT share of 4-5: 0 of 1), NPS 5 (a detractor), shoe covers "no".
    assert_eq!(all.jobs, 3);
    assert_eq!(all.all.completed, 1);
    assert_eq!(all.all.csat.satisfied, Rate::of(0, 1));
    assert_eq!(all.all.csat.average_rating, Some(2.0));
    assert_eq!(all.all.nps.detractors, 1);
    let shoe = |k: &onsite_model::kpi::Kpis| {
        k.conduct
            .iter()
            .find(|c| c.item == ConductItem::ShoeCovers)
            .unwrap()
            .compliance
    };
    assert_eq!(shoe(&all.all), Rate::of(0, 1));
    let keys: Vec<GroupKey> = all.groups.iter().map(|g| g.key).collect();
    assert_eq!(
        keys.len(),
        2,
        "one group per technician with jobs: {keys:?}"
    );

    // A technician gets the figures of their own jobs only.
    let alice = w
        .store
        .kpis_for(&dev.principal, opts.clone(), None)
        .unwrap();
    assert_eq!((alice.jobs, alice.all.completed), (2, 1));
    assert!(alice.groups.is_empty());
    let bob = w.device(&w.bob);
    let bobs = w.store.kpis_for(&bob.principal, opts, None).unwrap();
    assert_eq!((bobs.jobs, bobs.all.completed), (1, 0));
}

for_each_backend!(kpis_are_computed_from_the_stored_record_and_technicians_see_their_own);
