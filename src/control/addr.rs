//! Parsing the address arguments of PORT (RFC 959) and EPRT/EPSV (RFC 2428). Pure functions.
//!
//! `PORT h1,h2,h3,h4,p1,p2` gives an IPv4 address and a port as six decimal bytes.
//! `EPRT |proto|address|port|` works for IPv4 (`1`) and IPv6 (`2`); the first character is the
//! delimiter and may be any printable character. `EPSV` takes no argument, a protocol number,
//! or `ALL` (after which PORT, EPRT and PASV are refused so NAT boxes need not parse them).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// Parses the argument of PORT.
pub fn parse_port(arg: &str) -> Option<SocketAddr> {
    let parts: Vec<u8> = arg
        .trim()
        .split(',')
        .map(|p| p.trim().parse::<u8>())
        .collect::<Result<_, _>>()
        .ok()?;
    let [a, b, c, d, p1, p2] = parts[..] else {
        return None;
    };
    let ip = IpAddr::V4(Ipv4Addr::new(a, b, c, d));
    Some(SocketAddr::new(ip, u16::from(p1) << 8 | u16::from(p2)))
}

/// Why an EPRT argument was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EprtError {
    /// Not `|proto|addr|port|` (501).
    Syntax,
    /// A protocol other than the control connection's, or an address not of that protocol
    /// (522).
    Protocol,
}

/// Parses the argument of EPRT for a control connection that uses network protocol
/// `control_proto` (1 = IPv4, 2 = IPv6).
///
/// The protocol field is checked first (RFC 2428 §2): a number other than `control_proto`
/// is [`EprtError::Protocol`] (`522`) whatever the address and port fields hold. Only then
/// are the address and the port parsed (`501` when malformed), and an address that is not of
/// the protocol named is `522` too.
pub fn parse_eprt(arg: &str, control_proto: u32) -> Result<SocketAddr, EprtError> {
    let mut chars = arg.chars();
    let delim = chars.next().ok_or(EprtError::Syntax)?;
    if !(33..=126).contains(&u32::from(delim)) {
        return Err(EprtError::Syntax);
    }
    let fields: Vec<&str> = arg[delim.len_utf8()..].split(delim).collect();
    let [proto, addr, port, rest] = fields[..] else {
        return Err(EprtError::Syntax);
    };
    if !rest.is_empty() {
        return Err(EprtError::Syntax);
    }
    match proto.parse::<u32>() {
        Ok(p) if p != control_proto => return Err(EprtError::Protocol),
        Ok(_) => {}
        Err(_) => return Err(EprtError::Syntax),
    }
    let port: u16 = port.parse().map_err(|_| EprtError::Syntax)?;
    let ip: IpAddr = addr.parse().map_err(|_| EprtError::Syntax)?;
    match (control_proto, ip) {
        (1, IpAddr::V4(_)) | (2, IpAddr::V6(_)) => Ok(SocketAddr::new(ip, port)),
        _ => Err(EprtError::Protocol),
    }
}

/// The argument of EPSV.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EpsvArg {
    /// No argument: same protocol as the control connection.
    Default,
    /// A protocol number (1 = IPv4, 2 = IPv6, others unsupported).
    Proto(u32),
    /// `EPSV ALL`.
    All,
}

/// Parses the argument of EPSV; `None` for garbage (501).
pub fn parse_epsv(arg: &str) -> Option<EpsvArg> {
    let arg = arg.trim();
    if arg.is_empty() {
        Some(EpsvArg::Default)
    } else if arg.eq_ignore_ascii_case("ALL") {
        Some(EpsvArg::All)
    } else {
        arg.parse().ok().map(EpsvArg::Proto)
    }
}

pub use crate::net::pasv_tuple;

#[cfg(test)]
mod tests;
