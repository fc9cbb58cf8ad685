//! The `stall` scenario (issue 15, "No session waits for another"): how long one logged-in
//! session waits for a trivial reply while other sessions load the server.
//!
//! A **probe** session (login, `TYPE I`, `CWD --cwd`, like every blocking session) sends `NOOP`
//! every `--stall-interval-ms` (10 ms) and times each reply, from the write of the command to the
//! end of the `200` reply. The figures are its p50, p99 and max in ms (nearest rank). Meanwhile
//! `--stall-sessions` (8) sessions load the server, each on its own thread, one operation after
//! the other, for `--stall-seconds`. The load kinds (`--stall-load`, a comma list; each kind is
//! a scenario of its own in the table, `stall-KIND`):
//!
//! * `none`: no load, the probe alone. This is the floor: client, loopback and scheduler.
//! * `list`: `LIST --list-dir` (10,000 entries with `--prepare`). A listing with fewer lines
//!   than `--list-entries` is an error, so a truncating server cannot look fast.
//! * `stor`: `STOR` of `--stall-size` (8 MiB) bytes, then `DELE` of that file; one op is both.
//! * `login`: connect, `USER`/`PASS` as `--stall-login-user` (default `--user`; the baseline
//!   uses `--baseline-stall-login-user`, default its own login), `QUIT`; one op is one whole
//!   session. With a users-file account hashed with bcrypt or SHA-crypt, this shows whether
//!   checking a password holds up the other sessions.
//!
//! `load_ops/s` is the number of operations completed inside the window divided by its length;
//! an operation still running at the end is finished (bounded by `--op-timeout`) but not
//! counted. The load sessions of `list` and `stor` are logged in before the window opens.
//!
//! The probe sends on a fixed grid (start + k × interval). A reply that comes back after the
//! next grid point makes the probe send at once, and every grid point it passed is counted in
//! `missed_ticks`: a 500 ms stall is one slow probe plus about 50 missed ticks. The percentiles
//! count only the probes that were sent, so read them together with `missed_ticks` and the max.
//!
//! The client runs on the same machine: the probe thread competes for the CPU with the load
//! threads, the server and anything else. `none` gives the floor; the paired baseline, measured
//! in the same run, is what the figures are compared with. So that the server's part can be told
//! from the client's, a plain probe session also asks the kernel to stamp each segment it
//! receives (`SO_TIMESTAMPNS`, rxstamp.rs): `rx_p50_ms`, `rx_p99_ms` and `rx_max_ms` run from
//! the write of the command to the kernel's delivery of the reply's last segment to the
//! probe's socket, before the probe's thread has to be given a CPU to read it. That is what a
//! client on another machine would see, less the network; `probe_*` is what this one saw. With `--server-pid`,
//! `srv_core_busy` is the server's CPU time over the window divided by the window.

use std::time::{Duration, Instant, SystemTime};

use crate::bulk::{payload, session, Meter};
use crate::ftp::Control;
use crate::many::pct;
use crate::proto::Target;
use crate::report::Metrics;
use crate::Ctx;

/// The load kinds, in the order `--stall-load` runs them.
const KINDS: [(&str, &str); 4] = [
    ("none", "stall-none"),
    ("list", "stall-list"),
    ("stor", "stall-stor"),
    ("login", "stall-login"),
];

/// Operations one load thread may run in one round (a bound; time ends it first).
const MAX_OPS: u64 = 10_000_000;

/// The scenario names for a `--stall-load` list such as `none,list,stor`.
pub fn names(spec: &str) -> Result<Vec<&'static str>, String> {
    let mut out = Vec::new();
    for k in spec.split(',').map(str::trim) {
        let (_, name) = KINDS
            .iter()
            .find(|(kind, _)| *kind == k)
            .ok_or_else(|| format!("unknown --stall-load kind {k:?} (none, list, stor, login)"))?;
        if !out.contains(name) {
            out.push(*name);
        }
    }
    Ok(out)
}

/// What one load thread did.
struct LoadOut {
    ops: u64,
    err: Option<String>,
}

/// What the probe saw.
struct ProbeOut {
    lat_s: Vec<f64>,
    /// Send to the kernel's receive stamp of the reply (plain sessions only).
    rx_s: Vec<f64>,
    missed: u64,
}

/// One round of `stall-KIND` against `t`.
pub fn run(name: &str, t: &Target, ctx: &Ctx) -> Result<Metrics, String> {
    let kind = name.strip_prefix("stall-").unwrap_or(name);
    let a = &ctx.args;
    let window = Duration::from_secs_f64(a.stall_seconds);
    let interval = Duration::from_secs_f64(a.stall_interval_ms / 1e3);
    let probe_c = session(t, ctx)?;
    let workers = if kind == "none" { 0 } else { a.stall_sessions };
    let mut conns = Vec::with_capacity(workers);
    for _ in 0..workers {
        // login sessions are made inside the window: logging in is the load.
        conns.push(match kind {
            "login" => None,
            _ => Some(session(t, ctx).map_err(|e| format!("load session: {e}"))?),
        });
    }
    let meter = Meter::start(t.pid)?;
    let start = Instant::now();
    let end = start + window;
    let (probe, loads) = std::thread::scope(|s| {
        let hs: Vec<_> = conns
            .into_iter()
            .enumerate()
            .map(|(i, c)| {
                s.spawn(move || match prioritise(ctx.args.stall_load_nice) {
                    Ok(()) => load(kind, c, i, t, ctx, end),
                    Err(e) => LoadOut {
                        ops: 0,
                        err: Some(e),
                    },
                })
            })
            .collect();
        let nice = a.stall_probe_nice;
        let probe = s
            .spawn(move || {
                prioritise(nice)?;
                probe(probe_c, interval, start, end)
            })
            .join()
            .unwrap_or_else(|_| Err("probe thread panicked".into()));
        let loads: Vec<LoadOut> = hs
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| LoadOut {
                    ops: 0,
                    err: Some("load thread panicked".into()),
                })
            })
            .collect();
        (probe, loads)
    });
    let used = meter.stop()?;
    metrics(kind, ctx, window.as_secs_f64(), probe?, &loads, used.srv)
}

/// Gives the calling thread (the probe's own) the nice value `nice`, if not 0. On Linux the
/// nice value is per thread, so the load threads keep theirs.
fn prioritise(nice: i32) -> Result<(), String> {
    if nice == 0 {
        return Ok(());
    }
    // SAFETY: setpriority takes plain integers; `who` 0 is the calling thread on Linux.
    let rc = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, nice) };
    if rc != 0 {
        return Err(format!(
            "--stall-probe-nice {nice}: setpriority: {} (a negative value needs root)",
            std::io::Error::last_os_error()
        ));
    }
    Ok(())
}

/// The round's figures; an error if any load session failed.
fn metrics(
    kind: &str,
    ctx: &Ctx,
    secs: f64,
    probe: ProbeOut,
    loads: &[LoadOut],
    srv_cpu_s: Option<f64>,
) -> Result<Metrics, String> {
    if let Some(e) = loads.iter().find_map(|l| l.err.as_ref()) {
        let failed = loads.iter().filter(|l| l.err.is_some()).count();
        return Err(format!(
            "{failed} of {} load sessions failed; first: {e}",
            loads.len()
        ));
    }
    let mut lat = probe.lat_s;
    lat.sort_by(f64::total_cmp);
    let mut m = Metrics::new();
    m.insert("p50_ms", pct(&lat, 0.50) * 1e3);
    m.insert("p99_ms", pct(&lat, 0.99) * 1e3);
    m.insert("max_ms", lat.last().copied().unwrap_or(f64::NAN) * 1e3);
    let mut rx = probe.rx_s;
    if !rx.is_empty() {
        rx.sort_by(f64::total_cmp);
        m.insert("rx_p50_ms", pct(&rx, 0.50) * 1e3);
        m.insert("rx_p99_ms", pct(&rx, 0.99) * 1e3);
        m.insert("rx_max_ms", rx.last().copied().unwrap_or(f64::NAN) * 1e3);
    }
    m.insert("probes", lat.len() as f64);
    m.insert("missed", probe.missed as f64);
    if !loads.is_empty() {
        let ops: u64 = loads.iter().map(|l| l.ops).sum();
        m.insert("ops_s", ops as f64 / secs);
        if kind == "stor" {
            m.insert("load_mb_s", (ops * ctx.args.stall_size) as f64 / 1e6 / secs);
        }
    }
    if let Some(s) = srv_cpu_s {
        m.insert("srv_busy", s / secs);
    }
    Ok(m)
}

/// Sends NOOP on the grid `start + k × interval` until `end`; see the module docs.
fn probe(
    mut c: Control,
    interval: Duration,
    start: Instant,
    end: Instant,
) -> Result<ProbeOut, String> {
    let step = interval.as_secs_f64().max(1e-4);
    let bound = ((end - start).as_secs_f64() / step) as usize + 2;
    let mut out = ProbeOut {
        lat_s: Vec::with_capacity(bound),
        rx_s: Vec::with_capacity(bound),
        missed: 0,
    };
    c.stamp_replies()?;
    let mut next = start;
    for _ in 0..bound {
        if next >= end {
            break;
        }
        let now = Instant::now();
        if next > now {
            std::thread::sleep(next - now);
        }
        let sent = SystemTime::now();
        let t0 = Instant::now();
        let (_, stamp) = c
            .cmd_stamped("NOOP", &[200])
            .map_err(|e| format!("probe: {e}"))?;
        let done = Instant::now();
        out.lat_s.push((done - t0).as_secs_f64());
        if let Some(rx) = stamp {
            // A stamp before the send (a clock step) counts as 0, never as a negative wait.
            out.rx_s
                .push(rx.duration_since(sent).unwrap_or_default().as_secs_f64());
        }
        next += interval;
        if done > next {
            // The grid points passed while waiting: skip them, count them.
            let behind = ((done - next).as_secs_f64() / step).ceil() as u32;
            out.missed += u64::from(behind);
            next += interval * behind;
        }
    }
    c.quit();
    Ok(out)
}

/// One load thread: operations of `kind` until `end`.
fn load(
    kind: &str,
    mut c: Option<Control>,
    idx: usize,
    t: &Target,
    ctx: &Ctx,
    end: Instant,
) -> LoadOut {
    let a = &ctx.args;
    let name = format!(
        "ftpbench-stall-{}-{}-{idx}.bin",
        t.addr.port(),
        std::process::id()
    );
    let block = if kind == "stor" {
        payload(
            usize::try_from(a.stall_size)
                .unwrap_or(1 << 20)
                .clamp(1, 1 << 20),
        )
    } else {
        Vec::new()
    };
    let mut out = LoadOut { ops: 0, err: None };
    for _ in 0..MAX_OPS {
        if Instant::now() >= end {
            break;
        }
        let r = match (kind, c.as_mut()) {
            ("list", Some(c)) => list_op(c, ctx),
            ("stor", Some(c)) => c
                .upload(&format!("STOR {name}"), a.stall_size, &block)
                .and_then(|()| c.cmd(&format!("DELE {name}"), &[250]).map(drop)),
            ("login", None) => login_op(t, ctx),
            _ => Err(format!("no load kind {kind:?}")),
        };
        if let Err(e) = r {
            out.err = Some(format!("{kind}: {e}"));
            break;
        }
        if Instant::now() <= end {
            out.ops += 1;
        }
    }
    if let Some(c) = c {
        c.quit();
    }
    out
}

/// One LIST of `--list-dir`, checked for truncation.
fn list_op(c: &mut Control, ctx: &Ctx) -> Result<(), String> {
    let a = &ctx.args;
    let mut lines = 0u64;
    c.download(&format!("LIST {}", a.list_dir), |b| {
        lines += b.iter().filter(|&&x| x == b'\n').count() as u64;
    })?;
    if lines < a.list_entries as u64 {
        return Err(format!(
            "LIST {} gave {lines} lines, want >= {} (run with --prepare)",
            a.list_dir, a.list_entries
        ));
    }
    Ok(())
}

/// One whole session: connect, USER/PASS as the load login, QUIT.
fn login_op(t: &Target, ctx: &Ctx) -> Result<(), String> {
    let (user, password) = &t.stall_login;
    let mut c = Control::connect(t, ctx.timeout)?;
    c.login(user, password)
        .map_err(|e| format!("login as {user}: {e}"))?;
    c.quit();
    Ok(())
}
