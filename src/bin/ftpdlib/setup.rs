//! Turning flags into a running configuration: the shared directory, the authorizer (the
//! `-u/-P` user, anonymous, or a users file), FTPS settings, and dropping root privileges.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ftpdlib::auth::hash::hash_sha512;
use ftpdlib::auth::{ExternalAuthorizer, ExternalOptions, FileAuthorizer};
use ftpdlib::nat::{NatAddress, NatHost};
use ftpdlib::state::BanPolicy;
use ftpdlib::tls::{ClientAuth, ClientCertMode, TlsSettings};
use ftpdlib::{Authorizer, Config, MemoryAuthorizer, Perms};

use crate::args::{optional, Args};

/// What `build_config` learns about the accounts besides the `Config`: what SIGHUP reloads
/// and what the root check needs.
#[derive(Debug)]
pub struct Accounts {
    /// The users file authorizer, for SIGHUP.
    pub users: Option<Arc<FileAuthorizer>>,
    /// Some account may change files.
    pub may_write: bool,
    /// Accounts come from a users file (the production set-up, where running as root with
    /// write permissions is refused).
    pub production: bool,
}

/// The shared directory, canonical and checked.
fn root_dir(args: &Args) -> Result<PathBuf, String> {
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
    Ok(root)
}

/// The `-u/-P` user and anonymous, as the CLI contract describes them.
fn cli_accounts(args: &Args, root: &Path, with_file: bool) -> Result<MemoryAuthorizer, String> {
    let mut auth = MemoryAuthorizer::new();
    let write = if args.write {
        Perms::ALL
    } else {
        Perms::READ_ONLY
    };
    match (&args.username, &args.password) {
        (Some(user), Some(pass)) => {
            auth.add_user(user, pass, root, &write.to_string())
                .map_err(|e| e.to_string())?;
            if args.anonymous {
                auth.add_anonymous(root, &Perms::READ_ONLY.to_string())
                    .map_err(|e| e.to_string())?;
            }
        }
        (Some(_), None) => return Err("-u/--username needs -P/--password".into()),
        (None, Some(_)) => return Err("-P/--password needs -u/--username".into()),
        // With a users file, anonymous login is opt-in; without one it is the default.
        (None, None) if with_file && !args.anonymous => {}
        (None, None) if with_file => {
            auth.add_anonymous(root, &Perms::READ_ONLY.to_string())
                .map_err(|e| e.to_string())?;
        }
        (None, None) => {
            auth.add_anonymous(root, &write.to_string())
                .map_err(|e| e.to_string())?;
        }
    }
    Ok(auth)
}

/// Parts of a running configuration that a reload keeps (after reloading them in place)
/// instead of building new ones: see `crate::reload`.
#[derive(Debug, Default)]
pub struct Reuse {
    /// The FTPS settings, when the TLS flags did not change.
    pub tls: Option<Arc<TlsSettings>>,
    /// The users file authorizer, when the account flags did not change.
    pub users: Option<Arc<FileAuthorizer>>,
    /// The `-n` host name and its refresh thread, when `-n` and `--nat-refresh` did not change.
    pub nat: Option<NatAddress>,
}

/// The `-n` host name resolved now (or `reused`), refreshed every `--nat-refresh`.
fn nat_address(args: &Args, name: &str, reused: Option<NatAddress>) -> Result<NatAddress, String> {
    if let Some(nat) = reused {
        return Ok(nat);
    }
    NatAddress::resolve(name, optional(args.nat_refresh))
        .map_err(|e| format!("-n/--nat-address {name}: cannot resolve the host name: {e}"))
}

/// The configuration the flags describe, with the accounts' facts besides.
pub fn build_config(args: &Args) -> Result<(Config, Accounts), String> {
    build_config_reusing(args, Reuse::default())
}

/// [`build_config`], keeping the parts in `reuse`.
pub fn build_config_reusing(args: &Args, reuse: Reuse) -> Result<(Config, Accounts), String> {
    let (authorizer, users) = authorizer(args, reuse.users)?;
    // Conservative: any users file or command may grant write letters.
    let external = args.auth_command.is_some();
    let may_write = args.write || users.is_some() || external;
    let mut cfg = Config::new(authorizer);
    apply_flags(&mut cfg, args);
    match &args.nat_address {
        Some(NatHost::Ip(ip)) => cfg.masquerade_address = Some(*ip),
        Some(NatHost::Name(name)) => cfg.nat_address = Some(nat_address(args, name, reuse.nat)?),
        None => {}
    }
    cfg.tls = match reuse.tls {
        Some(tls) => Some(tls),
        None => tls_settings(args)?,
    };
    if args.log_format == crate::logging::LogFormat::Json {
        cfg.events.push(Arc::new(ftpdlib::events::JsonEvents));
    }
    if let Some(path) = &args.xferlog {
        let log = ftpdlib::events::XferLog::open(path)
            .map_err(|e| format!("xferlog {}: {e}", path.display()))?;
        cfg.events.push(Arc::new(log));
    }
    cfg.validate().map_err(|e| e.to_string())?;
    let production = users.is_some() || external;
    Ok((
        cfg,
        Accounts {
            users,
            may_write,
            production,
        },
    ))
}

/// The authorizer of a configuration, and the users file authorizer among its parts.
type Auth = (Arc<dyn Authorizer>, Option<Arc<FileAuthorizer>>);

/// Who may log in: the `-u/-P` user and anonymous, and the users file (`reused` if given).
fn authorizer(args: &Args, reused: Option<Arc<FileAuthorizer>>) -> Result<Auth, String> {
    if let Some(file) = reused {
        return Ok((Arc::clone(&file) as Arc<dyn Authorizer>, Some(file)));
    }
    let root = root_dir(args)?;
    let external = args.auth_command.is_some();
    let cli = cli_accounts(args, &root, args.users_file.is_some() || external)?;
    if let Some(program) = &args.auth_command {
        if args.users_file.is_some() {
            return Err("--auth-command and --users-file cannot be combined".into());
        }
        let options = ExternalOptions {
            timeout: args.auth_timeout,
            concurrency: usize::try_from(args.auth_concurrency).unwrap_or(usize::MAX),
            cache: args.auth_cache,
        };
        let auth = ExternalAuthorizer::new(program, options, Some(cli))
            .map_err(|e| format!("--auth-command: {e}"))?;
        return Ok((Arc::new(auth), None));
    }
    Ok(match &args.users_file {
        Some(path) => {
            let file = Arc::new(FileAuthorizer::load(path, Some(cli)).map_err(|e| e.to_string())?);
            (Arc::clone(&file) as Arc<dyn Authorizer>, Some(file))
        }
        None => (Arc::new(cli), None),
    })
}

/// The plain settings: each flag to its `Config` field.
fn apply_flags(cfg: &mut Config, args: &Args) {
    if let Some(b) = &args.banner {
        cfg.banner = b.clone();
    }
    cfg.idle_timeout = optional(args.timeout);
    cfg.data_timeout = optional(args.data_timeout);
    cfg.passive_timeout = optional(args.passive_timeout);
    cfg.auth_failed_delay = args.auth_failed_delay;
    cfg.max_login_attempts = args.max_login_attempts;
    if let Some(n) = args.blocking_threads {
        cfg.blocking_threads = n;
    }
    cfg.blocking_priority = args.blocking_priority;
    cfg.offload_fs = args.offload_fs;
    cfg.hash_max_size = args.hash_max_size;
    cfg.min_free = args.min_free;
    cfg.umask = args.umask;
    cfg.hide.clone_from(&args.hide);
    cfg.deny.clone_from(&args.deny);
    cfg.nat_map.clone_from(&args.nat_map);
    // --umask (or a user's umask=) is the one mask: the process's own would apply on top.
    rustix::process::umask(rustix::fs::Mode::empty());
    cfg.max_cons = args.max_cons;
    cfg.max_cons_per_ip = args.max_cons_per_ip;
    cfg.use_localtime = args.use_localtime;
    cfg.passive_ports = args.range.clone();
    cfg.permit_foreign_addresses = args.permit_foreign_addresses;
    cfg.permit_privileged_ports = args.permit_privileged_ports;
    cfg.use_sendfile = !args.disable_sendfile;
    cfg.read_limit = args.read_limit;
    cfg.write_limit = args.write_limit;
    cfg.encoding = args.encoding;
    cfg.debug_commands = args.debug || args.trace;
    cfg.atomic_uploads = args.atomic_uploads;
    cfg.proxy_protocol = args.proxy_protocol;
    cfg.delete_incomplete_uploads = args.delete_incomplete_uploads;
    cfg.bans = BanPolicy {
        after: args.ban_after,
        window: args.ban_window,
        time: args.ban_time,
    };
}

/// Switches to `name`'s user and group after the listeners are bound and keys loaded.
///
/// Without `--run-as`, running as root with write permissions is refused in the production
/// set-up (a users file) unless `--allow-root`; with the quick `-u/-P/-w` flags it is only
/// warned about, because the CLI contract (and tools that drive the daemon as root, like the
/// benchmark referee) use exactly those flags.
pub fn drop_privileges(
    run_as: Option<&str>,
    accounts: &Accounts,
    allow_root: bool,
) -> Result<(), String> {
    use nix::unistd::{geteuid, setgid, setgroups, setuid, Uid, User};
    let Some(name) = run_as else {
        if geteuid().is_root() && accounts.may_write && !allow_root {
            if accounts.production {
                return Err("refusing to run as root with write permissions: \
                            use --run-as USER (or --allow-root)"
                    .into());
            }
            log::warn!(
                "running as root with write permissions; use --run-as USER to drop privileges"
            );
        }
        return Ok(());
    };
    if !geteuid().is_root() {
        return Err(format!("--run-as {name} needs the daemon to start as root"));
    }
    let user = User::from_name(name)
        .map_err(|e| format!("--run-as {name}: {e}"))?
        .ok_or_else(|| format!("--run-as {name}: no such user"))?;
    setgroups(&[user.gid]).map_err(|e| format!("setgroups: {e}"))?;
    setgid(user.gid).map_err(|e| format!("setgid: {e}"))?;
    setuid(user.uid).map_err(|e| format!("setuid: {e}"))?;
    if setuid(Uid::from_raw(0)).is_ok() {
        return Err("privilege drop failed: root could be regained".into());
    }
    log::info!(
        "running as user {name} (uid {}, gid {})",
        user.uid,
        user.gid
    );
    Ok(())
}

/// `ftpdlib hash-password`: a `$6$` line for the users file, from the terminal (not echoed)
/// or from standard input.
pub fn hash_password() -> Result<String, String> {
    use std::io::{BufRead, IsTerminal};
    let password = if std::io::stdin().is_terminal() {
        let a = rpassword::prompt_password("Password: ").map_err(|e| e.to_string())?;
        let b = rpassword::prompt_password("Again: ").map_err(|e| e.to_string())?;
        if a != b {
            return Err("the passwords differ".into());
        }
        a
    } else {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| format!("reading standard input: {e}"))?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    };
    if password.is_empty() {
        return Err("empty password".into());
    }
    hash_sha512(&password).map_err(|e| e.to_string())
}

/// The FTPS settings from the flags; a missing or mismatched pair is a startup error.
pub fn tls_settings(args: &Args) -> Result<Option<Arc<TlsSettings>>, String> {
    let wants_tls = args.tls
        || args.tls_implicit_port.is_some()
        || args.tls_control_required
        || args.tls_data_required;
    if args.tls_client_cert.is_some() && args.tls_client_ca.is_none() {
        return Err(
            "--tls-client-cert needs --tls-client-ca (the CA that issues the client \
                    certificates)"
                .into(),
        );
    }
    if !wants_tls {
        if args.certfile.is_some() || args.keyfile.is_some() || args.tls_client_ca.is_some() {
            return Err(
                "--certfile/--keyfile/--tls-client-ca need --tls (or --tls-implicit-port)".into(),
            );
        }
        return Ok(None);
    }
    let (Some(cert), Some(key)) = (&args.certfile, &args.keyfile) else {
        return Err("FTPS needs both --certfile and --keyfile".into());
    };
    let mut settings = TlsSettings::load(cert, key).map_err(|e| e.to_string())?;
    if let Some(ca) = &args.tls_client_ca {
        let mode = match args.tls_client_cert.as_deref() {
            Some("require") => ClientCertMode::Require,
            _ => ClientCertMode::Request,
        };
        let auth = ClientAuth {
            ca: ca.clone(),
            mode,
        };
        settings = settings.with_client_auth(auth).map_err(|e| e.to_string())?;
    }
    settings.control_required = args.tls_control_required;
    settings.data_required = args.tls_data_required;
    settings.require_session_reuse = !args.no_tls_session_reuse;
    Ok(Some(Arc::new(settings)))
}
