//! Callbacks for embedders: pyftpdlib's `on_*` methods, plus a few more.
//!
//! An embedding program implements [`Hooks`] (every method has a no-op default) and puts it in
//! `Config::hooks`. The server calls the hooks from the event loop, at
//! the moment each thing has happened, and in this order:
//!
//! - `on_connect`, then `on_login` or `on_login_failed`, then `on_logout`, then `on_disconnect`;
//! - `on_file_sent`, `on_file_received` or one of the `on_incomplete_*` hooks, *after* the data
//!   connection and the file are closed and just before the `226`/`426` reply;
//! - `on_progress` at most once a second during a transfer.
//!
//! Hooks run on the loop thread. A slow hook stalls every session, so hand heavy work to
//! another thread (a channel is enough). A hook that panics takes the server down with it, as
//! any panic in a single-threaded server would.

use std::fmt;
use std::net::SocketAddr;

/// Who a hook call is about.
#[derive(Debug, Clone, Copy)]
pub struct SessionInfo<'a> {
    /// The client's control connection address.
    pub peer: SocketAddr,
    /// The logged-in user, or the name given with USER, or "" before that.
    pub user: &'a str,
}

/// Event callbacks. Every method does nothing by default.
#[allow(unused_variables)]
pub trait Hooks: Send + Sync + fmt::Debug {
    /// A control connection was accepted (not called for connections refused with 421).
    fn on_connect(&self, peer: SocketAddr) {}
    /// A control connection closed.
    fn on_disconnect(&self, peer: SocketAddr) {}
    /// A user logged in.
    fn on_login(&self, s: &SessionInfo<'_>) {}
    /// A login failed (wrong name or password), before the delayed 530.
    fn on_login_failed(&self, s: &SessionInfo<'_>) {}
    /// A logged-in user left (QUIT, REIN, a new USER, or the connection closed).
    fn on_logout(&self, s: &SessionInfo<'_>) {}
    /// A download completed.
    fn on_file_sent(&self, s: &SessionInfo<'_>, path: &str, bytes: u64) {}
    /// An upload (STOR, APPE, STOU) completed.
    fn on_file_received(&self, s: &SessionInfo<'_>, path: &str, bytes: u64) {}
    /// A download stopped early (ABOR, client gone, error).
    fn on_incomplete_file_sent(&self, s: &SessionInfo<'_>, path: &str, bytes: u64) {}
    /// An upload stopped early. The file keeps what arrived, unless atomic uploads (the old
    /// file stays) or delete-incomplete-uploads (the partial file is removed) are on.
    fn on_incomplete_file_received(&self, s: &SessionInfo<'_>, path: &str, bytes: u64) {}
    /// DELE succeeded.
    fn on_delete(&self, s: &SessionInfo<'_>, path: &str) {}
    /// RNFR/RNTO succeeded.
    fn on_rename(&self, s: &SessionInfo<'_>, from: &str, to: &str) {}
    /// MKD succeeded.
    fn on_mkdir(&self, s: &SessionInfo<'_>, path: &str) {}
    /// RMD succeeded.
    fn on_rmdir(&self, s: &SessionInfo<'_>, path: &str) {}
    /// A transfer's progress: bytes so far and the total when known (downloads). At most once
    /// a second per transfer.
    fn on_progress(&self, s: &SessionInfo<'_>, path: &str, bytes: u64, total: Option<u64>) {}
}

/// The default: no callbacks.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoHooks;

impl Hooks for NoHooks {}
