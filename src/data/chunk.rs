//! The buffers of an upload's write-behind ([`Chunk`]) and the write job that empties one into
//! the file on a worker of the blocking pool ([`WriteJob`], answered by [`Written`]).
//!
//! A chunk is either memory (a 256 KiB buffer the loop `read`s the socket into) or a kernel
//! pipe (the loop `splice`s the socket into it, and the worker `splice`s it into the file, so
//! the bytes are never copied through user space). `writebehind.rs` explains why the writes
//! leave the loop. Nothing here touches the loop's state: a job owns the sink and the chunk it
//! writes and hands both back, so this file is the part of the exchange that runs on a worker.

use std::io::{self, Read};

use super::sink::FileSink;
use super::zerocopy::{self, Pipe};
use crate::tls::Stream;

/// Bytes one memory chunk holds (and a pipe chunk asks the kernel to hold).
pub(super) const CHUNK_BYTES: usize = 256 * 1024;

/// Received bytes waiting to be written, and where they wait.
#[derive(Debug)]
pub struct Chunk {
    store: Store,
    /// Bytes held.
    len: usize,
}

#[derive(Debug)]
enum Store {
    Memory(Vec<u8>),
    Pipe(Pipe),
}

impl Chunk {
    /// An empty memory chunk of [`CHUNK_BYTES`].
    pub(super) fn memory() -> Chunk {
        Chunk::of(Store::Memory(vec![0; CHUNK_BYTES]))
    }

    /// An empty pipe chunk (for `splice`), if the system gives a pipe.
    pub(super) fn pipe() -> io::Result<Chunk> {
        Pipe::new(CHUNK_BYTES).map(|p| Chunk::of(Store::Pipe(p)))
    }

    /// A chunk that holds nothing and takes nothing: what a chunk becomes once its bytes can
    /// no longer be written (a write failed), so that no stale byte is ever written later.
    pub(super) fn spent() -> Chunk {
        Chunk::of(Store::Memory(Vec::new()))
    }

    fn of(store: Store) -> Chunk {
        Chunk { store, len: 0 }
    }

    /// Bytes held.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.len
    }

    pub(super) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bytes it may still take.
    pub(super) fn room(&self) -> usize {
        let capacity = match &self.store {
            Store::Memory(buf) => buf.len(),
            Store::Pipe(pipe) => pipe.capacity(),
        };
        capacity.saturating_sub(self.len)
    }

    pub(super) fn is_full(&self) -> bool {
        self.room() == 0
    }

    /// A pipe chunk (the upload is spliced).
    pub(super) fn is_pipe(&self) -> bool {
        matches!(self.store, Store::Pipe(_))
    }

    /// Takes up to `allow` received bytes from `sock` (a read, or a splice into the pipe).
    /// `Ok(0)` is the end of the stream. `WouldBlock`: nothing now (for a pipe that holds
    /// bytes already, the pipe may be full instead).
    pub(super) fn fill(&mut self, sock: &mut Stream, allow: usize) -> io::Result<usize> {
        if self.is_pipe() {
            self.splice_from(sock.tcp(), allow)
        } else {
            self.read_from(sock, allow)
        }
    }

    /// Reads up to `allow` bytes from `r` into a memory chunk.
    pub(super) fn read_from(&mut self, r: &mut impl Read, allow: usize) -> io::Result<usize> {
        let Store::Memory(buf) = &mut self.store else {
            return Err(io::ErrorKind::Unsupported.into());
        };
        let end = buf.len().min(self.len + allow);
        let n = r.read(&mut buf[self.len..end])?;
        self.len += n;
        Ok(n)
    }

    /// Splices up to `allow` bytes from the socket `fd` into a pipe chunk.
    pub(super) fn splice_from(
        &mut self,
        fd: &impl std::os::fd::AsRawFd,
        allow: usize,
    ) -> io::Result<usize> {
        let Store::Pipe(pipe) = &self.store else {
            return Err(io::ErrorKind::Unsupported.into());
        };
        let n = pipe.fill_from(fd, allow.min(self.room()))?;
        self.len += n;
        Ok(n)
    }

    /// Writes the bytes held to `sink` and empties the chunk, whatever the outcome (a chunk
    /// whose write failed becomes [`Chunk::spent`]). A pipe whose file refuses `splice` is
    /// read out by hand, and the chunk carries on as memory.
    pub(super) fn write_to(&mut self, sink: &mut FileSink) -> io::Result<()> {
        let len = std::mem::take(&mut self.len);
        let result = match &self.store {
            Store::Memory(buf) => sink.write(&buf[..len]),
            Store::Pipe(pipe) => match drain_pipe(pipe, len, sink) {
                Ok(()) => Ok(()),
                Err(Drained::Refused) => {
                    // Every byte is in the file now; this chunk never splices again.
                    self.store = Store::Memory(vec![0; CHUNK_BYTES]);
                    Ok(())
                }
                Err(Drained::Failed(e)) => Err(e),
            },
        };
        if result.is_err() {
            *self = Chunk::spent();
        }
        result
    }
}

/// Why a pipe was not simply spliced into its file.
enum Drained {
    /// The file refused `splice`; the bytes were written by hand instead.
    Refused,
    /// Writing failed.
    Failed(io::Error),
}

/// Writes the `len` bytes `pipe` holds into the sink's file: by `splice`, or by hand if the
/// file refuses it (or has no OS file to splice into).
fn drain_pipe(pipe: &Pipe, len: usize, sink: &mut FileSink) -> Result<(), Drained> {
    if len == 0 {
        return Ok(());
    }
    let done = match sink.splice_file().map(|file| pipe.drain_to(file, len)) {
        Some(Ok(())) => return Ok(()),
        Some(Err((_, e))) if !zerocopy::refused_by_file(&e) => return Err(Drained::Failed(e)),
        Some(Err((done, e))) => {
            log::debug!("the file refused splice ({e}), uploading buffered");
            done
        }
        None => 0,
    };
    let mut buf = vec![0; (len - done).min(CHUNK_BYTES)];
    let mut left = len - done;
    while left > 0 {
        let want = left.min(buf.len());
        let got = match pipe.read_out(&mut buf[..want]) {
            Ok(0) => return Err(Drained::Failed(io::ErrorKind::UnexpectedEof.into())),
            Ok(got) => got,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Drained::Failed(e)),
        };
        sink.write(&buf[..got]).map_err(Drained::Failed)?;
        left -= got;
    }
    Err(Drained::Refused)
}

/// A write for a worker: the sink and the chunk travel together, and come back together in
/// [`Written`]. `last`: the upload is complete; after the chunk, commit the file.
#[derive(Debug)]
pub(super) struct WriteJob {
    pub sink: FileSink,
    pub chunk: Chunk,
    pub last: bool,
}

impl WriteJob {
    /// Runs on a worker: writes the chunk (then, for the last one, commits the file) and
    /// hands everything back. The sink is never dropped here: it goes back to the loop.
    pub(super) fn run(self) -> Written {
        let WriteJob {
            mut sink,
            mut chunk,
            last,
        } = self;
        let held = super::held::Held::start();
        let mut result = chunk.write_to(&mut sink);
        if last && result.is_ok() {
            result = sink.finish();
        }
        Written {
            sink,
            chunk,
            result,
            last,
            cost: held.stop(),
        }
    }
}

/// A write back from the pool (`Msg::Written`): the sink, the emptied chunk, and how it went.
#[derive(Debug)]
pub struct Written {
    pub(super) sink: FileSink,
    pub(super) chunk: Chunk,
    pub(super) result: io::Result<()>,
    /// What the write cost its thread, wherever it ran (`held.rs`; `upload/timing.rs` decides
    /// from it where the next writes run).
    pub(super) cost: super::held::Cost,
    /// It was the last write (the commit).
    pub(super) last: bool,
}

#[cfg(test)]
mod tests;
