//! The control connection's engine: reading command lines, running them, writing replies.
//!
//! The dispatcher's `readable`, `writable` and `resume` for a control connection arrive here
//! (through `FtpHandler`), and all three call `pump`.
//!
//! `pump` is the one function every callback ends in: flush replies, read what the socket
//! has (until `WouldBlock`, or until the input buffer is at its cap), run complete lines in
//! order, flush again. It runs commands only in the `Ready` phase and only while the reply
//! buffer is under its cap (backpressure), and since mio is edge-triggered it returns
//! `Flow::Yield` whenever it stopped reading with data possibly left in the socket.
//!
//! **Short reads and urgent data.** On plain TCP, `fill` stops at a read that returned less
//! than it asked for, instead of paying for the `recv` that would only say `EAGAIN`. That
//! proves the socket empty except in one case: TCP urgent data. Classic clients send ABOR
//! (and sometimes STAT) as RFC 959 §4.1.3 describes: Telnet "Interrupt Process" and "Synch",
//! part of it with `MSG_OOB`; Python's `ftplib.FTP.abort()` sends the whole `ABOR\r\n` that
//! way, which makes the final LF the urgent byte. The socket has `SO_OOBINLINE`, so the
//! urgent byte stays in the stream, but Linux ends a `recv` *at the urgent mark*: the read
//! returns `ABOR\r`, short, with the LF still queued, and no further edge will come for it.
//! The kernel also raises `EPOLLPRI` while urgent data is pending, so the control socket is
//! registered with `Interest::PRIORITY` too ([`READ_INTEREST`]), and an event that carries
//! it (`Context::urgent`) makes `fill` read until `WouldBlock`, through every mark. That
//! costs nothing for the commands of ordinary clients, and exactly one more `recv` for an
//! urgent one. Systems without `EPOLLPRI` in mio (everything but Linux and Android) read
//! until `WouldBlock` always ([`SHORT_READ_PROVES_EMPTY`] is false there).

use std::io::{self, Read, Write};
use std::net::Shutdown;

use super::{ControlConn, Phase, COMMAND_BUDGET, IN_CAP, OUT_CAP};
use crate::fs::VirtualPath;
use crate::ioloop::Flow;
use crate::line::Line;
use crate::msg::{Cx, TimerKind};
use crate::reply::{Reply, ReplyCode};

/// The read-side interest of a control connection: readable, and urgent data where mio can
/// report it (see the module docs).
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(super) const READ_INTEREST: mio::Interest =
    mio::Interest::READABLE.add(mio::Interest::PRIORITY);
/// The read-side interest of a control connection (no urgent-data events on this system).
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(super) const READ_INTEREST: mio::Interest = mio::Interest::READABLE;

/// Whether a short read on a plain socket may end reading until the next event: only where
/// `EPOLLPRI` tells us about the urgent mark that also shortens reads.
const SHORT_READ_PROVES_EMPTY: bool = cfg!(any(target_os = "linux", target_os = "android"));

impl ControlConn {
    /// The socket has bytes (or the peer closed, or urgent data is pending): pump.
    pub(crate) fn readable(&mut self, cx: &mut Cx<'_>) -> Flow {
        self.drained = false;
        self.read_to_block = cx.peer_closed() || cx.urgent();
        self.pump(cx)
    }

    /// The socket takes bytes again: pump (flushes what waits).
    pub(crate) fn writable(&mut self, cx: &mut Cx<'_>) -> Flow {
        self.pump(cx)
    }

    /// The turn after a `Flow::Yield`: pump on.
    pub(crate) fn resume(&mut self, cx: &mut Cx<'_>) -> Flow {
        self.pump(cx)
    }

    /// Queues a reply (logging it with `-D`).
    pub(super) fn respond(&mut self, reply: Reply) {
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
    pub(super) fn say_goodbye_for_shutdown(&mut self) {
        if self.phase != Phase::Closing {
            self.respond(Reply::new(
                ReplyCode::NotAvailable,
                "Server is shutting down.",
            ));
            self.close_when_done();
        }
    }

    /// Asks to close once everything queued is sent.
    pub(super) fn close_when_done(&mut self) {
        self.phase = Phase::Closing;
    }

    /// Reads what the socket has into the line reader, until `WouldBlock`, EOF or the cap.
    ///
    /// On plain TCP a read that returns less than asked for already proves the socket is
    /// empty, so the `recv` that would only say `EAGAIN` is skipped, and so is every read
    /// until the next readable event (`drained`). Two `recv` calls per command saved; a
    /// command costs about eight system calls, so this is not noise. The exceptions are an
    /// event that also reported the peer's close (read on until EOF is seen, as no later
    /// event will report it) and one that reported urgent data (a read stops at the urgent
    /// mark: see the module docs). TLS streams read until `WouldBlock` (rustls may hold
    /// decrypted bytes the socket no longer shows).
    pub(super) fn fill(&mut self) -> io::Result<()> {
        let mut chunk = [0u8; 4096];
        self.read_pending = false;
        let plain = !self.sock.is_tls();
        let short_ends = plain && SHORT_READ_PROVES_EMPTY && !self.read_to_block;
        while !self.peer_eof && !self.drained {
            if self.reader.pending() >= IN_CAP {
                self.read_pending = true;
                return Ok(());
            }
            match self.sock.read(&mut chunk) {
                Ok(0) => self.peer_eof = true,
                Ok(n) => {
                    self.reader.feed(&chunk[..n]);
                    self.drained = short_ends && n < chunk.len();
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.drained = plain;
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// The connection's engine: flush, read, run commands, flush. See the module docs.
    pub(super) fn pump(&mut self, cx: &mut Cx<'_>) -> Flow {
        if self.phase == Phase::New {
            return Flow::Continue;
        }
        if self.phase == Phase::ProxyHeader {
            return self.read_proxy_header(cx);
        }
        for _ in 0..COMMAND_BUDGET {
            if let Some(flow) = self.exchange() {
                return flow;
            }
            if self.phase != Phase::Ready {
                return self.while_waiting();
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
                    if let Some(flow) = self.out_of_lines() {
                        return flow;
                    }
                }
            }
        }
        let _ = self.flush();
        Flow::Yield
    }

    /// One round of socket I/O: send queued replies, switch to TLS once `234` is out, finish
    /// a closing session, read what the client sent. `Some(flow)` ends the pump.
    fn exchange(&mut self) -> Option<Flow> {
        if let Err(e) = self.flush() {
            log::debug!("{} write error: {e}", self.tag());
            return Some(Flow::Close);
        }
        if self.phase == Phase::TlsUpgrade && self.all_sent() {
            if let Err(e) = self.start_tls() {
                log::warn!("{} cannot start TLS: {e}", self.tag());
                return Some(Flow::Close);
            }
        }
        if self.phase == Phase::Closing {
            return Some(if self.all_sent() {
                self.sock.send_close_notify();
                let _ = self.sock.flush_tls();
                let _ = self.sock.shutdown(Shutdown::Write);
                Flow::Close
            } else {
                Flow::Continue
            });
        }
        if let Err(e) = self.fill() {
            log::debug!("{} read error: {e}", self.tag());
            return Some(Flow::Close);
        }
        let tag = self.tag();
        self.sec.log_once(&self.sock, &tag, &self.shared.metrics);
        None
    }

    /// While a command waits (a password check, an offloaded call, the delayed 530, the TLS
    /// switch, a transfer), lines stay queued. A client that left during the password delay
    /// or the TLS switch is gone; one waiting for a transfer still gets its replies.
    fn while_waiting(&self) -> Flow {
        let gone = matches!(
            self.phase,
            Phase::Authenticating | Phase::Offloaded | Phase::AuthDelay | Phase::TlsUpgrade
        );
        if self.peer_eof && gone {
            Flow::Close
        } else {
            Flow::Continue
        }
    }

    /// No complete line is buffered: flush and wait for more, or, for a client that
    /// half-closed, start closing (`None`: go round again to send every queued reply).
    fn out_of_lines(&mut self) -> Option<Flow> {
        if self.peer_eof {
            self.phase = Phase::Closing;
            return None;
        }
        if let Err(e) = self.flush() {
            log::debug!("{} write error: {e}", self.tag());
            return Some(Flow::Close);
        }
        if self.phase == Phase::Closing && self.all_sent() {
            return Some(Flow::Close);
        }
        Some(if self.read_pending {
            Flow::Yield
        } else {
            Flow::Continue
        })
    }

    /// Resets the idle timer (on every complete command, RFC 1123 §4.1.3.2).
    pub(super) fn touch(&mut self, cx: &mut Cx<'_>) {
        if let Some(t) = self.cfg.idle_timeout {
            cx.set_deadline(&mut self.idle, t, TimerKind::Idle);
        }
    }

    /// Writes queued replies, then any TLS records.
    pub(super) fn flush(&mut self) -> io::Result<()> {
        self.out.flush_to(&mut self.sock)?;
        self.sock.flush()
    }

    /// Every reply byte is on the wire (or in the kernel's buffer).
    pub(super) fn all_sent(&self) -> bool {
        self.out.is_empty() && !self.sock.wants_write()
    }

    /// Parses, gates and runs one command line.
    pub(super) fn on_line(&mut self, bytes: &[u8], cx: &mut Cx<'_>) {
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
        // PASS and offloaded commands answer later, from the blocking pool: their event goes
        // out with that answer (`finish_deferred`).
        let deferred = matches!(self.phase, Phase::Authenticating | Phase::Offloaded);
        if deferred {
            self.deferred_cmd = Some(crate::log::mask_password(&line));
        } else {
            // A command whose reply came out already (e.g. 125 before a transfer) or later.
            let code = code
                .or(self
                    .last_code
                    .filter(|_| self.replies_sent > replies_before))
                .or(self.delayed_530());
            self.count_command(&line, code);
        }
        if let Some(reply) = reply {
            self.respond(reply);
        }
    }

    /// Runs one line through the command core (`ops::run_line`) and applies its outcome; the
    /// immediate reply, if any.
    pub(super) fn run_line(
        &mut self,
        line: &str,
        rnfr: Option<VirtualPath>,
        cx: &mut Cx<'_>,
    ) -> Option<Reply> {
        let local = self.local_addr();
        let outcome = {
            let mut core = self.core(None, local, cx.now);
            super::ops::run_line(&mut core, line, rnfr)
        };
        self.apply(outcome, cx)
    }

    /// Reads and applies the PROXY header (see [`crate::proxy`]), then greets the real client
    /// or refuses it (ban, per-IP limit). A connection without a valid header is closed.
    fn read_proxy_header(&mut self, cx: &mut Cx<'_>) -> Flow {
        let (header, rest) = match crate::proxy::read_header(&mut self.sock, &mut self.proxy_buf) {
            crate::proxy::Read::Pending => return Flow::Continue,
            crate::proxy::Read::Closed => return Flow::Close,
            crate::proxy::Read::Done(header, rest) => (header, rest),
            crate::proxy::Read::Refused(why) => {
                log::warn!("{} refused: {why} reason=bad-proxy-header", self.tag());
                return Flow::Close;
            }
        };
        if self.tls_after_header {
            // Implicit FTPS: what follows the header is the TLS handshake.
            let Some(config) = self.sec.config.clone() else {
                return Flow::Close;
            };
            if let Err(e) = self.sock.upgrade_with(config, Some(&self.sec.token), &rest) {
                log::warn!("{} TLS after PROXY header failed: {e}", self.tag());
                return Flow::Close;
            }
        } else {
            self.reader.feed(&rest);
        }
        self.proxy_header_done(header.source, cx)
    }

    fn proxy_header_done(&mut self, source: Option<std::net::SocketAddr>, cx: &mut Cx<'_>) -> Flow {
        let Some(client) = source else {
            // LOCAL/UNKNOWN (a health check from the balancer): serve with the real address.
            return self.greet(cx);
        };
        log::debug!("{} PROXY header: client is {client}", self.tag());
        let ip = crate::net::canonical_ip(client.ip());
        self.peer = client;
        if self.shared.is_banned(ip, cx.now) {
            self.refusal = Some(crate::state::Refusal::Banned);
        } else if let Err(why) = self
            .shared
            .move_ip(self.counted_ip, ip, self.cfg.max_cons_per_ip)
        {
            self.refusal = Some(why);
        } else {
            self.counted_ip = ip;
        }
        self.greet(cx)
    }

    /// Called by `pump` once the 234 is sent: switch the socket to TLS.
    pub(super) fn start_tls(&mut self) -> io::Result<()> {
        let config = self
            .sec
            .config
            .clone()
            .ok_or_else(|| io::Error::other("TLS is not configured"))?;
        // Bytes read between the AUTH line and now were sent in plaintext: never run them.
        self.reader.clear();
        self.drained = false;
        self.sock.upgrade(config, Some(&self.sec.token))?;
        self.phase = Phase::Ready;
        Ok(())
    }
}
