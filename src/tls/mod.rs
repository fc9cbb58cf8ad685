//! FTPS (RFC 4217) with rustls: loading the certificate, the shared server configuration, and
//! the session cache that makes "TLS session reuse" on data connections possible. Every rustls
//! call of the crate lives in this module.
//!
//! **Why session reuse matters.** FTP opens a new data connection per transfer. Without a check,
//! anyone who can race the client to a passive port could connect and receive the file, TLS or
//! not: the data connection would be encrypted, but to the wrong party. Requiring every data
//! connection to *resume* the TLS session of its control connection proves it comes from the
//! same client (vsftpd's `require_ssl_reuse`). With TLS 1.3 each control connection puts a
//! random token into its session tickets (`set_resumption_data`) and a data connection must
//! present that exact token; with TLS 1.2 (session ids) rustls does not surface that data, so a
//! TLS 1.2 data connection must resume a session this server issued.
//!
//! **Why stateless tickets.** FTP clients resume the control session on every data connection,
//! for as long as the control connection lives, which may be hours. TLS 1.3 sessions therefore
//! live in the tickets themselves: rustls' ticketer encrypts the session state (our token
//! included) with a key that rotates every 6 hours, and the server keeps nothing per ticket.
//! A server-side store would have to be bounded, and on a busy server its oldest entries would
//! be evicted while their clients still need them: an idle client's next LIST would then fail
//! the reuse check (`tests.rs` shows the case).
//!
//! **Why a custom session store.** TLS 1.2 clients that do not take tickets resume by session
//! id, which needs server-side state. rustls' default in-memory cache *removes* a session when
//! it is resumed, so the second transfer would fail. [`SharedSessionStore`] keeps sessions
//! (bounded, oldest evicted).
//!
//! **Client certificates** (`--tls-client-ca`, [`ClientAuth`]): rustls' `WebPkiClientVerifier`
//! checks them against the given CA, in `request` mode (a client without one is let in) or
//! `require` mode (the handshake fails without one). Data connections share the control
//! connection's configuration, verifier included: a resumed data session carries the control
//! session's certificate, and a full data handshake asks for it again, which clients that sent
//! one on the control connection answer the same way. Which user a certificate belongs to is
//! decided at login (`crate::auth::cert`).
//!
//! **No 0-RTT**, TLS 1.2 and 1.3 only, ring as the crypto provider (no C toolchain beyond a C
//! compiler needed).

mod stream;

pub use stream::Stream;

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{StoresServerSessions, WebPkiClientVerifier};
use rustls::{RootCertStore, ServerConfig};

use crate::error::Error;

/// Sessions kept for resumption, at most.
const SESSION_CACHE: usize = 8192;

/// Cached sessions, plus their keys in insertion order for eviction.
type Sessions = (HashMap<Vec<u8>, Vec<u8>>, VecDeque<Vec<u8>>);

/// A session cache that does not forget a session when it is resumed.
#[derive(Debug, Default)]
pub struct SharedSessionStore {
    inner: Mutex<Sessions>,
}

impl StoresServerSessions for SharedSessionStore {
    fn put(&self, key: Vec<u8>, value: Vec<u8>) -> bool {
        let Ok(mut guard) = self.inner.lock() else {
            return false;
        };
        let (map, order) = &mut *guard;
        if map.insert(key.clone(), value).is_none() {
            order.push_back(key);
        }
        while order.len() > SESSION_CACHE {
            if let Some(old) = order.pop_front() {
                map.remove(&old);
            }
        }
        true
    }

    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.inner.lock().ok()?.0.get(key).cloned()
    }

    /// Like `get`: FTP resumes one session many times (one per data connection).
    fn take(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.get(key)
    }

    fn can_cache(&self) -> bool {
        true
    }
}

/// Whether the server asks clients for a certificate, or insists on one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientCertMode {
    /// Ask; a client without a certificate is let in (a certificate-bound user then fails to
    /// log in). The default when only the CA is given.
    Request,
    /// The handshake fails without a valid certificate.
    Require,
}

/// TLS client certificates: the CA that issues them, and the mode.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientAuth {
    /// PEM file of the CA certificate(s) client certificates must chain to.
    pub ca: PathBuf,
    /// Request or require.
    pub mode: ClientCertMode,
}

/// Loads a PEM certificate chain and private key (PKCS#8, RSA or EC) into a server config.
pub fn load_server_config(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>, Error> {
    load_server_config_with(cert, key, None)
}

/// Reads the certificates of a PEM file; `what` names the file in errors.
fn read_certs(path: &Path, what: &str) -> Result<Vec<CertificateDer<'static>>, Error> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
        .map_err(|e| Error::Tls(format!("{what} {}: {e}", path.display())))?
        .collect::<Result<_, _>>()
        .map_err(|e| Error::Tls(format!("{what} {}: {e}", path.display())))?;
    if certs.is_empty() {
        return Err(Error::Tls(format!(
            "{what} {}: no certificate found",
            path.display()
        )));
    }
    Ok(certs)
}

/// The verifier of client certificates issued by `auth.ca`.
fn client_verifier(
    auth: &ClientAuth,
    provider: &Arc<rustls::crypto::CryptoProvider>,
) -> Result<Arc<dyn rustls::server::danger::ClientCertVerifier>, Error> {
    let bad = |e: &dyn std::fmt::Display| {
        Error::Tls(format!("client CA file {}: {e}", auth.ca.display()))
    };
    let mut roots = RootCertStore::empty();
    for cert in read_certs(&auth.ca, "client CA file")? {
        roots.add(cert).map_err(|e| bad(&e))?;
    }
    let builder =
        WebPkiClientVerifier::builder_with_provider(Arc::new(roots), Arc::clone(provider));
    let builder = match auth.mode {
        ClientCertMode::Request => builder.allow_unauthenticated(),
        ClientCertMode::Require => builder,
    };
    builder.build().map_err(|e| bad(&e))
}

/// [`load_server_config`], asking clients for certificates when `clients` is given.
pub fn load_server_config_with(
    cert: &Path,
    key: &Path,
    clients: Option<&ClientAuth>,
) -> Result<Arc<ServerConfig>, Error> {
    let chain = read_certs(cert, "certificate file")?;
    let key_der = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| Error::Tls(format!("key file {}: {e}", key.display())))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| Error::Tls(e.to_string()))?;
    let builder = match clients {
        Some(auth) => builder.with_client_cert_verifier(client_verifier(auth, &provider)?),
        None => builder.with_no_client_auth(),
    };
    let mut config = builder.with_single_cert(chain, key_der).map_err(|e| {
        Error::Tls(format!(
            "certificate {} and key {} do not form a usable pair: {e}",
            cert.display(),
            key.display()
        ))
    })?;
    config.session_storage = Arc::new(SharedSessionStore::default());
    config.ticketer = rustls::crypto::ring::Ticketer::new()
        .map_err(|e| Error::Tls(format!("session ticket keys: {e}")))?;
    config.send_tls13_tickets = 4;
    config.max_early_data_size = 0;
    Ok(Arc::new(config))
}

/// Tickets a data connection issues. A client spends one ticket per data connection (rustls
/// clients use each once; OpenSSL and GnuTLS clients reuse the control session's), so one
/// new ticket keeps it supplied; the control connection's four are the spares. Each ticket
/// costs an encryption, and a short FTPS session has two handshakes.
const DATA_TICKETS: usize = 1;

/// The configuration for the data connections of sessions using `control`: the same
/// certificate, ticket keys and session store, fewer tickets.
pub fn data_config(control: &Arc<ServerConfig>) -> Arc<ServerConfig> {
    let mut data = ServerConfig::clone(control);
    data.send_tls13_tickets = DATA_TICKETS;
    Arc::new(data)
}

/// What a data connection needs to speak TLS under PROT P.
#[derive(Debug, Clone)]
pub struct DataTls {
    /// The configuration for this session's data connections (the control connection's
    /// certificate, ticket keys and session cache; see [`data_config`]).
    pub config: Arc<ServerConfig>,
    /// The control connection's session token.
    pub token: [u8; 16],
    /// Refuse a data connection that does not resume the control session.
    pub require_reuse: bool,
}

impl DataTls {
    /// Checks a finished data handshake against the reuse policy. `Err` carries the reason.
    pub fn check(&self, stream: &Stream) -> Result<(), &'static str> {
        if !self.require_reuse {
            return Ok(());
        }
        match stream.resumption() {
            // TLS 1.3: the ticket must carry this control connection's token.
            Some((true, Some(token))) if token == self.token => Ok(()),
            Some((true, Some(_))) => Err("resumed another session"),
            // TLS 1.2 session ids: rustls does not expose the data; a resumption of a session
            // this server issued is required.
            Some((true, None)) => Ok(()),
            Some((false, _)) => Err("session reuse required"),
            None => Err("handshake not finished"),
        }
    }
}

/// FTPS settings of a server, shared by all its connections.
#[derive(Debug)]
pub struct TlsSettings {
    cert: PathBuf,
    key: PathBuf,
    /// Client certificates, if the server asks for them.
    client_auth: Option<ClientAuth>,
    /// The control connections' configuration and the matching one for data connections.
    current: Mutex<(Arc<ServerConfig>, Arc<ServerConfig>)>,
    /// Refuse USER/PASS before AUTH TLS.
    pub control_required: bool,
    /// Refuse data connections and transfers under PROT C.
    pub data_required: bool,
    /// Data connections must resume their control connection's TLS session. Default: true.
    pub require_session_reuse: bool,
}

impl TlsSettings {
    /// Loads the certificate and key; errors name the file and the problem.
    pub fn load(cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Result<TlsSettings, Error> {
        let (cert, key) = (cert.into(), key.into());
        let config = load_server_config(&cert, &key)?;
        Ok(TlsSettings {
            cert,
            key,
            client_auth: None,
            current: Mutex::new((Arc::clone(&config), data_config(&config))),
            control_required: false,
            data_required: false,
            require_session_reuse: true,
        })
    }

    /// Asks clients for certificates issued by `auth.ca` (reloaded with the rest on SIGHUP);
    /// an unreadable or invalid CA file is an error naming it.
    pub fn with_client_auth(mut self, auth: ClientAuth) -> Result<TlsSettings, Error> {
        let config = load_server_config_with(&self.cert, &self.key, Some(&auth))?;
        self.current = Mutex::new((Arc::clone(&config), data_config(&config)));
        self.client_auth = Some(auth);
        Ok(self)
    }

    /// The client certificate settings, if the server asks for certificates.
    pub fn client_auth(&self) -> Option<&ClientAuth> {
        self.client_auth.as_ref()
    }

    /// The configuration new connections use.
    pub fn config(&self) -> Option<Arc<ServerConfig>> {
        self.current.lock().ok().map(|c| Arc::clone(&c.0))
    }

    /// The configurations new connections use: (control, data). Taken together, so that a
    /// session's data connections always match its control connection across a reload.
    pub fn configs(&self) -> Option<(Arc<ServerConfig>, Arc<ServerConfig>)> {
        self.current
            .lock()
            .ok()
            .map(|c| (Arc::clone(&c.0), Arc::clone(&c.1)))
    }

    /// Rereads the certificate and key, and the client CA (SIGHUP). New connections get the new pair; existing
    /// ones keep theirs. A bad new pair is reported and the old one kept.
    pub fn reload(&self) -> Result<(), Error> {
        let fresh = load_server_config_with(&self.cert, &self.key, self.client_auth.as_ref())?;
        if let Ok(mut cur) = self.current.lock() {
            *cur = (Arc::clone(&fresh), data_config(&fresh));
        }
        Ok(())
    }
}

/// A random token binding data connections to their control connection's TLS session. It is
/// visible to the client (it travels in the session ticket); it only has to be unique.
pub fn session_token() -> [u8; 16] {
    let mut out = [0u8; 16];
    let provider = rustls::crypto::ring::default_provider();
    if provider.secure_random.fill(&mut out).is_err() {
        // Never happens with ring; a fixed token still requires resumption.
        out = [0x5a; 16];
    }
    out
}

#[cfg(test)]
mod tests;
