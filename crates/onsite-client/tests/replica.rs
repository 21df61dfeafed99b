//! The replica's guarantees, on real SQLite files in temp folders.

use std::sync::Arc;

use onsite_client::sample::{day_of_jobs, sample_technician};
use onsite_client::{Day, Error, Fault, FaultPoint, JobScope, Replica, ReplicaOptions};
use onsite_model::checklist::{AnswerValue, Missing};
use onsite_model::clock::{FixedClock, SeqIds};
use onsite_model::entities::{PhotoKind, StrokePoint};
use onsite_model::ids::WorkOrderId;
use onsite_model::ops::Change;
use onsite_model::status::WorkOrderStatus;
use onsite_model::time::parse_ts;

struct Fixture {
    dir: tempfile::TempDir,
    clock: Arc<FixedClock>,
    replica: Replica,
    jobs: Vec<WorkOrderId>,
}

fn options(clock: &Arc<FixedClock>) -> ReplicaOptions {
    ReplicaOptions {
        clock: clock.clone(),
        ids: Arc::new(SeqIds::new(0x51)),
        schema_upto: None,
    }
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(FixedClock::new(parse_ts("2026-11-22T07:30:00Z").unwrap()));
    let mut replica = Replica::open(dir.path(), options(&clock)).unwrap();
    let ids = SeqIds::new(0x77);
    let file = day_of_jobs(clock.now_ts(), &sample_technician(&ids), 6, &ids);
    let jobs = file.work_orders.iter().map(|w| w.id).collect();
    replica
        .import_json(&serde_json::to_string(&file).unwrap())
        .unwrap();
    Fixture {
        dir,
        clock,
        replica,
        jobs,
    }
}

trait NowTs {
    fn now_ts(&self) -> onsite_model::time::Timestamp;
}
impl NowTs for FixedClock {
    fn now_ts(&self) -> onsite_model::time::Timestamp {
        onsite_model::clock::Clock::now(self)
    }
}

fn op_count(r: &Replica) -> i64 {
    r.connection()
        .query_row("SELECT count(*) FROM oplog", [], |row| row.get(0))
        .unwrap()
}

fn sign(r: &mut Replica, job: WorkOrderId) {
    let stroke = vec![
        StrokePoint {
            x: 1.0,
            y: 1.0,
            t: 0,
        },
        StrokePoint {
            x: 20.0,
            y: 8.0,
            t: 40,
        },
    ];
    r.add_signature(job, "Li Na", vec![stroke], "report text")
        .unwrap();
}

fn photo_file(dir: &std::path::Path, name: &str, salt: u8) -> std::path::PathBuf {
    // A small real JPEG: the replica runs every photo through the pipeline.
    let path = dir.join(name);
    std::fs::write(&path, onsite_client::photo::sample_photo(48, 32, salt)).unwrap();
    path
}

/// Works a repair job up to the point where only completion is left.
fn work_repair_job(f: &mut Fixture, job: WorkOrderId) {
    let r = &mut f.replica;
    r.start_travel(job).unwrap();
    f.clock.advance_ms(20 * 60_000);
    r.arrive(job).unwrap();
    r.start_work(job).unwrap();
    for key in [
        "appointment_confirmed",
        "shoe_covers",
        "fault_confirmed",
        "test_run_ok",
        "site_cleaned",
        "fault_explained",
    ] {
        r.answer(job, key, AnswerValue::Check(true)).unwrap();
    }
    r.answer(job, "root_cause", AnswerValue::Choice("wear".into()))
        .unwrap();
    let before = photo_file(f.dir.path(), "before.jpg", 1);
    let after = photo_file(f.dir.path(), "after.jpg", 2);
    r.attach_photo(job, &before, PhotoKind::Before, Some("leak under the unit"))
        .unwrap();
    r.attach_photo(job, &after, PhotoKind::After, None).unwrap();
    sign(r, job);
    f.clock.advance_ms(40 * 60_000);
}

#[test]
fn a_whole_visit_is_recorded_with_its_times() {
    let mut f = fixture();
    let job = f.jobs[0];
    work_repair_job(&mut f, job);
    f.replica.complete(job).unwrap();
    let d = f.replica.job(job).unwrap();
    assert_eq!(d.work_order.status, WorkOrderStatus::Completed);
    assert!(d.missing_for_completion.is_empty());
    let kinds: Vec<_> = d.time_entries.iter().map(|t| t.kind.as_str()).collect();
    assert_eq!(kinds, ["travel", "work"]);
    assert_eq!(
        (d.time_entries[0].ended_at - d.time_entries[0].started_at).num_minutes(),
        20
    );
    assert_eq!(
        (d.time_entries[1].ended_at - d.time_entries[1].started_at).num_minutes(),
        40
    );
    let steps: Vec<_> = d.history.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(steps, ["start_travel", "arrive", "start_work", "complete"]);
    assert_eq!(d.photos.len(), 2);
    // The completion op lists the evidence it relies on: both photos and the signature image.
    let log = f.replica.oplog(1).unwrap();
    match &log[0].op.change {
        Change::Transition { evidence, .. } => assert_eq!(evidence.len(), 3),
        other => panic!("expected the completion, got {other:?}"),
    }
}

#[test]
fn a_write_and_its_ops_are_atomic_under_injected_faults() {
    for point in [FaultPoint::AfterData, FaultPoint::BeforeCommit] {
        let mut f = fixture();
        let job = f.jobs[1];
        f.replica.start_travel(job).unwrap();
        let ops_before = op_count(&f.replica);
        let detail_before = serde_json::to_value(f.replica.job(job).unwrap()).unwrap();

        f.replica.inject_fault(Some(Fault::Fail(point)));
        let err = f.replica.arrive(job).unwrap_err();
        assert!(matches!(err, Error::InjectedFault(_)), "{err}");
        let err = f.replica.add_note(job, "gate code 1234").unwrap_err();
        assert!(matches!(err, Error::InjectedFault(_)));

        assert_eq!(
            op_count(&f.replica),
            ops_before,
            "no ops left behind at {point:?}"
        );
        let detail_after = serde_json::to_value(f.replica.job(job).unwrap()).unwrap();
        assert_eq!(
            detail_after, detail_before,
            "no data change left behind at {point:?}"
        );

        // The next write continues the sequence without a gap.
        f.replica.inject_fault(None);
        f.replica.arrive(job).unwrap();
        let seqs: Vec<u64> = f
            .replica
            .oplog(100)
            .unwrap()
            .iter()
            .rev()
            .map(|l| l.op.device_seq)
            .collect();
        assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>());
    }
}

#[test]
fn device_seq_is_contiguous_across_restarts_and_ops_carry_old_new_and_hlc() {
    let mut f = fixture();
    let job = f.jobs[2];
    f.replica.set_diagnosis(job, "Worn pump seal").unwrap();
    f.replica
        .set_diagnosis(job, "Worn pump seal and clogged filter")
        .unwrap();
    let device = f.replica.device_id();
    drop(f.replica);

    // Reopen, with the wall clock now an hour behind: the HLC must still move forward.
    f.clock.advance_ms(-3_600_000);
    let mut r = Replica::open(f.dir.path(), options(&f.clock)).unwrap();
    assert_eq!(r.device_id(), device, "the device keeps its identity");
    r.add_note(job, "Customer asks for a call before arrival")
        .unwrap();
    r.add_part(job, "SEAL-22", "Pump seal", 1.0).unwrap();

    let log: Vec<_> = r.oplog(100).unwrap().into_iter().rev().collect();
    let seqs: Vec<u64> = log.iter().map(|l| l.op.device_seq).collect();
    assert_eq!(seqs, vec![1, 2, 3, 4]);
    for pair in log.windows(2) {
        assert!(pair[1].op.hlc > pair[0].op.hlc, "HLC strictly increases");
    }
    match &log[1].op.change {
        Change::Set { field, old, new } => {
            assert_eq!(field, "diagnosis");
            assert_eq!(old, "Worn pump seal");
            assert_eq!(new, "Worn pump seal and clogged filter");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(r.pending_op_count().unwrap(), 4);
}

#[test]
fn completing_with_missing_items_names_each_and_changes_nothing() {
    let mut f = fixture();
    let job = f.jobs[0];
    let r = &mut f.replica;
    r.arrive(job).unwrap();
    r.start_work(job).unwrap();
    r.answer(job, "appointment_confirmed", AnswerValue::Check(true))
        .unwrap();
    r.answer(job, "test_run_ok", AnswerValue::Check(false))
        .unwrap();
    // A conduct item takes no unticked box: a "no" comes with its reason, and the refusal
    // stores nothing.
    let ops = op_count(r);
    let refused = r
        .answer(job, "shoe_covers", AnswerValue::Check(false))
        .unwrap_err();
    assert!(
        refused.to_string().contains("takes a short reason"),
        "{refused}"
    );
    assert_eq!(op_count(r), ops);
    let err = r.complete(job).unwrap_err();
    let Error::CompletionBlocked(blocked) = &err else {
        panic!("{err}")
    };
    let msg = err.to_string();
    for expected in [
        "\"Shoe covers worn on entering\" (shoe_covers)",
        "(fault_confirmed)",
        "(root_cause)",
        "(test_run_ok)",
        "(site_cleaned)",
        "(fault_explained)",
        "before photo",
        "after photo",
        "customer signature",
    ] {
        assert!(msg.contains(expected), "{expected} missing from: {msg}");
    }
    assert!(!msg.contains("appointment_confirmed"));
    assert_eq!(
        blocked
            .missing
            .iter()
            .filter(|m| matches!(m, Missing::Photo { .. }))
            .count(),
        2
    );
    assert_eq!(op_count(r), ops);
    assert_eq!(
        r.job(job).unwrap().work_order.status,
        WorkOrderStatus::InProgress
    );
}

#[test]
fn invalid_steps_and_inputs_are_refused_with_clear_errors() {
    let mut f = fixture();
    let job = f.jobs[0];
    let r = &mut f.replica;
    let ops = op_count(r);
    let err = r.start_work(job).unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot start_work a job that is assigned: record arrival on site before starting work"
    );
    assert_eq!(err.code(), "invalid_transition");
    let err = r
        .answer(job, "test_run_ok", AnswerValue::Number(3.0))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "item \"test_run_ok\" expects a yes/no answer"
    );
    let err = r
        .answer(job, "shoe_covers", AnswerValue::Number(3.0))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "item \"shoe_covers\" is a conduct item: answer yes, or no with a short reason"
    );
    let err = r.add_feedback(job, 9, None, None).unwrap_err();
    assert!(err.to_string().contains("choose 1 to 5"));
    let err = r.add_part(job, "P-1", "x", -2.0).unwrap_err();
    assert!(err.to_string().contains("positive number"));
    let err = r.resolve_job("WO-1999-999999").unwrap_err();
    assert_eq!(err.code(), "unknown_job");
    let not_image = f.dir.path().join("notes.txt");
    std::fs::write(&not_image, "hello").unwrap();
    let err = r
        .attach_photo(job, &not_image, PhotoKind::Before, None)
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("is not a photo (JPEG, PNG or WebP)")
    );
    assert_eq!(err.code(), "photo_not_an_image");
    assert_eq!(op_count(r), ops, "nothing stored for refused input");
}

#[test]
fn job_list_is_in_appointment_order_with_sla_state() {
    let f = fixture();
    let end = parse_ts("2026-11-23T00:00:00Z").unwrap();
    let today = f.replica.jobs(JobScope::Today, Day { end }).unwrap();
    assert_eq!(today.len(), 6);
    let starts: Vec<_> = today.iter().map(|j| j.appointment_start.unwrap()).collect();
    let mut sorted = starts.clone();
    sorted.sort();
    assert_eq!(starts, sorted);
    assert_eq!(today[0].customer_name, "Harbour View Dental");
    assert!(
        f.replica
            .jobs(JobScope::Done, Day { end })
            .unwrap()
            .is_empty()
    );
    // The urgent job (index 3) was reported 5 h before 08:00 with a 2 h response window.
    assert!(today[3].sla.respond.is_breached());
    assert!(!today[0].sla.is_breached());
}

#[test]
fn an_older_replica_is_upgraded_with_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(FixedClock::new(parse_ts("2026-11-22T07:30:00Z").unwrap()));
    let ids = SeqIds::new(0x33);
    let file = day_of_jobs(clock.now_ts(), &sample_technician(&ids), 3, &ids);
    {
        let mut old = Replica::open(
            dir.path(),
            ReplicaOptions {
                schema_upto: Some(1),
                ..options(&clock)
            },
        )
        .unwrap();
        old.import_json(&serde_json::to_string(&file).unwrap())
            .unwrap();
        let v: u32 = old
            .connection()
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, 1);
    }
    let mut r = Replica::open(dir.path(), options(&clock)).unwrap();
    let v: u32 = r
        .connection()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v, onsite_client::db::schema_version());
    assert_eq!(
        r.jobs(
            JobScope::All,
            Day {
                end: clock.now_ts()
            }
        )
        .unwrap()
        .len(),
        3
    );
    r.add_note(file.work_orders[0].id, "after upgrade").unwrap();
    assert_eq!(
        r.pending_op_count().unwrap(),
        1,
        "sync state exists after the upgrade"
    );
}

#[test]
fn a_file_that_is_not_a_replica_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(onsite_client::DB_FILE);
    let junk = b"%PDF-1.7 this is somebody's invoice, not a database".repeat(100);
    std::fs::write(&path, &junk).unwrap();
    let err = Replica::open(dir.path(), ReplicaOptions::default())
        .err()
        .unwrap();
    assert_eq!(err.code(), "not_a_replica", "{err}");
    assert!(err.to_string().contains("left untouched"));
    assert!(
        std::fs::read(&path).unwrap() == junk,
        "the file is not overwritten"
    );

    // Another program's SQLite database is not ours either.
    let other = tempfile::tempdir().unwrap();
    let conn = rusqlite::Connection::open(other.path().join(onsite_client::DB_FILE)).unwrap();
    conn.execute_batch("CREATE TABLE invoices (id INTEGER); INSERT INTO invoices VALUES (1);")
        .unwrap();
    drop(conn);
    let err = Replica::open(other.path(), ReplicaOptions::default())
        .err()
        .unwrap();
    assert_eq!(err.code(), "not_a_replica", "{err}");
}

#[test]
fn a_damaged_replica_is_refused_and_left_untouched() {
    let f = fixture();
    let dir = f.dir.path().to_owned();
    drop(f.replica);
    let path = dir.join(onsite_client::DB_FILE);
    // Fold the WAL into the main file so the damage below hits real pages.
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.pragma_update(None, "journal_mode", "DELETE").unwrap();
    drop(conn);
    let mut bytes = std::fs::read(&path).unwrap();
    assert!(bytes.len() > 8192);
    for b in &mut bytes[4096..8192] {
        *b = 0xA5;
    }
    std::fs::write(&path, &bytes).unwrap();
    let err = Replica::open(&dir, ReplicaOptions::default())
        .err()
        .unwrap();
    assert!(
        matches!(err.code(), "replica_corrupt" | "not_a_replica"),
        "{err}"
    );
    assert!(
        std::fs::read(&path).unwrap() == bytes,
        "the damaged file is not overwritten"
    );
}

#[test]
fn closed_jobs_refuse_changes_but_keep_taking_notes() {
    let mut f = fixture();
    let job = f.jobs[0];
    work_repair_job(&mut f, job);
    f.replica.complete(job).unwrap();
    let err = f.replica.set_diagnosis(job, "changed my mind").unwrap_err();
    assert_eq!(err.code(), "job_closed");
    assert!(err.to_string().contains("ask the office to reopen it"));
    f.replica
        .add_note(job, "Customer called: all working")
        .unwrap();
}
