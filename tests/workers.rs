//! `--workers N`: the real daemon with several event loops sharing the control port through
//! SO_REUSEPORT. Concurrent sessions all work; the connection limits (`--max-cons`,
//! `--max-cons-per-ip`) are global, not per loop; SIGTERM stops every loop and the process
//! exits 0. Which loop took a connection is seen from `/proc`: an idle loop sleeps in
//! `epoll_wait`, so a loop whose thread keeps waking up is serving connections. Two ignored
//! tests show server bugs: workers with systemd socket activation, and a second daemon
//! silently sharing the port.

mod common;
mod scaleutil;

use std::process::Command;
use std::time::{Duration, Instant};

use common::TempDir;
use scaleutil::client::Raw;
use scaleutil::daemon::{thread_wakeups, Ftpd, Proc, STARTUP};
use scaleutil::lo;

/// The daemon with `--workers 2` and `extra` flags, on a fresh root.
fn two_workers(root: &TempDir, extra: &[&str]) -> Ftpd {
    let mut args = Ftpd::base_args(root.path());
    args.extend(["--workers", "2"].map(String::from));
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    Ftpd::start(&args)
}

/// Wake-ups of the two loops: the main thread runs the first, `ftpdlib-worker-1` the second.
/// The daemon logs "listening" just before it starts that thread, which names itself: until
/// then this polls `/proc` (no event tells a thread was born), for at most 5 s.
fn loops(d: &Ftpd) -> [u64; 2] {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let threads = thread_wakeups(d.pid());
        let named: Vec<u64> = threads
            .values()
            .filter(|(name, _)| name.starts_with("ftpdlib-worker"))
            .map(|(_, n)| *n)
            .collect();
        if let [worker] = named[..] {
            return [threads[&d.pid()].1, worker];
        }
        assert!(
            Instant::now() < deadline,
            "no single worker thread: {threads:?}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// True if both loops woke up since `before`.
fn both_worked(d: &Ftpd, before: [u64; 2]) -> bool {
    let now = loops(d);
    now[0] > before[0] && now[1] > before[1]
}

/// The first reply of a new connection from `from`: (code, text).
fn first_reply(d: &Ftpd, from: std::net::IpAddr) -> (Raw, u16, String) {
    let mut c = Raw::connect_from(from, d.addr());
    let r = c.reply();
    (c, r.code, r.text)
}

#[test]
fn fifty_concurrent_sessions_on_two_workers() {
    let root = TempDir::new("workers-50");
    let d = two_workers(&root, &[]);
    let started = d
        .log()
        .wait_for(Duration::ZERO, |l| l.contains("listening on"));
    let started = started.unwrap();
    assert!(started.contains(", 2 workers) serving "), "{started}");
    let before = loops(&d);
    let addr = d.addr();
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..50u32)
            .map(|i| {
                s.spawn(move || {
                    let data: Vec<u8> = (0..40_000u32).map(|j| (j * 7 + i) as u8).collect();
                    let mut c = Raw::greeted(addr);
                    c.login();
                    c.expect("TYPE I", 200);
                    let name = format!("f{i}.bin");
                    c.upload(&name, &data);
                    let back = c.download(&format!("RETR {name}"));
                    assert!(back == data, "session {i}: {} bytes back", back.len());
                    c.expect("QUIT", 221);
                })
            })
            .collect();
        for h in handles {
            h.join().expect("a session failed");
        }
    });
    for i in 0..50u32 {
        let on_disk = std::fs::read(root.path().join(format!("f{i}.bin"))).unwrap();
        assert_eq!(on_disk.len(), 40_000, "f{i}.bin");
    }
    let after = loops(&d);
    eprintln!("loop wake-ups: before {before:?}, after {after:?}");
    // 50 sessions hashed over two SO_REUSEPORT sockets: both loops served some (an idle loop
    // never wakes up; a busy one handles many events per wake-up, so counts stay modest).
    assert!(
        after[0] > before[0] && after[1] > before[1],
        "wake-ups before {before:?}, after {after:?}"
    );
}

/// Opens connections until `n` replies are collected and both loops have seen some of them
/// (more refused ones are opened if needed); returns the replies, keeping every connection.
fn open_spread(
    d: &Ftpd,
    n: usize,
    from: std::net::IpAddr,
    limited: bool,
) -> (Vec<Raw>, Vec<(u16, String)>) {
    let before = loops(d);
    let mut conns = Vec::new();
    let mut replies = Vec::new();
    for i in 0..64 {
        let (c, code, text) = first_reply(d, from);
        conns.push(c);
        if i < n {
            replies.push((code, text));
        } else if limited {
            assert_eq!(code, 421, "connection {i} past the limit: {text}");
        }
        if i + 1 >= n && both_worked(d, before) {
            return (conns, replies);
        }
    }
    panic!("64 connections never reached both loops");
}

fn count(replies: &[(u16, String)], code: u16) -> usize {
    replies.iter().filter(|(c, _)| *c == code).count()
}

#[test]
fn max_cons_is_global_across_workers() {
    let root = TempDir::new("workers-maxcons");
    let d = two_workers(&root, &["--max-cons", "3"]);
    let (mut conns, replies) = open_spread(&d, 6, lo(1), true);
    assert_eq!(count(&replies, 220), 3, "{replies:?}");
    assert_eq!(count(&replies, 421), 3, "{replies:?}");
    assert!(replies[..3].iter().all(|(c, _)| *c == 220), "{replies:?}");
    assert!(replies[3..]
        .iter()
        .all(|(_, t)| t == "Too many connections."));
    // Freeing a slot on one loop frees it for both: a new connection is served, wherever it
    // lands. The client sees EOF just before the loop releases the slot, so a few early
    // attempts may still be refused.
    conns[0].expect("QUIT", 221);
    assert!(conns[0].next().is_err());
    let served = (0..50).any(|_| first_reply(&d, lo(1)).1 == 220);
    assert!(served, "the freed slot was never given out again");
}

#[test]
fn max_cons_per_ip_is_global_across_workers() {
    let root = TempDir::new("workers-perip");
    let d = two_workers(&root, &["--max-cons-per-ip", "2"]);
    let (_conns, replies) = open_spread(&d, 6, lo(1), true);
    assert_eq!(count(&replies, 220), 2, "{replies:?}");
    assert_eq!(count(&replies, 421), 4, "{replies:?}");
    let refused = "Too many connections from the same IP address.";
    assert!(
        replies[2..].iter().all(|(_, t)| t == refused),
        "{replies:?}"
    );
    // Another address still has its own two.
    let (_a, code_a, _) = first_reply(&d, lo(2));
    let (_b, code_b, _) = first_reply(&d, lo(2));
    let (_c, code_c, _) = first_reply(&d, lo(2));
    assert_eq!((code_a, code_b, code_c), (220, 220, 421));
}

#[test]
fn sigterm_stops_every_worker_and_exits_zero() {
    let root = TempDir::new("workers-term");
    let mut d = two_workers(&root, &[]);
    let (mut conns, replies) = open_spread(&d, 8, lo(1), false);
    assert!(replies.iter().all(|(c, _)| *c == 220), "{replies:?}");
    for c in conns.iter_mut().take(8) {
        c.login();
    }
    let start = Instant::now();
    d.proc().signal("TERM");
    for c in &mut conns {
        let r = c.expect_code(421);
        assert_eq!(r.text, "Server is shutting down.");
        assert!(c.next().is_err(), "closed after the 421");
    }
    let status = d.proc().wait_exit(Duration::from_secs(5));
    let took = start.elapsed();
    assert!(status.expect("exited within 5 s").success(), "{status:?}");
    assert!(took < Duration::from_secs(5), "{took:?}");
    assert!(d.log().lines().iter().any(|l| l.contains("server stopped")));
}

#[test]
fn socket_activation_with_two_workers() {
    if !scaleutil::haproxy::installed("python3") {
        return;
    }
    let root = TempDir::new("workers-activate");
    let p = Proc::spawn(
        Command::new("python3")
            .args([
                "-c",
                common::SYSTEMD_ACTIVATE_PY,
                env!("CARGO_BIN_EXE_ftpdlib"),
                "--workers",
                "2",
            ])
            .arg("-d")
            .arg(root.path()),
    );
    let line = p.log().wait_for(STARTUP, |l| l.contains("listening on "));
    let line = line.unwrap_or_else(|| panic!("did not start: {:?}", p.log().lines()));
    assert!(line.contains(", 2 workers) serving "), "{line}");
    let port: u16 = line.rsplit_once(':').unwrap().1.trim().parse().unwrap();
    Raw::greeted(std::net::SocketAddr::from(([127, 0, 0, 1], port)));
}

#[test]
fn second_daemon_on_the_same_port_is_refused() {
    let root = TempDir::new("workers-twice");
    let first = two_workers(&root, &[]);
    let mut args = Ftpd::base_args(root.path());
    let port = first.port().to_string();
    let at = args.iter().position(|a| a == "-p").unwrap();
    args[at + 1] = port;
    args.extend(["--workers", "2"].map(String::from));
    let mut second = Proc::spawn(Command::new(env!("CARGO_BIN_EXE_ftpdlib")).args(&args));
    let outcome = second.log().wait_for(STARTUP, |l| {
        l.contains("listening on") || l.contains("error")
    });
    let outcome = outcome.expect("the second daemon said something");
    assert!(outcome.contains("address already in use"), "{outcome}");
    let status = second.wait_exit(STARTUP).expect("the second daemon exited");
    assert_eq!(status.code(), Some(2));
}
