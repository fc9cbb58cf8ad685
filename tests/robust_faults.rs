//! Faults around uploads and shutdown: `kill -9` of the daemon in the middle of an atomic
//! upload, aborted and cut uploads with `--atomic-uploads` and `--delete-incomplete-uploads`,
//! a full disk and an exceeded quota (452/552, the session goes on), and the graceful shutdown
//! of `--shutdown-grace` (new clients refused at once, running transfers finish, exit 0), and
//! running out of descriptors (no spin, recovery).

mod common;
mod robust;
mod xfer;

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Ctrl, TempDir, TestServer};
use robust::fullfs::FullDisk;
use robust::Daemon;
use xfer::CtrlExt;

const OLD: &[u8] = b"the previous contents";

/// A directory holding `f.bin` with [`OLD`].
fn dir_with_old_file(tag: &str) -> TempDir {
    let dir = TempDir::new(tag);
    std::fs::write(dir.path().join("f.bin"), OLD).unwrap();
    dir
}

/// The names in `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// Waits (bounded polling, ≤ 5 s) until `dir` holds exactly `want`.
#[track_caller]
fn wait_names(dir: &Path, want: &[&str]) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while names(dir) != want && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(names(dir), want);
}

/// STOR `name` over PASV, sending `n` bytes and waiting until the server has them; returns
/// the data socket, still open.
fn partial_upload(c: &mut Ctrl, name: &str, n: usize) -> TcpStream {
    c.expect("TYPE I", 200);
    let addr = xfer::pasv(c);
    c.expect(&format!("STOR {name}"), 150);
    let mut s = xfer::connect(addr);
    s.write_all(&vec![b'x'; n]).unwrap();
    xfer::wait_transferred(c, n as u64);
    s
}

/// ABOR during a transfer: 426 then 226.
#[track_caller]
fn abort(c: &mut Ctrl) {
    c.send_raw(b"ABOR\r\n");
    let (a, b) = (c.read_reply(), c.read_reply());
    assert_eq!((a.code, b.code), (426, 226), "{a:?} {b:?}");
    c.expect("NOOP", 200);
}

/// The server closed `s` (EOF or reset).
#[track_caller]
fn wait_closed(s: &mut TcpStream) {
    let mut buf = [0u8; 64];
    match s.read(&mut buf) {
        Ok(0) => {}
        Err(e) if e.kind() == io::ErrorKind::ConnectionReset => {}
        other => panic!("data connection still open: {other:?}"),
    }
}

#[test]
fn kill_9_during_an_atomic_upload_leaves_the_old_file() {
    let dir = dir_with_old_file("robust-kill9");
    let mut d = Daemon::start(dir.path(), &["--atomic-uploads"]);
    let mut c = d.login();
    let _s = partial_upload(&mut c, "f.bin", 300_000);
    d.kill9();
    assert_eq!(std::fs::read(dir.path().join("f.bin")).unwrap(), OLD);
    // Nobody was left to remove the hidden temporary `.f.bin.PID-N.ftpdlib-part`: it stays
    // (an operator's cleanup job can delete `.*.ftpdlib-part`), but it never replaces f.bin.
    for name in names(dir.path()).iter().filter(|n| *n != "f.bin") {
        assert!(
            name.starts_with(".f.bin.") && name.ends_with(".ftpdlib-part"),
            "unexpected {name}"
        );
        let len = std::fs::metadata(dir.path().join(name)).unwrap().len();
        eprintln!("after kill -9: f.bin intact, hidden temporary {name} ({len} bytes) left");
    }
}

#[test]
fn atomic_uploads_keep_the_old_file_until_an_upload_completes() {
    let dir = dir_with_old_file("robust-atomic");
    let d = Daemon::start(dir.path(), &["--atomic-uploads"]);
    // ABOR: the previous file stays, the temporary goes.
    let mut c = d.login();
    let s = partial_upload(&mut c, "f.bin", 200_000);
    abort(&mut c);
    drop(s);
    wait_names(dir.path(), &["f.bin"]);
    assert_eq!(std::fs::read(dir.path().join("f.bin")).unwrap(), OLD);
    // The control connection vanishes mid-upload (the data socket stays open: closing it
    // first would be an EOF, which on plain FTP is how an upload completes).
    let mut c2 = d.login();
    let mut s = partial_upload(&mut c2, "f.bin", 200_000);
    c2.shutdown();
    wait_closed(&mut s);
    wait_names(dir.path(), &["f.bin"]);
    assert_eq!(std::fs::read(dir.path().join("f.bin")).unwrap(), OLD);
    // A completed upload replaces the file.
    xfer::upload(&mut c, "STOR f.bin", b"new contents");
    assert_eq!(
        std::fs::read(dir.path().join("f.bin")).unwrap(),
        b"new contents"
    );
    assert_eq!(names(dir.path()), ["f.bin"]);
}

#[test]
fn delete_incomplete_uploads_removes_a_failed_upload() {
    let dir = TempDir::new("robust-delete");
    let d = Daemon::start(dir.path(), &["--delete-incomplete-uploads"]);
    let mut c = d.login();
    let s = partial_upload(&mut c, "new.bin", 100_000);
    abort(&mut c);
    drop(s);
    wait_names(dir.path(), &[]);
    // The control connection vanishing is a failure too.
    let mut c2 = d.login();
    let mut s = partial_upload(&mut c2, "new.bin", 100_000);
    c2.shutdown();
    wait_closed(&mut s);
    wait_names(dir.path(), &[]);
}

#[test]
fn without_delete_incomplete_uploads_the_partial_file_stays() {
    let dir = TempDir::new("robust-keep");
    let d = Daemon::start(dir.path(), &[]);
    let mut c = d.login();
    let s = partial_upload(&mut c, "new.bin", 100_000);
    abort(&mut c);
    drop(s);
    // pyftpdlib's behaviour: what arrived is kept, for a later REST + STOR.
    let len = std::fs::metadata(dir.path().join("new.bin")).unwrap().len();
    assert!(len >= 100_000, "partial file of {len} bytes");
}

/// An upload to `name` on the full disk: the reply after the data was refused.
fn failing_upload(c: &mut Ctrl, name: &str) -> common::Reply {
    let addr = xfer::pasv(c);
    c.expect(&format!("STOR {name}"), 150);
    let mut s = xfer::connect(addr);
    // More than the disk takes; the server gives up and closes, so writes may fail.
    let _ = s.write_all(&vec![b'y'; 1 << 20]);
    let r = c.read_reply();
    drop(s);
    r
}

#[test]
fn a_full_disk_or_quota_is_452_or_552_and_the_session_goes_on() {
    let srv = TestServer::start(|cfg| cfg.filesystem = Some(Arc::new(FullDisk)));
    let mut c = srv.login();
    c.expect("TYPE I", 200);
    let r = failing_upload(&mut c, "full-1.bin");
    assert_eq!(
        (r.code, r.text.as_str()),
        (452, "Insufficient storage space.")
    );
    c.expect("NOOP", 200);
    xfer::upload(&mut c, "STOR ok.bin", b"fits");
    assert_eq!(xfer::download(&mut c, "RETR ok.bin"), b"fits");
    let r = failing_upload(&mut c, "quota-1.bin");
    assert_eq!(
        (r.code, r.text.as_str()),
        (552, "Exceeded storage allocation.")
    );
    c.expect("NOOP", 200);
    xfer::upload(&mut c, "STOR ok2.bin", b"still fits");
    assert_eq!(
        std::fs::read(srv.root().join("ok2.bin")).unwrap(),
        b"still fits"
    );
}

/// A daemon serving `size` bytes of `big.bin` at 1 MB/s per data connection, with `grace`.
fn throttled(tag: &str, size: usize, grace: &str) -> (TempDir, Daemon) {
    let dir = TempDir::new(tag);
    std::fs::write(dir.path().join("big.bin"), vec![3u8; size]).unwrap();
    let extra = ["--shutdown-grace", grace, "--write-limit", "1000000"];
    let d = Daemon::start(dir.path(), &extra);
    (dir, d)
}

/// Starts the download of big.bin and reads its first bytes: the transfer is running.
fn running_download(c: &mut Ctrl) -> (TcpStream, usize) {
    c.expect("TYPE I", 200);
    let addr = xfer::pasv(c);
    c.expect("RETR big.bin", 150);
    let mut s = xfer::connect(addr);
    let n = xfer::read_exact(&mut s, 100_000).len();
    (s, n)
}

#[test]
fn sigterm_lets_a_running_transfer_finish_within_the_grace() {
    let size = 2_000_000;
    let (_dir, mut d) = throttled("robust-grace", size, "5");
    let mut a = d.login();
    let (mut s, head) = running_download(&mut a);
    let mut idle = d.login();
    let t = Instant::now();
    d.signal("TERM");
    // An idle session is told at once; that is the event that the drain began.
    let r = idle.read_reply();
    assert_eq!((r.code, r.text.as_str()), (421, "Server is shutting down."));
    idle.expect_closed();
    // New connections are refused: the connect fails, or the socket closes without a 220.
    match TcpStream::connect(d.addr()) {
        Err(e) => assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused, "{e}"),
        Ok(mut late) => {
            late.set_read_timeout(Some(common::IO_TIMEOUT)).unwrap();
            let mut buf = Vec::new();
            let _ = late.read_to_end(&mut buf);
            assert!(buf.is_empty(), "a late client was served: {buf:?}");
        }
    }
    // The running transfer completes, then the session is told 421.
    let rest = xfer::drain(&mut s);
    assert_eq!(head + rest, size, "the transfer was cut");
    a.expect_line_reply("226 Transfer complete.");
    let r = a.read_reply();
    assert_eq!((r.code, r.text.as_str()), (421, "Server is shutting down."));
    a.expect_closed();
    let st = d.wait_exit(Duration::from_secs(10));
    let took = t.elapsed();
    eprintln!("graceful shutdown: transfer finished and the daemon exited {took:?} after SIGTERM");
    assert_eq!(st.code(), Some(0), "{}", d.stderr());
    assert!(
        took < Duration::from_secs(5),
        "exit after {took:?}, the grace is 5 s"
    );
    assert!(
        took > Duration::from_millis(800),
        "{took:?}: was the transfer throttled?"
    );
}

#[test]
fn a_transfer_longer_than_the_grace_is_cut_when_it_ends() {
    let size = 5_000_000;
    let (_dir, mut d) = throttled("robust-grace-cut", size, "1");
    let mut a = d.login();
    let (mut s, head) = running_download(&mut a);
    let t = Instant::now();
    d.signal("TERM");
    let st = d.wait_exit(Duration::from_secs(10));
    let took = t.elapsed();
    eprintln!("grace 1 s with a 5 s transfer: exited {took:?} after SIGTERM");
    assert_eq!(st.code(), Some(0), "{}", d.stderr());
    assert!(took >= Duration::from_millis(900), "exited after {took:?}");
    assert!(took < Duration::from_secs(2), "exited only after {took:?}");
    let rest = xfer::drain(&mut s);
    assert!(head + rest < size, "the whole file arrived");
    // The client is told why (a 426 for the transfer may come first).
    let mut r = a.read_reply();
    if r.code == 426 {
        r = a.read_reply();
    }
    assert_eq!((r.code, r.text.as_str()), (421, "Server is shutting down."));
}

#[test]
fn out_of_descriptors_the_daemon_waits_without_spinning_and_recovers() {
    let dir = TempDir::new("robust-emfile");
    let args = Daemon::args(dir.path(), "user", "pass", &["--max-cons", "0"]);
    let mut d = Daemon::start_cmd(
        Command::new("sh")
            .args(["-c", "ulimit -n 64 && exec \"$0\" \"$@\"", robust::BIN])
            .args(&args),
    );
    let pid = d.pid().to_string();
    // More clients than descriptors: the first ones are greeted, the others wait, queued.
    let mut clients: Vec<TcpStream> = (0..90)
        .map(|_| TcpStream::connect(d.addr()).unwrap())
        .collect();
    // The event that the daemon ran out: from then on it accepts nothing more.
    d.wait_for_line("accept failed: Too many open files");
    let mut served = 0;
    for s in &mut clients {
        s.set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
        let mut buf = [0u8; 4];
        match s.read_exact(&mut buf) {
            Ok(()) if &buf == b"220 " => served += 1,
            Ok(()) => panic!("unexpected reply {buf:?}"),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) => panic!("client {served}: {e}"),
        }
    }
    let waiting = clients.len() - served;
    assert!(
        served >= 45 && waiting > 0,
        "served {served}, waiting {waiting}"
    );
    // While stuck, the accept retries run on a 100 ms timer: the loop does not spin.
    let ticks = robust::cpu_ticks(&pid);
    std::thread::sleep(Duration::from_secs(1));
    let used = robust::cpu_ticks(&pid) - ticks;
    eprintln!("out of descriptors: {served} served, {waiting} queued, {used} CPU ticks in 1 s");
    assert!(
        used < 30,
        "{used} ticks of CPU in 1 s while out of descriptors"
    );
    // Descriptors come back: every queued client is greeted, in turn.
    let mut waiting_clients = clients.split_off(served);
    drop(clients);
    for s in &mut waiting_clients {
        s.set_read_timeout(Some(common::IO_TIMEOUT)).unwrap();
        let mut buf = [0u8; 4];
        s.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"220 ");
    }
    drop(waiting_clients);
    let mut c = d.login();
    c.expect("NOOP", 200);
}
