//! Sync figures against the real server binary on loopback (started on port 0 in a temp
//! folder): blob upload throughput, and a technician's day-end sync (40 jobs, 120 photos).
//!
//! Needs the server built first, ideally in release:
//! `cargo build --release -p onsite-server && cargo bench -p onsite-client --bench sync`
//! (`ONSITE_SERVER_BIN` overrides where it is looked for).

#[path = "../../../tests/support/mod.rs"]
mod support;

use std::path::Path;
use std::time::Instant;

use onsite_client::{Replica, ReplicaOptions, RetryPolicy, SyncReport};
use onsite_model::entities::PhotoKind;
use onsite_model::ids::WorkOrderId;
use serde_json::{Value, json};

const PASSWORD: &str = "onsite-demo";

fn device(dir: &Path, url: &str, name: &str) -> Replica {
    let mut r = Replica::open(dir, ReplicaOptions::default()).unwrap();
    r.login(url, "alice", PASSWORD, name).unwrap();
    r
}

fn sync(r: &mut Replica) -> SyncReport {
    r.sync(RetryPolicy::default(), &mut |_| {}).unwrap()
}

fn pending_bytes(r: &Replica) -> u64 {
    r.pending_blobs()
        .unwrap()
        .iter()
        .map(|b| b.size_bytes)
        .sum()
}

fn open_jobs(r: &Replica) -> Vec<WorkOrderId> {
    let end = chrono::Utc::now() + chrono::Duration::days(3650);
    r.jobs(onsite_client::JobScope::All, onsite_client::Day { end })
        .unwrap()
        .into_iter()
        .map(|j| j.id)
        .filter(|id| !r.job(*id).unwrap().work_order.status.is_closed())
        .collect()
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1_000_000.0
}

/// Photos totalling at least 50 MB on one job, then one sync that uploads them.
fn upload_throughput(url: &str, files: &Path) {
    let dir = tempfile::tempdir().unwrap();
    let mut r = device(dir.path(), url, "bench-upload");
    sync(&mut r);
    let job = open_jobs(&r)[0];
    let mut i = 0u64;
    while pending_bytes(&r) < 50_000_000 {
        let file = files.join(format!("big-{i}.png"));
        std::fs::write(
            &file,
            onsite_client::photo::sample_noise_png(1600, 1200, 1000 + i),
        )
        .unwrap();
        r.attach_photo(job, &file, PhotoKind::Other, None).unwrap();
        i += 1;
    }
    let bytes = pending_bytes(&r);
    let blobs = r.pending_blobs().unwrap().len();
    let started = Instant::now();
    let report = sync(&mut r);
    let secs = started.elapsed().as_secs_f64();
    assert_eq!(report.blobs_uploaded as usize, blobs);
    println!(
        "upload: {blobs} blobs, {:.1} MB in {:.2} s on loopback = {:.1} MB/s ({} bytes on the wire sent)",
        mb(bytes),
        secs,
        mb(bytes) / secs,
        report.bytes_sent
    );
}

fn office_token(url: &str) -> String {
    let v: Value = reqwest::blocking::Client::new()
        .post(format!("{url}/api/v1/auth/login"))
        .json(&json!({"username": "dana", "password": PASSWORD,
                      "device_id": uuid::Uuid::now_v7(), "device_name": "bench office"}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    v["token"].as_str().unwrap().to_owned()
}

/// 40 jobs worked offline with 3 photos each (~300–800 KB), then one day-end sync.
fn day_end(url: &str, files: &Path) {
    let http = reqwest::blocking::Client::new();
    let token = office_token(url);
    let customers: Value = http
        .get(format!("{url}/api/v1/customers"))
        .bearer_auth(&token)
        .send()
        .unwrap()
        .json()
        .unwrap();
    let customer = customers[0]["id"].clone();
    let dir = tempfile::tempdir().unwrap();
    let mut r = device(dir.path(), url, "bench-day");
    sync(&mut r);
    let have = open_jobs(&r).len();
    for i in have..40 {
        let resp = http
            .post(format!("{url}/api/v1/work-orders"))
            .bearer_auth(&token)
            .json(&json!({"customer_id": customer, "job_type": "maintenance",
                          "problem": format!("Annual service {i}"), "assignee": "alice"}))
            .send()
            .unwrap();
        assert!(resp.status().is_success(), "create job: {}", resp.status());
    }
    sync(&mut r);
    let jobs: Vec<WorkOrderId> = open_jobs(&r).into_iter().take(40).collect();
    let mut seed = 7u64;
    let kinds = [PhotoKind::Before, PhotoKind::After, PhotoKind::SerialPlate];
    for (n, job) in jobs.iter().enumerate() {
        onsite_client::sample::work_the_checklist(&mut r, *job).unwrap();
        r.set_work_done(*job, "Serviced, filters replaced").unwrap();
        for (k, kind) in kinds.iter().enumerate() {
            seed += 1;
            // 300–800 KB of noise pixels.
            let side = 400 + ((n * 3 + k) * 37 % 250) as u32;
            let file = files.join(format!("day-{n}-{k}.png"));
            std::fs::write(
                &file,
                onsite_client::photo::sample_noise_png(side, side, seed),
            )
            .unwrap();
            r.attach_photo(*job, &file, *kind, None).unwrap();
        }
        onsite_client::sample::sign_as_customer(&mut r, *job).unwrap();
        r.complete(*job).unwrap();
    }
    let pending_ops = r.sync_status().unwrap().pending_ops;
    let blobs = r.pending_blobs().unwrap();
    let blob_bytes: u64 = blobs.iter().map(|b| b.size_bytes).sum();
    let started = Instant::now();
    let report = sync(&mut r);
    let secs = started.elapsed().as_secs_f64();
    println!(
        "day-end sync: {} jobs, {pending_ops} ops, {} blobs ({:.1} MB, avg {:.0} KB) in {:.2} s; \
         on the wire: {:.1} MB sent, {:.2} MB received, {} pull rows",
        jobs.len(),
        blobs.len(),
        mb(blob_bytes),
        blob_bytes as f64 / blobs.len().max(1) as f64 / 1000.0,
        secs,
        mb(report.bytes_sent),
        mb(report.bytes_received),
        report.pulled_rows
    );
    assert_eq!(report.blobs_uploaded as usize, blobs.len());
}

fn main() {
    // `cargo test --benches` runs bench binaries with `--bench` absent; stay quick there.
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    println!("server: {}", support::bin("onsite-server").display());
    let files = tempfile::tempdir().unwrap();
    {
        let server = support::Server::start_with_demo();
        upload_throughput(&server.url, files.path());
    }
    {
        let server = support::Server::start_with_demo();
        day_end(&server.url, files.path());
    }
}
