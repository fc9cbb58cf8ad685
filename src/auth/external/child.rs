//! Running the authentication command once: write the request, read the answer, within a
//! deadline, and kill the command (its whole process group) when the deadline passes.
//!
//! The command runs in its own process group with an empty environment except `PATH`, so
//! nothing of the daemon's environment (which may hold `FTPDLIB_PASSWORD`) leaks to it. Its
//! standard output (the answer, at most [`MAX_ANSWER`] bytes) is read on a helper thread
//! that then reaps the command; the caller waits for that thread's message with a timeout,
//! which is how the deadline is kept without polling. Its standard error (at most
//! [`MAX_STDERR`] bytes) is kept for the log.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The largest answer read; more is cut off (and then is not valid JSON).
pub const MAX_ANSWER: u64 = 64 * 1024;
/// The most of the command's standard error kept for the log.
pub const MAX_STDERR: u64 = 4 * 1024;

/// How one run ended.
#[derive(Debug)]
pub enum Outcome {
    /// The command exited: its status, standard output and standard error.
    Exited(ExitStatus, Vec<u8>, String),
    /// It did not finish in time and was killed.
    TimedOut,
    /// It could not be started (or its pipes failed).
    Failed(String),
}

/// Runs `program` with `input` on its standard input, for at most `timeout`.
pub fn run(program: &Path, input: &[u8], timeout: Duration) -> Outcome {
    use std::os::unix::process::CommandExt;
    let deadline = Instant::now() + timeout;
    let spawned = Command::new(program)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn();
    let mut child = match spawned {
        Ok(child) => child,
        Err(e) => return Outcome::Failed(format!("cannot run {}: {e}", program.display())),
    };
    let pid = child.id();
    // The request is far smaller than a pipe's buffer: this write cannot block. A command
    // that exits without reading makes it fail with EPIPE, which is its business.
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(input);
    }
    let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
        kill_group(pid);
        let _ = child.wait();
        return Outcome::Failed("the command's pipes are missing".into());
    };
    let (err_tx, err_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.take(MAX_STDERR).read_to_string(&mut text);
        let _ = err_tx.send(text);
    });
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut out = Vec::new();
        let read = stdout.take(MAX_ANSWER).read_to_end(&mut out);
        let status = child.wait();
        let _ = tx.send((read.map(|_| out), status));
    });
    let outcome = match rx.recv_timeout(timeout) {
        Ok((Ok(out), Ok(status))) => Outcome::Exited(status, out, String::new()),
        Ok((Err(e), _) | (_, Err(e))) => Outcome::Failed(format!("reading the answer: {e}")),
        Err(_) => {
            kill_group(pid);
            Outcome::TimedOut
        }
    };
    match outcome {
        Outcome::Exited(status, out, _) => {
            // The command has exited, so its standard error is closed, unless it left a
            // process of its own holding it: wait no longer than the deadline for that.
            let left = deadline.saturating_duration_since(Instant::now());
            let stderr = err_rx.recv_timeout(left).unwrap_or_default();
            Outcome::Exited(status, out, stderr)
        }
        other => other,
    }
}

/// SIGKILL to the command's process group (its id, as it was started with `process_group(0)`).
fn kill_group(pid: u32) {
    let pid = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw);
    if let Some(pid) = pid {
        let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
    }
}
