//! [`PasswordHash`]: the stored form of a password, and how a login is checked against it.
//!
//! A server should never keep passwords, only one-way hashes of them: whoever reads the
//! users file then learns nothing directly usable. Three standard "crypt" formats are
//! accepted, the ones that system tools print:
//!
//! | format | made by | looks like |
//! |---|---|---|
//! | SHA-512-crypt | `openssl passwd -6`, `mkpasswd -m sha-512`, [`hash_sha512`] | `$6$[rounds=N$]salt$86 chars` |
//! | SHA-256-crypt | `openssl passwd -5`, `mkpasswd -m sha-256` | `$5$[rounds=N$]salt$43 chars` |
//! | bcrypt | `htpasswd -nB`, most web frameworks | `$2b$10$` + 22-char salt + 31-char hash (also `$2y$`, `$2a$`) |
//!
//! Everything else is refused when the hash is *parsed* (i.e. when the users file is
//! loaded), not when someone logs in: plaintext, the weak `$1$` MD5-crypt, yescrypt
//! (`$y$`), truncated or hand-edited hashes. Error messages never repeat the refused
//! text, because it may be somebody's plaintext password.
//!
//! Cost: checking a password deliberately takes time (that is what makes stolen hashes
//! hard to crack), and this server checks it on its single event-loop thread, so every
//! other client waits meanwhile. Hashes whose cost parameter would stall the loop for
//! more than about half a second per attempt are therefore refused too:
//! `rounds=` above [`MAX_SHA_ROUNDS`] (the default is 5000) and bcrypt cost above
//! [`MAX_BCRYPT_COST`].
//!
//! Verification is constant-time in the hash comparison (done by the `sha-crypt` and
//! `bcrypt` crates); `Debug` output of a [`PasswordHash`] never shows the hash.

use std::fmt;

use sha_crypt::{PasswordHasher, PasswordVerifier, ShaCrypt};

/// Largest SHA-crypt `rounds=` value accepted (about 0.5 s per check for `$6$`).
pub const MAX_SHA_ROUNDS: u32 = 1_000_000;
/// Smallest SHA-crypt `rounds=` value (glibc silently raises smaller ones; we refuse them).
pub const MIN_SHA_ROUNDS: u32 = 1_000;
/// Largest bcrypt cost accepted (cost 12 is about 0.5 s per check; each +1 doubles it).
pub const MAX_BCRYPT_COST: u32 = 12;
/// Smallest bcrypt cost the algorithm defines.
pub const MIN_BCRYPT_COST: u32 = 4;

/// The characters of crypt's base-64 alphabet, in value order.
const CRYPT_ALPHABET: &[u8; 64] =
    b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Shown after every parse error, so an administrator knows what to put instead.
const ONLY_HASHES: &str = "plaintext passwords are refused";

/// Which algorithm a [`PasswordHash`] uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HashKind {
    /// SHA-512-crypt, prefix `$6$`.
    Sha512Crypt,
    /// SHA-256-crypt, prefix `$5$`.
    Sha256Crypt,
    /// bcrypt, prefix `$2b$`, `$2y$` or `$2a$`.
    Bcrypt,
}

impl fmt::Display for HashKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HashKind::Sha512Crypt => "SHA-512-crypt ($6$)",
            HashKind::Sha256Crypt => "SHA-256-crypt ($5$)",
            HashKind::Bcrypt => "bcrypt ($2b$)",
        })
    }
}

/// Why a string is not an acceptable password hash, or a hash could not be made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HashError {
    /// The string is empty.
    Empty,
    /// The string does not look like a crypt hash at all (typically plaintext).
    NotAHash,
    /// A crypt hash of a scheme we do not accept; holds its id, e.g. `1` for `$1$`.
    UnsupportedScheme(String),
    /// The prefix is right but the rest is not; the text says what is wrong.
    Malformed {
        /// The algorithm the prefix announced.
        kind: HashKind,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// The cost parameter (`rounds=` or bcrypt cost) is outside the accepted range.
    Cost {
        /// The algorithm of the hash.
        kind: HashKind,
        /// The cost found in the hash.
        cost: u32,
        /// The smallest accepted value.
        min: u32,
        /// The largest accepted value.
        max: u32,
    },
    /// [`hash_sha512`] failed (no system randomness); the text says why.
    Generate(String),
}

impl fmt::Display for HashError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HashError::Empty => write!(f, "the password hash is empty; {ONLY_HASHES}"),
            HashError::NotAHash => write!(
                f,
                "not a supported password hash ($6$, $5$ or $2b$); {ONLY_HASHES}"
            ),
            HashError::UnsupportedScheme(id) => write!(
                f,
                "unsupported password hash scheme ${id}${} (use $6$, $5$ or $2b$); {ONLY_HASHES}",
                scheme_name(id)
            ),
            HashError::Malformed { kind, problem } => {
                write!(
                    f,
                    "malformed {kind} password hash: {problem}; {ONLY_HASHES}"
                )
            }
            HashError::Cost {
                kind,
                cost,
                min,
                max,
            } => write!(
                f,
                "{kind} password hash has cost {cost}, outside the accepted range {min}..={max} \
                 (a higher cost would stall the server at every login attempt)"
            ),
            HashError::Generate(why) => write!(f, "cannot generate a password hash: {why}"),
        }
    }
}

impl std::error::Error for HashError {}

/// A readable name for well-known crypt schemes we refuse, for error messages.
fn scheme_name(id: &str) -> &'static str {
    match id {
        "1" => " (MD5-crypt, too weak)",
        "y" | "7" => " (yescrypt/scrypt, not supported)",
        "2x" | "2" => " (old buggy bcrypt variant)",
        "md5" | "sha1" | "apr1" => " (too weak)",
        _ => "",
    }
}

/// A parsed, validated password hash in one of the accepted crypt formats.
///
/// `Debug` shows only the [`HashKind`], never the hash itself.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash {
    text: String,
    kind: HashKind,
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasswordHash")
            .field("kind", &self.kind)
            .field("hash", &"<redacted>")
            .finish()
    }
}

impl PasswordHash {
    /// Checks that `s` is a SHA-512-crypt, SHA-256-crypt or bcrypt hash (see the module
    /// documentation) and keeps it. Costs nothing: no hashing is done here.
    pub fn parse(s: &str) -> Result<PasswordHash, HashError> {
        let kind = if let Some(rest) = s.strip_prefix("$6$") {
            check_sha(HashKind::Sha512Crypt, rest, 86)?;
            HashKind::Sha512Crypt
        } else if let Some(rest) = s.strip_prefix("$5$") {
            check_sha(HashKind::Sha256Crypt, rest, 43)?;
            HashKind::Sha256Crypt
        } else if let Some(rest) = ["$2b$", "$2y$", "$2a$"]
            .iter()
            .find_map(|prefix| s.strip_prefix(prefix))
        {
            check_bcrypt(s, rest)?;
            HashKind::Bcrypt
        } else {
            return Err(unsupported(s));
        };
        Ok(PasswordHash {
            text: s.to_owned(),
            kind,
        })
    }

    /// True if `password` is the one this hash was made from. Any internal error (which
    /// [`parse`](Self::parse) should have made impossible) counts as a mismatch.
    pub fn verify(&self, password: &str) -> bool {
        match self.kind {
            HashKind::Sha512Crypt | HashKind::Sha256Crypt => {
                // The hash string itself says which SHA variant and how many rounds.
                PasswordVerifier::<str>::verify_password(
                    &ShaCrypt::default(),
                    password.as_bytes(),
                    self.text.as_str(),
                )
                .is_ok()
            }
            HashKind::Bcrypt => bcrypt::verify(password, &self.text).unwrap_or(false),
        }
    }

    /// The algorithm of this hash.
    pub fn kind(&self) -> HashKind {
        self.kind
    }

    /// The hash in its crypt text form, e.g. to write it back to a file.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

/// Hashes `password` with SHA-512-crypt, a fresh random salt and the default 5000
/// rounds, giving e.g. `$6$rounds=5000$<16 chars>$<86 chars>`.
///
/// The salt is 12 random bytes, i.e. exactly the 16 characters crypt uses, so the result
/// is also accepted by glibc's `crypt(3)` (and thus PAM and `/etc/shadow`).
pub fn hash_sha512(password: &str) -> Result<String, HashError> {
    let random = sha_crypt::password_hash::try_generate_salt()
        .map_err(|e| HashError::Generate(e.to_string()))?;
    let salt = random.get(..12).unwrap_or(&random); // `random` has 16 bytes: use 12
    ShaCrypt::SHA512
        .hash_password_with_salt(password.as_bytes(), salt)
        .map(|hash| hash.to_string())
        .map_err(|e| HashError::Generate(e.to_string()))
}

/// The error for a string that has none of the accepted prefixes.
fn unsupported(s: &str) -> HashError {
    if s.is_empty() {
        return HashError::Empty;
    }
    // `$id$...`: name the scheme, but only if the id looks like one (never echo what
    // may be a plaintext password).
    let id = s
        .strip_prefix('$')
        .and_then(|rest| rest.split_once('$'))
        .map(|(id, _)| id);
    match id {
        Some(id)
            if (1..=8).contains(&id.len())
                && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') =>
        {
            HashError::UnsupportedScheme(id.to_owned())
        }
        _ => HashError::NotAHash,
    }
}

fn is_crypt_b64(s: &str) -> bool {
    s.bytes().all(|b| CRYPT_ALPHABET.contains(&b))
}

/// The value (0..64) of a crypt base-64 character.
fn crypt_b64_value(c: u8) -> Option<usize> {
    CRYPT_ALPHABET.iter().position(|&a| a == c)
}

/// Checks `[rounds=N$]salt$hash` after the `$6$`/`$5$` prefix.
fn check_sha(kind: HashKind, rest: &str, hash_len: usize) -> Result<(), HashError> {
    let bad = |problem| HashError::Malformed { kind, problem };
    let fields: Vec<&str> = rest.split('$').collect();
    let (rounds, salt, hash) = match fields.as_slice() {
        [salt, hash] => (None, *salt, *hash),
        [rounds, salt, hash] => (Some(*rounds), *salt, *hash),
        _ => return Err(bad("expected [rounds=N$]salt$hash after the prefix")),
    };
    if let Some(rounds) = rounds {
        let digits = rounds
            .strip_prefix("rounds=")
            .ok_or_else(|| bad("the field before the salt must be rounds=N"))?;
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad("rounds=N must be a decimal number"));
        }
        let cost = digits.parse().unwrap_or(u32::MAX);
        if !(MIN_SHA_ROUNDS..=MAX_SHA_ROUNDS).contains(&cost) {
            return Err(HashError::Cost {
                kind,
                cost,
                min: MIN_SHA_ROUNDS,
                max: MAX_SHA_ROUNDS,
            });
        }
    }
    if salt.is_empty() {
        return Err(bad("the salt is empty"));
    }
    if !is_crypt_b64(salt) {
        return Err(bad("the salt may only contain ./0-9A-Za-z"));
    }
    if hash.len() != hash_len || !is_crypt_b64(hash) {
        return Err(bad("the hash part has the wrong length or characters"));
    }
    // The last character carries only the leftover bits (2 for 64 bytes, 4 for 32), so a
    // larger value means the hash was truncated or edited.
    let last_limit = if hash_len == 86 { 4 } else { 16 };
    let last = hash.bytes().last().and_then(crypt_b64_value);
    if last.is_none_or(|value| value >= last_limit) {
        return Err(bad("the hash part has an impossible last character"));
    }
    Ok(())
}

/// Checks a bcrypt hash: `rest` is what follows the `$2b$`-style prefix of `full`.
fn check_bcrypt(full: &str, rest: &str) -> Result<(), HashError> {
    let kind = HashKind::Bcrypt;
    let bad = |problem| HashError::Malformed { kind, problem };
    let (cost, salt_and_hash) = rest
        .split_once('$')
        .ok_or_else(|| bad("expected cost$salt+hash after the prefix"))?;
    if cost.len() != 2 || !cost.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad("the cost must be two digits, e.g. 10"));
    }
    let cost = cost.parse().unwrap_or(u32::MAX);
    if !(MIN_BCRYPT_COST..=MAX_BCRYPT_COST).contains(&cost) {
        return Err(HashError::Cost {
            kind,
            cost,
            min: MIN_BCRYPT_COST,
            max: MAX_BCRYPT_COST,
        });
    }
    if salt_and_hash.len() != 53 || !is_crypt_b64(salt_and_hash) {
        return Err(bad(
            "expected a 22-character salt and a 31-character hash after the cost",
        ));
    }
    // Catches impossible trailing bits in the salt or hash.
    full.parse::<bcrypt::HashParts>()
        .map_err(|_| bad("the salt or hash is not valid bcrypt base-64"))?;
    Ok(())
}

#[cfg(test)]
mod tests;
