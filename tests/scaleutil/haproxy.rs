//! HAProxy as a child process (`haproxy -f CFG -db`, foreground) with its admin socket, to
//! read the servers' health-check results; and a bounded runner for `curl`.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use super::daemon::Proc;
use crate::common::{run_bounded, TempDir, IO_TIMEOUT};

/// True if `bin` is an executable on PATH.
#[allow(unused_imports)]
pub use crate::common::require_tool as installed;

/// The `haproxy` executable: on PATH, or in /usr/sbin or /usr/local/sbin (where Debian puts
/// it, outside an ordinary user's PATH).
pub fn haproxy_bin() -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    dirs.extend(["/usr/sbin", "/usr/local/sbin"].map(PathBuf::from));
    dirs.into_iter()
        .map(|d| d.join("haproxy"))
        .find(|p| p.is_file())
}

/// A running HAProxy; killed on drop.
pub struct Haproxy {
    proc: Proc,
    stats: PathBuf,
    _dir: TempDir,
}

impl Haproxy {
    /// Writes `global` (a `stats socket` line is added) and `rest` (defaults, frontends,
    /// backends) to `haproxy.cfg` in a fresh directory and starts HAProxy on it.
    pub fn start(global: &str, rest: &str) -> Haproxy {
        let dir = TempDir::new("haproxy");
        let stats = dir.path().join("admin.sock");
        let cfg = format!(
            "global\n    stats socket {} mode 600 level admin\n{global}\n{rest}\n",
            stats.display()
        );
        let path = dir.path().join("haproxy.cfg");
        std::fs::write(&path, &cfg).unwrap();
        let bin = haproxy_bin().expect("haproxy is installed");
        let proc = Proc::spawn(Command::new(bin).arg("-f").arg(&path).arg("-db"));
        Haproxy {
            proc,
            stats,
            _dir: dir,
        }
    }

    /// HAProxy's own output (warnings about servers going up or down).
    pub fn lines(&self) -> Vec<String> {
        self.proc.log().lines()
    }

    /// One admin-socket command; `None` while the socket is not there yet.
    pub fn admin(&self, cmd: &str) -> Option<String> {
        let mut s = UnixStream::connect(&self.stats).ok()?;
        s.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        s.write_all(format!("{cmd}\n").as_bytes()).ok()?;
        let mut out = String::new();
        s.read_to_string(&mut out).ok()?;
        Some(out)
    }

    /// `show stat` as (proxy, server) → column → value.
    pub fn stats(&self) -> Option<BTreeMap<(String, String), BTreeMap<String, String>>> {
        let text = self.admin("show stat")?;
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next()?.trim_start_matches("# ").split(',').collect();
        let mut out = BTreeMap::new();
        for l in lines.filter(|l| !l.is_empty()) {
            let row: BTreeMap<String, String> = header
                .iter()
                .zip(l.split(','))
                .map(|(k, v)| ((*k).to_owned(), v.to_owned()))
                .collect();
            let key = (row["pxname"].clone(), row["svname"].clone());
            out.insert(key, row);
        }
        Some(out)
    }

    /// Waits (at most `limit`) until each `(proxy, server, check_status)` is reported, e.g.
    /// `("ftp", "a", "L7OK")`: HAProxy offers no notification, so this polls the admin socket.
    #[track_caller]
    pub fn wait_checks(&self, want: &[(&str, &str, &str)], limit: Duration) {
        let deadline = Instant::now() + limit;
        let mut last = None;
        while Instant::now() < deadline {
            if let Some(st) = self.stats() {
                let ok = want.iter().all(|(px, sv, status)| {
                    st.get(&((*px).to_owned(), (*sv).to_owned()))
                        .is_some_and(|r| r["check_status"].trim_start_matches("* ") == *status)
                });
                if ok {
                    return;
                }
                last = Some(st);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let seen: Vec<_> = last
            .unwrap_or_default()
            .into_iter()
            .map(|(k, r)| (k, r["status"].clone(), r["check_status"].clone()))
            .collect();
        panic!(
            "health checks never reached {want:?}; last seen {seen:?}; haproxy said {:?}",
            self.lines()
        );
    }
}

/// Runs `curl args` within `limit` (killed by its pid otherwise); returns its output, failed
/// or not.
pub fn curl(args: &[String], limit: Duration) -> Output {
    run_bounded(Command::new("curl").args(args), limit)
}

/// Like [`curl`], asserting success.
#[track_caller]
pub fn curl_ok(args: &[String], limit: Duration) -> Output {
    let out = curl(args, limit);
    assert!(
        out.status.success(),
        "curl {args:?} failed: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}
