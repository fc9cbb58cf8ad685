//! Everything a server can be told, as one plain value with documented defaults.
//!
//! pyftpdlib configures its handlers through mutable class attributes shared by every server in
//! the process; here a [`Config`] value is built once (by the daemon from its flags, or by an
//! embedding program) and shared read-only by all connections of one `Server`. Two
//! servers in one process can therefore differ in every setting.
//!
//! A running server can be given a new configuration without a restart: the server holds it
//! in a [`LiveConfig`], a swappable `Arc<Config>`. Each new control connection takes the
//! `Arc` current at its accept and keeps it for its whole session (its data connections
//! included), so a session never sees half of an old configuration and half of a new one;
//! [`LiveConfig::replace`] therefore changes what *new* sessions get. Settings fixed when the
//! server was built (its sockets, its blocking-work pool) are not affected by a replace.

use std::fmt;
use std::net::IpAddr;
use std::ops::RangeInclusive;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use crate::auth::Authorizer;

/// How path names travel on the wire (RFC 2640 recommends UTF-8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Encoding {
    /// UTF-8; invalid sequences from the client are replaced, never trusted. The default.
    #[default]
    Utf8,
    /// ISO-8859-1, for old clients: every byte is one character.
    Latin1,
}

impl Encoding {
    /// Decodes bytes from the wire.
    pub fn decode(self, bytes: &[u8]) -> String {
        match self {
            Encoding::Utf8 => String::from_utf8_lossy(bytes).into_owned(),
            Encoding::Latin1 => bytes.iter().map(|&b| char::from(b)).collect(),
        }
    }

    /// Encodes text for the wire (characters outside Latin-1 become `?`).
    pub fn encode_into(self, text: &[u8], out: &mut Vec<u8>) {
        match self {
            Encoding::Utf8 => out.extend_from_slice(text),
            Encoding::Latin1 => {
                let s = String::from_utf8_lossy(text);
                out.extend(
                    s.chars()
                        .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?')),
                );
            }
        }
    }
}

/// The settings of one FTP server.
#[derive(Clone)]
pub struct Config {
    /// Who may log in and what they may do. No default: it is the one required setting.
    pub authorizer: Arc<dyn Authorizer>,
    /// Text of the `220` greeting. Default: `"ftpdlib VERSION ready."`.
    pub banner: String,
    /// Idle timeout of a control connection (RFC 1123 asks for 5 minutes); `None` disables it.
    /// Default: 300 s.
    pub idle_timeout: Option<Duration>,
    /// A data transfer making no progress for this long is aborted with `426`. Default: 300 s.
    pub data_timeout: Option<Duration>,
    /// How long a PASV/PORT waits for its data connection. Default: 30 s.
    pub passive_timeout: Option<Duration>,
    /// Delay before answering a wrong password with `530` (RFC 2577). Default: 3 s.
    pub auth_failed_delay: Duration,
    /// Failed logins after which the connection is closed (RFC 2577). Default: 3.
    pub max_login_attempts: u32,
    /// Maximum simultaneous control connections, 0 = unlimited. Default: 512.
    pub max_cons: usize,
    /// Maximum control connections per client IP, 0 = unlimited (RFC 2577). Default: 0.
    pub max_cons_per_ip: usize,
    /// Show times in local time (TZ) instead of GMT in every reply that carries one: LIST
    /// (and STAT path), MDTM, and the MLSx `modify` fact, like pyftpdlib's
    /// `use_gmt_times = False`. RFC 3659 wants GMT for MDTM and `modify`; shifting them all
    /// keeps them consistent with each other (a client may compare MDTM with MLSD). MFMT's
    /// argument is always read as GMT. Default: false.
    pub use_localtime: bool,
    /// Address advertised in PASV replies instead of the local one (NAT). Default: none.
    /// [`Config::nat_address`] replaces it when set.
    pub masquerade_address: Option<IpAddr>,
    /// The PASV address as a fixed IP or a host name kept resolved (`-n NAME`); when set, it
    /// is used instead of `masquerade_address`. Default: none.
    pub nat_address: Option<crate::nat::NatAddress>,
    /// Passive ports to pick from at random (RFC 2577: no predictable ports). Default: any.
    pub passive_ports: Option<RangeInclusive<u16>>,
    /// Allow data connections from/to another IP than the control peer (FXP; RFC 2577 says
    /// no). Default: false.
    pub permit_foreign_addresses: bool,
    /// Allow PORT/EPRT to ports below 1024 (RFC 2577 says no). Default: false.
    pub permit_privileged_ports: bool,
    /// Use sendfile(2) for plain binary downloads. Default: true.
    pub use_sendfile: bool,
    /// Bytes per second for uploads per data connection, 0 = unlimited. Default: 0.
    pub read_limit: u64,
    /// Bytes per second for downloads per data connection, 0 = unlimited. Default: 0.
    pub write_limit: u64,
    /// Encoding of path names on the wire. Default: UTF-8.
    pub encoding: Encoding,
    /// Log every command and reply (passwords masked). Default: false.
    pub debug_commands: bool,
    /// Uploads go to a hidden temporary file in the target directory, renamed into place
    /// only when the upload completes; an aborted or cut upload leaves the previous file
    /// untouched. Default: false (pyftpdlib's in-place writes).
    pub atomic_uploads: bool,
    /// Remove what a failed upload left (vsftpd's `delete_failed_uploads`): a file the upload
    /// created or was replacing entirely; never the original of a failed APPE. Default: false.
    pub delete_incomplete_uploads: bool,
    /// Makes each user's filesystem. Default: `None`, the OS filesystem jailed in the
    /// user's home (with sendfile, and the two upload settings above).
    pub filesystem: Option<Arc<dyn crate::fs::FilesystemFactory>>,
    /// Expect HAProxy's PROXY protocol (v1 or v2) header on every control connection and use
    /// the client address it names; connections without a valid header are closed.
    /// Default: false.
    pub proxy_protocol: bool,
    /// Receivers of machine-readable events (JSON log, xferlog). Default: none.
    pub events: Vec<Arc<dyn crate::events::EventSink>>,
    /// Custom SITE sub-commands, listed by SITE HELP. Default: none.
    pub site_commands: Vec<crate::site::SiteCommand>,
    /// Callbacks for logins, transfers and file changes. Default: [`crate::hooks::NoHooks`].
    pub hooks: Arc<dyn crate::hooks::Hooks>,
    /// Temporary bans after repeated failed logins from one IP. Default: disabled.
    pub bans: crate::state::BanPolicy,
    /// FTPS (AUTH TLS, PROT P, implicit TLS listeners). Default: none (plain FTP only).
    pub tls: Option<Arc<crate::tls::TlsSettings>>,
    /// Threads of the loop's blocking-work pool (password hashing and other work that would
    /// stall every session); its waker takes the last token of the server's range. `0` runs
    /// that work on the loop itself. Default: the number of cores.
    pub blocking_threads: usize,
    /// The scheduling class of those threads: Linux's idle class, lifted while other programs
    /// would starve them, or the normal class at nice +5. Default: [`WorkerPriority::Idle`](crate::ioloop::pool::WorkerPriority::Idle).
    pub blocking_priority: crate::ioloop::pool::WorkerPriority,
    /// When the filesystem calls of commands (DELE, SIZE, CWD...) run on the blocking pool
    /// instead of the loop. Default: [`OffloadFs::Auto`].
    pub offload_fs: OffloadFs,
    /// HASH and XCRC/XMD5/XSHA* refuse files larger than this (`550`); 0: no limit. Default: 0.
    pub hash_max_size: u64,
    /// Uploads are refused (`452`) while the filesystem under the root has less free space
    /// than this. Default: [`MinFree::None`].
    pub min_free: MinFree,
    /// Permission bits that new files and directories are created without (a user's
    /// `umask=` option overrides it). Default: `0o022`.
    pub umask: u32,
    /// Names (shell globs) that look missing to every command and are left out of listings
    /// (`--hide`); a user's `hide=` adds to them. Default: none.
    pub hide: Vec<String>,
    /// Names (shell globs) that every operation refuses (`--deny`); a user's `deny=` adds to
    /// them. Default: none.
    pub deny: Vec<String>,
    /// Per-network PASV addresses (`--nat-map CIDR=ADDR`): a client whose address is in the
    /// network is told this address in `227` replies; the first match wins, and clients in no
    /// network get [`Config::nat_ip`]. Default: none.
    pub nat_map: Vec<(crate::net::Cidr, IpAddr)>,
}

/// The free space uploads leave on the disk (`--min-free`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum MinFree {
    /// No minimum.
    #[default]
    None,
    /// At least this many bytes.
    Bytes(u64),
    /// At least this percentage of the filesystem's size.
    Percent(u8),
}

impl MinFree {
    /// True if `space` is below the minimum.
    pub fn short(self, space: crate::fs::Space) -> bool {
        match self {
            MinFree::None => false,
            MinFree::Bytes(n) => space.available < n,
            MinFree::Percent(p) => {
                u128::from(space.available) * 100 < u128::from(space.total) * u128::from(p)
            }
        }
    }
}

impl std::str::FromStr for MinFree {
    type Err = String;
    /// `0` (none), bytes (`500M`, `10G`: powers of 1024) or a percentage (`5%`).
    fn from_str(s: &str) -> Result<MinFree, String> {
        let t = s.trim();
        if let Some(p) = t.strip_suffix('%') {
            return match p.trim().parse::<u8>() {
                Ok(p) if p <= 100 => Ok(MinFree::Percent(p)),
                _ => Err(format!("{s:?} is not a percentage from 0% to 100%")),
            };
        }
        match crate::fs::parse_size(t) {
            Some(0) => Ok(MinFree::None),
            Some(n) => Ok(MinFree::Bytes(n)),
            None => Err(format!(
                "{s:?} is not a size (500M, 10G) or a percentage (5%)"
            )),
        }
    }
}

/// When a session's filesystem calls run on the blocking-work pool (`--offload-fs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum OffloadFs {
    /// When the filesystem says it may be slow, or this session's calls were slow (measured).
    #[default]
    Auto,
    /// Always (every call pays a hand-off to a thread, about ten microseconds).
    Always,
    /// Never: every call on the loop, as pyftpdlib does.
    Never,
}

impl std::str::FromStr for OffloadFs {
    type Err = String;
    fn from_str(s: &str) -> Result<OffloadFs, String> {
        let choices = [
            ("auto", OffloadFs::Auto),
            ("always", OffloadFs::Always),
            ("never", OffloadFs::Never),
        ];
        crate::choice::one_of(s, &choices)
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("authorizer", &self.authorizer)
            .field("banner", &self.banner)
            .field("idle_timeout", &self.idle_timeout)
            .field("max_cons", &self.max_cons)
            .field("max_cons_per_ip", &self.max_cons_per_ip)
            .finish_non_exhaustive()
    }
}

impl Config {
    /// A configuration with every default and the given authorizer.
    pub fn new(authorizer: Arc<dyn Authorizer>) -> Config {
        Config {
            authorizer,
            banner: format!("ftpdlib {} ready.", env!("CARGO_PKG_VERSION")),
            idle_timeout: Some(Duration::from_secs(300)),
            data_timeout: Some(Duration::from_secs(300)),
            passive_timeout: Some(Duration::from_secs(30)),
            auth_failed_delay: Duration::from_secs(3),
            max_login_attempts: 3,
            max_cons: 512,
            max_cons_per_ip: 0,
            use_localtime: false,
            masquerade_address: None,
            nat_address: None,
            passive_ports: None,
            permit_foreign_addresses: false,
            permit_privileged_ports: false,
            use_sendfile: true,
            read_limit: 0,
            write_limit: 0,
            encoding: Encoding::Utf8,
            debug_commands: false,
            tls: None,
            bans: crate::state::BanPolicy::default(),
            hooks: Arc::new(crate::hooks::NoHooks),
            atomic_uploads: false,
            delete_incomplete_uploads: false,
            filesystem: None,
            site_commands: Vec::new(),
            events: Vec::new(),
            proxy_protocol: false,
            blocking_threads: std::thread::available_parallelism().map_or(2, |n| n.get()),
            blocking_priority: crate::ioloop::pool::WorkerPriority::Idle,
            offload_fs: OffloadFs::Auto,
            hash_max_size: 0,
            min_free: MinFree::None,
            umask: 0o022,
            hide: Vec::new(),
            deny: Vec::new(),
            nat_map: Vec::new(),
        }
    }

    /// The address PASV announces to clients in no `nat_map` network: `nat_address`'s
    /// current one, else `masquerade_address`.
    pub fn nat_ip(&self) -> Option<IpAddr> {
        self.nat_address
            .as_ref()
            .map(crate::nat::NatAddress::current)
            .or(self.masquerade_address)
    }

    /// Checks settings that cannot be expressed by types alone.
    pub fn validate(&self) -> Result<(), crate::error::Error> {
        if self.max_login_attempts == 0 {
            return Err(crate::error::Error::Config(
                "max_login_attempts must be at least 1".into(),
            ));
        }
        if let Some(r) = &self.passive_ports {
            if r.start() > r.end() || *r.start() == 0 {
                return Err(crate::error::Error::Config(format!(
                    "invalid passive port range {}-{}",
                    r.start(),
                    r.end()
                )));
            }
        }
        Ok(())
    }
}

/// The configuration a running server gives its new sessions, replaceable while it runs
/// (the daemon's SIGHUP). See the module documentation for what a replace affects.
#[derive(Debug)]
pub struct LiveConfig(RwLock<Arc<Config>>);

impl LiveConfig {
    /// Holds `cfg` as the current configuration.
    pub fn new(cfg: Arc<Config>) -> LiveConfig {
        LiveConfig(RwLock::new(cfg))
    }

    /// The configuration current now (a snapshot: a later replace does not change it).
    pub fn current(&self) -> Arc<Config> {
        // A poisoned lock still holds a complete Arc: the writer only swaps it.
        Arc::clone(&self.0.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Makes `cfg` the configuration of sessions accepted from now on, if it is valid;
    /// otherwise nothing changes and the error says why.
    pub fn replace(&self, cfg: Arc<Config>) -> Result<(), crate::error::Error> {
        cfg.validate()?;
        *self.0.write().unwrap_or_else(PoisonError::into_inner) = cfg;
        Ok(())
    }
}

/// Parses a `--range FROM-TO` value.
pub fn parse_port_range(s: &str) -> Result<RangeInclusive<u16>, String> {
    let (a, b) = s
        .split_once('-')
        .ok_or_else(|| format!("expected FROM-TO, got {s:?}"))?;
    let a: u16 = a.trim().parse().map_err(|_| format!("bad port {a:?}"))?;
    let b: u16 = b.trim().parse().map_err(|_| format!("bad port {b:?}"))?;
    if a == 0 || a > b {
        return Err(format!("invalid range {a}-{b}"));
    }
    Ok(a..=b)
}

#[cfg(test)]
mod tests;
