//! Helpers of the robustness tests (`robust_load`, `robust_faults`, `robust_ops`): the real
//! daemon as a child process with any flags (its log lines awaited, signalled, killed), what
//! `/proc` says about a process (open descriptors, resident memory, the descriptor limit),
//! run-size knobs read from the environment, and a strict little JSON reader for the event log.

// Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

pub mod fdleak;
pub mod fullfs;
pub mod json;
pub mod load;

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

pub use crate::common::BIN;
use crate::common::{addr_after, daemon_args, Ctrl, Proc, STARTUP};

/// Bound on waiting for a daemon event (startup, a log line, exit).
pub const EVENT: Duration = STARTUP;

/// The `ftpdlib` daemon as a child process; killed on drop, so a failing test never leaves it
/// behind.
pub struct Daemon {
    proc: Proc,
    addr: Option<SocketAddr>,
}

impl Daemon {
    /// Runs the binary with exactly `args` and `env`, without waiting for anything.
    pub fn spawn(args: &[&str], env: &[(&str, &str)]) -> Daemon {
        Daemon::spawn_cmd(Command::new(BIN).args(args).envs(env.iter().copied()))
    }

    /// Runs `cmd` (the daemon, or a wrapper that execs it) with stderr captured line by line
    /// and stdout piped (see [`Daemon::take_stdout`]).
    pub fn spawn_cmd(cmd: &mut Command) -> Daemon {
        Daemon {
            proc: Proc::spawn_io(cmd, Stdio::null(), Stdio::piped()),
            addr: None,
        }
    }

    /// Starts a write-enabled daemon for "user"/"pass" on `dir`, on 127.0.0.1 port 0, with
    /// `extra` flags, and waits for its `listening on` line (on stderr, or in the `--log-file`
    /// when `extra` names one).
    pub fn start(dir: &Path, extra: &[&str]) -> Daemon {
        Daemon::start_as(dir, "user", "pass", extra)
    }

    /// [`Daemon::start`] with another user name and password.
    pub fn start_as(dir: &Path, user: &str, pass: &str, extra: &[&str]) -> Daemon {
        let args = Daemon::args(dir, user, pass, extra);
        let mut d = Daemon::spawn(&args.iter().map(String::as_str).collect::<Vec<_>>(), &[]);
        let line = match extra.iter().position(|a| *a == "--log-file") {
            Some(i) => d.wait_for_file_line(Path::new(extra[i + 1]), "listening on "),
            None => d.wait_for_line("listening on "),
        };
        d.addr = Some(addr_after(&line, "listening on "));
        d
    }

    /// The flags of [`Daemon::start_as`], for a daemon started some other way.
    pub fn args(dir: &Path, user: &str, pass: &str, extra: &[&str]) -> Vec<String> {
        let mut args = daemon_args(dir, "127.0.0.1", user, pass);
        args.extend(extra.iter().map(|a| a.to_string()));
        args
    }

    /// Runs `cmd` (which execs the daemon) and waits for its `listening on` line on stderr.
    pub fn start_cmd(cmd: &mut Command) -> Daemon {
        let mut d = Daemon::spawn_cmd(cmd);
        let line = d.wait_for_line("listening on ");
        d.addr = Some(addr_after(&line, "listening on "));
        d
    }

    /// The control address (from the `listening on` line).
    pub fn addr(&self) -> SocketAddr {
        self.addr.expect("daemon address not known")
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.proc.pid()
    }

    /// Connects and logs in as "user".
    #[track_caller]
    pub fn login(&self) -> Ctrl {
        let (mut c, greeting) = Ctrl::connect(self.addr());
        assert_eq!(greeting.code, 220, "{greeting:?}");
        c.login("user", "pass");
        c
    }

    /// Waits (bounded) for a stderr line containing `needle`, after the line the previous
    /// call returned.
    #[track_caller]
    pub fn wait_for_line(&mut self, needle: &str) -> String {
        self.proc.expect_line(needle)
    }

    /// Waits (bounded polling, 10 ms steps) for a line containing `needle` in `file`.
    #[track_caller]
    pub fn wait_for_file_line(&mut self, file: &Path, needle: &str) -> String {
        let deadline = Instant::now() + EVENT;
        while Instant::now() < deadline {
            let text = std::fs::read_to_string(file).unwrap_or_default();
            if let Some(line) = text.lines().find(|l| l.contains(needle)) {
                return line.to_owned();
            }
            if let Some(st) = self.proc.try_wait() {
                panic!("daemon exited ({st}) before logging {needle:?}: {text}");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("no {needle:?} line in {}", file.display());
    }

    /// Waits (bounded) for the daemon to exit: its stderr closing is the event.
    #[track_caller]
    pub fn wait_exit(&mut self, within: Duration) -> ExitStatus {
        self.proc.expect_exit(within)
    }

    /// Sends `sig` (a `kill` name such as `TERM`) to the daemon.
    pub fn signal(&self, sig: &str) {
        self.proc.signal(sig);
    }

    /// `kill -9`, and reaps the process.
    pub fn kill9(&mut self) -> ExitStatus {
        self.proc.kill9()
    }

    /// The daemon's standard output (once).
    pub fn take_stdout(&mut self) -> std::process::ChildStdout {
        self.proc.take_stdout()
    }

    /// Everything read from stderr so far.
    pub fn stderr(&self) -> String {
        self.proc.stderr()
    }
}

/// The number of open descriptors of process `pid` ("self" for the test process).
pub fn open_fds(pid: &str) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count()
}

/// What each descriptor of `pid` points to, as `"N -> target"`, sorted (without the
/// descriptor of the listing itself).
pub fn fd_targets(pid: &str) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .filter_map(|e| {
            let e = e.ok()?;
            let target = std::fs::read_link(e.path()).ok()?;
            let t = target.to_string_lossy();
            if t.starts_with("/proc/") && t.ends_with("/fd") {
                return None;
            }
            Some(format!(
                "{} -> {}",
                e.file_name().to_string_lossy(),
                target.display()
            ))
        })
        .collect();
    out.sort();
    out
}

/// A `kB` line of `/proc/PID/status` (e.g. `VmRSS:`), in KiB.
pub fn status_kib(pid: &str, key: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no {key} in /proc/{pid}/status"))
}

/// The soft and hard "Max open files" limits from `/proc/self/limits`.
pub fn nofile_limits() -> (u64, u64) {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .expect("no Max open files line");
    let n: Vec<u64> = line["Max open files".len()..]
        .split_whitespace()
        .take(2)
        .map(|v| v.parse().unwrap_or(u64::MAX))
        .collect();
    (n[0], n[1])
}

/// Raises the soft descriptor limit towards `want` (never above the hard limit, which only
/// `ulimit -n` as root can raise) and returns the soft limit now in force.
pub fn raise_nofile(want: u64) -> u64 {
    let (soft, hard) = nofile_limits();
    if soft >= want {
        return soft;
    }
    #[cfg(feature = "sendfile")]
    {
        let lim = libc::rlimit {
            rlim_cur: want.min(hard),
            rlim_max: hard,
        };
        // SAFETY: setrlimit reads one initialised rlimit through a valid pointer.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) } == 0 {
            return want.min(hard);
        }
    }
    let _ = hard;
    soft
}

/// A size knob from the environment (for longer manual runs), else `default`.
pub fn env_usize(name: &str, default: usize) -> usize {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v:?} is not a number")),
        Err(_) => default,
    }
}

/// CPU time (user + system) that process `pid` has used, in clock ticks (`/proc/PID/stat`).
pub fn cpu_ticks(pid: &str) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name (which may hold spaces) start at field 3, the state.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
}

/// True if `bin` is an executable on PATH.
#[allow(unused_imports)]
pub use crate::common::require_tool as installed;
