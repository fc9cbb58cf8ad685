//! Tests for the users file parser: a complete valid file, and every error with its line.

use super::*;
use crate::auth::tests::{TempDir, SECRET_BCRYPT, SECRET_SHA256, SECRET_SHA512};
use crate::auth::{Authorizer, Perm, Perms, UserLimits};
use std::net::{IpAddr, Ipv4Addr};

const PEER: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

fn tree() -> TempDir {
    TempDir::new(&["alice", "pub/incoming/sub", "pub/docs", "drop"])
}

fn vp(s: &str) -> VirtualPath {
    VirtualPath::root().resolve(s)
}

/// Parses `text` with `{H}` replaced by the temp dir and `{6}`, `{5}`, `{2}` by hashes.
fn parse_in(dir: &TempDir, text: &str) -> Result<MemoryAuthorizer, UsersFileError> {
    let text = text
        .replace("{H}", &dir.sub(""))
        .replace("{6}", SECRET_SHA512)
        .replace("{5}", SECRET_SHA256)
        .replace("{2}", SECRET_BCRYPT);
    parse_users(&text, "users.txt")
}

/// Asserts that `text` fails on `line` with a problem containing `needle`.
fn assert_error(dir: &TempDir, text: &str, line: usize, needle: &str) {
    let err = match parse_in(dir, text) {
        Ok(_) => panic!("accepted: {text}"),
        Err(err) => err,
    };
    assert_eq!((err.file.as_str(), err.line), ("users.txt", line), "{err}");
    assert!(err.problem.contains(needle), "{needle:?} not in: {err}");
    assert_eq!(
        err.to_string(),
        format!("users.txt:{line}: {}", err.problem)
    );
}

#[test]
fn complete_file() {
    let dir = tree();
    let text = "\u{feff}# Example users file\r\n\
        \r\n\
        alice:{6}:elradfmwMT:{H}/alice:max_sessions=2,read_limit=64k,write_limit=2M\r\n\
        \x20  # an indented comment\n\
        bob:{5}:elr:{H}/pub:msg_login=Welcome Bob,msg_quit=See you\n\
        @override bob:/incoming:elrw\n\
        @override   bob:/docs:el:recursive\n\
        drop:{2}:w:{H}/drop:\n";
    let auth = parse_in(&dir, text).unwrap();
    assert_eq!(auth.user_count(), 3);

    let alice = auth.authenticate("alice", "secret", PEER).unwrap();
    assert_eq!(alice.home, dir.path().join("alice"));
    assert_eq!(alice.perms, Perms::ALL);
    let limits = UserLimits {
        max_sessions: Some(2),
        read_limit: 64 * 1024,
        write_limit: 2 * 1024 * 1024,
        allow_from: Vec::new(),
        umask: None,
        hide: Vec::new(),
        deny: Vec::new(),
        cert: None,
        quota_bytes: None,
        quota_files: None,
    };
    assert_eq!(alice.limits, limits);
    assert_eq!(alice.msg_login, "Login successful.");
    assert!(auth.authenticate("alice", "Secret", PEER).is_err());

    let bob = auth.authenticate("bob", "secret", PEER).unwrap();
    assert_eq!(
        (bob.msg_login.as_str(), bob.msg_quit.as_str()),
        ("Welcome Bob", "See you")
    );
    assert_eq!(bob.limits, UserLimits::default());
    assert!(!auth.has_perm(&bob, Perm::W, &vp("/")));
    assert!(auth.has_perm(&bob, Perm::W, &vp("/incoming/new.bin")));
    assert!(!auth.has_perm(&bob, Perm::D, &vp("/incoming/new.bin")));
    assert!(!auth.has_perm(&bob, Perm::W, &vp("/incoming/sub/deeper/x")));
    assert!(!auth.has_perm(&bob, Perm::R, &vp("/docs/a/b/c.txt")));
    assert!(auth.has_perm(&bob, Perm::L, &vp("/docs/a/b")));

    let drop = auth.authenticate("drop", "secret", PEER).unwrap();
    assert_eq!(drop.perms.to_string(), "w");
    assert!(auth.has_perm(&drop, Perm::W, &vp("/file.zip")));
    for perm in [Perm::L, Perm::R, Perm::E] {
        assert!(!auth.has_perm(&drop, perm, &vp("/file.zip")), "{perm}");
    }
    assert_eq!(
        auth.authenticate("nobody", "secret", PEER).unwrap_err(),
        AuthError::BadCredentials
    );
}

#[test]
fn empty_and_comment_only_files() {
    let dir = tree();
    for text in ["", "\n\n", "# nothing\r\n   \r\n#alice:x:y:z\n"] {
        assert_eq!(parse_in(&dir, text).unwrap().user_count(), 0);
    }
}

#[test]
fn byte_options() {
    let dir = tree();
    for (value, bytes) in [
        ("0", 0),
        ("1", 1),
        ("3K", 3072),
        ("1m", 1 << 20),
        ("7M", 7 << 20),
    ] {
        let text = format!("a:{{6}}:elr:{{H}}:read_limit={value},write_limit={value}");
        let user = parse_in(&dir, &text).unwrap().user("a").cloned().unwrap();
        assert_eq!(
            (user.limits.read_limit, user.limits.write_limit),
            (bytes, bytes)
        );
    }
}

#[test]
fn quota_options() {
    let dir = tree();
    for (value, bytes) in [
        ("0", 0),
        ("500", 500),
        ("3K", 3072),
        ("10G", 10 << 30),
        ("2T", 2 << 40),
    ] {
        let text = format!("a:{{6}}:elr:{{H}}:quota_bytes={value},quota_files=7");
        let user = parse_in(&dir, &text).unwrap().user("a").cloned().unwrap();
        assert_eq!(
            (user.limits.quota_bytes, user.limits.quota_files),
            (Some(bytes), Some(7))
        );
    }
    let user = parse_in(&dir, "a:{6}:elr:{H}:max_sessions=1")
        .unwrap()
        .user("a")
        .cloned()
        .unwrap();
    assert_eq!(
        (user.limits.quota_bytes, user.limits.quota_files),
        (None, None)
    );
    assert_error(
        &dir,
        "a:{6}:elr:{H}:quota_bytes=10X",
        1,
        "bad value \"10X\" for quota_bytes",
    );
    assert_error(&dir, "a:{6}:elr:{H}:quota_bytes=", 1, "for quota_bytes");
    assert_error(
        &dir,
        "a:{6}:elr:{H}:quota_files=1k",
        1,
        "bad value \"1k\" for quota_files",
    );
    assert_error(&dir, "a:{6}:elr:{H}:quota_files=-1", 1, "for quota_files");
}

#[test]
fn field_count_errors() {
    let dir = tree();
    assert_error(&dir, "# c\nalice:{6}:elr", 2, "found 3 fields");
    assert_error(
        &dir,
        "alice:{6}:elr:{H}:max_sessions=1:extra",
        1,
        // The options field may contain `:` (IPv6 networks), so a sixth field is part of it.
        "bad value \"1:extra\" for max_sessions",
    );
    assert_error(&dir, "alice", 1, "expected name:password-hash:perms:home");
}

#[test]
fn name_errors() {
    let dir = tree();
    assert_error(&dir, ":{6}:elr:{H}", 1, "empty user name");
    assert_error(&dir, "al ice:{6}:elr:{H}", 1, "white space");
    assert_error(&dir, "anonymous:{6}:elr:{H}", 1, "reserved");
    assert_error(&dir, "ftp:{6}:elr:{H}", 1, "reserved");
    let text = "alice:{6}:elr:{H}\n\n# again\nalice:{5}:elr:{H}";
    assert_error(
        &dir,
        text,
        4,
        "duplicate user \"alice\" (first defined on line 1)",
    );
}

#[test]
fn hash_errors() {
    let dir = tree();
    assert_error(
        &dir,
        "\nalice:secret:elr:{H}",
        2,
        "plaintext passwords are refused",
    );
    assert_error(&dir, "alice::elr:{H}", 1, "empty");
    let md5 = "alice:$1$saltsalt$qjXMvbEw8oaL.CzflDugX/:elr:{H}";
    assert_error(&dir, md5, 1, "MD5");
    assert_error(&dir, "alice:$6$x$short:elr:{H}", 1, "malformed");
    // The refused text (possibly a real password) is never repeated.
    let err = parse_in(&dir, "alice:Tr0ub4dor:elr:{H}").unwrap_err();
    assert!(!err.to_string().contains("Tr0ub4dor"), "{err}");
}

#[test]
fn perm_and_home_errors() {
    let dir = tree();
    std::fs::write(dir.path().join("file"), b"x").unwrap();
    assert_error(
        &dir,
        "alice:{6}:elrx:{H}",
        1,
        "unknown permission letter 'x'",
    );
    assert_error(&dir, "alice:{6}:elr:{H}/missing", 1, "is not usable");
    assert_error(&dir, "alice:{6}:elr:{H}/file", 1, "not a directory");
    assert_error(&dir, "alice:{6}:elr:relative/dir", 1, "absolute path");
    assert_error(&dir, "alice:{6}:elr:", 1, "absolute path");
}

#[test]
fn option_errors() {
    let dir = tree();
    let cases = [
        ("colour=blue", "unknown option \"colour\""),
        ("max_sessions", "not key=value"),
        ("max_sessions=0", "max_sessions"),
        ("max_sessions=-1", "max_sessions"),
        ("max_sessions=99999999999", "max_sessions"),
        ("read_limit=1.5M", "read_limit"),
        ("write_limit=k", "write_limit"),
        ("write_limit=10G", "write_limit"),
        ("read_limit=99999999999999999M", "read_limit"),
        ("msg_login=", "msg_login must not be empty"),
        ("max_sessions=1,max_sessions=2", "given twice"),
        ("max_sessions=1,", "not key=value"),
    ];
    for (options, needle) in cases {
        assert_error(
            &dir,
            &format!("# x\nalice:{{6}}:elr:{{H}}:{options}"),
            2,
            needle,
        );
    }
}

#[test]
fn override_errors() {
    let dir = tree();
    let bob = "bob:{6}:elr:{H}/pub\n";
    let cases = [
        ("@override bob:/incoming", "expected @override NAME"),
        ("@override bob:/incoming:elrw:yes", "must be 'recursive'"),
        ("@override bob:/incoming:elrw:recursive:x", "found 5 fields"),
        ("@override bob:incoming:elrw", "absolute path"),
        ("@override bob:/incoming/../..:elrw", "without '..'"),
        (
            "@override bob:/nothere:elrw",
            "@override /nothere of user \"bob\"",
        ),
        (
            "@override bob:/incoming:elrz",
            "unknown permission letter 'z'",
        ),
        (
            "@override carol:/incoming:elrw",
            "not defined on an earlier line",
        ),
        ("@overide bob:/incoming:elrw", "unknown directive @overide"),
        (
            "@override bob:/incoming:elrw\n@override bob:/incoming/:w",
            "duplicate @override",
        ),
    ];
    for (line, needle) in cases {
        let lineno = 1 + line.lines().count();
        assert_error(&dir, &format!("{bob}{line}"), lineno, needle);
    }
    // A user defined only later in the file does not count.
    let later = "@override bob:/incoming:elrw\nbob:{6}:elr:{H}/pub";
    assert_error(&dir, later, 1, "not defined on an earlier line");
}

#[test]
fn load_from_disk() {
    let dir = tree();
    let path = dir.path().join("users");
    let missing = load_users_file(&path).unwrap_err();
    assert_eq!(missing.line, 0);
    assert!(missing.problem.contains("cannot read"), "{missing}");
    assert!(missing
        .to_string()
        .starts_with(&format!("{}:0: ", path.display())));

    let text = format!("alice:{SECRET_SHA512}:elr:{}\nbob:bad", dir.sub("alice"));
    std::fs::write(&path, &text).unwrap();
    let err = load_users_file(&path).unwrap_err();
    assert_eq!((err.file, err.line), (path.display().to_string(), 2));

    std::fs::write(&path, &text[..text.find('\n').unwrap()]).unwrap();
    let auth = load_users_file(&path).unwrap();
    assert!(auth.authenticate("alice", "secret", PEER).is_ok());
}

#[test]
fn allow_from_takes_networks_of_both_families_after_one_key() {
    let dir = tree();
    let text = "alice:{6}:elr:{H}/alice:allow_from=10.0.0.0/8,2001:db8::/32,max_sessions=2\n";
    let auth = parse_in(&dir, text).unwrap();
    let alice = auth.authenticate("alice", "secret", PEER).unwrap();
    let nets = &alice.limits.allow_from;
    assert_eq!(nets.len(), 2);
    assert!(nets[0].contains("10.1.2.3".parse().unwrap()));
    assert!(nets[0].contains("::ffff:10.1.2.3".parse().unwrap()));
    assert!(!nets[0].contains("11.0.0.1".parse().unwrap()));
    assert!(nets[1].contains("2001:db8::7".parse().unwrap()));
    assert!(!nets[1].contains("10.1.2.3".parse().unwrap()));
    assert_eq!(alice.limits.max_sessions, Some(2));
    assert_error(
        &dir,
        "bob:{6}:elr:{H}/pub:allow_from=10.0.0.0/33\n",
        1,
        "not a network",
    );
}

#[test]
fn hide_and_deny_take_globs_separated_by_bars() {
    let dir = tree();
    let text = "alice:{6}:elr:{H}/alice:hide=.*|*.tmp,deny=*.exe,umask=027\n";
    let auth = parse_in(&dir, text).unwrap();
    let alice = auth.authenticate("alice", "secret", PEER).unwrap();
    assert_eq!(alice.limits.hide, [".*", "*.tmp"]);
    assert_eq!(alice.limits.deny, ["*.exe"]);
    assert_eq!(alice.limits.umask, Some(0o027));
    assert_error(&dir, "bob:{6}:elr:{H}/pub:umask=999\n", 1, "umask");
}

#[test]
fn certificate_options_bind_a_user_to_a_certificate() {
    use crate::auth::{CertBinding, ClientCert};
    let dir = tree();
    let sha = "ab:CD:".repeat(15) + "abcd";
    let text = format!(
        "alice:{{6}}:elr:{{H}}/alice:cert_cn=alice,cert_only=yes\n\
         bob:{{6}}:elr:{{H}}/pub:cert_sha256={sha},cert_only=no\n\
         carol:{{6}}:elr:{{H}}/pub:cert_only=no\n"
    );
    let auth = parse_in(&dir, &text).unwrap();
    let alice = auth.user("alice").unwrap();
    let want = CertBinding {
        cn: Some("alice".into()),
        sha256: None,
        only: true,
    };
    assert_eq!(alice.limits.cert.as_deref(), Some(&want));
    let bob = auth.user("bob").unwrap().limits.cert.clone().unwrap();
    assert_eq!(
        bob.sha256.map(|s| s[..3].to_vec()),
        Some(vec![0xab, 0xcd, 0xab])
    );
    assert!(!bob.only);
    assert_eq!(auth.user("carol").unwrap().limits.cert, None, "no binding");

    let cert = |cn: &str| ClientCert {
        cn: Some(cn.into()),
        sha256: [0; 32],
    };
    let only = |name: &str, c: &ClientCert| auth.authenticate_cert_only(name, c, PEER);
    assert_eq!(
        only("alice", &cert("alice")).map(|u| u.name),
        Some("alice".into())
    );
    assert!(only("alice", &cert("mallory")).is_none());
    assert!(only("bob", &cert("bob")).is_none(), "cert_only=no");
    assert!(only("nobody", &cert("nobody")).is_none());
}

#[test]
fn certificate_option_errors_name_the_line() {
    let dir = tree();
    let ok = "alice:{6}:elr:{H}/alice\n";
    assert_error(
        &dir,
        &format!("{ok}bob:{{6}}:elr:{{H}}/pub:cert_only=yes\n"),
        2,
        "cert_only=yes needs",
    );
    assert_error(
        &dir,
        "bob:{6}:elr:{H}/pub:cert_only=maybe\n",
        1,
        "cert_only",
    );
    assert_error(
        &dir,
        "bob:{6}:elr:{H}/pub:cert_sha256=abcd\n",
        1,
        "cert_sha256",
    );
    assert_error(&dir, "bob:{6}:elr:{H}/pub:cert_cn=\n", 1, "cert_cn");
    assert_error(
        &dir,
        "bob:{6}:elr:{H}/pub:cert_cn=a,cert_cn=b\n",
        1,
        "twice",
    );
}
