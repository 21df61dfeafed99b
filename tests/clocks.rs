//! Whole-system clocks: a tablet set 3 h fast, the real server binary on loopback. Once the
//! tablet has synced it knows its skew: the arrival it records is the real time, flagged as
//! corrected, and its later edit no longer beats an honest device's later one.

mod support;

use onsite_model::time::parse_ts;
use serde_json::Value;
use support::{Device, Office, Server};

const THREE_HOURS_MS: i64 = 3 * 3600 * 1000;
/// What a skew measured over loopback may be off by: far less than the error it corrects.
const MEASUREMENT_SLACK_MS: i64 = 60_000;

fn ms(v: &Value) -> i64 {
    parse_ts(v.as_str().unwrap()).unwrap().timestamp_millis()
}

#[test]
fn a_fast_tablet_records_real_times_once_it_knows_its_skew() {
    let server = Server::start_with_demo();
    let office = Office::login(&server.url);
    let mut fast = Device::new("alice-fast-tablet", &server.url, "alice", THREE_HOURS_MS);
    let mut honest = Device::new("alice-laptop", &server.url, "alice", 0);
    fast.sync_ok();
    honest.sync_ok();
    let skew = fast.replica.sync_status().unwrap().server_skew_ms.unwrap();
    assert!(
        (skew + THREE_HOURS_MS).abs() < MEASUREMENT_SLACK_MS,
        "measured skew {skew}"
    );

    let job = fast.jobs()[0];
    let real_before = chrono::Utc::now().timestamp_millis();
    fast.replica.arrive(job).unwrap();
    let real_after = chrono::Utc::now().timestamp_millis();
    fast.sync_ok();

    let on_server = office.job(job);
    let arrived = ms(&on_server["work_order"]["arrived_at"]);
    assert!(
        arrived >= real_before - MEASUREMENT_SLACK_MS && arrived <= real_after,
        "arrival {arrived} is not the real time ({real_before}..{real_after})"
    );
    let event = on_server["history"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "arrive")
        .unwrap();
    assert_eq!(event["clock_correction_ms"].as_i64(), Some(skew));

    // The same field edited on both devices, the honest one later: later wins.
    fast.replica.set_diagnosis(job, "Blocked filter").unwrap();
    std::thread::sleep(std::time::Duration::from_millis(5));
    honest.sync_ok();
    honest.replica.set_diagnosis(job, "Faulty sensor").unwrap();
    fast.sync_ok();
    honest.sync_ok();
    fast.sync_ok();
    let on_server = office.job(job);
    assert_eq!(on_server["work_order"]["diagnosis"], "Faulty sensor");
    fast.assert_converged();
    honest.assert_converged();
}
