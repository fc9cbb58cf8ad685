//! Health and readiness: the two questions a load balancer or an orchestrator asks.
//!
//! *Healthy* means a new FTP client would be greeted now: some FTP listener is open, none is
//! paused after an accept error (out of file descriptors), and the server is below
//! `max_cons` (above it, clients get `421`). *Ready* means healthy and not draining for a
//! shutdown: a load balancer should stop sending new clients once the server drains, while
//! running transfers finish. The listeners and `Server::drain` keep the facts up to date.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// Facts the listeners and the server report, shared by all workers.
#[derive(Debug, Default)]
pub(crate) struct Status {
    /// FTP listeners open.
    listeners: AtomicUsize,
    /// FTP listeners paused after an accept error (EMFILE/ENFILE), until their retry.
    paused: AtomicUsize,
    /// A graceful shutdown has started.
    draining: AtomicBool,
}

/// The answer to `/health` and `/ready`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    /// New clients are greeted, and the server is not draining.
    Ready,
    /// The server is draining for shutdown (healthy, not ready).
    Draining,
    /// No FTP listener is open.
    NotListening,
    /// A listener cannot accept (out of file descriptors); it retries.
    AcceptFailing,
    /// `max_cons` reached: new clients get `421`.
    Full,
}

impl Health {
    /// Healthy: a new client would be greeted (draining counts: the listener may still be
    /// open for the clients already on their way).
    pub fn healthy(self) -> bool {
        matches!(self, Health::Ready | Health::Draining)
    }

    /// Ready: healthy and not draining.
    pub fn ready(self) -> bool {
        self == Health::Ready
    }

    /// One line for the HTTP body.
    pub fn text(self) -> &'static str {
        match self {
            Health::Ready => "ok",
            Health::Draining => "draining for shutdown",
            Health::NotListening => "no FTP listener is open",
            Health::AcceptFailing => "an FTP listener cannot accept connections",
            Health::Full => "max-cons reached: new clients get 421",
        }
    }
}

impl Status {
    pub(crate) fn listener_opened(&self) {
        self.listeners.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn listener_closed(&self) {
        self.listeners.fetch_sub(1, Ordering::Relaxed);
    }

    /// A listener paused (`true`) after an accept error, or resumed (`false`).
    pub(crate) fn accept_paused(&self, paused: bool) {
        if paused {
            self.paused.fetch_add(1, Ordering::Relaxed);
        } else {
            self.paused.fetch_sub(1, Ordering::Relaxed);
        }
    }

    pub(crate) fn drain(&self) {
        self.draining.store(true, Ordering::Relaxed);
    }

    /// The health given the sessions open now and the limit (0 = none).
    pub(crate) fn health(&self, sessions: usize, max_cons: usize) -> Health {
        if self.draining.load(Ordering::Relaxed) {
            Health::Draining
        } else if self.listeners.load(Ordering::Relaxed) == 0 {
            Health::NotListening
        } else if self.paused.load(Ordering::Relaxed) > 0 {
            Health::AcceptFailing
        } else if max_cons > 0 && sessions >= max_cons {
            Health::Full
        } else {
            Health::Ready
        }
    }
}
