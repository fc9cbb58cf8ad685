//! TLS client side of the FTPS tests: rustls client configurations that trust exactly the
//! checked-in test certificates, a control-connection client that starts in plaintext (or in
//! TLS, for implicit FTPS) and upgrades with AUTH TLS, and data transfers under PROT P in
//! passive (PASV, EPSV) and active (PORT) mode. The FTP server is always the TLS server, even
//! when it opens the data connection (active mode): the client then runs the TLS *client* on
//! the socket it accepted.

// Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

pub mod client_pki;
mod daemon;
mod data;
mod server;
mod verify;

#[allow(unused_imports)]
pub use daemon::{assert_success, installed, run_client, FtpsDaemon};
#[allow(unused_imports)]
pub use data::{active_listener, passive_addr, port_arg, Mode};
#[allow(unused_imports)]
pub use server::{settings, FtpsServer};
#[allow(unused_imports)]
pub use verify::{
    client_config, client_config_tls12, client_config_with_cert, client_config_with_cert_for,
    data_path, no_resumption, read_cert, EC_CERT, RSA_CERT,
};

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, StreamOwned};

use crate::common::{read_reply_with, Reply, IO_TIMEOUT};

/// A TLS client session over a blocking TCP socket.
pub type TlsStream = StreamOwned<ClientConnection, TcpStream>;

/// Bound of one reply (lines) and of handshake round trips: far beyond what a peer needs.
const MAX_STEPS: usize = 10_000;

/// Starts a TLS client session on `sock` (server name "localhost") and completes the handshake.
pub fn tls_connect(sock: TcpStream, config: &Arc<ClientConfig>) -> io::Result<TlsStream> {
    sock.set_read_timeout(Some(IO_TIMEOUT))?;
    sock.set_write_timeout(Some(IO_TIMEOUT))?;
    let name = ServerName::try_from("localhost").expect("server name");
    let conn = ClientConnection::new(Arc::clone(config), name).map_err(io::Error::other)?;
    let mut tls = StreamOwned::new(conn, sock);
    for _ in 0..MAX_STEPS {
        if !tls.conn.is_handshaking() {
            return Ok(tls);
        }
        let (r, w) = tls.conn.complete_io(&mut tls.sock)?;
        if r == 0 && w == 0 && tls.conn.is_handshaking() {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
    }
    Err(io::Error::other("TLS handshake did not finish"))
}

/// Reads a TLS stream to its end. `Ok` only if the server ended it with close_notify.
pub fn read_tls_to_end(tls: &mut TlsStream) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    tls.read_to_end(&mut out).map(|_| out)
}

/// Writes `data` and ends the TLS stream properly (close_notify, then TCP FIN). The caller
/// keeps the stream until the final reply: closing a socket with unread bytes (e.g. session
/// tickets) would send a reset instead of the FIN.
pub fn write_tls_and_close(tls: &mut TlsStream, data: &[u8]) -> io::Result<()> {
    tls.write_all(data)?;
    tls.conn.send_close_notify();
    tls.flush()?;
    tls.sock.shutdown(Shutdown::Write)
}

/// Either a plain or a TLS control connection.
enum Conn {
    Plain(TcpStream),
    Tls(Box<TlsStream>),
}

impl Conn {
    fn io(&mut self) -> &mut dyn ReadWrite {
        match self {
            Conn::Plain(s) => s,
            Conn::Tls(s) => s.as_mut(),
        }
    }
}

trait ReadWrite: Read + Write {}
impl<T: Read + Write> ReadWrite for T {}

/// A blocking FTP control-connection client that can speak TLS.
pub struct FtpsCtrl {
    conn: Conn,
    /// Bytes read but not yet consumed as reply lines.
    pending: Vec<u8>,
}

impl FtpsCtrl {
    /// Connects in plaintext and reads the greeting.
    pub fn connect(addr: SocketAddr) -> (FtpsCtrl, Reply) {
        let sock = TcpStream::connect_timeout(&addr, IO_TIMEOUT).expect("connect");
        sock.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        sock.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
        let mut c = FtpsCtrl {
            conn: Conn::Plain(sock),
            pending: Vec::new(),
        };
        let greeting = c.read_reply();
        (c, greeting)
    }

    /// Connects to an implicit-FTPS port: TLS first, then the greeting (over TLS).
    pub fn connect_implicit(addr: SocketAddr, config: &Arc<ClientConfig>) -> (FtpsCtrl, Reply) {
        let sock = TcpStream::connect_timeout(&addr, IO_TIMEOUT).expect("connect");
        let tls = tls_connect(sock, config).expect("implicit TLS handshake");
        let mut c = FtpsCtrl {
            conn: Conn::Tls(Box::new(tls)),
            pending: Vec::new(),
        };
        let greeting = c.read_reply();
        (c, greeting)
    }

    /// Connects in plaintext, asserts the 220 greeting, then does AUTH TLS.
    #[track_caller]
    pub fn connect_tls(addr: SocketAddr, config: &Arc<ClientConfig>) -> FtpsCtrl {
        let (mut c, greeting) = FtpsCtrl::connect(addr);
        assert_eq!(greeting.code, 220, "greeting: {greeting:?}");
        c.auth_tls(config);
        c
    }

    /// AUTH TLS, login as "user", PBSZ 0, PROT P, TYPE I: the usual secure session.
    #[track_caller]
    pub fn secure_login(addr: SocketAddr, config: &Arc<ClientConfig>) -> FtpsCtrl {
        let mut c = FtpsCtrl::connect_tls(addr, config);
        c.login("user", "pass");
        c.expect("PBSZ 0", 200);
        c.expect("PROT P", 200);
        c.expect("TYPE I", 200);
        c
    }

    /// Sends AUTH TLS, asserts the 234 reply, and performs the TLS handshake.
    #[track_caller]
    pub fn auth_tls(&mut self, config: &Arc<ClientConfig>) {
        let r = self.cmd("AUTH TLS");
        assert_eq!((r.code, r.text.as_str()), (234, "AUTH TLS successful."));
        self.start_tls(config)
            .expect("TLS handshake after AUTH TLS");
    }

    /// Switches the (plain) connection to TLS. Nothing may be left unread from the plaintext
    /// phase: the server must not have answered anything after its 234.
    pub fn start_tls(&mut self, config: &Arc<ClientConfig>) -> io::Result<()> {
        assert!(
            self.pending.is_empty(),
            "plaintext after 234: {:?}",
            String::from_utf8_lossy(&self.pending)
        );
        let Conn::Plain(sock) = &self.conn else {
            panic!("already using TLS");
        };
        let tls = tls_connect(sock.try_clone()?, config)?;
        self.conn = Conn::Tls(Box::new(tls));
        Ok(())
    }

    /// The plain socket under the connection (for raw writes and checks).
    pub fn tcp(&self) -> &TcpStream {
        match &self.conn {
            Conn::Plain(s) => s,
            Conn::Tls(t) => &t.sock,
        }
    }

    /// The certificate the server presented on the control connection.
    pub fn peer_certificate(&self) -> Option<CertificateDer<'static>> {
        match &self.conn {
            Conn::Plain(_) => None,
            Conn::Tls(t) => t.conn.peer_certificates()?.first().cloned(),
        }
    }

    /// Writes bytes as they are (through TLS if it is on).
    pub fn send_raw(&mut self, bytes: &[u8]) {
        let io = self.conn.io();
        io.write_all(bytes).expect("write to server");
        io.flush().expect("flush to server");
    }

    /// Sends `line` + CRLF and reads one complete reply.
    pub fn cmd(&mut self, line: &str) -> Reply {
        self.send_raw(format!("{line}\r\n").as_bytes());
        self.read_reply()
    }

    /// Sends `line` and asserts the reply code.
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

    /// USER + PASS, asserting 331 then 230.
    #[track_caller]
    pub fn login(&mut self, user: &str, pass: &str) {
        self.expect(&format!("USER {user}"), 331);
        self.expect(&format!("PASS {pass}"), 230);
    }

    fn read_line(&mut self) -> String {
        for _ in 0..MAX_STEPS {
            if let Some(i) = self.pending.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.pending.drain(..=i).collect();
                assert!(line.ends_with(b"\r\n"), "reply line not CRLF: {line:?}");
                return String::from_utf8_lossy(&line[..line.len() - 2]).into_owned();
            }
            let mut chunk = [0u8; 4096];
            match self.conn.io().read(&mut chunk) {
                Ok(0) => panic!(
                    "server closed the connection while a reply was expected (got {:?})",
                    String::from_utf8_lossy(&self.pending)
                ),
                Ok(n) => self.pending.extend_from_slice(&chunk[..n]),
                Err(e) => panic!("no reply from server: {e}"),
            }
        }
        panic!("reply line never ended");
    }

    /// Reads one complete reply (single or multi-line).
    pub fn read_reply(&mut self) -> Reply {
        read_reply_with(|| self.read_line(), false)
    }

    /// Reads replies until a final (non-1xx) one and returns it.
    pub fn final_reply(&mut self) -> Reply {
        for _ in 0..16 {
            let r = self.read_reply();
            if r.code >= 200 {
                return r;
            }
        }
        panic!("no final reply after 16 preliminary ones");
    }
}

/// Deterministic, non-repeating-looking bytes (xorshift), so a shifted or truncated copy
/// never compares equal.
pub fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Waits (at most `limit`) for the peer to close `sock`: `Ok(bytes seen before EOF)`, or
/// `Err` if it is still open at the deadline.
pub fn wait_closed(sock: &mut TcpStream, limit: Duration) -> Result<Vec<u8>, String> {
    let deadline = Instant::now() + limit;
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(format!("still open after {limit:?}; got {seen:?}"));
        }
        sock.set_read_timeout(Some(left)).unwrap();
        match sock.read(&mut buf) {
            Ok(0) => return Ok(seen),
            Ok(n) => seen.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => return Ok(seen),
            Err(e) => return Err(format!("still open after {limit:?} ({e}); got {seen:?}")),
        }
    }
}
