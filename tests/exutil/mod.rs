//! Helpers of the tests of the examples and of the embedding tests (`examples`, `hooks`,
//! `memory_fs`, `two_servers`), on top of the shared `common` harness: passive-mode data
//! transfers in one call, and the examples run as child processes ([`Example`]).

// Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

mod child;

#[allow(unused_imports)]
pub use child::Example;

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Shutdown, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use crate::common::{Ctrl, Reply, IO_TIMEOUT};

/// Safety net of reading one whole data stream (throttled transfers take seconds).
pub const STREAM_DEADLINE: Duration = Duration::from_secs(20);

/// Sends PASV and returns the advertised address.
#[track_caller]
pub fn pasv(c: &mut Ctrl) -> SocketAddr {
    let r = c.cmd("PASV");
    assert_eq!(r.code, 227, "PASV: {r:?}");
    let inner = r
        .text
        .split_once('(')
        .and_then(|(_, rest)| rest.split_once(')'))
        .unwrap_or_else(|| panic!("no (h1,...,p2) in {r:?}"))
        .0;
    let n: Vec<u8> = inner.split(',').map(|p| p.parse().unwrap()).collect();
    assert_eq!(n.len(), 6, "PASV tuple {inner:?}");
    let ip = IpAddr::V4(Ipv4Addr::new(n[0], n[1], n[2], n[3]));
    SocketAddr::new(ip, u16::from(n[4]) << 8 | u16::from(n[5]))
}

/// Connects a data socket with safety-net timeouts.
pub fn data_connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect_timeout(&addr, IO_TIMEOUT).expect("data connect");
    s.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    s.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
    s
}

/// PASV, connect, send `cmd`: the data socket once the server said 150/125, or the reply.
pub fn open_data(c: &mut Ctrl, cmd: &str) -> Result<TcpStream, Reply> {
    let addr = pasv(c);
    let sock = data_connect(addr);
    let r = c.cmd(cmd);
    if r.code == 150 || r.code == 125 {
        Ok(sock)
    } else {
        Err(r)
    }
}

/// Reads a data socket to EOF (bounded by [`STREAM_DEADLINE`]).
pub fn read_all(sock: &mut TcpStream) -> Vec<u8> {
    let deadline = Instant::now() + STREAM_DEADLINE;
    let mut out = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        assert!(Instant::now() < deadline, "data stream never ended");
        match sock.read(&mut buf) {
            Ok(0) => return out,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) => panic!("data read failed after {} bytes: {e}", out.len()),
        }
    }
}

/// A download-type command (RETR, LIST, NLST, MLSD): the data and the final reply; empty data
/// and the refusal if there was no 150.
pub fn try_download(c: &mut Ctrl, cmd: &str) -> (Vec<u8>, Reply) {
    match open_data(c, cmd) {
        Ok(mut sock) => {
            let data = read_all(&mut sock);
            (data, c.read_reply())
        }
        Err(r) => (Vec::new(), r),
    }
}

/// Like [`try_download`], asserting the 226.
#[track_caller]
pub fn download(c: &mut Ctrl, cmd: &str) -> Vec<u8> {
    let (data, r) = try_download(c, cmd);
    assert_eq!(r.code, 226, "{cmd} -> {r:?}");
    data
}

/// The names of an NLST (or the lines of a LIST) as text.
#[track_caller]
pub fn lines(c: &mut Ctrl, cmd: &str) -> Vec<String> {
    let data = download(c, cmd);
    let text = String::from_utf8(data).expect("listing is UTF-8");
    text.lines().map(str::to_owned).collect()
}

/// STOR-type upload: sends `data`, closes the data connection and returns the final reply
/// (or the refusal if there was no 150).
pub fn upload(c: &mut Ctrl, cmd: &str, data: &[u8]) -> Reply {
    let mut sock = match open_data(c, cmd) {
        Ok(s) => s,
        Err(r) => return r,
    };
    sock.write_all(data).expect("upload data");
    sock.shutdown(Shutdown::Write).unwrap();
    let r = c.read_reply();
    drop(sock);
    r
}

/// Sends STAT during a transfer until it reports at least `bytes` moved (bounded): the event
/// that proves the server has consumed what was sent.
#[track_caller]
pub fn wait_transferred(c: &mut Ctrl, bytes: u64) {
    let deadline = Instant::now() + IO_TIMEOUT;
    let mut last = None;
    while Instant::now() < deadline {
        let r = c.expect("STAT", 211);
        let moved = r
            .lines()
            .iter()
            .find_map(|l| l.trim().strip_prefix("Total bytes transferred: "))
            .and_then(|n| n.parse::<u64>().ok());
        if moved.is_some_and(|m| m >= bytes) {
            return;
        }
        last = Some(r);
        // Not a sleep-as-synchronisation: the server reports when it has read the data;
        // this only spaces the polls.
        std::thread::sleep(Duration::from_millis(5));
    }
    panic!("server never reported {bytes} bytes transferred; last STAT: {last:?}");
}

/// Deterministic bytes that never repeat in a short period.
pub fn pattern(len: usize) -> Vec<u8> {
    let mut x: u32 = 0x9e37_79b9;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 24) as u8
        })
        .collect()
}
