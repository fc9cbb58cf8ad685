//! The closed set of handlers the FTP server puts in its slab, and the messages between them.
//!
//! A listener accepts control connections; each control connection (pyftpdlib's `FTPHandler`)
//! later owns passive acceptors, active connectors and data connections (its `DTPHandler`s).
//! They are variants of one enum rather than `Box<dyn Handler>`: each keeps its own type, and the
//! dispatcher stays generic and testable with a toy handler. Handlers never hold references to
//! one another: a control connection knows the [`ConnId`]s of its data connections and talks to
//! them with [`Msg`]s, which the dispatcher delivers after the current callback returns.

use mio::event::Source;
use mio::Interest;

use crate::control::ControlConn;
use crate::data::connect::PassiveAcceptor;
use crate::data::{DataConn, Start, TransferResult};
use crate::ioloop::{ConnId, Context, Flow, Handler};
use crate::listener::Listener;

/// Messages exchanged by the server's handlers (and sent by the host through `Server`).
#[derive(Debug)]
pub enum Msg {
    /// Sent by the listener right after spawning a control connection: greet and arm timers.
    Start,
    /// The server is shutting down: say 421 and close.
    Shutdown,
    /// Graceful shutdown: listeners close; sessions say 421 and close once their running
    /// transfer (if any) has finished.
    Drain,
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
        reply: crate::reply::Reply,
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
    /// The blocking pool checked a USER/PASS pair (pool → control connection).
    LoginChecked(Box<Result<crate::auth::User, crate::auth::AuthError>>),
    /// The blocking pool made one batch of a listing: the producer comes back with it
    /// (pool → data connection).
    Batch(Box<crate::data::Batch>),
    /// The pool lost a listing's producer (the job panicked): the transfer fails.
    BatchLost,
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
pub enum TimerKind {
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
}

/// Every kind of handler of the FTP server.
#[derive(Debug)]
pub enum FtpHandler {
    /// Accepts control connections.
    Listener(Listener),
    /// One client's control connection.
    Control(Box<ControlConn>),
    /// Waits for a passive data connection.
    Passive(PassiveAcceptor),
    /// A data connection (active or passive).
    Data(Box<DataConn>),
}

impl FtpHandler {
    /// True for control connections (counted by `max_cons`, told about shutdown).
    pub fn is_control(&self) -> bool {
        matches!(self, FtpHandler::Control(_))
    }
}

macro_rules! delegate {
    ($self:ident, $h:ident => $e:expr) => {
        match $self {
            FtpHandler::Listener($h) => $e,
            FtpHandler::Control($h) => $e,
            FtpHandler::Passive($h) => $e,
            FtpHandler::Data($h) => $e,
        }
    };
}

impl Handler for FtpHandler {
    type Msg = Msg;
    type Timer = TimerKind;

    fn source(&mut self) -> &mut dyn Source {
        delegate!(self, h => h.source())
    }
    fn interest(&self) -> Interest {
        delegate!(self, h => h.interest())
    }
    fn readable(&mut self, cx: &mut Context<'_, Self>) -> Flow {
        delegate!(self, h => h.readable(cx))
    }
    fn writable(&mut self, cx: &mut Context<'_, Self>) -> Flow {
        delegate!(self, h => h.writable(cx))
    }
    fn timer(&mut self, kind: TimerKind, cx: &mut Context<'_, Self>) -> Flow {
        delegate!(self, h => h.timer(kind, cx))
    }
    fn message(&mut self, msg: Msg, cx: &mut Context<'_, Self>) -> Flow {
        delegate!(self, h => h.message(msg, cx))
    }
    fn resume(&mut self, cx: &mut Context<'_, Self>) -> Flow {
        delegate!(self, h => h.resume(cx))
    }
    fn closed(&mut self, cx: &mut Context<'_, Self>) {
        delegate!(self, h => h.closed(cx))
    }
    fn state(&self) -> &'static str {
        delegate!(self, h => h.state())
    }
    fn bulk(&self) -> bool {
        matches!(self, FtpHandler::Data(d) if d.transferring())
    }
}

/// The context type every FTP handler callback receives.
pub type Cx<'a> = Context<'a, FtpHandler>;
