//! Interactive first: a bulk handler's events wait for the end of the turn, after every
//! interactive handler's, and a bulk handler that keeps yielding never starves the others.

use std::io::Write;
use std::net::TcpStream as StdStream;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mio::event::Source;
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll};

use super::super::{Context, Dispatcher, Flow, Handler, TokenRange};

/// A socket that records each callback; `bulk` says which kind it is; a bulk one yields
/// `spins` times, as a long transfer would.
#[derive(Debug)]
struct Probe {
    sock: TcpStream,
    name: &'static str,
    bulk: bool,
    spins: u32,
    log: Arc<Mutex<Vec<&'static str>>>,
}

impl Handler for Probe {
    type Msg = ();
    type Timer = ();
    fn source(&mut self) -> &mut dyn Source {
        &mut self.sock
    }
    fn interest(&self) -> Interest {
        Interest::READABLE
    }
    fn readable(&mut self, _cx: &mut Context<'_, Self>) -> Flow {
        self.log.lock().unwrap().push(self.name);
        if self.spins > 0 {
            self.spins -= 1;
            return Flow::Yield;
        }
        Flow::Continue
    }
    fn writable(&mut self, _cx: &mut Context<'_, Self>) -> Flow {
        Flow::Continue
    }
    fn timer(&mut self, _kind: (), _cx: &mut Context<'_, Self>) -> Flow {
        Flow::Continue
    }
    fn message(&mut self, _msg: (), _cx: &mut Context<'_, Self>) -> Flow {
        Flow::Continue
    }
    fn resume(&mut self, cx: &mut Context<'_, Self>) -> Flow {
        self.readable(cx)
    }
    fn closed(&mut self, _cx: &mut Context<'_, Self>) {}
    fn bulk(&self) -> bool {
        self.bulk
    }
}

/// A connected pair: the server side for the dispatcher, the client side to make it readable.
fn pair(listener: &TcpListener) -> (TcpStream, StdStream) {
    let client = StdStream::connect(listener.local_addr().unwrap()).unwrap();
    let limit = Instant::now() + Duration::from_secs(5);
    loop {
        if let Ok((server, _)) = listener.accept() {
            return (server, client);
        }
        assert!(Instant::now() < limit, "no connection to accept");
        std::thread::yield_now();
    }
}

#[test]
fn interactive_handlers_run_before_bulk_ones_in_a_turn() {
    let poll = Poll::new().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let log = Arc::new(Mutex::new(Vec::new()));
    let mut disp = Dispatcher::new(TokenRange::new(1, 8));
    let mut clients = Vec::new();
    // The bulk handler is registered first, and made readable first.
    for (name, bulk, spins) in [("bulk", true, 3), ("control", false, 0)] {
        let (sock, mut client) = pair(&listener);
        let log = Arc::clone(&log);
        let probe = Probe {
            sock,
            name,
            bulk,
            spins,
            log,
        };
        disp.insert(poll.registry(), probe).unwrap();
        client.write_all(b"x").unwrap();
        clients.push(client);
    }
    let mut poll = poll;
    let mut events = Events::with_capacity(8);
    let limit = Instant::now() + Duration::from_secs(5);
    while log.lock().unwrap().len() < 5 && Instant::now() < limit {
        let timeout = disp.next_timeout(Instant::now());
        poll.poll(&mut events, timeout.or(Some(Duration::from_millis(100))))
            .unwrap();
        let now = Instant::now();
        for ev in events.iter() {
            disp.handle_event(poll.registry(), ev, now);
        }
        disp.handle_timers(poll.registry(), now);
    }
    let seen = log.lock().unwrap().clone();
    // The control connection first, although its event came second; the bulk one then runs
    // once per turn (it yields), without the poll sleeping in between.
    assert_eq!(seen, ["control", "bulk", "bulk", "bulk", "bulk"]);
    assert_eq!(disp.next_timeout(Instant::now()), None);
}

/// A listener that stays out of the poll until a message asks for it (as a passive data
/// listener waits for its transfer command), then accepts once and closes.
#[derive(Debug)]
struct Late {
    listener: TcpListener,
    polled: bool,
    accepted: Arc<Mutex<u32>>,
}

impl Handler for Late {
    type Msg = ();
    type Timer = ();
    fn source(&mut self) -> &mut dyn Source {
        &mut self.listener
    }
    fn interest(&self) -> Interest {
        Interest::READABLE
    }
    fn polled(&self) -> bool {
        self.polled
    }
    fn readable(&mut self, _cx: &mut Context<'_, Self>) -> Flow {
        match self.listener.accept() {
            Ok(_) => {
                *self.accepted.lock().unwrap() += 1;
                Flow::Close
            }
            Err(_) => Flow::Continue,
        }
    }
    fn writable(&mut self, _cx: &mut Context<'_, Self>) -> Flow {
        Flow::Continue
    }
    fn timer(&mut self, _kind: (), _cx: &mut Context<'_, Self>) -> Flow {
        Flow::Continue
    }
    fn message(&mut self, _msg: (), _cx: &mut Context<'_, Self>) -> Flow {
        self.polled = true;
        Flow::Continue
    }
    fn resume(&mut self, cx: &mut Context<'_, Self>) -> Flow {
        self.readable(cx)
    }
    fn closed(&mut self, _cx: &mut Context<'_, Self>) {}
}

#[test]
fn an_unpolled_source_wakes_nobody_until_it_asks_for_the_poll() {
    let mut poll = Poll::new().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(Mutex::new(0));
    let mut disp = Dispatcher::new(TokenRange::new(1, 8));
    let late = Late {
        listener,
        polled: false,
        accepted: Arc::clone(&accepted),
    };
    let id = disp.insert(poll.registry(), late).unwrap();
    // On loopback the handshake is done when connect returns: the connection is queued.
    let _client = StdStream::connect(addr).unwrap();
    let mut events = Events::with_capacity(8);
    poll.poll(&mut events, Some(Duration::ZERO)).unwrap();
    assert!(events.is_empty(), "an unpolled listener was reported");
    // The message puts it in the poll, which reports the connection already waiting.
    disp.send(poll.registry(), Instant::now(), id, ());
    let limit = Instant::now() + Duration::from_secs(5);
    while *accepted.lock().unwrap() == 0 && Instant::now() < limit {
        poll.poll(&mut events, Some(Duration::from_millis(100)))
            .unwrap();
        for ev in events.iter() {
            disp.handle_event(poll.registry(), ev, Instant::now());
        }
    }
    assert_eq!(*accepted.lock().unwrap(), 1);
    assert!(disp.is_empty(), "the handler did not close");
}
