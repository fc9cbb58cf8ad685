//! Where the pool's workers stand in the kernel's run queue, and the guard that keeps them
//! from starving there.
//!
//! The loop answers every session; the workers do what may take long (bcrypt, big listings,
//! large uploads' writes). When the cores are busy, the order in which the kernel runs them
//! is how long a NOOP waits. A nice value does not settle that order under Linux's EEVDF
//! scheduler: a task that has used more than its share of CPU (the loop, always busy) waits
//! behind one that has not, nice +5 or not, and a waking task goes to whichever core looks
//! least loaded. Measured under eight 8 MiB uploads on 2 cores: the loop was put off its core
//! about 2,500 times a second, a worker taking its place, and a NOOP waited 2.8 ms at p99.
//!
//! So on Linux the workers run in the **idle class** (`SCHED_IDLE`, [`WorkerPriority::Idle`]):
//! any normal task (the loop, a client on the same host) preempts them at once, and a core that
//! runs only them counts as free when the kernel places a waking task. Same load: NOOP p99
//! 1.5–2.2 ms, p50 halved, uploads/s unchanged; under eight LISTs of 10,000 entries p99 went
//! from 2.3 to 0.7 ms (docs/performance.md).
//!
//! **The guard.** An idle-class thread gets almost no CPU while normal programs keep every
//! core busy: with two CPU-bound processes on 2 cores, a bcrypt login took 20 s instead of
//! 0.1 s. So while the workers have work, the loop reads their scheduler statistics every
//! [`WATCH`] (`/proc/thread-self/schedstat` for the time on a CPU and `stat` for the state,
//! which each worker opens as it starts). A worker found runnable at the end of [`STRIKES`]
//! windows in a row, having run for 5% of each or less, lifts every worker to the normal
//! class, at nice +5, for [`HOLD`]; then they go back to the idle class. (The kernel adds to
//! a thread's waiting time only when it gets a CPU again, so a starved thread's shows nothing:
//! the state is what tells.) Our own load does not look like that for long: under eight
//! uploads from clients on the same 2 cores, idle workers ran 24% of a window or more nine
//! windows in ten, and three starved windows in a row happened about once in 10 s (which is
//! why it takes ten); another program hogging the cores is seen within 100 ms.
//!
//! Leaving the idle class needs `RLIMIT_NICE` to allow nice +5, or `CAP_SYS_NICE`. The pool
//! raises the limit when it may (as root with `CAP_SYS_RESOURCE`, before `--run-as` drops
//! privileges). Workers start in the normal class at nice +5; the loop moves them to the idle
//! class on its first turn (after the daemon dropped its privileges), and only if a throwaway
//! thread proved that a thread of this process can be lifted back. Where it cannot, or where
//! the statistics cannot be read, they stay at nice +5, as with [`WorkerPriority::Low`].

use std::fs::File;
use std::io;
use std::time::{Duration, Instant};

use prometheus_client::metrics::counter::Counter;

/// How much nicer than the loop the workers are in the normal class.
pub const NICER: i32 = 5;
/// How often the loop looks at its workers while they have work.
pub const WATCH: Duration = Duration::from_millis(10);
/// How long the workers stay in the normal class once one of them starved.
const HOLD: Duration = Duration::from_secs(5);
/// Starved windows in a row that lift the workers.
const STRIKES: u8 = 10;

/// The workers' scheduling class (`--blocking-priority`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum WorkerPriority {
    /// Linux's idle class, lifted to the normal class at nice +5 while another program would
    /// starve them (see the module docs). Elsewhere the same as `Low`.
    #[default]
    Idle,
    /// The normal class at nice +5.
    Low,
}

impl std::str::FromStr for WorkerPriority {
    type Err = String;
    fn from_str(s: &str) -> Result<WorkerPriority, String> {
        let choices = [("idle", WorkerPriority::Idle), ("low", WorkerPriority::Low)];
        crate::choice::one_of(s, &choices)
    }
}

/// Run on the loop as the pool starts: `Low` where the idle class cannot be watched; for
/// `Idle`, raises `RLIMIT_NICE` while it still may (before a privilege drop).
pub(super) fn prepare(wanted: WorkerPriority) -> WorkerPriority {
    if wanted == WorkerPriority::Low || !os::SUPPORTED {
        return WorkerPriority::Low;
    }
    if File::open("/proc/thread-self/schedstat").is_err() {
        log::info!("blocking pool: no scheduler statistics (/proc): workers run at nice +{NICER}");
        return WorkerPriority::Low;
    }
    os::raise_nice_limit();
    WorkerPriority::Idle
}

/// A worker as it reports to the loop when it starts.
#[derive(Debug)]
pub(super) struct Started {
    tid: i32,
    /// Its `schedstat` and `stat`, opened by the worker itself (so that the daemon holds them
    /// from its start, and after a privilege drop), for `Idle` only.
    files: Option<io::Result<[File; 2]>>,
}

/// The loops' scheduling class (`--loop-priority`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum LoopPriority {
    /// The normal class, nice 0: the loop shares the cores fairly with other programs.
    #[default]
    Normal,
    /// Linux's real-time class (see [`set_realtime`]).
    Realtime,
}

impl std::str::FromStr for LoopPriority {
    type Err = String;
    fn from_str(s: &str) -> Result<LoopPriority, String> {
        let choices = [
            ("normal", LoopPriority::Normal),
            ("realtime", LoopPriority::Realtime),
        ];
        crate::choice::one_of(s, &choices)
    }
}

/// Puts the calling thread (a loop) in Linux's real-time class, `SCHED_FIFO` at priority 1
/// (`--loop-priority realtime`): no normal task preempts it, so a session's command waits
/// for no other program's time slice. Threads it starts afterwards inherit the class; the
/// pool's workers leave it as they start. Needs `CAP_SYS_NICE` or `RLIMIT_RTPRIO` ≥ 1.
pub fn set_realtime() -> io::Result<()> {
    os::set_fifo()
}

/// Run by each worker as it starts: leaves a real-time class inherited from a loop, lowers its
/// nice value (the idle class is the loop's to set).
pub(super) fn enter(mode: WorkerPriority) -> Started {
    let tid = os::tid();
    os::set_idle(tid, false);
    // The nice value is per thread on Linux; it stays when the class changes.
    let _ = rustix::process::nice(NICER);
    let open = |name| File::open(format!("/proc/thread-self/{name}"));
    let files = (mode == WorkerPriority::Idle)
        .then(|| open("schedstat").and_then(|a| Ok([a, open("stat")?])));
    Started { tid, files }
}

/// One reading of a worker's statistics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Sample {
    pub at: Instant,
    /// Nanoseconds on a CPU.
    pub ran: u64,
    /// Runnable (running or waiting for a CPU), not sleeping or blocked.
    pub runnable: bool,
}

/// True if a worker that is runnable now hardly ran since the reading before.
pub(super) fn starved(before: Sample, after: Sample) -> bool {
    let span = after.at.saturating_duration_since(before.at).as_nanos();
    if span < WATCH.as_nanos() / 2 || !after.runnable {
        return false;
    }
    u128::from(after.ran.saturating_sub(before.ran)) * 20 <= span
}

/// A worker as the loop sees it.
#[derive(Debug)]
struct Watched {
    tid: i32,
    /// `schedstat` and `stat` of the thread, kept open.
    files: [File; 2],
    last: Option<Sample>,
    strikes: u8,
}

/// The loop's side of the guard: which workers it knows, when it looks next, and until when
/// they are lifted.
#[derive(Debug)]
pub(super) struct Watch {
    mode: WorkerPriority,
    threads: Vec<Watched>,
    /// The id of every worker handed to [`add`](Self::add).
    tids: Vec<i32>,
    next: Option<Instant>,
    lifted_until: Option<Instant>,
    /// Lifts so far (the first is logged at `info`, the rest at `debug`).
    pub lifts: u64,
    /// `ftpdlib_pool_lifts_total`, if counted.
    counter: Option<Counter>,
}

impl Watch {
    pub(super) fn new(mode: WorkerPriority, counter: Option<Counter>) -> Watch {
        Watch {
            mode,
            threads: Vec::new(),
            tids: Vec::new(),
            next: None,
            lifted_until: None,
            lifts: 0,
            counter,
        }
    }

    /// True while some of the `workers` have not been handed to [`add`](Self::add).
    pub(super) fn wants(&self, workers: usize) -> bool {
        self.tids.len() < workers
    }

    /// The ids of the workers handed to [`add`](Self::add).
    #[cfg(test)]
    pub(super) fn tids(&self) -> &[i32] {
        &self.tids
    }

    /// Moves a worker to the idle class and watches it, if it can be lifted back (the first
    /// call proves that) and its statistics can be read; else it stays at nice +5.
    pub(super) fn add(&mut self, worker: Started) {
        let tid = worker.tid;
        self.tids.push(tid);
        if self.mode == WorkerPriority::Idle && self.tids.len() == 1 && !os::can_lift() {
            log::info!(
                "blocking pool: this process may not move a thread back from the idle class \
                 (RLIMIT_NICE below {} and no CAP_SYS_NICE): workers run at nice +{NICER}",
                20 - NICER
            );
            self.mode = WorkerPriority::Low;
        }
        if self.mode != WorkerPriority::Idle {
            return;
        }
        match worker.files {
            Some(Ok(files)) if os::set_idle(tid, true) => self.threads.push(Watched {
                tid,
                files,
                last: None,
                strikes: 0,
            }),
            Some(Ok(_)) | None => {
                log::info!("blocking pool: worker {tid} stays at nice +{NICER}");
            }
            Some(Err(e)) => log::info!(
                "blocking pool: cannot watch worker {tid} ({e}): it stays at nice +{NICER}"
            ),
        }
    }

    /// When the loop must come back to look, if the workers have work and are in the idle
    /// class.
    pub(super) fn due(&self, busy: bool) -> Option<Instant> {
        if !busy || self.lifted_until.is_some() || self.threads.is_empty() {
            return None;
        }
        Some(self.next.unwrap_or_else(Instant::now))
    }

    /// Looks at the workers if it is time (see the module docs); `busy`: jobs are out.
    pub(super) fn check(&mut self, now: Instant, busy: bool) {
        if let Some(until) = self.lifted_until {
            if now < until {
                return;
            }
            self.lifted_until = None;
            for t in &mut self.threads {
                os::set_idle(t.tid, true);
            }
        }
        if !busy {
            // Once, when the last job came back (this runs every turn).
            if self.next.take().is_some() {
                for t in &mut self.threads {
                    t.last = None;
                    t.strikes = 0;
                }
            }
            return;
        }
        if self.next.is_some_and(|n| now < n) {
            return;
        }
        self.next = Some(now + WATCH);
        let mut lift = false;
        for t in &mut self.threads {
            let Some(sample) = os::read(&t.files, now) else {
                continue;
            };
            if let Some(before) = t.last {
                t.strikes = if starved(before, sample) {
                    t.strikes.saturating_add(1)
                } else {
                    0
                };
                lift |= t.strikes >= STRIKES;
            }
            t.last = Some(sample);
        }
        if lift {
            self.lift(now);
        }
    }

    /// Moves every worker to the normal class (at its nice +5) for [`HOLD`].
    fn lift(&mut self, now: Instant) {
        for t in &mut self.threads {
            os::set_idle(t.tid, false);
            t.last = None;
            t.strikes = 0;
        }
        self.lifted_until = Some(now + HOLD);
        self.lifts += 1;
        if let Some(c) = &self.counter {
            c.inc();
        }
        let text = "blocking pool: other programs kept the cores busy and the workers waited; \
                    they run in the normal class at nice +5 for the next 5 s";
        if self.lifts == 1 {
            log::info!("{text}");
        } else {
            log::debug!("{text}");
        }
    }
}

mod os;

#[cfg(test)]
mod tests;
