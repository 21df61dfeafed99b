//! Whole-system test utilities: the real `onsite-server` binary on loopback, devices with
//! real replicas, the office over HTTP, and a fault-injecting TCP proxy.
#![allow(dead_code)]

pub mod blobs;
pub mod proxy;
pub mod store;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use onsite_client::{Day, JobScope, Replica, ReplicaOptions, RetryPolicy, SyncError, SyncReport};
use onsite_model::clock::{Clock, SkewedClock, SystemIds};
use onsite_model::ids::{DeviceId, WorkOrderId};
use serde_json::{Value, json};

pub const PASSWORD: &str = "onsite-demo";

/// A binary of this workspace, next to the test executable's folder. `ONSITE_SERVER_BIN`
/// names another server binary (benches compare two builds in one run).
/// The base URL (`http://host:port`) a just-spawned `onsite-server serve` (stdout piped)
/// listens on, read from the first line it prints.
pub fn listening_url(child: &mut Child) -> String {
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("the server's stdout is piped"))
        .read_line(&mut line)
        .expect("the server's first line");
    line.trim()
        .strip_prefix("onsite-server listening on ")
        .unwrap_or_else(|| panic!("the server said {line:?}"))
        .to_owned()
}

pub fn bin(name: &str) -> PathBuf {
    if name == "onsite-server"
        && let Some(path) = std::env::var_os("ONSITE_SERVER_BIN")
    {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().expect("test exe");
    let dir = exe.parent().and_then(Path::parent).expect("target dir");
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: run `cargo build --workspace --bins` first",
        path.display()
    );
    path
}

/// The real server, started on port 0 in its own data folder.
pub struct Server {
    pub url: String,
    pub addr: String,
    pub data: PathBuf,
    pub kind: store::Kind,
    env: Vec<(String, String)>,
    _dir: Option<tempfile::TempDir>,
    child: Option<Child>,
}

impl Server {
    /// A fresh server with the demo day loaded (alice and bob technicians, dana dispatcher),
    /// on this run's store.
    pub fn start_with_demo() -> Server {
        Server::start_with_demo_on(store::Kind::of_run(), &[])
    }

    /// A fresh server with the demo day on the given store, its environment extended by
    /// `env` (limits a bench raises, for instance).
    pub fn start_with_demo_on(kind: store::Kind, env: &[(&str, &str)]) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().to_owned();
        store::create(&data, kind);
        let out = Command::new(bin("onsite-server"))
            .args(["demo", "load", "--data"])
            .arg(&data)
            .envs(store::env(&data, kind))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "demo load: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut s = Server {
            url: String::new(),
            addr: "127.0.0.1:0".into(),
            data,
            kind,
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            _dir: Some(dir),
            child: None,
        };
        s.spawn();
        s
    }

    fn spawn(&mut self) {
        let mut child = Command::new(bin("onsite-server"))
            .args(["serve", "--listen", &self.addr, "--data"])
            .arg(&self.data)
            .envs(store::env(&self.data, self.kind))
            .envs(self.env.iter().cloned())
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let url = listening_url(&mut child);
        self.addr = url.trim_start_matches("http://").to_owned();
        self.url = url;
        self.child = Some(child);
    }

    /// The running server's process id.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// SIGKILL: no graceful shutdown, whatever was in flight is cut.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().unwrap();
            c.wait().unwrap();
        }
    }

    /// Starts again on the same address and data.
    pub fn restart(&mut self) {
        self.kill9();
        for _ in 0..50 {
            let probe = std::net::TcpListener::bind(&self.addr);
            if probe.is_ok() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.spawn();
    }

    pub fn admin(&self, args: &[&str], stdin: &str) -> String {
        let mut child = Command::new(bin("onsite-server"))
            .args(args)
            .arg("--data")
            .arg(&self.data)
            .envs(store::env(&self.data, self.kind))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "onsite-server {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill9();
    }
}

pub fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        attempts: 10,
        first_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(200),
        request_timeout: Duration::from_secs(5),
    }
}

/// A technician's device: a real replica in its own folder, optionally with a wrong clock.
pub struct Device {
    pub name: String,
    pub replica: Replica,
    pub url: String,
    _dir: tempfile::TempDir,
}

impl Device {
    pub fn new(name: &str, url: &str, username: &str, clock_offset_ms: i64) -> Device {
        let dir = tempfile::tempdir().unwrap();
        let clock: Arc<dyn Clock> = Arc::new(SkewedClock {
            offset_ms: clock_offset_ms,
        });
        let mut replica = Replica::open(
            dir.path(),
            ReplicaOptions {
                clock,
                ids: Arc::new(SystemIds),
                schema_upto: None,
            },
        )
        .unwrap();
        replica
            .login(url, username, PASSWORD, name)
            .unwrap_or_else(|e| panic!("{name} login: {e}"));
        Device {
            name: name.into(),
            replica,
            url: url.into(),
            _dir: dir,
        }
    }

    pub fn sync(&mut self) -> Result<SyncReport, SyncError> {
        self.replica.sync(fast_retry(), &mut |_| {})
    }

    pub fn sync_ok(&mut self) -> SyncReport {
        self.sync()
            .unwrap_or_else(|e| panic!("{} sync: {e}", self.name))
    }

    pub fn jobs(&self) -> Vec<WorkOrderId> {
        let end = chrono::Utc::now() + chrono::Duration::days(3650);
        self.replica
            .jobs(JobScope::All, Day { end })
            .unwrap()
            .into_iter()
            .map(|j| j.id)
            .collect()
    }

    pub fn token(&self) -> String {
        self.replica
            .connection()
            .query_row("SELECT token FROM sync_state WHERE id = 1", [], |r| {
                r.get(0)
            })
            .unwrap()
    }

    pub fn local_checksum(&self) -> String {
        self.replica.visible_state().unwrap().1
    }

    /// The server's view of what this device may see.
    pub fn server_snapshot(&self) -> Value {
        let resp = reqwest::blocking::Client::new()
            .get(format!("{}/api/v1/sync/snapshot", self.url))
            .bearer_auth(self.token())
            .send()
            .unwrap();
        assert!(resp.status().is_success(), "snapshot: {}", resp.status());
        resp.json().unwrap()
    }

    /// Asserts the replica holds exactly what the server says this device may see, and
    /// explains the first difference when it does not.
    pub fn assert_converged(&self) {
        let server = self.server_snapshot();
        let (rows, local) = self.replica.visible_state().unwrap();
        if server["checksum"].as_str().unwrap() == local {
            return;
        }
        let server_rows: Vec<onsite_model::wire::VisibleRow> =
            serde_json::from_value(server["rows"].clone()).unwrap();
        for s in &server_rows {
            match rows.iter().find(|l| l.kind == s.kind && l.id == s.id) {
                None => panic!("{}: missing {} {} locally", self.name, s.kind, s.id),
                Some(l) if l.row != s.row => {
                    panic!(
                        "{}: {} {} differs\n local: {}\nserver: {}",
                        self.name, s.kind, s.id, l.row, s.row
                    )
                }
                _ => {}
            }
        }
        for l in &rows {
            if !server_rows.iter().any(|s| s.kind == l.kind && s.id == l.id) {
                panic!(
                    "{}: {} {} is local only: {}",
                    self.name, l.kind, l.id, l.row
                );
            }
        }
        panic!("{}: checksums differ but no row does", self.name);
    }
}

/// The back office over the REST API, signed in as the demo dispatcher.
pub struct Office {
    url: String,
    token: String,
    http: reqwest::blocking::Client,
}

impl Office {
    pub fn login(url: &str) -> Office {
        let http = reqwest::blocking::Client::new();
        let device = DeviceId::new(&SystemIds);
        let resp: Value = http
            .post(format!("{url}/api/v1/auth/login"))
            .json(&json!({"username": "dana", "password": PASSWORD, "device_id": device, "device_name": "office"}))
            .send()
            .unwrap()
            .json()
            .unwrap();
        Office {
            url: url.into(),
            token: resp["token"].as_str().expect("token").into(),
            http,
        }
    }

    pub fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}/api/v1{path}", self.url))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().unwrap_or(Value::Null))
    }

    pub fn ok(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let (status, v) = self.call(method.clone(), path, body);
        assert!(
            (200..300).contains(&status),
            "{method} {path}: {status} {v}"
        );
        v
    }

    pub fn job(&self, id: WorkOrderId) -> Value {
        self.ok(reqwest::Method::GET, &format!("/work-orders/{id}"), None)
    }

    pub fn assign(&self, id: WorkOrderId, username: &str) -> Value {
        self.ok(
            reqwest::Method::POST,
            &format!("/work-orders/{id}/assign"),
            Some(json!({"username": username})),
        )
    }

    pub fn cancel(&self, id: WorkOrderId, reason: &str) -> Value {
        self.ok(
            reqwest::Method::POST,
            &format!("/work-orders/{id}/cancel"),
            Some(json!({"reason": reason})),
        )
    }

    pub fn reschedule(&self, id: WorkOrderId, start: &str, end: &str) -> Value {
        self.ok(
            reqwest::Method::POST,
            &format!("/work-orders/{id}/reschedule"),
            Some(json!({"appointment_start": start, "appointment_end": end})),
        )
    }

    pub fn conflicts(&self) -> Vec<Value> {
        self.ok(reqwest::Method::GET, "/conflicts", None)
            .as_array()
            .unwrap()
            .clone()
    }
}
