//! SIGHUP: read the settings again (command line, `FTPDLIB_*` variables, `--config` file) and
//! give new sessions the new configuration, without a restart.
//!
//! The daemon's servers share one [`LiveConfig`]; a reload builds a whole new `Config` and
//! [`replace`](LiveConfig::replace)s it, so every session accepted afterwards gets all of it and
//! sessions already running keep the one they started with (section 10 of
//! docs/ARCHITECTURE.md). Limits, timeouts, the banner, permissions, throttles, bans, the users
//! file, the TLS certificate and `-n` (an address or a host name) all change this way.
//!
//! What lives in sockets, threads or the logger cannot change in place: the listening address
//! and ports, the number of workers and of blocking threads (and their priority), `--run-as`,
//! the log settings and the shutdown grace. A reload that changes one of them logs that it needs a restart and keeps
//! the running value. A file that does not load (or a configuration that does not build) keeps
//! the whole old configuration running, and the error is logged.
//!
//! Two parts are reloaded in place when their flags did not change, as SIGHUP did before the
//! configuration file existed: the TLS certificate and key ([`TlsSettings::reload`]), and the
//! users file ([`FileAuthorizer::reload`], whose permission changes reach sessions already
//! logged in). A broken certificate or users file then keeps the old one, and the rest of the
//! new configuration still applies.

use std::ffi::OsString;
use std::sync::Arc;

use ftpdlib::auth::FileAuthorizer;
use ftpdlib::tls::TlsSettings;
use ftpdlib::LiveConfig;

use crate::args::Args;
use crate::layers::{self, LoadError};
use crate::setup::{self, Reuse};

/// What a reload starts from: how the daemon was started and what runs now.
#[derive(Debug)]
pub struct Running {
    /// The command line, read again at every reload.
    pub argv: Vec<OsString>,
    /// The settings in force.
    pub args: Args,
    /// The configuration new sessions get.
    pub live: Arc<LiveConfig>,
    /// The users file authorizer in force, if any.
    pub users: Option<Arc<FileAuthorizer>>,
}

/// Sets the settings that need a restart in `new` back to their running values; returns the
/// names of those that differed.
fn pin_restart_only(running: &Args, new: &mut Args) -> Vec<&'static str> {
    let mut changed = Vec::new();
    macro_rules! pin {
        ($($field:ident => $name:literal),* $(,)?) => {$(
            if new.$field != running.$field {
                changed.push($name);
                new.$field = running.$field.clone();
            }
        )*};
    }
    pin!(
        interface => "interface",
        port => "port",
        tls_implicit_port => "tls-implicit-port",
        metrics_listen => "metrics-listen",
        workers => "workers",
        blocking_threads => "blocking-threads",
        blocking_priority => "blocking-priority",
        loop_priority => "loop-priority",
        coalesce => "coalesce",
        run_as => "run-as",
        allow_root => "allow-root",
        log_level => "log-level",
        log_file => "log-file",
        log_format => "log-format",
        debug => "debug",
        trace => "trace",
        shutdown_grace => "shutdown-grace",
    );
    changed
}

/// True if the flags that make the FTPS settings are the same.
fn same_tls(a: &Args, b: &Args) -> bool {
    (
        a.tls,
        &a.certfile,
        &a.keyfile,
        a.tls_control_required,
        a.tls_data_required,
        a.no_tls_session_reuse,
        (&a.tls_client_ca, &a.tls_client_cert),
    ) == (
        b.tls,
        &b.certfile,
        &b.keyfile,
        b.tls_control_required,
        b.tls_data_required,
        b.no_tls_session_reuse,
        (&b.tls_client_ca, &b.tls_client_cert),
    )
}

/// True if the flags that make the accounts are the same.
fn same_accounts(a: &Args, b: &Args) -> bool {
    (
        &a.users_file,
        &a.username,
        &a.password,
        a.anonymous,
        a.write,
        &a.directory,
    ) == (
        &b.users_file,
        &b.username,
        &b.password,
        b.anonymous,
        b.write,
        &b.directory,
    )
}

/// Reloads the certificate in place, as SIGHUP always did; the old one stays on error.
fn reload_tls(tls: &Arc<TlsSettings>) -> Arc<TlsSettings> {
    match tls.reload() {
        Ok(()) => log::info!("SIGHUP: TLS certificate and key reloaded"),
        Err(e) => log::error!("SIGHUP: {e}; keeping the old certificate"),
    }
    Arc::clone(tls)
}

/// Rereads the users file in place; the old accounts stay on error.
fn reload_users(users: &Arc<FileAuthorizer>) -> Arc<FileAuthorizer> {
    match users.reload() {
        Ok(n) => log::info!("SIGHUP: users file reloaded ({n} accounts)"),
        Err(e) => log::error!("SIGHUP: {e}; keeping the old accounts"),
    }
    Arc::clone(users)
}

impl Running {
    /// One SIGHUP: see the module documentation.
    pub fn reload(&mut self) {
        let mut new = match layers::load(&self.argv) {
            Ok(args) => args,
            Err(LoadError::File(e)) => {
                log::error!("SIGHUP: {e}; keeping the old configuration");
                return;
            }
            Err(LoadError::Cli(e)) => {
                let text = e.to_string();
                let first = text.lines().next().unwrap_or_default();
                log::error!("SIGHUP: {first}; keeping the old configuration");
                return;
            }
        };
        for name in pin_restart_only(&self.args, &mut new) {
            log::warn!("SIGHUP: {name} changed, which needs a restart; keeping the running value");
        }
        let old = self.live.current();
        let reuse = Reuse {
            tls: old
                .tls
                .as_ref()
                .filter(|_| same_tls(&self.args, &new))
                .map(reload_tls),
            users: self
                .users
                .as_ref()
                .filter(|_| same_accounts(&self.args, &new))
                .map(reload_users),
            // The -n name keeps its thread and last answer (no lookup on the signal path).
            nat: old.nat_address.clone().filter(|_| {
                (&self.args.nat_address, self.args.nat_refresh)
                    == (&new.nat_address, new.nat_refresh)
            }),
        };
        let built = setup::build_config_reusing(&new, reuse).and_then(|(cfg, accounts)| {
            self.live
                .replace(Arc::new(cfg))
                .map(|()| accounts)
                .map_err(|e| e.to_string())
        });
        match built {
            Ok(accounts) => {
                self.users = accounts.users;
                self.args = new;
                log::info!("SIGHUP: configuration reloaded; new sessions use it");
            }
            Err(e) => log::error!("SIGHUP: {e}; keeping the old configuration"),
        }
    }
}
