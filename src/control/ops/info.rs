//! Informational commands that need more than the session's settings: STAT (the server's
//! status, or a listing over the control connection), HASH/RANG's digests and the legacy
//! XCRC/XMD5/XSHA*, AVBL, and custom SITE commands. (TYPE, MODE, STRU, FEAT, OPTS, HELP and
//! the other settings commands are functions without I/O in `control/settings.rs`.)

use super::super::session::TransferType;
use super::super::table::Verb;
use super::super::{table, ControlConn};
use super::listing;
use super::tri_some;
use crate::checksum::{compute, Algo, Refused, Request};
use crate::msg::Cx;
use crate::net::canonical_ip;
use crate::reply::{Reply, ReplyCode};
use std::sync::Arc;

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
