//! The smallest FTP server: anonymous, read-only, sharing the current directory on port 2121.
//!
//! Run with `cargo run --example minimal [DIR] [PORT]`, then `curl ftp://127.0.0.1:2121/`.

use std::sync::Arc;

use ftpdlib::{Config, IoLoop, MemoryAuthorizer, Server, TokenRange};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args().nth(1).unwrap_or_else(|| ".".into());
    let port = std::env::args().nth(2).unwrap_or_else(|| "2121".into());
    let mut auth = MemoryAuthorizer::new();
    auth.add_anonymous(&dir, "elr")?;
    let mut ioloop = IoLoop::new()?;
    let addr = format!("127.0.0.1:{port}").parse()?;
    let mut server = Server::bind(
        Config::new(Arc::new(auth)),
        addr,
        ioloop.registry(),
        TokenRange::default(),
    )?;
    println!("listening on {}", server.local_addr());
    ioloop.run(&mut server)?;
    Ok(())
}
