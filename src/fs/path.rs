//! Virtual paths (what the FTP client sees) and rooted paths (what the disk sees).
//!
//! An FTP user is jailed in a home directory: the client believes that directory is `/`
//! and must never reach anything outside it. Two types keep the two worlds apart:
//!
//! * [`VirtualPath`] is the client's view. It is always absolute and normalised, and
//!   `..` is clamped at `/`, so `CWD ../../etc` from `/` lands in `/etc` *inside* the
//!   jail, never above it. Normalising is purely textual and never touches the disk.
//! * [`RootedPath`] is a real on-disk path below the root, with every symbolic link
//!   expanded the way the jail expands them. Only [`RootedPath::resolve`] and
//!   [`RootedPath::resolve_link`] build one.
//!
//! Links follow chroot semantics, as in the kernel-enforced jail of `OsFs` (see
//! `jail.rs`): an absolute target starts again at the root (`pub/evil -> /etc` means
//! `ROOT/etc`) and `..` stops at the root. A `RootedPath` is a *description*: `OsFs` never
//! opens one, it resolves every operation relative to its root's descriptor, so a path
//! that changes on disk after it was computed cannot lead anywhere else. It serves
//! `Filesystem::realpath` and the authorizer, which matches per-directory permissions
//! against the place a path really names.

use std::collections::VecDeque;
use std::fmt;
use std::io::{self, ErrorKind};
use std::path::{Component, Path, PathBuf};

/// How many symbolic links one resolution may expand before giving up (like `ELOOP`).
const MAX_LINK_EXPANSIONS: usize = 40;

/// A path as the FTP client sees it: absolute, normalised, never above `/`.
///
/// Invariants: starts with `/`; has no empty, `.` or `..` components; has no trailing
/// slash unless it is the root `/` itself.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct VirtualPath(String);

impl VirtualPath {
    /// The root `/` of the user's jail.
    pub fn root() -> VirtualPath {
        VirtualPath("/".to_owned())
    }

    /// Resolves a client argument against `self`, the current working directory.
    ///
    /// `arg` may be absolute or relative and may contain `//`, `.`, `..` and a trailing
    /// `/`. `..` never climbs above `/`. A NUL byte is kept as an ordinary character;
    /// the filesystem layer rejects it.
    pub fn resolve(&self, arg: &str) -> VirtualPath {
        let mut parts: Vec<&str> = if arg.starts_with('/') {
            Vec::new()
        } else {
            self.components().collect()
        };
        for part in arg.split('/') {
            match part {
                "" | "." => {}
                ".." => {
                    parts.pop();
                }
                name => parts.push(name),
            }
        }
        let mut out = String::with_capacity(arg.len() + self.0.len() + 1);
        for part in &parts {
            out.push('/');
            out.push_str(part);
        }
        if out.is_empty() {
            out.push('/');
        }
        VirtualPath(out)
    }

    /// Same as [`resolve`](Self::resolve): appends a name (or any relative path).
    pub fn join(&self, name: &str) -> VirtualPath {
        self.resolve(name)
    }

    /// The path as a string, e.g. `/pub/file.txt`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True for `/`.
    pub fn is_root(&self) -> bool {
        self.0 == "/"
    }

    /// The containing directory; the parent of `/` is `/`.
    pub fn parent(&self) -> VirtualPath {
        match self.0.rfind('/') {
            Some(0) | None => VirtualPath::root(),
            Some(idx) => VirtualPath(self.0[..idx].to_owned()),
        }
    }

    /// The last component, or `None` for the root.
    pub fn file_name(&self) -> Option<&str> {
        if self.is_root() {
            None
        } else {
            self.0.rsplit('/').next()
        }
    }

    /// The components below the root, outermost first (`/a/b` yields `a`, `b`).
    pub fn components(&self) -> impl Iterator<Item = &str> + '_ {
        self.0.split('/').filter(|part| !part.is_empty())
    }

    /// True if `self` is `ancestor` or lies somewhere below it.
    pub fn starts_with(&self, ancestor: &VirtualPath) -> bool {
        ancestor.is_root()
            || self.0 == ancestor.0
            || (self.0.starts_with(&ancestor.0)
                && self.0.as_bytes().get(ancestor.0.len()) == Some(&b'/'))
    }
}

impl Default for VirtualPath {
    fn default() -> Self {
        VirtualPath::root()
    }
}

impl fmt::Display for VirtualPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A real on-disk path verified to lie inside the user's root directory.
///
/// Built only by [`RootedPath::resolve`] (every symlink followed) or
/// [`RootedPath::resolve_link`] (all but the last component followed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RootedPath {
    path: PathBuf,
}

impl RootedPath {
    /// The verified real path.
    pub fn as_path(&self) -> &Path {
        &self.path
    }

    /// Maps `vpath` under `root`, following every symlink with chroot semantics.
    ///
    /// `root` must already be canonical (see [`std::fs::canonicalize`]). The path need
    /// not exist: the deepest existing ancestor is resolved and the missing tail
    /// appended, which is what MKD and STOR targets need. A dangling symlink on the way
    /// is expanded by hand, also with its target taken inside the root.
    ///
    /// Errors: `InvalidInput` for a NUL byte, or the error of the underlying lookup (e.g.
    /// `NotFound`, not a directory, loop).
    pub fn resolve(root: &Path, vpath: &VirtualPath) -> io::Result<RootedPath> {
        check_nul(vpath)?;
        let path = canonical_tail(root, vpath.components())?;
        inside(root, vpath, path)
    }

    /// Like [`resolve`](Self::resolve) but leaves the last component unfollowed, for
    /// operations on a link itself (lstat, delete, rename). The parent directory is
    /// still fully resolved and checked. The root maps to itself.
    pub fn resolve_link(root: &Path, vpath: &VirtualPath) -> io::Result<RootedPath> {
        check_nul(vpath)?;
        let Some(name) = vpath.file_name() else {
            return RootedPath::resolve(root, vpath);
        };
        let parent = RootedPath::resolve(root, &vpath.parent())?;
        inside(root, vpath, parent.path.join(name))
    }
}

/// `InvalidInput` if the path holds a NUL byte (the OS would truncate or reject it).
pub(crate) fn check_nul(vpath: &VirtualPath) -> io::Result<()> {
    if vpath.as_str().contains('\0') {
        Err(io::Error::new(
            ErrorKind::InvalidInput,
            "path contains a NUL byte",
        ))
    } else {
        Ok(())
    }
}

/// The error returned if a path would leave the jail (it cannot: a last line of defence).
fn outside_root(vpath: &VirtualPath) -> io::Error {
    io::Error::new(
        ErrorKind::PermissionDenied,
        format!("\"{vpath}\" points to a path which is outside the user's root directory"),
    )
}

fn inside(root: &Path, vpath: &VirtualPath, path: PathBuf) -> io::Result<RootedPath> {
    if path.starts_with(root) {
        Ok(RootedPath { path })
    } else {
        Err(outside_root(vpath))
    }
}

/// Walks `vpath` below `root` one component at a time, following symbolic links by
/// hand, and returns the real path the jail would act on.
///
/// `root` is canonical, so it needs no checking: only the components below it are
/// looked at, with one `lstat` each. A link's target is spliced in front of the
/// components still to walk; an absolute target restarts the walk from the root, and
/// `..` never climbs above it. When a component does not exist, the rest is a tail of plain names that do not
/// exist yet (an MKD or STOR target); `..` after a missing directory cannot be
/// resolved and is reported as not found, as the OS would.
fn canonical_tail<'a>(root: &Path, parts: impl Iterator<Item = &'a str>) -> io::Result<PathBuf> {
    let mut resolved = root.to_path_buf();
    let mut pending: VecDeque<PathBuf> = parts.map(PathBuf::from).collect();
    let mut expansions = 0;
    let mut missing = false;
    while let Some(part) = pending.pop_front() {
        match Path::new(&part).components().next() {
            None | Some(Component::CurDir) => continue,
            Some(Component::RootDir | Component::Prefix(_)) => {
                resolved = root.to_path_buf();
                continue;
            }
            Some(Component::ParentDir) if missing => {
                return Err(io::Error::from(ErrorKind::NotFound))
            }
            Some(Component::ParentDir) => {
                if resolved != root {
                    resolved.pop();
                }
                continue;
            }
            Some(Component::Normal(_)) => {}
        }
        resolved.push(&part);
        if missing {
            continue;
        }
        match std::fs::symlink_metadata(&resolved) {
            Ok(meta) if meta.file_type().is_symlink() => {
                expansions += 1;
                if expansions > MAX_LINK_EXPANSIONS {
                    return Err(io::Error::other("too many levels of symbolic links"));
                }
                let target = std::fs::read_link(&resolved)?;
                resolved.pop();
                for comp in target.components().rev() {
                    pending.push_front(comp.as_os_str().into());
                }
            }
            Ok(meta) if !meta.is_dir() && !pending.is_empty() => {
                // `file/x` or `file/..` (from a link's target): the OS says ENOTDIR.
                return Err(io::Error::new(ErrorKind::NotADirectory, "Not a directory"));
            }
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::NotFound => missing = true,
            Err(e) => return Err(e),
        }
    }
    Ok(resolved)
}

#[cfg(test)]
mod tests {
    use super::VirtualPath;

    fn r(cwd: &str, arg: &str) -> String {
        VirtualPath::root()
            .resolve(cwd)
            .resolve(arg)
            .as_str()
            .to_owned()
    }

    #[test]
    fn dotdot_is_clamped_at_root() {
        assert_eq!(r("/", ".."), "/");
        assert_eq!(r("/", "../../etc"), "/etc");
        assert_eq!(r("/a/b", "../../../../x"), "/x");
        assert_eq!(r("/a/b", ".."), "/a");
        assert_eq!(r("/a/b", "../c/../d"), "/a/d");
        assert_eq!(r("/", "/../../etc/passwd"), "/etc/passwd");
        assert_eq!(r("/a", "b/.."), "/a");
    }

    #[test]
    fn slashes_and_dots() {
        assert_eq!(r("/", "//a///b//"), "/a/b");
        assert_eq!(r("/a", "./b/./c/."), "/a/b/c");
        assert_eq!(r("/a", "b/"), "/a/b");
        assert_eq!(r("/a", "/"), "/");
        assert_eq!(r("/a", ""), "/a");
        assert_eq!(r("/a", "."), "/a");
        assert_eq!(r("/", "..."), "/...");
    }

    #[test]
    fn absolute_versus_relative() {
        assert_eq!(r("/home/x", "/etc"), "/etc");
        assert_eq!(r("/home/x", "etc"), "/home/x/etc");
        assert_eq!(VirtualPath::root().join("a").join("b").as_str(), "/a/b");
    }

    #[test]
    fn nul_is_an_ordinary_character_here() {
        assert_eq!(r("/", "a\0b"), "/a\0b");
    }

    #[test]
    fn accessors() {
        let p = VirtualPath::root().resolve("/a/b/c.txt");
        assert_eq!(p.file_name(), Some("c.txt"));
        assert_eq!(p.parent().as_str(), "/a/b");
        assert_eq!(p.parent().parent().parent().as_str(), "/");
        assert!(p.parent().parent().parent().is_root());
        assert_eq!(VirtualPath::root().parent(), VirtualPath::root());
        assert_eq!(VirtualPath::root().file_name(), None);
        assert_eq!(p.components().collect::<Vec<_>>(), ["a", "b", "c.txt"]);
        assert_eq!(VirtualPath::root().components().count(), 0);
        assert_eq!(p.to_string(), "/a/b/c.txt");
        assert_eq!(VirtualPath::default(), VirtualPath::root());
    }

    #[test]
    fn starts_with_is_component_wise() {
        let p = VirtualPath::root().resolve("/ab/c");
        assert!(p.starts_with(&VirtualPath::root()));
        assert!(p.starts_with(&VirtualPath::root().resolve("/ab")));
        assert!(p.starts_with(&p));
        assert!(!p.starts_with(&VirtualPath::root().resolve("/a")));
        assert!(!VirtualPath::root().starts_with(&p));
    }
}
