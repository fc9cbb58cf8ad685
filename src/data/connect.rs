//! Setting up data connections: the passive acceptor (PASV/EPSV) and the active connect
//! (PORT/EPRT), with RFC 2577's defences.
//!
//! **Passive.** We listen on a port of the configured range, picked at random so that another
//! client cannot guess it and steal the transfer ("port stealing"). The acceptor takes the first
//! connection that comes *from the control connection's IP* (a connection from elsewhere is
//! dropped, logged, and the acceptor keeps waiting), hands the socket to a new
//! [`DataConn`], and closes. PASV is per transfer (RFC 1123 §4.1.2.6): a second
//! PASV replaces the first acceptor.
//!
//! **Accepting late.** Nothing needs the data connection before the transfer command, so the
//! listener stays out of the poll until then ([`Handler::polled`](crate::ioloop::Handler)):
//! the client's connect lands in the kernel's accept queue and wakes no thread, and the
//! command (`Msg::Accept` from the control connection) takes it from there, in the same turn
//! when it is already queued. A session thus costs the loop one wake-up less, and the client
//! one system call that pays for waking a sleeping thread (docs/performance.md, run AB).
//! vsftpd too accepts only once the command has come. Under `PROT P` the acceptor is in the
//! poll at once: a client that starts its TLS handshake right after connecting gets its
//! answer, and a refused handshake its reply at the next command.
//!
//! **Active.** A non-blocking connect from the control connection's local address to the
//! address the client gave, which must be the client's own IP (no "FTP bounce" to third
//! parties) and not a privileged port, unless the operator allowed it.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::ops::RangeInclusive;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use mio::event::Source;
use mio::net::{TcpListener, TcpStream};
use mio::Interest;
use prometheus_client::metrics::gauge::Gauge;

use super::DataConn;
use crate::config::Config;
use crate::ioloop::{ConnId, Deadline, Fired, Flow};
use crate::msg::{Cx, Msg, TimerKind};
use crate::net::canonical_ip;
use crate::tls::DataTls;

/// A random number for port picking, from std's per-process random hash keys.
fn random_u64() -> u64 {
    let mut h = RandomState::new().build_hasher();
    h.write_u64(0x5eed);
    h.finish()
}

/// Binds a passive listener on `ip`, on a random free port of `range` (or any port). Fails with
/// `AddrInUse` when every port of the range is taken: never falls back to a port outside it.
pub fn bind_passive(
    ip: IpAddr,
    range: Option<&RangeInclusive<u16>>,
) -> io::Result<(std::net::TcpListener, u16)> {
    let Some(range) = range else {
        // The kernel picks the port: ask it which.
        let listener = crate::net::listen(SocketAddr::new(ip, 0))?;
        let port = listener.local_addr()?.port();
        return Ok((listener, port));
    };
    let (lo, hi) = (u64::from(*range.start()), u64::from(*range.end()));
    let count = hi - lo + 1;
    let first = random_u64() % count;
    for i in 0..count {
        let port = u16::try_from(lo + (first + i) % count).unwrap_or(*range.end());
        match crate::net::listen(SocketAddr::new(ip, port)) {
            Ok(l) => return Ok((l, port)),
            Err(e) if e.kind() == io::ErrorKind::AddrInUse => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AddrInUse,
        "every port of the passive range is busy",
    ))
}

/// Starts a non-blocking connect to `to` from `from_ip` (the control connection's local IP).
pub fn connect_active(from_ip: IpAddr, to: SocketAddr) -> io::Result<TcpStream> {
    let socket = crate::net::new_stream_socket(to)?;
    let from_ip = match (from_ip, to) {
        (IpAddr::V6(v6), SocketAddr::V4(_)) => v6.to_ipv4_mapped().map(IpAddr::V4),
        (ip, _) => Some(ip),
    };
    if let Some(ip) = from_ip {
        socket.bind(&SocketAddr::new(ip, 0).into())?;
    }
    match socket.connect(&to.into()) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(libc_einprogress()) => {}
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
        Err(e) => return Err(e),
    }
    Ok(TcpStream::from_std(socket.into()))
}

/// How a non-blocking connect ended, by mio's protocol (call on a writable event): `None`
/// while it is still in progress, then `Some(Ok(()))` or the reason it failed.
pub fn connect_result(sock: &TcpStream) -> Option<Result<(), String>> {
    match sock.take_error() {
        Ok(Some(e)) | Err(e) => Some(Err(e.to_string())),
        Ok(None) => match sock.peer_addr() {
            Ok(_) => Some(Ok(())),
            Err(e) if e.kind() == io::ErrorKind::NotConnected => None,
            Err(e) => Some(Err(e.to_string())),
        },
    }
}

/// EINPROGRESS on Linux and the BSDs (115 on Linux, 36 on BSD/macOS).
fn libc_einprogress() -> i32 {
    if cfg!(target_os = "linux") {
        115
    } else {
        36
    }
}

/// Waits for the one data connection of a PASV/EPSV.
#[derive(Debug)]
pub struct PassiveAcceptor {
    sock: TcpListener,
    owner: ConnId,
    /// The control connection's peer: the only IP allowed to connect (RFC 2577).
    peer_ip: IpAddr,
    cfg: Arc<Config>,
    progress: Arc<AtomicU64>,
    deadline: Deadline,
    /// PROT P: wrap the accepted connection in TLS.
    tls: Option<DataTls>,
    /// The server's gauge of passive listeners: raised while this one exists.
    listening: Gauge,
    /// In the poll: from the transfer command on (`Msg::Accept`), or at once under PROT P.
    accepting: bool,
}

impl Drop for PassiveAcceptor {
    fn drop(&mut self) {
        self.listening.dec();
    }
}

impl PassiveAcceptor {
    /// Wraps a bound listener.
    pub(crate) fn new(
        sock: std::net::TcpListener,
        owner: ConnId,
        peer_ip: IpAddr,
        cfg: Arc<Config>,
        progress: Arc<AtomicU64>,
        tls: Option<DataTls>,
        listening: Gauge,
    ) -> PassiveAcceptor {
        listening.inc();
        PassiveAcceptor {
            sock: TcpListener::from_std(sock),
            owner,
            peer_ip: canonical_ip(peer_ip),
            cfg,
            progress,
            deadline: Deadline::default(),
            accepting: tls.is_some(),
            tls,
            listening,
        }
    }

    /// Arms the accept timeout (`passive_timeout`).
    pub(crate) fn arm(&mut self, cx: &mut Cx<'_>) {
        if let Some(t) = self.cfg.passive_timeout {
            cx.set_deadline(&mut self.deadline, t, TimerKind::DataDeadline);
        }
    }

    pub(crate) fn source(&mut self) -> &mut dyn Source {
        &mut self.sock
    }

    pub(crate) fn interest(&self) -> Interest {
        Interest::READABLE
    }

    /// Whether the listener is in the poll (see the module docs, "Accepting late").
    pub(crate) fn polled(&self) -> bool {
        self.accepting
    }

    pub(crate) fn readable(&mut self, cx: &mut Cx<'_>) -> Flow {
        // Bounded: a flood of foreign connections cannot keep us here forever.
        for _ in 0..64 {
            let (stream, from) = match self.sock.accept() {
                Ok(pair) => pair,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Flow::Continue,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::ConnectionAborted => continue,
                Err(e) => {
                    log::warn!("passive accept failed: {e}");
                    return Flow::Continue;
                }
            };
            if !self.cfg.permit_foreign_addresses && canonical_ip(from.ip()) != self.peer_ip {
                log::warn!(
                    "rejected passive data connection from foreign address {from} (control peer is {})",
                    self.peer_ip
                );
                drop(stream);
                continue;
            }
            let me = cx.me();
            let spawned = DataConn::accepted(
                stream,
                self.owner,
                Arc::clone(&self.cfg),
                Arc::clone(&self.progress),
                self.tls.clone(),
            )
            .and_then(|data| cx.spawn(data.into()));
            let securing = self.tls.is_some();
            match spawned {
                Ok(id) => {
                    if securing {
                        // Arms its handshake timeout.
                        cx.send(id, Msg::Start);
                    }
                    cx.send(
                        self.owner,
                        Msg::DataConnected {
                            id,
                            via: me,
                            securing,
                        },
                    );
                }
                Err(e) => cx.send(
                    self.owner,
                    Msg::DataFailed {
                        id: me,
                        reason: e.to_string(),
                    },
                ),
            }
            return Flow::Close;
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
        if kind != TimerKind::DataDeadline {
            return Flow::Continue;
        }
        match self.deadline.fired(cx.now) {
            Fired::Ignore => Flow::Continue,
            Fired::Rearm(at) => {
                cx.at(at, TimerKind::DataDeadline);
                Flow::Continue
            }
            Fired::Expired => {
                // A client that connected in time and has not sent its command yet keeps its
                // connection: take it now, as the acceptor would have taken it eagerly.
                if !self.accepting {
                    self.accepting = true;
                    if self.readable(cx) == Flow::Close {
                        return Flow::Close;
                    }
                }
                let me = cx.me();
                cx.send(
                    self.owner,
                    Msg::DataFailed {
                        id: me,
                        reason: "passive data connection timed out".into(),
                    },
                );
                Flow::Close
            }
        }
    }

    pub(crate) fn message(&mut self, msg: Msg, cx: &mut Cx<'_>) -> Flow {
        match msg {
            Msg::Start => {
                // No accept attempt here: none can be waiting, as the 227/229 reply has not
                // been sent yet.
                self.arm(cx);
                Flow::Continue
            }
            Msg::Accept => {
                // The connection may be queued already: take it now. If not, the loop adds
                // the listener to the poll after this call (epoll checks readiness when a
                // socket is added, so one arriving in between is not missed).
                self.accepting = true;
                self.readable(cx)
            }
            Msg::Abort | Msg::Shutdown | Msg::Drain => Flow::Close,
            _ => Flow::Continue,
        }
    }

    pub(crate) fn closed(&mut self, _cx: &mut Cx<'_>) {}

    pub(crate) fn state(&self) -> &'static str {
        "passive:waiting"
    }
}

#[cfg(test)]
mod tests;
