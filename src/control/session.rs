//! The login state of one control connection: who is logged in, where they are, and the
//! settings that RFC 959 says persist between commands (TYPE, REST, RNFR, ...).
//!
//! USER, REIN and a second USER all "flush the account" (RFC 959 §4.1.1): everything here goes
//! back to its initial value, except the counter of failed logins, which belongs to the
//! connection and keeps RFC 2577's brute-force limit meaningful.

use crate::auth::User;
use crate::fs::listing::Facts;
use crate::fs::{Filesystem, VirtualPath};

/// TYPE (RFC 959 §3.1.1): how file bytes travel on the data connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TransferType {
    /// TYPE A: lines end in CRLF on the wire (RFC 959's default).
    #[default]
    Ascii,
    /// TYPE I (and TYPE L 8): bytes as they are.
    Binary,
}

/// Per-connection FTP state.
#[derive(Debug, Default)]
pub struct Session {
    /// Name given with USER, waiting for PASS.
    pub username: Option<String>,
    /// The logged-in user.
    pub user: Option<User>,
    /// The user's jailed view of the disk (set at login).
    pub fs: Option<Box<dyn Filesystem>>,
    /// Current working directory.
    pub cwd: VirtualPath,
    /// Current TYPE.
    pub ttype: TransferType,
    /// Offset given by REST for the next RETR/STOR.
    pub rest: u64,
    /// Source of a rename, set by RNFR and consumed by the next command.
    pub rnfr: Option<VirtualPath>,
    /// The user's quota, shared with the user's other sessions (`None`: no quota).
    pub quota: Option<std::sync::Arc<crate::quota::Quota>>,
    /// The user whose session count this connection holds (released once, by
    /// `access::end_session`; kept by `flush_account`).
    pub counted_as: Option<String>,
    /// Failed PASS attempts on this connection.
    pub failed_logins: u32,
    /// MLSx facts selected with OPTS MLST.
    pub facts: Facts,
    /// The algorithm of HASH, selected with OPTS HASH.
    pub hash_algo: crate::checksum::Algo,
    /// The octet range (first, last) RANG set for the next HASH.
    pub rang: Option<(u64, u64)>,
}

impl Session {
    /// True once PASS succeeded.
    pub fn logged_in(&self) -> bool {
        self.user.is_some()
    }

    /// Name for logs: the logged-in user, else the name given with USER, else empty.
    pub fn log_name(&self) -> &str {
        match (&self.user, &self.username) {
            (Some(u), _) => &u.name,
            (None, Some(n)) => n,
            _ => "",
        }
    }

    /// Forgets the account and every setting (USER while logged in, REIN).
    pub fn flush_account(&mut self) {
        let failed = self.failed_logins;
        let counted = self.counted_as.take();
        *self = Session::default();
        self.failed_logins = failed;
        self.counted_as = counted;
    }
}
