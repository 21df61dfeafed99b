//! Blob storage: photo and signature bytes, content-addressed by sha256 and uploaded in
//! resumable chunks. The trait speaks in whole objects and byte ranges only; two stores
//! implement it: files in the data directory (`fs`, the default) and an S3-compatible
//! bucket (`s3`), where an upload's state lives in the bucket so any instance can take the
//! next chunk. [`open`] picks the one the configuration names.

mod fs;
pub mod gc;
mod s3;

use std::sync::Arc;

use sha2::{Digest, Sha256};

pub use fs::FsBlobStore;
pub use s3::S3BlobStore;

use onsite_model::time::Timestamp;
use onsite_model::wire::{MAX_BLOB_BYTES, MAX_CHUNK_BYTES, is_sha256_hex};

use crate::config::{BlobLocation, Config};

pub type BlobResult<T> = std::result::Result<T, BlobError>;

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("{0:?} is not a sha256 (64 lower-case hex digits)")]
    BadAddress(String),
    #[error("the upload holds {current} bytes; send the chunk that starts there")]
    OffsetMismatch { current: u64 },
    #[error(
        "the chunk's sha256 is {actual}, not the {claimed} its Chunk-Sha256 header names; nothing was stored"
    )]
    ChunkMismatch { claimed: String, actual: String },
    #[error(
        "the uploaded bytes hash to {actual}, not {expected}; the upload was discarded, send it again from the start"
    )]
    HashMismatch { expected: String, actual: String },
    #[error("a blob may be at most {max} bytes; this one would be {size}")]
    TooLarge { size: u64, max: u64 },
    #[error("a chunk may be at most {max} bytes; this one is {size}")]
    ChunkTooLarge { size: u64, max: u64 },
    #[error("no blob {0} on the server")]
    NotFound(String),
    #[error("the range starts at {start}, past the end of the {size}-byte blob")]
    RangeNotSatisfiable { start: u64, size: u64 },
    #[error("blob storage: {0}")]
    Io(#[from] std::io::Error),
}

impl From<object_store::Error> for BlobError {
    fn from(e: object_store::Error) -> Self {
        BlobError::Io(std::io::Error::other(e))
    }
}

/// What `finish` did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Finished {
    /// Verified and moved into place now.
    Stored { size: u64 },
    /// It was already complete (from this upload or anyone's): stored once.
    AlreadyStored { size: u64 },
}

impl Finished {
    pub fn size(self) -> u64 {
        match self {
            Finished::Stored { size } | Finished::AlreadyStored { size } => size,
        }
    }
}

/// Where an object stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlobState {
    Complete {
        size: u64,
    },
    /// Not complete; `offset` bytes of an upload are held (0 when none).
    Partial {
        offset: u64,
    },
}

/// An unfinished upload, as garbage collection sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartialUpload {
    pub sha256: String,
    /// Bytes held (every chunk, counted or not toward the offset).
    pub bytes: u64,
    /// When its last chunk was written.
    pub last_written: Timestamp,
}

/// A complete blob.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredBlob {
    pub sha256: String,
    pub size: u64,
    pub stored_at: Timestamp,
}

/// A content-addressed store. Implementations are synchronous; handlers call them on the
/// blocking pool. Appends to one address are serialized by the implementation, and a
/// refused append leaves nothing behind.
pub trait BlobStore: Send + Sync {
    /// Complete with its size, or how many bytes of an upload are held.
    fn state(&self, sha256: &str) -> BlobResult<BlobState>;
    /// Appends `chunk` at `offset`, which must equal the bytes held; returns the new offset.
    fn append(&self, sha256: &str, offset: u64, chunk: &[u8]) -> BlobResult<u64>;
    /// Hashes the upload; a match becomes the stored blob, a mismatch is discarded.
    fn finish(&self, sha256: &str) -> BlobResult<Finished>;
    /// Up to `len` bytes from `start` of a complete blob.
    fn read_range(&self, sha256: &str, start: u64, len: u64) -> BlobResult<Vec<u8>>;

    fn has(&self, sha256: &str) -> BlobResult<bool> {
        Ok(matches!(self.state(sha256)?, BlobState::Complete { .. }))
    }

    /// Every unfinished upload.
    fn partial_uploads(&self) -> BlobResult<Vec<PartialUpload>>;
    /// Removes an unfinished upload; returns the bytes it held (0 when there was none).
    fn discard_upload(&self, sha256: &str) -> BlobResult<u64>;
    /// Every complete blob.
    fn stored_blobs(&self) -> BlobResult<Vec<StoredBlob>>;
    /// Removes a complete blob (nothing when it is not there).
    fn remove(&self, sha256: &str) -> BlobResult<()>;
    /// Where the blobs are, for logs and reports (never with a secret).
    fn location(&self) -> String;
}

/// The blob store the configuration names: files under `<data>/blobs` by default, or the
/// S3-compatible bucket of `blobs = "s3://bucket/prefix"` with the `[s3]` settings.
pub fn open(cfg: &Config) -> BlobResult<Arc<dyn BlobStore>> {
    Ok(match &cfg.blobs {
        BlobLocation::Files => Arc::new(FsBlobStore::open(&cfg.data)?),
        BlobLocation::S3 { bucket, prefix } => {
            Arc::new(S3BlobStore::open(bucket, prefix, &cfg.s3)?)
        }
    })
}

pub fn check_address(sha256: &str) -> BlobResult<()> {
    if is_sha256_hex(sha256) {
        Ok(())
    } else {
        Err(BlobError::BadAddress(sha256.to_owned()))
    }
}

/// One chunk of an upload, checked before anything is stored: the address, the chunk's own
/// hash, the chunk and total size limits. Returns the new offset.
pub fn put_chunk(
    store: &dyn BlobStore,
    sha256: &str,
    offset: u64,
    chunk_sha256: &str,
    chunk: &[u8],
) -> BlobResult<u64> {
    check_address(sha256)?;
    let size = chunk.len() as u64;
    if size > MAX_CHUNK_BYTES {
        return Err(BlobError::ChunkTooLarge {
            size,
            max: MAX_CHUNK_BYTES,
        });
    }
    if offset.saturating_add(size) > MAX_BLOB_BYTES {
        return Err(BlobError::TooLarge {
            size: offset.saturating_add(size),
            max: MAX_BLOB_BYTES,
        });
    }
    let actual = hex::encode(Sha256::digest(chunk));
    if !actual.eq_ignore_ascii_case(chunk_sha256.trim()) {
        return Err(BlobError::ChunkMismatch {
            claimed: chunk_sha256.to_owned(),
            actual,
        });
    }
    store.append(sha256, offset, chunk)
}

/// A parsed `Range: bytes=…` header against a blob of `size` bytes: `(start, len)`.
/// Only single ranges are served; anything else is answered with the whole blob.
pub fn parse_range(header: Option<&str>, size: u64) -> BlobResult<Option<(u64, u64)>> {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None);
    }
    let Some((a, b)) = spec.split_once('-') else {
        return Ok(None);
    };
    let (a, b) = (a.trim(), b.trim());
    let (start, end) = match (a.parse::<u64>().ok(), b.parse::<u64>().ok()) {
        (Some(s), Some(e)) if e >= s => (s, e.min(size.saturating_sub(1))),
        (Some(s), None) if b.is_empty() => (s, size.saturating_sub(1)),
        // Suffix range: the last n bytes.
        (None, Some(n)) if a.is_empty() && n > 0 => {
            (size.saturating_sub(n), size.saturating_sub(1))
        }
        _ => return Ok(None),
    };
    if start >= size {
        return Err(BlobError::RangeNotSatisfiable { start, size });
    }
    Ok(Some((start, end - start + 1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_follow_rfc_9110() {
        assert_eq!(parse_range(None, 10).unwrap(), None);
        assert_eq!(parse_range(Some("bytes=0-3"), 10).unwrap(), Some((0, 4)));
        assert_eq!(parse_range(Some("bytes=4-"), 10).unwrap(), Some((4, 6)));
        assert_eq!(parse_range(Some("bytes=-3"), 10).unwrap(), Some((7, 3)));
        assert_eq!(parse_range(Some("bytes=8-100"), 10).unwrap(), Some((8, 2)));
        assert_eq!(parse_range(Some("bytes=0-1,4-5"), 10).unwrap(), None);
        assert!(matches!(
            parse_range(Some("bytes=10-"), 10),
            Err(BlobError::RangeNotSatisfiable {
                start: 10,
                size: 10
            })
        ));
    }
}
