//! Smoke test of the `ftpbench` example against the real daemon: every scenario runs once with
//! tiny sizes (4 MiB file, 20 sessions, 20 idle connections, 100-entry listing, 20 churn ops),
//! the tool exits 0, and the table has a positive figure for each scenario. The `stall`
//! scenario runs each load kind for 1 s, paired with the same daemon as its baseline, and must
//! report the probe's percentiles and the load's rate (their values are timings, so only their
//! presence is checked). Bounded to about a minute each; the daemon is killed on drop.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const RUN_BOUND: Duration = Duration::from_secs(60);

/// The daemon on 127.0.0.1, serving a fresh temporary directory.
struct Daemon {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl Daemon {
    fn start() -> Daemon {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let dir = std::env::temp_dir().join(format!("ftpbench-it-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_ftpdlib"))
            .args(["-p", "0", "-i", "127.0.0.1", "-d"])
            .arg(&dir)
            .args(["-u", "u", "-P", "p", "-w", "--max-cons", "0"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the daemon");
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        // Drains stderr for the daemon's whole life, so its pipe never fills up.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { return };
                let _ = tx.send(line);
            }
        });
        let mut d = Daemon {
            child,
            port: 0,
            dir,
        };
        let end = Instant::now() + Duration::from_secs(10);
        while d.port == 0 {
            let left = end.saturating_duration_since(Instant::now());
            let line = rx
                .recv_timeout(left)
                .expect("daemon printed no `listening on` line within 10 s");
            if let Some(rest) = line.split("listening on 127.0.0.1:").nth(1) {
                d.port = rest.trim().parse().expect("port in the listening line");
            }
        }
        d
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Newest modification time under `path`.
fn newest(path: &Path) -> Option<SystemTime> {
    let md = std::fs::metadata(path).ok()?;
    let mut t = md.modified().ok()?;
    if md.is_dir() {
        for e in std::fs::read_dir(path).ok()?.flatten() {
            t = t.max(newest(&e.path()).unwrap_or(t));
        }
    }
    Some(t)
}

/// The example binary; built here when `cargo test` did not (e.g. `--test ftpbench` alone).
fn ftpbench_bin() -> PathBuf {
    let profile = Path::new(env!("CARGO_BIN_EXE_ftpdlib")).parent().unwrap();
    let bin = profile.join("examples/ftpbench");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let src = [root.join("examples/ftpbench"), root.join("src")]
        .iter()
        .filter_map(|p| newest(p))
        .max();
    let built = std::fs::metadata(&bin).and_then(|m| m.modified()).ok();
    if built.is_none() || src > built {
        let mut cmd = Command::new(env!("CARGO"));
        cmd.args(["build", "--quiet", "--example", "ftpbench"])
            .current_dir(root);
        if profile.ends_with("release") {
            cmd.arg("--release");
        }
        let st = cmd.status().expect("run cargo build");
        assert!(st.success(), "cargo build --example ftpbench failed");
    }
    bin
}

/// Runs ftpbench with `args`, killing it after [`RUN_BOUND`].
fn ftpbench(args: &[String]) -> Output {
    let mut child = Command::new(ftpbench_bin())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start ftpbench");
    let mut pipes = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let out_t = std::thread::spawn(move || {
        let (mut o, mut e) = (Vec::new(), Vec::new());
        let _ = pipes.0.read_to_end(&mut o);
        let _ = pipes.1.read_to_end(&mut e);
        (o, e)
    });
    let end = Instant::now() + RUN_BOUND;
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if Instant::now() > end {
            let _ = child.kill();
            let _ = child.wait();
            panic!("ftpbench did not finish within {RUN_BOUND:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let (stdout, stderr) = out_t.join().unwrap();
    Output {
        status,
        stdout,
        stderr,
    }
}

/// The cells of the table rows of `scenario`: (metric, first server's value).
fn rows<'a>(table: &'a str, scenario: &str) -> Vec<(&'a str, &'a str)> {
    table
        .lines()
        .filter_map(|l| {
            let cells: Vec<&str> = l.trim_matches('|').split('|').map(str::trim).collect();
            (cells.len() >= 3 && cells[0] == scenario).then(|| (cells[1], cells[2]))
        })
        .collect()
}

/// The leading number of a cell (`"1234 [1000..1500]"` gives 1234).
fn num(cell: &str) -> f64 {
    cell.split_whitespace()
        .next()
        .and_then(|v| v.parse().ok())
        .unwrap_or(f64::NAN)
}

#[test]
fn every_scenario_runs_against_the_daemon() {
    let d = Daemon::start();
    let json = d.dir.join("ftpbench-result.json");
    let mut args: Vec<String> = [
        "--port",
        &d.port.to_string(),
        "--user",
        "u",
        "--password",
        "p",
        "--server-pid",
        &d.child.id().to_string(),
        "--scenario",
        "all",
        "--size",
        "4M",
        "--count",
        "20",
        "--concurrency",
        "8",
        "--idle",
        "20",
        "--repeat",
        "1",
        "--prepare",
        "--list-entries",
        "100",
        "--op-timeout",
        "20",
        "--idle-settle",
        "0.2",
        "--json",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.push(json.display().to_string());
    let out = ftpbench(&args);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "ftpbench failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    for sc in ["idle", "retr", "stor", "sessions", "list", "churn"] {
        let r = rows(&stdout, sc);
        assert!(
            r.iter().any(|(_, v)| num(v) > 0.0),
            "no positive figure for {sc}:\n{stdout}"
        );
    }
    let value = |sc: &str, metric: &str| {
        rows(&stdout, sc)
            .into_iter()
            .find(|(m, _)| m.starts_with(metric))
            .map(|(_, v)| num(v))
            .unwrap_or_else(|| panic!("no {sc} {metric} row:\n{stdout}"))
    };
    assert_eq!(value("sessions", "failed"), 0.0, "{stdout}\n{stderr}");
    assert_eq!(value("idle", "connections"), 20.0, "{stdout}");
    assert_eq!(value("list", "lines"), 100.0, "{stdout}");
    assert!(value("retr", "MB/s") > 0.0 && value("stor", "MB/s") > 0.0);
    let j = std::fs::read_to_string(&json).expect("--json file written");
    assert!(
        j.contains("\"scenarios\"") && j.contains("\"sess_s\""),
        "{j}"
    );
}

#[test]
fn bad_flags_exit_2_with_a_message() {
    let out = ftpbench(&[
        "--port".into(),
        "1".into(),
        "--scenario".into(),
        "bogus".into(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("unknown scenario"), "{stderr}");
}

#[test]
fn cwd_puts_every_file_in_the_directory_and_sessions_download_from_it() {
    let d = Daemon::start();
    std::fs::create_dir(d.dir.join("work")).unwrap();
    let port = d.port.to_string();
    let pid = d.child.id().to_string();
    let args: Vec<String> = [
        "--port",
        &port,
        "--user",
        "u",
        "--password",
        "p",
        "--server-pid",
        &pid,
        "--scenario",
        "retr,sessions,churn",
        "--size",
        "1M",
        "--count",
        "10",
        "--concurrency",
        "4",
        "--repeat",
        "1",
        "--prepare",
        "--cwd",
        "work",
        "--op-timeout",
        "20",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let out = ftpbench(&args);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert_eq!(
        std::fs::metadata(d.dir.join("work/big.bin")).unwrap().len(),
        1 << 20
    );
    assert!(d.dir.join("work/small.bin").is_file());
    assert!(!d.dir.join("big.bin").exists() && !d.dir.join("small.bin").exists());
    let failed = rows(&stdout, "sessions")
        .into_iter()
        .find(|(m, _)| m.starts_with("failed"))
        .map(|(_, v)| num(v));
    assert_eq!(failed, Some(0.0), "{stdout}");
}

/// The rows of a paired table for `scenario`: (metric, [first, second, ratio]).
fn paired_rows(table: &str, scenario: &str) -> Vec<(String, Vec<String>)> {
    table
        .lines()
        .filter_map(|l| {
            let c: Vec<&str> = l.trim_matches('|').split('|').map(str::trim).collect();
            (c.len() == 5 && c[0] == scenario).then(|| {
                (
                    c[1].to_owned(),
                    c[2..].iter().map(|s| s.to_string()).collect(),
                )
            })
        })
        .collect()
}

#[test]
fn stall_reports_probe_latency_and_load_rate_for_every_kind() {
    let d = Daemon::start();
    let (port, pid) = (d.port.to_string(), d.child.id().to_string());
    let root = d.dir.display().to_string();
    let flags = format!(
        "--port {port} --user u --password p --server-pid {pid} --label one --baseline-port \
         {port} --baseline-pid {pid} --baseline-label two --scenario stall --stall-load \
         none,list,stor,login --stall-seconds 1 --stall-sessions 2 --stall-size 1M \
         --list-entries 100 --prepare --repeat 1 --op-timeout 20 --prepare-local"
    );
    let mut args: Vec<String> = flags.split_whitespace().map(str::to_owned).collect();
    args.push(root);
    let out = ftpbench(&args);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    for kind in ["none", "list", "stor", "login"] {
        let sc = format!("stall-{kind}");
        let rows = paired_rows(&stdout, &sc);
        let mut want = vec![
            "probe_p50_ms",
            "probe_p99_ms",
            "probe_max_ms",
            "rx_p50_ms",
            "rx_p99_ms",
            "rx_max_ms",
        ];
        if kind != "none" {
            want.push("load_ops/s");
        }
        for metric in want {
            let (_, v) = rows
                .iter()
                .find(|(m, _)| m.starts_with(metric))
                .unwrap_or_else(|| panic!("no {sc} {metric} row:\n{stdout}\n{stderr}"));
            assert!(
                num(&v[0]).is_finite() && num(&v[1]).is_finite() && v[2].ends_with('x'),
                "{sc} {metric}: {v:?}\n{stdout}"
            );
        }
        // The kernel stamps a reply before the probe reads it: rx is part of the probe's time.
        let max = |m: &str| {
            let (_, v) = rows.iter().find(|(r, _)| r.starts_with(m)).unwrap();
            (num(&v[0]), num(&v[1]))
        };
        let (rx, probe) = (max("rx_max_ms"), max("probe_max_ms"));
        assert!(
            rx.0 <= probe.0 + 1.0 && rx.1 <= probe.1 + 1.0,
            "{sc}: rx max {rx:?} over the probe's {probe:?}\n{stdout}"
        );
    }
    let left: Vec<_> = std::fs::read_dir(&d.dir)
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("ftpbench-stall-")
        })
        .collect();
    assert!(left.is_empty(), "the stor load left {left:?}");
}
