//! Invariants of what arrives on the control connection: the line reader (against a simple
//! reference model), Telnet stripping, the command parser, and PORT/EPRT/EPSV arguments.

use std::net::{IpAddr, SocketAddr};

use ftpdlib::fuzzing::addr::{self, EprtError, EpsvArg};
use ftpdlib::fuzzing::line::{strip_telnet, Line, LineReader, MAX_LINE};
use ftpdlib::fuzzing::parser::{parse, Command};
use ftpdlib::fuzzing::table::{self, Arg};
use ftpdlib::reply::Reply;
use ftpdlib::Encoding;

use super::{hash, Rng};

/// The line reader's contract written the obvious way: split at LF, drop one trailing CR,
/// report an over-long line once (as soon as it exceeds `MAX_LINE + 1` bytes, or at its LF),
/// strip Telnet sequences. Independent of how the input is chunked.
#[derive(Debug, Default)]
pub struct ModelReader {
    partial: Vec<u8>,
    discarding: bool,
    /// Lines produced so far.
    pub out: Vec<Line>,
}

impl ModelReader {
    /// Consumes bytes, appending the lines they complete to `out`.
    pub fn feed(&mut self, data: &[u8]) {
        for &b in data {
            if b == b'\n' {
                if !self.discarding {
                    let mut line = std::mem::take(&mut self.partial);
                    if line.last() == Some(&b'\r') {
                        line.pop();
                    }
                    self.out.push(if line.len() > MAX_LINE {
                        Line::TooLong
                    } else {
                        Line::Complete(strip_telnet(&line))
                    });
                }
                self.partial.clear();
                self.discarding = false;
            } else if !self.discarding {
                self.partial.push(b);
                if self.partial.len() > MAX_LINE + 1 {
                    self.out.push(Line::TooLong);
                    self.partial.clear();
                    self.discarding = true;
                }
            }
        }
    }

    /// `LineReader::clear`: forget the partial line, start afresh.
    pub fn clear(&mut self) {
        self.partial.clear();
        self.discarding = false;
    }

    /// Inside an over-long line.
    pub fn discarding(&self) -> bool {
        self.discarding
    }
}

/// Drains `r`, checking each line and the buffer bound.
pub fn drain(r: &mut LineReader, out: &mut Vec<Line>) {
    // Each call consumes at least one byte or returns None, so this is bounded by the input.
    while let Some(line) = r.next_line() {
        if let Line::Complete(bytes) = &line {
            assert!(bytes.len() <= MAX_LINE, "line of {} bytes", bytes.len());
            assert!(!bytes.contains(&b'\n'), "LF inside a line: {bytes:?}");
        }
        out.push(line);
    }
    assert!(
        r.pending() <= 2 * MAX_LINE,
        "{} bytes still buffered",
        r.pending()
    );
}

/// Feeds `data` whole, in chunks (with `clear` at some chunk boundaries when `clears`), and
/// byte by byte; every way must produce the model's lines. Returns the lines.
pub fn check_line_reader(data: &[u8], chunk_seed: u64, clears: bool) -> Vec<Line> {
    let mut model = ModelReader::default();
    model.feed(data);
    let mut r = LineReader::default();
    let mut whole = Vec::new();
    r.feed(data);
    drain(&mut r, &mut whole);
    assert_eq!(whole, model.out, "fed whole");

    let mut rng = Rng::new(chunk_seed);
    let (mut r, mut model, mut got) = (LineReader::default(), ModelReader::default(), Vec::new());
    let mut at = 0;
    while at < data.len() {
        let len = match rng.below(4) {
            0 => 1,
            1 => rng.range(1, 16),
            2 => rng.range(1, 600),
            _ => rng.range(MAX_LINE - 8, MAX_LINE + 8),
        };
        let chunk = &data[at..data.len().min(at + len)];
        at += chunk.len();
        r.feed(chunk);
        model.feed(chunk);
        drain(&mut r, &mut got);
        // The real reader keeps its discard state across `clear` (see the ignored bug test).
        if clears && rng.one_in(8) && !model.discarding() {
            r.clear();
            model.clear();
            assert_eq!(r.pending(), 0);
        }
    }
    assert_eq!(got, model.out, "fed in chunks (seed {chunk_seed:#x})");

    if data.len() <= 16 * 1024 && !clears {
        let (mut r, mut bytewise) = (LineReader::default(), Vec::new());
        for b in data {
            r.feed(std::slice::from_ref(b));
            drain(&mut r, &mut bytewise);
        }
        assert_eq!(bytewise, whole, "fed byte by byte");
    }
    whole
}

/// Telnet stripping: without IAC, only the stray Telnet command bytes (240–254) before the
/// verb go; never longer; and undoes IAC doubling even after a leading Telnet command (for
/// data that does not itself start with a stray command byte).
pub fn check_strip_telnet(data: &[u8], command: &[u8]) {
    let out = strip_telnet(data);
    assert!(out.len() <= data.len());
    let stray = |b: &u8| (240..=254).contains(b);
    if !data.contains(&0xff) {
        let start = data.iter().position(|b| !stray(b)).unwrap_or(data.len());
        assert_eq!(out, &data[start..]);
    }
    if data.first().is_some_and(stray) {
        return;
    }
    let mut escaped = Vec::with_capacity(data.len() * 2 + command.len());
    escaped.extend_from_slice(command);
    for &b in data {
        escaped.push(b);
        if b == 0xff {
            escaped.push(0xff);
        }
    }
    assert_eq!(strip_telnet(&escaped), data, "after command {command:?}");
}

/// The table name a line must resolve to, and the argument it must carry.
fn expected(line: &str) -> (String, &str) {
    let (verb, rest) = line.split_once(' ').unwrap_or((line, ""));
    let verb = verb.to_ascii_uppercase();
    if verb == "SITE" && !rest.trim().is_empty() {
        let t = rest.trim_start();
        let (sub, arg) = t.split_once(' ').unwrap_or((t, ""));
        return (format!("SITE {}", sub.to_ascii_uppercase()), arg);
    }
    (verb, rest)
}

/// The parser: the verb is case-insensitive and looked up in the table, the argument is kept
/// verbatim and obeys the table's rule, and an error reply is one 500/501 line.
pub fn check_parse(line: &str) {
    let (name, raw_arg) = expected(line);
    let outcome = parse(line);
    match &outcome {
        Ok(cmd) => {
            let spec = table::lookup(&name).expect("a parsed verb is in the table");
            assert_eq!(cmd.spec.name, spec.name, "{line:?}");
            let want = if raw_arg.trim().is_empty() {
                ""
            } else {
                raw_arg
            };
            assert_eq!(cmd.arg, want, "argument of {line:?}");
            match cmd.spec.arg {
                Arg::None => assert!(cmd.arg.is_empty()),
                Arg::Required => assert!(!cmd.arg.trim().is_empty()),
                Arg::Optional => {}
            }
        }
        Err(reply) => {
            let code = reply.code().as_u16();
            assert!(code == 500 || code == 501, "code {code} for {line:?}");
            assert_eq!(code == 500, table::lookup(&name).is_none(), "{line:?}");
            let wire = reply.to_string();
            let body = wire.strip_suffix("\r\n").expect("reply ends in CRLF");
            assert!(
                !body.contains(['\r', '\n']),
                "reply split by {line:?}: {wire:?}"
            );
        }
    }
    let (verb, rest) = line
        .split_once(' ')
        .map_or((line, None), |(v, r)| (v, Some(r)));
    let lower = match rest {
        Some(r) => format!("{} {r}", verb.to_ascii_lowercase()),
        None => verb.to_ascii_lowercase(),
    };
    let again = parse(&lower);
    let key = |o: &Result<Command, Reply>| match o {
        Ok(c) => Ok::<_, u16>((c.spec.name, c.arg.clone())),
        Err(r) => Err(r.code().as_u16()),
    };
    assert_eq!(
        key(&outcome),
        key(&again),
        "case of the verb changed the result of {line:?}"
    );
}

/// The `command_line` target: a control-connection byte stream, chunked as its hash says;
/// every complete line is decoded both ways and parsed.
pub fn run_command_line(data: &[u8]) {
    let lines = check_line_reader(data, hash(data), false);
    for line in &lines {
        if let Line::Complete(bytes) = line {
            check_parse(&Encoding::Utf8.decode(bytes));
            check_parse(&Encoding::Latin1.decode(bytes));
        }
    }
    check_strip_telnet(data, &[0xff, 0xf4, 0xff, 0xf2]);
}

/// PORT: a parsed address is IPv4 and its PASV tuple parses back to it.
pub fn check_port(arg: &str) -> Option<SocketAddr> {
    let got = addr::parse_port(arg);
    if let Some(sa) = got {
        let IpAddr::V4(ip) = sa.ip() else {
            panic!("PORT gave {sa} for {arg:?}")
        };
        let tuple = addr::pasv_tuple(ip, sa.port());
        assert_eq!(addr::parse_port(&tuple), Some(sa), "{arg:?} -> {tuple}");
        assert_eq!(arg.matches(',').count(), 5, "{arg:?}");
    }
    got
}

/// EPRT, parsed for an IPv4 and for an IPv6 control connection: at most one accepts it, with
/// an address of its own family that re-formats with the same delimiter and parses back;
/// errors are Protocol only for numeric protocols. The result of the accepting one, else the
/// IPv4 one's error.
pub fn check_eprt(arg: &str) -> Result<SocketAddr, EprtError> {
    let (v4, v6) = (addr::parse_eprt(arg, 1), addr::parse_eprt(arg, 2));
    assert!(
        v4.is_err() || v6.is_err(),
        "{arg:?} accepted for both protocols"
    );
    let (got, proto) = if v6.is_ok() { (v6, 2) } else { (v4, 1) };
    match got {
        Ok(sa) => {
            assert_eq!(sa.is_ipv4(), proto == 1, "{arg:?}");
            let d = arg.chars().next().expect("non-empty");
            let again = format!("{d}{proto}{d}{}{d}{}{d}", sa.ip(), sa.port());
            assert_eq!(
                addr::parse_eprt(&again, proto),
                Ok(sa),
                "{arg:?} -> {again:?}"
            );
            assert_eq!(arg.matches(d).count(), 4, "{arg:?}");
        }
        Err(EprtError::Protocol) => {
            let d = arg.chars().next().expect("non-empty");
            let field = arg[d.len_utf8()..].split(d).next().unwrap_or("");
            assert!(field.parse::<u32>().is_ok(), "Protocol error for {arg:?}");
        }
        Err(EprtError::Syntax) => {}
    }
    got
}

/// EPSV: `ALL`, nothing, or a number, white space ignored.
pub fn check_epsv(arg: &str) {
    let t = arg.trim();
    let want = if t.is_empty() {
        Some(EpsvArg::Default)
    } else if t.eq_ignore_ascii_case("all") {
        Some(EpsvArg::All)
    } else {
        t.parse().ok().map(EpsvArg::Proto)
    };
    assert_eq!(addr::parse_epsv(arg), want, "{arg:?}");
}

/// The `address` target: the bytes as one argument of PORT, EPRT and EPSV.
pub fn run_address(data: &[u8]) {
    let arg = String::from_utf8_lossy(data);
    check_port(&arg);
    let _ = check_eprt(&arg);
    check_epsv(&arg);
}
