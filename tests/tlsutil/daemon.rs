//! The real `ftpdlib` daemon as a child process with FTPS on, for third-party clients: its log
//! is read line by line (the addresses it listens on, and lines tests wait for).

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use crate::common::TempDir;

/// How long the daemon may take to report its addresses.
const STARTUP: Duration = Duration::from_secs(10);

/// The daemon on 127.0.0.1 with a fresh root, user "user"/"pass" with write access, AUTH TLS
/// on the control port and implicit FTPS on another free port; killed on drop.
pub struct FtpsDaemon {
    child: Child,
    port: u16,
    implicit_port: u16,
    root: TempDir,
    log: Receiver<String>,
}

impl FtpsDaemon {
    /// Starts the daemon with `cert`/`key` and the `extra` flags.
    pub fn start(cert: &Path, key: &Path, extra: &[&str]) -> FtpsDaemon {
        let root = TempDir::new("ftps-daemon");
        let mut child = Command::new(env!("CARGO_BIN_EXE_ftpdlib"))
            .args(["-p", "0", "-i", "127.0.0.1", "-d"])
            .arg(root.path())
            .args([
                "-u",
                "user",
                "-P",
                "pass",
                "-w",
                "--auth-failed-delay",
                "0.001",
            ])
            .args(["--tls", "--certfile"])
            .arg(cert)
            .arg("--keyfile")
            .arg(key)
            .args(["--tls-implicit-port", "0"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn ftpdlib");
        let stderr = child.stderr.take().unwrap();
        let (tx, log) = mpsc::channel();
        // Keeps draining the log for the daemon's whole life, so the pipe never fills up.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { return };
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        let mut d = FtpsDaemon {
            child,
            port: 0,
            implicit_port: 0,
            root,
            log,
        };
        let deadline = Instant::now() + STARTUP;
        while d.port == 0 || d.implicit_port == 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = d
                .log
                .recv_timeout(left)
                .unwrap_or_else(|e| panic!("daemon did not report its addresses: {e}"));
            let port = |l: &str| l.rsplit_once(':').and_then(|(_, p)| p.trim().parse().ok());
            if line.contains("implicit FTPS listening on 127.0.0.1:") {
                d.implicit_port = port(&line).expect("implicit port");
            } else if line.contains("listening on 127.0.0.1:") {
                d.port = port(&line).expect("control port");
            }
        }
        d
    }

    /// The explicit (AUTH TLS) control port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The explicit control address.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// The implicit-FTPS port.
    pub fn implicit_port(&self) -> u16 {
        self.implicit_port
    }

    /// The served directory.
    pub fn root(&self) -> &Path {
        self.root.path()
    }

    /// The daemon's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGHUP (certificate reload).
    pub fn sighup(&self) {
        let ok = Command::new("kill")
            .args(["-HUP", &self.pid().to_string()])
            .status()
            .expect("run kill")
            .success();
        assert!(ok, "kill -HUP failed");
    }

    /// Waits, at most `limit`, for a log line containing `text`; returns it.
    pub fn wait_log(&self, text: &str, limit: Duration) -> Option<String> {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.checked_duration_since(Instant::now())?;
            let line = self.log.recv_timeout(left).ok()?;
            if line.contains(text) {
                return Some(line);
            }
        }
    }
}

impl Drop for FtpsDaemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// True if `bin` is an executable on PATH; prints a skip notice if not.
pub fn installed(bin: &str) -> bool {
    let found = std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(bin).is_file()));
    if !found {
        eprintln!("SKIPPED: {bin} is not installed");
    }
    found
}

/// Runs a client to completion within `limit`, killing it (by its pid) if it hangs, and
/// returns its output (whatever its exit status).
#[track_caller]
pub fn run_client(cmd: &mut Command, limit: Duration) -> Output {
    let shown = format!("{cmd:?}");
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{shown}: {e}"));
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(limit) {
        Ok(out) => out.unwrap(),
        Err(_) => {
            let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
            panic!("{shown} did not finish within {limit:?}");
        }
    }
}

/// Asserts a client run succeeded, showing its output otherwise.
#[track_caller]
pub fn assert_success(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} failed: {}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
