//! A small HTTP/1.1 server for `/metrics`, `/health` and `/ready`, on the FTP server's own loop.
//!
//! Prometheus scrapes over HTTP, and load balancers and orchestrators probe over HTTP. Rather
//! than a thread with an HTTP stack beside the loop, the status endpoint is two more kinds of
//! handler in the same slab, written like the FTP ones: [`StatusListener`] accepts (a few per
//! turn), and each [`HttpConn`] reads one request (headers only, at most 8 KiB), writes one
//! response with `Connection: close`, and closes. A request that is not complete within
//! [`REQUEST_TIMEOUT`] is dropped, so a slow client costs one slot and one timer, never a
//! stall. Answering is cheap: encoding every metric is a few microseconds of formatting.
//!
//! Routes: `GET /metrics` (OpenMetrics when the `Accept` header asks for it, as Prometheus
//! does, else the classic text format), `GET /health` and `GET /ready` (`200 ok` or `503`
//! with the reason, see [`super::Health`]). `HEAD` works on each; any other method is
//! `405`, any other path `404`.

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use mio::event::Source;
use mio::net::{TcpListener, TcpStream};
use mio::Interest;

use super::Format;
use crate::config::LiveConfig;
use crate::ioloop::Flow;
use crate::msg::{Cx, Msg, TimerKind};
use crate::state::Shared;

/// The longest request head accepted.
const MAX_REQUEST: usize = 8192;
/// Connections open at once; more are closed at accept.
const MAX_CONNS: usize = 32;
/// Time a client has to send its request and read the response.
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// What every status connection of one listener shares.
#[derive(Debug, Clone)]
struct Site {
    shared: Arc<Shared>,
    live: Arc<LiveConfig>,
    open: Arc<AtomicUsize>,
}

/// Accepts HTTP connections for the status endpoint.
#[derive(Debug)]
pub(crate) struct StatusListener {
    sock: TcpListener,
    site: Site,
}

impl StatusListener {
    pub(crate) fn new(sock: TcpListener, shared: Arc<Shared>, live: Arc<LiveConfig>) -> Self {
        let open = Arc::new(AtomicUsize::new(0));
        StatusListener {
            sock,
            site: Site { shared, live, open },
        }
    }

    pub(crate) fn source(&mut self) -> &mut dyn Source {
        &mut self.sock
    }

    pub(crate) fn interest(&self) -> Interest {
        Interest::READABLE
    }

    pub(crate) fn readable(&mut self, cx: &mut Cx<'_>) -> Flow {
        for _ in 0..MAX_CONNS {
            match self.sock.accept() {
                Ok((sock, peer)) => self.admit(sock, peer, cx),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Flow::Continue,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::ConnectionAborted => {}
                Err(e) => {
                    log::warn!("metrics: accept failed: {e}");
                    return Flow::Continue;
                }
            }
        }
        Flow::Yield
    }

    fn admit(&mut self, sock: TcpStream, peer: SocketAddr, cx: &mut Cx<'_>) {
        if self.site.open.load(Ordering::Relaxed) >= MAX_CONNS || !cx.has_room() {
            log::debug!("metrics: {peer} dropped: too many connections");
            return;
        }
        self.site.open.fetch_add(1, Ordering::Relaxed);
        let conn = HttpConn {
            sock,
            peer,
            site: self.site.clone(),
            head: Vec::new(),
            out: Vec::new(),
            sent: 0,
        };
        match cx.spawn(Box::new(conn).into()) {
            Ok(id) => cx.send(id, Msg::Start),
            Err(e) => {
                // The handler was dropped without `closed`: give its place back here.
                self.site.open.fetch_sub(1, Ordering::Relaxed);
                log::warn!("metrics: {peer} dropped: {e}");
            }
        }
    }

    pub(crate) fn writable(&mut self, _cx: &mut Cx<'_>) -> Flow {
        Flow::Continue
    }

    pub(crate) fn resume(&mut self, cx: &mut Cx<'_>) -> Flow {
        self.readable(cx)
    }

    pub(crate) fn timer(&mut self, _kind: TimerKind, _cx: &mut Cx<'_>) -> Flow {
        Flow::Continue
    }

    /// Closes at shutdown; stays open while the server drains, so that `/ready` can say so.
    pub(crate) fn message(&mut self, msg: Msg, _cx: &mut Cx<'_>) -> Flow {
        match msg {
            Msg::Shutdown => Flow::Close,
            _ => Flow::Continue,
        }
    }

    pub(crate) fn closed(&mut self, _cx: &mut Cx<'_>) {}

    pub(crate) fn state(&self) -> &'static str {
        "status:listening"
    }
}

/// One HTTP connection: read a request head, write the response, close.
#[derive(Debug)]
pub(crate) struct HttpConn {
    sock: TcpStream,
    peer: SocketAddr,
    site: Site,
    /// The request head read so far.
    head: Vec<u8>,
    /// The response, once the head is complete.
    out: Vec<u8>,
    sent: usize,
}

impl HttpConn {
    pub(crate) fn source(&mut self) -> &mut dyn Source {
        &mut self.sock
    }

    pub(crate) fn interest(&self) -> Interest {
        if self.out.is_empty() {
            Interest::READABLE
        } else {
            Interest::WRITABLE
        }
    }

    pub(crate) fn readable(&mut self, _cx: &mut Cx<'_>) -> Flow {
        if !self.out.is_empty() {
            return Flow::Continue;
        }
        let mut buf = [0u8; 2048];
        // Edge-triggered: read until WouldBlock. Bounded: each read adds a byte or more, and
        // the head is capped at MAX_REQUEST.
        for _ in 0..=MAX_REQUEST {
            match self.sock.read(&mut buf) {
                Ok(0) => return Flow::Close,
                Ok(n) => self.head.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Flow::Continue,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => return Flow::Close,
            }
            let end = head_end(&self.head);
            if end.unwrap_or(self.head.len()) > MAX_REQUEST {
                self.out = response(431, "Request Header Fields Too Large", "", "too large\n");
                return self.send();
            }
            if let Some(end) = end {
                self.head.truncate(end);
                self.out = self.respond();
                return self.send();
            }
        }
        Flow::Yield
    }

    pub(crate) fn writable(&mut self, _cx: &mut Cx<'_>) -> Flow {
        if self.out.is_empty() {
            return Flow::Continue;
        }
        self.send()
    }

    /// Writes what the kernel takes; closes once the whole response is out.
    fn send(&mut self) -> Flow {
        while self.sent < self.out.len() {
            match self.sock.write(&self.out[self.sent..]) {
                Ok(0) => return Flow::Close,
                Ok(n) => self.sent += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Flow::Continue,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return Flow::Close,
            }
        }
        let _ = self.sock.shutdown(std::net::Shutdown::Write);
        Flow::Close
    }

    /// The response to the request head in `self.head`.
    fn respond(&self) -> Vec<u8> {
        let head = String::from_utf8_lossy(&self.head);
        let mut lines = head.lines();
        let request = lines.next().unwrap_or_default();
        let mut parts = request.split(' ');
        let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        let path = target.split('?').next().unwrap_or("");
        let accept = lines
            .filter_map(|l| l.split_once(':'))
            .find(|(name, _)| name.trim().eq_ignore_ascii_case("accept"))
            .map_or("", |(_, value)| value);
        log::debug!("metrics: {} {method} {path}", self.peer);
        let full = match (method, path) {
            ("GET" | "HEAD", "/metrics") => self.metrics(accept),
            ("GET" | "HEAD", "/health" | "/ready") => self.health(path == "/ready"),
            ("GET" | "HEAD", _) => {
                response(404, "Not Found", "", "try /metrics, /health or /ready\n")
            }
            _ => response(
                405,
                "Method Not Allowed",
                "Allow: GET, HEAD\r\n",
                "GET or HEAD only\n",
            ),
        };
        if method == "HEAD" {
            without_body(full)
        } else {
            full
        }
    }

    fn metrics(&self, accept: &str) -> Vec<u8> {
        let format = if accept.contains("application/openmetrics-text") {
            Format::OpenMetrics
        } else {
            Format::Classic
        };
        let shared = &self.site.shared;
        let body = shared.metrics.encode(format, shared.connections());
        let header = format!("Content-Type: {}\r\n", format.content_type());
        response(200, "OK", &header, &body)
    }

    fn health(&self, readiness: bool) -> Vec<u8> {
        let shared = &self.site.shared;
        let max_cons = self.site.live.current().max_cons;
        let health = shared.metrics.health(shared.connections(), max_cons);
        let good = if readiness {
            health.ready()
        } else {
            health.healthy()
        };
        let body = format!("{}\n", health.text());
        if good {
            response(200, "OK", "", &body)
        } else {
            response(503, "Service Unavailable", "", &body)
        }
    }

    pub(crate) fn resume(&mut self, cx: &mut Cx<'_>) -> Flow {
        self.readable(cx)
    }

    pub(crate) fn timer(&mut self, kind: TimerKind, _cx: &mut Cx<'_>) -> Flow {
        if kind == TimerKind::HttpTimeout {
            log::debug!("metrics: {} timed out", self.peer);
            return Flow::Close;
        }
        Flow::Continue
    }

    pub(crate) fn message(&mut self, msg: Msg, cx: &mut Cx<'_>) -> Flow {
        match msg {
            Msg::Start => {
                cx.after(REQUEST_TIMEOUT, TimerKind::HttpTimeout);
                Flow::Continue
            }
            Msg::Shutdown => Flow::Close,
            _ => Flow::Continue,
        }
    }

    pub(crate) fn closed(&mut self, _cx: &mut Cx<'_>) {
        self.site.open.fetch_sub(1, Ordering::Relaxed);
    }

    pub(crate) fn state(&self) -> &'static str {
        if self.out.is_empty() {
            "http:reading"
        } else {
            "http:writing"
        }
    }
}

/// Where the request head ends (after its blank line), if it has.
fn head_end(buf: &[u8]) -> Option<usize> {
    let crlf = buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4);
    let lf = buf.windows(2).position(|w| w == b"\n\n").map(|i| i + 2);
    match (crlf, lf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// A complete response that closes the connection.
fn response(code: u16, reason: &str, headers: &str, body: &str) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {code} {reason}\r\n{headers}Content-Length: {}\r\n\
         Cache-Control: no-store\r\nConnection: close\r\n",
        body.len()
    );
    if !headers.starts_with("Content-Type") {
        out.push_str("Content-Type: text/plain; charset=utf-8\r\n");
    }
    out.push_str("\r\n");
    out.push_str(body);
    out.into_bytes()
}

/// The same response without its body (for `HEAD`): the headers still give its length.
fn without_body(mut full: Vec<u8>) -> Vec<u8> {
    if let Some(end) = head_end(&full) {
        full.truncate(end);
    }
    full
}

#[cfg(test)]
mod tests;
