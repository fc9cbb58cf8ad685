//! The descriptor-leak workload of `robust_load`: an in-process server (so its descriptors are
//! this process's), a mix of sessions that end well and badly, then the count of
//! `/proc/self/fd` must come back to what it was once the server had started.

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, TcpStream};
use std::time::{Duration, Instant};

use crate::common::{Ctrl, TestServer};
use crate::robust::{fd_targets, open_fds};
use crate::xfer::{self, CtrlExt};

const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
const BIG: usize = 8 << 20;

/// RETR of the big file, reading only its first bytes: returns the stalled data socket.
fn stalled_download(c: &mut Ctrl) -> TcpStream {
    let addr = xfer::pasv(c);
    c.expect("RETR big.bin", 150);
    let mut s = xfer::connect(addr);
    xfer::read_exact(&mut s, 64 * 1024);
    s
}

/// Runs the workload and checks the count. Call with the test lock held.
pub fn run() {
    let srv = TestServer::start_with_root(|_, root| {
        std::fs::write(root.join("small.txt"), b"small").unwrap();
        std::fs::write(root.join("big.bin"), vec![1u8; BIG]).unwrap();
    });
    // The server's own descriptors (listener, epoll, waker) exist once `start` returns.
    let baseline = open_fds("self");
    let before = fd_targets("self");
    for _ in 0..10 {
        let mut c = srv.login();
        c.expect("QUIT", 221);
        c.expect_closed();
    }
    for _ in 0..5 {
        // A wrong password, then the client vanishes.
        let mut c = srv.connect();
        c.expect("USER user", 331);
        c.expect("PASS wrong", 530);
        c.shutdown();
    }
    for i in 0..3 {
        let mut c = srv.login();
        c.expect("TYPE I", 200);
        assert_eq!(xfer::download(&mut c, "RETR small.txt"), b"small");
        xfer::listing(&mut c, "LIST");
        xfer::upload(&mut c, &format!("STOR up{i}.bin"), &[i as u8; 100_000]);
        // Active mode.
        let l = xfer::active_listener(LOCALHOST);
        c.expect(
            &format!("PORT {}", xfer::port_arg(l.local_addr().unwrap())),
            200,
        );
        // PORT connected at once: the data connection is already open.
        c.expect("RETR small.txt", 125);
        let mut s = xfer::accept(&l);
        assert_eq!(xfer::read_all(&mut s, 100), b"small");
        c.expect_line_reply("226 Transfer complete.");
        c.expect("QUIT", 221);
    }
    for _ in 0..2 {
        // ABOR in the middle of a download.
        let mut c = srv.login();
        let s = stalled_download(&mut c);
        c.send_raw(b"ABOR\r\n");
        let (a, b) = (c.read_reply(), c.read_reply());
        assert!(
            matches!((a.code, b.code), (426, 226) | (226, 225 | 226)),
            "{a:?} {b:?}"
        );
        drop(s);
        c.expect("NOOP", 200);
    }
    for _ in 0..2 {
        // Vanished in the middle of a download, of an upload, after PASV, before the greeting.
        let mut c = srv.login();
        let s = stalled_download(&mut c);
        c.shutdown();
        drop(s);
        let mut c = srv.login();
        let addr = xfer::pasv(&mut c);
        c.expect("STOR cut.bin", 150);
        let mut s = xfer::connect(addr);
        s.write_all(&[2u8; 50_000]).unwrap();
        xfer::wait_transferred(&mut c, 50_000);
        c.shutdown();
        drop(s);
        let mut c = srv.login();
        xfer::pasv(&mut c);
        c.shutdown();
        drop(TcpStream::connect(srv.addr()).unwrap());
    }
    // Every client is gone: the server's side must close too (bounded polling). Compared as
    // sets of "fd -> target", so a descriptor that another thread of the harness closed
    // meanwhile (a finished daemon's log pipe) cannot hide a leaked socket.
    let leaked = || -> Vec<String> {
        let now = fd_targets("self");
        now.into_iter().filter(|t| !before.contains(t)).collect()
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    while (open_fds("self") > baseline || !leaked().is_empty()) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        leaked(),
        Vec::<String>::new(),
        "descriptors left after the workload"
    );
    assert!(open_fds("self") <= baseline);
    eprintln!("fd leak check: back to {baseline} descriptors after the mixed workload");
    // The server still works afterwards.
    let mut c = srv.login();
    c.expect("NOOP", 200);
}
