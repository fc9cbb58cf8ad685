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

fn run(args: Args, argv: Vec<std::ffi::OsString>) -> Result<(), String> {
    let (cfg, accounts) = setup::build_config(&args)?;
    let live = Arc::new(LiveConfig::new(Arc::new(cfg)));
    let shared = Arc::new(Shared::default());
    let workers = args.workers.max(1);
    let addr = match args.interface {
        Some(ip) => SocketAddr::new(ip, args.port),
        None => default_listen_addr(args.port),
    };
    // systemd socket activation: the control listener arrives as LISTEN_FDS.
    let activated = listenfd::ListenFd::from_env()
        .take_tcp_listener(0)
        .map_err(|e| format!("socket activation: {e}"))?;
    if activated.is_some() {
        log::info!("using the control socket passed by systemd (LISTEN_FDS)");
    }
    let from_systemd = activated.is_some();
    let first = match activated {
        Some(l) => l,
        None => {
            if workers > 1 && addr.port() != 0 {
                // SO_REUSEPORT would let us join another daemon's port silently: make sure
                // nobody else listens there first.
                drop(bind(addr, false)?);
            }
            bind(addr, workers > 1)?
        }
    };
    let local = first.local_addr().map_err(|e| e.to_string())?;
    // Extra workers: the socket systemd passed is shared (duplicated); otherwise each worker
    // binds its own SO_REUSEPORT socket and the kernel spreads connections across them.
    let shared_socket = if from_systemd && workers > 1 {
        Some(
            first
                .try_clone()
                .map_err(|e| format!("cannot share the socket: {e}"))?,
        )
    } else {
        None
    };
    let mut first = Some(first);
    let mut implicit_addr = None;
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
        let mut server = Server::with_live(
            Arc::clone(&live),
            Arc::clone(&shared),
            listener,
            ioloop.registry(),
            TokenRange::default(),
        )
        .map_err(|e| e.to_string())?;
        if let Some(port) = args.tls_implicit_port {
            // With several workers, the first one fixes the port (0 = any) for the others.
            let iaddr = SocketAddr::new(
                local.ip(),
                implicit_addr.map_or(port, |a: SocketAddr| a.port()),
            );
            let l = bind(iaddr, workers > 1)?;
            let a = server
                .add_implicit_tls_listener(l, ioloop.registry())
                .map_err(|e| e.to_string())?;
            implicit_addr.get_or_insert(a);
        }
        pool.push(Worker { ioloop, server });
    }
    // Everything privileged is done: ports bound, keys and users loaded.
    setup::drop_privileges(args.run_as.as_deref(), &accounts, args.allow_root)?;
    let stops: Vec<_> = pool.iter().map(|w| w.ioloop.stop_handle()).collect();
    let running = reload::Running {
        argv,
        args: args.clone(),
        live,
        users: accounts.users.clone(),
    };
    handle_signals(running, stops)?;
    // Tools wait for this line: log it even when --log-level hides ordinary info lines.
    let startup = args
        .log_level
        .to_level()
        .map_or(log::Level::Error, |l| l.min(log::Level::Info));
    log::log!(
        startup,
        "ftpdlib {} (pid {}, {} worker{}) serving {}: listening on {}",
        env!("CARGO_PKG_VERSION"),
        std::process::id(),
        workers,
        if workers == 1 { "" } else { "s" },
        args.directory
            .as_deref()
            .unwrap_or(std::path::Path::new("."))
            .display(),
        display_addr(local)
    );
    if let Some(a) = implicit_addr {
        log::log!(startup, "implicit FTPS listening on {}", display_addr(a));
    }
    let mut main_worker = pool.remove(0);
    let threads: Vec<_> = pool
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
    result.map_err(|e| format!("event loop failed: {e}"))?;
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
        args::Command::Man => {
            manual::man(&mut std::io::stdout()).map_or_else(fail, |()| ExitCode::SUCCESS)
        }
        args::Command::HashPassword => match setup::hash_password() {
            Ok(line) => {
                println!("{line}");
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
            println!("check passed ({warnings} warning(s))");
            ExitCode::SUCCESS
        }
        Err(e) => {
            println!("error: {e}");
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
                println!("error: {e}");
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
