//! Callbacks: run your own code when users log in and when uploads finish.
//!
//! What it teaches: implement [`Hooks`] (every method has a default that does nothing) and put
//! it in [`Config::hooks`] with [`ConfigBuilder::hooks`]. The server calls the hooks on its
//! event-loop thread at the moment each thing happens, e.g. `on_file_received` once an upload
//! is complete and the file closed, just before the client gets `226`. A hook must be quick:
//! while it runs, no other client is served (send slow work to another thread).
//!
//! Run with `cargo run --example hooks [PORT] [DIR]` (defaults: 2121 and `.`), log in as
//! `user` / `pass` (who may upload into DIR), and watch the output while you upload, e.g.
//! `curl -T Cargo.toml ftp://user:pass@127.0.0.1:2121/`.
//!
//! [`ConfigBuilder::hooks`]: ftpdlib::ConfigBuilder::hooks

use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;

use ftpdlib::{Config, Hooks, IoLoop, MemoryAuthorizer, Server, SessionInfo, TokenRange};

/// Prints what happens, one line per event.
#[derive(Debug)]
struct Printer;

/// Writes one line and flushes, so that a pipe sees it at once. Errors are ignored: a hook
/// that panics would take the server down.
fn say(line: std::fmt::Arguments<'_>) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

impl Hooks for Printer {
    fn on_connect(&self, peer: SocketAddr) {
        say(format_args!("connect {peer}"));
    }
    fn on_login(&self, s: &SessionInfo<'_>) {
        say(format_args!("login {} from {}", s.user, s.peer));
    }
    fn on_login_failed(&self, s: &SessionInfo<'_>) {
        say(format_args!("failed login {:?} from {}", s.user, s.peer));
    }
    fn on_file_received(&self, _s: &SessionInfo<'_>, path: &str, bytes: u64) {
        say(format_args!("received {path} {bytes} bytes"));
    }
    fn on_incomplete_file_received(&self, _s: &SessionInfo<'_>, path: &str, bytes: u64) {
        say(format_args!("incomplete upload {path} {bytes} bytes"));
    }
    fn on_file_sent(&self, _s: &SessionInfo<'_>, path: &str, bytes: u64) {
        say(format_args!("sent {path} {bytes} bytes"));
    }
    fn on_logout(&self, s: &SessionInfo<'_>) {
        say(format_args!("logout {}", s.user));
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let port: u16 = args.next().map_or(Ok(2121), |p| p.parse())?;
    let dir = args.next().unwrap_or_else(|| ".".into());

    let mut auth = MemoryAuthorizer::new();
    auth.add_user("user", "pass", &dir, "elradfmw")?;
    let config = Config::builder(Arc::new(auth)).hooks(Printer).build()?;

    let mut ioloop = IoLoop::new()?;
    let addr = ([127, 0, 0, 1], port).into();
    let mut server = Server::bind(config, addr, ioloop.registry(), TokenRange::default())?;
    println!("listening on {}", server.local_addr());
    std::io::stdout().flush()?;
    ioloop.run(&mut server)?;
    Ok(())
}
