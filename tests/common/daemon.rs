//! The real `ftpdlib` binary (or any program) as a child process whose stderr is captured line
//! by line, so tests can wait (bounded) for log lines such as `listening on HOST:PORT`, send
//! signals, await the exit and read the log; killed on drop, so a failing test never leaves it
//! behind.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// The daemon binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_ftpdlib");

/// What systemd does for a `.socket` unit with `ReusePort=no` (the shipped
/// `docs/ftpdlib.socket`): a plain listening socket on 127.0.0.1 as fd 3 with `LISTEN_FDS=1`
/// and `LISTEN_PID`, then exec of `argv[1..]`. Prints the port first. Run as
/// `python3 -c SYSTEMD_ACTIVATE_PY BINARY ARGS...`.
pub const SYSTEMD_ACTIVATE_PY: &str = r#"
import os, socket, sys
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(64)
print(s.getsockname()[1], flush=True)
if s.fileno() != 3:
    os.dup2(s.fileno(), 3)
os.set_inheritable(3, True)
os.environ["LISTEN_FDS"] = "1"
os.environ["LISTEN_PID"] = str(os.getpid())
os.execv(sys.argv[1], sys.argv[1:])
"#;

/// Bound on waiting for a daemon event (startup, a log line, exit).
pub const STARTUP: Duration = Duration::from_secs(10);

/// The usual flags: `ip` port 0, `root`, user `user`/`pass` with write access, a 1 ms
/// auth-failure delay.
pub fn daemon_args(root: &Path, ip: &str, user: &str, pass: &str) -> Vec<String> {
    let root = root.to_str().unwrap();
    [
        "-p",
        "0",
        "-i",
        ip,
        "-d",
        root,
        "-u",
        user,
        "-P",
        pass,
        "-w",
        "--auth-failed-delay",
        "0.001",
    ]
    .map(String::from)
    .to_vec()
}

/// The address after `key` in a log line (text or JSON log: trailing non-digits are ignored).
#[track_caller]
pub fn addr_after(line: &str, key: &str) -> SocketAddr {
    let (_, rest) = line
        .split_once(key)
        .unwrap_or_else(|| panic!("no {key:?} in {line:?}"));
    let addr = rest.trim_end_matches(|c: char| !c.is_ascii_digit());
    addr.parse()
        .unwrap_or_else(|e| panic!("bad address in {line:?}: {e}"))
}

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
        self.wait_from(0, limit, pred).map(|(_, l)| l)
    }

    /// Like [`Log::wait_for`], looking only at lines from index `start` on; returns the
    /// matching line's index too.
    pub fn wait_from(
        &self,
        start: usize,
        limit: Duration,
        pred: impl Fn(&str) -> bool,
    ) -> Option<(usize, String)> {
        let deadline = Instant::now() + limit;
        let mut st = self.state.lock().unwrap();
        let mut from = start;
        loop {
            if let Some(i) = (from..st.0.len()).find(|&i| pred(&st.0[i])) {
                return Some((i, st.0[i].clone()));
            }
            from = from.max(st.0.len());
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

    /// True once the stream has ended.
    pub fn ended(&self) -> bool {
        self.state.lock().unwrap().1
    }
}

/// A child process with its stderr captured line by line; killed on drop.
pub struct Proc {
    child: Child,
    log: Arc<Log>,
    /// Lines of the log already passed by [`Proc::next_line`].
    seen: AtomicUsize,
}

impl Proc {
    /// Spawns `cmd` with stdin and stdout null, stderr captured.
    pub fn spawn(cmd: &mut Command) -> Proc {
        Proc::spawn_io(cmd, Stdio::null(), Stdio::null())
    }

    /// Spawns `cmd` with the given stdin and stdout (e.g. [`Stdio::piped`], then
    /// [`Proc::take_stdin`] / [`Proc::take_stdout`]), stderr captured.
    pub fn spawn_io(cmd: &mut Command, stdin: Stdio, stdout: Stdio) -> Proc {
        let shown = format!("{cmd:?}");
        let mut child = cmd
            .stdin(stdin)
            .stdout(stdout)
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
        Proc {
            child,
            log,
            seen: AtomicUsize::new(0),
        }
    }

    /// Spawns the daemon binary with `args` and `env` (stdin and stdout null).
    pub fn daemon<S: AsRef<std::ffi::OsStr>>(args: &[S], env: &[(&str, &str)]) -> Proc {
        Proc::spawn(Command::new(BIN).args(args).envs(env.iter().copied()))
    }

    /// The captured log.
    pub fn log(&self) -> &Log {
        &self.log
    }

    /// Every stderr line so far, joined with `\n`.
    pub fn stderr(&self) -> String {
        self.log.lines().join("\n")
    }

    /// Waits (at most `limit`) for a line containing `text` after the line the previous call
    /// returned; returns it.
    pub fn next_line(&self, text: &str, limit: Duration) -> Option<String> {
        let seen = self.seen.load(Ordering::SeqCst);
        let (i, line) = self.log.wait_from(seen, limit, |l| l.contains(text))?;
        self.seen.store(i + 1, Ordering::SeqCst);
        Some(line)
    }

    /// [`Proc::next_line`] within [`STARTUP`], panicking with the log if none comes.
    #[track_caller]
    pub fn expect_line(&self, text: &str) -> String {
        match self.next_line(text, STARTUP) {
            Some(line) => line,
            None if self.log.ended() => {
                panic!(
                    "process exited before logging {text:?}; log: {:#?}",
                    self.log.lines()
                )
            }
            None => panic!(
                "no log line with {text:?} within {STARTUP:?}; log: {:#?}",
                self.log.lines()
            ),
        }
    }

    /// True if a line up to the one [`Proc::next_line`] last returned contains `text`.
    pub fn seen_line(&self, text: &str) -> bool {
        let lines = self.log.lines();
        lines[..self.seen.load(Ordering::SeqCst).min(lines.len())]
            .iter()
            .any(|l| l.contains(text))
    }

    /// Waits (via [`Proc::expect_line`]) for a line containing `key` and returns the address
    /// after it, e.g. `key = "listening on "`.
    #[track_caller]
    pub fn expect_addr(&self, key: &str) -> SocketAddr {
        let line = self.expect_line(key);
        addr_after(&line, key)
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends `sig` (a `kill` name such as `TERM`) to this process.
    #[track_caller]
    pub fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.pid().to_string())
            .status()
            .expect("run kill")
            .success();
        assert!(ok, "kill -{sig} failed");
    }

    /// Waits (at most `limit`) for the process to exit: its stderr ends, then it is reaped.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        if !self.log.wait_eof(limit) {
            return None;
        }
        Some(self.child.wait().unwrap())
    }

    /// [`Proc::wait_exit`], panicking with the log if the process is still running.
    #[track_caller]
    pub fn expect_exit(&mut self, limit: Duration) -> ExitStatus {
        self.wait_exit(limit).unwrap_or_else(|| {
            panic!(
                "daemon still running after {limit:?}; stderr: {:?}",
                self.log.lines()
            )
        })
    }

    /// The exit status if the process has exited, without waiting.
    pub fn try_wait(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().unwrap()
    }

    /// `kill -9`, and reaps the process.
    pub fn kill9(&mut self) -> ExitStatus {
        self.child.kill().expect("SIGKILL");
        self.child.wait().unwrap()
    }

    /// The standard output, if spawned with [`Stdio::piped`] (once).
    pub fn take_stdout(&mut self) -> ChildStdout {
        self.child
            .stdout
            .take()
            .expect("stdout not piped or already taken")
    }

    /// The standard input, if spawned with [`Stdio::piped`] (once).
    pub fn take_stdin(&mut self) -> ChildStdin {
        self.child
            .stdin
            .take()
            .expect("stdin not piped or already taken")
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

/// True if `bin` is an executable on PATH.
pub fn on_path(bin: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(bin).is_file()))
}

/// Runs a Python script (`python3 -c`) within 60 s; asserts that it exited 0 and returns
/// its standard output.
#[track_caller]
pub fn run_python(script: &str) -> String {
    let out = run_bounded(
        Command::new("python3").args(["-c", script]),
        Duration::from_secs(60),
    );
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Runs a client to completion within `limit`, killing it (by its pid) if it hangs, and
/// returns its output (whatever its exit status).
#[track_caller]
pub fn run_bounded(cmd: &mut Command, limit: Duration) -> Output {
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
