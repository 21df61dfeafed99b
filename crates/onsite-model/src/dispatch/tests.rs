//! Suggestions, distances, SLA risk and the board, against figures worked out by hand.

use chrono::Duration;

use super::board::{BoardRow, build};
use super::*;
use crate::clock::SeqIds;
use crate::entities::{User, WorkOrder};
use crate::ids::{CustomerId, UserId, WorkOrderId};
use crate::kinds::{JobType, Priority};
use crate::roles::Role;
use crate::status::{StatusAction, WorkOrderStatus};
use crate::time::{Timestamp, parse_ts};

fn t(s: &str) -> Timestamp {
    parse_ts(s).unwrap()
}

fn tech(ids: &SeqIds, username: &str, skills: &[&str]) -> User {
    User {
        id: UserId::new(ids),
        username: username.into(),
        name: username.to_uppercase(),
        role: Role::Technician,
        skills: skills.iter().map(|s| s.to_string()).collect(),
        phone: None,
    }
}

fn booked(ids: &SeqIds, who: &User, number: &str, start: &str, at: Option<GeoPoint>) -> BookedJob {
    let start = t(start);
    BookedJob {
        id: WorkOrderId::new(ids),
        number: number.into(),
        assignee: who.id,
        start,
        end: Some(start + Duration::hours(2)),
        at,
    }
}

fn boiler_repair(ids: &SeqIds, when: &str, at: Option<GeoPoint>) -> JobToPlace {
    JobToPlace {
        id: WorkOrderId::new(ids),
        number: "WO-2026-000100".into(),
        job_type: JobType::Repair,
        product: Some("Vaillant ecoTEC plus 832 Boiler".into()),
        at,
        when: t(when),
        assignee: None,
    }
}

const fn p(lat: f64, lon: f64) -> GeoPoint {
    GeoPoint { lat, lon }
}

#[test]
fn great_circle_distances_by_hand() {
    // Along a meridian one degree is R·π/180 = 6371.0088 × 0.0174533 = 111.195 km.
    let km = p(0.0, 0.0).km_to(p(1.0, 0.0));
    assert!((km - 111.195).abs() < 0.001, "{km}");
    // Paris (48.8566, 2.3522) to London (51.5074, -0.1278): Δφ = 0.0462652 rad,
    // Δλ = -0.0432842 rad, h = sin²(Δφ/2) + cos φ1 cos φ2 sin²(Δλ/2) = 0.00072680,
    // d = 2R·asin(√h) = 343.56 km.
    let km = p(48.8566, 2.3522).km_to(p(51.5074, -0.1278));
    assert!((km - 343.56).abs() < 0.01, "{km}");
    // Symmetric, and zero on the spot.
    let back = p(51.5074, -0.1278).km_to(p(48.8566, 2.3522));
    assert!((km - back).abs() < 1e-9);
    assert_eq!(p(31.23, 121.47).km_to(p(31.23, 121.47)), 0.0);
}

#[test]
fn skills_meet_the_job_type_and_the_product_as_whole_words() {
    let model = Some("Vaillant ecoTEC plus 832 Boiler");
    let s = |tags: &[&str]| tags.iter().map(|t| t.to_string()).collect::<Vec<_>>();
    let fit = skill_fit(&s(&["Repair", "BOILER", "daikin"]), JobType::Repair, model);
    assert_eq!(
        fit,
        SkillFit {
            job_type: true,
            product: true,
            matched: vec!["repair".into(), "boiler".into()],
        }
    );
    // Punctuation separates words; a tag is matched as whole words, in order.
    let heater = Some("Rinnai RL94 tankless water heater");
    let fit = skill_fit(
        &s(&["Water_Heater", "heat", "tankless-water"]),
        JobType::Install,
        heater,
    );
    assert_eq!(fit.matched, vec!["water heater", "tankless water"]);
    assert!(!fit.job_type && fit.product);
    // Chinese tags: the job type by its Chinese name, the product as a piece of the text.
    let fit = skill_fit(&s(&["维修", "锅炉"]), JobType::Repair, Some("威能壁挂锅炉"));
    assert_eq!(fit.matched, vec!["维修", "锅炉"]);
    assert!(fit.job_type && fit.product);
    // No asset: only the job type can match.
    let fit = skill_fit(&s(&["boiler", "inspection"]), JobType::Inspection, None);
    assert_eq!((fit.job_type, fit.product), (true, false));
    assert_eq!(fit.matched, vec!["inspection"]);
}

#[test]
fn a_boiler_repair_goes_to_the_boiler_technician_first_with_the_reasons() {
    let ids = SeqIds::new(1);
    let ana = tech(&ids, "ana", &["repair", "boiler"]);
    let ben = tech(&ids, "ben", &["repair"]);
    let cai = tech(&ids, "cai", &["install", "air conditioner"]);
    let mut office = tech(&ids, "dee", &["boiler", "repair"]);
    office.role = Role::Dispatcher;
    let job = boiler_repair(&ids, "2026-11-22T10:00:00Z", Some(p(31.0, 121.0)));
    let users = [cai.clone(), office, ben.clone(), ana.clone()];
    let ranked = suggest(&job, &users, &[], 0);
    let names: Vec<&str> = ranked.iter().map(|s| s.username.as_str()).collect();
    // Dispatchers are not suggested. By hand: nobody has a job before 10:00, so each is
    // scored at the neutral 10 km, 30 × (1 − 10/30) = 20 points; ana 30 + 40 + 20 = 90,
    // ben 30 + 20 = 50, cai 0 + 20 = 20.
    assert_eq!(names, ["ana", "ben", "cai"]);
    let scores: Vec<f64> = ranked.iter().map(|s| s.score).collect();
    assert_eq!(scores, [90.0, 50.0, 20.0]);
    assert_eq!(
        ranked[0].reasons,
        vec![
            Reason::SkillMatch {
                matched: vec!["repair".into(), "boiler".into()],
                job_type: true,
                product: true,
            },
            Reason::FirstJobOfDay { assumed_km: 10.0 },
            Reason::Load {
                jobs: 0,
                minutes: 0
            },
        ]
    );
    assert_eq!(
        ranked[2].reasons[0],
        Reason::SkillMatch {
            matched: vec![],
            job_type: false,
            product: false,
        }
    );
    assert_eq!(ranked[0].technician_id, ana.id);
    assert!(ranked.iter().all(|s| !s.current_assignee));
}

#[test]
fn distance_is_measured_from_the_previous_job_that_day() {
    let ids = SeqIds::new(2);
    let ana = tech(&ids, "ana", &["repair"]);
    let ben = tech(&ids, "ben", &["repair"]);
    let job = boiler_repair(&ids, "2026-11-22T11:00:00Z", Some(p(31.0, 121.0)));
    let calendar = [
        // Ana: 08:00 across town, then 09:00 0.05° of latitude north of the job
        // (0.05 × 111.195 = 5.56 km): the 09:00 one is her previous job.
        booked(
            &ids,
            &ana,
            "WO-1",
            "2026-11-22T08:00:00Z",
            Some(p(31.3, 121.0)),
        ),
        booked(
            &ids,
            &ana,
            "WO-2",
            "2026-11-22T09:00:00Z",
            Some(p(31.05, 121.0)),
        ),
        // Ben: yesterday next door (another day), and 13:00 today (after the job).
        booked(
            &ids,
            &ben,
            "WO-3",
            "2026-11-21T15:00:00Z",
            Some(p(31.0, 121.0)),
        ),
        booked(
            &ids,
            &ben,
            "WO-4",
            "2026-11-22T13:00:00Z",
            Some(p(31.0, 121.0)),
        ),
    ];
    let ranked = suggest(&job, &[ben.clone(), ana.clone()], &calendar, 0);
    let ana_s = ranked.iter().find(|s| s.username == "ana").unwrap();
    assert_eq!(
        ana_s.reasons[1],
        Reason::Distance {
            km: 5.6,
            from_job: "WO-2".into(),
            from_job_id: calendar[1].id,
        }
    );
    // 30 × (1 − 5.56/30) = 24.44 points, less 2 jobs × 8.
    assert_eq!(ana_s.points.distance, 24.4);
    assert_eq!(ana_s.points.load, -16.0);
    assert_eq!(
        ana_s.reasons[2],
        Reason::Load {
            jobs: 2,
            minutes: 240
        }
    );
    let ben_s = ranked.iter().find(|s| s.username == "ben").unwrap();
    assert_eq!(ben_s.reasons[1], Reason::FirstJobOfDay { assumed_km: 10.0 });
    assert_eq!(
        ben_s.reasons[2],
        Reason::Load {
            jobs: 1,
            minutes: 120
        }
    );
    // Ana 30 + 24.4 − 16 = 38.4; Ben 30 + 20 − 8 = 42.
    assert_eq!((ana_s.score, ben_s.score), (38.4, 42.0));
    assert_eq!(ranked[0].username, "ben");
}

#[test]
fn load_breaks_ties_then_minutes_booked() {
    let ids = SeqIds::new(3);
    let busy = tech(&ids, "ana", &["repair", "boiler"]);
    let free = tech(&ids, "zoe", &["repair", "boiler"]);
    let job = boiler_repair(&ids, "2026-11-22T08:00:00Z", Some(p(31.0, 121.0)));
    let calendar = [
        booked(&ids, &busy, "WO-1", "2026-11-22T12:00:00Z", None),
        booked(&ids, &busy, "WO-2", "2026-11-22T14:00:00Z", None),
    ];
    let ranked = suggest(&job, &[busy.clone(), free.clone()], &calendar, 0);
    assert_eq!(
        ranked[0].username, "zoe",
        "same skills and distance: fewer jobs first"
    );
    assert_eq!((ranked[0].score, ranked[1].score), (90.0, 74.0));

    // The same number of jobs: the shorter booked time first, whatever the name.
    let mut short = booked(&ids, &free, "WO-3", "2026-11-22T12:00:00Z", None);
    short.end = Some(short.start + Duration::minutes(30));
    let calendar = [calendar[0].clone(), short];
    let ranked = suggest(&job, &[busy, free], &calendar, 0);
    assert_eq!(ranked[0].score, ranked[1].score);
    assert_eq!(ranked[0].username, "zoe");
    assert_eq!(
        ranked[0].reasons[2],
        Reason::Load {
            jobs: 1,
            minutes: 30
        }
    );
}

#[test]
fn missing_coordinates_and_the_local_day() {
    let ids = SeqIds::new(4);
    let ana = tech(&ids, "ana", &[]);
    // 01:00 UTC is 09:00 in China (UTC+8); 23:30 UTC the evening before is 07:30 that day.
    let mut job = boiler_repair(&ids, "2026-11-22T01:00:00Z", None);
    job.assignee = Some(ana.id);
    let early = booked(
        &ids,
        &ana,
        "WO-7",
        "2026-11-21T23:30:00Z",
        Some(p(31.0, 121.0)),
    );
    let itself = BookedJob {
        id: job.id,
        ..booked(&ids, &ana, &job.number, "2026-11-22T01:00:00Z", None)
    };
    let calendar = [early, itself];
    let china = suggest(&job, std::slice::from_ref(&ana), &calendar, 480);
    assert!(china[0].current_assignee);
    assert_eq!(
        china[0].reasons[1],
        Reason::NoCoordinates {
            from_job: "WO-7".into(),
            missing: vec!["WO-2026-000100".into()],
            assumed_km: 10.0,
        }
    );
    // The job itself is not part of its own load.
    assert_eq!(
        china[0].reasons[2],
        Reason::Load {
            jobs: 1,
            minutes: 120
        }
    );
    // In UTC the 23:30 job was the day before: nothing earlier that day.
    let utc = suggest(&job, &[ana], &calendar, 0);
    assert_eq!(
        utc[0].reasons[1],
        Reason::FirstJobOfDay { assumed_km: 10.0 }
    );
    assert_eq!(
        local_day(t("2026-11-22T01:00:00Z"), 480),
        (t("2026-11-21T16:00:00Z"), t("2026-11-22T16:00:00Z"))
    );
}

fn work_order(ids: &SeqIds, number: &str, priority: Priority) -> WorkOrder {
    WorkOrder::new_request(
        WorkOrderId::new(ids),
        number.into(),
        CustomerId::new(ids),
        JobType::Repair,
        priority,
        "No heat".into(),
        t("2026-11-22T08:00:00Z"),
    )
}

#[test]
fn sla_risk_within_the_margins_or_past_the_deadline() {
    let ids = SeqIds::new(5);
    let m = RiskMargins::default();
    let mut wo = work_order(&ids, "WO-1", Priority::High);
    wo.respond_by = Some(t("2026-11-22T12:00:00Z"));
    wo.resolve_by = Some(t("2026-11-23T08:00:00Z"));
    // 40 minutes before respond-by: not yet; 20 minutes before: at risk.
    assert!(sla_risks(&wo, t("2026-11-22T11:20:00Z"), m).is_empty());
    assert_eq!(
        sla_risks(&wo, t("2026-11-22T11:40:00Z"), m),
        vec![SlaRisk {
            deadline: SlaDeadline::Respond,
            due: t("2026-11-22T12:00:00Z"),
            left_ms: 20 * 60_000,
            breached: false,
        }]
    );
    // Passed by 15 minutes: breached, negative time left.
    let late = sla_risks(&wo, t("2026-11-22T12:15:00Z"), m);
    assert_eq!((late[0].left_ms, late[0].breached), (-15 * 60_000, true));
    // Arrival stops the response clock; 90 minutes before resolve-by the resolution is at
    // risk.
    wo.assignee_id = Some(UserId::new(&ids));
    wo.status = WorkOrderStatus::Assigned;
    wo.apply_transition(StatusAction::StartTravel, t("2026-11-22T11:00:00Z"))
        .unwrap();
    wo.apply_transition(StatusAction::Arrive, t("2026-11-22T11:30:00Z"))
        .unwrap();
    let risks = sla_risks(&wo, t("2026-11-23T06:30:00Z"), m);
    assert_eq!(risks.len(), 1);
    assert_eq!(
        (risks[0].deadline, risks[0].left_ms),
        (SlaDeadline::Resolve, 90 * 60_000)
    );
    assert!(sla_risks(&wo, t("2026-11-23T05:30:00Z"), m).is_empty());
    // Both at once: the more pressing first.
    let mut both = work_order(&ids, "WO-2", Priority::Urgent);
    both.respond_by = Some(t("2026-11-22T09:00:00Z"));
    both.resolve_by = Some(t("2026-11-22T10:00:00Z"));
    let r = sla_risks(&both, t("2026-11-22T09:10:00Z"), m);
    assert_eq!(
        r.iter().map(|r| r.deadline).collect::<Vec<_>>(),
        [SlaDeadline::Respond, SlaDeadline::Resolve]
    );
    // Closed jobs are never at risk; jobs without deadlines neither.
    both.apply_transition(StatusAction::Cancel, t("2026-11-22T09:05:00Z"))
        .unwrap();
    assert!(sla_risks(&both, t("2026-11-22T23:00:00Z"), m).is_empty());
    let none = work_order(&ids, "WO-3", Priority::Low);
    assert!(sla_risks(&none, t("2027-01-01T00:00:00Z"), m).is_empty());
}

#[test]
fn the_board_window_defaults_to_seven_local_days_and_is_bounded() {
    let now = t("2026-11-22T20:30:00Z");
    let w = BoardWindow::resolve(now, None, None, 0).unwrap();
    assert_eq!(
        (w.from, w.to),
        (t("2026-11-22T00:00:00Z"), t("2026-11-29T00:00:00Z"))
    );
    // 20:30 UTC is already the 23rd in China.
    let w = BoardWindow::resolve(now, None, None, 480).unwrap();
    assert_eq!(w.from, t("2026-11-22T16:00:00Z"));
    let from = t("2026-12-01T00:00:00Z");
    let w = BoardWindow::resolve(now, Some(from), None, 0).unwrap();
    assert_eq!(w.to, t("2026-12-08T00:00:00Z"));
    let w = BoardWindow::resolve(now, Some(from), Some(from + Duration::days(31)), 0).unwrap();
    assert_eq!(w.to - w.from, Duration::days(31));

    let e = BoardWindow::resolve(now, Some(from), Some(from), 0).unwrap_err();
    assert!(
        e.starts_with("to (2026-12-01T00:00:00.000Z) is not after from"),
        "{e}"
    );
    let e = BoardWindow::resolve(now, Some(from), Some(from + Duration::days(32)), 0).unwrap_err();
    assert!(e.contains("longer than 31 days"), "{e}");
    let e = BoardWindow::resolve(now, None, None, 900).unwrap_err();
    assert!(e.contains("utc_offset_minutes 900 is out of range"), "{e}");
}

#[test]
fn the_board_has_a_lane_per_technician_and_the_queue_most_pressing_first() {
    let ids = SeqIds::new(6);
    let ana = tech(&ids, "ana", &["repair"]);
    let ben = tech(&ids, "ben", &[]);
    let mut dee = tech(&ids, "dee", &[]);
    dee.role = Role::Admin;
    let window = BoardWindow::resolve(t("2026-11-22T07:00:00Z"), None, None, 0).unwrap();
    let now = t("2026-11-22T10:00:00Z");
    let row = |wo: WorkOrder| BoardRow {
        work_order: wo,
        customer_name: Some("Harbour View Dental".into()),
        customer_address: None,
    };
    let slot = |number: &str, who: &User, start: &str| {
        let mut wo = work_order(&ids, number, Priority::Normal);
        wo.assignee_id = Some(who.id);
        wo.status = WorkOrderStatus::Assigned;
        wo.appointment_start = Some(t(start));
        wo
    };
    let afternoon = slot("WO-A2", &ana, "2026-11-22T14:00:00Z");
    let morning = slot("WO-A1", &ana, "2026-11-22T09:00:00Z");
    let mut overdue = slot("WO-A0", &ana, "2026-11-20T09:00:00Z");
    overdue.respond_by = Some(t("2026-11-21T09:00:00Z"));
    let mut cancelled = slot("WO-A3", &ana, "2026-11-23T09:00:00Z");
    cancelled
        .apply_transition(StatusAction::Cancel, t("2026-11-22T08:00:00Z"))
        .unwrap();
    let later = slot("WO-A4", &ana, "2026-12-10T09:00:00Z");
    let mut relaxed = work_order(&ids, "WO-Q1", Priority::Low);
    relaxed.respond_by = Some(t("2026-11-24T08:00:00Z"));
    let mut pressing = work_order(&ids, "WO-Q2", Priority::Urgent);
    pressing.respond_by = Some(t("2026-11-22T10:20:00Z"));
    let undated = work_order(&ids, "WO-Q3", Priority::High);
    let rows = vec![
        row(afternoon.clone()),
        row(relaxed),
        row(morning.clone()),
        row(overdue),
        row(cancelled),
        row(later),
        row(undated),
        row(pressing.clone()),
        row(morning),
    ];
    let board = build(window, now, RiskMargins::default(), &[ben, dee, ana], rows);
    let lanes: Vec<&str> = board
        .technicians
        .iter()
        .map(|l| l.username.as_str())
        .collect();
    assert_eq!(
        lanes,
        ["ana", "ben"],
        "every technician, even with nothing booked"
    );
    let numbers = |jobs: &[BoardJob]| {
        jobs.iter()
            .map(|j| j.work_order.number.clone())
            .collect::<Vec<_>>()
    };
    let ana_lane = &board.technicians[0];
    assert_eq!(numbers(&ana_lane.jobs), ["WO-A1", "WO-A2"]);
    assert_eq!(numbers(&ana_lane.backlog), ["WO-A0"]);
    assert!(ana_lane.backlog[0].sla_risks[0].breached);
    assert!(board.technicians[1].jobs.is_empty());
    assert_eq!(numbers(&board.unassigned), ["WO-Q2", "WO-Q1", "WO-Q3"]);
    assert_eq!(board.unassigned_total, 3);
    assert_eq!(board.unassigned[0].sla_risks[0].left_ms, 20 * 60_000);
    // The overdue job and the urgent one 20 minutes from its respond-by.
    assert_eq!(board.at_risk, 2);
    assert_eq!(
        board.unassigned[0].customer_name.as_deref(),
        Some("Harbour View Dental")
    );
}
