//! The life cycle of a control connection, as one enum: where it is ([`Phase`]) and, when it
//! waits for the data side, what for ([`WaitFor`]). A state that cannot happen cannot be
//! written: there is no flag beside the phase to contradict it.

/// Where the connection is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    /// Waiting for the listener's `Start` message.
    New,
    /// Running commands.
    Ready,
    /// The password is being checked on the blocking pool: commands wait for the answer.
    Authenticating,
    /// A command's filesystem calls run on the blocking pool: commands wait for the result.
    Offloaded,
    /// A wrong password was given: commands wait until the delayed 530 is sent.
    AuthDelay,
    /// Commands wait for the data side, for one reason.
    Waiting(WaitFor),
    /// `234` to AUTH TLS is being sent; the TLS handshake starts once it is out.
    TlsUpgrade,
    /// `--proxy-protocol`: waiting for the load balancer's PROXY header.
    ProxyHeader,
    /// Sending the last replies, then closing.
    Closing,
}

/// What a [`Phase::Waiting`] connection waits for. Later commands stay queued meanwhile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum WaitFor {
    /// PORT/EPRT: the TCP connect to the client, whose outcome is the reply (200 or 425).
    Connect,
    /// ABOR during a transfer: its end (426), then `226 ABOR command successful.`.
    Abort,
    /// QUIT during a transfer (RFC 959): its end, then `221`.
    Quit,
}

impl Phase {
    /// The name `--trace` shows; `Ready` is told apart by a TLS handshake in progress and a
    /// transfer running.
    pub(super) fn name(self, handshaking: bool, transferring: bool) -> &'static str {
        match self {
            Phase::New => "control:new",
            Phase::Ready if handshaking => "control:tls-handshake",
            Phase::Ready if transferring => "control:ready+transfer",
            Phase::Ready => "control:ready",
            Phase::Authenticating => "control:authenticating",
            Phase::Offloaded => "control:filesystem",
            Phase::AuthDelay => "control:auth-delay",
            Phase::Waiting(WaitFor::Connect) => "control:waiting-for-connect",
            Phase::Waiting(WaitFor::Abort) => "control:waiting-for-abort",
            Phase::Waiting(WaitFor::Quit) => "control:waiting-for-quit",
            Phase::TlsUpgrade => "control:tls-upgrade",
            Phase::ProxyHeader => "control:proxy-header",
            Phase::Closing => "control:closing",
        }
    }

    /// Ends a wait for the data side: back to `Ready`; what was waited for, if anything.
    pub(super) fn end_wait(&mut self) -> Option<WaitFor> {
        match *self {
            Phase::Waiting(what) => {
                *self = Phase::Ready;
                Some(what)
            }
            _ => None,
        }
    }
}
