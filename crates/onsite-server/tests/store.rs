//! The store's sync semantics: a story run on every backend (a real SQLite file in a temp dir).

mod common;

use common::{Device, TestBackend, World, note_row, push_applied, step, world_on};
use onsite_model::wire::{OpResult, RowKind, page_checksum};
use onsite_model::{Change, EntityKind, JobType, StatusAction as A, WorkOrderStatus as S};
use onsite_server::Error;
use serde_json::json;

fn api_code(e: Error) -> (u16, String, Option<u64>) {
    let status = e.status().as_u16();
    match e {
        Error::Refused {
            code, expected_seq, ..
        } => (status, code.to_owned(), expected_seq),
        other => panic!("expected a refusal, got {other}"),
    }
}

fn count(w: &World, dev: &Device, kind: RowKind) -> usize {
    w.store
        .snapshot(&dev.principal)
        .unwrap()
        .rows
        .iter()
        .filter(|r| r.kind == kind)
        .count()
}

fn a_push_applies_exactly_once<B: TestBackend>() {
    let w = world_on::<B>();
    let job = w.job(JobType::Repair, Some(&w.alice));
    let mut dev = w.device(&w.alice);
    let (note_id, row) = note_row(job.id, "Compressor hums, fan still");
    let ops = vec![
        dev.set(job.id, "diagnosis", json!("Seized condenser fan"), None),
        dev.op(
            job.id,
            EntityKind::Note,
            &note_id,
            Change::Insert { row },
            None,
        ),
    ];
    let req = dev.request(ops);
    let first = w.store.apply_push(&dev.principal, &req).unwrap();
    assert_eq!(first.acked_device_seq, 2);
    assert!(matches!(first.outcomes[0].result, OpResult::Applied { .. }));
    let again = w.store.apply_push(&dev.principal, &req).unwrap();
    assert_eq!(
        again.outcomes, first.outcomes,
        "a seq already stored returns its stored outcome"
    );
    assert_eq!(count(&w, &dev, RowKind::Note), 1, "no duplicate row");
    assert!(w.store.list_conflicts(false).unwrap().is_empty());
    let detail = w.store.work_order_detail(job.id).unwrap();
    assert_eq!(
        detail.work_order.diagnosis.as_deref(),
        Some("Seized condenser fan")
    );
}

fn a_gap_is_refused_with_the_expected_seq_and_nothing_is_stored<B: TestBackend>() {
    let w = world_on::<B>();
    let job = w.job(JobType::Repair, Some(&w.alice));
    let mut dev = w.device(&w.alice);
    let first = dev.set(job.id, "diagnosis", json!("first"), None);
    w.store
        .apply_push(&dev.principal, &dev.request(vec![first]))
        .unwrap();
    let _lost = dev.set(job.id, "diagnosis", json!("second"), None);
    let third = dev.set(job.id, "work_done", json!("third"), None);
    let before = w.store.snapshot(&dev.principal).unwrap();
    let err = w
        .store
        .apply_push(&dev.principal, &dev.request(vec![third]))
        .unwrap_err();
    assert_eq!(api_code(err), (409, "seq_gap".into(), Some(2)));
    assert_eq!(
        w.store.snapshot(&dev.principal).unwrap().checksum,
        before.checksum,
        "nothing stored"
    );
    assert_eq!(
        w.store
            .list_devices()
            .unwrap()
            .iter()
            .find(|d| d.id == dev.id())
            .unwrap()
            .last_acked_seq,
        1
    );
}

/// Two devices edit the same field concurrently: whatever order they arrive in, the server
/// ends with the same value and one conflict row holding the loser.
fn concurrent_same_field_edits_resolve_identically_in_both_orders<B: TestBackend>() {
    let mut finals = Vec::new();
    for a_first in [true, false] {
        let w = world_on::<B>();
        let job = w.job(JobType::Repair, Some(&w.alice));
        let mut tablet = w.device(&w.alice);
        let mut laptop = w.device(&w.alice);
        let base = w.store.pull(&tablet.principal, 0, 0).unwrap().cursor;
        // Different fields merge.
        let merged = tablet.set(job.id, "work_done", json!("Replaced fan motor"), Some(base));
        w.store
            .apply_push(&tablet.principal, &tablet.request(vec![merged]))
            .unwrap();
        let a = tablet.set(job.id, "diagnosis", json!("Fan motor seized"), Some(base));
        laptop.hlc_ms = tablet.hlc_ms + 5_000; // the laptop's edit is later by HLC
        let b = laptop.set(job.id, "diagnosis", json!("Capacitor failed"), Some(base));
        let (ra, rb) = if a_first {
            let ra = w
                .store
                .apply_push(&tablet.principal, &tablet.request(vec![a]))
                .unwrap();
            (
                ra,
                w.store
                    .apply_push(&laptop.principal, &laptop.request(vec![b]))
                    .unwrap(),
            )
        } else {
            let rb = w
                .store
                .apply_push(&laptop.principal, &laptop.request(vec![b]))
                .unwrap();
            (
                w.store
                    .apply_push(&tablet.principal, &tablet.request(vec![a]))
                    .unwrap(),
                rb,
            )
        };
        let second = if a_first { &rb } else { &ra };
        assert!(
            matches!(second.outcomes[0].result, OpResult::Conflict { .. }),
            "{:?}",
            second.outcomes
        );
        let wo = w.store.get_work_order(job.id).unwrap();
        assert_eq!(
            wo.work_done.as_deref(),
            Some("Replaced fan motor"),
            "different fields merge"
        );
        let conflicts = w.store.list_conflicts(true).unwrap();
        assert_eq!(conflicts.len(), 1);
        assert_eq!(conflicts[0].field, "diagnosis");
        assert_eq!(conflicts[0].lost, json!("Fan motor seized"));
        assert_eq!(conflicts[0].kept, json!("Capacitor failed"));
        assert_eq!(conflicts[0].rule, "later HLC wins, ties by device id");
        // The conflict row syncs to the device.
        assert_eq!(count(&w, &tablet, RowKind::Conflict), 1);
        finals.push(wo.diagnosis);
    }
    assert_eq!(finals[0], finals[1]);
    assert_eq!(finals[0].as_deref(), Some("Capacitor failed"));
}

fn work_to_in_progress(w: &World, dev: &mut Device, job: onsite_model::WorkOrderId) {
    let ops = vec![
        step(dev, job, A::StartTravel, S::Assigned, S::EnRoute),
        step(dev, job, A::Arrive, S::EnRoute, S::OnSite),
        step(dev, job, A::StartWork, S::OnSite, S::InProgress),
    ];
    push_applied(w, dev, ops);
    assert_eq!(w.store.get_work_order(job).unwrap().status, S::InProgress);
}

fn answer_everything(dev: &mut Device, job: &onsite_model::WorkOrder) -> Vec<onsite_model::Op> {
    let template = onsite_model::template_for(job.job_type);
    template
        .items
        .iter()
        .map(|item| {
            let value = match &item.kind {
                onsite_model::ItemKind::Choice { options } => {
                    json!({"type": "choice", "value": options[0].key})
                }
                onsite_model::ItemKind::Text => json!({"type": "text", "value": "ok"}),
                onsite_model::ItemKind::Number { .. } => json!({"type": "number", "value": 2.0}),
                _ => json!({"type": "check", "value": true}),
            };
            let id = onsite_model::ops::checklist_answer_id(job.id, &item.key);
            dev.op(
                job.id,
                EntityKind::ChecklistAnswer,
                &id,
                Change::Set {
                    field: "value".into(),
                    old: json!(null),
                    new: value,
                },
                None,
            )
        })
        .collect()
}

fn completion_racing_an_office_cancel_keeps_both_stories_for_review<B: TestBackend>() {
    let w = world_on::<B>();
    let job = w.job(JobType::Inspection, Some(&w.alice));
    let mut dev = w.device(&w.alice);
    work_to_in_progress(&w, &mut dev, job.id);
    let answers = answer_everything(&mut dev, &job);
    w.store
        .apply_push(&dev.principal, &dev.request(answers))
        .unwrap();
    // The office cancels while the technician, offline, completes.
    w.store
        .office_transition(job.id, A::Cancel, Some("customer called to cancel".into()))
        .unwrap();
    let complete = step(&mut dev, job.id, A::Complete, S::InProgress, S::Completed);
    let res = w
        .store
        .apply_push(&dev.principal, &dev.request(vec![complete]))
        .unwrap();
    let OpResult::Conflict { conflict_id, .. } = res.outcomes[0].result.clone() else {
        panic!("expected a conflict: {:?}", res.outcomes)
    };
    let detail = w.store.work_order_detail(job.id).unwrap();
    assert_eq!(detail.work_order.status, S::Cancelled, "status unchanged");
    assert!(detail.work_order.needs_review);
    let actions: Vec<A> = detail.history.iter().map(|e| e.action).collect();
    assert!(
        actions.contains(&A::Cancel) && actions.contains(&A::Complete),
        "both stories: {actions:?}"
    );
    let c = detail
        .conflicts
        .iter()
        .find(|c| c.id == conflict_id)
        .unwrap();
    assert_eq!((c.field.as_str(), &c.kept), ("status", &json!("cancelled")));
    assert_eq!(c.lost["action"], "complete");
    // A person decides; the flag clears when nothing is left open.
    w.store
        .resolve_conflict(conflict_id, json!("cancelled"))
        .unwrap();
    assert!(!w.store.get_work_order(job.id).unwrap().needs_review);
    let err = w
        .store
        .resolve_conflict(conflict_id, json!("cancelled"))
        .unwrap_err();
    assert_eq!(api_code(err).1, "already_resolved");
}

fn completion_without_the_required_record_is_held_for_review<B: TestBackend>() {
    let w = world_on::<B>();
    let job = w.job(JobType::Repair, Some(&w.alice));
    let mut dev = w.device(&w.alice);
    work_to_in_progress(&w, &mut dev, job.id);
    let complete = step(&mut dev, job.id, A::Complete, S::InProgress, S::Completed);
    let res = w
        .store
        .apply_push(&dev.principal, &dev.request(vec![complete]))
        .unwrap();
    assert!(matches!(res.outcomes[0].result, OpResult::Conflict { .. }));
    let detail = w.store.work_order_detail(job.id).unwrap();
    assert_eq!(detail.work_order.status, S::InProgress);
    assert!(detail.work_order.needs_review);
    assert!(
        detail.conflicts[0].detail.contains("customer signature"),
        "{}",
        detail.conflicts[0].detail
    );
}

fn reassignment_removes_the_job_from_the_old_technician_and_gives_it_to_the_new<B: TestBackend>() {
    let w = world_on::<B>();
    let job = w.job(JobType::Repair, Some(&w.alice));
    let mut alice = w.device(&w.alice);
    let bob = w.device(&w.bob);
    let (note_id, row) = note_row(job.id, "Gate code 4411");
    let note = alice.op(
        job.id,
        EntityKind::Note,
        &note_id,
        Change::Insert { row },
        None,
    );
    w.store
        .apply_push(&alice.principal, &alice.request(vec![note]))
        .unwrap();
    let alice_cursor = w.store.pull(&alice.principal, 0, 0).unwrap().cursor;
    let bob_before = w.store.pull(&bob.principal, 0, 0).unwrap();
    assert!(
        bob_before.changes.iter().all(|c| c.kind == RowKind::User),
        "bob sees only himself"
    );

    w.store.assign_work_order(job.id, Some(w.bob.id)).unwrap();

    let gone = w.store.pull(&alice.principal, alice_cursor, 0).unwrap();
    let removed: Vec<(RowKind, &str)> = gone
        .changes
        .iter()
        .filter(|c| c.row.is_none())
        .map(|c| (c.kind, c.id.as_str()))
        .collect();
    for expected in [
        (RowKind::WorkOrder, job.id.to_string()),
        (RowKind::Note, note_id.clone()),
        (RowKind::Customer, w.customer.id.to_string()),
        (RowKind::Asset, w.asset.id.to_string()),
    ] {
        assert!(
            removed.contains(&(expected.0, expected.1.as_str())),
            "{expected:?} not removed: {removed:?}"
        );
    }
    assert!(
        gone.changes.iter().all(|c| c.row.is_none()),
        "alice gets nothing but removals"
    );
    assert!(
        w.store
            .snapshot(&alice.principal)
            .unwrap()
            .rows
            .iter()
            .all(|r| r.kind == RowKind::User)
    );

    let got = w.store.pull(&bob.principal, bob_before.cursor, 0).unwrap();
    let kinds: Vec<RowKind> = got
        .changes
        .iter()
        .filter(|c| c.row.is_some())
        .map(|c| c.kind)
        .collect();
    for k in [
        RowKind::Customer,
        RowKind::Asset,
        RowKind::WorkOrder,
        RowKind::Note,
        RowKind::StatusEvent,
    ] {
        assert!(kinds.contains(&k), "bob lacks {k:?}: {kinds:?}");
    }
    let pos = |k| kinds.iter().position(|x| *x == k).unwrap();
    assert!(
        pos(RowKind::Customer) < pos(RowKind::WorkOrder)
            && pos(RowKind::WorkOrder) < pos(RowKind::Note)
    );

    // Alice's pending work on the job is still accepted: the note as is, the step for review.
    let (late_id, late_row) = note_row(job.id, "Left the spare filter by the unit");
    let late_note = alice.op(
        job.id,
        EntityKind::Note,
        &late_id,
        Change::Insert { row: late_row },
        None,
    );
    let late_step = step(&mut alice, job.id, A::StartTravel, S::Assigned, S::EnRoute);
    let res = w
        .store
        .apply_push(&alice.principal, &alice.request(vec![late_note, late_step]))
        .unwrap();
    assert!(matches!(res.outcomes[0].result, OpResult::Applied { .. }));
    assert!(
        matches!(res.outcomes[1].result, OpResult::Conflict { .. }),
        "{:?}",
        res.outcomes
    );
    let detail = w.store.work_order_detail(job.id).unwrap();
    assert_eq!(detail.notes.len(), 2);
    assert!(
        detail.conflicts[0].detail.contains("reassigned"),
        "{}",
        detail.conflicts[0].detail
    );

    // A job that was never hers stays closed to her.
    let other = w.job(JobType::Repair, Some(&w.bob));
    let op = alice.set(other.id, "diagnosis", json!("x"), None);
    assert_eq!(
        api_code(
            w.store
                .apply_push(&alice.principal, &alice.request(vec![op]))
                .unwrap_err()
        )
        .1,
        "forbidden_job"
    );
}

fn pull_pages_carry_checksums_and_the_acknowledged_seq<B: TestBackend>() {
    let w = world_on::<B>();
    let job = w.job(JobType::Repair, Some(&w.alice));
    let mut dev = w.device(&w.alice);
    let ops: Vec<_> = (0..5)
        .map(|i| {
            let (id, row) = note_row(job.id, &format!("note {i}"));
            dev.op(job.id, EntityKind::Note, &id, Change::Insert { row }, None)
        })
        .collect();
    w.store
        .apply_push(&dev.principal, &dev.request(ops))
        .unwrap();
    let full = w.store.pull(&dev.principal, 0, 0).unwrap();
    assert!(!full.has_more);
    assert_eq!(full.acked_device_seq, 5);

    let mut cursor = 0;
    let mut paged = Vec::new();
    let mut pages = 0;
    loop {
        let page = w.store.pull(&dev.principal, cursor, 3).unwrap();
        assert!(page.changes.len() <= 3);
        assert_eq!(page.checksum, page_checksum(&page.changes));
        assert!(
            page.changes
                .iter()
                .all(|c| c.server_seq > cursor && c.server_seq <= page.cursor)
        );
        if page.has_more {
            assert!(page.acked_device_seq <= 5);
        }
        paged.extend(page.changes);
        cursor = page.cursor;
        pages += 1;
        if !page.has_more {
            assert_eq!(page.acked_device_seq, 5);
            break;
        }
    }
    assert!(pages >= 3);
    assert_eq!(paged, full.changes);
    let seqs: Vec<u64> = paged.iter().map(|c| c.server_seq).collect();
    assert!(
        seqs.windows(2).all(|p| p[0] < p[1]),
        "strictly increasing: {seqs:?}"
    );
    let again = w.store.pull(&dev.principal, cursor, 0).unwrap();
    assert!(again.changes.is_empty());
    assert_eq!(again.epoch, full.epoch);
    assert!(!full.epoch.is_empty());
}

/// The server applies the model's row checks, the same the device's verbs apply.
fn a_row_the_model_refuses_is_refused_and_nothing_of_its_push_is_stored<B: TestBackend>() {
    let w = world_on::<B>();
    let job = w.job(JobType::Repair, Some(&w.alice));
    let mut dev = w.device(&w.alice);
    let before = w.store.snapshot(&dev.principal).unwrap();
    let (ok_id, ok_row) = note_row(job.id, "Filter clogged");
    let (long_id, long_row) = note_row(job.id, &"x".repeat(100_000));
    let ops = vec![
        dev.op(
            job.id,
            EntityKind::Note,
            &ok_id,
            Change::Insert { row: ok_row },
            None,
        ),
        dev.op(
            job.id,
            EntityKind::Note,
            &long_id,
            Change::Insert { row: long_row },
            None,
        ),
    ];
    let err = w
        .store
        .apply_push(&dev.principal, &dev.request(ops))
        .unwrap_err();
    let (status, code, _) = api_code(err);
    assert_eq!((status, code.as_str()), (422, "invalid_row"));
    assert_eq!(
        w.store.snapshot(&dev.principal).unwrap().checksum,
        before.checksum,
        "the valid note of the same push is not stored either"
    );
}

for_each_backend!(
    a_row_the_model_refuses_is_refused_and_nothing_of_its_push_is_stored,
    a_push_applies_exactly_once,
    a_gap_is_refused_with_the_expected_seq_and_nothing_is_stored,
    concurrent_same_field_edits_resolve_identically_in_both_orders,
    completion_racing_an_office_cancel_keeps_both_stories_for_review,
    completion_without_the_required_record_is_held_for_review,
    reassignment_removes_the_job_from_the_old_technician_and_gives_it_to_the_new,
    pull_pages_carry_checksums_and_the_acknowledged_seq,
);
