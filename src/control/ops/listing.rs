//! Directory listings: LIST and NLST (RFC 959), MLSD and MLST (RFC 3659), and STAT with a path.
//!
//! LIST's format is not standardised; clients parse Unix `ls -l` lines, so that is what we send
//! (SYST says "UNIX Type: L8" for this reason). MLSD/MLST send machine-readable "facts" instead,
//! which is what modern clients prefer. Listings go over the data connection as a lazy
//! [`LinesProducer`]: each directory entry is stat-ed and formatted only when the socket can take
//! more, so a directory of 100,000 files neither blocks the loop nor builds one huge string.
//! NLST accepts a glob (`*.txt`) in its last path component, which pyftpdlib does not.

use std::io;
use std::time::SystemTime;

use super::super::channel::{PendingJob, Work};
use super::super::core::{fs, Core, Outcome};
use super::super::table::Verb;
use super::{fs_error, tri};
use crate::auth::{Perm, Perms};
use crate::data::producer::LinesProducer;
use crate::data::Job;
use crate::fs::listing::{escape_name, ls_line, mlsx_line};
use crate::fs::{DirEntry, FileKind, FileStat, Filesystem, VirtualPath};
use crate::reply::{Reply, ReplyCode};

/// Most entries STAT <dir> sends over the control connection.
const STAT_MAX_ENTRIES: usize = 10_000;

/// The entries of a directory, read lazily.
type Entries = Box<dyn Iterator<Item = DirEntry> + Send>;
/// The lines of a listing, made lazily.
type Lines = Box<dyn Iterator<Item = String> + Send>;

/// Which listing a data-connection listing command produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::control) enum ListKind {
    /// `ls -l` lines.
    List,
    /// Names only.
    Nlst,
    /// RFC 3659 facts.
    Mlsd,
}

impl ListKind {
    /// The command (its name for the log line).
    fn verb(self) -> Verb {
        match self {
            ListKind::List => Verb::List,
            ListKind::Nlst => Verb::Nlst,
            ListKind::Mlsd => Verb::Mlsd,
        }
    }
}

/// Drops `ls`-style options (`-la`, `-a -l`) that clients put before the path.
pub(super) fn strip_ls_options(arg: &str) -> &str {
    let mut rest = arg.trim_start();
    while rest.starts_with('-') {
        match rest.split_once(' ') {
            Some((_, after)) => rest = after.trim_start(),
            None => return "",
        }
    }
    rest
}

pub use crate::glob::glob_match;

pub(super) fn has_glob(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// The RFC 3659 `perm` fact for an entry, from the user's permissions there.
fn perm_fact(kind: FileKind, perms: Perms) -> String {
    let letters: &[(Perm, char)] = if kind == FileKind::Dir {
        &[
            (Perm::E, 'e'),
            (Perm::L, 'l'),
            (Perm::W, 'c'),
            (Perm::M, 'm'),
            (Perm::D, 'd'),
            (Perm::F, 'f'),
            (Perm::D, 'p'),
        ]
    } else {
        &[
            (Perm::R, 'r'),
            (Perm::A, 'a'),
            (Perm::W, 'w'),
            (Perm::D, 'd'),
            (Perm::F, 'f'),
        ]
    };
    letters
        .iter()
        .filter(|(p, _)| perms.contains(*p))
        .map(|(_, c)| *c)
        .collect()
}

/// Formats one MLSx line for `name` at `path`.
fn mlsx_for(c: &Core<'_>, name: &str, path: &VirtualPath, st: &FileStat) -> String {
    let perms = match &c.session.user {
        Some(u) => c.cfg.authorizer.perms_for(u, path),
        None => Perms::NONE,
    };
    mlsx_line(
        name,
        st,
        &c.session.facts,
        &perm_fact(st.kind, perms),
        None,
        c.cfg.use_localtime,
    )
}

/// LIST, NLST, MLSD over the data connection. The directory is opened (on the blocking
/// pool when the filesystem may be slow) before the reply; its entries are read and
/// formatted on the pool, a batch at a time, as the data connection sends them.
pub(in crate::control) fn list(c: &mut Core<'_>, kind: ListKind, arg: &str) -> Outcome {
    if c.data.transfer.is_some() {
        return super::transfer::busy().into();
    }
    let arg = if kind == ListKind::Mlsd {
        arg
    } else {
        strip_ls_options(arg)
    };
    let (target, pattern) = match arg.rsplit_once('/') {
        _ if kind != ListKind::Nlst || !has_glob(arg) => (arg, None),
        Some((dir, pat)) => (if dir.is_empty() { "/" } else { dir }, Some(pat.to_owned())),
        None => ("", Some(arg.to_owned())),
    };
    let prefix = match (&pattern, arg.rsplit_once('/')) {
        (Some(_), Some((dir, _))) => format!("{dir}/"),
        _ => String::new(),
    };
    let path = tri!(c.path(target));
    let look = path.clone();
    fs(
        move |fs| -> io::Result<(FileStat, Option<Entries>)> {
            let st = fs.stat(&look)?;
            let entries = match st.kind {
                FileKind::Dir => Some(fs.read_dir(&look)?),
                _ => None,
            };
            Ok((st, entries))
        },
        move |c, opened| {
            let (st, entries) = match opened {
                Ok(opened) => opened,
                Err(e) => return fs_error(&e).into(),
            };
            let lines = match entries {
                Some(entries) => entry_lines(c, kind, &path, entries, pattern, prefix),
                None => tri!(file_line(c, kind, &path, &st)),
            };
            let pj = PendingJob {
                work: Work::Job(Job::Produce(Box::new(LinesProducer::new(
                    lines,
                    c.cfg.encoding,
                )))),
                verb: kind.verb(),
                path: String::new(),
                total: None,
            };
            super::transfer::transfer(pj, super::transfer::TEXT_125, super::transfer::TEXT_150)
        },
    )
}

/// The one line of a LIST or NLST of a file (MLSD wants a directory: `501`).
fn file_line(
    c: &Core<'_>,
    kind: ListKind,
    path: &VirtualPath,
    st: &FileStat,
) -> Result<Lines, Reply> {
    let name = path.file_name().unwrap_or("").to_owned();
    let line = match kind {
        ListKind::Mlsd => return Err(Reply::new(ReplyCode::SyntaxErrorArgs, "No such directory.")),
        ListKind::List => ls_line(&name, st, SystemTime::now(), c.cfg.use_localtime),
        ListKind::Nlst => escape_name(&name),
    };
    Ok(Box::new(std::iter::once(line)))
}

/// The lines of a directory's listing, made lazily (on the pool) from its entries.
fn entry_lines(
    c: &Core<'_>,
    kind: ListKind,
    path: &VirtualPath,
    entries: Entries,
    pattern: Option<String>,
    prefix: String,
) -> Lines {
    let now = SystemTime::now();
    let localtime = c.cfg.use_localtime;
    match kind {
        ListKind::List => Box::new(entries.map(move |e| ls_line(&e.name, &e.stat, now, localtime))),
        ListKind::Nlst => Box::new(
            entries
                .filter(move |e| pattern.as_deref().is_none_or(|p| glob_match(p, &e.name)))
                .map(move |e| escape_name(&format!("{prefix}{}", e.name))),
        ),
        ListKind::Mlsd => {
            let auth = std::sync::Arc::clone(&c.cfg.authorizer);
            let user = c.session.user.clone();
            let facts = c.session.facts;
            let path = path.clone();
            Box::new(entries.map(move |e| {
                let perms = user
                    .as_ref()
                    .map_or(Perms::NONE, |u| auth.perms_for(u, &path.join(&e.name)));
                mlsx_line(
                    &e.name,
                    &e.stat,
                    &facts,
                    &perm_fact(e.stat.kind, perms),
                    None,
                    localtime,
                )
            }))
        }
    }
}

/// MLST (RFC 3659 §7): the facts of one path, over the control connection.
pub(in crate::control) fn mlst(c: &mut Core<'_>, arg: &str) -> Outcome {
    let path = tri!(c.path(if arg.is_empty() { "." } else { arg }));
    let look = path.clone();
    fs(
        move |fs| fs.stat(&look),
        move |c, st| {
            let st = match st {
                Ok(st) => st,
                Err(e) => return fs_error(&e).into(),
            };
            let line = mlsx_for(c, path.as_str(), &path, &st);
            Reply::multi(
                ReplyCode::FileActionOk,
                vec![
                    format!("Listing {}", path.as_str()),
                    format!(" {line}"),
                    "End MLST.".to_owned(),
                ],
            )
            .into()
        },
    )
}

/// The lines of `STAT <path>` (RFC 959 §4.1.3): an `ls -l` of the path over the control
/// connection, capped at [`STAT_MAX_ENTRIES`] (a listing over the data connection is made
/// lazily and has no cap). Made on the blocking pool when the filesystem may be slow.
pub(super) fn stat_lines(
    fs: &dyn Filesystem,
    path: &VirtualPath,
    localtime: bool,
) -> io::Result<Vec<String>> {
    let now = SystemTime::now();
    let mut lines = vec![format!("Status of \"{}\":", path.as_str())];
    let st = fs.stat(path)?;
    if st.kind == FileKind::Dir {
        let mut entries = fs.read_dir(path)?.peekable();
        lines.extend(
            entries
                .by_ref()
                .take(STAT_MAX_ENTRIES)
                .map(|e| format!(" {}", ls_line(&e.name, &e.stat, now, localtime))),
        );
        if entries.peek().is_some() {
            lines.push(format!(
                " (truncated after {STAT_MAX_ENTRIES} entries: use LIST or MLSD)"
            ));
        }
    } else {
        let name = path.file_name().unwrap_or("");
        lines.push(format!(" {}", ls_line(name, &st, now, localtime)));
    }
    lines.push("End of status.".to_owned());
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globbing() {
        assert!(glob_match("*.txt", "a.txt"));
        assert!(!glob_match("*.txt", "a.txt.bak"));
        assert!(glob_match("a?c", "abc"));
        assert!(glob_match("[ab]*", "beta"));
        assert!(!glob_match("[!ab]*", "beta"));
        assert!(glob_match("file[0-9]", "file7"));
        assert!(glob_match("*", ""));
        assert!(glob_match("**x", "abx"));
        assert!(!glob_match("x", "xy"));
        assert!(glob_match("[", "["));
    }

    #[test]
    fn ls_options_are_ignored() {
        assert_eq!(strip_ls_options("-la"), "");
        assert_eq!(strip_ls_options("-a -l /dir"), "/dir");
        assert_eq!(strip_ls_options("dir"), "dir");
    }

    #[test]
    fn perm_facts() {
        let all = Perms::ALL;
        assert_eq!(perm_fact(FileKind::File, all), "rawdf");
        assert_eq!(perm_fact(FileKind::Dir, all), "elcmdfp");
        assert_eq!(perm_fact(FileKind::File, Perms::READ_ONLY), "r");
    }
}
