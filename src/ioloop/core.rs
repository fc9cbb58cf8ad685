//! The slab behind the dispatcher: one slot per handler, and the state that callbacks reach
//! through their [`Context`] (timers, the outbox, the yield and bulk queues, the pool).
//!
//! A slot keeps its handler, its generation (so that a stale [`ConnId`] never reaches a new
//! handler in the same slot), the interest registered with the poll, whether it is queued,
//! and, for a bulk handler, the readiness noted for it until the bulk queue serves it.

use std::collections::VecDeque;
use std::io;
use std::time::Instant;

use mio::{Interest, Registry, Token};
use slab::Slab;

use super::pool::Pool;
use super::{ConnId, Context, Handler, Outbox, Timers, TokenRange};

/// Readiness noted on a bulk handler's slot until the bulk queue serves it.
pub(super) const READ: u8 = 1;
pub(super) const WRITE: u8 = 2;
pub(super) const CLOSED: u8 = 4;
pub(super) const RESUME: u8 = 8;

/// A slot's interest for the `--trace` log: the interest, or that the source is out of the poll.
pub(super) struct Shown(pub(super) Option<Interest>);

impl std::fmt::Display for Shown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(i) => write!(f, "{i:?}"),
            None => f.write_str("none (not polled)"),
        }
    }
}

/// One slot of the slab.
#[derive(Debug)]
pub(super) struct Slot<H> {
    pub(super) gen: u32,
    /// `None` while the handler is being called.
    pub(super) handler: Option<H>,
    /// The interest registered with the poll; `None` while the source is not in the poll
    /// ([`Handler::polled`]).
    pub(super) interest: Option<Interest>,
    /// Already in the yield queue.
    pub(super) queued: bool,
    /// A bulk handler (see [`Handler::bulk`]), as it said after its last callback.
    pub(super) bulk: bool,
    /// For a bulk handler: what it is to be called for when the bulk queue reaches it
    /// (`READ`, `WRITE`, `CLOSED`, `RESUME`); non-zero means it is in the queue.
    pub(super) noted: u8,
    /// The handler's state name after its last callback (for `--trace`).
    pub(super) state: &'static str,
}

/// State shared by the dispatcher and the [`Context`] given to callbacks.
pub(crate) struct Core<H: Handler> {
    pub(super) slab: Slab<Slot<H>>,
    pub(crate) timers: Timers<H::Timer>,
    pub(crate) outbox: Outbox<H::Msg>,
    pub(super) yielded: VecDeque<ConnId>,
    /// Bulk handlers with something noted, in arrival order.
    pub(super) bulk: VecDeque<ConnId>,
    pub(super) range: TokenRange,
    pub(super) next_gen: u32,
    /// The event being routed reported the peer's side closed (or an error).
    pub(crate) peer_closed: bool,
    /// The event being routed reported TCP urgent data (`EPOLLPRI`, Linux only).
    pub(crate) urgent: bool,
    /// The blocking-work pool, whose waker takes the range's last token.
    pub(crate) pool: Option<Pool<H::Msg>>,
}

impl<H: Handler> Core<H> {
    pub(super) fn token(&self, key: usize) -> Token {
        Token(self.range.base + key)
    }

    pub(super) fn alive(&self, id: ConnId) -> bool {
        self.slab.get(id.key).is_some_and(|s| s.gen == id.gen)
    }

    pub(crate) fn kick(&mut self, id: ConnId) {
        if self
            .slab
            .get(id.key)
            .is_some_and(|s| s.gen == id.gen && s.bulk)
        {
            self.note(id, RESUME);
            return;
        }
        if let Some(slot) = self.slab.get_mut(id.key) {
            if slot.gen == id.gen && !slot.queued {
                slot.queued = true;
                self.yielded.push_back(id);
            }
        }
    }

    /// Notes `what` on bulk handler `id`, queueing it if it was not queued yet.
    pub(super) fn note(&mut self, id: ConnId, what: u8) {
        if let Some(slot) = self.slab.get_mut(id.key).filter(|s| s.gen == id.gen) {
            if slot.noted == 0 {
                self.bulk.push_back(id);
            }
            slot.noted |= what;
        }
    }

    /// Takes handler `id` out of its slot (the slot stays reserved), if it is alive and not
    /// already being called.
    pub(super) fn take(&mut self, id: ConnId) -> Option<H> {
        let slot = self.slab.get_mut(id.key)?;
        if slot.gen != id.gen {
            return None;
        }
        slot.handler.take()
    }

    /// Runs `closed` on a handler taken out of slot `id`, deregisters it and frees the slot.
    pub(super) fn finish_close(
        &mut self,
        registry: &Registry,
        now: Instant,
        id: ConnId,
        mut handler: H,
    ) {
        let mut cx = Context {
            registry,
            now,
            me: id,
            core: self,
        };
        handler.closed(&mut cx);
        log::trace!("conn {}.{}: closed", id.key, id.gen);
        // A source never added to the poll ([`Handler::polled`]) is not taken out of it.
        let slot = self.slab.get(id.key).filter(|s| s.gen == id.gen);
        if slot.is_none_or(|s| s.interest.is_some()) {
            if let Err(e) = registry.deregister(handler.source()) {
                log::debug!("deregister: {e}");
            }
        }
        if self.alive(id) {
            self.slab.remove(id.key);
        }
    }

    /// Closes handler `id` now (for [`Context::close`], on a handler other than the one
    /// being called).
    pub(crate) fn remove_now(&mut self, registry: &Registry, now: Instant, id: ConnId) {
        if let Some(handler) = self.take(id) {
            self.finish_close(registry, now, id, handler);
        }
    }

    /// Slab keys available to handlers: the range, less the pool's waker token.
    pub(super) fn capacity(&self) -> usize {
        self.range.len - usize::from(self.pool.is_some())
    }

    pub(crate) fn has_room(&self) -> bool {
        self.slab.vacant_key() < self.capacity()
    }

    pub(crate) fn insert(&mut self, registry: &Registry, mut handler: H) -> io::Result<ConnId> {
        let capacity = self.capacity();
        let entry = self.slab.vacant_entry();
        let key = entry.key();
        if key >= capacity {
            return Err(io::Error::other("token range is full"));
        }
        self.next_gen = self.next_gen.wrapping_add(1);
        let gen = self.next_gen;
        let interest = handler.polled().then(|| handler.interest());
        if let Some(interest) = interest {
            registry.register(handler.source(), Token(self.range.base + key), interest)?;
        }
        let state = handler.state();
        log::trace!(
            "conn {key}.{gen}: new, state {state}, interest {}",
            Shown(interest)
        );
        let bulk = handler.bulk();
        entry.insert(Slot {
            gen,
            handler: Some(handler),
            interest,
            queued: false,
            bulk,
            noted: 0,
            state,
        });
        Ok(ConnId { key, gen })
    }
}
