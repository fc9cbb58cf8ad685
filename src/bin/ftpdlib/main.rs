//! The `ftpdlib` daemon: command-line flags (pyftpdlib's, see docs and `--help`) → [`Config`]
//! → [`IoLoop::run`].
//!
//! Startup errors (bad flag values, a missing directory, a port in use) are printed as one clear
//! line and exit with status 2, never as a panic. SIGINT and SIGTERM stop accepting, tell every
//! session `421`, and exit 0. SIGHUP rereads the settings, `--config` file included, for new
//! sessions (`reload`).
//!
//! [`Config`]: ftpdlib::Config
//! [`IoLoop::run`]: ftpdlib::IoLoop::run

/// `println!` that ignores a closed standard output (`ftpdlib --check | head`) instead of
/// panicking: the printed report is a courtesy, the exit status is the answer.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

mod args;
mod check;
mod config_file;
mod layers;
mod logging;
mod manual;
mod reload;
mod setup;

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use ftpdlib::net::{default_listen_addr, display_addr};
use ftpdlib::state::Shared;
use ftpdlib::{IoLoop, LiveConfig, Server, StopHandle, TokenRange};

use args::Args;

/// Binds a control (or implicit TLS) listener: shared with SO_REUSEPORT when several
/// workers serve the same port.
fn bind(addr: SocketAddr, shared_port: bool) -> Result<std::net::TcpListener, String> {
    let bound = if shared_port {
        ftpdlib::net::listen_reuseport(addr)
    } else {
        ftpdlib::net::listen(addr)
    };
    bound.map_err(|source| ftpdlib::Error::Bind { addr, source }.to_string())
}

/// One event loop with its server, ready to run on a thread.
struct Worker {
    ioloop: IoLoop,
    server: Server,
}

/// The control listener: the socket systemd passed (LISTEN_FDS), or a new one; and, when
/// several workers share systemd's socket, a duplicate for them.
fn control_listener(
    args: &Args,
    workers: usize,
) -> Result<(std::net::TcpListener, Option<std::net::TcpListener>), String> {
    let addr = match args.interface {
        Some(ip) => SocketAddr::new(ip, args.port),
        None => default_listen_addr(args.port),
    };
    // systemd socket activation: the control listener arrives as LISTEN_FDS.
    let activated = listenfd::ListenFd::from_env()
        .take_tcp_listener(0)
        .map_err(|e| format!("socket activation: {e}"))?;
    let Some(first) = activated else {
        if workers > 1 && addr.port() != 0 {
            // SO_REUSEPORT would let us join another daemon's port silently: make sure
            // nobody else listens there first.
            drop(bind(addr, false)?);
        }
        return Ok((bind(addr, workers > 1)?, None));
    };
    log::info!("using the control socket passed by systemd (LISTEN_FDS)");
    // Extra workers: the socket systemd passed is shared (duplicated); otherwise each worker
    // binds its own SO_REUSEPORT socket and the kernel spreads connections across them.
    let shared_socket = if workers > 1 {
        let dup = first
            .try_clone()
            .map_err(|e| format!("cannot share the socket: {e}"))?;
        Some(dup)
    } else {
        None
    };
    Ok((first, shared_socket))
}

/// The running daemon's workers, with the control and implicit FTPS addresses.
struct Pool {
    workers: Vec<Worker>,
    local: SocketAddr,
    implicit: Option<SocketAddr>,
    /// The HTTP status endpoint (`--metrics-listen`).
    metrics: Option<SocketAddr>,
}

/// One event loop and server per worker, all sharing `live` and `shared`.
fn start_workers(args: &Args, live: &Arc<LiveConfig>, workers: usize) -> Result<Pool, String> {
    let shared = Arc::new(Shared::default());
    let (first, shared_socket) = control_listener(args, workers)?;
    let local = first.local_addr().map_err(|e| e.to_string())?;
    let mut first = Some(first);
    let mut implicit = None;
    let mut pool = Vec::with_capacity(workers);
    for _ in 0..workers {
        let listener = match (first.take(), &shared_socket) {
            (Some(l), _) => l,
            (None, Some(s)) => s
                .try_clone()
                .map_err(|e| format!("cannot share the socket: {e}"))?,
            (None, None) => bind(local, true)?,
        };
        let mut ioloop = IoLoop::new().map_err(|e| format!("cannot create event loop: {e}"))?;
        ioloop.set_shutdown_grace(args.shutdown_grace);
        ioloop.set_coalesce(std::time::Duration::from_micros(args.coalesce));
        let mut server = Server::with_live(
            Arc::clone(live),
            Arc::clone(&shared),
            listener,
            ioloop.registry(),
            TokenRange::default(),
        )
        .map_err(|e| e.to_string())?;
        if let Some(port) = args.tls_implicit_port {
            // With several workers, the first one fixes the port (0 = any) for the others.
            let iaddr =
                SocketAddr::new(local.ip(), implicit.map_or(port, |a: SocketAddr| a.port()));
            let l = bind(iaddr, workers > 1)?;
            let a = server
                .add_implicit_tls_listener(l, ioloop.registry())
                .map_err(|e| e.to_string())?;
            implicit.get_or_insert(a);
        }
        pool.push(Worker { ioloop, server });
    }
    // One status endpoint for all workers: they share the counters.
    let metrics = match (args.metrics_listen, pool.first_mut()) {
        (Some(addr), Some(w)) => {
            let l =
                ftpdlib::net::listen(addr).map_err(|e| format!("cannot listen on {addr}: {e}"))?;
            let registry = w.ioloop.registry();
            Some(
                w.server
                    .add_metrics_listener(l, registry)
                    .map_err(|e| e.to_string())?,
            )
        }
        _ => None,
    };
    Ok(Pool {
        workers: pool,
        local,
        implicit,
        metrics,
    })
}

/// The `listening on` line that tools wait for: logged even when --log-level hides ordinary
/// info lines.
fn log_startup(args: &Args, pool: &Pool) {
    let startup = args
        .log_level
        .to_level()
        .map_or(log::Level::Error, |l| l.min(log::Level::Info));
    let n = pool.workers.len();
    log::log!(
        startup,
        "ftpdlib {} (pid {}, {} worker{}) serving {}: listening on {}",
        env!("CARGO_PKG_VERSION"),
        std::process::id(),
        n,
        if n == 1 { "" } else { "s" },
        args.directory
            .as_deref()
            .unwrap_or(std::path::Path::new("."))
            .display(),
        display_addr(pool.local)
    );
    if let Some(a) = pool.implicit {
        log::log!(startup, "implicit FTPS listening on {}", display_addr(a));
    }
    if let Some(a) = pool.metrics {
        log::log!(startup, "metrics on http://{}/metrics", display_addr(a));
    }
}

/// Runs the first worker's loop on this thread and the others on their own, until all stop.
fn serve(mut workers: Vec<Worker>) -> Result<(), String> {
    if workers.is_empty() {
        return Ok(());
    }
    let mut main_worker = workers.remove(0);
    let threads: Vec<_> = workers
        .into_iter()
        .enumerate()
        .map(|(i, mut w)| {
            std::thread::Builder::new()
                .name(format!("ftpdlib-worker-{}", i + 1))
                .spawn(move || w.ioloop.run(&mut w.server))
        })
        .collect::<Result<_, _>>()
        .map_err(|e| format!("cannot start worker thread: {e}"))?;
    let result = main_worker.ioloop.run(&mut main_worker.server);
    for t in threads {
        match t.join() {
            Ok(Err(e)) => log::error!("worker loop failed: {e}"),
            Err(_) => log::error!("worker thread panicked"),
            Ok(Ok(())) => {}
        }
    }
    result.map_err(|e| format!("event loop failed: {e}"))
}

fn run(args: Args, argv: Vec<std::ffi::OsString>) -> Result<(), String> {
    let (cfg, accounts) = setup::build_config(&args)?;
    let live = Arc::new(LiveConfig::new(Arc::new(cfg)));
    let pool = start_workers(&args, &live, args.workers.max(1))?;
    let stops: Vec<_> = pool
        .workers
        .iter()
        .map(|w| w.ioloop.stop_handle())
        .collect();
    let running = reload::Running {
        argv,
        args: args.clone(),
        live,
        users: accounts.users.clone(),
    };
    handle_signals(running, stops)?;
    if args.loop_priority == ftpdlib::LoopPriority::Realtime {
        // After the helper threads (pools, signals) started, before the loops' threads do
        // (they inherit it) and while the privilege to ask for it is still there.
        ftpdlib::ioloop::pool::set_realtime().map_err(|e| {
            format!("--loop-priority realtime: {e} (needs root, CAP_SYS_NICE or RLIMIT_RTPRIO)")
        })?;
        log::info!("event loops in the real-time class (SCHED_FIFO, priority 1)");
    }
    // Everything privileged is done: ports bound, keys and users loaded.
    setup::drop_privileges(args.run_as.as_deref(), &accounts, args.allow_root)?;
    log_startup(&args, &pool);
    serve(pool.workers)?;
    log::info!("server stopped");
    Ok(())
}

/// SIGHUP reloads the configuration (`reload`); SIGINT and SIGTERM stop every loop.
fn handle_signals(mut running: reload::Running, stops: Vec<StopHandle>) -> Result<(), String> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])
        .map_err(|e| format!("cannot install signal handlers: {e}"))?;
    std::thread::spawn(move || {
        for sig in signals.forever() {
            if sig == SIGHUP {
                running.reload();
                continue;
            }
            log::info!("received signal {sig}, shutting down");
            for stop in &stops {
                stop.stop();
            }
            break;
        }
    });
    Ok(())
}

/// A startup error: one line on stderr, exit status 2.
fn fail(e: impl std::fmt::Display) -> ExitCode {
    eprintln!("ftpdlib: error: {e}");
    ExitCode::from(2)
}

/// Runs a subcommand (`hash-password`, `completions`, `man`).
fn subcommand(command: &args::Command) -> ExitCode {
    match command {
        args::Command::Completions { shell } => {
            manual::completions(*shell, &mut std::io::stdout());
            ExitCode::SUCCESS
        }
        args::Command::Man => match manual::man(&mut std::io::stdout()) {
            // `ftpdlib man | head`: the reader had enough.
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
            Err(e) => fail(e),
            Ok(()) => ExitCode::SUCCESS,
        },
        args::Command::HashPassword => match setup::hash_password() {
            Ok(line) => {
                out!("{line}");
                ExitCode::SUCCESS
            }
            Err(e) => fail(e),
        },
    }
}

/// `--check`: the report on stdout, exit 0 or 2.
fn check_only(args: &Args) -> ExitCode {
    match check::run(args) {
        Ok(warnings) => {
            out!("check passed ({warnings} warning(s))");
            ExitCode::SUCCESS
        }
        Err(e) => {
            out!("error: {e}");
            fail(e)
        }
    }
}

fn main() -> ExitCode {
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let args = match layers::load(&argv) {
        Ok(args) => args,
        Err(layers::LoadError::Cli(e)) => e.exit(),
        Err(layers::LoadError::File(e)) => {
            if argv.iter().any(|a| a == "--check") {
                out!("error: {e}");
            }
            return fail(e);
        }
    };
    if args.check {
        return check_only(&args);
    }
    if let Some(command) = &args.command {
        return subcommand(command);
    }
    if let Err(e) = logging::init(
        args.log_level,
        args.debug,
        args.trace,
        args.log_file.as_deref(),
        args.log_format,
    ) {
        return fail(e);
    }
    run(args, argv).map_or_else(fail, |()| ExitCode::SUCCESS)
}
