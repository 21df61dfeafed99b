use std::collections::{BTreeSet, HashMap};

use uuid::Uuid;

use super::*;
use crate::ids::CustomerId;
use crate::kinds::{JobType, Priority};
use crate::kpi::{ItemConduct, JobFacts};
use crate::time::parse_ts;

fn id(n: u128) -> WorkOrderId {
    WorkOrderId(Uuid::from_u128(n))
}

fn policy(bp: u32, seed: u64) -> SamplingPolicy {
    SamplingPolicy {
        sample_basis_points: bp,
        seed,
    }
}

fn completed(job: WorkOrderId) -> JobFacts {
    let at = parse_ts("2026-11-22T08:00:00Z").unwrap();
    let mut f = JobFacts::reported(
        job,
        CustomerId(Uuid::from_u128(999)),
        JobType::Repair,
        Priority::Normal,
        at,
    );
    f.completed_at = Some(at + chrono::Duration::hours(3));
    f.conduct = ConductFacts::all_yes();
    f
}

// The expectations below were worked out apart from this code, from the rule as documented:
// sha256("onsite-quality-sample/v1" ‖ seed as u64 big-endian ‖ the 16 id bytes), first 8
// bytes big-endian over 2^64. For ids 1..=40 (Uuid::from_u128): id 1 gives 0.780011…, id 6
// 0.088453…; below 0.10 with seed 0 only id 6; below 0.25 ids 2, 4, 6, 7, 24; with seed 1
// below 0.10 ids 7, 20, 26, 28.
#[test]
fn the_sample_is_the_hash_of_the_job_against_the_rate() {
    let sampled =
        |p: SamplingPolicy| -> Vec<u128> { (1..=40).filter(|n| is_sampled(id(*n), &p)).collect() };
    assert_eq!(sampled(policy(1_000, 0)), vec![6]);
    assert_eq!(sampled(policy(2_500, 0)), vec![2, 4, 6, 7, 24]);
    assert_eq!(sampled(policy(1_000, 1)), vec![7, 20, 26, 28]);
    // Id 1 sits at 0.780011…: out at 78.00 %, in at 78.01 %.
    assert!(!is_sampled(id(1), &policy(7_800, 0)));
    assert!(is_sampled(id(1), &policy(7_801, 0)));
    // None and every one.
    assert!(sampled(policy(0, 0)).is_empty());
    assert_eq!(sampled(policy(10_000, 0)).len(), 40);
    assert_eq!(SamplingPolicy::default(), policy(1_000, 0));
}

#[test]
fn a_rate_is_a_percentage_from_0_to_100() {
    assert_eq!(SamplingPolicy::percent(10.0).unwrap(), policy(1_000, 0));
    assert_eq!(
        SamplingPolicy::percent(12.5).unwrap().sample_basis_points,
        1_250
    );
    assert_eq!(
        SamplingPolicy::percent(12.5).unwrap().sample_percent(),
        12.5
    );
    assert!(SamplingPolicy::percent(-1.0).is_err());
    assert!(SamplingPolicy::percent(100.5).is_err());
    assert!(SamplingPolicy::percent(f64::NAN).is_err());
}

/// A UUIDv7 as devices and the server make them: the time in front, random bits behind
/// (here from a fixed linear congruential sequence, so the test is the same every run).
fn v7(ms: u64, state: &mut u64) -> WorkOrderId {
    let mut rand = [0u8; 10];
    for b in &mut rand {
        *state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        *b = (*state >> 56) as u8;
    }
    WorkOrderId(uuid::Builder::from_unix_timestamp_millis(ms, &rand).into_uuid())
}

/// 2,000 completed jobs of 10 technicians (200 each), over 90 days: 10 % overall within
/// three binomial standard deviations (±2.0 percentage points; this set gives 170, 8.5 %),
/// each technician's share within three (±6.4 points; this set gives 12 to 24 of 200); the
/// same jobs whatever order they come in; and over 100,000 jobs within ±0.3 points (three
/// deviations; this set gives 9,871).
#[test]
fn ten_percent_holds_over_two_thousand_jobs_and_per_technician() {
    let mut state = 42;
    let start = 1_790_000_000_000u64;
    let mut jobs: Vec<(usize, WorkOrderId)> = (0..2_000u64)
        .map(|i| {
            let ms = start + i * 90 * 86_400_000 / 2_000 + (i % 7) * 1_000;
            ((i % 10) as usize, v7(ms, &mut state))
        })
        .collect();
    let p = SamplingPolicy::default();
    let mut per_tech: HashMap<usize, (u32, u32)> = HashMap::new();
    let mut sampled = BTreeSet::new();
    for (tech, job) in &jobs {
        let e = per_tech.entry(*tech).or_default();
        e.1 += 1;
        if is_sampled(*job, &p) {
            e.0 += 1;
            sampled.insert(*job);
        }
    }
    let share = sampled.len() as f64 / 2_000.0;
    assert!((0.08..=0.12).contains(&share), "overall {share}");
    for (tech, (s, n)) in &per_tech {
        let share = f64::from(*s) / f64::from(*n);
        assert!(
            (0.036..=0.164).contains(&share),
            "technician {tech}: {s} of {n}"
        );
    }
    // Synced in another order (reversed, then interleaved): the same sample.
    jobs.reverse();
    jobs.sort_by_key(|(tech, _)| *tech);
    let again: BTreeSet<_> = jobs
        .iter()
        .map(|(_, j)| *j)
        .filter(|j| is_sampled(*j, &p))
        .collect();
    assert_eq!(again, sampled);

    let many = (0..100_000u64)
        .map(|i| v7(start + i * 77_760, &mut state))
        .filter(|j| is_sampled(*j, &p))
        .count();
    let share = many as f64 / 100_000.0;
    assert!((0.097..=0.103).contains(&share), "over 100,000: {share}");
}

#[test]
fn low_ratings_are_three_stars_or_less_or_nps_six_or_less() {
    assert!(is_low_rating(Some(3), None));
    assert!(is_low_rating(Some(1), Some(10)));
    assert!(is_low_rating(Some(5), Some(6)));
    assert!(is_low_rating(None, Some(0)));
    assert!(!is_low_rating(Some(4), Some(7)));
    assert!(!is_low_rating(Some(5), None));
    assert!(!is_low_rating(None, None));
    // Out of range is not given.
    assert!(!is_low_rating(Some(0), Some(11)));
}

#[test]
fn each_reason_is_reported_and_only_completed_jobs_queue() {
    let p = SamplingPolicy::default();
    // Id 6 is sampled at 10 %, id 1 is not (above).
    assert_eq!(
        queue_reasons(&completed(id(6)), &p),
        vec![QueueReason::Sampled]
    );
    assert!(queue_reasons(&completed(id(1)), &p).is_empty());

    let mut low = completed(id(1));
    low.rating = Some(3);
    assert_eq!(queue_reasons(&low, &p), vec![QueueReason::LowRating]);
    low.rating = Some(5);
    low.nps = Some(6);
    assert_eq!(queue_reasons(&low, &p), vec![QueueReason::LowRating]);

    let mut no = completed(id(6));
    no.conduct.shoe_covers = ItemConduct {
        answer: ConductAnswer::No {
            reason: "Forgot them".into(),
        },
        review: None,
    };
    no.rating = Some(2);
    assert_eq!(
        queue_reasons(&no, &p),
        vec![
            QueueReason::Sampled,
            QueueReason::LowRating,
            QueueReason::ConductNo
        ]
    );

    // Not completed (or not done: evidence still awaited), or cancelled: not queued.
    let mut open = no.clone();
    open.completed_at = None;
    assert!(queue_reasons(&open, &p).is_empty());
    let mut cancelled = no;
    cancelled.cancelled = true;
    assert!(queue_reasons(&cancelled, &p).is_empty());
}

fn mark(item: &str, m: ReviewMark, comment: Option<&str>) -> MarkInput {
    MarkInput {
        item: item.into(),
        mark: m,
        comment: comment.map(str::to_owned),
    }
}

fn all_pass() -> Vec<MarkInput> {
    ConductItem::ALL
        .iter()
        .map(|i| mark(i.as_str(), ReviewMark::Pass, None))
        .collect()
}

#[test]
fn a_review_marks_every_standard_and_explains_each_fail() {
    let mut marks = all_pass();
    marks.reverse();
    marks[0] = mark(
        "fault_explained",
        ReviewMark::Fail,
        Some("  Not told why  "),
    );
    let input = ReviewInput {
        marks,
        comment: Some("   ".into()),
    };
    let (got, comment) = input.validate().unwrap();
    // In ConductItem order, comments trimmed, a blank overall comment is none.
    assert_eq!(
        got.iter().map(|m| m.item).collect::<Vec<_>>(),
        ConductItem::ALL.to_vec()
    );
    assert_eq!(got[3].mark, ReviewMark::Fail);
    assert_eq!(got[3].comment.as_deref(), Some("Not told why"));
    assert_eq!(comment, None);

    let refused = |marks: Vec<MarkInput>, comment: Option<String>| {
        ReviewInput { marks, comment }.validate().unwrap_err()
    };
    let mut m = all_pass();
    m[1] = mark("shoe_covers", ReviewMark::Fail, Some(" "));
    let e = refused(m, None);
    assert_eq!(e.code, "comment_required");
    assert!(e.message.contains("shoe_covers is marked fail"), "{e}");

    let mut m = all_pass();
    m.push(mark("smiled", ReviewMark::Pass, None));
    let e = refused(m, None);
    assert_eq!(e.code, "unknown_item");
    assert!(
        e.message.contains("\"smiled\" is not a conduct standard"),
        "{e}"
    );
    assert!(
        e.message.contains("appointment_confirmed, shoe_covers"),
        "{e}"
    );

    let mut m = all_pass();
    m.pop();
    let e = refused(m, None);
    assert_eq!(e.code, "missing_item");
    assert!(e.message.ends_with("not marked: fault_explained"), "{e}");

    let mut m = all_pass();
    m.push(mark("site_cleaned", ReviewMark::Pass, None));
    assert_eq!(refused(m, None).code, "duplicate_item");

    let mut m = all_pass();
    m[0].comment = Some("x".repeat(MARK_COMMENT_MAX_CHARS + 1));
    assert_eq!(refused(m, None).code, "comment_too_long");
    let long = "长".repeat(REVIEW_COMMENT_MAX_CHARS + 1);
    assert_eq!(refused(all_pass(), Some(long)).code, "comment_too_long");
    let just = "长".repeat(REVIEW_COMMENT_MAX_CHARS);
    assert!(
        ReviewInput {
            marks: all_pass(),
            comment: Some(just)
        }
        .validate()
        .is_ok()
    );
}

#[test]
fn the_latest_review_counts_and_sets_the_marks() {
    let at = parse_ts("2026-11-23T10:00:00Z").unwrap();
    let review = |n: u128, at, shoe| QualityReview {
        id: QualityReviewId(Uuid::from_u128(n)),
        work_order_id: id(1),
        reviewer_id: UserId(Uuid::from_u128(7)),
        reviewed_at: at,
        marks: ConductItem::ALL
            .iter()
            .map(|i| ItemMark {
                item: *i,
                mark: if *i == ConductItem::ShoeCovers {
                    shoe
                } else {
                    ReviewMark::Pass
                },
                comment: None,
            })
            .collect(),
        comment: None,
    };
    let first = review(2, at, ReviewMark::Fail);
    let second = review(1, at + chrono::Duration::minutes(5), ReviewMark::Pass);
    let reviews = vec![second.clone(), first.clone()];
    assert_eq!(latest(&reviews), Some(&second));
    assert_eq!(latest(&[]), None);
    // Same time: the later id.
    let tie = review(3, at + chrono::Duration::minutes(5), ReviewMark::Fail);
    assert_eq!(latest(&[second, tie.clone()]), Some(&tie));

    let mut conduct = ConductFacts::all_yes();
    apply_marks(&mut conduct, &first);
    assert_eq!(conduct.shoe_covers.review, Some(ReviewMark::Fail));
    assert_eq!(conduct.site_cleaned.review, Some(ReviewMark::Pass));
    assert_eq!(conduct.shoe_covers.answer, ConductAnswer::Yes);
}

#[test]
fn the_queue_lists_queued_and_reviewed_jobs_with_counts_per_technician() {
    let p = SamplingPolicy::default();
    let alice = Some(UserId(Uuid::from_u128(100)));
    let bob = Some(UserId(Uuid::from_u128(101)));
    let job = |n: u128, tech: Option<UserId>, hours: i64| {
        let mut f = completed(id(n));
        f.assignee_id = tech;
        f.completed_at = Some(f.reported_at + chrono::Duration::hours(hours));
        f
    };
    // Alice: id 6 (sampled), id 1 (nothing: but reviewed anyway), id 2 rated 1 star,
    // id 3 not completed. Bob: id 4 answered "no" on site_cleaned.
    let sampled = job(6, alice, 5);
    let chosen = job(1, alice, 1);
    let mut low = job(2, alice, 3);
    low.rating = Some(1);
    let mut open = job(3, alice, 2);
    open.completed_at = None;
    let mut no = job(4, bob, 4);
    no.conduct.site_cleaned.answer = ConductAnswer::No {
        reason: "No water on site".into(),
    };
    let review = QualityReview {
        id: QualityReviewId(Uuid::from_u128(50)),
        work_order_id: id(1),
        reviewer_id: UserId(Uuid::from_u128(7)),
        reviewed_at: parse_ts("2026-11-23T10:00:00Z").unwrap(),
        marks: vec![],
        comment: None,
    };
    let q = review_queue(
        &[sampled, chosen, low, open, no],
        std::slice::from_ref(&review),
        &p,
    );
    // Oldest completion first; the reviewed job though nothing queued it.
    let listed: Vec<(u128, Vec<QueueReason>)> = q
        .jobs
        .iter()
        .map(|j| (j.work_order_id.0.as_u128(), j.reasons.clone()))
        .collect();
    assert_eq!(
        listed,
        vec![
            (1, vec![]),
            (2, vec![QueueReason::LowRating]),
            (4, vec![QueueReason::ConductNo]),
            (6, vec![QueueReason::Sampled]),
        ]
    );
    assert_eq!(q.jobs[0].review_count, 1);
    assert_eq!(q.jobs[0].latest_review.as_ref(), Some(&review));
    assert_eq!(
        q.jobs[2].conduct_no,
        vec![ConductNo {
            item: ConductItem::SiteCleaned,
            reason: "No water on site".into()
        }]
    );
    let counts: Vec<(Option<UserId>, u32, u32, u32, u32, u32)> = q
        .technicians
        .iter()
        .map(|t| {
            (
                t.technician_id,
                t.completed,
                t.sampled,
                t.queued,
                t.reviewed,
                t.pending,
            )
        })
        .collect();
    assert_eq!(counts, vec![(alice, 3, 1, 2, 1, 2), (bob, 1, 0, 1, 0, 1)]);
}
