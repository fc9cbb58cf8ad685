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
//!
//! For a user with a quota the open also starts the upload's [`Charge`]: a new file takes its
//! place in the file quota there (strictly; the check before `150` may have raced with another
//! session), and STOR's truncation leaves the usage.

use std::sync::Arc;

use crate::data::FileSink;
use crate::fs::{Filesystem, VirtualPath, WriteMode};
use crate::quota::{Charge, Quota};
use crate::reply::{fs_error, Reply, ReplyCode};

/// What an upload will open once its data connection is up.
#[derive(Debug)]
pub(super) struct UploadPlan {
    /// The target (inside the user's root; the filesystem enforces it).
    pub path: VirtualPath,
    /// STOR replaces (truncating to 0, or to the REST offset), APPE appends, STOU creates.
    pub mode: WriteMode,
    /// TYPE A: CRLF becomes LF on the way to the disk.
    pub ascii: bool,
    /// The user's quota, and `(--atomic-uploads, --delete-incomplete-uploads)`: what a failed
    /// upload leaves, for the quota's account.
    pub quota: Option<(Arc<Quota>, (bool, bool))>,
    /// `--offload-fs always`: a large upload's writes run on the blocking pool (as they do for
    /// a filesystem that may block).
    pub offload: bool,
}

impl UploadPlan {
    /// Opens the target and, for STOR, cuts it to where the upload starts. Called only once
    /// the data connection is up. A failure is the reply that ends the transfer.
    pub fn open(&self, fs: &dyn Filesystem) -> Result<FileSink, Reply> {
        let charge = match &self.quota {
            Some((q, policy)) => Some(Charge::begin(
                Arc::clone(q),
                fs,
                &self.path,
                self.mode,
                *policy,
            )?),
            None => None,
        };
        let file = match fs.open_write(&self.path, self.mode) {
            Ok(file) => file,
            Err(e) => {
                if let Some(charge) = charge {
                    charge.revert();
                }
                return Err(fs_error(&e));
            }
        };
        let mut sink = FileSink::new(file, self.ascii)
            .with_quota(charge)
            .offloaded(self.offload || fs.may_block());
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
