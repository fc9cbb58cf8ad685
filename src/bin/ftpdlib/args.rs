//! The daemon's command line: pyftpdlib's flags (see `shared/cli-contract.md`) plus ftpdlib's
//! own (FTPS, users file, bans, privilege drop), parsed with clap.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand};
use ftpdlib::config::parse_port_range;
use ftpdlib::Encoding;

/// A fast, secure FTP server (pyftpdlib-compatible flags).
#[derive(Debug, Clone, PartialEq, Parser)]
#[command(
    name = "ftpdlib",
    version,
    about,
    args_conflicts_with_subcommands = true
)]
pub struct Args {
    /// Address to listen on (IPv4 or IPv6, e.g. 127.0.0.1, ::1, ::). Default: all interfaces.
    #[arg(short = 'i', long = "interface", value_name = "ADDR")]
    pub interface: Option<IpAddr>,
    /// Control port; 0 picks a free port.
    #[arg(short = 'p', long = "port", default_value_t = 2121)]
    pub port: u16,
    /// Give the -u user (or anonymous) write permissions (elradfmwMT instead of elr).
    #[arg(short = 'w', long = "write")]
    pub write: bool,
    /// Root directory shared. Default: the current directory.
    #[arg(short = 'd', long = "directory", value_name = "PATH")]
    pub directory: Option<PathBuf>,
    /// Address advertised in PASV replies (masquerade, for NAT): an IP address, or a host
    /// name (dynamic DNS) resolved at start and every --nat-refresh seconds.
    #[arg(short = 'n', long = "nat-address", value_name = "ADDR|HOST")]
    pub nat_address: Option<ftpdlib::nat::NatHost>,
    /// How often a -n host name is looked up again, in seconds (0 = never); a failed lookup
    /// keeps the last address.
    #[arg(long, value_name = "SECONDS", default_value = "300", value_parser = seconds)]
    pub nat_refresh: Duration,
    /// Passive port range, e.g. 60000-60100.
    #[arg(short = 'r', long = "range", value_name = "FROM-TO", value_parser = parse_port_range)]
    pub range: Option<std::ops::RangeInclusive<u16>>,
    /// Debug logging: every command and reply (passwords masked).
    #[arg(short = 'D', long = "debug")]
    pub debug: bool,
    /// User name (disables anonymous login unless --anonymous).
    #[arg(short = 'u', long = "username", value_name = "NAME")]
    pub username: Option<String>,
    /// Password of the -u user.
    #[arg(short = 'P', long = "password", value_name = "PASS")]
    pub password: Option<String>,
    /// Also allow anonymous read-only login on the root when -u is given.
    #[arg(long)]
    pub anonymous: bool,
    /// Idle timeout of the control connection, in seconds (0 = none).
    #[arg(long, value_name = "SECONDS", default_value = "300", value_parser = seconds)]
    pub timeout: Duration,
    /// Stall timeout of a data transfer, in seconds (0 = none).
    #[arg(long, value_name = "SECONDS", default_value = "300", value_parser = seconds)]
    pub data_timeout: Duration,
    /// How long a PASV/PORT waits for the data connection, in seconds (0 = none).
    #[arg(long, value_name = "SECONDS", default_value = "30", value_parser = seconds)]
    pub passive_timeout: Duration,
    /// Greeting text after 220. Default: "ftpdlib VERSION ready.".
    #[arg(long, value_name = "TEXT")]
    pub banner: Option<String>,
    /// Allow data connections from/to other IPs than the control peer (FXP).
    #[arg(long)]
    pub permit_foreign_addresses: bool,
    /// Allow PORT to ports below 1024.
    #[arg(long)]
    pub permit_privileged_ports: bool,
    /// Path encoding on the wire: utf8 or latin-1.
    #[arg(long, value_name = "ENC", default_value = "utf8", value_parser = encoding)]
    pub encoding: Encoding,
    /// Show times in local time (TZ) instead of GMT: LIST, MDTM and MLSx `modify`.
    #[arg(long)]
    pub use_localtime: bool,
    /// Never use sendfile().
    #[arg(long)]
    pub disable_sendfile: bool,
    /// Maximum simultaneous control connections (0 = unlimited).
    #[arg(long, value_name = "N", default_value_t = 512)]
    pub max_cons: usize,
    /// Maximum control connections per client IP (0 = unlimited).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub max_cons_per_ip: usize,
    /// Failed logins before disconnect.
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_login_attempts: u32,
    /// Delay before answering a wrong PASS, in seconds.
    #[arg(long, value_name = "SECONDS", default_value = "3", value_parser = seconds)]
    pub auth_failed_delay: Duration,
    /// Throttle uploads, bytes per second per data connection (0 = unlimited).
    #[arg(long, value_name = "BYTES_PER_S", default_value_t = 0)]
    pub read_limit: u64,
    /// Throttle downloads, bytes per second per data connection (0 = unlimited).
    #[arg(long, value_name = "BYTES_PER_S", default_value_t = 0)]
    pub write_limit: u64,
    /// Enable FTPS: AUTH TLS on the control port (needs --certfile and --keyfile).
    #[arg(long)]
    pub tls: bool,
    /// PEM certificate chain for FTPS.
    #[arg(long, value_name = "PATH")]
    pub certfile: Option<PathBuf>,
    /// PEM private key (PKCS#8, RSA or EC) for FTPS.
    #[arg(long, value_name = "PATH")]
    pub keyfile: Option<PathBuf>,
    /// Refuse USER/PASS before AUTH TLS.
    #[arg(long)]
    pub tls_control_required: bool,
    /// Refuse data connections and transfers without PROT P.
    #[arg(long)]
    pub tls_data_required: bool,
    /// Also listen for implicit FTPS (TLS from the first byte) on this port.
    #[arg(long, value_name = "PORT")]
    pub tls_implicit_port: Option<u16>,
    /// Do not require data connections to resume the control connection's TLS session.
    #[arg(long)]
    pub no_tls_session_reuse: bool,
    /// Ask FTPS clients for a certificate issued by this CA (PEM); users bind one with
    /// cert_cn=/cert_sha256= in the users file.
    #[arg(long, value_name = "FILE")]
    pub tls_client_ca: Option<PathBuf>,
    /// With --tls-client-ca: request (clients without a certificate are let in; the default)
    /// or require (the TLS handshake fails without one).
    #[arg(long, value_name = "MODE", value_parser = ["request", "require"])]
    pub tls_client_cert: Option<String>,
    /// Accounts file: `name:password-hash:perms:home[:options]` per line (see README).
    #[arg(long, value_name = "FILE")]
    pub users_file: Option<PathBuf>,
    /// Decide each login by running this program: a JSON request on its stdin, a JSON answer
    /// on its stdout (docs/accounts.md). Not with --users-file.
    #[arg(long, value_name = "PATH")]
    pub auth_command: Option<PathBuf>,
    /// Seconds --auth-command may take before it is killed and the login fails.
    #[arg(long, value_name = "SECONDS", default_value = "5", value_parser = seconds)]
    pub auth_timeout: Duration,
    /// Seconds a successful --auth-command answer is reused for the same user, password and
    /// client (0 = never).
    #[arg(long, value_name = "SECONDS", default_value = "0", value_parser = seconds)]
    pub auth_cache: Duration,
    /// --auth-command programs running at once, at most.
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..))]
    pub auth_concurrency: u32,
    /// Ban an IP after this many failed logins within --ban-window (0 = never).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub ban_after: u32,
    /// How long a ban lasts, in seconds.
    #[arg(long, value_name = "SECONDS", default_value = "900", value_parser = seconds)]
    pub ban_time: Duration,
    /// The window in which --ban-after failures must happen, in seconds.
    #[arg(long, value_name = "SECONDS", default_value = "600", value_parser = seconds)]
    pub ban_window: Duration,
    /// After binding the ports and loading keys, switch to this user and its group.
    #[arg(long, value_name = "USER")]
    pub run_as: Option<String>,
    /// Allow running as root with write permissions (not recommended).
    #[arg(long)]
    pub allow_root: bool,
    /// Uploads write a hidden temporary file, renamed into place only when complete.
    #[arg(long)]
    pub atomic_uploads: bool,
    /// Remove what a failed upload left (a file it created or was replacing).
    #[arg(long)]
    pub delete_incomplete_uploads: bool,
    /// Trace the event loop: each connection's state and interest changes, next to the FTP
    /// dialogue (implies --debug).
    #[arg(long)]
    pub trace: bool,
    /// Least severe messages logged: error, warn, info, debug or trace (-D and --trace
    /// raise it to debug and trace).
    #[arg(long, value_name = "LEVEL", default_value = "info")]
    pub log_level: log::LevelFilter,
    /// Write the log to this file instead of stderr.
    #[arg(long, value_name = "PATH")]
    pub log_file: Option<PathBuf>,
    /// Log format: text, or json (one object per event, with a connection id).
    #[arg(long, value_name = "FORMAT", value_enum, default_value = "text")]
    pub log_format: crate::logging::LogFormat,
    /// Append one wu-ftpd xferlog line per transfer to this file.
    #[arg(long, value_name = "PATH")]
    pub xferlog: Option<PathBuf>,
    /// On SIGTERM/SIGINT, let running transfers finish for up to this many seconds.
    #[arg(long, value_name = "SECONDS", default_value = "0", value_parser = seconds)]
    pub shutdown_grace: Duration,
    /// Independent event loops (threads) sharing the port through SO_REUSEPORT; connection,
    /// per-IP and per-user limits and bans stay global.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub workers: usize,
    /// Threads per event loop for work that would block it (password hashing, listings of
    /// large directories, large uploads' writes, slow filesystem calls, file digests); they run
    /// at a lower CPU priority than the loop. 0 = none, do it on the loop. Default: the number
    /// of cores.
    #[arg(long, value_name = "N")]
    pub blocking_threads: Option<usize>,
    /// Their CPU priority: idle (Linux's idle class, so that any session's work goes first;
    /// lifted to nice +5 while other programs keep the cores busy) or low (nice +5).
    #[arg(long, value_name = "CLASS", default_value = "idle")]
    pub blocking_priority: ftpdlib::WorkerPriority,
    /// When the filesystem calls of commands (CWD, SIZE, DELE, RNTO...) run on those threads:
    /// auto (when a session's calls prove slow), always, never.
    #[arg(long, value_name = "WHEN", default_value = "auto")]
    pub offload_fs: ftpdlib::OffloadFs,
    /// The event loops' CPU class: normal, or realtime (Linux SCHED_FIFO, priority 1: no
    /// other program's thread delays a session's reply; needs root, CAP_SYS_NICE or
    /// RLIMIT_RTPRIO). A loaded loop then leaves other programs only 5% of its core.
    #[arg(long, value_name = "CLASS", default_value = "normal")]
    pub loop_priority: ftpdlib::LoopPriority,
    /// Under load, an event loop naps up to this many microseconds before it collects events,
    /// so that one wake-up serves several (clients on the same host then rarely have to wake
    /// it); adaptive, so an idle or lightly used daemon answers at once. 0 = never nap.
    #[arg(long, value_name = "MICROSECONDS", default_value_t = 50)]
    pub coalesce: u64,
    /// HASH and XCRC/XMD5/XSHA* refuse files larger than this (bytes, or with K, M, G, T);
    /// 0 = no limit.
    #[arg(long, value_name = "SIZE", default_value = "0", value_parser = size)]
    pub hash_max_size: u64,
    /// Refuse uploads (452) while the filesystem under the root has less free space than this:
    /// a size (500M, 10G) or a percentage of the filesystem (5%); 0 = no minimum.
    #[arg(long, value_name = "SIZE|PERCENT", default_value = "0")]
    pub min_free: ftpdlib::MinFree,
    /// Permission bits new files (0666 & !UMASK) and directories (0777 & !UMASK) are created
    /// without, octal; a user's umask= option overrides it. The daemon's own umask is cleared.
    #[arg(long, value_name = "OCTAL", default_value = "022", value_parser = umask)]
    pub umask: u32,
    /// Names (shell globs such as '*.tmp' or '.*') that look missing to every command and
    /// are left out of listings; repeatable.
    #[arg(long, value_name = "PATTERN")]
    pub hide: Vec<String>,
    /// Names (shell globs) that every operation refuses with 550; repeatable.
    #[arg(long, value_name = "PATTERN")]
    pub deny: Vec<String>,
    /// Clients in the network CIDR are told ADDR in PASV replies (e.g. the LAN address for
    /// 192.168.0.0/16, while -n gives the public one to everyone else); repeatable, first
    /// match wins.
    #[arg(long, value_name = "CIDR=ADDR", value_parser = nat_map)]
    pub nat_map: Vec<(ftpdlib::net::Cidr, std::net::IpAddr)>,
    /// Expect HAProxy's PROXY protocol (v1/v2) header on control connections (behind a load
    /// balancer); connections without one are closed.
    #[arg(long)]
    pub proxy_protocol: bool,
    /// Serve Prometheus metrics (/metrics) and health checks (/health, /ready) over HTTP on
    /// this address (e.g. 127.0.0.1:9121), from the FTP server's own event loop.
    #[arg(long, value_name = "ADDR:PORT")]
    pub metrics_listen: Option<std::net::SocketAddr>,
    /// Check the configuration (directory, accounts, TLS, every listener and passive port),
    /// print the PASV/EPSV replies clients will see, and exit 0 (ok) or 2 (error).
    #[arg(long)]
    pub check: bool,
    /// Read settings from this TOML file: keys are the long flag names (docs/ftpdlib.toml);
    /// flags and FTPDLIB_* variables override it. SIGHUP rereads it.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// A subcommand instead of running the server.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Subcommands of the daemon binary.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum Command {
    /// Read a password from the terminal (or standard input) and print its SHA-512-crypt
    /// (`$6$`) hash, for the second field of a users-file line.
    HashPassword,
    /// Print the shell completion script for bash, zsh, fish, elvish or powershell (e.g.
    /// `ftpdlib completions bash > /usr/share/bash-completion/completions/ftpdlib`).
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), e.g. `ftpdlib man > ftpdlib.8`.
    Man,
}

/// Parses a SIZE: bytes, or a number with K, M, G or T (powers of 1024).
pub fn size(s: &str) -> Result<u64, String> {
    ftpdlib::fs::parse_size(s)
        .ok_or_else(|| format!("{s:?} is not a size (bytes, or a number with K, M, G or T)"))
}

/// Parses `CIDR=ADDR` for --nat-map.
pub fn nat_map(s: &str) -> Result<(ftpdlib::net::Cidr, std::net::IpAddr), String> {
    let (net, addr) = s
        .split_once('=')
        .ok_or_else(|| format!("{s:?} is not CIDR=ADDR (e.g. 192.168.0.0/16=192.168.1.10)"))?;
    let addr: std::net::IpAddr = addr
        .trim()
        .parse()
        .map_err(|_| format!("{addr:?} in {s:?} is not an IP address"))?;
    Ok((net.parse()?, addr))
}

/// Parses an octal umask such as `022` or `0077`.
pub fn umask(s: &str) -> Result<u32, String> {
    u32::from_str_radix(s.trim(), 8)
        .ok()
        .filter(|m| *m <= 0o777 && !s.trim().is_empty() && s.trim().len() <= 4)
        .ok_or_else(|| format!("{s:?} is not an octal umask such as 022"))
}

/// Parses a SECONDS value: fractions allowed, never negative or infinite.
pub fn seconds(s: &str) -> Result<Duration, String> {
    let v: f64 = s
        .parse()
        .map_err(|_| format!("{s:?} is not a number of seconds"))?;
    Duration::try_from_secs_f64(v).map_err(|_| format!("{s:?} is not a valid number of seconds"))
}

pub fn encoding(s: &str) -> Result<Encoding, String> {
    match s.to_ascii_lowercase().as_str() {
        "utf8" | "utf-8" => Ok(Encoding::Utf8),
        "latin-1" | "latin1" | "iso-8859-1" => Ok(Encoding::Latin1),
        _ => Err(format!("unsupported encoding {s:?} (use utf8 or latin-1)")),
    }
}

/// `0` means "no timeout" for the timeouts of the CLI contract.
pub fn optional(d: Duration) -> Option<Duration> {
    (!d.is_zero()).then_some(d)
}

#[cfg(test)]
mod tests;
