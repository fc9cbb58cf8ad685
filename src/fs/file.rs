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

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use rustix::fs::{AtFlags, Mode, OFlags};

use super::jail::{os, DirFd, DIR_HANDLE};

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
    /// Permission bits new files (`0o666 & !umask`) and directories (`0o777 & !umask`)
    /// are created without (the process's own umask applies too; the daemon clears it).
    pub umask: u32,
}

impl UploadPolicy {
    /// The mode a new file is created with.
    pub(crate) fn file_mode(self) -> Mode {
        Mode::from_raw_mode((0o666 & !self.umask) as rustix::fs::RawMode)
    }
}

#[derive(Debug)]
enum Target {
    /// Writing the final file directly; remove it on abort if `delete_on_abort`.
    InPlace {
        dir: DirFd,
        name: OsString,
        delete_on_abort: bool,
    },
    /// Writing `temp`; rename it to `name` on commit, remove it on abort.
    Atomic {
        dir: DirFd,
        temp: OsString,
        name: OsString,
    },
}

/// An upload to the OS filesystem: the file, and the descriptor of the directory it lives
/// in, so that committing (the atomic rename) and aborting (the removal) act on that very
/// directory by name, never by a path looked up again.
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

/// What an upload keeps of an existing file, and whether one existed.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Shape {
    /// APPE: keep everything, write at the end.
    pub append: bool,
    /// REST+STOR: keep this many bytes and write from there.
    pub at: Option<u64>,
    /// STOU: the name must not exist yet.
    pub create_new: bool,
    /// The target existed when the upload was opened.
    pub existed: bool,
}

/// A hidden name for the temporary file of an atomic upload, unique in this process.
fn temp_name(name: &OsStr) -> OsString {
    use std::hash::{BuildHasher, Hasher};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    // A random part as well: several nodes sharing storage may have the same pid (pid 1 in
    // containers).
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(n);
    OsString::from(format!(
        ".{}.{}-{n}-{:016x}.ftpdlib-part",
        name.to_string_lossy(),
        std::process::id(),
        h.finish()
    ))
}

/// Opens `name` in `dir`, never following a symlink there; `O_CLOEXEC` is added.
fn open_in_dir(dir: &DirFd, name: &OsStr, flags: OFlags, mode: Mode) -> io::Result<File> {
    let flags = flags | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let fd = rustix::fs::openat(&**dir, name, flags, mode).map_err(os)?;
    Ok(File::from(fd))
}

/// The directory holding `path` and its last name, for the path-based constructors.
fn split(path: &Path) -> io::Result<(DirFd, OsString)> {
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no file name"))?;
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let dir = rustix::fs::openat(rustix::fs::CWD, parent, DIR_HANDLE, Mode::empty()).map_err(os)?;
    Ok((Arc::new(dir), name.to_owned()))
}

impl OsUpload {
    /// Opens an upload to `path`, a real path the caller trusts (not jailed: [`OsFs`]
    /// opens uploads relative to its root's descriptor instead). `append` and `at` keep
    /// existing bytes (APPE; REST+STOR from offset `at`); `create_new` is STOU.
    ///
    /// [`OsFs`]: super::OsFs
    pub fn open(
        path: &Path,
        policy: UploadPolicy,
        append: bool,
        at: Option<u64>,
        create_new: bool,
    ) -> io::Result<OsUpload> {
        let (dir, name) = split(path)?;
        let existed = path.exists();
        let shape = Shape {
            append,
            at,
            create_new,
            existed,
        };
        OsUpload::open_in(dir, name, policy, shape)
    }

    /// A plain STOR of a name that does not exist yet, in one system call: the file is
    /// created exclusively (`O_EXCL`), so it is known to be a new, empty, regular file and
    /// neither a `stat` before nor an `fstat` at [`set_len`](WriteFile::set_len) is needed.
    /// `AlreadyExists` sends the caller down the general path of [`open`](Self::open).
    /// Not for atomic uploads, which write a temporary file instead.
    pub fn create(path: &Path, policy: UploadPolicy) -> io::Result<OsUpload> {
        let (dir, name) = split(path)?;
        OsUpload::create_in(&dir, &name, policy)
    }

    /// [`create`](Self::create) of `name` in the directory `dir`.
    pub(crate) fn create_in(
        dir: &DirFd,
        name: &OsStr,
        policy: UploadPolicy,
    ) -> io::Result<OsUpload> {
        let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL;
        let file = open_in_dir(dir, name, flags, policy.file_mode())?;
        Ok(OsUpload {
            file,
            target: Target::InPlace {
                dir: Arc::clone(dir),
                name: name.to_owned(),
                delete_on_abort: policy.delete_incomplete,
            },
            fresh: true,
            appending: false,
        })
    }

    /// [`open`](Self::open) of `name` in the directory `dir`. `name` is opened with
    /// `O_NOFOLLOW`, and `O_NONBLOCK` until it shows a regular file, so neither a link nor a
    /// FIFO put there meanwhile is followed or blocks the loop.
    pub(crate) fn open_in(
        dir: DirFd,
        name: OsString,
        policy: UploadPolicy,
        shape: Shape,
    ) -> io::Result<OsUpload> {
        let Shape {
            append,
            at,
            create_new,
            existed,
        } = shape;
        if policy.atomic && !create_new {
            return OsUpload::open_atomic(dir, name, shape, policy.file_mode());
        }
        let mut flags = OFlags::WRONLY | OFlags::NONBLOCK | OFlags::CREATE;
        if create_new {
            flags |= OFlags::EXCL;
        } else if append {
            flags |= OFlags::APPEND;
        }
        // Never truncate here: STOR truncates through `set_len` once its data connection
        // is up.
        let mut file = open_in_dir(&dir, &name, flags, policy.file_mode())?;
        regular_blocking(&file, append)?;
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
                dir,
                name,
                delete_on_abort,
            },
            fresh: create_new,
            appending: append,
        })
    }

    /// An atomic upload: a temporary file next to the target, holding a copy of what is
    /// kept of the old file for APPE and REST.
    fn open_atomic(dir: DirFd, name: OsString, shape: Shape, mode: Mode) -> io::Result<OsUpload> {
        let temp = temp_name(&name);
        let flags = OFlags::RDWR | OFlags::CREATE | OFlags::EXCL;
        let mut file = open_in_dir(&dir, &temp, flags, mode)?;
        let keeps = shape.existed && (shape.append || shape.at.is_some());
        if keeps {
            let copied = open_in_dir(
                &dir,
                &name,
                OFlags::RDONLY | OFlags::NONBLOCK,
                Mode::empty(),
            )
            .and_then(|mut old| {
                regular_blocking(&old, false)?;
                match shape.at {
                    Some(n) => io::copy(&mut (&mut old).take(n), &mut file),
                    None => io::copy(&mut old, &mut file),
                }
            });
            if let Err(e) = copied {
                let _ = rustix::fs::unlinkat(&*dir, temp.as_os_str(), AtFlags::empty());
                return Err(e);
            }
        }
        Ok(OsUpload {
            file,
            target: Target::Atomic { dir, temp, name },
            fresh: !keeps,
            appending: false,
        })
    }
}

/// Refuses anything but a regular file, then clears `O_NONBLOCK` (keeping `O_APPEND`).
fn regular_blocking(file: &File, append: bool) -> io::Result<()> {
    if !file.metadata()?.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    let flags = if append {
        OFlags::APPEND
    } else {
        OFlags::empty()
    };
    rustix::fs::fcntl_setfl(file, flags).map_err(os)
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
            Target::Atomic { dir, temp, name } => {
                drop(self.file);
                rustix::fs::renameat(&*dir, temp.as_os_str(), &*dir, name.as_os_str())
                    .map_err(os)
                    .inspect_err(|_| {
                        let _ = rustix::fs::unlinkat(&*dir, temp.as_os_str(), AtFlags::empty());
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
                dir,
                name,
                delete_on_abort: true,
            }
            | Target::Atomic {
                dir, temp: name, ..
            } => {
                if let Err(e) = rustix::fs::unlinkat(&*dir, name.as_os_str(), AtFlags::empty()) {
                    log::warn!(
                        "cannot remove incomplete upload {}: {e}",
                        name.to_string_lossy()
                    );
                }
            }
            Target::InPlace { .. } => {}
        }
    }
}

#[cfg(test)]
mod tests;
