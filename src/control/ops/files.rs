//! File-system commands that need no data connection: RFC 959's CWD, CDUP, PWD, MKD, RMD, DELE,
//! RNFR/RNTO; RFC 3659's SIZE and MDTM; the MFMT draft; and the de-facto SITE CHMOD.
//!
//! Each one resolves its argument against the current directory into a [`VirtualPath`] (`..` is
//! clamped at the user's root), checks the permission letter, and asks the user's
//! [`Filesystem`](crate::fs::Filesystem), which refuses anything that would leave the root,
//! symlinks included. Errors become `550 <reason>.` in one place (`fs_error`).

use super::super::session::TransferType;
use super::super::ControlConn;
use super::{fs_error, tri};
use crate::fs::listing::{mdtm, parse_mdtm};
use crate::fs::{FileKind, VirtualPath};
use crate::reply::{quote_path, Reply, ReplyCode};

impl ControlConn {
    pub(super) fn ftp_cwd(&mut self, arg: &str) -> Reply {
        let target = if arg.is_empty() { "/" } else { arg };
        let path = tri!(self.path_arg(target));
        let fs = tri!(self.fs());
        match fs.stat(&path) {
            Ok(st) if st.kind == FileKind::Dir => {
                let reply = Reply::new(
                    ReplyCode::FileActionOk,
                    format!("{} is the current directory.", quote_path(path.as_str())),
                );
                self.session.cwd = path;
                reply
            }
            Ok(_) => Reply::new(ReplyCode::FileUnavailable, "Not a directory."),
            Err(e) => fs_error(&e),
        }
    }

    pub(super) fn ftp_pwd(&mut self) -> Reply {
        Reply::new(
            ReplyCode::PathCreated,
            format!(
                "{} is the current directory.",
                quote_path(self.session.cwd.as_str())
            ),
        )
    }

    pub(super) fn ftp_mkd(&mut self, arg: &str) -> Reply {
        let path = tri!(self.path_arg(arg));
        match tri!(self.fs()).mkdir(&path) {
            Ok(()) => {
                self.cfg.hooks.on_mkdir(&self.info(), path.as_str());
                Reply::new(
                    ReplyCode::PathCreated,
                    format!("{} directory created.", quote_path(path.as_str())),
                )
            }
            Err(e) => fs_error(&e),
        }
    }

    pub(super) fn ftp_rmd(&mut self, arg: &str) -> Reply {
        let path = tri!(self.path_arg(arg));
        if path.is_root() {
            return Reply::new(ReplyCode::FileUnavailable, "Can't remove root directory.");
        }
        match tri!(self.fs()).rmdir(&path) {
            Ok(()) => {
                let (cwd, gone) = (self.session.cwd.as_str(), path.as_str());
                if cwd == gone || cwd.starts_with(&format!("{gone}/")) {
                    // Never leave the session inside a directory that is gone.
                    self.session.cwd = path.parent();
                }
                self.cfg.hooks.on_rmdir(&self.info(), path.as_str());
                Reply::new(ReplyCode::FileActionOk, "Directory removed.")
            }
            Err(e) => fs_error(&e),
        }
    }

    pub(super) fn ftp_dele(&mut self, arg: &str) -> Reply {
        let path = tri!(self.path_arg(arg));
        match tri!(self.fs()).remove_file(&path) {
            Ok(()) => {
                self.cfg.hooks.on_delete(&self.info(), path.as_str());
                Reply::new(ReplyCode::FileActionOk, "File removed.")
            }
            Err(e) => fs_error(&e),
        }
    }

    pub(super) fn ftp_rnfr(&mut self, arg: &str) -> Reply {
        let path = tri!(self.path_arg(arg));
        if path.is_root() {
            return Reply::new(ReplyCode::FileUnavailable, "Can't rename home directory.");
        }
        match tri!(self.fs()).lstat(&path) {
            Ok(_) => {
                self.session.rnfr = Some(path);
                Reply::new(ReplyCode::PendingFurtherInfo, "Ready for destination name.")
            }
            Err(e) => fs_error(&e),
        }
    }

    pub(super) fn ftp_rnto(&mut self, arg: &str, rnfr: Option<VirtualPath>) -> Reply {
        let Some(from) = rnfr else {
            return Reply::new(
                ReplyCode::BadSequence,
                "Bad sequence of commands: use RNFR first.",
            );
        };
        let to = tri!(self.path_arg(arg));
        if to.is_root() {
            return Reply::new(
                ReplyCode::NameNotAllowed,
                "Can't rename to the root directory.",
            );
        }
        match tri!(self.fs()).rename(&from, &to) {
            Ok(()) => {
                self.cfg
                    .hooks
                    .on_rename(&self.info(), from.as_str(), to.as_str());
                Reply::new(ReplyCode::FileActionOk, "Renaming ok.")
            }
            Err(e) => fs_error(&e),
        }
    }

    /// SIZE (RFC 3659 §4). In ASCII mode the size on the wire would need reading the whole file
    /// to count line ends, an easy denial of service: refused, as pyftpdlib and ProFTPD do.
    pub(super) fn ftp_size(&mut self, arg: &str) -> Reply {
        let path = tri!(self.path_arg(arg));
        if self.session.ttype == TransferType::Ascii {
            return Reply::new(
                ReplyCode::FileUnavailable,
                "SIZE not allowed in ASCII mode.",
            );
        }
        match tri!(self.fs()).stat(&path) {
            Ok(st) if st.kind == FileKind::File => {
                Reply::new(ReplyCode::FileStatus, st.size.to_string())
            }
            Ok(_) => Reply::new(
                ReplyCode::FileUnavailable,
                format!("{arg} is not retrievable."),
            ),
            Err(e) => fs_error(&e),
        }
    }

    /// MDTM (RFC 3659 §3): `YYYYMMDDHHMMSS`, in GMT unless `use_localtime`. A path that is
    /// not a regular file, missing ones included, is `550 <path> is not retrievable.`, as in
    /// pyftpdlib; other errors (permission) keep their own text.
    pub(super) fn ftp_mdtm(&mut self, arg: &str) -> Reply {
        let path = tri!(self.path_arg(arg));
        match tri!(self.fs()).stat(&path) {
            Ok(st) if st.kind == FileKind::File => Reply::new(
                ReplyCode::FileStatus,
                mdtm(st.mtime, self.cfg.use_localtime),
            ),
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => fs_error(&e),
            _ => Reply::new(
                ReplyCode::FileUnavailable,
                format!("{arg} is not retrievable."),
            ),
        }
    }

    /// MFMT (draft-somers-ftp-mfxx): `MFMT YYYYMMDDHHMMSS path` sets the modification time.
    pub(super) fn ftp_mfmt(&mut self, arg: &str) -> Reply {
        let Some((time, name)) = arg.split_once(' ').filter(|(_, n)| !n.is_empty()) else {
            return Reply::new(
                ReplyCode::SyntaxErrorArgs,
                "Syntax error: command needs two arguments.",
            );
        };
        let Some(when) = parse_mdtm(time) else {
            return Reply::new(
                ReplyCode::SyntaxErrorArgs,
                "Invalid time format; expected: YYYYMMDDHHMMSS.",
            );
        };
        let path = tri!(self.path_arg(name));
        let fs = tri!(self.fs());
        match fs.stat(&path) {
            Ok(st) if st.kind == FileKind::File => {}
            Ok(_) => {
                return Reply::new(
                    ReplyCode::FileUnavailable,
                    format!("{name} is not retrievable."),
                )
            }
            Err(e) => return fs_error(&e),
        }
        match fs.set_mtime(&path, when) {
            Ok(()) => Reply::new(
                ReplyCode::FileStatus,
                format!("Modify={}; {}.", mdtm(when, false), path.as_str()),
            ),
            Err(e) => fs_error(&e),
        }
    }

    /// SITE CHMOD (de-facto standard): octal modes only, never symbolic ones.
    pub(super) fn ftp_site_chmod(&mut self, arg: &str) -> Reply {
        let Some((mode, name)) = arg.split_once(' ').filter(|(_, n)| !n.is_empty()) else {
            return Reply::new(
                ReplyCode::SyntaxErrorArgs,
                "Syntax error: command needs two arguments.",
            );
        };
        let Some(mode) = parse_octal_mode(mode) else {
            return Reply::new(ReplyCode::SyntaxErrorArgs, "Invalid SITE CHMOD format.");
        };
        let path = tri!(self.path_arg(name));
        match tri!(self.fs()).chmod(&path, mode) {
            Ok(()) => Reply::new(ReplyCode::Ok, "SITE CHMOD successful."),
            Err(e) => fs_error(&e),
        }
    }
}

/// Parses `755`, `0644`, `4755`: one to four octal digits.
fn parse_octal_mode(s: &str) -> Option<u32> {
    if s.is_empty() || s.len() > 4 || !s.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
        return None;
    }
    u32::from_str_radix(s, 8).ok()
}

#[cfg(test)]
mod tests {
    use super::parse_octal_mode;

    #[test]
    fn octal_modes() {
        assert_eq!(parse_octal_mode("755"), Some(0o755));
        assert_eq!(parse_octal_mode("0644"), Some(0o644));
        assert_eq!(parse_octal_mode("4755"), Some(0o4755));
        assert_eq!(parse_octal_mode("u+x"), None);
        assert_eq!(parse_octal_mode("888"), None);
        assert_eq!(parse_octal_mode("07777"), None);
        assert_eq!(parse_octal_mode(""), None);
    }
}
