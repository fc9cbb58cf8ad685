//! The smallest FTP server: anonymous, read-only, one directory.
//!
//! What it teaches: a [`MemoryAuthorizer`] says who may log in (here anyone, as `anonymous`) and
//! with which permission letters (`elr`: change directory, list, retrieve); a [`Server`] bound
//! to an address lives in an [`IoLoop`], which runs until the process ends.
//!
//! Run with `cargo run --example minimal [PORT] [DIR]` (defaults: 2121 and `.`), then
//! `curl ftp://127.0.0.1:2121/`. Port 0 picks a free port; the line `listening on HOST:PORT`
//! says which.
//!
//! The other examples, from simple to involved:
//! `ftps` (TLS), `custom_authorizer` (your own logins), `hooks` (callbacks on events),
//! `throttled` (bandwidth limits), `memory_fs` (a filesystem that is not the disk) and `embed`
//! (the server inside your own `mio::Poll`).

use std::io::Write;
use std::sync::Arc;

use ftpdlib::{Config, IoLoop, MemoryAuthorizer, Server, TokenRange};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let port: u16 = args.next().map_or(Ok(2121), |p| p.parse())?;
    let dir = args.next().unwrap_or_else(|| ".".into());

    let mut auth = MemoryAuthorizer::new();
    auth.add_anonymous(&dir, "elr")?;
    let config = Config::new(Arc::new(auth));

    let mut ioloop = IoLoop::new()?;
    let addr = ([127, 0, 0, 1], port).into();
    let mut server = Server::bind(config, addr, ioloop.registry(), TokenRange::default())?;
    println!("listening on {}", server.local_addr());
    std::io::stdout().flush()?;
    ioloop.run(&mut server)?;
    Ok(())
}
