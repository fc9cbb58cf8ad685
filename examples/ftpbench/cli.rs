//! Command-line flags of ftpbench.

use std::path::PathBuf;

use clap::Parser;

/// Load generator and benchmark for FTP servers (loopback or LAN), with an optional baseline
/// server measured in the same run, round by round.
#[derive(Parser, Debug, Clone)]
#[command(
    name = "ftpbench",
    after_help = "Example: cargo run --release --example ftpbench -- --port 2121 --user u \
                  --password p --server-pid $(pgrep -n ftpdlib) --scenario sessions \
                  --baseline-port 2122 --prepare"
)]
pub struct Args {
    /// Server address.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Server control port.
    #[arg(long)]
    pub port: u16,
    /// Login name.
    #[arg(long, default_value = "anonymous")]
    pub user: String,
    /// Password.
    #[arg(long, default_value = "ftpbench@")]
    pub password: String,
    /// Server process id: adds server CPU and memory figures (read from /proc).
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// Column title of the server (default: the first word of its 220 greeting).
    #[arg(long)]
    pub label: Option<String>,

    /// Explicit FTPS: AUTH TLS, PBSZ 0, PROT P on every session.
    #[arg(long)]
    pub tls: bool,
    /// With --tls: accept any server certificate.
    #[arg(long)]
    pub insecure: bool,
    /// With --tls: trust the certificates in this PEM file.
    #[arg(long, value_name = "PEM")]
    pub ca_file: Option<PathBuf>,
    /// With --tls: server name for SNI and the certificate check (default: --host).
    #[arg(long)]
    pub sni: Option<String>,
    /// Use PASV instead of EPSV.
    #[arg(long)]
    pub pasv: bool,

    /// A second server to compare with, measured in the same run (same host).
    #[arg(long)]
    pub baseline_port: Option<u16>,
    /// Baseline host (default: --host).
    #[arg(long)]
    pub baseline_host: Option<String>,
    /// Baseline login (default: --user).
    #[arg(long)]
    pub baseline_user: Option<String>,
    /// Baseline password (default: --password).
    #[arg(long)]
    pub baseline_password: Option<String>,
    /// Baseline process id.
    #[arg(long)]
    pub baseline_pid: Option<u32>,
    /// With --tls: talk to the baseline in plain FTP (e.g. the same server without TLS, to see
    /// what TLS costs).
    #[arg(long)]
    pub baseline_plain: bool,
    /// Column title of the baseline.
    #[arg(long)]
    pub baseline_label: Option<String>,

    /// Scenarios: all, or a comma list of idle, retr, stor, sessions, list, churn, stall (all
    /// leaves stall out; --stall-load picks its kinds).
    #[arg(long, default_value = "all")]
    pub scenario: String,
    /// Recorded rounds per scenario; each round runs every server once, order alternating.
    #[arg(long, default_value_t = 5)]
    pub repeat: usize,
    /// Unrecorded rounds before the recorded ones (not for idle).
    #[arg(long, default_value_t = 0)]
    pub warmup: usize,
    /// Create the files the scenarios need on the server(s) first (uploads).
    #[arg(long)]
    pub prepare: bool,
    /// The server root on this machine: --prepare creates the list directory's entries here
    /// directly instead of by thousands of STORs.
    #[arg(long, value_name = "DIR")]
    pub prepare_local: Option<PathBuf>,
    /// Bound of every network wait (blocking scenarios) and of one session (sessions), s.
    #[arg(long, default_value_t = 30.0)]
    pub op_timeout: f64,
    /// Write every run, median and ratio as JSON here.
    #[arg(long, value_name = "PATH")]
    pub json: Option<PathBuf>,

    /// retr/stor: file size (K, M, G suffixes are binary: 1G = 2^30 bytes).
    #[arg(long, default_value = "1G", value_parser = parse_size)]
    pub size: u64,
    /// retr: file to download (must exist, or --prepare uploads it with --size).
    #[arg(long, default_value = "big.bin")]
    pub file: String,

    /// sessions: sessions in flight at once.
    #[arg(long, default_value_t = 200)]
    pub concurrency: usize,
    /// sessions: sessions per round (default 2000); churn: STOR+DELE pairs (default 1000).
    #[arg(long)]
    pub count: Option<usize>,
    /// sessions: at most this many sessions between connect() and their 220 greeting
    /// (0 = no bound: all --concurrency connects at once, which tests the accept backlog).
    #[arg(long, default_value_t = 0)]
    pub connect_window: usize,
    /// sessions: event-loop threads of the client.
    #[arg(long, default_value_t = 2)]
    pub threads: usize,
    /// Directory to work in (CWD after login), for servers whose root the bench user cannot
    /// write, e.g. vsftpd's anonymous user; sessions download `DIR/--small-file`.
    #[arg(long)]
    pub cwd: Option<String>,
    /// sessions: file each session downloads.
    #[arg(long, default_value = "small.bin")]
    pub small_file: String,
    /// sessions: size of --small-file when --prepare uploads it.
    #[arg(long, default_value = "10K", value_parser = parse_size)]
    pub small_size: u64,

    /// idle: logged-in idle connections to hold.
    #[arg(long, default_value_t = 1000)]
    pub idle: usize,
    /// idle: seconds to wait with all connections open before sampling memory.
    #[arg(long, default_value_t = 1.0)]
    pub idle_settle: f64,

    /// list: directory to list.
    #[arg(long, default_value = "list10k")]
    pub list_dir: String,
    /// list: entries it must have (--prepare creates them).
    #[arg(long, default_value_t = 10_000)]
    pub list_entries: usize,
    /// list: LISTs per round (one session); the round's figure is their median.
    #[arg(long, default_value_t = 3)]
    pub lists: usize,

    /// churn: size of each uploaded file.
    #[arg(long, default_value = "4K", value_parser = parse_size)]
    pub churn_size: u64,

    /// stall: what loads the server while the probe sends NOOPs: a comma list of none, list,
    /// stor, login (each kind is a scenario of its own, stall-KIND).
    #[arg(long, default_value = "none,list,stor")]
    pub stall_load: String,
    /// stall: sessions that generate the load.
    #[arg(long, default_value_t = 8)]
    pub stall_sessions: usize,
    /// stall: length of one round, s.
    #[arg(long, default_value_t = 10.0)]
    pub stall_seconds: f64,
    /// stall: interval between the probe's NOOPs, ms.
    #[arg(long, default_value_t = 10.0)]
    pub stall_interval_ms: f64,
    /// stall: nice value of the probe's thread (e.g. -10, as root). A remote client does not
    /// share its CPU with the load generator; this takes the probe's own wait for a CPU out of
    /// its figures, for every server alike. 0 (the default) leaves it as it is.
    #[arg(long, default_value_t = 0, allow_hyphen_values = true)]
    pub stall_probe_nice: i32,
    /// stall: nice value of the load threads (e.g. 10): the load generator then takes only
    /// the CPU the servers leave, as a load from other machines would. 0 leaves it as it is.
    #[arg(long, default_value_t = 0, allow_hyphen_values = true)]
    pub stall_load_nice: i32,
    /// stall stor: size of each upload.
    #[arg(long, default_value = "8M", value_parser = parse_size)]
    pub stall_size: u64,
    /// stall login: account the load sessions log in as (default: --user).
    #[arg(long)]
    pub stall_login_user: Option<String>,
    /// stall login: its password (default: --password).
    #[arg(long)]
    pub stall_login_password: Option<String>,
    /// stall login on the baseline (default: the baseline's own login).
    #[arg(long)]
    pub baseline_stall_login_user: Option<String>,
    /// stall login on the baseline: password.
    #[arg(long)]
    pub baseline_stall_login_password: Option<String>,
}

impl Args {
    /// Sessions per round.
    pub fn session_count(&self) -> usize {
        self.count.unwrap_or(2000)
    }

    /// STOR+DELE pairs per round.
    pub fn churn_count(&self) -> usize {
        self.count.unwrap_or(1000)
    }
}

/// `1G`, `4M`, `10K`, `512`, `1GiB`, `10kb`: a byte count with binary suffixes.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let n: u64 = t[..digits]
        .parse()
        .map_err(|_| format!("bad size {s:?} (like 1G, 4M, 10K or 512)"))?;
    let shift = match t[digits..].to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        "t" | "tb" | "tib" => 40,
        other => return Err(format!("bad size suffix {other:?} in {s:?}")),
    };
    n.checked_mul(1 << shift)
        .ok_or_else(|| format!("size {s:?} too large"))
}
