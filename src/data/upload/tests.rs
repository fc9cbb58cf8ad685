//! Where a large upload's writes run: on the loop while it is alone and its writes are fast,
//! on the pool when several run at once or the writes turn slow.

use std::time::Duration;

use super::timing::{WriteTiming, WRITES};
use super::*;
use crate::data::held::Cost;

/// Records 40 writes that each held their thread `held_us`, `slept_us` of it off the CPU
/// (enough for the moving averages to settle).
fn record(t: &WriteTiming, held_us: u64, slept_us: u64) {
    let cost = Cost {
        held: Duration::from_micros(held_us),
        slept: Duration::from_micros(slept_us),
    };
    for _ in 0..40 {
        t.record(cost);
    }
}

#[test]
fn a_lone_fast_upload_writes_on_the_loop_several_or_slow_ones_on_the_pool() {
    let t = WriteTiming::default();
    t.active.set(1);
    assert!(!t.to_pool(), "one upload, no slow write yet");
    t.active.set(2);
    assert!(t.to_pool(), "two large uploads at once");
    t.active.set(1);
    record(&t, 3000, 2950);
    assert!(t.to_pool(), "writes put to sleep by dirty-page throttling");
    record(&t, 60, 0);
    assert!(!t.to_pool(), "fast again");
}

/// Writes that compute longer but do not sleep stay on the loop up to a millisecond each: the
/// pool's hand-offs would cost more than they save.
#[test]
fn writes_that_only_compute_longer_stay_on_the_loop_up_to_a_millisecond() {
    let t = WriteTiming::default();
    t.active.set(1);
    record(&t, 850, 10);
    assert!(!t.to_pool(), "850 µs of work per write, no sleep");
    record(&t, 1500, 10);
    assert!(t.to_pool(), "1.5 ms per write holds the loop too long");
}

/// Sleep is what the pool is for: writes that sleep a third of a millisecond each go there,
/// though they hold their thread for less than the 1 ms that computing alone may take.
#[test]
fn writes_that_sleep_go_to_the_pool_even_when_short() {
    let t = WriteTiming::default();
    t.active.set(1);
    record(&t, 400, 330);
    assert!(t.to_pool(), "400 µs writes, 330 µs of it asleep");
}

#[test]
fn the_count_of_large_uploads_follows_their_lives() {
    let before = WRITES.with(|t| t.active.get());
    let a = Active::new();
    let b = Active::new();
    assert_eq!(WRITES.with(|t| t.active.get()), before + 2);
    drop(a);
    drop(b);
    assert_eq!(WRITES.with(|t| t.active.get()), before);
}
