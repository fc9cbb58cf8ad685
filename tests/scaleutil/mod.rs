//! Helpers of the scale-out tests (`proxy_protocol`, `workers`, `haproxy`): PROXY protocol
//! headers (v1 text, v2 binary), free loopback ports and passive ranges, a raw control client
//! that can speak before the greeting ([`client`]), the real daemon as a child process with its
//! log captured ([`daemon`]) and HAProxy in front of it ([`haproxy`]).

// Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

pub mod client;
pub mod daemon;
pub mod haproxy;

use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener};
use std::ops::RangeInclusive;

/// HAProxy's v2 signature.
const V2_SIG: &[u8; 12] = b"\r\n\r\n\0\r\nQUIT\n";

/// A v1 header: `PROXY TCP4|TCP6 <src> <dst> <sport> <dport>\r\n`.
pub fn v1(src: SocketAddr, dst: SocketAddr) -> Vec<u8> {
    let proto = if src.is_ipv4() { "TCP4" } else { "TCP6" };
    format!(
        "PROXY {proto} {} {} {} {}\r\n",
        src.ip(),
        dst.ip(),
        src.port(),
        dst.port()
    )
    .into_bytes()
}

/// The v1 `UNKNOWN` header (the balancer does not know the client).
pub fn v1_unknown() -> Vec<u8> {
    b"PROXY UNKNOWN\r\n".to_vec()
}

/// A v2 header: `cmd` 0 = LOCAL, 1 = PROXY; `fam` 0x11 = TCP over IPv4, 0x21 = over IPv6.
pub fn v2_raw(cmd: u8, fam: u8, body: &[u8]) -> Vec<u8> {
    let mut h = V2_SIG.to_vec();
    h.push(0x20 | cmd);
    h.push(fam);
    h.extend_from_slice(&u16::try_from(body.len()).unwrap().to_be_bytes());
    h.extend_from_slice(body);
    h
}

/// A v2 PROXY header for a TCP connection from `src` to `dst` (same family), followed by the
/// optional TLVs `tlv` (already encoded).
pub fn v2(src: SocketAddr, dst: SocketAddr, tlv: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    let fam = match (src.ip(), dst.ip()) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            body.extend_from_slice(&s.octets());
            body.extend_from_slice(&d.octets());
            0x11
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            body.extend_from_slice(&s.octets());
            body.extend_from_slice(&d.octets());
            0x21
        }
        _ => panic!("mixed families {src} {dst}"),
    };
    body.extend_from_slice(&src.port().to_be_bytes());
    body.extend_from_slice(&dst.port().to_be_bytes());
    body.extend_from_slice(tlv);
    v2_raw(1, fam, &body)
}

/// The v2 LOCAL header HAProxy sends on its health checks.
pub fn v2_local() -> Vec<u8> {
    v2_raw(0, 0x00, &[])
}

/// `ip:port` as a `SocketAddr`.
pub fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// 127.0.0.`n`: every address of 127.0.0.0/8 is local on Linux.
pub fn lo(n: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, n))
}

/// A port of `ip` that was free a moment ago (bound, then released).
pub fn free_port(ip: IpAddr) -> u16 {
    TcpListener::bind(SocketAddr::new(ip, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `n` consecutive ports of 127.0.0.1 that were all free a moment ago, none in `avoid`. They
/// are taken below the kernel's ephemeral range when it leaves room (outgoing connections of
/// concurrent tests take ports there), at a pseudo-random place.
pub fn free_range(n: u16, avoid: &[RangeInclusive<u16>]) -> RangeInclusive<u16> {
    let ephemeral = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32768);
    let (low, high) = if ephemeral > 20_000 {
        (10_000, ephemeral - n)
    } else {
        (10_000, 65_000)
    };
    let mut seed = u64::from(std::process::id())
        ^ u64::from(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .subsec_nanos(),
        );
    for _ in 0..200 {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let base = low + u16::try_from((seed >> 33) % u64::from(high - low)).unwrap();
        let range = base..=base + n - 1;
        if avoid
            .iter()
            .any(|a| a.start() <= range.end() && range.start() <= a.end())
        {
            continue;
        }
        // Hold every port at once, so the check is about the whole range.
        let held: Result<Vec<_>, _> = range
            .clone()
            .map(|p| TcpListener::bind(SocketAddr::new(lo(1), p)))
            .collect();
        if held.is_ok() {
            return range;
        }
    }
    panic!("no {n} consecutive free ports found");
}

/// `FROM-TO` for `-r`.
pub fn range_arg(r: &RangeInclusive<u16>) -> String {
    format!("{}-{}", r.start(), r.end())
}
