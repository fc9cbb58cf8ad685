//! The rustls client side of `--tls` (explicit FTPS, RFC 4217: `AUTH TLS`, `PBSZ 0`, `PROT P`).
//!
//! **Session resumption.** Servers such as ftpdlib and vsftpd (`require_ssl_reuse`) refuse a
//! protected data connection unless it resumes the TLS session of its own control connection.
//! rustls resumes when the data connection is made with the same `ClientConfig` (the session
//! cache lives in it). One config shared by *all* sessions would not do under concurrency: with
//! TLS 1.3 the client cache holds tickets per server name, so session A's data connection could
//! present a ticket issued to session B, which the server rightly refuses. [`per_session`]
//! therefore clones the one base config built at start (cheap: it is mostly `Arc`s) with a
//! fresh cache for each control connection, and that control connection and all its data
//! connections share it. TLS 1.3 tickets are single-use on the client side; the server issues
//! new ones after each handshake, which is why the data paths read their connection to the end.
//!
//! **Verification.** `--ca-file` trusts the PEM certificates in a file. `--insecure` accepts any
//! certificate (and any name) through a custom `ServerCertVerifier`, but still checks the
//! handshake signatures, so the cryptographic work measured is the real one.

use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::Resumption;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

/// Client sessions kept per control connection (TLS 1.3 tickets arrive several at a time).
const TICKETS: usize = 16;

/// Accepts every server certificate; still verifies handshake signatures.
#[derive(Debug)]
struct AcceptAny(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAny {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The base client configuration (TLS 1.3 and 1.2, ring).
pub fn base_config(insecure: bool, ca_file: Option<&Path>) -> Result<Arc<ClientConfig>, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| format!("TLS versions: {e}"))?;
    let config = if insecure {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAny(provider)))
            .with_no_client_auth()
    } else {
        let path = ca_file.ok_or("--tls needs --ca-file PEM (to trust) or --insecure")?;
        let mut roots = RootCertStore::empty();
        let certs = CertificateDer::pem_file_iter(path)
            .map_err(|e| format!("--ca-file {}: {e}", path.display()))?;
        for cert in certs {
            let cert = cert.map_err(|e| format!("--ca-file {}: {e}", path.display()))?;
            roots
                .add(cert)
                .map_err(|e| format!("--ca-file {}: {e}", path.display()))?;
        }
        if roots.is_empty() {
            return Err(format!("--ca-file {}: no certificate", path.display()));
        }
        builder.with_root_certificates(roots).with_no_client_auth()
    };
    Ok(Arc::new(config))
}

/// A copy of `base` with its own session cache, for one control connection and its data
/// connections (see the module docs).
pub fn per_session(base: &ClientConfig) -> Arc<ClientConfig> {
    let mut c = base.clone();
    c.resumption = Resumption::in_memory_sessions(TICKETS);
    Arc::new(c)
}

/// The name sent in SNI and checked against the certificate.
pub fn server_name(name: &str) -> Result<ServerName<'static>, String> {
    ServerName::try_from(name.to_owned()).map_err(|e| format!("TLS server name {name:?}: {e}"))
}
