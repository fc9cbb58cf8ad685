//! Moving many bytes, and moving them slowly: a 200 MiB file downloaded with sendfile(2) and
//! with buffered writes (whole, and resumed at an odd offset), downloads to a client whose
//! receive buffer is tiny (so every write the server makes is partial: sendfile, buffered and
//! ASCII paths), and bandwidth throttling of downloads (`write_limit`) and uploads
//! (`read_limit`), timed on the transfer itself; a transfer outlasting the idle timeout does
//! not make its session idle.

mod common;
mod xfer;

use std::fs;
use std::io::{Read, Write};
use std::net::Shutdown;
use std::time::{Duration, Instant};

use common::{Ctrl, TestServer};
use xfer::{CtrlExt, Pattern};

const LARGE: u64 = 200 << 20;

fn binary_login(srv: &TestServer) -> Ctrl {
    let mut c = srv.login();
    c.expect("TYPE I", 200);
    c
}

/// RETR over PASV, streamed and checked against the pattern from `start`; returns the length.
fn retr_verified(c: &mut Ctrl, name: &str, start: u64) -> u64 {
    let addr = xfer::pasv(c);
    c.expect(&format!("RETR {name}"), 150);
    let n = Pattern::new().verify(&mut xfer::connect(addr), start);
    c.expect_line_reply("226 Transfer complete.");
    n
}

#[test]
fn large_file_with_and_without_sendfile() {
    let with = TestServer::with_user();
    let without = TestServer::start(|cfg| cfg.use_sendfile = false);
    let path = with.root().join("large.bin");
    Pattern::new().write_file(&path, LARGE);
    let copy = without.root().join("large.bin");
    if fs::hard_link(&path, &copy).is_err() {
        fs::copy(&path, &copy).unwrap();
    }
    for srv in [&with, &without] {
        let mut c = binary_login(srv);
        assert_eq!(retr_verified(&mut c, "large.bin", 0), LARGE);
        let offset = LARGE - (48 << 20) + 7;
        c.expect(&format!("REST {offset}"), 350);
        assert_eq!(retr_verified(&mut c, "large.bin", offset), LARGE - offset);
    }
}

/// Downloads `cmd` through a 4 KiB receive window, in reads of 1000 bytes.
fn through_tiny_window(c: &mut Ctrl, cmd: &str) -> Vec<u8> {
    let addr = xfer::pasv(c);
    c.expect(cmd, 150);
    let mut s = xfer::connect_small_rcvbuf(addr, 4096);
    let mut out = Vec::new();
    let mut buf = [0u8; 1000];
    // Bounded: at most one read per byte of the largest file used here, plus EOF.
    for _ in 0..=(4 << 20) {
        match s.read(&mut buf).expect("reading through the tiny window") {
            0 => {
                c.expect_line_reply("226 Transfer complete.");
                return out;
            }
            n => out.extend_from_slice(&buf[..n]),
        }
    }
    panic!("download never ended");
}

#[test]
fn tiny_client_receive_buffer_still_gets_every_byte() {
    let data = Pattern::new().bytes(3 << 20);
    let text: Vec<u8> = (0..1_000_000u32)
        .map(|i| {
            if i % 61 == 60 {
                b'\n'
            } else {
                b'0' + (i % 10) as u8
            }
        })
        .collect();
    for use_sendfile in [true, false] {
        let srv = TestServer::start(|cfg| cfg.use_sendfile = use_sendfile);
        fs::write(srv.root().join("data.bin"), &data).unwrap();
        fs::write(srv.root().join("text.txt"), &text).unwrap();
        let mut c = binary_login(&srv);
        let got = through_tiny_window(&mut c, "RETR data.bin");
        assert!(
            got == data,
            "binary download differs (sendfile {use_sendfile})"
        );
        c.expect("TYPE A", 200);
        let got = through_tiny_window(&mut c, "RETR text.txt");
        assert!(got == xfer::ascii_wire(&text), "ASCII download differs");
    }
}

/// 3 s for 600 kB at 200 kB/s, within 20 %.
fn assert_about_three_seconds(elapsed: Duration) {
    eprintln!("600 kB took {elapsed:?}");
    assert!(
        (Duration::from_millis(2400)..=Duration::from_millis(3600)).contains(&elapsed),
        "600 kB at 200 kB/s took {elapsed:?}"
    );
}

/// A PASV data connection, connected before the transfer command (the server accepts it when
/// the command comes).
fn connected(c: &mut Ctrl) -> std::net::TcpStream {
    xfer::connect(xfer::pasv(c))
}

fn throttled_download(use_sendfile: bool) {
    let srv = TestServer::start(|cfg| {
        cfg.write_limit = 200_000;
        cfg.use_sendfile = use_sendfile;
    });
    let data = Pattern::new().bytes(600_000);
    fs::write(srv.root().join("f.bin"), &data).unwrap();
    let mut c = binary_login(&srv);
    let mut s = connected(&mut c);
    let t0 = Instant::now();
    c.expect("RETR f.bin", 150);
    let got = xfer::read_all(&mut s, 1 << 20);
    let elapsed = t0.elapsed();
    c.expect_line_reply("226 Transfer complete.");
    assert!(got == data);
    assert_about_three_seconds(elapsed);
}

#[test]
fn write_limit_throttles_sendfile_downloads() {
    throttled_download(true);
}

#[test]
fn write_limit_throttles_buffered_downloads() {
    throttled_download(false);
}

#[test]
fn read_limit_throttles_uploads() {
    let srv = TestServer::start(|cfg| cfg.read_limit = 200_000);
    let data = Pattern::new().bytes(600_000);
    let mut c = binary_login(&srv);
    let mut s = connected(&mut c);
    let t0 = Instant::now();
    c.expect("STOR up.bin", 150);
    // Blocks while the socket buffers are full: the server reads at its limited pace.
    s.write_all(&data).unwrap();
    s.shutdown(Shutdown::Write).unwrap();
    c.expect_line_reply("226 Transfer complete.");
    let elapsed = t0.elapsed();
    assert!(fs::read(srv.root().join("up.bin")).unwrap() == data);
    assert_about_three_seconds(elapsed);
}

#[test]
fn a_transfer_longer_than_the_idle_timeout_keeps_the_session() {
    let srv = TestServer::start(|cfg| {
        cfg.write_limit = 100_000;
        cfg.idle_timeout = Some(Duration::from_millis(400));
    });
    let data = Pattern::new().bytes(120_000);
    fs::write(srv.root().join("slow.bin"), &data).unwrap();
    let mut c = binary_login(&srv);
    let t0 = Instant::now();
    assert!(xfer::download(&mut c, "RETR slow.bin") == data);
    assert!(
        t0.elapsed() > Duration::from_millis(800),
        "not throttled: {:?}",
        t0.elapsed()
    );
    c.expect("NOOP", 200);
    // Once idle, the session does time out.
    c.expect_line_reply("421 Control connection timed out.");
    c.expect_closed();
}
