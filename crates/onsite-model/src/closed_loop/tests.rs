//! The loop's rules against values worked out by hand.

use uuid::Uuid;

use super::*;
use crate::time::parse_ts;

fn t(s: &str) -> Timestamp {
    parse_ts(s).unwrap()
}

fn office() -> UserId {
    UserId(Uuid::from_u128(7))
}

fn callback() -> Callback {
    Callback::new(
        CallbackId(Uuid::from_u128(1)),
        WorkOrderId(Uuid::from_u128(2)),
        t("2026-11-22T10:00:00Z"),
    )
}

fn signals() -> CallbackSignals {
    CallbackSignals {
        completed_at: t("2026-11-22T10:00:00Z"),
        rating: Some(5),
        nps: Some(9),
        feedback_at: Some(t("2026-11-22T09:55:00Z")),
        follow_up_needed: false,
        open_complaint_since: None,
    }
}

#[test]
fn low_ratings_are_three_stars_or_fewer_or_a_detractor() {
    assert!(is_low_rating(Some(3), None));
    assert!(!is_low_rating(Some(4), None));
    assert!(is_low_rating(Some(5), Some(6)));
    assert!(!is_low_rating(Some(5), Some(7)));
    assert!(!is_low_rating(None, None), "no rating is not a low one");
}

#[test]
fn an_ordinary_callback_is_due_48_hours_after_the_completion() {
    let p = LoopPolicy::default();
    let s = signals();
    assert!(s.urgent_reasons().is_empty());
    assert_eq!(callback().due_at(&s, &p), t("2026-11-24T10:00:00Z"));
}

#[test]
fn a_low_rating_makes_it_urgent_from_when_it_was_given() {
    let p = LoopPolicy::default();
    // Rated on the device before completion: 4 h after the completion.
    let mut s = signals();
    s.rating = Some(2);
    assert_eq!(s.urgent_reasons(), vec![UrgentReason::LowRating]);
    assert_eq!(callback().due_at(&s, &p), t("2026-11-22T14:00:00Z"));
    // Rated a day later (a later push): 4 h after the rating.
    s.feedback_at = Some(t("2026-11-23T09:00:00Z"));
    assert_eq!(callback().due_at(&s, &p), t("2026-11-23T13:00:00Z"));
    // Rated 47 h later: the ordinary 48 h comes first.
    s.feedback_at = Some(t("2026-11-24T09:00:00Z"));
    assert_eq!(callback().due_at(&s, &p), t("2026-11-24T10:00:00Z"));
}

#[test]
fn a_follow_up_or_an_open_complaint_makes_it_urgent_too() {
    let p = LoopPolicy::default();
    let mut s = signals();
    s.follow_up_needed = true;
    s.open_complaint_since = Some(t("2026-11-22T11:00:00Z"));
    assert_eq!(
        s.urgent_reasons(),
        vec![UrgentReason::FollowUpNeeded, UrgentReason::OpenComplaint]
    );
    assert_eq!(s.urgent_since(), Some(t("2026-11-22T10:00:00Z")));
    assert_eq!(callback().due_at(&s, &p), t("2026-11-22T14:00:00Z"));
}

#[test]
fn a_call_that_reached_nobody_sets_the_next_attempt() {
    let p = LoopPolicy::default();
    let now = t("2026-11-23T09:00:00Z");
    let report = CallReport {
        reached: false,
        outcome: None,
        next_attempt_at: None,
        note: Some("voicemail".into()),
    };
    let mut cb = callback();
    let (attempt, next) = plan_call(&cb, &report, false, office(), now, &p).unwrap();
    assert_eq!(next, CallFollowUp::Retry(t("2026-11-24T09:00:00Z")));
    assert_eq!(attempt.by, office());
    assert_eq!(attempt.at, now);
    // Urgent: tried again after 4 h.
    let (_, next) = plan_call(&cb, &report, true, office(), now, &p).unwrap();
    assert_eq!(next, CallFollowUp::Retry(t("2026-11-23T13:00:00Z")));
    // The office's own time wins, and becomes the due time.
    let chosen = CallReport {
        next_attempt_at: Some(t("2026-11-23T17:30:00Z")),
        ..report.clone()
    };
    let (attempt, _) = plan_call(&cb, &chosen, false, office(), now, &p).unwrap();
    cb.attempts.push(attempt);
    assert_eq!(cb.due_at(&signals(), &p), t("2026-11-23T17:30:00Z"));
    // A low rating given after that call pulls it forward: 4 h after the rating.
    let mut s = signals();
    s.rating = Some(1);
    s.feedback_at = Some(t("2026-11-23T10:00:00Z"));
    assert_eq!(cb.due_at(&s, &p), t("2026-11-23T14:00:00Z"));
    // One known before the call leaves the office's choice alone.
    s.feedback_at = Some(t("2026-11-23T08:00:00Z"));
    assert_eq!(cb.due_at(&s, &p), t("2026-11-23T17:30:00Z"));
    // A next attempt in the past is refused.
    let past = CallReport {
        next_attempt_at: Some(t("2026-11-23T08:59:00Z")),
        ..report
    };
    let err = plan_call(&cb, &past, false, office(), now, &p).unwrap_err();
    assert!(err.contains("is not after now"), "{err}");
}

#[test]
fn a_reached_call_names_its_outcome_and_closes_the_task() {
    let p = LoopPolicy::default();
    let now = t("2026-11-23T09:00:00Z");
    let reached = |outcome| CallReport {
        reached: true,
        outcome,
        next_attempt_at: None,
        note: None,
    };
    let cb = callback();
    for (outcome, follow_up) in [
        (CallbackOutcome::Satisfied, CallFollowUp::Close),
        (CallbackOutcome::Complaint, CallFollowUp::OpenComplaint),
        (CallbackOutcome::RevisitNeeded, CallFollowUp::CreateRevisit),
    ] {
        let (a, f) = plan_call(&cb, &reached(Some(outcome)), false, office(), now, &p).unwrap();
        assert_eq!((a.outcome, f), (Some(outcome), follow_up));
    }
    assert!(plan_call(&cb, &reached(None), false, office(), now, &p).is_err());
    let mut done = cb.clone();
    done.done_at = Some(now);
    let err = plan_call(
        &done,
        &reached(Some(CallbackOutcome::Satisfied)),
        false,
        office(),
        now,
        &p,
    )
    .unwrap_err();
    assert!(err.contains("closed"), "{err}");
    let nobody_satisfied = CallReport {
        reached: false,
        outcome: Some(CallbackOutcome::Satisfied),
        next_attempt_at: None,
        note: None,
    };
    assert!(plan_call(&cb, &nobody_satisfied, false, office(), now, &p).is_err());
}

#[test]
fn the_queue_puts_open_then_urgent_then_soonest_due_first() {
    let place = |open, urgent, due: &str, number: &'static str| QueuePlace {
        open,
        urgent,
        due_at: t(due),
        number,
    };
    let mut q = [
        place(false, true, "2026-11-22T00:00:00Z", "WO-1"),
        place(true, false, "2026-11-23T00:00:00Z", "WO-2"),
        place(true, true, "2026-11-25T00:00:00Z", "WO-3"),
        place(true, false, "2026-11-22T12:00:00Z", "WO-4"),
        place(true, true, "2026-11-24T00:00:00Z", "WO-5"),
    ];
    q.sort_by(queue_order);
    let order: Vec<&str> = q.iter().map(|p| p.number).collect();
    assert_eq!(order, ["WO-5", "WO-3", "WO-4", "WO-2", "WO-1"]);
}

fn complaint(n: u128, deadline: &str, resolved: Option<&str>) -> Complaint {
    Complaint {
        id: ComplaintId(Uuid::from_u128(n)),
        work_order_id: WorkOrderId(Uuid::from_u128(2)),
        callback_id: None,
        summary: "Water on the floor".into(),
        owner_id: office(),
        deadline: t(deadline),
        opened_at: t("2026-11-22T12:00:00Z"),
        opened_by: office(),
        resolved_at: resolved.map(t),
        resolved_by: resolved.map(|_| office()),
        resolution: resolved.map(|_| "Replaced the hose".into()),
    }
}

#[test]
fn complaints_escalate_when_overdue_and_sort_first() {
    let now = t("2026-11-25T13:00:00Z");
    let overdue = complaint(1, "2026-11-25T12:00:00Z", None);
    let due_later = complaint(2, "2026-11-26T12:00:00Z", None);
    let resolved_late = complaint(3, "2026-11-24T12:00:00Z", Some("2026-11-25T00:00:00Z"));
    assert!(overdue.is_escalated(now));
    assert!(!due_later.is_escalated(now));
    assert!(
        !resolved_late.is_escalated(now),
        "resolved is never escalated"
    );
    assert_eq!(resolved_late.resolution_minutes(), Some(3_600));
    let mut list = [resolved_late.clone(), due_later.clone(), overdue.clone()];
    list.sort_by(|a, b| complaint_order(a, b, now));
    let ids: Vec<u128> = list.iter().map(|c| c.id.0.as_u128()).collect();
    assert_eq!(ids, [1, 2, 3]);
}

#[test]
fn a_complaint_is_due_72_hours_after_it_opens_unless_the_office_says() {
    let p = LoopPolicy::default();
    let now = t("2026-11-22T12:00:00Z");
    assert_eq!(
        complaint_deadline(now, None, now, &p),
        Ok(t("2026-11-25T12:00:00Z"))
    );
    let given = t("2026-11-23T12:00:00Z");
    assert_eq!(complaint_deadline(now, Some(given), now, &p), Ok(given));
    assert!(complaint_deadline(now, Some(now), now, &p).is_err());
    assert!(check_summary("  ").is_err());
    assert!(check_resolution(&"x".repeat(LOOP_TEXT_MAX_CHARS + 1)).is_err());
}
