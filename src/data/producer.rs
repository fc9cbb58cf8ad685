//! Producers and the upload sink: how bytes are made for, and taken from, a data connection.
//!
//! pyftpdlib feeds its data channel with *producers*: objects asked for the next chunk only when
//! the socket can take more, so a 4 GiB file or a 100,000-entry listing never sits in memory.
//! Here [`Producer::fill`] appends at most `max` bytes to the connection's buffer and returns 0
//! when exhausted.
//!
//! TYPE A (RFC 959 §3.1.1.1) sends text with CRLF line ends: [`FileProducer`] turns each bare LF
//! into CRLF on download and [`FileSink`] turns CRLF into LF on upload. Both remember the last
//! byte of a chunk, so a CR and its LF split across two reads are still one line end.

use std::io::{self, Write};

use crate::fs::{ReadFile, WriteFile};

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

/// Writes an upload to its file, converting CRLF to LF in ASCII mode.
#[derive(Debug)]
pub struct FileSink {
    /// `None` once committed or aborted.
    file: Option<Box<dyn WriteFile>>,
    ascii: bool,
    /// A CR ended the previous chunk; decide when the next byte arrives.
    pending_cr: bool,
    scratch: Vec<u8>,
}

impl FileSink {
    /// A sink writing to `file` at its current position.
    pub fn new(file: Box<dyn WriteFile>, ascii: bool) -> FileSink {
        FileSink {
            file: Some(file),
            ascii,
            pending_cr: false,
            scratch: Vec::new(),
        }
    }

    /// Cuts the file to `len` bytes (STOR truncates only once its data connection is up).
    pub fn truncate(&mut self, len: u64) -> io::Result<()> {
        self.file_mut()?.set_len(len)
    }

    fn file_mut(&mut self) -> io::Result<&mut Box<dyn WriteFile>> {
        self.file
            .as_mut()
            .ok_or_else(|| io::Error::other("upload already finished"))
    }

    /// The file to `splice(2)` received bytes into, when they may skip this sink: binary
    /// mode and an OS file that accepts it (see [`WriteFile::as_file`]).
    pub fn splice_file(&self) -> Option<&std::fs::File> {
        if self.ascii || self.pending_cr {
            return None;
        }
        self.file.as_ref()?.as_file()
    }

    /// Writes one received chunk.
    pub fn write(&mut self, data: &[u8]) -> io::Result<()> {
        if !self.ascii {
            return self.file_mut()?.write_all(data);
        }
        self.scratch.clear();
        for &b in data {
            if self.pending_cr {
                self.pending_cr = false;
                if b != b'\n' {
                    self.scratch.push(b'\r');
                }
            }
            if b == b'\r' {
                self.pending_cr = true;
            } else {
                self.scratch.push(b);
            }
        }
        let scratch = std::mem::take(&mut self.scratch);
        let r = self.file_mut()?.write_all(&scratch);
        self.scratch = scratch;
        r
    }

    /// End of a complete upload: a lone CR at the very end is data; then the file is
    /// committed (an atomic upload is renamed into place here).
    pub fn finish(&mut self) -> io::Result<()> {
        if self.pending_cr {
            self.pending_cr = false;
            self.file_mut()?.write_all(b"\r")?;
        }
        self.file_mut()?.flush()?;
        match self.file.take() {
            Some(f) => f.commit(),
            None => Ok(()),
        }
    }

    /// The upload failed: let the file decide what remains (see [`WriteFile::abort`]).
    pub fn abort(&mut self) {
        if let Some(f) = self.file.take() {
            f.abort();
        }
    }
}

#[cfg(test)]
mod tests;
