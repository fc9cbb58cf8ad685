//! `--coalesce`: under a stream of commands the daemon's loop naps before polling, and its
//! first nap sets the loop thread's timer slack to 1 µs so that naps end on time. The slack,
//! visible in `/proc`, shows whether the loop has napped: not while idle, soon under load,
//! never with `--coalesce 0`.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::{daemon_args, Ctrl, Proc, TempDir};

/// The timer slack the loop sets on its first nap (`SLACK_NS` in `src/ioloop/coalesce.rs`).
const NAPPING: u64 = 1_000;

/// The timer slack of the daemon's loop (its main thread, the process's own entry), in
/// nanoseconds.
fn loop_slack(pid: u32) -> u64 {
    let path = format!("/proc/{pid}/timerslack_ns");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    text.trim().parse().unwrap()
}

fn start(dir: &TempDir, extra: &[&str]) -> (Proc, SocketAddr) {
    let mut args = daemon_args(dir.path(), "127.0.0.1", "user", "pass");
    args.extend(extra.iter().map(|a| a.to_string()));
    let d = Proc::daemon(&args, &[]);
    let addr = d.expect_addr("listening on ");
    (d, addr)
}

/// Eight logged-in sessions send NOOPs back to back, eight at a time, for at most `rounds`
/// rounds or until `done()`; every reply must be 200.
fn noop_storm(addr: SocketAddr, rounds: usize, done: impl Fn() -> bool) {
    let mut conns: Vec<Ctrl> = (0..8)
        .map(|_| {
            let (mut c, _) = Ctrl::connect(addr);
            c.login("user", "pass");
            c
        })
        .collect();
    let limit = Instant::now() + Duration::from_secs(10);
    for _ in 0..rounds {
        if done() || Instant::now() > limit {
            break;
        }
        for c in &mut conns {
            c.send_raw(b"NOOP\r\n");
        }
        for c in &mut conns {
            assert_eq!(c.read_reply().code, 200);
        }
    }
}

#[test]
fn the_loop_naps_under_load_and_not_while_idle() {
    let dir = TempDir::new("coalesce-on");
    let (d, addr) = start(&dir, &[]);
    let pid = d.pid();
    let idle = loop_slack(pid);
    assert_ne!(idle, NAPPING, "an idle loop has not napped");
    noop_storm(addr, 2_000, || loop_slack(pid) == NAPPING);
    assert_eq!(
        loop_slack(pid),
        NAPPING,
        "no nap under eight sessions' NOOPs"
    );
}

#[test]
fn coalesce_0_never_naps() {
    let dir = TempDir::new("coalesce-off");
    let (d, addr) = start(&dir, &["--coalesce", "0"]);
    let pid = d.pid();
    let before = loop_slack(pid);
    noop_storm(addr, 300, || false);
    assert_eq!(loop_slack(pid), before);
    assert_ne!(before, NAPPING);
}

#[test]
fn one_client_alone_does_not_make_the_loop_nap() {
    // Fewer than four sessions: a nap would only delay the client's next command.
    let dir = TempDir::new("coalesce-one");
    let (d, addr) = start(&dir, &[]);
    let pid = d.pid();
    let (mut c, _) = Ctrl::connect(addr);
    c.login("user", "pass");
    for _ in 0..2_000 {
        assert_eq!(c.cmd("NOOP").code, 200);
    }
    assert_ne!(loop_slack(pid), NAPPING);
}
