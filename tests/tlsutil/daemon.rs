//! The real `ftpdlib` daemon as a child process with FTPS on, for third-party clients: its log
//! is read line by line (the addresses it listens on, and lines tests wait for).

use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use crate::common::{addr_after, daemon_args, Proc, TempDir};

/// The daemon on 127.0.0.1 with a fresh root, user "user"/"pass" with write access, AUTH TLS
/// on the control port and implicit FTPS on another free port; killed on drop.
pub struct FtpsDaemon {
    // Declared first: the process is killed before its root is removed.
    proc: Proc,
    port: u16,
    implicit_port: u16,
    root: TempDir,
}

impl FtpsDaemon {
    /// Starts the daemon with `cert`/`key` and the `extra` flags.
    pub fn start(cert: &Path, key: &Path, extra: &[&str]) -> FtpsDaemon {
        let root = TempDir::new("ftps-daemon");
        let mut args: Vec<OsString> = daemon_args(root.path(), "127.0.0.1", "user", "pass")
            .into_iter()
            .map(OsString::from)
            .collect();
        args.extend(["--tls", "--certfile"].map(OsString::from));
        args.push(cert.into());
        args.push("--keyfile".into());
        args.push(key.into());
        args.extend(["--tls-implicit-port", "0"].map(OsString::from));
        args.extend(extra.iter().map(OsString::from));
        let proc = Proc::daemon(&args, &[]);
        let (mut port, mut implicit_port) = (0, 0);
        while port == 0 || implicit_port == 0 {
            let line = proc.expect_line("listening on 127.0.0.1:");
            let p = addr_after(&line, "listening on ").port();
            if line.contains("implicit FTPS listening on 127.0.0.1:") {
                implicit_port = p;
            } else {
                port = p;
            }
        }
        FtpsDaemon {
            proc,
            port,
            implicit_port,
            root,
        }
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
        self.proc.pid()
    }

    /// Sends SIGHUP (certificate reload).
    pub fn sighup(&self) {
        self.proc.signal("HUP");
    }

    /// Waits, at most `limit`, for a log line containing `text` (after the line the previous
    /// call returned); returns it.
    pub fn wait_log(&self, text: &str, limit: Duration) -> Option<String> {
        self.proc.next_line(text, limit)
    }
}

/// True if `bin` is an executable on PATH; skips (locally) or fails (CI) the test if not
/// (`common::require_tool`).
#[track_caller]
pub fn installed(bin: &str) -> bool {
    crate::common::require_tool(bin)
}

/// Runs a client to completion within `limit`, killing it (by its pid) if it hangs, and
/// returns its output (whatever its exit status).
#[allow(unused_imports)]
pub use crate::common::run_bounded as run_client;

/// Asserts a client run succeeded, showing its output otherwise.
#[allow(unused_imports)]
pub use crate::common::assert_success;
