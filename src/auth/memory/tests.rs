//! Tests for [`MemoryAuthorizer`](super::MemoryAuthorizer): logins and overrides.

use super::*;
use crate::auth::Perm;
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicUsize, Ordering};

const PEER: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// A temporary home directory removed on drop.
struct TempHome(PathBuf);

impl TempHome {
    fn new() -> TempHome {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let name = format!("ftpdlib-auth-{}-{n}", std::process::id());
        let path = std::env::temp_dir().join(name);
        let _ = std::fs::remove_dir_all(&path);
        for sub in ["pub/upload/deep", "incoming/sub", "private"] {
            std::fs::create_dir_all(path.join(sub)).unwrap();
        }
        TempHome(std::fs::canonicalize(path).unwrap())
    }
}

impl Drop for TempHome {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn vp(s: &str) -> VirtualPath {
    VirtualPath::root().resolve(s)
}

fn auth_with_alice(home: &TempHome) -> MemoryAuthorizer {
    let mut auth = MemoryAuthorizer::new();
    auth.add_user("alice", "s3cret", &home.0, "elr").unwrap();
    auth
}

#[test]
fn password_login() {
    let home = TempHome::new();
    let auth = auth_with_alice(&home);
    let user = auth.authenticate("alice", "s3cret", PEER).unwrap();
    assert_eq!((user.name.as_str(), user.anonymous), ("alice", false));
    assert_eq!(user.home, home.0);
    assert_eq!(user.perms, Perms::READ_ONLY);
    assert_eq!(user.msg_login, "Login successful.");
    for (name, pass) in [
        ("alice", "wrong"),
        ("alice", "s3cre"),
        ("alice", "s3cret!"),
        ("alice", ""),
    ] {
        assert_eq!(
            auth.authenticate(name, pass, PEER).unwrap_err(),
            AuthError::BadCredentials
        );
    }
    // Unknown users look exactly like wrong passwords; names are case-sensitive.
    assert_eq!(
        auth.authenticate("bob", "s3cret", PEER).unwrap_err(),
        AuthError::BadCredentials
    );
    assert_eq!(
        auth.authenticate("Alice", "s3cret", PEER).unwrap_err(),
        AuthError::BadCredentials
    );
    assert_eq!(
        auth.authenticate("anonymous", "x", PEER).unwrap_err(),
        AuthError::BadCredentials
    );
    assert!(!format!("{auth:?}").contains("s3cret"));
}

#[test]
fn anonymous_accepts_any_password_under_both_names() {
    let home = TempHome::new();
    let mut auth = MemoryAuthorizer::new();
    auth.add_anonymous(&home.0, "elr").unwrap();
    for name in ["anonymous", "ftp"] {
        for pass in ["", "guest@example.com", "anything"] {
            let user = auth.authenticate(name, pass, PEER).unwrap();
            assert!(user.anonymous);
            assert_eq!(user.name, "anonymous");
        }
    }
    assert!(auth.authenticate("Anonymous", "", PEER).is_err());
    assert!(auth.has_user("ftp") && !auth.has_user("FTP"));
    assert!(auth.add_anonymous(&home.0, "elr").is_err());
    auth.set_msg_login("ftp", "Welcome, guest.").unwrap();
    assert_eq!(
        auth.authenticate("anonymous", "", PEER).unwrap().msg_login,
        "Welcome, guest."
    );
}

#[test]
fn configuration_errors() {
    let home = TempHome::new();
    let mut auth = auth_with_alice(&home);
    let err = auth.add_user("alice", "x", &home.0, "elr").unwrap_err();
    assert!(err.to_string().contains("already exists"), "{err}");
    for reserved in ["anonymous", "ftp"] {
        assert!(auth.add_user(reserved, "x", &home.0, "elr").is_err());
    }
    assert!(auth.add_user("", "x", &home.0, "elr").is_err());
    let err = auth
        .add_user("bob", "x", home.0.join("missing"), "elr")
        .unwrap_err();
    assert!(
        matches!(&err, AuthError::InvalidConfig(m) if m.contains("missing")),
        "{err}"
    );
    std::fs::write(home.0.join("file"), b"").unwrap();
    assert!(auth
        .add_user("bob", "x", home.0.join("file"), "elr")
        .is_err());
    assert!(auth.add_user("bob", "x", &home.0, "elrz").is_err());
    assert!(!auth.has_user("bob"));
    assert_eq!(
        auth.set_msg_quit("bob", "bye").unwrap_err(),
        AuthError::UnknownUser
    );
    auth.set_msg_quit("alice", "Bye, Alice.").unwrap();
    assert_eq!(
        auth.authenticate("alice", "s3cret", PEER).unwrap().msg_quit,
        "Bye, Alice."
    );
}

#[test]
fn override_errors() {
    let home = TempHome::new();
    let mut auth = auth_with_alice(&home);
    let e = auth.override_perm("bob", &home.0, "elr", true).unwrap_err();
    assert_eq!(e, AuthError::UnknownUser);
    assert!(auth
        .override_perm("alice", home.0.join("nope"), "elr", true)
        .is_err());
    assert!(auth
        .override_perm("alice", home.0.parent().unwrap(), "elr", true)
        .is_err());
    assert!(auth.override_perm("alice", "../", "elr", true).is_err());
    assert!(auth.override_perm("alice", "pub", "elrq", true).is_err());
}

#[test]
fn recursive_and_non_recursive_overrides() {
    let home = TempHome::new();
    let mut auth = auth_with_alice(&home);
    // pub/upload (relative to home) is writable in its whole subtree...
    auth.override_perm("alice", "pub/upload", "elrw", true)
        .unwrap();
    // ...incoming only for itself and its direct children.
    auth.override_perm("alice", home.0.join("incoming"), "elrwm", false)
        .unwrap();
    // ...and private is closed.
    auth.override_perm("alice", home.0.join("private"), "", true)
        .unwrap();
    let user = auth.authenticate("alice", "s3cret", PEER).unwrap();
    let perms = |p: &str| auth.perms_for(&user, &vp(p)).to_string();

    assert_eq!(perms("/"), "elr");
    assert_eq!(perms("/pub"), "elr");
    assert_eq!(perms("/pub/upload"), "elrw");
    assert_eq!(perms("/pub/upload/deep/x/y.txt"), "elrw");
    assert_eq!(perms("/pub/uploads"), "elr"); // a sibling with a common prefix
    assert_eq!(perms("/incoming"), "elrmw");
    assert_eq!(perms("/incoming/file.txt"), "elrmw");
    assert_eq!(perms("/incoming/sub"), "elrmw");
    assert_eq!(perms("/incoming/sub/file.txt"), "elr");
    assert_eq!(perms("/private/x"), "");
    assert!(auth.has_perm(&user, Perm::W, &vp("/pub/upload/a")));
    assert!(!auth.has_perm(&user, Perm::W, &vp("/pub/a")));
    assert!(!auth.has_perm(&user, Perm::R, &vp("/private")));
}

#[test]
fn more_specific_override_wins_and_replacing_works() {
    let home = TempHome::new();
    let mut auth = auth_with_alice(&home);
    auth.override_perm("alice", "pub/upload", "elradfmw", true)
        .unwrap();
    auth.override_perm("alice", "pub", "el", true).unwrap();
    auth.override_perm("alice", &home.0, "e", true).unwrap();
    let user = auth.authenticate("alice", "s3cret", PEER).unwrap();
    let perms = |p: &str| auth.perms_for(&user, &vp(p)).to_string();
    assert_eq!(perms("/"), "e");
    assert_eq!(perms("/incoming"), "e");
    assert_eq!(perms("/pub/x"), "el");
    assert_eq!(perms("/pub/upload/deep"), "elradfmw");
    // A second override of the same directory replaces the first.
    auth.override_perm("alice", "pub", "elr", true).unwrap();
    assert_eq!(auth.perms_for(&user, &vp("/pub/x")).to_string(), "elr");
}

#[test]
fn symlinks_cannot_sidestep_an_override() {
    let home = TempHome::new();
    std::os::unix::fs::symlink("private", home.0.join("alias")).unwrap();
    let mut auth = auth_with_alice(&home);
    auth.override_perm("alice", "private", "e", true).unwrap();
    let user = auth.authenticate("alice", "s3cret", PEER).unwrap();
    assert_eq!(auth.perms_for(&user, &vp("/alias/file")).to_string(), "e");
    assert_eq!(auth.perms_for(&user, &vp("/alias")).to_string(), "e");
    assert_eq!(auth.perms_for(&user, &vp("/pub")).to_string(), "elr");
}

#[test]
fn users_from_elsewhere_keep_their_own_perms() {
    let home = TempHome::new();
    let auth = auth_with_alice(&home);
    let stranger = User {
        name: "carol".to_owned(),
        home: home.0.clone(),
        perms: Perms::ALL,
        anonymous: false,
        msg_login: String::new(),
        msg_quit: String::new(),
        limits: crate::auth::UserLimits::default(),
    };
    assert_eq!(auth.perms_for(&stranger, &vp("/x")), Perms::ALL);
}

#[test]
fn constant_time_comparison() {
    assert!(constant_time_eq(b"abc", b"abc"));
    assert!(constant_time_eq(b"", b""));
    assert!(!constant_time_eq(b"abc", b"abd"));
    assert!(!constant_time_eq(b"abc", b"ab"));
    assert!(!constant_time_eq(b"ab\0", b"ab"));
}

#[test]
fn hashed_accounts_and_limits() {
    use crate::auth::tests::{SECRET_BCRYPT, SECRET_SHA512};
    let home = TempHome::new();
    let mut auth = auth_with_alice(&home);
    let hash = PasswordHash::parse(SECRET_SHA512).unwrap();
    auth.add_user_hashed("bob", hash.clone(), &home.0, "elrw")
        .unwrap();
    let bcrypt = PasswordHash::parse(SECRET_BCRYPT).unwrap();
    auth.add_user_hashed("carol", bcrypt, &home.0, "elr")
        .unwrap();
    let err = auth.add_user_hashed("bob", hash.clone(), &home.0, "elr");
    assert!(matches!(err, Err(AuthError::InvalidConfig(_))));
    assert!(auth.add_user_hashed("ftp", hash, &home.0, "elr").is_err());

    let bob = auth.authenticate("bob", "secret", PEER).unwrap();
    assert_eq!(bob.perms.to_string(), "elrw");
    assert!(auth.authenticate("carol", "secret", PEER).is_ok());
    assert!(
        auth.authenticate("alice", "s3cret", PEER).is_ok(),
        "plaintext still works"
    );
    for (name, pass) in [("bob", "s3cret"), ("bob", ""), ("nobody", "secret")] {
        assert_eq!(
            auth.authenticate(name, pass, PEER).unwrap_err(),
            AuthError::BadCredentials
        );
    }
    assert!(!format!("{auth:?}").contains("saltsalt"));

    let limits = UserLimits {
        max_sessions: Some(3),
        read_limit: 1000,
        write_limit: 0,
        allow_from: Vec::new(),
        umask: None,
        hide: Vec::new(),
        deny: Vec::new(),
        cert: None,
        quota_bytes: None,
        quota_files: None,
    };
    auth.set_limits("bob", limits.clone()).unwrap();
    assert_eq!(
        auth.authenticate("bob", "secret", PEER).unwrap().limits,
        limits
    );
    assert_eq!(auth.user("bob").unwrap().limits, limits);
    assert_eq!(auth.user("alice").unwrap().limits, UserLimits::default());
    assert_eq!(
        auth.set_limits("nobody", limits),
        Err(AuthError::UnknownUser)
    );
    let mut names: Vec<&str> = auth.user_names().collect();
    names.sort_unstable();
    assert_eq!(
        (names, auth.user_count()),
        (vec!["alice", "bob", "carol"], 3)
    );
}

#[test]
fn only_plaintext_and_anonymous_checks_are_answered_at_once() {
    use crate::auth::tests::SECRET_SHA512;
    let home = TempHome::new();
    let mut auth = auth_with_alice(&home);
    auth.add_anonymous(&home.0, "elr").unwrap();
    let at_once = |auth: &MemoryAuthorizer, name: &str, pass: &str| {
        auth.authenticate_at_once(name, pass, PEER)
            .map(|r| r.map(|u| u.name))
    };
    // Right or wrong, a plaintext account answers at once, the same way each time.
    assert_eq!(at_once(&auth, "alice", "s3cret"), Some(Ok("alice".into())));
    assert_eq!(
        at_once(&auth, "alice", "guess"),
        Some(Err(AuthError::BadCredentials))
    );
    assert!(matches!(at_once(&auth, "anonymous", "me@"), Some(Ok(_))));
    // An unknown name costs what a plaintext check costs while no hash is configured...
    assert_eq!(
        at_once(&auth, "nobody", "x"),
        Some(Err(AuthError::BadCredentials))
    );
    // ...and a hash's time (on the pool) once one is, like the hashed accounts themselves.
    let hash = PasswordHash::parse(SECRET_SHA512).unwrap();
    auth.add_user_hashed("bob", hash, &home.0, "elr").unwrap();
    assert_eq!(at_once(&auth, "bob", "secret"), None);
    assert_eq!(at_once(&auth, "bob", "wrong"), None);
    assert_eq!(at_once(&auth, "nobody", "x"), None);
    assert_eq!(at_once(&auth, "alice", "s3cret"), Some(Ok("alice".into())));
}
