//! ABOR and STAT as classic clients send them during a transfer: with Telnet "Interrupt
//! Process" and "Synch" (RFC 959 §4.1.3, RFC 854), part of it as TCP urgent data.
//!
//! Linux ends a `recv` at the urgent mark even with `SO_OOBINLINE`, so a server that takes a
//! short read for an empty socket never sees the rest of the line (issue 12). The raw-socket
//! tests send the byte sequences of BSD ftp and of Python's `ftplib.FTP.abort()` by hand; the
//! ftplib tests run the real client (skipped when python3 is missing) during RETR in passive
//! and active mode and during STOR, each with a client that stopped reading or writing.

mod common;
mod xfer;

use std::fs;
use std::process::Command;
use std::time::Duration;

use common::{Ctrl, TestServer};
use socket2::SockRef;
use xfer::{binary_login, server_with_big_file, still_serving, CtrlExt, BIG};

/// How long one ftplib run may take.
const PY_LIMIT: Duration = Duration::from_secs(60);

/// Sends `bytes` on the control connection as TCP urgent data (`MSG_OOB`).
fn send_urgent(c: &Ctrl, bytes: &[u8]) {
    let ctrl = c.try_clone_stream();
    let sent = SockRef::from(&ctrl).send_out_of_band(bytes).unwrap();
    assert_eq!(sent, bytes.len());
}

/// Sends `before` during a stalled download, expects ABOR's replies, checks the download
/// was cut short and the session goes on.
fn abor_during_download(send: impl FnOnce(&mut Ctrl)) {
    let srv = server_with_big_file();
    let mut c = binary_login(&srv);
    let mut s = xfer::stalled_download(&mut c, 1000);
    send(&mut c);
    assert!(xfer::abor_replies(&mut c), "the download was not aborted");
    assert!(((1000 + xfer::drain(&mut s)) as u64) < BIG);
    still_serving(&mut c);
}

#[test]
fn abor_sent_as_urgent_data_like_python_ftplib() {
    // ftplib.FTP.abort(): `sock.sendall(b"ABOR\r\n", MSG_OOB)`; the LF is the urgent byte.
    abor_during_download(|c| send_urgent(c, b"ABOR\r\n"));
}

#[test]
fn abor_after_iac_ip_iac_as_urgent_data_like_bsd_ftp() {
    // BSD ftp: IAC IP IAC with MSG_OOB (the second IAC is the urgent byte), then DM ABOR.
    abor_during_download(|c| {
        send_urgent(c, &[255, 244, 255]);
        c.send_raw(b"\xf2ABOR\r\n");
    });
}

#[test]
fn abor_after_stray_telnet_bytes() {
    abor_during_download(|c| c.send_raw(b"\xf4\xffABOR\r\n"));
    abor_during_download(|c| c.send_raw(b"\xf2ABOR\r\n"));
}

#[test]
fn iac_before_an_ordinary_byte_drops_only_the_iac() {
    abor_during_download(|c| c.send_raw(b"\xffABOR\r\n"));
    let srv = TestServer::with_user();
    let mut c = srv.login();
    c.send_raw(b"NO\xffOP\r\n");
    assert_eq!(c.read_reply().code, 200);
}

/// STAT as urgent data (both ways) during a download shows the transfer, then the download
/// goes on to its end.
#[test]
fn stat_sent_as_urgent_data_during_a_transfer() {
    let srv = server_with_big_file();
    let mut c = binary_login(&srv);
    let mut s = xfer::stalled_download(&mut c, 1000);
    send_urgent(&c, b"STAT\r\n");
    let r = c.read_reply();
    assert_eq!(r.code, 211, "{r:?}");
    assert!(
        r.lines()
            .iter()
            .any(|l| l.trim() == "Data connection open:"),
        "{r:?}"
    );
    send_urgent(&c, &[255, 244, 255]);
    c.send_raw(b"\xf2STAT\r\n");
    assert_eq!(c.read_reply().code, 211);
    let rest = xfer::read_all(&mut s, BIG as usize);
    assert_eq!(1000 + rest.len() as u64, BIG);
    c.expect_line_reply("226 Transfer complete.");
    still_serving(&mut c);
}

/// The ftplib client: `retr-pasv`, `retr-port` (a download read slowly, then aborted) or
/// `stor` (an upload that stops sending, then aborted). Prints `ABORT <reply>`, the reply
/// after it, and for downloads how many bytes arrived.
const FTPLIB: &str = r#"
import ftplib, socket, sys
mode, port = sys.argv[1], int(sys.argv[2])
f = ftplib.FTP()
f.connect("127.0.0.1", port, timeout=10)
f.login("user", "pass")
f.voidcmd("TYPE I")
if mode == "stor":
    conn = f.transfercmd("STOR up.bin")
    conn.sendall(b"u" * 100000)
else:
    if mode == "retr-port":
        f.set_pasv(False)
        listener = f.makeport()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
        f.sendcmd("RETR big.bin")
        conn, _ = listener.accept()
        listener.close()
    else:
        host, dport = f.makepasv()
        conn = socket.socket()
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
        conn.settimeout(10)
        conn.connect((host, dport))
        f.sendcmd("RETR big.bin")
    conn.settimeout(10)
    got = 0
    while got < 100000:
        b = conn.recv(4096)
        if not b:
            break
        got += len(b)
print("ABORT", f.abort(), flush=True)
print("THEN", f.getmultiline(), flush=True)
if mode != "stor":
    while True:
        b = conn.recv(65536)
        if not b:
            break
        got += len(b)
    print("GOT", got, flush=True)
conn.close()
print("NOOP", f.voidcmd("NOOP"), flush=True)
f.quit()
"#;

/// Runs the ftplib client in `mode`; None when python3 is not installed.
fn ftplib_abort(srv: &TestServer, mode: &str) -> Option<String> {
    if !xfer::installed("python3") {
        return None;
    }
    let port = srv.addr().port().to_string();
    let out = xfer::run_client(
        Command::new("python3").args(["-c", FTPLIB, mode, &port]),
        PY_LIMIT,
    );
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn check_download_aborted(mode: &str) {
    let srv = server_with_big_file();
    let Some(out) = ftplib_abort(&srv, mode) else {
        return;
    };
    assert!(
        out.contains("ABORT 426 Transfer aborted via ABOR.\n"),
        "{out}"
    );
    assert!(out.contains("THEN 226 ABOR command successful.\n"), "{out}");
    let got: u64 = out
        .lines()
        .find_map(|l| l.strip_prefix("GOT "))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{out}"));
    assert!(got < BIG, "the whole file was delivered despite the ABOR");
    assert!(out.contains("NOOP 200"), "{out}");
}

#[test]
fn python_ftplib_abort_during_passive_retr() {
    check_download_aborted("retr-pasv");
}

#[test]
fn python_ftplib_abort_during_active_retr() {
    check_download_aborted("retr-port");
}

#[test]
fn python_ftplib_abort_during_stor() {
    let srv = TestServer::with_user();
    let Some(out) = ftplib_abort(&srv, "stor") else {
        return;
    };
    assert!(
        out.contains("ABORT 426 Transfer aborted via ABOR.\n"),
        "{out}"
    );
    assert!(out.contains("THEN 226 ABOR command successful.\n"), "{out}");
    assert!(out.contains("NOOP 200"), "{out}");
    let kept = fs::metadata(srv.root().join("up.bin")).unwrap().len();
    assert!(kept <= 100_000, "{kept}");
}
