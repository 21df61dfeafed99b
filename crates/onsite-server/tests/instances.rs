//! Resumable uploads with more than one server process: the real `onsite-server` binary on
//! one PostgreSQL database and one S3-compatible bucket. Consecutive chunks of one upload
//! reach different instances; an upload goes on after its server is killed and started
//! again; `onsite-server gc` collects on the same store. Runs under `scripts/with-postgres`
//! and `scripts/with-seaweedfs`, and says so when it is skipped.

mod blob_support;
mod common;

use std::io::Write;
use std::process::{Child, Command, Stdio};

use onsite_model::DeviceId;
use onsite_server::config::S3Settings;
use reqwest::StatusCode;
use reqwest::blocking::Client;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const PASSWORD: &str = "office-secret-1";

/// One PostgreSQL database and one bucket prefix the servers of a test share.
struct Shared {
    database: String,
    bucket: String,
    prefix: String,
    s3: S3Settings,
    _data: tempfile::TempDir,
}

impl Shared {
    /// `None` (after saying so) when PostgreSQL or S3 is not there.
    fn open(test: &str) -> Option<Shared> {
        let pg = common::postgres_url(test);
        let s3 = blob_support::s3_settings(test);
        let (Some(_), Some((bucket, s3))) = (pg, s3) else {
            return None;
        };
        let shared = Shared {
            database: common::fresh_postgres_database(),
            bucket,
            prefix: format!("t-{}", uuid::Uuid::now_v7().simple()),
            s3,
            _data: tempfile::tempdir().unwrap(),
        };
        let mut add = shared
            .command(&[
                "user",
                "add",
                "--username",
                "dana",
                "--name",
                "Dana Okafor",
                "--role",
                "dispatcher",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        writeln!(add.stdin.take().unwrap(), "{PASSWORD}").unwrap();
        assert!(add.wait().unwrap().success());
        Some(shared)
    }

    fn blobs(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.prefix)
    }

    /// The binary with this test's database, bucket and keys, and nothing from the caller's
    /// environment that names others.
    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_onsite-server"));
        for var in [
            "ONSITE_DATA",
            "ONSITE_LISTEN",
            "ONSITE_DATABASE",
            "ONSITE_BLOBS",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_REGION",
            "AWS_ENDPOINT_URL",
        ] {
            c.env_remove(var);
        }
        let s3 = &self.s3;
        c.args(args)
            .args(["--database", &self.database])
            .args(["--data", self._data.path().to_str().unwrap()])
            .env("ONSITE_S3_ENDPOINT", s3.endpoint.as_deref().unwrap())
            .env(
                "ONSITE_S3_REGION",
                s3.region.as_deref().unwrap_or("us-east-1"),
            )
            .env(
                "ONSITE_S3_ACCESS_KEY_ID",
                s3.access_key_id.as_deref().unwrap_or_default(),
            )
            .env(
                "ONSITE_S3_SECRET_ACCESS_KEY",
                s3.secret_access_key.as_deref().unwrap_or_default(),
            )
            .env("ONSITE_GC_INTERVAL", "0")
            .env("RUST_LOG", "warn");
        c
    }

    fn serve(&self) -> Server {
        let blobs = self.blobs();
        let mut child = self
            .command(&["serve", "--listen", "127.0.0.1:0", "--blobs", &blobs])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let base = common::listening_url(&mut child);
        Server { child, base }
    }

    /// `onsite-server gc --json` with these ages.
    fn gc(&self, abandoned: &str, grace: &str) -> Value {
        let blobs = self.blobs();
        let out = self
            .command(&["gc", "--json", "--blobs", &blobs])
            .env("ONSITE_GC_ABANDONED_UPLOADS", abandoned)
            .env("ONSITE_GC_UNREFERENCED_GRACE", grace)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

struct Server {
    child: Child,
    base: String,
}

impl Server {
    /// Kills the process outright, as a crash or a pulled plug would.
    fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn sha(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

fn photo_bytes(n: usize, salt: u8) -> Vec<u8> {
    (0..n)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[2] ^ salt)
        .collect()
}

fn sign_in(http: &Client, server: &Server) -> String {
    let res = http
        .post(format!("{}/api/v1/auth/login", server.base))
        .json(&json!({
            "username": "dana",
            "password": PASSWORD,
            "device_id": DeviceId(uuid::Uuid::now_v7()),
            "device_name": "office laptop",
        }))
        .send()
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    res.json::<Value>().unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn offset_held(http: &Client, server: &Server, token: &str, id: &str) -> (StatusCode, u64) {
    let res = http
        .head(format!("{}/api/v1/blobs/{id}", server.base))
        .bearer_auth(token)
        .send()
        .unwrap();
    let offset = res.headers()["upload-offset"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    (res.status(), offset)
}

fn send_chunk(
    http: &Client,
    server: &Server,
    token: &str,
    id: &str,
    offset: u64,
    chunk: &[u8],
) -> (StatusCode, u64) {
    let res = http
        .patch(format!("{}/api/v1/blobs/{id}", server.base))
        .bearer_auth(token)
        .header("upload-offset", offset.to_string())
        .header("chunk-sha256", sha(chunk))
        .header("content-type", "application/octet-stream")
        .body(chunk.to_vec())
        .send()
        .unwrap();
    let status = res.status();
    let next = res.headers()["upload-offset"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    (status, next)
}

fn finish(http: &Client, server: &Server, token: &str, id: &str) -> Value {
    let res = http
        .post(format!("{}/api/v1/blobs/{id}/finish", server.base))
        .bearer_auth(token)
        .send()
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    res.json().unwrap()
}

fn download(
    http: &Client,
    server: &Server,
    token: &str,
    id: &str,
    range: Option<&str>,
) -> (StatusCode, Vec<u8>) {
    let mut req = http
        .get(format!("{}/api/v1/blobs/{id}", server.base))
        .bearer_auth(token);
    if let Some(r) = range {
        req = req.header("range", r);
    }
    let res = req.send().unwrap();
    (res.status(), res.bytes().unwrap().to_vec())
}

#[test]
fn chunks_of_one_upload_alternate_between_two_instances() {
    let Some(shared) = Shared::open("chunks_of_one_upload_alternate_between_two_instances") else {
        return;
    };
    let servers = [shared.serve(), shared.serve()];
    let http = Client::new();
    let token = sign_in(&http, &servers[0]);
    let photo = photo_bytes(1_300_000, 7);
    let id = sha(&photo);
    let mut offset = 0u64;
    for (i, chunk) in photo.chunks(256 * 1024).enumerate() {
        let here = &servers[i % 2];
        let there = &servers[(i + 1) % 2];
        // Each instance learns where the upload stands from the shared store, not from itself.
        assert_eq!(
            offset_held(&http, here, &token, &id),
            (StatusCode::NOT_FOUND, offset)
        );
        let (status, next) = send_chunk(&http, here, &token, &id, offset, chunk);
        assert_eq!(status, StatusCode::NO_CONTENT);
        assert_eq!(next, offset + chunk.len() as u64);
        // The same chunk sent again to the other instance (its answer was lost) is refused
        // with the offset the first one made.
        let (status, held) = send_chunk(&http, there, &token, &id, offset, chunk);
        assert_eq!((status, held), (StatusCode::CONFLICT, next));
        offset = next;
    }
    let done = finish(&http, &servers[1], &token, &id);
    assert_eq!(
        (done["size"].as_u64(), done["newly_stored"].as_bool()),
        (Some(photo.len() as u64), Some(true))
    );
    // Finished on one, answered as stored by the other.
    assert_eq!(
        finish(&http, &servers[0], &token, &id)["newly_stored"],
        false
    );
    let (status, body) = download(&http, &servers[0], &token, &id, None);
    assert_eq!(status, StatusCode::OK);
    assert!(body == photo, "the bytes read back are the bytes sent");
    let (status, body) = download(
        &http,
        &servers[1],
        &token,
        &id,
        Some("bytes=1000000-1000099"),
    );
    assert_eq!(
        (status, &body[..]),
        (StatusCode::PARTIAL_CONTENT, &photo[1_000_000..1_000_100])
    );
}

#[test]
fn an_upload_goes_on_after_its_server_is_killed_and_gc_collects_on_the_same_store() {
    let test = "an_upload_goes_on_after_its_server_is_killed_and_gc_collects_on_the_same_store";
    let Some(shared) = Shared::open(test) else {
        return;
    };
    let http = Client::new();
    let first = shared.serve();
    let token = sign_in(&http, &first);
    let photo = photo_bytes(700_000, 9);
    let id = sha(&photo);
    let (half, rest) = photo.split_at(400_000);
    assert_eq!(
        send_chunk(&http, &first, &token, &id, 0, half),
        (StatusCode::NO_CONTENT, 400_000)
    );
    first.kill();

    let again = shared.serve();
    assert_eq!(
        offset_held(&http, &again, &token, &id),
        (StatusCode::NOT_FOUND, 400_000),
        "the accepted chunk outlived its server"
    );
    assert_eq!(
        send_chunk(&http, &again, &token, &id, 400_000, rest),
        (StatusCode::NO_CONTENT, 700_000)
    );
    assert_eq!(finish(&http, &again, &token, &id)["newly_stored"], true);
    let (status, body) = download(&http, &again, &token, &id, Some("bytes=-100"));
    assert_eq!(
        (status, &body[..]),
        (StatusCode::PARTIAL_CONTENT, &photo[699_900..])
    );

    // An upload left half done, then collection on the same database and bucket: the
    // finished photo is named by no row, so only its grace period keeps it.
    let torn = photo_bytes(50_000, 3);
    send_chunk(&http, &again, &token, &sha(&torn), 0, &torn[..20_000]);
    let kept = shared.gc("7d", "30d");
    assert_eq!(
        (
            kept["abandoned_uploads"].as_u64(),
            kept["unreferenced_blobs"].as_u64(),
            kept["kept_in_grace"].as_u64()
        ),
        (Some(0), Some(0), Some(1)),
        "{kept}"
    );
    let swept = shared.gc("0s", "0s");
    assert_eq!(
        (
            swept["abandoned_uploads"].as_u64(),
            swept["abandoned_bytes"].as_u64(),
            swept["unreferenced_blobs"].as_u64(),
            swept["unreferenced_bytes"].as_u64()
        ),
        (Some(1), Some(20_000), Some(1), Some(700_000)),
        "{swept}"
    );
    assert_eq!(
        offset_held(&http, &again, &token, &id),
        (StatusCode::NOT_FOUND, 0)
    );
    assert_eq!(
        offset_held(&http, &again, &token, &sha(&torn)),
        (StatusCode::NOT_FOUND, 0)
    );
}
