//! Blobs as files: `<data>/blobs/<first two hex digits>/<sha256>` once verified, unfinished
//! uploads under `<data>/blobs/partial/<sha256>`. A blob is moved into place only after its
//! bytes hash to its name, so a file at a final path is always complete and correct.

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use sha2::{Digest, Sha256};

use super::{BlobError, BlobResult, BlobState, BlobStore, Finished, check_address};

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
        let path = self.partial_path(sha256);
        let mut f = OpenOptions::new().create(true).append(true).open(&path)?;
        let current = f.metadata()?.len();
        if current != offset {
            return Err(BlobError::OffsetMismatch { current });
        }
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
}
