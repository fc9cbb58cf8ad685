//! Errors that stop a server from starting: binding, configuration, certificates, users file.
//!
//! Errors that happen while serving never surface here: each becomes an FTP reply (one
//! function per area maps them) or a log line, and only the session concerned notices.

use std::fmt;
use std::io;
use std::net::SocketAddr;

/// A setup error, with enough context to be printed to an operator as is.
#[derive(Debug)]
pub enum Error {
    /// The listening socket could not be created or bound.
    Bind {
        /// The address we tried.
        addr: SocketAddr,
        /// What the OS said.
        source: io::Error,
    },
    /// The shared directory is missing or not a directory.
    Directory(String),
    /// An invalid setting.
    Config(String),
    /// The TLS certificate or key is missing, unreadable or does not match.
    Tls(String),
    /// Any other I/O error during setup (poll registration, socket options).
    Io(io::Error),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Bind { addr, source } if source.kind() == io::ErrorKind::AddrInUse => {
                write!(f, "cannot listen on {addr}: address already in use")
            }
            Error::Bind { addr, source } => write!(f, "cannot listen on {addr}: {source}"),
            Error::Directory(msg) => write!(f, "{msg}"),
            Error::Config(msg) => write!(f, "invalid configuration: {msg}"),
            Error::Tls(msg) => write!(f, "TLS: {msg}"),
            Error::Io(e) => write!(f, "I/O error: {e}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Bind { source, .. } => Some(source),
            Error::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Self {
        Error::Io(e)
    }
}
