//! An example program run as a child process: found next to the test binaries (built with
//! `cargo build --example NAME` when missing or older than the sources), started with
//! arguments, and followed through its stdout, line by line. Killed on drop.

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime};

/// How long an example may take to say `listening on`, and a later line to appear.
pub const LINE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long building an example may take.
const BUILD_TIMEOUT: Duration = Duration::from_secs(300);

/// A running example.
pub struct Example {
    name: String,
    child: Child,
    lines: Receiver<String>,
    /// Every stdout line so far.
    seen: Vec<String>,
    addr: SocketAddr,
}

impl Example {
    /// Starts example `name` with `args` and waits for its `listening on HOST:PORT` line.
    pub fn start(name: &str, args: &[&str]) -> Example {
        let mut child = Command::new(binary(name))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start example {name}: {e}"));
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        // Drains stdout for the child's whole life, so the pipe never fills up.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        let mut ex = Example {
            name: name.to_owned(),
            child,
            lines,
            seen: Vec::new(),
            addr: SocketAddr::from(([0, 0, 0, 0], 0)),
        };
        ex.addr = ex.addr_line("listening on ");
        let count = ex
            .seen
            .iter()
            .filter(|l| l.starts_with("listening on "))
            .count();
        assert_eq!(
            count, 1,
            "{name}: exactly one `listening on` line: {:?}",
            ex.seen
        );
        ex
    }

    /// The FTP address from the `listening on` line.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every stdout line so far.
    pub fn output(&self) -> &[String] {
        &self.seen
    }

    /// The first stdout line starting with `prefix`, waiting for it (bounded).
    #[track_caller]
    pub fn wait_line(&mut self, prefix: &str) -> String {
        let deadline = Instant::now() + LINE_TIMEOUT;
        loop {
            if let Some(l) = self.seen.iter().find(|l| l.starts_with(prefix)) {
                return l.clone();
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.seen.push(line),
                Err(RecvTimeoutError::Timeout) => panic!(
                    "{}: no line starting with {prefix:?} within {LINE_TIMEOUT:?}; got {:?}",
                    self.name, self.seen
                ),
                Err(RecvTimeoutError::Disconnected) => panic!(
                    "{}: exited ({:?}) before printing {prefix:?}; got {:?}",
                    self.name,
                    self.child.try_wait(),
                    self.seen
                ),
            }
        }
    }

    /// The address at the end of the line starting with `prefix`.
    #[track_caller]
    pub fn addr_line(&mut self, prefix: &str) -> SocketAddr {
        let line = self.wait_line(prefix);
        let rest = &line[prefix.len()..];
        rest.parse()
            .unwrap_or_else(|e| panic!("{}: bad address in {line:?}: {e}", self.name))
    }
}

impl Drop for Example {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The newest modification time of `path` and everything below it.
fn newest(path: &Path) -> Option<SystemTime> {
    let md = std::fs::metadata(path).ok()?;
    let mut t = md.modified().ok()?;
    if md.is_dir() {
        for entry in std::fs::read_dir(path).ok()?.flatten() {
            t = t.max(newest(&entry.path()).unwrap_or(t));
        }
    }
    Some(t)
}

/// The examples these tests run.
pub const EXAMPLES: [&str; 7] = [
    "minimal",
    "ftps",
    "embed",
    "custom_authorizer",
    "memory_fs",
    "hooks",
    "throttled",
];

/// The example's binary. The examples that are missing or older than the library or their
/// sources are built first, all in one `cargo build`, once per test process.
fn binary(name: &str) -> PathBuf {
    static BUILT: OnceLock<()> = OnceLock::new();
    assert!(EXAMPLES.contains(&name), "add {name} to EXAMPLES");
    let dir = Path::new(env!("CARGO_BIN_EXE_ftpdlib")).parent().unwrap();
    BUILT.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let src = std::fs::read_dir(root.join("src")).unwrap().flatten();
        // Not src/bin: the daemon's sources are not linked into examples.
        let lib = src.map(|e| e.path()).filter(|p| !p.ends_with("bin"));
        let lib_changed = lib
            .chain([root.join("Cargo.toml")])
            .filter_map(|p| newest(&p))
            .max();
        let stale: Vec<&str> = EXAMPLES
            .into_iter()
            .filter(|n| {
                let ex = root.join("examples");
                let own = [ex.join(format!("{n}.rs")), ex.join(n)];
                let changed = own.iter().filter_map(|p| newest(p)).max().max(lib_changed);
                let bin = std::fs::metadata(dir.join("examples").join(n));
                let built = bin.and_then(|m| m.modified()).ok();
                built.is_none() || changed > built
            })
            .collect();
        if !stale.is_empty() {
            build(&stale, dir);
        }
    });
    let bin = dir.join("examples").join(name);
    assert!(bin.exists(), "example binary {} missing", bin.display());
    bin
}

/// `cargo build --example NAME...` in the profile the tests were built with, bounded in time.
fn build(names: &[&str], profile_dir: &Path) {
    let mut cmd = Command::new(env!("CARGO"));
    cmd.args(["build", "--quiet"])
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    for name in names {
        cmd.args(["--example", name]);
    }
    match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") | None => {}
        Some("release") => {
            cmd.arg("--release");
        }
        Some(other) => {
            cmd.args(["--profile", other]);
        }
    }
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run cargo");
    let mut stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    // The pipe ends when cargo exits: that is the event waited for.
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        let _ = tx.send(text);
    });
    let log = match rx.recv_timeout(BUILD_TIMEOUT) {
        Ok(log) => log,
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            panic!("cargo build {names:?} took longer than {BUILD_TIMEOUT:?}");
        }
    };
    let status = child.wait().expect("wait for cargo");
    assert!(status.success(), "cargo build {names:?} failed:\n{log}");
}
