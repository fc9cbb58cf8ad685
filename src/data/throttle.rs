//! Bandwidth throttling: a token bucket per data connection, with time passed in.
//!
//! The bucket holds at most one second's worth of bytes. Before each read or write the data
//! connection asks how many bytes it may move; at zero it sleeps on a loop timer until enough
//! tokens have accumulated (never a busy loop, never a blocking sleep), then resumes. With
//! sendfile the allowance caps each call's byte count, so throttled downloads keep the
//! zero-copy path (pyftpdlib gives up sendfile when throttling).

use std::time::{Duration, Instant};

/// Bytes per second, refilled continuously.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    rate: u64,
    tokens: f64,
    last: Instant,
}

/// Smallest pause worth scheduling, so a throttled transfer wakes at most ~100 times a second.
const MIN_PAUSE: Duration = Duration::from_millis(10);

impl TokenBucket {
    /// A bucket of `rate` bytes per second, starting empty-ish (a small burst) at `now`.
    pub fn new(rate: u64, now: Instant) -> TokenBucket {
        TokenBucket {
            rate: rate.max(1),
            tokens: (rate as f64 / 10.0).max(1.0),
            last: now,
        }
    }

    fn refill(&mut self, now: Instant) {
        let dt = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + dt * self.rate as f64).min(self.rate as f64);
    }

    /// Changes the rate (e.g. a user's share when another of their transfers starts or ends);
    /// the tokens already saved are kept, up to the new bucket size.
    pub fn set_rate(&mut self, rate: u64, now: Instant) {
        let rate = rate.max(1);
        if rate != self.rate {
            self.refill(now);
            self.rate = rate;
            self.tokens = self.tokens.min(rate as f64);
        }
    }

    /// Bytes that may be moved now.
    pub fn allowance(&mut self, now: Instant) -> usize {
        self.refill(now);
        self.tokens.max(0.0) as usize
    }

    /// Records that `n` bytes were moved.
    pub fn consume(&mut self, n: usize) {
        self.tokens -= n as f64;
    }

    /// How long to wait until at least `want` bytes (capped at the bucket size) are allowed.
    pub fn wait(&mut self, now: Instant, want: usize) -> Duration {
        self.refill(now);
        let want = (want as f64).min(self.rate as f64);
        let missing = want - self.tokens;
        if missing <= 0.0 {
            return Duration::ZERO;
        }
        Duration::from_secs_f64(missing / self.rate as f64).max(MIN_PAUSE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_holds_over_simulated_seconds() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(1000, t0);
        let mut now = t0;
        let mut moved = 0usize;
        // A sender that always wants 300 bytes, for 10 simulated seconds.
        while now < t0 + Duration::from_secs(10) {
            let n = b.allowance(now).min(300);
            if n == 0 {
                now += b.wait(now, 300);
                continue;
            }
            b.consume(n);
            moved += n;
        }
        assert!((9_000..=11_000).contains(&moved), "moved {moved}");
    }

    #[test]
    fn bucket_never_exceeds_one_second_of_bytes() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(500, t0);
        assert_eq!(b.allowance(t0 + Duration::from_secs(60)), 500);
        b.consume(500);
        assert_eq!(b.allowance(t0 + Duration::from_secs(60)), 0);
        assert!(b.wait(t0 + Duration::from_secs(60), 100) >= Duration::from_millis(190));
    }
}
