//! `--coalesce`: under a stream of commands from several clients the daemon's loop naps
//! before polling, counted by `ftpdlib_loop_naps_total`, and its first nap sets the loop
//! thread's timer slack to 1 µs (visible in `/proc`) so that naps end on time. It does not
//! nap while idle, nor for one busy client however many others are connected, nor ever with
//! `--coalesce 0`.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use common::{daemon_args, Ctrl, Proc, TempDir, IO_TIMEOUT};

/// The timer slack the loop sets on its first nap (`SLACK_NS` in `src/ioloop/coalesce.rs`).
const NAPPING: u64 = 1_000;

/// The timer slack of the daemon's loop (its main thread, the process's own entry), in
/// nanoseconds.
fn loop_slack(pid: u32) -> u64 {
    let path = format!("/proc/{pid}/timerslack_ns");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    text.trim().parse().unwrap()
}

/// The daemon with its metrics endpoint: the daemon, its FTP and its metrics addresses.
fn start(dir: &TempDir, extra: &[&str]) -> (Proc, SocketAddr, SocketAddr) {
    let mut args = daemon_args(dir.path(), "127.0.0.1", "user", "pass");
    args.extend(["--metrics-listen", "127.0.0.1:0"].map(String::from));
    args.extend(extra.iter().map(|a| a.to_string()));
    let d = Proc::daemon(&args, &[]);
    let ftp = d.expect_addr("listening on ");
    let metrics = d.expect_addr("metrics on http://");
    (d, ftp, metrics)
}

/// `ftpdlib_loop_naps_total`, scraped.
fn naps(metrics: SocketAddr) -> u64 {
    let mut s = TcpStream::connect_timeout(&metrics, IO_TIMEOUT).expect("connect to /metrics");
    s.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut body = String::new();
    s.read_to_string(&mut body).expect("read /metrics");
    let line = body
        .lines()
        .find(|l| l.starts_with("ftpdlib_loop_naps_total "))
        .unwrap_or_else(|| panic!("no ftpdlib_loop_naps_total in {body}"));
    line.rsplit(' ').next().unwrap().parse().unwrap()
}

/// `n` logged-in sessions.
fn sessions(addr: SocketAddr, n: usize) -> Vec<Ctrl> {
    (0..n)
        .map(|_| {
            let (mut c, _) = Ctrl::connect(addr);
            c.login("user", "pass");
            c
        })
        .collect()
}

/// The sessions send NOOPs back to back, all at once, for at most `rounds` rounds or until
/// `done()`; every reply must be 200.
fn noop_storm(conns: &mut [Ctrl], rounds: usize, done: impl Fn() -> bool) {
    let limit = Instant::now() + Duration::from_secs(10);
    for _ in 0..rounds {
        if done() || Instant::now() > limit {
            break;
        }
        for c in conns.iter_mut() {
            c.send_raw(b"NOOP\r\n");
        }
        for c in conns.iter_mut() {
            assert_eq!(c.read_reply().code, 200);
        }
    }
}

#[test]
fn the_loop_naps_under_several_clients_and_not_while_idle() {
    let dir = TempDir::new("coalesce-on");
    let (d, ftp, metrics) = start(&dir, &[]);
    let pid = d.pid();
    assert_ne!(loop_slack(pid), NAPPING, "an idle loop has not napped");
    assert_eq!(naps(metrics), 0);
    let mut conns = sessions(ftp, 8);
    noop_storm(&mut conns, 2_000, || loop_slack(pid) == NAPPING);
    assert_eq!(
        loop_slack(pid),
        NAPPING,
        "no nap under eight sessions' NOOPs"
    );
    assert!(naps(metrics) > 0);
}

#[test]
fn one_busy_client_does_not_make_the_loop_nap_however_many_sessions_idle() {
    // Its events come from one socket: a nap would only delay its next command. The eight
    // sessions beside it logged in (their logins may have napped) and then send nothing.
    let dir = TempDir::new("coalesce-one");
    let (_d, ftp, metrics) = start(&dir, &[]);
    let _idle = sessions(ftp, 8);
    let mut busy = sessions(ftp, 1);
    // The loop remembers the sources of its latest 16 events: let them all be this client's.
    noop_storm(&mut busy, 20, || false);
    let before = naps(metrics);
    noop_storm(&mut busy, 2_000, || false);
    assert_eq!(naps(metrics), before);
}

#[test]
fn coalesce_0_never_naps() {
    let dir = TempDir::new("coalesce-off");
    let (d, ftp, metrics) = start(&dir, &["--coalesce", "0"]);
    let pid = d.pid();
    let before = loop_slack(pid);
    noop_storm(&mut sessions(ftp, 8), 300, || false);
    assert_eq!(loop_slack(pid), before);
    assert_ne!(before, NAPPING);
    assert_eq!(naps(metrics), 0);
}
