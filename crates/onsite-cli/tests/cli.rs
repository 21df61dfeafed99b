//! The `onsite` binary as a script or a support engineer uses it.

use std::path::Path;
use std::process::{Command, Output};
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
    // A conduct standard not met is answered "no" with its reason, and does not block.
    ok(
        d,
        &[
            "answer",
            &job,
            "shoe_covers",
            "no",
            "--reason",
            "Customer asked us to keep shoes on",
        ],
    );
    for item in [
        "appointment_confirmed",
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
    assert_eq!(detail["conduct_exceptions"][0]["key"], "shoe_covers");
    assert_eq!(
        detail["conduct_exceptions"][0]["reason"],
        "Customer asked us to keep shoes on"
    );
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

    let out = onsite(d, &["answer", &job, "test_run_ok", "maybe"]);
    assert_eq!(out.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&out.stderr).contains("answer yes or no"));
    let out = onsite(d, &["answer", &job, "shoe_covers", "maybe"]);
    assert_eq!(out.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&out.stderr).contains("answer yes, or no with --reason"));
    let out = onsite(d, &["answer", &job, "shoe_covers", "no"]);
    assert_eq!(out.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&out.stderr).contains("takes a short reason"));
    let out = onsite(d, &["answer", &job, "test_run_ok", "no", "--reason", "x"]);
    assert_eq!(out.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a conduct item"));

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

/// The `{code, message}` a `--json` failure writes to stderr.
fn json_error(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stderr).unwrap_or_else(|e| {
        panic!(
            "stderr is not one JSON error ({e}): {}",
            String::from_utf8_lossy(&out.stderr)
        )
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

// Failures that need a server (unreachable, refused sign-ins) are tested against the real
// server binary in the workspace tests: tests/cli_failures.rs.
