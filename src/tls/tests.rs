//! Session reuse in memory, without sockets: a rustls client and the server's configuration.

use super::*;
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, ServerConnection};

/// The integration tests' pinning client configuration (the test certificates are
/// self-signed, which webpki refuses as end entities).
#[allow(dead_code)]
#[path = "../../tests/tlsutil/verify.rs"]
mod verify;

fn data(name: &str) -> PathBuf {
    verify::data_path(name)
}

fn client_config() -> Arc<ClientConfig> {
    verify::client_config()
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
