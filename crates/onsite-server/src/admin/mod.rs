//! Moving and keeping a server's data: `migrate` (a whole store onto another backend and its
//! blobs onto another blob store), `backup` / `restore` of the embedded default, and a new
//! epoch for a database restored by other means. The copy of rows is the backends' bulk
//! primitives (`store::backend::BulkBackend`, SQL only); blobs go through `BlobStore`.

pub mod backup;
pub mod blobs;
pub mod copy;
pub mod migrate;

pub use backup::{BACKUP_MANIFEST, BackupManifest, backup, restore};
pub use blobs::{BlobCopySummary, HeldBlob, check_held, copy_blobs, held_blobs};
pub use copy::{CopyProgress, StoreChecksum, TableSum, copy_store, ensure_empty, store_checksum};
pub use migrate::{MigrateProgress, MigrateSummary, migrate};

use crate::auth;
use crate::error::Result;
use crate::store::backend::BulkBackend;

/// Gives the database a new epoch and returns it. Devices that see it start over: they push
/// every op of their log again (the server answers the ones it holds with their stored
/// outcomes and applies the others) and pull their whole view. Run it with every server on
/// the database stopped: a running server keeps announcing the epoch it started with.
pub fn renew_epoch(backend: &impl BulkBackend) -> Result<String> {
    let epoch = auth::new_epoch();
    backend.import(|t| t.set_epoch(&epoch))?;
    Ok(epoch)
}
