//! What the data side's unit tests share: an in-memory upload target that records what it
//! was given, an OS file target, a loopback TCP pair and a temporary file. Test code only.

use std::fs::File;
use std::io::{self, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use crate::fs::WriteFile;

/// What an in-memory upload target saw: its bytes, whether it was committed or aborted.
#[derive(Debug, Default)]
pub struct Seen {
    pub bytes: Vec<u8>,
    pub committed: bool,
    pub aborted: bool,
}

/// An in-memory upload target; clones share what they saw.
#[derive(Debug, Default, Clone)]
pub struct MemFile(pub Arc<Mutex<Seen>>);

impl Write for MemFile {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().bytes.extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl WriteFile for MemFile {
    fn set_len(&mut self, len: u64) -> io::Result<()> {
        self.0.lock().unwrap().bytes.truncate(len as usize);
        Ok(())
    }
    fn commit(self: Box<Self>) -> io::Result<()> {
        self.0.lock().unwrap().committed = true;
        Ok(())
    }
    fn abort(self: Box<Self>) {
        self.0.lock().unwrap().aborted = true;
    }
}

/// An upload target backed by an OS file (so that `splice` can write into it).
#[derive(Debug)]
pub struct OsTarget(pub File);

impl Write for OsTarget {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.0.write(b)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl WriteFile for OsTarget {
    fn set_len(&mut self, len: u64) -> io::Result<()> {
        self.0.set_len(len)
    }
    fn commit(self: Box<Self>) -> io::Result<()> {
        Ok(())
    }
    fn abort(self: Box<Self>) {}
    fn as_file(&self) -> Option<&File> {
        Some(&self.0)
    }
}

/// A connected loopback pair: (client, server).
pub fn tcp_pair() -> (TcpStream, TcpStream) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let a = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    let (b, _) = l.accept().unwrap();
    (a, b)
}

/// A fresh temporary file named after `tag` (unique per test), opened for writing, in append
/// mode if `append` (which `splice` refuses).
pub fn temp_file(tag: &str, append: bool) -> (PathBuf, File) {
    let path = std::env::temp_dir().join(format!("ftpdlib-data-{tag}-{}", std::process::id()));
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(!append)
        .write(true)
        .append(append)
        .open(&path)
        .unwrap();
    (path, file)
}
