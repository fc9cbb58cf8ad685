//! The filesystem seen by an FTP session, and [`OsFs`], the real one jailed in a root.
//!
//! FTP commands name files with client paths (`RETR pub/a.txt`, `CWD ..`). The control
//! connection resolves them to a [`VirtualPath`] against the session's current
//! directory, checks the user's permission for it, and only then calls a
//! [`Filesystem`] method. Every method takes a `VirtualPath`, never a real path, so the
//! jail cannot be forgotten. The server never calls `set_current_dir`; the "current
//! directory" is just a `VirtualPath` in the session.
//!
//! [`OsFs`] is jailed by the kernel, not by a check (see `jail.rs` and `osfs.rs`): it holds
//! a descriptor of the root, opened at login, and resolves every operation relative to it
//! with `openat2(RESOLVE_IN_ROOT)`, or, where that is missing, with a walk of `openat`
//! calls from descriptor to descriptor. Rules:
//! * chroot semantics for symlinks: an absolute target is taken from the root
//!   (`/pub/x -> /etc` is `ROOT/etc`), and `..`, in a client path or a link, stops at the
//!   root. No path, whatever happens on disk meanwhile, reaches outside;
//! * operations on a link itself (lstat, DELE, RNFR/RNTO, listing entries) follow every
//!   component but the last, so a link can be seen, renamed or deleted; listings show links
//!   as links (`l` in LIST, `OS.unix=symlink` in MLSD);
//! * a NUL byte in a path is `InvalidInput`, and only regular files can be opened for a
//!   transfer (FIFOs are opened non-blocking and refused), so nothing blocks the loop.
//!
//! Methods return `std::fs::File` so that the data channel can use `sendfile`.

pub mod file;
mod jail;
pub(crate) mod listing;
mod osfs;
pub mod path;
pub mod policy;
pub mod probe;
mod roots;

pub use file::{OsUpload, ReadFile, UploadPolicy, WriteFile};
pub use jail::{Resolver, NO_OPENAT2_ENV};
pub use osfs::OsFs;
pub use path::{RootedPath, VirtualPath};

use std::fs::Metadata;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// What kind of object a directory entry is (from `lstat`, or `stat` when following).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FileKind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link (only reported by `lstat` and listings).
    Symlink,
    /// Anything else: FIFO, socket, device.
    Other,
}

/// The metadata an FTP server needs for LIST, MLSx, SIZE and MDTM.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileStat {
    /// File, directory, link or other.
    pub kind: FileKind,
    /// Size in bytes.
    pub size: u64,
    /// Last modification time.
    pub mtime: SystemTime,
    /// `st_mode`: permission bits, setuid/setgid/sticky and the file type bits.
    pub mode: u32,
    /// Owner user id.
    pub uid: u32,
    /// Owner group id.
    pub gid: u32,
    /// Number of hard links.
    pub nlink: u64,
    /// Device id (with `ino`, makes the MLSx `unique` fact).
    pub dev: u64,
    /// Inode number.
    pub ino: u64,
}

impl FileStat {
    /// Converts `std` metadata (from `metadata` or `symlink_metadata`).
    pub fn from_metadata(md: &Metadata) -> FileStat {
        let ft = md.file_type();
        let kind = if ft.is_symlink() {
            FileKind::Symlink
        } else if ft.is_dir() {
            FileKind::Dir
        } else if ft.is_file() {
            FileKind::File
        } else {
            FileKind::Other
        };
        FileStat {
            kind,
            size: md.len(),
            mtime: md.modified().unwrap_or(UNIX_EPOCH),
            mode: md.mode(),
            uid: md.uid(),
            gid: md.gid(),
            nlink: md.nlink(),
            dev: md.dev(),
            ino: md.ino(),
        }
    }
}

impl FileStat {
    /// Converts a `stat` structure (from `fstat` or `statat`).
    #[allow(clippy::unnecessary_cast, clippy::useless_conversion)]
    pub(crate) fn from_stat(st: &rustix::fs::Stat) -> FileStat {
        let mode = st.st_mode as u32;
        let kind = match mode & 0o170_000 {
            0o120_000 => FileKind::Symlink,
            0o040_000 => FileKind::Dir,
            0o100_000 => FileKind::File,
            _ => FileKind::Other,
        };
        let (secs, nanos) = (st.st_mtime as i64, st.st_mtime_nsec as u32);
        let mtime = if secs >= 0 {
            UNIX_EPOCH.checked_add(Duration::new(secs.unsigned_abs(), nanos))
        } else {
            UNIX_EPOCH
                .checked_sub(Duration::from_secs(secs.unsigned_abs()))
                .and_then(|t| t.checked_add(Duration::from_nanos(u64::from(nanos))))
        };
        FileStat {
            kind,
            size: u64::try_from(st.st_size).unwrap_or(0),
            mtime: mtime.unwrap_or(UNIX_EPOCH),
            mode,
            uid: st.st_uid as u32,
            gid: st.st_gid as u32,
            nlink: st.st_nlink as u64,
            dev: st.st_dev as u64,
            ino: st.st_ino as u64,
        }
    }
}

/// Seconds and nanoseconds since the Unix epoch, for times before it too (the nanoseconds are
/// then counted forward from the second before), clamped instead of overflowing.
pub(crate) fn unix_time(t: SystemTime) -> (i64, u32) {
    let (secs, nanos) = match t.duration_since(UNIX_EPOCH) {
        Ok(d) => (
            i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            d.subsec_nanos(),
        ),
        Err(e) => {
            let d = e.duration();
            let secs = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
            match d.subsec_nanos() {
                0 => (-secs, 0),
                n => (-secs - 1, 1_000_000_000 - n),
            }
        }
    };
    (secs, nanos)
}

/// A size: bytes, or a number with K, M, G or T (powers of 1024). `None` if it is not one.
pub fn parse_size(s: &str) -> Option<u64> {
    let t = s.trim();
    let (digits, unit) = match t.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => t.split_at(i),
        None => (t, ""),
    };
    let shift = match unit.to_ascii_uppercase().as_str() {
        "" | "B" => 0,
        "K" | "KB" | "KIB" => 10,
        "M" | "MB" | "MIB" => 20,
        "G" | "GB" | "GIB" => 30,
        "T" | "TB" | "TIB" => 40,
        _ => return None,
    };
    digits.parse::<u64>().ok()?.checked_mul(1u64 << shift)
}

/// What a filesystem has room for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Space {
    /// Bytes an unprivileged user may still write.
    pub available: u64,
    /// The filesystem's size in bytes.
    pub total: u64,
}

/// One entry of a directory listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirEntry {
    /// The entry's name; bytes that are not UTF-8 are replaced (lossy).
    pub name: String,
    /// The entry's own metadata (`lstat`: a symlink is reported as a link).
    pub stat: FileStat,
}

/// How STOR, APPE and REST+STOR open their target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteMode {
    /// Create, or replace the contents (STOR): the caller truncates with
    /// [`WriteFile::set_len`] once the transfer starts; opening never truncates.
    Truncate,
    /// Create or append (APPE).
    Append,
    /// Create, keep the contents and start writing at this offset (REST then STOR).
    At(u64),
    /// Create a file that must not exist yet (STOU).
    CreateNew,
}

/// The operations an FTP session performs on files, all in terms of virtual paths.
///
/// Implementations must keep every operation inside [`root`](Filesystem::root).
pub trait Filesystem: Send + std::fmt::Debug {
    /// The canonical real directory that the client sees as `/`, for filesystems backed by a
    /// directory tree. Default: `/` (the server itself never uses it).
    fn root(&self) -> &Path {
        Path::new("/")
    }
    /// The real path of `p` with every symlink followed the way the jail follows them
    /// (chroot semantics, so always inside the root). `p` need not exist. Default: `Unsupported` (only meaningful for
    /// filesystems on a real disk; the server itself never calls it).
    fn realpath(&self, p: &VirtualPath) -> io::Result<RootedPath> {
        let _ = p;
        Err(io::ErrorKind::Unsupported.into())
    }
    /// Metadata of `p`, following symlinks (resolved inside the root).
    fn stat(&self, p: &VirtualPath) -> io::Result<FileStat>;
    /// Metadata of `p` itself: a symlink is reported as a link, never followed.
    fn lstat(&self, p: &VirtualPath) -> io::Result<FileStat>;
    /// The entries of directory `p`, in the order the OS returns them.
    ///
    /// Lazy: each entry is `lstat`ed as it is iterated, and entries whose stat fails
    /// (e.g. deleted meanwhile) are skipped.
    fn read_dir(&self, p: &VirtualPath) -> io::Result<Box<dyn Iterator<Item = DirEntry> + Send>>;
    /// True if `p` is (or links to, inside the root) a directory.
    fn is_dir(&self, p: &VirtualPath) -> bool;
    /// True if `p` is (or links to, inside the root) a regular file.
    fn is_file(&self, p: &VirtualPath) -> bool;
    /// Creates directory `p` (MKD).
    fn mkdir(&self, p: &VirtualPath) -> io::Result<()>;
    /// Removes the empty directory `p` (RMD); the root itself is refused.
    fn rmdir(&self, p: &VirtualPath) -> io::Result<()>;
    /// Removes file or symlink `p` (DELE); a symlink is removed, not its target.
    fn remove_file(&self, p: &VirtualPath) -> io::Result<()>;
    /// Renames `from` to `to` (RNFR/RNTO); symlinks themselves are renamed.
    fn rename(&self, from: &VirtualPath, to: &VirtualPath) -> io::Result<()>;
    /// Sets the permission bits of `p` (SITE CHMOD); only the low 12 bits are used.
    fn chmod(&self, p: &VirtualPath, mode: u32) -> io::Result<()>;
    /// Sets the modification time of `p` (MFMT).
    fn set_mtime(&self, p: &VirtualPath, t: SystemTime) -> io::Result<()>;
    /// Opens regular file `p` for reading (RETR); directories and others are refused.
    fn open_read(&self, p: &VirtualPath) -> io::Result<Box<dyn ReadFile>>;
    /// Opens `p` for an upload as `mode` says (STOR, APPE, STOU, REST+STOR). Never
    /// truncates: the caller truncates with [`WriteFile::set_len`] once the transfer starts,
    /// and ends with [`WriteFile::commit`] or [`WriteFile::abort`].
    fn open_write(&self, p: &VirtualPath, mode: WriteMode) -> io::Result<Box<dyn WriteFile>>;
    /// Checks, changing nothing on disk, that [`open_write`](Filesystem::open_write) with
    /// `mode` would be allowed. Upload commands call it to answer `550` at once, since they
    /// open their file only once the data connection is up. Default: [`probe::check_write`]
    /// (a regular file, or a new name in an existing directory).
    fn check_write(&self, p: &VirtualPath, mode: WriteMode) -> io::Result<()> {
        probe::check_write(self, p, mode)
    }
    /// True if calls may take long (a network filesystem, a remote store): sessions then make
    /// them on the blocking-work pool (with `--offload-fs auto`, the default). Default: false.
    fn may_block(&self) -> bool {
        false
    }
    /// Free space and size of the filesystem that holds `p` (AVBL, `--min-free`). Default:
    /// `Unsupported`.
    fn space(&self, p: &VirtualPath) -> io::Result<Space> {
        let _ = p;
        Err(io::ErrorKind::Unsupported.into())
    }
    /// Another handle to the same filesystem, for a worker thread of the blocking pool.
    /// Default: `None`, and the calls stay on the loop.
    fn share(&self) -> Option<Box<dyn Filesystem>> {
        None
    }
}

/// Makes the filesystem a user sees once logged in (pluggable: the default jails [`OsFs`] in
/// the user's home; an embedder can serve users from memory, a database, object storage...).
pub trait FilesystemFactory: Send + Sync + std::fmt::Debug {
    /// The filesystem of `user` for one session.
    fn open(&self, user: &crate::auth::User) -> io::Result<Box<dyn Filesystem>>;
}
