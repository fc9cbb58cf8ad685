//! The workers' scheduling class: the rule that tells a starved worker, the class the workers
//! get on the loop's first look, and the lift when other threads keep every core busy.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::Poll;

use super::super::Pool;
use super::{os, starved, Sample, WorkerPriority, WATCH};
use crate::ioloop::ConnId;
use crate::metrics::LoopMeters;

fn sample(at: Instant, ran_ms: u64, runnable: bool) -> Sample {
    Sample {
        at,
        ran: ran_ms * 1_000_000,
        runnable,
    }
}

#[test]
fn starved_means_runnable_and_hardly_run() {
    let t0 = Instant::now();
    let t1 = t0 + Duration::from_millis(20);
    // Runnable, ran 0.5 ms of 20: starved.
    assert!(starved(
        sample(t0, 0, true),
        Sample {
            ran: 500_000,
            ..sample(t1, 0, true)
        }
    ));
    // Ran 5 ms of 20: it gets its turns, as under our own load.
    assert!(!starved(sample(t0, 0, true), sample(t1, 5, true)));
    // Asleep or blocked (a slow disk): not a CPU problem.
    assert!(!starved(sample(t0, 0, true), sample(t1, 0, false)));
    // Too short a window to tell.
    assert!(!starved(
        sample(t0, 0, true),
        sample(t0 + WATCH / 4, 0, true)
    ));
}

/// Field `n` (1-based, as in proc(5)) of a thread's `stat`.
fn stat_field(tid: i32, n: usize) -> i64 {
    let text = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).unwrap();
    let rest = text.rsplit_once(')').unwrap().1;
    rest.split_whitespace().nth(n - 3).unwrap().parse().unwrap()
}

/// A pool of `threads` workers whose ids the loop's watch has learned, counting in `meters`.
fn pool_with(
    threads: usize,
    priority: WorkerPriority,
    meters: Option<LoopMeters>,
) -> (Poll, Pool<u32>, Vec<i32>) {
    let poll = Poll::new().unwrap();
    let mut pool =
        Pool::<u32>::new(threads, poll.registry(), mio::Token(99), meters, priority).unwrap();
    // The loop's first look: the workers have all started (`Pool::new` waits for them).
    pool.watch(Instant::now());
    let tids = pool.watch.tids().to_vec();
    assert_eq!(tids.len(), threads, "the workers did not start");
    (poll, pool, tids)
}

/// [`pool_with`], uncounted.
fn pool(threads: usize, priority: WorkerPriority) -> (Poll, Pool<u32>, Vec<i32>) {
    pool_with(threads, priority, None)
}

const SCHED_OTHER: i64 = 0;
const SCHED_IDLE: i64 = 5;

#[test]
fn low_keeps_the_workers_in_the_normal_class_at_nice_5() {
    let (_poll, _pool, tids) = pool(2, WorkerPriority::Low);
    for tid in tids {
        assert_eq!(stat_field(tid, 41), SCHED_OTHER, "policy of worker {tid}");
        assert_eq!(stat_field(tid, 19), 5, "nice of worker {tid}");
    }
}

#[test]
fn idle_moves_the_workers_to_the_idle_class_where_they_can_be_lifted() {
    let (_poll, _pool, tids) = pool(2, WorkerPriority::Idle);
    let want = if os::can_lift() {
        SCHED_IDLE
    } else {
        SCHED_OTHER
    };
    for tid in tids {
        assert_eq!(stat_field(tid, 41), want, "policy of worker {tid}");
        assert_eq!(stat_field(tid, 19), 5, "nice of worker {tid}");
    }
}

/// Threads that keep every core busy until dropped (10 s at most).
struct Hogs(Arc<AtomicBool>);

impl Hogs {
    /// Returns once every hog runs.
    fn start() -> Hogs {
        let on = Arc::new(AtomicBool::new(true));
        let running = Arc::new(AtomicUsize::new(0));
        // Two per core, so that every core stays busy however the kernel spreads them.
        let hogs = 2 * std::thread::available_parallelism().map_or(2, |n| n.get());
        for _ in 0..hogs {
            let (on, running) = (Arc::clone(&on), Arc::clone(&running));
            std::thread::spawn(move || {
                running.fetch_add(1, Ordering::Relaxed);
                let limit = Instant::now() + Duration::from_secs(10);
                while on.load(Ordering::Relaxed) && Instant::now() < limit {
                    std::hint::spin_loop();
                }
            });
        }
        let limit = Instant::now() + Duration::from_secs(5);
        while running.load(Ordering::Relaxed) < hogs && Instant::now() < limit {
            std::thread::yield_now();
        }
        Hogs(on)
    }
}

impl Drop for Hogs {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Relaxed);
    }
}

#[test]
fn a_worker_starved_by_busy_cores_is_lifted_and_finishes() {
    if !os::can_lift() {
        eprintln!("skipped: this process may not lift a thread from the idle class");
        return;
    }
    let meters = crate::metrics::Metrics::new().loop_meters();
    let (poll, mut pool, tids) = pool_with(1, WorkerPriority::Idle, Some(meters.clone()));
    let hogs = Hogs::start();
    // A job that needs 50 ms of CPU (10 s at most): in the idle class, behind the hogs, it
    // stays runnable and gets almost none.
    pool.submit(
        ConnId { key: 0, gen: 0 },
        Box::new(|| {
            let ran = || {
                let text = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap();
                text.split_whitespace()
                    .next()
                    .unwrap()
                    .parse::<u64>()
                    .unwrap()
            };
            let (start, limit) = (ran(), Instant::now() + Duration::from_secs(10));
            while ran() - start < 50_000_000 && Instant::now() < limit {
                std::hint::spin_loop();
            }
            7
        }),
        0,
    );
    let limit = Instant::now() + Duration::from_secs(8);
    while pool.watch.lifts == 0 && Instant::now() < limit {
        pool.watch(Instant::now());
        std::thread::sleep(WATCH / 2);
    }
    assert_eq!(pool.watch.lifts, 1, "the starved worker was not lifted");
    assert_eq!(meters.pool_lifts.get(), 1, "ftpdlib_pool_lifts_total");
    assert_eq!(stat_field(tids[0], 41), SCHED_OTHER);
    drop(hogs);
    let mut done = Vec::new();
    let limit = Instant::now() + Duration::from_secs(5);
    while done.is_empty() && Instant::now() < limit {
        done.extend(pool.take_done().into_iter().map(|(_, n)| n));
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(done, [7]);
    drop(poll);
}
