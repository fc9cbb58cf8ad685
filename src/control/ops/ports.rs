//! Data-connection set-up: PASV and PORT (RFC 959), EPSV and EPRT (RFC 2428).
//!
//! PASV/EPSV decide where to listen and what to announce ([`PassivePlan`]); the engine then
//! spawns a [`PassiveAcceptor`](crate::data::connect::PassiveAcceptor) on a random port of the
//! passive range (RFC 2577) and answers with its address. PORT/EPRT decide
//! where to connect; the engine spawns a connecting data connection and holds the reply until
//! the connect finished. Both refuse what RFC 2577 calls the FTP bounce attack: a data
//! connection to or from another address than the client's, or to a privileged port.

use std::net::{IpAddr, SocketAddr};

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

/// PASV (`epsv` is `None`) and EPSV (its parsed argument: `true` for ALL): where to listen
/// and what to announce, or the refusal (or EPSV ALL's own answer).
pub(in crate::control) fn pasv(c: &mut Core<'_>, epsv: Option<Result<bool, Reply>>) -> Outcome {
    if c.data.epsv_all && epsv.is_none() {
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
    let Some(all) = epsv else {
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
    };
    if tri!(all) {
        return Action::EpsvAll.into();
    }
    Action::Passive(PassivePlan { ip, shown: None }).into()
}

/// PORT and EPRT (`name`), with the parsed address: where to connect, or the refusal. A bad
/// address is reported after the EPSV ALL and transfer checks, as before typed arguments.
pub(in crate::control) fn port(
    c: &mut Core<'_>,
    name: &'static str,
    target: Result<SocketAddr, Reply>,
) -> Outcome {
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
    let target = tri!(target);
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
