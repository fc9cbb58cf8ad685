//! Filesystem calls that may be slow, made on the blocking-work pool.
//!
//! A command such as DELE or SIZE is one or two filesystem calls and a reply. On a local disk
//! those calls take microseconds; on a network filesystem, or a disk that stalls, they can take
//! seconds, and on the loop that would be seconds for every session. So a command hands its
//! calls to the engine as an action (`core::Action::Fs`): `work` runs with the session's
//! filesystem, `then` turns the result into the command's outcome (`apply.rs`). When the work
//! may be slow, it goes to a worker with a filesystem handle of its own
//! ([`Filesystem::share`]) and the session waits in `Phase::Offloaded`, its next commands
//! held in order, until `Msg::FsDone` brings the result back; otherwise both run at once, on
//! the loop.
//!
//! Where the work runs is decided by its [`Cost`] and `--offload-fs`:
//! - `Long` work (hashing a file) always runs on the pool;
//! - `Light` work (the calls of DELE, SIZE, an open...) runs on the loop with `auto` (the
//!   default) unless the filesystem says it may block ([`Filesystem::may_block`]) or this
//!   session's recent calls were slow, measured: [`FsTiming`] keeps a moving average of how
//!   long the calls took, wherever they ran, and above [`SLOW`] the session's calls go to the
//!   pool. `always` and `never` override the measurement.
//!
//! (Sending DELE, RMD and RNTO to the pool always was tried: under eight sessions storing and
//! deleting 8 MiB files, an `unlink` on the loop takes 1–4 ms. It made the many-small-files
//! benchmark 8% slower for one hand-off per command, and the STOR stall next to a peer worse,
//! for a reason not pinned down: docs/performance.md, run K.)
//!
//! [`Filesystem::share`]: crate::fs::Filesystem::share
//! [`Filesystem::may_block`]: crate::fs::Filesystem::may_block

use std::time::Duration;

use super::core::Cost;
use crate::config::OffloadFs;

/// Above this moving average, `auto` offloads the session's filesystem calls.
const SLOW: Duration = Duration::from_millis(1);

/// A moving average of the session's filesystem call times (weight 1/8 for the newest).
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct FsTiming {
    average_us: u64,
}

impl FsTiming {
    /// Counts one command's filesystem work.
    pub fn record(&mut self, took: Duration) {
        let us = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        self.average_us = (self.average_us.saturating_mul(7).saturating_add(us)) / 8;
    }

    /// Whether work of this `cost` should run on the pool.
    pub fn offload(&self, cost: Cost, policy: OffloadFs, fs_may_block: bool) -> bool {
        match (cost, policy) {
            (Cost::Long, _) | (_, OffloadFs::Always) => true,
            (_, OffloadFs::Never) => false,
            (Cost::Light, OffloadFs::Auto) => {
                fs_may_block || self.average_us >= u64::try_from(SLOW.as_micros()).unwrap_or(0)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_offloads_once_calls_are_slow_and_returns_when_they_are_fast_again() {
        let light = Cost::Light;
        let mut t = FsTiming::default();
        assert!(!t.offload(light, OffloadFs::Auto, false));
        assert!(t.offload(light, OffloadFs::Auto, true));
        assert!(t.offload(light, OffloadFs::Always, false));
        t.record(Duration::from_millis(50));
        assert!(t.offload(light, OffloadFs::Auto, false));
        assert!(!t.offload(light, OffloadFs::Never, false));
        for _ in 0..40 {
            t.record(Duration::from_micros(20));
        }
        assert!(!t.offload(light, OffloadFs::Auto, false));
    }

    #[test]
    fn hashing_always_goes_to_the_pool() {
        let t = FsTiming::default();
        assert!(t.offload(Cost::Long, OffloadFs::Never, false));
        assert!(t.offload(Cost::Long, OffloadFs::Auto, false));
    }
}
