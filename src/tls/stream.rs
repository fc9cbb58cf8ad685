//! A TCP stream that may speak TLS: the one type control and data connections read and write.
//!
//! rustls does no I/O. Reading is: pull TLS records from the socket (`read_tls`), decrypt them
//! (`process_new_packets`), then take plaintext from `reader()`. Writing is: give plaintext to
//! `writer()`, then push records to the socket (`write_tls`). Both follow the edge-triggered
//! rule: loop until the socket says `WouldBlock`. Handshake messages ride along: whatever
//! rustls wants to send goes out at every read and write, and [`Stream::wants_write`] tells
//! the owner to keep `WRITABLE` interest while TLS records wait to be sent. rustls' plaintext
//! buffer is bounded (64 KiB), so a big download feeds it in slices (backpressure: `write`
//! answers `WouldBlock` when it is full).

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::sync::Arc;

use mio::net::TcpStream;
use rustls::{HandshakeKind, ServerConfig, ServerConnection};

/// A socket, plain or wrapped in a server-side TLS session.
#[derive(Debug)]
pub struct Stream {
    sock: TcpStream,
    tls: Option<Box<ServerConnection>>,
    /// The socket reached EOF under TLS.
    eof: bool,
}

impl Stream {
    /// A plain stream.
    pub fn plain(sock: TcpStream) -> Stream {
        Stream {
            sock,
            tls: None,
            eof: false,
        }
    }

    /// A stream whose TLS handshake (server side) starts now. `token`, if given, is embedded in
    /// the session tickets this connection issues (see the module docs of `tls`).
    pub fn tls(
        sock: TcpStream,
        config: Arc<ServerConfig>,
        token: Option<&[u8]>,
    ) -> io::Result<Stream> {
        let mut s = Stream::plain(sock);
        s.upgrade(config, token)?;
        Ok(s)
    }

    /// Starts TLS on a plain stream (after `234` to AUTH TLS was sent).
    pub fn upgrade(&mut self, config: Arc<ServerConfig>, token: Option<&[u8]>) -> io::Result<()> {
        let mut conn = ServerConnection::new(config).map_err(io::Error::other)?;
        if let Some(t) = token {
            conn.set_resumption_data(t);
        }
        self.tls = Some(Box::new(conn));
        Ok(())
    }

    /// Starts TLS with bytes of the handshake already read from the socket (e.g. read together
    /// with a PROXY protocol header).
    pub fn upgrade_with(
        &mut self,
        config: Arc<ServerConfig>,
        token: Option<&[u8]>,
        initial: &[u8],
    ) -> io::Result<()> {
        self.upgrade(config, token)?;
        let Some(conn) = self.tls.as_mut() else {
            return Ok(());
        };
        let mut rest = initial;
        while !rest.is_empty() {
            if conn.read_tls(&mut rest)? == 0 {
                break;
            }
            conn.process_new_packets()
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        }
        self.flush_tls()
    }

    /// The TCP socket (to register with the poll).
    pub fn tcp_mut(&mut self) -> &mut TcpStream {
        &mut self.sock
    }

    /// The TCP socket.
    pub fn tcp(&self) -> &TcpStream {
        &self.sock
    }

    /// True once TLS is on.
    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// True while the TLS handshake is not finished.
    pub fn is_handshaking(&self) -> bool {
        self.tls.as_ref().is_some_and(|c| c.is_handshaking())
    }

    /// TLS records are waiting to be written: keep `WRITABLE` interest.
    pub fn wants_write(&self) -> bool {
        self.tls.as_ref().is_some_and(|c| c.wants_write())
    }

    /// Local address of the socket.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.sock.local_addr()
    }

    /// Shuts the TCP socket down.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.sock.shutdown(how)
    }

    /// Queues TLS close_notify (end of a protected transfer); `flush_tls` sends it.
    pub fn send_close_notify(&mut self) {
        if let Some(c) = self.tls.as_mut() {
            c.send_close_notify();
        }
    }

    /// Writes pending TLS records until done or `WouldBlock` (which is not an error here).
    pub fn flush_tls(&mut self) -> io::Result<()> {
        let Some(conn) = self.tls.as_mut() else {
            return Ok(());
        };
        while conn.wants_write() {
            match conn.write_tls(&mut self.sock) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Drives the handshake as far as the socket allows. `Ok(true)` once it is complete (or for a
    /// plain stream), `Ok(false)` when waiting for the peer.
    pub fn handshake(&mut self) -> io::Result<bool> {
        for _ in 0..64 {
            self.flush_tls()?;
            let Some(conn) = self.tls.as_mut() else {
                return Ok(true);
            };
            if !conn.is_handshaking() {
                return Ok(true);
            }
            match conn.read_tls(&mut self.sock) {
                Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(_) => {
                    if let Err(e) = conn.process_new_packets() {
                        let _ = conn.write_tls(&mut self.sock);
                        return Err(io::Error::new(io::ErrorKind::InvalidData, e));
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(false)
    }

    /// For a finished handshake: whether it resumed a session, and the token it carried.
    pub fn resumption(&self) -> Option<(bool, Option<Vec<u8>>)> {
        let c = self.tls.as_ref()?;
        if c.is_handshaking() {
            return None;
        }
        let resumed = c.handshake_kind() == Some(HandshakeKind::Resumed);
        Some((resumed, c.received_resumption_data().map(<[u8]>::to_vec)))
    }

    /// The DER certificate the client presented and the server's verifier accepted (only with
    /// `--tls-client-ca`), once the handshake is done.
    pub fn peer_certificate(&self) -> Option<&[u8]> {
        let c = self.tls.as_ref().filter(|c| !c.is_handshaking())?;
        c.peer_certificates()?.first().map(|cert| cert.as_ref())
    }

    /// "TLSv1_3 TLS13_AES_256_GCM_SHA384" for logs, once the handshake is done.
    pub fn describe(&self) -> Option<String> {
        let c = self.tls.as_ref()?;
        let version = c.protocol_version()?;
        let suite = c.negotiated_cipher_suite()?;
        Some(format!("{version:?} {:?}", suite.suite()))
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.tls.is_none() {
            return self.sock.read(buf);
        }
        self.read_tls_plaintext(buf)
    }
}

impl Stream {
    /// Reads plaintext: take what rustls has decrypted, else feed it records from the socket
    /// (sending whatever it answers, e.g. handshake messages) and try again. `Ok(0)` means the
    /// peer sent close_notify; `UnexpectedEof` means the TCP stream ended without it.
    fn read_tls_plaintext(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        for _ in 0..64 {
            let Some(conn) = self.tls.as_mut() else {
                return Ok(0);
            };
            match conn.reader().read(buf) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if self.eof {
                        return Err(io::ErrorKind::UnexpectedEof.into());
                    }
                }
                Err(e) => return Err(e),
            }
            match conn.read_tls(&mut self.sock) {
                Ok(0) => self.eof = true,
                Ok(_) => {
                    if let Err(e) = conn.process_new_packets() {
                        let _ = conn.write_tls(&mut self.sock);
                        return Err(io::Error::new(io::ErrorKind::InvalidData, e));
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
            if let Err(e) = self.flush_tls() {
                // The peer may have sent its last records (an upload's end, its close_notify)
                // and closed at once, so that our answer (a session ticket) meets a reset:
                // what it sent still counts. The error is for the next call, when nothing is
                // left to read.
                return match self.tls.as_mut().map(|c| c.reader().read(buf)) {
                    Some(Ok(n)) => Ok(n),
                    _ => Err(e),
                };
            }
        }
        // Many records without plaintext (e.g. a long handshake): come back later.
        Err(io::ErrorKind::WouldBlock.into())
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.tls.is_none() {
            return self.sock.write(buf);
        }
        self.flush_tls()?;
        let n = match self.tls.as_mut() {
            Some(conn) => conn.writer().write(buf)?,
            None => 0,
        };
        self.flush_tls()?;
        if n == 0 && !buf.is_empty() {
            // rustls' plaintext buffer is full: wait for the socket to drain.
            return Err(io::ErrorKind::WouldBlock.into());
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.flush_tls()
    }
}
