//! TLS client certificates with the real daemon: `--tls-client-ca` in `require` and `request`
//! mode, and users-file accounts bound to a certificate (`cert_cn=`, `cert_sha256=`,
//! `cert_only=yes`), over real sockets with a rustls client, curl and lftp. The PKI (a CA, the
//! client certificates it issues, a self-signed stranger) is made at test time with the
//! `openssl` command line.

mod common;
mod tlsutil;

use std::io::Read;
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use common::require_tool;
use rustls::ClientConfig;
use tlsutil::client_pki::Pki;
use tlsutil::{
    assert_success, client_config, client_config_with_cert, client_config_with_cert_for, data_path,
    run_client, tls_connect, FtpsCtrl, FtpsDaemon, Mode,
};

/// `$6$` hash of [`PASSWORD`] (as in `tests/acct`).
const HASH: &str = "$6$sixsalt$kB9lCK6VtE/s42GdY7PecoS0EKBCxXTLsnkIPPSh52Wjo2zWJXBWhqL5sVj2JWGdt76gct6Kp1ZP8PZVrR7zO/";
const PASSWORD: &str = "six-pw";
/// Longest a client program or a log line may take.
const LIMIT: Duration = Duration::from_secs(60);

/// A certificate and its key.
type Cert = (PathBuf, PathBuf);

/// The daemon with a users file whose accounts are bound to certificates of a fresh PKI.
struct Site {
    // Declared first: the daemon stops before the PKI directory (its users file) goes.
    d: FtpsDaemon,
    _pki: Pki,
    /// CN=alice, issued by the CA.
    alice: Cert,
    /// CN=alice too, another key: same name, other fingerprint.
    alice2: Cert,
    /// CN=robot, issued by the CA: the certificate-only account's.
    robot: Cert,
    /// CN=alice, self-signed: not issued by the CA.
    stranger: Cert,
}

/// Accounts: `alice` (CN alice + password), `robot` (certificate alone), `pinned` (alice's
/// fingerprint + password), `plain` (password only); all share a home with `hello.txt`.
fn site(mode: &str, extra: &[&str]) -> Site {
    let pki = Pki::new();
    let (alice, alice2) = (pki.issue("alice", "alice"), pki.issue("alice2", "alice"));
    let robot = pki.issue("robot", "robot");
    let stranger = pki.self_signed("stranger", "alice");
    let home = pki.path("home");
    std::fs::create_dir(&home).unwrap();
    std::fs::write(home.join("hello.txt"), b"hello by certificate\n").unwrap();
    let h = home.display();
    let fingerprint = pki.fingerprint(&alice.0);
    let users = format!(
        "alice:{HASH}:elr:{h}:cert_cn=alice\n\
         robot:{HASH}:elr:{h}:cert_cn=robot,cert_only=yes\n\
         quotabot:{HASH}:elr:{h}:cert_cn=robot,cert_only=yes,quota_bytes=1000\n\
         pinned:{HASH}:elr:{h}:cert_sha256={fingerprint}\n\
         plain:{HASH}:elr:{h}\n"
    );
    std::fs::write(pki.path("users"), users).unwrap();
    let (ca, file) = (pki.ca(), pki.path("users"));
    let mut flags = vec![
        "--users-file",
        file.to_str().unwrap(),
        "--allow-root",
        "--tls-client-ca",
        ca.to_str().unwrap(),
        "--tls-client-cert",
        mode,
    ];
    flags.extend(extra);
    let d = FtpsDaemon::start(&data_path("cert.pem"), &data_path("key.pem"), &flags);
    Site {
        d,
        _pki: pki,
        alice,
        alice2,
        robot,
        stranger,
    }
}

/// A client configuration presenting `cert`, or none.
fn config(cert: Option<&Cert>) -> Arc<ClientConfig> {
    cert.map_or_else(client_config, |(c, k)| client_config_with_cert(c, k))
}

/// AUTH TLS on the explicit port, presenting `cert`.
fn connect(s: &Site, cert: Option<&Cert>) -> (FtpsCtrl, Arc<ClientConfig>) {
    let config = config(cert);
    (FtpsCtrl::connect_tls(s.d.addr(), &config), config)
}

/// USER + PASS; the final code of PASS.
fn login(c: &mut FtpsCtrl, user: &str, pass: &str) -> u16 {
    c.expect(&format!("USER {user}"), 331);
    c.cmd(&format!("PASS {pass}")).code
}

/// True if the server ends an implicit-TLS connection presenting `cert` before its greeting.
fn refused_at_handshake(addr: SocketAddr, cert: Option<&Cert>) -> bool {
    let sock = TcpStream::connect(addr).expect("connect");
    match tls_connect(sock, &config(cert)) {
        Err(_) => true,
        // TLS 1.3: the client finishes before the server has checked its certificate.
        Ok(mut tls) => matches!(tls.read(&mut [0u8; 64]), Err(_) | Ok(0)),
    }
}

/// PROT P, then LIST and RETR hello.txt over protected data connections.
fn list_and_retrieve(c: &mut FtpsCtrl, config: &Arc<ClientConfig>) {
    c.expect("PBSZ 0", 200);
    c.expect("PROT P", 200);
    c.expect("TYPE I", 200);
    let list = c.download(Mode::Epsv, config, "LIST");
    assert!(String::from_utf8_lossy(&list).contains("hello.txt"));
    let data = c.download(Mode::Pasv, config, "RETR hello.txt");
    assert_eq!(data, b"hello by certificate\n");
}

#[test]
fn require_mode_refuses_clients_without_a_certificate_of_the_ca_at_the_handshake() {
    if !require_tool("openssl") {
        return;
    }
    let s = site("require", &[]);
    let implicit = SocketAddr::from(([127, 0, 0, 1], s.d.implicit_port()));
    assert!(refused_at_handshake(implicit, None), "no certificate");
    assert!(
        refused_at_handshake(implicit, Some(&s.stranger)),
        "self-signed"
    );
    assert!(!refused_at_handshake(implicit, Some(&s.alice)), "the CA's");
    // A client with a certificate logs in as a password-only user, data connections included,
    // with TLS 1.3 and with TLS 1.2.
    let (mut c, config) = connect(&s, Some(&s.alice));
    assert_eq!(login(&mut c, "plain", PASSWORD), 230);
    list_and_retrieve(&mut c, &config);
    let (cert, key) = &s.alice;
    let tls12 = client_config_with_cert_for(cert, key, &[&rustls::version::TLS12]);
    let mut c = FtpsCtrl::connect_tls(s.d.addr(), &tls12);
    assert_eq!(login(&mut c, "alice", PASSWORD), 230);
    list_and_retrieve(&mut c, &tls12);
}

#[test]
fn request_mode_lets_clients_without_a_certificate_in_but_not_as_bound_users() {
    if !require_tool("openssl") {
        return;
    }
    let s = site("request", &[]);
    let implicit = SocketAddr::from(([127, 0, 0, 1], s.d.implicit_port()));
    assert!(
        refused_at_handshake(implicit, Some(&s.stranger)),
        "self-signed"
    );
    let (mut c, _) = connect(&s, None);
    assert_eq!(login(&mut c, "alice", PASSWORD), 530);
    assert!(s.d.wait_log("reason=cert-missing", LIMIT).is_some());
    // The certificate-only user is asked for a password, and still needs the certificate.
    assert_eq!(login(&mut c, "robot", PASSWORD), 530);
    assert!(s.d.wait_log("reason=cert-missing", LIMIT).is_some());
    let (mut c, config) = connect(&s, None);
    assert_eq!(login(&mut c, "plain", PASSWORD), 230);
    list_and_retrieve(&mut c, &config);
}

#[test]
fn a_certificate_only_user_is_logged_in_by_user_with_232() {
    if !require_tool("openssl") {
        return;
    }
    let s = site("request", &[]);
    let (mut c, config) = connect(&s, Some(&s.robot));
    let r = c.cmd("USER robot");
    assert_eq!(r.code, 232, "{r:?}");
    assert!(s
        .d
        .wait_log("authorized by client certificate", LIMIT)
        .is_some());
    list_and_retrieve(&mut c, &config);
    // Another certificate of the CA is not robot's: the password is asked, then refused.
    let (mut c, _) = connect(&s, Some(&s.alice));
    assert_eq!(login(&mut c, "robot", PASSWORD), 530);
    assert!(s.d.wait_log("reason=cert-mismatch", LIMIT).is_some());
}

#[test]
fn a_certificate_only_user_with_a_quota_gets_232_once_its_usage_is_measured() {
    if !require_tool("openssl") {
        return;
    }
    let s = site("request", &[]);
    let (mut c, _) = connect(&s, Some(&s.robot));
    // The usage is measured on the blocking pool before the 232, as after PASS.
    assert_eq!(c.cmd("USER quotabot").code, 232);
    let r = c.expect("SITE QUOTA", 211);
    assert_eq!(
        r.lines()[1].trim(),
        "Bytes: 21 used, 1000 limit, 979 left",
        "{r:?}"
    );
}

#[test]
fn a_cert_cn_binding_needs_the_password_and_a_certificate_with_that_name() {
    if !require_tool("openssl") {
        return;
    }
    let s = site("request", &[]);
    let (mut c, config) = connect(&s, Some(&s.alice));
    assert_eq!(login(&mut c, "alice", "wrong"), 530);
    assert_eq!(login(&mut c, "alice", PASSWORD), 230);
    list_and_retrieve(&mut c, &config);
    // Any certificate of the CA named alice will do; one named robot will not.
    let (mut c, _) = connect(&s, Some(&s.alice2));
    assert_eq!(login(&mut c, "alice", PASSWORD), 230);
    let (mut c, _) = connect(&s, Some(&s.robot));
    assert_eq!(login(&mut c, "alice", PASSWORD), 530);
    assert!(s.d.wait_log("reason=cert-mismatch", LIMIT).is_some());
    // Plain FTP (no TLS) has no certificate.
    let (mut c, greeting) = FtpsCtrl::connect(s.d.addr());
    assert_eq!(greeting.code, 220);
    assert_eq!(login(&mut c, "alice", PASSWORD), 530);
    assert!(s.d.wait_log("reason=cert-missing", LIMIT).is_some());
}

#[test]
fn a_cert_sha256_binding_tells_certificates_with_the_same_name_apart() {
    if !require_tool("openssl") {
        return;
    }
    let s = site("require", &[]);
    let (mut c, _) = connect(&s, Some(&s.alice));
    assert_eq!(login(&mut c, "pinned", PASSWORD), 230);
    let (mut c, _) = connect(&s, Some(&s.alice2));
    assert_eq!(login(&mut c, "pinned", PASSWORD), 530);
    assert!(s.d.wait_log("reason=cert-mismatch", LIMIT).is_some());
}

#[test]
fn a_refused_certificate_counts_as_a_failed_login_for_bans() {
    if !require_tool("openssl") {
        return;
    }
    let s = site("request", &["--ban-after", "1"]);
    let (mut c, _) = connect(&s, Some(&s.robot));
    assert_eq!(login(&mut c, "alice", PASSWORD), 530);
    assert!(s.d.wait_log("reason=banned", LIMIT).is_some());
    let (_, greeting) = FtpsCtrl::connect(s.d.addr());
    assert_eq!(greeting.code, 421, "{greeting:?}");
}

/// Runs curl with `args`, asserting success; its standard output.
fn curl(args: &[&str]) -> String {
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "--max-time", "50", "--ssl-reqd", "-k"])
        .args(args);
    let out = run_client(&mut cmd, LIMIT);
    assert_success(&out, "curl");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn curl_logs_in_with_a_certificate_and_lists() {
    if !require_tool("openssl") || !require_tool("curl") {
        return;
    }
    let s = site("require", &[]);
    let port = s.d.port();
    let (cert, key) = (s.alice.0.to_str().unwrap(), s.alice.1.to_str().unwrap());
    let url = format!("ftp://alice:{PASSWORD}@127.0.0.1:{port}/");
    let list = curl(&["--cert", cert, "--key", key, &url]);
    assert!(list.contains("hello.txt"), "{list}");
    // The certificate alone: curl takes 232 to USER as logged in.
    let (cert, key) = (s.robot.0.to_str().unwrap(), s.robot.1.to_str().unwrap());
    let url = format!("ftp://127.0.0.1:{port}/hello.txt");
    let got = curl(&["--cert", cert, "--key", key, "-u", "robot:", &url]);
    assert_eq!(got, "hello by certificate\n");
}

#[test]
fn lftp_logs_in_with_a_certificate_and_lists() {
    if !require_tool("openssl") || !require_tool("lftp") {
        return;
    }
    let s = site("require", &[]);
    let script = format!(
        "set ftp:ssl-force true; set ftp:ssl-protect-data true; \
         set ssl:verify-certificate no; set net:max-retries 1; set net:timeout 10; \
         set ssl:cert-file {}; set ssl:key-file {}; \
         open -u alice,{PASSWORD} ftp://127.0.0.1:{}; cls -1; cat hello.txt",
        s.alice.0.display(),
        s.alice.1.display(),
        s.d.port()
    );
    let out = run_client(Command::new("lftp").args(["-c", &script]), LIMIT);
    assert_success(&out, "lftp");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("hello.txt\n"), "{text}");
    assert!(text.contains("hello by certificate"), "{text}");
    assert!(s.d.wait_log("USER 'alice' logged in", LIMIT).is_some());
}

/// Runs the daemon binary with `args` to completion: (exit code, stdout, stderr).
fn run_daemon(args: &[&str]) -> (Option<i32>, String, String) {
    let root = common::TempDir::new("clientcert-cli");
    let mut cmd = Command::new(common::BIN);
    cmd.args(["-i", "127.0.0.1", "-p", "0", "-d"])
        .arg(root.path())
        .args(args);
    let out = run_client(&mut cmd, LIMIT);
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.code(), text(&out.stdout), text(&out.stderr))
}

#[test]
fn the_client_certificate_flags_are_checked_at_startup() {
    if !require_tool("openssl") {
        return;
    }
    let pki = Pki::new();
    let (cert, key) = (data_path("cert.pem"), data_path("key.pem"));
    let tls = ["--tls", "--certfile", cert.to_str().unwrap()];
    let tls = [&tls[..], &["--keyfile", key.to_str().unwrap()]].concat();
    let ca = pki.ca();
    let with = |extra: &[&str]| run_daemon(&[&tls[..], extra, &["--check"]].concat());

    let (code, _, err) = with(&["--tls-client-cert", "require"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("--tls-client-cert needs --tls-client-ca"),
        "{err}"
    );
    let (code, _, err) = with(&["--tls-client-ca", "/nonexistent/ca.pem"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("client CA file /nonexistent/ca.pem"), "{err}");
    let (code, _, err) = with(&["--tls-client-ca", key.to_str().unwrap()]);
    assert_eq!(code, Some(2), "not a certificate: {err}");
    assert!(err.contains("no certificate found"), "{err}");
    let (code, _, err) = run_daemon(&["--tls-client-ca", ca.to_str().unwrap(), "--check"]);
    assert_eq!(code, Some(2), "without --tls: {err}");

    let (code, out, err) = with(&["--tls-client-ca", ca.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("TLS client certificates: requested"), "{out}");
    let (code, out, err) = with(&[
        "--tls-client-ca",
        ca.to_str().unwrap(),
        "--tls-client-cert",
        "require",
    ]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("TLS client certificates: required"), "{out}");
}
