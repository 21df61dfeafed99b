//! Whole-system sync: the real `onsite-server` binary on loopback, real replicas, the office
//! over HTTP. After everyone syncs, every replica equals the server's view of it.

mod support;

use onsite_model::checklist::AnswerValue;
use onsite_model::entities::PhotoKind;
use onsite_model::ids::WorkOrderId;
use onsite_model::wire::OpResult;
use serde_json::Value;
use support::{Device, Office, Server};

fn photo(dir: &std::path::Path, salt: u8) -> std::path::PathBuf {
    let path = dir.join(format!("p{salt}.jpg"));
    std::fs::write(&path, onsite_client::photo::sample_photo(48, 32, salt)).unwrap();
    path
}

/// Works a job to the point of completion: steps, every required answer, photos, signature.
fn work_to_completion(d: &mut Device, job: WorkOrderId) {
    let r = &mut d.replica;
    onsite_client::sample::work_the_checklist(r, job).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (i, kind) in [PhotoKind::Before, PhotoKind::After, PhotoKind::SerialPlate]
        .into_iter()
        .enumerate()
    {
        r.attach_photo(job, &photo(dir.path(), i as u8 + 1), kind, None)
            .unwrap();
    }
    onsite_client::sample::sign_as_customer(r, job).unwrap();
}

fn notes_on_server(office: &Office, job: WorkOrderId) -> Vec<String> {
    office.job(job)["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["body"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn offline_edits_on_several_devices_converge_everywhere() {
    let server = Server::start_with_demo();
    let office = Office::login(&server.url);
    let mut a1 = Device::new("alice-tablet", &server.url, "alice", 0);
    let mut a2 = Device::new("alice-laptop", &server.url, "alice", 0);
    let mut b1 = Device::new("bob-tablet", &server.url, "bob", -3 * 3_600_000);
    for d in [&mut a1, &mut a2, &mut b1] {
        d.sync_ok();
    }
    let alice = a1.jobs();
    let bob = b1.jobs();
    assert!(
        alice.len() >= 3 && bob.len() >= 2,
        "demo day gives both technicians work"
    );
    assert_eq!(a2.jobs(), alice, "both of alice's devices see her jobs");

    // Offline: each device works its own way.
    a1.replica.start_travel(alice[0]).unwrap();
    a1.replica.arrive(alice[0]).unwrap();
    a1.replica
        .answer(alice[0], "shoe_covers", AnswerValue::Check(true))
        .unwrap();
    a1.replica
        .set_work_done(alice[0], "Replaced the pump")
        .unwrap();
    a1.replica
        .add_part(alice[0], "PUMP-7", "Circulation pump", 1.0)
        .unwrap();
    a2.replica.set_diagnosis(alice[0], "Seized pump").unwrap();
    a2.replica
        .add_note(alice[1], "Customer prefers afternoon visits")
        .unwrap();
    a2.replica
        .answer(alice[1], "appointment_confirmed", AnswerValue::Check(true))
        .unwrap();
    b1.replica.start_travel(bob[0]).unwrap();
    b1.replica
        .add_note(bob[0], "Parking in the back yard")
        .unwrap();
    b1.replica
        .add_feedback(bob[1], 4, Some(8), Some("Friendly"))
        .unwrap();
    // The office reschedules one of alice's jobs and gives bob's second job to alice.
    office.reschedule(alice[2], "2030-01-02T09:00:00Z", "2030-01-02T11:00:00Z");
    office.assign(bob[1], "alice");

    // Sync in an awkward order, twice round so everyone sees everyone's changes.
    for _ in 0..2 {
        for d in [&mut b1, &mut a2, &mut a1] {
            d.sync_ok();
        }
    }
    for d in [&a1, &a2, &b1] {
        d.assert_converged();
        assert_eq!(d.replica.pending_op_count().unwrap(), 0);
    }
    assert_eq!(
        a1.local_checksum(),
        a2.local_checksum(),
        "alice's two devices hold the same state"
    );

    let j0 = a2.replica.job(alice[0]).unwrap();
    assert_eq!(j0.work_order.diagnosis.as_deref(), Some("Seized pump"));
    assert_eq!(
        j0.work_order.work_done.as_deref(),
        Some("Replaced the pump")
    );
    assert_eq!(j0.parts.len(), 1);
    assert!(
        a1.jobs().contains(&bob[1]),
        "the reassigned job reached alice"
    );
    assert!(!b1.jobs().contains(&bob[1]), "and left bob's device");
    let moved = a1.replica.job(bob[1]).unwrap();
    assert_eq!(
        moved.feedback.len(),
        1,
        "bob's feedback travelled with the job"
    );
    let rescheduled = a1.replica.job(alice[2]).unwrap().work_order;
    assert_eq!(
        onsite_model::time::format_ts(&rescheduled.appointment_start.unwrap()),
        "2030-01-02T09:00:00.000Z"
    );
}

#[test]
fn the_same_field_edited_on_two_devices_keeps_both_values() {
    let server = Server::start_with_demo();
    let office = Office::login(&server.url);
    let mut a1 = Device::new("alice-tablet", &server.url, "alice", 0);
    let mut a2 = Device::new("alice-laptop", &server.url, "alice", 0);
    a1.sync_ok();
    a2.sync_ok();
    let job = a1.jobs()[0];
    a1.replica.set_diagnosis(job, "Blocked filter").unwrap();
    std::thread::sleep(std::time::Duration::from_millis(5));
    a2.replica.set_diagnosis(job, "Faulty sensor").unwrap(); // the later edit
    a2.sync_ok();
    let report = a1.sync_ok();
    assert_eq!(report.conflicts, 1, "{report:?}");
    a2.sync_ok();

    for d in [&a1, &a2] {
        d.assert_converged();
        let detail = d.replica.job(job).unwrap();
        assert_eq!(
            detail.work_order.diagnosis.as_deref(),
            Some("Faulty sensor"),
            "later HLC wins"
        );
        let c = &detail.conflicts[0];
        assert_eq!(c.field, "diagnosis");
        assert_eq!(
            c.lost,
            Value::from("Blocked filter"),
            "the losing value is kept"
        );
    }
    let on_server = office.job(job);
    assert_eq!(on_server["conflicts"].as_array().unwrap().len(), 1);
}

#[test]
fn a_reschedule_and_offline_answers_are_both_kept() {
    let server = Server::start_with_demo();
    let office = Office::login(&server.url);
    let mut a1 = Device::new("alice-tablet", &server.url, "alice", 0);
    a1.sync_ok();
    let job = a1.jobs()[0];
    a1.replica
        .answer(job, "appointment_confirmed", AnswerValue::Check(true))
        .unwrap();
    a1.replica
        .answer(job, "shoe_covers", AnswerValue::Check(true))
        .unwrap();
    office.reschedule(job, "2030-03-04T13:00:00Z", "2030-03-04T15:00:00Z");
    let report = a1.sync_ok();
    assert_eq!(
        (report.conflicts, report.rejected),
        (0, 0),
        "different owners' fields merge"
    );
    a1.assert_converged();
    let d = a1.replica.job(job).unwrap();
    assert_eq!(d.checklist.iter().filter(|l| l.answer.is_some()).count(), 2);
    assert_eq!(
        onsite_model::time::format_ts(&d.work_order.appointment_start.unwrap()),
        "2030-03-04T13:00:00.000Z"
    );
    let answers = office.job(job)["checklist_answers"].clone();
    assert_eq!(answers.as_array().map(Vec::len), Some(2), "{answers}");
}

#[test]
fn a_job_cancelled_in_the_office_while_completed_offline_needs_review() {
    let server = Server::start_with_demo();
    let office = Office::login(&server.url);
    let mut a1 = Device::new("alice-tablet", &server.url, "alice", 0);
    a1.sync_ok();
    let job = a1.jobs()[0];
    work_to_completion(&mut a1, job);
    a1.replica.complete(job).unwrap();
    office.cancel(job, "Customer cancelled by phone");

    let report = a1.sync_ok();
    assert!(report.conflicts >= 1, "{report:?}");
    assert_eq!(report.rejected, 0, "nothing the technician did is dropped");
    a1.assert_converged();

    let on_server = office.job(job);
    let wo = &on_server["work_order"];
    assert_eq!(wo["needs_review"], true);
    assert_eq!(wo["status"], "cancelled");
    let steps: Vec<&str> = on_server["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(
        steps.contains(&"cancel") && steps.contains(&"complete"),
        "both stories: {steps:?}"
    );
    assert_eq!(
        on_server["signatures"].as_array().unwrap().len(),
        1,
        "evidence kept"
    );
    assert_eq!(on_server["photos"].as_array().unwrap().len(), 3);

    let local = a1.replica.job(job).unwrap();
    assert!(local.work_order.needs_review);
    assert!(
        !local.conflicts.is_empty(),
        "the technician sees the conflict too"
    );
}

#[test]
fn a_job_reassigned_away_keeps_the_old_devices_pending_work() {
    let server = Server::start_with_demo();
    let office = Office::login(&server.url);
    let mut a1 = Device::new("alice-tablet", &server.url, "alice", 0);
    let mut b1 = Device::new("bob-tablet", &server.url, "bob", 0);
    a1.sync_ok();
    b1.sync_ok();
    let job = a1.jobs()[0];
    a1.replica.start_travel(job).unwrap();
    a1.replica.add_note(job, "Gate code 4711").unwrap();
    a1.replica.set_diagnosis(job, "Scale build-up").unwrap();
    a1.replica
        .answer(job, "appointment_confirmed", AnswerValue::Check(true))
        .unwrap();
    office.assign(job, "bob");

    let report = a1.sync_ok();
    assert_eq!(report.rejected, 0, "{report:?}");
    assert_eq!(report.pushed, 4);
    assert!(
        !a1.jobs().contains(&job),
        "the job left alice's device after her push"
    );
    a1.assert_converged();

    b1.sync_ok();
    b1.assert_converged();
    let at_bob = b1.replica.job(job).unwrap();
    assert_eq!(at_bob.notes[0].body, "Gate code 4711");
    assert_eq!(
        at_bob.work_order.diagnosis.as_deref(),
        Some("Scale build-up")
    );
    assert_eq!(notes_on_server(&office, job), ["Gate code 4711"]);
}

#[test]
fn a_refused_push_keeps_the_ops_and_says_why() {
    let server = Server::start_with_demo();
    let mut a1 = Device::new("alice-tablet", &server.url, "alice", 0);
    a1.sync_ok();
    let job = a1.jobs()[0];
    a1.replica
        .add_note(job, "kept through a bad token")
        .unwrap();
    let good = a1.token();
    a1.replica.set_token("forged-token").unwrap();
    let err = a1.sync().unwrap_err();
    assert_eq!(err.code(), "unauthorized");
    assert!(err.to_string().contains("sign in again"), "{err}");
    let status = a1.replica.sync_status().unwrap();
    assert_eq!(status.pending_ops, 1);
    assert!(status.last_error.unwrap().contains("sign in again"));
    a1.replica.set_token(&good).unwrap();
    a1.sync_ok();
    assert_eq!(a1.replica.pending_op_count().unwrap(), 0);
    assert!(a1.replica.sync_status().unwrap().last_error.is_none());
}

#[test]
fn an_unreachable_server_leaves_everything_queued() {
    let mut server = Server::start_with_demo();
    let mut a1 = Device::new("alice-tablet", &server.url, "alice", 0);
    a1.sync_ok();
    let job = a1.jobs()[0];
    server.kill9();
    a1.replica
        .add_note(job, "written while the server was down")
        .unwrap();
    let err = a1.replica.sync(
        onsite_client::RetryPolicy {
            attempts: 2,
            ..support::fast_retry()
        },
        &mut |_| {},
    );
    let err = err.unwrap_err();
    assert_eq!(err.code(), "server_unreachable");
    assert!(err.to_string().contains("kept on this device"), "{err}");
    assert_eq!(a1.replica.pending_op_count().unwrap(), 1);
    server.restart();
    a1.sync_ok();
    a1.assert_converged();
    assert!(matches!(
        a1.replica.op_outcome(1).unwrap(),
        Some(OpResult::Applied { .. })
    ));
}
