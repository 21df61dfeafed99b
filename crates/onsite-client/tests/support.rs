//! The support bundle: what it holds, checked against the replica it was made from, and
//! what it must never hold (the token, photo and signature bytes, the customer's words).

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use onsite_client::photo::sample_photo;
use onsite_client::support::{BUNDLE_FORMAT, LOG_DIR, TOKEN_REDACTED, log_dir};
use onsite_client::{BundleSource, Replica, ReplicaOptions};
use onsite_model::entities::{PhotoKind, StrokePoint};
use serde_json::Value;
use sha2::{Digest, Sha256};

mod common;

const TOKEN: &str = "dev-tok-7f3a9c1e5b2d4f6a8c0e1b3d5f7a9c2e";

struct Device {
    _dir: tempfile::TempDir,
    replica: Replica,
    customer_names: Vec<String>,
}

fn source() -> BundleSource {
    BundleSource {
        program: "onsite-test".into(),
        version: "9.9.9".into(),
    }
}

fn strokes() -> Vec<Vec<StrokePoint>> {
    vec![vec![
        StrokePoint {
            x: 10.0,
            y: 40.0,
            t: 0,
        },
        StrokePoint {
            x: 60.0,
            y: 10.0,
            t: 90,
        },
        StrokePoint {
            x: 110.0,
            y: 42.0,
            t: 180,
        },
    ]]
}

/// A signed-in device that worked two jobs offline: status steps, notes, photos and a
/// signature, the first few ops acknowledged by the server (one of them rejected), one
/// conflict open, and log files in its data folder, one of which mentions the token.
fn device() -> Device {
    let day = common::sample_day("data", 0x51, |_| {});
    let (dir, clock, mut r, jobs) = (day.dir, day.clock, day.replica, day.jobs);
    let customer_names = day.file.customers.iter().map(|c| c.name.clone()).collect();

    r.start_travel(jobs[0]).unwrap();
    clock.advance_ms(60_000);
    r.arrive(jobs[0]).unwrap();
    r.add_note(jobs[0], "Customer Mrs Example says the boiler knocks")
        .unwrap();
    r.attach_photo_bytes(
        jobs[0],
        "before.jpg",
        &sample_photo(640, 480, 3),
        PhotoKind::Before,
        Some("as found"),
    )
    .unwrap();
    r.attach_photo_bytes(
        jobs[0],
        "plate.jpg",
        &sample_photo(480, 360, 9),
        PhotoKind::SerialPlate,
        None,
    )
    .unwrap();
    r.sign_current(jobs[0], "Signer Example", strokes())
        .unwrap();
    clock.advance_ms(60_000);
    r.start_travel(jobs[1]).unwrap();
    r.add_part(jobs[1], "HX-3", "Gasket", 2.0).unwrap();

    // Signed in, and the server has answered the first four ops.
    let c = r.connection();
    c.execute(
        "UPDATE sync_state SET server_url = 'https://onsite.example.com', username = 'alice',
                user_id = 'user-alice', epoch = 'epoch-1', pull_cursor = 42, pushed_seq = 4,
                confirmed_seq = 3, last_attempt_at = '2026-11-22T07:20:00Z',
                last_success_at = '2026-11-22T07:10:00Z',
                last_error = 'the server refused token ' || ?1 || ' (401)',
                server_skew_ms = -1500 WHERE id = 1",
        [TOKEN],
    )
    .unwrap();
    for (seq, result) in [
        (1, r#"{"result":"applied","server_seq":10}"#),
        (2, r#"{"result":"merged","server_seq":11}"#),
        (
            3,
            r#"{"result":"rejected","code":"job_closed","reason":"closed"}"#,
        ),
    ] {
        c.execute(
            "INSERT INTO op_outcome (device_seq, result) VALUES (?1, ?2)",
            rusqlite::params![seq, result],
        )
        .unwrap();
    }
    c.execute(
        "INSERT INTO job_record (kind, id, work_order_id, data) VALUES ('conflict', 'c1', ?1,
           json_object('id', 'c1', 'work_order_id', ?1, 'entity', 'work_order', 'entity_id', ?1,
                       'field', 'priority', 'kept', 'high', 'lost', 'low', 'rule', 'owner',
                       'detail', 'd', 'created_at', '2026-11-22T07:00:00Z', 'resolved_at', NULL))",
        [jobs[2].to_string()],
    )
    .unwrap();
    r.set_token(TOKEN).unwrap();

    let logs = log_dir(r.dir());
    std::fs::create_dir_all(&logs).unwrap();
    std::fs::write(
        logs.join("onsite-app.2026-11-21.log"),
        format!("2026-11-21T17:00:00Z INFO sync: signed in, token {TOKEN}\n"),
    )
    .unwrap();
    std::fs::write(
        logs.join("onsite-app.2026-11-22.log"),
        "2026-11-22T07:20:00Z WARN sync: server unreachable\n",
    )
    .unwrap();
    Device {
        _dir: dir,
        replica: r,
        customer_names,
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Every entry of the zip, decompressed.
fn entries(path: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut zip = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    (0..zip.len())
        .map(|i| {
            let mut e = zip.by_index(i).unwrap();
            let name = e.name().unwrap().into_owned();
            let mut bytes = Vec::new();
            e.read_to_end(&mut bytes).unwrap();
            (name, bytes)
        })
        .collect()
}

fn json(entries: &BTreeMap<String, Vec<u8>>, name: &str) -> Value {
    serde_json::from_slice(&entries[name]).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn the_bundle_holds_status_summary_and_logs_as_the_replica_has_them() {
    let d = device();
    let r = &d.replica;
    let out = r.dir().parent().unwrap().join("bundle.zip");
    let written = r.write_support_bundle(&out, &source()).unwrap();
    assert_eq!(written.bytes, std::fs::metadata(&out).unwrap().len());
    let files = entries(&out);

    // The manifest lists every other entry with its size and hash.
    let manifest = json(&files, "manifest.json");
    assert_eq!(manifest["format"], BUNDLE_FORMAT);
    assert_eq!(manifest["device_id"], r.device_id().to_string());
    assert_eq!(manifest["version"], "9.9.9");
    let listed: Vec<&str> = manifest["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        listed,
        [
            "about.json",
            "sync-status.json",
            "change-log.json",
            "logs/onsite-app.2026-11-21.log",
            "logs/onsite-app.2026-11-22.log",
        ]
    );
    let mut names: Vec<&str> = files.keys().map(String::as_str).collect();
    names.retain(|n| *n != "manifest.json");
    names.sort();
    let mut sorted = listed.clone();
    sorted.sort();
    assert_eq!(
        names, sorted,
        "the manifest lists exactly what is in the zip"
    );
    for e in manifest["entries"].as_array().unwrap() {
        let bytes = &files[e["name"].as_str().unwrap()];
        assert_eq!(e["bytes"], bytes.len() as u64);
        assert_eq!(e["sha256"], hex::encode(Sha256::digest(bytes)));
    }
    assert_eq!(written.entries.len(), listed.len());

    // The sync status says what the replica says.
    let status = json(&files, "sync-status.json");
    let pending_blobs = r.pending_blobs().unwrap();
    assert_eq!(
        pending_blobs.len(),
        5,
        "two photos with thumbnails and a signature"
    );
    assert_eq!(status["device_id"], r.device_id().to_string());
    assert_eq!(status["server_url"], "https://onsite.example.com");
    assert_eq!(status["username"], "alice");
    assert_eq!(status["user_id"], "user-alice");
    assert_eq!(status["signed_in"], true);
    assert_eq!(status["epoch"], "epoch-1");
    assert_eq!(status["pull_cursor"], 42);
    assert_eq!(status["pushed_seq"], 4);
    assert_eq!(status["confirmed_seq"], 3);
    assert_eq!(status["pending_ops"], r.pending_op_count().unwrap());
    assert_eq!(status["pending_uploads"], pending_blobs.len() as u64);
    assert_eq!(
        status["pending_upload_bytes"],
        pending_blobs.iter().map(|b| b.size_bytes).sum::<u64>()
    );
    assert_eq!(status["last_success_at"], "2026-11-22T07:10:00Z");
    assert_eq!(status["server_skew_ms"], -1500);
    assert_eq!(status["conflicts_open"], 1);
    assert_eq!(
        status["last_error"],
        format!("the server refused token {TOKEN_REDACTED} (401)")
    );

    // The change-log summary, counted again here from the log itself.
    let summary = json(&files, "change-log.json");
    let log = r.oplog(100_000).unwrap();
    let pending = log.iter().filter(|l| !l.acknowledged).count() as u64;
    assert_eq!(pending, log.len() as u64 - 4);
    assert!(pending >= 5, "{pending}");
    assert_eq!(summary["total_ops"], log.len() as u64);
    assert_eq!(summary["pending"], pending);
    assert_eq!(summary["acknowledged"], 4);
    let mut by_kind: BTreeMap<(String, String), (u64, u64)> = BTreeMap::new();
    for l in &log {
        let e = by_kind
            .entry((l.op.entity.to_string(), l.op.change.kind_name().to_owned()))
            .or_default();
        e.0 += 1;
        e.1 += u64::from(!l.acknowledged);
    }
    let reported: BTreeMap<(String, String), (u64, u64)> = summary["by_kind"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            (
                (
                    k["entity"].as_str().unwrap().to_owned(),
                    k["kind"].as_str().unwrap().to_owned(),
                ),
                (k["total"].as_u64().unwrap(), k["pending"].as_u64().unwrap()),
            )
        })
        .collect();
    assert_eq!(reported, by_kind);
    assert!(reported.contains_key(&("photo".into(), "insert".into())));
    assert_eq!(summary["outcomes"]["applied"], 1);
    assert_eq!(summary["outcomes"]["merged"], 1);
    assert_eq!(summary["outcomes"]["rejected"], 1);
    assert_eq!(summary["outcomes"]["unanswered"], 1);
    assert_eq!(summary["rejected"][0]["device_seq"], 3);
    assert_eq!(summary["rejected"][0]["code"], "job_closed");
    let oldest = log
        .iter()
        .filter(|l| !l.acknowledged)
        .min_by_key(|l| l.op.device_seq);
    let oldest = oldest.unwrap();
    assert_eq!(
        summary["oldest_pending"]["device_seq"],
        oldest.op.device_seq
    );
    assert_eq!(summary["oldest_pending"]["device_seq"], 5);
    assert_eq!(
        summary["oldest_pending"]["work_order_id"],
        oldest.op.work_order_id.to_string()
    );
    let mut per_job: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for l in &log {
        let e = per_job.entry(l.op.work_order_id.to_string()).or_default();
        e.0 += 1;
        e.1 += u64::from(!l.acknowledged);
    }
    let jobs = summary["jobs"].as_array().unwrap();
    assert_eq!(jobs.len(), per_job.len());
    for j in jobs {
        let id = j["work_order_id"].as_str().unwrap();
        assert_eq!(
            (j["ops"].as_u64().unwrap(), j["pending"].as_u64().unwrap()),
            per_job[id]
        );
        assert!(j["number"].as_str().unwrap().starts_with("WO-"), "{j}");
    }

    // About the app and the device.
    let about = json(&files, "about.json");
    assert_eq!(about["program"], "onsite-test");
    assert_eq!(about["system"]["os"], std::env::consts::OS);
    assert_eq!(about["replica"]["blobs"], 5);
    assert_eq!(about["replica"]["jobs"], 3);

    // The log files, the token taken out.
    let first = String::from_utf8(files["logs/onsite-app.2026-11-21.log"].clone()).unwrap();
    assert_eq!(
        first,
        format!("2026-11-21T17:00:00Z INFO sync: signed in, token {TOKEN_REDACTED}\n")
    );
    assert!(files.contains_key(&format!("{LOG_DIR}/onsite-app.2026-11-22.log")));
}

#[test]
fn the_bundle_never_holds_the_token_photos_signatures_or_the_customers_words() {
    let d = device();
    let r = &d.replica;
    let out = r.dir().parent().unwrap().join("bundle.zip");
    r.write_support_bundle(&out, &source()).unwrap();
    let raw = std::fs::read(&out).unwrap();
    let files = entries(&out);

    let mut secrets: Vec<(String, Vec<u8>)> = vec![("the token".into(), TOKEN.into())];
    for blob in r.pending_blobs().unwrap() {
        let bytes = r.read_blob(&blob.sha256).unwrap();
        assert!(bytes.len() > 600, "{}", bytes.len());
        // A stretch from the middle of the file: headers are alike in every JPEG and PNG.
        let mid = bytes.len() / 2;
        secrets.push((
            format!("blob {}", blob.sha256),
            bytes[mid - 128..mid + 128].to_vec(),
        ));
    }
    for name in &d.customer_names {
        secrets.push((format!("customer {name}"), name.clone().into_bytes()));
    }
    for words in ["boiler knocks", "Signer Example", "as found", "Gasket"] {
        secrets.push((words.into(), words.into()));
    }
    for (what, bytes) in &secrets {
        assert!(!contains(&raw, bytes), "the zip's bytes hold {what}");
        for (entry, content) in &files {
            assert!(!contains(content, bytes), "{entry} holds {what}");
        }
    }
    assert!(
        !files
            .keys()
            .any(|n| n.starts_with("blobs/") || n.ends_with(".jpg"))
    );
}

#[test]
fn a_bundle_is_written_whole_or_not_at_all_and_never_over_a_file() {
    let d = device();
    let r = &d.replica;
    let root = r.dir().parent().unwrap().to_owned();
    let out = root.join("taken.zip");
    std::fs::write(&out, b"someone else's file").unwrap();
    let e = r.write_support_bundle(&out, &source()).unwrap_err();
    assert_eq!(e.code(), "invalid_input");
    assert!(e.to_string().contains("already exists"), "{e}");
    assert_eq!(std::fs::read(&out).unwrap(), b"someone else's file");

    let e = r
        .write_support_bundle(&root.join("no-such-folder/b.zip"), &source())
        .unwrap_err();
    assert_eq!(e.code(), "invalid_input");
    assert!(e.to_string().contains("not a folder"), "{e}");

    // In the data folder: a new name each time, nothing left half-written.
    let a = r.write_support_bundle_in_data_folder(&source()).unwrap();
    let b = r.write_support_bundle_in_data_folder(&source()).unwrap();
    assert_ne!(a.path, b.path);
    for bundle in [&a, &b] {
        let p = Path::new(&bundle.path);
        assert!(p.starts_with(r.dir().join("support")), "{}", bundle.path);
        assert_eq!(p.extension().unwrap(), "zip");
        assert!(entries(p).contains_key("manifest.json"));
    }
    let names: Vec<String> = std::fs::read_dir(r.dir().join("support"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(names.iter().all(|n| !n.ends_with(".part")), "{names:?}");
}

#[test]
fn a_device_with_no_log_and_no_sign_in_still_makes_a_bundle() {
    let dir = tempfile::tempdir().unwrap();
    let r = Replica::open(&dir.path().join("data"), ReplicaOptions::default()).unwrap();
    let out = dir.path().join("b.zip");
    r.write_support_bundle(&out, &source()).unwrap();
    let files = entries(&out);
    let status = json(&files, "sync-status.json");
    assert_eq!(status["signed_in"], false);
    assert_eq!(status["pending_ops"], 0);
    let summary = json(&files, "change-log.json");
    assert_eq!(summary["total_ops"], 0);
    assert!(summary["oldest_pending"].is_null());
    assert_eq!(files.len(), 4, "{:?}", files.keys());
}
