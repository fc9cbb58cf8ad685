//! What each command does, grouped by the RFC that defines it (as samotop groups SMTP).
//!
//! `dispatch` is the one `match` from verb to handler function. Each handler returns the reply
//! to send, or `None` when the reply comes later (the delayed `530` of a wrong password).
//! Two helpers are shared by every command that touches the disk: [`ControlConn::path_arg`]
//! turns an argument into a virtual path and checks the permission letter (gate step 5), and
//! [`fs_error`] is the single place where a filesystem error becomes a reply.

mod access;
mod files;
mod info;
pub(crate) mod listing;
mod ports;
mod transfer;

use std::io;

use super::table::Verb;
use super::ControlConn;
use crate::fs::{Filesystem, VirtualPath};
use crate::msg::Cx;
use crate::reply::{Reply, ReplyCode};

impl ControlConn {
    /// Runs one gated command. `rnfr` is the pending rename source, if the previous command
    /// was RNFR.
    pub(super) fn dispatch(
        &mut self,
        verb: Verb,
        arg: &str,
        rnfr: Option<VirtualPath>,
        cx: &mut Cx<'_>,
    ) -> Option<Reply> {
        let reply = match verb {
            Verb::User => self.ftp_user(arg),
            Verb::Pass => return self.ftp_pass(arg, cx),
            Verb::Quit if self.data.transfer.is_some() => {
                // RFC 959: QUIT waits for the transfer in progress, then says 221.
                self.data.quit_pending = true;
                self.phase = super::Phase::Waiting;
                return None;
            }
            Verb::Quit => self.ftp_quit(),
            Verb::Rein => self.ftp_rein(),
            Verb::Acct => Reply::new(
                ReplyCode::Superfluous,
                "Command not implemented, superfluous at this site.",
            ),
            Verb::Host => self.ftp_host(),
            Verb::Smnt => Reply::new(ReplyCode::NotImplemented, "SMNT not implemented."),
            Verb::Cwd => self.ftp_cwd(arg),
            Verb::Cdup => self.ftp_cwd(".."),
            Verb::Pwd => self.ftp_pwd(),
            Verb::Mkd => self.logged(verb.name(), arg, |c| c.ftp_mkd(arg)),
            Verb::Rmd => self.logged(verb.name(), arg, |c| c.ftp_rmd(arg)),
            Verb::Dele => self.logged(verb.name(), arg, |c| c.ftp_dele(arg)),
            Verb::Rnfr => self.logged(verb.name(), arg, |c| c.ftp_rnfr(arg)),
            Verb::Rnto => self.logged(verb.name(), arg, |c| c.ftp_rnto(arg, rnfr)),
            Verb::Size => self.ftp_size(arg),
            Verb::Mdtm => self.ftp_mdtm(arg),
            Verb::Mfmt => self.logged(verb.name(), arg, |c| c.ftp_mfmt(arg)),
            Verb::SiteChmod => self.logged(verb.name(), arg, |c| c.ftp_site_chmod(arg)),
            Verb::SiteHelp => info::site_help(arg, &self.cfg.site_commands),
            Verb::Site => Reply::new(
                ReplyCode::SyntaxErrorArgs,
                "Syntax error: command needs an argument.",
            ),
            Verb::Help => info::help(arg),
            Verb::Feat => self.ftp_feat(),
            Verb::Opts => self.ftp_opts(arg),
            Verb::Noop => Reply::new(ReplyCode::Ok, "I successfully did nothing'."),
            Verb::Syst => Reply::new(ReplyCode::SystemType, "UNIX Type: L8"),
            Verb::Stat => self.ftp_stat(arg, cx),
            Verb::Allo => Reply::new(ReplyCode::Superfluous, "No storage allocation necessary."),
            Verb::Type => self.ftp_type(arg),
            Verb::Stru => info::stru(arg),
            Verb::Mode => info::mode(arg),
            Verb::Pasv => self.ftp_pasv(false, arg, cx),
            Verb::Epsv => self.ftp_pasv(true, arg, cx),
            Verb::Port => return self.ftp_port(false, arg, cx),
            Verb::Eprt => return self.ftp_port(true, arg, cx),
            Verb::Rest => self.ftp_rest(arg),
            Verb::Retr => return self.ftp_retr(arg, cx),
            Verb::Stor => return self.ftp_stor(arg, false, cx),
            Verb::Appe => return self.ftp_stor(arg, true, cx),
            Verb::Stou => return self.ftp_stou(arg, cx),
            Verb::Abor => return self.ftp_abor(cx),
            Verb::List => return self.ftp_list(listing::ListKind::List, arg, cx),
            Verb::Nlst => return self.ftp_list(listing::ListKind::Nlst, arg, cx),
            Verb::Mlsd => return self.ftp_list(listing::ListKind::Mlsd, arg, cx),
            Verb::Mlst => self.ftp_mlst(arg),
            Verb::Auth => self.ftp_auth(arg),
            Verb::Pbsz => self.ftp_pbsz(arg),
            Verb::Prot => self.ftp_prot(arg),
            Verb::Ccc => self.ftp_ccc(),
        };
        Some(reply)
    }
    /// Runs a state-changing command and logs it with its reply code.
    fn logged(&mut self, name: &str, arg: &str, f: impl FnOnce(&mut Self) -> Reply) -> Reply {
        let reply = f(self);
        log::info!(
            "{} {} {} -> {}",
            self.tag(),
            name,
            crate::reply::sanitize(arg),
            reply.code()
        );
        reply
    }

    /// The user's filesystem (present once logged in; the gate guarantees it).
    pub(super) fn fs(&self) -> Result<&dyn Filesystem, Reply> {
        self.session.fs.as_deref().ok_or_else(not_logged_in)
    }

    /// Resolves `arg` against the cwd and checks, on the result, the permission letter that
    /// the command table gives the running command (gate step 5). The jail (step 4) is
    /// enforced by the filesystem on every operation.
    fn path_arg(&self, arg: &str) -> Result<VirtualPath, Reply> {
        let path = self.session.cwd.resolve(arg);
        let user = self.session.user.as_ref().ok_or_else(not_logged_in)?;
        // A command without a letter in the table never reaches a path: refuse, never allow.
        let Some(perm) = self.cmd_perm else {
            return Err(Reply::new(
                ReplyCode::FileUnavailable,
                "Not enough privileges.",
            ));
        };
        if let Err(reply) = super::gate::check_perm(&*self.cfg.authorizer, user, perm, &path) {
            log::info!(
                "{} {} refused reason=perm-denied:{}",
                self.tag(),
                crate::reply::sanitize(path.as_str()),
                perm.letter()
            );
            return Err(reply);
        }
        Ok(path)
    }
}

fn not_logged_in() -> Reply {
    Reply::new(ReplyCode::NotLoggedIn, "Log in with USER and PASS first.")
}

/// The one mapping from a filesystem error to a reply: `550 <reason>.`
pub(crate) fn fs_error(e: &io::Error) -> Reply {
    Reply::new(ReplyCode::FileUnavailable, strerror(e))
}

/// An error's text without Rust's ` (os error N)` suffix, ending in a period.
pub(crate) fn strerror(e: &io::Error) -> String {
    let text = crate::reply::strerror(e);
    if text.ends_with('.') {
        text
    } else {
        format!("{text}.")
    }
}

/// Unwraps a `Result<T, Reply>` inside a handler returning `Reply`.
macro_rules! tri {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(reply) => return reply,
        }
    };
}
pub(crate) use tri;

/// Unwraps a `Result<T, Reply>` inside a handler returning `Option<Reply>`.
macro_rules! tri_some {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(reply) => return Some(reply),
        }
    };
}
pub(crate) use tri_some;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strerror_drops_os_error_suffix() {
        let e = io::Error::from_raw_os_error(2);
        assert_eq!(strerror(&e), "No such file or directory.");
        let custom = io::Error::new(
            io::ErrorKind::PermissionDenied,
            "Can't remove root directory.",
        );
        assert_eq!(strerror(&custom), "Can't remove root directory.");
    }
}
