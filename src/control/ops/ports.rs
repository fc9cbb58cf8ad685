//! Data-connection set-up: PASV and PORT (RFC 959), EPSV and EPRT (RFC 2428).
//!
//! PASV/EPSV spawn a [`PassiveAcceptor`] on a random port of the passive range (RFC 2577) and
//! answer with its address; PORT/EPRT spawn a connecting [`DataConn`] and hold the reply
//! until the connect finished. Both refuse what RFC 2577 calls the FTP bounce attack: a data
//! connection to or from another address than the client's, or to a privileged port.

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use super::super::addr::{self, EprtError, EpsvArg};
use super::super::channel::Channel;
use super::super::{ControlConn, Phase, WaitFor};
use super::transfer::busy;
use crate::data::connect::{bind_passive, connect_active, PassiveAcceptor};
use crate::data::DataConn;
use crate::msg::{Cx, Msg};
use crate::net::canonical_ip;
use crate::reply::{Reply, ReplyCode};

impl ControlConn {
    /// The address the client reached us on (asked of the kernel once per session).
    fn local_ip(&mut self) -> Option<IpAddr> {
        if self.data.local_ip.is_none() {
            self.data.local_ip = self.sock.local_addr().ok().map(|a| canonical_ip(a.ip()));
        }
        self.data.local_ip
    }

    /// The address PASV announces to this client instead of the control connection's:
    /// its network's `--nat-map` address, else `-n` (a name's latest lookup).
    fn pasv_address(&self) -> Option<IpAddr> {
        let peer = self.peer.ip();
        self.cfg
            .nat_map
            .iter()
            .find(|(net, _)| net.contains(peer))
            .map(|(_, addr)| *addr)
            .or_else(|| self.cfg.nat_ip())
    }

    /// PASV (`extended == false`) and EPSV.
    pub(super) fn ftp_pasv(&mut self, extended: bool, arg: &str, cx: &mut Cx<'_>) -> Reply {
        let (ip, shown) = match self.pasv_plan(extended, arg) {
            Ok(plan) => plan,
            Err(reply) => return reply,
        };
        let port = match self.open_passive(ip, cx) {
            Ok(port) => port,
            Err(reply) => return reply,
        };
        match shown {
            Some(v4) => Reply::new(
                ReplyCode::PassiveMode,
                format!("Entering passive mode ({}).", addr::pasv_tuple(v4, port)),
            ),
            None => Reply::new(
                ReplyCode::ExtendedPassiveMode,
                format!("Entering extended passive mode (|||{port}|)."),
            ),
        }
    }

    /// What PASV/EPSV may do here: the local address to listen on and, for PASV, the IPv4
    /// address to announce. `Err` is the answer instead (a refusal, or EPSV ALL's `200`).
    fn pasv_plan(
        &mut self,
        extended: bool,
        arg: &str,
    ) -> Result<(IpAddr, Option<Ipv4Addr>), Reply> {
        if self.data.epsv_all && !extended {
            return Err(Reply::new(
                ReplyCode::SyntaxErrorArgs,
                "PASV not allowed after EPSV ALL.",
            ));
        }
        if self.data.transfer.is_some() {
            return Err(busy());
        }
        let Some(ip) = self.local_ip() else {
            return Err(Reply::new(
                ReplyCode::CantOpenData,
                "Can't open data connection.",
            ));
        };
        if !extended {
            return match (self.pasv_address(), ip) {
                (Some(IpAddr::V4(m)), _) | (_, IpAddr::V4(m)) => Ok((ip, Some(m))),
                (_, IpAddr::V6(_)) => Err(Reply::new(
                    ReplyCode::CantOpenData,
                    "PASV is IPv4 only on this connection; use EPSV.",
                )),
            };
        }
        if epsv_arg(arg, ip)? {
            self.data.epsv_all = true;
            return Err(Reply::new(ReplyCode::Ok, "EPSV ALL command successful."));
        }
        Ok((ip, None))
    }

    /// Listens on a port of the passive range (after closing any previous channel) and spawns
    /// the acceptor that waits there for the client; the port.
    fn open_passive(&mut self, ip: IpAddr, cx: &mut Cx<'_>) -> Result<u16, Reply> {
        self.close_channel(cx);
        let (listener, port) = match bind_passive(ip, self.cfg.passive_ports.as_ref()) {
            Ok(l) => l,
            Err(e) if e.kind() == io::ErrorKind::AddrInUse => {
                log::warn!("{} no free port in the passive range: {e}", self.tag());
                self.shared.metrics.passive_exhausted();
                return Err(Reply::new(
                    ReplyCode::CantOpenData,
                    "Can't open passive connection: every passive port is busy.",
                ));
            }
            Err(e) => {
                log::warn!("{} cannot open passive port: {e}", self.tag());
                return Err(cant_open_passive());
            }
        };
        let acceptor = PassiveAcceptor::new(
            listener,
            cx.me(),
            self.peer.ip(),
            Arc::clone(&self.cfg),
            Arc::clone(&self.data.progress),
            self.data_tls(),
            self.shared.metrics.passive_listeners(),
        );
        let id = cx.spawn(acceptor.into()).map_err(|e| {
            log::warn!("{} cannot register passive listener: {e}", self.tag());
            cant_open_passive()
        })?;
        cx.send(id, Msg::Start);
        self.data.chan = Channel::Passive(id);
        Ok(port)
    }

    /// PORT (`extended == false`) and EPRT. The reply waits for the connect (None here).
    pub(super) fn ftp_port(&mut self, extended: bool, arg: &str, cx: &mut Cx<'_>) -> Option<Reply> {
        let name = if extended { "EPRT" } else { "PORT" };
        if self.data.epsv_all {
            return Some(Reply::new(
                ReplyCode::SyntaxErrorArgs,
                format!("{name} not allowed after EPSV ALL."),
            ));
        }
        if self.data.transfer.is_some() {
            return Some(busy());
        }
        let Some(local) = self.local_ip() else {
            return Some(Reply::new(
                ReplyCode::CantOpenData,
                "Can't open data connection.",
            ));
        };
        let target = match port_target(extended, arg, local) {
            Ok(t) => t,
            Err(reply) => return Some(reply),
        };
        if let Err(reply) = self.check_bounce(name, target) {
            return Some(reply);
        }
        self.connect_data(name, local, target, cx)
    }

    /// RFC 2577's defence against the bounce attack: a data connection only to the client's
    /// own address (unless `--permit-foreign-addresses`) and to no privileged port (unless
    /// `--permit-privileged-ports`).
    fn check_bounce(&self, name: &str, target: SocketAddr) -> Result<(), Reply> {
        let peer = canonical_ip(self.peer.ip());
        if !self.cfg.permit_foreign_addresses && canonical_ip(target.ip()) != peer {
            log::warn!("{} {name} to foreign address {target} refused", self.tag());
            return Err(Reply::new(
                ReplyCode::SyntaxErrorArgs,
                format!(
                    "Rejected data connection to foreign address {}:{}.",
                    target.ip(),
                    target.port()
                ),
            ));
        }
        if !self.cfg.permit_privileged_ports && target.port() < 1024 {
            log::warn!(
                "{} {name} to privileged port {} refused",
                self.tag(),
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

    /// Starts the connect to `target` (after closing any previous channel) in a new data
    /// connection; the reply comes with its outcome (`Phase::Waiting(WaitFor::Connect)`).
    fn connect_data(
        &mut self,
        name: &str,
        local: IpAddr,
        target: SocketAddr,
        cx: &mut Cx<'_>,
    ) -> Option<Reply> {
        self.close_channel(cx);
        let stream = match connect_active(local, target) {
            Ok(s) => s,
            Err(e) => {
                log::info!("{} {name} connect to {target} failed: {e}", self.tag());
                return Some(cant_connect());
            }
        };
        let conn = DataConn::connecting(
            stream,
            cx.me(),
            Arc::clone(&self.cfg),
            Arc::clone(&self.data.progress),
            self.data_tls(),
        );
        match cx.spawn(conn.into()) {
            Ok(id) => {
                cx.send(id, Msg::Start);
                self.data.chan = Channel::Connecting(id);
                self.phase = Phase::Waiting(WaitFor::Connect);
                None
            }
            Err(_) => Some(cant_connect()),
        }
    }
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

fn cant_open_passive() -> Reply {
    Reply::new(ReplyCode::CantOpenData, "Can't open passive connection.")
}

fn cant_connect() -> Reply {
    Reply::new(
        ReplyCode::CantOpenData,
        "Can't connect to specified address.",
    )
}

#[cfg(test)]
mod tests;
