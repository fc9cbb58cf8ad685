//! The event loop: pyftpdlib's `IOLoop`, rebuilt on mio's edge-triggered readiness.
//!
//! Every socket of the server (the listener, each control connection, each data connection) is a
//! [`Handler`]: an object with `readable`/`writable`/`timer`/`message` callbacks that never block.
//! A [`Dispatcher`] owns all of them in one slab, maps mio tokens to them, keeps the [`Timers`]
//! heap, delivers messages between handlers (they never hold references to one another), and
//! re-runs handlers that stopped early (the yield queue).
//!
//! mio is **edge-triggered**: an event says "something changed", once. A handler must therefore
//! read or write until the OS answers `WouldBlock` (retrying on `Interrupted`), or, if it stops
//! early to be fair to others, return [`Flow::Yield`] so that the dispatcher calls it again on the
//! next turn without waiting for an event that will never come. pyftpdlib's epoll loop is
//! level-triggered and forgives a handler that stops early; this one does not.
//!
//! [`IoLoop`] is the simplest host of a dispatcher: it owns the `Poll` and runs until stopped
//! through a [`StopHandle`] (a `mio::Waker`). The public `Server` wraps the same
//! dispatcher so that it can live in somebody else's `Poll` instead.

pub mod coalesce;
mod core;
mod dispatcher;
pub mod pool;
#[cfg(test)]
mod tests;
pub mod timers;

pub use coalesce::{Coalesce, Nap, Senders};
pub use dispatcher::Dispatcher;
pub use timers::{Deadline, Fired, Timers};

use std::collections::VecDeque;
use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::event::Source;
use mio::{Events, Interest, Poll, Registry, Token, Waker};

/// What a callback wants the dispatcher to do next with its handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Wait for the next event, timer or message.
    Continue,
    /// The handler stopped before `WouldBlock` (budget spent): call `resume` again next turn.
    Yield,
    /// Close the handler: `closed` runs, the source is deregistered and the slot freed.
    Close,
}

/// A handler's address: slab key plus a generation, so that a slot reused by a newer connection
/// never receives the timers or messages meant for the old one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConnId {
    pub(crate) key: usize,
    pub(crate) gen: u32,
}

/// The block of mio tokens a dispatcher may use: `base .. base + len`.
///
/// An embedding host keeps its own tokens outside the range and routes events with
/// [`TokenRange::contains`]. When the range is full, new connections are refused (the listener
/// answers `421` and closes); the dispatcher never spills into the host's tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenRange {
    /// First token of the range.
    pub base: usize,
    /// Number of tokens in the range.
    pub len: usize,
}

impl TokenRange {
    /// A range of `len` tokens starting at `base`.
    pub fn new(base: usize, len: usize) -> Self {
        TokenRange { base, len }
    }

    /// True if `token` belongs to this range.
    pub fn contains(&self, token: Token) -> bool {
        token.0 >= self.base && token.0 - self.base < self.len
    }
}

impl Default for TokenRange {
    /// Tokens `[1, 2^20)`: token 0 is left to the host (the daemon uses it for its waker).
    fn default() -> Self {
        TokenRange::new(1, (1 << 20) - 1)
    }
}

/// One socket-owning state machine driven by the loop.
pub trait Handler: Sized {
    /// Messages handlers send one another (control ⇄ data connection), and the results of
    /// the work they offload to the blocking pool ([`Context::offload`]).
    type Msg: Send + 'static;
    /// The kinds of timers this handler schedules.
    type Timer: Copy + std::fmt::Debug;

    /// The mio source to register.
    fn source(&mut self) -> &mut dyn Source;
    /// The readiness the handler wants now, derived from its state on every call.
    fn interest(&self) -> Interest;
    /// The source may be readable (or was closed by the peer, or has an error).
    fn readable(&mut self, cx: &mut Context<'_, Self>) -> Flow;
    /// The source may be writable.
    fn writable(&mut self, cx: &mut Context<'_, Self>) -> Flow;
    /// A timer scheduled with [`Context::at`] is due.
    fn timer(&mut self, kind: Self::Timer, cx: &mut Context<'_, Self>) -> Flow;
    /// Another handler (or the host) sent a message.
    fn message(&mut self, msg: Self::Msg, cx: &mut Context<'_, Self>) -> Flow;
    /// The handler yielded, or was kicked with [`Context::kick`]: continue where it stopped.
    fn resume(&mut self, cx: &mut Context<'_, Self>) -> Flow;
    /// Final hook before the slot is freed: notify the owner, close files.
    fn closed(&mut self, cx: &mut Context<'_, Self>);
    /// A short name of the handler's state, logged at trace level when it changes (`--trace`
    /// lets a student watch the state machines work). Default: "".
    fn state(&self) -> &'static str {
        ""
    }
    /// False while the handler wants no readiness events at all: the loop then keeps its
    /// source out of the poll, so that the kernel wakes nobody for it, and adds it when this
    /// turns true (after any callback). A passive data listener uses it: nothing needs its
    /// connection before the transfer command comes. Default: true.
    fn polled(&self) -> bool {
        true
    }
    /// True for a handler that moves bulk data (a file transfer). Its events and yields are
    /// served after every interactive handler's, within a time budget per loop turn, so that
    /// a command never waits behind megabytes of transfers. Default: false (interactive).
    fn bulk(&self) -> bool {
        false
    }
}

/// What a callback may do besides its own I/O: learn the time and its id, schedule timers,
/// message other handlers and spawn new ones.
pub struct Context<'a, H: Handler> {
    /// The registry of the poll the handlers live in.
    pub registry: &'a Registry,
    /// The time of this loop turn (read once per turn).
    pub now: Instant,
    me: ConnId,
    core: &'a mut core::Core<H>,
}

impl<H: Handler> std::fmt::Debug for Context<'_, H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("now", &self.now)
            .field("me", &self.me)
            .finish_non_exhaustive()
    }
}

impl<H: Handler> Context<'_, H> {
    /// The id of the handler being called.
    pub fn me(&self) -> ConnId {
        self.me
    }

    /// In `readable`: the event also reported that the peer closed its side (or an
    /// error). Readiness is edge-triggered, so a handler that stops reading after a short
    /// read (instead of reading until `WouldBlock`) must keep reading when this is true:
    /// no further event will announce the end of the stream. False in every other callback.
    pub fn peer_closed(&self) -> bool {
        self.core.peer_closed
    }

    /// In `readable`: the event also reported TCP urgent data (`EPOLLPRI`; only a handler
    /// registered with `Interest::PRIORITY`, which exists on Linux and Android, can see it).
    /// On such a socket a `recv` stops at the urgent mark, so a short read does not prove
    /// the receive queue empty. False in every other callback.
    pub fn urgent(&self) -> bool {
        self.core.urgent
    }

    /// Schedules `kind` for this handler at `due`.
    pub fn at(&mut self, due: Instant, kind: H::Timer) {
        self.core.timers.schedule(due, self.me, kind);
    }

    /// Schedules `kind` for this handler after `delay`.
    pub fn after(&mut self, delay: Duration, kind: H::Timer) {
        let due = self.now + delay;
        self.at(due, kind);
    }

    /// Sets `deadline` to `now + delay` and schedules a heap entry only if one is needed.
    pub fn set_deadline(&mut self, deadline: &mut Deadline, delay: Duration, kind: H::Timer) {
        if let Some(due) = deadline.set(self.now + delay) {
            self.at(due, kind);
        }
    }

    /// Queues `msg` for handler `to`; delivered after the current callback returns. Messages to
    /// a closed handler are dropped.
    pub fn send(&mut self, to: ConnId, msg: H::Msg) {
        self.core.outbox.push_back((to, msg));
    }

    /// Asks the dispatcher to call this handler's `resume` on the next turn.
    pub fn kick(&mut self) {
        let me = self.me;
        self.core.kick(me);
    }

    /// Closes another handler *now*: its `closed` hook runs, its socket is deregistered and
    /// dropped before this returns (so a listening port is free at once, e.g. when a second
    /// PASV replaces the first). Does nothing for the calling handler itself (return
    /// [`Flow::Close`] instead) or for an id that is gone.
    pub fn close(&mut self, id: ConnId) {
        if id != self.me {
            self.core.remove_now(self.registry, self.now, id);
        }
    }

    /// Runs `job` off the loop, on the blocking-work pool ([`pool`]), and delivers the message
    /// it returns to this handler (`lost` instead, if the job panics). Without a pool the job
    /// runs here, at once, and its message is delivered after this callback returns. Either
    /// way the handler must not count on the answer arriving before its next callback.
    pub fn offload(&mut self, job: impl FnOnce() -> H::Msg + Send + 'static, lost: H::Msg) {
        let me = self.me;
        match &mut self.core.pool {
            Some(pool) => pool.submit(me, Box::new(job), lost),
            None => {
                let msg =
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(job)).unwrap_or(lost);
                self.core.outbox.push_back((me, msg));
            }
        }
    }

    /// True if the token range has room for one more handler.
    pub fn has_room(&self) -> bool {
        self.core.has_room()
    }

    /// Registers a new handler and returns its id, or an error when the token range is full or
    /// registration failed (the handler is dropped then).
    pub fn spawn(&mut self, handler: H) -> io::Result<ConnId> {
        self.core.insert(self.registry, handler)
    }
}

/// The daemon's host: an owned `Poll` running one dispatcher until stopped.
#[derive(Debug)]
pub struct IoLoop {
    poll: Poll,
    waker: Arc<Waker>,
    flag: Arc<std::sync::atomic::AtomicBool>,
    grace: Duration,
    coalesce: Coalesce,
}

/// Stops a running [`IoLoop`] from another thread or a signal-handling thread.
#[derive(Debug, Clone)]
pub struct StopHandle {
    waker: Arc<Waker>,
    flag: Arc<std::sync::atomic::AtomicBool>,
}

impl StopHandle {
    /// Asks the loop to stop: it shuts the server down (421 to every session) and returns.
    pub fn stop(&self) {
        self.flag.store(true, std::sync::atomic::Ordering::SeqCst);
        if let Err(e) = self.waker.wake() {
            log::error!("cannot wake the event loop: {e}");
        }
    }
}

/// Token of the loop's waker; servers run by [`IoLoop`] use [`TokenRange::default`], above it.
pub const WAKER_TOKEN: Token = Token(0);

/// Anything an [`IoLoop`] can host: the `Server` (`server.rs`) implements it.
pub trait Hosted {
    /// True if the token belongs to this component.
    fn owns(&self, token: Token) -> bool;
    /// Routes one event.
    fn handle_event(&mut self, registry: &Registry, event: &mio::event::Event, now: Instant);
    /// How long the host may sleep.
    fn next_timeout(&self, now: Instant) -> Option<Duration>;
    /// Fires due timers and runs yielded handlers.
    fn handle_timers(&mut self, registry: &Registry, now: Instant);
    /// Closes everything.
    fn shutdown(&mut self, registry: &Registry);
    /// Starts a graceful shutdown (stop accepting, finish running work). Default: nothing.
    fn drain(&mut self, _registry: &Registry) {}
    /// Whether the loop may nap before its next poll ([`IoLoop::set_coalesce`], [`Nap`]).
    /// Default: [`Nap::Yes`].
    fn may_nap(&self) -> Nap {
        Nap::Yes
    }
    /// Called after each wait in which the loop napped (for a count). Default: nothing.
    fn napped(&mut self) {}
    /// True when a drain has completed. Default: true.
    fn is_idle(&self) -> bool {
        true
    }
}

impl IoLoop {
    /// Creates the poll and its waker.
    pub fn new() -> io::Result<IoLoop> {
        let poll = Poll::new()?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER_TOKEN)?);
        Ok(IoLoop {
            poll,
            waker,
            flag: Arc::new(std::sync::atomic::AtomicBool::new(false)),
            grace: Duration::ZERO,
            coalesce: Coalesce::new(Duration::ZERO),
        })
    }

    /// On stop, let running work (transfers) finish for up to `grace` before closing
    /// everything. Default: zero (close at once).
    pub fn set_shutdown_grace(&mut self, grace: Duration) {
        self.grace = grace;
    }

    /// Under load, nap for up to `max` before collecting events, so that one wake-up serves
    /// several (see [`Coalesce`]). Default: zero (never).
    pub fn set_coalesce(&mut self, max: Duration) {
        self.coalesce = Coalesce::new(max);
    }

    /// The registry, to build servers that this loop will run.
    pub fn registry(&self) -> &Registry {
        self.poll.registry()
    }

    /// A handle that makes [`IoLoop::run`] return.
    pub fn stop_handle(&self) -> StopHandle {
        StopHandle {
            waker: Arc::clone(&self.waker),
            flag: Arc::clone(&self.flag),
        }
    }

    /// Runs `server` until stopped through a [`StopHandle`]; then drains it for up to the
    /// shutdown grace, shuts it down and returns.
    pub fn run<S: Hosted>(&mut self, server: &mut S) -> io::Result<()> {
        let mut events = Events::with_capacity(1024);
        let mut drain_until: Option<Instant> = None;
        loop {
            if self.flag.load(std::sync::atomic::Ordering::SeqCst) {
                let now = Instant::now();
                match drain_until {
                    None if !self.grace.is_zero() => {
                        server.drain(self.poll.registry());
                        drain_until = Some(now + self.grace);
                    }
                    Some(until) if now < until && !server.is_idle() => {}
                    _ => {
                        server.shutdown(self.poll.registry());
                        return Ok(());
                    }
                }
            }
            let mut timeout = server.next_timeout(Instant::now());
            if let Some(until) = drain_until {
                // Wake up at the end of the grace period, and often enough to notice idleness.
                let left = until
                    .saturating_duration_since(Instant::now())
                    .min(Duration::from_millis(100));
                timeout = Some(timeout.map_or(left, |t| t.min(left)));
            }
            let nap = || server.may_nap();
            match self
                .coalesce
                .poll(&mut self.poll, &mut events, timeout, nap)
            {
                Ok(true) => server.napped(),
                Ok(false) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
            let now = Instant::now();
            for event in events.iter() {
                if server.owns(event.token()) {
                    server.handle_event(self.poll.registry(), event, now);
                }
            }
            server.handle_timers(self.poll.registry(), now);
        }
    }
}

/// Events whose delivery was deferred: `(handler, message)` pairs in FIFO order.
pub(crate) type Outbox<M> = VecDeque<(ConnId, M)>;
