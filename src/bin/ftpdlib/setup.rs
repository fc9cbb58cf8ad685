//! Turning flags into a running configuration: the shared directory, the authorizer (the
//! `-u/-P` user, anonymous, or a users file), FTPS settings, and dropping root privileges.

use std::sync::Arc;

use ftpdlib::tls::TlsSettings;
use ftpdlib::{Config, MemoryAuthorizer, Perms};

use crate::args::{optional, Args};

pub fn build_config(args: &Args) -> Result<Config, String> {
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

