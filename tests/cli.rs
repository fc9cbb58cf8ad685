//! The `ftpdlib` daemon binary as an operator runs it: startup on `-p 0` and its `listening on`
//! log line (IPv4 and IPv6), interoperability with real clients (Python's ftplib, curl),
//! SIGTERM shutdown (421 to clients, exit 0) and startup errors (exit 2, one clear message).

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::time::Duration;

use common::{daemon_args, Ctrl, Proc, TempDir, STARTUP};

/// A running daemon; killed on drop, so a failing test never leaves it behind.
type Daemon = Proc;

/// Starts a write-enabled daemon for user/pass on `dir`, listening on `ip` port 0, and
/// returns it with the address from its `listening on` line.
fn start(dir: &Path, ip: &str) -> (Daemon, SocketAddr) {
    start_with(dir, ip, &[], &[])
}

/// [`start`] with more flags and environment variables.
fn start_with(dir: &Path, ip: &str, extra: &[&str], env: &[(&str, &str)]) -> (Daemon, SocketAddr) {
    let mut args = daemon_args(dir, ip, "user", "pass");
    args.extend(extra.iter().map(|a| a.to_string()));
    let d = Proc::daemon(&args, env);
    let addr = d.expect_addr("listening on ");
    assert_ne!(addr.port(), 0);
    (d, addr)
}

/// Runs the daemon with `args`, expecting it to fail at startup; returns status and stderr.
fn startup_failure(args: &[&str]) -> (ExitStatus, String) {
    let mut d = Proc::daemon(args, &[]);
    let status = d.expect_exit(STARTUP);
    let err = d.stderr();
    assert!(!err.contains("panicked"), "startup error is a panic: {err}");
    (status, err)
}

#[track_caller]
fn tool_available(name: &str) -> bool {
    let found = Command::new(name)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    common::require(
        found,
        &format!("{name} is not installed (.ci/run installs it)"),
    )
}

const FTPLIB_SCRIPT: &str = r#"
import ftplib, sys
port = int(sys.argv[1])
ftp = ftplib.FTP()
ftp.connect("127.0.0.1", port, timeout=5)
assert ftp.getwelcome().startswith("220 "), ftp.getwelcome()
ftp.login("user", "pass")
assert ftp.pwd() == "/", ftp.pwd()
assert ftp.mkd("made") == "/made"
ftp.cwd("made")
assert ftp.pwd() == "/made", ftp.pwd()
ftp.cwd("..")
ftp.rename("made", "moved")
ftp.delete("seed.txt")
try:
    ftp.delete("seed.txt")
    raise SystemExit("deleting a missing file succeeded")
except ftplib.error_perm as e:
    assert str(e).startswith("550"), e
ftp.voidcmd("TYPE I")
assert ftp.size("keep.txt") == 4
ftp.quit()
bad = ftplib.FTP()
bad.connect("127.0.0.1", port, timeout=5)
try:
    bad.login("user", "wrong")
    raise SystemExit("wrong password accepted")
except ftplib.error_perm as e:
    assert str(e).startswith("530"), e
print("ftplib-ok")
"#;

#[test]
fn python_ftplib_interop() {
    if !tool_available("python3") {
        return;
    }
    let dir = TempDir::new("cli-py");
    std::fs::write(dir.path().join("seed.txt"), b"seed").unwrap();
    std::fs::write(dir.path().join("keep.txt"), b"keep").unwrap();
    let (_d, addr) = start(dir.path(), "127.0.0.1");
    let out = Command::new("python3")
        .args(["-c", FTPLIB_SCRIPT, &addr.port().to_string()])
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(
        out.status.success(),
        "ftplib script failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("ftplib-ok"), "{stdout}");
    assert!(dir.path().join("moved").is_dir());
    assert!(!dir.path().join("made").exists());
    assert!(!dir.path().join("seed.txt").exists());
    assert!(dir.path().join("keep.txt").exists());
}

#[test]
fn curl_quote_commands_interop() {
    if !tool_available("curl") {
        return;
    }
    let dir = TempDir::new("cli-curl");
    let (_d, addr) = start(dir.path(), "127.0.0.1");
    // `-I` makes curl skip the directory listing (which would need the data channel).
    let out = Command::new("curl")
        .args(["-s", "-S", "-I", "--max-time", "10"])
        .arg(format!("ftp://user:pass@127.0.0.1:{}/", addr.port()))
        .args([
            "-Q",
            "MKD newdir",
            "-Q",
            "RNFR newdir",
            "-Q",
            "RNTO renamed",
        ])
        .args(["-Q", "PWD"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(dir.path().join("renamed").is_dir(), "curl: {stderr}");
    assert!(!dir.path().join("newdir").exists());
    assert!(
        out.status.success(),
        "curl failed: {:?} {stderr}",
        out.status
    );
}

#[test]
fn sigterm_says_421_to_clients_and_exits_0() {
    let dir = TempDir::new("cli-term");
    let (mut d, addr) = start(dir.path(), "127.0.0.1");
    let (mut c, greeting) = Ctrl::connect(addr);
    assert_eq!(greeting.code, 220);
    c.login("user", "pass");
    let pid = d.pid().to_string();
    let kill = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(kill.success());
    let r = c.read_reply();
    assert_eq!((r.code, r.text.as_str()), (421, "Server is shutting down."));
    c.expect_closed();
    let status = d.expect_exit(Duration::from_secs(5));
    assert_eq!(status.code(), Some(0), "stderr: {}", d.stderr());
    assert!(d.stderr().contains("server stopped"), "{}", d.stderr());
}

#[test]
fn port_in_use_is_a_clear_startup_error() {
    let dir = TempDir::new("cli-inuse");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let d = dir.path().to_str().unwrap();
    let (status, err) = startup_failure(&["-p", &port, "-i", "127.0.0.1", "-d", d]);
    assert_eq!(status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!(
            "cannot listen on 127.0.0.1:{port}: address already in use"
        )),
        "{err}"
    );
}

#[test]
fn missing_directory_is_a_clear_startup_error() {
    let dir = TempDir::new("cli-missing");
    let missing = dir.path().join("not-here");
    let m = missing.to_str().unwrap();
    let (status, err) = startup_failure(&["-p", "0", "-i", "127.0.0.1", "-d", m]);
    assert_eq!(status.code(), Some(2), "{err}");
    assert!(err.contains("ftpdlib: error: directory"), "{err}");
    assert!(err.contains(m), "{err}");
}

#[test]
fn bad_flag_values_are_startup_errors() {
    let dir = TempDir::new("cli-flags");
    let d = dir.path().to_str().unwrap();
    let base = ["-p", "0", "-i", "127.0.0.1", "-d", d];
    let (status, err) = startup_failure(&[&base[..], &["--timeout", "abc"]].concat());
    assert_eq!(status.code(), Some(2), "{err}");
    assert!(err.contains("invalid value 'abc' for '--timeout"), "{err}");

    let (status, err) = startup_failure(&[&base[..], &["-u", "user"]].concat());
    assert_eq!(status.code(), Some(2), "{err}");
    assert!(err.contains("-u/--username needs -P/--password"), "{err}");

    let (status, err) = startup_failure(&[&base[..], &["-P", "secret"]].concat());
    assert_eq!(status.code(), Some(2), "{err}");
    assert!(err.contains("-P/--password needs -u/--username"), "{err}");
    assert!(!err.contains("secret"), "password echoed: {err}");
}

#[test]
fn listens_on_ipv6_loopback() {
    let v6 = std::net::TcpListener::bind("[::1]:0").is_ok();
    if !common::require(v6, "::1 cannot be bound here (no IPv6)") {
        return;
    }
    let dir = TempDir::new("cli-v6");
    let (d, addr) = start(dir.path(), "::1");
    assert!(
        d.stderr()
            .contains(&format!("listening on [::1]:{}", addr.port())),
        "{}",
        d.stderr()
    );
    let (mut c, greeting) = Ctrl::connect(addr);
    assert_eq!(greeting.code, 220);
    c.login("user", "pass");
    c.expect("QUIT", 221);
    c.expect_closed();
}

/// The CLI contract and pyftpdlib's `use_gmt_times` make `--use-localtime` apply to MDTM too
/// (RFC 3659 wants GMT, which is the default).
#[test]
fn mdtm_follows_use_localtime_and_tz() {
    let dir = TempDir::new("cli-tz");
    let file = dir.path().join("f.txt");
    std::fs::write(&file, b"x").unwrap();
    let when = std::time::UNIX_EPOCH + Duration::from_secs(1_234_567_890);
    let f = std::fs::File::options().write(true).open(&file).unwrap();
    f.set_modified(when).unwrap();
    // A zone five hours east of GMT, as a POSIX TZ string.
    let tz = [("TZ", "XXX-5")];
    let (_d, addr) = start_with(dir.path(), "127.0.0.1", &["--use-localtime"], &tz);
    let (mut c, _) = Ctrl::connect(addr);
    c.login("user", "pass");
    // 2009-02-13 23:31:30 GMT is 2009-02-14 04:31:30 in that zone.
    c.expect_line("MDTM f.txt", "213 20090214043130");
}

/// The scheduling class (proc(5) `stat` field 41) of the daemon's threads whose name starts
/// with `prefix` (15 characters at most, as the kernel keeps them).
fn classes(pid: u32, prefix: &str) -> Vec<i64> {
    let mut classes = Vec::new();
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).unwrap() {
        let text = std::fs::read_to_string(task.unwrap().path().join("stat")).unwrap_or_default();
        let Some((name, rest)) = text.rsplit_once(')') else {
            continue;
        };
        if name
            .split_once('(')
            .is_some_and(|(_, n)| n.starts_with(prefix))
        {
            classes.push(rest.split_whitespace().nth(38).unwrap().parse().unwrap());
        }
    }
    classes
}

/// The class of the daemon's main thread (its event loop).
fn main_class(pid: u32) -> i64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/stat")).unwrap();
    let rest = text.rsplit_once(')').unwrap().1;
    rest.split_whitespace().nth(38).unwrap().parse().unwrap()
}

/// The blocking pool's threads' classes.
fn pool_classes(pid: u32) -> Vec<i64> {
    classes(pid, "ftpdlib-blockin")
}

/// `--blocking-priority`: `idle` puts the pool's threads in Linux's idle class once the loop
/// has looked at them (or keeps them at nice +5, saying why, where they could not be lifted
/// back); `low` keeps them in the normal class; anything else is a usage error.
#[test]
fn blocking_priority_sets_the_pool_threads_class() {
    const OTHER: i64 = 0;
    const IDLE: i64 = 5;
    let dir = TempDir::new("cli-priority");
    for (class, want) in [("low", OTHER), ("idle", IDLE)] {
        let extra = [
            "--blocking-threads",
            "2",
            "--blocking-priority",
            class,
            "--log-level",
            "info",
        ];
        let (d, addr) = start_with(dir.path(), "127.0.0.1", &extra, &[]);
        let (mut c, _) = Ctrl::connect(addr);
        let refused = || d.stderr().contains("workers run at nice +5");
        let limit = std::time::Instant::now() + Duration::from_secs(5);
        // Each command is a loop turn, and the loop looks at its workers after each turn.
        while pool_classes(d.pid()) != [want, want] && std::time::Instant::now() < limit {
            assert_eq!(c.cmd("NOOP").code, 200);
            if want == IDLE && refused() {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let got = pool_classes(d.pid());
        if want == IDLE && refused() {
            assert_eq!(got, [OTHER, OTHER], "{}", d.stderr());
        } else {
            assert_eq!(got, [want, want], "--blocking-priority {class}");
        }
    }
    let d = dir.path().to_str().unwrap();
    let args = [
        "-p",
        "0",
        "-i",
        "127.0.0.1",
        "-d",
        d,
        "--blocking-priority",
        "high",
    ];
    let (status, err) = startup_failure(&args);
    assert_eq!(status.code(), Some(2), "{err}");
    assert!(err.contains("is not one of idle, low"), "{err}");
}

/// `--loop-priority realtime`: the loop thread runs in `SCHED_FIFO` and the pool's workers,
/// started from it, do not (they are in the idle class, or at nice +5); without the privilege
/// it is a clear startup error. `normal` leaves the loop in the normal class.
#[test]
fn loop_priority_realtime_puts_only_the_loop_in_sched_fifo() {
    const OTHER: i64 = 0;
    const FIFO: i64 = 1;
    let dir = TempDir::new("cli-loop-priority");
    let mut args = daemon_args(dir.path(), "127.0.0.1", "user", "pass");
    args.extend(["--blocking-threads", "2", "--loop-priority", "realtime"].map(String::from));
    let d = Proc::daemon(&args, &[]);
    if d.next_line("listening on ", STARTUP).is_none() {
        let err = d.stderr();
        assert!(err.contains("--loop-priority realtime:"), "{err}");
        common::require(false, "no CAP_SYS_NICE or RLIMIT_RTPRIO here");
        return;
    }
    assert!(
        d.stderr().contains("event loops in the real-time class"),
        "{}",
        d.stderr()
    );
    let addr = common::addr_after(&d.stderr(), "listening on ");
    let (mut c, _) = Ctrl::connect(addr);
    assert_eq!(c.cmd("NOOP").code, 200);
    assert_eq!(main_class(d.pid()), FIFO, "the loop (main thread)");
    let pool = pool_classes(d.pid());
    assert_eq!(pool.len(), 2);
    assert!(
        !pool.contains(&FIFO),
        "workers inherited the loop's class: {pool:?}"
    );
    drop(d);
    let (d, _) = start_with(dir.path(), "127.0.0.1", &["--loop-priority", "normal"], &[]);
    assert_eq!(main_class(d.pid()), OTHER);
}
