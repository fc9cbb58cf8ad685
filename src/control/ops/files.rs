//! File-system commands that need no data connection: RFC 959's CWD, CDUP, PWD, MKD, RMD, DELE,
//! RNFR/RNTO; RFC 3659's SIZE and MDTM; the MFMT draft; and the de-facto SITE CHMOD.
//!
//! Each one resolves its argument against the current directory into a [`VirtualPath`] (`..` is
//! clamped at the user's root), checks the permission letter, and asks the user's
//! [`Filesystem`](crate::fs::Filesystem), which refuses anything that would leave the root,
//! symlinks included. Errors become `550 <reason>.` in one place (`fs_error`).

use super::super::core::{fs, pool, Core, Outcome};
use super::super::session::TransferType;
use super::{fs_error, tri};
use std::time::SystemTime;

use crate::fs::listing;
use crate::fs::{FileKind, VirtualPath};
use crate::reply::{quote_path, Reply, ReplyCode};

/// CWD (and CDUP, as `CWD ..`): the directory must exist inside the root.
pub(in crate::control) fn cwd(c: &mut Core<'_>, arg: &str) -> Outcome {
    let target = if arg.is_empty() { "/" } else { arg };
    let path = tri!(c.path(target));
    let look = path.clone();
    fs(
        move |fs| fs.stat(&look),
        move |c, st| {
            Outcome::Reply(match st {
                Ok(st) if st.kind == FileKind::Dir => {
                    let reply = Reply::new(
                        ReplyCode::FileActionOk,
                        format!("{} is the current directory.", quote_path(path.as_str())),
                    );
                    c.session.cwd = path;
                    reply
                }
                Ok(_) => Reply::new(ReplyCode::FileUnavailable, "Not a directory."),
                Err(e) => fs_error(&e),
            })
        },
    )
}

pub(in crate::control) fn mkd(c: &mut Core<'_>, arg: &str) -> Outcome {
    let path = tri!(c.path(arg));
    let made = path.clone();
    fs(
        move |fs| fs.mkdir(&made),
        move |c, done| {
            let reply = match done {
                Ok(()) => {
                    c.cfg.hooks.on_mkdir(&c.info(), path.as_str());
                    Reply::new(
                        ReplyCode::PathCreated,
                        format!("{} directory created.", quote_path(path.as_str())),
                    )
                }
                Err(e) => fs_error(&e),
            };
            c.log_change("MKD", path.as_str(), reply)
        },
    )
}

pub(in crate::control) fn rmd(c: &mut Core<'_>, arg: &str) -> Outcome {
    let path = tri!(c.path(arg));
    if path.is_root() {
        let reply = Reply::new(ReplyCode::FileUnavailable, "Can't remove root directory.");
        return c.log_change("RMD", arg, reply);
    }
    let gone = path.clone();
    fs(
        move |fs| fs.rmdir(&gone),
        move |c, done| {
            let reply = match done {
                Ok(()) => {
                    let (cwd, gone) = (c.session.cwd.as_str(), path.as_str());
                    if cwd == gone || cwd.starts_with(&format!("{gone}/")) {
                        // Never leave the session inside a directory that is gone.
                        c.session.cwd = path.parent();
                    }
                    c.cfg.hooks.on_rmdir(&c.info(), path.as_str());
                    Reply::new(ReplyCode::FileActionOk, "Directory removed.")
                }
                Err(e) => fs_error(&e),
            };
            c.log_change("RMD", path.as_str(), reply)
        },
    )
}

pub(in crate::control) fn dele(c: &mut Core<'_>, arg: &str) -> Outcome {
    let path = tri!(c.path(arg));
    let look = path.clone();
    fs(
        move |fs| {
            fs.lstat(&look)
                .ok()
                .filter(|st| st.kind == FileKind::File)
                .map(|st| st.size)
        },
        move |c, size| remove(c, path, size),
    )
}

/// A file at least this large is removed on the blocking pool: `unlink` frees the file's
/// cached pages and extents before it returns, about 0.1 ms per MiB just written (measured:
/// 0.8 ms, up to 1.4 ms, for 8 MiB on ext4), time every other session would wait. Smaller
/// files, the common case, are removed on the loop after a `lstat` of a few microseconds.
const LARGE_REMOVAL: u64 = 1 << 20;

/// DELE's second step: remove the file (a regular file of `size` bytes, if the `lstat` found
/// one), where its size says.
fn remove(c: &mut Core<'_>, path: VirtualPath, size: Option<u64>) -> Outcome {
    let gone = path.clone();
    let quota = c.session.quota.clone();
    let work = move |fs: &dyn crate::fs::Filesystem| {
        crate::quota::remove_file(fs, quota.as_deref(), &gone, size)
    };
    let then = move |c: &mut Core<'_>, done: std::io::Result<()>| {
        let reply = match done {
            Ok(()) => {
                c.cfg.hooks.on_delete(&c.info(), path.as_str());
                Reply::new(ReplyCode::FileActionOk, "File removed.")
            }
            Err(e) => fs_error(&e),
        };
        c.log_change("DELE", path.as_str(), reply)
    };
    if size.is_some_and(|n| n >= LARGE_REMOVAL) {
        pool(work, then)
    } else {
        fs(work, then)
    }
}

pub(in crate::control) fn rnfr(c: &mut Core<'_>, arg: &str) -> Outcome {
    let path = tri!(c.path(arg));
    if path.is_root() {
        let reply = Reply::new(ReplyCode::FileUnavailable, "Can't rename home directory.");
        return c.log_change("RNFR", arg, reply);
    }
    let look = path.clone();
    fs(
        move |fs| fs.lstat(&look),
        move |c, st| {
            let shown = path.as_str().to_owned();
            let reply = match st {
                Ok(_) => {
                    c.session.rnfr = Some(path);
                    Reply::new(ReplyCode::PendingFurtherInfo, "Ready for destination name.")
                }
                Err(e) => fs_error(&e),
            };
            c.log_change("RNFR", &shown, reply)
        },
    )
}

pub(in crate::control) fn rnto(c: &mut Core<'_>, arg: &str, rnfr: Option<VirtualPath>) -> Outcome {
    let Some(from) = rnfr else {
        return Outcome::Reply(Reply::new(
            ReplyCode::BadSequence,
            "Bad sequence of commands: use RNFR first.",
        ));
    };
    let to = tri!(c.path(arg));
    if to.is_root() {
        let reply = Reply::new(
            ReplyCode::NameNotAllowed,
            "Can't rename to the root directory.",
        );
        return c.log_change("RNTO", arg, reply);
    }
    let (src, dst) = (from.clone(), to.clone());
    let quota = c.session.quota.clone();
    fs(
        move |fs| crate::quota::rename(fs, quota.as_deref(), &src, &dst),
        move |c, done| {
            let reply = match done {
                Ok(()) => {
                    c.cfg.hooks.on_rename(&c.info(), from.as_str(), to.as_str());
                    Reply::new(ReplyCode::FileActionOk, "Renaming ok.")
                }
                Err(e) => fs_error(&e),
            };
            c.log_change("RNTO", to.as_str(), reply)
        },
    )
}

/// SIZE (RFC 3659 §4). In ASCII mode the size on the wire would need reading the whole file
/// to count line ends, an easy denial of service: refused, as pyftpdlib and ProFTPD do.
pub(in crate::control) fn size(c: &mut Core<'_>, arg: &str) -> Outcome {
    let path = tri!(c.path(arg));
    if c.session.ttype == TransferType::Ascii {
        return Outcome::Reply(Reply::new(
            ReplyCode::FileUnavailable,
            "SIZE not allowed in ASCII mode.",
        ));
    }
    let shown = arg.to_owned();
    fs(
        move |fs| fs.stat(&path),
        move |_, st| {
            Outcome::Reply(match st {
                Ok(st) if st.kind == FileKind::File => {
                    Reply::new(ReplyCode::FileStatus, st.size.to_string())
                }
                Ok(_) => Reply::new(
                    ReplyCode::FileUnavailable,
                    format!("{shown} is not retrievable."),
                ),
                Err(e) => fs_error(&e),
            })
        },
    )
}

/// MDTM (RFC 3659 §3): `YYYYMMDDHHMMSS`, in GMT unless `use_localtime`. A path that is
/// not a regular file, missing ones included, is `550 <path> is not retrievable.`, as in
/// pyftpdlib; other errors (permission) keep their own text.
pub(in crate::control) fn mdtm(c: &mut Core<'_>, arg: &str) -> Outcome {
    let path = tri!(c.path(arg));
    let shown = arg.to_owned();
    fs(
        move |fs| fs.stat(&path),
        move |c, st| {
            Outcome::Reply(match st {
                Ok(st) if st.kind == FileKind::File => Reply::new(
                    ReplyCode::FileStatus,
                    listing::mdtm(st.mtime, c.cfg.use_localtime),
                ),
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => fs_error(&e),
                _ => Reply::new(
                    ReplyCode::FileUnavailable,
                    format!("{shown} is not retrievable."),
                ),
            })
        },
    )
}

/// MFMT (draft-somers-ftp-mfxx): `MFMT YYYYMMDDHHMMSS path` sets the modification time.
pub(in crate::control) fn mfmt(c: &mut Core<'_>, when: SystemTime, name: &str) -> Outcome {
    let path = tri!(c.path(name));
    let (target, shown) = (path.clone(), name.to_owned());
    fs(
        move |fs| match fs.stat(&target) {
            Ok(st) if st.kind == FileKind::File => fs.set_mtime(&target, when).map(|()| true),
            Ok(_) => Ok(false),
            Err(e) => Err(e),
        },
        move |c, done| {
            let reply = match done {
                Ok(true) => Reply::new(
                    ReplyCode::FileStatus,
                    format!("Modify={}; {}.", listing::mdtm(when, false), path.as_str()),
                ),
                Ok(false) => Reply::new(
                    ReplyCode::FileUnavailable,
                    format!("{shown} is not retrievable."),
                ),
                Err(e) => fs_error(&e),
            };
            c.log_change("MFMT", path.as_str(), reply)
        },
    )
}

/// SITE CHMOD (de-facto standard): octal modes only, never symbolic ones (`args.rs`).
pub(in crate::control) fn site_chmod(c: &mut Core<'_>, mode: u32, name: &str) -> Outcome {
    let path = tri!(c.path(name));
    let shown = path.as_str().to_owned();
    fs(
        move |fs| fs.chmod(&path, mode),
        move |c, done| {
            let reply = match done {
                Ok(()) => Reply::new(ReplyCode::Ok, "SITE CHMOD successful."),
                Err(e) => fs_error(&e),
            };
            c.log_change("SITE CHMOD", &shown, reply)
        },
    )
}
