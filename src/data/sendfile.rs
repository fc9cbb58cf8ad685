//! Zero-copy downloads with Linux `sendfile(2)`: the crate's only `unsafe` code.
//!
//! For a plain binary RETR the kernel can move file pages straight to the socket, without
//! copying them through our buffer. The call is non-blocking on a non-blocking socket: it
//! returns how many bytes it queued, or `WouldBlock` when the socket buffer is full. The data
//! connection falls back to buffered writes if the very first call fails (e.g. a filesystem
//! that does not support it), and never uses it for ASCII mode or TLS.
#![allow(unsafe_code)]

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;

/// True when this build can use sendfile.
pub const AVAILABLE: bool = cfg!(all(target_os = "linux", feature = "sendfile"));

/// Sends up to `count` bytes of `file` from `*offset` to `sock`, advancing `*offset`.
/// `Ok(0)` means end of file.
#[cfg(all(target_os = "linux", feature = "sendfile"))]
pub fn send(sock: &impl AsRawFd, file: &File, offset: &mut u64, count: usize) -> io::Result<usize> {
    let mut off = libc::off_t::try_from(*offset)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "offset too large"))?;
    // SAFETY: both descriptors are open for the duration of the call (borrowed from live
    // owners), `off` is a valid, exclusively borrowed off_t, and sendfile writes nothing else
    // into our memory.
    let n = unsafe { libc::sendfile(sock.as_raw_fd(), file.as_raw_fd(), &mut off, count) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    *offset = u64::try_from(off).unwrap_or(*offset);
    Ok(n.unsigned_abs())
}

/// Stand-in where sendfile is not available: always `Unsupported`, so callers fall back.
#[cfg(not(all(target_os = "linux", feature = "sendfile")))]
pub fn send(
    _sock: &impl AsRawFd,
    _file: &File,
    _offset: &mut u64,
    _count: usize,
) -> io::Result<usize> {
    Err(io::ErrorKind::Unsupported.into())
}
