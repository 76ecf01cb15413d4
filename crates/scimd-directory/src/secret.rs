//! Secrets: bearer tokens, portal session ids and CSRF tokens are 256 random bits (a CSPRNG
//! seeded by the OS), shown as 64 hex characters; the database keeps only their SHA-256.

use rand::RngCore;
use sha2::{Digest, Sha256};

/// A new random secret: 32 bytes from the OS RNG, hex-encoded (64 characters).
pub fn new_secret() -> String {
    let mut b = [0u8; 32];
    rand::rng().fill_bytes(&mut b);
    hex::encode(b)
}

/// SHA-256 of a secret's UTF-8 bytes.
pub fn hash_secret(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}
