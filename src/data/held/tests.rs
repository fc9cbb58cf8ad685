//! What a write cost its thread: sleeps count, waits for a CPU do not.

use super::*;

/// A thread that sleeps is not waiting for a CPU: the sleep counts in full, and as sleep,
/// as a write sleeping in the kernel's throttling must.
#[test]
fn a_sleep_counts_as_held_and_slept() {
    let held = Held::start();
    std::thread::sleep(Duration::from_millis(20));
    let cost = held.stop();
    assert!(cost.held >= Duration::from_millis(20), "{cost:?}");
    assert!(cost.slept >= Duration::from_millis(19), "{cost:?}");
}

/// Nanoseconds this thread has run (the first field of `schedstat`).
#[cfg(target_os = "linux")]
fn ran() -> u64 {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap();
    text.split_ascii_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

/// Two threads pinned to one CPU, both computing: the measured one waits for the CPU about
/// half of the time, and that half is not counted (as a worker in the idle class waiting
/// behind the loop must not look slow).
#[cfg(target_os = "linux")]
#[test]
fn a_wait_for_the_cpu_does_not_count() {
    use rustix::thread::{sched_getaffinity, sched_setaffinity, CpuSet};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    let mine = sched_getaffinity(None).unwrap();
    let cpu = (0..CpuSet::MAX_CPU).find(|&c| mine.is_set(c)).unwrap();
    let pin = move || {
        let mut one = CpuSet::new();
        one.set(cpu);
        sched_setaffinity(None, &one).unwrap();
    };
    pin();
    let stop = Arc::new(AtomicBool::new(false));
    let rival = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            pin();
            let deadline = Instant::now() + Duration::from_secs(10);
            while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                std::hint::spin_loop();
            }
        })
    };
    let wall = Instant::now();
    let held = Held::start();
    let until = ran() + 40_000_000;
    let deadline = Instant::now() + Duration::from_secs(10);
    while ran() < until && Instant::now() < deadline {
        std::hint::spin_loop();
    }
    let cost = held.stop();
    let wall = wall.elapsed();
    stop.store(true, Ordering::Relaxed);
    rival.join().unwrap();
    sched_setaffinity(None, &mine).unwrap();
    assert!(cost.held >= Duration::from_millis(40), "{cost:?}");
    assert!(cost.held * 5 < wall * 4, "held {cost:?} of {wall:?}");
    assert!(
        cost.slept < Duration::from_millis(5),
        "computing is not sleeping: {cost:?}"
    );
}
