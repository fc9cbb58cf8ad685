//! A builder for [`Config`], and custom SITE commands.
//!
//! ```
//! use std::{sync::Arc, time::Duration};
//! use ftpdlib::{Config, MemoryAuthorizer, Reply, ReplyCode, SiteCommand};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut auth = MemoryAuthorizer::new();
//! auth.add_anonymous(std::env::temp_dir(), "elr")?;
//! let cfg = Config::builder(Arc::new(auth))
//!     .banner("welcome")
//!     .idle_timeout(Some(Duration::from_secs(60)))
//!     .max_cons_per_ip(4)
//!     .site_command(SiteCommand::new("UPTIME", "Syntax: SITE UPTIME (server uptime).", |_req| {
//!         Reply::new(ReplyCode::Ok, "up and running")
//!     }))
//!     .build()?;
//! assert_eq!(cfg.banner, "welcome");
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::ops::RangeInclusive;
use std::sync::Arc;
use std::time::Duration;

use crate::auth::{Authorizer, User};
use crate::config::{Config, Encoding};
use crate::fs::{FilesystemFactory, VirtualPath};
use crate::reply::Reply;
use crate::state::BanPolicy;
use crate::tls::TlsSettings;
use crate::Hooks;

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

/// Builds a [`Config`] one setting at a time; every setting not given keeps the default that
/// [`Config`]'s field documentation states.
#[derive(Debug)]
pub struct ConfigBuilder {
    cfg: Config,
}

macro_rules! setters {
    ($($(#[$doc:meta])* $name:ident: $ty:ty;)*) => {
        $(
            $(#[$doc])*
            pub fn $name(mut self, value: $ty) -> Self {
                self.cfg.$name = value;
                self
            }
        )*
    };
}

impl ConfigBuilder {
    /// Starts from the defaults.
    pub fn new(authorizer: Arc<dyn Authorizer>) -> ConfigBuilder {
        ConfigBuilder {
            cfg: Config::new(authorizer),
        }
    }

    /// The greeting after `220`.
    pub fn banner(mut self, text: impl Into<String>) -> Self {
        self.cfg.banner = text.into();
        self
    }

    setters! {
        /// See [`Config::idle_timeout`].
        idle_timeout: Option<Duration>;
        /// See [`Config::data_timeout`].
        data_timeout: Option<Duration>;
        /// See [`Config::passive_timeout`].
        passive_timeout: Option<Duration>;
        /// See [`Config::auth_failed_delay`].
        auth_failed_delay: Duration;
        /// See [`Config::max_login_attempts`].
        max_login_attempts: u32;
        /// See [`Config::max_cons`].
        max_cons: usize;
        /// See [`Config::max_cons_per_ip`].
        max_cons_per_ip: usize;
        /// See [`Config::use_localtime`].
        use_localtime: bool;
        /// See [`Config::masquerade_address`].
        masquerade_address: Option<IpAddr>;
        /// See [`Config::passive_ports`].
        passive_ports: Option<RangeInclusive<u16>>;
        /// See [`Config::permit_foreign_addresses`].
        permit_foreign_addresses: bool;
        /// See [`Config::permit_privileged_ports`].
        permit_privileged_ports: bool;
        /// See [`Config::use_sendfile`].
        use_sendfile: bool;
        /// See [`Config::read_limit`].
        read_limit: u64;
        /// See [`Config::write_limit`].
        write_limit: u64;
        /// See [`Config::encoding`].
        encoding: Encoding;
        /// See [`Config::debug_commands`].
        debug_commands: bool;
        /// See [`Config::atomic_uploads`].
        atomic_uploads: bool;
        /// See [`Config::delete_incomplete_uploads`].
        delete_incomplete_uploads: bool;
        /// See [`Config::bans`].
        bans: BanPolicy;
    }

    /// Enables FTPS with these settings.
    pub fn tls(mut self, tls: TlsSettings) -> Self {
        self.cfg.tls = Some(Arc::new(tls));
        self
    }

    /// Sets the callbacks.
    pub fn hooks(mut self, hooks: impl Hooks + 'static) -> Self {
        self.cfg.hooks = Arc::new(hooks);
        self
    }

    /// Serves users from another filesystem than the OS one.
    pub fn filesystem(mut self, factory: impl FilesystemFactory + 'static) -> Self {
        self.cfg.filesystem = Some(Arc::new(factory));
        self
    }

    /// Adds a custom SITE command.
    pub fn site_command(mut self, cmd: SiteCommand) -> Self {
        self.cfg.site_commands.push(cmd);
        self
    }

    /// Checks the settings and returns the configuration.
    pub fn build(self) -> Result<Config, crate::Error> {
        self.cfg.validate()?;
        Ok(self.cfg)
    }
}
