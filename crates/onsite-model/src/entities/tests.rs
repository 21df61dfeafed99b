//! Entity rules: validation, transitions and their times.

use super::*;
use crate::clock::SeqIds;
use crate::time::parse_ts;
use proptest::prelude::*;

pub(crate) fn sample_work_order() -> WorkOrder {
    let ids = SeqIds::new(9);
    WorkOrder {
        assignee_id: Some(UserId::new(&ids)),
        status: WorkOrderStatus::Assigned,
        ..WorkOrder::new_request(
            WorkOrderId::new(&ids),
            "WO-2026-000001".into(),
            CustomerId::new(&ids),
            JobType::Repair,
            Priority::Normal,
            "No heat".into(),
            parse_ts("2026-11-22T08:00:00Z").unwrap(),
        )
    }
}

#[test]
fn unknown_enum_values_list_the_choices() {
    let err = "fix".parse::<JobType>().unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown JobType \"fix\"; expected one of: install, repair, maintenance, inspection"
    );
}

#[test]
fn feedback_ranges_are_checked() {
    let ids = SeqIds::new(2);
    let mut f = Feedback {
        id: FeedbackId::new(&ids),
        work_order_id: WorkOrderId::new(&ids),
        rating: 6,
        nps: Some(11),
        comment: None,
        created_at: parse_ts("2026-11-22T08:00:00Z").unwrap(),
    };
    assert!(f.validate().unwrap_err().contains("1 to 5"));
    f.rating = 5;
    assert!(f.validate().unwrap_err().contains("0 to 10"));
    f.nps = Some(10);
    f.validate().unwrap();
}

fn at(s: &str) -> Timestamp {
    parse_ts(s).unwrap()
}

const HASH: &str = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

#[test]
fn parts_are_checked() {
    let ids = SeqIds::new(2);
    let mut p = PartUsed {
        id: PartUsedId::new(&ids),
        work_order_id: WorkOrderId::new(&ids),
        part_no: " ".into(),
        description: "Gasket".into(),
        quantity: 1.0,
        created_at: at("2026-11-22T08:00:00Z"),
    };
    assert!(p.validate().unwrap_err().contains("part number is empty"));
    p.part_no = "X".repeat(101);
    assert!(p.validate().unwrap_err().contains("longer than 100"));
    p.part_no = "HX-3".into();
    p.quantity = 0.0;
    assert!(p.validate().unwrap_err().contains("positive number"));
    p.quantity = f64::NAN;
    assert!(p.validate().is_err());
    p.quantity = 2.5;
    p.description = "d".repeat(1001);
    assert!(p.validate().unwrap_err().contains("description"));
    p.description = "Gasket".into();
    p.validate().unwrap();
}

#[test]
fn a_time_entry_may_not_end_before_it_starts() {
    let ids = SeqIds::new(2);
    let mut t = TimeEntry {
        id: TimeEntryId::new(&ids),
        work_order_id: WorkOrderId::new(&ids),
        kind: TimeKind::Work,
        started_at: at("2026-11-22T09:00:00Z"),
        ended_at: at("2026-11-22T08:59:59Z"),
    };
    assert_eq!(
        t.validate().unwrap_err(),
        "time entry ends before it starts"
    );
    t.ended_at = t.started_at;
    t.validate().unwrap();
}

#[test]
fn notes_need_text_and_have_a_length_limit() {
    let ids = SeqIds::new(2);
    let mut n = Note {
        id: NoteId::new(&ids),
        work_order_id: WorkOrderId::new(&ids),
        body: " \n\t ".into(),
        author_id: None,
        created_at: at("2026-11-22T08:00:00Z"),
    };
    assert_eq!(n.validate().unwrap_err(), "note is empty");
    n.body = "x".repeat(100_000);
    let err = n.validate().unwrap_err();
    assert!(err.contains("limited to 8000 characters"), "{err}");
    assert!(err.contains("split it"), "{err}");
    // Characters, not bytes: 8000 Chinese characters are allowed.
    n.body = "修".repeat(NOTE_MAX_CHARS);
    n.validate().unwrap();
    n.body.push('好');
    assert!(n.validate().is_err());
}

#[test]
fn photos_are_checked() {
    let ids = SeqIds::new(2);
    let mut p = Photo {
        id: PhotoId::new(&ids),
        work_order_id: WorkOrderId::new(&ids),
        sha256: HASH.to_ascii_uppercase(),
        kind: PhotoKind::Before,
        caption: None,
        taken_at: None,
        lat: None,
        lon: None,
        width: Some(64),
        height: Some(48),
        size_bytes: 1000,
        created_at: at("2026-11-22T08:00:00Z"),
        thumb_sha256: Some("abc".into()),
    };
    assert_eq!(
        p.validate().unwrap_err(),
        format!(
            "photo sha256 {:?} is not 64 lower-case hex digits",
            HASH.to_ascii_uppercase()
        )
    );
    p.sha256 = HASH.into();
    assert!(p.validate().unwrap_err().contains("thumbnail"));
    p.thumb_sha256 = Some(HASH.into());
    p.caption = Some("c".repeat(501));
    assert!(p.validate().unwrap_err().contains("500 characters"));
    p.caption = Some("as found".into());
    p.lat = Some(91.0);
    p.lon = Some(121.0);
    assert!(p.validate().unwrap_err().contains("latitude"));
    p.lat = Some(31.2);
    p.lon = Some(f64::INFINITY);
    assert!(p.validate().unwrap_err().contains("longitude"));
    p.lon = Some(121.4);
    p.validate().unwrap();
    p.thumb_sha256 = None;
    p.validate().unwrap();
}

fn pt(x: f32, y: f32) -> StrokePoint {
    StrokePoint { x, y, t: 0 }
}

#[test]
fn signatures_are_checked() {
    let ids = SeqIds::new(2);
    let mut s = Signature {
        id: SignatureId::new(&ids),
        work_order_id: WorkOrderId::new(&ids),
        signer_name: "  ".into(),
        signed_at: at("2026-11-22T08:00:00Z"),
        strokes: vec![vec![pt(0.0, 0.0), pt(5.0, 5.0)]],
        png_sha256: Some(HASH.into()),
        report_sha256: HASH.into(),
    };
    assert_eq!(s.validate().unwrap_err(), "signature has no signer name");
    s.signer_name = "L".repeat(201);
    assert!(s.validate().unwrap_err().contains("200 characters"));
    s.signer_name = "Li Na".into();
    s.validate().unwrap();
    s.strokes = vec![vec![pt(1.0, 1.0)]];
    assert!(s.validate().unwrap_err().contains("signature is empty"));
    s.strokes = vec![vec![pt(0.0, 0.0), pt(f32::NAN, 1.0)]];
    assert!(
        s.validate()
            .unwrap_err()
            .contains("outside any signature pad")
    );
    s.strokes = vec![vec![pt(0.0, 0.0)]; SIGNATURE_MAX_STROKES + 1];
    assert!(s.validate().unwrap_err().contains("the limit is"));
    s.strokes = vec![vec![pt(0.0, 0.0)], vec![pt(5.0, 5.0)]];
    s.png_sha256 = Some("nope".into());
    assert!(s.validate().unwrap_err().contains("image sha256"));
    s.png_sha256 = None;
    s.report_sha256 = String::new();
    assert!(s.validate().unwrap_err().contains("report sha256"));
}

#[test]
fn feedback_comments_have_a_length_limit() {
    let ids = SeqIds::new(2);
    let mut f = Feedback {
        id: FeedbackId::new(&ids),
        work_order_id: WorkOrderId::new(&ids),
        rating: 4,
        nps: None,
        comment: Some("c".repeat(FEEDBACK_COMMENT_MAX_CHARS + 1)),
        created_at: at("2026-11-22T08:00:00Z"),
    };
    assert!(f.validate().unwrap_err().contains("2000 characters"));
    f.comment = Some("Quick and tidy".into());
    f.validate().unwrap();
}

#[test]
fn office_records_are_checked_the_same_everywhere() {
    let mut wo = sample_work_order();
    wo.validate().unwrap();
    wo.respond_by = Some(wo.reported_at - chrono::Duration::hours(1));
    let err = wo.validate().unwrap_err();
    assert!(
        err.starts_with("respond by (2026-11-22T07:00:00.000Z) is before"),
        "{err}"
    );
    assert_eq!(wo.validate_field("diagnosis"), Ok(()));
    wo.respond_by = None;
    wo.problem = "  ".into();
    assert_eq!(
        wo.validate().unwrap_err(),
        "the problem description is empty; enter it"
    );
    wo.problem = "No heat".into();
    wo.diagnosis = Some("d".repeat(TEXT_MAX_CHARS + 1));
    assert!(
        wo.validate_field("diagnosis")
            .unwrap_err()
            .contains("limited to 8000")
    );
    let ids = SeqIds::new(4);
    let mut c = Customer {
        id: CustomerId::new(&ids),
        name: "Harbour View".into(),
        phone: None,
        address: None,
        lat: Some(91.0),
        lon: Some(0.0),
        notes: None,
    };
    assert!(
        c.validate()
            .unwrap_err()
            .contains("latitude 91 is not between")
    );
    c.lat = Some(45.0);
    c.validate().unwrap();
    c.name = String::new();
    assert!(c.validate().is_err());
    let a = Asset {
        id: AssetId::new(&ids),
        customer_id: c.id,
        model: " ".into(),
        serial: None,
        installed_on: None,
        warranty_end: None,
    };
    assert_eq!(
        a.validate().unwrap_err(),
        "the asset's model is empty; enter it"
    );
}

#[test]
fn work_order_json_refuses_unknown_fields() {
    let mut v = serde_json::to_value(sample_work_order()).unwrap();
    v["colour"] = "red".into();
    let err = serde_json::from_value::<WorkOrder>(v).unwrap_err();
    assert!(err.to_string().contains("unknown field `colour`"), "{err}");
}

proptest! {
    /// Over random step sequences on a whole work order: a refused step changes
    /// nothing, a completed job always has its arrival and start of work recorded, in
    /// order, and the first arrival is never overwritten.
    #[test]
    fn recorded_times_stay_consistent(
        steps in proptest::collection::vec((proptest::sample::select(StatusAction::ALL.to_vec()), 0i64..3_600_000), 0..80)
    ) {
        let mut wo = sample_work_order();
        let mut t = wo.reported_at;
        let mut first_arrival = None;
        for (action, gap) in steps {
            t += chrono::Duration::milliseconds(gap);
            let before = wo.clone();
            match wo.apply_transition(action, t) {
                Ok(_) => {
                    if action == StatusAction::Assign && wo.assignee_id.is_none() {
                        // Assigning is only meaningful with a technician; the caller sets one.
                        wo.assignee_id = before.assignee_id.or(Some(UserId::new(&SeqIds::new(3))));
                    }
                }
                Err(_) => prop_assert_eq!(&wo, &before),
            }
            if first_arrival.is_none() { first_arrival = wo.arrived_at; }
            prop_assert_eq!(wo.arrived_at.is_some(), first_arrival.is_some());
            if let (Some(a), Some(f)) = (wo.arrived_at, first_arrival) { prop_assert_eq!(a, f); }
            if wo.status == WorkOrderStatus::Completed {
                let arrived = wo.arrived_at.expect("arrival recorded");
                let started = wo.started_at.expect("start recorded");
                let done = wo.completed_at.expect("completion recorded");
                prop_assert!(arrived <= started && started <= done);
            }
        }
    }
}
