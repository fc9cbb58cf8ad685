//! FTPS (RFC 4217) against the in-process server, over real sockets with a rustls client:
//! AUTH TLS and the protected session, PROT P transfers in passive and active mode, TLS session
//! reuse on data connections (TLS 1.3 and 1.2), the security command sequence, the TLS
//! policies, implicit FTPS, EC certificates and uploads cut without close_notify.
//! Broken handshakes and certificate loading errors are in `ftps_faults.rs`.

mod common;
mod tlsutil;

use std::fs;
use std::io::Write;
use std::net::Shutdown;
use std::sync::Arc;

use rustls::{ClientConfig, HandshakeKind, ProtocolVersion};

use common::TestServer;
use tlsutil::{
    client_config, client_config_tls12, no_resumption, pattern, read_cert, settings, tls_connect,
    FtpsCtrl, FtpsServer, Mode, EC_CERT, RSA_CERT,
};

/// LIST, RETR and STOR under PROT P in `mode`, in one session, compared byte for byte.
fn transfers_in(mode: Mode) {
    let srv = FtpsServer::default_tls();
    let data = pattern(300_000, 7);
    fs::write(srv.file("hello.bin"), &data).unwrap();
    let cfg = client_config();
    let mut c = FtpsCtrl::secure_login(srv.addr(), &cfg);
    let list = c.download(mode, &cfg, "LIST");
    let list = String::from_utf8_lossy(&list);
    assert!(list.contains("hello.bin"), "LIST: {list}");
    let got = c.download(mode, &cfg, "RETR hello.bin");
    assert!(got == data, "RETR differs");
    let up = pattern(200_000, 9);
    let r = c.upload(mode, &cfg, "STOR up.bin", &up);
    assert_eq!(r.code, 226, "STOR -> {r:?}");
    let stored = fs::read(srv.file("up.bin")).unwrap();
    assert!(stored == up, "stored file differs");
    c.expect("QUIT", 221);
}

#[test]
fn transfers_under_prot_p_with_pasv() {
    transfers_in(Mode::Pasv);
}

#[test]
fn transfers_under_prot_p_with_epsv() {
    transfers_in(Mode::Epsv);
}

#[test]
fn transfers_under_prot_p_with_port() {
    transfers_in(Mode::Port);
}

#[test]
fn multi_mebibyte_transfers_both_ways() {
    let srv = FtpsServer::default_tls();
    let big = pattern(5 * 1024 * 1024 + 123, 11);
    fs::write(srv.file("big.bin"), &big).unwrap();
    let cfg = client_config();
    let mut c = FtpsCtrl::secure_login(srv.addr(), &cfg);
    let got = c.download(Mode::Epsv, &cfg, "RETR big.bin");
    assert_eq!(got.len(), big.len());
    assert!(got == big, "downloaded bytes differ");
    let r = c.upload(Mode::Pasv, &cfg, "STOR copy.bin", &big);
    assert_eq!(r.code, 226, "{r:?}");
    assert!(
        fs::read(srv.file("copy.bin")).unwrap() == big,
        "uploaded bytes differ"
    );
}

/// RETR whose data handshake is inspected: how it went, the TLS version, and the data.
fn retr_inspected(
    c: &mut FtpsCtrl,
    cfg: &Arc<ClientConfig>,
    name: &str,
) -> (Option<HandshakeKind>, Option<ProtocolVersion>, Vec<u8>) {
    let sock = c.open_data(Mode::Pasv, &format!("RETR {name}")).unwrap();
    let mut tls = tls_connect(sock, cfg).expect("data handshake");
    let kind = tls.conn.handshake_kind();
    let version = tls.conn.protocol_version();
    let data = tlsutil::read_tls_to_end(&mut tls).expect("data ended by close_notify");
    let r = c.final_reply();
    assert_eq!(r.code, 226, "RETR {name} -> {r:?}");
    (kind, version, data)
}

/// Eight consecutive data connections resuming the control session all succeed: more than the
/// control connection's four tickets, so the ticket each data connection issues must keep a
/// client that spends one per connection (rustls) supplied.
fn resumes_eight_times(cfg: Arc<ClientConfig>, version: ProtocolVersion) {
    let srv = FtpsServer::default_tls();
    let data = pattern(50_000, 3);
    fs::write(srv.file("f.bin"), &data).unwrap();
    let mut c = FtpsCtrl::secure_login(srv.addr(), &cfg);
    for i in 0..8 {
        let (kind, v, got) = retr_inspected(&mut c, &cfg, "f.bin");
        assert_eq!(kind, Some(HandshakeKind::Resumed), "data connection {i}");
        assert_eq!(v, Some(version), "data connection {i}");
        assert!(got == data, "data connection {i}: bytes differ");
    }
    c.expect("NOOP", 200);
}

/// rustls' client cache hands out its newest ticket, which the previous data connection
/// issued: those tickets must carry the control session's token too. (Resuming one and the
/// same session again and again, which needs the non-consuming server store, is what OpenSSL
/// clients do: see `python_ftp_tls_resuming_the_session_downloads_and_lists` in
/// `ftps_interop.rs`.)
#[test]
fn eight_data_connections_resume_the_control_session() {
    resumes_eight_times(client_config(), ProtocolVersion::TLSv1_3);
}

#[test]
fn tls12_client_resumes_on_data_connections() {
    resumes_eight_times(client_config_tls12(), ProtocolVersion::TLSv1_2);
}

#[test]
fn data_connection_without_resumption_is_refused_with_522() {
    let srv = FtpsServer::default_tls();
    fs::write(srv.file("f.txt"), b"secret").unwrap();
    let mut c = FtpsCtrl::secure_login(srv.addr(), &client_config());
    let (data, r) = c.try_download(Mode::Pasv, &no_resumption(), "RETR f.txt");
    assert_eq!(
        (r.code, r.text.as_str()),
        (522, "TLS session reuse required on the data connection.")
    );
    assert!(
        data.as_ref().map_or(true, |d| d.is_empty()),
        "file sent anyway: {data:?}"
    );
    c.expect("NOOP", 200);
}

#[test]
fn full_data_handshake_is_accepted_when_reuse_is_not_required() {
    let srv = FtpsServer::start(|t| t.require_session_reuse = false, |_| {});
    fs::write(srv.file("f.txt"), b"not so secret").unwrap();
    let mut c = FtpsCtrl::secure_login(srv.addr(), &client_config());
    let got = c.download(Mode::Pasv, &no_resumption(), "RETR f.txt");
    assert_eq!(got, b"not so secret");
}

#[test]
fn commands_pipelined_after_auth_are_discarded() {
    let srv = FtpsServer::default_tls();
    let (mut c, greeting) = FtpsCtrl::connect(srv.addr());
    assert_eq!(greeting.code, 220);
    // A man in the middle appends commands to the client's AUTH, in plaintext.
    c.send_raw(b"AUTH TLS\r\nUSER user\r\nPASS pass\r\n");
    let r = c.read_reply();
    assert_eq!(r.code, 234, "{r:?}");
    c.start_tls(&client_config()).expect("handshake");
    c.expect("PWD", 530);
    c.login("user", "pass");
    c.expect("PWD", 257);
}

#[test]
fn security_commands_follow_rfc_4217_sequence() {
    let srv = FtpsServer::default_tls();
    let (mut c, _) = FtpsCtrl::connect(srv.addr());
    c.expect("PBSZ 0", 503);
    c.expect("PROT P", 503);
    c.expect("AUTH XYZ", 504);
    c.auth_tls(&client_config());
    c.expect("AUTH TLS", 503);
    c.expect("PROT P", 503);
    c.expect_line("PBSZ 0", "200 PBSZ=0 successful.");
    let r = c.expect("PBSZ 1024", 200);
    assert!(r.text.contains("PBSZ=0"), "{r:?}");
    c.expect("PROT C", 200);
    c.expect("PROT P", 200);
    c.expect("PROT S", 536);
    c.expect("PROT E", 536);
    c.expect("PROT X", 504);
    c.login("user", "pass");
    c.expect("CCC", 534);
    // The session is still protected and working after all the refusals.
    c.expect("NOOP", 200);
}

fn feat_lines(lines: &str) -> Vec<String> {
    lines.lines().map(|l| l.trim().to_owned()).collect()
}

#[test]
fn feat_advertises_tls_only_when_configured() {
    let tls = ["AUTH TLS", "AUTH SSL", "PBSZ", "PROT"];
    let srv = FtpsServer::default_tls();
    let (mut c, _) = FtpsCtrl::connect(srv.addr());
    let feat = feat_lines(&c.expect("FEAT", 211).text);
    for f in tls {
        assert!(feat.iter().any(|l| l == f), "{f} missing from {feat:?}");
    }
    let plain = TestServer::with_user();
    let mut p = plain.connect();
    let feat = feat_lines(&p.expect("FEAT", 211).text);
    for f in tls {
        assert!(!feat.iter().any(|l| l == f), "{f} advertised without TLS");
    }
    p.expect("AUTH TLS", 502);
}

#[test]
fn control_required_refuses_login_before_auth() {
    let srv = FtpsServer::start(|t| t.control_required = true, |_| {});
    let (mut c, _) = FtpsCtrl::connect(srv.addr());
    c.expect_line("USER user", "550 SSL/TLS required on the control channel.");
    c.expect("PASS pass", 550);
    c.auth_tls(&client_config());
    c.login("user", "pass");
}

#[test]
fn data_required_refuses_clear_data_connections() {
    let srv = FtpsServer::start(|t| t.data_required = true, |_| {});
    let cfg = client_config();
    let mut c = FtpsCtrl::connect_tls(srv.addr(), &cfg);
    c.login("user", "pass");
    c.expect("PBSZ 0", 200);
    c.expect("PROT C", 200);
    c.expect("PASV", 522);
    c.expect("PROT P", 200);
    let list = c.download(Mode::Pasv, &cfg, "NLST");
    assert!(list.is_empty(), "empty root lists nothing: {list:?}");
}

#[test]
fn implicit_tls_greets_over_tls_and_protects_data_by_default() {
    let srv = FtpsServer::default_tls();
    fs::write(srv.file("visible.txt"), b"x").unwrap();
    let cfg = client_config();
    let (mut c, greeting) = FtpsCtrl::connect_implicit(srv.implicit_addr(), &cfg);
    assert_eq!(greeting.code, 220, "{greeting:?}");
    assert_eq!(c.peer_certificate(), Some(read_cert(RSA_CERT)));
    c.login("user", "pass");
    // No PBSZ/PROT: the data connection is TLS (the client's handshake would fail otherwise).
    let list = c.download(Mode::Pasv, &cfg, "LIST");
    assert!(String::from_utf8_lossy(&list).contains("visible.txt"));
}

#[test]
fn ec_certificate_works() {
    let srv = FtpsServer::with_settings(settings("ec-cert.pem", "ec-key.pem"), |_| {});
    fs::write(srv.file("ec.bin"), b"elliptic").unwrap();
    let cfg = client_config();
    let mut c = FtpsCtrl::secure_login(srv.addr(), &cfg);
    assert_eq!(c.peer_certificate(), Some(read_cert(EC_CERT)));
    assert_eq!(c.download(Mode::Pasv, &cfg, "RETR ec.bin"), b"elliptic");
}

#[test]
fn upload_ended_without_close_notify_is_kept() {
    let srv = FtpsServer::default_tls();
    let cfg = client_config();
    let mut c = FtpsCtrl::secure_login(srv.addr(), &cfg);
    let data = pattern(150_000, 5);
    let sock = c.open_data(Mode::Pasv, "STOR cut.bin").unwrap();
    let mut tls = tls_connect(sock, &cfg).expect("data handshake");
    tls.write_all(&data).unwrap();
    tls.flush().unwrap();
    // TCP FIN without TLS close_notify.
    tls.sock.shutdown(Shutdown::Write).unwrap();
    let r = c.final_reply();
    assert_eq!(r.code, 226, "{r:?}");
    drop(tls);
    assert!(
        fs::read(srv.file("cut.bin")).unwrap() == data,
        "stored bytes differ"
    );
}

#[test]
fn upload_ended_with_close_notify_is_answered_in_kind() {
    let srv = FtpsServer::default_tls();
    let cfg = client_config();
    let mut c = FtpsCtrl::secure_login(srv.addr(), &cfg);
    let sock = c.open_data(Mode::Pasv, "STOR clean.bin").unwrap();
    let mut tls = tls_connect(sock, &cfg).expect("data handshake");
    tlsutil::write_tls_and_close(&mut tls, b"all of it").unwrap();
    let end = tlsutil::read_tls_to_end(&mut tls);
    assert!(matches!(&end, Ok(rest) if rest.is_empty()), "{end:?}");
    assert_eq!(c.final_reply().code, 226);
    assert_eq!(fs::read(srv.file("clean.bin")).unwrap(), b"all of it");
}
