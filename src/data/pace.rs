//! How fast a data connection may move bytes, and who is told that they moved.
//!
//! [`Pace`] gathers what both directions do around each read or write: ask the throttle how
//! many bytes may move now (the connection's own token bucket for `--read-limit` /
//! `--write-limit`, and its share of the user's aggregate limit), sleep on a loop timer when
//! the answer is zero (`Pacing::Throttled`: never a busy loop, never a blocking sleep), and
//! after the bytes moved, count them: for the owner's STAT, for the `on_progress` hook, for
//! the server's metrics, and against the buckets.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use prometheus_client::metrics::counter::Counter;

use super::throttle::TokenBucket;
use super::{Progress, CHUNK};
use crate::msg::{Cx, TimerKind};
use crate::state::SharedBucket;

/// Whether the connection may move bytes or sleeps on the throttle timer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Pacing {
    /// Moving bytes.
    Running,
    /// Out of tokens: `TimerKind::Throttle` wakes it.
    Throttled,
}

/// A data connection's throttle and counters (see the module docs).
#[derive(Debug)]
pub(super) struct Pace {
    /// `--read-limit` / `--write-limit`: this connection's bucket.
    pub bucket: Option<TokenBucket>,
    /// The user's aggregate limit (shared with their other data connections) and this
    /// connection's bucket for its share of it.
    pub user_bucket: Option<(SharedBucket, TokenBucket)>,
    /// Running or throttled.
    pub pacing: Pacing,
    /// Bytes moved by this connection.
    pub bytes: u64,
    /// Bytes moved, shared with the owner for STAT during a transfer.
    pub progress: Arc<AtomicU64>,
    /// Progress reports for hooks.
    pub hook: Option<Progress>,
    /// The server's counter of data bytes in this job's direction (metrics).
    pub meter: Option<Counter>,
}

impl Pace {
    /// Unthrottled, nothing moved yet; `progress` is the owner's STAT counter.
    pub fn new(progress: Arc<AtomicU64>) -> Pace {
        Pace {
            bucket: None,
            user_bucket: None,
            pacing: Pacing::Running,
            bytes: 0,
            progress,
            hook: None,
            meter: None,
        }
    }

    /// Whether a limit applies (a throttled download keeps `sendfile` but in smaller calls).
    pub fn limited(&self) -> bool {
        self.bucket.is_some() || self.user_bucket.is_some()
    }

    /// Bytes the throttle allows now, at most `want`: the minimum of this connection's bucket
    /// and its share of the user's. Zero means the connection is now `Throttled` and a timer
    /// will wake it.
    pub fn allowance(&mut self, want: usize, cx: &mut Cx<'_>) -> usize {
        let mut n = want;
        let mut wait = std::time::Duration::ZERO;
        let chunk = want.min(CHUNK);
        if let Some(b) = self.bucket.as_mut() {
            n = n.min(b.allowance(cx.now));
            if n == 0 {
                wait = wait.max(b.wait(cx.now, chunk));
            }
        }
        if let Some((shared, share)) = self.user_bucket.as_mut() {
            // An equal share of the user's limit among the transfers holding it.
            let sharers = (Arc::strong_count(shared) - 1).max(1) as u64;
            share.set_rate((shared.rate() / sharers).max(1), cx.now);
            let allowed = share.allowance(cx.now);
            n = n.min(allowed);
            if allowed == 0 {
                wait = wait.max(share.wait(cx.now, chunk));
            }
        }
        if n == 0 {
            self.pacing = Pacing::Throttled;
            cx.after(wait, TimerKind::Throttle);
        }
        n
    }

    /// `n` bytes moved: count them everywhere they are watched.
    pub fn moved(&mut self, n: usize, now: Instant) {
        self.bytes += n as u64;
        self.progress.fetch_add(n as u64, Ordering::Relaxed);
        if let Some(m) = &self.meter {
            m.inc_by(n as u64);
        }
        if let Some(b) = self.bucket.as_mut() {
            b.consume(n);
        }
        if let Some((_, share)) = self.user_bucket.as_mut() {
            share.consume(n);
        }
        if let Some(p) = self.hook.as_mut() {
            p.report(self.bytes, now);
        }
    }
}
