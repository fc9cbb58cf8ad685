//! The `sessions` scenario: many short FTP sessions at once, driven by a few threads that each
//! run a mio event loop (non-blocking sockets), so that the client is not what limits the rate.
//!
//! One session is: connect, `220`, (with `--tls`: `AUTH TLS`, handshake, `PBSZ 0`, `PROT P`),
//! `USER`/`PASS`, `TYPE I`, `EPSV` (or `PASV`), data connect (TLS resuming the control
//! session), `RETR` of `--small-file` read to its end, `226`, `QUIT`, `221`. Its latency runs
//! from the `connect()` call to the `221`. The byte count of each download is checked against
//! the size the server reported.
//!
//! `--concurrency` sessions are in flight at any time (split across `--threads`); as one ends
//! the next starts, until `--count` have run. Each session must finish within `--op-timeout`
//! seconds, otherwise it counts as failed (with the step it was in). sessions/s is the number of
//! successful sessions divided by the wall time from the start of the first to the end of the
//! last.
//!
//! By default all `--concurrency` connects go out at once. A server whose listen backlog is
//! smaller then drops SYNs, and the kernel retries after 1 s: p99 near 1 s or 2 s, and a
//! `listen_overflows` count above zero, mean the accept queue overflowed (the counter is
//! host-wide). That is the server's behaviour under a burst; `--connect-window N` caps the
//! sessions waiting for their `220` to measure the steady state instead (like the referee's
//! `--connect-window auto`). The latency clock starts at `connect()`, after the window.

use std::collections::BTreeMap;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Registry, Token};
use rustls::ClientConfig;

use crate::nb::NbConn;
use crate::proto::{take_reply, Reply, Target};
use crate::tls;

/// What to run.
pub struct Params {
    /// The server.
    pub target: Target,
    /// File to download in each session.
    pub path: String,
    /// Its size.
    pub expect: u64,
    /// Sessions in total.
    pub count: usize,
    /// Sessions at once.
    pub concurrency: usize,
    /// Event-loop threads.
    pub threads: usize,
    /// Bound of one session.
    pub timeout: Duration,
    /// At most this many sessions between `connect()` and the `220` (0: no bound).
    pub connect_window: usize,
}

/// What happened.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Wall time of the whole run, s.
    pub wall_s: f64,
    /// Latency of each successful session, s, sorted.
    pub lat_s: Vec<f64>,
    /// Failed sessions.
    pub failed: usize,
    /// Failure reasons and their counts.
    pub errors: BTreeMap<String, usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Banner,
    Auth,
    Pbsz,
    Prot,
    User,
    Pass,
    Type,
    Passive,
    Retr,
    Transfer,
    Quit,
}

struct Sess {
    ctrl: NbConn,
    data: Option<NbConn>,
    step: Step,
    t0: Instant,
    deadline: Instant,
    cfg: Option<Arc<ClientConfig>>,
    got_226: bool,
    data_bytes: Option<u64>,
    /// Left the connect window (greeted, or ended before).
    greeted: bool,
}

/// Runs the scenario.
pub fn run(p: &Params) -> Outcome {
    let threads = p.threads.clamp(1, p.concurrency.max(1));
    let barrier = Barrier::new(threads + 1);
    let mut out = Outcome::default();
    let mut t0 = Instant::now();
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|i| {
                let count = share(p.count, threads, i);
                let conc = share(p.concurrency, threads, i).max(1);
                let window = match p.connect_window {
                    0 => usize::MAX,
                    w => share(w, threads, i).max(1),
                };
                let barrier = &barrier;
                s.spawn(move || worker(p, count, (conc, window), barrier))
            })
            .collect();
        barrier.wait();
        t0 = Instant::now();
        for h in handles {
            match h.join() {
                Ok(Ok(w)) => {
                    out.lat_s.extend(w.lat_s);
                    out.failed += w.failed;
                    for (k, v) in w.errors {
                        *out.errors.entry(k).or_default() += v;
                    }
                }
                Ok(Err(e)) => {
                    out.failed += 1;
                    *out.errors.entry(format!("event loop: {e}")).or_default() += 1;
                }
                Err(_) => *out.errors.entry("worker panicked".into()).or_default() += 1,
            }
        }
    });
    out.wall_s = t0.elapsed().as_secs_f64();
    out.lat_s.sort_by(f64::total_cmp);
    out
}

/// Part `i` of `n` split over `k`.
fn share(n: usize, k: usize, i: usize) -> usize {
    n / k + usize::from(i < n % k)
}

/// One event-loop thread: `count` sessions, `limits` = (in flight, connecting) at most.
fn worker(
    p: &Params,
    count: usize,
    limits: (usize, usize),
    barrier: &Barrier,
) -> io::Result<Outcome> {
    let (conc, window) = limits;
    let poll = Poll::new();
    barrier.wait();
    let mut poll = poll?;
    let mut events = Events::with_capacity(1024);
    let mut slots: Vec<Option<Sess>> = Vec::new();
    let mut free: Vec<usize> = Vec::new();
    let mut out = Outcome::default();
    let (mut started, mut live, mut done) = (0usize, 0usize, 0usize);
    // Sessions still waiting for their 220 (bounded by the connect window).
    let mut connecting = 0usize;
    let mut last_sweep = Instant::now();
    while done < count {
        while live < conc && started < count && connecting < window {
            started += 1;
            let idx = free.pop().unwrap_or_else(|| {
                slots.push(None);
                slots.len() - 1
            });
            match start(p, poll.registry(), idx) {
                Ok(s) => {
                    slots[idx] = Some(s);
                    live += 1;
                    connecting += 1;
                }
                Err(e) => {
                    free.push(idx);
                    done += 1;
                    fail(&mut out, format!("connect: {e}"));
                }
            }
        }
        if let Err(e) = poll.poll(&mut events, Some(Duration::from_millis(50))) {
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
        for ev in events.iter() {
            let idx = ev.token().0 >> 1;
            let Some(Some(s)) = slots.get_mut(idx) else {
                continue;
            };
            let res = advance(p, s, poll.registry(), idx);
            let ended = !matches!(res, Ok(false));
            if !s.greeted && (ended || s.step != Step::Banner) {
                s.greeted = true;
                connecting -= 1;
            }
            if let Some(r) = finished(res) {
                if let Some(mut s) = slots[idx].take() {
                    close(&mut s, poll.registry());
                    record(&mut out, &s, r);
                }
                free.push(idx);
                live -= 1;
                done += 1;
            }
        }
        if last_sweep.elapsed() >= Duration::from_millis(100) {
            last_sweep = Instant::now();
            for (idx, slot) in slots.iter_mut().enumerate() {
                if slot.as_ref().is_some_and(|s| s.deadline <= last_sweep) {
                    if let Some(mut s) = slot.take() {
                        if !s.greeted {
                            connecting -= 1;
                        }
                        close(&mut s, poll.registry());
                        let step = s.step;
                        record(&mut out, &s, Err(format!("{step:?}: session timeout")));
                    }
                    free.push(idx);
                    live -= 1;
                    done += 1;
                }
            }
        }
    }
    Ok(out)
}

/// `Some` when the session ended (successfully or not).
fn finished(r: Result<bool, String>) -> Option<Result<(), String>> {
    match r {
        Ok(true) => Some(Ok(())),
        Ok(false) => None,
        Err(e) => Some(Err(e)),
    }
}

fn record(out: &mut Outcome, s: &Sess, r: Result<(), String>) {
    match r {
        Ok(()) => out.lat_s.push(s.t0.elapsed().as_secs_f64()),
        Err(e) => fail(out, e),
    }
}

fn fail(out: &mut Outcome, e: String) {
    out.failed += 1;
    *out.errors.entry(e.chars().take(100).collect()).or_default() += 1;
}

fn start(p: &Params, reg: &Registry, idx: usize) -> io::Result<Sess> {
    let t0 = Instant::now();
    let mut sock = TcpStream::connect(p.target.addr)?;
    sock.set_nodelay(true)?;
    reg.register(
        &mut sock,
        Token(idx << 1),
        Interest::READABLE | Interest::WRITABLE,
    )?;
    Ok(Sess {
        ctrl: NbConn::new(sock, false),
        data: None,
        step: Step::Banner,
        t0,
        deadline: t0 + p.timeout,
        cfg: p.target.tls.as_deref().map(tls::per_session),
        got_226: false,
        data_bytes: None,
        greeted: false,
    })
}

fn close(s: &mut Sess, reg: &Registry) {
    let _ = reg.deregister(&mut s.ctrl.sock);
    if let Some(d) = &mut s.data {
        let _ = reg.deregister(&mut d.sock);
    }
}

/// Moves a session forward as far as its sockets allow; `Ok(true)` once it is complete.
fn advance(p: &Params, s: &mut Sess, reg: &Registry, idx: usize) -> Result<bool, String> {
    // Bounded: every pass consumes a reply or ends the data connection, else it returns.
    for _ in 0..1000 {
        let step = s.step;
        s.ctrl
            .pump()
            .map_err(|e| format!("{step:?}: control: {e}"))?;
        let mut progressed = false;
        if let Some(d) = &mut s.data {
            d.pump().map_err(|e| format!("{step:?}: data: {e}"))?;
            if d.eof {
                s.data_bytes = Some(d.received);
                let _ = reg.deregister(&mut d.sock);
                s.data = None;
                progressed = true;
            }
        }
        while let Some(r) = take_reply(&mut s.ctrl.inbuf).map_err(|e| format!("{step:?}: {e}"))? {
            progressed = true;
            if on_reply(p, s, reg, idx, &r)? {
                return Ok(true);
            }
        }
        if s.step == Step::Transfer && s.got_226 {
            if let Some(n) = s.data_bytes {
                if n != p.expect {
                    return Err(format!("Transfer: got {n} of {} bytes", p.expect));
                }
                send(s, "QUIT")?;
                s.step = Step::Quit;
                progressed = true;
            }
        }
        if s.ctrl.eof {
            return if s.step == Step::Quit {
                Ok(true)
            } else {
                Err(format!("{:?}: control connection closed by server", s.step))
            };
        }
        if !progressed {
            return Ok(false);
        }
    }
    Ok(false)
}

fn send(s: &mut Sess, line: &str) -> Result<(), String> {
    let mut msg = Vec::with_capacity(line.len() + 2);
    msg.extend_from_slice(line.as_bytes());
    msg.extend_from_slice(b"\r\n");
    s.ctrl
        .send(&msg)
        .map_err(|e| format!("{:?}: send: {e}", s.step))
}

/// Handles one reply; `Ok(true)` when the session is complete.
fn on_reply(
    p: &Params,
    s: &mut Sess,
    reg: &Registry,
    idx: usize,
    r: &Reply,
) -> Result<bool, String> {
    let t = &p.target;
    let (next, line): (Step, Option<String>) = match (s.step, r.code) {
        (Step::Banner, 120) => (Step::Banner, None),
        (Step::Banner, 220) if s.cfg.is_some() => (Step::Auth, Some("AUTH TLS".into())),
        (Step::Auth, 234) => {
            if let Some(cfg) = &s.cfg {
                s.ctrl.start_tls(cfg, &t.sni)?;
            }
            (Step::Pbsz, Some("PBSZ 0".into()))
        }
        (Step::Pbsz, 200) => (Step::Prot, Some("PROT P".into())),
        (Step::Banner, 220) | (Step::Prot, 200) => (Step::User, Some(format!("USER {}", t.user))),
        (Step::User, 331) => (Step::Pass, Some(format!("PASS {}", t.password))),
        (Step::User, 230) | (Step::Pass, 230 | 202) => (Step::Type, Some("TYPE I".into())),
        (Step::Type, 200) => (Step::Passive, Some(t.passive_cmd().into())),
        (Step::Passive, 227 | 229) => {
            open_data(s, t, t.data_addr(r)?, reg, idx)?;
            (Step::Retr, Some(format!("RETR {}", p.path)))
        }
        (Step::Retr, 125 | 150) => (Step::Transfer, None),
        (Step::Retr | Step::Transfer, 226 | 250) => {
            s.got_226 = true;
            (Step::Transfer, None)
        }
        (Step::Quit, 221) => return Ok(true),
        (step, _) => return Err(format!("{step:?}: unexpected reply {}", r.short())),
    };
    s.step = next;
    if let Some(line) = line {
        send(s, &line)?;
    }
    Ok(false)
}

fn open_data(
    s: &mut Sess,
    t: &Target,
    addr: SocketAddr,
    reg: &Registry,
    idx: usize,
) -> Result<(), String> {
    let err = |e: io::Error| format!("Passive: data connect {addr}: {e}");
    let mut sock = TcpStream::connect(addr).map_err(err)?;
    reg.register(
        &mut sock,
        Token(idx << 1 | 1),
        Interest::READABLE | Interest::WRITABLE,
    )
    .map_err(err)?;
    let mut d = NbConn::new(sock, true);
    if let Some(cfg) = &s.cfg {
        d.start_tls(cfg, &t.sni)?;
    }
    s.data = Some(d);
    Ok(())
}
