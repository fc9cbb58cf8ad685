//! Where a large upload's writes run: on the loop, or on the blocking pool.
//!
//! A lone large upload writes on the loop, as a pool without threads would: the loop has
//! little else to do, and a hand-off to a worker for every 256 KiB costs CPU (measured: 2.2×
//! the server's CPU per GiB, and 35% of the throughput, on one `curl` upload; on this VM each
//! hand-off wakes a sleeping core). When this loop serves several large uploads at once, or
//! its writes prove slow, they go to the pool: the copying into the page cache then runs on
//! the other cores, and the loop's turns stay short for every other session.
//!
//! "Slow" is judged from what the writes cost their thread (`held.rs`), in two ways:
//! - **asleep**: the kernel's dirty-page throttling (or a slow disk) puts the writer to sleep
//!   for milliseconds at a time; on the loop that sleep is every session's wait. Sleep is
//!   what the pool is for, so a little of it is enough.
//! - **held long**: a write that computes for over a millisecond would break the loop's turn
//!   bound even without sleeping. Below that, computing on the loop is cheaper than on the
//!   pool: in a phase where fresh page-cache pages cost the host a fault each (850 µs per
//!   256 KiB instead of 50), the pool's hand-offs doubled the CPU per GiB and halved the
//!   throughput (docs/performance.md, "Uploads that stayed on the pool").
//!
//! Both are moving averages over the writes wherever they ran, with the time a worker waited
//! for a CPU left out, so that a worker in the idle class, kept waiting by the loop and the
//! client, does not make the writes look slow and keep them on the pool for good.

use std::cell::Cell;
use std::time::Duration;

use crate::data::held::Cost;

/// A large upload's writes that sleep this long on average (a 256 KiB write into the page
/// cache does not sleep at all; throttling makes it milliseconds) go to the pool.
const SLEEP_US: u64 = 250;
/// Writes held this long on average go to the pool even if they do not sleep.
const HELD_US: u64 = 1000;

/// The writes of this loop's large uploads.
#[derive(Debug, Default)]
pub(super) struct WriteTiming {
    /// Moving averages (weight 1/8 for the newest) of how long the chunk writes held their
    /// thread and how long of that they slept, in microseconds.
    held_us: Cell<u64>,
    slept_us: Cell<u64>,
    /// Large uploads in their write-behind phase on this loop.
    pub(super) active: Cell<usize>,
}

/// Counts a large upload in [`WriteTiming::active`] for as long as it lives.
#[derive(Debug)]
pub(crate) struct Active(());

impl Active {
    pub(crate) fn new() -> Active {
        WRITES.with(|t| t.active.set(t.active.get() + 1));
        Active(())
    }
}

impl Drop for Active {
    fn drop(&mut self) {
        // `try_with`: a drop during the thread's own teardown has nothing left to count.
        let _ = WRITES.try_with(|t| t.active.set(t.active.get().saturating_sub(1)));
    }
}

impl WriteTiming {
    /// Whether the next write goes to the pool.
    pub(super) fn to_pool(&self) -> bool {
        self.active.get() > 1 || self.slow()
    }

    /// Counts a write that came back.
    pub(super) fn record(&self, cost: Cost) {
        fold(&self.held_us, cost.held);
        fold(&self.slept_us, cost.slept);
    }

    fn slow(&self) -> bool {
        self.slept_us.get() >= SLEEP_US || self.held_us.get() >= HELD_US
    }
}

/// Moves the average in `cell` an eighth of the way to `took`.
fn fold(cell: &Cell<u64>, took: Duration) {
    let us = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
    cell.set(cell.get().saturating_mul(7).saturating_add(us) / 8);
}

thread_local! {
    /// The write timing of this loop thread's large uploads.
    pub(super) static WRITES: WriteTiming = WriteTiming::default();
}
