//! Where a large upload's writes run: on the loop while it is alone and its writes are fast,
//! on the pool when several run at once or the writes turn slow.

use std::time::Duration;

use super::*;

#[test]
fn a_lone_fast_upload_writes_on_the_loop_several_or_slow_ones_on_the_pool() {
    let t = WriteTiming::default();
    t.active.set(1);
    assert!(!t.to_pool(), "one upload, no slow write yet");
    t.active.set(2);
    assert!(t.to_pool(), "two large uploads at once");
    t.active.set(1);
    for _ in 0..40 {
        t.record(Duration::from_millis(3));
    }
    assert!(t.to_pool(), "writes held by dirty-page throttling");
    for _ in 0..40 {
        t.record(Duration::from_micros(60));
    }
    assert!(!t.to_pool(), "fast again");
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
