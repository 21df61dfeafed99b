//! The quality-review queue over many jobs: prints how long the model takes to sample and
//! queue them (`cargo bench -p onsite-model --bench quality`). A figure, not a test.

use std::time::Instant;

use chrono::Duration;
use onsite_model::kpi::{ConductAnswer, ConductFacts, ConductItem, JobFacts, ReviewMark};
use onsite_model::quality::{
    ItemMark, QualityReview, QualityReviewId, SamplingPolicy, review_queue,
};
use onsite_model::time::parse_ts;
use onsite_model::{CustomerId, JobType, Priority, UserId, WorkOrderId};
use uuid::Uuid;

fn main() {
    const JOBS: u64 = 100_000;
    let start = parse_ts("2026-01-01T08:00:00Z").unwrap();
    let technicians: Vec<UserId> = (0..200)
        .map(|n| UserId(Uuid::from_u128(1_000_000 + n)))
        .collect();
    let mut facts = Vec::with_capacity(JOBS as usize);
    for i in 0..JOBS {
        let at = start + Duration::minutes(i as i64 * 5);
        let mut rand = [0u8; 10];
        rand[..8].copy_from_slice(&(i.wrapping_mul(0x9e37_79b9_7f4a_7c15)).to_be_bytes());
        let id = WorkOrderId(
            uuid::Builder::from_unix_timestamp_millis(at.timestamp_millis() as u64, &rand)
                .into_uuid(),
        );
        let mut f = JobFacts::reported(
            id,
            CustomerId(Uuid::from_u128(7)),
            JobType::Repair,
            Priority::Normal,
            at,
        );
        f.assignee_id = Some(technicians[(i % 200) as usize]);
        f.completed_at = Some(at + Duration::hours(2));
        f.conduct = ConductFacts::all_yes();
        f.rating = Some(if i % 17 == 0 { 2 } else { 5 });
        f.nps = Some(9);
        if i % 23 == 0 {
            f.conduct.shoe_covers.answer = ConductAnswer::No {
                reason: "Forgot them".into(),
            };
        }
        facts.push(f);
    }
    let reviews: Vec<QualityReview> = facts
        .iter()
        .step_by(10)
        .enumerate()
        .map(|(n, f)| QualityReview {
            id: QualityReviewId(Uuid::from_u128(n as u128 + 1)),
            work_order_id: f.id,
            reviewer_id: UserId(Uuid::from_u128(9)),
            reviewed_at: f.completed_at.unwrap() + Duration::hours(24),
            marks: ConductItem::ALL
                .iter()
                .map(|i| ItemMark {
                    item: *i,
                    mark: ReviewMark::Pass,
                    comment: None,
                })
                .collect(),
            comment: None,
        })
        .collect();
    let policy = SamplingPolicy::default();
    let mut times = Vec::new();
    let mut queued = 0;
    for _ in 0..7 {
        let t = Instant::now();
        let q = review_queue(&facts, &reviews, &policy);
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        queued = q.jobs.len();
    }
    times.sort_by(f64::total_cmp);
    println!(
        "review_queue over {JOBS} completed jobs of 200 technicians, {} reviews: {queued} listed; median {:.1} ms (min {:.1}, max {:.1}) over 7 runs",
        reviews.len(),
        times[3],
        times[0],
        times[6]
    );
}
