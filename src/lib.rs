//! # ftpdlib
//!
//! A fast, secure FTP and FTPS server on one single-threaded [mio] event loop, in the spirit of
//! Python's pyftpdlib: usable as a daemon (`ftpdlib -w -d /srv/ftp`) and as a library that lives
//! inside your own `mio::Poll`. (The daemon's `--workers N` runs N such loops on N threads; they
//! share the port and the [`state::Shared`] limits, nothing else.) It is written to be read:
//! each module's documentation says what FTP does at that point and why, and
//! `docs/ARCHITECTURE.md` follows one download and one upload through the code, function by
//! function.
//!
//! ```text
//! host Poll or IoLoop ──Event(token)──▶ Dispatcher = slab[ConnId] + Timers + outbox(Msg) + yield queue
//!    ▲ next_timeout() / handle_timers()      │ routes events, timers and messages to the handlers
//!    │
//!    │   Listener ──spawn, Start──▶ ControlConn ──DataStart(Job), Abort───────────────────┐
//!    │   (limits in Shared)              │   ▲                                            ▼
//!    │                                   │   └──DataConnected, DataFailed, DataClosed─ DataConn
//!    │                                   │ PASV: spawn                                     ▲
//!    │                                   ▼                                                 │
//!    │                           PassiveAcceptor ──accept (client's IP only), spawn────────┘
//!    │
//!    │   ControlConn: LineReader → parser/table → gate → ops → Reply → OutBuf
//!    │   PORT/EPRT: ControlConn spawns a DataConn that starts in `Connecting`
//!    └── DataConn: file | listing → Producer → sendfile | buffer → [rustls] → socket   (RETR, LIST)
//!                  socket → [rustls] → FileSink → file, then commit | abort          (STOR, APPE)
//! ```
//!
//! `Listener`, `ControlConn`, `PassiveAcceptor` and `DataConn` are the four kinds of FTP
//! handler in the dispatcher's slab (with, when asked for, the HTTP status endpoint's two: see
//! [`metrics`]). They never hold references to one another: they know each other's
//! [`ConnId`](ioloop::ConnId) and exchange `Msg`s (the private `msg` module), which the dispatcher delivers
//! after the current callback returns.
//!
//! ## Layout
//! The public modules are what an embedder needs: the server and its loop, the configuration,
//! the traits it can implement (`Authorizer`, `Filesystem`, `Hooks`, `EventSink`), events,
//! errors, TLS settings. The private ones are the machinery; the fuzz targets and property tests
//! reach the parsers among them through the hidden `fuzzing` module.
//!
//! | module | role |
//! |---|---|
//! | [`ioloop`] | the `Handler` trait and `Flow`, the `Dispatcher` (slab, tokens, messages, yield queue), `Timers` and `Deadline`, [`IoLoop`] |
//! | [`server`] | [`Server`], the embedding API (with the private `listener`: accept loop, `421` over the limits) |
//! | `handler` (private) | the closed `FtpHandler` enum (with the private `msg`: the `Msg`s handlers exchange, the `TimerKind`s, the context type `Cx`) |
//! | `control` (private) | the control connection (pyftpdlib's `FTPHandler`): engine, command table, parser, gate, session, data-channel bookkeeping, commands by topic |
//! | `data` (private) | data connections (pyftpdlib's `DTPHandler`): passive acceptor and active connect, send and receive loops, producers, `sendfile`, throttling |
//! | `line` (private) | the command line reader (CRLF, 2048-byte cap, Telnet IAC) and the bounded reply buffer |
//! | [`reply`] | reply codes and the multi-line wire format, CR/LF-injection safe |
//! | [`tls`] | FTPS with rustls: certificates, the session cache, the session-reuse check, `Stream` (a plain or TLS socket) |
//! | [`fs`] | virtual and rooted paths (the jail), the `Filesystem` trait and `OsFs`, uploads that commit or abort, listing formats |
//! | [`auth`] | `Authorizer`, `User`, permission letters `elradfmwMT`, `MemoryAuthorizer`, `FileAuthorizer`, users file, crypt hashes |
//! | [`state`] | what one server's connections (and workers) share: connection counts, sessions per user, per-user bandwidth buckets, IP bans |
//! | [`config`] | [`Config`]: every setting with its default |
//! | [`ConfigBuilder`], [`SiteCommand`], [`SiteRequest`] | re-exported from the private `builder` module: a builder for `Config`, custom `SITE` commands |
//! | [`hooks`] | [`Hooks`]: pyftpdlib's `on_*` callbacks for embedders |
//! | [`events`] | machine-readable session events: `EventSink`, JSON lines, wu-ftpd `xferlog` |
//! | [`metrics`] | the Prometheus counters (`Metrics`), health and readiness, and the HTTP status endpoint |
//! | [`log`] | logging conventions: the `ip:port-[user]` prefix, PASS masking |
//! | [`nat`] | the PASV address behind NAT: a fixed IP, or a host name kept resolved off the loop |
//! | [`net`] | socket set-up with socket2: dual-stack listeners, IPv4-mapped addresses |
//! | [`error`] | [`Error`]: what stops a server from starting; errors while serving become replies |
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
//! ## What is simplified
//!
//! - **File I/O is synchronous**, as in pyftpdlib: `open`, `read`, `write`, `stat` and `readdir`
//!   run on the loop thread, so a slow disk (or a network filesystem) stalls every session.
//!   Password hash checks, [`Hooks`] and event sinks run there too. Everything else (sockets,
//!   connects, TLS, timers) never blocks.
//! - **`sendfile(2)` is Linux-only** (feature `sendfile`). Elsewhere, and for ASCII or TLS
//!   transfers, downloads go through a 64 KiB buffer.
//! - **The TLS session-reuse check is weaker with TLS 1.2.** With TLS 1.3 a protected data
//!   connection must resume a ticket carrying its own control connection's random token. With
//!   TLS 1.2 rustls does not expose that data, so the check only proves that the data connection
//!   resumed *a* session this server issued.

#![deny(unsafe_code)]
#![deny(missing_docs, missing_debug_implementations, rust_2018_idioms)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod auth;
mod builder;
pub mod checksum;
mod choice;
pub mod config;
pub(crate) mod control;
pub(crate) mod data;
pub mod error;
pub mod events;
pub mod fs;
mod glob;
pub(crate) mod handler;
pub mod hooks;
pub mod ioloop;
pub(crate) mod line;
mod listener;
pub mod log;
pub mod metrics;
mod msg;
pub mod nat;
pub mod net;
pub(crate) mod proxy;
pub(crate) mod quota;
pub mod reply;
pub mod server;
mod site;
pub mod state;
pub mod tls;

/// Internals the fuzz targets (`fuzz/`, through `tests/fuzzutil/`) and the property tests
/// (`tests/fuzz_props.rs`) need, beyond the public modules: the parsers of what a client sends
/// and the formats of what the server writes. Not part of the API: may change in any release.
#[doc(hidden)]
pub mod fuzzing {
    pub use crate::control::ops::listing::glob_match;
    pub use crate::control::{addr, parser, table};

    /// The command line reader (`LineReader`) and its limits.
    pub mod line {
        pub use crate::line::{strip_telnet, Line, LineReader, MAX_LINE};
    }

    /// Listing formats: `LIST` lines, `MLSD` facts, `MDTM` times.
    pub mod listing {
        pub use crate::fs::listing::{
            escape_name, ls_line, mdtm, mlsx_line, mode_string, parse_mdtm, Facts,
        };
    }

    /// The PROXY protocol header parser (versions 1 and 2).
    pub mod proxy {
        pub use crate::proxy::{parse, ProxyError, ProxyHeader};
    }
}

pub use auth::{Authorizer, FileAuthorizer, MemoryAuthorizer, Perm, Perms, User, UserLimits};
pub use builder::ConfigBuilder;
pub use config::{Config, Encoding, LiveConfig, MinFree, OffloadFs};
pub use error::Error;
pub use hooks::{Hooks, NoHooks, SessionInfo};
pub use ioloop::pool::{LoopPriority, WorkerPriority};
pub use ioloop::{IoLoop, StopHandle, TokenRange};
pub use reply::{Reply, ReplyCode};
pub use server::Server;
pub use site::{SiteCommand, SiteRequest};
