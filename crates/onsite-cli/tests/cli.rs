//! The `onsite` binary as a script or a support engineer uses it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

fn onsite(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_onsite"))
        .arg("--data")
        .arg(data)
        .args(args)
        .env_remove("ONSITE_FAULT")
        .output()
        .expect("run onsite")
}

fn ok(data: &Path, args: &[&str]) -> String {
    let out = onsite(data, args);
    assert!(
        out.status.success(),
        "onsite {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn json(data: &Path, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    serde_json::from_str(&ok(data, &all)).unwrap()
}

fn first_job(data: &Path) -> String {
    json(data, &["jobs", "--scope", "all"])[0]["number"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn a_visit_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(d, &["import", "--sample", "--count", "3"]);
    let job = first_job(d);
    ok(d, &["travel", &job]);
    ok(d, &["arrive", &job]);
    ok(d, &["start", &job]);
    for item in [
        "appointment_confirmed",
        "shoe_covers",
        "fault_confirmed",
        "test_run_ok",
        "site_cleaned",
        "fault_explained",
    ] {
        ok(d, &["answer", &job, item, "yes"]);
    }
    ok(d, &["answer", &job, "root_cause", "wear"]);
    ok(d, &["diagnosis", &job, "Scale on the heat exchanger"]);
    ok(
        d,
        &[
            "part",
            "add",
            &job,
            "--part-no",
            "HX-3",
            "--description",
            "Heat exchanger gasket",
            "--qty",
            "2",
        ],
    );
    let photo = d.join("p.jpg");
    std::fs::write(&photo, onsite_client::photo::sample_photo(48, 32, 1)).unwrap();
    ok(
        d,
        &["photo", &job, photo.to_str().unwrap(), "--kind", "before"],
    );
    std::fs::write(&photo, onsite_client::photo::sample_photo(48, 32, 2)).unwrap();
    ok(
        d,
        &[
            "photo",
            &job,
            photo.to_str().unwrap(),
            "--kind",
            "after",
            "--caption",
            "new gasket",
        ],
    );
    let strokes = d.join("sig.json");
    std::fs::write(
        &strokes,
        r#"[[{"x":1,"y":2,"t":0},{"x":30,"y":12,"t":80}]]"#,
    )
    .unwrap();
    ok(
        d,
        &[
            "sign",
            &job,
            "--signer",
            "Li Na",
            "--strokes",
            strokes.to_str().unwrap(),
        ],
    );
    ok(
        d,
        &[
            "feedback",
            &job,
            "--rating",
            "5",
            "--nps",
            "9",
            "--comment",
            "Quick and tidy",
        ],
    );
    let done = json(d, &["complete", &job]);
    assert_eq!(done["to"], "completed");

    let check = json(d, &["verify-signature", &job]);
    assert_eq!(check["signatures"][0]["matches"], true);
    let html = d.join("report.html");
    let pdf = d.join("report.pdf");
    ok(
        d,
        &[
            "report",
            &job,
            "--html",
            html.to_str().unwrap(),
            "--pdf",
            pdf.to_str().unwrap(),
        ],
    );
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("HX-3") && page.contains("Li Na"));
    assert!(std::fs::read(&pdf).unwrap().starts_with(b"%PDF"));

    let detail = json(d, &["show", &job]);
    assert_eq!(detail["work_order"]["status"], "completed");
    assert_eq!(detail["parts"][0]["quantity"], 2.0);
    assert_eq!(
        detail["missing_for_completion"].as_array().unwrap().len(),
        0
    );
    let status = json(d, &["status"]);
    let log = json(d, &["log", "--limit", "1000"]);
    assert_eq!(
        status["pending_ops"].as_u64().unwrap(),
        log.as_array().unwrap().len() as u64
    );
    assert!(
        json(d, &["jobs", "--scope", "done"])
            .as_array()
            .unwrap()
            .len()
            == 1
    );
}

#[test]
fn bad_arguments_and_unknown_ids_fail_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(d, &["import", "--sample", "--count", "2"]);
    let job = first_job(d);

    let out = onsite(d, &["show", "WO-1999-000001"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no job \"WO-1999-000001\" on this device")
    );

    let out = onsite(d, &["--json", "complete", &job]);
    assert_eq!(out.status.code(), Some(4));
    let err: serde_json::Value = serde_json::from_slice(&out.stderr).unwrap();
    assert_eq!(err["code"], "invalid_transition");

    let out = onsite(d, &["answer", &job, "shoe_covers", "maybe"]);
    assert_eq!(out.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&out.stderr).contains("answer yes or no"));

    let out = onsite(d, &["answer", &job, "no_such_item", "yes"]);
    assert_eq!(out.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&out.stderr).contains("items are: appointment_confirmed"));

    let out = onsite(d, &["feedback", &job, "--rating", "lots"]);
    assert_eq!(out.status.code(), Some(2), "clap refuses a non-number");

    let out = onsite(d, &["frobnicate"]);
    assert_eq!(out.status.code(), Some(2));

    let out = onsite(d, &["import", d.join("missing.json").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("could not read"));

    let bad = d.join("bad.json");
    std::fs::write(&bad, r#"{"work_orders": [{"id": "nope"}]}"#).unwrap();
    let out = onsite(d, &["import", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&out.stderr).contains("the import file is not valid"));

    // A data folder holding somebody else's file.
    let other = tempfile::tempdir().unwrap();
    std::fs::write(
        other.path().join("replica.db"),
        "not a database at all, really not",
    )
    .unwrap();
    let out = onsite(other.path(), &["jobs"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not an Onsite replica"));
}

/// The process is killed (SIGKILL) while its write transaction is open: after a restart,
/// neither the data change nor its ops are there, and the next write continues the
/// sequence.
#[test]
fn a_process_killed_mid_transaction_leaves_neither_data_nor_ops() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(d, &["import", "--sample", "--count", "2"]);
    let job = first_job(d);
    ok(d, &["travel", &job]);

    for point in ["after-data", "before-commit"] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_onsite"))
            .arg("--data")
            .arg(d)
            .args(["note", &job, "this note must not survive"])
            .env("ONSITE_FAULT", format!("{point}:stall:30000"))
            .spawn()
            .unwrap();
        // Wait until the writer holds the write lock (its transaction is open), then kill it.
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let probe = rusqlite::Connection::open(d.join("replica.db")).unwrap();
            probe.busy_timeout(Duration::ZERO).unwrap();
            if probe.execute_batch("BEGIN IMMEDIATE; ROLLBACK;").is_err() {
                break;
            }
            assert!(Instant::now() < deadline, "writer never started");
            std::thread::sleep(Duration::from_millis(20));
        }
        child.kill().unwrap();
        child.wait().unwrap();

        let detail = json(d, &["show", &job]);
        assert!(
            detail["notes"].as_array().unwrap().is_empty(),
            "note survived the kill at {point}"
        );
        let log = json(d, &["log"]);
        assert_eq!(
            log.as_array().unwrap().len(),
            1,
            "only the travel op at {point}"
        );
    }
    ok(d, &["note", &job, "after the crash"]);
    let seqs: Vec<u64> = json(d, &["log"])
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["op"]["device_seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, vec![2, 1]);
}

/// `onsite --json login` as alice, with the password on stdin.
fn login(data: &Path, server: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_onsite"))
        .arg("--data")
        .arg(data)
        .args(["--json", "login", "--server", server, "--username", "alice"])
        .env_remove("ONSITE_FAULT")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run onsite login");
    writeln!(child.stdin.take().unwrap(), "onsite-demo").unwrap();
    child.wait_with_output().unwrap()
}

/// The `{code, message}` a `--json` failure writes to stderr.
fn json_error(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stderr).unwrap_or_else(|e| {
        panic!(
            "stderr is not one JSON error ({e}): {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// A stand-in for the server on a loopback port: it gives each request the next answer
/// (status, JSON body), one connection each, then closes the port. Returns its URL.
fn stand_in_server(answers: Vec<(u16, serde_json::Value)>) -> (String, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let served = std::thread::spawn(move || {
        for (status, body) in answers {
            let (conn, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(conn);
            let mut length = 0;
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap();
                }
                if line == "\r\n" {
                    break;
                }
            }
            reader.read_exact(&mut vec![0; length]).unwrap();
            let body = body.to_string();
            write!(
                reader.get_mut(),
                "HTTP/1.1 {status} Answer\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            )
            .unwrap();
        }
    });
    (url, served)
}

/// What the server answers alice's sign-in from the device `device_id`.
fn signed_in_as_alice(device_id: &str) -> serde_json::Value {
    serde_json::json!({
        "token": "device-token",
        "user": {
            "id": onsite_model::ids::UserId::new(&onsite_model::clock::SystemIds),
            "username": "alice",
            "name": "Alice",
            "role": "technician",
        },
        "device_id": device_id,
        "server_time": onsite_model::time::format_ts(&chrono::Utc::now()),
        "epoch": "epoch-1",
    })
}

#[test]
fn a_sync_before_signing_in_says_not_signed_in() {
    let dir = tempfile::tempdir().unwrap();
    let out = onsite(dir.path(), &["--json", "sync", "--attempts", "1"]);
    let err = json_error(&out);
    assert_eq!(err["code"], "not_signed_in", "{err}");
    assert_eq!(out.status.code(), Some(6));
}

#[test]
fn a_sync_to_an_unreachable_server_says_server_unreachable() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let device_id = json(d, &["init"])["device_id"].as_str().unwrap().to_owned();
    let (url, served) = stand_in_server(vec![(200, signed_in_as_alice(&device_id))]);
    let out = login(d, &url);
    assert!(
        out.status.success(),
        "login: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    served.join().unwrap();

    // The port is closed now.
    let out = onsite(d, &["--json", "sync", "--attempts", "1"]);
    let err = json_error(&out);
    assert_eq!(err["code"], "server_unreachable", "{err}");
    assert!(err["message"].as_str().unwrap().contains(&url), "{err}");
    assert_eq!(out.status.code(), Some(5));

    let out = login(d, &url);
    assert_eq!(json_error(&out)["code"], "server_unreachable");
    assert_eq!(out.status.code(), Some(5));
}

#[test]
fn a_refused_sign_in_carries_the_refusal_code() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let refusal = |code: &str| serde_json::json!({ "code": code, "message": "no" });

    let (url, served) = stand_in_server(vec![(409, refusal("device_taken"))]);
    let out = login(d, &url);
    served.join().unwrap();
    assert_eq!(json_error(&out)["code"], "device_taken");
    assert_eq!(out.status.code(), Some(7), "refused by the server");

    let (url, served) = stand_in_server(vec![(401, refusal("bad_credentials"))]);
    let out = login(d, &url);
    served.join().unwrap();
    assert_eq!(json_error(&out)["code"], "unauthorized");
    assert_eq!(out.status.code(), Some(6), "sign-in refused");
}
