//! The one-session scenarios: retr, stor, list and churn.
//!
//! * **retr**: `RETR --file` into a discarding buffer. MB/s = bytes / 10^6 / seconds, timed from
//!   the `EPSV` to the `226` (login excluded). The byte count must equal the `SIZE` reply.
//! * **stor**: `STOR` of `--size` bytes (a pseudo-random 1 MiB block, repeated) to
//!   `ftpbench-stor-PORT-PID.bin`, timed the same way; the `SIZE` afterwards must match, then the
//!   file is deleted.
//! * **list**: `LIST --list-dir`, `--lists` times in one session, each timed from `EPSV` to
//!   `226`; the round's figure is their median. Fewer lines than `--list-entries` is an error
//!   (a truncating server must not look fast).
//! * **churn**: one session doing `--count` × (`STOR` of `--churn-size` bytes + `DELE`).
//!   ops/s counts one STOR+DELE pair as one op.
//!
//! With `--server-pid`, each also reports server CPU over the measured part (see `procfs`), and
//! retr/stor report the client's own CPU: on loopback, the kernel's receive work runs as a
//! softirq on whichever side happens to be on the CPU, so the split between server and client
//! moves from run to run and their sum (`pair`) is the steadier figure.

use std::time::{Duration, Instant};

use crate::ftp::Control;
use crate::procfs::{self, Tree};
use crate::proto::Target;
use crate::report::Metrics;
use crate::Ctx;

const GIB: f64 = (1u64 << 30) as f64;

/// CPU of the server tree and of ftpbench itself over a measured span.
pub struct Meter {
    pid: Option<u32>,
    srv: Option<Tree>,
    cli: f64,
}

/// CPU seconds used during the span.
pub struct Used {
    /// Server (with `--server-pid`).
    pub srv: Option<f64>,
    /// ftpbench, all threads.
    pub cli: f64,
}

impl Meter {
    /// Starts measuring.
    pub fn start(pid: Option<u32>) -> Result<Meter, String> {
        let srv = pid.map(|p| procfs::snapshot(p, false)).transpose()?;
        Ok(Meter {
            pid,
            srv,
            cli: procfs::self_cpu_s(),
        })
    }

    /// Stops: waits (bounded) for per-session server processes to exit, then reads CPU.
    pub fn stop(self) -> Result<Used, String> {
        let cli = procfs::self_cpu_s() - self.cli;
        let srv = match (self.pid, self.srv) {
            (Some(pid), Some(t0)) => {
                let t1 = procfs::settle(pid, t0.procs, Duration::from_secs(5))?;
                Some(t1.cpu_s - t0.cpu_s)
            }
            _ => None,
        };
        Ok(Used { srv, cli })
    }
}

/// Connects, logs in and switches to binary mode.
pub fn session(t: &Target, ctx: &Ctx) -> Result<Control, String> {
    let mut c = Control::connect(t, ctx.timeout)?;
    c.login(&t.user, &t.password)?;
    c.cmd("TYPE I", &[200])?;
    if let Some(dir) = &ctx.args.cwd {
        c.cmd(&format!("CWD {dir}"), &[250])?;
    }
    Ok(c)
}

/// A pseudo-random block (xorshift), so that nothing on the path can compress it.
pub fn payload(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 32) as u8
        })
        .collect()
}

fn cpu_per_gib(m: &mut Metrics, used: &Used, bytes: u64) {
    let gib = bytes as f64 / GIB;
    if gib <= 0.0 {
        return;
    }
    m.insert("cli_cpu_s_gib", used.cli / gib);
    if let Some(s) = used.srv {
        m.insert("srv_cpu_s_gib", s / gib);
        m.insert("pair_cpu_s_gib", (s + used.cli) / gib);
    }
}

/// RETR of `--file`.
pub fn retr(t: &Target, ctx: &Ctx) -> Result<Metrics, String> {
    let a = &ctx.args;
    let mut c = session(t, ctx)?;
    let size = c.size(&a.file)?.ok_or_else(|| {
        format!(
            "{} is not on the server (SIZE failed); upload it or run with --prepare",
            a.file
        )
    })?;
    let meter = Meter::start(t.pid)?;
    let t0 = Instant::now();
    let got = c.download(&format!("RETR {}", a.file), |_| {})?;
    let secs = t0.elapsed().as_secs_f64();
    let used = meter.stop()?;
    c.quit();
    if got != size {
        return Err(format!("RETR got {got} of {size} bytes"));
    }
    let mut m = Metrics::new();
    m.insert("mb_s", got as f64 / 1e6 / secs);
    m.insert("secs", secs);
    cpu_per_gib(&mut m, &used, got);
    Ok(m)
}

/// STOR of `--size` bytes, checked with SIZE, then deleted.
pub fn stor(t: &Target, ctx: &Ctx) -> Result<Metrics, String> {
    let size = ctx.args.size;
    let name = format!("ftpbench-stor-{}-{}.bin", t.addr.port(), std::process::id());
    let block = payload(1 << 20);
    let mut c = session(t, ctx)?;
    let meter = Meter::start(t.pid)?;
    let t0 = Instant::now();
    let sent = c.upload(&format!("STOR {name}"), size, &block);
    let secs = t0.elapsed().as_secs_f64();
    let used = meter.stop()?;
    let stored = c.size(&name);
    let _ = c.cmd(&format!("DELE {name}"), &[250]);
    c.quit();
    sent?;
    match stored? {
        Some(n) if n == size => {}
        Some(n) => return Err(format!("STOR: server has {n} bytes of {size}")),
        None => return Err(format!("STOR: SIZE {name} failed after the upload")),
    }
    let mut m = Metrics::new();
    m.insert("mb_s", size as f64 / 1e6 / secs);
    m.insert("secs", secs);
    cpu_per_gib(&mut m, &used, size);
    Ok(m)
}

/// LIST of `--list-dir`, `--lists` times.
pub fn list(t: &Target, ctx: &Ctx) -> Result<Metrics, String> {
    let a = &ctx.args;
    let n = a.lists.max(1);
    let mut c = session(t, ctx)?;
    let meter = Meter::start(t.pid)?;
    let mut times = Vec::with_capacity(n);
    let (mut bytes, mut lines) = (0u64, u64::MAX);
    for _ in 0..n {
        let mut nl = 0u64;
        let t0 = Instant::now();
        bytes = c.download(&format!("LIST {}", a.list_dir), |b| {
            nl += b.iter().filter(|&&c| c == b'\n').count() as u64;
        })?;
        times.push(t0.elapsed().as_secs_f64());
        lines = lines.min(nl);
    }
    let used = meter.stop()?;
    c.quit();
    if lines < a.list_entries as u64 {
        return Err(format!(
            "LIST {} gave {lines} lines, want >= {} (missing entries: run with --prepare; \
             or a truncated listing)",
            a.list_dir, a.list_entries
        ));
    }
    let mut m = Metrics::new();
    m.insert("ms", crate::report::median(&mut times).unwrap_or(0.0) * 1e3);
    if let Some(s) = used.srv {
        m.insert("srv_cpu_ms", s * 1e3 / n as f64);
    }
    m.insert("bytes", bytes as f64);
    m.insert("lines", lines as f64);
    Ok(m)
}

/// `--count` × (STOR `--churn-size` + DELE) in one session.
pub fn churn(t: &Target, ctx: &Ctx) -> Result<Metrics, String> {
    let a = &ctx.args;
    let count = a.churn_count();
    let size = a.churn_size;
    let block = payload(usize::try_from(size).unwrap_or(4096).clamp(1, 1 << 20));
    let prefix = format!("ftpbench-churn-{}-{}", t.addr.port(), std::process::id());
    let mut c = session(t, ctx)?;
    let meter = Meter::start(t.pid)?;
    let t0 = Instant::now();
    for i in 0..count {
        let name = format!("{prefix}-{i}.bin");
        c.upload(&format!("STOR {name}"), size, &block)?;
        c.cmd(&format!("DELE {name}"), &[250])?;
    }
    let secs = t0.elapsed().as_secs_f64();
    let used = meter.stop()?;
    c.quit();
    let mut m = Metrics::new();
    m.insert("ops_s", count as f64 / secs);
    if let Some(s) = used.srv {
        m.insert("srv_cpu_ms_op", s * 1e3 / count.max(1) as f64);
    }
    m.insert("client_busy", used.cli / secs);
    Ok(m)
}
