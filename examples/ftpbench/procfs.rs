//! What ftpbench reads from `/proc` (Linux only), and what each figure means.
//!
//! **Server CPU** (`--server-pid`): the sum, over the server process and every descendant found
//! by walking `ppid` links in `/proc/*/stat`, of `utime + stime + cutime + cstime` (fields 14–17,
//! in clock ticks, converted with `getconf CLK_TCK`). A process's `utime`/`stime` already cover
//! all of its threads, including threads that have exited; `/proc/PID/task/*/stat` is read only
//! to count the threads, because summing it would lose the time of exited threads. `cutime` and
//! `cstime` keep the CPU of reaped children (forking servers such as vsftpd). CPU of a child
//! that is reaped by someone else (re-parented to init) is lost: for such servers the shared
//! referee's cgroup accounting is the exact figure. The resolution is one tick (10 ms), so a
//! scenario must burn well over 100 ms of server CPU for the figure to mean much.
//!
//! **Client CPU**: `utime + stime` of `/proc/self/stat`, i.e. all ftpbench threads (the same
//! numbers `getrusage(RUSAGE_SELF)` returns).
//!
//! **Memory** (idle scenario): `Rss:` and `Pss:` of `/proc/PID/smaps_rollup`, summed over the
//! process tree. RSS counts a shared page once per process, so for forking servers the RSS sum
//! overstates; PSS divides each shared page among its users and is the fair per-connection
//! figure.
//!
//! **Limits**: the open-files limit from `/proc/self/limits` (raising it needs `setrlimit`, which
//! is `unsafe`; ftpbench asks for `ulimit -n` instead), and the host-wide `ListenOverflows`
//! counter of `/proc/net/netstat` (connections dropped because some accept queue was full).

use std::collections::HashMap;
use std::fs;
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// One snapshot of a process tree.
#[derive(Debug, Clone, Default)]
pub struct Tree {
    /// CPU seconds (user + system, including reaped children).
    pub cpu_s: f64,
    /// Processes in the tree.
    pub procs: usize,
    /// Threads of all of them.
    pub threads: usize,
    /// Summed RSS in KiB (only when asked for memory).
    pub rss_kib: u64,
    /// Summed PSS in KiB (only when asked for memory).
    pub pss_kib: u64,
}

/// Clock ticks per second of the `/proc` CPU fields.
pub fn clk_tck() -> f64 {
    static TCK: OnceLock<f64> = OnceLock::new();
    *TCK.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse::<f64>().ok())
            .filter(|t| *t > 0.0)
            .unwrap_or(100.0)
    })
}

/// `(ppid, ticks)` of one process: ticks = utime + stime + cutime + cstime.
fn stat_of(pid: &str) -> Option<(u32, u64)> {
    let data = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may contain spaces and parentheses: split after the last ')'.
    let rest = data.get(data.rfind(')')? + 2..)?;
    let f: Vec<&str> = rest.split_ascii_whitespace().collect();
    // f[0] = state (field 3), f[1] = ppid (4), f[11..15] = utime, stime, cutime, cstime (14-17).
    let ppid = f.get(1)?.parse().ok()?;
    let mut ticks = 0u64;
    for v in f.get(11..15)? {
        ticks += v.parse::<u64>().ok()?;
    }
    Some((ppid, ticks))
}

/// The pid and all its descendants, with their CPU ticks.
fn tree_ticks(root: u32) -> Result<Vec<(u32, u64)>, String> {
    let root_stat = stat_of(&root.to_string())
        .ok_or_else(|| format!("process {root} not found (/proc/{root}/stat unreadable)"))?;
    let mut kids: HashMap<u32, Vec<(u32, u64)>> = HashMap::new();
    let dir = fs::read_dir("/proc").map_err(|e| format!("/proc: {e}"))?;
    for entry in dir.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if !name.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let (Ok(pid), Some((ppid, ticks))) = (name.parse::<u32>(), stat_of(name)) else {
            continue;
        };
        kids.entry(ppid).or_default().push((pid, ticks));
    }
    let mut out = vec![(root, root_stat.1)];
    let mut i = 0;
    // Bounded: every pid is visited at most once (a pid cannot be its own descendant).
    while i < out.len() && out.len() < 1_000_000 {
        if let Some(children) = kids.remove(&out[i].0) {
            out.extend(children);
        }
        i += 1;
    }
    Ok(out)
}

fn count_threads(pid: u32) -> usize {
    fs::read_dir(format!("/proc/{pid}/task")).map_or(0, |d| d.count())
}

/// `(Rss, Pss)` in KiB from `/proc/PID/smaps_rollup`; zero for a process that is gone.
fn rss_pss(pid: u32) -> (u64, u64) {
    let Ok(text) = fs::read_to_string(format!("/proc/{pid}/smaps_rollup")) else {
        return (0, 0);
    };
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_ascii_whitespace().next())
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    (field("Rss:"), field("Pss:"))
}

/// Snapshot of `pid`'s tree; `memory` adds RSS/PSS (reads smaps_rollup of every process).
pub fn snapshot(pid: u32, memory: bool) -> Result<Tree, String> {
    let procs = tree_ticks(pid)?;
    let mut t = Tree {
        cpu_s: procs.iter().map(|p| p.1).sum::<u64>() as f64 / clk_tck(),
        procs: procs.len(),
        ..Tree::default()
    };
    t.threads = procs.iter().map(|p| count_threads(p.0)).sum();
    if memory {
        for (p, _) in &procs {
            let (r, s) = rss_pss(*p);
            t.rss_kib += r;
            t.pss_kib += s;
        }
    }
    Ok(t)
}

/// Waits (bounded) until the tree is back to at most `procs` processes, so that per-session
/// children have exited and been reaped (their CPU then sits in the parent's cutime/cstime).
pub fn settle(pid: u32, procs: usize, timeout: Duration) -> Result<Tree, String> {
    let end = Instant::now() + timeout;
    loop {
        let t = snapshot(pid, false)?;
        if t.procs <= procs || Instant::now() >= end {
            std::thread::sleep(Duration::from_millis(20));
            return snapshot(pid, false);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Number of open file descriptors of `pid` (to see the server drop closed connections).
pub fn fd_count(pid: u32) -> Option<usize> {
    fs::read_dir(format!("/proc/{pid}/fd"))
        .ok()
        .map(|d| d.count())
}

/// CPU seconds this process (all threads) has used so far.
pub fn self_cpu_s() -> f64 {
    fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|data| {
            let rest = data.get(data.rfind(')')? + 2..)?.to_owned();
            let f: Vec<&str> = rest.split_ascii_whitespace().collect();
            let u = f.get(11)?.parse::<u64>().ok()?;
            let s = f.get(12)?.parse::<u64>().ok()?;
            Some((u + s) as f64 / clk_tck())
        })
        .unwrap_or(0.0)
}

/// `(soft, hard)` "Max open files" of a process (`self` or a pid); `u64::MAX` = unlimited.
pub fn nofile(pid: &str) -> Result<(u64, u64), String> {
    let text = fs::read_to_string(format!("/proc/{pid}/limits"))
        .map_err(|e| format!("/proc/{pid}/limits: {e}"))?;
    let line = text
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .ok_or_else(|| format!("/proc/{pid}/limits: no 'Max open files' line"))?;
    let v: Vec<&str> = line["Max open files".len()..]
        .split_ascii_whitespace()
        .collect();
    let parse = |s: Option<&&str>| match s {
        Some(&"unlimited") => Ok(u64::MAX),
        Some(v) => v
            .parse::<u64>()
            .map_err(|e| format!("bad limit {v:?}: {e}")),
        None => Err("short 'Max open files' line".to_owned()),
    };
    Ok((parse(v.first())?, parse(v.get(1))?))
}

/// Host-wide TcpExt ListenOverflows (0 when unreadable).
pub fn listen_overflows() -> u64 {
    let Ok(text) = fs::read_to_string("/proc/net/netstat") else {
        return 0;
    };
    let lines: Vec<&str> = text.lines().collect();
    for pair in lines.chunks(2) {
        if let [head, vals] = pair {
            if head.starts_with("TcpExt:") {
                let pos = head
                    .split_ascii_whitespace()
                    .position(|h| h == "ListenOverflows");
                return pos
                    .and_then(|p| vals.split_ascii_whitespace().nth(p))
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
            }
        }
    }
    0
}

/// One line of `/proc` text (`/proc/loadavg`, kernel release), trimmed; `?` when unreadable.
pub fn read_line(path: &str) -> String {
    fs::read_to_string(path).map_or_else(|_| "?".to_owned(), |s| s.trim().to_owned())
}
