//! Helpers of the data-side tests (transfer, dataconn, listing, interop), on top of the shared
//! `common` harness: PASV/EPSV reply parsing, data sockets with safety-net timeouts, whole
//! transfers in one call, a deterministic pattern for large files, a server bound to any
//! address (for IPv6), and the real daemon run as a child process for third-party clients.

// Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

use std::io::{self, Read, Write};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, Socket, Type};

use crate::common::{epsv_port, pasv_addr, Ctrl, Reply, IO_TIMEOUT};

mod pattern;
mod procs;

// Re-exported for the test files, each of which uses only some of them.
#[allow(unused_imports)]
pub use pattern::{ascii_wire, Pattern};
#[allow(unused_imports)]
pub use procs::{installed, run_client, tree, Daemon, ServerAt};

/// Safety net of one blocking data-socket read or write.
pub const DATA_TIMEOUT: Duration = Duration::from_secs(10);
/// Safety net of reading one whole data stream.
pub const STREAM_DEADLINE: Duration = Duration::from_secs(120);

/// The address in a `227 Entering passive mode (h1,h2,h3,h4,p1,p2).` reply.
#[track_caller]
pub fn parse_pasv(r: &Reply) -> SocketAddr {
    assert_eq!(r.code, 227, "PASV reply: {r:?}");
    pasv_addr(r)
}

/// The port in a `229 Entering extended passive mode (|||port|).` reply.
#[track_caller]
pub fn parse_epsv(r: &Reply) -> u16 {
    assert_eq!(r.code, 229, "EPSV reply: {r:?}");
    epsv_port(r)
}

/// Sends PASV and returns the advertised address.
#[track_caller]
pub fn pasv(c: &mut Ctrl) -> SocketAddr {
    let r = c.cmd("PASV");
    parse_pasv(&r)
}

/// Sends EPSV and returns the server's port on `ip` (the control connection's address).
#[track_caller]
pub fn epsv(c: &mut Ctrl, ip: IpAddr) -> SocketAddr {
    let r = c.cmd("EPSV");
    SocketAddr::new(ip, parse_epsv(&r))
}

fn with_timeouts(s: TcpStream) -> TcpStream {
    s.set_read_timeout(Some(DATA_TIMEOUT)).unwrap();
    s.set_write_timeout(Some(DATA_TIMEOUT)).unwrap();
    s
}

/// Opens a data connection to `addr`.
#[track_caller]
pub fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect_timeout(&addr, IO_TIMEOUT)
        .unwrap_or_else(|e| panic!("data connection to {addr}: {e}"));
    with_timeouts(s)
}

/// Opens a data connection whose receive buffer is `rcvbuf` bytes, set before connecting so
/// the advertised TCP window stays small and the server meets partial writes.
pub fn connect_small_rcvbuf(addr: SocketAddr, rcvbuf: usize) -> TcpStream {
    let sock = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP)).unwrap();
    sock.set_recv_buffer_size(rcvbuf).unwrap();
    sock.connect_timeout(&addr.into(), IO_TIMEOUT).unwrap();
    with_timeouts(sock.into())
}

/// Opens a data connection to `addr` from the local address `from` (e.g. 127.0.0.2).
pub fn connect_from(from: IpAddr, addr: SocketAddr) -> io::Result<TcpStream> {
    let sock = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    sock.bind(&SocketAddr::new(from, 0).into())?;
    sock.connect_timeout(&addr.into(), IO_TIMEOUT)?;
    Ok(with_timeouts(sock.into()))
}

/// A listener for active mode (PORT/EPRT) on `ip`, port chosen by the kernel (always >= 1024).
/// Its accept times out after [`IO_TIMEOUT`] (Linux applies SO_RCVTIMEO to accept).
pub fn active_listener(ip: IpAddr) -> TcpListener {
    let addr = SocketAddr::new(ip, 0);
    let sock = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP)).unwrap();
    sock.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    sock.bind(&addr.into()).unwrap();
    sock.listen(16).unwrap();
    let l: TcpListener = sock.into();
    assert!(l.local_addr().unwrap().port() >= 1024);
    l
}

/// Accepts the server's active-mode connection (it is already queued once PORT got its 200).
#[track_caller]
pub fn accept(l: &TcpListener) -> TcpStream {
    let (s, _) = l.accept().expect("the server's active data connection");
    with_timeouts(s)
}

/// `PORT h1,h2,h3,h4,p1,p2` for an IPv4 address.
#[allow(unused_imports)]
pub use crate::common::port_arg;

/// `EPRT |1|a.b.c.d|port|` or `EPRT |2|::1|port|`.
pub fn eprt_arg(addr: SocketAddr) -> String {
    let proto = if addr.is_ipv4() { 1 } else { 2 };
    format!("|{proto}|{}|{}|", addr.ip(), addr.port())
}

/// Reads until EOF. Panics past `limit` bytes, on a stalled read, or past the deadline.
#[track_caller]
pub fn read_all(s: &mut TcpStream, limit: usize) -> Vec<u8> {
    read_to_close(s, limit, false)
}

/// Like [`read_all`], but a reset also ends the stream: a passive connection the server never
/// accepted (it takes one only for a transfer command) is reset when its listener closes.
#[track_caller]
pub fn read_until_dropped(s: &mut TcpStream, limit: usize) -> Vec<u8> {
    read_to_close(s, limit, true)
}

#[track_caller]
fn read_to_close(s: &mut TcpStream, limit: usize, reset_ends: bool) -> Vec<u8> {
    let deadline = Instant::now() + STREAM_DEADLINE;
    let mut out = Vec::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        assert!(Instant::now() < deadline, "data stream did not end in time");
        match s.read(&mut buf) {
            Ok(0) => return out,
            Ok(n) => {
                out.extend_from_slice(&buf[..n]);
                assert!(out.len() <= limit, "more than {limit} bytes received");
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if reset_ends && e.kind() == io::ErrorKind::ConnectionReset => return out,
            Err(e) => panic!("data read failed after {} bytes: {e}", out.len()),
        }
    }
}

/// Reads exactly `n` bytes (the start of a stream).
#[track_caller]
pub fn read_exact(s: &mut TcpStream, n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    s.read_exact(&mut buf)
        .expect("reading from the data connection");
    buf
}

/// Reads what is left of a stream the server is closing, tolerating a reset.
pub fn drain(s: &mut TcpStream) -> usize {
    let deadline = Instant::now() + STREAM_DEADLINE;
    let mut buf = vec![0u8; 256 * 1024];
    let mut total = 0;
    while Instant::now() < deadline {
        match s.read(&mut buf) {
            Ok(0) => return total,
            Ok(n) => total += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => return total,
            Err(e) => panic!("draining the data connection: {e}"),
        }
    }
    panic!("data connection never closed");
}

/// A download (RETR, LIST, NLST, MLSD) over PASV: asserts `150` then `226`, returns the bytes.
#[track_caller]
pub fn download(c: &mut Ctrl, cmd: &str) -> Vec<u8> {
    let addr = pasv(c);
    c.expect_line(cmd, "150 File status okay. About to open data connection.");
    let mut s = connect(addr);
    let data = read_all(&mut s, 512 << 20);
    c.expect_line_reply("226 Transfer complete.");
    data
}

/// A download whose bytes are returned as (lossless) text lines, for listings.
#[track_caller]
pub fn listing(c: &mut Ctrl, cmd: &str) -> Vec<String> {
    let data = download(c, cmd);
    let text = String::from_utf8(data).expect("listing is UTF-8");
    assert!(
        text.is_empty() || text.ends_with("\r\n"),
        "listing lines end in CRLF: {text:?}"
    );
    text.split_terminator("\r\n").map(str::to_owned).collect()
}

/// An upload (STOR, APPE, STOU) over PASV; returns the 1xx reply (checked by the caller).
#[track_caller]
pub fn upload(c: &mut Ctrl, cmd: &str, data: &[u8]) -> Reply {
    let addr = pasv(c);
    let prelim = c.cmd(cmd);
    assert_eq!(prelim.code, 150, "{cmd:?} -> {prelim:?}");
    let mut s = connect(addr);
    s.write_all(data).unwrap();
    s.shutdown(Shutdown::Write).unwrap();
    c.expect_line_reply("226 Transfer complete.");
    prelim
}

/// Extension of the control client: checks the next reply, without sending anything.
pub trait CtrlExt {
    /// Reads one reply and asserts it is exactly `"NNN text"`.
    fn expect_line_reply(&mut self, reply: &str);
    /// Sends STAT and returns the "Total bytes transferred: N" value, if a transfer runs.
    fn stat_bytes(&mut self) -> Option<u64>;
}

impl CtrlExt for Ctrl {
    #[track_caller]
    fn expect_line_reply(&mut self, reply: &str) {
        let r = self.read_reply();
        assert_eq!(format!("{} {}", r.code, r.text), reply);
    }

    #[track_caller]
    fn stat_bytes(&mut self) -> Option<u64> {
        let r = self.expect("STAT", 211);
        r.lines().iter().find_map(|l| {
            l.trim()
                .strip_prefix("Total bytes transferred: ")
                .map(|n| n.parse().unwrap())
        })
    }
}

/// Sends STAT until the running transfer has moved at least `n` bytes (bounded in count and
/// time: each STAT is a round trip through the server's loop).
#[track_caller]
pub fn wait_transferred(c: &mut Ctrl, n: u64) -> u64 {
    let deadline = Instant::now() + IO_TIMEOUT;
    for _ in 0..100_000 {
        if let Some(got) = c.stat_bytes() {
            if got >= n {
                return got;
            }
        }
        assert!(
            Instant::now() < deadline,
            "transfer never reached {n} bytes"
        );
    }
    panic!("transfer never reached {n} bytes");
}

/// Sends STAT until it reports `text` (a data-channel state line), bounded like above.
#[track_caller]
pub fn wait_stat(c: &mut Ctrl, text: &str) {
    let deadline = Instant::now() + IO_TIMEOUT;
    for _ in 0..100_000 {
        let r = c.expect("STAT", 211);
        if r.lines().iter().any(|l| l.trim() == text) {
            return;
        }
        assert!(Instant::now() < deadline, "STAT never said {text:?}: {r:?}");
    }
    panic!("STAT never said {text:?}");
}

/// Starts `RETR big.bin` (a [`Pattern`] file) over PASV, reads its first `n` bytes (checked),
/// then stops reading. The client's
/// receive buffer is small so that the server soon has to wait for it.
pub fn stalled_download(c: &mut Ctrl, n: usize) -> TcpStream {
    let addr = pasv(c);
    c.expect("RETR big.bin", 150);
    let mut s = connect_small_rcvbuf(addr, 16 * 1024);
    let head = read_exact(&mut s, n);
    assert!(Pattern::new().matches(0, &head), "wrong first bytes");
    s
}

/// Reads the two replies that end an ABOR during a transfer and checks they are one of the
/// sequences RFC 959 allows: 426 (aborted) then 226, or 226 (it had finished) then 225/226.
/// Returns true if the transfer was aborted.
pub fn abor_replies(c: &mut Ctrl) -> bool {
    let first = c.read_reply();
    let second = c.read_reply();
    match first.code {
        426 => {
            assert_eq!(first.text, "Transfer aborted via ABOR.");
            assert_eq!(
                (second.code, second.text.as_str()),
                (226, "ABOR command successful.")
            );
            true
        }
        226 => {
            assert!(matches!(second.code, 225 | 226), "after 226: {second:?}");
            false
        }
        _ => panic!("ABOR got {first:?} then {second:?}"),
    }
}

/// Larger than every socket buffer between a stalled client and the server.
pub const BIG: u64 = 16 << 20;

/// A server with `big.bin` ([`BIG`] bytes) and `small.txt` in its root.
pub fn server_with_big_file() -> crate::common::TestServer {
    let srv = crate::common::TestServer::with_user();
    Pattern::new().write_file(&srv.root().join("big.bin"), BIG);
    std::fs::write(srv.root().join("small.txt"), b"still serving").unwrap();
    srv
}

/// Logged in, TYPE I.
pub fn binary_login(srv: &crate::common::TestServer) -> Ctrl {
    let mut c = srv.login();
    c.expect("TYPE I", 200);
    c
}

/// The session still works: NOOP, and a small download succeeds.
pub fn still_serving(c: &mut Ctrl) {
    c.expect("NOOP", 200);
    assert_eq!(download(c, "RETR small.txt"), b"still serving");
}
