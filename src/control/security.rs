//! RFC 4217 (FTP over TLS) on the control connection: AUTH, PBSZ, PROT, CCC, and the TLS
//! state of a session.
//!
//! `AUTH TLS` is answered `234` in plaintext; the handshake starts only once that reply is on
//! the wire. Anything the client sent after the AUTH line, before the handshake, is thrown away
//! unread: a man in the middle could have injected commands there, to be executed as if they
//! had arrived under TLS (the STARTTLS command-injection class, CVE-2011-0411). `PBSZ 0` then
//! `PROT P` make every later data connection a TLS server session that must resume this
//! control connection's session (see [`crate::tls`]). CCC (back to plaintext) is refused.
//!
//! With `--tls-client-ca` the handshake may carry a client certificate, verified by rustls;
//! [`ControlConn::client_cert`] hands it to the login (`ops/access.rs`). Plain sessions have
//! none.

use std::sync::Arc;

use rustls::ServerConfig;

use super::{ControlConn, Phase};
use crate::auth::ClientCert;
use crate::config::Config;
use crate::reply::{Reply, ReplyCode};
use crate::tls::DataTls;

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
        }
    }

    /// Implicit TLS (port 990 style): protected from the first byte, data protected by default.
    pub fn implicit(&mut self) {
        self.pbsz = true;
        self.prot_private = true;
    }
}

impl ControlConn {
    /// AUTH TLS / AUTH SSL / AUTH TLS-C.
    pub(super) fn ftp_auth(&mut self, arg: &str) -> Reply {
        if self.sec.config.is_none() {
            return Reply::new(
                ReplyCode::NotImplemented,
                "AUTH not supported: TLS is not configured on this server.",
            );
        }
        if self.sock.is_tls() {
            return Reply::new(ReplyCode::BadSequence, "Already using TLS.");
        }
        match arg.trim().to_ascii_uppercase().as_str() {
            "TLS" | "TLS-C" | "SSL" | "TLS-P" => {}
            _ => {
                return Reply::new(
                    ReplyCode::NotImplementedParam,
                    "Unrecognized AUTH type (use TLS).",
                )
            }
        }
        // Discard anything pipelined after AUTH: it arrived in plaintext.
        self.reader.clear();
        self.phase = Phase::TlsUpgrade;
        Reply::new(ReplyCode::AuthOk, "AUTH TLS successful.")
    }

    /// Called by `pump` once the 234 is sent: switch the socket to TLS.
    pub(super) fn start_tls(&mut self) -> std::io::Result<()> {
        let config = self
            .sec
            .config
            .clone()
            .ok_or_else(|| std::io::Error::other("TLS is not configured"))?;
        // Bytes read between the AUTH line and now were sent in plaintext: never run them.
        self.reader.clear();
        self.drained = false;
        self.sock.upgrade(config, Some(&self.sec.token))?;
        self.phase = Phase::Ready;
        Ok(())
    }

    /// Logs the TLS version and cipher once the handshake is done.
    pub(super) fn log_tls_once(&mut self) {
        if self.sec.logged || !self.sock.is_tls() || self.sock.is_handshaking() {
            return;
        }
        self.sec.logged = true;
        self.shared.metrics.tls_handshake("control", true);
        if let Some(d) = self.sock.describe() {
            let client = match self.client_cert() {
                Some(c) => format!(
                    "; client certificate CN {:?} sha256 {}",
                    c.cn.as_deref().unwrap_or(""),
                    c.fingerprint()
                ),
                None => String::new(),
            };
            log::info!("{} control connection secured: {d}{client}", self.tag());
        }
    }

    /// The verified client certificate of this control connection, if TLS is on and the client
    /// presented one.
    pub(super) fn client_cert(&self) -> Option<ClientCert> {
        self.sock.peer_certificate().map(ClientCert::from_der)
    }

    /// PBSZ (RFC 2228 §5.3.3): only `0` makes sense with TLS; other sizes are answered PBSZ=0.
    pub(super) fn ftp_pbsz(&mut self, arg: &str) -> Reply {
        if !self.sock.is_tls() {
            return Reply::new(
                ReplyCode::BadSequence,
                "PBSZ not allowed on insecure control connection.",
            );
        }
        self.sec.pbsz = true;
        if arg.trim() == "0" {
            Reply::new(ReplyCode::Ok, "PBSZ=0 successful.")
        } else {
            Reply::new(ReplyCode::Ok, "PBSZ=0")
        }
    }

    /// PROT (RFC 2228 §5.3.4): C (clear) or P (private).
    pub(super) fn ftp_prot(&mut self, arg: &str) -> Reply {
        if !self.sock.is_tls() {
            return Reply::new(
                ReplyCode::BadSequence,
                "PROT not allowed on insecure control connection.",
            );
        }
        if !self.sec.pbsz {
            return Reply::new(
                ReplyCode::BadSequence,
                "You must issue the PBSZ command prior to PROT.",
            );
        }
        match arg.trim().to_ascii_uppercase().as_str() {
            "C" => {
                self.sec.prot_private = false;
                Reply::new(ReplyCode::Ok, "Protection set to Clear")
            }
            "P" => {
                self.sec.prot_private = true;
                Reply::new(ReplyCode::Ok, "Protection set to Private")
            }
            "S" | "E" => Reply::new(
                ReplyCode::ProtLevelNotSupported,
                format!("PROT {} unsupported (use C or P).", arg.trim()),
            ),
            _ => Reply::new(
                ReplyCode::NotImplementedParam,
                "Unrecognized PROT type (use C or P).",
            ),
        }
    }

    /// CCC (RFC 4217 §6): refused by policy: once protected, the control channel stays so.
    pub(super) fn ftp_ccc(&mut self) -> Reply {
        if !self.sock.is_tls() {
            return Reply::new(
                ReplyCode::BadSequence,
                "CCC not allowed: the control connection is not encrypted.",
            );
        }
        Reply::new(
            ReplyCode::PolicyDenied,
            "CCC refused: the control connection stays encrypted.",
        )
    }

    /// TLS parameters for a new data connection, under PROT P.
    pub(super) fn data_tls(&self) -> Option<DataTls> {
        if !self.sec.prot_private {
            return None;
        }
        Some(DataTls {
            config: self.sec.data_config.clone()?,
            token: self.sec.token,
            require_reuse: self
                .cfg
                .tls
                .as_ref()
                .is_none_or(|t| t.require_session_reuse),
        })
    }
}
