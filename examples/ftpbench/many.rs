//! The scenarios with many connections: sessions (the figures of `sessions::run`) and idle.
//!
//! **idle**: `--idle` control connections are opened and logged in (with `--tls`, secured
//! first), spread over `--threads` threads, then held open for `--idle-settle` seconds before the
//! server's memory is sampled. RSS and PSS per connection are `(after - before) / connections`,
//! where *before* is the sample taken before the **first** idle round against that server: an
//! allocator keeps freed memory for reuse, so a "before" taken after an earlier round would
//! hide the per-connection cost. Start the server fresh for this figure; `--scenario all` runs
//! idle first. After closing, ftpbench waits (bounded) until the server's open descriptors are
//! back to their earlier count, so the next round starts clean. `logins/s` is the rate at which
//! the connections were opened.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::bulk::{session, Meter};
use crate::ftp::Control;
use crate::procfs::{self, Tree};
use crate::proto::Target;
use crate::report::Metrics;
use crate::sessions::{self, Params};
use crate::Ctx;

/// Consecutive failed logins after which an idle thread gives up (the server refuses).
const MAX_FAILS: usize = 20;

/// Nearest-rank percentile of sorted values.
pub fn pct(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let k = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[k]
}

/// The sessions scenario.
pub fn sessions(t: &Target, ctx: &Ctx) -> Result<Metrics, String> {
    let a = &ctx.args;
    let expect = {
        let mut c = session(t, ctx)?;
        let size = c.size(&a.small_file)?;
        c.quit();
        size.ok_or_else(|| {
            format!(
                "{} is not on the server (SIZE failed); run with --prepare",
                a.small_file
            )
        })?
    };
    let p = Params {
        target: t.clone(),
        // Sessions skip the CWD (it would be one more round trip to measure).
        path: match &a.cwd {
            Some(dir) if !a.small_file.starts_with('/') => format!("{dir}/{}", a.small_file),
            _ => a.small_file.clone(),
        },
        expect,
        count: a.session_count(),
        concurrency: a.concurrency,
        threads: a.threads,
        timeout: ctx.timeout,
        connect_window: a.connect_window,
    };
    let ov0 = procfs::listen_overflows();
    let meter = Meter::start(t.pid)?;
    let out = sessions::run(&p);
    let used = meter.stop()?;
    let ok = out.lat_s.len();
    if ok == 0 {
        return Err(format!("no session succeeded: {:?}", out.errors));
    }
    let mut m = Metrics::new();
    m.insert("sess_s", ok as f64 / out.wall_s);
    m.insert("p50_ms", pct(&out.lat_s, 0.50) * 1e3);
    m.insert("p99_ms", pct(&out.lat_s, 0.99) * 1e3);
    if let Some(s) = used.srv {
        m.insert("srv_cpu_ms_sess", s * 1e3 / ok as f64);
    }
    m.insert("client_busy", used.cli / out.wall_s);
    m.insert("failed", out.failed as f64);
    m.insert(
        "listen_overflows",
        procfs::listen_overflows().saturating_sub(ov0) as f64,
    );
    for (e, n) in out.errors {
        m.notes.push(format!("{n} x {e}"));
    }
    Ok(m)
}

/// Memory of each server before its first idle round (see the module docs).
pub type Bases = Mutex<HashMap<u32, Tree>>;

/// The idle scenario.
pub fn idle(t: &Target, ctx: &Ctx, bases: &Bases) -> Result<Metrics, String> {
    let a = &ctx.args;
    let before = match t.pid {
        Some(pid) => {
            let now = procfs::snapshot(pid, true)?;
            let mut b = bases.lock().map_err(|_| "lock poisoned")?;
            Some(b.entry(pid).or_insert(now).clone())
        }
        None => None,
    };
    let fds0 = t.pid.and_then(procfs::fd_count);
    let threads = a.threads.clamp(1, a.idle.max(1));
    let t0 = Instant::now();
    let (conns, failed, first_err) = open_many(t, ctx, a.idle, threads);
    let open_s = t0.elapsed().as_secs_f64();
    let n = conns.len();
    std::thread::sleep(Duration::from_secs_f64(a.idle_settle.max(0.0)));
    let after = t.pid.map(|p| procfs::snapshot(p, true)).transpose();
    drop(conns);
    if let (Some(pid), Some(f0)) = (t.pid, fds0) {
        wait_fds(pid, f0 + 2, ctx.timeout);
    }
    let after = after?;
    if n == 0 {
        return Err(format!(
            "no idle connection logged in: {}",
            first_err.unwrap_or_default()
        ));
    }
    let mut m = Metrics::new();
    m.insert("conns", n as f64);
    m.insert("failed", failed as f64);
    m.insert("logins_s", n as f64 / open_s);
    if let (Some(b), Some(x)) = (before, after) {
        let per = |a: u64, b: u64| (a as f64 - b as f64) / n as f64;
        m.insert("rss_kib_conn", per(x.rss_kib, b.rss_kib));
        m.insert("pss_kib_conn", per(x.pss_kib, b.pss_kib));
        m.insert("rss_before_mib", b.rss_kib as f64 / 1024.0);
        m.insert("rss_after_mib", x.rss_kib as f64 / 1024.0);
        m.insert("procs", x.procs as f64);
    }
    if let Some(e) = first_err {
        m.notes.push(format!("{failed} failed; first: {e}"));
    }
    Ok(m)
}

type Opened = (Vec<Control>, usize, Option<String>);

fn open_many(t: &Target, ctx: &Ctx, total: usize, threads: usize) -> Opened {
    let results: Vec<Opened> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..threads)
            .map(|i| {
                let n = total / threads + usize::from(i < total % threads);
                s.spawn(move || open_some(t, ctx, n))
            })
            .collect();
        hs.into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| (Vec::new(), 0, Some("thread panicked".into())))
            })
            .collect()
    });
    let mut all = Vec::with_capacity(total);
    let (mut failed, mut first) = (0, None);
    for (c, f, e) in results {
        all.extend(c);
        failed += f;
        first = first.or(e);
    }
    (all, failed, first)
}

fn open_some(t: &Target, ctx: &Ctx, n: usize) -> Opened {
    let mut conns = Vec::with_capacity(n);
    let (mut failed, mut streak, mut first) = (0, 0, None);
    for i in 0..n {
        let r = Control::connect(t, ctx.timeout).and_then(|mut c| {
            c.login(&t.user, &t.password)?;
            Ok(c)
        });
        match r {
            Ok(c) => {
                conns.push(c);
                streak = 0;
            }
            Err(e) => {
                failed += 1;
                streak += 1;
                first.get_or_insert(e);
                if streak >= MAX_FAILS {
                    failed += n - i - 1;
                    break;
                }
            }
        }
    }
    (conns, failed, first)
}

/// Waits until the server has at most `limit` descriptors open (it noticed the closes).
fn wait_fds(pid: u32, limit: usize, bound: Duration) {
    let end = Instant::now() + bound;
    while Instant::now() < end {
        match procfs::fd_count(pid) {
            Some(n) if n > limit => std::thread::sleep(Duration::from_millis(50)),
            _ => return,
        }
    }
}
