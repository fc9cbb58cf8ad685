//! Load on the single event-loop thread: thousands of idle sessions do not slow a transfer,
//! slowloris clients (a byte per tick, never a full line) do not block others and are timed
//! out although they keep sending, a connect flood beyond `max_cons` gets exactly the right
//! 220/421 split, a mixed workload leaks no descriptor, a client that never reads its replies
//! is held back by bounded buffers (and loses no reply), and the daemon holds one descriptor
//! and about 1.5 KiB per idle session and bounded memory per never-reading client. Sizes scale
//! with `ROBUST_SESSIONS`, `ROBUST_SLOWLORIS`, `ROBUST_DOWNLOAD_MB`, `ROBUST_DAEMON_SESSIONS`
//! and `ROBUST_FLOODERS` (see docs/robustness.md). The tests run one at a time (a lock): they
//! measure time and count this process's descriptors.

mod common;
mod robust;
mod xfer;

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{mpsc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use common::{Ctrl, TempDir, TestServer};
use robust::load::{self, LineCounter};
use robust::{env_usize, open_fds, status_kib, Daemon};

/// One test at a time: timings and the process-wide descriptor count must not mix.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

const ANON: &[u8] = b"USER anonymous\r\nPASS load@example.org\r\n";

#[test]
fn idle_sessions_do_not_slow_a_download() {
    let _serial = serial();
    let want = env_usize("ROBUST_SESSIONS", 5000);
    let Some(n) = load::session_budget("idle sessions", want, 500) else {
        return;
    };
    let size = env_usize("ROBUST_DOWNLOAD_MB", 50) << 20;
    let srv = TestServer::start_with_root(|cfg, root| {
        cfg.max_cons = 0;
        std::fs::write(root.join("big.bin"), vec![0x5a; size]).unwrap();
    });
    let mut c = srv.login();
    c.expect("TYPE I", 200);
    let alone = load::best_download(&mut c, "RETR big.bin", size, 3);
    let rss0 = status_kib("self", "VmRSS:");
    let t = Instant::now();
    let mut sessions = load::open_sessions(srv.addr(), n, ANON);
    let opened = t.elapsed();
    let rss1 = status_kib("self", "VmRSS:");
    let loaded = load::best_download(&mut c, "RETR big.bin", size, 3);
    eprintln!(
        "{n} idle sessions opened in {opened:?} ({:.0}/s); test process RSS +{} KiB \
         ({:.1} KiB/session, client and server side); {} MiB download: alone {alone:?}, \
         with the sessions {loaded:?}",
        n as f64 / opened.as_secs_f64(),
        rss1.saturating_sub(rss0),
        rss1.saturating_sub(rss0) as f64 / n as f64,
        size >> 20
    );
    // Generous (a shared 2-core machine): at most 3x slower, with 50 ms of slack for a
    // transfer that takes only tens of milliseconds on its own.
    assert!(
        loaded <= alone * 3 + Duration::from_millis(50),
        "download with {n} idle sessions took {loaded:?}, alone {alone:?}"
    );
    let step = (n / 100).max(1);
    for s in sessions.iter_mut().step_by(step).take(100) {
        load::noop(s);
    }
    c.expect("NOOP", 200);
}

/// One slowloris connection: what it received and when the server let it go.
struct Slow {
    sock: TcpStream,
    connected: Instant,
    sent: usize,
    last_byte: Duration,
    got: Vec<u8>,
    closed: Option<Duration>,
}

/// Opens `n` slowloris connections, [`CONNECTS_PER_TICK`] per tick (so that the first ones
/// are dribbling long before the last are open; `ready` is told when all are), and every
/// tick sends every open one one more byte of a line that never ends, reading replies and
/// the close without blocking. Returns when all are closed or at `deadline`.
fn dribble(
    addr: SocketAddr,
    n: usize,
    tick: Duration,
    deadline: Instant,
    ready: mpsc::Sender<()>,
) -> Vec<Slow> {
    const LINE: &[u8] = b"USER slowloris-never-ends-its-line-";
    const CONNECTS_PER_TICK: usize = 250;
    let mut slow: Vec<Slow> = Vec::with_capacity(n);
    let mut next = Instant::now();
    while Instant::now() < deadline && slow.iter().any(|s| s.closed.is_none()) || slow.len() < n {
        let more = CONNECTS_PER_TICK.min(n - slow.len());
        for _ in 0..more {
            let sock = TcpStream::connect(addr).unwrap();
            sock.set_nonblocking(true).unwrap();
            let connected = Instant::now();
            slow.push(Slow {
                sock,
                connected,
                sent: 0,
                last_byte: Duration::ZERO,
                got: Vec::new(),
                closed: None,
            });
        }
        if more > 0 && slow.len() == n {
            let _ = ready.send(());
        }
        for s in slow.iter_mut().filter(|s| s.closed.is_none()) {
            let mut buf = [0u8; 256];
            let gone = loop {
                match s.sock.read(&mut buf) {
                    Ok(0) => break true,
                    Ok(n) => s.got.extend_from_slice(&buf[..n]),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break false,
                    Err(_) => break true,
                }
            };
            let gone = gone || s.sock.write(&LINE[s.sent % LINE.len()..][..1]).is_err();
            if gone {
                s.closed = Some(s.connected.elapsed());
            } else {
                s.sent += 1;
                s.last_byte = s.connected.elapsed();
            }
        }
        next += tick;
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
    }
    slow
}

#[test]
fn slowloris_clients_are_timed_out_and_do_not_block_others() {
    let _serial = serial();
    let want = env_usize("ROBUST_SLOWLORIS", 1000);
    let Some(n) = load::session_budget("slowloris", want, 100) else {
        return;
    };
    let timeout = Duration::from_secs(1);
    let tick = Duration::from_millis(100);
    let size = 8 << 20;
    let srv = TestServer::start_with_root(|cfg, root| {
        cfg.max_cons = 0;
        cfg.idle_timeout = Some(timeout);
        std::fs::write(root.join("f.bin"), vec![7u8; size]).unwrap();
    });
    let addr = srv.addr();
    let deadline = Instant::now() + Duration::from_secs(n as u64 / 1000 + 5);
    let (ready, all_open) = mpsc::channel();
    let dribbler = std::thread::spawn(move || dribble(addr, n, tick, deadline, ready));
    all_open
        .recv_timeout(Duration::from_secs(30))
        .expect("slowloris connections opened");
    // Meanwhile a normal client is served at once.
    let t = Instant::now();
    let mut c = srv.login();
    c.expect("TYPE I", 200);
    let took = load::timed_download(&mut c, "RETR f.bin", size);
    let served = t.elapsed();
    let slow = dribbler.join().unwrap();
    let closed: Vec<Duration> = slow.iter().filter_map(|s| s.closed).collect();
    let told = slow
        .iter()
        .filter(|s| String::from_utf8_lossy(&s.got).contains("421 Control connection timed out."))
        .count();
    let (first, last) = (closed.iter().min(), closed.iter().max());
    let sent: usize = slow.iter().map(|s| s.sent).sum();
    eprintln!(
        "{n} slowloris connections (1 byte/{tick:?}, {sent} bytes in all): closed {}/{n} \
         between {first:?} and {last:?} after connecting (idle timeout {timeout:?}), {told} \
         read the 421 first; a normal login + {} MiB download meanwhile took {served:?} \
         (download {took:?})",
        closed.len(),
        size >> 20
    );
    assert_eq!(
        closed.len(),
        n,
        "some slowloris connections were never closed"
    );
    for s in &slow {
        let at = s.closed.unwrap();
        assert!(
            s.got.is_empty() || s.got.starts_with(b"220 "),
            "{:?}",
            s.got
        );
        // The server dates the timer from the start of its loop turn, which may precede
        // the moment connect() returned here by that turn's length: 100 ms of tolerance.
        assert!(
            at + Duration::from_millis(100) >= timeout,
            "closed after {at:?}, before the idle timeout"
        );
        assert!(
            at <= timeout + Duration::from_secs(2),
            "closed only after {at:?} although the timeout is {timeout:?} (sent {} bytes)",
            s.sent
        );
        // It kept sending into the second half of the idle window (every tick, as long as
        // one round over all connections takes less than a tick).
        assert!(
            s.sent >= 3 && s.last_byte >= timeout / 2,
            "kept sending: {} bytes, the last {:?} after connecting",
            s.sent,
            s.last_byte
        );
    }
    assert!(
        served < Duration::from_secs(5),
        "normal client took {served:?}"
    );
}

/// Reads one line byte by byte (the connection's first reply).
fn first_line(s: &mut TcpStream) -> String {
    let mut line = Vec::new();
    let mut b = [0u8; 1];
    while !line.ends_with(b"\r\n") && line.len() < 512 {
        match s.read(&mut b) {
            Ok(1) => line.push(b[0]),
            other => panic!("reading a reply: {other:?} after {line:?}"),
        }
    }
    String::from_utf8_lossy(&line).trim_end().to_owned()
}

/// EOF (or a reset) with no further data.
#[track_caller]
fn expect_eof(s: &mut TcpStream) {
    let mut rest = Vec::new();
    match s.read_to_end(&mut rest) {
        Ok(_) => assert!(rest.is_empty(), "data after the reply: {rest:?}"),
        Err(e) => assert_eq!(e.kind(), io::ErrorKind::ConnectionReset, "{e}"),
    }
}

#[test]
fn connect_flood_beyond_max_cons_gets_421_and_slots_free_up() {
    let _serial = serial();
    let srv = TestServer::start(|cfg| cfg.max_cons = 50);
    let mut flood: Vec<TcpStream> = (0..300)
        .map(|_| TcpStream::connect(srv.addr()).unwrap())
        .collect();
    for (i, s) in flood.iter_mut().enumerate() {
        s.set_read_timeout(Some(common::IO_TIMEOUT)).unwrap();
        let line = first_line(s);
        if i < 50 {
            assert!(line.starts_with("220 "), "connection {i}: {line:?}");
        } else {
            assert_eq!(line, "421 Too many connections.", "connection {i}");
            expect_eof(s);
        }
    }
    // A full server still refuses, and takes new sessions once the first 50 have left.
    let (mut c, r) = Ctrl::connect(srv.addr());
    assert_eq!((r.code, r.text.as_str()), (421, "Too many connections."));
    c.expect_closed();
    for s in flood.iter_mut().take(50) {
        s.write_all(b"QUIT\r\n").unwrap();
        assert!(first_line(s).starts_with("221 "));
        expect_eof(s);
    }
    let again: Vec<Ctrl> = (0..50).map(|_| srv.connect()).collect();
    let (mut c, r) = Ctrl::connect(srv.addr());
    assert_eq!(r.code, 421, "{r:?}");
    c.expect_closed();
    drop(again);
}

#[test]
fn mixed_workload_leaks_no_descriptor() {
    let _serial = serial();
    robust::fdleak::run();
}

#[test]
fn a_client_that_never_reads_is_held_back_and_others_are_served() {
    let _serial = serial();
    let srv = TestServer::start_with_root(|_, root| {
        std::fs::write(root.join("small.txt"), b"still serving").unwrap();
    });
    const N: usize = 100_000;
    let mut payload = ANON.to_vec();
    payload.extend(b"HELP\r\n".repeat(N));
    let mut socks = [load::never_reading_client(srv.addr())];
    let mut off = load::flood_until_plateau(&mut socks, &payload)[0];
    let [mut s] = socks;
    eprintln!(
        "a client that never reads: the kernel took {off} of {} bytes ({} HELP commands) \
         before the server stopped reading",
        payload.len(),
        N
    );
    assert!(off < payload.len() / 2, "accepted {off} bytes");
    // Other sessions are unaffected.
    let mut c = srv.login();
    c.expect("NOOP", 200);
    assert_eq!(xfer::download(&mut c, "RETR small.txt"), b"still serving");
    // Once the client reads, every command is answered: nothing was dropped.
    let mut poll = mio::Poll::new().unwrap();
    let mut events = mio::Events::with_capacity(8);
    let rw = mio::Interest::WRITABLE | mio::Interest::READABLE;
    poll.registry().register(&mut s, mio::Token(0), rw).unwrap();
    let mut help = LineCounter::new(b"214 ");
    let mut buf = vec![0u8; 256 * 1024];
    let deadline = Instant::now() + Duration::from_secs(30);
    while help.count < N {
        assert!(
            Instant::now() < deadline,
            "only {} HELP replies",
            help.count
        );
        load::write_some(&mut s, &payload, &mut off).unwrap();
        loop {
            match s.read(&mut buf) {
                Ok(0) => panic!("closed after {} HELP replies", help.count),
                Ok(n) => help.feed(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => panic!("read: {e}"),
            }
        }
        if help.count < N {
            poll.poll(&mut events, Some(Duration::from_secs(5)))
                .unwrap();
        }
    }
    assert_eq!(help.count, N);
}

#[test]
fn daemon_holds_one_descriptor_and_a_few_kib_per_idle_session() {
    let _serial = serial();
    let want = env_usize("ROBUST_DAEMON_SESSIONS", 1000);
    let Some(n) = load::session_budget("daemon sessions", want, 100) else {
        return;
    };
    let dir = TempDir::new("robust-daemon");
    let d = Daemon::start(dir.path(), &["--max-cons", "0"]);
    let pid = d.pid().to_string();
    let (fds0, rss0) = (open_fds(&pid), status_kib(&pid, "VmRSS:"));
    let sessions = load::open_sessions(d.addr(), n, b"USER user\r\nPASS pass\r\n");
    let (fds1, rss1) = (open_fds(&pid), status_kib(&pid, "VmRSS:"));
    let per = (rss1.saturating_sub(rss0)) as f64 / n as f64;
    eprintln!(
        "daemon: {fds0} fds and {rss0} KiB RSS at rest; with {n} idle sessions {fds1} fds \
         and {rss1} KiB ({per:.1} KiB/session)"
    );
    // Plus one for the root directory, whose descriptor the sessions of one home share.
    assert!(
        fds1 <= fds0 + n + 1,
        "one descriptor per idle session: {fds0} -> {fds1} with {n}"
    );
    assert!(per < 64.0, "{per:.1} KiB per idle session");
    drop(sessions);
    let deadline = Instant::now() + Duration::from_secs(5);
    while open_fds(&pid) != fds0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(open_fds(&pid), fds0, "{:?}", robust::fd_targets(&pid));
}

#[test]
fn daemon_memory_stays_bounded_with_clients_that_never_read() {
    let _serial = serial();
    let n = env_usize("ROBUST_FLOODERS", 50);
    let dir = TempDir::new("robust-flood");
    let d = Daemon::start(dir.path(), &["--max-cons", "0"]);
    let pid = d.pid().to_string();
    let rss0 = status_kib(&pid, "VmRSS:");
    let mut payload = b"USER user\r\nPASS pass\r\n".to_vec();
    payload.extend(b"HELP\r\n".repeat(100_000));
    let mut socks: Vec<_> = (0..n)
        .map(|_| load::never_reading_client(d.addr()))
        .collect();
    let offs = load::flood_until_plateau(&mut socks, &payload);
    let rss1 = status_kib(&pid, "VmRSS:");
    let per = rss1.saturating_sub(rss0) as f64 / n as f64;
    let avg = offs.iter().sum::<usize>() / n;
    eprintln!(
        "daemon with {n} clients that never read: RSS {rss0} -> {rss1} KiB ({per:.0} KiB per \
         client); the kernel took {avg} bytes of commands from each on average"
    );
    // The caps: 256 KiB of queued replies and 64 KiB of unparsed input per session.
    assert!(per < 400.0, "{per:.0} KiB per never-reading client");
    let mut c = d.login();
    c.expect("NOOP", 200);
}
