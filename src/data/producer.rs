//! Producers: how bytes are made for a data connection (the upload side is `sink.rs`).
//!
//! pyftpdlib feeds its data channel with *producers*: objects asked for the next chunk only when
//! the socket can take more, so a 4 GiB file or a 100,000-entry listing never sits in memory.
//! Here [`Producer::fill`] appends at most `max` bytes to the connection's buffer and returns 0
//! when exhausted.
//!
//! TYPE A (RFC 959 §3.1.1.1) sends text with CRLF line ends: [`FileProducer`] turns each bare LF
//! into CRLF on download (and `FileSink` turns CRLF into LF on upload). It remembers the last
//! byte of a chunk, so a line end split across two reads is still one line end.

use std::io;

use crate::fs::ReadFile;

/// Something that produces the bytes of a transfer, chunk by chunk.
pub trait Producer: Send + std::fmt::Debug {
    /// Appends up to `max` bytes to `out`; `Ok(0)` means exhausted.
    fn fill(&mut self, out: &mut Vec<u8>, max: usize) -> io::Result<usize>;
    /// True if `fill` may take long (a listing `lstat`s every entry): the data connection then
    /// runs it on the blocking-work pool, a batch ahead (`batches.rs`). Default: false.
    fn may_block(&self) -> bool {
        false
    }
}

/// Reads a file in large chunks, converting line ends in ASCII mode.
#[derive(Debug)]
pub struct FileProducer {
    file: Box<dyn ReadFile>,
    ascii: bool,
    /// The last byte produced was a CR (ASCII mode).
    prev_cr: bool,
    scratch: Vec<u8>,
}

impl FileProducer {
    /// A producer for `file`, already positioned at the REST offset.
    pub fn new(file: Box<dyn ReadFile>, ascii: bool) -> FileProducer {
        FileProducer {
            file,
            ascii,
            prev_cr: false,
            scratch: Vec::new(),
        }
    }
}

/// Reads once, retrying `Interrupted`.
fn read_some(file: &mut dyn ReadFile, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match file.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            other => return other,
        }
    }
}

impl Producer for FileProducer {
    fn fill(&mut self, out: &mut Vec<u8>, max: usize) -> io::Result<usize> {
        if !self.ascii {
            let start = out.len();
            out.resize(start + max, 0);
            let n = read_some(self.file.as_mut(), &mut out[start..]);
            out.truncate(start + *n.as_ref().unwrap_or(&0));
            return n;
        }
        // Worst case every byte is a LF that becomes CRLF: read half of `max`.
        self.scratch.resize((max / 2).max(1), 0);
        let n = read_some(self.file.as_mut(), &mut self.scratch)?;
        let before = out.len();
        for &b in &self.scratch[..n] {
            if b == b'\n' && !self.prev_cr {
                out.push(b'\r');
            }
            out.push(b);
            self.prev_cr = b == b'\r';
        }
        Ok(out.len() - before)
    }
}

/// Produces a listing lazily: one formatted line per item of an iterator, CRLF-terminated.
pub struct LinesProducer {
    lines: Box<dyn Iterator<Item = String> + Send>,
    encoding: crate::config::Encoding,
}

impl std::fmt::Debug for LinesProducer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinesProducer").finish_non_exhaustive()
    }
}

impl LinesProducer {
    /// Produces each line of `lines` followed by CRLF, encoded for the wire.
    pub fn new(
        lines: Box<dyn Iterator<Item = String> + Send>,
        encoding: crate::config::Encoding,
    ) -> LinesProducer {
        LinesProducer { lines, encoding }
    }
}

impl Producer for LinesProducer {
    fn may_block(&self) -> bool {
        true
    }

    fn fill(&mut self, out: &mut Vec<u8>, max: usize) -> io::Result<usize> {
        let before = out.len();
        // Stop once `max` is reached (a line may overshoot it a little).
        while out.len() - before < max {
            let Some(line) = self.lines.next() else {
                break;
            };
            self.encoding.encode_into(line.as_bytes(), out);
            out.extend_from_slice(b"\r\n");
        }
        Ok(out.len() - before)
    }
}

#[cfg(test)]
mod tests;
