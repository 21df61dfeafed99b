//! The closed loop's reads over a real SQLite store: `ONSITE_BENCH_JOBS` (default 5,000)
//! completed and rated jobs, each with the callback its completion opened, then the median
//! of the callback queue, the KPIs, one job's record and one recorded call.
//!
//! `cargo bench -p onsite-server --bench closed_loop`

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::{Device, Visit, World, visit_ops};
use onsite_model::kpi::KpiOptions;
use onsite_model::time::parse_ts;
use onsite_model::{JobType, Op, Priority, WorkOrder};
use onsite_server::store::{CallbackFilter, NewWorkOrder, RecordCall};
use serde_json::json;

/// Every op of working `job` to completion, with a rating of `rating` stars.
fn job_ops(dev: &mut Device, job: &WorkOrder, rating: u8) -> Vec<Op> {
    let visit = Visit {
        rating: Some((rating, 2 * rating)),
        ..Visit::default()
    };
    visit_ops(dev, job, &visit)
}

fn median(mut runs: Vec<Duration>) -> Duration {
    runs.sort();
    runs[runs.len() / 2]
}

fn time<T>(n: usize, mut f: impl FnMut() -> T) -> Duration {
    median(
        (0..n)
            .map(|_| {
                let start = Instant::now();
                std::hint::black_box(f());
                start.elapsed()
            })
            .collect(),
    )
}

fn seed(w: &World, jobs: usize) -> Vec<WorkOrder> {
    let new: Vec<NewWorkOrder> = (0..jobs)
        .map(|i| NewWorkOrder {
            customer_id: w.customer.id,
            asset_id: Some(w.asset.id),
            job_type: JobType::Inspection,
            priority: Priority::Normal,
            problem: format!("Yearly inspection {i}"),
            reported_at: None,
            respond_by: None,
            resolve_by: None,
            appointment_start: None,
            appointment_end: None,
            assignee_id: Some(w.alice.id),
            revisit_of: None,
        })
        .collect();
    let created = w.store.import_work_orders(&new).unwrap();
    w.clock.set(parse_ts("2026-11-22T10:00:00Z").unwrap());
    let mut dev = w.device(&w.alice);
    for (k, chunk) in created.chunks(20).enumerate() {
        let ops: Vec<Op> = chunk
            .iter()
            .enumerate()
            .flat_map(|(i, job)| job_ops(&mut dev, job, ((k * 20 + i) % 5 + 1) as u8))
            .collect();
        common::push_applied(w, &dev, ops);
    }
    created
}

fn main() {
    let jobs: usize = std::env::var("ONSITE_BENCH_JOBS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5_000);
    let w = common::world();
    let start = Instant::now();
    let created = seed(&w, jobs);
    println!(
        "seeded {jobs} completed, rated jobs (each push opening their callbacks) in {:.1} s",
        start.elapsed().as_secs_f64()
    );
    let office = w.device(&w.dana);
    let queue = w.store.list_callbacks(&CallbackFilter::default()).unwrap();
    assert_eq!(queue.len(), jobs);
    let urgent = queue.iter().filter(|c| c.urgent).count();
    let list = time(5, || {
        w.store.list_callbacks(&CallbackFilter::default()).unwrap()
    });
    let urgent_only = CallbackFilter {
        urgent: Some(true),
        ..Default::default()
    };
    let list_urgent = time(5, || w.store.list_callbacks(&urgent_only).unwrap());
    let opts = KpiOptions::at(parse_ts("2026-01-01T00:00:00Z").unwrap());
    let kpis = time(5, || {
        w.store
            .kpis_for(&office.principal, opts.clone(), None)
            .unwrap()
    });
    let detail = time(21, || w.store.work_order_detail(created[0].id).unwrap());
    let satisfied: RecordCall =
        serde_json::from_value(json!({"reached": true, "outcome": "satisfied"})).unwrap();
    let mut open = queue.iter().map(|c| c.callback.id);
    let call = time(21, || {
        w.store
            .record_call(w.dana.id, open.next().unwrap(), &satisfied)
            .unwrap()
    });
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "callback queue, all {jobs} ({urgent} urgent): {:.1} ms",
        ms(list)
    );
    println!("callback queue, urgent only: {:.1} ms", ms(list_urgent));
    println!("KPIs over {jobs} jobs with their loop: {:.1} ms", ms(kpis));
    println!("one job's record with its loop: {:.2} ms", ms(detail));
    println!("one recorded call (satisfied): {:.2} ms", ms(call));
}
