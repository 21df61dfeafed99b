//! Sign-in figures from the real server binary with production password hashing: latency
//! (p50/p99) for a known user with a wrong password and for an unknown user, and the
//! server's peak resident memory under 32 concurrent sign-ins, with the hashing queue at its
//! default (one per core) and opened wide (32 at once, as before the queue existed).
//! A measurement, not a test: it prints and asserts nothing about time.
//!
//! `cargo test --release -p onsite-server --test login_figures -- --ignored --nocapture`

mod common;

use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_onsite-server"));
    c.env_remove("ONSITE_DATA")
        .env_remove("ONSITE_LISTEN")
        .env("RUST_LOG", "warn");
    c
}

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(data: &str, hash_concurrency: Option<usize>) -> Server {
    let mut cmd = bin();
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--data", data])
        // Limits out of the way: this measures the hashing, not the throttling.
        .env("ONSITE_LOGIN_PER_USER_ADDRESS", "1000000/1s")
        .env("ONSITE_LOGIN_PER_USER", "1000000/1s")
        .env("ONSITE_LOGIN_PER_ADDRESS", "1000000/1s")
        .stdout(Stdio::piped());
    if let Some(n) = hash_concurrency {
        cmd.env("ONSITE_LOGIN_HASH_CONCURRENCY", n.to_string());
    }
    let mut child = cmd.spawn().unwrap();
    let base = common::listening_url(&mut child);
    Server { child, base }
}

fn rss_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn sign_in(http: &reqwest::blocking::Client, base: &str, user: &str, password: &str) -> u16 {
    http.post(format!("{base}/api/v1/auth/login"))
        .json(&serde_json::json!({"username": user, "password": password,
            "device_id": uuid::Uuid::now_v7(), "device_name": "bench"}))
        .send()
        .unwrap()
        .status()
        .as_u16()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn latencies(base: &str, user: &str, password: &str, n: usize) -> (Duration, Duration) {
    let http = reqwest::blocking::Client::new();
    let mut times: Vec<Duration> = (0..n)
        .map(|_| {
            let t = Instant::now();
            assert_eq!(sign_in(&http, base, user, password), 401);
            t.elapsed()
        })
        .collect();
    times.sort();
    (percentile(&times, 0.5), percentile(&times, 0.99))
}

fn peak_under_burst(data: &str, hash_concurrency: Option<usize>) -> (u64, u64, Duration) {
    let server = serve(data, hash_concurrency);
    let pid = server.child.id();
    // Warm up: one sign-in so the idle figure includes a served request.
    let http = reqwest::blocking::Client::new();
    sign_in(&http, &server.base, "alice", "wrong-password");
    let idle = rss_kib(pid, "VmRSS:");
    let started = Instant::now();
    let threads: Vec<_> = (0..32)
        .map(|_| {
            let base = server.base.clone();
            std::thread::spawn(move || {
                let http = reqwest::blocking::Client::new();
                sign_in(&http, &base, "alice", "onsite-figures")
            })
        })
        .collect();
    for t in threads {
        assert_eq!(t.join().unwrap(), 200);
    }
    let all = started.elapsed();
    (idle, rss_kib(pid, "VmHWM:"), all)
}

#[test]
#[ignore = "prints figures; run with --release -- --ignored --nocapture"]
fn sign_in_latency_and_memory() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let mut add = bin()
        .args([
            "user",
            "add",
            "--username",
            "alice",
            "--name",
            "Alice",
            "--role",
            "technician",
            "--data",
            data,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    add.stdin
        .take()
        .unwrap()
        .write_all(b"onsite-figures\n")
        .unwrap();
    assert!(add.wait().unwrap().success());

    let server = serve(data, None);
    let (known50, known99) = latencies(&server.base, "alice", "wrong-password", 40);
    let (unknown50, unknown99) = latencies(&server.base, "nobody", "wrong-password", 40);
    drop(server);
    println!("sign-in, wrong password for a known user: p50 {known50:.1?}  p99 {known99:.1?}");
    println!("sign-in, unknown user:                    p50 {unknown50:.1?}  p99 {unknown99:.1?}");

    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    for (label, n) in [
        (format!("queue at {cores} (default, one per core)"), None),
        ("queue opened to 32".to_owned(), Some(32)),
    ] {
        let (idle, peak, all) = peak_under_burst(data, n);
        println!(
            "32 concurrent sign-ins, {label}: RSS idle {} MiB, peak {} MiB; all done in {all:.1?}",
            idle / 1024,
            peak / 1024
        );
    }
}
