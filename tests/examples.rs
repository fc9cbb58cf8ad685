//! Every example, run as its own process (`target/<profile>/examples/NAME`, built if missing)
//! on port 0, and driven by a raw FTP client over 127.0.0.1: what each example's documentation
//! promises is what these tests check.

mod common;
mod exutil;
mod tlsutil;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use common::{Ctrl, TempDir, IO_TIMEOUT};
use exutil::{download, lines, open_data, pattern, read_all, upload, Example};
use tlsutil::{client_config, data_path, read_cert, FtpsCtrl, Mode, EC_CERT, RSA_CERT};

fn arg(p: &Path) -> &str {
    p.to_str().expect("temp paths are UTF-8")
}

/// Connects, checks the greeting and logs in.
#[track_caller]
fn login(ex: &Example, user: &str, pass: &str) -> Ctrl {
    let (mut c, greeting) = Ctrl::connect(ex.addr());
    assert_eq!(greeting.code, 220, "greeting: {greeting:?}");
    c.login(user, pass);
    c
}

#[test]
fn minimal_serves_a_directory_read_only() {
    let dir = TempDir::new("ex-minimal");
    std::fs::write(dir.path().join("hello.txt"), b"hello from minimal\n").unwrap();
    let ex = Example::start("minimal", &["0", arg(dir.path())]);
    assert!(ex.addr().ip().is_loopback(), "{}", ex.addr());

    let mut c = login(&ex, "anonymous", "guest@example.com");
    let listing = lines(&mut c, "LIST");
    assert_eq!(listing.len(), 1, "{listing:?}");
    assert!(listing[0].ends_with(" hello.txt"), "{listing:?}");
    c.expect("TYPE I", 200);
    assert_eq!(download(&mut c, "RETR hello.txt"), b"hello from minimal\n");

    let r = upload(&mut c, "STOR new.txt", b"nope");
    assert_eq!(r.code, 550, "anonymous is read-only: {r:?}");
    assert!(!dir.path().join("new.txt").exists());
    c.expect("QUIT", 221);
}

#[test]
fn ftps_requires_tls_and_serves_explicit_and_implicit() {
    let dir = TempDir::new("ex-ftps");
    std::fs::write(dir.path().join("secret.txt"), b"for TLS eyes only").unwrap();
    let mut ex = Example::start("ftps", &["0", "0", arg(dir.path())]);
    let implicit = ex.addr_line("implicit FTPS listening on ");
    assert_ne!(implicit, ex.addr());
    let config = client_config();

    // control_required: no login in clear text.
    let (mut plain, greeting) = FtpsCtrl::connect(ex.addr());
    assert_eq!(greeting.code, 220);
    plain.expect_line("USER user", "550 SSL/TLS required on the control channel.");

    // Explicit: AUTH TLS, pinned to the default certificate.
    let mut c = FtpsCtrl::connect_tls(ex.addr(), &config);
    assert_eq!(c.peer_certificate(), Some(read_cert(RSA_CERT)));
    c.login("user", "pass");
    // data_required: no data connection under PROT C.
    c.expect("PASV", 522);
    c.expect("PBSZ 0", 200);
    c.expect("PROT P", 200);
    c.expect("TYPE I", 200);
    let names = c.download(Mode::Pasv, &config, "NLST");
    assert_eq!(names, b"secret.txt\r\n");
    let data = c.download(Mode::Epsv, &config, "RETR secret.txt");
    assert_eq!(data, b"for TLS eyes only");

    // Implicit: TLS from the first byte, then the greeting.
    let (mut i, greeting) = FtpsCtrl::connect_implicit(implicit, &config);
    assert_eq!(greeting.code, 220, "{greeting:?}");
    assert_eq!(i.peer_certificate(), Some(read_cert(RSA_CERT)));
    i.login("user", "pass");
    i.expect_line("PWD", "257 \"/\" is the current directory.");
    i.expect("PBSZ 0", 200);
    i.expect("PROT P", 200);
    let data = i.download(Mode::Pasv, &config, "RETR secret.txt");
    assert_eq!(data, b"for TLS eyes only");
}

#[test]
fn ftps_takes_the_certificate_from_its_arguments() {
    let dir = TempDir::new("ex-ftps-ec");
    let (cert, key) = (data_path("ec-cert.pem"), data_path("ec-key.pem"));
    let args = ["0", "0", arg(dir.path()), arg(&cert), arg(&key)];
    let ex = Example::start("ftps", &args);
    let c = FtpsCtrl::connect_tls(ex.addr(), &client_config());
    assert_eq!(c.peer_certificate(), Some(read_cert(EC_CERT)));
}

/// Writes `data` to the echo service from another thread while reading the echo here, so
/// that neither side's buffers can fill up and stall the other.
fn echo_round_trip(addr: std::net::SocketAddr, data: &[u8]) -> Vec<u8> {
    let mut sock = TcpStream::connect_timeout(&addr, IO_TIMEOUT).unwrap();
    sock.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    sock.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
    let mut writer = sock.try_clone().unwrap();
    let sent = data.to_vec();
    let t = std::thread::spawn(move || writer.write_all(&sent));
    let mut back = vec![0u8; data.len()];
    sock.read_exact(&mut back).expect("echo");
    t.join().unwrap().expect("write to echo");
    back
}

#[test]
fn embed_runs_echo_and_ftp_in_one_poll() {
    let dir = TempDir::new("ex-embed");
    std::fs::write(dir.path().join("shared.txt"), b"x").unwrap();
    let mut ex = Example::start("embed", &["0", "0", arg(dir.path())]);
    let echo = ex.addr_line("echo listening on ");
    assert_ne!(echo, ex.addr());

    assert_eq!(echo_round_trip(echo, b"ping\n"), b"ping\n");
    let mut c = login(&ex, "anonymous", "guest@example.com");
    c.expect_line("PWD", "257 \"/\" is the current directory.");
    // Both services at once: a large echo (the example's write buffering) during a session.
    let big = pattern(512 * 1024);
    assert!(
        echo_round_trip(echo, &big) == big,
        "echo corrupted the data"
    );
    assert_eq!(lines(&mut c, "NLST"), ["shared.txt"]);
    c.expect("QUIT", 221);
}

#[test]
fn custom_authorizer_table_callback_and_private_dir() {
    let dir = TempDir::new("ex-auth");
    std::fs::write(dir.path().join("public.txt"), b"public").unwrap();
    std::fs::create_dir(dir.path().join("private")).unwrap();
    std::fs::write(dir.path().join("private/secret.txt"), b"secret").unwrap();
    let ex = Example::start("custom_authorizer", &["0", arg(dir.path())]);

    // The fixed table.
    let (mut c, _) = Ctrl::connect(ex.addr());
    c.expect("USER reader", 331);
    c.expect_line("PASS books", "230 Welcome, reader.");
    c.expect("TYPE I", 200);
    assert_eq!(download(&mut c, "RETR public.txt"), b"public");
    c.expect("CWD private", 550);
    let (_, r) = exutil::try_download(&mut c, "RETR private/secret.txt");
    assert_eq!(r.code, 550, "{r:?}");
    // perms_for feeds the MLSD perm fact: elr in general, nothing in /private.
    let mlsd = lines(&mut c, "MLSD");
    let fact = |name: &str| {
        let line = mlsd.iter().find(|l| l.ends_with(&format!(" {name}")));
        let line = line.unwrap_or_else(|| panic!("{name} not in {mlsd:?}"));
        line.split(';')
            .find_map(|f| f.strip_prefix("perm="))
            .unwrap()
            .to_owned()
    };
    assert_eq!(fact("public.txt"), "r");
    assert_eq!(fact("private"), "");
    c.expect("QUIT", 221);

    // The callback: demo's password is its name backwards.
    let (mut c, _) = Ctrl::connect(ex.addr());
    c.expect("USER demo", 331);
    c.expect_line("PASS omed", "230 Welcome, demo.");
    c.expect_line("PWD", "257 \"/\" is the current directory.");
}

#[test]
fn custom_authorizer_refuses_bad_logins() {
    let dir = TempDir::new("ex-auth-bad");
    let ex = Example::start("custom_authorizer", &["0", arg(dir.path())]);
    let (mut c, _) = Ctrl::connect(ex.addr());
    // Wrong password, then an unknown name: the same answer (after the delay).
    c.expect("USER demo", 331);
    let wrong_pass = c.expect("PASS demo", 530);
    c.expect("USER nobody", 331);
    let no_user = c.expect("PASS omed", 530);
    assert_eq!(wrong_pass, no_user);
    c.expect("PWD", 530);
    // The third attempt may still succeed.
    c.expect("USER reader", 331);
    c.expect("PASS books", 230);
}

#[test]
fn memory_fs_example_serves_files_from_memory() {
    let ex = Example::start("memory_fs", &["0"]);
    let mut c = login(&ex, "mem", "mem");
    c.expect("TYPE I", 200);
    let readme = download(&mut c, "RETR README.txt");
    assert_eq!(readme, b"This file lives in memory only.\n");

    let data = pattern(100_000);
    assert_eq!(upload(&mut c, "STOR new.bin", &data).code, 226);
    let list = lines(&mut c, "LIST");
    let line = list
        .iter()
        .find(|l| l.ends_with(" new.bin"))
        .expect("LIST shows it");
    assert!(line.contains(" 100000 "), "{line:?}");
    assert!(
        download(&mut c, "RETR new.bin") == data,
        "RETR returns what STOR sent"
    );
    c.expect("REST 99000", 350);
    assert!(download(&mut c, "RETR new.bin") == data[99_000..], "REST");
    c.expect_line("SIZE new.bin", "213 100000");
    assert_eq!(upload(&mut c, "APPE new.bin", b"tail").code, 226);
    c.expect_line("SIZE new.bin", "213 100004");

    c.expect_line("MKD dir", "257 \"/dir\" directory created.");
    c.expect("RNFR new.bin", 350);
    c.expect("RNTO dir/moved.bin", 250);
    assert_eq!(lines(&mut c, "NLST"), ["README.txt", "dir"]);
    let mlsd = lines(&mut c, "MLSD dir");
    assert_eq!(mlsd.len(), 1, "{mlsd:?}");
    assert!(mlsd[0].contains("type=file;") && mlsd[0].contains("size=100004;"));
    assert!(mlsd[0].ends_with(" moved.bin"), "{mlsd:?}");
    c.expect("MDTM dir/moved.bin", 213);
    c.expect("RMD dir", 550);
    c.expect("DELE dir/moved.bin", 250);
    let (_, r) = exutil::try_download(&mut c, "RETR dir/moved.bin");
    assert_eq!(r.code, 550, "{r:?}");
    c.expect("RMD dir", 250);
    assert_eq!(lines(&mut c, "NLST"), ["README.txt"]);
}

#[test]
fn hooks_example_prints_logins_and_uploads() {
    let dir = TempDir::new("ex-hooks");
    let mut ex = Example::start("hooks", &["0", arg(dir.path())]);
    let mut c = login(&ex, "user", "pass");
    let me = c.try_clone_stream().local_addr().unwrap();
    assert_eq!(ex.wait_line("connect "), format!("connect {me}"));
    assert_eq!(ex.wait_line("login "), format!("login user from {me}"));
    assert!(!ex.output().iter().any(|l| l.starts_with("received ")));

    c.expect("TYPE I", 200);
    let data = pattern(5000);
    assert_eq!(upload(&mut c, "STOR up.bin", &data).code, 226);
    assert_eq!(ex.wait_line("received "), "received /up.bin 5000 bytes");
    assert!(std::fs::read(dir.path().join("up.bin")).unwrap() == data);
    c.expect("QUIT", 221);
    assert_eq!(ex.wait_line("logout "), "logout user");
}

/// Starts a download of `name` and returns the data socket (after the 150).
fn start_retr(c: &mut Ctrl, name: &str) -> TcpStream {
    c.expect("TYPE I", 200);
    open_data(c, &format!("RETR {name}")).unwrap_or_else(|r| panic!("RETR {name}: {r:?}"))
}

#[test]
fn throttled_download_runs_at_the_connection_limit() {
    let dir = TempDir::new("ex-throttle");
    let data = pattern(300_000);
    std::fs::write(dir.path().join("big.bin"), &data).unwrap();
    let ex = Example::start("throttled", &["0", arg(dir.path())]);
    let mut c = login(&ex, "user", "pass");

    let t0 = Instant::now();
    let mut sock = start_retr(&mut c, "big.bin");
    let got = read_all(&mut sock);
    let took = t0.elapsed();
    assert_eq!(c.read_reply().code, 226);
    assert!(got == data, "content");
    // 300 kB at 100 kB/s: 3 s, +-25%.
    let window = Duration::from_millis(2250)..Duration::from_millis(3750);
    assert!(window.contains(&took), "took {took:?}");
}

#[test]
fn throttled_user_limit_caps_parallel_downloads() {
    let dir = TempDir::new("ex-throttle-user");
    let data = pattern(300_000);
    std::fs::write(dir.path().join("big.bin"), &data).unwrap();
    let ex = Example::start("throttled", &["0", arg(dir.path())]);
    let mut c1 = login(&ex, "user", "pass");
    let mut c2 = login(&ex, "user", "pass");

    let t0 = Instant::now();
    let socks = [
        start_retr(&mut c1, "big.bin"),
        start_retr(&mut c2, "big.bin"),
    ];
    let readers = socks.map(|mut s| std::thread::spawn(move || read_all(&mut s)));
    for r in readers {
        assert!(r.join().unwrap() == data, "content");
    }
    let took = t0.elapsed();
    assert_eq!(c1.read_reply().code, 226);
    assert_eq!(c2.read_reply().code, 226);
    // 600 kB at 150 kB/s for the user: 4 s. Per-connection limits alone would allow 3 s.
    let window = Duration::from_millis(3500)..Duration::from_millis(5500);
    assert!(window.contains(&took), "took {took:?}");
}
