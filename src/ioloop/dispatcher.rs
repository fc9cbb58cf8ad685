//! The embeddable core of the loop: a slab of handlers, token routing, timers, messages, yields.
//!
//! This is what pyftpdlib's `IOLoop` does with its socket map, minus the `select`/`epoll` call:
//! the dispatcher never polls by itself, so the same code runs under the daemon's [`IoLoop`] and
//! under a host program's own `mio::Poll`.
//!
//! During a callback the handler is *taken out* of its slot (the slot stays occupied, so its key
//! cannot be reused), which lets the callback spawn new handlers into the slab and learn their id
//! at once. After each callback the dispatcher, in this order: closes the handler if it returned
//! [`Flow::Close`] (running `closed`, deregistering, freeing the slot), re-queues it if it returned
//! [`Flow::Yield`], re-registers it only if its `interest()` changed (or adds it to the poll, or
//! takes it out, when its [`Handler::polled`] changed), and delivers queued messages in FIFO
//! order (deliveries may queue more).
//!
//! **Interactive first, bulk within a budget.** Handlers that say they move bulk data
//! ([`Handler::bulk`]: data connections) are not called when their event is routed: the event
//! is noted on their slot and they join the bulk queue, served at the end of the turn (in
//! `handle_timers`), after every control connection's command has been answered, and only for
//! [`BULK_TURN`] of wall time; the rest wait, in order, for the next turn, while the poll does
//! not sleep. One turn therefore costs at most about `BULK_TURN` plus one bulk callback, and a
//! NOOP is answered within that, however many transfers run.
//!
//! [`IoLoop`]: super::IoLoop

use std::collections::VecDeque;
use std::io;
use std::time::{Duration, Instant};

/// Wall time a turn spends on bulk handlers (data transfers) before it polls again.
pub const BULK_TURN: Duration = Duration::from_millis(1);

use mio::{event::Event, Interest, Registry, Token};
use slab::Slab;

use super::core::{Core, Shown, CLOSED, READ, RESUME, WRITE};
use super::pool::{Pool, WorkerPriority, RETRY};
use super::{ConnId, Context, Flow, Handler, Timers, TokenRange};
use crate::metrics::LoopMeters;

/// A slab of handlers plus their timers, messages and yield queue.
pub struct Dispatcher<H: Handler> {
    core: Core<H>,
    /// Where turn times and pool figures are counted, if anywhere.
    meters: Option<LoopMeters>,
}

impl<H: Handler> std::fmt::Debug for Dispatcher<H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dispatcher")
            .field("handlers", &self.core.slab.len())
            .field("timers", &self.core.timers.len())
            .field("yielded", &self.core.yielded.len())
            .field("range", &self.core.range)
            .finish()
    }
}

impl<H: Handler> Dispatcher<H> {
    /// An empty dispatcher that will use the tokens of `range`.
    pub fn new(range: TokenRange) -> Self {
        Dispatcher {
            core: Core {
                slab: Slab::new(),
                timers: Timers::default(),
                outbox: VecDeque::new(),
                yielded: VecDeque::new(),
                bulk: VecDeque::new(),
                peer_closed: false,
                urgent: false,
                range,
                next_gen: 0,
                pool: None,
            },
            meters: None,
        }
    }

    /// Counts this loop's turn times (and its pool's queue and job times) in `meters`. Call
    /// before [`Dispatcher::start_pool`].
    pub fn set_meters(&mut self, meters: LoopMeters) {
        self.meters = Some(meters);
    }

    /// Starts a blocking-work pool of `threads` workers ([`Context::offload`]) in the idle
    /// class (see [`start_pool_with`](Self::start_pool_with)).
    pub fn start_pool(&mut self, registry: &Registry, threads: usize) -> io::Result<()> {
        self.start_pool_with(registry, threads, WorkerPriority::default())
    }

    /// Starts a blocking-work pool of `threads` workers ([`Context::offload`]) at `priority`;
    /// its waker takes the last token of the range. Call before inserting handlers. Zero
    /// threads: jobs run inline on the loop.
    pub fn start_pool_with(
        &mut self,
        registry: &Registry,
        threads: usize,
        priority: WorkerPriority,
    ) -> io::Result<()> {
        if threads == 0 || self.core.pool.is_some() {
            return Ok(());
        }
        if self.core.range.len < 2 || !self.core.slab.is_empty() {
            return Err(io::Error::other(
                "the pool needs a token of its own: start it first, with a range of 2 or more",
            ));
        }
        let token = Token(self.core.range.base + self.core.range.len - 1);
        let meters = self.meters.clone();
        self.core.pool = Some(Pool::new(threads, registry, token, meters, priority)?);
        Ok(())
    }

    /// Worker threads of the blocking pool and the jobs waiting for one (`None`: no pool).
    pub fn pool_load(&self) -> Option<(usize, usize)> {
        self.core.pool.as_ref().map(|p| (p.threads(), p.queued()))
    }

    /// The token range in use.
    pub fn range(&self) -> TokenRange {
        self.core.range
    }

    /// Number of live handlers.
    pub fn len(&self) -> usize {
        self.core.slab.len()
    }

    /// True when no handler is alive.
    pub fn is_empty(&self) -> bool {
        self.core.slab.is_empty()
    }

    /// Registers a handler from outside any callback (e.g. the server's listener).
    pub fn insert(&mut self, registry: &Registry, handler: H) -> io::Result<ConnId> {
        self.core.insert(registry, handler)
    }

    /// Ids of every live handler.
    pub fn ids(&self) -> Vec<ConnId> {
        self.core
            .slab
            .iter()
            .map(|(key, s)| ConnId { key, gen: s.gen })
            .collect()
    }

    /// Read-only access to a live handler (between callbacks).
    pub fn get(&self, id: ConnId) -> Option<&H> {
        self.core
            .slab
            .get(id.key)
            .filter(|s| s.gen == id.gen)
            .and_then(|s| s.handler.as_ref())
    }

    /// Routes one readiness event. Events are hints: a handler must cope with spurious ones.
    pub fn handle_event(&mut self, registry: &Registry, event: &Event, now: Instant) {
        let token = event.token();
        if !self.core.range.contains(token) {
            return;
        }
        if let Some(pool) = self.core.pool.as_mut().filter(|p| p.token() == token) {
            self.core.outbox.extend(pool.take_done());
            self.deliver(registry, now);
            return;
        }
        let key = token.0 - self.core.range.base;
        let Some(gen) = self.core.slab.get(key).map(|s| s.gen) else {
            return;
        };
        let id = ConnId { key, gen };
        if self.core.slab.get(key).is_some_and(|s| s.bulk) {
            let mut what = 0;
            if event.is_readable() || event.is_read_closed() || event.is_error() {
                what |= READ;
            }
            if event.is_read_closed() || event.is_error() {
                what |= CLOSED;
            }
            if event.is_writable() || event.is_write_closed() {
                what |= WRITE;
            }
            self.core.note(id, what);
            return;
        }
        if event.is_readable() || event.is_read_closed() || event.is_error() {
            self.core.peer_closed = event.is_read_closed() || event.is_error();
            self.core.urgent = event.is_priority();
            self.call(registry, now, id, |h, cx| h.readable(cx));
            self.core.peer_closed = false;
            self.core.urgent = false;
        }
        if event.is_writable() || event.is_write_closed() {
            self.call(registry, now, id, |h, cx| h.writable(cx));
        }
        self.deliver(registry, now);
    }

    /// Delivers a message from the host to handler `to` (dropped if it is gone).
    pub fn send(&mut self, registry: &Registry, now: Instant, to: ConnId, msg: H::Msg) {
        self.core.outbox.push_back((to, msg));
        self.deliver(registry, now);
    }

    /// How long the host may sleep: `ZERO` while handlers wait in the yield or bulk queue, at
    /// most [`RETRY`] while the pool holds a job or results the loop could not pass through
    /// its locks, at most [`WATCH`](super::pool::WATCH) while idle-class workers have jobs
    /// (see `pool.rs`).
    pub fn next_timeout(&self, now: Instant) -> Option<Duration> {
        if !self.core.yielded.is_empty() || !self.core.bulk.is_empty() {
            return Some(Duration::ZERO);
        }
        let timers = self.core.timers.next_timeout(now);
        let Some(pool) = &self.core.pool else {
            return timers;
        };
        let retry = pool.stalled().then_some(RETRY);
        let watch = pool.watch_due().map(|at| at.saturating_duration_since(now));
        [timers, retry, watch].into_iter().flatten().min()
    }

    /// True while the blocking pool has a job out (then the loop does not nap: `may_nap`).
    pub fn pool_busy(&self) -> bool {
        self.core.pool.as_ref().is_some_and(|p| p.busy())
    }

    /// Retries the pool if it is stalled, fires every timer due at `now`, runs each yielded
    /// handler once, then serves the bulk queue for at most `BULK_TURN`.
    pub fn handle_timers(&mut self, registry: &Registry, now: Instant) {
        if let Some(pool) = self.core.pool.as_mut().filter(|p| p.stalled()) {
            self.core.outbox.extend(pool.take_done());
            self.deliver(registry, now);
        }
        if let Some(pool) = self.core.pool.as_mut() {
            pool.watch(now);
        }
        let mut due = Vec::new();
        while let Some(entry) = self.core.timers.pop_due(now) {
            due.push(entry);
        }
        for (id, kind) in due {
            self.call(registry, now, id, |h, cx| h.timer(kind, cx));
            self.deliver(registry, now);
        }
        let queued = std::mem::take(&mut self.core.yielded);
        for id in queued {
            if let Some(slot) = self.core.slab.get_mut(id.key) {
                if slot.gen == id.gen {
                    slot.queued = false;
                }
            }
            self.call(registry, now, id, |h, cx| h.resume(cx));
            self.deliver(registry, now);
        }
        self.serve_bulk(registry, now);
        if self.core.timers.len() > 2 * self.core.slab.len() + 1024 {
            let mut timers = std::mem::take(&mut self.core.timers);
            let slab = &self.core.slab;
            timers.compact(|id| slab.get(id.key).is_some_and(|s| s.gen == id.gen));
            self.core.timers = timers;
        }
        if let Some(m) = &self.meters {
            // `now` is when the poll returned: the turn ends here.
            m.turn.observe(now.elapsed().as_secs_f64());
        }
    }

    /// Serves queued bulk handlers, in order, until [`BULK_TURN`] has passed (at least one is
    /// served per turn). Those that are noted again, or yield, go to the back of the queue.
    fn serve_bulk(&mut self, registry: &Registry, now: Instant) {
        let started = Instant::now();
        for _ in 0..self.core.bulk.len() {
            let Some(id) = self.core.bulk.pop_front() else {
                break;
            };
            let Some(slot) = self.core.slab.get_mut(id.key).filter(|s| s.gen == id.gen) else {
                continue;
            };
            let what = std::mem::take(&mut slot.noted);
            if what & (READ | CLOSED) != 0 {
                self.core.peer_closed = what & CLOSED != 0;
                self.call(registry, now, id, |h, cx| h.readable(cx));
                self.core.peer_closed = false;
            }
            if what & WRITE != 0 {
                self.call(registry, now, id, |h, cx| h.writable(cx));
            }
            if what == RESUME {
                self.call(registry, now, id, |h, cx| h.resume(cx));
            }
            self.deliver(registry, now);
            if started.elapsed() >= BULK_TURN {
                break;
            }
        }
    }

    /// Closes every handler whose id `pick` selects (running `closed`), e.g. for shutdown.
    pub fn close_where(&mut self, registry: &Registry, now: Instant, pick: impl Fn(&H) -> bool) {
        for id in self.ids() {
            if self.get(id).is_some_and(&pick) {
                self.call(registry, now, id, |_, _| Flow::Close);
                self.deliver(registry, now);
            }
        }
    }

    /// Runs `f` on handler `id` if it is alive and not already being called, then applies the
    /// returned [`Flow`].
    fn call(
        &mut self,
        registry: &Registry,
        now: Instant,
        id: ConnId,
        f: impl FnOnce(&mut H, &mut Context<'_, H>) -> Flow,
    ) {
        let Some(mut handler) = self.core.take(id) else {
            return;
        };
        let mut cx = Context {
            registry,
            now,
            me: id,
            core: &mut self.core,
        };
        let flow = f(&mut handler, &mut cx);
        match flow {
            Flow::Close => self.remove(registry, now, id, handler),
            Flow::Continue | Flow::Yield => {
                if flow == Flow::Yield {
                    self.core.kick(id);
                }
                let want = handler.polled().then(|| handler.interest());
                let token = self.core.token(id.key);
                let Some(slot) = self.core.slab.get_mut(id.key) else {
                    return;
                };
                slot.bulk = handler.bulk();
                let state = handler.state();
                if state != slot.state {
                    log::trace!(
                        "conn {}.{}: state {} -> {state}",
                        id.key,
                        id.gen,
                        slot.state
                    );
                    slot.state = state;
                }
                if want != slot.interest {
                    log::trace!(
                        "conn {}.{}: interest {} -> {}",
                        id.key,
                        id.gen,
                        Shown(slot.interest),
                        Shown(want)
                    );
                    if let Err(e) = follow(registry, token, (slot.interest, want), &mut handler) {
                        log::error!("poll registration failed: {e}");
                        self.remove(registry, now, id, handler);
                        return;
                    }
                    slot.interest = want;
                }
                slot.handler = Some(handler);
            }
        }
    }

    /// Runs `closed`, deregisters and frees the slot of a handler already taken out of it.
    fn remove(&mut self, registry: &Registry, now: Instant, id: ConnId, handler: H) {
        self.core.finish_close(registry, now, id, handler);
    }

    /// Delivers queued messages until none is left.
    fn deliver(&mut self, registry: &Registry, now: Instant) {
        while let Some((to, msg)) = self.core.outbox.pop_front() {
            self.call(registry, now, to, |h, cx| h.message(msg, cx));
        }
    }
}

/// Brings the poll in line with what a handler wants after a callback, `(had, want)`: its
/// source added, changed or taken out ([`Handler::polled`]).
fn follow<H: Handler>(
    registry: &Registry,
    token: Token,
    (had, want): (Option<Interest>, Option<Interest>),
    handler: &mut H,
) -> io::Result<()> {
    let source = handler.source();
    match (had, want) {
        (None, None) => Ok(()),
        (None, Some(w)) => registry.register(source, token, w),
        (Some(_), Some(w)) => registry.reregister(source, token, w),
        (Some(_), None) => registry.deregister(source),
    }
}

#[cfg(test)]
mod tests;
