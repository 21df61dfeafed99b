//! Sync figures against the real server binary on loopback (not a test: it prints numbers).
//! Build the release binaries first, then run:
//!   cargo build --release --workspace --bins && cargo bench -p onsite-client --bench sync_load
#[path = "../../../tests/support/mod.rs"]
mod support;

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use onsite_model::checklist::AnswerValue;
use reqwest::Method;
use serde_json::json;
use support::{Device, Office, Server};

fn pct(sorted: &[Duration], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize].as_secs_f64() * 1e3
}

fn main() {
    let server = Server::start_with_demo();
    let office = Office::login(&server.url);
    println!("server: {}", server.url);

    // Push and pull throughput: 5,000 notes written offline, then a fresh device pulls them.
    let mut writer = Device::new("alice-tablet", &server.url, "alice", 0);
    writer.sync_ok();
    let jobs = writer.jobs();
    for i in 0..5000 {
        writer
            .replica
            .add_note(
                jobs[i % jobs.len()],
                &format!("note {i}: customer asked about the warranty"),
            )
            .unwrap();
    }
    let t = Instant::now();
    let r = writer.sync_ok();
    let secs = t.elapsed().as_secs_f64();
    println!(
        "push: {} ops in {:.2} s = {:.0} ops/s ({} KiB sent)",
        r.pushed,
        secs,
        r.pushed as f64 / secs,
        r.bytes_sent / 1024
    );
    let mut reader = Device::new("alice-laptop", &server.url, "alice", 0);
    let t = Instant::now();
    let r = reader.sync_ok();
    let secs = t.elapsed().as_secs_f64();
    println!(
        "pull: {} rows in {} pages, {:.2} s = {:.0} rows/s ({} KiB received)",
        r.pulled_rows,
        r.pull_pages,
        secs,
        r.pulled_rows as f64 / secs,
        r.bytes_received / 1024
    );

    // One technician's day-end sync: 40 jobs worked offline, about 2,000 ops.
    let users = office.ok(Method::GET, "/users", None);
    let bob = users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "bob")
        .unwrap()["id"]
        .clone();
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
    let day: Vec<_> = tech.jobs();
    for (i, job) in day.iter().enumerate().take(40) {
        let r = &mut tech.replica;
        let _ = r.start_travel(*job);
        let _ = r.arrive(*job);
        let _ = r.start_work(*job);
        for key in [
            "appointment_confirmed",
            "shoe_covers",
            "fault_confirmed",
            "test_run_ok",
            "site_cleaned",
            "fault_explained",
        ] {
            let _ = r.answer(*job, key, AnswerValue::Check(true));
        }
        let _ = r.answer(*job, "root_cause", AnswerValue::Choice("wear".into()));
        let _ = r.set_diagnosis(
            *job,
            "Breaker trips on compressor start: failing start capacitor",
        );
        let _ = r.set_work_done(*job, "Replaced the start capacitor, tested 3 start cycles");
        for p in 0..3 {
            let _ = r.add_part(*job, &format!("CAP-{p}"), "Start capacitor 35uF", 1.0);
        }
        for n in 0..30 {
            let _ = r.add_note(*job, &format!("job {i} reading {n}: 231 V, 4.2 A"));
        }
    }
    let ops = tech.replica.pending_op_count().unwrap();
    let t = Instant::now();
    let r = tech.sync_ok();
    println!(
        "day-end sync: 40 jobs, {} ops in {:.0} ms; {} KiB sent, {} KiB received",
        ops,
        t.elapsed().as_secs_f64() * 1e3,
        r.bytes_sent / 1024,
        r.bytes_received / 1024
    );

    // 200 devices syncing at once (100 each for alice and bob), 20 pending ops each.
    let mut devices: Vec<Device> = (0..200)
        .map(|i| {
            let who = if i % 2 == 0 { "alice" } else { "bob" };
            let mut d = Device::new(&format!("{who}-{i}"), &server.url, who, 0);
            d.sync_ok();
            d
        })
        .collect();
    for d in &mut devices {
        let jobs = d.jobs();
        for n in 0..20 {
            d.replica
                .add_note(jobs[n % jobs.len()], &format!("{} note {n}", d.name))
                .unwrap();
        }
    }
    let barrier = Arc::new(Barrier::new(devices.len()));
    let handles: Vec<_> = devices
        .into_iter()
        .map(|mut d| {
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                let t = Instant::now();
                let r = d.sync_ok();
                (t.elapsed(), r.pulled_rows)
            })
        })
        .collect();
    let start = Instant::now();
    let done: Vec<(Duration, u64)> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let wall = start.elapsed();
    let mut times: Vec<Duration> = done.iter().map(|(t, _)| *t).collect();
    times.sort();
    // How much each device catches up on depends on how many of the others' pushes landed
    // before its pull: a faster push path means more rows to pull, so say how many.
    let pulled: u64 = done.iter().map(|(_, rows)| rows).sum();
    println!(
        "200 devices at once (20 ops each + catch-up pull): p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms, all done in {:.1} s; {} rows pulled in all",
        pct(&times, 0.5),
        pct(&times, 0.99),
        pct(&times, 1.0),
        wall.as_secs_f64(),
        pulled
    );
}
