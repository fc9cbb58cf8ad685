//! The PROXY protocol (HAProxy, versions 1 and 2): the real client address, behind a TCP load
//! balancer.
//!
//! A load balancer in front of several ftpdlib daemons makes every control connection come
//! from the balancer's own address. With `--proxy-protocol`, the balancer (e.g. HAProxy with
//! `send-proxy` or `send-proxy-v2`) first sends one header naming the client, and the server
//! uses that address for everything address-based: logs, per-IP limits and bans, PORT bounce
//! protection and the passive foreign-address check. A connection without a valid header is
//! refused, so a client cannot claim another address by talking to the server directly.
//!
//! Version 1 is one text line: `PROXY TCP4 <src> <dst> <sport> <dport>\r\n` (at most 107
//! bytes). Version 2 is binary: a 12-byte signature, a version/command byte, a family byte, a
//! big-endian length, then the addresses (and optional TLVs, ignored here). `LOCAL` (v2) and
//! `UNKNOWN` (v1) mean "no client address": the connection's own address is kept.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// The v2 signature.
const V2_SIG: &[u8; 12] = b"\r\n\r\n\0\r\nQUIT\n";
/// Longest v1 header.
const V1_MAX: usize = 107;
/// Longest v2 header accepted (16 bytes + addresses + TLVs).
const V2_MAX: usize = 16 + 536;

/// Why a header was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyError(pub &'static str);

impl std::fmt::Display for ProxyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "invalid PROXY protocol header: {}", self.0)
    }
}

impl std::error::Error for ProxyError {}

/// A parsed header: the client's address (`None` for LOCAL/UNKNOWN) and the header's length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProxyHeader {
    /// The real client, as the balancer saw it.
    pub source: Option<SocketAddr>,
    /// Bytes the header took at the start of the stream.
    pub len: usize,
}

/// What reading a header from a socket came to.
#[derive(Debug)]
pub enum Read {
    /// More bytes are needed: wait for the next readable event.
    Pending,
    /// The header, and the bytes that followed it (the client's first bytes).
    Done(ProxyHeader, Vec<u8>),
    /// No valid header: refuse, for this reason.
    Refused(String),
    /// The connection ended (or failed) before a header came.
    Closed,
}

/// Reads a header from `sock` into `buf` (what arrived so far), until the header is whole, the
/// socket has nothing more (`WouldBlock`), or the bytes cannot be a header.
pub fn read_header(sock: &mut impl std::io::Read, buf: &mut Vec<u8>) -> Read {
    let mut chunk = [0u8; 1024];
    loop {
        match parse(buf) {
            Ok(Some(header)) => {
                let rest = buf.split_off(header.len);
                *buf = Vec::new();
                return Read::Done(header, rest);
            }
            Ok(None) => {}
            Err(e) => return Read::Refused(e.to_string()),
        }
        if buf.len() > 1024 {
            return Read::Refused("PROXY header too long".to_owned());
        }
        match sock.read(&mut chunk) {
            Ok(0) => return Read::Closed,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return Read::Pending,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return Read::Closed,
        }
    }
}

/// Parses a header at the start of `buf`. `Ok(None)`: more bytes are needed.
pub fn parse(buf: &[u8]) -> Result<Option<ProxyHeader>, ProxyError> {
    if buf.is_empty() {
        return Ok(None);
    }
    if buf[0] == b'P' {
        return parse_v1(buf);
    }
    if buf[0] == b'\r' {
        return parse_v2(buf);
    }
    Err(ProxyError("no PROXY header"))
}

fn parse_v1(buf: &[u8]) -> Result<Option<ProxyHeader>, ProxyError> {
    let prefix = b"PROXY ";
    let n = buf.len().min(prefix.len());
    if buf[..n] != prefix[..n] {
        return Err(ProxyError("no PROXY header"));
    }
    let Some(end) = buf.windows(2).position(|w| w == b"\r\n") else {
        return if buf.len() >= V1_MAX {
            Err(ProxyError("v1 line too long"))
        } else {
            Ok(None)
        };
    };
    if end + 2 > V1_MAX {
        return Err(ProxyError("v1 line too long"));
    }
    let line = std::str::from_utf8(&buf[..end]).map_err(|_| ProxyError("v1 not ASCII"))?;
    let fields: Vec<&str> = line.split(' ').collect();
    let source = match fields.as_slice() {
        ["PROXY", "UNKNOWN", ..] => None,
        ["PROXY", proto @ ("TCP4" | "TCP6"), src, _dst, sport, _dport] => {
            let ip: IpAddr = src.parse().map_err(|_| ProxyError("v1 bad address"))?;
            let port: u16 = sport.parse().map_err(|_| ProxyError("v1 bad port"))?;
            if (*proto == "TCP4") != ip.is_ipv4() {
                return Err(ProxyError("v1 address does not match the protocol"));
            }
            Some(SocketAddr::new(ip, port))
        }
        _ => return Err(ProxyError("v1 malformed line")),
    };
    Ok(Some(ProxyHeader {
        source,
        len: end + 2,
    }))
}

fn parse_v2(buf: &[u8]) -> Result<Option<ProxyHeader>, ProxyError> {
    let n = buf.len().min(V2_SIG.len());
    if buf[..n] != V2_SIG[..n] {
        return Err(ProxyError("no PROXY header"));
    }
    if buf.len() < 16 {
        return Ok(None);
    }
    let ver_cmd = buf[12];
    if ver_cmd >> 4 != 2 {
        return Err(ProxyError("v2 unknown version"));
    }
    let len = usize::from(u16::from_be_bytes([buf[14], buf[15]]));
    if 16 + len > V2_MAX {
        return Err(ProxyError("v2 header too long"));
    }
    if buf.len() < 16 + len {
        return Ok(None);
    }
    let body = &buf[16..16 + len];
    let source = match (ver_cmd & 0x0f, buf[13]) {
        // LOCAL: health checks from the balancer itself.
        (0, _) => None,
        (1, 0x11) => {
            if body.len() < 12 {
                return Err(ProxyError("v2 short IPv4 addresses"));
            }
            let ip = Ipv4Addr::new(body[0], body[1], body[2], body[3]);
            let port = u16::from_be_bytes([body[8], body[9]]);
            Some(SocketAddr::new(IpAddr::V4(ip), port))
        }
        (1, 0x21) => {
            if body.len() < 36 {
                return Err(ProxyError("v2 short IPv6 addresses"));
            }
            let mut octets = [0u8; 16];
            octets.copy_from_slice(&body[..16]);
            let port = u16::from_be_bytes([body[32], body[33]]);
            Some(SocketAddr::new(IpAddr::V6(Ipv6Addr::from(octets)), port))
        }
        // UNSPEC or a non-TCP family: keep the connection's address.
        (1, _) => None,
        _ => return Err(ProxyError("v2 unknown command")),
    };
    Ok(Some(ProxyHeader {
        source,
        len: 16 + len,
    }))
}

#[cfg(test)]
mod tests;
