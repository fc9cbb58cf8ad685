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
    /// A protocol other than 1 or 2, or an address not of that protocol (522).
    Protocol,
}

/// Parses the argument of EPRT.
pub fn parse_eprt(arg: &str) -> Result<SocketAddr, EprtError> {
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
    let port: u16 = port.parse().map_err(|_| EprtError::Syntax)?;
    let ip: IpAddr = addr.parse().map_err(|_| EprtError::Syntax)?;
    match (proto, ip) {
        ("1", IpAddr::V4(_)) | ("2", IpAddr::V6(_)) => Ok(SocketAddr::new(ip, port)),
        ("1", _) | ("2", _) => Err(EprtError::Protocol),
        (p, _) if p.parse::<u32>().is_ok() => Err(EprtError::Protocol),
        _ => Err(EprtError::Syntax),
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

/// `h1,h2,h3,h4,p1,p2` for a 227 reply.
pub fn pasv_tuple(ip: Ipv4Addr, port: u16) -> String {
    let o = ip.octets();
    format!(
        "{},{},{},{},{},{}",
        o[0],
        o[1],
        o[2],
        o[3],
        port >> 8,
        port & 0xff
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sa(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn port_arguments() {
        assert_eq!(parse_port("127,0,0,1,4,1"), Some(sa("127.0.0.1:1025")));
        assert_eq!(parse_port(" 10, 0,0,2,255,255"), Some(sa("10.0.0.2:65535")));
        assert_eq!(parse_port("127,0,0,1,4"), None);
        assert_eq!(parse_port("127,0,0,1,4,1,1"), None);
        assert_eq!(parse_port("256,0,0,1,4,1"), None);
        assert_eq!(parse_port("a,b,c,d,e,f"), None);
        assert_eq!(parse_port(""), None);
    }

    #[test]
    fn eprt_arguments() {
        assert_eq!(
            parse_eprt("|1|132.235.1.2|6275|"),
            Ok(sa("132.235.1.2:6275"))
        );
        assert_eq!(parse_eprt("|2|::1|5282|"), Ok(sa("[::1]:5282")));
        assert_eq!(parse_eprt("!1!127.0.0.1!80!"), Ok(sa("127.0.0.1:80")));
        assert_eq!(parse_eprt("|1|::1|5282|"), Err(EprtError::Protocol));
        assert_eq!(parse_eprt("|3|1.2.3.4|5|"), Err(EprtError::Protocol));
        assert_eq!(parse_eprt("|x|1.2.3.4|5|"), Err(EprtError::Syntax));
        assert_eq!(parse_eprt("|1|1.2.3.4|99999|"), Err(EprtError::Syntax));
        assert_eq!(parse_eprt("|1|1.2.3.4|5"), Err(EprtError::Syntax));
        assert_eq!(parse_eprt("|1|1.2.3.4|5|x"), Err(EprtError::Syntax));
        assert_eq!(parse_eprt(""), Err(EprtError::Syntax));
        assert_eq!(parse_eprt(" 1 1.2.3.4 5 "), Err(EprtError::Syntax));
    }

    #[test]
    fn epsv_arguments_and_pasv_tuple() {
        assert_eq!(parse_epsv(""), Some(EpsvArg::Default));
        assert_eq!(parse_epsv("all"), Some(EpsvArg::All));
        assert_eq!(parse_epsv("2"), Some(EpsvArg::Proto(2)));
        assert_eq!(parse_epsv("x"), None);
        assert_eq!(
            pasv_tuple(Ipv4Addr::new(10, 0, 0, 1), 60001),
            "10,0,0,1,234,97"
        );
    }
}
