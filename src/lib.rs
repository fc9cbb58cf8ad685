//! # ftpdlib
//!
//! A fast, secure FTP server on one single-threaded [mio] event loop, in the spirit of Python's
//! pyftpdlib: usable as a daemon (`ftpdlib -w -d /srv/ftp`) and as a library that lives inside
//! your own `mio::Poll`.
//!
//! ```text
//! host Poll or IoLoop ──Event(token)──▶ Dispatcher = slab[ConnId] + Timers + outbox(Msg) + yield queue
//!    ▲ next_timeout() / handle_timers()      │ routes to
//!    │   Listener ──spawn──▶ ControlConn: LineReader → table/gate → ops → Reply → OutBuf
//!    │                         │ (data connections: next milestone)
//! ```
//!
//! ## Layout
//! | module | role |
//! |---|---|
//! | [`ioloop`] | `Handler` trait, dispatcher (slab + tokens + messages + yield queue), timers, `IoLoop` |
//! | [`server`] | [`Server`], the embedding API; `listener` accepts and enforces connection limits |
//! | [`control`] | the control connection: command table, parser, gate, session, commands by RFC |
//! | [`stream`] | line reader (CRLF, 2048-byte cap, Telnet IAC) and bounded output buffer |
//! | [`reply`] | reply codes and the multi-line wire format, CR/LF-injection safe |
//! | [`fs`] | virtual paths, the jail, the `Filesystem` trait and `OsFs`, listing formats |
//! | [`auth`] | `Authorizer` trait, permission letters `elradfmwMT`, `MemoryAuthorizer` |
//! | [`config`] | [`Config`]: every setting with its default |
//!
//! ## Quick start
//! ```no_run
//! use std::sync::Arc;
//! use ftpdlib::{Config, IoLoop, MemoryAuthorizer, Server, TokenRange};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut auth = MemoryAuthorizer::new();
//! auth.add_anonymous("/srv/ftp", "elr")?;
//! let mut ioloop = IoLoop::new()?;
//! let mut server = Server::bind(
//!     Config::new(Arc::new(auth)),
//!     "127.0.0.1:2121".parse()?,
//!     ioloop.registry(),
//!     TokenRange::default(),
//! )?;
//! ioloop.run(&mut server)?;
//! # Ok(()) }
//! ```
//!
//! What is simplified: file I/O is synchronous (as in pyftpdlib): a slow disk stalls the loop.

#![deny(unsafe_code)]
#![deny(missing_docs, missing_debug_implementations, rust_2018_idioms)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod auth;
mod builder;
pub mod config;
pub mod control;
pub mod data;
pub mod error;
pub mod events;
pub mod fs;
pub mod handler;
pub mod hooks;
pub mod ioloop;
mod listener;
pub mod log;
pub mod net;
pub mod reply;
pub mod server;
pub mod state;
pub mod stream;
pub mod tls;

pub use auth::{Authorizer, FileAuthorizer, MemoryAuthorizer, Perm, Perms, User, UserLimits};
pub use builder::{ConfigBuilder, SiteCommand, SiteRequest};
pub use config::{Config, Encoding};
pub use error::Error;
pub use hooks::{Hooks, NoHooks, SessionInfo};
pub use ioloop::{IoLoop, StopHandle, TokenRange};
pub use reply::{Reply, ReplyCode};
pub use server::Server;
