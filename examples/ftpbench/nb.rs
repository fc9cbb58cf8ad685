//! A non-blocking connection (plain or rustls) for the mio session driver.
//!
//! mio readiness is edge-triggered, so [`NbConn::pump`] always works until the socket says
//! `WouldBlock`: it writes everything queued, then reads everything available (decrypting under
//! TLS). A socket whose connect is still in progress answers `WouldBlock` to both, and becomes
//! writable when the connect completes, which triggers the next pump. Incoming bytes either
//! accumulate in `inbuf` (control replies) or are only counted (`discard`, the RETR payload).

use std::io::{self, Read, Write};
use std::sync::Arc;

use mio::net::TcpStream;
use rustls::{ClientConfig, ClientConnection};

use crate::tls;

/// One non-blocking stream.
pub struct NbConn {
    /// The socket (registered with the poll by the owner).
    pub sock: TcpStream,
    tls: Option<Box<ClientConnection>>,
    out: Vec<u8>,
    /// Plaintext received and not yet consumed (unless `discard`).
    pub inbuf: Vec<u8>,
    /// Count incoming bytes instead of keeping them.
    pub discard: bool,
    /// Plaintext bytes received in total.
    pub received: u64,
    /// The peer ended the stream.
    pub eof: bool,
}

impl NbConn {
    /// Wraps a (possibly still connecting) socket.
    pub fn new(sock: TcpStream, discard: bool) -> NbConn {
        NbConn {
            sock,
            tls: None,
            out: Vec::new(),
            inbuf: Vec::new(),
            discard,
            received: 0,
            eof: false,
        }
    }

    /// Starts a TLS client session on this stream; the handshake proceeds in [`pump`].
    ///
    /// [`pump`]: NbConn::pump
    pub fn start_tls(&mut self, cfg: &Arc<ClientConfig>, sni: &str) -> Result<(), String> {
        let conn = ClientConnection::new(Arc::clone(cfg), tls::server_name(sni)?)
            .map_err(|e| format!("TLS: {e}"))?;
        self.tls = Some(Box::new(conn));
        Ok(())
    }

    /// Queues bytes to send (encrypted under TLS, after the handshake).
    pub fn send(&mut self, data: &[u8]) -> io::Result<()> {
        match &mut self.tls {
            Some(t) => t.writer().write_all(data),
            None => {
                self.out.extend_from_slice(data);
                Ok(())
            }
        }
    }

    /// Writes what is queued and reads what is available, both until `WouldBlock`.
    pub fn pump(&mut self) -> io::Result<()> {
        let mut buf = [0u8; 16 * 1024];
        // Edge-triggered readiness: stop only at WouldBlock or the end of the stream, or no
        // further event would come. Each pass consumes socket data, so this ends as soon as the
        // server stops sending (a RETR of --small-file, or a reply).
        loop {
            self.flush()?;
            if self.eof {
                return Ok(());
            }
            let got = match &mut self.tls {
                None => match self.sock.read(&mut buf) {
                    Ok(0) => {
                        self.eof = true;
                        0
                    }
                    Ok(n) => {
                        self.received += n as u64;
                        if !self.discard {
                            self.inbuf.extend_from_slice(&buf[..n]);
                        }
                        n
                    }
                    Err(e) if would_block(&e) => return Ok(()),
                    Err(e) => return Err(e),
                },
                Some(t) => match t.read_tls(&mut self.sock) {
                    Ok(0) => {
                        self.eof = true;
                        t.process_new_packets().map_err(io::Error::other)?;
                        self.drain_plain(&mut buf)?;
                        0
                    }
                    Ok(n) => {
                        t.process_new_packets().map_err(io::Error::other)?;
                        self.drain_plain(&mut buf)?;
                        n
                    }
                    Err(e) if would_block(&e) => return Ok(()),
                    Err(e) => return Err(e),
                },
            };
            if got == 0 && !self.eof {
                return Ok(());
            }
        }
    }

    /// Moves decrypted bytes out of rustls; a close_notify ends the stream.
    fn drain_plain(&mut self, buf: &mut [u8]) -> io::Result<()> {
        let Some(t) = &mut self.tls else {
            return Ok(());
        };
        loop {
            match t.reader().read(buf) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(());
                }
                Ok(n) => {
                    self.received += n as u64;
                    if !self.discard {
                        self.inbuf.extend_from_slice(&buf[..n]);
                    }
                }
                Err(e) if would_block(&e) => return Ok(()),
                // TCP closed without close_notify: the end (the byte count is checked).
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                    self.eof = true;
                    return Ok(());
                }
                Err(e) => return Err(e),
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.tls {
            None => {
                while !self.out.is_empty() {
                    match self.sock.write(&self.out) {
                        Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                        Ok(n) => {
                            self.out.drain(..n);
                        }
                        Err(e) if would_block(&e) => return Ok(()),
                        Err(e) => return Err(e),
                    }
                }
            }
            Some(t) => {
                while t.wants_write() {
                    match t.write_tls(&mut self.sock) {
                        Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                        Ok(_) => {}
                        Err(e) if would_block(&e) => return Ok(()),
                        Err(e) => return Err(e),
                    }
                }
            }
        }
        Ok(())
    }
}

fn would_block(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
    )
}
