//! The `ftpdlib` daemon: command-line flags (pyftpdlib's, see docs and `--help`) → [`Config`]
//! → [`IoLoop::run`].
//!
//! Startup errors (bad flag values, a missing directory, a port in use) are printed as one clear
//! line and exit with status 2, never as a panic. SIGINT and SIGTERM stop accepting, tell every
//! session `421`, and exit 0. SIGHUP rereads the TLS certificate and the users file.
//!
//! [`Config`]: ftpdlib::Config
//! [`IoLoop::run`]: ftpdlib::IoLoop::run

mod args;
mod check;
mod logging;
mod setup;

use std::net::SocketAddr;
use std::process::ExitCode;

use clap::Parser;
use ftpdlib::net::{default_listen_addr, display_addr};
use ftpdlib::{IoLoop, Server, TokenRange};

use args::Args;

fn run(args: Args) -> Result<(), String> {
    let (cfg, accounts) = setup::build_config(&args)?;
    let users = accounts.users.clone();
    let addr = match args.interface {
        Some(ip) => SocketAddr::new(ip, args.port),
        None => default_listen_addr(args.port),
    };
    let mut ioloop = IoLoop::new().map_err(|e| format!("cannot create event loop: {e}"))?;
    ioloop.set_shutdown_grace(args.shutdown_grace);
    let tls = cfg.tls.clone();
    // systemd socket activation: the control listener arrives as LISTEN_FDS.
    let activated = listenfd::ListenFd::from_env()
        .take_tcp_listener(0)
        .map_err(|e| format!("socket activation: {e}"))?;
    let mut server = match activated {
        Some(l) => {
            log::info!("using the control socket passed by systemd (LISTEN_FDS)");
            Server::new(cfg, l, ioloop.registry(), TokenRange::default())
        }
        None => Server::bind(cfg, addr, ioloop.registry(), TokenRange::default()),
    }
    .map_err(|e| e.to_string())?;
    let implicit = match args.tls_implicit_port {
        Some(port) => {
            let iaddr = SocketAddr::new(addr.ip(), port);
            let l = ftpdlib::net::listen(iaddr).map_err(|e| {
                ftpdlib::Error::Bind {
                    addr: iaddr,
                    source: e,
                }
                .to_string()
            })?;
            Some(
                server
                    .add_implicit_tls_listener(l, ioloop.registry())
                    .map_err(|e| e.to_string())?,
            )
        }
        None => None,
    };
    // Everything privileged is done: ports bound, keys and users loaded.
    setup::drop_privileges(args.run_as.as_deref(), &accounts, args.allow_root)?;
    let stop = ioloop.stop_handle();
    let mut signals = signal_hook::iterator::Signals::new([
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGHUP,
    ])
    .map_err(|e| format!("cannot install signal handlers: {e}"))?;
    std::thread::spawn(move || {
        for sig in signals.forever() {
            if sig == signal_hook::consts::SIGHUP {
                // Certificate rotation: new connections get the new pair.
                match tls.as_ref().map(|t| t.reload()) {
                    Some(Ok(())) => log::info!("SIGHUP: TLS certificate and key reloaded"),
                    Some(Err(e)) => log::error!("SIGHUP: {e}; keeping the old certificate"),
                    None => {}
                }
                // New logins see the new accounts; sessions already logged in continue.
                match users.as_ref().map(|u| u.reload()) {
                    Some(Ok(n)) => log::info!("SIGHUP: users file reloaded ({n} accounts)"),
                    Some(Err(e)) => log::error!("SIGHUP: {e}; keeping the old accounts"),
                    None => {}
                }
                continue;
            }
            log::info!("received signal {sig}, shutting down");
            stop.stop();
            break;
        }
    });
    log::info!(
        "ftpdlib {} (pid {}) serving {}: listening on {}",
        env!("CARGO_PKG_VERSION"),
        std::process::id(),
        args.directory
            .as_deref()
            .unwrap_or(std::path::Path::new("."))
            .display(),
        display_addr(server.local_addr())
    );
    if let Some(a) = implicit {
        log::info!("implicit FTPS listening on {}", display_addr(a));
    }
    ioloop
        .run(&mut server)
        .map_err(|e| format!("event loop failed: {e}"))?;
    log::info!("server stopped");
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    if args.check {
        return match check::run(&args) {
            Ok(warnings) => {
                println!("check passed ({warnings} warning(s))");
                ExitCode::SUCCESS
            }
            Err(e) => {
                println!("error: {e}");
                eprintln!("ftpdlib: error: {e}");
                ExitCode::from(2)
            }
        };
    }
    if let Some(args::Command::HashPassword) = args.command {
        return match setup::hash_password() {
            Ok(line) => {
                println!("{line}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("ftpdlib: error: {e}");
                ExitCode::from(2)
            }
        };
    }
    if let Err(e) = logging::init(
        args.debug,
        args.trace,
        args.log_file.as_deref(),
        args.log_format,
    ) {
        eprintln!("ftpdlib: error: {e}");
        return ExitCode::from(2);
    }
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ftpdlib: error: {e}");
            ExitCode::from(2)
        }
    }
}
