//! A filesystem that is not the disk: every file lives in memory.
//!
//! What it teaches: the server only ever touches files through the [`Filesystem`] trait, and
//! [`Config::filesystem`] (set with [`ConfigBuilder::filesystem`]) chooses which one each user
//! gets at login through a [`FilesystemFactory`]. `memfs.rs` implements both on a tree of
//! nodes keyed by path; LIST, NLST, MLSD, RETR (with REST), STOR, APPE, STOU, DELE, MKD, RMD,
//! RNFR/RNTO, SIZE, MDTM, MFMT and SITE CHMOD all work on it. Nothing reaches the disk, and
//! everything is gone when the program stops.
//!
//! Run with `cargo run --example memory_fs [PORT]` (default: 2121) and log in as `mem` / `mem`,
//! who may do everything: `curl -T Cargo.toml ftp://mem:mem@127.0.0.1:2121/`, then
//! `curl ftp://mem:mem@127.0.0.1:2121/`.
//!
//! [`Filesystem`]: ftpdlib::fs::Filesystem
//! [`FilesystemFactory`]: ftpdlib::fs::FilesystemFactory
//! [`ConfigBuilder::filesystem`]: ftpdlib::ConfigBuilder::filesystem

mod memfs;

use std::io::Write;
use std::sync::Arc;

use ftpdlib::{Config, IoLoop, MemoryAuthorizer, Server, TokenRange};
use memfs::MemFs;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port: u16 = std::env::args().nth(1).map_or(Ok(2121), |p| p.parse())?;

    let fs = MemFs::new();
    fs.put("README.txt", b"This file lives in memory only.\n")?;

    // The authorizer still wants an existing home directory; MemFs ignores it.
    let mut auth = MemoryAuthorizer::new();
    auth.add_user("mem", "mem", std::env::temp_dir(), "elradfmwMT")?;
    let config = Config::builder(Arc::new(auth)).filesystem(fs).build()?;

    let mut ioloop = IoLoop::new()?;
    let addr = ([127, 0, 0, 1], port).into();
    let mut server = Server::bind(config, addr, ioloop.registry(), TokenRange::default())?;
    println!("listening on {}", server.local_addr());
    std::io::stdout().flush()?;
    ioloop.run(&mut server)?;
    Ok(())
}
