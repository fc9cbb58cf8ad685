//! Opening the data channel and starting jobs on it: the passive listener (PASV, EPSV), the
//! active connect (PORT, EPRT), and the `DataStart` message that hands a job to a connection
//! that is up. These are the engine's actions on the data side (`apply.rs`); each spawns or
//! messages another handler of the loop, which is why the command core only asks for them.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use super::{Channel, DataSide, PassivePlan, PendingJob, Transfer, Work};
use crate::config::Config;
use crate::control::addr;
use crate::control::security::SecState;
use crate::control::session::Session;
use crate::data::connect::{bind_passive, connect_active, PassiveAcceptor};
use crate::data::{DataConn, Job, Progress, Start};
use crate::ioloop::ConnId;
use crate::msg::{Cx, Msg};
use crate::reply::{Reply, ReplyCode};
use crate::state::Shared;
use crate::tls::DataTls;

/// What opening a channel or starting a job needs from the session around it.
pub(in crate::control) struct Opener<'a> {
    /// The configuration (passive ports, TLS policy, hooks).
    pub cfg: &'a Arc<Config>,
    /// Server-wide state (metrics, per-user bandwidth).
    pub shared: &'a Arc<Shared>,
    /// The session (its user, for limits; its filesystem, for uploads).
    pub session: &'a Session,
    /// The client's address.
    pub peer: SocketAddr,
    /// The session's TLS state (PROT P makes new data connections TLS).
    pub sec: &'a SecState,
}

impl Opener<'_> {
    /// PROT P: the TLS parameters of a new data connection (made only when one is).
    fn tls(&self) -> Option<DataTls> {
        self.sec.data_tls(self.cfg)
    }

    /// The session's log prefix (made only for a log line).
    fn tag(&self) -> String {
        crate::control::session_tag(self.peer, self.session)
    }
}

impl DataSide {
    /// Listens on a port of the passive range (after closing any previous channel), spawns
    /// the acceptor that waits there for the client, and answers with the address.
    pub fn listen(&mut self, plan: PassivePlan, env: Opener<'_>, cx: &mut Cx<'_>) -> Reply {
        if let Some(id) = self.close() {
            cx.close(id);
        }
        let (listener, port) = match bind_passive(plan.ip, env.cfg.passive_ports.as_ref()) {
            Ok(l) => l,
            Err(e) if e.kind() == io::ErrorKind::AddrInUse => {
                log::warn!("{} no free port in the passive range: {e}", env.tag());
                env.shared.metrics.passive_exhausted();
                return Reply::new(
                    ReplyCode::CantOpenData,
                    "Can't open passive connection: every passive port is busy.",
                );
            }
            Err(e) => {
                log::warn!("{} cannot open passive port: {e}", env.tag());
                return cant_open_passive();
            }
        };
        let acceptor = PassiveAcceptor::new(
            listener,
            cx.me(),
            env.peer.ip(),
            Arc::clone(env.cfg),
            Arc::clone(&self.progress),
            env.tls(),
            env.shared.metrics.passive_listeners(),
        );
        let id = match cx.spawn(acceptor.into()) {
            Ok(id) => id,
            Err(e) => {
                log::warn!("{} cannot register passive listener: {e}", env.tag());
                return cant_open_passive();
            }
        };
        cx.send(id, Msg::Start);
        self.chan = Channel::Passive(id);
        passive_reply(plan, port)
    }

    /// Starts the connect to `target` (after closing any previous channel) in a new data
    /// connection; `Err` is the reply when it could not even start.
    pub fn connect(
        &mut self,
        name: &str,
        (local, target): (IpAddr, SocketAddr),
        env: Opener<'_>,
        cx: &mut Cx<'_>,
    ) -> Result<(), Reply> {
        if let Some(id) = self.close() {
            cx.close(id);
        }
        let stream = connect_active(local, target).map_err(|e| {
            log::info!("{} {name} connect to {target} failed: {e}", env.tag());
            cant_connect()
        })?;
        let conn = DataConn::connecting(
            stream,
            cx.me(),
            Arc::clone(env.cfg),
            Arc::clone(&self.progress),
            env.tls(),
        );
        let id = cx.spawn(conn.into()).map_err(|_| cant_connect())?;
        cx.send(id, Msg::Start);
        self.chan = Channel::Connecting(id);
        Ok(())
    }

    /// Hands `pj` to the connected data connection `id`: an upload opens its file now (the
    /// connection is up, so a refused one never touched the disk). `Err` is the reply when
    /// the file cannot be opened; the caller closes the channel then.
    pub fn launch(
        &mut self,
        id: ConnId,
        pj: PendingJob,
        env: Opener<'_>,
        (now, cx): (Instant, &mut Cx<'_>),
    ) -> Result<(), Reply> {
        let job = match pj.work {
            Work::Job(job) => job,
            Work::Upload(plan) => {
                let fs = env
                    .session
                    .fs
                    .as_deref()
                    .ok_or_else(crate::reply::not_logged_in)?;
                Job::Receive(plan.open(fs)?)
            }
        };
        self.transfer = Some(Transfer {
            data: id,
            verb: pj.verb,
            path: pj.path.clone(),
            started: now,
        });
        let upload = matches!(job, Job::Receive(_));
        let user_bucket = env.session.user.as_ref().and_then(|u| {
            let rate = if upload {
                u.limits.read_limit
            } else {
                u.limits.write_limit
            };
            (rate > 0).then(|| env.shared.user_bucket(&u.name, upload, rate))
        });
        let progress = (!pj.path.is_empty()).then(|| Progress {
            hooks: Arc::clone(&env.cfg.hooks),
            peer: env.peer,
            user: env.session.log_name().to_owned(),
            path: pj.path,
            total: pj.total,
            last: None,
        });
        let start = Start {
            job,
            user_bucket,
            progress,
            meter: Some(env.shared.metrics.data_bytes(upload)),
        };
        cx.send(id, Msg::DataStart(Box::new(start)));
        Ok(())
    }
}

/// The answer to PASV or EPSV once the listener is up on `port`.
fn passive_reply(plan: PassivePlan, port: u16) -> Reply {
    match plan.shown {
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

fn cant_open_passive() -> Reply {
    Reply::new(ReplyCode::CantOpenData, "Can't open passive connection.")
}

fn cant_connect() -> Reply {
    Reply::new(
        ReplyCode::CantOpenData,
        "Can't connect to specified address.",
    )
}
