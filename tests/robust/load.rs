//! Client-side tools of the load tests: many sessions opened with pipelined logins and replies
//! read in bulk, a timed download, the fd budget of a test, and a reply-line counter.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use crate::common::{Ctrl, IO_TIMEOUT};
use crate::xfer::{self, CtrlExt};

/// Sessions connected before their replies are read: a batch stays far below the listen
/// backlog (4096 here), so no SYN is ever dropped and retried a second later.
const BATCH: usize = 500;

/// Opens `n` logged-in sessions: each connects and writes `login` (e.g. `USER ..\r\nPASS ..\r\n`)
/// at once, without waiting for the greeting; then the batch's replies are read.
pub fn open_sessions(addr: SocketAddr, n: usize, login: &[u8]) -> Vec<TcpStream> {
    let mut all = Vec::with_capacity(n);
    while all.len() < n {
        let k = BATCH.min(n - all.len());
        let mut batch = Vec::with_capacity(k);
        for _ in 0..k {
            let mut s = TcpStream::connect_timeout(&addr, IO_TIMEOUT)
                .unwrap_or_else(|e| panic!("connect #{}: {e}", all.len() + batch.len()));
            s.write_all(login).unwrap();
            batch.push(s);
        }
        for s in &mut batch {
            s.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
            read_until_code(s, b"230 ");
        }
        all.append(&mut batch);
    }
    all
}

/// Reads until a reply line starts with `code` (e.g. `b"230 "`), failing on EOF, on another
/// final code of a failure (4xx/5xx) or after 4 KiB.
#[track_caller]
pub fn read_until_code(s: &mut TcpStream, code: &[u8]) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = [0u8; 512];
    loop {
        let n = s
            .read(&mut buf)
            .unwrap_or_else(|e| panic!("reading replies: {e}; got {:?}", lossy(&got)));
        assert!(n > 0, "closed; got {:?}", lossy(&got));
        got.extend_from_slice(&buf[..n]);
        let mut found = false;
        for line in got.split(|&b| b == b'\n').filter(|l| l.ends_with(b"\r")) {
            if line.starts_with(code) {
                found = true;
            } else if matches!(line.first(), Some(b'4' | b'5')) {
                panic!("failure reply {:?}", lossy(line));
            }
        }
        if found {
            return got;
        }
        assert!(
            got.len() < 4096,
            "no {:?} in {:?}",
            lossy(code),
            lossy(&got)
        );
    }
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Sends NOOP on a bulk session and expects its `200`.
#[track_caller]
pub fn noop(s: &mut TcpStream) {
    s.write_all(b"NOOP\r\n").unwrap();
    read_until_code(s, b"200 ");
}

/// A PASV download of `cmd` on a logged-in, TYPE I session: its duration from the command to
/// the `226`, asserting `size` bytes arrived.
#[track_caller]
pub fn timed_download(c: &mut Ctrl, cmd: &str, size: usize) -> Duration {
    let addr = xfer::pasv(c);
    let t = Instant::now();
    c.expect(cmd, 150);
    let mut s = xfer::connect(addr);
    let got = xfer::drain(&mut s);
    c.expect_line_reply("226 Transfer complete.");
    let took = t.elapsed();
    assert_eq!(got, size, "bytes downloaded");
    took
}

/// The best of `runs` timed downloads (the least disturbed by the rest of the machine).
pub fn best_download(c: &mut Ctrl, cmd: &str, size: usize, runs: usize) -> Duration {
    (0..runs)
        .map(|_| timed_download(c, cmd, size))
        .min()
        .unwrap()
}

/// How many sessions of 2 descriptors each (client and server side, both in this process)
/// fit under the descriptor limit, after raising the soft limit as far as allowed: `want`
/// if possible, else fewer (with a notice), or `None` below `floor` (the test is skipped).
pub fn session_budget(what: &str, want: usize, floor: usize) -> Option<usize> {
    const SPARE: usize = 256;
    let needed = 2 * want + SPARE;
    let limit = super::raise_nofile(needed as u64) as usize;
    if limit >= needed {
        return Some(want);
    }
    let fits = limit.saturating_sub(SPARE) / 2;
    let (_, hard) = super::nofile_limits();
    if fits < floor {
        crate::common::require(
            false,
            &format!(
                "{what}: needs {needed} descriptors, the limit is {limit} (hard {hard}); \
                 run under `ulimit -n {needed}`"
            ),
        );
        return None;
    }
    eprintln!(
        "NOTICE {what}: scaled down from {want} to {fits} sessions: the descriptor limit is \
         {limit} (hard {hard}); run under `ulimit -n {needed}` for the full run"
    );
    Some(fits)
}

/// Counts reply lines starting with a given 4-byte prefix across arbitrary chunks.
#[derive(Debug)]
pub struct LineCounter {
    prefix: [u8; 4],
    head: Vec<u8>,
    at_start: bool,
    /// Matching lines seen so far.
    pub count: usize,
}

impl LineCounter {
    /// Counts lines starting with `prefix`, e.g. `b"214 "`.
    pub fn new(prefix: &[u8; 4]) -> LineCounter {
        LineCounter {
            prefix: *prefix,
            head: Vec::with_capacity(4),
            at_start: true,
            count: 0,
        }
    }

    /// Feeds received bytes.
    pub fn feed(&mut self, data: &[u8]) {
        for &b in data {
            if b == b'\n' {
                self.at_start = true;
                self.head.clear();
            } else if self.at_start {
                self.head.push(b);
                if self.head.len() == 4 {
                    self.at_start = false;
                    if self.head[..] == self.prefix {
                        self.count += 1;
                    }
                }
            }
        }
    }
}

/// Writes as much of `data[*off..]` as a non-blocking socket takes now.
pub fn write_some(s: &mut impl Write, data: &[u8], off: &mut usize) -> io::Result<()> {
    while *off < data.len() {
        match s.write(&data[*off..]) {
            Ok(n) => *off += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// A client socket with small kernel buffers (4 KiB asked), non-blocking, connected to
/// `addr`: it never reads, so the server's replies pile up quickly.
pub fn never_reading_client(addr: SocketAddr) -> mio::net::TcpStream {
    use socket2::{Domain, Socket, Type};
    let sock = Socket::new(Domain::for_address(addr), Type::STREAM, None).unwrap();
    sock.set_recv_buffer_size(4096).unwrap();
    sock.set_send_buffer_size(4096).unwrap();
    sock.connect(&addr.into()).unwrap();
    sock.set_nonblocking(true).unwrap();
    mio::net::TcpStream::from_std(sock.into())
}

/// Writes `payload` to every socket while the kernel takes bytes, until `quiet` passes
/// without a writable event (the server stopped reading all of them); bounded to 20 s.
/// Returns the bytes each socket accepted.
pub fn flood_until_plateau(socks: &mut [mio::net::TcpStream], payload: &[u8]) -> Vec<usize> {
    let quiet = Duration::from_millis(500);
    let poll = mio::Poll::new().unwrap();
    let mut events = mio::Events::with_capacity(1024);
    for (i, s) in socks.iter_mut().enumerate() {
        poll.registry()
            .register(s, mio::Token(i), mio::Interest::WRITABLE)
            .unwrap();
    }
    let mut poll = poll;
    let mut offs = vec![0; socks.len()];
    let t = Instant::now();
    loop {
        for (s, off) in socks.iter_mut().zip(offs.iter_mut()) {
            write_some(s, payload, off).unwrap();
            assert!(*off < payload.len(), "the server read all {} bytes", *off);
        }
        poll.poll(&mut events, Some(quiet)).unwrap();
        if events.is_empty() {
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(20), "never plateaued");
    }
    for s in socks.iter_mut() {
        poll.registry().deregister(s).unwrap();
    }
    offs
}
