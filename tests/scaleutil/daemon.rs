//! The real `ftpdlib` binary (or any program) as a child process whose stderr is captured line
//! by line, so tests can wait for log lines, send signals and await the exit; killed (by its
//! pid) on drop. Plus per-thread wake-up counts from `/proc`, to see which event loops worked.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::net::SocketAddr;
use std::path::Path;

pub use crate::common::{Log, Proc, STARTUP};

/// The `ftpdlib` daemon with its log captured.
pub struct Ftpd {
    proc: Proc,
    port: u16,
}

impl Ftpd {
    /// Starts the daemon with `args` (which must include `-i 127.0.0.1`) and waits for its
    /// `listening on 127.0.0.1:PORT` line (text or JSON log).
    pub fn start<S: AsRef<OsStr>>(args: &[S]) -> Ftpd {
        let proc = Proc::daemon(args, &[]);
        let key = "listening on 127.0.0.1:";
        let line = proc
            .log()
            .wait_for(STARTUP, |l| l.contains(key))
            .unwrap_or_else(|| panic!("daemon did not start: {:?}", proc.log().lines()));
        let after = &line[line.find(key).unwrap() + key.len()..];
        let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
        let port = digits.parse().unwrap();
        Ftpd { proc, port }
    }

    /// The usual arguments: loopback, any port, `root`, user "user"/"pass" with write access,
    /// no password delay.
    pub fn base_args(root: &Path) -> Vec<String> {
        crate::common::daemon_args(root, "127.0.0.1", "user", "pass")
    }

    /// The control address.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// The control port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The process.
    pub fn proc(&mut self) -> &mut Proc {
        &mut self.proc
    }

    /// The captured log.
    pub fn log(&self) -> &Log {
        self.proc.log()
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.proc.pid()
    }
}

/// Voluntary context switches of each thread of `pid` (thread id → (name, count)). An event
/// loop blocks in `epoll_wait` between events, so the count grows with the work it does.
pub fn thread_wakeups(pid: u32) -> BTreeMap<u32, (String, u64)> {
    let mut out = BTreeMap::new();
    for e in std::fs::read_dir(format!("/proc/{pid}/task")).unwrap() {
        let tid: u32 = e.unwrap().file_name().to_string_lossy().parse().unwrap();
        let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/status")) else {
            continue;
        };
        let field = |key: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(key))
                .map(|v| v.trim().to_owned())
                .unwrap_or_default()
        };
        let n = field("voluntary_ctxt_switches:").parse().unwrap_or(0);
        out.insert(tid, (field("Name:"), n));
    }
    out
}
