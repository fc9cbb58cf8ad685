//! Transfers that do not simply run to their end: ABOR in the middle of a download (also with
//! the Telnet IP/Synch prefix real clients send), ABOR with nothing to abort, QUIT during a
//! transfer (226 comes first, then 221), STAT showing a running transfer, stalled transfers
//! hitting `data_timeout`, and clients that vanish mid-upload or mid-download while the server
//! goes on serving everyone else.

mod common;
mod xfer;

use std::fs;
use std::io::Write;
use std::net::TcpStream;

use common::TestServer;
use socket2::SockRef;
use xfer::{binary_login, server_with_big_file, still_serving, CtrlExt, Pattern, BIG};

#[test]
fn abor_during_a_download_stops_it_and_the_session_goes_on() {
    let srv = server_with_big_file();
    let mut c = binary_login(&srv);
    let mut s = xfer::stalled_download(&mut c, 100_000);
    c.send_raw(b"ABOR\r\n");
    let aborted = xfer::abor_replies(&mut c);
    let got = 100_000 + xfer::drain(&mut s);
    if aborted {
        assert!(
            (got as u64) < BIG,
            "an aborted transfer sent the whole file"
        );
    }
    xfer::wait_stat(&mut c, "Data connection closed.");
    still_serving(&mut c);
}

#[test]
fn abor_during_an_upload_keeps_what_arrived() {
    let srv = server_with_big_file();
    let mut c = binary_login(&srv);
    let data = Pattern::new().bytes(64_000);
    let addr = xfer::pasv(&mut c);
    c.expect("STOR cut.bin", 150);
    let mut s = xfer::connect(addr);
    s.write_all(&data).unwrap();
    xfer::wait_transferred(&mut c, 64_000);
    c.send_raw(b"ABOR\r\n");
    assert!(
        xfer::abor_replies(&mut c),
        "an upload still open cannot have completed"
    );
    assert!(fs::read(srv.root().join("cut.bin")).unwrap() == data);
    xfer::drain(&mut s);
    still_serving(&mut c);
}

#[test]
fn abor_after_telnet_interrupt_and_synch_is_understood() {
    let srv = server_with_big_file();
    let mut c = binary_login(&srv);
    let mut s = xfer::stalled_download(&mut c, 1000);
    // What BSD ftp sends: IAC IP, then IAC DM as TCP urgent data ("Synch"), then the command.
    c.send_raw(&[255, 244, 255]);
    let ctrl = c.try_clone_stream();
    SockRef::from(&ctrl).send_out_of_band(&[242]).unwrap();
    c.send_raw(b"ABOR\r\n");
    assert!(xfer::abor_replies(&mut c));
    xfer::drain(&mut s);
    still_serving(&mut c);
}

#[test]
fn abor_with_nothing_to_abort() {
    let srv = server_with_big_file();
    let mut c = binary_login(&srv);
    c.expect_line("ABOR", "225 No transfer to abort.");
    // With a data channel open but no transfer, ABOR closes the channel.
    let addr = xfer::pasv(&mut c);
    c.expect_line("ABOR", "225 ABOR command successful; data channel closed.");
    c.expect("NOOP", 200);
    // A connection to the old port is refused, or dropped without data.
    if let Ok(stray) = TcpStream::connect_timeout(&addr, common::IO_TIMEOUT) {
        stray.set_read_timeout(Some(common::IO_TIMEOUT)).unwrap();
        assert_eq!(xfer::drain(&mut { stray }), 0);
    }
    c.expect_line("RETR small.txt", "425 Use PORT or PASV first.");
    still_serving(&mut c);
}

#[test]
fn quit_during_a_transfer_waits_for_it_then_says_goodbye() {
    let srv = server_with_big_file();
    let mut c = binary_login(&srv);
    let mut s = xfer::stalled_download(&mut c, 1000);
    c.send_raw(b"QUIT\r\n");
    // The download carries on to its end.
    let rest = xfer::read_all(&mut s, BIG as usize);
    assert_eq!(1000 + rest.len() as u64, BIG);
    assert!(
        Pattern::new().matches(1000, &rest),
        "wrong bytes after QUIT"
    );
    c.expect_line_reply("226 Transfer complete.");
    assert_eq!(c.read_reply().code, 221);
    c.expect_closed();
}

#[test]
fn stat_during_a_transfer_shows_it_and_its_progress() {
    let srv = server_with_big_file();
    let mut c = binary_login(&srv);
    xfer::pasv(&mut c);
    xfer::wait_stat(&mut c, "Passive data channel waiting for connection.");
    let mut s = xfer::stalled_download(&mut c, 50_000);
    let r = c.expect("STAT", 211);
    let lines: Vec<&str> = r.lines().iter().map(|l| l.trim()).collect();
    assert!(lines.contains(&"Data connection open:"), "{r:?}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("Transfer elapsed time: ")),
        "{r:?}"
    );
    let moved = c.stat_bytes().expect("STAT shows the bytes transferred");
    assert!((50_000..BIG).contains(&moved), "bytes transferred: {moved}");
    // Another transfer, or a new data channel, must wait for this one.
    c.expect_line("RETR small.txt", "425 A transfer is already in progress.");
    c.expect_line("PASV", "425 A transfer is already in progress.");
    let rest = xfer::read_all(&mut s, BIG as usize);
    assert!(Pattern::new().matches(50_000, &rest));
    assert_eq!(50_000 + rest.len() as u64, BIG);
    c.expect_line_reply("226 Transfer complete.");
    xfer::wait_stat(&mut c, "Data connection closed.");
}

#[test]
fn stalled_transfers_are_aborted_after_data_timeout() {
    let srv =
        TestServer::start(|cfg| cfg.data_timeout = Some(std::time::Duration::from_millis(400)));
    Pattern::new().write_file(&srv.root().join("big.bin"), BIG);
    fs::write(srv.root().join("small.txt"), b"still serving").unwrap();
    let mut c = binary_login(&srv);
    // A download whose client stopped reading.
    let t0 = std::time::Instant::now();
    let mut s = xfer::stalled_download(&mut c, 1000);
    c.expect_line_reply("426 Data connection timed out.");
    assert!(t0.elapsed() >= std::time::Duration::from_millis(400));
    xfer::drain(&mut s);
    // An upload whose client never sends a byte.
    let addr = xfer::pasv(&mut c);
    c.expect("STOR idle.bin", 150);
    let _silent = xfer::connect(addr);
    c.expect_line_reply("426 Data connection timed out.");
    still_serving(&mut c);
}

/// Closes a socket with a reset, as when a client machine or process dies.
fn reset(s: TcpStream) {
    SockRef::from(&s)
        .set_linger(Some(std::time::Duration::ZERO))
        .unwrap();
    drop(s);
}

#[test]
fn client_vanishing_mid_upload_leaves_the_partial_file_and_others_are_served() {
    let srv = server_with_big_file();
    let mut other = binary_login(&srv);
    let mut c = binary_login(&srv);
    let data = Pattern::new().bytes(300_000);
    let addr = xfer::pasv(&mut c);
    c.expect("STOR part.bin", 150);
    let mut s = xfer::connect(addr);
    s.write_all(&data[..100_000]).unwrap();
    // Once the server has taken these bytes, the client disappears.
    assert_eq!(xfer::wait_transferred(&mut c, 100_000), 100_000);
    reset(s);
    c.shutdown();
    still_serving(&mut other);
    other.expect_line("SIZE part.bin", "213 100000");
    assert!(xfer::download(&mut other, "RETR part.bin") == data[..100_000]);
    // A new client can replace the partial file.
    let mut fresh = binary_login(&srv);
    xfer::upload(&mut fresh, "STOR part.bin", &data);
    assert!(fs::read(srv.root().join("part.bin")).unwrap() == data);
}

#[test]
fn client_vanishing_mid_download_does_not_disturb_the_server() {
    let srv = server_with_big_file();
    let mut other = binary_login(&srv);
    let mut c = binary_login(&srv);
    let s = xfer::stalled_download(&mut c, 10_000);
    reset(s);
    c.shutdown();
    still_serving(&mut other);
    // A whole large download still works afterwards, for old and new sessions.
    let addr = xfer::pasv(&mut other);
    other.expect("RETR big.bin", 150);
    assert_eq!(Pattern::new().verify(&mut xfer::connect(addr), 0), BIG);
    other.expect_line_reply("226 Transfer complete.");
    let mut fresh = binary_login(&srv);
    still_serving(&mut fresh);
    fresh.send_raw(b"QUIT\r\n");
    assert_eq!(fresh.read_reply().code, 221);
}
