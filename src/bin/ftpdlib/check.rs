//! `ftpdlib --check`: validate a configuration without serving, and answer the most common FTP
//! support question before a client fails: "what will passive mode tell clients?".
//!
//! With the same flags as a real start it loads the directory, users file and TLS pair, binds
//! every listener and every passive port (then releases them), prints the exact `227`/`229`
//! replies clients will see, and warns about a passive range smaller than `--max-cons` and
//! about `-n` naming an address that clients outside a private network cannot reach.
//! Exit status 0 when everything works (warnings included), 2 on any error.

use std::net::{IpAddr, SocketAddr};

use ftpdlib::nat::NatHost;
use ftpdlib::net::pasv_tuple;
use ftpdlib::net::{canonical_ip, default_listen_addr, display_addr, listen};

use crate::args::Args;

/// True for addresses that only a local network can reach.
fn is_private(ip: IpAddr) -> bool {
    match canonical_ip(ip) {
        IpAddr::V4(v4) => v4.is_private() || v4.is_loopback() || v4.is_link_local(),
        IpAddr::V6(v6) => v6.is_loopback() || (v6.segments()[0] & 0xfe00) == 0xfc00,
    }
}

/// Binds every listener the daemon would open (control, implicit FTPS, status endpoint);
/// the control address and socket (held while the passive ports are tried).
fn check_listeners(args: &Args) -> Result<(SocketAddr, std::net::TcpListener), String> {
    let addr = match args.interface {
        Some(ip) => SocketAddr::new(ip, args.port),
        None => default_listen_addr(args.port),
    };
    let control = listen(addr).map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let bound = control.local_addr().map_err(|e| e.to_string())?;
    out!("ok: control connection listens on {}", display_addr(bound));
    if let Some(port) = args.tls_implicit_port {
        let iaddr = SocketAddr::new(addr.ip(), port);
        let l = listen(iaddr).map_err(|e| format!("cannot listen on {iaddr}: {e}"))?;
        let a = l.local_addr().map_err(|e| e.to_string())?;
        out!("ok: implicit FTPS listens on {}", display_addr(a));
    }
    if let Some(maddr) = args.metrics_listen {
        let l = listen(maddr).map_err(|e| format!("cannot listen on {maddr}: {e}"))?;
        let a = l.local_addr().map_err(|e| e.to_string())?;
        out!(
            "ok: metrics and health checks on http://{}/metrics",
            display_addr(a)
        );
    }
    Ok((addr, control))
}

/// Runs the check, printing a report; `Ok(warnings)` or the first error.
pub fn run(args: &Args) -> Result<usize, String> {
    let mut warnings = 0;
    if let Some(file) = &args.config {
        out!("ok: configuration file {} reads", file.display());
    }
    let (cfg, _accounts) = crate::setup::build_config(args)?;
    print_loaded(&cfg);
    let (addr, control) = check_listeners(args)?;
    let ip = addr.ip();
    let (free, total, example) = probe_passive(&cfg, ip)?;
    drop(control);
    if total != usize::MAX {
        out!("passive ports: {free} of {total} free in the range");
        if free == 0 {
            return Err("no passive port of the range can be bound".into());
        }
        if cfg.max_cons > 0 && total < cfg.max_cons {
            warnings += 1;
            out!(
                "warning: the passive range has {total} ports but --max-cons is {}: with more \
                 simultaneous transfers than ports, clients get 425",
                cfg.max_cons
            );
        }
    } else {
        out!("passive ports: any free port (set -r FROM-TO to open a range in a firewall/NAT)");
    }
    warnings += check_nat(&cfg);
    print_passive_replies(&cfg, ip, example.unwrap_or(0));
    Ok(warnings)
}

/// What `-n` resolves to, and its warnings (a private address, no fixed passive range).
fn check_nat(cfg: &ftpdlib::Config) -> usize {
    let Some(nat) = cfg.nat_ip() else {
        return 0;
    };
    let mut warnings = 0;
    if let Some(host) = &cfg.nat_address {
        if let NatHost::Name(name) = host.host() {
            let refresh = host
                .refresh_period()
                .map_or("never looked up again".into(), |d| {
                    format!("looked up again every {} s", d.as_secs_f64())
                });
            out!("ok: -n {name} resolves to {nat} ({refresh})");
        }
    }
    if is_private(nat) {
        warnings += 1;
        out!(
            "warning: -n {nat} is a private address: clients outside that network cannot \
             reach it (use the public address of the NAT)"
        );
    }
    if cfg.passive_ports.is_none() {
        warnings += 1;
        out!("warning: -n is set without -r: forward a fixed passive range through the NAT");
    }
    warnings
}

/// Binds every port of the passive range (or one free port): how many are free, of how many
/// (`usize::MAX` for "any port"), and one of them for the example replies.
fn probe_passive(cfg: &ftpdlib::Config, ip: IpAddr) -> Result<(usize, usize, Option<u16>), String> {
    Ok(match &cfg.passive_ports {
        Some(range) => {
            let mut free = 0usize;
            let mut example = None;
            for port in range.clone() {
                if listen(SocketAddr::new(ip, port)).is_ok() {
                    free += 1;
                    example.get_or_insert(port);
                }
            }
            (free, range.len(), example)
        }
        None => {
            let l = listen(SocketAddr::new(ip, 0)).map_err(|e| e.to_string())?;
            let p = l.local_addr().map_err(|e| e.to_string())?.port();
            (usize::MAX, usize::MAX, Some(p))
        }
    })
}

/// The configuration loaded; with FTPS, whether clients are asked for certificates.
fn print_loaded(cfg: &ftpdlib::Config) {
    out!("ok: configuration, directory, accounts and TLS settings load");
    let Some(tls) = &cfg.tls else { return };
    match tls.client_auth() {
        Some(auth) => out!(
            "TLS client certificates: {} (issued by the CA in {})",
            match auth.mode {
                ftpdlib::tls::ClientCertMode::Request => "requested, not required",
                ftpdlib::tls::ClientCertMode::Require => "required at the TLS handshake",
            },
            auth.ca.display()
        ),
        None => out!("TLS client certificates: not asked for (no --tls-client-ca)"),
    }
}

/// The PASV and EPSV replies clients will see, per network with `--nat-map`.
fn print_passive_replies(cfg: &ftpdlib::Config, ip: IpAddr, port: u16) {
    let shown = cfg.nat_ip().or_else(|| match ip {
        IpAddr::V4(v4) if !v4.is_unspecified() => Some(IpAddr::V4(v4)),
        IpAddr::V6(v6) if !v6.is_unspecified() => Some(IpAddr::V6(v6)),
        _ => None,
    });
    match shown.map(canonical_ip) {
        Some(IpAddr::V4(v4)) => out!(
            "clients will see: 227 Entering passive mode ({}).",
            pasv_tuple(v4, port)
        ),
        Some(IpAddr::V6(_)) => {
            out!("clients will see: 425 for PASV on IPv6 (clients must use EPSV)")
        }
        None => out!(
            "clients will see: 227 Entering passive mode (<address they connected to>,{},{}).",
            port >> 8,
            port & 0xff
        ),
    }
    for (net, addr) in &cfg.nat_map {
        match canonical_ip(*addr) {
            IpAddr::V4(v4) => out!(
                "clients in {net} will see: 227 Entering passive mode ({}).",
                pasv_tuple(v4, port)
            ),
            IpAddr::V6(_) => out!("clients in {net} will see: 425 for PASV (use EPSV)"),
        }
    }
    out!("clients will see: 229 Entering extended passive mode (|||{port}|).");
}

#[cfg(test)]
mod tests;
