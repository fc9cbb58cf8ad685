//! The blocking-work pool: a few threads, owned by the loop, for work that may block.
//!
//! One thread serves every session, so a callback that blocks (hashing a bcrypt password for
//! 100 ms, reading a huge directory, a `stat` on a stalled network disk) makes every other
//! session wait. Such work is *offloaded*: a handler calls [`Context::offload`] with an owned
//! closure that returns a message; a worker thread runs it, and the loop delivers the message
//! to that handler as if another handler had sent it. It is libuv's thread pool under Node's
//! single thread, or asyncore's loop with a `deferToThread`.
//!
//! The rules that keep it simple and safe:
//! - **Nothing is shared.** A job owns its inputs (an `Arc` of the authorizer, a path, a
//!   password) and returns an owned result. No handler state crosses to a worker; the loop
//!   stays the only owner of every handler, so handlers need no locks.
//! - **Results come back through the poll.** Workers push results onto a queue and wake the
//!   loop (once per batch: only the push onto an empty queue wakes). The dispatcher sees the
//!   waker's token like any socket's and delivers the results in order. The waker is a socket
//!   pair, one byte per wake: mio allows a single `mio::Waker` per `Poll`, and the daemon's
//!   stop handle (or the embedding host) already has it; a socket pair is what `mio::Waker`
//!   itself falls back to on systems without `eventfd`.
//! - **Stale results are dropped.** A result is addressed to a [`ConnId`]; if that handler
//!   closed meanwhile (the slot's generation changed), the message is dropped like any message
//!   to a closed handler.
//! - **The loop never waits for a worker.** Workers run at a lower priority, so one that
//!   holds a lock can be descheduled for milliseconds while the cores are busy (measured: the
//!   loop blocked 3.2 ms on the queue's lock under eight uploads, and every session with it).
//!   The loop therefore only *tries* the locks: a job it cannot hand over waits in its own
//!   backlog, results it cannot collect stay where they are, and the dispatcher comes back
//!   within [`RETRY`] (a priority inversion turned into a short delay for one job).
//! - **Interactive work first.** On Linux the workers run in the kernel's idle class, so the
//!   loop (and every other normal task) preempts them at once; the loop lifts them to the
//!   normal class while another program would starve them (`priority.rs`).
//! - **No pool, same behaviour.** With zero threads a job runs inline, at once, and its result
//!   is delivered after the callback returns: the order of messages is the same, only the loop
//!   blocks (the right trade for tests and tiny embedded servers).
//!
//! [`Context::offload`]: super::Context::offload

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, TryLockError};
use std::thread::JoinHandle;
use std::time::Duration;

use mio::{Interest, Registry, Token};

use super::ConnId;
use crate::metrics::LoopMeters;

mod priority;
use priority::Watch;
pub use priority::{set_realtime, LoopPriority, WorkerPriority, NICER, WATCH};

/// A unit of blocking work: runs on a worker, returns the message for its owner.
pub type Job<M> = Box<dyn FnOnce() -> M + Send + 'static>;

/// A queued job: its owner, the work, and the message its owner gets if the work panics.
struct Task<M> {
    owner: ConnId,
    job: Job<M>,
    lost: M,
}

/// Jobs waiting for a worker, and whether the pool is shutting down.
struct Queue<M> {
    jobs: VecDeque<Task<M>>,
    closing: bool,
}

/// What the loop and the workers share.
struct Inner<M> {
    queue: Mutex<Queue<M>>,
    ready: Condvar,
    done: Mutex<Vec<(ConnId, M)>>,
    /// Jobs submitted and not yet taken by a worker (the backlog included).
    waiting: AtomicUsize,
    /// The workers' end of the wake-up socket pair.
    waker: UnixStream,
    /// Workers that started and that the loop's [`Watch`] has not taken yet.
    started: Mutex<Vec<priority::Started>>,
    /// Signalled as each worker starts.
    starting: Condvar,
    /// Queue depth and job times, if counted.
    meters: Option<LoopMeters>,
}

/// A lock that survives a panicking job: the data (a queue) stays consistent either way.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The loop's side of a lock: `None` if a worker holds it now.
fn try_lock<T>(m: &Mutex<T>) -> Option<MutexGuard<'_, T>> {
    match m.try_lock() {
        Ok(guard) => Some(guard),
        Err(TryLockError::Poisoned(p)) => Some(p.into_inner()),
        Err(TryLockError::WouldBlock) => None,
    }
}

/// How soon the loop comes back to a pool whose lock a worker held (see the module docs).
pub const RETRY: Duration = Duration::from_millis(1);

/// A fixed set of worker threads and their queues.
pub struct Pool<M: Send + 'static> {
    inner: Arc<Inner<M>>,
    workers: Vec<JoinHandle<()>>,
    token: Token,
    /// The loop's end of the wake-up socket pair, registered with `token`.
    wakeup: mio::net::UnixStream,
    /// Jobs the loop could not hand over yet: a worker held the queue's lock.
    backlog: VecDeque<Task<M>>,
    /// A worker held the results' lock when the loop came for them.
    missed: bool,
    /// Jobs submitted whose results have not been taken yet.
    outstanding: usize,
    /// The guard that lifts starved idle-class workers.
    watch: Watch,
}

impl<M: Send + 'static> std::fmt::Debug for Pool<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("threads", &self.workers.len())
            .field("queued", &self.queued())
            .field("token", &self.token)
            .finish()
    }
}

impl<M: Send + 'static> Pool<M> {
    /// Starts `threads` workers at `priority` whose results wake `registry`'s poll with
    /// `token`.
    pub fn new(
        threads: usize,
        registry: &Registry,
        token: Token,
        meters: Option<LoopMeters>,
        priority: WorkerPriority,
    ) -> io::Result<Pool<M>> {
        let mode = priority::prepare(priority);
        let inner_lifts = meters.as_ref().map(|m| m.pool_lifts.clone());
        let (loop_end, worker_end) = UnixStream::pair()?;
        loop_end.set_nonblocking(true)?;
        worker_end.set_nonblocking(true)?;
        let mut wakeup = mio::net::UnixStream::from_std(loop_end);
        registry.register(&mut wakeup, token, Interest::READABLE)?;
        let inner = Arc::new(Inner {
            queue: Mutex::new(Queue {
                jobs: VecDeque::new(),
                closing: false,
            }),
            ready: Condvar::new(),
            done: Mutex::new(Vec::new()),
            waiting: AtomicUsize::new(0),
            waker: worker_end,
            started: Mutex::new(Vec::with_capacity(threads)),
            starting: Condvar::new(),
            meters,
        });
        let mut workers = Vec::with_capacity(threads);
        for i in 0..threads {
            let inner = Arc::clone(&inner);
            let spawned = std::thread::Builder::new()
                .name(format!("ftpdlib-blocking-{i}"))
                .spawn(move || work(&inner, mode));
            match spawned {
                Ok(handle) => workers.push(handle),
                // Fewer threads than asked is still a pool; none at all is an error.
                Err(e) if workers.is_empty() => return Err(e),
                Err(e) => log::warn!("blocking pool: started {i} of {threads} threads: {e}"),
            }
        }
        // Each worker opens its own statistics files as it starts: wait for them (once, for 2 s
        // at most), so that every descriptor of the pool is open before the server listens.
        let count = workers.len();
        let started = lock(&inner.started);
        let waited = inner
            .starting
            .wait_timeout_while(started, Duration::from_secs(2), |s| s.len() < count);
        drop(waited);
        Ok(Pool {
            inner,
            workers,
            token,
            wakeup,
            backlog: VecDeque::new(),
            missed: false,
            outstanding: 0,
            watch: Watch::new(mode, inner_lifts),
        })
    }

    /// The token of the pool's waker (inside the dispatcher's range).
    pub fn token(&self) -> Token {
        self.token
    }

    /// Number of worker threads.
    pub fn threads(&self) -> usize {
        self.workers.len()
    }

    /// Jobs waiting for a worker (not counting those running).
    pub fn queued(&self) -> usize {
        self.inner.waiting.load(Ordering::Relaxed)
    }

    /// Queues `job` for a worker; its result will be addressed to `owner`, or `lost` if the
    /// job panics (so the owner is never left waiting).
    pub fn submit(&mut self, owner: ConnId, job: Job<M>, lost: M) {
        self.backlog.push_back(Task { owner, job, lost });
        self.outstanding += 1;
        self.inner.waiting.fetch_add(1, Ordering::Relaxed);
        if let Some(m) = &self.inner.meters {
            m.pool_queued.inc();
        }
        self.hand_over();
    }

    /// Moves the backlog onto the workers' queue, unless a worker holds its lock right now.
    fn hand_over(&mut self) {
        if self.backlog.is_empty() {
            return;
        }
        let Some(mut queue) = try_lock(&self.inner.queue) else {
            return;
        };
        let moved = self.backlog.len();
        queue.jobs.extend(self.backlog.drain(..));
        drop(queue);
        if moved == 1 {
            self.inner.ready.notify_one();
        } else {
            self.inner.ready.notify_all();
        }
    }

    /// True while a job waits in the backlog or results were left behind: the dispatcher
    /// calls [`take_done`](Self::take_done) again within [`RETRY`].
    pub fn stalled(&self) -> bool {
        self.missed || !self.backlog.is_empty()
    }

    /// The results that arrived since the last call, in completion order, and the backlog
    /// handed over. Drains the wake-up bytes first, so that a result pushed after this call
    /// wakes the loop again.
    pub fn take_done(&mut self) -> Vec<(ConnId, M)> {
        let mut buf = [0u8; 64];
        // Bounded: the workers write at most one byte per batch of results.
        for _ in 0..1024 {
            match self.wakeup.read(&mut buf) {
                Ok(n) if n > 0 => continue,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                _ => break,
            }
        }
        let done = match try_lock(&self.inner.done) {
            Some(mut done) => {
                self.missed = false;
                std::mem::take(&mut *done)
            }
            None => {
                self.missed = true;
                Vec::new()
            }
        };
        self.outstanding = self.outstanding.saturating_sub(done.len());
        self.hand_over();
        done
    }

    /// True while a job is out (queued, running, or its result not yet taken).
    pub fn busy(&self) -> bool {
        self.outstanding > 0
    }

    /// When the dispatcher must come back for [`watch`](Self::watch) (while jobs are out and
    /// the workers are in the idle class).
    pub fn watch_due(&self) -> Option<std::time::Instant> {
        self.watch.due(self.outstanding > 0)
    }

    /// Looks at the workers if it is time, lifting starved ones (see `priority.rs`). Cheap
    /// when it is not: the dispatcher calls it every turn.
    pub fn watch(&mut self, now: std::time::Instant) {
        if self.watch.wants(self.workers.len()) {
            let started = try_lock(&self.inner.started).map(|mut s| std::mem::take(&mut *s));
            for worker in started.unwrap_or_default() {
                self.watch.add(worker);
            }
        }
        self.watch.check(now, self.outstanding > 0);
    }
}

impl<M: Send + 'static> Drop for Pool<M> {
    /// Running jobs finish; queued ones are dropped unrun (their owners are closing too).
    fn drop(&mut self) {
        {
            let mut q = lock(&self.inner.queue);
            q.closing = true;
            if let Some(m) = &self.inner.meters {
                let dropped = q.jobs.len() + self.backlog.len();
                m.pool_queued.dec_by(i64::try_from(dropped).unwrap_or(0));
            }
            q.jobs.clear();
            self.backlog.clear();
        }
        self.inner.ready.notify_all();
        for w in self.workers.drain(..) {
            if w.join().is_err() {
                log::error!("a blocking-pool thread panicked");
            }
        }
    }
}

/// A worker: take a job, run it, hand the result back, wake the loop if it may be asleep.
fn work<M: Send + 'static>(inner: &Inner<M>, mode: WorkerPriority) {
    lock(&inner.started).push(priority::enter(mode));
    inner.starting.notify_all();
    loop {
        let Task { owner, job, lost } = {
            let mut q = lock(&inner.queue);
            loop {
                if q.closing {
                    return;
                }
                if let Some(task) = q.jobs.pop_front() {
                    break task;
                }
                q = inner.ready.wait(q).unwrap_or_else(PoisonError::into_inner);
            }
        };
        let started = std::time::Instant::now();
        inner.waiting.fetch_sub(1, Ordering::Relaxed);
        if let Some(m) = &inner.meters {
            m.pool_queued.dec();
        }
        // A panicking job must not take the worker (and the owner's answer) with it.
        let msg =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(job)).unwrap_or_else(|_| {
                log::error!("a blocking job panicked");
                lost
            });
        if let Some(m) = &inner.meters {
            m.pool_job.observe(started.elapsed().as_secs_f64());
        }
        let first = {
            let mut done = lock(&inner.done);
            done.push((owner, msg));
            done.len() == 1
        };
        if first {
            // WouldBlock: the pair is full of wake-ups the loop has not read yet; enough.
            match (&inner.waker).write(&[1]) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => log::error!("blocking pool: cannot wake the event loop: {e}"),
            }
        }
    }
}

#[cfg(test)]
mod tests;
