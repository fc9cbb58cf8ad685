//! Informational commands that need more than the session's settings: STAT (the server's
//! status, or a listing over the control connection), HASH/RANG's digests and the legacy
//! XCRC/XMD5/XSHA*, AVBL, and custom SITE commands. (TYPE, MODE, STRU, FEAT, OPTS, HELP and
//! the other settings commands are functions without I/O in `control/settings.rs`.)

use super::super::core::{fs, pool, Core, Outcome};
use super::super::session::TransferType;
use super::super::table;
use super::super::table::Verb;
use super::listing;
use super::tri;
use crate::checksum::{compute, Algo, Refused, Request};
use crate::reply::{Reply, ReplyCode};
use std::sync::Arc;

/// Runs a custom SITE command if `line` is one (built-in SITE commands win).
pub(in crate::control) fn custom_site(c: &Core<'_>, line: &str) -> Option<Reply> {
    let (verb, rest) = line.split_once(' ')?;
    if !verb.eq_ignore_ascii_case("SITE") || c.cfg.site_commands.is_empty() {
        return None;
    }
    let rest = rest.trim_start();
    let (sub, arg) = rest.split_once(' ').unwrap_or((rest, ""));
    let sub = sub.to_ascii_uppercase();
    if table::lookup(&format!("SITE {sub}")).is_some() {
        return None;
    }
    let cmd = c.cfg.site_commands.iter().find(|c| c.name == sub)?.clone();
    if cmd.needs_login && !c.session.logged_in() {
        return Some(super::super::core::not_logged_in());
    }
    let req = crate::site::SiteRequest {
        user: c.session.user.as_ref(),
        peer: c.peer,
        cwd: &c.session.cwd,
        arg,
    };
    let reply = cmd.call(&req);
    log::info!("{} SITE {sub} -> {}", c.tag(), reply.code());
    Some(reply)
}

/// STAT <path> (RFC 959 §4.1.3): a LIST over the control connection. A glob is refused
/// (`550 Globbing not supported.`, as pyftpdlib): only NLST globs.
fn stat_path(c: &mut Core<'_>, arg: &str) -> Outcome {
    let arg = listing::strip_ls_options(arg);
    if listing::has_glob(arg) {
        // As pyftpdlib: STAT lists one path (NLST is where a client may glob).
        return Reply::new(ReplyCode::FileUnavailable, "Globbing not supported.").into();
    }
    let path = tri!(c.path(arg));
    let localtime = c.cfg.use_localtime;
    fs(
        move |fs| listing::stat_lines(fs, &path, localtime),
        |_, lines| {
            match lines {
                Ok(lines) => Reply::multi(ReplyCode::FileStatus, lines),
                Err(e) => super::fs_error(&e),
            }
            .into()
        },
    )
}

/// STAT (RFC 959 §4.1.3): without an argument the session's status, multi-line; with a
/// path, its listing.
pub(in crate::control) fn stat(c: &mut Core<'_>, arg: &str) -> Outcome {
    if !arg.is_empty() {
        // STAT alone is allowed before login (the table says so); STAT path is not.
        if !c.session.logged_in() {
            return super::super::core::not_logged_in().into();
        }
        return stat_path(c, arg);
    }
    let local = c
        .local
        .map(|a| format!("{}:{}", a.ip(), a.port()))
        .unwrap_or_default();
    let who = match (&c.session.user, &c.session.username) {
        (Some(u), _) => format!("Logged in as: {}", u.name),
        (None, Some(_)) => "Waiting for password.".to_owned(),
        (None, None) => "Waiting for username.".to_owned(),
    };
    let ttype = match c.session.ttype {
        TransferType::Ascii => "ASCII",
        TransferType::Binary => "Binary",
    };
    let mut lines = vec![
        "FTP server status:".to_owned(),
        format!("Connected to: {local}"),
        who,
        format!("TYPE: {ttype}; STRUcture: File; MODE: Stream"),
    ];
    lines.extend(super::transfer::data_status(c.data, c.now));
    lines.push("End of status.".to_owned());
    Reply::multi(ReplyCode::SystemStatus, lines).into()
}

/// HASH (draft-bryan-ftpext-hash): a file's digest with the algorithm OPTS HASH chose, over
/// the range RANG set, always computed on the blocking pool (`checksum.rs`).
pub(in crate::control) fn hash(c: &mut Core<'_>, name: &str) -> Outcome {
    let (algo, range) = (c.session.hash_algo, c.session.rang.take());
    checksum(c, Verb::Hash, name, (algo, range))
}

/// The legacy XCRC, XMD5, XSHA1, XSHA256, XSHA512: `path [start [end]]` (`args.rs`).
pub(in crate::control) fn digest(
    c: &mut Core<'_>,
    verb: Verb,
    name: &str,
    range: Option<(u64, u64)>,
) -> Outcome {
    let Some(algo) = legacy_algo(verb) else {
        return Reply::new(ReplyCode::NotImplemented, "Command not implemented.").into();
    };
    checksum(c, verb, name, (algo, range))
}

/// The digest of `name` over `range`, made on the pool.
fn checksum(
    c: &mut Core<'_>,
    verb: Verb,
    name: &str,
    (algo, range): (Algo, Option<(u64, u64)>),
) -> Outcome {
    let path = tri!(c.path(name));
    let req = Request {
        algo,
        range,
        max_size: c.cfg.hash_max_size,
    };
    let shared = Arc::clone(c.shared);
    let shown = path.as_str().to_owned();
    pool(
        move |fs| compute(fs, &path, req, &shared.hashes),
        move |_, digested| {
            match digested {
                Ok(d) if verb == Verb::Hash => Reply::new(
                    ReplyCode::FileStatus,
                    format!("{} {}-{} {} {shown}", algo.name(), d.first, d.last, d.hex),
                ),
                Ok(d) => Reply::new(ReplyCode::FileActionOk, d.hex.to_ascii_uppercase()),
                Err(refused) => refusal(refused),
            }
            .into()
        },
    )
}

/// AVBL (draft-peterson-streamlined-ftp-command-extensions): `213 <bytes>` an upload to
/// `path` (default: the current directory) may still use on its filesystem, and within the
/// user's byte quota if there is one (the smaller of the two).
pub(in crate::control) fn avbl(c: &mut Core<'_>, arg: &str) -> Outcome {
    let path = tri!(c.path(if arg.is_empty() { "." } else { arg }));
    let quota = c.session.quota.clone();
    fs(
        move |fs| crate::quota::avbl(quota.as_deref(), fs.space(&path)),
        |_, space| {
            match space {
                Ok(bytes) => Reply::new(ReplyCode::FileStatus, bytes.to_string()),
                Err(e) => super::fs_error(&e),
            }
            .into()
        },
    )
}

/// The algorithm of a legacy checksum command; `None` for HASH.
fn legacy_algo(verb: Verb) -> Option<Algo> {
    match verb {
        Verb::Xcrc => Some(Algo::Crc32),
        Verb::Xmd5 => Some(Algo::Md5),
        Verb::Xsha1 => Some(Algo::Sha1),
        Verb::Xsha256 => Some(Algo::Sha256),
        Verb::Xsha512 => Some(Algo::Sha512),
        _ => None,
    }
}

/// The reply to a digest that could not be made.
fn refusal(refused: Refused) -> Reply {
    match refused {
        Refused::Io(e) => super::fs_error(&e),
        Refused::NotAFile => Reply::new(ReplyCode::FileUnavailable, "Not a regular file."),
        Refused::TooLarge(max) => Reply::new(
            ReplyCode::FileUnavailable,
            format!("File too large to hash (the limit is {max} bytes)."),
        ),
        Refused::BadRange => Reply::new(ReplyCode::SyntaxErrorArgs, "Invalid byte range."),
    }
}
