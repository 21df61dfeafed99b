//! Blobs as files: `<data>/blobs/<first two hex digits>/<sha256>` once verified, unfinished
//! uploads under `<data>/blobs/partial/<sha256>`. A blob is moved into place only after its
//! bytes hash to its name, so a file at a final path is always complete and correct. A
//! partial file exists only once a chunk has been accepted into it. The folder belongs to
//! one server process: instances that share a database need the S3 store.

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use sha2::{Digest, Sha256};

use onsite_model::time::Timestamp;

use super::{
    BlobError, BlobResult, BlobState, BlobStore, Finished, PartialUpload, StoredBlob, check_address,
};

/// Appends and finishes on one address must not interleave; a few striped locks keep
/// different addresses independent without a lock per blob.
const STRIPES: usize = 64;

pub struct FsBlobStore {
    root: PathBuf,
    stripes: Vec<Mutex<()>>,
}

impl FsBlobStore {
    /// Opens (creating) `<data_dir>/blobs`.
    pub fn open(data_dir: &Path) -> std::io::Result<FsBlobStore> {
        let root = data_dir.join("blobs");
        fs::create_dir_all(root.join("partial"))?;
        Ok(FsBlobStore {
            root,
            stripes: (0..STRIPES).map(|_| Mutex::new(())).collect(),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where a complete blob lives.
    pub fn final_path(&self, sha256: &str) -> PathBuf {
        self.root.join(&sha256[..2]).join(sha256)
    }

    pub fn partial_path(&self, sha256: &str) -> PathBuf {
        self.root.join("partial").join(sha256)
    }

    fn lock(&self, sha256: &str) -> MutexGuard<'_, ()> {
        let i = usize::from_str_radix(&sha256[..2], 16).unwrap_or(0) % STRIPES;
        // A panic mid-append leaves at worst a partial file, which finish verifies.
        self.stripes[i].lock().unwrap_or_else(|e| e.into_inner())
    }

    fn complete_size(&self, sha256: &str) -> BlobResult<Option<u64>> {
        match fs::metadata(self.final_path(sha256)) {
            Ok(m) => Ok(Some(m.len())),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    fn partial_len(&self, sha256: &str) -> BlobResult<u64> {
        match fs::metadata(self.partial_path(sha256)) {
            Ok(m) => Ok(m.len()),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(0),
            Err(e) => Err(e.into()),
        }
    }

    fn discard_partial(&self, sha256: &str) -> BlobResult<()> {
        match fs::remove_file(self.partial_path(sha256)) {
            Err(e) if e.kind() != ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }
}

fn hash_file(path: &Path) -> std::io::Result<(String, u64)> {
    let mut f = File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        total += n as u64;
    }
    Ok((hex::encode(h.finalize()), total))
}

impl BlobStore for FsBlobStore {
    fn state(&self, sha256: &str) -> BlobResult<BlobState> {
        check_address(sha256)?;
        if let Some(size) = self.complete_size(sha256)? {
            return Ok(BlobState::Complete { size });
        }
        Ok(BlobState::Partial {
            offset: self.partial_len(sha256)?,
        })
    }

    fn append(&self, sha256: &str, offset: u64, chunk: &[u8]) -> BlobResult<u64> {
        check_address(sha256)?;
        let _guard = self.lock(sha256);
        if let Some(size) = self.complete_size(sha256)? {
            // Already stored: nothing more to send.
            return Ok(size);
        }
        // Checked before the file is opened, so a refused chunk creates no partial upload.
        let current = self.partial_len(sha256)?;
        if current != offset {
            return Err(BlobError::OffsetMismatch { current });
        }
        if chunk.is_empty() {
            return Ok(current);
        }
        let path = self.partial_path(sha256);
        let mut f = OpenOptions::new().create(true).append(true).open(&path)?;
        if let Err(e) = f.write_all(chunk) {
            // Leave no torn chunk behind: the offset stays where the last whole chunk ended.
            let _ = f.set_len(current);
            return Err(e.into());
        }
        Ok(current + chunk.len() as u64)
    }

    fn finish(&self, sha256: &str) -> BlobResult<Finished> {
        check_address(sha256)?;
        let _guard = self.lock(sha256);
        if let Some(size) = self.complete_size(sha256)? {
            self.discard_partial(sha256)?;
            return Ok(Finished::AlreadyStored { size });
        }
        let partial = self.partial_path(sha256);
        let (actual, size) = match hash_file(&partial) {
            Ok(v) => v,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                return Err(BlobError::NotFound(sha256.to_owned()));
            }
            Err(e) => return Err(e.into()),
        };
        if actual != sha256 {
            self.discard_partial(sha256)?;
            return Err(BlobError::HashMismatch {
                expected: sha256.to_owned(),
                actual,
            });
        }
        File::open(&partial)?.sync_all()?;
        let dest = self.final_path(sha256);
        fs::create_dir_all(dest.parent().expect("blob dir"))?;
        fs::rename(&partial, &dest)?;
        Ok(Finished::Stored { size })
    }

    fn read_range(&self, sha256: &str, start: u64, len: u64) -> BlobResult<Vec<u8>> {
        check_address(sha256)?;
        let mut f = match File::open(self.final_path(sha256)) {
            Ok(f) => f,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                return Err(BlobError::NotFound(sha256.to_owned()));
            }
            Err(e) => return Err(e.into()),
        };
        let size = f.metadata()?.len();
        if start >= size && !(start == 0 && size == 0) {
            return Err(BlobError::RangeNotSatisfiable { start, size });
        }
        f.seek(SeekFrom::Start(start))?;
        let mut out = Vec::with_capacity(len.min(size - start) as usize);
        f.take(len).read_to_end(&mut out)?;
        Ok(out)
    }

    fn partial_uploads(&self) -> BlobResult<Vec<PartialUpload>> {
        let mut out = Vec::new();
        for (sha256, meta) in addressed_files(&self.root.join("partial"))? {
            out.push(PartialUpload {
                sha256,
                bytes: meta.len(),
                last_written: modified(&meta)?,
            });
        }
        Ok(out)
    }

    fn discard_upload(&self, sha256: &str) -> BlobResult<u64> {
        check_address(sha256)?;
        let _guard = self.lock(sha256);
        let held = self.partial_len(sha256)?;
        self.discard_partial(sha256)?;
        Ok(held)
    }

    fn stored_blobs(&self) -> BlobResult<Vec<StoredBlob>> {
        let mut out = Vec::new();
        for dir in fs::read_dir(&self.root)? {
            let dir = dir?;
            let name = dir.file_name();
            let name = name.to_string_lossy();
            if name.len() != 2 || !dir.file_type()?.is_dir() {
                continue; // `partial/`, or something that is not ours
            }
            for (sha256, meta) in addressed_files(&dir.path())? {
                if sha256.starts_with(name.as_ref()) {
                    out.push(StoredBlob {
                        sha256,
                        size: meta.len(),
                        stored_at: modified(&meta)?,
                    });
                }
            }
        }
        Ok(out)
    }

    fn remove(&self, sha256: &str) -> BlobResult<()> {
        check_address(sha256)?;
        let _guard = self.lock(sha256);
        match fs::remove_file(self.final_path(sha256)) {
            Err(e) if e.kind() != ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }

    fn location(&self) -> String {
        self.root.display().to_string()
    }
}

/// The files of `dir` named by a sha256, with their metadata.
fn addressed_files(dir: &Path) -> BlobResult<Vec<(String, fs::Metadata)>> {
    let mut out = Vec::new();
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(e.into()),
    };
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if check_address(&name).is_err() {
            continue;
        }
        match entry.metadata() {
            Ok(meta) if meta.is_file() => out.push((name, meta)),
            Ok(_) => {}
            // Finished or discarded while we looked.
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(out)
}

fn modified(meta: &fs::Metadata) -> BlobResult<Timestamp> {
    Ok(Timestamp::from(meta.modified()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blobs::put_chunk;

    fn sha(b: &[u8]) -> String {
        hex::encode(Sha256::digest(b))
    }

    #[test]
    fn chunks_resume_and_finish_verifies() {
        let dir = tempfile::tempdir().unwrap();
        let s = FsBlobStore::open(dir.path()).unwrap();
        let data: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        let id = sha(&data);
        assert_eq!(s.state(&id).unwrap(), BlobState::Partial { offset: 0 });
        assert_eq!(
            put_chunk(&s, &id, 0, &sha(&data[..4000]), &data[..4000]).unwrap(),
            4000
        );
        // A chunk at the wrong offset is refused with where the upload stands.
        assert!(matches!(
            put_chunk(&s, &id, 3000, &sha(&data[3000..5000]), &data[3000..5000]),
            Err(BlobError::OffsetMismatch { current: 4000 })
        ));
        // A damaged chunk is refused and nothing is appended.
        let mut bad = data[4000..8000].to_vec();
        bad[10] ^= 1;
        assert!(matches!(
            put_chunk(&s, &id, 4000, &sha(&data[4000..8000]), &bad),
            Err(BlobError::ChunkMismatch { .. })
        ));
        assert_eq!(s.state(&id).unwrap(), BlobState::Partial { offset: 4000 });
        put_chunk(&s, &id, 4000, &sha(&data[4000..]), &data[4000..]).unwrap();
        assert_eq!(s.finish(&id).unwrap(), Finished::Stored { size: 10_000 });
        assert_eq!(s.state(&id).unwrap(), BlobState::Complete { size: 10_000 });
        assert_eq!(s.read_range(&id, 9_990, 100).unwrap(), &data[9_990..]);
        assert!(!s.partial_path(&id).exists());
        // Sent again by someone else: stored once.
        put_chunk(&s, &id, 0, &sha(&data), &data).unwrap();
        assert_eq!(
            s.finish(&id).unwrap(),
            Finished::AlreadyStored { size: 10_000 }
        );
        assert!(!s.partial_path(&id).exists());
    }

    #[test]
    fn a_wrong_total_hash_discards_the_upload() {
        let dir = tempfile::tempdir().unwrap();
        let s = FsBlobStore::open(dir.path()).unwrap();
        let claimed = sha(b"what the device meant to send");
        put_chunk(&s, &claimed, 0, &sha(b"something else"), b"something else").unwrap();
        assert!(matches!(
            s.finish(&claimed),
            Err(BlobError::HashMismatch { .. })
        ));
        assert_eq!(s.state(&claimed).unwrap(), BlobState::Partial { offset: 0 });
        assert!(!s.final_path(&claimed).exists());
    }

    #[test]
    fn a_refused_first_chunk_starts_no_upload_and_gc_sees_what_is_held() {
        let dir = tempfile::tempdir().unwrap();
        let s = FsBlobStore::open(dir.path()).unwrap();
        let data = b"the photo's bytes".to_vec();
        let id = sha(&data);
        assert!(matches!(
            put_chunk(&s, &id, 5, &sha(&data[5..]), &data[5..]),
            Err(BlobError::OffsetMismatch { current: 0 })
        ));
        assert!(!s.partial_path(&id).exists());
        assert_eq!(s.partial_uploads().unwrap(), vec![]);
        put_chunk(&s, &id, 0, &sha(&data[..5]), &data[..5]).unwrap();
        let held = s.partial_uploads().unwrap();
        assert_eq!(
            (held.len(), held[0].sha256.as_str(), held[0].bytes),
            (1, id.as_str(), 5)
        );
        put_chunk(&s, &id, 5, &sha(&data[5..]), &data[5..]).unwrap();
        s.finish(&id).unwrap();
        let stored = s.stored_blobs().unwrap();
        assert_eq!(
            stored
                .iter()
                .map(|b| (b.sha256.as_str(), b.size))
                .collect::<Vec<_>>(),
            [(id.as_str(), data.len() as u64)]
        );
        assert_eq!(s.partial_uploads().unwrap(), vec![]);
        s.remove(&id).unwrap();
        assert_eq!(s.state(&id).unwrap(), BlobState::Partial { offset: 0 });
        s.remove(&id).unwrap();
    }
}
