//! A tablet whose clock is wrong: once it has measured its skew against the server, the
//! times it records and the HLCs it issues follow the corrected clock, and each status step
//! says by how much it was corrected.

use std::sync::Arc;

use onsite_client::sample::{day_of_jobs, sample_technician};
use onsite_client::{Replica, ReplicaOptions};
use onsite_model::SlaClock;
use onsite_model::clock::{Clock, FixedClock, SeqIds};
use onsite_model::ops::{Change, Op};
use onsite_model::time::{format_ts, parse_ts};

/// Server minus tablet: the tablet runs 3 h (and 4 ms) fast.
const SKEW_MS: i64 = -10_800_004;

fn last_op(r: &Replica) -> Op {
    let json: String = r
        .connection()
        .query_row(
            "SELECT op FROM oplog ORDER BY device_seq DESC LIMIT 1",
            [],
            |row| row.get(0),
        )
        .unwrap();
    serde_json::from_str(&json).unwrap()
}

#[test]
fn a_measured_skew_corrects_event_times_and_hlcs() {
    let dir = tempfile::tempdir().unwrap();
    // The real time is 10:00; the tablet reads 13:00:00.004.
    let clock = Arc::new(FixedClock::new(
        parse_ts("2026-11-22T13:00:00.004Z").unwrap(),
    ));
    let mut replica = Replica::open(
        dir.path(),
        ReplicaOptions {
            clock: clock.clone(),
            ids: Arc::new(SeqIds::new(0x51)),
            schema_upto: None,
        },
    )
    .unwrap();
    let ids = SeqIds::new(0x77);
    let file = day_of_jobs(
        parse_ts("2026-11-22T08:00:00Z").unwrap(),
        &sample_technician(&ids),
        2,
        &ids,
    );
    let [first, second] = [file.work_orders[0].id, file.work_orders[1].id];
    replica
        .import_json(&serde_json::to_string(&file).unwrap())
        .unwrap();

    replica
        .connection()
        .execute(
            "UPDATE sync_state SET server_skew_ms = ?1 WHERE id = 1",
            [SKEW_MS],
        )
        .unwrap();
    let event = replica.arrive(first).unwrap();
    assert_eq!(format_ts(&event.at), "2026-11-22T10:00:00.000Z");
    assert_eq!(event.clock_correction_ms, Some(SKEW_MS));
    assert_eq!(format_ts(&replica.now()), "2026-11-22T10:00:00.000Z");
    let op = last_op(&replica);
    match &op.change {
        Change::Transition {
            at,
            clock_correction_ms,
            ..
        } => {
            assert_eq!(format_ts(at), "2026-11-22T10:00:00.000Z");
            assert_eq!(*clock_correction_ms, Some(SKEW_MS));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(format_ts(&op.recorded_at), "2026-11-22T10:00:00.000Z");
    // The HLC follows the corrected clock, not the tablet's 13:00.
    assert_eq!(op.hlc.ms() as i64, clock.now_ms() + SKEW_MS);
    let detail = replica.job(first).unwrap();
    assert_eq!(
        detail
            .work_order
            .arrived_at
            .map(|t| format_ts(&t))
            .as_deref(),
        Some("2026-11-22T10:00:00.000Z")
    );
    // The response clock reads the corrected arrival, not the tablet's 13:00.
    match detail.sla.respond {
        SlaClock::Met { at, .. } | SlaClock::Missed { at, .. } => {
            assert_eq!(format_ts(&at), "2026-11-22T10:00:00.000Z")
        }
        other => panic!("{other:?}"),
    }

    // A skew within what measuring it costs is not corrected, and the step says so.
    replica
        .connection()
        .execute(
            "UPDATE sync_state SET server_skew_ms = 300 WHERE id = 1",
            [],
        )
        .unwrap();
    let event = replica.arrive(second).unwrap();
    assert_eq!(format_ts(&event.at), "2026-11-22T13:00:00.004Z");
    assert_eq!(event.clock_correction_ms, None);
}
