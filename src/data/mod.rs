//! The data connection (pyftpdlib's `DTPHandler`): moves one file or listing, then closes.
//!
//! RFC 959 separates the commands (control connection) from the bytes (data connection). A data
//! connection is made per transfer, either by the client connecting to a port we opened (PASV,
//! EPSV: see [`connect::PassiveAcceptor`]) or by us connecting to the client (PORT, EPRT: a
//! `DataConn` starting in the `Connecting` state). Once connected it waits, idle, for its control
//! connection to hand it a [`Job`]; it then streams, and on the end of the stream (EOF for an
//! upload, the last byte written for a download) closes its socket and file *before* telling the
//! control connection, which only then sends `226`. "Closing the data connection" is how stream
//! mode (RFC 959 §3.4.1) marks the end of a file.
//!
//! The data connection never holds a reference to its control connection: it knows its owner's
//! [`ConnId`] and reports with messages ([`Msg::DataConnected`], [`Msg::DataFailed`],
//! [`Msg::DataClosed`]); the owner sends [`Msg::DataStart`] and [`Msg::Abort`].
//!
//! Downloads take one of two paths: `sendfile(2)` for plain binary files (zero copy, capped by
//! the throttle's allowance), or a [`Producer`] filling a 64 KiB buffer that is written until
//! `WouldBlock`. Uploads read into a buffer shared by the loop and write at once; once they
//! prove large, the loop only reads (into pipes with `splice(2)` for plain binary ones) and
//! the blocking pool writes (`upload.rs`, `writebehind.rs`). Each turn moves a bounded amount,
//! then yields, so one fast transfer cannot starve other sessions.

mod batches;
mod chunk;
pub mod connect;
mod download;
mod held;
pub(crate) mod job;
mod pace;
pub mod producer;
mod sink;
mod states;
#[cfg(test)]
mod testkit;
pub mod throttle;
mod upload;
mod writebehind;
pub mod zerocopy;

pub use job::{Job, Outcome, Progress, Start, TransferResult};

use std::net::Shutdown;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Instant;

use mio::event::Source;
use mio::net::TcpStream;
use mio::Interest;

use crate::tls::{DataTls, Stream};

use crate::config::Config;
use crate::ioloop::{ConnId, Deadline, Fired, Flow};
use crate::msg::{Cx, Msg, TimerKind};
use crate::reply::Reply;
use pace::{Pace, Pacing};
pub use sink::FileSink;
use states::{Secure, State};
use throttle::TokenBucket;

/// Size of one buffered chunk (pyftpdlib uses 64 KiB too).
pub const CHUNK: usize = 64 * 1024;

/// One data connection.
#[derive(Debug)]
pub struct DataConn {
    sock: Stream,
    /// PROT P: the TLS policy to check once the handshake is done.
    tls: Option<DataTls>,
    /// Where the TLS handshake and reuse check stand.
    secure: Secure,
    owner: ConnId,
    cfg: Arc<Config>,
    state: State,
    /// Download buffer and how much of it was written.
    buf: Vec<u8>,
    pos: usize,
    /// The throttle and the byte counters.
    pace: Pace,
    started: Option<Instant>,
    /// Connect timeout (Connecting) or stall timeout (transferring).
    deadline: Deadline,
    /// Set when the job ended; reported by `closed`.
    outcome: Option<Outcome>,
}

impl DataConn {
    /// A data connection on an accepted (passive) socket: starts idle.
    pub(crate) fn accepted(
        sock: TcpStream,
        owner: ConnId,
        cfg: Arc<Config>,
        progress: Arc<AtomicU64>,
        tls: Option<DataTls>,
    ) -> std::io::Result<DataConn> {
        let stream = match &tls {
            // The data session's own tickets carry the token too: clients resume their newest.
            Some(t) => Stream::tls(sock, Arc::clone(&t.config), Some(&t.token))?,
            None => Stream::plain(sock),
        };
        Ok(DataConn::with_state(
            stream,
            owner,
            cfg,
            progress,
            State::Idle,
            tls,
        ))
    }

    /// A data connection still connecting to the client (active mode).
    pub(crate) fn connecting(
        sock: TcpStream,
        owner: ConnId,
        cfg: Arc<Config>,
        progress: Arc<AtomicU64>,
        tls: Option<DataTls>,
    ) -> DataConn {
        let stream = Stream::plain(sock);
        DataConn::with_state(stream, owner, cfg, progress, State::Connecting, tls)
    }

    fn with_state(
        sock: Stream,
        owner: ConnId,
        cfg: Arc<Config>,
        progress: Arc<AtomicU64>,
        state: State,
        tls: Option<DataTls>,
    ) -> DataConn {
        let _ = sock.tcp().set_nodelay(true);
        DataConn {
            sock,
            secure: if tls.is_some() {
                Secure::Handshaking
            } else {
                Secure::Plain
            },
            tls,
            owner,
            cfg,
            state,
            buf: Vec::new(),
            pos: 0,
            pace: Pace::new(progress),
            started: None,
            deadline: Deadline::default(),
            outcome: None,
        }
    }

    pub(crate) fn state(&self) -> &'static str {
        match self.state {
            State::Closing { .. } => "data:closing",
            _ if self.pace.pacing == Pacing::Throttled => "data:throttled",
            _ => self.state.name(self.sock.is_handshaking()),
        }
    }

    /// Moving a file or a listing: bulk work, which the loop serves after the interactive
    /// handlers ([`crate::ioloop::Handler::bulk`]). Connecting and the TLS handshake are not:
    /// a client waits on them, and FTPS clients expect the handshake's session ticket at once.
    pub(crate) fn transferring(&self) -> bool {
        self.state.transferring()
    }

    pub(crate) fn source(&mut self) -> &mut dyn Source {
        self.sock.tcp_mut()
    }

    pub(crate) fn interest(&self) -> Interest {
        match self.state {
            State::Connecting => Interest::WRITABLE,
            // TLS needs both directions (handshake, close_notify); edge-triggered, so cheap.
            State::Closing { .. } => Interest::READABLE | Interest::WRITABLE,
            _ if self.sock.is_tls() => Interest::READABLE | Interest::WRITABLE,
            State::Idle | State::Recv(_) | State::WriteBehind(_) => Interest::READABLE,
            State::Sendfile { .. } | State::Send(_) | State::Batches(_) => Interest::WRITABLE,
        }
    }

    /// Arms the connect timeout right after spawning (active mode).
    pub(crate) fn arm_connect_timeout(&mut self, cx: &mut Cx<'_>) {
        if let Some(t) = self.cfg.passive_timeout {
            cx.set_deadline(&mut self.deadline, t, TimerKind::DataDeadline);
        }
    }

    // Every callback's flow passes `settle`: no close while an upload's sink is on a worker.

    pub(crate) fn readable(&mut self, cx: &mut Cx<'_>) -> Flow {
        let flow = self.run(cx);
        self.settle(flow, cx)
    }

    pub(crate) fn writable(&mut self, cx: &mut Cx<'_>) -> Flow {
        if matches!(self.state, State::Connecting) {
            return self.check_connected(cx);
        }
        let flow = self.run(cx);
        self.settle(flow, cx)
    }

    pub(crate) fn resume(&mut self, cx: &mut Cx<'_>) -> Flow {
        let flow = self.run(cx);
        self.settle(flow, cx)
    }

    pub(crate) fn message(&mut self, msg: Msg, cx: &mut Cx<'_>) -> Flow {
        let flow = self.on_message(msg, cx);
        self.settle(flow, cx)
    }

    pub(crate) fn timer(&mut self, kind: TimerKind, cx: &mut Cx<'_>) -> Flow {
        let flow = self.on_timer(kind, cx);
        self.settle(flow, cx)
    }

    fn on_message(&mut self, msg: Msg, cx: &mut Cx<'_>) -> Flow {
        match msg {
            Msg::DataStart(start) => {
                self.pace.user_bucket = start.user_bucket.map(|shared| {
                    let share = TokenBucket::new(shared.rate(), cx.now);
                    (shared, share)
                });
                self.pace.hook = start.progress;
                self.pace.meter = start.meter;
                self.start(start.job, cx)
            }
            Msg::Start => {
                // Active mode: the connect; passive PROT P: the handshake. Both are bounded by
                // `--passive-timeout`, like a PASV waiting for its connection.
                self.arm_connect_timeout(cx);
                Flow::Continue
            }
            Msg::Batch(batch) => match self.state.batch_arrived(*batch) {
                Ok(()) => self.run(cx),
                Err(e) => self.fail(download::local_error(&e)),
            },
            Msg::BatchLost => self.fail(download::local_error(&std::io::Error::other(
                "the listing could not be made",
            ))),
            Msg::Written(w) => self.written(*w, cx),
            Msg::WriteLost => self.write_lost(),
            Msg::Drain => Flow::Continue,
            Msg::Abort | Msg::Shutdown => {
                if self.started.is_some() {
                    self.outcome = Some(Outcome::Aborted);
                }
                Flow::Close
            }
            _ => Flow::Continue,
        }
    }

    fn on_timer(&mut self, kind: TimerKind, cx: &mut Cx<'_>) -> Flow {
        match kind {
            TimerKind::Throttle => {
                self.pace.pacing = Pacing::Running;
                self.run(cx)
            }
            TimerKind::DataDeadline => match self.deadline.fired(cx.now) {
                Fired::Ignore => Flow::Continue,
                Fired::Rearm(at) => {
                    cx.at(at, TimerKind::DataDeadline);
                    Flow::Continue
                }
                Fired::Expired => {
                    if self.secure == Secure::Handshaking && self.started.is_none() {
                        return self.refuse(
                            Reply::new(
                                crate::reply::ReplyCode::CantOpenData,
                                "Can't open data connection: TLS handshake timed out.",
                            ),
                            cx,
                        );
                    }
                    if matches!(self.state, State::Connecting) {
                        let me = cx.me();
                        cx.send(
                            self.owner,
                            Msg::DataFailed {
                                id: me,
                                reason: "connection timed out".into(),
                            },
                        );
                        return Flow::Close;
                    }
                    self.fail(Reply::new(
                        crate::reply::ReplyCode::TransferAborted,
                        "Data connection timed out.",
                    ))
                }
            },
            _ => Flow::Continue,
        }
    }

    pub(crate) fn closed(&mut self, cx: &mut Cx<'_>) {
        if !matches!(self.outcome, Some(Outcome::Complete)) {
            // A complete transfer already shut down its side; `close` does the rest.
            let _ = self.sock.shutdown(Shutdown::Both);
        }
        let result = self.started.map(|t| TransferResult {
            outcome: self.outcome.take().unwrap_or(Outcome::Failed(Reply::new(
                crate::reply::ReplyCode::TransferAborted,
                "Connection closed; transfer aborted.",
            ))),
            bytes: self.pace.bytes,
            elapsed: cx.now.saturating_duration_since(t),
        });
        // An upload that did not complete is aborted (committed ones are already done); then
        // the file is dropped before the owner replies (completion order).
        match &mut self.state {
            State::Recv(sink) => sink.abort(),
            State::WriteBehind(wb) => wb.abort(),
            _ => {}
        }
        self.state = State::Idle;
        let me = cx.me();
        cx.send(self.owner, Msg::DataClosed { id: me, result });
    }

    /// Begins a job handed over by the control connection.
    fn start(&mut self, job: Job, cx: &mut Cx<'_>) -> Flow {
        self.started = Some(cx.now);
        self.touch(cx);
        let limit = match job {
            Job::Receive(_) => self.cfg.read_limit,
            _ => {
                // Only downloads send enough to need it (one system call saved per upload).
                crate::net::limit_unsent(self.sock.tcp());
                self.cfg.write_limit
            }
        };
        if limit > 0 {
            self.pace.bucket = Some(TokenBucket::new(limit, cx.now));
        }
        let zero_copy = self.cfg.use_sendfile && zerocopy::AVAILABLE && !self.sock.is_tls();
        self.state = State::for_job(job, zero_copy, cx);
        // Edge-triggered: the socket may have been ready for a while; try at once.
        self.run(cx)
    }

    /// Resets the stall timer after progress.
    fn touch(&mut self, cx: &mut Cx<'_>) {
        if let Some(t) = self.cfg.data_timeout {
            cx.set_deadline(&mut self.deadline, t, TimerKind::DataDeadline);
        }
    }

    /// Ends the job with a failure reply.
    fn fail(&mut self, reply: Reply) -> Flow {
        self.outcome = Some(Outcome::Failed(reply));
        Flow::Close
    }
}
