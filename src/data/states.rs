//! The states a data connection goes through ([`State`]: connecting, idle, one of the ways of
//! moving bytes) and where its TLS checks stand ([`Secure`]), with the names `--trace` shows.

use std::io;

use super::batches::Batches;
use super::job::{Batch, Job};
use super::producer::{FileProducer, Producer};
use super::sink::FileSink;
use super::writebehind::WriteBehind;
use crate::msg::Cx;

/// The state of a data connection.
#[derive(Debug)]
pub(super) enum State {
    /// Active mode: a non-blocking connect to the client is in progress.
    Connecting,
    /// Connected, waiting for a job.
    Idle,
    /// Zero-copy download; `first` until the first successful call (fallback allowed).
    Sendfile {
        file: Box<dyn crate::fs::ReadFile>,
        offset: u64,
        first: bool,
    },
    /// Buffered download.
    Send(Box<dyn Producer>),
    /// A listing made on the blocking pool, a batch ahead.
    Batches(Batches),
    /// Upload, small so far: each read is written at once, on the loop.
    Recv(FileSink),
    /// Upload, large: the loop fills chunks, the blocking pool writes them (`writebehind.rs`).
    WriteBehind(Box<WriteBehind>),
    /// The job is done (an upload already committed); TLS close_notify is still being
    /// flushed. `upload` says which way the job went.
    Closing { upload: bool },
}

/// The TLS side of a data connection. Under PROT P the connection is not *up* (no job can
/// start, no upload opens its file) until the handshake has finished and passed the reuse
/// check; a failure closes it with `DataRefused` instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Secure {
    /// PROT C: nothing to check.
    Plain,
    /// PROT P: handshake (or, active mode, the TCP connect before it) still running.
    Handshaking,
    /// Handshake done and reuse check passed; the owner was told (`DataSecured`).
    Verified,
}

impl State {
    /// The state that runs `job`. A binary download of an OS file takes `sendfile(2)` when
    /// `zero_copy` allows it (the feature is built and on, and the socket is not TLS); a
    /// listing that may block (it reads directories) is made on the blocking pool.
    pub(super) fn for_job(job: Job, zero_copy: bool, cx: &mut Cx<'_>) -> State {
        match job {
            Job::SendFile {
                file,
                offset,
                ascii,
            } if !ascii && zero_copy && file.as_file().is_some() => State::Sendfile {
                file,
                offset,
                first: true,
            },
            Job::SendFile { file, ascii, .. } => {
                State::Send(Box::new(FileProducer::new(file, ascii)))
            }
            Job::Produce(p) if p.may_block() => State::Batches(Batches::start(p, cx)),
            Job::Produce(p) => State::Send(p),
            Job::Receive(sink) => State::Recv(sink),
        }
    }

    /// A listing's batch came back from the pool (`Msg::Batch`).
    pub(super) fn batch_arrived(&mut self, (producer, bytes): Batch) -> io::Result<()> {
        match self {
            State::Batches(b) => b.arrived(producer, bytes),
            _ => Ok(()),
        }
    }

    /// The name `--trace` logs (`Handler::state`). `handshaking`: the TLS handshake is still
    /// running.
    pub(super) fn name(&self, handshaking: bool) -> &'static str {
        match self {
            State::Connecting => "data:connecting",
            State::Idle if handshaking => "data:tls-handshake",
            State::Idle => "data:idle",
            State::Sendfile { .. } => "data:sendfile",
            State::Send(_) => "data:sending",
            State::Batches(_) => "data:listing",
            State::Recv(_) => "data:receiving",
            State::WriteBehind(wb) => wb.name(),
            State::Closing { .. } => "data:closing",
        }
    }

    /// Moving a file or a listing (rather than connecting or waiting for a job).
    pub(super) fn transferring(&self) -> bool {
        matches!(
            self,
            State::Sendfile { .. }
                | State::Send(_)
                | State::Batches(_)
                | State::Recv(_)
                | State::WriteBehind(_)
                | State::Closing { .. }
        )
    }
}
