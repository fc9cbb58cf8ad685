//! Session reuse in memory, without sockets: a rustls client and the server's configuration.

use super::*;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{ServerName, UnixTime};
use rustls::{ClientConfig, ClientConnection, DigitallySignedStruct, ServerConnection};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// Trusts exactly the test certificate (a self-signed one, which webpki would refuse as an
/// end entity); signatures are still checked.
#[derive(Debug)]
struct Pinned(CertificateDer<'static>, Arc<CryptoProvider>);

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if end_entity.as_ref() == self.0.as_ref() {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General("not the test certificate".into()))
        }
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Err(rustls::Error::General("TLS 1.3 only".into()))
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
            &self.1.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.1.signature_verification_algorithms.supported_schemes()
    }
}

fn client_config() -> Arc<ClientConfig> {
    let cert = CertificateDer::from_pem_file(data("ec-cert.pem")).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(Pinned(cert, provider)))
        .with_no_client_auth();
    Arc::new(config)
}

/// Feeds everything `from` has to send into `to`. True if anything moved.
fn feed(from: &mut rustls::Connection, to: &mut rustls::Connection) -> bool {
    let mut wire = Vec::new();
    while from.wants_write() {
        from.write_tls(&mut wire).unwrap();
    }
    let mut rest = &wire[..];
    while !rest.is_empty() {
        to.read_tls(&mut rest).unwrap();
        to.process_new_packets().unwrap();
    }
    !wire.is_empty()
}

/// One handshake (plus the tickets that follow it), the server side putting `token` into the
/// tickets it issues; returns whether it resumed and the resumption data the client's ticket
/// carried.
fn handshake(
    server: &Arc<ServerConfig>,
    client: &Arc<ClientConfig>,
    token: Option<&[u8]>,
) -> (bool, Option<Vec<u8>>) {
    let name = ServerName::try_from("localhost").unwrap();
    let mut c: rustls::Connection = ClientConnection::new(Arc::clone(client), name)
        .unwrap()
        .into();
    let mut srv = ServerConnection::new(Arc::clone(server)).unwrap();
    if let Some(t) = token {
        // What the server does on control and data connections alike (`Stream::tls`).
        srv.set_resumption_data(t);
    }
    let mut s: rustls::Connection = srv.into();
    for _ in 0..20 {
        let a = feed(&mut c, &mut s);
        let b = feed(&mut s, &mut c);
        if !a && !b && !c.is_handshaking() && !s.is_handshaking() {
            break;
        }
    }
    assert!(
        !c.is_handshaking() && !s.is_handshaking(),
        "handshake stalled"
    );
    let rustls::Connection::Server(srv) = s else {
        unreachable!()
    };
    let resumed = srv.handshake_kind() == Some(rustls::HandshakeKind::Resumed);
    (resumed, srv.received_resumption_data().map(<[u8]>::to_vec))
}

#[test]
fn a_session_resumes_after_the_store_turned_over_many_times() {
    let server = load_server_config(&data("ec-cert.pem"), &data("ec-key.pem")).unwrap();
    let data_conns = data_config(&server);
    assert_eq!(data_conns.send_tls13_tickets, DATA_TICKETS);
    let client = client_config();
    let (resumed, _) = handshake(&server, &client, Some(b"control-A"));
    assert!(!resumed, "the first handshake is a full one");
    // A busy server: many times the store's capacity of other sessions since.
    for i in 0..(3 * SESSION_CACHE) {
        server
            .session_storage
            .put(format!("other-{i}").into_bytes(), vec![0; 64]);
    }
    // The client's next data connection still resumes the control session, token and all
    // (it carries none of its own: what it received came from the ticket).
    let (resumed, token) = handshake(&data_conns, &client, None);
    assert!(resumed, "the ticket of an idle session was lost");
    assert_eq!(token.as_deref(), Some(&b"control-A"[..]));
    // ...and again with a ticket a data connection issued, as the server issues them.
    let (resumed, _) = handshake(&data_conns, &client, Some(b"control-A"));
    assert!(resumed);
    let (resumed, token) = handshake(&data_conns, &client, None);
    assert!(resumed);
    assert_eq!(token.as_deref(), Some(&b"control-A"[..]));
}

#[test]
fn tickets_from_another_configuration_do_not_resume() {
    let a = load_server_config(&data("ec-cert.pem"), &data("ec-key.pem")).unwrap();
    let b = load_server_config(&data("ec-cert.pem"), &data("ec-key.pem")).unwrap();
    let client = client_config();
    handshake(&a, &client, Some(b"on-a"));
    // Another key (another server, or a configuration before a reload): a full handshake,
    // which the data-connection check then refuses.
    let (resumed, token) = handshake(&b, &client, None);
    assert!(!resumed);
    assert_eq!(token, None);
}
