//! Typed arguments: the second half of parsing a command, keyed by its table row.
//!
//! The parser (`parser.rs`) finds the row and checks that an argument is there when the row
//! says so (`501`). The gate then checks the login (`530`) and the TLS policies. Only then are
//! the argument's own rules applied, here, because RFC 959's order (pyftpdlib's too) answers a
//! logged-out client `530` before it judges the syntax of what it sent. Each row names its
//! [`Syntax`]; [`parse`] turns the text into an [`Args`] value, and the commands work on
//! numbers, addresses, times and modes, never on strings they must take apart.
//!
//! Some commands check their state before their argument: REST refuses ASCII mode, PORT and
//! EPRT refuse after `EPSV ALL` and during a transfer, and EPSV too. For them the parsed value
//! is a `Result`, and the command reports a bad argument after those checks, as it always did.

use std::net::{IpAddr, SocketAddr};
use std::time::SystemTime;

use super::addr::{self, EprtError, EpsvArg};
use super::session::TransferType;
use super::table::Syntax;
use crate::fs::listing::parse_mdtm;
use crate::reply::{Reply, ReplyCode};

/// First and last octet of a range, inclusive.
type Octets = (u64, u64);

/// A command's argument, parsed by the rule of its row.
#[derive(Debug)]
pub(super) enum Args<'a> {
    /// The argument as sent (a path, a name, a password, options; empty when none).
    Text(&'a str),
    /// TYPE: the representation type.
    Type(TransferType),
    /// MODE S, STRU F: the one transfer mode and file structure served.
    Stream,
    /// REST: the offset.
    Offset(Result<u64, Reply>),
    /// RANG: first and last octet, inclusive; `None` for `RANG 1 0` (reset).
    Range(Option<(u64, u64)>),
    /// PORT, EPRT: the client's data address.
    Address(Result<SocketAddr, Reply>),
    /// EPSV: `true` for `EPSV ALL`.
    Epsv(Result<bool, Reply>),
    /// MFMT: the new modification time, and the path.
    Mtime(SystemTime, &'a str),
    /// SITE CHMOD: the octal mode, and the path.
    Chmod(u32, &'a str),
    /// XCRC, XMD5, XSHA*: the path and the octet range, inclusive.
    Digest(&'a str, Option<(u64, u64)>),
}

impl<'a> Args<'a> {
    /// The argument as sent, for a command whose row parses nothing (`""` otherwise).
    pub fn text(&self) -> &'a str {
        match self {
            Args::Text(text) => text,
            _ => "",
        }
    }
}

/// Parses `arg` by `syntax`. `local` is the control connection's local address (EPRT and
/// EPSV must name its protocol). `Err` is the reply (`501`, or `504` for a parameter that is
/// known but not served).
pub(super) fn parse(syntax: Syntax, arg: &str, local: Option<IpAddr>) -> Result<Args<'_>, Reply> {
    let v4 = local.is_none_or(|ip| ip.is_ipv4());
    Ok(match syntax {
        Syntax::Text => Args::Text(arg),
        Syntax::Type => Args::Type(transfer_type(arg)?),
        Syntax::Mode => one_of(arg, "S", &["B", "C"], "MODE")?,
        Syntax::Stru => one_of(arg, "F", &["P", "R"], "STRU")?,
        Syntax::Offset => Args::Offset(
            arg.trim()
                .parse::<u64>()
                .map_err(|_| Reply::new(ReplyCode::SyntaxErrorArgs, "Invalid parameter.")),
        ),
        Syntax::Range => Args::Range(range(arg)?),
        Syntax::Port => Args::Address(
            addr::parse_port(arg)
                .ok_or_else(|| Reply::new(ReplyCode::SyntaxErrorArgs, "Invalid PORT format.")),
        ),
        Syntax::Eprt => Args::Address(eprt(arg, if v4 { 1 } else { 2 })),
        Syntax::Epsv => Args::Epsv(epsv(arg, if v4 { 1 } else { 2 })),
        Syntax::Mtime => {
            let (time, path) = two(arg)?;
            let time = parse_mdtm(time).ok_or_else(|| {
                Reply::new(
                    ReplyCode::SyntaxErrorArgs,
                    "Invalid time format; expected: YYYYMMDDHHMMSS.",
                )
            })?;
            Args::Mtime(time, path)
        }
        Syntax::Chmod => {
            let (mode, path) = two(arg)?;
            let mode = octal_mode(mode).ok_or_else(|| {
                Reply::new(ReplyCode::SyntaxErrorArgs, "Invalid SITE CHMOD format.")
            })?;
            Args::Chmod(mode, path)
        }
        Syntax::Digest => {
            let (path, range) = digest(arg)?;
            Args::Digest(path, range)
        }
    })
}

/// TYPE (RFC 959 §3.1.1): A (optionally `A N`), I, and `L 8` as a synonym of I (RFC 1123).
fn transfer_type(arg: &str) -> Result<TransferType, Reply> {
    let t: String = arg
        .to_ascii_uppercase()
        .chars()
        .filter(|c| *c != ' ')
        .collect();
    match t.as_str() {
        "A" | "AN" | "L7" => Ok(TransferType::Ascii),
        "I" | "L8" => Ok(TransferType::Binary),
        _ => Err(Reply::new(
            ReplyCode::NotImplementedParam,
            format!("Unsupported type \"{arg}\"."),
        )),
    }
}

/// MODE and STRU: `served`, one of the `known` ones RFC 959 defines (`504`), or garbage.
fn one_of(arg: &str, served: &str, known: &[&str], name: &str) -> Result<Args<'static>, Reply> {
    let letter = arg.trim().to_ascii_uppercase();
    if letter == served {
        Ok(Args::Stream)
    } else if known.contains(&letter.as_str()) {
        Err(Reply::new(
            ReplyCode::NotImplementedParam,
            format!("Unimplemented {name} type."),
        ))
    } else {
        Err(Reply::new(
            ReplyCode::SyntaxErrorArgs,
            format!("Unrecognized {name} type."),
        ))
    }
}

/// RANG's `first last`: `1 0` resets; otherwise `first <= last`.
fn range(arg: &str) -> Result<Option<(u64, u64)>, Reply> {
    let mut parts = arg.split_whitespace().map(str::parse::<u64>);
    match (parts.next(), parts.next(), parts.next()) {
        (Some(Ok(1)), Some(Ok(0)), None) => Ok(None),
        (Some(Ok(first)), Some(Ok(last)), None) if first <= last => Ok(Some((first, last))),
        _ => Err(Reply::new(
            ReplyCode::SyntaxErrorArgs,
            "Invalid byte range.",
        )),
    }
}

/// EPRT's `|proto|address|port|` for a control connection of protocol `n`; `501` for bad
/// syntax, `522` for another protocol.
fn eprt(arg: &str, n: u32) -> Result<SocketAddr, Reply> {
    addr::parse_eprt(arg, n).map_err(|e| match e {
        EprtError::Syntax => Reply::new(ReplyCode::SyntaxErrorArgs, "Invalid EPRT format."),
        EprtError::Protocol => Reply::new(
            ReplyCode::ProtocolNotSupported,
            format!("Network protocol not supported (use {n})."),
        ),
    })
}

/// EPSV's argument (RFC 2428 §3): none, the control connection's protocol `n`, or `ALL`.
fn epsv(arg: &str, n: u32) -> Result<bool, Reply> {
    match addr::parse_epsv(arg) {
        None => Err(Reply::new(
            ReplyCode::SyntaxErrorArgs,
            format!("Unknown network protocol (use {n})."),
        )),
        Some(EpsvArg::All) => Ok(true),
        Some(EpsvArg::Proto(p)) if p != n => Err(Reply::new(
            ReplyCode::ProtocolNotSupported,
            format!("Network protocol not supported (use {n})."),
        )),
        Some(_) => Ok(false),
    }
}

/// `first rest`: two arguments, the second not empty (a path may hold spaces).
fn two(arg: &str) -> Result<(&str, &str), Reply> {
    arg.split_once(' ')
        .filter(|(_, rest)| !rest.is_empty())
        .ok_or_else(|| {
            Reply::new(
                ReplyCode::SyntaxErrorArgs,
                "Syntax error: command needs two arguments.",
            )
        })
}

/// Parses `755`, `0644`, `4755`: one to four octal digits.
fn octal_mode(s: &str) -> Option<u32> {
    if s.is_empty() || s.len() > 4 || !s.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
        return None;
    }
    u32::from_str_radix(s, 8).ok()
}

/// `path [start [end]]` of the legacy digest commands, as ProFTPD reads them: numbers at the
/// end are the range, `end` exclusive. The range, inclusive, is `(start, u64::MAX)` without
/// an end.
fn digest(arg: &str) -> Result<(&str, Option<Octets>), Reply> {
    let words: Vec<&str> = arg.rsplitn(3, ' ').collect();
    let number = |i: usize| words.get(i).and_then(|w| w.parse::<u64>().ok());
    match (number(0), number(1), words.len()) {
        (Some(end), Some(start), 3) if end > start => Ok((words[2], Some((start, end - 1)))),
        (Some(_), Some(_), 3) => Err(Reply::new(
            ReplyCode::SyntaxErrorArgs,
            "Invalid byte range.",
        )),
        (Some(start), _, 2..) => Ok((
            &arg[..arg.len() - words[0].len() - 1],
            Some((start, u64::MAX)),
        )),
        _ => Ok((arg, None)),
    }
}

#[cfg(test)]
mod tests;
