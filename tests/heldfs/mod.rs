//! A filesystem whose uploads the test can watch and hold: the OS filesystem (with the upload
//! policy the test asks for), but every upload's file records which thread made each write,
//! and the first write at or past [`HOLD_AT`] (a write of the write-behind phase) waits at a
//! gate until the test opens it. A file named `panic.bin` panics there instead.

use std::io::{self, Write};
use std::path::Path;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use ftpdlib::auth::User;
use ftpdlib::fs::{
    DirEntry, FileStat, Filesystem, FilesystemFactory, OsFs, ReadFile, UploadPolicy, VirtualPath,
    WriteFile, WriteMode,
};

/// Where the write-behind phase begins: an upload switches once this much has arrived.
pub const HOLD_AT: u64 = 256 * 1024;

/// How long a held write waits for the test at most: a bound, never a sleep.
const LIMIT: Duration = Duration::from_secs(10);

/// The gate and the record of the writes, shared by the test and the server's threads.
#[derive(Debug)]
pub struct Watch {
    reached: Mutex<Sender<()>>,
    open: Mutex<Receiver<()>>,
    /// Hold the first write-behind write of each upload.
    hold: bool,
    /// Each write: the offset it started at and the name of the thread that made it.
    pub writes: Mutex<Vec<(u64, Option<String>)>>,
}

/// The test's side: `reached` says a write is held, `open` lets it go.
pub struct Handle {
    pub watch: Arc<Watch>,
    pub reached: Receiver<()>,
    pub open: Sender<()>,
}

/// A watch; with `hold`, the first write-behind write of each upload waits for the test.
pub fn watch(hold: bool) -> Handle {
    let (reached_tx, reached) = channel();
    let (open, open_rx) = channel();
    let watch = Arc::new(Watch {
        reached: Mutex::new(reached_tx),
        open: Mutex::new(open_rx),
        hold,
        writes: Mutex::new(Vec::new()),
    });
    Handle {
        watch,
        reached,
        open,
    }
}

impl Watch {
    fn wait(&self) {
        let _ = self.reached.lock().unwrap().send(());
        let _ = self.open.lock().unwrap().recv_timeout(LIMIT);
    }
}

/// An upload's file, watched.
#[derive(Debug)]
struct Watched {
    inner: Box<dyn WriteFile>,
    watch: Arc<Watch>,
    written: u64,
    held: bool,
    panics: bool,
}

impl Write for Watched {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        let thread = std::thread::current().name().map(str::to_owned);
        self.watch
            .writes
            .lock()
            .unwrap()
            .push((self.written, thread));
        if self.written >= HOLD_AT {
            assert!(!self.panics, "a write that panics, as the test asked");
            if self.watch.hold && !self.held {
                self.held = true;
                self.watch.wait();
            }
        }
        let n = self.inner.write(b)?;
        self.written += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl WriteFile for Watched {
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

/// The OS filesystem with watched uploads.
#[derive(Debug)]
struct WatchedFs {
    inner: OsFs,
    watch: Arc<Watch>,
}

impl Filesystem for WatchedFs {
    fn root(&self) -> &Path {
        self.inner.root()
    }
    /// Its writes wait at a gate: they must not run on the loop.
    fn may_block(&self) -> bool {
        true
    }
    fn stat(&self, p: &VirtualPath) -> io::Result<FileStat> {
        self.inner.stat(p)
    }
    fn lstat(&self, p: &VirtualPath) -> io::Result<FileStat> {
        self.inner.lstat(p)
    }
    fn read_dir(&self, p: &VirtualPath) -> io::Result<Box<dyn Iterator<Item = DirEntry> + Send>> {
        self.inner.read_dir(p)
    }
    fn is_dir(&self, p: &VirtualPath) -> bool {
        self.inner.is_dir(p)
    }
    fn is_file(&self, p: &VirtualPath) -> bool {
        self.inner.is_file(p)
    }
    fn mkdir(&self, p: &VirtualPath) -> io::Result<()> {
        self.inner.mkdir(p)
    }
    fn rmdir(&self, p: &VirtualPath) -> io::Result<()> {
        self.inner.rmdir(p)
    }
    fn remove_file(&self, p: &VirtualPath) -> io::Result<()> {
        self.inner.remove_file(p)
    }
    fn rename(&self, from: &VirtualPath, to: &VirtualPath) -> io::Result<()> {
        self.inner.rename(from, to)
    }
    fn chmod(&self, p: &VirtualPath, mode: u32) -> io::Result<()> {
        self.inner.chmod(p, mode)
    }
    fn set_mtime(&self, p: &VirtualPath, t: SystemTime) -> io::Result<()> {
        self.inner.set_mtime(p, t)
    }
    fn open_read(&self, p: &VirtualPath) -> io::Result<Box<dyn ReadFile>> {
        self.inner.open_read(p)
    }
    fn open_write(&self, p: &VirtualPath, mode: WriteMode) -> io::Result<Box<dyn WriteFile>> {
        Ok(Box::new(Watched {
            inner: self.inner.open_write(p, mode)?,
            watch: Arc::clone(&self.watch),
            written: 0,
            held: false,
            panics: p.as_str() == "/panic.bin",
        }))
    }
    fn check_write(&self, p: &VirtualPath, mode: WriteMode) -> io::Result<()> {
        self.inner.check_write(p, mode)
    }
}

/// Makes each user's [`WatchedFs`] with `policy`.
#[derive(Debug)]
pub struct Factory {
    pub watch: Arc<Watch>,
    pub policy: UploadPolicy,
}

impl FilesystemFactory for Factory {
    fn open(&self, user: &User) -> io::Result<Box<dyn Filesystem>> {
        Ok(Box::new(WatchedFs {
            inner: OsFs::new(&user.home)?.with_uploads(self.policy),
            watch: Arc::clone(&self.watch),
        }))
    }
}
