//! Data-connection set-up: PASV and PORT (RFC 959), EPSV and EPRT (RFC 2428).
//!
//! PASV/EPSV decide where to listen and what to announce ([`PassivePlan`]); the engine then
//! spawns a [`PassiveAcceptor`](crate::data::connect::PassiveAcceptor) on a random port of the
//! passive range (RFC 2577) and answers with its address. PORT/EPRT decide
//! where to connect; the engine spawns a connecting data connection and holds the reply until
//! the connect finished. Both refuse what RFC 2577 calls the FTP bounce attack: a data
//! connection to or from another address than the client's, or to a privileged port.

use std::net::{IpAddr, SocketAddr};

use super::super::addr::{self, EprtError, EpsvArg};
use super::super::channel::PassivePlan;
use super::super::core::{Action, Core, Outcome};
use super::transfer::busy;
use super::tri;
use crate::net::canonical_ip;
use crate::reply::{Reply, ReplyCode};

/// The address PASV announces to this client instead of the control connection's:
/// its network's `--nat-map` address, else `-n` (a name's latest lookup).
fn pasv_address(c: &Core<'_>) -> Option<IpAddr> {
    let peer = c.peer.ip();
    c.cfg
        .nat_map
        .iter()
        .find(|(net, _)| net.contains(peer))
        .map(|(_, addr)| *addr)
        .or_else(|| c.cfg.nat_ip())
}

/// PASV (`extended == false`) and EPSV: where to listen and what to announce, or the
/// refusal (or EPSV ALL's own answer).
pub(in crate::control) fn pasv(c: &mut Core<'_>, extended: bool, arg: &str) -> Outcome {
    if c.data.epsv_all && !extended {
        return Reply::new(
            ReplyCode::SyntaxErrorArgs,
            "PASV not allowed after EPSV ALL.",
        )
        .into();
    }
    if c.data.transfer.is_some() {
        return busy().into();
    }
    let Some(ip) = c.local.map(|a| a.ip()) else {
        return cant_open().into();
    };
    if !extended {
        return match (pasv_address(c), ip) {
            (Some(IpAddr::V4(m)), _) | (_, IpAddr::V4(m)) => {
                Action::Passive(PassivePlan { ip, shown: Some(m) }).into()
            }
            (_, IpAddr::V6(_)) => Reply::new(
                ReplyCode::CantOpenData,
                "PASV is IPv4 only on this connection; use EPSV.",
            )
            .into(),
        };
    }
    if tri!(epsv_arg(arg, ip)) {
        return Action::EpsvAll.into();
    }
    Action::Passive(PassivePlan { ip, shown: None }).into()
}

/// PORT (`extended == false`) and EPRT: where to connect, or the refusal.
pub(in crate::control) fn port(c: &mut Core<'_>, extended: bool, arg: &str) -> Outcome {
    let name = if extended { "EPRT" } else { "PORT" };
    if c.data.epsv_all {
        return Reply::new(
            ReplyCode::SyntaxErrorArgs,
            format!("{name} not allowed after EPSV ALL."),
        )
        .into();
    }
    if c.data.transfer.is_some() {
        return busy().into();
    }
    let Some(local) = c.local.map(|a| a.ip()) else {
        return cant_open().into();
    };
    let target = tri!(port_target(extended, arg, local));
    tri!(check_bounce(c, name, target));
    Action::Connect {
        name,
        local,
        target,
    }
    .into()
}

/// RFC 2577's defence against the bounce attack: a data connection only to the client's
/// own address (unless `--permit-foreign-addresses`) and to no privileged port (unless
/// `--permit-privileged-ports`).
fn check_bounce(c: &Core<'_>, name: &str, target: SocketAddr) -> Result<(), Reply> {
    let peer = canonical_ip(c.peer.ip());
    if !c.cfg.permit_foreign_addresses && canonical_ip(target.ip()) != peer {
        log::warn!("{} {name} to foreign address {target} refused", c.tag());
        return Err(Reply::new(
            ReplyCode::SyntaxErrorArgs,
            format!(
                "Rejected data connection to foreign address {}:{}.",
                target.ip(),
                target.port()
            ),
        ));
    }
    if !c.cfg.permit_privileged_ports && target.port() < 1024 {
        log::warn!(
            "{} {name} to privileged port {} refused",
            c.tag(),
            target.port()
        );
        return Err(Reply::new(
            ReplyCode::SyntaxErrorArgs,
            format!(
                "{name} against the privileged port \"{}\" refused.",
                target.port()
            ),
        ));
    }
    Ok(())
}

fn cant_open() -> Reply {
    Reply::new(ReplyCode::CantOpenData, "Can't open data connection.")
}

/// EPSV's argument (RFC 2428 §3): none, the network protocol of the control connection
/// (`1` IPv4, `2` IPv6), or `ALL`. `Ok(true)` for ALL; `Err` is the refusal.
fn epsv_arg(arg: &str, ip: IpAddr) -> Result<bool, Reply> {
    let use_n = if ip.is_ipv4() { 1 } else { 2 };
    match addr::parse_epsv(arg) {
        None => Err(Reply::new(
            ReplyCode::SyntaxErrorArgs,
            format!("Unknown network protocol (use {use_n})."),
        )),
        Some(EpsvArg::All) => Ok(true),
        Some(EpsvArg::Proto(p)) if p != use_n => Err(Reply::new(
            ReplyCode::ProtocolNotSupported,
            format!("Network protocol not supported (use {use_n})."),
        )),
        Some(_) => Ok(false),
    }
}

/// The address PORT (`h1,h2,h3,h4,p1,p2`) or EPRT (`|proto|addr|port|`) names; `Err` is the
/// `501` for a bad argument, or the `522` for EPRT in the other address family than `local`.
fn port_target(extended: bool, arg: &str, local: IpAddr) -> Result<SocketAddr, Reply> {
    if !extended {
        return addr::parse_port(arg)
            .ok_or_else(|| Reply::new(ReplyCode::SyntaxErrorArgs, "Invalid PORT format."));
    }
    let n = if local.is_ipv4() { 1 } else { 2 };
    addr::parse_eprt(arg, n).map_err(|e| match e {
        EprtError::Syntax => Reply::new(ReplyCode::SyntaxErrorArgs, "Invalid EPRT format."),
        EprtError::Protocol => Reply::new(
            ReplyCode::ProtocolNotSupported,
            format!("Network protocol not supported (use {n})."),
        ),
    })
}

#[cfg(test)]
mod tests;
