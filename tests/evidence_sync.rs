//! Whole-system blob transfer: the real `onsite-server` binary on loopback, real replicas,
//! and a proxy that cuts uploads mid-body. Evidence bytes arrive intact however often the
//! connection drops, never leave a device before the server holds them, and a job completed
//! before its photos arrived converges once they do.

mod support;

use onsite_client::content_address;
use onsite_model::entities::{Photo, PhotoKind};
use onsite_model::ids::WorkOrderId;
use onsite_model::status::WorkOrderStatus;
use serde_json::{Value, json};
use support::blobs::{CutProxy, photo_file};
use support::{Device, PASSWORD, Server, fast_retry};

fn office_token(url: &str) -> String {
    let resp: Value = reqwest::blocking::Client::new()
        .post(format!("{url}/api/v1/auth/login"))
        .json(&json!({"username": "dana", "password": PASSWORD,
                      "device_id": uuid_v7(), "device_name": "office"}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    resp["token"].as_str().unwrap().to_owned()
}

fn uuid_v7() -> String {
    onsite_model::ids::DeviceId::new(&onsite_model::clock::SystemIds).to_string()
}

/// The server's copy of a blob, read back over HTTP.
fn server_blob(url: &str, token: &str, sha: &str) -> (u16, Vec<u8>) {
    let resp = reqwest::blocking::Client::new()
        .get(format!("{url}/api/v1/blobs/{sha}"))
        .bearer_auth(token)
        .send()
        .unwrap();
    (resp.status().as_u16(), resp.bytes().unwrap().to_vec())
}

fn upload_offset(url: &str, token: &str, sha: &str) -> (u16, u64) {
    let resp = reqwest::blocking::Client::new()
        .head(format!("{url}/api/v1/blobs/{sha}"))
        .bearer_auth(token)
        .send()
        .unwrap();
    let offset = resp
        .headers()
        .get("upload-offset")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    (resp.status().as_u16(), offset)
}

fn office_get(url: &str, token: &str, path: &str) -> Value {
    let resp = reqwest::blocking::Client::new()
        .get(format!("{url}/api/v1{path}"))
        .bearer_auth(token)
        .send()
        .unwrap();
    assert!(resp.status().is_success(), "{path}: {}", resp.status());
    resp.json().unwrap()
}

/// A job of the device's that is not closed yet.
fn open_job(d: &Device) -> WorkOrderId {
    *d.jobs()
        .iter()
        .find(|j| !d.replica.job(**j).unwrap().work_order.status.is_closed())
        .expect("an open job")
}

fn local_bytes(d: &Device, sha: &str) -> Vec<u8> {
    std::fs::read(d.replica.blob_path(sha)).unwrap()
}

/// Every blob this device's photos refer to (the photo and any thumbnail it made).
fn blobs_of(photo: &Photo) -> Vec<String> {
    let v = serde_json::to_value(photo).unwrap();
    let mut out = vec![photo.sha256.clone()];
    if let Some(t) = v.get("thumb_sha256").and_then(Value::as_str) {
        out.push(t.to_owned());
    }
    out
}

/// Works a job to the point of completion with real photos: steps, required answers, the
/// photos every template asks for, a signature.
fn work_to_completion(d: &mut Device, job: WorkOrderId, dir: &std::path::Path) -> Vec<Photo> {
    let r = &mut d.replica;
    onsite_client::sample::work_the_checklist(r, job).unwrap();
    let mut photos = Vec::new();
    for (i, kind) in [PhotoKind::Before, PhotoKind::After, PhotoKind::SerialPlate]
        .into_iter()
        .enumerate()
    {
        let file = photo_file(dir, &format!("{job}-{i}.png"), 96, 64, 100 + i as u64);
        photos.push(r.attach_photo(job, &file, kind, None).unwrap());
    }
    onsite_client::sample::sign_as_customer(r, job).unwrap();
    photos
}

#[test]
fn uploads_cut_at_random_offsets_resume_from_the_server_and_arrive_identical() {
    let server = Server::start_with_demo();
    let proxy = CutProxy::start(&server.url);
    let office = office_token(&server.url);
    let mut d = Device::new("alice-tablet", &proxy.url, "alice", 0);
    d.sync_ok();
    let job = open_job(&d);
    let dir = tempfile::tempdir().unwrap();
    // Noise does not compress: several chunks whatever the photo pipeline makes of it.
    let file = photo_file(dir.path(), "big.png", 1800, 1400, 42);
    let photo = d
        .replica
        .attach_photo(job, &file, PhotoKind::Before, Some("boiler"))
        .unwrap();
    let shas = blobs_of(&photo);
    let total: u64 = shas.iter().map(|s| local_bytes(&d, s).len() as u64).sum();
    let chunk = onsite_client::UPLOAD_CHUNK_BYTES as u64;
    assert!(
        local_bytes(&d, &photo.sha256).len() as u64 > 2 * chunk,
        "the photo spans several chunks"
    );

    // First sync: two chunks get through, then the link is gone for good.
    proxy.cut_all_chunks_after(2, 0xC0FFEE);
    let err = d
        .replica
        .sync(
            onsite_client::RetryPolicy {
                attempts: 3,
                ..fast_retry()
            },
            &mut |_| {},
        )
        .unwrap_err();
    assert_eq!(err.code(), "server_unreachable", "{err}");
    // Only what the server holds in full is confirmed; everything stays on the device.
    for s in &shas {
        assert!(
            d.replica.blob_path(s).exists(),
            "evidence kept on the device"
        );
        let confirmed = d.replica.blob_uploaded_at(s).unwrap().is_some();
        let (status, _) = upload_offset(&server.url, &office, s);
        assert_eq!(confirmed, status == 200, "{s}: confirmed only once stored");
    }
    assert_eq!(d.replica.blob_uploaded_at(&photo.sha256).unwrap(), None);
    // The server kept exactly the whole chunks that got through, no torn ones.
    let held: u64 = shas
        .iter()
        .map(|s| match upload_offset(&server.url, &office, s) {
            (200, _) => local_bytes(&d, s).len() as u64,
            (_, offset) => offset,
        })
        .sum();
    assert!(held > 0);
    assert_eq!(held, proxy.stats().chunk_bytes_forwarded);

    // Next sync over a link that drops chunk uploads part-way, at random offsets.
    let unconfirmed = d.replica.pending_blobs().unwrap().len() as u64;
    proxy.heal();
    proxy.cut_next_chunks(5, 0xBADC0DE);
    let report = d.sync_ok();
    let stats = proxy.stats();
    assert!(
        stats.cuts > 5,
        "the first sync's cut and five more: {stats:?}"
    );
    assert_eq!(report.blobs_uploaded, unconfirmed);
    assert!(report.bytes_sent >= total - held);
    // Every byte reached the server in a whole chunk exactly once: it resumed from the
    // server's offset, never from zero.
    assert_eq!(stats.chunk_bytes_forwarded, total, "{stats:?}");
    for s in &shas {
        let (status, bytes) = server_blob(&server.url, &office, s);
        assert_eq!(status, 200);
        assert_eq!(content_address(&bytes), *s);
        assert_eq!(bytes, local_bytes(&d, s), "identical bytes on both sides");
        assert!(d.replica.blob_uploaded_at(s).unwrap().is_some());
    }
    assert!(d.replica.pending_blobs().unwrap().is_empty());

    // A later sync sends nothing again.
    proxy.reset_stats();
    let again = d.sync_ok();
    assert_eq!(again.blobs_uploaded, 0);
    assert_eq!(proxy.stats().chunk_bytes_forwarded, 0);
    d.assert_converged();
}

#[test]
fn a_job_completed_before_its_photos_arrive_waits_for_them_then_converges() {
    let server = Server::start_with_demo();
    let proxy = CutProxy::start(&server.url);
    let office = office_token(&server.url);
    let mut d = Device::new("alice-tablet", &proxy.url, "alice", 0);
    d.sync_ok();
    let job = open_job(&d);
    let dir = tempfile::tempdir().unwrap();
    let photos = work_to_completion(&mut d, job, dir.path());
    d.replica.complete(job).unwrap();

    // The ops get through; the bytes do not (the blob endpoints are unreachable).
    proxy.block_blobs(true);
    let err = d.sync().unwrap_err();
    assert_eq!(err.code(), "server_unreachable", "{err}");
    let on_server = office_get(&server.url, &office, &format!("/work-orders/{job}"));
    let wo = &on_server["work_order"];
    assert_eq!(wo["status"], "completed");
    let awaiting: Vec<String> = serde_json::from_value(wo["awaiting_evidence"].clone()).unwrap();
    // Completed, but waiting for every photo (and the signature image, when one was
    // rendered): exactly evidence the device still has to send.
    let pending: Vec<String> = d
        .replica
        .pending_blobs()
        .unwrap()
        .into_iter()
        .map(|b| b.sha256)
        .collect();
    for p in &photos {
        assert!(awaiting.contains(&p.sha256), "{} awaited", p.sha256);
    }
    for a in &awaiting {
        assert!(pending.contains(a), "{a} is evidence the device holds");
    }
    let waiting = office_get(&server.url, &office, "/work-orders?awaiting_evidence=true");
    assert!(
        waiting
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["id"] == job.to_string())
    );
    assert_ne!(
        on_server["sla"]["resolve"]["state"], "met",
        "not resolved yet"
    );
    for p in &photos {
        assert!(d.replica.blob_path(&p.sha256).exists());
        assert_eq!(d.replica.blob_uploaded_at(&p.sha256).unwrap(), None);
        assert!(
            d.replica.photo_original(p.id).is_some(),
            "the original is kept until the server confirms"
        );
    }

    // The link comes back: the bytes go up, the job is released, everyone agrees.
    proxy.block_blobs(false);
    let report = d.sync_ok();
    assert!(report.blobs_uploaded >= photos.len() as u64);
    let on_server = office_get(&server.url, &office, &format!("/work-orders/{job}"));
    assert!(on_server["work_order"].get("awaiting_evidence").is_none());
    let waiting = office_get(&server.url, &office, "/work-orders?awaiting_evidence=true");
    assert!(waiting.as_array().unwrap().is_empty(), "{waiting}");
    for p in &photos {
        assert!(d.replica.blob_uploaded_at(&p.sha256).unwrap().is_some());
        assert!(
            d.replica.blob_path(&p.sha256).exists(),
            "the evidence itself stays"
        );
        assert_eq!(
            d.replica.photo_original(p.id),
            None,
            "confirmed: original let go"
        );
    }
    let local = d.replica.job(job).unwrap().work_order;
    assert_eq!(local.status, WorkOrderStatus::Completed);
    assert!(local.is_done());
    d.assert_converged();
}

#[test]
fn another_device_of_the_technician_downloads_a_photo_when_it_needs_it() {
    let server = Server::start_with_demo();
    let proxy = CutProxy::start(&server.url);
    let mut tablet = Device::new("alice-tablet", &server.url, "alice", 0);
    let mut laptop = Device::new("alice-laptop", &proxy.url, "alice", 0);
    let bob = Device::new("bob-tablet", &server.url, "bob", 0);
    tablet.sync_ok();
    let job = open_job(&tablet);
    let dir = tempfile::tempdir().unwrap();
    let file = photo_file(dir.path(), "serial.png", 640, 480, 7);
    let photo = tablet
        .replica
        .attach_photo(job, &file, PhotoKind::SerialPlate, None)
        .unwrap();
    tablet.sync_ok();
    laptop.sync_ok();
    let sha = photo.sha256.clone();
    let path = laptop.replica.blob_path(&sha);
    assert!(!path.exists(), "not downloaded until needed");

    // Half of it arrived before a cut: the rest is fetched with a Range request.
    let bytes = local_bytes(&tablet, &sha);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path.with_extension("part"), &bytes[..bytes.len() / 2]).unwrap();
    let got = laptop.replica.fetch_blob(&sha).unwrap();
    assert_eq!(got, path);
    assert_eq!(std::fs::read(&got).unwrap(), bytes);
    assert!(!path.with_extension("part").exists());
    assert_eq!(
        proxy.stats().ranges,
        vec![format!("bytes={}-", bytes.len() / 2)]
    );
    assert!(laptop.replica.blob_uploaded_at(&sha).unwrap().is_some());
    // Held locally now: no second download, and nothing pending to send back.
    laptop.replica.fetch_blob(&sha).unwrap();
    assert_eq!(proxy.stats().ranges.len(), 1);
    assert!(laptop.replica.pending_blobs().unwrap().is_empty());

    // A damaged part file is not trusted: it is discarded and fetched whole.
    std::fs::remove_file(&path).unwrap();
    let mut bad = bytes[..1000].to_vec();
    bad[10] ^= 0xFF;
    std::fs::write(path.with_extension("part"), &bad).unwrap();
    laptop.replica.fetch_blob(&sha).unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), bytes);

    // Another technician's device may not read it.
    let err = bob.replica.fetch_blob(&sha).unwrap_err();
    assert_eq!(err.code(), "forbidden_blob", "{err}");
}
