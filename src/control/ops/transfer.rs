//! Data-connection commands: PASV and PORT (RFC 959), EPSV and EPRT (RFC 2428), REST (RFC 3659),
//! RETR, STOR, APPE, STOU (RFC 959, with RFC 1123's `150 FILE:` for STOU).
//!
//! PASV/EPSV spawn a [`PassiveAcceptor`]; PORT/EPRT spawn a connecting
//! [`DataConn`](crate::data::DataConn) and hold the reply until the connect finished. RETR and
//! the uploads check permissions and open the file *before* answering, so errors come back
//! right away as `550`, but an existing file is truncated only once the data connection is up:
//! a STOR whose data connection never comes leaves the old file intact.

use std::io::{self, Seek, SeekFrom};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use super::super::addr::{self, EprtError, EpsvArg};
use super::super::datachan::{Channel, PendingJob};
use super::super::session::TransferType;
use super::super::{ControlConn, Phase};
use super::fs_error;
use crate::auth::Perm;
use crate::data::connect::{bind_passive, connect_active, PassiveAcceptor};
use crate::data::{DataConn, FileSink, Job};
use crate::fs::WriteMode;
use crate::handler::{Cx, FtpHandler, Msg};
use crate::net::canonical_ip;
use crate::reply::{Reply, ReplyCode};

const TEXT_125: &str = "Data connection already open. Transfer starting.";
const TEXT_150: &str = "File status okay. About to open data connection.";

fn no_channel() -> Reply {
    Reply::new(ReplyCode::CantOpenData, "Use PORT or PASV first.")
}

fn busy() -> Reply {
    Reply::new(
        ReplyCode::CantOpenData,
        "A transfer is already in progress.",
    )
}

impl ControlConn {
    fn local_ip(&self) -> Option<IpAddr> {
        self.sock.local_addr().ok().map(|a| canonical_ip(a.ip()))
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
        let shown = match (extended, self.cfg.masquerade_address, ip) {
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
        let listener = match bind_passive(ip, self.cfg.passive_ports.as_ref()) {
            Ok(l) => l,
            Err(e) if e.kind() == io::ErrorKind::AddrInUse => {
                log::warn!("{} no free port in the passive range: {e}", self.tag());
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
        let port = match listener.local_addr() {
            Ok(a) => a.port(),
            Err(_) => return Reply::new(ReplyCode::CantOpenData, "Can't open passive connection."),
        };
        let acceptor = PassiveAcceptor::new(
            listener,
            cx.me(),
            self.peer.ip(),
            Arc::clone(&self.cfg),
            Arc::clone(&self.data.progress),
            self.data_tls(),
        );
        let id = match cx.spawn(FtpHandler::Passive(acceptor)) {
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
            match addr::parse_eprt(arg) {
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
        if extended && target.is_ipv4() != local.is_ipv4() {
            let n = if local.is_ipv4() { 1 } else { 2 };
            return Some(Reply::new(
                ReplyCode::ProtocolNotSupported,
                format!("Network protocol not supported (use {n})."),
            ));
        }
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
        match cx.spawn(FtpHandler::Data(Box::new(conn))) {
            Ok(id) => {
                cx.send(id, Msg::Start);
                self.data.chan = Channel::Connecting(id);
                self.phase = Phase::Waiting;
                None
            }
            Err(_) => Some(Reply::new(
                ReplyCode::CantOpenData,
                "Can't connect to specified address.",
            )),
        }
    }

    /// REST (RFC 3659 §5): the offset of the next RETR/STOR, binary mode only.
    pub(super) fn ftp_rest(&mut self, arg: &str) -> Reply {
        if self.session.ttype == TransferType::Ascii {
            return Reply::new(
                ReplyCode::SyntaxErrorArgs,
                "Resuming transfers not allowed in ASCII mode.",
            );
        }
        match arg.trim().parse::<u64>() {
            Ok(n) => {
                self.session.rest = n;
                Reply::new(
                    ReplyCode::PendingFurtherInfo,
                    format!("Restarting at position {n}."),
                )
            }
            Err(_) => Reply::new(ReplyCode::SyntaxErrorArgs, "Invalid parameter."),
        }
    }

    /// RETR: download, from the REST offset if one was given.
    pub(super) fn ftp_retr(&mut self, arg: &str, cx: &mut Cx<'_>) -> Option<Reply> {
        let rest = std::mem::take(&mut self.session.rest);
        if self.data.transfer.is_some() {
            return Some(busy());
        }
        let path = match self.path_arg(arg, Perm::R) {
            Ok(p) => p,
            Err(r) => return Some(r),
        };
        let fs = match self.fs() {
            Ok(fs) => fs,
            Err(r) => return Some(r),
        };
        let mut file = match fs.open_read(&path) {
            Ok(f) => f,
            Err(e) => return Some(fs_error(&e)),
        };
        let size = file.size().unwrap_or(0);
        if rest > size {
            return Some(Reply::new(
                ReplyCode::InvalidRest,
                format!("Invalid REST parameter: position ({rest}) > file size ({size})."),
            ));
        }
        if rest > 0 {
            if let Err(e) = file.seek(SeekFrom::Start(rest)) {
                return Some(fs_error(&e));
            }
        }
        let job = Job::SendFile {
            file,
            offset: rest,
            ascii: self.session.ttype == TransferType::Ascii,
        };
        let pj = PendingJob {
            job,
            cmd: "RETR",
            path: path.as_str().to_owned(),
            truncate_to: None,
            total: Some(size - rest),
        };
        self.start_or_queue(pj, (TEXT_125, TEXT_150), cx)
    }

    /// STOR and APPE.
    pub(super) fn ftp_stor(&mut self, arg: &str, append: bool, cx: &mut Cx<'_>) -> Option<Reply> {
        let rest = std::mem::take(&mut self.session.rest);
        if self.data.transfer.is_some() {
            return Some(busy());
        }
        if append && rest > 0 {
            return Some(Reply::new(
                ReplyCode::InvalidRest,
                "Can't APPE while REST request is pending.",
            ));
        }
        if self.data.chan == Channel::None {
            // Before touching the disk: a refused upload must not create a file.
            return Some(no_channel());
        }
        let perm = if append { Perm::A } else { Perm::W };
        let path = match self.path_arg(arg, perm) {
            Ok(p) => p,
            Err(r) => return Some(r),
        };
        let fs = match self.fs() {
            Ok(fs) => fs,
            Err(r) => return Some(r),
        };
        if rest > 0 {
            let size = fs.stat(&path).map(|s| s.size).unwrap_or(0);
            if rest > size {
                return Some(Reply::new(
                    ReplyCode::InvalidRest,
                    format!("Invalid REST parameter: position ({rest}) > file size ({size})."),
                ));
            }
        }
        let mode = if append {
            WriteMode::Append
        } else {
            // Opened without truncating; truncated when the data connection is up.
            WriteMode::At(rest)
        };
        let file = match fs.open_write(&path, mode) {
            Ok(f) => f,
            Err(e) => return Some(fs_error(&e)),
        };
        let pj = PendingJob {
            job: Job::Receive(FileSink::new(
                file,
                self.session.ttype == TransferType::Ascii,
            )),
            cmd: if append { "APPE" } else { "STOR" },
            path: path.as_str().to_owned(),
            truncate_to: (!append).then_some(rest),
            total: None,
        };
        self.start_or_queue(pj, (TEXT_125, TEXT_150), cx)
    }

    /// STOU: store under a name that does not exist yet, in the current directory.
    pub(super) fn ftp_stou(&mut self, arg: &str, cx: &mut Cx<'_>) -> Option<Reply> {
        if self.session.rest > 0 {
            self.session.rest = 0;
            return Some(Reply::new(
                ReplyCode::InvalidRest,
                "Can't STOU while REST request is pending.",
            ));
        }
        if self.data.transfer.is_some() {
            return Some(busy());
        }
        if self.data.chan == Channel::None {
            return Some(no_channel());
        }
        let base = if arg.trim().is_empty() {
            "ftpd"
        } else {
            arg.trim()
        };
        let base_path = match self.path_arg(base, Perm::W) {
            Ok(p) => p,
            Err(r) => return Some(r),
        };
        let fs = match self.fs() {
            Ok(fs) => fs,
            Err(r) => return Some(r),
        };
        let mut found = None;
        for i in 0..100u32 {
            let candidate = if i == 0 {
                base_path.clone()
            } else {
                self.session.cwd.resolve(&format!("{base}.{i}"))
            };
            match fs.open_write(&candidate, WriteMode::CreateNew) {
                Ok(f) => {
                    found = Some((candidate, f));
                    break;
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Some(fs_error(&e)),
            }
        }
        let Some((path, file)) = found else {
            return Some(Reply::new(
                ReplyCode::FileUnavailable,
                "No usable unique file name found.",
            ));
        };
        let name = path.file_name().unwrap_or("").to_owned();
        let pj = PendingJob {
            job: Job::Receive(FileSink::new(
                file,
                self.session.ttype == TransferType::Ascii,
            )),
            cmd: "STOU",
            path: path.as_str().to_owned(),
            truncate_to: None,
            total: None,
        };
        let text = format!("FILE: {name}");
        self.start_or_queue(pj, (&text, &text), cx)
    }
}
