//! Live changes, whole-system: the real server binary on loopback, real replicas holding the
//! live channel, the office over HTTP. A device hears of a job the office gives it and pulls
//! it with the normal sync; another technician hears nothing of it. On PostgreSQL the device
//! listens on one instance while the office writes on another.
//!
//! Timeouts are generous and nothing asserts a duration; the nudge latency (office answer to
//! nudge) is printed for the record.

mod support;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use onsite_client::{LiveChanges, LiveEvent, LiveOptions, SyncError};
use onsite_model::ids::WorkOrderId;
use serde_json::{Value, json};
use support::{Device, Office, Server, bin};

/// Far beyond the 2 s the channel is meant for: a slow machine is not a failure.
const PATIENCE: Duration = Duration::from_secs(30);

/// The seq of the next change event beyond `after`, skipping reconnect reports.
fn nudge_beyond(live: &LiveChanges, after: u64) -> u64 {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match live.recv_timeout(left) {
            Ok(LiveEvent::Change { seq, .. }) if seq > after => return seq,
            Ok(LiveEvent::Change { .. } | LiveEvent::Down { .. }) => {}
            Ok(LiveEvent::Ended(e)) => panic!("the live channel ended: {e}"),
            Err(e) => panic!("no nudge beyond {after} within {PATIENCE:?}: {e}"),
        }
    }
}

/// The first event of a fresh stream: the current seq.
fn connected(live: &LiveChanges) -> u64 {
    match live.recv_timeout(PATIENCE) {
        Ok(LiveEvent::Change {
            seq,
            connected: true,
        }) => seq,
        other => panic!("expected the stream's first event, got {other:?}"),
    }
}

fn new_job(office: &Office, customer: &str, assignee: &str, problem: &str) -> WorkOrderId {
    let wo = office.ok(
        reqwest::Method::POST,
        "/work-orders",
        Some(json!({
            "customer_id": customer, "job_type": "repair", "problem": problem, "assignee": assignee
        })),
    );
    serde_json::from_value(wo["id"].clone()).unwrap()
}

fn open_streams(metrics_url: &str) -> u64 {
    let text = reqwest::blocking::get(format!("{metrics_url}/metrics"))
        .unwrap()
        .text()
        .unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("onsite_event_streams_open "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no onsite_event_streams_open in\n{text}"))
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// The story, on any pair of instances (the same one twice on SQLite): alice and bob hold
/// the live channel on `device_url`; the office creates jobs for alice on `office_url`.
fn office_assignments_reach_only_their_technician(label: &str, office_url: &str, device_url: &str) {
    let office = Office::login(office_url);
    let mut alice = Device::new("alice-tablet", device_url, "alice", 0);
    let mut bob = Device::new("bob-tablet", device_url, "bob", 0);
    alice.sync_ok();
    bob.sync_ok();
    let alice_live = alice.replica.live_changes(LiveOptions::default()).unwrap();
    let bob_live = bob.replica.live_changes(LiveOptions::default()).unwrap();
    let mut seen = connected(&alice_live);
    let bob_first = connected(&bob_live);
    assert!(
        !alice.replica.is_behind(seen).unwrap(),
        "a device that just synced is not behind the first event"
    );
    assert_eq!(open_streams(device_url), 2);

    let customers = office.ok(reqwest::Method::GET, "/customers", None);
    let customer = customers[0]["id"].as_str().unwrap().to_owned();
    let mut latencies = Vec::new();
    for i in 0..5 {
        let asked = Instant::now();
        let job = new_job(&office, &customer, "alice", &format!("Boiler {i} leaks"));
        let seq = nudge_beyond(&alice_live, seen);
        latencies.push(asked.elapsed());
        assert!(
            alice.replica.is_behind(seq).unwrap(),
            "the nudge is beyond alice's cursor"
        );
        assert!(
            !alice.jobs().contains(&job),
            "not on the device before the pull"
        );
        let report = alice.sync_ok();
        assert!(report.pulled_rows > 0, "{report:?}");
        assert!(
            alice.jobs().contains(&job),
            "the new job arrived with the pull"
        );
        assert!(!alice.replica.is_behind(seq).unwrap());
        seen = seq;
    }
    // An office edit of one of her jobs nudges her too.
    let job = alice.jobs()[0];
    office.reschedule(job, "2026-12-02T09:00:00Z", "2026-12-02T10:00:00Z");
    seen = nudge_beyond(&alice_live, seen);
    alice.sync_ok();
    alice.assert_converged();

    // Bob's stream carried nothing of alice's jobs: his next event is his own job.
    let bobs = new_job(&office, &customer, "bob", "Heat pump noisy");
    let bob_seq = nudge_beyond(&bob_live, bob_first);
    assert!(
        bob_seq > seen,
        "bob's first nudge after connecting is for his own job (seq {bob_seq}), not one of alice's (up to {seen})"
    );
    bob.sync_ok();
    assert!(bob.jobs().contains(&bobs));
    assert!(bob_live.try_recv().is_none(), "one nudge for one change");

    latencies.sort();
    eprintln!(
        "live nudge latency on {label} over {} jobs: p50 {:?}, max {:?}",
        latencies.len(),
        percentile(&latencies, 0.5),
        latencies.last().unwrap()
    );
    drop(alice_live);
    drop(bob_live);
}

#[test]
fn on_sqlite_a_device_hears_of_its_new_job_and_pulls_it() {
    let server = Server::start_with_demo();
    office_assignments_reach_only_their_technician("SQLite", &server.url, &server.url);
}

#[test]
fn a_refused_token_ends_the_live_channel_with_the_servers_words() {
    let server = Server::start_with_demo();
    let mut alice = Device::new("alice-tablet", &server.url, "alice", 0);
    alice.replica.set_token("forged-token").unwrap();
    let live = alice.replica.live_changes(LiveOptions::default()).unwrap();
    match live.recv_timeout(PATIENCE) {
        Ok(LiveEvent::Ended(SyncError::Unauthorized { message })) => {
            assert!(message.contains("sign in"), "{message}");
        }
        other => panic!("expected the channel to end unauthorized, got {other:?}"),
    }
    let resp = reqwest::blocking::get(format!("{}/api/v1/sync/events", server.url)).unwrap();
    assert_eq!(resp.status(), 401);
    let body: Value = resp.json().unwrap();
    assert_eq!(body["code"], "unauthorized", "{body}");
}

#[test]
fn a_device_catches_up_on_changes_made_while_its_stream_was_closed() {
    let server = Server::start_with_demo();
    let office = Office::login(&server.url);
    let mut alice = Device::new("alice-tablet", &server.url, "alice", 0);
    alice.sync_ok();
    let customers = office.ok(reqwest::Method::GET, "/customers", None);
    let customer = customers[0]["id"].as_str().unwrap().to_owned();
    let job = new_job(&office, &customer, "alice", "Made while the app was closed");
    let live = alice.replica.live_changes(LiveOptions::default()).unwrap();
    let seq = connected(&live);
    assert!(
        alice.replica.is_behind(seq).unwrap(),
        "the first event tells a device that missed a change to pull"
    );
    alice.sync_ok();
    assert!(alice.jobs().contains(&job));
}

// ---- PostgreSQL: two instances on one database ----------------------------------------

fn postgres_url() -> Option<String> {
    if let Some(url) = std::env::var("ONSITE_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty())
    {
        return Some(url);
    }
    assert!(
        std::env::var("ONSITE_REQUIRE_POSTGRES").as_deref() != Ok("1"),
        "ONSITE_REQUIRE_POSTGRES=1 but ONSITE_TEST_POSTGRES_URL is not set; run under scripts/with-postgres"
    );
    eprintln!(
        "live changes across instances did not run on PostgreSQL (ONSITE_TEST_POSTGRES_URL is not set; run under scripts/with-postgres)"
    );
    None
}

/// `psql`, which ships with the server.
fn psql() -> &'static str {
    ["/usr/lib/postgresql/15/bin/psql", "psql"]
        .into_iter()
        .find(|p| !p.starts_with('/') || Path::new(p).exists())
        .unwrap()
}

/// A fresh database on the test cluster with the demo day loaded, and the data folder its
/// servers share.
fn demo_database(url: &str) -> (String, tempfile::TempDir) {
    let database = fresh_database(url);
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(bin("onsite-server"))
        .args(["demo", "load", "--database", &database, "--data"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "demo load: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (database, dir)
}

/// A fresh database on the test cluster.
fn fresh_database(url: &str) -> String {
    let name = format!("live_{}", uuid_simple());
    let out = Command::new(psql())
        .args([
            url,
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            &format!("CREATE DATABASE {name}"),
        ])
        .output()
        .expect("psql");
    assert!(
        out.status.success(),
        "CREATE DATABASE: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let root = base.rsplit_once('/').map_or(base, |(r, _)| r);
    format!("{root}/{name}{query}")
}

fn uuid_simple() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{nanos:x}{:x}", std::process::id())
}

/// One `onsite-server serve` on a PostgreSQL database.
struct Instance {
    url: String,
    child: Child,
}

impl Instance {
    fn start(database: &str, data: &Path) -> Instance {
        let mut child = Command::new(bin("onsite-server"))
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--database",
                database,
                "--data",
            ])
            .arg(data)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let url = support::listening_url(&mut child);
        Instance { url, child }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn on_postgres_a_device_on_one_instance_hears_of_the_office_writing_on_another() {
    let Some(url) = postgres_url() else {
        return;
    };
    let (database, dir) = demo_database(&url);
    let a = Instance::start(&database, dir.path());
    let b = Instance::start(&database, dir.path());
    office_assignments_reach_only_their_technician(
        "PostgreSQL (office on A, device on B)",
        &a.url,
        &b.url,
    );
}

/// The instance's `LISTEN` connection is cut by the database (an administrator's
/// `pg_terminate_backend`, a failover, a proxy timeout): the instance opens it again and the
/// device still learns of a job given to it, also one given while nobody was listening.
#[test]
fn on_postgres_a_cut_listen_connection_is_opened_again_and_the_device_still_hears() {
    let Some(url) = postgres_url() else {
        return;
    };
    let (database, dir) = demo_database(&url);
    let instance = Instance::start(&database, dir.path());
    let office = Office::login(&instance.url);
    let mut alice = Device::new("alice-tablet", &instance.url, "alice", 0);
    alice.sync_ok();
    let live = alice.replica.live_changes(LiveOptions::default()).unwrap();
    let seen = connected(&live);
    let customers = office.ok(reqwest::Method::GET, "/customers", None);
    let customer = customers[0]["id"].as_str().unwrap().to_owned();

    let cut = Command::new(psql())
        .args([database.as_str(), "-tAq", "-v", "ON_ERROR_STOP=1", "-c"])
        .arg(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
             WHERE datname = current_database() AND application_name = 'onsite-server change listener'",
        )
        .output()
        .expect("psql");
    assert!(
        cut.status.success(),
        "{}",
        String::from_utf8_lossy(&cut.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&cut.stdout).trim(),
        "1",
        "the instance's one listening connection was cut"
    );
    // Given at once, quite possibly while the instance is still reconnecting.
    let job = new_job(&office, &customer, "alice", "Radiator cold after the cut");
    let mut after = seen;
    for _ in 0..5 {
        after = nudge_beyond(&live, after);
        alice.sync_ok();
        if alice.jobs().contains(&job) {
            alice.assert_converged();
            return;
        }
    }
    panic!("alice heard nudges but never pulled the job given after the cut");
}
