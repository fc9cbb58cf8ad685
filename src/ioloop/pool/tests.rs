//! The blocking pool under a real `mio::Poll`: results come back through the waker to the
//! handler that offloaded the job, on a worker thread; a panicking job still answers; a result
//! for a handler that closed meanwhile is dropped; without a pool, jobs run inline.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mio::event::Source;
use mio::net::TcpListener;
use mio::{Events, Interest, Poll};

use super::super::{ConnId, Context, Dispatcher, Flow, Handler, TokenRange};

#[derive(Debug)]
enum Msg {
    /// Offload a job that answers `Done(n, thread name)`; `panic` makes it panic.
    Go {
        n: u32,
        panic: bool,
    },
    Done(u32, String),
    Lost,
    Close,
}

/// A handler that only offloads work and records what comes back.
#[derive(Debug)]
struct Worker {
    sock: TcpListener,
    seen: Arc<Mutex<Vec<String>>>,
}

impl Handler for Worker {
    type Msg = Msg;
    type Timer = ();

    fn source(&mut self) -> &mut dyn Source {
        &mut self.sock
    }
    fn interest(&self) -> Interest {
        Interest::READABLE
    }
    fn readable(&mut self, _cx: &mut Context<'_, Self>) -> Flow {
        Flow::Continue
    }
    fn writable(&mut self, _cx: &mut Context<'_, Self>) -> Flow {
        Flow::Continue
    }
    fn timer(&mut self, _kind: (), _cx: &mut Context<'_, Self>) -> Flow {
        Flow::Continue
    }
    fn resume(&mut self, _cx: &mut Context<'_, Self>) -> Flow {
        Flow::Continue
    }
    fn message(&mut self, msg: Msg, cx: &mut Context<'_, Self>) -> Flow {
        let record = match msg {
            Msg::Go { n, panic } => {
                cx.offload(
                    move || {
                        assert!(!panic, "job {n} panics on purpose");
                        let name = std::thread::current().name().unwrap_or("").to_owned();
                        Msg::Done(n, name)
                    },
                    Msg::Lost,
                );
                return Flow::Continue;
            }
            Msg::Done(n, thread) => format!("done {n} on {thread}"),
            Msg::Lost => "lost".to_owned(),
            Msg::Close => return Flow::Close,
        };
        if let Ok(mut seen) = self.seen.lock() {
            seen.push(record);
        }
        Flow::Continue
    }
    fn closed(&mut self, _cx: &mut Context<'_, Self>) {}
    fn state(&self) -> &'static str {
        "worker"
    }
}

struct Rig {
    poll: Poll,
    disp: Dispatcher<Worker>,
    seen: Arc<Mutex<Vec<String>>>,
}

impl Rig {
    fn new(threads: usize) -> Rig {
        let poll = Poll::new().unwrap();
        let mut disp = Dispatcher::new(TokenRange::new(10, 4));
        disp.start_pool(poll.registry(), threads).unwrap();
        Rig {
            poll,
            disp,
            seen: Arc::default(),
        }
    }

    fn spawn(&mut self) -> ConnId {
        let sock = TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let seen = Arc::clone(&self.seen);
        self.disp
            .insert(self.poll.registry(), Worker { sock, seen })
            .unwrap()
    }

    fn send(&mut self, to: ConnId, msg: Msg) {
        self.disp
            .send(self.poll.registry(), Instant::now(), to, msg);
    }

    /// Polls as a host does (events, then timers, sleeping as `next_timeout` says) until
    /// `want` records were seen (at most 5 s); returns them.
    fn run_until(&mut self, want: usize) -> Vec<String> {
        let mut events = Events::with_capacity(16);
        let limit = Instant::now() + Duration::from_secs(5);
        while self.seen.lock().unwrap().len() < want && Instant::now() < limit {
            let sleep = self.disp.next_timeout(Instant::now());
            let sleep = sleep.map_or(Duration::from_millis(100), |t| {
                t.min(Duration::from_millis(100))
            });
            self.poll.poll(&mut events, Some(sleep)).unwrap();
            for ev in events.iter() {
                self.disp
                    .handle_event(self.poll.registry(), ev, Instant::now());
            }
            self.disp
                .handle_timers(self.poll.registry(), Instant::now());
        }
        self.seen.lock().unwrap().clone()
    }
}

#[test]
fn results_come_back_to_their_handler_from_a_worker_thread() {
    let mut rig = Rig::new(2);
    assert_eq!(rig.disp.pool_load(), Some((2, 0)));
    let id = rig.spawn();
    for n in 0..20 {
        rig.send(id, Msg::Go { n, panic: false });
    }
    let mut seen = rig.run_until(20);
    assert_eq!(seen.len(), 20, "{seen:?}");
    seen.sort();
    for line in &seen {
        assert!(
            line.contains("on ftpdlib-blocking-"),
            "ran on the loop: {line}"
        );
    }
    let mut numbers: Vec<u32> = seen
        .iter()
        .map(|l| l.split(' ').nth(1).unwrap().parse().unwrap())
        .collect();
    numbers.sort_unstable();
    assert_eq!(numbers, (0..20).collect::<Vec<_>>());
}

#[test]
fn a_panicking_job_still_answers_and_the_pool_keeps_working() {
    let mut rig = Rig::new(1);
    let id = rig.spawn();
    rig.send(id, Msg::Go { n: 1, panic: true });
    rig.send(id, Msg::Go { n: 2, panic: false });
    let seen = rig.run_until(2);
    assert!(seen.contains(&"lost".to_owned()), "{seen:?}");
    assert!(seen.iter().any(|l| l.starts_with("done 2 ")), "{seen:?}");
}

#[test]
fn a_result_for_a_closed_handler_is_dropped() {
    let mut rig = Rig::new(1);
    let gone = rig.spawn();
    rig.send(gone, Msg::Go { n: 7, panic: false });
    rig.send(gone, Msg::Close);
    // The slot is reused by a new handler: the old result must not reach it.
    let fresh = rig.spawn();
    assert_eq!(fresh.key, gone.key);
    rig.send(fresh, Msg::Go { n: 8, panic: false });
    // One worker runs jobs in order, so job 7's result came back no later than job 8's.
    let seen = rig.run_until(1);
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert!(seen[0].starts_with("done 8 "), "{seen:?}");
}

#[test]
fn without_a_pool_jobs_run_inline_after_the_callback() {
    let mut rig = Rig::new(0);
    assert_eq!(rig.disp.pool_load(), None);
    let id = rig.spawn();
    rig.send(id, Msg::Go { n: 3, panic: false });
    // Delivered within `send`, with no poll: the job ran on this thread.
    let seen = rig.seen.lock().unwrap().clone();
    let me = std::thread::current().name().unwrap_or("").to_owned();
    assert_eq!(seen, [format!("done 3 on {me}")]);
}

#[test]
fn the_pool_takes_the_last_token_and_leaves_the_rest_to_handlers() {
    let mut rig = Rig::new(1);
    let ids: Vec<_> = (0..3).map(|_| rig.spawn()).collect();
    assert_eq!(ids.iter().map(|i| i.key).collect::<Vec<_>>(), [0, 1, 2]);
    let sock = TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let seen = Arc::clone(&rig.seen);
    let full = rig.disp.insert(rig.poll.registry(), Worker { sock, seen });
    assert!(full.is_err(), "the waker's token was given to a handler");
}

/// Polls `pool`'s waker until it has `want` results (at most 5 s); returns them.
fn collect(poll: &mut Poll, pool: &mut super::Pool<u32>, want: usize) -> Vec<u32> {
    let mut events = Events::with_capacity(4);
    let mut got = Vec::new();
    let limit = Instant::now() + Duration::from_secs(5);
    while got.len() < want && Instant::now() < limit {
        poll.poll(&mut events, Some(Duration::from_millis(50)))
            .unwrap();
        got.extend(pool.take_done().into_iter().map(|(_, n)| n));
    }
    got
}

/// Holds `m` on another thread until the returned sender is dropped or sent to.
fn hold<T: Send + 'static>(m: Arc<super::Inner<T>>, queue: bool) -> std::sync::mpsc::Sender<()> {
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let (held_tx, held_rx) = std::sync::mpsc::channel::<()>();
    std::thread::spawn(move || {
        let _guard = if queue {
            (Some(super::lock(&m.queue)), None)
        } else {
            (None, Some(super::lock(&m.done)))
        };
        let _ = held_tx.send(());
        let _ = rx.recv_timeout(Duration::from_secs(10));
    });
    held_rx.recv_timeout(Duration::from_secs(5)).unwrap();
    tx
}

/// A pool of one worker on its own poll, and an owner for its jobs.
fn one_worker() -> (Poll, super::Pool<u32>, ConnId) {
    let poll = Poll::new().unwrap();
    let pool = super::Pool::<u32>::new(
        1,
        poll.registry(),
        mio::Token(99),
        None,
        super::WorkerPriority::Low,
    )
    .unwrap();
    (poll, pool, ConnId { key: 0, gen: 0 })
}

#[test]
fn the_loop_hands_over_later_when_a_worker_holds_the_queue() {
    let (mut poll, mut pool, owner) = one_worker();
    let release = hold(Arc::clone(&pool.inner), true);
    // With the lock held elsewhere, submit returns at once and keeps the job.
    pool.submit(owner, Box::new(|| 41), 0);
    assert!(pool.stalled(), "the job was not kept in the backlog");
    assert_eq!(pool.queued(), 1);
    assert!(pool.take_done().is_empty());
    drop(release);
    // The dispatcher comes back (within RETRY): the backlog goes to the worker.
    let limit = Instant::now() + Duration::from_secs(5);
    while pool.stalled() && Instant::now() < limit {
        pool.take_done();
        std::thread::yield_now();
    }
    assert!(!pool.stalled());
    assert_eq!(collect(&mut poll, &mut pool, 1), [41]);
    assert_eq!(pool.queued(), 0);
}

#[test]
fn results_behind_a_held_lock_are_collected_on_the_next_try() {
    let (mut poll, mut pool, owner) = one_worker();
    let release = hold(Arc::clone(&pool.inner), false);
    pool.submit(owner, Box::new(|| 7), 0);
    // The worker is stuck pushing its result; the loop does not wait for it.
    assert!(pool.take_done().is_empty());
    assert!(pool.stalled(), "a missed collection was not remembered");
    drop(release);
    assert_eq!(collect(&mut poll, &mut pool, 1), [7]);
    assert!(!pool.stalled());
}

#[test]
fn a_job_counts_as_out_until_its_result_is_taken() {
    // What `Server::may_nap` asks: while a job is out, the loop must be ready for its result.
    let mut rig = Rig::new(1);
    let id = rig.spawn();
    assert!(!rig.disp.pool_busy(), "no job yet");
    rig.send(id, Msg::Go { n: 4, panic: false });
    assert!(rig.disp.pool_busy(), "the job was handed over");
    let seen = rig.run_until(1);
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert!(!rig.disp.pool_busy(), "its result was delivered");
}
