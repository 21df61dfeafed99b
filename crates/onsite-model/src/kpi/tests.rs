//! The KPIs against figures worked out by hand; each test says how.

use uuid::Uuid;

use super::*;
use crate::clock::bounded_event_time;
use crate::ids::{CustomerId, UserId};
use crate::kinds::{JobType, Priority};
use crate::time::parse_ts;

pub(super) fn t(s: &str) -> Timestamp {
    parse_ts(s).unwrap()
}

pub(super) fn tech(n: u128) -> UserId {
    UserId(Uuid::from_u128(0x7000 + n))
}

/// A repair reported at `reported`, nothing recorded yet.
pub(super) fn job(n: u128, priority: Priority, reported: &str) -> JobFacts {
    JobFacts::reported(
        WorkOrderId(Uuid::from_u128(n)),
        CustomerId(Uuid::from_u128(0x1000)),
        JobType::Repair,
        priority,
        t(reported),
    )
}

/// A normal-priority job reported at `reported`, arrived and completed, fixed, with every
/// conduct item answered "yes".
pub(super) fn done(n: u128, reported: &str, arrived: &str, completed: &str) -> JobFacts {
    let mut j = job(n, Priority::Normal, reported);
    j.arrived_at = Some(t(arrived));
    j.completed_at = Some(t(completed));
    j.result = Some(JobResult::Fixed);
    j.conduct = ConductFacts::all_yes();
    j
}

pub(super) fn opts(now: &str) -> KpiOptions {
    KpiOptions::at(t(now))
}

fn close(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|a| (a - b).abs() < 1e-9)
}

#[test]
fn no_jobs_give_no_ratios_never_a_hundred_percent() {
    let k = compute(&[], &opts("2026-11-22T12:00:00Z"));
    assert_eq!((k.jobs, k.completed, k.cancelled), (0, 0, 0));
    let none = Rate {
        numerator: 0,
        denominator: 0,
        ratio: None,
    };
    for rate in [
        k.response_sla,
        k.resolution_sla,
        k.arrival.on_time,
        k.first_time_fix,
        k.repeat_visit,
        k.csat.satisfied,
        k.csat.response,
        k.conduct_all_items,
        k.callbacks.completion,
        k.callbacks.on_time,
        k.complaints.rate,
        k.complaints.resolved_by_deadline,
    ] {
        assert_eq!(rate, none);
    }
    assert!(k.conduct.iter().all(|c| c.compliance == none));
    assert_eq!(k.conduct.len(), 4);
    assert_eq!(k.by_priority.len(), 4);
    assert!(k.by_priority.iter().all(|p| p.response_sla == none));
    assert_eq!(k.response_time, DurationStats::default());
    assert_eq!(k.csat.average_rating, None);
    assert_eq!(k.nps.score, None);
    // The UI sees `null`, not 0 or 1.
    let json = serde_json::to_value(&k).unwrap();
    assert_eq!(json["first_time_fix"]["ratio"], serde_json::Value::Null);
    assert_eq!(
        json["response_time"]["median_minutes"],
        serde_json::Value::Null
    );
}

#[test]
fn response_and_resolution_times_and_sla_per_priority() {
    // Urgent: respond within 2 h, resolve within 8 h; high: 4 h / 24 h (SlaPolicy).
    let mut a = job(1, Priority::Urgent, "2026-11-22T08:00:00Z");
    a.arrived_at = Some(t("2026-11-22T09:00:00Z")); // 60 min, by 10:00: met
    a.completed_at = Some(t("2026-11-22T12:00:00Z")); // 240 min, by 16:00: met
    let mut b = job(2, Priority::Urgent, "2026-11-22T08:00:00Z");
    b.arrived_at = Some(t("2026-11-22T11:00:00Z")); // 180 min: missed
    b.completed_at = Some(t("2026-11-22T17:00:00Z")); // 540 min: missed
    let mut c = job(3, Priority::Normal, "2026-11-22T08:00:00Z");
    c.respond_by = Some(t("2026-11-22T08:30:00Z")); // an agreed deadline wins
    c.arrived_at = Some(t("2026-11-22T08:20:00Z")); // 20 min: met
    // Not completed; resolve-by (72 h default) still running at `now`: not counted.
    // High, never arrived: respond-by 12:00 and resolve-by 23rd 08:00 both passed: missed.
    let d = job(4, Priority::High, "2026-11-22T08:00:00Z");
    let mut e = job(5, Priority::Low, "2026-11-22T08:00:00Z");
    e.cancelled = true; // cancelled before anyone arrived: not measured
    let k = compute(&[a, b, c, d, e], &opts("2026-11-23T10:00:00Z"));

    assert_eq!((k.jobs, k.completed, k.cancelled), (5, 2, 1));
    // Response times 20, 60, 180: median 60, mean 260 / 3.
    assert_eq!(k.response_time.count, 3);
    assert!(close(k.response_time.median_minutes, 60.0));
    assert!(close(k.response_time.mean_minutes, 260.0 / 3.0));
    assert_eq!(k.response_sla, Rate::of(2, 4)); // a, c met; b, d missed
    // Resolution times 240, 540: median (240 + 540) / 2 = 390, mean 390.
    assert!(close(k.resolution_time.median_minutes, 390.0));
    assert!(close(k.resolution_time.mean_minutes, 390.0));
    assert_eq!(k.resolution_sla, Rate::of(1, 3)); // a met; b, d missed; c running

    let p: Vec<Priority> = k.by_priority.iter().map(|p| p.priority).collect();
    assert_eq!(
        p,
        [
            Priority::Urgent,
            Priority::High,
            Priority::Normal,
            Priority::Low
        ]
    );
    let urgent = &k.by_priority[0];
    assert!(close(urgent.response_time.median_minutes, 120.0)); // (60 + 180) / 2
    assert_eq!(urgent.response_sla, Rate::of(1, 2));
    assert_eq!(urgent.resolution_sla, Rate::of(1, 2));
    let high = &k.by_priority[1];
    assert_eq!(high.response_time.median_minutes, None);
    assert_eq!(high.response_sla.ratio, Some(0.0)); // 0 of 1: a real 0 %, not "none"
    assert_eq!(k.by_priority[2].response_sla, Rate::of(1, 1));
    assert_eq!(k.by_priority[3].response_sla.ratio, None);
}

#[test]
fn a_job_synced_three_days_late_counts_as_if_synced_at_once() {
    // Arrival at 09:40 and completion at 11:00 on the 22nd, recorded offline; the server
    // received them on the 25th. Bounding by receipt leaves earlier event times alone.
    let received = t("2026-11-25T18:00:00Z");
    let (arrived, moved) = bounded_event_time(t("2026-11-22T09:40:00Z"), received, None);
    assert_eq!((arrived, moved), (t("2026-11-22T09:40:00Z"), None));
    let (completed, _) = bounded_event_time(t("2026-11-22T11:00:00Z"), received, None);

    let mut late = job(1, Priority::High, "2026-11-22T08:00:00Z");
    late.arrived_at = Some(arrived);
    late.completed_at = Some(completed);
    late.appointment_start = Some(t("2026-11-22T09:00:00Z"));
    late.appointment_end = Some(t("2026-11-22T10:00:00Z"));
    late.result = Some(JobResult::Fixed);
    let mut prompt = late.clone();
    prompt.id = WorkOrderId(Uuid::from_u128(2));

    // Seen on the day with the prompt one, or three days later on its own: the same.
    let on_the_day = compute(&[prompt], &opts("2026-11-22T12:00:00Z"));
    let after_sync = compute(&[late], &opts("2026-11-25T18:00:00Z"));
    assert_eq!(on_the_day, after_sync);
    // 100 min response, by 12:00: met; 180 min resolution, by the 23rd 08:00: met.
    assert!(close(after_sync.response_time.median_minutes, 100.0));
    assert_eq!(after_sync.response_sla, Rate::of(1, 1));
    assert!(close(after_sync.resolution_time.median_minutes, 180.0));
    assert_eq!(after_sync.resolution_sla, Rate::of(1, 1));
    assert_eq!(after_sync.arrival.on_time, Rate::of(1, 1));
    assert_eq!(after_sync.first_time_fix, Rate::of(1, 1));
}

#[test]
fn a_device_clock_three_hours_fast_is_on_time_once_corrected() {
    // The technician really arrived at 10:55, in the 10:00–11:00 window; the tablet's clock
    // read 13:55. The server received the arrival at 11:00 and bounded it to that.
    let mut j = job(1, Priority::Urgent, "2026-11-22T09:00:00Z");
    j.appointment_start = Some(t("2026-11-22T10:00:00Z"));
    j.appointment_end = Some(t("2026-11-22T11:00:00Z"));
    let device_reading = t("2026-11-22T13:55:00Z");
    let now = opts("2026-11-22T12:00:00Z");

    let mut raw = j.clone();
    raw.arrived_at = Some(device_reading);
    let k = compute(&[raw], &now);
    assert_eq!(k.arrival.on_time, Rate::of(0, 1)); // 13:55 would be late
    assert_eq!(k.response_sla, Rate::of(0, 1)); // and past respond-by 11:00

    let (arrived, moved) = bounded_event_time(device_reading, t("2026-11-22T11:00:00Z"), None);
    assert_eq!(moved, Some(-(2 * 60 + 55) * 60_000));
    j.arrived_at = Some(arrived);
    let k = compute(&[j], &now);
    assert_eq!(k.arrival.on_time, Rate::of(1, 1)); // 11:00: the window's last minute
    assert_eq!(k.response_sla, Rate::of(1, 1)); // 120 min, respond-by 11:00: met
    assert!(close(k.response_time.median_minutes, 120.0));
}

#[test]
fn conduct_facts_are_read_from_the_checklist_as_recorded() {
    use crate::checklist::{AnswerValue, template_for};
    use crate::kinds::JobType;
    let template = template_for(JobType::Repair);
    let yes = AnswerValue::Check(true);
    let no = AnswerValue::No("ran out of covers".into());
    let unticked = AnswerValue::Check(false);
    let mut answers: Vec<(&str, &AnswerValue)> = template
        .items
        .iter()
        .map(|i| (i.key.as_str(), &yes))
        .collect();
    answers.retain(|(k, _)| *k != "fault_explained");
    answers.push(("shoe_covers", &no));
    answers.push(("site_cleaned", &unticked));
    let facts = ConductFacts::from_answers(answers);
    assert_eq!(facts.appointment_confirmed.answer, ConductAnswer::Yes);
    assert_eq!(
        facts.shoe_covers.answer,
        ConductAnswer::No {
            reason: "ran out of covers".into()
        }
    );
    // An unticked box is not a "no" with a reason, and a missing answer is unanswered.
    assert_eq!(facts.site_cleaned.answer, ConductAnswer::Unanswered);
    assert_eq!(facts.fault_explained.answer, ConductAnswer::Unanswered);
    assert!(facts.shoe_covers.review.is_none());
}

#[test]
fn a_conduct_item_answered_no_counts_against_it_and_the_job_still_completes() {
    let d = |n| {
        done(
            n,
            "2026-11-22T08:00:00Z",
            "2026-11-22T09:00:00Z",
            "2026-11-22T10:00:00Z",
        )
    };
    let all_yes = d(1);
    // Shoe covers "no", with a reason; the reviewer passing the job does not make it yes.
    let mut no = d(2);
    no.conduct.shoe_covers = ItemConduct {
        answer: ConductAnswer::No {
            reason: "ran out of covers".into(),
        },
        review: Some(ReviewMark::Pass),
    };
    // All "yes", but the reviewer failed shoe covers (the photos show none) and passed
    // the cleanup.
    let mut failed = d(3);
    failed.conduct.shoe_covers.review = Some(ReviewMark::Fail);
    failed.conduct.site_cleaned.review = Some(ReviewMark::Pass);
    // Cleanup never answered; shoe covers reviewed and passed.
    let mut unanswered = d(4);
    unanswered.conduct.site_cleaned.answer = ConductAnswer::Unanswered;
    unanswered.conduct.shoe_covers.review = Some(ReviewMark::Pass);
    let k = compute(
        &[all_yes, no, failed, unanswered],
        &opts("2026-11-23T00:00:00Z"),
    );

    assert_eq!(k.completed, 4);
    let item = |i: ConductItem| *k.conduct.iter().find(|c| c.item == i).unwrap();
    let confirmed = item(ConductItem::AppointmentConfirmed);
    assert_eq!(confirmed.compliance, Rate::of(4, 4));
    assert_eq!(confirmed.review_pass, Rate::of(0, 0));
    // Shoe covers: yes on 1 and 4 (4 passed review); 2 said no; 3's yes failed review.
    let covers = item(ConductItem::ShoeCovers);
    assert_eq!(covers.compliance, Rate::of(2, 4));
    assert_eq!(covers.compliance.ratio, Some(0.5));
    assert_eq!((covers.answered_no, covers.yes_failed_in_review), (1, 1));
    assert_eq!(covers.review_pass, Rate::of(2, 3)); // 2 pass, 3 fail, 4 pass
    // Cleanup: unanswered on 4 counts against; 3's review passed it.
    let cleaned = item(ConductItem::SiteCleaned);
    assert_eq!(cleaned.compliance, Rate::of(3, 4));
    assert_eq!(cleaned.unanswered, 1);
    assert_eq!(cleaned.review_pass, Rate::of(1, 1));
    assert_eq!(item(ConductItem::FaultExplained).compliance, Rate::of(4, 4));
    // Only job 1 is compliant on all four.
    assert_eq!(k.conduct_all_items, Rate::of(1, 4));
    let keys: Vec<&str> = k.conduct.iter().map(|c| c.item.as_str()).collect();
    assert_eq!(
        keys,
        [
            "appointment_confirmed",
            "shoe_covers",
            "site_cleaned",
            "fault_explained"
        ]
    );
}

#[test]
fn a_revisit_inside_the_window_takes_the_first_time_fix_away_one_outside_does_not() {
    let mut o1 = done(
        1,
        "2026-10-31T08:00:00Z",
        "2026-11-01T09:00:00Z",
        "2026-11-01T10:00:00Z",
    );
    o1.result = Some(JobResult::Fixed);
    let mut o2 = done(
        2,
        "2026-09-30T08:00:00Z",
        "2026-10-01T09:00:00Z",
        "2026-10-01T10:00:00Z",
    );
    o2.result = Some(JobResult::Fixed);
    let o3 = done(
        3,
        "2026-11-02T08:00:00Z",
        "2026-11-02T09:00:00Z",
        "2026-11-02T10:00:00Z",
    );
    let mut o4 = done(
        4,
        "2026-11-03T08:00:00Z",
        "2026-11-03T09:00:00Z",
        "2026-11-03T10:00:00Z",
    );
    o4.result = Some(JobResult::NotFixed);
    // r1 revisits o1 19 days after its completion (inside 30 days), and fixes it.
    let mut r1 = done(
        11,
        "2026-11-20T10:00:00Z",
        "2026-11-21T09:00:00Z",
        "2026-11-21T10:00:00Z",
    );
    r1.revisit_of = Some(o1.id);
    // r2 revisits o2 35 days after its completion (outside), and fixes it.
    let mut r2 = done(
        12,
        "2026-11-05T10:00:00Z",
        "2026-11-06T09:00:00Z",
        "2026-11-06T10:00:00Z",
    );
    r2.revisit_of = Some(o2.id);
    // A cancelled revisit of o3 (opened by mistake) does not count.
    let mut r3 = job(13, Priority::Normal, "2026-11-03T10:00:00Z");
    r3.revisit_of = Some(o3.id);
    r3.cancelled = true;
    let facts = [o1, o2, o3, o4, r1, r2, r3];
    let now = opts("2026-12-01T00:00:00Z");

    // First visits o1–o4 (r1 and r2 are revisits). First-time fixes: o2 (its revisit came
    // too late) and o3 (r3 was cancelled); o1 was revisited, o4 was not fixed.
    let k = compute(&facts, &now);
    assert_eq!(k.completed, 6);
    assert_eq!(k.revisits, 2);
    assert_eq!(k.first_time_fix, Rate::of(2, 4));
    assert_eq!(k.repeat_visit, Rate::of(1, 4));

    // A 40-day window takes o2's away too.
    let wide = KpiOptions {
        revisit_window_days: 40,
        ..now.clone()
    };
    let k = compute(&facts, &wide);
    assert_eq!(k.first_time_fix, Rate::of(1, 4));
    assert_eq!(k.repeat_visit, Rate::of(2, 4));

    // The window's last instant still counts: exactly 19 days is inside a 19-day window,
    // outside an 18-day one.
    let o1_only = &facts[..1];
    let r1_only = &facts[4..5];
    let pair: Vec<JobFacts> = o1_only.iter().chain(r1_only).cloned().collect();
    let with = |days| KpiOptions {
        revisit_window_days: days,
        ..now.clone()
    };
    assert_eq!(compute(&pair, &with(19)).repeat_visit, Rate::of(1, 1));
    assert_eq!(compute(&pair, &with(18)).repeat_visit, Rate::of(0, 1));
}

#[test]
fn csat_and_nps_leave_out_a_job_without_a_rating() {
    let d = |n| {
        done(
            n,
            "2026-11-22T08:00:00Z",
            "2026-11-22T09:00:00Z",
            "2026-11-22T10:00:00Z",
        )
    };
    let answers = [
        (Some(5), Some(10)),
        (Some(4), Some(9)),
        (Some(2), Some(7)),
        (None, Some(3)),
        (Some(3), None),
    ];
    let mut facts: Vec<JobFacts> = answers
        .iter()
        .zip(1..)
        .map(|(&(rating, nps), n)| JobFacts {
            rating,
            nps,
            ..d(n)
        })
        .collect();
    // Rated but not completed: the rating of an unfinished job is not counted.
    let mut open = job(9, Priority::Normal, "2026-11-22T08:00:00Z");
    open.rating = Some(1);
    open.nps = Some(0);
    facts.push(open);
    let k = compute(&facts, &opts("2026-11-23T00:00:00Z"));

    // Ratings 5, 4, 2, 3 (one completed job unrated): mean 14 / 4 = 3.5, 4–5 stars 2 of 4,
    // rated 4 of 5 completed.
    assert_eq!(k.completed, 5);
    assert!(close(k.csat.average_rating, 3.5));
    assert_eq!(k.csat.satisfied, Rate::of(2, 4));
    assert_eq!(k.csat.response, Rate::of(4, 5));
    // NPS answers 10, 9, 7, 3: 2 promoters, 1 passive, 1 detractor of 4 → 50 % − 25 % = 25.
    assert_eq!(
        (
            k.nps.promoters,
            k.nps.passives,
            k.nps.detractors,
            k.nps.answered
        ),
        (2, 1, 1, 4)
    );
    assert!(close(k.nps.score, 25.0));
}

#[test]
fn arrival_on_time_within_the_window_and_its_grace() {
    // Window 10:00–12:00 on every job; now is 14:00.
    let windowed = |n, arrived: Option<&str>| {
        let mut j = job(n, Priority::Normal, "2026-11-22T08:00:00Z");
        j.appointment_start = Some(t("2026-11-22T10:00:00Z"));
        j.appointment_end = Some(t("2026-11-22T12:00:00Z"));
        j.arrived_at = arrived.map(t);
        j
    };
    let mut cancelled = windowed(6, None);
    cancelled.cancelled = true;
    let mut not_yet = windowed(7, None);
    not_yet.appointment_end = Some(t("2026-11-22T15:00:00Z"));
    let facts = [
        windowed(1, Some("2026-11-22T09:50:00Z")), // 10 min early
        windowed(2, Some("2026-11-22T12:10:00Z")), // 10 min late
        windowed(3, Some("2026-11-22T11:00:00Z")), // in the window
        windowed(4, None),                         // window closed, nobody came: late
        windowed(5, Some("2026-11-22T12:30:00Z")), // 30 min late
        cancelled,                                 // not counted
        not_yet,                                   // window still open: not counted
    ];
    let now = opts("2026-11-22T14:00:00Z");
    let k = compute(&facts, &now);
    assert_eq!(k.arrival.on_time, Rate::of(1, 5));
    assert_eq!((k.arrival.early, k.arrival.late), (1, 3));

    // A 15-minute grace takes in the early one and the one 10 minutes late.
    let graced = KpiOptions {
        arrival_grace_minutes: 15,
        ..now
    };
    let k = compute(&facts, &graced);
    assert_eq!(k.arrival.on_time, Rate::of(3, 5));
    assert_eq!((k.arrival.early, k.arrival.late), (0, 2));
}

#[test]
fn callbacks_and_complaints() {
    let d = |n| {
        done(
            n,
            "2026-11-04T08:00:00Z",
            "2026-11-04T09:00:00Z",
            "2026-11-04T10:00:00Z",
        )
    };
    let cb = |due: &str, done_at: Option<&str>| CallbackFacts {
        due_at: t(due),
        done_at: done_at.map(t),
        outcome: done_at.map(|_| CallbackOutcome::Satisfied),
    };
    let complaint = |opened: &str, resolved: Option<&str>, deadline: &str| ComplaintFacts {
        opened_at: t(opened),
        resolved_at: resolved.map(t),
        owner_id: Some(tech(9)),
        deadline: Some(t(deadline)),
    };
    let mut j1 = d(1);
    j1.callbacks = vec![
        cb("2026-11-09T00:00:00Z", Some("2026-11-08T00:00:00Z")), // done on time
        cb("2026-11-09T00:00:00Z", Some("2026-11-10T09:00:00Z")), // done late
    ];
    j1.complaints = vec![
        // 6 h, by its deadline.
        complaint(
            "2026-11-05T10:00:00Z",
            Some("2026-11-05T16:00:00Z"),
            "2026-11-06T00:00:00Z",
        ),
        // 36 h, past its deadline.
        complaint(
            "2026-11-06T00:00:00Z",
            Some("2026-11-07T12:00:00Z"),
            "2026-11-07T00:00:00Z",
        ),
    ];
    let mut j2 = d(2);
    j2.callbacks = vec![
        cb("2026-11-09T00:00:00Z", None),                         // overdue
        cb("2026-11-11T00:00:00Z", None),                         // not due yet
        cb("2026-11-12T00:00:00Z", Some("2026-11-10T08:00:00Z")), // done ahead of time
    ];
    // Still open, its deadline passed.
    j2.complaints = vec![complaint(
        "2026-11-08T00:00:00Z",
        None,
        "2026-11-09T00:00:00Z",
    )];
    let facts = [j1, j2, d(3), d(4)];
    let k = compute(&facts, &opts("2026-11-10T12:00:00Z"));

    // Due by now or done: 4 callbacks; done 3; done by their due time 2; 1 pending.
    assert_eq!(k.callbacks.completion, Rate::of(3, 4));
    assert_eq!(k.callbacks.on_time, Rate::of(2, 4));
    assert_eq!(k.callbacks.pending, 1);
    // Complaints on 2 of the 4 completed jobs; 3 complaints, 1 open.
    assert_eq!(k.complaints.rate, Rate::of(2, 4));
    assert_eq!((k.complaints.count, k.complaints.open), (3, 1));
    // Resolved in 360 and 2160 min: median = mean = 1260 min (21 h).
    assert_eq!(k.complaints.resolution_time.count, 2);
    assert!(close(k.complaints.resolution_time.median_minutes, 1260.0));
    assert!(close(k.complaints.resolution_time.mean_minutes, 1260.0));
    // By deadline: the first only, of three (the open one's deadline has passed).
    assert_eq!(k.complaints.resolved_by_deadline, Rate::of(1, 3));
}
