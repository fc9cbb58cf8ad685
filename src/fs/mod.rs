//! The filesystem seen by an FTP session, and [`OsFs`], the real one jailed in a root.
//!
//! FTP commands name files with client paths (`RETR pub/a.txt`, `CWD ..`). The control
//! connection resolves them to a [`VirtualPath`] against the session's current
//! directory, checks the user's permission for it, and only then calls a
//! [`Filesystem`] method. Every method takes a `VirtualPath`, never a real path, so the
//! jail check cannot be forgotten: [`OsFs`] maps the path under its root and verifies,
//! after following symlinks, that it is still inside (see [`path`]). The server never
//! calls `set_current_dir`; the "current directory" is just a `VirtualPath` in the
//! session.
//!
//! Rules enforced by `OsFs`:
//! * anything that follows a path (stat, RETR, STOR, LIST of a directory, CWD, SITE CHMOD,
//!   MFMT, MKD) is refused with `PermissionDenied` if a symlink leads outside the root;
//! * operations on a link itself (lstat, DELE, RNFR/RNTO, listing entries) follow every
//!   component but the last, so an outside-pointing link can be seen, renamed or
//!   deleted but never followed;
//! * a NUL byte in a path is `InvalidInput`, and only regular files can be opened, so a
//!   FIFO cannot block the single-threaded event loop in `open`.
//!
//! Methods return `std::fs::File` so that the data channel can use `sendfile`.

pub mod file;
pub mod listing;
pub mod path;
pub mod probe;

pub use file::{OsUpload, ReadFile, UploadPolicy, WriteFile};
pub use path::{RootedPath, VirtualPath};

use std::fs::{self, File, Metadata};
use std::io::{self, ErrorKind};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

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
    /// The jail check: the real path of `p` with every symlink followed, verified to
    /// be inside the root. `p` need not exist. Default: `Unsupported` (only meaningful for
    /// filesystems on a real disk; the server itself never calls it).
    fn realpath(&self, p: &VirtualPath) -> io::Result<RootedPath> {
        let _ = p;
        Err(io::ErrorKind::Unsupported.into())
    }
    /// Metadata of `p`, following symlinks (whose target must stay inside the root).
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
}

/// Makes the filesystem a user sees once logged in (pluggable: the default jails [`OsFs`] in
/// the user's home; an embedder can serve users from memory, a database, object storage...).
pub trait FilesystemFactory: Send + Sync + std::fmt::Debug {
    /// The filesystem of `user` for one session.
    fn open(&self, user: &crate::auth::User) -> io::Result<Box<dyn Filesystem>>;
}

/// The real filesystem, jailed in a root directory.
#[derive(Clone, Debug)]
pub struct OsFs {
    root: PathBuf,
    uploads: UploadPolicy,
}

impl OsFs {
    /// Jails a filesystem in `root`, which is canonicalised and must be a directory.
    pub fn new(root: impl Into<PathBuf>) -> io::Result<OsFs> {
        let root = fs::canonicalize(root.into())?;
        if !fs::metadata(&root)?.is_dir() {
            return Err(io::Error::new(
                ErrorKind::InvalidInput,
                format!("root {} is not a directory", root.display()),
            ));
        }
        Ok(OsFs {
            root,
            uploads: UploadPolicy::default(),
        })
    }

    /// Sets what uploads do on completion and failure (atomic rename, delete on failure).
    pub fn with_uploads(mut self, policy: UploadPolicy) -> OsFs {
        self.uploads = policy;
        self
    }

    /// Resolves following every symlink.
    fn follow(&self, p: &VirtualPath) -> io::Result<RootedPath> {
        RootedPath::resolve(&self.root, p)
    }

    /// Resolves following all but the last component.
    fn link(&self, p: &VirtualPath) -> io::Result<RootedPath> {
        RootedPath::resolve_link(&self.root, p)
    }
}

fn not_regular(p: &VirtualPath) -> io::Error {
    io::Error::new(
        ErrorKind::InvalidInput,
        format!("\"{p}\" is not a regular file"),
    )
}

fn refuse_root(p: &VirtualPath, what: &str) -> io::Result<()> {
    if p.is_root() {
        Err(io::Error::new(
            ErrorKind::PermissionDenied,
            format!("Can't {what} root directory."),
        ))
    } else {
        Ok(())
    }
}

impl Filesystem for OsFs {
    fn root(&self) -> &Path {
        &self.root
    }

    fn realpath(&self, p: &VirtualPath) -> io::Result<RootedPath> {
        self.follow(p)
    }

    fn stat(&self, p: &VirtualPath) -> io::Result<FileStat> {
        let real = self.follow(p)?;
        Ok(FileStat::from_metadata(&fs::metadata(real.as_path())?))
    }

    fn lstat(&self, p: &VirtualPath) -> io::Result<FileStat> {
        let real = self.link(p)?;
        Ok(FileStat::from_metadata(&fs::symlink_metadata(
            real.as_path(),
        )?))
    }

    fn read_dir(&self, p: &VirtualPath) -> io::Result<Box<dyn Iterator<Item = DirEntry> + Send>> {
        let real = self.follow(p)?;
        let entries = fs::read_dir(real.as_path())?.filter_map(|entry| {
            let entry = entry.ok()?;
            // On Unix `DirEntry::metadata` does not traverse symlinks (an lstat).
            let md = entry.metadata().ok()?;
            Some(DirEntry {
                name: entry.file_name().to_string_lossy().into_owned(),
                stat: FileStat::from_metadata(&md),
            })
        });
        Ok(Box::new(entries))
    }

    fn is_dir(&self, p: &VirtualPath) -> bool {
        matches!(self.stat(p), Ok(st) if st.kind == FileKind::Dir)
    }

    fn is_file(&self, p: &VirtualPath) -> bool {
        matches!(self.stat(p), Ok(st) if st.kind == FileKind::File)
    }

    fn mkdir(&self, p: &VirtualPath) -> io::Result<()> {
        fs::create_dir(self.follow(p)?.as_path())
    }

    fn rmdir(&self, p: &VirtualPath) -> io::Result<()> {
        refuse_root(p, "remove")?;
        let real = self.link(p)?;
        if real.as_path() == self.root {
            return refuse_root(&VirtualPath::root(), "remove");
        }
        fs::remove_dir(real.as_path())
    }

    fn remove_file(&self, p: &VirtualPath) -> io::Result<()> {
        fs::remove_file(self.link(p)?.as_path())
    }

    fn rename(&self, from: &VirtualPath, to: &VirtualPath) -> io::Result<()> {
        refuse_root(from, "rename")?;
        refuse_root(to, "overwrite")?;
        let src = self.link(from)?;
        let dst = self.link(to)?;
        fs::rename(src.as_path(), dst.as_path())
    }

    fn chmod(&self, p: &VirtualPath, mode: u32) -> io::Result<()> {
        let real = self.follow(p)?;
        fs::set_permissions(real.as_path(), fs::Permissions::from_mode(mode & 0o7777))
    }

    fn set_mtime(&self, p: &VirtualPath, t: SystemTime) -> io::Result<()> {
        let real = self.follow(p)?;
        // Opening a FIFO would block the event loop: only files and directories.
        let kind = FileStat::from_metadata(&fs::metadata(real.as_path())?).kind;
        if kind != FileKind::File && kind != FileKind::Dir {
            return Err(not_regular(p));
        }
        // On Linux futimens works on a read-only descriptor (the owner check is done
        // by the kernel), and directories can be opened read-only too.
        File::open(real.as_path())?.set_modified(t)
    }

    fn open_read(&self, p: &VirtualPath) -> io::Result<Box<dyn ReadFile>> {
        let real = self.follow(p)?;
        // Check before opening, so a FIFO never blocks `open`; re-check the handle.
        if !fs::metadata(real.as_path())?.is_file() {
            return Err(not_regular(p));
        }
        let file = File::open(real.as_path())?;
        if !file.metadata()?.is_file() {
            return Err(not_regular(p));
        }
        Ok(Box::new(file))
    }

    fn check_write(&self, p: &VirtualPath, mode: WriteMode) -> io::Result<()> {
        let real = self.follow(p)?;
        // Permissions too, as `open` will judge them (the process may have dropped root).
        match fs::metadata(real.as_path()) {
            Ok(md) if !md.is_file() => Err(not_regular(p)),
            Ok(_) if mode == WriteMode::CreateNew => Err(ErrorKind::AlreadyExists.into()),
            Ok(_) => probe::may_write(real.as_path(), false),
            Err(e) if e.kind() == ErrorKind::NotFound => match real.as_path().parent() {
                Some(dir) => probe::may_write(dir, true),
                None => Err(e),
            },
            Err(e) => Err(e),
        }
    }

    fn open_write(&self, p: &VirtualPath, mode: WriteMode) -> io::Result<Box<dyn WriteFile>> {
        let real = self.follow(p)?;
        if mode == WriteMode::Truncate && !self.uploads.atomic {
            // The common case, a new name: one `open` and nothing else.
            match OsUpload::create(real.as_path(), self.uploads) {
                Ok(upload) => return Ok(Box::new(upload)),
                Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
                Err(e) => return Err(e),
            }
        }
        // Checked before opening: opening a FIFO for writing would block the loop.
        let existed = match fs::metadata(real.as_path()) {
            Ok(md) if !md.is_file() => return Err(not_regular(p)),
            Ok(_) => true,
            Err(e) if e.kind() == ErrorKind::NotFound => false,
            Err(e) => return Err(e),
        };
        let (append, at, create_new) = match mode {
            WriteMode::Truncate => (false, None, false),
            WriteMode::Append => (true, None, false),
            WriteMode::At(n) => (false, Some(n), false),
            WriteMode::CreateNew => (false, None, true),
        };
        let upload = OsUpload::open_known(
            real.as_path(),
            self.uploads,
            append,
            at,
            create_new,
            existed,
        )?;
        Ok(Box::new(upload))
    }
}

#[cfg(test)]
mod tests;
