//! Blobs in an S3-compatible bucket, under an optional key prefix:
//!
//! - `<prefix>/blobs/<sha256>`: a complete blob, written once with a conditional create
//!   (`If-None-Match: *`) after its bytes hashed to its name, so an object there is always
//!   complete and correct, and two instances finishing the same bytes store them once;
//! - `<prefix>/uploads/<sha256>/<offset, 20 digits>`: one accepted chunk of an unfinished
//!   upload, also created conditionally. The upload's offset is the end of the run of
//!   chunks that starts at 0, read from a listing, so it survives a restart and any
//!   instance can take the next chunk: two instances racing for the same offset cannot
//!   both create its key, and the loser answers with the offset the winner made.
//!
//! The client is async; the trait is not. The store runs its requests on a small runtime of
//! its own and waits for them, so it may be called from the blocking pool, a plain thread,
//! or (blocking that worker) a task.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;

use futures::TryStreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::path::Path;
use object_store::{ObjectMeta, ObjectStore, PutMode, PutOptions, PutPayload};
use onsite_model::wire::MAX_BLOB_BYTES;
use sha2::{Digest, Sha256};

use super::{
    BlobError, BlobResult, BlobState, BlobStore, Finished, PartialUpload, StoredBlob, check_address,
};
use crate::config::{DEFAULT_S3_REGION, S3Settings};

/// Digits of a chunk key: every `u64` offset, zero-padded so keys list in offset order.
const OFFSET_DIGITS: usize = 20;

pub struct S3BlobStore {
    store: Arc<dyn ObjectStore>,
    prefix: String,
    label: String,
    /// `None` only while dropping.
    rt: Option<tokio::runtime::Runtime>,
}

/// One accepted chunk of an upload.
struct Chunk {
    offset: u64,
    meta: ObjectMeta,
}

impl S3BlobStore {
    /// The store in `bucket` under `prefix` (may be empty) on the server `settings` name.
    /// Nothing is requested yet: a wrong endpoint or key shows on the first request.
    pub fn open(bucket: &str, prefix: &str, settings: &S3Settings) -> BlobResult<S3BlobStore> {
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(bucket)
            .with_region(settings.region.as_deref().unwrap_or(DEFAULT_S3_REGION));
        if let Some(endpoint) = &settings.endpoint {
            builder = builder
                .with_endpoint(endpoint)
                .with_allow_http(endpoint.starts_with("http://"));
        }
        if let Some(key) = &settings.access_key_id {
            builder = builder.with_access_key_id(key);
        }
        if let Some(secret) = &settings.secret_access_key {
            builder = builder.with_secret_access_key(secret);
        }
        let store = builder.build()?;
        let prefix = prefix.trim_matches('/');
        let label = if prefix.is_empty() {
            format!("s3://{bucket}")
        } else {
            format!("s3://{bucket}/{prefix}")
        };
        Self::over(Arc::new(store), prefix, label)
    }

    /// The same layout over any object store (another S3 client configuration, a test's).
    pub fn over(
        store: Arc<dyn ObjectStore>,
        prefix: &str,
        label: String,
    ) -> BlobResult<S3BlobStore> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("onsite-s3")
            .enable_all()
            .build()?;
        Ok(S3BlobStore {
            store,
            prefix: prefix.trim_matches('/').to_owned(),
            label,
            rt: Some(rt),
        })
    }

    fn key(&self, rest: &str) -> Path {
        if self.prefix.is_empty() {
            Path::from(rest)
        } else {
            Path::from(format!("{}/{rest}", self.prefix))
        }
    }

    fn final_key(&self, sha256: &str) -> Path {
        self.key(&format!("blobs/{sha256}"))
    }

    fn upload_dir(&self, sha256: &str) -> Path {
        self.key(&format!("uploads/{sha256}"))
    }

    fn chunk_key(&self, sha256: &str, offset: u64) -> Path {
        self.key(&format!("uploads/{sha256}/{offset:0OFFSET_DIGITS$}"))
    }

    /// Runs one request on the store's runtime and waits for it.
    fn run<T: Send + 'static>(&self, fut: impl Future<Output = T> + Send + 'static) -> T {
        let rt = self.rt.as_ref().expect("runtime lives until drop");
        match futures::executor::block_on(rt.spawn(fut)) {
            Ok(v) => v,
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        }
    }

    fn head(&self, key: Path) -> BlobResult<Option<ObjectMeta>> {
        let store = self.store.clone();
        self.run(async move {
            match store.head(&key).await {
                Ok(m) => Ok(Some(m)),
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(e.into()),
            }
        })
    }

    fn list(&self, dir: Path) -> BlobResult<Vec<ObjectMeta>> {
        let store = self.store.clone();
        self.run(async move { Ok(store.list(Some(&dir)).try_collect().await?) })
    }

    fn get(&self, key: Path) -> BlobResult<Option<Vec<u8>>> {
        let store = self.store.clone();
        self.run(async move {
            match store.get(&key).await {
                Ok(r) => Ok(Some(r.bytes().await?.to_vec())),
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(e.into()),
            }
        })
    }

    /// Creates `key` unless it exists: `false` when it already did.
    fn create(&self, key: Path, bytes: Vec<u8>) -> BlobResult<bool> {
        let store = self.store.clone();
        self.run(async move {
            let opts = PutOptions {
                mode: PutMode::Create,
                ..Default::default()
            };
            match store.put_opts(&key, PutPayload::from(bytes), opts).await {
                Ok(_) => Ok(true),
                Err(object_store::Error::AlreadyExists { .. }) => Ok(false),
                Err(e) => Err(e.into()),
            }
        })
    }

    fn delete_all(&self, keys: Vec<Path>) -> BlobResult<()> {
        let store = self.store.clone();
        self.run(async move {
            for key in keys {
                match store.delete(&key).await {
                    Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            Ok(())
        })
    }

    /// The upload's chunks in offset order (every one, counted or not).
    fn chunks(&self, sha256: &str) -> BlobResult<Vec<Chunk>> {
        let mut chunks: Vec<Chunk> = self
            .list(self.upload_dir(sha256))?
            .into_iter()
            .filter_map(|meta| {
                let offset = meta.location.filename()?.parse().ok()?;
                Some(Chunk { offset, meta })
            })
            .collect();
        chunks.sort_by_key(|c| c.offset);
        Ok(chunks)
    }

    /// The run of chunks from offset 0, and where it ends (the upload's offset).
    fn contiguous(chunks: &[Chunk]) -> (usize, u64) {
        let mut end = 0u64;
        let mut n = 0;
        for c in chunks {
            if c.offset != end {
                break;
            }
            end += c.meta.size;
            n += 1;
        }
        (n, end)
    }

    fn discard_chunks(&self, sha256: &str) -> BlobResult<u64> {
        let chunks = self.chunks(sha256)?;
        let held = chunks.iter().map(|c| c.meta.size).sum();
        self.delete_all(chunks.into_iter().map(|c| c.meta.location).collect())?;
        Ok(held)
    }
}

impl Drop for S3BlobStore {
    fn drop(&mut self) {
        // A runtime may not be dropped (which waits) inside another; in flight requests are
        // already answered by the time the store goes.
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

impl BlobStore for S3BlobStore {
    fn state(&self, sha256: &str) -> BlobResult<BlobState> {
        check_address(sha256)?;
        if let Some(meta) = self.head(self.final_key(sha256))? {
            return Ok(BlobState::Complete { size: meta.size });
        }
        let (_, offset) = Self::contiguous(&self.chunks(sha256)?);
        Ok(BlobState::Partial { offset })
    }

    fn append(&self, sha256: &str, offset: u64, chunk: &[u8]) -> BlobResult<u64> {
        check_address(sha256)?;
        if let Some(meta) = self.head(self.final_key(sha256))? {
            return Ok(meta.size);
        }
        let (_, current) = Self::contiguous(&self.chunks(sha256)?);
        if current != offset {
            return Err(BlobError::OffsetMismatch { current });
        }
        if chunk.is_empty() {
            return Ok(current);
        }
        if self.create(self.chunk_key(sha256, offset), chunk.to_vec())? {
            return Ok(offset + chunk.len() as u64);
        }
        // Another instance took this offset first: say where the upload stands now.
        let (_, current) = Self::contiguous(&self.chunks(sha256)?);
        Err(BlobError::OffsetMismatch { current })
    }

    fn finish(&self, sha256: &str) -> BlobResult<Finished> {
        check_address(sha256)?;
        if let Some(meta) = self.head(self.final_key(sha256))? {
            self.discard_chunks(sha256)?;
            return Ok(Finished::AlreadyStored { size: meta.size });
        }
        let chunks = self.chunks(sha256)?;
        let (n, size) = Self::contiguous(&chunks);
        if n == 0 {
            self.discard_chunks(sha256)?;
            return Err(BlobError::NotFound(sha256.to_owned()));
        }
        if size > MAX_BLOB_BYTES {
            self.discard_chunks(sha256)?;
            return Err(BlobError::TooLarge {
                size,
                max: MAX_BLOB_BYTES,
            });
        }
        let mut bytes = Vec::with_capacity(size as usize);
        let mut hash = Sha256::new();
        for c in &chunks[..n] {
            let Some(part) = self.get(c.meta.location.clone())? else {
                // Finished (or discarded) by another instance while this one read.
                return match self.head(self.final_key(sha256))? {
                    Some(meta) => Ok(Finished::AlreadyStored { size: meta.size }),
                    None => Err(BlobError::NotFound(sha256.to_owned())),
                };
            };
            hash.update(&part);
            bytes.extend_from_slice(&part);
        }
        let actual = hex::encode(hash.finalize());
        if actual != sha256 {
            self.discard_chunks(sha256)?;
            return Err(BlobError::HashMismatch {
                expected: sha256.to_owned(),
                actual,
            });
        }
        let stored = self.create(self.final_key(sha256), bytes)?;
        self.discard_chunks(sha256)?;
        Ok(if stored {
            Finished::Stored { size }
        } else {
            Finished::AlreadyStored { size }
        })
    }

    fn read_range(&self, sha256: &str, start: u64, len: u64) -> BlobResult<Vec<u8>> {
        check_address(sha256)?;
        let key = self.final_key(sha256);
        let Some(meta) = self.head(key.clone())? else {
            return Err(BlobError::NotFound(sha256.to_owned()));
        };
        let size = meta.size;
        if start >= size {
            if start == 0 {
                return Ok(Vec::new());
            }
            return Err(BlobError::RangeNotSatisfiable { start, size });
        }
        let end = start.saturating_add(len).min(size);
        if end == start {
            return Ok(Vec::new());
        }
        let store = self.store.clone();
        self.run(async move {
            match store.get_range(&key, start..end).await {
                Ok(b) => Ok(b.to_vec()),
                Err(object_store::Error::NotFound { .. }) => Err(BlobError::NotFound(
                    key.filename().unwrap_or_default().into(),
                )),
                Err(e) => Err(e.into()),
            }
        })
    }

    fn partial_uploads(&self) -> BlobResult<Vec<PartialUpload>> {
        let mut uploads: BTreeMap<String, PartialUpload> = BTreeMap::new();
        for meta in self.list(self.key("uploads"))? {
            let mut parts = meta.location.parts().collect::<Vec<_>>().into_iter().rev();
            let (Some(_chunk), Some(sha256)) = (parts.next(), parts.next()) else {
                continue;
            };
            let sha256 = sha256.as_ref().to_owned();
            if check_address(&sha256).is_err() {
                continue;
            }
            let entry = uploads
                .entry(sha256.clone())
                .or_insert_with(|| PartialUpload {
                    sha256,
                    bytes: 0,
                    last_written: meta.last_modified,
                });
            entry.bytes += meta.size;
            entry.last_written = entry.last_written.max(meta.last_modified);
        }
        Ok(uploads.into_values().collect())
    }

    fn discard_upload(&self, sha256: &str) -> BlobResult<u64> {
        check_address(sha256)?;
        self.discard_chunks(sha256)
    }

    fn stored_blobs(&self) -> BlobResult<Vec<StoredBlob>> {
        Ok(self
            .list(self.key("blobs"))?
            .into_iter()
            .filter_map(|meta| {
                let sha256 = meta.location.filename()?.to_owned();
                check_address(&sha256).ok()?;
                Some(StoredBlob {
                    sha256,
                    size: meta.size,
                    stored_at: meta.last_modified,
                })
            })
            .collect())
    }

    fn remove(&self, sha256: &str) -> BlobResult<()> {
        check_address(sha256)?;
        self.delete_all(vec![self.final_key(sha256)])
    }

    fn location(&self) -> String {
        self.label.clone()
    }
}
