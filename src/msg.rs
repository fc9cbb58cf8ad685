//! What the server's handlers say to one another ([`Msg`]), the timers they set ([`TimerKind`]),
//! and [`Cx`], the context every handler callback receives.
//!
//! This module sits *below* the handlers: the listener, the control connection, the passive
//! acceptor and the data connection all import it, and it imports none of them. That is why
//! `Cx` is spelled the way it is. The context's type names the handler enum,
//! `Context<'_, FtpHandler>`, and that enum (in `handler.rs`) names every handler. Had the
//! handlers written `Context<'_, FtpHandler>`, each handler file would import `handler.rs`,
//! which imports it back: the files would form a circle, and none could be read (or tested)
//! without all the others. So the alias names the enum through [`HandlerSet`]: this module
//! declares that *some* enum of handlers exists, and `handler.rs`, the one file that sees all
//! the handlers, says which (`impl HandlerSet for Ftp`). The compiler resolves the alias to
//! `Context<'_, FtpHandler>`; only the import graph is one-way. A handler that spawns another
//! does not name the enum either: `cx.spawn(data_conn.into())` uses the `From` impls in
//! `handler.rs`.

use std::sync::Arc;

use crate::auth::{AuthError, User};
use crate::data::job::{Batch, Start, TransferResult, Written};
use crate::ioloop::{ConnId, Context, Handler};
use crate::quota::Quota;
use crate::reply::Reply;

/// The pool's answer to PASS: the authorizer's verdict and, for a user with a quota, the
/// user's measured quota entry.
pub(crate) type LoginChecked = (Result<User, AuthError>, Option<Arc<Quota>>);

/// Messages exchanged by the server's handlers (and sent by the host through `Server`).
#[derive(Debug)]
pub(crate) enum Msg {
    /// Sent by the listener right after spawning a control connection: greet and arm timers.
    Start,
    /// The server is shutting down: say 421 and close.
    Shutdown,
    /// Graceful shutdown: listeners close; sessions say 421 and close once their running
    /// transfer (if any) has finished.
    Drain,
    /// A transfer command is waiting for the passive data connection: the acceptor starts
    /// accepting (to the passive acceptor, from its control connection).
    Accept,
    /// A data connection's TCP connection is up (to the control connection). `via` is the
    /// acceptor that accepted it (passive) or the connection itself (active).
    DataConnected {
        /// The new data connection.
        id: ConnId,
        /// The handler the control connection was waiting on.
        via: ConnId,
        /// PROT P: a TLS handshake and the reuse check follow; the connection is not up until
        /// `DataSecured` (or it ends with `DataRefused`).
        securing: bool,
    },
    /// PROT P: the data connection's TLS handshake and session-reuse check passed; only now
    /// may a transfer start on it (to the control connection).
    DataSecured {
        /// The data connection.
        id: ConnId,
    },
    /// PROT P: the data connection failed its TLS handshake or reuse check (or closed or
    /// stalled before finishing it) and is closing; `reply` is the refusal for a waiting
    /// transfer (to the control connection).
    DataRefused {
        /// The data connection.
        id: ConnId,
        /// `522` (handshake failed, no reuse) or `425` (closed, timed out).
        reply: Reply,
    },
    /// A data connection could not be set up (to the control connection).
    DataFailed {
        /// The acceptor or connecting data connection that gave up.
        id: ConnId,
        /// Why, for the reply and the log.
        reason: String,
    },
    /// Start a transfer (control → data connection).
    DataStart(Box<Start>),
    /// The blocking pool checked a USER/PASS pair, and measured the user's quota usage if
    /// the user has a quota (pool → control connection).
    LoginChecked(Box<LoginChecked>),
    /// The blocking pool made one batch of a listing: the producer comes back with it
    /// (pool → data connection).
    Batch(Box<Batch>),
    /// The pool lost a listing's producer (the job panicked): the transfer fails.
    BatchLost,
    /// The blocking pool wrote a chunk of a large upload (and, for the last one, committed the
    /// file): the sink and the emptied chunk come back with the result (pool → data
    /// connection).
    Written(Box<Written>),
    /// The pool lost an upload's sink (the write panicked): the transfer fails.
    WriteLost,
    /// The blocking pool ran a command's filesystem calls: their result (for the command's
    /// continuation) and how long they took (pool → control connection).
    FsDone(Box<dyn std::any::Any + Send>, std::time::Duration),
    /// The pool lost a command's filesystem calls (the job panicked).
    FsLost,
    /// Stop: close without finishing (control → acceptor or data connection).
    Abort,
    /// A data connection closed, with the result of its job if it had one (to the control
    /// connection).
    DataClosed {
        /// The data connection.
        id: ConnId,
        /// The transfer report, if a job was started.
        result: Option<TransferResult>,
    },
}

/// Timer kinds used by the server's handlers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TimerKind {
    /// Control connection idle timeout (RFC 1123).
    Idle,
    /// End of the delay before a `530` for a wrong password (RFC 2577).
    AuthDelay,
    /// The listener retries `accept` after running out of file descriptors.
    AcceptRetry,
    /// Data side: connect/accept timeout, or stall timeout during a transfer.
    DataDeadline,
    /// A throttled transfer may move bytes again.
    Throttle,
    /// A status-endpoint HTTP connection ran out of time for its request and response.
    HttpTimeout,
}

/// Ties the knot between the handlers and their enum: `handler.rs` implements it for [`Ftp`],
/// naming `FtpHandler`, so that the handlers can name their context without importing the enum.
pub(crate) trait HandlerSet {
    /// The closed enum of every handler of the server.
    type Handler: Handler<Msg = Msg, Timer = TimerKind>;
}

/// The FTP server's set of handlers (a name only: no value of it exists).
#[derive(Debug)]
pub(crate) enum Ftp {}

/// The context type every FTP handler callback receives: `Context<'a, FtpHandler>`.
pub(crate) type Cx<'a> = Context<'a, <Ftp as HandlerSet>::Handler>;
