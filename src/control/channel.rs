//! The control connection's side of the data channel: which data connection it owns, the
//! transfer waiting for it, the transfer running on it, and the messages it gets back.
//!
//! The order of replies is RFC 959's: a transfer command gets `150` (the data connection is
//! still to come) or `125` (it is already open); the final `226`/`426`/`451`... is sent only when
//! the data connection reports that it has closed its socket and its file. Meanwhile the control
//! connection keeps serving commands (STAT shows progress, ABOR stops the transfer), except in the
//! `Waiting` phase: after PORT/EPRT until the connect finishes, after ABOR until the transfer
//! reports back, and after QUIT until the transfer ends.
//!
//! A data connection is *up* when its TCP connection is established and, under `PROT P`, its
//! TLS handshake has finished and passed the session-reuse check (`Channel::Securing` in
//! between). Only then is a waiting job launched, and only then does an upload open its file
//! (`upload.rs`): a refused connection changes nothing on disk.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::table::{Direction, Verb};
use super::upload::UploadPlan;
use super::{ControlConn, Phase, WaitFor};
use crate::data::{Job, Outcome, Progress, Start, TransferResult};
use crate::ioloop::{ConnId, Flow};
use crate::msg::{Cx, Msg};
use crate::reply::{Reply, ReplyCode};

/// The data connection of a control connection, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) enum Channel {
    /// None: a transfer command now gets 425.
    #[default]
    None,
    /// PASV/EPSV: an acceptor waits for the client.
    Passive(ConnId),
    /// PORT/EPRT: we are connecting to the client.
    Connecting(ConnId),
    /// PROT P: connected; the TLS handshake and the reuse check are still running.
    Securing(ConnId),
    /// Connected and idle, or transferring.
    Ready(ConnId),
}

impl Channel {
    fn id(self) -> Option<ConnId> {
        match self {
            Channel::None => None,
            Channel::Passive(id)
            | Channel::Connecting(id)
            | Channel::Securing(id)
            | Channel::Ready(id) => Some(id),
        }
    }
}

/// What a transfer command will hand to its data connection.
#[derive(Debug)]
pub(super) enum Work {
    /// A download or a listing, ready to go.
    Job(Job),
    /// An upload, opened only once the data connection is up.
    Upload(UploadPlan),
}

/// A transfer command accepted before its data connection is up.
#[derive(Debug)]
pub(super) struct PendingJob {
    /// What the data connection will do.
    pub work: Work,
    /// The transfer command (RETR, STOR, LIST...): its name for the log line and the events,
    /// its direction for the hooks.
    pub verb: Verb,
    /// The virtual path, for the log.
    pub path: String,
    /// Bytes to send, when known (RETR), for progress reports.
    pub total: Option<u64>,
}

/// A transfer in progress.
#[derive(Debug)]
pub(super) struct Transfer {
    /// The data connection moving it.
    pub data: ConnId,
    verb: Verb,
    path: String,
    /// When it was launched (STAT shows the elapsed time).
    pub started: Instant,
}

/// What the control connection tracks about data connections.
#[derive(Debug, Default)]
pub(super) struct DataSide {
    pub chan: Channel,
    /// A transfer command waiting for its data connection (boxed: an idle session keeps
    /// only the pointer's room).
    pub pending: Option<Box<PendingJob>>,
    pub transfer: Option<Transfer>,
    /// Bytes moved by the current data connection (shared with it, for STAT).
    pub progress: Arc<AtomicU64>,
    /// PROT P: the data connection was refused (TLS) before any transfer asked for it; the
    /// next transfer command gets this reply instead of `425`.
    pub refusal: Option<Reply>,
    /// EPSV ALL was sent: PORT, EPRT and PASV are refused from now on (RFC 2428 §4).
    pub epsv_all: bool,
    /// The control connection's local address, once asked (the address data connections
    /// use).
    pub local: Option<std::net::SocketAddr>,
}

impl DataSide {
    /// Bytes moved so far by the running transfer.
    pub fn bytes(&self) -> u64 {
        self.progress.load(Ordering::Relaxed)
    }
}

impl ControlConn {
    /// Closes whatever data connection or acceptor this session has (PASV replaces PASV).
    pub(super) fn close_channel(&mut self, cx: &mut Cx<'_>) {
        if let Some(id) = self.data.chan.id() {
            // Synchronously: a passive port must be free before the next PASV binds one.
            cx.close(id);
        }
        self.data.chan = Channel::None;
        self.data.refusal = None;
        self.data.progress = Arc::new(AtomicU64::new(0));
    }

    /// The reply to a transfer command without a data channel: why the last one was refused,
    /// or `425`.
    pub(super) fn no_channel(&mut self) -> Reply {
        self.data
            .refusal
            .take()
            .unwrap_or_else(|| Reply::new(ReplyCode::CantOpenData, "Use PORT or PASV first."))
    }

    /// Starts `pj` now if the data connection is up (125), or queues it (150). `texts` are the
    /// reply texts for those two cases.
    pub(super) fn start_or_queue(
        &mut self,
        pj: PendingJob,
        texts: (&str, &str),
        cx: &mut Cx<'_>,
    ) -> Option<Reply> {
        match self.data.chan {
            Channel::None => Some(self.no_channel()),
            Channel::Ready(id) => {
                self.respond(Reply::new(ReplyCode::AlreadyOpen, texts.0));
                self.launch(id, pj, cx);
                None
            }
            Channel::Passive(_) | Channel::Connecting(_) | Channel::Securing(_) => {
                self.data.pending = Some(Box::new(pj));
                Some(Reply::new(ReplyCode::AboutToOpen, texts.1))
            }
        }
    }

    /// Hands a job to the connected data connection `id`.
    fn launch(&mut self, id: ConnId, pj: PendingJob, cx: &mut Cx<'_>) {
        let job = match pj.work {
            Work::Job(job) => job,
            Work::Upload(plan) => match self
                .session
                .fs
                .as_deref()
                .ok_or_else(super::core::not_logged_in)
                .and_then(|fs| plan.open(fs))
            {
                Ok(sink) => Job::Receive(sink),
                Err(reply) => {
                    self.respond(reply);
                    self.close_channel(cx);
                    return;
                }
            },
        };
        self.data.transfer = Some(Transfer {
            data: id,
            verb: pj.verb,
            path: pj.path.clone(),
            started: cx.now,
        });
        let upload = matches!(job, Job::Receive(_));
        let user_bucket = self.session.user.as_ref().and_then(|u| {
            let rate = if upload {
                u.limits.read_limit
            } else {
                u.limits.write_limit
            };
            (rate > 0).then(|| self.shared.user_bucket(&u.name, upload, rate))
        });
        let progress = (!pj.path.is_empty()).then(|| Progress {
            hooks: std::sync::Arc::clone(&self.cfg.hooks),
            peer: self.peer,
            user: self.session.log_name().to_owned(),
            path: pj.path.clone(),
            total: pj.total,
            last: None,
        });
        cx.send(
            id,
            Msg::DataStart(Box::new(Start {
                job,
                user_bucket,
                progress,
                meter: Some(self.shared.metrics.data_bytes(upload)),
            })),
        );
    }

    /// Handles the data side's messages.
    pub(super) fn data_message(&mut self, msg: Msg, cx: &mut Cx<'_>) -> Flow {
        match msg {
            Msg::DataConnected { id, via, securing } => self.on_connected(id, via, securing, cx),
            Msg::DataSecured { id } => self.on_secured(id, cx),
            Msg::DataRefused { id, reply } => self.on_refused(id, reply, cx),
            Msg::DataFailed { id, reason } => self.on_failed(id, &reason, cx),
            Msg::DataClosed { id, result } => self.on_closed(id, result, cx),
            _ => {}
        }
        self.pump(cx)
    }

    fn on_connected(&mut self, id: ConnId, via: ConnId, securing: bool, cx: &mut Cx<'_>) {
        match self.data.chan {
            Channel::Passive(a) | Channel::Connecting(a) if a == via => {}
            _ => {
                // A connection for a channel we no longer want.
                cx.send(id, Msg::Abort);
                return;
            }
        }
        let active = matches!(self.data.chan, Channel::Connecting(_));
        // PORT's 200 comes with the TCP connection: the client starts its TLS handshake
        // only after it has sent the transfer command.
        if active && self.phase == Phase::Waiting(WaitFor::Connect) {
            self.phase = Phase::Ready;
            self.respond(Reply::new(
                ReplyCode::Ok,
                "Active data connection established.",
            ));
        }
        if securing {
            self.data.chan = Channel::Securing(id);
        } else {
            self.on_up(id, cx);
        }
    }

    fn on_secured(&mut self, id: ConnId, cx: &mut Cx<'_>) {
        self.shared.metrics.tls_handshake("data", true);
        if self.data.chan == Channel::Securing(id) {
            self.on_up(id, cx);
        }
    }

    /// The data connection is up: a waiting job starts now.
    fn on_up(&mut self, id: ConnId, cx: &mut Cx<'_>) {
        self.data.chan = Channel::Ready(id);
        if let Some(pj) = self.data.pending.take() {
            self.launch(id, *pj, cx);
        }
    }

    /// PROT P: the data connection failed its handshake or reuse check. A waiting transfer
    /// gets the refusal; nothing of it was opened yet.
    fn on_refused(&mut self, id: ConnId, reply: Reply, _cx: &mut Cx<'_>) {
        self.shared.metrics.tls_handshake("data", false);
        if self.data.chan != Channel::Securing(id) {
            return;
        }
        self.data.chan = Channel::None;
        if self.data.pending.take().is_some() {
            self.respond(reply);
        } else {
            self.data.refusal = Some(reply);
        }
    }

    fn on_failed(&mut self, id: ConnId, reason: &str, _cx: &mut Cx<'_>) {
        if self.data.chan.id() != Some(id) {
            return;
        }
        log::info!("{} data connection failed: {reason}", self.tag());
        let active = matches!(self.data.chan, Channel::Connecting(_));
        self.data.chan = Channel::None;
        if active && self.phase == Phase::Waiting(WaitFor::Connect) {
            self.phase = Phase::Ready;
            self.respond(Reply::new(
                ReplyCode::CantOpenData,
                "Can't connect to specified address.",
            ));
        }
        if self.data.pending.take().is_some() {
            self.respond(Reply::new(
                ReplyCode::CantOpenData,
                format!("Can't open data connection: {reason}."),
            ));
        }
    }

    fn on_closed(&mut self, id: ConnId, result: Option<TransferResult>, cx: &mut Cx<'_>) {
        if matches!(self.data.chan, Channel::Ready(c) | Channel::Securing(c) if c == id) {
            self.data.chan = Channel::None;
            if self.data.pending.take().is_some() {
                // Closed during its TLS handshake, before a job could start.
                self.respond(Reply::new(
                    ReplyCode::CantOpenData,
                    "Can't open data connection: closed before it was secured.",
                ));
            }
        }
        let Some(t) = self.data.transfer.take_if(|t| t.data == id) else {
            return;
        };
        let (outcome, bytes, elapsed) = match result {
            Some(r) => (r.outcome, r.bytes, r.elapsed),
            None => (
                Outcome::Aborted,
                0,
                cx.now.saturating_duration_since(t.started),
            ),
        };
        if !t.path.is_empty() {
            self.report_transfer(&t, &outcome, bytes, elapsed);
        }
        match outcome {
            Outcome::Complete => {
                self.respond(Reply::new(
                    ReplyCode::TransferComplete,
                    "Transfer complete.",
                ));
            }
            Outcome::Aborted => {
                self.respond(Reply::new(
                    ReplyCode::TransferAborted,
                    "Transfer aborted via ABOR.",
                ));
            }
            Outcome::Failed(reply) => self.respond(reply),
        }
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

    /// The log line, the metrics, the `Transfer` event and the hook of a finished file transfer.
    fn report_transfer(&mut self, t: &Transfer, outcome: &Outcome, bytes: u64, elapsed: Duration) {
        let completed = matches!(outcome, Outcome::Complete);
        let upload = t.verb.direction() == Direction::Upload;
        self.shared.metrics.transfer(upload, outcome.label());
        log::info!(
            "{} {} {} completed={} bytes={} seconds={:.3}",
            self.tag(),
            t.verb.name(),
            crate::reply::sanitize(&t.path),
            u8::from(completed),
            bytes,
            elapsed.as_secs_f64()
        );
        if !self.cfg.events.is_empty() {
            let user = self.session.user.as_ref();
            let event = crate::events::Event::Transfer(crate::events::TransferEvent {
                conn: self.conn_id,
                peer: self.peer,
                user: self.session.log_name(),
                anonymous: user.is_some_and(|u| u.anonymous),
                command: t.verb.name(),
                path: &t.path,
                bytes,
                seconds: elapsed.as_secs_f64(),
                completed,
                ascii: self.session.ttype == super::session::TransferType::Ascii,
            });
            self.emit(&event);
        }
        let hooks = std::sync::Arc::clone(&self.cfg.hooks);
        let info = crate::hooks::SessionInfo {
            peer: self.peer,
            user: self.session.log_name(),
        };
        match (t.verb.direction() == Direction::Download, completed) {
            (true, true) => hooks.on_file_sent(&info, &t.path, bytes),
            (true, false) => hooks.on_incomplete_file_sent(&info, &t.path, bytes),
            (false, true) => hooks.on_file_received(&info, &t.path, bytes),
            (false, false) => hooks.on_incomplete_file_received(&info, &t.path, bytes),
        }
    }
}
