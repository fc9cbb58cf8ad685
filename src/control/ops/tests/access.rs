//! USER, PASS, REIN, QUIT and HOST (`ops/access.rs`): every reply, the login's limits and
//! certificates, and what a login leaves in the session and the server's state.

use super::rig::Rig;
use super::{check, Table};
use crate::auth::cert::{CertBinding, ClientCert};
use crate::auth::UserLimits;

const FAILED: &str = "DelayFailure";

#[rustfmt::skip]
pub(super) const TABLES: &[Table] = &[
    Table { rig: Rig::fresh, rows: &[
        (&["USER alice"], "", 331, "Username ok, send password."),
        (&["USER"], "", 501, "Syntax error: command needs an argument."),
        (&["USER alice", "PASS secret"], "", 230, "Login successful."),
        (&["USER alice", "PASS wrong"], FAILED, 530, "Authentication failed."),
        (&["USER alice", "PASS"], FAILED, 530, "Authentication failed."),
        (&["USER nobody", "PASS secret"], FAILED, 530, "Authentication failed."),
        (&["USER anonymous", "PASS x"], FAILED, 530, "Anonymous access not allowed."),
        (&["USER ftp", "PASS x"], FAILED, 530, "Anonymous access not allowed."),
        (&["PASS secret"], "", 503, "Login with USER first."),
        // A failed PASS forgets the name.
        (&["USER alice", "PASS wrong", "PASS secret"], "", 503, "Login with USER first."),
        (&["USER alice", "PASS wrong", "USER alice", "PASS secret"], "", 230, "Login successful."),
        (&["USER a", "PASS x", "USER a", "PASS x", "USER alice", "PASS x"],
            "DelayFailure, Close", 530, "Authentication failed. Disconnecting."),
        (&["HOST ftp.example.com"], "", 220, "Host accepted."),
        (&["HOST"], "", 501, "Syntax error: command needs an argument."),
        (&["USER alice", "HOST ftp.example.com"], "", 503, "Bad sequence of commands: HOST must come before USER."),
        (&["QUIT"], "Close", 221, "Goodbye."),
        (&["QUIT now"], "", 501, "Syntax error: command does not accept arguments."),
        (&["REIN"], "", 530, "Log in with USER and PASS first."),
    ]},
    Table { rig: Rig::logged_in, rows: &[
        (&["PASS secret"], "", 503, "User already authenticated."),
        (&["USER bob"], "", 331, "Previous account information was flushed, send password."),
        (&["USER alice", "PASS secret"], "", 230, "Login successful."),
        (&["HOST ftp.example.com"], "", 503, "Bad sequence of commands: HOST must come before USER."),
        (&["REIN"], "", 230, "Ready for new user."),
        (&["REIN", "PWD"], "", 530, "Log in with USER and PASS first."),
        (&["QUIT"], "Close", 221, "Goodbye."),
    ]},
    Table { rig: Rig::busy, rows: &[
        (&["QUIT"], "QuitAfterTransfer", 0, ""),
    ]},
];

#[test]
fn each_command_and_each_reply() {
    check(TABLES);
}

#[test]
fn login_and_logout_change_the_session() {
    let mut rig = Rig::fresh();
    rig.run("USER alice");
    assert_eq!(rig.session.username.as_deref(), Some("alice"));
    assert!(!rig.session.logged_in());
    rig.run("PASS wrong");
    assert_eq!(
        (rig.session.username.as_deref(), rig.session.failed_logins),
        (None, 1)
    );
    let mut rig = rig.login();
    assert!(rig.session.logged_in() && rig.session.fs.is_some());
    assert_eq!(rig.session.failed_logins, 0, "a login resets the count");
    rig.run("CWD dir");
    rig.run("TYPE I");
    rig.run("REIN");
    assert!(!rig.session.logged_in() && rig.session.fs.is_none());
    assert_eq!(rig.session.cwd.as_str(), "/", "REIN flushes the directory");
    assert_eq!(rig.run("SIZE a.txt").code(), 530);
}

#[test]
fn messages_of_the_user() {
    let mut rig = Rig::custom("elr", |auth, _| {
        auth.set_msg_login("alice", "Welcome, Alice.").unwrap();
        auth.set_msg_quit("alice", "Bye, Alice.").unwrap();
    });
    rig.run("USER alice");
    assert_eq!(rig.run("PASS secret").text(), "Welcome, Alice.");
    let quit = rig.run("QUIT");
    assert_eq!((quit.code(), quit.text()), (221, "Bye, Alice."));
}

#[test]
fn too_many_sessions_for_a_user() {
    let limits = UserLimits {
        max_sessions: Some(1),
        ..UserLimits::default()
    };
    let mut first = Rig::limited(limits);
    let mut second = first.sibling();
    second.run("USER alice");
    let refused = second.run("PASS secret");
    assert_eq!(
        (refused.actions().as_str(), refused.code(), refused.text()),
        ("Close", 421, "Too many sessions for this user.")
    );
    assert!(!second.session.logged_in() && second.session.username.is_none());
    // QUIT gives the slot back (each login below asserts its 230); so do REIN and a new USER.
    assert_eq!(first.run("QUIT").code(), 221);
    let mut third = first.sibling().login();
    third.run("REIN");
    let mut fourth = first.sibling().login();
    fourth.run("USER alice");
    let fifth = first.sibling().login();
    assert!(fifth.session.logged_in());
}

#[test]
fn a_login_that_cannot_be_served() {
    // From an address the user may not log in from: a failure like a wrong password.
    let mut rig = limited_fresh(UserLimits {
        allow_from: vec!["10.0.0.0/8".parse().unwrap()],
        ..UserLimits::default()
    });
    rig.run("USER alice");
    let ran = rig.run("PASS secret");
    assert_eq!((ran.actions(), ran.code()), (FAILED.to_owned(), 530));
    // A home that has gone since the account was made.
    let mut rig = Rig::custom("elr", |auth, _| {
        let gone = std::env::temp_dir().join(format!("ftpdlib-core-gone-{}", std::process::id()));
        std::fs::create_dir_all(&gone).unwrap();
        auth.add_user("carol", "pw", &gone, "elr").unwrap();
        std::fs::remove_dir(&gone).unwrap();
    });
    rig.run("USER carol");
    let ran = rig.run("PASS pw");
    assert_eq!(
        (ran.code(), ran.text()),
        (530, "Home directory is not available.")
    );
    assert!(!rig.session.logged_in() && rig.session.username.is_none());
}

fn cert(cn: &str) -> ClientCert {
    ClientCert {
        cn: Some(cn.to_owned()),
        sha256: [7; 32],
    }
}

fn bound(only: bool, quota: Option<u64>) -> UserLimits {
    UserLimits {
        cert: Some(Box::new(CertBinding {
            cn: Some("alice".to_owned()),
            sha256: None,
            only,
        })),
        quota_files: quota,
        ..UserLimits::default()
    }
}

#[test]
fn client_certificates() {
    // cert_only: USER alone logs in (232); with a quota, once it is measured.
    for (quota, actions) in [(None, ""), (Some(10), "CheckLogin")] {
        let mut rig = limited_fresh(bound(true, quota));
        rig.sec.client_cert = Some(cert("alice"));
        let ran = rig.run("USER alice");
        assert_eq!(
            (ran.actions().as_str(), ran.code(), ran.text()),
            (actions, 232, "Login successful.")
        );
        assert!(rig.session.logged_in());
    }
    // Bound, not cert_only: the password and the certificate.
    for (presented, code) in [
        (None, 530),
        (Some(cert("mallory")), 530),
        (Some(cert("alice")), 230),
    ] {
        let mut rig = limited_fresh(bound(false, None));
        rig.sec.client_cert = presented;
        assert_eq!(rig.run("USER alice").code(), 331);
        assert_eq!(rig.run("PASS secret").code(), code);
    }
}

/// Logged out; `alice` has user limits `limits`.
fn limited_fresh(limits: UserLimits) -> Rig {
    Rig::custom("elradfmwMT", |auth, _| {
        auth.set_limits("alice", limits).unwrap();
    })
}

#[test]
fn only_hashed_passwords_are_checked_on_the_pool() {
    use crate::auth::tests::SECRET_SHA512;
    use crate::auth::PasswordHash;
    let mut rig = Rig::custom("elr", |auth, _| {
        let hash = PasswordHash::parse(SECRET_SHA512).unwrap();
        let home = std::env::temp_dir();
        auth.add_user_hashed("bob", hash, &home, "elr").unwrap();
    });
    // Unknown names cost a hash too (the decoy), so they go to the pool as well.
    for (user, pass, actions, code) in [
        ("nobody", "secret", "CheckLogin, DelayFailure", 530),
        ("alice", "secret", "", 230),
        ("bob", "wrong", "CheckLogin, DelayFailure", 530),
        ("bob", "secret", "CheckLogin", 230),
    ] {
        assert_eq!(rig.run(&format!("USER {user}")).code(), 331);
        let ran = rig.run(&format!("PASS {pass}"));
        assert_eq!(
            (ran.actions().as_str(), ran.code()),
            (actions, code),
            "{user}"
        );
    }
}
