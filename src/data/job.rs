//! What a control connection asks of a data connection ([`Job`], [`Start`]) and what it gets
//! back ([`TransferResult`]); and the throttled progress reports for hooks.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::producer::Producer;
use super::sink::FileSink;
use crate::reply::Reply;

/// A job plus the user's shared bandwidth bucket for its direction, if the user has one.
#[derive(Debug)]
pub struct Start {
    /// The job.
    pub job: Job,
    /// The per-user aggregate limit (shared by all the user's data connections).
    pub user_bucket: Option<crate::state::SharedBucket>,
    /// Where to report progress (file transfers only).
    pub progress: Option<Progress>,
    /// The metrics counter of data bytes in this job's direction.
    pub meter: Option<prometheus_client::metrics::counter::Counter>,
}

/// Reports a file transfer's progress to [`crate::hooks::Hooks::on_progress`], at most once a second.
#[derive(Debug)]
pub struct Progress {
    /// The hooks to call.
    pub hooks: Arc<dyn crate::hooks::Hooks>,
    /// The control connection's peer.
    pub peer: std::net::SocketAddr,
    /// The user.
    pub user: String,
    /// The virtual path.
    pub path: String,
    /// Bytes to send, when known (downloads).
    pub total: Option<u64>,
    /// When the hook was last called.
    pub last: Option<Instant>,
}

impl Progress {
    /// Calls the hook if a second has passed since the last call.
    pub(super) fn report(&mut self, bytes: u64, now: Instant) {
        if self
            .last
            .is_some_and(|t| now.saturating_duration_since(t) < Duration::from_secs(1))
        {
            return;
        }
        self.last = Some(now);
        let info = crate::hooks::SessionInfo {
            peer: self.peer,
            user: &self.user,
        };
        self.hooks.on_progress(&info, &self.path, bytes, self.total);
    }
}

pub use super::chunk::Written;

/// A listing's producer back from the pool, with the batch it made (`Msg::Batch`).
pub type Batch = (Box<dyn Producer>, std::io::Result<Vec<u8>>);

/// What a data connection is asked to do.
#[derive(Debug)]
pub enum Job {
    /// Send a file from `offset` (RETR), converting line ends if `ascii`.
    SendFile {
        /// The open file, positioned at `offset`.
        file: Box<dyn crate::fs::ReadFile>,
        /// Where sending starts (the REST offset).
        offset: u64,
        /// TYPE A.
        ascii: bool,
    },
    /// Send what a producer makes (listings).
    Produce(Box<dyn Producer>),
    /// Receive into a file (STOR, APPE, STOU).
    Receive(FileSink),
}

/// How a transfer ended.
#[derive(Debug)]
pub enum Outcome {
    /// Every byte moved.
    Complete,
    /// Stopped by ABOR.
    Aborted,
    /// Failed; the reply says why (426 client gone or stalled, 451/452/552 local errors).
    Failed(Reply),
}

impl Outcome {
    /// The `result` label of the transfer metrics: `ok`, `aborted` or `failed`.
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Complete => "ok",
            Outcome::Aborted => "aborted",
            Outcome::Failed(_) => "failed",
        }
    }
}

/// The report a data connection sends its owner when it closes after a job.
#[derive(Debug)]
pub struct TransferResult {
    /// How it ended.
    pub outcome: Outcome,
    /// Bytes moved on the wire.
    pub bytes: u64,
    /// Time from start to close.
    pub elapsed: Duration,
}
