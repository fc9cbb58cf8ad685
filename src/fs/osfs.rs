//! [`OsFs`]: the real filesystem, jailed in a root directory that the kernel enforces.
//!
//! Every method goes through the session's [`Jail`]: the root's descriptor, opened when
//! the `OsFs` is built (at login) and kept for the session. Methods that follow a path
//! (stat, RETR, LIST, CWD, SITE CHMOD, MFMT) open it with every symlink resolved inside the
//! root, and then act on the descriptor (`fstat`, `fchmod`-like calls, reading a directory
//! descriptor). Methods that act on a name (lstat, MKD, RMD, DELE, RNFR/RNTO, creating an
//! upload) open the parent directory the same way and then use the bare name with
//! `AT_SYMLINK_NOFOLLOW`/`O_NOFOLLOW`. Nothing is looked up by a path string twice, so a
//! directory swapped for a symlink between two calls cannot lead outside the root.
//!
//! Symlinks follow chroot semantics, as with vsftpd's `chroot_local_user`: an absolute link
//! target is taken from the root (`/pub/x -> /etc` is `ROOT/etc`) and `..` stops at the
//! root. Listings and `lstat` show links as links.

use std::ffi::OsStr;
use std::fs::{self, File};
use std::io::{self, ErrorKind};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use rustix::fd::{AsFd, OwnedFd};
use rustix::fs::{fstat, statat, AtFlags, Mode, OFlags};

use super::jail::{is_link, os, Jail, Resolver, HANDLE};
use super::path::check_nul;
use super::{
    DirEntry, FileKind, FileStat, Filesystem, OsUpload, ReadFile, RootedPath, UploadPolicy,
    VirtualPath, WriteFile, WriteMode,
};

/// The real filesystem, jailed in a root directory.
#[derive(Clone, Debug)]
pub struct OsFs {
    root: PathBuf,
    jail: Jail,
    uploads: UploadPolicy,
}

impl OsFs {
    /// Jails a filesystem in `root`, which is canonicalised and must be a directory. The
    /// root's descriptor is opened here and kept: renaming or replacing the directory later
    /// does not move this filesystem.
    pub fn new(root: impl Into<PathBuf>) -> io::Result<OsFs> {
        let root = fs::canonicalize(root.into())?;
        if !fs::metadata(&root)?.is_dir() {
            return Err(io::Error::new(
                ErrorKind::InvalidInput,
                format!("root {} is not a directory", root.display()),
            ));
        }
        let jail = Jail::open(&root)?;
        Ok(OsFs {
            root,
            jail,
            uploads: UploadPolicy::default(),
        })
    }

    /// Sets what uploads do on completion and failure (atomic rename, delete on failure).
    pub fn with_uploads(mut self, policy: UploadPolicy) -> OsFs {
        self.uploads = policy;
        self
    }

    /// Forces how paths are resolved (tests exercise the fallback walk with it). Asking
    /// for [`Resolver::Openat2`] where the kernel lacks it keeps the walk.
    #[doc(hidden)]
    pub fn with_resolver(mut self, resolver: Resolver) -> OsFs {
        self.jail.set_resolver(resolver);
        self
    }

    /// How paths are resolved: `openat2` or the user-space walk.
    pub fn resolver(&self) -> Resolver {
        self.jail.resolver()
    }

    /// Opens `p` as a handle to act on (every link followed inside the root).
    fn handle(&self, p: &VirtualPath) -> io::Result<OwnedFd> {
        check_nul(p)?;
        self.jail.open_follow(p, HANDLE, Mode::empty())
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

/// `fstat` of a descriptor that the jail opened following links; a link found there was
/// swapped in after the walk looked, and is an error rather than a result.
fn stat_fd(fd: impl AsFd) -> io::Result<FileStat> {
    let st = FileStat::from_stat(&fstat(fd).map_err(os)?);
    if st.kind == FileKind::Symlink {
        return Err(os(rustix::io::Errno::LOOP));
    }
    Ok(st)
}

impl Filesystem for OsFs {
    fn root(&self) -> &Path {
        &self.root
    }

    fn realpath(&self, p: &VirtualPath) -> io::Result<RootedPath> {
        RootedPath::resolve(&self.root, p)
    }

    fn stat(&self, p: &VirtualPath) -> io::Result<FileStat> {
        stat_fd(self.handle(p)?)
    }

    fn lstat(&self, p: &VirtualPath) -> io::Result<FileStat> {
        check_nul(p)?;
        let st = match self.jail.parent(p)? {
            None => fstat(self.jail.root_fd()),
            Some((dir, name)) => statat(&*dir, name, AtFlags::SYMLINK_NOFOLLOW),
        };
        Ok(FileStat::from_stat(&st.map_err(os)?))
    }

    fn read_dir(&self, p: &VirtualPath) -> io::Result<Box<dyn Iterator<Item = DirEntry> + Send>> {
        check_nul(p)?;
        let flags = OFlags::RDONLY | OFlags::DIRECTORY;
        let fd = self.jail.open_follow(p, flags, Mode::empty())?;
        Ok(Box::new(Entries {
            dir: rustix::fs::Dir::new(fd).map_err(os)?,
        }))
    }

    fn is_dir(&self, p: &VirtualPath) -> bool {
        matches!(self.stat(p), Ok(st) if st.kind == FileKind::Dir)
    }

    fn is_file(&self, p: &VirtualPath) -> bool {
        matches!(self.stat(p), Ok(st) if st.kind == FileKind::File)
    }

    fn mkdir(&self, p: &VirtualPath) -> io::Result<()> {
        check_nul(p)?;
        match self.jail.parent(p)? {
            None => Err(ErrorKind::AlreadyExists.into()),
            Some((dir, name)) => {
                let mode =
                    Mode::from_raw_mode((0o777 & !self.uploads.umask) as rustix::fs::RawMode);
                rustix::fs::mkdirat(&*dir, name, mode).map_err(os)
            }
        }
    }

    fn rmdir(&self, p: &VirtualPath) -> io::Result<()> {
        check_nul(p)?;
        refuse_root(p, "remove")?;
        match self.jail.parent(p)? {
            None => refuse_root(&VirtualPath::root(), "remove"),
            Some((dir, name)) => rustix::fs::unlinkat(&*dir, name, AtFlags::REMOVEDIR).map_err(os),
        }
    }

    fn remove_file(&self, p: &VirtualPath) -> io::Result<()> {
        check_nul(p)?;
        match self.jail.parent(p)? {
            None => Err(os(rustix::io::Errno::ISDIR)),
            Some((dir, name)) => rustix::fs::unlinkat(&*dir, name, AtFlags::empty()).map_err(os),
        }
    }

    fn rename(&self, from: &VirtualPath, to: &VirtualPath) -> io::Result<()> {
        check_nul(from)?;
        check_nul(to)?;
        refuse_root(from, "rename")?;
        refuse_root(to, "overwrite")?;
        let (Some((sdir, sname)), Some((ddir, dname))) =
            (self.jail.parent(from)?, self.jail.parent(to)?)
        else {
            return refuse_root(&VirtualPath::root(), "rename");
        };
        rustix::fs::renameat(&*sdir, sname, &*ddir, dname).map_err(os)
    }

    fn chmod(&self, p: &VirtualPath, mode: u32) -> io::Result<()> {
        let fd = self.handle(p)?;
        stat_fd(&fd)?;
        by_fd::chmod(&fd, mode & 0o7777)
    }

    fn set_mtime(&self, p: &VirtualPath, t: SystemTime) -> io::Result<()> {
        let fd = self.handle(p)?;
        // Only files and directories, as before the jail used descriptors.
        let kind = stat_fd(&fd)?.kind;
        if kind != FileKind::File && kind != FileKind::Dir {
            return Err(not_regular(p));
        }
        by_fd::set_mtime(&fd, t)
    }

    fn open_read(&self, p: &VirtualPath) -> io::Result<Box<dyn ReadFile>> {
        check_nul(p)?;
        // O_NONBLOCK: opening a FIFO must not block the loop. It is checked (and the flag
        // dropped) once the descriptor shows a regular file.
        let flags = OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOCTTY;
        let file = File::from(self.jail.open_follow(p, flags, Mode::empty())?);
        if !file.metadata()?.is_file() {
            return Err(not_regular(p));
        }
        rustix::fs::fcntl_setfl(&file, OFlags::empty()).map_err(os)?;
        Ok(Box::new(file))
    }

    fn space(&self, p: &VirtualPath) -> io::Result<super::Space> {
        super::probe::os_space(&self.jail, p)
    }

    fn share(&self) -> Option<Box<dyn Filesystem>> {
        Some(Box::new(self.clone()))
    }

    fn check_write(&self, p: &VirtualPath, mode: WriteMode) -> io::Result<()> {
        super::probe::os_check_write(&self.jail, p, mode)
    }

    fn open_write(&self, p: &VirtualPath, mode: WriteMode) -> io::Result<Box<dyn WriteFile>> {
        check_nul(p)?;
        let Some((dir, name)) = self.jail.parent(p)? else {
            return Err(not_regular(p));
        };
        if mode == WriteMode::Truncate && !self.uploads.atomic {
            // The common case, a new name: one `openat` with O_EXCL and nothing else.
            match OsUpload::create_in(&dir, OsStr::new(name), self.uploads) {
                Ok(upload) => return Ok(Box::new(upload)),
                Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
                Err(e) => return Err(e),
            }
        }
        // An existing file, or a link to follow (inside the root) to the file to write.
        let at = self.jail.target(p, Some((dir, name)))?;
        let Some(name) = at.name else {
            return Err(not_regular(p));
        };
        // Checked before opening, so a FIFO is refused with a clear error.
        let existed = match statat(&*at.dir, name.as_os_str(), AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) if is_link(st.st_mode) => return Err(os(rustix::io::Errno::LOOP)),
            Ok(st) if FileStat::from_stat(&st).kind != FileKind::File => {
                return Err(not_regular(p))
            }
            Ok(_) => true,
            Err(rustix::io::Errno::NOENT) => false,
            Err(e) => return Err(os(e)),
        };
        let (append, offset, create_new) = match mode {
            WriteMode::Truncate => (false, None, false),
            WriteMode::Append => (true, None, false),
            WriteMode::At(n) => (false, Some(n), false),
            WriteMode::CreateNew => (false, None, true),
        };
        let upload = OsUpload::open_in(
            at.dir,
            name,
            self.uploads,
            super::file::Shape {
                append,
                at: offset,
                create_new,
                existed,
            },
        )?;
        Ok(Box::new(upload))
    }
}

/// The entries of a directory descriptor, each `lstat`ed (`statat` with
/// `AT_SYMLINK_NOFOLLOW` on that descriptor) as it is iterated.
struct Entries {
    dir: rustix::fs::Dir,
}

impl Iterator for Entries {
    type Item = DirEntry;

    fn next(&mut self) -> Option<DirEntry> {
        loop {
            let entry = self.dir.read()?.ok()?;
            let name = entry.file_name();
            if name == c"." || name == c".." {
                continue;
            }
            let Ok(fd) = self.dir.fd() else {
                return None;
            };
            // Skipped when it fails (deleted meanwhile), as `Filesystem::read_dir` says.
            let Ok(st) = statat(fd, name, AtFlags::SYMLINK_NOFOLLOW) else {
                continue;
            };
            return Some(DirEntry {
                name: String::from_utf8_lossy(name.to_bytes()).into_owned(),
                stat: FileStat::from_stat(&st),
            });
        }
    }
}

/// Calls that change an object known by a descriptor only (opened with `O_PATH` on Linux,
/// which `fchmod` and `futimens` refuse): the call is made with `AT_EMPTY_PATH` where the
/// kernel takes it, else on the descriptor's `/proc/self/fd` entry, which names exactly the
/// inode the descriptor holds (the method open(2) gives for `O_PATH` descriptors). Neither
/// looks up a name inside the root again.
mod by_fd {
    use super::*;
    #[cfg(any(target_os = "linux", target_os = "android"))]
    use rustix::fs::CWD;
    use rustix::fs::{Timespec, Timestamps, UTIME_OMIT};

    #[cfg(any(target_os = "linux", target_os = "android"))]
    fn proc_path(fd: &OwnedFd) -> String {
        use std::os::fd::AsRawFd;
        format!("/proc/self/fd/{}", fd.as_raw_fd())
    }

    /// SITE CHMOD on the object `fd` holds.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    pub(super) fn chmod(fd: &OwnedFd, mode: u32) -> io::Result<()> {
        let mode = Mode::from_raw_mode(mode);
        match rustix::fs::chmod(proc_path(fd), mode) {
            // No /proc: a directory can still be reopened through its own descriptor.
            Err(rustix::io::Errno::NOENT) => {
                let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
                let dir = rustix::fs::openat(fd, ".", flags, Mode::empty()).map_err(|_| {
                    io::Error::new(ErrorKind::Unsupported, "SITE CHMOD of a file needs /proc")
                })?;
                rustix::fs::fchmod(dir, mode).map_err(os)
            }
            other => other.map_err(os),
        }
    }

    /// SITE CHMOD on the object `fd` holds.
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    pub(super) fn chmod(fd: &OwnedFd, mode: u32) -> io::Result<()> {
        rustix::fs::fchmod(fd, Mode::from_raw_mode(mode as rustix::fs::RawMode)).map_err(os)
    }

    /// MFMT on the object `fd` holds: the modification time only.
    pub(super) fn set_mtime(fd: &OwnedFd, t: SystemTime) -> io::Result<()> {
        let times = Timestamps {
            last_access: Timespec {
                tv_sec: 0,
                tv_nsec: UTIME_OMIT,
            },
            last_modification: timespec(t),
        };
        match rustix::fs::utimensat(fd, "", &times, AtFlags::EMPTY_PATH) {
            Ok(()) => Ok(()),
            #[cfg(any(target_os = "linux", target_os = "android"))]
            Err(rustix::io::Errno::INVAL | rustix::io::Errno::NOSYS) => {
                // Before Linux 5.8, utimensat took no AT_EMPTY_PATH.
                rustix::fs::utimensat(CWD, proc_path(fd), &times, AtFlags::empty()).map_err(os)
            }
            Err(e) => Err(os(e)),
        }
    }

    fn timespec(t: SystemTime) -> Timespec {
        let (secs, nanos) = super::super::unix_time(t);
        Timespec {
            tv_sec: secs,
            tv_nsec: nanos.into(),
        }
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;

#[cfg(test)]
#[path = "jail_tests.rs"]
mod jail_tests;
