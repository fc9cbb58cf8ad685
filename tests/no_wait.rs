//! No session waits for another: work that may block runs on the loop's blocking-work pool.
//!
//! Each test makes one session's work block *for as long as the test wants* (a gate the test
//! opens) — a password check, or the reading of a directory for LIST — and checks that other
//! sessions are served meanwhile. On a loop that did that work itself, the other session's
//! NOOP would wait for the gate and the test would fail at the client's read timeout.

mod common;
mod xfer;

use std::io::{self, Read};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use ftpdlib::auth::{AuthError, Authorizer, Perms, User};
use ftpdlib::fs::{
    DirEntry, FileStat, Filesystem, FilesystemFactory, OsFs, ReadFile, RootedPath, VirtualPath,
    WriteFile, WriteMode,
};
use ftpdlib::MemoryAuthorizer;

use common::{Ctrl, TestServer};

/// How long the test waits for the blocked work to start: a bound, never a sleep.
const LIMIT: Duration = Duration::from_secs(5);

/// A gate: `wait` blocks until the test calls `open` (after announcing it was reached).
#[derive(Debug)]
struct Gate {
    reached: Mutex<Sender<()>>,
    open: Mutex<Receiver<()>>,
    /// Set once a waiter went on (opened, or given up after its bound).
    passed: AtomicBool,
}

impl Gate {
    /// The gate, the test's "reached" receiver and its "open" sender.
    fn new() -> (Arc<Gate>, Receiver<()>, Sender<()>) {
        let (reached_tx, reached_rx) = channel();
        let (open_tx, open_rx) = channel();
        let gate = Gate {
            reached: Mutex::new(reached_tx),
            open: Mutex::new(open_rx),
            passed: AtomicBool::new(false),
        };
        (Arc::new(gate), reached_rx, open_tx)
    }

    fn wait(&self) {
        let _ = self.reached.lock().unwrap().send(());
        let _ = self.open.lock().unwrap().recv_timeout(LIMIT * 2);
        self.passed.store(true, Ordering::SeqCst);
    }

    fn passed(&self) -> bool {
        self.passed.load(Ordering::SeqCst)
    }
}

/// The test users, but checking the password of "slow" waits at the gate. With `at_once`,
/// the other (plaintext) users are checked on the loop, as `MemoryAuthorizer` does; without,
/// every check goes to the pool, as for an authorizer that does not say.
#[derive(Debug)]
struct GatedAuth {
    inner: MemoryAuthorizer,
    gate: Arc<Gate>,
    at_once: bool,
}

impl Authorizer for GatedAuth {
    fn authenticate(
        &self,
        user: &str,
        pass: &str,
        peer: std::net::IpAddr,
    ) -> Result<User, AuthError> {
        if user == "slow" {
            self.gate.wait();
        }
        self.inner.authenticate(user, pass, peer)
    }
    fn authenticate_at_once(
        &self,
        user: &str,
        pass: &str,
        peer: std::net::IpAddr,
    ) -> Option<Result<User, AuthError>> {
        if !self.at_once || user == "slow" {
            return None;
        }
        self.inner.authenticate_at_once(user, pass, peer)
    }
    fn perms_for(&self, user: &User, path: &VirtualPath) -> Perms {
        self.inner.perms_for(user, path)
    }
}

/// The session's NOOP is answered at once, and a whole listing works, while the other
/// session's work is held at the gate.
#[track_caller]
fn other_session_is_served(srv: &TestServer) {
    let mut other = srv.login();
    other.expect("NOOP", 200);
    other.expect("PWD", 257);
}

/// A server whose user "slow" has its password check held at the gate (on a pool of
/// `threads`), and that session, its PASS sent and the check started.
struct HeldLogin {
    srv: TestServer,
    slow: Ctrl,
    gate: Arc<Gate>,
    open: Sender<()>,
}

fn hold_a_login(at_once: bool, threads: usize) -> HeldLogin {
    let (gate, reached, open) = Gate::new();
    let held = Arc::clone(&gate);
    let srv = TestServer::start_with_root(|cfg, root| {
        let inner = common::authorizer(root);
        cfg.authorizer = Arc::new(GatedAuth {
            inner,
            gate: held,
            at_once,
        });
        cfg.blocking_threads = threads;
    });
    let mut slow = srv.connect();
    slow.expect("USER slow", 331);
    slow.send_raw(b"PASS whatever\r\n");
    reached
        .recv_timeout(LIMIT)
        .expect("the password check did not start");
    HeldLogin {
        srv,
        slow,
        gate,
        open,
    }
}

#[test]
fn a_password_being_checked_does_not_hold_other_sessions() {
    // Two workers: the held job keeps one busy, the other session's login uses the other.
    let mut held = hold_a_login(false, 2);
    other_session_is_served(&held.srv);
    held.open.send(()).unwrap();
    // The check fails (no such user): the delayed 530, and the session goes on.
    assert_eq!(held.slow.read_reply().code, 530);
    held.slow.expect("NOOP", 200);
}

/// A plaintext password is checked on the loop, at once: its login does not queue behind the
/// pool's only worker, held here by another session's slow check (as a flood of guesses at
/// bcrypt accounts would hold it).
#[test]
fn a_plaintext_login_does_not_queue_behind_a_busy_pool() {
    let mut held = hold_a_login(true, 1);
    let mut other = held.srv.connect();
    other.expect("USER user", 331);
    other.expect("PASS wrong", 530);
    other.expect("USER user", 331);
    other.expect("PASS pass", 230);
    other.expect("PWD", 257);
    assert!(!held.gate.passed(), "the login waited for the held check");
    held.open.send(()).unwrap();
    assert_eq!(held.slow.read_reply().code, 530);
}

/// A filesystem whose directory `slow` is read, and whose file `/slow.txt` is deleted, only
/// once the gate opens. It says it may block, so sessions make its calls on the pool.
#[derive(Debug, Clone)]
struct GatedFs {
    inner: OsFs,
    gate: Arc<Gate>,
}

/// Entries of a directory, the first one held at the gate.
struct GatedEntries {
    inner: Box<dyn Iterator<Item = DirEntry> + Send>,
    gate: Option<Arc<Gate>>,
}

impl Iterator for GatedEntries {
    type Item = DirEntry;
    fn next(&mut self) -> Option<DirEntry> {
        if let Some(gate) = self.gate.take() {
            gate.wait();
        }
        self.inner.next()
    }
}

impl Filesystem for GatedFs {
    fn root(&self) -> &Path {
        self.inner.root()
    }
    fn realpath(&self, p: &VirtualPath) -> io::Result<RootedPath> {
        self.inner.realpath(p)
    }
    fn stat(&self, p: &VirtualPath) -> io::Result<FileStat> {
        self.inner.stat(p)
    }
    fn lstat(&self, p: &VirtualPath) -> io::Result<FileStat> {
        self.inner.lstat(p)
    }
    fn read_dir(&self, p: &VirtualPath) -> io::Result<Box<dyn Iterator<Item = DirEntry> + Send>> {
        let inner = self.inner.read_dir(p)?;
        let gate = (p.as_str() == "/slow").then(|| Arc::clone(&self.gate));
        Ok(Box::new(GatedEntries { inner, gate }))
    }
    fn is_dir(&self, p: &VirtualPath) -> bool {
        self.inner.is_dir(p)
    }
    fn is_file(&self, p: &VirtualPath) -> bool {
        self.inner.is_file(p)
    }
    fn mkdir(&self, p: &VirtualPath) -> io::Result<()> {
        self.inner.mkdir(p)
    }
    fn rmdir(&self, p: &VirtualPath) -> io::Result<()> {
        self.inner.rmdir(p)
    }
    fn remove_file(&self, p: &VirtualPath) -> io::Result<()> {
        if p.as_str() == "/slow.txt" {
            self.gate.wait();
        }
        self.inner.remove_file(p)
    }
    fn rename(&self, from: &VirtualPath, to: &VirtualPath) -> io::Result<()> {
        self.inner.rename(from, to)
    }
    fn chmod(&self, p: &VirtualPath, mode: u32) -> io::Result<()> {
        self.inner.chmod(p, mode)
    }
    fn set_mtime(&self, p: &VirtualPath, t: SystemTime) -> io::Result<()> {
        self.inner.set_mtime(p, t)
    }
    fn open_read(&self, p: &VirtualPath) -> io::Result<Box<dyn ReadFile>> {
        self.inner.open_read(p)
    }
    fn open_write(&self, p: &VirtualPath, mode: WriteMode) -> io::Result<Box<dyn WriteFile>> {
        self.inner.open_write(p, mode)
    }
    fn may_block(&self) -> bool {
        true
    }
    fn share(&self) -> Option<Box<dyn Filesystem>> {
        Some(Box::new(self.clone()))
    }
}

#[derive(Debug)]
struct GatedFactory(Arc<Gate>);

impl FilesystemFactory for GatedFactory {
    fn open(&self, user: &User) -> io::Result<Box<dyn Filesystem>> {
        let inner = OsFs::new(&user.home)?;
        Ok(Box::new(GatedFs {
            inner,
            gate: Arc::clone(&self.0),
        }))
    }
}

#[test]
fn a_listing_being_made_does_not_hold_other_sessions() {
    let (gate, reached, open) = Gate::new();
    let srv = TestServer::start_with_root(|cfg, root| {
        std::fs::create_dir(root.join("slow")).unwrap();
        for i in 0..50 {
            std::fs::write(root.join(format!("slow/f{i:02}")), b"x").unwrap();
        }
        cfg.filesystem = Some(Arc::new(GatedFactory(gate)));
        // Two workers: the held job keeps one busy, the other session's login uses the other.
        cfg.blocking_threads = 2;
    });
    let mut slow = srv.login();
    let addr = xfer::pasv(&mut slow);
    let mut data = xfer::connect(addr);
    let r = slow.cmd("NLST slow");
    assert!(r.code == 125 || r.code == 150, "{r:?}");
    reached
        .recv_timeout(LIMIT)
        .expect("the listing was not started");
    other_session_is_served(&srv);
    let mut other: Ctrl = srv.login();
    // The other session lists the root (not gated) in full meanwhile.
    let names = xfer::download(&mut other, "NLST");
    assert!(String::from_utf8_lossy(&names).contains("slow"));
    open.send(()).unwrap();
    let mut listing = Vec::new();
    data.read_to_end(&mut listing).unwrap();
    assert_eq!(slow.read_reply().code, 226);
    assert_eq!(String::from_utf8_lossy(&listing).lines().count(), 50);
}

#[test]
fn a_slow_filesystem_call_does_not_hold_other_sessions_and_keeps_the_order() {
    let (gate, reached, open) = Gate::new();
    let srv = TestServer::start_with_root(|cfg, root| {
        std::fs::write(root.join("slow.txt"), b"slow").unwrap();
        std::fs::write(root.join("fast.txt"), b"fast!").unwrap();
        cfg.filesystem = Some(Arc::new(GatedFactory(gate)));
        cfg.blocking_threads = 2;
    });
    let mut slow = srv.login();
    // Pipelined: the NOOP must wait for the DELE's reply, in order.
    slow.send_raw(b"DELE slow.txt\r\nNOOP\r\n");
    reached.recv_timeout(LIMIT).expect("the DELE did not start");
    let mut other = srv.login();
    other.expect("NOOP", 200);
    other.expect("TYPE I", 200);
    assert_eq!(other.cmd("SIZE fast.txt").text, "5");
    open.send(()).unwrap();
    assert_eq!(slow.read_reply().code, 250);
    assert_eq!(slow.read_reply().code, 200);
    assert!(!srv.root().join("slow.txt").exists());
}

/// With every filesystem call on the pool (`--offload-fs always`), a whole session behaves as
/// with every call on the loop: the continuations give the same replies, in order.
#[test]
fn a_session_with_every_filesystem_call_on_the_pool() {
    let srv = TestServer::start(|cfg| {
        cfg.offload_fs = ftpdlib::OffloadFs::Always;
        cfg.blocking_threads = 2;
    });
    let mut c = srv.login();
    c.expect("TYPE I", 200);
    c.expect("MKD d", 257);
    c.expect("CWD d", 250);
    c.expect("CDUP", 250);
    xfer::upload(&mut c, "STOR d/a.txt", b"hello");
    xfer::upload(&mut c, "APPE d/a.txt", b" world");
    assert_eq!(c.cmd("SIZE d/a.txt").text, "11");
    c.expect("MDTM d/a.txt", 213);
    c.expect("MFMT 20200101000000 d/a.txt", 213);
    c.expect("MLST d/a.txt", 250);
    c.expect("SITE CHMOD 640 d/a.txt", 200);
    assert_eq!(xfer::download(&mut c, "RETR d/a.txt"), b"hello world");
    c.expect("REST 6", 350);
    assert_eq!(xfer::download(&mut c, "RETR d/a.txt"), b"world");
    assert_eq!(xfer::listing(&mut c, "NLST d"), ["a.txt"]);
    assert_eq!(xfer::listing(&mut c, "LIST d").len(), 1);
    assert_eq!(xfer::listing(&mut c, "MLSD d").len(), 1);
    c.expect("RNFR d/a.txt", 350);
    c.expect("RNTO d/b.txt", 250);
    c.expect("SIZE d/missing", 550);
    assert!(c
        .expect("STAT d", 213)
        .lines()
        .iter()
        .any(|l| l.contains("b.txt")));
    // Pipelined commands keep their order across the pool's answers.
    c.send_raw(b"DELE d/b.txt\r\nRMD d\r\nNOOP\r\n");
    assert_eq!(c.read_reply().code, 250);
    assert_eq!(c.read_reply().code, 250);
    assert_eq!(c.read_reply().code, 200);
    assert!(!srv.root().join("d").exists());
}
