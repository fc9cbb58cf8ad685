//! Invariants of the PROXY protocol parser (`ftpdlib::fuzzing::proxy::parse`, versions 1 and 2): on
//! any bytes it never panics, a header never claims more bytes than it was given (v1: at most
//! 107, ending in CRLF; v2: 16 plus its length field, at most 552), and the answers for the
//! successive prefixes of a stream are "need more" until the answer is final, after which
//! more bytes change nothing. Headers built from known addresses parse back to them, with
//! every proper prefix answered "need more".

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use ftpdlib::fuzzing::proxy::{parse, ProxyError, ProxyHeader};

use super::{hash, Input, Rng};

/// The v2 signature.
pub const V2_SIG: &[u8; 12] = b"\r\n\r\n\0\r\nQUIT\n";
/// Longest v1 header (RFC: 107 bytes with CRLF).
pub const V1_MAX: usize = 107;
/// Longest v2 header the parser accepts.
pub const V2_MAX: usize = 16 + 536;

type Parsed = Result<Option<ProxyHeader>, ProxyError>;

/// The checks on any bytes; returns the parse result.
pub fn check_any(data: &[u8]) -> Parsed {
    let got = parse(data);
    match &got {
        Ok(Some(h)) => check_header(data, h),
        Ok(None) => {
            // "Need more" only while a header could still be complete.
            assert!(data.len() < V2_MAX, "need more after {} bytes", data.len());
            if data.first() == Some(&b'P') {
                assert!(
                    data.len() < V1_MAX,
                    "v1: need more after {} bytes",
                    data.len()
                );
                assert!(!data.windows(2).any(|w| w == b"\r\n"), "v1 line complete");
            }
        }
        Err(_) => assert!(!data.is_empty(), "an empty buffer is refused"),
    }
    check_prefixes(data, &got);
    got
}

/// A header that parsed: its length, its form, and its address against the raw bytes.
fn check_header(data: &[u8], h: &ProxyHeader) {
    assert!(
        h.len > 0 && h.len <= data.len(),
        "len {} of {}",
        h.len,
        data.len()
    );
    let head = &data[..h.len];
    if data[0] == b'P' {
        assert!(h.len <= V1_MAX, "v1 header of {} bytes", h.len);
        assert!(
            head.ends_with(b"\r\n") && head.starts_with(b"PROXY "),
            "{head:?}"
        );
        // The line ends at its first CRLF.
        assert!(
            !head[..h.len - 2].windows(2).any(|w| w == b"\r\n"),
            "{head:?}"
        );
        let line = std::str::from_utf8(head).expect("an accepted v1 line is text");
        let fields: Vec<&str> = line.trim_end_matches("\r\n").split(' ').collect();
        match h.source {
            None => assert_eq!(fields[1], "UNKNOWN", "{line:?}"),
            Some(src) => {
                let want = if src.is_ipv4() { "TCP4" } else { "TCP6" };
                assert_eq!(fields[1], want, "{line:?}");
                assert_eq!(fields[2].parse::<IpAddr>().ok(), Some(src.ip()), "{line:?}");
                assert_eq!(fields[4].parse::<u16>().ok(), Some(src.port()), "{line:?}");
            }
        }
    } else {
        assert!(head.starts_with(V2_SIG), "{head:?}");
        let len = usize::from(u16::from_be_bytes([head[14], head[15]]));
        assert_eq!(h.len, 16 + len, "v2 length field");
        assert!(h.len <= V2_MAX, "v2 header of {} bytes", h.len);
        assert_eq!(head[12] >> 4, 2, "v2 version");
        let body = &head[16..];
        let want = match (head[12] & 0x0f, head[13]) {
            (1, 0x11) => {
                let ip = Ipv4Addr::new(body[0], body[1], body[2], body[3]);
                Some(SocketAddr::new(
                    ip.into(),
                    u16::from_be_bytes([body[8], body[9]]),
                ))
            }
            (1, 0x21) => {
                let ip: [u8; 16] = body[..16].try_into().unwrap();
                let port = u16::from_be_bytes([body[32], body[33]]);
                Some(SocketAddr::new(Ipv6Addr::from(ip).into(), port))
            }
            _ => None,
        };
        assert_eq!(h.source, want, "{head:?}");
    }
}

/// The prefixes of `data` answer "need more", then (from some length on) the same final
/// answer as `data` itself. All prefixes of short inputs, a sample of long ones.
fn check_prefixes(data: &[u8], full: &Parsed) {
    let lens: Vec<usize> = if data.len() <= 128 {
        (0..data.len()).collect()
    } else {
        let h = hash(data);
        (0..24u32)
            .map(|i| (h.rotate_left(i * 7) % data.len() as u64) as usize)
            .chain([data.len() - 1, V1_MAX - 1, V1_MAX, 15, 16].map(|n| n.min(data.len() - 1)))
            .collect()
    };
    // Once final, an answer stays. An error is known within the longest header's length.
    let final_from = match full {
        Ok(None) => data.len() + 1,
        Ok(Some(h)) => h.len,
        Err(_) => (0..=data.len().min(V2_MAX))
            .find(|&n| parse(&data[..n]).is_err())
            .expect("refused only after more than the longest header"),
    };
    for n in lens {
        let got = parse(&data[..n]);
        if n < final_from {
            assert_eq!(got, Ok(None), "prefix of {n} bytes of {:?}", data);
        } else if let Ok(Some(h)) = full {
            assert_eq!(got, Ok(Some(*h)), "prefix of {n} bytes");
        } else {
            assert!(got.is_err(), "prefix of {n} bytes: {got:?} after an error");
        }
    }
}

/// A header built from known values, with what parsing it must give.
#[derive(Debug, Clone)]
pub struct Built {
    /// The header bytes, followed by what the client sends next.
    pub bytes: Vec<u8>,
    /// The header's length.
    pub len: usize,
    /// The address it names.
    pub source: Option<SocketAddr>,
}

fn ipv4(inp: &mut Input<'_>) -> Ipv4Addr {
    Ipv4Addr::from(inp.u32())
}

fn ipv6(inp: &mut Input<'_>) -> Ipv6Addr {
    let (hi, lo) = (inp.u64(), inp.u64());
    // Zero runs now and then, so that `::` compression shows up in v1 text.
    let mask = if hi & 1 == 1 {
        0xffff_0000_ffff_ffff
    } else {
        u64::MAX
    };
    Ipv6Addr::from((u128::from(hi & mask) << 64) | u128::from(lo))
}

fn port(inp: &mut Input<'_>) -> u16 {
    u16::from_le_bytes(inp.bytes())
}

/// Builds a well-formed header (v1 TCP4/TCP6/UNKNOWN, v2 IPv4/IPv6/LOCAL/other family,
/// with TLVs) from the bytes of `inp`; what is left of them follows the header.
pub fn build(inp: &mut Input<'_>) -> Built {
    let kind = inp.u8() % 6;
    let mut bytes = Vec::new();
    let source = match kind {
        0 | 1 => {
            let (src, dst): (IpAddr, IpAddr) = if kind == 0 {
                (ipv4(inp).into(), ipv4(inp).into())
            } else {
                (ipv6(inp).into(), ipv6(inp).into())
            };
            let (sp, dp) = (port(inp), port(inp));
            let proto = if kind == 0 { "TCP4" } else { "TCP6" };
            let line = format!("PROXY {proto} {src} {dst} {sp} {dp}\r\n");
            bytes.extend_from_slice(line.as_bytes());
            Some(SocketAddr::new(src, sp))
        }
        2 => {
            // UNKNOWN may carry anything (printable, no CR) up to the 107-byte limit.
            let extra = usize::from(inp.u8()) % (V1_MAX - 15);
            bytes.extend_from_slice(b"PROXY UNKNOWN");
            for i in 0..extra {
                bytes.push(if i == 0 { b' ' } else { b' ' + inp.u8() % 95 });
            }
            bytes.extend_from_slice(b"\r\n");
            None
        }
        _ => build_v2(kind, inp, &mut bytes),
    };
    let len = bytes.len();
    bytes.extend_from_slice(inp.bytes::<24>().as_slice());
    Built { bytes, len, source }
}

fn build_v2(kind: u8, inp: &mut Input<'_>, bytes: &mut Vec<u8>) -> Option<SocketAddr> {
    let (cmd, fam, mut body, source) = match kind {
        3 => {
            let (src, dst, sp, dp) = (ipv4(inp), ipv4(inp), port(inp), port(inp));
            let mut b = src.octets().to_vec();
            b.extend_from_slice(&dst.octets());
            b.extend_from_slice(&sp.to_be_bytes());
            b.extend_from_slice(&dp.to_be_bytes());
            (1, 0x11, b, Some(SocketAddr::new(src.into(), sp)))
        }
        4 => {
            let (src, dst, sp, dp) = (ipv6(inp), ipv6(inp), port(inp), port(inp));
            let mut b = src.octets().to_vec();
            b.extend_from_slice(&dst.octets());
            b.extend_from_slice(&sp.to_be_bytes());
            b.extend_from_slice(&dp.to_be_bytes());
            (1, 0x21, b, Some(SocketAddr::new(src.into(), sp)))
        }
        // LOCAL with any family, or PROXY over UNSPEC/UDP/UNIX: no client address.
        _ => {
            let (local, fam) = (inp.u8() & 1 == 0, inp.u8());
            let fam = if local {
                fam
            } else {
                [0x00, 0x12, 0x22, 0x31, 0x32][usize::from(fam) % 5]
            };
            (u8::from(!local), fam, Vec::new(), None)
        }
    };
    let tlvs = usize::from(inp.u8()) * 3 % (V2_MAX - 16 - body.len() + 1);
    for _ in 0..tlvs {
        body.push(inp.u8());
    }
    bytes.extend_from_slice(V2_SIG);
    bytes.push(0x20 | cmd);
    bytes.push(fam);
    bytes.extend_from_slice(&u16::try_from(body.len()).unwrap().to_be_bytes());
    bytes.extend_from_slice(&body);
    source
}

/// A built header parses back to its address and length, whatever follows it, and every
/// proper prefix of it is "need more".
pub fn check_built(b: &Built) {
    let want = ProxyHeader {
        source: b.source,
        len: b.len,
    };
    assert!(b.len <= if b.bytes[0] == b'P' { V1_MAX } else { V2_MAX });
    assert_eq!(check_any(&b.bytes), Ok(Some(want)), "{b:?}");
    assert_eq!(parse(&b.bytes[..b.len]), Ok(Some(want)), "{b:?}");
    for n in 0..b.len {
        assert_eq!(parse(&b.bytes[..n]), Ok(None), "prefix {n} of {b:?}");
    }
}

/// The fuzz target: `data` as a raw stream, then as the recipe of a well-formed header, and
/// that header with one byte changed (`data`'s hash says which and how).
pub fn run_proxy(data: &[u8]) {
    let _ = check_any(data);
    let built = build(&mut Input::new(data));
    check_built(&built);
    let mut mutated = built.bytes;
    let h = hash(data);
    let i = (h % mutated.len() as u64) as usize;
    mutated[i] ^= (h >> 32) as u8 | 1;
    let _ = check_any(&mutated);
}

/// `data` damaged the ways a stream can be: cut short, bytes flipped, bytes inserted or
/// dropped, or left alone.
pub fn mangle(rng: &mut Rng, mut data: Vec<u8>) -> Vec<u8> {
    for _ in 0..rng.below(3) {
        let at = rng.below(data.len() + 1);
        match rng.below(4) {
            0 => data.truncate(at),
            1 if at < data.len() => data[at] ^= 1 << rng.below(8),
            2 => data.insert(at, rng.pick(&[b' ', b'\r', b'\n', b'0', b'P', 0xff])),
            _ if at < data.len() => {
                data.remove(at);
            }
            _ => {}
        }
    }
    data
}
