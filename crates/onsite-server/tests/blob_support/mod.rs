//! The blob stores the blob tests run on: files in a temp dir, and an S3-compatible bucket
//! at `ONSITE_TEST_S3_ENDPOINT` (set by `scripts/with-seaweedfs`), each store under a fresh
//! key prefix so tests run in parallel. `for_each_blob_store!` runs a generic async test
//! `fn name<B: TestBlobs>()` once per store, as `files::name` and `s3::name`.
#![allow(dead_code)]

use std::path::Path;
use std::sync::Arc;

use onsite_server::blobs::{BlobStore, FsBlobStore, S3BlobStore};
use onsite_server::config::S3Settings;

pub trait TestBlobs {
    fn open(dir: &Path) -> Arc<dyn BlobStore>;
}

/// The default store: `<dir>/blobs`.
pub struct Files;

impl TestBlobs for Files {
    fn open(dir: &Path) -> Arc<dyn BlobStore> {
        Arc::new(FsBlobStore::open(dir).unwrap())
    }
}

/// The bucket `scripts/with-seaweedfs` made, under a prefix of the test's own.
pub struct S3;

impl TestBlobs for S3 {
    fn open(_dir: &Path) -> Arc<dyn BlobStore> {
        let (bucket, settings) = s3_settings("an S3 blob store").expect("S3 settings");
        let prefix = format!("t-{}", uuid::Uuid::now_v7().simple());
        Arc::new(S3BlobStore::open(&bucket, &prefix, &settings).unwrap())
    }
}

/// The test server's bucket and how to reach it, or `None` after saying that `test` did
/// not run. Panics instead when `ONSITE_REQUIRE_S3=1`, so a run that must cover S3 cannot
/// skip it.
pub fn s3_settings(test: &str) -> Option<(String, S3Settings)> {
    use std::io::Write;
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    if let (Some(endpoint), Some(bucket)) =
        (var("ONSITE_TEST_S3_ENDPOINT"), var("ONSITE_TEST_S3_BUCKET"))
    {
        return Some((
            bucket,
            S3Settings {
                endpoint: Some(endpoint),
                region: var("ONSITE_TEST_S3_REGION"),
                access_key_id: var("ONSITE_TEST_S3_ACCESS_KEY_ID"),
                secret_access_key: var("ONSITE_TEST_S3_SECRET_ACCESS_KEY"),
            },
        ));
    }
    if std::env::var("ONSITE_REQUIRE_S3").as_deref() == Ok("1") {
        panic!(
            "{test}: ONSITE_REQUIRE_S3=1 but ONSITE_TEST_S3_ENDPOINT is not set; run the tests under scripts/with-seaweedfs"
        );
    }
    // Straight to stderr, past the test harness's capture, so the skip is visible.
    let _ = writeln!(
        std::io::stderr(),
        "{test}: SKIPPED on S3 (ONSITE_TEST_S3_ENDPOINT is not set; run under scripts/with-seaweedfs)"
    );
    None
}

/// Runs each named generic async test once per blob store.
#[macro_export]
macro_rules! for_each_blob_store {
    ($($test:ident),* $(,)?) => {
        mod files {
            $(#[tokio::test]
            async fn $test() {
                super::$test::<super::blob_support::Files>().await;
            })*
        }
        mod s3 {
            $(#[tokio::test]
            async fn $test() {
                if super::blob_support::s3_settings(concat!("s3::", stringify!($test))).is_none() {
                    return;
                }
                super::$test::<super::blob_support::S3>().await;
            })*
        }
    };
}
