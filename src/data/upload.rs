//! Uploads (STOR, APPE, STOU): the receive loops of a data connection.
//!
//! An upload ends when the client closes the data connection (RFC 959 stream mode: end of
//! file is the end of the connection), so reading `0` bytes is success and is when the file
//! is committed; any error before that aborts it (see [`FileSink`](super::sink::FileSink)).
//!
//! Two paths, both following the edge-triggered rules of `download.rs` (read until
//! `WouldBlock`, at most `BUDGET` chunks per turn, throttle allowance first):
//!
//! * **Buffered**: `read` into a 256 KiB buffer, then write it to the sink (which converts
//!   line ends in ASCII mode). The buffer belongs to the loop thread, not to the connection:
//!   bytes never stay in it between callbacks.
//! * **Spliced**: once an upload proves large (256 KiB arrived), a plain binary
//!   upload to an OS file switches to `splice(2)` through a pipe (`zerocopy.rs`), so the bytes
//!   are copied once, into the page cache, instead of twice. Small uploads never pay for the
//!   pipe's creation. If the file refuses `splice`, the bytes already in the pipe are written
//!   by hand and the upload carries on buffered.

use std::cell::RefCell;
use std::io::{self, Read};

use super::download::{client_gone, local_error, Slice};
use super::states::Splice;
use super::zerocopy::{self, Pipe};
use super::{DataConn, Outcome, State};
use crate::ioloop::Flow;
use crate::msg::Cx;
use crate::reply::{Reply, ReplyCode};

/// Bytes read from the socket, or spliced into the pipe, per call.
const RECV_CHUNK: usize = 256 * 1024;

/// An upload that has brought this many bytes is large: it switches to `splice`. (Small
/// uploads never pay for a pipe; the switch does not depend on how the bytes were split
/// into reads.)
const SPLICE_AFTER: u64 = 256 * 1024;

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
        RECV_BUF.with(|cell| match cell.try_borrow_mut() {
            Ok(mut buf) => self.recv_any(&mut buf, cx),
            // Unreachable (one upload reads at a time on a thread), but never a panic.
            Err(_) => self.recv_any(&mut Vec::new(), cx),
        })
    }

    fn recv_any(&mut self, buf: &mut Vec<u8>, cx: &mut Cx<'_>) -> Flow {
        if buf.len() < RECV_CHUNK {
            buf.resize(RECV_CHUNK, 0);
        }
        if matches!(self.state, State::Recv(_, Splice::On(_))) {
            self.recv_spliced(buf, cx)
        } else {
            self.recv_buffered(buf, cx)
        }
    }

    fn recv_buffered(&mut self, buf: &mut [u8], cx: &mut Cx<'_>) -> Flow {
        let mut slice = Slice::start();
        while slice.next() {
            let allow = self.allowance(cx, RECV_CHUNK);
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
                    if self.bytes >= SPLICE_AFTER && self.start_splice() {
                        // A large upload: the next turn splices.
                        return Flow::Yield;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Flow::Continue,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                    // TLS without close_notify: the client may have been cut off.
                    log::warn!(
                        "upload ended without TLS close_notify after {} bytes: possibly truncated",
                        self.bytes
                    );
                    let State::Recv(sink, _) = &mut self.state else {
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

    fn recv_spliced(&mut self, buf: &mut [u8], cx: &mut Cx<'_>) -> Flow {
        let mut slice = Slice::start();
        while slice.next() {
            let allow = self.allowance(cx, RECV_CHUNK);
            if allow == 0 {
                return Flow::Continue;
            }
            let State::Recv(_, Splice::On(pipe)) = &self.state else {
                return self.recv_buffered(buf, cx);
            };
            match pipe.fill_from(self.sock.tcp(), allow) {
                Ok(0) => return self.recv_eof(),
                Ok(n) => {
                    if let Err(reply) = self.drain_pipe(n, buf) {
                        return self.fail(reply);
                    }
                    self.moved(n, cx);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Flow::Continue,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return self.fail(client_gone(&e)),
            }
        }
        Flow::Yield
    }

    /// The client closed the data connection: the upload is complete.
    fn recv_eof(&mut self) -> Flow {
        let State::Recv(sink, _) = &mut self.state else {
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
            State::Recv(sink, _) => sink.write(data).map_err(|e| local_error(&e)),
            _ => Err(no_upload()),
        }
    }

    /// Switches a plain binary upload to an OS file over to `splice`, once: true if it did
    /// (the upload's `Splice` becomes `On`, or `Off` for good).
    fn start_splice(&mut self) -> bool {
        let State::Recv(sink, splice @ Splice::NotYet) = &mut self.state else {
            return false;
        };
        let possible = zerocopy::AVAILABLE
            && self.cfg.use_sendfile
            && !self.sock.is_tls()
            && sink.splice_file().is_some();
        *splice = Splice::Off;
        if !possible {
            return false;
        }
        match Pipe::new(RECV_CHUNK) {
            Ok(pipe) => {
                *splice = Splice::On(pipe);
                true
            }
            Err(e) => {
                log::debug!("no pipe for splice, uploading buffered: {e}");
                false
            }
        }
    }

    /// Writes the `n` bytes just spliced into the pipe to the file. If the file refuses
    /// `splice`, the rest is read out of the pipe and written by hand, and the upload goes
    /// on buffered.
    fn drain_pipe(&mut self, n: usize, buf: &mut [u8]) -> Result<(), Reply> {
        let State::Recv(sink, splice) = &mut self.state else {
            return Err(no_upload());
        };
        let (Splice::On(pipe), Some(file)) = (&*splice, sink.splice_file()) else {
            return Err(no_upload());
        };
        let (done, err) = match pipe.drain_to(file, n) {
            Ok(()) => return Ok(()),
            Err(failed) => failed,
        };
        if !zerocopy::refused_by_file(&err) {
            return Err(local_error(&err));
        }
        log::debug!("the file refused splice ({err}), uploading buffered");
        let Splice::On(pipe) = std::mem::replace(splice, Splice::Off) else {
            return Err(no_upload());
        };
        let mut left = n - done;
        while left > 0 {
            let want = left.min(buf.len());
            let got = match pipe.read_out(&mut buf[..want]) {
                Ok(0) => return Err(local_error(&io::ErrorKind::UnexpectedEof.into())),
                Ok(got) => got,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(local_error(&e)),
            };
            sink.write(&buf[..got]).map_err(|e| local_error(&e))?;
            left -= got;
        }
        Ok(())
    }
}

/// The reply for an upload step reached without an upload (a state the loop never produces).
fn no_upload() -> Reply {
    Reply::new(ReplyCode::TransferAborted, "No upload running.")
}
