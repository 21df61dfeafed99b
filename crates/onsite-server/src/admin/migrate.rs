//! `onsite-server migrate`: the embedded store (SQLite + blob folder) onto PostgreSQL and,
//! when asked, another blob store, in the one order that never leaves a half-written target:
//! refuse a target that holds data; check that every blob the database lists is there; copy
//! the blobs (idempotent, resumable: a blob is content-addressed, a second run skips it);
//! then copy every table in one transaction that commits only when the target's checksum
//! equals the source's.

use crate::blobs::BlobStore;
use crate::error::Result;
use crate::store::backend::BulkBackend;

use super::blobs::{BlobCopySummary, check_held, copy_blobs, held_blobs};
use super::copy::{CopyProgress, StoreChecksum, copy_store, ensure_empty};

/// What `migrate` reports as it goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MigrateProgress {
    Blobs { done: u64, total: u64 },
    Copy(CopyProgress),
}

/// What `migrate` did.
#[derive(Clone, Debug)]
pub struct MigrateSummary {
    pub source: StoreChecksum,
    pub target: StoreChecksum,
    /// `None` when the blobs stay where they are (the target server uses the same folder).
    pub blobs: Option<BlobCopySummary>,
}

/// Moves the store in `from` (its blobs in `from_blobs`) into the empty `to`, and the blobs
/// into `to_blobs` when given. `target` names the target database in messages.
pub fn migrate(
    from: &impl BulkBackend,
    from_blobs: &dyn BlobStore,
    to: &impl BulkBackend,
    to_blobs: Option<&dyn BlobStore>,
    target: &str,
    progress: &mut dyn FnMut(MigrateProgress),
) -> Result<MigrateSummary> {
    to.export(|t| ensure_empty(t, target))?;
    let held = from.export(held_blobs)?;
    check_held(from_blobs, &held)?;
    let blobs = match to_blobs {
        Some(dest) => Some(copy_blobs(from_blobs, dest, &held, &mut |done, total| {
            progress(MigrateProgress::Blobs { done, total })
        })?),
        None => None,
    };
    let (source, target) = copy_store(from, to, target, &mut |p| {
        progress(MigrateProgress::Copy(p))
    })?;
    Ok(MigrateSummary {
        source,
        target,
        blobs,
    })
}
