//! Connection limits and the idle timeout: `max_cons` and `max_cons_per_ip` refuse extra
//! clients with 421 and free their slot when a client leaves; an idle control connection is
//! told 421 and closed (RFC 1123 §4.1.3.2), while an active one is not.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::{Ctrl, TestServer};

/// Connects and expects to be refused with `421 <why>` and closed.
#[track_caller]
fn expect_refused(addr: SocketAddr, why: &str) {
    let (mut c, first) = Ctrl::connect(addr);
    assert_eq!((first.code, first.text.as_str()), (421, why));
    c.expect_closed();
}

/// Connects until the greeting is 220 rather than a 421 refusal.
///
/// The server only learns that a client went away when it reads that client's EOF, which
/// happens on its own thread at a moment the test cannot observe; until then the slot is still
/// counted and new clients are (correctly) refused. This is the one place where a short
/// bounded retry is the right tool: at most 50 attempts, 20 ms apart.
fn connect_when_slot_frees(addr: SocketAddr) -> Ctrl {
    for _ in 0..50 {
        let (mut c, first) = Ctrl::connect(addr);
        match first.code {
            220 => return c,
            421 => c.expect_closed(),
            other => panic!("unexpected greeting {other}: {first:?}"),
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("no connection slot was freed within 50 attempts");
}

#[test]
fn max_cons_refuses_extra_clients_and_frees_slots() {
    let srv = TestServer::start(|cfg| cfg.max_cons = 2);
    let mut first = srv.connect();
    let second = srv.connect();
    expect_refused(srv.addr(), "Too many connections.");
    expect_refused(srv.addr(), "Too many connections.");

    // QUIT: the server closes the session itself, so the slot is free once we see the close.
    first.expect("QUIT", 221);
    first.expect_closed();
    let mut third = srv.connect();
    third.login("user", "pass");
    expect_refused(srv.addr(), "Too many connections.");

    // A client that just disconnects frees its slot too, once the server notices.
    second.shutdown();
    let mut fourth = connect_when_slot_frees(srv.addr());
    fourth.login("user", "pass");
    // Refused connections were never counted.
    expect_refused(srv.addr(), "Too many connections.");
}

#[test]
fn max_cons_per_ip_refuses_a_second_client_from_the_same_address() {
    let srv = TestServer::start(|cfg| cfg.max_cons_per_ip = 1);
    let mut first = srv.connect();
    expect_refused(srv.addr(), "Too many connections from the same IP address.");
    first.expect("NOOP", 200);
    first.expect("QUIT", 221);
    first.expect_closed();
    let mut again = srv.connect();
    again.login("user", "pass");
}

#[test]
fn an_idle_session_is_timed_out() {
    let timeout = Duration::from_millis(300);
    let srv = TestServer::start(|cfg| cfg.idle_timeout = Some(timeout));
    let mut c = srv.login();
    let since = Instant::now();
    let r = c.read_reply();
    let waited = since.elapsed();
    assert_eq!(
        (r.code, r.text.as_str()),
        (421, "Control connection timed out.")
    );
    c.expect_closed();
    // The server's clock started a moment before our 230 arrived.
    assert!(
        waited >= timeout - Duration::from_millis(50),
        "after {waited:?}"
    );
}

#[test]
fn a_silent_client_is_timed_out_before_login_too() {
    let srv = TestServer::start(|cfg| cfg.idle_timeout = Some(Duration::from_millis(200)));
    let mut c = srv.connect();
    let r = c.read_reply();
    assert_eq!(
        (r.code, r.text.as_str()),
        (421, "Control connection timed out.")
    );
    c.expect_closed();
}

#[test]
fn an_active_session_is_not_timed_out() {
    let timeout = Duration::from_millis(300);
    let srv = TestServer::start(|cfg| cfg.idle_timeout = Some(timeout));
    let mut c = srv.login();
    let start = Instant::now();
    // The client's behaviour under test: a NOOP every 100 ms for 600 ms (twice the timeout).
    for _ in 0..6 {
        std::thread::sleep(Duration::from_millis(100));
        c.expect("NOOP", 200);
    }
    assert!(start.elapsed() >= 2 * timeout);
    // And the timer is really armed: silence now ends the session.
    let last = Instant::now();
    assert_eq!(c.read_reply().code, 421);
    assert!(last.elapsed() >= timeout - Duration::from_millis(50));
}

#[test]
fn no_timeout_when_disabled() {
    let srv = TestServer::start(|cfg| {
        cfg.idle_timeout = None;
        cfg.auth_failed_delay = Duration::from_millis(400);
    });
    let mut c = srv.connect();
    c.expect("USER user", 331);
    // The delayed 530 is the clock here: 400 ms of silence without a 421 before it.
    let r = c.cmd("PASS wrong");
    assert_eq!(r.code, 530, "{r:?}");
    c.expect("NOOP", 200);
}
