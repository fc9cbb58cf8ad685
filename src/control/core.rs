//! The command core: what a command decides, without doing any I/O.
//!
//! A command is a function from a narrow context, [`Core`], and its arguments to an
//! [`Outcome`]: a reply to send now, or an [`Action`] that only the connection's engine can
//! carry out, because it touches a socket, a timer, the dispatcher or another thread: run
//! filesystem calls (here or on the blocking pool) and continue with their result, open a
//! passive listener, connect to the client, start a transfer, stop one, switch to TLS, check a
//! password on the pool, close. The engine (`apply.rs`) applies the action and, when the action
//! carries a continuation, calls it back with the result, which returns the next outcome.
//!
//! This is the shape of sans-I/O protocol libraries (rustls, quinn-proto): the protocol's
//! decisions are plain functions, so each command can be tested by building a `Core` over a
//! session and calling it (`ops/tests.rs`), no socket needed; the socket-level tests in
//! `tests/` check the same commands end to end.
//!
//! The context is narrow on purpose. A command sees the session's state (which it may change:
//! CWD changes the directory, RNFR remembers the source), the configuration, the server-wide
//! state, a read-only view of its data side, the client's address and the permission letter
//! of the table row being run, passed in rather than stashed. It cannot see the socket, the
//! reply buffer or the phase of the connection.

use std::any::Any;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use super::channel::{DataSide, PassivePlan, PendingJob};
use super::security::SecState;
use super::session::Session;
use crate::auth::Perm;
use crate::config::Config;
use crate::fs::{Filesystem, VirtualPath};
use crate::ioloop::ConnId;
use crate::msg::LoginChecked;
use crate::reply::{Reply, ReplyCode};
use crate::state::Shared;

/// What a command sees (see the module docs).
pub(super) struct Core<'a> {
    /// The session's state; commands may change it.
    pub session: &'a mut Session,
    /// The server's configuration.
    pub cfg: &'a Arc<Config>,
    /// Server-wide state: quotas, hash cache, metrics, sessions per user.
    pub shared: &'a Arc<Shared>,
    /// The data side, read-only: whether a transfer runs, which channel is open.
    pub data: &'a DataSide,
    /// The client's address.
    pub peer: SocketAddr,
    /// The address the client reached us on, when the command needs it (PASV, PORT, STAT).
    pub local: Option<SocketAddr>,
    /// The permission letter of the table row being run.
    pub perm: Option<Perm>,
    /// The session's TLS state (PBSZ, PROT).
    pub sec: &'a mut SecState,
    /// The control connection is under TLS.
    pub tls: bool,
    /// The connection's number, for events.
    pub conn: u64,
    /// The time of the event being handled.
    pub now: Instant,
}

/// A result of filesystem work on its way back, type-erased (it may travel through a
/// message from the pool).
pub(super) type Done = Box<dyn Any + Send>;

/// Filesystem work: runs with the user's filesystem, on the loop or a worker.
pub(super) type Work = Box<dyn FnOnce(&dyn Filesystem) -> Done + Send>;

/// What a command does with its filesystem work's result.
pub(super) trait Continue: for<'a> FnOnce(&mut Core<'a>, Done) -> Outcome + Send {}
impl<F: for<'a> FnOnce(&mut Core<'a>, Done) -> Outcome + Send> Continue for F {}

/// A continuation, kept while the work runs.
pub(super) struct Then(pub Box<dyn Continue>);

impl std::fmt::Debug for Then {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Then(..)")
    }
}

/// What a command decided.
#[must_use]
#[derive(Debug)]
pub(super) enum Outcome {
    /// Send this reply now.
    Reply(Reply),
    /// Do this; the reply comes from it.
    Do(Action),
}

/// What only the engine can do for a command.
#[derive(Debug)]
pub(super) enum Action {
    /// Run `work` with the filesystem (here or on the pool, by its `cost` and
    /// `--offload-fs`), then `then` with its result.
    Fs {
        /// How long the work may take, which decides where it runs.
        cost: Cost,
        /// The filesystem calls.
        work: WorkBox,
        /// What makes the outcome from their result.
        then: Then,
    },
    /// Start this transfer on the data connection if it is up (`125`), or queue it (`150`);
    /// the texts of those two replies.
    Transfer(Box<PendingJob>, (String, String)),
    /// Close any data channel and listen for the client's data connection (PASV, EPSV).
    Passive(PassivePlan),
    /// A transfer command without a data channel: `425`, or why the last one was refused
    /// (said once).
    NoChannel,
    /// EPSV ALL (RFC 2428 §4): from now on only EPSV opens data connections; `200`.
    EpsvAll,
    /// Close any data channel and connect to the client (PORT, EPRT); the reply waits for
    /// the connect.
    Connect {
        /// `PORT` or `EPRT`, for the log.
        name: &'static str,
        /// The local address to connect from.
        local: IpAddr,
        /// The client's data port.
        target: SocketAddr,
    },
    /// ABOR during a transfer: stop it on this data connection; its end says `426`, then
    /// `226` follows.
    AbortTransfer(ConnId),
    /// ABOR: close the data channel and drop a transfer waiting for it
    /// (`DataSide::abandon`), then send these replies.
    CloseChannel(Vec<Reply>),
    /// QUIT while a transfer runs: `221` once it has ended (RFC 959).
    QuitAfterTransfer,
    /// Check a login on the blocking pool (the password's hash is slow on purpose, a quota's
    /// first measure reads the disk); `access::login_checked` continues with the answer.
    CheckLogin(LoginJob),
    /// A login failed: the `530` comes after `--auth-failed-delay` (RFC 2577), and commands
    /// wait meanwhile; `access::failed_reply` makes it.
    DelayFailure,
    /// AUTH TLS: send this `234`, then start the handshake; whatever the client pipelined
    /// after AUTH is thrown away unread.
    StartTls(Reply),
    /// Send this reply, then close the connection.
    Close(Reply),
}

/// The pool's side of a login check.
pub(super) struct LoginJob(pub Box<dyn FnOnce() -> LoginChecked + Send>);

impl std::fmt::Debug for LoginJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LoginJob(..)")
    }
}

/// How long filesystem work may take, which decides where it runs (`offload.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Cost {
    /// The calls of a command (stat, open, unlink, rename, mkdir, set times, a directory's
    /// first entries): microseconds on a local disk. `--offload-fs auto` runs them on the loop
    /// while the session's calls are fast, measured.
    Light,
    /// Long on any disk (hashing a whole file): always on the pool.
    Long,
}

/// [`Work`], with a `Debug` for the action's.
pub(super) struct WorkBox(pub Work);

impl std::fmt::Debug for WorkBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Work(..)")
    }
}

impl From<Reply> for Outcome {
    fn from(reply: Reply) -> Outcome {
        Outcome::Reply(reply)
    }
}

impl From<Action> for Outcome {
    fn from(action: Action) -> Outcome {
        Outcome::Do(action)
    }
}

/// Filesystem work and its continuation, typed: `work`'s result reaches `then` as a `T`.
pub(super) fn fs<T: Send + 'static>(
    work: impl FnOnce(&dyn Filesystem) -> T + Send + 'static,
    then: impl for<'a> FnOnce(&mut Core<'a>, T) -> Outcome + Send + 'static,
) -> Outcome {
    typed(Cost::Light, work, then)
}

/// [`fs`], always on the pool.
pub(super) fn pool<T: Send + 'static>(
    work: impl FnOnce(&dyn Filesystem) -> T + Send + 'static,
    then: impl for<'a> FnOnce(&mut Core<'a>, T) -> Outcome + Send + 'static,
) -> Outcome {
    typed(Cost::Long, work, then)
}

fn typed<T: Send + 'static>(
    cost: Cost,
    work: impl FnOnce(&dyn Filesystem) -> T + Send + 'static,
    then: impl for<'a> FnOnce(&mut Core<'a>, T) -> Outcome + Send + 'static,
) -> Outcome {
    let work: Work = Box::new(move |fs| Box::new(work(fs)) as Done);
    let then = move |core: &mut Core<'_>, done: Done| match done.downcast::<T>() {
        Ok(result) => then(core, *result),
        Err(_) => Outcome::Reply(local_error()),
    };
    Outcome::Do(Action::Fs {
        cost,
        work: WorkBox(work),
        then: Then(Box::new(then)),
    })
}

/// The reply when the pool lost a command's work.
pub(super) fn local_error() -> Reply {
    Reply::new(
        ReplyCode::LocalError,
        "Requested action aborted: local error in processing.",
    )
}

pub(super) use crate::reply::not_logged_in;

impl Core<'_> {
    /// Resolves `arg` against the cwd and checks, on the result, the permission letter that
    /// the command table gives the running command (gate step 5). The jail (step 4) is
    /// enforced by the filesystem on every operation.
    pub fn path(&self, arg: &str) -> Result<VirtualPath, Reply> {
        let path = self.session.cwd.resolve(arg);
        let user = self.session.user.as_ref().ok_or_else(not_logged_in)?;
        // A command without a letter in the table never reaches a path: refuse, never allow.
        let Some(perm) = self.perm else {
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

    /// Who this session is, for hooks.
    pub fn info(&self) -> crate::hooks::SessionInfo<'_> {
        crate::hooks::SessionInfo {
            peer: self.peer,
            user: self.session.log_name(),
        }
    }

    /// `ip:port-[user]`, the prefix of every log line about this session.
    pub fn tag(&self) -> String {
        super::session_tag(self.peer, self.session)
    }

    /// Hands `event` to the configured event sinks.
    pub fn emit(&self, event: &crate::events::Event<'_>) {
        for sink in &self.cfg.events {
            sink.event(event);
        }
    }

    /// Logs a state-changing command with its reply code; returns the reply as the outcome.
    pub fn log_change(&self, name: &str, arg: &str, reply: Reply) -> Outcome {
        log::info!(
            "{} {} {} -> {}",
            self.tag(),
            name,
            crate::reply::sanitize(arg),
            reply.code()
        );
        Outcome::Reply(reply)
    }
}
