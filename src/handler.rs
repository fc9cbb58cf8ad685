//! The closed set of handlers the FTP server puts in its slab (the messages between them are in
//! `msg.rs`).
//!
//! A listener accepts control connections; each control connection (pyftpdlib's `FTPHandler`)
//! later owns passive acceptors, active connectors and data connections (its `DTPHandler`s).
//! They are variants of one enum rather than `Box<dyn Handler>`: each keeps its own type, and the
//! dispatcher stays generic and testable with a toy handler. Handlers never hold references to
//! one another: a control connection knows the `ConnId`s of its data connections and talks to
//! them with `Msg`s, which the dispatcher delivers after the current callback returns.

use mio::event::Source;
use mio::Interest;

use crate::control::ControlConn;
use crate::data::connect::PassiveAcceptor;
use crate::data::DataConn;
use crate::ioloop::{Context, Flow, Handler};
use crate::listener::Listener;
use crate::metrics::http::{HttpConn, StatusListener};
use crate::msg::{Ftp, HandlerSet, Msg, TimerKind};

/// Every kind of handler of the FTP server.
#[derive(Debug)]
pub(crate) enum FtpHandler {
    /// Accepts control connections.
    Listener(Listener),
    /// One client's control connection.
    Control(Box<ControlConn>),
    /// Waits for a passive data connection.
    Passive(PassiveAcceptor),
    /// A data connection (active or passive).
    Data(Box<DataConn>),
    /// Accepts connections to the HTTP status endpoint (`/metrics`, `/health`, `/ready`).
    Status(StatusListener),
    /// One HTTP request to the status endpoint.
    Http(Box<HttpConn>),
}

macro_rules! delegate {
    ($self:ident, $h:ident => $e:expr) => {
        match $self {
            FtpHandler::Listener($h) => $e,
            FtpHandler::Control($h) => $e,
            FtpHandler::Passive($h) => $e,
            FtpHandler::Data($h) => $e,
            FtpHandler::Status($h) => $e,
            FtpHandler::Http($h) => $e,
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
    fn polled(&self) -> bool {
        match self {
            FtpHandler::Passive(p) => p.polled(),
            _ => true,
        }
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

/// The enum behind [`crate::msg::Cx`]: handlers name their context through this impl, so that
/// they need not import this file (which imports them).
impl HandlerSet for Ftp {
    type Handler = FtpHandler;
}

impl From<Listener> for FtpHandler {
    fn from(l: Listener) -> Self {
        FtpHandler::Listener(l)
    }
}

impl From<ControlConn> for FtpHandler {
    fn from(c: ControlConn) -> Self {
        FtpHandler::Control(Box::new(c))
    }
}

impl From<PassiveAcceptor> for FtpHandler {
    fn from(p: PassiveAcceptor) -> Self {
        FtpHandler::Passive(p)
    }
}

impl From<DataConn> for FtpHandler {
    fn from(d: DataConn) -> Self {
        FtpHandler::Data(Box::new(d))
    }
}

impl From<StatusListener> for FtpHandler {
    fn from(l: StatusListener) -> Self {
        FtpHandler::Status(l)
    }
}

impl From<Box<HttpConn>> for FtpHandler {
    fn from(c: Box<HttpConn>) -> Self {
        FtpHandler::Http(c)
    }
}
