//! An FTP server and an echo service sharing one `mio::Poll` that this program owns.
//!
//! The echo service uses tokens below 2^16; the FTP server claims `[2^16, 2^17)`. Each event goes
//! to whoever owns its token, the FTP server's timers are folded into the poll timeout, and
//! `handle_timers` runs after every poll. Run with `cargo run --example embed`, then try
//! `nc 127.0.0.1 7007` (echo) and `curl ftp://127.0.0.1:2121/` (FTP) at the same time.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ftpdlib::{Config, MemoryAuthorizer, Server, TokenRange};
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};

const ECHO_LISTENER: Token = Token(0);

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut poll = Poll::new()?;

    // The host's own service: an echo server.
    let mut echo = TcpListener::bind("127.0.0.1:7007".parse()?)?;
    poll.registry()
        .register(&mut echo, ECHO_LISTENER, Interest::READABLE)?;
    let mut clients: HashMap<Token, TcpStream> = HashMap::new();
    let mut next_token = 1;

    // The FTP server, anonymous read-only on the temp directory.
    let mut auth = MemoryAuthorizer::new();
    auth.add_anonymous(std::env::temp_dir(), "elr")?;
    let listener = std::net::TcpListener::bind("127.0.0.1:2121")?;
    let mut ftp = Server::new(
        Config::new(Arc::new(auth)),
        listener,
        poll.registry(),
        TokenRange::new(1 << 16, 1 << 16),
    )?;
    println!("echo on 127.0.0.1:7007, ftp on {}", ftp.local_addr());

    let mut events = Events::with_capacity(256);
    loop {
        let timeout = ftp
            .next_timeout(Instant::now())
            .map(|t| t.min(Duration::from_secs(60)));
        match poll.poll(&mut events, timeout) {
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
                    let t = Token(next_token);
                    next_token += 1;
                    poll.registry().register(&mut sock, t, Interest::READABLE)?;
                    clients.insert(t, sock);
                }
            } else if let Some(sock) = clients.get_mut(&token) {
                let mut buf = [0u8; 4096];
                let mut done = false;
                loop {
                    match sock.read(&mut buf) {
                        Ok(0) => {
                            done = true;
                            break;
                        }
                        // A toy: a short echo is written in one go on loopback.
                        Ok(n) => done |= sock.write_all(&buf[..n]).is_err(),
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        Err(_) => {
                            done = true;
                            break;
                        }
                    }
                }
                if done {
                    if let Some(mut s) = clients.remove(&token) {
                        poll.registry().deregister(&mut s)?;
                    }
                }
            }
        }
        ftp.handle_timers(poll.registry(), now);
    }
}
