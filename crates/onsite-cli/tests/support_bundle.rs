//! `onsite support-bundle`: the file support asks a technician for.

use std::path::Path;
use std::process::{Command, Output};

fn onsite(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_onsite"))
        .arg("--data")
        .arg(data)
        .args(args)
        .env_remove("ONSITE_FAULT")
        .output()
        .expect("run onsite")
}

fn json(data: &Path, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let out = onsite(data, &all);
    assert!(
        out.status.success(),
        "onsite {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn a_support_bundle_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    json(&data, &["import", "--sample", "--count", "2"]);
    let job = json(&data, &["jobs", "--scope", "all"])[0]["number"]
        .as_str()
        .unwrap()
        .to_owned();
    json(&data, &["travel", &job]);
    json(&data, &["note", &job, "Gate code is 4711"]);
    std::fs::create_dir_all(data.join("logs")).unwrap();
    std::fs::write(
        data.join("logs/onsite-app.2026-11-30.log"),
        "INFO started\n",
    )
    .unwrap();

    let out = dir.path().join("support.zip");
    let written = json(&data, &["support-bundle", out.to_str().unwrap()]);
    let bytes = std::fs::read(&out).unwrap();
    assert_eq!(written["bytes"], bytes.len() as u64);
    assert_eq!(&bytes[..4], b"PK\x03\x04", "a zip file");
    let names: Vec<&str> = written["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "about.json",
            "sync-status.json",
            "change-log.json",
            "logs/onsite-app.2026-11-30.log"
        ]
    );

    // Never over an existing file: refused with a code and the file left alone.
    let again = onsite(&data, &["--json", "support-bundle", out.to_str().unwrap()]);
    assert_eq!(again.status.code(), Some(4));
    let err: serde_json::Value = serde_json::from_slice(&again.stderr).unwrap();
    assert_eq!(err["code"], "invalid_input");
    assert!(err["message"].as_str().unwrap().contains("already exists"));
    assert_eq!(std::fs::read(&out).unwrap(), bytes);

    // A folder gets a new file named after the time.
    let folder = dir.path().join("outbox");
    std::fs::create_dir(&folder).unwrap();
    let text = onsite(&data, &["support-bundle", folder.to_str().unwrap()]);
    assert!(text.status.success());
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(text.starts_with("support bundle written: "), "{text}");
    assert!(text.contains("change-log.json"), "{text}");
    let made: Vec<_> = std::fs::read_dir(&folder).unwrap().collect();
    assert_eq!(made.len(), 1);
}
