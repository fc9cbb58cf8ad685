//! An upload that has been accepted but not opened yet.
//!
//! STOR, APPE and STOU answer at once (`150`, or `550` when the target cannot be written), but
//! they open their target only when the data connection is really up: connected, and under
//! `PROT P` also through its TLS handshake and the session-reuse check. A data connection that
//! never comes, or one that is refused (a third party racing to the passive port, a client that
//! does not resume its TLS session, a handshake that stalls), therefore cannot truncate an
//! existing file, create an empty one, or leave an atomic upload's temporary file behind.
//! What the command checked early (permission, the target's kind, REST against the size) is
//! checked again by the open itself, since the disk may have changed meanwhile.

use crate::data::FileSink;
use crate::fs::{Filesystem, VirtualPath, WriteMode};
use crate::reply::{Reply, ReplyCode};

use super::ops::fs_error;

/// What an upload will open once its data connection is up.
#[derive(Debug)]
pub(super) struct UploadPlan {
    /// The target (inside the user's root; the filesystem enforces it).
    pub path: VirtualPath,
    /// STOR replaces (truncating to 0, or to the REST offset), APPE appends, STOU creates.
    pub mode: WriteMode,
    /// TYPE A: CRLF becomes LF on the way to the disk.
    pub ascii: bool,
}

impl UploadPlan {
    /// Opens the target and, for STOR, cuts it to where the upload starts. Called only once
    /// the data connection is up. A failure is the reply that ends the transfer.
    pub fn open(&self, fs: &dyn Filesystem) -> Result<FileSink, Reply> {
        let file = fs
            .open_write(&self.path, self.mode)
            .map_err(|e| fs_error(&e))?;
        let mut sink = FileSink::new(file, self.ascii);
        let keep = match self.mode {
            WriteMode::Truncate => Some(0),
            WriteMode::At(n) => Some(n),
            WriteMode::Append | WriteMode::CreateNew => None,
        };
        if let Some(len) = keep {
            if let Err(e) = sink.truncate(len) {
                sink.abort();
                return Err(Reply::new(
                    ReplyCode::LocalError,
                    format!("Local error: {}.", crate::reply::strerror(&e)),
                ));
            }
        }
        Ok(sink)
    }
}
