//! Servers outside the shared harness: one bound to any address (for IPv6), and the real
//! daemon as a child process for third-party clients, with helpers to run those clients.

use std::collections::BTreeMap;
use std::io;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use ftpdlib::{Config, IoLoop, Server, StopHandle, TokenRange};

use crate::common::{
    addr_after, assert_success, daemon_args, run_bounded, test_config, Ctrl, Proc, TempDir,
    IO_TIMEOUT,
};

/// An FTP server bound to any address (e.g. `[::1]:0`), on its own thread; like
/// `common::TestServer`, with the same users and root layout.
pub struct ServerAt {
    addr: SocketAddr,
    stop: StopHandle,
    thread: Option<JoinHandle<()>>,
    root: TempDir,
}

impl ServerAt {
    /// Starts a server on `bind`; an error if the address cannot be bound (no IPv6 here).
    pub fn start(bind: SocketAddr, configure: impl FnOnce(&mut Config)) -> io::Result<ServerAt> {
        Ok(ServerAt::with_listener(TcpListener::bind(bind)?, configure))
    }

    /// Starts a server on a listener the test made (e.g. a dual-stack one).
    pub fn with_listener(
        std_listener: TcpListener,
        configure: impl FnOnce(&mut Config),
    ) -> ServerAt {
        let root = TempDir::new("root-at");
        let mut cfg = test_config(root.path());
        configure(&mut cfg);
        let (tx, rx) = mpsc::channel();
        let thread = std::thread::spawn(move || {
            let mut ioloop = IoLoop::new().expect("IoLoop::new");
            let mut server =
                Server::new(cfg, std_listener, ioloop.registry(), TokenRange::default())
                    .expect("Server::new");
            tx.send((server.local_addr(), ioloop.stop_handle()))
                .unwrap();
            ioloop.run(&mut server).expect("IoLoop::run");
        });
        let (addr, stop) = rx.recv_timeout(IO_TIMEOUT).expect("server did not start");
        ServerAt {
            addr,
            stop,
            thread: Some(thread),
            root,
        }
    }

    /// The control address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The root directory.
    pub fn root(&self) -> PathBuf {
        self.root.path().to_path_buf()
    }

    /// Connects and logs in as "user".
    #[track_caller]
    pub fn login(&self) -> Ctrl {
        let (mut c, greeting) = Ctrl::connect(self.addr);
        assert_eq!(greeting.code, 220);
        c.login("user", "pass");
        c
    }
}

impl Drop for ServerAt {
    fn drop(&mut self) {
        self.stop.stop();
        if let Some(t) = self.thread.take() {
            if t.join().is_err() && !std::thread::panicking() {
                panic!("server thread panicked");
            }
        }
    }
}

/// The `ftpdlib` daemon as a child process on 127.0.0.1 with a fresh root; killed on drop.
pub struct Daemon {
    // Declared first: the process is killed before its root is removed.
    proc: Proc,
    port: u16,
    root: TempDir,
}

impl Daemon {
    /// Starts the daemon (user "user"/"pass" with write access) and waits, at most 10 s, for
    /// its `listening on 127.0.0.1:PORT` log line.
    pub fn start() -> Daemon {
        let root = TempDir::new("daemon");
        let proc = Proc::daemon(&daemon_args(root.path(), "127.0.0.1", "user", "pass"), &[]);
        let line = proc.expect_line("listening on 127.0.0.1:");
        let port = addr_after(&line, "listening on ").port();
        Daemon { proc, port, root }
    }

    /// The control port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `ftp://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("ftp://127.0.0.1:{}", self.port)
    }

    /// The served directory.
    pub fn root(&self) -> &Path {
        self.root.path()
    }
}

/// True if `bin` is an executable on PATH.
#[allow(unused_imports)]
pub use crate::common::require_tool as installed;

/// Runs a client to completion within `limit`, killing it (by its pid) if it hangs. Asserts
/// success and returns its output.
#[track_caller]
pub fn run_client(cmd: &mut Command, limit: Duration) -> Output {
    let shown = format!("{cmd:?}");
    let out = run_bounded(cmd, limit);
    assert_success(&out, &shown);
    out
}

/// Every regular file under `root`, by path relative to it, with its contents.
pub fn tree(root: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(root, &p, out);
            } else if p.is_file() {
                let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}
