//! Network faults and server crashes during sync: no op lost, none applied twice, every
//! replica converges. Faults come from the fault-injecting proxy in tests/support.

mod support;

use std::time::Duration;

use onsite_model::ids::WorkOrderId;
use support::proxy::{Fault, Proxy};
use support::{Device, Office, Server};

fn server_notes(office: &Office, job: WorkOrderId) -> Vec<String> {
    let mut notes: Vec<String> = office.job(job)["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["body"].as_str().unwrap().to_owned())
        .collect();
    notes.sort();
    notes
}

#[test]
fn each_network_fault_on_push_and_pull_loses_nothing_and_applies_nothing_twice() {
    let server = Server::start_with_demo();
    let proxy = Proxy::start(&server.url);
    let office = Office::login(&server.url);
    let mut a1 = Device::new("alice-tablet", &proxy.url, "alice", 0);
    let mut a2 = Device::new("alice-laptop", &server.url, "alice", 0);
    a1.sync_ok();
    a2.sync_ok();
    let job = a1.jobs()[0];
    let mut expected = Vec::new();
    let faults = [
        Fault::DropRequest,
        Fault::DropResponse,
        Fault::Duplicate,
        Fault::Delay(Duration::from_millis(300)),
        Fault::CutBody,
        Fault::ReplayAfterNext,
    ];
    for (round, fault) in faults.into_iter().enumerate() {
        for i in 0..4 {
            let body = format!("round {round} note {i}");
            a1.replica.add_note(job, &body).unwrap();
            expected.push(body);
        }
        a1.replica
            .set_diagnosis(job, &format!("diagnosis after round {round}"))
            .unwrap();
        // The other device changes something too, so the pull has work to do.
        a2.replica
            .add_note(job, &format!("laptop note {round}"))
            .unwrap();
        expected.push(format!("laptop note {round}"));
        a2.sync_ok();
        // The push meets the fault (twice in a row when the client retries), then the pull.
        proxy.script([Some(fault), Some(fault), None, Some(fault)]);
        let report = a1.sync_ok();
        assert_eq!(report.rejected, 0, "{fault:?}: {report:?}");
        assert_eq!(a1.replica.pending_op_count().unwrap(), 0, "{fault:?}");
        proxy.clear();
    }
    a2.sync_ok();
    a1.sync_ok();
    expected.sort();
    assert_eq!(
        server_notes(&office, job),
        expected,
        "every note exactly once"
    );
    a1.assert_converged();
    a2.assert_converged();
    assert_eq!(a1.local_checksum(), a2.local_checksum());
    assert!(
        proxy
            .faults_injected
            .load(std::sync::atomic::Ordering::SeqCst)
            >= 12
    );
    let diagnosis = office.job(job)["work_order"]["diagnosis"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(diagnosis, "diagnosis after round 5");
}

/// The server is SIGKILLed while a large push is in flight, at several moments, and
/// restarted on the same address: the device's sync rides it out, and afterwards the
/// server holds every op exactly once.
#[test]
fn a_server_killed_mid_push_and_restarted_loses_and_duplicates_nothing() {
    let mut server = Server::start_with_demo();
    let mut device = Device::new("alice-tablet", &server.url, "alice", 0);
    device.sync_ok();
    let jobs = device.jobs();
    let mut expected: Vec<String> = Vec::new();
    for (round, kill_after_ms) in [5u64, 30, 80, 160].into_iter().enumerate() {
        for i in 0..600 {
            let body = format!("r{round} n{i:03}");
            device
                .replica
                .add_note(jobs[i % jobs.len()], &body)
                .unwrap();
            expected.push(body);
        }
        let worker = std::thread::spawn(move || {
            let retry = onsite_client::RetryPolicy {
                attempts: 40,
                first_backoff: Duration::from_millis(50),
                max_backoff: Duration::from_millis(300),
                request_timeout: Duration::from_secs(10),
            };
            let result = device.replica.sync(retry, &mut |_| {});
            (device, result)
        });
        std::thread::sleep(Duration::from_millis(kill_after_ms));
        server.kill9();
        std::thread::sleep(Duration::from_millis(200));
        server.restart();
        let (d, result) = worker.join().unwrap();
        device = d;
        result.unwrap_or_else(|e| panic!("sync after a kill at {kill_after_ms} ms: {e}"));
        device.sync_ok();
        assert_eq!(device.replica.pending_op_count().unwrap(), 0);
    }
    let office = Office::login(&server.url);
    let mut on_server: Vec<String> = jobs
        .iter()
        .flat_map(|j| server_notes(&office, *j))
        .collect();
    on_server.sort();
    expected.sort();
    assert_eq!(
        on_server.len(),
        expected.len(),
        "no note lost or duplicated"
    );
    assert_eq!(on_server, expected);
    device.assert_converged();
}
