//! The loop's timer heap: every timeout in the server lives here.
//!
//! An FTP server is full of deadlines: the idle timeout of a control connection (RFC 1123 asks for
//! one), the delayed `530` after a wrong password (RFC 2577's brute-force brake), the wait for a
//! passive data connection, the stall timer of a transfer, the pause of a throttled transfer. In a
//! single-threaded server none of them may sleep, so each is an entry in one binary heap that the
//! loop consults for its poll timeout and fires after each poll.
//!
//! Cancelling a timer is *ignoring* it (lazy cancellation, as pyftpdlib's `_scheduler` does): a
//! handler keeps its own deadline fields and simply disregards a timer that is no longer relevant;
//! an entry aimed at a closed connection is dropped because its [`ConnId`] generation no longer
//! matches. [`Deadline`] packages the common "a deadline that only moves later" pattern so that
//! resetting the idle timer on every command costs no heap push at all.
//!
//! Time is always passed in (`now: Instant`), never read here, so the heap is tested with a
//! synthetic clock and no sleeping.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

use super::ConnId;

/// One scheduled timer: when it is due, who gets it and which kind it is.
#[derive(Debug)]
struct Entry<K> {
    due: Instant,
    seq: u64,
    conn: ConnId,
    kind: K,
}

impl<K> PartialEq for Entry<K> {
    fn eq(&self, other: &Self) -> bool {
        self.due == other.due && self.seq == other.seq
    }
}
impl<K> Eq for Entry<K> {}
impl<K> PartialOrd for Entry<K> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<K> Ord for Entry<K> {
    /// Reversed, so that `BinaryHeap` (a max-heap) pops the earliest deadline first; `seq` keeps
    /// timers with equal deadlines in the order they were scheduled.
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .due
            .cmp(&self.due)
            .then_with(|| other.seq.cmp(&self.seq))
    }
}

/// A min-heap of deadlines addressed to connections.
#[derive(Debug)]
pub struct Timers<K> {
    heap: BinaryHeap<Entry<K>>,
    seq: u64,
}

impl<K> Default for Timers<K> {
    fn default() -> Self {
        Timers {
            heap: BinaryHeap::new(),
            seq: 0,
        }
    }
}

impl<K: Copy> Timers<K> {
    /// Schedules `kind` for `conn` at `due`.
    pub fn schedule(&mut self, due: Instant, conn: ConnId, kind: K) {
        self.seq = self.seq.wrapping_add(1);
        self.heap.push(Entry {
            due,
            seq: self.seq,
            conn,
            kind,
        });
    }

    /// How long the loop may sleep before the earliest timer is due (`ZERO` if one is overdue).
    pub fn next_timeout(&self, now: Instant) -> Option<Duration> {
        self.heap
            .peek()
            .map(|e| e.due.saturating_duration_since(now))
    }

    /// Pops the earliest timer if it is due at `now`.
    pub fn pop_due(&mut self, now: Instant) -> Option<(ConnId, K)> {
        if self.heap.peek().is_some_and(|e| e.due <= now) {
            self.heap.pop().map(|e| (e.conn, e.kind))
        } else {
            None
        }
    }

    /// Drops every entry for which `alive` says the connection is gone. Called when the heap
    /// has grown large, so that a churn of short connections cannot make it grow without bound.
    pub fn compact(&mut self, alive: impl Fn(ConnId) -> bool) {
        self.heap.retain(|e| alive(e.conn));
    }

    /// Number of scheduled entries, stale ones included.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// True when nothing is scheduled.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

/// A deadline that a handler moves (usually later) without touching the heap each time.
///
/// `set` pushes a heap entry only when none is pending at or before the new deadline; when the
/// timer fires, [`Deadline::fired`] re-arms it if the deadline was moved later meanwhile (the
/// `_repush` trick), and reports expiry only when the deadline really passed.
#[derive(Debug, Default, Clone, Copy)]
pub struct Deadline {
    due: Option<Instant>,
    armed: Option<Instant>,
}

impl Deadline {
    /// Sets the deadline to `at`. Returns `Some(at)` when the caller must schedule a heap entry.
    #[must_use]
    pub fn set(&mut self, at: Instant) -> Option<Instant> {
        self.due = Some(at);
        match self.armed {
            Some(armed) if armed <= at => None,
            _ => {
                self.armed = Some(at);
                Some(at)
            }
        }
    }

    /// Clears the deadline: a pending heap entry will be ignored when it fires.
    pub fn clear(&mut self) {
        self.due = None;
    }

    /// The current deadline, if any.
    pub fn due(&self) -> Option<Instant> {
        self.due
    }

    /// Called when a heap entry for this deadline fires at `now`. Returns what to do.
    pub fn fired(&mut self, now: Instant) -> Fired {
        match self.armed {
            Some(armed) if armed > now => return Fired::Ignore,
            _ => self.armed = None,
        }
        match self.due {
            None => Fired::Ignore,
            Some(due) if due > now => {
                self.armed = Some(due);
                Fired::Rearm(due)
            }
            Some(_) => {
                self.due = None;
                Fired::Expired
            }
        }
    }
}

/// What a fired [`Deadline`] entry means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fired {
    /// Stale entry: nothing to do.
    Ignore,
    /// The deadline moved: schedule a new entry at this instant.
    Rearm(Instant),
    /// The deadline passed.
    Expired,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(key: usize) -> ConnId {
        ConnId { key, gen: 1 }
    }

    #[test]
    fn pops_in_deadline_order_with_synthetic_clock() {
        let t0 = Instant::now();
        let mut t = Timers::default();
        t.schedule(t0 + Duration::from_secs(3), id(3), 'c');
        t.schedule(t0 + Duration::from_secs(1), id(1), 'a');
        t.schedule(t0 + Duration::from_secs(2), id(2), 'b');
        assert_eq!(t.next_timeout(t0), Some(Duration::from_secs(1)));
        assert_eq!(t.pop_due(t0), None);
        let later = t0 + Duration::from_secs(2);
        assert_eq!(t.pop_due(later), Some((id(1), 'a')));
        assert_eq!(t.pop_due(later), Some((id(2), 'b')));
        assert_eq!(t.pop_due(later), None);
        assert_eq!(t.next_timeout(later), Some(Duration::from_secs(1)));
        assert_eq!(
            t.next_timeout(t0 + Duration::from_secs(9)),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn equal_deadlines_keep_fifo_order() {
        let t0 = Instant::now();
        let mut t = Timers::default();
        for k in 0..5 {
            t.schedule(t0, id(k), k);
        }
        let got: Vec<usize> = std::iter::from_fn(|| t.pop_due(t0).map(|(_, k)| k)).collect();
        assert_eq!(got, vec![0, 1, 2, 3, 4]);
    }

    #[test]
    fn compact_drops_dead_connections() {
        let t0 = Instant::now();
        let mut t = Timers::default();
        t.schedule(t0, id(1), ());
        t.schedule(t0, id(2), ());
        t.compact(|c| c.key == 2);
        assert_eq!(t.len(), 1);
        assert_eq!(t.pop_due(t0), Some((id(2), ())));
        assert!(t.is_empty());
    }

    #[test]
    fn deadline_moves_later_without_new_entries() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let mut d = Deadline::default();
        assert_eq!(d.set(t0 + s(10)), Some(t0 + s(10)));
        // Reset on each command: no new heap entry.
        assert_eq!(d.set(t0 + s(15)), None);
        assert_eq!(d.set(t0 + s(20)), None);
        // The entry at +10 fires: the deadline moved, re-arm at +20.
        assert_eq!(d.fired(t0 + s(10)), Fired::Rearm(t0 + s(20)));
        assert_eq!(d.fired(t0 + s(20)), Fired::Expired);
        assert_eq!(d.due(), None);
    }

    #[test]
    fn deadline_cleared_or_moved_earlier() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let mut d = Deadline::default();
        assert!(d.set(t0 + s(10)).is_some());
        d.clear();
        assert_eq!(d.fired(t0 + s(10)), Fired::Ignore);
        // Moving earlier than the armed entry needs a new entry.
        assert!(d.set(t0 + s(30)).is_some());
        assert_eq!(d.set(t0 + s(5)), Some(t0 + s(5)));
        assert_eq!(d.fired(t0 + s(5)), Fired::Expired);
        // The older entry at +30 is then stale.
        assert_eq!(d.fired(t0 + s(30)), Fired::Ignore);
    }
}
