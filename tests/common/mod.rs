//! Shared harness of the integration tests: a temporary root directory, an FTP server running
//! on its own thread (an [`IoLoop`] on 127.0.0.1:0), and a blocking control-connection client
//! that reads complete RFC 959 replies (single and multi-line).
//!
//! Every blocking read has a 5 s timeout. It is a safety net only: the tests synchronise on
//! replies, and a timeout always means the test failed.

// Each test binary uses a different subset of the harness.
#![allow(dead_code)]

mod daemon;
mod skip;

#[allow(unused_imports)]
pub use daemon::{
    addr_after, assert_success, daemon_args, on_path, run_bounded, run_python, Log, Proc, BIN,
    STARTUP, SYSTEMD_ACTIVATE_PY,
};
#[allow(unused_imports)]
pub use skip::{require, require_tool, REQUIRE_ALL};

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ftpdlib::{Config, IoLoop, MemoryAuthorizer, Server, StopHandle, TokenRange};

/// Safety-net timeout of every blocking socket operation of the client.
pub const IO_TIMEOUT: Duration = Duration::from_secs(5);

/// Permissions of the test user "user"/"pass".
pub const USER_PERMS: &str = "elradfmwMT";

/// A directory under the system temp dir, unique to this process and call, removed on drop.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    /// Creates a fresh, empty directory whose name contains `tag`.
    pub fn new(tag: &str) -> TempDir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let dir = std::env::temp_dir().join(format!(
            "ftpdlib-it-{tag}-{}-{n}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        // Canonical, so that paths compare equal to what the server resolves.
        TempDir(std::fs::canonicalize(&dir).unwrap())
    }

    /// The directory's canonical path.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The test users on `root`: "user"/"pass" with every permission, and read-only anonymous.
pub fn authorizer(root: &Path) -> MemoryAuthorizer {
    let mut auth = MemoryAuthorizer::new();
    auth.add_user("user", "pass", root, USER_PERMS).unwrap();
    auth.add_anonymous(root, "elr").unwrap();
    auth
}

/// A configuration for tests: the test users, a short auth-failure delay.
pub fn test_config(root: &Path) -> Config {
    let mut cfg = Config::new(Arc::new(authorizer(root)));
    cfg.auth_failed_delay = Duration::from_millis(50);
    cfg
}

/// An FTP server on 127.0.0.1:0, run by an [`IoLoop`] on its own thread; stopped on drop.
pub struct TestServer {
    addr: SocketAddr,
    stop: StopHandle,
    thread: Option<JoinHandle<()>>,
    root: TempDir,
}

impl TestServer {
    /// Starts a server on a fresh root with [`test_config`], adjusted by `configure`.
    pub fn start(configure: impl FnOnce(&mut Config)) -> TestServer {
        TestServer::start_with_root(|cfg, _| configure(cfg))
    }

    /// Like [`TestServer::start`], but `configure` also gets the root directory, to populate
    /// it or to build another authorizer on it before the server starts.
    pub fn start_with_root(configure: impl FnOnce(&mut Config, &Path)) -> TestServer {
        let root = TempDir::new("root");
        let mut cfg = test_config(root.path());
        configure(&mut cfg, root.path());
        let (tx, rx) = mpsc::channel();
        let thread = std::thread::spawn(move || {
            let mut ioloop = IoLoop::new().expect("IoLoop::new");
            let server = Server::bind(
                cfg,
                "127.0.0.1:0".parse().unwrap(),
                ioloop.registry(),
                TokenRange::default(),
            );
            let mut server = match server {
                Ok(s) => s,
                Err(e) => {
                    let _ = tx.send(Err(e.to_string()));
                    return;
                }
            };
            tx.send(Ok((server.local_addr(), ioloop.stop_handle())))
                .unwrap();
            ioloop.run(&mut server).expect("IoLoop::run");
        });
        let (addr, stop) = rx
            .recv_timeout(IO_TIMEOUT)
            .expect("server thread did not report its address")
            .unwrap_or_else(|e| panic!("server failed to start: {e}"));
        TestServer {
            addr,
            stop,
            thread: Some(thread),
            root,
        }
    }

    /// A server with the default test configuration.
    pub fn with_user() -> TestServer {
        TestServer::start(|_| {})
    }

    /// The address clients connect to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The server's root directory (also the home of both test users).
    pub fn root(&self) -> PathBuf {
        self.root.path().to_path_buf()
    }

    /// Connects a client and reads the 220 greeting.
    #[track_caller]
    pub fn connect(&self) -> Ctrl {
        let (ctrl, greeting) = Ctrl::connect(self.addr);
        assert_eq!(greeting.code, 220, "greeting: {greeting:?}");
        ctrl
    }

    /// Connects and logs in as "user".
    #[track_caller]
    pub fn login(&self) -> Ctrl {
        let mut c = self.connect();
        c.login("user", "pass");
        c
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop.stop();
        if let Some(t) = self.thread.take() {
            let joined = t.join();
            if joined.is_err() && !std::thread::panicking() {
                panic!("server thread panicked");
            }
        }
    }
}

/// One complete reply: its code and its lines (without CRLF) joined with `\n`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    pub text: String,
}

impl Reply {
    /// The text of each line.
    pub fn lines(&self) -> Vec<&str> {
        self.text.split('\n').collect()
    }

    /// True for a multi-line reply.
    pub fn is_multi(&self) -> bool {
        self.text.contains('\n')
    }
}

/// Reads one complete reply (RFC 959 §4.2: `NNN-` ... up to a line starting `NNN `) from the
/// lines `next_line` returns (without CRLF). `strict` rejects a first line whose fourth byte
/// is neither a space nor `-`; otherwise such a line is a single-line reply.
pub fn read_reply_with(mut next_line: impl FnMut() -> String, strict: bool) -> Reply {
    let first = next_line();
    let code: u16 = first
        .get(..3)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("malformed reply line {first:?}"));
    match first.as_bytes().get(3) {
        Some(b'-') => {}
        Some(b' ') => {
            return Reply {
                code,
                text: first[4..].to_owned(),
            }
        }
        _ if strict => panic!("malformed reply line {first:?}"),
        _ => {
            return Reply {
                code,
                text: first.get(4..).unwrap_or("").to_owned(),
            }
        }
    }
    let mut lines = vec![first[4..].to_owned()];
    let end = format!("{code} ");
    // A reply is bounded too: 10 000 lines is far beyond anything this server sends.
    for _ in 0..10_000 {
        let line = next_line();
        if let Some(last) = line.strip_prefix(&end) {
            lines.push(last.to_owned());
            return Reply {
                code,
                text: lines.join("\n"),
            };
        }
        lines.push(line);
    }
    panic!("multi-line reply {code} never ended");
}

/// The address in a PASV reply's `(h1,h2,h3,h4,p1,p2)` (the code is not checked).
#[track_caller]
pub fn pasv_addr(r: &Reply) -> SocketAddr {
    let inner = r
        .text
        .split_once('(')
        .and_then(|(_, rest)| rest.split_once(')'))
        .map(|(inner, _)| inner)
        .unwrap_or_else(|| panic!("no (h1,...,p2) in {r:?}"));
    let n: Vec<u8> = inner.split(',').map(|p| p.parse().unwrap()).collect();
    assert_eq!(n.len(), 6, "PASV tuple {inner:?}");
    let ip = std::net::Ipv4Addr::new(n[0], n[1], n[2], n[3]);
    SocketAddr::new(ip.into(), u16::from(n[4]) << 8 | u16::from(n[5]))
}

/// The port in an EPSV reply's `(|||port|)` (the code is not checked).
#[track_caller]
pub fn epsv_port(r: &Reply) -> u16 {
    let port = r
        .text
        .split_once("(|||")
        .and_then(|(_, rest)| rest.split_once("|)"))
        .map(|(p, _)| p)
        .unwrap_or_else(|| panic!("no (|||port|) in {r:?}"));
    port.parse().unwrap()
}

/// `h1,h2,h3,h4,p1,p2` (the argument of PORT) for an IPv4 address.
pub fn port_arg(addr: SocketAddr) -> String {
    let std::net::IpAddr::V4(ip) = addr.ip() else {
        panic!("PORT needs IPv4, got {addr}")
    };
    let [a, b, c, d] = ip.octets();
    let p = addr.port();
    format!("{a},{b},{c},{d},{},{}", p >> 8, p & 0xff)
}

/// A blocking control-connection client.
pub struct Ctrl {
    stream: TcpStream,
    reader: BufReader<TcpStream>,
}

impl Ctrl {
    /// Connects and reads the first reply (the greeting, or a 421 refusal).
    pub fn connect(addr: SocketAddr) -> (Ctrl, Reply) {
        let stream = TcpStream::connect_timeout(&addr, IO_TIMEOUT).expect("connect");
        Ctrl::from_stream(stream)
    }

    /// Like [`Ctrl::connect`], with the client's socket receive buffer set to `rcvbuf` bytes
    /// (the kernel may round it up): a small one makes the server's writes block sooner.
    pub fn connect_with_rcvbuf(addr: SocketAddr, rcvbuf: usize) -> (Ctrl, Reply) {
        Ctrl::connect_tuned(addr, rcvbuf, None)
    }

    /// Like [`Ctrl::connect_with_rcvbuf`], also advertising a small TCP segment size. The
    /// kernel sizes the server's send buffer in segments, so a 536-byte MSS keeps it to some
    /// tens of kB: the server's writes then block after a predictable amount of output.
    pub fn connect_with_small_buffers(addr: SocketAddr) -> (Ctrl, Reply) {
        Ctrl::connect_tuned(addr, 4096, Some(536))
    }

    /// Like [`Ctrl::connect`], from the local address `from` (any 127.0.0.0/8 address works
    /// on loopback): several "clients" with different IPs on one machine.
    pub fn connect_from(addr: SocketAddr, from: std::net::IpAddr) -> (Ctrl, Reply) {
        use socket2::{Domain, Socket, Type};
        let sock = Socket::new(Domain::for_address(addr), Type::STREAM, None).unwrap();
        sock.bind(&SocketAddr::new(from, 0).into()).unwrap();
        sock.connect_timeout(&addr.into(), IO_TIMEOUT)
            .expect("connect");
        Ctrl::from_stream(sock.into())
    }

    fn connect_tuned(addr: SocketAddr, rcvbuf: usize, mss: Option<u32>) -> (Ctrl, Reply) {
        use socket2::{Domain, Socket, Type};
        let sock = Socket::new(Domain::for_address(addr), Type::STREAM, None).unwrap();
        sock.set_recv_buffer_size(rcvbuf).unwrap();
        if let Some(mss) = mss {
            sock.set_tcp_mss(mss).unwrap();
        }
        sock.connect_timeout(&addr.into(), IO_TIMEOUT)
            .expect("connect");
        Ctrl::from_stream(sock.into())
    }

    fn from_stream(stream: TcpStream) -> (Ctrl, Reply) {
        stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        stream.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
        let reader = BufReader::new(stream.try_clone().unwrap());
        let mut ctrl = Ctrl { stream, reader };
        let greeting = ctrl.read_reply();
        (ctrl, greeting)
    }

    /// Sends `line` + CRLF and reads one complete reply.
    pub fn cmd(&mut self, line: &str) -> Reply {
        self.send_raw(format!("{line}\r\n").as_bytes());
        self.read_reply()
    }

    /// Sends `line` and asserts the reply code; returns the reply.
    #[track_caller]
    pub fn expect(&mut self, line: &str, code: u16) -> Reply {
        let r = self.cmd(line);
        assert_eq!(r.code, code, "{line:?} -> {r:?}");
        r
    }

    /// Sends `line` and asserts the exact single-line reply `"NNN text"`.
    #[track_caller]
    pub fn expect_line(&mut self, line: &str, reply: &str) {
        let r = self.cmd(line);
        assert_eq!(format!("{} {}", r.code, r.text), reply, "reply to {line:?}");
    }

    /// Writes bytes as they are.
    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write to server");
    }

    /// A second handle on the socket, e.g. to write from another thread.
    pub fn try_clone_stream(&self) -> TcpStream {
        self.stream.try_clone().unwrap()
    }

    /// Reads one raw line including its terminator; panics on EOF or timeout.
    pub fn read_raw_line(&mut self) -> Vec<u8> {
        let mut line = Vec::new();
        match self.reader.read_until(b'\n', &mut line) {
            Ok(0) => panic!("server closed the connection while a reply was expected"),
            Ok(_) => line,
            Err(e) => panic!("no reply from server ({e}); got so far: {line:?}"),
        }
    }

    /// Reads one line; asserts it ends in CRLF and returns it without the terminator.
    fn read_line(&mut self) -> String {
        let raw = self.read_raw_line();
        assert!(
            raw.ends_with(b"\n"),
            "server closed the connection in the middle of a reply line: {:?}",
            String::from_utf8_lossy(&raw)
        );
        assert!(
            raw.ends_with(b"\r\n"),
            "reply line not CRLF-terminated: {raw:?}"
        );
        String::from_utf8_lossy(&raw[..raw.len() - 2]).into_owned()
    }

    /// Reads one complete reply (RFC 959 §4.2: `NNN-` ... up to a line starting `NNN `).
    pub fn read_reply(&mut self) -> Reply {
        read_reply_with(|| self.read_line(), true)
    }

    /// USER + PASS, asserting 331 then 230.
    #[track_caller]
    pub fn login(&mut self, user: &str, pass: &str) {
        self.expect(&format!("USER {user}"), 331);
        self.expect(&format!("PASS {pass}"), 230);
    }

    /// True if reply bytes are already waiting to be read (checked without blocking).
    pub fn has_pending_data(&mut self) -> bool {
        if !self.reader.buffer().is_empty() {
            return true;
        }
        self.stream.set_nonblocking(true).unwrap();
        let mut b = [0u8; 1];
        let pending = match self.stream.peek(&mut b) {
            Ok(n) => n > 0,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => false,
            Err(e) => panic!("peek failed: {e}"),
        };
        self.stream.set_nonblocking(false).unwrap();
        pending
    }

    /// Asserts the server closed the connection: a read returns EOF (or a reset) within the
    /// timeout, with no further data before it.
    #[track_caller]
    pub fn expect_closed(&mut self) {
        let mut buf = [0u8; 512];
        match self.reader.read(&mut buf) {
            Ok(0) => {}
            Ok(n) => panic!(
                "expected the connection to be closed, got data {:?}",
                String::from_utf8_lossy(&buf[..n])
            ),
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => {}
            Err(e) => panic!("expected the connection to be closed, but: {e}"),
        }
    }

    /// Half-closes: tells the server we will send nothing more, but keeps reading.
    pub fn shutdown_write(&mut self) {
        self.stream.shutdown(Shutdown::Write).unwrap();
    }

    /// Closes the client's side abruptly (no QUIT).
    pub fn shutdown(self) {
        let _ = self.stream.shutdown(Shutdown::Both);
    }
}
