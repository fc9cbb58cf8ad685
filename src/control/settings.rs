//! The command core's first part: commands that only read and change the session's settings.
//!
//! TYPE, MODE, STRU, REST, RANG, PWD, OPTS, FEAT, HELP, SITE HELP, SITE QUOTA, NOOP, SYST,
//! ALLO, ACCT, SMNT and a bare SITE touch no socket, no file and no other handler: what they do is
//! a function of the session's settings and the configuration, and what they return is a
//! reply. So they are written as such functions, over a narrow [`Settings`] context, and the
//! connection's engine sends what they return. This is the shape the whole command core is
//! moving to (ARCHITECTURE.md §10): a command cannot reach what its context does not hold, and
//! each is tested below as (settings before, command) → (reply, settings after), without a
//! socket.
//!
//! HELP, SITE HELP and FEAT are derived from the command table, so a command can never be
//! advertised without existing, or exist without being advertised.

use super::session::{Session, TransferType};
use super::table::{self, Verb};
use crate::checksum::Algo;
use crate::config::{Config, Encoding};
use crate::fs::listing::Facts;
use crate::reply::{Reply, ReplyCode};

/// What a settings command may see: the session (to read and change) and the configuration.
pub(super) struct Settings<'a> {
    /// The session's state.
    pub session: &'a mut Session,
    /// The server's configuration for this session.
    pub cfg: &'a Config,
}

/// The reply of a settings command, or `None` if `verb` is not one (the dispatcher goes on).
pub(super) fn run(verb: Verb, arg: &str, cx: Settings<'_>) -> Option<Reply> {
    let Settings { session, cfg } = cx;
    Some(match verb {
        Verb::Type => type_(session, arg),
        Verb::Mode => mode(arg),
        Verb::Stru => stru(arg),
        Verb::Rest => rest(session, arg),
        Verb::Rang => rang(session, arg),
        Verb::Pwd => Reply::new(
            ReplyCode::PathCreated,
            format!(
                "{} is the current directory.",
                crate::reply::quote_path(session.cwd.as_str())
            ),
        ),
        Verb::Opts => opts(session, cfg, arg),
        Verb::Feat => feat(session, cfg),
        Verb::Help => help(arg),
        Verb::SiteHelp => site_help(arg, &cfg.site_commands),
        Verb::SiteQuota => crate::quota::site_quota(session.quota.as_deref()),
        Verb::Noop => Reply::new(ReplyCode::Ok, "I successfully did nothing'."),
        Verb::Syst => Reply::new(ReplyCode::SystemType, "UNIX Type: L8"),
        Verb::Allo => Reply::new(ReplyCode::Superfluous, "No storage allocation necessary."),
        Verb::Acct => Reply::new(
            ReplyCode::Superfluous,
            "Command not implemented, superfluous at this site.",
        ),
        Verb::Smnt => Reply::new(ReplyCode::NotImplemented, "SMNT not implemented."),
        Verb::Site => Reply::new(
            ReplyCode::SyntaxErrorArgs,
            "Syntax error: command needs an argument.",
        ),
        _ => return None,
    })
}

/// TYPE (RFC 959 §3.1.1): A (optionally `A N`), I, and `L 8` as a synonym of I (RFC 1123).
fn type_(session: &mut Session, arg: &str) -> Reply {
    let t: String = arg
        .to_ascii_uppercase()
        .chars()
        .filter(|c| *c != ' ')
        .collect();
    match t.as_str() {
        "A" | "AN" | "L7" => {
            session.ttype = TransferType::Ascii;
            Reply::new(ReplyCode::Ok, "Type set to: ASCII.")
        }
        "I" | "L8" => {
            session.ttype = TransferType::Binary;
            Reply::new(ReplyCode::Ok, "Type set to: Binary.")
        }
        _ => Reply::new(
            ReplyCode::NotImplementedParam,
            format!("Unsupported type \"{arg}\"."),
        ),
    }
}

/// STRU (RFC 959 §4.1.2): only File structure.
fn stru(arg: &str) -> Reply {
    match arg.trim().to_ascii_uppercase().as_str() {
        "F" => Reply::new(ReplyCode::Ok, "File transfer structure set to: F."),
        "P" | "R" => Reply::new(ReplyCode::NotImplementedParam, "Unimplemented STRU type."),
        _ => Reply::new(ReplyCode::SyntaxErrorArgs, "Unrecognized STRU type."),
    }
}

/// MODE (RFC 959 §4.1.2): only Stream mode.
fn mode(arg: &str) -> Reply {
    match arg.trim().to_ascii_uppercase().as_str() {
        "S" => Reply::new(ReplyCode::Ok, "Transfer mode set to: S"),
        "B" | "C" => Reply::new(ReplyCode::NotImplementedParam, "Unimplemented MODE type."),
        _ => Reply::new(ReplyCode::SyntaxErrorArgs, "Unrecognized MODE type."),
    }
}

/// REST (RFC 3659 §5): the offset of the next RETR/STOR, binary mode only.
fn rest(session: &mut Session, arg: &str) -> Reply {
    if session.ttype == TransferType::Ascii {
        return Reply::new(
            ReplyCode::SyntaxErrorArgs,
            "Resuming transfers not allowed in ASCII mode.",
        );
    }
    match arg.trim().parse::<u64>() {
        Ok(n) => {
            session.rest = n;
            Reply::new(
                ReplyCode::PendingFurtherInfo,
                format!("Restarting at position {n}."),
            )
        }
        Err(_) => Reply::new(ReplyCode::SyntaxErrorArgs, "Invalid parameter."),
    }
}

/// RANG (draft-bryan-ftp-range): the octets, first and last inclusive, that the next HASH
/// covers; `RANG 1 0` resets to the whole file. (Transfers do not use it.)
fn rang(session: &mut Session, arg: &str) -> Reply {
    let mut parts = arg.split_whitespace().map(str::parse::<u64>);
    match (parts.next(), parts.next(), parts.next()) {
        (Some(Ok(1)), Some(Ok(0)), None) => {
            session.rang = None;
            Reply::new(ReplyCode::PendingFurtherInfo, "Resetting the byte range.")
        }
        (Some(Ok(first)), Some(Ok(last)), None) if first <= last => {
            session.rang = Some((first, last));
            Reply::new(
                ReplyCode::PendingFurtherInfo,
                format!("Restarting at {first}. Ending byte range at {last}."),
            )
        }
        _ => Reply::new(ReplyCode::SyntaxErrorArgs, "Invalid byte range."),
    }
}

/// OPTS (RFC 2389): `OPTS UTF8 ON`, `OPTS MLST fact;fact;` (RFC 3659 §7.9) and `OPTS HASH
/// [algo]`. Under `--encoding latin-1` there is no UTF-8 mode to switch on: `OPTS UTF8` gets
/// the `501` of any unsupported option, as FEAT does not list `UTF8` then.
fn opts(session: &mut Session, cfg: &Config, arg: &str) -> Reply {
    let (cmd, opt) = arg.split_once(' ').unwrap_or((arg, ""));
    if opt.contains(' ') {
        return Reply::new(ReplyCode::SyntaxErrorArgs, "Invalid number of arguments.");
    }
    match cmd.to_ascii_uppercase().as_str() {
        "UTF8" | "UTF-8" if cfg.encoding == Encoding::Utf8 => {
            Reply::new(ReplyCode::Ok, "Always in UTF8 mode.")
        }
        "MLST" => {
            if !opt.is_empty() && !opt.contains(';') {
                return Reply::new(ReplyCode::SyntaxErrorArgs, "Invalid argument.");
            }
            session.facts = Facts::parse_opts(opt);
            Reply::new(
                ReplyCode::Ok,
                format!("MLST OPTS {}", session.facts.enabled_list()),
            )
        }
        "HASH" if opt.is_empty() => Reply::new(ReplyCode::Ok, session.hash_algo.name()),
        "HASH" => match Algo::parse(opt) {
            Some(algo) => {
                session.hash_algo = algo;
                Reply::new(ReplyCode::Ok, algo.name())
            }
            None => Reply::new(
                ReplyCode::NotImplementedParam,
                "Unknown algorithm, current selection not changed.",
            ),
        },
        _ => Reply::new(
            ReplyCode::SyntaxErrorArgs,
            format!("Unsupported command \"{cmd}\"."),
        ),
    }
}

/// FEAT (RFC 2389): one line per extension, from the table.
fn feat(session: &Session, cfg: &Config) -> Reply {
    let mut lines = vec!["Features supported:".to_owned()];
    lines.extend(table::feat_lines(
        &session.facts.feat_line(),
        &Algo::feat_line(session.hash_algo),
        cfg.tls.is_some(),
        cfg.encoding == Encoding::Utf8,
    ));
    lines.push("End FEAT.".to_owned());
    Reply::multi(ReplyCode::SystemStatus, lines)
}

/// Formats names eight to a line, as pyftpdlib's HELP does.
fn columns(names: &[&str]) -> Vec<String> {
    names
        .chunks(8)
        .map(|row| row.iter().map(|n| format!(" {n:<6}")).collect::<String>())
        .collect()
}

/// HELP and `HELP <verb>`.
fn help(arg: &str) -> Reply {
    if !arg.is_empty() {
        let name = arg.trim().to_ascii_uppercase();
        return match table::lookup(&name) {
            Some(spec) => Reply::new(ReplyCode::Help, spec.help),
            None => Reply::new(ReplyCode::SyntaxErrorArgs, "Unrecognized command."),
        };
    }
    let mut lines = vec!["The following commands are recognized:".to_owned()];
    lines.extend(columns(&table::help_names()));
    lines.push("Help command successful.".to_owned());
    Reply::multi(ReplyCode::Help, lines)
}

/// SITE HELP and `SITE HELP <sub-command>`, built-in and custom ones.
fn site_help(arg: &str, custom: &[crate::site::SiteCommand]) -> Reply {
    if !arg.trim().is_empty() {
        let sub = arg.trim().to_ascii_uppercase();
        if let Some(spec) = table::lookup(&format!("SITE {sub}")) {
            return Reply::new(ReplyCode::Help, spec.help);
        }
        return match custom.iter().find(|c| c.name == sub) {
            Some(c) => Reply::new(ReplyCode::Help, &c.help),
            None => Reply::new(ReplyCode::SyntaxErrorArgs, "Unrecognized SITE command."),
        };
    }
    let mut names = table::site_names();
    names.extend(custom.iter().map(|c| c.name.as_str()));
    names.sort_unstable();
    names.dedup();
    let mut lines = vec!["The following SITE commands are recognized:".to_owned()];
    lines.extend(columns(&names));
    lines.push("Help SITE command successful.".to_owned());
    Reply::multi(ReplyCode::Help, lines)
}

#[cfg(test)]
mod tests;
