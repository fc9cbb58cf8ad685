//! Write-behind: a large upload's file writes run on the blocking pool, not on the loop.
//!
//! Writing into the page cache looks cheap, and mostly is; but once the system holds many
//! dirty pages (eight sessions uploading 8 MiB files are enough), the kernel makes the writer
//! wait in `balance_dirty_pages` until writeback catches up, for milliseconds at a time. On the
//! loop that wait is every session's wait: a NOOP in another session waited 3 to 5 ms. So once
//! an upload proves large (256 KiB arrived, where it used to switch to `splice`), the loop only
//! reads the socket, and a worker of the blocking pool (`Context::offload`) does the writing
//! (a lone upload whose writes are quick is written by the loop itself, in the same steps, as a
//! pool without threads would: `upload/timing.rs` decides).
//! Small uploads stay as they were: written inline from the loop's one shared buffer, with no
//! round trip through the pool.
//!
//! **Double buffering.** The upload owns two [`Chunk`]s. The loop fills one from the socket
//! while the other travels to a worker *with the [`FileSink`]* (a [`WriteJob`]): the worker
//! writes it (CRLF→LF, the quota's count and the file all live in the sink) and sends the sink
//! and the emptied chunk back (`Msg::Written`, carrying [`Written`]). When the filling chunk is
//! full and the other is still out, the loop stops reading; since it stopped before
//! `WouldBlock` no edge will wake it, so the write's return reads on. When the sink comes
//! home and the filling chunk has bytes, they leave at once. A plain binary upload to an OS
//! file uses two pipes as its chunks (`splice` socket → pipe on the loop, pipe → file on the
//! worker), memory buffers otherwise (TLS, ASCII, quota, a file that refuses `splice`).
//!
//! **Ordering.** The sink is in one place at a time, so writes reach the file in order, and
//! nothing closes while it is away: a data connection that wants to close (the end of the
//! upload, an error, ABOR, `Shutdown`, a stall timeout, a reset) first waits for its write to
//! come back ([`DataConn::settle`]). The end of the stream sends the last bytes and the commit
//! as one job, and only its success makes the transfer complete; a stop writes the bytes that
//! arrived and then aborts the sink (the partial file kept or deleted, the old file left for
//! atomic uploads, the quota refunded). So when the control connection gets `DataClosed` and
//! sends its `226` or `426`, the file is in its final state. A job that panics (`WriteLost`)
//! took its sink with it; the upload then fails with `451`. Only a forced close (the server
//! shutting down, the session gone) leaves a sink on a worker: its message is then dropped on
//! the loop, and dropping a sink aborts it.

use std::io;

use super::chunk::{Chunk, WriteJob, Written};
use super::sink::FileSink;
use super::Outcome;

/// A large upload's two chunks, its sink, and how far it has got.
#[derive(Debug)]
pub(super) struct WriteBehind {
    writer: Writer,
    /// The chunk the loop reads into.
    pub filling: Chunk,
    stage: Stage,
    /// Counted among this loop's large uploads while it lives (where its writes run).
    _active: super::upload::Active,
    /// Its writes always run on the pool ([`FileSink::offload`]).
    pub pool: bool,
}

/// Where the sink is.
#[derive(Debug)]
enum Writer {
    /// On the loop, with the spare (empty) chunk.
    Home(FileSink, Chunk),
    /// On a worker, with the other chunk.
    Away,
    /// Gone with a job that panicked.
    Lost,
}

/// How far the upload has got.
#[derive(Debug)]
enum Stage {
    /// Reading the socket.
    Receiving,
    /// The stream ended (`cut`: a TLS stream without `close_notify`); the last bytes and the
    /// commit go to a worker when the sink is home.
    Ending { cut: bool },
    /// The last bytes and the commit are on a worker: their result is the outcome.
    Finishing { cut: bool },
    /// Failed or aborted, with the outcome to report once the bytes that arrived are written
    /// and the sink is home to be aborted.
    Stopping(Option<Outcome>),
}

impl WriteBehind {
    /// Takes over `sink`, with two pipes as chunks if `splice` (falling back to memory if the
    /// system gives no pipe).
    pub fn new(sink: FileSink, splice: bool) -> WriteBehind {
        let pool = sink.offload();
        let pipes = splice.then(|| Chunk::pipe().and_then(|a| Ok((a, Chunk::pipe()?))));
        let (filling, spare) = match pipes {
            Some(Ok(pair)) => pair,
            Some(Err(e)) => {
                log::debug!("no pipe for splice, uploading from memory: {e}");
                (Chunk::memory(), Chunk::memory())
            }
            None => (Chunk::memory(), Chunk::memory()),
        };
        WriteBehind {
            writer: Writer::Home(sink, spare),
            filling,
            stage: Stage::Receiving,
            _active: super::upload::Active::new(),
            pool,
        }
    }

    /// Still reading the socket.
    pub fn receiving(&self) -> bool {
        matches!(self.stage, Stage::Receiving)
    }

    /// A write is on a worker.
    pub fn writing(&self) -> bool {
        matches!(self.writer, Writer::Away)
    }

    /// The last bytes and the commit are on a worker (`cut`: the stream ended without TLS
    /// `close_notify`).
    pub fn finishing(&self) -> Option<bool> {
        match self.stage {
            Stage::Finishing { cut } => Some(cut),
            _ => None,
        }
    }

    pub(super) fn stopping(&self) -> bool {
        matches!(self.stage, Stage::Stopping(_))
    }

    /// The write that is due, if the sink is home: the filling chunk's bytes, or the last
    /// bytes and the commit once the stream has ended.
    pub fn next_job(&mut self) -> Option<WriteJob> {
        if !matches!(self.writer, Writer::Home(..)) {
            return None;
        }
        let last = match self.stage {
            Stage::Receiving | Stage::Stopping(_) if !self.filling.is_empty() => false,
            Stage::Ending { cut } => {
                self.stage = Stage::Finishing { cut };
                true
            }
            _ => return None,
        };
        let Writer::Home(sink, spare) = std::mem::replace(&mut self.writer, Writer::Away) else {
            return None;
        };
        let chunk = std::mem::replace(&mut self.filling, spare);
        Some(WriteJob { sink, chunk, last })
    }

    /// A write came back: the sink and the emptied chunk are home again. Its result.
    pub fn came_home(&mut self, w: Written) -> io::Result<()> {
        self.writer = Writer::Home(w.sink, w.chunk);
        w.result
    }

    /// The write's job panicked: the sink is gone, and the bytes held can go nowhere.
    pub fn lost(&mut self) {
        self.writer = Writer::Lost;
        self.discard();
    }

    /// The stream ended; `cut`: without TLS `close_notify`.
    pub fn end(&mut self, cut: bool) {
        if self.receiving() {
            self.stage = Stage::Ending { cut };
        }
    }

    /// The upload stops with `outcome` (the first stop's outcome is kept).
    pub fn stop(&mut self, outcome: Option<Outcome>) {
        if !self.stopping() {
            self.stage = Stage::Stopping(outcome);
        }
    }

    /// The bytes held can no longer be written (a write failed): drop them.
    pub fn discard(&mut self) {
        self.filling = Chunk::spent();
    }

    /// Stopping, and done with it (the sink is home and nothing is left to write, or the sink
    /// is lost): the outcome to report.
    pub fn stopped(&mut self) -> Option<Option<Outcome>> {
        let done = match self.writer {
            Writer::Home(..) => self.filling.is_empty(),
            Writer::Away => false,
            Writer::Lost => true,
        };
        match &mut self.stage {
            Stage::Stopping(outcome) if done => Some(outcome.take()),
            _ => None,
        }
    }

    /// The data connection closes: a sink at home is aborted (one already committed ignores
    /// it). A sink on a worker is aborted when its message is dropped.
    pub fn abort(&mut self) {
        match &mut self.writer {
            Writer::Home(sink, _) => sink.abort(),
            Writer::Away => log::debug!("upload closed with its write on a worker"),
            Writer::Lost => {}
        }
    }

    /// The name `--trace` shows.
    pub fn name(&self) -> &'static str {
        match (&self.stage, self.writing(), self.filling.is_pipe()) {
            (Stage::Stopping(_), ..) => "data:upload-stopping",
            (Stage::Ending { .. } | Stage::Finishing { .. }, ..) => "data:upload-committing",
            (Stage::Receiving, true, true) => "data:splicing-writing",
            (Stage::Receiving, true, false) => "data:upload-writing",
            (Stage::Receiving, false, true) => "data:splicing",
            (Stage::Receiving, false, false) => "data:receiving",
        }
    }
}

/// Logs that a TLS upload ended without `close_notify` after `bytes`: it is kept, but the
/// client may have been cut off.
pub(super) fn truncated(bytes: u64) {
    log::warn!("upload ended without TLS close_notify after {bytes} bytes: possibly truncated");
}

#[cfg(test)]
mod tests;
