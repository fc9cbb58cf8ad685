//! FTPS faults against the in-process server: broken or stalled TLS handshakes on the control
//! and data connections never stall the event loop or crash it (other sessions keep being
//! served), a stalled handshake is ended by the idle timeout, and loading a bad certificate or
//! key fails with an error that names the file and the problem.

mod common;
mod tlsutil;

use std::io::{self, Write};
use std::net::TcpStream;
use std::time::Duration;

use ftpdlib::tls::TlsSettings;
use rustls::pki_types::ServerName;
use rustls::ClientConnection;

use common::{TempDir, IO_TIMEOUT};
use tlsutil::{client_config, data_path, wait_closed, FtpsCtrl, FtpsServer, Mode};

/// How long the server may take to close a connection it must close.
const CLOSE_LIMIT: Duration = Duration::from_secs(5);

/// A normal secure session still works: greeting, login, NOOP.
#[track_caller]
fn server_still_serves(srv: &FtpsServer) {
    let (mut c, greeting) = FtpsCtrl::connect_implicit(srv.implicit_addr(), &client_config());
    assert_eq!(greeting.code, 220, "{greeting:?}");
    c.login("user", "pass");
    c.expect("NOOP", 200);
}

/// The first half of a real TLS ClientHello.
fn partial_client_hello() -> Vec<u8> {
    let name = ServerName::try_from("localhost").unwrap();
    let mut conn = ClientConnection::new(client_config(), name).unwrap();
    let mut hello = Vec::new();
    conn.write_tls(&mut hello).unwrap();
    assert!(hello.len() > 100, "ClientHello of {} bytes", hello.len());
    hello.truncate(hello.len() / 2);
    hello
}

/// True if nothing was received on `sock` and it is still open (checked without blocking).
fn silent_and_open(sock: &TcpStream) -> bool {
    sock.set_nonblocking(true).unwrap();
    let mut b = [0u8; 1];
    let r = sock.peek(&mut b);
    sock.set_nonblocking(false).unwrap();
    matches!(r, Err(e) if e.kind() == io::ErrorKind::WouldBlock)
}

#[test]
fn garbage_instead_of_a_handshake_closes_the_connection() {
    let srv = FtpsServer::default_tls();
    let (mut c, _) = FtpsCtrl::connect(srv.addr());
    let r = c.cmd("AUTH TLS");
    assert_eq!(r.code, 234);
    c.send_raw(b"this is not a TLS record, just plaintext garbage\r\n");
    let mut sock = c.tcp().try_clone().unwrap();
    let seen = wait_closed(&mut sock, CLOSE_LIMIT).unwrap();
    // At most a TLS alert (content type 21), never an FTP reply.
    assert!(seen.is_empty() || seen[0] == 21, "got {seen:?}");
    server_still_serves(&srv);
}

#[test]
fn plaintext_client_on_the_implicit_port_is_closed() {
    let srv = FtpsServer::default_tls();
    let mut sock = TcpStream::connect_timeout(&srv.implicit_addr(), IO_TIMEOUT).unwrap();
    sock.write_all(b"USER x\r\n").unwrap();
    let seen = wait_closed(&mut sock, CLOSE_LIMIT).unwrap();
    assert!(seen.is_empty() || seen[0] == 21, "got {seen:?}");
    server_still_serves(&srv);
}

#[test]
fn stalled_handshake_does_not_block_other_sessions() {
    let srv = FtpsServer::default_tls();
    let stalled = TcpStream::connect_timeout(&srv.implicit_addr(), IO_TIMEOUT).unwrap();
    (&stalled).write_all(&partial_client_hello()).unwrap();
    // Meanwhile, on both ports, other sessions are served at once.
    server_still_serves(&srv);
    let mut c = FtpsCtrl::connect_tls(srv.addr(), &client_config());
    c.login("user", "pass");
    c.expect("NOOP", 200);
    assert!(
        silent_and_open(&stalled),
        "the stalled client got an answer"
    );
}

#[test]
fn stalled_handshake_is_ended_by_the_idle_timeout() {
    let srv = FtpsServer::start(
        |_| {},
        |cfg| cfg.idle_timeout = Some(Duration::from_millis(500)),
    );
    let mut stalled = TcpStream::connect_timeout(&srv.implicit_addr(), IO_TIMEOUT).unwrap();
    stalled.write_all(&partial_client_hello()).unwrap();
    wait_closed(&mut stalled, CLOSE_LIMIT).unwrap();
    server_still_serves(&srv);
}

#[test]
fn failed_data_handshake_gives_522_and_the_session_goes_on() {
    let srv = FtpsServer::default_tls();
    std::fs::write(srv.file("f.txt"), b"data").unwrap();
    let cfg = client_config();
    let mut c = FtpsCtrl::secure_login(srv.addr(), &cfg);
    let r = c.cmd("PASV");
    let addr = tlsutil::passive_addr(&r, srv.addr().ip()).unwrap();
    let mut data = TcpStream::connect_timeout(&addr, IO_TIMEOUT).unwrap();
    data.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
    let r = c.cmd("RETR f.txt");
    let r = if r.code < 200 { c.final_reply() } else { r };
    assert_eq!(r.code, 522, "{r:?}");
    wait_closed(&mut data, CLOSE_LIMIT).unwrap();
    c.expect("NOOP", 200);
    // A proper transfer right after the failed one still works.
    assert_eq!(c.download(Mode::Pasv, &cfg, "RETR f.txt"), b"data");
}

/// The Display of `TlsSettings::load`'s error.
fn load_error(cert: &std::path::Path, key: &std::path::Path) -> String {
    TlsSettings::load(cert, key)
        .expect_err("loading must fail")
        .to_string()
}

#[test]
fn load_errors_name_the_file_and_the_problem() {
    let dir = TempDir::new("tls-load");
    let (cert, key) = (data_path("cert.pem"), data_path("key.pem"));

    let missing = dir.path().join("missing.pem");
    let e = load_error(&missing, &key);
    assert!(e.contains("missing.pem"), "{e}");
    let e = load_error(&cert, &missing);
    assert!(e.contains("missing.pem"), "{e}");

    let empty = dir.path().join("no-cert.pem");
    std::fs::write(&empty, "just some text, no PEM block\n").unwrap();
    let e = load_error(&empty, &key);
    assert!(
        e.contains("no-cert.pem") && e.contains("no certificate"),
        "{e}"
    );

    let e = load_error(&cert, &data_path("ec-key.pem"));
    assert!(
        e.contains("cert.pem") && e.contains("ec-key.pem") && e.contains("pair"),
        "{e}"
    );
    assert!(TlsSettings::load(&cert, &key).is_ok());
}

/// A client that uploads and closes at once, with the server's session ticket still unread on
/// its side (curl does this), resets the connection instead of closing it. The upload had
/// already arrived whole, ended by close_notify: it is complete (226), not a failure.
#[test]
fn an_upload_whose_client_resets_after_close_notify_is_complete() {
    let srv = FtpsServer::default_tls();
    let cfg = client_config();
    let mut c = FtpsCtrl::secure_login(srv.addr(), &cfg);
    c.expect("TYPE I", 200);
    let sock = c.open_data(Mode::Epsv, "STOR reset.bin").unwrap();
    let mut tls = tlsutil::tls_connect(sock, &cfg).unwrap();
    // Wait (bounded) until the server's ticket has arrived, unread, so that closing resets.
    let limit = std::time::Instant::now() + Duration::from_secs(5);
    let mut peek = [0u8; 1];
    tls.sock.set_nonblocking(true).unwrap();
    while !matches!(tls.sock.peek(&mut peek), Ok(n) if n > 0) {
        assert!(
            std::time::Instant::now() < limit,
            "no session ticket arrived"
        );
        std::thread::yield_now();
    }
    tls.sock.set_nonblocking(false).unwrap();
    tlsutil::write_tls_and_close(&mut tls, b"all of it").unwrap();
    drop(tls);
    let r = c.final_reply();
    assert_eq!(r.code, 226, "{r:?}");
    assert_eq!(std::fs::read(srv.file("reset.bin")).unwrap(), b"all of it");
}
