//! The PROXY protocol (`Config::proxy_protocol`), in process: a v1 or v2 header names the real
//! client, which then drives events, PORT bounce protection, the passive foreign-address
//! check, per-IP limits and bans; LOCAL/UNKNOWN keep the connection's own address; a missing,
//! malformed or over-long header closes the connection without a greeting. The tests connect
//! from 127.0.0.1 and claim other addresses, as a load balancer would on a client's behalf.

mod common;
mod scaleutil;
mod tlsutil;

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::sync::{mpsc, Mutex};
use std::time::Duration;

use common::{TestServer, IO_TIMEOUT};
use ftpdlib::events::{Event, EventSink};
use ftpdlib::state::BanPolicy;
use ftpdlib::Config;
use scaleutil::client::{expect_dropped, line, tcp_from, Raw};
use scaleutil::{lo, sa, v1, v1_unknown, v2, v2_local, v2_raw};

/// Sends the peer of every `connect` and `login` event.
#[derive(Debug)]
struct Peers(Mutex<mpsc::Sender<(&'static str, SocketAddr)>>);

impl EventSink for Peers {
    fn event(&self, e: &Event<'_>) {
        let got = match e {
            Event::Connect { peer, .. } => ("connect", *peer),
            Event::Login { peer, .. } => ("login", *peer),
            _ => return,
        };
        let _ = self.0.lock().unwrap().send(got);
    }
}

/// A server expecting PROXY headers, with a file to list, and its event peers.
fn proxied(
    configure: impl FnOnce(&mut Config),
) -> (TestServer, mpsc::Receiver<(&'static str, SocketAddr)>) {
    let (tx, rx) = mpsc::channel();
    let srv = TestServer::start_with_root(|cfg, root| {
        std::fs::write(root.join("f.txt"), b"x").unwrap();
        cfg.proxy_protocol = true;
        cfg.events.push(std::sync::Arc::new(Peers(Mutex::new(tx))));
        configure(cfg);
    });
    (srv, rx)
}

/// The next event, as `(kind, peer)`.
fn event(rx: &mpsc::Receiver<(&'static str, SocketAddr)>) -> (&'static str, SocketAddr) {
    rx.recv_timeout(IO_TIMEOUT).expect("an event")
}

/// Connects with `header`, asserts 220 and the `connect` event's peer, logs in.
#[track_caller]
fn session(
    srv: &TestServer,
    rx: &mpsc::Receiver<(&'static str, SocketAddr)>,
    header: &[u8],
    client: Option<SocketAddr>,
) -> Raw {
    let mut c = Raw::with_header(srv.addr(), header);
    c.expect_code(220);
    let expected = client.unwrap_or(c.local_addr());
    assert_eq!(event(rx), ("connect", expected));
    c.login();
    assert_eq!(event(rx), ("login", expected));
    c
}

/// PORT to a listener on 127.0.0.1 then NLST: `Ok(listing)`, or `Err(reply)` if PORT failed.
fn active_nlst(c: &mut Raw) -> Result<Vec<u8>, common::Reply> {
    let l = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    l.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    l.bind(&sa("127.0.0.1:0").into()).unwrap();
    l.listen(4).unwrap();
    let l: TcpListener = l.into();
    let port = l.local_addr().unwrap().port();
    let r = c.cmd(&format!("PORT 127,0,0,1,{},{}", port >> 8, port & 0xff));
    if r.code != 200 {
        return Err(r);
    }
    let r = c.cmd("NLST");
    assert_eq!(r.code, 125, "the active connection is already open: {r:?}");
    let (mut s, _) = l.accept().expect("the server's active connection");
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    c.expect_code(226);
    Ok(out)
}

#[track_caller]
fn assert_port_refused(c: &mut Raw) {
    let r = active_nlst(c).expect_err("PORT to 127.0.0.1 accepted");
    assert_eq!(r.code, 501, "{r:?}");
    assert!(r.text.contains("foreign address"), "{r:?}");
}

#[test]
fn v1_header_names_the_client_and_port_checks_that_address() {
    let (srv, rx) = proxied(|_| {});
    let client = sa("192.0.2.9:5555");
    let mut c = session(&srv, &rx, &v1(client, srv.addr()), Some(client));
    assert_port_refused(&mut c);
    let me = sa("127.0.0.1:40001");
    let mut c = session(&srv, &rx, &v1(me, srv.addr()), Some(me));
    assert_eq!(active_nlst(&mut c).unwrap(), b"f.txt\r\n");
}

#[test]
fn v2_tcp4_header_with_tlvs() {
    let (srv, rx) = proxied(|_| {});
    // A NOOP TLV (type 0x04) and an authority TLV (0x02): skipped.
    let tlvs = [0x04, 0, 2, 0xaa, 0xbb, 0x02, 0, 3, b'f', b't', b'p'];
    let client = sa("192.0.2.10:4000");
    let mut c = session(&srv, &rx, &v2(client, srv.addr(), &tlvs), Some(client));
    assert_port_refused(&mut c);
    let me = sa("127.0.0.1:40002");
    let mut c = session(&srv, &rx, &v2(me, srv.addr(), &[]), Some(me));
    assert_eq!(active_nlst(&mut c).unwrap(), b"f.txt\r\n");
}

#[test]
fn v2_tcp6_header() {
    let (srv, rx) = proxied(|_| {});
    let client = sa("[2001:db8::5]:6000");
    let mut c = session(
        &srv,
        &rx,
        &v2(client, sa("[2001:db8::1]:21"), &[]),
        Some(client),
    );
    assert_port_refused(&mut c);
    // An IPv4-mapped client is the IPv4 client: PORT to 127.0.0.1 is its own address.
    let mapped = sa("[::ffff:127.0.0.1]:40003");
    let mut c = session(&srv, &rx, &v2(mapped, sa("[::1]:21"), &[]), Some(mapped));
    assert_eq!(active_nlst(&mut c).unwrap(), b"f.txt\r\n");
}

#[test]
fn local_unknown_and_unspec_keep_the_connection_address() {
    let (srv, rx) = proxied(|_| {});
    let unspec = v2_raw(1, 0x00, &[]);
    for header in [v2_local(), v1_unknown(), unspec] {
        let mut c = session(&srv, &rx, &header, None);
        assert_eq!(active_nlst(&mut c).unwrap(), b"f.txt\r\n", "{header:?}");
    }
}

#[test]
fn header_split_into_one_byte_writes() {
    let (srv, rx) = proxied(|_| {});
    let a = sa("198.51.100.7:1234");
    let b = sa("[2001:db8::7]:4321");
    for (client, header) in [
        (a, v1(a, srv.addr())),
        (a, v2(a, srv.addr(), &[])),
        (b, v2(b, sa("[::1]:21"), &[])),
    ] {
        let mut c = Raw::connect(srv.addr());
        c.send_bytewise(&header);
        c.expect_code(220);
        assert_eq!(event(&rx), ("connect", client));
        c.login();
        assert_eq!(event(&rx), ("login", client));
    }
}

#[test]
fn commands_in_the_same_segment_as_the_header_are_kept() {
    let (srv, rx) = proxied(|_| {});
    let client = sa("203.0.113.4:999");
    let mut bytes = v2(client, srv.addr(), &[]);
    bytes.extend_from_slice(b"USER user\r\nPASS pass\r\n");
    let mut c = Raw::with_header(srv.addr(), &bytes);
    c.expect_code(220);
    c.expect_code(331);
    c.expect_code(230);
    assert_eq!(event(&rx), ("connect", client));
    assert_eq!(event(&rx), ("login", client));
}

#[test]
fn connection_without_header_is_closed_without_greeting() {
    let (srv, _rx) = proxied(|_| {});
    let mut c = Raw::with_header(srv.addr(), b"USER x\r\n");
    c.expect_closed_silently();
}

#[test]
fn garbage_and_overlong_headers_are_closed() {
    let (srv, rx) = proxied(|_| {});
    let mut long_v1 = b"PROXY TCP4 ".to_vec();
    long_v1.extend(std::iter::repeat_n(b'1', 200));
    let mut long_v2 = v2_raw(1, 0x11, &[0; 12]);
    long_v2[14..16].copy_from_slice(&600u16.to_be_bytes());
    let mut bad_version = v2(sa("192.0.2.1:1"), srv.addr(), &[]);
    bad_version[12] = 0x31;
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("http", b"GET / HTTP/1.0\r\n\r\n".to_vec()),
        (
            "bad v1 address",
            b"PROXY TCP4 999.0.0.1 127.0.0.1 1 21\r\n".to_vec(),
        ),
        (
            "v1 family mismatch",
            b"PROXY TCP6 192.0.2.1 ::1 1 21\r\n".to_vec(),
        ),
        ("v1 without CRLF", long_v1),
        ("v2 length 600", long_v2),
        ("v2 version 3", bad_version),
        ("v2 short addresses", v2_raw(1, 0x11, &[1, 2, 3])),
        (
            "bad signature",
            b"\r\n\r\n\0\r\nQUIX\n\x21\x11\0\x0c".to_vec(),
        ),
        ("binary", vec![0x16, 0x03, 0x01, 0x00, 0xff]),
    ];
    for (what, bytes) in cases {
        let mut c = Raw::with_header(srv.addr(), &bytes);
        match c.next() {
            Err(rest) => assert!(rest.is_empty(), "{what}: {rest:?}"),
            Ok(r) => panic!("{what}: expected a silent close, got {r:?}"),
        }
    }
    assert!(
        rx.try_recv().is_err(),
        "no connect event for refused headers"
    );
}

#[test]
fn silent_connection_ends_at_the_idle_timeout_without_a_greeting() {
    let (srv, _rx) = proxied(|cfg| cfg.idle_timeout = Some(Duration::from_millis(200)));
    let mut c = Raw::connect(srv.addr());
    // A 421 about the timeout is tolerated; a 220 (or nothing until the 5 s net) is not.
    if let Ok(r) = c.next() {
        assert_eq!(r.code, 421, "{r:?}");
        assert!(c.next().is_err(), "closed after the 421");
    }
}

#[test]
fn max_cons_refuses_before_reading_the_header() {
    let (srv, _rx) = proxied(|cfg| cfg.max_cons = 1);
    let mut first = Raw::with_header(srv.addr(), &v1(sa("192.0.2.1:1"), srv.addr()));
    first.expect_code(220);
    let mut second = Raw::connect(srv.addr());
    assert_eq!(second.reply().text, "Too many connections.");
    // As from a balancer, which sends the header at once: the 421 still arrives.
    for _ in 0..20 {
        let mut third = Raw::with_header(srv.addr(), &v1(sa("192.0.2.2:1"), srv.addr()));
        assert_eq!(third.reply().text, "Too many connections.");
    }
}

#[test]
fn per_ip_limit_counts_the_header_address() {
    let (srv, _rx) = proxied(|cfg| cfg.max_cons_per_ip = 1);
    let a = v1(sa("192.0.2.20:1000"), srv.addr());
    let mut first = Raw::with_header(srv.addr(), &a);
    first.expect_code(220);
    let mut second = Raw::with_header(srv.addr(), &a);
    let r = second.expect_code(421);
    assert_eq!(r.text, "Too many connections from the same IP address.");
    assert!(second.next().is_err(), "closed after the 421");
    // Another client behind the same balancer (also 127.0.0.1) is not limited by the first.
    let mut other = Raw::with_header(srv.addr(), &v1(sa("192.0.2.21:1000"), srv.addr()));
    other.expect_code(220);
    // Once the first leaves, its count (under the header address) is released.
    first.expect("QUIT", 221);
    assert!(first.next().is_err(), "closed after QUIT");
    let mut again = Raw::with_header(srv.addr(), &a);
    again.expect_code(220);
}

#[test]
fn per_ip_limit_when_the_header_names_the_connecting_address() {
    let (srv, _rx) = proxied(|cfg| cfg.max_cons_per_ip = 1);
    let mut c = Raw::with_header(srv.addr(), &v1(sa("127.0.0.1:1000"), srv.addr()));
    c.expect_code(220);
}

#[test]
fn bans_follow_the_header_address() {
    let (srv, _rx) = proxied(|cfg| {
        cfg.bans = BanPolicy {
            after: 2,
            window: Duration::from_secs(60),
            time: Duration::from_secs(60),
        }
    });
    let a = v1(sa("192.0.2.30:1000"), srv.addr());
    let mut c = Raw::with_header(srv.addr(), &a);
    c.expect_code(220);
    for _ in 0..2 {
        c.expect("USER user", 331);
        c.expect("PASS wrong", 530);
    }
    let mut banned = Raw::with_header(srv.addr(), &a);
    let r = banned.expect_code(421);
    assert!(r.text.contains("failed logins"), "{r:?}");
    let b = v1(sa("192.0.2.31:1000"), srv.addr());
    Raw::with_header(srv.addr(), &b).expect_code(220);
    // The balancer's own address (a LOCAL health check) is not banned either.
    Raw::with_header(srv.addr(), &v2_local()).expect_code(220);
}

/// Logs in claiming `claimed`, sends NLST over PASV, and returns the control connection and
/// the passive address.
fn pasv_nlst(srv: &TestServer, claimed: IpAddr) -> (Raw, SocketAddr) {
    let mut c = Raw::with_header(srv.addr(), &v1(SocketAddr::new(claimed, 40000), srv.addr()));
    c.expect_code(220);
    c.login();
    let addr = c.pasv();
    c.expect("NLST", 150);
    (c, addr)
}

fn read_listing(mut s: TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    out
}

#[test]
fn passive_data_connection_must_come_from_the_header_address() {
    let (srv, _rx) = proxied(|_| {});
    let (mut c, addr) = pasv_nlst(&srv, lo(2));
    // From 127.0.0.1 (the balancer's address, not the client's): dropped, no data.
    let mut foreign = tcp_from(Some(lo(1)), addr).unwrap();
    expect_dropped(&mut foreign);
    // The passive port still waits for the client: from 127.0.0.2 the listing arrives.
    let s = tcp_from(Some(lo(2)), addr).unwrap();
    assert_eq!(read_listing(s), b"f.txt\r\n");
    c.expect_code(226);
    // A header naming 127.0.0.1 makes 127.0.0.1 the client.
    let (mut c, addr) = pasv_nlst(&srv, lo(1));
    assert_eq!(
        read_listing(tcp_from(Some(lo(1)), addr).unwrap()),
        b"f.txt\r\n"
    );
    c.expect_code(226);
}

#[test]
fn permit_foreign_addresses_accepts_other_data_sources() {
    let (srv, _rx) = proxied(|cfg| cfg.permit_foreign_addresses = true);
    let (mut c, addr) = pasv_nlst(&srv, lo(2));
    assert_eq!(
        read_listing(tcp_from(Some(lo(1)), addr).unwrap()),
        b"f.txt\r\n"
    );
    c.expect_code(226);
}

#[test]
fn explicit_ftps_after_the_header() {
    let srv = tlsutil::FtpsServer::start(|_| {}, |cfg| cfg.proxy_protocol = true);
    let mut s = tcp_from(None, srv.addr()).unwrap();
    s.write_all(&v1(sa("192.0.2.40:1000"), srv.addr())).unwrap();
    assert!(line(&mut s).starts_with("220 "));
    s.write_all(b"AUTH TLS\r\n").unwrap();
    assert!(line(&mut s).starts_with("234 "));
    let mut tls = tlsutil::tls_connect(s, &tlsutil::client_config()).expect("TLS handshake");
    tls.write_all(b"USER user\r\n").unwrap();
    assert!(line(&mut tls).starts_with("331 "));
}

#[test]
fn implicit_ftps_reads_the_header_before_the_handshake() {
    let srv = tlsutil::FtpsServer::start(|_| {}, |cfg| cfg.proxy_protocol = true);
    let mut s = tcp_from(None, srv.implicit_addr()).unwrap();
    s.write_all(&v1(sa("192.0.2.41:1000"), srv.implicit_addr()))
        .unwrap();
    let mut tls = tlsutil::tls_connect(s, &tlsutil::client_config()).expect("TLS handshake");
    assert!(line(&mut tls).starts_with("220 "));
}
