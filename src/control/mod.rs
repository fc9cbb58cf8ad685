//! The control connection (pyftpdlib's `FTPHandler`): one client's command dialogue.
//!
//! FTP uses two connections (RFC 959 §2.3): this one carries commands and replies as lines of
//! text for the whole session; separate data connections carry file contents and listings.
//! This module holds the handler mechanics: reading lines, writing replies, timers and the
//! connection's phase. What each command does lives in `ops/`, grouped by RFC; which commands
//! exist and what they need lives in [`table`]; the checks before dispatch in [`gate`].
//!
//! The handler is driven by one function, `pump`: flush replies, read what the socket has (until
//! `WouldBlock`), run complete command lines in order, flush again. It stops running commands
//! while a delayed `530` is pending (the input stays buffered, so pipelined password guesses
//! wait too) and while the reply buffer is over its cap (backpressure). Because mio is
//! edge-triggered, whenever it stops reading before `WouldBlock` it makes sure something will
//! call it again: a writable event, a timer, or a yield.
//!
//! `ControlConn`'s methods live in three files: this one (the struct, its set-up, messages,
//! timers, closing, and the reports of commands), `engine.rs` (the socket callbacks
//! `readable`/`writable`/`resume` and `pump`: a reader following an event from the dispatcher
//! lands there) and `apply.rs` (carrying out what the command core decided).

pub mod addr;
mod apply;
mod args;
mod channel;
mod core;
mod engine;
pub mod gate;
mod offload;
pub(crate) mod ops;
pub mod parser;
mod phase;
mod security;
pub mod session;
mod settings;
pub mod table;
mod upload;

use std::io;
use std::net::{Shutdown, SocketAddr};
use std::sync::Arc;

use mio::event::Source;
use mio::net::TcpStream;
use mio::Interest;

use crate::config::Config;
use crate::ioloop::{Deadline, Fired, Flow};
use crate::line::{LineReader, OutBuf};
use crate::msg::{Cx, Msg, TimerKind};
use crate::net::canonical_ip;
use crate::reply::{Reply, ReplyCode};
use crate::state::Refusal;
use crate::state::Shared;
use crate::tls::Stream;
use phase::Phase;
use session::Session;

/// Commands run per turn before yielding to other connections.
const COMMAND_BUDGET: usize = 32;
/// Stop running commands while this many reply bytes wait to be sent.
const OUT_CAP: usize = 256 * 1024;
/// Stop reading while this many received bytes wait to be parsed.
const IN_CAP: usize = 64 * 1024;

/// One client's control connection.
#[derive(Debug)]
pub struct ControlConn {
    sock: Stream,
    peer: SocketAddr,
    cfg: Arc<Config>,
    /// Counted by the listener (false for connections refused with 421).
    counted: bool,
    refusal: Option<Refusal>,
    reader: LineReader,
    out: OutBuf,
    phase: Phase,
    session: Session,
    idle: Deadline,
    /// The peer closed its side.
    peer_eof: bool,
    /// The last read stopped before `WouldBlock` (buffer cap): read again when possible.
    read_pending: bool,
    /// Plain TCP only: the socket had nothing more to read at the last `fill`, and no
    /// readable event came since, so `fill` can skip the `recv` that would say `EAGAIN`.
    drained: bool,
    /// The current readable event also reported the peer's close or urgent data: a short
    /// read proves nothing then, so `fill` reads until `WouldBlock` (see `engine`).
    read_to_block: bool,
    /// Data connections owned by this session.
    data: channel::DataSide,
    /// FTPS state (RFC 4217).
    sec: security::SecState,
    /// Server-wide state: sessions per user, bans, per-user bandwidth.
    shared: Arc<Shared>,
    /// The address this connection is counted under for per-IP limits.
    counted_ip: std::net::IpAddr,
    /// Bytes of a PROXY header received so far.
    proxy_buf: Vec<u8>,
    /// Implicit FTPS behind a PROXY-protocol balancer: start TLS once the header is read.
    tls_after_header: bool,
    /// Greeted with 220 (hooks and events saw `connect`).
    connected: bool,
    /// Graceful shutdown: close after the running transfer.
    draining: bool,
    /// Per-server connection number, for machine-readable events.
    conn_id: u64,
    /// `Phase::Offloaded`: what makes the reply once the pool's result is back.
    offloaded: Option<core::Then>,
    /// How long this session's filesystem calls took (for `--offload-fs auto`).
    fs_timing: offload::FsTiming,
    /// The command line (masked) whose reply comes from the pool, for its event.
    deferred_cmd: Option<String>,
    /// Replies queued so far and the last code (for command events).
    replies_sent: u64,
    last_code: Option<u16>,
}

/// `ip:port-[user]`, the prefix of every log line about a session.
fn session_tag(peer: SocketAddr, session: &Session) -> String {
    let addr = SocketAddr::new(canonical_ip(peer.ip()), peer.port());
    format!(
        "{}-[{}]",
        crate::net::display_addr(addr),
        session.log_name()
    )
}

impl ControlConn {
    /// Wraps an accepted socket. `refusal` makes the connection say `421 <refusal>` and close.
    pub(crate) fn new(
        sock: TcpStream,
        peer: SocketAddr,
        cfg: Arc<Config>,
        shared: Arc<Shared>,
        refusal: Option<Refusal>,
        implicit_tls: bool,
    ) -> io::Result<ControlConn> {
        sock.set_nodelay(true)?;
        // Telnet "Synch" before ABOR arrives as TCP urgent data: keep it in the stream.
        socket2::SockRef::from(&sock).set_out_of_band_inline(true)?;
        let conn_id = shared.next_conn_id();
        let mut sec = security::SecState::new(&cfg);
        // With the PROXY protocol, TLS starts only after the balancer's plaintext header.
        let tls_after_header = implicit_tls && cfg.proxy_protocol;
        let sock = match (implicit_tls, sec.config.clone()) {
            (true, Some(config)) if !tls_after_header => {
                sec.implicit();
                Stream::tls(sock, config, Some(&sec.token))?
            }
            (true, Some(_)) => {
                sec.implicit();
                Stream::plain(sock)
            }
            _ => Stream::plain(sock),
        };
        Ok(ControlConn {
            sock,
            peer,
            cfg,
            counted: refusal.is_none(),
            refusal,
            reader: LineReader::default(),
            out: OutBuf::default(),
            phase: Phase::New,
            session: Session::default(),
            idle: Deadline::default(),
            peer_eof: false,
            read_pending: false,
            drained: false,
            read_to_block: false,
            data: channel::DataSide::default(),
            sec,
            shared,
            counted_ip: canonical_ip(peer.ip()),
            proxy_buf: Vec::new(),
            tls_after_header,
            connected: false,
            draining: false,
            conn_id,
            replies_sent: 0,
            last_code: None,
            offloaded: None,
            fs_timing: offload::FsTiming::default(),
            deferred_cmd: None,
        })
    }

    /// `ip:port-[user]`, the prefix of every log line about this session.
    fn tag(&self) -> String {
        session_tag(self.peer, &self.session)
    }

    pub(crate) fn state(&self) -> &'static str {
        self.phase
            .name(self.sock.is_handshaking(), self.data.transfer.is_some())
    }

    pub(crate) fn source(&mut self) -> &mut dyn Source {
        self.sock.tcp_mut()
    }

    pub(crate) fn interest(&self) -> Interest {
        if self.out.is_empty() && !self.sock.wants_write() {
            engine::READ_INTEREST
        } else {
            engine::READ_INTEREST | Interest::WRITABLE
        }
    }

    pub(crate) fn message(&mut self, msg: Msg, cx: &mut Cx<'_>) -> Flow {
        match msg {
            Msg::Start => self.start(cx),
            Msg::Shutdown => {
                self.respond(Reply::new(
                    ReplyCode::NotAvailable,
                    "Server is shutting down.",
                ));
                // One best-effort flush: the server is going away.
                let _ = self.out.flush_to(&mut self.sock);
                self.sock.send_close_notify();
                let _ = self.sock.flush_tls();
                Flow::Close
            }
            Msg::LoginChecked(checked) => self.on_login_checked(*checked, cx),
            Msg::FsDone(result, took) => self.on_fs_done(Some(result), took, cx),
            Msg::FsLost => self.on_fs_done(None, std::time::Duration::ZERO, cx),
            Msg::DataConnected { .. }
            | Msg::DataSecured { .. }
            | Msg::DataRefused { .. }
            | Msg::DataFailed { .. }
            | Msg::DataClosed { .. } => self.data_message(msg, cx),
            Msg::Drain => {
                self.draining = true;
                if self.data.transfer.is_none() {
                    self.say_goodbye_for_shutdown();
                }
                self.pump(cx)
            }
            Msg::DataStart(_) | Msg::Abort | Msg::Accept | Msg::Batch(_) | Msg::BatchLost => {
                Flow::Continue
            }
            Msg::Written(_) | Msg::WriteLost => Flow::Continue,
        }
    }

    pub(crate) fn timer(&mut self, kind: TimerKind, cx: &mut Cx<'_>) -> Flow {
        match kind {
            TimerKind::Idle => match self.idle.fired(cx.now) {
                Fired::Ignore => Flow::Continue,
                Fired::Rearm(at) => {
                    cx.at(at, TimerKind::Idle);
                    Flow::Continue
                }
                Fired::Expired if self.phase == Phase::Closing => Flow::Close,
                Fired::Expired if self.data.transfer.is_some() => {
                    // RFC 1123: not idle while a transfer runs (its own stall timer watches it).
                    self.touch(cx);
                    Flow::Continue
                }
                Fired::Expired => {
                    log::info!("{} control connection timed out", self.tag());
                    self.respond(Reply::new(
                        ReplyCode::NotAvailable,
                        "Control connection timed out.",
                    ));
                    self.phase = Phase::Closing;
                    self.pump(cx)
                }
            },
            TimerKind::AuthDelay => self.on_auth_delay(cx),
            TimerKind::AcceptRetry
            | TimerKind::DataDeadline
            | TimerKind::Throttle
            | TimerKind::HttpTimeout => Flow::Continue,
        }
    }

    pub(crate) fn closed(&mut self, cx: &mut Cx<'_>) {
        if self.sock.is_tls() && !self.sec.logged {
            // Closed before the handshake finished: it failed, or the client gave up.
            self.shared.metrics.tls_handshake("control", false);
        }
        self.close_channel(cx);
        {
            // The logged-in user leaves: see `access::end_session`.
            let mut core = self.core(None, None, cx.now);
            ops::end_session(&mut core);
        }
        if self.counted {
            self.shared.release(self.counted_ip);
        }
        if self.connected {
            log::info!("{} disconnected", self.tag());
            self.cfg.hooks.on_disconnect(self.peer);
            self.emit(&crate::events::Event::Disconnect {
                conn: self.conn_id,
                peer: self.peer,
                user: self.session.log_name(),
            });
        }
        let _ = self.sock.shutdown(Shutdown::Both);
    }

    /// Greets the client (or refuses it) and arms the idle timer.
    /// Sends the reply of a command that was answered later (PASS, an offloaded command), and
    /// its command event, which `on_line` held back.
    pub(in crate::control) fn finish_deferred(&mut self, reply: Option<Reply>) {
        if let Some(command) = self.deferred_cmd.take() {
            let code = reply
                .as_ref()
                .map(|r| r.code().as_u16())
                .or(self.delayed_530());
            self.count_command(&command, code);
        }
        if let Some(reply) = reply {
            self.respond(reply);
        }
    }

    /// The code a wrong password is answered with, after the delay (`failed_reply`).
    pub(super) fn delayed_530(&self) -> Option<u16> {
        (self.phase == Phase::AuthDelay).then_some(530)
    }

    /// Counts a command in the metrics and reports its event, with its reply's code.
    pub(super) fn count_command(&self, line: &str, code: Option<u16>) {
        let verb = table::metric_label(line);
        self.shared.metrics.command(verb, code);
        if !self.cfg.events.is_empty() {
            let masked = crate::log::mask_password(line);
            self.emit(&crate::events::Event::Command {
                conn: self.conn_id,
                peer: self.peer,
                user: self.session.log_name(),
                command: &masked,
                code,
            });
        }
    }

    pub(super) fn emit(&self, event: &crate::events::Event<'_>) {
        for sink in &self.cfg.events {
            sink.event(event);
        }
    }

    fn start(&mut self, cx: &mut Cx<'_>) -> Flow {
        self.touch(cx);
        if self.cfg.proxy_protocol && self.refusal.is_none() {
            // Behind a load balancer: the client's real address comes first, as a header.
            self.phase = Phase::ProxyHeader;
            return self.pump(cx);
        }
        self.greet(cx)
    }

    /// Greets the client with 220, or refuses it with 421.
    fn greet(&mut self, cx: &mut Cx<'_>) -> Flow {
        self.phase = Phase::Ready;
        match self.refusal {
            Some(why) => {
                log::warn!(
                    "{} refused: {} reason={}",
                    self.tag(),
                    why.text(),
                    why.code()
                );
                self.shared.metrics.refused(why.code());
                self.respond(Reply::new(ReplyCode::NotAvailable, why.text()));
                self.phase = Phase::Closing;
            }
            None => {
                self.connected = true;
                self.shared.metrics.session_opened();
                log::info!("{} connected", self.tag());
                self.cfg.hooks.on_connect(self.peer);
                self.emit(&crate::events::Event::Connect {
                    conn: self.conn_id,
                    peer: self.peer,
                });
                let banner = self.cfg.banner.clone();
                self.respond(Reply::new(ReplyCode::Ready, banner));
            }
        }
        self.pump(cx)
    }
}
