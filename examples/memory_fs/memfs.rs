//! [`MemFs`]: a whole filesystem in a `BTreeMap` behind a mutex, shared by every session.
//!
//! Each node is keyed by its virtual path (`/`, `/docs`, `/docs/a.txt`), so the jail is free:
//! there is no real path to escape to. Downloads read a snapshot of the file (a `Cursor` over a
//! copy of its bytes); uploads fill a private buffer that [`WriteFile::commit`] puts in place
//! and [`WriteFile::abort`] drops, so a cut upload never damages the previous version.

use std::collections::BTreeMap;
use std::io::{self, Cursor, ErrorKind, Read, Seek, SeekFrom, Write};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use ftpdlib::fs::{
    DirEntry, FileKind, FileStat, Filesystem, FilesystemFactory, ReadFile, VirtualPath, WriteFile,
    WriteMode,
};
use ftpdlib::User;

/// A directory (its children are the keys one level below its path) or a file's bytes.
#[derive(Debug)]
enum Body {
    Dir,
    File(Vec<u8>),
}

/// One file or directory: contents, modification time, permission bits (SITE CHMOD, shown in
/// listings only) and a number unique to the node (the MLSD `unique` fact).
#[derive(Debug)]
struct Node {
    body: Body,
    mtime: SystemTime,
    mode: u32,
    ino: u64,
}

/// An error whose text reads like the OS's: it becomes the text of the 550 reply.
fn error(kind: ErrorKind) -> io::Error {
    let text = match kind {
        ErrorKind::NotFound => "No such file or directory",
        ErrorKind::AlreadyExists => "File exists",
        ErrorKind::NotADirectory => "Not a directory",
        ErrorKind::IsADirectory => "Is a directory",
        ErrorKind::DirectoryNotEmpty => "Directory not empty",
        ErrorKind::PermissionDenied => "Operation not permitted",
        ErrorKind::Unsupported => "Operation not supported",
        _ => "Invalid argument",
    };
    io::Error::new(kind, text)
}

#[derive(Debug)]
struct Tree {
    nodes: BTreeMap<String, Node>,
    next_ino: u64,
}

impl Tree {
    fn node(&self, p: &str) -> io::Result<&Node> {
        self.nodes.get(p).ok_or_else(|| error(ErrorKind::NotFound))
    }

    fn node_mut(&mut self, p: &str) -> io::Result<&mut Node> {
        self.nodes
            .get_mut(p)
            .ok_or_else(|| error(ErrorKind::NotFound))
    }

    /// Checks that the parent of `p` is a directory (where a new node may go).
    fn parent_is_dir(&self, p: &VirtualPath) -> io::Result<()> {
        match self.node(p.parent().as_str())?.body {
            Body::Dir => Ok(()),
            Body::File(_) => Err(error(ErrorKind::NotADirectory)),
        }
    }

    fn insert(&mut self, p: &str, body: Body, mode: u32) {
        self.next_ino += 1;
        let node = Node {
            body,
            mtime: SystemTime::now(),
            mode,
            ino: self.next_ino,
        };
        self.nodes.insert(p.to_owned(), node);
    }

    /// Removes file `p` (`dir` false) or empty directory `p` (`dir` true).
    fn remove(&mut self, p: &VirtualPath, dir: bool) -> io::Result<()> {
        let is_dir = matches!(self.node(p.as_str())?.body, Body::Dir);
        match (dir, is_dir) {
            _ if p.is_root() => Err(error(ErrorKind::PermissionDenied)),
            (true, false) => Err(error(ErrorKind::NotADirectory)),
            (false, true) => Err(error(ErrorKind::IsADirectory)),
            (true, true) if !self.below(p.as_str()).is_empty() => {
                Err(error(ErrorKind::DirectoryNotEmpty))
            }
            _ => {
                self.nodes.remove(p.as_str());
                Ok(())
            }
        }
    }

    /// The paths strictly below directory `p`, at any depth.
    fn below(&self, p: &str) -> Vec<String> {
        let prefix = format!("{}/", p.trim_end_matches('/'));
        let range = self.nodes.range(prefix.clone()..);
        let keys = range.map(|(k, _)| k).take_while(|k| k.starts_with(&prefix));
        keys.filter(|k| k.len() > prefix.len()).cloned().collect()
    }
}

/// The in-memory filesystem; clones share the same tree. It is its own factory: every user
/// sees the same tree.
#[derive(Clone, Debug)]
pub struct MemFs {
    tree: Arc<Mutex<Tree>>,
}

impl Default for MemFs {
    fn default() -> Self {
        let mut tree = Tree {
            nodes: BTreeMap::new(),
            next_ino: 0,
        };
        tree.insert("/", Body::Dir, 0o755);
        MemFs {
            tree: Arc::new(Mutex::new(tree)),
        }
    }
}

impl MemFs {
    /// An empty filesystem: just `/`.
    pub fn new() -> MemFs {
        MemFs::default()
    }

    fn lock(&self) -> io::Result<MutexGuard<'_, Tree>> {
        self.tree
            .lock()
            .map_err(|_| io::Error::other("memory filesystem poisoned"))
    }

    /// Creates or replaces file `path` (its directory must exist).
    pub fn put(&self, path: &str, data: &[u8]) -> io::Result<()> {
        let mut upload = self.open_write(&VirtualPath::root().join(path), WriteMode::Truncate)?;
        upload.write_all(data)?;
        upload.commit()
    }
}

impl FilesystemFactory for MemFs {
    fn open(&self, _user: &User) -> io::Result<Box<dyn Filesystem>> {
        Ok(Box::new(self.clone()))
    }
}

fn stat_of(node: &Node) -> FileStat {
    let (kind, size, type_bits) = match &node.body {
        Body::Dir => (FileKind::Dir, 0, 0o040000),
        Body::File(data) => (FileKind::File, data.len() as u64, 0o100000),
    };
    FileStat {
        kind,
        size,
        mtime: node.mtime,
        mode: type_bits | node.mode,
        uid: 0,
        gid: 0,
        nlink: 1,
        dev: 0,
        ino: node.ino,
    }
}

// `root` and `realpath` keep their defaults: there is no real directory behind this filesystem.
impl Filesystem for MemFs {
    fn stat(&self, p: &VirtualPath) -> io::Result<FileStat> {
        Ok(stat_of(self.lock()?.node(p.as_str())?))
    }

    /// No symlinks here: the same as `stat`.
    fn lstat(&self, p: &VirtualPath) -> io::Result<FileStat> {
        self.stat(p)
    }

    fn read_dir(&self, p: &VirtualPath) -> io::Result<Box<dyn Iterator<Item = DirEntry> + Send>> {
        let tree = self.lock()?;
        if !matches!(tree.node(p.as_str())?.body, Body::Dir) {
            return Err(error(ErrorKind::NotADirectory));
        }
        // A snapshot, in name order: the lock is not held while the listing is sent.
        let entries: Vec<DirEntry> = tree
            .below(p.as_str())
            .into_iter()
            .map(|key| VirtualPath::root().join(&key))
            .filter(|child| child.parent() == *p)
            .map(|child| DirEntry {
                name: child.file_name().unwrap_or_default().to_owned(),
                stat: stat_of(&tree.nodes[child.as_str()]),
            })
            .collect();
        Ok(Box::new(entries.into_iter()))
    }

    fn is_dir(&self, p: &VirtualPath) -> bool {
        matches!(self.stat(p), Ok(st) if st.kind == FileKind::Dir)
    }

    fn is_file(&self, p: &VirtualPath) -> bool {
        matches!(self.stat(p), Ok(st) if st.kind == FileKind::File)
    }

    fn mkdir(&self, p: &VirtualPath) -> io::Result<()> {
        let mut tree = self.lock()?;
        tree.parent_is_dir(p)?;
        if tree.nodes.contains_key(p.as_str()) {
            return Err(error(ErrorKind::AlreadyExists));
        }
        tree.insert(p.as_str(), Body::Dir, 0o755);
        Ok(())
    }

    fn rmdir(&self, p: &VirtualPath) -> io::Result<()> {
        self.lock()?.remove(p, true)
    }

    fn remove_file(&self, p: &VirtualPath) -> io::Result<()> {
        self.lock()?.remove(p, false)
    }

    /// Moves a file (replacing a file at `to`) or a directory with everything below it.
    fn rename(&self, from: &VirtualPath, to: &VirtualPath) -> io::Result<()> {
        let mut tree = self.lock()?;
        let moving_dir = matches!(tree.node(from.as_str())?.body, Body::Dir);
        tree.parent_is_dir(to)?;
        if from == to {
            return Ok(());
        }
        if from.is_root() || to.starts_with(from) {
            return Err(error(ErrorKind::InvalidInput)); // into itself
        }
        match tree.nodes.get(to.as_str()).map(|n| &n.body) {
            Some(Body::Dir) => return Err(error(ErrorKind::AlreadyExists)),
            Some(Body::File(_)) if moving_dir => return Err(error(ErrorKind::NotADirectory)),
            _ => {}
        }
        let mut moves = vec![(from.as_str().to_owned(), to.as_str().to_owned())];
        for old in tree.below(from.as_str()) {
            let new = format!("{to}{}", &old[from.as_str().len()..]);
            moves.push((old, new));
        }
        for (old, new) in moves {
            if let Some(node) = tree.nodes.remove(&old) {
                tree.nodes.insert(new, node);
            }
        }
        Ok(())
    }

    fn chmod(&self, p: &VirtualPath, mode: u32) -> io::Result<()> {
        self.lock()?.node_mut(p.as_str())?.mode = mode & 0o7777;
        Ok(())
    }

    fn set_mtime(&self, p: &VirtualPath, t: SystemTime) -> io::Result<()> {
        self.lock()?.node_mut(p.as_str())?.mtime = t;
        Ok(())
    }

    fn open_read(&self, p: &VirtualPath) -> io::Result<Box<dyn ReadFile>> {
        match &self.lock()?.node(p.as_str())?.body {
            Body::File(data) => Ok(Box::new(MemReader(Cursor::new(data.clone())))),
            Body::Dir => Err(error(ErrorKind::IsADirectory)),
        }
    }

    fn open_write(&self, p: &VirtualPath, mode: WriteMode) -> io::Result<Box<dyn WriteFile>> {
        let tree = self.lock()?;
        tree.parent_is_dir(p)?;
        let old = match tree.nodes.get(p.as_str()).map(|n| &n.body) {
            Some(Body::Dir) => return Err(error(ErrorKind::IsADirectory)),
            Some(Body::File(_)) if mode == WriteMode::CreateNew => {
                return Err(error(ErrorKind::AlreadyExists))
            }
            Some(Body::File(data)) => data.clone(),
            None => Vec::new(),
        };
        // The upload works on a copy; the stored file changes only on commit.
        let (buf, pos) = match mode {
            WriteMode::Truncate | WriteMode::CreateNew => (Vec::new(), 0),
            WriteMode::Append => {
                let end = old.len();
                (old, end)
            }
            WriteMode::At(n) => (old, n as usize),
        };
        let create_new = mode == WriteMode::CreateNew;
        let path = p.clone();
        Ok(Box::new(MemUpload {
            fs: self.clone(),
            path,
            buf,
            pos,
            create_new,
        }))
    }
}

/// A download: a private copy of the file's bytes. `as_file` keeps its default `None`, so
/// the server copies through `Read` instead of using `sendfile(2)`.
#[derive(Debug)]
struct MemReader(Cursor<Vec<u8>>);

impl Read for MemReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

impl Seek for MemReader {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.0.seek(pos)
    }
}

impl ReadFile for MemReader {
    fn size(&self) -> io::Result<u64> {
        Ok(self.0.get_ref().len() as u64)
    }
}

/// An upload in progress: the new contents, invisible until `commit`.
#[derive(Debug)]
struct MemUpload {
    fs: MemFs,
    path: VirtualPath,
    buf: Vec<u8>,
    /// Where the next write goes.
    pos: usize,
    create_new: bool,
}

impl Write for MemUpload {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let end = self.pos + data.len();
        if self.buf.len() < end {
            self.buf.resize(end, 0);
        }
        self.buf[self.pos..end].copy_from_slice(data);
        self.pos = end;
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl WriteFile for MemUpload {
    fn set_len(&mut self, len: u64) -> io::Result<()> {
        self.buf.resize(len as usize, 0);
        Ok(())
    }

    fn commit(self: Box<Self>) -> io::Result<()> {
        let mut tree = self.fs.lock()?;
        // The tree may have changed during the upload.
        tree.parent_is_dir(&self.path)?;
        let key = self.path.as_str();
        match tree.nodes.get_mut(key) {
            Some(_) if self.create_new => Err(error(ErrorKind::AlreadyExists)),
            Some(Node {
                body: Body::Dir, ..
            }) => Err(error(ErrorKind::IsADirectory)),
            Some(node) => {
                node.body = Body::File(self.buf);
                node.mtime = SystemTime::now();
                Ok(())
            }
            None => {
                tree.insert(key, Body::File(self.buf), 0o644);
                Ok(())
            }
        }
    }

    /// The bytes received so far are simply dropped.
    fn abort(self: Box<Self>) {}
}
