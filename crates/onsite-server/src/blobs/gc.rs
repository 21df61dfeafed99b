//! Blob garbage collection, the same on every blob store: unfinished uploads nobody has
//! written to for a while, and blobs no row names once their grace period is over. Which
//! blobs are named is the store's question ([`Store::blob_references`]); a blob is dropped
//! from the catalogue on the apply path ([`Store::forget_blobs`]) before its bytes go, so the
//! evidence gate never counts bytes that are being removed.

use std::collections::HashSet;
use std::time::Duration;

use onsite_model::time::Timestamp;
use serde::Serialize;

use super::{BlobError, BlobStore};
use crate::config::GcSettings;
use crate::store::Store;

/// How many blobs one catalogue transaction forgets.
const FORGET_BATCH: usize = 500;

/// What one run removed and kept.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct GcReport {
    pub abandoned_uploads: u64,
    pub abandoned_bytes: u64,
    pub unreferenced_blobs: u64,
    pub unreferenced_bytes: u64,
    /// Unreferenced, but stored too recently to be collected.
    pub kept_in_grace: u64,
    /// Blobs rows name.
    pub kept_referenced: u64,
}

impl std::fmt::Display for GcReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "removed {} abandoned uploads ({} bytes) and {} unreferenced blobs ({} bytes); kept {} referenced and {} unreferenced still in their grace period",
            self.abandoned_uploads,
            self.abandoned_bytes,
            self.unreferenced_blobs,
            self.unreferenced_bytes,
            self.kept_referenced,
            self.kept_in_grace
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum GcError {
    #[error(transparent)]
    Blob(#[from] BlobError),
    #[error(transparent)]
    Store(#[from] crate::error::Error),
}

fn older_than(at: Timestamp, now: Timestamp, age: Duration) -> bool {
    let age = chrono::Duration::from_std(age).unwrap_or(chrono::Duration::MAX);
    now.signed_duration_since(at) > age
}

/// One run at `now`: removes what `settings` says has expired and reports it.
pub fn collect_garbage(
    blobs: &dyn BlobStore,
    store: &dyn Store,
    now: Timestamp,
    settings: &GcSettings,
) -> Result<GcReport, GcError> {
    let mut report = GcReport::default();
    for upload in blobs.partial_uploads()? {
        if older_than(upload.last_written, now, settings.abandoned_uploads) {
            report.abandoned_bytes += blobs.discard_upload(&upload.sha256)?;
            report.abandoned_uploads += 1;
        }
    }
    let stored = blobs.stored_blobs()?;
    let refs = store.blob_references()?;
    let mut expired = Vec::new();
    for blob in stored {
        if refs.hashes.contains(&blob.sha256) {
            report.kept_referenced += 1;
        } else if older_than(blob.stored_at, now, settings.unreferenced_grace) {
            expired.push(blob);
        } else {
            report.kept_in_grace += 1;
        }
    }
    for batch in expired.chunks(FORGET_BATCH) {
        let names: Vec<String> = batch.iter().map(|b| b.sha256.clone()).collect();
        let forgotten: HashSet<String> = store
            .forget_blobs(&names, refs.as_of)?
            .into_iter()
            .collect();
        for blob in batch {
            if forgotten.contains(&blob.sha256) {
                blobs.remove(&blob.sha256)?;
                report.unreferenced_blobs += 1;
                report.unreferenced_bytes += blob.size;
            } else {
                // Named by a row pushed during this run.
                report.kept_referenced += 1;
            }
        }
    }
    Ok(report)
}

/// First run a minute after start (so a restart does not postpone it by a whole interval),
/// then every `settings.interval`; nothing when the interval is zero. Runs on the blocking
/// pool and logs each report. Several instances may all run it: a run removes only what
/// every run would, and removing twice is a no-op.
pub fn run_periodically(
    blobs: std::sync::Arc<dyn BlobStore>,
    store: std::sync::Arc<dyn Store>,
    clock: std::sync::Arc<dyn onsite_model::Clock>,
    settings: GcSettings,
) {
    if settings.interval.is_zero() {
        return;
    }
    tokio::spawn(async move {
        let mut wait = settings.interval.min(Duration::from_secs(60));
        loop {
            tokio::time::sleep(wait).await;
            wait = settings.interval;
            let (blobs, store, clock) = (blobs.clone(), store.clone(), clock.clone());
            let run = tokio::task::spawn_blocking(move || {
                collect_garbage(blobs.as_ref(), store.as_ref(), clock.now(), &settings)
            });
            match run.await {
                Ok(Ok(report)) => tracing::info!(%report, "blob garbage collection"),
                Ok(Err(e)) => tracing::warn!(error = %e, "blob garbage collection failed"),
                Err(e) => tracing::warn!(error = %e, "blob garbage collection stopped"),
            }
        }
    });
}
