//! An in-process FTPS server: like `common::TestServer` (same users, temp root, own thread),
//! plus an implicit-TLS listener on another free port of 127.0.0.1.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;

use ftpdlib::tls::TlsSettings;
use ftpdlib::{Config, IoLoop, Server, StopHandle, TokenRange};

use super::verify::data_path;
use crate::common::{test_config, TempDir, IO_TIMEOUT};

/// TLS settings from a certificate and key under `tests/data` (policies at their defaults).
pub fn settings(cert: &str, key: &str) -> TlsSettings {
    TlsSettings::load(data_path(cert), data_path(key)).expect("load test certificate")
}

/// A server with FTPS on 127.0.0.1 (explicit port and implicit port), stopped on drop.
pub struct FtpsServer {
    addr: SocketAddr,
    implicit: SocketAddr,
    stop: StopHandle,
    thread: Option<JoinHandle<()>>,
    root: TempDir,
}

impl FtpsServer {
    /// Starts a server with the RSA test certificate; `tls` adjusts the TLS policies and
    /// `configure` the rest of the configuration.
    pub fn start(tls: impl FnOnce(&mut TlsSettings), configure: impl FnOnce(&mut Config)) -> Self {
        let mut s = settings("cert.pem", "key.pem");
        tls(&mut s);
        FtpsServer::with_settings(s, configure)
    }

    /// A server with the default policies (session reuse required).
    pub fn default_tls() -> FtpsServer {
        FtpsServer::start(|_| {}, |_| {})
    }

    /// Starts a server with the given TLS settings.
    pub fn with_settings(tls: TlsSettings, configure: impl FnOnce(&mut Config)) -> FtpsServer {
        let root = TempDir::new("ftps");
        let mut cfg = test_config(root.path());
        cfg.tls = Some(Arc::new(tls));
        configure(&mut cfg);
        let explicit = TcpListener::bind("127.0.0.1:0").unwrap();
        let implicit = TcpListener::bind("127.0.0.1:0").unwrap();
        let (tx, rx) = mpsc::channel();
        let thread = std::thread::spawn(move || {
            let mut ioloop = IoLoop::new().expect("IoLoop::new");
            let mut server = Server::new(cfg, explicit, ioloop.registry(), TokenRange::default())
                .expect("Server::new");
            let iaddr = server
                .add_implicit_tls_listener(implicit, ioloop.registry())
                .expect("implicit listener");
            tx.send((server.local_addr(), iaddr, ioloop.stop_handle()))
                .unwrap();
            ioloop.run(&mut server).expect("IoLoop::run");
        });
        let (addr, implicit, stop) = rx.recv_timeout(IO_TIMEOUT).expect("server did not start");
        FtpsServer {
            addr,
            implicit,
            stop,
            thread: Some(thread),
            root,
        }
    }

    /// The explicit (AUTH TLS) control address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The implicit-TLS control address.
    pub fn implicit_addr(&self) -> SocketAddr {
        self.implicit
    }

    /// The root directory of the test users.
    pub fn root(&self) -> &Path {
        self.root.path()
    }

    /// A path under the root.
    pub fn file(&self, name: &str) -> PathBuf {
        self.root.path().join(name)
    }
}

impl Drop for FtpsServer {
    fn drop(&mut self) {
        self.stop.stop();
        if let Some(t) = self.thread.take() {
            if t.join().is_err() && !std::thread::panicking() {
                panic!("server thread panicked");
            }
        }
    }
}
