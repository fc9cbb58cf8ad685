//! The [`Hooks`] callbacks, recorded in-process: which ones run, in which order, with which
//! arguments, and that each has run by the time the client reads the reply it precedes.

mod common;
mod exutil;

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use ftpdlib::{Hooks, SessionInfo};

use common::{Ctrl, TestServer, IO_TIMEOUT};
use exutil::{download, open_data, pattern, upload, wait_transferred};

/// One hook call.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Ev {
    Connect,
    Disconnect,
    Login(String),
    LoginFailed(String),
    Logout(String),
    Sent(String, u64),
    Received(String, u64),
    IncompleteSent(String, u64),
    IncompleteReceived(String, u64),
    Delete(String),
    Rename(String, String),
    Mkdir(String),
    Rmdir(String),
    Progress(String, u64, Option<u64>),
}

use Ev::*;

/// Every call: the peer it was about, what it was, and when.
type Log = Vec<(SocketAddr, Ev, Instant)>;

/// Records hook calls; clones share the record.
#[derive(Debug, Clone, Default)]
struct Recorder(Arc<(Mutex<Log>, Condvar)>);

impl Recorder {
    fn push(&self, peer: SocketAddr, ev: Ev) {
        let (log, cv) = &*self.0;
        log.lock().unwrap().push((peer, ev, Instant::now()));
        cv.notify_all();
    }

    fn session(&self, s: &SessionInfo<'_>, ev: Ev) {
        self.push(s.peer, ev);
    }

    /// The calls so far, without progress reports.
    fn events(&self) -> Vec<Ev> {
        let log = self.0 .0.lock().unwrap();
        let evs = log.iter().map(|(_, e, _)| e.clone());
        evs.filter(|e| !matches!(e, Progress(..))).collect()
    }

    /// Every call so far, with peer and time.
    fn log(&self) -> Log {
        self.0 .0.lock().unwrap().clone()
    }

    /// Waits (bounded) until `ev` has been recorded; returns the calls without progress.
    #[track_caller]
    fn wait_for(&self, ev: &Ev) -> Vec<Ev> {
        let (log, cv) = &*self.0;
        let guard = log.lock().unwrap();
        let (guard, res) = cv
            .wait_timeout_while(guard, IO_TIMEOUT, |l| !l.iter().any(|(_, e, _)| e == ev))
            .unwrap();
        drop(guard);
        assert!(
            !res.timed_out(),
            "{ev:?} never recorded: {:?}",
            self.events()
        );
        self.events()
    }
}

impl Hooks for Recorder {
    fn on_connect(&self, peer: SocketAddr) {
        self.push(peer, Connect);
    }
    fn on_disconnect(&self, peer: SocketAddr) {
        self.push(peer, Disconnect);
    }
    fn on_login(&self, s: &SessionInfo<'_>) {
        self.session(s, Login(s.user.into()));
    }
    fn on_login_failed(&self, s: &SessionInfo<'_>) {
        self.session(s, LoginFailed(s.user.into()));
    }
    fn on_logout(&self, s: &SessionInfo<'_>) {
        self.session(s, Logout(s.user.into()));
    }
    fn on_file_sent(&self, s: &SessionInfo<'_>, path: &str, bytes: u64) {
        self.session(s, Sent(path.into(), bytes));
    }
    fn on_file_received(&self, s: &SessionInfo<'_>, path: &str, bytes: u64) {
        self.session(s, Received(path.into(), bytes));
    }
    fn on_incomplete_file_sent(&self, s: &SessionInfo<'_>, path: &str, bytes: u64) {
        self.session(s, IncompleteSent(path.into(), bytes));
    }
    fn on_incomplete_file_received(&self, s: &SessionInfo<'_>, path: &str, bytes: u64) {
        self.session(s, IncompleteReceived(path.into(), bytes));
    }
    fn on_delete(&self, s: &SessionInfo<'_>, path: &str) {
        self.session(s, Delete(path.into()));
    }
    fn on_rename(&self, s: &SessionInfo<'_>, from: &str, to: &str) {
        self.session(s, Rename(from.into(), to.into()));
    }
    fn on_mkdir(&self, s: &SessionInfo<'_>, path: &str) {
        self.session(s, Mkdir(path.into()));
    }
    fn on_rmdir(&self, s: &SessionInfo<'_>, path: &str) {
        self.session(s, Rmdir(path.into()));
    }
    fn on_progress(&self, s: &SessionInfo<'_>, path: &str, bytes: u64, total: Option<u64>) {
        self.session(s, Progress(path.into(), bytes, total));
    }
}

/// A server recording its hook calls; `write_limit` in bytes per second (0: none).
fn server(write_limit: u64) -> (TestServer, Recorder) {
    let rec = Recorder::default();
    let hooks = rec.clone();
    let server = TestServer::start(move |cfg| {
        cfg.hooks = Arc::new(hooks);
        cfg.write_limit = write_limit;
    });
    (server, rec)
}

fn s(text: &str) -> String {
    text.to_owned()
}

#[test]
fn login_and_logout_in_order_each_before_its_reply() {
    let (server, rec) = server(0);
    let mut c = server.connect();
    let me = c.try_clone_stream().local_addr().unwrap();
    assert_eq!(rec.events(), [Connect], "on_connect before the 220");
    c.expect("USER user", 331);
    assert_eq!(rec.events(), [Connect]);
    c.expect("PASS pass", 230);
    assert_eq!(
        rec.events(),
        [Connect, Login(s("user"))],
        "on_login before the 230"
    );
    c.expect("QUIT", 221);
    // The server may already have closed (and reported it) by the time the 221 is read.
    let after_quit = rec.events();
    assert!(
        after_quit.starts_with(&[Connect, Login(s("user")), Logout(s("user"))])
            && after_quit.len() <= 4,
        "on_logout before the 221: {after_quit:?}"
    );
    c.expect_closed();
    let all = rec.wait_for(&Disconnect);
    assert_eq!(
        all,
        [Connect, Login(s("user")), Logout(s("user")), Disconnect]
    );
    assert!(
        rec.log().iter().all(|(peer, _, _)| *peer == me),
        "peer is the client"
    );
}

#[test]
fn failed_login_then_success_then_abrupt_close() {
    let (server, rec) = server(0);
    let mut c = server.connect();
    c.expect("USER user", 331);
    c.expect("PASS wrong", 530);
    assert_eq!(rec.events(), [Connect, LoginFailed(s("user"))]);
    c.expect("USER nobody", 331);
    c.expect("PASS pass", 530);
    c.login("user", "pass");
    // Closing without QUIT still logs the user out, before the disconnect.
    c.shutdown();
    let all = rec.wait_for(&Disconnect);
    let expected = [
        Connect,
        LoginFailed(s("user")),
        LoginFailed(s("nobody")),
        Login(s("user")),
        Logout(s("user")),
        Disconnect,
    ];
    assert_eq!(all, expected);
}

#[test]
fn upload_is_reported_after_the_data_close_and_before_226() {
    let (server, rec) = server(0);
    let mut c = server.login();
    c.expect("TYPE I", 200);
    let data = pattern(70_000);
    let mut sock = open_data(&mut c, "STOR up.bin").unwrap();
    sock.write_all(&data).unwrap();
    // Every byte is in: still nothing to report while the data connection is open.
    wait_transferred(&mut c, data.len() as u64);
    assert_eq!(rec.events(), [Connect, Login(s("user"))]);
    sock.shutdown(Shutdown::Write).unwrap();
    assert_eq!(c.read_reply().code, 226);
    let received = Received(s("/up.bin"), data.len() as u64);
    assert_eq!(rec.events(), [Connect, Login(s("user")), received]);
    assert_eq!(
        std::fs::read(server.root().join("up.bin")).unwrap().len(),
        data.len()
    );

    // APPE and a completed download are reported with their own byte counts.
    assert_eq!(upload(&mut c, "APPE up.bin", b"12345").code, 226);
    let got = download(&mut c, "RETR up.bin");
    let evs = rec.events();
    assert_eq!(
        evs[3..],
        [
            Received(s("/up.bin"), 5),
            Sent(s("/up.bin"), got.len() as u64)
        ]
    );
}

#[test]
fn aborted_transfers_are_reported_incomplete() {
    let (server, rec) = server(50_000);
    std::fs::write(server.root().join("big.bin"), pattern(1_000_000)).unwrap();
    let mut c = server.login();
    c.expect("TYPE I", 200);

    // A throttled download (20 s at 50 kB/s), aborted after the first bytes.
    let mut sock = open_data(&mut c, "RETR big.bin").unwrap();
    let mut first = [0u8; 100];
    sock.read_exact(&mut first).unwrap();
    c.expect("ABOR", 426);
    let r = c.read_reply();
    assert_eq!((r.code, r.text.as_str()), (226, "ABOR command successful."));
    let evs = rec.events();
    let Some(IncompleteSent(path, bytes)) = evs.last() else {
        panic!("no on_incomplete_file_sent: {evs:?}");
    };
    assert_eq!(path, "/big.bin");
    assert!((100..1_000_000).contains(bytes), "bytes {bytes}");
    drop(sock);

    // An upload cut by ABOR.
    let mut sock = open_data(&mut c, "STOR cut.bin").unwrap();
    sock.write_all(&[7u8; 1234]).unwrap();
    wait_transferred(&mut c, 1234);
    c.expect("ABOR", 426);
    assert_eq!(c.read_reply().code, 226);
    assert_eq!(
        rec.events().last(),
        Some(&IncompleteReceived(s("/cut.bin"), 1234))
    );
}

#[test]
fn file_operations_are_reported_once_they_succeeded() {
    let (server, rec) = server(0);
    std::fs::write(server.root().join("a.txt"), b"a").unwrap();
    let mut c = server.login();
    let last = |rec: &Recorder| rec.events().last().cloned();
    c.expect("MKD d", 257);
    assert_eq!(last(&rec), Some(Mkdir(s("/d"))));
    c.expect("RNFR a.txt", 350);
    assert_eq!(last(&rec), Some(Mkdir(s("/d"))), "nothing on RNFR");
    c.expect("RNTO d/b.txt", 250);
    assert_eq!(last(&rec), Some(Rename(s("/a.txt"), s("/d/b.txt"))));
    c.expect("RMD d", 550);
    c.expect("DELE a.txt", 550);
    assert_eq!(
        last(&rec),
        Some(Rename(s("/a.txt"), s("/d/b.txt"))),
        "failures: nothing"
    );
    c.expect("CWD d", 250);
    c.expect("DELE b.txt", 250);
    assert_eq!(last(&rec), Some(Delete(s("/d/b.txt"))), "absolute paths");
    c.expect("CDUP", 250);
    c.expect("RMD d", 250);
    assert_eq!(last(&rec), Some(Rmdir(s("/d"))));
    assert_eq!(rec.events().len(), 2 + 4);
}

#[test]
fn progress_is_reported_about_once_a_second_during_a_throttled_download() {
    // 200 kB at 100 kB/s: about 2 s.
    let (server, rec) = server(100_000);
    let size = 200_000u64;
    std::fs::write(server.root().join("f.bin"), pattern(size as usize)).unwrap();
    let mut c = Ctrl::connect(server.addr()).0;
    c.login("user", "pass");
    c.expect("TYPE I", 200);
    let got = download(&mut c, "RETR f.bin");
    assert_eq!(got.len() as u64, size);

    let log = rec.log();
    let progress: Vec<(u64, Option<u64>, Instant)> = log
        .iter()
        .filter_map(|(_, e, t)| match e {
            Progress(path, bytes, total) if path == "/f.bin" => Some((*bytes, *total, *t)),
            _ => None,
        })
        .collect();
    assert!(
        progress.len() >= 2,
        "a 2 s transfer reports at 0 s and 1 s: {progress:?}"
    );
    assert!(
        progress.iter().all(|p| p.1 == Some(size)),
        "total = file size: {progress:?}"
    );
    for w in progress.windows(2) {
        assert!(
            w[1].0 > w[0].0 && w[1].0 <= size,
            "bytes increase: {progress:?}"
        );
        let gap = w[1].2 - w[0].2;
        assert!(
            gap >= Duration::from_millis(900),
            "at most once a second: {gap:?}"
        );
    }
    // All of them before the completion.
    let sent = log
        .iter()
        .position(|(_, e, _)| *e == Sent(s("/f.bin"), size));
    let last_progress = log.iter().rposition(|(_, e, _)| matches!(e, Progress(..)));
    assert!(sent.is_some() && last_progress < sent, "{log:?}");
}
