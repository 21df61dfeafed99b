//! Which blobs the rows still need: the question garbage collection asks before it removes
//! bytes. A blob is referenced while any photo or signature row names it, tombstones
//! included (a conflict's resolution may bring a deleted row back, and the record of a job
//! keeps its history), or while a completed job waits for it.

use std::collections::HashSet;

use super::super::backend::{Backend, Counter, ReadTx};
use super::super::interface::BlobReferences;
use super::blob_owners::BLOB_FIELDS;
use super::context::Engine;
use crate::error::Result;

fn named_since(tx: &dyn ReadTx, since_seq: u64) -> Result<HashSet<String>> {
    let mut out = HashSet::new();
    for (kind, field) in BLOB_FIELDS {
        out.extend(tx.job_row_field_values(kind.as_str(), field, since_seq)?);
    }
    Ok(out)
}

impl<B: Backend> Engine<B> {
    /// One consistent read of every hash a row names, off the apply path.
    pub(super) fn blob_references(&self) -> Result<BlobReferences> {
        self.read(|tx| {
            Ok(BlobReferences {
                as_of: tx.counter(Counter::ServerSeq)?,
                hashes: named_since(tx, 0)?,
            })
        })
    }

    /// On the serialized apply path, so no push can name a blob between the check and the
    /// catalogue's delete: only rows written after `as_of` need looking at again. The
    /// backend's own write transaction: forgetting a blob hands out no `server_seq` and
    /// changes nothing a device pulls.
    pub(super) fn forget_blobs(&self, unreferenced: &[String], as_of: u64) -> Result<Vec<String>> {
        self.backend.write(|tx| {
            let named = named_since(tx, as_of)?;
            let mut forgotten = Vec::new();
            for sha256 in unreferenced {
                if named.contains(sha256) || !tx.jobs_awaiting(sha256)?.is_empty() {
                    continue;
                }
                tx.delete_blob(sha256)?;
                forgotten.push(sha256.clone());
            }
            Ok(forgotten)
        })
    }
}
