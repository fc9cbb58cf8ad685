//! The public embedding API: an FTP server that lives in *your* `mio::Poll`.
//!
//! A [`Server`] owns a dispatcher (slab of handlers, timers, messages) and the listener, and
//! claims a [`TokenRange`] of the host's tokens. The host keeps its own sources outside the
//! range and, in its loop:
//!
//! ```no_run
//! # use std::sync::Arc;
//! # use std::time::Instant;
//! # use ftpdlib::{Config, MemoryAuthorizer, Server, TokenRange};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut poll = mio::Poll::new()?;
//! let mut auth = MemoryAuthorizer::new();
//! auth.add_anonymous(std::env::temp_dir(), "elr")?;
//! let cfg = Config::new(Arc::new(auth));
//! let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
//! let mut ftp = Server::new(cfg, listener, poll.registry(), TokenRange::new(1 << 16, 1 << 16))?;
//! let mut events = mio::Events::with_capacity(256);
//! loop {
//!     poll.poll(&mut events, ftp.next_timeout(Instant::now()))?;
//!     let now = Instant::now();
//!     for ev in events.iter() {
//!         if ftp.owns(ev.token()) {
//!             ftp.handle_event(poll.registry(), ev, now);
//!         } // else: the host's own tokens
//!     }
//!     ftp.handle_timers(poll.registry(), now);
//! #   break;
//! }
//! # Ok(()) }
//! ```
//!
//! The daemon's [`crate::ioloop::IoLoop`] is exactly this loop with nothing else in it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::event::Event;
use mio::{Registry, Token};

use crate::config::{Config, LiveConfig};
use crate::error::Error;
use crate::handler::FtpHandler;
use crate::ioloop::{ConnId, Dispatcher, Hosted, Nap, Senders, TokenRange};
use crate::listener::Listener;
use crate::metrics::http::StatusListener;
use crate::msg::Msg;
use crate::state::Shared;

/// Different sockets among the latest 16 events from which the daemon's loop naps after any
/// turn ([`Nap::Yes`]), as it also does while clients are connecting; otherwise only while it
/// feeds downloads. One client's session is two or three sockets (control, passive listener,
/// data), and a fast one on the same host answers within microseconds, so a nap mostly
/// delayed its next command: ftpbench's churn (one session, STOR and DELE) ran at 0.51× the
/// operations per second when the loop napped after every turn, and at 0.50× beside eight
/// idle sessions when it napped whenever four sessions were connected.
const NAP_SENDERS: usize = 4;

/// An FTP server embedded in a host's poll.
#[derive(Debug)]
pub struct Server {
    dispatcher: Dispatcher<FtpHandler>,
    listener: Option<ConnId>,
    local_addr: SocketAddr,
    live: Arc<LiveConfig>,
    shared: Arc<Shared>,
    /// Where the latest events came from ([`Hosted::may_nap`]).
    senders: Senders,
}

impl Server {
    /// Builds a server on an already bound `listener` (any blocking mode; it is made
    /// non-blocking) and registers it with `registry` using tokens from `tokens`.
    pub fn new(
        cfg: Config,
        listener: std::net::TcpListener,
        registry: &Registry,
        tokens: TokenRange,
    ) -> Result<Server, Error> {
        Server::with_shared(
            Arc::new(cfg),
            Arc::new(Shared::default()),
            listener,
            registry,
            tokens,
        )
    }

    /// Like [`Server::new`], with a configuration and server-wide state shared with other
    /// servers: several event loops (threads) sharing one `Shared` enforce `max_cons`,
    /// per-IP and per-user limits and bans together (the daemon's `--workers`).
    pub fn with_shared(
        cfg: Arc<Config>,
        shared: Arc<Shared>,
        listener: std::net::TcpListener,
        registry: &Registry,
        tokens: TokenRange,
    ) -> Result<Server, Error> {
        Server::with_live(
            Arc::new(LiveConfig::new(cfg)),
            shared,
            listener,
            registry,
            tokens,
        )
    }

    /// Like [`Server::with_shared`], with a [`LiveConfig`] that the host may
    /// [`replace`](LiveConfig::replace) while the server runs: new sessions get the new
    /// configuration, running ones keep theirs. The listening sockets and the size of the
    /// blocking-work pool are fixed here and do not follow a replace.
    pub fn with_live(
        live: Arc<LiveConfig>,
        shared: Arc<Shared>,
        listener: std::net::TcpListener,
        registry: &Registry,
        tokens: TokenRange,
    ) -> Result<Server, Error> {
        let cfg = live.current();
        cfg.validate()?;
        if tokens.len < 2 {
            return Err(Error::Config("token range needs at least 2 tokens".into()));
        }
        listener.set_nonblocking(true)?;
        let local_addr = listener.local_addr()?;
        let mut dispatcher = Dispatcher::new(tokens);
        dispatcher.set_meters(shared.metrics.loop_meters());
        dispatcher.start_pool_with(registry, cfg.blocking_threads, cfg.blocking_priority)?;
        let l = Listener::new(
            mio::net::TcpListener::from_std(listener),
            Arc::clone(&live),
            Arc::clone(&shared),
            false,
        );
        let id = dispatcher.insert(registry, FtpHandler::Listener(l))?;
        Ok(Server {
            dispatcher,
            listener: Some(id),
            local_addr,
            live,
            shared,
            senders: Senders::default(),
        })
    }

    /// Adds a listener for implicit FTPS (TLS from the first byte, the port-990 style): needs
    /// `Config::tls`. Connection limits are counted per listener. Returns its address.
    pub fn add_implicit_tls_listener(
        &mut self,
        listener: std::net::TcpListener,
        registry: &Registry,
    ) -> Result<SocketAddr, Error> {
        if self.live.current().tls.is_none() {
            return Err(Error::Config(
                "an implicit TLS listener needs a TLS configuration".into(),
            ));
        }
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let l = Listener::new(
            mio::net::TcpListener::from_std(listener),
            Arc::clone(&self.live),
            Arc::clone(&self.shared),
            true,
        );
        self.dispatcher.insert(registry, FtpHandler::Listener(l))?;
        Ok(addr)
    }

    /// Adds the HTTP status endpoint on `listener`: `/metrics` (Prometheus), `/health` and
    /// `/ready`, served by this server's loop (see [`crate::metrics`]). With several servers
    /// sharing one `Shared` (workers), one endpoint reports for all of them. Returns its
    /// address.
    pub fn add_metrics_listener(
        &mut self,
        listener: std::net::TcpListener,
        registry: &Registry,
    ) -> Result<SocketAddr, Error> {
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let l = StatusListener::new(
            mio::net::TcpListener::from_std(listener),
            Arc::clone(&self.shared),
            Arc::clone(&self.live),
        );
        self.dispatcher.insert(registry, l.into())?;
        Ok(addr)
    }

    /// The server-wide state, whose [`Shared::metrics`] an embedder may serve itself.
    pub fn shared(&self) -> Arc<Shared> {
        Arc::clone(&self.shared)
    }

    /// Binds `addr` (SO_REUSEADDR, large backlog; `::` is dual-stack) and builds a server on it.
    pub fn bind(
        cfg: Config,
        addr: SocketAddr,
        registry: &Registry,
        tokens: TokenRange,
    ) -> Result<Server, Error> {
        let listener = crate::net::listen(addr).map_err(|source| Error::Bind { addr, source })?;
        Server::new(cfg, listener, registry, tokens)
    }

    /// The configuration new sessions get; [`LiveConfig::replace`] changes it.
    pub fn live_config(&self) -> Arc<LiveConfig> {
        Arc::clone(&self.live)
    }

    /// The address the server listens on (with the real port when bound to port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Control connections currently counted against `max_cons`.
    pub fn connections(&self) -> usize {
        match self.listener.and_then(|id| self.dispatcher.get(id)) {
            Some(FtpHandler::Listener(l)) => l.connections(),
            _ => 0,
        }
    }

    /// True if `token` is one of this server's.
    pub fn owns(&self, token: Token) -> bool {
        self.dispatcher.range().contains(token)
    }

    /// Handles one event of a token this server owns.
    pub fn handle_event(&mut self, registry: &Registry, event: &Event, now: Instant) {
        self.senders.note(event.token());
        self.dispatcher.handle_event(registry, event, now);
    }

    /// How long the host may sleep before calling [`Server::handle_timers`]; `Some(ZERO)`
    /// while work is queued, `None` when no timer is pending.
    pub fn next_timeout(&self, now: Instant) -> Option<Duration> {
        self.dispatcher.next_timeout(now)
    }

    /// Fires due timers and continues handlers that yielded. Call after every poll.
    pub fn handle_timers(&mut self, registry: &Registry, now: Instant) {
        self.dispatcher.handle_timers(registry, now);
    }

    /// True if clients are connecting: two or more of the latest events were the main
    /// listener's (one is a single client, who will wait for the greeting).
    fn connecting(&self) -> bool {
        let base = self.dispatcher.range().base;
        self.listener
            .is_some_and(|id| self.senders.count(Token(base + id.key)) >= 2)
    }

    /// Starts a graceful shutdown: listeners close at once, idle sessions get `421`, and
    /// sessions with a running transfer get `421` when it ends. Keep running the loop until
    /// [`Server::is_idle`] (or your grace period ends, then call [`Server::shutdown`]).
    pub fn drain(&mut self, registry: &Registry) {
        self.shared.metrics.status.drain();
        let now = Instant::now();
        for id in self.dispatcher.ids() {
            self.dispatcher.send(registry, now, id, Msg::Drain);
        }
        self.listener = None;
    }

    /// True when no FTP connection (and no FTP listener) is left. The status endpoint does
    /// not count: it stays up while the server drains, to answer `/ready` with 503.
    pub fn is_idle(&self) -> bool {
        self.dispatcher.ids().into_iter().all(|id| {
            matches!(
                self.dispatcher.get(id),
                Some(FtpHandler::Status(_) | FtpHandler::Http(_)) | None
            )
        })
    }

    /// Stops accepting, says `421` to every session, and deregisters everything.
    pub fn shutdown(&mut self, registry: &Registry) {
        let now = Instant::now();
        for id in self.dispatcher.ids() {
            self.dispatcher.send(registry, now, id, Msg::Shutdown);
        }
        self.dispatcher.close_where(registry, now, |_| true);
        self.listener = None;
    }
}

impl Hosted for Server {
    fn owns(&self, token: Token) -> bool {
        Server::owns(self, token)
    }
    fn handle_event(&mut self, registry: &Registry, event: &Event, now: Instant) {
        Server::handle_event(self, registry, event, now);
    }
    fn next_timeout(&self, now: Instant) -> Option<Duration> {
        Server::next_timeout(self, now)
    }
    fn handle_timers(&mut self, registry: &Registry, now: Instant) {
        Server::handle_timers(self, registry, now);
    }
    fn shutdown(&mut self, registry: &Registry) {
        Server::shutdown(self, registry);
    }
    fn may_nap(&self) -> Nap {
        if self.dispatcher.pool_busy() {
            Nap::No
        } else if self.senders.distinct() >= NAP_SENDERS || self.connecting() {
            Nap::Yes
        } else {
            Nap::Sending
        }
    }
    fn napped(&mut self) {
        self.shared.metrics.count_nap();
    }
    fn drain(&mut self, registry: &Registry) {
        Server::drain(self, registry);
    }
    fn is_idle(&self) -> bool {
        Server::is_idle(self)
    }
}
