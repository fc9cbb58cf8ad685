//! Bandwidth limits, per data connection and per user.
//!
//! What it teaches: [`Config::write_limit`] and [`Config::read_limit`] cap each data
//! connection (downloads and uploads, in bytes per second); [`UserLimits`] set with
//! [`MemoryAuthorizer::set_limits`] cap *all* of one user's transfers together (and how many
//! sessions the user may open), so that opening more connections does not buy more bandwidth.
//! The server never sleeps to throttle: a connection over its budget waits on a timer while
//! the event loop serves everyone else.
//!
//! Run with `cargo run --example throttled [PORT] [DIR]` (defaults: 2121 and `.`). Log in as
//! `user` / `pass`: each download runs at 100 kB/s at most, and two at once share 150 kB/s;
//! uploads get 50 kB/s each, 100 kB/s together.

use std::io::Write;
use std::sync::Arc;

use ftpdlib::{Config, IoLoop, MemoryAuthorizer, Server, TokenRange, UserLimits};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let port: u16 = args.next().map_or(Ok(2121), |p| p.parse())?;
    let dir = args.next().unwrap_or_else(|| ".".into());

    let mut auth = MemoryAuthorizer::new();
    auth.add_user("user", "pass", &dir, "elradfmw")?;
    let per_user = UserLimits {
        max_sessions: Some(4),
        write_limit: 150_000, // downloads, all sessions together
        read_limit: 100_000,  // uploads, all sessions together
        ..UserLimits::default()
    };
    auth.set_limits("user", per_user)?;

    let config = Config::builder(Arc::new(auth))
        .write_limit(100_000) // each download
        .read_limit(50_000) // each upload
        .build()?;

    let mut ioloop = IoLoop::new()?;
    let addr = ([127, 0, 0, 1], port).into();
    let mut server = Server::bind(config, addr, ioloop.registry(), TokenRange::default())?;
    println!("listening on {}", server.local_addr());
    std::io::stdout().flush()?;
    ioloop.run(&mut server)?;
    Ok(())
}
