//! Blobs: photo, thumbnail and signature bytes, stored as files named by their content
//! address. Every hash the client computes goes through here, and address checks use the
//! model's [`onsite_model::wire::is_sha256_hex`]. A blob file is written whole (temp name,
//! fsync, rename) before any row refers to it.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use onsite_model::wire::is_sha256_hex;
use rusqlite::{Connection, params};

use crate::db::CachedSql;
use crate::error::{Error, Result};
use crate::replica::Replica;

/// The content address of `bytes`: lower-case hex sha256, as blobs are named.
pub fn content_address(bytes: &[u8]) -> String {
    onsite_model::digest::sha256_hex(bytes)
}

/// The content address and size of a file, read in pieces.
pub(crate) fn hash_file(path: &Path) -> std::io::Result<(String, u64)> {
    use sha2::{Digest, Sha256};
    let mut f = File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut total = 0u64;
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            return Ok((hex::encode(h.finalize()), total));
        }
        h.update(&buf[..n]);
        total += n as u64;
    }
}

/// The media type of a blob by its first bytes (JPEG, PNG, WebP; anything else is
/// `application/octet-stream`).
pub fn media_type_of(head: &[u8]) -> &'static str {
    if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
        "image/jpeg"
    } else if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        "image/png"
    } else if head.len() >= 12 && &head[0..4] == b"RIFF" && &head[8..12] == b"WEBP" {
        "image/webp"
    } else {
        "application/octet-stream"
    }
}

/// [`media_type_of`] the first bytes of a file; `application/octet-stream` when it cannot
/// be read.
pub(crate) fn media_type_of_file(path: &Path) -> &'static str {
    let mut head = [0u8; 12];
    let n = File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .unwrap_or(0);
    media_type_of(&head[..n])
}

/// The folder under the replica's folder that holds the blob files.
pub const BLOB_DIR: &str = "blobs";

/// Writes `bytes` under a temp name, syncs and renames it into place, so a blob file is
/// either whole or absent.
pub(crate) fn write_file_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path
        .parent()
        .ok_or_else(|| Error::Invalid(format!("{} has no folder", path.display())))?;
    std::fs::create_dir_all(dir).map_err(|e| Error::File {
        path: dir.to_owned(),
        source: e,
    })?;
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{file_name}.{}.part", std::process::id()));
    let result = (|| -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)?;
        // Make the rename itself durable; not every platform can open a folder.
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::File {
            path: path.to_owned(),
            source: e,
        }
    })
}

impl Replica {
    /// Where the blob `sha256` is kept: `blobs/<first two digits>/<sha256>`.
    pub fn blob_path(&self, sha256: &str) -> PathBuf {
        self.dir().join(BLOB_DIR).join(&sha256[..2]).join(sha256)
    }

    /// Stores `bytes` as the blob file of `sha256` (written to a temp name, fsynced, renamed;
    /// no database row). A file of the same size already there is kept.
    pub(crate) fn store_blob_file(&self, sha256: &str, bytes: &[u8]) -> Result<()> {
        let path = self.blob_path(sha256);
        if let Ok(meta) = std::fs::metadata(&path)
            && meta.len() == bytes.len() as u64
        {
            return Ok(());
        }
        write_file_atomically(&path, bytes)
    }

    /// The bytes of a stored blob.
    pub fn read_blob(&self, sha256: &str) -> Result<Vec<u8>> {
        let address = sha256.to_ascii_lowercase();
        if !is_sha256_hex(&address) {
            return Err(Error::Invalid(format!("{sha256:?} is not a sha256")));
        }
        let path = self.blob_path(&address);
        std::fs::read(&path).map_err(|e| Error::File { path, source: e })
    }
}

pub(crate) fn insert_blob_row(
    conn: &Connection,
    sha256: &str,
    size: usize,
    media_type: &str,
    created_at: &str,
) -> Result<()> {
    conn.exec(
        "INSERT INTO blob (sha256, size_bytes, media_type, created_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (sha256) DO NOTHING",
        params![sha256, size as i64, media_type, created_at],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_hashes_to_the_address_of_its_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("blob");
        let bytes: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &bytes).unwrap();
        assert_eq!(
            hash_file(&path).unwrap(),
            (content_address(&bytes), bytes.len() as u64)
        );
        assert!(onsite_model::wire::is_sha256_hex(&content_address(&bytes)));
    }

    #[test]
    fn media_types_come_from_the_first_bytes() {
        assert_eq!(media_type_of(&[0xFF, 0xD8, 0xFF, 0xE0]), "image/jpeg");
        assert_eq!(media_type_of(b"\x89PNG\r\n\x1a\n...."), "image/png");
        assert_eq!(media_type_of(b"RIFF\0\0\0\0WEBPVP8 "), "image/webp");
        assert_eq!(media_type_of(b"RIFF"), "application/octet-stream");
        assert_eq!(media_type_of(b""), "application/octet-stream");
    }
}
