//! Large uploads write behind: past 256 KiB the blocking pool writes the file, the loop only
//! reads the socket. Over real sockets: large STORs arrive intact in binary, ASCII and PROT P;
//! a write held on the pool (a disk stuck in dirty-page throttling, say) holds no other
//! session, and the writes past the switch are made by the pool's threads; ABOR while a write
//! is held answers `426`/`226` only once the file is in its final state (partial file kept,
//! deleted, or the old file intact for an atomic upload); a quota crossed on the pool gives
//! `552` with exactly the bytes that fit; a write that panics ends the upload with `451`.

mod common;
mod heldfs;
mod tlsutil;
mod xfer;

use std::fs;
use std::io::Write;
use std::net::Shutdown;
use std::sync::Arc;
use std::time::Duration;

use common::{Ctrl, TestServer};
use ftpdlib::fs::UploadPolicy;
use ftpdlib::UserLimits;
use heldfs::{Factory, Handle, HOLD_AT};
use tlsutil::{client_config, FtpsCtrl, FtpsServer, Mode};
use xfer::{CtrlExt, Pattern};

/// A large upload: 8 MiB, as in the measurement that asked for write-behind.
const LARGE: usize = 8 << 20;

/// How long the test waits for a write to be held: a bound, never a sleep.
const LIMIT: Duration = Duration::from_secs(10);

fn binary_login(srv: &TestServer) -> Ctrl {
    let mut c = srv.login();
    c.expect("TYPE I", 200);
    c
}

/// A server whose uploads are watched (and held, with `hold`) under `policy`.
fn watched_server(hold: bool, policy: UploadPolicy) -> (TestServer, Handle) {
    let handle = heldfs::watch(hold);
    let watch = Arc::clone(&handle.watch);
    let srv = TestServer::start(move |cfg| {
        cfg.filesystem = Some(Arc::new(Factory { watch, policy }));
        cfg.blocking_threads = 2;
    });
    (srv, handle)
}

#[test]
fn a_large_binary_upload_arrives_intact_spliced_from_memory_and_without_a_pool() {
    let data = Pattern::new().bytes(LARGE);
    // Spliced through pipes; read into memory; with no pool, the "pool" runs inline.
    for (zero_copy, threads) in [(true, 2), (false, 2), (true, 0), (false, 0)] {
        let srv = TestServer::start(|cfg| {
            cfg.use_sendfile = zero_copy;
            cfg.blocking_threads = threads;
        });
        let mut c = binary_login(&srv);
        xfer::upload(&mut c, "STOR big.bin", &data);
        assert!(
            fs::read(srv.root().join("big.bin")).unwrap() == data,
            "zero copy: {zero_copy}, threads: {threads}"
        );
    }
}

/// TYPE A text of `len` wire bytes or a little more: lines of every length from 0 to 199,
/// CRLF-ended, some with a lone CR inside (data, kept). Returns the wire and the file.
fn ascii_text(len: usize) -> (Vec<u8>, Vec<u8>) {
    let (mut wire, mut file) = (Vec::new(), Vec::new());
    let mut i = 0usize;
    while wire.len() < len {
        let mut line: Vec<u8> = (0..i % 200).map(|k| b'a' + (k % 26) as u8).collect();
        if i % 7 == 3 {
            line.insert(line.len() / 2, b'\r');
        }
        wire.extend_from_slice(&line);
        wire.extend_from_slice(b"\r\n");
        file.extend_from_slice(&line);
        file.push(b'\n');
        i += 1;
    }
    (wire, file)
}

#[test]
fn a_large_ascii_upload_arrives_converted() {
    let srv = TestServer::with_user();
    let mut c = srv.login();
    c.expect("TYPE A", 200);
    let (wire, file) = ascii_text(LARGE);
    xfer::upload(&mut c, "STOR text.txt", &wire);
    let got = fs::read(srv.root().join("text.txt")).unwrap();
    assert_eq!(got.len(), file.len());
    assert!(got == file, "the converted text differs");
}

#[test]
fn a_large_prot_p_upload_arrives_intact() {
    let srv = FtpsServer::default_tls();
    let config = client_config();
    let mut c = FtpsCtrl::secure_login(srv.addr(), &config);
    c.expect("TYPE I", 200);
    let data = Pattern::new().bytes(LARGE);
    let r = c.upload(Mode::Pasv, &config, "STOR big.bin", &data);
    assert_eq!(r.code, 226, "{r:?}");
    assert!(fs::read(srv.file("big.bin")).unwrap() == data);
}

#[test]
fn a_held_write_holds_no_other_session_and_the_pool_makes_the_writes() {
    let (srv, held) = watched_server(true, UploadPolicy::default());
    let mut c = binary_login(&srv);
    let data = Pattern::new().bytes(LARGE);
    let addr = xfer::pasv(&mut c);
    c.expect("STOR big.bin", 150);
    let mut s = xfer::connect(addr);
    let sender = std::thread::spawn(move || {
        s.write_all(&data).unwrap();
        s.shutdown(Shutdown::Write).unwrap();
        (s, data)
    });
    held.reached
        .recv_timeout(LIMIT)
        .expect("no write-behind write started");
    // The write is stuck; the loop is not: this session and another are served.
    assert!(c.stat_bytes().is_some_and(|n| n >= HOLD_AT));
    let mut other = binary_login(&srv);
    other.expect("NOOP", 200);
    xfer::upload(&mut other, "STOR small.bin", b"small and inline");
    assert_eq!(
        xfer::download(&mut other, "RETR small.bin"),
        b"small and inline"
    );
    held.open.send(()).unwrap();
    c.expect_line_reply("226 Transfer complete.");
    let (_s, data) = sender.join().unwrap();
    assert!(fs::read(srv.root().join("big.bin")).unwrap() == data);
    let writes = held.watch.writes.lock().unwrap().clone();
    let pool = |t: &Option<String>| {
        t.as_deref()
            .is_some_and(|n| n.starts_with("ftpdlib-blocking"))
    };
    assert!(
        !pool(&writes[0].1),
        "a small upload's first write is the loop's"
    );
    let behind: Vec<_> = writes.iter().filter(|(at, _)| *at >= HOLD_AT).collect();
    assert!(!behind.is_empty());
    assert!(
        behind.iter().all(|(_, t)| pool(t)),
        "a write past the switch ran on the loop: {behind:?}"
    );
}

/// Starts a STOR of `name` and sends `n` bytes without ending the upload; returns once the
/// server has read them all while the first write-behind write is held.
fn held_upload(c: &mut Ctrl, held: &Handle, name: &str, n: usize) -> std::net::TcpStream {
    let addr = xfer::pasv(c);
    c.expect(&format!("STOR {name}"), 150);
    let mut s = xfer::connect(addr);
    // Less than the server reads with a write held: 256 KiB inline, two chunks of 256 KiB.
    s.write_all(&Pattern::new().bytes(n)).unwrap();
    held.reached
        .recv_timeout(LIMIT)
        .expect("no write-behind write started");
    xfer::wait_transferred(c, n as u64);
    s
}

/// Bytes sent before the ABOR: more than the inline phase, less than it and two chunks hold.
const SENT: usize = 700_000;

/// ABOR while a write is held on the pool: the replies come once the file is final. The
/// contents of `cut.bin` as the replies arrived (`None`: no such file).
fn abor_with_a_held_write(policy: UploadPolicy, old: Option<&[u8]>) -> Option<Vec<u8>> {
    let (srv, held) = watched_server(true, policy);
    if let Some(old) = old {
        fs::write(srv.root().join("cut.bin"), old).unwrap();
    }
    let mut c = binary_login(&srv);
    let mut s = held_upload(&mut c, &held, "cut.bin", SENT);
    let mut other = srv.login();
    c.send_raw(b"ABOR\r\n");
    // A round trip through the loop after the ABOR arrived: no reply may come while the
    // write is still held.
    other.expect("NOOP", 200);
    assert!(
        !c.has_pending_data(),
        "ABOR answered with a write on the pool"
    );
    held.open.send(()).unwrap();
    assert!(xfer::abor_replies(&mut c), "an open upload was aborted");
    // Read at once after the replies: nothing may change the directory from here on.
    let listing: Vec<_> = fs::read_dir(srv.root())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let file = fs::read(srv.root().join("cut.bin")).ok();
    assert!(
        listing.iter().all(|name| !name.contains("ftpdlib-part")),
        "a temporary file was left: {listing:?}"
    );
    xfer::drain(&mut s);
    c.expect("NOOP", 200);
    xfer::upload(&mut c, "STOR after.bin", b"the session goes on");
    file
}

#[test]
fn abor_with_a_write_on_the_pool_keeps_every_byte_that_arrived() {
    let file = abor_with_a_held_write(UploadPolicy::default(), None).expect("the partial file");
    assert_eq!(file.len(), SENT);
    assert!(
        file == Pattern::new().bytes(SENT),
        "the partial file differs"
    );
}

#[test]
fn abor_with_a_write_on_the_pool_deletes_the_partial_file_when_asked() {
    let policy = UploadPolicy {
        delete_incomplete: true,
        ..UploadPolicy::default()
    };
    assert_eq!(abor_with_a_held_write(policy, None), None);
}

#[test]
fn abor_with_a_write_on_the_pool_leaves_the_old_file_of_an_atomic_upload() {
    let policy = UploadPolicy {
        atomic: true,
        ..UploadPolicy::default()
    };
    let file = abor_with_a_held_write(policy, Some(b"the old contents"));
    assert_eq!(file.as_deref(), Some(&b"the old contents"[..]));
}

#[test]
fn a_quota_crossed_on_the_pool_gives_552_and_keeps_what_fits() {
    let quota: u64 = 3 << 20;
    for delete_incomplete in [false, true] {
        let srv = TestServer::start_with_root(|cfg, root| {
            let mut auth = common::authorizer(root);
            let limits = UserLimits {
                quota_bytes: Some(quota),
                ..UserLimits::default()
            };
            auth.set_limits("user", limits).unwrap();
            cfg.authorizer = Arc::new(auth);
            cfg.delete_incomplete_uploads = delete_incomplete;
        });
        let mut c = binary_login(&srv);
        let addr = xfer::pasv(&mut c);
        c.expect("STOR big.bin", 150);
        let mut s = xfer::connect(addr);
        // The server stops reading once the quota is crossed: a failed write is expected.
        let _ = s.write_all(&Pattern::new().bytes(LARGE));
        let _ = s.shutdown(Shutdown::Write);
        let r = c.read_reply();
        assert_eq!(r.code, 552, "{r:?}");
        let path = srv.root().join("big.bin");
        if delete_incomplete {
            assert!(!path.exists());
        } else {
            let kept = fs::read(&path).unwrap();
            assert_eq!(kept.len() as u64, quota);
            assert!(kept == Pattern::new().bytes(quota as usize));
        }
        c.expect("NOOP", 200);
    }
}

#[test]
fn a_write_that_panics_on_the_pool_fails_the_upload_with_451() {
    let (srv, _held) = watched_server(false, UploadPolicy::default());
    let mut c = binary_login(&srv);
    let addr = xfer::pasv(&mut c);
    c.expect("STOR panic.bin", 150);
    let mut s = xfer::connect(addr);
    let _ = s.write_all(&Pattern::new().bytes(2 << 20));
    let _ = s.shutdown(Shutdown::Write);
    let r = c.read_reply();
    assert_eq!(r.code, 451, "{r:?}");
    c.expect("NOOP", 200);
    xfer::upload(&mut c, "STOR fine.bin", &Pattern::new().bytes(1 << 20));
    assert_eq!(
        fs::metadata(srv.root().join("fine.bin")).unwrap().len(),
        1 << 20
    );
}
