//! The dispatcher tested with a toy echo server (as pyftpdlib's `ioloop.py` docstring shows
//! one): accept, echo until `WouldBlock`, close on EOF, timers, messages and yields.

use std::io::{self, Read, Write};
use std::net::TcpStream as StdStream;
use std::time::{Duration, Instant};

use mio::event::Source;
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll};

use super::{Context, Dispatcher, Flow, Handler, TokenRange};

#[derive(Debug)]
enum Echo {
    Listener(TcpListener),
    Conn {
        sock: TcpStream,
        pending: Vec<u8>,
        /// Set by a message: prefix echoed data.
        prefix: Option<u8>,
        resumes: u32,
    },
}

#[derive(Debug, Clone, Copy)]
enum Tick {
    Bye,
}

impl Handler for Echo {
    type Msg = u8;
    type Timer = Tick;

    fn source(&mut self) -> &mut dyn Source {
        match self {
            Echo::Listener(l) => l,
            Echo::Conn { sock, .. } => sock,
        }
    }

    fn interest(&self) -> Interest {
        match self {
            Echo::Conn { pending, .. } if !pending.is_empty() => {
                Interest::READABLE | Interest::WRITABLE
            }
            _ => Interest::READABLE,
        }
    }

    fn readable(&mut self, cx: &mut Context<'_, Self>) -> Flow {
        match self {
            Echo::Listener(l) => loop {
                match l.accept() {
                    Ok((sock, _)) => {
                        let id = cx
                            .spawn(Echo::Conn {
                                sock,
                                pending: Vec::new(),
                                prefix: None,
                                resumes: 0,
                            })
                            .unwrap();
                        // Messages reach the new handler after this callback.
                        cx.send(id, b'>');
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Flow::Continue,
                    Err(e) => panic!("accept: {e}"),
                }
            },
            Echo::Conn {
                sock,
                pending,
                prefix,
                ..
            } => {
                let mut buf = [0u8; 1024];
                loop {
                    match sock.read(&mut buf) {
                        Ok(0) => return Flow::Close,
                        Ok(n) => {
                            if buf[..n].starts_with(b"later") {
                                cx.after(Duration::from_millis(1), Tick::Bye);
                            }
                            if buf[..n].starts_with(b"yield") {
                                cx.kick();
                            }
                            pending.extend(prefix.iter());
                            pending.extend_from_slice(&buf[..n]);
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        Err(_) => return Flow::Close,
                    }
                }
                self.writable(cx)
            }
        }
    }

    fn writable(&mut self, _cx: &mut Context<'_, Self>) -> Flow {
        if let Echo::Conn { sock, pending, .. } = self {
            while !pending.is_empty() {
                match sock.write(pending) {
                    Ok(n) => {
                        pending.drain(..n);
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(_) => return Flow::Close,
                }
            }
        }
        Flow::Continue
    }

    fn timer(&mut self, _kind: Tick, cx: &mut Context<'_, Self>) -> Flow {
        if let Echo::Conn { pending, .. } = self {
            pending.extend_from_slice(b"timer!");
        }
        self.writable(cx)
    }

    fn message(&mut self, msg: u8, _cx: &mut Context<'_, Self>) -> Flow {
        if let Echo::Conn { prefix, .. } = self {
            *prefix = Some(msg);
        }
        Flow::Continue
    }

    fn resume(&mut self, cx: &mut Context<'_, Self>) -> Flow {
        if let Echo::Conn {
            pending, resumes, ..
        } = self
        {
            *resumes += 1;
            pending.extend_from_slice(format!("resumed{resumes}").as_bytes());
        }
        self.writable(cx)
    }

    fn closed(&mut self, _cx: &mut Context<'_, Self>) {}
}

struct Rig {
    poll: Poll,
    events: Events,
    disp: Dispatcher<Echo>,
    client: StdStream,
}

impl Rig {
    fn new() -> Rig {
        let poll = Poll::new().unwrap();
        let listener = TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = listener.local_addr().unwrap();
        let mut disp = Dispatcher::new(TokenRange::new(10, 4));
        disp.insert(poll.registry(), Echo::Listener(listener))
            .unwrap();
        let client = StdStream::connect(addr).unwrap();
        client
            .set_read_timeout(Some(Duration::from_millis(20)))
            .unwrap();
        Rig {
            poll,
            events: Events::with_capacity(64),
            disp,
            client,
        }
    }

    /// Runs loop turns until `want` bytes arrived at the client (bounded: 500 turns).
    fn read_exact(&mut self, want: usize) -> Vec<u8> {
        let mut got = Vec::new();
        for _ in 0..500 {
            let timeout = self
                .disp
                .next_timeout(Instant::now())
                .map_or(Duration::from_millis(10), |t| {
                    t.min(Duration::from_millis(10))
                });
            self.poll.poll(&mut self.events, Some(timeout)).unwrap();
            let now = Instant::now();
            for ev in self.events.iter() {
                self.disp.handle_event(self.poll.registry(), ev, now);
            }
            self.disp.handle_timers(self.poll.registry(), now);
            let mut buf = [0u8; 256];
            if let Ok(n) = self.client.read(&mut buf) {
                got.extend_from_slice(&buf[..n]);
            }
            if got.len() >= want {
                return got;
            }
        }
        panic!("only got {:?}", String::from_utf8_lossy(&got));
    }
}

#[test]
fn echoes_with_message_prefix() {
    let mut rig = Rig::new();
    rig.client.write_all(b"hello").unwrap();
    assert_eq!(rig.read_exact(6), b">hello");
    assert_eq!(rig.disp.len(), 2);
}

#[test]
fn timers_fire_through_the_loop() {
    let mut rig = Rig::new();
    rig.client.write_all(b"later").unwrap();
    assert_eq!(rig.read_exact(12), b">latertimer!");
}

#[test]
fn kicked_handler_is_resumed_once_per_kick() {
    let mut rig = Rig::new();
    rig.client.write_all(b"yield").unwrap();
    assert_eq!(rig.read_exact(14), b">yieldresumed1");
    assert_eq!(rig.disp.next_timeout(Instant::now()), None);
}

#[test]
fn peer_close_frees_the_slot_and_range_is_enforced() {
    let mut rig = Rig::new();
    rig.client.write_all(b"x").unwrap();
    assert_eq!(rig.read_exact(2), b">x");
    rig.client.shutdown(std::net::Shutdown::Write).unwrap();
    for _ in 0..200 {
        if rig.disp.len() == 1 {
            break;
        }
        rig.poll
            .poll(&mut rig.events, Some(Duration::from_millis(10)))
            .unwrap();
        let now = Instant::now();
        for ev in rig.events.iter() {
            rig.disp.handle_event(rig.poll.registry(), ev, now);
        }
    }
    assert_eq!(rig.disp.len(), 1, "closed connection removed");
    // The range holds 4 tokens: the listener plus three more handlers at most.
    let registry = rig.poll.registry();
    for i in 0..4 {
        let l = TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let r = rig.disp.insert(registry, Echo::Listener(l));
        assert_eq!(r.is_ok(), i < 3, "insert {i}");
    }
}
