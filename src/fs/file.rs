//! Open files as the transfer code sees them: a download reads a [`ReadFile`], an upload
//! writes a [`WriteFile`] and then *commits* or *aborts* it.
//!
//! Making the end of an upload explicit is what allows safe uploads. [`OsUpload`] either writes
//! in place (pyftpdlib's behaviour, optionally deleting what a failed upload left, like vsftpd's
//! `delete_failed_uploads`), or writes a hidden temporary file next to the target and renames
//! it into place only when the upload completed (`--atomic-uploads`): an aborted, cut or
//! crashed upload then leaves the previous file untouched. A download keeps access to the
//! underlying [`File`] when there is one, so the OS filesystem keeps its `sendfile(2)` path;
//! a filesystem without real files (an in-memory one) simply returns `None` there.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// A file opened for a download.
pub trait ReadFile: Read + Seek + Send + std::fmt::Debug {
    /// The file's size in bytes.
    fn size(&self) -> io::Result<u64>;
    /// The OS file, when there is one (enables `sendfile(2)`).
    fn as_file(&self) -> Option<&File> {
        None
    }
}

impl ReadFile for File {
    fn size(&self) -> io::Result<u64> {
        Ok(self.metadata()?.len())
    }
    fn as_file(&self) -> Option<&File> {
        Some(self)
    }
}

/// A file opened for an upload.
pub trait WriteFile: Write + Send + std::fmt::Debug {
    /// Cuts the file to `len` bytes; STOR calls it once its data connection is up, so an
    /// existing file is never truncated before the upload has actually started.
    fn set_len(&mut self, len: u64) -> io::Result<()>;
    /// The upload completed: make it visible (rename a temporary file into place, ...).
    fn commit(self: Box<Self>) -> io::Result<()>;
    /// The upload failed or was aborted.
    fn abort(self: Box<Self>);
    /// The OS file, when there is one and received bytes may be written into it at its
    /// position by `splice(2)` (not for files opened with `O_APPEND`).
    fn as_file(&self) -> Option<&File> {
        None
    }
}

/// What the OS filesystem does with uploads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UploadPolicy {
    /// Write to a hidden temporary file and rename it into place on completion.
    pub atomic: bool,
    /// Remove what a failed upload left (files it created or replaced wholesale).
    pub delete_incomplete: bool,
}

#[derive(Debug)]
enum Target {
    /// Writing the final file directly; remove it on abort if `delete_on_abort`.
    InPlace {
        path: PathBuf,
        delete_on_abort: bool,
    },
    /// Writing `temp`; rename it to `path` on commit, remove it on abort.
    Atomic { temp: PathBuf, path: PathBuf },
}

/// An upload to the OS filesystem.
#[derive(Debug)]
pub struct OsUpload {
    file: File,
    target: Target,
    /// Created by this upload and not written yet: known to be empty without asking. Only
    /// [`set_len`](WriteFile::set_len) reads it, and STOR calls that before any data moves
    /// (bytes spliced into [`as_file`](WriteFile::as_file) do not clear it).
    fresh: bool,
    /// Opened with `O_APPEND` (APPE in place), which `splice(2)` refuses.
    appending: bool,
}

/// A hidden name for the temporary file of an atomic upload, unique in this process.
fn temp_name(path: &Path) -> PathBuf {
    use std::hash::{BuildHasher, Hasher};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    // A random part as well: several nodes sharing storage may have the same pid (pid 1 in
    // containers).
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(n);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(
        ".{name}.{}-{n}-{:016x}.ftpdlib-part",
        std::process::id(),
        h.finish()
    ))
}

impl OsUpload {
    /// Opens an upload to `path` (already checked to be inside the root). `append` and `at`
    /// keep existing bytes (APPE; REST+STOR from offset `at`); `create_new` is STOU.
    pub fn open(
        path: &Path,
        policy: UploadPolicy,
        append: bool,
        at: Option<u64>,
        create_new: bool,
    ) -> io::Result<OsUpload> {
        OsUpload::open_known(path, policy, append, at, create_new, path.exists())
    }

    /// A plain STOR of a name that does not exist yet, in one system call: the file is
    /// created exclusively (`O_EXCL`), so it is known to be a new, empty, regular file and
    /// neither a `stat` before nor an `fstat` at [`set_len`](WriteFile::set_len) is needed.
    /// `AlreadyExists` sends the caller down the general path of [`open`](Self::open).
    /// Not for atomic uploads, which write a temporary file instead.
    pub fn create(path: &Path, policy: UploadPolicy) -> io::Result<OsUpload> {
        let file = OpenOptions::new().write(true).create_new(true).open(path)?;
        Ok(OsUpload {
            file,
            target: Target::InPlace {
                path: path.to_owned(),
                delete_on_abort: policy.delete_incomplete,
            },
            fresh: true,
            appending: false,
        })
    }

    /// [`open`](Self::open) when the caller already knows whether `path` exists.
    pub(crate) fn open_known(
        path: &Path,
        policy: UploadPolicy,
        append: bool,
        at: Option<u64>,
        create_new: bool,
        existed: bool,
    ) -> io::Result<OsUpload> {
        if policy.atomic && !create_new {
            let temp = temp_name(path);
            let mut file = OpenOptions::new()
                .write(true)
                .read(true)
                .create_new(true)
                .open(&temp)?;
            // Appending or resuming works on a copy of what is kept.
            if existed && (append || at.is_some()) {
                let mut old = File::open(path)?;
                let copied = match at {
                    Some(n) => io::copy(&mut (&mut old).take(n), &mut file),
                    None => io::copy(&mut old, &mut file),
                };
                if let Err(e) = copied {
                    let _ = fs::remove_file(&temp);
                    return Err(e);
                }
            }
            return Ok(OsUpload {
                file,
                target: Target::Atomic {
                    temp,
                    path: path.to_owned(),
                },
                fresh: !(existed && (append || at.is_some())),
                appending: false,
            });
        }
        let mut opts = OpenOptions::new();
        opts.write(true);
        if create_new {
            opts.create_new(true);
        } else if append {
            opts.create(true).append(true);
        } else {
            // Never truncate here: STOR truncates through `set_len` once its data
            // connection is up.
            opts.create(true).truncate(false);
        }
        let mut file = opts.open(path)?;
        if let Some(n) = at {
            file.seek(SeekFrom::Start(n))?;
        }
        // Only remove what this upload created or was going to replace entirely.
        let replaces = !append && at.unwrap_or(0) == 0;
        let delete_on_abort =
            (policy.delete_incomplete && (!existed || replaces)) || (policy.atomic && create_new);
        Ok(OsUpload {
            file,
            target: Target::InPlace {
                path: path.to_owned(),
                delete_on_abort,
            },
            fresh: create_new,
            appending: append,
        })
    }
}

impl Write for OsUpload {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.fresh = false;
        self.file.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

impl WriteFile for OsUpload {
    fn set_len(&mut self, len: u64) -> io::Result<()> {
        // Skip a no-op truncation: on ext4 a truncate to 0 marks the file for a forced flush
        // at close (auto_da_alloc), which makes every small new upload wait for the disk.
        if (self.fresh && len == 0) || self.file.metadata()?.len() == len {
            return Ok(());
        }
        self.file.set_len(len)
    }

    fn commit(self: Box<Self>) -> io::Result<()> {
        match self.target {
            Target::InPlace { .. } => Ok(()),
            Target::Atomic { temp, path } => {
                drop(self.file);
                fs::rename(&temp, &path).inspect_err(|_| {
                    let _ = fs::remove_file(&temp);
                })
            }
        }
    }

    fn as_file(&self) -> Option<&File> {
        if self.appending {
            None
        } else {
            Some(&self.file)
        }
    }

    fn abort(self: Box<Self>) {
        drop(self.file);
        match self.target {
            Target::InPlace {
                path,
                delete_on_abort: true,
            }
            | Target::Atomic { temp: path, .. } => {
                if let Err(e) = fs::remove_file(&path) {
                    log::warn!("cannot remove incomplete upload {}: {e}", path.display());
                }
            }
            Target::InPlace { .. } => {}
        }
    }
}

#[cfg(test)]
mod tests;
