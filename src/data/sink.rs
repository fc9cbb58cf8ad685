//! The upload sink: how bytes taken from a data connection reach their file.
//!
//! TYPE A (RFC 959 §3.1.1.1) sends text with CRLF line ends: [`FileSink`] turns CRLF into LF on
//! upload (and `FileProducer` turns LF into CRLF on download). It remembers a CR at the end of a
//! chunk, so a CR and its LF split across two reads are still one line end. The sink ends an
//! upload explicitly: [`FileSink::finish`] commits the file, [`FileSink::abort`] lets it decide
//! what remains.
//!
//! A user with a byte quota has a [`Charge`] on the sink: each chunk is counted before it is
//! written, the bytes that fit are written and the rest fails the upload with
//! `QuotaExceeded` (`552`). Such uploads never `splice`, so that every byte passes the count.

use std::io::{self, Write};

use crate::fs::WriteFile;
use crate::quota::Charge;

/// Writes an upload to its file, converting CRLF to LF in ASCII mode.
#[derive(Debug)]
pub struct FileSink {
    /// `None` once committed or aborted.
    file: Option<Box<dyn WriteFile>>,
    ascii: bool,
    /// A CR ended the previous chunk; decide when the next byte arrives.
    pending_cr: bool,
    scratch: Vec<u8>,
    /// The user's quota account of this upload, if the user has a quota.
    quota: Option<Charge>,
    /// A large upload's writes always run on the blocking pool (the filesystem may block, or
    /// `--offload-fs always`), whatever the loop's own measure says (`data/upload.rs`).
    offload: bool,
}

impl FileSink {
    /// A sink writing to `file` at its current position.
    pub fn new(file: Box<dyn WriteFile>, ascii: bool) -> FileSink {
        FileSink {
            file: Some(file),
            ascii,
            pending_cr: false,
            scratch: Vec::new(),
            quota: None,
            offload: false,
        }
    }

    /// Makes a large upload's writes run on the blocking pool always.
    pub(crate) fn offloaded(mut self, yes: bool) -> FileSink {
        self.offload = yes;
        self
    }

    /// Whether a large upload's writes must run on the blocking pool.
    pub fn offload(&self) -> bool {
        self.offload
    }

    /// Counts this upload's bytes against the user's quota.
    pub(crate) fn with_quota(mut self, charge: Option<Charge>) -> FileSink {
        self.quota = charge;
        self
    }

    /// Writes `data`, or as much of it as the quota allows and then fails.
    fn put(&mut self, data: &[u8]) -> io::Result<()> {
        let refused = match &mut self.quota {
            Some(charge) => charge.check(data.len()).err(),
            None => None,
        };
        match refused {
            None => self.file_mut()?.write_all(data),
            Some((fits, e)) => {
                self.file_mut()?.write_all(&data[..fits])?;
                Err(e)
            }
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
    /// mode, no quota to count them, and an OS file that accepts it (see
    /// [`WriteFile::as_file`]).
    pub fn splice_file(&self) -> Option<&std::fs::File> {
        if self.ascii || self.pending_cr || self.quota.is_some() {
            return None;
        }
        self.file.as_ref()?.as_file()
    }

    /// Writes one received chunk.
    pub fn write(&mut self, data: &[u8]) -> io::Result<()> {
        if !self.ascii {
            return self.put(data);
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
        let r = self.put(&scratch);
        self.scratch = scratch;
        r
    }

    /// End of a complete upload: a lone CR at the very end is data; then the file is
    /// committed (an atomic upload is renamed into place here).
    pub fn finish(&mut self) -> io::Result<()> {
        if self.pending_cr {
            self.pending_cr = false;
            self.put(b"\r")?;
        }
        self.file_mut()?.flush()?;
        let committed = match self.file.take() {
            Some(f) => f.commit(),
            None => Ok(()),
        };
        if let (Err(_), Some(charge)) = (&committed, self.quota.take()) {
            charge.commit_failed();
        }
        committed
    }

    /// The upload failed: let the file decide what remains (see [`WriteFile::abort`]).
    pub fn abort(&mut self) {
        if let Some(f) = self.file.take() {
            f.abort();
            if let Some(charge) = self.quota.take() {
                charge.aborted();
            }
        }
    }
}

impl Drop for FileSink {
    /// A sink dropped before it finished aborts, as a failed upload does: a job whose data
    /// connection went away while the job was still in a message must not leave a temporary
    /// file behind, nor skip `--delete-incomplete-uploads` or the quota's account.
    fn drop(&mut self) {
        self.abort();
    }
}

#[cfg(test)]
mod tests;
