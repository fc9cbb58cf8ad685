//! The jail the kernel enforces: every path is resolved relative to an open descriptor of
//! the user's root, so nothing that happens on disk between two system calls can lead a
//! session outside it.
//!
//! A path check followed by a second lookup of the same name (`lstat` each component, then
//! `open` the string) can be raced: a local user swaps a directory for a symlink between the
//! two. Here there is no second lookup. [`Jail`] holds a descriptor of the root, opened once
//! when the session logs in, and every operation starts from it:
//!
//! * On Linux 5.6 and later, [`openat2`] with `RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS`: the
//!   kernel resolves the whole path as if the root were `/` (chroot semantics). An absolute
//!   symlink `/pub/x -> /etc` means `ROOT/etc`, and `..` stops at the root, whatever the
//!   links say and however they change meanwhile. `/proc/self/fd`-style magic links are
//!   refused.
//! * Elsewhere (older kernels, seccomp filters answering `ENOSYS`, other systems, or
//!   `FTPDLIB_NO_OPENAT2=1`), [`Jail::walk`] does the same in user space: one `openat` per
//!   directory with `O_NOFOLLOW | O_DIRECTORY`, each relative to the descriptor of the
//!   directory before it, and a symlink's target read with `readlinkat` and spliced into the
//!   components still to walk. `..` pops the stack of descriptors held (never below the
//!   root), and an absolute target empties it. No path string is ever handed to the kernel
//!   for more than one component.
//!
//! Operations on a name itself (lstat, unlink, rename, mkdir, create) use the descriptor of
//! its parent and the bare name with `AT_SYMLINK_NOFOLLOW` / `O_NOFOLLOW`, so a link that
//! appears there after the lookup is never followed: at worst the call fails.

use std::collections::VecDeque;
use std::ffi::{OsStr, OsString};
use std::io::{self, ErrorKind};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::Path;
use std::sync::Arc;

use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use rustix::fs::{openat, readlinkat, AtFlags, Mode, OFlags};

use super::path::VirtualPath;

/// How many symbolic links one resolution may expand before giving up (like `ELOOP`).
const MAX_LINK_EXPANSIONS: usize = 40;

/// How often an `openat2` that answered `EAGAIN` (a rename raced a `..`) is retried.
#[cfg(any(target_os = "linux", target_os = "android"))]
const OPENAT2_RETRIES: usize = 8;

/// Flags for a directory descriptor used only as the base of `*at` calls.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) const DIR_HANDLE: OFlags = OFlags::PATH.union(OFlags::DIRECTORY).union(OFlags::CLOEXEC);
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(crate) const DIR_HANDLE: OFlags = OFlags::RDONLY
    .union(OFlags::DIRECTORY)
    .union(OFlags::CLOEXEC);

/// Flags for a descriptor used only to `fstat` or name an object (no read permission needed,
/// and opening a FIFO this way never blocks).
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) const HANDLE: OFlags = OFlags::PATH.union(OFlags::CLOEXEC);
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(crate) const HANDLE: OFlags = OFlags::RDONLY
    .union(OFlags::NONBLOCK)
    .union(OFlags::CLOEXEC);

/// A directory descriptor, shared: the root's is shared by every operation of a session,
/// and an upload keeps the one of its directory until it commits or aborts.
pub(crate) type DirFd = Arc<OwnedFd>;

/// The environment variable that forces the user-space walk, read once per `OsFs::new`
/// (`FTPDLIB_NO_OPENAT2=1`).
pub const NO_OPENAT2_ENV: &str = "FTPDLIB_NO_OPENAT2";

/// How an `OsFs` resolves paths below its root.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resolver {
    /// `openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)`: the kernel does it.
    Openat2,
    /// Component by component with `openat(O_NOFOLLOW)` from held descriptors.
    Walk,
}

/// The descriptor of a user's root and the way paths below it are resolved.
#[derive(Clone, Debug)]
pub(crate) struct Jail {
    root: DirFd,
    resolver: Resolver,
}

/// Converts a rustix error into a `std` one.
pub(crate) fn os(e: rustix::io::Errno) -> io::Error {
    io::Error::from_raw_os_error(e.raw_os_error())
}

/// Where a resolution ended: a directory and, unless the path named that directory itself
/// (the root, or a link to `..`), the last name in it.
pub(crate) struct At {
    pub dir: DirFd,
    pub name: Option<OsString>,
}

impl Jail {
    /// Opens `root` (a directory) and picks the resolver: `openat2` when the kernel has it
    /// and [`NO_OPENAT2_ENV`] is not set to a non-empty value other than `0`.
    ///
    /// The descriptor is shared with the other sessions of the same root (`roots.rs`).
    pub fn open(root: &Path) -> io::Result<Jail> {
        let forced = std::env::var_os(NO_OPENAT2_ENV).is_some_and(|v| !v.is_empty() && v != "0");
        let mut jail = Jail {
            root: super::roots::open(root)?,
            resolver: Resolver::Walk,
        };
        if !forced && jail.probe_openat2() {
            jail.resolver = Resolver::Openat2;
        }
        Ok(jail)
    }

    /// Forces a resolver (tests run the jail both ways). `Openat2` is ignored where the
    /// kernel lacks it.
    pub fn set_resolver(&mut self, resolver: Resolver) {
        if resolver == Resolver::Walk || self.probe_openat2() {
            self.resolver = resolver;
        }
    }

    /// The resolver in use.
    pub fn resolver(&self) -> Resolver {
        self.resolver
    }

    /// Whether the kernel has `openat2` (asked once per process: it does not change).
    #[cfg(any(target_os = "linux", target_os = "android"))]
    fn probe_openat2(&self) -> bool {
        static HAS_OPENAT2: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        *HAS_OPENAT2.get_or_init(|| self.openat2(".", DIR_HANDLE, Mode::empty()).is_ok())
    }

    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    fn probe_openat2(&self) -> bool {
        false
    }

    /// `openat2` below the root with chroot semantics, retried on `EAGAIN`.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    fn openat2(&self, rel: &str, flags: OFlags, mode: Mode) -> io::Result<OwnedFd> {
        use rustix::fs::ResolveFlags;
        let resolve = ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS;
        let mut tries = 0;
        loop {
            match rustix::fs::openat2(&*self.root, rel, flags | OFlags::CLOEXEC, mode, resolve) {
                Err(rustix::io::Errno::AGAIN) if tries < OPENAT2_RETRIES => tries += 1,
                other => return other.map_err(os),
            }
        }
    }

    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    fn openat2(&self, _rel: &str, _flags: OFlags, _mode: Mode) -> io::Result<OwnedFd> {
        Err(ErrorKind::Unsupported.into())
    }

    /// Opens `p` with `flags`, every symlink followed inside the root. `O_CLOEXEC` is added.
    pub fn open_follow(&self, p: &VirtualPath, flags: OFlags, mode: Mode) -> io::Result<OwnedFd> {
        if self.resolver == Resolver::Openat2 {
            return self.openat2(relative(p), flags, mode);
        }
        let at = self.walk(p.components(), true)?;
        open_at(&at, flags, mode)
    }

    /// The directory holding `p`'s last component (every link before it followed inside the
    /// root) and that component, which is not followed. `None` for the root itself.
    pub fn parent<'a>(&self, p: &'a VirtualPath) -> io::Result<Option<(DirFd, &'a str)>> {
        let Some(name) = p.file_name() else {
            return Ok(None);
        };
        let parent = p.parent();
        let dir = if parent.is_root() {
            Arc::clone(&self.root)
        } else if self.resolver == Resolver::Openat2 {
            Arc::new(self.openat2(relative(&parent), DIR_HANDLE, Mode::empty())?)
        } else {
            let at = self.walk(parent.components(), true)?;
            match at.name {
                None => at.dir,
                Some(_) => Arc::new(open_at(&at, DIR_HANDLE, Mode::empty())?),
            }
        };
        Ok(Some((dir, name)))
    }

    /// Where `p` leads with a final symlink followed too, for creating files through a
    /// dangling link: the returned name was not a symlink when looked at (open it with
    /// `O_NOFOLLOW`). `known` is `p`'s parent and name when the caller has them already.
    pub fn target(&self, p: &VirtualPath, known: Option<(DirFd, &str)>) -> io::Result<At> {
        let parent = match known {
            Some(k) => Some(k),
            None => self.parent(p)?,
        };
        let Some((dir, name)) = parent else {
            return Ok(At {
                dir: Arc::clone(&self.root),
                name: None,
            });
        };
        if self.resolver == Resolver::Openat2 {
            match rustix::fs::statat(&*dir, name, AtFlags::SYMLINK_NOFOLLOW) {
                Ok(st) if is_link(st.st_mode) => {}
                _ => {
                    return Ok(At {
                        dir,
                        name: Some(name.into()),
                    })
                }
            }
        }
        self.walk(p.components(), true)
    }

    /// Resolves `parts` below the root in user space, one descriptor per directory.
    ///
    /// Returns the directory holding the last name and the name; with `follow_last` a final
    /// symlink is expanded too (the name returned was not a link when looked at), without
    /// it the name is returned as it is. A missing last name is fine (a file to create); a
    /// missing directory before it is `NotFound`.
    pub fn walk<'a>(
        &self,
        parts: impl Iterator<Item = &'a str>,
        follow_last: bool,
    ) -> io::Result<At> {
        let mut pending: VecDeque<OsString> = parts.map(OsString::from).collect();
        let mut stack: Vec<DirFd> = Vec::new();
        let mut expansions = 0;
        while let Some(part) = pending.pop_front() {
            let bytes = part.as_bytes();
            if bytes.is_empty() || bytes == b"." {
                continue;
            }
            if bytes == b".." {
                stack.pop();
                continue;
            }
            let cur = stack.last().unwrap_or(&self.root);
            let last = pending.iter().all(|p| p.is_empty() || p == ".");
            if last {
                let link = match follow_last {
                    true => readlinkat(&**cur, part.as_os_str(), Vec::new()),
                    false => Err(rustix::io::Errno::INVAL),
                };
                match link {
                    Ok(target) => {
                        expansions = splice(&mut pending, &mut stack, target, expansions)?;
                        continue;
                    }
                    // Not a link, or missing (a name to create).
                    Err(rustix::io::Errno::INVAL | rustix::io::Errno::NOENT) => {
                        let dir = Arc::clone(cur);
                        return Ok(At {
                            dir,
                            name: Some(part),
                        });
                    }
                    Err(e) => return Err(os(e)),
                }
            }
            match enter(cur, &part)? {
                Ok(fd) => stack.push(Arc::new(fd)),
                Err(target) => expansions = splice(&mut pending, &mut stack, target, expansions)?,
            }
        }
        Ok(At {
            dir: Arc::clone(stack.last().unwrap_or(&self.root)),
            name: None,
        })
    }

    /// True if both jails hold the same root descriptor.
    #[cfg(test)]
    pub fn shares_root_with(&self, other: &Jail) -> bool {
        Arc::ptr_eq(&self.root, &other.root)
    }

    /// A borrowed root descriptor, for `fstat` of `/`.
    pub fn root_fd(&self) -> BorrowedFd<'_> {
        self.root.as_fd()
    }
}

/// Opens directory `part` in `cur` without following it, or reads the link found there.
fn enter(cur: &OwnedFd, part: &OsStr) -> io::Result<Result<OwnedFd, std::ffi::CString>> {
    let flags = DIR_HANDLE | OFlags::NOFOLLOW;
    match openat(cur, part, flags, Mode::empty()) {
        Ok(fd) => Ok(Ok(fd)),
        // A symlink (or a file used as a directory).
        Err(rustix::io::Errno::NOTDIR | rustix::io::Errno::LOOP) => {
            match readlinkat(cur, part, Vec::new()) {
                Ok(target) => Ok(Err(target)),
                Err(rustix::io::Errno::INVAL) => Err(not_a_directory()),
                Err(e) => Err(os(e)),
            }
        }
        Err(e) => Err(os(e)),
    }
}

/// Puts a link's target in front of the components still to walk. An absolute target
/// restarts from the root (the stack empties): that is the chroot semantics.
fn splice(
    pending: &mut VecDeque<OsString>,
    stack: &mut Vec<DirFd>,
    target: std::ffi::CString,
    expansions: usize,
) -> io::Result<usize> {
    if expansions >= MAX_LINK_EXPANSIONS {
        return Err(os(rustix::io::Errno::LOOP));
    }
    let target = OsString::from_vec(target.into_bytes());
    if target.as_bytes().starts_with(b"/") {
        stack.clear();
    }
    for comp in target.as_bytes().rsplit(|b| *b == b'/') {
        pending.push_front(OsStr::from_bytes(comp).to_owned());
    }
    Ok(expansions + 1)
}

/// Opens where a walk ended, never following a link there.
fn open_at(at: &At, flags: OFlags, mode: Mode) -> io::Result<OwnedFd> {
    let name: &OsStr = at.name.as_deref().unwrap_or(OsStr::new("."));
    openat(
        &*at.dir,
        name,
        flags | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        mode,
    )
    .map_err(os)
}

/// `p` relative to the root, for `openat2` (`.` for the root itself).
fn relative(p: &VirtualPath) -> &str {
    match p.as_str().trim_start_matches('/') {
        "" => ".",
        rel => rel,
    }
}

/// True if `st_mode` is a symbolic link's.
pub(crate) fn is_link(mode: impl Into<u32>) -> bool {
    (mode.into() & 0o170_000) == 0o120_000
}

fn not_a_directory() -> io::Error {
    io::Error::new(ErrorKind::NotADirectory, "Not a directory")
}
