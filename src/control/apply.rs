//! The engine's other half: running a command through the command core and applying what it
//! decided.
//!
//! The engine (`engine.rs`) builds the core's narrow context ([`Core`]) with
//! [`ControlConn::core`], runs a line through the command core (`ops::run_line`), and hands
//! the [`Outcome`] to [`ControlConn::apply`]. A reply is returned to the engine, which queues
//! it. An [`Action`] is carried out here, because it needs what the core cannot see:
//! filesystem work runs now or on the blocking pool (`offload.rs` decides), and its
//! continuation is called back with the result, possibly after a message from the pool; a
//! transfer starts on the data connection or waits for it; a passive listener or an active
//! connect is spawned on the loop; ABOR stops the data side; a login is checked on the pool.
//! Each of these is one named function below, so a reader following a RETR goes
//! `ops::run_line` → `ops::transfer::retr` → `apply` → `run_fs` → the continuation →
//! `apply` → `start_or_queue`, and later `data_message` → `launch`.
//!
//! News from the data side (a connection is up, a transfer ended) arrives as messages:
//! `DataSide::on_message` (`channel.rs`) turns each into the channel's new state and a list of
//! [`News`], which `data_message` applies in the same way.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::channel::open::Opener;
use super::channel::{final_reply, Channel, News, PendingJob, Transfer};
use super::core::{not_logged_in, Action, Core, Cost, Done, Outcome, Then, Work};
use super::phase::{Phase, WaitFor};
use super::ControlConn;
use crate::auth::AuthError;
use crate::data::Outcome as TransferOutcome;
use crate::ioloop::{ConnId, Flow};
use crate::msg::{Cx, LoginChecked, Msg, TimerKind};
use crate::net::canonical_ip;
use crate::reply::{Reply, ReplyCode};

/// What opening a channel or starting a job needs from this session ([`Opener`]), borrowed
/// field by field so that the data side itself stays free to change.
macro_rules! opener {
    ($conn:expr) => {
        Opener {
            cfg: &$conn.cfg,
            shared: &$conn.shared,
            session: &$conn.session,
            peer: $conn.peer,
            sec: &$conn.sec,
        }
    };
}

impl ControlConn {
    /// The command core's context for the command being run.
    pub(super) fn core(
        &mut self,
        perm: Option<crate::auth::Perm>,
        local: Option<SocketAddr>,
        now: Instant,
    ) -> Core<'_> {
        Core {
            session: &mut self.session,
            cfg: &self.cfg,
            shared: &self.shared,
            data: &self.data,
            peer: self.peer,
            local,
            perm,
            sec: &mut self.sec,
            tls: self.sock.is_tls(),
            conn: self.conn_id,
            now,
        }
    }

    /// The address the client reached us on (asked of the kernel once per session).
    pub(super) fn local_addr(&mut self) -> Option<SocketAddr> {
        if self.data.local.is_none() {
            self.data.local = self
                .sock
                .local_addr()
                .ok()
                .map(|a| SocketAddr::new(canonical_ip(a.ip()), a.port()));
        }
        self.data.local
    }

    /// Carries out what a command decided; the reply to send now, if any.
    pub(super) fn apply(&mut self, outcome: Outcome, cx: &mut Cx<'_>) -> Option<Reply> {
        let action = match outcome {
            Outcome::Reply(reply) => return Some(reply),
            Outcome::Do(action) => action,
        };
        match action {
            Action::Fs { cost, work, then } => self.run_fs(cost, work.0, then, cx),
            Action::Transfer(pj, (t125, t150)) => self.start_or_queue(*pj, (&t125, &t150), cx),
            Action::Passive(plan) => {
                let env = opener!(self);
                Some(self.data.listen(plan, env, cx))
            }
            Action::NoChannel => Some(self.data.no_channel()),
            Action::EpsvAll => {
                self.data.epsv_all = true;
                Some(Reply::new(ReplyCode::Ok, "EPSV ALL command successful."))
            }
            Action::Connect {
                name,
                local,
                target,
            } => {
                let env = opener!(self);
                let started = self.data.connect(name, (local, target), env, cx);
                started
                    .err()
                    .or_else(|| self.wait(Phase::Waiting(WaitFor::Connect)))
            }
            Action::AbortTransfer(data) => {
                cx.send(data, Msg::Abort);
                self.wait(Phase::Waiting(WaitFor::Abort))
            }
            Action::CloseChannel(replies) => self.abandon_channel(replies, cx),
            Action::QuitAfterTransfer => self.wait(Phase::Waiting(WaitFor::Quit)),
            Action::CheckLogin(job) => {
                cx.offload(
                    move || Msg::LoginChecked(Box::new((job.0)())),
                    Msg::LoginChecked(Box::new((Err(AuthError::BadCredentials), None))),
                );
                self.wait(Phase::Authenticating)
            }
            Action::DelayFailure => {
                cx.after(self.cfg.auth_failed_delay, TimerKind::AuthDelay);
                self.wait(Phase::AuthDelay)
            }
            Action::StartTls(reply) => {
                // Discard anything pipelined after AUTH: it arrived in plaintext.
                self.reader.clear();
                self.phase = Phase::TlsUpgrade;
                Some(reply)
            }
            Action::Close(reply) => {
                self.close_when_done();
                Some(reply)
            }
        }
    }

    /// Enters `phase` (a wait: later commands stay queued); the reply comes when it ends.
    fn wait(&mut self, phase: Phase) -> Option<Reply> {
        self.phase = phase;
        None
    }

    /// ABOR without a running transfer: closes the channel and drops a transfer waiting for
    /// it, then sends `replies` (the last one is returned, as a command's reply).
    fn abandon_channel(&mut self, replies: Vec<Reply>, cx: &mut Cx<'_>) -> Option<Reply> {
        if let Some(id) = self.data.abandon() {
            cx.close(id);
        }
        let mut replies = replies.into_iter();
        let last = replies.next_back();
        replies.for_each(|r| self.respond(r));
        last
    }

    /// The blocking pool's answer to a login check: finish the login (or start the delayed
    /// 530), then run the commands that waited.
    pub(in crate::control) fn on_login_checked(
        &mut self,
        checked: LoginChecked,
        cx: &mut Cx<'_>,
    ) -> Flow {
        self.resume_after(Phase::Authenticating, cx, move |core| {
            super::ops::login_checked(core, checked)
        })
    }

    /// The delay after a failed login is over: the 530 (and a close after too many).
    pub(in crate::control) fn on_auth_delay(&mut self, cx: &mut Cx<'_>) -> Flow {
        self.resume_after(Phase::AuthDelay, cx, super::ops::failed_reply)
    }

    /// Continues a command that waited in phase `waited` (a pool job, a delay) with `next`,
    /// sends its reply and runs the commands queued behind it. Nothing happens if the
    /// connection left that phase meanwhile (it is closing).
    pub(super) fn resume_after(
        &mut self,
        waited: Phase,
        cx: &mut Cx<'_>,
        next: impl FnOnce(&mut Core<'_>) -> Outcome,
    ) -> Flow {
        if self.phase != waited {
            return Flow::Continue;
        }
        self.phase = Phase::Ready;
        let outcome = {
            let mut core = self.core(None, self.data.local, cx.now);
            next(&mut core)
        };
        let reply = self.apply(outcome, cx);
        self.finish_deferred(reply);
        self.pump(cx)
    }

    /// Runs filesystem work here and now, or, when the filesystem may be slow (`offload.rs`),
    /// on the blocking pool (the reply is `None` meanwhile and `on_fs_done` continues).
    fn run_fs(&mut self, cost: Cost, work: Work, then: Then, cx: &mut Cx<'_>) -> Option<Reply> {
        let Some(fs) = self.session.fs.as_deref() else {
            return Some(not_logged_in());
        };
        let offload = self
            .fs_timing
            .offload(cost, self.cfg.offload_fs, fs.may_block());
        let Some(shared) = offload.then(|| fs.share()).flatten() else {
            let started = Instant::now();
            let result = work(fs);
            self.fs_timing.record(started.elapsed());
            return self.continue_with(then, result, cx);
        };
        self.phase = Phase::Offloaded;
        self.offloaded = Some(then);
        cx.offload(
            move || {
                let started = Instant::now();
                let result = work(&*shared);
                Msg::FsDone(result, started.elapsed())
            },
            Msg::FsLost,
        );
        None
    }

    /// Calls a command's continuation with its work's result, and applies what it decided.
    fn continue_with(&mut self, then: Then, result: Done, cx: &mut Cx<'_>) -> Option<Reply> {
        let outcome = {
            let mut core = self.core(None, self.data.local, cx.now);
            (then.0)(&mut core, result)
        };
        self.apply(outcome, cx)
    }

    /// The pool's result of `run_fs` (`None`: the job was lost): reply, run what waited.
    pub(in crate::control) fn on_fs_done(
        &mut self,
        result: Option<Done>,
        took: Duration,
        cx: &mut Cx<'_>,
    ) -> Flow {
        let Some(then) = self.offloaded.take() else {
            return Flow::Continue;
        };
        if self.phase == Phase::Offloaded {
            self.fs_timing.record(took);
        }
        self.resume_after(Phase::Offloaded, cx, move |core| match result {
            Some(result) => (then.0)(core, result),
            None => Outcome::Reply(super::core::local_error()),
        })
    }

    /// Closes whatever data connection or acceptor this session has.
    pub(super) fn close_channel(&mut self, cx: &mut Cx<'_>) {
        if let Some(id) = self.data.close() {
            // Synchronously: a passive port must be free before the next PASV binds one.
            cx.close(id);
        }
    }

    /// Starts `pj` now if the data connection is up (125), or queues it (150). `texts` are the
    /// reply texts for those two cases.
    fn start_or_queue(
        &mut self,
        pj: PendingJob,
        texts: (&str, &str),
        cx: &mut Cx<'_>,
    ) -> Option<Reply> {
        match self.data.chan {
            Channel::None => Some(self.data.no_channel()),
            Channel::Ready(id) => {
                self.respond(Reply::new(ReplyCode::AlreadyOpen, texts.0));
                self.launch(id, pj, cx);
                None
            }
            Channel::Passive(_) | Channel::Connecting(_) | Channel::Securing(_) => {
                self.data.pending = Some(Box::new(pj));
                if let Channel::Passive(acceptor) = self.data.chan {
                    cx.send(acceptor, Msg::Accept);
                }
                Some(Reply::new(ReplyCode::AboutToOpen, texts.1))
            }
        }
    }

    /// Hands a job to the connected data connection `id` (an upload that cannot open its
    /// file is answered, and the channel closed).
    fn launch(&mut self, id: ConnId, pj: PendingJob, cx: &mut Cx<'_>) {
        let env = opener!(self);
        let now = cx.now;
        let launched = self.data.launch(id, pj, env, (now, &mut *cx));
        if let Err(reply) = launched {
            self.respond(reply);
            self.close_channel(cx);
        }
    }

    /// A data connection's message: what the data side makes of it ([`News`]), applied.
    pub(super) fn data_message(&mut self, msg: Msg, cx: &mut Cx<'_>) -> Flow {
        for news in self.data.on_message(msg, &self.shared.metrics, cx.now) {
            match news {
                News::Unwanted(id) => cx.send(id, Msg::Abort),
                News::ConnectDone(reply) => {
                    if self.phase == Phase::Waiting(WaitFor::Connect) {
                        self.phase = Phase::Ready;
                        self.respond(reply);
                    }
                }
                News::Launch(id, pj) => self.launch(id, *pj, cx),
                News::Say(reply) => self.respond(reply),
                News::Failed(reason) => {
                    log::info!("{} data connection failed: {reason}", self.tag());
                }
                News::Ended {
                    transfer,
                    outcome,
                    bytes,
                    elapsed,
                } => self.transfer_ended(&transfer, outcome, (bytes, elapsed), cx),
            }
        }
        self.pump(cx)
    }

    /// The running transfer ended: its report, its final reply, and what waited for it (the
    /// 226 of an ABOR, the 221 of a QUIT, the 421 of a drain).
    fn transfer_ended(
        &mut self,
        t: &Transfer,
        outcome: TransferOutcome,
        (bytes, elapsed): (u64, Duration),
        cx: &mut Cx<'_>,
    ) {
        if !t.path.is_empty() {
            let core = self.core(None, None, cx.now);
            super::ops::report_transfer(&core, t, &outcome, (bytes, elapsed));
        }
        self.respond(final_reply(outcome));
        let waited = self.phase.end_wait();
        if waited == Some(WaitFor::Abort) {
            self.respond(Reply::new(
                ReplyCode::TransferComplete,
                "ABOR command successful.",
            ));
        }
        self.touch(cx);
        if waited == Some(WaitFor::Quit) {
            let outcome = {
                let mut core = self.core(None, None, cx.now);
                super::ops::quit(&mut core)
            };
            if let Some(reply) = self.apply(outcome, cx) {
                self.respond(reply);
            }
        } else if self.draining {
            self.say_goodbye_for_shutdown();
        }
    }
}
