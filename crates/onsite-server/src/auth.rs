//! Passwords (argon2 with a random salt) and bearer tokens (256 random bits; only their
//! sha256 is stored).

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// A hash no password is expected to match, with the parameters `hash_password` uses: a
/// sign-in for a user who does not exist is verified against it, so it costs exactly what a
/// wrong password for a real user costs and the answer's timing does not tell them apart.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$7rT/bCm7XkJ+kQl46ukIcg$wIkEPfgknFmgVRD3JsQrJeH5P+EhbqowxTMVSDwraW8";
/// The same for the test-only fast parameters.
const DUMMY_HASH_FAST: &str =
    "$argon2id$v=19$m=8,t=1,p=1$OYZQrAwRl2Wjvo+AQMycYQ$5SE2ApbI82BTDcO3cF/JRbLAKts50thl38loPNg2NC8";

fn params(fast: bool) -> Result<Params> {
    if fast {
        Params::new(Params::MIN_M_COST, 1, 1, None)
    } else {
        Ok(Params::default())
    }
    .map_err(|e| Error::Internal(format!("argon2 params: {e}")))
}

/// Hashes `password` with argon2id. `fast` uses the smallest parameters, for tests only.
pub fn hash_password(password: &str, fast: bool) -> Result<String> {
    let mut salt = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| Error::Internal(format!("salt: {e}")))?;
    let params = params(fast)?;
    let hasher = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    Ok(hasher
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| Error::Internal(format!("hash password: {e}")))?
        .to_string())
}

/// Whether `password` matches the stored PHC string (its parameters come from the string).
pub fn verify_password(password: &str, stored: &str) -> bool {
    match PasswordHash::new(stored) {
        Ok(hash) => Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok(),
        Err(_) => false,
    }
}

/// Spends one verification against the dummy hash: what a sign-in for an unknown user costs.
/// Always `false`.
pub fn verify_unknown_user(password: &str, fast: bool) -> bool {
    verify_password(password, if fast { DUMMY_HASH_FAST } else { DUMMY_HASH });
    false
}

/// A fresh bearer token: 32 random bytes, hex.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The CSRF token of a console session: derived from its secret id, so it is bound to the
/// session, changes with it and needs no storage, and cannot be computed without the id
/// (which the browser keeps in an HttpOnly cookie).
pub fn csrf_token(session_id: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"onsite-console-csrf\0");
    h.update(session_id.as_bytes());
    hex::encode(h.finalize())
}

/// Compares two secrets in time that does not depend on where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// A random id for the database epoch.
pub fn new_epoch() -> String {
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_and_salts_differ() {
        let a = hash_password("onsite-demo", true).unwrap();
        let b = hash_password("onsite-demo", true).unwrap();
        assert_ne!(a, b, "each hash has its own salt");
        assert!(verify_password("onsite-demo", &a));
        assert!(!verify_password("onsite-dem0", &a));
        assert!(!verify_password("onsite-demo", "not a hash"));
    }

    #[test]
    fn the_dummy_hashes_cost_what_a_real_hash_costs() {
        for fast in [false, true] {
            let real = hash_password("onsite-demo", fast).unwrap();
            let real = PasswordHash::new(&real).unwrap();
            let dummy = PasswordHash::new(if fast { DUMMY_HASH_FAST } else { DUMMY_HASH }).unwrap();
            assert_eq!(dummy.algorithm, real.algorithm);
            assert_eq!(dummy.version, real.version);
            assert_eq!(
                Params::try_from(&dummy).unwrap(),
                Params::try_from(&real).unwrap(),
                "a new cost for real hashes needs a new dummy hash with the same parameters"
            );
            assert!(!verify_unknown_user("onsite-demo", fast));
        }
    }

    #[test]
    fn tokens_are_256_bits_and_hash_stably() {
        let t = new_token();
        assert_eq!(t.len(), 64);
        assert_ne!(t, new_token());
        assert_eq!(token_hash(&t), token_hash(&t));
        assert_ne!(token_hash(&t), t);
    }
}
