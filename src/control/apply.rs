//! The engine's other half: running a command through the command core and applying what it
//! decided.
//!
//! [`ControlConn::dispatch`] builds the core's narrow context ([`Core`]) for the table row
//! being run, calls the command (`ops::run`), and hands the [`Outcome`] to
//! [`ControlConn::apply`]. A reply is returned to the engine, which queues it. An [`Action`] is
//! carried out here, because it needs what the core cannot see: filesystem work runs now or on
//! the blocking pool (`offload.rs` decides), and its continuation is called back with the
//! result, possibly after a message from the pool; a transfer starts on the data connection or
//! waits for it; a passive listener or an active connect is spawned on the loop; ABOR stops the
//! data side. Each of these is one named function below, so a reader following a RETR goes
//! `dispatch` → `ops::transfer::retr` → `apply` → `run_fs` → the continuation → `apply` →
//! `start_or_queue`.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::channel::Channel;
use super::core::{not_logged_in, Action, Core, Done, Outcome, PassivePlan, Then, Work};
use super::phase::{Phase, WaitFor};
use super::table::{CommandSpec, Verb};
use super::ControlConn;
use crate::auth::AuthError;
use crate::data::connect::{bind_passive, connect_active, PassiveAcceptor};
use crate::data::DataConn;
use crate::fs::VirtualPath;
use crate::ioloop::Flow;
use crate::msg::{Cx, LoginChecked, Msg, TimerKind};
use crate::net::canonical_ip;
use crate::reply::{Reply, ReplyCode};

impl ControlConn {
    /// Runs one gated command; the immediate reply, if any.
    pub(super) fn dispatch(
        &mut self,
        spec: &CommandSpec,
        arg: &str,
        rnfr: Option<VirtualPath>,
        cx: &mut Cx<'_>,
    ) -> Option<Reply> {
        let settings = super::settings::Settings {
            session: &mut self.session,
            cfg: &self.cfg,
        };
        if let Some(reply) = super::settings::run(spec.verb, arg, settings) {
            return Some(reply);
        }
        let local = match spec.verb {
            Verb::Pasv | Verb::Epsv | Verb::Port | Verb::Eprt | Verb::Stat => self.local_addr(),
            _ => None,
        };
        let cert = match spec.verb {
            Verb::User | Verb::Pass => super::security::client_cert(&self.sock),
            _ => None,
        };
        let outcome = {
            let mut core = self.core(spec.perm, local, cx.now);
            core.cert = cert;
            super::ops::run(&mut core, spec.verb, arg, rnfr)
        };
        self.apply(outcome, cx)
    }

    /// A custom SITE command (`--site-command`), if `line` is one.
    pub(super) fn site_extension(&mut self, line: &str, cx: &mut Cx<'_>) -> Option<Reply> {
        let core = self.core(None, None, cx.now);
        super::ops::custom_site(&core, line)
    }

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
            cert: None,
            conn: self.conn_id,
            now,
        }
    }

    /// The address the client reached us on (asked of the kernel once per session).
    fn local_addr(&mut self) -> Option<SocketAddr> {
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
            Action::Fs { pool, work, then } => self.run_fs(pool, work.0, then, cx),
            Action::Transfer(pj, (t125, t150)) => self.start_or_queue(*pj, (&t125, &t150), cx),
            Action::Passive(plan) => Some(self.open_passive(plan, cx)),
            Action::NoChannel => Some(self.no_channel()),
            Action::EpsvAll => {
                self.data.epsv_all = true;
                Some(Reply::new(ReplyCode::Ok, "EPSV ALL command successful."))
            }
            Action::Connect {
                name,
                local,
                target,
            } => self.connect_data(name, local, target, cx),
            Action::AbortTransfer(data) => {
                cx.send(data, Msg::Abort);
                self.phase = Phase::Waiting(WaitFor::Abort);
                None
            }
            Action::CloseChannel(replies) => {
                self.close_channel(cx);
                let mut replies = replies.into_iter();
                let last = replies.next_back();
                replies.for_each(|r| self.respond(r));
                last
            }
            Action::QuitAfterTransfer => {
                self.phase = Phase::Waiting(WaitFor::Quit);
                None
            }
            Action::CheckLogin(job) => {
                self.phase = Phase::Authenticating;
                cx.offload(
                    move || Msg::LoginChecked(Box::new((job.0)())),
                    Msg::LoginChecked(Box::new((Err(AuthError::BadCredentials), None))),
                );
                None
            }
            Action::DelayFailure => {
                self.phase = Phase::AuthDelay;
                cx.after(self.cfg.auth_failed_delay, TimerKind::AuthDelay);
                None
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

    /// The blocking pool's answer to a login check: finish the login (or start the delayed
    /// 530), then run the commands that waited.
    pub(in crate::control) fn on_login_checked(
        &mut self,
        checked: LoginChecked,
        cx: &mut Cx<'_>,
    ) -> Flow {
        if self.phase != Phase::Authenticating {
            return Flow::Continue;
        }
        self.phase = Phase::Ready;
        let cert = super::security::client_cert(&self.sock);
        let outcome = {
            let mut core = self.core(None, None, cx.now);
            core.cert = cert;
            super::ops::login_checked(&mut core, checked)
        };
        let reply = self.apply(outcome, cx);
        self.finish_deferred(reply);
        self.pump(cx)
    }

    /// The delay after a failed login is over: the 530 (and a close after too many).
    pub(in crate::control) fn on_auth_delay(&mut self, cx: &mut Cx<'_>) -> Flow {
        if self.phase != Phase::AuthDelay {
            return Flow::Continue;
        }
        self.phase = Phase::Ready;
        let outcome = {
            let mut core = self.core(None, None, cx.now);
            super::ops::failed_reply(&mut core)
        };
        if let Some(reply) = self.apply(outcome, cx) {
            self.respond(reply);
        }
        self.pump(cx)
    }

    /// The logged-in user leaves (disconnect): see `access::end_session`.
    pub(in crate::control) fn end_user_session(&mut self, now: Instant) {
        let mut core = self.core(None, None, now);
        super::ops::end_session(&mut core);
    }

    /// Called by `pump` once the 234 is sent: switch the socket to TLS.
    pub(super) fn start_tls(&mut self) -> io::Result<()> {
        let config = self
            .sec
            .config
            .clone()
            .ok_or_else(|| io::Error::other("TLS is not configured"))?;
        // Bytes read between the AUTH line and now were sent in plaintext: never run them.
        self.reader.clear();
        self.drained = false;
        self.sock.upgrade(config, Some(&self.sec.token))?;
        self.phase = Phase::Ready;
        Ok(())
    }

    /// Runs filesystem work here and now, or, when the filesystem may be slow (`offload.rs`),
    /// on the blocking pool (the reply is `None` meanwhile and `on_fs_done` continues).
    fn run_fs(&mut self, pool: bool, work: Work, then: Then, cx: &mut Cx<'_>) -> Option<Reply> {
        let Some(fs) = self.session.fs.as_deref() else {
            return Some(not_logged_in());
        };
        let offload = pool || self.fs_timing.offload(self.cfg.offload_fs, fs.may_block());
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
        if self.phase != Phase::Offloaded {
            // Closing meanwhile (idle timeout, shutdown): the answer is not wanted.
            return Flow::Continue;
        }
        self.phase = Phase::Ready;
        self.fs_timing.record(took);
        let reply = match result {
            Some(result) => self.continue_with(then, result, cx),
            None => Some(super::core::local_error()),
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

    /// Listens on a port of the passive range (after closing any previous channel), spawns
    /// the acceptor that waits there for the client, and answers with the address.
    fn open_passive(&mut self, plan: PassivePlan, cx: &mut Cx<'_>) -> Reply {
        self.close_channel(cx);
        let (listener, port) = match bind_passive(plan.ip, self.cfg.passive_ports.as_ref()) {
            Ok(l) => l,
            Err(e) if e.kind() == io::ErrorKind::AddrInUse => {
                log::warn!("{} no free port in the passive range: {e}", self.tag());
                self.shared.metrics.passive_exhausted();
                return Reply::new(
                    ReplyCode::CantOpenData,
                    "Can't open passive connection: every passive port is busy.",
                );
            }
            Err(e) => {
                log::warn!("{} cannot open passive port: {e}", self.tag());
                return cant_open_passive();
            }
        };
        let acceptor = PassiveAcceptor::new(
            listener,
            cx.me(),
            self.peer.ip(),
            Arc::clone(&self.cfg),
            Arc::clone(&self.data.progress),
            self.sec.data_tls(&self.cfg),
            self.shared.metrics.passive_listeners(),
        );
        let id = match cx.spawn(acceptor.into()) {
            Ok(id) => id,
            Err(e) => {
                log::warn!("{} cannot register passive listener: {e}", self.tag());
                return cant_open_passive();
            }
        };
        cx.send(id, Msg::Start);
        self.data.chan = Channel::Passive(id);
        super::ops::passive_reply(plan, port)
    }

    /// Starts the connect to `target` (after closing any previous channel) in a new data
    /// connection; the reply comes with its outcome (`Phase::Waiting(WaitFor::Connect)`).
    fn connect_data(
        &mut self,
        name: &str,
        local: IpAddr,
        target: SocketAddr,
        cx: &mut Cx<'_>,
    ) -> Option<Reply> {
        self.close_channel(cx);
        let stream = match connect_active(local, target) {
            Ok(s) => s,
            Err(e) => {
                log::info!("{} {name} connect to {target} failed: {e}", self.tag());
                return Some(cant_connect());
            }
        };
        let conn = DataConn::connecting(
            stream,
            cx.me(),
            Arc::clone(&self.cfg),
            Arc::clone(&self.data.progress),
            self.sec.data_tls(&self.cfg),
        );
        match cx.spawn(conn.into()) {
            Ok(id) => {
                cx.send(id, Msg::Start);
                self.data.chan = Channel::Connecting(id);
                self.phase = Phase::Waiting(WaitFor::Connect);
                None
            }
            Err(_) => Some(cant_connect()),
        }
    }
}

fn cant_open_passive() -> Reply {
    Reply::new(ReplyCode::CantOpenData, "Can't open passive connection.")
}

fn cant_connect() -> Reply {
    Reply::new(
        ReplyCode::CantOpenData,
        "Can't connect to specified address.",
    )
}
