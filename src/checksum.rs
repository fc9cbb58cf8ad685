//! File checksums: the `HASH` command (draft-bryan-ftpext-hash, with `RANG` ranges from
//! draft-bryan-ftp-range) and the legacy `XCRC`, `XMD5`, `XSHA1`, `XSHA256` and `XSHA512`
//! commands that clients still send (as ProFTPD's mod_digest answers them).
//!
//! A client that wants to check an upload or a download without transferring it again asks
//! the server for a digest of the file, or of a byte range of it. Hashing reads the whole
//! range, so [`compute`] runs on the blocking-work pool, never on the loop; results are cached
//! by the file's identity and version (device, inode, size, modification time) in a
//! [`HashCache`] shared by the server's sessions, so a file is hashed once however many
//! clients check it (the draft's advice against denial of service).

use std::collections::HashMap;
use std::io::{self, Read, Seek, SeekFrom};
use std::sync::Mutex;
use std::time::SystemTime;

use sha2::Digest;

use crate::fs::{FileKind, FileStat, Filesystem, VirtualPath};

/// The algorithms, in the order FEAT lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Algo {
    /// SHA-256 (the default).
    #[default]
    Sha256,
    /// SHA-512.
    Sha512,
    /// SHA-1.
    Sha1,
    /// MD5.
    Md5,
    /// CRC-32 (IEEE), as 8 hex digits.
    Crc32,
}

impl Algo {
    /// Every algorithm, in FEAT's order.
    pub const ALL: [Algo; 5] = [
        Algo::Sha256,
        Algo::Sha512,
        Algo::Sha1,
        Algo::Md5,
        Algo::Crc32,
    ];

    /// The name on the wire (IANA's "Hash Function Textual Names": `SHA-256`).
    pub fn name(self) -> &'static str {
        match self {
            Algo::Sha256 => "SHA-256",
            Algo::Sha512 => "SHA-512",
            Algo::Sha1 => "SHA-1",
            Algo::Md5 => "MD5",
            Algo::Crc32 => "CRC32",
        }
    }

    /// An algorithm by its wire name, case-insensitively.
    pub fn parse(name: &str) -> Option<Algo> {
        Algo::ALL
            .into_iter()
            .find(|a| a.name().eq_ignore_ascii_case(name.trim()))
    }

    /// FEAT's line: `HASH SHA-256*;SHA-512;SHA-1;MD5;CRC32`, the selected one starred.
    pub fn feat_line(selected: Algo) -> String {
        let names: Vec<String> = Algo::ALL
            .iter()
            .map(|a| {
                let star = if *a == selected { "*" } else { "" };
                format!("{}{star}", a.name())
            })
            .collect();
        format!("HASH {}", names.join(";"))
    }
}

/// What to hash: an algorithm, and a range (`first..=last` octets), or the whole file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request {
    /// The algorithm.
    pub algo: Algo,
    /// First and last octet, inclusive; `None`: the whole file.
    pub range: Option<(u64, u64)>,
    /// Larger files are refused (0: no limit).
    pub max_size: u64,
}

/// Why a digest could not be made, for the reply.
#[derive(Debug)]
pub enum Refused {
    /// The filesystem's error (`550`).
    Io(io::Error),
    /// A directory or other non-file (`550`).
    NotAFile,
    /// Over `--hash-max-size` (`550`).
    TooLarge(u64),
    /// The range is outside the file (`501`).
    BadRange,
}

/// A digest: the range actually hashed (inclusive) and the hex digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digested {
    /// First octet.
    pub first: u64,
    /// Last octet (the draft's end-point: `0-99` for a 100-octet file; an empty file is `0-0`).
    pub last: u64,
    /// Lowercase hex.
    pub hex: String,
}

/// Hashes `path` as `req` says, using and filling `cache`. Blocking: for the pool.
pub fn compute(
    fs: &dyn Filesystem,
    path: &VirtualPath,
    req: Request,
    cache: &HashCache,
) -> Result<Digested, Refused> {
    let st = fs.stat(path).map_err(Refused::Io)?;
    if st.kind != FileKind::File {
        return Err(Refused::NotAFile);
    }
    if req.max_size > 0 && st.size > req.max_size {
        return Err(Refused::TooLarge(req.max_size));
    }
    let (first, end) = match req.range {
        None => (0, st.size),
        // `last` is `u64::MAX` for "to the end" (the legacy commands' `start` alone).
        Some((first, u64::MAX)) if first < st.size => (first, st.size),
        Some((first, last)) if first <= last && last < st.size => (first, last + 1),
        Some(_) => return Err(Refused::BadRange),
    };
    let last = end.saturating_sub(1).max(first);
    if let Some(hex) = cache.get(&st, req.algo, first, end) {
        return Ok(Digested { first, last, hex });
    }
    let mut file = fs.open_read(path).map_err(Refused::Io)?;
    file.seek(SeekFrom::Start(first)).map_err(Refused::Io)?;
    let hex = digest(&mut file, req.algo, end - first).map_err(Refused::Io)?;
    cache.put(&st, req.algo, first, end, &hex);
    Ok(Digested { first, last, hex })
}

/// One running digest, whatever the algorithm.
enum Hasher {
    Sha256(sha2::Sha256),
    Sha512(sha2::Sha512),
    Sha1(sha1::Sha1),
    Md5(md5::Md5),
    Crc32(crc32fast::Hasher),
}

impl Hasher {
    fn new(algo: Algo) -> Hasher {
        match algo {
            Algo::Sha256 => Hasher::Sha256(sha2::Sha256::new()),
            Algo::Sha512 => Hasher::Sha512(sha2::Sha512::new()),
            Algo::Sha1 => Hasher::Sha1(sha1::Sha1::new()),
            Algo::Md5 => Hasher::Md5(md5::Md5::new()),
            Algo::Crc32 => Hasher::Crc32(crc32fast::Hasher::new()),
        }
    }

    fn update(&mut self, data: &[u8]) {
        match self {
            Hasher::Sha256(h) => h.update(data),
            Hasher::Sha512(h) => h.update(data),
            Hasher::Sha1(h) => h.update(data),
            Hasher::Md5(h) => h.update(data),
            Hasher::Crc32(h) => h.update(data),
        }
    }

    fn hex(self) -> String {
        let bytes: Vec<u8> = match self {
            Hasher::Sha256(h) => h.finalize().to_vec(),
            Hasher::Sha512(h) => h.finalize().to_vec(),
            Hasher::Sha1(h) => h.finalize().to_vec(),
            Hasher::Md5(h) => h.finalize().to_vec(),
            Hasher::Crc32(h) => h.finalize().to_be_bytes().to_vec(),
        };
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// The digest of the next `len` bytes of `file`, in 256 KiB reads. A file shorter than that
/// is an error.
pub fn digest(file: &mut dyn Read, algo: Algo, len: u64) -> io::Result<String> {
    let mut hasher = Hasher::new(algo);
    let mut buf = vec![0u8; 256 * 1024];
    let mut left = len;
    while left > 0 {
        let want = usize::try_from(left.min(buf.len() as u64)).unwrap_or(buf.len());
        let n = match file.read(&mut buf[..want]) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hasher.update(&buf[..n]);
        left -= n as u64;
    }
    Ok(hasher.hex())
}

/// What a cached digest is the digest of: this version of this file, this range.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    dev: u64,
    ino: u64,
    size: u64,
    mtime: SystemTime,
    algo: Algo,
    start: u64,
    end: u64,
}

/// Digests already computed, shared by the sessions of a server. Bounded: when full, it is
/// emptied (a cache, not a store).
#[derive(Debug, Default)]
pub struct HashCache {
    map: Mutex<HashMap<Key, String>>,
}

/// Entries kept at most.
const CACHE_MAX: usize = 4096;

impl HashCache {
    fn get(&self, st: &FileStat, algo: Algo, start: u64, end: u64) -> Option<String> {
        let key = key(st, algo, start, end)?;
        self.map.lock().ok()?.get(&key).cloned()
    }

    fn put(&self, st: &FileStat, algo: Algo, start: u64, end: u64, hex: &str) {
        let Some(key) = key(st, algo, start, end) else {
            return;
        };
        if let Ok(mut map) = self.map.lock() {
            if map.len() >= CACHE_MAX {
                map.clear();
            }
            map.insert(key, hex.to_owned());
        }
    }
}

/// No key for a file without an identity (a filesystem that reports inode 0 everywhere).
fn key(st: &FileStat, algo: Algo, start: u64, end: u64) -> Option<Key> {
    (st.ino != 0).then_some(Key {
        dev: st.dev,
        ino: st.ino,
        size: st.size,
        mtime: st.mtime,
        algo,
        start,
        end,
    })
}

#[cfg(test)]
mod tests;
