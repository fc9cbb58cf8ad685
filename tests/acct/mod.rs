//! Helpers of the account tests (`accounts`, `accounts_cli`): password hashes made once with
//! standard tools, users-file writing, whether the tests run as root, and the real daemon as a
//! child process whose log lines can be awaited (startup, SIGHUP reloads, privilege drop).

// Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

use std::io::Read;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

pub use crate::common::BIN;
use crate::common::{addr_after, Ctrl, Proc};

/// `openssl passwd -6 -salt sixsalt six-pw`.
pub const SHA512: &str = "$6$sixsalt$kB9lCK6VtE/s42GdY7PecoS0EKBCxXTLsnkIPPSh52Wjo2zWJXBWhqL5sVj2JWGdt76gct6Kp1ZP8PZVrR7zO/";
/// The password of [`SHA512`].
pub const SHA512_PW: &str = "six-pw";
/// `openssl passwd -5 -salt fivesalt five-pw`.
pub const SHA256: &str = "$5$fivesalt$bqw/amCcKX5HBtwB6h58qrbZBGkHm6TxT6TKhAdJpQ.";
/// The password of [`SHA256`].
pub const SHA256_PW: &str = "five-pw";
/// `bcrypt::hash_with_salt("bcrypt-pw", 4, *b"ftpdlib-testsalt")` in `$2b$` form (cost 4:
/// about 1 ms to check, so the tests stay fast).
pub const BCRYPT: &str = "$2b$04$XlPuXEvnWgzyXVLya0Dqb.5zTHQ8EamQNhnuca/pF6GqjWKcI5X7.";
/// The password of [`BCRYPT`].
pub const BCRYPT_PW: &str = "bcrypt-pw";

/// Bound on waiting for a daemon event (startup, a log line, exit).
pub const EVENT: Duration = Duration::from_secs(10);

/// True if the tests run with effective uid 0 (from `/proc/self/status`).
pub fn is_root() -> bool {
    proc_ids("self", "Uid:").get(1) == Some(&0)
}

/// The ids of a `Uid:` or `Gid:` line of `/proc/PID/status` (real, effective, saved, fs).
pub fn proc_ids(pid: &str, key: &str) -> Vec<u32> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status
        .lines()
        .find(|l| l.starts_with(key))
        .unwrap_or_else(|| panic!("no {key} line in /proc/{pid}/status"));
    line[key.len()..]
        .split_whitespace()
        .map(|n| n.parse().unwrap())
        .collect()
}

/// Writes `lines` (one account or `@override` each) as a users file with mode 0600.
pub fn write_users(path: &Path, lines: &[String]) {
    let mut text = lines.join("\n");
    text.push('\n');
    std::fs::write(path, text).unwrap();
    set_mode(path, 0o600);
}

/// `chmod MODE path`.
pub fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// A directory directly under /tmp with mode 0755, so that any user can read it (for
/// `--run-as`, whatever TMPDIR says); removed on drop.
pub struct PublicDir(PathBuf);

impl PublicDir {
    /// Creates `/tmp/ftpdlib-it-TAG-PID-N`.
    pub fn new(tag: &str) -> PublicDir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let dir = PathBuf::from(format!("/tmp/ftpdlib-it-{tag}-{}-{n}", std::process::id()));
        std::fs::create_dir(&dir).unwrap();
        set_mode(&dir, 0o755);
        PublicDir(dir)
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for PublicDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Connects to 127.0.0.1:`port` and reads the greeting, which must be 220.
#[track_caller]
pub fn connect(port: u16) -> Ctrl {
    let (c, greeting) = Ctrl::connect(SocketAddr::from(([127, 0, 0, 1], port)));
    assert_eq!(greeting.code, 220, "greeting: {greeting:?}");
    c
}

/// Connects, sends USER/PASS and returns the client with the PASS reply code.
pub fn try_login(port: u16, user: &str, pass: &str) -> (Ctrl, u16) {
    let mut c = connect(port);
    c.expect(&format!("USER {user}"), 331);
    let code = c.cmd(&format!("PASS {pass}")).code;
    (c, code)
}

/// The daemon as a child process; killed on drop, so a failing test never leaves it behind.
pub struct Daemon(Proc);

impl Daemon {
    /// Spawns `ftpdlib ARGS` with stdin closed and stderr captured.
    pub fn spawn(args: &[&str]) -> Daemon {
        Daemon(Proc::daemon(args, &[]))
    }

    /// Spawns a daemon on 127.0.0.1 port 0 serving `dir` with `extra` flags (a short
    /// auth-failure delay comes first, so `extra` may override it); does not wait for it.
    pub fn spawn_on(dir: &Path, extra: &[&str]) -> Daemon {
        let dir = dir.to_str().unwrap();
        let mut args = vec!["-i", "127.0.0.1", "-p", "0", "-d", dir];
        args.extend(["--auth-failed-delay", "0.01"]);
        args.extend_from_slice(extra);
        Daemon::spawn(&args)
    }

    /// Like [`Daemon::spawn_on`], then waits for the `listening on` line; returns the daemon
    /// with its port.
    pub fn start(dir: &Path, extra: &[&str]) -> (Daemon, u16) {
        let mut d = Daemon::spawn_on(dir, extra);
        let line = d.wait_log("listening on 127.0.0.1:");
        let port = addr_after(&line, "listening on ").port();
        (d, port)
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.0.pid()
    }

    /// Waits (at most [`EVENT`]) for a log line containing `text`, after the line the
    /// previous call returned, and returns it.
    #[track_caller]
    pub fn wait_log(&mut self, text: &str) -> String {
        self.0.expect_line(text)
    }

    /// True if a line received so far (by [`Daemon::wait_log`]) contains `text`.
    pub fn logged(&self, text: &str) -> bool {
        self.0.seen_line(text)
    }

    /// Sends SIGHUP (users file and certificate reload).
    pub fn hup(&self) {
        self.0.signal("HUP");
    }

    /// Sends SIGHUP and waits for the users-file reload's log line: `reloaded` after a
    /// successful reload, `keeping the old accounts` after a refused one.
    #[track_caller]
    pub fn reload(&mut self, expect: &str) -> String {
        self.hup();
        self.wait_log(expect)
    }

    /// Waits (at most [`EVENT`]) for the daemon to exit, i.e. for its stderr to close;
    /// returns its status and whole log.
    #[track_caller]
    pub fn wait_exit(mut self) -> (ExitStatus, String) {
        let status = self.0.expect_exit(EVENT);
        (status, self.0.stderr())
    }
}

/// Runs `ftpdlib ARGS` with `input` on stdin, to completion; returns status, stdout, stderr.
pub fn run_with_stdin(args: &[&str], input: &str) -> (ExitStatus, String, String) {
    use std::io::Write;
    let mut p = Proc::spawn_io(Command::new(BIN).args(args), Stdio::piped(), Stdio::piped());
    p.take_stdin().write_all(input.as_bytes()).unwrap();
    let (tx, rx) = mpsc::channel();
    let mut out = p.take_stdout();
    std::thread::spawn(move || {
        let mut o = String::new();
        let _ = out.read_to_string(&mut o);
        let _ = tx.send(o);
    });
    let status = p.wait_exit(EVENT);
    let (Some(status), Ok(stdout)) = (status, rx.recv_timeout(EVENT)) else {
        panic!("ftpdlib {args:?} did not finish within {EVENT:?}");
    };
    (status, stdout, p.stderr())
}
