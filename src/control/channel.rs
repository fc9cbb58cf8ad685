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

use super::table::Verb;
use super::upload::UploadPlan;
use crate::data::{Job, Outcome, TransferResult};
use crate::ioloop::ConnId;
use crate::metrics::Metrics;
use crate::msg::Msg;
use crate::reply::{Reply, ReplyCode};

pub(super) mod open;

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

/// Where a passive listener listens and what PASV announces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct PassivePlan {
    /// The local address to listen on.
    pub ip: std::net::IpAddr,
    /// PASV: the IPv4 address to announce (`None`: EPSV announces only the port).
    pub shown: Option<std::net::Ipv4Addr>,
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
    /// The transfer command.
    pub verb: Verb,
    /// The virtual path, for the log (empty for listings).
    pub path: String,
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

/// What news from a data connection means for the control connection (see
/// [`DataSide::on_message`]); the engine acts on each, in order.
#[derive(Debug)]
pub(super) enum News {
    /// A connection for a channel no longer wanted: stop it.
    Unwanted(ConnId),
    /// PORT/EPRT's connect finished, with this reply (`200`, or `425`): it ends the wait.
    ConnectDone(Reply),
    /// The data connection is up and this transfer waited for it: launch it.
    Launch(ConnId, Box<PendingJob>),
    /// Send this reply (a waiting transfer that cannot start).
    Say(Reply),
    /// The data connection could not be set up, for this reason (for the log).
    Failed(String),
    /// The running transfer ended: report it, then send `reply`.
    Ended {
        /// The transfer.
        transfer: Transfer,
        /// How it went.
        outcome: Outcome,
        /// Bytes moved.
        bytes: u64,
        /// How long it took.
        elapsed: Duration,
    },
}

impl DataSide {
    /// Bytes moved so far by the running transfer.
    pub fn bytes(&self) -> u64 {
        self.progress.load(Ordering::Relaxed)
    }

    /// Forgets the channel (PASV replaces PASV, ABOR, REIN...): the connection or acceptor to
    /// close, if there was one. The caller closes it at once, so that a passive port is free
    /// before the next PASV binds one.
    #[must_use]
    pub fn close(&mut self) -> Option<ConnId> {
        let id = self.chan.id();
        self.chan = Channel::None;
        self.refusal = None;
        self.progress = Arc::new(AtomicU64::new(0));
        id
    }

    /// ABOR: forgets the channel *and* the transfer waiting for it (whose `150` the client
    /// already has: ABOR answers it with `426`); the connection or acceptor to close.
    #[must_use]
    pub fn abandon(&mut self) -> Option<ConnId> {
        self.pending = None;
        self.close()
    }

    /// The reply to a transfer command without a data channel: why the last one was refused
    /// (said once), or `425`.
    pub fn no_channel(&mut self) -> Reply {
        self.refusal
            .take()
            .unwrap_or_else(|| Reply::new(ReplyCode::CantOpenData, "Use PORT or PASV first."))
    }

    /// A data connection's message: the new state of the channel, and what follows from it.
    pub fn on_message(&mut self, msg: Msg, metrics: &Metrics, now: Instant) -> Vec<News> {
        let mut news = Vec::new();
        match msg {
            Msg::DataConnected { id, via, securing } => {
                self.connected(id, via, securing, &mut news)
            }
            Msg::DataSecured { id } => {
                metrics.tls_handshake("data", true);
                if self.chan == Channel::Securing(id) {
                    self.up(id, &mut news);
                }
            }
            Msg::DataRefused { id, reply } => {
                metrics.tls_handshake("data", false);
                self.refused(id, reply, &mut news);
            }
            Msg::DataFailed { id, reason } => self.failed(id, &reason, &mut news),
            Msg::DataClosed { id, result } => self.closed(id, result, now, &mut news),
            _ => {}
        }
        news
    }

    fn connected(&mut self, id: ConnId, via: ConnId, securing: bool, news: &mut Vec<News>) {
        match self.chan {
            Channel::Passive(a) | Channel::Connecting(a) if a == via => {}
            _ => return news.push(News::Unwanted(id)),
        }
        if matches!(self.chan, Channel::Connecting(_)) {
            // PORT's 200 comes with the TCP connection: the client starts its TLS handshake
            // only after it has sent the transfer command.
            news.push(News::ConnectDone(Reply::new(
                ReplyCode::Ok,
                "Active data connection established.",
            )));
        }
        if securing {
            self.chan = Channel::Securing(id);
        } else {
            self.up(id, news);
        }
    }

    /// The data connection is up: a waiting job starts now.
    fn up(&mut self, id: ConnId, news: &mut Vec<News>) {
        self.chan = Channel::Ready(id);
        if let Some(pj) = self.pending.take() {
            news.push(News::Launch(id, pj));
        }
    }

    /// PROT P: the data connection failed its handshake or reuse check. A waiting transfer
    /// gets the refusal; nothing of it was opened yet. Otherwise the next transfer gets it.
    fn refused(&mut self, id: ConnId, reply: Reply, news: &mut Vec<News>) {
        if self.chan != Channel::Securing(id) {
            return;
        }
        self.chan = Channel::None;
        if self.pending.take().is_some() {
            news.push(News::Say(reply));
        } else {
            self.refusal = Some(reply);
        }
    }

    fn failed(&mut self, id: ConnId, reason: &str, news: &mut Vec<News>) {
        if self.chan.id() != Some(id) {
            return;
        }
        news.push(News::Failed(reason.to_owned()));
        if matches!(self.chan, Channel::Connecting(_)) {
            news.push(News::ConnectDone(Reply::new(
                ReplyCode::CantOpenData,
                "Can't connect to specified address.",
            )));
        }
        self.chan = Channel::None;
        if self.pending.take().is_some() {
            news.push(News::Say(Reply::new(
                ReplyCode::CantOpenData,
                format!("Can't open data connection: {reason}."),
            )));
        }
    }

    fn closed(
        &mut self,
        id: ConnId,
        result: Option<TransferResult>,
        now: Instant,
        news: &mut Vec<News>,
    ) {
        if matches!(self.chan, Channel::Ready(c) | Channel::Securing(c) if c == id) {
            self.chan = Channel::None;
            if self.pending.take().is_some() {
                // Closed during its TLS handshake, before a job could start.
                news.push(News::Say(Reply::new(
                    ReplyCode::CantOpenData,
                    "Can't open data connection: closed before it was secured.",
                )));
            }
        }
        let Some(transfer) = self.transfer.take_if(|t| t.data == id) else {
            return;
        };
        let (outcome, bytes, elapsed) = match result {
            Some(r) => (r.outcome, r.bytes, r.elapsed),
            None => (
                Outcome::Aborted,
                0,
                now.saturating_duration_since(transfer.started),
            ),
        };
        news.push(News::Ended {
            transfer,
            outcome,
            bytes,
            elapsed,
        });
    }
}

/// The final reply of a transfer that ended with `outcome`.
pub(super) fn final_reply(outcome: Outcome) -> Reply {
    match outcome {
        Outcome::Complete => Reply::new(ReplyCode::TransferComplete, "Transfer complete."),
        Outcome::Aborted => Reply::new(ReplyCode::TransferAborted, "Transfer aborted via ABOR."),
        Outcome::Failed(reply) => reply,
    }
}
