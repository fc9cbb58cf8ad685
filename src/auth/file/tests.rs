//! Tests for [`FileAuthorizer`](super::FileAuthorizer): load, reload, fallback accounts.

use super::*;
use crate::auth::tests::{TempDir, SECRET_SHA256, SECRET_SHA512};
use crate::auth::Perm;
use std::net::Ipv4Addr;

const PEER: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

fn vp(s: &str) -> VirtualPath {
    VirtualPath::root().resolve(s)
}

/// A temp tree with homes and a users file; `write` replaces the file's text.
struct Setup {
    dir: TempDir,
    file: PathBuf,
}

impl Setup {
    fn new(text: &str) -> Setup {
        let dir = TempDir::new(&["alice", "bob/incoming", "anon"]);
        let file = dir.path().join("users");
        let setup = Setup { dir, file };
        setup.write(text);
        setup
    }

    /// Writes the users file, with `{H}` standing for the temp dir.
    fn write(&self, text: &str) {
        std::fs::write(&self.file, text.replace("{H}", &self.dir.sub(""))).unwrap();
    }
}

fn alice_line() -> String {
    format!("alice:{SECRET_SHA512}:elr:{{H}}/alice\n")
}

fn bob_lines() -> String {
    format!("bob:{SECRET_SHA256}:elr:{{H}}/bob\n@override bob:/incoming:elrw\n")
}

fn login(auth: &FileAuthorizer, name: &str, pass: &str) -> Result<User, AuthError> {
    auth.authenticate(name, pass, PEER)
}

#[test]
fn load_and_authenticate() {
    let setup = Setup::new(&(alice_line() + &bob_lines()));
    let auth = FileAuthorizer::load(&setup.file, None).unwrap();
    assert_eq!(auth.path(), setup.file);
    let alice = login(&auth, "alice", "secret").unwrap();
    assert_eq!(alice.home, setup.dir.path().join("alice"));
    assert_eq!(
        login(&auth, "alice", "nope").unwrap_err(),
        AuthError::BadCredentials
    );
    assert_eq!(
        login(&auth, "carol", "secret").unwrap_err(),
        AuthError::BadCredentials
    );
    assert_eq!(
        login(&auth, "anonymous", "x").unwrap_err(),
        AuthError::BadCredentials
    );
    let bob = login(&auth, "bob", "secret").unwrap();
    assert!(auth.has_perm(&bob, Perm::W, &vp("/incoming/x")));
    assert!(!auth.has_perm(&bob, Perm::W, &vp("/x")));
    assert!(!auth.has_perm(&alice, Perm::W, &vp("/incoming/x")));
    let shown = format!("{auth:?}");
    assert!(!shown.contains("saltsalt"), "Debug shows a hash: {shown}");
}

#[test]
fn load_errors() {
    let setup = Setup::new("alice:plaintext:elr:/tmp\n");
    let err = FileAuthorizer::load(&setup.file, None).unwrap_err();
    assert_eq!(err.line, 1);
    let missing = FileAuthorizer::load(setup.dir.path().join("nope"), None).unwrap_err();
    assert_eq!(missing.line, 0);
}

#[test]
fn reload_adds_and_removes_users() {
    let setup = Setup::new(&alice_line());
    let auth = FileAuthorizer::load(&setup.file, None).unwrap();
    let alice = login(&auth, "alice", "secret").unwrap();
    assert!(login(&auth, "bob", "secret").is_err());

    setup.write(&(alice_line() + &bob_lines()));
    assert_eq!(auth.reload().unwrap(), 2);
    let bob = login(&auth, "bob", "secret").unwrap();
    assert!(auth.has_perm(&bob, Perm::W, &vp("/incoming/x")));

    setup.write(&bob_lines());
    assert_eq!(auth.reload().unwrap(), 1);
    assert_eq!(
        login(&auth, "alice", "secret").unwrap_err(),
        AuthError::BadCredentials
    );
    // Alice's session outlives her account but loses every permission.
    assert_eq!(auth.perms_for(&alice, &vp("/")), Perms::NONE);
    assert!(login(&auth, "bob", "secret").is_ok());
}

#[test]
fn reload_applies_new_perms_to_live_sessions() {
    let setup = Setup::new(&bob_lines());
    let auth = FileAuthorizer::load(&setup.file, None).unwrap();
    let bob = login(&auth, "bob", "secret").unwrap();
    assert!(auth.has_perm(&bob, Perm::W, &vp("/incoming/x")));
    // The override is gone and the base letters widened: both apply together.
    setup.write(&format!("bob:{SECRET_SHA256}:elrd:{{H}}/bob\n"));
    auth.reload().unwrap();
    assert!(!auth.has_perm(&bob, Perm::W, &vp("/incoming/x")));
    assert!(auth.has_perm(&bob, Perm::D, &vp("/x")));
    // A different home means the session's paths mean something else now.
    setup.write(&format!("bob:{SECRET_SHA256}:elrd:{{H}}/alice\n"));
    auth.reload().unwrap();
    assert_eq!(auth.perms_for(&bob, &vp("/")), Perms::NONE);
}

#[test]
fn broken_reload_keeps_old_accounts() {
    let setup = Setup::new(&alice_line());
    let auth = FileAuthorizer::load(&setup.file, None).unwrap();
    let before = auth.accounts();
    setup.write(&(alice_line() + "bob:secret:elr:{H}/bob\n"));
    let err = auth.reload().unwrap_err();
    assert_eq!(err.line, 2);
    assert!(err.problem.contains("plaintext"), "{err}");
    assert!(Arc::ptr_eq(&before, &auth.accounts()));
    assert!(login(&auth, "alice", "secret").is_ok());
    std::fs::remove_file(&setup.file).unwrap();
    assert_eq!(auth.reload().unwrap_err().line, 0);
    assert!(login(&auth, "alice", "secret").is_ok());
}

fn fallback(setup: &Setup) -> MemoryAuthorizer {
    let mut fallback = MemoryAuthorizer::new();
    fallback
        .add_user("admin", "plain-pw", setup.dir.path(), "elradfmwMT")
        .unwrap();
    fallback
        .add_anonymous(setup.dir.path().join("anon"), "elr")
        .unwrap();
    fallback.override_perm("admin", "bob", "elr", true).unwrap();
    fallback
}

#[test]
fn fallback_accounts() {
    let setup = Setup::new(&bob_lines());
    let auth = FileAuthorizer::load(&setup.file, Some(fallback(&setup))).unwrap();
    let admin = login(&auth, "admin", "plain-pw").unwrap();
    assert!(login(&auth, "admin", "secret").is_err());
    assert!(auth.has_perm(&admin, Perm::W, &vp("/alice/x")));
    assert!(
        !auth.has_perm(&admin, Perm::W, &vp("/bob/incoming/x")),
        "fallback override"
    );
    let anon = login(&auth, "ftp", "guest@").unwrap();
    assert!(anon.anonymous);
    assert!(auth.has_perm(&anon, Perm::R, &vp("/f")) && !auth.has_perm(&anon, Perm::W, &vp("/f")));
    let bob = login(&auth, "bob", "secret").unwrap();
    assert!(auth.has_perm(&bob, Perm::W, &vp("/incoming/x")));
    // Reloading leaves the fallback accounts alone.
    setup.write(&alice_line());
    assert_eq!(auth.reload().unwrap(), 1);
    assert!(login(&auth, "admin", "plain-pw").is_ok());
    assert!(auth.has_perm(&admin, Perm::W, &vp("/alice/x")));
}

#[test]
fn name_in_both_sources_is_an_error() {
    let setup = Setup::new(&format!("admin:{SECRET_SHA512}:elr:{{H}}\n"));
    let err = FileAuthorizer::load(&setup.file, Some(fallback(&setup))).unwrap_err();
    assert!(err.problem.contains("\"admin\""), "{err}");
    setup.write(&alice_line());
    let auth = FileAuthorizer::load(&setup.file, Some(fallback(&setup))).unwrap();
    setup.write(&(alice_line() + &format!("admin:{SECRET_SHA512}:elr:{{H}}\n")));
    assert!(auth.reload().is_err());
    assert!(login(&auth, "admin", "plain-pw").is_ok());
    assert!(login(&auth, "alice", "secret").is_ok());
}
