//! The account system through real sockets, with an in-process server whose accounts come
//! from a users file: logins with each accepted hash type, the delayed 530, plaintext refused
//! at load time, per-directory overrides (an upload directory, a drop box), per-user session
//! limits, per-user aggregate bandwidth, login/quit messages and temporary IP bans.

mod acct;
mod common;
mod xfer;

use std::io::{BufRead, BufReader};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ftpdlib::auth::users_file::parse_users;
use ftpdlib::auth::FileAuthorizer;
use ftpdlib::state::BanPolicy;
use ftpdlib::Config;

use acct::{BCRYPT, BCRYPT_PW, SHA256, SHA256_PW, SHA512, SHA512_PW};
use common::{Ctrl, TempDir, TestServer};
use xfer::CtrlExt;

/// One account line of a users file.
fn account(name: &str, hash: &str, perms: &str, home: &Path, options: &str) -> String {
    let home = home.display();
    if options.is_empty() {
        format!("{name}:{hash}:{perms}:{home}")
    } else {
        format!("{name}:{hash}:{perms}:{home}:{options}")
    }
}

/// A server whose only accounts are the users-file text `users(root)` returns, after
/// `configure` adjusted the rest of the configuration.
fn server(users: impl FnOnce(&Path) -> String, configure: impl FnOnce(&mut Config)) -> TestServer {
    TestServer::start_with_root(|cfg, root| {
        let text = users(root);
        cfg.authorizer = Arc::new(parse_users(&text, "users.txt").unwrap());
        configure(cfg);
    })
}

/// Connects and sends USER/PASS; returns the client and the PASS reply.
fn try_login(srv: &TestServer, user: &str, pass: &str) -> (Ctrl, common::Reply) {
    let mut c = srv.connect();
    c.expect(&format!("USER {user}"), 331);
    let r = c.cmd(&format!("PASS {pass}"));
    (c, r)
}

#[test]
fn each_hash_kind_logs_in_through_a_loaded_file() {
    let dir = TempDir::new("users");
    let file = dir.path().join("users.txt");
    let srv = TestServer::start_with_root(|cfg, root| {
        let lines = [
            account("six", SHA512, "elr", root, ""),
            account("five", SHA256, "elr", root, ""),
            account("blow", BCRYPT, "elr", root, ""),
        ];
        acct::write_users(&file, &lines);
        cfg.authorizer = Arc::new(FileAuthorizer::load(&file, None).unwrap());
    });
    for (user, pass) in [("six", SHA512_PW), ("five", SHA256_PW), ("blow", BCRYPT_PW)] {
        let mut c = srv.connect();
        c.login(user, pass);
        c.expect_line("PWD", "257 \"/\" is the current directory.");
        c.expect("QUIT", 221);
    }
    // Each hash only accepts its own password.
    for (user, pass) in [("six", SHA256_PW), ("five", BCRYPT_PW), ("blow", SHA512_PW)] {
        let (_c, r) = try_login(&srv, user, pass);
        assert_eq!(r.code, 530, "{user} with another user's password: {r:?}");
    }
}

#[test]
fn wrong_password_is_a_delayed_530_like_an_unknown_user() {
    const DELAY: Duration = Duration::from_millis(400);
    let srv = server(
        |root| account("six", SHA512, "elr", root, ""),
        |cfg| cfg.auth_failed_delay = DELAY,
    );
    let mut c = srv.connect();
    for user in ["six", "nosuchuser"] {
        c.expect(&format!("USER {user}"), 331);
        let start = Instant::now();
        c.expect_line("PASS wrong", "530 Authentication failed.");
        let took = start.elapsed();
        assert!(
            took >= DELAY,
            "530 for {user} after {took:?}, before {DELAY:?}"
        );
    }
    // Two failures are below the default limit of 3: the right password still works.
    c.login("six", SHA512_PW);
}

#[test]
fn plaintext_password_is_refused_naming_file_and_line() {
    let dir = TempDir::new("users");
    let file = dir.path().join("users.txt");
    let home = dir.path();
    let lines = [
        "# accounts".to_owned(),
        account("six", SHA512, "elr", home, ""),
        account("eve", "hunter2secret", "elr", home, ""),
    ];
    acct::write_users(&file, &lines);
    let err = FileAuthorizer::load(&file, None).unwrap_err();
    assert_eq!(err.line, 3, "{err}");
    let text = err.to_string();
    assert!(
        text.starts_with(&format!("{}:3: ", file.display())),
        "{text}"
    );
    assert!(text.contains("plaintext passwords are refused"), "{text}");
    assert!(
        !text.contains("hunter2secret"),
        "the error repeats the password: {text}"
    );
}

#[test]
fn read_only_user_may_upload_into_incoming_only() {
    let srv = server(
        |root| {
            std::fs::create_dir(root.join("incoming")).unwrap();
            std::fs::write(root.join("readme.txt"), b"read me").unwrap();
            let bob = account("bob", SHA512, "elr", root, "");
            format!("{bob}\n@override bob:/incoming:elrw\n")
        },
        |_| {},
    );
    let mut c = srv.connect();
    c.login("bob", SHA512_PW);
    assert_eq!(xfer::download(&mut c, "RETR readme.txt"), b"read me");
    xfer::pasv(&mut c);
    c.expect("STOR /up.txt", 550);
    assert!(!srv.root().join("up.txt").exists());
    xfer::upload(&mut c, "STOR /incoming/up.txt", b"uploaded");
    assert_eq!(
        std::fs::read(srv.root().join("incoming/up.txt")).unwrap(),
        b"uploaded"
    );
    // The override grants exactly elrw: no deleting, no directories, even in /incoming.
    c.expect("DELE /incoming/up.txt", 550);
    c.expect("MKD /incoming/sub", 550);
    c.expect("MKD /sub", 550);
    assert!(srv.root().join("incoming/up.txt").exists());
}

#[test]
fn drop_box_accepts_uploads_but_shows_nothing() {
    let srv = server(
        |root| {
            std::fs::write(root.join("secret.txt"), b"not yours").unwrap();
            account("drop", SHA512, "w", root, "")
        },
        |_| {},
    );
    let mut c = srv.connect();
    c.login("drop", SHA512_PW);
    xfer::upload(&mut c, "STOR report.txt", b"quarterly numbers");
    assert_eq!(
        std::fs::read(srv.root().join("report.txt")).unwrap(),
        b"quarterly numbers"
    );
    // STOU picks a fresh name, so uploaders cannot replace each other's files.
    let r = xfer::upload(&mut c, "STOU", b"second report");
    let name = r.text.strip_prefix("FILE: ").unwrap();
    assert_eq!(
        std::fs::read(srv.root().join(name)).unwrap(),
        b"second report"
    );
    for cmd in ["LIST", "NLST", "RETR secret.txt", "RETR report.txt"] {
        xfer::pasv(&mut c);
        c.expect(cmd, 550);
    }
    c.expect("SIZE report.txt", 550);
    c.expect("CWD /", 550);
    c.expect("DELE report.txt", 550);
    // Still a working session after all the refusals.
    c.expect("NOOP", 200);
}

#[test]
fn session_limit_applies_per_user() {
    let srv = server(
        |root| {
            let carol = account("carol", SHA512, "elr", root, "max_sessions=2");
            let dave = account("dave", SHA256, "elr", root, "");
            format!("{carol}\n{dave}\n")
        },
        |_| {},
    );
    let mut first = srv.connect();
    first.login("carol", SHA512_PW);
    let mut second = srv.connect();
    second.login("carol", SHA512_PW);
    let (mut third, r) = try_login(&srv, "carol", SHA512_PW);
    assert_eq!(
        (r.code, r.text.as_str()),
        (421, "Too many sessions for this user.")
    );
    third.expect_closed();
    // Another user is not affected by carol's limit.
    let mut dave = [srv.connect(), srv.connect(), srv.connect()];
    for d in &mut dave {
        d.login("dave", SHA256_PW);
    }
    // A logout frees a slot (QUIT's 221 comes after the slot is released) ...
    first.expect("QUIT", 221);
    first.expect_closed();
    let mut again = srv.connect();
    again.login("carol", SHA512_PW);
    again.expect("NOOP", 200);
    // ... and only one: the refused attempt was not counted.
    let (mut fourth, r) = try_login(&srv, "carol", SHA512_PW);
    assert_eq!(r.code, 421, "{r:?}");
    fourth.expect_closed();
    second.expect("NOOP", 200);
}

/// Starts RETR of `name` over PASV and returns the connected data socket.
fn start_retr(c: &mut Ctrl, name: &str) -> std::net::TcpStream {
    let addr = xfer::pasv(c);
    c.expect(&format!("RETR {name}"), 150);
    xfer::connect(addr)
}

const BIG: usize = 400 * 1024;

/// A server with `big.bin` (BIG bytes), user eve limited by `eve_options` and unlimited
/// frank; returns it with the file's content.
fn bandwidth_server(
    eve_options: &str,
    configure: impl FnOnce(&mut Config),
) -> (TestServer, Vec<u8>) {
    let content = xfer::Pattern::new().bytes(BIG);
    let srv = server(
        |root| {
            std::fs::write(root.join("big.bin"), &content).unwrap();
            let eve = account("eve", SHA512, "elr", root, eve_options);
            let frank = account("frank", SHA512, "elr", root, "");
            format!("{eve}\n{frank}\n")
        },
        configure,
    );
    (srv, content)
}

/// Logs in `user` in binary mode.
fn binary_login(srv: &TestServer, user: &str) -> Ctrl {
    let mut c = srv.connect();
    c.login(user, SHA512_PW);
    c.expect("TYPE I", 200);
    c
}

/// Two sessions of eve download big.bin in parallel; returns, for each, the data and the
/// time from the start of both to the end of its stream, and the control connections.
fn two_parallel_downloads(srv: &TestServer) -> ([Ctrl; 2], Vec<(Vec<u8>, Duration)>) {
    let mut ctrls = [binary_login(srv, "eve"), binary_login(srv, "eve")];
    let start = Instant::now();
    let readers: Vec<_> = ctrls
        .iter_mut()
        .map(|c| {
            let mut s = start_retr(c, "big.bin");
            std::thread::spawn(move || (xfer::read_all(&mut s, BIG), start.elapsed()))
        })
        .collect();
    let results = readers.into_iter().map(|r| r.join().unwrap()).collect();
    (ctrls, results)
}

#[test]
fn download_limit_is_shared_by_all_sessions_of_a_user() {
    const RATE: usize = 200 * 1024;
    let (srv, content) = bandwidth_server("write_limit=200K", |_| {});
    let mut frank = binary_login(&srv, "frank");
    let start = Instant::now();
    let eve = std::thread::scope(|scope| {
        let eve = scope.spawn(|| two_parallel_downloads(&srv));
        // Meanwhile another user downloads at full speed.
        let frank_start = Instant::now();
        assert!(xfer::download(&mut frank, "RETR big.bin") == content);
        let took = frank_start.elapsed();
        assert!(took < Duration::from_secs(1), "frank took {took:?}");
        eve.join().unwrap()
    });
    let (mut ctrls, results) = eve;
    for c in &mut ctrls {
        c.expect_line_reply("226 Transfer complete.");
    }
    let total = start.elapsed();
    for (data, _) in &results {
        assert!(*data == content, "eve's download is corrupt");
    }
    let expected = Duration::from_secs_f64((2 * BIG) as f64 / RATE as f64);
    assert!(
        total >= expected.mul_f64(0.75) && total <= expected.mul_f64(1.25),
        "two downloads of {BIG} bytes at a shared {RATE} B/s took {total:?}, expected {expected:?}"
    );
}

#[test]
fn parallel_downloads_of_a_user_each_get_part_of_the_limit() {
    let (srv, _) = bandwidth_server("write_limit=200K", |_| {});
    let (_ctrls, results) = two_parallel_downloads(&srv);
    let took: Vec<Duration> = results.iter().map(|(_, t)| *t).collect();
    // Together they need ~4 s; alone at the full rate one would need ~2 s. Sharing the rate
    // evenly, each one ends near the 4 s mark.
    for t in &took {
        assert!(
            *t >= Duration::from_secs(3),
            "one download took only {t:?}: it did not share the rate ({took:?})"
        );
    }
}

#[test]
fn waiting_for_the_users_shared_limit_is_not_a_stall() {
    let (srv, content) = bandwidth_server("write_limit=200K", |cfg| {
        cfg.data_timeout = Some(Duration::from_secs(1));
    });
    let (mut ctrls, results) = two_parallel_downloads(&srv);
    for c in &mut ctrls {
        c.expect_line_reply("226 Transfer complete.");
    }
    for (data, _) in &results {
        assert!(*data == content, "a download was cut short");
    }
}

#[test]
fn login_and_quit_messages_come_from_the_file() {
    let srv = server(
        |root| {
            let opts = "msg_login=Welcome to the drop zone,msg_quit=Bye from the drop zone";
            account("drop", SHA512, "elr", root, opts)
        },
        |_| {},
    );
    let mut c = srv.connect();
    c.expect("USER drop", 331);
    c.expect_line(&format!("PASS {SHA512_PW}"), "230 Welcome to the drop zone");
    c.expect_line("QUIT", "221 Bye from the drop zone");
}

/// Connects from `from` and returns the first line the server sends.
fn greeting_from(from: Ipv4Addr, to: SocketAddr) -> String {
    let s = xfer::connect_from(IpAddr::V4(from), to).unwrap();
    let mut line = String::new();
    BufReader::new(s).read_line(&mut line).unwrap();
    line
}

#[test]
fn repeated_failed_logins_ban_the_address_for_a_while() {
    const BAN: Duration = Duration::from_secs(1);
    let srv = server(
        |root| account("six", SHA512, "elr", root, ""),
        |cfg| {
            cfg.auth_failed_delay = Duration::from_millis(1);
            cfg.bans = BanPolicy {
                after: 3,
                window: Duration::from_secs(60),
                time: BAN,
            };
        },
    );
    let mut ban_start = Instant::now();
    for _ in 0..3 {
        ban_start = Instant::now();
        let (_c, r) = try_login(&srv, "six", "wrong");
        assert_eq!(r.code, 530, "{r:?}");
    }
    let (mut c, r) = Ctrl::connect(srv.addr());
    assert_eq!(
        format!("{} {}", r.code, r.text),
        "421 Too many failed logins from your address; try again later."
    );
    c.expect_closed();
    // Another address is not banned (Linux routes all of 127.0.0.0/8 to loopback).
    let other = greeting_from(Ipv4Addr::new(127, 0, 0, 2), srv.addr());
    assert!(other.starts_with("220 "), "from 127.0.0.2: {other:?}");

    // The ban ends after BAN: the one bounded poll of this file (a ban's end is no event).
    let mut accepted = None;
    for _ in 0..50 {
        let (mut c, r) = Ctrl::connect(srv.addr());
        if r.code == 220 {
            accepted = Some((c, ban_start.elapsed()));
            break;
        }
        assert_eq!(r.code, 421, "{r:?}");
        c.expect_closed();
        std::thread::sleep(Duration::from_millis(100));
    }
    let (mut c, after) = accepted.expect("still banned 5 s after a 1 s ban");
    assert!(after >= BAN, "ban lifted after {after:?}, before {BAN:?}");
    c.login("six", SHA512_PW);
}
