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

use std::net::IpAddr;
use std::ops::RangeInclusive;
use std::sync::Arc;
use std::time::Duration;

use crate::auth::Authorizer;
use crate::config::{Config, Encoding};
use crate::fs::FilesystemFactory;
use crate::hooks::Hooks;
use crate::site::SiteCommand;
use crate::state::BanPolicy;
use crate::tls::TlsSettings;

impl Config {
    /// A builder starting from the defaults.
    pub fn builder(authorizer: Arc<dyn Authorizer>) -> ConfigBuilder {
        ConfigBuilder::new(authorizer)
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
        /// See [`Config::nat_address`].
        nat_address: Option<crate::nat::NatAddress>;
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
    pub fn build(self) -> Result<Config, crate::error::Error> {
        self.cfg.validate()?;
        Ok(self.cfg)
    }
}
