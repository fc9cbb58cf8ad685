//! Custom `SITE` commands: what an embedder adds to `SITE` (pyftpdlib's `ftp_SITE_X` methods),
//! registered with `ConfigBuilder::site_command` and kept in `Config::site_commands`.

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;

use crate::auth::User;
use crate::fs::VirtualPath;
use crate::reply::Reply;

/// What a custom SITE command receives.
#[derive(Debug)]
pub struct SiteRequest<'a> {
    /// The logged-in user, if any.
    pub user: Option<&'a User>,
    /// The client's address.
    pub peer: SocketAddr,
    /// The session's current directory.
    pub cwd: &'a VirtualPath,
    /// Everything after `SITE NAME `.
    pub arg: &'a str,
}

type SiteHandler = dyn Fn(&SiteRequest<'_>) -> Reply + Send + Sync;

/// A SITE sub-command added by the embedder (pyftpdlib's `ftp_SITE_X` methods); listed by
/// SITE HELP. Built-in sub-commands (CHMOD, HELP) take precedence over a custom one of the
/// same name.
#[derive(Clone)]
pub struct SiteCommand {
    /// The sub-command, upper case (`SITE UPTIME` → `UPTIME`).
    pub name: String,
    /// The `SITE HELP NAME` text.
    pub help: String,
    /// Refuse it (530) before login. Default: true.
    pub needs_login: bool,
    handler: Arc<SiteHandler>,
}

impl fmt::Debug for SiteCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SiteCommand")
            .field("name", &self.name)
            .field("needs_login", &self.needs_login)
            .finish_non_exhaustive()
    }
}

impl SiteCommand {
    /// A command that needs a login, answered by `handler`.
    pub fn new(
        name: &str,
        help: &str,
        handler: impl Fn(&SiteRequest<'_>) -> Reply + Send + Sync + 'static,
    ) -> SiteCommand {
        SiteCommand {
            name: name.to_ascii_uppercase(),
            help: help.to_owned(),
            needs_login: true,
            handler: Arc::new(handler),
        }
    }

    /// Allows the command before login.
    pub fn without_login(mut self) -> SiteCommand {
        self.needs_login = false;
        self
    }

    /// Runs the handler.
    pub fn call(&self, req: &SiteRequest<'_>) -> Reply {
        (self.handler)(req)
    }
}
