//! Deterministic contents for transfers: a prime-period byte pattern for large files (streamed
//! and checked without holding the file in memory) and the TYPE A wire form of a text.

use std::io::{self, Read, Write};
use std::path::Path;
use std::time::Instant;

use super::STREAM_DEADLINE;

/// A deterministic byte stream with a prime period, for large files: any shift, drop or
/// duplication of a chunk shows up as a mismatch.
pub struct Pattern {
    block: Vec<u8>,
}

impl Default for Pattern {
    fn default() -> Self {
        Pattern::new()
    }
}

impl Pattern {
    /// Bytes of one period.
    pub const PERIOD: usize = 1_000_003;

    /// Builds one period from a xorshift generator.
    pub fn new() -> Pattern {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let block = (0..Pattern::PERIOD)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 32) as u8
            })
            .collect();
        Pattern { block }
    }

    /// The first `len` bytes, in memory.
    pub fn bytes(&self, len: usize) -> Vec<u8> {
        self.block.iter().copied().cycle().take(len).collect()
    }

    /// Writes the first `len` bytes to `path`.
    pub fn write_file(&self, path: &Path, len: u64) {
        let mut f = io::BufWriter::new(std::fs::File::create(path).unwrap());
        let mut left = len;
        while left > 0 {
            let n = left.min(self.block.len() as u64) as usize;
            f.write_all(&self.block[..n]).unwrap();
            left -= n as u64;
        }
        f.flush().unwrap();
    }

    /// True if `data` equals the stream's bytes at `pos`.
    pub fn matches(&self, pos: u64, data: &[u8]) -> bool {
        let mut off = (pos % Pattern::PERIOD as u64) as usize;
        let mut rest = data;
        while !rest.is_empty() {
            let n = rest.len().min(Pattern::PERIOD - off);
            if rest[..n] != self.block[off..off + n] {
                return false;
            }
            rest = &rest[n..];
            off = 0;
        }
        true
    }

    /// Reads `r` to EOF, checking every byte against the stream from offset `start`; returns
    /// the number of bytes read.
    #[track_caller]
    pub fn verify(&self, r: &mut impl Read, start: u64) -> u64 {
        let deadline = Instant::now() + STREAM_DEADLINE;
        let mut buf = vec![0u8; 1 << 20];
        let mut pos = start;
        loop {
            assert!(Instant::now() < deadline, "stream did not end in time");
            let n = match r.read(&mut buf) {
                Ok(0) => return pos - start,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => panic!("read failed at byte {pos}: {e}"),
            };
            assert!(self.matches(pos, &buf[..n]), "wrong bytes at {pos}..+{n}");
            pos += n as u64;
        }
    }
}

/// What TYPE A sends for `data`: every LF not already preceded by CR becomes CRLF.
pub fn ascii_wire(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + data.len() / 16);
    for (i, &b) in data.iter().enumerate() {
        if b == b'\n' && (i == 0 || data[i - 1] != b'\r') {
            out.push(b'\r');
        }
        out.push(b);
    }
    out
}
