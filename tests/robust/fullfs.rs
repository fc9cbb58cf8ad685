//! A filesystem whose disk fills up: [`OsFs`] with every method delegated, except that uploads
//! to names starting `full-` fail with ENOSPC, and to names starting `quota-` with EDQUOT,
//! once [`FAIL_AFTER`] bytes are written. Plugged in through `Config::filesystem`.

use std::io::{self, Write};
use std::path::Path;
use std::time::SystemTime;

use ftpdlib::auth::User;
use ftpdlib::fs::{
    DirEntry, FileStat, Filesystem, FilesystemFactory, OsFs, ReadFile, RootedPath, VirtualPath,
    WriteFile, WriteMode,
};

/// Bytes an upload to a failing name may write before the error.
pub const FAIL_AFTER: u64 = 64 * 1024;
/// `ENOSPC`: no space left on device.
pub const ENOSPC: i32 = 28;
/// `EDQUOT`: disk quota exceeded.
pub const EDQUOT: i32 = 122;

/// Makes a [`FullFs`] jailed in each user's home.
#[derive(Debug, Default)]
pub struct FullDisk;

impl FilesystemFactory for FullDisk {
    fn open(&self, user: &User) -> io::Result<Box<dyn Filesystem>> {
        Ok(Box::new(FullFs(OsFs::new(&user.home)?)))
    }
}

/// The OS filesystem with failing uploads (see the module docs).
#[derive(Debug)]
pub struct FullFs(OsFs);

/// An upload that fails with `errno` after [`FAIL_AFTER`] bytes.
#[derive(Debug)]
struct Failing {
    inner: Box<dyn WriteFile>,
    left: u64,
    errno: i32,
}

impl Write for Failing {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.left == 0 && !buf.is_empty() {
            return Err(io::Error::from_raw_os_error(self.errno));
        }
        let n = buf.len().min(self.left as usize);
        let n = self.inner.write(&buf[..n])?;
        self.left -= n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl WriteFile for Failing {
    fn set_len(&mut self, len: u64) -> io::Result<()> {
        self.inner.set_len(len)
    }
    fn commit(self: Box<Self>) -> io::Result<()> {
        self.inner.commit()
    }
    fn abort(self: Box<Self>) {
        self.inner.abort()
    }
}

impl Filesystem for FullFs {
    fn root(&self) -> &Path {
        self.0.root()
    }
    fn realpath(&self, p: &VirtualPath) -> io::Result<RootedPath> {
        self.0.realpath(p)
    }
    fn stat(&self, p: &VirtualPath) -> io::Result<FileStat> {
        self.0.stat(p)
    }
    fn lstat(&self, p: &VirtualPath) -> io::Result<FileStat> {
        self.0.lstat(p)
    }
    fn read_dir(&self, p: &VirtualPath) -> io::Result<Box<dyn Iterator<Item = DirEntry> + Send>> {
        self.0.read_dir(p)
    }
    fn is_dir(&self, p: &VirtualPath) -> bool {
        self.0.is_dir(p)
    }
    fn is_file(&self, p: &VirtualPath) -> bool {
        self.0.is_file(p)
    }
    fn mkdir(&self, p: &VirtualPath) -> io::Result<()> {
        self.0.mkdir(p)
    }
    fn rmdir(&self, p: &VirtualPath) -> io::Result<()> {
        self.0.rmdir(p)
    }
    fn remove_file(&self, p: &VirtualPath) -> io::Result<()> {
        self.0.remove_file(p)
    }
    fn rename(&self, from: &VirtualPath, to: &VirtualPath) -> io::Result<()> {
        self.0.rename(from, to)
    }
    fn chmod(&self, p: &VirtualPath, mode: u32) -> io::Result<()> {
        self.0.chmod(p, mode)
    }
    fn set_mtime(&self, p: &VirtualPath, t: SystemTime) -> io::Result<()> {
        self.0.set_mtime(p, t)
    }
    fn open_read(&self, p: &VirtualPath) -> io::Result<Box<dyn ReadFile>> {
        self.0.open_read(p)
    }
    fn open_write(&self, p: &VirtualPath, mode: WriteMode) -> io::Result<Box<dyn WriteFile>> {
        let inner = self.0.open_write(p, mode)?;
        let name = p.to_string();
        let name = name.rsplit('/').next().unwrap_or_default();
        let errno = if name.starts_with("full-") {
            ENOSPC
        } else if name.starts_with("quota-") {
            EDQUOT
        } else {
            return Ok(inner);
        };
        Ok(Box::new(Failing {
            inner,
            left: FAIL_AFTER,
            errno,
        }))
    }
}
