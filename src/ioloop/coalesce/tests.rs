use super::*;

const MAX: Duration = Duration::from_micros(50);

/// A poll with a waker on token 7, and a window opened by `waits` short waits.
fn open_window(max: Duration, waits: usize) -> (Poll, mio::Waker, Coalesce) {
    let poll = Poll::new().unwrap();
    let waker = mio::Waker::new(poll.registry(), mio::Token(7)).unwrap();
    let mut c = Coalesce::new(max);
    for _ in 0..waits {
        c.learn(Duration::ZERO);
    }
    assert!(!c.window().is_zero());
    (poll, waker, c)
}

/// The window after each of `n` waits of `waited`, in microseconds.
fn windows(c: &mut Coalesce, waited: Duration, n: usize) -> Vec<u128> {
    (0..n)
        .map(|_| {
            c.learn(waited);
            c.window().as_micros()
        })
        .collect()
}

#[test]
fn short_waits_grow_the_window_to_its_bound_and_long_ones_shrink_it_to_zero() {
    let mut c = Coalesce::new(MAX);
    assert_eq!(c.window(), Duration::ZERO, "an idle loop does not nap");
    assert_eq!(
        windows(&mut c, Duration::from_micros(30), 4),
        [10, 20, 40, 50]
    );
    assert_eq!(windows(&mut c, Duration::from_millis(5), 4), [25, 12, 0, 0]);
}

#[test]
fn events_that_come_just_after_the_bound_stop_the_napping() {
    // Events 55 us apart, the bound 50 us: a nap cannot collect two of them, so the window
    // that short waits had grown goes back to zero instead of delaying every event.
    let mut c = Coalesce::new(MAX);
    for _ in 0..3 {
        c.learn(Duration::from_micros(30));
    }
    for _ in 0..4 {
        c.learn(Duration::from_micros(55));
    }
    assert_eq!(c.window(), Duration::ZERO);
}

#[test]
fn without_a_bound_it_never_naps() {
    let mut c = Coalesce::new(Duration::ZERO);
    c.learn(Duration::ZERO);
    assert_eq!(c.window(), Duration::ZERO);
}

/// One wait, napping as `nap` allows, with an event already pending and a window of 10 µs (bound
/// 50): the tokens it returns, the window after it, and whether it napped.
fn wait_with_a_pending_event(nap: Nap) -> (Vec<mio::Token>, u128, bool) {
    let (mut poll, waker, mut c) = open_window(MAX, 1);
    assert_eq!(c.window().as_micros(), 10);
    let mut events = Events::with_capacity(8);
    waker.wake().unwrap();
    let napped = c.poll(&mut poll, &mut events, None, || nap).unwrap();
    let tokens = events.iter().map(|e| e.token()).collect();
    (tokens, c.window().as_micros(), napped)
}

#[test]
fn an_event_that_came_during_the_nap_is_returned_without_sleeping_in_the_poll() {
    // The nap collected it: no sleep in the poll, nothing learnt (a short sleep in the poll
    // would have doubled the window).
    assert_eq!(
        wait_with_a_pending_event(Nap::Yes),
        (vec![mio::Token(7)], 10, true)
    );
}

#[test]
fn a_wait_with_nothing_to_come_ends_at_its_timeout_and_closes_the_window() {
    let (mut poll, _waker, mut c) = open_window(MAX, 4);
    let mut events = Events::with_capacity(8);
    for _ in 0..3 {
        c.poll(
            &mut poll,
            &mut events,
            Some(Duration::from_millis(2)),
            || Nap::Yes,
        )
        .unwrap();
        assert!(events.is_empty());
    }
    assert_eq!(c.window(), Duration::ZERO, "long waits close the window");
}

#[test]
fn a_nap_never_outlasts_the_loop_timeout() {
    // A window of a minute and a timer due in 10 ms: the wait ends with the timer, not the
    // nap (the bound is loose: only a nap of the whole window would break it).
    let (mut poll, _waker, mut c) = open_window(Duration::from_secs(60), 40);
    let mut events = Events::with_capacity(8);
    let started = Instant::now();
    c.poll(
        &mut poll,
        &mut events,
        Some(Duration::from_millis(10)),
        || Nap::Yes,
    )
    .unwrap();
    assert!(started.elapsed() < Duration::from_secs(30));
}

#[test]
fn queued_work_is_never_delayed_by_a_nap() {
    // A zero timeout (yielded or bulk work waiting) polls at once and teaches nothing.
    let (mut poll, _waker, mut c) = open_window(Duration::from_secs(60), 40);
    let window = c.window();
    let mut events = Events::with_capacity(8);
    let started = Instant::now();
    let napped = c
        .poll(&mut poll, &mut events, Some(Duration::ZERO), || Nap::Yes)
        .unwrap();
    assert!(!napped);
    assert!(started.elapsed() < Duration::from_secs(30));
    assert_eq!(c.window(), window);
}

#[test]
fn a_loop_told_not_to_nap_sleeps_in_the_poll_at_once() {
    // `Nap::No` (the server waits for its pool): the wait goes straight to the poll,
    // which returns the pending event and, being short, doubles the window.
    assert_eq!(
        wait_with_a_pending_event(Nap::No),
        (vec![mio::Token(7)], 20, false)
    );
}

/// A poll with a waker (token 7) and a connected TCP socket polled for writability only
/// (token 8), whose first event is writable only; the window is open.
fn with_a_writable_socket() -> (Poll, mio::Waker, Coalesce, Vec<impl Sized>) {
    let (poll, waker, c) = open_window(MAX, 1);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut sock = mio::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    poll.registry()
        .register(&mut sock, mio::Token(8), mio::Interest::WRITABLE)
        .unwrap();
    let (peer, _) = listener.accept().unwrap();
    (poll, waker, c, vec![(sock, peer, listener)])
}

#[test]
fn with_few_clients_the_loop_naps_only_after_turns_that_fed_downloads() {
    let (mut poll, waker, mut c, _keep) = with_a_writable_socket();
    let mut events = Events::with_capacity(8);
    // A turn whose events were all writable (the loop was sending): the next wait naps, so
    // the waker's event is collected by the nap and nothing is learnt.
    assert!(!c.poll(&mut poll, &mut events, None, || Nap::No).unwrap());
    let tokens: Vec<_> = events.iter().map(|e| e.token()).collect();
    assert_eq!(tokens, [mio::Token(8)]);
    let window = c.window();
    waker.wake().unwrap();
    assert!(c
        .poll(&mut poll, &mut events, None, || Nap::Sending)
        .unwrap());
    assert_eq!(events.iter().count(), 1);
    assert_eq!(c.window(), window, "the nap collected the event");
    // That turn's event was readable (a command, as it were): the next wait sleeps in the
    // poll at once, and its short sleep doubles the window.
    waker.wake().unwrap();
    assert!(!c
        .poll(&mut poll, &mut events, None, || Nap::Sending)
        .unwrap());
    assert_eq!(events.iter().count(), 1);
    assert_eq!(c.window(), window * 2, "no nap after a readable turn");
}

#[test]
fn senders_counts_the_sources_of_the_latest_sixteen_events() {
    let mut s = Senders::default();
    assert_eq!(s.distinct(), 0);
    for t in [1, 2, 1, 3, 1] {
        s.note(mio::Token(t));
    }
    assert_eq!((s.distinct(), s.count(mio::Token(1))), (3, 3));
    // Sixteen events of one source push the others out.
    for _ in 0..16 {
        s.note(mio::Token(9));
    }
    assert_eq!((s.distinct(), s.count(mio::Token(1))), (1, 0));
}
