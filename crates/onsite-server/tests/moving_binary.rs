//! The operator's recipes with the real `onsite-server` binary: `migrate` onto PostgreSQL
//! (checksums printed and equal; a second run refused), `backup` while serving, and the
//! PostgreSQL backup procedure: `pg_dump`, `pg_restore` into a new database, `new-epoch`.

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};

use onsite_server::admin::store_checksum;
use onsite_server::store::PostgresBackend;
use onsite_server::store::backend::Table;

const PG_BIN: &str = "/usr/lib/postgresql/15/bin";

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_onsite-server"));
    c.env_remove("ONSITE_DATA")
        .env_remove("ONSITE_DATABASE")
        .env_remove("ONSITE_LISTEN")
        .env("RUST_LOG", "warn");
    c
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().unwrap()
}

fn ok(args: &[&str]) -> String {
    let out = run(args);
    assert!(
        out.status.success(),
        "onsite-server {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn line_value<'a>(out: &'a str, prefix: &str) -> &'a str {
    out.lines()
        .find_map(|l| l.strip_prefix(prefix))
        .unwrap_or_else(|| panic!("no {prefix:?} in {out}"))
        .trim()
}

#[test]
fn migrate_prints_equal_checksums_and_refuses_a_second_run() {
    if common::postgres_url("migrate_prints_equal_checksums_and_refuses_a_second_run").is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    ok(&["demo", "load", "--data", data]);
    let url = common::fresh_postgres_database();
    let out = ok(&["migrate", "--to", &url, "--data", data]);
    let source = line_value(&out, "source checksum ");
    assert_eq!(source, line_value(&out, "target checksum "), "{out}");
    assert!(out.contains("work_orders"), "{out}");
    // The target's own reading agrees.
    let target = PostgresBackend::connect(&url).unwrap();
    assert_eq!(store_checksum(&target).unwrap().total, source);
    drop(target);

    let again = run(&["migrate", "--to", &url, "--data", data]);
    assert!(!again.status.success());
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(err.contains("target_not_empty"), "{err}");
    assert!(err.contains("nothing was copied"), "{err}");
    // The server then runs on PostgreSQL, the demo users still able to sign in.
    let users = ok(&["user", "list", "--json", "--database", &url, "--data", data]);
    assert!(users.contains("\"dana\""), "{users}");
}

#[test]
fn backup_runs_while_the_server_serves() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    ok(&["demo", "load", "--data", data]);
    let mut server = bin()
        .args(["serve", "--listen", "127.0.0.1:0", "--data", data])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    common::listening_url(&mut server);
    let to = dir.path().join("backup");
    let out = run(&["backup", "--to", to.to_str().unwrap(), "--data", data]);
    server.kill().unwrap();
    server.wait().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("backed up"));
    assert!(to.join("onsite-backup.json").is_file());
    // A backup never lands on top of another one.
    let again = run(&["backup", "--to", to.to_str().unwrap(), "--data", data]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("backup_exists"));
}

fn pg(tool: &str, args: &[&str]) {
    let out = Command::new(Path::new(PG_BIN).join(tool))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{tool} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn postgres_backup_is_pg_dump_then_pg_restore_then_a_new_epoch() {
    if common::postgres_url("postgres_backup_is_pg_dump_then_pg_restore_then_a_new_epoch").is_none()
    {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let live = common::fresh_postgres_database();
    ok(&["demo", "load", "--database", &live, "--data", data]);
    let dump = dir.path().join("onsite.dump");
    pg(
        "pg_dump",
        &["--format=custom", "--file", dump.to_str().unwrap(), &live],
    );
    let restored = common::fresh_postgres_database();
    pg(
        "pg_restore",
        &[
            "--no-owner",
            "--exit-on-error",
            "--dbname",
            &restored,
            dump.to_str().unwrap(),
        ],
    );
    let before = store_checksum(&PostgresBackend::connect(&live).unwrap()).unwrap();
    let out = ok(&["new-epoch", "--database", &restored, "--data", data]);
    assert!(out.starts_with("new epoch "), "{out}");
    let after = store_checksum(&PostgresBackend::connect(&restored).unwrap()).unwrap();
    for (a, b) in before.tables.iter().zip(&after.tables) {
        assert_eq!(
            a == b,
            a.table != Table::Meta,
            "{:?}: only the epoch changes",
            a.table
        );
    }
    assert!(after.rows(Table::WorkOrders) > 0);
}

/// The S3 settings `scripts/with-seaweedfs` exports, as the server reads them.
fn s3_env() -> Option<Vec<(String, String)>> {
    let endpoint = std::env::var("ONSITE_TEST_S3_ENDPOINT").ok()?;
    let var = |k: &str| std::env::var(k).unwrap_or_default();
    Some(vec![
        ("ONSITE_S3_ENDPOINT".into(), endpoint),
        ("ONSITE_S3_REGION".into(), var("ONSITE_TEST_S3_REGION")),
        (
            "ONSITE_S3_ACCESS_KEY_ID".into(),
            var("ONSITE_TEST_S3_ACCESS_KEY_ID"),
        ),
        (
            "ONSITE_S3_SECRET_ACCESS_KEY".into(),
            var("ONSITE_TEST_S3_SECRET_ACCESS_KEY"),
        ),
    ])
}

#[test]
fn migrate_moves_the_blobs_into_s3() {
    let Some(env) = s3_env() else {
        eprintln!(
            "migrate_moves_the_blobs_into_s3: did not run (ONSITE_TEST_S3_ENDPOINT is not set; run under scripts/with-seaweedfs)"
        );
        return;
    };
    if common::postgres_url("migrate_moves_the_blobs_into_s3").is_none() {
        return;
    }
    use onsite_server::blobs::{BlobState, BlobStore, FsBlobStore};
    use sha2::Digest;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    ok(&["demo", "load", "--data", data]);
    // Two photos' bytes, held by the blob folder and recorded by the store.
    let mut shas = Vec::new();
    {
        let store = onsite_server::SqliteStore::open(
            dir.path(),
            std::sync::Arc::new(onsite_model::SystemClock),
            std::sync::Arc::new(onsite_model::SystemIds),
            onsite_server::StoreOptions::default(),
        )
        .unwrap();
        let files = FsBlobStore::open(dir.path()).unwrap();
        for salt in [3u8, 4] {
            let bytes: Vec<u8> = (0..5_000_000u32).map(|i| (i % 251) as u8 ^ salt).collect();
            let sha = hex::encode(sha2::Sha256::digest(&bytes));
            let mut offset = 0;
            for chunk in bytes.chunks(1 << 20) {
                offset = files.append(&sha, offset, chunk).unwrap();
            }
            files.finish(&sha).unwrap();
            onsite_server::Store::record_blob(&store, &sha, bytes.len() as u64).unwrap();
            shas.push((sha, bytes.len() as u64));
        }
    }
    let bucket = std::env::var("ONSITE_TEST_S3_BUCKET").unwrap();
    let target = format!("s3://{bucket}/migrated-{}", uuid::Uuid::now_v7().simple());
    let url = common::fresh_postgres_database();
    let out = bin()
        .args(["migrate", "--to", &url, "--blobs", &target, "--data", data])
        .envs(env.iter().cloned())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("blobs: 2 copied"), "{stdout}");
    let cfg = onsite_server::config::Config {
        blobs: target.parse().unwrap(),
        ..onsite_server::config::Config::load(
            None,
            |k| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()),
            None,
            Some(dir.path().into()),
            None,
        )
        .unwrap()
    };
    let s3 = onsite_server::blobs::open(&cfg).unwrap();
    for (sha, size) in &shas {
        assert_eq!(s3.state(sha).unwrap(), BlobState::Complete { size: *size });
    }
    // A second run against a fresh database finds the blobs there and copies none again.
    let url = common::fresh_postgres_database();
    let again = bin()
        .args(["migrate", "--to", &url, "--blobs", &target, "--data", data])
        .envs(env.iter().cloned())
        .output()
        .unwrap();
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert!(
        String::from_utf8_lossy(&again.stdout).contains("0 copied"),
        "{}",
        String::from_utf8_lossy(&again.stdout)
    );
}
