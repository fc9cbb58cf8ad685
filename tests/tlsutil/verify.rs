//! rustls client configurations for the tests.
//!
//! The checked-in test certificates are self-signed with `CA:TRUE`, which webpki refuses as an
//! end-entity certificate (`CaUsedAsEndEntity`), so a root store cannot validate them. The
//! verifier here pins them instead: it accepts a server certificate only if its DER is one of
//! the test certificates, and still checks the handshake signatures against it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::Resumption;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme, SupportedProtocolVersion};

/// The RSA test certificate.
pub const RSA_CERT: &str = "cert.pem";
/// The P-256 test certificate.
pub const EC_CERT: &str = "ec-cert.pem";

/// A file under `tests/data`.
pub fn data_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// The first certificate of a PEM file under `tests/data`.
pub fn read_cert(name: &str) -> CertificateDer<'static> {
    CertificateDer::from_pem_file(data_path(name)).expect("test certificate")
}

/// Accepts exactly the pinned certificates, with valid handshake signatures.
#[derive(Debug)]
struct Pinned {
    certs: Vec<CertificateDer<'static>>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if server_name.to_str() != "localhost" {
            return Err(rustls::Error::General(format!(
                "unexpected name {server_name:?}"
            )));
        }
        if self.certs.iter().any(|c| c.as_ref() == end_entity.as_ref()) {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::UnknownIssuer,
            ))
        }
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
            &self.provider.signature_verification_algorithms,
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
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

fn pinned(
    versions: &[&'static SupportedProtocolVersion],
) -> rustls::ConfigBuilder<ClientConfig, rustls::client::WantsClientCert> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Pinned {
        certs: vec![read_cert(RSA_CERT), read_cert(EC_CERT)],
        provider: Arc::clone(&provider),
    };
    ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .expect("protocol versions")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
}

fn build(versions: &[&'static SupportedProtocolVersion]) -> ClientConfig {
    pinned(versions).with_no_client_auth()
}

/// Like [`client_config`], presenting the client certificate `cert` (PEM) with its `key`.
pub fn client_config_with_cert(cert: &Path, key: &Path) -> Arc<ClientConfig> {
    client_config_with_cert_for(
        cert,
        key,
        &[&rustls::version::TLS13, &rustls::version::TLS12],
    )
}

/// [`client_config_with_cert`] speaking only the given TLS versions.
pub fn client_config_with_cert_for(
    cert: &Path,
    key: &Path,
    versions: &[&'static SupportedProtocolVersion],
) -> Arc<ClientConfig> {
    let chain = CertificateDer::pem_file_iter(cert)
        .expect("client certificate")
        .collect::<Result<Vec<_>, _>>()
        .expect("client certificate");
    let key = PrivateKeyDer::from_pem_file(key).expect("client key");
    let config = pinned(versions)
        .with_client_auth_cert(chain, key)
        .expect("client certificate and key");
    Arc::new(config)
}

/// TLS 1.2 and 1.3, with rustls' default client session cache: sharing one `Arc` between the
/// control and the data connections makes the data connections resume.
pub fn client_config() -> Arc<ClientConfig> {
    Arc::new(build(&[&rustls::version::TLS13, &rustls::version::TLS12]))
}

/// TLS 1.2 only (session ids instead of tickets).
pub fn client_config_tls12() -> Arc<ClientConfig> {
    Arc::new(build(&[&rustls::version::TLS12]))
}

/// Like [`client_config`], but never resumes: every handshake is a full one.
pub fn no_resumption() -> Arc<ClientConfig> {
    let mut c = build(&[&rustls::version::TLS13, &rustls::version::TLS12]);
    c.resumption = Resumption::disabled();
    Arc::new(c)
}
