//! ftpbench: a load generator and benchmark for any FTP server, modelled on pyftpdlib's
//! `scripts/ftpbench`, but parallel (a mio client on several threads, so the client is not the
//! bottleneck), paired (an optional baseline server measured in the same run, round by round)
//! and explicit about what it measures.
//!
//! ```text
//! cargo run --release --example ftpbench -- --port 2121 --user u --password p \
//!     --server-pid PID --scenario all --prepare [--baseline-port 2122 --baseline-pid PID2]
//! ```
//!
//! Scenarios (each module documents its measurement): `idle` and `sessions` (`many`, `sessions`),
//! `retr`, `stor`, `list`, `churn` (`bulk`); latency under load, `stall` (`stall`, with the
//! kernel's receive stamps from `rxstamp`; not part of `all`); fixtures (`prepare`); CPU and
//! memory from `/proc`
//! (`procfs`); FTPS (`tls`); the table, medians and paired ratios (`report`).
//!
//! Each scenario runs `--warmup` unrecorded rounds, then `--repeat` recorded rounds; in every
//! round each server runs once, and the order alternates from round to round. Output: progress
//! on stderr; on stdout a header (date, machine, load) and one aligned markdown table with a row
//! per figure. Exit status: 0 when every recorded round succeeded, 1 when some failed, 2 on a
//! usage or setup error.

mod bulk;
mod cli;
mod ftp;
mod many;
mod nb;
mod prepare;
mod procfs;
mod proto;
mod report;
mod rxstamp;
mod sessions;
mod stall;
mod tls;

use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use clap::Parser;

use cli::Args;
use proto::Target;
use report::{Metrics, Scenario};

/// Execution order of `--scenario all`: idle first, while the server is fresh (see `many`).
const ORDER: [&str; 6] = ["idle", "retr", "stor", "sessions", "list", "churn"];

/// What every scenario gets.
pub struct Ctx {
    /// The flags.
    pub args: Args,
    /// `--op-timeout`.
    pub timeout: Duration,
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("ftpbench: {e}");
            ExitCode::from(2)
        }
    }
}

/// The scenarios to run; `stall` stands for one `stall-KIND` per kind of `--stall-load`.
fn scenarios(spec: &str, stall_load: &str) -> Result<Vec<&'static str>, String> {
    if spec == "all" {
        return Ok(ORDER.to_vec());
    }
    let mut out = Vec::new();
    for s in spec.split(',').map(str::trim) {
        let names = if s == "stall" {
            stall::names(stall_load)?
        } else {
            let name = ORDER.iter().find(|n| **n == s).ok_or_else(|| {
                format!("unknown scenario {s:?} (all, {}, stall)", ORDER.join(", "))
            })?;
            vec![*name]
        };
        for name in names {
            if !out.contains(&name) {
                out.push(name);
            }
        }
    }
    Ok(out)
}

fn validate(a: &Args) -> Result<(), String> {
    if a.repeat == 0 || a.threads == 0 || a.concurrency == 0 || a.count == Some(0) {
        return Err("--repeat, --threads, --concurrency and --count must be at least 1".into());
    }
    if !(a.op_timeout > 0.0 && a.op_timeout.is_finite()) {
        return Err("--op-timeout must be a positive number of seconds".into());
    }
    let positive = |x: f64| x > 0.0 && x.is_finite();
    if !positive(a.stall_seconds) || !positive(a.stall_interval_ms) || a.stall_sessions == 0 {
        return Err("--stall-seconds, --stall-interval-ms and --stall-sessions must be > 0".into());
    }
    if a.tls && a.insecure && a.ca_file.is_some() {
        return Err("--insecure and --ca-file exclude each other".into());
    }
    Ok(())
}

/// The client needs one descriptor per idle connection and two per running session.
fn check_fds(a: &Args, scs: &[&str]) -> Result<(), String> {
    let mut need = 64;
    if scs.contains(&"idle") {
        need = need.max(a.idle as u64 + 64);
    }
    if scs.contains(&"sessions") {
        need = need.max(2 * a.concurrency as u64 + 64);
    }
    if scs.iter().any(|s| s.starts_with("stall-")) {
        need = need.max(2 * a.stall_sessions as u64 + 64);
    }
    let (soft, hard) = procfs::nofile("self")?;
    if soft < need {
        let hint = if hard >= need {
            format!("run `ulimit -n {}` in this shell first", hard.min(1 << 20))
        } else {
            format!("the hard limit is {hard} too: raise it (as root: `ulimit -Hn {need}`), or lower --idle/--concurrency")
        };
        return Err(format!(
            "open-files limit is {soft}, this run needs about {need} descriptors; {hint}"
        ));
    }
    Ok(())
}

fn target(
    a: &Args,
    base: bool,
    tls: &Option<std::sync::Arc<rustls::ClientConfig>>,
) -> Result<Target, String> {
    let (host, port) = if base {
        let h = a.baseline_host.as_deref().unwrap_or(&a.host);
        (h, a.baseline_port.ok_or("no --baseline-port")?)
    } else {
        (a.host.as_str(), a.port)
    };
    let pick = |b: &Option<String>, d: &String| {
        if base {
            b.clone().unwrap_or_else(|| d.clone())
        } else {
            d.clone()
        }
    };
    let (user, password) = (
        pick(&a.baseline_user, &a.user),
        pick(&a.baseline_password, &a.password),
    );
    Ok(Target {
        label: (if base { &a.baseline_label } else { &a.label })
            .clone()
            .unwrap_or_default(),
        addr: Target::resolve(host, port)?,
        user: user.clone(),
        password: password.clone(),
        pid: if base { a.baseline_pid } else { a.server_pid },
        tls: if base && a.baseline_plain {
            None
        } else {
            tls.clone()
        },
        sni: a.sni.clone().unwrap_or_else(|| host.to_owned()),
        pasv: a.pasv,
        stall_login: if base {
            (
                a.baseline_stall_login_user.clone().unwrap_or(user),
                a.baseline_stall_login_password.clone().unwrap_or(password),
            )
        } else {
            (
                a.stall_login_user.clone().unwrap_or(user),
                a.stall_login_password.clone().unwrap_or(password),
            )
        },
    })
}

/// Logs in once; returns the greeting.
fn probe(t: &Target, ctx: &Ctx) -> Result<String, String> {
    let mut c = ftp::Control::connect(t, ctx.timeout).map_err(|e| format!("{}: {e}", t.addr))?;
    c.login(&t.user, &t.password)
        .map_err(|e| format!("{}: login as {}: {e}", t.addr, t.user))?;
    let banner = c.banner.clone();
    c.quit();
    Ok(banner)
}

fn run_one(sc: &str, t: &Target, ctx: &Ctx, bases: &many::Bases) -> Result<Metrics, String> {
    match sc {
        "idle" => many::idle(t, ctx, bases),
        "retr" => bulk::retr(t, ctx),
        "stor" => bulk::stor(t, ctx),
        "sessions" => many::sessions(t, ctx),
        "list" => bulk::list(t, ctx),
        "churn" => bulk::churn(t, ctx),
        s if s.starts_with("stall-") => stall::run(s, t, ctx),
        _ => Err(format!("unknown scenario {sc}")),
    }
}

fn summary_line(sc: &str, m: &Metrics) -> String {
    let vals: Vec<String> = report::defs(sc)
        .iter()
        .filter_map(|d| {
            m.get(d.key)
                .map(|v| format!("{}={v:.p$}", d.label, p = d.prec))
        })
        .collect();
    vals.join("  ")
}

fn run(args: Args) -> Result<bool, String> {
    validate(&args)?;
    let scs = scenarios(&args.scenario, &args.stall_load)?;
    check_fds(&args, &scs)?;
    let started = Instant::now();
    let tls = if args.tls {
        Some(tls::base_config(args.insecure, args.ca_file.as_deref())?)
    } else {
        None
    };
    let mut targets = vec![target(&args, false, &tls)?];
    if args.baseline_port.is_some() {
        targets.push(target(&args, true, &tls)?);
    }
    let ctx = Ctx {
        timeout: Duration::from_secs_f64(args.op_timeout),
        args,
    };
    let mut banners = Vec::new();
    for t in &mut targets {
        let banner = probe(t, &ctx)?;
        if t.label.is_empty() {
            let word = banner.get(4..).unwrap_or("").split_whitespace().next();
            t.label = word
                .unwrap_or("server")
                .trim_end_matches([',', ':', '.'])
                .to_owned();
        }
        if let Some(pid) = t.pid {
            procfs::snapshot(pid, false)
                .map_err(|e| format!("--server-pid/--baseline-pid: {e}"))?;
            let (soft, _) = procfs::nofile(&pid.to_string()).unwrap_or((u64::MAX, 0));
            if scs.contains(&"idle") && soft < ctx.args.idle as u64 + 32 {
                eprintln!(
                    "warning: server pid {pid} may open only {soft} files, fewer than --idle {}",
                    ctx.args.idle
                );
            }
        }
        banners.push(banner);
    }
    if targets.len() == 2 && targets[0].label == targets[1].label {
        for t in &mut targets {
            t.label = format!("{}:{}", t.label, t.addr.port());
        }
    }
    if ctx.args.prepare {
        for t in &targets {
            prepare::run(t, &ctx, &scs)?;
        }
    }
    let labels: Vec<String> = targets.iter().map(|t| t.label.clone()).collect();
    let date = chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string();
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let kernel = procfs::read_line("/proc/sys/kernel/osrelease");
    let load0 = procfs::read_line("/proc/loadavg");
    let a = &ctx.args;
    println!(
        "# ftpbench {date} | {} {cpus} cpus, kernel {kernel} | load {load0} | {} rounds (+{} warmup), median [min..max]{}",
        std::env::consts::ARCH,
        a.repeat,
        a.warmup,
        if targets.len() == 2 { "; ratio = median of per-round paired ratios" } else { "" },
    );
    for (t, b) in targets.iter().zip(&banners) {
        println!(
            "# {}: {} user {} pid {} tls {} | {}",
            t.label,
            t.addr,
            t.user,
            t.pid.map_or("-".into(), |p| p.to_string()),
            if t.tls.is_some() { "on" } else { "off" },
            b.lines().next().unwrap_or("")
        );
    }
    let bases: many::Bases = Mutex::new(HashMap::new());
    let mut results = Vec::new();
    for sc in &scs {
        let n = targets.len();
        let mut s = Scenario {
            name: sc,
            runs: vec![vec![None; a.repeat]; n],
            errors: vec![Vec::new(); n],
        };
        let warm = if *sc == "idle" { 0 } else { a.warmup };
        for round in 0..warm + a.repeat {
            for k in 0..n {
                let ti = (k + round) % n;
                let t = &targets[ti];
                let res = run_one(sc, t, &ctx, &bases);
                let tag = match round.checked_sub(warm) {
                    Some(r) => format!("round {}/{}", r + 1, a.repeat),
                    None => "warmup".into(),
                };
                match &res {
                    Ok(m) => {
                        eprintln!("{sc:>8} {:<12} {tag}: {}", t.label, summary_line(sc, m));
                        for note in &m.notes {
                            eprintln!("{:>8} {:<12}   {note}", "", "");
                        }
                    }
                    Err(e) => eprintln!("{sc:>8} {:<12} {tag}: ERROR {e}", t.label),
                }
                if let Some(r) = round.checked_sub(warm) {
                    match res {
                        Ok(m) => s.runs[ti][r] = Some(m),
                        Err(e) => s.errors[ti].push(format!("round {}: {e}", r + 1)),
                    }
                }
            }
        }
        results.push(s);
    }
    let load1 = procfs::read_line("/proc/loadavg");
    println!();
    print!("{}", report::table(&labels, &results));
    println!();
    println!(
        "# done in {:.0} s; load at end {load1}",
        started.elapsed().as_secs_f64()
    );
    if let Some(path) = &a.json {
        let tjson: Vec<String> = targets
            .iter()
            .zip(&banners)
            .map(|(t, b)| {
                format!(
                    "{{\"label\": {}, \"addr\": {}, \"user\": {}, \"pid\": {}, \"banner\": {}}}",
                    report::js(&t.label),
                    report::js(&t.addr.to_string()),
                    report::js(&t.user),
                    t.pid.map_or("null".into(), |p| p.to_string()),
                    report::js(b)
                )
            })
            .collect();
        let argv: Vec<String> = std::env::args().map(|s| report::js(&s)).collect();
        let json = format!(
            "{{\"meta\": {{\"date_utc\": {}, \"arch\": {}, \"cpus\": {cpus}, \"kernel\": {}, \"loadavg_start\": {}, \"loadavg_end\": {}, \"argv\": [{}], \"repeat\": {}, \"warmup\": {}, \"tls\": {}, \"servers\": [{}]}},\n \"scenarios\": {}}}\n",
            report::js(&date),
            report::js(std::env::consts::ARCH),
            report::js(&kernel),
            report::js(&load0),
            report::js(&load1),
            argv.join(", "),
            a.repeat,
            a.warmup,
            a.tls,
            tjson.join(", "),
            report::scenarios_json(&labels, &results)
        );
        std::fs::write(path, json).map_err(|e| format!("--json {}: {e}", path.display()))?;
    }
    let failed: usize = results.iter().flat_map(|s| &s.errors).map(Vec::len).sum();
    if failed > 0 {
        eprintln!("ftpbench: {failed} recorded round(s) failed (see ERROR lines above)");
    }
    Ok(failed == 0)
}
