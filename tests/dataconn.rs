//! Setting up data connections: the PASV and EPSV reply formats, masquerade_address, the
//! passive port range (respected, exhausted, released), one listener per session (a new PASV
//! replaces the old one), the passive timeout, RFC 2577's defences (PORT/EPRT to a foreign
//! address or a privileged port, passive connections from a foreign address) and the settings
//! that lift them, EPSV ALL, and malformed PORT/EPRT arguments.

mod common;
mod xfer;

use std::collections::hash_map::RandomState;
use std::fs;
use std::hash::BuildHasher;
use std::io::Read;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::ops::RangeInclusive;
use std::time::Duration;

use common::{Ctrl, TestServer, IO_TIMEOUT};
use xfer::CtrlExt;

const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
const OTHER: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));

/// `n` consecutive ports that are free right now, found by binding them all, then releasing
/// them. Searched below Linux's ephemeral range, so that outgoing connections of concurrent
/// tests do not take them meanwhile.
fn free_ports(n: u16) -> RangeInclusive<u16> {
    let seed = RandomState::new().hash_one(std::process::id());
    for attempt in 0..200u64 {
        let base = 10_000 + ((seed.wrapping_add(attempt * 7919)) % 22_000) as u16;
        let held: Vec<_> = (0..n)
            .map_while(|i| TcpListener::bind((Ipv4Addr::LOCALHOST, base + i)).ok())
            .collect();
        if held.len() == usize::from(n) {
            return base..=base + n - 1;
        }
    }
    panic!("no {n} consecutive free ports found");
}

fn login_with_file(srv: &TestServer) -> Ctrl {
    fs::write(srv.root().join("f.txt"), b"payload").unwrap();
    let mut c = srv.login();
    c.expect("TYPE I", 200);
    c
}

/// Runs `RETR f.txt` on the passive data connection `s`, made before the command. The server
/// takes a passive connection from its accept queue only when the command comes: `150`.
fn retr_on(c: &mut Ctrl, mut s: TcpStream) {
    c.expect("RETR f.txt", 150);
    assert_eq!(xfer::read_all(&mut s, 1024), b"payload");
    c.expect_line_reply("226 Transfer complete.");
}

/// Runs `RETR f.txt` on the data connection `s`, up (accepted, or connected by PORT) before
/// the command: `125`.
fn retr_on_up(c: &mut Ctrl, mut s: TcpStream) {
    xfer::wait_stat(c, "Data connection open, idle.");
    c.expect("RETR f.txt", 125);
    assert_eq!(xfer::read_all(&mut s, 1024), b"payload");
    c.expect_line_reply("226 Transfer complete.");
}

/// Asserts the server closes `s` without sending anything.
#[track_caller]
fn assert_closed_by_server(s: &mut TcpStream) {
    let mut buf = [0u8; 16];
    match s.read(&mut buf) {
        Ok(0) => {}
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        other => panic!("the connection was not closed by the server: {other:?}"),
    }
}

fn refused(addr: SocketAddr) -> bool {
    TcpStream::connect_timeout(&addr, IO_TIMEOUT).is_err()
}

#[test]
fn pasv_and_epsv_reply_formats() {
    let srv = TestServer::with_user();
    let mut c = login_with_file(&srv);
    let r = c.expect("PASV", 227);
    let addr = xfer::parse_pasv(&r);
    let (p1, p2) = (addr.port() >> 8, addr.port() & 0xff);
    assert_eq!(
        r.text,
        format!("Entering passive mode (127,0,0,1,{p1},{p2}).")
    );
    assert_eq!(addr.ip(), LOCALHOST);
    retr_on(&mut c, xfer::connect(addr));
    let r = c.expect("EPSV", 229);
    let port = xfer::parse_epsv(&r);
    assert_eq!(
        r.text,
        format!("Entering extended passive mode (|||{port}|).")
    );
    retr_on(&mut c, xfer::connect(SocketAddr::new(LOCALHOST, port)));
    c.expect("EPSV 1", 229);
}

#[test]
fn masquerade_address_is_advertised_by_pasv_only() {
    let shown = Ipv4Addr::new(203, 0, 113, 9);
    let srv = TestServer::start(|cfg| cfg.masquerade_address = Some(IpAddr::V4(shown)));
    let mut c = login_with_file(&srv);
    let addr = xfer::pasv(&mut c);
    assert_eq!(addr.ip(), IpAddr::V4(shown));
    // The listener itself is on the real address.
    retr_on(
        &mut c,
        xfer::connect(SocketAddr::new(LOCALHOST, addr.port())),
    );
    let port = xfer::parse_epsv(&c.expect("EPSV", 229));
    retr_on(&mut c, xfer::connect(SocketAddr::new(LOCALHOST, port)));
}

#[test]
fn passive_ports_stay_in_the_configured_range() {
    let range = free_ports(3);
    let r2 = range.clone();
    let srv = TestServer::start(move |cfg| cfg.passive_ports = Some(r2));
    let mut c = login_with_file(&srv);
    for i in 0..10 {
        let addr = match i % 2 {
            0 => xfer::pasv(&mut c),
            _ => xfer::epsv(&mut c, LOCALHOST),
        };
        assert!(
            range.contains(&addr.port()),
            "{} not in {range:?}",
            addr.port()
        );
        retr_on(&mut c, xfer::connect(addr));
    }
}

#[test]
fn exhausted_range_gives_425_until_the_port_is_free_again() {
    let range = free_ports(1);
    let port = *range.start();
    let srv = TestServer::start(move |cfg| cfg.passive_ports = Some(range));
    let mut a = login_with_file(&srv);
    let mut b = srv.login();
    assert_eq!(xfer::pasv(&mut a).port(), port);
    b.expect_line(
        "PASV",
        "425 Can't open passive connection: every passive port is busy.",
    );
    b.expect("EPSV", 425);
    // The first session's listener works; once it has its connection, the port is free.
    retr_on(&mut a, xfer::connect(SocketAddr::new(LOCALHOST, port)));
    assert_eq!(xfer::pasv(&mut b).port(), port);
}

#[test]
fn repeated_pasv_in_a_one_port_range_reuses_the_port() {
    let range = free_ports(1);
    let port = *range.start();
    let srv = TestServer::start(move |cfg| cfg.passive_ports = Some(range));
    let mut c = login_with_file(&srv);
    assert_eq!(xfer::pasv(&mut c).port(), port);
    // The session's own old listener is replaced, so its port is available again.
    assert_eq!(xfer::pasv(&mut c).port(), port);
    retr_on(&mut c, xfer::connect(SocketAddr::new(LOCALHOST, port)));
}

#[test]
fn pipelined_pasvs_do_not_pile_up_listeners() {
    let range = free_ports(3);
    let r2 = range.clone();
    let srv = TestServer::start(move |cfg| cfg.passive_ports = Some(r2));
    let mut c = login_with_file(&srv);
    // One write: the server reads all four commands in one go.
    c.send_raw(b"PASV\r\nPASV\r\nPASV\r\nPASV\r\nNOOP\r\n");
    let replies: Vec<_> = (0..4).map(|_| c.read_reply()).collect();
    assert!(replies.iter().all(|r| r.code == 227), "{replies:?}");
    assert_eq!(c.read_reply().code, 200);
    // Only the last listener is left: the other ports refuse connections.
    let last = xfer::parse_pasv(&replies[3]);
    for port in range.filter(|&p| p != last.port()) {
        assert!(
            refused(SocketAddr::new(LOCALHOST, port)),
            "port {port} still open"
        );
    }
    retr_on(&mut c, xfer::connect(last));
}

#[test]
fn a_second_pasv_replaces_the_first_listener() {
    let srv = TestServer::with_user();
    let mut c = login_with_file(&srv);
    let first = xfer::pasv(&mut c);
    let second = xfer::pasv(&mut c);
    assert_ne!(first, second);
    c.expect("NOOP", 200);
    // The first listener is closed, or (see the ignored test below) closes at once: a
    // connection to it is refused or dropped, never used for a transfer.
    if let Ok(mut stray) = TcpStream::connect_timeout(&first, IO_TIMEOUT) {
        stray.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        assert_closed_by_server(&mut stray);
    }
    assert!(refused(first), "the replaced listener still accepts");
    xfer::wait_stat(&mut c, "Passive data channel waiting for connection.");
    retr_on(&mut c, xfer::connect(second));
}

#[test]
fn a_second_pasv_closes_the_first_listener_before_answering() {
    let srv = TestServer::with_user();
    let mut c = login_with_file(&srv);
    let first = xfer::pasv(&mut c);
    let second = xfer::pasv(&mut c);
    c.expect("NOOP", 200);
    if second == first {
        // The kernel handed the freed port to the new listener: nothing to tell apart.
        return;
    }
    assert!(refused(first), "the replaced listener still accepts");
}

#[test]
fn passive_timeout_closes_the_listener() {
    let srv = TestServer::start(|cfg| cfg.passive_timeout = Some(Duration::from_millis(300)));
    let mut c = login_with_file(&srv);
    let addr = xfer::pasv(&mut c);
    c.expect("LIST", 150);
    c.expect_line_reply("425 Can't open data connection: passive data connection timed out.");
    assert!(refused(addr), "the timed-out listener still accepts");
    xfer::wait_stat(&mut c, "Data connection closed.");
    c.expect_line("LIST", "425 Use PORT or PASV first.");
}

#[test]
fn a_connection_made_in_time_outlives_the_passive_timeout() {
    // The server takes a passive connection only for the transfer command; one that came in
    // time is still the client's when the command comes after the timeout.
    let srv = TestServer::start(|cfg| cfg.passive_timeout = Some(Duration::from_millis(300)));
    let mut c = login_with_file(&srv);
    let addr = xfer::pasv(&mut c);
    let s = xfer::connect(addr);
    // At the timeout the server accepts it instead of closing the listener.
    xfer::wait_stat(&mut c, "Data connection open, idle.");
    retr_on_up(&mut c, s);
}

#[test]
fn port_and_eprt_refuse_foreign_addresses_and_privileged_ports() {
    let srv = TestServer::with_user();
    let mut c = login_with_file(&srv);
    c.expect_line(
        "PORT 127,0,0,2,39,16",
        "501 Rejected data connection to foreign address 127.0.0.2:10000.",
    );
    c.expect_line(
        "EPRT |1|127.0.0.2|10000|",
        "501 Rejected data connection to foreign address 127.0.0.2:10000.",
    );
    c.expect_line(
        "PORT 127,0,0,1,0,80",
        "501 PORT against the privileged port \"80\" refused.",
    );
    c.expect_line(
        "EPRT |1|127.0.0.1|21|",
        "501 EPRT against the privileged port \"21\" refused.",
    );
    c.expect_line("RETR f.txt", "425 Use PORT or PASV first.");
}

#[test]
fn permitted_foreign_port_connects_to_the_other_address() {
    let srv = TestServer::start(|cfg| cfg.permit_foreign_addresses = true);
    let mut c = login_with_file(&srv);
    let l = xfer::active_listener(OTHER);
    let arg = xfer::port_arg(l.local_addr().unwrap());
    c.expect_line(
        &format!("PORT {arg}"),
        "200 Active data connection established.",
    );
    let (s, from) = l.accept().unwrap();
    assert_eq!(from.ip(), LOCALHOST);
    retr_on_up(&mut c, s);
}

#[test]
fn permitted_privileged_port_is_not_refused_by_the_check() {
    let srv = TestServer::start(|cfg| cfg.permit_privileged_ports = true);
    let mut c = login_with_file(&srv);
    // Whatever listens (or not) on port 80, the answer is the connect's, not a 501.
    let r = c.cmd("PORT 127,0,0,1,0,80");
    assert!(matches!(r.code, 200 | 425), "{r:?}");
    c.expect("NOOP", 200);
}

#[test]
fn port_to_a_closed_port_is_425() {
    let srv = TestServer::with_user();
    let mut c = login_with_file(&srv);
    let addr = xfer::active_listener(LOCALHOST).local_addr().unwrap();
    c.expect_line(
        &format!("PORT {}", xfer::port_arg(addr)),
        "425 Can't connect to specified address.",
    );
    c.expect_line("RETR f.txt", "425 Use PORT or PASV first.");
}

#[test]
fn passive_connection_from_a_foreign_address_is_dropped() {
    let srv = TestServer::with_user();
    let mut c = login_with_file(&srv);
    let addr = xfer::pasv(&mut c);
    let mut thief = xfer::connect_from(OTHER, addr).unwrap();
    // The transfer command takes the thief's connection from the queue and drops it...
    c.expect("RETR f.txt", 150);
    assert_closed_by_server(&mut thief);
    // ...and the listener, now in the poll, waits for the real client, which gets the file.
    xfer::wait_stat(&mut c, "Passive data channel waiting for connection.");
    let mut s = xfer::connect(addr);
    assert_eq!(xfer::read_all(&mut s, 1024), b"payload");
    c.expect_line_reply("226 Transfer complete.");
}

#[test]
fn permitted_foreign_passive_connection_is_accepted() {
    let srv = TestServer::start(|cfg| cfg.permit_foreign_addresses = true);
    let mut c = login_with_file(&srv);
    let addr = xfer::pasv(&mut c);
    retr_on(&mut c, xfer::connect_from(OTHER, addr).unwrap());
}

#[test]
fn epsv_all_refuses_the_other_data_commands() {
    let srv = TestServer::with_user();
    let mut c = login_with_file(&srv);
    c.expect_line("EPSV ALL", "200 EPSV ALL command successful.");
    c.expect_line("PASV", "501 PASV not allowed after EPSV ALL.");
    c.expect_line(
        "PORT 127,0,0,1,39,16",
        "501 PORT not allowed after EPSV ALL.",
    );
    c.expect_line(
        "EPRT |1|127.0.0.1|10000|",
        "501 EPRT not allowed after EPSV ALL.",
    );
    let port = xfer::parse_epsv(&c.expect("EPSV", 229));
    retr_on(&mut c, xfer::connect(SocketAddr::new(LOCALHOST, port)));
}

#[test]
fn malformed_port_and_eprt_arguments() {
    let srv = TestServer::with_user();
    let mut c = login_with_file(&srv);
    for bad in [
        "foo",
        "|1|127.0.0.1|",
        "|1|127.0.0.1|99999|",
        "|1|not-an-ip|2000|",
    ] {
        c.expect_line(&format!("EPRT {bad}"), "501 Invalid EPRT format.");
    }
    c.expect_line(
        "EPRT |3|127.0.0.1|2000|",
        "522 Network protocol not supported (use 1).",
    );
    c.expect_line(
        "EPRT |2|::1|2000|",
        "522 Network protocol not supported (use 1).",
    );
    c.expect_line("EPSV 2", "522 Network protocol not supported (use 1).");
    c.expect_line("EPSV 9", "522 Network protocol not supported (use 1).");
    for bad in ["1,2,3", "127,0,0,1,300,1", "a,b,c,d,e,f"] {
        c.expect_line(&format!("PORT {bad}"), "501 Invalid PORT format.");
    }
    c.expect("NOOP", 200);
}
