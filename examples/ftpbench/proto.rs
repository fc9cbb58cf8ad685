//! FTP protocol pieces shared by the blocking client and the mio session driver: the server
//! under test ([`Target`]), RFC 959 reply framing (single and multi-line), and the passive
//! reply parsers. The address in a `227` reply is ignored, as in the shared referee: the data
//! connection always goes to the control connection's host (loopback benchmarking).

use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;

use rustls::ClientConfig;

/// Largest reply accepted (a `LIST` goes over the data connection, not here).
const MAX_REPLY: usize = 1 << 20;

/// One server under test.
#[derive(Debug, Clone)]
pub struct Target {
    /// Column title in the table.
    pub label: String,
    /// Control address.
    pub addr: SocketAddr,
    /// Login.
    pub user: String,
    /// Password.
    pub password: String,
    /// Server process, for CPU and memory figures.
    pub pid: Option<u32>,
    /// The base TLS config when `--tls` is on.
    pub tls: Option<Arc<ClientConfig>>,
    /// Name for SNI and certificate checks.
    pub sni: String,
    /// Use PASV instead of EPSV.
    pub pasv: bool,
    /// Login and password of the `stall` scenario's login load.
    pub stall_login: (String, String),
}

impl Target {
    /// Resolves `host:port`.
    pub fn resolve(host: &str, port: u16) -> Result<SocketAddr, String> {
        (host, port)
            .to_socket_addrs()
            .map_err(|e| format!("cannot resolve {host}:{port}: {e}"))?
            .next()
            .ok_or_else(|| format!("{host}:{port}: no address"))
    }

    /// The command that opens a passive data connection.
    pub fn passive_cmd(&self) -> &'static str {
        if self.pasv {
            "PASV"
        } else {
            "EPSV"
        }
    }

    /// The data address announced by a `229`/`227` reply.
    pub fn data_addr(&self, reply: &Reply) -> Result<SocketAddr, String> {
        let port = match (self.pasv, reply.code) {
            (false, 229) => parse_epsv(&reply.text),
            (true, 227) => parse_pasv(&reply.text),
            _ => None,
        };
        port.map(|p| SocketAddr::new(self.addr.ip(), p))
            .ok_or_else(|| format!("bad passive reply: {}", reply.short()))
    }
}

/// One complete reply.
#[derive(Debug, Clone)]
pub struct Reply {
    /// The three-digit code.
    pub code: u16,
    /// All lines, joined with `\n`.
    pub text: String,
}

impl Reply {
    /// The reply cut to one short line, for error messages.
    pub fn short(&self) -> String {
        let first = self.text.lines().next().unwrap_or("");
        first.chars().take(100).collect()
    }
}

/// Takes one complete reply off the front of `buf`, if there is one.
pub fn take_reply(buf: &mut Vec<u8>) -> Result<Option<Reply>, String> {
    let mut start = 0;
    let mut code: Option<u16> = None;
    while let Some(nl) = buf[start..].iter().position(|&b| b == b'\n') {
        let line = &buf[start..start + nl];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let next = start + nl + 1;
        match code {
            None => {
                let c = line_code(line)
                    .ok_or_else(|| format!("bad reply line {:?}", String::from_utf8_lossy(line)))?;
                if line.get(3) != Some(&b'-') {
                    return Ok(Some(finish(buf, next, c)));
                }
                code = Some(c);
            }
            Some(c) => {
                if line_code(line) == Some(c) && line.get(3).is_none_or(|&b| b == b' ') {
                    return Ok(Some(finish(buf, next, c)));
                }
            }
        }
        start = next;
    }
    if buf.len() > MAX_REPLY {
        return Err("reply longer than 1 MiB".into());
    }
    Ok(None)
}

fn line_code(line: &[u8]) -> Option<u16> {
    let d = line.get(..3)?;
    if d.iter().all(u8::is_ascii_digit) {
        std::str::from_utf8(d).ok()?.parse().ok()
    } else {
        None
    }
}

fn finish(buf: &mut Vec<u8>, end: usize, code: u16) -> Reply {
    let text = String::from_utf8_lossy(&buf[..end]).trim_end().to_owned();
    buf.drain(..end);
    Reply { code, text }
}

/// The port of `229 Entering Extended Passive Mode (|||PORT|)` (any delimiter, RFC 2428).
pub fn parse_epsv(text: &str) -> Option<u16> {
    let inner = &text[text.find('(')? + 1..];
    let d = inner.chars().next()?;
    let mut parts = inner.split(d);
    // "(|||6446|)" splits into "", "", "", "6446", ")".
    let (_, _, _, port) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    port.parse().ok()
}

/// The port of `227 Entering Passive Mode (h1,h2,h3,h4,p1,p2)` (the first six numbers after
/// the code; some servers omit the parentheses).
pub fn parse_pasv(text: &str) -> Option<u16> {
    let nums: Vec<u16> = text
        .get(4..)?
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .take(6)
        .map(|s| s.parse().ok())
        .collect::<Option<_>>()?;
    match nums[..] {
        [_, _, _, _, p1, p2] if p1 < 256 && p2 < 256 => Some(p1 * 256 + p2),
        _ => None,
    }
}
