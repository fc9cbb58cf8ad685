//! An account's secret and how a password is compared with it: in constant time for a
//! plaintext password (every byte is looked at, so the time taken does not tell how much of a
//! guess was right), by the crypt scheme for a hash.

use crate::auth::PasswordHash;

/// How an account's password is checked.
#[derive(Clone)]
pub(super) enum Secret {
    /// A plaintext password given in code, compared in constant time.
    Plain(String),
    /// A crypt hash, e.g. from a users file.
    Hashed(PasswordHash),
}

impl Secret {
    pub(super) fn matches(&self, pass: &str) -> bool {
        match self {
            Secret::Plain(password) => constant_time_eq(password.as_bytes(), pass.as_bytes()),
            Secret::Hashed(hash) => hash.verify(pass),
        }
    }

    /// Whether checking it is slow on purpose (so it runs on the blocking-work pool).
    pub(super) fn is_hashed(&self) -> bool {
        matches!(self, Secret::Hashed(_))
    }
}

/// Compares two secrets without stopping at the first difference.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = u8::from(a.len() != b.len());
    for i in 0..a.len().max(b.len()) {
        diff |= a.get(i).copied().unwrap_or(0) ^ b.get(i).copied().unwrap_or(0);
    }
    std::hint::black_box(diff) == 0
}
