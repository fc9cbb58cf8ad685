//! The quota's side of the commands that change usage: an upload's running [`Charge`], DELE
//! ([`remove_file`]), RNTO over a file ([`rename`]), and the file-quota check before `150`
//! ([`room_for_file`]).
//!
//! An upload is counted by the final state it would leave: STOR's truncation frees the old
//! bytes when the file is opened (even for an atomic upload, whose old file stays until the
//! commit), every written byte after that is growth, and REST+STOR keeps only the prefix up
//! to the offset, so only bytes beyond it count (APPE keeps the whole old file). When an
//! upload fails, [`AbortEffect`] says what the filesystem left and the usage follows it.

use std::io;
use std::sync::Arc;

use super::{exceeded, Quota};
use crate::fs::{FileKind, Filesystem, VirtualPath, WriteMode};
use crate::reply::{Reply, ReplyCode};

/// What a failed upload leaves behind, as the filesystem's upload policy decides
/// (`OsUpload::open_in` in `fs/file.rs` makes the same choice).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AbortEffect {
    /// The partial file stays as written.
    Kept,
    /// The target is deleted (`--delete-incomplete-uploads`, or an atomic STOU).
    Removed,
    /// The old file is untouched (an atomic upload drops its temporary file).
    Reverted,
}

impl AbortEffect {
    /// The effect for an upload in `mode` under `--atomic-uploads` / `--delete-incomplete-uploads`,
    /// of a target that `existed` before.
    pub(crate) fn of(
        atomic: bool,
        delete_incomplete: bool,
        mode: WriteMode,
        existed: bool,
    ) -> Self {
        let create_new = mode == WriteMode::CreateNew;
        if atomic && !create_new {
            return AbortEffect::Reverted;
        }
        let replaces = matches!(
            mode,
            WriteMode::Truncate | WriteMode::CreateNew | WriteMode::At(0)
        );
        if (delete_incomplete && (!existed || replaces)) || (atomic && create_new) {
            AbortEffect::Removed
        } else {
            AbortEffect::Kept
        }
    }
}

/// The running account of one upload.
#[derive(Debug)]
pub(crate) struct Charge {
    quota: Arc<Quota>,
    atomic: bool,
    delete_incomplete: bool,
    mode: WriteMode,
    /// The size of the file it replaces; `None`: a new file.
    old: Option<u64>,
    /// Bytes of the old file kept (APPE: all of it; REST: up to the offset).
    kept: u64,
    /// Bytes written and counted.
    written: u64,
}

impl Charge {
    /// Starts counting an upload in `mode` to `path`, before its file is opened: a new file
    /// takes a place in the file quota (`Err`, `552`, when there is none) and STOR's
    /// truncation frees the old bytes. If the open then fails, call [`revert`](Self::revert).
    pub(crate) fn begin(
        quota: Arc<Quota>,
        fs: &dyn Filesystem,
        path: &VirtualPath,
        mode: WriteMode,
        (atomic, delete_incomplete): (bool, bool),
    ) -> Result<Charge, Reply> {
        let old = match fs.stat(path) {
            Ok(st) if st.kind == FileKind::File => Some(st.size),
            _ => None,
        };
        if old.is_none() && !quota.take_file() {
            return Err(files_full());
        }
        let size = old.unwrap_or(0);
        let kept = match mode {
            WriteMode::Truncate | WriteMode::CreateNew => 0,
            WriteMode::At(n) => n.min(size),
            WriteMode::Append => size,
        };
        quota.release(size - kept, 0);
        Ok(Charge {
            quota,
            atomic,
            delete_incomplete,
            mode,
            old,
            kept,
            written: 0,
        })
    }

    /// Counts up to `want` bytes about to be written; returns how many fit in the quota.
    pub(crate) fn grant(&mut self, want: usize) -> usize {
        let granted = self.quota.grow(want as u64);
        self.written += granted;
        // `granted <= want`, so it fits in usize.
        usize::try_from(granted).unwrap_or(want)
    }

    /// Like [`grant`](Self::grant), but all or nothing: the quota error if `data` does not fit
    /// entirely, after counting what does (the caller writes that prefix).
    pub(crate) fn check(&mut self, want: usize) -> Result<(), (usize, io::Error)> {
        match self.grant(want) {
            n if n == want => Ok(()),
            n => Err((n, exceeded())),
        }
    }

    /// The upload failed: the usage follows what the filesystem left (see [`AbortEffect`]).
    pub(crate) fn aborted(self) {
        let existed = self.old.is_some();
        match AbortEffect::of(self.atomic, self.delete_incomplete, self.mode, existed) {
            AbortEffect::Kept => {}
            AbortEffect::Removed => self.quota.release(self.kept + self.written, 1),
            AbortEffect::Reverted => self.revert(),
        }
    }

    /// The upload's commit failed: an atomic upload's old file is still there.
    pub(crate) fn commit_failed(self) {
        if self.atomic && self.mode != WriteMode::CreateNew {
            self.revert();
        }
    }

    /// Undoes everything this upload counted (the old file is as it was).
    pub(crate) fn revert(self) {
        let new_file = u64::from(self.old.is_none());
        self.quota.release(self.kept + self.written, new_file);
        self.quota.restore(self.old.unwrap_or(0));
    }
}

/// `552` for a new file when the file quota is full.
fn files_full() -> Reply {
    Reply::new(
        ReplyCode::ExceededStorage,
        "Exceeded storage allocation: file quota reached.",
    )
}

/// Before `150` of STOR, APPE or STOU: `552` if `path` would be a new file and the file quota
/// is full. (The open checks again, strictly: another session may have taken the place.)
pub(crate) fn room_for_file(
    fs: &dyn Filesystem,
    quota: Option<&Quota>,
    path: &VirtualPath,
) -> Result<(), Reply> {
    match quota {
        Some(q) if !q.file_room() && !fs.is_file(path) => Err(files_full()),
        _ => Ok(()),
    }
}

/// DELE: removes `path` and takes the file off the usage. `size`: what an `lstat` of `path`
/// found just before, if it is a regular file (DELE makes that call to choose where the
/// removal runs; the quota needs nothing more).
pub(crate) fn remove_file(
    fs: &dyn Filesystem,
    quota: Option<&Quota>,
    path: &VirtualPath,
    size: Option<u64>,
) -> io::Result<()> {
    fs.remove_file(path)?;
    if let (Some(q), Some(size)) = (quota, size) {
        q.release(size, 1);
    }
    Ok(())
}

/// RNTO: renames, and takes a regular file that `to` replaced off the usage (unless it was
/// the same file under another name, which `rename(2)` leaves alone).
pub(crate) fn rename(
    fs: &dyn Filesystem,
    quota: Option<&Quota>,
    from: &VirtualPath,
    to: &VirtualPath,
) -> io::Result<()> {
    let Some(q) = quota else {
        return fs.rename(from, to);
    };
    let source = fs.lstat(from).ok().map(|st| (st.dev, st.ino));
    let replaced = fs
        .lstat(to)
        .ok()
        .filter(|st| st.kind == FileKind::File && source != Some((st.dev, st.ino)));
    fs.rename(from, to)?;
    if let Some(st) = replaced {
        q.release(st.size, 1);
    }
    Ok(())
}
