//! The listener handler (pyftpdlib's `Acceptor`): accepts control connections and enforces the
//! connection limits.
//!
//! mio is edge-triggered, so one readable event may stand for many queued connections: accept
//! until `WouldBlock`, at most [`ACCEPT_BUDGET`] per turn (then yield, so a connection storm
//! cannot starve established sessions). Limits (RFC 2577 recommends a per-IP one against
//! parallel password guessing): a client over `max_cons` or `max_cons_per_ip` still gets a
//! handler, but one that only says `421` and closes once that reply is flushed. The listener
//! keeps the counts itself; control connections report their end with `Msg::ControlClosed`.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use mio::event::Source;
use mio::net::{TcpListener, TcpStream};
use mio::Interest;

use crate::config::Config;
use crate::control::ControlConn;
use crate::handler::{Cx, FtpHandler, Msg, TimerKind};
use crate::ioloop::Flow;
use crate::net::canonical_ip;
use crate::state::Shared;

/// Why a new connection is told `421` and closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The client's IP is temporarily banned after failed logins.
    Banned,
    /// `max_cons` reached.
    TooManyConnections,
    /// `max_cons_per_ip` reached.
    TooManyFromIp,
}

impl Refusal {
    /// The text of the 421 reply (pyftpdlib's wording where it has one).
    pub fn text(self) -> &'static str {
        match self {
            Refusal::Banned => "Too many failed logins from your address; try again later.",
            Refusal::TooManyConnections => "Too many connections.",
            Refusal::TooManyFromIp => "Too many connections from the same IP address.",
        }
    }

    /// The machine-readable reason code for logs.
    pub fn code(self) -> &'static str {
        match self {
            Refusal::Banned => "banned",
            Refusal::TooManyConnections => "too-many-connections",
            Refusal::TooManyFromIp => "too-many-per-ip",
        }
    }
}

/// Connections accepted per turn before yielding.
pub const ACCEPT_BUDGET: usize = 128;

/// Accepts control connections on one socket.
#[derive(Debug)]
pub struct Listener {
    sock: TcpListener,
    cfg: Arc<Config>,
    total: usize,
    per_ip: HashMap<IpAddr, usize>,
    /// Paused after EMFILE/ENFILE until a retry timer fires.
    paused: bool,
    /// TLS starts at once on accepted connections (implicit FTPS, port 990 style).
    implicit_tls: bool,
    shared: Arc<Shared>,
}

impl Listener {
    /// Wraps a bound, listening, non-blocking socket.
    pub fn new(
        sock: TcpListener,
        cfg: Arc<Config>,
        shared: Arc<Shared>,
        implicit_tls: bool,
    ) -> Listener {
        Listener {
            sock,
            cfg,
            total: 0,
            per_ip: HashMap::new(),
            paused: false,
            implicit_tls,
            shared,
        }
    }

    /// The address the socket is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.sock.local_addr()
    }

    /// Control connections currently counted.
    pub fn connections(&self) -> usize {
        self.total
    }

    pub(crate) fn source(&mut self) -> &mut dyn Source {
        &mut self.sock
    }

    pub(crate) fn interest(&self) -> Interest {
        Interest::READABLE
    }

    pub(crate) fn readable(&mut self, cx: &mut Cx<'_>) -> Flow {
        if self.paused {
            return Flow::Continue;
        }
        for _ in 0..ACCEPT_BUDGET {
            match self.sock.accept() {
                Ok((stream, peer)) => self.admit(stream, peer, cx),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Flow::Continue,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::ConnectionAborted => {}
                Err(e) => {
                    // Typically EMFILE/ENFILE: the queue stays full and no new edge would come,
                    // so retry on a timer instead of spinning.
                    log::error!("accept failed: {e}; retrying in 100 ms");
                    self.paused = true;
                    cx.after(Duration::from_millis(100), TimerKind::AcceptRetry);
                    return Flow::Continue;
                }
            }
        }
        Flow::Yield
    }

    pub(crate) fn writable(&mut self, _cx: &mut Cx<'_>) -> Flow {
        Flow::Continue
    }

    pub(crate) fn resume(&mut self, cx: &mut Cx<'_>) -> Flow {
        self.readable(cx)
    }

    pub(crate) fn timer(&mut self, kind: TimerKind, cx: &mut Cx<'_>) -> Flow {
        if kind == TimerKind::AcceptRetry {
            self.paused = false;
            return self.readable(cx);
        }
        Flow::Continue
    }

    pub(crate) fn message(&mut self, msg: Msg, _cx: &mut Cx<'_>) -> Flow {
        match msg {
            Msg::ControlClosed { ip } => {
                self.total = self.total.saturating_sub(1);
                if let Some(n) = self.per_ip.get_mut(&ip) {
                    *n -= 1;
                    if *n == 0 {
                        self.per_ip.remove(&ip);
                    }
                }
                Flow::Continue
            }
            Msg::Shutdown | Msg::Drain => Flow::Close,
            _ => Flow::Continue,
        }
    }

    pub(crate) fn closed(&mut self, _cx: &mut Cx<'_>) {}

    pub(crate) fn state(&self) -> &'static str {
        if self.paused {
            "listener:paused"
        } else {
            "listener:accepting"
        }
    }

    /// Decides whether a new connection is served or told `421`, and spawns its handler.
    fn admit(&mut self, stream: TcpStream, peer: SocketAddr, cx: &mut Cx<'_>) {
        let ip = canonical_ip(peer.ip());
        let refusal = if self.shared.is_banned(ip, cx.now) {
            Some(Refusal::Banned)
        } else if self.cfg.max_cons > 0 && self.total >= self.cfg.max_cons {
            Some(Refusal::TooManyConnections)
        } else if self.cfg.max_cons_per_ip > 0
            && self.per_ip.get(&ip).copied().unwrap_or(0) >= self.cfg.max_cons_per_ip
        {
            Some(Refusal::TooManyFromIp)
        } else {
            None
        };
        let counted = refusal.is_none();
        let conn = match ControlConn::new(
            stream,
            peer,
            Arc::clone(&self.cfg),
            Arc::clone(&self.shared),
            cx.me(),
            refusal,
            self.implicit_tls,
        ) {
            Ok(c) => c,
            Err(e) => {
                log::warn!("{peer}: cannot set up connection: {e}");
                return;
            }
        };
        match cx.spawn(FtpHandler::Control(Box::new(conn))) {
            Ok(id) => {
                if counted {
                    self.total += 1;
                    *self.per_ip.entry(ip).or_insert(0) += 1;
                }
                cx.send(id, Msg::Start);
            }
            Err(e) => log::warn!("{peer}: connection dropped: {e}"),
        }
    }
}
