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

    /// Polls until `want` records were seen (at most 5 s); returns them.
    fn run_until(&mut self, want: usize) -> Vec<String> {
        let mut events = Events::with_capacity(16);
        let limit = Instant::now() + Duration::from_secs(5);
        while self.seen.lock().unwrap().len() < want && Instant::now() < limit {
            self.poll
                .poll(&mut events, Some(Duration::from_millis(100)))
                .unwrap();
            for ev in events.iter() {
                self.disp
                    .handle_event(self.poll.registry(), ev, Instant::now());
            }
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
