//! Who may log in, and what each user may do where.
//!
//! After USER/PASS the control connection asks an [`Authorizer`] to
//! [`authenticate`](Authorizer::authenticate) the client; the resulting [`User`] holds
//! the home directory that becomes the user's `/` and a set of [`Perms`]. Before every
//! command that touches the filesystem the control connection asks
//! [`has_perm`](Authorizer::has_perm) with the command's [`Perm`] and the target
//! [`VirtualPath`], and answers 550 if it is refused.
//!
//! Permissions use pyftpdlib's letters, but only at the edges (configuration, CLI): in
//! code they are the [`Perm`] enum. Read permissions are `e` (change directory), `l`
//! (list) and `r` (retrieve); write permissions are `a d f m w M T`.
//!
//! Where accounts come from:
//! * [`MemoryAuthorizer`] (in [`memory`]): users configured in code, with a plaintext
//!   password or a [`PasswordHash`];
//! * [`users_file`]: the text format of a users file (`name:hash:perms:home[:options]`
//!   plus `@override` lines), parsed into a `MemoryAuthorizer`;
//! * [`FileAuthorizer`] (in [`file`](mod@file)): a users file that can be reloaded while the
//!   server runs, plus fallback accounts configured in code (e.g. anonymous);
//! * [`ExternalAuthorizer`] (in [`external`]): a program decides each login (the daemon's
//!   `--auth-command`), with a timeout, a concurrency cap and an optional cache;
//! * [`cert`]: TLS client certificates as credentials (a user's `cert_cn=`/`cert_sha256=`
//!   binding, and `cert_only=yes` logins without a password);
//! * [`hash`]: the accepted password hash formats (`$6$`, `$5$`, `$2b$`) and
//!   [`hash::hash_sha512`] to make one.
//!
//! Rules enforced here: a failed login never reveals whether the user name exists
//! (both cases are [`AuthError::BadCredentials`]), and the answer depends only on the
//! virtual path, so it is the same whatever symlinks exist on disk.

pub mod cert;
pub mod external;
pub mod file;
pub mod hash;
pub mod memory;
pub mod users_file;

pub use cert::{CertBinding, ClientCert};
pub use external::{ExternalAuthorizer, ExternalOptions};
pub use file::FileAuthorizer;
pub use hash::PasswordHash;
pub use memory::MemoryAuthorizer;

use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;

use crate::fs::path::VirtualPath;

/// One permission, with its pyftpdlib letter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Perm {
    /// `e`: change directory (CWD, CDUP).
    E,
    /// `l`: list files (LIST, NLST, STAT, MLSD, MLST, SIZE, MDTM).
    L,
    /// `r`: retrieve a file (RETR).
    R,
    /// `a`: append to a file (APPE).
    A,
    /// `d`: delete a file or directory (DELE, RMD).
    D,
    /// `f`: rename a file or directory (RNFR, RNTO).
    F,
    /// `m`: make a directory (MKD).
    M,
    /// `w`: store a file (STOR, STOU).
    W,
    /// `M`: change file mode (SITE CHMOD).
    Chmod,
    /// `T`: change file modification time (MFMT).
    Mtime,
}

impl Perm {
    /// Every permission, in canonical order `elradfmwMT`.
    pub const ALL: [Perm; 10] = [
        Perm::E,
        Perm::L,
        Perm::R,
        Perm::A,
        Perm::D,
        Perm::F,
        Perm::M,
        Perm::W,
        Perm::Chmod,
        Perm::Mtime,
    ];

    /// The pyftpdlib letter of this permission.
    pub const fn letter(self) -> char {
        match self {
            Perm::E => 'e',
            Perm::L => 'l',
            Perm::R => 'r',
            Perm::A => 'a',
            Perm::D => 'd',
            Perm::F => 'f',
            Perm::M => 'm',
            Perm::W => 'w',
            Perm::Chmod => 'M',
            Perm::Mtime => 'T',
        }
    }

    /// The permission for a letter (case-sensitive: `m` is MKD, `M` is CHMOD).
    pub fn from_letter(c: char) -> Option<Perm> {
        Perm::ALL.into_iter().find(|p| p.letter() == c)
    }

    /// True for permissions that modify the filesystem (`a d f m w M T`).
    pub const fn is_write(self) -> bool {
        !matches!(self, Perm::E | Perm::L | Perm::R)
    }

    const fn bit(self) -> u16 {
        1 << self as u16
    }
}

impl fmt::Display for Perm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.letter())
    }
}

/// A set of [`Perm`]s; displays as letters in canonical order, e.g. `elr`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Perms(u16);

impl Perms {
    /// No permission at all.
    pub const NONE: Perms = Perms(0);
    /// `elr`: change directory, list and download.
    pub const READ_ONLY: Perms = Perms(Perm::E.bit() | Perm::L.bit() | Perm::R.bit());
    /// `elradfmwMT`: everything.
    pub const ALL: Perms = Perms((1 << Perm::ALL.len()) - 1);

    /// Parses pyftpdlib letters such as `elradfmw`; duplicates are fine, and an
    /// unknown letter is an [`AuthError::InvalidConfig`] naming it.
    pub fn parse(letters: &str) -> Result<Perms, AuthError> {
        let mut perms = Perms::NONE;
        for c in letters.chars() {
            let perm = Perm::from_letter(c).ok_or_else(|| {
                AuthError::InvalidConfig(format!(
                    "unknown permission letter {c:?} in {letters:?} (valid letters: elradfmwMT)"
                ))
            })?;
            perms.insert(perm);
        }
        Ok(perms)
    }

    /// True if `perm` is in the set.
    pub const fn contains(self, perm: Perm) -> bool {
        self.0 & perm.bit() != 0
    }

    /// Adds `perm` to the set.
    pub fn insert(&mut self, perm: Perm) {
        self.0 |= perm.bit();
    }

    /// Removes `perm` from the set.
    pub fn remove(&mut self, perm: Perm) {
        self.0 &= !perm.bit();
    }

    /// The permissions present in both sets.
    pub const fn intersection(self, other: Perms) -> Perms {
        Perms(self.0 & other.0)
    }

    /// True if any write permission (`a d f m w M T`) is present.
    pub fn has_write(self) -> bool {
        self.iter().any(Perm::is_write)
    }

    /// The permissions in the set, in canonical order.
    pub fn iter(self) -> impl Iterator<Item = Perm> {
        Perm::ALL.into_iter().filter(move |p| self.contains(*p))
    }
}

impl fmt::Display for Perms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.iter().try_for_each(|p| write!(f, "{}", p.letter()))
    }
}

impl fmt::Debug for Perms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Perms(\"{self}\")")
    }
}

/// A logged-in user, as returned by [`Authorizer::authenticate`].
#[derive(Clone, Debug)]
pub struct User {
    /// The user name (`anonymous` for the anonymous user, whichever alias was typed).
    pub name: String,
    /// The real directory that is the user's `/`.
    pub home: PathBuf,
    /// The user's permissions outside any per-directory override.
    pub perms: Perms,
    /// True for the anonymous user.
    pub anonymous: bool,
    /// Text of the 230 reply after a successful login.
    pub msg_login: String,
    /// Text of the 221 reply to QUIT.
    pub msg_quit: String,
    /// Per-user limits (sessions, aggregate bandwidth). Default: none.
    pub limits: UserLimits,
}

/// Limits that apply to all sessions of one user together.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserLimits {
    /// Maximum simultaneous logged-in sessions (`421` over it). `None`: unlimited.
    pub max_sessions: Option<u32>,
    /// Upload bytes per second shared by all the user's data connections. 0: unlimited.
    pub read_limit: u64,
    /// Download bytes per second shared by all the user's data connections. 0: unlimited.
    pub write_limit: u64,
    /// The networks the user may log in from; empty: anywhere.
    pub allow_from: Vec<crate::net::Cidr>,
    /// This user's umask for new files and directories; `None`: the server's (`--umask`).
    pub umask: Option<u32>,
    /// Names hidden from this user, on top of the server's `--hide`.
    pub hide: Vec<String>,
    /// Names refused to this user, on top of the server's `--deny`.
    pub deny: Vec<String>,
    /// The TLS client certificate this user must present (`cert_cn=`, `cert_sha256=`); `None`:
    /// password only.
    pub cert: Option<Box<CertBinding>>,
    /// Bytes the user's regular files may hold together (`552` beyond); `None`: unlimited.
    pub quota_bytes: Option<u64>,
    /// Regular files the user's tree may hold (`552` for one more); `None`: unlimited.
    pub quota_files: Option<u64>,
}

/// Why authentication or authorizer configuration failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthError {
    /// Wrong user name or password (deliberately not saying which).
    BadCredentials,
    /// A configuration call named a user that does not exist.
    UnknownUser,
    /// A configuration call was invalid; the text says why.
    InvalidConfig(String),
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthError::BadCredentials => f.write_str("Authentication failed."),
            AuthError::UnknownUser => f.write_str("Unknown user."),
            AuthError::InvalidConfig(why) => write!(f, "invalid authorizer configuration: {why}"),
        }
    }
}

impl std::error::Error for AuthError {}

/// Decides who may log in and what each user may do at each path.
///
/// Implementations are shared by all sessions (hence `Send + Sync`). `authenticate` runs on
/// the loop's blocking-work pool, so it may block (hash a password, run a program), within
/// reason and with a timeout of its own; `authenticate_at_once`, `has_perm` and `perms_for`
/// run on the event loop and must not block.
pub trait Authorizer: Send + Sync + fmt::Debug {
    /// Checks a USER/PASS pair from `peer`. Any failure should be
    /// [`AuthError::BadCredentials`], so that clients cannot probe for user names.
    fn authenticate(&self, user: &str, pass: &str, peer: IpAddr) -> Result<User, AuthError>;

    /// [`authenticate`](Authorizer::authenticate)'s answer, given on the event loop, when
    /// finding it takes no longer than handing the check to a pool thread would (a comparison
    /// with a stored plaintext password: a microsecond); `None` sends the check to the pool.
    /// It must then answer the same for every password of `user`, or its timing would tell
    /// a right password from a wrong one. Default: `None` for every user.
    fn authenticate_at_once(
        &self,
        user: &str,
        pass: &str,
        peer: IpAddr,
    ) -> Option<Result<User, AuthError>> {
        let _ = (user, pass, peer);
        None
    }

    /// [`authenticate`](Authorizer::authenticate), told the client certificate verified on the
    /// control connection, if any (for `--auth-command`). The default ignores it: the control
    /// connection checks the returned user's [`UserLimits::cert`] binding itself.
    fn authenticate_with_cert(
        &self,
        user: &str,
        pass: &str,
        peer: IpAddr,
        cert: Option<&ClientCert>,
    ) -> Result<User, AuthError> {
        let _ = cert;
        self.authenticate(user, pass, peer)
    }

    /// `USER` from a client with a verified certificate: the user, if `cert` alone logs it in
    /// (its binding has [`CertBinding::only`] and matches). Runs on the event loop, so it must
    /// not block. Default: never.
    fn authenticate_cert_only(&self, user: &str, cert: &ClientCert, peer: IpAddr) -> Option<User> {
        let _ = (user, cert, peer);
        None
    }

    /// True if `user` may do `perm` at `path`. Defaults to checking
    /// [`perms_for`](Authorizer::perms_for).
    fn has_perm(&self, user: &User, perm: Perm, path: &VirtualPath) -> bool {
        self.perms_for(user, path).contains(perm)
    }

    /// The effective permissions of `user` at `path` (overrides applied); used for the
    /// MLSx `perm` fact.
    fn perms_for(&self, user: &User, path: &VirtualPath) -> Perms;
}

#[cfg(test)]
pub(crate) mod tests;
