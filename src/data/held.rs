//! How long a write *held* the thread it ran on: its wall time less the time that thread spent
//! waiting in the run queue for a CPU.
//!
//! `upload/timing.rs` moves a lone large upload's writes to the blocking pool when they prove slow,
//! because a write that sleeps in the kernel's dirty-page throttling would hold the loop, and
//! every session with it. Wall time alone misjudges the writes the pool ran: its workers are in
//! the idle class, so on a machine whose cores are busy (the uploading client on one, the loop
//! on the other) a worker waits for a CPU between its system calls, and a 100 µs write reads as
//! milliseconds. The upload then stayed on the pool for good, at twice the CPU per GiB and
//! about 60% of the throughput of writing on the loop (docs/performance.md). Subtracting the
//! run-queue wait leaves what the write would cost wherever it ran: its CPU time and its
//! sleeps (throttling, I/O).
//!
//! The thread's CPU clock then tells how much of that time the write spent *off* the CPU,
//! asleep in the kernel (throttled, waiting for I/O): that is what the pool is for. A write
//! that only computes longer than usual (on this VM, a phase where every fresh page of the
//! page cache costs the host a fault, 850 µs per 256 KiB instead of 50) is work the loop
//! would do as fast as a worker, without the hand-offs.
//!
//! Linux keeps a thread's waits for a CPU in `/proc/thread-self/schedstat` (its second field);
//! each thread opens its own once (one descriptor per thread, held for the thread's life) and
//! reads it with `pread` before and after the write, together with its CPU clock
//! (`CLOCK_THREAD_CPUTIME_ID`). Where they cannot be read, the wall time stands for both.

use std::time::{Duration, Instant};

/// What a write cost the thread it ran on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cost {
    /// Its wall time less its waits for a CPU: how long it would hold any thread.
    pub held: Duration,
    /// The part of `held` off the CPU, asleep or blocked in the kernel.
    pub slept: Duration,
}

/// A write being timed.
#[derive(Debug)]
pub(super) struct Held {
    started: Instant,
    /// The thread's times so far, if known.
    times: Option<Times>,
}

/// A thread's nanoseconds on a CPU and waiting for one.
#[derive(Clone, Copy, Debug)]
struct Times {
    ran: u64,
    waited: u64,
}

impl Held {
    /// Starts timing on this thread.
    pub(super) fn start() -> Held {
        Held {
            times: imp::times(),
            started: Instant::now(),
        }
    }

    /// The cost since [`start`](Self::start). (The kernel adds a wait for a CPU when the thread
    /// gets one back, so a thread that is running, as the caller is, has all of its waits
    /// counted.)
    pub(super) fn stop(self) -> Cost {
        let wall = self.started.elapsed();
        match (self.times, imp::times()) {
            (Some(before), Some(after)) => {
                let nanos = |a: u64, b: u64| Duration::from_nanos(b.saturating_sub(a));
                let held = wall.saturating_sub(nanos(before.waited, after.waited));
                let slept = held.saturating_sub(nanos(before.ran, after.ran));
                Cost { held, slept }
            }
            _ => Cost {
                held: wall,
                slept: wall,
            },
        }
    }
}

#[cfg(target_os = "linux")]
mod imp {
    use std::fs::File;
    use std::os::unix::fs::FileExt;

    use super::Times;

    thread_local! {
        /// This thread's `schedstat`, opened on first use (`None` if it cannot be).
        static SCHEDSTAT: Option<File> = File::open("/proc/thread-self/schedstat").ok();
    }

    /// This thread's times: its CPU clock (`schedstat`'s own first field only moves at the
    /// scheduler's ticks while the thread runs), and its waits from `schedstat`'s second field
    /// (added as the thread gets a CPU back, so exact for a running thread).
    pub fn times() -> Option<Times> {
        let clock = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
        let ran = u64::try_from(clock.tv_sec)
            .ok()?
            .checked_mul(1_000_000_000)?
            .checked_add(u64::try_from(clock.tv_nsec).ok()?)?;
        // `try_with`: no panic even from a thread's last destructors.
        let waited = SCHEDSTAT.try_with(|file| {
            let mut buf = [0u8; 96];
            let n = file.as_ref()?.read_at(&mut buf, 0).ok()?;
            let text = std::str::from_utf8(buf.get(..n)?).ok()?;
            text.split_ascii_whitespace().nth(1)?.parse().ok()
        });
        Some(Times {
            ran,
            waited: waited.ok().flatten()?,
        })
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    use super::Times;

    /// Not known here: the wall time stands.
    pub fn times() -> Option<Times> {
        None
    }
}

#[cfg(test)]
mod tests;
