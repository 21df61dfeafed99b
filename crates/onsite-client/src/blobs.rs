//! Content addresses of blobs (photo, thumbnail and signature bytes): every hash the client
//! computes goes through here, and the checks use the model's
//! [`onsite_model::wire::is_sha256_hex`].

use std::fs::File;
use std::io::Read;
use std::path::Path;

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
