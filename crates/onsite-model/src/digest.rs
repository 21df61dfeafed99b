//! Content addresses: photo, thumbnail and signature bytes are named by their sha256, and
//! the sync protocol's checksums are sha256 too.

use sha2::{Digest, Sha256};

/// Lower-case hex sha256 of `bytes`: the content address of a blob.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Whether `s` is a content address: 64 lower-case hex digits.
pub fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_64_lower_case_hex_digits() {
        let a = sha256_hex(b"abc");
        assert_eq!(
            a,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(is_sha256_hex(&a));
        assert!(!is_sha256_hex(&a.to_ascii_uppercase()));
        assert!(!is_sha256_hex(&a[..63]));
        assert!(!is_sha256_hex(&format!("{}g", &a[..63])));
        assert!(!is_sha256_hex("../secret"));
    }
}
