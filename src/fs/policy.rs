//! Hidden and denied names: `--hide`/`--deny` and a user's `hide=`/`deny=` (vsftpd's
//! `hide_file` and `deny_file`).
//!
//! A name that matches a *hide* pattern is not there: listings leave it out and every command
//! that names it gets "No such file or directory", as if it did not exist (a hidden directory
//! hides what is inside it). A name that matches a *deny* pattern is there but untouchable:
//! every operation on it or below it (download, upload, rename to or from, delete, listing)
//! is refused. Patterns are shell globs on one name (`*.tmp`, `.*`, `secret[0-9]`), matched
//! against every component of the path.
//!
//! The rule is a [`Filesystem`] wrapper around the user's filesystem, so no command can
//! forget it.

use std::io::{self, ErrorKind};
use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

use super::{
    DirEntry, FileStat, Filesystem, ReadFile, RootedPath, Space, VirtualPath, WriteFile, WriteMode,
};
use crate::glob::glob_match;

/// The patterns of one session.
#[derive(Debug, Default, Clone)]
pub struct Names {
    /// Names that look missing.
    pub hide: Vec<String>,
    /// Names that are refused.
    pub deny: Vec<String>,
}

impl Names {
    fn hidden(&self, name: &str) -> bool {
        self.hide.iter().any(|p| glob_match(p, name))
    }

    fn denied(&self, name: &str) -> bool {
        self.deny.iter().any(|p| glob_match(p, name))
    }

    /// `fs` under these rules (itself when there are none).
    pub fn apply(self, fs: Box<dyn Filesystem>) -> Box<dyn Filesystem> {
        if self.hide.is_empty() && self.deny.is_empty() {
            return fs;
        }
        Box::new(Policed {
            inner: fs,
            names: Arc::new(self),
        })
    }
}

/// A filesystem with hidden and denied names.
#[derive(Debug)]
struct Policed {
    inner: Box<dyn Filesystem>,
    names: Arc<Names>,
}

impl Policed {
    /// `NotFound` if a component is hidden, `PermissionDenied` if one is denied.
    fn check(&self, p: &VirtualPath) -> io::Result<()> {
        if p.components().any(|c| self.names.hidden(c)) {
            return Err(ErrorKind::NotFound.into());
        }
        match p.components().find(|c| self.names.denied(c)) {
            Some(name) => Err(io::Error::new(
                ErrorKind::PermissionDenied,
                format!("\"{name}\" is not allowed here"),
            )),
            None => Ok(()),
        }
    }
}

impl Filesystem for Policed {
    fn root(&self) -> &Path {
        self.inner.root()
    }
    fn realpath(&self, p: &VirtualPath) -> io::Result<RootedPath> {
        self.check(p)?;
        self.inner.realpath(p)
    }
    fn stat(&self, p: &VirtualPath) -> io::Result<FileStat> {
        self.check(p)?;
        self.inner.stat(p)
    }
    fn lstat(&self, p: &VirtualPath) -> io::Result<FileStat> {
        self.check(p)?;
        self.inner.lstat(p)
    }
    fn read_dir(&self, p: &VirtualPath) -> io::Result<Box<dyn Iterator<Item = DirEntry> + Send>> {
        self.check(p)?;
        let names = Arc::clone(&self.names);
        let entries = self.inner.read_dir(p)?;
        Ok(Box::new(entries.filter(move |e| !names.hidden(&e.name))))
    }
    fn is_dir(&self, p: &VirtualPath) -> bool {
        self.check(p).is_ok() && self.inner.is_dir(p)
    }
    fn is_file(&self, p: &VirtualPath) -> bool {
        self.check(p).is_ok() && self.inner.is_file(p)
    }
    fn mkdir(&self, p: &VirtualPath) -> io::Result<()> {
        self.check(p)?;
        self.inner.mkdir(p)
    }
    fn rmdir(&self, p: &VirtualPath) -> io::Result<()> {
        self.check(p)?;
        self.inner.rmdir(p)
    }
    fn remove_file(&self, p: &VirtualPath) -> io::Result<()> {
        self.check(p)?;
        self.inner.remove_file(p)
    }
    fn rename(&self, from: &VirtualPath, to: &VirtualPath) -> io::Result<()> {
        self.check(from)?;
        self.check(to)?;
        self.inner.rename(from, to)
    }
    fn chmod(&self, p: &VirtualPath, mode: u32) -> io::Result<()> {
        self.check(p)?;
        self.inner.chmod(p, mode)
    }
    fn set_mtime(&self, p: &VirtualPath, t: SystemTime) -> io::Result<()> {
        self.check(p)?;
        self.inner.set_mtime(p, t)
    }
    fn open_read(&self, p: &VirtualPath) -> io::Result<Box<dyn ReadFile>> {
        self.check(p)?;
        self.inner.open_read(p)
    }
    fn open_write(&self, p: &VirtualPath, mode: WriteMode) -> io::Result<Box<dyn WriteFile>> {
        self.check(p)?;
        self.inner.open_write(p, mode)
    }
    fn check_write(&self, p: &VirtualPath, mode: WriteMode) -> io::Result<()> {
        self.check(p)?;
        self.inner.check_write(p, mode)
    }
    fn may_block(&self) -> bool {
        self.inner.may_block()
    }
    fn space(&self, p: &VirtualPath) -> io::Result<Space> {
        self.check(p)?;
        self.inner.space(p)
    }
    fn share(&self) -> Option<Box<dyn Filesystem>> {
        let inner = self.inner.share()?;
        Some(Box::new(Policed {
            inner,
            names: Arc::clone(&self.names),
        }))
    }
}
