//! What the server counts for Prometheus, and the health an orchestrator asks about.
//!
//! An FTP daemon is a black box to its operator unless it says how it is doing: how many
//! sessions run, how many logins fail and why, how many bytes move, whether the passive range
//! runs out, how long one turn of the event loop takes (the number that tells a single-threaded
//! server is keeping up). [`Metrics`] holds those counters. They are plain atomics from the
//! `prometheus-client` crate, shared by every handler (and every `--workers` loop) through
//! `state::Shared`: counting is one relaxed add on the path that already does the
//! work, so the metrics are always on. Reading them is [`Metrics::encode`]; the daemon serves
//! that over HTTP from the same event loop (`--metrics-listen`, `Server::add_metrics_listener`,
//! the handler in `metrics/http.rs`), and an embedder may serve it from its own.
//!
//! The exposition comes in the two formats Prometheus reads: OpenMetrics (what Prometheus asks
//! for first) and the classic text format 0.0.4 (what `curl` and `promtool check metrics`
//! get). They differ in one detail that matters: OpenMetrics names a counter family without
//! its `_total` suffix, the classic format with it.

mod classic;
pub(crate) mod http;
mod status;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

pub use status::Health;
pub(crate) use status::Status;

/// Labels with fixed names and values chosen by the server (never by a client, so the number
/// of series stays bounded).
type Labels<const N: usize> = [(&'static str, &'static str); N];

/// The exposition formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// OpenMetrics 1.0 text (`application/openmetrics-text`), ending in `# EOF`.
    OpenMetrics,
    /// The Prometheus text format 0.0.4 (`text/plain`).
    Classic,
}

impl Format {
    /// The `Content-Type` of a response in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
            Format::Classic => "text/plain; version=0.0.4; charset=utf-8",
        }
    }
}

/// The loop's own meters, handed to the dispatcher and its blocking-work pool.
#[derive(Debug, Clone)]
pub struct LoopMeters {
    /// Wall time of one loop turn: from the poll's return to the end of the timers and bulk work.
    pub turn: Histogram,
    /// Jobs waiting for a blocking-pool worker.
    pub pool_queued: Gauge,
    /// Wall time of one blocking-pool job.
    pub pool_job: Histogram,
    /// Times the pool's idle-class workers were lifted because other programs starved them.
    pub pool_lifts: Counter,
    /// Naps the daemon's loops took before polling (`--coalesce`).
    pub naps: Counter,
}

/// Every counter of one server (all its workers).
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    sessions: Counter,
    sessions_active: Gauge,
    refused: Family<Labels<1>, Counter>,
    logins: Counter,
    login_failures: Family<Labels<1>, Counter>,
    commands: Family<Labels<2>, Counter>,
    data_bytes: Family<Labels<1>, Counter>,
    transfers: Family<Labels<2>, Counter>,
    passive_listeners: Gauge,
    passive_exhausted: Counter,
    bans: Counter,
    tls: Family<Labels<2>, Counter>,
    loop_meters: LoopMeters,
    pub(crate) status: Status,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

/// 16 buckets from 50 µs to 1.6 s: a turn of a healthy loop is well under a millisecond, a
/// stalled one (a slow disk, a bcrypt on the loop) shows up in the upper buckets.
fn seconds_buckets() -> impl Iterator<Item = f64> {
    exponential_buckets(0.000_05, 2.0, 16)
}

impl Metrics {
    /// A fresh set of counters, all zero.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("ftpdlib");
        let loop_meters = LoopMeters {
            turn: Histogram::new(seconds_buckets()),
            pool_queued: Gauge::default(),
            pool_job: Histogram::new(seconds_buckets()),
            pool_lifts: Counter::default(),
            naps: Counter::default(),
        };
        let m = Metrics {
            registry: Registry::default(),
            sessions: Counter::default(),
            sessions_active: Gauge::default(),
            refused: Family::default(),
            logins: Counter::default(),
            login_failures: Family::default(),
            commands: Family::default(),
            data_bytes: Family::default(),
            transfers: Family::default(),
            passive_listeners: Gauge::default(),
            passive_exhausted: Counter::default(),
            bans: Counter::default(),
            tls: Family::default(),
            loop_meters,
            status: Status::default(),
        };
        m.register(&mut registry);
        Metrics { registry, ..m }
    }

    fn register(&self, r: &mut Registry) {
        r.register(
            "sessions",
            "Control connections accepted and served",
            self.sessions.clone(),
        );
        r.register(
            "sessions_active",
            "Control connections open now",
            self.sessions_active.clone(),
        );
        r.register(
            "connections_refused",
            "Control connections told 421 at connect, by reason",
            self.refused.clone(),
        );
        r.register("logins", "Successful logins", self.logins.clone());
        r.register(
            "login_failures",
            "Failed logins, by reason code (as in the log's reason=)",
            self.login_failures.clone(),
        );
        r.register(
            "commands",
            "Commands, by verb and class of their reply",
            self.commands.clone(),
        );
        r.register(
            "data_bytes",
            "Bytes moved on data connections (files and listings), by direction",
            self.data_bytes.clone(),
        );
        r.register(
            "transfers",
            "File transfers ended, by direction and result",
            self.transfers.clone(),
        );
        r.register(
            "passive_listeners",
            "Passive ports listening now (waiting for a data connection)",
            self.passive_listeners.clone(),
        );
        r.register(
            "passive_exhausted",
            "PASV/EPSV refused because every port of the passive range was busy",
            self.passive_exhausted.clone(),
        );
        r.register(
            "bans",
            "Client IPs banned after repeated failed logins",
            self.bans.clone(),
        );
        r.register(
            "tls_handshakes",
            "TLS handshakes, by channel (control, data) and result",
            self.tls.clone(),
        );
        self.register_loop(r);
    }

    fn register_loop(&self, r: &mut Registry) {
        let l = &self.loop_meters;
        r.register(
            "loop_turn_seconds",
            "Wall time of one event-loop turn",
            l.turn.clone(),
        );
        r.register(
            "pool_queued_jobs",
            "Jobs waiting for a blocking-work pool thread",
            l.pool_queued.clone(),
        );
        r.register(
            "pool_job_seconds",
            "Wall time of one blocking-work pool job",
            l.pool_job.clone(),
        );
        r.register(
            "pool_lifts",
            "Times the idle-class pool threads were lifted to nice +5: other programs starved them",
            l.pool_lifts.clone(),
        );
        r.register(
            "loop_naps",
            "Naps the event loops took before polling, to serve several events at one wake-up",
            l.naps.clone(),
        );
    }

    /// The exposition of every metric, in `format`.
    pub fn encode(&self, format: Format, sessions_now: usize) -> String {
        self.sessions_active
            .set(i64::try_from(sessions_now).unwrap_or(i64::MAX));
        let mut out = String::with_capacity(8192);
        // Writing into a String cannot fail; a metric that failed to encode is left out.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        match format {
            Format::OpenMetrics => out,
            Format::Classic => classic::from_openmetrics(&out),
        }
    }

    /// Counts one nap of an event loop (`ftpdlib_loop_naps_total`).
    pub fn count_nap(&self) {
        self.loop_meters.naps.inc();
    }

    /// The meters of the event loop and its pool (for the dispatcher's `set_meters`).
    pub fn loop_meters(&self) -> LoopMeters {
        self.loop_meters.clone()
    }

    /// The health an orchestrator asks about (`/health`, `/ready`).
    pub fn health(&self, sessions_now: usize, max_cons: usize) -> Health {
        self.status.health(sessions_now, max_cons)
    }

    pub(crate) fn session_opened(&self) {
        self.sessions.inc();
    }

    pub(crate) fn refused(&self, reason: &'static str) {
        self.refused.get_or_create(&[("reason", reason)]).inc();
    }

    pub(crate) fn login_ok(&self) {
        self.logins.inc();
    }

    pub(crate) fn login_failed(&self, reason: &'static str) {
        self.login_failures
            .get_or_create(&[("reason", reason)])
            .inc();
    }

    /// One command and the code of its reply (`None`: no reply yet, e.g. a transfer's 150
    /// comes later, or the session closed).
    pub(crate) fn command(&self, verb: &'static str, code: Option<u16>) {
        let class = match code.map(|c| c / 100) {
            Some(1) => "1xx",
            Some(2) => "2xx",
            Some(3) => "3xx",
            Some(4) => "4xx",
            Some(5) => "5xx",
            _ => "none",
        };
        self.commands
            .get_or_create(&[("command", verb), ("class", class)])
            .inc();
    }

    /// The counter of data bytes in one direction (`upload`: client to server), for a data
    /// connection to add to as it moves bytes.
    pub(crate) fn data_bytes(&self, upload: bool) -> Counter {
        let dir = if upload { "in" } else { "out" };
        self.data_bytes.get_or_create_owned(&[("direction", dir)])
    }

    /// A file transfer ended: `result` is `ok`, `failed` or `aborted`.
    pub(crate) fn transfer(&self, upload: bool, result: &'static str) {
        let dir = if upload { "upload" } else { "download" };
        self.transfers
            .get_or_create(&[("direction", dir), ("result", result)])
            .inc();
    }

    /// The gauge of passive listeners, for each acceptor to raise and lower.
    pub(crate) fn passive_listeners(&self) -> Gauge {
        self.passive_listeners.clone()
    }

    pub(crate) fn passive_exhausted(&self) {
        self.passive_exhausted.inc();
    }

    pub(crate) fn banned(&self) {
        self.bans.inc();
    }

    /// A TLS handshake ended on the `control` or `data` channel.
    pub(crate) fn tls_handshake(&self, channel: &'static str, ok: bool) {
        let result = if ok { "ok" } else { "failed" };
        self.tls
            .get_or_create(&[("channel", channel), ("result", result)])
            .inc();
    }
}

#[cfg(test)]
mod tests;
