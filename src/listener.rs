//! The listener handler (pyftpdlib's `Acceptor`): accepts control connections and enforces the
//! connection limits.
//!
//! mio is edge-triggered, so one readable event may stand for many queued connections: accept
//! until `WouldBlock`, at most [`ACCEPT_BUDGET`] per turn (then yield, so a connection storm
//! cannot starve established sessions). Limits (RFC 2577 recommends a per-IP one against
//! parallel password guessing): a client over `max_cons` or `max_cons_per_ip` still gets a
//! handler, but one that only says `421` and closes once that reply is flushed. The listener
//! counts in the server-wide [`Shared`] state, so the limits hold across listeners and workers.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use mio::event::Source;
use mio::net::{TcpListener, TcpStream};
use mio::Interest;

use crate::config::LiveConfig;
use crate::control::ControlConn;
use crate::ioloop::Flow;
use crate::msg::{Cx, Msg, TimerKind};
use crate::net::canonical_ip;
use crate::state::{Refusal, Shared};

/// Connections accepted per turn before yielding.
pub const ACCEPT_BUDGET: usize = 128;

/// Accepts control connections on one socket.
#[derive(Debug)]
pub struct Listener {
    sock: TcpListener,
    /// Read at every accept: a new session gets the configuration current then.
    live: Arc<LiveConfig>,
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
        live: Arc<LiveConfig>,
        shared: Arc<Shared>,
        implicit_tls: bool,
    ) -> Listener {
        shared.metrics.status.listener_opened();
        Listener {
            sock,
            live,
            paused: false,
            implicit_tls,
            shared,
        }
    }

    /// Control connections currently counted (server-wide).
    pub fn connections(&self) -> usize {
        self.shared.connections()
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
                    self.shared.metrics.status.accept_paused(true);
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
            self.shared.metrics.status.accept_paused(false);
            return self.readable(cx);
        }
        Flow::Continue
    }

    pub(crate) fn message(&mut self, msg: Msg, _cx: &mut Cx<'_>) -> Flow {
        match msg {
            Msg::Shutdown | Msg::Drain => Flow::Close,
            _ => Flow::Continue,
        }
    }

    pub(crate) fn closed(&mut self, _cx: &mut Cx<'_>) {
        let status = &self.shared.metrics.status;
        status.listener_closed();
        if self.paused {
            status.accept_paused(false);
        }
    }

    pub(crate) fn state(&self) -> &'static str {
        if self.paused {
            "listener:paused"
        } else {
            "listener:accepting"
        }
    }

    /// Decides whether a new connection is served or told `421`, and spawns its handler.
    fn admit(&mut self, mut stream: TcpStream, peer: SocketAddr, cx: &mut Cx<'_>) {
        let ip = canonical_ip(peer.ip());
        if !cx.has_room() {
            // No token left for a handler: answer on the spot (best effort) and drop.
            log::warn!("{peer}: refused: token range full reason=too-many-connections");
            self.shared.metrics.refused("too-many-connections");
            let _ = std::io::Write::write(&mut stream, b"421 Too many connections.\r\n");
            return;
        }
        // Counted in the server-wide state, so limits hold across listeners and workers.
        // With the PROXY protocol the peer is the load balancer: bans and per-IP limits wait
        // for the header that names the real client.
        let cfg = self.live.current();
        let proxied = cfg.proxy_protocol;
        let per_ip = if proxied { 0 } else { cfg.max_cons_per_ip };
        let refusal = if !proxied && self.shared.is_banned(ip, cx.now) {
            Some(Refusal::Banned)
        } else {
            self.shared.try_admit(ip, cfg.max_cons, per_ip).err()
        };
        let counted = refusal.is_none();
        let conn = match ControlConn::new(
            stream,
            peer,
            cfg,
            Arc::clone(&self.shared),
            refusal,
            self.implicit_tls,
        ) {
            Ok(c) => c,
            Err(e) => {
                log::warn!("{peer}: cannot set up connection: {e}");
                if counted {
                    self.shared.release(ip);
                }
                return;
            }
        };
        match cx.spawn(conn.into()) {
            Ok(id) => cx.send(id, Msg::Start),
            Err(e) => {
                log::warn!("{peer}: connection dropped: {e}");
                if counted {
                    self.shared.release(ip);
                }
            }
        }
    }
}
