//! The embedding API: a [`Server`] living in a host-owned `mio::Poll` next to the host's own
//! echo service. The host routes events with `Server::owns`, folds `next_timeout` into its
//! poll timeout, calls `handle_timers` after every poll, and finally `shutdown`, which tells
//! connected FTP clients 421.

mod common;

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use ftpdlib::{Config, Server, TokenRange};
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Registry, Token, Waker};

use common::{test_config, Ctrl, TempDir, IO_TIMEOUT};

const ECHO: Token = Token(0);
const WAKE: Token = Token(1);
const FTP_BASE: usize = 1 << 16;
/// The host loop gives up after this long: a safety net, never reached by a passing test.
const HOST_DEADLINE: Duration = Duration::from_secs(30);

/// What the host loop saw, returned when it stops.
#[derive(Debug, Default)]
struct Report {
    ftp_events: usize,
    echo_conns: usize,
    /// Events whose token neither the host nor the server knew.
    stray_events: usize,
    /// Host tokens that `Server::owns` claimed.
    host_tokens_claimed: usize,
    hit_deadline: bool,
}

struct EchoConn {
    sock: TcpStream,
    pending: Vec<u8>,
}

impl EchoConn {
    /// Reads what is there and echoes it; false once the peer closed.
    fn service(&mut self, token: Token, registry: &Registry) -> bool {
        let mut buf = [0u8; 4096];
        // Edge-triggered: read until WouldBlock; the test sends a few bytes only.
        for _ in 0..1024 {
            match self.sock.read(&mut buf) {
                Ok(0) => return false,
                Ok(n) => self.pending.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return false,
            }
        }
        while !self.pending.is_empty() {
            match self.sock.write(&self.pending) {
                Ok(n) => drop(self.pending.drain(..n)),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return false,
            }
        }
        let interest = if self.pending.is_empty() {
            Interest::READABLE
        } else {
            Interest::READABLE | Interest::WRITABLE
        };
        registry.reregister(&mut self.sock, token, interest).is_ok()
    }
}

fn host_loop(mut poll: Poll, echo: TcpListener, mut ftp: Server, stop: &AtomicBool) -> Report {
    let mut report = Report::default();
    let mut events = Events::with_capacity(256);
    let mut conns: HashMap<Token, EchoConn> = HashMap::new();
    let mut next_token = 2;
    let started = Instant::now();
    loop {
        if stop.load(Ordering::SeqCst) || started.elapsed() > HOST_DEADLINE {
            report.hit_deadline = !stop.load(Ordering::SeqCst);
            ftp.shutdown(poll.registry());
            return report;
        }
        let timeout = ftp.next_timeout(Instant::now());
        match poll.poll(&mut events, timeout) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => panic!("poll: {e}"),
        }
        let now = Instant::now();
        for ev in events.iter() {
            let token = ev.token();
            if ftp.owns(token) {
                report.ftp_events += 1;
                ftp.handle_event(poll.registry(), ev, now);
            } else if token == WAKE {
            } else if token == ECHO {
                // Accept what is queued (a test opens a handful at most).
                for _ in 0..64 {
                    let Ok((mut sock, _)) = echo.accept() else {
                        break;
                    };
                    let t = Token(next_token);
                    next_token += 1;
                    report.host_tokens_claimed += usize::from(ftp.owns(t));
                    poll.registry()
                        .register(&mut sock, t, Interest::READABLE)
                        .unwrap();
                    conns.insert(
                        t,
                        EchoConn {
                            sock,
                            pending: Vec::new(),
                        },
                    );
                    report.echo_conns += 1;
                }
            } else if let Some(conn) = conns.get_mut(&token) {
                if !conn.service(token, poll.registry()) {
                    let mut gone = conns.remove(&token).unwrap();
                    let _ = poll.registry().deregister(&mut gone.sock);
                }
            } else {
                report.stray_events += 1;
            }
        }
        ftp.handle_timers(poll.registry(), now);
    }
}

/// A host program with an echo service and an embedded FTP server, on its own thread.
struct Host {
    ftp: SocketAddr,
    echo: SocketAddr,
    stop: Arc<AtomicBool>,
    waker: Arc<Waker>,
    thread: Option<JoinHandle<Report>>,
    _root: TempDir,
}

impl Host {
    fn start(configure: impl FnOnce(&mut Config)) -> Host {
        let root = TempDir::new("embed");
        let mut cfg = test_config(root.path());
        configure(&mut cfg);
        let poll = Poll::new().unwrap();
        let mut echo = TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        poll.registry()
            .register(&mut echo, ECHO, Interest::READABLE)
            .unwrap();
        let waker = Arc::new(Waker::new(poll.registry(), WAKE).unwrap());
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let tokens = TokenRange::new(FTP_BASE, FTP_BASE);
        let ftp = Server::new(cfg, std_listener, poll.registry(), tokens).unwrap();
        let (ftp_addr, echo_addr) = (ftp.local_addr(), echo.local_addr().unwrap());
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::spawn(move || host_loop(poll, echo, ftp, &flag));
        Host {
            ftp: ftp_addr,
            echo: echo_addr,
            stop,
            waker,
            thread: Some(thread),
            _root: root,
        }
    }

    /// Stops the host loop (which shuts the server down) and returns its report.
    fn finish(mut self) -> Report {
        self.stop.store(true, Ordering::SeqCst);
        self.waker.wake().unwrap();
        let report = self
            .thread
            .take()
            .unwrap()
            .join()
            .expect("host loop panicked");
        assert!(!report.hit_deadline, "host loop ran out of time");
        report
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        if let Some(t) = self.thread.take() {
            self.stop.store(true, Ordering::SeqCst);
            let _ = self.waker.wake();
            let _ = t.join();
        }
    }
}

fn echo_round_trip(addr: SocketAddr, msg: &[u8]) {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    s.write_all(msg).unwrap();
    let mut back = vec![0u8; msg.len()];
    s.read_exact(&mut back).unwrap();
    assert_eq!(back, msg);
}

#[test]
fn ftp_and_the_host_echo_service_share_one_poll() {
    let host = Host::start(|_| {});
    let (mut ftp, greeting) = Ctrl::connect(host.ftp);
    assert_eq!(greeting.code, 220);
    echo_round_trip(host.echo, b"ping\n");
    ftp.login("user", "pass");
    ftp.expect_line("PWD", "257 \"/\" is the current directory.");
    echo_round_trip(host.echo, b"pong\n");
    ftp.expect("NOOP", 200);
    let report = host.finish();
    assert_eq!(report.echo_conns, 2, "{report:?}");
    assert!(report.ftp_events > 0, "{report:?}");
    assert_eq!(report.stray_events, 0, "{report:?}");
}

#[test]
fn owns_claims_exactly_the_server_token_range() {
    let root = TempDir::new("owns");
    let poll = Poll::new().unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let tokens = TokenRange::new(FTP_BASE, FTP_BASE);
    let ftp = Server::new(test_config(root.path()), listener, poll.registry(), tokens).unwrap();
    for host_token in [0, 1, 2, FTP_BASE - 1, 2 * FTP_BASE, usize::MAX] {
        assert!(
            !ftp.owns(Token(host_token)),
            "claims host token {host_token}"
        );
    }
    for own in [FTP_BASE, FTP_BASE + 1, 2 * FTP_BASE - 1] {
        assert!(ftp.owns(Token(own)), "does not claim {own}");
    }
    // And at run time no echo connection's token was claimed by the server.
    let host = Host::start(|_| {});
    for _ in 0..3 {
        echo_round_trip(host.echo, b"x");
    }
    let report = host.finish();
    assert_eq!((report.echo_conns, report.host_tokens_claimed), (3, 0));
}

#[test]
fn a_token_range_too_small_is_rejected() {
    let root = TempDir::new("small");
    let poll = Poll::new().unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let tokens = TokenRange::new(FTP_BASE, 1);
    let err = Server::new(test_config(root.path()), listener, poll.registry(), tokens)
        .expect_err("a one-token range cannot hold a listener and a client");
    assert!(err.to_string().contains("token range"), "{err}");
}

#[test]
fn timers_run_through_the_host_loop() {
    let host = Host::start(|cfg| {
        cfg.auth_failed_delay = Duration::from_millis(100);
        cfg.idle_timeout = Some(Duration::from_millis(300));
    });
    let (mut ftp, _) = Ctrl::connect(host.ftp);
    ftp.expect("USER user", 331);
    // Both replies below are produced by timers: the host must honour next_timeout.
    ftp.expect_line("PASS wrong", "530 Authentication failed.");
    let r = ftp.read_reply();
    assert_eq!(
        (r.code, r.text.as_str()),
        (421, "Control connection timed out.")
    );
    ftp.expect_closed();
    host.finish();
}

#[test]
fn shutdown_tells_connected_clients_421() {
    let host = Host::start(|_| {});
    let (mut ftp, _) = Ctrl::connect(host.ftp);
    ftp.login("user", "pass");
    let (mut idle, _) = Ctrl::connect(host.ftp);
    host.finish();
    for c in [&mut ftp, &mut idle] {
        let r = c.read_reply();
        assert_eq!((r.code, r.text.as_str()), (421, "Server is shutting down."));
        c.expect_closed();
    }
}
