//! Informational and parameter commands: RFC 959's HELP, STAT, TYPE, STRU, MODE (SYST, NOOP and
//! ALLO are one-liners in the dispatcher), RFC 2389's FEAT and OPTS, and SITE HELP.
//!
//! HELP, SITE HELP and FEAT are derived from the command table, so a command can never be
//! advertised without existing, or exist without being advertised.

use super::super::session::TransferType;
use super::super::table::Verb;
use super::super::{table, ControlConn};
use super::listing;
use super::tri_some;
use crate::checksum::{compute, Algo, Refused, Request};
use crate::config::Encoding;
use crate::fs::listing::Facts;
use crate::msg::Cx;
use crate::net::canonical_ip;
use crate::reply::{Reply, ReplyCode};
use std::sync::Arc;

/// Formats names eight to a line, as pyftpdlib's HELP does.
fn columns(names: &[&str]) -> Vec<String> {
    names
        .chunks(8)
        .map(|row| row.iter().map(|n| format!(" {n:<6}")).collect::<String>())
        .collect()
}

/// HELP and `HELP <verb>`.
pub(super) fn help(arg: &str) -> Reply {
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
pub(super) fn site_help(arg: &str, custom: &[crate::site::SiteCommand]) -> Reply {
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

/// STRU (RFC 959 §4.1.2): only File structure.
pub(super) fn stru(arg: &str) -> Reply {
    match arg.trim().to_ascii_uppercase().as_str() {
        "F" => Reply::new(ReplyCode::Ok, "File transfer structure set to: F."),
        "P" | "R" => Reply::new(ReplyCode::NotImplementedParam, "Unimplemented STRU type."),
        _ => Reply::new(ReplyCode::SyntaxErrorArgs, "Unrecognized STRU type."),
    }
}

/// MODE (RFC 959 §4.1.2): only Stream mode.
pub(super) fn mode(arg: &str) -> Reply {
    match arg.trim().to_ascii_uppercase().as_str() {
        "S" => Reply::new(ReplyCode::Ok, "Transfer mode set to: S"),
        "B" | "C" => Reply::new(ReplyCode::NotImplementedParam, "Unimplemented MODE type."),
        _ => Reply::new(ReplyCode::SyntaxErrorArgs, "Unrecognized MODE type."),
    }
}

impl ControlConn {
    /// Runs a custom SITE command if `line` is one (built-in SITE commands win).
    pub(in crate::control) fn custom_site(&mut self, line: &str) -> Option<Reply> {
        let (verb, rest) = line.split_once(' ')?;
        if !verb.eq_ignore_ascii_case("SITE") || self.cfg.site_commands.is_empty() {
            return None;
        }
        let rest = rest.trim_start();
        let (sub, arg) = rest.split_once(' ').unwrap_or((rest, ""));
        let sub = sub.to_ascii_uppercase();
        if table::lookup(&format!("SITE {sub}")).is_some() {
            return None;
        }
        let cmd = self
            .cfg
            .site_commands
            .iter()
            .find(|c| c.name == sub)?
            .clone();
        if cmd.needs_login && !self.session.logged_in() {
            return Some(Reply::new(
                ReplyCode::NotLoggedIn,
                "Log in with USER and PASS first.",
            ));
        }
        let req = crate::site::SiteRequest {
            user: self.session.user.as_ref(),
            peer: self.peer,
            cwd: &self.session.cwd,
            arg,
        };
        let reply = cmd.call(&req);
        log::info!("{} SITE {sub} -> {}", self.tag(), reply.code());
        Some(reply)
    }

    /// TYPE (RFC 959 §3.1.1): A (optionally `A N`), I, and `L 8` as a synonym of I (RFC 1123).
    pub(super) fn ftp_type(&mut self, arg: &str) -> Reply {
        let t: String = arg
            .to_ascii_uppercase()
            .chars()
            .filter(|c| *c != ' ')
            .collect();
        match t.as_str() {
            "A" | "AN" | "L7" => {
                self.session.ttype = TransferType::Ascii;
                Reply::new(ReplyCode::Ok, "Type set to: ASCII.")
            }
            "I" | "L8" => {
                self.session.ttype = TransferType::Binary;
                Reply::new(ReplyCode::Ok, "Type set to: Binary.")
            }
            _ => Reply::new(
                ReplyCode::NotImplementedParam,
                format!("Unsupported type \"{arg}\"."),
            ),
        }
    }

    /// FEAT (RFC 2389): one line per extension, from the table.
    pub(super) fn ftp_feat(&mut self) -> Reply {
        let mut lines = vec!["Features supported:".to_owned()];
        lines.extend(table::feat_lines(
            &self.session.facts.feat_line(),
            &crate::checksum::Algo::feat_line(self.session.hash_algo),
            self.cfg.tls.is_some(),
            self.cfg.encoding == Encoding::Utf8,
        ));
        lines.push("End FEAT.".to_owned());
        Reply::multi(ReplyCode::SystemStatus, lines)
    }

    /// OPTS (RFC 2389): `OPTS UTF8 ON` and `OPTS MLST fact;fact;` (RFC 3659 §7.9). Under
    /// `--encoding latin-1` there is no UTF-8 mode to switch on: `OPTS UTF8` gets the `501`
    /// of any unsupported option, as FEAT does not list `UTF8` then.
    pub(super) fn ftp_opts(&mut self, arg: &str) -> Reply {
        let (cmd, opt) = arg.split_once(' ').unwrap_or((arg, ""));
        if opt.contains(' ') {
            return Reply::new(ReplyCode::SyntaxErrorArgs, "Invalid number of arguments.");
        }
        match cmd.to_ascii_uppercase().as_str() {
            "UTF8" | "UTF-8" if self.cfg.encoding == Encoding::Utf8 => {
                Reply::new(ReplyCode::Ok, "Always in UTF8 mode.")
            }
            "MLST" => {
                if !opt.is_empty() && !opt.contains(';') {
                    return Reply::new(ReplyCode::SyntaxErrorArgs, "Invalid argument.");
                }
                self.session.facts = Facts::parse_opts(opt);
                Reply::new(
                    ReplyCode::Ok,
                    format!("MLST OPTS {}", self.session.facts.enabled_list()),
                )
            }
            "HASH" if opt.is_empty() => Reply::new(ReplyCode::Ok, self.session.hash_algo.name()),
            "HASH" => match crate::checksum::Algo::parse(opt) {
                Some(algo) => {
                    self.session.hash_algo = algo;
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

    /// STAT <path> (RFC 959 §4.1.3): a LIST over the control connection. A glob is refused
    /// (`550 Globbing not supported.`, as pyftpdlib): only NLST globs.
    fn ftp_stat_path(&mut self, arg: &str, cx: &mut crate::msg::Cx<'_>) -> Option<Reply> {
        let arg = listing::strip_ls_options(arg);
        if listing::has_glob(arg) {
            // As pyftpdlib: STAT lists one path (NLST is where a client may glob).
            return Some(Reply::new(
                ReplyCode::FileUnavailable,
                "Globbing not supported.",
            ));
        }
        let path = super::tri_some!(self.path_arg(arg));
        let localtime = self.cfg.use_localtime;
        self.with_fs_reply(
            cx,
            move |fs| listing::stat_lines(fs, &path, localtime),
            |_, lines| match lines {
                Ok(lines) => Reply::multi(ReplyCode::FileStatus, lines),
                Err(e) => super::fs_error(&e),
            },
        )
    }

    /// STAT (RFC 959 §4.1.3): without an argument the session's status, multi-line; with a
    /// path, its listing.
    pub(super) fn ftp_stat(&mut self, arg: &str, cx: &mut crate::msg::Cx<'_>) -> Option<Reply> {
        if !arg.is_empty() {
            // STAT alone is allowed before login (the table says so); STAT path is not.
            if !self.session.logged_in() {
                return Some(Reply::new(
                    ReplyCode::NotLoggedIn,
                    "Log in with USER and PASS first.",
                ));
            }
            return self.ftp_stat_path(arg, cx);
        }
        let local = self
            .sock
            .local_addr()
            .map(|a| format!("{}:{}", canonical_ip(a.ip()), a.port()))
            .unwrap_or_default();
        let who = match (&self.session.user, &self.session.username) {
            (Some(u), _) => format!("Logged in as: {}", u.name),
            (None, Some(_)) => "Waiting for password.".to_owned(),
            (None, None) => "Waiting for username.".to_owned(),
        };
        let ttype = match self.session.ttype {
            TransferType::Ascii => "ASCII",
            TransferType::Binary => "Binary",
        };
        let mut lines = vec![
            "FTP server status:".to_owned(),
            format!("Connected to: {local}"),
            who,
            format!("TYPE: {ttype}; STRUcture: File; MODE: Stream"),
        ];
        lines.extend(self.data_status(cx.now));
        lines.push("End of status.".to_owned());
        Some(Reply::multi(ReplyCode::SystemStatus, lines))
    }

    /// RANG (draft-bryan-ftp-range): the octets, first and last inclusive, that the next HASH
    /// covers; `RANG 1 0` resets to the whole file. (Transfers do not use it.)
    pub(super) fn ftp_rang(&mut self, arg: &str) -> Reply {
        let mut parts = arg.split_whitespace().map(str::parse::<u64>);
        match (parts.next(), parts.next(), parts.next()) {
            (Some(Ok(1)), Some(Ok(0)), None) => {
                self.session.rang = None;
                Reply::new(ReplyCode::PendingFurtherInfo, "Resetting the byte range.")
            }
            (Some(Ok(first)), Some(Ok(last)), None) if first <= last => {
                self.session.rang = Some((first, last));
                Reply::new(
                    ReplyCode::PendingFurtherInfo,
                    format!("Restarting at {first}. Ending byte range at {last}."),
                )
            }
            _ => Reply::new(ReplyCode::SyntaxErrorArgs, "Invalid byte range."),
        }
    }

    /// HASH (draft-bryan-ftpext-hash) and the legacy XCRC, XMD5, XSHA1, XSHA256, XSHA512: a
    /// file's digest, always computed on the blocking pool (`checksum.rs`).
    pub(super) fn ftp_hash(&mut self, verb: Verb, arg: &str, cx: &mut Cx<'_>) -> Option<Reply> {
        let (name, algo, range) = match legacy_algo(verb) {
            None => (arg, self.session.hash_algo, self.session.rang.take()),
            Some(algo) => {
                let (name, range) = tri_some!(legacy_args(arg));
                (name, algo, range)
            }
        };
        let path = tri_some!(self.path_arg(name));
        let req = Request {
            algo,
            range,
            max_size: self.cfg.hash_max_size,
        };
        let shared = Arc::clone(&self.shared);
        let shown = path.as_str().to_owned();
        self.on_pool(
            cx,
            move |fs| compute(fs, &path, req, &shared.hashes),
            move |_, digested| match digested {
                Ok(d) if verb == Verb::Hash => Reply::new(
                    ReplyCode::FileStatus,
                    format!("{} {}-{} {} {shown}", algo.name(), d.first, d.last, d.hex),
                ),
                Ok(d) => Reply::new(ReplyCode::FileActionOk, d.hex.to_ascii_uppercase()),
                Err(refused) => refusal(refused),
            },
        )
    }

    /// AVBL (draft-peterson-streamlined-ftp-command-extensions): `213 <bytes>` an upload to
    /// `path` (default: the current directory) may still use on its filesystem, and within the
    /// user's byte quota if there is one (the smaller of the two).
    pub(super) fn ftp_avbl(&mut self, arg: &str, cx: &mut Cx<'_>) -> Option<Reply> {
        let path = tri_some!(self.path_arg(if arg.is_empty() { "." } else { arg }));
        let quota = self.session.quota.clone();
        self.with_fs_reply(
            cx,
            move |fs| crate::quota::avbl(quota.as_deref(), fs.space(&path)),
            |_, space| match space {
                Ok(bytes) => Reply::new(ReplyCode::FileStatus, bytes.to_string()),
                Err(e) => super::fs_error(&e),
            },
        )
    }
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

/// First and last octet of a range, inclusive.
type Octets = (u64, u64);

/// `path [start [end]]` of the legacy commands, as ProFTPD reads them: numbers at the end are
/// the range, `end` exclusive. The range, inclusive, is `(start, u64::MAX)` without an end.
fn legacy_args(arg: &str) -> Result<(&str, Option<Octets>), Reply> {
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
