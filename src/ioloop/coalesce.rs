//! Event coalescing: under load, the daemon's loop naps for a few microseconds before it
//! collects events, so that one wake-up serves several events and their senders find no
//! sleeping thread to wake.
//!
//! **Why.** A loop that sleeps in `epoll_wait` between turns has to be woken for each event,
//! and whoever makes the event pays for the wake-up: a client's `send` or `connect` on the same
//! host finds a sleeping thread, and the kernel must put it back on a CPU (in a virtual machine,
//! an interrupt to another virtual CPU, through the hypervisor). Under many short sessions the
//! next command is mostly a few tens of microseconds away, and ftpdlib, doing little per
//! command, slept about 2.3 times per session where pyftpdlib, busier, slept 0.5 times: the
//! referee's Python client paid for the difference (docs/performance.md, runs AH and AJ). A
//! loop that is napping (in `nanosleep`, not in `epoll_wait`) is on no socket's wait queue, so
//! a client's `send` only queues its event; the nap's end collects it with the others that
//! came meanwhile, and the loop pays one timer wake-up for all of them. It is what a network
//! card's interrupt coalescing does for its driver, and what io_uring's minimum wait time
//! (`min_wait_usec`, Linux 6.12) does for a program that reaps completions.
//!
//! **How long.** Adaptive, like the halt-polling governor of Linux's cpuidle (`haltpoll`): the
//! window starts at zero. A wait (nap plus sleep) that ended within `max` means events come
//! that often: the window doubles (from [`START`], up to `max`). A wait that lasted longer
//! means napping would only delay the next event: the window halves, and below [`START`] it
//! is zero again. So an idle daemon, or one whose events come further apart than the bound (a
//! person typing commands), answers at once; one with a steady stream of events delays each
//! by at most the window. The loop thread's timer slack is set to 1 µs so that a nap ends on
//! time: with the default 50 µs a nap of 10 µs lasted 60, and a single client's ping-pong
//! (the referee's churn) waited that long at most exchanges. A nap never outlasts the loop's
//! own timeout; the loop does not nap while it has work queued (a zero timeout), nor while the
//! server waits for a result from its blocking pool (`Hosted::may_nap`: eight uploads whose
//! writes ran on the pool made 5% fewer uploads per second when the loop napped past the
//! results). The thread is off the CPU while it naps; the extra timer wake-ups cost about 15%
//! more server CPU per session under the referee's burst (still under half of pyftpdlib's),
//! where spinning instead (busy polling, run AH) cost 24% per operation and helped less.
//!
//! **When.** Only when the events come from several senders. The server keeps the sources of
//! its latest 16 events ([`Senders`]) and answers [`Nap::Yes`] while they are four or more
//! sockets, or while clients are connecting (two or more of them were the listener's);
//! otherwise [`Nap::Sending`]: the loop naps only after a turn whose events were all
//! "writable" (it is feeding downloads, whose clients drain their sockets and wait for no
//! answer). A client that sent a command waits for the reply, and a fast one on the same host
//! sends the next command within microseconds, so a nap would only delay it: ftpbench's churn
//! (one session, STOR and DELE, a Rust client) ran at 0.51× the operations per second of the
//! loop that never naps, and still at 0.50× beside eight idle sessions when the rule counted
//! connected sessions instead of talking ones. Each nap is counted in
//! `ftpdlib_loop_naps_total`.
//!
//! Only the daemon's own loop ([`IoLoop`](super::IoLoop)) naps, and only when told to
//! (`--coalesce`, default 50 µs); a host program that runs a `Server` in its own `Poll`
//! decides for itself.

use std::io;
use std::time::{Duration, Instant};

use mio::{Events, Poll};

/// The shortest nap worth taking: below it the window is zero.
pub const START: Duration = Duration::from_micros(10);

/// Whether the loop may nap before its next poll: the server's answer to
/// [`Hosted::may_nap`](super::Hosted::may_nap).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nap {
    /// Many clients are talking: nap (their events come from independent senders).
    Yes,
    /// One or a few clients: nap only after a turn whose events all said "writable" (the loop
    /// is feeding downloads, whose clients drain their sockets and wait for no answer). After
    /// a command, a client usually waits for the reply; napping would only delay its next one.
    Sending,
    /// The server waits for a result from another thread: never nap.
    No,
}

/// The nap window and its bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Coalesce {
    max: Duration,
    window: Duration,
    /// The thread's timer slack has been set (on its first nap).
    precise: bool,
    /// The last wait (a poll that could sleep) returned events, all of them writable only.
    sending: bool,
}

/// The timer slack of a napping loop thread: naps end on time, not up to 50 µs late.
#[cfg(any(target_os = "linux", target_os = "android"))]
const SLACK_NS: u64 = 1_000;

impl Coalesce {
    /// Naps of at most `max` (zero: never nap).
    pub fn new(max: Duration) -> Coalesce {
        Coalesce {
            max,
            window: Duration::ZERO,
            precise: false,
            sending: false,
        }
    }

    /// How long the next wait naps before it sleeps in the poll.
    pub fn window(&self) -> Duration {
        self.window
    }

    /// Waits for events like [`Poll::poll`], napping first for the current window (never past
    /// `timeout`) if `nap()` allows it: if events came during the nap, it returns them without
    /// sleeping in the poll. True if it napped. `nap` is asked only when a nap is possible
    /// (coalescing on, an open window, no queued work), so a busy or idle turn costs nothing.
    pub fn poll(
        &mut self,
        poll: &mut Poll,
        events: &mut Events,
        timeout: Option<Duration>,
        nap: impl FnOnce() -> Nap,
    ) -> io::Result<bool> {
        if self.max.is_zero() || timeout == Some(Duration::ZERO) {
            poll.poll(events, timeout)?;
            return Ok(false);
        }
        let started = Instant::now();
        let napped = !self.window.is_zero()
            && match nap() {
                Nap::Yes => true,
                Nap::Sending => self.sending,
                Nap::No => false,
            };
        if napped {
            self.nap(self.window.min(timeout.unwrap_or(Duration::MAX)));
            poll.poll(events, Some(Duration::ZERO))?;
            if !events.is_empty() {
                self.sending = only_writable(events);
                return Ok(true);
            }
        }
        let spent = started.elapsed();
        poll.poll(events, timeout.map(|t| t.saturating_sub(spent)))?;
        self.learn(started.elapsed());
        self.sending = only_writable(events);
        Ok(napped)
    }

    /// Sleeps for `span`, off every wait queue. The first nap sets the thread's timer slack
    /// to [`SLACK_NS`] (see the module's documentation).
    fn nap(&mut self, span: Duration) {
        if !self.precise {
            self.precise = true;
            #[cfg(any(target_os = "linux", target_os = "android"))]
            if let Err(e) =
                rustix::thread::set_current_timer_slack(std::num::NonZeroU64::new(SLACK_NS))
            {
                log::debug!("PR_SET_TIMERSLACK: {e}");
            }
        }
        std::thread::sleep(span);
    }

    /// Adapts the window to a wait of `waited` (nap and sleep) that the nap did not catch.
    pub fn learn(&mut self, waited: Duration) {
        self.window = if waited <= self.max {
            (self.window * 2).max(START).min(self.max)
        } else if self.window / 2 >= START {
            self.window / 2
        } else {
            Duration::ZERO
        };
    }
}

/// How many of the latest events' sources [`Senders`] remembers.
const RECENT: usize = 16;

/// The sources (tokens) of the latest events, to tell many clients from one: a server's
/// answer to [`Hosted::may_nap`](super::Hosted::may_nap) can rest on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Senders {
    ring: [usize; RECENT],
    next: usize,
}

impl Default for Senders {
    fn default() -> Senders {
        Senders {
            ring: [usize::MAX; RECENT],
            next: 0,
        }
    }
}

impl Senders {
    /// Remembers an event of `token`, forgetting the oldest.
    pub fn note(&mut self, token: mio::Token) {
        self.ring[self.next] = token.0;
        self.next = (self.next + 1) % RECENT;
    }

    /// How many different sources the remembered events came from.
    pub fn distinct(&self) -> usize {
        (0..RECENT)
            .filter(|&i| self.ring[i] != usize::MAX && !self.ring[..i].contains(&self.ring[i]))
            .count()
    }

    /// How many of the remembered events came from `token`.
    pub fn count(&self, token: mio::Token) -> usize {
        self.ring.iter().filter(|&&t| t == token.0).count()
    }
}

/// True if there are events and none of them says "readable" (or closed, or failed).
fn only_writable(events: &Events) -> bool {
    !events.is_empty()
        && events
            .iter()
            .all(|e| e.is_writable() && !e.is_readable() && !e.is_read_closed() && !e.is_error())
}

#[cfg(test)]
mod tests;
