//! The byte-moving loops of a data connection (sendfile, buffered send) and what both
//! directions share: the end of an active-mode connect, the TLS gate, completing a transfer.
//!
//! Each loop follows the edge-triggered rules: keep going until the socket says `WouldBlock`
//! (then wait for the next readiness event), or until the per-turn budget is spent (then
//! `Flow::Yield`, so the dispatcher calls us again after serving everybody else), or until the
//! throttle says stop (then sleep on a timer). `Interrupted` is always retried.

use std::io::{self, Seek, SeekFrom, Write};
use std::net::Shutdown;
use std::time::{Duration, Instant};

use super::batches::Next;
use super::pace::Pacing;
use super::{producer::FileProducer, zerocopy, DataConn, Outcome, Secure, State, CHUNK};
use crate::ioloop::Flow;
use crate::msg::{Cx, Msg};
use crate::reply::{Reply, ReplyCode};

/// Chunks moved per callback before yielding (8 × 64 KiB buffered, 8 × 512 KiB with
/// sendfile)...
pub(super) const BUDGET: usize = 8;
/// ...and wall time: a callback that has used this much yields after its current chunk, so
/// that one transfer never holds the loop for long (the dispatcher's `BULK_TURN` bounds the
/// sum over all transfers in a turn).
pub(super) const SLICE: Duration = Duration::from_micros(500);

/// One callback's share of the loop: at most [`BUDGET`] chunks and about [`SLICE`] of time.
pub(super) struct Slice {
    started: Instant,
    chunks: usize,
}

impl Slice {
    pub(super) fn start() -> Slice {
        Slice {
            started: Instant::now(),
            chunks: 0,
        }
    }

    /// True if one more chunk may be moved in this callback.
    pub(super) fn next(&mut self) -> bool {
        if self.chunks >= BUDGET || (self.chunks > 0 && self.started.elapsed() >= SLICE) {
            return false;
        }
        self.chunks += 1;
        true
    }
}
/// Bytes asked of one sendfile call.
const SENDFILE_CHUNK: usize = 512 * 1024;

pub(super) fn client_gone(e: &io::Error) -> Reply {
    Reply::new(
        ReplyCode::TransferAborted,
        format!(
            "Connection closed; transfer aborted ({}).",
            crate::reply::strerror(e)
        ),
    )
}

/// Maps a local file error to its reply: 452 disk full, 552 quota, 451 anything else.
pub(super) fn local_error(e: &io::Error) -> Reply {
    match e.kind() {
        io::ErrorKind::StorageFull => Reply::new(
            ReplyCode::InsufficientStorage,
            "Insufficient storage space.",
        ),
        io::ErrorKind::QuotaExceeded | io::ErrorKind::FileTooLarge => {
            Reply::new(ReplyCode::ExceededStorage, "Exceeded storage allocation.")
        }
        _ => Reply::new(
            ReplyCode::LocalError,
            format!("Local error: {}.", crate::reply::strerror(e)),
        ),
    }
}

impl DataConn {
    /// Active mode: the connect finished, one way or the other (mio's connect protocol).
    pub(super) fn check_connected(&mut self, cx: &mut Cx<'_>) -> Flow {
        let me = cx.me();
        match super::connect::connect_result(self.sock.tcp()) {
            None => Flow::Continue,
            Some(Err(reason)) => {
                cx.send(self.owner, Msg::DataFailed { id: me, reason });
                Flow::Close
            }
            Some(Ok(())) => {
                if let Some(t) = &self.tls {
                    if let Err(e) = self
                        .sock
                        .upgrade(std::sync::Arc::clone(&t.config), Some(&t.token))
                    {
                        cx.send(
                            self.owner,
                            Msg::DataFailed {
                                id: me,
                                reason: e.to_string(),
                            },
                        );
                        return Flow::Close;
                    }
                }
                self.state = State::Idle;
                self.deadline.clear();
                let securing = self.secure == Secure::Handshaking;
                if securing {
                    self.arm_connect_timeout(cx);
                }
                cx.send(
                    self.owner,
                    Msg::DataConnected {
                        id: me,
                        via: me,
                        securing,
                    },
                );
                Flow::Continue
            }
        }
    }

    /// Moves bytes for the current state.
    pub(super) fn run(&mut self, cx: &mut Cx<'_>) -> Flow {
        if self.pace.pacing == Pacing::Throttled {
            return Flow::Continue;
        }
        if matches!(self.state, State::Closing { .. }) {
            return self.finish_tls();
        }
        if matches!(self.state, State::Connecting) {
            return Flow::Continue;
        }
        if let Some(flow) = self.tls_gate(cx) {
            return flow;
        }
        match self.state {
            State::Connecting | State::Idle => Flow::Continue,
            State::Sendfile { .. } | State::Send(_) | State::Batches(_) => self.send(cx),
            State::Recv(_) | State::WriteBehind(_) => self.recv(cx),
            State::Closing { .. } => self.finish_tls(),
        }
    }

    /// `n` bytes moved: counted (`Pace::moved`), and the stall timer pushed back.
    pub(super) fn moved(&mut self, n: usize, cx: &mut Cx<'_>) {
        self.pace.moved(n, cx.now);
        self.touch(cx);
    }

    pub(super) fn complete(&mut self) -> Flow {
        self.outcome = Some(Outcome::Complete);
        if self.sock.is_tls() {
            // RFC 4217 §9: end a protected transfer with close_notify, so the client can tell
            // a complete file from a truncated one.
            self.sock.send_close_notify();
            let upload = matches!(self.state, State::Recv(_) | State::WriteBehind(_));
            // The file (committed, for an upload) is let go here, before the last records.
            self.state = State::Closing { upload };
            return self.finish_tls();
        }
        let _ = self.sock.shutdown(Shutdown::Write);
        Flow::Close
    }

    /// Flushes the last TLS records (close_notify), then closes. For a download the client
    /// needs that close_notify to know the file is whole, so failing to send it fails the
    /// transfer. An upload is complete once the client's close_notify has arrived and the
    /// file is committed: a client that closed at once (curl does, and resets the connection
    /// if our session ticket is still unread on its side) cannot undo that.
    fn finish_tls(&mut self) -> Flow {
        match self.sock.flush_tls() {
            Ok(()) if self.sock.wants_write() => Flow::Continue,
            Ok(()) => {
                let _ = self.sock.shutdown(Shutdown::Write);
                Flow::Close
            }
            Err(e) if matches!(self.state, State::Closing { upload: true }) => {
                log::debug!("upload complete; our close_notify was not delivered: {e}");
                Flow::Close
            }
            Err(e) => self.fail(client_gone(&e)),
        }
    }

    /// PROT P: drives the data connection's TLS handshake, then the session-reuse check.
    /// Passing tells the owner (`DataSecured`), which only then hands over a job; failing
    /// tells it why (`DataRefused`) and closes. `None`: go on with the job, if any.
    fn tls_gate(&mut self, cx: &mut Cx<'_>) -> Option<Flow> {
        if self.secure != Secure::Handshaking {
            return None;
        }
        let tls = self.tls.as_ref()?;
        let refusal = match self.sock.handshake() {
            Ok(false) => return Some(Flow::Continue),
            Ok(true) => {
                let resumed = self.sock.resumption().is_some_and(|(r, _)| r);
                log::info!(
                    "data connection secured: {}, session resumed: {}",
                    self.sock.describe().unwrap_or_default(),
                    if resumed { "yes" } else { "no" }
                );
                tls.check(&self.sock).err().map(|why| {
                    log::warn!("data connection refused: {why}");
                    Reply::new(
                        ReplyCode::ProtocolNotSupported,
                        "TLS session reuse required on the data connection.",
                    )
                })
            }
            Err(e) => {
                log::info!("data connection TLS handshake failed: {e}");
                Some(Reply::new(
                    ReplyCode::ProtocolNotSupported,
                    format!("TLS handshake failed on the data connection ({e})."),
                ))
            }
        };
        if let Some(reply) = refusal {
            return Some(self.refuse(reply, cx));
        }
        self.secure = Secure::Verified;
        self.deadline.clear();
        let me = cx.me();
        cx.send(self.owner, Msg::DataSecured { id: me });
        None
    }

    /// The data connection is refused before it was up: the owner answers the waiting
    /// transfer with `reply`. (A job cannot have started: the owner waits for
    /// `DataSecured`.)
    pub(super) fn refuse(&mut self, reply: Reply, cx: &mut Cx<'_>) -> Flow {
        if self.started.is_some() {
            return self.fail(reply);
        }
        let me = cx.me();
        cx.send(self.owner, Msg::DataRefused { id: me, reply });
        Flow::Close
    }

    /// Moves a download within one slice of the turn: `sendfile` from the file, or buffered
    /// writes of a producer (listings, ASCII, TLS).
    fn send(&mut self, cx: &mut Cx<'_>) -> Flow {
        let mut slice = Slice::start();
        while slice.next() {
            let step = if matches!(self.state, State::Sendfile { .. }) {
                self.send_file(cx)
            } else {
                self.send_buffered(cx)
            };
            if let Some(flow) = step {
                return flow;
            }
        }
        Flow::Yield
    }

    /// One `sendfile` call (within the throttle's allowance); falls back to buffered writes if
    /// the first call fails. `Some` ends the callback.
    fn send_file(&mut self, cx: &mut Cx<'_>) -> Option<Flow> {
        let throttled = self.pace.limited();
        let want = if throttled { CHUNK } else { SENDFILE_CHUNK };
        let allow = self.pace.allowance(want, cx);
        if allow == 0 {
            return Some(Flow::Continue);
        }
        let State::Sendfile {
            file,
            offset,
            first,
        } = &mut self.state
        else {
            return Some(Flow::Continue);
        };
        let was_first = *first;
        let result = match file.as_file() {
            Some(f) => zerocopy::send(self.sock.tcp(), f, offset, allow),
            None => Err(io::ErrorKind::Unsupported.into()),
        };
        if matches!(result, Ok(n) if n > 0) {
            *first = false;
        }
        let start = *offset;
        match result {
            Ok(0) => return Some(self.complete()),
            Ok(n) => self.moved(n, cx),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Some(Flow::Continue),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if was_first => {
                log::debug!("sendfile unavailable ({e}); using buffered writes");
                if let Err(e) = self.fall_back_to_buffered(start) {
                    return Some(self.fail(local_error(&e)));
                }
            }
            Err(e) => return Some(self.fail(client_gone(&e))),
        }
        None
    }

    /// One write of the buffer (refilled from the producer when empty), within the
    /// throttle's allowance. `Some` ends the callback.
    fn send_buffered(&mut self, cx: &mut Cx<'_>) -> Option<Flow> {
        if self.pos == self.buf.len() {
            if let Some(flow) = self.refill(cx) {
                return Some(flow);
            }
        }
        let allow = self.pace.allowance(self.buf.len() - self.pos, cx);
        if allow == 0 {
            return Some(Flow::Continue);
        }
        match self.sock.write(&self.buf[self.pos..self.pos + allow]) {
            Ok(0) => return Some(self.fail(client_gone(&io::ErrorKind::WriteZero.into()))),
            Ok(n) => {
                self.pos += n;
                self.moved(n, cx);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Some(Flow::Continue),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Some(self.fail(client_gone(&e))),
        }
        None
    }

    /// The buffer is empty: fills it from the producer, or takes the next batch made on the
    /// pool. `Some` ends this callback: complete, failed, or waiting for a batch.
    fn refill(&mut self, cx: &mut Cx<'_>) -> Option<Flow> {
        self.buf.clear();
        self.pos = 0;
        match &mut self.state {
            State::Send(producer) => match producer.fill(&mut self.buf, CHUNK) {
                Ok(0) => Some(self.complete()),
                Ok(_) => None,
                Err(e) => Some(self.fail(local_error(&e))),
            },
            State::Batches(batches) => match batches.next(cx) {
                Next::Bytes(bytes) => {
                    self.buf = bytes;
                    None
                }
                Next::Wait => Some(Flow::Continue),
                Next::Done => Some(self.complete()),
            },
            _ => Some(Flow::Continue),
        }
    }

    /// Replaces the sendfile state by a buffered producer reading from `offset`.
    fn fall_back_to_buffered(&mut self, offset: u64) -> io::Result<()> {
        if let State::Sendfile { file, .. } = std::mem::replace(&mut self.state, State::Idle) {
            let mut file = file;
            file.seek(SeekFrom::Start(offset))?;
            self.state = State::Send(Box::new(FileProducer::new(file, false)));
        }
        Ok(())
    }
}
