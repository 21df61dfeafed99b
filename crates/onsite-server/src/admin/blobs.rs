//! Copying blobs between blob stores through the `BlobStore` trait (filesystem, S3 or any
//! other), resumably: a blob the target already holds is skipped, a partial upload is
//! continued from its offset, and every copy is hash-verified by the target's `finish`.

use onsite_model::wire::MAX_CHUNK_BYTES;

use crate::blobs::{BlobError, BlobState, BlobStore};
use crate::error::{Error, Result};
use crate::store::backend::{Cell, Table, TableExport};

/// A blob the database says the blob store holds in full.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeldBlob {
    pub sha256: String,
    pub size: u64,
}

/// Every blob the `blobs` table lists, in address order.
pub fn held_blobs(t: &dyn TableExport) -> Result<Vec<HeldBlob>> {
    let mut out = Vec::new();
    t.export_rows(Table::Blobs, &mut |row| {
        if let [Cell::Text(sha256), Cell::Int(size), ..] = row.as_slice() {
            out.push(HeldBlob {
                sha256: sha256.clone(),
                size: *size as u64,
            });
        }
        Ok(())
    })?;
    Ok(out)
}

/// What a blob copy did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BlobCopySummary {
    pub copied: u64,
    pub already_there: u64,
    pub bytes_copied: u64,
}

fn blob_error(sha256: &str, e: BlobError) -> Error {
    match e {
        BlobError::NotFound(_) => Error::conflict(
            "blob_missing",
            format!(
                "the database lists blob {sha256} but the source blob store does not hold it; restore it into the blob folder (or from a backup) and run again"
            ),
        ),
        other => Error::Internal(format!("blob {sha256}: {other}")),
    }
}

/// Refuses when the source lacks any blob the database lists, before anything is copied.
pub fn check_held(from: &dyn BlobStore, blobs: &[HeldBlob]) -> Result<()> {
    for b in blobs {
        match from
            .state(&b.sha256)
            .map_err(|e| blob_error(&b.sha256, e))?
        {
            BlobState::Complete { size } if size == b.size => {}
            BlobState::Complete { size } => {
                return Err(Error::conflict(
                    "blob_damaged",
                    format!(
                        "blob {} holds {size} bytes, not the {} the database recorded; restore it from a backup and run again",
                        b.sha256, b.size
                    ),
                ));
            }
            BlobState::Partial { .. } => {
                return Err(blob_error(&b.sha256, BlobError::NotFound(b.sha256.clone())));
            }
        }
    }
    Ok(())
}

/// Copies `blobs` from one store to the other; `progress(done, total)` after each.
pub fn copy_blobs(
    from: &dyn BlobStore,
    to: &dyn BlobStore,
    blobs: &[HeldBlob],
    progress: &mut dyn FnMut(u64, u64),
) -> Result<BlobCopySummary> {
    let mut summary = BlobCopySummary::default();
    let total = blobs.len() as u64;
    for (i, b) in blobs.iter().enumerate() {
        let sha = b.sha256.as_str();
        let err = |e| blob_error(sha, e);
        let mut offset = match to.state(sha).map_err(err)? {
            BlobState::Complete { .. } => {
                summary.already_there += 1;
                progress(i as u64 + 1, total);
                continue;
            }
            BlobState::Partial { offset } if offset <= b.size => offset,
            BlobState::Partial { .. } => 0,
        };
        let start = offset;
        while offset < b.size {
            let chunk = from
                .read_range(sha, offset, MAX_CHUNK_BYTES.min(b.size - offset))
                .map_err(err)?;
            if chunk.is_empty() {
                return Err(err(BlobError::NotFound(sha.to_owned())));
            }
            offset = match to.append(sha, offset, &chunk) {
                Ok(next) => next,
                // Someone else (an earlier run) got further: continue from there.
                Err(BlobError::OffsetMismatch { current }) if current <= b.size => current,
                Err(e) => return Err(err(e)),
            };
        }
        to.finish(sha).map_err(err)?;
        summary.copied += 1;
        summary.bytes_copied += b.size - start;
        progress(i as u64 + 1, total);
    }
    Ok(summary)
}
