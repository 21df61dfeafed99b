//! What the server trusts a device with, tried from outside on every backend: an op is
//! authorised against the job its row really belongs to, a device's clock cannot move the
//! server's, event times never pass the server's receipt, a role records only its own
//! steps, authorship comes from the token, a hash alone never grants bytes, and the office
//! stores only what its rules allow.

mod common;

use common::{
    DEVICE_ROW_KINDS, Device, HASH_A, TestBackend, World, device_row, note_row, step, world_on,
};
use onsite_model::hlc::MAX_REMOTE_DRIFT_MS;
use onsite_model::time::{format_ts, parse_ts};
use onsite_model::wire::{OpResult, PushResponse};
use onsite_model::{
    Change, Clock, EntityKind, Hlc, JobType, Op, SlaClock, StatusAction as A, WorkOrder,
    WorkOrderId, WorkOrderStatus as S,
};
use onsite_server::Error;
use onsite_server::store::{NewCustomer, NewWorkOrder, Snapshot};
use serde_json::{Map, Value, json};

/// The refusal's HTTP status, code and message.
fn refusal(e: Error) -> (u16, String, String) {
    let status = e.status().as_u16();
    match e {
        Error::Refused { code, message, .. } => (status, code.to_owned(), message),
        other => panic!("expected a refusal, got {other}"),
    }
}

fn push(w: &World, dev: &Device, ops: Vec<Op>) -> Result<PushResponse, Error> {
    w.store.apply_push(&dev.principal, &dev.request(ops))
}

/// Everything a device's user may see, to compare before and after a refused push.
fn seen(w: &World, dev: &Device) -> Snapshot {
    w.store.snapshot(&dev.principal).unwrap()
}

fn insert(dev: &mut Device, job: WorkOrderId, kind: EntityKind, id: &str, row: Value) -> Op {
    dev.op(job, kind, id, Change::Insert { row }, None)
}

fn an_op_is_authorised_against_the_job_its_row_belongs_to<B: TestBackend>() {
    let w = world_on::<B>();
    let hers = w.job(JobType::Repair, Some(&w.alice));
    let his = w.job(JobType::Repair, Some(&w.bob));
    let mut alice = w.device(&w.alice);
    let mut bob = w.device(&w.bob);
    let mut bobs_rows = Vec::new();
    for kind in DEVICE_ROW_KINDS {
        let (id, row) = device_row(kind, his.id, HASH_A);
        let op = insert(&mut bob, his.id, kind, &id, row.clone());
        let seq = match push(&w, &bob, vec![op]).unwrap().outcomes[0].result {
            OpResult::Applied { server_seq } => server_seq,
            ref other => panic!("{other:?}"),
        };
        bobs_rows.push((kind, id, row, seq));
    }
    let bobs_before = seen(&w, &bob);
    let hers_before = seen(&w, &alice);
    for (kind, id, row, seq) in &bobs_rows {
        let tries = [
            Change::Delete { old: row.clone() },
            Change::Insert {
                row: json!({"id": id, "work_order_id": hers.id}),
            },
        ];
        for change in tries {
            for base in [Some(*seq), None] {
                let op = alice.op(hers.id, *kind, id, change.clone(), base);
                let (status, code, message) = refusal(push(&w, &alice, vec![op]).unwrap_err());
                assert_eq!(
                    (status, code.as_str()),
                    (403, "wrong_job"),
                    "{kind} {message}"
                );
                assert_eq!(
                    message,
                    format!(
                        "op #{}: {kind} {id} belongs to another work order, not {}; an op may change only rows of the job it names",
                        alice.seq, hers.number
                    )
                );
                alice.seq -= 1;
            }
        }
    }
    assert_eq!(seen(&w, &bob), bobs_before, "bob's job is untouched");
    assert_eq!(
        seen(&w, &alice),
        hers_before,
        "nothing entered alice's view"
    );
    assert!(w.store.list_conflicts(false).unwrap().is_empty());

    // A row inserted earlier in the same push is checked against its job too.
    let second = w.job(JobType::Repair, Some(&w.alice));
    let (id, row) = note_row(hers.id, "Filter clogged");
    let ops = vec![
        insert(&mut alice, hers.id, EntityKind::Note, &id, row.clone()),
        alice.op(
            second.id,
            EntityKind::Note,
            &id,
            Change::Delete { old: row },
            None,
        ),
    ];
    let mid = seen(&w, &alice);
    let (status, code, _) = refusal(push(&w, &alice, ops).unwrap_err());
    assert_eq!((status, code.as_str()), (403, "wrong_job"));
    assert_eq!(seen(&w, &alice), mid);
    assert!(
        w.store.work_order_detail(hers.id).unwrap().notes.is_empty(),
        "the insert before the refused delete was not stored either"
    );
}

fn one_device_cannot_move_the_servers_clock<B: TestBackend>() {
    let w = world_on::<B>();
    let job = w.job(JobType::Repair, Some(&w.alice));
    let mut forger = w.device(&w.alice);
    let mut honest = w.device(&w.alice);
    let now_ms = w.clock.now_ms();
    let mut op = forger.set(job.id, "diagnosis", json!("forged"), None);
    op.hlc = Hlc::from_u64(u64::MAX);
    let res = push(&w, &forger, vec![op]).unwrap();
    assert!(matches!(res.outcomes[0].result, OpResult::Applied { .. }));
    let bound = (now_ms + MAX_REMOTE_DRIFT_MS) as u64;
    assert!(
        res.server_hlc.ms() <= bound + 1,
        "server HLC {} went past its bound {bound}",
        res.server_hlc
    );
    // The office's next write is stamped near real time, not at the forged value.
    let mut patch = Map::new();
    patch.insert("priority".into(), json!("urgent"));
    w.store.update_work_order(job.id, &patch).unwrap();
    let next = push(&w, &honest, vec![]).unwrap();
    assert!(next.server_hlc.ms() <= bound + 1, "{}", next.server_hlc);
    // Once real time passes the bound, a later honest write wins the same field again.
    w.clock.advance_ms(2 * MAX_REMOTE_DRIFT_MS);
    honest.hlc_ms = (now_ms + 2 * MAX_REMOTE_DRIFT_MS) as u64 - 1000;
    let op = honest.set(job.id, "diagnosis", json!("seized fan"), None);
    let res = push(&w, &honest, vec![op]).unwrap();
    assert!(matches!(res.outcomes[0].result, OpResult::Conflict { .. }));
    let detail = w.store.work_order_detail(job.id).unwrap();
    assert_eq!(detail.work_order.diagnosis.as_deref(), Some("seized fan"));
    assert_eq!(detail.conflicts[0].lost, json!("forged"));
}

fn event_times_never_pass_the_servers_receipt<B: TestBackend>() {
    let w = world_on::<B>();
    let job = w.job(JobType::Repair, Some(&w.alice));
    let mut tablet = w.device(&w.alice);
    // Reported at 08:00 (respond by 12:00); the technician arrives at 10:00 on a tablet
    // that runs 3 h fast and had not measured it: its arrival reads 13:00, "missed".
    let received = parse_ts("2026-11-22T10:00:00Z").unwrap();
    w.clock.set(received);
    let mut arrive = step(&mut tablet, job.id, A::Arrive, S::Assigned, S::OnSite);
    if let Change::Transition { at, .. } = &mut arrive.change {
        *at = parse_ts("2026-11-22T13:00:00.004Z").unwrap();
    }
    let (id, note) = note_row(job.id, "On site");
    let mut note = note;
    note["created_at"] = json!("2026-11-22T13:00:00.000Z");
    let note_op = insert(&mut tablet, job.id, EntityKind::Note, &id, note);
    push(&w, &tablet, vec![arrive, note_op]).unwrap();
    let detail = w.store.work_order_detail(job.id).unwrap();
    assert_eq!(detail.work_order.arrived_at, Some(received));
    let event = detail
        .history
        .iter()
        .find(|e| e.action == A::Arrive)
        .unwrap();
    assert_eq!(event.at, received);
    assert_eq!(event.clock_correction_ms, Some(-10_800_004));
    assert!(
        matches!(detail.sla.respond, SlaClock::Met { .. }),
        "{:?}",
        detail.sla
    );
    assert_eq!(detail.notes[0].created_at, received);

    // A device that corrected its clock says by how much; the server keeps that.
    let job = w.job(JobType::Repair, Some(&w.alice));
    let mut travel = step(&mut tablet, job.id, A::StartTravel, S::Assigned, S::EnRoute);
    if let Change::Transition {
        at,
        clock_correction_ms,
        ..
    } = &mut travel.change
    {
        *at = parse_ts("2026-11-22T09:55:00Z").unwrap();
        *clock_correction_ms = Some(-10_800_004);
    }
    push(&w, &tablet, vec![travel]).unwrap();
    let history = w.store.work_order_detail(job.id).unwrap().history;
    let event = history.iter().find(|e| e.action == A::StartTravel).unwrap();
    assert_eq!(format_ts(&event.at), "2026-11-22T09:55:00.000Z");
    assert_eq!(event.clock_correction_ms, Some(-10_800_004));
    let office = history.iter().find(|e| e.action == A::Assign).unwrap();
    assert_eq!(office.clock_correction_ms, None);
}

fn a_role_records_only_its_own_steps<B: TestBackend>() {
    let w = world_on::<B>();
    let job = w.job(JobType::Repair, Some(&w.alice));
    let mut dana = w.device(&w.dana);
    let before = w.store.work_order_detail(job.id).unwrap();
    for (action, from, to) in [
        (A::StartTravel, S::Assigned, S::EnRoute),
        (A::Arrive, S::Assigned, S::OnSite),
    ] {
        let op = step(&mut dana, job.id, action, from, to);
        let (status, code, message) = refusal(push(&w, &dana, vec![op]).unwrap_err());
        assert_eq!((status, code.as_str()), (403, "step_not_allowed"));
        assert_eq!(
            message,
            format!(
                "op #{}: {action} is recorded by the technician doing the visit; a dispatcher's device cannot record it",
                dana.seq
            )
        );
        dana.seq -= 1;
    }
    let after = w.store.work_order_detail(job.id).unwrap();
    assert_eq!(after, before, "no event, no flag, no conflict");
    assert!(!after.work_order.needs_review);
}

fn the_server_sets_who_wrote_a_note<B: TestBackend>() {
    let w = world_on::<B>();
    let job = w.job(JobType::Repair, Some(&w.alice));
    let mut alice = w.device(&w.alice);
    let (forged_id, mut forged) = note_row(job.id, "Bob did it");
    forged["author_id"] = json!(w.bob.id);
    let (plain_id, plain) = note_row(job.id, "Checked the filter");
    let ops = vec![
        insert(&mut alice, job.id, EntityKind::Note, &forged_id, forged),
        insert(&mut alice, job.id, EntityKind::Note, &plain_id, plain),
    ];
    push(&w, &alice, ops).unwrap();
    let notes = w.store.work_order_detail(job.id).unwrap().notes;
    assert_eq!(notes.len(), 2);
    assert!(
        notes.iter().all(|n| n.author_id == Some(w.alice.id)),
        "{notes:?}"
    );
}

fn a_hash_alone_never_grants_another_jobs_bytes<B: TestBackend>() {
    let w = world_on::<B>();
    let hers = w.job(JobType::Repair, Some(&w.alice));
    let his = w.job(JobType::Repair, Some(&w.bob));
    let mut alice = w.device(&w.alice);
    let mut bob = w.device(&w.bob);
    let bobs = "1".repeat(64);
    w.store.record_blob_upload(&bobs, 10, bob.id()).unwrap();
    let (id, row) = device_row(EntityKind::Photo, his.id, &bobs);
    let op = insert(&mut bob, his.id, EntityKind::Photo, &id, row);
    push(&w, &bob, vec![op]).unwrap();

    // Naming bob's held bytes on her own job is refused, for photos and signatures alike.
    let before = seen(&w, &alice);
    for kind in [EntityKind::Photo, EntityKind::Signature] {
        let (id, row) = device_row(kind, hers.id, &bobs);
        let op = insert(&mut alice, hers.id, kind, &id, row);
        let (status, code, message) = refusal(push(&w, &alice, vec![op]).unwrap_err());
        assert_eq!((status, code.as_str()), (403, "foreign_blob"));
        assert_eq!(
            message,
            format!(
                "op #{}: the {kind} names blob {bobs}, whose bytes this device did not upload and which belong to no photo or signature of {}; attach the picture on this device",
                alice.seq, hers.number
            )
        );
        alice.seq -= 1;
    }
    assert_eq!(seen(&w, &alice), before);
    assert!(!w.store.may_read_blob(&alice.principal, &bobs).unwrap());

    // Naming bytes before they arrive is allowed (ops travel first), but bytes that then
    // arrive from another job's device still do not belong to hers.
    let later = "2".repeat(64);
    let (id, row) = device_row(EntityKind::Photo, hers.id, &later);
    let op = insert(&mut alice, hers.id, EntityKind::Photo, &id, row);
    push(&w, &alice, vec![op]).unwrap();
    let (id, row) = device_row(EntityKind::Photo, his.id, &later);
    let op = insert(&mut bob, his.id, EntityKind::Photo, &id, row);
    push(&w, &bob, vec![op]).unwrap();
    w.store.record_blob_upload(&later, 10, bob.id()).unwrap();
    assert!(!w.store.may_read_blob(&alice.principal, &later).unwrap());
    assert!(w.store.may_read_blob(&bob.principal, &later).unwrap());

    // Her own upload is hers to name and read, and stays readable to whoever the job
    // moves to.
    let own = "3".repeat(64);
    w.store.record_blob_upload(&own, 10, alice.id()).unwrap();
    let (id, row) = device_row(EntityKind::Photo, hers.id, &own);
    let op = insert(&mut alice, hers.id, EntityKind::Photo, &id, row);
    push(&w, &alice, vec![op]).unwrap();
    assert!(w.store.may_read_blob(&alice.principal, &own).unwrap());
    w.store.assign_work_order(hers.id, Some(w.bob.id)).unwrap();
    assert!(w.store.may_read_blob(&bob.principal, &own).unwrap());
    assert!(!w.store.may_read_blob(&alice.principal, &own).unwrap());
}

fn new_order(w: &World) -> NewWorkOrder {
    NewWorkOrder {
        customer_id: w.customer.id,
        asset_id: Some(w.asset.id),
        job_type: JobType::Repair,
        priority: onsite_model::Priority::High,
        problem: "Blows warm air".into(),
        reported_at: None,
        respond_by: None,
        resolve_by: None,
        appointment_start: None,
        appointment_end: None,
        assignee_id: None,
        revisit_of: None,
    }
}

fn patch(pairs: &[(&str, Value)]) -> Map<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

fn the_office_stores_only_what_its_rules_allow<B: TestBackend>() {
    let w = world_on::<B>();
    let job = w.job(JobType::Repair, Some(&w.alice));
    let jobs_before = w.store.list_work_orders(&Default::default()).unwrap();
    let refused = |e: Error| refusal(e);

    // Assigned to a dispatcher: refused on create, import and assign.
    let to_dana = NewWorkOrder {
        assignee_id: Some(w.dana.id),
        ..new_order(&w)
    };
    let (status, code, message) = refused(
        w.store
            .create_work_orders(&[new_order(&w), to_dana])
            .unwrap_err(),
    );
    assert_eq!((status, code.as_str()), (422, "not_a_technician"));
    assert_eq!(
        message,
        "row 2: Dana Okafor (dana) is a dispatcher; assign work orders to a technician"
    );
    let (status, code, _) = refused(
        w.store
            .assign_work_order(job.id, Some(w.dana.id))
            .unwrap_err(),
    );
    assert_eq!((status, code.as_str()), (422, "not_a_technician"));

    // Deadlines before the report.
    let early = NewWorkOrder {
        reported_at: Some(parse_ts("2026-11-22T08:00:00Z").unwrap()),
        respond_by: Some(parse_ts("2026-11-22T07:00:00Z").unwrap()),
        ..new_order(&w)
    };
    let (status, code, message) = refused(w.store.create_work_orders(&[early]).unwrap_err());
    assert_eq!((status, code.as_str()), (422, "invalid_value"));
    assert_eq!(
        message,
        "row 1: respond by (2026-11-22T07:00:00.000Z) is before the problem was reported (2026-11-22T08:00:00.000Z); a deadline follows the report"
    );
    assert_eq!(
        w.store.list_work_orders(&Default::default()).unwrap(),
        jobs_before,
        "an import is all or nothing"
    );

    // What create refuses, a patch refuses too.
    let stored: WorkOrder = w.store.get_work_order(job.id).unwrap();
    for (field, value, expected) in [
        (
            "problem",
            json!("  "),
            "the problem description is empty; enter it",
        ),
        (
            "resolve_by",
            json!("2026-11-01T00:00:00.000Z"),
            "resolve by (2026-11-01T00:00:00.000Z) is before the problem was reported (2026-11-22T08:00:00.000Z); a deadline follows the report",
        ),
    ] {
        let (status, code, message) = refused(
            w.store
                .update_work_order(job.id, &patch(&[(field, value)]))
                .unwrap_err(),
        );
        assert_eq!(
            (status, code.as_str(), message.as_str()),
            (422, "invalid_value", expected)
        );
    }
    let (status, code, message) = refused(
        w.store
            .update_customer(w.customer.id, &patch(&[("name", json!(""))]))
            .unwrap_err(),
    );
    assert_eq!(
        (status, code.as_str(), message.as_str()),
        (
            422,
            "invalid_value",
            "the customer's name is empty; enter it"
        )
    );
    let (status, _, message) = refused(
        w.store
            .update_asset(w.asset.id, &patch(&[("model", json!(" "))]))
            .unwrap_err(),
    );
    assert_eq!(
        (status, message.as_str()),
        (422, "the asset's model is empty; enter it")
    );
    for (lat, lon) in [(91.0, 0.0), (0.0, -180.5)] {
        let (status, code, message) = refused(
            w.store
                .update_customer(
                    w.customer.id,
                    &patch(&[("lat", json!(lat)), ("lon", json!(lon))]),
                )
                .unwrap_err(),
        );
        assert_eq!((status, code.as_str()), (422, "invalid_value"));
        assert!(message.contains("is not between"), "{message}");
        let (status, _, _) = refused(
            w.store
                .create_customer(&NewCustomer {
                    name: "Far Away Ltd".into(),
                    phone: None,
                    address: None,
                    lat: Some(lat),
                    lon: Some(lon),
                    notes: None,
                })
                .unwrap_err(),
        );
        assert_eq!(status, 422);
    }
    assert_eq!(w.store.list_customers().unwrap(), vec![w.customer.clone()]);
    assert_eq!(w.store.list_assets().unwrap(), vec![w.asset.clone()]);
    assert_eq!(w.store.get_work_order(job.id).unwrap(), stored);

    // Free text is bounded: a 6 MiB diagnosis pushed from a device is refused.
    let mut alice = w.device(&w.alice);
    let huge = "x".repeat(6 * 1024 * 1024);
    let op = alice.set(job.id, "diagnosis", json!(huge), None);
    let (status, code, message) = refused(push(&w, &alice, vec![op]).unwrap_err());
    assert_eq!((status, code.as_str()), (422, "invalid_value"));
    assert_eq!(
        message,
        format!(
            "op #1: the diagnosis is limited to 8000 characters (this one has {}); shorten it",
            huge.len()
        )
    );
    assert_eq!(w.store.get_work_order(job.id).unwrap(), stored);
}

for_each_backend!(
    an_op_is_authorised_against_the_job_its_row_belongs_to,
    one_device_cannot_move_the_servers_clock,
    event_times_never_pass_the_servers_receipt,
    a_role_records_only_its_own_steps,
    the_server_sets_who_wrote_a_note,
    a_hash_alone_never_grants_another_jobs_bytes,
    the_office_stores_only_what_its_rules_allow,
);
