//! Day-end figures on both server stores in one run, beside a raw SQLite reference measured
//! in the same run: push apply throughput, pull rows/s, a new device's first sync of 40 jobs,
//! and 1,000 technicians' devices syncing at once (20 ops each, then their changes).
//!
//! Build the release binaries first; run under the project's PostgreSQL and S3 servers so the
//! PostgreSQL + S3 column is measured too (without them it says it skipped them):
//!   cargo build --release --workspace --bins
//!   scripts/with-postgres scripts/with-seaweedfs cargo bench -p onsite-client --bench day_end
//! `ONSITE_BENCH_DEVICES` changes the number of devices (default 1000).

#[path = "../../../tests/support/mod.rs"]
mod support;

use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

use onsite_client::{SyncError, SyncExchange, SyncProgress, SyncReport};
use onsite_model::checklist::AnswerValue;
use onsite_model::wire::{
    LoginRequest, LoginResponse, OpOutcome, OpResult, PullResponse, PushRequest, PushResponse,
};
use reqwest::Method;
use serde_json::{Value, json};
use support::store::Kind;
use support::{Device, Office, Server};

/// Ops in the push throughput run, sent as the device sends them (500 per request).
const PUSH_OPS: usize = 20_000;

/// CPU seconds (user + system) a process has used so far, from `/proc/<pid>/stat`.
fn cpu_secs(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i).and_then(|v| v.parse::<f64>().ok()))
        .sum();
    ticks / 100.0
}

fn pct(sorted: &[Duration], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize].as_secs_f64() * 1e3
}

/// The floor a push is compared with: per op, one row UPDATE and one change-log INSERT on a
/// WAL database with the server's settings, 500 ops per transaction (one push).
fn raw_sqlite_ops_per_sec(ops: usize) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let mut c = rusqlite::Connection::open(dir.path().join("raw.sqlite3")).unwrap();
    c.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))
        .unwrap();
    c.pragma_update(None, "synchronous", "NORMAL").unwrap();
    c.execute_batch(
        "CREATE TABLE rows (id TEXT PRIMARY KEY, job TEXT NOT NULL, data TEXT NOT NULL, seq INTEGER NOT NULL);
         CREATE TABLE changelog (seq INTEGER PRIMARY KEY, kind TEXT NOT NULL, id TEXT NOT NULL, job TEXT NOT NULL);
         CREATE INDEX changelog_job ON changelog (job, seq);",
    )
    .unwrap();
    {
        let tx = c.transaction().unwrap();
        for i in 0..ops {
            tx.execute(
                "INSERT INTO rows VALUES (?1, ?2, '{}', 0)",
                (format!("row-{i}"), format!("job-{}", i % 40)),
            )
            .unwrap();
        }
        tx.commit().unwrap();
    }
    // Everything but SQLite's own work is prepared before the clock starts.
    let rows: Vec<(String, String, String)> = (0..ops)
        .map(|i| {
            (
                format!("row-{i}"),
                format!("job-{}", i % 40),
                json!({"text": format!("note {i}: customer asked about the warranty")}).to_string(),
            )
        })
        .collect();
    let t = Instant::now();
    for (n, batch) in rows.chunks(500).enumerate() {
        let tx = c.transaction().unwrap();
        for (k, (id, job, data)) in batch.iter().enumerate() {
            let seq = (n * 500 + k) as i64 + 1;
            tx.prepare_cached("UPDATE rows SET data = ?1, seq = ?2 WHERE id = ?3")
                .unwrap()
                .execute((data, seq, id))
                .unwrap();
            tx.prepare_cached("INSERT INTO changelog VALUES (?1, 'note', ?2, ?3)")
                .unwrap()
                .execute((seq, id, job))
                .unwrap();
        }
        tx.commit().unwrap();
    }
    ops as f64 / t.elapsed().as_secs_f64()
}

/// Takes the push requests a device's real sync builds, answering each as if applied, so
/// they can be replayed against the server with nothing else in the timing.
#[derive(Default)]
struct Recorder {
    pushes: Vec<PushRequest>,
}

impl SyncExchange for Recorder {
    fn server(&self) -> &str {
        "recorder"
    }
    fn login(
        &mut self,
        _: &LoginRequest,
        _: &mut SyncReport,
        _: &mut dyn FnMut(SyncProgress),
    ) -> Result<LoginResponse, SyncError> {
        unreachable!("the device is signed in already")
    }
    fn push(
        &mut self,
        _: &str,
        req: &PushRequest,
        _: &mut SyncReport,
        _: &mut dyn FnMut(SyncProgress),
    ) -> Result<PushResponse, SyncError> {
        self.pushes.push(req.clone());
        let last = req.ops.last().expect("a push has ops");
        Ok(PushResponse {
            outcomes: req
                .ops
                .iter()
                .map(|op| OpOutcome {
                    device_seq: op.device_seq,
                    result: OpResult::Applied { server_seq: 0 },
                })
                .collect(),
            acked_device_seq: last.device_seq,
            server_time: chrono::Utc::now(),
            server_hlc: last.hlc,
        })
    }
    fn pull(
        &mut self,
        _: &str,
        _: u64,
        _: u32,
        _: &mut SyncReport,
        _: &mut dyn FnMut(SyncProgress),
    ) -> Result<PullResponse, SyncError> {
        Err(SyncError::Unreachable {
            url: "recorder".into(),
            detail: "recording pushes only".into(),
        })
    }
}

struct Figures {
    push_ops_per_sec: f64,
    pull_rows_per_sec: f64,
    first_sync: String,
    day_end: String,
    crowd: String,
}

fn user_id(office: &Office, username: &str) -> Value {
    office
        .ok(Method::GET, "/users", None)
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == username)
        .unwrap()["id"]
        .clone()
}

/// Push apply: the requests of 20,000 offline notes, replayed one after another.
fn push_throughput(server: &Server) -> f64 {
    let mut writer = Device::new("alice-writer", &server.url, "alice", 0);
    writer.sync_ok();
    let jobs = writer.jobs();
    for i in 0..PUSH_OPS {
        writer
            .replica
            .add_note(
                jobs[i % jobs.len()],
                &format!("note {i}: customer asked about the warranty"),
            )
            .unwrap();
    }
    let mut rec = Recorder::default();
    let _ = writer.replica.sync_over(&mut rec, &mut |_| {});
    let bodies: Vec<Vec<u8>> = rec
        .pushes
        .iter()
        .map(|r| serde_json::to_vec(r).unwrap())
        .collect();
    let ops: usize = rec.pushes.iter().map(|r| r.ops.len()).sum();
    assert_eq!(ops, PUSH_OPS, "every note became one op");
    let http = reqwest::blocking::Client::new();
    let token = writer.token();
    let t = Instant::now();
    for body in bodies {
        let resp = http
            .post(format!("{}/api/v1/sync/push", server.url))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .unwrap();
        assert!(resp.status().is_success(), "push: {}", resp.status());
        let push: PushResponse = resp.json().unwrap();
        assert!(
            push.outcomes
                .iter()
                .all(|o| matches!(o.result, OpResult::Applied { .. })),
            "every note applied"
        );
    }
    ops as f64 / t.elapsed().as_secs_f64()
}

/// A fresh device of alice's pulls everything she may see (her notes included).
fn pull_rate(server: &Server) -> f64 {
    let mut reader = Device::new("alice-reader", &server.url, "alice", 0);
    let t = Instant::now();
    let r = reader.sync_ok();
    r.pulled_rows as f64 / t.elapsed().as_secs_f64()
}

/// Bob works 40 jobs offline and syncs at day's end; then a new device of his syncs first.
fn forty_jobs(server: &Server, office: &Office) -> (String, String) {
    let bob = user_id(office, "bob");
    let customers = office.ok(Method::GET, "/customers", None);
    let customers = customers.as_array().unwrap();
    for i in 0..40 {
        office.ok(
            Method::POST,
            "/work-orders",
            Some(json!({
                "customer_id": customers[i % customers.len()]["id"],
                "job_type": "repair",
                "priority": "normal",
                "problem": format!("Day-end job {i}: unit trips the breaker"),
                "assignee_id": bob,
            })),
        );
    }
    let mut tech = Device::new("bob-tablet", &server.url, "bob", 0);
    tech.sync_ok();
    for (i, job) in tech.jobs().into_iter().enumerate().take(40) {
        let r = &mut tech.replica;
        let _ = r.start_travel(job);
        let _ = r.arrive(job);
        let _ = r.start_work(job);
        for key in [
            "appointment_confirmed",
            "shoe_covers",
            "fault_confirmed",
            "test_run_ok",
            "site_cleaned",
            "fault_explained",
        ] {
            let _ = r.answer(job, key, AnswerValue::Check(true));
        }
        let _ = r.answer(job, "root_cause", AnswerValue::Choice("wear".into()));
        let _ = r.set_diagnosis(job, "Breaker trips on compressor start: failing capacitor");
        let _ = r.set_work_done(job, "Replaced the start capacitor, tested 3 start cycles");
        for p in 0..3 {
            let _ = r.add_part(job, &format!("CAP-{p}"), "Start capacitor 35uF", 1.0);
        }
        for n in 0..30 {
            let _ = r.add_note(job, &format!("job {i} reading {n}: 231 V, 4.2 A"));
        }
    }
    let ops = tech.replica.pending_op_count().unwrap();
    let t = Instant::now();
    tech.sync_ok();
    let day_end = format!("{ops} ops in {:.0} ms", t.elapsed().as_secs_f64() * 1e3);
    let mut fresh = Device::new("bob-laptop", &server.url, "bob", 0);
    let t = Instant::now();
    let r = fresh.sync_ok();
    let first = format!(
        "{} rows in {:.0} ms ({} KiB)",
        r.pulled_rows,
        t.elapsed().as_secs_f64() * 1e3,
        r.bytes_received / 1024
    );
    (day_end, first)
}

/// `n` technicians, one device and one job each, 20 notes written offline, all syncing at once.
fn crowd(server: &Server, office: &Office, n: usize) -> String {
    let t = Instant::now();
    let names: Vec<String> = (0..n).map(|i| format!("tech-{i:04}")).collect();
    let customers = office.ok(Method::GET, "/customers", None);
    let customer = customers[0]["id"].clone();
    // Users first (each password is hashed once), a few at a time like an office would.
    let next = Arc::new(Mutex::new(names.clone()));
    let adders: Vec<_> = (0..4)
        .map(|_| {
            let next = next.clone();
            let url = server.url.clone();
            std::thread::spawn(move || {
                let office = Office::login(&url);
                while let Some(name) = next.lock().unwrap().pop() {
                    office.ok(
                        Method::POST,
                        "/users",
                        Some(json!({"username": name, "name": name, "role": "technician",
                            "password": support::PASSWORD})),
                    );
                }
            })
        })
        .collect();
    adders.into_iter().for_each(|h| h.join().unwrap());
    let rows: Vec<Value> = names
        .iter()
        .map(|name| {
            json!({"customer_id": customer, "job_type": "maintenance", "priority": "normal",
                "problem": format!("Yearly service for {name}"), "assignee": name})
        })
        .collect();
    let (status, body) = office.call(Method::POST, "/work-orders/import", Some(json!(rows)));
    assert_eq!(status, 201, "{body}");
    // Sign in and take the day, a few devices at a time.
    let next = Arc::new(Mutex::new(names));
    let signers: Vec<_> = (0..4)
        .map(|_| {
            let next = next.clone();
            let url = server.url.clone();
            std::thread::spawn(move || {
                let mut ready = Vec::new();
                loop {
                    let Some(name) = next.lock().unwrap().pop() else {
                        return ready;
                    };
                    let mut d = Device::new(&format!("{name}-tablet"), &url, &name, 0);
                    d.sync_ok();
                    let job = d.jobs()[0];
                    for k in 0..20 {
                        d.replica
                            .add_note(job, &format!("{name} reading {k}: 231 V"))
                            .unwrap();
                    }
                    ready.push(d);
                }
            })
        })
        .collect();
    let devices: Vec<Device> = signers
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    let setup = t.elapsed();
    let barrier = Arc::new(Barrier::new(devices.len() + 1));
    let handles: Vec<_> = devices
        .into_iter()
        .map(|mut d| {
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                let t = Instant::now();
                let r = d.sync_ok();
                assert_eq!(r.pushed, 20, "{}: every op pushed", d.name);
                (t.elapsed(), r.pulled_rows)
            })
        })
        .collect();
    let server_pid = server.pid().expect("the server runs").to_string();
    let (server_cpu, devices_cpu) = (cpu_secs(&server_pid), cpu_secs("self"));
    barrier.wait();
    let start = Instant::now();
    let done: Vec<(Duration, u64)> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let wall = start.elapsed();
    let server_cpu = cpu_secs(&server_pid) - server_cpu;
    let devices_cpu = cpu_secs("self") - devices_cpu;
    let mut times: Vec<Duration> = done.iter().map(|(t, _)| *t).collect();
    times.sort();
    let pulled: u64 = done.iter().map(|(_, rows)| rows).sum();
    format!(
        "p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms, all done in {:.2} s; {} ops pushed, {} rows pulled; CPU: server {:.2} s, the devices {:.2} s (set-up {:.0} s)",
        pct(&times, 0.5),
        pct(&times, 0.99),
        pct(&times, 1.0),
        wall.as_secs_f64(),
        done.len() * 20,
        pulled,
        server_cpu,
        devices_cpu,
        setup.as_secs_f64()
    )
}

fn measure(kind: Kind, devices: usize) -> Figures {
    // Sign-in limits raised: a thousand devices sign in from this one address.
    let server = Server::start_with_demo_on(
        kind,
        &[
            ("ONSITE_LOGIN_PER_ADDRESS", "100000/1s"),
            ("ONSITE_LOGIN_PER_USER", "100000/1s"),
            ("ONSITE_LOGIN_PER_USER_ADDRESS", "100000/1s"),
        ],
    );
    let office = Office::login(&server.url);
    let push_ops_per_sec = push_throughput(&server);
    let pull_rows_per_sec = pull_rate(&server);
    let (day_end, first_sync) = forty_jobs(&server, &office);
    let crowd = crowd(&server, &office, devices);
    Figures {
        push_ops_per_sec,
        pull_rows_per_sec,
        first_sync,
        day_end,
        crowd,
    }
}

fn main() {
    let devices: usize = std::env::var("ONSITE_BENCH_DEVICES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let raw = raw_sqlite_ops_per_sec(PUSH_OPS);
    println!(
        "reference: raw SQLite UPDATE + change-log INSERT, 500 per transaction: {raw:.0} ops/s"
    );
    let mut kinds = vec![Kind::Embedded];
    if Kind::postgres_s3_available() {
        kinds.push(Kind::PostgresS3);
    } else {
        println!(
            "SKIPPED PostgreSQL + S3: no servers; run under scripts/with-postgres scripts/with-seaweedfs"
        );
    }
    for kind in kinds {
        let f = measure(kind, devices);
        println!("== {}", kind.label());
        println!(
            "push apply: {:.0} ops/s = {:.3}x the raw reference",
            f.push_ops_per_sec,
            f.push_ops_per_sec / raw
        );
        println!("pull: {:.0} rows/s", f.pull_rows_per_sec);
        println!("day-end sync of 40 jobs worked offline: {}", f.day_end);
        println!(
            "a new device's first sync of those 40 jobs: {}",
            f.first_sync
        );
        println!(
            "{devices} devices at once (20 ops each, then their changes): {}",
            f.crowd
        );
    }
}
