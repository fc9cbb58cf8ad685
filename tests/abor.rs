//! ABOR while a long transfer is blocked on its client, under PROT P and for a long listing:
//! a large RETR whose reader stopped reading, a STOR still sending, and a LIST of 20,000
//! entries that the client does not read (plain FTP and PROT P). Each time the replies are
//! `426` then `226`, the data connection ends early, and the session carries on: NOOP works
//! and so does the next transfer.

mod common;
mod tlsutil;
mod xfer;

use std::fs;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use rustls::ClientConfig;

use common::{Reply, TestServer, IO_TIMEOUT};
use tlsutil::{client_config, passive_addr, tls_connect, FtpsCtrl, FtpsServer, Mode, TlsStream};
use xfer::Pattern;

/// Far more than the socket buffers of a client that stopped reading can hold.
const BIG: u64 = 16 << 20;
/// Entries of the long listing: some 2 MB of LIST output.
const ENTRIES: usize = 20_000;
/// Receive buffer of the stalled client (set before connecting, so the window stays small).
const RCVBUF: usize = 16 * 1024;

/// Fills `dir` with [`ENTRIES`] empty files with long names.
fn fill_dir(dir: &Path) {
    fs::create_dir(dir).unwrap();
    let pad = "x".repeat(60);
    for i in 0..ENTRIES {
        fs::File::create(dir.join(format!("entry-{i:05}-{pad}"))).unwrap();
    }
}

/// The two replies an ABOR of a running transfer must produce.
#[track_caller]
fn assert_aborted(first: Reply, second: Reply) {
    assert_eq!(
        (first.code, second.code),
        (426, 226),
        "ABOR replies: {first:?} then {second:?}"
    );
}

/// Reads what is left of a TLS data stream the server is ending, until EOF or an error (the
/// server cuts it without close_notify); bounded in time and reads.
fn drain_tls(tls: &mut TlsStream) -> usize {
    let deadline = Instant::now() + xfer::STREAM_DEADLINE;
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0;
    for _ in 0..1_000_000 {
        assert!(Instant::now() < deadline, "data connection never ended");
        match tls.read(&mut buf) {
            Ok(0) | Err(_) => return total,
            Ok(n) => total += n,
        }
    }
    panic!("data connection never ended");
}

/// PASV, then `cmd` (expecting 150), then a data connection with a small receive buffer and
/// its TLS handshake.
fn stalled_tls_download(c: &mut FtpsCtrl, config: &Arc<ClientConfig>, cmd: &str) -> TlsStream {
    let ip = c.tcp().peer_addr().unwrap().ip();
    let addr = passive_addr(&c.cmd("PASV"), ip).expect("PASV");
    c.expect(cmd, 150);
    let sock = xfer::connect_small_rcvbuf(addr, RCVBUF);
    tls_connect(sock, config).expect("data TLS handshake")
}

/// Sends STAT until the running transfer has moved at least `n` bytes (bounded).
fn wait_transferred(c: &mut FtpsCtrl, n: u64) {
    let deadline = Instant::now() + IO_TIMEOUT;
    for _ in 0..100_000 {
        let r = c.expect("STAT", 211);
        let got = r.lines().iter().find_map(|l| {
            l.trim()
                .strip_prefix("Total bytes transferred: ")
                .and_then(|n| n.parse::<u64>().ok())
        });
        if got.is_some_and(|got| got >= n) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "transfer never reached {n} bytes"
        );
    }
    panic!("transfer never reached {n} bytes");
}

/// The secure session still works: NOOP, then a download and an upload.
#[track_caller]
fn tls_session_goes_on(srv: &FtpsServer, c: &mut FtpsCtrl, config: &Arc<ClientConfig>) {
    c.expect("NOOP", 200);
    let r = c.upload(Mode::Pasv, config, "STOR after.bin", b"after the abort");
    assert_eq!(r.code, 226, "{r:?}");
    assert_eq!(fs::read(srv.file("after.bin")).unwrap(), b"after the abort");
    assert_eq!(
        c.download(Mode::Epsv, config, "RETR after.bin"),
        b"after the abort"
    );
}

#[test]
fn abor_of_a_stalled_prot_p_download() {
    let srv = FtpsServer::default_tls();
    Pattern::new().write_file(&srv.file("big.bin"), BIG);
    let config = client_config();
    let mut c = FtpsCtrl::secure_login(srv.addr(), &config);
    let mut tls = stalled_tls_download(&mut c, &config, "RETR big.bin");
    let mut head = vec![0u8; 100_000];
    tls.read_exact(&mut head).unwrap();
    assert!(Pattern::new().matches(0, &head), "wrong first bytes");
    // The client reads nothing more: the server's writes block, the transfer stays open.
    c.send_raw(b"ABOR\r\n");
    let first = c.read_reply();
    assert_aborted(first, c.read_reply());
    let got = head.len() + drain_tls(&mut tls);
    assert!(
        (got as u64) < BIG,
        "an aborted download sent the whole file"
    );
    tls_session_goes_on(&srv, &mut c, &config);
}

#[test]
fn abor_of_a_running_prot_p_upload() {
    let srv = FtpsServer::default_tls();
    let config = client_config();
    let mut c = FtpsCtrl::secure_login(srv.addr(), &config);
    let sock = c.open_data(Mode::Pasv, "STOR cut.bin").expect("STOR");
    let mut tls = tls_connect(sock, &config).expect("data TLS handshake");
    let data = Pattern::new().bytes(64_000);
    tls.write_all(&data).unwrap();
    tls.flush().unwrap();
    wait_transferred(&mut c, data.len() as u64);
    // The upload is still open (no close_notify, no FIN): ABOR ends it.
    c.send_raw(b"ABOR\r\n");
    let first = c.read_reply();
    assert_aborted(first, c.read_reply());
    // What arrived before the ABOR is kept, as for a plain upload.
    assert_eq!(fs::read(srv.file("cut.bin")).unwrap(), data);
    drain_tls(&mut tls);
    tls_session_goes_on(&srv, &mut c, &config);
}

#[test]
fn abor_of_a_long_prot_p_listing() {
    let srv = FtpsServer::default_tls();
    fill_dir(&srv.file("many"));
    let config = client_config();
    let mut c = FtpsCtrl::secure_login(srv.addr(), &config);
    let mut tls = stalled_tls_download(&mut c, &config, "LIST many");
    let mut head = vec![0u8; 4096];
    tls.read_exact(&mut head).unwrap();
    assert!(
        String::from_utf8_lossy(&head).contains(" entry-"),
        "{head:?}"
    );
    c.send_raw(b"ABOR\r\n");
    let first = c.read_reply();
    assert_aborted(first, c.read_reply());
    let got = head.len() + drain_tls(&mut tls);
    assert!(
        got < ENTRIES * 60,
        "an aborted LIST sent everything ({got} bytes)"
    );
    tls_session_goes_on(&srv, &mut c, &config);
    // And the whole listing can still be had.
    let all = c.download(Mode::Pasv, &config, "NLST many");
    assert_eq!(
        all.split(|&b| b == b'\n').filter(|l| !l.is_empty()).count(),
        ENTRIES
    );
}

#[test]
fn abor_of_a_long_plain_listing() {
    let srv = TestServer::with_user();
    fill_dir(&srv.root().join("many"));
    let mut c = srv.login();
    let addr = xfer::pasv(&mut c);
    c.expect("LIST many", 150);
    let mut s: TcpStream = xfer::connect_small_rcvbuf(addr, RCVBUF);
    let head = xfer::read_exact(&mut s, 4096);
    assert!(
        String::from_utf8_lossy(&head).contains(" entry-"),
        "{head:?}"
    );
    c.send_raw(b"ABOR\r\n");
    let first = c.read_reply();
    assert_aborted(first, c.read_reply());
    let got = head.len() + xfer::drain(&mut s);
    assert!(
        got < ENTRIES * 60,
        "an aborted LIST sent everything ({got} bytes)"
    );
    c.expect("NOOP", 200);
    fs::write(srv.root().join("small.txt"), b"still serving").unwrap();
    c.expect("TYPE I", 200);
    assert_eq!(xfer::download(&mut c, "RETR small.txt"), b"still serving");
    assert_eq!(xfer::listing(&mut c, "NLST many").len(), ENTRIES);
}

/// ABOR of a RETR still waiting for its data connection (the client got `150`, never
/// connected): `426` and `226`, and the RETR is gone: a second ABOR has nothing to abort, and
/// the next PASV's connection carries the next command's data, not the aborted file's.
#[test]
fn abor_of_a_transfer_waiting_for_its_connection_drops_it() {
    let srv = TestServer::with_user();
    fs::write(srv.root().join("aborted.txt"), b"must not be sent").unwrap();
    fs::write(srv.root().join("wanted.txt"), b"the wanted file").unwrap();
    let mut c = srv.login();
    c.expect("TYPE I", 200);
    xfer::pasv(&mut c);
    c.expect("RETR aborted.txt", 150);
    c.send_raw(b"ABOR\r\n");
    let first = c.read_reply();
    assert_aborted(first, c.read_reply());
    c.expect_line("ABOR", "225 No transfer to abort.");
    assert_eq!(
        xfer::download(&mut c, "RETR wanted.txt"),
        b"the wanted file"
    );
}
