//! An FTP server and an echo service sharing one `mio::Poll` that this program owns.
//!
//! What it teaches: how to host a [`Server`] in your own event loop instead of an
//! [`ftpdlib::IoLoop`]. The host keeps its tokens below 2^16 and gives the server the block
//! `[2^16, 2^17)` ([`TokenRange`]); then, on every turn of the loop:
//! 1. sleep in `poll` no longer than [`Server::next_timeout`] allows (FTP timers: idle
//!    timeouts, throttling, the delay after a wrong password...);
//! 2. hand each event whose token the server [`owns`](Server::owns) to
//!    [`Server::handle_event`], and handle the others yourself;
//! 3. call [`Server::handle_timers`].
//!
//! Everything runs on one thread and nothing blocks: mio is edge-triggered, so the echo side
//! reads and writes until `WouldBlock` on every event, as the FTP side does.
//!
//! Run with `cargo run --example embed [FTP_PORT] [ECHO_PORT] [DIR]` (defaults: 2121, 7007 and
//! the temp directory, served read-only to `anonymous`), then try `nc 127.0.0.1 7007` and
//! `curl ftp://127.0.0.1:2121/` at the same time.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::sync::Arc;
use std::time::Instant;

use ftpdlib::{Config, MemoryAuthorizer, Server, TokenRange};
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};

const ECHO_LISTENER: Token = Token(0);

/// One echo client: its socket and the bytes not echoed yet.
struct Client {
    sock: TcpStream,
    pending: Vec<u8>,
}

impl Client {
    /// Reads and echoes until the socket would block; false once the client is gone.
    fn service(&mut self) -> bool {
        let mut buf = [0u8; 4096];
        loop {
            match self.sock.read(&mut buf) {
                Ok(0) => return false,
                Ok(n) => self.pending.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return false,
            }
        }
        while !self.pending.is_empty() {
            match self.sock.write(&self.pending) {
                Ok(n) => drop(self.pending.drain(..n)),
                // The rest goes out on the next (writable) event.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return false,
            }
        }
        true
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let ftp_port: u16 = args.first().map_or(Ok(2121), |p| p.parse())?;
    let echo_port: u16 = args.get(1).map_or(Ok(7007), |p| p.parse())?;
    let dir = args.get(2).map_or_else(std::env::temp_dir, Into::into);

    let mut poll = Poll::new()?;

    // The host's own service, on host tokens: an echo server.
    let mut echo = TcpListener::bind(([127, 0, 0, 1], echo_port).into())?;
    poll.registry()
        .register(&mut echo, ECHO_LISTENER, Interest::READABLE)?;
    let mut clients: HashMap<Token, Client> = HashMap::new();

    // The FTP server, anonymous read-only, on the tokens [2^16, 2^17).
    let mut auth = MemoryAuthorizer::new();
    auth.add_anonymous(dir, "elr")?;
    let listener = std::net::TcpListener::bind(("127.0.0.1", ftp_port))?;
    let tokens = TokenRange::new(1 << 16, 1 << 16);
    let mut ftp = Server::new(
        Config::new(Arc::new(auth)),
        listener,
        poll.registry(),
        tokens,
    )?;

    println!("echo listening on {}", echo.local_addr()?);
    println!("listening on {}", ftp.local_addr());
    io::stdout().flush()?;

    let mut events = Events::with_capacity(256);
    loop {
        match poll.poll(&mut events, ftp.next_timeout(Instant::now())) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => other?,
        }
        let now = Instant::now();
        for ev in events.iter() {
            let token = ev.token();
            if ftp.owns(token) {
                ftp.handle_event(poll.registry(), ev, now);
            } else if token == ECHO_LISTENER {
                while let Ok((mut sock, _)) = echo.accept() {
                    // The lowest free host token; never one of the FTP server's.
                    let Some(t) = (1..1 << 16).map(Token).find(|t| !clients.contains_key(t)) else {
                        continue; // all host tokens in use: drop the connection
                    };
                    let both = Interest::READABLE | Interest::WRITABLE;
                    poll.registry().register(&mut sock, t, both)?;
                    let pending = Vec::new();
                    clients.insert(t, Client { sock, pending });
                }
            } else if let Some(client) = clients.get_mut(&token) {
                if !client.service() {
                    if let Some(mut gone) = clients.remove(&token) {
                        poll.registry().deregister(&mut gone.sock)?;
                    }
                }
            }
        }
        ftp.handle_timers(poll.registry(), now);
    }
}
