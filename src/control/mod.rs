//! The control connection (pyftpdlib's `FTPHandler`): one client's command dialogue.
//!
//! FTP uses two connections (RFC 959 §2.3): this one carries commands and replies as lines of
//! text for the whole session; separate data connections carry file contents and listings.
//! This module holds the handler mechanics: reading lines, writing replies, timers and the
//! connection's phase. What each command does lives in [`ops`], grouped by RFC; which commands
//! exist and what they need lives in [`table`]; the checks before dispatch in [`gate`].
//!
//! The handler is driven by one function, `pump`: flush replies, read what the socket has (until
//! `WouldBlock`), run complete command lines in order, flush again. It stops running commands
//! while a delayed `530` is pending (the input stays buffered, so pipelined password guesses
//! wait too) and while the reply buffer is over its cap (backpressure). Because mio is
//! edge-triggered, whenever it stops reading before `WouldBlock` it makes sure something will
//! call it again: a writable event, a timer, or a yield.

pub mod addr;
mod datachan;
pub mod gate;
mod ops;
pub mod parser;
mod security;
pub mod session;
pub mod table;

use std::io::{self, Read};
use std::net::{Shutdown, SocketAddr};
use std::sync::Arc;

use mio::event::Source;
use mio::net::TcpStream;
use mio::Interest;
use std::io::Write;

use crate::config::Config;
use crate::fs::VirtualPath;
use crate::handler::{Cx, Msg, TimerKind};
use crate::ioloop::{ConnId, Deadline, Fired, Flow};
use crate::listener::Refusal;
use crate::net::canonical_ip;
use crate::reply::{Reply, ReplyCode};
use crate::state::Shared;
use crate::stream::{Line, LineReader, OutBuf};
use crate::tls::Stream;
use session::Session;

/// Commands run per turn before yielding to other connections.
const COMMAND_BUDGET: usize = 32;
/// Stop running commands while this many reply bytes wait to be sent.
const OUT_CAP: usize = 256 * 1024;
/// Stop reading while this many received bytes wait to be parsed.
const IN_CAP: usize = 64 * 1024;

/// Where the connection is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for the listener's `Start` message.
    New,
    /// Running commands.
    Ready,
    /// A wrong password was given: commands wait until the delayed 530 is sent.
    AuthDelay,
    /// Commands wait for the data side: PORT/EPRT connecting, ABOR or QUIT during a transfer.
    Waiting,
    /// `234` to AUTH TLS is being sent; the TLS handshake starts once it is out.
    TlsUpgrade,
    /// Sending the last replies, then closing.
    Closing,
}

/// One client's control connection.
#[derive(Debug)]
pub struct ControlConn {
    sock: Stream,
    peer: SocketAddr,
    cfg: Arc<Config>,
    listener: ConnId,
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
    /// Data connections owned by this session.
    data: datachan::DataSide,
    /// FTPS state (RFC 4217).
    sec: security::SecState,
    /// Server-wide state: sessions per user, bans, per-user bandwidth.
    shared: Arc<Shared>,
    /// The user whose session count this connection holds.
    user_session: Option<String>,
    /// Graceful shutdown: close after the running transfer.
    draining: bool,
    /// Per-server connection number, for machine-readable events.
    conn_id: u64,
    /// Replies queued so far and the last code (for command events).
    replies_sent: u64,
    last_code: Option<u16>,
}

impl ControlConn {
    /// Wraps an accepted socket. `refusal` makes the connection say `421 <refusal>` and close.
    pub(crate) fn new(
        sock: TcpStream,
        peer: SocketAddr,
        cfg: Arc<Config>,
        shared: Arc<Shared>,
        listener: ConnId,
        refusal: Option<Refusal>,
        implicit_tls: bool,
    ) -> io::Result<ControlConn> {
        sock.set_nodelay(true)?;
        // Telnet "Synch" before ABOR arrives as TCP urgent data: keep it in the stream.
        socket2::SockRef::from(&sock).set_out_of_band_inline(true)?;
        let conn_id = shared.next_conn_id();
        let mut sec = security::SecState::new(&cfg);
        let sock = match (implicit_tls, sec.config.clone()) {
            (true, Some(config)) => {
                sec.implicit();
                Stream::tls(sock, config, Some(&sec.token))?
            }
            _ => Stream::plain(sock),
        };
        Ok(ControlConn {
            sock,
            peer,
            cfg,
            listener,
            counted: refusal.is_none(),
            refusal,
            reader: LineReader::default(),
            out: OutBuf::default(),
            phase: Phase::New,
            session: Session::default(),
            idle: Deadline::default(),
            peer_eof: false,
            read_pending: false,
            data: datachan::DataSide::default(),
            sec,
            shared,
            user_session: None,
            draining: false,
            conn_id,
            replies_sent: 0,
            last_code: None,
        })
    }

    /// Who this session is, for hooks.
    fn info(&self) -> crate::SessionInfo<'_> {
        crate::SessionInfo {
            peer: self.peer,
            user: self.session.log_name(),
        }
    }

    /// `ip:port-[user]`, the prefix of every log line about this session.
    fn tag(&self) -> String {
        let addr = std::net::SocketAddr::new(canonical_ip(self.peer.ip()), self.peer.port());
        format!(
            "{}-[{}]",
            crate::net::display_addr(addr),
            self.session.log_name()
        )
    }

    pub(crate) fn source(&mut self) -> &mut dyn Source {
        self.sock.tcp_mut()
    }

    pub(crate) fn interest(&self) -> Interest {
        if self.out.is_empty() && !self.sock.wants_write() {
            Interest::READABLE
        } else {
            Interest::READABLE | Interest::WRITABLE
        }
    }

    pub(crate) fn readable(&mut self, cx: &mut Cx<'_>) -> Flow {
        self.pump(cx)
    }

    pub(crate) fn writable(&mut self, cx: &mut Cx<'_>) -> Flow {
        self.pump(cx)
    }

    pub(crate) fn resume(&mut self, cx: &mut Cx<'_>) -> Flow {
        self.pump(cx)
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
            Msg::DataConnected { .. } | Msg::DataFailed { .. } | Msg::DataClosed { .. } => {
                self.data_message(msg, cx)
            }
            Msg::Drain => {
                self.draining = true;
                if self.data.transfer.is_none() {
                    self.say_goodbye_for_shutdown();
                }
                self.pump(cx)
            }
            Msg::ControlClosed { .. } | Msg::DataStart(_) | Msg::Abort => Flow::Continue,
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
            TimerKind::AuthDelay => {
                if self.phase == Phase::AuthDelay {
                    self.auth_failed_reply();
                    self.pump(cx)
                } else {
                    Flow::Continue
                }
            }
            TimerKind::AcceptRetry | TimerKind::DataDeadline | TimerKind::Throttle => {
                Flow::Continue
            }
        }
    }

    pub(crate) fn closed(&mut self, cx: &mut Cx<'_>) {
        self.close_channel(cx);
        self.end_user_session();
        if self.counted {
            cx.send(
                self.listener,
                Msg::ControlClosed {
                    ip: canonical_ip(self.peer.ip()),
                },
            );
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
    fn start(&mut self, cx: &mut Cx<'_>) -> Flow {
        self.phase = Phase::Ready;
        self.touch(cx);
        match self.refusal {
            Some(why) => {
                log::warn!(
                    "{} refused: {} reason={}",
                    self.tag(),
                    why.text(),
                    why.code()
                );
                self.respond(Reply::new(ReplyCode::NotAvailable, why.text()));
                self.phase = Phase::Closing;
            }
            None => {
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

    /// Resets the idle timer (on every complete command, RFC 1123 §4.1.3.2).
    fn touch(&mut self, cx: &mut Cx<'_>) {
        if let Some(t) = self.cfg.idle_timeout {
            cx.set_deadline(&mut self.idle, t, TimerKind::Idle);
        }
    }

    /// Queues a reply (logging it with `-D`).
    fn respond(&mut self, reply: Reply) {
        self.replies_sent += 1;
        self.last_code = Some(reply.code().as_u16());
        if self.cfg.debug_commands {
            log::debug!("{} -> {}", self.tag(), reply.to_string().trim_end());
        }
        let mut wire = Vec::new();
        reply.write_to(&mut wire);
        self.cfg.encoding.encode_into(&wire, self.out.buf_mut());
    }

    /// The 421 of a server shutdown, then close once it is sent.
    fn say_goodbye_for_shutdown(&mut self) {
        if self.phase != Phase::Closing {
            self.respond(Reply::new(
                ReplyCode::NotAvailable,
                "Server is shutting down.",
            ));
            self.close_when_done();
        }
    }

    /// Asks to close once everything queued is sent.
    fn close_when_done(&mut self) {
        self.phase = Phase::Closing;
    }

    /// Reads what the socket has into the line reader, until `WouldBlock`, EOF or the cap.
    fn fill(&mut self) -> io::Result<()> {
        let mut chunk = [0u8; 4096];
        self.read_pending = false;
        while !self.peer_eof {
            if self.reader.pending() >= IN_CAP {
                self.read_pending = true;
                return Ok(());
            }
            match self.sock.read(&mut chunk) {
                Ok(0) => self.peer_eof = true,
                Ok(n) => self.reader.feed(&chunk[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// The connection's engine: flush, read, run commands, flush. See the module docs.
    fn pump(&mut self, cx: &mut Cx<'_>) -> Flow {
        if self.phase == Phase::New {
            return Flow::Continue;
        }
        for _ in 0..COMMAND_BUDGET {
            if let Err(e) = self.flush() {
                log::debug!("{} write error: {e}", self.tag());
                return Flow::Close;
            }
            if self.phase == Phase::TlsUpgrade && self.all_sent() {
                if let Err(e) = self.start_tls() {
                    log::warn!("{} cannot start TLS: {e}", self.tag());
                    return Flow::Close;
                }
            }
            if self.phase == Phase::Closing {
                return if self.all_sent() {
                    self.sock.send_close_notify();
                    let _ = self.sock.flush_tls();
                    let _ = self.sock.shutdown(Shutdown::Write);
                    Flow::Close
                } else {
                    Flow::Continue
                };
            }
            if let Err(e) = self.fill() {
                log::debug!("{} read error: {e}", self.tag());
                return Flow::Close;
            }
            self.log_tls_once();
            if self.phase != Phase::Ready {
                // A client that left during the password delay or the TLS switch is gone; one
                // waiting for a transfer still gets its replies.
                let gone = matches!(self.phase, Phase::AuthDelay | Phase::TlsUpgrade);
                return if self.peer_eof && gone {
                    Flow::Close
                } else {
                    Flow::Continue
                };
            }
            if self.out.len() >= OUT_CAP {
                // Backpressure: the writable event will call us again.
                return Flow::Continue;
            }
            match self.reader.next_line() {
                Some(Line::TooLong) => {
                    self.touch(cx);
                    self.respond(Reply::new(ReplyCode::SyntaxError, "Command too long."));
                }
                Some(Line::Complete(bytes)) => {
                    self.touch(cx);
                    self.on_line(&bytes, cx);
                }
                None => {
                    if self.peer_eof {
                        // Half-closed client: send every queued reply, then close.
                        self.phase = Phase::Closing;
                        continue;
                    }
                    if let Err(e) = self.flush() {
                        log::debug!("{} write error: {e}", self.tag());
                        return Flow::Close;
                    }
                    if self.phase == Phase::Closing && self.all_sent() {
                        return Flow::Close;
                    }
                    return if self.read_pending {
                        Flow::Yield
                    } else {
                        Flow::Continue
                    };
                }
            }
        }
        let _ = self.flush();
        Flow::Yield
    }

    /// Writes queued replies, then any TLS records.
    fn flush(&mut self) -> io::Result<()> {
        self.out.flush_to(&mut self.sock)?;
        self.sock.flush()
    }

    /// Every reply byte is on the wire (or in the kernel's buffer).
    fn all_sent(&self) -> bool {
        self.out.is_empty() && !self.sock.wants_write()
    }

    /// Parses, gates and runs one command line.
    fn on_line(&mut self, bytes: &[u8], cx: &mut Cx<'_>) {
        let line = self.cfg.encoding.decode(bytes);
        if self.cfg.debug_commands {
            log::debug!("{} <- {}", self.tag(), crate::log::mask_password(&line));
        }
        // RFC 959: RNFR must be followed immediately by RNTO; any other line, even a rejected
        // one, cancels it.
        let rnfr = self.session.rnfr.take();
        let replies_before = self.replies_sent;
        let reply = self.run_line(&line, rnfr, cx);
        let code = reply.as_ref().map(|r| r.code().as_u16());
        if !self.cfg.events.is_empty() {
            let masked = crate::log::mask_password(&line);
            // A command whose reply came out already (e.g. 125 before a transfer) or later.
            let code = code.or(self
                .last_code
                .filter(|_| self.replies_sent > replies_before));
            self.emit(&crate::events::Event::Command {
                conn: self.conn_id,
                peer: self.peer,
                user: self.session.log_name(),
                command: &masked,
                code,
            });
        }
        if let Some(reply) = reply {
            self.respond(reply);
        }
    }

    /// Parses, gates and dispatches one line; the immediate reply, if any.
    fn run_line(
        &mut self,
        line: &str,
        rnfr: Option<VirtualPath>,
        cx: &mut Cx<'_>,
    ) -> Option<Reply> {
        if let Some(reply) = self.custom_site(line) {
            return Some(reply);
        }
        let cmd = match parser::parse(line) {
            Ok(cmd) => cmd,
            Err(reply) => return Some(reply),
        };
        if let Err(reply) = gate::check_command(cmd.spec, self.session.logged_in()) {
            return Some(reply);
        }
        if let Err(reply) = gate::check_tls(
            cmd.spec,
            self.cfg.tls.as_deref(),
            self.sock.is_tls(),
            self.sec.prot_private,
        ) {
            return Some(reply);
        }
        self.dispatch(cmd.spec.verb, &cmd.arg, rnfr, cx)
    }

    /// Reports an event to every configured sink.
    fn emit(&self, event: &crate::events::Event<'_>) {
        for sink in &self.cfg.events {
            sink.event(event);
        }
    }
}
