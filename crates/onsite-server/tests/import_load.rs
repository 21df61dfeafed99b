//! Figures, not a test (ignored; run it in release): a 100,000-row CSV work-order import
//! through the real server binary on loopback while a technician's device pushes one op
//! every 50 ms and pulls every 50 ms. Prints the import's time and the longest push and pull
//! waits during it, on SQLite and (under `scripts/with-postgres`) on PostgreSQL:
//!
//! `cargo test --release -p onsite-server --test import_load -- --ignored --nocapture`

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use onsite_model::time::parse_ts;
use onsite_model::wire::{PROTOCOL_VERSION, PushRequest};
use onsite_model::{Change, DeviceId, EntityKind, Hlc, Op, SCHEMA_VERSION, TxId, WorkOrderId};
use serde_json::{Value, json};

/// Rows in the import; `ONSITE_BENCH_ROWS` changes it.
fn rows() -> usize {
    std::env::var("ONSITE_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000)
}

/// One HTTP/1.0 exchange (no chunked bodies, the connection closes after the answer).
fn http(
    addr: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    ct: &str,
    body: &[u8],
) -> (u16, Vec<u8>) {
    let mut s = TcpStream::connect(addr).unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.0\r\nHost: onsite\r\nContent-Type: {ct}\r\nContent-Length: {}\r\n",
        body.len()
    );
    if let Some(t) = token {
        head.push_str(&format!("Authorization: Bearer {t}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    let split = out
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a response");
    let status: u16 = std::str::from_utf8(&out[9..12]).unwrap().parse().unwrap();
    (status, out[split + 4..].to_vec())
}

fn json_call(addr: &str, method: &str, path: &str, token: Option<&str>, body: Value) -> Value {
    let (status, body) = http(
        addr,
        method,
        path,
        token,
        "application/json",
        body.to_string().as_bytes(),
    );
    assert!(
        status < 300,
        "{method} {path}: {status} {}",
        String::from_utf8_lossy(&body)
    );
    serde_json::from_slice(&body).unwrap()
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn server(data: &std::path::Path, database: Option<&str>) -> (Server, String) {
    let db: Vec<&str> = database.map(|u| vec!["--database", u]).unwrap_or_default();
    let out = Command::new(env!("CARGO_BIN_EXE_onsite-server"))
        .args(["demo", "load", "--data"])
        .arg(data)
        .args(&db)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_onsite-server"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(data)
        .args(&db)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let url = common::listening_url(&mut child);
    let addr = url.trim_start_matches("http://").to_owned();
    (Server(child), addr)
}

fn login(addr: &str, username: &str) -> (String, DeviceId) {
    let device = DeviceId(uuid::Uuid::now_v7());
    let r = json_call(
        addr,
        "POST",
        "/api/v1/auth/login",
        None,
        json!({
            "username": username, "password": "onsite-demo", "device_id": device, "device_name": "bench"
        }),
    );
    (r["token"].as_str().unwrap().to_owned(), device)
}

fn note_op(device: DeviceId, seq: u64, wo: WorkOrderId) -> Op {
    let id = uuid::Uuid::now_v7().to_string();
    Op {
        device_id: device,
        device_seq: seq,
        tx_id: TxId(uuid::Uuid::now_v7()),
        entity: EntityKind::Note,
        entity_id: id.clone(),
        work_order_id: wo,
        change: Change::Insert {
            row: json!({"id": id, "work_order_id": wo, "body": format!("reading {seq}"),
                "author_id": null, "created_at": "2026-11-22T09:10:00.000Z"}),
        },
        base_version: None,
        hlc: Hlc::new(1_795_000_000_000 + seq * 1000, 0),
        recorded_at: parse_ts("2026-11-22T09:00:00Z").unwrap(),
        schema_version: SCHEMA_VERSION,
    }
}

/// Runs `each` every 50 ms until `stop`; returns every call's duration.
fn every_50ms(
    stop: Arc<AtomicBool>,
    mut each: impl FnMut(u64) + Send + 'static,
) -> std::thread::JoinHandle<Vec<Duration>> {
    std::thread::spawn(move || {
        let mut waits = Vec::new();
        let mut i = 0;
        while !stop.load(Ordering::Relaxed) {
            i += 1;
            let t = Instant::now();
            each(i);
            waits.push(t.elapsed());
            std::thread::sleep(Duration::from_millis(50));
        }
        waits
    })
}

fn run(label: &str, database: Option<&str>) {
    let dir = tempfile::tempdir().unwrap();
    let (_server, addr) = server(dir.path(), database);
    let (office, _) = login(&addr, "dana");
    let (alice, device) = login(&addr, "alice");
    let customers = json_call(
        &addr,
        "GET",
        "/api/v1/customers",
        Some(&office),
        Value::Null,
    );
    let customers: Vec<String> = customers
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect();
    let jobs = json_call(
        &addr,
        "GET",
        "/api/v1/work-orders",
        Some(&alice),
        Value::Null,
    );
    let job: WorkOrderId = serde_json::from_value(jobs[0]["id"].clone()).unwrap();
    let mut csv = String::from("customer_id,job_type,priority,problem,assignee\n");
    let rows = rows();
    for i in 0..rows {
        let who = ["alice", "bob", ""][i % 3];
        let ty = ["repair", "maintenance", "inspection", "install"][i % 4];
        csv.push_str(&format!(
            "{},{ty},normal,Leak {i},{who}\n",
            customers[i % customers.len()]
        ));
    }

    let stop = Arc::new(AtomicBool::new(false));
    let (a, t) = (addr.clone(), alice.clone());
    let pushes = every_50ms(stop.clone(), move |seq| {
        let req = PushRequest {
            protocol: PROTOCOL_VERSION,
            device_id: device,
            ops: vec![note_op(device, seq, job)],
        };
        let (status, body) = http(
            &a,
            "POST",
            "/api/v1/sync/push",
            Some(&t),
            "application/json",
            &serde_json::to_vec(&req).unwrap(),
        );
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    });
    let (a, t) = (addr.clone(), alice.clone());
    let pulls = every_50ms(stop.clone(), move |_| {
        let (status, _) = http(
            &a,
            "GET",
            "/api/v1/sync/pull?cursor=0&limit=50",
            Some(&t),
            "application/json",
            b"",
        );
        assert_eq!(status, 200);
    });
    std::thread::sleep(Duration::from_millis(500));
    let started = Instant::now();
    let (status, body) = http(
        &addr,
        "POST",
        "/api/v1/work-orders/import",
        Some(&office),
        "text/csv",
        csv.as_bytes(),
    );
    let took = started.elapsed();
    assert_eq!(
        status,
        201,
        "{}",
        String::from_utf8_lossy(&body[..body.len().min(500)])
    );
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::Relaxed);
    let (pushes, pulls) = (pushes.join().unwrap(), pulls.join().unwrap());
    let max = |w: &[Duration]| w.iter().max().copied().unwrap_or_default();
    println!(
        "{label}: {rows}-row CSV import ({} KiB) {:.2} s; {} pushes during the run, longest wait {:.0} ms; {} pulls, longest {:.0} ms",
        csv.len() / 1024,
        took.as_secs_f64(),
        pushes.len(),
        max(&pushes).as_secs_f64() * 1e3,
        pulls.len(),
        max(&pulls).as_secs_f64() * 1e3,
    );
}

#[test]
#[ignore = "figures: run in release with --ignored --nocapture"]
fn import_while_a_device_pushes_and_pulls() {
    run("sqlite", None);
    if common::postgres_url("import_while_a_device_pushes_and_pulls").is_some() {
        let url = common::fresh_postgres_database();
        run("postgres", Some(&url));
    }
}
