//! Data-connection set-up: PASV and PORT (RFC 959), EPSV and EPRT (RFC 2428).
//!
//! PASV/EPSV spawn a [`PassiveAcceptor`] on a random port of the passive range (RFC 2577) and
//! answer with its address; PORT/EPRT spawn a connecting [`DataConn`] and hold the reply
//! until the connect finished. Both refuse what RFC 2577 calls the FTP bounce attack: a data
//! connection to or from another address than the client's, or to a privileged port.

use std::io;
use std::net::{IpAddr, SocketAddr};
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
        if self.data.epsv_all && !extended {
            return Reply::new(
                ReplyCode::SyntaxErrorArgs,
                "PASV not allowed after EPSV ALL.",
            );
        }
        if self.data.transfer.is_some() {
            return busy();
        }
        let Some(ip) = self.local_ip() else {
            return Reply::new(ReplyCode::CantOpenData, "Can't open data connection.");
        };
        if extended {
            let use_n = if ip.is_ipv4() { 1 } else { 2 };
            match addr::parse_epsv(arg) {
                None => {
                    return Reply::new(
                        ReplyCode::SyntaxErrorArgs,
                        format!("Unknown network protocol (use {use_n})."),
                    )
                }
                Some(EpsvArg::All) => {
                    self.data.epsv_all = true;
                    return Reply::new(ReplyCode::Ok, "EPSV ALL command successful.");
                }
                Some(EpsvArg::Proto(p)) if p != use_n => {
                    return Reply::new(
                        ReplyCode::ProtocolNotSupported,
                        format!("Network protocol not supported (use {use_n})."),
                    )
                }
                Some(_) => {}
            }
        }
        let shown = match (extended, self.pasv_address(), ip) {
            (true, _, _) => None,
            (false, Some(IpAddr::V4(m)), _) => Some(m),
            (false, _, IpAddr::V4(v4)) => Some(v4),
            (false, _, IpAddr::V6(_)) => {
                return Reply::new(
                    ReplyCode::CantOpenData,
                    "PASV is IPv4 only on this connection; use EPSV.",
                )
            }
        };
        self.close_channel(cx);
        let (listener, port) = match bind_passive(ip, self.cfg.passive_ports.as_ref()) {
            Ok(l) => l,
            Err(e) if e.kind() == io::ErrorKind::AddrInUse => {
                log::warn!("{} no free port in the passive range: {e}", self.tag());
                self.shared.metrics.passive_exhausted();
                return Reply::new(
                    ReplyCode::CantOpenData,
                    "Can't open passive connection: every passive port is busy.",
                );
            }
            Err(e) => {
                log::warn!("{} cannot open passive port: {e}", self.tag());
                return Reply::new(ReplyCode::CantOpenData, "Can't open passive connection.");
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
        let id = match cx.spawn(acceptor.into()) {
            Ok(id) => id,
            Err(e) => {
                log::warn!("{} cannot register passive listener: {e}", self.tag());
                return Reply::new(ReplyCode::CantOpenData, "Can't open passive connection.");
            }
        };
        cx.send(id, Msg::Start);
        self.data.chan = Channel::Passive(id);
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
        let target: SocketAddr = if extended {
            match addr::parse_eprt(arg, if local.is_ipv4() { 1 } else { 2 }) {
                Ok(a) => a,
                Err(EprtError::Syntax) => {
                    return Some(Reply::new(
                        ReplyCode::SyntaxErrorArgs,
                        "Invalid EPRT format.",
                    ))
                }
                Err(EprtError::Protocol) => {
                    let n = if local.is_ipv4() { 1 } else { 2 };
                    return Some(Reply::new(
                        ReplyCode::ProtocolNotSupported,
                        format!("Network protocol not supported (use {n})."),
                    ));
                }
            }
        } else {
            match addr::parse_port(arg) {
                Some(a) => a,
                None => {
                    return Some(Reply::new(
                        ReplyCode::SyntaxErrorArgs,
                        "Invalid PORT format.",
                    ))
                }
            }
        };
        let peer = canonical_ip(self.peer.ip());
        if !self.cfg.permit_foreign_addresses && canonical_ip(target.ip()) != peer {
            log::warn!("{} {name} to foreign address {target} refused", self.tag());
            return Some(Reply::new(
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
            return Some(Reply::new(
                ReplyCode::SyntaxErrorArgs,
                format!(
                    "{name} against the privileged port \"{}\" refused.",
                    target.port()
                ),
            ));
        }
        self.close_channel(cx);
        let stream = match connect_active(local, target) {
            Ok(s) => s,
            Err(e) => {
                log::info!("{} {name} connect to {target} failed: {e}", self.tag());
                return Some(Reply::new(
                    ReplyCode::CantOpenData,
                    "Can't connect to specified address.",
                ));
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
            Err(_) => Some(Reply::new(
                ReplyCode::CantOpenData,
                "Can't connect to specified address.",
            )),
        }
    }
}
