//! Facts read from the rows a job records, and the KPIs they give.

use uuid::Uuid;

use super::tests::{opts, t, tech};
use super::*;
use crate::checklist::{AnswerValue, template_for};
use crate::entities::{ChecklistAnswer, Feedback, WorkOrder};
use crate::ids::{CustomerId, FeedbackId};
use crate::kinds::{JobType, Priority};
use crate::status::StatusAction;

fn worked_job(n: u128) -> WorkOrder {
    let mut wo = WorkOrder::new_request(
        WorkOrderId(Uuid::from_u128(n)),
        format!("WO-2026-{n:06}"),
        CustomerId(Uuid::from_u128(0x1000)),
        JobType::Repair,
        Priority::Normal,
        "Dishwasher does not drain".into(),
        t("2026-11-22T08:00:00Z"),
    );
    wo.assignee_id = Some(tech(1));
    wo.status = crate::status::WorkOrderStatus::Assigned;
    for (step, at) in [
        (StatusAction::StartTravel, "2026-11-22T08:40:00Z"),
        (StatusAction::Arrive, "2026-11-22T09:00:00Z"),
        (StatusAction::StartWork, "2026-11-22T09:05:00Z"),
        (StatusAction::Complete, "2026-11-22T10:00:00Z"),
    ] {
        wo.apply_transition(step, t(at)).unwrap();
    }
    wo
}

fn answers(wo: &WorkOrder, no: &[(&str, &str)]) -> Vec<ChecklistAnswer> {
    template_for(wo.job_type)
        .items
        .iter()
        .map(|i| ChecklistAnswer {
            id: format!("{}:{}", wo.id, i.key),
            work_order_id: wo.id,
            item_key: i.key.clone(),
            value: match no.iter().find(|(k, _)| *k == i.key) {
                Some((_, reason)) => AnswerValue::No((*reason).into()),
                None => AnswerValue::Check(true),
            },
            answered_at: t("2026-11-22T09:30:00Z"),
        })
        .collect()
}

fn feedback(wo: &WorkOrder, n: u128, rating: u8, nps: Option<u8>, at: &str) -> Feedback {
    Feedback {
        id: FeedbackId(Uuid::from_u128(n)),
        work_order_id: wo.id,
        rating,
        nps,
        comment: None,
        created_at: t(at),
    }
}

#[test]
fn facts_come_from_the_recorded_rows_and_the_latest_feedback_counts() {
    let wo = worked_job(1);
    let rows = answers(&wo, &[("shoe_covers", "ran out of covers")]);
    let fb = [
        feedback(&wo, 2, 2, Some(3), "2026-11-22T10:01:00Z"),
        // The customer changed their mind a minute later: the later answer counts.
        feedback(&wo, 3, 5, Some(9), "2026-11-22T10:02:00Z"),
    ];
    let f = JobFacts::of_job(&wo, &rows, &fb);
    assert_eq!(f.number, "WO-2026-000001");
    assert_eq!(f.assignee_id, Some(tech(1)));
    assert_eq!(f.arrived_at, Some(t("2026-11-22T09:00:00Z")));
    assert_eq!(f.completed_at, Some(t("2026-11-22T10:00:00Z")));
    assert_eq!(f.result, Some(JobResult::Fixed));
    assert_eq!((f.rating, f.nps), (Some(5), Some(9)));
    assert_eq!(
        f.conduct.shoe_covers.answer,
        ConductAnswer::No {
            reason: "ran out of covers".into()
        }
    );
    assert_eq!(f.conduct.site_cleaned.answer, ConductAnswer::Yes);

    // By hand: one completed job, responded 60 min after the report (inside the normal
    // 24 h), fixed first time, rated 5, a promoter, shoe covers not worn.
    let k = compute(&[f], &opts("2026-11-23T00:00:00Z"));
    assert_eq!(k.completed, 1);
    assert_eq!(k.first_time_fix, Rate::of(1, 1));
    assert_eq!(k.nps.promoters, 1);
    let shoe = k
        .conduct
        .iter()
        .find(|c| c.item == ConductItem::ShoeCovers)
        .unwrap();
    assert_eq!(shoe.compliance, Rate::of(0, 1));
    assert_eq!(k.conduct_all_items, Rate::of(0, 1));
}

#[test]
fn a_job_awaiting_evidence_or_needing_a_follow_up_is_not_a_first_time_fix() {
    let mut waiting = worked_job(1);
    waiting.awaiting_evidence = vec!["photo".into()];
    let f = JobFacts::of_job(&waiting, &answers(&waiting, &[]), &[]);
    assert_eq!(f.completed_at, None, "not done until its evidence arrives");
    assert_eq!(f.result, None);
    assert_eq!((f.rating, f.nps), (None, None));

    let mut follow_up = worked_job(2);
    follow_up.follow_up_needed = true;
    let f = JobFacts::of_job(&follow_up, &answers(&follow_up, &[]), &[]);
    assert_eq!(f.result, Some(JobResult::NotFixed));
    let k = compute(&[f], &opts("2026-11-23T00:00:00Z"));
    assert_eq!(k.first_time_fix, Rate::of(0, 1));
}

#[test]
fn the_revisit_link_is_read_from_the_work_order() {
    let first = worked_job(1);
    let mut revisit = WorkOrder::new_request(
        WorkOrderId(Uuid::from_u128(2)),
        "WO-2026-000002".into(),
        first.customer_id,
        JobType::Repair,
        Priority::Normal,
        "Drains slowly again".into(),
        t("2026-11-29T08:00:00Z"),
    );
    revisit.revisit_of = Some(first.id);
    let facts = JobFacts::of_jobs(&[first.clone(), revisit], Vec::new(), Vec::new());
    assert_eq!(facts[0].revisit_of, None);
    assert_eq!(facts[1].revisit_of, Some(first.id));
    // By hand: the only first visit was revisited 7 days after its completion, inside 30.
    let k = compute(&facts, &opts("2026-11-30T00:00:00Z"));
    assert_eq!(k.first_time_fix, Rate::of(0, 1));
    assert_eq!(k.repeat_visit, Rate::of(1, 1));
}

#[test]
fn a_work_order_cannot_revisit_itself() {
    let mut wo = worked_job(1);
    wo.revisit_of = Some(wo.id);
    assert!(wo.validate().unwrap_err().contains("revisit of itself"));
    wo.revisit_of = Some(WorkOrderId(Uuid::from_u128(9)));
    assert_eq!(wo.validate(), Ok(()));
}
