//! The `ftpdlib` daemon: command-line flags (pyftpdlib's, see docs and `--help`) → [`Config`]
//! → [`IoLoop::run`].
//!
//! Startup errors (bad flag values, a missing directory, a port in use) are printed as one clear
//! line and exit with status 2, never as a panic. SIGINT and SIGTERM stop accepting, tell every
//! session `421`, and exit 0.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use ftpdlib::config::parse_port_range;
use ftpdlib::net::{default_listen_addr, display_addr};
use ftpdlib::tls::TlsSettings;
use ftpdlib::{Config, Encoding, IoLoop, MemoryAuthorizer, Perms, Server, TokenRange};

/// A fast, secure FTP server (pyftpdlib-compatible flags).
#[derive(Debug, Parser)]
#[command(name = "ftpdlib", version, about)]
struct Args {
    /// Address to listen on (IPv4 or IPv6, e.g. 127.0.0.1, ::1, ::). Default: all interfaces.
    #[arg(short = 'i', long = "interface", value_name = "ADDR")]
    interface: Option<IpAddr>,
    /// Control port; 0 picks a free port.
    #[arg(short = 'p', long = "port", default_value_t = 2121)]
    port: u16,
    /// Give the -u user (or anonymous) write permissions (elradfmwMT instead of elr).
    #[arg(short = 'w', long = "write")]
    write: bool,
    /// Root directory shared. Default: the current directory.
    #[arg(short = 'd', long = "directory", value_name = "PATH")]
    directory: Option<PathBuf>,
    /// Address advertised in PASV replies (masquerade, for NAT).
    #[arg(short = 'n', long = "nat-address", value_name = "ADDR")]
    nat_address: Option<IpAddr>,
    /// Passive port range, e.g. 60000-60100.
    #[arg(short = 'r', long = "range", value_name = "FROM-TO", value_parser = parse_port_range)]
    range: Option<std::ops::RangeInclusive<u16>>,
    /// Debug logging: every command and reply (passwords masked).
    #[arg(short = 'D', long = "debug")]
    debug: bool,
    /// User name (disables anonymous login unless --anonymous).
    #[arg(short = 'u', long = "username", value_name = "NAME")]
    username: Option<String>,
    /// Password of the -u user.
    #[arg(short = 'P', long = "password", value_name = "PASS")]
    password: Option<String>,
    /// Also allow anonymous read-only login on the root when -u is given.
    #[arg(long)]
    anonymous: bool,
    /// Idle timeout of the control connection, in seconds (0 = none).
    #[arg(long, value_name = "SECONDS", default_value = "300", value_parser = seconds)]
    timeout: Duration,
    /// Stall timeout of a data transfer, in seconds (0 = none).
    #[arg(long, value_name = "SECONDS", default_value = "300", value_parser = seconds)]
    data_timeout: Duration,
    /// How long a PASV/PORT waits for the data connection, in seconds (0 = none).
    #[arg(long, value_name = "SECONDS", default_value = "30", value_parser = seconds)]
    passive_timeout: Duration,
    /// Greeting text after 220. Default: "ftpdlib VERSION ready.".
    #[arg(long, value_name = "TEXT")]
    banner: Option<String>,
    /// Allow data connections from/to other IPs than the control peer (FXP).
    #[arg(long)]
    permit_foreign_addresses: bool,
    /// Allow PORT to ports below 1024.
    #[arg(long)]
    permit_privileged_ports: bool,
    /// Path encoding on the wire: utf8 or latin-1.
    #[arg(long, value_name = "ENC", default_value = "utf8", value_parser = encoding)]
    encoding: Encoding,
    /// Show listing times in local time (TZ) instead of GMT.
    #[arg(long)]
    use_localtime: bool,
    /// Never use sendfile().
    #[arg(long)]
    disable_sendfile: bool,
    /// Maximum simultaneous control connections (0 = unlimited).
    #[arg(long, value_name = "N", default_value_t = 512)]
    max_cons: usize,
    /// Maximum control connections per client IP (0 = unlimited).
    #[arg(long, value_name = "N", default_value_t = 0)]
    max_cons_per_ip: usize,
    /// Failed logins before disconnect.
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
    max_login_attempts: u32,
    /// Delay before answering a wrong PASS, in seconds.
    #[arg(long, value_name = "SECONDS", default_value = "3", value_parser = seconds)]
    auth_failed_delay: Duration,
    /// Throttle uploads, bytes per second per data connection (0 = unlimited).
    #[arg(long, value_name = "BYTES_PER_S", default_value_t = 0)]
    read_limit: u64,
    /// Throttle downloads, bytes per second per data connection (0 = unlimited).
    #[arg(long, value_name = "BYTES_PER_S", default_value_t = 0)]
    write_limit: u64,
    /// Enable FTPS: AUTH TLS on the control port (needs --certfile and --keyfile).
    #[arg(long)]
    tls: bool,
    /// PEM certificate chain for FTPS.
    #[arg(long, value_name = "PATH")]
    certfile: Option<PathBuf>,
    /// PEM private key (PKCS#8, RSA or EC) for FTPS.
    #[arg(long, value_name = "PATH")]
    keyfile: Option<PathBuf>,
    /// Refuse USER/PASS before AUTH TLS.
    #[arg(long)]
    tls_control_required: bool,
    /// Refuse data connections and transfers without PROT P.
    #[arg(long)]
    tls_data_required: bool,
    /// Also listen for implicit FTPS (TLS from the first byte) on this port.
    #[arg(long, value_name = "PORT")]
    tls_implicit_port: Option<u16>,
    /// Do not require data connections to resume the control connection's TLS session.
    #[arg(long)]
    no_tls_session_reuse: bool,
}

/// Parses a SECONDS value: fractions allowed, never negative or infinite.
fn seconds(s: &str) -> Result<Duration, String> {
    let v: f64 = s
        .parse()
        .map_err(|_| format!("{s:?} is not a number of seconds"))?;
    Duration::try_from_secs_f64(v).map_err(|_| format!("{s:?} is not a valid number of seconds"))
}

fn encoding(s: &str) -> Result<Encoding, String> {
    match s.to_ascii_lowercase().as_str() {
        "utf8" | "utf-8" => Ok(Encoding::Utf8),
        "latin-1" | "latin1" | "iso-8859-1" => Ok(Encoding::Latin1),
        _ => Err(format!("unsupported encoding {s:?} (use utf8 or latin-1)")),
    }
}

/// `0` means "no timeout" for the timeouts of the CLI contract.
fn optional(d: Duration) -> Option<Duration> {
    (!d.is_zero()).then_some(d)
}

fn build_config(args: &Args) -> Result<Config, String> {
    let dir = match &args.directory {
        Some(d) => d.clone(),
        None => {
            std::env::current_dir().map_err(|e| format!("cannot read current directory: {e}"))?
        }
    };
    let root =
        std::fs::canonicalize(&dir).map_err(|e| format!("directory {}: {e}", dir.display()))?;
    if !root.is_dir() {
        return Err(format!("{} is not a directory", dir.display()));
    }
    let mut auth = MemoryAuthorizer::new();
    let write = if args.write {
        Perms::ALL
    } else {
        Perms::READ_ONLY
    };
    match (&args.username, &args.password) {
        (Some(user), Some(pass)) => {
            auth.add_user(user, pass, &root, &write.to_string())
                .map_err(|e| e.to_string())?;
            if args.anonymous {
                auth.add_anonymous(&root, &Perms::READ_ONLY.to_string())
                    .map_err(|e| e.to_string())?;
            }
        }
        (Some(_), None) => return Err("-u/--username needs -P/--password".into()),
        (None, Some(_)) => return Err("-P/--password needs -u/--username".into()),
        (None, None) => {
            auth.add_anonymous(&root, &write.to_string())
                .map_err(|e| e.to_string())?;
        }
    }
    let mut cfg = Config::new(Arc::new(auth));
    if let Some(b) = &args.banner {
        cfg.banner = b.clone();
    }
    cfg.idle_timeout = optional(args.timeout);
    cfg.data_timeout = optional(args.data_timeout);
    cfg.passive_timeout = optional(args.passive_timeout);
    cfg.auth_failed_delay = args.auth_failed_delay;
    cfg.max_login_attempts = args.max_login_attempts;
    cfg.max_cons = args.max_cons;
    cfg.max_cons_per_ip = args.max_cons_per_ip;
    cfg.use_localtime = args.use_localtime;
    cfg.masquerade_address = args.nat_address;
    cfg.passive_ports = args.range.clone();
    cfg.permit_foreign_addresses = args.permit_foreign_addresses;
    cfg.permit_privileged_ports = args.permit_privileged_ports;
    cfg.use_sendfile = !args.disable_sendfile;
    cfg.read_limit = args.read_limit;
    cfg.write_limit = args.write_limit;
    cfg.encoding = args.encoding;
    cfg.debug_commands = args.debug;
    cfg.tls = tls_settings(args)?;
    cfg.validate().map_err(|e| e.to_string())?;
    Ok(cfg)
}

/// The FTPS settings from the flags; a missing or mismatched pair is a startup error.
fn tls_settings(args: &Args) -> Result<Option<Arc<TlsSettings>>, String> {
    let wants_tls = args.tls
        || args.tls_implicit_port.is_some()
        || args.tls_control_required
        || args.tls_data_required;
    if !wants_tls {
        if args.certfile.is_some() || args.keyfile.is_some() {
            return Err("--certfile/--keyfile need --tls (or --tls-implicit-port)".into());
        }
        return Ok(None);
    }
    let (Some(cert), Some(key)) = (&args.certfile, &args.keyfile) else {
        return Err("FTPS needs both --certfile and --keyfile".into());
    };
    let mut settings = TlsSettings::load(cert, key).map_err(|e| e.to_string())?;
    settings.control_required = args.tls_control_required;
    settings.data_required = args.tls_data_required;
    settings.require_session_reuse = !args.no_tls_session_reuse;
    Ok(Some(Arc::new(settings)))
}

fn init_logging(debug: bool) {
    let level = if debug {
        simplelog::LevelFilter::Debug
    } else {
        simplelog::LevelFilter::Info
    };
    let config = simplelog::ConfigBuilder::new()
        .set_target_level(simplelog::LevelFilter::Off)
        .set_thread_level(simplelog::LevelFilter::Off)
        .build();
    // Only fails if a logger is already set, which cannot happen here.
    let _ = simplelog::WriteLogger::init(level, config, std::io::stderr());
}

fn run(args: Args) -> Result<(), String> {
    let cfg = build_config(&args)?;
    let addr = match args.interface {
        Some(ip) => SocketAddr::new(ip, args.port),
        None => default_listen_addr(args.port),
    };
    let mut ioloop = IoLoop::new().map_err(|e| format!("cannot create event loop: {e}"))?;
    let tls = cfg.tls.clone();
    let mut server = Server::bind(cfg, addr, ioloop.registry(), TokenRange::default())
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
                    None => log::info!("SIGHUP: nothing to reload"),
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
    init_logging(args.debug);
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ftpdlib: error: {e}");
            ExitCode::from(2)
        }
    }
}
