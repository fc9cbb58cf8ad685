//! Runtime state shared by every connection of one server: sessions per user, per-user
//! bandwidth buckets and the temporary ban list.
//!
//! Most per-connection facts travel as messages, but these are questions a connection must
//! answer *now* ("may this user log in a third time?", "is this IP banned?"), so they live in
//! one small structure the server hands to each handler. Within one loop the locks are never
//! contended; with `--workers` several loops share one `Shared`, which is how connection,
//! per-IP and per-user limits and bans stay global. Each lock is held for a few instructions.
//!
//! **Bans** follow ProFTPD's mod_ban and libunftp's failed-logins policy: after `ban_after`
//! failed logins from one IP within `ban_window`, that IP is refused with `421` at connect for
//! `ban_time`.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A user's aggregate bandwidth limit in one direction, shared by that user's data
/// connections. Each connection holds a clone; the number of holders is the number of
/// transfers splitting the rate, so each gets an equal share (no transfer can starve another
/// by waking first) and the sum stays at the limit.
#[derive(Debug)]
pub(crate) struct UserRate {
    rate: std::sync::atomic::AtomicU64,
}

impl UserRate {
    /// The user's limit in bytes per second.
    pub(crate) fn rate(&self) -> u64 {
        self.rate.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// A handle on a [`UserRate`].
pub(crate) type SharedBucket = Arc<UserRate>;

/// Temporary bans after repeated failed logins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BanPolicy {
    /// Failed logins from one IP that trigger a ban; 0 disables bans.
    pub after: u32,
    /// The window in which those failures must happen.
    pub window: Duration,
    /// How long the ban lasts.
    pub time: Duration,
}

impl Default for BanPolicy {
    /// Bans disabled; when enabled, a 10 minute window and a 15 minute ban.
    fn default() -> Self {
        BanPolicy {
            after: 0,
            window: Duration::from_secs(600),
            time: Duration::from_secs(900),
        }
    }
}

#[derive(Debug, Default)]
struct Bans {
    failures: HashMap<IpAddr, VecDeque<Instant>>,
    banned: HashMap<IpAddr, Instant>,
}

/// Why a new connection is told `421` and closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The client's IP is temporarily banned after failed logins.
    Banned,
    /// `max_cons` reached.
    TooManyConnections,
    /// `max_cons_per_ip` reached.
    TooManyFromIp,
}

impl Refusal {
    /// The text of the 421 reply (pyftpdlib's wording where it has one).
    pub(crate) fn text(self) -> &'static str {
        match self {
            Refusal::Banned => "Too many failed logins from your address; try again later.",
            Refusal::TooManyConnections => "Too many connections.",
            Refusal::TooManyFromIp => "Too many connections from the same IP address.",
        }
    }

    /// The machine-readable reason code for logs.
    pub(crate) fn code(self) -> &'static str {
        match self {
            Refusal::Banned => "banned",
            Refusal::TooManyConnections => "too-many-connections",
            Refusal::TooManyFromIp => "too-many-per-ip",
        }
    }
}

/// What all connections of a server share.
#[derive(Debug, Default)]
pub struct Shared {
    next_id: std::sync::atomic::AtomicU64,
    /// Counted control connections: in total and per client IP.
    conns: Mutex<(usize, HashMap<IpAddr, usize>)>,
    sessions: Mutex<HashMap<String, u32>>,
    buckets: Mutex<HashMap<(String, bool), SharedBucket>>,
    bans: Mutex<Bans>,
    /// Digests computed for HASH and XCRC/XMD5/XSHA*, by file version.
    pub(crate) hashes: crate::checksum::HashCache,
    /// The counters of every connection of the server (all workers), for Prometheus.
    pub(crate) metrics: crate::metrics::Metrics,
    /// Per-user quota usage, by user name and home (`quota_bytes=`, `quota_files=`).
    pub(crate) quotas: crate::quota::Quotas,
}

impl Shared {
    /// The server's metrics: [`crate::metrics::Metrics::encode`] gives the exposition.
    pub fn metrics(&self) -> &crate::metrics::Metrics {
        &self.metrics
    }

    /// Control connections open now (counted against `max_cons`), all workers together.
    pub fn sessions(&self) -> usize {
        self.connections()
    }

    /// A new connection number (1, 2, ...), for logs and events.
    pub(crate) fn next_conn_id(&self) -> u64 {
        self.next_id
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            + 1
    }

    /// Counts a new control connection from `ip` unless a limit is reached (0 = unlimited).
    pub(crate) fn try_admit(
        &self,
        ip: IpAddr,
        max_cons: usize,
        max_per_ip: usize,
    ) -> Result<(), Refusal> {
        let Ok(mut guard) = self.conns.lock() else {
            return Ok(());
        };
        let (total, per_ip) = &mut *guard;
        if max_cons > 0 && *total >= max_cons {
            return Err(Refusal::TooManyConnections);
        }
        let n = per_ip.entry(ip).or_insert(0);
        if max_per_ip > 0 && *n >= max_per_ip {
            return Err(Refusal::TooManyFromIp);
        }
        *n += 1;
        *total += 1;
        Ok(())
    }

    /// Moves a counted connection from `from` to `to` (the PROXY protocol's real client),
    /// applying the per-IP limit to `to`. On refusal the connection stays counted under `from`.
    pub(crate) fn move_ip(
        &self,
        from: IpAddr,
        to: IpAddr,
        max_per_ip: usize,
    ) -> Result<(), Refusal> {
        let Ok(mut guard) = self.conns.lock() else {
            return Ok(());
        };
        let (_, per_ip) = &mut *guard;
        let n = per_ip.get(&to).copied().unwrap_or(0);
        // Moving to the same address: this connection is already among the `n`.
        let others = if from == to { n.saturating_sub(1) } else { n };
        if max_per_ip > 0 && others >= max_per_ip {
            return Err(Refusal::TooManyFromIp);
        }
        if from == to {
            return Ok(());
        }
        per_ip.insert(to, n + 1);
        if let Some(m) = per_ip.get_mut(&from) {
            *m = m.saturating_sub(1);
            if *m == 0 {
                per_ip.remove(&from);
            }
        }
        Ok(())
    }

    /// Forgets a counted control connection from `ip`.
    pub(crate) fn release(&self, ip: IpAddr) {
        if let Ok(mut guard) = self.conns.lock() {
            let (total, per_ip) = &mut *guard;
            *total = total.saturating_sub(1);
            if let Some(n) = per_ip.get_mut(&ip) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    per_ip.remove(&ip);
                }
            }
        }
    }

    /// Counted control connections.
    pub(crate) fn connections(&self) -> usize {
        self.conns.lock().map(|g| g.0).unwrap_or(0)
    }

    /// Counts a login of `user` unless it already has `max` sessions. True when admitted.
    pub(crate) fn try_add_session(&self, user: &str, max: Option<u32>) -> bool {
        let Ok(mut map) = self.sessions.lock() else {
            return true;
        };
        let n = map.entry(user.to_owned()).or_insert(0);
        if max.is_some_and(|m| *n >= m) {
            return false;
        }
        *n += 1;
        true
    }

    /// Forgets one session of `user` (logout, REIN, disconnect).
    pub(crate) fn remove_session(&self, user: &str) {
        if let Ok(mut map) = self.sessions.lock() {
            if let Some(n) = map.get_mut(user) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    map.remove(user);
                }
            }
        }
    }

    #[cfg(test)]
    /// Logged-in sessions of `user`.
    pub(crate) fn sessions_of(&self, user: &str) -> u32 {
        self.sessions
            .lock()
            .ok()
            .and_then(|m| m.get(user).copied())
            .unwrap_or(0)
    }

    /// The limit shared by `user`'s uploads (`upload == true`) or downloads, at `rate`
    /// bytes/s (updated if the users file changed the rate since).
    pub(crate) fn user_bucket(&self, user: &str, upload: bool, rate: u64) -> SharedBucket {
        let fresh = || {
            Arc::new(UserRate {
                rate: std::sync::atomic::AtomicU64::new(rate),
            })
        };
        let Ok(mut map) = self.buckets.lock() else {
            return fresh();
        };
        let entry = map.entry((user.to_owned(), upload)).or_insert_with(fresh);
        entry.rate.store(rate, std::sync::atomic::Ordering::Relaxed);
        Arc::clone(entry)
    }

    /// Records a failed login from `ip`; true if it now gets banned.
    pub(crate) fn record_failure(&self, ip: IpAddr, policy: &BanPolicy, now: Instant) -> bool {
        if policy.after == 0 {
            return false;
        }
        let Ok(mut bans) = self.bans.lock() else {
            return false;
        };
        let list = bans.failures.entry(ip).or_default();
        list.push_back(now);
        while list
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) > policy.window)
        {
            list.pop_front();
        }
        if list.len() >= policy.after as usize {
            bans.failures.remove(&ip);
            bans.banned.insert(ip, now + policy.time);
            return true;
        }
        false
    }

    /// True while `ip` is banned.
    pub(crate) fn is_banned(&self, ip: IpAddr, now: Instant) -> bool {
        let Ok(mut bans) = self.bans.lock() else {
            return false;
        };
        match bans.banned.get(&ip) {
            Some(until) if *until > now => true,
            Some(_) => {
                bans.banned.remove(&ip);
                false
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_limit_per_user() {
        let s = Shared::default();
        assert!(s.try_add_session("a", Some(2)));
        assert!(s.try_add_session("a", Some(2)));
        assert!(!s.try_add_session("a", Some(2)));
        assert!(s.try_add_session("b", Some(2)));
        s.remove_session("a");
        assert_eq!(s.sessions_of("a"), 1);
        assert!(s.try_add_session("a", Some(2)));
        assert!(s.try_add_session("c", None));
    }

    #[test]
    fn bans_with_synthetic_time() {
        let s = Shared::default();
        let ip: IpAddr = [10, 0, 0, 1].into();
        let p = BanPolicy {
            after: 3,
            window: Duration::from_secs(60),
            time: Duration::from_secs(30),
        };
        let t0 = Instant::now();
        assert!(!s.record_failure(ip, &p, t0));
        // The first failure leaves the window before the third arrives.
        assert!(!s.record_failure(ip, &p, t0 + Duration::from_secs(50)));
        assert!(!s.record_failure(ip, &p, t0 + Duration::from_secs(100)));
        assert!(!s.is_banned(ip, t0 + Duration::from_secs(100)));
        assert!(s.record_failure(ip, &p, t0 + Duration::from_secs(101)));
        assert!(s.is_banned(ip, t0 + Duration::from_secs(120)));
        assert!(!s.is_banned(ip, t0 + Duration::from_secs(132)));
        let off = BanPolicy::default();
        assert!(!s.record_failure(ip, &off, t0));
    }

    #[test]
    fn user_buckets_are_shared_and_follow_reloads() {
        let s = Shared::default();
        let a = s.user_bucket("u", false, 1000);
        let b = s.user_bucket("u", false, 1000);
        assert!(Arc::ptr_eq(&a, &b));
        let up = s.user_bucket("u", true, 1000);
        assert!(!Arc::ptr_eq(&a, &up));
        // A reloaded users file changes the rate for the transfers already sharing it.
        let _c = s.user_bucket("u", false, 5000);
        assert_eq!(a.rate(), 5000);
    }
}
