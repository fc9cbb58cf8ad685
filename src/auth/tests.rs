//! Tests of the permission letters, and helpers shared by the auth tests: a temporary
//! directory tree and known password hashes.

use super::*;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

#[test]
fn letters_round_trip() {
    for p in Perm::ALL {
        assert_eq!(Perm::from_letter(p.letter()), Some(p));
    }
    assert_eq!(Perm::from_letter('x'), None);
    assert_eq!(Perms::ALL.to_string(), "elradfmwMT");
    assert_eq!(Perms::READ_ONLY.to_string(), "elr");
    assert_eq!(Perms::parse("TMwmfdarle").unwrap(), Perms::ALL);
    assert_eq!(Perms::parse("rree").unwrap().to_string(), "er");
    assert_eq!(Perms::parse("").unwrap(), Perms::NONE);
    assert_eq!(format!("{:?}", Perms::READ_ONLY), "Perms(\"elr\")");
}

#[test]
fn unknown_letter_is_named() {
    let err = Perms::parse("elrx").unwrap_err();
    assert!(
        matches!(&err, AuthError::InvalidConfig(m) if m.contains("'x'")),
        "{err}"
    );
    assert!(Perms::parse("E").is_err());
}

#[test]
fn write_letters() {
    assert!(!Perms::READ_ONLY.has_write());
    assert!(!Perms::NONE.has_write());
    for c in "adfmwMT".chars() {
        assert!(Perms::parse(&format!("elr{c}")).unwrap().has_write(), "{c}");
    }
    let mut p = Perms::ALL;
    p.remove(Perm::Chmod);
    assert!(!p.contains(Perm::Chmod) && p.contains(Perm::M));
}

#[test]
fn error_display() {
    assert_eq!(
        AuthError::BadCredentials.to_string(),
        "Authentication failed."
    );
    assert_eq!(AuthError::UnknownUser.to_string(), "Unknown user.");
}

// --- Helpers shared by the auth tests ---

/// `openssl passwd -6 -salt saltsalt secret`: password `secret`.
pub(crate) const SECRET_SHA512: &str = "$6$saltsalt$TVLlQcbpFVof5W3Yz4DTP6gRstiNuHwwTt6GLc1E5n0U0aDehy0S5knV8wiOQSpT0Y77vwPZN.Pq.H91p5hVO1";
/// `openssl passwd -5 -salt saltsalt secret`: password `secret`.
pub(crate) const SECRET_SHA256: &str = "$5$saltsalt$0IyaXrmV7.sGNS6tirgqHLqX/G.FBvgkYA.lpPdS5sA";
/// `bcrypt::hash_with_salt("secret", 4, [7; 16])` as `$2b$`: password `secret`.
pub(crate) const SECRET_BCRYPT: &str =
    "$2b$04$/uaF/uaF/uaF/uaF/uaF/uyUa5B4sNev9rTvA6TvEBWYO4koffwMy";

/// A temporary directory (canonical path) with some subdirectories, removed on drop.
pub(crate) struct TempDir(pub(crate) PathBuf);

impl TempDir {
    /// Creates a fresh directory containing `subdirs` (each may be nested, `a/b`).
    pub(crate) fn new(subdirs: &[&str]) -> TempDir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("ftpdlib-authf-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        for sub in subdirs {
            std::fs::create_dir_all(path.join(sub)).unwrap();
        }
        TempDir(std::fs::canonicalize(path).unwrap())
    }

    /// `self/rel` as a string, for building users files.
    pub(crate) fn sub(&self, rel: &str) -> String {
        self.0.join(rel).display().to_string()
    }

    /// The directory itself.
    pub(crate) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl std::ops::Deref for TempDir {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<Path> for TempDir {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}
