//! The `onsite` CLI's `--json` failures against the real server on loopback: each one
//! carries its own code on stderr and the documented exit status.

mod support;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value;
use support::{PASSWORD, Server, bin};

fn onsite(data: &Path, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(bin("onsite"))
        .arg("--data")
        .arg(data)
        .arg("--json")
        .args(args)
        .env_remove("ONSITE_FAULT")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run onsite");
    writeln!(child.stdin.take().unwrap(), "{stdin}").unwrap();
    child.wait_with_output().unwrap()
}

fn login(data: &Path, url: &str, username: &str, password: &str) -> Output {
    onsite(
        data,
        &["login", "--server", url, "--username", username],
        password,
    )
}

/// The `{code, message}` a `--json` failure writes to stderr.
fn json_error(out: &Output) -> Value {
    serde_json::from_slice(&out.stderr).unwrap_or_else(|e| {
        panic!(
            "stderr is not one JSON error ({e}): {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

#[test]
fn sign_in_and_sync_failures_carry_their_own_codes() {
    let mut server = Server::start_with_demo();
    let tablet = tempfile::tempdir().unwrap();
    let d = tablet.path();

    let out = login(d, &server.url, "alice", "not-her-password");
    assert_eq!(json_error(&out)["code"], "unauthorized");
    assert_eq!(out.status.code(), Some(6), "sign-in refused");

    let out = login(d, &server.url, "alice", PASSWORD);
    assert!(
        out.status.success(),
        "login: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = onsite(d, &["sync", "--attempts", "1"], "");
    assert!(
        out.status.success(),
        "sync: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The same device, registered to alice, cannot sign in as bob.
    let out = login(d, &server.url, "bob", PASSWORD);
    assert_eq!(json_error(&out)["code"], "device_taken");
    assert_eq!(out.status.code(), Some(7), "refused by the server");

    // The server goes away: changes stay queued, the code says why.
    server.kill9();
    let jobs: Value =
        serde_json::from_slice(&onsite(d, &["jobs", "--scope", "all"], "").stdout).unwrap();
    let job = jobs[0]["id"].as_str().expect("a job of alice's").to_owned();
    let out = onsite(d, &["note", &job, "Customer asked for a call back"], "");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = onsite(d, &["sync", "--attempts", "1"], "");
    let err = json_error(&out);
    assert_eq!(err["code"], "server_unreachable", "{err}");
    assert!(
        err["message"].as_str().unwrap().contains(&server.url),
        "{err}"
    );
    assert_eq!(out.status.code(), Some(5));
    let status: Value = serde_json::from_slice(&onsite(d, &["status"], "").stdout).unwrap();
    assert_eq!(status["pending_ops"], 1, "{status}");
}
