//! The command core's first part: commands that only read and change the session's settings.
//!
//! TYPE, MODE, STRU, REST, RANG, PWD, OPTS, FEAT, HELP, SITE HELP, SITE QUOTA, NOOP, SYST,
//! ALLO, ACCT, SMNT and a bare SITE touch no file and no other handler: what they do is a
//! function of the session's settings and the configuration, and what they return is a reply.
//! So they run over an even narrower context than the rest of the core (`core.rs`), just
//! [`Settings`], with their arguments already typed (`args.rs`); each is tested below as
//! (settings before, command) → (reply, settings after), without a socket.
//!
//! HELP, SITE HELP and FEAT are derived from the command table, so a command can never be
//! advertised without existing, or exist without being advertised.

use super::args::Args;
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
pub(super) fn run(verb: Verb, args: &Args<'_>, cx: Settings<'_>) -> Option<Reply> {
    let Settings { session, cfg } = cx;
    let arg = args.text();
    Some(match (verb, args) {
        (Verb::Type, Args::Type(ttype)) => type_(session, *ttype),
        (Verb::Mode, _) => Reply::new(ReplyCode::Ok, "Transfer mode set to: S"),
        (Verb::Stru, _) => Reply::new(ReplyCode::Ok, "File transfer structure set to: F."),
        (Verb::Rest, Args::Offset(offset)) => rest(session, offset),
        (Verb::Rang, Args::Range(range)) => rang(session, *range),
        (Verb::Pwd, _) => Reply::new(
            ReplyCode::PathCreated,
            format!(
                "{} is the current directory.",
                crate::reply::quote_path(session.cwd.as_str())
            ),
        ),
        (Verb::Opts, _) => opts(session, cfg, arg),
        (Verb::Feat, _) => feat(session, cfg),
        (Verb::Help, _) => help(arg),
        (Verb::SiteHelp, _) => site_help(arg, &cfg.site_commands),
        (Verb::SiteQuota, _) => crate::quota::site_quota(session.quota.as_deref()),
        (Verb::Noop, _) => Reply::new(ReplyCode::Ok, "I successfully did nothing'."),
        (Verb::Syst, _) => Reply::new(ReplyCode::SystemType, "UNIX Type: L8"),
        (Verb::Allo, _) => Reply::new(ReplyCode::Superfluous, "No storage allocation necessary."),
        (Verb::Acct, _) => Reply::new(
            ReplyCode::Superfluous,
            "Command not implemented, superfluous at this site.",
        ),
        (Verb::Smnt, _) => Reply::new(ReplyCode::NotImplemented, "SMNT not implemented."),
        (Verb::Site, _) => Reply::new(
            ReplyCode::SyntaxErrorArgs,
            "Syntax error: command needs an argument.",
        ),
        _ => return None,
    })
}

/// TYPE (RFC 959 §3.1.1): A (optionally `A N`), I, and `L 8` as a synonym of I (RFC 1123);
/// the parser refused the others (`504`).
fn type_(session: &mut Session, ttype: TransferType) -> Reply {
    session.ttype = ttype;
    match ttype {
        TransferType::Ascii => Reply::new(ReplyCode::Ok, "Type set to: ASCII."),
        TransferType::Binary => Reply::new(ReplyCode::Ok, "Type set to: Binary."),
    }
}

/// REST (RFC 3659 §5): the offset of the next RETR/STOR, binary mode only (checked before
/// the offset itself).
fn rest(session: &mut Session, offset: &Result<u64, Reply>) -> Reply {
    if session.ttype == TransferType::Ascii {
        return Reply::new(
            ReplyCode::SyntaxErrorArgs,
            "Resuming transfers not allowed in ASCII mode.",
        );
    }
    match offset {
        Ok(n) => {
            session.rest = *n;
            Reply::new(
                ReplyCode::PendingFurtherInfo,
                format!("Restarting at position {n}."),
            )
        }
        Err(reply) => reply.clone(),
    }
}

/// RANG (draft-bryan-ftp-range): the octets, first and last inclusive, that the next HASH
/// covers; `RANG 1 0` resets to the whole file. (Transfers do not use it.)
fn rang(session: &mut Session, range: Option<(u64, u64)>) -> Reply {
    session.rang = range;
    match range {
        None => Reply::new(ReplyCode::PendingFurtherInfo, "Resetting the byte range."),
        Some((first, last)) => Reply::new(
            ReplyCode::PendingFurtherInfo,
            format!("Restarting at {first}. Ending byte range at {last}."),
        ),
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
