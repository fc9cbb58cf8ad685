//! The TLS state of a session (RFC 4217): its TLS configuration, the token its data
//! connections must resume with, and what PBSZ and PROT set (the commands are in `ops/tls.rs`).
//!
//! `AUTH TLS` is answered `234` in plaintext; the handshake starts only once that reply is on
//! the wire. Anything the client sent after the AUTH line, before the handshake, is thrown away
//! unread (the engine's `start_tls`): a man in the middle could have injected commands there,
//! to be executed as if they had arrived under TLS (the STARTTLS command-injection class,
//! CVE-2011-0411). `PBSZ 0` then `PROT P` make every later data connection a TLS server
//! session that must resume this control connection's session (see [`crate::tls`]).
//!
//! With `--tls-client-ca` the handshake may carry a client certificate, verified by rustls;
//! [`client_cert`] hands it to the login (`ops/access.rs`). Plain sessions have none.

use std::sync::Arc;

use rustls::ServerConfig;

use crate::auth::ClientCert;
use crate::config::Config;
use crate::metrics::Metrics;
use crate::tls::{DataTls, Stream};

/// FTPS state of one control connection.
#[derive(Debug)]
pub(super) struct SecState {
    /// The TLS configuration of this session (fixed at connect, so a certificate reload does
    /// not affect sessions already running).
    pub config: Option<Arc<ServerConfig>>,
    /// The matching configuration for this session's data connections (fewer tickets).
    pub data_config: Option<Arc<ServerConfig>>,
    /// Random token put into this session's tickets (the reuse check).
    pub token: [u8; 16],
    /// PBSZ was sent after AUTH.
    pub pbsz: bool,
    /// PROT P is in force.
    pub prot_private: bool,
    /// The handshake result was logged.
    pub(super) logged: bool,
    /// The client certificate the handshake verified, if the client presented one (taken
    /// once the handshake is done, for the login).
    pub client_cert: Option<ClientCert>,
}

impl SecState {
    pub fn new(cfg: &Config) -> SecState {
        let (config, data_config) = match cfg.tls.as_ref().and_then(|t| t.configs()) {
            Some((c, d)) => (Some(c), Some(d)),
            None => (None, None),
        };
        SecState {
            token: if config.is_some() {
                crate::tls::session_token()
            } else {
                [0; 16]
            },
            config,
            data_config,
            pbsz: false,
            prot_private: false,
            logged: false,
            client_cert: None,
        }
    }

    /// Implicit TLS (port 990 style): protected from the first byte, data protected by default.
    pub fn implicit(&mut self) {
        self.pbsz = true;
        self.prot_private = true;
    }
}

impl SecState {
    /// Logs the TLS version and cipher once the handshake is done (and counts it).
    pub(super) fn log_once(&mut self, sock: &Stream, tag: &str, metrics: &Metrics) {
        if self.logged || !sock.is_tls() || sock.is_handshaking() {
            return;
        }
        self.logged = true;
        metrics.tls_handshake("control", true);
        self.client_cert = client_cert(sock);
        if let Some(d) = sock.describe() {
            let client = match &self.client_cert {
                Some(c) => format!(
                    "; client certificate CN {:?} sha256 {}",
                    c.cn.as_deref().unwrap_or(""),
                    c.fingerprint()
                ),
                None => String::new(),
            };
            log::info!("{tag} control connection secured: {d}{client}");
        }
    }

    /// TLS parameters for a new data connection, under PROT P.
    pub(super) fn data_tls(&self, cfg: &Config) -> Option<DataTls> {
        if !self.prot_private {
            return None;
        }
        Some(DataTls {
            config: self.data_config.clone()?,
            token: self.token,
            require_reuse: cfg.tls.as_ref().is_none_or(|t| t.require_session_reuse),
        })
    }
}

/// The verified client certificate of a control connection, if TLS is on and the client
/// presented one.
fn client_cert(sock: &Stream) -> Option<ClientCert> {
    sock.peer_certificate().map(ClientCert::from_der)
}
