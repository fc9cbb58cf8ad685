//! Input generators for the PRNG-driven property tests, biased toward what FTP servers see:
//! verbs, separators (`space , | / .`), CR, LF, Telnet IAC, NUL, multi-byte and invalid
//! UTF-8, and lines right at the length cap.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use ftpdlib::fuzzing::line::MAX_LINE;

use super::{Rng, JAIL_NAMES, JAIL_PATHS};

const VERBS: &[&str] = &[
    "USER",
    "PASS",
    "CWD",
    "CDUP",
    "XCUP",
    "PWD",
    "XPWD",
    "LIST",
    "NLST",
    "MLSD",
    "MLST",
    "RETR",
    "STOR",
    "APPE",
    "STOU",
    "DELE",
    "RNFR",
    "RNTO",
    "MKD",
    "RMD",
    "SIZE",
    "MDTM",
    "MFMT",
    "PORT",
    "EPRT",
    "PASV",
    "EPSV",
    "TYPE",
    "MODE",
    "STRU",
    "REST",
    "ABOR",
    "QUIT",
    "NOOP",
    "SYST",
    "FEAT",
    "OPTS",
    "HELP",
    "STAT",
    "AUTH",
    "PBSZ",
    "PROT",
    "SITE",
    "SITE CHMOD",
    "SITE HELP",
    "site chmod",
    "ALLO",
    "REIN",
    "noop",
    "Cwd",
    "XMKD",
    "FOO",
];

/// One of several byte strings.
fn one_of(rng: &mut Rng, items: &[&'static [u8]]) -> &'static [u8] {
    rng.pick(items)
}

/// Bytes of one small piece of FTP-ish input.
fn piece(rng: &mut Rng, out: &mut Vec<u8>) {
    match rng.below(20) {
        0..=4 => out.push(rng.pick(b"abcxyzABCXYZ019")),
        5 => out.push(rng.pick(b" ,|/.-_:;=%\\\"'*?")),
        6 => out.extend_from_slice(one_of(rng, &[b"\r", b"\n", b"\r\n", b"\r\n", b"\n\r"])),
        7 => out.extend_from_slice(one_of(
            rng,
            &[
                b"\xff",
                b"\xff\xff",
                b"\xff\xf4",
                b"\xff\xf2",
                b"\xff\xfb\x01",
                b"\xff\xfd",
            ],
        )),
        8 => out.push(0),
        9 => out.extend_from_slice(
            rng.pick(&["é", "€", "日本", "😀", "\u{feff}", "ß"])
                .as_bytes(),
        ),
        10 => out.extend_from_slice(one_of(
            rng,
            &[b"\xc3", b"\x80", b"\xe2\x82", b"\xf0\x9f\x98", b"\xfe"],
        )),
        11 => out.push(rng.next_u64() as u8),
        12..=14 => {
            out.extend_from_slice(rng.pick(VERBS).as_bytes());
            out.push(b' ');
        }
        15 => out.extend_from_slice(
            rng.pick(&["..", "../..", "/", "//", "./", "%2e%2e"])
                .as_bytes(),
        ),
        16 => out.extend_from_slice(
            rng.pick(&["127,0,0,1,4,1", "|1|10.0.0.1|21|", "|2|::1|2121|", "ALL"])
                .as_bytes(),
        ),
        17 => {
            // Right around the length cap, or just long.
            let len = if rng.one_in(2) {
                rng.range(MAX_LINE - 3, MAX_LINE + 3)
            } else {
                rng.range(1, 5000)
            };
            let b = rng.pick(b"A\r\xff ");
            out.extend(std::iter::repeat_n(b, len));
        }
        _ => out.extend_from_slice(b"\r\n"),
    }
}

/// A byte string of up to `max_pieces` pieces.
pub fn ftp_bytes(rng: &mut Rng, max_pieces: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for _ in 0..rng.range(0, max_pieces) {
        piece(rng, &mut out);
    }
    out
}

/// A command-like line: a verb, maybe an argument of FTP-ish pieces (no LF).
pub fn command_line(rng: &mut Rng) -> String {
    let mut bytes = Vec::new();
    if !rng.one_in(8) {
        bytes.extend_from_slice(rng.pick(VERBS).as_bytes());
    }
    if rng.one_in(3) {
        bytes.extend_from_slice(one_of(rng, &[b" ", b"  ", b"\t", b""]));
    }
    bytes.extend(
        ftp_bytes(rng, 6)
            .into_iter()
            .filter(|&b| b != b'\n')
            .take(300),
    );
    String::from_utf8_lossy(&bytes).into_owned()
}

/// One path argument: jail names, dots, slashes, encoded dots, NUL, sometimes very long.
pub fn path_arg(rng: &mut Rng) -> String {
    let mut s = String::new();
    if rng.one_in(3) {
        s.push('/');
    }
    for i in 0..rng.range(0, 6) {
        if i > 0 {
            s.push_str(rng.pick(&["/", "/", "/", "//", "/./"]));
        }
        match rng.below(12) {
            0..=4 => s.push_str(rng.pick(JAIL_NAMES)),
            10 | 11 => s.push_str(rng.pick(JAIL_PATHS)),
            5 | 6 => s.push_str(rng.pick(&["..", ".", "", "..."])),
            7 => s.push_str(rng.pick(&["a\0b", "\0", "a\nb", "a\rb", " x ", "é", "ⅰ/..", "%00"])),
            8 => s.push_str(&String::from_utf8_lossy(&ftp_bytes(rng, 3)).replace(['\r', '\n'], "")),
            _ => s.push_str(&"n".repeat(rng.range(200, 5000))),
        }
    }
    if rng.one_in(6) {
        s.push('/');
    }
    s
}

/// A PORT argument and the address it must parse to, or junk (`None`).
pub fn port_arg(rng: &mut Rng) -> (String, Option<SocketAddr>) {
    let octets: [u8; 6] = std::array::from_fn(|_| rng.next_u64() as u8);
    let ip = Ipv4Addr::new(octets[0], octets[1], octets[2], octets[3]);
    let port = u16::from(octets[4]) << 8 | u16::from(octets[5]);
    let mut s = String::new();
    for (i, o) in octets.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push_str(rng.pick(&["", "", " ", "0", "+"]));
        s.push_str(&o.to_string());
        s.push_str(rng.pick(&["", "", " "]));
    }
    if rng.one_in(2) {
        return (
            format!("{}{s}{}", rng.pick(&["", " ", "  "]), rng.pick(&["", " "])),
            Some(SocketAddr::new(IpAddr::V4(ip), port)),
        );
    }
    // Mutate: cut, insert a piece, or swap a separator.
    let mut b = s.into_bytes();
    let at = rng.below(b.len() + 1);
    match rng.below(3) {
        0 => b.truncate(at),
        1 => {
            let mut extra = Vec::new();
            piece(rng, &mut extra);
            b.splice(at..at, extra);
        }
        _ => b
            .iter_mut()
            .filter(|c| **c == b',')
            .take(rng.below(6))
            .for_each(|c| *c = b'.'),
    }
    (String::from_utf8_lossy(&b).into_owned(), None)
}

/// An EPRT argument with a delimiter of 33..=126 absent from the fields, and its address.
pub fn eprt_arg(rng: &mut Rng) -> (String, SocketAddr) {
    let ip = if rng.one_in(2) {
        IpAddr::V4(Ipv4Addr::from(rng.next_u64() as u32))
    } else {
        let v6 = Ipv6Addr::from(
            u128::from(rng.next_u64()) << 64 | u128::from(rng.next_u64() & rng.next_u64()),
        );
        IpAddr::V6(v6)
    };
    let sa = SocketAddr::new(ip, rng.next_u64() as u16);
    let proto = if ip.is_ipv4() { 1 } else { 2 };
    let fields = format!("{proto}{ip}{}", sa.port());
    let delim = loop {
        let c = char::from(rng.range(33, 126) as u8);
        if !fields.contains(c) {
            break c;
        }
    };
    (
        format!("{delim}{proto}{delim}{ip}{delim}{}{delim}", sa.port()),
        sa,
    )
}

/// Valid password hashes of each accepted kind.
pub const HASHES: &[&str] = &[
    "$6$saltsalt$TVLlQcbpFVof5W3Yz4DTP6gRstiNuHwwTt6GLc1E5n0U0aDehy0S5knV8wiOQSpT0Y77vwPZN.Pq.H91p5hVO1",
    "$5$saltsalt$0IyaXrmV7.sGNS6tirgqHLqX/G.FBvgkYA.lpPdS5sA",
    "$2a$06$If6bvum7DFjUnE9p2uDeDu0YHzrHM6tf.iqN8.yx.jNN1ILEf7h0i",
    "$2b$06$If6bvum7DFjUnE9p2uDeDu0YHzrHM6tf.iqN8.yx.jNN1ILEf7h0i",
];

/// A users file of up to 8 lines: half the files well-formed (accounts, then overrides of
/// existing users and directories), the others with perturbed fields and stray lines.
pub fn users_text(rng: &mut Rng, home: &str) -> String {
    let clean = rng.one_in(2);
    let names = [
        "alice",
        "bob",
        "carol",
        "anonymous",
        "ftp",
        "",
        "a b",
        "é",
        "x\u{7}",
        "Alice",
    ];
    let mut defined: Vec<&str> = Vec::new();
    let mut text = String::new();
    if rng.one_in(10) {
        text.push('\u{feff}');
    }
    for i in 0..rng.range(0, 8) {
        let line = if clean {
            let fresh = [
                "alice", "bob", "carol", "dave", "erin", "frank", "gus", "hal",
            ][i];
            let dirs = ["/sub", "/incoming", "/pub", "/sub/deeper", "/%2e%2e"];
            if defined.is_empty() || rng.one_in(2) {
                defined.push(fresh);
                let opts = rng.pick(&[
                    "",
                    ":max_sessions=3",
                    ":read_limit=64k,write_limit=2M",
                    ":msg_login=Hi,msg_quit=Bye",
                ]);
                format!(
                    "{fresh}:{}:{}:{home}{opts}",
                    rng.pick(HASHES),
                    rng.pick(&["elradfmwMT", "elr", ""])
                )
            } else {
                format!(
                    "@override {}:{}:elrw{}",
                    defined[i % defined.len()],
                    dirs[i % dirs.len()],
                    rng.pick(&["", ":recursive"])
                )
            }
        } else {
            let name = rng.pick(&names);
            match rng.below(10) {
                0 => rng
                    .pick(&["", "   ", "# comment", "  # x:y:z", "\t"])
                    .to_string(),
                1 | 2 => {
                    let dir = rng.pick(&[
                        "/sub",
                        "/incoming",
                        "/pub",
                        "/",
                        "/sub/",
                        "/../x",
                        "/nothere",
                        "/up",
                        "/out_rel",
                        "/in_link",
                        "sub",
                        "/file.txt",
                        "//pub",
                    ]);
                    let perms = rng.pick(&["elr", "elrw", "", "xyz", "elradfmwMT"]);
                    let tail = rng.pick(&["", ":recursive", ":Recursive", ":x", "::"]);
                    let directive = rng.pick(&[
                        "@override ",
                        "@override\t",
                        "@overide ",
                        "@ ",
                        "@override  ",
                    ]);
                    format!("{directive}{name}:{dir}:{perms}{tail}")
                }
                3 => String::from_utf8_lossy(&ftp_bytes(rng, 8)).replace(['\r', '\n'], ""),
                _ => {
                    let hash = if rng.one_in(8) {
                        rng.pick(&["secret", "$6$x$short", "$1$abc$def", ""])
                    } else {
                        rng.pick(HASHES)
                    };
                    let perms = rng.pick(&["elradfmwMT", "elr", "", "w", "elrz", "E"]);
                    let h = rng.pick(&[
                        home,
                        home,
                        "/tmp",
                        "/",
                        "relative",
                        "/nonexistent-ftpdlib-fuzz",
                        "",
                    ]);
                    let opts = rng.pick(&[
                        "",
                        ":",
                        ":max_sessions=2",
                        ":max_sessions=0",
                        ":read_limit=64k,write_limit=2M",
                        ":write_limit=1m",
                        ":msg_login=Hi there,msg_quit=Bye",
                        ":msg_login=",
                        ":foo=1",
                        ":max_sessions=1,max_sessions=2",
                        ":read_limit=99999999999999999999k",
                        ":x:y",
                    ]);
                    format!("{name}:{hash}:{perms}:{h}{opts}")
                }
            }
        };
        text.push_str(rng.pick(&["", " ", "\t"]));
        text.push_str(&line);
        text.push_str(rng.pick(&["\n", "\n", "\r\n", "\r", " \n"]));
    }
    text
}

/// Seconds since the epoch: mostly plausible, sometimes at the edges of every range.
pub fn seconds(rng: &mut Rng) -> i64 {
    match rng.below(6) {
        0 => rng.next_u64() as i64,
        1 => rng.range(0, 253_402_300_799) as i64,
        2 => 1_700_000_000 + rng.range(0, 400 * 86_400) as i64 - 200 * 86_400,
        3 => -(rng.range(0, 100_000_000_000) as i64),
        4 => rng.pick(&[
            0,
            -1,
            1,
            253_402_300_799,
            253_402_300_800,
            i64::MAX,
            i64::MIN,
            2_147_483_647,
        ]),
        _ => (rng.next_u64() >> rng.range(1, 63)) as i64,
    }
}
