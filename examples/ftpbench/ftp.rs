//! A small blocking FTP client (plain or explicit FTPS) for the one-session scenarios (retr,
//! stor, list, churn), the idle connections and the fixtures. Every socket read and write has
//! the `--op-timeout` bound, so a stuck server turns into an error, never a hang.
//!
//! Data connections are passive (EPSV, or PASV with `--pasv`). Under `PROT P` the TLS handshake
//! on the data connection starts lazily, after the transfer command is sent, since a server may
//! wait for the command before it answers the handshake. Downloads are read to the end; uploads
//! end with close_notify and a write shutdown, and the data connection is then read to its end,
//! which consumes the session tickets the server sent on it.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use rustls::{ClientConfig, ClientConnection, StreamOwned};

use crate::proto::{take_reply, Reply, Target};
use crate::{rxstamp, tls};

/// A plain or TLS stream.
pub enum Io {
    /// Plain TCP.
    Plain(TcpStream),
    /// TLS over TCP.
    Tls(Box<StreamOwned<ClientConnection, TcpStream>>),
}

impl Io {
    fn tcp(&self) -> &TcpStream {
        match self {
            Io::Plain(s) => s,
            Io::Tls(t) => &t.sock,
        }
    }
}

impl Read for Io {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Io::Plain(s) => s.read(buf),
            // A peer that closes without close_notify: treat as the end (byte counts are checked).
            Io::Tls(t) => match t.read(buf) {
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(0),
                r => r,
            },
        }
    }
}

impl Write for Io {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Io::Plain(s) => s.write(buf),
            Io::Tls(t) => t.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Io::Plain(s) => s.flush(),
            Io::Tls(t) => t.flush(),
        }
    }
}

fn tcp_connect(addr: std::net::SocketAddr, timeout: Duration) -> Result<TcpStream, String> {
    let s =
        TcpStream::connect_timeout(&addr, timeout).map_err(|e| format!("connect {addr}: {e}"))?;
    s.set_read_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    s.set_write_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    Ok(s)
}

fn wrap_tls(sock: TcpStream, cfg: &Arc<ClientConfig>, sni: &str) -> Result<Io, String> {
    let conn = ClientConnection::new(Arc::clone(cfg), tls::server_name(sni)?)
        .map_err(|e| format!("TLS: {e}"))?;
    Ok(Io::Tls(Box::new(StreamOwned::new(conn, sock))))
}

/// One control connection.
pub struct Control {
    io: Io,
    buf: Vec<u8>,
    target: Target,
    /// This session's TLS config (shared with its data connections), when on.
    session_tls: Option<Arc<ClientConfig>>,
    timeout: Duration,
    /// The `220` greeting.
    pub banner: String,
}

impl Control {
    /// Connects, reads the greeting and, with `--tls`, secures the session (AUTH TLS, PBSZ 0,
    /// PROT P).
    pub fn connect(t: &Target, timeout: Duration) -> Result<Control, String> {
        let sock = tcp_connect(t.addr, timeout)?;
        sock.set_nodelay(true).map_err(|e| e.to_string())?;
        let mut c = Control {
            io: Io::Plain(sock),
            buf: Vec::with_capacity(512),
            target: t.clone(),
            session_tls: None,
            timeout,
            banner: String::new(),
        };
        let mut r = c.reply()?;
        if r.code == 120 {
            r = c.reply()?;
        }
        if r.code != 220 {
            return Err(format!("greeting: {}", r.short()));
        }
        c.banner = r.text;
        if let Some(base) = &t.tls {
            c.cmd("AUTH TLS", &[234])?;
            let cfg = tls::per_session(base);
            // A second handle on the same socket; the plain one is dropped (the fd stays open).
            let sock = c.io.tcp().try_clone().map_err(|e| e.to_string())?;
            c.io = wrap_tls(sock, &cfg, &t.sni)?;
            c.session_tls = Some(cfg);
            c.cmd("PBSZ 0", &[200])?;
            c.cmd("PROT P", &[200])?;
        }
        Ok(c)
    }

    /// USER/PASS.
    pub fn login(&mut self, user: &str, password: &str) -> Result<(), String> {
        let r = self.cmd(&format!("USER {user}"), &[230, 331])?;
        if r.code == 331 {
            self.cmd(&format!("PASS {password}"), &[230, 202])?;
        }
        Ok(())
    }

    /// Sends one command line.
    pub fn send(&mut self, line: &str) -> Result<(), String> {
        let mut msg = Vec::with_capacity(line.len() + 2);
        msg.extend_from_slice(line.as_bytes());
        msg.extend_from_slice(b"\r\n");
        self.io
            .write_all(&msg)
            .and_then(|()| self.io.flush())
            .map_err(|e| format!("send {}: {e}", verb(line)))
    }

    /// Reads one complete reply.
    pub fn reply(&mut self) -> Result<Reply, String> {
        let mut chunk = [0u8; 4096];
        loop {
            if let Some(r) = take_reply(&mut self.buf)? {
                return Ok(r);
            }
            match self.io.read(&mut chunk) {
                Ok(0) => return Err("control connection closed by the server".into()),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(format!("reading reply: {e}")),
            }
        }
    }

    /// Sends a command and checks the reply code.
    pub fn cmd(&mut self, line: &str, ok: &[u16]) -> Result<Reply, String> {
        self.send(line)?;
        let r = self.reply()?;
        if ok.contains(&r.code) {
            Ok(r)
        } else {
            Err(format!("{}: {}", verb(line), r.short()))
        }
    }

    /// Asks the kernel to stamp the replies this plain connection receives (see rxstamp.rs);
    /// false under TLS, whose records the TLS layer reads.
    pub fn stamp_replies(&mut self) -> Result<bool, String> {
        match &self.io {
            Io::Plain(s) => rxstamp::enable(s)
                .map(|()| true)
                .map_err(|e| format!("SO_TIMESTAMPNS: {e}")),
            Io::Tls(_) => Ok(false),
        }
    }

    /// Like `cmd`, and also when the kernel received the reply's newest segment: `None` under
    /// TLS or before `stamp_replies`.
    pub fn cmd_stamped(
        &mut self,
        line: &str,
        ok: &[u16],
    ) -> Result<(Reply, Option<SystemTime>), String> {
        self.send(line)?;
        let mut stamp = None;
        let mut chunk = [0u8; 4096];
        let r = loop {
            if let Some(r) = take_reply(&mut self.buf)? {
                break r;
            }
            let Io::Plain(sock) = &self.io else {
                break self.reply()?;
            };
            match rxstamp::recv(sock, &mut chunk) {
                Ok((0, _)) => return Err("control connection closed by the server".into()),
                Ok((n, s)) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    stamp = s.or(stamp);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(format!("reading reply: {e}")),
            }
        };
        if ok.contains(&r.code) {
            Ok((r, stamp))
        } else {
            Err(format!("{}: {}", verb(line), r.short()))
        }
    }

    /// Opens a passive data connection (TLS under PROT P, handshake deferred to first use).
    fn open_data(&mut self) -> Result<Io, String> {
        let r = self.cmd(self.target.passive_cmd(), &[227, 229])?;
        let sock = tcp_connect(self.target.data_addr(&r)?, self.timeout)?;
        match &self.session_tls {
            Some(cfg) => wrap_tls(sock, cfg, &self.target.sni),
            None => Ok(Io::Plain(sock)),
        }
    }

    /// Runs a download-type command (RETR, LIST, NLST), feeding the data to `sink`; bytes read.
    pub fn download(&mut self, line: &str, mut sink: impl FnMut(&[u8])) -> Result<u64, String> {
        let mut data = self.open_data()?;
        self.cmd(line, &[125, 150])?;
        let mut buf = vec![0u8; 256 * 1024];
        let mut total = 0u64;
        loop {
            match data.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    total += n as u64;
                    sink(&buf[..n]);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(format!("{} data: {e}", verb(line))),
            }
        }
        drop(data);
        self.expect_done(line)?;
        Ok(total)
    }

    /// Runs an upload command (STOR) sending `size` bytes taken cyclically from `chunk`.
    pub fn upload(&mut self, line: &str, size: u64, chunk: &[u8]) -> Result<(), String> {
        if chunk.is_empty() && size > 0 {
            return Err("empty upload buffer".into());
        }
        let mut data = self.open_data()?;
        self.cmd(line, &[125, 150])?;
        let mut left = size;
        while left > 0 {
            let n = chunk.len().min(usize::try_from(left).unwrap_or(usize::MAX));
            data.write_all(&chunk[..n])
                .map_err(|e| format!("{} data: {e}", verb(line)))?;
            left -= n as u64;
        }
        finish_upload(&mut data).map_err(|e| format!("{} data close: {e}", verb(line)))?;
        drop(data);
        self.expect_done(line)?;
        Ok(())
    }

    fn expect_done(&mut self, line: &str) -> Result<(), String> {
        let r = self.reply()?;
        if r.code == 226 || r.code == 250 {
            Ok(())
        } else {
            Err(format!("{} end: {}", verb(line), r.short()))
        }
    }

    /// `SIZE path`, or `None` when the server refuses (missing file, no SIZE support).
    pub fn size(&mut self, path: &str) -> Result<Option<u64>, String> {
        self.send(&format!("SIZE {path}"))?;
        let r = self.reply()?;
        Ok((r.code == 213)
            .then(|| r.text.get(4..).and_then(|s| s.trim().parse().ok()))
            .flatten())
    }

    /// `NLST path`: the names, one per line.
    pub fn nlst(&mut self, path: &str) -> Result<Vec<String>, String> {
        let mut raw = Vec::new();
        self.download(&format!("NLST {path}"), |b| raw.extend_from_slice(b))?;
        Ok(String::from_utf8_lossy(&raw)
            .lines()
            .map(|l| l.rsplit('/').next().unwrap_or(l).trim().to_owned())
            .filter(|l| !l.is_empty())
            .collect())
    }

    /// QUIT, ignoring the answer (the session is over either way).
    pub fn quit(mut self) {
        if self.send("QUIT").is_ok() {
            let _ = self.reply();
        }
    }
}

/// Ends an upload: close_notify under TLS, a write shutdown, then the rest of the stream.
fn finish_upload(data: &mut Io) -> io::Result<()> {
    if let Io::Tls(t) = data {
        t.conn.send_close_notify();
        t.flush()?;
    }
    data.flush()?;
    data.tcp().shutdown(Shutdown::Write)?;
    let mut sink = [0u8; 4096];
    // Bounded by the read timeout; the server closes after the last byte is stored.
    for _ in 0..1_000_000 {
        match data.read(&mut sink) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
    }
    Ok(())
}

/// The command word, for error messages (never the PASS argument).
fn verb(line: &str) -> &str {
    line.split(' ').next().unwrap_or(line)
}
