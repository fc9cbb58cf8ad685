//! The real `ftpdlib` binary (or any program) as a child process whose stderr is captured line
//! by line, so tests can wait for log lines, send signals and await the exit; killed (by its
//! pid) on drop. Plus per-thread wake-up counts from `/proc`, to see which event loops worked.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// How long a daemon may take to report its address.
pub const STARTUP: Duration = Duration::from_secs(10);

/// Captured stderr lines, and whether the stream ended (the process exited).
#[derive(Default)]
pub struct Log {
    state: Mutex<(Vec<String>, bool)>,
    changed: Condvar,
}

impl Log {
    /// Every line so far.
    pub fn lines(&self) -> Vec<String> {
        self.state.lock().unwrap().0.clone()
    }

    /// Waits (at most `limit`) for a line satisfying `pred`, already there or still to come.
    pub fn wait_for(&self, limit: Duration, pred: impl Fn(&str) -> bool) -> Option<String> {
        let deadline = Instant::now() + limit;
        let mut st = self.state.lock().unwrap();
        loop {
            if let Some(l) = st.0.iter().find(|l| pred(l)) {
                return Some(l.clone());
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if st.1 || left.is_zero() {
                return None;
            }
            st = self.changed.wait_timeout(st, left).unwrap().0;
        }
    }

    /// Waits (at most `limit`) for the end of the stream.
    pub fn wait_eof(&self, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        let mut st = self.state.lock().unwrap();
        while !st.1 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            st = self.changed.wait_timeout(st, left).unwrap().0;
        }
        true
    }
}

/// A child process with its stderr captured.
pub struct Proc {
    child: Child,
    log: Arc<Log>,
}

impl Proc {
    /// Spawns `cmd` (stdin and stdout null, stderr captured).
    pub fn spawn(cmd: &mut Command) -> Proc {
        let shown = format!("{cmd:?}");
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{shown}: {e}"));
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Log::default());
        let sink = Arc::clone(&log);
        // Drains the pipe for the process's whole life, so it never fills up.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                sink.state.lock().unwrap().0.push(line);
                sink.changed.notify_all();
            }
            sink.state.lock().unwrap().1 = true;
            sink.changed.notify_all();
        });
        Proc { child, log }
    }

    /// The captured log.
    pub fn log(&self) -> &Log {
        &self.log
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends `sig` (a `kill` name such as `TERM`) to this process.
    pub fn signal(&self, sig: &str) {
        let st = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.pid().to_string())
            .status()
            .unwrap();
        assert!(st.success(), "kill -{sig} failed");
    }

    /// Waits (at most `limit`) for the process to exit: its stderr ends, then it is reaped.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        if !self.log.wait_eof(limit) {
            return None;
        }
        Some(self.child.wait().unwrap())
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// The `ftpdlib` daemon with its log captured.
pub struct Ftpd {
    proc: Proc,
    port: u16,
}

impl Ftpd {
    /// Starts the daemon with `args` (which must include `-i 127.0.0.1`) and waits for its
    /// `listening on 127.0.0.1:PORT` line (text or JSON log).
    pub fn start<S: AsRef<OsStr>>(args: &[S]) -> Ftpd {
        let proc = Proc::spawn(Command::new(env!("CARGO_BIN_EXE_ftpdlib")).args(args));
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
        let mut v: Vec<String> = ["-i", "127.0.0.1", "-p", "0", "-d"]
            .map(String::from)
            .to_vec();
        v.push(root.display().to_string());
        v.extend(
            [
                "-u",
                "user",
                "-P",
                "pass",
                "-w",
                "--auth-failed-delay",
                "0.001",
            ]
            .map(String::from),
        );
        v
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
