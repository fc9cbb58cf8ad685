//! A raw, blocking FTP control client. Unlike `common::Ctrl` it reads nothing on connect, so a
//! test can first send a PROXY protocol header (whole or byte by byte), and it tells "closed
//! without a reply" apart from a reply. Plus passive transfers whose data connection may come
//! from a chosen loopback address.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpStream};

use socket2::{Domain, Protocol, Socket, Type};

use crate::common::{pasv_addr, Reply, IO_TIMEOUT};

/// A control connection.
pub struct Raw {
    stream: TcpStream,
    reader: BufReader<TcpStream>,
}

/// A TCP connection to `addr` from `from` (any port), with the safety-net timeouts.
pub fn tcp_from(from: Option<IpAddr>, addr: SocketAddr) -> io::Result<TcpStream> {
    let sock = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    if let Some(ip) = from {
        sock.bind(&SocketAddr::new(ip, 0).into())?;
    }
    sock.connect_timeout(&addr.into(), IO_TIMEOUT)?;
    let s: TcpStream = sock.into();
    s.set_read_timeout(Some(IO_TIMEOUT))?;
    s.set_write_timeout(Some(IO_TIMEOUT))?;
    s.set_nodelay(true)?;
    Ok(s)
}

impl Raw {
    /// Connects; reads nothing.
    pub fn connect(addr: SocketAddr) -> Raw {
        Raw::from_stream(tcp_from(None, addr).expect("connect"))
    }

    /// Connects from `from` (127.0.0.x); reads nothing.
    pub fn connect_from(from: IpAddr, addr: SocketAddr) -> Raw {
        Raw::from_stream(tcp_from(Some(from), addr).expect("connect"))
    }

    /// Connects and sends `header` at once; reads nothing.
    pub fn with_header(addr: SocketAddr, header: &[u8]) -> Raw {
        let mut c = Raw::connect(addr);
        c.send(header);
        c
    }

    /// Connects (no header) and asserts the 220 greeting.
    #[track_caller]
    pub fn greeted(addr: SocketAddr) -> Raw {
        let mut c = Raw::connect(addr);
        c.expect_code(220);
        c
    }

    fn from_stream(stream: TcpStream) -> Raw {
        let reader = BufReader::new(stream.try_clone().unwrap());
        Raw { stream, reader }
    }

    /// The client's own address (what the server sees without a header).
    pub fn local_addr(&self) -> SocketAddr {
        self.stream.local_addr().unwrap()
    }

    /// Writes `bytes` as they are.
    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write to server");
    }

    /// Writes `bytes` one write (one segment, with TCP_NODELAY) per byte.
    pub fn send_bytewise(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.send(std::slice::from_ref(b));
        }
    }

    /// The next complete reply, or `Err(bytes)` if the server closed the connection (EOF or
    /// reset) first, with the bytes of an incomplete line. Panics on a timeout.
    pub fn next(&mut self) -> Result<Reply, Vec<u8>> {
        let first = self.line()?;
        let code: u16 = first
            .get(..3)
            .and_then(|c| c.parse().ok())
            .unwrap_or_else(|| panic!("malformed reply line {first:?}"));
        if first.as_bytes().get(3) != Some(&b'-') {
            let text = first.get(4..).unwrap_or("").to_owned();
            return Ok(Reply { code, text });
        }
        let mut lines = vec![first[4..].to_owned()];
        let end = format!("{code} ");
        for _ in 0..10_000 {
            let line = self.line()?;
            if let Some(last) = line.strip_prefix(&end) {
                lines.push(last.to_owned());
                let text = lines.join("\n");
                return Ok(Reply { code, text });
            }
            lines.push(line);
        }
        panic!("multi-line reply {code} never ended");
    }

    fn line(&mut self) -> Result<String, Vec<u8>> {
        let mut raw = Vec::new();
        match self.reader.read_until(b'\n', &mut raw) {
            Ok(_) if raw.ends_with(b"\r\n") => {
                Ok(String::from_utf8_lossy(&raw[..raw.len() - 2]).into_owned())
            }
            Ok(_) => Err(raw),
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => Err(raw),
            Err(e) => panic!("no reply from the server ({e}); got so far: {raw:?}"),
        }
    }

    /// The next reply; panics if the server closed the connection instead.
    #[track_caller]
    pub fn reply(&mut self) -> Reply {
        self.next().unwrap_or_else(|rest| {
            panic!("server closed the connection instead of replying (after {rest:?})")
        })
    }

    /// Reads the next reply and asserts its code.
    #[track_caller]
    pub fn expect_code(&mut self, code: u16) -> Reply {
        let r = self.reply();
        assert_eq!(r.code, code, "{r:?}");
        r
    }

    /// Sends `line` + CRLF and reads one reply.
    #[track_caller]
    pub fn cmd(&mut self, line: &str) -> Reply {
        self.send(format!("{line}\r\n").as_bytes());
        self.reply()
    }

    /// Sends `line` and asserts the reply code.
    #[track_caller]
    pub fn expect(&mut self, line: &str, code: u16) -> Reply {
        let r = self.cmd(line);
        assert_eq!(r.code, code, "{line:?} -> {r:?}");
        r
    }

    /// Logs in as the test user "user"/"pass".
    #[track_caller]
    pub fn login(&mut self) {
        self.expect("USER user", 331);
        self.expect("PASS pass", 230);
    }

    /// Asserts the server closes the connection without sending a single byte.
    #[track_caller]
    pub fn expect_closed_silently(&mut self) {
        match self.next() {
            Ok(r) => panic!("expected a silent close, got {r:?}"),
            Err(rest) => assert!(rest.is_empty(), "expected a silent close, got {rest:?}"),
        }
    }

    /// PASV, returning the advertised address.
    #[track_caller]
    pub fn pasv(&mut self) -> SocketAddr {
        let r = self.expect("PASV", 227);
        pasv_addr(&r)
    }

    /// A passive download (RETR, NLST, LIST) whose data connection comes from `from`.
    #[track_caller]
    pub fn download_from(&mut self, from: Option<IpAddr>, cmd: &str) -> Vec<u8> {
        let addr = self.pasv();
        self.expect(cmd, 150);
        let mut s = tcp_from(from, addr).expect("data connection");
        let mut out = Vec::new();
        s.read_to_end(&mut out).expect("data stream");
        self.expect_code(226);
        out
    }

    /// A passive download from the client's own address.
    #[track_caller]
    pub fn download(&mut self, cmd: &str) -> Vec<u8> {
        self.download_from(None, cmd)
    }

    /// A passive upload (`STOR name`).
    #[track_caller]
    pub fn upload(&mut self, name: &str, data: &[u8]) {
        let addr = self.pasv();
        self.expect(&format!("STOR {name}"), 150);
        let mut s = tcp_from(None, addr).expect("data connection");
        s.write_all(data).unwrap();
        s.shutdown(Shutdown::Write).unwrap();
        self.expect_code(226);
    }
}

/// Reads a data connection the server is expected to drop: asserts it ends (EOF or reset)
/// without one byte.
#[track_caller]
pub fn expect_dropped(s: &mut TcpStream) {
    let mut buf = [0u8; 256];
    match s.read(&mut buf) {
        Ok(0) => {}
        Ok(n) => panic!("expected the data connection to be dropped, got {n} bytes"),
        Err(e) if e.kind() == io::ErrorKind::ConnectionReset => {}
        Err(e) => panic!("expected the data connection to be dropped, but: {e}"),
    }
}

/// Reads one CRLF-terminated line from `s` byte by byte, never past it (e.g. a reply before a
/// TLS handshake on the same socket).
#[track_caller]
pub fn line<S: Read>(s: &mut S) -> String {
    let mut out = Vec::new();
    let mut b = [0u8; 1];
    while !out.ends_with(b"\r\n") {
        assert!(out.len() < 4096, "no line end in {out:?}");
        assert_eq!(
            s.read(&mut b).expect("a reply line"),
            1,
            "closed after {out:?}"
        );
        out.push(b[0]);
    }
    String::from_utf8(out).unwrap()
}
