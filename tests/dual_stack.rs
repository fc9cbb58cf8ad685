//! IPv4 clients of a dual-stack `[::]` listener: the kernel shows them to the server as
//! IPv4-mapped IPv6 addresses (`::ffff:127.0.0.1`). Per-IP limits must count them as the IPv4
//! address they are, and the passive replies must carry that IPv4 address (PASV can only
//! express IPv4), with data connections that work, in PASV, EPSV and PORT modes.

mod common;
mod xfer;

use std::fs;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use common::{Ctrl, IO_TIMEOUT};
use socket2::SockRef;
use xfer::{CtrlExt, ServerAt};

/// A server on a dual-stack `[::]:0` listener (made by `ftpdlib::net::listen`, as the daemon
/// makes it) with at most two connections per IP; `None` (test skipped) without IPv6.
fn dual_stack_server() -> Option<ServerAt> {
    let any6 = SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), 0);
    let listener = ftpdlib::net::listen(any6);
    if !common::require(listener.is_ok(), "cannot bind [::]:0 (no IPv6 here)") {
        return None;
    }
    let listener = listener.unwrap();
    let only_v6 = SockRef::from(&listener).only_v6().unwrap();
    assert!(!only_v6, "the [::] listener is IPv6-only (IPV6_V6ONLY on)");
    let srv = ServerAt::with_listener(listener, |cfg| cfg.max_cons_per_ip = 2);
    assert!(srv.addr().is_ipv6(), "listening on {}", srv.addr());
    Some(srv)
}

/// The server's port on 127.0.0.1: an IPv4 client of the `[::]` listener.
fn v4_addr(srv: &ServerAt) -> SocketAddr {
    SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), srv.addr().port())
}

#[track_caller]
fn connect_ok(addr: SocketAddr) -> Ctrl {
    let (c, greeting) = Ctrl::connect(addr);
    assert_eq!(greeting.code, 220, "{greeting:?}");
    c
}

#[test]
fn per_ip_limit_counts_mapped_ipv4_clients_as_their_ipv4_address() {
    let Some(srv) = dual_stack_server() else {
        return;
    };
    let addr = v4_addr(&srv);
    let mut first = connect_ok(addr);
    let mut second = connect_ok(addr);
    first.login("user", "pass");
    let (mut third, refusal) = Ctrl::connect(addr);
    assert_eq!(
        (refusal.code, refusal.text.as_str()),
        (421, "Too many connections from the same IP address.")
    );
    third.expect_closed();
    // The two admitted sessions are unaffected, and the status shows the IPv4 address.
    second.expect("NOOP", 200);
    let stat = first.expect("STAT", 211);
    assert!(
        stat.text.contains("127.0.0.1") && !stat.text.contains("::ffff"),
        "{stat:?}"
    );
    // A client that leaves frees its slot for the same address (QUIT: the server closes the
    // session itself, so the slot is free once the close is seen).
    first.expect("QUIT", 221);
    first.expect_closed();
    let mut again = connect_ok(addr);
    again.login("user", "pass");
    let (mut refused, r) = Ctrl::connect(addr);
    assert_eq!(r.code, 421, "{r:?}");
    refused.expect_closed();
}

#[test]
fn passive_and_active_data_connections_of_a_mapped_ipv4_client() {
    let Some(srv) = dual_stack_server() else {
        return;
    };
    fs::write(srv.root().join("f.txt"), b"over a mapped address").unwrap();
    let mut c = connect_ok(v4_addr(&srv));
    c.login("user", "pass");
    c.expect("TYPE I", 200);

    // PASV: the tuple is the IPv4 address the client reached, not a mangled IPv6 one.
    let r = c.expect("PASV", 227);
    let data = xfer::parse_pasv(&r);
    assert_eq!(data.ip(), IpAddr::V4(Ipv4Addr::LOCALHOST), "{r:?}");
    assert!(r.text.contains("(127,0,0,1,"), "{r:?}");
    c.expect("RETR f.txt", 150);
    let mut s = xfer::connect(data);
    assert_eq!(xfer::read_all(&mut s, 1 << 20), b"over a mapped address");
    c.expect_line_reply("226 Transfer complete.");

    // EPSV: a port, reached on the address of the control connection.
    let data = xfer::epsv(&mut c, IpAddr::V4(Ipv4Addr::LOCALHOST));
    c.expect("RETR f.txt", 150);
    let mut s = xfer::connect(data);
    assert_eq!(xfer::read_all(&mut s, 1 << 20), b"over a mapped address");
    c.expect_line_reply("226 Transfer complete.");

    // PORT: the client's IPv4 address is its own, not a foreign one (bounce protection).
    let l = xfer::active_listener(IpAddr::V4(Ipv4Addr::LOCALHOST));
    let port = xfer::port_arg(l.local_addr().unwrap());
    // The server connected before its 200, so the transfer starts at once: 125.
    c.expect(&format!("PORT {port}"), 200);
    c.expect("RETR f.txt", 125);
    let mut s = xfer::accept(&l);
    s.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    assert_eq!(xfer::read_all(&mut s, 1 << 20), b"over a mapped address");
    c.expect_line_reply("226 Transfer complete.");
    c.expect("NOOP", 200);
}
