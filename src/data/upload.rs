//! Uploads (STOR, APPE, STOU): the receive loops of a data connection.
//!
//! An upload ends when the client closes the data connection (RFC 959 stream mode: end of
//! file is the end of the connection), so reading `0` bytes is success and is when the file
//! is committed; any error before that aborts it (see [`FileSink`](super::sink::FileSink)).
//!
//! Two phases, both following the edge-triggered rules of `download.rs` (read until
//! `WouldBlock`, at most `BUDGET` chunks per turn, throttle allowance first):
//!
//! * **Small**: `read` into a 256 KiB buffer, then write it to the sink (which converts line
//!   ends in ASCII mode) at once, on the loop. The buffer belongs to the loop thread, not to
//!   the connection: bytes never stay in it between callbacks, and a 4 KiB STOR costs no
//!   more than a read and a write.
//! * **Write-behind**: once an upload proves large (256 KiB arrived), the loop only fills
//!   chunks from the socket, and the blocking pool writes them (`writebehind.rs`). A plain
//!   binary upload to an OS file fills pipes with `splice(2)` (`zerocopy.rs`), so the bytes
//!   are copied once, into the page cache, instead of twice.

use std::cell::RefCell;
use std::io::{self, Read};

use super::chunk::{Written, CHUNK_BYTES};
use super::download::{client_gone, local_error, Slice};
use super::writebehind::{truncated, WriteBehind};
use super::{zerocopy, DataConn, Outcome, State};
use crate::ioloop::Flow;
use crate::msg::{Cx, Msg};
use crate::reply::{Reply, ReplyCode};

mod timing;
pub(super) use timing::Active;
use timing::{WriteTiming, WRITES};

/// Bytes read from the socket per call in the small phase.
const RECV_CHUNK: usize = CHUNK_BYTES;

/// An upload that has brought this many bytes is large: its writes move to the blocking pool.
/// (Small uploads never pay for a round trip through the pool, nor for pipes; the switch does
/// not depend on how the bytes were split into reads.)
const WRITE_BEHIND_AFTER: u64 = 256 * 1024;

thread_local! {
    /// The upload buffer, one per loop thread rather than one per data connection. Received
    /// bytes go straight on to the file sink within the same call, so no connection needs the
    /// buffer between callbacks: the loop allocates and zeroes 256 KiB once instead of for
    /// every upload (a 4 KiB STOR paid a 256 KiB `memset`), and a thousand concurrent
    /// uploads hold one buffer, not a thousand.
    static RECV_BUF: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

impl DataConn {
    /// Receives what the socket has (see the module docs).
    pub(super) fn recv(&mut self, cx: &mut Cx<'_>) -> Flow {
        if matches!(self.state, State::WriteBehind(_)) {
            return self.recv_behind(cx);
        }
        RECV_BUF.with(|cell| match cell.try_borrow_mut() {
            Ok(mut buf) => self.recv_small(&mut buf, cx),
            // Unreachable (one upload reads at a time on a thread), but never a panic.
            Err(_) => self.recv_small(&mut Vec::new(), cx),
        })
    }

    /// The small phase: read, write at once; switch to write-behind once large.
    fn recv_small(&mut self, buf: &mut Vec<u8>, cx: &mut Cx<'_>) -> Flow {
        if buf.len() < RECV_CHUNK {
            buf.resize(RECV_CHUNK, 0);
        }
        let mut slice = Slice::start();
        while slice.next() {
            let allow = self.pace.allowance(RECV_CHUNK, cx);
            if allow == 0 {
                return Flow::Continue;
            }
            match self.sock.read(&mut buf[..allow]) {
                Ok(0) => return self.recv_eof(),
                Ok(n) => {
                    if let Err(reply) = self.sink_write(&buf[..n]) {
                        return self.fail(reply);
                    }
                    self.moved(n, cx);
                    if self.pace.bytes >= WRITE_BEHIND_AFTER {
                        self.start_write_behind();
                        // A large upload: the next turn reads into the chunks.
                        return Flow::Yield;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Flow::Continue,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                    // TLS without close_notify: the client may have been cut off.
                    truncated(self.pace.bytes);
                    let State::Recv(sink) = &mut self.state else {
                        return Flow::Continue;
                    };
                    if let Err(e) = sink.finish() {
                        return self.fail(local_error(&e));
                    }
                    self.outcome = Some(Outcome::Complete);
                    return Flow::Close;
                }
                // Not committed: `closed` aborts the upload (an atomic one leaves the old
                // file as it was).
                Err(e) => return self.fail(client_gone(&e)),
            }
        }
        Flow::Yield
    }

    /// The client closed the data connection: the (small) upload is complete.
    fn recv_eof(&mut self) -> Flow {
        let State::Recv(sink) = &mut self.state else {
            return Flow::Continue;
        };
        if let Err(e) = sink.finish() {
            return self.fail(local_error(&e));
        }
        // Under TLS, answer the client's close_notify with ours.
        self.complete()
    }

    fn sink_write(&mut self, data: &[u8]) -> Result<(), Reply> {
        match &mut self.state {
            State::Recv(sink) => sink.write(data).map_err(|e| local_error(&e)),
            _ => Err(Reply::new(ReplyCode::TransferAborted, "No upload running.")),
        }
    }

    /// The upload is large: from now on the pool writes it. Plain binary uploads to an OS
    /// file move through pipes.
    fn start_write_behind(&mut self) {
        let State::Recv(sink) = std::mem::replace(&mut self.state, State::Idle) else {
            return;
        };
        let splice = zerocopy::AVAILABLE
            && self.cfg.use_sendfile
            && !self.sock.is_tls()
            && sink.splice_file().is_some();
        self.state = State::WriteBehind(Box::new(WriteBehind::new(sink, splice)));
    }

    /// The write-behind phase: fill the chunk from the socket; a full chunk leaves for the
    /// pool when the sink is home, and reading stops while both chunks are taken. Whatever is
    /// due leaves after the loop (one write per callback, not per read).
    fn recv_behind(&mut self, cx: &mut Cx<'_>) -> Flow {
        let mut slice = Slice::start();
        let flow = loop {
            let State::WriteBehind(wb) = &self.state else {
                break Flow::Continue;
            };
            if !wb.receiving() {
                break Flow::Continue;
            }
            if wb.filling.is_full() && !self.ship(cx) {
                // Both chunks are taken: `written` reads on when the write comes back.
                break Flow::Continue;
            }
            if !slice.next() {
                break Flow::Yield;
            }
            if let Some(flow) = self.fill_step(cx) {
                break flow;
            }
        };
        if flow != Flow::Close {
            self.ship(cx);
        }
        flow
    }

    /// One read (or splice) into the filling chunk, within the throttle's allowance. `Some`
    /// ends the read loop.
    fn fill_step(&mut self, cx: &mut Cx<'_>) -> Option<Flow> {
        let room = match &self.state {
            State::WriteBehind(wb) => wb.filling.room(),
            _ => 0,
        };
        if room == 0 {
            return Some(Flow::Continue);
        }
        let allow = self.pace.allowance(room, cx);
        if allow == 0 {
            return Some(Flow::Continue);
        }
        let State::WriteBehind(wb) = &mut self.state else {
            return Some(Flow::Continue);
        };
        match wb.filling.fill(&mut self.sock, allow) {
            Ok(0) => wb.end(false),
            Ok(n) => {
                self.moved(n, cx);
                return None;
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return None,
            // TLS without close_notify: committed, with a warning, once written.
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => wb.end(true),
            // Not committed: the bytes that arrived are written, then the sink is aborted.
            Err(e) => return Some(self.fail(client_gone(&e))),
        }
        Some(Flow::Continue)
    }

    /// Sends the write that is due (see [`WriteBehind::next_job`]) to a worker, or, while this
    /// loop's writes are fast, does it here and delivers the result the same way (a message
    /// to itself, read after this callback, as a pool without threads would); true if one
    /// left.
    pub(super) fn ship(&mut self, cx: &mut Cx<'_>) -> bool {
        let State::WriteBehind(wb) = &mut self.state else {
            return false;
        };
        let Some(job) = wb.next_job() else {
            return false;
        };
        if wb.pool || WRITES.with(WriteTiming::to_pool) {
            cx.offload(move || Msg::Written(Box::new(job.run())), Msg::WriteLost);
        } else {
            let me = cx.me();
            cx.send(me, Msg::Written(Box::new(job.run())));
        }
        true
    }

    /// A write came back from the pool (`Msg::Written`): report the commit, fail, or send the
    /// next chunk and read on (reading may have stopped with both chunks taken).
    pub(super) fn written(&mut self, w: Written, cx: &mut Cx<'_>) -> Flow {
        let State::WriteBehind(wb) = &mut self.state else {
            // Never happens; dropping it here, on the loop, aborts its sink.
            return Flow::Continue;
        };
        WRITES.with(|t| t.record(w.cost));
        let last = w.last;
        let cut = wb.finishing() == Some(true);
        let result = wb.came_home(w);
        if result.is_err() {
            // Nothing more can be written: the bytes held go nowhere.
            wb.discard();
        }
        if wb.stopping() {
            return Flow::Close;
        }
        match result {
            Err(e) => return self.fail(local_error(&e)),
            Ok(()) if last && cut => {
                truncated(self.pace.bytes);
                self.outcome = Some(Outcome::Complete);
                return Flow::Close;
            }
            // Under TLS, answer the client's close_notify with ours.
            Ok(()) if last => return self.complete(),
            Ok(()) => {}
        }
        // The disk made progress: not a stall, even if the socket was not read meanwhile.
        self.touch(cx);
        self.ship(cx);
        // Read on, but in the bulk queue's turn (`resume`), not in this message's: results
        // arrive with the events, ahead of the interactive work they must not delay.
        Flow::Yield
    }

    /// A write's job panicked (`Msg::WriteLost`): the upload fails with `451`.
    pub(super) fn write_lost(&mut self) -> Flow {
        let State::WriteBehind(wb) = &mut self.state else {
            return Flow::Continue;
        };
        wb.lost();
        if wb.stopping() {
            return Flow::Close;
        }
        self.fail(local_error(&io::Error::other(
            "the upload could not be written",
        )))
    }

    /// Applies the write-behind rule to a callback's `flow`: a data connection whose sink is on
    /// a worker does not close yet. A stop first writes what arrived, then closes with the
    /// first stop's outcome once the sink is home (to be aborted by `closed`); the last
    /// write's own result decides a finishing upload.
    pub(super) fn settle(&mut self, flow: Flow, cx: &mut Cx<'_>) -> Flow {
        if flow != Flow::Close {
            return flow;
        }
        let State::WriteBehind(wb) = &mut self.state else {
            return flow;
        };
        if wb.finishing().is_some() {
            return if wb.writing() {
                Flow::Continue
            } else {
                Flow::Close
            };
        }
        wb.stop(self.outcome.take());
        if self.ship(cx) {
            return Flow::Continue;
        }
        let State::WriteBehind(wb) = &mut self.state else {
            return flow;
        };
        match wb.stopped() {
            Some(outcome) => {
                self.outcome = outcome;
                Flow::Close
            }
            None => Flow::Continue,
        }
    }
}

#[cfg(test)]
mod tests;
