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

use std::any::Any;
use std::io;
use std::time::{Duration, Instant};

use super::offload::Then;
use super::table::Verb;
use super::{ControlConn, Phase};
use crate::fs::{Filesystem, VirtualPath};
use crate::ioloop::Flow;
use crate::msg::{Cx, Msg};
use crate::reply::{Reply, ReplyCode};

/// The reply when the pool lost a command's work.
fn local_error_reply() -> Reply {
    Reply::new(
        ReplyCode::LocalError,
        "Requested action aborted: local error in processing.",
    )
}

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
        let settings = super::settings::Settings {
            session: &mut self.session,
            cfg: &self.cfg,
        };
        if let Some(reply) = super::settings::run(verb, arg, settings) {
            return Some(reply);
        }
        let reply = match verb {
            Verb::User => return self.ftp_user(arg, cx),
            Verb::Pass => return self.ftp_pass(arg, cx),
            Verb::Quit if self.data.transfer.is_some() => {
                // RFC 959: QUIT waits for the transfer in progress, then says 221.
                self.phase = Phase::Waiting(super::WaitFor::Quit);
                return None;
            }
            Verb::Quit => self.ftp_quit(),
            Verb::Rein => self.ftp_rein(),
            Verb::Host => self.ftp_host(),
            Verb::Auth => self.ftp_auth(arg),
            Verb::Pbsz => self.ftp_pbsz(arg),
            Verb::Prot => self.ftp_prot(arg),
            Verb::Ccc => self.ftp_ccc(),
            _ => return self.dispatch_disk(verb, arg, rnfr, cx),
        };
        Some(reply)
    }

    /// The commands that touch the disk or the data channel (the rest of `dispatch`).
    fn dispatch_disk(
        &mut self,
        verb: Verb,
        arg: &str,
        rnfr: Option<VirtualPath>,
        cx: &mut Cx<'_>,
    ) -> Option<Reply> {
        let reply = match verb {
            Verb::Avbl => return self.ftp_avbl(arg, cx),
            Verb::Hash | Verb::Xcrc | Verb::Xmd5 | Verb::Xsha1 | Verb::Xsha256 | Verb::Xsha512 => {
                return self.ftp_hash(verb, arg, cx)
            }
            Verb::Cwd => return self.ftp_cwd(arg, cx),
            Verb::Cdup => return self.ftp_cwd("..", cx),
            Verb::Mkd => return self.ftp_mkd(arg, cx),
            Verb::Rmd => return self.ftp_rmd(arg, cx),
            Verb::Dele => return self.ftp_dele(arg, cx),
            Verb::Rnfr => return self.ftp_rnfr(arg, cx),
            Verb::Rnto => return self.ftp_rnto(arg, rnfr, cx),
            Verb::Size => return self.ftp_size(arg, cx),
            Verb::Mdtm => return self.ftp_mdtm(arg, cx),
            Verb::Mfmt => return self.ftp_mfmt(arg, cx),
            Verb::SiteChmod => return self.ftp_site_chmod(arg, cx),
            Verb::Stat => return self.ftp_stat(arg, cx),
            Verb::Pasv => self.ftp_pasv(false, arg, cx),
            Verb::Epsv => self.ftp_pasv(true, arg, cx),
            Verb::Port => return self.ftp_port(false, arg, cx),
            Verb::Eprt => return self.ftp_port(true, arg, cx),
            Verb::Retr => return self.ftp_retr(arg, cx),
            Verb::Stor => return self.ftp_stor(arg, false, cx),
            Verb::Appe => return self.ftp_stor(arg, true, cx),
            Verb::Stou => return self.ftp_stou(arg, cx),
            Verb::Abor => return self.ftp_abor(cx),
            Verb::List => return self.ftp_list(listing::ListKind::List, arg, cx),
            Verb::Nlst => return self.ftp_list(listing::ListKind::Nlst, arg, cx),
            Verb::Mlsd => return self.ftp_list(listing::ListKind::Mlsd, arg, cx),
            Verb::Mlst => return self.ftp_mlst(arg, cx),
            _ => Reply::new(ReplyCode::NotImplemented, "Command not implemented."),
        };
        Some(reply)
    }
    /// Logs a state-changing command with its reply code; returns the reply.
    fn log_change(&self, name: &str, arg: &str, reply: Reply) -> Reply {
        log::info!(
            "{} {} {} -> {}",
            self.tag(),
            name,
            crate::reply::sanitize(arg),
            reply.code()
        );
        reply
    }

    /// Runs `work` with the session's filesystem and `then` on its result to make the reply:
    /// here and now, or, when the filesystem may be slow (`offload.rs`), `work` on the
    /// blocking pool and `then` when its result is back (the reply is `None` meanwhile).
    fn with_fs<T: Send + 'static>(
        &mut self,
        cx: &mut Cx<'_>,
        work: impl FnOnce(&dyn Filesystem) -> T + Send + 'static,
        then: impl FnOnce(&mut Self, T, &mut Cx<'_>) -> Option<Reply> + Send + 'static,
    ) -> Option<Reply> {
        self.on_fs(cx, false, work, then)
    }

    /// `with_fs`, but `work` always goes to the pool (when the filesystem can share itself):
    /// for work that is long on any disk, such as hashing a file.
    fn on_pool<T: Send + 'static>(
        &mut self,
        cx: &mut Cx<'_>,
        work: impl FnOnce(&dyn Filesystem) -> T + Send + 'static,
        then: impl FnOnce(&mut Self, T) -> Reply + Send + 'static,
    ) -> Option<Reply> {
        self.on_fs(cx, true, work, move |c, result, _| Some(then(c, result)))
    }

    fn on_fs<T: Send + 'static>(
        &mut self,
        cx: &mut Cx<'_>,
        always: bool,
        work: impl FnOnce(&dyn Filesystem) -> T + Send + 'static,
        then: impl FnOnce(&mut Self, T, &mut Cx<'_>) -> Option<Reply> + Send + 'static,
    ) -> Option<Reply> {
        let fs = match self.fs() {
            Ok(fs) => fs,
            Err(reply) => return Some(reply),
        };
        let offload = always || self.fs_timing.offload(self.cfg.offload_fs, fs.may_block());
        let Some(shared) = offload.then(|| fs.share()).flatten() else {
            let started = Instant::now();
            let result = work(fs);
            self.fs_timing.record(started.elapsed());
            return then(self, result, cx);
        };
        self.phase = Phase::Offloaded;
        self.offloaded = Some(Then(Box::new(
            move |c: &mut Self, result: Box<dyn Any + Send>, cx: &mut Cx<'_>| match result
                .downcast::<T>()
            {
                Ok(result) => then(c, *result, cx),
                Err(_) => Some(local_error_reply()),
            },
        )));
        cx.offload(
            move || {
                let started = Instant::now();
                let result = work(&*shared);
                Msg::FsDone(Box::new(result), started.elapsed())
            },
            Msg::FsLost,
        );
        None
    }

    /// [`with_fs`](Self::with_fs) for a command whose continuation always has its reply.
    fn with_fs_reply<T: Send + 'static>(
        &mut self,
        cx: &mut Cx<'_>,
        work: impl FnOnce(&dyn Filesystem) -> T + Send + 'static,
        then: impl FnOnce(&mut Self, T) -> Reply + Send + 'static,
    ) -> Option<Reply> {
        self.with_fs(cx, work, move |c, result, _| Some(then(c, result)))
    }

    /// The pool's result of `with_fs` (`None`: the job was lost): reply, run what waited.
    pub(in crate::control) fn on_fs_done(
        &mut self,
        result: Option<Box<dyn Any + Send>>,
        took: Duration,
        cx: &mut Cx<'_>,
    ) -> Flow {
        let Some(then) = self.offloaded.take() else {
            return Flow::Continue;
        };
        if self.phase != Phase::Offloaded {
            // Closing meanwhile (idle timeout, shutdown): the answer is not wanted.
            return Flow::Continue;
        }
        self.phase = Phase::Ready;
        self.fs_timing.record(took);
        let reply = match result {
            Some(result) => (then.0)(self, result, cx),
            None => Some(local_error_reply()),
        };
        self.finish_deferred(reply);
        self.pump(cx)
    }

    /// Sends the reply of a command that was answered later (PASS, an offloaded command), and
    /// its command event, which `on_line` held back.
    pub(in crate::control) fn finish_deferred(&mut self, reply: Option<Reply>) {
        if let Some(command) = self.deferred_cmd.take() {
            // A wrong password is answered 530 after the delay (`auth_failed_reply`).
            let code = match &reply {
                Some(r) => Some(r.code().as_u16()),
                None if self.phase == Phase::AuthDelay => Some(530),
                None => None,
            };
            self.count_command(&command, code);
        }
        if let Some(reply) = reply {
            self.respond(reply);
        }
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
